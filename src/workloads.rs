//! The standard workloads on which the crate's speed is judged (the workloads
//! of `docs/performance.md`), defined once here so that the criterion benches, the
//! `scoretape bench` runner and the tests all time and check the same work.
//!
//! **Public, for reproducing the benchmarks; not part of the modelling API.**
//! It stays public (rather than internal) because the benches, the
//! `scoretape bench` command and the peer comparisons in
//! docs/performance.md must all run exactly these definitions, and a user
//! should be able to time the same work on their machine. Its items may
//! change whenever the benchmarks do, in any release.
//!
//! The model is `mlp-ebm(d, h)`, an MLP energy with two softplus hidden layers
//! of width `h`:
//!
//! ```text
//! a1 = softplus(W1 x + b1),  a2 = softplus(W2 a1 + b2),  E = w3 · a2 + b3
//! ```
//!
//! initialised with weights `~ N(0, 1/fan_in)` and zero biases from a seeded
//! ChaCha generator ([`MlpEnergy::new`]), in `f64`, on a batch of `B = 128`
//! points `x ~ N(0, I_d)` (Bernoulli(½) bits for `rm`). One call of a workload
//! does all of its work over the whole batch:
//!
//! | workload | one call computes |
//! |----------|-------------------|
//! | `grad` | `E(x_b)` and `∇x E(x_b)` for every `b` |
//! | `hvp` | `H(x_b) v_b` for every `b`, forward-over-reverse, `v_b ~ N(0, I)` |
//! | `esm` | `J = mean_b [-tr H(x_b) + ½‖∇x E(x_b)‖²]` (trace by `d` HVPs) and `∂J/∂θ` |
//! | `esm-laplacian` | the same `J` and `∂J/∂θ`, the trace by the forward Laplacian |
//! | `ssm` | `J = mean_b [-v_bᵀH v_b + ½(v_bᵀ∇x E)²]` and `∂J/∂θ` |
//! | `ssm-vr` | `J = mean_b [-v_bᵀH v_b + ½‖∇x E‖²]` and `∂J/∂θ` |
//! | `fd-ssm` | `J = mean_b [-(E₊ + E₋ - 2E)/ε² + ½((E₊ - E₋)/2ε)²]`, `E± = E(x_b ± εv_b)`, `ε` = [`fd_ssm_epsilon`]`::<f64>()`, and `∂J/∂θ` |
//! | `dsm` | `J = mean_b ½‖s(x_b + σε_b) + ε_b/σ‖²`, `σ = 0.1`, `s = -∇x E`, and `∂J/∂θ` |
//! | `rm` | `J = mean_b Σ_j sigmoid(E(x_b) - E(flip_j x_b))²` on bits, and `∂J/∂θ` |
//! | `rosenbrock` | for `f(x) = Σ_{i<n-1} 100(x_{i+1} - x_i²)² + (1 - x_i)²`, `n = 100`, at `x = (-1.2, 1, -1.2, 1, …)`: `∇f(x)` and `∇²f(x) v` |
//! | `train-esm`, `train-ssm`, `train-dsm`, `train-rm` | one Adam step (lr `1e-3`) of `esm`, `ssm`, `dsm`, `rm` (see below) |
//!
//! The objective workloads call [`Evaluator::value_and_grad`], and the
//! training workloads the step that [`train::fit_model`](crate::train::fit_model)
//! (and so `scoretape fit`) runs per update: a bench cell times the code a
//! user's fit runs. A training workload holds a data set of
//! [`TRAIN_ROWS`] rows (`N(0, I)`, or Bernoulli(½) bits for `train-rm`); call
//! `k` takes rows `[(kB) mod TRAIN_ROWS, +B)` as its minibatch, draws fresh
//! projections or noise for the step from [`DATA_SEED`] and `k`, and applies
//! one Adam update (`β = (0.9, 0.999)`, `ε = 1e-8`); the parameters and the
//! optimiser state carry over from call to call.
//!
//! [`Workload::prepare`] allocates the model, the data and every random draw
//! once; [`Prepared::run`] is then one call. A prepared workload records its
//! inputs on its own tape once and rewinds the tape to just after them at the
//! end of every call, so memory stays bounded however many calls are timed.
//!
//! ```
//! use scoretape::workloads::{Size, Workload};
//! let mut ssm = Workload::Ssm.prepare(Size::S);
//! let first = ssm.run().unwrap();
//! assert!(first.is_finite());
//! assert_eq!(ssm.run().unwrap(), first); // same inputs, same work, same bits
//! ```

use crate::error::Error;
use crate::exec::Evaluator;
use crate::model::{Activation, Energy, MlpEnergy, Model};
use crate::objective::{
    fd_ssm_epsilon, Draws, ExactTrace, Objective, ProjectionKind, SlicedVariant,
};
use crate::optim::Adam;
use crate::random::{bernoulli_tensor, normal_tensor, seeded};
use crate::tape::{grad, hvp, jvp, Mark, Tape, Var};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

/// The seed of the model's initial parameters.
pub const MODEL_SEED: u64 = 12345;
/// The seed of the data and of the random directions and noise drawn with it.
pub const DATA_SEED: u64 = 67890;
/// The noise level of the `dsm` workload.
pub const DSM_SIGMA: f64 = 0.1;
/// The dimension `n` of the `rosenbrock` workload.
pub const ROSENBROCK_N: usize = 100;
/// The rows of a training workload's data set.
pub const TRAIN_ROWS: usize = 8192;
/// The learning rate of a training workload's Adam step.
pub const TRAIN_LR: f64 = 1e-3;

/// One of the standard workloads (see the [module documentation](self) for
/// the maths of each).
///
/// ```
/// use scoretape::workloads::Workload;
/// let w: Workload = "ssm-vr".parse().unwrap();
/// assert_eq!(w, Workload::SsmVr);
/// assert_eq!(w.name(), "ssm-vr");
/// assert!("hessian".parse::<Workload>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// Energies and their input gradients over the batch.
    Grad,
    /// Per-sample Hessian-vector products, forward-over-reverse.
    Hvp,
    /// Exact score matching, the trace by `d` HVPs: loss and parameter gradient.
    Esm,
    /// Exact score matching, the trace by the forward Laplacian: loss and
    /// parameter gradient.
    EsmLaplacian,
    /// Sliced score matching: loss and parameter gradient.
    Ssm,
    /// Sliced score matching with variance reduction: loss and parameter gradient.
    SsmVr,
    /// Finite-difference sliced score matching: loss and parameter gradient.
    FdSsm,
    /// Denoising score matching: loss and parameter gradient.
    Dsm,
    /// Ratio matching on binary data: loss and parameter gradient.
    Rm,
    /// The scalar Rosenbrock function: gradient and one HVP, no batch.
    Rosenbrock,
    /// One Adam step of exact score matching.
    TrainEsm,
    /// One Adam step of sliced score matching (one Gaussian projection per sample).
    TrainSsm,
    /// One Adam step of denoising score matching.
    TrainDsm,
    /// One Adam step of ratio matching on binary data.
    TrainRm,
}

impl Workload {
    /// Every workload, in the order of `docs/performance.md`.
    pub const ALL: [Workload; 14] = [
        Workload::Grad,
        Workload::Hvp,
        Workload::Esm,
        Workload::EsmLaplacian,
        Workload::Ssm,
        Workload::SsmVr,
        Workload::FdSsm,
        Workload::Dsm,
        Workload::Rm,
        Workload::Rosenbrock,
        Workload::TrainEsm,
        Workload::TrainSsm,
        Workload::TrainDsm,
        Workload::TrainRm,
    ];

    /// The name used in `docs/performance.md`, in bench ids and on the command line.
    ///
    /// ```
    /// assert_eq!(scoretape::workloads::Workload::Rm.name(), "rm");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Workload::Grad => "grad",
            Workload::Hvp => "hvp",
            Workload::Esm => "esm",
            Workload::EsmLaplacian => "esm-laplacian",
            Workload::Ssm => "ssm",
            Workload::SsmVr => "ssm-vr",
            Workload::FdSsm => "fd-ssm",
            Workload::Dsm => "dsm",
            Workload::Rm => "rm",
            Workload::Rosenbrock => "rosenbrock",
            Workload::TrainEsm => "train-esm",
            Workload::TrainSsm => "train-ssm",
            Workload::TrainDsm => "train-dsm",
            Workload::TrainRm => "train-rm",
        }
    }

    /// Whether one call is one optimisation step (the `train-*` workloads).
    ///
    /// ```
    /// use scoretape::workloads::Workload;
    /// assert!(Workload::TrainDsm.is_training());
    /// assert!(!Workload::Dsm.is_training());
    /// ```
    pub fn is_training(self) -> bool {
        matches!(
            self,
            Workload::TrainEsm | Workload::TrainSsm | Workload::TrainDsm | Workload::TrainRm
        )
    }

    /// The objective of an objective or training workload, `None` for the
    /// others.
    ///
    /// ```
    /// use scoretape::workloads::Workload;
    /// assert_eq!(Workload::TrainRm.objective().unwrap().name(), "rm");
    /// assert!(Workload::Grad.objective().is_none());
    /// ```
    pub fn objective(self) -> Option<Objective> {
        let sliced = |variant| Objective::Sliced {
            kind: ProjectionKind::Gaussian,
            count: 1,
            variant,
        };
        Some(match self {
            Workload::Esm => Objective::exact_with(ExactTrace::Hvp),
            Workload::EsmLaplacian => Objective::exact_with(ExactTrace::Laplacian),
            // A training step takes the trace `fit` takes by default.
            Workload::TrainEsm => Objective::exact(),
            Workload::Ssm | Workload::TrainSsm => sliced(SlicedVariant::Standard),
            Workload::SsmVr => sliced(SlicedVariant::VarianceReduced),
            Workload::FdSsm => Objective::FiniteDifferenceSliced {
                kind: ProjectionKind::Gaussian,
                count: 1,
                epsilon: fd_ssm_epsilon::<f64>(),
            },
            Workload::Dsm | Workload::TrainDsm => Objective::denoising(DSM_SIGMA),
            Workload::Rm | Workload::TrainRm => Objective::Ratio,
            Workload::Grad | Workload::Hvp | Workload::Rosenbrock => return None,
        })
    }

    /// Whether the workload runs over a batch of the `mlp-ebm` model (every
    /// workload but `rosenbrock`, which has no model, batch or size).
    ///
    /// ```
    /// use scoretape::workloads::Workload;
    /// assert!(Workload::Esm.is_batched());
    /// assert!(!Workload::Rosenbrock.is_batched());
    /// ```
    pub fn is_batched(self) -> bool {
        self != Workload::Rosenbrock
    }

    /// Whether one call also computes the gradient `∂J/∂θ` of a loss with
    /// respect to the model parameters (the objective workloads).
    ///
    /// ```
    /// use scoretape::workloads::Workload;
    /// assert!(Workload::Dsm.is_objective());
    /// assert!(!Workload::Hvp.is_objective());
    /// ```
    pub fn is_objective(self) -> bool {
        matches!(
            self,
            Workload::Esm
                | Workload::EsmLaplacian
                | Workload::Ssm
                | Workload::SsmVr
                | Workload::FdSsm
                | Workload::Dsm
                | Workload::Rm
        )
    }

    /// Allocates everything one call needs, at a standard size: see
    /// [`Workload::prepare_dims`]. `rosenbrock` ignores the size.
    ///
    /// ```
    /// use scoretape::workloads::{Size, Workload};
    /// let mut grad = Workload::Grad.prepare(Size::M);
    /// assert_eq!(grad.x().shape(), &[128, 16]);
    /// assert!(grad.run().unwrap().is_finite());
    /// ```
    pub fn prepare(self, size: Size) -> Prepared {
        match self.prepare_dims(size.dims()) {
            Ok(prepared) => prepared,
            // The standard sizes are all positive, the only thing that can fail.
            Err(e) => unreachable!("standard size {size} rejected: {e}"),
        }
    }

    /// Allocates everything one call needs, at any dimensions: the model
    /// `mlp-ebm(d, h)` from [`MODEL_SEED`], then from [`DATA_SEED`] the batch
    /// `x` (`[B, d]`, `N(0, I)`, or Bernoulli(½) bits for `rm`) followed by the
    /// workload's random directions `v ~ N(0, I)` (`hvp`, `ssm`, `ssm-vr`, `fd-ssm`) or
    /// noise `ε ~ N(0, I)` (`dsm`), also `[B, d]`. These stay fixed for every
    /// call. A training workload draws [`TRAIN_ROWS`] rows instead and no
    /// fixed randomness. `rosenbrock` ignores `dims`: its `x` is `(-1.2, 1, …)`
    /// of length [`ROSENBROCK_N`] and its `v ~ N(0, I)` comes from [`DATA_SEED`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if a dimension is zero.
    ///
    /// ```
    /// use scoretape::workloads::{Dims, Workload};
    /// let dims = Dims { dim: 5, hidden: 8, batch: 3 };
    /// let mut esm = Workload::Esm.prepare_dims(dims).unwrap();
    /// assert!(esm.run().unwrap().is_finite());
    /// let bad = Dims { batch: 0, ..dims };
    /// assert!(Workload::Esm.prepare_dims(bad).is_err());
    /// ```
    pub fn prepare_dims(self, dims: Dims) -> Result<Prepared, Error> {
        if !self.is_batched() {
            return Ok(Prepared::rosenbrock());
        }
        if dims.dim == 0 || dims.hidden == 0 || dims.batch == 0 {
            return Err(Error::InvalidData(format!(
                "workload {self} needs positive dimensions, got {dims}"
            )));
        }
        let model = MlpEnergy::new(
            dims.dim,
            &[dims.hidden, dims.hidden],
            Activation::Softplus,
            MODEL_SEED,
        )?;
        let mut rng = seeded(DATA_SEED);
        let rows = if self.is_training() {
            TRAIN_ROWS
        } else {
            dims.batch
        };
        let shape = [rows, dims.dim];
        let x = if matches!(self, Workload::Rm | Workload::TrainRm) {
            bernoulli_tensor(&shape, 0.5, &mut rng)
        } else {
            normal_tensor(&shape, &mut rng)
        };
        let random = match self {
            Workload::Hvp | Workload::Ssm | Workload::SsmVr | Workload::FdSsm | Workload::Dsm => {
                Some(normal_tensor(&shape, &mut rng))
            }
            _ => None,
        };
        Ok(Prepared::new(self, dims, Some(model), x, random))
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                Error::InvalidData(format!(
                    "unknown workload {s:?} (expected grad, hvp, esm, esm-laplacian, ssm, ssm-vr, fd-ssm, dsm, rm, rosenbrock, train-esm, train-ssm, train-dsm or train-rm)"
                ))
            })
    }
}

/// A standard size of the batched workloads.
///
/// | size | d | h | B |
/// |------|---|---|---|
/// | S | 2 | 64 | 128 |
/// | M | 16 | 128 | 128 |
/// | L | 64 | 256 | 128 |
///
/// ```
/// use scoretape::workloads::Size;
/// let m: Size = "M".parse().unwrap();
/// assert_eq!(m.dims().hidden, 128);
/// assert_eq!(m.to_string(), "M");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    /// `d = 2, h = 64, B = 128`.
    S,
    /// `d = 16, h = 128, B = 128`.
    M,
    /// `d = 64, h = 256, B = 128`.
    L,
}

impl Size {
    /// Every size, smallest first.
    pub const ALL: [Size; 3] = [Size::S, Size::M, Size::L];

    /// The input dimension, hidden width and batch size.
    ///
    /// ```
    /// use scoretape::workloads::{Dims, Size};
    /// assert_eq!(Size::L.dims(), Dims { dim: 64, hidden: 256, batch: 128 });
    /// ```
    pub fn dims(self) -> Dims {
        let (dim, hidden) = match self {
            Size::S => (2, 64),
            Size::M => (16, 128),
            Size::L => (64, 256),
        };
        Dims {
            dim,
            hidden,
            batch: 128,
        }
    }

    /// The size's letter.
    ///
    /// ```
    /// assert_eq!(scoretape::workloads::Size::S.name(), "S");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Size::S => "S",
            Size::M => "M",
            Size::L => "L",
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Size {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Size::ALL
            .into_iter()
            .find(|z| z.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::InvalidData(format!("unknown size {s:?} (expected S, M or L)")))
    }
}

/// The dimensions of a batched workload: input dimension `d`, hidden width
/// `h` of both hidden layers, batch size `B`.
///
/// ```
/// use scoretape::workloads::Dims;
/// let dims = Dims { dim: 2, hidden: 64, batch: 128 };
/// assert_eq!(dims.to_string(), "d=2 h=64 B=128");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dims {
    /// The input dimension `d`.
    pub dim: usize,
    /// The width `h` of each of the two hidden layers.
    pub hidden: usize,
    /// The batch size `B`.
    pub batch: usize,
}

impl fmt::Display for Dims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "d={} h={} B={}", self.dim, self.hidden, self.batch)
    }
}

/// A workload with its model, data and randomness allocated (and, for the
/// engine workloads, recorded on its own tape), ready to be called again and
/// again.
///
/// ```
/// use scoretape::workloads::{Size, Workload};
/// let mut hvp = Workload::Hvp.prepare(Size::S);
/// let hv = hvp.outputs().unwrap();
/// assert_eq!(hv.len(), 1);
/// assert_eq!(hv[0].shape(), &[128, 2]);
/// ```
pub struct Prepared {
    workload: Workload,
    dims: Dims,
    model: Option<MlpEnergy<f64>>,
    x: Tensor<f64>,
    random: Option<Tensor<f64>>,
    /// The objective workloads' fixed draws, built from `random`.
    draws: Draws<f64>,
    /// A training workload's optimiser and the number of steps taken.
    adam: Adam<f64>,
    step: u64,
    /// The engine workloads' tape, holding the recorded inputs.
    tape: Tape<f64>,
    /// The tape's end once the inputs are recorded: every call rewinds to it.
    mark: Mark,
    evaluator: Evaluator,
}

impl Prepared {
    /// Records the inputs of an engine workload once, in a fixed order the
    /// calls rely on: the model parameters, then `x` (an input, since it is
    /// differentiated), then the random tensor (a constant).
    fn new(
        workload: Workload,
        dims: Dims,
        model: Option<MlpEnergy<f64>>,
        x: Tensor<f64>,
        random: Option<Tensor<f64>>,
    ) -> Prepared {
        let tape = Tape::new();
        let engine = matches!(
            workload,
            Workload::Grad | Workload::Hvp | Workload::Rosenbrock
        );
        if engine {
            if let Some(model) = &model {
                model.params().record(&tape);
            }
            tape.input(x.clone());
            if let Some(random) = &random {
                tape.constant(random.clone());
            }
        }
        let mark = tape.mark();
        let draws = match (workload, &random) {
            (Workload::Ssm | Workload::SsmVr | Workload::FdSsm, Some(v)) => Draws {
                // One projection per sample: the objectives take `[M, B, d]`.
                projections: Some(v.reshape(&[1, dims.batch, dims.dim])),
                ..Draws::none()
            },
            (Workload::Dsm, Some(eps)) => Draws {
                noise: Some(eps.clone()),
                ..Draws::none()
            },
            _ => Draws::none(),
        };
        Prepared {
            workload,
            dims,
            model,
            x,
            random,
            draws,
            adam: Adam::new(TRAIN_LR),
            step: 0,
            tape,
            mark,
            evaluator: Evaluator::new(),
        }
    }

    fn rosenbrock() -> Prepared {
        let x = Tensor::from_fn(&[ROSENBROCK_N], |i| if i % 2 == 0 { -1.2 } else { 1.0 });
        let v = normal_tensor(&[ROSENBROCK_N], &mut seeded(DATA_SEED));
        let dims = Dims {
            dim: ROSENBROCK_N,
            hidden: 0,
            batch: 1,
        };
        Prepared::new(Workload::Rosenbrock, dims, None, x, Some(v))
    }

    /// Sets how many threads a call splits the batch over (at least 1; the
    /// default is [`default_threads`](crate::exec::default_threads)). Without
    /// the `std` feature every call runs on the calling thread.
    ///
    /// ```
    /// use scoretape::workloads::{Size, Workload};
    /// let mut one = Workload::Dsm.prepare(Size::S);
    /// one.set_threads(1);
    /// let mut two = Workload::Dsm.prepare(Size::S);
    /// two.set_threads(2);
    /// let (a, b) = (one.run().unwrap(), two.run().unwrap());
    /// assert!((a - b).abs() < 1e-12 * a.abs());
    /// ```
    pub fn set_threads(&mut self, threads: usize) {
        self.evaluator = Evaluator::with_threads(threads);
    }

    /// The workload.
    ///
    /// ```
    /// use scoretape::workloads::{Size, Workload};
    /// assert_eq!(Workload::Rm.prepare(Size::S).workload(), Workload::Rm);
    /// ```
    pub fn workload(&self) -> Workload {
        self.workload
    }

    /// The dimensions (for `rosenbrock`: `d = n = 100`, `h = 0`, `B = 1`).
    ///
    /// ```
    /// use scoretape::workloads::{Size, Workload};
    /// assert_eq!(Workload::Grad.prepare(Size::L).dims(), Size::L.dims());
    /// ```
    pub fn dims(&self) -> Dims {
        self.dims
    }

    /// The model, `None` for `rosenbrock`. A training workload's model holds
    /// the parameters after the calls made so far.
    ///
    /// ```
    /// use scoretape::model::Model;
    /// use scoretape::workloads::{Size, Workload};
    /// let grad = Workload::Grad.prepare(Size::S);
    /// assert_eq!(grad.model().unwrap().params().count(), 64 * 2 + 64 + 64 * 64 + 64 + 64 + 1);
    /// ```
    pub fn model(&self) -> Option<&MlpEnergy<f64>> {
        self.model.as_ref()
    }

    /// The point the workload is evaluated at: the batch `[B, d]`, the
    /// training data set `[TRAIN_ROWS, d]`, or the Rosenbrock point `[n]`.
    ///
    /// ```
    /// use scoretape::workloads::{Size, Workload, TRAIN_ROWS};
    /// let rm = Workload::Rm.prepare(Size::S);
    /// assert!(rm.x().data().iter().all(|&b| b == 0.0 || b == 1.0));
    /// assert_eq!(Workload::TrainSsm.prepare(Size::S).x().shape(), &[TRAIN_ROWS, 2]);
    /// ```
    pub fn x(&self) -> &Tensor<f64> {
        &self.x
    }

    /// The fixed random tensor: the directions `v` of `hvp`, `ssm`, `ssm-vr`, `fd-ssm`
    /// and `rosenbrock`, the noise `ε` of `dsm`; `None` for the others.
    ///
    /// ```
    /// use scoretape::workloads::{Size, Workload};
    /// assert!(Workload::Dsm.prepare(Size::S).random().is_some());
    /// assert!(Workload::Esm.prepare(Size::S).random().is_none());
    /// ```
    pub fn random(&self) -> Option<&Tensor<f64>> {
        self.random.as_ref()
    }

    /// How many nodes the tape holds between calls: the recorded inputs. Every
    /// call rewinds to them, so this stays the same however many calls run.
    ///
    /// ```
    /// use scoretape::workloads::{Size, Workload};
    /// let mut grad = Workload::Grad.prepare(Size::S);
    /// let before = grad.recorded_nodes();
    /// grad.run().unwrap();
    /// assert_eq!(grad.recorded_nodes(), before);
    /// ```
    pub fn recorded_nodes(&self) -> usize {
        self.tape.len()
    }

    /// One call of the workload, returning a checksum of its results: the sum
    /// of every element of every output of [`Prepared::outputs`]. Returning a
    /// number computed from all of the results keeps the optimiser from
    /// dropping any of the work being timed.
    ///
    /// # Errors
    ///
    /// Those of the engine and the objectives; none occur with the shapes a
    /// prepared workload is built with.
    ///
    /// ```
    /// use scoretape::workloads::{Size, Workload};
    /// let mut rosenbrock = Workload::Rosenbrock.prepare(Size::S);
    /// let outputs = rosenbrock.outputs().unwrap();
    /// let total: f64 = outputs.iter().map(|t| t.sum()).sum();
    /// assert_eq!(rosenbrock.run().unwrap(), total);
    /// ```
    pub fn run(&mut self) -> Result<f64, Error> {
        Ok(self.outputs()?.iter().map(Tensor::sum).sum())
    }

    /// One call of the workload, returning its results:
    ///
    /// - `grad`: `[E (shape [B]), ∇x E (shape [B, d])]`;
    /// - `hvp`: `[H v (shape [B, d])]`, row `b` being `H(x_b) v_b`;
    /// - objectives: `[J (shape []), ∂J/∂θ for each parameter in order]`;
    /// - training: `[J (shape []) before the step, each parameter after it]`;
    /// - `rosenbrock`: `[∇f (shape [n]), ∇²f v (shape [n])]`.
    ///
    /// With the `std` feature and more than one thread, a batched workload
    /// splits its batch into one block of rows per thread; each block is
    /// computed on its own thread and tape, and the blocks' results are joined
    /// (per-sample results) or averaged by their share of the rows (losses and
    /// gradients, which are means over the batch; see [`crate::exec`]). The
    /// numbers agree with one thread's to rounding.
    ///
    /// # Errors
    ///
    /// As [`Prepared::run`].
    ///
    /// ```
    /// use scoretape::workloads::{Size, Workload};
    /// let mut esm = Workload::Esm.prepare(Size::S);
    /// let out = esm.outputs().unwrap();
    /// assert_eq!(out.len(), 1 + 6); // the loss and six parameter gradients
    /// assert_eq!(out[0].shape(), &[] as &[usize]);
    /// ```
    pub fn outputs(&mut self) -> Result<Vec<Tensor<f64>>, Error> {
        let Some(objective) = self.workload.objective() else {
            return self.engine_outputs();
        };
        let model = self
            .model
            .as_mut()
            .expect("objective workloads have a model");
        if self.workload.is_training() {
            let batch = self.dims.batch;
            let start = (self.step as usize * batch) % TRAIN_ROWS;
            let rows: Vec<usize> = (start..start + batch).map(|r| r % TRAIN_ROWS).collect();
            let minibatch = self.x.gather(0, &rows);
            let mut rng = crate::train::step_rng(DATA_SEED, self.step);
            let report = crate::train::train_step(
                &self.evaluator,
                &objective,
                model,
                &mut self.adam,
                &minibatch,
                &mut rng,
                crate::train::StepSettings {
                    lr: TRAIN_LR,
                    clip: None,
                    loss_bound: None,
                    t: self.step,
                },
            )?;
            self.step += 1;
            let mut results = vec![Tensor::scalar(report.loss)];
            results.extend(model.params().values().iter().cloned());
            return Ok(results);
        }
        let (loss, grads) =
            self.evaluator
                .value_and_grad(&objective, &*model, &self.x, &self.draws)?;
        let mut results = vec![Tensor::scalar(loss)];
        results.extend(grads);
        Ok(results)
    }

    /// `grad`, `hvp` and `rosenbrock`: on the prepared tape, or with the
    /// batch split over threads.
    fn engine_outputs(&mut self) -> Result<Vec<Tensor<f64>>, Error> {
        if self.model.is_some() && self.evaluator.threads() > 1 {
            return self.engine_outputs_in_parallel();
        }
        let tape = &self.tape;
        // The inputs are the first nodes of the tape, in the order `new`
        // recorded them; the handles are rebuilt because a struct cannot hold
        // `Var`s that borrow its own tape.
        let inputs: Vec<Var<'_, f64>> = (0..self.mark.len()).map(|i| tape.var_at(i)).collect();
        let result = match &self.model {
            None => {
                let [x, v] = inputs[..] else {
                    unreachable!("rosenbrock records x and v")
                };
                rosenbrock_grad_hvp(x, v).map(|results| values(&results))
            }
            Some(model) => {
                let (params, data) = inputs.split_at(model.params().len());
                engine_block(self.workload, model, params, data[0], data.get(1).copied())
            }
        };
        tape.rewind(self.mark);
        result
    }

    /// [`Prepared::engine_outputs`] with the batch split over threads, each
    /// block's per-sample results stacked back in order.
    fn engine_outputs_in_parallel(&self) -> Result<Vec<Tensor<f64>>, Error> {
        let model = self.model.as_ref().expect("batched workloads have a model");
        let (x, random, workload) = (&self.x, &self.random, self.workload);
        let blocks =
            crate::exec::map_row_blocks(self.dims.batch, self.evaluator.threads(), &|rows| {
                let tape = Tape::new();
                let params = model.params().record(&tape);
                let x = tape.input(x.slice(0, rows.start, rows.end));
                let v = random
                    .as_ref()
                    .map(|r| tape.constant(r.slice(0, rows.start, rows.end)));
                engine_block(workload, model, &params, x, v)
            });
        let blocks = blocks.into_iter().collect::<Result<Vec<_>, Error>>()?;
        Ok((0..blocks[0].len())
            .map(|k| {
                let parts: Vec<&Tensor<f64>> = blocks.iter().map(|out| &out[k]).collect();
                Tensor::concat(&parts, 0)
            })
            .collect())
    }
}

/// The values of recorded results.
fn values(results: &[Var<'_, f64>]) -> Vec<Tensor<f64>> {
    results.iter().map(|r| (*r.value()).clone()).collect()
}

/// `grad` or `hvp` on a block `x` of the batch, with the model's parameters
/// recorded as `params` and the directions `v` for `hvp`.
fn engine_block<'t>(
    workload: Workload,
    model: &MlpEnergy<f64>,
    params: &[Var<'t, f64>],
    x: Var<'t, f64>,
    v: Option<Var<'t, f64>>,
) -> Result<Vec<Tensor<f64>>, Error> {
    let e = model.energy(params, x);
    match (workload, v) {
        (Workload::Grad, _) => {
            let g = grad(e.sum(), &[x])?[0];
            Ok(values(&[e, g]))
        }
        (Workload::Hvp, Some(v)) => Ok(values(&[hvp(e.sum(), x, v)?])),
        (workload, _) => unreachable!("{workload} is not an engine workload"),
    }
}

/// `∇f(x)` and `∇²f(x) v` for the Rosenbrock function, sharing one recorded
/// gradient: the HVP is the forward-mode derivative of that gradient along
/// `v` (what `hvp` does, without recording the gradient a second time).
fn rosenbrock_grad_hvp<'t>(x: Var<'t, f64>, v: Var<'t, f64>) -> Result<Vec<Var<'t, f64>>, Error> {
    let n = x.shape()[0];
    let head = x.slice(0, 0, n - 1);
    let tail = x.slice(0, 1, n);
    let f = ((tail - head.square()).square() * 100.0 + (1.0 - head).square()).sum();
    let g = grad(f, &[x])?[0];
    let hv = jvp(&[g], &[x], &[v])?[0];
    Ok(vec![g, hv])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{train_step, StepSettings};

    /// A training workload's call is `train_step` (the step `fit_model`,
    /// and so `scoretape fit`, runs per update) on rows `[kB, (k+1)B)` with
    /// the generator of update `k`: calling it by hand on the same inputs
    /// gives bit-identical parameters.
    #[test]
    fn a_training_call_is_the_fit_step() {
        for workload in [
            Workload::TrainEsm,
            Workload::TrainSsm,
            Workload::TrainDsm,
            Workload::TrainRm,
        ] {
            let mut bench = workload.prepare(Size::S);
            bench.set_threads(2);
            let mut model = bench.model().unwrap().clone();
            let data = bench.x().clone();
            let objective = workload.objective().unwrap();
            let mut adam = Adam::new(TRAIN_LR);
            let evaluator = Evaluator::with_threads(2);
            for k in 0..3u64 {
                let out = bench.outputs().unwrap();
                let start = k as usize * 128;
                let batch = data.slice(0, start, start + 128);
                let settings = StepSettings {
                    lr: TRAIN_LR,
                    clip: None,
                    loss_bound: None,
                    t: k,
                };
                let mut rng = crate::train::step_rng(DATA_SEED, k);
                let update = train_step(
                    &evaluator, &objective, &mut model, &mut adam, &batch, &mut rng, settings,
                )
                .unwrap();
                assert_eq!(out[0].item(), update.loss, "{workload} call {k}");
                assert_eq!(&out[1..], model.params().values(), "{workload} call {k}");
            }
        }
    }
}
