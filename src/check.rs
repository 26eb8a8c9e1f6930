//! Derivative checking: [`check_grads`] verifies every mode of differentiation
//! of a function, up to third order, against central finite differences and
//! against identities that hold exactly in exact arithmetic.
//!
//! Write `f: ℝⁿ → ℝᵐ` for the function with all its arguments flattened into
//! one vector `x` (row-major, arguments in order), `J` for its Jacobian, and
//! draw, from a seeded generator, a cotangent `u ~ N(0, I)` shaped like `f(x)`
//! and directions `v, w ~ N(0, I)` shaped like `x`. Let `s(x) = ⟨u, f(x)⟩`, a
//! scalar whose gradient is `Jᵀu` and whose Hessian is `H = Σₖ uₖ ∇²fₖ`.
//!
//! | order | check | what is compared |
//! |-------|-------|------------------|
//! | 1 | [`Check::Reverse`] | `vjp` gives `Jᵀu`; element `i` against `(s(x + hεᵢ) − s(x − hεᵢ)) / 2h` |
//! | 1 | [`Check::Forward`] | `jvp` gives `Jv`; against `(f(x + hv) − f(x − hv)) / 2h` |
//! | 1 | [`Check::Adjoint`] | `⟨u, Jv⟩ = ⟨Jᵀu, v⟩`, both from the engine, to rounding |
//! | 2 | [`Check::HvpModes`] | `hvp` (forward-over-reverse) = `hvp_reverse_over_reverse`, to rounding |
//! | 2 | [`Check::HessianSymmetry`] | `hessian` gives `H` with `Hᵢⱼ = Hⱼᵢ`, to rounding |
//! | 2 | [`Check::HvpFiniteDifferences`] | `Hv` against `(∇s(x + hv) − ∇s(x − hv)) / 2h` |
//! | 3 | [`Check::ThirdOrder`] | `∇ₓ(vᵀH(x)v)` (reverse over the recorded HVP); element `i` against central differences of `vᵀH(x)v` |
//! | 3 | [`Check::ThirdOrderModes`] | the forward-mode derivative of `vᵀHv` along `w` = `⟨∇ₓ(vᵀHv), w⟩`, to rounding |
//!
//! Finite differences are central differences improved by Richardson
//! extrapolation: with `D(h) = (g(x + hd) − g(x − hd)) / 2h`, whose error is
//! `c·h² + O(h⁴)`, the estimate `(4·D(h/2) − D(h)) / 3` has error `O(h⁴)`,
//! plus rounding of order `ε/h` times the size of `g`. Those comparisons use
//! the tolerance `atol + rtol·max(|a|, |b|)` ([`CheckConfig::fd_atol`],
//! [`CheckConfig::fd_rtol`]). Element `k` of the step is scaled by
//! `max(1, |xₖ|)`.
//!
//! The identities hold exactly in exact arithmetic, so they are held to
//! `rounding·(1 + scale)` ([`CheckConfig::rounding`]), where `scale` is the
//! magnitude of the terms that were summed (`Σ|uₖ(Jv)ₖ| + Σ|(Jᵀu)ⱼvⱼ|` for the
//! adjoint identity, `maxᵢ Σⱼ|Hᵢⱼvⱼ|` for the HVP modes, `max|Hᵢⱼ|` for
//! symmetry, `Σ|(∇t)ⱼwⱼ|` for the third-order modes): relative for large
//! terms, absolute for small ones, since a result that cancels to near zero
//! keeps the rounding error of its larger intermediates.
//!
//! Finite differences are taken in `f64` wherever the function allows: the
//! perturbed points `x ± hd` are formed in `f64` and rounded to `T` once, the
//! function is evaluated on a fresh tape at each, and the difference quotient
//! is formed in `f64` along the direction actually taken, `(x₊ − x₋) / 2h`, so
//! rounding the points to `f32` does not bias the check. Only the function's
//! own evaluation runs in `T` (a closure over `Var<T>` cannot be re-run in
//! another type).

use crate::error::Error;
use crate::random::{normal_tensor, seeded, standard_normal};
use crate::real::Real;
use crate::tape::{grad, hessian, hvp, hvp_reverse_over_reverse, jvp, vjp, Tape, Var};
use crate::tensor::{numel, Tensor};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use num_traits::Float;

/// Step sizes and tolerances for [`check_grads`], with defaults per scalar type.
///
/// # Examples
///
/// ```
/// use scoretape::check::CheckConfig;
/// let config = CheckConfig { seed: 7, ..CheckConfig::for_real::<f64>() };
/// assert_eq!(config.rounding, 1e-12);
/// assert!(CheckConfig::for_real::<f32>().fd_rtol > config.fd_rtol);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CheckConfig {
    /// Seed for the random cotangent `u` and directions `v`, `w`.
    pub seed: u64,
    /// The finite-difference step `h`: element `k` of a point is moved by
    /// `h·max(1, |xₖ|)` times the direction's element `k`, so large inputs
    /// get proportionally large steps.
    pub step: f64,
    /// Relative tolerance of a comparison with finite differences.
    pub fd_rtol: f64,
    /// Absolute tolerance of a comparison with finite differences.
    pub fd_atol: f64,
    /// Tolerance of an identity that holds up to rounding (adjoint, HVP
    /// modes, Hessian symmetry, third-order modes): an error up to
    /// `rounding·(1 + scale)` is allowed, `scale` being the magnitude of the
    /// terms summed (see the [module docs](self)).
    pub rounding: f64,
}

impl CheckConfig {
    /// Defaults for `f64`: step `1e-3`, finite-difference tolerances `1e-7`,
    /// identities to `1e-12` relative. With Richardson extrapolation the
    /// truncation error is `O(h⁴) ≈ 1e-12` and rounding contributes about
    /// `ε/h ≈ 1e-13` per unit of the function's size; across the engine's
    /// property suite the worst finite-difference error seen is about `1e-9`,
    /// so `1e-7` leaves a wide margin while a wrong rule errs by `O(1)`.
    ///
    /// ```
    /// assert_eq!(scoretape::check::CheckConfig::f64().step, 1e-3);
    /// ```
    pub fn f64() -> Self {
        CheckConfig {
            seed: 0,
            step: 1e-3,
            fd_rtol: 1e-7,
            fd_atol: 1e-7,
            rounding: 1e-12,
        }
    }

    /// Defaults for `f32`: step `1e-2`, finite-difference tolerances `5e-3`,
    /// identities to `1e-4` relative (about a thousand units in the last
    /// place, as `1e-12` is for `f64`). The function is evaluated in `f32`,
    /// so rounding contributes about `ε₃₂/h ≈ 1e-5` per unit of its size; the
    /// worst error seen across the property suite is about `1.5e-4`.
    ///
    /// ```
    /// assert_eq!(scoretape::check::CheckConfig::f32().rounding, 1e-4);
    /// ```
    pub fn f32() -> Self {
        CheckConfig {
            seed: 0,
            step: 1e-2,
            fd_rtol: 5e-3,
            fd_atol: 5e-3,
            rounding: 1e-4,
        }
    }

    /// The defaults for the scalar type `T`: [`CheckConfig::f32`] for a type
    /// with `f32` precision or less, [`CheckConfig::f64`] otherwise.
    ///
    /// ```
    /// use scoretape::check::CheckConfig;
    /// assert_eq!(CheckConfig::for_real::<f32>(), CheckConfig::f32());
    /// assert_eq!(CheckConfig::for_real::<f64>(), CheckConfig::f64());
    /// ```
    pub fn for_real<T: Real>() -> Self {
        if T::epsilon().as_f64() >= f64::from(f32::EPSILON) {
            CheckConfig::f32()
        } else {
            CheckConfig::f64()
        }
    }
}

/// One of the checks [`check_grads`] runs (see the [module docs](self) for
/// the maths of each).
///
/// ```
/// use scoretape::check::Check;
/// assert_eq!(Check::Reverse.order(), 1);
/// assert_eq!(Check::ThirdOrder.order(), 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Reverse mode (`vjp`) against finite differences of `⟨u, f⟩`; the
    /// element is an index into the flattened inputs.
    Reverse,
    /// Forward mode (`jvp`) against finite differences of `f` along `v`; the
    /// element is an index into the flattened output.
    Forward,
    /// The adjoint identity `⟨u, Jv⟩ = ⟨Jᵀu, v⟩`; one number, element 0.
    Adjoint,
    /// Forward-over-reverse HVP against reverse-over-reverse HVP; the element
    /// is an index into the flattened inputs.
    HvpModes,
    /// Symmetry of the Hessian; the element is `i·n + j` for entry `Hᵢⱼ`
    /// (compared with `Hⱼᵢ`) of the `n×n` Hessian.
    HessianSymmetry,
    /// The HVP against finite differences of the gradient along `v`; the
    /// element is an index into the flattened inputs.
    HvpFiniteDifferences,
    /// The gradient of `vᵀH(x)v` against finite differences; the element is
    /// an index into the flattened inputs.
    ThirdOrder,
    /// The forward-mode derivative of `vᵀHv` along `w` against the reverse
    /// one; one number, element 0.
    ThirdOrderModes,
}

impl Check {
    /// The order of derivative the check exercises (1, 2 or 3).
    ///
    /// ```
    /// assert_eq!(scoretape::check::Check::HvpModes.order(), 2);
    /// ```
    pub fn order(self) -> usize {
        match self {
            Check::Reverse | Check::Forward | Check::Adjoint => 1,
            Check::HvpModes | Check::HessianSymmetry | Check::HvpFiniteDifferences => 2,
            Check::ThirdOrder | Check::ThirdOrderModes => 3,
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Check::Reverse => "reverse mode (vjp) vs finite differences",
            Check::Forward => "forward mode (jvp) vs finite differences",
            Check::Adjoint => "adjoint identity <u, Jv> = <J^T u, v>",
            Check::HvpModes => "forward-over-reverse HVP vs reverse-over-reverse HVP",
            Check::HessianSymmetry => "Hessian symmetry",
            Check::HvpFiniteDifferences => "HVP vs finite differences of the gradient",
            Check::ThirdOrder => "gradient of v^T H v vs finite differences",
            Check::ThirdOrderModes => "forward vs reverse derivative of v^T H v",
        })
    }
}

/// Why [`check_grads`] failed.
///
/// ```
/// use scoretape::check::{Check, CheckFailure};
/// let failure = CheckFailure::Mismatch {
///     check: Check::Forward, element: 2, computed: 1.0, reference: 2.0, error: 1.0, allowed: 1e-6,
/// };
/// assert_eq!(failure.check(), Some(Check::Forward));
/// assert!(failure.to_string().contains("element 2"));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CheckFailure {
    /// A derivative disagrees with its reference beyond the tolerance. The
    /// element reported is the worst one (largest error relative to its
    /// allowance); what it indexes depends on the [`Check`].
    Mismatch {
        /// The check that failed.
        check: Check,
        /// The worst element.
        element: usize,
        /// The engine's value there.
        computed: f64,
        /// The reference value there (finite differences, or the other side
        /// of an identity).
        reference: f64,
        /// `|computed − reference|`.
        error: f64,
        /// The largest error the tolerance allows there.
        allowed: f64,
    },
    /// A derivative or its reference is NaN or infinite, so nothing can be
    /// compared (the function is not finite near the point, or a rule is wrong).
    NonFinite {
        /// The check that met the value.
        check: Check,
        /// The first non-finite element.
        element: usize,
    },
    /// An engine entry point returned an error during a check.
    Engine {
        /// The check that was running.
        check: Check,
        /// The engine's error.
        error: Error,
    },
    /// The arguments cannot be checked: no input elements, non-finite inputs,
    /// an order outside `1..=3`, or a function whose output shape changes
    /// between points.
    InvalidArguments(String),
}

impl CheckFailure {
    /// The check that failed, unless the arguments were invalid.
    ///
    /// ```
    /// use scoretape::check::CheckFailure;
    /// assert_eq!(CheckFailure::InvalidArguments("no inputs".into()).check(), None);
    /// ```
    pub fn check(&self) -> Option<Check> {
        match self {
            CheckFailure::Mismatch { check, .. }
            | CheckFailure::NonFinite { check, .. }
            | CheckFailure::Engine { check, .. } => Some(*check),
            CheckFailure::InvalidArguments(_) => None,
        }
    }
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckFailure::Mismatch {
                check,
                element,
                computed,
                reference,
                error,
                allowed,
            } => write!(
                f,
                "{check} failed at element {element}: computed {computed:e}, reference \
                 {reference:e}, error {error:e} exceeds the allowed {allowed:e}"
            ),
            CheckFailure::NonFinite { check, element } => {
                write!(f, "{check}: a non-finite value at element {element}")
            }
            CheckFailure::Engine { check, error } => write!(f, "{check}: {error}"),
            CheckFailure::InvalidArguments(msg) => write!(f, "cannot check: {msg}"),
        }
    }
}

impl core::error::Error for CheckFailure {}

/// Checks every mode of differentiation of `f` at `args`, up to `order`
/// (1, 2 or 3), as described in the [module docs](self): reverse and forward
/// mode against finite differences and the adjoint identity (order 1); both
/// HVP modes against each other and against finite differences, and Hessian
/// symmetry (order 2); the gradient of `vᵀHv` against finite differences and
/// against forward mode (order 3).
///
/// `f` may return any shape and take any number of arguments; it is called on
/// a fresh tape for every perturbed point, so it must be a pure function of its
/// arguments. Its Hessian is formed in full, `n` forward sweeps for `n` input
/// elements, so keep the inputs small (tens of elements) for orders 2 and 3.
///
/// Finite differences need the function smooth within a step of the point:
/// keep points away from kinks (ELU at 0) and, near a singularity closer than
/// about a hundred steps (`sqrt` at `0.01` with the `f64` step `1e-3`), lower
/// [`CheckConfig::step`] — there the differences, not the engine, are off.
///
/// # Errors
///
/// The first [`CheckFailure`] met, checks running in the order of the table in
/// the module docs; [`CheckFailure::InvalidArguments`] if `order` is not 1, 2
/// or 3, `args` has no elements or a non-finite one, or `f` changes its output
/// shape between points.
///
/// # Examples
///
/// ```
/// use scoretape::check::{check_grads, CheckConfig};
/// use scoretape::Tensor;
/// let a = Tensor::from_rows(&[vec![0.3, -1.2], vec![2.0, 0.5]]).unwrap();
/// let b = Tensor::vector(&[0.7, -0.4]);
/// let config = CheckConfig::for_real::<f64>();
/// check_grads(|x| (x[0].matmul(x[1].reshape(&[2, 1])).sin() * x[1]).exp(), &[a, b], 3, &config)
///     .unwrap();
/// ```
///
/// A primitive whose reverse rule is wrong (it says `d(3x)/dx = 2`) is caught:
///
/// ```
/// use scoretape::check::{check_grads, Check, CheckConfig};
/// use scoretape::tape::ops::Primitive;
/// use scoretape::{Tensor, Var};
///
/// struct Triple;
/// impl Primitive<f64> for Triple {
///     fn name(&self) -> String { "triple".into() }
///     fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> { inputs[0].map(|x| 3.0 * x) }
///     fn vjp<'t>(&self, _: &[Var<'t, f64>], _: Var<'t, f64>, ybar: Var<'t, f64>, _: &[bool])
///         -> Vec<Option<Var<'t, f64>>> { vec![Some(ybar * 2.0)] }
///     fn jvp<'t>(&self, _: &[Var<'t, f64>], _: Var<'t, f64>, xdot: &[Option<Var<'t, f64>>])
///         -> Var<'t, f64> { xdot[0].unwrap() * 3.0 }
/// }
///
/// let x = Tensor::vector(&[1.0, -2.0]);
/// let failure = check_grads(|v| v[0].tape().apply(Triple, &[v[0]]), &[x], 1, &CheckConfig::f64())
///     .unwrap_err();
/// assert_eq!(failure.check(), Some(Check::Reverse));
/// ```
pub fn check_grads<T, F>(
    f: F,
    args: &[Tensor<T>],
    order: usize,
    config: &CheckConfig,
) -> Result<(), CheckFailure>
where
    T: Real,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    check_grads_of(&f, args, order, config)
}

/// A function checked by [`check_grads`], behind a reference.
type Function<'a, T> = dyn for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T> + 'a;

/// [`check_grads`] for a function behind `&dyn Fn`: the checks are compiled
/// once per scalar type rather than once per closure, which keeps a test
/// suite of many checked closures quick to build.
fn check_grads_of<T: Real>(
    f: &Function<'_, T>,
    args: &[Tensor<T>],
    order: usize,
    config: &CheckConfig,
) -> Result<(), CheckFailure> {
    if !(1..=3).contains(&order) {
        return Err(CheckFailure::InvalidArguments(format!(
            "order {order} is not 1, 2 or 3"
        )));
    }
    let checker = Checker::new(f, args, config)?;
    let n = checker.point.len();
    let mut rng = seeded(config.seed);
    let mut direction = || -> Vec<f64> { (0..n).map(|_| standard_normal(&mut rng)).collect() };
    let (v, w) = (direction(), direction());
    checker.first_order(&v)?;
    if order >= 2 {
        let v_taken = checker.second_order(&v)?;
        if order >= 3 {
            checker.third_order(&v_taken, &w)?;
        }
    }
    Ok(())
}

/// Mixed into the seed of the cotangent `u` (the fractional bits of the
/// golden ratio, a common choice for decorrelating seeds).
const COTANGENT_SEED_MASK: u64 = 0x9e37_79b9_7f4a_7c15;

/// The state shared by the checks: the function, its inputs packed into one
/// point, and the random cotangent.
struct Checker<'a, T: Real> {
    f: &'a Function<'a, T>,
    /// The shape of each argument of `f`.
    shapes: Vec<Vec<usize>>,
    /// All arguments as one tensor: the argument itself when there is one,
    /// else their elements concatenated into a vector. Every derivative is
    /// taken with respect to this one input, so `hvp` and `hessian` apply.
    point: Tensor<T>,
    /// `u`, shaped like `f`'s output.
    cotangent: Tensor<T>,
    config: &'a CheckConfig,
}

impl<'a, T: Real> Checker<'a, T> {
    fn new(
        f: &'a Function<'a, T>,
        args: &[Tensor<T>],
        config: &'a CheckConfig,
    ) -> Result<Self, CheckFailure> {
        let point = match args {
            [] => return Err(CheckFailure::InvalidArguments("no arguments".into())),
            [only] => only.clone(),
            _ => Tensor::vector(
                &args
                    .iter()
                    .flat_map(|a| a.data().iter().copied())
                    .collect::<Vec<T>>(),
            ),
        };
        if point.is_empty() {
            return Err(CheckFailure::InvalidArguments(
                "the arguments have no elements, so there is nothing to differentiate".into(),
            ));
        }
        if !point.all_finite() {
            return Err(CheckFailure::InvalidArguments(
                "the arguments contain a NaN or infinity".into(),
            ));
        }
        let mut checker = Checker {
            f,
            shapes: args.iter().map(|a| a.shape().to_vec()).collect(),
            point,
            cotangent: Tensor::scalar(T::zero()),
            config,
        };
        let output_shape = {
            let tape = Tape::new();
            let x = tape.input(checker.point.clone());
            (checker.f)(&checker.unpack(x)).shape()
        };
        // A seed different from the directions', so u and v are independent.
        let mut rng = seeded(config.seed ^ COTANGENT_SEED_MASK);
        checker.cotangent = normal_tensor(&output_shape, &mut rng);
        Ok(checker)
    }

    /// Views of the packed input `x` as `f`'s arguments.
    fn unpack<'t>(&self, x: Var<'t, T>) -> Vec<Var<'t, T>> {
        if self.shapes.len() == 1 {
            return vec![x];
        }
        let mut offset = 0;
        self.shapes
            .iter()
            .map(|shape| {
                let len = numel(shape);
                let part = x.slice(0, offset, offset + len).reshape(shape);
                offset += len;
                part
            })
            .collect()
    }

    /// Records `x` (an input with value `point`) and `y = f(x)` on `tape`.
    fn record<'t>(
        &self,
        tape: &'t Tape<T>,
        point: &Tensor<T>,
    ) -> Result<(Var<'t, T>, Var<'t, T>), CheckFailure> {
        let x = tape.input(point.clone());
        let y = (self.f)(&self.unpack(x));
        let shape = y.shape();
        if shape != self.cotangent.shape() {
            return Err(CheckFailure::InvalidArguments(format!(
                "f returned shape {shape:?} at one point but {:?} at another",
                self.cotangent.shape()
            )));
        }
        Ok((x, y))
    }

    /// `s = ⟨u, y⟩` on `y`'s tape.
    fn project<'t>(&self, y: Var<'t, T>) -> Var<'t, T> {
        (y * y.tape().constant(self.cotangent.clone())).sum()
    }

    /// `f(point)`, on a fresh tape.
    fn output_at(&self, point: &Tensor<T>) -> Result<Vec<f64>, CheckFailure> {
        let tape = Tape::new();
        let (_, y) = self.record(&tape, point)?;
        Ok(to_f64(&y.value()))
    }

    /// `s(point) = ⟨u, f(point)⟩`, summed in `f64`.
    fn projection_at(&self, point: &Tensor<T>) -> Result<Vec<f64>, CheckFailure> {
        let y = self.output_at(point)?;
        Ok(vec![dot(&y, &to_f64(&self.cotangent))])
    }

    /// `∇s(point)`, on a fresh tape.
    fn gradient_at(&self, point: &Tensor<T>, check: Check) -> Result<Vec<f64>, CheckFailure> {
        let tape = Tape::new();
        let (x, y) = self.record(&tape, point)?;
        let g = grad(self.project(y), &[x]).map_err(engine(check))?[0];
        Ok(to_f64(&g.value()))
    }

    /// `vᵀH(point)v` with `H` the Hessian of `s`, on a fresh tape.
    fn curvature_at(&self, point: &Tensor<T>, v: &Tensor<T>) -> Result<Vec<f64>, CheckFailure> {
        let tape = Tape::new();
        let (x, y) = self.record(&tape, point)?;
        let hv =
            hvp(self.project(y), x, tape.constant(v.clone())).map_err(engine(Check::ThirdOrder))?;
        Ok(vec![dot(&to_f64(&hv.value()), &to_f64(v))])
    }

    /// Central differences of `value` at the point along `direction`, with
    /// element `k` of the step scaled by `max(1, |xₖ|)` so that large inputs
    /// get proportionally large steps.
    ///
    /// With `D(h) = (value(x + h·d) − value(x − h·d)) / 2h`, whose error is
    /// `c·h² + O(h⁴)`, Richardson extrapolation `(4·D(h/2) − D(h)) / 3`
    /// cancels the `h²` term. The points are formed in `f64` and rounded to
    /// `T`; the direction actually taken, `(x₊ − x₋) / 2h`, is extrapolated
    /// the same way (it enters linearly) and returned with the estimate.
    fn central_difference(
        &self,
        direction: &[f64],
        value: impl Fn(&Tensor<T>) -> Result<Vec<f64>, CheckFailure>,
    ) -> Result<(Vec<f64>, Vec<f64>), CheckFailure> {
        let x = to_f64(&self.point);
        let d: Vec<f64> = x
            .iter()
            .zip(direction)
            .map(|(&xk, &dk)| dk * Float::max(1.0, Float::abs(xk)))
            .collect();
        let difference = |h: f64| -> Result<(Vec<f64>, Vec<f64>), CheckFailure> {
            let perturbed = |sign: f64| {
                Tensor::from_fn(self.point.shape(), |k| T::cast(x[k] + sign * h * d[k]))
            };
            let (plus, minus) = (perturbed(1.0), perturbed(-1.0));
            let quotient = |a: &[f64], b: &[f64]| -> Vec<f64> {
                a.iter().zip(b).map(|(a, b)| (a - b) / (2.0 * h)).collect()
            };
            Ok((
                quotient(&value(&plus)?, &value(&minus)?),
                quotient(&to_f64(&plus), &to_f64(&minus)),
            ))
        };
        let h = self.config.step;
        let (coarse, coarse_taken) = difference(h)?;
        let (fine, fine_taken) = difference(h / 2.0)?;
        let extrapolate = |fine: &[f64], coarse: &[f64]| -> Vec<f64> {
            fine.iter()
                .zip(coarse)
                .map(|(f, c)| (4.0 * f - c) / 3.0)
                .collect()
        };
        Ok((
            extrapolate(&fine, &coarse),
            extrapolate(&fine_taken, &coarse_taken),
        ))
    }

    /// Central differences of a scalar `value` along every unit vector, one
    /// element of the point at a time.
    fn partial_differences(
        &self,
        value: impl Fn(&Tensor<T>) -> Result<Vec<f64>, CheckFailure>,
    ) -> Result<Vec<f64>, CheckFailure> {
        let n = self.point.len();
        let mut partials = Vec::with_capacity(n);
        for i in 0..n {
            let mut unit = vec![0.0; n];
            unit[i] = 1.0;
            let (difference, taken) = self.central_difference(&unit, &value)?;
            partials.push(difference[0] / taken[i]);
        }
        Ok(partials)
    }

    /// The tolerance of a comparison with finite differences.
    fn fd_allowed(&self, a: f64, b: f64) -> f64 {
        self.config.fd_atol + self.config.fd_rtol * Float::max(Float::abs(a), Float::abs(b))
    }

    /// The tolerance of an identity whose terms have magnitude `scale`:
    /// `rounding·(1 + scale)`, relative for large terms and absolute for small
    /// ones, because a result that cancels to near zero (a second derivative
    /// at an inflection point) keeps the rounding error of its larger
    /// intermediates, which `scale` does not see.
    fn rounding_allowed(&self, scale: f64) -> f64 {
        self.config.rounding * (1.0 + scale)
    }

    /// Order 1: reverse and forward mode against finite differences, and the
    /// adjoint identity between them.
    fn first_order(&self, v: &[f64]) -> Result<(), CheckFailure> {
        let tape = Tape::new();
        let (x, y) = self.record(&tape, &self.point)?;
        let u = tape.constant(self.cotangent.clone());
        let xbar = vjp(&[y], &[x], &[u]).map_err(engine(Check::Reverse))?[0];
        let xbar = to_f64(&xbar.value());

        let partials = self.partial_differences(|p| self.projection_at(p))?;
        compare(Check::Reverse, &xbar, &partials, |a, b| {
            self.fd_allowed(a, b)
        })?;

        let (difference, taken) = self.central_difference(v, |p| self.output_at(p))?;
        let tangent = tape.constant(self.shaped_like_point(&taken));
        let jv = jvp(&[y], &[x], &[tangent]).map_err(engine(Check::Forward))?[0];
        let jv = to_f64(&jv.value());
        compare(Check::Forward, &jv, &difference, |a, b| {
            self.fd_allowed(a, b)
        })?;

        let (u, v) = (to_f64(&self.cotangent), to_f64(&tangent.value()));
        let scale = abs_dot(&u, &jv) + abs_dot(&xbar, &v);
        compare(
            Check::Adjoint,
            &[dot(&u, &jv)],
            &[dot(&xbar, &v)],
            |_, _| self.rounding_allowed(scale),
        )
    }

    /// Order 2: both HVP modes, the Hessian's symmetry, and the HVP against
    /// finite differences of the gradient. Returns the direction taken, as
    /// the HVPs used it.
    fn second_order(&self, v: &[f64]) -> Result<Tensor<T>, CheckFailure> {
        let (difference, taken) =
            self.central_difference(v, |p| self.gradient_at(p, Check::HvpFiniteDifferences))?;
        let tape = Tape::new();
        let (x, y) = self.record(&tape, &self.point)?;
        let s = self.project(y);
        let direction = tape.constant(self.shaped_like_point(&taken));
        let forward = hvp(s, x, direction).map_err(engine(Check::HvpModes))?;
        let reverse = hvp_reverse_over_reverse(s, x, direction).map_err(engine(Check::HvpModes))?;
        let h = hessian(s, x).map_err(engine(Check::HessianSymmetry))?;
        let (forward, reverse, h) = (
            to_f64(&forward.value()),
            to_f64(&reverse.value()),
            to_f64(&h.value()),
        );
        let v = to_f64(&direction.value());
        let n = v.len();

        // Rounding in Hv is bounded by the sizes of the terms Hᵢⱼvⱼ it sums.
        let scale = h
            .chunks(n)
            .map(|row| abs_dot(row, &v))
            .fold(0.0, Float::max);
        compare(Check::HvpModes, &forward, &reverse, |_, _| {
            self.rounding_allowed(scale)
        })?;

        let transposed: Vec<f64> = (0..n * n).map(|k| h[(k % n) * n + k / n]).collect();
        let largest = h.iter().fold(0.0, |m, &x| Float::max(m, Float::abs(x)));
        compare(Check::HessianSymmetry, &h, &transposed, |_, _| {
            self.rounding_allowed(largest)
        })?;

        compare(
            Check::HvpFiniteDifferences,
            &forward,
            &difference,
            |a, b| self.fd_allowed(a, b),
        )?;
        Ok(direction.value().as_ref().clone())
    }

    /// Order 3: the gradient of `vᵀH(x)v` against finite differences, and its
    /// forward-mode derivative along `w` against the reverse one.
    fn third_order(&self, v: &Tensor<T>, w: &[f64]) -> Result<(), CheckFailure> {
        let tape = Tape::new();
        let (x, y) = self.record(&tape, &self.point)?;
        let direction = tape.constant(v.clone());
        let hv = hvp(self.project(y), x, direction).map_err(engine(Check::ThirdOrder))?;
        let curvature = (hv * direction).sum();
        let gradient = grad(curvature, &[x]).map_err(engine(Check::ThirdOrder))?[0];
        let gradient = to_f64(&gradient.value());

        let partials = self.partial_differences(|p| self.curvature_at(p, v))?;
        compare(Check::ThirdOrder, &gradient, &partials, |a, b| {
            self.fd_allowed(a, b)
        })?;

        let w = tape.constant(self.shaped_like_point(w));
        let forward = jvp(&[curvature], &[x], &[w]).map_err(engine(Check::ThirdOrderModes))?[0];
        let w = to_f64(&w.value());
        let scale = abs_dot(&gradient, &w);
        compare(
            Check::ThirdOrderModes,
            &[forward.item().as_f64()],
            &[dot(&gradient, &w)],
            |_, _| self.rounding_allowed(scale),
        )
    }

    /// A tensor shaped like the point from `f64` values.
    fn shaped_like_point(&self, values: &[f64]) -> Tensor<T> {
        Tensor::from_fn(self.point.shape(), |k| T::cast(values[k]))
    }
}

/// Maps an engine error to a failure of `check`.
fn engine(check: Check) -> impl Fn(Error) -> CheckFailure {
    move |error| CheckFailure::Engine { check, error }
}

fn to_f64<T: Real>(t: &Tensor<T>) -> Vec<f64> {
    t.data().iter().map(|x| x.as_f64()).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// `Σ |aᵢ bᵢ|`: the magnitude of the terms of `⟨a, b⟩`, which bounds its
/// rounding error.
fn abs_dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| Float::abs(a * b)).sum()
}

/// Compares `computed` with `reference` element by element, `allowed(a, b)`
/// giving the tolerance for the pair; reports the worst element.
fn compare(
    check: Check,
    computed: &[f64],
    reference: &[f64],
    allowed: impl Fn(f64, f64) -> f64,
) -> Result<(), CheckFailure> {
    let mut worst: Option<(f64, CheckFailure)> = None;
    for (element, (&a, &b)) in computed.iter().zip(reference).enumerate() {
        if !a.is_finite() || !b.is_finite() {
            return Err(CheckFailure::NonFinite { check, element });
        }
        let (error, allowance) = (Float::abs(a - b), allowed(a, b));
        if error <= allowance {
            continue;
        }
        let excess = error / Float::max(allowance, f64::MIN_POSITIVE);
        if worst.as_ref().is_none_or(|(w, _)| excess > *w) {
            let failure = CheckFailure::Mismatch {
                check,
                element,
                computed: a,
                reference: b,
                error,
                allowed: allowance,
            };
            worst = Some((excess, failure));
        }
    }
    match worst {
        Some((_, failure)) => Err(failure),
        None => Ok(()),
    }
}
