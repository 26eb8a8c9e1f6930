//! Each score-matching objective, fitting a model whose right answer is known
//! in closed form, by Adam on `grad(loss, &params)`.
//!
//! Run with `cargo run --release --example objectives`.

use scoretape::model::linalg::inverse;
use scoretape::model::{Boltzmann, Energy, Model, Params, QuadraticEnergy};
use scoretape::objective::{
    denoising_score_matching, exact_score_matching, fisher_divergence, ratio_matching,
    sliced_score_matching, tweedie_denoise_energy, Noise, ProjectionKind, Projections,
    SlicedVariant,
};
use scoretape::optim::{Adam, Optimizer};
use scoretape::random::{normal_tensor, seeded, Rng64};
use scoretape::{grad, Error, Tape, Tensor, Var};

/// `steps` of Adam with learning rate `rate` on the loss that `loss` records
/// for the current parameters; returns the last loss.
fn descend<F>(params: &mut Params<f64>, steps: usize, rate: f64, mut loss: F) -> Result<f64, Error>
where
    F: for<'t> FnMut(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>, Error>,
{
    let mut optimizer = Adam::new(rate);
    let mut last = f64::NAN;
    for _ in 0..steps {
        let tape = Tape::new();
        let vars = params.record(&tape);
        let l = loss(&tape, &vars)?;
        let g: Vec<Tensor<f64>> = grad(l, &vars)?
            .iter()
            .map(|g| g.value().as_ref().clone())
            .collect();
        last = l.item();
        optimizer.step(params, &g, rate)?;
    }
    Ok(last)
}

/// 2000 samples of a correlated 2-D Gaussian, with their mean and 1/N covariance.
fn gaussian_data() -> (Tensor<f64>, Tensor<f64>, Tensor<f64>) {
    let z = normal_tensor::<f64, _>(&[2000, 2], &mut seeded(1));
    let x = Tensor::from_fn(&[2000, 2], |k| {
        let (b, j) = (k / 2, k % 2);
        let (z0, z1) = (z.get(&[b, 0]), z.get(&[b, 1]));
        if j == 0 {
            1.0 + z0
        } else {
            -2.0 + 0.6 * z0 + 0.5 * z1
        }
    });
    let mean = Tensor::from_fn(&[2], |j| {
        (0..2000).map(|b| x.get(&[b, j])).sum::<f64>() / 2000.0
    });
    let cov = Tensor::from_fn(&[2, 2], |k| {
        let (i, j) = (k / 2, k % 2);
        (0..2000)
            .map(|b| (x.get(&[b, i]) - mean.data()[i]) * (x.get(&[b, j]) - mean.data()[j]))
            .sum::<f64>()
            / 2000.0
    });
    (x, mean, cov)
}

fn main() -> Result<(), Error> {
    let (x, mean, cov) = gaussian_data();
    println!(
        "data: mean {:?}, inverse covariance {:?}",
        mean.data(),
        inverse(&cov)?.data()
    );

    // Exact score matching: the minimiser is the MLE, μ = x̄, P = Σ̂⁻¹.
    let mut model = QuadraticEnergy::<f64>::new(2).unwrap();
    let frozen = model.clone();
    let loss = descend(model.params_mut(), 1500, 0.02, |tape, params| {
        exact_score_matching(tape, &|x| frozen.energy(params, x), &x, None)
    })?;
    println!(
        "exact SM:   loss {loss:.4}, mean {:?}, precision {:?}",
        model.mean().data(),
        model.precision().data()
    );

    // Sliced SM-VR with one Rademacher projection per sample and step: the
    // same answer, from one HVP instead of d per step.
    let mut model = QuadraticEnergy::<f64>::new(2).unwrap();
    let frozen = model.clone();
    let mut rng: Rng64 = seeded(2);
    let loss = descend(model.params_mut(), 1500, 0.02, |tape, params| {
        let projections = Projections::Random {
            kind: ProjectionKind::Rademacher,
            count: 1,
            rng: &mut rng,
        };
        let energy = |x| frozen.energy(params, x);
        sliced_score_matching(
            tape,
            &energy,
            &x,
            projections,
            SlicedVariant::VarianceReduced,
            None,
        )
    })?;
    println!(
        "sliced SM:  loss {loss:.4}, mean {:?}, precision {:?}",
        model.mean().data(),
        model.precision().data()
    );

    // Denoising SM at σ = 0.5: the model learns the noised data, P → (Σ̂ + σ²I)⁻¹.
    let sigma = 0.5;
    let mut model = QuadraticEnergy::<f64>::new(2).unwrap();
    let frozen = model.clone();
    let mut rng = seeded(3);
    let loss = descend(model.params_mut(), 1500, 0.02, |tape, params| {
        let energy = |x| frozen.energy(params, x);
        denoising_score_matching(tape, &energy, &x, sigma, Noise::Random(&mut rng), None)
    })?;
    let noised = Tensor::from_fn(&[2, 2], |k| {
        cov.data()[k] + if k % 3 == 0 { sigma * sigma } else { 0.0 }
    });
    println!(
        "DSM:        loss {loss:.4}, precision {:?} (expected ≈ {:?})",
        model.precision().data(),
        inverse(&noised)?.data()
    );
    // Tweedie: the posterior mean of a clean point given a noisy one.
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let noisy = Tensor::from_rows(&[vec![3.0, 0.0]])?;
    let clean = tweedie_denoise_energy(&tape, &|x| model.energy(&params, x), &noisy, sigma)?;
    println!("Tweedie:    {:?} -> {:?}", noisy.data(), clean.data());

    // The Fisher divergence to the (here known) data score judges the fits.
    let truth = QuadraticEnergy::from_mean_precision(&mean, &inverse(&cov)?)?;
    let tape = Tape::new();
    let truth_params = truth.params().record(&tape);
    let xv = tape.input(x.clone());
    let data_score = grad(truth.energy(&truth_params, xv).sum(), &[xv])?[0]
        .value()
        .map(|v| -v);
    let params = model.params().record(&tape);
    let divergence =
        fisher_divergence(&tape, &|x| model.energy(&params, x), &x, &data_score, None)?;
    println!(
        "Fisher divergence of the DSM fit from the MLE: {:.4}",
        divergence.item()
    );

    // Ratio matching on all 2³ states of a Boltzmann machine, weighted by
    // their exact probabilities, recovers its coupling and bias.
    let w = Tensor::from_rows(&[
        vec![0.0, 0.8, -0.5],
        vec![0.8, 0.0, 0.3],
        vec![-0.5, 0.3, 0.0],
    ])?;
    let truth = Boltzmann::from_parts(&w, &Tensor::vector(&[0.2, -0.4, 0.1]))?;
    let states = Boltzmann::<f64>::all_states(3)?;
    let probabilities = truth.exact_probabilities()?;
    let mut model = Boltzmann::<f64>::new(3).unwrap();
    let frozen = model.clone();
    let loss = descend(model.params_mut(), 1500, 0.02, |tape, params| {
        ratio_matching(
            tape,
            &|x| frozen.energy(params, x),
            &states,
            Some(&probabilities),
        )
    })?;
    println!(
        "ratio:      loss {loss:.4}, coupling {:?}, bias {:?}",
        model.coupling().data(),
        model.bias().data()
    );
    Ok(())
}
