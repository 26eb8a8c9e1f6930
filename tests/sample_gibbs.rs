//! Gibbs sampling of a Boltzmann machine against exact enumeration.
//!
//! For `n` independent exact draws from a distribution `p` on `K = 2^d`
//! states, the total-variation distance `TV = ½ Σ_s |p̂_s - p_s|` of the
//! histogram has the exact mean `E[TV] = (1/2n) Σ_s E|X_s - n p_s|`,
//! `X_s ~ Binomial(n, p_s)`, whose terms De Moivre's formula gives in closed
//! form: `E|X - np| = 2ν C(n, ν) p^ν (1-p)^(n-ν+1)`, `ν = ⌊np⌋ + 1`. By the
//! central limit theorem `E[TV] ≈ Σ_s √(p_s(1-p_s)) / √(2πn) ≤ √(K/(2πn))`
//! (Cauchy–Schwarz): it falls as `1/√n`. Gibbs chains run long enough to
//! forget their start are such draws, so their histogram must match that
//! mean, at `n` and at `16n` (a quarter of it), and a chain with a wrong
//! conditional would leave a bias that does not fall with `n`.

use scoretape::model::{Boltzmann, Model};
use scoretape::random::{bernoulli_tensor, seeded};
use scoretape::sample::gibbs;
use scoretape::{Error, Tensor};

const D: usize = 5;
/// Sweeps per chain. For the machine below the exact law of a chain started
/// from uniform bits is within TV 2e-6 of `p` after 5 sweeps and 3e-12 after
/// 10 (computed by iterating the exact 32×32 sweep kernel), far below the
/// TV of the smallest histogram here (≈ 3e-3).
const SWEEPS: usize = 15;
const SEEDS: u64 = 8;
const N: usize = 4000;

/// A machine with couplings of both signs and every state likely enough
/// (smallest probability 0.0058, so at `n = 4000` every state is expected
/// at least 23 times).
fn machine() -> Boltzmann<f64> {
    let mut w = Tensor::zeros(&[D, D]);
    for (i, j, value) in [
        (0, 1, 0.9),
        (0, 2, -0.6),
        (1, 3, 0.7),
        (2, 3, 0.5),
        (2, 4, -0.8),
        (3, 4, 0.6),
        (1, 4, -0.4),
    ] {
        w.data_mut()[i * D + j] = value;
        w.data_mut()[j * D + i] = value;
    }
    let b = Tensor::vector(&[0.3, -0.5, 0.2, -0.1, 0.4]);
    Boltzmann::from_parts(&w, &b).unwrap()
}

/// The state counts of the rows of `x`, in the order of
/// [`Boltzmann::all_states`] (first column the most significant bit).
fn counts(x: &Tensor<f64>) -> Vec<usize> {
    let d = x.shape()[1];
    let mut counts = vec![0; 1 << d];
    for row in x.data().chunks(d) {
        let state = row
            .iter()
            .fold(0, |s, &bit| (s << 1) | (bit == 1.0) as usize);
        counts[state] += 1;
    }
    counts
}

fn total_variation(counts: &[usize], p: &[f64]) -> f64 {
    let n: usize = counts.iter().sum();
    0.5 * counts
        .iter()
        .zip(p)
        .map(|(&c, &q)| (c as f64 / n as f64 - q).abs())
        .sum::<f64>()
}

/// `E|X - np|` for `X ~ Binomial(n, p)`, by De Moivre's formula (in logs).
fn binomial_mean_absolute_deviation(n: usize, p: f64) -> f64 {
    let nu = (n as f64 * p).floor() as usize + 1;
    let ln_choose: f64 = (1..=nu)
        .map(|i| ((n - nu + i) as f64 / i as f64).ln())
        .sum();
    let ln = ln_choose + nu as f64 * p.ln() + (n - nu + 1) as f64 * (1.0 - p).ln();
    2.0 * nu as f64 * ln.exp()
}

/// The exact mean TV of the histogram of `n` independent draws from `p`.
fn expected_total_variation(n: usize, p: &[f64]) -> f64 {
    p.iter()
        .map(|&q| binomial_mean_absolute_deviation(n, q))
        .sum::<f64>()
        / (2 * n) as f64
}

/// `n` Gibbs samples: `n` chains from uniformly random bits.
fn draw(model: &Boltzmann<f64>, n: usize, seed: u64) -> Tensor<f64> {
    let mut rng = seeded(seed);
    let start = bernoulli_tensor(&[n, model.dim()], 0.5, &mut rng);
    gibbs(model, start, SWEEPS, &mut rng).unwrap()
}

#[test]
fn de_moivre_matches_a_direct_sum() {
    // The oracle's oracle: E|X - np| summed over every outcome.
    for (n, p) in [(10, 0.3f64), (50, 0.02), (37, 0.77)] {
        let mut choose = 1.0f64;
        let mut direct = 0.0;
        for k in 0..=n {
            direct += choose
                * p.powi(k as i32)
                * (1.0 - p).powi((n - k) as i32)
                * (k as f64 - n as f64 * p).abs();
            choose = choose * (n - k) as f64 / (k + 1) as f64;
        }
        let closed = binomial_mean_absolute_deviation(n, p);
        assert!(
            (closed - direct).abs() < 1e-12 * direct,
            "{closed} vs {direct}"
        );
    }
}

#[test]
fn the_histogram_distance_to_the_exact_distribution_falls_as_one_over_root_n() {
    let model = machine();
    let p = model.exact_probabilities().unwrap().data().to_vec();
    let (small, large) = (N, 16 * N);
    let (expected_small, expected_large) = (
        expected_total_variation(small, &p),
        expected_total_variation(large, &p),
    );
    // The exact means themselves fall by 4 (to 0.1%: the CLT regime).
    assert!((expected_small / expected_large - 4.0).abs() < 4e-3);

    let mut pooled = vec![0; 1 << D];
    let (mut tv_small, mut tv_large) = (0.0, 0.0);
    for seed in 0..SEEDS {
        for (n, total) in [(small, &mut tv_small), (large, &mut tv_large)] {
            let c = counts(&draw(&model, n, 1000 * seed + n as u64));
            let tv = total_variation(&c, &p);
            // A bound from √(2^d/n) alone: E[TV] ≤ √(2^d/(2πn)), and one
            // histogram's TV has a relative spread of about 15% (simulated for
            // this machine at n = 4000), so twice that bound is never reached
            // by chance (7 standard deviations at n = 4000).
            let bound = 2.0 * ((1 << D) as f64 / (2.0 * std::f64::consts::PI * n as f64)).sqrt();
            assert!(tv < bound, "seed {seed}, n = {n}: TV {tv} ≥ {bound}");
            *total += tv / SEEDS as f64;
            if n == large {
                for (sum, k) in pooled.iter_mut().zip(&c) {
                    *sum += k;
                }
            }
        }
    }
    // Averaged over 8 seeds, each mean TV has a relative spread of about
    // 15%/√8 ≈ 5%: ±20% is four standard deviations.
    let ratio_small = tv_small / expected_small;
    let ratio_large = tv_large / expected_large;
    assert!(
        (ratio_small - 1.0).abs() < 0.2,
        "TV at n = {small}: {ratio_small} × expected"
    );
    assert!(
        (ratio_large - 1.0).abs() < 0.2,
        "TV at n = {large}: {ratio_large} × expected"
    );
    // Sixteen times the samples, a quarter of the distance (the ratio of two
    // means with 5% spread each: ±1 is four standard deviations of it).
    let shrink = tv_small / tv_large;
    eprintln!("TV / expected: {ratio_small:.3} at n = {small}, {ratio_large:.3} at n = {large}; shrink {shrink:.3}");
    assert!((shrink - 4.0).abs() < 1.0, "TV shrank by {shrink}, not ≈ 4");
    // All 512 000 samples together: a TV of 0.0029 expected, where scaling
    // the coupling by 1.01 would add a bias of 0.0031 and shifting each bias
    // by 0.01 one of 0.0044. ±45% is three standard deviations of one TV.
    let n_pooled: usize = pooled.iter().sum();
    let ratio = total_variation(&pooled, &p) / expected_total_variation(n_pooled, &p);
    eprintln!("pooled TV / expected: {ratio:.3}");
    assert!((ratio - 1.0).abs() < 0.45, "pooled TV {ratio} × expected");
}

#[test]
fn a_seed_fixes_the_samples() {
    let model = machine();
    assert_eq!(draw(&model, 50, 7), draw(&model, 50, 7));
    assert_ne!(draw(&model, 50, 7), draw(&model, 50, 8));
}

#[test]
fn zero_sweeps_return_the_start() {
    let model = machine();
    let start = bernoulli_tensor::<f64, _>(&[10, D], 0.5, &mut seeded(3));
    assert_eq!(
        gibbs(&model, start.clone(), 0, &mut seeded(4)).unwrap(),
        start
    );
}

#[test]
fn bad_starting_states_are_errors() {
    let model = machine();
    let mut rng = seeded(0);
    let mut half = Tensor::zeros(&[2, D]);
    half.data_mut()[3] = 0.5;
    match gibbs(&model, half, 1, &mut rng) {
        Err(Error::InvalidData(message)) => assert!(message.contains("x[0, 3] = 0.5"), "{message}"),
        other => panic!("expected InvalidData, got {other:?}"),
    }
    match gibbs(&model, Tensor::zeros(&[2, D + 1]), 1, &mut rng) {
        Err(Error::Shape(message)) => {
            assert!(
                message.contains("dimension 5") && message.contains("6 columns"),
                "{message}"
            )
        }
        other => panic!("expected Shape, got {other:?}"),
    }
    assert!(matches!(
        gibbs(&model, Tensor::zeros(&[0, D]), 1, &mut rng),
        Err(Error::Shape(_))
    ));
    let mut nan = Tensor::zeros(&[1, D]);
    nan.data_mut()[0] = f64::NAN;
    assert!(matches!(
        gibbs(&model, nan, 1, &mut rng),
        Err(Error::InvalidData(_))
    ));
}
