//! log Z and held-out log-likelihood against closed forms.

use scoretape::model::QuadraticEnergy;
use scoretape::random::{normal_tensor, seeded};
use scoretape::sample::{
    energy_fn, held_out_log_likelihood, log_partition_grid, log_partition_importance, Estimate,
};
use scoretape::{Error, Tensor};
use std::f64::consts::TAU;

/// A correlated 3-D Gaussian energy E = ½(x-μ)ᵀP(x-μ) with Σ = P⁻¹ = L Lᵀ.
/// log Z = (d/2) log 2π + log det L.
struct Gaussian {
    model: QuadraticEnergy<f64>,
    l: [[f64; 3]; 3],
    mu: [f64; 3],
}

fn gaussian() -> Gaussian {
    let l = [[1.5, 0.0, 0.0], [0.4, 0.7, 0.0], [-0.3, 0.2, 0.5]];
    let mu = [1.0, -2.0, 0.5];
    let mut sigma = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            sigma[i][j] = (0..3).map(|k| l[i][k] * l[j][k]).sum();
        }
    }
    let sigma = Tensor::from_rows(&sigma.map(|r| r.to_vec())).unwrap();
    let precision = scoretape::model::linalg::inverse(&sigma).unwrap();
    let model = QuadraticEnergy::from_mean_precision(&Tensor::vector(&mu), &precision).unwrap();
    Gaussian { model, l, mu }
}

impl Gaussian {
    fn log_z(&self) -> f64 {
        1.5 * TAU.ln() + (0..3).map(|i| self.l[i][i].ln()).sum::<f64>()
    }

    fn samples(&self, n: usize, seed: u64) -> Tensor<f64> {
        let z: Tensor<f64> = normal_tensor(&[n, 3], &mut seeded(seed));
        Tensor::from_fn(&[n, 3], |k| {
            let (b, i) = (k / 3, k % 3);
            self.mu[i] + (0..=i).map(|j| self.l[i][j] * z.get(&[b, j])).sum::<f64>()
        })
    }
}

#[test]
fn importance_sampling_matches_the_gaussian_log_z_with_honest_error_bars() {
    let g = gaussian();
    let data = g.samples(1000, 1);
    let exact = g.log_z();
    let one =
        log_partition_importance(energy_fn(&g.model), &data, 40_000, 1.5, &mut seeded(2)).unwrap();
    assert!(
        (one.value - exact).abs() < 4.0 * one.std_error,
        "{one:?} vs {exact}"
    );
    assert!(one.std_error < 0.01, "{one:?}");

    // Over independent repetitions the standardised errors (estimate - exact)/se
    // must have a spread near 1: the standard error is neither too small
    // (overconfident) nor uselessly large.
    let z: Vec<f64> = (0..40)
        .map(|seed| {
            let e = log_partition_importance(
                energy_fn(&g.model),
                &data,
                2_000,
                1.5,
                &mut seeded(100 + seed),
            )
            .unwrap();
            (e.value - exact) / e.std_error
        })
        .collect();
    let rms = (z.iter().map(|v| v * v).sum::<f64>() / z.len() as f64).sqrt();
    assert!(
        rms > 0.6 && rms < 1.5,
        "rms of standardised errors {rms}, {z:?}"
    );
}

/// E(x, y) = x⁴/4 + y²/2: Z = (∫exp(-x⁴/4)dx)(√(2π)), and ∫exp(-x⁴/4)dx =
/// 4^{1/4}·Γ(1/4)/2 (substitute u = x⁴/4).
fn quartic_energy(x: &Tensor<f64>) -> Result<Tensor<f64>, Error> {
    let n = x.shape()[0];
    Ok(Tensor::from_fn(&[n], |b| {
        let (u, v) = (x.get(&[b, 0]), x.get(&[b, 1]));
        u.powi(4) / 4.0 + v * v / 2.0
    }))
}

fn quartic_log_z() -> f64 {
    let gamma_quarter = 3.625_609_908_221_908;
    (4f64.powf(0.25) * gamma_quarter / 2.0).ln() + 0.5 * TAU.ln()
}

#[test]
fn both_estimators_match_a_non_gaussian_2d_log_z() {
    let exact = quartic_log_z();
    let grid = log_partition_grid(quartic_energy, [[-6.0, 6.0], [-9.0, 9.0]], 300).unwrap();
    assert!((grid - exact).abs() < 1e-9, "grid {grid} vs {exact}");
    // A coarse grid is visibly worse: the tolerance above means something.
    let coarse = log_partition_grid(quartic_energy, [[-6.0, 6.0], [-9.0, 9.0]], 12).unwrap();
    assert!((coarse - exact).abs() > 1e-6);
    // A box that cuts off mass underestimates.
    let cut = log_partition_grid(quartic_energy, [[-1.0, 1.0], [-9.0, 9.0]], 300).unwrap();
    assert!(cut < exact - 0.1);

    // Data roughly from the density, for the proposal's shape.
    let data = normal_tensor::<f64, _>(&[2000, 2], &mut seeded(3));
    let is = log_partition_importance(quartic_energy, &data, 50_000, 2.0, &mut seeded(4)).unwrap();
    assert!(
        (is.value - exact).abs() < 4.0 * is.std_error,
        "{is:?} vs {exact}"
    );
    assert!(is.std_error < 0.01);
}

#[test]
fn grid_of_a_correlated_gaussian_in_2d() {
    // E = ½xᵀPx with P = [[2, 0.9], [0.9, 1]]: log Z = log 2π - ½ log det P.
    let energy = |x: &Tensor<f64>| {
        let n = x.shape()[0];
        Ok(Tensor::from_fn(&[n], |b| {
            let (u, v) = (x.get(&[b, 0]), x.get(&[b, 1]));
            0.5 * (2.0 * u * u + 1.8 * u * v + v * v)
        }))
    };
    let exact = TAU.ln() - 0.5 * (2.0f64 - 0.81).ln();
    let grid = log_partition_grid(energy, [[-10.0, 10.0], [-12.0, 12.0]], 400).unwrap();
    assert!((grid - exact).abs() < 1e-9, "{grid} vs {exact}");
}

#[test]
fn held_out_log_likelihood_matches_the_exact_mean_log_density() {
    let g = gaussian();
    let heldout = g.samples(3000, 9);
    let exact_log_z = g.log_z();
    let exact_mean: f64 = {
        let energies = energy_fn(&g.model)(&heldout).unwrap();
        energies
            .data()
            .iter()
            .map(|e| -e - exact_log_z)
            .sum::<f64>()
            / 3000.0
    };
    // The expected log-density of a Gaussian is -(d/2)(1 + log 2π) - log det L;
    // the held-out mean is within sampling error of it.
    let expected = -1.5 * (1.0 + TAU.ln()) - (0..3).map(|i| g.l[i][i].ln()).sum::<f64>();

    let log_z = log_partition_importance(
        energy_fn(&g.model),
        &g.samples(1000, 10),
        40_000,
        1.5,
        &mut seeded(11),
    )
    .unwrap();
    let ll = held_out_log_likelihood(energy_fn(&g.model), &heldout, log_z).unwrap();
    assert!((ll.value - exact_mean).abs() < 4.0 * log_z.std_error + 1e-12);
    assert!(
        (ll.value - expected).abs() < 4.0 * ll.std_error,
        "{ll:?} vs {expected}"
    );
    // Var(log p) for a Gaussian is d/2, so the standard error is about √(1.5/3000).
    assert!(ll.std_error > (1.5f64 / 3000.0).sqrt() * 0.9);
    assert!(ll.std_error < (1.5f64 / 3000.0).sqrt() * 1.1 + log_z.std_error);

    let exact_estimate = Estimate {
        value: exact_log_z,
        std_error: 0.0,
    };
    let exact_ll = held_out_log_likelihood(energy_fn(&g.model), &heldout, exact_estimate).unwrap();
    assert!((exact_ll.value - exact_mean).abs() < 1e-12);
}

#[test]
fn estimators_reject_bad_input() {
    let g = gaussian();
    let data = g.samples(100, 1);
    let degenerate = Tensor::from_fn(&[100, 3], |k| (k / 3) as f64); // rank 1
    assert!(matches!(
        log_partition_importance(energy_fn(&g.model), &degenerate, 100, 1.5, &mut seeded(0)),
        Err(Error::Numerical(_))
    ));
    assert!(matches!(
        log_partition_importance(energy_fn(&g.model), &data, 100, 0.0, &mut seeded(0)),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        log_partition_importance(
            energy_fn(&g.model),
            &data.slice(1, 0, 2),
            100,
            1.5,
            &mut seeded(0)
        ),
        Err(Error::Shape(_))
    ));
    let nan_energy = |x: &Tensor<f64>| Ok(Tensor::full(&[x.shape()[0]], f64::NAN));
    assert!(matches!(
        log_partition_grid(nan_energy, [[-1.0, 1.0], [-1.0, 1.0]], 10),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        log_partition_grid(quartic_energy, [[1.0, -1.0], [-1.0, 1.0]], 10),
        Err(Error::InvalidData(_))
    ));
    let bad_log_z = Estimate {
        value: f64::NAN,
        std_error: 0.0,
    };
    assert!(held_out_log_likelihood(energy_fn(&g.model), &data, bad_log_z).is_err());
}
