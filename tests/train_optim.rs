//! Optimisers, clipping and schedules against hand-computed values and known
//! minimisers.

use scoretape::model::Params;
use scoretape::optim::{clip_global_norm, global_norm, Adam, Optimizer, Schedule, Sgd};
use scoretape::random::{normal_tensor, seeded};
use scoretape::{Error, Tensor};

fn params_of(values: &[(&str, Tensor<f64>)]) -> Params<f64> {
    let mut p = Params::new();
    for (name, v) in values {
        p.push(*name, v.clone());
    }
    p
}

/// f(w) = ½wᵀAw - bᵀw with A SPD: ∇f = Aw - b, minimiser A⁻¹b.
fn quadratic_gradient(w: &Tensor<f64>) -> Tensor<f64> {
    let a = Tensor::from_rows(&[
        vec![3.0, 1.0, 0.0],
        vec![1.0, 2.0, 0.5],
        vec![0.0, 0.5, 1.0],
    ])
    .unwrap();
    let b = Tensor::vector(&[1.0, -2.0, 0.5]);
    a.matmul(&w.reshape(&[3, 1]))
        .reshape(&[3])
        .zip_map(&b, |x, y| x - y)
}

/// A⁻¹b for the quadratic above, by Cramer's rule (det A = 17/4).
fn quadratic_minimiser() -> Tensor<f64> {
    // Check by substitution rather than trusting arithmetic: A·w* = b.
    let w = Tensor::vector(&[16.0 / 17.0, -31.0 / 17.0, 24.0 / 17.0]);
    assert!(quadratic_gradient(&w)
        .data()
        .iter()
        .all(|g| g.abs() < 1e-12));
    w
}

fn minimise(optimizer: &mut dyn Optimizer<f64>, lr: f64, steps: usize) -> Tensor<f64> {
    let mut p = params_of(&[("w", Tensor::zeros(&[3]))]);
    for _ in 0..steps {
        let g = quadratic_gradient(&p.values()[0]);
        optimizer.step(&mut p, &[g], lr).unwrap();
    }
    p.values()[0].clone()
}

#[test]
fn sgd_minimises_a_quadratic() {
    let w = minimise(&mut Sgd::new(0.3, 0.0), 0.3, 500);
    assert!(w.max_abs_diff(&quadratic_minimiser()) < 1e-10);
}

#[test]
fn sgd_with_momentum_minimises_a_quadratic() {
    let w = minimise(&mut Sgd::new(0.1, 0.8), 0.1, 500);
    assert!(w.max_abs_diff(&quadratic_minimiser()) < 1e-10);
}

#[test]
fn adam_minimises_a_quadratic() {
    // Adam's steps stay of size ~lr near the optimum unless lr decays, so decay it.
    let mut adam = Adam::new(0.05);
    let mut p = params_of(&[("w", Tensor::zeros(&[3]))]);
    let schedule = Schedule::Cosine {
        total_steps: 3000,
        min_lr: 0.0,
    };
    for t in 0..3000 {
        let g = quadratic_gradient(&p.values()[0]);
        adam.step(&mut p, &[g], schedule.lr(0.05, t)).unwrap();
    }
    assert!(p.values()[0].max_abs_diff(&quadratic_minimiser()) < 1e-5);
}

#[test]
fn momentum_matches_hand_computed_steps() {
    // f(w) = w², ∇f = 2w, lr 0.1, μ 0.9, w₀ = 1:
    // v₁ = 2,                w₁ = 1 - 0.2 = 0.8
    // v₂ = 0.9·2 + 1.6 = 3.4, w₂ = 0.8 - 0.34 = 0.46
    // v₃ = 3.06 + 0.92 = 3.98, w₃ = 0.46 - 0.398 = 0.062
    let mut p = params_of(&[("w", Tensor::scalar(1.0))]);
    let mut sgd = Sgd::new(0.1, 0.9);
    let mut ws = Vec::new();
    for _ in 0..3 {
        let g = p.values()[0].map(|w| 2.0 * w);
        sgd.step(&mut p, &[g], 0.1).unwrap();
        ws.push(p.values()[0].item());
    }
    for (got, want) in ws.iter().zip([0.8, 0.46, 0.062]) {
        assert!((got - want).abs() < 1e-15, "{ws:?}");
    }
    assert_eq!(sgd.state().steps, 3);
    assert!((sgd.state().buffers[0].item() - 3.98).abs() < 1e-14);
}

#[test]
fn adam_matches_its_formula_step_by_step() {
    let (lr, b1, b2, eps) = (0.01, 0.8, 0.9, 1e-6);
    let grads = [0.5, -2.0, 1.5];
    let mut p = params_of(&[("w", Tensor::scalar(0.3))]);
    let mut adam = Adam::with_hyperparameters(lr, b1, b2, eps);
    let (mut w, mut m, mut v) = (0.3f64, 0.0f64, 0.0f64);
    for (t, g) in grads.iter().enumerate() {
        adam.step(&mut p, &[Tensor::scalar(*g)], lr).unwrap();
        m = b1 * m + (1.0 - b1) * g;
        v = b2 * v + (1.0 - b2) * g * g;
        let k = (t + 1) as i32;
        let m_hat = m / (1.0 - b1.powi(k));
        let v_hat = v / (1.0 - b2.powi(k));
        w -= lr * m_hat / (v_hat.sqrt() + eps);
        assert!((p.values()[0].item() - w).abs() < 1e-15);
    }
}

#[test]
fn exported_state_resumes_adam_bit_identically() {
    let run = |split: Option<usize>| {
        let mut p = params_of(&[("w", Tensor::zeros(&[3]))]);
        let mut adam = Adam::new(0.05);
        for t in 0..40 {
            if Some(t) == split {
                let saved = adam.state();
                adam = Adam::new(0.05);
                adam.load_state(saved).unwrap();
            }
            let g = quadratic_gradient(&p.values()[0]);
            adam.step(&mut p, &[g], 0.05).unwrap();
        }
        p
    };
    assert_eq!(run(None), run(Some(17)));
}

#[test]
fn mismatched_gradients_are_errors_and_change_nothing() {
    let mut p = params_of(&[("w", Tensor::zeros(&[3])), ("b", Tensor::scalar(1.0))]);
    let before = p.clone();
    let mut adam = Adam::new(0.1);
    let wrong_count = adam.step(&mut p, &[Tensor::zeros(&[3])], 0.1);
    assert!(matches!(wrong_count, Err(Error::Shape(_))));
    let wrong_shape = adam.step(&mut p, &[Tensor::zeros(&[2]), Tensor::scalar(1.0)], 0.1);
    assert!(matches!(wrong_shape, Err(Error::Shape(_))));
    assert_eq!(p, before);
    assert_eq!(adam.state().steps, 0);
    let mut bad = Sgd::new(0.1, 1.5);
    let g = [Tensor::zeros(&[3]), Tensor::scalar(1.0)];
    assert!(matches!(
        bad.step(&mut p, &g, 0.1),
        Err(Error::InvalidData(_))
    ));
    let mut sgd = Sgd::new(0.1, 0.5);
    assert!(matches!(
        sgd.step(&mut p, &g, f64::NAN),
        Err(Error::InvalidData(_))
    ));
    assert!(Adam::new(0.1)
        .load_state(scoretape::optim::OptimizerState {
            steps: 1,
            buffers: vec![Tensor::zeros(&[3])],
        })
        .is_err());
}

#[test]
fn clipping_caps_the_global_norm_exactly_and_keeps_the_direction() {
    let mut rng = seeded(11);
    let original: Vec<Tensor<f64>> = vec![
        normal_tensor(&[4, 3], &mut rng),
        normal_tensor(&[3], &mut rng),
        normal_tensor(&[], &mut rng),
    ];
    let norm = global_norm(&original);
    let direct: f64 = original
        .iter()
        .flat_map(|t| t.data())
        .map(|v| v * v)
        .sum::<f64>()
        .sqrt();
    assert!((norm - direct).abs() < 1e-14);

    let max = norm / 3.0;
    let mut clipped = original.clone();
    assert_eq!(clip_global_norm(&mut clipped, max), norm);
    assert!((global_norm(&clipped) - max).abs() < 1e-14 * max);
    for (c, o) in clipped.iter().zip(&original) {
        for (a, b) in c.data().iter().zip(o.data()) {
            assert!((a * 3.0 - b).abs() < 1e-13);
        }
    }

    let mut untouched = original.clone();
    clip_global_norm(&mut untouched, norm * 1.01);
    assert_eq!(untouched, original);
}

#[test]
fn schedules_at_specific_steps() {
    let cosine = Schedule::Cosine {
        total_steps: 100,
        min_lr: 0.01,
    };
    let base = 0.1f64;
    let expect = |t: f64| 0.01 + 0.09 * 0.5 * (1.0 + (std::f64::consts::PI * t / 100.0).cos());
    for t in [0u64, 1, 25, 50, 75, 99, 100] {
        assert!(
            (cosine.lr(base, t) - expect(t as f64)).abs() < 1e-15,
            "t = {t}"
        );
    }
    assert!((cosine.lr(base, 25) - (0.01 + 0.045 * (1.0 + 0.5f64.sqrt()))).abs() < 1e-15);
    assert!((cosine.lr(base, 50) - 0.055).abs() < 1e-15);
    assert_eq!(cosine.lr(base, 100), cosine.lr(base, 10_000));

    let step = Schedule::Step {
        every: 30,
        factor: 0.1,
    };
    assert_eq!(step.lr(base, 0), 0.1);
    assert_eq!(step.lr(base, 29), 0.1);
    assert!((step.lr(base, 30) - 0.01).abs() < 1e-17);
    assert!((step.lr(base, 89) - 0.001).abs() < 1e-17);
    assert!((step.lr(base, 90) - 0.0001).abs() < 1e-18);

    assert_eq!(Schedule::Constant.lr(base, 123_456), base);
    assert!(Schedule::Cosine {
        total_steps: 0,
        min_lr: 0.0
    }
    .validate()
    .is_err());
    assert!(Schedule::Step {
        every: 5,
        factor: -1.0
    }
    .validate()
    .is_err());
}
