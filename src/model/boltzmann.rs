//! The fully visible Boltzmann machine on bits, `E(x) = -½xᵀWx - bᵀx` for
//! `x ∈ {0, 1}^d`, with its exact distribution for small `d`.

use super::linalg::{check_vector_and_symmetric, to_f64};
use super::{Energy, Params};
use crate::error::Error;
use crate::real::Real;
use crate::tape::Var;
use crate::tensor::Tensor;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use num_traits::Float;

/// The largest dimension whose `2^d` states [`Boltzmann::all_states`] lists.
pub const MAX_ENUMERATED_DIM: usize = 20;

/// A fully visible Boltzmann machine: `E(x) = -½xᵀWx - bᵀx` on `x ∈ {0, 1}^d`,
/// with a symmetric coupling `W` of zero diagonal (a diagonal entry `W_ii`
/// would only add `½W_ii x_i = ½W_ii x_i²` to the bias, since `x_i² = x_i`).
///
/// The coupling is kept symmetric with zero diagonal by its parametrisation:
/// the stored `d×d` matrix `U` gives `W = ½(U + Uᵀ) ⊙ (1 - I)`. Parameters, in
/// order: `weight` (`U`, shape `[d, d]`) and `bias` (`b`, shape `[d]`).
///
/// The energy accepts any real `x`; it is a Boltzmann machine only on bits.
/// Fit it by ratio matching, which needs energies only at bit flips.
///
/// # Examples
///
/// ```
/// use scoretape::model::{Boltzmann, Energy, Model};
/// use scoretape::{Tape, Tensor};
/// let w = Tensor::from_rows(&[vec![0.0, 2.0], vec![2.0, 0.0]]).unwrap();
/// let model = Boltzmann::<f64>::from_parts(&w, &Tensor::vector(&[0.5, -1.0])).unwrap();
/// let tape = Tape::new();
/// let params = model.params().record(&tape);
/// let x = tape.input(Tensor::from_rows(&[vec![1.0, 1.0], vec![1.0, 0.0]]).unwrap());
/// // (1,1): -½·(2 + 2) - (0.5 - 1) = -1.5;  (1,0): -0.5
/// assert_eq!(model.energy(&params, x).to_vec(), vec![-1.5, -0.5]);
/// let p = model.exact_probabilities().unwrap();
/// assert!((p.sum() - 1.0).abs() < 1e-15);
/// ```
///
/// Any other energy works on bits too: an [`MlpEnergy`](super::MlpEnergy) on
/// `0/1` inputs is a binary model that ratio matching can fit, with no new
/// code, and [`Boltzmann::all_states`] enumerates its support:
///
/// ```
/// use scoretape::model::{Activation, Boltzmann, Energy, MlpEnergy, Model};
/// use scoretape::Tape;
/// let mlp = MlpEnergy::<f64>::new(3, &[8], Activation::Softplus, 0).unwrap();
/// let tape = Tape::new();
/// let params = mlp.params().record(&tape);
/// let states = tape.constant(Boltzmann::<f64>::all_states(3).unwrap());
/// let energies = mlp.energy(&params, states); // one per state of {0,1}³
/// assert_eq!(energies.shape(), vec![8]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Boltzmann<T> {
    dim: usize,
    params: Params<T>,
}

/// `½(U + Uᵀ)` with its diagonal set to zero.
fn coupling_from_raw<T: Real>(raw: &Tensor<T>) -> Tensor<T> {
    let d = raw.shape()[0];
    Tensor::from_fn(&[d, d], |k| {
        let (i, j) = (k / d, k % d);
        if i == j {
            T::zero()
        } else {
            (raw.data()[k] + raw.data()[j * d + i]) * T::cast(0.5)
        }
    })
}

impl<T: Real> Boltzmann<T> {
    /// The uniform distribution on `{0, 1}^dim`: `W = 0`, `b = 0`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if `dim` is zero.
    ///
    /// ```
    /// use scoretape::model::Boltzmann;
    /// let m = Boltzmann::<f64>::new(2).unwrap();
    /// assert_eq!(m.exact_probabilities().unwrap().data(), &[0.25; 4]);
    /// assert!(Boltzmann::<f64>::new(0).is_err());
    /// ```
    pub fn new(dim: usize) -> Result<Self, Error> {
        super::check_dim("a Boltzmann machine", dim)?;
        let mut params = Params::new();
        params.push("weight", Tensor::zeros(&[dim, dim]));
        params.push("bias", Tensor::zeros(&[dim]));
        Ok(Boltzmann { dim, params })
    }

    /// The machine with coupling `W` and bias `b`, storing `U = W`.
    ///
    /// `W` must be symmetric with a zero diagonal to within `√ε·max|W_ij|`
    /// (ε the machine epsilon of `T`); it is stored as `½(W + Wᵀ)` with an
    /// exactly zero diagonal.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if `b` is not `[d]` or `W` not `[d, d]`;
    /// [`Error::InvalidData`] if either has a non-finite entry, or `W` is not
    /// symmetric, or its diagonal is not zero.
    ///
    /// ```
    /// use scoretape::model::Boltzmann;
    /// use scoretape::Tensor;
    /// let b = Tensor::vector(&[0.0, 0.0]);
    /// let diagonal = Tensor::from_rows(&[vec![1.0, 0.0], vec![0.0, 0.0]]).unwrap();
    /// assert!(Boltzmann::from_parts(&diagonal, &b).is_err());
    /// let asymmetric = Tensor::from_rows(&[vec![0.0, 1.0], vec![0.0, 0.0]]).unwrap();
    /// assert!(Boltzmann::from_parts(&asymmetric, &b).is_err());
    /// ```
    pub fn from_parts(coupling: &Tensor<T>, bias: &Tensor<T>) -> Result<Self, Error> {
        let (d, w, tolerance) = check_vector_and_symmetric(("bias", bias), ("coupling", coupling))?;
        if let Some(i) = (0..d).find(|&i| Float::abs(w.get(&[i, i])) > tolerance) {
            return Err(Error::InvalidData(format!(
                "the coupling must have a zero diagonal, but entry ({i}, {i}) is {}",
                w.get(&[i, i])
            )));
        }
        let mut params = Params::new();
        params.push("weight", coupling_from_raw(coupling));
        params.push("bias", bias.clone());
        Ok(Boltzmann { dim: d, params })
    }

    /// The current coupling `W = ½(U + Uᵀ) ⊙ (1 - I)`, shape `[d, d]`.
    ///
    /// ```
    /// use scoretape::model::{Boltzmann, Model};
    /// use scoretape::Tensor;
    /// let mut m = Boltzmann::<f64>::new(2).unwrap();
    /// m.params_mut().values_mut()[0] = Tensor::from_rows(&[vec![5.0, 1.0], vec![3.0, 5.0]]).unwrap();
    /// assert_eq!(m.coupling().data(), &[0.0, 2.0, 2.0, 0.0]);
    /// ```
    pub fn coupling(&self) -> Tensor<T> {
        coupling_from_raw(&self.params.values()[0])
    }

    /// The current bias `b`, shape `[d]`.
    ///
    /// ```
    /// use scoretape::model::Boltzmann;
    /// assert_eq!(scoretape::model::Boltzmann::<f64>::new(3).unwrap().bias().data(), &[0.0; 3]);
    /// ```
    pub fn bias(&self) -> Tensor<T> {
        self.params.values()[1].clone()
    }

    /// Every state of `{0, 1}^dim`, as the rows of a `[2^dim, dim]` tensor of
    /// zeros and ones. Row `s` is the binary expansion of `s` with the first
    /// column as the most significant bit, so row 1 is `(0, …, 0, 1)`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if `dim` exceeds [`MAX_ENUMERATED_DIM`] (20).
    ///
    /// ```
    /// use scoretape::model::Boltzmann;
    /// let s = Boltzmann::<f64>::all_states(2).unwrap();
    /// assert_eq!(s.data(), &[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    /// assert!(Boltzmann::<f64>::all_states(21).is_err());
    /// ```
    pub fn all_states(dim: usize) -> Result<Tensor<T>, Error> {
        if dim > MAX_ENUMERATED_DIM {
            return Err(Error::InvalidData(format!(
                "cannot enumerate 2^{dim} states (at most {MAX_ENUMERATED_DIM} dimensions)"
            )));
        }
        Ok(Tensor::from_fn(&[1 << dim, dim], |k| {
            let (state, bit) = (k / dim, k % dim);
            if (state >> (dim - 1 - bit)) & 1 == 1 {
                T::one()
            } else {
                T::zero()
            }
        }))
    }

    /// The energy of every state of [`Boltzmann::all_states`], shape `[2^d]`,
    /// computed in `f64`.
    fn energies_of_all_states(&self) -> Result<Vec<f64>, Error> {
        let states = to_f64(&Self::all_states(self.dim)?);
        let w = to_f64(&self.coupling());
        let b = to_f64(&self.bias());
        let xw = states.matmul(&w);
        Ok((0..states.shape()[0])
            .map(|s| {
                let x = states.row(s);
                let quadratic: f64 = x.iter().zip(xw.row(s)).map(|(a, c)| a * c).sum();
                let linear: f64 = x.iter().zip(b.data()).map(|(a, c)| a * c).sum();
                -0.5 * quadratic - linear
            })
            .collect())
    }

    /// The exact probabilities `p(x) = exp(-E(x)) / Z` of every state, in the
    /// order of [`Boltzmann::all_states`], shape `[2^d]`. Computed in `f64` as
    /// a softmax of `-E` shifted by its maximum, so no `exp` overflows however
    /// large the energies.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if `d` exceeds [`MAX_ENUMERATED_DIM`];
    /// [`Error::Numerical`] if a parameter is not finite.
    ///
    /// ```
    /// use scoretape::model::Boltzmann;
    /// use scoretape::Tensor;
    /// // One bit with bias b: p(1) = sigmoid(b).
    /// let m = Boltzmann::from_parts(&Tensor::zeros(&[1, 1]), &Tensor::vector(&[2.0])).unwrap();
    /// let p = m.exact_probabilities().unwrap();
    /// assert!((p.data()[1] - 1.0 / (1.0 + (-2f64).exp())).abs() < 1e-15);
    /// ```
    pub fn exact_probabilities(&self) -> Result<Tensor<T>, Error> {
        let energies = self.energies_of_all_states()?;
        let log_z = log_sum_exp_of_negated(&energies)?;
        Ok(Tensor::from_fn(&[energies.len()], |s| {
            T::cast(Float::exp(-energies[s] - log_z))
        }))
    }

    /// The exact log-partition function `log Z = log Σ_x exp(-E(x))` over the
    /// `2^d` states of `{0, 1}^d`, by enumeration in `f64` (a log-sum-exp, so
    /// nothing overflows). With it, `log p(x) = -E(x) - log Z` on bits.
    ///
    /// # Errors
    ///
    /// As [`Boltzmann::exact_probabilities`].
    ///
    /// ```
    /// use scoretape::model::Boltzmann;
    /// use scoretape::Tensor;
    /// // Independent bits with biases b: Z = Π (1 + e^{b_j}).
    /// let m = Boltzmann::from_parts(&Tensor::zeros(&[2, 2]), &Tensor::vector(&[1.0, -2.0])).unwrap();
    /// let exact = (1.0 + 1f64.exp()).ln() + (1.0 + (-2f64).exp()).ln();
    /// assert!((m.log_partition().unwrap() - exact).abs() < 1e-14);
    /// ```
    pub fn log_partition(&self) -> Result<f64, Error> {
        log_sum_exp_of_negated(&self.energies_of_all_states()?)
    }
}

/// `log Σ_s exp(-e_s)`, shifted by the lowest energy so no `exp` overflows.
fn log_sum_exp_of_negated(energies: &[f64]) -> Result<f64, Error> {
    if energies.iter().any(|e| !e.is_finite()) {
        return Err(Error::Numerical(String::from(
            "a state has a non-finite energy (are the parameters finite?)",
        )));
    }
    let lowest = energies.iter().copied().fold(f64::INFINITY, Float::min);
    let total: f64 = energies.iter().map(|e| Float::exp(lowest - e)).sum();
    Ok(Float::ln(total) - lowest)
}

impl_model!(Boltzmann, Binary);

impl<T: Real> Energy<T> for Boltzmann<T> {
    /// `E(x_b) = -½x_bᵀWx_b - bᵀx_b` for each row of `x`.
    ///
    /// Data `x` not of shape `[B, d]` is not a panic: it is recorded on the
    /// tape as an [`Error::Shape`] naming both dimensions (see
    /// [`Tape::fail`](crate::Tape::fail)), which the objectives and `grad`
    /// return, and the energy is a stand-in of zeros.
    ///
    /// # Panics
    ///
    /// If `params` is not the two recorded parameters `[weight, bias]`.
    fn energy<'t>(&self, params: &[Var<'t, T>], x: Var<'t, T>) -> Var<'t, T> {
        let [raw, bias] = params else {
            panic!(
                "Boltzmann::energy: expected the 2 recorded parameters [weight, bias], got {}",
                params.len()
            );
        };
        let d = self.dim;
        if let Err(stand_in) =
            super::batch_shape("Boltzmann::energy", x, d, |rows| alloc::vec![rows])
        {
            return stand_in;
        }
        let off_diagonal = x.tape().constant(Tensor::from_fn(&[d, d], |k| {
            if k / d == k % d {
                T::zero()
            } else {
                T::one()
            }
        }));
        let w = (*raw + raw.transpose()) * off_diagonal * T::cast(0.5);
        let quadratic = (x.matmul(w) * x).sum_axis(1);
        let linear = (x * *bias).sum_axis(1);
        quadratic * T::cast(-0.5) - linear
    }
}
