//! The execution layer through the public API: every objective gives the same
//! loss and gradient on 1, 2 and 3 threads (to 1e-12 relative), one thread
//! gives the numbers of the objective functions called directly, `fit_model`
//! on one thread retraces the closure form over the same objective, and the
//! compatibility checks refuse what does not make sense.

use core::ops::ControlFlow;
use scoretape::exec::Evaluator;
use scoretape::model::{Activation, Boltzmann, Energy, MlpEnergy, MlpScore, Model};
use scoretape::objective::{
    denoising_score_matching, exact_score_matching, ratio_matching, sliced_score_matching, Draws,
    Fittable, Noise, Objective, ProjectionKind, Projections, SlicedVariant,
};
use scoretape::optim::{Adam, Sgd};
use scoretape::random::{bernoulli_tensor, normal_tensor, seeded};
use scoretape::train::{fit, fit_model, Budget, FitConfig, StopReason};
use scoretape::{grad, Error, Tape, Tensor};

fn sliced(variant: SlicedVariant, count: usize) -> Objective {
    Objective::Sliced {
        kind: ProjectionKind::Rademacher,
        count,
        variant,
    }
}

/// The largest difference between two results: the losses relative to the
/// loss, the gradients relative to the largest gradient entry (a parameter
/// whose gradient is zero in exact arithmetic, such as the output bias under
/// ratio matching, has only rounding to compare).
fn relative_difference(a: &(f64, Vec<Tensor<f64>>), b: &(f64, Vec<Tensor<f64>>)) -> f64 {
    let mut worst = (a.0 - b.0).abs() / a.0.abs().max(1e-300);
    let scale =
        a.1.iter()
            .flat_map(|g| g.data())
            .fold(1e-300f64, |m, v| m.max(v.abs()));
    for (x, y) in a.1.iter().zip(&b.1) {
        worst = worst.max(x.max_abs_diff(y) / scale);
    }
    worst
}

/// On 1, 2 and 3 threads, with 11 rows (blocks of 11; 6 + 5; 4 + 4 + 3),
/// loss and gradient agree to 1e-12 relative, and match the loss recorded
/// whole on one tape and swept back once.
fn check_threads<M: Fittable<f64>>(objective: &Objective, model: &M, x: &Tensor<f64>) {
    let draws = objective.draw(model, x.shape()[0], &mut seeded(7)).unwrap();
    let results: Vec<_> = (1..=3)
        .map(|threads| {
            Evaluator::with_threads(threads)
                .value_and_grad(objective, model, x, &draws)
                .unwrap()
        })
        .collect();
    assert_eq!(results[0].1.len(), model.params().len());
    for r in &results[1..] {
        let diff = relative_difference(&results[0], r);
        assert!(diff <= 1e-12, "{}: {diff:e}", objective.name());
    }
    // The recorded loss and one reverse sweep on one tape, the plain way.
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let loss = objective.record(&tape, model, &params, x, &draws).unwrap();
    let grads: Vec<Tensor<f64>> = grad(loss, &params)
        .unwrap()
        .iter()
        .map(|g| (*g.value()).clone())
        .collect();
    let reference = (loss.item(), grads);
    // Recorded whole, the sums run in another order (at d = 300 rm sums the
    // gradients of 3311 energy rows in 4 chunks instead of one): 1e-11.
    let diff = relative_difference(&reference, &results[0]);
    assert!(diff <= 1e-11, "{} vs one tape: {diff:e}", objective.name());
    // The value alone is the same number.
    let value = Evaluator::with_threads(2)
        .value(objective, model, x, &draws)
        .unwrap();
    assert!((value - reference.0).abs() <= 1e-12 * reference.0.abs());
}

#[test]
fn every_objective_agrees_on_one_two_and_three_threads() {
    let x = normal_tensor::<f64, _>(&[11, 3], &mut seeded(1));
    let energy = MlpEnergy::new(3, &[6, 5], Activation::Softplus, 2).unwrap();
    let score = MlpScore::new(3, &[6], Activation::Tanh, false, 3).unwrap();
    let conditioned = MlpScore::new(3, &[6], Activation::Tanh, true, 4).unwrap();
    let continuous = [
        Objective::exact(),
        sliced(SlicedVariant::Standard, 2),
        sliced(SlicedVariant::VarianceReduced, 1),
        Objective::denoising(0.3),
    ];
    for objective in &continuous {
        check_threads(objective, &energy, &x);
        check_threads(objective, &score, &x);
    }
    let levels = Objective::Denoising {
        sigmas: vec![1.0, 0.3, 0.1],
    };
    check_threads(&levels, &conditioned, &x);
    check_threads(&Objective::denoising(0.2), &conditioned, &x);
    let bits = bernoulli_tensor::<f64, _>(&[11, 3], 0.5, &mut seeded(5));
    check_threads(&Objective::Ratio, &energy, &bits);
    check_threads(&Objective::Ratio, &Boltzmann::new(3).unwrap(), &bits);
}

/// At d = 300, ratio matching records 3 rows at a time (1024 / 301): an
/// 11-row batch is 4 chunks on one thread, and the chunks' means are weighted
/// by their rows.
#[test]
fn ratio_matching_in_chunks_agrees_with_one_recording() {
    let bits = bernoulli_tensor::<f64, _>(&[11, 300], 0.5, &mut seeded(8));
    let energy = MlpEnergy::new(300, &[4], Activation::Softplus, 9).unwrap();
    check_threads(&Objective::Ratio, &energy, &bits);
}

/// The draws are the ones the objective functions make from the same
/// generator, so one thread reproduces a direct call bit for bit.
#[test]
fn one_thread_reproduces_the_objective_functions_bit_for_bit() {
    let x = normal_tensor::<f64, _>(&[9, 2], &mut seeded(1));
    let model = MlpEnergy::new(2, &[5], Activation::Softplus, 2).unwrap();
    let one = Evaluator::with_threads(1);
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let energy = |x| model.energy(&params, x);
    let ssm = sliced(SlicedVariant::Standard, 2);
    let draws = ssm.draw(&model, 9, &mut seeded(3)).unwrap();
    let (fast, _) = one.value_and_grad(&ssm, &model, &x, &draws).unwrap();
    let projections = Projections::Random {
        kind: ProjectionKind::Rademacher,
        count: 2,
        rng: &mut seeded(3),
    };
    let expected = sliced_score_matching(
        &tape,
        &energy,
        &x,
        projections,
        SlicedVariant::Standard,
        None,
    )
    .unwrap()
    .item();
    assert_eq!(fast, expected);

    let dsm = Objective::denoising(0.2);
    let draws = dsm.draw(&model, 9, &mut seeded(4)).unwrap();
    let (fast, _) = one.value_and_grad(&dsm, &model, &x, &draws).unwrap();
    let expected =
        denoising_score_matching(&tape, &energy, &x, 0.2, Noise::Random(&mut seeded(4)), None)
            .unwrap()
            .item();
    assert_eq!(fast, expected);

    let bits = bernoulli_tensor::<f64, _>(&[9, 2], 0.5, &mut seeded(6));
    let (fast, _) = one
        .value_and_grad(&Objective::Ratio, &model, &bits, &Draws::none())
        .unwrap();
    let expected = ratio_matching(&tape, &energy, &bits, None).unwrap().item();
    assert_eq!(fast, expected);

    // Exact score matching takes the first-order path: the same loss with
    // its d + 1 terms summed in another order.
    let (fast, _) = one
        .value_and_grad(&Objective::exact(), &model, &x, &Draws::none())
        .unwrap();
    let expected = exact_score_matching(&tape, &energy, &x, None)
        .unwrap()
        .item();
    assert!((fast - expected).abs() <= 1e-13 * expected.abs());
}

fn fit_config(steps: u64, threads: usize) -> FitConfig<f64> {
    FitConfig {
        batch_size: 16,
        budget: Budget::Steps(steps),
        validation_fraction: 0.0,
        seed: 11,
        threads: Some(threads),
        ..FitConfig::default()
    }
}

/// `fit_model` on one thread retraces the closure form of `fit` over the same
/// objective function drawing from the same per-update generator: bit for
/// bit for ssm, dsm and rm, and to rounding for esm (which `fit_model`
/// evaluates by the first-order path).
#[test]
fn fit_model_on_one_thread_retraces_the_closure_form() {
    let data = normal_tensor::<f64, _>(&[40, 2], &mut seeded(2));
    let bits = bernoulli_tensor::<f64, _>(&[40, 2], 0.5, &mut seeded(3));
    let start = MlpEnergy::new(2, &[6], Activation::Softplus, 4).unwrap();
    let go = |_| ControlFlow::Continue(());
    let cases: [(Objective, &Tensor<f64>, f64); 4] = [
        (sliced(SlicedVariant::Standard, 1), &data, 0.0),
        (Objective::denoising(0.3), &data, 0.0),
        (Objective::Ratio, &bits, 0.0),
        (Objective::exact(), &data, 1e-11),
    ];
    for (objective, x, tolerance) in cases {
        let mut model = start.clone();
        fit_model(
            &mut model,
            &objective,
            &mut Adam::new(0.01),
            x,
            &fit_config(7, 1),
            go,
        )
        .unwrap();
        let structure = start.clone();
        let mut params = start.params().clone();
        fit(
            &mut params,
            &mut Adam::new(0.01),
            x,
            &fit_config(7, 1),
            |tape, p, batch, rng| {
                let energy = |x| structure.energy(p, x);
                match &objective {
                    Objective::Sliced { .. } => sliced_score_matching(
                        tape,
                        &energy,
                        batch,
                        Projections::Random {
                            kind: ProjectionKind::Rademacher,
                            count: 1,
                            rng,
                        },
                        SlicedVariant::Standard,
                        None,
                    ),
                    Objective::Denoising { .. } => denoising_score_matching(
                        tape,
                        &energy,
                        batch,
                        0.3,
                        Noise::Random(rng),
                        None,
                    ),
                    Objective::Ratio => ratio_matching(tape, &energy, batch, None),
                    _ => exact_score_matching(tape, &energy, batch, None),
                }
            },
            go,
        )
        .unwrap();
        for (a, b) in model.params().values().iter().zip(params.values()) {
            let scale = b.data().iter().fold(1.0f64, |m, v| m.max(v.abs()));
            assert!(
                a.max_abs_diff(b) <= tolerance * scale,
                "{}: {:e}",
                objective.name(),
                a.max_abs_diff(b)
            );
        }
        // More threads: the same fit to rounding.
        let mut two = start.clone();
        fit_model(
            &mut two,
            &objective,
            &mut Adam::new(0.01),
            x,
            &fit_config(7, 2),
            go,
        )
        .unwrap();
        for (a, b) in model.params().values().iter().zip(two.params().values()) {
            assert!(a.max_abs_diff(b) <= 1e-9, "{}", objective.name());
        }
    }
}

/// `fit --lr 1e30` grew the loss from -0.02 to 1e120 and saved the model. Now
/// it is a divergence at the update where it happens, and the parameters are
/// the last finite ones.
#[test]
fn a_huge_learning_rate_diverges_with_finite_parameters() {
    let data = normal_tensor::<f64, _>(&[64, 2], &mut seeded(1));
    for objective in [Objective::exact(), sliced(SlicedVariant::Standard, 1)] {
        let mut model = MlpEnergy::new(2, &[8], Activation::Softplus, 0).unwrap();
        let result = fit_model(
            &mut model,
            &objective,
            &mut Adam::new(1e30),
            &data,
            &fit_config(50, 2),
            |_| ControlFlow::Continue(()),
        );
        match result {
            Err(Error::Diverged { update, reason }) => {
                assert!((2..=50).contains(&update), "{update}: {reason}");
            }
            other => panic!("{}: expected a divergence, got {other:?}", objective.name()),
        }
        assert!(model.params().values().iter().all(Tensor::all_finite));
    }
}

/// A loss that stays finite but grows a million-fold beyond its early scale
/// is a divergence too: SGD at lr 3 on L = w² maps w to -5w, so the loss at
/// update k (1-based) is 25^(k-1). The bound at update k ≤ 11 is 10⁶ times
/// the median of the losses before it; update 10's loss 25⁹ = 3.8e12 is the
/// first above it (10⁶ · 25⁴ = 3.9e11), while update 9's 25⁸ = 1.5e11 is not
/// (10⁶ · (25³ + 25⁴)/2 = 2.0e11).
#[test]
fn a_loss_beyond_a_million_times_its_early_scale_diverges() {
    let data = Tensor::<f64>::zeros(&[4, 1]);
    let mut params = scoretape::model::Params::new();
    params.push("w", Tensor::vector(&[1.0]));
    let config = FitConfig {
        batch_size: 4,
        budget: Budget::Steps(100),
        ..FitConfig::default()
    };
    let result = fit(
        &mut params,
        &mut Sgd::new(3.0, 0.0),
        &data,
        &config,
        |_tape, p, _batch, _rng| Ok(p[0].square().sum()),
        |_| ControlFlow::Continue(()),
    );
    let Err(Error::Diverged { update, reason }) = result else {
        panic!("expected a divergence, got {result:?}");
    };
    assert_eq!(update, 10, "{reason}");
    assert!(reason.contains("exceeds"), "{reason}");
    // The parameters before update 10: w = (-5)⁹.
    assert_eq!(params.values()[0].item(), (-5.0f64).powi(9));
}

/// Adam's second moment overflows (g² > 1.8e308) while every parameter stays
/// finite (the step m̂/√v̂ is then 0); that is a divergence at that update,
/// with or without checkpoints.
#[test]
fn an_optimiser_moment_that_overflows_is_a_divergence() {
    let data = Tensor::from_rows(&[vec![1.0f64], vec![2.0]]).unwrap();
    let mut params = scoretape::model::Params::new();
    params.push("w", Tensor::vector(&[1.0]));
    let config = FitConfig {
        batch_size: 2,
        budget: Budget::Steps(5),
        ..FitConfig::default()
    };
    let result = fit(
        &mut params,
        &mut Adam::new(0.1),
        &data,
        &config,
        |tape, p, _batch, _rng| {
            let _ = tape;
            Ok(p[0].sum() * 1e200)
        },
        |_| ControlFlow::Continue(()),
    );
    let Err(Error::Diverged { update: 1, reason }) = result else {
        panic!("expected a divergence at update 1, got {result:?}");
    };
    assert!(reason.contains("optimiser"), "{reason}");
    assert_eq!(params.values()[0].item(), 1.0);
}

/// Early stopping sets the parameters back to those with the best validation
/// loss, and says so.
#[test]
fn early_stopping_restores_the_best_parameters() {
    // Loss (μ - 1)² on any data, SGD at lr 1.1 overshoots: μ - 1 is
    // multiplied by -1.2 per update, so the first epoch is the best.
    let data = Tensor::<f64>::zeros(&[20, 1]);
    let mut params = scoretape::model::Params::new();
    params.push("mu", Tensor::vector(&[0.5]));
    let config = FitConfig {
        batch_size: 10,
        budget: Budget::Epochs(50),
        validation_fraction: 0.5,
        patience: Some(3),
        ..FitConfig::default()
    };
    let mut after_epoch = Vec::new();
    let outcome = fit(
        &mut params,
        &mut Sgd::new(1.1, 0.0),
        &data,
        &config,
        |_tape, p, _batch, _rng| Ok((p[0] - 1.0).square().sum()),
        |event| {
            if let scoretape::train::Event::Epoch(e) = event {
                after_epoch.push(e.validation_loss.unwrap());
            }
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    assert_eq!(outcome.stop, StopReason::EarlyStopping);
    assert!(outcome.restored_best);
    // One update per epoch: after epoch 1, μ - 1 = -0.5·(-1.2) = 0.6.
    let best = 1.0 + 0.6;
    assert!((params.values()[0].item() - best).abs() < 1e-12);
    assert_eq!(outcome.state.best_validation, Some(after_epoch[0]));
    assert!(after_epoch[1..].iter().all(|&v| v > after_epoch[0]));
}

/// The validation loss of a random objective uses the same draws at every
/// evaluation: with a learning rate of 0 it is the same number every epoch.
#[test]
fn the_validation_loss_uses_fixed_draws() {
    let data = normal_tensor::<f64, _>(&[60, 2], &mut seeded(4));
    let mut model = MlpEnergy::new(2, &[5], Activation::Softplus, 1).unwrap();
    let config = FitConfig {
        batch_size: 12,
        budget: Budget::Epochs(3),
        validation_fraction: 0.2,
        ..FitConfig::default()
    };
    let mut seen = Vec::new();
    fit_model(
        &mut model,
        &Objective::denoising(0.5),
        &mut Sgd::new(0.0, 0.0),
        &data,
        &config,
        |event| {
            if let scoretape::train::Event::Epoch(e) = event {
                seen.push(e.validation_loss.unwrap());
            }
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|&v| v == seen[0]), "{seen:?}");
}

#[test]
fn objectives_that_do_not_apply_are_refused_before_any_work() {
    let bits = bernoulli_tensor::<f64, _>(&[20, 3], 0.5, &mut seeded(1));
    let go = |_| ControlFlow::Continue(());
    for objective in [
        Objective::exact(),
        sliced(SlicedVariant::Standard, 1),
        sliced(SlicedVariant::VarianceReduced, 1),
        Objective::denoising(0.1),
    ] {
        let mut machine = Boltzmann::new(3).unwrap();
        let result = fit_model(
            &mut machine,
            &objective,
            &mut Adam::new(0.01),
            &bits,
            &fit_config(3, 1),
            go,
        );
        match result {
            Err(Error::InvalidData(m)) => assert!(m.contains("ratio matching"), "{m}"),
            other => panic!("{}: expected a refusal, got {other:?}", objective.name()),
        }
        assert_eq!(machine, Boltzmann::new(3).unwrap());
    }
    let mut machine = Boltzmann::new(3).unwrap();
    fit_model(
        &mut machine,
        &Objective::Ratio,
        &mut Adam::new(0.01),
        &bits,
        &fit_config(3, 1),
        go,
    )
    .unwrap();

    let score = MlpScore::<f64>::new(3, &[4], Activation::Tanh, false, 0).unwrap();
    assert!(Objective::Ratio.check(score.form()).is_err());
    let conditioned = MlpScore::<f64>::new(3, &[4], Activation::Tanh, true, 0).unwrap();
    assert!(Objective::exact().check(conditioned.form()).is_err());
    let levels = Objective::Denoising {
        sigmas: vec![1.0, 0.1],
    };
    assert!(levels.check(score.form()).is_err());
    assert!(levels.check(conditioned.form()).is_ok());
    assert!(Objective::denoising(-1.0).check(score.form()).is_err());
    assert!(sliced(SlicedVariant::Standard, 0)
        .check(score.form())
        .is_err());

    // Data of another width: a shape error naming both.
    let mut model = MlpEnergy::new(2, &[4], Activation::Softplus, 0).unwrap();
    let wide = normal_tensor::<f64, _>(&[10, 3], &mut seeded(0));
    match fit_model(
        &mut model,
        &Objective::exact(),
        &mut Adam::new(0.01),
        &wide,
        &fit_config(1, 1),
        go,
    ) {
        Err(Error::Shape(m)) => assert!(m.contains('2') && m.contains('3'), "{m}"),
        other => panic!("expected a shape error, got {other:?}"),
    }
}
