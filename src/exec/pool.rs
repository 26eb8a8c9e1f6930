//! The kept worker threads that run the row blocks of a batch.
//!
//! Samples in a batch do not interact, so a batch can be split into blocks of
//! rows, each block's loss and gradient computed on its own thread with its own
//! [`Tape`](crate::Tape) (tapes are single-threaded by design: nodes are shared
//! through `Rc`), and the results combined by their share of the rows. This
//! module holds the splitting and the threads; what each block computes is up
//! to the caller ([`super::Evaluator`]).
//!
//! The threads are started once and kept, rather than `rayon` or a scoped
//! thread per call: a thread keeps its pool of recycled buffers (see
//! [`crate::tensor::release_pooled_memory`]) from one call to the next, where a
//! thread started per call would fault in all of its memory afresh every time
//! (measured: slower than one thread at size S), and the waiting threads poll
//! briefly before sleeping (see [`POLL_BEFORE_SLEEPING`]), which a general pool
//! does not.

use std::boxed::Box;
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::{Mutex, OnceLock};
use std::vec::Vec;

/// The row ranges `start..end` of `rows` rows split into at most `shards`
/// contiguous blocks whose sizes differ by at most one (no empty blocks).
pub(crate) fn row_blocks(rows: usize, shards: usize) -> Vec<core::ops::Range<usize>> {
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
/// `None` if a thread cannot be started (the caller then runs the job itself).
fn worker(index: usize) -> Option<Sender<Job>> {
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
            .ok()?;
        workers.push(sender);
    }
    Some(workers[index].clone())
}

/// Calls `f(k)` for `k in 0..count`, each on its own thread (the calling
/// thread takes `k = 0`, kept worker threads the others), and returns the
/// results in order. `f` may borrow from the caller's stack: this function
/// returns only after every job has finished and been dropped.
///
/// # Panics
///
/// If `f` panics on any thread, the panic is passed on to the caller, after
/// every other job has finished.
pub(crate) fn map_indices<'env, R: Send + 'static>(
    count: usize,
    f: &'env (dyn Fn(usize) -> R + Sync + 'env),
) -> Vec<R> {
    type Outcome<R> = (usize, std::thread::Result<R>);
    let (results_in, results_out) = channel::<Outcome<R>>();
    let mut results: Vec<Option<std::thread::Result<R>>> = (0..count).map(|_| None).collect();
    for k in 1..count {
        let sender = results_in.clone();
        let job = move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(k)));
            // The caller waits for every job, so the receiver is alive.
            let _ = sender.send((k, result));
        };
        let job: Box<dyn FnOnce() + Send + 'env> = Box::new(job);
        // SAFETY: the job borrows only `f` (for `'env`) and owns its sender.
        // This function does not return (nor unwind: the caller's own block
        // runs under `catch_unwind`) before `results_out` reports that every
        // sender is gone, which happens only once each job has run to its end
        // and been dropped, or was dropped without running. So no job outlives
        // `'env`, though its type says `'static`.
        let job: Job = unsafe { core::mem::transmute::<Box<dyn FnOnce() + Send + 'env>, Job>(job) };
        match worker(k - 1) {
            Some(w) => {
                if let Err(returned) = w.send(job) {
                    (returned.0)();
                }
            }
            None => job(),
        }
    }
    drop(results_in);
    if count > 0 {
        results[0] = Some(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            || f(0),
        )));
    }
    // `None` once every job's sender is dropped, i.e. every job is done.
    while let Some((k, result)) = receive(&results_out) {
        results[k] = Some(result);
    }
    results
        .into_iter()
        .map(|r| match r.expect("every job reports its result") {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_blocks_cover_the_rows_evenly() {
        assert_eq!(row_blocks(5, 2), std::vec![0..3, 3..5]);
        assert_eq!(row_blocks(1, 4), std::vec![0..1]);
        assert_eq!(row_blocks(7, 3), std::vec![0..3, 3..5, 5..7]);
    }

    #[test]
    fn jobs_may_borrow_and_results_come_in_order() {
        let data: Vec<u64> = (0..100).collect();
        let sums = map_indices(4, &|k| data[k * 25..(k + 1) * 25].iter().sum::<u64>());
        assert_eq!(sums, std::vec![300, 925, 1550, 2175]);
    }

    #[test]
    fn a_panic_on_a_worker_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| {
            map_indices(3, &|k| {
                assert!(k != 2, "block {k} fails");
                k
            })
        });
        assert!(caught.is_err());
        // The pool still works afterwards.
        assert_eq!(map_indices(3, &|k| k * 2), std::vec![0, 2, 4]);
    }
}
