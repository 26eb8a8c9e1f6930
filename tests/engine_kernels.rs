//! The slice kernels of `Real` (`exp_into`, `softplus_into`, `sigmoid_into`),
//! as the engine calls them: whatever instruction set the CPU has, the results
//! stay within a few ulp of the C library's, and one element gives the same
//! bits alone as inside a long slice (the SIMD body and its remainder loop
//! agree).

use proptest::prelude::*;
use scoretape::{Real, Tape, Tensor};

fn within_ulps(got: f64, want: f64, ulps: f64) -> bool {
    if want.is_infinite() {
        return got == want;
    }
    (got - want).abs() <= ulps * (f64::EPSILON * want.abs()).max(f64::from_bits(1))
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        x.exp() / (1.0 + x.exp())
    }
}

/// A slice kernel: appends one result per element.
type Kernel = fn(&[f64], &mut Vec<f64>);
/// A kernel, its reference and the error allowed, in ulp.
type Case = (Kernel, fn(f64) -> f64, f64);

fn apply(kernel: Kernel, xs: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    kernel(xs, &mut out);
    assert_eq!(out.len(), xs.len());
    out
}

proptest! {
    #[test]
    fn f64_kernels_are_within_three_ulp_of_the_c_library(xs in prop::collection::vec(-750.0f64..750.0, 1..40)) {
        let cases: [Case; 3] = [
            (f64::exp_into, f64::exp, 2.0),
            (f64::softplus_into, softplus, 3.0),
            (f64::sigmoid_into, sigmoid, 3.0),
        ];
        for (kernel, reference, ulps) in cases {
            let out = apply(kernel, &xs);
            for (&x, &y) in xs.iter().zip(&out) {
                prop_assert!(within_ulps(y, reference(x), ulps), "f({x:e}) = {y:e}, want {:e}", reference(x));
                // The same element alone: the vector body and the remainder agree.
                prop_assert_eq!(apply(kernel, &[x])[0].to_bits(), y.to_bits());
            }
        }
    }

    #[test]
    fn f32_kernels_follow_the_generic_formulas(xs in prop::collection::vec(-100.0f32..100.0, 1..20)) {
        let mut out = Vec::new();
        f32::softplus_into(&xs, &mut out);
        f32::sigmoid_into(&xs, &mut out);
        for (k, &x) in xs.iter().enumerate() {
            let (x64, n) = (f64::from(x), xs.len());
            prop_assert!((f64::from(out[k]) - softplus(x64)).abs() <= 4.0 * f64::from(f32::EPSILON) * softplus(x64).max(1e-30));
            prop_assert!((f64::from(out[n + k]) - sigmoid(x64)).abs() <= 4.0 * f64::from(f32::EPSILON) * sigmoid(x64).max(1e-30));
        }
    }
}

#[test]
fn special_values_give_the_limits() {
    let xs = [
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NAN,
        0.0,
        -0.0,
        1000.0,
        -1000.0,
    ];
    let exp = apply(f64::exp_into, &xs);
    let softplus = apply(f64::softplus_into, &xs);
    let sigmoid = apply(f64::sigmoid_into, &xs);
    assert_eq!(exp[..2], [0.0, f64::INFINITY]);
    assert!(exp[2].is_nan() && softplus[2].is_nan() && sigmoid[2].is_nan());
    assert_eq!(exp[3..7], [1.0, 1.0, f64::INFINITY, 0.0]);
    assert_eq!(softplus[..2], [0.0, f64::INFINITY]);
    assert_eq!(softplus[5..7], [1000.0, 0.0]);
    assert_eq!(sigmoid[..2], [0.0, 1.0]);
    assert_eq!(sigmoid[3..7], [0.5, 0.5, 1.0, 0.0]);
}

#[test]
fn the_tape_records_the_kernels_values() {
    // The softplus and sigmoid nodes of a tape hold what the kernels compute,
    // and log_sigmoid is -softplus(-x) to the bit.
    let xs: Vec<f64> = (0..1000).map(|i| f64::from(i) * 0.07 - 35.0).collect();
    let tape = Tape::new();
    let x = tape.input(Tensor::vector(&xs));
    assert_eq!(x.softplus().to_vec(), apply(f64::softplus_into, &xs));
    assert_eq!(x.sigmoid().to_vec(), apply(f64::sigmoid_into, &xs));
    assert_eq!(x.exp().to_vec(), apply(f64::exp_into, &xs));
    let negated: Vec<f64> = xs.iter().map(|v| -v).collect();
    let expected: Vec<f64> = apply(f64::softplus_into, &negated)
        .iter()
        .map(|v| -v)
        .collect();
    assert_eq!(x.log_sigmoid().to_vec(), expected);
}

#[test]
fn gemm_into_appends_the_product_and_an_empty_sum_is_zero() {
    // [1 2 3; 4 5 6] · [1 0; 0 1; 1 1], B read transposed from [1 0 1; 0 1 1].
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let b_transposed = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
    let mut out = vec![-7.0];
    f64::gemm_into(2, 3, 2, &a, [3, 1], &b_transposed, [1, 3], &mut out);
    assert_eq!(out, [-7.0, 4.0, 5.0, 10.0, 11.0]);
    // k = 0: every entry is an empty sum.
    let mut empty = vec![];
    f32::gemm_into(2, 0, 3, &[], [0, 1], &[], [3, 1], &mut empty);
    assert_eq!(empty, [0.0; 6]);
}
