//! Batch-parallel work on several cores.
//!
//! Samples in a batch do not interact, so a batch can be split into blocks of
//! rows, each block's loss and gradient computed on its own thread with its own
//! [`Tape`](crate::Tape) (tapes are single-threaded by design: nodes are shared
//! through `Rc`), and the results combined by their share of the rows. This
//! module holds the splitting and the threads; what each block computes is up
//! to the caller.
//!
//! The threads are started once and kept: a thread keeps its pool of recycled
//! buffers (see [`crate::tensor::release_pooled_memory`]) from one call to the
//! next, where a thread started per call would fault in all of its memory
//! afresh every time (measured: slower than one thread at size S).

use crate::real::Real;
use crate::tensor::Tensor;
use std::boxed::Box;
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, OnceLock};
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

type Job = Box<dyn FnOnce() + Send + 'static>;

/// How long a thread waiting for a job or a result keeps polling before it
/// sleeps. Waking a sleeping thread takes tens of microseconds (a futex round
/// trip through the kernel, more in a VM), as much as a whole call at size S;
/// calls in a training loop or a bench come back to back, so the next job
/// usually arrives while the thread still polls. Measured: `grad` S
/// 136 → 73 µs, `grad` M 271 → 203 µs, `dsm` S 268 → 204 µs. Each poll yields
/// the core, so with more threads than cores the pollers do not starve the
/// threads that have work (a busy spin made `grad` M on 4 threads and 2 cores
/// 2.7× slower).
const POLL_BEFORE_SLEEPING: std::time::Duration = std::time::Duration::from_micros(200);

/// The next message, polling (and yielding the core between polls) for
/// [`POLL_BEFORE_SLEEPING`] before sleeping on the channel; `None` once every
/// sender is gone.
fn receive<M>(receiver: &Receiver<M>) -> Option<M> {
    let deadline = std::time::Instant::now() + POLL_BEFORE_SLEEPING;
    loop {
        match receiver.try_recv() {
            Ok(message) => return Some(message),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if std::time::Instant::now() < deadline => {
                std::thread::yield_now()
            }
            Err(TryRecvError::Empty) => return receiver.recv().ok(),
        }
    }
}

/// The kept threads, each fed jobs through its own channel; grown on demand.
fn worker(index: usize) -> Sender<Job> {
    static WORKERS: OnceLock<Mutex<Vec<Sender<Job>>>> = OnceLock::new();
    let mut workers = WORKERS
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    while workers.len() <= index {
        let (sender, receiver) = channel::<Job>();
        std::thread::Builder::new()
            .name(std::format!("scoretape-worker-{}", workers.len()))
            .spawn(move || {
                while let Some(job) = receive(&receiver) {
                    job();
                }
            })
            .expect("could not start a worker thread");
        workers.push(sender);
    }
    workers[index].clone()
}

/// Calls `f(rows, block)` for each block of rows of the matrix `x` (split as
/// [`row_blocks`] does), each on its own thread (the calling thread takes the
/// first block, kept worker threads the others), and returns the results in
/// block order.
///
/// # Panics
///
/// If `x` is not 2-D, or if `f` panics on any thread (the panic is passed on
/// to the caller).
///
/// ```
/// use scoretape::parallel::map_row_blocks;
/// use scoretape::Tensor;
/// use std::sync::Arc;
/// let x = Tensor::from_rows(&[vec![1.0], vec![2.0], vec![3.0]]).unwrap();
/// let sums = map_row_blocks(&x, 2, Arc::new(|_, block: Tensor<f64>| block.sum()));
/// assert_eq!(sums, vec![3.0, 3.0]);
/// ```
pub fn map_row_blocks<T: Real, R: Send + 'static>(
    x: &Tensor<T>,
    shards: usize,
    f: Arc<dyn Fn(core::ops::Range<usize>, Tensor<T>) -> R + Send + Sync>,
) -> Vec<R> {
    assert!(
        x.ndim() == 2,
        "map_row_blocks: shape {:?} is not a matrix",
        x.shape()
    );
    let blocks = row_blocks(x.shape()[0], shards);
    let (results_in, results_out) = channel();
    for (k, rows) in blocks.iter().enumerate().skip(1) {
        let (f, rows, sender) = (Arc::clone(&f), rows.clone(), results_in.clone());
        let block = x.slice_axis(0, rows.start, rows.end);
        let job: Job = Box::new(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(rows, block)));
            // The caller waits for every block, so the receiver is alive.
            let _ = sender.send((k, result));
        });
        worker(k - 1)
            .send(job)
            .expect("a worker thread has stopped");
    }
    drop(results_in);
    let mut results: Vec<Option<R>> = (0..blocks.len()).map(|_| None).collect();
    if let Some(rows) = blocks.first() {
        results[0] = Some(f(rows.clone(), x.slice_axis(0, rows.start, rows.end)));
    }
    while let Some((k, result)) = receive(&results_out) {
        match result {
            Ok(r) => results[k] = Some(r),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    results
        .into_iter()
        .map(|r| r.expect("every block reports its result"))
        .collect()
}
