//! Reductions: sums over axes, the adjoint of broadcasting.

use super::elementwise::{broadcasts_to, for_each_broadcast};
use super::Tensor;
use crate::real::Real;
use alloc::vec::Vec;

impl<T: Real> Tensor<T> {
    /// Sums over the axes that broadcasting `shape` up to this tensor's shape
    /// would repeat, giving a tensor of exactly `shape`. It is the adjoint of
    /// [`Tensor::broadcast_to`]: ⟨broadcast(u), v⟩ = ⟨u, sum_to(v)⟩.
    ///
    /// # Panics
    ///
    /// If `shape` does not broadcast to this tensor's shape.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let m = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    /// assert_eq!(m.sum_to(&[2]).data(), &[4.0, 6.0]);
    /// assert_eq!(m.sum_to(&[2, 1]).data(), &[3.0, 7.0]);
    /// assert_eq!(m.sum_to(&[]).item(), 10.0);
    /// ```
    pub fn sum_to(&self, shape: &[usize]) -> Self {
        assert!(
            broadcasts_to(shape, &self.shape),
            "sum_to: shape {shape:?} does not broadcast to {:?}",
            self.shape
        );
        if shape == self.shape.as_slice() {
            return self.clone();
        }
        let mut out = Tensor::zeros(shape);
        if shape.iter().product::<usize>() == 1 {
            out.data[0] = self.data.iter().copied().sum();
            return out;
        }
        for_each_broadcast(shape, &self.shape, |i, j| out.data[j] += self.data[i]);
        out
    }

    /// Sums over one axis, removing it.
    ///
    /// # Panics
    ///
    /// If `axis` is out of range.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let m = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    /// assert_eq!(m.sum_axis(1).data(), &[3.0, 7.0]);
    /// ```
    pub fn sum_axis(&self, axis: usize) -> Self {
        assert!(
            axis < self.ndim(),
            "sum_axis: axis {axis} out of range for shape {:?}",
            self.shape
        );
        let mut kept = self.shape.clone();
        kept[axis] = 1;
        let removed: Vec<usize> = self
            .shape
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != axis)
            .map(|(_, &n)| n)
            .collect();
        self.sum_to(&kept).reshape(&removed)
    }

    /// The sum of all elements.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::vector(&[1.0, 2.0, 3.0]).sum(), 6.0);
    /// ```
    pub fn sum(&self) -> T {
        self.data.iter().copied().sum()
    }

    /// The mean of all elements (NaN for an empty tensor).
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::vector(&[1.0, 2.0, 3.0]).mean(), 2.0);
    /// ```
    pub fn mean(&self) -> T {
        self.sum() / T::cast(self.len() as f64)
    }

    /// The inner product ⟨a, b⟩ = Σᵢ aᵢbᵢ of two tensors of the same shape.
    ///
    /// # Panics
    ///
    /// If the shapes differ.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let a = Tensor::vector(&[1.0, 2.0]);
    /// assert_eq!(a.dot(&a), 5.0);
    /// ```
    pub fn dot(&self, other: &Tensor<T>) -> T {
        assert!(
            self.shape == other.shape,
            "dot: shapes {:?} and {:?} differ",
            self.shape,
            other.shape
        );
        self.data
            .iter()
            .zip(&other.data)
            .map(|(&a, &b)| a * b)
            .sum()
    }
}
