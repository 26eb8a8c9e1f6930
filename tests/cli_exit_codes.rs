//! The command line keeps its documented exit codes: 2 for every bad value
//! and every option that does not apply, 1 with "would need N GB" for a
//! request too large to hold (before allocating, so even under a memory
//! limit), and clear messages: a byte-order mark is accepted, numbers are
//! short, a corrupt checkpoint is blamed, a plot of a non-finite density is
//! refused, numerical failures name the file.
#![cfg(all(feature = "cli", unix))]

mod cli_support;

use cli_support::{fails, ok, scratch, BIN};
use std::fs;
use std::path::Path;
use std::process::Command;

fn setup(name: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    ok(
        &dir,
        &[
            "data",
            "two-moons",
            "--n",
            "60",
            "--seed",
            "1",
            "--out",
            "x.csv",
        ],
    );
    ok(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "ssm",
            "--hidden",
            "4",
            "--steps",
            "3",
            "--quiet",
            "--out",
            "m.json",
        ],
    );
    dir
}

#[test]
fn every_bad_value_exits_2() {
    let dir = setup("exit-bad-values");
    let fit = [
        "fit",
        "--data",
        "x.csv",
        "--objective",
        "ssm",
        "--quiet",
        "--out",
        "n.json",
    ];
    let with = |base: &[&'static str], extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().chain(extra).copied().collect()
    };
    let sample = ["sample", "--model", "m.json", "--n", "3"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["bench", "--calls", "0"], "--calls"),
        (vec!["bench", "--dim", "0"], "--dim"),
        (vec!["bench", "--min-time", "-1"], "-1"),
        (vec!["bench", "--min-time=-1"], "--min-time"),
        (vec!["bench", "--min-time", "nan"], "--min-time"),
        (vec!["bench", "--min-time", "inf"], "--min-time"),
        (
            with(
                &sample,
                &[
                    "--sampler",
                    "annealed",
                    "--sigma-min",
                    "2",
                    "--sigma-max",
                    "1",
                ],
            ),
            "--sigma-min",
        ),
        (
            with(&sample, &["--sampler", "annealed", "--levels", "1"]),
            "--levels",
        ),
        (
            with(&fit, &["--epochs", "18446744073709551615"]),
            "--epochs",
        ),
        (
            with(&fit, &["--epochs", "18446744073709551616"]),
            "--epochs",
        ),
        (with(&fit, &["--lr", "nan"]), "--lr"),
        (with(&fit, &["--hidden", "0"]), "--hidden"),
        (with(&fit, &["--batch-size", "0"]), "--batch-size"),
    ];
    for (args, expected) in cases {
        fails(&dir, &args, 2, expected);
    }
    assert!(!dir.join("n.json").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_option_that_does_not_apply_is_refused() {
    let dir = setup("exit-inapplicable");
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "eval",
                "--model",
                "m.json",
                "--data",
                "x.csv",
                "--quantity",
                "energy",
                "--grad",
            ],
            "--grad does not apply",
        ),
        (
            &[
                "eval",
                "--model",
                "m.json",
                "--data",
                "x.csv",
                "--objective",
                "esm",
                "--sigma",
                "1",
            ],
            "--sigma does not apply",
        ),
        (
            &[
                "eval",
                "--model",
                "m.json",
                "--data",
                "x.csv",
                "--quantity",
                "trace",
                "--vectors",
                "x.csv",
            ],
            "--vectors does not apply",
        ),
        (
            &[
                "fit",
                "--data",
                "x.csv",
                "--objective",
                "esm",
                "--projections",
                "4",
                "--out",
                "n.json",
            ],
            "--projections does not apply",
        ),
        (
            &[
                "fit",
                "--data",
                "x.csv",
                "--objective",
                "ssm",
                "--model",
                "quadratic",
                "--hidden",
                "8",
                "--out",
                "n.json",
            ],
            "--hidden does not apply",
        ),
        (
            &[
                "fit",
                "--data",
                "x.csv",
                "--objective",
                "ssm",
                "--sigma-conditioned",
                "--out",
                "n.json",
            ],
            "--sigma-conditioned does not apply",
        ),
        (
            &[
                "fit",
                "--data",
                "x.csv",
                "--objective",
                "ssm",
                "--allow-other-data",
                "--out",
                "n.json",
            ],
            "--allow-other-data does not apply",
        ),
        (
            &["sample", "--model", "m.json", "--n", "3", "--levels", "4"],
            "--levels does not apply",
        ),
        (
            &[
                "sample",
                "--model",
                "m.json",
                "--n",
                "3",
                "--sampler",
                "gibbs",
                "--step-size",
                "0.1",
            ],
            "--step-size does not apply",
        ),
        (
            &["data", "two-moons", "--n", "3", "--side", "5"],
            "--side does not apply",
        ),
    ];
    for (args, expected) in cases {
        fails(&dir, args, 2, expected);
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// Runs the binary under a 2 GiB address-space limit, so that an allocation
/// that was not checked first aborts (exit 134) instead of succeeding.
fn under_memory_limit(dir: &Path, args: &str) -> (i32, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v 2097152 && exec \"$0\" {args}"))
        .arg(BIN)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn oversized_requests_exit_1_with_the_size_before_allocating() {
    let dir = setup("exit-oversized");
    let fit = "fit --data x.csv --objective ssm --quiet --steps 2 --out n.json";
    let cases = [
        format!("{fit} --hidden 100000,100000"),
        format!("{fit} --hidden 18446744073709551615"),
        format!("{fit} --projections 100000000"),
        "sample --model m.json --n 10000000000".to_string(),
        "data two-moons --n 10000000000".to_string(),
        "data bars-and-stripes --n 10 --side 100000".to_string(),
        "bench --dim 100000000 --calls 1 --min-time 0".to_string(),
    ];
    for args in cases {
        let (code, stderr) = under_memory_limit(&dir, &args);
        assert_eq!(code, 1, "{args}: {stderr}");
        assert!(stderr.starts_with("error: would need "), "{args}: {stderr}");
        assert!(
            stderr.contains(" GB for ")
                || stderr.contains(" TB for ")
                || stderr.contains(" EB for "),
            "{args}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{args}: {stderr}");
    }
    assert!(!dir.join("n.json").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_byte_order_mark_is_accepted_in_csv_and_json() {
    let dir = setup("exit-bom");
    let mut csv = b"\xef\xbb\xbf".to_vec();
    csv.extend(fs::read(dir.join("x.csv")).unwrap());
    fs::write(dir.join("bom.csv"), csv).unwrap();
    let mut json = b"\xef\xbb\xbf".to_vec();
    json.extend(fs::read(dir.join("m.json")).unwrap());
    fs::write(dir.join("bom.json"), json).unwrap();
    let plain = ok(
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
    );
    let marked = ok(
        &dir,
        &[
            "eval",
            "--model",
            "bom.json",
            "--data",
            "bom.csv",
            "--quantity",
            "energy",
        ],
    );
    assert_eq!(plain, marked);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn messages_print_numbers_short_and_blame_the_right_file() {
    let dir = setup("exit-messages");
    // A tiny non-binary value for ratio matching: printed as 1e-300.
    fs::write(dir.join("tiny.csv"), "0,1\n1,1e-300\n0,0\n1,0\n").unwrap();
    let line = fails(
        &dir,
        &[
            "fit",
            "--data",
            "tiny.csv",
            "--objective",
            "rm",
            "--model",
            "boltzmann",
            "--out",
            "b.json",
        ],
        1,
        "tiny.csv:2",
    );
    assert!(line.contains("1e-300"), "{line}");
    assert!(line.len() < 200, "{line}");

    // A checkpoint whose optimiser buffers do not fit its model is blamed,
    // not the data file.
    let fit = |steps: &'static str, resume: bool| -> Vec<&'static str> {
        let mut args = vec![
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "ssm",
            "--hidden",
            "4",
            "--steps",
            steps,
            "--checkpoint-every",
            "2",
            "--quiet",
            "--out",
            "c.json",
        ];
        if resume {
            args.push("--resume");
        }
        args
    };
    ok(&dir, &fit("4", false));
    let path = dir.join("c.json.checkpoint.json");
    let mut value: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    value["state"]["optimizer"]["buffers"][0]["shape"] = serde_json::json!([1, 1]);
    value["state"]["optimizer"]["buffers"][0]["data"] = serde_json::json!([0.5]);
    fs::write(&path, value.to_string()).unwrap();
    let resume = fit("6", true);
    let line = fails(&dir, &resume, 1, "c.json.checkpoint.json");
    assert!(line.contains("buffers[0]"), "{line}");
    fs::write(&path, "{\"format\": \"scoretape-checkpoint\", ").unwrap();
    fails(&dir, &resume, 1, "c.json.checkpoint.json:1");

    // A model whose density overflows on the grid is not drawn.
    fs::write(
        dir.join("huge.json"),
        r#"{"format": "scoretape-model", "version": 1, "kind": "quadratic",
            "mean": [1e200, 0.0], "cholesky": [[1e200, 0.0], [0.0, 1.0]]}"#,
    )
    .unwrap();
    fails(
        &dir,
        &["plot", "--model", "huge.json", "--out", "p.svg"],
        1,
        "huge.json: the density",
    );
    assert!(!dir.join("p.svg").exists());

    // A non-finite quantity names the model and the data.
    let line = fails(
        &dir,
        &[
            "eval",
            "--model",
            "huge.json",
            "--data",
            "x.csv",
            "--quantity",
            "energy",
        ],
        1,
        "huge.json",
    );
    assert!(line.contains("x.csv"), "{line}");
    // So do samples and denoised values that are not finite.
    fails(
        &dir,
        &["sample", "--model", "huge.json", "--n", "3", "--steps", "2"],
        1,
        "huge.json",
    );
    fails(
        &dir,
        &[
            "denoise",
            "--model",
            "huge.json",
            "--data",
            "x.csv",
            "--sigma",
            "0.1",
        ],
        1,
        "huge.json",
    );
    fs::remove_dir_all(&dir).unwrap();
}
