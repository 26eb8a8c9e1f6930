//! The standard workloads compute what `docs/performance.md` says they compute:
//! each is checked against an independent computation on a small case —
//! finite differences, the reverse-over-reverse HVP, closed forms, and the
//! objectives written out by hand from the engine's `grad`/`hvp` (not from
//! `scoretape::objective`), with `∂J/∂θ` checked by finite differences.

use scoretape::model::{Energy, Model};
use scoretape::objective::fd_ssm_epsilon;
use scoretape::random::{normal_tensor, seeded};
use scoretape::workloads::{Dims, Prepared, Size, Workload, DSM_SIGMA, ROSENBROCK_N};
use scoretape::{grad, hvp, hvp_reverse_over_reverse, Tape, Tensor, Var};

const SMALL: Dims = Dims {
    dim: 3,
    hidden: 5,
    batch: 4,
};

fn max_rel_diff(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let scale = b.data().iter().fold(1e-12f64, |m, v| m.max(v.abs()));
    a.max_abs_diff(b) / scale
}

#[test]
fn names_parse_back_and_sizes_match_benchmarks_md() {
    for w in Workload::ALL {
        assert_eq!(w.name().parse::<Workload>().unwrap(), w);
    }
    let dims: Vec<_> = Size::ALL
        .iter()
        .map(|s| (s.dims().dim, s.dims().hidden, s.dims().batch))
        .collect();
    assert_eq!(dims, vec![(2, 64, 128), (16, 128, 128), (64, 256, 128)]);
    assert!("l".parse::<Size>().is_ok());
    assert!("XL".parse::<Size>().is_err());
}

#[test]
fn model_is_mlp_ebm_with_the_benchmark_initialisation() {
    let p = Workload::Grad.prepare(Size::M);
    let params = p.model().unwrap().params();
    let shapes: Vec<_> = params.values().iter().map(|t| t.shape().to_vec()).collect();
    assert_eq!(
        shapes,
        vec![
            vec![128, 16],
            vec![128],
            vec![128, 128],
            vec![128],
            vec![1, 128],
            vec![1]
        ]
    );
    // weights ~ N(0, 1/fan_in): the sample variance times fan_in is near 1.
    for (w, fan_in) in [(&params.values()[0], 16.0), (&params.values()[2], 128.0)] {
        let n = w.len() as f64;
        let var = w.data().iter().map(|v| v * v).sum::<f64>() / n;
        assert!(
            (var * fan_in - 1.0).abs() < 0.1,
            "variance·fan_in = {}",
            var * fan_in
        );
    }
    for b in [
        &params.values()[1],
        &params.values()[3],
        &params.values()[5],
    ] {
        assert!(b.data().iter().all(|&v| v == 0.0));
    }
    let x = p.x();
    let mean = x.mean();
    let var = x.data().iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64;
    assert!(mean.abs() < 0.1 && (var - 1.0).abs() < 0.1);
}

#[test]
fn every_workload_is_finite_reproducible_and_bounded_in_memory() {
    for w in Workload::ALL {
        let mut p = w.prepare(Size::S);
        let nodes = p.recorded_nodes();
        let first = p.run().unwrap();
        assert!(first.is_finite(), "{w}: {first}");
        assert_eq!(p.recorded_nodes(), nodes, "{w} left nodes on its tape");
        if w.is_training() {
            // Each call is the next step; a fresh workload repeats the first.
            assert_eq!(
                w.prepare(Size::S).run().unwrap(),
                first,
                "{w} is not reproducible"
            );
        } else {
            assert_eq!(p.run().unwrap(), first, "{w} is not reproducible");
        }
        let outputs = if w.is_training() {
            w.prepare(Size::S).outputs().unwrap()
        } else {
            p.outputs().unwrap()
        };
        assert!(outputs.iter().all(Tensor::all_finite), "{w}");
        let total: f64 = outputs.iter().map(|t| t.sum()).sum();
        assert!((total - first).abs() <= 1e-12 * total.abs().max(1.0), "{w}");
    }
}

#[test]
fn grad_matches_direct_energy_and_central_differences() {
    let mut p = Workload::Grad.prepare(Size::S);
    let out = p.outputs().unwrap();
    let model = p.model().unwrap();
    let energy_at = |x: &Tensor<f64>| {
        let tape = Tape::new();
        let params = model.params().record(&tape);
        let x = tape.input(x.clone());
        tape.evaluate(|| model.energy(&params, x))
    };
    assert_eq!(out[0], energy_at(p.x()));
    let (b, d) = (p.dims().batch, p.dims().dim);
    let h = 1e-5;
    let mut fd = Tensor::zeros(&[b, d]);
    // Samples do not interact, so shifting column j of every row at once
    // gives every sample's partial derivative j.
    for j in 0..d {
        let shifted = |s: f64| {
            let mut x = p.x().clone();
            for row in 0..b {
                x.data_mut()[row * d + j] += s;
            }
            energy_at(&x)
        };
        let (plus, minus) = (shifted(h), shifted(-h));
        for row in 0..b {
            fd.data_mut()[row * d + j] = (plus.data()[row] - minus.data()[row]) / (2.0 * h);
        }
    }
    assert!(max_rel_diff(&out[1], &fd) < 1e-8);
}

#[test]
fn hvp_matches_reverse_over_reverse() {
    let mut p = Workload::Hvp.prepare(Size::M);
    let hv = p.outputs().unwrap().remove(0);
    let model = p.model().unwrap();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let x = tape.input(p.x().clone());
    let v = tape.constant(p.random().unwrap().clone());
    let e = model.energy(&params, x).sum();
    let reference = hvp_reverse_over_reverse(e, x, v).unwrap();
    assert!(max_rel_diff(&hv, &reference.value()) < 1e-12);
    assert!(hv.data().iter().any(|&t| t != 0.0));
}

#[test]
fn rosenbrock_matches_the_closed_form() {
    let mut p = Workload::Rosenbrock.prepare(Size::L);
    let out = p.outputs().unwrap();
    let (x, v) = (p.x().data(), p.random().unwrap().data());
    let n = ROSENBROCK_N;
    assert_eq!(x.len(), n);
    assert_eq!((x[0], x[1], x[98], x[99]), (-1.2, 1.0, -1.2, 1.0));
    let mut g = vec![0.0; n];
    let mut hv = vec![0.0; n];
    for i in 0..n - 1 {
        // term 100 (x_{i+1} - x_i²)² + (1 - x_i)²
        let r = x[i + 1] - x[i] * x[i];
        g[i] += -400.0 * x[i] * r - 2.0 * (1.0 - x[i]);
        g[i + 1] += 200.0 * r;
        let hii = 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
        let hij = -400.0 * x[i];
        hv[i] += hii * v[i] + hij * v[i + 1];
        hv[i + 1] += hij * v[i] + 200.0 * v[i + 1];
    }
    assert!(max_rel_diff(&out[0], &Tensor::vector(&g)) < 1e-14);
    assert!(max_rel_diff(&out[1], &Tensor::vector(&hv)) < 1e-14);
}

/// Per-sample dot products of two `[B, d]` batches.
fn row_dot<'t>(a: Var<'t, f64>, c: Var<'t, f64>) -> Var<'t, f64> {
    (a * c).sum_axis(1)
}

/// The objective of `workload` at parameters `theta`, written out from
/// `docs/performance.md` with the engine's `grad` and `hvp` only.
fn loss_by_hand(p: &Prepared, theta: &[Tensor<f64>]) -> f64 {
    let model = p.model().unwrap();
    let tape = Tape::new();
    let params: Vec<Var<'_, f64>> = theta.iter().map(|t| tape.input(t.clone())).collect();
    let energy = |x| model.energy(&params, x);
    let (b, d) = (p.dims().batch, p.dims().dim);
    let per_sample =
        match p.workload() {
            Workload::Esm | Workload::Ssm | Workload::SsmVr => {
                let x = tape.input(p.x().clone());
                let e = energy(x).sum();
                let g = grad(e, &[x]).unwrap()[0];
                let half_norm2 = row_dot(g, g) * 0.5;
                if p.workload() == Workload::Esm {
                    let mut trace = tape.constant(Tensor::zeros(&[b]));
                    for j in 0..d {
                        let e_j = tape.constant(Tensor::from_fn(&[b, d], |k| {
                            if k % d == j {
                                1.0
                            } else {
                                0.0
                            }
                        }));
                        trace = trace + row_dot(hvp(e, x, e_j).unwrap(), e_j);
                    }
                    half_norm2 - trace
                } else {
                    let v = tape.constant(p.random().unwrap().clone());
                    let vhv = row_dot(hvp(e, x, v).unwrap(), v);
                    if p.workload() == Workload::Ssm {
                        row_dot(v, g).square() * 0.5 - vhv
                    } else {
                        half_norm2 - vhv
                    }
                }
            }
            Workload::FdSsm => {
                let epsilon = fd_ssm_epsilon::<f64>();
                let v = p.random().unwrap();
                let shifted = |sign: f64| {
                    let moved = p.x().zip_map(v, |x, v| x + sign * epsilon * v);
                    energy(tape.constant(moved))
                };
                let (centre, plus, minus) = (shifted(0.0), shifted(1.0), shifted(-1.0));
                let second = (plus + minus - centre * 2.0) / (epsilon * epsilon);
                let first = (plus - minus) / (2.0 * epsilon);
                first.square() * 0.5 - second
            }
            Workload::Dsm => {
                let eps = tape.constant(p.random().unwrap().clone());
                let x_noisy = tape.input(p.x().clone()) + eps * DSM_SIGMA;
                let g = grad(energy(x_noisy).sum(), &[x_noisy]).unwrap()[0];
                let r = eps / DSM_SIGMA - g;
                row_dot(r, r) * 0.5
            }
            Workload::Rm => {
                let x = p.x();
                let e0 = energy(tape.constant(x.clone()));
                let mut total = tape.constant(Tensor::zeros(&[b]));
                for j in 0..d {
                    let flipped = Tensor::from_fn(&[b, d], |k| {
                        if k % d == j {
                            1.0 - x.data()[k]
                        } else {
                            x.data()[k]
                        }
                    });
                    let ej = energy(tape.constant(flipped));
                    total = total + (e0 - ej).sigmoid().square();
                }
                total
            }
            w => panic!("{w} is not an objective"),
        };
    per_sample.mean().item()
}

fn check_objective(workload: Workload) {
    check_objective_at(workload, SMALL, None);
}

/// The step of the central differences of `J` in θ, and their tolerance: fd-ssm's
/// `J` carries a rounding error of ~1e-16/ε² = 1e-10 (ε = 1e-3), which a step of
/// 1e-5 would turn into 1e-5; a step of 1e-3 keeps both errors near 1e-7.
fn theta_step(workload: Workload) -> (f64, f64) {
    match workload {
        Workload::FdSsm => (1e-3, 1e-5),
        _ => (1e-5, 1e-6),
    }
}

/// The loss and gradient of one call against [`loss_by_hand`], at `dims`, on
/// `threads` threads (or the default).
fn check_objective_at(workload: Workload, dims: Dims, threads: Option<usize>) {
    let mut p = workload.prepare_dims(dims).unwrap();
    if let Some(threads) = threads {
        p.set_threads(threads);
    }
    let out = p.outputs().unwrap();
    let theta = p.model().unwrap().params().values().to_vec();
    assert_eq!(out.len(), 1 + theta.len());
    let loss = out[0].item();
    let by_hand = loss_by_hand(&p, &theta);
    assert!(
        (loss - by_hand).abs() <= 1e-12 * by_hand.abs().max(1.0),
        "{workload}: J = {loss}, by hand {by_hand}"
    );
    // ∂J/∂θ along a random direction u against a central difference of J.
    let mut rng = seeded(99);
    let u: Vec<Tensor<f64>> = theta
        .iter()
        .map(|t| normal_tensor(t.shape(), &mut rng))
        .collect();
    let along = |s: f64| -> Vec<Tensor<f64>> {
        theta
            .iter()
            .zip(&u)
            .map(|(t, u)| t.zip_map(u, |t, u| t + s * u))
            .collect()
    };
    let (h, tolerance) = theta_step(workload);
    let fd = (loss_by_hand(&p, &along(h)) - loss_by_hand(&p, &along(-h))) / (2.0 * h);
    let analytic: f64 = out[1..].iter().zip(&u).map(|(g, u)| g.dot(u)).sum();
    assert!(
        (analytic - fd).abs() <= tolerance * fd.abs().max(1e-3),
        "{workload}: ⟨∂J/∂θ, u⟩ = {analytic}, finite difference {fd}"
    );
}

#[test]
fn esm_matches_hand_written_loss_and_finite_differences() {
    check_objective(Workload::Esm);
}

#[test]
fn ssm_matches_hand_written_loss_and_finite_differences() {
    check_objective(Workload::Ssm);
}

#[test]
fn ssm_vr_matches_hand_written_loss_and_finite_differences() {
    check_objective(Workload::SsmVr);
}

#[test]
fn fd_ssm_matches_hand_written_loss_and_finite_differences() {
    check_objective(Workload::FdSsm);
}

#[test]
fn dsm_matches_hand_written_loss_and_finite_differences() {
    check_objective(Workload::Dsm);
}

#[test]
fn rm_matches_hand_written_loss_and_finite_differences() {
    check_objective(Workload::Rm);
}

/// At `d = 40` ratio matching records about 1024 energy rows at a time, 24
/// samples: a batch of 50 is recorded in three chunks on one thread and in two
/// per block on three threads, their losses and gradients summed by share.
#[test]
fn rm_recorded_in_chunks_matches_hand_written_loss_and_finite_differences() {
    let dims = Dims {
        dim: 40,
        hidden: 6,
        batch: 50,
    };
    check_objective_at(Workload::Rm, dims, Some(1));
    check_objective_at(Workload::Rm, dims, Some(3));
}

#[test]
fn rm_data_are_bits_and_others_are_gaussian() {
    let rm = Workload::Rm.prepare(Size::M);
    assert!(rm.x().data().iter().all(|&b| b == 0.0 || b == 1.0));
    let ones = rm.x().sum() / rm.x().len() as f64;
    assert!((ones - 0.5).abs() < 0.05);
    let dsm = Workload::Dsm.prepare(Size::M);
    assert!(dsm.x().data().iter().any(|&t| t != t.round()));
    assert_ne!(dsm.x(), dsm.random().unwrap());
}

#[test]
fn zero_dimensions_are_an_error() {
    for w in [Workload::Grad, Workload::Esm, Workload::Rm] {
        let bad = Dims { dim: 0, ..SMALL };
        assert!(w.prepare_dims(bad).is_err());
    }
}

/// Splitting the batch over threads gives the one-thread results to rounding,
/// for every workload (per-sample results joined, means weighted by rows).
#[test]
fn every_workload_gives_the_same_results_on_one_or_three_threads() {
    for workload in Workload::ALL {
        let mut one = workload.prepare(Size::S);
        one.set_threads(1);
        // Three blocks of 43, 43 and 42 rows: unequal shares are weighted right.
        let mut three = workload.prepare(Size::S);
        three.set_threads(3);
        let (a, b) = (one.outputs().unwrap(), three.outputs().unwrap());
        assert_eq!(a.len(), b.len(), "{workload}");
        for (k, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(x.shape(), y.shape(), "{workload}");
            let scale = x.data().iter().fold(1.0f64, |m, v| m.max(v.abs()));
            // A training step's outputs after the loss are the parameters after
            // one Adam step, θ - lr·m̂/(√v̂ + ε): a rounding difference δ in a
            // gradient entry near zero (rm's output bias has gradient 0 in
            // exact arithmetic) moves θ by up to lr·δ/ε = 10⁵δ.
            // fd-ssm's gradient sums per-row terms of size ~1/ε² that cancel
            // to O(1): another split moves it by some u/ε² (see tests/fd_ssm.rs).
            let amplified = if workload.is_training() && k > 0 {
                1e-9
            } else if workload == Workload::FdSsm && k > 0 {
                256.0 * f64::EPSILON / 2.0 / fd_ssm_epsilon::<f64>().powi(2) * scale
            } else {
                0.0
            };
            assert!(
                x.max_abs_diff(y) < 1e-12 * scale + amplified,
                "{workload} output {k}: {}",
                x.max_abs_diff(y)
            );
        }
    }
}
