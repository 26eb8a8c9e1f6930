//! Sliced score matching (Song et al. 2019).
//!
//! The trace in exact score matching is an expectation over any random
//! direction with `E[vvᵀ] = I`: `tr A = E[vᵀAv]`. Replacing `tr ∇s` by
//! `vᵀ(∇s)v` and `½‖s‖²` by `½(vᵀs)²` (whose expectation is `½‖s‖²` too)
//! gives an unbiased estimate of the exact loss that costs one
//! Hessian-vector product per projection instead of `d`.

use super::{
    check_finite, check_inputs, check_shape, energies, reduce, row_dot, row_norm2, scores,
    EnergyFn, ScoreFn,
};
use crate::error::Error;
use crate::random::{standard_normal, Rng64};
use crate::real::Real;
use crate::tape::{grad, jvp, Tape, Var};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;
use num_traits::Float;

/// The distribution of the random projections `v`. Each has `E[vvᵀ] = I`.
///
/// ```
/// use scoretape::objective::ProjectionKind;
/// assert_ne!(ProjectionKind::Gaussian, ProjectionKind::Sphere);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProjectionKind {
    /// Independent N(0, 1) entries.
    Gaussian,
    /// Independent ±1 entries (least variance when `H` is near diagonal:
    /// `vᵀHv = tr H` exactly when `H` is diagonal, since `vᵢ² = 1`).
    Rademacher,
    /// Uniform on the sphere of radius `√d` (so `E[vvᵀ] = I`, not `I/d`).
    Sphere,
}

/// Whether sliced score matching slices the norm term too.
///
/// ```
/// use scoretape::objective::SlicedVariant;
/// assert_ne!(SlicedVariant::Standard, SlicedVariant::VarianceReduced);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SlicedVariant {
    /// SSM: `-vᵀHv + ½(vᵀ∇E)²`.
    #[default]
    Standard,
    /// SSM-VR: `-vᵀHv + ½‖∇E‖²`, the norm computed exactly (it is free, since
    /// the gradient is recorded anyway), removing its share of the variance.
    VarianceReduced,
}

/// Where the projections come from.
///
/// ```
/// use scoretape::objective::{ProjectionKind, Projections};
/// use scoretape::random::seeded;
/// let mut rng = seeded(0);
/// let random: Projections<'_, f64> = Projections::Random { kind: ProjectionKind::Rademacher, count: 4, rng: &mut rng };
/// assert!(matches!(random, Projections::Random { count: 4, .. }));
/// ```
#[derive(Debug)]
pub enum Projections<'a, T> {
    /// `count` fresh projections per sample, drawn by [`draw_projections`]
    /// from `rng` (so `Random` is exactly `Given(&draw_projections(..))`).
    Random {
        /// The distribution.
        kind: ProjectionKind,
        /// `M`, the number of projections per sample (at least 1).
        count: usize,
        /// The generator; it advances by the draws.
        rng: &'a mut Rng64,
    },
    /// Given projections of shape `[M, B, d]`: `v[m, b]` is projection `m` of
    /// sample `b`.
    Given(&'a Tensor<T>),
}

/// `count` projections for each of `batch` samples in dimension `dim`, shape
/// `[count, batch, dim]`, drawn in row-major order (projection by projection,
/// sample by sample).
///
/// # Errors
///
/// [`Error::InvalidData`] if `count` is 0; [`Error::Shape`] if `batch` or
/// `dim` is 0.
///
/// # Examples
///
/// ```
/// use scoretape::objective::{draw_projections, ProjectionKind};
/// use scoretape::random::seeded;
/// let v = draw_projections::<f64>(ProjectionKind::Sphere, 2, 3, 4, &mut seeded(1)).unwrap();
/// assert_eq!(v.shape(), &[2, 3, 4]);
/// for row in v.data().chunks(4) {
///     let norm2: f64 = row.iter().map(|a| a * a).sum();
///     assert!((norm2 - 4.0).abs() < 1e-12); // radius √d
/// }
/// ```
pub fn draw_projections<T: Real>(
    kind: ProjectionKind,
    count: usize,
    batch: usize,
    dim: usize,
    rng: &mut Rng64,
) -> Result<Tensor<T>, Error> {
    check_count(count)?;
    if batch == 0 || dim == 0 {
        return Err(Error::Shape(format!(
            "projections need a non-empty batch and dimension, got batch {batch}, dim {dim}"
        )));
    }
    let shape = [count, batch, dim];
    Ok(match kind {
        ProjectionKind::Gaussian => crate::random::normal_tensor(&shape, rng),
        ProjectionKind::Rademacher => crate::random::rademacher_tensor(&shape, rng),
        ProjectionKind::Sphere => {
            let radius = Float::sqrt(dim as f64);
            let mut data = Vec::with_capacity(count * batch * dim);
            for _ in 0..count * batch {
                let z = gaussian_direction(dim, rng);
                let norm = Float::sqrt(z.iter().map(|a| a * a).sum::<f64>());
                data.extend(z.iter().map(|a| T::cast(a * radius / norm)));
            }
            Tensor::from_vec(&shape, data)?
        }
    })
}

/// A Gaussian vector, redrawn in the (probability-zero) event that it is 0, so
/// that it can be normalised onto the sphere.
fn gaussian_direction(dim: usize, rng: &mut Rng64) -> Vec<f64> {
    loop {
        let z: Vec<f64> = (0..dim).map(|_| standard_normal(rng)).collect();
        if z.iter().any(|&a| a != 0.0) {
            return z;
        }
    }
}

fn check_count(count: usize) -> Result<(), Error> {
    if count == 0 {
        return Err(Error::InvalidData(
            "sliced score matching needs at least one projection per sample (M = 0)".into(),
        ));
    }
    Ok(())
}

impl<T: Real> Projections<'_, T> {
    /// The projections as a `[M, B, d]` tensor, validated against the batch.
    pub(super) fn resolve(self, batch: usize, dim: usize) -> Result<Tensor<T>, Error> {
        match self {
            Projections::Random { kind, count, rng } => {
                draw_projections(kind, count, batch, dim, rng)
            }
            Projections::Given(v) => {
                let count = v.shape().first().copied().unwrap_or(0);
                if v.shape().len() == 3 {
                    check_count(count)?;
                }
                check_shape(v, &[count, batch, dim], "the projections")?;
                check_finite(v, "the projections")?;
                Ok(v.clone())
            }
        }
    }
}

/// The per-projection terms of the sliced loss, averaged over projections.
///
/// `y` is the function whose Jacobian is sliced (`∇E` or `s`), `sign` the sign
/// of the slice term in the loss (`-1` for an energy, where `∇s = -H`; `+1`
/// for a score), and `norm_term` the VR term `½‖y‖²` if wanted.
fn average_over_projections<'t, T: Real>(
    y: Var<'t, T>,
    x: Var<'t, T>,
    projections: &Tensor<T>,
    variant: SlicedVariant,
    sign: T,
) -> Result<Var<'t, T>, Error> {
    let (count, batch, dim) = (
        projections.shape()[0],
        projections.shape()[1],
        projections.shape()[2],
    );
    let tape = x.tape();
    let mut total: Option<Var<'t, T>> = None;
    for m in 0..count {
        let v = tape.constant(projections.slice(0, m, m + 1).reshape(&[batch, dim]));
        // One forward sweep over the recorded y: J v (an HVP when y = ∇E).
        let jv = jvp(&[y], &[x], &[v])?[0];
        let mut term = row_dot(v, jv) * sign;
        if variant == SlicedVariant::Standard {
            term = term + row_dot(v, y).square() * T::cast(0.5);
        }
        total = Some(match total {
            Some(sum) => sum + term,
            None => term,
        });
    }
    let mut per_sample = total.expect("count ≥ 1 was checked") / T::cast(count as f64);
    if variant == SlicedVariant::VarianceReduced {
        per_sample = per_sample + row_norm2(y) * T::cast(0.5);
    }
    Ok(per_sample)
}

/// Sliced score matching for an energy model: the (weighted) mean over the
/// batch of the mean over `M` projections `v` of
/// `ℓ(x, v) = -vᵀH(x)v + ½(vᵀ∇ₓE(x))²` ([`SlicedVariant::Standard`]) or
/// `-vᵀH(x)v + ½‖∇ₓE(x)‖²` ([`SlicedVariant::VarianceReduced`]).
///
/// One recorded gradient, then one forward-over-reverse HVP per projection,
/// each pushing projection `m` of every sample through at once. With the `d`
/// given projections `√d·eᵢ` the result equals [`exact_score_matching`](super::exact_score_matching).
///
/// # Errors
///
/// As listed in the [module documentation](super); also [`Error::Shape`] if
/// given projections are not `[M, B, d]`, [`Error::InvalidData`] if `M = 0` or
/// they are not finite.
///
/// # Examples
///
/// For `E = ½‖x‖²` (`H = I`) and a projection `v`: `ℓ = -‖v‖² + ½(vᵀx)²`.
///
/// ```
/// use scoretape::objective::{sliced_score_matching, Projections, SlicedVariant};
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::from_rows(&[vec![1.0, 2.0]]).unwrap();
/// let v = Tensor::from_vec(&[1, 1, 2], vec![1.0, -1.0]).unwrap();
/// let loss = sliced_score_matching(
///     &tape, &|x| (x * x).sum_axis(1) * 0.5, &x, Projections::Given(&v), SlicedVariant::Standard, None,
/// )
/// .unwrap();
/// assert!((loss.item() - (-2.0 + 0.5)).abs() < 1e-14);
/// ```
pub fn sliced_score_matching<'t, T: Real>(
    tape: &'t Tape<T>,
    energy: EnergyFn<'_, 't, T>,
    x: &Tensor<T>,
    projections: Projections<'_, T>,
    variant: SlicedVariant,
    weights: Option<&Tensor<T>>,
) -> Result<Var<'t, T>, Error> {
    let (batch, dim) = check_inputs(x, weights)?;
    let projections = projections.resolve(batch, dim)?;
    let x = tape.input(x.clone());
    let e = energies(energy, x, batch)?;
    let g = grad(e.sum(), &[x])?[0];
    let per_sample = average_over_projections(g, x, &projections, variant, -T::one())?;
    reduce(tape, per_sample, weights)
}

/// Sliced score matching for a score model `s`: the (weighted) mean over the
/// batch of the mean over projections of `ℓ(x, v) = vᵀ∇ₓs(x)v + ½(vᵀs(x))²`
/// (or `+ ½‖s(x)‖²` for [`SlicedVariant::VarianceReduced`]); one JVP of the
/// recorded score per projection.
///
/// # Errors
///
/// As for [`sliced_score_matching`], with a score not shaped like `x` an
/// [`Error::Shape`].
///
/// # Examples
///
/// For `s(x) = -x` and `v = (1, 1)`: `ℓ = -2 + ½(x₀ + x₁)²`.
///
/// ```
/// use scoretape::objective::{sliced_score_matching_score_model, Projections, SlicedVariant};
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::from_rows(&[vec![1.0, 2.0]]).unwrap();
/// let v = Tensor::from_vec(&[1, 1, 2], vec![1.0, 1.0]).unwrap();
/// let loss = sliced_score_matching_score_model(
///     &tape, &|x| -x, &x, Projections::Given(&v), SlicedVariant::Standard, None,
/// )
/// .unwrap();
/// assert!((loss.item() - (-2.0 + 4.5)).abs() < 1e-14);
/// ```
pub fn sliced_score_matching_score_model<'t, T: Real>(
    tape: &'t Tape<T>,
    score: ScoreFn<'_, 't, T>,
    x: &Tensor<T>,
    projections: Projections<'_, T>,
    variant: SlicedVariant,
    weights: Option<&Tensor<T>>,
) -> Result<Var<'t, T>, Error> {
    let (batch, dim) = check_inputs(x, weights)?;
    let projections = projections.resolve(batch, dim)?;
    let x = tape.input(x.clone());
    let s = scores(score, x)?;
    let per_sample = average_over_projections(s, x, &projections, variant, T::one())?;
    reduce(tape, per_sample, weights)
}
