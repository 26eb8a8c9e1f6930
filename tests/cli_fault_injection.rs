//! Fault injection: a checkpointed fit is killed (SIGKILL, no chance to
//! clean up) at 12 seeded random moments, each time resumed from what it
//! left. After every kill the model, the checkpoint and the log that exist
//! must be complete and valid, and the log must hold updates 1, 2, … once
//! each; at the end the resumed fit must have written exactly the bytes of
//! an uninterrupted one, and no temporary files may be left.
#![cfg(all(feature = "cli", unix))]

mod cli_support;

use cli_support::{ok, scratch, temporaries, BIN};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KILLS: usize = 12;
/// Updates of the fit (a checkpoint every 2): a few seconds, mostly fsync.
const STEPS: u64 = 200;

fn fit_args(out: &str, log: &str, resume: bool) -> Vec<String> {
    let steps = STEPS.to_string();
    let mut args: Vec<String> = [
        "fit",
        "--data",
        "x.csv",
        "--objective",
        "ssm",
        "--hidden",
        "8",
        "--batch-size",
        "16",
        "--lr",
        "0.01",
        "--seed",
        "5",
        "--steps",
        &steps,
        "--checkpoint-every",
        "2",
        "--quiet",
        // The held-out report after the last update would take most of the
        // run's time, and the kills must fall among the updates.
        "--no-report",
        "--out",
        out,
        "--log",
        log,
    ]
    .map(String::from)
    .to_vec();
    if resume {
        args.push("--resume".into());
    }
    args
}

/// splitmix64: the seeded random moments.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Whatever of the model, checkpoint and log exists is whole and valid;
/// returns the checkpoint's step, if there is one.
fn check_files(dir: &Path, round: usize) -> Option<u64> {
    let model = dir.join("m.json");
    if model.exists() {
        scoretape::io::load_model(&model)
            .unwrap_or_else(|e| panic!("round {round}: the model is invalid: {e}"));
    }
    let checkpoint = dir.join("m.json.checkpoint.json");
    let checkpoint_step = if checkpoint.exists() {
        let text = fs::read_to_string(&checkpoint).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("round {round}: the checkpoint is invalid: {e}"));
        assert_eq!(value["format"], "scoretape-checkpoint", "round {round}");
        scoretape::io::model_from_json(&value["model"]).unwrap();
        value["state"]["step"].as_u64()
    } else {
        None
    };
    let log = dir.join("log.csv");
    if log.exists() {
        let text = fs::read_to_string(&log).unwrap();
        assert!(text.ends_with('\n'), "round {round}: a cut log: {text:?}");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("step,epoch,loss,validation_loss"));
        let steps: Vec<u64> = lines
            .map(|l| {
                assert_eq!(l.split(',').count(), 4, "round {round}: {l:?}");
                l.split(',').next().unwrap().parse().unwrap()
            })
            .collect();
        assert_eq!(
            steps,
            (1..=steps.len() as u64).collect::<Vec<_>>(),
            "round {round}"
        );
        // Written before the checkpoint, the log is never behind it.
        if let Some(step) = checkpoint_step {
            assert!(
                steps.len() as u64 >= step,
                "round {round}: log behind checkpoint"
            );
        }
    }
    // At most one killed write's temporary per file, and one probe.
    assert!(
        temporaries(dir).len() <= 4,
        "round {round}: {:?}",
        temporaries(dir)
    );
    checkpoint_step
}

/// The fit's model and log are byte for byte the uninterrupted fit's.
fn same_as_straight(dir: &Path) {
    assert_eq!(
        fs::read(dir.join("m.json")).unwrap(),
        fs::read(dir.join("straight.json")).unwrap(),
        "the resumed model differs from the uninterrupted one"
    );
    assert_eq!(
        fs::read(dir.join("log.csv")).unwrap(),
        fs::read(dir.join("straight.csv")).unwrap(),
        "the resumed log differs from the uninterrupted one"
    );
}

#[test]
fn a_fit_killed_at_random_moments_resumes_to_the_uninterrupted_result() {
    let dir = scratch("fault-injection");
    ok(
        &dir,
        &[
            "data",
            "two-moons",
            "--n",
            "300",
            "--seed",
            "4",
            "--out",
            "x.csv",
        ],
    );
    let start = Instant::now();
    let straight = fit_args("straight.json", "straight.csv", false);
    ok(
        &dir,
        &straight.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let duration = start.elapsed();

    let mut state = 20_261_201u64;
    let mut interrupted = 0;
    let mut steps_seen = std::collections::BTreeSet::new();
    for round in 0..KILLS {
        let checkpoint = check_files(&dir, round);
        let mut child = Command::new(BIN)
            .args(fit_args("m.json", "log.csv", checkpoint.is_some()))
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A moment within the expected rest of the run.
        let left = 1.0 - checkpoint.unwrap_or(0) as f64 / STEPS as f64;
        let span = (duration.as_micros() as f64 * left.max(0.05)) as u64;
        let wait = next(&mut state) % span.max(1);
        std::thread::sleep(Duration::from_micros(wait));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        steps_seen.extend(check_files(&dir, round));
        if status.success() {
            // It finished first: the result must be the uninterrupted one.
            // Start over, so that later kills fall mid-run again.
            same_as_straight(&dir);
            for name in ["m.json", "m.json.checkpoint.json", "log.csv"] {
                fs::remove_file(dir.join(name)).unwrap();
            }
        } else {
            interrupted += 1;
        }
    }
    // The kills fell at many moments, with the fit making progress between.
    assert!(
        interrupted >= KILLS / 2,
        "only {interrupted} runs were interrupted"
    );
    assert!(
        steps_seen.len() >= 3,
        "checkpoint steps seen: {steps_seen:?}"
    );
    let resume = dir.join("m.json.checkpoint.json").exists();
    let resume = fit_args("m.json", "log.csv", resume);
    ok(&dir, &resume.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(check_files(&dir, KILLS), Some(STEPS));
    same_as_straight(&dir);
    assert!(temporaries(&dir).is_empty(), "{:?}", temporaries(&dir));
    fs::remove_dir_all(&dir).unwrap();
}
