//! The crate's error type: everything that bad data or a misused entry point can
//! cause is reported here, never as a panic.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// What went wrong.
///
/// # Examples
///
/// ```
/// use scoretape::{grad, Error, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
/// // `x` is not a scalar, so it has no gradient.
/// assert!(matches!(grad(x, &[x]), Err(Error::NotScalar { .. })));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// Data does not fit the shape it must have.
    Shape(String),
    /// `grad` (or another entry point that needs one number) got a non-scalar.
    NotScalar {
        /// The shape that was given.
        shape: Vec<usize>,
    },
    /// A `Var` given to an entry point belongs to another tape.
    ForeignVar,
    /// A `Var` given to an entry point refers to a node that `Tape::rewind` removed.
    StaleVar,
    /// Differentiation with respect to a `Var` that cannot be an input of the
    /// output: it was recorded after the output, or it is not a leaf where a leaf
    /// is required.
    NotAnInput(String),
    /// Invalid input data (NaN, out of range, wrong kind), with a description.
    InvalidData(String),
    /// A numerical failure (a singular matrix, a non-finite loss), with a description.
    Numerical(String),
    /// A fit diverged: at the 1-based `update`, the loss, a gradient, a
    /// parameter or the optimiser's state stopped being finite, or the loss
    /// grew beyond the bound documented at
    /// [`train::fit`](crate::train::fit). The fit's parameters hold their last
    /// finite values.
    Diverged {
        /// The update (1-based) at which the fit diverged.
        update: u64,
        /// What went wrong, e.g. `"the training loss is not finite (NaN)"`.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape(msg) => write!(f, "shape error: {msg}"),
            Error::NotScalar { shape } => {
                write!(f, "expected a scalar (one element) but got shape {shape:?}")
            }
            Error::ForeignVar => write!(f, "a Var belongs to another tape"),
            Error::StaleVar => write!(f, "a Var refers to a node removed by Tape::rewind"),
            Error::NotAnInput(msg) => write!(f, "not an input: {msg}"),
            Error::InvalidData(msg) => write!(f, "invalid data: {msg}"),
            Error::Numerical(msg) => write!(f, "numerical failure: {msg}"),
            Error::Diverged { update, reason } => write!(
                f,
                "the fit diverged at update {update}: {reason}; \
                 the parameters hold their last finite values"
            ),
        }
    }
}

impl core::error::Error for Error {}
