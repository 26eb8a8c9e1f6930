//! Denoising score matching (Vincent 2011) and Tweedie denoising.
//!
//! Corrupt each sample with Gaussian noise, `x̃ = x + σε`. The score of the
//! corruption kernel is known in closed form, `∇x̃ log q(x̃|x) = -(x̃ - x)/σ² =
//! -ε/σ`, and regressing the model score onto it,
//! `½ E‖s(x̃) + ε/σ‖²`, has the same minimiser as matching the score of the
//! noisy data distribution `q_σ`. No Hessian appears (the target is a number,
//! not a derivative of the model), so the cost is one gradient for an energy
//! model and none for a score model; the price is that the model learns the
//! score of the noised data, `q_σ`, not of the data.

use super::{
    check_batch, check_finite, check_inputs, check_shape, check_sigma, energies, reduce, row_norm2,
    scores, EnergyFn, ScoreFn,
};
use crate::error::Error;
use crate::random::{normal_tensor, Rng64};
use crate::real::Real;
use crate::tape::{grad, Tape, Var};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;
use rand::RngExt;

/// Where the standard-normal noise `ε` (shape `[B, d]`) comes from.
///
/// ```
/// use scoretape::objective::Noise;
/// use scoretape::Tensor;
/// let eps = Tensor::<f64>::zeros(&[4, 2]);
/// assert!(matches!(Noise::Given(&eps), Noise::Given(_)));
/// ```
#[derive(Debug)]
pub enum Noise<'a, T> {
    /// Fresh draws from the generator, `normal_tensor(&[B, d], rng)`.
    Random(&'a mut Rng64),
    /// Given draws, shape `[B, d]`.
    Given(&'a Tensor<T>),
}

impl<T: Real> Noise<'_, T> {
    fn resolve(self, batch: usize, dim: usize) -> Result<Tensor<T>, Error> {
        match self {
            Noise::Random(rng) => Ok(normal_tensor(&[batch, dim], rng)),
            Noise::Given(eps) => {
                check_shape(eps, &[batch, dim], "the noise ε")?;
                check_finite(eps, "the noise ε")?;
                Ok(eps.clone())
            }
        }
    }
}

/// How each sample gets its noise level in [`denoising_score_matching_multilevel`].
///
/// ```
/// use scoretape::objective::NoiseLevels;
/// use scoretape::Tensor;
/// let eps = Tensor::<f64>::zeros(&[2, 3]);
/// let given = NoiseLevels::Given { levels: &[0, 1], noise: &eps };
/// assert!(matches!(given, NoiseLevels::Given { .. }));
/// ```
#[derive(Debug)]
pub enum NoiseLevels<'a, T> {
    /// From the generator: first a level index for each sample, uniform over
    /// the levels, then the noise `ε` as `normal_tensor(&[B, d], rng)`.
    Random(&'a mut Rng64),
    /// Given: `levels[b]` indexes the σ of sample `b`; `noise` is `ε`, `[B, d]`.
    Given {
        /// One level index per sample.
        levels: &'a [usize],
        /// The standard-normal draws, `[B, d]`.
        noise: &'a Tensor<T>,
    },
}

/// `x + σε` for a batch, with `σ` one number or one per row (`[B, 1]`).
fn corrupt<T: Real>(x: &Tensor<T>, sigma: &Tensor<T>, eps: &Tensor<T>) -> Tensor<T> {
    let shift = eps.zip_map(sigma, |e, s| e * s);
    x.zip_map(&shift, |a, b| a + b)
}

/// What both single-level losses start from, after validating the inputs:
/// the noisy batch `x̃ = x + σε` recorded as an input, and the target `ε/σ`
/// (the negated score of `q(x̃|x)`, `-(x̃ - x)/σ²`) as a constant.
fn noisy_batch<'t, T: Real>(
    tape: &'t Tape<T>,
    x: &Tensor<T>,
    sigma: T,
    noise: Noise<'_, T>,
    weights: Option<&Tensor<T>>,
) -> Result<(Var<'t, T>, Var<'t, T>), Error> {
    let (batch, dim) = check_inputs(x, weights)?;
    check_sigma(sigma)?;
    let eps = noise.resolve(batch, dim)?;
    let noisy = tape.input(corrupt(x, &Tensor::scalar(sigma), &eps));
    Ok((noisy, tape.constant(eps.map(|v| v / sigma))))
}

/// Denoising score matching for an energy model at one noise level `σ`: the
/// (weighted) mean over the batch of `ℓ = ½‖s(x̃) + ε/σ‖²` with
/// `x̃ = x + σε` and `s = -∇ₓE`.
///
/// The noisy batch is recorded as an input and `∇x̃E` as one batched
/// gradient, kept on the tape so that `grad(loss, &params)` differentiates
/// through it.
///
/// # Errors
///
/// As listed in the [module documentation](super); also
/// [`Error::InvalidData`] if `σ ≤ 0` or not finite, and [`Error::Shape`] /
/// [`Error::InvalidData`] for given noise not `[B, d]` or not finite.
///
/// # Examples
///
/// For `E = ½‖x‖²` (`s(x̃) = -x̃`) with `x = 0`: `ℓ = ½‖-σε + ε/σ‖²`.
///
/// ```
/// use scoretape::objective::{denoising_score_matching, Noise};
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::zeros(&[1, 2]);
/// let eps = Tensor::from_rows(&[vec![1.0, -2.0]]).unwrap();
/// let loss = denoising_score_matching(&tape, &|x| (x * x).sum_axis(1) * 0.5, &x, 0.5, Noise::Given(&eps), None).unwrap();
/// // residual = ε (1/σ - σ) = 1.5 ε
/// assert!((loss.item() - 0.5 * 2.25 * 5.0).abs() < 1e-14);
/// ```
pub fn denoising_score_matching<'t, T: Real>(
    tape: &'t Tape<T>,
    energy: EnergyFn<'_, 't, T>,
    x: &Tensor<T>,
    sigma: T,
    noise: Noise<'_, T>,
    weights: Option<&Tensor<T>>,
) -> Result<Var<'t, T>, Error> {
    let (noisy, target) = noisy_batch(tape, x, sigma, noise, weights)?;
    let e = energies(energy, noisy, x.shape()[0])?;
    let g = grad(e.sum(), &[noisy])?[0];
    let per_sample = row_norm2(target - g) * T::cast(0.5);
    reduce(tape, per_sample, weights)
}

/// Denoising score matching for a score model at one noise level: the
/// (weighted) mean of `ℓ = ½‖s(x̃) + ε/σ‖²`, `x̃ = x + σε`. No derivative
/// in `x` is taken at all.
///
/// # Errors
///
/// As for [`denoising_score_matching`], with a score not shaped like `x` an
/// [`Error::Shape`].
///
/// # Examples
///
/// The score `s(x̃) = -x̃/σ²` of `q(x̃|x=0)` makes the loss vanish at `x = 0`:
///
/// ```
/// use scoretape::objective::{denoising_score_matching_score_model, Noise};
/// use scoretape::random::seeded;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::zeros(&[5, 3]);
/// let sigma = 0.5;
/// let loss = denoising_score_matching_score_model(
///     &tape, &|x| x * (-1.0 / (sigma * sigma)), &x, sigma, Noise::Random(&mut seeded(0)), None,
/// )
/// .unwrap();
/// assert!(loss.item().abs() < 1e-28);
/// ```
pub fn denoising_score_matching_score_model<'t, T: Real>(
    tape: &'t Tape<T>,
    score: ScoreFn<'_, 't, T>,
    x: &Tensor<T>,
    sigma: T,
    noise: Noise<'_, T>,
    weights: Option<&Tensor<T>>,
) -> Result<Var<'t, T>, Error> {
    let (noisy, target) = noisy_batch(tape, x, sigma, noise, weights)?;
    let s = scores(score, noisy)?;
    let per_sample = row_norm2(s + target) * T::cast(0.5);
    reduce(tape, per_sample, weights)
}

/// Multi-level denoising score matching (NCSN) for a score model conditioned
/// on the noise level: each sample `b` gets a level `σ_b` from `sigmas`, is
/// corrupted to `x̃_b = x_b + σ_b ε_b`, and contributes
/// `λ(σ_b) · ½‖s(x̃_b, σ_b) + ε_b/σ_b‖² = ½‖σ_b s(x̃_b, σ_b) + ε_b‖²` with the
/// weighting `λ(σ) = σ²`, which makes every level's term of order one. The
/// loss is the (weighted) mean over samples.
///
/// `score(x̃, σ)` receives `x̃` of shape `[B, d]` and the per-sample levels as
/// a constant of shape `[B, 1]`, and returns `[B, d]` (this is the shape of
/// [`Score::score`](crate::model::Score::score) with `Some(σ)`).
///
/// # Errors
///
/// As for [`denoising_score_matching`]; also [`Error::InvalidData`] if
/// `sigmas` is empty or holds a `σ ≤ 0`, or a given level index is out of
/// range, and [`Error::Shape`] if the given levels are not one per sample.
///
/// # Examples
///
/// A score model that is exact for `x = 0` at every level, `s(x̃, σ) = -x̃/σ²`:
///
/// ```
/// use scoretape::objective::{denoising_score_matching_multilevel, NoiseLevels};
/// use scoretape::random::seeded;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::zeros(&[8, 2]);
/// let loss = denoising_score_matching_multilevel(
///     &tape, &|x, s| -x / (s * s), &x, &[1.0, 0.1, 0.01], NoiseLevels::Random(&mut seeded(3)), None,
/// )
/// .unwrap();
/// assert!(loss.item().abs() < 1e-24);
/// ```
pub fn denoising_score_matching_multilevel<'t, T: Real>(
    tape: &'t Tape<T>,
    score: &dyn Fn(Var<'t, T>, Var<'t, T>) -> Var<'t, T>,
    x: &Tensor<T>,
    sigmas: &[T],
    levels: NoiseLevels<'_, T>,
    weights: Option<&Tensor<T>>,
) -> Result<Var<'t, T>, Error> {
    let (batch, dim) = check_inputs(x, weights)?;
    if sigmas.is_empty() {
        return Err(Error::InvalidData(
            "multi-level denoising needs at least one noise level".into(),
        ));
    }
    for &sigma in sigmas {
        check_sigma(sigma)?;
    }
    let (level_of, eps) = match levels {
        NoiseLevels::Random(rng) => {
            let level_of: Vec<usize> = (0..batch)
                .map(|_| rng.random_range(0..sigmas.len()))
                .collect();
            (level_of, normal_tensor(&[batch, dim], rng))
        }
        NoiseLevels::Given { levels, noise } => {
            if levels.len() != batch {
                return Err(Error::Shape(format!(
                    "{} noise levels given for a batch of {batch}",
                    levels.len()
                )));
            }
            if let Some(b) = levels.iter().position(|&l| l >= sigmas.len()) {
                return Err(Error::InvalidData(format!(
                    "sample {b} has level index {} but there are {} levels",
                    levels[b],
                    sigmas.len()
                )));
            }
            check_shape(noise, &[batch, dim], "the noise ε")?;
            check_finite(noise, "the noise ε")?;
            (levels.to_vec(), noise.clone())
        }
    };
    let sigma_per_sample = Tensor::from_fn(&[batch, 1], |b| sigmas[level_of[b]]);
    let noisy = tape.input(corrupt(x, &sigma_per_sample, &eps));
    let sigma = tape.constant(sigma_per_sample);
    let s = scores(&|noisy| score(noisy, sigma), noisy)?;
    let per_sample = row_norm2(s * sigma + tape.constant(eps)) * T::cast(0.5);
    reduce(tape, per_sample, weights)
}

/// Tweedie's formula: the posterior mean of the clean sample given a noisy
/// one, `E[x | x̃] = x̃ + σ² ∇log q_σ(x̃)`, here with the score of the noisy
/// distribution given as a tensor: `x̃ + σ² s`.
///
/// # Errors
///
/// [`Error::Shape`] if the shapes differ or `noisy` is not a non-empty
/// `[B, d]` batch; [`Error::InvalidData`] for non-finite entries or `σ ≤ 0`.
///
/// # Examples
///
/// For data at a single point `a`, `q_σ = N(a, σ²I)` has score `-(x̃ - a)/σ²`,
/// and Tweedie returns `a` itself:
///
/// ```
/// use scoretape::objective::tweedie_denoise;
/// use scoretape::Tensor;
/// let (a, sigma) = (2.0, 0.3);
/// let noisy = Tensor::<f64>::from_rows(&[vec![2.5], vec![1.0]]).unwrap();
/// let score = noisy.map(|v| -(v - a) / (sigma * sigma));
/// let clean = tweedie_denoise(&noisy, &score, sigma).unwrap();
/// assert!(clean.data().iter().all(|&v| (v - a).abs() < 1e-14));
/// ```
pub fn tweedie_denoise<T: Real>(
    noisy: &Tensor<T>,
    score: &Tensor<T>,
    sigma: T,
) -> Result<Tensor<T>, Error> {
    check_batch(noisy, "the noisy batch")?;
    check_sigma(sigma)?;
    check_shape(score, noisy.shape(), "the score")?;
    check_finite(score, "the score")?;
    let variance = sigma * sigma;
    Ok(noisy.zip_map(score, |x, s| x + variance * s))
}

/// Tweedie denoising with an energy model's score `s = -∇E`:
/// `x̃ - σ² ∇E(x̃)`. The work is recorded on `tape` and removed again
/// (the tape is rewound to where it was), so the call leaves the tape as it
/// found it; the closure may use `Var`s recorded before the call.
///
/// # Errors
///
/// As for [`tweedie_denoise`], an energy not of shape `[B]`, and a batch
/// whose width is not the model's ([`Error::Shape`] naming both).
///
/// # Examples
///
/// ```
/// use scoretape::objective::tweedie_denoise_energy;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let noisy = Tensor::<f64>::from_rows(&[vec![1.0, -1.0]]).unwrap();
/// // E = ½‖x‖²/τ² (data N(0, τ²I) already noised): x̃ - σ² x̃/τ².
/// let clean = tweedie_denoise_energy(&tape, &|x| (x * x).sum_axis(1) * 0.25, &noisy, 0.5).unwrap();
/// assert_eq!(clean.data(), &[0.875, -0.875]);
/// assert!(tape.is_empty());
/// ```
pub fn tweedie_denoise_energy<'t, T: Real>(
    tape: &'t Tape<T>,
    energy: EnergyFn<'_, 't, T>,
    noisy: &Tensor<T>,
    sigma: T,
) -> Result<Tensor<T>, Error> {
    let (batch, _) = check_batch(noisy, "the noisy batch")?;
    check_sigma(sigma)?;
    let mark = tape.mark();
    let score = (|| {
        let x = tape.input(noisy.clone());
        let e = energies(energy, x, batch)?;
        let g = grad(e.sum(), &[x])?[0];
        Ok::<_, Error>(g.value().map(|v| -v))
    })();
    tape.rewind(mark);
    tweedie_denoise(noisy, &score?, sigma)
}

/// Tweedie denoising with a score model: `x̃ + σ² s(x̃)`. For a σ-conditioned
/// model, close over the level: `&|x| net(x, σ)`. The tape is left as found.
///
/// # Errors
///
/// As for [`tweedie_denoise`], a score not shaped like `noisy`, and a batch
/// whose width is not the model's ([`Error::Shape`] naming both).
///
/// # Examples
///
/// ```
/// use scoretape::objective::tweedie_denoise_score_model;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let noisy = Tensor::<f64>::from_rows(&[vec![3.0]]).unwrap();
/// let clean = tweedie_denoise_score_model(&tape, &|x| (x - 1.0) * -4.0, &noisy, 0.5).unwrap();
/// assert_eq!(clean.data(), &[1.0]); // point mass at 1 under σ = 0.5
/// ```
pub fn tweedie_denoise_score_model<'t, T: Real>(
    tape: &'t Tape<T>,
    score: ScoreFn<'_, 't, T>,
    noisy: &Tensor<T>,
    sigma: T,
) -> Result<Tensor<T>, Error> {
    check_batch(noisy, "the noisy batch")?;
    check_sigma(sigma)?;
    let mark = tape.mark();
    let s = (|| {
        let x = tape.constant(noisy.clone());
        Ok::<_, Error>(scores(score, x)?.value().as_ref().clone())
    })();
    tape.rewind(mark);
    tweedie_denoise(noisy, &s?, sigma)
}
