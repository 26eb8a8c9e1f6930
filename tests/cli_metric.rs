//! `scoretape eval --metric loglik|pll` end to end: the numbers against closed
//! forms and the library, the reliability warning, and a usage error (exit 2)
//! for every metric or option that does not apply.
#![cfg(feature = "cli")]

use scoretape::io::{save_model, write_csv, AnyModel};
use scoretape::model::{Activation, Boltzmann, MlpScore, QuadraticEnergy};
use scoretape::random::{normal_tensor, seeded};
use scoretape::sample::{energy_fn, pseudo_log_likelihood};
use scoretape::Tensor;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_scoretape");

/// Runs the binary in `dir`: (exit code, stdout, stderr).
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().expect("exited normally"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs a command that must succeed and returns its JSON line and stderr.
fn json(dir: &Path, args: &[&str]) -> (Value, String) {
    let (code, stdout, stderr) = run(dir, args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    (serde_json::from_str(&stdout).unwrap(), stderr)
}

/// Runs a command that must fail with `code` and an error naming `expected`.
fn fails(dir: &Path, args: &[&str], code: i32, expected: &str) {
    let (got, _, stderr) = run(dir, args);
    assert_eq!(got, code, "{args:?}: {stderr}");
    assert!(
        stderr.contains(expected),
        "{args:?}: {stderr:?} lacks {expected:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "scoretape-cli-metric-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A 3-D quadratic model N(μ, diag(v)) and 200 samples from it.
fn quadratic_files(dir: &Path, mean: f64, variance: f64) -> f64 {
    let d = 3;
    let precision = Tensor::from_fn(
        &[d, d],
        |k| if k / d == k % d { 1.0 / variance } else { 0.0 },
    );
    let model =
        QuadraticEnergy::from_mean_precision(&Tensor::vector(&[mean; 3]), &precision).unwrap();
    save_model(&dir.join("quad.json"), &AnyModel::Quadratic(model)).unwrap();
    let data: Tensor<f64> = normal_tensor(&[200, d], &mut seeded(4));
    write_csv(&dir.join("data.csv"), &data).unwrap();
    // log Z = (d/2) log(2π v)
    1.5 * (std::f64::consts::TAU * variance).ln()
}

#[test]
fn loglik_of_a_quadratic_model_is_exact_and_ais_agrees() {
    let dir = scratch("quadratic");
    let log_z = quadratic_files(&dir, 0.0, 2.0);
    let (out, _) = json(
        &dir,
        &[
            "eval",
            "--model",
            "quad.json",
            "--data",
            "data.csv",
            "--metric",
            "loglik",
        ],
    );
    let keys: Vec<&str> = out
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["metric", "value", "se", "log_z", "log_z_se", "ess", "method", "reliable"]
    );
    assert_eq!(out["metric"], "loglik");
    assert_eq!(out["method"], "closed-form");
    assert_eq!(out["reliable"], true);
    assert!(out["ess"].is_null());
    assert!((out["log_z"].as_f64().unwrap() - log_z).abs() < 1e-12);
    // By hand: the mean of -‖x‖²/(2v) - log Z over the data.
    let data: Tensor<f64> = normal_tensor(&[200, 3], &mut seeded(4));
    let by_hand = -data.map(|v| v * v / 4.0).sum() / 200.0 - log_z;
    assert!((out["value"].as_f64().unwrap() - by_hand).abs() < 1e-10);

    let (ais, stderr) = json(
        &dir,
        &[
            "eval",
            "--model",
            "quad.json",
            "--data",
            "data.csv",
            "--metric",
            "loglik",
            "--log-z",
            "ais",
            "--temperatures",
            "64",
            "--chains",
            "256",
            "--seed",
            "5",
        ],
    );
    assert_eq!(ais["method"], "ais");
    assert_eq!(ais["reliable"], true, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let se = ais["log_z_se"].as_f64().unwrap();
    assert!(se > 0.0 && se < 0.03, "{ais}");
    assert!(
        (ais["log_z"].as_f64().unwrap() - log_z).abs() < 4.0 * se,
        "{ais} vs {log_z}"
    );
    assert!(ais["ess"].as_f64().unwrap() > 128.0);
}

#[test]
fn an_unreliable_ais_estimate_is_flagged_with_a_warning_naming_the_fix() {
    // The model sits at 8 with variance 10⁻⁴, the data (and so the AIS base)
    // near 0: one temperature cannot bridge that.
    let dir = scratch("unreliable");
    quadratic_files(&dir, 8.0, 1e-4);
    let (out, stderr) = json(
        &dir,
        &[
            "eval",
            "--model",
            "quad.json",
            "--data",
            "data.csv",
            "--metric",
            "loglik",
            "--log-z",
            "ais",
            "--temperatures",
            "1",
            "--chains",
            "64",
        ],
    );
    assert_eq!(out["reliable"], false, "{out}");
    assert!(
        stderr.starts_with("warning: AIS log Z is unreliable"),
        "{stderr}"
    );
    assert!(stderr.contains("--temperatures"), "{stderr}");
    assert!(out["ess"].as_f64().unwrap() < 6.4, "{out}");
}

#[test]
fn pll_and_loglik_of_a_boltzmann_machine_match_the_library() {
    let dir = scratch("boltzmann");
    let w = Tensor::from_rows(&[
        vec![0.0, 1.0, -0.5],
        vec![1.0, 0.0, 0.3],
        vec![-0.5, 0.3, 0.0],
    ])
    .unwrap();
    let model = Boltzmann::from_parts(&w, &Tensor::vector(&[0.2, -0.4, 0.1])).unwrap();
    let bits = Tensor::from_rows(&[
        vec![1.0, 1.0, 0.0],
        vec![0.0, 0.0, 1.0],
        vec![1.0, 0.0, 1.0],
        vec![1.0, 1.0, 1.0],
    ])
    .unwrap();
    save_model(&dir.join("bm.json"), &AnyModel::Boltzmann(model.clone())).unwrap();
    write_csv(&dir.join("bits.csv"), &bits).unwrap();

    let (pll, _) = json(
        &dir,
        &[
            "eval", "--model", "bm.json", "--data", "bits.csv", "--metric", "pll",
        ],
    );
    let expected = pseudo_log_likelihood(energy_fn(&model), &bits).unwrap();
    assert!((pll["value"].as_f64().unwrap() - expected.value).abs() < 1e-12);
    assert!((pll["se"].as_f64().unwrap() - expected.std_error).abs() < 1e-12);

    let (ll, _) = json(
        &dir,
        &[
            "eval", "--model", "bm.json", "--data", "bits.csv", "--metric", "loglik",
        ],
    );
    assert_eq!(ll["method"], "enumeration");
    let p = model.exact_probabilities().unwrap();
    // Rows are states 6, 1, 5 and 7 (first column most significant).
    let exact = [6, 1, 5, 7].iter().map(|&s| p.data()[s].ln()).sum::<f64>() / 4.0;
    assert!(
        (ll["value"].as_f64().unwrap() - exact).abs() < 1e-12,
        "{ll} vs {exact}"
    );
}

#[test]
fn metrics_and_options_that_do_not_apply_are_usage_errors() {
    let dir = scratch("refusals");
    quadratic_files(&dir, 0.0, 1.0);
    let score = MlpScore::<f64>::new(3, &[4], Activation::Tanh, false, 0).unwrap();
    save_model(&dir.join("score.json"), &AnyModel::MlpScore(score)).unwrap();
    let base = ["eval", "--model", "quad.json", "--data", "data.csv"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().chain(extra).copied().collect()
    };
    fails(&dir, &with(&["--metric", "pll"]), 2, "models on bits");
    fails(
        &dir,
        &with(&["--metric", "loglik", "--log-z", "grid"]),
        2,
        "2-D",
    );
    fails(
        &dir,
        &with(&["--metric", "loglik", "--chains", "10"]),
        2,
        "groups",
    );
    fails(
        &dir,
        &with(&["--metric", "loglik", "--groups", "1"]),
        2,
        "2 groups",
    );
    fails(
        &dir,
        &with(&["--metric", "loglik", "--temperatures", "0"]),
        2,
        "--temperatures",
    );
    fails(
        &dir,
        &with(&["--quantity", "energy", "--temperatures", "9"]),
        2,
        "--temperatures",
    );
    fails(
        &dir,
        &with(&["--metric", "loglik", "--objective", "ssm"]),
        2,
        "--objective",
    );
    fails(
        &dir,
        &[
            "eval",
            "--model",
            "score.json",
            "--data",
            "data.csv",
            "--metric",
            "loglik",
        ],
        2,
        "energy model",
    );
}

#[test]
fn ksd_matches_the_library_and_refuses_what_does_not_apply() {
    let dir = scratch("ksd");
    quadratic_files(&dir, 0.5, 2.0);
    let model = match scoretape::io::load_model(&dir.join("quad.json")).unwrap() {
        AnyModel::Quadratic(m) => m,
        other => panic!("saved a quadratic model, read a {}", other.kind()),
    };
    let data: Tensor<f64> = scoretape::io::read_csv(&dir.join("data.csv")).unwrap();
    let expected =
        scoretape::sample::kernel_stein_discrepancy(scoretape::sample::score_fn(&model), &data)
            .unwrap();
    let (out, _) = json(
        &dir,
        &[
            "eval",
            "--model",
            "quad.json",
            "--data",
            "data.csv",
            "--metric",
            "ksd",
        ],
    );
    assert_eq!(out["metric"], "ksd");
    let (value, se) = (out["value"].as_f64().unwrap(), out["se"].as_f64().unwrap());
    assert!(
        (value - expected.value).abs() <= 1e-12 * expected.value.abs(),
        "{out}"
    );
    assert!(
        (se - expected.std_error).abs() <= 1e-12 * expected.std_error,
        "{out}"
    );
    // The data are N(0, I) and the model N(0.5, 2I): clearly apart.
    assert!(value > 5.0 * se, "{out}");

    let base = ["eval", "--model", "quad.json", "--data", "data.csv"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().chain(extra).copied().collect()
    };
    fails(
        &dir,
        &with(&["--metric", "ksd", "--log-z", "auto"]),
        2,
        "--log-z",
    );
    fails(
        &dir,
        &with(&["--metric", "ksd", "--chains", "16"]),
        2,
        "--chains",
    );

    write_csv(
        &dir.join("one.csv"),
        &Tensor::from_rows(&[vec![0.0; 3]]).unwrap(),
    )
    .unwrap();
    fails(
        &dir,
        &[
            "eval",
            "--model",
            "quad.json",
            "--data",
            "one.csv",
            "--metric",
            "ksd",
        ],
        1,
        "at least 2 rows",
    );

    let bits = Boltzmann::<f64>::new(3).unwrap();
    save_model(&dir.join("bm.json"), &AnyModel::Boltzmann(bits)).unwrap();
    fails(
        &dir,
        &[
            "eval", "--model", "bm.json", "--data", "data.csv", "--metric", "ksd",
        ],
        2,
        "no score",
    );
    let score = MlpScore::<f64>::new(3, &[4], Activation::Tanh, false, 0).unwrap();
    save_model(&dir.join("score.json"), &AnyModel::MlpScore(score)).unwrap();
    fails(
        &dir,
        &[
            "eval",
            "--model",
            "score.json",
            "--data",
            "data.csv",
            "--metric",
            "ksd",
        ],
        2,
        "energy model",
    );
}
