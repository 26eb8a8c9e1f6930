//! The linear exponential family `E(x) = θᵀT(x)` over user features, and its
//! closed-form score-matching estimator.
//!
//! For this family exact score matching needs no gradient descent: its loss is
//! a quadratic in θ, minimised by one linear solve ([`closed_form_score_matching`]).
//! So is generalized score matching's, with `A` and `b` weighted by `h`
//! ([`closed_form_generalized_score_matching`]).

use super::linalg::{cholesky, cholesky_solve, from_f64, to_f64};
use super::{Energy, Params};
use crate::error::Error;
use crate::objective::{check_nonnegative, ScoreWeight};
use crate::real::Real;
use crate::tape::{batched_weighted_laplacian, grad, Tape, Var};
use crate::tensor::Tensor;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use num_traits::Float;

/// A feature map written with `Var` operations: a batch `x: [B, d]` to its
/// features `T(x): [B, k]`, row by row (row `b` of the output must depend on
/// row `b` of the input only).
///
/// ```
/// use scoretape::model::FeatureMap;
/// use scoretape::{Tape, Tensor, Var};
/// // T(x) = (x, x²): two features per coordinate.
/// let features: Box<FeatureMap<f64>> = Box::new(|x: Var<'_, f64>| Var::concat(&[x, x.square()], 1));
/// let tape = Tape::new();
/// let x = tape.input(Tensor::from_rows(&[vec![2.0]]).unwrap());
/// assert_eq!(features(x).to_vec(), vec![2.0, 4.0]);
/// ```
pub type FeatureMap<T> = dyn for<'t> Fn(Var<'t, T>) -> Var<'t, T>;

/// A linear exponential family `p(x) ∝ exp(-θᵀT(x))`: the energy
/// `E(x) = θᵀT(x)` is linear in the parameter θ (`[k]`, named `theta`) and
/// arbitrary in `x` through the user's features `T: ℝᵈ → ℝᵏ`.
///
/// The features are a closure on `Var`s, so the engine differentiates them in
/// `x` (scores, Hessian traces) like any other energy. They must act on each
/// row separately.
///
/// # Examples
///
/// A one-dimensional Gaussian: `T(x) = (x, x²/2)`, so `θ = (-μ/σ², 1/σ²)`.
///
/// ```
/// use scoretape::model::{Energy, LinearExpFamily, Model};
/// use scoretape::{Tape, Tensor, Var};
/// let mut model = LinearExpFamily::<f64>::new(1, 2, |x: Var<'_, f64>| {
///     Var::concat(&[x, x.square() * 0.5], 1)
/// })
/// .unwrap();
/// model.set_theta(Tensor::vector(&[-1.0, 1.0])).unwrap(); // μ = 1, σ = 1
/// let tape = Tape::new();
/// let params = model.params().record(&tape);
/// let x = tape.input(Tensor::from_rows(&[vec![2.0]]).unwrap());
/// // E = -2 + ½·4 = 0 = ½(x - μ)² - ½
/// assert_eq!(model.energy(&params, x).to_vec(), vec![0.0]);
/// ```
pub struct LinearExpFamily<T: Real> {
    dim: usize,
    num_features: usize,
    features: Rc<FeatureMap<T>>,
    params: Params<T>,
}

impl<T: Real> Clone for LinearExpFamily<T> {
    fn clone(&self) -> Self {
        LinearExpFamily {
            dim: self.dim,
            num_features: self.num_features,
            features: Rc::clone(&self.features),
            params: self.params.clone(),
        }
    }
}

impl<T: Real> fmt::Debug for LinearExpFamily<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinearExpFamily")
            .field("dim", &self.dim)
            .field("num_features", &self.num_features)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl<T: Real> LinearExpFamily<T> {
    /// The family on inputs of dimension `dim` with `num_features` features
    /// computed by `features`, and `θ = 0`.
    ///
    /// The feature map is run once on a `[1, dim]` batch of zeros to check
    /// that it gives `[1, num_features]` (the values are not used, so a
    /// feature undefined at zero, like `ln|x|`, is fine).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if `dim` or `num_features` is zero;
    /// [`Error::Shape`] if the features of one sample are not `[1, num_features]`.
    ///
    /// ```
    /// use scoretape::model::LinearExpFamily;
    /// use scoretape::Var;
    /// let ok = LinearExpFamily::<f64>::new(2, 2, |x: Var<'_, f64>| x.sin());
    /// assert!(ok.is_ok());
    /// let wrong_count = LinearExpFamily::<f64>::new(2, 3, |x: Var<'_, f64>| x.sin());
    /// assert!(wrong_count.is_err());
    /// ```
    pub fn new(
        dim: usize,
        num_features: usize,
        features: impl for<'t> Fn(Var<'t, T>) -> Var<'t, T> + 'static,
    ) -> Result<Self, Error> {
        if dim == 0 || num_features == 0 {
            return Err(Error::InvalidData(format!(
                "a linear exponential family needs positive sizes, got dimension {dim} and {num_features} features"
            )));
        }
        let tape = Tape::new();
        let shape = features(tape.input(Tensor::zeros(&[1, dim]))).shape();
        if shape != [1, num_features] {
            return Err(Error::Shape(format!(
                "the features of one sample of dimension {dim} have shape {shape:?}, expected [1, {num_features}]"
            )));
        }
        let mut params = Params::new();
        params.push("theta", Tensor::zeros(&[num_features]));
        Ok(LinearExpFamily {
            dim,
            num_features,
            features: Rc::new(features),
            params,
        })
    }

    /// The number of features `k`.
    ///
    /// ```
    /// use scoretape::model::LinearExpFamily;
    /// use scoretape::Var;
    /// let m = LinearExpFamily::<f64>::new(3, 3, |x: Var<'_, f64>| x).unwrap();
    /// assert_eq!(m.num_features(), 3);
    /// ```
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// The current natural parameter θ, shape `[k]`.
    ///
    /// ```
    /// use scoretape::model::LinearExpFamily;
    /// use scoretape::Var;
    /// let m = LinearExpFamily::<f64>::new(1, 1, |x: Var<'_, f64>| x).unwrap();
    /// assert_eq!(m.theta().data(), &[0.0]);
    /// ```
    pub fn theta(&self) -> Tensor<T> {
        self.params.values()[0].clone()
    }

    /// Replaces θ (for instance by the fitted value of
    /// [`closed_form_score_matching`]).
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if `theta` is not `[k]`.
    ///
    /// ```
    /// use scoretape::model::LinearExpFamily;
    /// use scoretape::{Tensor, Var};
    /// let mut m = LinearExpFamily::<f64>::new(1, 1, |x: Var<'_, f64>| x).unwrap();
    /// m.set_theta(Tensor::vector(&[2.0])).unwrap();
    /// assert!(m.set_theta(Tensor::vector(&[1.0, 2.0])).is_err());
    /// ```
    pub fn set_theta(&mut self, theta: Tensor<T>) -> Result<(), Error> {
        self.params.set_values(alloc::vec![theta])
    }

    /// The features `T(x)` of a batch `x: [B, d]`, shape `[B, k]`, recorded on
    /// `x`'s tape.
    ///
    /// ```
    /// use scoretape::model::LinearExpFamily;
    /// use scoretape::{Tape, Tensor, Var};
    /// let m = LinearExpFamily::<f64>::new(1, 1, |x: Var<'_, f64>| x.square()).unwrap();
    /// let tape = Tape::new();
    /// let t = m.features(tape.input(Tensor::from_rows(&[vec![3.0]]).unwrap()));
    /// assert_eq!(t.to_vec(), vec![9.0]);
    /// ```
    pub fn features<'t>(&self, x: Var<'t, T>) -> Var<'t, T> {
        (self.features)(x)
    }
}

impl_model!(LinearExpFamily);

impl<T: Real> Energy<T> for LinearExpFamily<T> {
    /// `E(x_b) = θᵀT(x_b)` for each row of `x`.
    ///
    /// Data `x` not of shape `[B, d]` is not a panic: it is recorded on the
    /// tape as an [`Error::Shape`] naming both dimensions (see
    /// [`Tape::fail`](crate::Tape::fail)), which the objectives and `grad`
    /// return, and the energy is a stand-in of zeros.
    ///
    /// # Panics
    ///
    /// If `params` is not the one recorded parameter `[theta]`, or the feature
    /// map misbehaves on `x`.
    fn energy<'t>(&self, params: &[Var<'t, T>], x: Var<'t, T>) -> Var<'t, T> {
        let [theta] = params else {
            panic!(
                "LinearExpFamily::energy: expected the 1 recorded parameter [theta], got {}",
                params.len()
            );
        };
        let [batch, _] = match super::batch_shape("LinearExpFamily::energy", x, self.dim, |rows| {
            alloc::vec![rows]
        }) {
            Ok(shape) => shape,
            Err(stand_in) => return stand_in,
        };
        let k = self.num_features;
        self.features(x)
            .matmul(theta.reshape(&[k, 1]))
            .reshape(&[batch])
    }
}

/// The closed-form exact-score-matching fit of a [`LinearExpFamily`], with
/// everything needed to judge it.
///
/// The Gaussian family `T(x) = (x, x²/2)`, so `θ = (-μ/σ², 1/σ²)`, fitted to
/// data with mean 1 and variance 1/4 (the fit is the moment match):
///
/// ```
/// use scoretape::model::{closed_form_score_matching, LinearExpFamily};
/// use scoretape::{Tensor, Var};
/// let family = LinearExpFamily::new(1, 2, |x: Var<'_, f64>| {
///     Var::concat(&[x, x.square() * 0.5], 1)
/// })
/// .unwrap();
/// let data = Tensor::from_rows(&[vec![0.5], vec![1.5], vec![0.5], vec![1.5]]).unwrap();
/// let fit = closed_form_score_matching(&family, &data, None).unwrap();
/// let theta = fit.theta.data();
/// assert!((theta[1] - 4.0).abs() < 1e-9); // 1/σ²
/// assert!((theta[0] + 4.0).abs() < 1e-9); // -μ/σ²
/// assert_eq!(fit.standard_errors.shape(), &[2]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ClosedFormFit<T> {
    /// The minimiser `θ̂ = A⁻¹b`, shape `[k]`.
    pub theta: Tensor<T>,
    /// `A = Σ_n ω_n J_T(x_n) J_T(x_n)ᵀ`, shape `[k, k]` (ω the normalised
    /// weights, `1/N` by default); for generalized score matching
    /// `A = Σ_n ω_n J_T(x_n) diag(h(x_n)) J_T(x_n)ᵀ`.
    pub a: Tensor<T>,
    /// `b = Σ_n ω_n ΔT(x_n)`, shape `[k]`; for generalized score matching
    /// `b_i = Σ_n ω_n Σⱼ [h(x_nj) ∂²ⱼT_i(x_n) + h'(x_nj) ∂ⱼT_i(x_n)]`.
    pub b: Tensor<T>,
    /// The sandwich (Godambe) estimate of `Cov(θ̂)`, shape `[k, k]`:
    /// `A⁻¹ (Σ_n ω_n² ψ_n ψ_nᵀ) A⁻¹` with `ψ_n = A_n θ̂ - b_n`.
    pub covariance: Tensor<T>,
    /// The standard errors `√diag(covariance)`, shape `[k]`.
    pub standard_errors: Tensor<T>,
    /// The score-matching loss at the minimiser, `J(θ̂) = ½θ̂ᵀAθ̂ - bᵀθ̂ = -½bᵀθ̂`.
    pub loss: T,
}

/// The normalised weights `ω_n` (summing to 1), or an error naming the problem.
fn normalised_weights<T: Real>(weights: Option<&Tensor<T>>, n: usize) -> Result<Vec<f64>, Error> {
    let Some(w) = weights else {
        return Ok(alloc::vec![1.0 / n as f64; n]);
    };
    if w.shape() != [n] {
        return Err(Error::Shape(format!(
            "{n} samples need weights of shape [{n}], got {:?}",
            w.shape()
        )));
    }
    let w: Vec<f64> = w.data().iter().map(|v| v.as_f64()).collect();
    if w.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::InvalidData(String::from(
            "weights must be finite and non-negative",
        )));
    }
    let total: f64 = w.iter().sum();
    if total <= 0.0 {
        return Err(Error::InvalidData(String::from("the weights sum to zero")));
    }
    Ok(w.iter().map(|v| v / total).collect())
}

/// The per-sample feature Jacobians and weighted Laplacians, computed by the
/// engine: `jacobians[j]` is `[N·d]` (row `n` is `∇x T_j(x_n)`),
/// `laplacians[j]` is `[N]` (`Σᵢ h(x_ni) ∂²ᵢT_j(x_n)`, the plain Laplacian
/// `ΔT_j(x_n)` when `h ≡ 1`).
struct FeatureDerivatives {
    jacobians: Vec<Vec<f64>>,
    laplacians: Vec<Vec<f64>>,
}

fn feature_derivatives<T: Real>(
    model: &LinearExpFamily<T>,
    data: &Tensor<T>,
    h: &Tensor<T>,
) -> Result<FeatureDerivatives, Error> {
    let (n, k) = (data.shape()[0], model.num_features);
    let tape = Tape::new();
    let x = tape.input(data.clone());
    let features = model.features(x);
    if features.shape() != [n, k] {
        return Err(Error::Shape(format!(
            "the features of {n} samples have shape {:?}, expected [{n}, {k}]",
            features.shape()
        )));
    }
    let mark = tape.mark();
    let mut out = FeatureDerivatives {
        jacobians: Vec::with_capacity(k),
        laplacians: Vec::with_capacity(k),
    };
    for j in 0..k {
        // Samples do not interact, so the derivatives of Σ_n T_j(x_n) in x
        // hold every sample's own derivatives of T_j, row by row.
        let total = features.slice(1, j, j + 1).sum();
        let jacobian = grad(total, &[x])?[0];
        out.jacobians.push(to_f64(&jacobian.value()).into_vec());
        let per_sample = features.slice(1, j, j + 1).reshape(&[n]);
        let laplacian = batched_weighted_laplacian(per_sample, x, h)?;
        out.laplacians.push(to_f64(&laplacian.value()).into_vec());
        tape.rewind(mark);
    }
    Ok(out)
}

/// Fits a [`LinearExpFamily`] by exact score matching in closed form:
/// `θ̂ = A⁻¹b` with `A = mean_n J_T(x_n) J_T(x_n)ᵀ`, `b = mean_n ΔT(x_n)`.
/// The model's current θ is not used.
///
/// The derivation, with the sign conventions of the design notes
/// (`ℓ = -tr H + ½‖∇x E‖²`, `H = ∇x² E`):
///
/// - `∇x E(x) = Σ_k θ_k ∇x T_k(x) = J_T(x)ᵀ θ`, with `J_T = ∂T/∂x` (`k×d`),
///   so `½‖∇x E‖² = ½ θᵀ J_T J_Tᵀ θ`;
/// - `H(x) = Σ_k θ_k ∇x² T_k(x)`, so `tr H = Σ_k θ_k ΔT_k(x) = θᵀ ΔT(x)`, where
///   `ΔT_k` is the Laplacian of feature `k`;
/// - hence `ℓ(x) = ½ θᵀ J_T J_Tᵀ θ - θᵀ ΔT(x)`, and its mean over the data is
///   `J(θ) = ½ θᵀAθ - bᵀθ`, with no θ-independent constant.
///
/// `A` is positive semi-definite, and definite when the feature gradients are
/// linearly independent over the data; then `∇J = Aθ - b = 0` gives the
/// unique minimiser. (The sign matters: the Laplacian enters `b` with a plus
/// because `tr H` enters the loss with a minus.)
///
/// With `weights`, every mean is the weighted mean `Σ_n ω_n (·)` with
/// `ω_n = w_n / Σ w`; for instance, weights equal to the probabilities of
/// enumerated states fit the exact population objective.
///
/// The engine computes the pieces: one recorded gradient per feature gives
/// `J_T` for every sample at once, and one forward-Laplacian sweep
/// ([`batched_weighted_laplacian`] with `h ≡ 1`) each feature's Laplacians. The `k×k` system is solved in
/// `f64` by Cholesky.
///
/// Standard errors come from the sandwich (Godambe) formula. θ̂ solves the
/// estimating equation `Σ_n ω_n ψ_n(θ) = 0` with `ψ_n(θ) = A_n θ - b_n`
/// (`A_n = J_T(x_n) J_T(x_n)ᵀ`, `b_n = ΔT(x_n)`: `ψ_n` is the θ-gradient of
/// the per-sample loss), so to first order
/// `Cov(θ̂) ≈ A⁻¹ (Σ_n ω_n² ψ_n ψ_nᵀ) A⁻¹`, which for equal weights is
/// `A⁻¹ (Σ_n ψ_n ψ_nᵀ / N) A⁻¹ / N`. This treats the samples as independent
/// draws and the weights as fixed; it shrinks like `1/√N`.
///
/// # Errors
///
/// [`Error::Shape`] if `data` is not `[N, d]` with `N ≥ 1`, the weights are
/// not `[N]`, or the features of the batch are not `[N, k]`;
/// [`Error::InvalidData`] if `data` or a weight is not finite, a weight is
/// negative, or the weights sum to zero;
/// [`Error::Numerical`] if `A` or `b` is not finite, or `A` is singular (the
/// feature gradients are linearly dependent on the data, for instance a
/// feature that is constant in `x`, or fewer distinct samples than needed).
///
/// # Examples
///
/// Gaussian data and features `T(x) = (x, x²/2)`: score matching gives
/// exactly the maximum-likelihood `θ̂ = (-x̄/s², 1/s²)` (`s²` the `1/N`
/// variance).
///
/// ```
/// use scoretape::model::{closed_form_score_matching, LinearExpFamily};
/// use scoretape::{Tensor, Var};
/// let model = LinearExpFamily::<f64>::new(1, 2, |x: Var<'_, f64>| {
///     Var::concat(&[x, x.square() * 0.5], 1)
/// })
/// .unwrap();
/// let data = Tensor::from_vec(&[4, 1], vec![1.0, 2.0, 4.0, 5.0]).unwrap();
/// let fit = closed_form_score_matching(&model, &data, None).unwrap();
/// let (mean, variance) = (3.0, 2.5);
/// assert!((fit.theta.data()[0] + mean / variance).abs() < 1e-12);
/// assert!((fit.theta.data()[1] - 1.0 / variance).abs() < 1e-12);
/// // A constant feature has no gradient: A is singular.
/// let flat = LinearExpFamily::<f64>::new(1, 2, |x: Var<'_, f64>| {
///     Var::concat(&[x, x * 0.0 + 1.0], 1)
/// })
/// .unwrap();
/// assert!(closed_form_score_matching(&flat, &data, None).is_err());
/// ```
pub fn closed_form_score_matching<T: Real>(
    model: &LinearExpFamily<T>,
    data: &Tensor<T>,
    weights: Option<&Tensor<T>>,
) -> Result<ClosedFormFit<T>, Error> {
    closed_form(model, data, weights, None)
}

/// Fits a [`LinearExpFamily`] on `[0, ∞)ᵈ` by generalized score matching
/// ([`generalized_score_matching`](crate::objective::generalized_score_matching))
/// in closed form: `θ̂ = A⁻¹b` with
/// `A = mean_n J_T(x_n) diag(h(x_n)) J_T(x_n)ᵀ` and
/// `b_i = mean_n Σⱼ [h(x_nj) ∂²ⱼT_i(x_n) + h'(x_nj) ∂ⱼT_i(x_n)]`.
///
/// The derivation is that of [`closed_form_score_matching`] with the weights:
/// `∂ⱼE = Σ_i θ_i ∂ⱼT_i`, so `Σⱼ ½h_j(∂ⱼE)² = ½θᵀA_nθ`, and the other two
/// terms of `ℓ` are linear in θ, `-θᵀb_n`; hence `J(θ) = ½θᵀAθ - bᵀθ`. The
/// weighted Laplacian `Σⱼ h_j ∂²ⱼT_i` is one forward-Laplacian sweep seeded
/// with `√h` ([`batched_weighted_laplacian`]); the sandwich standard errors,
/// the weights and the errors are as there. With `h ≡ 1` (no boundary) this
/// is [`closed_form_score_matching`], by the same code.
///
/// # Errors
///
/// Those of [`closed_form_score_matching`], and [`Error::InvalidData`] for a
/// negative entry of `data` or a bad `min:C` weight.
///
/// # Examples
///
/// An exponential distribution `p(x) ∝ exp(-λx)` on `[0, ∞)`, `T(x) = x`:
/// with `h = x`, `A = mean x`, `b = mean 1 = 1`, so `λ̂ = 1/x̄`, the
/// maximum-likelihood estimate. (Exact score matching has `A = 1`, `b = 0`:
/// `λ̂ = 0`, the boundary ignored.)
///
/// ```
/// use scoretape::model::{closed_form_generalized_score_matching, LinearExpFamily};
/// use scoretape::objective::ScoreWeight;
/// use scoretape::{Tensor, Var};
/// let family = LinearExpFamily::<f64>::new(1, 1, |x: Var<'_, f64>| x).unwrap();
/// let data = Tensor::from_vec(&[4, 1], vec![0.5, 1.0, 2.0, 0.5]).unwrap();
/// let fit = closed_form_generalized_score_matching(&family, &data, None, ScoreWeight::X).unwrap();
/// assert!((fit.theta.data()[0] - 1.0).abs() < 1e-12); // x̄ = 1
/// let negative = Tensor::from_vec(&[1, 1], vec![-0.5]).unwrap();
/// assert!(closed_form_generalized_score_matching(&family, &negative, None, ScoreWeight::X).is_err());
/// ```
pub fn closed_form_generalized_score_matching<T: Real>(
    model: &LinearExpFamily<T>,
    data: &Tensor<T>,
    weights: Option<&Tensor<T>>,
    weight: ScoreWeight,
) -> Result<ClosedFormFit<T>, Error> {
    closed_form(model, data, weights, Some(weight))
}

/// The closed-form fit of [`closed_form_score_matching`] (`weight` `None`,
/// `h ≡ 1`) or [`closed_form_generalized_score_matching`].
fn closed_form<T: Real>(
    model: &LinearExpFamily<T>,
    data: &Tensor<T>,
    weights: Option<&Tensor<T>>,
    weight: Option<ScoreWeight>,
) -> Result<ClosedFormFit<T>, Error> {
    let (d, k) = (model.dim, model.num_features);
    let n = match *data.shape() {
        [n, cols] if n > 0 && cols == d => n,
        _ => {
            return Err(Error::Shape(format!(
                "data must be [N, {d}] with N ≥ 1, got {:?}",
                data.shape()
            )))
        }
    };
    if !data.all_finite() {
        return Err(Error::InvalidData(String::from(
            "the data has a NaN or infinite entry",
        )));
    }
    let omega = normalised_weights(weights, n)?;
    let (h, dh) = match weight {
        None => (Tensor::ones(data.shape()), Tensor::zeros(data.shape())),
        Some(weight) => {
            weight.check()?;
            check_nonnegative(data)?;
            weight.evaluate(data)
        }
    };
    let FeatureDerivatives {
        jacobians,
        laplacians: mut per_sample_b,
    } = feature_derivatives(model, data, &h)?;
    let (h, dh) = (to_f64(&h).into_vec(), to_f64(&dh).into_vec());
    // b_n gains Σⱼ h'(x_nj) ∂ⱼT_i(x_n), from the integration by parts of h.
    for (b_i, jacobian) in per_sample_b.iter_mut().zip(&jacobians) {
        for (s, b) in b_i.iter_mut().enumerate() {
            let row = s * d..(s + 1) * d;
            *b += dh[row.clone()]
                .iter()
                .zip(&jacobian[row])
                .map(|(a, b)| a * b)
                .sum::<f64>();
        }
    }

    // A_n[i][j] = Σ_c h(x_nc) ∂_cT_i(x_n) ∂_cT_j(x_n).
    let per_sample_a = |s: usize, i: usize, j: usize| -> f64 {
        let row = s * d..(s + 1) * d;
        jacobians[i][row.clone()]
            .iter()
            .zip(&jacobians[j][row.clone()])
            .zip(&h[row])
            .map(|((p, q), w)| w * p * q)
            .sum()
    };
    let a = Tensor::from_fn(&[k, k], |ij| {
        let (i, j) = (ij / k, ij % k);
        omega
            .iter()
            .enumerate()
            .map(|(s, w)| w * per_sample_a(s, i, j))
            .sum()
    });
    let b = Tensor::from_fn(&[k], |i| {
        omega.iter().zip(&per_sample_b[i]).map(|(w, l)| w * l).sum()
    });
    if !a.all_finite() || !b.all_finite() {
        return Err(Error::Numerical(String::from(
            "A or b is not finite: a feature's derivatives overflow on the data",
        )));
    }
    let factor = cholesky(&a).map_err(|e| {
        Error::Numerical(format!(
            "A = mean J_T J_Tᵀ is singular, so the features' gradients are linearly dependent on the data ({e})"
        ))
    })?;
    let theta = cholesky_solve(&factor, &b)?;

    // The meat of the sandwich: Σ_n ω_n² ψ_n ψ_nᵀ, ψ_n = A_n θ̂ - b_n.
    let psi: Vec<Vec<f64>> = (0..n)
        .map(|s| {
            (0..k)
                .map(|i| {
                    let a_theta: f64 = (0..k)
                        .map(|j| per_sample_a(s, i, j) * theta.data()[j])
                        .sum();
                    a_theta - per_sample_b[i][s]
                })
                .collect()
        })
        .collect();
    let meat = Tensor::from_fn(&[k, k], |ij| {
        let (i, j) = (ij / k, ij % k);
        omega
            .iter()
            .zip(&psi)
            .map(|(w, p)| w * w * p[i] * p[j])
            .sum()
    });
    let a_inverse = cholesky_solve(&factor, &Tensor::eye(k))?;
    let covariance = a_inverse.matmul(&meat).matmul(&a_inverse);
    let standard_errors = Tensor::from_fn(&[k], |i| {
        Float::sqrt(Float::max(covariance.get(&[i, i]), 0.0))
    });
    let loss = -0.5 * b.dot(&theta);
    Ok(ClosedFormFit {
        theta: from_f64(&theta),
        a: from_f64(&a),
        b: from_f64(&b),
        covariance: from_f64(&covariance),
        standard_errors: from_f64(&standard_errors),
        loss: T::cast(loss),
    })
}
