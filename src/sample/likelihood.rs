//! The log-partition function log Z = log ∫ exp(-E(x)) dx of an energy model,
//! by importance sampling or (in 2-D) quadrature, and the held-out
//! log-likelihood log p(x) = -E(x) - log Z it gives.
//!
//! Sums of exponentials are taken as log-sum-exp in `f64` throughout: the
//! energies of a poorly fitted model easily exceed the range of `exp`.

use super::check_batch;
use crate::error::Error;
use crate::model::linalg::cholesky;
use crate::random::{standard_normal, Rng64};
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;
use num_traits::Float;

/// Points per call of the energy, so memory stays bounded for any sample size.
const CHUNK: usize = 4096;

/// A Monte Carlo estimate with its standard error.
///
/// ```
/// use scoretape::sample::Estimate;
/// let log_z = Estimate { value: 1.84, std_error: 0.01 };
/// // A 95% confidence interval.
/// let (low, high) = (log_z.value - 1.96 * log_z.std_error, log_z.value + 1.96 * log_z.std_error);
/// assert!(low < 1.84 && 1.84 < high);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Its standard error (one standard deviation of the estimator).
    pub std_error: f64,
}

/// Estimates log Z = log ∫ exp(-E(x)) dx by importance sampling from a broad
/// Gaussian proposal q = N(m, c²·S), with m and S the mean and (1/n)
/// covariance of the rows of `data` and c = `inflation`:
///
/// ```text
/// x_i ~ q,   w_i = exp(-E(x_i)) / q(x_i),   Ẑ = (1/M) Σ w_i
/// log Ẑ = logsumexp_i(log w_i) - log M
/// se(log Ẑ) ≈ sd(w) / (√M · w̄)         (delta method on the log)
/// ```
///
/// The proposal must have heavier tails than exp(-E) for the weights to have
/// finite variance, hence the inflation (1.5 to 3 is typical); the standard
/// error is only trustworthy then. `energy` maps a batch `[k, d]` to its
/// energies `[k]` (see [`energy_fn`](super::energy_fn)); it is called on at
/// most 4096 points at a time.
///
/// # Errors
///
/// [`Error::Shape`] if `data` is not a non-empty `[n, d]` matrix with `n ≥ 2`
/// or the energies are not `[k]`; [`Error::InvalidData`] if `data` is not
/// finite, `n_samples < 2`, `inflation` is not positive and finite, or an
/// energy is NaN or `-∞`; [`Error::Numerical`] if the data covariance is
/// singular or every weight is zero.
///
/// # Examples
///
/// ```
/// use scoretape::random::{normal_tensor, seeded};
/// use scoretape::sample::log_partition_importance;
/// use scoretape::Tensor;
/// // E = ½‖x‖² in 2-D: Z = 2π.
/// let data = normal_tensor::<f64, _>(&[500, 2], &mut seeded(0));
/// let energy = |x: &Tensor<f64>| Ok(x.map(|v| 0.5 * v * v).sum_axis(1));
/// let est = log_partition_importance(energy, &data, 20_000, 2.0, &mut seeded(1)).unwrap();
/// let exact = (2.0 * std::f64::consts::PI).ln();
/// assert!((est.value - exact).abs() < 4.0 * est.std_error);
/// assert!(est.std_error < 0.02);
/// ```
pub fn log_partition_importance<T, E>(
    mut energy: E,
    data: &Tensor<T>,
    n_samples: usize,
    inflation: f64,
    rng: &mut Rng64,
) -> Result<Estimate, Error>
where
    T: Real,
    E: FnMut(&Tensor<T>) -> Result<Tensor<T>, Error>,
{
    let (n, d) = check_batch(data, "the data")?;
    if n < 2 {
        return Err(Error::Shape(
            "the proposal's covariance needs at least 2 data rows".into(),
        ));
    }
    if n_samples < 2 {
        return Err(Error::InvalidData(
            "importance sampling needs at least 2 samples for a standard error".into(),
        ));
    }
    if !(inflation > 0.0 && inflation.is_finite()) {
        return Err(Error::InvalidData(format!(
            "inflation = {inflation} must be positive and finite"
        )));
    }
    let (mean, covariance) = mean_and_covariance(data);
    let l = cholesky(&covariance.map(|c| c * inflation * inflation)).map_err(|e| {
        Error::Numerical(format!(
            "the data covariance cannot shape a proposal (is the data degenerate?): {e}"
        ))
    })?;
    // log q(m + L z) = -½‖z‖² - Σ log L_jj - (d/2) log 2π
    let log_det_l: f64 = (0..d).map(|j| Float::ln(l.get(&[j, j]))).sum();
    let log_norm = -log_det_l - 0.5 * d as f64 * Float::ln(core::f64::consts::TAU);

    let mut log_weights = Vec::with_capacity(n_samples);
    let mut done = 0;
    while done < n_samples {
        let k = CHUNK.min(n_samples - done);
        let z: Vec<f64> = (0..k * d).map(|_| standard_normal(rng)).collect();
        let mut points = Vec::with_capacity(k * d);
        for row in z.chunks(d) {
            for (i, m) in mean.iter().enumerate() {
                let offset: f64 = (0..=i).map(|j| l.get(&[i, j]) * row[j]).sum();
                points.push(T::cast(m + offset));
            }
        }
        let energies = energies_of(&mut energy, Tensor::from_vec(&[k, d], points)?, k)?;
        for (row, e) in z.chunks(d).zip(energies) {
            let log_q = log_norm - 0.5 * row.iter().map(|v| v * v).sum::<f64>();
            log_weights.push(-e - log_q);
        }
        done += k;
    }

    let max = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return Err(Error::Numerical(
            "every importance weight is zero (infinite energies everywhere sampled)".into(),
        ));
    }
    // Weights scaled by exp(-max) so the largest is 1: no overflow, and the
    // ratio sd(w)/w̄ is unchanged.
    let scaled: Vec<f64> = log_weights.iter().map(|&lw| Float::exp(lw - max)).collect();
    let m = n_samples as f64;
    let mean_w = scaled.iter().sum::<f64>() / m;
    let var_w = scaled
        .iter()
        .map(|w| (w - mean_w) * (w - mean_w))
        .sum::<f64>()
        / (m - 1.0);
    Ok(Estimate {
        value: max + Float::ln(mean_w),
        std_error: Float::sqrt(var_w / m) / mean_w,
    })
}

/// log Z for a 2-D energy by the midpoint rule on a `points_per_axis²` grid
/// over the box `bounds = [[x_lo, x_hi], [y_lo, y_hi]]`:
///
/// ```text
/// log Z ≈ logsumexp_{i,j}(-E(x_i, y_j)) + log(h_x·h_y),   x_i = x_lo + (i + ½)·h_x
/// ```
///
/// Accurate when exp(-E) is negligible outside the box and smooth on the scale
/// of a cell; the midpoint rule converges very fast for smooth densities
/// that vanish at the box's edges.
///
/// # Errors
///
/// [`Error::InvalidData`] if a bound is not finite, `lo ≥ hi`, there are no
/// points, or an energy is NaN or `-∞`; [`Error::Numerical`] if every energy
/// is `+∞`; [`Error::Shape`] if the energies are not `[k]` (or what `energy`
/// reports for a model that is not 2-D).
///
/// # Examples
///
/// ```
/// use scoretape::sample::log_partition_grid;
/// use scoretape::Tensor;
/// let energy = |x: &Tensor<f64>| Ok(x.map(|v| 0.5 * v * v).sum_axis(1));
/// let log_z = log_partition_grid(energy, [[-8.0, 8.0], [-8.0, 8.0]], 200).unwrap();
/// assert!((log_z - (2.0 * std::f64::consts::PI).ln()).abs() < 1e-9);
/// ```
pub fn log_partition_grid<T, E>(
    mut energy: E,
    bounds: [[f64; 2]; 2],
    points_per_axis: usize,
) -> Result<f64, Error>
where
    T: Real,
    E: FnMut(&Tensor<T>) -> Result<Tensor<T>, Error>,
{
    let n = points_per_axis;
    let log_terms = grid_log_terms(&mut energy, bounds, n)?;
    let total = log_sum_exp(&log_terms);
    if total == f64::NEG_INFINITY {
        return Err(Error::Numerical(
            "exp(-E) is zero at every grid point".into(),
        ));
    }
    let h = bounds.map(|[lo, hi]| (hi - lo) / n as f64);
    Ok(total + Float::ln(h[0] * h[1]))
}

/// `-E` at the midpoints of an `n × n` grid over `bounds` (row `i` of the
/// grid is the `i`-th x value), checked as [`log_partition_grid`] documents.
pub(super) fn grid_log_terms<T, E>(
    energy: &mut E,
    bounds: [[f64; 2]; 2],
    n: usize,
) -> Result<Vec<f64>, Error>
where
    T: Real,
    E: FnMut(&Tensor<T>) -> Result<Tensor<T>, Error>,
{
    for [lo, hi] in bounds {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(Error::InvalidData(format!(
                "grid bounds [{lo}, {hi}] must be finite with lo < hi"
            )));
        }
    }
    if n == 0 {
        return Err(Error::InvalidData(
            "a grid needs at least one point per axis".into(),
        ));
    }
    let h = bounds.map(|[lo, hi]| (hi - lo) / n as f64);
    let coordinate = |axis: usize, i: usize| bounds[axis][0] + (i as f64 + 0.5) * h[axis];
    let mut log_terms = Vec::with_capacity(n * n);
    let mut start = 0;
    while start < n * n {
        let k = CHUNK.min(n * n - start);
        let points: Vec<T> = (start..start + k)
            .flat_map(|p| [coordinate(0, p / n), coordinate(1, p % n)])
            .map(T::cast)
            .collect();
        let energies = energies_of(energy, Tensor::from_vec(&[k, 2], points)?, k)?;
        log_terms.extend(energies.into_iter().map(|e| -e));
        start += k;
    }
    Ok(log_terms)
}

/// The mean held-out log-likelihood (1/n) Σ_b [-E(x_b) - log Z] of the rows of
/// `data`, given an estimate of log Z, with standard error
/// √(Var_b(log p(x_b))/n + se(log Z)²): the spread over the held-out sample
/// and the uncertainty of log Z, taken as independent. (For an exact log Z,
/// pass `std_error: 0.0`.)
///
/// # Errors
///
/// [`Error::Shape`] for a bad `data` or energies not of shape `[n]`;
/// [`Error::InvalidData`] if `data` is not finite, an energy is NaN or `-∞`,
/// or `log_z` is not finite.
///
/// # Examples
///
/// ```
/// use scoretape::sample::{held_out_log_likelihood, Estimate};
/// use scoretape::Tensor;
/// let energy = |x: &Tensor<f64>| Ok(x.map(|v| 0.5 * v * v).sum_axis(1));
/// let data = Tensor::from_rows(&[vec![0.0], vec![2.0]]).unwrap();
/// let log_z = Estimate { value: (2.0 * std::f64::consts::PI).sqrt().ln(), std_error: 0.0 };
/// let ll = held_out_log_likelihood(energy, &data, log_z).unwrap();
/// // mean of log N(0; 0, 1) and log N(2; 0, 1)
/// assert!((ll.value - (-1.0 - log_z.value)).abs() < 1e-12);
/// ```
pub fn held_out_log_likelihood<T, E>(
    mut energy: E,
    data: &Tensor<T>,
    log_z: Estimate,
) -> Result<Estimate, Error>
where
    T: Real,
    E: FnMut(&Tensor<T>) -> Result<Tensor<T>, Error>,
{
    let (n, _) = check_batch(data, "the held-out data")?;
    if !(log_z.value.is_finite() && log_z.std_error.is_finite() && log_z.std_error >= 0.0) {
        return Err(Error::InvalidData(format!(
            "log Z = {} ± {} is not a finite estimate",
            log_z.value, log_z.std_error
        )));
    }
    let mut log_p = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK).min(n);
        let energies = energies_of(&mut energy, data.slice(0, start, end), end - start)?;
        log_p.extend(energies.into_iter().map(|e| -e - log_z.value));
        start = end;
    }
    let mean = log_p.iter().sum::<f64>() / n as f64;
    let variance = if n > 1 {
        log_p.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    Ok(Estimate {
        value: mean,
        std_error: Float::sqrt(variance / n as f64 + log_z.std_error * log_z.std_error),
    })
}

/// Evaluates `energy` on `[k, d]` points and returns the energies as `f64`,
/// checking their shape; `+∞` (zero density) is allowed, NaN and `-∞` are not.
pub(super) fn energies_of<T: Real, E>(
    energy: &mut E,
    points: Tensor<T>,
    k: usize,
) -> Result<Vec<f64>, Error>
where
    E: FnMut(&Tensor<T>) -> Result<Tensor<T>, Error>,
{
    let e = energy(&points)?;
    if e.shape() != [k] {
        return Err(Error::Shape(format!(
            "the energies have shape {:?}, expected [{k}]",
            e.shape()
        )));
    }
    let values: Vec<f64> = e.data().iter().map(|v| v.as_f64()).collect();
    if let Some(bad) = values
        .iter()
        .find(|v| v.is_nan() || **v == f64::NEG_INFINITY)
    {
        return Err(Error::InvalidData(format!(
            "the energy is {bad} at some point; it must be a number or +∞"
        )));
    }
    Ok(values)
}

/// The mean (as `f64`s) and (1/n) covariance `[d, d]` of the rows of `data`.
pub(super) fn mean_and_covariance<T: Real>(data: &Tensor<T>) -> (Vec<f64>, Tensor<f64>) {
    let (n, d) = (data.shape()[0], data.shape()[1]);
    let mut mean = alloc::vec![0.0; d];
    for b in 0..n {
        for (m, v) in mean.iter_mut().zip(data.row(b)) {
            *m += v.as_f64() / n as f64;
        }
    }
    let mut covariance = Tensor::<f64>::zeros(&[d, d]);
    for b in 0..n {
        let row = data.row(b);
        for i in 0..d {
            for j in 0..d {
                let ci = row[i].as_f64() - mean[i];
                let cj = row[j].as_f64() - mean[j];
                covariance.data_mut()[i * d + j] += ci * cj / n as f64;
            }
        }
    }
    (mean, covariance)
}

/// log Σ exp(a_i), stably; `-∞` for an empty or all-`-∞` input.
pub(super) fn log_sum_exp(a: &[f64]) -> f64 {
    let max = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + Float::ln(a.iter().map(|&v| Float::exp(v - max)).sum::<f64>())
}
