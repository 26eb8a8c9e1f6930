//! Exact (Hyvärinen) score matching.
//!
//! The Fisher divergence `½ E_data ‖s_θ(x) - ∇log p_data(x)‖²` needs the
//! unknown data score, but integrating its cross term by parts moves the
//! derivative onto the model: up to a constant that does not depend on θ it
//! equals `E_data[tr ∇ₓs_θ(x) + ½‖s_θ(x)‖²]`. For an energy model
//! `s = -∇E` does not involve `Z`, so neither does the loss, and
//! `tr ∇ₓs = -tr H` with `H` the Hessian of `E` in `x`.

use super::{check_inputs, energies, reduce, row_norm2, scores, EnergyFn, ScoreFn};
use crate::error::Error;
use crate::real::Real;
use crate::tape::{
    batched_jacobian_diagonal, batched_jacobian_trace, coordinate_directions, forward_laplacian,
    grad, sum_of_squares, GradAccumulator, Tape, Var,
};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;

/// Exact score matching for an energy model: the (weighted) mean over the
/// batch of `ℓ(x) = -tr H(x) + ½‖∇ₓE(x)‖²`, `H = ∇²ₓE`.
///
/// `x` (shape `[B, d]`) is recorded as an input, `∇ₓE` as one batched gradient
/// of `Σ_b E(x_b)`, and the traces by `d` forward sweeps (Hessian-vector
/// products `H eⱼ`) over that one recorded gradient. The result is a scalar on
/// `tape`; `grad(loss, &params)` is the parameter gradient.
///
/// # Errors
///
/// As listed in the [module documentation](super): a bad batch or weights,
/// a batch whose width is not the model's ([`Error::Shape`] naming both), an
/// energy not of shape `[B]`, a non-finite loss, and the engine's errors for
/// a `Var` of another tape.
///
/// # Examples
///
/// `E(x) = ½‖x‖²` has `∇E = x`, `H = I`: `ℓ(x) = -d + ½‖x‖²`.
///
/// ```
/// use scoretape::objective::exact_score_matching;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::from_rows(&[vec![1.0, 2.0], vec![0.0, 2.0]]).unwrap();
/// let loss = exact_score_matching(&tape, &|x| (x * x).sum_axis(1) * 0.5, &x, None).unwrap();
/// assert!((loss.item() - ((-2.0 + 2.5) + (-2.0 + 2.0)) / 2.0).abs() < 1e-14);
/// ```
pub fn exact_score_matching<'t, T: Real>(
    tape: &'t Tape<T>,
    energy: EnergyFn<'_, 't, T>,
    x: &Tensor<T>,
    weights: Option<&Tensor<T>>,
) -> Result<Var<'t, T>, Error> {
    let (batch, _) = check_inputs(x, weights)?;
    let x = tape.input(x.clone());
    let e = energies(energy, x, batch)?;
    let g = grad(e.sum(), &[x])?[0];
    let trace_h = batched_jacobian_trace(g, x)?;
    let per_sample = row_norm2(g) * T::cast(0.5) - trace_h;
    reduce(tape, per_sample, weights)
}

/// The exact score-matching loss of [`exact_score_matching`] and its gradient
/// with respect to `params`, for training, where only this first derivative
/// in the parameters is needed.
///
/// `J = mean_b ½‖∇ₓE(x_b)‖² - Σⱼ mean_b H_jj(x_b)` is a sum of `d + 1` terms
/// that share the recorded energy and gradient; a [`GradAccumulator`] sweeps
/// each term (one Hessian-vector product `H eⱼ`) back only to that shared
/// graph and removes it, and one last sweep carries the summed cotangents to
/// the parameters. It does the work of `grad(exact_score_matching(…), params)`
/// while holding one Hessian-vector product's graph in memory instead of `d`
/// (at `d = 64`, `h = 256`: 35 MB instead of 1 GB). The value agrees with the
/// recorded loss to rounding (the terms are summed in another order).
///
/// `params` must be recorded on `tape` before the call (see
/// [`Params::record`](crate::model::Params::record)); the tape is left as it
/// was found.
///
/// # Errors
///
/// As for [`exact_score_matching`].
///
/// # Examples
///
/// ```
/// use scoretape::model::{Activation, Energy, MlpEnergy, Model};
/// use scoretape::objective::{exact_score_matching, exact_score_matching_value_and_grad};
/// use scoretape::{grad, Tape, Tensor};
/// let model = MlpEnergy::<f64>::new(2, &[8], Activation::Softplus, 0).unwrap();
/// let x = Tensor::from_rows(&[vec![0.5, -1.0], vec![1.5, 0.2]]).unwrap();
/// let tape = Tape::new();
/// let params = model.params().record(&tape);
/// let energy = |x| model.energy(&params, x);
/// let (loss, grads) =
///     exact_score_matching_value_and_grad(&tape, &energy, &x, None, &params).unwrap();
///
/// let recorded = exact_score_matching(&tape, &energy, &x, None).unwrap();
/// let expected = grad(recorded, &params).unwrap();
/// assert!((loss - recorded.item()).abs() < 1e-12);
/// for (fast, slow) in grads.iter().zip(&expected) {
///     assert!(fast.max_abs_diff(&slow.value()) < 1e-12);
/// }
/// ```
pub fn exact_score_matching_value_and_grad<'t, T: Real>(
    tape: &'t Tape<T>,
    energy: EnergyFn<'_, 't, T>,
    x: &Tensor<T>,
    weights: Option<&Tensor<T>>,
    params: &[Var<'t, T>],
) -> Result<(T, Vec<Tensor<T>>), Error> {
    let (batch, dim) = check_inputs(x, weights)?;
    let start = tape.mark();
    let result = (|| {
        let x = tape.input(x.clone());
        let e = energies(energy, x, batch)?;
        let g = grad(e.sum(), &[x])?[0];
        let mut accumulator = GradAccumulator::new(params)?;
        accumulator.add(reduce(tape, row_norm2(g) * T::cast(0.5), weights)?)?;
        for j in 0..dim {
            let diagonal = batched_jacobian_diagonal(g, x, j)?;
            accumulator.add(-reduce(tape, diagonal, weights)?)?;
        }
        accumulator.finish()
    })();
    tape.rewind(start);
    let (loss, grads) = result?;
    if !loss.is_finite() {
        return Err(Error::Numerical(format!(
            "the loss is not finite ({})",
            loss.as_f64()
        )));
    }
    Ok((loss, grads))
}

/// Exact score matching for a score model `s` (not necessarily a gradient):
/// the (weighted) mean of `ℓ(x) = tr ∇ₓs(x) + ½‖s(x)‖²`.
///
/// The trace of the Jacobian takes `d` forward sweeps (JVPs `∇ₓs eⱼ`) of the
/// recorded score.
///
/// # Errors
///
/// As for [`exact_score_matching`], with a score not shaped like `x` an
/// [`Error::Shape`].
///
/// # Examples
///
/// `s(x) = -2x` has `tr ∇s = -2d`: `ℓ(x) = -2d + 2‖x‖²`.
///
/// ```
/// use scoretape::objective::exact_score_matching_score_model;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::from_rows(&[vec![1.0, 0.5]]).unwrap();
/// let loss = exact_score_matching_score_model(&tape, &|x| x * -2.0, &x, None).unwrap();
/// assert!((loss.item() - (-4.0 + 2.0 * 1.25)).abs() < 1e-14);
/// ```
pub fn exact_score_matching_score_model<'t, T: Real>(
    tape: &'t Tape<T>,
    score: ScoreFn<'_, 't, T>,
    x: &Tensor<T>,
    weights: Option<&Tensor<T>>,
) -> Result<Var<'t, T>, Error> {
    check_inputs(x, weights)?;
    let x = tape.input(x.clone());
    let s = scores(score, x)?;
    let trace = batched_jacobian_trace(s, x)?;
    let per_sample = trace + row_norm2(s) * T::cast(0.5);
    reduce(tape, per_sample, weights)
}

/// How exact score matching computes the Hessian traces `tr H(x_b)`.
///
/// Both give the same numbers to rounding, and both are recorded on the tape
/// (so their parameter gradients are ordinary reverse sweeps); they differ in
/// cost. [`ExactTrace::fastest_for`] picks by the dimension `d`.
///
/// ```
/// use scoretape::objective::ExactTrace;
/// assert_eq!("laplacian".parse::<ExactTrace>().unwrap(), ExactTrace::Laplacian);
/// assert_eq!(ExactTrace::Hvp.to_string(), "hvp");
/// assert!("lap".parse::<ExactTrace>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExactTrace {
    /// `d` Hessian-vector products `H eⱼ`, forward sweeps over one recorded
    /// gradient ([`batched_jacobian_trace`]).
    Hvp,
    /// One forward-Laplacian sweep ([`crate::tape::forward_laplacian`]),
    /// which gives the gradient `∇ₓE` with the trace, so no reverse sweep in
    /// `x` is recorded at all.
    Laplacian,
}

impl ExactTrace {
    /// Both traces, in the order of the docs.
    pub const ALL: [ExactTrace; 2] = [ExactTrace::Hvp, ExactTrace::Laplacian];

    /// The smallest dimension `d` at which the forward Laplacian is the faster
    /// trace for the loss and its parameter gradient
    /// ([`exact_score_matching_value_and_grad_with_trace`]), measured on the
    /// `mlp-ebm(d, h)` of the benches (see `docs/performance.md`).
    pub const CROSSOVER_DIM: usize = 2;

    /// The faster trace at dimension `d`: the Laplacian from
    /// [`ExactTrace::CROSSOVER_DIM`] on, the HVPs below it.
    ///
    /// ```
    /// use scoretape::objective::ExactTrace;
    /// assert_eq!(ExactTrace::fastest_for(64), ExactTrace::Laplacian);
    /// ```
    pub fn fastest_for(d: usize) -> ExactTrace {
        if d >= Self::CROSSOVER_DIM {
            ExactTrace::Laplacian
        } else {
            ExactTrace::Hvp
        }
    }

    /// The name on the command line: `hvp` or `laplacian`.
    ///
    /// ```
    /// assert_eq!(scoretape::objective::ExactTrace::Laplacian.name(), "laplacian");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ExactTrace::Hvp => "hvp",
            ExactTrace::Laplacian => "laplacian",
        }
    }
}

impl core::fmt::Display for ExactTrace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for ExactTrace {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        ExactTrace::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                Error::InvalidData(format!("unknown trace {s:?} (expected hvp or laplacian)"))
            })
    }
}

/// Exact score matching as [`exact_score_matching`], with the Hessian traces
/// computed as `trace` says. With [`ExactTrace::Laplacian`] one forward sweep
/// carries each node's derivatives along the `d` coordinates and its
/// Laplacian; at the energy these are `∇ₓE` and `tr H`, so
/// `ℓ(x) = ½‖J_E‖² - L_E`.
///
/// # Errors
///
/// As for [`exact_score_matching`].
///
/// # Examples
///
/// ```
/// use scoretape::objective::{exact_score_matching_with_trace, ExactTrace};
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::from_rows(&[vec![1.0, 2.0], vec![0.0, 2.0]]).unwrap();
/// let loss = |trace| {
///     exact_score_matching_with_trace(&tape, &|x| (x * x).sum_axis(1) * 0.5, &x, None, trace)
///         .unwrap()
/// };
/// let (hvp, lap) = (loss(ExactTrace::Hvp), loss(ExactTrace::Laplacian));
/// assert!((hvp.item() - lap.item()).abs() < 1e-14);
/// assert!((lap.item() - ((-2.0 + 2.5) + (-2.0 + 2.0)) / 2.0).abs() < 1e-14);
/// ```
pub fn exact_score_matching_with_trace<'t, T: Real>(
    tape: &'t Tape<T>,
    energy: EnergyFn<'_, 't, T>,
    x: &Tensor<T>,
    weights: Option<&Tensor<T>>,
    trace: ExactTrace,
) -> Result<Var<'t, T>, Error> {
    if trace == ExactTrace::Hvp {
        return exact_score_matching(tape, energy, x, weights);
    }
    let (batch, dim) = check_inputs(x, weights)?;
    let x = tape.input(x.clone());
    let e = energies(energy, x, batch)?;
    let per_sample = laplacian_terms(e, x, 0..dim)?;
    reduce(tape, per_sample, weights)
}

/// The exact score-matching loss and its parameter gradient, as
/// [`exact_score_matching_value_and_grad`], with the Hessian traces computed
/// as `trace` says.
///
/// With [`ExactTrace::Laplacian`] the loss splits over groups of coordinate
/// directions, `ℓ = Σ_G (½ Σ_{j∈G} (∂ⱼE)² - Σ_{j∈G} ∂²ⱼE)`, each group one
/// forward-Laplacian sweep over the shared recorded energy; a
/// [`GradAccumulator`] sweeps each group back to the energy and removes it,
/// so the jets of [`LAPLACIAN_GROUP`] directions are in memory at a time, not
/// of all `d`.
///
/// # Errors
///
/// As for [`exact_score_matching`].
///
/// # Examples
///
/// ```
/// use scoretape::model::{Activation, Energy, MlpEnergy, Model};
/// use scoretape::objective::{exact_score_matching_value_and_grad_with_trace, ExactTrace};
/// use scoretape::{Tape, Tensor};
/// let model = MlpEnergy::<f64>::new(3, &[8], Activation::Tanh, 0).unwrap();
/// let x = Tensor::from_rows(&[vec![0.5, -1.0, 0.2], vec![1.5, 0.2, -0.3]]).unwrap();
/// let tape = Tape::new();
/// let params = model.params().record(&tape);
/// let energy = |x| model.energy(&params, x);
/// let run = |trace| {
///     exact_score_matching_value_and_grad_with_trace(&tape, &energy, &x, None, &params, trace)
///         .unwrap()
/// };
/// let (hvp_loss, hvp_grads) = run(ExactTrace::Hvp);
/// let (lap_loss, lap_grads) = run(ExactTrace::Laplacian);
/// assert!((hvp_loss - lap_loss).abs() < 1e-12);
/// for (a, b) in hvp_grads.iter().zip(&lap_grads) {
///     assert!(a.max_abs_diff(b) < 1e-12);
/// }
/// ```
pub fn exact_score_matching_value_and_grad_with_trace<'t, T: Real>(
    tape: &'t Tape<T>,
    energy: EnergyFn<'_, 't, T>,
    x: &Tensor<T>,
    weights: Option<&Tensor<T>>,
    params: &[Var<'t, T>],
    trace: ExactTrace,
) -> Result<(T, Vec<Tensor<T>>), Error> {
    if trace == ExactTrace::Hvp {
        return exact_score_matching_value_and_grad(tape, energy, x, weights, params);
    }
    let (batch, dim) = check_inputs(x, weights)?;
    let start = tape.mark();
    let result = (|| {
        let x = tape.input(x.clone());
        let e = energies(energy, x, batch)?;
        let mut accumulator = GradAccumulator::new(params)?;
        for first in (0..dim).step_by(LAPLACIAN_GROUP) {
            let group = first..(first + LAPLACIAN_GROUP).min(dim);
            accumulator.add(reduce(tape, laplacian_terms(e, x, group)?, weights)?)?;
        }
        accumulator.finish()
    })();
    tape.rewind(start);
    let (loss, grads) = result?;
    if !loss.is_finite() {
        return Err(Error::Numerical(format!(
            "the loss is not finite ({})",
            loss.as_f64()
        )));
    }
    Ok((loss, grads))
}

/// How many coordinate directions one forward-Laplacian sweep of
/// [`exact_score_matching_value_and_grad_with_trace`] carries.
pub const LAPLACIAN_GROUP: usize = 16;

/// Per sample, `½ Σⱼ (∂ⱼE)² - Σⱼ ∂²ⱼE` over the coordinates `j` in
/// `coordinates`, shape `[B]`: one forward-Laplacian sweep from `x` to the
/// energies `e`.
fn laplacian_terms<'t, T: Real>(
    e: Var<'t, T>,
    x: Var<'t, T>,
    coordinates: core::ops::Range<usize>,
) -> Result<Var<'t, T>, Error> {
    let directions = x
        .tape()
        .constant(coordinate_directions(x.shape()[1], coordinates));
    let jet = forward_laplacian(&[e], x, directions)?[0];
    let half_norm2 = sum_of_squares(jet.jacobian) * T::cast(0.5);
    Ok(match jet.laplacian {
        Some(trace_h) => half_norm2 - trace_h,
        None => half_norm2,
    })
}
