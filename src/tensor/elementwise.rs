//! Element-wise kernels and NumPy-style broadcasting.
//!
//! Broadcasting aligns shapes at their last axis; an axis of length 1 (or a
//! missing leading axis) is repeated to match the other shape.

use super::{numel, Tensor};
use crate::real::Real;
use alloc::vec;
use alloc::vec::Vec;

/// The shape two shapes broadcast to, or `None` if they are incompatible.
///
/// ```
/// use scoretape::tensor::broadcast_shapes;
/// assert_eq!(broadcast_shapes(&[3, 1], &[4]), Some(vec![3, 4]));
/// assert_eq!(broadcast_shapes(&[3], &[4]), None);
/// ```
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Whether `small` broadcasts to exactly `big`.
pub(crate) fn broadcasts_to(small: &[usize], big: &[usize]) -> bool {
    small.len() <= big.len()
        && small
            .iter()
            .rev()
            .zip(big.iter().rev())
            .all(|(&s, &b)| s == b || s == 1)
}

/// Strides (in elements) with which an index into `big` reads `small` when
/// `small` is broadcast to `big`: 0 along every repeated axis.
fn broadcast_strides(small: &[usize], big: &[usize]) -> Vec<usize> {
    let offset = big.len() - small.len();
    let mut strides = vec![0; big.len()];
    let mut stride = 1;
    for i in (0..small.len()).rev() {
        if small[i] != 1 {
            strides[i + offset] = stride;
        }
        stride *= small[i];
    }
    strides
}

/// Calls `f(i, j)` for every flat index `i` of `big`, in order, with `j` the
/// flat index of the element of `small` that broadcasting maps it to.
pub(crate) fn for_each_broadcast(small: &[usize], big: &[usize], mut f: impl FnMut(usize, usize)) {
    let total = numel(big);
    if total == 0 {
        return;
    }
    if big.is_empty() {
        f(0, 0);
        return;
    }
    let strides = broadcast_strides(small, big);
    let last = big.len() - 1;
    let (inner_len, inner_stride) = (big[last], strides[last]);
    let mut counter = vec![0usize; last];
    let mut base = 0;
    let mut i = 0;
    while i < total {
        for k in 0..inner_len {
            f(i + k, base + k * inner_stride);
        }
        i += inner_len;
        // Advance the odometer over the outer axes.
        for axis in (0..last).rev() {
            counter[axis] += 1;
            base += strides[axis];
            if counter[axis] < big[axis] {
                break;
            }
            base -= strides[axis] * big[axis];
            counter[axis] = 0;
        }
    }
}

impl<T: Real> Tensor<T> {
    /// Applies `f` to every element.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let t = Tensor::vector(&[1.0, 4.0]).map(f64::sqrt);
    /// assert_eq!(t.data(), &[1.0, 2.0]);
    /// ```
    pub fn map(&self, f: impl Fn(T) -> T) -> Self {
        let mut data = super::pool::take(self.data.len());
        data.extend(self.data.iter().map(|&v| f(v)));
        Tensor {
            shape: self.shape.clone(),
            data,
        }
    }

    /// Applies a kernel for whole slices: `kernel(xs, out)` must append one
    /// result per element of `xs` to the empty `out` (as
    /// [`Real::softplus_into`] does).
    ///
    /// # Panics
    ///
    /// If the kernel appends a different number of elements.
    ///
    /// ```
    /// use scoretape::{Real, Tensor};
    /// let t = Tensor::vector(&[0.0, 1.0]).map_slice(f64::exp_into);
    /// assert_eq!(t.data()[0], 1.0);
    /// ```
    pub fn map_slice(&self, kernel: impl FnOnce(&[T], &mut Vec<T>)) -> Self {
        let mut data = super::pool::take(self.data.len());
        kernel(&self.data, &mut data);
        assert_eq!(
            data.len(),
            self.data.len(),
            "map_slice: the kernel wrote {} elements for {}",
            data.len(),
            self.data.len()
        );
        Tensor {
            shape: self.shape.clone(),
            data,
        }
    }

    /// Combines two tensors element by element, broadcasting their shapes.
    ///
    /// # Panics
    ///
    /// If the shapes do not broadcast together.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let a = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    /// let b = Tensor::vector(&[10.0, 20.0]);
    /// assert_eq!(a.zip_map(&b, |x, y| x + y).data(), &[11.0, 22.0, 13.0, 24.0]);
    /// ```
    pub fn zip_map(&self, other: &Tensor<T>, f: impl Fn(T, T) -> T) -> Self {
        if self.shape == other.shape {
            let mut data = super::pool::take(self.data.len());
            data.extend(self.data.iter().zip(&other.data).map(|(&a, &b)| f(a, b)));
            return Tensor {
                shape: self.shape.clone(),
                data,
            };
        }
        let shape = broadcast_shapes(&self.shape, &other.shape).unwrap_or_else(|| {
            panic!(
                "element-wise op: shapes {:?} and {:?} do not broadcast",
                self.shape, other.shape
            )
        });
        // When one operand already has the result's shape, read the other in
        // place through broadcast indexing instead of copying it out.
        let mut data = super::pool::take(numel(&shape));
        // The commonest case, a bias row: the smaller operand is the result's
        // trailing axes, so it lines up with each chunk of the larger one.
        let trailing = |small: &[usize]| {
            let lead = small.iter().take_while(|&&n| n == 1).count();
            small[lead..] == shape[shape.len() - (small.len() - lead)..]
        };
        if shape == self.shape && !other.data.is_empty() && trailing(&other.shape) {
            for chunk in self.data.chunks_exact(other.data.len()) {
                data.extend(chunk.iter().zip(&other.data).map(|(&x, &y)| f(x, y)));
            }
        } else if shape == other.shape && !self.data.is_empty() && trailing(&self.shape) {
            for chunk in other.data.chunks_exact(self.data.len()) {
                data.extend(self.data.iter().zip(chunk).map(|(&x, &y)| f(x, y)));
            }
        } else if shape == self.shape {
            for_each_broadcast(&other.shape, &shape, |i, j| {
                data.push(f(self.data[i], other.data[j]))
            });
        } else if shape == other.shape {
            for_each_broadcast(&self.shape, &shape, |i, j| {
                data.push(f(self.data[j], other.data[i]))
            });
        } else {
            let a = self.broadcast_to(&shape);
            return a.zip_map(other, f);
        }
        Tensor { shape, data }
    }

    /// Repeats the tensor along axes of length 1 (and new leading axes) to `shape`.
    ///
    /// # Panics
    ///
    /// If the tensor's shape does not broadcast to `shape`.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let t = Tensor::vector(&[1.0, 2.0]).broadcast_to(&[2, 2]);
    /// assert_eq!(t.data(), &[1.0, 2.0, 1.0, 2.0]);
    /// ```
    pub fn broadcast_to(&self, shape: &[usize]) -> Self {
        assert!(
            broadcasts_to(&self.shape, shape),
            "broadcast_to: shape {:?} does not broadcast to {shape:?}",
            self.shape
        );
        if self.shape == shape {
            return self.clone();
        }
        let mut data = super::pool::take(numel(shape));
        for_each_broadcast(&self.shape, shape, |_, j| data.push(self.data[j]));
        Tensor {
            shape: shape.to_vec(),
            data,
        }
    }
}
