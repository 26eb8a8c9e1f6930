//! Bounded memory in a loop: every recording and every sweep appends nodes to
//! the tape, so a loop takes a `mark` once and `rewind`s to it each step.
//! A handle to a node the rewind removed is detected, never misread.
//! docs/autodiff.md explains the output.
//!
//! Run with `cargo run --example rewind`.

use scoretape::{grad, Error, Tape, Tensor};

fn main() -> Result<(), Error> {
    let tape = Tape::new();
    let w = tape.input(Tensor::scalar(0.5));
    let mark = tape.mark();
    for step in 0..3 {
        let loss = (w * w).exp(); // exp(w²), gradient 2w·exp(w²)
        let g = grad(loss, &[w])?[0];
        let gradient = g.item();
        let nodes = tape.len();
        tape.rewind(mark);
        println!(
            "step {step}: w = {:.4}, gradient {gradient:.4}, {nodes} nodes before rewind, {} after",
            w.item(),
            tape.len()
        );
        assert_eq!(g.try_value().unwrap_err(), Error::StaleVar);
        // The update a plain gradient-descent step makes, with step size 0.1.
        tape.set_value(w, Tensor::scalar(w.item() - 0.1 * gradient))?;
    }
    Ok(())
}
