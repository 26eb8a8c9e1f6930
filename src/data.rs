//! Seeded toy data sets: the usual 2-D pictures for density estimation
//! (two moons, eight Gaussians, rings, swiss roll, checkerboard) and one
//! binary set (bars and stripes) for ratio matching.
//!
//! Every generator draws from the crate's ChaCha generator
//! ([`crate::random::seeded`]), so a name, a sample count and a seed give the
//! same numbers on every machine. Samples are the rows of an `[n, d]` tensor.
//! The shapes' sizes and noise levels are fixed and stated on each generator,
//! so that a data set's name says exactly what it is.
//!
//! ```
//! use scoretape::data::ToyData;
//! let x = ToyData::TwoMoons.generate::<f64>(100, 7).unwrap();
//! assert_eq!(x.shape(), &[100, 2]);
//! assert_eq!(x, ToyData::TwoMoons.generate::<f64>(100, 7).unwrap()); // seeded
//! ```

use crate::error::Error;
use crate::random::{seeded, standard_normal, Rng64};
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;
use core::f64::consts::{FRAC_PI_4, PI, TAU};
use core::fmt;
use core::str::FromStr;
use num_traits::Float;
use rand::RngExt;

/// A toy data set, by name.
///
/// ```
/// use scoretape::data::ToyData;
/// let set: ToyData = "bars-and-stripes".parse().unwrap();
/// assert_eq!(set, ToyData::BarsAndStripes { side: 4 });
/// assert_eq!(set.dim(), 16);
/// assert_eq!(ToyData::Rings.to_string(), "rings");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToyData {
    /// Two interleaved half circles, see [`two_moons`].
    TwoMoons,
    /// Eight Gaussian blobs on a circle, see [`eight_gaussians`].
    EightGaussians,
    /// Three concentric noisy circles, see [`rings`].
    Rings,
    /// A noisy 2-D spiral, see [`swiss_roll`].
    SwissRoll,
    /// Uniform on the dark squares of a 4×4 board, see [`checkerboard`].
    Checkerboard,
    /// Binary `side × side` images of bars or stripes, see [`bars_and_stripes`].
    BarsAndStripes {
        /// The image side `k`; the dimension is `k²`.
        side: usize,
    },
}

impl ToyData {
    /// Every data set (bars and stripes with its default side 4), in the
    /// order of the docs.
    pub const ALL: [ToyData; 6] = [
        ToyData::TwoMoons,
        ToyData::EightGaussians,
        ToyData::Rings,
        ToyData::SwissRoll,
        ToyData::Checkerboard,
        ToyData::BarsAndStripes { side: 4 },
    ];

    /// The name used on the command line.
    ///
    /// ```
    /// assert_eq!(scoretape::data::ToyData::EightGaussians.name(), "8-gaussians");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ToyData::TwoMoons => "two-moons",
            ToyData::EightGaussians => "8-gaussians",
            ToyData::Rings => "rings",
            ToyData::SwissRoll => "swiss-roll",
            ToyData::Checkerboard => "checkerboard",
            ToyData::BarsAndStripes { .. } => "bars-and-stripes",
        }
    }

    /// The dimension of one sample: 2, or `side²` for bars and stripes.
    ///
    /// ```
    /// use scoretape::data::ToyData;
    /// assert_eq!(ToyData::BarsAndStripes { side: 3 }.dim(), 9);
    /// ```
    pub fn dim(self) -> usize {
        match self {
            ToyData::BarsAndStripes { side } => side * side,
            _ => 2,
        }
    }

    /// `n` samples drawn with the generator seeded by `seed`, as an `[n, d]`
    /// tensor.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if `n` is zero or bars and stripes has side zero.
    ///
    /// ```
    /// use scoretape::data::ToyData;
    /// let x = ToyData::Checkerboard.generate::<f32>(10, 0).unwrap();
    /// assert_eq!(x.shape(), &[10, 2]);
    /// assert!(ToyData::Rings.generate::<f64>(0, 0).is_err());
    /// ```
    pub fn generate<T: Real>(self, n: usize, seed: u64) -> Result<Tensor<T>, Error> {
        if n == 0 {
            return Err(Error::InvalidData(format!(
                "a data set needs at least one sample, {} was asked for 0",
                self.name()
            )));
        }
        let mut rng = seeded(seed);
        Ok(match self {
            ToyData::TwoMoons => two_moons(n, &mut rng),
            ToyData::EightGaussians => eight_gaussians(n, &mut rng),
            ToyData::Rings => rings(n, &mut rng),
            ToyData::SwissRoll => swiss_roll(n, &mut rng),
            ToyData::Checkerboard => checkerboard(n, &mut rng),
            ToyData::BarsAndStripes { side } => bars_and_stripes(n, side, &mut rng)?,
        })
    }
}

impl fmt::Display for ToyData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ToyData {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        ToyData::ALL
            .into_iter()
            .find(|set| set.name() == s)
            .ok_or_else(|| {
                Error::InvalidData(format!(
                    "unknown data set {s:?} (expected two-moons, 8-gaussians, rings, \
                     swiss-roll, checkerboard or bars-and-stripes)"
                ))
            })
    }
}

/// Builds an `[n, 2]` tensor from a per-sample point generator.
fn points<T: Real>(n: usize, mut point: impl FnMut() -> [f64; 2]) -> Tensor<T> {
    let data: Vec<T> = (0..n)
        .flat_map(|_| point().map(T::cast))
        .collect::<Vec<_>>();
    Tensor::from_vec(&[n, 2], data).expect("n points of 2 coordinates")
}

/// Two moons: with probability ½ the upper half circle `(cos t, sin t)`,
/// otherwise the lower one `(1 - cos t, ½ - sin t)`, `t ~ U[0, π]`, plus
/// N(0, 0.1²) noise on each coordinate. The mean is `(½, ¼)`.
///
/// ```
/// use scoretape::{data::two_moons, random::seeded};
/// let x = two_moons::<f64>(2000, &mut seeded(1));
/// let mean_x = x.sum_axis(0).data()[0] / 2000.0;
/// assert!((mean_x - 0.5).abs() < 0.05);
/// ```
pub fn two_moons<T: Real>(n: usize, rng: &mut Rng64) -> Tensor<T> {
    points(n, || {
        let t = PI * rng.random::<f64>();
        let (c, s) = (Float::cos(t), Float::sin(t));
        let [x, y] = if rng.random::<bool>() {
            [c, s]
        } else {
            [1.0 - c, 0.5 - s]
        };
        [
            x + 0.1 * standard_normal(rng),
            y + 0.1 * standard_normal(rng),
        ]
    })
}

/// Eight Gaussians: a centre chosen uniformly among the eight points
/// `2·(cos kπ/4, sin kπ/4)`, plus N(0, 0.2²) noise on each coordinate.
/// The mean is 0 and `E‖x‖² = 4 + 2·0.04`.
///
/// ```
/// use scoretape::{data::eight_gaussians, random::seeded};
/// let x = eight_gaussians::<f64>(10, &mut seeded(0));
/// assert_eq!(x.shape(), &[10, 2]);
/// ```
pub fn eight_gaussians<T: Real>(n: usize, rng: &mut Rng64) -> Tensor<T> {
    points(n, || {
        let angle = FRAC_PI_4 * rng.random_range(0..8) as f64;
        [
            2.0 * Float::cos(angle) + 0.2 * standard_normal(rng),
            2.0 * Float::sin(angle) + 0.2 * standard_normal(rng),
        ]
    })
}

/// Rings: a radius chosen uniformly among 1, 2 and 3, an angle uniform on
/// `[0, 2π)`, and N(0, 0.08²) noise added to the radius.
///
/// ```
/// use scoretape::{data::rings, random::seeded};
/// let x = rings::<f64>(10, &mut seeded(0));
/// assert_eq!(x.shape(), &[10, 2]);
/// ```
pub fn rings<T: Real>(n: usize, rng: &mut Rng64) -> Tensor<T> {
    points(n, || {
        let radius = rng.random_range(1..=3) as f64 + 0.08 * standard_normal(rng);
        let angle = TAU * rng.random::<f64>();
        [radius * Float::cos(angle), radius * Float::sin(angle)]
    })
}

/// Swiss roll: `t ~ U[1.5π, 4.5π]`, the point `(t cos t, t sin t) / 5`, plus
/// N(0, 0.05²) noise on each coordinate. Without noise the distance from the
/// origin is `t / 5 ∈ [0.3π, 0.9π]`.
///
/// ```
/// use scoretape::{data::swiss_roll, random::seeded};
/// let x = swiss_roll::<f64>(10, &mut seeded(0));
/// assert_eq!(x.shape(), &[10, 2]);
/// ```
pub fn swiss_roll<T: Real>(n: usize, rng: &mut Rng64) -> Tensor<T> {
    points(n, || {
        let t = PI * (1.5 + 3.0 * rng.random::<f64>());
        [
            t * Float::cos(t) / 5.0 + 0.05 * standard_normal(rng),
            t * Float::sin(t) / 5.0 + 0.05 * standard_normal(rng),
        ]
    })
}

/// Checkerboard: uniform on the 8 dark unit squares of the 4×4 board covering
/// `[-2, 2]²`, the dark squares being those whose lower-left corner `(i, j)`
/// has `i + j` even. The mean is 0.
///
/// ```
/// use scoretape::{data::checkerboard, random::seeded};
/// let x = checkerboard::<f64>(100, &mut seeded(0));
/// for row in 0..100 {
///     let (i, j) = (x.get(&[row, 0]).floor() as i64, x.get(&[row, 1]).floor() as i64);
///     assert_eq!((i + j).rem_euclid(2), 0);
/// }
/// ```
pub fn checkerboard<T: Real>(n: usize, rng: &mut Rng64) -> Tensor<T> {
    points(n, || {
        let column = rng.random_range(-2i64..2);
        // Of the two rows of this parity in [-2, 2), pick one: j ∈ {-2, 0} or {-1, 1}.
        let parity = column.rem_euclid(2);
        let row = parity - 2 + 2 * rng.random_range(0i64..2);
        [
            column as f64 + rng.random::<f64>(),
            row as f64 + rng.random::<f64>(),
        ]
    })
}

/// Bars and stripes: binary `side × side` images stored row-major as rows of
/// an `[n, side²]` tensor of 0.0/1.0. Each image is, with probability ½,
/// "stripes" (every pixel row is all on or all off, each independently with
/// probability ½) or else "bars" (the same for pixel columns). Every pixel is
/// on with probability ½.
///
/// # Errors
///
/// [`Error::InvalidData`] if `side` is zero.
///
/// ```
/// use scoretape::{data::bars_and_stripes, random::seeded};
/// let x = bars_and_stripes::<f64>(5, 3, &mut seeded(0)).unwrap();
/// assert_eq!(x.shape(), &[5, 9]);
/// assert!(x.data().iter().all(|&b| b == 0.0 || b == 1.0));
/// ```
pub fn bars_and_stripes<T: Real>(
    n: usize,
    side: usize,
    rng: &mut Rng64,
) -> Result<Tensor<T>, Error> {
    if side == 0 {
        return Err(Error::InvalidData(format!(
            "bars and stripes needs an image side of at least 1, got {side}"
        )));
    }
    let mut data = Vec::with_capacity(n * side * side);
    for _ in 0..n {
        let stripes = rng.random::<bool>();
        let lines: Vec<bool> = (0..side).map(|_| rng.random::<bool>()).collect();
        for row in 0..side {
            for column in 0..side {
                let on = if stripes { lines[row] } else { lines[column] };
                data.push(if on { T::one() } else { T::zero() });
            }
        }
    }
    Tensor::from_vec(&[n, side * side], data)
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: usize = 20_000;

    fn column_mean_var(x: &Tensor<f64>, j: usize) -> (f64, f64) {
        let n = x.shape()[0] as f64;
        let values: Vec<f64> = (0..x.shape()[0]).map(|i| x.get(&[i, j])).collect();
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        (mean, var)
    }

    /// `|estimate - truth|` within 5 standard errors of a mean of N draws
    /// with variance `var`.
    fn assert_mean(estimate: f64, truth: f64, var: f64) {
        let tolerance = 5.0 * Float::sqrt(var / N as f64);
        assert!(
            (estimate - truth).abs() < tolerance,
            "{estimate} vs {truth} (tolerance {tolerance})"
        );
    }

    #[test]
    fn two_moons_has_the_mixture_moments() {
        let x = ToyData::TwoMoons.generate::<f64>(N, 1).unwrap();
        let (mx, vx) = column_mean_var(&x, 0);
        let (my, vy) = column_mean_var(&x, 1);
        // x: each moon has within-variance ½, the means 0 and 1 add ¼; noise 0.01.
        assert_mean(mx, 0.5, 0.76);
        assert!((vx - 0.76).abs() < 0.03, "{vx}");
        // y: within-variance ½ - 4/π², the moon means 2/π and ½ - 2/π.
        let between = Float::powi((2.0 / PI - (0.5 - 2.0 / PI)) / 2.0, 2);
        let var_y = 0.5 - 4.0 / (PI * PI) + between + 0.01;
        assert_mean(my, 0.25, var_y);
        assert!((vy - var_y).abs() < 0.02, "{vy} vs {var_y}");
    }

    #[test]
    fn eight_gaussians_are_near_their_centres() {
        let x = ToyData::EightGaussians.generate::<f64>(N, 2).unwrap();
        let mut norm2 = 0.0;
        for i in 0..N {
            let (a, b) = (x.get(&[i, 0]), x.get(&[i, 1]));
            norm2 += a * a + b * b;
            let nearest = (0..8)
                .map(|k| {
                    let angle = FRAC_PI_4 * k as f64;
                    Float::hypot(a - 2.0 * Float::cos(angle), b - 2.0 * Float::sin(angle))
                })
                .fold(f64::INFINITY, f64::min);
            assert!(nearest < 1.2, "sample {i} is {nearest} from every centre");
        }
        assert_mean(column_mean_var(&x, 0).0, 0.0, 2.04);
        assert_mean(column_mean_var(&x, 1).0, 0.0, 2.04);
        // E‖x‖² = 4 + 2·0.2², and ‖x‖² has variance about 4·4·0.04·2.
        assert_mean(norm2 / N as f64, 4.08, 1.3);
    }

    #[test]
    fn rings_are_equally_likely() {
        let x = ToyData::Rings.generate::<f64>(N, 3).unwrap();
        let mut counts = [0usize; 3];
        for i in 0..N {
            let r = Float::hypot(x.get(&[i, 0]), x.get(&[i, 1]));
            let ring = Float::round(r);
            assert!((r - ring).abs() < 0.45, "radius {r}");
            counts[ring as usize - 1] += 1;
        }
        for c in counts {
            let p = c as f64 / N as f64;
            assert_mean(p, 1.0 / 3.0, 2.0 / 9.0);
        }
    }

    #[test]
    fn swiss_roll_follows_its_spiral() {
        let x = ToyData::SwissRoll.generate::<f64>(N, 4).unwrap();
        let mut radius_sum = 0.0;
        for i in 0..N {
            let r = Float::hypot(x.get(&[i, 0]), x.get(&[i, 1]));
            assert!((0.3 * PI - 0.3..0.9 * PI + 0.3).contains(&r), "radius {r}");
            radius_sum += r;
        }
        // Radius t/5 with t ~ U[1.5π, 4.5π]: mean 0.6π, variance (0.6π)²/12.
        assert_mean(radius_sum / N as f64, 0.6 * PI, 0.3 + 0.01);
    }

    #[test]
    fn checkerboard_fills_the_dark_squares_evenly() {
        let x = ToyData::Checkerboard.generate::<f64>(N, 5).unwrap();
        let mut counts = std::collections::HashMap::new();
        for i in 0..N {
            let (a, b) = (x.get(&[i, 0]), x.get(&[i, 1]));
            assert!((-2.0..2.0).contains(&a) && (-2.0..2.0).contains(&b));
            let cell = (Float::floor(a) as i64, Float::floor(b) as i64);
            assert_eq!((cell.0 + cell.1).rem_euclid(2), 0, "light square {cell:?}");
            *counts.entry(cell).or_insert(0usize) += 1;
        }
        assert_eq!(counts.len(), 8);
        for c in counts.values() {
            assert_mean(*c as f64 / N as f64, 0.125, 0.125 * 0.875);
        }
    }

    #[test]
    fn bars_and_stripes_are_bars_or_stripes() {
        let side = 4;
        let x = ToyData::BarsAndStripes { side }
            .generate::<f64>(N, 6)
            .unwrap();
        let mut all_off = 0;
        for i in 0..N {
            let pixel = |r: usize, c: usize| x.get(&[i, r * side + c]);
            let rows_constant = (0..side).all(|r| (0..side).all(|c| pixel(r, c) == pixel(r, 0)));
            let columns_constant = (0..side).all(|c| (0..side).all(|r| pixel(r, c) == pixel(0, c)));
            assert!(rows_constant || columns_constant, "image {i}");
            if x.row(i).iter().all(|&b| b == 0.0) {
                all_off += 1;
            }
        }
        assert_mean(x.mean(), 0.5, 0.25 * side as f64);
        // Either orientation leaves every line off with probability 2⁻⁴.
        assert_mean(all_off as f64 / N as f64, 1.0 / 16.0, 15.0 / 256.0);
    }

    #[test]
    fn names_round_trip_and_errors_are_typed() {
        for set in ToyData::ALL {
            assert_eq!(set.name().parse::<ToyData>().unwrap(), set);
        }
        assert!(matches!(
            "moons".parse::<ToyData>(),
            Err(Error::InvalidData(_))
        ));
        let zero_side = ToyData::BarsAndStripes { side: 0 }.generate::<f64>(3, 0);
        assert!(matches!(zero_side, Err(Error::InvalidData(_))));
        assert_ne!(
            ToyData::Rings.generate::<f64>(5, 1).unwrap(),
            ToyData::Rings.generate::<f64>(5, 2).unwrap()
        );
    }
}
