//! Matrix multiplication, through the cache-blocked SIMD kernel of [`Real::gemm_into`].

use super::Tensor;
use crate::real::Real;

/// Rows, columns and (row, column) strides of a row-major matrix, read as its
/// transpose when `transposed` is set: the transpose is just swapped strides.
fn operand(shape: &[usize], transposed: bool) -> (usize, usize, [isize; 2]) {
    let (r, c) = (shape[0], shape[1]);
    if transposed {
        (c, r, [1, c as isize])
    } else {
        (r, c, [c as isize, 1])
    }
}

impl<T: Real> Tensor<T> {
    /// The matrix product `A·B`.
    ///
    /// # Panics
    ///
    /// If either operand is not 2-D or the inner dimensions differ.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let a = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    /// let b = Tensor::from_rows(&[vec![1.0], vec![1.0]]).unwrap();
    /// assert_eq!(a.matmul(&b).data(), &[3.0, 7.0]);
    /// ```
    pub fn matmul(&self, other: &Tensor<T>) -> Self {
        self.matmul_t(other, false, false)
    }

    /// The matrix product `op(A)·op(B)`, where `op` transposes its operand when
    /// the matching flag is set. No transpose is materialised.
    ///
    /// # Panics
    ///
    /// If either operand is not 2-D or the inner dimensions differ.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let a = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    /// // Aᵀ·A
    /// let ata = a.matmul_t(&a, true, false);
    /// assert_eq!(ata.data(), &[10.0, 14.0, 14.0, 20.0]);
    /// ```
    pub fn matmul_t(&self, other: &Tensor<T>, transpose_a: bool, transpose_b: bool) -> Self {
        assert!(
            self.ndim() == 2 && other.ndim() == 2,
            "matmul: operands of shapes {:?} and {:?} must both be matrices",
            self.shape(),
            other.shape()
        );
        let (m, k, a_strides) = operand(self.shape(), transpose_a);
        let (k2, n, b_strides) = operand(other.shape(), transpose_b);
        assert!(
            k == k2,
            "matmul: inner dimensions differ: {m}×{k} (from {:?}, transposed: {transpose_a}) times {k2}×{n} (from {:?}, transposed: {transpose_b})",
            self.shape(),
            other.shape()
        );
        let mut data = super::pool::take(m * n);
        T::gemm_into(
            m,
            k,
            n,
            self.data(),
            a_strides,
            other.data(),
            b_strides,
            &mut data,
        );
        Tensor {
            shape: alloc::vec![m, n],
            data,
        }
    }
}
