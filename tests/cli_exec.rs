//! The command line on the execution layer: `scoretape fit` runs the same
//! update as the library's `fit_model` (and so as the bench's `train-*`
//! workloads), `--threads` is validated and changes results only by rounding,
//! the Boltzmann machine refuses the continuous objectives, and 0/1 data under
//! a score-matching objective get a warning.
#![cfg(feature = "cli")]

use core::ops::ControlFlow;
use scoretape::io::{load_model, read_csv, write_csv, AnyModel};
use scoretape::model::{Activation, MlpEnergy, Model};
use scoretape::objective::{Objective, ProjectionKind, SlicedVariant};
use scoretape::optim::Adam;
use scoretape::random::{bernoulli_tensor, normal_tensor, seeded};
use scoretape::train::{fit_model, Budget, FitConfig};
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
        std::env::temp_dir().join(format!("scoretape-cli-exec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mlp(dir: &Path, file: &str) -> MlpEnergy<f64> {
    match load_model(&dir.join(file)).unwrap() {
        AnyModel::MlpEnergy(m) => m,
        other => panic!("expected an MLP energy, got {:?}", other.kind()),
    }
}

/// Three updates of `scoretape fit` and of `fit_model` with the same model,
/// data (read back from the CSV the program reads), objective, seed and
/// Adam: bit-identical parameters.
#[test]
fn cli_fit_runs_the_library_update() {
    let dir = scratch("same-step");
    write_csv(
        &dir.join("x.csv"),
        &normal_tensor::<f64, _>(&[48, 3], &mut seeded(1)),
    )
    .unwrap();
    let data = read_csv::<f64>(&dir.join("x.csv")).unwrap();
    let cases = [
        (
            "ssm",
            Objective::Sliced {
                kind: ProjectionKind::Gaussian,
                count: 1,
                variant: SlicedVariant::Standard,
            },
        ),
        ("esm", Objective::exact()),
        ("dsm", Objective::denoising(0.1)),
    ];
    for (name, objective) in cases {
        let out = format!("{name}.json");
        // dsm's σ is given: the CLI's default adapts to the data.
        let sigma: &[&str] = if name == "dsm" {
            &["--sigma", "0.1"]
        } else {
            &[]
        };
        let (code, _, stderr) = run(
            &dir,
            &[
                &[
                    "fit",
                    "--data",
                    "x.csv",
                    "--objective",
                    name,
                    "--hidden",
                    "8,8",
                    "--steps",
                    "3",
                    "--batch-size",
                    "16",
                    "--validation",
                    "0",
                    "--seed",
                    "4",
                    "--lr",
                    "0.01",
                    "--quiet",
                    "--threads",
                    "2",
                    "--out",
                    &out,
                ][..],
                sigma,
            ]
            .concat(),
        );
        assert_eq!(code, 0, "{stderr}");
        let mut model = MlpEnergy::new(3, &[8, 8], Activation::Softplus, 4).unwrap();
        let config = FitConfig {
            batch_size: 16,
            budget: Budget::Steps(3),
            seed: 4,
            threads: Some(2),
            ..FitConfig::default()
        };
        fit_model(
            &mut model,
            &objective,
            &mut Adam::new(0.01),
            &data,
            &config,
            |_| ControlFlow::Continue(()),
        )
        .unwrap();
        assert_eq!(mlp(&dir, &out).params(), model.params(), "{name}");
    }
}

#[test]
fn threads_are_validated_and_change_results_only_by_rounding() {
    let dir = scratch("threads");
    write_csv(
        &dir.join("x.csv"),
        &normal_tensor::<f64, _>(&[40, 2], &mut seeded(2)),
    )
    .unwrap();
    for bad in ["0", "two", "-1", ""] {
        let option = format!("--threads={bad}");
        let (code, _, stderr) = run(
            &dir,
            &[
                &option,
                "fit",
                "--data",
                "x.csv",
                "--objective",
                "esm",
                "--out",
                "m.json",
            ],
        );
        assert_eq!(code, 2, "--threads {bad:?}: {stderr}");
        assert!(stderr.contains("--threads"), "{stderr}");
    }
    assert!(!dir.join("m.json").exists());
    let fit = |threads: &str, out: &str| {
        let (code, _, stderr) = run(
            &dir,
            &[
                "fit",
                "--data",
                "x.csv",
                "--objective",
                "esm",
                "--hidden",
                "6",
                "--steps",
                "5",
                "--batch-size",
                "40",
                "--validation",
                "0",
                "--quiet",
                "--threads",
                threads,
                "--out",
                out,
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        mlp(&dir, out)
    };
    let (one, three) = (fit("1", "one.json"), fit("3", "three.json"));
    for (a, b) in one.params().values().iter().zip(three.params().values()) {
        assert!(a.max_abs_diff(b) < 1e-9, "{}", a.max_abs_diff(b));
    }
    // The option is global: it may follow the subcommand too.
    let (code, stdout, _) = run(
        &dir,
        &[
            "eval",
            "--model",
            "one.json",
            "--data",
            "x.csv",
            "--objective",
            "esm",
            "--threads",
            "2",
        ],
    );
    assert_eq!(code, 0);
    assert!(stdout.contains("\"loss\""), "{stdout}");
}

#[test]
fn boltzmann_machines_refuse_continuous_objectives_and_bits_get_a_warning() {
    let dir = scratch("binary");
    write_csv(
        &dir.join("bits.csv"),
        &bernoulli_tensor::<f64, _>(&[30, 4], 0.5, &mut seeded(3)),
    )
    .unwrap();
    for objective in ["esm", "ssm", "ssm-vr", "dsm"] {
        let (code, _, stderr) = run(
            &dir,
            &[
                "fit",
                "--data",
                "bits.csv",
                "--model",
                "boltzmann",
                "--objective",
                objective,
                "--steps",
                "2",
                "--quiet",
                "--out",
                "b.json",
            ],
        );
        assert_eq!(code, 1, "{objective}: {stderr}");
        assert!(stderr.contains("ratio matching"), "{objective}: {stderr}");
        assert!(!dir.join("b.json").exists());
    }
    let (code, _, stderr) = run(
        &dir,
        &[
            "fit",
            "--data",
            "bits.csv",
            "--model",
            "boltzmann",
            "--objective",
            "rm",
            "--steps",
            "2",
            "--quiet",
            "--out",
            "b.json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let (code, _, stderr) = run(
        &dir,
        &[
            "fit",
            "--data",
            "bits.csv",
            "--objective",
            "ssm",
            "--hidden",
            "4",
            "--steps",
            "2",
            "--quiet",
            "--out",
            "m.json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.starts_with("warning: ") && stderr.contains("--objective rm"),
        "{stderr}"
    );
}

#[test]
fn bench_times_a_training_step() {
    let dir = scratch("bench");
    let (code, stdout, stderr) = run(
        &dir,
        &[
            "bench",
            "--workload",
            "train-esm",
            "--size",
            "S",
            "--json",
            "--calls",
            "3",
            "--warmup",
            "1",
            "--min-time",
            "0.01",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["workload"], "train-esm");
    assert!(line["median_s"].as_f64().unwrap() > 0.0);
    assert!(line["peak_rss_mb"].as_f64().unwrap() > 0.0);
}
