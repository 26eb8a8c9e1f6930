//! The fitting loop: exact resumption, failure on non-finite values with the
//! last good parameters kept, early stopping, bounded tape, budgets and
//! events, and an end-to-end fit against the Gaussian oracle.

use core::cell::{Cell, RefCell};
use core::ops::ControlFlow;
use scoretape::model::{Energy, Model, Params, QuadraticEnergy};
use scoretape::objective::exact_score_matching;
use scoretape::optim::{Adam, Schedule, Sgd};
use scoretape::random::{normal_tensor, seeded, Rng64};
use scoretape::train::{fit, resume, Budget, Event, FitConfig, FitState, StopReason};
use scoretape::{Error, Tape, Tensor, Var};

/// A two-parameter model x ↦ (a ⊙ x + b), with a loss that draws noise from
/// the step's generator: mean ½‖a ⊙ (x + 0.3ε) + b - 1‖², ε ~ N(0, I).
fn noisy_loss<'t>(
    tape: &'t Tape<f64>,
    p: &[Var<'t, f64>],
    batch: &Tensor<f64>,
    rng: &mut Rng64,
) -> Result<Var<'t, f64>, Error> {
    let eps: Tensor<f64> = normal_tensor(batch.shape(), rng);
    let noisy = tape.constant(batch.zip_map(&eps, |x, e| x + 0.3 * e));
    let residual = (noisy * p[0] + p[1]).affine(1.0, -1.0);
    Ok(residual.square().sum_axis(1).mean() * 0.5)
}

fn start_params() -> Params<f64> {
    let mut p = Params::new();
    p.push("a", Tensor::vector(&[0.5, -0.2, 1.0]));
    p.push("b", Tensor::vector(&[0.0, 0.1, 0.0]));
    p
}

fn data() -> Tensor<f64> {
    normal_tensor(&[53, 3], &mut seeded(5))
}

fn config(budget: Budget) -> FitConfig<f64> {
    FitConfig {
        batch_size: 8,
        budget,
        validation_fraction: 0.2,
        patience: Some(1000),
        schedule: Schedule::Cosine {
            total_steps: 60,
            min_lr: 1e-3,
        },
        clip_norm: Some(0.5),
        seed: 42,
        threads: None,
    }
}

fn go(_: Event<f64>) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

#[test]
fn resumed_fit_ends_at_bit_identical_parameters() {
    // 43 training rows in batches of 8: 6 updates per epoch; split the run
    // mid-epoch (at 23) and at an epoch boundary (at 30).
    let mut straight = start_params();
    let full = fit(
        &mut straight,
        &mut Adam::new(0.05),
        &data(),
        &config(Budget::Steps(60)),
        noisy_loss,
        go,
    )
    .unwrap();
    assert_eq!(full.stop, StopReason::Budget);
    assert_ne!(straight, start_params());

    for split in [23, 30] {
        let mut halves = start_params();
        let first = fit(
            &mut halves,
            &mut Adam::new(0.05),
            &data(),
            &config(Budget::Steps(split)),
            noisy_loss,
            go,
        )
        .unwrap();
        assert_eq!(first.state.step, split);
        // A fresh optimiser: everything it needs comes from the saved state.
        let second = resume(
            &mut halves,
            &mut Adam::new(0.05),
            &data(),
            &config(Budget::Steps(60)),
            first.state,
            noisy_loss,
            go,
        )
        .unwrap();
        assert_eq!(halves, straight, "split at {split}");
        assert_eq!(second.state, full.state, "split at {split}");
    }
}

#[test]
fn stopping_from_the_callback_leaves_a_resumable_state() {
    let mut straight = start_params();
    fit(
        &mut straight,
        &mut Sgd::new(0.05, 0.9),
        &data(),
        &config(Budget::Epochs(5)),
        noisy_loss,
        go,
    )
    .unwrap();

    let mut interrupted = start_params();
    let stopped = fit(
        &mut interrupted,
        &mut Sgd::new(0.05, 0.9),
        &data(),
        &config(Budget::Epochs(5)),
        noisy_loss,
        |event| match event {
            Event::Step(s) if s.step == 13 => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        },
    )
    .unwrap();
    assert_eq!(stopped.stop, StopReason::Callback);
    assert_eq!(stopped.state.step, 13);
    resume(
        &mut interrupted,
        &mut Sgd::new(0.05, 0.9),
        &data(),
        &config(Budget::Epochs(5)),
        stopped.state,
        noisy_loss,
        go,
    )
    .unwrap();
    assert_eq!(interrupted, straight);
}

/// A loss that becomes non-finite at call `bad_call` (0-based), either in its
/// value or only in its gradient.
#[allow(clippy::type_complexity)]
fn failing_at<'a>(
    bad_call: usize,
    gradient_only: bool,
    calls: &'a Cell<usize>,
) -> impl for<'t> FnMut(
    &'t Tape<f64>,
    &[Var<'t, f64>],
    &Tensor<f64>,
    &mut Rng64,
) -> Result<Var<'t, f64>, Error>
       + 'a {
    move |tape, p, batch, rng| {
        let k = calls.get();
        calls.set(k + 1);
        let loss = noisy_loss(tape, p, batch, rng)?;
        if k != bad_call {
            Ok(loss)
        } else if gradient_only {
            // √(a - a) = 0, but its derivative 1/(2√0) is infinite.
            Ok(loss + (p[0] - p[0].detach()).sqrt().sum())
        } else {
            Ok(loss * f64::NAN)
        }
    }
}

#[test]
fn non_finite_loss_or_gradient_stops_with_the_last_good_parameters() {
    let no_validation = FitConfig {
        validation_fraction: 0.0,
        patience: None,
        ..config(Budget::Steps(20))
    };
    let mut reference = start_params();
    fit(
        &mut reference,
        &mut Adam::new(0.05),
        &data(),
        &FitConfig {
            budget: Budget::Steps(7),
            ..no_validation.clone()
        },
        noisy_loss,
        go,
    )
    .unwrap();

    for gradient_only in [false, true] {
        let calls = Cell::new(0);
        let mut params = start_params();
        let result = fit(
            &mut params,
            &mut Adam::new(0.05),
            &data(),
            &no_validation,
            failing_at(7, gradient_only, &calls),
            go,
        );
        match result {
            Err(e @ Error::Diverged { update: 8, .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("update 8"), "{msg}");
                let what = if gradient_only { "gradient" } else { "loss" };
                assert!(msg.contains(what), "{msg}");
            }
            other => panic!("expected a numerical error, got {other:?}"),
        }
        assert_eq!(params, reference, "gradient_only = {gradient_only}");
    }
}

#[test]
fn early_stopping_after_patience_epochs_without_improvement() {
    // Loss μ² with SGD at lr 1: μ ← μ - 2μ = -μ, so the validation loss stays
    // at its first value and never improves again.
    fn square<'t>(
        _tape: &'t Tape<f64>,
        p: &[Var<'t, f64>],
        _batch: &Tensor<f64>,
        _rng: &mut Rng64,
    ) -> Result<Var<'t, f64>, Error> {
        Ok(p[0].square().sum())
    }
    let mut params = Params::new();
    params.push("mu", Tensor::vector(&[0.75]));
    let patience = 3;
    let config = FitConfig {
        batch_size: 10,
        budget: Budget::Epochs(100),
        validation_fraction: 0.5,
        patience: Some(patience),
        ..FitConfig::default()
    };
    let data = Tensor::<f64>::zeros(&[40, 1]);
    let mut epochs = Vec::new();
    let outcome = fit(
        &mut params,
        &mut Sgd::new(1.0, 0.0),
        &data,
        &config,
        square,
        |event| {
            if let Event::Epoch(e) = event {
                epochs.push(e);
            }
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    assert_eq!(outcome.stop, StopReason::EarlyStopping);
    assert_eq!(epochs.len() as u64, patience + 1);
    assert!(epochs[0].improved);
    assert!(epochs[1..].iter().all(|e| !e.improved));
    assert!(epochs
        .iter()
        .all(|e| e.validation_loss == Some(0.5625) && e.train_loss == 0.5625));
    // 20 training rows in batches of 10: 2 updates per epoch.
    assert_eq!(outcome.state.step, 2 * (patience + 1));
    assert_eq!(outcome.state.epochs_since_best, patience);

    // Resuming a fit that stopped early does nothing more.
    let again = resume(
        &mut params,
        &mut Sgd::new(1.0, 0.0),
        &data,
        &config,
        outcome.state.clone(),
        square,
        go,
    )
    .unwrap();
    assert_eq!(again.stop, StopReason::EarlyStopping);
    assert_eq!(again.state, outcome.state);
}

#[test]
fn the_tape_does_not_grow_and_events_follow_the_budget() {
    let lengths = RefCell::new(Vec::new());
    let loss = |tape: &Tape<f64>| lengths.borrow_mut().push(tape.len());
    let steps = Cell::new(0u64);
    let epochs = Cell::new(0u64);
    let mut params = start_params();
    let config = FitConfig {
        budget: Budget::Epochs(4),
        ..config(Budget::Steps(0))
    };
    let outcome = fit(
        &mut params,
        &mut Adam::new(0.01),
        &data(),
        &config,
        |tape, p, batch, rng| {
            loss(tape);
            noisy_loss(tape, p, batch, rng)
        },
        |event| {
            match event {
                Event::Step(s) => {
                    assert_eq!(s.step, steps.get() + 1);
                    assert!(s.loss.is_finite() && s.grad_norm.is_finite());
                    assert!(s.steps_per_second.is_some_and(|r| r > 0.0));
                    steps.set(s.step);
                }
                Event::Epoch(e) => {
                    assert_eq!(e.epoch, epochs.get());
                    assert!(e.validation_loss.is_some());
                    epochs.set(epochs.get() + 1);
                }
            }
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    // round(0.2 · 53) = 11 held out, 42 to train: ⌈42/8⌉ = 6 updates per epoch.
    assert_eq!(outcome.state.step, 24);
    assert_eq!((steps.get(), epochs.get()), (24, 4));
    let lengths = lengths.into_inner();
    // Training and validation calls all start from the same tape length.
    assert!(lengths.len() > 24);
    assert!(lengths.iter().all(|&l| l == lengths[0]), "{lengths:?}");
    assert_eq!(lengths[0], 2); // just the two parameters
}

#[test]
fn bad_data_and_settings_are_errors() {
    let mut params = start_params();
    let run = |data: &Tensor<f64>, config: &FitConfig<f64>, params: &mut Params<f64>| {
        fit(params, &mut Adam::new(0.01), data, config, noisy_loss, go)
    };
    let ok = config(Budget::Steps(3));
    let mut nan_data = data();
    nan_data.data_mut()[7] = f64::NAN;
    assert!(matches!(
        run(&nan_data, &ok, &mut params),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        run(&Tensor::zeros(&[10]), &ok, &mut params),
        Err(Error::Shape(_))
    ));
    let tiny = Tensor::zeros(&[2, 3]);
    assert!(matches!(run(&tiny, &ok, &mut params), Err(Error::Shape(_))));
    for bad in [
        FitConfig {
            batch_size: 0,
            ..ok.clone()
        },
        FitConfig {
            validation_fraction: 1.0,
            ..ok.clone()
        },
        FitConfig {
            clip_norm: Some(0.0),
            ..ok.clone()
        },
        FitConfig {
            validation_fraction: 0.0,
            ..ok.clone()
        },
    ] {
        assert!(matches!(
            run(&data(), &bad, &mut params),
            Err(Error::InvalidData(_))
        ));
    }
    assert_eq!(params, start_params());
    let resumed_badly = resume(
        &mut params,
        &mut Sgd::new(0.1, 0.0),
        &data(),
        &ok,
        FitState {
            optimizer: scoretape::optim::OptimizerState {
                steps: 1,
                buffers: vec![Tensor::zeros(&[7])],
            },
            ..FitState::fresh()
        },
        noisy_loss,
        go,
    );
    assert!(matches!(resumed_badly, Err(Error::Shape(_))));
}

#[test]
fn exact_score_matching_fit_recovers_the_gaussian_oracle() {
    // Data with mean x̄ and (1/N) covariance Σ̂: the exact-SM minimiser of a
    // quadratic energy is μ = x̄, P = Σ̂⁻¹.
    let z: Tensor<f64> = normal_tensor(&[400, 2], &mut seeded(8));
    let data = Tensor::from_fn(&[400, 2], |k| {
        let (b, j) = (k / 2, k % 2);
        let (z0, z1) = (z.get(&[b, 0]), z.get(&[b, 1]));
        if j == 0 {
            1.0 + 2.0 * z0
        } else {
            -1.0 + 0.6 * z0 + 0.5 * z1
        }
    });
    let n = 400.0;
    let mean: Vec<f64> = (0..2).map(|j| data.sum_axis(0).data()[j] / n).collect();
    let c = |i: usize, j: usize| {
        (0..400)
            .map(|b| (data.get(&[b, i]) - mean[i]) * (data.get(&[b, j]) - mean[j]))
            .sum::<f64>()
            / n
    };
    let (s00, s01, s11) = (c(0, 0), c(0, 1), c(1, 1));
    let det = s00 * s11 - s01 * s01;
    let precision = [s11 / det, -s01 / det, s00 / det];

    let mut model = QuadraticEnergy::<f64>::new(2).unwrap();
    let config = FitConfig {
        batch_size: 400,
        budget: Budget::Steps(3000),
        schedule: Schedule::Cosine {
            total_steps: 3000,
            min_lr: 0.0,
        },
        ..FitConfig::default()
    };
    let mut params = model.params().clone();
    fit(
        &mut params,
        &mut Adam::new(0.05),
        &data,
        &config,
        |tape, p, batch, _rng| exact_score_matching(tape, &|x| model.energy(p, x), batch, None),
        go,
    )
    .unwrap();
    *model.params_mut() = params;
    let fitted_mean = model.mean();
    let fitted_precision = model.precision();
    for (got, want) in fitted_mean.data().iter().zip(&mean) {
        assert!((got - want).abs() < 1e-4, "{fitted_mean:?}");
    }
    for (got, want) in
        fitted_precision
            .data()
            .iter()
            .zip([precision[0], precision[1], precision[1], precision[2]])
    {
        assert!(
            (got - want).abs() < 1e-4 * want.abs().max(1.0),
            "{fitted_precision:?}"
        );
    }
}
