//! The piecewise operations (`abs`, `relu`, `clamp`, `max`, `min`,
//! `max_axis`, `min_axis`, `select`) at their kinks, where the documented
//! subgradient is the contract, and `logsumexp` where a naive formula would
//! overflow or produce NaN. Away from the kinks all of them are checked to
//! third order against finite differences by the primitive suite
//! (tests/common/mod.rs).

use scoretape::{grad, hessian, hvp, jvp, Tape, Tensor, Var};

fn vector(values: &[f64]) -> Tensor<f64> {
    Tensor::vector(values)
}

#[test]
fn abs_has_derivative_zero_and_no_curvature_at_zero() {
    let tape = Tape::new();
    let x = tape.input(vector(&[-1.5, 0.0, 2.0]));
    let y = x.abs();
    assert_eq!(y.to_vec(), vec![1.5, 0.0, 2.0]);
    assert_eq!(
        grad(y.sum(), &[x]).unwrap()[0].to_vec(),
        vec![-1.0, 0.0, 1.0]
    );
    let t = tape.constant(vector(&[1.0, 1.0, 1.0]));
    assert_eq!(
        jvp(&[y], &[x], &[t]).unwrap()[0].to_vec(),
        vec![-1.0, 0.0, 1.0]
    );
    assert_eq!(hvp(y.sum(), x, t).unwrap().to_vec(), vec![0.0, 0.0, 0.0]);
}

#[test]
fn relu_has_derivative_zero_at_zero_and_keeps_nan() {
    let tape = Tape::new();
    let x = tape.input(vector(&[-1.0, 0.0, 3.0, f64::NEG_INFINITY]));
    let y = x.relu();
    assert_eq!(y.to_vec(), vec![0.0, 0.0, 3.0, 0.0]);
    assert_eq!(
        grad(y.sum(), &[x]).unwrap()[0].to_vec(),
        vec![0.0, 0.0, 1.0, 0.0]
    );
    let nan = tape.input(Tensor::scalar(f64::NAN));
    assert!(nan.relu().item().is_nan());
}

#[test]
fn clamp_passes_the_derivative_at_both_bounds() {
    let tape = Tape::new();
    let x = tape.input(vector(&[-2.0, -1.0, 0.25, 1.0, 2.0]));
    let y = x.clamp(-1.0, 1.0);
    assert_eq!(y.to_vec(), vec![-1.0, -1.0, 0.25, 1.0, 1.0]);
    assert_eq!(
        grad(y.sum(), &[x]).unwrap()[0].to_vec(),
        vec![0.0, 1.0, 1.0, 1.0, 0.0]
    );
}

#[test]
#[should_panic(expected = "clamp: bounds")]
fn clamp_with_crossed_bounds_panics() {
    let tape = Tape::new();
    tape.input(Tensor::scalar(0.0)).clamp(1.0, -1.0);
}

#[test]
fn max_and_min_send_a_tie_to_the_first_operand() {
    let tape = Tape::new();
    let a = tape.input(vector(&[1.0, 2.0, 3.0]));
    let b = tape.input(vector(&[2.0, 2.0, 1.0]));
    for (y, expect_a) in [(a.max(b), [0.0, 1.0, 1.0]), (a.min(b), [1.0, 1.0, 0.0])] {
        let g = grad(y.sum(), &[a, b]).unwrap();
        assert_eq!(g[0].to_vec(), expect_a);
        let expect_b: Vec<f64> = expect_a.iter().map(|d| 1.0 - d).collect();
        assert_eq!(g[1].to_vec(), expect_b);
    }
    // The derivative of max(x, x) is 1, however the tie is broken.
    assert_eq!(grad(a.max(a).sum(), &[a]).unwrap()[0].to_vec(), [1.0; 3]);
}

#[test]
fn max_broadcasts_and_accumulates_into_the_smaller_operand() {
    let tape = Tape::new();
    let x = tape.input(Tensor::from_rows(&[vec![1.0, -1.0], vec![-2.0, 4.0]]).unwrap());
    let floor = tape.input(Tensor::scalar(0.0));
    let y = x.max(floor);
    assert_eq!(y.to_vec(), vec![1.0, 0.0, 0.0, 4.0]);
    assert_eq!(grad(y.sum(), &[floor]).unwrap()[0].item(), 2.0);
}

#[test]
fn max_axis_sends_a_tie_to_the_first_entry() {
    let tape = Tape::new();
    let m = tape.input(Tensor::from_rows(&[vec![5.0, 5.0, 1.0], vec![0.0, 2.0, 2.0]]).unwrap());
    let y = m.max_axis(1);
    assert_eq!(y.shape(), vec![2]);
    assert_eq!(y.to_vec(), vec![5.0, 2.0]);
    assert_eq!(
        grad(y.sum(), &[m]).unwrap()[0].to_vec(),
        vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    );
    let low = m.min_axis(0);
    assert_eq!(low.to_vec(), vec![0.0, 2.0, 1.0]);
}

#[test]
#[should_panic(expected = "max_axis: axis 1 of shape [2, 0] is empty")]
fn max_over_an_empty_axis_panics() {
    let tape = Tape::<f64>::new();
    tape.input(Tensor::zeros(&[2, 0])).max_axis(1);
}

#[test]
fn select_keeps_the_branch_not_taken_out_of_the_value() {
    let tape = Tape::new();
    let x = tape.input(vector(&[4.0, 0.0]));
    // ln 0 = -∞ is not taken, so the value is finite.
    let y = Var::select(&[true, false], x.log(), x * 2.0);
    assert_eq!(y.to_vec(), vec![4f64.ln(), 0.0]);
    // Its derivative 1/0 = ∞ meets a zero cotangent, 0·∞ = NaN, as with
    // JAX's `where`: the documented remedy is a safe input to the branch.
    let naive = grad(y.sum(), &[x]).unwrap()[0].to_vec();
    assert!(naive[1].is_nan());
    let safe = Var::select(&[true, false], x, tape.constant(vector(&[1.0, 1.0])));
    let y = Var::select(&[true, false], safe.log(), x * 2.0);
    assert_eq!(grad(y.sum(), &[x]).unwrap()[0].to_vec(), vec![0.25, 2.0]);
    let h = hessian(y.sum(), x).unwrap();
    assert_eq!(h.to_vec(), vec![-1.0 / 16.0, 0.0, 0.0, 0.0]);
}

#[test]
fn logsumexp_matches_the_closed_form_and_does_not_overflow() {
    let tape = Tape::new();
    let values = [0.3, -1.2, 2.0];
    let x = tape.input(vector(&values));
    let y = x.logsumexp(0);
    let total: f64 = values.iter().map(|v| v.exp()).sum();
    assert!((y.item() - total.ln()).abs() < 1e-14);
    // The gradient is the softmax p and the Hessian diag(p) - ppᵀ.
    let p: Vec<f64> = values.iter().map(|v| v.exp() / total).collect();
    let g = grad(y, &[x]).unwrap()[0].to_vec();
    let h = hessian(y, x).unwrap().to_vec();
    for i in 0..3 {
        assert!((g[i] - p[i]).abs() < 1e-15);
        for j in 0..3 {
            let expected = if i == j { p[i] } else { 0.0 } - p[i] * p[j];
            assert!((h[i * 3 + j] - expected).abs() < 1e-15);
        }
    }
    // Shifted by 10⁴, the naive ln Σ eˣ overflows; the result just shifts.
    let far = tape.input(vector(&values.map(|v| v + 1e4)));
    assert!((far.logsumexp(0).item() - (total.ln() + 1e4)).abs() < 1e-10);
}

#[test]
fn logsumexp_reduces_one_axis_and_handles_all_minus_infinity() {
    let tape = Tape::new();
    let inf = f64::INFINITY;
    let m = tape.input(Tensor::from_rows(&[vec![0.0, 0.0], vec![-inf, -inf]]).unwrap());
    let rows = m.logsumexp(1);
    assert_eq!(rows.shape(), vec![2]);
    assert!((rows.to_vec()[0] - 2f64.ln()).abs() < 1e-15);
    assert_eq!(rows.to_vec()[1], -inf);
    let columns = m.logsumexp(0);
    assert_eq!(columns.to_vec(), vec![0.0, 0.0]);
}
