//! Seeded index shuffles: the validation split and each epoch's minibatch order.
//!
//! Every random choice of a fit comes from a ChaCha stream of the fit's seed,
//! chosen by what the choice is for and when it is made, so it never depends on
//! how many random numbers were drawn before (which a resumed fit cannot know).

use crate::random::{seeded, Rng64};
use alloc::vec::Vec;
use rand::RngExt;

/// The stream of the validation split.
const SPLIT_STREAM: u64 = u64::MAX;
/// The stream of the validation loss's randomness (the same draws at every
/// evaluation, so successive validation losses are comparable).
const VALIDATION_STREAM: u64 = u64::MAX - 1;

/// The generator of `seed` on ChaCha stream `stream`.
fn stream_rng(seed: u64, stream: u64) -> Rng64 {
    let mut rng = seeded(seed);
    rng.set_stream(stream);
    rng
}

/// The generator that shuffles epoch `epoch` (even streams).
fn epoch_rng(seed: u64, epoch: u64) -> Rng64 {
    stream_rng(seed, epoch.wrapping_mul(2))
}

/// The generator handed to the loss at update `step` (0-based; odd streams).
pub(crate) fn step_rng(seed: u64, step: u64) -> Rng64 {
    stream_rng(seed, step.wrapping_mul(2).wrapping_add(1))
}

/// The generator handed to the loss on the validation split.
pub(crate) fn validation_rng(seed: u64) -> Rng64 {
    stream_rng(seed, VALIDATION_STREAM)
}

/// A uniformly random permutation of `0..n` (Fisher–Yates), drawing `u64`s so
/// the result is the same on 32- and 64-bit machines.
fn permutation(n: usize, rng: &mut Rng64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i as u64) as usize;
        order.swap(i, j);
    }
    order
}

/// Splits `0..n` into (training, validation) indices, `n_validation` of them
/// held out at random.
pub(crate) fn split_indices(n: usize, n_validation: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order = permutation(n, &mut stream_rng(seed, SPLIT_STREAM));
    let training = order.split_off(n_validation);
    (training, order)
}

/// The order in which epoch `epoch` visits the `n` training rows.
pub(crate) fn epoch_order(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    permutation(n, &mut epoch_rng(seed, epoch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_permutations_and_depend_on_the_epoch() {
        let a = epoch_order(50, 3, 0);
        let b = epoch_order(50, 3, 1);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(a, b);
        assert_eq!(a, epoch_order(50, 3, 0));
    }

    #[test]
    fn split_is_disjoint_and_complete() {
        let (train, val) = split_indices(20, 5, 9);
        assert_eq!(val.len(), 5);
        let mut all: Vec<usize> = train.iter().chain(&val).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..20).collect::<Vec<_>>());
    }
}
