//! Primitives that move, copy or sum elements: reshape, broadcast and its
//! adjoint sum, slice and its adjoint concatenation, gather and its adjoint
//! scatter-add. Each pair's VJP rules are each other.
//!
//! All are linear, so each Laplacian rule applies the operation to the
//! Laplacian as it is and to the stacked Jacobian one axis further right (its
//! first axis holds the directions).

use super::Primitive;
use crate::real::Real;
use crate::tape::laplacian::{lift, with_directions};
use crate::tape::Jet;
use crate::tape::Var;
use crate::tensor::Tensor;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// The jet of a one-input linear primitive: `jacobian` applied to the
/// stacked Jacobian (in the full shape of the input `x`), `laplacian` to the
/// Laplacian.
fn linear_jet<'t, T: Real>(
    x: Var<'t, T>,
    jets: &[Option<Jet<'t, T>>],
    name: &str,
    jacobian: impl FnOnce(Var<'t, T>) -> Var<'t, T>,
    laplacian: impl FnOnce(Var<'t, T>) -> Var<'t, T>,
) -> Option<Jet<'t, T>> {
    let jet = jets[0].unwrap_or_else(|| panic!("{name} Laplacian rule without a jet"));
    Some(Jet {
        jacobian: jacobian(jet.full_jacobian(&x.shape())),
        laplacian: jet.laplacian.map(laplacian),
    })
}

fn first_tangent<'t, T: Real>(tangents: &[Option<Var<'t, T>>], name: &str) -> Var<'t, T> {
    tangents[0].unwrap_or_else(|| panic!("{name} JVP without a tangent"))
}

/// The same elements under a new shape. VJP reshapes back; JVP reshapes.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::Reshape;
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0, 3.0, 4.0]));
/// assert_eq!(tape.apply(Reshape(vec![2, 2]), &[x]).shape(), vec![2, 2]);
/// ```
#[derive(Clone, Debug)]
pub struct Reshape(pub Vec<usize>);

impl<T: Real> Primitive<T> for Reshape {
    fn name(&self) -> String {
        alloc::format!("reshape{:?}", self.0)
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        inputs[0].reshape(&self.0)
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        _: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        vec![Some(g.reshape(&x[0].shape()))]
    }
    fn jvp<'t>(&self, _: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        first_tangent(t, "reshape").reshape(&self.0)
    }
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let m = jets[0].map_or(0, |j| j.jacobian.shape()[0]);
        linear_jet(
            x[0],
            jets,
            "reshape",
            |j| j.reshape(&with_directions(m, &self.0)),
            |l| l.reshape(&self.0),
        )
    }
}

/// Repeats the input along broadcast axes up to a shape. Its adjoint sums
/// the copies back: VJP `sum_to(ȳ, shape(x))`; JVP broadcasts the tangent.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::BroadcastTo;
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
/// assert_eq!(tape.apply(BroadcastTo(vec![2, 2]), &[x]).to_vec(), vec![1.0, 2.0, 1.0, 2.0]);
/// ```
#[derive(Clone, Debug)]
pub struct BroadcastTo(pub Vec<usize>);

impl<T: Real> Primitive<T> for BroadcastTo {
    fn name(&self) -> String {
        alloc::format!("broadcast_to{:?}", self.0)
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        inputs[0].broadcast_to(&self.0)
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        _: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        vec![Some(g.sum_to(&x[0].shape()))]
    }
    fn jvp<'t>(&self, _: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        first_tangent(t, "broadcast_to").broadcast_to(&self.0)
    }
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        linear_jet(
            x[0],
            jets,
            "broadcast_to",
            |j| lift(j, &self.0),
            |l| l.broadcast_to(&self.0),
        )
    }
}

/// Sums over the axes along which the target shape would be broadcast (all
/// axes, for the scalar shape `[]`). VJP broadcasts `ȳ` back; JVP sums the tangent.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::SumTo;
/// let tape = Tape::new();
/// let m = tape.input(Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap());
/// assert_eq!(tape.apply(SumTo(vec![2]), &[m]).to_vec(), vec![4.0, 6.0]);
/// assert_eq!(tape.apply(SumTo(vec![]), &[m]).item(), 10.0);
/// ```
#[derive(Clone, Debug)]
pub struct SumTo(pub Vec<usize>);

impl<T: Real> Primitive<T> for SumTo {
    fn name(&self) -> String {
        alloc::format!("sum_to{:?}", self.0)
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        inputs[0].sum_to(&self.0)
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        _: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        vec![Some(g.broadcast_to(&x[0].shape()))]
    }
    fn jvp<'t>(&self, _: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        first_tangent(t, "sum_to").sum_to(&self.0)
    }
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        // The target shape is aligned with the input's trailing axes: pad it
        // with ones up to the input's rank, so the direction axis is kept.
        let sum_jacobian = |j: Var<'t, T>| {
            let from = j.shape();
            let mut padded = vec![1; from.len() - 1 - self.0.len()];
            padded.extend_from_slice(&self.0);
            j.sum_to(&with_directions(from[0], &padded))
                .reshape(&with_directions(from[0], &self.0))
        };
        linear_jet(x[0], jets, "sum_to", sum_jacobian, |l| l.sum_to(&self.0))
    }
}

/// Entries `start..end` along `axis`. VJP places `ȳ` between zeros (a
/// concatenation); JVP slices the tangent.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::Slice;
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0, 3.0]));
/// assert_eq!(tape.apply(Slice { axis: 0, start: 1, end: 3 }, &[x]).to_vec(), vec![2.0, 3.0]);
/// ```
#[derive(Clone, Debug)]
pub struct Slice {
    /// The axis sliced along.
    pub axis: usize,
    /// First index kept.
    pub start: usize,
    /// One past the last index kept.
    pub end: usize,
}

impl<T: Real> Primitive<T> for Slice {
    fn name(&self) -> String {
        alloc::format!("slice[axis {}, {}..{}]", self.axis, self.start, self.end)
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        inputs[0].slice(self.axis, self.start, self.end)
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        _: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        let full = x[0].shape();
        let zeros = |len: usize| {
            let mut shape = full.clone();
            shape[self.axis] = len;
            g.tape().constant(Tensor::zeros(&shape))
        };
        let mut parts = Vec::with_capacity(3);
        if self.start > 0 {
            parts.push(zeros(self.start));
        }
        parts.push(g);
        if self.end < full[self.axis] {
            parts.push(zeros(full[self.axis] - self.end));
        }
        vec![Some(Var::concat(&parts, self.axis))]
    }
    fn jvp<'t>(&self, _: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        first_tangent(t, "slice").slice(self.axis, self.start, self.end)
    }
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        linear_jet(
            x[0],
            jets,
            "slice",
            |j| j.slice(self.axis + 1, self.start, self.end),
            |l| l.slice(self.axis, self.start, self.end),
        )
    }
}

/// Joins its inputs along `axis`. VJP slices `ȳ` into the inputs' pieces;
/// JVP concatenates the tangents (zeros where an input has none).
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::Concat;
/// let tape = Tape::new();
/// let (a, b) = (tape.input(Tensor::vector(&[1.0])), tape.input(Tensor::vector(&[2.0, 3.0])));
/// assert_eq!(tape.apply(Concat { axis: 0 }, &[a, b]).to_vec(), vec![1.0, 2.0, 3.0]);
/// ```
#[derive(Clone, Debug)]
pub struct Concat {
    /// The axis joined along.
    pub axis: usize,
}

impl<T: Real> Primitive<T> for Concat {
    fn name(&self) -> String {
        alloc::format!("concat[axis {}]", self.axis)
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        Tensor::concat(inputs, self.axis)
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        wanted: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        let mut start = 0;
        x.iter()
            .zip(wanted)
            .map(|(part, &want)| {
                let len = part.shape()[self.axis];
                start += len;
                want.then(|| g.slice(self.axis, start - len, start))
            })
            .collect()
    }
    fn jvp<'t>(&self, x: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        let tangents: Vec<Var<'t, T>> = x
            .iter()
            .zip(t)
            .map(|(part, tangent)| {
                tangent.unwrap_or_else(|| part.tape().constant(Tensor::zeros(&part.shape())))
            })
            .collect();
        Var::concat(&tangents, self.axis)
    }
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let m = jets
            .iter()
            .flatten()
            .map(|j| j.jacobian.shape()[0])
            .next()
            .expect("concat Laplacian rule without a jet");
        let zeros = |shape: &[usize]| x[0].tape().constant(Tensor::zeros(shape));
        let jacobians: Vec<Var<'t, T>> = x
            .iter()
            .zip(jets)
            .map(|(part, jet)| {
                jet.map_or_else(
                    || zeros(&with_directions(m, &part.shape())),
                    |j| j.full_jacobian(&part.shape()),
                )
            })
            .collect();
        let laplacian = jets
            .iter()
            .any(|j| j.is_some_and(|j| j.laplacian.is_some()))
            .then(|| {
                let parts: Vec<Var<'t, T>> = x
                    .iter()
                    .zip(jets)
                    .map(|(part, jet)| {
                        jet.and_then(|j| j.laplacian)
                            .unwrap_or_else(|| zeros(&part.shape()))
                    })
                    .collect();
                Var::concat(&parts, self.axis)
            });
        Some(Jet {
            jacobian: Var::concat(&jacobians, self.axis + 1),
            laplacian,
        })
    }
}

/// Entries picked along `axis` by index (repeats allowed). VJP scatter-adds
/// `ȳ` back to the picked places; JVP gathers the tangent.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::Gather;
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0, 3.0]));
/// let pick = Gather { axis: 0, indices: vec![2, 0, 2].into() };
/// assert_eq!(tape.apply(pick, &[x]).to_vec(), vec![3.0, 1.0, 3.0]);
/// ```
#[derive(Clone, Debug)]
pub struct Gather {
    /// The axis indexed along.
    pub axis: usize,
    /// The indices picked, in output order.
    pub indices: Rc<[usize]>,
}

impl<T: Real> Primitive<T> for Gather {
    fn name(&self) -> String {
        alloc::format!("gather[axis {}, {:?}]", self.axis, self.indices)
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        inputs[0].gather(self.axis, &self.indices)
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        _: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        let size = x[0].shape()[self.axis];
        let scatter = ScatterAdd {
            axis: self.axis,
            indices: Rc::clone(&self.indices),
            size,
        };
        vec![Some(g.tape().apply(scatter, &[g]))]
    }
    fn jvp<'t>(&self, _: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        let tangent = first_tangent(t, "gather");
        tangent.tape().apply(self.clone(), &[tangent])
    }
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let on_jacobian = Gather {
            axis: self.axis + 1,
            indices: Rc::clone(&self.indices),
        };
        linear_jet(
            x[0],
            jets,
            "gather",
            |j| j.tape().apply(on_jacobian, &[j]),
            |l| l.tape().apply(self.clone(), &[l]),
        )
    }
}

/// The adjoint of [`Gather`]: entry `indices[k]` of the output (of length
/// `size` along `axis`) accumulates entry `k` of the input. VJP gathers `ȳ`;
/// JVP scatter-adds the tangent.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::ScatterAdd;
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0, 3.0]));
/// let scatter = ScatterAdd { axis: 0, indices: vec![1, 0, 1].into(), size: 2 };
/// assert_eq!(tape.apply(scatter, &[x]).to_vec(), vec![2.0, 4.0]);
/// ```
#[derive(Clone, Debug)]
pub struct ScatterAdd {
    /// The axis indexed along.
    pub axis: usize,
    /// Where each input entry goes.
    pub indices: Rc<[usize]>,
    /// The output's length along `axis`.
    pub size: usize,
}

impl<T: Real> Primitive<T> for ScatterAdd {
    fn name(&self) -> String {
        alloc::format!(
            "scatter_add[axis {}, {:?}, size {}]",
            self.axis,
            self.indices,
            self.size
        )
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        inputs[0].scatter_add(self.axis, &self.indices, self.size)
    }
    fn vjp<'t>(
        &self,
        _: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        _: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        let gather = Gather {
            axis: self.axis,
            indices: Rc::clone(&self.indices),
        };
        vec![Some(g.tape().apply(gather, &[g]))]
    }
    fn jvp<'t>(&self, _: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        let tangent = first_tangent(t, "scatter_add");
        tangent.tape().apply(self.clone(), &[tangent])
    }
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let on_jacobian = ScatterAdd {
            axis: self.axis + 1,
            indices: Rc::clone(&self.indices),
            size: self.size,
        };
        linear_jet(
            x[0],
            jets,
            "scatter_add",
            |j| j.tape().apply(on_jacobian, &[j]),
            |l| l.tape().apply(self.clone(), &[l]),
        )
    }
}
