//! Score-matching objectives: losses that fit an unnormalised density
//! `p(x) = exp(-E(x)) / Z` without ever computing the partition function `Z`.
//!
//! Each objective is a function from a model, a batch `x` of shape `[B, d]`,
//! optional per-sample weights and explicit randomness to a **scalar loss
//! `Var`** on a tape. The loss is recorded like any other computation, so the
//! parameter gradient is one call: `grad(loss, &params)`.
//!
//! | objective | model | per-sample loss ℓ(x) | derivative work |
//! |-----------|-------|----------------------|-----------------|
//! | [`exact_score_matching`] | energy | `-tr H + ½‖∇E‖²` | `d` HVPs |
//! | [`exact_score_matching_score_model`] | score | `tr ∇s + ½‖s‖²` | `d` JVPs |
//! | [`exact_score_matching_value_and_grad`] | energy | the same, with its parameter gradient, one HVP graph in memory | `d` HVPs |
//! | [`exact_score_matching_with_trace`], [`exact_score_matching_value_and_grad_with_trace`] | energy | the same, the trace by `d` HVPs or by the forward Laplacian ([`ExactTrace`]) | `d` HVPs, or one forward sweep with `d`-fold jets |
//! | [`generalized_score_matching`] | energy on `[0, ∞)ᵈ` | `Σⱼ [½h(xⱼ)(∂ⱼE)² - h(xⱼ)∂²ⱼE - h'(xⱼ)∂ⱼE]`, `h` a [`ScoreWeight`] | one forward sweep with `d`-fold jets seeded `√h eⱼ`, one JVP |
//! | [`sliced_score_matching`] | energy | `-vᵀHv + ½(vᵀ∇E)²` | `M` HVPs |
//! | [`sliced_score_matching_score_model`] | score | `vᵀ(∇s)v + ½(vᵀs)²` | `M` JVPs |
//! | [`finite_difference_sliced_score_matching`] | energy | `-(E₊ + E₋ - 2E)/ε² + ½((E₊ - E₋)/2ε)²`, `E± = E(x ± εv)`: the sliced loss to `O(ε²)` | one energy call on `(2M+1)B` rows, no input derivative |
//! | [`denoising_score_matching`] | energy | `½‖-∇E(x̃) + ε/σ‖²` | one gradient |
//! | [`denoising_score_matching_score_model`] | score | `½‖s(x̃) + ε/σ‖²` | none |
//! | [`denoising_score_matching_multilevel`] | σ-conditioned score | `½‖σ s(x̃, σ) + ε‖²` | none |
//! | [`ratio_matching`] | energy on `{0,1}^d` | `Σⱼ sigmoid(E(x) - E(flipⱼ x))²` | one energy call on `B(d+1)` rows |
//! | [`fisher_divergence`] | energy | `½‖-∇E - s_data‖²` | one gradient |
//!
//! Here `H = ∇²ₓE` and `s = -∇ₓE` (the binding sign conventions of the
//! design notes), `v` a random projection with `E[vvᵀ] = I`, `x̃ = x + σε`.
//!
//! # Conventions
//!
//! - **Models as closures.** An energy is any `Fn(Var) -> Var` mapping a batch
//!   `[B, d]` to energies `[B]`; a score model maps `[B, d]` to scores
//!   `[B, d]`. Samples must not interact inside the closure (no batch
//!   statistics): the objectives read per-sample derivatives off one batched
//!   derivative of the summed energy.
//! - **Reductions.** The batch loss is the mean over samples of per-sample
//!   *sums* over dimensions (never a mean over dimensions). With weights
//!   `w_b ≥ 0` it is the weighted mean `Σ w_b ℓ_b / Σ w_b`, so weights need not
//!   be normalised and weighting every sample equally changes nothing.
//! - **Projections** for sliced score matching have `E[vvᵀ] = I`; the sphere
//!   variant is uniform on the sphere of radius `√d` (not the unit sphere), so
//!   every variant estimates the exact loss itself, not the exact loss over `d`.
//! - **Randomness** is always explicit: a generator ([`crate::random::Rng64`])
//!   or the draws themselves as a tensor, so another implementation's numbers
//!   can be reproduced exactly.
//!
//! # Errors
//!
//! Every objective returns a typed [`Error`] for bad data: an
//! empty batch or a zero dimension ([`Error::Shape`]), NaN or infinite entries,
//! negative or all-zero weights, `σ ≤ 0`, a finite-difference step `ε ≤ 0`,
//! negative data for generalized score matching, zero projections, non-binary data for
//! ratio matching ([`Error::InvalidData`]), tensors whose shapes disagree with
//! the batch or a model output of the wrong shape ([`Error::Shape`]), and a
//! non-finite loss ([`Error::Numerical`]). A batch whose width is not the
//! model's is an [`Error::Shape`] naming both: the crate's models record it
//! on the tape ([`Tape::fail`]) instead of panicking, and the objective
//! returns it and removes what the closure recorded.
//!
//! # Examples
//!
//! ```
//! use scoretape::model::{Activation, Energy, Model, MlpEnergy};
//! use scoretape::objective::exact_score_matching;
//! use scoretape::{grad, Tape, Tensor};
//! let model = MlpEnergy::<f64>::new(2, &[8], Activation::Softplus, 0).unwrap();
//! let x = Tensor::from_rows(&[vec![0.5, -1.0], vec![1.5, 0.2]]).unwrap();
//! let tape = Tape::new();
//! let params = model.params().record(&tape);
//! let loss = exact_score_matching(&tape, &|x| model.energy(&params, x), &x, None).unwrap();
//! let gradient = grad(loss, &params).unwrap(); // one tensor per parameter
//! assert_eq!(gradient.len(), params.len());
//! ```

mod denoising;
mod exact;
mod fd_sliced;
mod fisher;
mod generalized;
mod ratio;
mod select;
mod sliced;

pub use denoising::{
    denoising_score_matching, denoising_score_matching_multilevel,
    denoising_score_matching_score_model, tweedie_denoise, tweedie_denoise_energy,
    tweedie_denoise_score_model, Noise, NoiseLevels,
};
pub use exact::{
    exact_score_matching, exact_score_matching_score_model, exact_score_matching_value_and_grad,
    exact_score_matching_value_and_grad_with_trace, exact_score_matching_with_trace, ExactTrace,
    LAPLACIAN_GROUP,
};
pub use fd_sliced::{fd_ssm_epsilon, finite_difference_sliced_score_matching};
pub use fisher::{fisher_divergence, fisher_divergence_score_model};
pub(crate) use generalized::check_nonnegative;
pub use generalized::{generalized_score_matching, ScoreWeight};
pub(crate) use ratio::check_binary;
pub use ratio::{flip_each_bit, ratio_matching};
pub use select::{Draws, Fittable, ModelForm, Objective};
pub use sliced::{
    draw_projections, sliced_score_matching, sliced_score_matching_score_model, ProjectionKind,
    Projections, SlicedVariant,
};

use crate::error::Error;
use crate::real::Real;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;
use alloc::format;

/// The guide `docs/objectives.md`, compiled here so that its examples run
/// as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/objectives.md")]
pub struct ObjectivesGuide;

/// An energy model as the objectives take it: a batch `[B, d]` to energies `[B]`.
///
/// ```
/// use scoretape::objective::EnergyFn;
/// use scoretape::Var;
/// fn standard_normal_energy<'t>(x: Var<'t, f64>) -> Var<'t, f64> {
///     (x.square() * 0.5).sum_axis(1)
/// }
/// let energy: EnergyFn<'_, '_, f64> = &standard_normal_energy;
/// # let _ = energy;
/// ```
pub type EnergyFn<'a, 't, T> = &'a dyn Fn(Var<'t, T>) -> Var<'t, T>;

/// A score model as the objectives take it: a batch `[B, d]` to scores `[B, d]`.
///
/// ```
/// use scoretape::objective::ScoreFn;
/// use scoretape::Var;
/// fn standard_normal_score<'t>(x: Var<'t, f64>) -> Var<'t, f64> {
///     -x
/// }
/// let score: ScoreFn<'_, '_, f64> = &standard_normal_score;
/// # let _ = score;
/// ```
pub type ScoreFn<'a, 't, T> = &'a dyn Fn(Var<'t, T>) -> Var<'t, T>;

/// Checks a data batch: two-dimensional, non-empty, finite. Returns `(B, d)`.
pub(crate) fn check_batch<T: Real>(x: &Tensor<T>, what: &str) -> Result<(usize, usize), Error> {
    let [batch, dim] = x.shape()[..] else {
        return Err(Error::Shape(format!(
            "{what} must have shape [B, d], got {:?}",
            x.shape()
        )));
    };
    if batch == 0 || dim == 0 {
        return Err(Error::Shape(format!(
            "{what} is empty (shape {:?}); a loss needs at least one sample of dimension ≥ 1",
            x.shape()
        )));
    }
    check_finite(x, what)?;
    Ok((batch, dim))
}

/// Checks that every entry is finite, naming the first that is not.
pub(crate) fn check_finite<T: Real>(t: &Tensor<T>, what: &str) -> Result<(), Error> {
    match t.data().iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::InvalidData(format!(
            "{what} has a non-finite entry {} at {:?}",
            t.data()[i].as_f64(),
            unravel(t.shape(), i)
        ))),
    }
}

/// Checks that a tensor has exactly `shape`.
pub(crate) fn check_shape<T: Real>(
    t: &Tensor<T>,
    shape: &[usize],
    what: &str,
) -> Result<(), Error> {
    if t.shape() != shape {
        return Err(Error::Shape(format!(
            "{what} must have shape {shape:?}, got {:?}",
            t.shape()
        )));
    }
    Ok(())
}

/// Checks a noise level: finite and strictly positive.
pub(crate) fn check_sigma<T: Real>(sigma: T) -> Result<(), Error> {
    if !(sigma.is_finite() && sigma > T::zero()) {
        return Err(Error::InvalidData(format!(
            "the noise level σ must be finite and > 0, got {}",
            sigma.as_f64()
        )));
    }
    Ok(())
}

/// The multi-index of flat position `i` in a row-major tensor of `shape`.
pub(crate) fn unravel(shape: &[usize], mut i: usize) -> alloc::vec::Vec<usize> {
    let mut index = alloc::vec![0; shape.len()];
    for (slot, &n) in index.iter_mut().zip(shape).rev() {
        *slot = i % n;
        i /= n;
    }
    index
}

/// Checks per-sample weights: shape `[B]`, finite, non-negative, not all zero.
fn check_weights<T: Real>(weights: &Tensor<T>, batch: usize) -> Result<(), Error> {
    check_shape(weights, &[batch], "the weights")?;
    check_finite(weights, "the weights")?;
    if let Some(i) = weights.data().iter().position(|&w| w < T::zero()) {
        return Err(Error::InvalidData(format!(
            "weight {i} is negative ({})",
            weights.data()[i].as_f64()
        )));
    }
    if weights.sum() <= T::zero() {
        return Err(Error::InvalidData(
            "the weights sum to zero, so no sample counts".into(),
        ));
    }
    Ok(())
}

/// The batch loss from per-sample losses `[B]`: their mean, or their weighted
/// mean `Σ w_b ℓ_b / Σ w_b`. A loss that is not finite is an error rather
/// than a number to optimise.
pub(crate) fn reduce<'t, T: Real>(
    tape: &'t Tape<T>,
    per_sample: Var<'t, T>,
    weights: Option<&Tensor<T>>,
) -> Result<Var<'t, T>, Error> {
    let loss = match weights {
        None => per_sample.mean(),
        Some(w) => (per_sample * tape.constant(w.clone())).sum() / w.sum(),
    };
    let value = loss.item();
    if !value.is_finite() {
        return Err(Error::Numerical(format!(
            "the loss is not finite ({})",
            value.as_f64()
        )));
    }
    Ok(loss)
}

/// Validates the batch and the weights together. Returns `(B, d)`.
pub(crate) fn check_inputs<T: Real>(
    x: &Tensor<T>,
    weights: Option<&Tensor<T>>,
) -> Result<(usize, usize), Error> {
    let (batch, dim) = check_batch(x, "the batch x")?;
    if let Some(w) = weights {
        check_weights(w, batch)?;
    }
    Ok((batch, dim))
}

/// Applies an energy closure and checks that it returns one energy per sample.
///
/// A model that rejects `x` (data of the wrong width) records the error on the
/// tape ([`Tape::fail`]); it is returned here, and the closure's nodes are
/// removed with it, so the caller's tape serves the next, correct call.
pub(crate) fn energies<'t, T: Real>(
    energy: EnergyFn<'_, 't, T>,
    x: Var<'t, T>,
    batch: usize,
) -> Result<Var<'t, T>, Error> {
    let mark = x.tape().mark();
    let e = energy(x);
    let value = e.try_value().inspect_err(|_| x.tape().rewind(mark))?;
    if value.shape() != [batch] {
        return Err(Error::Shape(format!(
            "the energy must map a batch of {batch} samples to shape [{batch}], got {:?}",
            e.shape()
        )));
    }
    Ok(e)
}

/// Applies a score closure and checks that it returns one score per sample.
/// A rejected `x` is handled as in [`energies`].
pub(crate) fn scores<'t, T: Real>(
    score: ScoreFn<'_, 't, T>,
    x: Var<'t, T>,
) -> Result<Var<'t, T>, Error> {
    let mark = x.tape().mark();
    let s = score(x);
    let value = s.try_value().inspect_err(|_| x.tape().rewind(mark))?;
    let (got, want) = (value.shape().to_vec(), x.shape());
    if got != want {
        return Err(Error::Shape(format!(
            "the score must have the shape of its input {want:?}, got {got:?}"
        )));
    }
    Ok(s)
}

/// Row sums `Σⱼ a_bj b_bj` of two `[B, d]` batches: per-sample dot products, `[B]`.
pub(crate) fn row_dot<'t, T: Real>(a: Var<'t, T>, b: Var<'t, T>) -> Var<'t, T> {
    (a * b).sum_axis(1)
}

/// Per-sample squared norms `‖a_b‖²`, `[B]`.
pub(crate) fn row_norm2<T: Real>(a: Var<'_, T>) -> Var<'_, T> {
    a.square().sum_axis(1)
}
