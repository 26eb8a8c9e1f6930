//! Exact (Hyvärinen) score matching.
//!
//! The Fisher divergence `½ E_data ‖s_θ(x) - ∇log p_data(x)‖²` needs the
//! unknown data score, but integrating its cross term by parts moves the
//! derivative onto the model: up to a constant that does not depend on θ it
//! equals `E_data[tr ∇ₓs_θ(x) + ½‖s_θ(x)‖²]`. For an energy model
//! `s = -∇E` does not involve `Z`, so neither does the loss, and
//! `tr ∇ₓs = -tr H` with `H` the Hessian of `E` in `x`.

use super::{
    batched_jacobian_trace, check_inputs, energies, reduce, row_norm2, scores, EnergyFn, ScoreFn,
};
use crate::error::Error;
use crate::real::Real;
use crate::tape::{grad, Tape, Var};
use crate::tensor::Tensor;

/// Exact score matching for an energy model: the (weighted) mean over the
/// batch of `ℓ(x) = -tr H(x) + ½‖∇ₓE(x)‖²`, `H = ∇²ₓE`.
///
/// `x` (shape `[B, d]`) is recorded as an input, `∇ₓE` as one batched gradient
/// of `Σ_b E(x_b)`, and the traces by `d` forward sweeps (Hessian-vector
/// products `H eⱼ`) over that one recorded gradient. The result is a scalar on
/// `tape`; `grad(loss, &params)` is the parameter gradient.
///
/// # Errors
///
/// As listed in the [module documentation](super): a bad batch or weights,
/// an energy not of shape `[B]`, a non-finite loss, and the engine's errors
/// for a `Var` of another tape.
///
/// # Examples
///
/// `E(x) = ½‖x‖²` has `∇E = x`, `H = I`: `ℓ(x) = -d + ½‖x‖²`.
///
/// ```
/// use scoretape::objective::exact_score_matching;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::from_rows(&[vec![1.0, 2.0], vec![0.0, 2.0]]).unwrap();
/// let loss = exact_score_matching(&tape, &|x| (x * x).sum_axis(1) * 0.5, &x, None).unwrap();
/// assert!((loss.item() - ((-2.0 + 2.5) + (-2.0 + 2.0)) / 2.0).abs() < 1e-14);
/// ```
pub fn exact_score_matching<'t, T: Real>(
    tape: &'t Tape<T>,
    energy: EnergyFn<'_, 't, T>,
    x: &Tensor<T>,
    weights: Option<&Tensor<T>>,
) -> Result<Var<'t, T>, Error> {
    let (batch, _) = check_inputs(x, weights)?;
    let x = tape.input(x.clone());
    let e = energies(energy, x, batch)?;
    let g = grad(e.sum(), &[x])?[0];
    let trace_h = batched_jacobian_trace(g, x)?;
    let per_sample = row_norm2(g) * T::cast(0.5) - trace_h;
    reduce(tape, per_sample, weights)
}

/// Exact score matching for a score model `s` (not necessarily a gradient):
/// the (weighted) mean of `ℓ(x) = tr ∇ₓs(x) + ½‖s(x)‖²`.
///
/// The trace of the Jacobian takes `d` forward sweeps (JVPs `∇ₓs eⱼ`) of the
/// recorded score.
///
/// # Errors
///
/// As for [`exact_score_matching`], with a score not shaped like `x` an
/// [`Error::Shape`].
///
/// # Examples
///
/// `s(x) = -2x` has `tr ∇s = -2d`: `ℓ(x) = -2d + 2‖x‖²`.
///
/// ```
/// use scoretape::objective::exact_score_matching_score_model;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::from_rows(&[vec![1.0, 0.5]]).unwrap();
/// let loss = exact_score_matching_score_model(&tape, &|x| x * -2.0, &x, None).unwrap();
/// assert!((loss.item() - (-4.0 + 2.0 * 1.25)).abs() < 1e-14);
/// ```
pub fn exact_score_matching_score_model<'t, T: Real>(
    tape: &'t Tape<T>,
    score: ScoreFn<'_, 't, T>,
    x: &Tensor<T>,
    weights: Option<&Tensor<T>>,
) -> Result<Var<'t, T>, Error> {
    check_inputs(x, weights)?;
    let x = tape.input(x.clone());
    let s = scores(score, x)?;
    let trace = batched_jacobian_trace(s, x)?;
    let per_sample = trace + row_norm2(s) * T::cast(0.5);
    reduce(tape, per_sample, weights)
}
