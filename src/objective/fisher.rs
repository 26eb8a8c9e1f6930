//! The Fisher divergence to a known data score, for judging a fit.
//!
//! Score matching minimises `½ E_data‖s_θ(x) - ∇log p_data(x)‖²` without
//! knowing the data score; when it *is* known (synthetic data from a known
//! density) this function evaluates the divergence itself, so a fitted
//! model can be scored against the truth.

use super::{check_finite, check_inputs, check_shape, energies, reduce, row_norm2, scores};
use super::{EnergyFn, ScoreFn};
use crate::error::Error;
use crate::real::Real;
use crate::tape::{grad, Tape, Var};
use crate::tensor::Tensor;

/// The Fisher divergence of an energy model from data with known score: the
/// (weighted) mean over the batch of `½‖s_θ(x) - s_data(x)‖²`, `s_θ = -∇ₓE`.
/// Recorded on the tape like the objectives (differentiable in θ).
///
/// # Errors
///
/// As listed in the [module documentation](super); [`Error::Shape`] /
/// [`Error::InvalidData`] if `data_score` is not a finite `[B, d]` tensor.
///
/// # Examples
///
/// Data `N(0, I)` has score `-x`; the model `E = ½‖x‖²` is exact:
///
/// ```
/// use scoretape::objective::fisher_divergence;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::from_rows(&[vec![1.0, -0.5], vec![0.3, 2.0]]).unwrap();
/// let data_score = x.map(|v| -v);
/// assert_eq!(fisher_divergence(&tape, &|x| (x * x).sum_axis(1) * 0.5, &x, &data_score, None).unwrap().item(), 0.0);
/// ```
pub fn fisher_divergence<'t, T: Real>(
    tape: &'t Tape<T>,
    energy: EnergyFn<'_, 't, T>,
    x: &Tensor<T>,
    data_score: &Tensor<T>,
    weights: Option<&Tensor<T>>,
) -> Result<Var<'t, T>, Error> {
    let (batch, dim) = check_inputs(x, weights)?;
    check_data_score(data_score, batch, dim)?;
    let x = tape.input(x.clone());
    let e = energies(energy, x, batch)?;
    let g = grad(e.sum(), &[x])?[0];
    // s_θ - s_data = -(∇E + s_data)
    let per_sample = row_norm2(g + tape.constant(data_score.clone())) * T::cast(0.5);
    reduce(tape, per_sample, weights)
}

/// The Fisher divergence of a score model from data with known score: the
/// (weighted) mean of `½‖s_θ(x) - s_data(x)‖²`.
///
/// # Errors
///
/// As for [`fisher_divergence`], with a score not shaped like `x` an
/// [`Error::Shape`].
///
/// # Examples
///
/// ```
/// use scoretape::objective::fisher_divergence_score_model;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::from_rows(&[vec![1.0, 2.0]]).unwrap();
/// let data_score = Tensor::from_rows(&[vec![0.0, 0.0]]).unwrap();
/// let d = fisher_divergence_score_model(&tape, &|x| x, &x, &data_score, None).unwrap();
/// assert_eq!(d.item(), 2.5); // ½(1 + 4)
/// ```
pub fn fisher_divergence_score_model<'t, T: Real>(
    tape: &'t Tape<T>,
    score: ScoreFn<'_, 't, T>,
    x: &Tensor<T>,
    data_score: &Tensor<T>,
    weights: Option<&Tensor<T>>,
) -> Result<Var<'t, T>, Error> {
    let (batch, dim) = check_inputs(x, weights)?;
    check_data_score(data_score, batch, dim)?;
    let x = tape.constant(x.clone());
    let s = scores(score, x)?;
    let per_sample = row_norm2(s - tape.constant(data_score.clone())) * T::cast(0.5);
    reduce(tape, per_sample, weights)
}

fn check_data_score<T: Real>(
    data_score: &Tensor<T>,
    batch: usize,
    dim: usize,
) -> Result<(), Error> {
    check_shape(data_score, &[batch, dim], "the data score")?;
    check_finite(data_score, "the data score")
}
