//! Learning-rate schedules: the learning rate as a function of the step count.

use crate::error::Error;
use crate::real::Real;
use alloc::format;
use num_traits::Float;

/// A learning-rate schedule: `lr(t)` for the update that follows `t` completed
/// updates (`t = 0` for the first), from a base rate `lr₀`.
///
/// ```
/// use scoretape::optim::Schedule;
/// let s = Schedule::Step { every: 10, factor: 0.5 };
/// assert_eq!(s.lr(1.0, 9), 1.0);
/// assert_eq!(s.lr(1.0, 10), 0.5);
/// assert_eq!(s.lr(1.0, 25), 0.25);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Schedule {
    /// `lr(t) = lr₀`.
    #[default]
    Constant,
    /// Cosine decay from `lr₀` to `min_lr` over `total_steps` updates, then
    /// constant at `min_lr`:
    /// `lr(t) = min_lr + (lr₀ - min_lr)·½(1 + cos(π·min(t, T)/T))`, `T = total_steps`.
    Cosine {
        /// `T`, the number of updates over which the rate decays; ≥ 1.
        total_steps: u64,
        /// The floor reached at `t = T` (an absolute learning rate, ≥ 0).
        min_lr: f64,
    },
    /// Multiplies the rate by `factor` every `every` updates:
    /// `lr(t) = lr₀ · factor^⌊t / every⌋`.
    Step {
        /// The period `k` in updates; ≥ 1.
        every: u64,
        /// The factor applied each period, in `(0, 1]` for a decay (any
        /// positive finite value is accepted).
        factor: f64,
    },
}

impl Schedule {
    /// The learning rate for the update that follows `step` completed updates.
    /// An invalid schedule (see [`Schedule::validate`]) is evaluated as if
    /// `total_steps` or `every` were 1.
    ///
    /// ```
    /// use scoretape::optim::Schedule;
    /// let s = Schedule::Cosine { total_steps: 100, min_lr: 0.1 };
    /// assert_eq!(s.lr(1.0f64, 0), 1.0);
    /// assert!((s.lr(1.0f64, 50) - 0.55).abs() < 1e-12);
    /// assert!((s.lr(1.0f64, 100) - 0.1).abs() < 1e-12);
    /// assert!((s.lr(1.0f64, 1000) - 0.1).abs() < 1e-12);
    /// ```
    pub fn lr<T: Real>(&self, base: T, step: u64) -> T {
        match *self {
            Schedule::Constant => base,
            Schedule::Cosine {
                total_steps,
                min_lr,
            } => {
                let total = total_steps.max(1);
                let progress = step.min(total) as f64 / total as f64;
                let cosine = 0.5 * (1.0 + Float::cos(core::f64::consts::PI * progress));
                T::cast(min_lr + (base.as_f64() - min_lr) * cosine)
            }
            Schedule::Step { every, factor } => {
                let periods = step / every.max(1);
                // powf: the period count may exceed i32::MAX.
                base * T::cast(Float::powf(factor, periods as f64))
            }
        }
    }

    /// Checks the schedule's parameters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if `total_steps` or `every` is 0, `min_lr` is
    /// negative or not finite, or `factor` is not positive and finite.
    ///
    /// ```
    /// use scoretape::optim::Schedule;
    /// assert!(Schedule::Step { every: 0, factor: 0.5 }.validate().is_err());
    /// assert!(Schedule::Cosine { total_steps: 10, min_lr: 0.0 }.validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Cosine {
                total_steps,
                min_lr,
            } => {
                if total_steps == 0 {
                    Err(Error::InvalidData(
                        "cosine schedule: total_steps must be at least 1".into(),
                    ))
                } else if !(min_lr >= 0.0 && min_lr.is_finite()) {
                    Err(Error::InvalidData(format!(
                        "cosine schedule: min_lr = {min_lr} must be finite and ≥ 0"
                    )))
                } else {
                    Ok(())
                }
            }
            Schedule::Step { every, factor } => {
                if every == 0 {
                    Err(Error::InvalidData(
                        "step schedule: every must be at least 1".into(),
                    ))
                } else if !(factor > 0.0 && factor.is_finite()) {
                    Err(Error::InvalidData(format!(
                        "step schedule: factor = {factor} must be positive and finite"
                    )))
                } else {
                    Ok(())
                }
            }
        }
    }
}
