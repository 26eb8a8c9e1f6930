//! Small dense linear algebra in `f64`: Cholesky and LU factorisations and the
//! solves built on them. The models need them for a few `k×k` systems (the
//! closed-form score-matching estimator, factorising a given precision), where
//! a textbook algorithm is clear and fast enough; big systems are not their job.
//!
//! Matrices are row-major [`Tensor<f64>`]s of shape `[n, n]`; a right-hand side
//! is a vector `[n]` or a matrix `[n, m]` (one system per column).

use crate::error::Error;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;
use num_traits::Float;

/// The side of a square matrix, or an [`Error::Shape`] naming `what`.
fn square_side(a: &Tensor<f64>, what: &str) -> Result<usize, Error> {
    match *a.shape() {
        [r, c] if r == c => Ok(r),
        _ => Err(Error::Shape(format!(
            "{what} needs a square matrix, got shape {:?}",
            a.shape()
        ))),
    }
}

/// The number of right-hand sides in `b` (a vector `[n]` or a matrix `[n, m]`).
fn right_hand_sides(b: &Tensor<f64>, n: usize, what: &str) -> Result<usize, Error> {
    match *b.shape() {
        [r] if r == n => Ok(1),
        [r, m] if r == n => Ok(m),
        _ => Err(Error::Shape(format!(
            "{what}: a {n}×{n} system needs a right-hand side [{n}] or [{n}, m], got {:?}",
            b.shape()
        ))),
    }
}

fn check_finite(a: &Tensor<f64>, what: &str) -> Result<(), Error> {
    if a.all_finite() {
        Ok(())
    } else {
        Err(Error::InvalidData(format!(
            "{what}: the matrix has a NaN or infinite entry"
        )))
    }
}

/// The Cholesky factor of a symmetric positive definite matrix: the
/// lower-triangular `L` with positive diagonal such that `A = L Lᵀ`.
///
/// Only the lower triangle of `A` is read. The factorisation is the classical
/// column-by-column one, `L_jj = √(A_jj - Σ_{k<j} L_jk²)`,
/// `L_ij = (A_ij - Σ_{k<j} L_ik L_jk) / L_jj` for `i > j`.
///
/// # Errors
///
/// [`Error::Shape`] if `A` is not square; [`Error::InvalidData`] if it has a
/// non-finite entry; [`Error::Numerical`] if it is not positive definite to
/// working precision (a pivot `A_jj - Σ L_jk²` at or below
/// `n·ε·max_i |A_ii|`, which includes singular and indefinite matrices).
///
/// # Examples
///
/// ```
/// use scoretape::model::linalg::cholesky;
/// use scoretape::Tensor;
/// let a = Tensor::from_rows(&[vec![4.0, 2.0], vec![2.0, 5.0]]).unwrap();
/// let l = cholesky(&a).unwrap();
/// assert_eq!(l.data(), &[2.0, 0.0, 1.0, 2.0]);
/// let indefinite = Tensor::from_rows(&[vec![1.0, 2.0], vec![2.0, 1.0]]).unwrap();
/// assert!(cholesky(&indefinite).is_err());
/// ```
pub fn cholesky(a: &Tensor<f64>) -> Result<Tensor<f64>, Error> {
    let n = square_side(a, "cholesky")?;
    check_finite(a, "cholesky")?;
    let scale = (0..n)
        .map(|i| Float::abs(a.get(&[i, i])))
        .fold(0.0, Float::max);
    let threshold = n as f64 * f64::EPSILON * scale;
    let mut l = Tensor::<f64>::zeros(&[n, n]);
    for j in 0..n {
        let pivot = a.get(&[j, j]) - (0..j).map(|k| Float::powi(l.get(&[j, k]), 2)).sum::<f64>();
        if pivot.is_nan() || pivot <= threshold {
            return Err(Error::Numerical(format!(
                "the matrix is not positive definite: pivot {j} is {pivot:e}"
            )));
        }
        let diagonal = Float::sqrt(pivot);
        l.data_mut()[j * n + j] = diagonal;
        for i in j + 1..n {
            let dot: f64 = (0..j).map(|k| l.get(&[i, k]) * l.get(&[j, k])).sum();
            l.data_mut()[i * n + j] = (a.get(&[i, j]) - dot) / diagonal;
        }
    }
    Ok(l)
}

/// Solves `L Lᵀ X = B` given the Cholesky factor `L` of [`cholesky`]: a
/// forward substitution `L Y = B`, then a backward one `Lᵀ X = Y`. `X` has the
/// shape of `B`.
///
/// # Errors
///
/// [`Error::Shape`] if `L` is not square or `B` does not match it.
///
/// # Examples
///
/// ```
/// use scoretape::model::linalg::{cholesky, cholesky_solve};
/// use scoretape::Tensor;
/// let a = Tensor::from_rows(&[vec![4.0, 2.0], vec![2.0, 5.0]]).unwrap();
/// let x = cholesky_solve(&cholesky(&a).unwrap(), &Tensor::vector(&[6.0, 7.0])).unwrap();
/// assert!(x.max_abs_diff(&Tensor::vector(&[1.0, 1.0])) < 1e-15);
/// ```
pub fn cholesky_solve(l: &Tensor<f64>, b: &Tensor<f64>) -> Result<Tensor<f64>, Error> {
    let n = square_side(l, "cholesky_solve")?;
    let m = right_hand_sides(b, n, "cholesky_solve")?;
    let mut x = b.clone();
    for col in 0..m {
        let at = |i: usize| i * m + col;
        for i in 0..n {
            let dot: f64 = (0..i).map(|k| l.get(&[i, k]) * x.data()[at(k)]).sum();
            x.data_mut()[at(i)] = (x.data()[at(i)] - dot) / l.get(&[i, i]);
        }
        for i in (0..n).rev() {
            let dot: f64 = (i + 1..n).map(|k| l.get(&[k, i]) * x.data()[at(k)]).sum();
            x.data_mut()[at(i)] = (x.data()[at(i)] - dot) / l.get(&[i, i]);
        }
    }
    Ok(x)
}

/// Solves `A X = B` for a general square `A` by LU factorisation with partial
/// pivoting (at each column the row with the largest remaining entry is swapped
/// up, which keeps the multipliers at most 1 in size). `X` has the shape of `B`.
///
/// # Errors
///
/// [`Error::Shape`] if `A` is not square or `B` does not match it;
/// [`Error::InvalidData`] if `A` or `B` has a non-finite entry;
/// [`Error::Numerical`] if `A` is singular to working precision (a pivot at or
/// below `n·ε·max|A_ij|`).
///
/// # Examples
///
/// ```
/// use scoretape::model::linalg::lu_solve;
/// use scoretape::Tensor;
/// let a = Tensor::from_rows(&[vec![0.0, 2.0], vec![1.0, 1.0]]).unwrap();
/// let x = lu_solve(&a, &Tensor::vector(&[4.0, 3.0])).unwrap();
/// assert_eq!(x.data(), &[1.0, 2.0]);
/// let singular = Tensor::from_rows(&[vec![1.0, 2.0], vec![2.0, 4.0]]).unwrap();
/// assert!(lu_solve(&singular, &Tensor::vector(&[1.0, 1.0])).is_err());
/// ```
pub fn lu_solve(a: &Tensor<f64>, b: &Tensor<f64>) -> Result<Tensor<f64>, Error> {
    let n = square_side(a, "lu_solve")?;
    let m = right_hand_sides(b, n, "lu_solve")?;
    check_finite(a, "lu_solve")?;
    check_finite(b, "lu_solve")?;
    let threshold = n as f64
        * f64::EPSILON
        * a.data()
            .iter()
            .fold(0.0, |s, &v| Float::max(Float::abs(v), s));
    // Work on the augmented matrix [A | B], eliminating below the diagonal.
    let mut rows: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let mut row = a.row(i).to_vec();
            row.extend_from_slice(&b.data()[i * m..(i + 1) * m]);
            row
        })
        .collect();
    for j in 0..n {
        let best = (j..n)
            .max_by(|&p, &q| Float::abs(rows[p][j]).total_cmp(&Float::abs(rows[q][j])))
            .unwrap_or(j);
        if Float::abs(rows[best][j]) <= threshold {
            return Err(Error::Numerical(format!(
                "the matrix is singular: no usable pivot in column {j}"
            )));
        }
        rows.swap(j, best);
        let (done, below) = rows.split_at_mut(j + 1);
        let pivot_row = &done[j];
        for row in below {
            let factor = row[j] / pivot_row[j];
            for (entry, pivot_entry) in row[j..].iter_mut().zip(&pivot_row[j..]) {
                *entry -= factor * pivot_entry;
            }
        }
    }
    let mut x = Tensor::zeros(b.shape());
    for col in 0..m {
        for i in (0..n).rev() {
            let dot: f64 = (i + 1..n).map(|k| rows[i][k] * x.data()[k * m + col]).sum();
            x.data_mut()[i * m + col] = (rows[i][n + col] - dot) / rows[i][i];
        }
    }
    Ok(x)
}

/// The inverse of a square matrix, by [`lu_solve`] against the identity.
///
/// # Errors
///
/// As for [`lu_solve`].
///
/// # Examples
///
/// ```
/// use scoretape::model::linalg::inverse;
/// use scoretape::Tensor;
/// let a = Tensor::from_rows(&[vec![2.0, 0.0], vec![0.0, 4.0]]).unwrap();
/// assert_eq!(inverse(&a).unwrap().data(), &[0.5, 0.0, 0.0, 0.25]);
/// ```
pub fn inverse(a: &Tensor<f64>) -> Result<Tensor<f64>, Error> {
    let n = square_side(a, "inverse")?;
    lu_solve(a, &Tensor::eye(n))
}

/// Converts a tensor of any [`Real`](crate::Real) to `f64`, exactly.
pub(crate) fn to_f64<T: crate::Real>(t: &Tensor<T>) -> Tensor<f64> {
    Tensor::from_fn(t.shape(), |i| t.data()[i].as_f64())
}

/// Converts an `f64` tensor to `T`, rounding if `T` is narrower.
pub(crate) fn from_f64<T: crate::Real>(t: &Tensor<f64>) -> Tensor<T> {
    Tensor::from_fn(t.shape(), |i| T::cast(t.data()[i]))
}

/// Validates a vector `[d]` and the matrix `[d, d]` that goes with it (a mean
/// and a precision, a bias and a coupling): both finite, the matrix symmetric
/// to within `√ε·max|M|`, ε the machine epsilon of `T`. Returns `d`, the
/// matrix in `f64`, and that tolerance, for any further checks.
pub(crate) fn check_vector_and_symmetric<T: crate::Real>(
    (vector_name, vector): (&str, &Tensor<T>),
    (matrix_name, matrix): (&str, &Tensor<T>),
) -> Result<(usize, Tensor<f64>, f64), Error> {
    let [d] = *vector.shape() else {
        return Err(Error::Shape(format!(
            "the {vector_name} must be a vector [d], got shape {:?}",
            vector.shape()
        )));
    };
    if d == 0 {
        return Err(Error::Shape(format!(
            "the {vector_name} is empty; a model needs a dimension of at least 1"
        )));
    }
    if matrix.shape() != [d, d] {
        return Err(Error::Shape(format!(
            "a {vector_name} of dimension {d} needs a {matrix_name} [{d}, {d}], got shape {:?}",
            matrix.shape()
        )));
    }
    if !vector.all_finite() || !matrix.all_finite() {
        return Err(Error::InvalidData(format!(
            "the {vector_name} or {matrix_name} has a NaN or infinite entry"
        )));
    }
    let m = to_f64(matrix);
    let scale = m
        .data()
        .iter()
        .fold(0.0, |s, &v| Float::max(Float::abs(v), s));
    let tolerance = T::epsilon().sqrt().as_f64() * scale;
    for i in 0..d {
        for j in 0..i {
            if Float::abs(m.get(&[i, j]) - m.get(&[j, i])) > tolerance {
                return Err(Error::InvalidData(format!(
                    "the {matrix_name} is not symmetric: entries ({i}, {j}) and ({j}, {i}) differ"
                )));
            }
        }
    }
    Ok((d, m, tolerance))
}

/// The eigen-decomposition `A = V diag(λ) Vᵀ` of a symmetric matrix, by the
/// cyclic Jacobi method: repeated plane rotations, each zeroing one
/// off-diagonal pair, until the off-diagonal part is below `ε·‖A‖_F`.
/// Returns the eigenvalues in ascending order and `V` with the matching
/// orthonormal eigenvectors as its **columns**. Clear and accurate (to a few
/// ε relative to ‖A‖), and fast enough for the `d ≲ 100` it is used at
/// (PCA whitening of a data set's covariance).
///
/// Only the symmetric part `½(A + Aᵀ)` is used.
///
/// # Errors
///
/// [`Error::Shape`] if `A` is not square; [`Error::InvalidData`] if it has a
/// non-finite entry; [`Error::Numerical`] if 100 sweeps do not converge
/// (which does not happen for finite symmetric input).
///
/// # Examples
///
/// ```
/// use scoretape::model::linalg::symmetric_eigen;
/// use scoretape::Tensor;
/// let a = Tensor::from_rows(&[vec![2.0, 1.0], vec![1.0, 2.0]]).unwrap();
/// let (values, vectors) = symmetric_eigen(&a).unwrap();
/// assert!((values.data()[0] - 1.0).abs() < 1e-14 && (values.data()[1] - 3.0).abs() < 1e-14);
/// // A v = λ v for the second column.
/// let v = [vectors.get(&[0, 1]), vectors.get(&[1, 1])];
/// assert!((2.0 * v[0] + v[1] - 3.0 * v[0]).abs() < 1e-14);
/// ```
pub fn symmetric_eigen(a: &Tensor<f64>) -> Result<(Tensor<f64>, Tensor<f64>), Error> {
    let n = square_side(a, "symmetric_eigen")?;
    check_finite(a, "symmetric_eigen")?;
    let mut m: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| 0.5 * (a.get(&[i, j]) + a.get(&[j, i])))
                .collect()
        })
        .collect();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    let norm: f64 = m.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
    let off = |m: &Vec<Vec<f64>>| -> f64 {
        let mut s = 0.0;
        for (i, row) in m.iter().enumerate() {
            for (j, x) in row.iter().enumerate() {
                if i != j {
                    s += x * x;
                }
            }
        }
        s.sqrt()
    };
    let mut sweeps = 0;
    while off(&m) > f64::EPSILON * norm {
        sweeps += 1;
        if sweeps > 100 {
            return Err(Error::Numerical(
                "symmetric_eigen: Jacobi sweeps did not converge".into(),
            ));
        }
        for p in 0..n {
            for q in p + 1..n {
                if m[p][q] == 0.0 {
                    continue;
                }
                // The rotation by θ with cot 2θ = (a_qq − a_pp) / 2a_pq zeroes
                // a_pq; t = tan θ is the smaller root, for stability.
                let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A ← Jᵀ A J: columns p and q, then rows p and q (p < q).
                for row in m.iter_mut() {
                    let (mkp, mkq) = (row[p], row[q]);
                    row[p] = c * mkp - s * mkq;
                    row[q] = s * mkp + c * mkq;
                }
                let (above, from_q) = m.split_at_mut(q);
                for (mpk, mqk) in above[p].iter_mut().zip(from_q[0].iter_mut()) {
                    let (a, b) = (*mpk, *mqk);
                    *mpk = c * a - s * b;
                    *mqk = s * a + c * b;
                }
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[i][i].total_cmp(&m[j][j]));
    let values = Tensor::from_fn(&[n], |k| m[order[k]][order[k]]);
    let vectors = Tensor::from_fn(&[n, n], |k| v[k / n][order[k % n]]);
    Ok((values, vectors))
}

/// The column means `x̄` (`[d]`) and the covariance
/// `C = (1/n) Σ_b (x_b − x̄)(x_b − x̄)ᵀ` (`[d, d]`, divisor `n`: the
/// maximum-likelihood estimate) of the rows of `x` (`[n, d]`).
///
/// # Errors
///
/// [`Error::Shape`] if `x` is not a matrix; [`Error::InvalidData`] if it has
/// fewer than 2 rows, no columns, or a non-finite entry.
///
/// # Examples
///
/// ```
/// use scoretape::model::linalg::mean_and_covariance;
/// use scoretape::Tensor;
/// let x = Tensor::from_rows(&[vec![1.0, 0.0], vec![3.0, 2.0]]).unwrap();
/// let (mean, c) = mean_and_covariance(&x).unwrap();
/// assert_eq!(mean.data(), &[2.0, 1.0]);
/// assert_eq!(c.data(), &[1.0, 1.0, 1.0, 1.0]);
/// ```
pub fn mean_and_covariance(x: &Tensor<f64>) -> Result<(Tensor<f64>, Tensor<f64>), Error> {
    let [n, d] = *x.shape() else {
        return Err(Error::Shape(format!(
            "the data must be a matrix [n, d], got shape {:?}",
            x.shape()
        )));
    };
    if n < 2 || d == 0 {
        return Err(Error::InvalidData(format!(
            "{n} rows of {d} columns: need at least 2 rows to estimate a scale"
        )));
    }
    if !x.all_finite() {
        return Err(Error::InvalidData(
            "the data has a NaN or infinite entry".into(),
        ));
    }
    let mean = x.sum_axis(0).map(|v| v / n as f64);
    let centred = x.zip_map(&mean, |a, b| a - b);
    let covariance = centred
        .matmul_t(&centred, true, false)
        .map(|v| v / n as f64);
    Ok((mean, covariance))
}
