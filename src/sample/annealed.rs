//! Annealed Langevin dynamics over the noise levels of a σ-conditioned score
//! model (Song & Ermon 2019), with an optional final Tweedie denoising step.

use super::{check_batch, check_score_shape, check_step, langevin_move};
use crate::error::Error;
use crate::objective::tweedie_denoise;
use crate::random::Rng64;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;

/// The schedule of [`annealed_langevin`].
///
/// ```
/// use scoretape::sample::{geometric_sigmas, AnnealedConfig};
/// let config = AnnealedConfig {
///     sigmas: geometric_sigmas(1.0, 0.01, 10).unwrap(),
///     epsilon: 2e-5,
///     steps_per_level: 100,
///     denoise: true,
/// };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AnnealedConfig<T> {
    /// The noise levels σ₁, …, σ_L, visited in this order (largest first, as a
    /// rule); each positive.
    pub sigmas: Vec<T>,
    /// ε, the step size at the last level: level i uses α_i = ε·σ_i²/σ_L².
    pub epsilon: T,
    /// T, the Langevin steps at each level.
    pub steps_per_level: usize,
    /// Whether to finish with the Tweedie step x ← x + σ_L²·s(x, σ_L).
    pub denoise: bool,
}

impl<T: Real> AnnealedConfig<T> {
    /// Checks the schedule.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if there are no levels, a level is not positive
    /// and finite, or ε is not positive and finite.
    ///
    /// ```
    /// use scoretape::sample::AnnealedConfig;
    /// let bad = AnnealedConfig { sigmas: vec![1.0, -0.1], epsilon: 1e-3, steps_per_level: 10, denoise: false };
    /// assert!(bad.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        if self.sigmas.is_empty() {
            return Err(Error::InvalidData(
                "annealed Langevin needs at least one noise level".into(),
            ));
        }
        for &s in &self.sigmas {
            check_step(s, "a noise level σ")?;
        }
        check_step(self.epsilon, "the annealed Langevin step ε")
    }
}

/// `levels` noise levels from `largest` down to `smallest`, evenly spaced in
/// log σ (a geometric sequence), as NCSN uses: σ_i = σ₁·(σ_L/σ₁)^((i-1)/(L-1)).
///
/// # Errors
///
/// [`Error::InvalidData`] unless `0 < smallest ≤ largest` (finite) and
/// `levels ≥ 1`; with one level, `largest` must equal `smallest`.
///
/// ```
/// use scoretape::sample::geometric_sigmas;
/// let s = geometric_sigmas(1.0f64, 0.01, 3).unwrap();
/// assert!((s[1] - 0.1).abs() < 1e-15);
/// assert_eq!((s[0], s[2]), (1.0, 0.01));
/// ```
pub fn geometric_sigmas<T: Real>(largest: T, smallest: T, levels: usize) -> Result<Vec<T>, Error> {
    check_step(largest, "the largest noise level")?;
    check_step(smallest, "the smallest noise level")?;
    if smallest > largest || levels == 0 || (levels == 1 && smallest != largest) {
        return Err(Error::InvalidData(format!(
            "cannot space {levels} noise levels from {largest} down to {smallest}"
        )));
    }
    if levels == 1 {
        return Ok(alloc::vec![largest]);
    }
    let ratio = smallest / largest;
    let last = T::cast((levels - 1) as f64);
    Ok((0..levels)
        .map(|i| match i {
            0 => largest,
            i if i == levels - 1 => smallest,
            i => largest * ratio.powf(T::cast(i as f64) / last),
        })
        .collect())
}

/// Annealed Langevin dynamics: for each level σ_i of `config.sigmas` in turn,
/// `config.steps_per_level` Langevin steps on the noised density q_{σ_i},
///
/// ```text
/// α_i = ε·σ_i²/σ_L²
/// x ← x + α_i·s(x, σ_i) + √(2α_i)·ξ,   ξ ~ N(0, I)
/// ```
///
/// then, if `config.denoise`, the Tweedie step x ← x + σ_L²·s(x, σ_L)
/// (the posterior mean E[x | x̃] under q_{σ_L}, by
/// [`tweedie_denoise`](crate::objective::tweedie_denoise)), which removes the
/// last level's noise. `score(x, σ)` is the noise-conditioned score `[n, d]`;
/// the step sizes follow the convention of the [module docs](super), so α_i
/// scales with σ_i² as the noised densities' curvature falls with it.
///
/// # Errors
///
/// As [`langevin`](super::langevin), and [`AnnealedConfig::validate`]'s errors.
///
/// # Examples
///
/// ```
/// use scoretape::random::{normal_tensor, seeded};
/// use scoretape::sample::{annealed_langevin, geometric_sigmas, AnnealedConfig};
/// use scoretape::Tensor;
/// // Data N(2, 0.5²); the noised density is N(2, 0.25 + σ²).
/// let score = |x: &Tensor<f64>, s: f64| Ok(x.map(|v| (2.0 - v) / (0.25 + s * s)));
/// let config = AnnealedConfig {
///     sigmas: geometric_sigmas(3.0, 0.05, 8).unwrap(),
///     epsilon: 1e-3,
///     steps_per_level: 100,
///     denoise: true,
/// };
/// let x0 = normal_tensor::<f64, _>(&[2000, 1], &mut seeded(4)).map(|v| 3.0 * v);
/// let x = annealed_langevin(score, x0, &config, &mut seeded(5)).unwrap();
/// assert!((x.mean() - 2.0).abs() < 0.05);
/// ```
pub fn annealed_langevin<T, S>(
    mut score: S,
    x0: Tensor<T>,
    config: &AnnealedConfig<T>,
    rng: &mut Rng64,
) -> Result<Tensor<T>, Error>
where
    T: Real,
    S: FnMut(&Tensor<T>, T) -> Result<Tensor<T>, Error>,
{
    check_batch(&x0, "the initial states")?;
    config.validate()?;
    let last = *config.sigmas.last().expect("validated: at least one level");
    let mut x = x0;
    for (level, &sigma) in config.sigmas.iter().enumerate() {
        let alpha = config.epsilon * (sigma * sigma) / (last * last);
        for k in 0..config.steps_per_level {
            let s = score(&x, sigma)?;
            check_score_shape(&s, &x)?;
            x = langevin_move(&x, &s, alpha, rng);
            if !x.all_finite() {
                return Err(Error::Numerical(format!(
                    "annealed Langevin, level {} (σ = {sigma}), step {}: non-finite state \
                     (ε too large?)",
                    level + 1,
                    k + 1
                )));
            }
        }
    }
    if config.denoise {
        let s = score(&x, last)?;
        check_score_shape(&s, &x)?;
        x = tweedie_denoise(&x, &s, last)?;
    }
    Ok(x)
}
