//! `fit` fails safely: a numerical failure exits 1 naming the update, the
//! reason and the file of last finite parameters (the same with and without
//! checkpoints), and `--resume` refuses a conflicting model, objective or
//! other data, and keeps the log holding every update exactly once.
#![cfg(feature = "cli")]

mod cli_support;

use cli_support::{fails, ok, run, scratch};
use scoretape::io::{load_model, AnyModel};
use std::fs;
use std::path::Path;

fn data(dir: &Path, name: &str, seed: &str) {
    ok(
        dir,
        &[
            "data",
            "two-moons",
            "--n",
            "80",
            "--seed",
            seed,
            "--out",
            name,
        ],
    );
}

/// A fit at a learning rate of 1e30 fails at the same update with the same
/// message and the same last finite parameters whether or not checkpoints
/// are written; `--out` is not written, the sibling file loads.
fn diverges_the_same_with_and_without_checkpoints(dir: &Path, base: &[&str]) {
    let plain = run(dir, &[base, &["--out", "a.json"]].concat());
    let checkpointed = run(
        dir,
        &[base, &["--out", "b.json", "--checkpoint-every", "1"]].concat(),
    );
    for (out, name) in [(&plain, "a.json"), (&checkpointed, "b.json")] {
        assert_eq!(out.code, 1, "{}", out.stderr);
        let line = out.stderr.lines().next().unwrap();
        assert!(line.contains("x.csv: the fit "), "{line}");
        assert!(line.contains(" at update "), "{line}");
        let sibling = format!("{name}.last-finite.json");
        assert!(line.contains(&sibling), "{line}");
        assert!(
            line.contains(&format!("({name} was not written)")),
            "{line}"
        );
        assert!(
            !dir.join(name).exists(),
            "--out was written by a failed fit"
        );
        let model = load_model(&dir.join(&sibling)).unwrap();
        assert!(model.params().values().iter().all(|t| t.all_finite()));
    }
    let strip = |s: &str| s.replace("b.json", "a.json");
    assert_eq!(strip(&checkpointed.stderr), plain.stderr);
    assert_eq!(
        fs::read(dir.join("a.json.last-finite.json")).unwrap(),
        fs::read(dir.join("b.json.last-finite.json")).unwrap()
    );
}

#[test]
fn a_quadratic_fit_at_a_huge_learning_rate_stops_and_writes_the_last_finite_parameters() {
    let dir = scratch("fit-diverge-quadratic");
    data(&dir, "x.csv", "1");
    let base = [
        "fit",
        "--data",
        "x.csv",
        "--objective",
        "esm",
        "--model",
        "quadratic",
        "--lr",
        "1e30",
        "--steps",
        "200",
        "--quiet",
    ];
    diverges_the_same_with_and_without_checkpoints(&dir, &base);
    let AnyModel::Quadratic(_) = load_model(&dir.join("a.json.last-finite.json")).unwrap() else {
        panic!("not the quadratic model");
    };
    fs::remove_dir_all(&dir).unwrap();
}

/// The example: an MLP whose loss stays finite but explodes. Needs
/// the training loop's divergence detection (a loss far above its early
/// scale is a failure).
#[test]
fn an_mlp_fit_at_a_huge_learning_rate_is_a_failure() {
    let dir = scratch("fit-diverge-mlp");
    data(&dir, "x.csv", "1");
    let base = [
        "fit",
        "--data",
        "x.csv",
        "--objective",
        "ssm",
        "--hidden",
        "8",
        "--lr",
        "1e30",
        "--steps",
        "200",
        "--quiet",
    ];
    diverges_the_same_with_and_without_checkpoints(&dir, &base);
    fs::remove_dir_all(&dir).unwrap();
}

fn fit_args(extra: &[&'static str]) -> Vec<&'static str> {
    let base = [
        "fit",
        "--data",
        "x.csv",
        "--objective",
        "ssm",
        "--hidden",
        "6",
        "--batch-size",
        "16",
        "--lr",
        "0.01",
        "--seed",
        "2",
        "--quiet",
        "--checkpoint-every",
        "5",
        "--out",
        "m.json",
        "--log",
        "log.csv",
    ];
    base.iter().chain(extra).copied().collect()
}

#[test]
fn resume_refuses_a_conflicting_model_objective_or_other_data() {
    let dir = scratch("fit-resume-conflicts");
    data(&dir, "x.csv", "1");
    data(&dir, "other.csv", "2");
    ok(&dir, &fit_args(&["--steps", "10"]));
    let swap = |from: &'static str, to: &'static str| -> Vec<&'static str> {
        fit_args(&["--steps", "20", "--resume"])
            .into_iter()
            .map(|a| if a == from { to } else { a })
            .collect()
    };
    fails(&dir, &swap("6", "7"), 2, "hidden = [6]");
    fails(&dir, &swap("ssm", "ssm-vr"), 2, "objective = \"ssm\"");
    let activation = fit_args(&["--steps", "20", "--resume", "--activation", "tanh"]);
    fails(&dir, &activation, 2, "activation = \"softplus\"");
    let mut model = swap("6", "6");
    model.extend(["--model", "mlp-score"]);
    fails(&dir, &model, 2, "model = \"mlp\"");
    let line = fails(&dir, &swap("x.csv", "other.csv"), 2, "other data");
    assert!(line.contains("--allow-other-data"), "{line}");
    // Nothing was changed by the refusals: a plain resume still works.
    let before = fs::read(dir.join("m.json.checkpoint.json")).unwrap();
    let mut allowed = swap("x.csv", "other.csv");
    allowed.push("--allow-other-data");
    assert_eq!(
        fs::read(dir.join("m.json.checkpoint.json")).unwrap(),
        before
    );
    ok(&dir, &allowed);
    let log = fs::read_to_string(dir.join("log.csv")).unwrap();
    let steps: Vec<u64> = log
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(steps, (1..=20).collect::<Vec<_>>());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_log_behind_or_ahead_of_the_checkpoint_resumes_to_every_update_once() {
    let dir = scratch("fit-resume-log");
    data(&dir, "x.csv", "1");
    ok(&dir, &fit_args(&["--steps", "20"]));
    let straight_model = fs::read(dir.join("m.json")).unwrap();
    let straight_log = fs::read_to_string(dir.join("log.csv")).unwrap();

    // Ahead: the log has updates 1–10, the checkpoint is at 5 (a kill
    // between the log's write and the checkpoint's).
    fs::remove_file(dir.join("m.json")).unwrap();
    ok(&dir, &fit_args(&["--steps", "5"]));
    let checkpoint_at_5 = fs::read(dir.join("m.json.checkpoint.json")).unwrap();
    ok(&dir, &fit_args(&["--steps", "10"]));
    fs::write(dir.join("m.json.checkpoint.json"), &checkpoint_at_5).unwrap();
    ok(&dir, &fit_args(&["--steps", "20", "--resume"]));
    assert_eq!(fs::read(dir.join("m.json")).unwrap(), straight_model);
    assert_eq!(
        fs::read_to_string(dir.join("log.csv")).unwrap(),
        straight_log
    );

    // Behind: a log that lacks updates the checkpoint has is refused,
    // naming the log, rather than resumed with a gap.
    let short: String = straight_log
        .lines()
        .take(3)
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(dir.join("log.csv"), short).unwrap();
    fs::write(dir.join("m.json.checkpoint.json"), &checkpoint_at_5).unwrap();
    fails(
        &dir,
        &fit_args(&["--steps", "20", "--resume"]),
        1,
        "log.csv: the log does not hold updates 1 to 5",
    );
    fs::remove_dir_all(&dir).unwrap();
}
