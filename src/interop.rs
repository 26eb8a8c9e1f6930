//! Conversions between [`Tensor`] and the arrays of `ndarray` (feature
//! `ndarray`) and `nalgebra` (feature `nalgebra`).
//!
//! Both crates store elements in one contiguous buffer, so a conversion moves
//! that buffer instead of copying it wherever the element order agrees:
//!
//! | conversion | copies? |
//! |---|---|
//! | `Tensor` → `ndarray::ArrayD` | never (the buffer is moved) |
//! | `ndarray::Array<T, D>` → `Tensor` | only if the array is not in standard (row-major, unsliced) layout |
//! | `&Tensor` → `ndarray::ArrayViewD` | never (a view of the buffer) |
//! | `Tensor` ↔ `nalgebra::DVector` | never (a vector's order is the same in both) |
//! | `Tensor` ↔ `nalgebra::DMatrix` | always: nalgebra stores matrices column by column, a `Tensor` row by row |
//!
//! ```
//! # #[cfg(feature = "ndarray")] {
//! use scoretape::Tensor;
//! let t = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
//! let a: ndarray::ArrayD<f64> = t.clone().into();
//! assert_eq!(a[[1, 0]], 3.0);
//! assert_eq!(Tensor::from(a), t);
//! # }
//! # #[cfg(feature = "nalgebra")] {
//! use scoretape::Tensor;
//! let m = nalgebra::DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 3.0, 4.0]);
//! let t = Tensor::from(m.clone());
//! assert_eq!(t[[0, 1]], 2.0);
//! assert_eq!(nalgebra::DMatrix::try_from(t).unwrap(), m);
//! # }
//! ```

use crate::real::Real;
use crate::tensor::Tensor;

#[cfg(feature = "ndarray")]
mod with_ndarray {
    use super::{Real, Tensor};
    use alloc::vec::Vec;
    use ndarray::{ArrayBase, ArrayD, ArrayViewD, Dimension, IxDyn, OwnedRepr};

    /// Moves the buffer: no copy.
    ///
    /// ```
    /// let a: ndarray::ArrayD<f64> = scoretape::Tensor::vector(&[1.0, 2.0]).into();
    /// assert_eq!(a.shape(), &[2]);
    /// ```
    impl<T: Real> From<Tensor<T>> for ArrayD<T> {
        fn from(t: Tensor<T>) -> Self {
            let shape = t.shape().to_vec();
            ArrayD::from_shape_vec(IxDyn(&shape), t.into_vec())
                .expect("a tensor's data fills its shape")
        }
    }

    /// Moves the buffer when the array is in standard layout (row-major and
    /// not a slice with gaps); otherwise copies the elements in row-major order.
    ///
    /// ```
    /// use ndarray::{array, s};
    /// use scoretape::Tensor;
    /// let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    /// assert_eq!(Tensor::from(a.clone()).data(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    /// // Transposed: not standard layout, so the elements are copied in order.
    /// assert_eq!(Tensor::from(a.reversed_axes()).data(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// ```
    impl<T: Real, D: Dimension> From<ArrayBase<OwnedRepr<T>, D>> for Tensor<T> {
        fn from(a: ArrayBase<OwnedRepr<T>, D>) -> Self {
            let shape = a.shape().to_vec();
            let data: Vec<T> = if a.is_standard_layout() {
                let (data, offset) = a.into_raw_vec_and_offset();
                match offset {
                    Some(0) | None => data,
                    Some(start) => data[start..].to_vec(),
                }
            } else {
                a.iter().copied().collect()
            };
            Tensor::from_vec(&shape, data).expect("an array's elements fill its shape")
        }
    }

    /// A view of the tensor's buffer: no copy.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let t = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    /// let view = ndarray::ArrayViewD::from(&t);
    /// assert_eq!(view.sum(), 10.0);
    /// ```
    impl<'a, T: Real> From<&'a Tensor<T>> for ArrayViewD<'a, T> {
        fn from(t: &'a Tensor<T>) -> Self {
            ArrayViewD::from_shape(IxDyn(t.shape()), t.data())
                .expect("a tensor's data fills its shape")
        }
    }
}

#[cfg(feature = "nalgebra")]
mod with_nalgebra {
    use super::{Real, Tensor};
    use crate::error::Error;
    use alloc::format;
    use nalgebra::{DMatrix, DVector};

    /// Copies, reordering nalgebra's column-major storage into row-major.
    ///
    /// ```
    /// let m = nalgebra::DMatrix::from_row_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    /// let t = scoretape::Tensor::from(m);
    /// assert_eq!(t.shape(), &[2, 3]);
    /// assert_eq!(t.data(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    /// ```
    impl<T: Real> From<DMatrix<T>> for Tensor<T> {
        fn from(m: DMatrix<T>) -> Self {
            let (rows, cols) = m.shape();
            Tensor::from_fn(&[rows, cols], |k| m[(k / cols, k % cols)])
        }
    }

    /// Copies a 2-D tensor into column-major storage.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if the tensor is not 2-D.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let t = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    /// let m = nalgebra::DMatrix::try_from(t).unwrap();
    /// assert_eq!(m[(1, 0)], 3.0);
    /// assert!(nalgebra::DMatrix::try_from(Tensor::vector(&[1.0])).is_err());
    /// ```
    impl<T: Real> TryFrom<Tensor<T>> for DMatrix<T> {
        type Error = Error;
        fn try_from(t: Tensor<T>) -> Result<Self, Error> {
            match *t.shape() {
                [rows, cols] => Ok(DMatrix::from_row_slice(rows, cols, t.data())),
                _ => Err(Error::Shape(format!(
                    "a nalgebra matrix needs a 2-D tensor, not shape {:?}",
                    t.shape()
                ))),
            }
        }
    }

    /// Moves the buffer: no copy.
    ///
    /// ```
    /// let t = scoretape::Tensor::from(nalgebra::DVector::from_vec(vec![1.0, 2.0]));
    /// assert_eq!(t.shape(), &[2]);
    /// ```
    impl<T: Real> From<DVector<T>> for Tensor<T> {
        fn from(v: DVector<T>) -> Self {
            let data: alloc::vec::Vec<T> = v.data.into();
            Tensor::from_vec(&[data.len()], data).expect("a vector fills shape [n]")
        }
    }

    /// Moves the buffer: no copy.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if the tensor is not 1-D.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let v = nalgebra::DVector::try_from(Tensor::vector(&[1.0, 2.0])).unwrap();
    /// assert_eq!(v.len(), 2);
    /// ```
    impl<T: Real> TryFrom<Tensor<T>> for DVector<T> {
        type Error = Error;
        fn try_from(t: Tensor<T>) -> Result<Self, Error> {
            if t.ndim() != 1 {
                return Err(Error::Shape(format!(
                    "a nalgebra vector needs a 1-D tensor, not shape {:?}",
                    t.shape()
                )));
            }
            Ok(DVector::from_vec(t.into_vec()))
        }
    }
}
