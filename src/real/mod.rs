//! The scalar type every tensor holds: a `num_traits::Float` that also knows its
//! own matrix-multiply kernel.
//!
//! Like num-dual's `DualNum`, one trait names everything the engine needs of a
//! number, so the whole crate is generic over `f32` and `f64`.

mod elementwise;

use alloc::vec::Vec;
pub(crate) use elementwise::{sigmoid, softplus};

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{AddAssign, DivAssign, MulAssign, SubAssign};
use num_traits::{Float, FloatConst};

/// A real floating-point scalar: `f32` or `f64`.
///
/// Beyond [`Float`], it converts from `f64` literals ([`Real::cast`]) and
/// multiplies matrices with a cache-blocked, SIMD kernel ([`Real::gemm_into`],
/// from the `matrixmultiply` crate).
///
/// # Examples
///
/// ```
/// use scoretape::Real;
/// fn half<T: Real>(x: T) -> T { x * T::cast(0.5) }
/// assert_eq!(half(3.0f64), 1.5);
/// assert_eq!(half(3.0f32), 1.5);
/// ```
pub trait Real:
    Float
    + FloatConst
    + Debug
    + Display
    + Default
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Send
    + Sync
    + 'static
{
    /// The type's name, for printing (`"f32"` or `"f64"`).
    const NAME: &'static str;

    /// Converts an `f64` (typically a literal) to this type, rounding if needed.
    ///
    /// ```
    /// use scoretape::Real;
    /// assert_eq!(f32::cast(0.25), 0.25f32);
    /// ```
    fn cast(value: f64) -> Self;

    /// Converts to `f64` exactly (both `f32` and `f64` embed in `f64`).
    ///
    /// ```
    /// use scoretape::Real;
    /// assert_eq!(0.5f32.as_f64(), 0.5);
    /// ```
    fn as_f64(self) -> f64;

    /// Appends `eˣ` for every element `x` of `xs` to `out`.
    ///
    /// `f64` evaluates whole slices with a vectorised polynomial kernel
    /// (within a few ulp of the correctly rounded result, chosen for the
    /// widest SIMD instructions the CPU has); other types call their `exp`.
    ///
    /// ```
    /// use scoretape::Real;
    /// let mut out = vec![];
    /// f64::exp_into(&[0.0, 1.0], &mut out);
    /// assert_eq!(out[0], 1.0);
    /// assert!((out[1] - std::f64::consts::E).abs() <= 4.0 * f64::EPSILON);
    /// ```
    fn exp_into(xs: &[Self], out: &mut Vec<Self>) {
        out.extend(xs.iter().map(|x| x.exp()));
    }

    /// Appends `softplus(x) = ln(1 + eˣ)` for every element `x` of `xs` to
    /// `out`, computed as `max(x, 0) + ln(1 + e^{-|x|})` so that it neither
    /// overflows nor loses digits for very negative `x`.
    ///
    /// `f64` evaluates whole slices with a vectorised polynomial kernel, as
    /// [`Real::exp_into`] does.
    ///
    /// ```
    /// use scoretape::Real;
    /// let mut out = vec![];
    /// f64::softplus_into(&[1000.0, 0.0, -1000.0], &mut out);
    /// assert_eq!(out[0], 1000.0);
    /// assert!((out[1] - std::f64::consts::LN_2).abs() <= f64::EPSILON);
    /// assert_eq!(out[2], 0.0); // e^{-1000} underflows
    /// ```
    fn softplus_into(xs: &[Self], out: &mut Vec<Self>) {
        out.extend(xs.iter().map(|&x| softplus(x)));
    }

    /// Appends `sigmoid(x) = 1/(1 + e^{-x})` for every element `x` of `xs` to
    /// `out`, without overflow for either sign.
    ///
    /// `f64` evaluates whole slices with a vectorised polynomial kernel, as
    /// [`Real::exp_into`] does.
    ///
    /// ```
    /// use scoretape::Real;
    /// let mut out = vec![];
    /// f32::sigmoid_into(&[0.0, 100.0, -100.0], &mut out);
    /// assert_eq!(out[..2], [0.5, 1.0]);
    /// assert!(out[2] > 0.0 && out[2] < 1e-43);
    /// ```
    fn sigmoid_into(xs: &[Self], out: &mut Vec<Self>) {
        out.extend(xs.iter().map(|&x| sigmoid(x)));
    }

    /// Appends `C = A · B` to `out`, row-major: `A` is `m×k` and `B` is `k×n`,
    /// each given as a slice plus row and column strides (in elements), so a
    /// transposed operand is just swapped strides; `C` is `m×n`. The kernel
    /// writes the product straight into `out`'s spare capacity, so no time is
    /// spent zeroing it first.
    ///
    /// # Panics
    ///
    /// If a stride is negative or an operand's slice is too short for its
    /// dimensions and strides.
    ///
    /// ```
    /// use scoretape::Real;
    /// // [1 2; 3 4] · [1; 1] = [3; 7]
    /// let a = [1.0, 2.0, 3.0, 4.0];
    /// let b = [1.0, 1.0];
    /// let mut c = vec![];
    /// f64::gemm_into(2, 2, 1, &a, [2, 1], &b, [1, 1], &mut c);
    /// assert_eq!(c, [3.0, 7.0]);
    /// ```
    #[allow(clippy::too_many_arguments)]
    fn gemm_into(
        m: usize,
        k: usize,
        n: usize,
        a: &[Self],
        a_strides: [isize; 2],
        b: &[Self],
        b_strides: [isize; 2],
        out: &mut Vec<Self>,
    );
}

/// Checks that a strided `rows×cols` matrix fits in `len` elements.
fn check_fits(name: &str, rows: usize, cols: usize, strides: [isize; 2], len: usize) {
    assert!(
        strides[0] >= 0 && strides[1] >= 0,
        "gemm: operand {name} has a negative stride {strides:?}"
    );
    if rows == 0 || cols == 0 {
        return;
    }
    let last = (rows - 1) * strides[0] as usize + (cols - 1) * strides[1] as usize;
    assert!(
        last < len,
        "gemm: operand {name} ({rows}×{cols}, strides {strides:?}) needs {} elements but has {len}",
        last + 1
    );
}

macro_rules! impl_real {
    ($t:ty, $kernel:ident $(, $extra:item)*) => {
        impl Real for $t {
            const NAME: &'static str = stringify!($t);

            #[inline]
            fn cast(value: f64) -> Self {
                value as $t
            }

            #[inline]
            fn as_f64(self) -> f64 {
                self as f64
            }

            fn gemm_into(
                m: usize,
                k: usize,
                n: usize,
                a: &[Self],
                a_strides: [isize; 2],
                b: &[Self],
                b_strides: [isize; 2],
                out: &mut Vec<Self>,
            ) {
                check_fits("A", m, k, a_strides, a.len());
                check_fits("B", k, n, b_strides, b.len());
                let start = out.len();
                if k == 0 {
                    // An empty sum: the kernel is not asked to write zeros.
                    out.resize(start + m * n, 0.0);
                    return;
                }
                out.reserve(m * n);
                if m > 0 && n > 0 {
                    // SAFETY: every index the kernel reads lies inside `a` and
                    // `b`, as checked above; it writes the `m·n` elements after
                    // `start`, for which `reserve` made room. With β = 0 it
                    // never reads them, so they need not be initialised.
                    unsafe {
                        matrixmultiply::$kernel(
                            m,
                            k,
                            n,
                            1.0,
                            a.as_ptr(),
                            a_strides[0],
                            a_strides[1],
                            b.as_ptr(),
                            b_strides[0],
                            b_strides[1],
                            0.0,
                            out.as_mut_ptr().add(start),
                            n as isize,
                            1,
                        );
                    }
                }
                // SAFETY: the kernel wrote all `m·n` elements after `start`.
                unsafe { out.set_len(start + m * n) }
            }

            $($extra)*
        }
    };
}

impl_real!(f32, sgemm);
impl_real!(
    f64,
    dgemm,
    fn exp_into(xs: &[f64], out: &mut Vec<f64>) {
        elementwise::exp_slice_f64(xs, out)
    },
    fn softplus_into(xs: &[f64], out: &mut Vec<f64>) {
        elementwise::softplus_slice_f64(xs, out)
    },
    fn sigmoid_into(xs: &[f64], out: &mut Vec<f64>) {
        elementwise::sigmoid_slice_f64(xs, out)
    }
);
