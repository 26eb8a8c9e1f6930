//! # scoretape
//!
//! A small tape-based automatic-differentiation engine — reverse mode, forward
//! mode, and forward-over-reverse Hessian-vector products, nesting to any
//! order — and, on it, the score-matching family of objectives for fitting
//! unnormalised densities `p(x) ∝ exp(-E(x))`.
//!
//! The modules, each using only those before it:
//! - [`real`]: the scalar trait [`Real`] (`f32`, `f64`) and its vectorised kernels;
//! - [`tensor`]: dense row-major tensors ([`Tensor`]) and their kernels;
//! - [`random`], [`data`]: seeded randomness (re-exporting [`rand`]) and toy data sets;
//! - [`tape`]: the engine — [`Tape`], [`Var`], the primitives and the
//!   transformations [`grad`], [`vjp`], [`jvp`], [`hvp`], [`hessian`],
//!   [`jacobian`], [`hessian_trace`];
//! - [`check`]: derivative checking against finite differences;
//! - [`model`]: parameters ([`model::Params`]), the [`model::Energy`] and
//!   [`model::Score`] traits, and the models (MLP, quadratic, exponential
//!   family, Boltzmann machine);
//! - [`objective`]: the score-matching losses — exact, sliced, denoising,
//!   ratio matching — and the Fisher divergence;
//! - [`optim`]: SGD, Adam, gradient clipping and learning-rate schedules;
//! - [`train`]: the fitting loop [`train::fit`] with validation, early
//!   stopping and resumption;
//! - [`sample`]: Langevin, MALA and annealed Langevin sampling, and
//!   log-partition and held-out likelihood estimates;
//! - [`exec`]: the execution layer, an objective's loss and gradient on a
//!   batch split over cores (threads with the feature `std`);
//! - [`workloads`]: the benchmark workloads;
//! - [`error`]: the crate's [`Error`].
//!
//! Optional features add: `io` (JSON model files and CSV data), `cli` (the
//! `scoretape` program, whose code is not a public API), `ndarray` and `nalgebra` (conversions in `interop`),
//! `serde` (`Serialize`/`Deserialize` for [`Tensor`] and [`model::Params`]).
//!
//! ```
//! use scoretape::{grad, hvp, Tape, Tensor};
//! let tape = Tape::new();
//! let x = tape.input(Tensor::vector(&[1.0, 2.0]));
//! let f = (x * x * x).sum() + x.sin().sum();          // f(x) = Σ xᵢ³ + sin xᵢ
//! let g = grad(f, &[x]).unwrap()[0];                  // 3xᵢ² + cos xᵢ
//! let v = tape.constant(Tensor::vector(&[1.0, 0.0]));
//! let hv = hvp(f, x, v).unwrap();                     // (6x₀ - sin x₀, 0)
//! assert!((g.to_vec()[0] - (3.0 + 1f64.cos())).abs() < 1e-15);
//! assert!((hv.to_vec()[0] - (6.0 - 1f64.sin())).abs() < 1e-15);
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

extern crate alloc;

pub mod check;
/// The `scoretape` program's code: not part of the library's API. It is
/// public only so that the binary (`src/bin/scoretape.rs`) and the tests can
/// call it, and it may change in any release; depend on the program's command
/// line, documented by `scoretape --help`, instead.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
pub mod data;
pub mod error;
pub mod exec;
#[cfg(any(feature = "ndarray", feature = "nalgebra"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "ndarray", feature = "nalgebra"))))]
pub mod interop;
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub mod io;
pub mod model;
pub mod objective;
pub mod optim;
pub mod random;
pub mod real;
pub mod sample;
pub mod tape;
pub mod tensor;
pub mod train;
pub mod workloads;

pub use error::Error;
/// The `rand` crate the generators here implement (version 0.10): use its
/// traits (`scoretape::rand::{Rng, RngExt, SeedableRng}`) to draw from a
/// [`random::Rng64`] without adding a second, mismatched `rand` to your
/// dependencies.
pub use rand;
pub use real::Real;
pub use tape::{
    batched_hessian_trace, batched_jacobian_diagonal, batched_jacobian_trace, batched_laplacian,
    grad, hessian, hessian_trace, hvp, hvp_reverse_over_reverse, jacobian, jvp, laplacian, vjp,
    GradAccumulator, Mark, Tape, Var,
};
pub use tensor::Tensor;
