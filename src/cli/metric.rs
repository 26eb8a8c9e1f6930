//! `scoretape eval --metric loglik|pll|ksd`: the held-out log-likelihood (with
//! log Z by the most exact method the model allows, and a reliability flag),
//! the pseudo-log-likelihood of a model on bits, or the kernel Stein
//! discrepancy of an energy model on ℝᵈ, printed as one JSON line.

use super::common::{at_least_one, Dataset};
use super::error::CliError;
use crate::error::Error;
use crate::io::AnyModel;
use crate::model::{AffineMap, Model, MAX_ENUMERATED_DIM};
use crate::sample::{
    energy_fn, kernel_stein_discrepancy, log_likelihood, log_likelihood_with,
    pseudo_log_likelihood, score_fn, AisConfig, LogLikelihoodReport, LogPartition, LogZMethod,
};
use clap::{Args, ValueEnum};
use serde_json::{json, Value};

/// A whole-data metric of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Metric {
    /// The mean log-density -E(x) - log Z over the data, with its standard
    /// error (energy models on ℝ^d; a Boltzmann machine with d ≤ 20 on bits).
    Loglik,
    /// The mean pseudo-log-likelihood Σ_j log p(x_j | x_-j) over binary data
    /// (a Boltzmann machine, or an MLP energy fitted on bits).
    Pll,
    /// The kernel Stein discrepancy U-statistic (an unbiased estimate of
    /// KSD², IMQ kernel; it can be negative), with its standard error: needs
    /// only the score, so no log Z (energy models on ℝ^d).
    Ksd,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::Loglik => "loglik",
            Metric::Pll => "pll",
            Metric::Ksd => "ksd",
        }
    }
}

/// How `--metric loglik` gets log Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum LogZChoice {
    /// The most exact method the model allows: closed form (quadratic),
    /// enumeration (boltzmann), grid (2-D), else AIS.
    #[default]
    Auto,
    /// The quadratic model's closed form.
    ClosedForm,
    /// Midpoint quadrature on an automatically sized 2-D grid.
    Grid,
    /// Annealed importance sampling.
    Ais,
}

/// The options of `eval --metric`.
#[derive(Args, Debug, Clone, Default)]
pub struct MetricArgs {
    /// Evaluate this metric over the whole data set instead of a loss or a
    /// per-sample quantity.
    #[arg(long, value_enum, conflicts_with = "quantity")]
    pub metric: Option<Metric>,
    /// --metric loglik: how to get log Z [default: auto].
    #[arg(long, value_enum)]
    pub log_z: Option<LogZChoice>,
    /// --metric loglik with AIS: annealing steps (more make the weights
    /// more even, at proportional cost) [default: 256].
    #[arg(long, value_parser = at_least_one)]
    pub temperatures: Option<usize>,
    /// --metric loglik with AIS: chains (a multiple of --groups, at least 2
    /// per group) [default: 512].
    #[arg(long, value_parser = at_least_one)]
    pub chains: Option<usize>,
    /// --metric loglik with AIS: independent groups the chains are split into,
    /// for the standard error and the agreement check (at least 2)
    /// [default: 8].
    #[arg(long, value_parser = at_least_one)]
    pub groups: Option<usize>,
    /// --metric loglik with AIS: MALA steps per temperature [default: 1].
    #[arg(long, value_parser = at_least_one)]
    pub mala_steps: Option<usize>,
}

impl MetricArgs {
    /// A usage error if a metric option is given without `--metric loglik`.
    pub(crate) fn check_unused(&self) -> Result<(), CliError> {
        let given = [
            ("--log-z", self.log_z.is_some()),
            ("--temperatures", self.temperatures.is_some()),
            ("--chains", self.chains.is_some()),
            ("--groups", self.groups.is_some()),
            ("--mala-steps", self.mala_steps.is_some()),
        ];
        match given.iter().find(|(_, present)| *present) {
            Some((flag, _)) if self.metric != Some(Metric::Loglik) => Err(CliError::usage(
                format!("{flag} is an option of --metric loglik"),
            )),
            _ => Ok(()),
        }
    }

    /// The AIS settings, checked (a bad combination is a usage error).
    pub(crate) fn ais_config(&self, seed: u64) -> Result<AisConfig, CliError> {
        let defaults = AisConfig::default();
        let config = AisConfig {
            temperatures: self.temperatures.unwrap_or(defaults.temperatures),
            chains: self.chains.unwrap_or(defaults.chains),
            groups: self.groups.unwrap_or(defaults.groups),
            steps_per_temperature: self.mala_steps.unwrap_or(defaults.steps_per_temperature),
            seed,
            ..defaults
        };
        config.validate().map_err(|e| {
            let message = match e {
                Error::InvalidData(message) => message,
                other => other.to_string(),
            };
            CliError::usage(format!("{message} (--chains, --groups, --temperatures)"))
        })?;
        Ok(config)
    }
}

/// Evaluates `metric` of `model` on `data` (in the data's original units) as
/// the JSON object `eval` prints, and the warning to print on stderr when the
/// number is unreliable.
///
/// The model sees the rows through `input_map`, z = A(x − m), as it was
/// fitted; a log-likelihood then gains log|det A| (the density of x is the
/// density of z times |det A|), so it is in the data's units. The
/// pseudo-log-likelihood and the KSD are those of the model's inputs.
pub(crate) fn evaluate_metric(
    metric: Metric,
    args: &MetricArgs,
    seed: u64,
    model: &AnyModel,
    input_map: Option<&AffineMap>,
    data: &Dataset,
) -> Result<(Value, Option<String>), CliError> {
    let config = args.ais_config(seed)?;
    let mapped;
    let data = match input_map {
        Some(map) => {
            mapped = Dataset {
                path: data.path.clone(),
                x: map.apply(&data.x),
                lines: data.lines.clone(),
            };
            &mapped
        }
        None => data,
    };
    match metric {
        Metric::Loglik => {
            let report = loglik(args.log_z.unwrap_or_default(), &config, model, data)?;
            Ok(loglik_json(&report, input_map))
        }
        Metric::Pll => {
            let energy = pll_model(model)?;
            data.check_binary("the pseudo-log-likelihood")?;
            let pll = pseudo_log_likelihood(energy_fn(energy), &data.x)?;
            let out = json!({"metric": metric.name(), "value": pll.value, "se": pll.std_error});
            Ok((out, None))
        }
        Metric::Ksd => {
            let energy = ksd_model(model)?;
            if data.len() < 2 {
                return Err(CliError::data(format!(
                    "{}: the kernel Stein discrepancy averages over pairs of rows, \
                     so it needs at least 2 rows, got {}",
                    data.path.display(),
                    data.len()
                )));
            }
            let ksd = kernel_stein_discrepancy(score_fn(energy), &data.x)?;
            let out = json!({"metric": metric.name(), "value": ksd.value, "se": ksd.std_error});
            Ok((out, None))
        }
    }
}

/// The JSON object of a log-likelihood report (`eval --metric loglik`'s
/// line), in the data's original units when the model saw them through
/// `input_map` (the value gains log|det A|, also printed as `log_abs_det`),
/// and the warning to print when the number is unreliable.
pub(crate) fn loglik_json(
    report: &LogLikelihoodReport,
    input_map: Option<&AffineMap>,
) -> (Value, Option<String>) {
    let warning = report.warning.as_ref().map(|w| {
        format!(
            "{w} (options --temperatures, --chains, --mala-steps; \
             the number printed is not to be trusted)"
        )
    });
    let mut out = json!({
        "metric": Metric::Loglik.name(),
        "value": report.value,
        "se": report.se,
        "log_z": report.log_z,
        "log_z_se": report.log_z_se,
        "ess": report.ess,
        "method": report.method.name(),
        "reliable": report.reliable,
    });
    if let Some(map) = input_map {
        out["value"] = json!(report.value + map.log_abs_det());
        out["log_abs_det"] = json!(map.log_abs_det());
    }
    (out, warning)
}

/// The model `ksd` applies to: an energy model with a score on ℝ^d.
fn ksd_model(model: &AnyModel) -> Result<&dyn crate::model::Energy<f64>, CliError> {
    match model {
        AnyModel::Quadratic(m) => Ok(m),
        AnyModel::MlpEnergy(m) => Ok(m),
        other => Err(CliError::usage(format!(
            "--metric ksd needs the score of an energy model on real space (quadratic, \
             mlp-energy), not a {}{}",
            other.kind(),
            if matches!(other, AnyModel::Boltzmann(_)) {
                " (a model of bits has no score; use --metric pll or loglik)"
            } else {
                ""
            }
        ))),
    }
}

/// The held-out log-likelihood report, refusing what does not apply.
fn loglik(
    choice: LogZChoice,
    config: &AisConfig,
    model: &AnyModel,
    data: &Dataset,
) -> Result<LogLikelihoodReport, CliError> {
    let energy = model.as_energy().ok_or_else(|| {
        CliError::usage(format!(
            "--metric loglik needs an energy model; a {} gives a score, not a density",
            model.kind()
        ))
    })?;
    if let AnyModel::Boltzmann(machine) = model {
        // A density on bits: Z is a sum over {0, 1}^d, not an integral.
        if choice != LogZChoice::Auto {
            return Err(CliError::usage(
                "a boltzmann machine's log Z is exact by enumeration; drop --log-z",
            ));
        }
        if machine.dim() > MAX_ENUMERATED_DIM {
            return Err(CliError::usage(format!(
                "log Z of a boltzmann machine on {} bits cannot be enumerated (at most {}); \
                 use --metric pll",
                machine.dim(),
                MAX_ENUMERATED_DIM
            )));
        }
        data.check_binary("the log-likelihood of a boltzmann machine")?;
        let log_z = LogPartition::exact(machine.log_partition()?, LogZMethod::Enumeration);
        return Ok(log_likelihood_with(energy_fn(energy), &data.x, &log_z)?);
    }
    let method = match choice {
        LogZChoice::Auto => None,
        LogZChoice::ClosedForm if energy.closed_form_log_partition().is_none() => {
            return Err(CliError::usage(format!(
                "--log-z closed-form: a {} has no closed-form log Z",
                model.kind()
            )))
        }
        LogZChoice::ClosedForm => Some(LogZMethod::ClosedForm),
        LogZChoice::Grid if model.dim() != 2 => {
            return Err(CliError::usage(format!(
                "--log-z grid integrates 2-D models, but the model has dimension {}",
                model.dim()
            )))
        }
        LogZChoice::Grid => Some(LogZMethod::Grid),
        LogZChoice::Ais => Some(LogZMethod::Ais),
    };
    if data.check_binary("").is_ok() {
        eprintln!(
            "warning: {}: the data are bits, but --metric loglik integrates the model over \
             real space; for a model on bits, --metric pll is the meaningful number",
            data.path.display()
        );
    }
    Ok(log_likelihood(energy, &data.x, method, config)?)
}

/// The energy model `pll` applies to: one meant for bits.
fn pll_model(model: &AnyModel) -> Result<&dyn crate::model::Energy<f64>, CliError> {
    match model {
        AnyModel::Boltzmann(m) => Ok(m),
        AnyModel::MlpEnergy(m) => Ok(m),
        other => Err(CliError::usage(format!(
            "--metric pll is for models on bits (boltzmann, or an mlp-energy fitted by rm), \
             not a {}",
            other.kind()
        ))),
    }
}
