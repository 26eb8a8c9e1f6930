//! Generalized score matching on `[0, ∞)ᵈ`: the loss against a direct
//! per-coordinate computation (reverse-mode gradient, Hessian-vector-product
//! diagonal), its parameter gradient and its `h'` term against finite
//! differences, the closed form against gradient descent, and the estimator
//! against the true parameters of a truncated Gaussian, where plain exact
//! score matching is biased.

#[macro_use]
mod common;
mod objectives_support;

use common::config;
use core::ops::ControlFlow;
use objectives_support::{check_parameter_gradient, gaussian_samples, mean_and_standard_error};
use proptest::prelude::*;
use scoretape::exec::Evaluator;
use scoretape::model::linalg::inverse;
use scoretape::model::{
    closed_form_generalized_score_matching, closed_form_score_matching, Activation, Energy,
    MlpEnergy, Model, QuadraticEnergy,
};
use scoretape::objective::{generalized_score_matching, Draws, Objective, ScoreWeight};
use scoretape::optim::{Adam, Schedule};
use scoretape::train::{fit_model, Budget, FitConfig};
use scoretape::{batched_jacobian_diagonal, grad, Error, Tape, Tensor};

/// `(h(x), h'(x))` written out again, independently of the library's.
fn h_and_slope(weight: ScoreWeight, x: f64) -> (f64, f64) {
    match weight {
        ScoreWeight::X2 => (x * x, 2.0 * x),
        ScoreWeight::X => (x, 1.0),
        ScoreWeight::Min(c) if x < c => (x, 1.0),
        ScoreWeight::Min(c) => (c, 0.0),
    }
}

/// Per sample, `∂ⱼE` (`[B, d]`, one reverse sweep) and `∂²ⱼE` (`[B, d]`, one
/// Hessian-vector product `H eⱼ` per coordinate) of an MLP energy.
fn derivatives(model: &MlpEnergy<f64>, x: &Tensor<f64>) -> (Tensor<f64>, Tensor<f64>) {
    let (b, d) = (x.shape()[0], x.shape()[1]);
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let xv = tape.input(x.clone());
    let g = grad(model.energy(&params, xv).sum(), &[xv]).unwrap()[0];
    let columns: Vec<Vec<f64>> = (0..d)
        .map(|j| batched_jacobian_diagonal(g, xv, j).unwrap().to_vec())
        .collect();
    let diagonal = Tensor::from_fn(&[b, d], |k| columns[k % d][k / d]);
    (g.value().as_ref().clone(), diagonal)
}

/// The loss by the definition, term by term, from [`derivatives`].
fn direct_loss(model: &MlpEnergy<f64>, x: &Tensor<f64>, weight: ScoreWeight) -> f64 {
    let (gradient, diagonal) = derivatives(model, x);
    let per_entry = x.data().iter().zip(gradient.data()).zip(diagonal.data());
    let total: f64 = per_entry
        .map(|((&v, &g), &h2)| {
            let (h, slope) = h_and_slope(weight, v);
            0.5 * h * g * g - h * h2 - slope * g
        })
        .sum();
    total / x.shape()[0] as f64
}

fn library_loss(model: &MlpEnergy<f64>, x: &Tensor<f64>, weight: ScoreWeight) -> f64 {
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let energy = |x| model.energy(&params, x);
    generalized_score_matching(&tape, &energy, x, None, weight)
        .unwrap()
        .item()
}

fn weights() -> impl Strategy<Value = ScoreWeight> {
    prop_oneof![
        Just(ScoreWeight::X2),
        Just(ScoreWeight::X),
        (0.2f64..2.0).prop_map(ScoreWeight::Min),
    ]
}

/// A batch in `[0, 3]`, with some entries exactly 0 (the boundary, allowed).
fn batch() -> impl Strategy<Value = Tensor<f64>> {
    (1usize..5, 1usize..4).prop_flat_map(|(b, d)| {
        proptest::collection::vec(prop_oneof![1 => Just(0.0), 4 => 0.0f64..3.0], b * d)
            .prop_map(move |v| Tensor::from_vec(&[b, d], v).unwrap())
    })
}

proptest! {
    #![proptest_config(config(48))]

    /// The recorded loss (one √h-seeded forward Laplacian and one JVP) is
    /// the definition computed coordinate by coordinate from an independent
    /// reverse-mode gradient and HVP diagonal, to 1e-10 relative.
    #[test]
    fn loss_is_the_direct_sum(x in batch(), weight in weights(), seed in 0u64..1000) {
        let d = x.shape()[1];
        let model = MlpEnergy::<f64>::new(d, &[8, 6], Activation::Softplus, seed).unwrap();
        let (got, want) = (library_loss(&model, &x, weight), direct_loss(&model, &x, weight));
        prop_assert!(
            (got - want).abs() <= 1e-10 * got.abs().max(want.abs()).max(1.0),
            "{weight}: library {got} vs direct {want}"
        );
    }
}

/// The parameter gradient, by an ordinary reverse sweep through the jets,
/// matches central finite differences of the loss, for each weight.
#[test]
fn parameter_gradient_matches_finite_differences() {
    let x = Tensor::from_fn(&[6, 3], |k| ((k * 7 % 11) as f64) * 0.27);
    for weight in [ScoreWeight::X2, ScoreWeight::X, ScoreWeight::Min(1.1)] {
        let model = MlpEnergy::<f64>::new(3, &[5], Activation::Tanh, 3).unwrap();
        check_parameter_gradient(
            model.params(),
            |tape, params| {
                let energy = |x| model.energy(params, x);
                generalized_score_matching(tape, &energy, &x, None, weight).unwrap()
            },
            1e-5,
            1e-7,
        );
    }
}

/// `h ∂²ⱼE + h' ∂ⱼE = ∂ⱼ(h ∂ⱼE)`: the loss equals `Σⱼ ½h(∂ⱼE)²` minus central
/// finite differences in `xⱼ` of `h(xⱼ)∂ⱼE(x)`, so a missing, mis-signed or
/// mis-scaled `h'` term fails (it is `O(1)` here).
#[test]
fn slope_term_is_the_finite_difference_of_the_weighted_gradient() {
    let model = MlpEnergy::<f64>::new(2, &[8], Activation::Softplus, 5).unwrap();
    let x = Tensor::from_rows(&[vec![0.4, 1.7], vec![2.3, 0.9], vec![1.3, 2.8]]).unwrap();
    let gradient_at = |x: &Tensor<f64>| derivatives(&model, x).0;
    let step = 1e-4;
    for weight in [ScoreWeight::X2, ScoreWeight::X, ScoreWeight::Min(1.5)] {
        let (gradient, _) = derivatives(&model, &x);
        let mut total = 0.0;
        let mut slope_part: f64 = 0.0;
        for (k, (&v, &g)) in x.data().iter().zip(gradient.data()).enumerate() {
            let weighted = |delta: f64| {
                let mut moved = x.clone();
                moved.data_mut()[k] += delta;
                h_and_slope(weight, v + delta).0 * gradient_at(&moved).data()[k]
            };
            let divergence = (weighted(step) - weighted(-step)) / (2.0 * step);
            let (h, slope) = h_and_slope(weight, v);
            total += 0.5 * h * g * g - divergence;
            slope_part += (slope * g).abs();
        }
        let want = total / 3.0;
        let got = library_loss(&model, &x, weight);
        assert!(
            slope_part > 0.1,
            "{weight}: the h' term is too small to test"
        );
        assert!(
            (got - want).abs() < 1e-7 * want.abs().max(1.0),
            "{weight}: {got} vs finite differences {want}"
        );
    }
}

#[test]
fn negative_or_non_finite_data_and_bad_weights_are_refused() {
    let model = MlpEnergy::<f64>::new(2, &[4], Activation::Tanh, 0).unwrap();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let energy = |x| model.energy(&params, x);
    let x = Tensor::from_rows(&[vec![0.0, 1.0], vec![2.0, -0.5]]).unwrap();
    match generalized_score_matching(&tape, &energy, &x, None, ScoreWeight::X) {
        Err(Error::InvalidData(m)) => assert!(m.contains("row 1 column 1"), "{m}"),
        other => panic!("expected InvalidData, got {other:?}"),
    }
    let nan = Tensor::from_rows(&[vec![f64::NAN, 1.0]]).unwrap();
    assert!(matches!(
        generalized_score_matching(&tape, &energy, &nan, None, ScoreWeight::X),
        Err(Error::InvalidData(_))
    ));
    let zeros = Tensor::zeros(&[2, 2]);
    for bad in [0.0, -1.0, f64::INFINITY] {
        assert!(matches!(
            generalized_score_matching(&tape, &energy, &zeros, None, ScoreWeight::Min(bad)),
            Err(Error::InvalidData(_))
        ));
    }
    // All-zero data is inside the support.
    assert!(generalized_score_matching(&tape, &energy, &zeros, None, ScoreWeight::X).is_ok());
}

/// The objective through the dispatcher: one thread or two, the same loss
/// and gradient as the function; score and Boltzmann models refused.
#[test]
fn dispatcher_and_threads_agree_with_the_function() {
    let model = MlpEnergy::<f64>::new(3, &[6], Activation::Softplus, 1).unwrap();
    let x = Tensor::from_fn(&[9, 3], |k| ((k * 5 % 7) as f64) * 0.4);
    let weight = ScoreWeight::Min(1.2);
    let objective = Objective::Generalized { weight };
    assert_eq!(objective.name(), "gsm");
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let energy = |x| model.energy(&params, x);
    let loss = generalized_score_matching(&tape, &energy, &x, None, weight).unwrap();
    let want: Vec<Tensor<f64>> = grad(loss, &params)
        .unwrap()
        .iter()
        .map(|g| g.value().as_ref().clone())
        .collect();
    for threads in [1, 2] {
        let (value, grads) = Evaluator::with_threads(threads)
            .value_and_grad(&objective, &model, &x, &Draws::none())
            .unwrap();
        assert!((value - loss.item()).abs() < 1e-12);
        for (a, b) in grads.iter().zip(&want) {
            assert!(a.max_abs_diff(b) < 1e-12);
        }
    }
    let score =
        scoretape::model::MlpScore::<f64>::new(3, &[4], Activation::Tanh, false, 0).unwrap();
    assert!(Evaluator::new()
        .value(&objective, &score, &x, &Draws::none())
        .is_err());
    let bm = scoretape::model::Boltzmann::<f64>::new(3).unwrap();
    assert!(Evaluator::new()
        .value(&objective, &bm, &x, &Draws::none())
        .is_err());
}

// ---------------------------------------------------------------------------
// A Gaussian truncated to [0, ∞)³.

const MEAN: [f64; 3] = [0.6, 1.0, -0.3];

/// The covariance factor `L` (`Σ = LLᵀ`): correlated coordinates.
fn factor() -> Tensor<f64> {
    Tensor::from_rows(&[
        vec![1.0, 0.0, 0.0],
        vec![0.5, 0.8, 0.0],
        vec![-0.3, 0.4, 0.7],
    ])
    .unwrap()
}

/// The true natural parameter `θ = (-Pμ, P_ij for i ≤ j)` of
/// [`QuadraticEnergy::natural_family`].
fn true_theta() -> Vec<f64> {
    let l = factor();
    let p = inverse(&l.matmul_t(&l, false, true)).unwrap();
    let mu = Tensor::from_vec(&[3, 1], MEAN.to_vec()).unwrap();
    let mut theta: Vec<f64> = p.matmul(&mu).data().iter().map(|v| -v).collect();
    for i in 0..3 {
        for j in i..3 {
            theta.push(p.get(&[i, j]));
        }
    }
    theta
}

/// `n` exact draws of the truncated Gaussian, by rejection from `N(μ, Σ)`.
fn truncated_samples(n: usize, seed: u64) -> Tensor<f64> {
    let mut rows: Vec<f64> = Vec::with_capacity(3 * n);
    let mut round = 0;
    while rows.len() < 3 * n {
        let draws = gaussian_samples(&MEAN, &factor(), 4 * n, seed * 1000 + round);
        for row in draws.data().chunks(3) {
            if row.iter().all(|&v| v >= 0.0) && rows.len() < 3 * n {
                rows.extend_from_slice(row);
            }
        }
        round += 1;
    }
    Tensor::from_vec(&[n, 3], rows).unwrap()
}

/// Over `replicates` independent data sets of `n` rows, the largest
/// `|mean θ̂ᵢ - θᵢ|` in standard errors of that mean (the spread over the
/// replicates), and the mean sandwich standard error over the replicate
/// spread (the fit's own SE, which should be ≈ 1).
fn error_in_standard_errors(
    fit: impl Fn(&Tensor<f64>) -> (Vec<f64>, Vec<f64>),
    n: usize,
    replicates: u64,
) -> (f64, f64) {
    let truth = true_theta();
    let fits: Vec<(Vec<f64>, Vec<f64>)> = (0..replicates)
        .map(|seed| fit(&truncated_samples(n, seed)))
        .collect();
    let (mut worst, mut se_ratio) = (0.0f64, 0.0);
    for (i, want) in truth.iter().enumerate() {
        let estimates: Vec<f64> = fits.iter().map(|(theta, _)| theta[i]).collect();
        let (mean, se) = mean_and_standard_error(&estimates);
        worst = worst.max((mean - want).abs() / se);
        let sandwich = fits.iter().map(|(_, s)| s[i]).sum::<f64>() / replicates as f64;
        se_ratio += sandwich / (se * (replicates as f64).sqrt()) / truth.len() as f64;
    }
    (worst, se_ratio)
}

/// GSM in closed form recovers the truncated Gaussian's mean and precision
/// (as its natural parameter) within 5 standard errors, at two sample sizes,
/// for every weight, and its sandwich standard errors match the spread over
/// seeds; exact score matching (the boundary ignored) misses by tens of
/// standard errors, more as n grows.
#[test]
fn truncated_gaussian_is_recovered_by_gsm_and_missed_by_esm() {
    let family = QuadraticEnergy::<f64>::natural_family(3).unwrap();
    let unpack = |fit: scoretape::model::ClosedFormFit<f64>| {
        (
            fit.theta.data().to_vec(),
            fit.standard_errors.data().to_vec(),
        )
    };
    for weight in [ScoreWeight::X2, ScoreWeight::X, ScoreWeight::Min(1.0)] {
        let gsm = |x: &Tensor<f64>| {
            unpack(closed_form_generalized_score_matching(&family, x, None, weight).unwrap())
        };
        for n in [1000, 4000] {
            let (worst, se_ratio) = error_in_standard_errors(gsm, n, 16);
            eprintln!("gsm {weight}, n = {n}: {worst:.2} SE off; sandwich/spread {se_ratio:.2}");
            assert!(worst < 5.0, "{weight}, n = {n}: off by {worst:.2} SE");
            assert!(
                (0.6..1.6).contains(&se_ratio),
                "{weight}, n = {n}: sandwich SE / replicate spread = {se_ratio:.2}"
            );
        }
    }
    let esm = |x: &Tensor<f64>| unpack(closed_form_score_matching(&family, x, None).unwrap());
    let (small, _) = error_in_standard_errors(esm, 1000, 16);
    let (large, _) = error_in_standard_errors(esm, 4000, 16);
    eprintln!("esm: {small:.1} SE off at n = 1000, {large:.1} at n = 4000");
    assert!(small > 25.0, "esm is off by only {small:.1} SE at n = 1000");
    assert!(
        large > 1.5 * small,
        "esm's error in SE should grow like √n: {small:.1} then {large:.1}"
    );
}

/// The natural family fitted by plain score matching is the moment fit of
/// [`QuadraticEnergy::fit_closed_form`]: the features, their order and
/// `from_natural` agree with the model's own parametrisation.
#[test]
fn natural_family_maps_back_to_the_moment_fit() {
    let x = gaussian_samples(&MEAN, &factor(), 300, 9);
    let family = QuadraticEnergy::<f64>::natural_family(3).unwrap();
    let fit = closed_form_score_matching(&family, &x, None).unwrap();
    let natural = QuadraticEnergy::from_natural(&fit.theta).unwrap();
    let moments = QuadraticEnergy::fit_closed_form(&x).unwrap();
    assert!(natural.mean().max_abs_diff(&moments.mean()) < 1e-10);
    assert!(natural.precision().max_abs_diff(&moments.precision()) < 1e-10);
}

/// The closed form is the minimiser of the recorded objective: the
/// evaluator's gradient vanishes there, and Adam with a decaying rate, from
/// the standard Gaussian, reaches it.
#[test]
fn gradient_descent_reaches_the_closed_form() {
    let x = truncated_samples(400, 77).slice(1, 0, 2);
    let weight = ScoreWeight::Min(1.0);
    let objective = Objective::Generalized { weight };
    let closed = QuadraticEnergy::fit_closed_form_generalized(&x, weight).unwrap();
    let (_, at_minimum) = Evaluator::new()
        .value_and_grad(&objective, &closed, &x, &Draws::none())
        .unwrap();
    let largest = at_minimum
        .iter()
        .map(|g| g.max_abs_diff(&Tensor::zeros(g.shape())))
        .fold(0.0, f64::max);
    assert!(largest < 1e-9, "gradient at the closed form: {largest:e}");

    let mut model = QuadraticEnergy::<f64>::new(2).unwrap();
    let steps = 3000;
    let config = FitConfig {
        batch_size: 400,
        budget: Budget::Steps(steps),
        schedule: Schedule::Cosine {
            total_steps: steps,
            min_lr: 1e-5,
        },
        ..FitConfig::default()
    };
    fit_model(
        &mut model,
        &objective,
        &mut Adam::new(0.05),
        &x,
        &config,
        |_| ControlFlow::Continue(()),
    )
    .unwrap();
    let mean_gap = model.mean().max_abs_diff(&closed.mean());
    let precision_gap = model.precision().max_abs_diff(&closed.precision());
    assert!(
        mean_gap < 1e-4 && precision_gap < 1e-4,
        "Adam ended {mean_gap:e} (mean), {precision_gap:e} (precision) from the closed form"
    );
}
