//! Optimisers over [`Params`]: plain and momentum SGD, Adam, gradient clipping
//! by global norm, and learning-rate schedules.
//!
//! Every optimiser takes the gradients as tensors in the same order as the
//! parameters (the order of [`Params::record`], hence of `grad(loss, &params)`),
//! and a learning rate per step, so a [`Schedule`] can vary it. Its internal
//! state (momentum buffers, Adam moments, step count) can be exported as plain
//! tensors and numbers ([`OptimizerState`]) and loaded back, which is what makes
//! an interrupted fit resumable bit for bit.
//!
//! ```
//! use scoretape::model::Params;
//! use scoretape::optim::{Adam, Optimizer};
//! use scoretape::Tensor;
//! // Minimise f(w) = ½‖w - (1, 2)‖², whose gradient is w - (1, 2).
//! let mut params = Params::new();
//! params.push("w", Tensor::vector(&[0.0, 0.0]));
//! let mut adam = Adam::new(0.1);
//! for _ in 0..500 {
//!     let w = params.values()[0].clone();
//!     let g = w.zip_map(&Tensor::vector(&[1.0, 2.0]), |a, b| a - b);
//!     adam.step(&mut params, &[g], 0.1).unwrap();
//! }
//! assert!(params.values()[0].max_abs_diff(&Tensor::vector(&[1.0, 2.0])) < 1e-3);
//! ```

mod adam;
mod clip;
mod schedule;
mod sgd;

pub use adam::Adam;
pub use clip::{clip_global_norm, global_norm};
pub use schedule::Schedule;
pub use sgd::Sgd;

use crate::error::Error;
use crate::model::Params;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;

/// A first-order optimiser: updates parameters in place from their gradients.
///
/// # Examples
///
/// One step of [`Sgd`] on `f(w) = ½w²` (gradient `w`), through the trait:
///
/// ```
/// use scoretape::model::Params;
/// use scoretape::optim::{Optimizer, Sgd};
/// use scoretape::Tensor;
/// let mut params = Params::new();
/// params.push("w", Tensor::scalar(2.0));
/// let mut opt = Sgd::new(0.5, 0.0); // no momentum
/// opt.validate().unwrap();
/// let grads = vec![params.values()[0].clone()]; // ∇f(w) = w
/// let lr = opt.learning_rate();
/// opt.step(&mut params, &grads, lr).unwrap();
/// assert_eq!(params.values()[0].item(), 1.0); // 2 - 0.5·2
/// ```
pub trait Optimizer<T: Real> {
    /// The base learning rate, the one a [`Schedule`] scales
    /// (`Schedule::lr(optimizer.learning_rate(), step)`).
    ///
    /// ```
    /// use scoretape::optim::{Optimizer, Sgd};
    /// assert_eq!(Sgd::new(0.1f64, 0.9).learning_rate(), 0.1);
    /// ```
    fn learning_rate(&self) -> T;

    /// Checks the hyperparameters (finite, in range).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] naming the offending hyperparameter.
    ///
    /// ```
    /// use scoretape::optim::{Optimizer, Sgd};
    /// assert!(Sgd::new(0.1f64, 0.9).validate().is_ok());
    /// assert!(Sgd::new(f64::NAN, 0.9).validate().is_err());
    /// ```
    fn validate(&self) -> Result<(), Error>;

    /// One update of every parameter from its gradient, with learning rate `lr`
    /// (which takes the place of [`Optimizer::learning_rate`] for this step).
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if the gradients do not match the parameters in number
    /// or shape (or a loaded state does not match them);
    /// [`Error::InvalidData`] if a hyperparameter or `lr` is invalid.
    /// On error nothing is changed.
    ///
    /// ```
    /// use scoretape::model::Params;
    /// use scoretape::optim::{Optimizer, Sgd};
    /// use scoretape::Tensor;
    /// let mut params = Params::new();
    /// params.push("w", Tensor::scalar(1.0f64));
    /// let mut sgd = Sgd::new(0.1, 0.0);
    /// sgd.step(&mut params, &[Tensor::scalar(2.0)], 0.5).unwrap(); // lr 0.5 this step
    /// assert_eq!(params.values()[0].item(), 0.0);
    /// ```
    fn step(&mut self, params: &mut Params<T>, grads: &[Tensor<T>], lr: T) -> Result<(), Error>;

    /// The internal state, as plain numbers and tensors.
    ///
    /// ```
    /// use scoretape::optim::{Adam, Optimizer};
    /// assert_eq!(Adam::<f64>::new(1e-3).state().steps, 0);
    /// ```
    fn state(&self) -> OptimizerState<T>;

    /// Replaces the internal state by one exported with [`Optimizer::state`]
    /// (possibly from another process).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if the state cannot belong to this kind of
    /// optimiser (wrong number of buffers). Shapes are checked against the
    /// parameters at the next [`Optimizer::step`].
    ///
    /// ```
    /// use scoretape::optim::{Adam, Optimizer};
    /// let saved = Adam::<f64>::new(1e-3).state();
    /// let mut resumed = Adam::new(1e-3);
    /// resumed.load_state(saved).unwrap();
    /// ```
    fn load_state(&mut self, state: OptimizerState<T>) -> Result<(), Error>;

    /// Whether every number of the internal state (momentum buffers, Adam's
    /// moments) is finite. The fitting loop checks this after every update:
    /// a moment that overflowed would poison every later update. The default
    /// exports the state to check it; the crate's optimisers check in place.
    ///
    /// ```
    /// use scoretape::model::Params;
    /// use scoretape::optim::{Adam, Optimizer};
    /// use scoretape::Tensor;
    /// let mut params = Params::new();
    /// params.push("w", Tensor::scalar(1.0));
    /// let mut adam = Adam::new(0.1);
    /// adam.step(&mut params, &[Tensor::scalar(1e200)], 0.1).unwrap();
    /// assert!(!adam.state_is_finite()); // the second moment g² overflowed
    /// ```
    fn state_is_finite(&self) -> bool {
        self.state().buffers.iter().all(Tensor::all_finite)
    }
}

/// An optimiser's internal state: how many steps it has taken, and its buffers
/// (one group of tensors per parameter, groups laid out as documented by each
/// optimiser). Empty buffers mean "not yet initialised": the next step starts
/// them at zero, exactly as a fresh optimiser would.
///
/// ```
/// use scoretape::model::Params;
/// use scoretape::optim::{Optimizer, Sgd};
/// use scoretape::Tensor;
/// let mut params = Params::new();
/// params.push("w", Tensor::scalar(1.0));
/// let mut a = Sgd::new(0.1, 0.9);
/// a.step(&mut params, &[Tensor::scalar(1.0)], 0.1).unwrap();
/// let saved = a.state();
/// assert_eq!(saved.steps, 1);
/// let mut b = Sgd::new(0.1, 0.9);
/// b.load_state(saved).unwrap();
/// assert_eq!(b.state(), a.state());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState<T> {
    /// The number of steps taken.
    pub steps: u64,
    /// The buffers, in the order the optimiser documents.
    pub buffers: Vec<Tensor<T>>,
}

impl<T> OptimizerState<T> {
    /// The state of an optimiser that has taken no step.
    ///
    /// ```
    /// let s = scoretape::optim::OptimizerState::<f64>::fresh();
    /// assert_eq!(s.steps, 0);
    /// assert!(s.buffers.is_empty());
    /// ```
    pub fn fresh() -> Self {
        OptimizerState {
            steps: 0,
            buffers: Vec::new(),
        }
    }
}

/// Checks that `grads` (and, if initialised, each group of `buffers`) match the
/// parameters in number and shape.
fn check_shapes<T: Real>(
    params: &Params<T>,
    grads: &[Tensor<T>],
    buffers: &[Tensor<T>],
) -> Result<(), Error> {
    let values = params.values();
    if grads.len() != values.len() {
        return Err(Error::Shape(format!(
            "{} gradients given for {} parameters",
            grads.len(),
            values.len()
        )));
    }
    for ((name, value), g) in params.names().iter().zip(values).zip(grads) {
        if value.shape() != g.shape() {
            return Err(Error::Shape(format!(
                "parameter {name} has shape {:?} but its gradient has shape {:?}",
                value.shape(),
                g.shape()
            )));
        }
    }
    if buffers.is_empty() {
        return Ok(());
    }
    if !buffers.len().is_multiple_of(values.len().max(1)) {
        return Err(Error::Shape(format!(
            "optimiser state holds {} buffers, not a multiple of the {} parameters",
            buffers.len(),
            values.len()
        )));
    }
    for (i, b) in buffers.iter().enumerate() {
        let value = &values[i % values.len()];
        if b.shape() != value.shape() {
            return Err(Error::Shape(format!(
                "optimiser buffer {i} has shape {:?} but parameter {} has shape {:?}",
                b.shape(),
                params.names()[i % values.len()],
                value.shape()
            )));
        }
    }
    Ok(())
}

/// `Ok` if `value` is finite and inside `[low, high)` (or `[low, high]` when
/// `high_inclusive`), else an [`Error::InvalidData`] naming it.
fn check_range<T: Real>(
    name: &str,
    value: T,
    low: f64,
    high: f64,
    high_inclusive: bool,
) -> Result<(), Error> {
    let v = value.as_f64();
    let below_high = if high_inclusive { v <= high } else { v < high };
    if v.is_finite() && v >= low && below_high {
        Ok(())
    } else {
        let close = if high_inclusive { ']' } else { ')' };
        Err(Error::InvalidData(format!(
            "{name} = {v} is outside [{low}, {high}{close}"
        )))
    }
}
