//! `exp`, softplus and sigmoid over whole slices: the transcendental functions
//! of a softplus network, where a step spends much of the time the matrix
//! products leave over (the C library evaluates one number at a time).
//!
//! For `f64` they are branch-free polynomial kernels that the compiler turns
//! into SIMD code. Each is compiled three times (for AVX-512, for AVX2 with
//! FMA, and for the baseline instruction set) and the widest the CPU has is
//! chosen at run time; without the `std` feature, which detects the CPU, the
//! baseline runs. The AVX versions round their multiply-adds once and the
//! baseline twice, so results may differ in the last bit between machines,
//! never between runs on one machine. Other scalar types (`f32`) use the
//! generic formulas [`softplus`] and [`sigmoid`] on their own `exp` and `ln`.
//!
//! The maths, for `f64`:
//!
//! - `exp(x) = 2ⁿ·eʳ` with `n = round(x/ln 2)` and `r = x - n·ln 2`, so
//!   `|r| ≤ ln 2 / 2`; `ln 2` is split in two parts whose first times `n` is
//!   exact. `eʳ` is its Taylor polynomial of degree 13, whose truncation error
//!   `r¹⁴/14!` is below `4·10⁻¹⁸`. `2ⁿ` is assembled from its exponent bits
//!   as `2^{n₁}·2^{n₂}` with `n₁ + n₂ = n`, so neither factor leaves the normal
//!   range and a result that underflows (to a subnormal or 0) or overflows
//!   (to ∞) is rounded once, by the last product.
//! - `softplus(x) = max(x, 0) + ln(1 + e)` with `e = e^{-|x|} ∈ (0, 1]`, and
//!   `ln(1 + e) = k·ln 2 + log1p(f)` with `(k, f) = (0, e)` if `e ≤ √2 - 1`,
//!   else `(1, (e - 1)/2)`, so that `f ∈ [1/√2 - 1, √2 - 1]`. Then with
//!   `s = f/(2 + f)`, `ln(1 + f) = 2 atanh(s) = f - (f²/2 - s(f²/2 + R(s²)))`,
//!   `R(z) = Σ_{j=1}^{9} 2zʲ/(2j + 1)`: on `|s| ≤ 3 - 2√2` the series' tail
//!   is below `2⁻⁵⁵·f`.
//! - `sigmoid(x) = 1/(1 + e)` for `x ≥ 0` and `e/(1 + e)` for `x < 0`, with
//!   the same `e = e^{-|x|}`, so nothing overflows.
//!
//! NaN propagates; `±∞` give the limits. The tests in `tests/engine_kernels.rs`
//! hold every kernel within a few ulp of the C library over the whole range,
//! subnormal results included.

use alloc::vec::Vec;
use num_traits::Float;

/// `softplus(x) = ln(1 + eˣ)`, as `max(x, 0) + ln(1 + e^{-|x|})` so that it
/// neither overflows for large `x` nor loses digits for very negative `x`.
///
/// The generic form, for any [`Float`]; `f64` slices use the vectorised
/// kernel of this module instead.
#[inline]
pub(crate) fn softplus<T: Float>(x: T) -> T {
    x.max(T::zero()) + log1p_small((-x.abs()).exp())
}

/// `sigmoid(x) = 1/(1 + e^{-x})`, without overflow for either sign.
///
/// The generic form, for any [`Float`]; `f64` slices use the vectorised
/// kernel of this module instead.
#[inline]
pub(crate) fn sigmoid<T: Float>(x: T) -> T {
    if x >= T::zero() {
        (T::one() + (-x).exp()).recip()
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// `ln(1 + e)` for `e ∈ [0, 1]`, accurate to a few ulps. With `u = 1 + e`
/// rounded, `ln(u)·e/(u - 1)` cancels the rounding of `u` to first order
/// (Goldberg's identity); it costs one `ln`, several times cheaper than the C
/// library's `log1p`.
#[inline]
fn log1p_small<T: Float>(e: T) -> T {
    let u = T::one() + e;
    if u == T::one() {
        e
    } else {
        u.ln() * (e / (u - T::one()))
    }
}

/// `a·b + c`, rounded once when `FUSED` (a hardware FMA), else twice.
#[inline(always)]
fn mul_add<const FUSED: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FUSED {
        Float::mul_add(a, b, c)
    } else {
        a * b + c
    }
}

/// `1.5·2⁵²`: adding it to a number of magnitude below `2⁵¹` rounds that
/// number to an integer and leaves the integer in the low bits of the sum.
const SHIFTER: f64 = 6_755_399_441_055_744.0;
/// `ln 2` rounded to 32 significant bits, so that `n·LN2_HI` is exact.
const LN2_HI: f64 = 0.693_147_180_369_123_8;
/// `ln 2 - LN2_HI`.
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// `1/k!` for `k = 0, …, 13`.
const INVERSE_FACTORIALS: [f64; 14] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// `2/(2j + 1)` for `j = 1, …, 9`: the series `2 atanh(s) = 2s + Σ_j 2s^{2j+1}/(2j + 1)`.
const ATANH_SERIES: [f64; 9] = [
    2.0 / 3.0,
    2.0 / 5.0,
    2.0 / 7.0,
    2.0 / 9.0,
    2.0 / 11.0,
    2.0 / 13.0,
    2.0 / 15.0,
    2.0 / 17.0,
    2.0 / 19.0,
];

/// `2ⁿ` for an integer-valued `n` with `|n| < 1100`, as `(2^{n₁}, 2^{n₂})`,
/// `n₁ = round(n/2)`, `n₂ = n - n₁`, both normal numbers.
#[inline(always)]
fn two_to_the(n: f64) -> (f64, f64) {
    let half = n * 0.5 + SHIFTER;
    let n1 = half - SHIFTER;
    let rest = (n - n1) + SHIFTER;
    // The integer sits in the low bits, whose top 12 bits are 0 in SHIFTER:
    // adding the exponent bias and shifting by 52 leaves exactly its exponent.
    let power = |shifted: f64| f64::from_bits((shifted.to_bits().wrapping_add(1023)) << 52);
    (power(half), power(rest))
}

/// `eˣ` for one `f64` (see the module documentation for the maths).
#[inline(always)]
fn exp_f64<const FUSED: bool>(x: f64) -> f64 {
    // Beyond these, eˣ rounds to 0 or ∞ anyway; the comparisons let NaN through.
    let x = if x < -746.0 { -746.0 } else { x };
    let x = if x > 710.0 { 710.0 } else { x };
    let shifted = mul_add::<FUSED>(x, core::f64::consts::LOG2_E, SHIFTER);
    let n = shifted - SHIFTER;
    let r = mul_add::<FUSED>(-n, LN2_HI, x);
    let r = mul_add::<FUSED>(-n, LN2_LO, r);
    let mut p = INVERSE_FACTORIALS[13];
    for k in (0..13).rev() {
        p = mul_add::<FUSED>(p, r, INVERSE_FACTORIALS[k]);
    }
    let (a, b) = two_to_the(n);
    p * a * b
}

/// `ln(1 + e)` for `e ∈ [0, 1]` (see the module documentation).
#[inline(always)]
fn log1p_unit_f64<const FUSED: bool>(e: f64) -> f64 {
    const SQRT2_MINUS_1: f64 = core::f64::consts::SQRT_2 - 1.0;
    let reduced = e > SQRT2_MINUS_1;
    let f = if reduced { (e - 1.0) * 0.5 } else { e };
    let k_ln2 = if reduced {
        core::f64::consts::LN_2
    } else {
        0.0
    };
    let s = f / (2.0 + f);
    let z = s * s;
    // R(z) = Σ 2zʲ/(2j+1), j = 1..9, by Horner.
    let mut r = ATANH_SERIES[8];
    for j in (0..8).rev() {
        r = mul_add::<FUSED>(r, z, ATANH_SERIES[j]);
    }
    let r = r * z;
    let half_f2 = 0.5 * f * f;
    k_ln2 + (f - (half_f2 - s * (half_f2 + r)))
}

/// `softplus(x)` for one `f64`.
#[inline(always)]
fn softplus_f64<const FUSED: bool>(x: f64) -> f64 {
    let e = exp_f64::<FUSED>(-x.abs());
    let positive = if x > 0.0 { x } else { 0.0 };
    positive + log1p_unit_f64::<FUSED>(e)
}

/// `sigmoid(x)` for one `f64`.
#[inline(always)]
fn sigmoid_f64<const FUSED: bool>(x: f64) -> f64 {
    let e = exp_f64::<FUSED>(-x.abs());
    let d = 1.0 / (1.0 + e);
    if x < 0.0 {
        e * d
    } else {
        d
    }
}

/// Appends `f(v)` for every `v` of `x` to `out`, as one loop the compiler
/// can vectorise (no bounds checks, no per-element capacity checks).
#[inline(always)]
fn append_map(x: &[f64], out: &mut Vec<f64>, f: impl Fn(f64) -> f64) {
    out.reserve(x.len());
    let start = out.len();
    for (slot, &v) in out.spare_capacity_mut()[..x.len()].iter_mut().zip(x) {
        slot.write(f(v));
    }
    // SAFETY: the `x.len()` slots after `start` were all written just above,
    // and `reserve` made room for them.
    unsafe { out.set_len(start + x.len()) }
}

/// Defines a slice function that runs `$body` under the widest instruction
/// set the CPU has.
macro_rules! vectorised {
    ($(#[$doc:meta])* $name:ident, $body:ident) => {
        $(#[$doc])*
        pub(crate) fn $name(x: &[f64], out: &mut Vec<f64>) {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                unsafe fn avx512(x: &[f64], out: &mut Vec<f64>) {
                    append_map(x, out, $body::<true>)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2(x: &[f64], out: &mut Vec<f64>) {
                    append_map(x, out, $body::<true>)
                }
                if std::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has the features `avx512` is compiled for
                    // (AVX-512F implies AVX2 and FMA).
                    return unsafe { avx512(x, out) };
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has the features `avx2` is compiled for.
                    return unsafe { avx2(x, out) };
                }
            }
            append_map(x, out, $body::<false>)
        }
    };
}

vectorised!(
    /// Appends `eˣ` for every element of `x` to `out`.
    exp_slice_f64,
    exp_f64
);
vectorised!(
    /// Appends `softplus(x)` for every element of `x` to `out`.
    softplus_slice_f64,
    softplus_f64
);
vectorised!(
    /// Appends `sigmoid(x)` for every element of `x` to `out`.
    sigmoid_slice_f64,
    sigmoid_f64
);

#[cfg(test)]
mod tests {
    //! The kernels of both precisions of rounding (`FUSED` or not) against the
    //! C library, over the whole range of `f64` where the results are finite
    //! and nonzero, near the edges where they are not, and at the special
    //! values. The public entry points (which pick one of them for the CPU)
    //! are tested in `tests/engine_kernels.rs`.
    use super::*;
    use alloc::vec;

    /// `|got - want| ≤ ulps·ε·|want|`, or within `ulps` of the smallest
    /// subnormal for results that small; NaN only where NaN is wanted.
    fn close(got: f64, want: f64, ulps: f64) -> bool {
        if want.is_nan() || want.is_infinite() {
            return got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan());
        }
        (got - want).abs() <= ulps * (f64::EPSILON * want.abs()).max(f64::from_bits(1))
    }

    /// Points spread over `[-range, range]`: a uniform grid, plus the special
    /// values and the neighbours of the reduction thresholds.
    fn points(range: f64) -> Vec<f64> {
        let mut xs: Vec<f64> = (0..=200_001)
            .map(|i| -range + 2.0 * range * f64::from(i) / 200_001.0)
            .collect();
        let specials = [
            0.0, -0.0, 1e-300, -1e-300, 5e-324, 1e-17, -1e-17, 0.34657, -0.34657,
        ];
        xs.extend(specials);
        // e^{-|x|} = √2 - 1 is where softplus switches its reduction.
        let switch = -(core::f64::consts::SQRT_2 - 1.0).ln();
        for k in -20..=20 {
            xs.push(switch + f64::from(k) * f64::EPSILON);
            xs.push(-switch + f64::from(k) * f64::EPSILON);
        }
        xs
    }

    fn check(
        name: &str,
        xs: &[f64],
        kernel: impl Fn(f64) -> f64,
        reference: impl Fn(f64) -> f64,
        ulps: f64,
    ) {
        let mut worst = (0.0, 0.0);
        for &x in xs {
            let (got, want) = (kernel(x), reference(x));
            assert!(
                close(got, want, ulps),
                "{name}({x:e}) = {got:e}, want {want:e}"
            );
            if want.abs() >= f64::MIN_POSITIVE && want.is_finite() {
                let err = ((got - want) / want).abs() / f64::EPSILON;
                if err > worst.0 {
                    worst = (err, x);
                }
            }
        }
        assert!(worst.0 <= ulps, "{name}: {} ulp at {:e}", worst.0, worst.1);
    }

    fn reference_softplus(x: f64) -> f64 {
        x.max(0.0) + (-x.abs()).exp().ln_1p()
    }

    fn reference_sigmoid(x: f64) -> f64 {
        if x >= 0.0 {
            1.0 / (1.0 + (-x).exp())
        } else {
            x.exp() / (1.0 + x.exp())
        }
    }

    #[test]
    fn exp_matches_the_c_library_to_two_ulp() {
        let xs = points(745.5);
        check("exp", &xs, exp_f64::<true>, f64::exp, 2.0);
        check("exp (unfused)", &xs, exp_f64::<false>, f64::exp, 2.0);
        for (x, want) in [
            (f64::NEG_INFINITY, 0.0),
            (f64::INFINITY, f64::INFINITY),
            (-746.0, 0.0),
            (709.8, f64::INFINITY),
            (710.0, f64::INFINITY),
            (1e300, f64::INFINITY),
        ] {
            assert_eq!(exp_f64::<true>(x), want, "exp({x})");
            assert_eq!(exp_f64::<false>(x), want, "exp({x})");
        }
        assert!(exp_f64::<true>(f64::NAN).is_nan());
        assert!(exp_f64::<false>(f64::NAN).is_nan());
        // The largest finite result and the smallest subnormal one.
        assert!(close(exp_f64::<true>(709.78), 709.78f64.exp(), 2.0));
        assert_eq!(exp_f64::<true>(-745.1), f64::from_bits(1));
    }

    #[test]
    fn softplus_and_sigmoid_match_the_c_library_to_three_ulp() {
        for range in [800.0, 40.0, 2.0] {
            let xs = points(range);
            check(
                "softplus",
                &xs,
                softplus_f64::<true>,
                reference_softplus,
                3.0,
            );
            check(
                "softplus (unfused)",
                &xs,
                softplus_f64::<false>,
                reference_softplus,
                3.0,
            );
            check("sigmoid", &xs, sigmoid_f64::<true>, reference_sigmoid, 3.0);
            check(
                "sigmoid (unfused)",
                &xs,
                sigmoid_f64::<false>,
                reference_sigmoid,
                3.0,
            );
        }
        for f in [softplus_f64::<true>, softplus_f64::<false>] {
            assert_eq!(f(f64::INFINITY), f64::INFINITY);
            assert_eq!(f(f64::NEG_INFINITY), 0.0);
            assert!(f(f64::NAN).is_nan());
            assert_eq!(f(-800.0), 0.0);
        }
        for f in [sigmoid_f64::<true>, sigmoid_f64::<false>] {
            assert_eq!(f(f64::INFINITY), 1.0);
            assert_eq!(f(f64::NEG_INFINITY), 0.0);
            assert!(f(f64::NAN).is_nan());
            assert_eq!(f(0.0), 0.5);
        }
    }

    #[test]
    fn slices_append_after_what_is_there() {
        let mut out = vec![7.0];
        softplus_slice_f64(&[0.0, 1.0, -1.0], &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(out[0], 7.0);
        assert_eq!(out[1], softplus_f64::<true>(0.0));
    }
}
