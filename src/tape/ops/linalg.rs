//! Matrix product and transpose.

use super::{sum_present, Primitive};
use crate::real::Real;
use crate::tape::Var;
use crate::tensor::Tensor;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

/// `y = op(a)·op(b)`, where `op` transposes an operand whose flag is set. The
/// flags let the rules below multiply by transposes without materialising them.
///
/// With `A = op(a)`, `B = op(b)`: `Ā = ȳ·Bᵀ`, `B̄ = Aᵀ·ȳ` (VJP), and
/// `ẏ = Ȧ·B + A·Ḃ` (JVP); `ā` is `Ā` or `Āᵀ` as the flag says.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::MatMul;
/// let tape = Tape::new();
/// let a = tape.input(Tensor::from_rows(&[vec![1.0, 2.0]]).unwrap());
/// let b = tape.input(Tensor::from_rows(&[vec![3.0], vec![4.0]]).unwrap());
/// let plain = MatMul { transpose_a: false, transpose_b: false };
/// assert_eq!(tape.apply(plain, &[a, b]).to_vec(), vec![11.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MatMul {
    /// Whether `a` enters transposed.
    pub transpose_a: bool,
    /// Whether `b` enters transposed.
    pub transpose_b: bool,
}

impl<T: Real> Primitive<T> for MatMul {
    fn name(&self) -> String {
        let t = |flag: bool| if flag { "ᵀ" } else { "" };
        alloc::format!("matmul[a{}·b{}]", t(self.transpose_a), t(self.transpose_b))
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        inputs[0].matmul_t(inputs[1], self.transpose_a, self.transpose_b)
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        wanted: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        let (a, b) = (x[0], x[1]);
        // Ā = ȳBᵀ and B̄ = Aᵀȳ, transposed back where the operand entered
        // transposed, with (XY)ᵀ = YᵀXᵀ folded into the flags. Only the wanted
        // products are recorded.
        let da = || match (self.transpose_a, self.transpose_b) {
            (false, false) => g.matmul_t(b, false, true),
            (false, true) => g.matmul_t(b, false, false),
            (true, false) => b.matmul_t(g, false, true),
            (true, true) => b.matmul_t(g, true, true),
        };
        let db = || match (self.transpose_a, self.transpose_b) {
            (false, false) => a.matmul_t(g, true, false),
            (false, true) => g.matmul_t(a, true, false),
            (true, false) => a.matmul_t(g, false, false),
            (true, true) => g.matmul_t(a, true, true),
        };
        vec![wanted[0].then(da), wanted[1].then(db)]
    }
    fn jvp<'t>(&self, x: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        let (ta, tb) = (self.transpose_a, self.transpose_b);
        sum_present([
            t[0].map(|da| da.matmul_t(x[1], ta, tb)),
            t[1].map(|db| x[0].matmul_t(db, ta, tb)),
        ])
    }
}

/// The transpose of a matrix. VJP `ȳᵀ`; JVP `ẋᵀ`.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::Transpose;
/// let tape = Tape::new();
/// let m = tape.input(Tensor::from_rows(&[vec![1.0, 2.0]]).unwrap());
/// assert_eq!(tape.apply(Transpose, &[m]).shape(), vec![2, 1]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Transpose;

impl<T: Real> Primitive<T> for Transpose {
    fn name(&self) -> String {
        "transpose".to_string()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        inputs[0].transpose()
    }
    fn vjp<'t>(
        &self,
        _: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        _: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        vec![Some(g.transpose())]
    }
    fn jvp<'t>(&self, _: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        t[0].expect("transpose JVP without a tangent").transpose()
    }
}
