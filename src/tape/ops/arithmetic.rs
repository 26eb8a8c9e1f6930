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
use crate::tape::laplacian::{add_optional, dot_directions, lift};
use crate::tape::Jet;
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

/// The stacked Jacobians of a binary primitive's operands, each lifted to the
/// result's `shape`, and their Laplacians (operand-shaped).
#[allow(clippy::type_complexity)]
fn lifted<'t, T: Real>(
    jets: &[Option<Jet<'t, T>>],
    shape: &[usize],
) -> [(Option<Var<'t, T>>, Option<Var<'t, T>>); 2] {
    let part = |jet: Option<Jet<'t, T>>| {
        (
            jet.map(|j| lift(j.jacobian, shape)),
            jet.and_then(|j| j.laplacian),
        )
    };
    [part(jets[0]), part(jets[1])]
}

/// `a + b`. VJP `(Σ ȳ, Σ ȳ)`, each summed to its operand's shape; JVP `ȧ + ḃ`;
/// Laplacian `(J_a + J_b, L_a + L_b)`.
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
    fn laplacian<'t>(
        &self,
        _: &[Var<'t, T>],
        y: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let shape = y.shape();
        let [(ja, la), (jb, lb)] = lifted(jets, &shape);
        Some(Jet {
            jacobian: sum_present([ja, jb]),
            laplacian: add_optional(la, lb).map(|l| l.broadcast_to(&shape)),
        })
    }
}

/// `a - b`. VJP `(Σ ȳ, -Σ ȳ)`, each summed to its operand's shape; JVP `ȧ - ḃ`;
/// Laplacian `(J_a - J_b, L_a - L_b)`.
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
    fn laplacian<'t>(
        &self,
        _: &[Var<'t, T>],
        y: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let shape = y.shape();
        let [(ja, la), (jb, lb)] = lifted(jets, &shape);
        Some(Jet {
            jacobian: sum_present([ja, jb.map(|j| -j)]),
            laplacian: add_optional(la, lb.map(|l| -l)).map(|l| l.broadcast_to(&shape)),
        })
    }
}

/// `a ⊙ b` (element-wise). VJP `(Σ ȳ⊙b, Σ ȳ⊙a)`, each summed to its
/// operand's shape; JVP `ȧ⊙b + a⊙ḃ`; Laplacian `(J_a⊙b + a⊙J_b,
/// L_a⊙b + a⊙L_b + 2 Σₖ J_a,k⊙J_b,k)`.
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
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        y: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let [(ja, la), (jb, lb)] = lifted(jets, &y.shape());
        // Each product has one result-shaped factor, so each term is result-shaped.
        let cross = ja
            .zip(jb)
            .map(|(ja, jb)| dot_directions(ja, jb) * T::cast(2.0));
        let linear = add_optional(la.map(|l| l * x[1]), lb.map(|l| x[0] * l));
        Some(Jet {
            jacobian: sum_present([ja.map(|j| j * x[1]), jb.map(|j| x[0] * j)]),
            laplacian: add_optional(linear, cross),
        })
    }
}

/// `a / b` (element-wise), `y = a/b`. VJP `(Σ ȳ/b, -Σ ȳ⊙y/b)`, each summed
/// to its operand's shape; JVP `(ȧ - y⊙ḃ)/b`; Laplacian
/// `J = (J_a - y⊙J_b)/b`, `L = (L_a - y⊙L_b - 2 Σₖ J_k⊙J_b,k)/b` (from the
/// product rule for `a = y⊙b`).
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
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        y: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let [(ja, la), (jb, lb)] = lifted(jets, &y.shape());
        let jacobian = sum_present([ja, jb.map(|j| -(y * j))]) / x[1];
        let cross = jb.map(|jb| dot_directions(jacobian, jb) * T::cast(-2.0));
        let numerator = add_optional(add_optional(la, lb.map(|l| -(y * l))), cross);
        Some(Jet {
            jacobian,
            laplacian: numerator.map(|n| n / x[1]),
        })
    }
}

/// `scale·x + shift` with scalar constants: covers negation, scaling and
/// adding a number. VJP `scale·ȳ`; JVP `scale·ẋ`; Laplacian `(scale·J, scale·L)`.
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
    fn laplacian<'t>(
        &self,
        _: &[Var<'t, T>],
        _: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let jet = jets[0].expect("affine Laplacian rule without a jet");
        let scale = |v: Var<'t, T>| v.affine(self.scale, T::zero());
        Some(Jet {
            jacobian: scale(jet.jacobian),
            laplacian: jet.laplacian.map(scale),
        })
    }
}
