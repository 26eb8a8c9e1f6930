//! Choosing, element by element, between two operands by a fixed condition:
//! the one primitive behind the piecewise operations (`abs`, `relu`, `clamp`,
//! `max`, `min`, `Var::select`).

use super::Primitive;
use crate::real::Real;
use crate::tape::laplacian::with_directions;
use crate::tape::{Jet, Var};
use crate::tensor::Tensor;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// `y = condition ? a : b`, element by element, for two inputs `a` and `b` of
/// one shape and a constant condition in row-major order.
///
/// The condition is data, not an input, so `y` is linear in `(a, b)` with a
/// 0/1 diagonal Jacobian: VJP `ā = select(c, ȳ, 0)`, `b̄ = select(c, 0, ȳ)`;
/// JVP `ẏ = select(c, ȧ, ḃ)`; Laplacian `(select(c, J_a, J_b),
/// select(c, L_a, L_b))`, the condition repeated for each direction. Unlike `c·a + (1 - c)·b`, the branch not
/// taken is never multiplied, so an infinite or NaN value there does not
/// leak into `y`.
///
/// ```
/// use scoretape::{grad, Tape, Tensor};
/// use scoretape::tape::ops::Select;
/// let tape = Tape::new();
/// let a = tape.input(Tensor::vector(&[1.0, 2.0]));
/// let b = tape.input(Tensor::vector(&[10.0, f64::INFINITY]));
/// let y = tape.apply(Select(vec![false, true].into()), &[a, b]);
/// assert_eq!(y.to_vec(), vec![10.0, 2.0]);
/// let g = grad(y.sum(), &[a, b]).unwrap();
/// assert_eq!(g[0].to_vec(), vec![0.0, 1.0]);
/// assert_eq!(g[1].to_vec(), vec![1.0, 0.0]);
/// ```
#[derive(Clone, Debug)]
pub struct Select(pub Rc<[bool]>);

impl Select {
    /// `select(c, a, b)` on the tape, with `None` standing for zeros of
    /// `shape` (at least one of `a`, `b` is `Some`).
    fn apply_or_zero<'t, T: Real>(
        &self,
        a: Option<Var<'t, T>>,
        b: Option<Var<'t, T>>,
        shape: &[usize],
    ) -> Var<'t, T> {
        let tape = a.or(b).expect("select: both operands are zero").tape();
        let zeros = || tape.constant(Tensor::zeros(shape));
        let a = a.unwrap_or_else(zeros);
        let b = b.unwrap_or_else(zeros);
        tape.apply(self.clone(), &[a, b])
    }
}

impl<T: Real> Primitive<T> for Select {
    fn name(&self) -> String {
        let taken = self.0.iter().filter(|&&c| c).count();
        alloc::format!("select[{taken} of {}]", self.0.len())
    }

    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (a, b) = (inputs[0], inputs[1]);
        assert_eq!(a.shape(), b.shape(), "select: operand shapes differ");
        assert_eq!(
            self.0.len(),
            a.len(),
            "select: {} conditions for {} elements",
            self.0.len(),
            a.len()
        );
        let (a, b) = (a.data(), b.data());
        Tensor::from_fn(inputs[0].shape(), |i| if self.0[i] { a[i] } else { b[i] })
    }

    fn vjp<'t>(
        &self,
        inputs: &[Var<'t, T>],
        _output: Var<'t, T>,
        cotangent: Var<'t, T>,
        wanted: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        let shape = inputs[0].shape();
        let to_a = wanted[0].then(|| self.apply_or_zero(Some(cotangent), None, &shape));
        let to_b = wanted[1].then(|| self.apply_or_zero(None, Some(cotangent), &shape));
        vec![to_a, to_b]
    }

    fn jvp<'t>(
        &self,
        inputs: &[Var<'t, T>],
        _output: Var<'t, T>,
        tangents: &[Option<Var<'t, T>>],
    ) -> Var<'t, T> {
        self.apply_or_zero(tangents[0], tangents[1], &inputs[0].shape())
    }

    fn laplacian<'t>(
        &self,
        inputs: &[Var<'t, T>],
        _output: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let shape = inputs[0].shape();
        let m = jets
            .iter()
            .flatten()
            .map(|j| j.jacobian.shape()[0])
            .next()
            .expect("select Laplacian rule without a jet");
        // The stack [m] ++ shape holds m copies of the element order.
        let repeated: Rc<[bool]> = (0..m).flat_map(|_| self.0.iter().copied()).collect();
        let jacobian = Select(repeated).apply_or_zero(
            jets[0].map(|j| j.full_jacobian(&shape)),
            jets[1].map(|j| j.full_jacobian(&shape)),
            &with_directions(m, &shape),
        );
        let (la, lb) = (
            jets[0].and_then(|j| j.laplacian),
            jets[1].and_then(|j| j.laplacian),
        );
        let laplacian = (la.is_some() || lb.is_some()).then(|| self.apply_or_zero(la, lb, &shape));
        Some(Jet {
            jacobian,
            laplacian,
        })
    }
}
