//! Fitting a model: the minibatch loop with validation, early stopping,
//! schedules, clipping and exact resumption ([`fit`], [`resume`]), and the
//! evaluation of a fitted energy model by its held-out log-likelihood.
//!
//! The loss is any closure that records a scalar on a tape from the parameters
//! (as `Var`s, in [`Params`](crate::model::Params) order), a minibatch
//! (`[B, d]`) and a generator for the loss's own randomness (noise, projections):
//!
//! ```text
//! for<'t> FnMut(&'t Tape<T>, &[Var<'t, T>], &Tensor<T>, &mut Rng64) -> Result<Var<'t, T>, Error>
//! ```
//!
//! so any objective of [`crate::objective`]-style — or one of your own — plugs in.
//!
//! A model of this crate is fitted by [`fit_model`] instead: it takes the
//! model itself (`&mut model`) and an [`Objective`](crate::objective::Objective),
//! and evaluates every minibatch on the [execution layer](crate::exec), split
//! over the cores. (Passing `model.params_mut()` to [`fit`] together with a
//! closure that calls `model.energy` borrows the model twice and does not
//! compile; `fit_model(&mut model, &objective, …)` is that call.)
//!
//! ```
//! use core::ops::ControlFlow;
//! use scoretape::model::Params;
//! use scoretape::optim::{Adam, Schedule};
//! use scoretape::train::{fit, Budget, Event, FitConfig, StopReason};
//! use scoretape::random::{normal_tensor, seeded};
//! use scoretape::Tensor;
//! // Data ~ N(2, 1); fit μ by minimising the mean of ½(x - μ)².
//! let data = normal_tensor::<f64, _>(&[200, 1], &mut seeded(1)).map(|v| v + 2.0);
//! let mut params = Params::new();
//! params.push("mu", Tensor::vector(&[0.0]));
//! let config = FitConfig {
//!     batch_size: 32,
//!     budget: Budget::Epochs(200),
//!     validation_fraction: 0.2,
//!     patience: Some(10),
//!     schedule: Schedule::Cosine { total_steps: 1000, min_lr: 1e-3 },
//!     ..FitConfig::default()
//! };
//! let mut epochs = 0;
//! let outcome = fit(
//!     &mut params,
//!     &mut Adam::new(0.1),
//!     &data,
//!     &config,
//!     |tape, p, batch, _rng| {
//!         let x = tape.constant(batch.clone());
//!         Ok(((x - p[0]).square() * 0.5).mean())
//!     },
//!     |event| {
//!         if let Event::Epoch(_) = event { epochs += 1; }
//!         ControlFlow::Continue(())
//!     },
//! )
//! .unwrap();
//! assert!(epochs > 0);
//! assert!((params.values()[0].item() - 2.0).abs() < 0.3);
//! assert!(matches!(outcome.stop, StopReason::EarlyStopping | StopReason::Budget));
//! ```

mod config;
mod fit;
mod report;
mod split;
mod step;

pub use config::{Budget, FitConfig, FitState};
pub use fit::{fit, fit_model, resume, resume_model, LossFn, DIVERGENCE_FACTOR, EARLY_UPDATES};
pub use report::{EpochReport, Event, FitOutcome, StepReport, StopReason};
#[cfg(feature = "cli")]
pub(crate) use split::split_indices;
pub(crate) use split::step_rng;
pub(crate) use step::{train_step, StepSettings};
