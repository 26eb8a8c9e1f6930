//! Shared helpers for the objective tests: Gaussian data, small linear algebra
//! on plain vectors, and a finite-difference check of parameter gradients.
#![allow(dead_code)]

use scoretape::model::Params;
use scoretape::random::{normal_tensor, seeded};
use scoretape::{grad, Tape, Tensor, Var};

/// `n` samples of `N(mean, L Lᵀ)`, as `[n, d]`.
pub fn gaussian_samples(mean: &[f64], factor: &Tensor<f64>, n: usize, seed: u64) -> Tensor<f64> {
    let d = mean.len();
    let z = normal_tensor::<f64, _>(&[n, d], &mut seeded(seed));
    let centred = z.matmul_t(factor, false, true); // rows zᵀLᵀ = (Lz)ᵀ
    Tensor::from_fn(&[n, d], |k| centred.data()[k] + mean[k % d])
}

/// The sample mean `x̄` and the 1/N covariance `Σ̂` of the rows of `x`.
pub fn mean_and_covariance(x: &Tensor<f64>) -> (Tensor<f64>, Tensor<f64>) {
    let (n, d) = (x.shape()[0], x.shape()[1]);
    let mean = Tensor::from_fn(&[d], |j| {
        (0..n).map(|b| x.get(&[b, j])).sum::<f64>() / n as f64
    });
    let cov = Tensor::from_fn(&[d, d], |k| {
        let (i, j) = (k / d, k % d);
        (0..n)
            .map(|b| (x.get(&[b, i]) - mean.data()[i]) * (x.get(&[b, j]) - mean.data()[j]))
            .sum::<f64>()
            / n as f64
    });
    (mean, cov)
}

/// `a + c·I`.
pub fn plus_identity(a: &Tensor<f64>, c: f64) -> Tensor<f64> {
    let d = a.shape()[0];
    Tensor::from_fn(&[d, d], |k| {
        a.data()[k] + if k / d == k % d { c } else { 0.0 }
    })
}

/// The trace of a square matrix.
pub fn trace(a: &Tensor<f64>) -> f64 {
    let d = a.shape()[0];
    (0..d).map(|i| a.get(&[i, i])).sum()
}

/// Mean and standard error of the mean.
pub fn mean_and_standard_error(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// The sample variance.
pub fn variance(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
}

/// The parameter gradient of `loss` (a function of the recorded parameters),
/// as plain tensors.
pub fn parameter_gradient<F>(params: &Params<f64>, loss: F) -> (f64, Vec<Tensor<f64>>)
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Var<'t, f64>,
{
    let tape = Tape::new();
    let vars = params.record(&tape);
    let l = loss(&tape, &vars);
    let g = grad(l, &vars).unwrap();
    (
        l.item(),
        g.iter().map(|v| v.value().as_ref().clone()).collect(),
    )
}

/// The loss at given parameter values.
pub fn loss_at<F>(params: &Params<f64>, loss: &F) -> f64
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Var<'t, f64>,
{
    let tape = Tape::new();
    let vars = params.record(&tape);
    loss(&tape, &vars).item()
}

/// Checks the recorded parameter gradient of `loss` against central finite
/// differences in every scalar parameter, to a relative tolerance.
pub fn check_parameter_gradient<F>(params: &Params<f64>, loss: F, step: f64, tolerance: f64)
where
    F: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Var<'t, f64>,
{
    let (_, analytic) = parameter_gradient(params, &loss);
    let mut worst: f64 = 0.0;
    let mut scale: f64 = 0.0;
    for (p, g) in analytic.iter().enumerate() {
        for k in 0..g.len() {
            let shifted = |delta: f64| {
                let mut moved = params.clone();
                moved.values_mut()[p].data_mut()[k] += delta;
                loss_at(&moved, &loss)
            };
            let numeric = (shifted(step) - shifted(-step)) / (2.0 * step);
            worst = worst.max((numeric - g.data()[k]).abs());
            scale = scale.max(g.data()[k].abs());
        }
    }
    assert!(
        scale > 1e-6,
        "the gradient is identically ~0: the check would be vacuous"
    );
    assert!(
        worst <= tolerance * scale.max(1.0),
        "finite differences disagree with the recorded gradient by {worst:e} (gradient scale {scale:e})"
    );
}

/// A small score network of our own, `s(x) = tanh(x W₁ᵀ + b₁) W₂ᵀ + c·x`, not
/// the gradient of anything; parameters `[W₁ (h×d), b₁ (h), W₂ (d×h), c ([])]`.
pub fn small_score_net(d: usize, h: usize, seed: u64) -> Params<f64> {
    let mut rng = seeded(seed);
    let mut p = Params::new();
    p.push("w1", normal_tensor(&[h, d], &mut rng));
    p.push("b1", normal_tensor(&[h], &mut rng));
    p.push("w2", normal_tensor(&[d, h], &mut rng).map(|v| v * 0.5));
    p.push("c", Tensor::scalar(-0.7));
    p
}

/// Applies [`small_score_net`] to a batch.
pub fn small_score<'t>(params: &[Var<'t, f64>], x: Var<'t, f64>) -> Var<'t, f64> {
    let hidden = (x.matmul_t(params[0], false, true) + params[1]).tanh();
    hidden.matmul_t(params[2], false, true) + x * params[3]
}

/// Fixes a closure's signature to `Var<'t> -> Var<'t>` with one lifetime
/// (a closure annotated `|x: Var<'_, f64>|` would instead be generic over its
/// input lifetime, and could not return a `Var` of the tape it captured).
pub fn one_arg<'t, F: Fn(Var<'t, f64>) -> Var<'t, f64>>(f: F) -> F {
    f
}

/// As [`one_arg`], for a σ-conditioned score `(x, σ) -> s`.
pub fn two_args<'t, F: Fn(Var<'t, f64>, Var<'t, f64>) -> Var<'t, f64>>(f: F) -> F {
    f
}
