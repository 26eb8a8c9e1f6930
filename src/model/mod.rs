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
/// does; `impl_model!(Model, Binary)` for a model of binary data.
macro_rules! impl_model {
    ($model:ident, Binary) => {
        impl_model!($model, crate::model::Support::Binary);
    };
    ($model:ident) => {
        impl_model!($model, crate::model::Support::Continuous);
    };
    ($model:ident, $support:expr) => {
        impl<T: Real> crate::model::Model<T> for $model<T> {
            fn support(&self) -> crate::model::Support {
                $support
            }
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

mod affine;
mod boltzmann;
mod exp_family;
pub mod linalg;
mod mlp;
mod mlp_score;
mod quadratic;
#[cfg(feature = "serde")]
mod serialize;

pub use affine::AffineMap;
pub use boltzmann::{Boltzmann, MAX_ENUMERATED_DIM};
pub use exp_family::{
    closed_form_generalized_score_matching, closed_form_score_matching, ClosedFormFit, FeatureMap,
    LinearExpFamily,
};
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
///
/// With the feature `serde`, parameters serialise as `{"names": [...],
/// "values": [...]}` in their order; deserialising checks the pairing.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        try_from = "serialize::ParamsFields<T>",
        bound(
            serialize = "T: serde::Serialize",
            deserialize = "T: Real + serde::Deserialize<'de>"
        )
    )
)]
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

/// The set a model is a distribution on.
///
/// ```
/// use scoretape::model::{Boltzmann, Model, QuadraticEnergy, Support};
/// assert_eq!(QuadraticEnergy::<f64>::new(2).unwrap().support(), Support::Continuous);
/// assert_eq!(Boltzmann::<f64>::new(2).unwrap().support(), Support::Binary);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// `ℝᵈ`: the model has a density there, with a score `∇ₓ log p = -∇ₓE`,
    /// so score matching, Langevin dynamics and MALA apply.
    Continuous,
    /// `{0, 1}^d`: the model is a distribution on bits only (its energy, a
    /// polynomial on `ℝᵈ`, is not normalisable there, so its "score" on `ℝᵈ`
    /// means nothing). Fit it by ratio matching, sample it by Gibbs sampling.
    Binary,
}

/// A model with parameters on inputs of a fixed dimension.
///
/// # Examples
///
/// Every model of the crate is one; a custom model says its dimension and
/// hands out its [`Params`]:
///
/// ```
/// use scoretape::model::{Model, Params, QuadraticEnergy};
/// use scoretape::Tensor;
/// let gaussian = QuadraticEnergy::<f64>::new(3).unwrap();
/// assert_eq!(gaussian.dim(), 3);
/// assert_eq!(gaussian.params().names(), &["mean", "cholesky"]);
///
/// struct Shift { params: Params<f64> }
/// impl Model<f64> for Shift {
///     fn dim(&self) -> usize { 2 }
///     fn params(&self) -> &Params<f64> { &self.params }
///     fn params_mut(&mut self) -> &mut Params<f64> { &mut self.params }
/// }
/// let mut params = Params::new();
/// params.push("shift", Tensor::zeros(&[2]));
/// let mut model = Shift { params };
/// model.params_mut().values_mut()[0] = Tensor::vector(&[1.0, -1.0]);
/// assert_eq!(model.params().get("shift").unwrap().data(), &[1.0, -1.0]);
/// ```
pub trait Model<T: Real> {
    /// The set the model is a distribution on: [`Support::Continuous`] unless
    /// the model says otherwise, as the [`Boltzmann`] machine does. Samplers
    /// that need a score on `ℝᵈ` refuse [`Support::Binary`] models.
    ///
    /// ```
    /// use scoretape::model::{Boltzmann, Model, QuadraticEnergy, Support};
    /// assert_eq!(QuadraticEnergy::<f64>::new(2).unwrap().support(), Support::Continuous);
    /// assert_eq!(Boltzmann::<f64>::new(3).unwrap().support(), Support::Binary);
    /// ```
    fn support(&self) -> Support {
        Support::Continuous
    }
    /// The input dimension `d` (samples are rows of a `B×d` batch).
    ///
    /// ```
    /// use scoretape::model::{Model, QuadraticEnergy};
    /// assert_eq!(QuadraticEnergy::<f64>::new(3).unwrap().dim(), 3);
    /// ```
    fn dim(&self) -> usize;
    /// The parameters.
    ///
    /// ```
    /// use scoretape::model::{Model, QuadraticEnergy};
    /// assert_eq!(QuadraticEnergy::<f64>::new(3).unwrap().params().count(), 3 + 9);
    /// ```
    fn params(&self) -> &Params<T>;
    /// The parameters, mutably.
    ///
    /// ```
    /// use scoretape::model::{Model, QuadraticEnergy};
    /// use scoretape::Tensor;
    /// let mut model = QuadraticEnergy::<f64>::new(2).unwrap();
    /// model.params_mut().values_mut()[0] = Tensor::vector(&[1.0, 2.0]); // the mean
    /// assert_eq!(model.mean().data(), &[1.0, 2.0]);
    /// ```
    fn params_mut(&mut self) -> &mut Params<T>;
}

/// An energy model: a batch `x: B×d` to `B` energies, `p(x) ∝ exp(-E(x))`.
///
/// # Examples
///
/// A custom energy, `E(x) = ½‖x - μ‖²` with a learnable `μ`; its score
/// `-∇ₓE = μ - x` comes from the tape:
///
/// ```
/// use scoretape::model::{Energy, Model, Params};
/// use scoretape::{grad, Tape, Tensor, Var};
///
/// struct Centred { params: Params<f64> }
/// impl Model<f64> for Centred {
///     fn dim(&self) -> usize { 2 }
///     fn params(&self) -> &Params<f64> { &self.params }
///     fn params_mut(&mut self) -> &mut Params<f64> { &mut self.params }
/// }
/// impl Energy<f64> for Centred {
///     fn energy<'t>(&self, params: &[Var<'t, f64>], x: Var<'t, f64>) -> Var<'t, f64> {
///         ((x - params[0]).square().sum_axis(1)) * 0.5 // μ broadcasts over the rows
///     }
/// }
///
/// let mut params = Params::new();
/// params.push("mu", Tensor::vector(&[1.0, 2.0]));
/// let model = Centred { params };
/// let tape = Tape::new();
/// let p = model.params().record(&tape);
/// let x = tape.input(Tensor::from_rows(&[vec![0.0, 0.0]]).unwrap());
/// let e = model.energy(&p, x);
/// assert_eq!(e.to_vec(), vec![2.5]);
/// let score = grad(e.sum(), &[x]).unwrap()[0] * -1.0;
/// assert_eq!(score.to_vec(), vec![1.0, 2.0]);
/// ```
pub trait Energy<T: Real>: Model<T> {
    /// The energies `E(x_b)`, shape `[B]`, computed on the tape from `params`
    /// (the model's parameters recorded in order, see [`Params::record`]).
    ///
    /// Every model here reports a batch `x` that is not `[B, d]` with
    /// [`Tape::fail`] (an [`Error::Shape`] naming the model's dimension and
    /// the data's, returned by the objectives, `grad` and `train::fit`)
    /// rather than a panic, and panics with a message naming itself if
    /// `params` are not its recorded parameters.
    ///
    /// ```
    /// use scoretape::model::{Energy, Model, QuadraticEnergy};
    /// use scoretape::{Tape, Tensor};
    /// let model = QuadraticEnergy::<f64>::new(2).unwrap();
    /// let tape = Tape::new();
    /// let p = model.params().record(&tape);
    /// let x = tape.input(Tensor::zeros(&[5, 2]));
    /// assert_eq!(model.energy(&p, x).shape(), vec![5]);
    /// ```
    fn energy<'t>(&self, params: &[Var<'t, T>], x: Var<'t, T>) -> Var<'t, T>;

    /// `log Z = log ∫ exp(-E(x)) dx` over `ℝ^d` in closed form, for a model
    /// that has one (the [`QuadraticEnergy`]); `None` (the default) otherwise,
    /// and the estimators of [`crate::sample`] are needed.
    ///
    /// ```
    /// use scoretape::model::{Activation, Energy, MlpEnergy, QuadraticEnergy};
    /// // N(0, I) in 2-D: Z = 2π.
    /// let gaussian = QuadraticEnergy::<f64>::new(2).unwrap();
    /// let log_z = gaussian.closed_form_log_partition().unwrap();
    /// assert!((log_z - (2.0 * std::f64::consts::PI).ln()).abs() < 1e-12);
    /// let mlp = MlpEnergy::<f64>::new(2, &[4], Activation::Tanh, 0).unwrap();
    /// assert!(mlp.closed_form_log_partition().is_none());
    /// ```
    fn closed_form_log_partition(&self) -> Option<f64> {
        None
    }
}

/// A score model: a batch `x: B×d` to scores `s(x_b)`, shape `B×d`, not
/// necessarily the gradient of anything. Optionally conditioned on a noise
/// level σ (one value per sample, shape `[B, 1]`).
///
/// # Examples
///
/// A custom score model, `s(x) = a·x` with a learnable scalar `a` (the score
/// of a Gaussian when `a = -1/σ²`), ignoring σ:
///
/// ```
/// use scoretape::model::{Model, Params, Score};
/// use scoretape::{Tape, Tensor, Var};
///
/// struct Linear { params: Params<f64> }
/// impl Model<f64> for Linear {
///     fn dim(&self) -> usize { 2 }
///     fn params(&self) -> &Params<f64> { &self.params }
///     fn params_mut(&mut self) -> &mut Params<f64> { &mut self.params }
/// }
/// impl Score<f64> for Linear {
///     fn score<'t>(&self, params: &[Var<'t, f64>], x: Var<'t, f64>,
///                  _sigma: Option<Var<'t, f64>>) -> Var<'t, f64> {
///         x * params[0]
///     }
/// }
///
/// let mut params = Params::new();
/// params.push("a", Tensor::scalar(-1.0));
/// let model = Linear { params };
/// let tape = Tape::new();
/// let p = model.params().record(&tape);
/// let x = tape.input(Tensor::from_rows(&[vec![1.0, -2.0]]).unwrap());
/// assert_eq!(model.score(&p, x, None).to_vec(), vec![-1.0, 2.0]);
/// ```
pub trait Score<T: Real>: Model<T> {
    /// The scores, shape `[B, d]`.
    ///
    /// ```
    /// use scoretape::model::{Activation, MlpScore, Model, Score};
    /// use scoretape::{Tape, Tensor};
    /// let model = MlpScore::<f64>::new(2, &[8], Activation::Tanh, false, 0).unwrap();
    /// let tape = Tape::new();
    /// let p = model.params().record(&tape);
    /// let x = tape.input(Tensor::zeros(&[5, 2]));
    /// assert_eq!(model.score(&p, x, None).shape(), vec![5, 2]);
    /// ```
    fn score<'t>(
        &self,
        params: &[Var<'t, T>],
        x: Var<'t, T>,
        sigma: Option<Var<'t, T>>,
    ) -> Var<'t, T>;
}

/// The shape `[B, d]` of a batch `x` for the model method `who`, of input
/// dimension `d`.
///
/// Data of another shape is bad data, not a misuse of the engine, and a model
/// method has no `Result` to return it in: the mismatch is recorded on `x`'s
/// tape with [`Tape::fail`] as an [`Error::Shape`] naming `who`, the model's
/// dimension and the data's, and the `Err` holds the stand-in output, of
/// shape `output(rows)` (`rows` the length of `x`'s first axis, or 1), for the
/// model to return. Every objective, `grad` and `train::fit` then return that
/// error; reading the stand-in's value panics with it.
pub(crate) fn batch_shape<'t, T: Real>(
    who: &str,
    x: Var<'t, T>,
    d: usize,
    output: impl FnOnce(usize) -> Vec<usize>,
) -> Result<[usize; 2], Var<'t, T>> {
    let shape = x.shape();
    if let [batch, columns] = shape[..]
        && columns == d
    {
        return Ok([batch, d]);
    }
    let message = match shape[..] {
        [_, columns] => alloc::format!(
            "{who}: the model has dimension {d} but the data has {columns} columns (x has shape {shape:?}, expected [B, {d}])"
        ),
        _ => alloc::format!(
            "{who}: the model has dimension {d} but x has shape {shape:?}, not a batch [B, {d}]"
        ),
    };
    let rows = shape.first().copied().unwrap_or(1);
    Err(x.tape().fail(Error::Shape(message), &output(rows)))
}

/// Checks that a model's input dimension is at least 1; `what` names the
/// model ("a Boltzmann machine").
pub(crate) fn check_dim(what: &str, dim: usize) -> Result<(), Error> {
    if dim == 0 {
        return Err(Error::InvalidData(alloc::format!(
            "{what} needs an input dimension of at least 1, got 0"
        )));
    }
    Ok(())
}

/// Checks that `params` are as many recorded parameters as the model has.
///
/// # Panics
///
/// If they are not, naming the model method `who` and both counts: passing
/// the wrong parameters is a misuse of the model, not bad data.
pub(crate) fn check_param_count<T: Real>(who: &str, params: &[Var<'_, T>], expected: &Params<T>) {
    assert!(
        params.len() == expected.len(),
        "{who}: expected the model's {} recorded parameters {:?}, got {} (record them with model.params().record(&tape))",
        expected.len(),
        expected.names(),
        params.len()
    );
}
