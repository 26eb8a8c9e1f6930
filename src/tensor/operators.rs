//! Arithmetic operators, indexing and iteration for [`Tensor`], shaped like
//! the ones on [`crate::Var`]: `+ - * /` broadcast like NumPy and accept
//! plain numbers on either side, `-t` negates, `t[[i, j]]` reads one element.

use super::Tensor;
use crate::real::Real;
use core::ops::{Index, IndexMut};

macro_rules! tensor_operator {
    ($trait:ident, $method:ident, $op:tt) => {
        /// Element-wise, broadcasting the shapes like NumPy.
        ///
        /// # Panics
        ///
        /// If the shapes do not broadcast together.
        impl<T: Real> core::ops::$trait<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                self.zip_map(rhs, |a, b| a $op b)
            }
        }
        impl<T: Real> core::ops::$trait<Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                self $op &rhs
            }
        }
        impl<T: Real> core::ops::$trait<&Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                &self $op rhs
            }
        }
        impl<T: Real> core::ops::$trait<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                &self $op &rhs
            }
        }
        /// Every element with the number.
        impl<T: Real> core::ops::$trait<T> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.map(|a| a $op rhs)
            }
        }
        impl<T: Real> core::ops::$trait<T> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                &self $op rhs
            }
        }
    };
}

tensor_operator!(Add, add, +);
tensor_operator!(Sub, sub, -);
tensor_operator!(Mul, mul, *);
tensor_operator!(Div, div, /);

/// `number ∘ tensor` for the two float types (a generic `T ∘ Tensor<T>` is
/// not allowed by Rust's coherence rules).
macro_rules! number_lhs_operators {
    ($($t:ty),*) => {$(
        number_lhs_operators!(@one $t, Add, add, +);
        number_lhs_operators!(@one $t, Sub, sub, -);
        number_lhs_operators!(@one $t, Mul, mul, *);
        number_lhs_operators!(@one $t, Div, div, /);
    )*};
    (@one $t:ty, $trait:ident, $method:ident, $op:tt) => {
        impl core::ops::$trait<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn $method(self, rhs: &Tensor<$t>) -> Tensor<$t> {
                rhs.map(|b| self $op b)
            }
        }
        impl core::ops::$trait<Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn $method(self, rhs: Tensor<$t>) -> Tensor<$t> {
                self $op &rhs
            }
        }
    };
}

number_lhs_operators!(f32, f64);

impl<T: Real> core::ops::Neg for &Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        self.map(|a| -a)
    }
}

impl<T: Real> core::ops::Neg for Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        -&self
    }
}

impl<T: Real> Tensor<T> {
    /// The row-major offset of a multi-index.
    fn offset(&self, index: &[usize]) -> usize {
        assert!(
            index.len() == self.ndim(),
            "index: {} indices for a tensor of shape {:?}",
            index.len(),
            self.shape()
        );
        index.iter().zip(self.shape()).fold(0, |flat, (&i, &n)| {
            assert!(
                i < n,
                "index: index {index:?} out of bounds for shape {:?}",
                self.shape()
            );
            flat * n + i
        })
    }

    /// The elements in row-major order.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let m = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    /// assert_eq!(m.iter().sum::<f64>(), 10.0);
    /// ```
    pub fn iter(&self) -> core::slice::Iter<'_, T> {
        self.data().iter()
    }

    /// The rows of a matrix, as slices; for a batch `[B, d]`, the `B` points.
    ///
    /// # Panics
    ///
    /// If the tensor is not 2-D.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let m = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    /// let norms: Vec<f64> = m.rows().map(|r| r.iter().map(|v| v * v).sum()).collect();
    /// assert_eq!(norms, vec![5.0, 25.0]);
    /// ```
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[T]> + '_ {
        assert!(
            self.ndim() == 2,
            "rows: tensor of shape {:?} is not a matrix",
            self.shape()
        );
        let (rows, cols) = (self.shape()[0], self.shape()[1]);
        (0..rows).map(move |i| &self.data()[i * cols..(i + 1) * cols])
    }
}

impl<'a, T: Real> IntoIterator for &'a Tensor<T> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// One element by its multi-index, `t[[i, j]]`; `t[[]]` for a scalar.
///
/// # Panics
///
/// If `N` is not the tensor's rank or an index is out of bounds.
///
/// ```
/// use scoretape::Tensor;
/// let mut m = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
/// assert_eq!(m[[1, 0]], 3.0);
/// m[[0, 1]] = 5.0;
/// assert_eq!(m.data(), &[1.0, 5.0, 3.0, 4.0]);
/// ```
impl<T: Real, const N: usize> Index<[usize; N]> for Tensor<T> {
    type Output = T;
    fn index(&self, index: [usize; N]) -> &T {
        &self.data()[self.offset(&index)]
    }
}

impl<T: Real, const N: usize> IndexMut<[usize; N]> for Tensor<T> {
    fn index_mut(&mut self, index: [usize; N]) -> &mut T {
        let at = self.offset(&index);
        &mut self.data_mut()[at]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn matrix() -> Tensor<f64> {
        Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap()
    }

    #[test]
    fn operators_broadcast_like_zip_map() {
        let m = matrix();
        let row = Tensor::vector(&[10.0, 20.0]);
        assert_eq!((&m + &row).data(), &[11.0, 22.0, 13.0, 24.0]);
        assert_eq!((&m - &row).data(), &[-9.0, -18.0, -7.0, -16.0]);
        assert_eq!((&m * &row).data(), &[10.0, 40.0, 30.0, 80.0]);
        assert_eq!((&row / &m).data(), &[10.0, 10.0, 10.0 / 3.0, 5.0]);
        assert_eq!((m.clone() + row.clone()).shape(), &[2, 2]);
    }

    #[test]
    fn numbers_work_on_either_side() {
        let m = matrix();
        assert_eq!((&m * 2.0).data(), &[2.0, 4.0, 6.0, 8.0]);
        assert_eq!((1.0 - &m).data(), &[0.0, -1.0, -2.0, -3.0]);
        assert_eq!((12.0 / m.clone()).data(), &[12.0, 6.0, 4.0, 3.0]);
        assert_eq!((-m).data(), &[-1.0, -2.0, -3.0, -4.0]);
        let f = Tensor::<f32>::vector(&[1.0, 2.0]);
        assert_eq!((2.0f32 + f).data(), &[3.0, 4.0]);
    }

    #[test]
    #[should_panic(expected = "do not broadcast")]
    fn mismatched_shapes_panic() {
        let _ = matrix() + Tensor::vector(&[1.0, 2.0, 3.0]);
    }

    #[test]
    fn index_reads_and_writes_row_major() {
        let mut t = Tensor::from_fn(&[2, 3, 4], |k| k as f64);
        assert_eq!(t[[1, 2, 3]], 23.0);
        assert_eq!(t[[0, 1, 0]], 4.0);
        t[[1, 0, 1]] = -1.0;
        assert_eq!(t.data()[13], -1.0);
        assert_eq!(Tensor::scalar(7.0)[[]], 7.0);
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn index_out_of_bounds_panics() {
        let _ = matrix()[[2, 0]];
    }

    #[test]
    #[should_panic(expected = "1 indices for a tensor of shape [2, 2]")]
    fn index_of_the_wrong_rank_panics() {
        let _ = matrix()[[0]];
    }

    #[test]
    fn rows_and_iter_walk_the_data() {
        let m = matrix();
        let rows: Vec<&[f64]> = m.rows().collect();
        assert_eq!(rows, vec![&[1.0, 2.0][..], &[3.0, 4.0][..]]);
        assert_eq!((&m).into_iter().copied().collect::<Vec<_>>(), m.data());
    }
}
