//! Checks of the command line that clap cannot express, run before any
//! file is read: options that do not apply to the chosen model, objective or
//! sampler are refused rather than silently dropped (exit 2); values that
//! are each fine but do not go together are refused (exit 2); and requests
//! whose size is known from the command line alone are checked against the
//! memory bound of [`super::limits`] (exit 1).

use super::error::CliError;
use super::fit::ModelArg;
use super::limits::{check_values, mlp_parameters, product, sum};
use super::objective::ObjectiveName;
use super::sample::SamplerArg;
use super::Command;
use crate::data::ToyData;
use crate::workloads::Size;
use clap::parser::ValueSource;
use clap::ArgMatches;

/// Runs every check on the parsed command and its matches (the
/// subcommand's, which say which options were given on the command line).
pub(crate) fn check(command: &Command, matches: &ArgMatches) -> Result<(), CliError> {
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    // Refuses each of `options` (argument ids) that was given, saying why it
    // does not apply.
    let refuse = |options: &[&str], why: &str| -> Result<(), CliError> {
        match options.iter().find(|id| given(id)) {
            Some(id) => Err(CliError::usage(format!(
                "--{} does not apply {why}",
                id.replace('_', "-")
            ))),
            None => Ok(()),
        }
    };
    match command {
        Command::Fit(a) => {
            if !matches!(a.model, ModelArg::Mlp | ModelArg::MlpScore) {
                refuse(
                    &["hidden", "activation"],
                    "to this --model (only mlp and mlp-score have hidden layers)",
                )?;
            }
            if a.model != ModelArg::MlpScore {
                refuse(&["sigma_conditioned"], "to this --model (only mlp-score)")?;
            }
            if !a.objective.is_sliced() {
                refuse(
                    &["projections", "projection_kind"],
                    "to this --objective (only ssm, ssm-vr and fd-ssm)",
                )?;
            }
            if a.objective != ObjectiveName::FdSsm {
                refuse(&["epsilon"], "to this --objective (only fd-ssm)")?;
            }
            if a.objective != ObjectiveName::Dsm {
                refuse(&["sigma", "sigmas"], "to this --objective (only dsm)")?;
            }
            if !a.resume {
                refuse(&["allow_other_data"], "without --resume")?;
            }
            if a.objective == ObjectiveName::Gsm {
                refuse(
                    &["standardize", "whiten", "dequantize"],
                    "to gsm (it moves data below 0, out of gsm's support [0, ∞))",
                )?;
            } else {
                refuse(&["weight"], "to this --objective (only gsm)")?;
            }
        }
        Command::Eval(a) => {
            match a.objective {
                None => refuse(
                    &[
                        "grad",
                        "projections",
                        "num_projections",
                        "projection_kind",
                        "noise",
                        "sigma",
                        "epsilon",
                    ],
                    "to --quantity (it is an option of --objective)",
                )?,
                Some(o) => {
                    refuse(&["vectors"], "to --objective (only to --quantity hvp)")?;
                    if !o.is_sliced() {
                        refuse(
                            &["projections", "num_projections", "projection_kind"],
                            "to this --objective (only ssm, ssm-vr and fd-ssm)",
                        )?;
                    }
                    if o != ObjectiveName::FdSsm {
                        refuse(&["epsilon"], "to this --objective (only fd-ssm)")?;
                    }
                    if o != ObjectiveName::Dsm {
                        refuse(&["noise", "sigma"], "to this --objective (only dsm)")?;
                    }
                }
            }
            if a.objective != Some(ObjectiveName::Gsm) {
                refuse(&["weight"], "to this --objective or --quantity (only gsm)")?;
            }
            if a.quantity.is_some() && a.quantity != Some(super::Quantity::Hvp) {
                refuse(&["vectors"], "to this --quantity (only hvp)")?;
            }
        }
        Command::Sample(a) => {
            if a.sampler == Some(SamplerArg::Gibbs) {
                refuse(&["step_size"], "to --sampler gibbs (it has no step)")?;
            }
            if a.sampler != Some(SamplerArg::Annealed) {
                refuse(
                    &["sigma_max", "sigma_min", "levels"],
                    "to this --sampler (only annealed)",
                )?;
            } else if a.sigma_min > a.sigma_max {
                return Err(CliError::usage(format!(
                    "--sigma-min {:?} is larger than --sigma-max {:?}",
                    a.sigma_min, a.sigma_max
                )));
            } else if a.levels == 1 && a.sigma_min != a.sigma_max {
                return Err(CliError::usage(
                    "--levels 1 cannot go from --sigma-max down to a different --sigma-min; give --levels 2 or more",
                ));
            }
        }
        Command::Data(a) => {
            let set = a
                .name
                .parse::<ToyData>()
                .map_err(|e| CliError::usage(e.to_string()))?;
            if !matches!(set, ToyData::BarsAndStripes { .. }) {
                refuse(&["side"], "to this data set (only bars-and-stripes)")?;
            }
            let dim = match set {
                ToyData::BarsAndStripes { .. } => product(&[a.side, a.side]),
                other => Some(other.dim() as u128),
            };
            let values = dim.and_then(|d| d.checked_mul(a.n as u128));
            check_values(values, || {
                format!(
                    "{} samples of {} values",
                    a.n,
                    dim.map_or("too many".into(), |d| d.to_string())
                )
            })?;
        }
        Command::Bench(a) => {
            if let Some(dim) = a.dim {
                let sizes: &[Size] = if a.size.is_empty() {
                    &Size::ALL
                } else {
                    &a.size
                };
                let batched = a.workload.is_empty() || a.workload.iter().any(|w| w.is_batched());
                for size in sizes.iter().filter(|_| batched) {
                    let dims = size.dims();
                    // The batch and the first weight matrix, at least.
                    let values = sum(&[product(&[dims.batch, dim]), product(&[dim, dims.hidden])]);
                    check_values(values, || format!("--dim {dim} at size {size}"))?;
                }
            }
        }
        Command::Denoise(_) | Command::Plot(_) | Command::Demo(_) => {}
    }
    Ok(())
}

/// Refuses an MLP whose parameters (with Adam's two buffers and the
/// gradient, four copies) cannot be held: `widths` are input, hidden…,
/// output.
pub(crate) fn check_mlp_size(widths: &[usize], option: &str) -> Result<(), CliError> {
    let values = mlp_parameters(widths).and_then(|p| p.checked_mul(4));
    check_values(values, || {
        format!("the parameters of an MLP with layer widths {widths:?} ({option})")
    })
}
