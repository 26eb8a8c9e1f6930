//! What a fit is asked to do, and the state it leaves behind to be resumed.

use crate::error::Error;
use crate::optim::{OptimizerState, Schedule};
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;

/// How long to train.
///
/// ```
/// use scoretape::train::{Budget, FitConfig};
/// let by_epochs = FitConfig::<f64> { budget: Budget::Epochs(20), ..FitConfig::default() };
/// let by_updates = FitConfig::<f64> { budget: Budget::Steps(5_000), ..FitConfig::default() };
/// assert_ne!(by_epochs.budget, by_updates.budget);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// Passes over the training split; each pass is `⌈n_train / batch_size⌉`
    /// updates (the last minibatch of a pass may be smaller).
    Epochs(u64),
    /// Updates in total (counting those done before a resume).
    Steps(u64),
}

/// The settings of a fit: minibatching, budget, validation and early stopping,
/// learning-rate schedule, clipping, and the seed every random choice derives
/// from. The optimiser itself is passed to [`fit`](super::fit) separately.
///
/// ```
/// use scoretape::train::{Budget, FitConfig};
/// let config = FitConfig::<f64> {
///     batch_size: 64,
///     budget: Budget::Steps(1_000),
///     validation_fraction: 0.1,
///     patience: Some(5),
///     ..FitConfig::default()
/// };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FitConfig<T> {
    /// Samples per minibatch, ≥ 1.
    pub batch_size: usize,
    /// How long to train.
    pub budget: Budget,
    /// The fraction of the data held out for validation, in `[0, 1)`; the
    /// held-out count is `round(fraction · n)`, chosen by a seeded shuffle.
    pub validation_fraction: f64,
    /// Stop when the validation loss (evaluated after every epoch) has not
    /// improved on its best for this many epochs in a row. Needs a validation
    /// split.
    pub patience: Option<u64>,
    /// The learning rate per update, scaling the optimiser's base rate.
    pub schedule: Schedule,
    /// Clip the gradient to this global norm before each update (see
    /// [`clip_global_norm`](crate::optim::clip_global_norm)).
    pub clip_norm: Option<T>,
    /// The seed of the validation split, of each epoch's minibatch order and of
    /// each step's loss randomness.
    pub seed: u64,
    /// The threads [`fit_model`](super::fit_model) splits each minibatch over
    /// (`None`: [`default_threads`](crate::exec::default_threads)). The closure
    /// form [`fit`](super::fit) runs the user's loss on the calling thread.
    pub threads: Option<usize>,
}

impl<T: Real> Default for FitConfig<T> {
    /// Batches of 128, 10 epochs, no validation, constant rate, no clipping, seed 0.
    fn default() -> Self {
        FitConfig {
            batch_size: 128,
            budget: Budget::Epochs(10),
            validation_fraction: 0.0,
            patience: None,
            schedule: Schedule::Constant,
            clip_norm: None,
            seed: 0,
            threads: None,
        }
    }
}

impl<T: Real> FitConfig<T> {
    /// Checks the settings (independently of the data).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] for a zero batch size, a validation fraction
    /// outside `[0, 1)`, patience without a validation split, an invalid
    /// schedule, or a clipping norm that is not positive and finite.
    ///
    /// ```
    /// use scoretape::train::FitConfig;
    /// let bad = FitConfig::<f64> { patience: Some(3), ..FitConfig::default() };
    /// assert!(bad.validate().is_err()); // no validation split to be patient about
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        if self.batch_size == 0 {
            return Err(Error::InvalidData("batch_size must be at least 1".into()));
        }
        let f = self.validation_fraction;
        if !(0.0..1.0).contains(&f) {
            return Err(Error::InvalidData(format!(
                "validation_fraction = {f} is outside [0, 1)"
            )));
        }
        if self.patience.is_some() && f == 0.0 {
            return Err(Error::InvalidData(
                "early stopping (patience) needs a validation split (validation_fraction > 0)"
                    .into(),
            ));
        }
        self.schedule.validate()?;
        if let Some(c) = self.clip_norm {
            let c = c.as_f64();
            if !(c > 0.0 && c.is_finite()) {
                return Err(Error::InvalidData(format!(
                    "clip_norm = {c} must be positive and finite"
                )));
            }
        }
        Ok(())
    }
}

/// Everything a fit needs, besides the parameters, to continue exactly where it
/// stopped: plain numbers and tensors, so it can be written to a checkpoint.
///
/// The minibatch order of epoch `e` and the loss randomness of update `t`
/// derive from `(seed, e)` and `(seed, t)` alone, not from how many updates ran
/// in this process, so resuming from a saved state and its parameters ends at
/// bit-identical parameters to an uninterrupted fit.
///
/// ```
/// let s = scoretape::train::FitState::<f64>::fresh();
/// assert_eq!(s.step, 0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FitState<T> {
    /// Updates completed.
    pub step: u64,
    /// The optimiser's state after those updates.
    pub optimizer: OptimizerState<T>,
    /// The validation loss after the most recent completed epoch.
    pub last_validation: Option<T>,
    /// The lowest validation loss so far.
    pub best_validation: Option<T>,
    /// Epochs completed since `best_validation` last improved.
    pub epochs_since_best: u64,
    /// The sum of training losses over the updates of the current, unfinished
    /// epoch (for the epoch's mean training loss).
    pub epoch_loss_sum: f64,
    /// `|loss|` of the first (up to [`EARLY_UPDATES`](super::EARLY_UPDATES))
    /// updates: the early scale the divergence bound of
    /// [`fit`](super::fit) is measured against.
    pub early_losses: Vec<f64>,
    /// With early stopping, the parameter values that had the best validation
    /// loss so far, restored when the fit stops early.
    pub best_params: Option<Vec<Tensor<T>>>,
}

impl<T> FitState<T> {
    /// The state before the first update.
    ///
    /// ```
    /// let s = scoretape::train::FitState::<f32>::fresh();
    /// assert!(s.best_validation.is_none());
    /// ```
    pub fn fresh() -> Self {
        FitState {
            step: 0,
            optimizer: OptimizerState::fresh(),
            last_validation: None,
            best_validation: None,
            epochs_since_best: 0,
            epoch_loss_sum: 0.0,
            early_losses: Vec::new(),
            best_params: None,
        }
    }
}
