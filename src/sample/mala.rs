//! The Metropolis-adjusted Langevin algorithm.

use super::{check_batch, check_score_shape, check_step, langevin_move};
use crate::error::Error;
use crate::random::Rng64;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use num_traits::Float;
use rand::RngExt;

/// The result of [`mala`].
///
/// MALA on a standard normal, `E(x) = ½‖x‖²`, score `-x`:
///
/// ```
/// use scoretape::random::seeded;
/// use scoretape::sample::mala;
/// use scoretape::Tensor;
/// let x0 = Tensor::<f64>::zeros(&[100, 2]);
/// let out = mala(
///     |x: &Tensor<f64>| Ok((x.map(|v| 0.5 * v * v).sum_axis(1), -x)),
///     x0,
///     0.5,
///     50,
///     &mut seeded(0),
/// )
/// .unwrap();
/// assert_eq!(out.samples.shape(), &[100, 2]);
/// assert!(out.acceptance_rate > 0.5 && out.acceptance_rate <= 1.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MalaOutput<T> {
    /// The final state of every chain, `[n, d]`.
    pub samples: Tensor<T>,
    /// The fraction of proposals accepted, over all chains and steps.
    pub acceptance_rate: f64,
}

/// Runs `n_steps` of the Metropolis-adjusted Langevin algorithm on every row of
/// `x0` (one chain per row), for the density p(x) ∝ exp(-E(x)).
///
/// `energy_and_score(x)` returns the energies `E(x_b)` (`[n]`) and the scores
/// `s(x_b) = -∇E(x_b)` (`[n, d]`). Each step proposes a Langevin move and
/// accepts it with the Metropolis–Hastings probability, per chain:
///
/// ```text
/// y = x + α·s(x) + √(2α)·ξ,                      ξ ~ N(0, I)
/// log q(b | a) = -‖b - a - α·s(a)‖² / (4α)       (up to a constant)
/// accept with probability min(1, exp(E(x) - E(y) + log q(x | y) - log q(y | x)))
/// ```
///
/// so p is exactly invariant whatever the step size, unlike [`langevin`](super::langevin).
/// A proposal with energy `+∞` (zero density) is rejected.
///
/// # Errors
///
/// [`Error::Shape`] for a bad `x0` or results of the wrong shape;
/// [`Error::InvalidData`] if `x0` is not finite, its energies or scores are
/// not finite, or the step is not positive; [`Error::Numerical`] naming the
/// step if a proposal's energy or score is NaN (or its score infinite at a
/// finite energy); any error of `energy_and_score`.
///
/// # Examples
///
/// ```
/// use scoretape::random::{normal_tensor, seeded};
/// use scoretape::sample::mala;
/// use scoretape::Tensor;
/// // N(0, 1): E = ½x², s = -x. Chains started at exact samples stay exact.
/// let f = |x: &Tensor<f64>| Ok((x.map(|v| 0.5 * v * v).sum_axis(1), x.map(|v| -v)));
/// let x0 = normal_tensor(&[4000, 1], &mut seeded(2));
/// let out = mala(f, x0, 0.8, 20, &mut seeded(3)).unwrap();
/// assert!((out.samples.map(|v| v * v).mean() - 1.0).abs() < 0.1);
/// assert!(out.acceptance_rate < 1.0 && out.acceptance_rate > 0.5);
/// ```
pub fn mala<T, F>(
    mut energy_and_score: F,
    x0: Tensor<T>,
    step: T,
    n_steps: usize,
    rng: &mut Rng64,
) -> Result<MalaOutput<T>, Error>
where
    T: Real,
    F: FnMut(&Tensor<T>) -> Result<(Tensor<T>, Tensor<T>), Error>,
{
    let (n, d) = check_batch(&x0, "the initial states")?;
    check_step(step, "the MALA step size")?;
    let mut x = x0;
    let (mut e_x, mut s_x) = evaluate(&mut energy_and_score, &x, n)?;
    if !(e_x.all_finite() && s_x.all_finite()) {
        return Err(Error::InvalidData(
            "the initial states have non-finite energies or scores".into(),
        ));
    }
    let alpha = step.as_f64();
    let mut accepted = 0u64;
    for k in 0..n_steps {
        let y = langevin_move(&x, &s_x, step, rng);
        let (e_y, s_y) = evaluate(&mut energy_and_score, &y, n)?;
        for b in 0..n {
            let ey = e_y.data()[b].as_f64();
            let usable = ey < f64::INFINITY;
            let finite = ey.is_finite() && s_y.row(b).iter().all(|v| v.is_finite());
            if usable && !finite {
                return Err(Error::Numerical(format!(
                    "MALA step {}: chain {b}'s proposal has a NaN energy or a non-finite score",
                    k + 1
                )));
            }
            // Drawn for every chain, accepted or not, so the random stream does
            // not depend on the outcomes.
            let u: f64 = rng.random();
            if !usable {
                continue;
            }
            let (xb, yb) = (x.row(b), y.row(b));
            let forward = log_proposal(yb, xb, s_x.row(b), alpha);
            let backward = log_proposal(xb, yb, s_y.row(b), alpha);
            let log_ratio = e_x.data()[b].as_f64() - ey + backward - forward;
            if Float::ln(u) < log_ratio {
                accepted += 1;
                x.data_mut()[b * d..(b + 1) * d].copy_from_slice(yb);
                s_x.data_mut()[b * d..(b + 1) * d].copy_from_slice(s_y.row(b));
                e_x.data_mut()[b] = e_y.data()[b];
            }
        }
    }
    let proposals = (n as u64) * (n_steps as u64);
    let acceptance_rate = if proposals == 0 {
        0.0
    } else {
        accepted as f64 / proposals as f64
    };
    Ok(MalaOutput {
        samples: x,
        acceptance_rate,
    })
}

/// `log q(to | from)` up to a constant: `-‖to - from - α·s(from)‖² / (4α)`.
fn log_proposal<T: Real>(to: &[T], from: &[T], score_from: &[T], alpha: f64) -> f64 {
    let squared: f64 = to
        .iter()
        .zip(from)
        .zip(score_from)
        .map(|((&t, &f), &s)| {
            let r = t.as_f64() - f.as_f64() - alpha * s.as_f64();
            r * r
        })
        .sum();
    -squared / (4.0 * alpha)
}

/// Calls `f` and checks the shapes of the energies (`[n]`) and scores.
fn evaluate<T: Real, F>(f: &mut F, x: &Tensor<T>, n: usize) -> Result<(Tensor<T>, Tensor<T>), Error>
where
    F: FnMut(&Tensor<T>) -> Result<(Tensor<T>, Tensor<T>), Error>,
{
    let (e, s) = f(x)?;
    if e.shape() != [n] {
        return Err(Error::Shape(format!(
            "the energies have shape {:?}, expected [{n}]",
            e.shape()
        )));
    }
    check_score_shape(&s, x)?;
    Ok((e, s))
}
