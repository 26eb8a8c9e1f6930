//! `scoretape fit`'s per-objective defaults: the learning rate by objective
//! and model, and dsm's σ by Scott's rule, are printed, are what the fit
//! uses (the same model as passing them explicitly), and give way to an
//! explicit `--lr` / `--sigma`.
#![cfg(feature = "cli")]

use scoretape::io::write_csv;
use scoretape::random::{normal_tensor, seeded};
use scoretape::Tensor;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_scoretape");

fn run(dir: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?} failed: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("scoretape-defaults-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The model's energies at the rows of `data`.
fn energies(dir: &Path, model: &str, data: &str) -> Vec<f64> {
    let (stdout, _) = run(
        dir,
        &[
            "eval",
            "--model",
            model,
            "--data",
            data,
            "--quantity",
            "energy",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    v["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn max_gap(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn ratio_matching_defaults_to_its_own_rate_and_an_explicit_lr_wins() {
    let dir = scratch("rm");
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
    let common = [
        "fit",
        "--data",
        "b.csv",
        "--model",
        "boltzmann",
        "--objective",
        "rm",
        "--steps",
        "30",
        "--no-report",
    ];
    let (_, stderr) = run(&dir, &[&common[..], &["--out", "d.json"]].concat());
    assert!(
        stderr.contains("defaults: --lr 0.03 (for rm with --model boltzmann); set them to choose"),
        "{stderr}"
    );
    let (_, stderr) = run(
        &dir,
        &[&common[..], &["--lr", "0.03", "--out", "e.json"]].concat(),
    );
    assert!(!stderr.contains("defaults:"), "{stderr}");
    let (_, _) = run(
        &dir,
        &[&common[..], &["--lr", "0.001", "--out", "s.json"]].concat(),
    );
    let default = energies(&dir, "d.json", "b.csv");
    assert_eq!(default, energies(&dir, "e.json", "b.csv"));
    assert!(max_gap(&default, &energies(&dir, "s.json", "b.csv")) > 1e-3);
    // An mlp fitted by rm has its own default rate.
    let (_, stderr) = run(
        &dir,
        &[
            "fit",
            "--data",
            "b.csv",
            "--objective",
            "rm",
            "--hidden",
            "8",
            "--steps",
            "2",
            "--no-report",
            "--out",
            "m.json",
        ],
    );
    assert!(
        stderr.contains("--lr 0.01 (for rm with --model mlp)"),
        "{stderr}"
    );
}

#[test]
fn dsm_sigma_defaults_to_scotts_rule_and_an_explicit_sigma_wins() {
    let dir = scratch("dsm");
    // 200 rows in 3-D, columns with standard deviations 1, 3 and 0.5.
    let e: Tensor<f64> = normal_tensor(&[200, 3], &mut seeded(7));
    let x = Tensor::from_fn(&[200, 3], |k| e.data()[k] * [1.0, 3.0, 0.5][k % 3]);
    write_csv(&dir.join("x.csv"), &x).unwrap();
    // Scott's rule over the 180 training rows (--validation 0.1), from the
    // columns' standard deviations (divisor n) on all 200 rows.
    let d = 3;
    let mean_variance: f64 = (0..d)
        .map(|j| {
            let col: Vec<f64> = (0..200).map(|b| x.data()[b * d + j]).collect();
            let mean = col.iter().sum::<f64>() / 200.0;
            col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 200.0
        })
        .sum::<f64>()
        / d as f64;
    let sigma = 180f64.powf(-1.0 / 7.0) * mean_variance.sqrt();
    let common = [
        "fit",
        "--data",
        "x.csv",
        "--objective",
        "dsm",
        "--hidden",
        "8",
        "--steps",
        "20",
        "--no-report",
    ];
    let (_, stderr) = run(&dir, &[&common[..], &["--out", "d.json"]].concat());
    assert!(
        stderr.contains(&format!("--sigma {sigma:.4} (Scott's rule: 180^(-1/7)")),
        "σ = {sigma}: {stderr}"
    );
    assert!(
        stderr.contains("--lr 0.003 (for dsm with --model mlp)"),
        "{stderr}"
    );
    let exact = format!("{sigma:?}");
    let off = format!("{:?}", sigma * 1.01);
    let (_, stderr) = run(
        &dir,
        &[&common[..], &["--sigma", &exact, "--out", "e.json"]].concat(),
    );
    assert!(!stderr.contains("--sigma"), "{stderr}");
    run(
        &dir,
        &[&common[..], &["--sigma", &off, "--out", "o.json"]].concat(),
    );
    let default = energies(&dir, "d.json", "x.csv");
    // The same σ up to the rounding of the variance sums.
    assert!(max_gap(&default, &energies(&dir, "e.json", "x.csv")) < 1e-9);
    assert!(max_gap(&default, &energies(&dir, "o.json", "x.csv")) > 1e-6);
    // ssm has no σ to choose.
    let (_, stderr) = run(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "ssm",
            "--hidden",
            "8",
            "--steps",
            "2",
            "--no-report",
            "--out",
            "s.json",
        ],
    );
    assert!(
        stderr.contains("defaults: --lr 0.001 (for ssm with --model mlp); set"),
        "{stderr}"
    );
}
