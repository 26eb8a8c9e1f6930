//! `scoretape denoise`: Tweedie's formula E[x | x̃] ≈ x̃ + σ² s(x̃) applied to
//! every row of a noisy data set.

use super::common::{load_model, naming, positive, write_samples, Dataset};
use super::error::CliError;
use crate::model::{AffineMap, Energy};
use crate::objective::tweedie_denoise_energy;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;
use clap::Args;
use std::path::PathBuf;

/// Options of `scoretape denoise`.
#[derive(Args, Debug, Clone)]
pub struct DenoiseArgs {
    /// The model file (JSON), fitted to data noised at level σ.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The noisy samples (CSV, one per row).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// The noise level σ > 0 of the data.
    #[arg(long, value_parser = positive)]
    pub sigma: f64,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `scoretape denoise`.
pub(crate) fn run(args: &DenoiseArgs) -> Result<(), CliError> {
    let file = load_model(&args.model)?;
    let model = &file.model;
    let data = Dataset::read(&args.data)?;
    data.check_dim(model, &args.model)?;
    let energy_model = model.as_energy().ok_or_else(|| {
        CliError::data(format!(
            "denoising needs an energy model, not {}",
            model.kind()
        ))
    })?;
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let clean = denoise_with(
        &tape,
        &params,
        energy_model,
        file.input_map.as_ref(),
        &data.x,
        args.sigma,
    )
    .map_err(|e| naming(&args.model, e))?;
    let what = format!(
        "the denoised {} by model {}",
        args.data.display(),
        args.model.display()
    );
    write_samples(args.out.as_deref(), &clean, &what)
}

fn denoise_with<'t>(
    tape: &'t Tape<f64>,
    params: &[Var<'t, f64>],
    model: &dyn Energy<f64>,
    input_map: Option<&AffineMap>,
    noisy: &Tensor<f64>,
    sigma: f64,
) -> Result<Tensor<f64>, CliError> {
    // Through an input map the score is Aᵀ s_z(A(x − m)), in the data's units.
    let energy = |x: Var<'t, f64>| match input_map {
        Some(map) => model.energy(params, map.apply_var(x)),
        None => model.energy(params, x),
    };
    Ok(tweedie_denoise_energy(tape, &energy, noisy, sigma)?)
}
