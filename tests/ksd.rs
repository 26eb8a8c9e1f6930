//! The kernel Stein discrepancy: against a direct double sum written out
//! here (analytic Gaussian scores, the IMQ kernel's derivatives term by term),
//! unbiased when the data come from the model, growing with a mean shift, and
//! its standard error against the spread over independent data sets.

use scoretape::model::{Boltzmann, QuadraticEnergy};
use scoretape::random::{normal_tensor, seeded};
use scoretape::sample::{kernel_stein_discrepancy, kernel_stein_discrepancy_from_scores, score_fn};
use scoretape::{Error, Tensor};

/// A 3-D Gaussian model N(μ, P⁻¹) with a full precision P.
fn gaussian() -> (Vec<f64>, Vec<Vec<f64>>, QuadraticEnergy<f64>) {
    let mean = vec![0.5, -1.0, 0.25];
    let precision = vec![
        vec![2.0, 0.3, -0.2],
        vec![0.3, 1.0, 0.1],
        vec![-0.2, 0.1, 0.5],
    ];
    let model = QuadraticEnergy::from_mean_precision(
        &Tensor::vector(&mean),
        &Tensor::from_rows(&precision).unwrap(),
    )
    .unwrap();
    (mean, precision, model)
}

/// The Gaussian score s(x) = -P(x - μ), written out.
fn gaussian_score(x: &[f64], mean: &[f64], precision: &[Vec<f64>]) -> Vec<f64> {
    precision
        .iter()
        .map(|row| {
            -row.iter()
                .zip(x)
                .zip(mean)
                .map(|((p, xi), m)| p * (xi - m))
                .sum::<f64>()
        })
        .collect()
}

/// The U-statistic and its standard error as a plain double sum over i ≠ j,
/// with every kernel derivative computed coordinate by coordinate.
fn direct_ksd(points: &[Vec<f64>], scores: &[Vec<f64>]) -> (f64, f64) {
    let n = points.len();
    let d = points[0].len();
    let mut row_means = vec![0.0; n];
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let (x, y, sx, sy) = (&points[i], &points[j], &scores[i], &scores[j]);
            let r2: f64 = (0..d).map(|a| (x[a] - y[a]).powi(2)).sum();
            let q = 1.0 + r2;
            let k = q.powf(-0.5);
            let mut u = 0.0;
            for a in 0..d {
                let grad_x_k = -(x[a] - y[a]) * q.powf(-1.5);
                let grad_y_k = (x[a] - y[a]) * q.powf(-1.5);
                let cross = q.powf(-1.5) - 3.0 * (x[a] - y[a]).powi(2) * q.powf(-2.5);
                u += sx[a] * sy[a] * k + sx[a] * grad_y_k + grad_x_k * sy[a] + cross;
            }
            row_means[i] += u / (n - 1) as f64;
        }
    }
    let value = row_means.iter().sum::<f64>() / n as f64;
    let var = row_means.iter().map(|h| (h - value).powi(2)).sum::<f64>() / (n - 1) as f64;
    (value, 2.0 * (var / n as f64).sqrt())
}

fn rows(t: &Tensor<f64>) -> Vec<Vec<f64>> {
    let d = t.shape()[1];
    t.data().chunks(d).map(<[f64]>::to_vec).collect()
}

/// Data from N(shift·1, I) in 3-D.
fn data(n: usize, shift: f64, seed: u64) -> Tensor<f64> {
    normal_tensor::<f64, _>(&[n, 3], &mut seeded(seed)).map(|v| v + shift)
}

#[test]
fn matches_a_direct_double_sum_with_analytic_scores() {
    let (mean, precision, model) = gaussian();
    // 9 rows: the serial path; 300 rows: split over threads.
    for (n, seed) in [(9, 1), (300, 2)] {
        let x = data(n, 0.3, seed);
        let points = rows(&x);
        let scores: Vec<Vec<f64>> = points
            .iter()
            .map(|p| gaussian_score(p, &mean, &precision))
            .collect();
        let (value, se) = direct_ksd(&points, &scores);
        let got = kernel_stein_discrepancy(score_fn(&model), &x).unwrap();
        assert!(
            (got.value - value).abs() <= 1e-12 * value.abs().max(1.0),
            "n = {n}: {} vs {value}",
            got.value
        );
        assert!(
            (got.std_error - se).abs() <= 1e-12 * se,
            "n = {n}: se {} vs {se}",
            got.std_error
        );
        // The precomputed-scores entry point gives the same number.
        let flat: Vec<f64> = scores.concat();
        let given = Tensor::from_vec(&[n, 3], flat).unwrap();
        let again = kernel_stein_discrepancy_from_scores(&x, &given).unwrap();
        assert!((again.value - got.value).abs() <= 1e-12 * value.abs().max(1.0));
    }
}

/// The values over `seeds` independent data sets of n rows shifted by
/// `shift`, against N(0, I), and the mean reported standard error.
fn over_seeds(n: usize, shift: f64, seeds: u64) -> (Vec<f64>, f64) {
    let model = QuadraticEnergy::<f64>::new(3).unwrap();
    let mut values = Vec::new();
    let mut se_sum = 0.0;
    for seed in 0..seeds {
        let e = kernel_stein_discrepancy(score_fn(&model), &data(n, shift, 1000 + seed)).unwrap();
        values.push(e.value);
        se_sum += e.std_error;
    }
    (values, se_sum / seeds as f64)
}

fn mean_and_sd(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
    (m, var.sqrt())
}

#[test]
fn is_unbiased_when_the_data_come_from_the_model() {
    let seeds = 300;
    let (values, mean_se) = over_seeds(100, 0.0, seeds);
    let (mean, sd) = mean_and_sd(&values);
    let root = (seeds as f64).sqrt();
    // Within 4 standard errors of the mean over seeds, by the spread and by
    // the errors the estimator itself reports.
    assert!(mean.abs() < 4.0 * sd / root, "mean {mean}, sd {sd}");
    assert!(
        mean.abs() < 4.0 * mean_se / root,
        "mean {mean}, se {mean_se}"
    );
    // And it is not trivially zero: single values spread around 0.
    assert!(values.iter().any(|v| *v < 0.0) && values.iter().any(|v| *v > 0.0));
}

#[test]
fn grows_with_a_mean_shift() {
    let model = QuadraticEnergy::<f64>::new(3).unwrap();
    let base = data(400, 0.0, 7);
    let mut last: Option<scoretape::sample::Estimate> = None;
    for shift in [0.0, 0.25, 0.5, 1.0, 2.0] {
        let x = base.map(|v| v + shift);
        let e = kernel_stein_discrepancy(score_fn(&model), &x).unwrap();
        if let Some(prev) = last {
            assert!(
                e.value > prev.value + 2.0 * e.std_error.max(prev.std_error),
                "shift {shift}: {e:?} after {prev:?}"
            );
        }
        last = Some(e);
    }
}

#[test]
fn standard_error_matches_the_spread_over_seeds() {
    // Away from the model the projection formula is the asymptotic one.
    let (values, mean_se) = over_seeds(200, 0.5, 200);
    let (_, sd) = mean_and_sd(&values);
    let ratio = mean_se / sd;
    assert!((0.8..1.25).contains(&ratio), "shifted: se/sd = {ratio}");
    // At the model (a degenerate U-statistic) it is conservative by about √2.
    let (values, mean_se) = over_seeds(200, 0.0, 200);
    let (_, sd) = mean_and_sd(&values);
    let ratio = mean_se / sd;
    assert!((1.1..1.8).contains(&ratio), "at the model: se/sd = {ratio}");
}

#[test]
fn bad_input_is_a_typed_error() {
    let model = QuadraticEnergy::<f64>::new(3).unwrap();
    let one_row = data(1, 0.0, 0);
    assert!(matches!(
        kernel_stein_discrepancy(score_fn(&model), &one_row),
        Err(Error::Shape(_))
    ));
    let x = data(5, 0.0, 0);
    let wrong_shape = Tensor::zeros(&[5, 2]);
    assert!(matches!(
        kernel_stein_discrepancy_from_scores(&x, &wrong_shape),
        Err(Error::Shape(_))
    ));
    let nan_scores = Tensor::full(&[5, 3], f64::NAN);
    assert!(matches!(
        kernel_stein_discrepancy_from_scores(&x, &nan_scores),
        Err(Error::Numerical(_))
    ));
    let nan_data = x.map(|_| f64::NAN);
    assert!(matches!(
        kernel_stein_discrepancy(score_fn(&model), &nan_data),
        Err(Error::InvalidData(_))
    ));
    // A model of bits has no score on ℝᵈ.
    let bits = Boltzmann::<f64>::new(3).unwrap();
    let binary = x.map(|v| if v > 0.0 { 1.0 } else { 0.0 });
    assert!(matches!(
        kernel_stein_discrepancy(score_fn(&bits), &binary),
        Err(Error::InvalidData(_))
    ));
}
