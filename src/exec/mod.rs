//! The execution layer: one evaluator of "an objective's loss and its
//! parameter gradient on a batch", which `train::fit`, the command line's
//! `fit` and `eval`, and the benchmarks all call.
//!
//! [`Evaluator::value_and_grad`] splits the batch into one block of rows per
//! thread (feature `std`); each block is recorded on its own thread and tape,
//! and the blocks' losses and gradients (means over their rows) are combined
//! weighted by their share of the rows:
//!
//! ```text
//! J = Σ_k (B_k / B) J_k,     ∂J/∂θ = Σ_k (B_k / B) ∂J_k/∂θ
//! ```
//!
//! The random draws ([`Draws`]) are made for the whole batch before the split,
//! so the result does not depend on the thread count beyond the order of
//! floating-point sums. Within a block:
//! - exact score matching of an energy model takes the first-order path of
//!   [`exact_score_matching_value_and_grad`](crate::objective::exact_score_matching_value_and_grad)
//!   (one Hessian-vector product's graph in memory instead of `d`);
//! - ratio matching, which evaluates the energy on `B(d + 1)` rows, records
//!   about [`RATIO_ROWS_PER_RECORDING`] energy rows at a time, so a chunk's
//!   tensors stay near a core's cache (measured at size L on one thread:
//!   800 µs per sample in chunks of 16 samples, 895 µs in one block of 64).
//!
//! # Threads
//!
//! An [`Evaluator`] runs on [`Evaluator::threads`] threads: the value given to
//! [`Evaluator::with_threads`], else [`default_threads`], which is the value of
//! [`set_default_threads`] if one was set (the command line's `--threads`),
//! else the `SCORETAPE_THREADS` environment variable if it holds a positive
//! number, else the number of cores the operating system grants the process.
//! One thread records the whole batch on the calling thread. Without the
//! `std` feature every evaluation runs on the calling thread.
//!
//! ```
//! use scoretape::exec::Evaluator;
//! use scoretape::model::{Activation, MlpEnergy};
//! use scoretape::objective::Objective;
//! use scoretape::random::{normal_tensor, seeded};
//! let model = MlpEnergy::<f64>::new(2, &[8], Activation::Softplus, 0).unwrap();
//! let x = normal_tensor(&[10, 2], &mut seeded(1));
//! let dsm = Objective::denoising(0.1);
//! let draws = dsm.draw(&model, 10, &mut seeded(2)).unwrap();
//! let (one, g1) = Evaluator::with_threads(1).value_and_grad(&dsm, &model, &x, &draws).unwrap();
//! let (three, g3) = Evaluator::with_threads(3).value_and_grad(&dsm, &model, &x, &draws).unwrap();
//! assert!((one - three).abs() <= 1e-12 * one.abs());
//! let scale = g1[0].data().iter().fold(1.0f64, |m, v| m.max(v.abs()));
//! assert!(g1[0].max_abs_diff(&g3[0]) <= 1e-12 * scale);
//! ```

#[cfg(feature = "std")]
pub(crate) mod pool;

use crate::error::Error;
use crate::objective::{Draws, Fittable, Objective};
use crate::real::Real;
use crate::tape::Tape;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;
use core::ops::Range;
use core::sync::atomic::{AtomicUsize, Ordering};

/// About how many energy rows ratio matching records on a tape at once (see
/// the [module documentation](self)).
pub const RATIO_ROWS_PER_RECORDING: usize = 1024;

/// The process-wide thread count set by [`set_default_threads`]; 0 = unset.
static DEFAULT_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets the thread count of every [`Evaluator::new`] made afterwards in this
/// process (`None` goes back to the environment and the core count). The
/// command line's `--threads N` calls this.
///
/// ```
/// use scoretape::exec::{default_threads, set_default_threads};
/// set_default_threads(Some(3));
/// assert_eq!(default_threads(), 3);
/// set_default_threads(None);
/// assert!(default_threads() >= 1);
/// ```
pub fn set_default_threads(threads: Option<usize>) {
    DEFAULT_THREADS.store(threads.unwrap_or(0), Ordering::Relaxed);
}

/// The thread count an [`Evaluator::new`] gets: the value of
/// [`set_default_threads`], else `SCORETAPE_THREADS` if it holds a positive
/// number, else the available parallelism (1 without the `std` feature).
///
/// ```
/// assert!(scoretape::exec::default_threads() >= 1);
/// ```
pub fn default_threads() -> usize {
    match DEFAULT_THREADS.load(Ordering::Relaxed) {
        0 => environment_threads(),
        n => n,
    }
}

#[cfg(feature = "std")]
fn environment_threads() -> usize {
    std::env::var("SCORETAPE_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(not(feature = "std"))]
fn environment_threads() -> usize {
    1
}

/// Evaluates objectives on batches, split over threads (see the
/// [module documentation](self)).
///
/// ```
/// use scoretape::exec::Evaluator;
/// assert_eq!(Evaluator::with_threads(2).threads(), 2);
/// assert_eq!(Evaluator::with_threads(0).threads(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evaluator {
    threads: usize,
}

impl Default for Evaluator {
    fn default() -> Self {
        Evaluator::new()
    }
}

impl Evaluator {
    /// An evaluator on [`default_threads`] threads.
    ///
    /// ```
    /// assert!(scoretape::exec::Evaluator::new().threads() >= 1);
    /// ```
    pub fn new() -> Self {
        Evaluator::with_threads(default_threads())
    }

    /// An evaluator on `threads` threads (at least 1). One thread gives the
    /// single-threaded numbers; more change them only by rounding.
    ///
    /// ```
    /// assert_eq!(scoretape::exec::Evaluator::with_threads(4).threads(), 4);
    /// ```
    pub fn with_threads(threads: usize) -> Self {
        Evaluator {
            threads: threads.max(1),
        }
    }

    /// The number of threads a batch is split over.
    ///
    /// ```
    /// assert_eq!(scoretape::exec::Evaluator::with_threads(1).threads(), 1);
    /// ```
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The loss `J` of `objective` for `model` on the batch `x` (`[B, d]`)
    /// with the draws `draws` (made for all `B` rows, e.g. by
    /// [`Objective::draw`]), and `∂J/∂θ` for each of the model's parameters
    /// in order.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if `x` is not `[B, d]` with `B ≥ 1` and `d` the
    /// model's dimension, or the draws are not for `B` rows; those of
    /// [`Objective::check`] for a model the objective does not apply to; and
    /// those of the objective functions (non-finite data or loss).
    ///
    /// ```
    /// use scoretape::exec::Evaluator;
    /// use scoretape::model::{Model, QuadraticEnergy};
    /// use scoretape::objective::{Draws, Objective};
    /// use scoretape::Tensor;
    /// // E = ½‖x - μ‖² at μ = 0: ℓ = -d + ½‖x‖², ∂ℓ/∂μ = -x.
    /// let model = QuadraticEnergy::<f64>::new(1).unwrap();
    /// let x = Tensor::from_rows(&[vec![1.0], vec![3.0]]).unwrap();
    /// let (loss, grads) = Evaluator::with_threads(2)
    ///     .value_and_grad(&Objective::exact(), &model, &x, &Draws::none())
    ///     .unwrap();
    /// assert!((loss - (-1.0 + 2.5)).abs() < 1e-14);
    /// assert!((grads[0].item() - (-2.0)).abs() < 1e-14);
    /// assert!(Evaluator::new().value_and_grad(&Objective::exact(), &model, &Tensor::zeros(&[2, 3]), &Draws::none()).is_err());
    /// ```
    pub fn value_and_grad<T: Real, M: Fittable<T> + ?Sized>(
        &self,
        objective: &Objective,
        model: &M,
        x: &Tensor<T>,
        draws: &Draws<T>,
    ) -> Result<(T, Vec<Tensor<T>>), Error> {
        let (value, grads) = self.evaluate(objective, model, x, draws, true)?;
        Ok((value, grads))
    }

    /// The loss alone, as in [`Evaluator::value_and_grad`] (no gradient is
    /// recorded).
    ///
    /// # Errors
    ///
    /// As [`Evaluator::value_and_grad`].
    ///
    /// ```
    /// use scoretape::exec::Evaluator;
    /// use scoretape::model::QuadraticEnergy;
    /// use scoretape::objective::{Draws, Objective};
    /// use scoretape::Tensor;
    /// let model = QuadraticEnergy::<f64>::new(1).unwrap();
    /// let x = Tensor::from_rows(&[vec![1.0], vec![3.0]]).unwrap();
    /// let loss = Evaluator::new().value(&Objective::exact(), &model, &x, &Draws::none()).unwrap();
    /// assert!((loss - 1.5).abs() < 1e-14);
    /// ```
    pub fn value<T: Real, M: Fittable<T> + ?Sized>(
        &self,
        objective: &Objective,
        model: &M,
        x: &Tensor<T>,
        draws: &Draws<T>,
    ) -> Result<T, Error> {
        Ok(self.evaluate(objective, model, x, draws, false)?.0)
    }

    fn evaluate<T: Real, M: Fittable<T> + ?Sized>(
        &self,
        objective: &Objective,
        model: &M,
        x: &Tensor<T>,
        draws: &Draws<T>,
        with_grad: bool,
    ) -> Result<(T, Vec<Tensor<T>>), Error> {
        objective.check(model.form())?;
        let batch = check_batch_shape(x, model.dim())?;
        check_draws(draws, batch)?;
        let chunk = match objective {
            Objective::Ratio => (RATIO_ROWS_PER_RECORDING / (model.dim() + 1)).max(1),
            _ => batch,
        };
        // One block's loss and gradient: means over its rows, each recording
        // chunk weighted by its share of the block.
        let block = |rows: Range<usize>| -> Result<(usize, T, Vec<Tensor<T>>), Error> {
            let tape = Tape::new();
            let params = model.params().record(&tape);
            let mut total = Total::new();
            for part in row_blocks(rows.len(), rows.len().div_ceil(chunk)) {
                let share = T::cast(part.len() as f64 / rows.len() as f64);
                let (start, end) = (rows.start + part.start, rows.start + part.end);
                let x_part = x.slice(0, start, end);
                let draws_part = draws.rows(start..end);
                if with_grad {
                    let (v, g) =
                        objective.value_and_grad_on(&tape, model, &params, &x_part, &draws_part)?;
                    total.add(share, v, &g);
                } else {
                    let mark = tape.mark();
                    let loss = objective.record(&tape, model, &params, &x_part, &draws_part);
                    let v = loss.map(|l| l.item());
                    tape.rewind(mark);
                    total.add(share, v?, &[]);
                }
            }
            Ok((rows.len(), total.value, total.grads))
        };
        let mut total = Total::new();
        for result in map_row_blocks(batch, self.threads, &block) {
            let (rows, v, g) = result?;
            total.add(T::cast(rows as f64 / batch as f64), v, &g);
        }
        Ok((total.value, total.grads))
    }
}

/// A running weighted sum of losses and gradients: `Σ w·value`, `Σ w·grads`.
struct Total<T> {
    value: T,
    grads: Vec<Tensor<T>>,
}

impl<T: Real> Total<T> {
    fn new() -> Self {
        Total {
            value: T::zero(),
            grads: Vec::new(),
        }
    }

    fn add(&mut self, weight: T, value: T, grads: &[Tensor<T>]) {
        self.value += weight * value;
        if self.grads.is_empty() {
            self.grads = grads.iter().map(|g| Tensor::zeros(g.shape())).collect();
        }
        for (sum, g) in self.grads.iter_mut().zip(grads) {
            for (s, &v) in sum.data_mut().iter_mut().zip(g.data()) {
                *s += weight * v;
            }
        }
    }
}

/// The row ranges of `rows` rows split into at most `shards` near-equal blocks.
fn row_blocks(rows: usize, shards: usize) -> Vec<Range<usize>> {
    #[cfg(feature = "std")]
    {
        pool::row_blocks(rows, shards)
    }
    #[cfg(not(feature = "std"))]
    {
        let _ = shards;
        alloc::vec![0..rows]
    }
}

/// `f(rows)` for each block of `rows` rows split over `threads` threads (the
/// calling thread takes the first block, kept worker threads the others;
/// without `std`, one block on the calling thread), results in block order.
pub(crate) fn map_row_blocks<R: Send + 'static>(
    rows: usize,
    threads: usize,
    f: &(dyn Fn(Range<usize>) -> R + Sync),
) -> Vec<R> {
    let blocks = row_blocks(rows, threads);
    #[cfg(feature = "std")]
    if blocks.len() > 1 {
        return pool::map_indices(blocks.len(), &|k| f(blocks[k].clone()));
    }
    blocks.into_iter().map(f).collect()
}

/// Checks that `x` is a non-empty `[B, d]` batch for a model of dimension
/// `dim`; returns `B`.
fn check_batch_shape<T: Real>(x: &Tensor<T>, dim: usize) -> Result<usize, Error> {
    match x.shape() {
        &[batch, d] if d == dim && batch > 0 => Ok(batch),
        shape => Err(Error::Shape(format!(
            "the model has dimension {dim}, so the batch must be [B, {dim}] with B ≥ 1, got {shape:?}"
        ))),
    }
}

/// Checks that the draws were made for `batch` rows.
fn check_draws<T: Real>(draws: &Draws<T>, batch: usize) -> Result<(), Error> {
    let rows = [
        draws
            .projections
            .as_ref()
            .map(|v| ("projections", v.shape().get(1).copied())),
        draws
            .noise
            .as_ref()
            .map(|e| ("noise", e.shape().first().copied())),
        draws.levels.as_ref().map(|l| ("levels", Some(l.len()))),
    ];
    for (what, n) in rows.into_iter().flatten() {
        if n != Some(batch) {
            return Err(Error::Shape(format!(
                "the {what} were drawn for {n:?} rows, but the batch has {batch}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_for_another_batch_are_refused() {
        let draws = Draws {
            noise: Some(Tensor::<f64>::zeros(&[3, 2])),
            ..Draws::none()
        };
        assert!(matches!(check_draws(&draws, 4), Err(Error::Shape(_))));
        assert!(check_draws(&draws, 3).is_ok());
    }
}
