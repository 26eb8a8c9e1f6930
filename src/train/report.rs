//! What a fit tells its caller: per-update and per-epoch reports for progress
//! bars and logs, and the outcome at the end.

use super::config::FitState;

/// Sent to the callback after every update.
///
/// ```
/// use scoretape::train::StepReport;
/// /// One log line per update, as a callback might print it.
/// fn log_line(r: &StepReport<f64>) -> String {
///     format!("step {} (epoch {}): loss {:.4}, lr {:.1e}", r.step, r.epoch, r.loss, r.lr)
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport<T> {
    /// Updates completed, this one included (1 after the first).
    pub step: u64,
    /// The 0-based epoch this update belongs to.
    pub epoch: u64,
    /// The minibatch loss at the parameters before this update.
    pub loss: T,
    /// The learning rate used for this update.
    pub lr: T,
    /// The global gradient norm before clipping.
    pub grad_norm: f64,
    /// The validation loss after the most recent completed epoch, if any.
    pub validation_loss: Option<T>,
    /// Updates per second of wall-clock time since this call of `fit` or
    /// `resume` began (`None` without the `std` feature, which has no clock).
    pub steps_per_second: Option<f64>,
}

/// Sent to the callback after every completed epoch.
///
/// ```
/// use scoretape::train::EpochReport;
/// /// Whether an epoch deserves a checkpoint: its validation loss is a new best.
/// fn worth_saving(r: &EpochReport<f64>) -> bool {
///     r.validation_loss.is_some() && r.improved
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport<T> {
    /// The 0-based index of the epoch just completed.
    pub epoch: u64,
    /// Updates completed so far.
    pub step: u64,
    /// The mean minibatch loss over this epoch's updates.
    pub train_loss: f64,
    /// The loss on the validation split at the end of the epoch, if there is one.
    pub validation_loss: Option<T>,
    /// Whether that validation loss is a new best.
    pub improved: bool,
    /// As in [`StepReport::steps_per_second`].
    pub steps_per_second: Option<f64>,
}

/// A callback's input.
///
/// A callback that stops a fit once the minibatch loss drops below 10⁻³:
///
/// ```
/// use core::ops::ControlFlow;
/// use scoretape::train::Event;
/// let mut stop_when_small = |event: Event<f64>| match event {
///     Event::Step(r) if r.loss < 1e-3 => ControlFlow::Break(()),
///     _ => ControlFlow::Continue(()),
/// };
/// # let _ = &mut stop_when_small;
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event<T> {
    /// An update finished.
    Step(StepReport<T>),
    /// An epoch finished (sent after the `Step` event of its last update).
    Epoch(EpochReport<T>),
}

/// Why a fit returned.
///
/// ```
/// use scoretape::train::StopReason;
/// fn describe(stop: StopReason) -> &'static str {
///     match stop {
///         StopReason::Budget => "ran its full budget",
///         StopReason::EarlyStopping => "stopped early: validation loss no longer improving",
///         StopReason::Callback => "stopped by the callback",
///     }
/// }
/// assert_eq!(describe(StopReason::Budget), "ran its full budget");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The budget of epochs or updates is spent.
    Budget,
    /// The validation loss stopped improving for `patience` epochs.
    EarlyStopping,
    /// The callback returned `ControlFlow::Break`.
    Callback,
}

/// The result of a fit that did not fail.
///
/// See [`fit`](super::fit) for a complete run; reading an outcome:
///
/// ```
/// use scoretape::train::{FitOutcome, StopReason};
/// fn summary(outcome: &FitOutcome<f64>) -> String {
///     let stop = if outcome.stop == StopReason::Budget { "budget" } else { "early" };
///     format!("{} updates, stopped by {stop}, last loss {:?}", outcome.state.step, outcome.last_loss)
/// }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FitOutcome<T> {
    /// Why it stopped.
    pub stop: StopReason,
    /// The state to resume from (with the parameters as they are now).
    pub state: FitState<T>,
    /// The last minibatch loss, if any update ran in this call.
    pub last_loss: Option<T>,
    /// Whether early stopping set the parameters back to those with the best
    /// validation loss ([`FitState::best_validation`]); otherwise they are the
    /// parameters after the last update.
    pub restored_best: bool,
}
