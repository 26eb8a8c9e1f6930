//! The held-out log-likelihood and its log Z estimators against exact answers:
//! closed forms, grid quadrature and hand enumeration; and the reliability
//! flag against estimates built to fail.

use scoretape::model::{Activation, Boltzmann, Energy, MlpEnergy, QuadraticEnergy};
use scoretape::random::{normal_tensor, seeded};
use scoretape::sample::{
    energy_fn, energy_score_fn, log_likelihood, log_partition, log_partition_ais,
    log_partition_grid, log_partition_grid_auto, log_partition_importance, pseudo_log_likelihood,
    AisConfig, LogZMethod,
};
use scoretape::{grad, Error, Tape, Tensor};
use std::f64::consts::TAU;

/// A correlated 5-D Gaussian N(μ, Σ) with Σ = A Aᵀ, as a quadratic model,
/// and samples from it.
fn gaussian_5d() -> (QuadraticEnergy<f64>, Tensor<f64>, f64) {
    let d = 5;
    let a = Tensor::from_fn(&[d, d], |k| {
        let (i, j) = (k / d, k % d);
        match i.cmp(&j) {
            std::cmp::Ordering::Equal => 0.5 + 0.3 * i as f64,
            std::cmp::Ordering::Greater => 0.2 * ((i + 2 * j) % 3) as f64 - 0.2,
            std::cmp::Ordering::Less => 0.0,
        }
    });
    let mu: Vec<f64> = (0..d).map(|i| 2.0 - i as f64).collect();
    let sigma = a.matmul_t(&a, false, true);
    let precision = scoretape::model::linalg::inverse(&sigma).unwrap();
    let model = QuadraticEnergy::from_mean_precision(&Tensor::vector(&mu), &precision).unwrap();
    // log Z = ½ log det(2πΣ) = (d/2) log 2π + Σ log A_ii (A is triangular).
    let log_z = 0.5 * d as f64 * TAU.ln() + (0..d).map(|i| a.get(&[i, i]).ln()).sum::<f64>();
    let z: Tensor<f64> = normal_tensor(&[400, d], &mut seeded(11));
    let samples = Tensor::from_fn(&[400, d], |k| {
        let (b, i) = (k / d, k % d);
        mu[i]
            + (0..=i)
                .map(|j| a.get(&[i, j]) * z.get(&[b, j]))
                .sum::<f64>()
    });
    (model, samples, log_z)
}

#[test]
fn quadratic_model_log_likelihood_is_exact_and_ais_agrees_within_its_error() {
    let (model, data, exact_log_z) = gaussian_5d();
    let report = log_likelihood(&model, &data, None, &AisConfig::default()).unwrap();
    assert_eq!(report.method, LogZMethod::ClosedForm);
    assert!((report.log_z - exact_log_z).abs() < 1e-12, "{report:?}");
    assert!(report.reliable && report.log_z_se == 0.0 && report.ess.is_none());
    // The mean log-density by hand: -E(x) - log Z.
    let energies = energy_fn(&model)(&data).unwrap();
    let by_hand = -energies.mean() - exact_log_z;
    assert!((report.value - by_hand).abs() < 1e-12);

    let config = AisConfig {
        temperatures: 100,
        chains: 256,
        ..AisConfig::default()
    };
    let ais = log_partition(&model, &data, Some(LogZMethod::Ais), &config).unwrap();
    assert_eq!(ais.method, LogZMethod::Ais);
    assert!(ais.reliable, "{ais:?}");
    assert!(ais.se < 0.03, "{ais:?}");
    assert!(
        (ais.value - exact_log_z).abs() < 4.0 * ais.se,
        "{ais:?} vs {exact_log_z}"
    );
    assert!(ais.ess.unwrap() > 0.5 * 256.0, "{ais:?}");
}

/// A normalisable 2-D MLP energy: softplus units facing every direction with
/// positive output weights, so E grows at least linearly far out, plus
/// random tilts and offsets that make it far from Gaussian.
fn mlp_2d() -> MlpEnergy<f64> {
    let h = 12;
    let noise: Tensor<f64> = normal_tensor(&[h, 4], &mut seeded(5));
    let w1 = Tensor::from_fn(&[h, 2], |k| {
        let (u, j) = (k / 2, k % 2);
        let angle = TAU * u as f64 / h as f64;
        let direction = if j == 0 { angle.cos() } else { angle.sin() };
        2.0 * direction + 0.5 * noise.get(&[u, j])
    });
    let b1 = Tensor::from_fn(&[h], |u| noise.get(&[u, 2]) - 1.0);
    let w2 = Tensor::from_fn(&[1, h], |u| 0.3 + noise.get(&[u, 3]).abs());
    MlpEnergy::from_layers(
        vec![(w1, b1), (w2, Tensor::vector(&[0.0]))],
        Activation::Softplus,
    )
    .unwrap()
}

#[test]
fn mlp_2d_grid_and_ais_agree_with_a_fine_quadrature() {
    let model = mlp_2d();
    // The oracle: a fine grid on a box far wider than the density.
    let oracle =
        log_partition_grid(energy_fn(&model), [[-30.0, 30.0], [-30.0, 30.0]], 1500).unwrap();
    let data = scoretape::sample::mala(
        energy_score_fn(&model),
        Tensor::zeros(&[300, 2]),
        0.05,
        300,
        &mut seeded(1),
    )
    .unwrap()
    .samples;

    let auto = log_likelihood(&model, &data, None, &AisConfig::default()).unwrap();
    assert_eq!(auto.method, LogZMethod::Grid);
    assert!(auto.reliable, "{auto:?}");
    assert!((auto.log_z - oracle).abs() < 1e-4, "{auto:?} vs {oracle}");
    assert!(auto.log_z_se < 1e-3);

    let config = AisConfig {
        temperatures: 100,
        chains: 256,
        seed: 3,
        ..AisConfig::default()
    };
    let ais = log_partition(&model, &data, Some(LogZMethod::Ais), &config).unwrap();
    assert!(ais.reliable, "{ais:?}");
    assert!(ais.se < 0.03, "{ais:?}");
    assert!(
        (ais.value - oracle).abs() < 4.0 * ais.se,
        "{ais:?} vs {oracle}"
    );
}

/// E(x) = -log(e^{-‖x-a‖²/2σ²} + e^{-‖x+a‖²/2σ²}) with a = (3, 0, …, 0),
/// σ = 0.5: two well-separated modes, Z = 2·(2πσ²)^{d/2}. Energies and
/// scores by the tape.
struct Mixture {
    d: usize,
}

const SEPARATION: f64 = 3.0;
const MODE_SD: f64 = 0.5;

impl Mixture {
    fn log_z(&self) -> f64 {
        2f64.ln() + 0.5 * self.d as f64 * (TAU * MODE_SD * MODE_SD).ln()
    }

    fn energy_and_score(&self, x: &Tensor<f64>) -> Result<(Tensor<f64>, Tensor<f64>), Error> {
        let d = self.d;
        let tape = Tape::new();
        let xv = tape.input(x.clone());
        let shift = tape.constant(Tensor::from_fn(
            &[d],
            |j| if j == 0 { SEPARATION } else { 0.0 },
        ));
        let scale = -0.5 / (MODE_SD * MODE_SD);
        let q1 = (xv - shift).square().sum_axis(1) * scale;
        let q2 = (xv + shift).square().sum_axis(1) * scale;
        // -logsumexp(q1, q2) = -q1 - softplus(q2 - q1), stable far from both.
        let e = -q1 - (q2 - q1).softplus();
        let g = grad(e.sum(), &[xv])?[0];
        Ok(((*e.value()).clone(), g.value().map(|v| -v)))
    }

    fn energy(&self, x: &Tensor<f64>) -> Result<Tensor<f64>, Error> {
        self.energy_and_score(x).map(|(e, _)| e)
    }

    /// Exact samples: a mode by a fair coin, then N(±a, σ²I).
    fn samples(&self, n: usize, seed: u64) -> Tensor<f64> {
        let d = self.d;
        let z: Tensor<f64> = normal_tensor(&[n, d], &mut seeded(seed));
        Tensor::from_fn(&[n, d], |k| {
            let (b, j) = (k / d, k % d);
            let sign = if b % 2 == 0 { 1.0 } else { -1.0 };
            let centre = if j == 0 { sign * SEPARATION } else { 0.0 };
            centre + MODE_SD * z.get(&[b, j])
        })
    }
}

#[test]
fn separated_mixture_defeats_importance_sampling_but_not_ais() {
    let mixture = Mixture { d: 30 };
    let exact = mixture.log_z();
    let data = mixture.samples(1000, 7);

    // Plain importance sampling from a broad Gaussian: off by far more than
    // the error it states.
    let is = log_partition_importance(
        |x: &Tensor<f64>| mixture.energy(x),
        &data,
        50_000,
        3.0,
        &mut seeded(2),
    )
    .unwrap();
    assert!(
        (is.value - exact).abs() > 3.0 * is.std_error,
        "importance sampling {is:?} vs {exact}"
    );
    println!("importance sampling {is:?} vs exact {exact}");

    let ais = log_partition_ais(
        |x: &Tensor<f64>| mixture.energy_and_score(x),
        &data,
        &AisConfig {
            temperatures: 500,
            chains: 512,
            ..AisConfig::default()
        },
    )
    .unwrap();
    assert!(ais.reliable, "{ais:?}");
    println!("{ais:?}");
    assert!(ais.se < 0.05, "{ais:?}");
    assert!(
        (ais.log_z - exact).abs() < 4.0 * ais.se,
        "{ais:?} vs {exact}"
    );
}

#[test]
fn separated_mixture_in_2d_ais_and_grid_agree_with_the_closed_form() {
    let mixture = Mixture { d: 2 };
    let exact = mixture.log_z();
    let data = mixture.samples(400, 8);
    let grid = log_partition_grid_auto(|x: &Tensor<f64>| mixture.energy(x), &data).unwrap();
    assert!(grid.reliable, "{grid:?}");
    assert!((grid.value - exact).abs() < 1e-6, "{grid:?} vs {exact}");
    let ais = log_partition_ais(
        |x: &Tensor<f64>| mixture.energy_and_score(x),
        &data,
        &AisConfig {
            temperatures: 100,
            chains: 256,
            ..AisConfig::default()
        },
    )
    .unwrap();
    assert!(ais.reliable, "{ais:?}");
    assert!(
        (ais.log_z - exact).abs() < 4.0 * ais.se,
        "{ais:?} vs {exact}"
    );
}

#[test]
fn the_reliability_flag_fires_when_the_annealing_is_too_fast() {
    // A narrow mode far from where the base puts its mass, bridged by only 3
    // temperatures: a few lucky chains carry all the weight.
    let mixture = Mixture { d: 20 };
    let data = mixture.samples(1000, 7).map(|v| 3.0 * v + 4.0);
    let ais = log_partition_ais(
        |x: &Tensor<f64>| mixture.energy_and_score(x),
        &data,
        &AisConfig {
            temperatures: 3,
            chains: 256,
            ..AisConfig::default()
        },
    )
    .unwrap();
    assert!(!ais.reliable, "{ais:?}");
    let warning = ais.warning.unwrap();
    assert!(warning.contains("temperatures (now 3)"), "{warning}");
    assert!(ais.ess < 0.1 * 256.0, "{:?}", ais.ess);
}

#[test]
fn the_grid_flags_a_model_that_is_not_normalisable() {
    // E = -0.2·x₀ + ½x₁²: exp(-E) grows without bound along x₀.
    let energy = |x: &Tensor<f64>| {
        Ok(Tensor::from_fn(&[x.shape()[0]], |b| {
            let r = x.row(b);
            -0.2 * r[0] + 0.5 * r[1] * r[1]
        }))
    };
    let data = Tensor::from_rows(&[vec![-1.0, -1.0], vec![1.0, 1.0]]).unwrap();
    let z = log_partition_grid_auto(energy, &data).unwrap();
    assert!(!z.reliable, "{z:?}");
    assert!(z.warning.unwrap().contains("not be normalisable"));
}

#[test]
fn log_z_methods_that_do_not_apply_are_refused() {
    let model = mlp_2d();
    let data = Tensor::from_rows(&[vec![0.0, 0.0], vec![1.0, 1.0]]).unwrap();
    let config = AisConfig::default();
    assert!(matches!(
        log_partition(&model, &data, Some(LogZMethod::ClosedForm), &config),
        Err(Error::InvalidData(_))
    ));
    let model_3d = MlpEnergy::<f64>::new(3, &[4], Activation::Tanh, 0).unwrap();
    let data_3d = Tensor::from_rows(&[vec![0.0, 0.0, 1.0], vec![1.0, 1.0, 0.0]]).unwrap();
    assert!(log_partition(&model_3d, &data_3d, Some(LogZMethod::Grid), &config).is_err());
    assert!(matches!(
        log_likelihood(&model_3d, &data, None, &config),
        Err(Error::Shape(_))
    ));
    let bad = AisConfig {
        chains: 10,
        groups: 4,
        ..config
    };
    assert!(matches!(
        log_partition(&model_3d, &data_3d, Some(LogZMethod::Ais), &bad),
        Err(Error::InvalidData(_))
    ));
}

#[test]
fn pseudo_log_likelihood_matches_hand_enumeration() {
    let d = 4;
    let noise: Tensor<f64> = normal_tensor(&[d, d + 1], &mut seeded(9));
    let w = Tensor::from_fn(&[d, d], |k| {
        let (i, j) = (k / d, k % d);
        if i == j {
            0.0
        } else {
            noise.get(&[i.min(j), i.max(j)])
        }
    });
    let b = Tensor::from_fn(&[d], |i| noise.get(&[i, d]));
    let model = Boltzmann::from_parts(&w, &b).unwrap();
    let states = Boltzmann::<f64>::all_states(d).unwrap();
    let p = model.exact_probabilities().unwrap();
    // The data: a few states, one repeated.
    let rows = [3usize, 10, 15, 0, 10];
    let data = Tensor::from_fn(&[rows.len(), d], |k| states.get(&[rows[k / d], k % d]));
    // By hand: p(x_j | x_-j) = p(x) / (p(x) + p(flip_j x)); state s flipped at
    // bit j (column j is bit d-1-j of s) is s ^ (1 << (d-1-j)).
    let per_row: Vec<f64> = rows
        .iter()
        .map(|&s| {
            (0..d)
                .map(|j| {
                    let flipped = s ^ (1 << (d - 1 - j));
                    (p.data()[s] / (p.data()[s] + p.data()[flipped])).ln()
                })
                .sum()
        })
        .collect();
    let n = per_row.len() as f64;
    let mean = per_row.iter().sum::<f64>() / n;
    let sd = (per_row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let pll = pseudo_log_likelihood(energy_fn(&model as &dyn Energy<f64>), &data).unwrap();
    assert!((pll.value - mean).abs() < 1e-12, "{pll:?} vs {mean}");
    assert!((pll.std_error - sd / n.sqrt()).abs() < 1e-12);

    // And the exact log Z by enumeration gives the exact log-likelihood.
    let log_z = model.log_partition().unwrap();
    let direct: f64 = p
        .data()
        .iter()
        .zip(0..)
        .map(|(pi, s)| {
            let e = energy_fn(&model)(&Tensor::from_fn(&[1, d], |j| states.get(&[s, j]))).unwrap();
            (pi.ln() + e.item() + log_z).abs()
        })
        .fold(0.0, f64::max);
    assert!(direct < 1e-12);

    // The library's log-likelihood of a model on bits is exact by enumeration.
    let report = log_likelihood(
        &model as &dyn Energy<f64>,
        &data,
        None,
        &AisConfig::default(),
    )
    .unwrap();
    assert_eq!(report.method, LogZMethod::Enumeration);
    assert!((report.log_z - log_z).abs() < 1e-12);
    let exact_ll = rows.iter().map(|&s| p.data()[s].ln()).sum::<f64>() / n;
    assert!(
        (report.value - exact_ll).abs() < 1e-12,
        "{report:?} vs {exact_ll}"
    );
    assert!(log_partition(&model, &data, Some(LogZMethod::Ais), &AisConfig::default()).is_err());

    let not_bits = Tensor::from_rows(&[vec![0.0, 1.0, 0.5, 1.0]]).unwrap();
    assert!(log_likelihood(&model, &not_bits, None, &AisConfig::default()).is_err());
    assert!(matches!(
        pseudo_log_likelihood(energy_fn(&model), &not_bits),
        Err(Error::InvalidData(_))
    ));
}

#[test]
fn ais_handles_a_badly_conditioned_quadratic_model() {
    // Standard deviations from 0.01 to 10 (condition number 10⁶), as on real
    // data with columns in different units; the data have the same spread.
    let d = 10;
    let sd: Vec<f64> = (0..d)
        .map(|i| 0.01 * 1000f64.powf(i as f64 / (d - 1) as f64))
        .collect();
    let precision = Tensor::from_fn(&[d, d], |k| {
        if k / d == k % d {
            1.0 / sd[k / d].powi(2)
        } else {
            0.0
        }
    });
    let model = QuadraticEnergy::from_mean_precision(&Tensor::zeros(&[d]), &precision).unwrap();
    let exact = model.closed_form_log_partition().unwrap();
    let z: Tensor<f64> = normal_tensor(&[500, d], &mut seeded(21));
    let data = Tensor::from_fn(&[500, d], |k| sd[k % d] * z.data()[k]);
    let config = AisConfig {
        temperatures: 100,
        chains: 256,
        ..AisConfig::default()
    };
    let ais = log_partition(&model, &data, Some(LogZMethod::Ais), &config).unwrap();
    println!("{ais:?} vs {exact}");
    assert!(ais.reliable, "{ais:?}");
    assert!(ais.se < 0.03, "{ais:?}");
    assert!(
        (ais.value - exact).abs() < 4.0 * ais.se,
        "{ais:?} vs {exact}"
    );
}

#[test]
fn the_reliability_flag_fires_on_a_model_that_is_not_normalisable() {
    // E = -x0/2 + (x1^2 + x2^2)/2: exp(-E) grows without bound along x0, Z is infinite.
    let f = |x: &Tensor<f64>| {
        let n = x.shape()[0];
        let e = Tensor::from_fn(&[n], |b| {
            let r = x.row(b);
            -0.5 * r[0] + 0.5 * (r[1] * r[1] + r[2] * r[2])
        });
        let s = Tensor::from_fn(&[n, 3], |k| {
            let (b, j) = (k / 3, k % 3);
            if j == 0 {
                0.5
            } else {
                -x.get(&[b, j])
            }
        });
        Ok((e, s))
    };
    let data: Tensor<f64> = normal_tensor(&[200, 3], &mut seeded(1));
    let ais = log_partition_ais(f, &data, &AisConfig::default()).unwrap();
    assert!(!ais.reliable, "{ais:?}");
    assert!(ais.warning.unwrap().contains("not be normalisable"));
}
