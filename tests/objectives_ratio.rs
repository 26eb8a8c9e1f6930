//! Ratio matching on binary data, against closed forms and exact
//! distributions.

mod objectives_support;

use objectives_support::*;
use scoretape::model::linalg::lu_solve;
use scoretape::model::{Activation, Boltzmann, Energy, MlpEnergy, Model};
use scoretape::objective::{flip_each_bit, ratio_matching};
use scoretape::random::{bernoulli_tensor, seeded};
use scoretape::{grad, hessian, Error, Tape, Tensor, Var};
use std::cell::Cell;

fn true_machine() -> Boltzmann<f64> {
    let w = Tensor::from_rows(&[
        vec![0.0, 0.8, -0.5],
        vec![0.8, 0.0, 0.3],
        vec![-0.5, 0.3, 0.0],
    ])
    .unwrap();
    Boltzmann::from_parts(&w, &Tensor::vector(&[0.2, -0.4, 0.1])).unwrap()
}

/// All `2^d` states weighted by their exact probabilities: the expected loss
/// under the model itself, whose gradient vanishes at the true parameters.
#[test]
fn gradient_vanishes_at_the_true_boltzmann_machine() {
    let truth = true_machine();
    let states = Boltzmann::<f64>::all_states(3).unwrap();
    let p = truth.exact_probabilities().unwrap();
    let (_, g) = parameter_gradient(truth.params(), |tape, params| {
        ratio_matching(tape, &|x| truth.energy(params, x), &states, Some(&p)).unwrap()
    });
    let largest = g
        .iter()
        .map(|t| t.max_abs_diff(&Tensor::zeros(t.shape())))
        .fold(0.0, f64::max);
    assert!(largest < 1e-12, "{largest:e}");
    // while a different machine's gradient does not vanish
    let other = Boltzmann::<f64>::new(3).unwrap();
    let (_, g) = parameter_gradient(other.params(), |tape, params| {
        ratio_matching(tape, &|x| other.energy(params, x), &states, Some(&p)).unwrap()
    });
    let largest = g
        .iter()
        .map(|t| t.max_abs_diff(&Tensor::zeros(t.shape())))
        .fold(0.0, f64::max);
    assert!(largest > 1e-3);
}

/// `E(x) = -Σ_{i<j} θ_ij xᵢxⱼ - Σᵢ θᵢ xᵢ` with one flat parameter vector, so
/// that Newton's method can use the full Hessian of the loss.
fn flat_boltzmann<'t>(theta: Var<'t, f64>, x: Var<'t, f64>) -> Var<'t, f64> {
    let bit = |i: usize| x.slice(1, i, i + 1);
    let features = Var::concat(&[bit(0) * bit(1), bit(0) * bit(2), bit(1) * bit(2), x], 1);
    let n = x.shape()[0];
    -features.matmul(theta.reshape(&[6, 1])).reshape(&[n])
}

/// Minimising the ratio-matching loss over all states weighted by the exact
/// probabilities (Newton from the uniform machine) recovers W and b.
#[test]
fn ratio_matching_recovers_a_boltzmann_machine() {
    let truth = true_machine();
    let states = Boltzmann::<f64>::all_states(3).unwrap();
    let p = truth.exact_probabilities().unwrap();
    let mut theta = Tensor::zeros(&[6]);
    for _ in 0..30 {
        let tape = Tape::new();
        let t = tape.input(theta.clone());
        let loss = ratio_matching(&tape, &|x| flat_boltzmann(t, x), &states, Some(&p)).unwrap();
        let g = grad(loss, &[t]).unwrap()[0].value().reshape(&[6, 1]);
        let h = hessian(loss, t).unwrap().value().as_ref().clone();
        let step = lu_solve(&h, &g).unwrap();
        theta = theta.zip_map(&step.reshape(&[6]), |a, s| a - s);
    }
    let w = truth.coupling();
    let b = truth.bias();
    let expected = Tensor::vector(&[
        w.get(&[0, 1]),
        w.get(&[0, 2]),
        w.get(&[1, 2]),
        b.data()[0],
        b.data()[1],
        b.data()[2],
    ]);
    assert!(
        theta.max_abs_diff(&expected) < 1e-9,
        "{theta:?} vs {expected:?}"
    );
}

/// One independent bit that is 1 with frequency q, `E = -b x`: the loss is
/// `q·sigmoid(-b)² + (1-q)·sigmoid(b)²`, minimised at `b̂ = logit(q)`.
#[test]
fn one_bit_recovers_the_logit_of_its_frequency() {
    let q: f64 = 0.3;
    let states = Tensor::from_rows(&[vec![1.0], vec![0.0]]).unwrap();
    let weights = Tensor::vector(&[q, 1.0 - q]);
    let mut b = 0.0;
    for _ in 0..40 {
        let tape = Tape::new();
        let bv = tape.input(Tensor::scalar(b));
        let loss =
            ratio_matching(&tape, &|x| -(x * bv).sum_axis(1), &states, Some(&weights)).unwrap();
        let s = |t: f64| 1.0 / (1.0 + (-t).exp());
        let closed_form = q * s(-b).powi(2) + (1.0 - q) * s(b).powi(2);
        assert!((loss.item() - closed_form).abs() < 1e-14);
        let g = grad(loss, &[bv]).unwrap()[0];
        let h = grad(g, &[bv]).unwrap()[0];
        b -= g.item() / h.item();
    }
    assert!((b - (q / (1.0 - q)).ln()).abs() < 1e-12, "{b}");
}

/// A constant energy: every ratio is 1, so each of the d bits adds ¼.
#[test]
fn constant_energy_has_loss_d_over_four() {
    let x = bernoulli_tensor::<f64, _>(&[10, 7], 0.5, &mut seeded(1));
    let tape = Tape::new();
    let w = Tensor::from_fn(&[10], |b| (b + 1) as f64);
    let loss = ratio_matching(&tape, &|x| x.sum_axis(1) * 0.0 + 3.0, &x, Some(&w)).unwrap();
    assert!((loss.item() - 7.0 / 4.0).abs() < 1e-15);
}

/// The loss value against a direct per-sample evaluation, one energy call per
/// state, and the whole batch in exactly one energy call.
#[test]
fn loss_matches_a_direct_evaluation_in_one_energy_call() {
    let model = MlpEnergy::<f64>::new(4, &[6], Activation::Softplus, 2).unwrap();
    let x = bernoulli_tensor::<f64, _>(&[5, 4], 0.5, &mut seeded(3));
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let calls = Cell::new(0);
    let rows = Cell::new(0);
    let loss = ratio_matching(
        &tape,
        &|x| {
            calls.set(calls.get() + 1);
            rows.set(x.shape()[0]);
            model.energy(&params, x)
        },
        &x,
        None,
    )
    .unwrap()
    .item();
    assert_eq!((calls.get(), rows.get()), (1, 5 * 5));

    let energy_of = |row: Vec<f64>| {
        let state = tape.constant(Tensor::from_vec(&[1, 4], row).unwrap());
        model.energy(&params, state).item()
    };
    let mut expected = 0.0;
    for b in 0..5 {
        let e = energy_of(x.row(b).to_vec());
        for j in 0..4 {
            let mut flipped = x.row(b).to_vec();
            flipped[j] = 1.0 - flipped[j];
            let t = e - energy_of(flipped);
            expected += (1.0 / (1.0 + (-t).exp())).powi(2) / 5.0;
        }
    }
    assert!((loss - expected).abs() < 1e-14);
}

#[test]
fn parameter_gradient_matches_finite_differences() {
    let model = MlpEnergy::<f64>::new(3, &[4], Activation::Tanh, 4).unwrap();
    let x = bernoulli_tensor::<f64, _>(&[6, 3], 0.5, &mut seeded(5));
    let w = Tensor::vector(&[1.0, 2.0, 0.5, 0.0, 1.0, 3.0]);
    check_parameter_gradient(
        model.params(),
        |tape, params| ratio_matching(tape, &|x| model.energy(params, x), &x, Some(&w)).unwrap(),
        1e-5,
        1e-8,
    );
}

#[test]
fn flips_are_listed_sample_by_sample_bit_by_bit() {
    let x = Tensor::from_rows(&[vec![0.0, 1.0], vec![1.0, 1.0]]).unwrap();
    let flipped = flip_each_bit(&x).unwrap();
    assert_eq!(flipped.shape(), &[4, 2]);
    assert_eq!(flipped.data(), &[1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
}

#[test]
fn non_binary_data_is_rejected_naming_the_entry() {
    let x = Tensor::from_rows(&[vec![0.0, 1.0, 1.0], vec![1.0, 0.0, 0.5]]).unwrap();
    let tape = Tape::new();
    match ratio_matching(&tape, &|x| x.sum_axis(1), &x, None) {
        Err(Error::InvalidData(msg)) => {
            assert!(msg.contains("x[1, 2]") && msg.contains("0.5"), "{msg}")
        }
        other => panic!("expected InvalidData, got {other:?}"),
    }
    let empty = Tensor::<f64>::zeros(&[0, 3]);
    assert!(matches!(
        ratio_matching(&tape, &|x| x.sum_axis(1), &empty, None),
        Err(Error::Shape(_))
    ));
    let nan = Tensor::from_rows(&[vec![f64::NAN, 1.0]]).unwrap();
    assert!(matches!(
        ratio_matching(&tape, &|x| x.sum_axis(1), &nan, None),
        Err(Error::InvalidData(_))
    ));
    let ok = Tensor::from_rows(&[vec![0.0, 1.0]]).unwrap();
    assert!(matches!(
        ratio_matching(
            &tape,
            &|x| x.sum_axis(1),
            &ok,
            Some(&Tensor::vector(&[-1.0]))
        ),
        Err(Error::InvalidData(_))
    ));
}
