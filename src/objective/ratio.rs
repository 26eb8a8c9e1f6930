//! Ratio matching for binary data (Hyvärinen 2007).
//!
//! On `{0,1}^d` there is no gradient in `x`; the discrete stand-in for the
//! score is the set of probability ratios to the `d` neighbours that differ in
//! one bit, `p(x)/p(flipⱼ x) = exp(E(flipⱼ x) - E(x))`, in which `Z` cancels.
//! Matching them through `g(u) = 1/(1 + u)` gives the per-sample loss
//! `Σⱼ g(p(x)/p(flipⱼ x))² = Σⱼ sigmoid(E(x) - E(flipⱼ x))²`.

use super::{check_inputs, energies, reduce, EnergyFn};
use crate::error::Error;
use crate::real::Real;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;

/// Checks that every entry of the `[B, d]` batch `x` is exactly 0 or 1,
/// naming `who` (what needs binary data) and the first entry that is not.
pub(crate) fn check_binary<T: Real>(x: &Tensor<T>, who: &str) -> Result<(), Error> {
    let bad = x
        .data()
        .iter()
        .position(|&v| v != T::zero() && v != T::one());
    match bad {
        None => Ok(()),
        Some(i) => {
            let dim = x.shape()[1];
            Err(Error::InvalidData(format!(
                "{who} needs binary data (0 or 1), but x[{}, {}] = {}",
                i / dim,
                i % dim,
                x.data()[i].as_f64()
            )))
        }
    }
}

/// Every single-bit flip of every sample: for `x` of shape `[B, d]` with
/// entries in `{0, 1}`, the `[B·d, d]` batch whose row `b·d + j` is `x_b` with
/// bit `j` flipped.
///
/// # Errors
///
/// [`Error::Shape`] if `x` is not a non-empty `[B, d]` batch;
/// [`Error::InvalidData`] if an entry is not 0 or 1 (naming the first).
///
/// # Examples
///
/// ```
/// use scoretape::objective::flip_each_bit;
/// use scoretape::Tensor;
/// let x = Tensor::<f64>::from_rows(&[vec![1.0, 0.0]]).unwrap();
/// assert_eq!(flip_each_bit(&x).unwrap().data(), &[0.0, 0.0, 1.0, 1.0]);
/// ```
pub fn flip_each_bit<T: Real>(x: &Tensor<T>) -> Result<Tensor<T>, Error> {
    let (batch, dim) = check_inputs(x, None)?;
    check_binary(x, "ratio matching")?;
    let mut data = Vec::with_capacity(batch * dim * dim);
    for b in 0..batch {
        let row = x.row(b);
        for j in 0..dim {
            data.extend(row.iter().enumerate().map(
                |(k, &bit)| {
                    if k == j {
                        T::one() - bit
                    } else {
                        bit
                    }
                },
            ));
        }
    }
    Tensor::from_vec(&[batch * dim, dim], data)
}

/// Ratio matching for an energy on binary data: the (weighted) mean over the
/// batch of `ℓ(x) = Σⱼ sigmoid(E(x) - E(flipⱼ x))²`.
///
/// The batch and all its `B·d` single-bit flips are stacked into one constant
/// `[B(d+1), d]` batch and the energy is called **once** on it; no derivative
/// in `x` is taken, so `grad(loss, &params)` is a single reverse sweep.
///
/// # Errors
///
/// As listed in the [module documentation](super); [`Error::InvalidData`]
/// naming the first entry of `x` that is not 0 or 1.
///
/// # Examples
///
/// A constant energy makes every ratio 1, so each bit contributes
/// `sigmoid(0)² = ¼` and `ℓ = d/4`:
///
/// ```
/// use scoretape::objective::ratio_matching;
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = Tensor::<f64>::from_rows(&[vec![1.0, 0.0, 1.0]]).unwrap();
/// assert_eq!(ratio_matching(&tape, &|x| x.sum_axis(1) * 0.0, &x, None).unwrap().item(), 0.75);
/// ```
pub fn ratio_matching<'t, T: Real>(
    tape: &'t Tape<T>,
    energy: EnergyFn<'_, 't, T>,
    x: &Tensor<T>,
    weights: Option<&Tensor<T>>,
) -> Result<Var<'t, T>, Error> {
    let (batch, dim) = check_inputs(x, weights)?;
    let flipped = flip_each_bit(x)?;
    let stacked = tape.constant(Tensor::concat(&[x, &flipped], 0));
    let e = energies(energy, stacked, batch * (dim + 1))?;
    let e_x = e.slice(0, 0, batch).reshape(&[batch, 1]);
    let e_flipped = e.slice(0, batch, batch * (dim + 1)).reshape(&[batch, dim]);
    let per_sample = (e_x - e_flipped).sigmoid().square().sum_axis(1);
    reduce(tape, per_sample, weights)
}
