//! A primitive of your own: `cube(x) = x³`, declared through `ElementwiseFn`
//! by its value and its derivative `3x²`, the latter written with `Var`
//! operations. Both derivative rules (VJP and JVP) follow from that, and so do
//! all higher derivatives: this example takes three in a row and prints the
//! tape. docs/autodiff.md explains the output.
//!
//! Run with `cargo run --example custom_primitive`.

use scoretape::tape::ops::{Elementwise, ElementwiseFn};
use scoretape::{grad, Error, Real, Tape, Tensor, Var};

/// `cube(x) = x³`; `cube'(x) = 3x²`.
struct Cube;

impl<T: Real> ElementwiseFn<T> for Cube {
    fn name(&self) -> String {
        "cube".into()
    }

    fn value(&self, x: T) -> T {
        x * x * x
    }

    // A `Var` expression, not a number, so the sweep that applies this rule
    // records it and a later sweep can differentiate it again.
    fn derivative<'t>(&self, x: Var<'t, T>, _y: Var<'t, T>) -> Var<'t, T> {
        x.square() * T::cast(3.0)
    }
}

fn main() -> Result<(), Error> {
    let tape = Tape::new();
    let x = tape.input(Tensor::scalar(2.0));
    let y = tape.apply(Elementwise(Cube), &[x]);
    let dy = grad(y, &[x])?[0];
    let d2y = grad(dy, &[x])?[0];
    let d3y = grad(d2y, &[x])?[0];
    println!("{tape}");
    println!(
        "at x = 2: x³ = {}, 3x² = {}, 6x = {}, 6 = {}",
        y.item(),
        dy.item(),
        d2y.item(),
        d3y.item()
    );
    assert_eq!(
        [y.item(), dy.item(), d2y.item(), d3y.item()],
        [8.0, 12.0, 12.0, 6.0]
    );
    Ok(())
}
