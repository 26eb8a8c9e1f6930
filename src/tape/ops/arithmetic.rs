//! Arithmetic on two tensors, and the affine map `a·x + b` by scalars.
//!
//! The two operands may differ in shape as long as one of them has the shape
//! of the result and the other broadcasts to it (a bias row added to every
//! row of a batch): the forward kernel reads the smaller one in place instead
//! of materialising a broadcast copy. So each VJP rule sums the cotangent back
//! to its operand's shape (`sum_to`, a no-op when the shapes agree), and a JVP
//! rule whose result could come out in the smaller shape broadcasts it.

use super::{sum_present, Primitive};
use crate::real::Real;
use crate::tape::Var;
use crate::tensor::Tensor;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

/// The two operands of a binary primitive, checking that one of them has the
/// result's shape and the other broadcasts to it.
fn operands<'a, T: Real>(name: &str, inputs: &[&'a Tensor<T>]) -> (&'a Tensor<T>, &'a Tensor<T>) {
    let (a, b) = (inputs[0], inputs[1]);
    let fits = crate::tensor::broadcast_shapes(a.shape(), b.shape())
        .is_some_and(|out| out == a.shape() || out == b.shape());
    assert!(
        fits,
        "{name}: operand shapes {:?} and {:?} do not broadcast to the shape of one of them",
        a.shape(),
        b.shape()
    );
    (a, b)
}

/// `a + b`. VJP `(Σ ȳ, Σ ȳ)`, each summed to its operand's shape; JVP `ȧ + ḃ`.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::Add;
/// let tape = Tape::new();
/// let (a, b) = (tape.input(Tensor::vector(&[1.0, 2.0])), tape.input(Tensor::vector(&[3.0, 5.0])));
/// assert_eq!(tape.apply(Add, &[a, b]).to_vec(), vec![4.0, 7.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Add;

impl<T: Real> Primitive<T> for Add {
    fn name(&self) -> String {
        "add".to_string()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (a, b) = operands("add", inputs);
        a.zip_map(b, |x, y| x + y)
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        wanted: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        vec![
            wanted[0].then(|| g.sum_to(&x[0].shape())),
            wanted[1].then(|| g.sum_to(&x[1].shape())),
        ]
    }
    fn jvp<'t>(&self, _: &[Var<'t, T>], y: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        sum_present([t[0], t[1]]).broadcast_to(&y.shape())
    }
}

/// `a - b`. VJP `(Σ ȳ, -Σ ȳ)`, each summed to its operand's shape; JVP `ȧ - ḃ`.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::Sub;
/// let tape = Tape::new();
/// let (a, b) = (tape.input(Tensor::vector(&[1.0, 2.0])), tape.input(Tensor::vector(&[3.0, 5.0])));
/// assert_eq!(tape.apply(Sub, &[a, b]).to_vec(), vec![-2.0, -3.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Sub;

impl<T: Real> Primitive<T> for Sub {
    fn name(&self) -> String {
        "sub".to_string()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (a, b) = operands("sub", inputs);
        a.zip_map(b, |x, y| x - y)
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        wanted: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        vec![
            wanted[0].then(|| g.sum_to(&x[0].shape())),
            wanted[1].then(|| -g.sum_to(&x[1].shape())),
        ]
    }
    fn jvp<'t>(&self, _: &[Var<'t, T>], y: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        let tangent = match (t[0], t[1]) {
            (Some(ta), Some(tb)) => ta - tb,
            (Some(ta), None) => ta,
            (None, Some(tb)) => -tb,
            (None, None) => unreachable!("a JVP rule was called with no tangent at all"),
        };
        tangent.broadcast_to(&y.shape())
    }
}

/// `a ⊙ b` (element-wise). VJP `(Σ ȳ⊙b, Σ ȳ⊙a)`, each summed to its
/// operand's shape; JVP `ȧ⊙b + a⊙ḃ`.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::Mul;
/// let tape = Tape::new();
/// let (a, b) = (tape.input(Tensor::vector(&[1.0, 2.0])), tape.input(Tensor::vector(&[3.0, 5.0])));
/// assert_eq!(tape.apply(Mul, &[a, b]).to_vec(), vec![3.0, 10.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Mul;

impl<T: Real> Primitive<T> for Mul {
    fn name(&self) -> String {
        "mul".to_string()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (a, b) = operands("mul", inputs);
        a.zip_map(b, |x, y| x * y)
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        wanted: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        vec![
            wanted[0].then(|| (g * x[1]).sum_to(&x[0].shape())),
            wanted[1].then(|| (g * x[0]).sum_to(&x[1].shape())),
        ]
    }
    fn jvp<'t>(&self, x: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        // Each product has one full-shaped factor, so the sum is full-shaped.
        sum_present([t[0].map(|ta| ta * x[1]), t[1].map(|tb| x[0] * tb)])
    }
}

/// `a / b` (element-wise), `y = a/b`. VJP `(Σ ȳ/b, -Σ ȳ⊙y/b)`, each summed
/// to its operand's shape; JVP `(ȧ - y⊙ḃ)/b`.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::Div;
/// let tape = Tape::new();
/// let (a, b) = (tape.input(Tensor::vector(&[3.0, 5.0])), tape.input(Tensor::vector(&[2.0, 4.0])));
/// assert_eq!(tape.apply(Div, &[a, b]).to_vec(), vec![1.5, 1.25]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Div;

impl<T: Real> Primitive<T> for Div {
    fn name(&self) -> String {
        "div".to_string()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (a, b) = operands("div", inputs);
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
        vec![
            wanted[0].then(|| ga.sum_to(&x[0].shape())),
            wanted[1].then(|| -(ga * y).sum_to(&x[1].shape())),
        ]
    }
    fn jvp<'t>(&self, x: &[Var<'t, T>], y: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        // y and every quotient by b are full-shaped.
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
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::Affine;
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
/// assert_eq!(tape.apply(Affine { scale: 2.0, shift: 1.0 }, &[x]).to_vec(), vec![3.0, 5.0]);
/// ```
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
