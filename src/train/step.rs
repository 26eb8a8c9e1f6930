//! One update of a fit: the step that `fit_model`, `scoretape fit` and the
//! `train-*` benchmark workloads all run, and the checks that turn a diverging
//! update into an error.

use crate::error::Error;
use crate::exec::Evaluator;
use crate::model::Params;
use crate::objective::{Fittable, Objective};
use crate::optim::{clip_global_norm, global_norm, Optimizer};
use crate::random::Rng64;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// What one update reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Update<T> {
    /// The minibatch loss at the parameters before the update.
    pub loss: T,
    /// The global gradient norm before clipping.
    pub grad_norm: f64,
}

/// How one update is applied.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepSettings<T> {
    /// The learning rate of this update.
    pub lr: T,
    /// Clip the gradient to this global norm.
    pub clip: Option<T>,
    /// A loss whose magnitude exceeds this is a divergence.
    pub loss_bound: Option<f64>,
    /// The 0-based update, for messages.
    pub t: u64,
}

/// One training step of `objective` for `model` on the minibatch `batch`:
/// draws the objective's randomness for the whole minibatch from `rng`,
/// evaluates the loss and its gradient with `evaluator`, and applies the
/// update ([`apply_update`]).
pub(crate) fn train_step<T, M, O>(
    evaluator: &Evaluator,
    objective: &Objective,
    model: &mut M,
    optimizer: &mut O,
    batch: &Tensor<T>,
    rng: &mut Rng64,
    settings: StepSettings<T>,
) -> Result<Update<T>, Error>
where
    T: Real,
    M: Fittable<T> + ?Sized,
    O: Optimizer<T>,
{
    let rows = batch.shape().first().copied().unwrap_or(0);
    let draws = objective.draw(&*model, rows, rng)?;
    let (loss, grads) = evaluator
        .value_and_grad(objective, &*model, batch, &draws)
        .map_err(|e| diverged_if_numerical(e, settings.t))?;
    apply_update(model.params_mut(), optimizer, loss, grads, settings)
}

/// Checks the loss and the gradients, clips the gradients if asked, applies
/// the optimiser, and checks the new parameters and the optimiser's state.
/// Anything not finite, or a loss beyond `settings.loss_bound`, is an
/// [`Error::Diverged`] naming update `t + 1`, and leaves `params` at their
/// values before the update.
pub(crate) fn apply_update<T: Real, O: Optimizer<T>>(
    params: &mut Params<T>,
    optimizer: &mut O,
    loss: T,
    mut grads: Vec<Tensor<T>>,
    settings: StepSettings<T>,
) -> Result<Update<T>, Error> {
    let StepSettings {
        lr,
        clip,
        loss_bound,
        t,
    } = settings;
    if !loss.is_finite() {
        return Err(diverged(
            t,
            format!("the training loss is not finite ({})", loss.as_f64()),
        ));
    }
    if let Some(bound) = loss_bound.filter(|&b| loss.as_f64().abs() > b) {
        return Err(diverged(
            t,
            format!(
                "the training loss {:e} exceeds the divergence bound {bound:e} \
                 (10⁶ times its early scale)",
                loss.as_f64()
            ),
        ));
    }
    if let Some(bad) = grads.iter().position(|g| !g.all_finite()) {
        let name = params.names().get(bad).cloned().unwrap_or_default();
        return Err(diverged(
            t,
            format!("the gradient of parameter {bad} ({name}) is not finite"),
        ));
    }
    let grad_norm = match clip {
        Some(max) => clip_global_norm(&mut grads, max),
        None => global_norm(&grads),
    };
    let last_good = params.values().to_vec();
    optimizer.step(params, &grads, lr)?;
    let reason = if !params.values().iter().all(Tensor::all_finite) {
        Some("an updated parameter is not finite")
    } else if !optimizer.state_is_finite() {
        Some("the optimiser's state (its moments or momentum) is not finite")
    } else {
        None
    };
    if let Some(reason) = reason {
        params.set_values(last_good)?;
        return Err(diverged(t, reason.into()));
    }
    Ok(Update { loss, grad_norm })
}

/// The divergence error at the 0-based update `t`.
pub(crate) fn diverged(t: u64, reason: String) -> Error {
    Error::Diverged {
        update: t + 1,
        reason,
    }
}

/// A numerical failure while evaluating update `t` (a loss an objective found
/// not finite) is that update's divergence; other errors pass unchanged.
pub(crate) fn diverged_if_numerical(e: Error, t: u64) -> Error {
    match e {
        Error::Numerical(reason) => diverged(t, reason),
        other => other,
    }
}
