//! `scoretape demo`: the whole pipeline in one command — two-moons data, an
//! MLP energy fitted by sliced score matching, Langevin samples from it, and
//! the picture of all three.

use super::common::at_least_one;
use super::error::CliError;
use super::plot::{model_figure, save, Format};
use super::progress::Progress;
use crate::data::ToyData;
use crate::io::{save_model, AnyModel};
use crate::model::{Activation, MlpEnergy};
use crate::objective::{Objective, ProjectionKind, SlicedVariant};
use crate::optim::Adam;
use crate::random::{normal_tensor, seeded};
use crate::sample::{langevin, score_fn};
use crate::train::{fit_model, Budget, FitConfig};
use clap::Args;
use std::ops::ControlFlow;
use std::path::PathBuf;

/// Options of `scoretape demo`.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// The figure (.svg or .png); the fitted model is written next to it
    /// with `.model.json` appended.
    #[arg(long, value_name = "FILE", default_value = "docs/demo.png")]
    pub out: PathBuf,
    /// Training updates.
    #[arg(long, value_parser = at_least_one, default_value_t = 3000)]
    pub steps: usize,
    /// Data points (and samples).
    #[arg(long, value_parser = at_least_one, default_value_t = 1000)]
    pub n: usize,
    /// The seed of everything.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// No progress display.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `scoretape demo`.
pub(crate) fn run(args: &DemoArgs) -> Result<(), CliError> {
    let format = Format::of(&args.out)?;
    let data = ToyData::TwoMoons.generate::<f64>(args.n, args.seed)?;
    let mut model = AnyModel::MlpEnergy(MlpEnergy::new(
        2,
        &[64, 64],
        Activation::Softplus,
        args.seed,
    )?);
    let ssm = Objective::Sliced {
        kind: ProjectionKind::Gaussian,
        count: 1,
        variant: SlicedVariant::Standard,
    };
    let config = FitConfig {
        batch_size: 128,
        budget: Budget::Steps(args.steps as u64),
        seed: args.seed,
        ..FitConfig::default()
    };
    let mut progress = Progress::new(Some(args.steps as u64), args.quiet);
    let outcome = fit_model(
        &mut model,
        &ssm,
        &mut Adam::new(3e-3),
        &data,
        &config,
        |event| {
            progress.update(&event);
            ControlFlow::Continue(())
        },
    );
    progress.finish();
    outcome?;
    let mut rng = seeded(args.seed.wrapping_add(1));
    let start = normal_tensor::<f64, _>(&[args.n, 2], &mut rng);
    let AnyModel::MlpEnergy(energy) = &model else {
        unreachable!("the demo fits an MLP energy")
    };
    let samples = langevin(score_fn(energy), start, 0.005, 1000, &mut rng)?;
    let figure = model_figure(&model, None, &args.out, Some(&data), Some(&samples))?;
    let mut model_path = args.out.clone().into_os_string();
    model_path.push(".model.json");
    save_model(std::path::Path::new(&model_path), &model)?;
    save(&args.out, format, &figure)?;
    if !args.quiet {
        eprintln!(
            "wrote {} and {}",
            args.out.display(),
            PathBuf::from(model_path).display()
        );
    }
    Ok(())
}
