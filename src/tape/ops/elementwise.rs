//! Scalar functions applied element by element.
//!
//! Such a function needs only its value `f(x)` and its derivative `f'(x)`; the
//! one [`Elementwise`] primitive turns that into both rules, since the Jacobian
//! is diagonal: VJP `x̄ = ȳ · f'(x)`, JVP `ẏ = ẋ · f'(x)`. The derivative is a
//! `Var` expression, so second and higher derivatives come from differentiating
//! it in turn. The forward-Laplacian rule needs `f''` as well, and gets it the
//! same way: the forward-mode derivative of the recorded `f'` expression.

use super::Primitive;
use crate::real::Real;
use crate::tape::laplacian::sum_of_squares;
use crate::tape::Var;
use crate::tape::{jvp, Jet};
use crate::tensor::Tensor;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

/// A scalar function `f` for [`Elementwise`]: its value and its derivative.
///
/// # Examples
///
/// `f(x) = x³`, with derivative `3x²` written as a `Var` expression, so that
/// second derivatives (`6x`) come for free:
///
/// ```
/// use scoretape::tape::ops::{Elementwise, ElementwiseFn};
/// use scoretape::{grad, Tape, Tensor, Var};
///
/// struct Cube;
/// impl ElementwiseFn<f64> for Cube {
///     fn name(&self) -> String { "cube".into() }
///     fn value(&self, x: f64) -> f64 { x * x * x }
///     fn derivative<'t>(&self, x: Var<'t, f64>, _y: Var<'t, f64>) -> Var<'t, f64> {
///         x.square() * 3.0
///     }
/// }
///
/// let tape = Tape::new();
/// let x = tape.input(Tensor::scalar(2.0));
/// let y = tape.apply(Elementwise(Cube), &[x]);
/// let dy = grad(y, &[x]).unwrap()[0];
/// assert_eq!((y.item(), dy.item()), (8.0, 12.0));
/// assert_eq!(grad(dy, &[x]).unwrap()[0].item(), 12.0); // 6x
/// ```
pub trait ElementwiseFn<T: Real>: 'static {
    /// The name on the printed tape.
    fn name(&self) -> String;
    /// `f(x)` for one element.
    fn value(&self, x: T) -> T;
    /// `f(x)` for every element of `xs`, appended to `out`: the forward pass
    /// calls this. The default calls [`ElementwiseFn::value`] element by
    /// element; a function with a kernel for whole slices (as softplus has
    /// [`Real::softplus_into`]) overrides it.
    fn values(&self, xs: &[T], out: &mut Vec<T>) {
        out.extend(xs.iter().map(|&x| self.value(x)));
    }
    /// `f'(x)` for all elements, as a `Var`, given the input `x` and the output
    /// `y = f(x)` (often the cheaper way to say it: `exp' = y`).
    fn derivative<'t>(&self, x: Var<'t, T>, y: Var<'t, T>) -> Var<'t, T>;
}

/// The primitive for an element-wise function `F`.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::{Elementwise, Tanh};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::scalar(0.0));
/// assert_eq!(tape.apply(Elementwise(Tanh), &[x]).item(), 0.0);
/// ```
pub struct Elementwise<F>(pub F);

impl<T: Real, F: ElementwiseFn<T>> Primitive<T> for Elementwise<F> {
    fn name(&self) -> String {
        self.0.name()
    }

    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T> {
        inputs[0].map_slice(|xs, out| self.0.values(xs, out))
    }

    fn vjp<'t>(
        &self,
        inputs: &[Var<'t, T>],
        output: Var<'t, T>,
        cotangent: Var<'t, T>,
        _wanted: &[bool],
    ) -> Vec<Option<Var<'t, T>>> {
        vec![Some(cotangent * self.0.derivative(inputs[0], output))]
    }

    fn jvp<'t>(
        &self,
        inputs: &[Var<'t, T>],
        output: Var<'t, T>,
        tangents: &[Option<Var<'t, T>>],
    ) -> Var<'t, T> {
        let tangent = tangents[0].expect("elementwise JVP without a tangent");
        tangent * self.0.derivative(inputs[0], output)
    }

    /// `(σ'·J, σ'·L + σ''·Σₖ Jₖ²)`, with `σ''` the forward-mode derivative of
    /// the recorded `σ'` along ones (the Jacobian of `σ'` is diagonal): a few
    /// nodes of the shape of `x`, against the `m` times larger jet.
    fn laplacian<'t>(
        &self,
        inputs: &[Var<'t, T>],
        output: Var<'t, T>,
        jets: &[Option<Jet<'t, T>>],
    ) -> Option<Jet<'t, T>> {
        let jet = jets[0].expect("elementwise Laplacian rule without a jet");
        let x = inputs[0];
        let jacobian = jet.full_jacobian(&x.shape());
        let first = self.0.derivative(x, output);
        let ones = x.tape().constant(Tensor::ones(&x.shape()));
        let second = jvp(&[first], &[x], &[ones])
            .expect("x, its derivative and ones are live nodes of one tape")[0];
        let curvature = second * sum_of_squares(jacobian);
        let laplacian = match jet.laplacian {
            Some(l) => l * first + curvature,
            None => curvature,
        };
        Some(Jet {
            jacobian: jacobian * first,
            laplacian: Some(laplacian),
        })
    }
}

/// `1 - v`, element-wise, as one node.
fn one_minus<T: Real>(v: Var<'_, T>) -> Var<'_, T> {
    v.affine(-T::one(), T::one())
}

/// Defines an [`ElementwiseFn`] from its value, its derivative and, where
/// there is one, a kernel for whole slices (which then also gives the value
/// of one element, so that both agree to the bit).
macro_rules! elementwise_fn {
    ($(#[$doc:meta])* $name:ident, $label:literal, slice $slice:path, |$vx:ident, $vy:ident| $derivative:expr) => {
        elementwise_fn!(
            $(#[$doc])* $name, $label,
            |x| {
                let mut out = Vec::with_capacity(1);
                $slice(&[x], &mut out);
                out[0]
            },
            |$vx, $vy| $derivative,
            slice $slice
        );
    };
    ($(#[$doc:meta])* $name:ident, $label:literal, |$x:ident| $value:expr, |$vx:ident, $vy:ident| $derivative:expr $(, slice $slice:path)?) => {
        $(#[$doc])*
        ///
        /// ```
        /// use scoretape::tape::ops::{Elementwise, ElementwiseFn};
        #[doc = concat!("use scoretape::tape::ops::", stringify!($name), ";")]
        /// use scoretape::{Tape, Tensor};
        /// let tape = Tape::new();
        /// let x = tape.input(Tensor::scalar(0.5));
        #[doc = concat!("let y = tape.apply(Elementwise(", stringify!($name), "), &[x]);")]
        #[doc = concat!("assert_eq!(y.item(), ElementwiseFn::<f64>::value(&", stringify!($name), ", 0.5));")]
        /// ```
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;

        impl<T: Real> ElementwiseFn<T> for $name {
            fn name(&self) -> String {
                $label.to_string()
            }
            #[inline]
            fn value(&self, $x: T) -> T {
                $value
            }
            $(
                fn values(&self, xs: &[T], out: &mut Vec<T>) {
                    $slice(xs, out)
                }
            )?
            #[allow(unused_variables)]
            fn derivative<'t>(&self, $vx: Var<'t, T>, $vy: Var<'t, T>) -> Var<'t, T> {
                $derivative
            }
        }
    };
}

elementwise_fn!(
    /// `exp(x)`; `exp' = exp = y`.
    Exp, "exp", slice T::exp_into, |x, y| y
);
elementwise_fn!(
    /// `ln(x)`; `ln'(x) = 1/x`.
    Log, "log", |x| x.ln(), |x, y| x.recip()
);
elementwise_fn!(
    /// `ln(1 + x)`, accurate for small `x`; derivative `1/(1 + x)`.
    Log1p, "log1p", |x| x.ln_1p(), |x, y| (x + T::one()).recip()
);
elementwise_fn!(
    /// `1/x`; derivative `-1/x² = -y²`.
    Recip, "recip", |x| x.recip(), |x, y| y.square() * (-T::one())
);
elementwise_fn!(
    /// `softplus(x) = ln(1 + eˣ)`, computed as `max(x, 0) + ln(1 + e^{-|x|})`
    /// so it neither overflows for large `x` nor loses digits for very
    /// negative `x`; derivative `sigmoid(x)`.
    Softplus, "softplus", slice T::softplus_into, |x, y| x.sigmoid()
);
elementwise_fn!(
    /// `sigmoid(x) = 1/(1 + e^{-x})`, evaluated without overflow for either
    /// sign; derivative `y(1 - y)`.
    Sigmoid, "sigmoid", slice T::sigmoid_into, |x, y| y * one_minus(y)
);
elementwise_fn!(
    /// `ln sigmoid(x) = -softplus(-x)`, stable for large `|x|`; derivative
    /// `1 - sigmoid(x) = sigmoid(-x)`.
    LogSigmoid, "log_sigmoid", slice log_sigmoid_into, |x, y| (-x).sigmoid()
);
elementwise_fn!(
    /// `tanh(x)`; derivative `1 - y²`.
    Tanh, "tanh", |x| x.tanh(), |x, y| one_minus(y.square())
);
elementwise_fn!(
    /// `sin(x)`; derivative `cos(x)`.
    Sin, "sin", |x| x.sin(), |x, y| x.cos()
);
elementwise_fn!(
    /// `cos(x)`; derivative `-sin(x)`.
    Cos, "cos", |x| x.cos(), |x, y| -x.sin()
);
elementwise_fn!(
    /// `√x`; derivative `1/(2√x) = 1/(2y)`.
    Sqrt, "sqrt", |x| x.sqrt(), |x, y| y.recip() * T::cast(0.5)
);
elementwise_fn!(
    /// `x²`; derivative `2x`.
    Square, "square", |x| x * x, |x, y| x * T::cast(2.0)
);
elementwise_fn!(
    /// `SiLU(x) = x·sigmoid(x)`; derivative `σ(x)(1 + x(1 - σ(x)))`.
    Silu, "silu", slice silu_into, |x, y| {
        let s = x.sigmoid();
        s * (x * one_minus(s)).affine(T::one(), T::one())
    }
);

/// `x·sigmoid(x)` for every element of `xs`, appended to `out`.
fn silu_into<T: Real>(xs: &[T], out: &mut Vec<T>) {
    let start = out.len();
    T::sigmoid_into(xs, out);
    for (y, &x) in out[start..].iter_mut().zip(xs) {
        *y *= x;
    }
}

/// `ln sigmoid(x) = -softplus(-x)` for every element of `xs`, appended to `out`.
fn log_sigmoid_into<T: Real>(xs: &[T], out: &mut Vec<T>) {
    let start = out.len();
    out.extend(xs.iter().map(|&x| -x));
    let negated = out.split_off(start);
    T::softplus_into(&negated, out);
    for y in &mut out[start..] {
        *y = -*y;
    }
}

/// `ELU(x) = x` for `x > 0`, `eˣ - 1` otherwise (α = 1); derivative 1 for
/// `x > 0` and `eˣ = y + 1` otherwise. The choice of branch is a constant mask,
/// so the second derivative is `0` or `eˣ` as it should be (ELU is C¹, not C²,
/// at 0).
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::{Elementwise, Elu};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[-1.0, 2.0]));
/// assert_eq!(tape.apply(Elementwise(Elu), &[x]).to_vec(), vec![(-1f64).exp_m1(), 2.0]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Elu;

impl<T: Real> ElementwiseFn<T> for Elu {
    fn name(&self) -> String {
        "elu".to_string()
    }
    fn value(&self, x: T) -> T {
        if x > T::zero() {
            x
        } else {
            x.exp_m1()
        }
    }
    fn derivative<'t>(&self, x: Var<'t, T>, y: Var<'t, T>) -> Var<'t, T> {
        let positive = x
            .recorded_value()
            .map(|v| if v > T::zero() { T::one() } else { T::zero() });
        let negative = positive.map(|m| T::one() - m);
        let tape = x.tape();
        (y + T::one()) * tape.constant(negative) + tape.constant(positive)
    }
}

/// `xⁿ` for an integer `n`; derivative `n·xⁿ⁻¹`.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// use scoretape::tape::ops::{Elementwise, Powi};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::vector(&[2.0, 3.0]));
/// assert_eq!(tape.apply(Elementwise(Powi(3)), &[x]).to_vec(), vec![8.0, 27.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Powi(pub i32);

impl<T: Real> ElementwiseFn<T> for Powi {
    fn name(&self) -> String {
        alloc::format!("powi[{}]", self.0)
    }
    fn value(&self, x: T) -> T {
        x.powi(self.0)
    }
    fn derivative<'t>(&self, x: Var<'t, T>, _y: Var<'t, T>) -> Var<'t, T> {
        if self.0 == 0 {
            // x⁰ = 1 everywhere, so the derivative is exactly zero.
            return x.affine(T::zero(), T::zero());
        }
        x.powi(self.0 - 1) * T::cast(f64::from(self.0))
    }
}
