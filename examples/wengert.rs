//! The tape, printed at every stage of differentiating one small function:
//!
//!     f(x₁, x₂) = x₁·x₂ + sin(x₁)   at (x₁, x₂) = (2, 3)
//!
//! 1. the forward pass (the recorded Wengert list),
//! 2. `grad`: the reverse sweep, which appends the nodes computing ∇f,
//! 3. `jvp`: the forward sweep, which appends the nodes computing ∇f·v,
//! 4. forward-over-reverse: `jvp` of the recorded gradient, which appends the
//!    nodes computing the Hessian-vector product H v (what `hvp` does),
//!
//! then a nested derivative, d/dx [x · d/dy (x·y)] = 2x, on a tape of its own,
//! and 6. the forward Laplacian of f: one forward sweep carrying each node's
//! value, gradient and Laplacian (what `laplacian` does), on a tape of its own.
//! docs/autodiff.md walks through this output line by line.
//!
//! Run with `cargo run --example wengert`; add `-- --dot` to print instead the
//! Graphviz DOT of the tape after stage 4.

use scoretape::tape::forward_laplacian;
use scoretape::{grad, hvp, jvp, laplacian, Error, Tape, Tensor};

fn main() -> Result<(), Error> {
    let print_dot = std::env::args().any(|arg| arg == "--dot");

    let tape = Tape::new();
    let x1 = tape.input(Tensor::scalar(2.0));
    let x2 = tape.input(Tensor::scalar(3.0));
    let f = x1 * x2 + x1.sin();
    if !print_dot {
        println!("== 1. forward pass: f = x1*x2 + sin(x1) at (2, 3)\n{tape}");
        println!("f = {:.4}\n", f.item());
    }

    // Reverse mode: one sweep from f back to the inputs gives both partials.
    let g = grad(f, &[x1, x2])?;
    if !print_dot {
        println!("== 2. after grad(f, [x1, x2]): the reverse sweep\n{tape}");
        println!(
            "grad f = ({:.4}, {:.4})   analytic (x2 + cos x1, x1)\n",
            g[0].item(),
            g[1].item()
        );
    }

    // Forward mode: one sweep from the inputs to f gives the directional
    // derivative along the tangent v.
    let v1 = tape.scalar(1.0);
    let v2 = tape.scalar(0.5);
    let f_dot = jvp(&[f], &[x1, x2], &[v1, v2])?[0];
    if !print_dot {
        println!("== 3. after jvp(f, [x1, x2], v = (1, 0.5)): the forward sweep\n{tape}");
        println!(
            "grad f . v = {:.4}   analytic (x2 + cos x1)*1 + x1*0.5\n",
            f_dot.item()
        );
    }

    // Forward-over-reverse: the gradient nodes recorded in stage 2 are
    // ordinary nodes, so a forward sweep through them gives d(∇f)·v = H v.
    let hv = jvp(&g, &[x1, x2], &[v1, v2])?;
    if print_dot {
        print!("{}", tape.to_dot());
        return Ok(());
    }
    println!("== 4. after jvp(grad f, [x1, x2], v): forward-over-reverse\n{tape}");
    println!(
        "H v = ({:.4}, {:.4})   analytic H = [[-sin x1, 1], [1, 0]], H v = (-sin x1 + 0.5, 1)\n",
        hv[0].item(),
        hv[1].item()
    );
    let expected = [-(2.0f64.sin()) + 0.5, 1.0];
    assert!((hv[0].item() - expected[0]).abs() < 1e-15);
    assert!((hv[1].item() - expected[1]).abs() < 1e-15);

    // `hvp` does exactly stages 2 and 4 for a single input tensor; with x a
    // vector the same function reads x[0]·x[1] + sin(x[0]).
    let vector_tape = Tape::new();
    let x = vector_tape.input(Tensor::vector(&[2.0, 3.0]));
    let (x_first, x_second) = (x.slice(0, 0, 1), x.slice(0, 1, 2));
    let f_of_vector = (x_first * x_second + x_first.sin()).sum();
    let v = vector_tape.constant(Tensor::vector(&[1.0, 0.5]));
    let hv_library = hvp(f_of_vector, x, v)?.to_vec();
    println!(
        "hvp(f, x, v) with x = [2, 3] as one vector input: ({:.4}, {:.4})\n",
        hv_library[0], hv_library[1]
    );
    assert!((hv_library[0] - hv[0].item()).abs() < 1e-15);
    assert!((hv_library[1] - hv[1].item()).abs() < 1e-15);

    // Nesting: the inner derivative is a node that refers to x, so the outer
    // derivative sees the x inside it. d/dy (x·y) = x, then d/dx [x·x] = 2x.
    let nested_tape = Tape::new();
    let x = nested_tape.input(Tensor::scalar(3.0));
    let y = nested_tape.input(Tensor::scalar(5.0));
    let inner = grad(x * y, &[y])?[0];
    let outer = grad(x * inner, &[x])?[0];
    println!("== 5. d/dx [x * d/dy (x*y)] at x = 3, y = 5\n{nested_tape}");
    println!("result = {:.4}   analytic 2x = 6", outer.item());
    assert_eq!(outer.item(), 6.0);

    // The forward Laplacian: with x = [x1, x2] as one vector input, every
    // node carries its derivatives along e1 and e2 (J, a row each) and its
    // Laplacian L; the input starts as (J = I, L = 0).
    let jet_tape = Tape::new();
    let x = jet_tape.input(Tensor::vector(&[2.0, 3.0]));
    let (x_first, x_second) = (x.slice(0, 0, 1), x.slice(0, 1, 2));
    let f_of_vector = (x_first * x_second + x_first.sin()).sum();
    let identity = jet_tape.constant(Tensor::eye(2));
    let jet = forward_laplacian(&[f_of_vector], x, identity)?[0];
    let trace = jet.laplacian.expect("f is curved").item();
    let gradient = jet.jacobian.to_vec();
    println!("\n== 6. forward_laplacian(f, x, I) at x = [2, 3]\n{jet_tape}");
    println!(
        "J = ({:.4}, {:.4})   L = {trace:.4}   analytic ∇f = (x2 + cos x1, x1), Δf = -sin x1",
        gradient[0], gradient[1]
    );
    assert!((trace + 2f64.sin()).abs() < 1e-15);
    assert!((gradient[0] - (3.0 + 2f64.cos())).abs() < 1e-15);
    assert!((gradient[1] - 2.0).abs() < 1e-15);
    assert!((laplacian(f_of_vector, x)?.item() - trace).abs() < 1e-15);
    Ok(())
}
