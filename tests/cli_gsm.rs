//! `--objective gsm --weight …` on `fit` and `eval`: the closed-form fit is
//! the minimiser the evaluated gradient vanishes at, `eval` prints the
//! library's loss, gradient descent runs, and bad input is refused with the
//! usual exit codes.
#![cfg(feature = "cli")]

mod cli_support;

use cli_support::{fails, ok, run, scratch};
use scoretape::io::{load_model, write_csv, AnyModel};
use scoretape::model::{Energy, Model};
use scoretape::objective::{generalized_score_matching, ScoreWeight};
use scoretape::random::{normal_tensor, seeded};
use scoretape::{Tape, Tensor};
use serde_json::Value;
use std::path::Path;

/// Non-negative, correlated data: |z| of a correlated Gaussian, shifted.
fn write_data(dir: &Path) -> Tensor<f64> {
    let z = normal_tensor::<f64, _>(&[200, 2], &mut seeded(3));
    let x = Tensor::from_fn(&[200, 2], |k| {
        let (b, j) = (k / 2, k % 2);
        let mixed = z.get(&[b, 0]) + if j == 1 { 0.6 * z.get(&[b, 1]) } else { 0.0 };
        (mixed + 0.5).abs()
    });
    write_csv(&dir.join("x.csv"), &x).unwrap();
    x
}

fn numbers(v: &Value) -> Vec<f64> {
    match v {
        Value::Number(n) => vec![n.as_f64().unwrap()],
        Value::Array(items) => items.iter().flat_map(numbers).collect(),
        Value::Object(fields) => fields.values().flat_map(numbers).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn closed_form_fit_is_where_the_evaluated_gradient_vanishes() {
    let dir = scratch("gsm-closed");
    let x = write_data(&dir);
    for weight in ["x2", "x", "min:1.5"] {
        let fitted = run(
            &dir,
            &[
                "fit",
                "--data",
                "x.csv",
                "--objective",
                "gsm",
                "--weight",
                weight,
                "--model",
                "quadratic",
                "--solver",
                "closed-form",
                "--out",
                "q.json",
            ],
        );
        assert_eq!(fitted.code, 0, "{}", fitted.stderr);
        assert!(
            fitted.stderr.contains("generalized score matching"),
            "{}",
            fitted.stderr
        );
        let out = ok(
            &dir,
            &[
                "eval",
                "--model",
                "q.json",
                "--data",
                "x.csv",
                "--objective",
                "gsm",
                "--weight",
                weight,
                "--grad",
            ],
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["objective"], "gsm");
        let gradient = numbers(&v["grad"]);
        assert_eq!(gradient.len(), 2 + 4, "mean and cholesky: {out}");
        let largest = gradient.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        assert!(
            largest < 1e-8,
            "{weight}: gradient at the closed form {largest:e}"
        );

        // The printed loss is the library's.
        let AnyModel::Quadratic(model) = load_model(&dir.join("q.json")).unwrap() else {
            panic!("a quadratic model")
        };
        let tape = Tape::new();
        let params = model.params().record(&tape);
        let energy = |x| model.energy(&params, x);
        let want = generalized_score_matching(&tape, &energy, &x, None, weight.parse().unwrap())
            .unwrap()
            .item();
        let loss = v["loss"].as_f64().unwrap();
        assert!(
            (loss - want).abs() < 1e-12 * want.abs().max(1.0),
            "{loss} vs {want}"
        );
    }
    // The weight matters: another weight's minimiser is not this one's.
    let out = ok(
        &dir,
        &[
            "eval",
            "--model",
            "q.json",
            "--data",
            "x.csv",
            "--objective",
            "gsm",
            "--weight",
            "x2",
            "--grad",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let largest = numbers(&v["grad"])
        .iter()
        .fold(0.0f64, |m, g| m.max(g.abs()));
    assert!(
        largest > 1e-3,
        "min:1.5's fit is also x2's minimiser? {largest:e}"
    );
}

#[test]
fn gradient_fit_runs_and_resume_refuses_another_weight() {
    let dir = scratch("gsm-fit");
    write_data(&dir);
    let base = [
        "fit",
        "--data",
        "x.csv",
        "--objective",
        "gsm",
        "--hidden",
        "8",
        "--steps",
        "4",
        "--checkpoint-every",
        "2",
        "--quiet",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().chain(extra).copied().collect()
    };
    ok(&dir, &with(&["--out", "m.json", "--weight", "min:2"]));
    let out = ok(
        &dir,
        &[
            "eval",
            "--model",
            "m.json",
            "--data",
            "x.csv",
            "--objective",
            "gsm",
            "--weight",
            "min:2",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["loss"].as_f64().unwrap().is_finite(), "{out}");
    fails(
        &dir,
        &with(&["--out", "m.json", "--weight", "x", "--resume"]),
        2,
        "weight",
    );
    // The default weight is x2, and a resume with it named is the same fit.
    ok(&dir, &with(&["--out", "d.json"]));
    ok(
        &dir,
        &with(&["--out", "d.json", "--weight", "x2", "--resume"]),
    );
}

#[test]
fn bad_input_is_refused() {
    let dir = scratch("gsm-bad");
    write_data(&dir);
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
            "--out",
            "q.json",
        ],
    );
    let call = |extra: &[&str], code: i32, expected: &str| {
        let mut args = vec![
            "eval",
            "--model",
            "q.json",
            "--data",
            "x.csv",
            "--objective",
        ];
        args.extend_from_slice(extra);
        fails(&dir, &args, code, expected);
    };
    for bad in ["x3", "min:0", "min:-1", "min:inf", "min:", "min:abc", ""] {
        call(&["gsm", "--weight", bad], 2, "--weight");
    }
    call(&["esm", "--weight", "x"], 2, "--weight does not apply");
    fails(
        &dir,
        &[
            "eval",
            "--model",
            "q.json",
            "--data",
            "x.csv",
            "--quantity",
            "energy",
            "--weight",
            "x",
        ],
        2,
        "--weight does not apply",
    );
    fails(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "ssm",
            "--weight",
            "x",
            "--out",
            "n.json",
        ],
        2,
        "--weight",
    );
    fails(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "gsm",
            "--standardize",
            "--out",
            "n.json",
        ],
        2,
        "[0, ∞)",
    );
    fails(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "gsm",
            "--dequantize",
            "--out",
            "n.json",
        ],
        2,
        "[0, ∞)",
    );
    std::fs::write(dir.join("neg.csv"), "0.5,1.0\n0.0,2.0\n1.5,-0.25\n").unwrap();
    let first = fails(
        &dir,
        &[
            "eval",
            "--model",
            "q.json",
            "--data",
            "neg.csv",
            "--objective",
            "gsm",
        ],
        1,
        "[0, ∞)",
    );
    assert!(
        first.contains("neg.csv") && first.contains("field 2"),
        "{first}"
    );
    fails(
        &dir,
        &[
            "fit",
            "--data",
            "neg.csv",
            "--objective",
            "gsm",
            "--out",
            "n.json",
        ],
        1,
        "-0.25",
    );
    fails(
        &dir,
        &[
            "fit",
            "--data",
            "neg.csv",
            "--objective",
            "gsm",
            "--model",
            "quadratic",
            "--solver",
            "closed-form",
            "--out",
            "n.json",
        ],
        1,
        "[0, ∞)",
    );
    // A score model has no energy to take second derivatives of.
    ok(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "dsm",
            "--model",
            "mlp-score",
            "--hidden",
            "4",
            "--steps",
            "1",
            "--quiet",
            "--out",
            "s.json",
        ],
    );
    fails(
        &dir,
        &[
            "eval",
            "--model",
            "s.json",
            "--data",
            "x.csv",
            "--objective",
            "gsm",
        ],
        1,
        "score model",
    );
    assert!(!dir.join("n.json").exists());
}

#[test]
fn weight_text_round_trips() {
    for text in ["x2", "x", "min:1.5", "min:3"] {
        let weight: ScoreWeight = text.parse().unwrap();
        assert_eq!(weight.to_string(), text);
    }
}
