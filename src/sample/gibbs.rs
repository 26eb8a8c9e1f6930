//! Gibbs sampling of a Boltzmann machine, the sampler for binary models.
//!
//! A Boltzmann machine `E(x) = -½xᵀWx - bᵀx` (symmetric `W`, zero diagonal)
//! is a distribution on `{0, 1}^d` only, so the Langevin samplers, which
//! follow a score on `ℝᵈ`, do not apply. Its conditionals are simple instead:
//! flipping bit `i` changes the energy by
//! `E(x | xᵢ = 1) - E(x | xᵢ = 0) = -(bᵢ + Σⱼ Wᵢⱼ xⱼ)`, so
//!
//! ```text
//! p(xᵢ = 1 | x₋ᵢ) = sigmoid(bᵢ + Σⱼ Wᵢⱼ xⱼ)
//! ```
//!
//! and redrawing each bit in turn from it leaves `p` invariant.

use super::check_batch;
use crate::error::Error;
use crate::model::{Boltzmann, Model};
use crate::objective::check_binary;
use crate::random::{bernoulli_tensor, Rng64};
use crate::real::sigmoid;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;

/// Runs `sweeps` sweeps of systematic-scan Gibbs sampling on every row of `x0`
/// (one chain per row, each a state in `{0, 1}^d`) and returns the final
/// states.
///
/// A sweep redraws bits `i = 0, …, d-1` in order, each from its conditional
/// `p(xᵢ = 1 | x₋ᵢ) = sigmoid(bᵢ + Σⱼ Wᵢⱼ xⱼ)` given the current values of
/// the others: setting bit `i` changes the energy `-½xᵀWx - bᵀx` by
/// `-(bᵢ + Σⱼ Wᵢⱼ xⱼ)` (`W` symmetric with zero diagonal), so the odds of
/// `xᵢ = 1` are `exp(bᵢ + Σⱼ Wᵢⱼ xⱼ)`. The chains are run one after
/// another, each drawing its bits from `rng` in that order, so a seed fixes
/// the result. The chain's law converges to the machine's distribution
/// geometrically in the number of sweeps; independent chains give independent
/// samples.
///
/// # Errors
///
/// [`Error::Shape`] if `x0` is not a non-empty `[n, d]` batch with `d` the
/// model's dimension (naming both); [`Error::InvalidData`] if an entry of
/// `x0` is not 0 or 1 (naming the first); [`Error::Numerical`] if a parameter
/// of the model is not finite.
///
/// # Examples
///
/// One bit with bias `b` is 1 with probability `sigmoid(b)`:
///
/// ```
/// use scoretape::model::Boltzmann;
/// use scoretape::random::{bernoulli_tensor, seeded};
/// use scoretape::sample::gibbs;
/// use scoretape::Tensor;
/// let model = Boltzmann::from_parts(&Tensor::zeros(&[1, 1]), &Tensor::vector(&[1.0])).unwrap();
/// let mut rng = seeded(0);
/// let start = bernoulli_tensor::<f64, _>(&[20_000, 1], 0.5, &mut rng);
/// let x = gibbs(&model, start, 1, &mut rng).unwrap();
/// let expected = 1.0 / (1.0 + (-1.0f64).exp());
/// assert!((x.mean() - expected).abs() < 0.01);
/// ```
pub fn gibbs<T: Real>(
    model: &Boltzmann<T>,
    x0: Tensor<T>,
    sweeps: usize,
    rng: &mut Rng64,
) -> Result<Tensor<T>, Error> {
    let d = model.dim();
    let (n, columns) = check_batch(&x0, "the initial states")?;
    if columns != d {
        return Err(Error::Shape(format!(
            "the Boltzmann machine has dimension {d} but the initial states have {columns} columns (shape [{n}, {columns}])"
        )));
    }
    check_binary(&x0, "Gibbs sampling")?;
    let coupling: Vec<f64> = model.coupling().data().iter().map(|v| v.as_f64()).collect();
    let bias: Vec<f64> = model.bias().data().iter().map(|v| v.as_f64()).collect();
    if !coupling.iter().chain(&bias).all(|v| v.is_finite()) {
        return Err(Error::Numerical(
            "the Boltzmann machine has a non-finite parameter, so its conditionals are undefined"
                .into(),
        ));
    }
    let mut states: Vec<bool> = x0.data().iter().map(|&v| v == T::one()).collect();
    for chain in states.chunks_mut(d) {
        for _ in 0..sweeps {
            for i in 0..d {
                let row = &coupling[i * d..(i + 1) * d];
                let field = bias[i]
                    + row
                        .iter()
                        .zip(chain.iter())
                        .filter(|(_, on)| **on)
                        .map(|(w, _)| w)
                        .sum::<f64>();
                chain[i] = bernoulli(sigmoid(field), rng);
            }
        }
    }
    Tensor::from_vec(
        &[n, d],
        states
            .into_iter()
            .map(|on| if on { T::one() } else { T::zero() })
            .collect(),
    )
}

/// One bit, set with probability `p`.
fn bernoulli(p: f64, rng: &mut Rng64) -> bool {
    bernoulli_tensor::<f64, _>(&[], p, rng).item() == 1.0
}
