//! Models: energies `E(x)` (score `-∇x E`, computed by the engine) and score
//! networks `s(x)` (the score directly), with named parameters.
//!
//! A model owns its parameters as plain tensors ([`Params`]). To differentiate,
//! [`Params::record`] puts them on a tape as inputs; the model's `energy` or
//! `score` then computes on those `Var`s, and `grad(loss, &params)` gives the
//! parameter gradient in the same order. Any closure `Fn(Var) -> Var` is an
//! energy to the objectives, so a model of your own needs no trait at all.

/// `impl Model<T> for $model<T>` for a model that keeps its input dimension in
/// a field `dim` and its parameters in a field `params`, as every model here
/// does.
macro_rules! impl_model {
    ($model:ident) => {
        impl<T: Real> crate::model::Model<T> for $model<T> {
            fn dim(&self) -> usize {
                self.dim
            }
            fn params(&self) -> &crate::model::Params<T> {
                &self.params
            }
            fn params_mut(&mut self) -> &mut crate::model::Params<T> {
                &mut self.params
            }
        }
    };
}

mod boltzmann;
mod exp_family;
pub mod linalg;
mod mlp;
mod mlp_score;
mod quadratic;

pub use boltzmann::{Boltzmann, MAX_ENUMERATED_DIM};
pub use exp_family::{closed_form_score_matching, ClosedFormFit, FeatureMap, LinearExpFamily};
pub use mlp::{Activation, MlpEnergy};
pub use mlp_score::MlpScore;
pub use quadratic::QuadraticEnergy;

use crate::error::Error;
use crate::real::Real;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec::Vec;

/// Named parameter tensors, in a fixed order that optimisers, gradients and
/// model files all share.
///
/// ```
/// use scoretape::model::Params;
/// use scoretape::Tensor;
/// let mut p = Params::new();
/// p.push("bias", Tensor::vector(&[0.0, 1.0]));
/// assert_eq!(p.get("bias").unwrap().data(), &[0.0, 1.0]);
/// assert_eq!(p.count(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params<T> {
    names: Vec<String>,
    values: Vec<Tensor<T>>,
}

impl<T: Real> Params<T> {
    /// No parameters.
    ///
    /// ```
    /// assert!(scoretape::model::Params::<f64>::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Params {
            names: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Appends a parameter.
    ///
    /// ```
    /// use scoretape::{model::Params, Tensor};
    /// let mut p = Params::new();
    /// p.push("w", Tensor::scalar(1.0));
    /// assert_eq!(p.names(), &["w".to_string()]);
    /// ```
    pub fn push(&mut self, name: impl Into<String>, value: Tensor<T>) {
        self.names.push(name.into());
        self.values.push(value);
    }

    /// The number of parameter tensors.
    ///
    /// ```
    /// use scoretape::{model::Params, Tensor};
    /// let mut p = Params::new();
    /// p.push("w", Tensor::<f64>::zeros(&[3, 3]));
    /// assert_eq!(p.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no parameters.
    ///
    /// ```
    /// assert!(scoretape::model::Params::<f32>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The total number of scalar parameters.
    ///
    /// ```
    /// use scoretape::{model::Params, Tensor};
    /// let mut p = Params::new();
    /// p.push("w", Tensor::<f64>::zeros(&[3, 3]));
    /// p.push("b", Tensor::<f64>::zeros(&[3]));
    /// assert_eq!(p.count(), 12);
    /// ```
    pub fn count(&self) -> usize {
        self.values.iter().map(Tensor::len).sum()
    }

    /// The names, in order.
    ///
    /// ```
    /// use scoretape::{model::Params, Tensor};
    /// let mut p = Params::new();
    /// p.push("a", Tensor::scalar(1.0));
    /// assert_eq!(p.names()[0], "a");
    /// ```
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The values, in order.
    ///
    /// ```
    /// use scoretape::{model::Params, Tensor};
    /// let mut p = Params::new();
    /// p.push("a", Tensor::scalar(1.0));
    /// assert_eq!(p.values()[0].item(), 1.0);
    /// ```
    pub fn values(&self) -> &[Tensor<T>] {
        &self.values
    }

    /// The values, mutably (for optimisers).
    ///
    /// ```
    /// use scoretape::{model::Params, Tensor};
    /// let mut p = Params::new();
    /// p.push("a", Tensor::scalar(1.0));
    /// p.values_mut()[0] = Tensor::scalar(2.0);
    /// assert_eq!(p.get("a").unwrap().item(), 2.0);
    /// ```
    pub fn values_mut(&mut self) -> &mut [Tensor<T>] {
        &mut self.values
    }

    /// The value of the parameter called `name`.
    ///
    /// ```
    /// use scoretape::{model::Params, Tensor};
    /// let mut p = Params::new();
    /// p.push("a", Tensor::scalar(1.0));
    /// assert!(p.get("b").is_none());
    /// ```
    pub fn get(&self, name: &str) -> Option<&Tensor<T>> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.values[i])
    }

    /// Records every parameter on `tape` as an input, in order, for a forward
    /// pass that will be differentiated with respect to them.
    ///
    /// ```
    /// use scoretape::{model::Params, Tape, Tensor};
    /// let mut p = Params::new();
    /// p.push("a", Tensor::scalar(1.0));
    /// let tape = Tape::new();
    /// let vars = p.record(&tape);
    /// assert!(vars[0].is_input());
    /// ```
    pub fn record<'t>(&self, tape: &'t Tape<T>) -> Vec<Var<'t, T>> {
        self.values.iter().map(|v| tape.input(v.clone())).collect()
    }

    /// Replaces every value, checking that names and shapes stay the same.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if the count or any shape differs.
    ///
    /// ```
    /// use scoretape::{model::Params, Tensor};
    /// let mut p = Params::new();
    /// p.push("a", Tensor::scalar(1.0));
    /// assert!(p.set_values(vec![Tensor::vector(&[1.0, 2.0])]).is_err());
    /// ```
    pub fn set_values(&mut self, values: Vec<Tensor<T>>) -> Result<(), Error> {
        if values.len() != self.values.len() {
            return Err(Error::Shape(alloc::format!(
                "{} parameter values given for {} parameters",
                values.len(),
                self.values.len()
            )));
        }
        for ((name, old), new) in self.names.iter().zip(&self.values).zip(&values) {
            if old.shape() != new.shape() {
                return Err(Error::Shape(alloc::format!(
                    "parameter {name} has shape {:?}, new value has shape {:?}",
                    old.shape(),
                    new.shape()
                )));
            }
        }
        self.values = values;
        Ok(())
    }
}

/// A model with parameters on inputs of a fixed dimension.
pub trait Model<T: Real> {
    /// The input dimension `d` (samples are rows of a `B×d` batch).
    fn dim(&self) -> usize;
    /// The parameters.
    fn params(&self) -> &Params<T>;
    /// The parameters, mutably.
    fn params_mut(&mut self) -> &mut Params<T>;
}

/// An energy model: a batch `x: B×d` to `B` energies, `p(x) ∝ exp(-E(x))`.
pub trait Energy<T: Real>: Model<T> {
    /// The energies `E(x_b)`, shape `[B]`, computed on the tape from `params`
    /// (the model's parameters recorded in order, see [`Params::record`]).
    fn energy<'t>(&self, params: &[Var<'t, T>], x: Var<'t, T>) -> Var<'t, T>;
}

/// A score model: a batch `x: B×d` to scores `s(x_b)`, shape `B×d`, not
/// necessarily the gradient of anything. Optionally conditioned on a noise
/// level σ (one value per sample, shape `[B, 1]`).
pub trait Score<T: Real>: Model<T> {
    /// The scores, shape `[B, d]`.
    fn score<'t>(
        &self,
        params: &[Var<'t, T>],
        x: Var<'t, T>,
        sigma: Option<Var<'t, T>>,
    ) -> Var<'t, T>;
}

/// The shape `[B, d]` of a batch `x` for a model of dimension `d`.
///
/// # Panics
///
/// If `x` is not `[B, d]`, naming `who` (the model's method).
pub(crate) fn batch_shape<T: Real>(who: &str, x: Var<'_, T>, d: usize) -> [usize; 2] {
    let shape = x.shape();
    assert!(
        shape.len() == 2 && shape[1] == d,
        "{who}: x must be [B, {d}], got {shape:?}"
    );
    [shape[0], d]
}
