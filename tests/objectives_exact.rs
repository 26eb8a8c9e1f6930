//! Exact score matching and the Fisher divergence, against closed forms.

mod objectives_support;

use objectives_support::*;
use scoretape::model::linalg::inverse;
use scoretape::model::{
    closed_form_score_matching, Activation, Energy, LinearExpFamily, MlpEnergy, MlpScore, Model,
    QuadraticEnergy, Score,
};
use scoretape::objective::{
    exact_score_matching, exact_score_matching_score_model, fisher_divergence,
    fisher_divergence_score_model,
};
use scoretape::random::{normal_tensor, seeded};
use scoretape::{grad, Error, Tape, Tensor, Var};

fn correlated_data(n: usize, seed: u64) -> Tensor<f64> {
    let factor = Tensor::from_rows(&[
        vec![1.0, 0.0, 0.0],
        vec![0.6, 0.8, 0.0],
        vec![-0.3, 0.4, 0.5],
    ])
    .unwrap();
    gaussian_samples(&[1.0, -2.0, 0.5], &factor, n, seed)
}

/// For the quadratic energy, `J(μ, P) = -tr P + ½ tr(P Σ̂ P) + ½ (x̄-μ)ᵀP²(x̄-μ)`.
#[test]
fn quadratic_loss_equals_its_closed_form() {
    let x = correlated_data(50, 1);
    let (xbar, cov) = mean_and_covariance(&x);
    let mu = Tensor::vector(&[0.3, -1.0, 0.0]);
    let p = Tensor::from_rows(&[
        vec![2.0, 0.3, 0.1],
        vec![0.3, 1.0, -0.2],
        vec![0.1, -0.2, 0.7],
    ])
    .unwrap();
    let model = QuadraticEnergy::from_mean_precision(&mu, &p).unwrap();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let loss = exact_score_matching(&tape, &|x| model.energy(&params, x), &x, None).unwrap();

    let psp = p.matmul(&cov).matmul(&p);
    let diff = Tensor::from_fn(&[3, 1], |i| xbar.data()[i] - mu.data()[i]);
    let pd = p.matmul(&diff);
    let expected = -trace(&p) + 0.5 * trace(&psp) + 0.5 * pd.dot(&pd);
    assert!(
        (loss.item() - expected).abs() < 1e-12,
        "{} vs {expected}",
        loss.item()
    );
}

/// The minimiser on Gaussian data is μ = x̄, P = Σ̂⁻¹ (the MLE), where the
/// parameter gradient vanishes; a nearby point has a clearly non-zero one.
#[test]
fn quadratic_minimiser_is_sample_mean_and_inverse_covariance() {
    let x = correlated_data(200, 2);
    let (xbar, cov) = mean_and_covariance(&x);
    let precision = inverse(&cov).unwrap();
    let loss = |model: &QuadraticEnergy<f64>| {
        parameter_gradient(model.params(), |tape, params| {
            exact_score_matching(tape, &|x| model.energy(params, x), &x, None).unwrap()
        })
    };
    let optimum = QuadraticEnergy::from_mean_precision(&xbar, &precision).unwrap();
    let (j_opt, g) = loss(&optimum);
    let largest = g
        .iter()
        .map(|t| t.max_abs_diff(&Tensor::zeros(t.shape())))
        .fold(0.0, f64::max);
    assert!(largest < 1e-10, "gradient at the optimum: {largest:e}");
    // and the optimal loss is -½ tr Σ̂⁻¹
    assert!((j_opt + 0.5 * trace(&precision)).abs() < 1e-10);

    let nearby =
        QuadraticEnergy::from_mean_precision(&xbar, &plus_identity(&precision, 0.05)).unwrap();
    let (j_near, g_near) = loss(&nearby);
    let largest = g_near
        .iter()
        .map(|t| t.max_abs_diff(&Tensor::zeros(t.shape())))
        .fold(0.0, f64::max);
    assert!(largest > 1e-3);
    assert!(j_near > j_opt);
}

/// The true model of N(0, I) data: per-sample loss `-d + ½‖x‖²`, expectation
/// `-d/2`, per-sample variance `d/2` (½‖x‖² is ½χ²_d).
#[test]
fn true_model_has_expected_loss_minus_half_d() {
    let d = 4;
    let n = 4000;
    let x = normal_tensor::<f64, _>(&[n, d], &mut seeded(3));
    let model = QuadraticEnergy::new(d).unwrap();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let loss = exact_score_matching(&tape, &|x| model.energy(&params, x), &x, None).unwrap();
    let standard_error = (d as f64 / 2.0 / n as f64).sqrt();
    let z = (loss.item() + d as f64 / 2.0) / standard_error;
    assert!(
        z.abs() < 5.0,
        "loss {} is {z} standard errors from -d/2",
        loss.item()
    );
}

/// A score model that is not a gradient, `s(x) = A x` with `A` not
/// symmetric: `ℓ = tr A + ½‖Ax‖²`.
#[test]
fn score_model_loss_for_a_linear_non_gradient_score() {
    let a = Tensor::from_rows(&[vec![-1.0, 2.0], vec![0.5, -3.0]]).unwrap();
    let x = normal_tensor::<f64, _>(&[7, 2], &mut seeded(4));
    let tape = Tape::new();
    let a_var = tape.constant(a.clone());
    let loss =
        exact_score_matching_score_model(&tape, &|x| x.matmul_t(a_var, false, true), &x, None)
            .unwrap();
    let ax = x.matmul_t(&a, false, true);
    let expected = trace(&a) + 0.5 * ax.dot(&ax) / 7.0;
    assert!((loss.item() - expected).abs() < 1e-12);
}

/// The energy and score-model forms agree when the score is `-∇E`.
#[test]
fn energy_and_score_forms_agree() {
    let model = MlpEnergy::<f64>::new(3, &[6, 5], Activation::Tanh, 5).unwrap();
    let x = normal_tensor::<f64, _>(&[9, 3], &mut seeded(6));
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let energy_form = exact_score_matching(&tape, &|x| model.energy(&params, x), &x, None).unwrap();
    let score = |x| -scoretape::grad(model.energy(&params, x).sum(), &[x]).unwrap()[0];
    let score_form = exact_score_matching_score_model(&tape, &score, &x, None).unwrap();
    assert!((energy_form.item() - score_form.item()).abs() < 1e-12);
}

/// Integer weights equal duplicated samples; weights need not be normalised.
#[test]
fn weights_act_as_multiplicities() {
    let model = MlpEnergy::<f64>::new(2, &[5], Activation::Softplus, 7).unwrap();
    let x = Tensor::from_rows(&[vec![0.1, 0.2], vec![-1.0, 0.5], vec![2.0, -0.3]]).unwrap();
    let repeated = Tensor::from_rows(&[
        vec![0.1, 0.2],
        vec![-1.0, 0.5],
        vec![-1.0, 0.5],
        vec![-1.0, 0.5],
    ])
    .unwrap();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let energy = |x| model.energy(&params, x);
    let weighted =
        exact_score_matching(&tape, &energy, &x, Some(&Tensor::vector(&[2.0, 6.0, 0.0]))).unwrap();
    let plain = exact_score_matching(&tape, &energy, &repeated, None).unwrap();
    assert!((weighted.item() - plain.item()).abs() < 1e-13);
}

#[test]
fn parameter_gradient_matches_finite_differences_mlp_energy() {
    let model = MlpEnergy::<f64>::new(2, &[4], Activation::Softplus, 8).unwrap();
    let x = normal_tensor::<f64, _>(&[5, 2], &mut seeded(9));
    let w = Tensor::vector(&[1.0, 0.5, 2.0, 0.0, 1.5]);
    check_parameter_gradient(
        model.params(),
        |tape, params| {
            exact_score_matching(tape, &|x| model.energy(params, x), &x, Some(&w)).unwrap()
        },
        1e-5,
        1e-7,
    );
}

#[test]
fn parameter_gradient_matches_finite_differences_score_net() {
    let params = small_score_net(2, 5, 10);
    let x = normal_tensor::<f64, _>(&[6, 2], &mut seeded(11));
    check_parameter_gradient(
        &params,
        |tape, params| {
            exact_score_matching_score_model(tape, &|x| small_score(params, x), &x, None).unwrap()
        },
        1e-5,
        1e-7,
    );
}

/// Fisher divergence between two Gaussians' scores, written out:
/// `s_θ - s_data = -P(x-μ) + P₀(x-μ₀)`.
#[test]
fn fisher_divergence_of_quadratic_models() {
    let x = correlated_data(30, 12);
    let mu = Tensor::vector(&[0.5, -1.0, 0.0]);
    let p = Tensor::from_rows(&[
        vec![1.5, 0.2, 0.0],
        vec![0.2, 1.0, 0.1],
        vec![0.0, 0.1, 2.0],
    ])
    .unwrap();
    let model = QuadraticEnergy::from_mean_precision(&mu, &p).unwrap();
    let mu0 = [1.0, -2.0, 0.5];
    let data_score = Tensor::from_fn(&[30, 3], |k| -(x.data()[k] - mu0[k % 3]));
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let energy = |x| model.energy(&params, x);
    let divergence = fisher_divergence(&tape, &energy, &x, &data_score, None).unwrap();
    let centred = Tensor::from_fn(&[30, 3], |k| x.data()[k] - mu.data()[k % 3]);
    let model_score = centred.matmul(&p).map(|v| -v);
    let diff = model_score.zip_map(&data_score, |a, b| a - b);
    let expected = 0.5 * diff.dot(&diff) / 30.0;
    assert!((divergence.item() - expected).abs() < 1e-12);

    // the score-model form with the same score
    let tape2 = Tape::new();
    let p_var = tape2.constant(p.clone());
    let mu_var = tape2.constant(mu.clone());
    let score_form = fisher_divergence_score_model(
        &tape2,
        &|x| -(x - mu_var).matmul(p_var),
        &x,
        &data_score,
        None,
    )
    .unwrap();
    assert!((score_form.item() - expected).abs() < 1e-12);
}

#[test]
fn fisher_divergence_gradient_matches_finite_differences() {
    let model = MlpEnergy::<f64>::new(2, &[4], Activation::Silu, 13).unwrap();
    let x = normal_tensor::<f64, _>(&[5, 2], &mut seeded(14));
    let data_score = x.map(|v| -v);
    check_parameter_gradient(
        model.params(),
        |tape, params| {
            fisher_divergence(tape, &|x| model.energy(params, x), &x, &data_score, None).unwrap()
        },
        1e-5,
        1e-7,
    );
}

#[test]
fn bad_inputs_are_typed_errors() {
    let tape = Tape::new();
    let run = |x: &Tensor<f64>, w: Option<&Tensor<f64>>| {
        let tape = Tape::new();
        exact_score_matching(&tape, &|x| x.square().sum_axis(1), x, w).map(|l| l.item())
    };
    let good = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    assert!(matches!(
        run(&Tensor::zeros(&[0, 2]), None),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        run(&Tensor::zeros(&[2, 0]), None),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        run(&Tensor::zeros(&[4]), None),
        Err(Error::Shape(_))
    ));
    let nan = Tensor::from_rows(&[vec![1.0, f64::NAN]]).unwrap();
    match run(&nan, None) {
        Err(Error::InvalidData(msg)) => assert!(msg.contains("[0, 1]"), "{msg}"),
        other => panic!("expected InvalidData, got {other:?}"),
    }
    let inf = Tensor::from_rows(&[vec![f64::INFINITY, 1.0]]).unwrap();
    assert!(matches!(run(&inf, None), Err(Error::InvalidData(_))));
    assert!(matches!(
        run(&good, Some(&Tensor::vector(&[1.0]))),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        run(&good, Some(&Tensor::vector(&[1.0, -0.5]))),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        run(&good, Some(&Tensor::vector(&[0.0, 0.0]))),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        run(&good, Some(&Tensor::vector(&[f64::NAN, 1.0]))),
        Err(Error::InvalidData(_))
    ));
    // an energy that does not return one value per sample
    let wrong = exact_score_matching(&tape, &|x| x.square(), &good, None);
    assert!(matches!(wrong, Err(Error::Shape(_))));
    // a score that is not shaped like x
    let wrong = exact_score_matching_score_model(&tape, &|x| x.sum_axis(1), &good, None);
    assert!(matches!(wrong, Err(Error::Shape(_))));
    // an energy that overflows gives a Numerical error, not a number
    let huge = exact_score_matching(&tape, &|x| (x * 1e300).square().sum_axis(1), &good, None);
    assert!(matches!(huge, Err(Error::Numerical(_))));
    // a data score of the wrong shape
    let bad_score = fisher_divergence(
        &tape,
        &|x| x.square().sum_axis(1),
        &good,
        &Tensor::zeros(&[2, 3]),
        None,
    );
    assert!(matches!(bad_score, Err(Error::Shape(_))));
}

/// A linear exponential family `E = θᵀT(x)`: the exact-SM loss is
/// `½θᵀAθ - bᵀθ` with the `A`, `b` of the closed-form estimator, at any θ,
/// and its θ-gradient vanishes at the estimator's `θ̂ = A⁻¹b`.
#[test]
fn linear_exponential_family_loss_is_the_closed_form_quadratic() {
    let mut model = LinearExpFamily::<f64>::new(2, 6, |x: Var<'_, f64>| {
        let (x0, x1) = (x.slice(1, 0, 1), x.slice(1, 1, 2));
        let quadratic = x1.square() * 0.5 + x0 * x1;
        let mixed = (x1 * 0.5).tanh() * x0;
        Var::concat(&[x0, x1, x0.square() * 0.5, quadratic, x0.sin(), mixed], 1)
    })
    .unwrap();
    let x = normal_tensor::<f64, _>(&[40, 2], &mut seeded(20)).map(|v| 1.3 * v + 0.2);
    let w = Tensor::from_fn(&[40], |b| 1.0 + (b % 3) as f64);
    let fit = closed_form_score_matching(&model, &x, Some(&w)).unwrap();
    let loss_at = |model: &LinearExpFamily<f64>| {
        let tape = Tape::new();
        let params = model.params().record(&tape);
        let loss =
            exact_score_matching(&tape, &|x| model.energy(&params, x), &x, Some(&w)).unwrap();
        let g = grad(loss, &params).unwrap()[0].value().as_ref().clone();
        (loss.item(), g)
    };
    let mut rng = seeded(21);
    for _ in 0..3 {
        let theta = normal_tensor::<f64, _>(&[6], &mut rng);
        model.set_theta(theta.clone()).unwrap();
        let (loss, g) = loss_at(&model);
        let t = theta.reshape(&[6, 1]);
        let at = fit.a.matmul(&t);
        let expected = 0.5 * t.dot(&at) - fit.b.dot(&theta);
        assert!(
            (loss - expected).abs() < 1e-10 * (1.0 + expected.abs()),
            "{loss} vs {expected}"
        );
        // and the gradient is Aθ - b
        let expected_g = Tensor::from_fn(&[6], |i| at.data()[i] - fit.b.data()[i]);
        assert!(g.max_abs_diff(&expected_g) < 1e-10);
    }
    model.set_theta(fit.theta.clone()).unwrap();
    let (loss, g) = loss_at(&model);
    assert!(g.max_abs_diff(&Tensor::zeros(&[6])) < 1e-10);
    assert!((loss - fit.loss).abs() < 1e-10);
}

#[test]
fn parameter_gradient_matches_finite_differences_mlp_score() {
    let model = MlpScore::<f64>::new(2, &[5], Activation::Tanh, false, 22).unwrap();
    let x = normal_tensor::<f64, _>(&[6, 2], &mut seeded(23));
    check_parameter_gradient(
        model.params(),
        |tape, params| {
            exact_score_matching_score_model(tape, &|x| model.score(params, x, None), &x, None)
                .unwrap()
        },
        1e-5,
        1e-7,
    );
}

/// The objectives are generic over the float type: f32 agrees with f64 to
/// single precision.
#[test]
fn single_precision_agrees_with_double() {
    let x64 = normal_tensor::<f64, _>(&[8, 3], &mut seeded(40));
    let x32 = Tensor::from_vec(&[8, 3], x64.data().iter().map(|&v| v as f32).collect()).unwrap();
    let tape64 = Tape::new();
    let l64 = exact_score_matching(&tape64, &|x| (x.tanh() * x).sum_axis(1), &x64, None)
        .unwrap()
        .item();
    let tape32 = Tape::<f32>::new();
    let l32 = exact_score_matching(&tape32, &|x| (x.tanh() * x).sum_axis(1), &x32, None)
        .unwrap()
        .item();
    assert!(
        (l32 as f64 - l64).abs() < 1e-5 * (1.0 + l64.abs()),
        "{l32} vs {l64}"
    );
}

/// The first-order fast path gives the recorded loss and its parameter
/// gradient, with weights, on an MLP with more dimensions than the doctest.
#[test]
fn value_and_grad_matches_the_recorded_loss_and_its_gradient() {
    use scoretape::model::{Activation, Energy, MlpEnergy, Model};
    use scoretape::objective::exact_score_matching_value_and_grad;
    use scoretape::random::{normal_tensor, seeded};
    use scoretape::{grad, Tape, Tensor};

    let model = MlpEnergy::<f64>::new(5, &[12, 7], Activation::Silu, 3).unwrap();
    let mut rng = seeded(11);
    let x = normal_tensor::<f64, _>(&[9, 5], &mut rng);
    let weights = Tensor::from_fn(&[9], |i| 0.5 + i as f64);
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let energy = |x| model.energy(&params, x);
    let before = tape.len();
    let (loss, grads) =
        exact_score_matching_value_and_grad(&tape, &energy, &x, Some(&weights), &params).unwrap();
    assert_eq!(tape.len(), before, "the tape is left as it was found");

    let recorded = exact_score_matching(&tape, &energy, &x, Some(&weights)).unwrap();
    let expected = grad(recorded, &params).unwrap();
    assert!((loss - recorded.item()).abs() < 1e-12 * recorded.item().abs().max(1.0));
    for (fast, slow) in grads.iter().zip(&expected) {
        let scale = slow
            .value()
            .data()
            .iter()
            .fold(1.0f64, |m, v| m.max(v.abs()));
        assert!(fast.max_abs_diff(&slow.value()) < 1e-12 * scale);
    }
}
