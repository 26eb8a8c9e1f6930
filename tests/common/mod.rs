//! Helpers shared by the engine test suites: proptest strategies for shapes
//! and tensors, a one-line wrapper over `check_grads`, and the per-primitive
//! suite, written once as a macro and instantiated for `f64` and `f32`.

// Each test crate that includes this module uses a different subset of it.
#![allow(dead_code, unused_macros)]

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use scoretape::check::{check_grads, CheckConfig};
use scoretape::{Real, Tensor, Var};

/// The seed of every property test, so that a run is reproducible; set
/// `PROPTEST_RNG_SEED` to explore other cases.
const PROPTEST_SEED: u64 = 20_240_601;

/// A proptest configuration with `cases` cases and a fixed seed (unless
/// `PROPTEST_RNG_SEED` is set).
pub fn config(cases: u32) -> ProptestConfig {
    let default = ProptestConfig::with_cases(cases);
    let rng_seed = match default.rng_seed {
        RngSeed::Random => RngSeed::Fixed(PROPTEST_SEED),
        from_environment => from_environment,
    };
    ProptestConfig {
        rng_seed,
        ..default
    }
}

/// Runs every check of [`check_grads`] up to third order at `args` (given in
/// `f64`, converted to `T`) with the default tolerances for `T`, as a proptest
/// result so that a failure is shrunk and reported with its message.
pub fn check_all<T, F>(f: F, args: &[Tensor<f64>]) -> Result<(), TestCaseError>
where
    T: Real,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    let args: Vec<Tensor<T>> = args.iter().map(cast).collect();
    check_grads(f, &args, 3, &CheckConfig::for_real::<T>())
        .map_err(|failure| TestCaseError::fail(failure.to_string()))
}

/// `t` with its elements converted to `T`.
pub fn cast<T: Real>(t: &Tensor<f64>) -> Tensor<T> {
    Tensor::from_fn(t.shape(), |k| T::cast(t.data()[k]))
}

/// A shape of rank `min_rank..=max_rank` with every axis `1..=3` long (at most
/// 27 elements, so the full Hessians the checks form stay cheap).
pub fn shape(min_rank: usize, max_rank: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=3, min_rank..=max_rank)
}

/// A tensor of `shape` with elements drawn from `element`.
pub fn tensor_of(
    shape: Vec<usize>,
    element: impl Strategy<Value = f64> + Clone,
) -> impl Strategy<Value = Tensor<f64>> {
    let n: usize = shape.iter().product();
    prop::collection::vec(element, n).prop_map(move |data| Tensor::from_vec(&shape, data).unwrap())
}

/// A tensor of random shape (rank `0..=3`) with elements in `lo..hi`.
pub fn tensor(lo: f64, hi: f64) -> impl Strategy<Value = Tensor<f64>> {
    shape(0, 3).prop_flat_map(move |s| tensor_of(s, lo..hi))
}

/// A number with magnitude in `lo..hi` and either sign: away from a
/// singularity or kink at zero.
pub fn away_from_zero(lo: f64, hi: f64) -> impl Strategy<Value = f64> + Clone {
    (lo..hi, any::<bool>()).prop_map(|(m, negative)| if negative { -m } else { m })
}

/// A tensor of random shape (rank `0..=3`) with elements drawn from `element`.
pub fn tensor_with(
    element: impl Strategy<Value = f64> + Clone + 'static,
) -> impl Strategy<Value = Tensor<f64>> {
    shape(0, 3).prop_flat_map(move |s| tensor_of(s, element.clone()))
}

/// A shape that broadcasts to `full`: some axes set to 1, some leading axes
/// dropped.
pub fn broadcastable_to(full: Vec<usize>) -> impl Strategy<Value = Vec<usize>> {
    let rank = full.len();
    (prop::collection::vec(any::<bool>(), rank), 0..=rank).prop_map(move |(ones, dropped)| {
        full.iter()
            .zip(&ones)
            .skip(dropped)
            .map(|(&d, &one)| if one { 1 } else { d })
            .collect()
    })
}

/// Two tensors whose shapes broadcast together (either may be the smaller,
/// or each along different axes), with elements drawn from `a` and `b`.
pub fn broadcast_pair(
    a: impl Strategy<Value = f64> + Clone + 'static,
    b: impl Strategy<Value = f64> + Clone + 'static,
) -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>)> {
    shape(0, 3)
        .prop_flat_map(|full| (broadcastable_to(full.clone()), broadcastable_to(full)))
        .prop_flat_map(move |(sa, sb)| (tensor_of(sa, a.clone()), tensor_of(sb, b.clone())))
}

/// A tensor of rank `1..=3` and one of its axes, with all elements distinct
/// by at least 0.3 (a shuffled grid), so that the largest and smallest entry
/// along any axis stay the same under finite-difference steps.
pub fn distinct_tensor_and_axis() -> impl Strategy<Value = (Tensor<f64>, usize)> {
    shape(1, 3).prop_flat_map(|s| {
        let n: usize = s.iter().product();
        let rank = s.len();
        let grid: Vec<f64> = (0..n).map(|k| 0.3 * k as f64 - 1.5).collect();
        let data = Just(grid).prop_shuffle();
        (
            data.prop_map(move |d| Tensor::from_vec(&s, d).unwrap()),
            0..rank,
        )
    })
}

/// A number in `-3..3` at least 0.1 away from the clamp bounds ±1.
pub fn away_from_unit_bounds() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![-3.0..-1.1, -0.9..0.9, 1.1..3.0]
}

/// A tensor of rank `1..=3` and one of its axes.
pub fn tensor_and_axis(lo: f64, hi: f64) -> impl Strategy<Value = (Tensor<f64>, usize)> {
    shape(1, 3).prop_flat_map(move |s| {
        let rank = s.len();
        (tensor_of(s, lo..hi), 0..rank)
    })
}

/// A matrix product's operands for the given transpose flags:
/// `op(A)` is `m×k`, `op(B)` is `k×n`.
pub fn matmul_operands(
    transpose_a: bool,
    transpose_b: bool,
) -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>)> {
    (1usize..=3, 1usize..=3, 1usize..=3).prop_flat_map(move |(m, k, n)| {
        let a = if transpose_a { vec![k, m] } else { vec![m, k] };
        let b = if transpose_b { vec![n, k] } else { vec![k, n] };
        (tensor_of(a, -2.0..2.0), tensor_of(b, -2.0..2.0))
    })
}

/// The per-primitive property suite: every primitive, through
/// `check_grads` up to third order, at random shapes and values, for the
/// scalar type `$t` with `$cases` cases per property.
///
/// Linear primitives (add, sum, reshape, …) are followed by `sin`, so that the
/// second- and third-order checks exercise their rules inside a nonzero
/// Hessian instead of comparing zero with zero.
macro_rules! primitive_suite {
    ($t:ty, $cases:expr) => {
        use common::*;
        use proptest::prelude::*;
        use scoretape::{Real, Var};

        type T = $t;

        /// A scalar of type `T` from an `f64` literal.
        fn c(value: f64) -> T {
            T::cast(value)
        }

        proptest! {
            #![proptest_config(config($cases))]

            #[test]
            fn add((a, b) in broadcast_pair(-2.0..2.0, -2.0..2.0)) {
                check_all::<T, _>(|x| (x[0] + x[1]).sin(), &[a, b])?;
            }

            #[test]
            fn sub((a, b) in broadcast_pair(-2.0..2.0, -2.0..2.0)) {
                check_all::<T, _>(|x| (x[0] - x[1]).sin(), &[a, b])?;
            }

            #[test]
            fn mul((a, b) in broadcast_pair(-2.0..2.0, -2.0..2.0)) {
                check_all::<T, _>(|x| x[0] * x[1], &[a, b])?;
            }

            #[test]
            fn div((a, b) in broadcast_pair(-2.0..2.0, away_from_zero(0.5, 2.0))) {
                check_all::<T, _>(|x| x[0] / x[1], &[a, b])?;
            }

            #[test]
            fn neg(a in tensor(-2.0, 2.0)) {
                check_all::<T, _>(|x| (-x[0]).sin(), &[a])?;
            }

            #[test]
            fn affine(a in tensor(-2.0, 2.0), scale in -2.0..2.0f64, shift in -2.0..2.0f64) {
                check_all::<T, _>(|x| x[0].affine(c(scale), c(shift)).sin(), &[a])?;
            }

            #[test]
            fn var_plus_number(a in tensor(-2.0, 2.0), k in -2.0..2.0f64) {
                check_all::<T, _>(|x| (x[0] + c(k)).sin(), &[a])?;
            }

            #[test]
            fn var_minus_number(a in tensor(-2.0, 2.0), k in -2.0..2.0f64) {
                check_all::<T, _>(|x| (x[0] - c(k)).sin(), &[a])?;
            }

            #[test]
            fn var_times_number(a in tensor(-2.0, 2.0), k in -2.0..2.0f64) {
                check_all::<T, _>(|x| (x[0] * c(k)).sin(), &[a])?;
            }

            #[test]
            fn var_over_number(a in tensor(-2.0, 2.0), k in away_from_zero(0.5, 2.0)) {
                check_all::<T, _>(|x| (x[0] / c(k)).sin(), &[a])?;
            }

            #[test]
            fn number_plus_var(a in tensor(-2.0, 2.0), k in -2.0..2.0f64) {
                check_all::<T, _>(|x| (c(k) + x[0]).sin(), &[a])?;
            }

            #[test]
            fn number_minus_var(a in tensor(-2.0, 2.0), k in -2.0..2.0f64) {
                check_all::<T, _>(|x| (c(k) - x[0]).sin(), &[a])?;
            }

            #[test]
            fn number_times_var(a in tensor(-2.0, 2.0), k in -2.0..2.0f64) {
                check_all::<T, _>(|x| (c(k) * x[0]).sin(), &[a])?;
            }

            #[test]
            fn number_over_var(a in tensor_with(away_from_zero(0.5, 2.0)), k in -2.0..2.0f64) {
                check_all::<T, _>(|x| c(k) / x[0], &[a])?;
            }

            #[test]
            fn exp(a in tensor(-3.0, 3.0)) {
                check_all::<T, _>(|x| x[0].exp(), &[a])?;
            }

            #[test]
            fn log(a in tensor(0.2, 4.0)) {
                check_all::<T, _>(|x| x[0].log(), &[a])?;
            }

            #[test]
            fn log1p(a in tensor(-0.7, 3.0)) {
                check_all::<T, _>(|x| x[0].log1p(), &[a])?;
            }

            #[test]
            fn recip(a in tensor_with(away_from_zero(0.3, 3.0))) {
                check_all::<T, _>(|x| x[0].recip(), &[a])?;
            }

            #[test]
            fn softplus(a in tensor(-6.0, 6.0)) {
                check_all::<T, _>(|x| x[0].softplus(), &[a])?;
            }

            #[test]
            fn sigmoid(a in tensor(-6.0, 6.0)) {
                check_all::<T, _>(|x| x[0].sigmoid(), &[a])?;
            }

            #[test]
            fn log_sigmoid(a in tensor(-6.0, 6.0)) {
                check_all::<T, _>(|x| x[0].log_sigmoid(), &[a])?;
            }

            #[test]
            fn tanh(a in tensor(-3.0, 3.0)) {
                check_all::<T, _>(|x| x[0].tanh(), &[a])?;
            }

            #[test]
            fn sin(a in tensor(-4.0, 4.0)) {
                check_all::<T, _>(|x| x[0].sin(), &[a])?;
            }

            #[test]
            fn cos(a in tensor(-4.0, 4.0)) {
                check_all::<T, _>(|x| x[0].cos(), &[a])?;
            }

            #[test]
            fn sqrt(a in tensor(0.2, 4.0)) {
                check_all::<T, _>(|x| x[0].sqrt(), &[a])?;
            }

            #[test]
            fn square(a in tensor(-3.0, 3.0)) {
                check_all::<T, _>(|x| x[0].square(), &[a])?;
            }

            #[test]
            fn powi(a in tensor_with(away_from_zero(0.4, 2.0)), n in -3i32..=4) {
                check_all::<T, _>(|x| x[0].powi(n), &[a])?;
            }

            #[test]
            fn silu(a in tensor(-5.0, 5.0)) {
                check_all::<T, _>(|x| x[0].silu(), &[a])?;
            }

            // ELU's second derivative jumps at 0, so keep every point (and its
            // finite-difference neighbours) on one side.
            #[test]
            fn elu(a in tensor_with(away_from_zero(0.1, 3.0))) {
                check_all::<T, _>(|x| x[0].elu(), &[a])?;
            }

            #[test]
            fn matmul((a, b) in matmul_operands(false, false)) {
                check_all::<T, _>(|x| x[0].matmul(x[1]), &[a, b])?;
            }

            #[test]
            fn matmul_transposed_a((a, b) in matmul_operands(true, false)) {
                check_all::<T, _>(|x| x[0].matmul_t(x[1], true, false), &[a, b])?;
            }

            #[test]
            fn matmul_transposed_b((a, b) in matmul_operands(false, true)) {
                check_all::<T, _>(|x| x[0].matmul_t(x[1], false, true), &[a, b])?;
            }

            #[test]
            fn matmul_transposed_both((a, b) in matmul_operands(true, true)) {
                check_all::<T, _>(|x| x[0].matmul_t(x[1], true, true), &[a, b])?;
            }

            #[test]
            fn transpose(a in shape(2, 2).prop_flat_map(|s| tensor_of(s, -2.0..2.0))) {
                check_all::<T, _>(|x| x[0].transpose().sin(), &[a])?;
            }

            #[test]
            fn sum(a in tensor(-2.0, 2.0)) {
                check_all::<T, _>(|x| x[0].sum().sin(), &[a])?;
            }

            #[test]
            fn mean(a in tensor(-2.0, 2.0)) {
                check_all::<T, _>(|x| x[0].mean().sin(), &[a])?;
            }

            #[test]
            fn sum_axis((a, axis) in tensor_and_axis(-2.0, 2.0)) {
                check_all::<T, _>(|x| x[0].sum_axis(axis).sin(), &[a])?;
            }

            #[test]
            fn mean_axis((a, axis) in tensor_and_axis(-2.0, 2.0)) {
                check_all::<T, _>(|x| x[0].mean_axis(axis).sin(), &[a])?;
            }

            #[test]
            fn broadcast_to((a, full) in shape(0, 3).prop_flat_map(|full| {
                (broadcastable_to(full.clone()).prop_flat_map(|s| tensor_of(s, -2.0..2.0)),
                 Just(full))
            })) {
                check_all::<T, _>(|x| x[0].broadcast_to(&full).sin(), &[a])?;
            }

            #[test]
            fn sum_to((a, target) in shape(0, 3).prop_flat_map(|full| {
                (tensor_of(full.clone(), -2.0..2.0), broadcastable_to(full))
            })) {
                check_all::<T, _>(|x| x[0].sum_to(&target).sin(), &[a])?;
            }

            #[test]
            fn reshape((a, target) in shape(0, 3).prop_flat_map(|s| {
                let n: usize = s.iter().product();
                let reversed: Vec<usize> = s.iter().rev().copied().collect();
                let targets = vec![vec![n], vec![1, n], vec![n, 1], reversed];
                (tensor_of(s, -2.0..2.0), prop::sample::select(targets))
            })) {
                check_all::<T, _>(|x| x[0].reshape(&target).sin(), &[a])?;
            }

            #[test]
            fn slice((a, axis, start, end) in shape(1, 3).prop_flat_map(|s| {
                let rank = s.len();
                (Just(s), 0..rank)
            }).prop_flat_map(|(s, axis)| {
                let len = s[axis];
                (Just(s), Just(axis), 0..len)
            }).prop_flat_map(|(s, axis, start)| {
                let len = s[axis];
                (tensor_of(s, -2.0..2.0), Just(axis), Just(start), start + 1..=len)
            })) {
                check_all::<T, _>(|x| x[0].slice(axis, start, end).sin(), &[a])?;
            }

            #[test]
            fn concat((parts, axis) in shape(1, 3).prop_flat_map(|s| {
                let rank = s.len();
                (Just(s), 0..rank, prop::collection::vec(1usize..=3, 2..=3))
            }).prop_flat_map(|(s, axis, lengths)| {
                let parts: Vec<_> = lengths.into_iter().map(|len| {
                    let mut part = s.clone();
                    part[axis] = len;
                    tensor_of(part, -2.0..2.0)
                }).collect();
                (parts, Just(axis))
            })) {
                check_all::<T, _>(|x| Var::concat(x, axis).sin(), &parts)?;
            }

            #[test]
            fn gather((a, axis, indices) in shape(1, 3).prop_flat_map(|s| {
                let rank = s.len();
                (Just(s), 0..rank)
            }).prop_flat_map(|(s, axis)| {
                let len = s[axis];
                (tensor_of(s, -2.0..2.0), Just(axis), prop::collection::vec(0..len, 1..=5))
            })) {
                check_all::<T, _>(|x| x[0].gather(axis, &indices).sin(), &[a])?;
            }

            // logsumexp is smooth: its shift m is a constant, so no kink.
            #[test]
            fn logsumexp((a, axis) in tensor_and_axis(-3.0, 3.0)) {
                check_all::<T, _>(|x| x[0].logsumexp(axis).sin(), &[a])?;
            }

            #[test]
            fn select((a, b) in broadcast_pair(-2.0..2.0, -2.0..2.0), seed in any::<u64>()) {
                let shape = scoretape::tensor::broadcast_shapes(a.shape(), b.shape()).unwrap();
                let n: usize = shape.iter().product();
                let condition: Vec<bool> = (0..n).map(|k| (seed >> (k % 64)) & 1 == 1).collect();
                check_all::<T, _>(|x| Var::select(&condition, x[0].sin(), x[1].exp()), &[a, b])?;
            }

            // The piecewise operations below are checked away from their
            // kinks (by more than the finite-difference step), where they are
            // smooth; their subgradients at the kinks are tested in
            // tests/engine_piecewise.rs.
            #[test]
            fn abs(a in tensor_with(away_from_zero(0.1, 3.0))) {
                check_all::<T, _>(|x| x[0].abs().sin(), &[a])?;
            }

            #[test]
            fn relu(a in tensor_with(away_from_zero(0.1, 3.0))) {
                check_all::<T, _>(|x| x[0].relu().sin(), &[a])?;
            }

            #[test]
            fn clamp(a in tensor_with(away_from_unit_bounds())) {
                check_all::<T, _>(|x| x[0].clamp(c(-1.0), c(1.0)).sin(), &[a])?;
            }

            #[test]
            fn max_and_min(a in tensor(-2.0, 2.0), gap in away_from_zero(0.1, 1.0)) {
                let b = a.map(|v| v + gap);
                check_all::<T, _>(|x| (x[0].max(x[1]) * x[0].min(x[1])).sin(), &[a, b])?;
            }

            #[test]
            fn max_broadcast(a in tensor_with(away_from_zero(0.1, 3.0))) {
                check_all::<T, _>(|x| x[0].max(x[1]).sin(), &[a, scoretape::Tensor::scalar(0.0)])?;
            }

            #[test]
            fn max_axis((a, axis) in distinct_tensor_and_axis()) {
                check_all::<T, _>(|x| x[0].max_axis(axis).sin(), &[a])?;
            }

            #[test]
            fn min_axis((a, axis) in distinct_tensor_and_axis()) {
                check_all::<T, _>(|x| x[0].min_axis(axis).sin(), &[a])?;
            }

            // Repeated indices are where a wrong adjoint (overwriting instead of
            // accumulating) would show, so one property insists on them.
            #[test]
            fn gather_repeated(a in tensor_of(vec![3, 2], -2.0..2.0), first in 0usize..3) {
                check_all::<T, _>(|x| x[0].gather(0, &[first, first, 2, first]).sin(), &[a])?;
            }
        }
    };
}
