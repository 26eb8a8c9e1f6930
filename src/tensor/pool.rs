//! Reuse of large element buffers between training steps.
//!
//! A training step records thousands of tensors, and [`crate::Tape::rewind`]
//! frees them all at once; the allocator then returns that memory to the
//! operating system, and the next step pays a page fault for every 4 KiB of it
//! again (measured: 14% of an exact-score-matching step). So rewinding hands
//! the buffers of the removed nodes to a per-thread pool, and the kernels take
//! their output buffers from it: a steady-state step then faults in nothing.
//!
//! The pool holds at most one rewind's worth: each rewind first frees what the
//! previous one left unclaimed (buffers of sizes the step no longer asks for),
//! so memory stays at the size of one step's graph. Only buffers of at least
//! [`MIN_POOLED`] elements are kept (small ones are cheap to allocate), and at
//! most [`MAX_POOLED_BYTES`] in all, per thread.
//! Without the `std` feature there is no thread-local storage and every buffer
//! comes from the allocator.

use alloc::vec::Vec;

/// Buffers shorter than this many elements are not pooled.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(crate) const MIN_POOLED: usize = 2048;

/// The most memory the pool of one thread holds, in bytes.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(crate) const MAX_POOLED_BYTES: usize = 1 << 30;

#[cfg(feature = "std")]
mod imp {
    use super::{MAX_POOLED_BYTES, MIN_POOLED};
    use core::any::Any;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::vec::Vec;

    /// Free buffers of one element type, by capacity.
    struct Buckets<T> {
        free: HashMap<usize, Vec<Vec<T>>>,
    }

    #[derive(Default)]
    struct Pool {
        /// One `Buckets<T>` per element type, found by downcasting.
        by_type: Vec<Box<dyn Any>>,
        bytes: usize,
    }

    thread_local! {
        static POOL: RefCell<Pool> = RefCell::new(Pool::default());
    }

    fn with_buckets<T: 'static, R>(f: impl FnOnce(&mut Buckets<T>, &mut usize) -> R) -> Option<R> {
        POOL.try_with(|pool| {
            let mut pool = pool.borrow_mut();
            let Pool { by_type, bytes } = &mut *pool;
            let index = match by_type.iter().position(|b| b.is::<Buckets<T>>()) {
                Some(i) => i,
                None => {
                    by_type.push(Box::new(Buckets::<T> {
                        free: HashMap::new(),
                    }));
                    by_type.len() - 1
                }
            };
            let buckets = by_type[index]
                .downcast_mut::<Buckets<T>>()
                .expect("checked by `is`");
            f(buckets, bytes)
        })
        .ok()
    }

    pub fn take<T: 'static>(len: usize) -> Vec<T> {
        if len >= MIN_POOLED {
            let reused = with_buckets::<T, _>(|buckets, bytes| {
                let buffer = buckets.free.get_mut(&len)?.pop()?;
                *bytes -= buffer.capacity() * core::mem::size_of::<T>();
                Some(buffer)
            });
            if let Some(Some(buffer)) = reused {
                return buffer;
            }
        }
        Vec::with_capacity(len)
    }

    pub fn give<T: 'static>(mut buffer: Vec<T>) {
        let capacity = buffer.capacity();
        if capacity < MIN_POOLED {
            return;
        }
        buffer.clear();
        let size = capacity * core::mem::size_of::<T>();
        with_buckets::<T, _>(|buckets, bytes| {
            if *bytes + size <= MAX_POOLED_BYTES {
                *bytes += size;
                buckets.free.entry(capacity).or_default().push(buffer);
            }
        });
    }

    pub fn clear() {
        let _ = POOL.try_with(|pool| *pool.borrow_mut() = Pool::default());
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    use alloc::vec::Vec;

    pub fn take<T>(len: usize) -> Vec<T> {
        Vec::with_capacity(len)
    }

    pub fn give<T>(_buffer: Vec<T>) {}

    pub fn clear() {}
}

/// An empty buffer with room for exactly `len` elements, reused from the pool
/// when one of that capacity is free.
pub(crate) fn take<T: 'static>(len: usize) -> Vec<T> {
    imp::take(len)
}

/// Returns a buffer to the pool (or frees it, if small or the pool is full).
pub(crate) fn give<T: 'static>(buffer: Vec<T>) {
    imp::give(buffer)
}

/// Frees every buffer the current thread's pool holds. Rewinding a tape does
/// this before recycling the rewound nodes' buffers; call it yourself to hand
/// the memory back to the allocator when training is over.
///
/// ```
/// scoretape::tensor::release_pooled_memory();
/// ```
pub fn release_pooled_memory() {
    imp::clear()
}
