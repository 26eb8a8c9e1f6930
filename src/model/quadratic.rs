//! The quadratic (Gaussian) energy `E(x) = ½(x-μ)ᵀP(x-μ)`, with the precision
//! `P` kept symmetric positive definite by its parametrisation.

use super::linalg::{
    check_vector_and_symmetric, cholesky, cholesky_solve, from_f64, inverse, to_f64,
};
use super::{closed_form_generalized_score_matching, Energy, LinearExpFamily, Params};
use crate::error::Error;
use crate::objective::ScoreWeight;
use crate::real::Real;
use crate::tape::Var;
use crate::tensor::Tensor;
use alloc::format;
use num_traits::Float;

/// The energy of a Gaussian `N(μ, P⁻¹)`: `E(x) = ½(x-μ)ᵀP(x-μ)`, so the score
/// is `-P(x-μ)` and the Hessian in `x` is `P` everywhere.
///
/// The precision is never stored directly. It is `P = L Lᵀ` with `L`
/// lower-triangular with a positive diagonal, built from an unconstrained
/// `d×d` matrix `R`:
///
/// - `L_ij = R_ij` below the diagonal (`i > j`),
/// - `L_ii = exp(R_ii)` on it,
/// - `L_ij = 0` above it (the strictly-upper part of `R` is masked out, so it
///   gets a zero gradient and never matters).
///
/// Every real `R` gives a symmetric positive definite `P`, so gradient descent
/// on `R` can never leave the valid set. On the tape, `E(x) = ½‖(x-μ)ᵀL‖²`,
/// which avoids forming `P`.
///
/// Parameters, in order: `mean` (`μ`, shape `[d]`) and `cholesky` (`R`, shape
/// `[d, d]`).
///
/// # Examples
///
/// ```
/// use scoretape::model::{Energy, Model, QuadraticEnergy};
/// use scoretape::{grad, Tape, Tensor};
/// let p = Tensor::from_rows(&[vec![2.0, 1.0], vec![1.0, 3.0]]).unwrap();
/// let model = QuadraticEnergy::<f64>::from_mean_precision(&Tensor::vector(&[1.0, 0.0]), &p).unwrap();
/// let tape = Tape::new();
/// let params = model.params().record(&tape);
/// let x = tape.input(Tensor::from_rows(&[vec![2.0, 1.0]]).unwrap());
/// let e = model.energy(&params, x);
/// // x - μ = (1, 1): E = ½(2 + 1 + 1 + 3) = 3.5, ∇E = P(x-μ) = (3, 4)
/// assert!((e.item() - 3.5).abs() < 1e-12);
/// let g = grad(e.sum(), &[x]).unwrap()[0];
/// assert!(g.value().max_abs_diff(&Tensor::from_rows(&[vec![3.0, 4.0]]).unwrap()) < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct QuadraticEnergy<T> {
    dim: usize,
    params: Params<T>,
}

/// Ones strictly below the diagonal of a `d×d` matrix, zeros elsewhere.
fn strictly_lower_mask<T: Real>(d: usize) -> Tensor<T> {
    Tensor::from_fn(
        &[d, d],
        |k| {
            if k % d < k / d {
                T::one()
            } else {
                T::zero()
            }
        },
    )
}

/// `L` from the unconstrained `R`, on plain tensors (see [`QuadraticEnergy`]).
fn factor_from_raw<T: Real>(raw: &Tensor<T>) -> Tensor<T> {
    let d = raw.shape()[0];
    Tensor::from_fn(&[d, d], |k| {
        let (i, j) = (k / d, k % d);
        match i.cmp(&j) {
            core::cmp::Ordering::Greater => raw.data()[k],
            core::cmp::Ordering::Equal => raw.data()[k].exp(),
            core::cmp::Ordering::Less => T::zero(),
        }
    })
}

impl<T: Real> QuadraticEnergy<T> {
    /// The standard Gaussian on `dim` dimensions: `μ = 0`, `P = I` (so `R = 0`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if `dim` is zero.
    ///
    /// ```
    /// use scoretape::model::QuadraticEnergy;
    /// use scoretape::Tensor;
    /// let m = QuadraticEnergy::<f64>::new(3).unwrap();
    /// assert_eq!(m.precision(), Tensor::eye(3));
    /// assert_eq!(m.mean(), Tensor::zeros(&[3]));
    /// assert!(QuadraticEnergy::<f64>::new(0).is_err());
    /// ```
    pub fn new(dim: usize) -> Result<Self, Error> {
        super::check_dim("a quadratic energy", dim)?;
        let mut params = Params::new();
        params.push("mean", Tensor::zeros(&[dim]));
        params.push("cholesky", Tensor::zeros(&[dim, dim]));
        Ok(QuadraticEnergy { dim, params })
    }

    /// The Gaussian with mean `μ` and precision `P`: factorises `P = L Lᵀ` and
    /// stores `R` with `R_ij = L_ij` below the diagonal, `R_ii = ln L_ii`.
    ///
    /// `P` must be symmetric to within `√ε·max|P_ij|` (ε the machine epsilon
    /// of `T`); its symmetric part `½(P + Pᵀ)` is the one factorised.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if `mean` is not `[d]` or `precision` not `[d, d]`;
    /// [`Error::InvalidData`] if either has a non-finite entry, or `P` is not
    /// symmetric, or not positive definite to working precision.
    ///
    /// ```
    /// use scoretape::model::QuadraticEnergy;
    /// use scoretape::Tensor;
    /// let p = Tensor::from_rows(&[vec![2.0, 0.5], vec![0.5, 1.0]]).unwrap();
    /// let m = QuadraticEnergy::from_mean_precision(&Tensor::vector(&[1.0, -1.0]), &p).unwrap();
    /// assert!(m.precision().max_abs_diff(&p) < 1e-14);
    /// let not_pd = Tensor::from_rows(&[vec![1.0, 2.0], vec![2.0, 1.0]]).unwrap();
    /// assert!(QuadraticEnergy::from_mean_precision(&Tensor::vector(&[0.0, 0.0]), &not_pd).is_err());
    /// ```
    pub fn from_mean_precision(mean: &Tensor<T>, precision: &Tensor<T>) -> Result<Self, Error> {
        let (d, p, _) = check_vector_and_symmetric(("mean", mean), ("precision", precision))?;
        let symmetric = Tensor::from_fn(&[d, d], |k| {
            let (i, j) = (k / d, k % d);
            0.5 * (p.get(&[i, j]) + p.get(&[j, i]))
        });
        let l = cholesky(&symmetric).map_err(|e| {
            Error::InvalidData(format!("the precision is not positive definite ({e})"))
        })?;
        let raw = Tensor::from_fn(&[d, d], |k| {
            let (i, j) = (k / d, k % d);
            if i == j {
                Float::ln(l.data()[k])
            } else {
                l.data()[k]
            }
        });
        let mut params = Params::new();
        params.push("mean", mean.clone());
        params.push("cholesky", from_f64(&raw));
        Ok(QuadraticEnergy { dim: d, params })
    }

    /// The current mean `μ`, shape `[d]`.
    ///
    /// ```
    /// use scoretape::model::QuadraticEnergy;
    /// assert_eq!(QuadraticEnergy::<f32>::new(2).unwrap().mean().data(), &[0.0, 0.0]);
    /// ```
    pub fn mean(&self) -> Tensor<T> {
        self.params.values()[0].clone()
    }

    /// The current factor `L` (lower-triangular, positive diagonal), shape
    /// `[d, d]`, with `P = L Lᵀ`.
    ///
    /// ```
    /// use scoretape::model::QuadraticEnergy;
    /// use scoretape::Tensor;
    /// assert_eq!(QuadraticEnergy::<f64>::new(2).unwrap().cholesky_factor(), Tensor::eye(2));
    /// ```
    pub fn cholesky_factor(&self) -> Tensor<T> {
        factor_from_raw(&self.params.values()[1])
    }

    /// The current precision `P = L Lᵀ`, shape `[d, d]`: symmetric, and
    /// positive definite in exact arithmetic.
    ///
    /// ```
    /// use scoretape::model::{Model, QuadraticEnergy};
    /// use scoretape::Tensor;
    /// let mut m = QuadraticEnergy::<f64>::new(2).unwrap();
    /// // R = [[ln 2, 0], [1, 0]] gives L = [[2, 0], [1, 1]], P = [[4, 2], [2, 2]]
    /// m.params_mut().values_mut()[1] =
    ///     Tensor::from_rows(&[vec![2f64.ln(), 0.0], vec![1.0, 0.0]]).unwrap();
    /// let p = m.precision();
    /// assert!(p.max_abs_diff(&Tensor::from_rows(&[vec![4.0, 2.0], vec![2.0, 2.0]]).unwrap()) < 1e-14);
    /// ```
    pub fn precision(&self) -> Tensor<T> {
        let l = self.cholesky_factor();
        l.matmul_t(&l, false, true)
    }

    /// The current covariance `P⁻¹`, shape `[d, d]`.
    ///
    /// # Errors
    ///
    /// [`Error::Numerical`] if `P` is singular to working precision (possible
    /// only when a diagonal entry of `L` under- or overflows).
    ///
    /// ```
    /// use scoretape::model::QuadraticEnergy;
    /// use scoretape::Tensor;
    /// let p = Tensor::from_rows(&[vec![4.0, 0.0], vec![0.0, 0.5]]).unwrap();
    /// let m = QuadraticEnergy::from_mean_precision(&Tensor::vector(&[0.0, 0.0]), &p).unwrap();
    /// let c = m.covariance().unwrap();
    /// assert!(c.max_abs_diff(&Tensor::from_rows(&[vec![0.25, 0.0], vec![0.0, 2.0]]).unwrap()) < 1e-14);
    /// ```
    pub fn covariance(&self) -> Result<Tensor<T>, Error> {
        Ok(from_f64(&inverse(&to_f64(&self.precision()))?))
    }

    /// Exact score matching's minimiser on `data` (`[n, d]`), in closed form.
    ///
    /// The empirical objective `J(μ, P) = (1/n) Σ_b ½‖P(x_b − μ)‖² − tr P`
    /// is minimised at `μ̂ = x̄` and `P̂ = Ĉ⁻¹`, `Ĉ` the covariance with
    /// divisor `n` (setting the gradients to zero: `P Σ_b (x_b − μ) = 0`
    /// and `½(ĈP + PĈ) = I`). This is also the Gaussian maximum-likelihood
    /// estimate, so for this model score matching and maximum likelihood
    /// agree exactly, and no iteration (and no conditioning problem) is
    /// involved.
    ///
    /// # Errors
    ///
    /// As [`linalg::mean_and_covariance`](super::linalg::mean_and_covariance),
    /// and [`Error::InvalidData`] if `Ĉ` is singular (a constant column, or
    /// columns linearly dependent on the data; fewer rows than `d + 1`).
    ///
    /// ```
    /// use scoretape::model::QuadraticEnergy;
    /// use scoretape::Tensor;
    /// let x = Tensor::from_rows(&[vec![0.0, 1.0], vec![2.0, 1.0], vec![1.0, 4.0]]).unwrap();
    /// let m = QuadraticEnergy::<f64>::fit_closed_form(&x).unwrap();
    /// assert!(m.mean().max_abs_diff(&Tensor::vector(&[1.0, 2.0])) < 1e-12);
    /// // Ĉ = [[2/3, 0], [0, 2]], so P̂ = [[1.5, 0], [0, 0.5]].
    /// let want = Tensor::from_rows(&[vec![1.5, 0.0], vec![0.0, 0.5]]).unwrap();
    /// assert!(m.precision().max_abs_diff(&want) < 1e-12);
    /// ```
    pub fn fit_closed_form(data: &Tensor<T>) -> Result<Self, Error> {
        let (mean, covariance) = super::linalg::mean_and_covariance(&to_f64(data))?;
        let precision = cholesky(&covariance)
            .and_then(|_| inverse(&covariance))
            .map_err(|_| {
                Error::InvalidData(
                    "the data's covariance is singular (a constant column, columns that are \
                     linear combinations of others, or fewer rows than columns + 1), so the \
                     Gaussian has no closed-form fit"
                        .into(),
                )
            })?;
        // Symmetrise away the rounding of the inverse before factorising.
        let precision = precision.zip_map(&precision.transpose(), |a, b| 0.5 * (a + b));
        QuadraticEnergy::from_mean_precision(&from_f64(&mean), &from_f64(&precision))
    }

    /// The quadratic energy as a [`LinearExpFamily`] on `ℝᵈ`:
    /// `E(x) = ½xᵀPx - (Pμ)ᵀx + const = θᵀT(x)` with the features
    /// `T(x) = (x₁, …, x_d, then xᵢxⱼ for i < j and ½xᵢ² for i = j, over
    /// i ≤ j row by row)` and the natural parameter
    /// `θ = (-Pμ, P_ij for i ≤ j)`, `k = d + d(d+1)/2` entries. The loss of
    /// score matching is quadratic in θ, so the family's closed-form
    /// estimators apply ([`closed_form_generalized_score_matching`]);
    /// [`QuadraticEnergy::from_natural`] maps θ back.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if `dim` is zero.
    ///
    /// ```
    /// use scoretape::model::QuadraticEnergy;
    /// assert_eq!(QuadraticEnergy::<f64>::natural_family(3).unwrap().num_features(), 9);
    /// ```
    pub fn natural_family(dim: usize) -> Result<LinearExpFamily<T>, Error> {
        super::check_dim("a quadratic energy", dim)?;
        let k = dim + dim * (dim + 1) / 2;
        LinearExpFamily::new(dim, k, move |x: Var<'_, T>| {
            let column = |i: usize| x.slice(1, i, i + 1);
            let mut features: alloc::vec::Vec<Var<'_, T>> = (0..dim).map(column).collect();
            for i in 0..dim {
                features.push(column(i).square() * T::cast(0.5));
                features.extend((i + 1..dim).map(|j| column(i) * column(j)));
            }
            Var::concat(&features, 1)
        })
    }

    /// The quadratic energy with the natural parameter `θ` of
    /// [`QuadraticEnergy::natural_family`]: `P` from its last `d(d+1)/2`
    /// entries, `μ = -P⁻¹θ_{1..d}`.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if `θ` does not have `d + d(d+1)/2` entries for some
    /// `d`; [`Error::InvalidData`] if `P` is not positive definite (the
    /// energy has no normalisable density on `ℝᵈ`).
    ///
    /// ```
    /// use scoretape::model::QuadraticEnergy;
    /// use scoretape::Tensor;
    /// // d = 1: θ = (-Pμ, P) = (-4, 2): P = 2, μ = 2.
    /// let m = QuadraticEnergy::<f64>::from_natural(&Tensor::vector(&[-4.0, 2.0])).unwrap();
    /// assert!((m.mean().data()[0] - 2.0).abs() < 1e-14);
    /// assert!(QuadraticEnergy::<f64>::from_natural(&Tensor::vector(&[-4.0, -2.0])).is_err());
    /// ```
    pub fn from_natural(theta: &Tensor<T>) -> Result<Self, Error> {
        let k = theta.data().len();
        let dim = (1..=k).find(|d| d + d * (d + 1) / 2 >= k).unwrap_or(0);
        if dim == 0 || dim + dim * (dim + 1) / 2 != k || theta.shape().len() != 1 {
            return Err(Error::Shape(format!(
                "a quadratic energy's natural parameter has d + d(d+1)/2 entries, got shape {:?}",
                theta.shape()
            )));
        }
        let theta = to_f64(theta).into_vec();
        let mut entries = alloc::vec![0.0; dim * dim];
        let mut next = dim;
        for i in 0..dim {
            for j in i..dim {
                entries[i * dim + j] = theta[next];
                entries[j * dim + i] = theta[next];
                next += 1;
            }
        }
        let precision = Tensor::from_vec(&[dim, dim], entries)?;
        let factor = cholesky(&precision).map_err(|_| {
            Error::InvalidData(
                "the estimated precision is not positive definite, so the quadratic energy has \
                 no normalisable density"
                    .into(),
            )
        })?;
        let mean = cholesky_solve(&factor, &Tensor::vector(&theta[..dim]))?.map(|v| -v);
        QuadraticEnergy::from_mean_precision(&from_f64(&mean), &from_f64(&precision))
    }

    /// Generalized score matching's minimiser on `data` (`[n, d]`, entries
    /// `≥ 0`) with the weight `h`, in closed form: the
    /// [natural family](QuadraticEnergy::natural_family) fitted by
    /// [`closed_form_generalized_score_matching`], mapped back by
    /// [`QuadraticEnergy::from_natural`]. For a Gaussian truncated to
    /// `[0, ∞)ᵈ` this is a consistent estimate of its mean and precision,
    /// where [`QuadraticEnergy::fit_closed_form`] (the moments, ignoring the
    /// boundary) is not.
    ///
    /// # Errors
    ///
    /// Those of [`closed_form_generalized_score_matching`] (negative data,
    /// too few distinct rows), and [`Error::InvalidData`] if the estimated
    /// precision is not positive definite.
    ///
    /// ```
    /// use scoretape::model::QuadraticEnergy;
    /// use scoretape::objective::ScoreWeight;
    /// use scoretape::Tensor;
    /// let x = Tensor::from_vec(&[6, 1], vec![0.1, 0.4, 0.9, 1.3, 2.0, 0.6]).unwrap();
    /// let m = QuadraticEnergy::<f64>::fit_closed_form_generalized(&x, ScoreWeight::X).unwrap();
    /// assert!(m.precision().data()[0] > 0.0);
    /// ```
    pub fn fit_closed_form_generalized(
        data: &Tensor<T>,
        weight: ScoreWeight,
    ) -> Result<Self, Error> {
        let dim = match data.shape() {
            [_, dim] => *dim,
            shape => {
                return Err(Error::Shape(format!(
                    "data must have shape [n, d], got {shape:?}"
                )))
            }
        };
        let family = Self::natural_family(dim)?;
        let fit = closed_form_generalized_score_matching(&family, data, None, weight)?;
        Self::from_natural(&fit.theta)
    }
}

impl_model!(QuadraticEnergy);

impl<T: Real> Energy<T> for QuadraticEnergy<T> {
    /// `E(x_b) = ½‖(x_b - μ)ᵀL‖²` for each row of `x`.
    ///
    /// Data `x` not of shape `[B, d]` is not a panic: it is recorded on the
    /// tape as an [`Error::Shape`] naming both dimensions (see
    /// [`Tape::fail`](crate::Tape::fail)), which the objectives and `grad`
    /// return, and the energy is a stand-in of zeros.
    ///
    /// # Panics
    ///
    /// If `params` is not the two recorded parameters `[mean, cholesky]`.
    fn energy<'t>(&self, params: &[Var<'t, T>], x: Var<'t, T>) -> Var<'t, T> {
        let [mean, raw] = params else {
            panic!(
                "QuadraticEnergy::energy: expected the 2 recorded parameters [mean, cholesky], got {}",
                params.len()
            );
        };
        let d = self.dim;
        if let Err(stand_in) =
            super::batch_shape("QuadraticEnergy::energy", x, d, |rows| alloc::vec![rows])
        {
            return stand_in;
        }
        let tape = x.tape();
        let below = tape.constant(strictly_lower_mask(d));
        let eye = tape.constant(Tensor::eye(d));
        // exp only of the masked diagonal, so large off-diagonal entries of R
        // cannot overflow to ∞ and then turn into ∞·0 = NaN.
        let l = *raw * below + (*raw * eye).exp() * eye;
        let z = (x - *mean).matmul(l);
        z.square().sum_axis(1) * T::cast(0.5)
    }

    /// `log Z = ½ log det(2π P⁻¹) = (d/2) log 2π - Σ_i log L_ii`, and
    /// `log L_ii = R_ii` exactly (no factorisation, no rounding of `exp`).
    fn closed_form_log_partition(&self) -> Option<f64> {
        let raw = &self.params.values()[1];
        let log_det_l: f64 = (0..self.dim).map(|i| raw.get(&[i, i]).as_f64()).sum();
        Some(0.5 * self.dim as f64 * Float::ln(core::f64::consts::TAU) - log_det_l)
    }
}
