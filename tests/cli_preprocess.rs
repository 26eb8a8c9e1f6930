//! `scoretape fit --standardize / --whiten` end to end: the map is saved with
//! the model, `eval` energies and scores in the original units equal the
//! z-space model's at the transformed points (scores chained through Aᵀ),
//! `denoise` is Tweedie's formula with that score, `sample` maps back to the
//! original units, and bad options fail with the documented exit codes.
#![cfg(feature = "cli")]
// Index loops read as the matrix formulas they check.
#![allow(clippy::needless_range_loop)]

use scoretape::io::{load_model_file, read_csv, write_csv, AnyModel};
use scoretape::model::AffineMap;
use scoretape::random::{normal_tensor, seeded};
use scoretape::{grad, Tape, Tensor};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_scoretape");

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

fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, stdout, stderr) = run(dir, args);
    assert_eq!(code, 0, "{args:?} failed: {stderr}");
    stdout
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scoretape-pre-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// 400 rows in 2-D on very different scales: x₁ ~ 100 + 20e₁, x₂ ~ 0.01e₂ + 0.002e₁.
fn scaled_data(dir: &Path) -> Tensor<f64> {
    let e: Tensor<f64> = normal_tensor(&[400, 2], &mut seeded(5));
    let x = Tensor::from_fn(&[400, 2], |k| {
        let (a, b) = (e.data()[k / 2 * 2], e.data()[k / 2 * 2 + 1]);
        if k % 2 == 0 {
            100.0 + 20.0 * a
        } else {
            0.01 * b + 0.002 * a
        }
    });
    write_csv(&dir.join("x.csv"), &x).unwrap();
    x
}

fn json_rows(text: &str) -> Vec<Vec<f64>> {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    v["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| match r.as_array() {
            Some(row) => row.iter().map(|x| x.as_f64().unwrap()).collect(),
            None => vec![r.as_f64().unwrap()],
        })
        .collect()
}

/// The z-space model's energies and scores at z = A(x − m), the latter
/// chained to x by the chain rule (rows s_z A), computed with the library.
fn through_map(model: &AnyModel, map: &AffineMap, x: &Tensor<f64>) -> (Vec<f64>, Tensor<f64>) {
    let energy_model = model.as_energy().unwrap();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let z = tape.input(map.apply(x));
    let e = energy_model.energy(&params, z);
    let score_z = -grad(e.sum(), &[z]).unwrap()[0];
    (e.to_vec(), score_z.value().matmul(map.matrix()))
}

#[test]
fn a_standardized_or_whitened_fit_evaluates_in_the_original_units() {
    let dir = scratch("eval");
    let x = scaled_data(&dir);
    for (flag, model) in [("--standardize", "mlp"), ("--whiten", "quadratic")] {
        let mut args = vec![
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "ssm",
            "--model",
            model,
            "--steps",
            "30",
            "--quiet",
            flag,
            "--out",
            "m.json",
        ];
        if model == "mlp" {
            args.extend(["--hidden", "8"]);
        }
        let stderr = run(&dir, &args);
        assert_eq!(stderr.0, 0, "{flag}: {}", stderr.2);
        let file = load_model_file(&dir.join("m.json")).unwrap();
        let map = file.input_map.clone().expect("the map is saved");
        // The saved map is the one estimated from the data.
        let want = if flag == "--standardize" {
            AffineMap::standardize(&x).unwrap()
        } else {
            AffineMap::whiten(&x).unwrap()
        };
        assert_eq!(map, want);

        let (energies, scores) = through_map(&file.model, &map, &x);
        let got = json_rows(&ok(
            &dir,
            &[
                "eval",
                "--model",
                "m.json",
                "--data",
                "x.csv",
                "--quantity",
                "energy",
            ],
        ));
        for (g, w) in got.iter().zip(&energies) {
            assert!(
                (g[0] - w).abs() <= 1e-12 * w.abs().max(1.0),
                "{flag}: {g:?} vs {w}"
            );
        }
        let got = json_rows(&ok(
            &dir,
            &[
                "eval",
                "--model",
                "m.json",
                "--data",
                "x.csv",
                "--quantity",
                "score",
            ],
        ));
        for (b, row) in got.iter().enumerate() {
            for i in 0..2 {
                let w = scores.get(&[b, i]);
                assert!(
                    (row[i] - w).abs() <= 1e-9 * w.abs().max(1.0),
                    "{flag}: {} vs {w}",
                    row[i]
                );
            }
        }

        // denoise: x̃ + σ² s(x̃), s the score in the original units.
        let sigma = 0.5;
        ok(
            &dir,
            &[
                "denoise",
                "--model",
                "m.json",
                "--data",
                "x.csv",
                "--sigma",
                "0.5",
                "--out",
                "clean.csv",
            ],
        );
        let clean: Tensor<f64> = read_csv(&dir.join("clean.csv")).unwrap();
        let want = Tensor::from_fn(x.shape(), |k| {
            x.data()[k] + sigma * sigma * scores.data()[k]
        });
        assert!(
            clean.max_abs_diff(&want) <= 1e-9 * want.data().iter().fold(1.0, |m, v| v.abs().max(m))
        );
    }
}

#[test]
fn samples_of_a_whitened_quadratic_are_in_the_original_units() {
    let dir = scratch("sample");
    scaled_data(&dir);
    ok(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "esm",
            "--model",
            "quadratic",
            "--whiten",
            "--steps",
            "300",
            "--lr",
            "0.05",
            "--quiet",
            "--out",
            "q.json",
        ],
    );
    let file = load_model_file(&dir.join("q.json")).unwrap();
    let map = file.input_map.unwrap();
    let AnyModel::Quadratic(q) = &file.model else {
        panic!("quadratic")
    };
    // The model's mean in x: m + A⁻¹μ_z.
    let mean_z = q.mean();
    let mean_x = map.invert(&mean_z.reshape(&[1, 2]));
    let n = 4000;
    ok(
        &dir,
        &[
            "sample",
            "--model",
            "q.json",
            "--n",
            "4000",
            "--sampler",
            "mala",
            "--steps",
            "300",
            "--step-size",
            "0.3",
            "--out",
            "s.csv",
        ],
    );
    let s: Tensor<f64> = read_csv(&dir.join("s.csv")).unwrap();
    let sample_mean = s.sum_axis(0).map(|v| v / n as f64);
    // Each coordinate's sample mean is within 5 standard errors of the
    // model's mean, the standard deviation taken from the model's covariance
    // in x: A⁻¹ Σ_z A⁻ᵀ.
    let cov_z = q.covariance().unwrap();
    let a_inv = scoretape::model::linalg::inverse(map.matrix()).unwrap();
    let cov_x = a_inv.matmul(&cov_z).matmul_t(&a_inv, false, true);
    for i in 0..2 {
        let se = (cov_x.get(&[i, i]) / n as f64).sqrt();
        let diff = (sample_mean.data()[i] - mean_x.data()[i]).abs();
        assert!(diff < 5.0 * se, "coordinate {i}: off by {diff}, se {se}");
    }
    // And far from the z-space origin in x: the first column is near 100.
    assert!((sample_mean.data()[0] - 100.0).abs() < 10.0);
}

#[test]
fn preprocessing_refuses_bad_combinations_and_degenerate_data() {
    let dir = scratch("bad");
    scaled_data(&dir);
    let (code, _, stderr) = run(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "ssm",
            "--standardize",
            "--whiten",
            "--out",
            "m.json",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--whiten"), "{stderr}");

    let bits = Tensor::from_rows(&[vec![0.0, 1.0], vec![1.0, 1.0], vec![1.0, 0.0]]).unwrap();
    write_csv(&dir.join("bits.csv"), &bits).unwrap();
    let (code, _, stderr) = run(
        &dir,
        &[
            "fit",
            "--data",
            "bits.csv",
            "--objective",
            "rm",
            "--model",
            "boltzmann",
            "--standardize",
            "--out",
            "m.json",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.starts_with("error: --standardize cannot be used with ratio matching"));

    let constant = Tensor::from_rows(&[vec![1.0, 3.0], vec![2.0, 3.0], vec![4.0, 3.0]]).unwrap();
    write_csv(&dir.join("c.csv"), &constant).unwrap();
    for flag in ["--standardize", "--whiten"] {
        let (code, _, stderr) = run(
            &dir,
            &[
                "fit",
                "--data",
                "c.csv",
                "--objective",
                "ssm",
                flag,
                "--out",
                "m.json",
            ],
        );
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.starts_with("error: c.csv: "), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!dir.join("m.json").exists());
    }
}

fn eval_loss(dir: &Path, model: &str) -> f64 {
    let out = ok(
        dir,
        &[
            "eval",
            "--model",
            model,
            "--data",
            "x.csv",
            "--objective",
            "esm",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["loss"].as_f64().unwrap()
}

#[test]
fn the_closed_form_quadratic_is_the_gaussian_mle_and_gradient_descent_approaches_it() {
    let dir = scratch("closed");
    let x = scaled_data(&dir);
    let (code, _, stderr) = run(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "esm",
            "--model",
            "quadratic",
            "--solver",
            "closed-form",
            "--standardize",
            "--out",
            "cf.json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("all 400 rows"), "{stderr}");
    let file = load_model_file(&dir.join("cf.json")).unwrap();
    let map = file.input_map.unwrap();
    let AnyModel::Quadratic(q) = &file.model else {
        panic!("quadratic")
    };
    // In the original units: mean m + A⁻¹μ_z = x̄, precision AᵀP_zA = C⁻¹.
    let n = 400.0;
    let mean = x.sum_axis(0).map(|v| v / n);
    let c = x.zip_map(&mean, |a, b| a - b);
    let cov = c.matmul_t(&c, true, false).map(|v| v / n);
    let mean_x = map.invert(&q.mean().reshape(&[1, 2]));
    assert!(mean_x.reshape(&[2]).max_abs_diff(&mean) < 1e-9);
    let a = map.matrix();
    let p_x = a.matmul_t(&q.precision().matmul(a), true, false);
    let identity = p_x.matmul(&cov);
    assert!(
        identity.max_abs_diff(&Tensor::eye(2)) < 1e-9,
        "{identity:?}"
    );

    // Gradient descent on the same (standardised) data approaches it, and
    // the closed form's loss is the lowest.
    let mut distances = vec![];
    for steps in ["20", "1500"] {
        ok(
            &dir,
            &[
                "fit",
                "--data",
                "x.csv",
                "--objective",
                "esm",
                "--model",
                "quadratic",
                "--standardize",
                "--validation",
                "0",
                "--batch-size",
                "400",
                "--lr",
                "0.05",
                "--steps",
                steps,
                "--quiet",
                "--out",
                "gd.json",
            ],
        );
        let gd = load_model_file(&dir.join("gd.json")).unwrap();
        let AnyModel::Quadratic(g) = &gd.model else {
            panic!("quadratic")
        };
        distances.push(g.precision().max_abs_diff(&q.precision()));
        assert!(eval_loss(&dir, "gd.json") >= eval_loss(&dir, "cf.json") - 1e-12);
    }
    assert!(distances[1] < 0.2 * distances[0], "{distances:?}");
    assert!(distances[1] < 0.02, "{distances:?}");

    // Bad combinations: exit 2.
    for extra in [
        &["--model", "mlp"][..],
        &["--model", "quadratic", "--checkpoint-every", "5"][..],
        &["--model", "quadratic", "--solver", "newton"][..],
    ] {
        let mut args = vec![
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "esm",
            "--out",
            "bad.json",
        ];
        if !extra.contains(&"--solver") {
            args.extend(["--solver", "closed-form"]);
        }
        args.extend(extra);
        let (code, _, stderr) = run(&dir, &args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
    }
}

#[test]
fn the_validation_split_is_announced_and_test_metrics_reported() {
    let dir = scratch("heldout");
    let x = scaled_data(&dir);
    write_csv(&dir.join("test.csv"), &x.slice(0, 0, 50)).unwrap();
    let (code, _, stderr) = run(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "esm",
            "--model",
            "quadratic",
            "--standardize",
            "--steps",
            "40",
            "--validation",
            "0.25",
            "--test",
            "test.csv",
            "--out",
            "m.json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("training on 300 rows, holding out 100 for validation"),
        "{stderr}"
    );
    assert!(stderr.contains("(100 rows)"), "{stderr}");
    assert!(stderr.contains("on 100 held-out rows"), "{stderr}");
    // The test loss equals eval's on the same rows (esm draws nothing).
    let line = stderr
        .lines()
        .find(|l| l.starts_with("test: esm loss "))
        .expect(&stderr);
    let reported: f64 = line["test: esm loss ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let out = ok(
        &dir,
        &[
            "eval",
            "--model",
            "m.json",
            "--data",
            "test.csv",
            "--objective",
            "esm",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let want = v["loss"].as_f64().unwrap();
    assert!(
        (reported - want).abs() <= 1e-6 * want.abs().max(1.0),
        "{reported} vs {want}"
    );
    assert!(line.contains("on 50 rows of test.csv"), "{line}");

    // Without a split it says so; a test file of the wrong width fails
    // before fitting, with exit 1.
    let (code, _, stderr) = run(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "esm",
            "--model",
            "quadratic",
            "--steps",
            "2",
            "--validation",
            "0",
            "--out",
            "m2.json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("training on all 400 rows (no validation split)"),
        "{stderr}"
    );
    write_csv(
        &dir.join("wide.csv"),
        &Tensor::from_rows(&[vec![1.0, 2.0, 3.0]]).unwrap(),
    )
    .unwrap();
    let (code, _, stderr) = run(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "esm",
            "--model",
            "quadratic",
            "--steps",
            "2",
            "--test",
            "wide.csv",
            "--out",
            "m3.json",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.starts_with("error: wide.csv"), "{stderr}");
    assert!(!dir.join("m3.json").exists());
}

#[test]
fn quantised_columns_are_warned_about_and_dequantize_fits_through_them() {
    let dir = scratch("quantised");
    // Column 1 rounded to 0.5 (few distinct values), column 2 continuous.
    let e: Tensor<f64> = normal_tensor(&[200, 2], &mut seeded(9));
    let x = Tensor::from_fn(&[200, 2], |k| {
        if k % 2 == 0 {
            (e.data()[k] * 2.0).round() / 2.0
        } else {
            e.data()[k]
        }
    });
    write_csv(&dir.join("q.csv"), &x).unwrap();
    let fit = |extra: &[&str], out: &str| {
        let mut args = vec![
            "fit",
            "--data",
            "q.csv",
            "--model",
            "quadratic",
            "--steps",
            "40",
            "--batch-size",
            "50",
            "--quiet",
            "--out",
            out,
        ];
        args.extend(extra);
        let (code, _, stderr) = run(&dir, &args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        stderr
    };
    let stderr = fit(&["--objective", "ssm"], "plain.json");
    assert!(stderr.contains("warning: q.csv: column 1 ("), "{stderr}");
    assert!(stderr.contains("--dequantize"), "{stderr}");
    assert!(!stderr.contains("column 2"), "{stderr}");
    // No warning with --dequantize or dsm; dequantizing changes the fit.
    assert_eq!(fit(&["--objective", "ssm", "--dequantize"], "dq.json"), "");
    assert_eq!(fit(&["--objective", "dsm"], "dsm.json"), "");
    let plain = load_model_file(&dir.join("plain.json")).unwrap().model;
    let dq = load_model_file(&dir.join("dq.json")).unwrap().model;
    assert_ne!(plain, dq);
    // The same seed draws the same noise.
    fit(&["--objective", "ssm", "--dequantize"], "dq2.json");
    assert_eq!(load_model_file(&dir.join("dq2.json")).unwrap().model, dq);
    // Ratio matching refuses it.
    let bits = Tensor::from_rows(&[vec![0.0, 1.0], vec![1.0, 1.0], vec![1.0, 0.0]]).unwrap();
    write_csv(&dir.join("bits.csv"), &bits).unwrap();
    let (code, _, _) = run(
        &dir,
        &[
            "fit",
            "--data",
            "bits.csv",
            "--objective",
            "rm",
            "--model",
            "boltzmann",
            "--dequantize",
            "--out",
            "b.json",
        ],
    );
    assert_eq!(code, 2);
}

#[test]
fn eval_loglik_through_the_map_is_the_gaussian_log_likelihood_in_original_units() {
    let dir = scratch("loglik");
    let x = scaled_data(&dir);
    for flag in ["--standardize", "--whiten"] {
        ok(
            &dir,
            &[
                "fit",
                "--data",
                "x.csv",
                "--objective",
                "esm",
                "--model",
                "quadratic",
                "--solver",
                "closed-form",
                flag,
                "--quiet",
                "--out",
                "g.json",
            ],
        );
        let out = ok(
            &dir,
            &[
                "eval", "--model", "g.json", "--data", "x.csv", "--metric", "loglik",
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let got = v["value"].as_f64().unwrap();
        // The Gaussian MLE's mean log-density on its own data, in x:
        // −½ d (1 + log 2π) − ½ log det C.
        let n = 400.0;
        let mean = x.sum_axis(0).map(|v| v / n);
        let c = x.zip_map(&mean, |a, b| a - b);
        let cov = c.matmul_t(&c, true, false).map(|v| v / n);
        let det = cov.get(&[0, 0]) * cov.get(&[1, 1]) - cov.get(&[0, 1]).powi(2);
        let want = -(1.0 + (2.0 * std::f64::consts::PI).ln()) - 0.5 * det.ln();
        assert!((got - want).abs() < 1e-8, "{flag}: {got} vs {want}");
    }
}
