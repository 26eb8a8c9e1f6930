//! The forward Laplacian: the Laplacian `Σₖ ∂²y/∂xₖ²` of a recorded value in
//! one forward sweep, instead of one Hessian-vector product per coordinate.
//!
//! Each node `v` on a path from `x` to `y` carries a [`Jet`]: its derivative
//! along each of `m` directions `uₖ` (the *Jacobian* `J`, of shape
//! `[m] ++ shape(v)`, row `k` being `∂v·uₖ`) and its *Laplacian*
//! `L = Σₖ ∂²v[uₖ, uₖ]` (shape `shape(v)`). The input starts as `(J = U, L = 0)`,
//! with the directions `U` stacked along the first axis; with `U = I` the
//! Laplacian of `y` is the trace of its Hessian. A Jacobian that is the same
//! along an axis of the node may be stored once along it (shape `[m] ++ S`
//! with `S` broadcasting to `shape(v)`): the directions that move coordinate
//! `j` of every sample of a batch are `[d, 1, d]`, and a layer `x·W` applied to
//! them is `[d, 1, h]`, `B` times less work than the materialised stack. The rules (Li et al. 2023,
//! "forward Laplacian"):
//!
//! - a linear map `A` acts on all three alike: `(Av, AJ, AL)`;
//! - an element-wise `σ` gives `(σ(v), σ'(v)·J, σ'(v)·L + σ''(v)·Σₖ Jₖ²)`;
//! - a product `a·b` of two nodes that both depend on `x` adds the cross term
//!   `2 Σₖ J_a,k J_b,k` to `L = L_a·b + a·L_b`.
//!
//! Each primitive writes its rule beside its VJP and JVP rules
//! ([`Primitive::laplacian`]), with `Var` operations, so the jets are recorded
//! on the tape: the parameter gradient of a Laplacian is an ordinary reverse
//! sweep, and a Laplacian can be taken of a gradient, or differentiated again.
//!
//! A primitive without a rule of its own (a user's) gets one derived from its
//! JVP rule ([`derived_from_jvp`]): correct for any primitive, but it applies
//! the JVP rule once per direction and differentiates each application again,
//! about `m` times the work of a written rule. Measured at `esm` size M
//! (`d = 16`, `h = 128`, `B = 128`, one thread, loss and θ-gradient, CPU
//! time), the derived rules for every primitive took 259 ms against 12.7 ms
//! for the written ones, 20× as long, so every built-in primitive has its
//! own; the derived route stays as the fallback. An element-wise function needs no more than its first
//! derivative: `σ''` is the forward-mode derivative of the recorded `σ'`
//! expression, a few nodes of the shape of `v` (not `m` times that).
//!
//! Cost: the jets are `m + 1` times the size of the values, so one sweep costs
//! about `m + 2` forward passes, against about `2(m + 1)` for `m` HVPs over one
//! recorded gradient, and a reverse sweep for the parameter gradient doubles
//! or triples both.

use super::ops::Primitive;
use super::transform::{common_tape, jvp, on_path, sweep_span};
use super::{Tape, Var};
use crate::error::Error;
use crate::real::Real;
use crate::tensor::{numel, Tensor};
use alloc::format;
use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;

/// What the forward Laplacian carries for one node `v` (see
/// [`forward_laplacian`]): the derivatives of `v` along `m` directions and the
/// sum of its second derivatives along them.
///
/// ```
/// use scoretape::tape::forward_laplacian;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
/// let y = (x * x).sum(); // ∇y = 2x, ∇²y = 2I
/// let directions = tape.constant(Tensor::eye(2));
/// let jet = forward_laplacian(&[y], x, directions).unwrap()[0];
/// assert_eq!(jet.jacobian.to_vec(), vec![2.0, 4.0]);
/// assert_eq!(jet.laplacian.unwrap().item(), 4.0);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Jet<'t, T: Real> {
    /// `J`, shape `[m] ++ S` with `S` broadcasting to `shape(v)` (equal to
    /// it, or of the same rank with ones where `J` is the same along that
    /// axis): row `k` is the derivative of `v` along direction `k`. Every
    /// `J` the public functions return has the full shape `[m] ++ shape(v)`.
    pub jacobian: Var<'t, T>,
    /// `L = Σₖ ∂²v[uₖ, uₖ]`, shape `shape(v)`; `None` where it is zero (`v`
    /// is affine in `x`, as the input itself and a linear layer of it are),
    /// so the rules skip the work.
    pub laplacian: Option<Var<'t, T>>,
}

impl<'t, T: Real> Jet<'t, T> {
    /// The number of directions `m`.
    fn directions(&self) -> usize {
        self.jacobian.shape()[0]
    }

    /// `J` in the full shape `[m] ++ shape`, the copies made if it is stored
    /// once along some axis (nothing is recorded when it is not).
    pub(crate) fn full_jacobian(&self, shape: &[usize]) -> Var<'t, T> {
        lift(self.jacobian, shape)
    }
}

/// The forward Laplacian of `ys` from `x` along the directions `directions`
/// (shape `[m] ++ shape(x)`, direction `k` in row `k`; an axis of `x` along
/// which every direction is the same may have length 1): for each `y`, its
/// [`Jet`], with `J` of shape `[m] ++ shape(y)` holding the derivatives
/// `∂y·uₖ` and `L = Σₖ ∂²y[uₖ, uₖ]` (shape of `y`; `None` where it is zero).
///
/// One forward sweep from `x` to the last `y` applies each primitive's
/// Laplacian rule ([`Primitive::laplacian`]) to the nodes on a path between
/// them. The rules (Li et al. 2023): a linear map acts on `v`, `J` and `L`
/// alike; an element-wise `σ` gives `(σ(v), σ'(v)·J, σ'(v)·L + σ''(v)·Σₖ Jₖ²)`;
/// a product `a·b` of two nodes that depend on `x` has
/// `L = L_a·b + a·L_b + 2 Σₖ J_a,k·J_b,k`. They are written with `Var`
/// operations, so the jets are recorded on the tape: the parameter gradient of
/// a Laplacian is an ordinary reverse sweep, and a Laplacian can be taken of a
/// gradient or differentiated again. A primitive without a rule of its own
/// gets one from [`derived_from_jvp`]. Cost: the jets are `m` times the size
/// of the values, so the sweep costs about `m + 2` forward passes, against
/// about `2(m + 1)` for `m` HVPs over one recorded gradient. With `U = I` (`m` = the number of elements of `x`), `L` is the
/// Laplacian `tr ∇²y` of each element of `y` and `J` is its gradient; see
/// [`laplacian`] and [`batched_laplacian`]. Seeding `U = diag(√h)` instead
/// gives the weighted trace `Σⱼ hⱼ ∂²ⱼ y`.
///
/// # Errors
///
/// [`Error::Shape`] if `directions` is not of shape `[m] ++ shape(x)` (up to
/// axes of length 1);
/// [`Error::ForeignVar`] / [`Error::StaleVar`] for a bad handle;
/// [`Error::NotAnInput`] if `x` was recorded after every `y`.
///
/// # Examples
///
/// `y = x₀²x₁` has `∂²y/∂x₀² = 2x₁` and `∂²y/∂x₁² = 0`.
///
/// ```
/// use scoretape::tape::forward_laplacian;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[3.0, 5.0]));
/// let y = (x.slice(0, 0, 1).square() * x.slice(0, 1, 2)).sum();
/// let jet = forward_laplacian(&[y], x, tape.constant(Tensor::eye(2))).unwrap()[0];
/// assert_eq!(jet.jacobian.to_vec(), vec![30.0, 9.0]); // (2x₀x₁, x₀²)
/// assert_eq!(jet.laplacian.unwrap().item(), 10.0);
/// ```
pub fn forward_laplacian<'t, T: Real>(
    ys: &[Var<'t, T>],
    x: Var<'t, T>,
    directions: Var<'t, T>,
) -> Result<Vec<Jet<'t, T>>, Error> {
    let all: Vec<Var<'t, T>> = ys.iter().copied().chain([x, directions]).collect();
    let Some(tape) = common_tape(&all)? else {
        return Ok(Vec::new());
    };
    let x_shape = x.try_value()?.shape().to_vec();
    let u_shape = directions.try_value()?.shape().to_vec();
    let stacks_x = u_shape.len() == x_shape.len() + 1
        && u_shape[1..]
            .iter()
            .zip(&x_shape)
            .all(|(&u, &x)| u == x || u == 1);
    if !stacks_x {
        return Err(Error::Shape(format!(
            "forward_laplacian: directions of shape {u_shape:?} do not stack directions shaped like x {x_shape:?}"
        )));
    }
    let m = u_shape[0];
    if ys.is_empty() {
        return Ok(Vec::new());
    }
    let (lo, hi) = sweep_span(ys, &[x])?;
    let relevant = on_path(tape, lo, hi, &[x], ys, &|_| false);

    let mut jets: Vec<Option<Jet<'t, T>>> = vec![None; hi - lo + 1];
    jets[0] = Some(Jet {
        jacobian: directions,
        laplacian: None,
    });
    for i in lo + 1..=hi {
        if !relevant[i - lo] {
            continue;
        }
        let Some((primitive, parents)) = tape.op_of(i) else {
            continue;
        };
        let parent_jets: Vec<Option<Jet<'t, T>>> = parents
            .iter()
            .map(|&p| if p >= lo { jets[p - lo] } else { None })
            .collect();
        if parent_jets.iter().all(Option::is_none) {
            continue;
        }
        let inputs: Vec<Var<'t, T>> = parents.iter().map(|&p| tape.var_at(p)).collect();
        let output = tape.var_at(i);
        let jet = match primitive.laplacian(&inputs, output, &parent_jets) {
            Some(jet) => jet,
            None => derived_from_jvp(&primitive, &inputs, &parent_jets),
        };
        jets[i - lo] = Some(jet);
    }
    Ok(ys
        .iter()
        .map(|&y| {
            let shape = y.shape();
            match jets[y.index() - lo] {
                Some(jet) => Jet {
                    jacobian: jet.full_jacobian(&shape),
                    laplacian: jet.laplacian,
                },
                None => Jet {
                    jacobian: tape.constant(Tensor::zeros(&with_directions(m, &shape))),
                    laplacian: None,
                },
            }
        })
        .collect())
}

/// The Laplacian `Σᵢ ∂²y/∂xᵢ²` of every element of `y` with respect to all
/// elements of `x` (of any shape), shape of `y`: one forward sweep of
/// [`forward_laplacian`] with the identity directions. For a scalar `y` it
/// equals [`hessian_trace`](super::hessian_trace).
///
/// # Errors
///
/// The errors of [`forward_laplacian`].
///
/// # Examples
///
/// ```
/// use scoretape::{hessian_trace, laplacian, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
/// let y = (x * x * x).sum(); // ∇²y = diag(6x), trace 18
/// assert_eq!(laplacian(y, x).unwrap().item(), 18.0);
/// assert_eq!(hessian_trace(y, x).unwrap().item(), 18.0);
/// ```
pub fn laplacian<'t, T: Real>(y: Var<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>, Error> {
    let shape = x.try_value()?.shape().to_vec();
    let n = numel(&shape);
    let identity = Tensor::eye(n).reshape(&with_directions(n, &shape));
    let jet = forward_laplacian(&[y], x, x.tape().constant(identity))?[0];
    Ok(laplacian_or_zeros(jet, y))
}

/// Per-sample Laplacians for a batch: `x` has shape `[B, d]` and every
/// element of `y` depends on one sample (`y` is typically the `[B]` energies);
/// the result, shaped like `y`, holds `Σⱼ ∂²y/∂x_bj²` over the coordinates of
/// that sample. One forward sweep with `d` directions, direction `j` moving
/// coordinate `j` of every sample at once (not `B·d` directions); for
/// `y = E(x)` it equals [`batched_hessian_trace`](super::batched_hessian_trace).
///
/// The samples must not interact, else the result mixes terms of other
/// samples' Hessians.
///
/// # Errors
///
/// [`Error::Shape`] if `x` is not 2-D, and the errors of [`forward_laplacian`].
///
/// # Examples
///
/// ```
/// use scoretape::{batched_laplacian, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap());
/// let y = (x * x * x).sum_axis(1); // per sample, Δy = 6(x₀ + x₁)
/// assert_eq!(batched_laplacian(y, x).unwrap().to_vec(), vec![18.0, 42.0]);
/// ```
pub fn batched_laplacian<'t, T: Real>(y: Var<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>, Error> {
    let jet = batched_jet(y, x, None)?;
    Ok(laplacian_or_zeros(jet, y))
}

/// Per-sample weighted Laplacians for a batch: `Σⱼ h_bj ∂²y/∂x_bj²`, shaped
/// like `y`, with the weights `h` (shape `[B, d]`, every entry `≥ 0`) given
/// per sample and coordinate. It is [`batched_laplacian`] with the direction
/// that moves coordinate `j` scaled by `√h_bj` in sample `b`: the seeded
/// Laplacian is `Σₖ uₖᵀ H uₖ = Σⱼ h_j H_jj`, so the cost is the same one
/// forward sweep with `d` directions (only the seed is no longer shared by
/// all samples). Generalized score matching needs this weighted Hessian
/// diagonal.
///
/// # Errors
///
/// [`Error::Shape`] if `x` is not 2-D or `h` is not shaped like `x`;
/// [`Error::InvalidData`] if an entry of `h` is negative or not finite; and
/// the errors of [`forward_laplacian`].
///
/// # Examples
///
/// ```
/// use scoretape::tape::batched_weighted_laplacian;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap());
/// let y = (x * x * x).sum_axis(1); // ∂²y/∂x_j² = 6x_j
/// let h = Tensor::from_rows(&[vec![1.0, 0.0], vec![0.5, 2.0]]).unwrap();
/// let weighted = batched_weighted_laplacian(y, x, &h).unwrap();
/// let want: [f64; 2] = [6.0, 0.5 * 18.0 + 2.0 * 24.0];
/// for (got, want) in weighted.to_vec().iter().zip(want) {
///     assert!((got - want).abs() < 1e-12);
/// }
/// ```
pub fn batched_weighted_laplacian<'t, T: Real>(
    y: Var<'t, T>,
    x: Var<'t, T>,
    h: &Tensor<T>,
) -> Result<Var<'t, T>, Error> {
    if let Some(i) = h
        .data()
        .iter()
        .position(|w| !(w.is_finite() && *w >= T::zero()))
    {
        return Err(Error::InvalidData(format!(
            "batched_weighted_laplacian: weight {i} is {}, not finite and ≥ 0",
            h.data()[i].as_f64()
        )));
    }
    let jet = batched_jet(y, x, Some(&h.map(T::sqrt)))?;
    Ok(laplacian_or_zeros(jet, y))
}

/// The [`Jet`] of `y` for a batch `x` of shape `[B, d]` along the `d`
/// per-sample coordinate directions (see [`batched_laplacian`]), direction
/// `j` scaled by `scales[b, j]` in sample `b` when `scales` (`[B, d]`) is
/// given: row `j` of the Jacobian is then `scales[:, j] ⊙ ∂ⱼy` and the
/// Laplacian `Σⱼ scales[:, j]² ∂²ⱼy`.
pub(crate) fn batched_jet<'t, T: Real>(
    y: Var<'t, T>,
    x: Var<'t, T>,
    scales: Option<&Tensor<T>>,
) -> Result<Jet<'t, T>, Error> {
    let shape = x.try_value()?.shape().to_vec();
    let [_, d] = shape[..] else {
        return Err(Error::Shape(format!(
            "batched_laplacian needs x of shape [B, d], got {shape:?}"
        )));
    };
    let directions = match scales {
        None => coordinate_directions(d, 0..d),
        Some(scales) if scales.shape() == shape => scaled_coordinate_directions(scales, 0..d),
        Some(scales) => {
            return Err(Error::Shape(format!(
                "the direction scales must have the shape of x {shape:?}, got {:?}",
                scales.shape()
            )))
        }
    };
    Ok(forward_laplacian(&[y], x, x.tape().constant(directions))?[0])
}

/// The directions that move coordinate `j` of every sample at once, for each
/// `j` in `coordinates`, stacked for a batch of shape `[B, d]` and stored once
/// for all samples: shape `[len, 1, d]`, `U[i, 0, k] = 1` where `k` is the
/// `i`-th coordinate, else 0.
pub(crate) fn coordinate_directions<T: Real>(
    d: usize,
    coordinates: core::ops::Range<usize>,
) -> Tensor<T> {
    scaled_coordinate_directions(&Tensor::ones(&[1, d]), coordinates)
}

/// [`coordinate_directions`] with direction `i` (moving coordinate `k`)
/// scaled per row: `scales` is `[R, d]` and the result `[len, R, d]`, with
/// `U[i, r, k] = scales[r, k]` where `k` is the `i`-th coordinate, else 0.
/// `R = 1` shares the directions by all samples; `R = B` seeds each sample
/// with its own scales.
pub(crate) fn scaled_coordinate_directions<T: Real>(
    scales: &Tensor<T>,
    coordinates: core::ops::Range<usize>,
) -> Tensor<T> {
    let [rows, d] = scales.shape()[..] else {
        panic!("direction scales must be [R, d], got {:?}", scales.shape());
    };
    let first = coordinates.start;
    Tensor::from_fn(&[coordinates.len(), rows, d], |i| {
        let (direction, rk) = (i / (rows * d), i % (rows * d));
        if rk % d == first + direction {
            scales.data()[rk]
        } else {
            T::zero()
        }
    })
}

/// The jet's Laplacian, or zeros shaped like `y` where it has none.
fn laplacian_or_zeros<'t, T: Real>(jet: Jet<'t, T>, y: Var<'t, T>) -> Var<'t, T> {
    jet.laplacian
        .unwrap_or_else(|| y.tape().constant(Tensor::zeros(&y.shape())))
}

/// The Laplacian rule of any primitive `y = f(a₁, …, aₙ)`, derived from its
/// JVP rule `ẏ = Df(a)[ȧ]` (the fallback for a primitive without a rule of
/// its own):
///
/// - `Jₖ = Df(a)[J_a,k]`, one JVP rule application per direction;
/// - `L = Df(a)[L_a] + Σₖ D²f(a)[J_a,k, J_a,k]`, where the second derivative
///   along `J_a,k` is the forward-mode derivative of the recorded JVP rule
///   with respect to its inputs, with the tangent held fixed.
///
/// The inputs are copied first (`a' = a`, one node each) and `f` is recorded
/// again on the copies, so that sweep sees `f` and its rule as functions of
/// the copies alone: a tangent `J_a,k` often depends on `a` itself (for
/// `a = tanh z`, `J_a = (1 - a²)J_z`), and must not be differentiated there.
pub fn derived_from_jvp<'t, T: Real>(
    primitive: &Rc<dyn Primitive<T>>,
    inputs: &[Var<'t, T>],
    jets: &[Option<Jet<'t, T>>],
) -> Jet<'t, T> {
    let tape: &'t Tape<T> = inputs[0].tape();
    let m = jets
        .iter()
        .flatten()
        .map(Jet::directions)
        .next()
        .expect("a Laplacian rule was called with no jet at all");
    let copies: Vec<Var<'t, T>> = inputs
        .iter()
        .zip(jets)
        .map(|(&a, jet)| {
            if jet.is_some() {
                a.affine(T::one(), T::zero())
            } else {
                a
            }
        })
        .collect();
    let moved: Vec<Var<'t, T>> = copies
        .iter()
        .zip(jets)
        .filter(|(_, jet)| jet.is_some())
        .map(|(&a, _)| a)
        .collect();
    let output = tape.apply_rc(Rc::clone(primitive), &copies);
    let out_shape = output.shape();

    let full: Vec<Option<Var<'t, T>>> = inputs
        .iter()
        .zip(jets)
        .map(|(a, jet)| jet.map(|j| j.full_jacobian(&a.shape())))
        .collect();
    let mut rows = Vec::with_capacity(m);
    let mut curvature: Option<Var<'t, T>> = None;
    for k in 0..m {
        let tangents: Vec<Option<Var<'t, T>>> = inputs
            .iter()
            .zip(jets)
            .zip(&full)
            .map(|((a, jet), j)| jet.and(*j).map(|j| direction(j, k, &a.shape())))
            .collect();
        let row = primitive.jvp(&copies, output, &tangents);
        let present: Vec<Var<'t, T>> = tangents.iter().flatten().copied().collect();
        let second = jvp(&[row], &moved, &present)
            .expect("the copies, tangents and rule are live nodes of one tape")[0];
        curvature = add_optional(curvature, Some(second));
        rows.push(row.reshape(&with_directions(1, &out_shape)));
    }
    let linear = jets
        .iter()
        .any(|j| j.is_some_and(|j| j.laplacian.is_some()))
        .then(|| {
            let tangents: Vec<Option<Var<'t, T>>> =
                jets.iter().map(|j| j.and_then(|j| j.laplacian)).collect();
            primitive.jvp(&copies, output, &tangents)
        });
    let jacobian = if rows.is_empty() {
        tape.constant(Tensor::zeros(&with_directions(0, &out_shape)))
    } else {
        Var::concat(&rows, 0)
    };
    Jet {
        jacobian,
        laplacian: add_optional(linear, curvature),
    }
}

/// Row `k` of a stacked Jacobian, as a tensor of the node's shape.
pub(crate) fn direction<'t, T: Real>(
    jacobian: Var<'t, T>,
    k: usize,
    shape: &[usize],
) -> Var<'t, T> {
    jacobian.slice(0, k, k + 1).reshape(shape)
}

/// `[m] ++ shape`: the shape of the Jacobian of a node of `shape`.
pub(crate) fn with_directions(m: usize, shape: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(shape.len() + 1);
    out.push(m);
    out.extend_from_slice(shape);
    out
}

/// A stacked Jacobian `[m] ++ S` broadcast to `[m] ++ shape`, where `S`
/// broadcasts to `shape` (trailing axes aligned, as in the operand of a
/// broadcasting primitive): ones are inserted after the direction axis so the
/// node's axes line up, then the copies are made. Nothing is recorded when
/// `S` already is `shape`.
pub(crate) fn lift<'t, T: Real>(jacobian: Var<'t, T>, shape: &[usize]) -> Var<'t, T> {
    let from = jacobian.shape();
    let m = from[0];
    if from[1..] == *shape {
        return jacobian;
    }
    let mut aligned = vec![1; shape.len() + 1 - from.len()];
    aligned.extend_from_slice(&from[1..]);
    jacobian
        .reshape(&with_directions(m, &aligned))
        .broadcast_to(&with_directions(m, shape))
}

/// `Σₖ Jₖ²` of a stacked Jacobian `[m] ++ S`, shape `S`: the term every
/// element-wise rule multiplies by `σ''`. One primitive ([`SumOfSquares`])
/// rather than `square` then `sum_to`, because its VJP `2J⊙ȳ` is one pass over
/// the stack where the composite's is three (broadcast `ȳ`, `2J`, their
/// product), and the stack is the largest thing the forward Laplacian moves.
pub(crate) fn sum_of_squares<T: Real>(jacobian: Var<'_, T>) -> Var<'_, T> {
    jacobian.tape().apply(SumOfSquares, &[jacobian])
}

/// `y = Σₖ xₖ²` over the first axis of `x` (shape `[m] ++ S` to `S`).
/// VJP `x̄ = 2x⊙ȳ` (`ȳ` broadcast over `k`); JVP `ẏ = 2 Σₖ xₖ⊙ẋₖ`;
/// Laplacian `J_y = 2 Σₖ xₖ⊙J_x,k`, `L_y = 2 Σₖ (xₖ⊙L_x,k + Σₗ J_x,lk²)`.
///
/// ```
/// use scoretape::tape::SumOfSquares;
/// use scoretape::{grad, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap());
/// let y = tape.apply(SumOfSquares, &[x]);
/// assert_eq!(y.to_vec(), vec![10.0, 20.0]);
/// assert_eq!(grad(y.sum(), &[x]).unwrap()[0].to_vec(), vec![2.0, 4.0, 6.0, 8.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SumOfSquares;

impl<T: Real> Primitive<T> for SumOfSquares {
    fn name(&self) -> alloc::string::String {
        "sum_of_squares".into()
    }
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        let x = inputs[0];
        let shape = x.shape();
        assert!(
            !shape.is_empty(),
            "sum_of_squares: needs an axis to sum over, got a scalar"
        );
        let n = numel(&shape[1..]);
        let mut out = vec![T::zero(); n];
        if n > 0 {
            for row in x.data().chunks_exact(n) {
                for (o, &v) in out.iter_mut().zip(row) {
                    *o += v * v;
                }
            }
        }
        Tensor::from_vec(&shape[1..], out).expect("the sum has the shape of one row")
    }
    fn vjp<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        g: Var<'t, T>,
        _: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        // Doubling ȳ (one row) first keeps it to one pass over the stack.
        vec![Some(x[0] * g.affine(T::cast(2.0), T::zero()))]
    }
    fn jvp<'t>(&self, x: &[Var<'t, T>], _: Var<'t, T>, t: &[Option<Var<'t, T>>]) -> Var<'t, T> {
        let tangent = t[0].expect("sum_of_squares JVP without a tangent");
        dot_directions(x[0], tangent) * T::cast(2.0)
    }
    fn laplacian<'t>(
        &self,
        x: &[Var<'t, T>],
        _: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let jet = jets[0].expect("sum_of_squares Laplacian rule without a jet");
        let x = x[0];
        let shape = x.shape();
        // The input's own Jacobian is a stack of stacks, [m'] ++ [m] ++ S:
        // its row l is the derivative of every xₖ along direction l.
        let jacobian = jet.full_jacobian(&shape);
        let m_outer = jacobian.shape()[0];
        let mut kept = shape.clone();
        kept[0] = 1;
        let per_direction = (jacobian * x).sum_to(&with_directions(m_outer, &kept));
        let jy = per_direction.reshape(&with_directions(m_outer, &shape[1..])) * T::cast(2.0);
        let squares = sum_directions(sum_of_squares(jacobian));
        let curvature = match jet.laplacian {
            Some(l) => dot_directions(x, l) + squares,
            None => squares,
        };
        Some(Jet {
            jacobian: jy,
            laplacian: Some(curvature * T::cast(2.0)),
        })
    }
}

/// `Σₖ pₖ`: the sum over the direction axis of a stacked `[m] ++ S`, shape `S`.
pub(crate) fn sum_directions<T: Real>(stacked: Var<'_, T>) -> Var<'_, T> {
    let shape = stacked.shape();
    let mut kept = shape.clone();
    kept[0] = 1;
    stacked.sum_to(&kept).reshape(&shape[1..])
}

/// `Σₖ aₖ ⊙ bₖ` of two stacked Jacobians of one shape: the cross term of a
/// product's Laplacian is twice this.
pub(crate) fn dot_directions<'t, T: Real>(a: Var<'t, T>, b: Var<'t, T>) -> Var<'t, T> {
    sum_directions(a * b)
}

/// `f` applied to each direction `[m] ++ S` of a stacked Jacobian in its full
/// shape (each as a tensor of shape `S`), the results stacked again: for linear maps whose
/// rule cannot act on the whole stack at once (a transpose, a matrix product
/// with the stack on the right).
pub(crate) fn each_direction<'t, T: Real>(
    jacobian: Var<'t, T>,
    f: impl Fn(Var<'t, T>) -> Var<'t, T>,
) -> Var<'t, T> {
    let shape = jacobian.shape();
    if shape[0] == 0 {
        // No directions: apply `f` to zeros only to learn the result's shape.
        let tape = jacobian.tape();
        let probe = f(tape.constant(Tensor::zeros(&shape[1..])));
        return tape.constant(Tensor::zeros(&with_directions(0, &probe.shape())));
    }
    let rows: Vec<Var<'t, T>> = (0..shape[0])
        .map(|k| {
            let row = f(direction(jacobian, k, &shape[1..]));
            row.reshape(&with_directions(1, &row.shape()))
        })
        .collect();
    Var::concat(&rows, 0)
}

/// `a + b` where each may be absent (zero).
pub(crate) fn add_optional<'t, T: Real>(
    a: Option<Var<'t, T>>,
    b: Option<Var<'t, T>>,
) -> Option<Var<'t, T>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, None) => a,
        (None, b) => b,
    }
}
