//! Unadjusted Langevin dynamics.

use super::{check_batch, check_score_shape, check_step, langevin_move};
use crate::error::Error;
use crate::random::Rng64;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;

/// Runs `n_steps` of unadjusted Langevin dynamics on every row of `x0` (one
/// chain per row) and returns the final states:
///
/// ```text
/// x ← x + α·s(x) + √(2α)·ξ,   ξ ~ N(0, I)
/// ```
///
/// with `α = step` and `s = score`. For small α the chains approach the law
/// whose score is `s`, with a bias of order α (for N(μ, σ²) the stationary
/// variance is σ²/(1 - α/(2σ²)); see the [module docs](super)); [`mala`](super::mala)
/// removes the bias.
///
/// # Errors
///
/// [`Error::Shape`] if `x0` is not a non-empty `[n, d]` batch or the score
/// returns another shape; [`Error::InvalidData`] if `x0` is not finite or the
/// step is not positive; [`Error::Numerical`] naming the step at which a
/// state stopped being finite (the chain diverged: the step is too large for
/// the score's curvature); any error of `score`.
///
/// # Examples
///
/// ```
/// use scoretape::random::seeded;
/// use scoretape::sample::langevin;
/// use scoretape::Tensor;
/// // N(0, 1): s(x) = -x. With α = 0.5 the stationary variance is 1/(1 - 0.25).
/// let x = langevin(|x: &Tensor<f64>| Ok(x.map(|v| -v)), Tensor::zeros(&[4000, 1]), 0.5, 50, &mut seeded(1)).unwrap();
/// let var = x.map(|v| v * v).mean();
/// assert!((var - 4.0 / 3.0).abs() < 0.1);
/// ```
pub fn langevin<T, S>(
    mut score: S,
    x0: Tensor<T>,
    step: T,
    n_steps: usize,
    rng: &mut Rng64,
) -> Result<Tensor<T>, Error>
where
    T: Real,
    S: FnMut(&Tensor<T>) -> Result<Tensor<T>, Error>,
{
    check_batch(&x0, "the initial states")?;
    check_step(step, "the Langevin step size")?;
    let mut x = x0;
    for k in 0..n_steps {
        let s = score(&x)?;
        check_score_shape(&s, &x)?;
        x = langevin_move(&x, &s, step, rng);
        if !x.all_finite() {
            return Err(Error::Numerical(format!(
                "Langevin step {} of {n_steps} produced a non-finite state (step size too large?)",
                k + 1
            )));
        }
    }
    Ok(x)
}
