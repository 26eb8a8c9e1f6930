//! CSV and model files: exact round trips, and every kind of bad file gives an
//! error naming the file, the line when there is one, and the problem.
#![cfg(feature = "io")]

use scoretape::io::{
    load_model, parse_csv, parse_model, read_csv, save_model, write_atomic, write_csv, AnyModel,
    ModelKind,
};
use scoretape::model::{Activation, Boltzmann, MlpEnergy, MlpScore, Model, QuadraticEnergy};
use scoretape::random::{normal_tensor, seeded};
use scoretape::Tensor;
use std::path::{Path, PathBuf};

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scoretape-io-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn csv_error(text: &str) -> String {
    parse_csv::<f64>(text, Path::new("x.csv"))
        .unwrap_err()
        .to_string()
}

#[test]
fn csv_round_trip_is_bit_identical() {
    let dir = scratch("roundtrip");
    let mut x = normal_tensor::<f64, _>(&[50, 3], &mut seeded(9));
    // Values whose shortest decimal forms are long or extreme.
    x.data_mut()[0] = 0.1 + 0.2;
    x.data_mut()[1] = f64::MIN_POSITIVE;
    x.data_mut()[2] = -1e300;
    x.data_mut()[3] = 5e-324;
    let path = dir.join("x.csv");
    write_csv(&path, &x).unwrap();
    let back = read_csv::<f64>(&path).unwrap();
    assert_eq!(back.shape(), x.shape());
    for (a, b) in back.data().iter().zip(x.data()) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
}

#[test]
fn csv_accepts_headers_comments_blank_lines_and_spaces() {
    let x = parse_csv::<f64>("# comment\na,b\n\n 1 , 2\n3,4e-1\n", Path::new("x.csv")).unwrap();
    assert_eq!(x.shape(), &[2, 2]);
    assert_eq!(x.data(), &[1.0, 2.0, 3.0, 0.4]);
}

#[test]
fn csv_errors_name_file_line_and_problem() {
    assert_eq!(
        csv_error("1,2\n3,4\n5\n"),
        "x.csv:3: row has 1 field, expected 2 like line 1"
    );
    assert_eq!(
        csv_error("1,2\n3,abc\n"),
        "x.csv:2: field 2 is \"abc\", not a number"
    );
    assert_eq!(
        csv_error("1,2\nNaN,1\n"),
        "x.csv:2: field 1 is NaN, but values must be finite"
    );
    assert_eq!(
        csv_error("1,inf\n"),
        "x.csv:1: field 2 is inf, but values must be finite"
    );
    assert_eq!(
        csv_error("x,y\n"),
        "x.csv: no data rows (the data set is empty)"
    );
    assert_eq!(csv_error(""), "x.csv: no data rows (the data set is empty)");
    // A header is only recognised before the data.
    assert_eq!(
        csv_error("1,2\nx,y\n"),
        "x.csv:2: field 1 is \"x\", not a number"
    );
    let missing = read_csv::<f64>(Path::new("/no/such/dir/x.csv")).unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("/no/such/dir/x.csv: cannot read"),
        "{missing}"
    );
}

#[test]
fn writes_are_atomic_and_failed_writes_leave_nothing() {
    let dir = scratch("atomic");
    let path = dir.join("out.csv");
    write_atomic(&path, b"old\n").unwrap();
    write_atomic(&path, b"new\n").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
    // Only the target is left: no temporary files.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("out.csv")]);
    // A tensor with a NaN is refused and the old file stays as it was.
    let bad = Tensor::vector(&[1.0, f64::NAN]);
    assert!(write_csv(&path, &bad).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
    // A directory that does not exist: an error naming the file.
    let nowhere = dir.join("missing").join("x.csv");
    let err = write_csv(&nowhere, &Tensor::vector(&[1.0])).unwrap_err();
    assert!(
        err.to_string().contains("missing/x.csv: cannot write"),
        "{err}"
    );
}

fn every_kind() -> Vec<AnyModel> {
    let mut quadratic = QuadraticEnergy::new(3).unwrap();
    quadratic.params_mut().values_mut()[0] = Tensor::vector(&[1.0, -2.0, 0.5]);
    quadratic.params_mut().values_mut()[1] = normal_tensor(&[3, 3], &mut seeded(1));
    let mut boltzmann = Boltzmann::new(4).unwrap();
    boltzmann.params_mut().values_mut()[0] = normal_tensor(&[4, 4], &mut seeded(2));
    boltzmann.params_mut().values_mut()[1] = normal_tensor(&[4], &mut seeded(3));
    vec![
        AnyModel::MlpEnergy(MlpEnergy::new(3, &[5, 4], Activation::Silu, 7).unwrap()),
        AnyModel::MlpEnergy(MlpEnergy::new(2, &[], Activation::Elu, 7).unwrap()),
        AnyModel::Quadratic(quadratic),
        AnyModel::Boltzmann(boltzmann),
        AnyModel::MlpScore(MlpScore::new(2, &[6], Activation::Tanh, true, 4).unwrap()),
        AnyModel::MlpScore(MlpScore::new(3, &[6, 2], Activation::Softplus, false, 5).unwrap()),
    ]
}

#[test]
fn model_files_round_trip_every_kind_bit_identically() {
    let dir = scratch("models");
    for (i, model) in every_kind().into_iter().enumerate() {
        let path = dir.join(format!("m{i}.json"));
        save_model(&path, &model).unwrap();
        let back = load_model(&path).unwrap();
        assert_eq!(back.kind(), model.kind());
        for (a, b) in back.params().values().iter().zip(model.params().values()) {
            assert_eq!(a.shape(), b.shape());
            assert!(a
                .data()
                .iter()
                .zip(b.data())
                .all(|(x, y)| x.to_bits() == y.to_bits()));
        }
        assert_eq!(back, model);
    }
}

const MLP: &str = r#"{
  "format": "scoretape-model",
  "version": 1,
  "kind": "mlp-energy",
  "activation": "softplus",
  "layers": [
    {"weight": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "bias": [0.0, 0.1, 0.2]},
    {"weight": [[1.0, -1.0, 0.5]], "bias": [0.3]}
  ]
}"#;

fn model_error(text: &str) -> String {
    parse_model(text, Path::new("m.json"))
        .unwrap_err()
        .to_string()
}

#[test]
fn the_documented_mlp_example_loads() {
    let model = parse_model(MLP, Path::new("m.json")).unwrap();
    assert_eq!(model.kind(), ModelKind::MlpEnergy);
    assert_eq!(model.dim(), 2);
    assert_eq!(model.params().values()[2].data(), &[1.0, -1.0, 0.5]);
}

#[test]
fn model_file_errors_say_what_is_wrong() {
    let cases = [
        (
            MLP.replace("softplus", "relu"),
            "unknown activation \"relu\"",
        ),
        (
            MLP.replace("mlp-energy", "mlp-thing"),
            "unknown kind \"mlp-thing\"",
        ),
        (
            MLP.replace("\"version\": 1", "\"version\": 2"),
            "unsupported version 2",
        ),
        (
            MLP.replace("scoretape-model", "other"),
            "\"format\" is \"other\"",
        ),
        (
            MLP.replace("[5.0, 6.0]", "[5.0]"),
            "layers[0].weight[2] has 1 entries",
        ),
        (
            MLP.replace("[0.0, 0.1, 0.2]", "[0.0, 0.1]"),
            "layer 0: bias has shape [2], expected [3]",
        ),
        (
            MLP.replace("[1.0, -1.0, 0.5]", "[1.0, -1.0]"),
            "layer 1: weight takes 2 inputs",
        ),
        (
            MLP.replace("[0.3]", "[0.3, 0.4]"),
            "layer 1: bias has shape [2]",
        ),
        (
            MLP.replace("\"bias\": [0.3]", "\"bias\": [\"a\"]"),
            "layers[1].bias[0] is \"a\", not a number",
        ),
        (
            MLP.replace("\"activation\"", "\"activaton\""),
            "missing field \"activation\"",
        ),
        (
            MLP.replace("\"kind\"", "\"extra\": 1, \"kind\""),
            "unknown field \"extra\"",
        ),
        (MLP.replace("\"layers\": [", "\"layers\": [\n"), ""),
    ];
    for (text, expected) in cases {
        if expected.is_empty() {
            assert!(parse_model(&text, Path::new("m.json")).is_ok());
            continue;
        }
        let err = model_error(&text);
        assert!(err.starts_with("m.json: "), "{err}");
        assert!(
            err.contains(expected),
            "{err:?} should contain {expected:?}"
        );
    }
    // An energy's last layer has one output.
    let two_outputs = MLP.replace(
        "{\"weight\": [[1.0, -1.0, 0.5]], \"bias\": [0.3]}",
        "{\"weight\": [[1.0, -1.0, 0.5], [1.0, 1.0, 1.0]], \"bias\": [0.3, 0.0]}",
    );
    assert!(model_error(&two_outputs).contains("must have 1 output"));
    // Broken JSON gives the line.
    let err = model_error("{\n\"format\": \"scoretape-model\",\n\"version\": 1,,\n}");
    assert!(err.starts_with("m.json:3: invalid JSON"), "{err}");
    // Quadratic and Boltzmann shapes.
    let quadratic = r#"{"format": "scoretape-model", "version": 1, "kind": "quadratic",
        "mean": [0.0, 1.0], "cholesky": [[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]}"#;
    assert!(model_error(quadratic).contains("\"cholesky\" has shape [3, 2]"));
    let boltzmann = r#"{"format": "scoretape-model", "version": 1, "kind": "boltzmann",
        "weight": [[0.0, 1.0], [1.0, 0.0]], "bias": [0.5]}"#;
    assert!(model_error(boltzmann).contains("\"bias\" has 1 entries"));
}

#[test]
fn saving_a_broken_model_fails_without_writing() {
    let dir = scratch("broken");
    let mut model = QuadraticEnergy::new(2).unwrap();
    model.params_mut().values_mut()[0] = Tensor::vector(&[f64::NAN, 0.0]);
    let path = dir.join("m.json");
    let err = save_model(&path, &AnyModel::Quadratic(model)).unwrap_err();
    assert!(
        err.to_string().contains("parameter mean has a NaN"),
        "{err}"
    );
    assert!(!path.exists());
}
