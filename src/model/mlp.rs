//! The multilayer-perceptron energy: affine layers with a smooth activation
//! between them, the last layer giving one number per sample.

use super::{Energy, Params};
use crate::error::Error;
use crate::random::{seeded, standard_normal};
use crate::real::Real;
use crate::tape::Var;
use crate::tensor::Tensor;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

/// A smooth activation function, applied element-wise between layers.
/// Score matching differentiates the energy twice in `x` and once more in θ,
/// so only smooth (C² or nearly so) functions are offered: no ReLU, whose
/// second derivative is zero almost everywhere.
///
/// ```
/// use scoretape::model::Activation;
/// let a: Activation = "tanh".parse().unwrap();
/// assert_eq!(a, Activation::Tanh);
/// assert_eq!(a.to_string(), "tanh");
/// assert!("relu".parse::<Activation>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Activation {
    /// `ln(1 + eᵗ)`.
    #[default]
    Softplus,
    /// `tanh t`.
    Tanh,
    /// `t·sigmoid(t)`.
    Silu,
    /// `t` for `t > 0`, `eᵗ - 1` otherwise.
    Elu,
}

impl Activation {
    /// Every activation, in the order of the docs.
    pub const ALL: [Activation; 4] = [
        Activation::Softplus,
        Activation::Tanh,
        Activation::Silu,
        Activation::Elu,
    ];

    /// Applies the activation to every element of `t`.
    ///
    /// ```
    /// use scoretape::{model::Activation, Tape, Tensor};
    /// let tape = Tape::new();
    /// let t = tape.input(Tensor::scalar(0.0));
    /// assert_eq!(Activation::Tanh.apply(t).item(), 0.0);
    /// ```
    pub fn apply<'t, T: Real>(self, t: Var<'t, T>) -> Var<'t, T> {
        match self {
            Activation::Softplus => t.softplus(),
            Activation::Tanh => t.tanh(),
            Activation::Silu => t.silu(),
            Activation::Elu => t.elu(),
        }
    }

    /// The name used in model files and on the command line.
    ///
    /// ```
    /// assert_eq!(scoretape::model::Activation::Silu.name(), "silu");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Activation::Softplus => "softplus",
            Activation::Tanh => "tanh",
            Activation::Silu => "silu",
            Activation::Elu => "elu",
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Activation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Activation::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                Error::InvalidData(format!(
                    "unknown activation {s:?} (expected softplus, tanh, silu or elu)"
                ))
            })
    }
}

/// An MLP energy `E(x) = W_L a(… a(W_1 x + b_1) …) + b_L` with `W_i` of shape
/// `[out, in]` and `b_i` of shape `[out]`, the activation `a` between layers,
/// and a last layer with `out = 1`.
///
/// Parameters are named `layers.{i}.weight` and `layers.{i}.bias`.
/// Initialisation: weights `~ N(0, 1/fan_in)`, biases `0`, from a seeded ChaCha
/// generator, so a seed gives bit-identical parameters on every machine.
///
/// # Examples
///
/// ```
/// use scoretape::model::{Activation, Energy, Model, MlpEnergy};
/// use scoretape::{Tape, Tensor};
/// let model = MlpEnergy::<f64>::new(2, &[16, 16], Activation::Softplus, 0).unwrap();
/// assert_eq!(model.params().len(), 6);
/// let tape = Tape::new();
/// let params = model.params().record(&tape);
/// let x = tape.input(Tensor::zeros(&[5, 2]));
/// assert_eq!(model.energy(&params, x).shape(), vec![5]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MlpEnergy<T> {
    dim: usize,
    activation: Activation,
    params: Params<T>,
}

impl<T: Real> MlpEnergy<T> {
    /// A freshly initialised MLP energy on inputs of dimension `dim` with the
    /// given hidden widths (possibly none: then the energy is affine).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if `dim` or a hidden width is zero.
    ///
    /// ```
    /// use scoretape::model::{Activation, MlpEnergy};
    /// let a = MlpEnergy::<f64>::new(3, &[8], Activation::Tanh, 42).unwrap();
    /// let b = MlpEnergy::<f64>::new(3, &[8], Activation::Tanh, 42).unwrap();
    /// assert_eq!(a, b); // same seed, same parameters
    /// assert!(MlpEnergy::<f64>::new(0, &[8], Activation::Tanh, 42).is_err());
    /// ```
    pub fn new(
        dim: usize,
        hidden: &[usize],
        activation: Activation,
        seed: u64,
    ) -> Result<Self, Error> {
        if dim == 0 || hidden.contains(&0) {
            return Err(Error::InvalidData(format!(
                "an MLP needs positive sizes, got input dimension {dim} and hidden widths {hidden:?}"
            )));
        }
        let mut widths = Vec::with_capacity(hidden.len() + 2);
        widths.push(dim);
        widths.extend_from_slice(hidden);
        widths.push(1);
        let params = init_layers(&widths, seed);
        Ok(MlpEnergy {
            dim,
            activation,
            params,
        })
    }

    /// An MLP energy from given layers `(weight [out, in], bias [out])`.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if there are no layers, a weight is not 2-D, a bias
    /// does not match its weight, consecutive layers do not chain, or the last
    /// layer does not have one output.
    ///
    /// ```
    /// use scoretape::model::{Activation, MlpEnergy};
    /// use scoretape::Tensor;
    /// let w = Tensor::from_rows(&[vec![1.0, -1.0]]).unwrap();
    /// let b = Tensor::vector(&[0.5]);
    /// let m = MlpEnergy::from_layers(vec![(w, b)], Activation::Softplus).unwrap();
    /// assert_eq!(scoretape::model::Model::dim(&m), 2);
    /// ```
    pub fn from_layers(
        layers: Vec<(Tensor<T>, Tensor<T>)>,
        activation: Activation,
    ) -> Result<Self, Error> {
        let (dim, out, params) = params_from_layers(layers)?;
        if out != 1 {
            return Err(Error::Shape(format!(
                "the last layer of an energy must have 1 output, it has {out}"
            )));
        }
        Ok(MlpEnergy {
            dim,
            activation,
            params,
        })
    }

    /// The activation between layers.
    ///
    /// ```
    /// use scoretape::model::{Activation, MlpEnergy};
    /// let m = MlpEnergy::<f64>::new(2, &[4], Activation::Elu, 0).unwrap();
    /// assert_eq!(m.activation(), Activation::Elu);
    /// ```
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The number of affine layers.
    ///
    /// ```
    /// use scoretape::model::{Activation, MlpEnergy};
    /// let m = MlpEnergy::<f64>::new(2, &[4, 4], Activation::Elu, 0).unwrap();
    /// assert_eq!(m.depth(), 3);
    /// ```
    pub fn depth(&self) -> usize {
        self.params.len() / 2
    }
}

impl_model!(MlpEnergy);

/// Freshly initialised parameters `layers.{i}.weight` (`[out, in]`, entries
/// `~ N(0, 1/fan_in)`) and `layers.{i}.bias` (`[out]`, zeros) for an MLP with
/// the given widths, input first and output last, drawn in that order from a
/// ChaCha generator seeded with `seed`.
pub(crate) fn init_layers<T: Real>(widths: &[usize], seed: u64) -> Params<T> {
    let mut rng = seeded(seed);
    let mut params = Params::new();
    for (i, pair) in widths.windows(2).enumerate() {
        let (fan_in, fan_out) = (pair[0], pair[1]);
        let scale = 1.0 / num_traits::Float::sqrt(fan_in as f64);
        let weight = Tensor::from_fn(&[fan_out, fan_in], |_| {
            T::cast(scale * standard_normal(&mut rng))
        });
        params.push(format!("layers.{i}.weight"), weight);
        params.push(format!("layers.{i}.bias"), Tensor::zeros(&[fan_out]));
    }
    params
}

/// Named parameters from given layers `(weight [out, in], bias [out])`, with
/// the input width of the first layer and the output width of the last.
///
/// # Errors
///
/// [`Error::Shape`] if there are no layers, a weight is not 2-D or takes no
/// inputs, a bias does not match its weight, or consecutive layers do not chain.
pub(crate) fn params_from_layers<T: Real>(
    layers: Vec<(Tensor<T>, Tensor<T>)>,
) -> Result<(usize, usize, Params<T>), Error> {
    let Some(first) = layers.first() else {
        return Err(Error::Shape(String::from(
            "an MLP needs at least one layer",
        )));
    };
    let dim = first.0.shape().get(1).copied().unwrap_or(0);
    let mut expected_in = dim;
    let mut params = Params::new();
    for (i, (weight, bias)) in layers.into_iter().enumerate() {
        let [out, input] = weight.shape()[..] else {
            return Err(Error::Shape(format!(
                "layer {i}: weight must be [out][in], got shape {:?}",
                weight.shape()
            )));
        };
        if input != expected_in || input == 0 {
            return Err(Error::Shape(format!(
                "layer {i}: weight takes {input} inputs but the previous layer gives {expected_in}"
            )));
        }
        if bias.shape() != [out] {
            return Err(Error::Shape(format!(
                "layer {i}: bias has shape {:?}, expected [{out}]",
                bias.shape()
            )));
        }
        expected_in = out;
        params.push(format!("layers.{i}.weight"), weight);
        params.push(format!("layers.{i}.bias"), bias);
    }
    Ok((dim, expected_in, params))
}

/// The MLP forward pass on recorded parameters `[W_1, b_1, …, W_L, b_L]`:
/// `h ← a(h W_iᵀ + b_i)` for every layer but the last, which has no activation.
/// Returns the last layer's output, `[B, out_L]`.
pub(crate) fn mlp_forward<'t, T: Real>(
    params: &[Var<'t, T>],
    x: Var<'t, T>,
    activation: Activation,
) -> Var<'t, T> {
    let layers = params.len() / 2;
    let mut h = x;
    for (i, layer) in params.chunks(2).enumerate() {
        h = h.matmul_t(layer[0], false, true) + layer[1];
        if i + 1 < layers {
            h = activation.apply(h);
        }
    }
    h
}

impl<T: Real> Energy<T> for MlpEnergy<T> {
    /// `E(x_b)`, the network's one output for each row of `x`.
    ///
    /// Data `x` not of shape `[B, d]` is not a panic: it is recorded on the
    /// tape as an [`Error::Shape`] naming both dimensions (see
    /// [`Tape::fail`](crate::Tape::fail)), which the objectives and `grad`
    /// return, and the energy is a stand-in of zeros.
    ///
    /// # Panics
    ///
    /// If `params` is not this model's recorded parameters (naming both
    /// counts).
    fn energy<'t>(&self, params: &[Var<'t, T>], x: Var<'t, T>) -> Var<'t, T> {
        super::check_param_count("MlpEnergy::energy", params, &self.params);
        let [batch, _] =
            match super::batch_shape("MlpEnergy::energy", x, self.dim, |rows| alloc::vec![rows]) {
                Ok(shape) => shape,
                Err(stand_in) => return stand_in,
            };
        mlp_forward(params, x, self.activation).reshape(&[batch])
    }
}
