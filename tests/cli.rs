//! The `scoretape` binary end to end: fit → eval → sample on Gaussian data
//! against closed forms, bit-identical resumption and evaluation, and one
//! clear error line with the right exit code for every kind of bad input.
#![cfg(feature = "cli")]
// Index loops read as the matrix formulas they check.
#![allow(clippy::needless_range_loop)]

use scoretape::io::{load_model, read_csv, write_csv, AnyModel};
use scoretape::random::{normal_tensor, seeded};
use scoretape::Tensor;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_scoretape");

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Output {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert_eq!(out.code, 0, "{args:?} failed: {}", out.stderr);
    out.stdout
}

/// Runs a command that must fail: checks the exit code and that standard
/// error is one line containing `expected`.
fn fails(dir: &Path, args: &[&str], code: i32, expected: &str) {
    let out = run(dir, args);
    assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
    let first = out.stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{args:?}: {:?}", out.stderr);
    assert!(
        first.contains(expected),
        "{args:?}: {first:?} should contain {expected:?}"
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    if code == 1 {
        assert_eq!(out.stderr.lines().count(), 1, "{:?}", out.stderr);
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scoretape-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const MEAN: [f64; 2] = [1.0, -2.0];
/// Cholesky factor of the data covariance [[1, 0.5], [0.5, 0.74]].
const FACTOR: [[f64; 2]; 2] = [[1.0, 0.0], [0.5, 0.7]];

/// N(MEAN, FACTOR·FACTORᵀ) samples, `[n, 2]`.
fn gaussian(n: usize, seed: u64) -> Tensor<f64> {
    let z = normal_tensor::<f64, _>(&[n, 2], &mut seeded(seed));
    Tensor::from_fn(&[n, 2], |k| {
        let (i, j) = (k / 2, k % 2);
        MEAN[j] + FACTOR[j][0] * z.get(&[i, 0]) + FACTOR[j][1] * z.get(&[i, 1])
    })
}

/// Mean and (1/N) covariance of the rows.
fn moments(x: &Tensor<f64>) -> ([f64; 2], [[f64; 2]; 2]) {
    let n = x.shape()[0] as f64;
    let mut mean = [0.0; 2];
    for j in 0..2 {
        mean[j] = (0..x.shape()[0]).map(|i| x.get(&[i, j])).sum::<f64>() / n;
    }
    let mut cov = [[0.0; 2]; 2];
    for (a, row) in cov.iter_mut().enumerate() {
        for (b, c) in row.iter_mut().enumerate() {
            *c = (0..x.shape()[0])
                .map(|i| (x.get(&[i, a]) - mean[a]) * (x.get(&[i, b]) - mean[b]))
                .sum::<f64>()
                / n;
        }
    }
    (mean, cov)
}

fn inverse(m: [[f64; 2]; 2]) -> [[f64; 2]; 2] {
    let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    [
        [m[1][1] / det, -m[0][1] / det],
        [-m[1][0] / det, m[0][0] / det],
    ]
}

fn quadratic(path: &Path) -> scoretape::model::QuadraticEnergy<f64> {
    match load_model(path).unwrap() {
        AnyModel::Quadratic(q) => q,
        other => panic!("expected a quadratic model, got {:?}", other.kind()),
    }
}

#[test]
fn fit_eval_sample_on_a_gaussian_match_the_closed_forms() {
    let dir = scratch("gaussian");
    let x = gaussian(500, 1);
    write_csv(&dir.join("x.csv"), &x).unwrap();
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
            "--steps",
            "600",
            "--lr",
            "0.05",
            "--batch-size",
            "500",
            "--validation",
            "0",
            "--quiet",
            "--out",
            "q.json",
        ],
    );
    // Exact score matching on a Gaussian model is minimised at the sample
    // mean and the inverse of the (1/N) sample covariance.
    let (mean, cov) = moments(&x);
    let precision = inverse(cov);
    let model = quadratic(&dir.join("q.json"));
    for j in 0..2 {
        assert!(
            (model.mean().data()[j] - mean[j]).abs() < 1e-3,
            "{:?}",
            model.mean()
        );
    }
    for a in 0..2 {
        for b in 0..2 {
            let got = model.precision().get(&[a, b]);
            assert!(
                (got - precision[a][b]).abs() < 1e-2,
                "P[{a}{b}] = {got} vs {}",
                precision[a][b]
            );
        }
    }
    // eval: the energy is ½(x-μ)ᵀP(x-μ) and the loss gradient vanishes at the optimum.
    let energies: serde_json::Value = serde_json::from_str(&ok(
        &dir,
        &[
            "eval",
            "--model",
            "q.json",
            "--data",
            "x.csv",
            "--quantity",
            "energy",
        ],
    ))
    .unwrap();
    assert_eq!(energies["quantity"], "energy");
    let p = model.precision();
    for i in [0, 17, 499] {
        let r = [
            x.get(&[i, 0]) - model.mean().data()[0],
            x.get(&[i, 1]) - model.mean().data()[1],
        ];
        let expected = 0.5
            * (r[0] * r[0] * p.get(&[0, 0])
                + 2.0 * r[0] * r[1] * p.get(&[0, 1])
                + r[1] * r[1] * p.get(&[1, 1]));
        let got = energies["values"][i].as_f64().unwrap();
        assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    }
    let loss: serde_json::Value = serde_json::from_str(&ok(
        &dir,
        &[
            "eval",
            "--model",
            "q.json",
            "--data",
            "x.csv",
            "--objective",
            "esm",
            "--grad",
        ],
    ))
    .unwrap();
    for g in loss["grad"]["mean"].as_array().unwrap() {
        assert!(g.as_f64().unwrap().abs() < 1e-3, "{loss}");
    }
    // sample: MALA leaves the fitted Gaussian invariant.
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
            "100",
            "--step-size",
            "0.2",
            "--seed",
            "5",
            "--out",
            "s.csv",
        ],
    );
    let s = read_csv::<f64>(&dir.join("s.csv")).unwrap();
    assert_eq!(s.shape(), &[4000, 2]);
    let (sample_mean, sample_cov) = moments(&s);
    // Standard errors with 4000 draws: about 0.016 for the means, 0.025 for
    // the covariances; allow 5 of them.
    for j in 0..2 {
        assert!(
            (sample_mean[j] - mean[j]).abs() < 0.08,
            "{sample_mean:?} vs {mean:?}"
        );
    }
    for a in 0..2 {
        for b in 0..2 {
            assert!(
                (sample_cov[a][b] - cov[a][b]).abs() < 0.12,
                "{sample_cov:?} vs {cov:?}"
            );
        }
    }
}

#[test]
fn a_resumed_fit_ends_at_the_same_parameters_as_an_uninterrupted_one() {
    let dir = scratch("resume");
    write_csv(&dir.join("x.csv"), &gaussian(120, 2)).unwrap();
    let common = [
        "fit",
        "--data",
        "x.csv",
        "--objective",
        "ssm",
        "--model",
        "mlp",
        "--hidden",
        "8",
        "--batch-size",
        "32",
        "--lr",
        "0.01",
        "--seed",
        "3",
        "--quiet",
        "--checkpoint-every",
        "7",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        common.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let args = with(&[
        "--steps",
        "30",
        "--out",
        "straight.json",
        "--log",
        "straight.csv",
    ]);
    ok(&dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let args = with(&["--steps", "12", "--out", "cut.json", "--log", "cut.csv"]);
    ok(&dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let args = with(&[
        "--steps", "30", "--out", "cut.json", "--log", "cut.csv", "--resume",
    ]);
    ok(&dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    assert_eq!(read("straight.json"), read("cut.json"));
    assert_eq!(read("straight.csv"), read("cut.csv"));
    assert_eq!(read("straight.csv").lines().count(), 31);
    // A resume with other settings is refused.
    let args = with(&["--steps", "40", "--out", "cut.json", "--resume"]);
    let args: Vec<&str> = args
        .iter()
        .map(|a| if a == "0.01" { "0.02" } else { a.as_str() })
        .collect();
    fails(&dir, &args, 2, "the checkpoint was made with lr = 0.01");
}

#[test]
fn eval_with_explicit_draws_is_reproducible_and_sliced_on_the_axes_is_exact() {
    let dir = scratch("eval");
    write_csv(&dir.join("x.csv"), &gaussian(6, 3)).unwrap();
    ok(
        &dir,
        &[
            "fit",
            "--data",
            "x.csv",
            "--objective",
            "esm",
            "--hidden",
            "5",
            "--steps",
            "3",
            "--batch-size",
            "6",
            "--validation",
            "0",
            "--quiet",
            "--out",
            "m.json",
        ],
    );
    // Projections √2·e₁, √2·e₂ for each sample, sample-major.
    let r = std::f64::consts::SQRT_2;
    let axes: Vec<Vec<f64>> = (0..6).flat_map(|_| [vec![r, 0.0], vec![0.0, r]]).collect();
    write_csv(&dir.join("v.csv"), &Tensor::from_rows(&axes).unwrap()).unwrap();
    write_csv(
        &dir.join("eps.csv"),
        &normal_tensor::<f64, _>(&[6, 2], &mut seeded(4)),
    )
    .unwrap();
    let eval = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["eval", "--model", "m.json", "--data", "x.csv"];
        all.extend_from_slice(args);
        serde_json::from_str(&ok(&dir, &all)).unwrap()
    };
    let exact = eval(&["--objective", "esm"])["loss"].as_f64().unwrap();
    let sliced = eval(&["--objective", "ssm", "--projections", "v.csv"])["loss"]
        .as_f64()
        .unwrap();
    assert!(
        (exact - sliced).abs() < 1e-12 * exact.abs().max(1.0),
        "{exact} vs {sliced}"
    );
    for args in [
        &["--objective", "ssm", "--projections", "v.csv", "--grad"][..],
        &[
            "--objective",
            "dsm",
            "--noise",
            "eps.csv",
            "--sigma",
            "0.3",
            "--grad",
        ][..],
    ] {
        let mut all = vec!["eval", "--model", "m.json", "--data", "x.csv"];
        all.extend_from_slice(args);
        let first = ok(&dir, &all);
        assert_eq!(first, ok(&dir, &all));
        let json: serde_json::Value = serde_json::from_str(&first).unwrap();
        assert_eq!(json["grad"]["layers"].as_array().unwrap().len(), 2);
        assert_eq!(
            json["grad"]["layers"][0]["weight"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
    }
    // Other noise gives another loss.
    let a = eval(&["--objective", "dsm", "--noise", "eps.csv"])["loss"].clone();
    let b = eval(&["--objective", "dsm", "--seed", "9"])["loss"].clone();
    assert_ne!(a, b);
}

#[test]
fn every_bad_input_gives_one_clear_error_line_and_exit_code() {
    let dir = scratch("errors");
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write("good.csv", "0.1,0.2\n0.3,0.4\n0.5,0.6\n");
    write("ragged.csv", "0.1,0.2\n0.3\n");
    write("text.csv", "0.1,0.2\n0.3,abc\n");
    write("nan.csv", "0.1,0.2\n0.3,0.4\nnan,1\n");
    write("inf.csv", "0.1,-inf\n");
    write("empty.csv", "");
    write("three.csv", "1,2,3\n4,5,6\n");
    write("bits.csv", "0,1\n1,0.5\n");
    let model = r#"{"format": "scoretape-model", "version": 1, "kind": "mlp-energy",
        "activation": "softplus", "layers": [{"weight": [[1.0, 2.0]], "bias": [0.0]}]}"#;
    write("m.json", model);
    write("relu.json", &model.replace("softplus", "relu"));
    write(
        "shapes.json",
        &model.replace("[[1.0, 2.0]]", "[[1.0, 2.0], [3.0]]"),
    );
    let eval = |data: &str, model: &str| -> Vec<String> {
        [
            "eval",
            "--model",
            model,
            "--data",
            data,
            "--objective",
            "esm",
        ]
        .map(String::from)
        .to_vec()
    };
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (eval("missing.csv", "m.json"), 1, "missing.csv: cannot read"),
        (
            eval("ragged.csv", "m.json"),
            1,
            "ragged.csv:2: row has 1 field, expected 2",
        ),
        (
            eval("text.csv", "m.json"),
            1,
            "text.csv:2: field 2 is \"abc\", not a number",
        ),
        (
            eval("nan.csv", "m.json"),
            1,
            "nan.csv:3: field 1 is nan, but values must be finite",
        ),
        (eval("inf.csv", "m.json"), 1, "inf.csv:1: field 2 is -inf"),
        (eval("empty.csv", "m.json"), 1, "empty.csv: no data rows"),
        (
            eval("good.csv", "missing.json"),
            1,
            "missing.json: cannot read",
        ),
        (
            eval("good.csv", "relu.json"),
            1,
            "relu.json: unknown activation \"relu\"",
        ),
        (
            eval("good.csv", "shapes.json"),
            1,
            "shapes.json: layers[0].weight[1] has 1 entries",
        ),
        (
            eval("three.csv", "m.json"),
            1,
            "three.csv: data has 3 columns but the model m.json takes 2",
        ),
    ];
    for (args, code, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&dir, &args, code, expected);
    }
    fails(
        &dir,
        &[
            "eval",
            "--model",
            "m.json",
            "--data",
            "bits.csv",
            "--objective",
            "rm",
        ],
        1,
        "bits.csv:2: field 2 is 0.5, but ratio matching needs binary (0/1) data",
    );
    fails(
        &dir,
        &[
            "fit",
            "--data",
            "bits.csv",
            "--objective",
            "rm",
            "--out",
            "o.json",
        ],
        1,
        "bits.csv:2: field 2 is 0.5",
    );
    fails(
        &dir,
        &[
            "eval",
            "--model",
            "m.json",
            "--data",
            "good.csv",
            "--objective",
            "dsm",
            "--sigma",
            "0",
        ],
        2,
        "invalid value '0' for '--sigma <SIGMA>'",
    );
    fails(
        &dir,
        &[
            "denoise",
            "--model",
            "m.json",
            "--data",
            "good.csv",
            "--sigma=-1",
        ],
        2,
        "must be a positive finite number",
    );
    fails(
        &dir,
        &[
            "fit",
            "--data",
            "empty.csv",
            "--objective",
            "esm",
            "--out",
            "o.json",
        ],
        1,
        "empty.csv: no data rows",
    );
    fails(
        &dir,
        &[
            "fit",
            "--data",
            "good.csv",
            "--objective",
            "esm",
            "--activation",
            "relu",
            "--out",
            "o.json",
        ],
        2,
        "unknown activation",
    );
    fails(
        &dir,
        &["data", "moons", "--n", "3"],
        2,
        "unknown data set \"moons\"",
    );
    fails(&dir, &["frobnicate"], 2, "unrecognized subcommand");
    // Nothing was written by the failed fits.
    assert!(!dir.join("o.json").exists());
}

#[test]
fn data_denoise_and_help_work() {
    let dir = scratch("misc");
    let csv = ok(
        &dir,
        &[
            "data",
            "bars-and-stripes",
            "--n",
            "5",
            "--side",
            "3",
            "--seed",
            "2",
        ],
    );
    assert_eq!(csv.lines().count(), 5);
    assert!(csv.lines().all(|l| l.split(',').count() == 9));
    assert_eq!(
        csv,
        ok(
            &dir,
            &[
                "data",
                "bars-and-stripes",
                "--n",
                "5",
                "--side",
                "3",
                "--seed",
                "2"
            ]
        )
    );
    ok(
        &dir,
        &["data", "two-moons", "--n", "50", "--out", "moons.csv"],
    );
    assert_eq!(
        read_csv::<f64>(&dir.join("moons.csv")).unwrap().shape(),
        &[50, 2]
    );
    // Tweedie with a standard Gaussian energy: x̃ - σ²x̃.
    let model = r#"{"format": "scoretape-model", "version": 1, "kind": "quadratic",
        "mean": [0.0, 0.0], "cholesky": [[0.0, 0.0], [0.0, 0.0]]}"#;
    std::fs::write(dir.join("q.json"), model).unwrap();
    let out = ok(
        &dir,
        &[
            "denoise",
            "--model",
            "q.json",
            "--data",
            "moons.csv",
            "--sigma",
            "0.5",
        ],
    );
    let clean = scoretape::io::parse_csv::<f64>(&out, Path::new("-")).unwrap();
    let noisy = read_csv::<f64>(&dir.join("moons.csv")).unwrap();
    assert!(clean.max_abs_diff(&noisy.map(|v| 0.75 * v)) < 1e-15);
    // plot: a figure of the model and a loss curve, as SVG and PNG.
    ok(
        &dir,
        &[
            "plot",
            "--model",
            "q.json",
            "--objective",
            "esm",
            "--data",
            "moons.csv",
            "--out",
            "m.svg",
        ],
    );
    let svg = std::fs::read_to_string(dir.join("m.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<circle") && svg.trim_end().ends_with("</svg>")
    );
    assert!(svg.contains(">quadratic model q.json</text>"), "{svg}");
    assert!(svg.contains("objective esm, data moons.csv (n="), "{svg}");
    ok(
        &dir,
        &[
            "plot",
            "--model",
            "q.json",
            "--samples",
            "moons.csv",
            "--out",
            "m.png",
        ],
    );
    assert_eq!(&std::fs::read(dir.join("m.png")).unwrap()[..4], b"\x89PNG");
    ok(
        &dir,
        &[
            "fit",
            "--data",
            "moons.csv",
            "--objective",
            "esm",
            "--model",
            "quadratic",
            "--steps",
            "20",
            "--batch-size",
            "10",
            "--quiet",
            "--log",
            "log.csv",
            "--out",
            "f.json",
        ],
    );
    ok(
        &dir,
        &["plot", "--loss-curve", "log.csv", "--out", "loss.svg"],
    );
    fails(
        &dir,
        &["plot", "--model", "q.json", "--out", "m.jpg"],
        2,
        "must end in .svg or .png",
    );
    for sub in [
        "data", "fit", "eval", "sample", "denoise", "plot", "demo", "bench",
    ] {
        let out = run(&dir, &[sub, "--help"]);
        assert_eq!(out.code, 0, "{sub} --help");
        assert!(out.stdout.contains("Usage: scoretape"), "{sub}");
    }
}

/// The energy distance between the data and `demo`'s samples below which the
/// samples cover the two moons in proportion. Between the data and a fresh
/// draw of it the statistic is 0.002 to 0.013 (seeds 1, 3, 7); with one moon
/// missing, 0.24.
const COVERS_BOTH_MOONS: f64 = 0.05;

/// Runs `scoretape demo` in `dir`; returns the printed energy distance
/// between the data and the samples, and the yardstick (data against a fresh
/// draw of the data).
fn run_demo(dir: &Path) -> (f64, f64) {
    let out = ok(dir, &["demo", "--quiet"]);
    // "energy distance between the data and the samples: 0.0123 (between the
    // data and a fresh draw of it: 0.0042; MALA acceptance 0.90)"
    let number_after = |marker: &str| -> f64 {
        out.split(marker)
            .nth(1)
            .and_then(|rest| rest.split([' ', ';']).next())
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("no number after {marker:?} in {out:?}"))
    };
    (number_after("samples: "), number_after("of it: "))
}

#[test]
fn demo_in_an_empty_folder_covers_both_moons_and_writes_a_labelled_figure() {
    let dir = scratch("demo");
    let (distance, yardstick) = run_demo(&dir);
    assert!(dir.join("scoretape-demo.png.model.json").is_file());
    assert!(yardstick > 0.0 && yardstick < 0.02, "{yardstick}");
    // The samples cover both moons in proportion (0.005 to 0.015 over seeds
    // 0 to 5; 0.24 with one moon missing).
    assert!(distance < COVERS_BOTH_MOONS, "{distance}");
    // The figure has a title: ink in its first line, none right of it.
    let file = std::fs::File::open(dir.join("scoretape-demo.png")).unwrap();
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let width = info.width as usize;
    let black = |x0: usize, x1: usize, y0: usize, y1: usize| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (y * width + x) * 3))
            .filter(|&k| pixels[k..k + 3] == [0, 0, 0])
            .count()
    };
    assert!(black(10, 300, 14, 32) > 200);
    assert_eq!(black(width - 40, width, 0, 14), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_energy_distance_sees_a_missing_moon() {
    use scoretape::data::ToyData;
    use scoretape::sample::energy_distance;
    let data = ToyData::TwoMoons.generate::<f64>(1000, 0).unwrap();
    let fresh = ToyData::TwoMoons.generate::<f64>(1000, 1).unwrap();
    // The upper moon only, with the data's noise: (cos t, sin t) + N(0, 0.1²),
    // t evenly spread over (0, π).
    let noise = normal_tensor::<f64, _>(&[1000, 2], &mut seeded(2));
    let one_moon = Tensor::from_fn(&[1000, 2], |k| {
        let angle = std::f64::consts::PI * ((k / 2) as f64 + 0.5) / 1000.0;
        let centre = if k % 2 == 0 { angle.cos() } else { angle.sin() };
        centre + 0.1 * noise.data()[k]
    });
    let both = energy_distance(&data, &fresh).unwrap();
    let one = energy_distance(&data, &one_moon).unwrap();
    assert!(both < COVERS_BOTH_MOONS / 3.0, "{both}");
    assert!(one > 3.0 * COVERS_BOTH_MOONS, "{one}");
}
