//! Samplers against exact results for Gaussians.
//!
//! Every chain here is a linear-Gaussian (AR(1)) recursion, so the exact mean
//! and variance after any number of steps follow from a two-line recursion;
//! the tests compare sample moments over many independent chains with those,
//! within 4.5 standard errors (for n draws of a Gaussian with variance v, the
//! sample mean has standard error √(v/n) and the sample variance v·√(2/(n-1))).

use scoretape::model::linalg::cholesky;
use scoretape::model::QuadraticEnergy;
use scoretape::random::{normal_tensor, seeded};
use scoretape::sample::{
    annealed_langevin, energy_score_fn, geometric_sigmas, langevin, mala, AnnealedConfig,
};
use scoretape::{Error, Tensor};

const CHAINS: usize = 20_000;
const TOLERANCE: f64 = 4.5;

/// Sample mean of column `j`.
fn column_mean(x: &Tensor<f64>, j: usize) -> f64 {
    let n = x.shape()[0];
    (0..n).map(|b| x.get(&[b, j])).sum::<f64>() / n as f64
}

/// Sample covariance (n - 1 denominator) of columns `i` and `j`.
fn column_cov(x: &Tensor<f64>, i: usize, j: usize) -> f64 {
    let n = x.shape()[0];
    let (mi, mj) = (column_mean(x, i), column_mean(x, j));
    (0..n)
        .map(|b| (x.get(&[b, i]) - mi) * (x.get(&[b, j]) - mj))
        .sum::<f64>()
        / (n - 1) as f64
}

fn assert_mean_and_variance(x: &Tensor<f64>, j: usize, mean: f64, var: f64, label: &str) {
    let n = x.shape()[0] as f64;
    let (m, v) = (column_mean(x, j), column_cov(x, j, j));
    let mean_se = (var / n).sqrt();
    let var_se = var * (2.0 / (n - 1.0)).sqrt();
    assert!(
        (m - mean).abs() < TOLERANCE * mean_se,
        "{label}: mean {m} vs exact {mean} (se {mean_se})"
    );
    assert!(
        (v - var).abs() < TOLERANCE * var_se,
        "{label}: variance {v} vs exact {var} (se {var_se})"
    );
}

#[test]
fn unadjusted_langevin_has_the_biased_ar1_stationary_variance() {
    // Coordinate j targets N(μ_j, s_j²); with x ← x + α s(x) + √(2α) ξ the
    // chain is x' - μ = (1 - α/s²)(x - μ) + √(2α) ξ, whose variance from a
    // fixed start after k steps is v·(1 - ρ^{2k}), v = s²/(1 - α/(2s²)), ρ = 1 - α/s².
    let mu = [1.0, -2.0];
    let s2 = [1.0, 4.0];
    let alpha = 0.5;
    let steps = 150;
    let score = |x: &Tensor<f64>| {
        Ok(Tensor::from_fn(x.shape(), |k| {
            let j = k % 2;
            -(x.data()[k] - mu[j]) / s2[j]
        }))
    };
    let x0 = Tensor::from_fn(&[CHAINS, 2], |k| mu[k % 2]);
    let x = langevin(score, x0, alpha, steps, &mut seeded(1)).unwrap();
    for j in 0..2 {
        let stationary = s2[j] / (1.0 - alpha / (2.0 * s2[j]));
        let rho: f64 = 1.0 - alpha / s2[j];
        let exact = stationary * (1.0 - rho.powi(2 * steps as i32));
        assert_mean_and_variance(&x, j, mu[j], exact, "ULA");
        // The bias is far outside the tolerance: the test can tell s² from v.
        let se = exact * (2.0 / CHAINS as f64).sqrt();
        assert!((exact - s2[j]) > 5.0 * se);
    }
}

#[test]
fn langevin_reports_divergence_and_bad_input() {
    // α > 2s² makes the AR(1) coefficient exceed 1 in magnitude: it explodes.
    let score = |x: &Tensor<f64>| Ok(x.map(|v| -v));
    let diverged = langevin(score, Tensor::ones(&[4, 1]), 3.0, 5000, &mut seeded(0));
    assert!(matches!(diverged, Err(Error::Numerical(msg)) if msg.contains("step")));
    let bad_step = langevin(score, Tensor::ones(&[4, 1]), -1.0, 5, &mut seeded(0));
    assert!(matches!(bad_step, Err(Error::InvalidData(_))));
    let wrong_shape = langevin(
        |_: &Tensor<f64>| Ok(Tensor::zeros(&[4])),
        Tensor::ones(&[4, 1]),
        0.1,
        5,
        &mut seeded(0),
    );
    assert!(matches!(wrong_shape, Err(Error::Shape(_))));
}

/// N(μ, Σ) in 2-D with strongly unequal variances along its principal axes
/// (eigenvalues about 1.4 and 0.1).
fn target() -> ([f64; 2], [[f64; 2]; 2]) {
    ([0.5, -1.0], [[1.0, 0.6], [0.6, 0.5]])
}

fn exact_samples(rng_seed: u64) -> Tensor<f64> {
    let (mu, sigma) = target();
    let l = cholesky(&Tensor::from_rows(&[sigma[0].to_vec(), sigma[1].to_vec()]).unwrap()).unwrap();
    let z: Tensor<f64> = normal_tensor(&[CHAINS, 2], &mut seeded(rng_seed));
    Tensor::from_fn(&[CHAINS, 2], |k| {
        let (b, i) = (k / 2, k % 2);
        mu[i]
            + (0..=i)
                .map(|j| l.get(&[i, j]) * z.get(&[b, j]))
                .sum::<f64>()
    })
}

fn assert_moments_of_target(x: &Tensor<f64>, label: &str) {
    let (mu, sigma) = target();
    let n = CHAINS as f64;
    for i in 0..2 {
        let se = (sigma[i][i] / n).sqrt();
        let m = column_mean(x, i);
        assert!(
            (m - mu[i]).abs() < TOLERANCE * se,
            "{label}: mean {i} = {m}"
        );
        for j in 0..2 {
            // Var of the product-moment estimate: (Σ_ii Σ_jj + Σ_ij²)/n.
            let se = ((sigma[i][i] * sigma[j][j] + sigma[i][j].powi(2)) / n).sqrt();
            let c = column_cov(x, i, j);
            assert!(
                (c - sigma[i][j]).abs() < TOLERANCE * se,
                "{label}: cov[{i}][{j}] = {c}, exact {} (se {se})",
                sigma[i][j]
            );
        }
    }
}

#[test]
fn mala_leaves_the_gaussian_invariant_where_ula_does_not() {
    let (mu, sigma) = target();
    let det = sigma[0][0] * sigma[1][1] - sigma[0][1] * sigma[0][1];
    let precision = Tensor::from_rows(&[
        vec![sigma[1][1] / det, -sigma[0][1] / det],
        vec![-sigma[0][1] / det, sigma[0][0] / det],
    ])
    .unwrap();
    let model = QuadraticEnergy::from_mean_precision(&Tensor::vector(&mu), &precision).unwrap();
    let energy_and_score = energy_score_fn(&model);
    // α = 0.15 is near the unadjusted chain's stability limit 2·0.1 along the
    // narrow axis, where its variance would be 4× too large.
    let alpha = 0.15;
    let out = mala(
        &energy_and_score,
        exact_samples(3),
        alpha,
        30,
        &mut seeded(4),
    )
    .unwrap();
    assert_moments_of_target(&out.samples, "MALA");
    assert!(
        out.acceptance_rate > 0.2 && out.acceptance_rate < 0.99,
        "acceptance {}",
        out.acceptance_rate
    );

    // The same start and step without the correction drifts off the target,
    // so the moment check above has teeth.
    let score = |x: &Tensor<f64>| energy_and_score(x).map(|(_, s)| s);
    let ula = langevin(score, exact_samples(3), alpha, 30, &mut seeded(4)).unwrap();
    let var_along_narrow_axis = {
        // Project on the eigenvector of the small eigenvalue of Σ.
        let (a, b, c) = (sigma[0][0], sigma[0][1], sigma[1][1]);
        let small = 0.5 * (a + c - ((a - c).powi(2) + 4.0 * b * b).sqrt());
        let (u0, u1) = (b, small - a);
        let norm = (u0 * u0 + u1 * u1).sqrt();
        let projected = Tensor::from_fn(&[CHAINS, 1], |k| {
            (ula.get(&[k, 0]) * u0 + ula.get(&[k, 1]) * u1) / norm
        });
        (column_cov(&projected, 0, 0), small)
    };
    assert!(
        var_along_narrow_axis.0 > 1.5 * var_along_narrow_axis.1,
        "{var_along_narrow_axis:?}"
    );

    // Tiny steps are almost always accepted; huge ones almost never.
    let tiny = mala(&energy_and_score, exact_samples(5), 1e-5, 3, &mut seeded(6)).unwrap();
    assert!(tiny.acceptance_rate > 0.99);
    let huge = mala(&energy_and_score, exact_samples(5), 5.0, 3, &mut seeded(6)).unwrap();
    assert!(huge.acceptance_rate < 0.05);
    assert_moments_of_target(&huge.samples, "MALA, huge steps");
}

#[test]
fn annealed_langevin_matches_the_exact_linear_gaussian_recursion() {
    // Data N(μ_j, s_j²) per coordinate; the noised density at level σ is
    // N(μ_j, s_j² + σ²), so its score is exact and every step is an AR(1) step.
    let mu = [2.0, -1.0];
    let s2 = [0.49, 0.09];
    let score = |x: &Tensor<f64>, sigma: f64| {
        Ok(Tensor::from_fn(x.shape(), |k| {
            let j = k % 2;
            -(x.data()[k] - mu[j]) / (s2[j] + sigma * sigma)
        }))
    };
    for denoise in [false, true] {
        let config = AnnealedConfig {
            sigmas: geometric_sigmas(3.0, 0.1, 6).unwrap(),
            epsilon: 0.004,
            steps_per_level: 40,
            denoise,
        };
        // Start from N(0, 9) in every coordinate.
        let x0 = normal_tensor::<f64, _>(&[CHAINS, 2], &mut seeded(7)).map(|v| 3.0 * v);
        let x = annealed_langevin(score, x0, &config, &mut seeded(8)).unwrap();
        let last = *config.sigmas.last().unwrap();
        for j in 0..2 {
            let (mut m, mut v) = (0.0, 9.0);
            for &sigma in &config.sigmas {
                let alpha = config.epsilon * sigma * sigma / (last * last);
                let rho = 1.0 - alpha / (s2[j] + sigma * sigma);
                for _ in 0..config.steps_per_level {
                    m = mu[j] + rho * (m - mu[j]);
                    v = rho * rho * v + 2.0 * alpha;
                }
            }
            if denoise {
                // x + σ_L² s(x) = μ + (x - μ)·s²/(s² + σ_L²)
                let shrink = s2[j] / (s2[j] + last * last);
                m = mu[j] + shrink * (m - mu[j]);
                v *= shrink * shrink;
            }
            assert_mean_and_variance(&x, j, m, v, &format!("annealed, denoise {denoise}"));
            // Denoised, it lands close to the data distribution itself (Tweedie
            // shrinks the last level's variance s² + σ_L² to s⁴/(s² + σ_L²)).
            if denoise {
                assert!(
                    (v - s2[j]).abs() < 0.15 * s2[j],
                    "variance {v} vs {}",
                    s2[j]
                );
            }
        }
    }
}

#[test]
fn annealed_langevin_rejects_bad_schedules() {
    let score = |x: &Tensor<f64>, _s: f64| Ok(x.map(|v| -v));
    let bad = AnnealedConfig {
        sigmas: vec![],
        epsilon: 0.1,
        steps_per_level: 2,
        denoise: true,
    };
    assert!(matches!(
        annealed_langevin(score, Tensor::zeros(&[3, 1]), &bad, &mut seeded(0)),
        Err(Error::InvalidData(_))
    ));
    assert!(geometric_sigmas(0.1, 1.0, 4).is_err());
    assert!(geometric_sigmas(1.0, 0.5, 0).is_err());
}
