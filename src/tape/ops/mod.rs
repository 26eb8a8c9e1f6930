//! The primitives: the operations the tape records, each with its forward
//! kernel, its VJP rule and its JVP rule side by side.
//!
//! The rules are written with [`Var`] operations, not tensor kernels, so when a
//! sweep applies a rule the derivative is recorded on the tape like any other
//! computation, and can be differentiated again.
//!
//! For `y = f(x₁, …, xₙ)` with Jacobians `Jᵢ = ∂y/∂xᵢ`:
//! - the **VJP** (reverse) rule maps the output cotangent `ȳ` to the input
//!   cotangents `x̄ᵢ = Jᵢᵀ ȳ`;
//! - the **JVP** (forward) rule maps the input tangents `ẋᵢ` to the output
//!   tangent `ẏ = Σᵢ Jᵢ ẋᵢ`;
//! - the **Laplacian** rule maps the inputs' [`Jet`]s (derivatives along `m`
//!   directions, and the sum of second derivatives along them) to the
//!   output's: see [`crate::tape::forward_laplacian`].

mod arithmetic;
mod elementwise;
mod linalg;
mod rows;
mod select;
mod shape;

pub use arithmetic::{Add, Affine, Div, Mul, Sub};
pub use elementwise::{
    Cos, Elementwise, ElementwiseFn, Elu, Exp, Log, Log1p, LogSigmoid, Powi, Recip, Sigmoid, Silu,
    Sin, Softplus, Sqrt, Square, Tanh,
};
pub use linalg::{MatMul, Transpose};
pub use rows::{RowsGram, RowsMatMul};
pub use select::Select;
pub use shape::{BroadcastTo, Concat, Gather, Reshape, ScatterAdd, Slice, SumTo};

use super::{Jet, Var};
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec::Vec;

/// An operation the tape can record: its forward kernel and its derivative
/// rules (VJP and JVP, and optionally its own forward-Laplacian rule).
///
/// # Examples
///
/// A user-defined primitive, `y = 3x`, with its rules:
///
/// ```
/// use scoretape::{grad, jvp, Tape, Tensor, Var};
/// use scoretape::tape::ops::Primitive;
///
/// struct Triple;
/// impl Primitive<f64> for Triple {
///     fn name(&self) -> String { "triple".into() }
///     fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> { inputs[0].map(|x| 3.0 * x) }
///     fn vjp<'t>(&self, _inputs: &[Var<'t, f64>], _output: Var<'t, f64>,
///                cotangent: Var<'t, f64>, _wanted: &[bool]) -> Vec<Option<Var<'t, f64>>> {
///         vec![Some(cotangent * 3.0)]
///     }
///     fn jvp<'t>(&self, _inputs: &[Var<'t, f64>], _output: Var<'t, f64>,
///                tangents: &[Option<Var<'t, f64>>]) -> Var<'t, f64> {
///         tangents[0].unwrap() * 3.0
///     }
/// }
///
/// let tape = Tape::new();
/// let x = tape.input(Tensor::scalar(2.0));
/// let y = tape.apply(Triple, &[x]);
/// assert_eq!(y.item(), 6.0);
/// assert_eq!(grad(y, &[x]).unwrap()[0].item(), 3.0);
/// let t = tape.constant(Tensor::scalar(1.0));
/// assert_eq!(jvp(&[y], &[x], &[t]).unwrap()[0].item(), 3.0);
/// ```
pub trait Primitive<T: Real>: 'static {
    /// A short name with any parameters, for the printed tape: `exp`, `sum_to[2, 1]`.
    ///
    /// ```
    /// use scoretape::tape::ops::{Primitive, SumTo};
    /// assert_eq!(Primitive::<f64>::name(&SumTo(vec![2, 1])), "sum_to[2, 1]");
    /// ```
    fn name(&self) -> String;

    /// The value of the output from the values of the inputs.
    ///
    /// ```
    /// use scoretape::tape::ops::{Add, Primitive};
    /// use scoretape::Tensor;
    /// let (a, b) = (Tensor::vector(&[1.0, 2.0]), Tensor::vector(&[3.0, 4.0]));
    /// assert_eq!(Add.forward(&[&a, &b]).data(), &[4.0, 6.0]);
    /// ```
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T>;

    /// The cotangent of each input, `x̄ᵢ = Jᵢᵀ ȳ`, given the output cotangent
    /// `ȳ`; `None` where `wanted[i]` is false (the sweep does not need it).
    ///
    /// ```
    /// use scoretape::tape::ops::{Mul, Primitive};
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let (a, b) = (tape.input(Tensor::scalar(2.0)), tape.input(Tensor::scalar(5.0)));
    /// let y = tape.apply(Mul, &[a, b]);
    /// let bar = Mul.vjp(&[a, b], y, tape.constant(Tensor::scalar(1.0)), &[true, false]);
    /// assert_eq!(bar[0].unwrap().item(), 5.0); // ∂(ab)/∂a = b
    /// assert!(bar[1].is_none());
    /// ```
    fn vjp<'t>(
        &self,
        inputs: &[Var<'t, T>],
        output: Var<'t, T>,
        cotangent: Var<'t, T>,
        wanted: &[bool],
    ) -> Vec<Option<Var<'t, T>>>;

    /// The output tangent `ẏ = Σᵢ Jᵢ ẋᵢ` given the input tangents; a `None`
    /// tangent is zero (that input does not depend on the sweep's inputs). At
    /// least one tangent is `Some`.
    ///
    /// ```
    /// use scoretape::tape::ops::{Mul, Primitive};
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let (a, b) = (tape.input(Tensor::scalar(2.0)), tape.input(Tensor::scalar(5.0)));
    /// let y = tape.apply(Mul, &[a, b]);
    /// let da = tape.constant(Tensor::scalar(1.0));
    /// assert_eq!(Mul.jvp(&[a, b], y, &[Some(da), None]).item(), 5.0);
    /// ```
    fn jvp<'t>(
        &self,
        inputs: &[Var<'t, T>],
        output: Var<'t, T>,
        tangents: &[Option<Var<'t, T>>],
    ) -> Var<'t, T>;

    /// The forward-Laplacian rule: the output's [`Jet`] `(J_y, L_y)` from the
    /// inputs' jets (`None` for an input that does not depend on the sweep's
    /// input; at least one is `Some`). Each Jacobian `J` is stacked along a
    /// leading axis of `m` directions, so its shape is `[m] ++ shape(node)`.
    ///
    /// The default returns `None`, and the sweep then derives the rule from
    /// [`Primitive::jvp`] ([`derived_from_jvp`](crate::tape::derived_from_jvp)):
    /// correct for any primitive, but about `m` times the work of a rule
    /// written with the whole stack at once, as every built-in primitive has.
    #[allow(unused_variables)]
    fn laplacian<'t>(
        &self,
        inputs: &[Var<'t, T>],
        output: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        None
    }
}

/// The sum of the tangent contributions that are present.
///
/// # Panics
///
/// If none is (the forward sweep only calls a JVP rule when one is).
pub(crate) fn sum_present<'t, T: Real>(
    parts: impl IntoIterator<Item = Option<Var<'t, T>>>,
) -> Var<'t, T> {
    parts
        .into_iter()
        .flatten()
        .reduce(|a, b| a + b)
        .expect("a JVP rule was called with no tangent at all")
}
