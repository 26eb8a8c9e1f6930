//! [`Var`], the handle to a recorded node, and every operation on it.
//!
//! Each method records one primitive (or, for composites like `mean`, a few)
//! on the tape the `Var` belongs to, computing the value immediately.

use super::ops::{
    Add, Affine, BroadcastTo, Concat, Cos, Div, Elementwise, Elu, Exp, Gather, Log, Log1p,
    LogSigmoid, MatMul, Mul, Powi, Primitive, Recip, Reshape, Sigmoid, Silu, Sin, Slice, Softplus,
    Sqrt, Square, Sub, SumTo, Tanh, Transpose,
};
use super::{NodeKind, Tape};
use crate::error::Error;
use crate::real::Real;
use crate::tensor::{broadcast_shapes, numel, Tensor};
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::fmt;

/// A handle to a node on a [`Tape`]: cheap to copy, and the thing every
/// operation and transformation works on.
///
/// Operators broadcast like NumPy (`a + b` where `b` is a row vector adds it to
/// every row of `a`) and accept plain numbers (`a * 2.0`, `1.0 - a`).
///
/// # Panics
///
/// An operator panics if its operands come from different tapes, refer to
/// nodes removed by [`Tape::rewind`], or have shapes it cannot combine; the
/// message names the operation and the shapes.
///
/// # Examples
///
/// ```
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let a = tape.input(Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap());
/// let b = tape.input(Tensor::vector(&[10.0, 20.0]));
/// let c = (&a + &b) * 2.0; // b is broadcast over the rows of a
/// assert_eq!(c.to_vec(), vec![22.0, 44.0, 26.0, 48.0]);
/// ```
#[derive(Clone, Copy)]
pub struct Var<'t, T: Real> {
    tape: &'t Tape<T>,
    index: usize,
    epoch: u32,
}

impl<T: Real> fmt::Debug for Var<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_value() {
            Ok(value) => write!(f, "Var(%{}, shape {:?})", self.index, value.shape()),
            Err(Error::StaleVar | Error::ForeignVar) => write!(f, "Var(%{}, stale)", self.index),
            Err(e) => write!(f, "Var(%{}, failed: {e})", self.index),
        }
    }
}

impl<'t, T: Real> Var<'t, T> {
    pub(crate) fn new(tape: &'t Tape<T>, index: usize, epoch: u32) -> Self {
        Var { tape, index, epoch }
    }

    pub(crate) fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The tape this `Var` is recorded on.
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::scalar(1.0));
    /// assert!(std::ptr::eq(x.tape(), &tape));
    /// ```
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }

    /// The node's position on the tape (its `%n` in the printed tape).
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::scalar(1.0));
    /// assert_eq!(x.exp().index(), 1);
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// The node's value.
    ///
    /// # Panics
    ///
    /// If the node was removed by [`Tape::rewind`] or recorded after a
    /// [`Tape::fail`] (see [`Var::try_value`]).
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::vector(&[0.0]));
    /// assert_eq!(x.exp().value().data(), &[1.0]);
    /// ```
    pub fn value(&self) -> Rc<Tensor<T>> {
        self.try_value()
            .unwrap_or_else(|e| panic!("Var::value: {e}"))
    }

    /// The node's value, or an error if the handle is stale or the node failed.
    ///
    /// # Errors
    ///
    /// [`Error::StaleVar`] if the node was removed by [`Tape::rewind`]; the
    /// recorded error if the node was recorded after a [`Tape::fail`].
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::scalar(2.0));
    /// assert_eq!(x.try_value().unwrap().item(), 2.0);
    /// ```
    pub fn try_value(&self) -> Result<Rc<Tensor<T>>, Error> {
        self.tape.check_owns(*self)?;
        self.tape.check_not_failed(self.index)?;
        Ok(self.tape.value_of(self.index))
    }

    /// The node's value as recorded, for the engine's own computations: like
    /// [`Var::value`], but a node recorded after a [`Tape::fail`] gives its
    /// stand-in value, so recording goes on until a user reads a value.
    ///
    /// # Panics
    ///
    /// If the node was removed by [`Tape::rewind`] or belongs to another tape.
    pub(crate) fn recorded_value(&self) -> Rc<Tensor<T>> {
        self.tape.assert_owns(*self, "Var::value");
        self.tape.value_of(self.index)
    }

    /// The shape of the node's value. A node recorded after a
    /// [`Tape::fail`] has a shape too (that of the stand-in computation), so
    /// code that only inspects shapes runs on; its value is what fails.
    ///
    /// # Panics
    ///
    /// If the node was removed by [`Tape::rewind`].
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::<f64>::zeros(&[2, 3])).shape(), vec![2, 3]);
    /// ```
    pub fn shape(&self) -> Vec<usize> {
        self.recorded_value().shape().to_vec()
    }

    /// The single element of a one-element value.
    ///
    /// # Panics
    ///
    /// If the value has more or fewer than one element.
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::vector(&[1.0, 2.0])).sum().item(), 3.0);
    /// ```
    pub fn item(&self) -> T {
        self.value().item()
    }

    /// The value's elements in row-major order.
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::vector(&[1.0, 2.0])).to_vec(), vec![1.0, 2.0]);
    /// ```
    pub fn to_vec(&self) -> Vec<T> {
        self.value().data().to_vec()
    }

    /// Whether this is a constant leaf (from [`Tape::constant`] or [`Var::detach`]).
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::scalar(1.0));
    /// assert!(!x.is_constant());
    /// assert!(x.detach().is_constant());
    /// ```
    pub fn is_constant(&self) -> bool {
        self.tape.assert_owns(*self, "is_constant");
        self.tape.is_constant_node(self.index)
    }

    /// Whether this is an input leaf (from [`Tape::input`]).
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::scalar(1.0));
    /// assert!(x.is_input());
    /// assert!(!x.exp().is_input());
    /// ```
    pub fn is_input(&self) -> bool {
        self.tape.assert_owns(*self, "is_input");
        self.tape.is_input_node(self.index)
    }

    /// A constant with the same value: derivatives do not flow through it
    /// (JAX's `stop_gradient`). The value is shared, not copied.
    ///
    /// ```
    /// use scoretape::{grad, Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::scalar(3.0));
    /// let y = x * x.detach(); // d/dx = 3, not 6
    /// assert_eq!(grad(y, &[x]).unwrap()[0].item(), 3.0);
    /// ```
    pub fn detach(self) -> Var<'t, T> {
        let value = self.recorded_value();
        self.tape.push(value, NodeKind::Constant)
    }

    fn unary<P: Primitive<T>>(self, primitive: P) -> Var<'t, T> {
        self.tape.apply(primitive, &[self])
    }

    /// Records a two-operand primitive, broadcasting the operands to a common
    /// shape first.
    fn binary<P: Primitive<T>>(self, other: Var<'t, T>, primitive: P, symbol: &str) -> Var<'t, T> {
        assert!(
            core::ptr::eq(self.tape, other.tape),
            "{symbol}: the operands belong to different tapes"
        );
        let (a, b) = (self.shape(), other.shape());
        if a == b {
            return self.tape.apply(primitive, &[self, other]);
        }
        let shape = broadcast_shapes(&a, &b)
            .unwrap_or_else(|| panic!("{symbol}: shapes {a:?} and {b:?} do not broadcast"));
        // The primitives read a smaller operand in place, as long as the other
        // has the result's shape; only when neither has it is one expanded.
        let lhs = if b != shape {
            self.broadcast_to(&shape)
        } else {
            self
        };
        self.tape.apply(primitive, &[lhs, other])
    }

    /// `scale·x + shift`, element-wise, with scalar constants, as one node.
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
    /// assert_eq!(x.affine(-1.0, 1.0).to_vec(), vec![0.0, -1.0]); // 1 - x
    /// ```
    pub fn affine(self, scale: T, shift: T) -> Var<'t, T> {
        self.unary(Affine { scale, shift })
    }

    /// `eˣ`, element-wise.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(0.0)).exp().item(), 1.0);
    /// ```
    pub fn exp(self) -> Var<'t, T> {
        self.unary(Elementwise(Exp))
    }

    /// Natural logarithm, element-wise.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(1.0)).log().item(), 0.0);
    /// ```
    pub fn log(self) -> Var<'t, T> {
        self.unary(Elementwise(Log))
    }

    /// `ln(1 + x)`, element-wise, accurate near 0.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(0.0)).log1p().item(), 0.0);
    /// ```
    pub fn log1p(self) -> Var<'t, T> {
        self.unary(Elementwise(Log1p))
    }

    /// `1/x`, element-wise.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(4.0)).recip().item(), 0.25);
    /// ```
    pub fn recip(self) -> Var<'t, T> {
        self.unary(Elementwise(Recip))
    }

    /// `softplus(x) = ln(1 + eˣ)`, element-wise, stable for large `|x|`.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(1000.0)).softplus().item(), 1000.0);
    /// ```
    pub fn softplus(self) -> Var<'t, T> {
        self.unary(Elementwise(Softplus))
    }

    /// The logistic sigmoid `1/(1 + e^{-x})`, element-wise.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(0.0)).sigmoid().item(), 0.5);
    /// ```
    pub fn sigmoid(self) -> Var<'t, T> {
        self.unary(Elementwise(Sigmoid))
    }

    /// `ln sigmoid(x)`, element-wise, stable for large `|x|`.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(-1000.0)).log_sigmoid().item(), -1000.0);
    /// ```
    pub fn log_sigmoid(self) -> Var<'t, T> {
        self.unary(Elementwise(LogSigmoid))
    }

    /// `tanh(x)`, element-wise.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(0.0)).tanh().item(), 0.0);
    /// ```
    pub fn tanh(self) -> Var<'t, T> {
        self.unary(Elementwise(Tanh))
    }

    /// `sin(x)`, element-wise.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(0.0)).sin().item(), 0.0);
    /// ```
    pub fn sin(self) -> Var<'t, T> {
        self.unary(Elementwise(Sin))
    }

    /// `cos(x)`, element-wise.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(0.0)).cos().item(), 1.0);
    /// ```
    pub fn cos(self) -> Var<'t, T> {
        self.unary(Elementwise(Cos))
    }

    /// `√x`, element-wise.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(9.0)).sqrt().item(), 3.0);
    /// ```
    pub fn sqrt(self) -> Var<'t, T> {
        self.unary(Elementwise(Sqrt))
    }

    /// `x²`, element-wise.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(3.0)).square().item(), 9.0);
    /// ```
    pub fn square(self) -> Var<'t, T> {
        self.unary(Elementwise(Square))
    }

    /// `xⁿ` for an integer `n`, element-wise.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(2.0)).powi(3).item(), 8.0);
    /// ```
    pub fn powi(self, n: i32) -> Var<'t, T> {
        self.unary(Elementwise(Powi(n)))
    }

    /// `SiLU(x) = x·sigmoid(x)`, element-wise.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(0.0)).silu().item(), 0.0);
    /// ```
    pub fn silu(self) -> Var<'t, T> {
        self.unary(Elementwise(Silu))
    }

    /// `ELU(x)` with α = 1: `x` for `x > 0`, `eˣ - 1` otherwise, element-wise.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::scalar(2.0)).elu().item(), 2.0);
    /// ```
    pub fn elu(self) -> Var<'t, T> {
        self.unary(Elementwise(Elu))
    }

    /// The matrix product `self · other`.
    ///
    /// # Panics
    ///
    /// If either is not a matrix or the inner dimensions differ.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.input(Tensor::from_rows(&[vec![1.0, 2.0]]).unwrap());
    /// let b = tape.input(Tensor::from_rows(&[vec![3.0], vec![4.0]]).unwrap());
    /// assert_eq!(a.matmul(b).item(), 11.0);
    /// ```
    pub fn matmul(self, other: Var<'t, T>) -> Var<'t, T> {
        self.matmul_t(other, false, false)
    }

    /// The matrix product `op(self) · op(other)`, where `op` transposes when
    /// its flag is set (without materialising the transpose).
    ///
    /// # Panics
    ///
    /// If either is not a matrix or the inner dimensions differ.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::from_rows(&[vec![1.0, 2.0]]).unwrap());
    /// let w = tape.input(Tensor::from_rows(&[vec![3.0, 4.0]]).unwrap());
    /// assert_eq!(x.matmul_t(w, false, true).item(), 11.0); // x·wᵀ
    /// ```
    pub fn matmul_t(self, other: Var<'t, T>, transpose_a: bool, transpose_b: bool) -> Var<'t, T> {
        assert!(
            core::ptr::eq(self.tape, other.tape),
            "matmul: the operands belong to different tapes"
        );
        self.tape.apply(
            MatMul {
                transpose_a,
                transpose_b,
            },
            &[self, other],
        )
    }

    /// The transpose of a matrix.
    ///
    /// # Panics
    ///
    /// If the value is not 2-D.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.input(Tensor::from_rows(&[vec![1.0, 2.0]]).unwrap());
    /// assert_eq!(a.transpose().shape(), vec![2, 1]);
    /// ```
    pub fn transpose(self) -> Var<'t, T> {
        self.unary(Transpose)
    }

    /// The same elements under another shape.
    ///
    /// # Panics
    ///
    /// If the number of elements differs.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.input(Tensor::vector(&[1.0, 2.0, 3.0, 4.0]));
    /// assert_eq!(a.reshape(&[2, 2]).shape(), vec![2, 2]);
    /// ```
    pub fn reshape(self, shape: &[usize]) -> Var<'t, T> {
        let from = self.shape();
        if from == shape {
            return self;
        }
        assert!(
            numel(&from) == numel(shape),
            "reshape: cannot view shape {from:?} as {shape:?}"
        );
        self.unary(Reshape(shape.to_vec()))
    }

    /// Repeats the value along broadcast axes up to `shape`.
    ///
    /// # Panics
    ///
    /// If the shape does not broadcast to `shape`.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.input(Tensor::vector(&[1.0, 2.0]));
    /// assert_eq!(a.broadcast_to(&[2, 2]).to_vec(), vec![1.0, 2.0, 1.0, 2.0]);
    /// ```
    pub fn broadcast_to(self, shape: &[usize]) -> Var<'t, T> {
        if self.shape() == shape {
            return self;
        }
        self.unary(BroadcastTo(shape.to_vec()))
    }

    /// Sums over the axes that `shape` would be broadcast along, giving a value
    /// of exactly `shape` (the adjoint of [`Var::broadcast_to`]).
    ///
    /// # Panics
    ///
    /// If `shape` does not broadcast to this value's shape.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let m = tape.input(Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap());
    /// assert_eq!(m.sum_to(&[2]).to_vec(), vec![4.0, 6.0]);
    /// ```
    pub fn sum_to(self, shape: &[usize]) -> Var<'t, T> {
        if self.shape() == shape {
            return self;
        }
        self.unary(SumTo(shape.to_vec()))
    }

    /// The sum of all elements, as a scalar (shape `[]`).
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::vector(&[1.0, 2.0])).sum().item(), 3.0);
    /// ```
    pub fn sum(self) -> Var<'t, T> {
        self.sum_to(&[])
    }

    /// The sum over one axis, which is removed.
    ///
    /// # Panics
    ///
    /// If `axis` is out of range.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let m = tape.input(Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap());
    /// assert_eq!(m.sum_axis(1).to_vec(), vec![3.0, 7.0]);
    /// ```
    pub fn sum_axis(self, axis: usize) -> Var<'t, T> {
        let shape = self.shape();
        assert!(
            axis < shape.len(),
            "sum_axis: axis {axis} out of range for shape {shape:?}"
        );
        let mut kept = shape.clone();
        kept[axis] = 1;
        let mut removed = shape;
        removed.remove(axis);
        self.sum_to(&kept).reshape(&removed)
    }

    /// The mean of all elements, as a scalar.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// assert_eq!(tape.input(Tensor::vector(&[1.0, 3.0])).mean().item(), 2.0);
    /// ```
    pub fn mean(self) -> Var<'t, T> {
        let n = self.recorded_value().len();
        self.sum() * T::cast(1.0 / n as f64)
    }

    /// The mean over one axis, which is removed.
    ///
    /// # Panics
    ///
    /// If `axis` is out of range.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let m = tape.input(Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap());
    /// assert_eq!(m.mean_axis(0).to_vec(), vec![2.0, 3.0]);
    /// ```
    pub fn mean_axis(self, axis: usize) -> Var<'t, T> {
        let n = self.shape().get(axis).copied().unwrap_or(1);
        self.sum_axis(axis) * T::cast(1.0 / n as f64)
    }

    /// Entries `start..end` along `axis`.
    ///
    /// # Panics
    ///
    /// If `axis` is out of range or the range does not fit the axis.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let v = tape.input(Tensor::vector(&[1.0, 2.0, 3.0]));
    /// assert_eq!(v.slice(0, 1, 3).to_vec(), vec![2.0, 3.0]);
    /// ```
    pub fn slice(self, axis: usize, start: usize, end: usize) -> Var<'t, T> {
        self.unary(Slice { axis, start, end })
    }

    /// Joins `parts` along `axis`.
    ///
    /// # Panics
    ///
    /// If `parts` is empty, they come from different tapes, or their shapes
    /// disagree off `axis`.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor, Var};
    /// let tape = Tape::new();
    /// let a = tape.input(Tensor::vector(&[1.0]));
    /// let b = tape.input(Tensor::vector(&[2.0, 3.0]));
    /// assert_eq!(Var::concat(&[a, b], 0).to_vec(), vec![1.0, 2.0, 3.0]);
    /// ```
    pub fn concat(parts: &[Var<'t, T>], axis: usize) -> Var<'t, T> {
        assert!(!parts.is_empty(), "concat: no Vars to join");
        let tape = parts[0].tape;
        assert!(
            parts.iter().all(|p| core::ptr::eq(p.tape, tape)),
            "concat: the parts belong to different tapes"
        );
        if parts.len() == 1 {
            return parts[0];
        }
        tape.apply(Concat { axis }, parts)
    }

    /// Entries picked along `axis` by index (repeats allowed).
    ///
    /// # Panics
    ///
    /// If `axis` is out of range or an index is out of bounds.
    ///
    /// ```
    /// # use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let v = tape.input(Tensor::vector(&[1.0, 2.0, 3.0]));
    /// assert_eq!(v.gather(0, &[2, 2, 0]).to_vec(), vec![3.0, 3.0, 1.0]);
    /// ```
    pub fn gather(self, axis: usize, indices: &[usize]) -> Var<'t, T> {
        self.unary(Gather {
            axis,
            indices: indices.into(),
        })
    }
}

macro_rules! var_operator {
    ($trait:ident, $method:ident, $primitive:expr, $symbol:literal) => {
        impl<'t, T: Real> core::ops::$trait<Var<'t, T>> for Var<'t, T> {
            type Output = Var<'t, T>;
            fn $method(self, rhs: Var<'t, T>) -> Var<'t, T> {
                self.binary(rhs, $primitive, $symbol)
            }
        }
        impl<'t, T: Real> core::ops::$trait<&Var<'t, T>> for Var<'t, T> {
            type Output = Var<'t, T>;
            fn $method(self, rhs: &Var<'t, T>) -> Var<'t, T> {
                self.binary(*rhs, $primitive, $symbol)
            }
        }
        impl<'t, T: Real> core::ops::$trait<Var<'t, T>> for &Var<'t, T> {
            type Output = Var<'t, T>;
            fn $method(self, rhs: Var<'t, T>) -> Var<'t, T> {
                (*self).binary(rhs, $primitive, $symbol)
            }
        }
        impl<'t, T: Real> core::ops::$trait<&Var<'t, T>> for &Var<'t, T> {
            type Output = Var<'t, T>;
            fn $method(self, rhs: &Var<'t, T>) -> Var<'t, T> {
                (*self).binary(*rhs, $primitive, $symbol)
            }
        }
    };
}

var_operator!(Add, add, Add, "add");
var_operator!(Sub, sub, Sub, "sub");
var_operator!(Mul, mul, Mul, "mul");
var_operator!(Div, div, Div, "div");

/// `var ∘ number` and `number ∘ var` as one affine node (or a reciprocal).
macro_rules! scalar_operator {
    ($trait:ident, $method:ident, |$v:ident, $c:ident| $var_scalar:expr) => {
        impl<'t, T: Real> core::ops::$trait<T> for Var<'t, T> {
            type Output = Var<'t, T>;
            fn $method(self, $c: T) -> Var<'t, T> {
                let $v = self;
                $var_scalar
            }
        }
        impl<'t, T: Real> core::ops::$trait<T> for &Var<'t, T> {
            type Output = Var<'t, T>;
            fn $method(self, $c: T) -> Var<'t, T> {
                let $v = *self;
                $var_scalar
            }
        }
    };
}

scalar_operator!(Add, add, |v, c| v.affine(T::one(), c));
scalar_operator!(Sub, sub, |v, c| v.affine(T::one(), -c));
scalar_operator!(Mul, mul, |v, c| v.affine(c, T::zero()));
scalar_operator!(Div, div, |v, c| v.affine(c.recip(), T::zero()));

macro_rules! number_lhs_operators {
    ($($t:ty),*) => {$(
        impl<'t> core::ops::Add<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            fn add(self, v: Var<'t, $t>) -> Var<'t, $t> { v.affine(1.0, self) }
        }
        impl<'t> core::ops::Sub<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            fn sub(self, v: Var<'t, $t>) -> Var<'t, $t> { v.affine(-1.0, self) }
        }
        impl<'t> core::ops::Mul<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            fn mul(self, v: Var<'t, $t>) -> Var<'t, $t> { v.affine(self, 0.0) }
        }
        impl<'t> core::ops::Div<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            fn div(self, v: Var<'t, $t>) -> Var<'t, $t> { v.recip().affine(self, 0.0) }
        }
    )*};
}

number_lhs_operators!(f32, f64);

impl<'t, T: Real> core::ops::Neg for Var<'t, T> {
    type Output = Var<'t, T>;
    fn neg(self) -> Var<'t, T> {
        self.affine(-T::one(), T::zero())
    }
}

impl<'t, T: Real> core::ops::Neg for &Var<'t, T> {
    type Output = Var<'t, T>;
    fn neg(self) -> Var<'t, T> {
        -*self
    }
}
