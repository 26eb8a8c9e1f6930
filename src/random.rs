//! Seeded randomness: every random draw in the crate comes from a ChaCha
//! generator, so the same seed gives bit-identical numbers on every machine.
//!
//! The generators implement the traits of `rand` 0.10, re-exported as
//! [`crate::rand`]: with `use scoretape::rand::RngExt;` a [`Rng64`] has
//! `random`, `random_range` and `random_bool`, and any `rand` 0.10 generator
//! can be passed to the functions here.

use crate::real::Real;
use crate::tensor::Tensor;
use num_traits::Float;
use rand::{Rng, RngExt, SeedableRng};

/// The crate's generator: ChaCha with 20 rounds, portable and reproducible
/// (`rand_chacha` 0.10's `ChaCha20Rng`, implementing `rand` 0.10's `Rng` and
/// `SeedableRng`, re-exported as [`crate::rand`]).
///
/// ```
/// use scoretape::rand::RngExt;
/// let mut rng = scoretape::random::seeded(3);
/// let roll: u32 = rng.random_range(1..=6);
/// assert!((1..=6).contains(&roll));
/// ```
pub type Rng64 = rand_chacha::ChaCha20Rng;

/// A generator seeded from a `u64`.
///
/// ```
/// use scoretape::random::{seeded, standard_normal};
/// let (mut a, mut b) = (seeded(7), seeded(7));
/// assert_eq!(standard_normal(&mut a), standard_normal(&mut b));
/// ```
pub fn seeded(seed: u64) -> Rng64 {
    Rng64::seed_from_u64(seed)
}

/// One draw from N(0, 1), by the Box–Muller transform (written out here so the
/// draws do not depend on another crate's algorithm choices).
///
/// ```
/// use scoretape::random::{seeded, standard_normal};
/// let mut rng = seeded(1);
/// let mean = (0..20_000).map(|_| standard_normal(&mut rng)).sum::<f64>() / 20_000.0;
/// assert!(mean.abs() < 0.03);
/// ```
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // u1 in (0, 1] so that ln(u1) is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    Float::sqrt(-2.0 * Float::ln(u1)) * Float::cos(core::f64::consts::TAU * u2)
}

/// A tensor of independent N(0, 1) draws.
///
/// ```
/// use scoretape::random::{normal_tensor, seeded};
/// let t = normal_tensor::<f64, _>(&[3, 2], &mut seeded(0));
/// assert_eq!(t.shape(), &[3, 2]);
/// ```
pub fn normal_tensor<T: Real, R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Tensor<T> {
    Tensor::from_fn(shape, |_| T::cast(standard_normal(rng)))
}

/// A tensor of independent draws from the uniform distribution on
/// `[low, high)`: `low + (high - low)·u` with `u` uniform on `[0, 1)` (53
/// random bits).
///
/// # Panics
///
/// If `low > high` or either bound is not finite.
///
/// ```
/// use scoretape::random::{seeded, uniform_tensor};
/// let t = uniform_tensor::<f64, _>(&[1000], -1.0, 3.0, &mut seeded(0));
/// assert!(t.iter().all(|&v| (-1.0..3.0).contains(&v)));
/// assert!((t.mean() - 1.0).abs() < 0.1); // the mean of U[-1, 3) is 1
/// ```
pub fn uniform_tensor<T: Real, R: Rng + ?Sized>(
    shape: &[usize],
    low: f64,
    high: f64,
    rng: &mut R,
) -> Tensor<T> {
    assert!(
        low.is_finite() && high.is_finite() && low <= high,
        "uniform_tensor: bounds [{low}, {high}) are not a finite interval"
    );
    Tensor::from_fn(shape, |_| T::cast(low + (high - low) * rng.random::<f64>()))
}

/// A tensor of independent signs ±1, each with probability ½ (Rademacher).
///
/// ```
/// use scoretape::random::{rademacher_tensor, seeded};
/// let t = rademacher_tensor::<f64, _>(&[10], &mut seeded(0));
/// assert!(t.data().iter().all(|v| v.abs() == 1.0));
/// ```
pub fn rademacher_tensor<T: Real, R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Tensor<T> {
    Tensor::from_fn(shape, |_| {
        if rng.random::<bool>() {
            T::one()
        } else {
            -T::one()
        }
    })
}

/// A tensor of independent bits (0 or 1), each 1 with probability `p`
/// (Bernoulli(p)): `u < p` with `u` uniform on `[0, 1)`, so `p ≤ 0` gives all
/// zeros and `p ≥ 1` all ones.
///
/// ```
/// use scoretape::random::{bernoulli_tensor, seeded};
/// let t = bernoulli_tensor::<f64, _>(&[10], 0.5, &mut seeded(0));
/// assert!(t.data().iter().all(|&v| v == 0.0 || v == 1.0));
/// let many = bernoulli_tensor::<f64, _>(&[10_000], 0.3, &mut seeded(1));
/// assert!((many.mean() - 0.3).abs() < 0.02);
/// ```
pub fn bernoulli_tensor<T: Real, R: Rng + ?Sized>(
    shape: &[usize],
    p: f64,
    rng: &mut R,
) -> Tensor<T> {
    Tensor::from_fn(shape, |_| {
        if rng.random::<f64>() < p {
            T::one()
        } else {
            T::zero()
        }
    })
}
