//! Finite-difference sliced score matching (Pang et al. 2020): sliced score
//! matching with the directional derivatives replaced by differences of
//! energies, so the model is only ever evaluated, never differentiated in `x`.
//!
//! Along a projection `v`, with `E±` = `E(x ± εv)`, Taylor's theorem gives
//!
//! ```text
//! E± = E ± ε vᵀ∇E + ½ε² vᵀHv ± ⅙ε³ ∇³E[v,v,v] + ε⁴/24 ∇⁴E[v,v,v,v] ± …
//! (E₊ + E₋ - 2E) / ε² = vᵀHv + ε²/12 ∇⁴E[v⁴] + O(ε⁴)
//! (E₊ - E₋) / (2ε)    = vᵀ∇E + ε²/6 ∇³E[v³] + O(ε⁴)
//! ```
//!
//! so the per-projection loss `-(E₊ + E₋ - 2E)/ε² + ½((E₊ - E₋)/(2ε))²` is the
//! standard sliced loss `-vᵀHv + ½(vᵀ∇E)²` up to a truncation error of
//! `O(ε²)`. The differences cancel leading digits, so rounding adds about
//! `u·|E|/ε²` (`u` the unit roundoff) to the second difference; the total
//! error `c₁ε² + c₂u/ε²` is smallest near `ε ∝ u^¼`: `ε ≈ 1e-4` in `f64` and
//! `≈ 0.02` in `f32` for unit-scale data and energies. [`fd_ssm_epsilon`] is
//! the default, chosen by measuring MLP energies (see `docs/objectives.md`).

use super::sliced::Projections;
use super::{check_inputs, energies, reduce, EnergyFn};
use crate::error::Error;
use crate::real::Real;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;

/// The default step `ε` of [`finite_difference_sliced_score_matching`] in
/// precision `T`: `1e-3` in `f64`, `0.05` in `f32`.
///
/// Measured on MLP energies (hidden `32, 32`, softplus and tanh, `d` = 2, 8
/// and 64, `x ~ N(0, I)`, one Gaussian projection per sample, `B = 64`)
/// against sliced score matching with the same projections:
///
/// - `f64`, `ε = 1e-3`: the loss within `1.5e-7` (softplus) to `8e-6` (tanh)
///   relative, the θ-gradient within `1e-7` to `1e-5`, truncation-dominated.
///   The error is least near `ε = 1e-4` (`2e-8` to `3e-7`); the default stays an
///   order above it, since below the optimum the rounding error grows as
///   `1/ε²` and in proportion to `|E|`, and energies of a larger scale than
///   the test's move the optimum up.
/// - `f32`, `ε = 0.05`: the loss within `5e-4` (softplus) to `2e-2` (tanh, its
///   truncation error) relative, the gradient within `6e-4` to `2.5e-2`;
///   `0.02` halves the tanh errors but doubles the softplus ones, and more
///   than that for data of scale 10. No step does much better than `1e-3`:
///   f32 keeps about three digits of the sliced loss. The f64 step `1e-3` is
///   useless in f32 (errors of 15 % to 600 %).
///
/// The table is in `docs/objectives.md`.
///
/// ```
/// use scoretape::objective::fd_ssm_epsilon;
/// assert_eq!(fd_ssm_epsilon::<f64>(), 1e-3);
/// assert_eq!(fd_ssm_epsilon::<f32>(), 0.05);
/// ```
pub fn fd_ssm_epsilon<T: Real>() -> T {
    // `f32`'s unit roundoff is 2⁻²⁴; anything coarser than `f64`'s takes the
    // `f32` step.
    if T::epsilon().as_f64() > 1e-10 {
        T::cast(0.05)
    } else {
        T::cast(1e-3)
    }
}

/// Checks a finite-difference step: finite and strictly positive.
pub(crate) fn check_epsilon<T: Real>(epsilon: T) -> Result<(), Error> {
    if !(epsilon.is_finite() && epsilon > T::zero()) {
        return Err(Error::InvalidData(format!(
            "the finite-difference step ε must be finite and > 0, got {}",
            epsilon.as_f64()
        )));
    }
    Ok(())
}

/// The rows `x`, then `x + εv_m` for every projection `m`, then `x - εv_m`:
/// `[(2M + 1)B, d]`, so that one energy call evaluates them all.
///
/// A step lost entirely to rounding (`x ± εv = x` in every coordinate though
/// `v ≠ 0`) would make every difference 0 and the loss silently 0, so it is
/// refused.
fn stacked_points<T: Real>(
    x: &Tensor<T>,
    projections: &Tensor<T>,
    epsilon: T,
) -> Result<Tensor<T>, Error> {
    let dim = x.shape()[1];
    let mut data = Vec::with_capacity(x.len() + 2 * projections.len());
    data.extend_from_slice(x.data());
    for sign in [T::one(), -T::one()] {
        let step = sign * epsilon;
        for rows in projections.data().chunks(x.len()) {
            let start = data.len();
            data.extend(x.data().iter().zip(rows).map(|(&a, &v)| a + step * v));
            let samples = data[start..].chunks(dim).zip(x.data().chunks(dim));
            for (row, ((moved, centre), v)) in samples.zip(rows.chunks(dim)).enumerate() {
                if moved == centre && v.iter().any(|&c| c != T::zero()) {
                    return Err(Error::InvalidData(format!(
                        "the finite-difference step ε = {} vanishes in rounding at sample {row}: \
                         x ± εv = x; take a larger ε",
                        epsilon.as_f64()
                    )));
                }
            }
        }
    }
    let rows = data.len() / dim;
    Tensor::from_vec(&[rows, dim], data)
}

/// Finite-difference sliced score matching for an energy model: the
/// (weighted) mean over the batch of the mean over `M` projections `v` of
///
/// ```text
/// ℓ(x, v) = -[E(x+εv) + E(x-εv) - 2E(x)] / ε² + ½ ([E(x+εv) - E(x-εv)] / (2ε))²
/// ```
///
/// which is the standard [`sliced_score_matching`](super::sliced_score_matching)
/// loss `-vᵀHv + ½(vᵀ∇E)²` up to `O(ε²)`: by Taylor's theorem the second
/// difference is `vᵀHv + (ε²/12)∇⁴E[v,v,v,v] + O(ε⁴)` and the central first
/// difference `vᵀ∇E + (ε²/6)∇³E[v,v,v] + O(ε⁴)`, both exact for a quadratic
/// energy. Rounding adds about `u·|E|/ε²` (`u` the unit roundoff), to the
/// loss and to its θ-gradient; [`fd_ssm_epsilon`] is a good default step.
/// Projections are as for sliced score matching (`E[vvᵀ] = I`, drawn by
/// [`draw_projections`](super::draw_projections) or given).
///
/// The energy is called **once**, on the `(2M + 1)B` stacked rows `x`, `x +
/// εv`, `x - εv` (`E(x)` is shared by a sample's projections), and nothing is
/// differentiated with respect to `x`: the tape holds one forward pass, and
/// the parameter gradient is one ordinary reverse sweep, without the
/// second-order graph of an HVP. There is no variance-reduced variant: its
/// `½‖∇E‖²` would need the input gradient this objective avoids.
///
/// # Errors
///
/// As listed in the [module documentation](super); also
/// [`Error::InvalidData`] if `ε` is not finite and positive or so small
/// that `x ± εv` rounds to `x`, and the
/// projection errors of [`sliced_score_matching`](super::sliced_score_matching).
///
/// # Examples
///
/// For a quadratic energy the second difference is exact: with `E = ½‖x‖²`
/// and `v = (1, -1)`, `ℓ = -‖v‖² + ½(vᵀx)²` for any `ε`.
///
/// ```
/// use scoretape::objective::{finite_difference_sliced_score_matching, Projections};
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::from_rows(&[vec![1.0, 2.0]]).unwrap();
/// let v = Tensor::from_vec(&[1, 1, 2], vec![1.0, -1.0]).unwrap();
/// let loss = finite_difference_sliced_score_matching(
///     &tape, &|x| (x * x).sum_axis(1) * 0.5, &x, None, Projections::Given(&v), 0.25,
/// )
/// .unwrap();
/// assert!((loss.item() - (-2.0 + 0.5)).abs() < 1e-14);
/// ```
pub fn finite_difference_sliced_score_matching<'t, T: Real>(
    tape: &'t Tape<T>,
    energy: EnergyFn<'_, 't, T>,
    x: &Tensor<T>,
    weights: Option<&Tensor<T>>,
    projections: Projections<'_, T>,
    epsilon: T,
) -> Result<Var<'t, T>, Error> {
    let (batch, dim) = check_inputs(x, weights)?;
    check_epsilon(epsilon)?;
    let projections = projections.resolve(batch, dim)?;
    let count = projections.shape()[0];
    let points = tape.constant(stacked_points(x, &projections, epsilon)?);
    let e = energies(energy, points, (2 * count + 1) * batch)?;
    let centre = e.slice(0, 0, batch);
    let plus = e
        .slice(0, batch, (count + 1) * batch)
        .reshape(&[count, batch]);
    let minus = e
        .slice(0, (count + 1) * batch, (2 * count + 1) * batch)
        .reshape(&[count, batch]);
    let second = (plus + minus - centre * T::cast(2.0)) / (epsilon * epsilon);
    let first = (plus - minus) / (epsilon * T::cast(2.0));
    let per_projection = first.square() * T::cast(0.5) - second;
    let per_sample = per_projection.sum_axis(0) / T::cast(count as f64);
    reduce(tape, per_sample, weights)
}
