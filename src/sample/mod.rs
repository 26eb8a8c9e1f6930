//! Sampling from fitted models and evaluating them: Langevin dynamics
//! ([`langevin`]), Metropolis-adjusted Langevin ([`mala`]), annealed Langevin
//! over noise levels with a final Tweedie step ([`annealed_langevin`]), Gibbs
//! sampling of a Boltzmann machine ([`gibbs`]), and the
//! log-partition function and held-out log-likelihood of an energy model
//! ([`log_likelihood`] picks the most exact of a closed form, a 2-D grid
//! ([`log_partition_grid_auto`]) and annealed importance sampling
//! ([`log_partition_ais`]) and reports how far to trust it; the building
//! blocks [`log_partition_importance`], [`log_partition_grid`] and
//! [`held_out_log_likelihood`]), and the pseudo-log-likelihood of a model on
//! bits ([`pseudo_log_likelihood`]), and the kernel Stein discrepancy of a
//! model against data, which needs only the score ([`kernel_stein_discrepancy`]),
//! and the energy distance between samples and data ([`energy_distance`]).
//!
//! Everything here works on plain tensors: `N` chains (or points) at once as
//! one `[N, d]` batch, and the model as a closure on tensors — an energy
//! `[N, d] → [N]`, a score `[N, d] → [N, d]`, or a noise-conditioned score
//! `([N, d], σ) → [N, d]`. The adapters [`energy_fn`], [`score_fn`],
//! [`energy_score_fn`] and [`conditioned_score_fn`] make those closures from a
//! model; any closure of your own (an exact Gaussian score in a test, say)
//! works just as well. The score adapters refuse a model of binary data
//! ([`Support::Binary`](crate::model::Support)): it has no score on `ℝᵈ`, and
//! [`gibbs`] samples it instead.
//!
//! The Langevin convention, used throughout, with step size α and ξ ~ N(0, I):
//!
//! ```text
//! x ← x + α·s(x) + √(2α)·ξ
//! ```
//!
//! It discretises the diffusion dx = ∇log p(x) dt + √2 dW, whose stationary
//! law is p, over time α. For a Gaussian N(μ, σ²) (score -(x-μ)/σ²) the chain is
//! the AR(1) process x' - μ = (1 - α/σ²)(x - μ) + √(2α)ξ; its stationary
//! variance v solves v = (1 - α/σ²)² v + 2α, so
//! v = σ² / (1 - α/(2σ²)) for 0 < α < 2σ²: larger than σ², the bias of the
//! unadjusted chain, which MALA removes.
//!
//! ```
//! use scoretape::random::seeded;
//! use scoretape::sample::langevin;
//! use scoretape::Tensor;
//! // 2000 chains on N(3, 1) in 1-D, from 0.
//! let score = |x: &Tensor<f64>| Ok(x.map(|v| 3.0 - v));
//! let x = langevin(score, Tensor::zeros(&[2000, 1]), 0.1, 200, &mut seeded(0)).unwrap();
//! assert!((x.mean() - 3.0).abs() < 0.1);
//! ```

mod adapters;
mod ais;
mod annealed;
mod energy_distance;
mod gibbs;
mod ksd;
mod langevin;
mod likelihood;
mod loglik;
mod mala;

pub use adapters::{conditioned_score_fn, energy_fn, energy_score_fn, score_fn};
pub use ais::{
    log_partition_ais, sigmoid_schedule, AisConfig, AisEstimate, GROUP_DISAGREEMENT_P,
    MIN_ESS_FRACTION,
};
pub use annealed::{annealed_langevin, geometric_sigmas, AnnealedConfig};
pub use energy_distance::energy_distance;
pub use gibbs::gibbs;
pub use ksd::{kernel_stein_discrepancy, kernel_stein_discrepancy_from_scores};
pub use langevin::langevin;
pub use likelihood::{
    held_out_log_likelihood, log_partition_grid, log_partition_importance, Estimate,
};
pub use loglik::{
    log_likelihood, log_likelihood_with, log_partition, log_partition_grid_auto,
    pseudo_log_likelihood, LogLikelihoodReport, LogPartition, LogZMethod, GRID_MAX_CHANGE,
    GRID_MAX_EDGE_MASS,
};
pub use mala::{mala, MalaOutput};

use crate::error::Error;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;

/// Checks that `x` is a non-empty, finite `[n, d]` batch and returns `(n, d)`.
fn check_batch<T: Real>(x: &Tensor<T>, what: &str) -> Result<(usize, usize), Error> {
    let &[n, d] = x.shape() else {
        return Err(Error::Shape(format!(
            "{what} must be a matrix [n, d], got shape {:?}",
            x.shape()
        )));
    };
    if n == 0 || d == 0 {
        return Err(Error::Shape(format!("{what} is empty (shape [{n}, {d}])")));
    }
    if !x.all_finite() {
        return Err(Error::InvalidData(format!(
            "{what} contains NaN or infinite values"
        )));
    }
    Ok((n, d))
}

/// Checks that a step size is positive and finite.
fn check_step<T: Real>(step: T, what: &str) -> Result<(), Error> {
    let a = step.as_f64();
    if a > 0.0 && a.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidData(format!(
            "{what} = {a} must be positive and finite"
        )))
    }
}

/// Checks that a score has the shape of the batch it was evaluated at.
fn check_score_shape<T: Real>(score: &Tensor<T>, x: &Tensor<T>) -> Result<(), Error> {
    if score.shape() == x.shape() {
        Ok(())
    } else {
        Err(Error::Shape(format!(
            "the score has shape {:?} but the batch has shape {:?}",
            score.shape(),
            x.shape()
        )))
    }
}

/// One Langevin move of every chain: `x + α·s + √(2α)·ξ`, with fresh ξ.
fn langevin_move<T: Real>(
    x: &Tensor<T>,
    score: &Tensor<T>,
    step: T,
    rng: &mut crate::random::Rng64,
) -> Tensor<T> {
    let noise_scale = (step + step).sqrt();
    let noise = crate::random::normal_tensor::<T, _>(x.shape(), rng);
    let drifted = x.zip_map(score, |xi, si| xi + step * si);
    drifted.zip_map(&noise, |di, ni| di + noise_scale * ni)
}
