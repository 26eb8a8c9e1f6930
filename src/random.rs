//! Seeded randomness: every random draw in the crate comes from a ChaCha
//! generator, so the same seed gives bit-identical numbers on every machine.

use crate::real::Real;
use crate::tensor::Tensor;
use num_traits::Float;
use rand::{Rng, SeedableRng};

/// The crate's generator: ChaCha with 20 rounds, portable and reproducible.
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
    let u1 = 1.0 - rng.gen::<f64>();
    let u2 = rng.gen::<f64>();
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

/// A tensor of independent signs ±1, each with probability ½ (Rademacher).
///
/// ```
/// use scoretape::random::{rademacher_tensor, seeded};
/// let t = rademacher_tensor::<f64, _>(&[10], &mut seeded(0));
/// assert!(t.data().iter().all(|v| v.abs() == 1.0));
/// ```
pub fn rademacher_tensor<T: Real, R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Tensor<T> {
    Tensor::from_fn(shape, |_| {
        if rng.gen::<bool>() {
            T::one()
        } else {
            -T::one()
        }
    })
}

/// A tensor of independent bits (0 or 1), each 1 with probability `p`.
///
/// ```
/// use scoretape::random::{bernoulli_tensor, seeded};
/// let t = bernoulli_tensor::<f64, _>(&[10], 0.5, &mut seeded(0));
/// assert!(t.data().iter().all(|&v| v == 0.0 || v == 1.0));
/// ```
pub fn bernoulli_tensor<T: Real, R: Rng + ?Sized>(
    shape: &[usize],
    p: f64,
    rng: &mut R,
) -> Tensor<T> {
    Tensor::from_fn(shape, |_| {
        if rng.gen::<f64>() < p {
            T::one()
        } else {
            T::zero()
        }
    })
}
