//! The one error type of the command line: a message for the user and the
//! exit code that goes with it.

use crate::error::Error;
use crate::io::FileError;
use std::fmt;

/// Exit code for bad data, a bad model file, or a numerical failure.
pub const EXIT_DATA: i32 = 1;
/// Exit code for a malformed command line (the code clap uses too).
pub const EXIT_USAGE: i32 = 2;
/// Exit code for a bug in scoretape itself (a panic that was caught).
pub const EXIT_INTERNAL: i32 = 3;

/// A failed command: one line for the user and an exit code.
///
/// ```
/// use scoretape::cli::{CliError, EXIT_DATA};
/// let e = CliError::data("x.csv: no data rows");
/// assert_eq!(e.code, EXIT_DATA);
/// assert_eq!(e.to_string(), "x.csv: no data rows");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError {
    /// The process exit code.
    pub code: i32,
    /// What went wrong, on one line.
    pub message: String,
}

impl CliError {
    /// A problem with the data, a model file or the numbers (exit code 1).
    ///
    /// ```
    /// assert_eq!(scoretape::cli::CliError::data("bad").code, 1);
    /// ```
    pub fn data(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_DATA,
            message: message.into(),
        }
    }

    /// A problem with the command line itself (exit code 2).
    ///
    /// ```
    /// assert_eq!(scoretape::cli::CliError::usage("bad").code, 2);
    /// ```
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<FileError> for CliError {
    fn from(e: FileError) -> Self {
        CliError::data(e.to_string())
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::data(e.to_string())
    }
}
