//! The structural primitives at shapes large enough to reach the kernels'
//! blocked paths (transpose blocks of 32, matrix-multiply tiles, the
//! broadcasting odometer over several long axes), which the property suite's
//! small shapes (axes of length ≤ 3) never reach. First order only: the
//! checks' full Hessians would cost one sweep per input element.

use scoretape::check::{check_grads, CheckConfig};
use scoretape::random::{normal_tensor, seeded};
use scoretape::{Real, Tensor, Var};

fn random<T: Real>(shape: &[usize], seed: u64) -> Tensor<T> {
    normal_tensor(shape, &mut seeded(seed))
}

fn check_first_order<T, F>(f: F, args: &[Tensor<T>])
where
    T: Real,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    check_grads(f, args, 1, &CheckConfig::for_real::<T>()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn transpose_across_several_blocks() {
    let a: Tensor<f64> = random(&[40, 35], 1);
    check_first_order(|x| x[0].transpose().sin(), &[a]);
}

#[test]
fn matmul_beyond_one_tile_with_every_transpose_flag() {
    let (m, k, n) = (13, 37, 9);
    for (transpose_a, transpose_b) in [(false, false), (true, false), (false, true), (true, true)] {
        let a_shape = if transpose_a { [k, m] } else { [m, k] };
        let b_shape = if transpose_b { [n, k] } else { [k, n] };
        let a: Tensor<f64> = random(&a_shape, 2);
        let b: Tensor<f64> = random(&b_shape, 3);
        check_first_order(|x| x[0].matmul_t(x[1], transpose_a, transpose_b), &[a, b]);
    }
}

#[test]
fn matmul_beyond_one_tile_in_f32() {
    let a: Tensor<f32> = random(&[11, 20], 4);
    let b: Tensor<f32> = random(&[20, 9], 5);
    check_first_order(|x| x[0].matmul(x[1]).tanh(), &[a, b]);
}

#[test]
fn broadcasting_over_several_long_axes() {
    let a: Tensor<f64> = random(&[7, 1, 9], 6);
    let b: Tensor<f64> = random(&[5, 1], 7);
    check_first_order(|x| (x[0] * x[1]).sin(), &[a, b]);
}

#[test]
fn sum_to_and_mean_over_long_axes() {
    let a: Tensor<f64> = random(&[6, 5, 7], 8);
    check_first_order(|x| x[0].sum_to(&[5, 1]).sin(), std::slice::from_ref(&a));
    check_first_order(|x| x[0].mean_axis(2).sin(), &[a]);
}

#[test]
fn gather_slice_and_concat_on_a_middle_axis() {
    let a: Tensor<f64> = random(&[4, 12, 5], 9);
    check_first_order(
        |x| {
            let picked = x[0].gather(1, &[11, 0, 3, 3, 7, 11]);
            let tail = x[0].slice(1, 8, 12);
            Var::concat(&[picked, tail], 1).sin()
        },
        &[a],
    );
}
