//! Higher-order and batched derivatives: third-order derivatives of an MLP
//! energy with respect to its parameters, nesting without perturbation
//! confusion, batched HVPs and Hessian traces against per-sample ones, and
//! the Jacobian in both modes against finite differences.

use scoretape::check::{check_grads, CheckConfig};
use scoretape::model::{Activation, Energy, MlpEnergy, Model};
use scoretape::random::{normal_tensor, seeded};
use scoretape::{
    batched_hessian_trace, grad, hessian, hessian_trace, hvp, jacobian, jvp, Tape, Tensor, Var,
};

const BATCH: usize = 4;
const DIM: usize = 3;

fn mlp(activation: Activation, seed: u64) -> MlpEnergy<f64> {
    MlpEnergy::new(DIM, &[5, 4], activation, seed).unwrap()
}

/// `Σ_b v_bᵀ H(x_b) v_b` for the model with parameter values `params`, where
/// `H(x_b)` is the Hessian of the energy in `x` at sample `b`.
fn curvature(
    model: &MlpEnergy<f64>,
    params: &[Tensor<f64>],
    x: &Tensor<f64>,
    v: &Tensor<f64>,
) -> f64 {
    let tape = Tape::new();
    let params: Vec<Var<f64>> = params.iter().map(|p| tape.input(p.clone())).collect();
    let x = tape.input(x.clone());
    let v = tape.constant(v.clone());
    let hv = hvp(model.energy(&params, x).sum(), x, v).unwrap();
    (hv * v).sum().item()
}

/// The third-order derivative `∂θ Σ_b v_bᵀ H(x_b) v_b` (reverse over
/// forward-over-reverse), element by element, against central differences
/// in θ written out here, independently of `check_grads`.
#[test]
fn third_order_derivative_in_the_parameters_of_an_mlp_matches_finite_differences() {
    for (k, activation) in Activation::ALL.into_iter().enumerate() {
        let model = mlp(activation, 10 + k as u64);
        let mut rng = seeded(20 + k as u64);
        let x: Tensor<f64> = normal_tensor(&[BATCH, DIM], &mut rng);
        let v: Tensor<f64> = normal_tensor(&[BATCH, DIM], &mut rng);
        let values = model.params().values().to_vec();

        let tape = Tape::new();
        let params = model.params().record(&tape);
        let xv = tape.input(x.clone());
        let vv = tape.constant(v.clone());
        let hv = hvp(model.energy(&params, xv).sum(), xv, vv).unwrap();
        let third = grad((hv * vv).sum(), &params).unwrap();

        let h = 1e-4;
        for (p, derivative) in third.iter().enumerate() {
            let derivative = derivative.to_vec();
            for (i, &computed) in derivative.iter().enumerate() {
                let moved = |delta: f64| {
                    let mut shifted = values.clone();
                    shifted[p].data_mut()[i] += delta;
                    curvature(&model, &shifted, &x, &v)
                };
                let reference = (moved(h) - moved(-h)) / (2.0 * h);
                assert!(
                    (computed - reference).abs() <= 1e-6 * (1.0 + reference.abs()),
                    "{activation}: parameter {p} element {i}: computed {computed}, finite differences {reference}"
                );
            }
        }
    }
}

/// The same third-order derivative through `check_grads`: the energy as a
/// function of all parameters and the inputs at once, every mode to order 3
/// (so mixed ∂θ∂x∂x terms are covered too).
#[test]
fn check_grads_passes_on_mlp_energies_in_parameters_and_inputs() {
    for (k, activation) in Activation::ALL.into_iter().enumerate() {
        let model = mlp(activation, 30 + k as u64);
        let x: Tensor<f64> = normal_tensor(&[BATCH, DIM], &mut seeded(40 + k as u64));
        let mut args = model.params().values().to_vec();
        args.push(x);
        let last = args.len() - 1;
        check_grads(
            |v| model.energy(&v[..last], v[last]),
            &args,
            3,
            &CheckConfig::f64(),
        )
        .unwrap_or_else(|failure| panic!("{activation}: {failure}"));
    }
}

/// d/dx [x · d/dy (x·y)] = d/dx [x·x] = 2x. Perturbation confusion (the inner
/// derivative's dependence on x lost or counted twice) gives x or 3x.
#[test]
fn nested_gradient_without_perturbation_confusion() {
    for (x0, y0) in [(3.0, 5.0), (-0.5, 2.0), (1.7, -4.0)] {
        let tape = Tape::new();
        let x = tape.input(Tensor::scalar(x0));
        let y = tape.input(Tensor::scalar(y0));
        let inner = grad(x * y, &[y]).unwrap()[0];
        let outer = grad(x * inner, &[x]).unwrap()[0];
        assert_eq!(outer.item(), 2.0 * x0);
    }
}

/// d/dx [x · d/dy [y · d/dz (x·y·z)]]: d/dz = xy, y·xy = xy², d/dy = 2xy,
/// x·2xy = 2x²y, d/dx = 4xy.
#[test]
fn doubly_nested_gradient_without_perturbation_confusion() {
    for (x0, y0, z0) in [(3.0f64, 5.0, 7.0), (-0.5, 2.0, 0.1), (1.7, -4.0, -2.5)] {
        let tape = Tape::new();
        let x = tape.input(Tensor::scalar(x0));
        let y = tape.input(Tensor::scalar(y0));
        let z = tape.input(Tensor::scalar(z0));
        let dz = grad(x * y * z, &[z]).unwrap()[0];
        let dy = grad(y * dz, &[y]).unwrap()[0];
        let dx = grad(x * dy, &[x]).unwrap()[0];
        assert!((dx.item() - 4.0 * x0 * y0).abs() < 1e-12);
    }
}

/// Siskind and Pearlmutter's example: d/dx [x · (d/dy (x + y))] = d/dx x = 1,
/// which a confused implementation gets as 2.
#[test]
fn inner_derivative_of_a_sum_does_not_leak_into_the_outer_one() {
    let tape = Tape::new();
    let x = tape.input(Tensor::scalar(1.5));
    let y = tape.input(Tensor::scalar(-0.5));
    let inner = grad(x + y, &[y]).unwrap()[0];
    assert_eq!(grad(x * inner, &[x]).unwrap()[0].item(), 1.0);
}

/// The same nesting with the inner derivative in forward mode:
/// d/dx [x · jvp_y(x·y; 1)] = d/dx [x·x] = 2x.
#[test]
fn reverse_over_forward_nesting_without_perturbation_confusion() {
    let tape = Tape::new();
    let x = tape.input(Tensor::scalar(1.25));
    let y = tape.input(Tensor::scalar(4.0));
    let one = tape.scalar(1.0);
    let inner = jvp(&[x * y], &[y], &[one]).unwrap()[0];
    assert_eq!(grad(x * inner, &[x]).unwrap()[0].item(), 2.5);
}

/// Row `b` of one batched HVP equals the HVP of sample `b` recorded alone.
#[test]
fn batched_hvp_rows_are_per_sample_hvps() {
    for (k, activation) in Activation::ALL.into_iter().enumerate() {
        let model = mlp(activation, 50 + k as u64);
        let mut rng = seeded(60 + k as u64);
        let x: Tensor<f64> = normal_tensor(&[BATCH, DIM], &mut rng);
        let v: Tensor<f64> = normal_tensor(&[BATCH, DIM], &mut rng);

        let tape = Tape::new();
        let params = model.params().record(&tape);
        let xv = tape.input(x.clone());
        let batched = hvp(
            model.energy(&params, xv).sum(),
            xv,
            tape.constant(v.clone()),
        )
        .unwrap();

        for b in 0..BATCH {
            let tape = Tape::new();
            let params = model.params().record(&tape);
            let xb = tape.input(Tensor::from_vec(&[1, DIM], x.row(b).to_vec()).unwrap());
            let vb = tape.constant(Tensor::from_vec(&[1, DIM], v.row(b).to_vec()).unwrap());
            let alone = hvp(model.energy(&params, xb).sum(), xb, vb).unwrap();
            let row = batched.value().row(b).to_vec();
            for (a, s) in row.iter().zip(alone.to_vec()) {
                assert!((a - s).abs() < 1e-13, "{activation} sample {b}: {a} vs {s}");
            }
        }
    }
}

/// `batched_hessian_trace` equals, per sample, the trace of the full Hessian
/// of that sample's energy.
#[test]
fn batched_hessian_trace_is_the_trace_of_per_sample_hessians() {
    for (k, activation) in Activation::ALL.into_iter().enumerate() {
        let model = mlp(activation, 70 + k as u64);
        let x: Tensor<f64> = normal_tensor(&[BATCH, DIM], &mut seeded(80 + k as u64));

        let tape = Tape::new();
        let params = model.params().record(&tape);
        let xv = tape.input(x.clone());
        let traces = batched_hessian_trace(model.energy(&params, xv).sum(), xv).unwrap();
        assert_eq!(traces.shape(), vec![BATCH]);

        for b in 0..BATCH {
            let tape = Tape::new();
            let params = model.params().record(&tape);
            let xb = tape.input(Tensor::from_vec(&[1, DIM], x.row(b).to_vec()).unwrap());
            let h = hessian(model.energy(&params, xb).sum(), xb).unwrap();
            assert_eq!(h.shape(), vec![1, DIM, 1, DIM]);
            let h = h.to_vec();
            let trace: f64 = (0..DIM).map(|j| h[j * DIM + j]).sum();
            let batched = traces.to_vec()[b];
            assert!(
                (batched - trace).abs() < 1e-13,
                "{activation} sample {b}: {batched} vs {trace}"
            );
        }
    }
}

/// `hessian_trace` equals the trace of `hessian`, for a function of a matrix
/// whose Hessian is full (not diagonal).
#[test]
fn hessian_trace_is_the_trace_of_the_hessian() {
    let tape = Tape::new();
    let x = tape.input(normal_tensor::<f64, _>(&[2, 3], &mut seeded(90)));
    let y = x.matmul_t(x, false, true).sin().sum() + (x.exp() * x).sum();
    let trace = hessian_trace(y, x).unwrap();
    assert_eq!(trace.shape(), Vec::<usize>::new());
    let h = hessian(y, x).unwrap();
    assert_eq!(h.shape(), vec![2, 3, 2, 3]);
    let h = h.to_vec();
    let expected: f64 = (0..6).map(|i| h[i * 6 + i]).sum();
    assert!((trace.item() - expected).abs() < 1e-12 * (1.0 + expected.abs()));
    // and the Hessian is not diagonal, so the trace is a real test
    assert!(h[1].abs() > 1e-3);
}

/// Central differences of `f` at `x`, column `i` = ∂f/∂xᵢ, laid out like the
/// Jacobian (`shape(y) ++ shape(x)`).
fn finite_difference_jacobian(
    f: impl Fn(&Tensor<f64>) -> Tensor<f64>,
    x: &Tensor<f64>,
) -> Vec<f64> {
    let h = 1e-6;
    let n = x.len();
    let m = f(x).len();
    let mut jac = vec![0.0; m * n];
    for i in 0..n {
        let mut plus = x.clone();
        plus.data_mut()[i] += h;
        let mut minus = x.clone();
        minus.data_mut()[i] -= h;
        let (fp, fm) = (f(&plus), f(&minus));
        for j in 0..m {
            jac[j * n + i] = (fp.data()[j] - fm.data()[j]) / (2.0 * h);
        }
    }
    jac
}

fn assert_jacobian_matches(f: impl for<'t> Fn(Var<'t, f64>) -> Var<'t, f64>, x0: Tensor<f64>) {
    let tape = Tape::new();
    let x = tape.input(x0.clone());
    let y = f(x);
    let jac = jacobian(y, x).unwrap();
    let expected_shape: Vec<usize> = y.shape().into_iter().chain(x.shape()).collect();
    assert_eq!(jac.shape(), expected_shape);
    let reference = finite_difference_jacobian(
        |p| {
            let tape = Tape::new();
            let x = tape.input(p.clone());
            f(x).value().as_ref().clone()
        },
        &x0,
    );
    for (k, (a, b)) in jac.to_vec().iter().zip(&reference).enumerate() {
        assert!(
            (a - b).abs() < 1e-7 * (1.0 + b.abs()),
            "entry {k}: {a} vs {b}"
        );
    }
}

/// Fewer outputs than inputs: the Jacobian is built from reverse sweeps.
#[test]
fn jacobian_in_reverse_mode_matches_finite_differences() {
    let x0 = Tensor::from_rows(&[vec![0.3, -1.1, 0.8], vec![1.4, 0.2, -0.6]]).unwrap();
    assert_jacobian_matches(|x| (x.sin() * x.sum_axis(0)).exp().sum_axis(1), x0);
}

/// More outputs than inputs: the Jacobian is built from forward sweeps.
#[test]
fn jacobian_in_forward_mode_matches_finite_differences() {
    let x0 = Tensor::vector(&[0.7, -0.4]);
    let w = Tensor::from_rows(&[vec![1.0, 2.0], vec![-0.5, 0.3], vec![0.9, -1.2]]).unwrap();
    assert_jacobian_matches(
        move |x| {
            let w = x.tape().constant(w.clone());
            let z = w.matmul(x.reshape(&[2, 1])).tanh();
            z.matmul_t(z, false, true) // [3, 3]: 9 outputs from 2 inputs
        },
        x0,
    );
}

/// When one of the `xs` is computed from another, both modes take total
/// derivatives (a tangent or cotangent flows on through an `x`), so they stay
/// adjoint. With `b = exp(a)` and `z = b²`: `grad(z, &[a, b]) = [2e⁴, 2e²]`
/// and `jvp(&[z], &[a, b], &[1, 1]) = 2e⁴ + 2e²`.
#[test]
fn adjoint_identity_holds_when_one_x_depends_on_another() {
    let tape = Tape::new();
    let a = tape.input(Tensor::scalar(2.0f64));
    let b = a.exp();
    let z = b * b;
    let one = tape.scalar(1.0);
    let cotangents = grad(z, &[a, b]).unwrap();
    let reverse = cotangents[0].item() + cotangents[1].item();
    let forward = jvp(&[z], &[a, b], &[one, one]).unwrap()[0].item();
    assert!(
        (forward - reverse).abs() < 1e-12 * reverse.abs(),
        "⟨z̄, J ẋ⟩ = {forward} but ⟨x̄, ẋ⟩ = {reverse}"
    );
    let e2 = 2f64.exp(); // b = e²
    assert!((reverse - (2.0 * e2 * e2 + 2.0 * e2)).abs() < 1e-12 * reverse);
}
