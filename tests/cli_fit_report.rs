//! `scoretape fit`'s end-of-fit report: the held-out log-likelihood of a
//! closed-form quadratic fit is the Gaussian MLE's test log-likelihood
//! (computed here from the sample mean and covariance), with or without an
//! input map; the report agrees with `eval --metric`; a model on bits gets
//! the pseudo-log-likelihood; `--no-report` and `--quiet` do what they say.
#![cfg(feature = "cli")]
// Index loops read as the matrix formulas they check.
#![allow(clippy::needless_range_loop)]

use scoretape::io::write_csv;
use scoretape::random::{normal_tensor, seeded};
use scoretape::Tensor;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_scoretape");

fn run(dir: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert_eq!(out.status.code(), Some(0), "{args:?} failed: {stderr}");
    (stdout, stderr)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scoretape-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The report object of fit's last stdout line.
fn report(stdout: &str) -> Value {
    let line = stdout.lines().last().expect("fit printed the report");
    let v: Value = serde_json::from_str(line).unwrap();
    v["report"].clone()
}

/// n rows of a correlated 3-D Gaussian on very different scales:
/// x = (5 + 2e₁, −1 + 0.5e₁ + 0.1e₂, 100e₃).
fn gaussian_rows(n: usize, seed: u64) -> Tensor<f64> {
    let e: Tensor<f64> = normal_tensor(&[n, 3], &mut seeded(seed));
    let e = e.data();
    Tensor::from_fn(&[n, 3], |k| {
        let (b, j) = (k / 3, k % 3);
        let (e1, e2, e3) = (e[3 * b], e[3 * b + 1], e[3 * b + 2]);
        [5.0 + 2.0 * e1, -1.0 + 0.5 * e1 + 0.1 * e2, 100.0 * e3][j]
    })
}

/// The mean Gaussian log-density of `test` under the maximum-likelihood
/// fit to `train` (sample mean, covariance with 1/n), by a Cholesky factor.
fn gaussian_mle_test_loglik(train: &Tensor<f64>, test: &Tensor<f64>) -> f64 {
    let (n, d) = (train.shape()[0], train.shape()[1]);
    let x = |b: usize, j: usize| train.data()[b * d + j];
    let mean: Vec<f64> = (0..d)
        .map(|j| (0..n).map(|b| x(b, j)).sum::<f64>() / n as f64)
        .collect();
    let mut cov = vec![vec![0.0; d]; d];
    for i in 0..d {
        for j in 0..d {
            cov[i][j] = (0..n)
                .map(|b| (x(b, i) - mean[i]) * (x(b, j) - mean[j]))
                .sum::<f64>()
                / n as f64;
        }
    }
    let mut l = vec![vec![0.0; d]; d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            l[i][j] = if i == j {
                (cov[i][i] - s).sqrt()
            } else {
                (cov[i][j] - s) / l[j][j]
            };
        }
    }
    let log_det: f64 = (0..d).map(|i| 2.0 * l[i][i].ln()).sum();
    let m = test.shape()[0];
    let total: f64 = (0..m)
        .map(|b| {
            // Forward substitution: z = L⁻¹(x − μ).
            let mut z = vec![0.0; d];
            for i in 0..d {
                let s: f64 = (0..i).map(|k| l[i][k] * z[k]).sum();
                z[i] = (test.data()[b * d + i] - mean[i] - s) / l[i][i];
            }
            let q: f64 = z.iter().map(|v| v * v).sum();
            -0.5 * q - 0.5 * log_det - 0.5 * d as f64 * std::f64::consts::TAU.ln()
        })
        .sum();
    total / m as f64
}

#[test]
fn closed_form_report_is_the_gaussian_mle_test_loglik_in_original_units() {
    let dir = scratch("closed");
    let train = gaussian_rows(300, 1);
    let test = gaussian_rows(120, 2);
    write_csv(&dir.join("train.csv"), &train).unwrap();
    write_csv(&dir.join("test.csv"), &test).unwrap();
    let expected = gaussian_mle_test_loglik(&train, &test);
    for map in [None, Some("--standardize"), Some("--whiten")] {
        let mut args = vec![
            "fit",
            "--data",
            "train.csv",
            "--test",
            "test.csv",
            "--model",
            "quadratic",
            "--solver",
            "closed-form",
            "--objective",
            "esm",
            "--out",
            "q.json",
        ];
        args.extend(map);
        let (stdout, stderr) = run(&dir, &args);
        let r = report(&stdout);
        // Every row is fitted by the closed form: no validation rows.
        assert!(r.get("validation").is_none(), "{r}");
        let loglik = &r["test"]["loglik"];
        assert_eq!(loglik["method"], "closed-form");
        assert_eq!(loglik["reliable"], true);
        assert_eq!(r["test"]["rows"], 120);
        let value = loglik["value"].as_f64().unwrap();
        assert!(
            (value - expected).abs() < 1e-6,
            "{map:?}: reported {value}, the Gaussian MLE's is {expected}"
        );
        assert!(stderr.contains("test (120 rows of test.csv): log-likelihood"));
        assert!(stderr.contains("--no-report skips it"));
    }
}

#[test]
fn the_report_agrees_with_eval_and_covers_the_validation_split() {
    let dir = scratch("eval");
    write_csv(&dir.join("train.csv"), &gaussian_rows(200, 3)).unwrap();
    write_csv(&dir.join("test.csv"), &gaussian_rows(50, 4)).unwrap();
    let (stdout, _) = run(
        &dir,
        &[
            "fit",
            "--data",
            "train.csv",
            "--test",
            "test.csv",
            "--model",
            "quadratic",
            "--objective",
            "esm",
            "--standardize",
            "--steps",
            "30",
            "--lr",
            "0.01",
            "--validation",
            "0.2",
            "--out",
            "q.json",
        ],
    );
    let r = report(&stdout);
    assert_eq!(r["validation"]["rows"], 40);
    let validation = r["validation"]["loglik"]["value"].as_f64().unwrap();
    assert!(validation.is_finite());
    assert!(r["validation"]["ksd"]["value"]
        .as_f64()
        .unwrap()
        .is_finite());
    assert!(
        r["test"].get("ksd").is_none(),
        "the KSD is a validation check"
    );
    let (eval, _) = run(
        &dir,
        &[
            "eval", "--model", "q.json", "--data", "test.csv", "--metric", "loglik",
        ],
    );
    let eval: Value = serde_json::from_str(eval.trim()).unwrap();
    let test = r["test"]["loglik"]["value"].as_f64().unwrap();
    let by_eval = eval["value"].as_f64().unwrap();
    assert!(
        (test - by_eval).abs() < 1e-9,
        "fit {test} vs eval {by_eval}"
    );
    assert_eq!(r["test"]["loglik"]["log_abs_det"], eval["log_abs_det"]);
}

#[test]
fn a_model_on_bits_is_reported_by_its_pseudo_log_likelihood() {
    let dir = scratch("bits");
    run(
        &dir,
        &[
            "data",
            "bars-and-stripes",
            "--n",
            "200",
            "--side",
            "3",
            "--out",
            "b.csv",
        ],
    );
    run(
        &dir,
        &[
            "data",
            "bars-and-stripes",
            "--n",
            "60",
            "--side",
            "3",
            "--seed",
            "1",
            "--out",
            "t.csv",
        ],
    );
    let (stdout, stderr) = run(
        &dir,
        &[
            "fit",
            "--data",
            "b.csv",
            "--test",
            "t.csv",
            "--model",
            "boltzmann",
            "--objective",
            "rm",
            "--steps",
            "40",
            "--out",
            "b.json",
            "--quiet",
        ],
    );
    let r = report(&stdout);
    assert_eq!(r["validation"]["rows"], 20);
    assert!(r["validation"].get("loglik").is_none());
    let (eval, _) = run(
        &dir,
        &[
            "eval", "--model", "b.json", "--data", "t.csv", "--metric", "pll",
        ],
    );
    let eval: Value = serde_json::from_str(eval.trim()).unwrap();
    assert_eq!(r["test"]["pll"]["value"], eval["value"]);
    // --quiet keeps the JSON line but not the summary.
    assert!(!stderr.contains("pseudo-log-likelihood"), "{stderr}");
}

#[test]
fn no_report_prints_nothing_and_a_score_model_has_no_density_to_report() {
    let dir = scratch("none");
    write_csv(&dir.join("train.csv"), &gaussian_rows(100, 5)).unwrap();
    let common = [
        "fit",
        "--data",
        "train.csv",
        "--objective",
        "ssm",
        "--steps",
        "3",
        "--out",
        "m.json",
    ];
    let (stdout, stderr) = run(&dir, &[&common[..], &["--no-report"]].concat());
    assert_eq!(stdout, "");
    assert!(!stderr.contains("report"), "{stderr}");
    let (stdout, stderr) = run(
        &dir,
        &[&common[..], &["--model", "mlp-score", "--hidden", "8"]].concat(),
    );
    assert_eq!(stdout, "");
    assert!(stderr.contains("gives a score, not a density"), "{stderr}");
}
