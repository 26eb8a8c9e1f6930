//! `check_grads` itself: each check must fail on a primitive with a planted
//! bug at the order it is meant to catch, and pass on the correct primitive;
//! bad arguments give typed failures.

use scoretape::check::{check_grads, Check, CheckConfig, CheckFailure};
use scoretape::tape::ops::Primitive;
use scoretape::{Tensor, Var};

/// Which derivative rule of [`Cube`] is wrong.
#[derive(Clone, Copy, PartialEq)]
enum Bug {
    None,
    /// The reverse rule says `3x²` is `2x²`.
    WrongVjp,
    /// The forward rule says `3x²` is `3x`.
    WrongJvp,
    /// The reverse rule has the right value but its `x` is detached, so the
    /// recorded gradient cannot be differentiated again (second order).
    FrozenVjp,
    /// The forward rule has the right value but its `x` is detached, so a
    /// derivative of a recorded HVP is wrong (third order).
    FrozenJvp,
}

/// `y = x³`, element-wise, with rules written by hand (and optionally wrong).
struct Cube(Bug);

impl Primitive<f64> for Cube {
    fn name(&self) -> String {
        "cube".into()
    }

    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        inputs[0].map(|x| x * x * x)
    }

    fn vjp<'t>(
        &self,
        inputs: &[Var<'t, f64>],
        _output: Var<'t, f64>,
        cotangent: Var<'t, f64>,
        _wanted: &[bool],
    ) -> Vec<Option<Var<'t, f64>>> {
        let x = inputs[0];
        let slope = match self.0 {
            Bug::WrongVjp => x.square() * 2.0,
            Bug::FrozenVjp => x.detach().square() * 3.0,
            _ => x.square() * 3.0,
        };
        vec![Some(cotangent * slope)]
    }

    fn jvp<'t>(
        &self,
        inputs: &[Var<'t, f64>],
        _output: Var<'t, f64>,
        tangents: &[Option<Var<'t, f64>>],
    ) -> Var<'t, f64> {
        let x = inputs[0];
        let slope = match self.0 {
            Bug::WrongJvp => x * 3.0,
            Bug::FrozenJvp => x.detach().square() * 3.0,
            _ => x.square() * 3.0,
        };
        tangents[0].unwrap() * slope
    }
}

/// `sin(cube(x))`: the outer `sin` makes the HVP depend on the cube's forward
/// rule, which a bare cube's HVP (built from its reverse rule) does not.
fn check_cube(bug: Bug, order: usize) -> Result<(), CheckFailure> {
    let x = Tensor::from_rows(&[vec![0.7, -1.3, 0.4], vec![1.1, -0.2, 0.9]]).unwrap();
    check_grads(
        move |v| v[0].tape().apply(Cube(bug), &[v[0]]).sin(),
        &[x],
        order,
        &CheckConfig::f64(),
    )
}

fn failed_check(result: Result<(), CheckFailure>) -> Check {
    let failure = result.expect_err("a planted bug went unnoticed");
    failure
        .check()
        .unwrap_or_else(|| panic!("expected a failed check, got {failure}"))
}

#[test]
fn the_correct_primitive_passes_every_order() {
    check_cube(Bug::None, 3).unwrap();
}

#[test]
fn a_wrong_reverse_rule_fails_the_reverse_check() {
    let result = check_cube(Bug::WrongVjp, 1);
    assert!(matches!(
        result,
        Err(CheckFailure::Mismatch {
            check: Check::Reverse,
            ..
        })
    ));
}

#[test]
fn a_wrong_forward_rule_fails_the_forward_check() {
    assert_eq!(failed_check(check_cube(Bug::WrongJvp, 1)), Check::Forward);
}

#[test]
fn a_reverse_rule_that_cannot_be_differentiated_fails_at_second_order() {
    check_cube(Bug::FrozenVjp, 1).unwrap();
    assert_eq!(
        failed_check(check_cube(Bug::FrozenVjp, 2)),
        Check::HvpFiniteDifferences
    );
}

#[test]
fn a_forward_rule_that_cannot_be_differentiated_fails_at_third_order() {
    check_cube(Bug::FrozenJvp, 2).unwrap();
    assert_eq!(
        failed_check(check_cube(Bug::FrozenJvp, 3)),
        Check::ThirdOrder
    );
}

#[test]
fn a_mismatch_reports_the_worst_element() {
    // The wrong reverse rule errs by uᵢ·cos(xᵢ³)·xᵢ² at element i; the
    // reported element must be the one where that is largest relative to
    // its allowance, and its numbers must be consistent.
    let Err(CheckFailure::Mismatch {
        element,
        computed,
        reference,
        error,
        allowed,
        ..
    }) = check_cube(Bug::WrongVjp, 1)
    else {
        panic!("expected a mismatch")
    };
    assert!(element < 6);
    assert_eq!(error, (computed - reference).abs());
    assert!(error > allowed);
    // The reference is the true derivative 3x²·cos(x³)·u, the computed one
    // 2x²·cos(x³)·u: their ratio is 2/3 up to finite-difference error.
    assert!((computed / reference - 2.0 / 3.0).abs() < 1e-6);
}

#[test]
fn several_arguments_of_any_shape_are_checked_jointly() {
    let a = Tensor::from_rows(&[vec![0.5, -1.0], vec![0.3, 0.8]]).unwrap();
    let b = Tensor::vector(&[1.2, -0.4]);
    let c = Tensor::scalar(0.7);
    check_grads(
        |v| (v[0].matmul(v[1].reshape(&[2, 1])) * v[2]).tanh() + v[1].exp().sum(),
        &[a, b, c],
        3,
        &CheckConfig::f64(),
    )
    .unwrap();
}

#[test]
fn f32_functions_are_checked_at_f32_tolerances() {
    let a = Tensor::<f32>::from_rows(&[vec![0.5, -1.0, 2.0], vec![0.3, 0.8, -0.6]]).unwrap();
    check_grads(
        |v| (v[0].sin() * v[0].exp()).softplus().sum_axis(1),
        &[a],
        3,
        &CheckConfig::for_real::<f32>(),
    )
    .unwrap();
}

#[test]
fn different_seeds_draw_different_directions_and_both_pass() {
    let x = Tensor::vector(&[0.3, -0.9, 1.4]);
    for seed in [0, 1, 2, 12345] {
        let config = CheckConfig {
            seed,
            ..CheckConfig::f64()
        };
        check_grads(
            |v| (v[0] * v[0].cos()).exp(),
            std::slice::from_ref(&x),
            3,
            &config,
        )
        .unwrap();
    }
}

#[test]
fn an_order_outside_one_to_three_is_invalid() {
    let x = Tensor::vector(&[1.0]);
    for order in [0, 4] {
        let result = check_grads(
            |v| v[0].exp(),
            std::slice::from_ref(&x),
            order,
            &CheckConfig::f64(),
        );
        assert!(matches!(result, Err(CheckFailure::InvalidArguments(_))));
    }
}

#[test]
fn no_arguments_or_no_elements_is_invalid() {
    let none: [Tensor<f64>; 0] = [];
    let result = check_grads(|_| unreachable!(), &none, 1, &CheckConfig::f64());
    assert!(matches!(result, Err(CheckFailure::InvalidArguments(_))));
    let empty = Tensor::<f64>::zeros(&[0, 3]);
    let result = check_grads(|v| v[0].exp(), &[empty], 1, &CheckConfig::f64());
    assert!(matches!(result, Err(CheckFailure::InvalidArguments(_))));
}

#[test]
fn non_finite_arguments_are_invalid() {
    let x = Tensor::vector(&[1.0, f64::NAN]);
    let result = check_grads(|v| v[0].exp(), &[x], 1, &CheckConfig::f64());
    assert!(matches!(result, Err(CheckFailure::InvalidArguments(_))));
}

#[test]
fn a_function_not_finite_near_the_point_is_reported_as_non_finite() {
    // log of a point within one step of 0 on the negative side is NaN.
    let x = Tensor::vector(&[1e-5, 1.0]);
    let result = check_grads(|v| v[0].log(), &[x], 1, &CheckConfig::f64());
    assert!(matches!(result, Err(CheckFailure::NonFinite { .. })));
}

#[test]
fn an_output_shape_that_changes_between_points_is_invalid() {
    // At x₀ = 1 the function returns a vector; a step up makes it a scalar.
    let x = Tensor::vector(&[1.0, 2.0]);
    let result = check_grads(
        |v| {
            if v[0].to_vec()[0] > 1.0 {
                v[0].sum()
            } else {
                v[0] * 2.0
            }
        },
        &[x],
        1,
        &CheckConfig::f64(),
    );
    assert!(matches!(result, Err(CheckFailure::InvalidArguments(_))));
}
