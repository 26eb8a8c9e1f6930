//! The provided models against hand-computed values, their parametrisation
//! invariants, and the closed-form score-matching estimator against closed
//! forms and against the engine.

use scoretape::model::linalg::{cholesky, inverse};
use scoretape::model::{Boltzmann, Energy, Model, QuadraticEnergy};
use scoretape::random::{normal_tensor, seeded};
use scoretape::{grad, hessian, Error, Tape, Tensor};

fn matrix(rows: &[&[f64]]) -> Tensor<f64> {
    Tensor::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap()
}

/// A random symmetric positive definite `d×d` matrix `A Aᵀ + ½I`.
fn random_spd(d: usize, seed: u64) -> Tensor<f64> {
    let a: Tensor<f64> = normal_tensor(&[d, d], &mut seeded(seed));
    let mut p = a.matmul_t(&a, false, true);
    for i in 0..d {
        p.data_mut()[i * d + i] += 0.5;
    }
    p
}

/// `½ rᵀ P r` for every row `r = x_b - μ`, with plain loops.
fn quadratic_form(x: &Tensor<f64>, mean: &Tensor<f64>, p: &Tensor<f64>) -> Vec<f64> {
    let d = mean.len();
    (0..x.shape()[0])
        .map(|b| {
            let r: Vec<f64> = (0..d).map(|i| x.get(&[b, i]) - mean.data()[i]).collect();
            let mut e = 0.0;
            for i in 0..d {
                for j in 0..d {
                    e += r[i] * p.get(&[i, j]) * r[j];
                }
            }
            0.5 * e
        })
        .collect()
}

fn energies<M: Energy<f64>>(model: &M, x: &Tensor<f64>) -> Vec<f64> {
    let tape = Tape::new();
    let params = model.params().record(&tape);
    model.energy(&params, tape.input(x.clone())).to_vec()
}

fn assert_close(a: &[f64], b: &[f64], tolerance: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tolerance * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

// ---------------------------------------------------------------- quadratic

#[test]
fn quadratic_energy_matches_hand_computed_value() {
    // μ = (1, 0, -1), P = [[2, 1, 0], [1, 2, 0], [0, 0, 4]].
    let p = matrix(&[&[2.0, 1.0, 0.0], &[1.0, 2.0, 0.0], &[0.0, 0.0, 4.0]]);
    let model =
        QuadraticEnergy::from_mean_precision(&Tensor::vector(&[1.0, 0.0, -1.0]), &p).unwrap();
    let x = matrix(&[&[1.0, 0.0, -1.0], &[2.0, 1.0, -1.0], &[1.0, 0.0, 0.0]]);
    // r = 0 → 0;  r = (1, 1, 0) → ½(2 + 2 + 2) = 3;  r = (0, 0, 1) → ½·4 = 2.
    assert_close(&energies(&model, &x), &[0.0, 3.0, 2.0], 1e-14, "E");
}

#[test]
fn quadratic_precision_is_spd_for_random_parameters() {
    for seed in 0..20 {
        let d = 1 + (seed as usize % 5);
        let mut model = QuadraticEnergy::<f64>::new(d);
        let mut rng = seeded(seed);
        let raw = normal_tensor::<f64, _>(&[d, d], &mut rng);
        model.params_mut().values_mut()[1] = raw.map(|v| 1.5 * v);
        let p = model.precision();
        assert!(
            p.max_abs_diff(&p.transpose())
                <= 1e-12 * p.data().iter().fold(1.0, |m, v| v.abs().max(m))
        );
        cholesky(&p).expect("L Lᵀ with a positive diagonal is positive definite");
        for _ in 0..5 {
            let v = normal_tensor::<f64, _>(&[d, 1], &mut rng);
            assert!(v.matmul_t(&p.matmul(&v), true, false).item() > 0.0);
        }
        // The strictly-upper part of R is masked out: changing it changes nothing.
        let mut changed = model.clone();
        for i in 0..d {
            for j in i + 1..d {
                changed.params_mut().values_mut()[1].data_mut()[i * d + j] += 7.0;
            }
        }
        assert_eq!(changed.precision(), p);
    }
}

#[test]
fn quadratic_gradient_in_x_is_precision_times_offset() {
    let d = 4;
    let mut rng = seeded(11);
    let mut model = QuadraticEnergy::<f64>::new(d);
    model
        .params_mut()
        .set_values(vec![
            normal_tensor(&[d], &mut rng),
            normal_tensor(&[d, d], &mut rng),
        ])
        .unwrap();
    let x = normal_tensor::<f64, _>(&[6, d], &mut rng);
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let xv = tape.input(x.clone());
    let e = model.energy(&params, xv);
    let g = grad(e.sum(), &[xv]).unwrap()[0].value();
    let p = model.precision();
    let offset = x.zip_map(&model.mean(), |a, m| a - m);
    let expected = offset.matmul(&p); // rows (P r)ᵀ since P is symmetric
    assert!(g.max_abs_diff(&expected) < 1e-12, "∇E vs P(x-μ)");
    // The energy itself matches ½ rᵀPr, and the Hessian of one sample is P.
    assert_close(
        &e.to_vec(),
        &quadratic_form(&x, &model.mean(), &p),
        1e-12,
        "E",
    );
    let one = tape.input(x.slice_axis(0, 0, 1));
    let h = hessian(model.energy(&params, one).sum(), one)
        .unwrap()
        .value();
    assert!(h.reshape(&[d, d]).max_abs_diff(&p) < 1e-12, "Hessian vs P");
}

#[test]
fn quadratic_parameter_gradient_matches_finite_differences() {
    let d = 3;
    let mut rng = seeded(5);
    let mut model = QuadraticEnergy::<f64>::new(d);
    model
        .params_mut()
        .set_values(vec![
            normal_tensor(&[d], &mut rng),
            normal_tensor(&[d, d], &mut rng),
        ])
        .unwrap();
    let x = normal_tensor::<f64, _>(&[4, d], &mut rng);
    let total = |m: &QuadraticEnergy<f64>| energies(m, &x).iter().sum::<f64>();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let e = model.energy(&params, tape.input(x.clone())).sum();
    let grads = grad(e, &params).unwrap();
    for (which, g) in grads.iter().enumerate() {
        let g = g.value();
        for k in 0..g.len() {
            let h = 1e-5;
            let mut plus = model.clone();
            plus.params_mut().values_mut()[which].data_mut()[k] += h;
            let mut minus = model.clone();
            minus.params_mut().values_mut()[which].data_mut()[k] -= h;
            let fd = (total(&plus) - total(&minus)) / (2.0 * h);
            assert!(
                (g.data()[k] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "param {which}[{k}]: {} vs {fd}",
                g.data()[k]
            );
        }
    }
    // Entries of R above the diagonal are masked: exactly zero gradient.
    let g_raw = grads[1].value();
    for i in 0..d {
        for j in i + 1..d {
            assert_eq!(g_raw.get(&[i, j]), 0.0);
        }
    }
}

#[test]
fn quadratic_from_mean_precision_round_trips() {
    for seed in 0..10 {
        let d = 1 + seed as usize % 4;
        let p = random_spd(d, seed);
        let mean: Tensor<f64> = normal_tensor(&[d], &mut seeded(100 + seed));
        let model = QuadraticEnergy::from_mean_precision(&mean, &p).unwrap();
        assert_eq!(model.mean(), mean);
        let scale = p.data().iter().fold(1.0, |m: f64, v| m.max(v.abs()));
        assert!(model.precision().max_abs_diff(&p) < 1e-12 * scale);
        let identity = model.covariance().unwrap().matmul(&p);
        assert!(identity.max_abs_diff(&Tensor::eye(d)) < 1e-10);
        assert_eq!(model.dim(), d);
    }
    // And in f32.
    let p = Tensor::from_rows(&[vec![2.0f32, 0.5], vec![0.5, 1.0]]).unwrap();
    let model = QuadraticEnergy::from_mean_precision(&Tensor::vector(&[1.0f32, 2.0]), &p).unwrap();
    assert!(model.precision().max_abs_diff(&p) < 1e-6);
}

#[test]
fn quadratic_from_mean_precision_rejects_bad_input() {
    let mean = Tensor::vector(&[0.0, 0.0]);
    let asymmetric = matrix(&[&[2.0, 1.0], &[0.0, 2.0]]);
    let indefinite = matrix(&[&[1.0, 0.0], &[0.0, -1.0]]);
    let singular = matrix(&[&[1.0, 1.0], &[1.0, 1.0]]);
    let nan = matrix(&[&[f64::NAN, 0.0], &[0.0, 1.0]]);
    for bad in [asymmetric, indefinite, singular, nan] {
        assert!(matches!(
            QuadraticEnergy::from_mean_precision(&mean, &bad),
            Err(Error::InvalidData(_))
        ));
    }
    assert!(matches!(
        QuadraticEnergy::from_mean_precision(&Tensor::vector(&[0.0]), &Tensor::eye(2)),
        Err(Error::Shape(_))
    ));
}

// ---------------------------------------------------------------- Boltzmann

#[test]
fn boltzmann_energy_matches_hand_computed_value() {
    let w = matrix(&[&[0.0, 1.0, -2.0], &[1.0, 0.0, 0.5], &[-2.0, 0.5, 0.0]]);
    let b = Tensor::vector(&[0.25, -1.0, 2.0]);
    let model = Boltzmann::from_parts(&w, &b).unwrap();
    let x = matrix(&[
        &[0.0, 0.0, 0.0],
        &[1.0, 1.0, 0.0],
        &[1.0, 0.0, 1.0],
        &[1.0, 1.0, 1.0],
    ]);
    // E = -Σ_{i<j} W_ij x_i x_j - Σ b_i x_i:
    // 000 → 0;  110 → -1 - (0.25 - 1) = -0.25;  101 → 2 - 2.25 = -0.25;
    // 111 → -(1 - 2 + 0.5) - 1.25 = -0.75.
    assert_close(
        &energies(&model, &x),
        &[0.0, -0.25, -0.25, -0.75],
        1e-15,
        "E",
    );
}

#[test]
fn boltzmann_coupling_is_symmetric_with_zero_diagonal() {
    let d = 5;
    let mut rng = seeded(3);
    let mut model = Boltzmann::<f64>::new(d);
    let u = normal_tensor::<f64, _>(&[d, d], &mut rng);
    model.params_mut().values_mut()[0] = u.clone();
    model.params_mut().values_mut()[1] = normal_tensor(&[d], &mut rng);
    let w = model.coupling();
    assert_eq!(w, w.transpose());
    for i in 0..d {
        assert_eq!(w.get(&[i, i]), 0.0);
        for j in 0..d {
            if i != j {
                assert_eq!(w.get(&[i, j]), 0.5 * (u.get(&[i, j]) + u.get(&[j, i])));
            }
        }
    }
    // The tape's energy uses that same W.
    let states = Boltzmann::<f64>::all_states(d).unwrap();
    let direct: Vec<f64> = (0..states.shape()[0])
        .map(|s| {
            let x = states.row(s);
            let mut e = 0.0;
            for i in 0..d {
                e -= model.bias().data()[i] * x[i];
                for j in 0..d {
                    e -= 0.5 * x[i] * w.get(&[i, j]) * x[j];
                }
            }
            e
        })
        .collect();
    assert_close(
        &energies(&model, &states),
        &direct,
        1e-13,
        "E on all states",
    );
    // The diagonal of U does not enter: its gradient is exactly zero.
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let e = model.energy(&params, tape.input(states)).sum();
    let g = grad(e, &params).unwrap()[0].value();
    for i in 0..d {
        assert_eq!(g.get(&[i, i]), 0.0);
    }
}

#[test]
fn boltzmann_exact_probabilities_match_brute_force() {
    let d = 4;
    let mut rng = seeded(8);
    let mut model = Boltzmann::<f64>::new(d);
    model
        .params_mut()
        .set_values(vec![
            normal_tensor(&[d, d], &mut rng),
            normal_tensor(&[d], &mut rng),
        ])
        .unwrap();
    let p = model.exact_probabilities().unwrap();
    assert!((p.sum() - 1.0).abs() < 1e-14);
    let e = energies(&model, &Boltzmann::all_states(d).unwrap());
    let z: f64 = e.iter().map(|e| (-e).exp()).sum();
    let brute: Vec<f64> = e.iter().map(|e| (-e).exp() / z).collect();
    assert_close(p.data(), &brute, 1e-13, "p");

    // Huge energies: a naive exp(-E) overflows, the shifted softmax does not.
    let mut hot = model.clone();
    for v in hot.params_mut().values_mut() {
        *v = v.map(|x| 2000.0 * x);
    }
    let p = hot.exact_probabilities().unwrap();
    assert!(p.all_finite() && (p.sum() - 1.0).abs() < 1e-14);
    let lowest = energies(&hot, &Boltzmann::all_states(d).unwrap())
        .iter()
        .enumerate()
        .fold(
            (0, f64::INFINITY),
            |best, (i, &e)| if e < best.1 { (i, e) } else { best },
        )
        .0;
    assert!(p.data()[lowest] > 0.999);
}

#[test]
fn boltzmann_all_states_enumerates_every_bit_pattern_once() {
    let d = 5;
    let s = Boltzmann::<f32>::all_states(d).unwrap();
    assert_eq!(s.shape(), &[32, 5]);
    let mut seen = [false; 32];
    for r in 0..32 {
        let code = s.row(r).iter().fold(0usize, |acc, &bit| {
            assert!(bit == 0.0 || bit == 1.0);
            2 * acc + bit as usize
        });
        assert_eq!(code, r, "row r is the binary expansion of r");
        seen[code] = true;
    }
    assert!(seen.iter().all(|&s| s));
    assert!(matches!(
        Boltzmann::<f64>::all_states(21),
        Err(Error::InvalidData(_))
    ));
}

#[test]
fn boltzmann_from_parts_round_trips_and_rejects_bad_couplings() {
    let w = matrix(&[&[0.0, 1.5], &[1.5, 0.0]]);
    let b = Tensor::vector(&[0.5, -0.5]);
    let m = Boltzmann::from_parts(&w, &b).unwrap();
    assert_eq!(m.coupling(), w);
    assert_eq!(m.bias(), b);
    assert!(matches!(
        Boltzmann::from_parts(&matrix(&[&[0.0, 1.0], &[2.0, 0.0]]), &b),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        Boltzmann::from_parts(&matrix(&[&[1.0, 0.0], &[0.0, 0.0]]), &b),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        Boltzmann::from_parts(&Tensor::zeros(&[3, 3]), &b),
        Err(Error::Shape(_))
    ));
}

// ------------------------------------------------------------------ linalg

#[test]
fn dense_solvers_solve_random_systems() {
    for seed in 0..10 {
        let n = 1 + seed as usize % 6;
        let a = random_spd(n, 50 + seed);
        let b: Tensor<f64> = normal_tensor(&[n, 2], &mut seeded(seed));
        let l = cholesky(&a).unwrap();
        assert!(l.matmul_t(&l, false, true).max_abs_diff(&a) < 1e-10);
        let x = scoretape::model::linalg::cholesky_solve(&l, &b).unwrap();
        assert!(a.matmul(&x).max_abs_diff(&b) < 1e-9);
        // A general (non-symmetric) matrix through LU.
        let g: Tensor<f64> = normal_tensor(&[n, n], &mut seeded(200 + seed));
        let x = scoretape::model::linalg::lu_solve(&g, &b).unwrap();
        assert!(g.matmul(&x).max_abs_diff(&b) < 1e-8);
        assert!(
            inverse(&g)
                .unwrap()
                .matmul(&g)
                .max_abs_diff(&Tensor::eye(n))
                < 1e-8
        );
    }
    let singular = matrix(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], &[7.0, 8.0, 9.0]]);
    assert!(matches!(inverse(&singular), Err(Error::Numerical(_))));
    assert!(matches!(
        cholesky(&singular.matmul_t(&singular, false, true)),
        Err(Error::Numerical(_))
    ));
}
