//! The CSV and model-file parsers on random bytes and on random near-valid
//! mutations of valid files: they return `Ok` or `Err`, never panic.
#![cfg(feature = "io")]

use proptest::prelude::*;
use scoretape::io::{model_to_json, parse_model, parse_table, AnyModel};
use scoretape::model::{Activation, Boltzmann, MlpEnergy, MlpScore, QuadraticEnergy};
use std::path::Path;

const VALID_CSV: &str = "# header comment\nx,y\n1.5,-2\n0.25,3e-5\n-7,1e300\n";

/// Valid model files of every kind, as written by the program.
fn valid_models() -> Vec<String> {
    let models = [
        AnyModel::MlpEnergy(MlpEnergy::new(2, &[3], Activation::Tanh, 1).unwrap()),
        AnyModel::MlpScore(MlpScore::new(2, &[3], Activation::Silu, true, 2).unwrap()),
        AnyModel::Quadratic(QuadraticEnergy::new(2).unwrap()),
        AnyModel::Boltzmann(Boltzmann::new(3).unwrap()),
    ];
    models
        .iter()
        .map(|m| model_to_json(m).unwrap().to_string())
        .collect()
}

/// Pieces that are likely to break a parser that trusts its input.
const PIECES: &[&str] = &[
    ",",
    "\n",
    "\r\n",
    "\u{feff}",
    "nan",
    "inf",
    "-",
    "1e999",
    "\"",
    "[",
    "]",
    "{",
    "}",
    ":",
    "null",
    "0",
    "-1",
    "18446744073709551616",
    "1e-400",
    "\"kind\"",
    "\"layers\"",
    "[[]]",
    "[]",
    "\"shape\"",
    "true",
    " ",
    "#",
    "\0",
    "é",
];

/// A mutation of `text`: replace, insert or delete at a char boundary.
fn mutate(text: &str, ops: &[(u8, usize, usize)]) -> String {
    let mut s = text.to_string();
    for &(kind, at, which) in ops {
        let boundaries: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
        let i = boundaries[at % boundaries.len()];
        let piece = PIECES[which % PIECES.len()];
        match kind % 3 {
            0 => s.insert_str(i, piece),
            1 => {
                let end = boundaries
                    .iter()
                    .copied()
                    .find(|&b| b > i)
                    .unwrap_or(s.len());
                s.replace_range(i..end, piece);
            }
            _ => {
                let end = boundaries
                    .iter()
                    .copied()
                    .filter(|&b| b > i)
                    .nth(which % 8)
                    .unwrap_or(s.len());
                s.replace_range(i..end, "");
            }
        }
    }
    s
}

fn source() -> &'static Path {
    Path::new("fuzz.txt")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_table::<f64>(&text, source());
        let _ = parse_model(&text, source());
    }

    #[test]
    fn near_valid_csv_never_panics(ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..6)) {
        let text = mutate(VALID_CSV, &ops);
        if let Ok(table) = parse_table::<f64>(&text, source()) {
            // Whatever is accepted is a finite matrix.
            prop_assert!(table.data.all_finite());
            prop_assert_eq!(table.data.shape().len(), 2);
        }
    }

    #[test]
    fn near_valid_model_files_never_panic(
        which in 0usize..4,
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 1..6),
    ) {
        let text = mutate(&valid_models()[which], &ops);
        if let Ok(model) = parse_model(&text, source()) {
            // Whatever is accepted can be written back and read again.
            let again = model_to_json(&model).unwrap().to_string();
            prop_assert_eq!(parse_model(&again, source()).unwrap(), model);
        }
    }
}

#[test]
fn the_unmutated_files_parse() {
    assert_eq!(
        parse_table::<f64>(VALID_CSV, source())
            .unwrap()
            .data
            .shape(),
        &[3, 2]
    );
    for text in valid_models() {
        parse_model(&text, source()).unwrap();
    }
}
