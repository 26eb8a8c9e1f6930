//! Matrix product and transpose.

use super::{sum_present, Primitive, RowsMatMul};
use crate::real::Real;
use crate::tape::laplacian::{add_optional, direction, each_direction};
use crate::tape::Jet;
use crate::tape::Var;
use crate::tensor::Tensor;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

/// `y = op(a)·op(b)`, where `op` transposes an operand whose flag is set. The
/// flags let the rules below multiply by transposes without materialising them.
///
/// With `A = op(a)`, `B = op(b)`: `Ā = ȳ·Bᵀ`, `B̄ = Aᵀ·ȳ` (VJP), and
/// `ẏ = Ȧ·B + A·Ḃ` (JVP); `ā` is `Ā` or `Āᵀ` as the flag says. Laplacian:
/// `Jₖ = J_A,k·B + A·J_B,k`, `L = L_A·B + A·L_B + 2 Σₖ J_A,k·J_B,k`.
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
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let (a, b) = (x[0], x[1]);
        let (ta, tb) = (self.transpose_a, self.transpose_b);
        let (sa, sb) = (a.shape(), b.shape());
        // With the stack on the left and `a` not transposed, the m products
        // J_A,k·B are one product of the stack's rows, read in place by
        // `RowsMatMul` (the common case: a layer applied to the input). A
        // stack stored once for all r rows, [m, 1, c] (the coordinate
        // directions of a batch), stays so: r times fewer rows. Otherwise one
        // product per direction.
        let left = |jet: Jet<'t, T>| {
            if ta || jet.jacobian.shape()[2] != sa[1] {
                let j = jet.full_jacobian(&sa);
                return each_direction(j, |jk| jk.matmul_t(b, ta, tb));
            }
            a.tape()
                .apply(RowsMatMul { transpose_b: tb }, &[jet.jacobian, b])
        };
        let (ja, jb) = (
            jets[0].map(|j| j.full_jacobian(&sa)),
            jets[1].map(|j| j.full_jacobian(&sb)),
        );
        let right = |j: Var<'t, T>| each_direction(j, |jk| a.matmul_t(jk, ta, tb));
        let cross = ja.zip(jb).and_then(|(ja, jb)| {
            (0..ja.shape()[0])
                .map(|k| direction(ja, k, &sa).matmul_t(direction(jb, k, &sb), ta, tb))
                .reduce(|p, q| p + q)
                .map(|products| products * T::cast(2.0))
        });
        let linear = add_optional(
            jets[0]
                .and_then(|j| j.laplacian)
                .map(|l| l.matmul_t(b, ta, tb)),
            jets[1]
                .and_then(|j| j.laplacian)
                .map(|l| a.matmul_t(l, ta, tb)),
        );
        Some(Jet {
            jacobian: sum_present([jets[0].map(left), jb.map(right)]),
            laplacian: add_optional(linear, cross),
        })
    }
}

/// The transpose of a matrix. VJP `ȳᵀ`; JVP `ẋᵀ`; Laplacian `(J_kᵀ, Lᵀ)`.
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
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let jet = jets[0].expect("transpose Laplacian rule without a jet");
        Some(Jet {
            jacobian: each_direction(jet.full_jacobian(&x[0].shape()), Var::transpose),
            laplacian: jet.laplacian.map(Var::transpose),
        })
    }
}
