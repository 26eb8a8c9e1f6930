//! Piecewise and extreme-value operations on [`Var`]: `select`, `abs`,
//! `relu`, `clamp`, element-wise `max`/`min`, `max_axis`/`min_axis`, and the
//! stable `logsumexp`.
//!
//! All are composites of existing primitives and the one [`Select`]
//! primitive, so their derivatives nest like any other. Which piece applies
//! is decided from the values when the operation is recorded and is then a
//! constant: the derivative of each piece is exact, and at a kink (where two
//! pieces meet) each method documents the one-sided derivative, a
//! subgradient, that it uses.

use super::ops::Select;
use super::Var;
use crate::real::Real;
use crate::tensor::{broadcast_shapes, split_at_axis, Tensor};
use alloc::vec::Vec;

impl<'t, T: Real> Var<'t, T> {
    /// `condition[i] ? on_true[i] : on_false[i]`, element by element.
    ///
    /// `on_true` and `on_false` broadcast to a common shape like the
    /// arithmetic operators; `condition` lists one flag per element of that
    /// shape, in row-major order. The condition is a constant: the derivative
    /// with respect to `on_true` is 1 where it holds and 0 elsewhere, and the
    /// other way round for `on_false`. The branch not taken never enters the
    /// value, so an infinite or NaN value there does no harm to it. Its
    /// derivative still meets a zero cotangent, though, and `0 · ∞` is NaN:
    /// where a branch's derivative is infinite at the points not taken (`ln x`
    /// at `x = 0`), feed that branch a safe input, itself a select (as with
    /// JAX's `where`).
    ///
    /// # Panics
    ///
    /// If the operands come from different tapes, their shapes do not
    /// broadcast, or `condition` has the wrong length.
    ///
    /// ```
    /// use scoretape::{grad, Tape, Tensor, Var};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::vector(&[-1.0, 2.0]));
    /// let positive: Vec<bool> = x.value().data().iter().map(|&v| v > 0.0).collect();
    /// let y = Var::select(&positive, x.square(), x * 3.0); // x² where x > 0, else 3x
    /// assert_eq!(y.to_vec(), vec![-3.0, 4.0]);
    /// assert_eq!(grad(y.sum(), &[x]).unwrap()[0].to_vec(), vec![3.0, 4.0]);
    /// ```
    pub fn select(condition: &[bool], on_true: Var<'t, T>, on_false: Var<'t, T>) -> Var<'t, T> {
        assert!(
            core::ptr::eq(on_true.tape(), on_false.tape()),
            "select: the operands belong to different tapes"
        );
        let (a, b) = (on_true.shape(), on_false.shape());
        let shape = broadcast_shapes(&a, &b)
            .unwrap_or_else(|| panic!("select: shapes {a:?} and {b:?} do not broadcast"));
        let len: usize = shape.iter().product();
        assert_eq!(
            condition.len(),
            len,
            "select: {} conditions for shape {shape:?}",
            condition.len()
        );
        let expand = |v: Var<'t, T>| {
            if v.shape() == shape {
                v
            } else {
                v.broadcast_to(&shape)
            }
        };
        on_true.tape().apply(
            Select(condition.into()),
            &[expand(on_true), expand(on_false)],
        )
    }

    /// `|x|`, element-wise, recorded as `x · sign(x)` with the sign a
    /// constant: derivative `sign(x)`, second derivative 0.
    ///
    /// At the kink `x = 0` the derivative is 0 (the subgradient of least
    /// magnitude, as PyTorch and JAX choose).
    ///
    /// ```
    /// use scoretape::{grad, Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::vector(&[-2.0, 0.0, 3.0]));
    /// let y = x.abs();
    /// assert_eq!(y.to_vec(), vec![2.0, 0.0, 3.0]);
    /// assert_eq!(grad(y.sum(), &[x]).unwrap()[0].to_vec(), vec![-1.0, 0.0, 1.0]);
    /// ```
    pub fn abs(self) -> Var<'t, T> {
        let sign = self.value().map(|v| {
            if v > T::zero() {
                T::one()
            } else if v < T::zero() {
                -T::one()
            } else {
                T::zero()
            }
        });
        self * self.tape().constant(sign)
    }

    /// `max(x, 0)`, element-wise: derivative 1 where `x > 0`, 0 elsewhere,
    /// including at the kink `x = 0`. NaN stays NaN.
    ///
    /// ```
    /// use scoretape::{grad, Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::vector(&[-1.0, 0.0, 2.0]));
    /// let y = x.relu();
    /// assert_eq!(y.to_vec(), vec![0.0, 0.0, 2.0]);
    /// assert_eq!(grad(y.sum(), &[x]).unwrap()[0].to_vec(), vec![0.0, 0.0, 1.0]);
    /// ```
    pub fn relu(self) -> Var<'t, T> {
        // NaN counts as positive, so it propagates instead of becoming 0.
        let positive = self.flags(|v| v > T::zero() || v.is_nan());
        let zeros = self.tape().constant(Tensor::zeros(&self.shape()));
        Var::select(&positive, self, zeros)
    }

    /// `x` limited to `[low, high]`, element-wise: derivative 1 where
    /// `low ≤ x ≤ high` (the bounds included, as in PyTorch), 0 outside.
    /// NaN stays NaN.
    ///
    /// # Panics
    ///
    /// If `low > high` or either bound is NaN.
    ///
    /// ```
    /// use scoretape::{grad, Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::vector(&[-5.0, 0.5, 1.0, 7.0]));
    /// let y = x.clamp(0.0, 1.0);
    /// assert_eq!(y.to_vec(), vec![0.0, 0.5, 1.0, 1.0]);
    /// assert_eq!(grad(y.sum(), &[x]).unwrap()[0].to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
    /// ```
    pub fn clamp(self, low: T, high: T) -> Var<'t, T> {
        assert!(low <= high, "clamp: bounds {low:?} > {high:?} (or NaN)");
        // NaN counts as inside, so it propagates.
        let inside = self.flags(|v| v.is_nan() || (low <= v && v <= high));
        let clamped = self.value().map(|v| if v < low { low } else { high });
        Var::select(&inside, self, self.tape().constant(clamped))
    }

    /// The larger of `self` and `other`, element-wise, broadcasting like `+`.
    ///
    /// The derivative goes to the larger operand; on a tie it goes to `self`
    /// (a subgradient). Where one operand is NaN the other is taken, like
    /// [`f64::max`].
    ///
    /// # Panics
    ///
    /// If the operands come from different tapes or do not broadcast.
    ///
    /// ```
    /// use scoretape::{grad, Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.input(Tensor::vector(&[1.0, 5.0, 2.0]));
    /// let b = tape.input(Tensor::vector(&[3.0, 4.0, 2.0]));
    /// let y = a.max(b);
    /// assert_eq!(y.to_vec(), vec![3.0, 5.0, 2.0]);
    /// let g = grad(y.sum(), &[a, b]).unwrap();
    /// assert_eq!(g[0].to_vec(), vec![0.0, 1.0, 1.0]); // the tie goes to a
    /// assert_eq!(g[1].to_vec(), vec![1.0, 0.0, 0.0]);
    /// ```
    pub fn max(self, other: Var<'t, T>) -> Var<'t, T> {
        self.pick(other, "max", |a, b| a >= b || b.is_nan())
    }

    /// The smaller of `self` and `other`, element-wise, broadcasting like `+`.
    /// Ties and NaN as in [`Var::max`].
    ///
    /// # Panics
    ///
    /// If the operands come from different tapes or do not broadcast.
    ///
    /// ```
    /// use scoretape::{grad, Tape, Tensor};
    /// let tape = Tape::new();
    /// let a = tape.input(Tensor::vector(&[1.0, 5.0]));
    /// let b = tape.input(Tensor::scalar(3.0));
    /// let y = a.min(b);
    /// assert_eq!(y.to_vec(), vec![1.0, 3.0]);
    /// assert_eq!(grad(y.sum(), &[b]).unwrap()[0].item(), 1.0);
    /// ```
    pub fn min(self, other: Var<'t, T>) -> Var<'t, T> {
        self.pick(other, "min", |a, b| a <= b || b.is_nan())
    }

    /// The largest entry along `axis`, which is removed. The derivative goes
    /// to that entry, the first one on a tie.
    ///
    /// # Panics
    ///
    /// If `axis` is out of range or has length 0.
    ///
    /// ```
    /// use scoretape::{grad, Tape, Tensor};
    /// let tape = Tape::new();
    /// let m = tape.input(Tensor::from_rows(&[vec![1.0, 4.0], vec![3.0, 2.0]]).unwrap());
    /// let y = m.max_axis(1);
    /// assert_eq!(y.to_vec(), vec![4.0, 3.0]);
    /// assert_eq!(grad(y.sum(), &[m]).unwrap()[0].to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
    /// ```
    pub fn max_axis(self, axis: usize) -> Var<'t, T> {
        self.extreme_axis(axis, "max_axis", |candidate, best| candidate > best)
    }

    /// The smallest entry along `axis`, which is removed; derivative and ties
    /// as in [`Var::max_axis`].
    ///
    /// # Panics
    ///
    /// If `axis` is out of range or has length 0.
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let m = tape.input(Tensor::from_rows(&[vec![1.0, 4.0], vec![3.0, 2.0]]).unwrap());
    /// assert_eq!(m.min_axis(0).to_vec(), vec![1.0, 2.0]);
    /// ```
    pub fn min_axis(self, axis: usize) -> Var<'t, T> {
        self.extreme_axis(axis, "min_axis", |candidate, best| candidate < best)
    }

    /// `ln Σₖ exp(xₖ)` along `axis`, which is removed, computed without
    /// overflow as `m + ln Σₖ exp(xₖ - m)` with `m` the largest entry.
    ///
    /// `m` is recorded as a constant: the result is the same function of `x`
    /// for any constant `m`, so its derivatives, the softmax `exp(xₖ - y)` and
    /// all higher ones, are exact and smooth, with no kink at ties. Where every
    /// entry is `-∞` (or the axis is empty) the result is `-∞`.
    ///
    /// # Panics
    ///
    /// If `axis` is out of range.
    ///
    /// ```
    /// use scoretape::{grad, Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::vector(&[1000.0, 1000.0]));
    /// let y = x.logsumexp(0);
    /// assert!((y.item() - (1000.0 + 2f64.ln())).abs() < 1e-12);
    /// assert_eq!(grad(y, &[x]).unwrap()[0].to_vec(), vec![0.5, 0.5]); // softmax
    /// ```
    pub fn logsumexp(self, axis: usize) -> Var<'t, T> {
        let (outer, len, inner) = split_at_axis(&self.shape(), axis, "logsumexp");
        let value = self.value();
        let x = value.data();
        // The shift m: the largest entry of each lane, or 0 where that is not
        // finite (an all -∞ lane, whose sum of exponentials is then 0).
        let shift: Vec<T> = (0..outer * inner)
            .map(|lane| {
                let (o, i) = (lane / inner, lane % inner);
                let m = (0..len)
                    .map(|k| x[(o * len + k) * inner + i])
                    .fold(T::neg_infinity(), |m, v| if v > m { v } else { m });
                if m.is_finite() {
                    m
                } else {
                    T::zero()
                }
            })
            .collect();
        let mut kept = self.shape();
        kept[axis] = 1;
        let mut removed = self.shape();
        removed.remove(axis);
        let tape = self.tape();
        let shift_kept = tape.constant(Tensor::from_vec(&kept, shift.clone()).expect("lane count"));
        let shift_removed = tape.constant(Tensor::from_vec(&removed, shift).expect("lane count"));
        (self - shift_kept).exp().sum_axis(axis).log() + shift_removed
    }

    /// One flag per element: `test` of its value.
    fn flags(&self, test: impl Fn(T) -> bool) -> Vec<bool> {
        self.value().data().iter().map(|&v| test(v)).collect()
    }

    /// `self` where `keep_self(self, other)`, else `other`, after broadcasting.
    fn pick(self, other: Var<'t, T>, name: &str, keep_self: impl Fn(T, T) -> bool) -> Var<'t, T> {
        let (a, b) = (self.shape(), other.shape());
        let shape = broadcast_shapes(&a, &b)
            .unwrap_or_else(|| panic!("{name}: shapes {a:?} and {b:?} do not broadcast"));
        let (va, vb) = (
            self.value().broadcast_to(&shape),
            other.value().broadcast_to(&shape),
        );
        let condition: Vec<bool> = va
            .data()
            .iter()
            .zip(vb.data())
            .map(|(&x, &y)| keep_self(x, y))
            .collect();
        Var::select(&condition, self, other)
    }

    /// The entry along `axis` that `better` prefers to every earlier one,
    /// picked by a gather from the flattened tensor.
    fn extreme_axis(self, axis: usize, name: &str, better: impl Fn(T, T) -> bool) -> Var<'t, T> {
        let shape = self.shape();
        let (outer, len, inner) = split_at_axis(&shape, axis, name);
        assert!(len > 0, "{name}: axis {axis} of shape {shape:?} is empty");
        let value = self.value();
        let x = value.data();
        let picked: Vec<usize> = (0..outer * inner)
            .map(|lane| {
                let (o, i) = (lane / inner, lane % inner);
                let at = |k: usize| (o * len + k) * inner + i;
                (1..len).fold(at(0), |best, k| {
                    if better(x[at(k)], x[best]) {
                        at(k)
                    } else {
                        best
                    }
                })
            })
            .collect();
        let mut removed = shape;
        removed.remove(axis);
        self.reshape(&[value.len()])
            .gather(0, &picked)
            .reshape(&removed)
    }
}
