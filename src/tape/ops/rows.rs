//! Matrix products of a stack of rows: a tensor `x` of shape `[…, c]` read as
//! a matrix with one row per position of its leading axes.
//!
//! The forward Laplacian carries, for a node of shape `[B, h]`, a stack of `m`
//! derivatives of shape `[m, B, h]`; a layer `v·W` maps the stack to
//! `[m, B, h']`. [`MatMul`](super::MatMul) takes matrices, so that product
//! would be a reshape to `[m·B, h]`, the product, and a reshape back, and the
//! engine's reshapes copy: two extra passes over the largest tensors of the
//! sweep, and two more in the reverse sweep. These primitives read the stack
//! in place.

use super::{sum_present, Primitive};
use crate::real::Real;
use crate::tape::laplacian::{add_optional, direction, each_direction};
use crate::tape::{Jet, Var};
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// `(rows, columns, strides)` of the matrix a shape holds: its last axis the
/// columns, every other axis the rows.
fn rows_of(shape: &[usize]) -> (usize, usize) {
    let columns = shape.last().copied().unwrap_or(1);
    let rows = shape[..shape.len().saturating_sub(1)].iter().product();
    (rows, columns)
}

/// Row and column strides of the 2-D `b`, read transposed when `transposed`.
fn matrix(shape: &[usize], transposed: bool) -> (usize, usize, [isize; 2]) {
    assert!(
        shape.len() == 2,
        "rows_matmul: the right operand of shape {shape:?} is not a matrix"
    );
    let (r, c) = (shape[0], shape[1]);
    if transposed {
        (c, r, [1, c as isize])
    } else {
        (r, c, [c as isize, 1])
    }
}

/// `y = x·op(b)`: every row of `x` (shape `[…, c]`) times the matrix `op(b)`
/// (`c×n`; `op` transposes when `transpose_b` is set), giving `[…, n]`. VJP
/// `x̄ = ȳ·op(b)ᵀ`, `op(b)̄ = Σ_rows xᵀȳ` ([`RowsGram`]); JVP
/// `ẋ·op(b) + x·op(ḃ)`; Laplacian `J_k = J_x,k·op(b) + x·op(J_b,k)`,
/// `L = L_x·op(b) + x·op(L_b) + 2 Σₖ J_x,k·op(J_b,k)`.
///
/// ```
/// use scoretape::tape::ops::RowsMatMul;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::from_vec(&[2, 1, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap());
/// let b = tape.input(Tensor::from_rows(&[vec![1.0], vec![10.0]]).unwrap());
/// let y = tape.apply(RowsMatMul { transpose_b: false }, &[x, b]);
/// assert_eq!(y.shape(), vec![2, 1, 1]);
/// assert_eq!(y.to_vec(), vec![21.0, 43.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RowsMatMul {
    /// Whether `b` enters transposed.
    pub transpose_b: bool,
}

impl<T: Real> Primitive<T> for RowsMatMul {
    fn name(&self) -> String {
        alloc::format!(
            "rows_matmul[x·b{}]",
            if self.transpose_b { "ᵀ" } else { "" }
        )
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (x, b) = (inputs[0], inputs[1]);
        let (rows, c) = rows_of(x.shape());
        let (k, n, b_strides) = matrix(b.shape(), self.transpose_b);
        assert!(
            x.ndim() >= 1 && c == k,
            "rows_matmul: rows of length {c} (from {:?}) times a {k}×{n} matrix",
            x.shape()
        );
        let mut data = crate::tensor::pool_take(rows * n);
        T::gemm_into(
            rows,
            c,
            n,
            x.data(),
            [c as isize, 1],
            b.data(),
            b_strides,
            &mut data,
        );
        let mut shape = x.shape().to_vec();
        *shape.last_mut().expect("x has an axis") = n;
        Tensor::from_vec(&shape, data).expect("the product has one row per row of x")
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        wanted: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        let (a, b) = (x[0], x[1]);
        let tape = g.tape();
        let flipped = RowsMatMul {
            transpose_b: !self.transpose_b,
        };
        let db = || {
            if self.transpose_b {
                tape.apply(RowsGram, &[g, a])
            } else {
                tape.apply(RowsGram, &[a, g])
            }
        };
        vec![
            wanted[0].then(|| tape.apply(flipped, &[g, b])),
            wanted[1].then(db),
        ]
    }
    fn jvp<'t>(&self, x: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        let tape = x[0].tape();
        sum_present([
            t[0].map(|dx| tape.apply(*self, &[dx, x[1]])),
            t[1].map(|db| tape.apply(*self, &[x[0], db])),
        ])
    }
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let (a, b) = (x[0], x[1]);
        let (sa, sb) = (a.shape(), b.shape());
        let tape = a.tape();
        let product = |l: Var<'t, T>, r: Var<'t, T>| tape.apply(*self, &[l, r]);
        // A stack is itself rows of length c, even stored once along an
        // axis ([m, 1, c]): one product for all directions.
        let left = |jet: Jet<'t, T>| {
            let j = if jet.jacobian.shape().last() == sa.last() {
                jet.jacobian
            } else {
                jet.full_jacobian(&sa)
            };
            product(j, b)
        };
        let (ja, jb) = (
            jets[0].map(|j| j.full_jacobian(&sa)),
            jets[1].map(|j| j.full_jacobian(&sb)),
        );
        let cross = ja.zip(jb).and_then(|(ja, jb)| {
            (0..ja.shape()[0])
                .map(|k| product(direction(ja, k, &sa), direction(jb, k, &sb)))
                .reduce(|p, q| p + q)
                .map(|products| products * T::cast(2.0))
        });
        let linear = add_optional(
            jets[0].and_then(|j| j.laplacian).map(|l| product(l, b)),
            jets[1].and_then(|j| j.laplacian).map(|l| product(a, l)),
        );
        Some(Jet {
            jacobian: sum_present([
                jets[0].map(left),
                jb.map(|j| each_direction(j, |jk| product(a, jk))),
            ]),
            laplacian: add_optional(linear, cross),
        })
    }
}

/// `y = Σ_rows aᵀg`: the rows of `a` (`[…, c]`) against the rows of `g`
/// (`[…, n]`, the same leading axes), a `c×n` matrix. It is the weight
/// cotangent of [`RowsMatMul`]. VJP `ā = g·ȳᵀ`, `ḡ = a·ȳ` (row by row); JVP
/// `Σ ȧᵀg + aᵀġ`; Laplacian `J_k = Σ J_a,kᵀg + aᵀJ_g,k`,
/// `L = Σ L_aᵀg + aᵀL_g + 2 Σₖ J_a,kᵀJ_g,k`.
///
/// ```
/// use scoretape::tape::ops::RowsGram;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let a = tape.input(Tensor::from_vec(&[2, 1, 1], vec![1.0, 2.0]).unwrap());
/// let g = tape.input(Tensor::from_vec(&[2, 1, 2], vec![1.0, 0.0, 3.0, 1.0]).unwrap());
/// let y = tape.apply(RowsGram, &[a, g]);
/// assert_eq!(y.shape(), vec![1, 2]);
/// assert_eq!(y.to_vec(), vec![7.0, 2.0]); // 1·(1, 0) + 2·(3, 1)
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RowsGram;

impl<T: Real> Primitive<T> for RowsGram {
    fn name(&self) -> String {
        "rows_gram".into()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let (a, g) = (inputs[0], inputs[1]);
        let ((rows, c), (rows_g, n)) = (rows_of(a.shape()), rows_of(g.shape()));
        let (la, lg) = (a.shape().len(), g.shape().len());
        assert!(
            la >= 1 && lg == la && a.shape()[..la - 1] == g.shape()[..lg - 1] && rows == rows_g,
            "rows_gram: leading axes of {:?} and {:?} differ",
            a.shape(),
            g.shape()
        );
        let mut data = crate::tensor::pool_take(c * n);
        // aᵀ is a with swapped strides: c rows of stride 1, `rows` columns of stride c.
        T::gemm_into(
            c,
            rows,
            n,
            a.data(),
            [1, c as isize],
            g.data(),
            [n as isize, 1],
            &mut data,
        );
        Tensor::from_vec(&[c, n], data).expect("the product is c×n")
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        ybar: Var<'t, T>,
        wanted: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        let (a, g) = (x[0], x[1]);
        let tape = ybar.tape();
        vec![
            wanted[0].then(|| tape.apply(RowsMatMul { transpose_b: true }, &[g, ybar])),
            wanted[1].then(|| tape.apply(RowsMatMul { transpose_b: false }, &[a, ybar])),
        ]
    }
    fn jvp<'t>(&self, x: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        let tape = x[0].tape();
        sum_present([
            t[0].map(|da| tape.apply(RowsGram, &[da, x[1]])),
            t[1].map(|dg| tape.apply(RowsGram, &[x[0], dg])),
        ])
    }
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let (a, g) = (x[0], x[1]);
        let (sa, sg) = (a.shape(), g.shape());
        let tape = a.tape();
        let gram = |l: Var<'t, T>, r: Var<'t, T>| tape.apply(RowsGram, &[l, r]);
        let (ja, jg) = (
            jets[0].map(|j| j.full_jacobian(&sa)),
            jets[1].map(|j| j.full_jacobian(&sg)),
        );
        let cross = ja.zip(jg).and_then(|(ja, jg)| {
            (0..ja.shape()[0])
                .map(|k| gram(direction(ja, k, &sa), direction(jg, k, &sg)))
                .reduce(|p, q| p + q)
                .map(|products| products * T::cast(2.0))
        });
        let linear = add_optional(
            jets[0].and_then(|j| j.laplacian).map(|l| gram(l, g)),
            jets[1].and_then(|j| j.laplacian).map(|l| gram(a, l)),
        );
        Some(Jet {
            jacobian: sum_present([
                ja.map(|j| each_direction(j, |jk| gram(jk, g))),
                jg.map(|j| each_direction(j, |jk| gram(a, jk))),
            ]),
            laplacian: add_optional(linear, cross),
        })
    }
}
