//! Kernels that move elements without arithmetic: transpose, slice, concatenate,
//! gather and its adjoint scatter-add.
//!
//! Each axis operation views the tensor as `outer × axis × inner`, where `outer`
//! is the product of the axes before `axis` and `inner` of those after it.

use super::{numel, Tensor};
use crate::real::Real;

/// `(outer, length, inner)` of `shape` around `axis`.
pub(crate) fn split_at_axis(shape: &[usize], axis: usize, what: &str) -> (usize, usize, usize) {
    assert!(
        axis < shape.len(),
        "{what}: axis {axis} out of range for shape {shape:?}"
    );
    (
        numel(&shape[..axis]),
        shape[axis],
        numel(&shape[axis + 1..]),
    )
}

impl<T: Real> Tensor<T> {
    /// The transpose of a matrix.
    ///
    /// # Panics
    ///
    /// If the tensor is not 2-D.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let m = Tensor::from_rows(&[vec![1.0, 2.0, 3.0]]).unwrap();
    /// assert_eq!(m.transpose().shape(), &[3, 1]);
    /// ```
    pub fn transpose(&self) -> Self {
        assert!(
            self.ndim() == 2,
            "transpose: shape {:?} is not a matrix",
            self.shape
        );
        let (rows, cols) = (self.shape[0], self.shape[1]);
        // Walk the output in row order; blocks keep the strided reads in cache.
        const BLOCK: usize = 32;
        let mut out = Tensor::zeros(&[cols, rows]);
        for r0 in (0..rows).step_by(BLOCK) {
            for c0 in (0..cols).step_by(BLOCK) {
                for r in r0..(r0 + BLOCK).min(rows) {
                    for c in c0..(c0 + BLOCK).min(cols) {
                        out.data[c * rows + r] = self.data[r * cols + c];
                    }
                }
            }
        }
        out
    }

    /// The elements with index `start..end` along `axis` (the same name and
    /// arguments as [`crate::Var::slice`]).
    ///
    /// # Panics
    ///
    /// If `axis` is out of range or `start > end` or `end` exceeds the axis length.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let m = Tensor::from_rows(&[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]).unwrap();
    /// assert_eq!(m.slice(1, 1, 3).data(), &[2.0, 3.0, 5.0, 6.0]);
    /// ```
    pub fn slice(&self, axis: usize, start: usize, end: usize) -> Self {
        let (outer, len, inner) = split_at_axis(&self.shape, axis, "slice");
        assert!(
            start <= end && end <= len,
            "slice: range {start}..{end} out of bounds for axis {axis} of shape {:?}",
            self.shape
        );
        let mut data = super::pool::take(outer * (end - start) * inner);
        for o in 0..outer {
            let base = o * len * inner;
            data.extend_from_slice(&self.data[base + start * inner..base + end * inner]);
        }
        let mut shape = self.shape.clone();
        shape[axis] = end - start;
        Tensor { shape, data }
    }

    /// The old name of [`Tensor::slice`].
    ///
    /// ```
    /// # #![allow(deprecated)]
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::vector(&[1.0, 2.0]).slice_axis(0, 1, 2).data(), &[2.0]);
    /// ```
    #[deprecated(since = "0.2.0", note = "renamed to `Tensor::slice`, as on `Var`")]
    pub fn slice_axis(&self, axis: usize, start: usize, end: usize) -> Self {
        self.slice(axis, start, end)
    }

    /// Joins tensors along `axis`; all other axes must agree.
    ///
    /// # Panics
    ///
    /// If `parts` is empty, or the shapes disagree off `axis`.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let a = Tensor::from_rows(&[vec![1.0], vec![2.0]]).unwrap();
    /// let b = Tensor::from_rows(&[vec![3.0, 4.0], vec![5.0, 6.0]]).unwrap();
    /// let c = Tensor::concat(&[&a, &b], 1);
    /// assert_eq!(c.data(), &[1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
    /// ```
    pub fn concat(parts: &[&Tensor<T>], axis: usize) -> Self {
        assert!(!parts.is_empty(), "concat: no tensors to join");
        let first = &parts[0].shape;
        let (outer, _, inner) = split_at_axis(first, axis, "concat");
        let mut total = 0;
        for p in parts {
            let same_off_axis = p.shape.len() == first.len()
                && p.shape
                    .iter()
                    .zip(first)
                    .enumerate()
                    .all(|(i, (a, b))| i == axis || a == b);
            assert!(
                same_off_axis,
                "concat: shape {:?} does not match {first:?} off axis {axis}",
                p.shape
            );
            total += p.shape[axis];
        }
        let mut data = super::pool::take(outer * total * inner);
        for o in 0..outer {
            for p in parts {
                let chunk = p.shape[axis] * inner;
                data.extend_from_slice(&p.data[o * chunk..(o + 1) * chunk]);
            }
        }
        let mut shape = first.clone();
        shape[axis] = total;
        Tensor { shape, data }
    }

    /// Picks entries along `axis` by index (repeats allowed): output entry `k`
    /// along `axis` is input entry `indices[k]`.
    ///
    /// # Panics
    ///
    /// If `axis` is out of range or an index is out of bounds.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let v = Tensor::vector(&[10.0, 20.0, 30.0]);
    /// assert_eq!(v.gather(0, &[2, 0, 2]).data(), &[30.0, 10.0, 30.0]);
    /// ```
    pub fn gather(&self, axis: usize, indices: &[usize]) -> Self {
        let (outer, len, inner) = split_at_axis(&self.shape, axis, "gather");
        if let Some(&bad) = indices.iter().find(|&&i| i >= len) {
            panic!(
                "gather: index {bad} out of bounds for axis {axis} of shape {:?}",
                self.shape
            );
        }
        let mut data = super::pool::take(outer * indices.len() * inner);
        for o in 0..outer {
            for &i in indices {
                let start = (o * len + i) * inner;
                data.extend_from_slice(&self.data[start..start + inner]);
            }
        }
        let mut shape = self.shape.clone();
        shape[axis] = indices.len();
        Tensor { shape, data }
    }

    /// The adjoint of [`Tensor::gather`]: a tensor with `size` entries along
    /// `axis`, where entry `indices[k]` accumulates this tensor's entry `k`.
    ///
    /// # Panics
    ///
    /// If `axis` is out of range, `indices` does not match the axis length, or an
    /// index is not below `size`.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let g = Tensor::vector(&[1.0, 2.0, 3.0]);
    /// assert_eq!(g.scatter_add(0, &[2, 0, 2], 3).data(), &[2.0, 0.0, 4.0]);
    /// ```
    pub fn scatter_add(&self, axis: usize, indices: &[usize], size: usize) -> Self {
        let (outer, len, inner) = split_at_axis(&self.shape, axis, "scatter_add");
        assert!(
            len == indices.len(),
            "scatter_add: {} indices for axis {axis} of length {len}",
            indices.len()
        );
        if let Some(&bad) = indices.iter().find(|&&i| i >= size) {
            panic!("scatter_add: index {bad} out of bounds for size {size}");
        }
        let mut shape = self.shape.clone();
        shape[axis] = size;
        let mut out = Tensor::zeros(&shape);
        for o in 0..outer {
            for (k, &i) in indices.iter().enumerate() {
                let src = (o * len + k) * inner;
                let dst = (o * size + i) * inner;
                for e in 0..inner {
                    out.data[dst + e] += self.data[src + e];
                }
            }
        }
        out
    }
}
