//! The fitting loop.

use super::config::{Budget, FitConfig, FitState};
use super::report::{EpochReport, Event, FitOutcome, StepReport, StopReason};
use super::split::{epoch_order, split_indices, step_rng, validation_rng};
use super::step::{apply_update, diverged_if_numerical, train_step, StepSettings, Update};
use crate::error::Error;
use crate::exec::Evaluator;
use crate::model::Params;
use crate::objective::{Fittable, Objective};
use crate::optim::Optimizer;
use crate::random::Rng64;
use crate::real::Real;
use crate::tape::{grad, Tape, Var};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;
use core::ops::ControlFlow;

/// A loss as [`fit`] takes it: from the tape, the parameters recorded on it
/// (in [`Params`] order), a minibatch `[B, d]` and a generator for the loss's
/// own randomness, to a scalar loss on the tape.
///
/// Any closure or function of this shape is a `LossFn`; the trait only gives
/// the higher-ranked bound (`for<'t>`: the loss works on a tape of any
/// lifetime) one name.
///
/// ```
/// use scoretape::random::Rng64;
/// use scoretape::train::LossFn;
/// use scoretape::{Error, Tape, Tensor, Var};
/// fn mean_square<'t>(_: &'t Tape<f64>, p: &[Var<'t, f64>], _: &Tensor<f64>, _: &mut Rng64) -> Result<Var<'t, f64>, Error> {
///     Ok(p[0].square().sum())
/// }
/// fn takes_a_loss(_: impl LossFn<f64>) {}
/// takes_a_loss(mean_square);
/// ```
pub trait LossFn<T: Real>:
    for<'t> FnMut(&'t Tape<T>, &[Var<'t, T>], &Tensor<T>, &mut Rng64) -> Result<Var<'t, T>, Error>
{
}

impl<T: Real, F> LossFn<T> for F where
    F: for<'t> FnMut(
        &'t Tape<T>,
        &[Var<'t, T>],
        &Tensor<T>,
        &mut Rng64,
    ) -> Result<Var<'t, T>, Error>
{
}

/// A training loss that grows beyond this multiple of its early scale is a
/// divergence (see [`fit`]).
pub const DIVERGENCE_FACTOR: f64 = 1e6;

/// How many first updates set the early scale of the loss (see [`fit`]).
pub const EARLY_UPDATES: usize = 10;

/// Fits `params` by minimising `loss` over minibatches of the rows of `data`
/// (shape `[n, d]`), from scratch: [`resume`] from [`FitState::fresh`]. This
/// is the form for a loss of your own; a model of this crate (anything
/// [`Fittable`]) with one of its objectives is fitted by [`fit_model`],
/// which splits every minibatch over threads.
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
/// with the same draws every time (a generator derived from `config.seed`
/// alone), so successive values are comparable, and early stopping applied:
/// when it stops the fit, `params` are set back to the values that had the
/// best validation loss, and [`FitOutcome::restored_best`] says so. The
/// callback sees every [`Event`] and may stop the fit by returning
/// `ControlFlow::Break(())`.
///
/// # Divergence
///
/// The fit stops with [`Error::Diverged`], naming the update and the reason,
/// when at any update
/// - the loss, a gradient, an updated parameter or the optimiser's state
///   ([`Optimizer::state_is_finite`]) is not finite, or
/// - from the second update on, `|L_t| > DIVERGENCE_FACTOR · max(1, m)`
///   ([`DIVERGENCE_FACTOR`] = 10⁶), where `m` is the median of `|L|` over the
///   first `min(t, EARLY_UPDATES)` updates ([`EARLY_UPDATES`] = 10; kept in
///   [`FitState::early_losses`], so a resumed fit applies the same bound).
///
/// `params` then hold the values before the failing update: the last finite
/// ones.
///
/// # Errors
///
/// - [`Error::InvalidData`] for a bad configuration, optimiser setting, or
///   data that is not finite; [`Error::Shape`] if `data` is not `[n, d]` with
///   enough rows for a training (and validation) split.
/// - [`Error::Diverged`] as above; [`Error::Numerical`] if the validation
///   loss is not finite.
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
    L: LossFn<T>,
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
    loss: L,
    callback: C,
) -> Result<FitOutcome<T>, Error>
where
    T: Real,
    O: Optimizer<T>,
    L: LossFn<T>,
    C: FnMut(Event<T>) -> ControlFlow<()>,
{
    let tape = Tape::new();
    params.record(&tape);
    let mut steps = ClosureSteps {
        params,
        loss,
        tape: &tape,
        synced: true,
    };
    run(&mut steps, optimizer, data, config, state, callback)
}

/// Fits `model` by minimising `objective` over minibatches of the rows of
/// `data` (shape `[n, d]`, `d` the model's dimension), from scratch: the
/// loop of [`fit`], with each update the step of the execution layer: the
/// objective's draws for the whole minibatch from the update's generator
/// ([`Objective::draw`]), the loss and gradient by an
/// [`Evaluator`] on `config.threads` threads (default
/// [`default_threads`](crate::exec::default_threads); 1 thread gives the
/// single-threaded numbers, more change them only by rounding), and the
/// optimiser's update. Exact score matching of an energy takes the
/// memory-lean first-order path.
///
/// This is the call for the crate's models: the model is borrowed once,
/// mutably, where `fit(model.params_mut(), …, |t, p, x, _| … model.energy(p, x) …)`
/// would borrow it twice and not compile (E0502).
///
/// # Errors
///
/// As [`fit`]; also [`Error::Shape`] if the data's width is not the model's
/// dimension, and [`Objective::check`]'s errors for an objective that does not
/// apply to the model (before any update).
///
/// # Examples
///
/// ```
/// use core::ops::ControlFlow;
/// use scoretape::model::{Model, QuadraticEnergy};
/// use scoretape::objective::Objective;
/// use scoretape::optim::Adam;
/// use scoretape::random::{normal_tensor, seeded};
/// use scoretape::train::{fit_model, Budget, FitConfig};
/// // Data ~ N(3, 1): exact score matching of a Gaussian energy finds μ ≈ 3.
/// let data = normal_tensor::<f64, _>(&[400, 1], &mut seeded(0)).map(|v| v + 3.0);
/// let mut model = QuadraticEnergy::new(1).unwrap();
/// let config = FitConfig { batch_size: 100, budget: Budget::Steps(500), ..FitConfig::default() };
/// fit_model(&mut model, &Objective::exact(), &mut Adam::new(0.05), &data, &config, |_| ControlFlow::Continue(()))
///     .unwrap();
/// let mean = model.params().get("mean").unwrap().item();
/// assert!((mean - 3.0).abs() < 0.2, "μ = {mean}");
/// ```
pub fn fit_model<T, M, O, C>(
    model: &mut M,
    objective: &Objective,
    optimizer: &mut O,
    data: &Tensor<T>,
    config: &FitConfig<T>,
    callback: C,
) -> Result<FitOutcome<T>, Error>
where
    T: Real,
    M: Fittable<T> + ?Sized,
    O: Optimizer<T>,
    C: FnMut(Event<T>) -> ControlFlow<()>,
{
    resume_model(
        model,
        objective,
        optimizer,
        data,
        config,
        FitState::fresh(),
        callback,
    )
}

/// Continues a [`fit_model`] from `state`, as [`resume`] continues a [`fit`].
///
/// # Errors
///
/// As [`fit_model`] and [`resume`].
///
/// # Examples
///
/// ```
/// use core::ops::ControlFlow;
/// use scoretape::model::QuadraticEnergy;
/// use scoretape::objective::Objective;
/// use scoretape::optim::Adam;
/// use scoretape::random::{normal_tensor, seeded};
/// use scoretape::train::{fit_model, resume_model, Budget, FitConfig};
/// let data = normal_tensor::<f64, _>(&[64, 2], &mut seeded(0));
/// let config = |n| FitConfig { batch_size: 16, budget: Budget::Steps(n), ..FitConfig::default() };
/// let dsm = Objective::denoising(0.5);
/// let go = |_| ControlFlow::Continue(());
/// let mut straight = QuadraticEnergy::new(2).unwrap();
/// fit_model(&mut straight, &dsm, &mut Adam::new(0.01), &data, &config(8), go).unwrap();
/// let mut halves = QuadraticEnergy::new(2).unwrap();
/// let half = fit_model(&mut halves, &dsm, &mut Adam::new(0.01), &data, &config(4), go).unwrap();
/// resume_model(&mut halves, &dsm, &mut Adam::new(0.01), &data, &config(8), half.state, go).unwrap();
/// assert_eq!(straight, halves);
/// ```
pub fn resume_model<T, M, O, C>(
    model: &mut M,
    objective: &Objective,
    optimizer: &mut O,
    data: &Tensor<T>,
    config: &FitConfig<T>,
    state: FitState<T>,
    callback: C,
) -> Result<FitOutcome<T>, Error>
where
    T: Real,
    M: Fittable<T> + ?Sized,
    O: Optimizer<T>,
    C: FnMut(Event<T>) -> ControlFlow<()>,
{
    objective.check(model.form())?;
    if let &[_, width] = data.shape()
        && width != model.dim()
    {
        return Err(Error::Shape(format!(
            "the model has dimension {}, but the data have {width} columns",
            model.dim()
        )));
    }
    let evaluator = match config.threads {
        Some(n) => Evaluator::with_threads(n),
        None => Evaluator::new(),
    };
    let mut steps = ModelSteps {
        model,
        objective,
        evaluator,
    };
    run(&mut steps, optimizer, data, config, state, callback)
}

/// What the loop needs from a way of computing updates: the closure form
/// records the user's loss on one tape, the model form calls the evaluator.
trait Steps<T: Real> {
    fn params(&self) -> &Params<T>;
    fn params_mut(&mut self) -> &mut Params<T>;
    /// One update on `batch`.
    fn update<O: Optimizer<T>>(
        &mut self,
        optimizer: &mut O,
        batch: &Tensor<T>,
        rng: &mut Rng64,
        settings: StepSettings<T>,
    ) -> Result<Update<T>, Error>;
    /// The loss alone on `batch`.
    fn loss(&mut self, batch: &Tensor<T>, rng: &mut Rng64) -> Result<T, Error>;
}

struct ClosureSteps<'p, 't, T: Real, L> {
    params: &'p mut Params<T>,
    loss: L,
    /// The tape, holding the parameters as its first nodes.
    tape: &'t Tape<T>,
    /// Whether the tape's parameter values are those of `params`.
    synced: bool,
}

impl<'t, T: Real, L: LossFn<T>> ClosureSteps<'_, 't, T, L> {
    /// The parameters on the tape, with their current values.
    fn theta(&mut self) -> Result<Vec<Var<'t, T>>, Error> {
        let theta: Vec<Var<'t, T>> = (0..self.params.len())
            .map(|i| self.tape.var_at(i))
            .collect();
        if !self.synced {
            for (var, value) in theta.iter().zip(self.params.values()) {
                self.tape.set_value(*var, value.clone())?;
            }
            self.synced = true;
        }
        Ok(theta)
    }
}

impl<T: Real, L: LossFn<T>> Steps<T> for ClosureSteps<'_, '_, T, L> {
    fn params(&self) -> &Params<T> {
        self.params
    }

    fn params_mut(&mut self) -> &mut Params<T> {
        self.synced = false;
        self.params
    }

    fn update<O: Optimizer<T>>(
        &mut self,
        optimizer: &mut O,
        batch: &Tensor<T>,
        rng: &mut Rng64,
        settings: StepSettings<T>,
    ) -> Result<Update<T>, Error> {
        let theta = self.theta()?;
        let tape = self.tape;
        let mark = tape.mark();
        let recorded = (|| {
            let l = (self.loss)(tape, &theta, batch, rng)?;
            let value = scalar_value(l)?;
            if !value.is_finite() {
                return Ok((value, Vec::new()));
            }
            let grads: Vec<Tensor<T>> = grad(l, &theta)?
                .iter()
                .map(|g| (*g.value()).clone())
                .collect();
            Ok((value, grads))
        })();
        tape.rewind(mark);
        let (value, grads) = recorded.map_err(|e| diverged_if_numerical(e, settings.t))?;
        self.synced = false;
        apply_update(self.params, optimizer, value, grads, settings)
    }

    fn loss(&mut self, batch: &Tensor<T>, rng: &mut Rng64) -> Result<T, Error> {
        let theta = self.theta()?;
        let mark = self.tape.mark();
        let value = (self.loss)(self.tape, &theta, batch, rng).and_then(scalar_value);
        self.tape.rewind(mark);
        value
    }
}

struct ModelSteps<'m, 'o, M: ?Sized> {
    model: &'m mut M,
    objective: &'o Objective,
    evaluator: Evaluator,
}

impl<T: Real, M: Fittable<T> + ?Sized> Steps<T> for ModelSteps<'_, '_, M> {
    fn params(&self) -> &Params<T> {
        self.model.params()
    }

    fn params_mut(&mut self) -> &mut Params<T> {
        self.model.params_mut()
    }

    fn update<O: Optimizer<T>>(
        &mut self,
        optimizer: &mut O,
        batch: &Tensor<T>,
        rng: &mut Rng64,
        settings: StepSettings<T>,
    ) -> Result<Update<T>, Error> {
        train_step(
            &self.evaluator,
            self.objective,
            self.model,
            optimizer,
            batch,
            rng,
            settings,
        )
    }

    fn loss(&mut self, batch: &Tensor<T>, rng: &mut Rng64) -> Result<T, Error> {
        let rows = batch.shape().first().copied().unwrap_or(0);
        let draws = self.objective.draw(&*self.model, rows, rng)?;
        self.evaluator
            .value(self.objective, &*self.model, batch, &draws)
    }
}

/// The fitting loop of [`resume`] and [`resume_model`].
fn run<T, S, O, C>(
    steps: &mut S,
    optimizer: &mut O,
    data: &Tensor<T>,
    config: &FitConfig<T>,
    state: FitState<T>,
    mut callback: C,
) -> Result<FitOutcome<T>, Error>
where
    T: Real,
    S: Steps<T>,
    O: Optimizer<T>,
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

    let clock = Clock::start();
    let first_step = state.step;
    let mut last_loss = None;
    let mut restored_best = false;
    // The shuffle of the epoch in progress, computed once per epoch.
    let mut order: Option<(u64, Vec<usize>)> = None;

    let stop = loop {
        if config
            .patience
            .is_some_and(|p| state.epochs_since_best >= p)
        {
            if let Some(best) = &state.best_params {
                steps.params_mut().set_values(best.clone())?;
                restored_best = true;
            }
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

        let lr = config.schedule.lr(optimizer.learning_rate(), t);
        let settings = StepSettings {
            lr,
            clip: config.clip_norm,
            loss_bound: loss_bound(&state.early_losses),
            t,
        };
        let update = steps.update(optimizer, &batch, &mut step_rng(config.seed, t), settings)?;
        if state.early_losses.len() < EARLY_UPDATES {
            state.early_losses.push(update.loss.as_f64().abs());
        }
        state.step = t + 1;
        state.epoch_loss_sum += update.loss.as_f64();
        last_loss = Some(update.loss);

        // Finish the epoch's bookkeeping before any callback can stop the fit,
        // so that the state it leaves is the one an uninterrupted fit passes through.
        let epoch_report = if state.step.is_multiple_of(steps_per_epoch) {
            let validation_loss = match &split.validation {
                Some(v) => Some(validation_loss(steps, v, config, state.step)?),
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
                if config.patience.is_some() {
                    state.best_params = Some(steps.params().values().to_vec());
                }
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
            loss: update.loss,
            lr,
            grad_norm: update.grad_norm,
            validation_loss: state.last_validation,
            steps_per_second: clock.rate(state.step - first_step),
        };
        let mut flow = callback(Event::Step(step_report));
        if let Some(report) = epoch_report
            && flow.is_continue()
        {
            flow = callback(Event::Epoch(report));
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
        restored_best,
    })
}

/// The bound on `|loss|` beyond which an update diverges:
/// `DIVERGENCE_FACTOR · max(1, median of the early |losses|)`, or `None`
/// before the first update.
fn loss_bound(early: &[f64]) -> Option<f64> {
    if early.is_empty() {
        return None;
    }
    let mut sorted = early.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    };
    Some(DIVERGENCE_FACTOR * median.max(1.0))
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
/// with weights proportional to their sizes (the loss being a per-sample
/// mean). The draws come from a generator that depends on the seed alone, so
/// they are the same at every evaluation.
fn validation_loss<T: Real, S: Steps<T>>(
    steps: &mut S,
    validation: &Tensor<T>,
    config: &FitConfig<T>,
    step: u64,
) -> Result<T, Error> {
    let n = validation.shape()[0];
    let mut rng = validation_rng(config.seed);
    let mut total = 0.0;
    let mut start = 0;
    while start < n {
        let end = (start + config.batch_size).min(n);
        let chunk = validation.slice(0, start, end);
        total += steps.loss(&chunk, &mut rng)?.as_f64() * (end - start) as f64;
        start = end;
    }
    let mean = total / n as f64;
    if !mean.is_finite() {
        return Err(Error::Numerical(format!(
            "after update {step}: the validation loss is not finite ({mean}); \
             the parameters hold their last finite values"
        )));
    }
    Ok(T::cast(mean))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, MlpEnergy};
    use crate::objective::{ProjectionKind, SlicedVariant};
    use crate::optim::Adam;
    use crate::random::{normal_tensor, seeded};

    /// `fit_model`'s update is `train_step` on the epoch's shuffled rows with
    /// the update's generator: bit-identical parameters after two updates.
    #[test]
    fn a_fit_model_update_is_the_train_step() {
        let data = normal_tensor::<f64, _>(&[32, 2], &mut seeded(1));
        let start = MlpEnergy::new(2, &[6], Activation::Softplus, 2).unwrap();
        let objective = Objective::Sliced {
            kind: ProjectionKind::Gaussian,
            count: 1,
            variant: SlicedVariant::Standard,
        };
        let config = FitConfig {
            batch_size: 16,
            budget: Budget::Steps(2),
            seed: 5,
            threads: Some(2),
            ..FitConfig::default()
        };
        let mut fitted = start.clone();
        fit_model(
            &mut fitted,
            &objective,
            &mut Adam::new(0.01),
            &data,
            &config,
            |_| ControlFlow::Continue(()),
        )
        .unwrap();

        let mut by_hand = start;
        let mut adam = Adam::new(0.01);
        let order = epoch_order(32, 5, 0);
        let mut early = Vec::new();
        for t in 0..2u64 {
            let rows = &order[t as usize * 16..(t as usize + 1) * 16];
            let settings = StepSettings {
                lr: 0.01,
                clip: None,
                loss_bound: loss_bound(&early),
                t,
            };
            let update = train_step(
                &Evaluator::with_threads(2),
                &objective,
                &mut by_hand,
                &mut adam,
                &data.gather(0, rows),
                &mut step_rng(5, t),
                settings,
            )
            .unwrap();
            early.push(update.loss.abs());
        }
        assert_eq!(fitted, by_hand);
    }

    #[test]
    fn the_loss_bound_is_a_million_times_the_median_of_at_least_one() {
        assert_eq!(loss_bound(&[]), None);
        assert_eq!(loss_bound(&[0.01, 0.02]), Some(1e6));
        assert_eq!(loss_bound(&[3.0, 100.0, 5.0]), Some(5e6));
        assert_eq!(loss_bound(&[2.0, 4.0]), Some(3e6));
    }
}
