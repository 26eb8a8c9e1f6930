//! Misuse: every entry point reports bad arguments as a typed `Error`, never
//! a panic or a silently wrong number; operators (programmer misuse) panic
//! with a message that names the operation and the shapes.

use scoretape::{
    batched_hessian_trace, grad, hessian, hessian_trace, hvp, hvp_reverse_over_reverse, jacobian,
    jvp, vjp, Error, Tape, Tensor, Var,
};

/// The error of a call that must fail.
fn error<T>(result: Result<T, Error>) -> Error {
    match result {
        Err(e) => e,
        Ok(_) => panic!("expected an error"),
    }
}

fn vector<'t>(tape: &'t Tape<f64>, values: &[f64]) -> Var<'t, f64> {
    tape.input(Tensor::vector(values))
}

#[test]
fn grad_of_a_non_scalar_is_not_scalar() {
    let tape = Tape::new();
    let x = vector(&tape, &[1.0, 2.0]);
    let y = x.exp();
    assert_eq!(error(grad(y, &[x])), Error::NotScalar { shape: vec![2] });
    let v = tape.constant(Tensor::vector(&[1.0, 0.0]));
    assert!(matches!(hvp(y, x, v), Err(Error::NotScalar { .. })));
    assert!(matches!(
        hvp_reverse_over_reverse(y, x, v),
        Err(Error::NotScalar { .. })
    ));
    assert!(matches!(hessian(y, x), Err(Error::NotScalar { .. })));
    assert!(matches!(hessian_trace(y, x), Err(Error::NotScalar { .. })));
}

#[test]
fn a_var_from_another_tape_is_foreign() {
    let (tape, other) = (Tape::new(), Tape::new());
    let x = vector(&tape, &[1.0, 2.0]);
    let y = x.exp().sum();
    let stranger = vector(&other, &[1.0, 2.0]);
    assert_eq!(error(grad(y, &[stranger])), Error::ForeignVar);
    let t = tape.constant(Tensor::vector(&[1.0, 1.0]));
    assert_eq!(error(jvp(&[y], &[stranger], &[t])), Error::ForeignVar);
    let foreign_tangent = other.constant(Tensor::vector(&[1.0, 1.0]));
    assert_eq!(
        error(jvp(&[y], &[x], &[foreign_tangent])),
        Error::ForeignVar
    );
    assert_eq!(error(hvp(y, x, foreign_tangent)), Error::ForeignVar);
    assert_eq!(
        tape.set_value(stranger, Tensor::vector(&[0.0, 0.0])),
        Err(Error::ForeignVar)
    );
}

#[test]
fn a_var_removed_by_rewind_is_stale() {
    let tape = Tape::new();
    let x = vector(&tape, &[1.0, 2.0]);
    let mark = tape.mark();
    let y = x.exp().sum();
    tape.rewind(mark);
    assert_eq!(error(grad(y, &[x])), Error::StaleVar);
    assert_eq!(y.try_value(), Err(Error::StaleVar));
    let stale_x = {
        let mark = tape.mark();
        let z = tape.input(Tensor::scalar(1.0));
        tape.rewind(mark);
        z
    };
    assert_eq!(error(grad(x.sum(), &[stale_x])), Error::StaleVar);
}

#[test]
fn a_stale_var_is_detected_even_when_its_index_is_reused() {
    let tape = Tape::new();
    let x = vector(&tape, &[1.0, 2.0]);
    let mark = tape.mark();
    let old = x.exp();
    tape.rewind(mark);
    let new = x.sin();
    assert_eq!(old.index(), new.index());
    assert_eq!(old.try_value(), Err(Error::StaleVar));
    assert_eq!(error(vjp(&[old], &[x], &[new])), Error::StaleVar);
}

#[test]
fn an_x_recorded_after_the_output_is_not_an_input() {
    let tape = Tape::new();
    let a = vector(&tape, &[1.0, 2.0]);
    let y = a.exp().sum();
    let later = vector(&tape, &[3.0, 4.0]);
    assert!(matches!(grad(y, &[later]), Err(Error::NotAnInput(_))));
    let t = tape.constant(Tensor::vector(&[1.0, 1.0]));
    assert!(matches!(
        jvp(&[y], &[later], &[t]),
        Err(Error::NotAnInput(_))
    ));
    assert!(matches!(hvp(y, later, t), Err(Error::NotAnInput(_))));
}

#[test]
fn a_tangent_or_cotangent_of_the_wrong_shape_is_a_shape_error() {
    let tape = Tape::new();
    let x = vector(&tape, &[1.0, 2.0]);
    let y = x.exp();
    let wrong = tape.constant(Tensor::vector(&[1.0, 2.0, 3.0]));
    assert!(matches!(jvp(&[y], &[x], &[wrong]), Err(Error::Shape(_))));
    assert!(matches!(vjp(&[y], &[x], &[wrong]), Err(Error::Shape(_))));
    assert!(matches!(hvp(y.sum(), x, wrong), Err(Error::Shape(_))));
    assert!(matches!(
        hvp_reverse_over_reverse(y.sum(), x, wrong),
        Err(Error::Shape(_))
    ));
    // and a count mismatch
    assert!(matches!(jvp(&[y], &[x], &[]), Err(Error::Shape(_))));
    assert!(matches!(vjp(&[y], &[x], &[]), Err(Error::Shape(_))));
}

#[test]
fn batched_hessian_trace_needs_a_matrix() {
    let tape = Tape::new();
    let x = vector(&tape, &[1.0, 2.0]);
    assert!(matches!(
        batched_hessian_trace((x * x).sum(), x),
        Err(Error::Shape(_))
    ));
}

#[test]
fn jacobian_with_a_bad_handle_is_an_error() {
    let tape = Tape::new();
    let x = vector(&tape, &[1.0, 2.0]);
    let mark = tape.mark();
    let y = x.exp();
    tape.rewind(mark);
    assert_eq!(error(jacobian(y, x)), Error::StaleVar);
}

#[test]
fn set_value_checks_kind_and_shape() {
    let tape = Tape::new();
    let x = vector(&tape, &[1.0, 2.0]);
    let c = tape.constant(Tensor::vector(&[1.0, 2.0]));
    let y = x.exp();
    assert!(matches!(
        tape.set_value(c, Tensor::vector(&[0.0, 0.0])),
        Err(Error::NotAnInput(_))
    ));
    assert!(matches!(
        tape.set_value(y, Tensor::vector(&[0.0, 0.0])),
        Err(Error::NotAnInput(_))
    ));
    assert!(matches!(
        tape.set_value(x, Tensor::vector(&[0.0])),
        Err(Error::Shape(_))
    ));
    // the failed calls changed nothing
    assert_eq!(x.to_vec(), vec![1.0, 2.0]);
    assert_eq!(c.to_vec(), vec![1.0, 2.0]);
}

#[test]
#[should_panic(expected = "add: shapes [2] and [3] do not broadcast")]
fn adding_shapes_that_do_not_broadcast_panics() {
    let tape = Tape::new();
    let _ = vector(&tape, &[1.0, 2.0]) + vector(&tape, &[1.0, 2.0, 3.0]);
}

#[test]
#[should_panic(expected = "mul: shapes [2, 3] and [2] do not broadcast")]
fn multiplying_shapes_that_do_not_broadcast_panics() {
    let tape = Tape::new();
    let a = tape.input(Tensor::<f64>::zeros(&[2, 3]));
    let _ = a * vector(&tape, &[1.0, 2.0]);
}

#[test]
#[should_panic(expected = "matmul: inner dimensions differ")]
fn matmul_with_mismatched_inner_dimensions_panics() {
    let tape = Tape::new();
    let a = tape.input(Tensor::<f64>::zeros(&[2, 3]));
    let b = tape.input(Tensor::<f64>::zeros(&[2, 3]));
    let _ = a.matmul(b);
}

#[test]
#[should_panic(expected = "matmul: operands of shapes [3] and [3, 1] must both be matrices")]
fn matmul_of_a_vector_panics() {
    let tape = Tape::new();
    let a = vector(&tape, &[1.0, 2.0, 3.0]);
    let b = tape.input(Tensor::<f64>::zeros(&[3, 1]));
    let _ = a.matmul(b);
}

#[test]
#[should_panic(expected = "reshape: cannot view shape [2, 3] as [4]")]
fn reshape_to_another_size_panics() {
    let tape = Tape::new();
    let _ = tape.input(Tensor::<f64>::zeros(&[2, 3])).reshape(&[4]);
}

#[test]
#[should_panic(expected = "transpose: shape [3] is not a matrix")]
fn transpose_of_a_vector_panics() {
    let tape = Tape::new();
    let _ = vector(&tape, &[1.0, 2.0, 3.0]).transpose();
}

#[test]
#[should_panic(expected = "sum_axis: axis 2 out of range for shape [2, 2]")]
fn sum_over_a_missing_axis_panics() {
    let tape = Tape::new();
    let _ = tape.input(Tensor::<f64>::zeros(&[2, 2])).sum_axis(2);
}

#[test]
#[should_panic(expected = "slice: range 1..5 out of bounds for axis 0 of shape [3]")]
fn slice_out_of_bounds_panics() {
    let tape = Tape::new();
    let _ = vector(&tape, &[1.0, 2.0, 3.0]).slice(0, 1, 5);
}

#[test]
#[should_panic(expected = "gather: index 3 out of bounds for axis 0 of shape [3]")]
fn gather_out_of_bounds_panics() {
    let tape = Tape::new();
    let _ = vector(&tape, &[1.0, 2.0, 3.0]).gather(0, &[0, 3]);
}

#[test]
#[should_panic(expected = "broadcast_to: shape [3] does not broadcast to [2, 2]")]
fn broadcast_to_an_incompatible_shape_panics() {
    let tape = Tape::new();
    let _ = vector(&tape, &[1.0, 2.0, 3.0]).broadcast_to(&[2, 2]);
}

#[test]
#[should_panic(expected = "sum_to: shape [3] does not broadcast to [2, 2]")]
fn sum_to_an_incompatible_shape_panics() {
    let tape = Tape::new();
    let _ = tape.input(Tensor::<f64>::zeros(&[2, 2])).sum_to(&[3]);
}

#[test]
#[should_panic(expected = "concat: no Vars to join")]
fn concat_of_nothing_panics() {
    let _ = Var::<f64>::concat(&[], 0);
}

#[test]
#[should_panic(expected = "add: the operands belong to different tapes")]
fn an_operator_across_tapes_panics() {
    let (tape, other) = (Tape::new(), Tape::new());
    let _ = vector(&tape, &[1.0]) + vector(&other, &[1.0]);
}

#[test]
#[should_panic(expected = "a Var refers to a node removed by Tape::rewind")]
fn an_operator_on_a_stale_var_panics() {
    let tape = Tape::new();
    let x = vector(&tape, &[1.0]);
    let mark = tape.mark();
    let y = x.exp();
    tape.rewind(mark);
    let _ = y.sin();
}
