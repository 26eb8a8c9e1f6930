//! The transformations: sweeps over the recorded nodes that apply each
//! primitive's VJP rule (reverse mode) or JVP rule (forward mode).
//!
//! Both sweeps are plain loops over the tape, which is already in topological
//! order (a node is recorded after its parents). Every rule records its work on
//! the same tape, so what a sweep returns is a `Var` that any transformation
//! can take again: `hvp` is `jvp` of `grad`, a third derivative is `grad` of
//! that, and so on.

use super::{IntoVar, NodeKind, Tape, Var};
use crate::error::Error;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// The tape shared by all `vars`, after checking each is a live node of it
/// not recorded after a [`Tape::fail`].
pub(crate) fn common_tape<'t, T: Real>(vars: &[Var<'t, T>]) -> Result<Option<&'t Tape<T>>, Error> {
    let Some(first) = vars.first() else {
        return Ok(None);
    };
    let tape = first.tape();
    for &v in vars {
        tape.check_owns(v)?;
        tape.check_not_failed(v.index())?;
    }
    Ok(Some(tape))
}

fn check_shapes<T: Real>(
    what: &str,
    vars: &[Var<'_, T>],
    others: &[Var<'_, T>],
) -> Result<(), Error> {
    if vars.len() != others.len() {
        return Err(Error::Shape(format!(
            "{what}: {} variables but {} {what}",
            vars.len(),
            others.len()
        )));
    }
    for (i, (v, o)) in vars.iter().zip(others).enumerate() {
        let (vs, os) = (v.shape(), o.shape());
        if vs != os {
            return Err(Error::Shape(format!(
                "{what} {i} has shape {os:?} but its variable %{} has shape {vs:?}",
                v.index()
            )));
        }
    }
    Ok(())
}

/// The span `lo..=hi` of the tape a sweep from `xs` to `ys` visits, after
/// checking that every `x` was recorded no later than the last `y`.
pub(crate) fn sweep_span<T: Real>(
    ys: &[Var<'_, T>],
    xs: &[Var<'_, T>],
) -> Result<(usize, usize), Error> {
    let hi = ys.iter().map(Var::index).max().unwrap_or(0);
    if let Some(x) = xs.iter().find(|x| x.index() > hi) {
        return Err(Error::NotAnInput(format!(
            "%{} was recorded after every output (last output %{hi}), so no output can depend on it",
            x.index()
        )));
    }
    let lo = xs.iter().map(Var::index).min().unwrap_or(hi);
    Ok((lo, hi))
}

/// For each node in `lo..=hi`: whether it depends on some x (`from_xs`; a
/// node before `lo` counts as such when `depends_before_lo` says so) and
/// whether some y depends on it (`to_ys`). Only nodes with both lie on a path
/// from an x to a y, and only those are visited by a sweep.
pub(crate) fn on_path<T: Real>(
    tape: &Tape<T>,
    lo: usize,
    hi: usize,
    xs: &[Var<'_, T>],
    ys: &[Var<'_, T>],
    depends_before_lo: &dyn Fn(usize) -> bool,
) -> Vec<bool> {
    let n = hi - lo + 1;
    let nodes = tape.nodes();
    let parents_of = |i: usize| match &nodes[i].kind {
        NodeKind::Op { parents, .. } => parents.as_slice(),
        _ => &[],
    };
    let mut from_xs = vec![false; n];
    for x in xs {
        from_xs[x.index() - lo] = true;
    }
    for i in lo..=hi {
        if !from_xs[i - lo] {
            from_xs[i - lo] = parents_of(i).iter().any(|&p| {
                if p >= lo {
                    from_xs[p - lo]
                } else {
                    depends_before_lo(p)
                }
            });
        }
    }
    let mut to_ys = vec![false; n];
    for y in ys {
        to_ys[y.index() - lo] = true;
    }
    for i in (lo..=hi).rev() {
        if to_ys[i - lo] {
            for &p in parents_of(i) {
                if p >= lo {
                    to_ys[p - lo] = true;
                }
            }
        }
    }
    from_xs.iter().zip(&to_ys).map(|(&a, &b)| a && b).collect()
}

/// A constant of zeros shaped like `like`: the derivative where nothing depends.
fn zeros_like<'t, T: Real>(like: Var<'t, T>) -> Var<'t, T> {
    like.tape().constant(Tensor::zeros(&like.shape()))
}

/// Adds `value` into an optional running sum.
fn accumulate<'t, T: Real>(slot: &mut Option<Var<'t, T>>, value: Var<'t, T>) {
    *slot = Some(match *slot {
        Some(sum) => sum + value,
        None => value,
    });
}

/// The reverse sweep itself: visits nodes `hi` down to `lo`, applying each
/// VJP rule to the parents for which `is_relevant` holds. `seeds` are the
/// starting cotangents (node index, cotangent). Cotangents for relevant
/// parents recorded before `lo` are not propagated further but handed to
/// `at_boundary`. Returns the cotangent of every node in `lo..=hi`.
pub(crate) fn reverse_sweep<'t, T: Real>(
    tape: &'t Tape<T>,
    lo: usize,
    hi: usize,
    seeds: &[(usize, Var<'t, T>)],
    is_relevant: &dyn Fn(usize) -> bool,
    mut at_boundary: impl FnMut(usize, Var<'t, T>),
) -> Vec<Option<Var<'t, T>>> {
    let mut cotangent: Vec<Option<Var<'t, T>>> = vec![None; hi + 1 - lo];
    for &(index, c) in seeds {
        if index >= lo && is_relevant(index) {
            accumulate(&mut cotangent[index - lo], c);
        }
    }
    for i in (lo..=hi).rev() {
        let Some(g) = cotangent[i - lo] else { continue };
        let Some((primitive, parents)) = tape.op_of(i) else {
            continue;
        };
        let wanted: Vec<bool> = parents.iter().map(|&p| is_relevant(p)).collect();
        if !wanted.contains(&true) {
            continue;
        }
        let inputs: Vec<Var<'t, T>> = parents.iter().map(|&p| tape.var_at(p)).collect();
        let parent_cotangents = primitive.vjp(&inputs, tape.var_at(i), g, &wanted);
        for ((&p, &want), c) in parents.iter().zip(&wanted).zip(parent_cotangents) {
            match (want, c) {
                (true, Some(c)) if p >= lo => accumulate(&mut cotangent[p - lo], c),
                (true, Some(c)) => at_boundary(p, c),
                _ => {}
            }
        }
    }
    cotangent
}

/// Reverse mode: the cotangents `x̄ = Σ_y (∂y/∂x)ᵀ ȳ` of `xs`, given a cotangent
/// `ȳ` for each of `ys` (a vector-Jacobian product).
///
/// The sweep visits the recorded nodes from the last `y` back to the first `x`,
/// applying each primitive's VJP rule to the nodes on a path from an `x` to a
/// `y`. The result is recorded on the tape, so it can be differentiated again.
/// An `x` that no `y` depends on gets a zero cotangent.
///
/// # Errors
///
/// [`Error::Shape`] if the counts or shapes of `ys` and `cotangents` differ;
/// [`Error::ForeignVar`]/[`Error::StaleVar`] for a bad handle;
/// [`Error::NotAnInput`] if an `x` was recorded after every `y`.
///
/// # Examples
///
/// ```
/// use scoretape::{vjp, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
/// let y = x * x; // Jacobian diag(2x)
/// let u = tape.constant(Tensor::vector(&[1.0, 10.0]));
/// let xbar = vjp(&[y], &[x], &[u]).unwrap()[0];
/// assert_eq!(xbar.to_vec(), vec![2.0, 40.0]);
/// ```
pub fn vjp<'t, T: Real>(
    ys: &[Var<'t, T>],
    xs: &[Var<'t, T>],
    cotangents: &[Var<'t, T>],
) -> Result<Vec<Var<'t, T>>, Error> {
    let all: Vec<Var<'t, T>> = ys.iter().chain(xs).chain(cotangents).copied().collect();
    let Some(tape) = common_tape(&all)? else {
        return Ok(Vec::new());
    };
    check_shapes("cotangent", ys, cotangents)?;
    if ys.is_empty() {
        return Ok(xs.iter().map(|&x| zeros_like(x)).collect());
    }
    let (lo, hi) = sweep_span(ys, xs)?;
    let relevant = on_path(tape, lo, hi, xs, ys, &|_| false);

    let seeds: Vec<(usize, Var<'t, T>)> = ys
        .iter()
        .map(|y| y.index())
        .zip(cotangents.iter().copied())
        .collect();
    let is_relevant = |p: usize| p >= lo && relevant[p - lo];
    let cotangent = reverse_sweep(tape, lo, hi, &seeds, &is_relevant, |_, _| {});
    Ok(xs
        .iter()
        .map(|&x| cotangent[x.index() - lo].unwrap_or_else(|| zeros_like(x)))
        .collect())
}

/// The gradient `∂y/∂x` of a scalar `y` for each `x` in `xs`.
///
/// For a batch, make `y` the sum of per-sample values: since samples do not
/// interact, row `b` of the gradient is then sample `b`'s own gradient.
///
/// # Errors
///
/// [`Error::NotScalar`] if `y` has more than one element, and the errors of [`vjp`].
///
/// # Examples
///
/// ```
/// use scoretape::{grad, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
/// let y = (x * x).sum();
/// assert_eq!(grad(y, &[x]).unwrap()[0].to_vec(), vec![2.0, 4.0]);
/// ```
pub fn grad<'t, T: Real>(y: Var<'t, T>, xs: &[Var<'t, T>]) -> Result<Vec<Var<'t, T>>, Error> {
    let value = y.try_value()?;
    if value.len() != 1 {
        return Err(Error::NotScalar {
            shape: value.shape().to_vec(),
        });
    }
    let one = y.tape().constant(Tensor::ones(value.shape()));
    vjp(&[y], xs, &[one])
}

/// Forward mode: the tangents `ẏ = Σ_x (∂y/∂x) ẋ` of `ys`, given a tangent `ẋ`
/// for each of `xs` (a Jacobian-vector product).
///
/// The sweep visits the recorded nodes from the first `x` to the last `y`, in
/// recording order, applying each primitive's JVP rule to the nodes on a path
/// from an `x` to a `y`. When the nodes include a recorded gradient, this is
/// forward-over-reverse: see [`hvp`]. A `y` that depends on no `x` gets a zero
/// tangent. An `x` computed from another `x` adds its own tangent to the one
/// flowing into it (a tangent perturbs a node's value), just as [`vjp`] lets
/// cotangents flow on through it, so the two modes are adjoint.
///
/// # Errors
///
/// [`Error::Shape`] if the counts or shapes of `xs` and `tangents` differ;
/// [`Error::ForeignVar`]/[`Error::StaleVar`] for a bad handle;
/// [`Error::NotAnInput`] if an `x` was recorded after every `y`.
///
/// # Examples
///
/// ```
/// use scoretape::{jvp, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
/// let y = x.sin();
/// let v = tape.constant(Tensor::vector(&[1.0, 0.0]));
/// let ydot = jvp(&[y], &[x], &[v]).unwrap()[0];
/// assert_eq!(ydot.to_vec(), vec![1f64.cos(), 0.0]);
/// ```
pub fn jvp<'t, T: Real>(
    ys: &[Var<'t, T>],
    xs: &[Var<'t, T>],
    tangents: &[Var<'t, T>],
) -> Result<Vec<Var<'t, T>>, Error> {
    let all: Vec<Var<'t, T>> = ys.iter().chain(xs).chain(tangents).copied().collect();
    let Some(tape) = common_tape(&all)? else {
        return Ok(Vec::new());
    };
    check_shapes("tangent", xs, tangents)?;
    if ys.is_empty() {
        return Ok(Vec::new());
    }
    if xs.is_empty() {
        return Ok(ys.iter().map(|&y| zeros_like(y)).collect());
    }
    let (lo, hi) = sweep_span(ys, xs)?;
    let relevant = on_path(tape, lo, hi, xs, ys, &|_| false);

    let mut tangent: Vec<Option<Var<'t, T>>> = vec![None; hi - lo + 1];
    let mut is_x = vec![false; hi - lo + 1];
    for (x, &t) in xs.iter().zip(tangents) {
        let slot = &mut tangent[x.index() - lo];
        *slot = Some(match *slot {
            Some(sum) => sum + t,
            None => t,
        });
        is_x[x.index() - lo] = true;
    }
    for i in lo..=hi {
        if !relevant[i - lo] {
            continue;
        }
        let Some((primitive, parents)) = tape.op_of(i) else {
            continue;
        };
        let parent_tangents: Vec<Option<Var<'t, T>>> = parents
            .iter()
            .map(|&p| if p >= lo { tangent[p - lo] } else { None })
            .collect();
        if parent_tangents.iter().all(Option::is_none) {
            continue;
        }
        let inputs: Vec<Var<'t, T>> = parents.iter().map(|&p| tape.var_at(p)).collect();
        let propagated = primitive.jvp(&inputs, tape.var_at(i), &parent_tangents);
        // An x that is itself computed from another x gets both its own
        // tangent and the one flowing in: a tangent perturbs a node's value
        // additively, the convention `vjp` follows too (its cotangents flow on
        // through such an x), so that ⟨u, J v⟩ = ⟨Jᵀu, v⟩ holds.
        tangent[i - lo] = Some(match tangent[i - lo] {
            Some(own) if is_x[i - lo] => own + propagated,
            _ => propagated,
        });
    }
    Ok(ys
        .iter()
        .map(|&y| tangent[y.index() - lo].unwrap_or_else(|| zeros_like(y)))
        .collect())
}

/// The Hessian-vector product `H v = ∂/∂x ⟨∇f(x), ·⟩ v` of a scalar `y = f(x)`,
/// computed **forward-over-reverse**: one reverse sweep records `g = ∇f(x)`,
/// then one forward sweep pushes the tangent `v` through the nodes of both the
/// function and its recorded gradient: `H v = jvp(g, x, v)`.
///
/// Batched: with `x` of shape `[B, d]` and `y` the sum of per-sample values,
/// row `b` of the result is `H(x_b) v_b`, every sample in one call.
///
/// # Errors
///
/// [`Error::Shape`] if `v` is not shaped like `x`, and the errors of [`grad`].
///
/// # Examples
///
/// `v` is a `Var` or a plain [`Tensor`] (see [`IntoVar`]):
///
/// ```
/// use scoretape::{hvp, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
/// let y = (x * x * x).sum(); // H = diag(6x)
/// let v = tape.constant(Tensor::vector(&[1.0, 1.0]));
/// assert_eq!(hvp(y, x, v).unwrap().to_vec(), vec![6.0, 12.0]);
/// ```
pub fn hvp<'t, T: Real>(
    y: Var<'t, T>,
    x: Var<'t, T>,
    v: impl IntoVar<'t, T>,
) -> Result<Var<'t, T>, Error> {
    let v = v.into_var(x.tape());
    check_shapes("direction", &[x], &[v])?;
    let g = grad(y, &[x])?[0];
    Ok(jvp(&[g], &[x], &[v])?[0])
}

/// The Hessian-vector product computed **reverse-over-reverse**:
/// `H v = ∇ₓ ⟨∇f(x), v⟩`, a second reverse sweep over the recorded gradient.
/// It is kept as an independent cross-check of [`hvp`]; the two must agree to
/// rounding.
///
/// # Errors
///
/// As for [`hvp`].
///
/// # Examples
///
/// ```
/// use scoretape::{hvp, hvp_reverse_over_reverse, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[0.3, -0.7]));
/// let y = (x.sin() * x.exp()).sum();
/// let v = tape.constant(Tensor::vector(&[0.5, 2.0]));
/// let a = hvp(y, x, v).unwrap().value();
/// let b = hvp_reverse_over_reverse(y, x, v).unwrap().value();
/// assert!(a.max_abs_diff(&b) < 1e-14);
/// ```
pub fn hvp_reverse_over_reverse<'t, T: Real>(
    y: Var<'t, T>,
    x: Var<'t, T>,
    v: impl IntoVar<'t, T>,
) -> Result<Var<'t, T>, Error> {
    let v = v.into_var(x.tape());
    check_shapes("direction", &[x], &[v])?;
    let g = grad(y, &[x])?[0];
    Ok(grad((g * v).sum(), &[x])?[0])
}

/// The `i`-th unit tensor shaped like `x`, as a constant.
fn unit<'t, T: Real>(x: Var<'t, T>, shape: &[usize], i: usize) -> Var<'t, T> {
    let mut e = Tensor::zeros(shape);
    e.data_mut()[i] = T::one();
    x.tape().constant(e)
}

/// The Hessian of a scalar `y` with respect to `x`, of shape
/// `shape(x) ++ shape(x)`: one recorded gradient, then one forward sweep per
/// element of `x` (row `i` is `H eᵢ`).
///
/// # Errors
///
/// The errors of [`grad`] and [`jvp`].
///
/// # Examples
///
/// ```
/// use scoretape::{hessian, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
/// let y = (x.slice(0, 0, 1) * x.slice(0, 1, 2)).sum(); // x₀x₁
/// assert_eq!(hessian(y, x).unwrap().to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
/// ```
pub fn hessian<'t, T: Real>(y: Var<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>, Error> {
    let shape = x.try_value()?.shape().to_vec();
    let n = crate::tensor::numel(&shape);
    let g = grad(y, &[x])?[0];
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let row = jvp(&[g], &[x], &[unit(x, &shape, i)])?[0];
        rows.push(row.reshape(&[1, n]));
    }
    let full: Vec<usize> = shape.iter().chain(&shape).copied().collect();
    if rows.is_empty() {
        return Ok(x.tape().constant(Tensor::zeros(&full)));
    }
    Ok(Var::concat(&rows, 0).reshape(&full))
}

/// The Jacobian `∂y/∂x`, of shape `shape(y) ++ shape(x)`. It takes whichever
/// mode needs fewer sweeps: one reverse sweep per element of `y` when `y` is
/// the smaller, else one forward sweep per element of `x`.
///
/// # Errors
///
/// The errors of [`vjp`] and [`jvp`].
///
/// # Examples
///
/// ```
/// use scoretape::{jacobian, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0, 3.0]));
/// let y = x.sum().reshape(&[1]) * 2.0; // J = [2, 2, 2]
/// assert_eq!(jacobian(y, x).unwrap().to_vec(), vec![2.0; 3]);
/// ```
pub fn jacobian<'t, T: Real>(y: Var<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>, Error> {
    let y_shape = y.try_value()?.shape().to_vec();
    let x_shape = x.try_value()?.shape().to_vec();
    let (m, n) = (
        crate::tensor::numel(&y_shape),
        crate::tensor::numel(&x_shape),
    );
    let full: Vec<usize> = y_shape.iter().chain(&x_shape).copied().collect();
    if m == 0 || n == 0 {
        return Ok(x.tape().constant(Tensor::zeros(&full)));
    }
    let matrix = if m <= n {
        let mut rows = Vec::with_capacity(m);
        for j in 0..m {
            let row = vjp(&[y], &[x], &[unit(y, &y_shape, j)])?[0];
            rows.push(row.reshape(&[1, n]));
        }
        Var::concat(&rows, 0)
    } else {
        let mut columns = Vec::with_capacity(n);
        for i in 0..n {
            let column = jvp(&[y], &[x], &[unit(x, &x_shape, i)])?[0];
            columns.push(column.reshape(&[m, 1]));
        }
        Var::concat(&columns, 1)
    };
    Ok(matrix.reshape(&full))
}

/// The trace of the Hessian of a scalar `y` with respect to `x` (any shape):
/// one recorded gradient `g`, then `tr H = Σᵢ eᵢᵀ H eᵢ` by one forward sweep
/// per element of `x`, each reusing `g` (the function is never re-recorded).
///
/// # Errors
///
/// The errors of [`grad`] and [`jvp`].
///
/// # Examples
///
/// ```
/// use scoretape::{hessian_trace, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
/// let y = (x * x * x).sum(); // H = diag(6x), trace 18
/// assert_eq!(hessian_trace(y, x).unwrap().item(), 18.0);
/// ```
pub fn hessian_trace<'t, T: Real>(y: Var<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>, Error> {
    let shape = x.try_value()?.shape().to_vec();
    let n = crate::tensor::numel(&shape);
    let g = grad(y, &[x])?[0];
    let mut trace: Option<Var<'t, T>> = None;
    for i in 0..n {
        let column = jvp(&[g], &[x], &[unit(x, &shape, i)])?[0];
        let diagonal = column.reshape(&[n]).slice(0, i, i + 1);
        trace = Some(match trace {
            Some(sum) => sum + diagonal,
            None => diagonal,
        });
    }
    Ok(match trace {
        Some(t) => t.reshape(&[]),
        None => x.tape().scalar(T::zero()),
    })
}

/// Per-sample Hessian traces for a batch: `x` has shape `[B, d]` and `y` is
/// the sum of per-sample values `f(x_b)`; the result, of shape `[B]`, holds
/// `tr ∇²f(x_b)` for every sample. One recorded gradient `g`, then
/// [`batched_jacobian_trace`]`(g, x)`: `d` forward sweeps (not `B·d`), sweep
/// `j` pushing the tangent `eⱼ` into every sample at once.
///
/// The samples must not interact (`f(x_b)` depends on row `b` only), else the
/// rows mix terms of other samples' Hessians.
///
/// # Errors
///
/// [`Error::Shape`] if `x` is not 2-D, and the errors of [`grad`] and [`jvp`].
///
/// # Examples
///
/// ```
/// use scoretape::{batched_hessian_trace, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap());
/// let y = (x * x * x).sum(); // per sample, tr H = 6(x₀ + x₁)
/// assert_eq!(batched_hessian_trace(y, x).unwrap().to_vec(), vec![18.0, 42.0]);
/// ```
pub fn batched_hessian_trace<'t, T: Real>(
    y: Var<'t, T>,
    x: Var<'t, T>,
) -> Result<Var<'t, T>, Error> {
    batch_shape("batched_hessian_trace", x)?;
    let g = grad(y, &[x])?[0];
    batched_jacobian_trace(g, x)
}

/// `(B, d)` of a batch `x`, which must be 2-D.
fn batch_shape<T: Real>(what: &str, x: Var<'_, T>) -> Result<(usize, usize), Error> {
    let shape = x.try_value()?.shape().to_vec();
    match shape[..] {
        [batch, d] => Ok((batch, d)),
        _ => Err(Error::Shape(format!(
            "{what} needs x of shape [B, d], got {shape:?}"
        ))),
    }
}

/// Per-sample Jacobian traces `tr ∂y_b/∂x_b`, shape `[B]`, of a recorded
/// batched map `y = f(x)` with `x` and `y` of shape `[B, d]` whose samples do
/// not interact: the sum over `j` of [`batched_jacobian_diagonal`]. For
/// `y = ∇E` these are the Hessian traces; for a score model `y = s(x)`, the
/// divergence of the score.
///
/// # Errors
///
/// [`Error::Shape`] if `x` is not 2-D or `y` is not shaped like `x`, and the
/// errors of [`jvp`].
///
/// # Examples
///
/// ```
/// use scoretape::{batched_jacobian_trace, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap());
/// let y = x * x; // ∂y_bj/∂x_bj = 2x_bj
/// assert_eq!(batched_jacobian_trace(y, x).unwrap().to_vec(), vec![6.0, 14.0]);
/// ```
pub fn batched_jacobian_trace<'t, T: Real>(
    y: Var<'t, T>,
    x: Var<'t, T>,
) -> Result<Var<'t, T>, Error> {
    let (batch, d) = batch_shape("batched_jacobian_trace", x)?;
    let mut trace: Option<Var<'t, T>> = None;
    for j in 0..d {
        let diagonal = batched_jacobian_diagonal(y, x, j)?;
        trace = Some(match trace {
            Some(sum) => sum + diagonal,
            None => diagonal,
        });
    }
    Ok(match trace {
        Some(t) => t,
        None => x.tape().constant(Tensor::zeros(&[batch])),
    })
}

/// Entry `(j, j)` of each sample's Jacobian `∂y_b/∂x_b`, shape `[B]`, for a
/// recorded batched map `y = f(x)` (`x`, `y` of shape `[B, d]`): one forward
/// sweep of `y` along `eⱼ` in every sample at once, of which column `j` is
/// kept.
///
/// # Errors
///
/// [`Error::Shape`] if `x` is not 2-D, `y` is not shaped like `x`, or
/// `j ≥ d`, and the errors of [`jvp`].
///
/// # Examples
///
/// ```
/// use scoretape::{batched_jacobian_diagonal, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap());
/// let y = x * x;
/// assert_eq!(batched_jacobian_diagonal(y, x, 1).unwrap().to_vec(), vec![4.0, 8.0]);
/// ```
pub fn batched_jacobian_diagonal<'t, T: Real>(
    y: Var<'t, T>,
    x: Var<'t, T>,
    j: usize,
) -> Result<Var<'t, T>, Error> {
    let (batch, d) = batch_shape("batched_jacobian_diagonal", x)?;
    let y_shape = y.try_value()?.shape().to_vec();
    if y_shape != [batch, d] || j >= d {
        return Err(Error::Shape(format!(
            "batched_jacobian_diagonal needs y shaped like x [{batch}, {d}] and j < {d}, got y {y_shape:?} and j = {j}"
        )));
    }
    let e_j = Tensor::from_fn(
        &[batch, d],
        |k| if k % d == j { T::one() } else { T::zero() },
    );
    let column = jvp(&[y], &[x], &[x.tape().constant(e_j)])?[0];
    Ok(column.slice(1, j, j + 1).reshape(&[batch]))
}
