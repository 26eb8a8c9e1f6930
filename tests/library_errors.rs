//! Bad data through the library's public entry points is a typed error, never
//! a panic: a batch whose width is not the model's goes through every
//! objective, every sampler and `train::fit` and comes back as
//! `Error::Shape` naming the model's dimension and the data's; a model of
//! dimension 0 cannot be made; wrong parameters to a model panic with a
//! message that names the model.

use core::ops::ControlFlow;
use scoretape::model::{
    Activation, Boltzmann, Energy, LinearExpFamily, MlpEnergy, MlpScore, Model, QuadraticEnergy,
    Score,
};
use scoretape::objective::{
    denoising_score_matching, denoising_score_matching_multilevel,
    denoising_score_matching_score_model, exact_score_matching, exact_score_matching_score_model,
    exact_score_matching_value_and_grad, fisher_divergence, fisher_divergence_score_model,
    ratio_matching, sliced_score_matching, sliced_score_matching_score_model, tweedie_denoise,
    tweedie_denoise_energy, tweedie_denoise_score_model, Noise, NoiseLevels, ProjectionKind,
    Projections, SlicedVariant,
};
use scoretape::optim::Adam;
use scoretape::random::{normal_tensor, seeded};
use scoretape::sample::{
    annealed_langevin, conditioned_score_fn, energy_fn, energy_score_fn, gibbs,
    held_out_log_likelihood, langevin, log_partition_grid, log_partition_importance, mala,
    score_fn, AnnealedConfig, Estimate,
};
use scoretape::train::{fit, Budget, FitConfig};
use scoretape::{grad, Error, Tape, Tensor, Var};

/// The model's dimension and the data's, as every test here uses them.
const MODEL_DIM: usize = 3;
const DATA_DIM: usize = 4;

/// A batch of the wrong width: 5 samples with 4 columns, of bits (so that
/// ratio matching and Gibbs sampling get past their binary check).
fn wide() -> Tensor<f64> {
    Tensor::from_fn(&[5, DATA_DIM], |k| ((k * 7) % 3 == 0) as u8 as f64)
}

/// Asserts an `Error::Shape` whose message names both dimensions.
#[track_caller]
fn assert_names_both<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Err(Error::Shape(message)) => assert!(
            message.contains(&format!("dimension {MODEL_DIM}"))
                && message.contains(&format!("{DATA_DIM} columns")),
            "the message should name the model's dimension {MODEL_DIM} and the data's \
             {DATA_DIM}: {message}"
        ),
        other => panic!("expected Error::Shape naming both dimensions, got {other:?}"),
    }
}

/// Every energy model of the crate, of dimension 3, with its name.
fn energy_models() -> Vec<(&'static str, Box<dyn Energy<f64>>)> {
    vec![
        (
            "MlpEnergy",
            Box::new(MlpEnergy::new(MODEL_DIM, &[6], Activation::Softplus, 0).unwrap()),
        ),
        (
            "QuadraticEnergy",
            Box::new(QuadraticEnergy::new(MODEL_DIM).unwrap()),
        ),
        ("Boltzmann", Box::new(Boltzmann::new(MODEL_DIM).unwrap())),
        (
            "LinearExpFamily",
            Box::new(
                LinearExpFamily::new(MODEL_DIM, MODEL_DIM, |x: Var<'_, f64>| x.square()).unwrap(),
            ),
        ),
    ]
}

#[test]
fn every_energy_objective_returns_a_shape_error_for_data_of_the_wrong_width() {
    let x = wide();
    let data_score = Tensor::zeros(&[5, DATA_DIM]);
    for (name, model) in energy_models() {
        let tape = Tape::new();
        let params = model.params().record(&tape);
        let energy = |x| model.energy(&params, x);
        assert_names_both(exact_score_matching(&tape, &energy, &x, None));
        assert_names_both(exact_score_matching_value_and_grad(
            &tape, &energy, &x, None, &params,
        ));
        let mut rng = seeded(0);
        let random = Projections::Random {
            kind: ProjectionKind::Rademacher,
            count: 2,
            rng: &mut rng,
        };
        assert_names_both(sliced_score_matching(
            &tape,
            &energy,
            &x,
            random,
            SlicedVariant::Standard,
            None,
        ));
        let given = Tensor::ones(&[1, 5, DATA_DIM]);
        assert_names_both(sliced_score_matching(
            &tape,
            &energy,
            &x,
            Projections::Given(&given),
            SlicedVariant::VarianceReduced,
            None,
        ));
        assert_names_both(denoising_score_matching(
            &tape,
            &energy,
            &x,
            0.1,
            Noise::Random(&mut seeded(1)),
            None,
        ));
        assert_names_both(ratio_matching(&tape, &energy, &x, None));
        assert_names_both(tweedie_denoise_energy(&tape, &energy, &x, 0.1));
        assert_names_both(fisher_divergence(&tape, &energy, &x, &data_score, None));
        assert!(
            tape.failure().is_none(),
            "{name}: an objective that returned the failure must take it off the tape"
        );
        // The same tape still serves data of the right width.
        let right = Tensor::from_fn(&[5, MODEL_DIM], |k| (k % 2) as f64);
        assert!(
            ratio_matching(&tape, &energy, &right, None).is_ok(),
            "{name}"
        );
        assert!(
            fisher_divergence(
                &tape,
                &energy,
                &right,
                &Tensor::zeros(&[5, MODEL_DIM]),
                None
            )
            .is_ok(),
            "{name}"
        );
    }
}

#[test]
fn every_score_objective_returns_a_shape_error_for_data_of_the_wrong_width() {
    let x = wide();
    let plain = MlpScore::new(MODEL_DIM, &[6], Activation::Tanh, false, 0).unwrap();
    let conditioned = MlpScore::new(MODEL_DIM, &[6], Activation::Tanh, true, 0).unwrap();
    let tape = Tape::new();
    let params = plain.params().record(&tape);
    let conditioned_params = conditioned.params().record(&tape);
    let score = |x| plain.score(&params, x, None);
    assert_names_both(exact_score_matching_score_model(&tape, &score, &x, None));
    let given = Tensor::ones(&[2, 5, DATA_DIM]);
    assert_names_both(sliced_score_matching_score_model(
        &tape,
        &score,
        &x,
        Projections::Given(&given),
        SlicedVariant::Standard,
        None,
    ));
    assert_names_both(denoising_score_matching_score_model(
        &tape,
        &score,
        &x,
        0.5,
        Noise::Random(&mut seeded(2)),
        None,
    ));
    assert_names_both(denoising_score_matching_multilevel(
        &tape,
        &|x, sigma| conditioned.score(&conditioned_params, x, Some(sigma)),
        &x,
        &[1.0, 0.1],
        NoiseLevels::Random(&mut seeded(3)),
        None,
    ));
    assert_names_both(tweedie_denoise_score_model(&tape, &score, &x, 0.1));
    assert_names_both(fisher_divergence_score_model(
        &tape,
        &score,
        &x,
        &Tensor::zeros(&[5, DATA_DIM]),
        None,
    ));
    assert!(tape.failure().is_none());
    // Tweedie on tensors has no model; a score of another shape is the error.
    assert!(matches!(
        tweedie_denoise(&x, &Tensor::zeros(&[5, MODEL_DIM]), 0.1),
        Err(Error::Shape(_))
    ));
}

#[test]
fn every_sampler_and_estimator_returns_a_shape_error_for_data_of_the_wrong_width() {
    let x = wide();
    let normal: Tensor<f64> = normal_tensor(&[20, DATA_DIM], &mut seeded(9));
    let quadratic = QuadraticEnergy::<f64>::new(MODEL_DIM).unwrap();
    let mlp = MlpEnergy::<f64>::new(MODEL_DIM, &[6], Activation::Softplus, 0).unwrap();
    let conditioned = MlpScore::<f64>::new(MODEL_DIM, &[6], Activation::Tanh, true, 0).unwrap();
    let boltzmann = Boltzmann::<f64>::new(MODEL_DIM).unwrap();
    let mut rng = seeded(4);
    assert_names_both(langevin(
        score_fn(&quadratic),
        normal.clone(),
        0.01,
        3,
        &mut rng,
    ));
    assert_names_both(langevin(score_fn(&mlp), normal.clone(), 0.01, 3, &mut rng));
    assert_names_both(mala(
        energy_score_fn(&mlp),
        normal.clone(),
        0.01,
        3,
        &mut rng,
    ));
    let config = AnnealedConfig {
        sigmas: vec![1.0, 0.1],
        epsilon: 1e-3,
        steps_per_level: 2,
        denoise: true,
    };
    assert_names_both(annealed_langevin(
        conditioned_score_fn(&conditioned),
        normal.clone(),
        &config,
        &mut rng,
    ));
    assert_names_both(gibbs(&boltzmann, x.clone(), 3, &mut rng));
    assert_names_both(energy_fn(&mlp)(&normal));
    assert_names_both(log_partition_importance(
        energy_fn(&mlp),
        &normal,
        100,
        2.0,
        &mut rng,
    ));
    let log_z = Estimate {
        value: 0.0,
        std_error: 0.0,
    };
    assert_names_both(held_out_log_likelihood(energy_fn(&mlp), &normal, log_z));
    // The grid estimator is 2-D: a 3-D model gets a batch of 2 columns.
    match log_partition_grid(energy_fn(&mlp), [[-1.0, 1.0], [-1.0, 1.0]], 4) {
        Err(Error::Shape(message)) => assert!(message.contains("dimension 3"), "{message}"),
        other => panic!("expected Error::Shape, got {other:?}"),
    }
}

#[test]
fn fit_returns_a_shape_error_for_data_of_the_wrong_width() {
    let model = MlpEnergy::<f64>::new(MODEL_DIM, &[6], Activation::Softplus, 0).unwrap();
    let data = Tensor::from_fn(&[16, DATA_DIM], |k| (k as f64 * 0.37).sin());
    let config = FitConfig {
        batch_size: 8,
        budget: Budget::Steps(3),
        ..FitConfig::default()
    };
    // Through an objective…
    let mut params = model.params().clone();
    let outcome = fit(
        &mut params,
        &mut Adam::new(0.01),
        &data,
        &config,
        |tape, p, batch, _rng| exact_score_matching(tape, &|x| model.energy(p, x), batch, None),
        |_| ControlFlow::Continue(()),
    );
    assert_names_both(outcome);
    assert_eq!(&params, model.params(), "no update may have been applied");
    // …and through a loss written directly on the model's energy.
    let outcome = fit(
        &mut params,
        &mut Adam::new(0.01),
        &data,
        &config,
        |tape, p, batch, _rng| Ok(model.energy(p, tape.constant(batch.clone())).mean()),
        |_| ControlFlow::Continue(()),
    );
    assert_names_both(outcome);
}

#[test]
fn grad_of_a_loss_built_on_a_rejected_batch_is_the_shape_error() {
    let model = QuadraticEnergy::<f64>::new(MODEL_DIM).unwrap();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let mark = tape.mark();
    let x = tape.input(wide());
    let loss = model.energy(&params, x).sum();
    assert_eq!(
        loss.shape(),
        Vec::<usize>::new(),
        "the stand-in keeps the promised shape"
    );
    assert_names_both(grad(loss, &params));
    assert_names_both(loss.try_value());
    // The parameters were recorded before the failure and stay readable.
    assert_eq!(params[0].value().shape(), &[MODEL_DIM]);
    tape.rewind(mark);
    assert!(tape.failure().is_none());
    let x = tape.input(Tensor::ones(&[2, MODEL_DIM]));
    assert!(grad(model.energy(&params, x).sum(), &params).is_ok());
}

#[test]
#[should_panic(
    expected = "MlpEnergy::energy: the model has dimension 3 but the data has 4 columns"
)]
fn reading_the_value_of_a_rejected_batch_panics_with_the_shape_message() {
    let model = MlpEnergy::<f64>::new(MODEL_DIM, &[6], Activation::Softplus, 0).unwrap();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let _ = model.energy(&params, tape.input(wide())).value();
}

#[test]
fn a_batch_that_is_not_a_matrix_is_a_shape_error_naming_the_model() {
    let model = MlpEnergy::<f64>::new(MODEL_DIM, &[6], Activation::Softplus, 0).unwrap();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let e = model.energy(&params, tape.input(Tensor::zeros(&[MODEL_DIM])));
    match e.try_value() {
        Err(Error::Shape(message)) => {
            assert!(
                message.contains("MlpEnergy::energy") && message.contains("[3]"),
                "{message}"
            )
        }
        other => panic!("expected Error::Shape, got {other:?}"),
    }
}

#[test]
fn models_of_dimension_zero_cannot_be_made() {
    assert!(matches!(
        QuadraticEnergy::<f64>::new(0),
        Err(Error::InvalidData(_))
    ));
    assert!(matches!(
        Boltzmann::<f64>::new(0),
        Err(Error::InvalidData(_))
    ));
    assert!(MlpEnergy::<f64>::new(0, &[4], Activation::Tanh, 0).is_err());
    assert!(MlpScore::<f64>::new(0, &[4], Activation::Tanh, true, 0).is_err());
    assert!(LinearExpFamily::<f64>::new(0, 1, |x: Var<'_, f64>| x).is_err());
    let empty = Tensor::<f64>::zeros(&[0]);
    let empty_matrix = Tensor::<f64>::zeros(&[0, 0]);
    assert!(matches!(
        QuadraticEnergy::from_mean_precision(&empty, &empty_matrix),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        Boltzmann::from_parts(&empty_matrix, &empty),
        Err(Error::Shape(_))
    ));
}

#[test]
#[should_panic(expected = "MlpEnergy::energy: expected the model's 4 recorded parameters")]
fn too_few_parameters_to_an_mlp_energy_panic_naming_it() {
    let model = MlpEnergy::<f64>::new(MODEL_DIM, &[6], Activation::Softplus, 0).unwrap();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let _ = model.energy(&params[..3], tape.input(Tensor::zeros(&[2, MODEL_DIM])));
}

#[test]
#[should_panic(expected = "MlpScore::score: expected the model's 4 recorded parameters")]
fn too_few_parameters_to_an_mlp_score_panic_naming_it() {
    let model = MlpScore::<f64>::new(MODEL_DIM, &[6], Activation::Softplus, false, 0).unwrap();
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let _ = model.score(
        &params[..1],
        tape.input(Tensor::zeros(&[2, MODEL_DIM])),
        None,
    );
}

#[test]
fn the_score_samplers_refuse_a_binary_model() {
    let model = Boltzmann::<f64>::new(MODEL_DIM).unwrap();
    let start = Tensor::zeros(&[4, MODEL_DIM]);
    let refused = |result: Result<Tensor<f64>, Error>| match result {
        Err(Error::InvalidData(message)) => {
            assert!(
                message.contains("binary") && message.contains("Gibbs"),
                "{message}"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    };
    refused(langevin(
        score_fn(&model),
        start.clone(),
        0.01,
        2,
        &mut seeded(0),
    ));
    refused(
        mala(
            energy_score_fn(&model),
            start.clone(),
            0.01,
            2,
            &mut seeded(0),
        )
        .map(|o| o.samples),
    );
    // The energies themselves are defined on bits, and stay available.
    assert_eq!(energy_fn(&model)(&start).unwrap().data(), &[0.0; 4]);
}
