//! Dense row-major tensors and their kernels. No autodiff here: this layer only
//! computes values, and the tape (`crate::tape`) records which kernels ran.
//!
//! A [`Tensor`] is a shape plus a contiguous `Vec` of elements in row-major
//! order. A shape of `[]` is a scalar (one element).

mod display;
mod elementwise;
mod linalg;
mod operators;
mod pool;
mod reduce;
#[cfg(feature = "serde")]
mod serialize;
mod structural;

pub use elementwise::broadcast_shapes;
pub(crate) use pool::give as recycle_buffer;
pub use pool::release_pooled_memory;
pub(crate) use pool::take as pool_take;
pub(crate) use structural::split_at_axis;

use crate::error::Error;
use crate::real::Real;
use alloc::vec;
use alloc::vec::Vec;

/// A dense, row-major, n-dimensional array of `T`.
///
/// # Examples
///
/// ```
/// use scoretape::Tensor;
/// let t = Tensor::from_vec(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
/// assert_eq!(t.shape(), &[2, 3]);
/// assert_eq!(t.get(&[1, 0]), 4.0);
/// assert_eq!(t.sum_axis(0).data(), &[5.0, 7.0, 9.0]);
/// ```
///
/// With the feature `serde`, a tensor serialises as `{"shape": [...], "data":
/// [...]}` (row-major), and deserialising checks that the data fill the shape.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        try_from = "serialize::TensorFields<T>",
        bound(deserialize = "T: Real + serde::Deserialize<'de>")
    )
)]
pub struct Tensor<T> {
    shape: Vec<usize>,
    data: Vec<T>,
}

/// The number of elements of a shape (1 for the scalar shape `[]`).
///
/// ```
/// assert_eq!(scoretape::tensor::numel(&[2, 3, 4]), 24);
/// assert_eq!(scoretape::tensor::numel(&[]), 1);
/// ```
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

impl<T: Real> Tensor<T> {
    /// A tensor with the given shape and row-major data.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if `data.len()` is not the product of `shape`.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert!(Tensor::from_vec(&[2, 2], vec![1.0, 2.0, 3.0]).is_err());
    /// ```
    pub fn from_vec(shape: &[usize], data: Vec<T>) -> Result<Self, Error> {
        if numel(shape) != data.len() {
            return Err(Error::Shape(alloc::format!(
                "shape {shape:?} holds {} elements but {} were given",
                numel(shape),
                data.len()
            )));
        }
        Ok(Tensor {
            shape: shape.to_vec(),
            data,
        })
    }

    /// A matrix from equal-length rows.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if the rows have different lengths.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let m = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    /// assert_eq!(m.shape(), &[2, 2]);
    /// ```
    pub fn from_rows(rows: &[Vec<T>]) -> Result<Self, Error> {
        let cols = rows.first().map_or(0, Vec::len);
        if let Some((i, row)) = rows.iter().enumerate().find(|(_, r)| r.len() != cols) {
            return Err(Error::Shape(alloc::format!(
                "row {i} has {} entries but row 0 has {cols}",
                row.len()
            )));
        }
        let data = rows.iter().flatten().copied().collect();
        Tensor::from_vec(&[rows.len(), cols], data)
    }

    /// A tensor filled with `value`.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::full(&[2], 7.0).data(), &[7.0, 7.0]);
    /// ```
    pub fn full(shape: &[usize], value: T) -> Self {
        let n = numel(shape);
        let mut data = pool::take(n);
        data.resize(n, value);
        Tensor {
            shape: shape.to_vec(),
            data,
        }
    }

    /// A tensor of zeros.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::<f64>::zeros(&[3]).data(), &[0.0; 3]);
    /// ```
    pub fn zeros(shape: &[usize]) -> Self {
        Tensor::full(shape, T::zero())
    }

    /// A tensor of ones.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::<f32>::ones(&[2]).data(), &[1.0, 1.0]);
    /// ```
    pub fn ones(shape: &[usize]) -> Self {
        Tensor::full(shape, T::one())
    }

    /// A scalar (shape `[]`).
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::scalar(2.5).item(), 2.5);
    /// ```
    pub fn scalar(value: T) -> Self {
        Tensor {
            shape: Vec::new(),
            data: vec![value],
        }
    }

    /// A one-dimensional tensor holding `values`.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::vector(&[1.0, 2.0]).shape(), &[2]);
    /// ```
    pub fn vector(values: &[T]) -> Self {
        Tensor {
            shape: vec![values.len()],
            data: values.to_vec(),
        }
    }

    /// The `n×n` identity matrix.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::<f64>::eye(2).data(), &[1.0, 0.0, 0.0, 1.0]);
    /// ```
    pub fn eye(n: usize) -> Self {
        let mut t = Tensor::zeros(&[n, n]);
        for i in 0..n {
            t.data[i * n + i] = T::one();
        }
        t
    }

    /// A tensor of the given shape whose element at flat index `i` is `f(i)`.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let t = Tensor::from_fn(&[3], |i| i as f64);
    /// assert_eq!(t.data(), &[0.0, 1.0, 2.0]);
    /// ```
    pub fn from_fn(shape: &[usize], f: impl FnMut(usize) -> T) -> Self {
        Tensor {
            shape: shape.to_vec(),
            data: (0..numel(shape)).map(f).collect(),
        }
    }

    /// The shape.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::<f64>::zeros(&[4, 1]).shape(), &[4, 1]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of axes.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::<f64>::zeros(&[4, 1]).ndim(), 2);
    /// ```
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::<f64>::zeros(&[4, 3]).len(), 12);
    /// ```
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements (some axis has length 0).
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert!(Tensor::<f64>::zeros(&[0, 3]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements in row-major order.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::vector(&[1.0, 2.0]).data(), &[1.0, 2.0]);
    /// ```
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// The elements in row-major order, mutably.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let mut t = Tensor::vector(&[1.0, 2.0]);
    /// t.data_mut()[0] = 5.0;
    /// assert_eq!(t.data(), &[5.0, 2.0]);
    /// ```
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// Consumes the tensor and returns its elements.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::vector(&[1.0]).into_vec(), vec![1.0]);
    /// ```
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// The single element of a one-element tensor.
    ///
    /// # Panics
    ///
    /// If the tensor does not have exactly one element.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert_eq!(Tensor::vector(&[4.0]).item(), 4.0);
    /// ```
    pub fn item(&self) -> T {
        assert!(
            self.data.len() == 1,
            "item: tensor of shape {:?} has {} elements, not 1",
            self.shape,
            self.data.len()
        );
        self.data[0]
    }

    /// The element at a multi-index.
    ///
    /// # Panics
    ///
    /// If the index has the wrong length or is out of bounds.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let t = Tensor::from_vec(&[2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    /// assert_eq!(t.get(&[0, 1]), 2.0);
    /// ```
    pub fn get(&self, index: &[usize]) -> T {
        assert!(
            index.len() == self.shape.len(),
            "get: index {index:?} does not fit shape {:?}",
            self.shape
        );
        let mut flat = 0;
        for (&i, &n) in index.iter().zip(&self.shape) {
            assert!(
                i < n,
                "get: index {index:?} out of bounds for shape {:?}",
                self.shape
            );
            flat = flat * n + i;
        }
        self.data[flat]
    }

    /// The same elements under another shape with the same number of elements.
    ///
    /// # Panics
    ///
    /// If the element counts differ.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let t = Tensor::vector(&[1.0, 2.0, 3.0, 4.0]).reshape(&[2, 2]);
    /// assert_eq!(t.get(&[1, 0]), 3.0);
    /// ```
    pub fn reshape(&self, shape: &[usize]) -> Self {
        assert!(
            numel(shape) == self.data.len(),
            "reshape: cannot view shape {:?} ({} elements) as {shape:?}",
            self.shape,
            self.data.len()
        );
        let mut data = pool::take(self.data.len());
        data.extend_from_slice(&self.data);
        Tensor {
            shape: shape.to_vec(),
            data,
        }
    }

    /// Row `i` of a matrix, as a slice.
    ///
    /// # Panics
    ///
    /// If the tensor is not 2-D or `i` is out of bounds.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let m = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    /// assert_eq!(m.row(1), &[3.0, 4.0]);
    /// ```
    pub fn row(&self, i: usize) -> &[T] {
        assert!(
            self.ndim() == 2,
            "row: tensor of shape {:?} is not a matrix",
            self.shape
        );
        assert!(
            i < self.shape[0],
            "row: row {i} out of bounds for shape {:?}",
            self.shape
        );
        let cols = self.shape[1];
        &self.data[i * cols..(i + 1) * cols]
    }

    /// The largest absolute elementwise difference to `other` (∞-norm distance).
    ///
    /// # Panics
    ///
    /// If the shapes differ.
    ///
    /// ```
    /// use scoretape::Tensor;
    /// let a = Tensor::vector(&[1.0, 2.0]);
    /// let b = Tensor::vector(&[1.5, 2.0]);
    /// assert_eq!(a.max_abs_diff(&b), 0.5);
    /// ```
    pub fn max_abs_diff(&self, other: &Tensor<T>) -> T {
        assert!(
            self.shape == other.shape,
            "max_abs_diff: shapes {:?} and {:?} differ",
            self.shape,
            other.shape
        );
        self.data
            .iter()
            .zip(&other.data)
            .fold(T::zero(), |m, (&a, &b)| m.max((a - b).abs()))
    }

    /// Whether every element is finite (no NaN or infinity).
    ///
    /// ```
    /// use scoretape::Tensor;
    /// assert!(!Tensor::vector(&[1.0, f64::NAN]).all_finite());
    /// ```
    pub fn all_finite(&self) -> bool {
        self.data.iter().all(|v| v.is_finite())
    }
}
