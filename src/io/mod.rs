//! Files: numeric data as CSV and models as JSON (feature `io`).
//!
//! Everything here reports problems as a [`FileError`] that names the file,
//! the line when there is one, and what is wrong, so that a command-line user
//! can fix the file without reading code. Every write is atomic
//! ([`write_atomic`]): a reader sees the old file or the new one, never half.
//!
//! ```
//! use scoretape::io::{parse_csv, to_csv_string};
//! use scoretape::Tensor;
//! let x = Tensor::from_rows(&[vec![1.5, -2.0], vec![0.1, 3.0]]).unwrap();
//! let text = to_csv_string(&x);
//! assert_eq!(text, "1.5,-2\n0.1,3\n");
//! assert_eq!(parse_csv::<f64>(&text, "x.csv".as_ref()).unwrap(), x);
//! ```

mod atomic;
mod csv;
mod model_file;
mod model_with_map;
#[cfg(feature = "serde")]
mod serde_model;

pub use atomic::write_atomic;
pub(crate) use atomic::{folder_of, is_stream, resolve_links};
pub use csv::{parse_csv, parse_table, read_csv, read_table, to_csv_string, write_csv, Table};
pub use model_file::{
    layout_json, load_model, model_from_json, model_to_json, parse_model, save_model, AnyModel,
    ModelKind,
};
pub use model_with_map::{
    load_model_file, model_file_from_json, model_file_to_json, save_model_file, ModelFile,
};

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with a file: which file, at which line (1-based) if the problem
/// is on one line, and what is wrong.
///
/// ```
/// use scoretape::io::FileError;
/// let e = FileError::at_line("x.csv", 3, "row has 1 field, expected 2");
/// assert_eq!(e.to_string(), "x.csv:3: row has 1 field, expected 2");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line, when the problem is on one line.
    pub line: Option<usize>,
    /// What is wrong, in words.
    pub message: String,
}

impl FileError {
    /// A problem with the file as a whole.
    ///
    /// ```
    /// let e = scoretape::io::FileError::new("m.json", "unknown kind \"x\"");
    /// assert_eq!(e.to_string(), "m.json: unknown kind \"x\"");
    /// ```
    pub fn new(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        FileError {
            path: path.as_ref().to_path_buf(),
            line: None,
            message: message.into(),
        }
    }

    /// A problem on line `line` (1-based) of the file.
    ///
    /// ```
    /// let e = scoretape::io::FileError::at_line("x.csv", 2, "bad");
    /// assert_eq!(e.line, Some(2));
    /// ```
    pub fn at_line(path: impl AsRef<Path>, line: usize, message: impl Into<String>) -> Self {
        FileError {
            line: Some(line),
            ..FileError::new(path, message)
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for FileError {}

/// The text without a UTF-8 byte-order mark at its start (some editors on
/// Windows write one); files are read as if it were not there.
pub(crate) fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}
