//! Batch-parallel work on several cores.
//!
//! Samples in a batch do not interact, so a batch can be split into blocks of
//! rows, each block's loss and gradient computed on its own thread with its own
//! [`Tape`](crate::Tape) (tapes are single-threaded by design: nodes are shared
//! through `Rc`), and the results combined by their share of the rows. This
//! module holds the splitting and the threads; what each block computes is up
//! to the caller.

use crate::real::Real;
use crate::tensor::Tensor;
use std::vec::Vec;

/// The number of threads batch-parallel work uses: the `SCORETAPE_THREADS`
/// environment variable if it is set to a positive number, else the number of
/// cores the operating system grants this process.
///
/// ```
/// assert!(scoretape::parallel::threads() >= 1);
/// ```
pub fn threads() -> usize {
    std::env::var("SCORETAPE_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The row ranges `start..end` of `rows` rows split into at most `shards`
/// contiguous blocks whose sizes differ by at most one (no empty blocks).
///
/// ```
/// use scoretape::parallel::row_blocks;
/// assert_eq!(row_blocks(5, 2), vec![0..3, 3..5]);
/// assert_eq!(row_blocks(1, 4), vec![0..1]);
/// ```
pub fn row_blocks(rows: usize, shards: usize) -> Vec<core::ops::Range<usize>> {
    let shards = shards.clamp(1, rows.max(1));
    let (base, extra) = (rows / shards, rows % shards);
    let mut start = 0;
    (0..shards)
        .map(|i| {
            let len = base + usize::from(i < extra);
            start += len;
            start - len..start
        })
        .filter(|r| !r.is_empty())
        .collect()
}

/// Calls `f(rows, block)` for each block of rows of the matrix `x` (split as
/// [`row_blocks`] does), each on its own thread (the calling thread takes the
/// first), and returns the results in block order.
///
/// # Panics
///
/// If `x` is not 2-D, or if `f` panics on any thread.
///
/// ```
/// use scoretape::parallel::map_row_blocks;
/// use scoretape::Tensor;
/// let x = Tensor::from_rows(&[vec![1.0], vec![2.0], vec![3.0]]).unwrap();
/// let sums = map_row_blocks(&x, 2, |_, block| block.sum());
/// assert_eq!(sums, vec![3.0, 3.0]);
/// ```
pub fn map_row_blocks<T: Real, R: Send>(
    x: &Tensor<T>,
    shards: usize,
    f: impl Fn(core::ops::Range<usize>, Tensor<T>) -> R + Sync,
) -> Vec<R> {
    assert!(
        x.ndim() == 2,
        "map_row_blocks: shape {:?} is not a matrix",
        x.shape()
    );
    let blocks = row_blocks(x.shape()[0], shards);
    let f = &f;
    std::thread::scope(|scope| {
        let mut blocks = blocks.into_iter();
        let first = blocks.next();
        let handles: Vec<_> = blocks
            .map(|rows| {
                let block = x.slice_axis(0, rows.start, rows.end);
                scope.spawn(move || f(rows, block))
            })
            .collect();
        let mut results = Vec::with_capacity(handles.len() + 1);
        if let Some(rows) = first {
            results.push(f(rows.clone(), x.slice_axis(0, rows.start, rows.end)));
        }
        for handle in handles {
            results.push(
                handle
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            );
        }
        results
    })
}
