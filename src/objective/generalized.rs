//! Generalized score matching (Hyvärinen 2007; Yu, Drton and Shojaie 2019)
//! for data on `[0, ∞)ᵈ`.
//!
//! Exact score matching integrates its cross term by parts over all of `ℝᵈ`;
//! on the orthant the boundary term `[p_data ∂ⱼlog p]` at `xⱼ = 0` does not
//! vanish, so the plain loss is not the Fisher divergence any more and its
//! minimiser is biased. Weighting coordinate `j` by `h_j(xⱼ) ≥ 0` with
//! `h_j(0) = 0` kills the boundary term; the integration by parts then moves
//! the derivative onto `h_j ∂ⱼ log p`, which brings in `h_j'`:
//!
//! `½ E_data Σⱼ h_j (∂ⱼlog p_θ - ∂ⱼlog p_data)² = E_data ℓ(x) + const`, with
//! `ℓ(x) = Σⱼ [½ h_j (∂ⱼE)² - h_j ∂²ⱼE - h_j' ∂ⱼE]` and `log p_θ = -E`.

use super::{check_inputs, energies, reduce, EnergyFn};
use crate::error::Error;
use crate::real::Real;
use crate::tape::{batched_jet, jvp, sum_of_squares, Tape, Var};
use crate::tensor::Tensor;
use alloc::format;

/// The weight function `h` of [generalized score
/// matching](generalized_score_matching), the same for every coordinate. Each
/// vanishes at the boundary `x = 0`, which is what removes the boundary term
/// of the integration by parts.
///
/// | variant | `h(x)` | `h'(x)` | command-line name |
/// |---------|--------|---------|-------------------|
/// | [`ScoreWeight::X2`] | `x²` | `2x` | `x2` |
/// | [`ScoreWeight::X`] | `x` | `1` | `x` |
/// | [`ScoreWeight::Min`]`(C)` | `min(x, C)` | `1` for `x < C`, `0` for `x ≥ C` | `min:C` |
///
/// `min(x, C)` has no derivative at `x = C`; the loss takes the right
/// derivative `0` there. Only `h` itself must be absolutely continuous for the
/// integration by parts, so the value of `h'` on the single point `x = C`
/// changes nothing for continuous data.
///
/// # Examples
///
/// ```
/// use scoretape::objective::ScoreWeight;
/// assert_eq!("min:2.5".parse::<ScoreWeight>().unwrap(), ScoreWeight::Min(2.5));
/// assert_eq!(ScoreWeight::X2.to_string(), "x2");
/// assert_eq!(ScoreWeight::Min(3.0).to_string(), "min:3");
/// assert_eq!(ScoreWeight::Min(3.0).h_and_derivative(4.0), (3.0, 0.0));
/// assert!("min:0".parse::<ScoreWeight>().is_err());
/// assert!("x3".parse::<ScoreWeight>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScoreWeight {
    /// `h(x) = x²`, Hyvärinen's (2007) choice: no assumption on the scale of
    /// the data, but it weights large values heavily, so heavy upper tails
    /// make the estimate noisy.
    X2,
    /// `h(x) = x`: lighter on large values than `x²`, heavier near zero.
    X,
    /// `h(x) = min(x, C)` with `C > 0` finite, which Yu, Drton and Shojaie
    /// (2019) recommend: like `x` near the boundary, but bounded, so large
    /// values do not dominate; `C` around a typical value (for instance a
    /// median or upper quantile of the data) works well.
    Min(f64),
}

impl ScoreWeight {
    /// `(h(x), h'(x))` at one value `x ≥ 0`.
    ///
    /// ```
    /// use scoretape::objective::ScoreWeight;
    /// assert_eq!(ScoreWeight::X2.h_and_derivative(3.0), (9.0, 6.0));
    /// assert_eq!(ScoreWeight::X.h_and_derivative(3.0), (3.0, 1.0));
    /// assert_eq!(ScoreWeight::Min(2.0).h_and_derivative(1.0), (1.0, 1.0));
    /// ```
    pub fn h_and_derivative<T: Real>(self, x: T) -> (T, T) {
        match self {
            ScoreWeight::X2 => (x * x, x + x),
            ScoreWeight::X => (x, T::one()),
            ScoreWeight::Min(c) => {
                let c = T::cast(c);
                if x < c {
                    (x, T::one())
                } else {
                    (c, T::zero())
                }
            }
        }
    }

    /// Checks the weight's constant: `C` of `min:C` must be finite and `> 0`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] naming the bad `C`.
    ///
    /// ```
    /// use scoretape::objective::ScoreWeight;
    /// assert!(ScoreWeight::Min(1.0).check().is_ok());
    /// assert!(ScoreWeight::Min(f64::NAN).check().is_err());
    /// assert!(ScoreWeight::Min(-1.0).check().is_err());
    /// ```
    pub fn check(self) -> Result<(), Error> {
        match self {
            ScoreWeight::Min(c) if !(c.is_finite() && c > 0.0) => Err(Error::InvalidData(format!(
                "the weight min:C needs C finite and > 0, got {c}"
            ))),
            _ => Ok(()),
        }
    }

    /// `h` and `h'` of every entry of `x`, two tensors shaped like `x`.
    pub(crate) fn evaluate<T: Real>(self, x: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
        (
            x.map(|v| self.h_and_derivative(v).0),
            x.map(|v| self.h_and_derivative(v).1),
        )
    }
}

impl core::fmt::Display for ScoreWeight {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ScoreWeight::X2 => f.write_str("x2"),
            ScoreWeight::X => f.write_str("x"),
            ScoreWeight::Min(c) => write!(f, "min:{c}"),
        }
    }
}

impl core::str::FromStr for ScoreWeight {
    type Err = Error;

    /// `x2`, `x` or `min:C` with `C` finite and `> 0`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "x2" => return Ok(ScoreWeight::X2),
            "x" => return Ok(ScoreWeight::X),
            _ => {}
        }
        let bad = |why: &str| {
            Error::InvalidData(format!(
                "invalid weight {s:?}: {why} (expected x2, x or min:C with C > 0)"
            ))
        };
        let Some(c) = s.strip_prefix("min:") else {
            return Err(bad("unknown weight function"));
        };
        let c: f64 = c.trim().parse().map_err(|_| bad("C is not a number"))?;
        let weight = ScoreWeight::Min(c);
        weight
            .check()
            .map_err(|_| bad(&format!("C must be finite and > 0, got {c}")))?;
        Ok(weight)
    }
}

/// Checks that every entry of the batch is `≥ 0` (the support `[0, ∞)ᵈ`),
/// naming the first that is not by row and column.
pub(crate) fn check_nonnegative<T: Real>(x: &Tensor<T>) -> Result<(), Error> {
    let d = x.shape()[1];
    match x.data().iter().position(|&v| v < T::zero()) {
        None => Ok(()),
        Some(i) => Err(Error::InvalidData(format!(
            "generalized score matching needs data in [0, ∞), but row {} column {} is {}",
            i / d,
            i % d,
            x.data()[i].as_f64()
        ))),
    }
}

/// Generalized score matching for an energy model on `[0, ∞)ᵈ`: the
/// (weighted) mean over the batch of
/// `ℓ(x) = Σⱼ [½ h(xⱼ)(∂ⱼE)² - h(xⱼ) ∂²ⱼE - h'(xⱼ) ∂ⱼE]`, with `h` the
/// [`ScoreWeight`] (`log p = -E`).
///
/// One forward-Laplacian sweep seeded with the directions `√h(x_bj) eⱼ`
/// ([`crate::tape::batched_weighted_laplacian`]) gives both
/// `√h(xⱼ) ∂ⱼE` (its Jacobian, whose squares sum to `Σⱼ h (∂ⱼE)²`) and
/// `Σⱼ h(xⱼ) ∂²ⱼE` (its Laplacian); one forward-mode sweep along the tangent
/// `h'(x)` gives `Σⱼ h'(xⱼ) ∂ⱼE` (the Jacobian cannot: `√h` vanishes where
/// `h'` need not). Everything is recorded on `tape`, so
/// `grad(loss, &params)` is the parameter gradient.
///
/// # Errors
///
/// As listed in the [module documentation](super); and
/// [`Error::InvalidData`] naming the row and column of the first negative
/// entry of `x` (zero is allowed: the weights vanish there), or for a bad
/// `min:C` ([`ScoreWeight::check`]).
///
/// # Examples
///
/// `E(x) = ½‖x‖²` has `∂ⱼE = xⱼ`, `∂²ⱼE = 1`; with `h = x²`,
/// `ℓ(x) = Σⱼ [½xⱼ⁴ - xⱼ² - 2xⱼ²]`.
///
/// ```
/// use scoretape::objective::{generalized_score_matching, ScoreWeight};
/// use scoretape::{Tape, Tensor, Var};
/// fn energy<'t>(x: Var<'t, f64>) -> Var<'t, f64> {
///     (x * x).sum_axis(1) * 0.5
/// }
/// let tape = Tape::new();
/// let x = Tensor::<f64>::from_rows(&[vec![1.0, 2.0]]).unwrap();
/// let loss = generalized_score_matching(&tape, &energy, &x, None, ScoreWeight::X2).unwrap();
/// assert!((loss.item() - ((0.5 - 3.0) + (8.0 - 12.0))).abs() < 1e-14);
/// let negative = Tensor::<f64>::from_rows(&[vec![1.0, -2.0]]).unwrap();
/// assert!(generalized_score_matching(&tape, &energy, &negative, None, ScoreWeight::X).is_err());
/// ```
pub fn generalized_score_matching<'t, T: Real>(
    tape: &'t Tape<T>,
    energy: EnergyFn<'_, 't, T>,
    x: &Tensor<T>,
    weights: Option<&Tensor<T>>,
    weight: ScoreWeight,
) -> Result<Var<'t, T>, Error> {
    let (batch, _) = check_inputs(x, weights)?;
    weight.check()?;
    check_nonnegative(x)?;
    let (h, dh) = weight.evaluate(x);
    let x = tape.input(x.clone());
    let e = energies(energy, x, batch)?;
    let jet = batched_jet(e, x, Some(&h.map(T::sqrt)))?;
    let drift = jvp(&[e], &[x], &[tape.constant(dh)])?[0];
    let mut per_sample = sum_of_squares(jet.jacobian) * T::cast(0.5) - drift;
    if let Some(weighted_trace) = jet.laplacian {
        per_sample = per_sample - weighted_trace;
    }
    reduce(tape, per_sample, weights)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tape::{batched_jacobian_diagonal, batched_weighted_laplacian, grad};
    use alloc::vec;

    #[test]
    fn weight_text_is_parsed_or_refused_by_name() {
        assert_eq!("x".parse::<ScoreWeight>().unwrap(), ScoreWeight::X);
        assert_eq!(
            "min:0.25".parse::<ScoreWeight>().unwrap(),
            ScoreWeight::Min(0.25)
        );
        for bad in [
            "", "X2", "x^2", "min", "min:", "min:-1", "min:0", "min:nan", "min:inf",
        ] {
            match bad.parse::<ScoreWeight>() {
                Err(Error::InvalidData(m)) => assert!(m.contains(&format!("{bad:?}")), "{m}"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn the_subgradient_at_c_is_zero_and_h_is_continuous() {
        let w = ScoreWeight::Min(2.0);
        assert_eq!(w.h_and_derivative(2.0f64), (2.0, 0.0));
        assert_eq!(w.h_and_derivative(2.0f64 - 1e-12).1, 1.0);
        assert!((w.h_and_derivative(2.0f64 - 1e-12).0 - 2.0).abs() < 1e-11);
    }

    #[test]
    fn negative_entries_are_named_by_row_and_column() {
        let x = Tensor::from_rows(&[
            vec![0.0, 1.0, 2.0],
            vec![3.0, 4.0, -0.0],
            vec![1.0, -1e-300, 0.0],
        ])
        .unwrap();
        let message = check_nonnegative(&x).unwrap_err().to_string();
        assert!(message.contains("row 2 column 1"), "{message}");
    }

    /// The √h seed gives `Σⱼ hⱼ ∂²ⱼy`, against the HVP diagonal, and its
    /// Jacobian rows are `√hⱼ ∂ⱼy`, against reverse mode; zero weights switch
    /// a coordinate off.
    #[test]
    fn seeded_jet_is_the_weighted_hessian_diagonal() {
        let tape = Tape::<f64>::new();
        let data = Tensor::from_rows(&[vec![0.3, 1.2, 0.0], vec![2.0, 0.5, 0.7]]).unwrap();
        let x = tape.input(data.clone());
        let y = ((x.sin() * x.square()).sum_axis(1)).tanh() + x.exp().sum_axis(1);
        let h = Tensor::from_rows(&[vec![0.5, 0.0, 3.0], vec![1.0, 2.0, 0.25]]).unwrap();
        let g = grad(y.sum(), &[x]).unwrap()[0].value();
        let diagonal: Vec<Vec<f64>> = (0..3)
            .map(|j| {
                let gx = grad(y.sum(), &[x]).unwrap()[0];
                batched_jacobian_diagonal(gx, x, j).unwrap().to_vec()
            })
            .collect();
        let weighted = batched_weighted_laplacian(y, x, &h).unwrap().to_vec();
        let jet = batched_jet(y, x, Some(&h.map(f64::sqrt))).unwrap();
        let rows = jet.jacobian.to_vec(); // [3, 2]: direction j, sample b
        for b in 0..2 {
            let want: f64 = (0..3).map(|j| h.get(&[b, j]) * diagonal[j][b]).sum();
            assert!((weighted[b] - want).abs() < 1e-12 * want.abs().max(1.0));
            for j in 0..3 {
                let want = h.get(&[b, j]).sqrt() * g.get(&[b, j]);
                assert!((rows[j * 2 + b] - want).abs() < 1e-12 * want.abs().max(1.0));
            }
        }
        let negative = Tensor::from_rows(&[vec![0.5, -1.0, 3.0], vec![1.0, 2.0, 0.25]]).unwrap();
        assert!(batched_weighted_laplacian(y, x, &negative).is_err());
        assert!(batched_weighted_laplacian(y, x, &Tensor::ones(&[2, 2])).is_err());
    }
}
