//! Numeric CSV: one sample per row, one number per field, comma-separated.
//!
//! The format read:
//! - fields are separated by `,` and may have spaces around them;
//! - blank lines and lines starting with `#` are skipped;
//! - the first non-blank line may be a header: it is one when none of its
//!   fields is a number (e.g. `step,loss`);
//! - every other line must have the same number of fields as the first data
//!   line, and every field must be a finite number.
//!
//! Numbers are written with Rust's shortest round-trip formatting, so writing
//! and reading back gives bit-identical values.

use super::{write_atomic, FileError};
use crate::real::Real;
use crate::tensor::Tensor;
use std::fmt::Write as _;
use std::path::Path;

/// A CSV file's optional header and its numbers, `[rows, columns]`.
///
/// ```
/// use scoretape::io::parse_table;
/// let t = parse_table::<f64>("step,loss\n1,0.5\n2,0.25\n", "log.csv".as_ref()).unwrap();
/// assert_eq!(t.header.unwrap(), vec!["step", "loss"]);
/// assert_eq!(t.data.shape(), &[2, 2]);
/// assert_eq!(t.lines, vec![2, 3]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Table<T> {
    /// The column names, if the file has a header line.
    pub header: Option<Vec<String>>,
    /// The numbers, one row per data line.
    pub data: Tensor<T>,
    /// The 1-based line number of each data row, so later checks (a value
    /// out of range, say) can point at the line.
    pub lines: Vec<usize>,
}

/// Parses CSV text (see the module docs for the format); `source` names the
/// text in error messages.
///
/// # Errors
///
/// A [`FileError`] with the line number for a ragged row, a field that is
/// not a number, or a NaN or infinite value; without a line number if there
/// are no data rows.
///
/// ```
/// use scoretape::io::parse_table;
/// let err = parse_table::<f64>("1,2\n3\n", "x.csv".as_ref()).unwrap_err();
/// assert_eq!(err.to_string(), "x.csv:2: row has 1 field, expected 2 like line 1");
/// ```
pub fn parse_table<T: Real>(text: &str, source: &Path) -> Result<Table<T>, FileError> {
    let mut header = None;
    let mut data = Vec::new();
    let mut lines = Vec::new();
    // (line number, field count) of the first data line.
    let mut width: Option<(usize, usize)> = None;
    for (index, line) in super::without_bom(text).lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if width.is_none() && header.is_none() && fields.iter().all(|f| !looks_numeric(f)) {
            header = Some(fields.iter().map(|f| f.to_string()).collect());
            continue;
        }
        match width {
            None => width = Some((number, fields.len())),
            Some((first, expected)) if fields.len() != expected => {
                return Err(FileError::at_line(
                    source,
                    number,
                    format!(
                        "row has {} field{}, expected {expected} like line {first}",
                        fields.len(),
                        if fields.len() == 1 { "" } else { "s" }
                    ),
                ));
            }
            Some(_) => {}
        }
        lines.push(number);
        for (column, field) in fields.iter().enumerate() {
            data.push(T::cast(parse_field(field, source, number, column)?));
        }
    }
    let Some((_, columns)) = width else {
        return Err(FileError::new(
            source,
            "no data rows (the data set is empty)",
        ));
    };
    let rows = data.len() / columns;
    let data = Tensor::from_vec(&[rows, columns], data).expect("every row has `columns` fields");
    Ok(Table {
        header,
        data,
        lines,
    })
}

/// Whether a field could be meant as a number (so that a header line is
/// recognised only when no field is).
fn looks_numeric(field: &str) -> bool {
    field.parse::<f64>().is_ok()
}

fn parse_field(field: &str, source: &Path, line: usize, column: usize) -> Result<f64, FileError> {
    let column = column + 1;
    let value: f64 = field.parse().map_err(|_| {
        FileError::at_line(
            source,
            line,
            format!("field {column} is {field:?}, not a number"),
        )
    })?;
    if !value.is_finite() {
        return Err(FileError::at_line(
            source,
            line,
            format!("field {column} is {field}, but values must be finite"),
        ));
    }
    Ok(value)
}

/// Parses CSV text into an `[rows, columns]` tensor, skipping a header line
/// if there is one.
///
/// # Errors
///
/// As [`parse_table`].
///
/// ```
/// use scoretape::io::parse_csv;
/// let x = parse_csv::<f64>("# two samples\n1, 2\n3, 4\n", "x.csv".as_ref()).unwrap();
/// assert_eq!(x.data(), &[1.0, 2.0, 3.0, 4.0]);
/// assert!(parse_csv::<f64>("1,nan\n", "x.csv".as_ref()).is_err());
/// ```
pub fn parse_csv<T: Real>(text: &str, source: &Path) -> Result<Tensor<T>, FileError> {
    parse_table(text, source).map(|t| t.data)
}

/// Reads a CSV file with its optional header.
///
/// # Errors
///
/// A [`FileError`] if the file cannot be read, or as [`parse_table`].
///
/// ```
/// let err = scoretape::io::read_table::<f64>("no/such/file.csv".as_ref()).unwrap_err();
/// assert!(err.to_string().starts_with("no/such/file.csv: cannot read"));
/// ```
pub fn read_table<T: Real>(path: &Path) -> Result<Table<T>, FileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileError::new(path, format!("cannot read: {e}")))?;
    parse_table(&text, path)
}

/// Reads a CSV file of samples, one per row, into an `[n, d]` tensor.
///
/// # Errors
///
/// As [`read_table`].
///
/// ```
/// use scoretape::io::{read_csv, write_csv};
/// use scoretape::Tensor;
/// let path = std::env::temp_dir().join("scoretape-doc-read.csv");
/// let x = Tensor::from_rows(&[vec![0.1, 1e-300], vec![-7.0, 2.5]]).unwrap();
/// write_csv(&path, &x).unwrap();
/// assert_eq!(read_csv::<f64>(&path).unwrap(), x); // bit-identical
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn read_csv<T: Real>(path: &Path) -> Result<Tensor<T>, FileError> {
    read_table(path).map(|t| t.data)
}

/// Formats a tensor as CSV: a vector as one column, a matrix as one row per
/// sample, numbers in shortest round-trip form.
///
/// # Panics
///
/// If the tensor has more than two dimensions.
///
/// ```
/// use scoretape::{io::to_csv_string, Tensor};
/// assert_eq!(to_csv_string(&Tensor::vector(&[1.0, 0.5])), "1\n0.5\n");
/// ```
pub fn to_csv_string<T: Real>(x: &Tensor<T>) -> String {
    let columns = match x.shape() {
        [] => 1,
        [_] => 1,
        [_, c] => *c,
        shape => panic!("to_csv_string: a CSV holds a vector or a matrix, got shape {shape:?}"),
    };
    let mut out = String::with_capacity(x.len() * 12);
    for row in x.data().chunks(columns.max(1)) {
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write!(out, "{v}").expect("writing to a String cannot fail");
        }
        out.push('\n');
    }
    out
}

/// Writes a tensor as CSV (see [`to_csv_string`]), atomically.
///
/// # Errors
///
/// A [`FileError`] if the tensor holds NaN or infinite values (they could not
/// be read back) or the file cannot be written.
///
/// ```
/// use scoretape::{io::write_csv, Tensor};
/// let path = std::env::temp_dir().join("scoretape-doc-nan.csv");
/// assert!(write_csv(&path, &Tensor::vector(&[f64::NAN])).is_err());
/// ```
pub fn write_csv<T: Real>(path: &Path, x: &Tensor<T>) -> Result<(), FileError> {
    if x.ndim() > 2 {
        return Err(FileError::new(
            path,
            format!("cannot write a tensor of shape {:?} as CSV", x.shape()),
        ));
    }
    if !x.all_finite() {
        return Err(FileError::new(
            path,
            "refusing to write NaN or infinite values",
        ));
    }
    write_atomic(path, to_csv_string(x).as_bytes())
}
