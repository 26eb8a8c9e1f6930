//! The kernel Stein discrepancy (KSD) of a model against data, with the IMQ
//! kernel: a goodness-of-fit number that needs only the model's score, never
//! its log-partition function.
//!
//! With the score `s = -∇E` of the model and the inverse multiquadric kernel
//!
//! ```text
//! k(x, y) = q^(-1/2),   q = 1 + r²,   r² = ‖x - y‖²,   δ = x - y,
//! ```
//!
//! the Stein kernel (Liu, Lee and Jordan 2016; Gorham and Mackey 2017) is
//!
//! ```text
//! u(x, y) = s(x)ᵀs(y) k + s(x)ᵀ∇_y k + ∇_x kᵀ s(y) + tr ∇_x∇_y k
//! ```
//!
//! and `KSD² = E_{x,y~data} u(x, y)`, zero exactly when the data's law is the
//! model's (for the IMQ kernel, which also detects non-convergence; Gorham and
//! Mackey 2017, Theorem 8). The kernel's derivatives, in closed form: from
//! `∂q/∂x_a = 2δ_a` and `∂q/∂y_a = -2δ_a`,
//!
//! ```text
//! ∇_x k = -δ q^(-3/2),     ∇_y k = δ q^(-3/2),
//! ∂²k/∂x_a∂y_a = ∂/∂y_a [-δ_a q^(-3/2)] = q^(-3/2) - 3 δ_a² q^(-5/2),
//! tr ∇_x∇_y k = d q^(-3/2) - 3 r² q^(-5/2),
//! ```
//!
//! so one pair costs three dot products of length d:
//!
//! ```text
//! u(x, y) = (s(x)·s(y)) q^(-1/2) + (s(x)·δ - s(y)·δ + d) q^(-3/2) - 3 r² q^(-5/2).
//! ```
//!
//! **The estimate.** The U-statistic `U = 1/(n(n-1)) Σ_{i≠j} u(x_i, x_j)` is
//! an unbiased estimate of KSD² (so it can be negative when KSD² is near 0).
//! **Its standard error** comes from the Hoeffding projection: with
//! `h₁(x) = E_y u(x, y)` and `θ = E h₁`, `U - θ = (2/n) Σ_i (h₁(x_i) - θ)`
//! plus a term of order `1/n`, so `Var U ≈ 4 Var h₁ / n`. `h₁(x_i)` is
//! estimated by the row mean `h̄_i = 1/(n-1) Σ_{j≠i} u(x_i, x_j)`, hence
//!
//! ```text
//! se = 2 · sd(h̄_1, …, h̄_n) / √n        (sd with the n - 1 denominator).
//! ```
//!
//! When the model is right, `h₁ ≡ 0` (the U-statistic is degenerate) and the
//! true spread is the second-order one, `√(2 E u² / (n(n-1)))`; the formula
//! above then measures the noise in `h̄_i` instead, `≈ 2 √(E u² / (n(n-1)))`,
//! and so errs on the safe side by about `√2`. The tests check both regimes
//! against the spread over independent data sets.
//!
//! **Cost.** `n(n-1)/2` pairs (u is symmetric), each about `8d + 10` flops and
//! a square root, in `O(n·(d + threads))` memory: no `n × n` matrix is ever
//! stored. With the `std` feature the pairs are split over
//! [`exec::default_threads`](crate::exec::default_threads) threads (the
//! command line's `--threads`, else `SCORETAPE_THREADS`, else all cores); without it they
//! run on one. Measured on 2 shared cores, d = 10: n = 4000 in 0.6 s,
//! n = 16 000 in 9 s; it grows as n²·d, so up to n ≈ 10⁴ is a matter of
//! seconds and 10⁵ of minutes (`docs/objectives.md` has the table).

use super::check_batch;
use super::likelihood::Estimate;
use crate::error::Error;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use num_traits::Float;

/// Below this many rows the pairs run on one thread: starting threads costs
/// more than the work.
#[cfg(feature = "std")]
const PARALLEL_FROM_ROWS: usize = 256;

/// The kernel Stein discrepancy U-statistic (an unbiased estimate of KSD²)
/// of a model against `data` (`[n, d]`, n ≥ 2), with the IMQ kernel
/// `k(x, y) = (1 + ‖x - y‖²)^(-1/2)`, and its standard error:
///
/// ```text
/// q = 1 + ‖δ‖², δ = x - y,
/// u(x, y) = (s(x)·s(y)) q^(-1/2) + (s(x)·δ - s(y)·δ + d) q^(-3/2) - 3‖δ‖² q^(-5/2),
/// value = 1/(n(n-1)) Σ_{i≠j} u(x_i, x_j),
/// se = 2 sd(h̄) / √n,   h̄_i = 1/(n-1) Σ_{j≠i} u(x_i, x_j),
/// ```
///
/// `u` being the Stein kernel `s(x)ᵀs(y) k + s(x)ᵀ∇_y k + ∇_x kᵀ s(y) +
/// tr ∇_x∇_y k` with the IMQ kernel's derivatives in closed form. The
/// derivations and the measured cost are in `docs/objectives.md`, "Kernel
/// Stein discrepancy"; when the model is right the standard error errs on the
/// safe side, by about √2.
///
/// `score` maps the whole data batch `[n, d]` to the model's scores
/// `s(x_b) = -∇x E(x_b)` (`[n, d]`) in one call: for an energy model,
/// [`score_fn`](super::score_fn), which takes them in one batched gradient
/// (and refuses a model of binary data, which has no score on `ℝᵈ`).
///
/// # Errors
///
/// As [`kernel_stein_discrepancy_from_scores`], and whatever `score` returns.
///
/// # Examples
///
/// ```
/// use scoretape::model::QuadraticEnergy;
/// use scoretape::random::{normal_tensor, seeded};
/// use scoretape::sample::{kernel_stein_discrepancy, score_fn};
/// use scoretape::Tensor;
/// let model = QuadraticEnergy::<f64>::new(2).unwrap(); // N(0, I)
/// let right: Tensor<f64> = normal_tensor(&[400, 2], &mut seeded(1));
/// let shifted = right.map(|v| v + 1.0);
/// let near = kernel_stein_discrepancy(score_fn(&model), &right).unwrap();
/// let far = kernel_stein_discrepancy(score_fn(&model), &shifted).unwrap();
/// assert!(near.value.abs() < 4.0 * near.std_error);
/// assert!(far.value > near.value + 10.0 * far.std_error);
/// ```
pub fn kernel_stein_discrepancy<T, S>(mut score: S, data: &Tensor<T>) -> Result<Estimate, Error>
where
    T: Real,
    S: FnMut(&Tensor<T>) -> Result<Tensor<T>, Error>,
{
    check_batch(data, "the data")?;
    let scores = score(data)?;
    kernel_stein_discrepancy_from_scores(data, &scores)
}

/// [`kernel_stein_discrepancy`] with the scores `s(x_b)` already computed
/// (`[n, d]`, row b the score at row b of `data`).
///
/// # Errors
///
/// [`Error::Shape`] if `data` is not a non-empty `[n, d]` matrix with n ≥ 2,
/// or `scores` does not have its shape; [`Error::InvalidData`] if `data` is
/// not finite; [`Error::Numerical`] if a score is not finite.
///
/// # Examples
///
/// ```
/// use scoretape::sample::kernel_stein_discrepancy_from_scores;
/// use scoretape::Tensor;
/// // Two points in 1-D with scores 1 and -1: δ = -1, q = 2, and
/// // u = (1·(-1))/√2 + (1·(-1) - (-1)·(-1) + 1)/2^1.5 - 3/2^2.5 for both pairs.
/// let x = Tensor::from_rows(&[vec![0.0], vec![1.0]]).unwrap();
/// let s = Tensor::from_rows(&[vec![1.0], vec![-1.0]]).unwrap();
/// let ksd = kernel_stein_discrepancy_from_scores(&x, &s).unwrap();
/// let u = -1.0 / 2f64.sqrt() - 1.0 / 2f64.powf(1.5) - 3.0 / 2f64.powf(2.5);
/// assert!((ksd.value - u).abs() < 1e-14);
/// assert_eq!(ksd.std_error, 0.0);
/// ```
pub fn kernel_stein_discrepancy_from_scores<T: Real>(
    data: &Tensor<T>,
    scores: &Tensor<T>,
) -> Result<Estimate, Error> {
    let (n, d) = check_batch(data, "the data")?;
    if n < 2 {
        return Err(Error::Shape(
            "the kernel Stein discrepancy needs at least 2 data rows (it averages over pairs)"
                .into(),
        ));
    }
    if scores.shape() != data.shape() {
        return Err(Error::Shape(format!(
            "the scores have shape {:?} but the data has shape {:?}",
            scores.shape(),
            data.shape()
        )));
    }
    if !scores.all_finite() {
        return Err(Error::Numerical(
            "the model's score is NaN or infinite at some data point".into(),
        ));
    }
    let points = Rows::new(data, d);
    let scores = Rows::new(scores, d);
    let row_sums = row_sums(&points, &scores, n);
    Ok(estimate_from_row_sums(&row_sums))
}

/// An `[n, d]` matrix as f64 rows.
struct Rows {
    values: Vec<f64>,
    d: usize,
}

impl Rows {
    fn new<T: Real>(t: &Tensor<T>, d: usize) -> Self {
        Rows {
            values: t.data().iter().map(|v| v.as_f64()).collect(),
            d,
        }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.d..(i + 1) * self.d]
    }
}

/// The Stein kernel `u(x, y)` of the IMQ kernel, from the closed form in the
/// module documentation.
fn stein_kernel(x: &[f64], y: &[f64], sx: &[f64], sy: &[f64]) -> f64 {
    let (mut r2, mut sx_sy, mut sx_delta, mut sy_delta) = (0.0, 0.0, 0.0, 0.0);
    for a in 0..x.len() {
        let delta = x[a] - y[a];
        r2 += delta * delta;
        sx_sy += sx[a] * sy[a];
        sx_delta += sx[a] * delta;
        sy_delta += sy[a] * delta;
    }
    let q = 1.0 + r2;
    let k = 1.0 / Float::sqrt(q); // q^(-1/2)
    let k3 = k / q; // q^(-3/2)
    let k5 = k3 / q; // q^(-5/2)
    sx_sy * k + (sx_delta - sy_delta + x.len() as f64) * k3 - 3.0 * r2 * k5
}

/// Adds `u(x_i, x_j)` for every j > i to `sums[i]` and `sums[j]`, for each
/// row i in `rows`.
fn accumulate_rows(
    points: &Rows,
    scores: &Rows,
    rows: impl Iterator<Item = usize>,
    sums: &mut [f64],
) {
    for i in rows {
        let (x, sx) = (points.row(i), scores.row(i));
        let mut row_sum = 0.0;
        for (j, sum) in sums.iter_mut().enumerate().skip(i + 1) {
            let u = stein_kernel(x, points.row(j), sx, scores.row(j));
            row_sum += u;
            *sum += u;
        }
        sums[i] += row_sum;
    }
}

/// `Σ_{j≠i} u(x_i, x_j)` for every row i, each pair computed once. Row i
/// pairs with the n - 1 - i rows after it, so thread t of T takes the rows
/// i ≡ t (mod T): every thread gets nearly the same number of pairs. Each
/// thread sums into its own vector of n, added up at the end.
#[cfg(feature = "std")]
fn row_sums(points: &Rows, scores: &Rows, n: usize) -> Vec<f64> {
    let threads = crate::exec::default_threads().min(n / 2).max(1);
    if n < PARALLEL_FROM_ROWS || threads == 1 {
        let mut sums = vec![0.0; n];
        accumulate_rows(points, scores, 0..n, &mut sums);
        return sums;
    }
    let partial: Vec<Vec<f64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut sums = vec![0.0; n];
                    accumulate_rows(points, scores, (t..n).step_by(threads), &mut sums);
                    sums
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a KSD thread panicked"))
            .collect()
    });
    let mut sums = vec![0.0; n];
    for part in &partial {
        for (s, p) in sums.iter_mut().zip(part) {
            *s += p;
        }
    }
    sums
}

/// `Σ_{j≠i} u(x_i, x_j)` for every row i, on one thread (no `std`).
#[cfg(not(feature = "std"))]
fn row_sums(points: &Rows, scores: &Rows, n: usize) -> Vec<f64> {
    let mut sums = vec![0.0; n];
    accumulate_rows(points, scores, 0..n, &mut sums);
    sums
}

/// The U-statistic and its Hoeffding-projection standard error from the row
/// sums `Σ_{j≠i} u(x_i, x_j)`.
fn estimate_from_row_sums(row_sums: &[f64]) -> Estimate {
    let n = row_sums.len() as f64;
    let row_means: Vec<f64> = row_sums.iter().map(|s| s / (n - 1.0)).collect();
    let value = row_means.iter().sum::<f64>() / n;
    let variance = row_means
        .iter()
        .map(|h| (h - value) * (h - value))
        .sum::<f64>()
        / (n - 1.0);
    Estimate {
        value,
        std_error: 2.0 * Float::sqrt(variance / n),
    }
}
