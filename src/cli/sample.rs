//! `scoretape sample`: draws samples from a fitted model with Langevin
//! dynamics, MALA, or annealed Langevin over the noise levels of a
//! σ-conditioned score network; one chain per sample, started from N(0, I)
//! (annealed: N(0, σ₁²I)). A Boltzmann machine, a model of binary data with
//! no density on ℝᵈ, is sampled by Gibbs sampling instead, from uniformly
//! random bits; the Langevin samplers refuse it, and Gibbs sampling refuses
//! every other model.

use super::common::{at_least_one, load_model, naming, positive, write_samples};
use super::error::CliError;
use super::limits::{check_values, product};
use crate::error::Error;
use crate::io::AnyModel;
use crate::model::Energy;
use crate::random::{bernoulli_tensor, normal_tensor, seeded, Rng64};
use crate::sample::{
    annealed_langevin, conditioned_score_fn, energy_score_fn, geometric_sigmas, gibbs, langevin,
    mala, score_fn, AnnealedConfig,
};
use crate::tensor::Tensor;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// A sampler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SamplerArg {
    /// Unadjusted Langevin: x ← x + α s(x) + √(2α) ξ.
    Langevin,
    /// Metropolis-adjusted Langevin (energy models; exact in the limit).
    Mala,
    /// Annealed Langevin over noise levels (σ-conditioned mlp-score), with a
    /// final Tweedie denoising step.
    Annealed,
    /// Gibbs sampling (Boltzmann machines only): each step redraws every bit
    /// from its conditional given the others.
    Gibbs,
}

/// Options of `scoretape sample`.
#[derive(Args, Debug, Clone)]
pub struct SampleArgs {
    /// The model file (JSON).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The number of samples (independent chains).
    #[arg(long, value_parser = at_least_one)]
    pub n: usize,
    /// The sampler [default: gibbs for a Boltzmann machine, langevin otherwise].
    #[arg(long, value_enum)]
    pub sampler: Option<SamplerArg>,
    /// Steps per chain (annealed: per noise level; gibbs: sweeps over all bits).
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// The step size α (annealed: ε, the step at the smallest level).
    #[arg(long, value_parser = positive, default_value_t = 0.01)]
    pub step_size: f64,
    /// annealed: the largest noise level.
    #[arg(long, value_parser = positive, default_value_t = 1.0)]
    pub sigma_max: f64,
    /// annealed: the smallest noise level.
    #[arg(long, value_parser = positive, default_value_t = 0.01)]
    pub sigma_min: f64,
    /// annealed: the number of levels, spaced geometrically.
    #[arg(long, value_parser = at_least_one, default_value_t = 10)]
    pub levels: usize,
    /// The seed of the initial states and the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `scoretape sample`.
pub(crate) fn run(args: &SampleArgs) -> Result<(), CliError> {
    let file = load_model(&args.model)?;
    let model = &file.model;
    check_values(product(&[args.n, model.dim()]), || {
        format!("{} samples of dimension {}", args.n, model.dim())
    })?;
    let samples = draw(model, args).map_err(|e| naming(&args.model, e))?;
    // The sampler runs on the model's inputs z; x = m + A⁻¹z in the data's units.
    let samples = match &file.input_map {
        Some(map) => map.invert(&samples),
        None => samples,
    };
    let what = format!("the samples of {}", args.model.display());
    write_samples(args.out.as_deref(), &samples, &what)
}

/// The samples, `[n, d]`.
pub(crate) fn draw(model: &AnyModel, args: &SampleArgs) -> Result<Tensor<f64>, CliError> {
    let mut rng = seeded(args.seed);
    let sampler = args.sampler.unwrap_or(match model {
        AnyModel::Boltzmann(_) => SamplerArg::Gibbs,
        _ => SamplerArg::Langevin,
    });
    let wrong = |what: &str| {
        CliError::data(format!(
            "the {} sampler needs {what}, but {} is a {} model",
            format!("{sampler:?}").to_lowercase(),
            args.model.display(),
            model.kind()
        ))
    };
    let shape = [args.n, model.dim()];
    let start: Tensor<f64> = if sampler == SamplerArg::Gibbs {
        bernoulli_tensor(&shape, 0.5, &mut rng)
    } else {
        normal_tensor(&shape, &mut rng)
    };
    let samples = match (sampler, model) {
        (SamplerArg::Gibbs, AnyModel::Boltzmann(m)) => gibbs(m, start, args.steps, &mut rng)?,
        (_, AnyModel::Boltzmann(_)) => {
            return Err(CliError::data(format!(
                "the {} sampler follows the score of a density on ℝᵈ, but {} is a Boltzmann \
                 machine, a model of binary data with no density there; use --sampler gibbs",
                format!("{sampler:?}").to_lowercase(),
                args.model.display()
            )))
        }
        (SamplerArg::Gibbs, _) => return Err(wrong("a Boltzmann machine")),
        (SamplerArg::Annealed, AnyModel::MlpScore(m)) if m.is_sigma_conditioned() => {
            let sigmas = geometric_sigmas(args.sigma_max, args.sigma_min, args.levels)?;
            let config = AnnealedConfig {
                sigmas,
                epsilon: args.step_size,
                steps_per_level: args.steps,
                denoise: true,
            };
            let start = start.map(|v| v * args.sigma_max);
            annealed_langevin(conditioned_score_fn(m), start, &config, &mut rng)?
        }
        (SamplerArg::Annealed, _) => return Err(wrong("a σ-conditioned mlp-score")),
        (SamplerArg::Langevin, AnyModel::MlpScore(m)) if !m.is_sigma_conditioned() => {
            // The σ argument is ignored by an unconditioned network.
            let score = conditioned_score_fn(m);
            langevin(
                |x: &Tensor<f64>| score(x, 1.0),
                start,
                args.step_size,
                args.steps,
                &mut rng,
            )?
        }
        (_, AnyModel::MlpScore(_)) => {
            return Err(wrong(
                "an energy (or, for langevin, an unconditioned score)",
            ))
        }
        (sampler, AnyModel::MlpEnergy(m)) => with_energy(sampler, m, start, args, &mut rng)?,
        (sampler, AnyModel::Quadratic(m)) => with_energy(sampler, m, start, args, &mut rng)?,
    };
    Ok(samples)
}

/// Langevin or MALA on an energy model.
fn with_energy<M: Energy<f64>>(
    sampler: SamplerArg,
    model: &M,
    start: Tensor<f64>,
    args: &SampleArgs,
    rng: &mut Rng64,
) -> Result<Tensor<f64>, Error> {
    if sampler == SamplerArg::Mala {
        let out = mala(
            energy_score_fn(model),
            start,
            args.step_size,
            args.steps,
            rng,
        )?;
        Ok(out.samples)
    } else {
        langevin(score_fn(model), start, args.step_size, args.steps, rng)
    }
}
