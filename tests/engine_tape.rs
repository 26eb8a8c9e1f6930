//! Tape housekeeping — rewinding keeps memory bounded without corrupting
//! what stays, `evaluate` leaves no trace, `detach` stops derivatives,
//! `set_value` only replaces inputs — and the tape's text forms: the Wengert
//! list and the Graphviz DOT export.

use scoretape::{grad, hvp, jvp, Tape, Tensor};

/// One gradient-descent step on `w` for the loss `Σ (w·x)² + Σ exp(w)` with
/// a curvature term `vᵀHv`, so every step records a gradient of an HVP.
fn step_loss(w0: &Tensor<f64>) -> Tensor<f64> {
    let tape = Tape::new();
    let w = tape.input(w0.clone());
    loss_gradient(&tape, w)
}

fn loss_gradient<'t>(tape: &'t Tape<f64>, w: scoretape::Var<'t, f64>) -> Tensor<f64> {
    let x = tape.constant(Tensor::vector(&[0.5, -1.0, 2.0]));
    let f = (w * x).square().sum() + w.exp().sum();
    let v = tape.constant(Tensor::vector(&[1.0, 0.5, -0.5]));
    let curvature = (hvp(f, w, v).unwrap() * v).sum();
    let g = grad(f + curvature * 0.1, &[w]).unwrap()[0];
    g.value().as_ref().clone()
}

#[test]
fn rewinding_every_step_keeps_the_tape_bounded_and_the_results_exact() {
    let tape = Tape::new();
    let start = Tensor::vector(&[0.1, -0.2, 0.3]);
    let w = tape.input(start.clone());
    let mark = tape.mark();
    let mut reference = start;
    let mut lengths = Vec::new();
    for _ in 0..200 {
        let g = loss_gradient(&tape, w);
        lengths.push(tape.len());
        let next = Tensor::from_fn(&[3], |i| w.value().data()[i] - 0.01 * g.data()[i]);
        tape.rewind(mark);
        assert_eq!(tape.len(), mark.len());
        tape.set_value(w, next).unwrap();

        // The same step on a fresh tape gives bit-identical numbers.
        let g_fresh = step_loss(&reference);
        assert_eq!(g_fresh, g);
        reference = Tensor::from_fn(&[3], |i| reference.data()[i] - 0.01 * g_fresh.data()[i]);
    }
    assert_eq!(w.value().as_ref(), &reference);
    // Every step recorded the same number of nodes: nothing accumulates.
    assert!(lengths.iter().all(|&n| n == lengths[0]));
    assert!(lengths[0] > mark.len());
}

#[test]
fn evaluate_leaves_the_tape_unchanged() {
    let tape = Tape::new();
    let x = tape.input(Tensor::vector(&[1.0, 2.0]));
    let y = x.exp();
    let before = tape.to_string();
    let value = tape.evaluate(|| (y * x).sum().sin());
    let expected = ((1f64.exp() * 1.0) + (2f64.exp() * 2.0)).sin();
    assert_eq!(value.item(), expected);
    assert_eq!(tape.len(), 2);
    assert_eq!(tape.to_string(), before);
    // and earlier handles still work
    assert_eq!(
        grad(y.sum(), &[x]).unwrap()[0].to_vec(),
        vec![1f64.exp(), 2f64.exp()]
    );
}

#[test]
fn detach_stops_derivatives_in_every_mode() {
    let tape = Tape::new();
    let x = tape.input(Tensor::vector(&[1.5, -2.0]));
    // f = Σ x²·stop(x): df/dx = 2x·stop(x) = 2x² (not 3x²), d²f/dx² = 2·stop(x) = 2x (not 6x)
    let f = (x.square() * x.detach()).sum();
    let g = grad(f, &[x]).unwrap()[0];
    assert_eq!(g.to_vec(), vec![2.0 * 1.5 * 1.5, 2.0 * -2.0 * -2.0]);
    let ones = tape.constant(Tensor::vector(&[1.0, 1.0]));
    assert_eq!(hvp(f, x, ones).unwrap().to_vec(), vec![3.0, -4.0]);
    // forward mode: the tangent does not pass through the detached copy
    let t = jvp(&[x.detach() * x], &[x], &[ones]).unwrap()[0];
    assert_eq!(t.to_vec(), vec![1.5, -2.0]);
    // a fully detached value has a zero gradient
    assert_eq!(
        grad(x.detach().sum(), &[x]).unwrap()[0].to_vec(),
        vec![0.0, 0.0]
    );
}

#[test]
fn set_value_replaces_an_input_for_later_recordings_only() {
    let tape = Tape::new();
    let x = tape.input(Tensor::scalar(2.0));
    let before = x.square();
    tape.set_value(x, Tensor::scalar(3.0)).unwrap();
    let after = x.square();
    assert_eq!(before.item(), 4.0);
    assert_eq!(after.item(), 9.0);
    assert_eq!(grad(after, &[x]).unwrap()[0].item(), 6.0);
    let c = tape.constant(Tensor::scalar(1.0));
    assert!(tape.set_value(c, Tensor::scalar(2.0)).is_err());
    assert!(tape.set_value(after, Tensor::scalar(2.0)).is_err());
}

/// The small function whose printouts are checked: `y = sin(x·w) + 1`.
fn small_tape() -> Tape<f64> {
    let tape = Tape::new();
    let x = tape.input(Tensor::vector(&[1.0, 2.0]));
    let w = tape.constant(Tensor::vector(&[0.5, 0.25]));
    let _ = (x * w).sin() + 1.0;
    tape
}

#[test]
fn the_wengert_list_has_one_line_per_node() {
    let text = small_tape().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    let expected = [
        ("%0 = input", "shape [2]", "[1.0000, 2.0000]"),
        ("%1 = constant", "shape [2]", "[0.5000, 0.2500]"),
        ("%2 = mul(%0, %1)", "shape [2]", "[0.5000, 0.5000]"),
        ("%3 = sin(%2)", "shape [2]", "[0.4794, 0.4794]"),
        ("%4 = add_scalar[1](%3)", "shape [2]", "[1.4794, 1.4794]"),
    ];
    for (line, (op, shape, values)) in lines.iter().zip(expected) {
        assert!(
            line.trim_start().starts_with(op),
            "{line:?} should start with {op:?}"
        );
        assert!(line.contains(shape), "{line:?} should contain {shape:?}");
        assert!(
            line.trim_end().ends_with(values),
            "{line:?} should end with {values:?}"
        );
    }
}

#[test]
fn the_wengert_list_abbreviates_long_values() {
    let tape = small_tape();
    let _ = tape.input(Tensor::<f64>::zeros(&[10]));
    let text = tape.to_string();
    let last = text.lines().last().unwrap();
    assert!(last.trim_start().starts_with("%5 = input"), "{text}");
    assert!(last.contains("0.0000, 0.0000, … (10 in all)]"), "{text}");
}

#[test]
fn the_dot_export_has_every_node_and_edge() {
    let dot = small_tape().to_dot();
    assert!(dot.starts_with("digraph tape {\n"));
    assert!(dot.ends_with("}\n"));
    for edge in ["n0 -> n2;", "n1 -> n2;", "n2 -> n3;", "n3 -> n4;"] {
        assert!(dot.contains(edge), "missing edge {edge} in\n{dot}");
    }
    assert_eq!(dot.matches(" -> ").count(), 4);
    assert!(dot.contains(
        "n0 [label=\"%0 = input\\n[2] [1.0000, 2.0000]\", style=filled, fillcolor=palegreen];"
    ));
    assert!(dot.contains("n1 [label=\"%1 = constant"));
    assert!(dot.contains("fillcolor=lightgrey"));
    assert!(dot.contains("n3 [label=\"%3 = sin\\n[2]"));
}
