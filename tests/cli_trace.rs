//! `--trace hvp|laplacian` on `fit` and `eval`: exact score matching gives the
//! same loss, gradient and fit by either Hessian trace (to rounding), and a
//! bad value is a usage error.
#![cfg(feature = "cli")]

use scoretape::io::{load_model, write_csv};
use scoretape::random::{normal_tensor, seeded};
use serde_json::Value;
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

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("scoretape-cli-trace-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `|a - b| ≤ 1e-10 · max(|a|, |b|, 1)`.
fn assert_close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-10 * a.abs().max(b.abs()).max(1.0),
        "{what}: {a} vs {b}"
    );
}

/// Every number in a JSON value, in document order (the gradient is nested
/// by layer and parameter).
fn numbers(v: &Value) -> Vec<f64> {
    match v {
        Value::Number(n) => vec![n.as_f64().unwrap()],
        Value::Array(items) => items.iter().flat_map(numbers).collect(),
        Value::Object(fields) => fields.values().flat_map(numbers).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn either_trace_fits_and_evaluates_alike() {
    let dir = scratch("alike");
    write_csv(
        &dir.join("x.csv"),
        &normal_tensor::<f64, _>(&[32, 3], &mut seeded(4)),
    )
    .unwrap();
    let fit = |trace: &str, out: &str| {
        let (code, _, stderr) = run(
            &dir,
            &[
                "fit",
                "--data",
                "x.csv",
                "--objective",
                "esm",
                "--trace",
                trace,
                "--hidden",
                "5",
                "--steps",
                "4",
                "--batch-size",
                "32",
                "--validation",
                "0",
                "--quiet",
                "--out",
                out,
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        load_model(&dir.join(out)).unwrap()
    };
    let (by_hvp, by_laplacian) = (fit("hvp", "hvp.json"), fit("laplacian", "lap.json"));
    for (a, b) in by_hvp
        .params()
        .values()
        .iter()
        .zip(by_laplacian.params().values())
    {
        assert!(a.max_abs_diff(b) < 1e-10, "{}", a.max_abs_diff(b));
    }
    let eval = |trace: &str| -> Value {
        let (code, stdout, stderr) = run(
            &dir,
            &[
                "eval",
                "--model",
                "hvp.json",
                "--data",
                "x.csv",
                "--objective",
                "esm",
                "--trace",
                trace,
                "--grad",
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        serde_json::from_str(&stdout).unwrap()
    };
    let (hvp, laplacian) = (eval("hvp"), eval("laplacian"));
    assert_close(
        hvp["loss"].as_f64().unwrap(),
        laplacian["loss"].as_f64().unwrap(),
        "loss",
    );
    let (g_hvp, g_laplacian) = (numbers(&hvp["grad"]), numbers(&laplacian["grad"]));
    assert!(!g_hvp.is_empty());
    assert_eq!(g_hvp.len(), g_laplacian.len());
    for (a, b) in g_hvp.iter().zip(&g_laplacian) {
        assert_close(*a, *b, "gradient");
    }
}

#[test]
fn an_unknown_trace_is_a_usage_error() {
    let dir = scratch("bad");
    write_csv(
        &dir.join("x.csv"),
        &normal_tensor::<f64, _>(&[8, 2], &mut seeded(5)),
    )
    .unwrap();
    for command in [
        vec![
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "esm",
            "--out",
            "m.json",
        ],
        vec![
            "eval",
            "--model",
            "m.json",
            "--data",
            "x.csv",
            "--objective",
            "esm",
        ],
    ] {
        let mut args = command.clone();
        args.extend(["--trace", "lap"]);
        let (code, _, stderr) = run(&dir, &args);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("--trace"), "{stderr}");
    }
    assert!(!dir.join("m.json").exists());
}
