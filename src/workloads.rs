//! The standard workloads on which the crate's speed is judged (the workloads
//! of `docs/performance.md`), defined once here so that the criterion benches, the
//! `scoretape bench` runner and the tests all time and check the same work.
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
//! | `ssm` | `J = mean_b [-v_bᵀH v_b + ½(v_bᵀ∇x E)²]` and `∂J/∂θ` |
//! | `ssm-vr` | `J = mean_b [-v_bᵀH v_b + ½‖∇x E‖²]` and `∂J/∂θ` |
//! | `dsm` | `J = mean_b ½‖s(x_b + σε_b) + ε_b/σ‖²`, `σ = 0.1`, `s = -∇x E`, and `∂J/∂θ` |
//! | `rm` | `J = mean_b Σ_j sigmoid(E(x_b) - E(flip_j x_b))²` on bits, and `∂J/∂θ` |
//! | `rosenbrock` | for `f(x) = Σ_{i<n-1} 100(x_{i+1} - x_i²)² + (1 - x_i)²`, `n = 100`, at `x = (-1.2, 1, -1.2, 1, …)`: `∇f(x)` and `∇²f(x) v` |
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
use crate::model::{Activation, Energy, MlpEnergy, Model};
use crate::objective::{self, Noise, Projections, SlicedVariant};
use crate::random::{bernoulli_tensor, normal_tensor, seeded};
use crate::tape::{grad, hvp, jvp, Mark, Tape, Var};
use crate::tensor::Tensor;
use alloc::format;
use alloc::sync::Arc;
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
    /// Exact score matching: loss and parameter gradient.
    Esm,
    /// Sliced score matching: loss and parameter gradient.
    Ssm,
    /// Sliced score matching with variance reduction: loss and parameter gradient.
    SsmVr,
    /// Denoising score matching: loss and parameter gradient.
    Dsm,
    /// Ratio matching on binary data: loss and parameter gradient.
    Rm,
    /// The scalar Rosenbrock function: gradient and one HVP, no batch.
    Rosenbrock,
}

impl Workload {
    /// Every workload, in the order of `docs/performance.md`.
    pub const ALL: [Workload; 8] = [
        Workload::Grad,
        Workload::Hvp,
        Workload::Esm,
        Workload::Ssm,
        Workload::SsmVr,
        Workload::Dsm,
        Workload::Rm,
        Workload::Rosenbrock,
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
            Workload::Ssm => "ssm",
            Workload::SsmVr => "ssm-vr",
            Workload::Dsm => "dsm",
            Workload::Rm => "rm",
            Workload::Rosenbrock => "rosenbrock",
        }
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
            Workload::Esm | Workload::Ssm | Workload::SsmVr | Workload::Dsm | Workload::Rm
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
    /// workload's random directions `v ~ N(0, I)` (`hvp`, `ssm`, `ssm-vr`) or
    /// noise `ε ~ N(0, I)` (`dsm`), also `[B, d]`. These stay fixed for every
    /// call. `rosenbrock` ignores `dims`: its `x` is `(-1.2, 1, …)` of length
    /// [`ROSENBROCK_N`] and its `v ~ N(0, I)` comes from [`DATA_SEED`].
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
        let shape = [dims.batch, dims.dim];
        let x = if self == Workload::Rm {
            bernoulli_tensor(&shape, 0.5, &mut rng)
        } else {
            normal_tensor(&shape, &mut rng)
        };
        let random = match self {
            Workload::Hvp | Workload::Ssm | Workload::SsmVr | Workload::Dsm => {
                Some(normal_tensor(&shape, &mut rng))
            }
            _ => None,
        };
        Ok(Prepared::new(self, dims, Some(Arc::new(model)), x, random))
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
                    "unknown workload {s:?} (expected grad, hvp, esm, ssm, ssm-vr, dsm, rm or rosenbrock)"
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

/// A workload with its model, data and randomness allocated and recorded on
/// its own tape, ready to be called again and again.
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
    model: Option<Arc<MlpEnergy<f64>>>,
    x: Tensor<f64>,
    random: Option<Tensor<f64>>,
    tape: Tape<f64>,
    /// The tape's end once the inputs are recorded: every call rewinds to it.
    mark: Mark,
    /// How many threads a call splits a batch over.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    threads: usize,
}

impl Prepared {
    /// Records the inputs once, in a fixed order the calls rely on: the model
    /// parameters, then `x` (an input, since it is differentiated), then the
    /// random tensor (a constant).
    fn new(
        workload: Workload,
        dims: Dims,
        model: Option<Arc<MlpEnergy<f64>>>,
        x: Tensor<f64>,
        random: Option<Tensor<f64>>,
    ) -> Prepared {
        let tape = Tape::new();
        if let Some(model) = &model {
            model.params().record(&tape);
        }
        tape.input(x.clone());
        if let Some(random) = &random {
            tape.constant(random.clone());
        }
        let mark = tape.mark();
        #[cfg(feature = "std")]
        let threads = crate::parallel::threads();
        #[cfg(not(feature = "std"))]
        let threads = 1;
        Prepared {
            workload,
            dims,
            model,
            x,
            random,
            tape,
            mark,
            threads,
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
    /// default is [`parallel::threads`](crate::parallel::threads)). Without
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
        self.threads = threads.max(1);
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

    /// The model, `None` for `rosenbrock`.
    ///
    /// ```
    /// use scoretape::model::Model;
    /// use scoretape::workloads::{Size, Workload};
    /// let grad = Workload::Grad.prepare(Size::S);
    /// assert_eq!(grad.model().unwrap().params().count(), 64 * 2 + 64 + 64 * 64 + 64 + 64 + 1);
    /// ```
    pub fn model(&self) -> Option<&MlpEnergy<f64>> {
        self.model.as_deref()
    }

    /// The point the workload is evaluated at: the batch `[B, d]`, or the
    /// Rosenbrock point `[n]`.
    ///
    /// ```
    /// use scoretape::workloads::{Size, Workload};
    /// let rm = Workload::Rm.prepare(Size::S);
    /// assert!(rm.x().data().iter().all(|&b| b == 0.0 || b == 1.0));
    /// ```
    pub fn x(&self) -> &Tensor<f64> {
        &self.x
    }

    /// The fixed random tensor: the directions `v` of `hvp`, `ssm`, `ssm-vr`
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
    /// - `rosenbrock`: `[∇f (shape [n]), ∇²f v (shape [n])]`.
    ///
    /// With the `std` feature and more than one thread
    /// ([`parallel::threads`](crate::parallel::threads)), a batched workload
    /// splits its batch into one block of rows per thread; each block is
    /// computed on its own thread and tape, and the blocks' results are joined
    /// (per-sample results) or averaged by their share of the rows (losses and
    /// gradients, which are means over the batch). The numbers agree with one
    /// thread's to rounding.
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
        #[cfg(feature = "std")]
        if self.model.is_some()
            && (self.threads > 1 || self.samples_per_recording() < self.dims.batch)
        {
            return self.outputs_in_parallel();
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
            Some(model) => block_outputs(self.workload, model, &self.x, tape, &inputs),
        };
        tape.rewind(self.mark);
        result
    }

    /// The most samples of an objective workload recorded on a tape at once.
    ///
    /// Ratio matching evaluates the energy on `B(d + 1)` rows (each sample and
    /// its `d` flips), so a whole block's tensors outgrow a core's cache at
    /// size L; recording about 1024 energy rows at a time, and summing the
    /// chunks' gradients, keeps them near it (measured at L on one thread:
    /// 800 µs per sample in chunks of 16 samples, 895 µs in one block of 64).
    /// The other workloads record their whole block.
    #[cfg(feature = "std")]
    fn samples_per_recording(&self) -> usize {
        match self.workload {
            Workload::Rm => (1024 / (self.dims.dim + 1)).max(1),
            _ => self.dims.batch,
        }
    }

    /// [`Prepared::outputs`] with the batch split over threads, and an
    /// objective's block recorded in chunks (see
    /// [`samples_per_recording`](Self::samples_per_recording)).
    #[cfg(feature = "std")]
    fn outputs_in_parallel(&self) -> Result<Vec<Tensor<f64>>, Error> {
        let model = Arc::clone(self.model.as_ref().expect("batched workloads have a model"));
        let random = self.random.clone();
        let (batch, workload) = (self.dims.batch, self.workload);
        let chunk = self.samples_per_recording();
        let block = move |rows: core::ops::Range<usize>, x: Tensor<f64>| {
            let tape = Tape::new();
            let params = model.params().record(&tape);
            let mark = tape.mark();
            // An objective's block is recorded a chunk at a time, each chunk's
            // loss and gradient (means over the chunk) weighted by its share
            // of the block's rows; the others are recorded whole.
            let chunks = if workload.is_objective() {
                crate::parallel::row_blocks(rows.len(), rows.len().div_ceil(chunk))
            } else {
                alloc::vec![0..rows.len()]
            };
            let mut block_total: Vec<Tensor<f64>> = Vec::new();
            for part in chunks {
                let x_part = x.slice_axis(0, part.start, part.end);
                let mut inputs = params.clone();
                inputs.push(tape.input(x_part.clone()));
                if let Some(r) = &random {
                    let (start, end) = (rows.start + part.start, rows.start + part.end);
                    inputs.push(tape.constant(r.slice_axis(0, start, end)));
                }
                let out = block_outputs(workload, &model, &x_part, &tape, &inputs);
                tape.rewind(mark);
                let out = out?;
                if !workload.is_objective() {
                    return Ok((rows.len() as f64 / batch as f64, out));
                }
                add_weighted(
                    &mut block_total,
                    &out,
                    part.len() as f64 / rows.len() as f64,
                );
            }
            let share = rows.len() as f64 / batch as f64;
            Ok((share, block_total))
        };
        let blocks = crate::parallel::map_row_blocks(&self.x, self.threads, Arc::new(block));
        let blocks = blocks.into_iter().collect::<Result<Vec<_>, Error>>()?;
        Ok(if self.workload.is_objective() {
            // Means over the batch: weight each block's by its share of rows.
            let mut total = Vec::new();
            for (share, outputs) in &blocks {
                add_weighted(&mut total, outputs, *share);
            }
            total
        } else {
            // Per-sample results: stack the blocks' rows back in order.
            (0..blocks[0].1.len())
                .map(|k| {
                    let parts: Vec<&Tensor<f64>> = blocks.iter().map(|(_, out)| &out[k]).collect();
                    Tensor::concat(&parts, 0)
                })
                .collect()
        })
    }
}

/// `total += weight · parts`, tensor by tensor (starting from zeros when
/// `total` is empty): the mean over a batch from the means over its parts,
/// each weighted by its share of the rows.
#[cfg(feature = "std")]
fn add_weighted(total: &mut Vec<Tensor<f64>>, parts: &[Tensor<f64>], weight: f64) {
    if total.is_empty() {
        total.extend(parts.iter().map(|t| Tensor::zeros(t.shape())));
    }
    for (sum, part) in total.iter_mut().zip(parts) {
        for (s, &v) in sum.data_mut().iter_mut().zip(part.data()) {
            *s += weight * v;
        }
    }
}

/// The values of recorded results.
fn values(results: &[Var<'_, f64>]) -> Vec<Tensor<f64>> {
    results.iter().map(|r| (*r.value()).clone()).collect()
}

/// One call of a batched workload on the block `x` of the batch, recorded on
/// `tape` after `inputs` (the model's parameters, `x` as an input, then the
/// random tensor as a constant, if any).
fn block_outputs<'t>(
    workload: Workload,
    model: &MlpEnergy<f64>,
    x_value: &Tensor<f64>,
    tape: &'t Tape<f64>,
    inputs: &[Var<'t, f64>],
) -> Result<Vec<Tensor<f64>>, Error> {
    let (params, data) = inputs.split_at(model.params().len());
    let x = data[0];
    let random = data.get(1).copied();
    let energy = |x: Var<'t, f64>| model.energy(params, x);
    let (batch, dim) = (x_value.shape()[0], x_value.shape()[1]);
    let loss = match (workload, random) {
        (Workload::Grad, _) => {
            let e = energy(x);
            let g = grad(e.sum(), &[x])?[0];
            return Ok(values(&[e, g]));
        }
        (Workload::Hvp, Some(v)) => return Ok(values(&[hvp(energy(x).sum(), x, v)?])),
        (Workload::Esm, _) => {
            // Only the first derivative in θ is wanted: the path that keeps
            // one Hessian-vector product's graph in memory instead of d.
            let (loss, grads) = objective::exact_score_matching_value_and_grad(
                tape, &energy, x_value, None, params,
            )?;
            let mut results = vec![Tensor::scalar(loss)];
            results.extend(grads);
            return Ok(results);
        }
        (Workload::Ssm | Workload::SsmVr, Some(v)) => {
            let variant = if workload == Workload::Ssm {
                SlicedVariant::Standard
            } else {
                SlicedVariant::VarianceReduced
            };
            // One projection per sample: the objective takes `[M, B, d]`.
            let projections = v.value().reshape(&[1, batch, dim]);
            objective::sliced_score_matching(
                tape,
                &energy,
                x_value,
                Projections::Given(&projections),
                variant,
                None,
            )?
        }
        (Workload::Dsm, Some(eps)) => objective::denoising_score_matching(
            tape,
            &energy,
            x_value,
            DSM_SIGMA,
            Noise::Given(&eps.value()),
            None,
        )?,
        (Workload::Rm, _) => objective::ratio_matching(tape, &energy, x_value, None)?,
        (workload, random) => unreachable!(
            "{workload} prepared with random tensor present = {}",
            random.is_some()
        ),
    };
    let mut results = vec![loss];
    results.extend(grad(loss, params)?);
    Ok(values(&results))
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
