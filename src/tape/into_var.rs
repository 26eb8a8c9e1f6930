//! [`IntoVar`]: what a transformation accepts where it needs a direction or
//! other operand that need not be differentiated — a [`Var`] already on the
//! tape, or a plain [`Tensor`], recorded as a constant.

use super::{Tape, Var};
use crate::real::Real;
use crate::tensor::Tensor;

/// A value that can stand as a [`Var`] on a given tape: a `Var` (or `&Var`)
/// is itself; a [`Tensor`] (or `&Tensor`) is recorded as a constant.
///
/// [`crate::hvp`] takes its direction `v` this way, so both calls below work:
///
/// ```
/// use scoretape::{hvp, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
/// let y = (x * x * x).sum(); // H = diag(6x)
/// let v = Tensor::vector(&[1.0, 1.0]);
/// assert_eq!(hvp(y, x, &v).unwrap().to_vec(), vec![6.0, 12.0]);
/// assert_eq!(hvp(y, x, tape.constant(v)).unwrap().to_vec(), vec![6.0, 12.0]);
/// ```
pub trait IntoVar<'t, T: Real> {
    /// `self` as a `Var` on `tape`. A `Var` is returned as it is, even from
    /// another tape: the transformation it is passed to reports that as
    /// [`crate::Error::ForeignVar`].
    ///
    /// ```
    /// use scoretape::tape::IntoVar;
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let v = Tensor::vector(&[1.0, 2.0]).into_var(&tape);
    /// assert!(v.is_constant());
    /// ```
    fn into_var(self, tape: &'t Tape<T>) -> Var<'t, T>;
}

impl<'t, T: Real> IntoVar<'t, T> for Var<'t, T> {
    fn into_var(self, _tape: &'t Tape<T>) -> Var<'t, T> {
        self
    }
}

impl<'t, T: Real> IntoVar<'t, T> for &Var<'t, T> {
    fn into_var(self, tape: &'t Tape<T>) -> Var<'t, T> {
        (*self).into_var(tape)
    }
}

impl<'t, T: Real> IntoVar<'t, T> for Tensor<T> {
    fn into_var(self, tape: &'t Tape<T>) -> Var<'t, T> {
        tape.constant(self)
    }
}

impl<'t, T: Real> IntoVar<'t, T> for &Tensor<T> {
    fn into_var(self, tape: &'t Tape<T>) -> Var<'t, T> {
        tape.constant(self.clone())
    }
}
