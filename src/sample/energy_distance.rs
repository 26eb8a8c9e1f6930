//! The energy distance between two samples: one number that says whether
//! samples drawn from a model look like the data.

use super::check_batch;
use crate::error::Error;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use num_traits::Float;

/// The (squared) energy distance of Székely and Rizzo between the empirical
/// distributions of the rows of `x` (`[n, d]`) and of `y` (`[m, d]`):
///
/// ```text
/// D² = (2/(n·m)) Σ_i Σ_j ‖x_i - y_j‖ - (1/n²) Σ_i Σ_j ‖x_i - x_j‖ - (1/m²) Σ_i Σ_j ‖y_i - y_j‖
/// ```
///
/// with the Euclidean norm. For the laws P and Q it estimates
/// `2E‖X - Y‖ - E‖X - X'‖ - E‖Y - Y'‖`, which is zero exactly when P = Q, so
/// it detects any difference of the laws, the share of mass in each mode
/// included (a sampler that finds one of two modes scores far above one that
/// finds both). As written (a V-statistic, the diagonal pairs counted) it is
/// the energy distance of the two empirical distributions themselves: never
/// negative, zero when the two samples hold the same points in the same
/// proportions, and of order 1/n + 1/m between two samples of one law. In one
/// dimension it equals `2∫(F(t) - G(t))² dt` for the empirical distribution
/// functions F and G, and `scipy.stats.energy_distance` returns its square
/// root √D².
///
/// It costs `(n + m)²/2` distances, summed in `f64`.
///
/// # Errors
///
/// [`Error::Shape`] if `x` or `y` is not a non-empty `[rows, d]` matrix or
/// their dimensions differ; [`Error::InvalidData`] if either holds a NaN or
/// an infinity.
///
/// # Examples
///
/// ```
/// use scoretape::sample::energy_distance;
/// use scoretape::Tensor;
/// // Two single points at distance 5: D² = 2·5 - 0 - 0.
/// let x = Tensor::from_vec(&[1, 2], vec![0.0, 0.0]).unwrap();
/// let y = Tensor::from_vec(&[1, 2], vec![3.0, 4.0]).unwrap();
/// assert_eq!(energy_distance(&x, &y).unwrap(), 10.0);
/// assert_eq!(energy_distance(&x, &x).unwrap(), 0.0);
/// ```
pub fn energy_distance<T: Real>(x: &Tensor<T>, y: &Tensor<T>) -> Result<f64, Error> {
    let (n, d) = check_batch(x, "the first sample")?;
    let (m, e) = check_batch(y, "the second sample")?;
    if d != e {
        return Err(Error::Shape(format!(
            "the samples have different dimensions: {d} and {e}"
        )));
    }
    let between = sum_of_distances(x, y) / (n * m) as f64;
    let within_x = sum_of_distances(x, x) / (n * n) as f64;
    let within_y = sum_of_distances(y, y) / (m * m) as f64;
    // Rounding can leave -1e-17 for identical samples; the exact value is ≥ 0.
    Ok((2.0 * between - within_x - within_y).max(0.0))
}

/// `Σ_i Σ_j ‖a_i - b_j‖` over all pairs of rows.
fn sum_of_distances<T: Real>(a: &Tensor<T>, b: &Tensor<T>) -> f64 {
    let d = a.shape()[1];
    let mut total = 0.0;
    for p in a.data().chunks(d) {
        for q in b.data().chunks(d) {
            let squared: f64 = p
                .iter()
                .zip(q)
                .map(|(&u, &v)| {
                    let r = u.as_f64() - v.as_f64();
                    r * r
                })
                .sum();
            total += Float::sqrt(squared);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{normal_tensor, seeded};
    use alloc::vec::Vec;

    /// The independent 1-D oracle `2∫(F(t) - G(t))² dt`: between consecutive
    /// points of the merged sample both distribution functions are constant.
    fn twice_cramer_integral(x: &[f64], y: &[f64]) -> f64 {
        let mut all: Vec<f64> = x.iter().chain(y).copied().collect();
        all.sort_by(f64::total_cmp);
        let cdf = |s: &[f64], t: f64| s.iter().filter(|&&v| v <= t).count() as f64 / s.len() as f64;
        all.windows(2)
            .map(|w| (cdf(x, w[0]) - cdf(y, w[0])).powi(2) * (w[1] - w[0]))
            .sum::<f64>()
            * 2.0
    }

    #[test]
    fn equals_the_cramer_integral_in_one_dimension() {
        let mut rng = seeded(3);
        let x = normal_tensor::<f64, _>(&[37, 1], &mut rng);
        let y = normal_tensor::<f64, _>(&[23, 1], &mut rng).map(|v| 0.7 * v + 0.4);
        let expected = twice_cramer_integral(x.data(), y.data());
        let got = energy_distance(&x, &y).unwrap();
        assert!(expected > 0.05, "{expected}");
        assert!(
            (got - expected).abs() < 1e-12 * expected,
            "{got} vs {expected}"
        );
    }

    #[test]
    fn is_symmetric_scales_with_the_data_and_ignores_shifts() {
        let mut rng = seeded(4);
        let x = normal_tensor::<f64, _>(&[30, 3], &mut rng);
        let y = normal_tensor::<f64, _>(&[40, 3], &mut rng).map(|v| v + 0.5);
        let d = energy_distance(&x, &y).unwrap();
        assert!((energy_distance(&y, &x).unwrap() - d).abs() < 1e-12 * d);
        let scaled = energy_distance(&x.map(|v| 3.0 * v), &y.map(|v| 3.0 * v)).unwrap();
        assert!((scaled - 3.0 * d).abs() < 1e-12 * d);
        let shifted = energy_distance(&x.map(|v| v - 7.0), &y.map(|v| v - 7.0)).unwrap();
        assert!((shifted - d).abs() < 1e-9 * d);
    }

    #[test]
    fn two_point_masses_in_the_plane() {
        // x: the points (0,0) and (0,0); y: (3,4) and (0,0). Between: (5+0+5+0)/4;
        // within x: 0; within y: (0+5+5+0)/4. D² = 2·2.5 - 0 - 2.5.
        let (x, y) = ([0.0, 0.0, 0.0, 0.0], [3.0, 4.0, 0.0, 0.0]);
        let x64 = Tensor::<f64>::from_vec(&[2, 2], x.to_vec()).unwrap();
        let y64 = Tensor::<f64>::from_vec(&[2, 2], y.to_vec()).unwrap();
        assert_eq!(energy_distance(&x64, &y64).unwrap(), 2.5);
        let x32 = Tensor::<f32>::from_vec(&[2, 2], x.map(|v| v as f32).to_vec()).unwrap();
        let y32 = Tensor::<f32>::from_vec(&[2, 2], y.map(|v| v as f32).to_vec()).unwrap();
        assert_eq!(energy_distance(&x32, &y32).unwrap(), 2.5);
    }

    #[test]
    fn bad_samples_are_errors() {
        let x = Tensor::<f64>::zeros(&[3, 2]);
        let other_dim = Tensor::<f64>::zeros(&[3, 1]);
        assert!(matches!(
            energy_distance(&x, &other_dim),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            energy_distance(&x, &Tensor::zeros(&[0, 2])),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            energy_distance(&x, &Tensor::zeros(&[6])),
            Err(Error::Shape(_))
        ));
        let nan = x.map(|_| f64::NAN);
        assert!(matches!(
            energy_distance(&nan, &x),
            Err(Error::InvalidData(_))
        ));
    }
}
