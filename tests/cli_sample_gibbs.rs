//! `scoretape sample` on a Boltzmann machine, through the real binary: Gibbs
//! sampling is its default and matches exact enumeration; the Langevin
//! samplers refuse it, and Gibbs sampling refuses a continuous model.
#![cfg(feature = "cli")]

use scoretape::io::{read_csv, save_model, AnyModel};
use scoretape::model::{Boltzmann, QuadraticEnergy};
use scoretape::Tensor;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_scoretape");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scoretape-gibbs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary in `dir`: exit code and standard error.
fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().expect("exited normally"),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A 3-bit machine with couplings of both signs, saved as `bits.json`.
fn machine(dir: &Path) -> Boltzmann<f64> {
    let w = Tensor::from_rows(&[
        vec![0.0, 1.2, -0.7],
        vec![1.2, 0.0, 0.4],
        vec![-0.7, 0.4, 0.0],
    ])
    .unwrap();
    let model = Boltzmann::from_parts(&w, &Tensor::vector(&[-0.3, 0.5, 0.1])).unwrap();
    save_model(&dir.join("bits.json"), &AnyModel::Boltzmann(model.clone())).unwrap();
    model
}

#[test]
fn gibbs_is_the_default_sampler_of_a_boltzmann_machine_and_matches_enumeration() {
    let dir = scratch("default");
    let model = machine(&dir);
    let n = 40_000;
    let common = [
        "sample",
        "--model",
        "bits.json",
        "--n",
        "40000",
        "--steps",
        "20",
        "--seed",
        "3",
    ];
    let (code, stderr) = run(&dir, &[&common[..], &["--out", "default.csv"]].concat());
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = run(
        &dir,
        &[&common[..], &["--sampler", "gibbs", "--out", "gibbs.csv"]].concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    let default = std::fs::read(dir.join("default.csv")).unwrap();
    assert_eq!(
        default,
        std::fs::read(dir.join("gibbs.csv")).unwrap(),
        "same seed, same samples"
    );

    let samples: Tensor<f64> = read_csv(&dir.join("default.csv")).unwrap();
    assert_eq!(samples.shape(), &[n, 3]);
    let mut counts = [0usize; 8];
    for row in samples.data().chunks(3) {
        assert!(
            row.iter().all(|&b| b == 0.0 || b == 1.0),
            "{row:?} is not a state of bits"
        );
        counts[row.iter().fold(0, |s, &b| (s << 1) | (b == 1.0) as usize)] += 1;
    }
    let p = model.exact_probabilities().unwrap();
    let tv = 0.5
        * counts
            .iter()
            .zip(p.data())
            .map(|(&c, &q)| (c as f64 / n as f64 - q).abs())
            .sum::<f64>();
    // E[TV] ≤ √(2^d/(2πn)) = 0.0056 for exact draws (see tests/sample_gibbs.rs,
    // which checks the 1/√n law itself); twice that is not reached by chance.
    let bound = 2.0 * (8.0 / (2.0 * std::f64::consts::PI * n as f64)).sqrt();
    assert!(tv < bound, "TV {tv} ≥ {bound}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_langevin_samplers_refuse_a_boltzmann_machine() {
    let dir = scratch("refuse");
    machine(&dir);
    for sampler in ["langevin", "mala", "annealed"] {
        let (code, stderr) = run(
            &dir,
            &[
                "sample",
                "--model",
                "bits.json",
                "--n",
                "5",
                "--sampler",
                sampler,
                "--out",
                "s.csv",
            ],
        );
        assert_eq!(code, 1, "{sampler}: {stderr}");
        let line = stderr.lines().next().unwrap_or_default();
        assert!(
            line.starts_with("error: ")
                && line.contains(sampler)
                && line.contains("binary data")
                && line.contains("--sampler gibbs"),
            "{sampler}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!dir.join("s.csv").exists(), "{sampler} wrote samples");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gibbs_sampling_refuses_a_continuous_model() {
    let dir = scratch("continuous");
    let model = QuadraticEnergy::new(2).unwrap();
    save_model(&dir.join("gauss.json"), &AnyModel::Quadratic(model)).unwrap();
    let (code, stderr) = run(
        &dir,
        &[
            "sample",
            "--model",
            "gauss.json",
            "--n",
            "5",
            "--sampler",
            "gibbs",
            "--out",
            "s.csv",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.starts_with("error: the gibbs sampler needs a Boltzmann machine"),
        "{stderr}"
    );
    assert!(!dir.join("s.csv").exists());
    // Without --sampler a continuous model still gets Langevin.
    let (code, stderr) = run(
        &dir,
        &[
            "sample",
            "--model",
            "gauss.json",
            "--n",
            "5",
            "--steps",
            "3",
            "--out",
            "s.csv",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
