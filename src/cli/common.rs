//! Helpers every subcommand shares: reading data and models with checks that
//! name the file, parsing argument values, and writing results.

use super::error::CliError;
use crate::io::{self, AnyModel};
use crate::tensor::Tensor;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A data set read from a CSV file, remembering where each row came from.
pub(crate) struct Dataset {
    pub path: PathBuf,
    pub x: Tensor<f64>,
    /// The file line of each row.
    pub lines: Vec<usize>,
}

impl Dataset {
    pub fn read(path: &Path) -> Result<Self, CliError> {
        let table = io::read_table::<f64>(path)?;
        Ok(Dataset {
            path: path.to_path_buf(),
            x: table.data,
            lines: table.lines,
        })
    }

    pub fn dim(&self) -> usize {
        self.x.shape()[1]
    }

    pub fn len(&self) -> usize {
        self.x.shape()[0]
    }

    /// An error pointing at row `row` of the file.
    pub fn error_at(&self, row: usize, message: impl Into<String>) -> CliError {
        io::FileError::at_line(&self.path, self.lines[row], message).into()
    }

    /// Checks that the data has the model's dimension.
    pub fn check_dim(&self, model: &AnyModel, model_path: &Path) -> Result<(), CliError> {
        if self.dim() != model.dim() {
            return Err(CliError::data(format!(
                "{}: data has {} column{} but the model {} takes {}",
                self.path.display(),
                self.dim(),
                if self.dim() == 1 { "" } else { "s" },
                model_path.display(),
                model.dim()
            )));
        }
        Ok(())
    }

    /// Checks that every entry is 0 or 1 (for ratio matching).
    pub fn check_binary(&self, why: &str) -> Result<(), CliError> {
        self.check_each(
            |v| v == 0.0 || v == 1.0,
            &format!("{why} needs binary (0/1) data"),
        )
    }

    /// Checks that every value is `≥ 0`, naming the line and field of the
    /// first that is not (exit 1); `why` names what needs it.
    pub fn check_nonnegative(&self, why: &str) -> Result<(), CliError> {
        self.check_each(|v| v >= 0.0, &format!("{why} needs data in [0, ∞)"))
    }

    /// Checks that every value passes `ok`, naming the line and field of the
    /// first that does not, and what `needs` it.
    fn check_each(&self, ok: impl Fn(f64) -> bool, needs: &str) -> Result<(), CliError> {
        let d = self.dim();
        match self.x.data().iter().position(|&v| !ok(v)) {
            Some(k) => Err(self.error_at(
                k / d,
                format!(
                    "field {} is {}, but {needs}",
                    k % d + 1,
                    short(self.x.data()[k])
                ),
            )),
            None => Ok(()),
        }
    }
}

/// Reads a model file, with the input map it was fitted through if any.
pub(crate) fn load_model(path: &Path) -> Result<io::ModelFile, CliError> {
    Ok(io::load_model_file(path)?)
}

/// clap value parser: a finite number > 0.
pub(crate) fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        Ok(_) => Err("must be a positive finite number".into()),
        Err(_) => Err("not a number".into()),
    }
}

/// clap value parser: a finite number ≥ 0.
pub(crate) fn non_negative(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(v),
        Ok(_) => Err("must be a finite number ≥ 0".into()),
        Err(_) => Err("not a number".into()),
    }
}

/// A number for a message, short: `1e-300`, not three hundred digits
/// (Rust's `Debug` form of a float switches to exponent notation for very
/// small and very large magnitudes; `Display` never does).
pub(crate) fn short(v: f64) -> String {
    format!("{v:?}")
}

/// clap value parser: an integer ≥ 1.
pub(crate) fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err("must be a whole number ≥ 1".into()),
    }
}

/// clap value parser: hidden widths such as `64,64` (possibly empty for none).
pub(crate) fn widths(text: &str) -> Result<Vec<usize>, String> {
    if text.trim().is_empty() {
        return Ok(vec![]);
    }
    text.split(',')
        .map(|w| match w.trim().parse::<usize>() {
            Ok(v) if v >= 1 => Ok(v),
            _ => Err(format!("{w:?} is not a width ≥ 1 (expected e.g. 64,64)")),
        })
        .collect()
}

/// Writes samples as CSV to `out`, or to standard output without it.
/// `what` says where they come from (`the samples of model m.json`), for
/// the error when one is not finite.
pub(crate) fn write_samples(
    out: Option<&Path>,
    x: &Tensor<f64>,
    what: &str,
) -> Result<(), CliError> {
    if let Some(k) = x.data().iter().position(|v| !v.is_finite()) {
        let columns = x.shape().get(1).copied().unwrap_or(1).max(1);
        return Err(CliError::data(format!(
            "{what}: row {} field {} is {}; nothing was written (a smaller step size may help)",
            k / columns + 1,
            k % columns + 1,
            short(x.data()[k])
        )));
    }
    match out {
        Some(path) => Ok(io::write_csv(path, x)?),
        None => print_stdout(&io::to_csv_string(x)),
    }
}

/// The error with `path` in front, unless it already names it (so that a
/// numerical failure deep in a sampler says which model it was).
pub(crate) fn naming(path: &Path, e: CliError) -> CliError {
    let name = path.display().to_string();
    if e.message.contains(&name) {
        e
    } else {
        CliError {
            message: format!("{name}: {}", e.message),
            ..e
        }
    }
}

/// Prints to standard output, turning a closed pipe into an error rather
/// than a panic.
pub(crate) fn print_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::data(format!("cannot write to standard output: {e}")))
}

/// Prints a JSON value on one line.
pub(crate) fn print_json(value: &Value) -> Result<(), CliError> {
    print_stdout(&format!("{value}\n"))
}

/// A tensor as JSON: a vector as an array, a matrix as an array of rows.
///
/// Errors if an entry is not finite, since JSON cannot hold it.
pub(crate) fn tensor_json(t: &Tensor<f64>, what: &str) -> Result<Value, CliError> {
    if !t.all_finite() {
        return Err(CliError::data(format!(
            "the {what} has NaN or infinite values"
        )));
    }
    Ok(match t.shape() {
        [_, columns] => t
            .data()
            .chunks((*columns).max(1))
            .map(|row| row.iter().copied().collect::<Value>())
            .collect(),
        _ => t.data().iter().copied().collect(),
    })
}
