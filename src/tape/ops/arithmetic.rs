//! Arithmetic on two tensors of the same shape (the `Var` operators broadcast
//! first), and the affine map `a·x + b` by scalars.

use super::{sum_present, Primitive};
use crate::real::Real;
use crate::tape::Var;
use crate::tensor::Tensor;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

/// Checks the two operands of a binary primitive agree in shape.
fn same_shape<'a, T: Real>(name: &str, inputs: &[&'a Tensor<T>]) -> (&'a Tensor<T>, &'a Tensor<T>) {
    let (a, b) = (inputs[0], inputs[1]);
    assert!(
        a.shape() == b.shape(),
        "{name}: operand shapes {:?} and {:?} differ (the Var operators broadcast before recording)",
        a.shape(),
        b.shape()
    );
    (a, b)
}

/// `a + b`. VJP `(ȳ, ȳ)`; JVP `ȧ + ḃ`.
#[derive(Clone, Copy, Debug)]
pub struct Add;

impl<T: Real> Primitive<T> for Add {
    fn name(&self) -> String {
        "add".to_string()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (a, b) = same_shape("add", inputs);
        a.zip_map(b, |x, y| x + y)
    }
    fn vjp<'t>(
        &self,
        _: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        _: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        vec![Some(g), Some(g)]
    }
    fn jvp<'t>(&self, _: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        sum_present([t[0], t[1]])
    }
}

/// `a - b`. VJP `(ȳ, -ȳ)`; JVP `ȧ - ḃ`.
#[derive(Clone, Copy, Debug)]
pub struct Sub;

impl<T: Real> Primitive<T> for Sub {
    fn name(&self) -> String {
        "sub".to_string()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (a, b) = same_shape("sub", inputs);
        a.zip_map(b, |x, y| x - y)
    }
    fn vjp<'t>(
        &self,
        _: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        wanted: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        vec![Some(g), wanted[1].then(|| -g)]
    }
    fn jvp<'t>(&self, _: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        match (t[0], t[1]) {
            (Some(ta), Some(tb)) => ta - tb,
            (Some(ta), None) => ta,
            (None, Some(tb)) => -tb,
            (None, None) => unreachable!("a JVP rule was called with no tangent at all"),
        }
    }
}

/// `a ⊙ b` (element-wise). VJP `(ȳ⊙b, ȳ⊙a)`; JVP `ȧ⊙b + a⊙ḃ`.
#[derive(Clone, Copy, Debug)]
pub struct Mul;

impl<T: Real> Primitive<T> for Mul {
    fn name(&self) -> String {
        "mul".to_string()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (a, b) = same_shape("mul", inputs);
        a.zip_map(b, |x, y| x * y)
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        wanted: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        vec![wanted[0].then(|| g * x[1]), wanted[1].then(|| g * x[0])]
    }
    fn jvp<'t>(&self, x: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        sum_present([t[0].map(|ta| ta * x[1]), t[1].map(|tb| x[0] * tb)])
    }
}

/// `a / b` (element-wise), `y = a/b`. VJP `(ȳ/b, -ȳ⊙y/b)`; JVP `(ȧ - y⊙ḃ)/b`.
#[derive(Clone, Copy, Debug)]
pub struct Div;

impl<T: Real> Primitive<T> for Div {
    fn name(&self) -> String {
        "div".to_string()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (a, b) = same_shape("div", inputs);
        a.zip_map(b, |x, y| x / y)
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        y: Var<'t, T>,
        g: Var<'t, T>,
        wanted: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        let ga = g / x[1];
        vec![wanted[0].then_some(ga), wanted[1].then(|| -(ga * y))]
    }
    fn jvp<'t>(&self, x: &[Var<'t, T>], y: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        let numerator = match (t[0], t[1]) {
            (Some(ta), Some(tb)) => ta - y * tb,
            (Some(ta), None) => ta,
            (None, Some(tb)) => -(y * tb),
            (None, None) => unreachable!("a JVP rule was called with no tangent at all"),
        };
        numerator / x[1]
    }
}

/// `scale·x + shift` with scalar constants: covers negation, scaling and
/// adding a number. VJP `scale·ȳ`; JVP `scale·ẋ`.
#[derive(Clone, Copy, Debug)]
pub struct Affine<T> {
    /// The factor `a` in `a·x + b`.
    pub scale: T,
    /// The offset `b` in `a·x + b`.
    pub shift: T,
}

impl<T: Real> Primitive<T> for Affine<T> {
    fn name(&self) -> String {
        let (a, b) = (self.scale, self.shift);
        if b == T::zero() {
            if a == -T::one() {
                "neg".to_string()
            } else {
                alloc::format!("scale[{a}]")
            }
        } else if a == T::one() {
            alloc::format!("add_scalar[{b}]")
        } else {
            alloc::format!("affine[{a}, {b}]")
        }
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (a, b) = (self.scale, self.shift);
        inputs[0].map(|x| a * x + b)
    }
    fn vjp<'t>(
        &self,
        _: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        _: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        vec![Some(g.affine(self.scale, T::zero()))]
    }
    fn jvp<'t>(&self, _: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        t[0].expect("affine JVP without a tangent")
            .affine(self.scale, T::zero())
    }
}
