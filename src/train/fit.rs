//! The fitting loop.

use super::config::{Budget, FitConfig, FitState};
use super::report::{EpochReport, Event, FitOutcome, StepReport, StopReason};
use super::split::{epoch_order, split_indices, step_rng, validation_rng};
use crate::error::Error;
use crate::model::Params;
use crate::optim::{clip_global_norm, global_norm, Optimizer};
use crate::random::Rng64;
use crate::real::Real;
use crate::tape::{grad, Tape, Var};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;
use core::ops::ControlFlow;

/// Fits `params` by minimising `loss` over minibatches of the rows of `data`
/// (shape `[n, d]`), from scratch: [`resume`] from [`FitState::fresh`].
///
/// Each update `t = 0, 1, …`:
/// 1. takes the next minibatch of the current epoch's seeded shuffle of the
///    training rows;
/// 2. records `L = loss(tape, θ, batch, rng_t)` with the parameters θ as tape
///    inputs and `rng_t` a generator derived from `(config.seed, t)`;
/// 3. computes `∇θ L` with [`grad`], clips it if asked, and applies
///    `optimizer.step` with learning rate `config.schedule.lr(lr₀, t)`.
///
/// After each epoch the mean loss on the validation split (if any) is computed
/// and early stopping applied. The callback sees every [`Event`] and may stop
/// the fit by returning `ControlFlow::Break(())`.
///
/// One tape serves the whole fit: the parameters are recorded once, and every
/// update's nodes are removed again, so memory does not grow with the number
/// of updates.
///
/// # Errors
///
/// - [`Error::InvalidData`] for a bad configuration, optimiser setting, or
///   data that is not finite; [`Error::Shape`] if `data` is not `[n, d]` with
///   enough rows for a training (and validation) split.
/// - [`Error::Numerical`] naming the update (1-based) at which the loss, a
///   gradient, the updated parameters or the validation loss stopped being
///   finite. `params` then hold the last finite values.
/// - Any error the loss closure returns.
///
/// # Examples
///
/// ```
/// use core::ops::ControlFlow;
/// use scoretape::model::Params;
/// use scoretape::optim::Adam;
/// use scoretape::train::{fit, Budget, FitConfig};
/// use scoretape::Tensor;
/// // Fit the mean of some data by minimising mean ½‖x - μ‖².
/// let data = Tensor::from_rows(&[vec![1.0f64], vec![2.0], vec![3.0], vec![6.0]]).unwrap();
/// let mut params = Params::new();
/// params.push("mu", Tensor::vector(&[0.0]));
/// let config = FitConfig { batch_size: 4, budget: Budget::Steps(2000), ..FitConfig::default() };
/// let outcome = fit(
///     &mut params,
///     &mut Adam::new(0.05),
///     &data,
///     &config,
///     |tape, p, batch, _rng| {
///         let x = tape.constant(batch.clone());
///         Ok(((x - p[0]).square() * 0.5).sum() * 0.25)
///     },
///     |_event| ControlFlow::Continue(()),
/// )
/// .unwrap();
/// assert_eq!(outcome.state.step, 2000);
/// assert!((params.values()[0].item() - 3.0).abs() < 1e-6);
/// ```
pub fn fit<T, O, L, C>(
    params: &mut Params<T>,
    optimizer: &mut O,
    data: &Tensor<T>,
    config: &FitConfig<T>,
    loss: L,
    callback: C,
) -> Result<FitOutcome<T>, Error>
where
    T: Real,
    O: Optimizer<T>,
    L: for<'t> FnMut(
        &'t Tape<T>,
        &[Var<'t, T>],
        &Tensor<T>,
        &mut Rng64,
    ) -> Result<Var<'t, T>, Error>,
    C: FnMut(Event<T>) -> ControlFlow<()>,
{
    resume(
        params,
        optimizer,
        data,
        config,
        FitState::fresh(),
        loss,
        callback,
    )
}

/// Continues a fit from `state` (from [`FitOutcome::state`] of an earlier
/// call, possibly saved and loaded since), with `params` as they were then.
/// The optimiser's state is replaced by `state.optimizer`.
///
/// With the same data, configuration and loss, a fit of `2N` updates and a fit
/// of `N` updates resumed for another `N` end at bit-identical parameters.
///
/// # Errors
///
/// As [`fit`]; also what [`Optimizer::load_state`] reports for a state that
/// does not belong to this optimiser.
///
/// # Examples
///
/// ```
/// use core::ops::ControlFlow;
/// use scoretape::model::Params;
/// use scoretape::optim::Sgd;
/// use scoretape::random::Rng64;
/// use scoretape::train::{fit, resume, Budget, FitConfig};
/// use scoretape::{Error, Tape, Tensor, Var};
/// fn loss<'t>(
///     tape: &'t Tape<f64>,
///     p: &[Var<'t, f64>],
///     batch: &Tensor<f64>,
///     _rng: &mut Rng64,
/// ) -> Result<Var<'t, f64>, Error> {
///     let x = tape.constant(batch.clone());
///     Ok((x - p[0]).square().mean())
/// }
/// let data = Tensor::from_rows(&[vec![1.0], vec![2.0], vec![4.0]]).unwrap();
/// let start = || { let mut p = Params::new(); p.push("mu", Tensor::vector(&[0.0])); p };
/// let config = |steps| FitConfig { batch_size: 2, budget: Budget::Steps(steps), ..FitConfig::default() };
/// let go = |_| ControlFlow::Continue(());
///
/// let mut straight = start();
/// fit(&mut straight, &mut Sgd::new(0.1, 0.9), &data, &config(10), loss, go).unwrap();
///
/// let mut halves = start();
/// let half = fit(&mut halves, &mut Sgd::new(0.1, 0.9), &data, &config(5), loss, go).unwrap();
/// resume(&mut halves, &mut Sgd::new(0.1, 0.9), &data, &config(10), half.state, loss, go).unwrap();
/// assert_eq!(straight, halves);
/// ```
pub fn resume<T, O, L, C>(
    params: &mut Params<T>,
    optimizer: &mut O,
    data: &Tensor<T>,
    config: &FitConfig<T>,
    state: FitState<T>,
    mut loss: L,
    mut callback: C,
) -> Result<FitOutcome<T>, Error>
where
    T: Real,
    O: Optimizer<T>,
    L: for<'t> FnMut(
        &'t Tape<T>,
        &[Var<'t, T>],
        &Tensor<T>,
        &mut Rng64,
    ) -> Result<Var<'t, T>, Error>,
    C: FnMut(Event<T>) -> ControlFlow<()>,
{
    config.validate()?;
    optimizer.validate()?;
    let split = Split::new(data, config)?;
    let steps_per_epoch = split.n_train().div_ceil(config.batch_size) as u64;
    let total_steps = match config.budget {
        Budget::Steps(n) => n,
        Budget::Epochs(n) => n.checked_mul(steps_per_epoch).ok_or_else(|| {
            Error::InvalidData(format!("{n} epochs of {steps_per_epoch} updates overflow"))
        })?,
    };
    optimizer.load_state(state.optimizer.clone())?;
    let mut state = state;

    let tape = Tape::new();
    let theta = params.record(&tape);
    let mark = tape.mark();
    let clock = Clock::start();
    let first_step = state.step;
    let mut last_loss = None;
    // The shuffle of the epoch in progress, computed once per epoch.
    let mut order: Option<(u64, Vec<usize>)> = None;

    let stop = loop {
        if config
            .patience
            .is_some_and(|p| state.epochs_since_best >= p)
        {
            break StopReason::EarlyStopping;
        }
        if state.step >= total_steps {
            break StopReason::Budget;
        }
        let t = state.step;
        let (epoch, within) = (t / steps_per_epoch, t % steps_per_epoch);
        if order.as_ref().map(|(e, _)| *e) != Some(epoch) {
            order = Some((epoch, epoch_order(split.n_train(), config.seed, epoch)));
        }
        let rows = &order.as_ref().expect("set just above").1;
        let start = within as usize * config.batch_size;
        let end = (start + config.batch_size).min(rows.len());
        let batch = split.train.gather(0, &rows[start..end]);

        let recorded = loss_and_gradient(&tape, &theta, &batch, &mut loss, config.seed, t);
        tape.rewind(mark);
        let (value, mut grads) = recorded?;

        let grad_norm = match config.clip_norm {
            Some(max) => clip_global_norm(&mut grads, max),
            None => global_norm(&grads),
        };
        let lr = config.schedule.lr(optimizer.learning_rate(), t);
        let last_good = params.values().to_vec();
        optimizer.step(params, &grads, lr)?;
        if !params.values().iter().all(Tensor::all_finite) {
            params.set_values(last_good)?;
            return Err(non_finite(t, "an updated parameter", f64::NAN));
        }
        for (var, value) in theta.iter().zip(params.values()) {
            tape.set_value(*var, value.clone())?;
        }
        state.step = t + 1;
        state.epoch_loss_sum += value.as_f64();
        last_loss = Some(value);

        // Finish the epoch's bookkeeping before any callback can stop the fit,
        // so that the state it leaves is the one an uninterrupted fit passes through.
        let epoch_report = if state.step % steps_per_epoch == 0 {
            let validation_loss = match &split.validation {
                Some(v) => Some(validation_loss(
                    &tape, &theta, v, config, &mut loss, state.step,
                )?),
                None => None,
            };
            let improved = match (validation_loss, state.best_validation) {
                (Some(v), Some(best)) => v < best,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if improved {
                state.best_validation = validation_loss;
                state.epochs_since_best = 0;
            } else if validation_loss.is_some() {
                state.epochs_since_best += 1;
            }
            state.last_validation = validation_loss;
            let train_loss = state.epoch_loss_sum / steps_per_epoch as f64;
            state.epoch_loss_sum = 0.0;
            Some(EpochReport {
                epoch,
                step: state.step,
                train_loss,
                validation_loss,
                improved,
                steps_per_second: clock.rate(state.step - first_step),
            })
        } else {
            None
        };

        let step_report = StepReport {
            step: state.step,
            epoch,
            loss: value,
            lr,
            grad_norm,
            validation_loss: state.last_validation,
            steps_per_second: clock.rate(state.step - first_step),
        };
        let mut flow = callback(Event::Step(step_report));
        if let Some(report) = epoch_report {
            if flow.is_continue() {
                flow = callback(Event::Epoch(report));
            }
        }
        if flow.is_break() {
            break StopReason::Callback;
        }
    };
    // Exported once at the end: copying the buffers every update would cost
    // as much as the update itself.
    state.optimizer = optimizer.state();
    Ok(FitOutcome {
        stop,
        state,
        last_loss,
    })
}

/// Records the loss of one minibatch and its gradient with respect to `theta`,
/// and reads both out, checking that they are finite (the caller rewinds the
/// tape).
fn loss_and_gradient<'t, T, L>(
    tape: &'t Tape<T>,
    theta: &[Var<'t, T>],
    batch: &Tensor<T>,
    loss: &mut L,
    seed: u64,
    step: u64,
) -> Result<(T, Vec<Tensor<T>>), Error>
where
    T: Real,
    L: for<'s> FnMut(
        &'s Tape<T>,
        &[Var<'s, T>],
        &Tensor<T>,
        &mut Rng64,
    ) -> Result<Var<'s, T>, Error>,
{
    let l = loss(tape, theta, batch, &mut step_rng(seed, step))?;
    let value = scalar_value(l)?;
    if !value.is_finite() {
        return Err(non_finite(step, "the training loss", value.as_f64()));
    }
    let grads: Vec<Tensor<T>> = grad(l, theta)?
        .iter()
        .map(|g| (*g.value()).clone())
        .collect();
    if let Some(bad) = grads.iter().position(|g| !g.all_finite()) {
        let what = format!("the gradient of parameter {bad}");
        return Err(non_finite(step, &what, f64::NAN));
    }
    Ok((value, grads))
}

/// The one number a loss `Var` holds.
fn scalar_value<T: Real>(l: Var<'_, T>) -> Result<T, Error> {
    let value = l.try_value()?;
    if value.len() == 1 {
        Ok(value.data()[0])
    } else {
        Err(Error::NotScalar {
            shape: value.shape().to_vec(),
        })
    }
}

/// The loss on the validation split, evaluated in minibatches and averaged
/// with weights proportional to their sizes (the loss being a per-sample mean).
fn validation_loss<'t, T, L>(
    tape: &'t Tape<T>,
    theta: &[Var<'t, T>],
    validation: &Tensor<T>,
    config: &FitConfig<T>,
    loss: &mut L,
    step: u64,
) -> Result<T, Error>
where
    T: Real,
    L: for<'s> FnMut(
        &'s Tape<T>,
        &[Var<'s, T>],
        &Tensor<T>,
        &mut Rng64,
    ) -> Result<Var<'s, T>, Error>,
{
    let n = validation.shape()[0];
    let mut rng = validation_rng(config.seed);
    let mut total = 0.0;
    let mut start = 0;
    while start < n {
        let end = (start + config.batch_size).min(n);
        let chunk = validation.slice_axis(0, start, end);
        let mark = tape.mark();
        let value = loss(tape, theta, &chunk, &mut rng).and_then(scalar_value);
        tape.rewind(mark);
        total += value?.as_f64() * (end - start) as f64;
        start = end;
    }
    let mean = total / n as f64;
    if !mean.is_finite() {
        return Err(non_finite(step - 1, "the validation loss", mean));
    }
    Ok(T::cast(mean))
}

/// The error for a value that stopped being finite at update `t` (0-based).
fn non_finite(t: u64, what: &str, value: f64) -> Error {
    Error::Numerical(format!(
        "at update {}: {what} is not finite ({value}); the parameters hold their last finite values",
        t + 1
    ))
}

/// The training and validation rows.
struct Split<T> {
    train: Tensor<T>,
    validation: Option<Tensor<T>>,
}

impl<T: Real> Split<T> {
    fn new(data: &Tensor<T>, config: &FitConfig<T>) -> Result<Self, Error> {
        let &[n, _] = data.shape() else {
            return Err(Error::Shape(format!(
                "training data must be a matrix [n, d], got shape {:?}",
                data.shape()
            )));
        };
        if !data.all_finite() {
            return Err(Error::InvalidData(
                "training data contains NaN or infinite values".into(),
            ));
        }
        let n_validation = libm_round(config.validation_fraction * n as f64) as usize;
        if config.validation_fraction > 0.0 && n_validation == 0 {
            return Err(Error::Shape(format!(
                "a validation fraction of {} of {n} rows holds out no row",
                config.validation_fraction
            )));
        }
        if n_validation >= n {
            return Err(Error::Shape(format!(
                "{n} rows leave none for training after holding out {n_validation}"
            )));
        }
        if n_validation == 0 {
            return Ok(Split {
                train: data.clone(),
                validation: None,
            });
        }
        let (train, validation) = split_indices(n, n_validation, config.seed);
        Ok(Split {
            train: data.gather(0, &train),
            validation: Some(data.gather(0, &validation)),
        })
    }

    fn n_train(&self) -> usize {
        self.train.shape()[0]
    }
}

/// Rounds half away from zero, without `std`.
fn libm_round(x: f64) -> f64 {
    num_traits::Float::round(x)
}

/// A wall clock for the steps-per-second figure; absent without `std`.
struct Clock {
    #[cfg(feature = "std")]
    start: std::time::Instant,
}

impl Clock {
    fn start() -> Self {
        Clock {
            #[cfg(feature = "std")]
            start: std::time::Instant::now(),
        }
    }

    /// `steps` per second since the clock started.
    #[cfg(feature = "std")]
    fn rate(&self, steps: u64) -> Option<f64> {
        let seconds = self.start.elapsed().as_secs_f64();
        (seconds > 0.0).then(|| steps as f64 / seconds)
    }

    #[cfg(not(feature = "std"))]
    fn rate(&self, _steps: u64) -> Option<f64> {
        None
    }
}
