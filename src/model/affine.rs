//! An affine input map `z = A(x − m)`: the preprocessing (standardising or
//! PCA whitening) a model was fitted through, kept with the model so that it
//! can be used in the data's original units.
//!
//! A model with energy `E_z` fitted to `z` defines, in the original units,
//!
//! - the energy `E(x) = E_z(A(x − m))`,
//! - the score `∇x log p(x) = Aᵀ s_z(A(x − m))` (the chain rule),
//! - the density `p(x) = p_z(A(x − m)) |det A|`, so
//!   `log p(x) = log p_z(z) + log|det A|` — the Jacobian term that puts a
//!   log-likelihood in the original units.

use super::linalg::{cholesky, inverse, mean_and_covariance, symmetric_eigen};
use crate::error::Error;
use crate::tape::Var;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;
use num_traits::Float;

/// The map `z = A(x − m)` with `m` a `[d]` shift and `A` an invertible
/// `[d, d]` matrix. Batches are rows: `Z = (X − 1mᵀ)Aᵀ`.
///
/// # Examples
///
/// ```
/// use scoretape::model::AffineMap;
/// use scoretape::Tensor;
/// let x = Tensor::from_rows(&[vec![1.0, 10.0], vec![3.0, 30.0]]).unwrap();
/// let map = AffineMap::standardize(&x).unwrap();
/// // Column means (2, 20), standard deviations (1, 10).
/// assert_eq!(map.apply(&x).data(), &[-1.0, -1.0, 1.0, 1.0]);
/// assert!((map.log_abs_det() - (-(10.0f64).ln())).abs() < 1e-12);
/// assert!(map.invert(&map.apply(&x)).max_abs_diff(&x) < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AffineMap {
    shift: Tensor<f64>,
    matrix: Tensor<f64>,
    /// `A⁻¹`, to map samples back to the original units.
    inverse: Tensor<f64>,
    log_abs_det: f64,
}

impl AffineMap {
    /// The map with shift `m` (`[d]`) and matrix `A` (`[d, d]`).
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if the shapes do not fit; [`Error::InvalidData`] if an
    /// entry is not finite; [`Error::Numerical`] if `A` is singular to working
    /// precision.
    ///
    /// ```
    /// use scoretape::model::AffineMap;
    /// use scoretape::Tensor;
    /// let map = AffineMap::new(Tensor::vector(&[1.0]), Tensor::from_rows(&[vec![2.0]]).unwrap()).unwrap();
    /// assert_eq!(map.apply(&Tensor::from_rows(&[vec![4.0]]).unwrap()).data(), &[6.0]);
    /// assert!(AffineMap::new(Tensor::vector(&[0.0]), Tensor::from_rows(&[vec![0.0]]).unwrap()).is_err());
    /// ```
    pub fn new(shift: Tensor<f64>, matrix: Tensor<f64>) -> Result<Self, Error> {
        let [d] = *shift.shape() else {
            return Err(Error::Shape(format!(
                "the shift of an affine map must be a vector [d], got shape {:?}",
                shift.shape()
            )));
        };
        if matrix.shape() != [d, d] {
            return Err(Error::Shape(format!(
                "a shift of dimension {d} needs a matrix [{d}, {d}], got shape {:?}",
                matrix.shape()
            )));
        }
        if !shift.all_finite() || !matrix.all_finite() {
            return Err(Error::InvalidData(
                "the affine map has a NaN or infinite entry".into(),
            ));
        }
        let inverse = inverse(&matrix)
            .map_err(|_| Error::Numerical("the affine map's matrix is singular".into()))?;
        // log|det A| = ½ log det(AAᵀ) = Σ log L_ii with AAᵀ = LLᵀ.
        let gram = matrix.matmul_t(&matrix, false, true);
        let l = cholesky(&gram)
            .map_err(|_| Error::Numerical("the affine map's matrix is singular".into()))?;
        let log_abs_det = (0..d).map(|i| l.get(&[i, i]).ln()).sum();
        Ok(AffineMap {
            shift,
            matrix,
            inverse,
            log_abs_det,
        })
    }

    /// Standardising: `m` the column means of `x` (`[n, d]`) and
    /// `A = diag(1/s_j)`, `s_j` the column standard deviations (divisor `n`),
    /// so every column of `z` has mean 0 and variance 1.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if `x` has fewer than 2 rows or a column is
    /// constant (its standard deviation is not above `1e-12` times its scale).
    ///
    /// ```
    /// use scoretape::model::AffineMap;
    /// use scoretape::Tensor;
    /// let constant = Tensor::from_rows(&[vec![1.0, 5.0], vec![2.0, 5.0]]).unwrap();
    /// assert!(AffineMap::standardize(&constant).unwrap_err().to_string().contains("column 2"));
    /// ```
    pub fn standardize(x: &Tensor<f64>) -> Result<Self, Error> {
        let (mean, covariance) = mean_and_covariance(x)?;
        let d = mean.len();
        let mut diagonal = Vec::with_capacity(d);
        for j in 0..d {
            let variance = covariance.get(&[j, j]);
            let scale = Float::max(mean.data()[j].abs(), 1.0);
            if variance.sqrt() <= 1e-12 * scale {
                return Err(Error::InvalidData(format!(
                    "column {} is constant, so it cannot be standardised (drop it)",
                    j + 1
                )));
            }
            diagonal.push(1.0 / variance.sqrt());
        }
        let matrix = Tensor::from_fn(
            &[d, d],
            |k| {
                if k / d == k % d {
                    diagonal[k / d]
                } else {
                    0.0
                }
            },
        );
        AffineMap::new(mean, matrix)
    }

    /// PCA whitening: `m` the column means of `x` (`[n, d]`) and
    /// `A = Λ^{-1/2} Vᵀ` from the eigen-decomposition `C = VΛVᵀ` of the
    /// covariance (divisor `n`), so `z` has mean 0 and covariance `I`, its
    /// coordinates along the principal axes in ascending order of variance.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] if `x` has fewer than 2 rows or its covariance
    /// is singular (an eigenvalue at or below `1e-12` times the largest: a
    /// column is constant or a linear combination of others).
    ///
    /// ```
    /// use scoretape::model::AffineMap;
    /// use scoretape::Tensor;
    /// let x = Tensor::from_rows(&[vec![0.0, 0.0], vec![2.0, 1.0], vec![1.0, 2.0], vec![3.0, 3.0]]).unwrap();
    /// let z = AffineMap::whiten(&x).unwrap().apply(&x);
    /// let covariance = z.matmul_t(&z, true, false).map(|v| v / 4.0);
    /// assert!(covariance.max_abs_diff(&Tensor::eye(2)) < 1e-12);
    /// ```
    pub fn whiten(x: &Tensor<f64>) -> Result<Self, Error> {
        let (mean, covariance) = mean_and_covariance(x)?;
        let d = mean.len();
        let (values, vectors) = symmetric_eigen(&covariance)?;
        let largest = values.data()[d - 1];
        if values.data()[0] <= 1e-12 * largest {
            return Err(Error::InvalidData(
                "the data's covariance is singular (a column is constant or a linear \
                 combination of others), so it cannot be whitened; try --standardize or \
                 drop the column"
                    .into(),
            ));
        }
        // Row i of A is v_i / √λ_i.
        let matrix = Tensor::from_fn(&[d, d], |k| {
            let (i, j) = (k / d, k % d);
            vectors.get(&[j, i]) / values.data()[i].sqrt()
        });
        AffineMap::new(mean, matrix)
    }

    /// The dimension `d`.
    ///
    /// ```
    /// let map = scoretape::model::AffineMap::identity(3);
    /// assert_eq!(map.dim(), 3);
    /// ```
    pub fn dim(&self) -> usize {
        self.shift.len()
    }

    /// The identity map (`m = 0`, `A = I`).
    ///
    /// ```
    /// let map = scoretape::model::AffineMap::identity(2);
    /// assert_eq!(map.log_abs_det(), 0.0);
    /// ```
    pub fn identity(d: usize) -> Self {
        AffineMap::new(Tensor::zeros(&[d]), Tensor::eye(d)).expect("the identity is invertible")
    }

    /// The shift `m`.
    ///
    /// ```
    /// assert_eq!(scoretape::model::AffineMap::identity(1).shift().data(), &[0.0]);
    /// ```
    pub fn shift(&self) -> &Tensor<f64> {
        &self.shift
    }

    /// The matrix `A`.
    ///
    /// ```
    /// assert_eq!(scoretape::model::AffineMap::identity(1).matrix().data(), &[1.0]);
    /// ```
    pub fn matrix(&self) -> &Tensor<f64> {
        &self.matrix
    }

    /// `log|det A|`, the term `log p(x) = log p_z(A(x − m)) + log|det A|` adds.
    ///
    /// ```
    /// use scoretape::model::AffineMap;
    /// use scoretape::Tensor;
    /// let a = Tensor::from_rows(&[vec![0.0, 2.0], vec![-3.0, 1.0]]).unwrap();
    /// let map = AffineMap::new(Tensor::vector(&[0.0, 0.0]), a).unwrap();
    /// assert!((map.log_abs_det() - 6.0f64.ln()).abs() < 1e-12);
    /// ```
    pub fn log_abs_det(&self) -> f64 {
        self.log_abs_det
    }

    /// `z = A(x − m)` for each row of `x` (`[n, d]`).
    ///
    /// # Panics
    ///
    /// If `x` is not `[n, d]`.
    ///
    /// ```
    /// use scoretape::model::AffineMap;
    /// use scoretape::Tensor;
    /// let map = AffineMap::new(Tensor::vector(&[1.0, 1.0]), Tensor::eye(2)).unwrap();
    /// assert_eq!(map.apply(&Tensor::from_rows(&[vec![1.0, 3.0]]).unwrap()).data(), &[0.0, 2.0]);
    /// ```
    pub fn apply(&self, x: &Tensor<f64>) -> Tensor<f64> {
        self.check_batch("apply", x.shape());
        let centred = x.zip_map(&self.shift, |a, b| a - b);
        centred.matmul_t(&self.matrix, false, true)
    }

    /// `x = m + A⁻¹z` for each row of `z` (`[n, d]`): the inverse of
    /// [`apply`](Self::apply), mapping samples back to the original units.
    ///
    /// # Panics
    ///
    /// If `z` is not `[n, d]`.
    ///
    /// ```
    /// use scoretape::model::AffineMap;
    /// use scoretape::Tensor;
    /// let map = AffineMap::new(Tensor::vector(&[1.0]), Tensor::from_rows(&[vec![2.0]]).unwrap()).unwrap();
    /// assert_eq!(map.invert(&Tensor::from_rows(&[vec![4.0]]).unwrap()).data(), &[3.0]);
    /// ```
    pub fn invert(&self, z: &Tensor<f64>) -> Tensor<f64> {
        self.check_batch("invert", z.shape());
        z.matmul_t(&self.inverse, false, true)
            .zip_map(&self.shift, |a, b| a + b)
    }

    /// `z = A(x − m)` on the tape, so that derivatives with respect to `x`
    /// chain through the map (`∇x = Aᵀ∇z`).
    ///
    /// # Panics
    ///
    /// If `x` is not `[n, d]`.
    ///
    /// ```
    /// use scoretape::model::AffineMap;
    /// use scoretape::{grad, Tape, Tensor};
    /// let map = AffineMap::new(Tensor::vector(&[0.0]), Tensor::from_rows(&[vec![3.0]]).unwrap()).unwrap();
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::from_rows(&[vec![1.0]]).unwrap());
    /// let z = map.apply_var(x);
    /// assert_eq!(grad(z.sum(), &[x]).unwrap()[0].item(), 3.0);
    /// ```
    pub fn apply_var<'t>(&self, x: Var<'t, f64>) -> Var<'t, f64> {
        self.check_batch("apply_var", &x.shape());
        let tape = x.tape();
        let centred = x - tape.constant(self.shift.clone());
        centred.matmul_t(tape.constant(self.matrix.clone()), false, true)
    }

    fn check_batch(&self, who: &str, shape: &[usize]) {
        assert!(
            shape.len() == 2 && shape[1] == self.dim(),
            "AffineMap::{who}: the batch must be [n, {}], got {shape:?}",
            self.dim()
        );
    }
}
