//! The report at the end of `scoretape fit`: how the fitted model does on
//! rows it was not trained on (the validation split and the `--test` file),
//! by the numbers `eval --metric` prints.
//!
//! - A continuous energy model: the held-out log-likelihood in the data's
//!   original units (log Z once, from the training data, by the most exact
//!   method: closed form, 2-D grid, else AIS with `eval`'s default settings),
//!   and the kernel Stein discrepancy on the validation rows.
//! - A model fitted by ratio matching (on bits): the pseudo-log-likelihood.
//! - A score network has no density, so nothing is reported.
//!
//! One JSON line goes to stdout (the numbers were asked for, so even with
//! `--quiet`), a readable summary to stderr (not with `--quiet`), and a
//! warning to stderr for any number flagged unreliable.

use super::common::{print_json, Dataset};
use super::error::CliError;
use super::metric::{evaluate_metric, loglik_json, Metric, MetricArgs};
use crate::io::AnyModel;
use crate::model::AffineMap;
use crate::sample::{energy_fn, log_likelihood_with, log_partition, LogPartition};
use crate::tensor::Tensor;
use serde_json::{json, Map, Value};
use std::time::Instant;

/// Rows the fit did not train on, in the data's original units.
pub(crate) struct HeldOutSet {
    /// `validation` or `test`.
    pub name: &'static str,
    /// The rows; `path` names the file they came from.
    pub data: Dataset,
}

/// What the fit was and what it saw, for the report.
pub(crate) struct ReportContext<'a> {
    pub model: &'a AnyModel,
    pub input_map: Option<&'a AffineMap>,
    /// False for ratio matching: the model is a distribution on bits.
    pub continuous: bool,
    /// Every training row on the model's inputs z = A(x − m): they shape the
    /// log Z estimator (the AIS base, the grid's box).
    pub base: &'a Tensor<f64>,
    pub seed: u64,
    pub quiet: bool,
}

/// Computes and prints the report on `sets` (those with no rows are left out).
///
/// A failure of the report does not undo the fit, whose model is already
/// saved: it is a warning, and the JSON line carries it as `"error"`.
pub(crate) fn report(context: &ReportContext<'_>, sets: &[HeldOutSet]) -> Result<(), CliError> {
    let sets: Vec<&HeldOutSet> = sets.iter().filter(|s| s.data.len() > 0).collect();
    if sets.is_empty() {
        if !context.quiet {
            eprintln!("report: no validation or test rows to report on");
        }
        return Ok(());
    }
    let clock = Instant::now();
    let mut output = Map::new();
    let mut summary = Vec::new();
    match evaluate(context, &sets, &mut output, &mut summary) {
        Ok(Some(cost)) => {
            if !context.quiet {
                for line in &summary {
                    eprintln!("{line}");
                }
                eprintln!(
                    "report: {cost}, {:.1} s (--no-report skips it)",
                    clock.elapsed().as_secs_f64()
                );
            }
        }
        Ok(None) => {
            if !context.quiet {
                eprintln!(
                    "report: a {} gives a score, not a density: no log-likelihood to report",
                    context.model.kind()
                );
            }
            return Ok(());
        }
        Err(e) => {
            eprintln!("warning: the held-out report failed (the model is saved): {e}");
            output.insert("error".into(), json!(e.to_string()));
        }
    }
    print_json(&json!({ "report": Value::Object(output) }))
}

/// Fills `output` (one object per set) and `summary` (one line per set);
/// returns what the report computed, for the cost line, or `None` when the
/// model has no density.
fn evaluate(
    context: &ReportContext<'_>,
    sets: &[&HeldOutSet],
    output: &mut Map<String, Value>,
    summary: &mut Vec<String>,
) -> Result<Option<String>, CliError> {
    let args = MetricArgs::default();
    let model = context.model;
    if !context.continuous {
        for set in sets {
            let (pll, _) = evaluate_metric(
                Metric::Pll,
                &args,
                context.seed,
                model,
                context.input_map,
                &set.data,
            )?;
            summary.push(format!(
                "{}: pseudo-log-likelihood {} nats per row",
                heading(set),
                plus_minus(&pll)
            ));
            output.insert(set.name.into(), json!({"rows": set.data.len(), "pll": pll}));
        }
        return Ok(Some(
            "exact pseudo-log-likelihood (d bit flips per row)".into(),
        ));
    }
    let Some(energy) = model.as_energy() else {
        return Ok(None);
    };
    let config = args.ais_config(context.seed)?;
    let log_z: LogPartition = log_partition(energy, context.base, None, &config)?;
    for set in sets {
        let z = match context.input_map {
            Some(map) => map.apply(&set.data.x),
            None => set.data.x.clone(),
        };
        let loglik = log_likelihood_with(energy_fn(energy), &z, &log_z)?;
        let (loglik, warning) = loglik_json(&loglik, context.input_map);
        if let Some(w) = warning {
            eprintln!("warning: {} log-likelihood: {w}", set.name);
        }
        let mut line = format!(
            "{}: log-likelihood {} nats per row (log Z by {}{}{})",
            heading(set),
            plus_minus(&loglik),
            log_z.method.name(),
            log_z
                .ess
                .map_or_else(String::new, |ess| format!(", ESS {ess:.0}")),
            if log_z.reliable { "" } else { ", UNRELIABLE" }
        );
        let mut entry = json!({"rows": set.data.len(), "loglik": loglik});
        // The KSD on the validation rows: a check of the score that needs no
        // log Z (it averages over pairs, so needs two rows).
        if set.name == "validation" && set.data.len() >= 2 {
            let (ksd, _) = evaluate_metric(
                Metric::Ksd,
                &args,
                context.seed,
                model,
                context.input_map,
                &set.data,
            )?;
            line.push_str(&format!("; KSD² {}", plus_minus(&ksd)));
            entry["ksd"] = ksd;
        }
        summary.push(line);
        output.insert(set.name.into(), entry);
    }
    let cost = match log_z.ess {
        Some(_) => format!(
            "log Z by AIS with {} temperatures × {} chains ({} groups, {} MALA step each): \
             {} energy-and-score evaluations",
            config.temperatures,
            config.chains,
            config.groups,
            config.steps_per_temperature,
            config.temperatures * config.chains * config.steps_per_temperature
        ),
        None => format!("log Z by {}", log_z.method.name()),
    };
    Ok(Some(cost))
}

/// `validation (18 rows)` or `test (36 rows of FILE)`.
fn heading(set: &HeldOutSet) -> String {
    let rows = set.data.len();
    if set.name == "test" {
        format!("{} ({rows} rows of {})", set.name, set.data.path.display())
    } else {
        format!("{} ({rows} rows)", set.name)
    }
}

/// `value ± se` of a metric's JSON object.
fn plus_minus(metric: &Value) -> String {
    let value = metric["value"].as_f64().unwrap_or(f64::NAN);
    let se = metric["se"].as_f64().unwrap_or(f64::NAN);
    format!("{value:.4} ± {se:.4}")
}
