//! The multilayer-perceptron score network: `x ↦ s(x)` directly, optionally
//! conditioned on the noise level σ, for denoising score matching.

use super::mlp::{init_layers, mlp_forward, params_from_layers};
use super::{Activation, Params, Score};
use crate::error::Error;
use crate::real::Real;
use crate::tape::Var;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;

/// An MLP score network `s(x) = W_L a(… a(W_1 h + b_1) …) + b_L` mapping a
/// batch `x: [B, d]` to scores `[B, d]`, with the activation `a` between layers
/// and `W_i` of shape `[out, in]`, `b_i` of shape `[out]`.
///
/// Unconditioned, the input is `h = x`. Conditioned on the noise level, it is
/// `h = [x, ln σ]` (`[B, d + 1]`): each sample's own σ, given as a `[B, 1]`
/// column, joins its row as one more feature. The logarithm puts noise levels
/// that span orders of magnitude (as in annealed schedules) on a comparable
/// scale. The output is not constrained to be the gradient of anything.
///
/// Parameters are named `layers.{i}.weight` and `layers.{i}.bias`, as for
/// [`MlpEnergy`](super::MlpEnergy), with the same initialisation: weights
/// `~ N(0, 1/fan_in)`, biases `0`, from a seeded ChaCha generator.
///
/// # Examples
///
/// ```
/// use scoretape::model::{Activation, MlpScore, Model, Score};
/// use scoretape::{Tape, Tensor};
/// let model = MlpScore::<f64>::new(2, &[16], Activation::Silu, true, 0).unwrap();
/// let tape = Tape::new();
/// let params = model.params().record(&tape);
/// let x = tape.input(Tensor::zeros(&[5, 2]));
/// let sigma = tape.constant(Tensor::full(&[5, 1], 0.1));
/// assert_eq!(model.score(&params, x, Some(sigma)).shape(), vec![5, 2]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MlpScore<T> {
    dim: usize,
    activation: Activation,
    sigma_conditioned: bool,
    params: Params<T>,
}

impl<T: Real> MlpScore<T> {
    /// A freshly initialised score network on inputs of dimension `dim`, with
    /// the given hidden widths (possibly none: then the score is affine in
    /// `[x, ln σ]`), conditioned on σ when `sigma_conditioned` is set.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if `dim` or a hidden width is zero.
    ///
    /// ```
    /// use scoretape::model::{Activation, MlpScore};
    /// let a = MlpScore::<f64>::new(3, &[8], Activation::Tanh, false, 42).unwrap();
    /// let b = MlpScore::<f64>::new(3, &[8], Activation::Tanh, false, 42).unwrap();
    /// assert_eq!(a, b); // same seed, same parameters
    /// assert!(MlpScore::<f64>::new(3, &[0], Activation::Tanh, false, 42).is_err());
    /// ```
    pub fn new(
        dim: usize,
        hidden: &[usize],
        activation: Activation,
        sigma_conditioned: bool,
        seed: u64,
    ) -> Result<Self, Error> {
        if dim == 0 || hidden.contains(&0) {
            return Err(Error::InvalidData(format!(
                "an MLP needs positive sizes, got input dimension {dim} and hidden widths {hidden:?}"
            )));
        }
        let mut widths = Vec::with_capacity(hidden.len() + 2);
        widths.push(dim + usize::from(sigma_conditioned));
        widths.extend_from_slice(hidden);
        widths.push(dim);
        Ok(MlpScore {
            dim,
            activation,
            sigma_conditioned,
            params: init_layers(&widths, seed),
        })
    }

    /// A score network from given layers `(weight [out, in], bias [out])`.
    /// The last layer's output width is the dimension `d`; the first layer
    /// must take `d` inputs, or `d + 1` when conditioned on σ (the last input
    /// column then multiplies `ln σ`).
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if there are no layers, a weight is not 2-D, a bias
    /// does not match its weight, consecutive layers do not chain, or the first
    /// layer's input width does not fit the last layer's output width.
    ///
    /// ```
    /// use scoretape::model::{Activation, MlpScore, Model};
    /// use scoretape::Tensor;
    /// // s(x, σ) = -x + 0·ln σ: one layer taking [x, ln σ].
    /// let w = Tensor::from_rows(&[vec![-1.0, 0.0]]).unwrap();
    /// let m = MlpScore::from_layers(vec![(w, Tensor::vector(&[0.0]))], Activation::Tanh, true).unwrap();
    /// assert_eq!(m.dim(), 1);
    /// let w = Tensor::from_rows(&[vec![-1.0, 0.0]]).unwrap();
    /// assert!(MlpScore::from_layers(vec![(w, Tensor::vector(&[0.0]))], Activation::Tanh, false).is_err());
    /// ```
    pub fn from_layers(
        layers: Vec<(Tensor<T>, Tensor<T>)>,
        activation: Activation,
        sigma_conditioned: bool,
    ) -> Result<Self, Error> {
        let (input, dim, params) = params_from_layers(layers)?;
        let expected = dim + usize::from(sigma_conditioned);
        if input != expected {
            return Err(Error::Shape(format!(
                "a score network with {dim} outputs{} takes {expected} inputs, but the first layer takes {input}",
                if sigma_conditioned { " conditioned on σ" } else { "" }
            )));
        }
        Ok(MlpScore {
            dim,
            activation,
            sigma_conditioned,
            params,
        })
    }

    /// The activation between layers.
    ///
    /// ```
    /// use scoretape::model::{Activation, MlpScore};
    /// let m = MlpScore::<f64>::new(2, &[4], Activation::Elu, false, 0).unwrap();
    /// assert_eq!(m.activation(), Activation::Elu);
    /// ```
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Whether the network takes `ln σ` as an extra input.
    ///
    /// ```
    /// use scoretape::model::{Activation, MlpScore};
    /// let m = MlpScore::<f64>::new(2, &[4], Activation::Elu, true, 0).unwrap();
    /// assert!(m.is_sigma_conditioned());
    /// ```
    pub fn is_sigma_conditioned(&self) -> bool {
        self.sigma_conditioned
    }

    /// The number of affine layers.
    ///
    /// ```
    /// use scoretape::model::{Activation, MlpScore};
    /// let m = MlpScore::<f64>::new(2, &[4, 4], Activation::Elu, false, 0).unwrap();
    /// assert_eq!(m.depth(), 3);
    /// ```
    pub fn depth(&self) -> usize {
        self.params.len() / 2
    }
}

impl_model!(MlpScore);

impl<T: Real> Score<T> for MlpScore<T> {
    /// The scores `s(x_b)` (or `s(x_b, σ_b)`), shape `[B, d]`. An
    /// unconditioned network ignores `sigma`. σ must be positive: `ln σ` of a
    /// non-positive σ is NaN or `-∞`, and so is the score.
    ///
    /// Data `x` not of shape `[B, d]` is not a panic: it is recorded on the
    /// tape as an [`Error::Shape`] naming both dimensions (see
    /// [`Tape::fail`](crate::Tape::fail)), which the objectives and `grad`
    /// return, and the score is a stand-in of zeros shaped like `x`.
    ///
    /// # Panics
    ///
    /// If `params` is not this model's recorded parameters, or the network is
    /// conditioned on σ and `sigma` is `None` or not `[B, 1]`.
    fn score<'t>(
        &self,
        params: &[Var<'t, T>],
        x: Var<'t, T>,
        sigma: Option<Var<'t, T>>,
    ) -> Var<'t, T> {
        super::check_param_count("MlpScore::score", params, &self.params);
        let shape = match super::batch_shape("MlpScore::score", x, self.dim, |_| x.shape()) {
            Ok(shape) => shape,
            Err(stand_in) => return stand_in,
        };
        let input = if self.sigma_conditioned {
            let sigma = sigma.unwrap_or_else(|| {
                panic!("MlpScore::score: the network is conditioned on σ, but no σ was given")
            });
            let sigma_shape = sigma.shape();
            assert!(
                sigma_shape == [shape[0], 1],
                "MlpScore::score: σ must be [{}, 1], got {sigma_shape:?}",
                shape[0]
            );
            Var::concat(&[x, sigma.log()], 1)
        } else {
            x
        };
        mlp_forward(params, input, self.activation)
    }
}
