//! The provided models against hand-computed values, their parametrisation
//! invariants, and the closed-form score-matching estimator against closed
//! forms and against the engine.

use scoretape::model::linalg::{cholesky, inverse};
use scoretape::model::{
    closed_form_score_matching, Activation, Boltzmann, ClosedFormFit, Energy, LinearExpFamily,
    MlpEnergy, MlpScore, Model, QuadraticEnergy, Score,
};
use scoretape::random::{normal_tensor, seeded, standard_normal};
use scoretape::{batched_hessian_trace, grad, hessian, Error, Tape, Tensor, Var};

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
        let mut model = QuadraticEnergy::<f64>::new(d).unwrap();
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
    let mut model = QuadraticEnergy::<f64>::new(d).unwrap();
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
    let one = tape.input(x.slice(0, 0, 1));
    let h = hessian(model.energy(&params, one).sum(), one)
        .unwrap()
        .value();
    assert!(h.reshape(&[d, d]).max_abs_diff(&p) < 1e-12, "Hessian vs P");
}

#[test]
fn quadratic_parameter_gradient_matches_finite_differences() {
    let d = 3;
    let mut rng = seeded(5);
    let mut model = QuadraticEnergy::<f64>::new(d).unwrap();
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
    let mut model = Boltzmann::<f64>::new(d).unwrap();
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
    let mut model = Boltzmann::<f64>::new(d).unwrap();
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

// ---------------------------------------------------------------- MLP score

fn scores(model: &MlpScore<f64>, x: &Tensor<f64>, sigma: Option<&Tensor<f64>>) -> Tensor<f64> {
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let sigma = sigma.map(|s| tape.constant(s.clone()));
    let s = model.score(&params, tape.input(x.clone()), sigma);
    (*s.value()).clone()
}

#[test]
fn mlp_score_matches_hand_computed_value() {
    // d = 1, conditioned: s(x, σ) = 3·tanh(x + 2 ln σ + 0.5) - 1.
    let layers = vec![
        (matrix(&[&[1.0, 2.0]]), Tensor::vector(&[0.5])),
        (matrix(&[&[3.0]]), Tensor::vector(&[-1.0])),
    ];
    let model = MlpScore::from_layers(layers, Activation::Tanh, true).unwrap();
    assert_eq!((model.dim(), model.depth()), (1, 2));
    let x = matrix(&[&[0.2], &[-1.0]]);
    let sigma = matrix(&[&[(-1.0f64).exp()], &[2.0]]);
    let expected = [
        3.0 * (0.2 - 2.0 + 0.5f64).tanh() - 1.0,
        3.0 * (-1.0 + 2.0 * 2f64.ln() + 0.5).tanh() - 1.0,
    ];
    assert_close(
        scores(&model, &x, Some(&sigma)).data(),
        &expected,
        1e-14,
        "s",
    );
}

#[test]
fn mlp_score_shapes_and_sigma_conditioning() {
    let (b, d) = (7, 3);
    let x: Tensor<f64> = normal_tensor(&[b, d], &mut seeded(1));
    let small = Tensor::full(&[b, 1], 0.1);
    let large = Tensor::full(&[b, 1], 1.0);

    let conditioned = MlpScore::<f64>::new(d, &[16, 16], Activation::Softplus, true, 9).unwrap();
    assert_eq!(conditioned.params().values()[0].shape(), &[16, d + 1]);
    let s_small = scores(&conditioned, &x, Some(&small));
    let s_large = scores(&conditioned, &x, Some(&large));
    assert_eq!(s_small.shape(), &[b, d]);
    assert!(
        s_small.max_abs_diff(&s_large) > 1e-3,
        "σ must change the output"
    );

    let plain = MlpScore::<f64>::new(d, &[16], Activation::Silu, false, 9).unwrap();
    assert_eq!(plain.params().values()[0].shape(), &[16, d]);
    let s = scores(&plain, &x, None);
    assert_eq!(s.shape(), &[b, d]);
    // An unconditioned network ignores σ.
    assert_eq!(scores(&plain, &x, Some(&small)), s);
    // Per-sample: sample b's score does not depend on other samples.
    let first = scores(&plain, &x.slice(0, 0, 1), None);
    assert!(first.max_abs_diff(&s.slice(0, 0, 1)) < 1e-15);
}

#[test]
fn mlp_score_from_layers_rejects_mismatched_layers() {
    let w = || matrix(&[&[1.0, 0.0], &[0.0, 1.0]]);
    let b = || Tensor::vector(&[0.0, 0.0]);
    assert!(MlpScore::from_layers(vec![(w(), b())], Activation::Tanh, false).is_ok());
    // d = 2 outputs conditioned on σ need 3 inputs.
    assert!(matches!(
        MlpScore::from_layers(vec![(w(), b())], Activation::Tanh, true),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        MlpScore::<f64>::from_layers(vec![], Activation::Tanh, false),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        MlpScore::<f64>::new(0, &[4], Activation::Tanh, false, 0),
        Err(Error::InvalidData(_))
    ));
}

#[test]
fn seeded_initialisation_is_bit_identical_and_documented() {
    let a = MlpScore::<f64>::new(3, &[5], Activation::Elu, true, 77).unwrap();
    let b = MlpScore::<f64>::new(3, &[5], Activation::Elu, true, 77).unwrap();
    let c = MlpScore::<f64>::new(3, &[5], Activation::Elu, true, 78).unwrap();
    for (x, y) in a.params().values().iter().zip(b.params().values()) {
        let bits = |t: &Tensor<f64>| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(x), bits(y));
    }
    assert_ne!(a, c);
    // The documented scheme: weights N(0, 1/fan_in) drawn layer by layer, row
    // by row, from the seeded generator; biases zero.
    let mut rng = seeded(77);
    for (i, (fan_in, fan_out)) in [(4usize, 5usize), (5, 3)].into_iter().enumerate() {
        let expected: Vec<f64> = (0..fan_in * fan_out)
            .map(|_| (1.0 / (fan_in as f64).sqrt()) * standard_normal(&mut rng))
            .collect();
        assert_eq!(a.params().names()[2 * i], format!("layers.{i}.weight"));
        assert_eq!(a.params().values()[2 * i].data(), &expected[..]);
        assert_eq!(a.params().values()[2 * i + 1], Tensor::zeros(&[fan_out]));
    }
    // The MLP energy shares the scheme (its init was factored out for reuse).
    let energy = MlpEnergy::<f64>::new(4, &[5], Activation::Elu, 77).unwrap();
    assert_eq!(energy.params().values()[0], a.params().values()[0]);
}

// ------------------------------------------------- linear exponential family

/// Non-linear features on two dimensions, mixing them:
/// `T(x) = (x₀, x₁, x₀²/2, x₀x₁, sin x₁, tanh(x₀ + x₁))`.
fn mixed_features() -> LinearExpFamily<f64> {
    LinearExpFamily::new(2, 6, |x: Var<'_, f64>| {
        let x0 = x.slice(1, 0, 1);
        let x1 = x.slice(1, 1, 2);
        Var::concat(
            &[
                x0,
                x1,
                x0.square() * 0.5,
                x0 * x1,
                x1.sin(),
                (x0 + x1).tanh(),
            ],
            1,
        )
    })
    .unwrap()
}

/// `T(x) = (x, x²/2)` in one dimension: `θ = (-μ/σ², 1/σ²)` for `N(μ, σ²)`.
fn gaussian_features_1d() -> LinearExpFamily<f64> {
    LinearExpFamily::new(1, 2, |x: Var<'_, f64>| {
        Var::concat(&[x, x.square() * 0.5], 1)
    })
    .unwrap()
}

fn gaussian_sample_1d(n: usize, mean: f64, sd: f64, seed: u64) -> Tensor<f64> {
    let mut rng = seeded(seed);
    Tensor::from_fn(&[n, 1], |_| mean + sd * standard_normal(&mut rng))
}

#[test]
fn linear_exp_family_energy_matches_hand_computed_value() {
    let mut model = mixed_features();
    model
        .set_theta(Tensor::vector(&[1.0, -2.0, 0.5, 3.0, 1.5, -1.0]))
        .unwrap();
    let x = matrix(&[&[0.3, -0.4], &[0.0, 0.0]]);
    let t = |a: f64, b: f64| {
        1.0 * a - 2.0 * b + 0.5 * a * a / 2.0 + 3.0 * a * b + 1.5 * b.sin() - (a + b).tanh()
    };
    assert_close(&energies(&model, &x), &[t(0.3, -0.4), 0.0], 1e-15, "E");
    assert!(matches!(
        LinearExpFamily::<f64>::new(2, 5, |x: Var<'_, f64>| x),
        Err(Error::Shape(_))
    ));
}

/// Each fitted θ̂_j lies within 4 reported standard errors of the truth.
fn assert_within_standard_errors(fit: &ClosedFormFit<f64>, truth: &[f64]) {
    let estimates = fit.theta.data().iter().zip(fit.standard_errors.data());
    for (j, ((estimate, se), truth)) in estimates.zip(truth).enumerate() {
        let z = (estimate - truth) / se;
        assert!(
            z.abs() < 4.0,
            "θ̂[{j}] is {z} standard errors from the truth"
        );
    }
}

#[test]
fn closed_form_equals_gaussian_mle_in_one_dimension() {
    let (mu, sd) = (1.5, 0.7);
    let data = gaussian_sample_1d(2000, mu, sd, 21);
    let fit = closed_form_score_matching(&gaussian_features_1d(), &data, None).unwrap();
    // For a Gaussian, exact SM is the MLE: θ̂ = (-x̄/s², 1/s²), s² the 1/N variance.
    let mean = data.mean();
    let var = data.data().iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2000.0;
    assert_close(
        fit.theta.data(),
        &[-mean / var, 1.0 / var],
        1e-10,
        "θ̂ vs MLE",
    );
    // And within statistical tolerance of the truth.
    let truth = [-mu / (sd * sd), 1.0 / (sd * sd)];
    assert_within_standard_errors(&fit, &truth);
    // A = [[1, x̄], [x̄, mean x²]], b = (0, 1) by hand.
    let m2 = data.data().iter().map(|x| x * x).sum::<f64>() / 2000.0;
    assert_close(fit.a.data(), &[1.0, mean, mean, m2], 1e-12, "A");
    assert_close(fit.b.data(), &[0.0, 1.0], 1e-12, "b");
}

#[test]
fn closed_form_recovers_a_correlated_gaussian_in_two_dimensions() {
    // N(μ, Σ) with E = ½xᵀPx - (Pμ)ᵀx + const: with features
    // (x₀, x₁, x₀²/2, x₁²/2, x₀x₁), θ = (-(Pμ)₀, -(Pμ)₁, P₀₀, P₁₁, P₀₁).
    let model = LinearExpFamily::<f64>::new(2, 5, |x: Var<'_, f64>| {
        let x0 = x.slice(1, 0, 1);
        let x1 = x.slice(1, 1, 2);
        Var::concat(&[x0, x1, x0.square() * 0.5, x1.square() * 0.5, x0 * x1], 1)
    })
    .unwrap();
    let (mu, chol) = ([1.0, -2.0], [[1.0, 0.0], [0.6, 0.8]]); // Σ = C Cᵀ
    let n = 4000;
    let mut rng = seeded(4);
    let data = Tensor::from_fn(&[n, 2], |_| standard_normal(&mut rng));
    let data = Tensor::from_fn(&[n, 2], |k| {
        let (s, i) = (k / 2, k % 2);
        mu[i] + chol[i][0] * data.get(&[s, 0]) + chol[i][1] * data.get(&[s, 1])
    });
    let fit = closed_form_score_matching(&model, &data, None).unwrap();
    let theta_of = |mean: &[f64], p: &Tensor<f64>| {
        let pm = p.matmul(&Tensor::from_vec(&[2, 1], mean.to_vec()).unwrap());
        vec![
            -pm.data()[0],
            -pm.data()[1],
            p.get(&[0, 0]),
            p.get(&[1, 1]),
            p.get(&[0, 1]),
        ]
    };
    // Exactly the sample MLE: μ̂ = x̄, P̂ = Σ̂⁻¹ (1/N covariance).
    let xbar = data.sum_axis(0).map(|v| v / n as f64);
    let centred = data.zip_map(&xbar, |a, m| a - m);
    let cov = centred
        .matmul_t(&centred, true, false)
        .map(|v| v / n as f64);
    let mle = theta_of(xbar.data(), &inverse(&cov).unwrap());
    assert_close(fit.theta.data(), &mle, 1e-9, "θ̂ vs MLE");
    // Within statistical tolerance of the truth.
    let sigma = matrix(&[&[1.0, 0.6], &[0.6, 1.0]]);
    let truth = theta_of(&mu, &inverse(&sigma).unwrap());
    assert_within_standard_errors(&fit, &truth);
}

/// Exact SM's loss `mean_n(-tr H + ½‖∇x E‖²)` of the model at θ, by the engine.
fn engine_esm_loss(
    model: &LinearExpFamily<f64>,
    theta: &Tensor<f64>,
    data: &Tensor<f64>,
    weights: Option<&[f64]>,
) -> f64 {
    let tape = Tape::new();
    let params = vec![tape.input(theta.clone())];
    let x = tape.input(data.clone());
    let e = model.energy(&params, x).sum();
    let g = grad(e, &[x]).unwrap()[0];
    let trace = batched_hessian_trace(e, x).unwrap();
    let per_sample = (g.square().sum_axis(1) * 0.5 - trace).to_vec();
    match weights {
        None => per_sample.iter().sum::<f64>() / per_sample.len() as f64,
        Some(w) => {
            let total: f64 = w.iter().sum();
            per_sample.iter().zip(w).map(|(l, w)| l * w).sum::<f64>() / total
        }
    }
}

#[test]
fn closed_form_quadratic_equals_the_engines_exact_sm_loss() {
    let model = mixed_features();
    let mut rng = seeded(12);
    let data: Tensor<f64> = normal_tensor(&[300, 2], &mut rng);
    let weights: Vec<f64> = (0..300).map(|i| 0.5 + (i % 7) as f64).collect();
    let weight_tensor = Tensor::vector(&weights);
    for (w, wt) in [(None, None), (Some(&weights[..]), Some(&weight_tensor))] {
        let fit = closed_form_score_matching(&model, &data, wt).unwrap();
        let quadratic = |theta: &Tensor<f64>| {
            let at = fit.a.matmul(&theta.reshape(&[6, 1])).reshape(&[6]);
            0.5 * theta.dot(&at) - fit.b.dot(theta)
        };
        for _ in 0..5 {
            let theta: Tensor<f64> = normal_tensor(&[6], &mut rng);
            let engine = engine_esm_loss(&model, &theta, &data, w);
            assert!(
                (engine - quadratic(&theta)).abs() < 1e-10 * (1.0 + engine.abs()),
                "engine {engine} vs ½θᵀAθ - bᵀθ {}",
                quadratic(&theta)
            );
        }
        // θ̂ is the minimiser: the loss there is J(θ̂) and any step raises it.
        let at_fit = engine_esm_loss(&model, &fit.theta, &data, w);
        assert!((at_fit - fit.loss).abs() < 1e-10 * (1.0 + at_fit.abs()));
        for j in 0..6 {
            let mut nudged = fit.theta.clone();
            nudged.data_mut()[j] += 1e-3;
            assert!(engine_esm_loss(&model, &nudged, &data, w) > at_fit);
        }
    }
}

#[test]
fn closed_form_weights_act_like_repeated_samples() {
    let model = gaussian_features_1d();
    let data = gaussian_sample_1d(50, 0.0, 2.0, 3);
    let counts: Vec<usize> = (0..50).map(|i| 1 + i % 4).collect();
    let repeated: Vec<f64> = counts
        .iter()
        .enumerate()
        .flat_map(|(i, &c)| std::iter::repeat_n(data.data()[i], c))
        .collect();
    let repeated = Tensor::from_vec(&[repeated.len(), 1], repeated).unwrap();
    let weights = Tensor::vector(&counts.iter().map(|&c| c as f64).collect::<Vec<_>>());
    let weighted = closed_form_score_matching(&model, &data, Some(&weights)).unwrap();
    let plain = closed_form_score_matching(&model, &repeated, None).unwrap();
    assert!(weighted.theta.max_abs_diff(&plain.theta) < 1e-12);
    assert!(weighted.a.max_abs_diff(&plain.a) < 1e-12);
    assert!(weighted.b.max_abs_diff(&plain.b) < 1e-12);
}

#[test]
fn closed_form_standard_errors_shrink_like_root_n_and_match_the_spread() {
    let model = gaussian_features_1d();
    let (mu, sd) = (-0.5, 1.3);
    // Quadrupling N halves the standard errors.
    let se = |n: usize| {
        closed_form_score_matching(&model, &gaussian_sample_1d(n, mu, sd, 99), None)
            .unwrap()
            .standard_errors
    };
    let (small, large) = (se(1000), se(4000));
    for j in 0..2 {
        let ratio = small.data()[j] / large.data()[j];
        assert!((ratio - 2.0).abs() < 0.2, "se ratio for θ[{j}] is {ratio}");
    }
    // Over repeated seeded datasets, the spread of θ̂ matches the reported errors.
    let (n, repeats) = (400, 300);
    let fits: Vec<_> = (0..repeats)
        .map(|r| {
            closed_form_score_matching(&model, &gaussian_sample_1d(n, mu, sd, 1000 + r), None)
                .unwrap()
        })
        .collect();
    for j in 0..2 {
        let estimates: Vec<f64> = fits.iter().map(|f| f.theta.data()[j]).collect();
        let mean = estimates.iter().sum::<f64>() / repeats as f64;
        let spread = (estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>()
            / (repeats - 1) as f64)
            .sqrt();
        let reported = fits
            .iter()
            .map(|f| f.standard_errors.data()[j])
            .sum::<f64>()
            / repeats as f64;
        assert!(
            (reported / spread - 1.0).abs() < 0.15,
            "θ[{j}]: reported se {reported} vs empirical spread {spread}"
        );
    }
}

#[test]
fn closed_form_reports_bad_input_as_errors() {
    let model = gaussian_features_1d();
    let data = gaussian_sample_1d(10, 0.0, 1.0, 0);
    let fit = |d: &Tensor<f64>, w: Option<&Tensor<f64>>| closed_form_score_matching(&model, d, w);
    assert!(matches!(
        fit(&Tensor::zeros(&[10, 2]), None),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        fit(&Tensor::zeros(&[0, 1]), None),
        Err(Error::Shape(_))
    ));
    let mut nan = data.clone();
    nan.data_mut()[3] = f64::NAN;
    assert!(matches!(fit(&nan, None), Err(Error::InvalidData(_))));
    assert!(matches!(
        fit(&data, Some(&Tensor::ones(&[9]))),
        Err(Error::Shape(_))
    ));
    let mut negative = Tensor::ones(&[10]);
    negative.data_mut()[0] = -1.0;
    assert!(matches!(
        fit(&data, Some(&negative)),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        fit(&data, Some(&Tensor::zeros(&[10]))),
        Err(Error::InvalidData(_))
    ));
    // One distinct point: J_T = (1, x) is the same for every sample, A has rank 1.
    assert!(matches!(
        fit(&Tensor::full(&[10, 1], 0.5), None),
        Err(Error::Numerical(_))
    ));
}

#[test]
fn the_quadratic_closed_form_is_the_gaussian_mle_and_score_matchings_minimiser() {
    // Correlated 3-D data.
    let e: Tensor<f64> = normal_tensor(&[300, 3], &mut seeded(21));
    let x = Tensor::from_fn(&[300, 3], |k| {
        let r = &e.data()[k / 3 * 3..k / 3 * 3 + 3];
        match k % 3 {
            0 => 5.0 + 2.0 * r[0],
            1 => -1.0 + r[0] + 0.5 * r[1],
            _ => 0.2 * r[2] - 0.3 * r[1],
        }
    });
    let model = QuadraticEnergy::<f64>::fit_closed_form(&x).unwrap();
    // The MLE, computed here directly: mean and (divisor n) covariance.
    let n = 300.0;
    let mean = x.sum_axis(0).map(|v| v / n);
    let c = x.zip_map(&mean, |a, b| a - b);
    let cov = c.matmul_t(&c, true, false).map(|v| v / n);
    assert!(model.mean().max_abs_diff(&mean) < 1e-12);
    assert!(model.precision().matmul(&cov).max_abs_diff(&Tensor::eye(3)) < 1e-10);
    // Exact score matching's gradient in the parameters vanishes there:
    // J = mean_b ½‖∇E(x_b)‖² − tr H, with ∇E = P(x − μ) and H = P.
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let xv = tape.input(x.clone());
    let energy = model.energy(&params, xv);
    let g = grad(energy.sum(), &[xv]).unwrap()[0];
    let trace = batched_hessian_trace(energy.sum(), xv).unwrap();
    let loss = (g.square().sum_axis(1) * 0.5 - trace).mean();
    for p in grad(loss, &params).unwrap() {
        assert!(
            p.value().data().iter().all(|v| v.abs() < 1e-9),
            "{:?}",
            p.value()
        );
    }
    // Singular data are refused.
    let flat = Tensor::from_rows(&[vec![1.0, 2.0], vec![2.0, 4.0], vec![3.0, 6.0]]).unwrap();
    assert!(QuadraticEnergy::<f64>::fit_closed_form(&flat).is_err());
}

#[test]
fn the_quadratic_closed_form_matches_the_exponential_family_estimator_in_1d() {
    let x = Tensor::from_vec(&[5, 1], vec![0.5, 1.5, 2.0, 4.0, -1.0]).unwrap();
    let family = LinearExpFamily::<f64>::new(1, 2, |x: Var<'_, f64>| {
        Var::concat(&[x, x.square() * 0.5], 1)
    })
    .unwrap();
    // E = θᵀT(x) = θ₁x + θ₂x²/2 is ½P(x − μ)² + const with P = θ₂, μ = −θ₁/θ₂.
    let theta = closed_form_score_matching(&family, &x, None).unwrap().theta;
    let (t1, t2) = (theta.data()[0], theta.data()[1]);
    let model = QuadraticEnergy::<f64>::fit_closed_form(&x).unwrap();
    assert!((model.precision().item() - t2).abs() < 1e-12);
    assert!((model.mean().item() - (-t1 / t2)).abs() < 1e-12);
}
