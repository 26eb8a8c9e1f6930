//! `scoretape fit`: fits a model to CSV data by a score-matching objective
//! with Adam, with a progress display, optional atomic checkpoints every N
//! updates, and `--resume` from the last checkpoint to bit-identical results.
//!
//! Checkpointing works because a fit resumed from a saved state continues
//! exactly as an uninterrupted one (see [`crate::train::resume`]): the fit
//! runs in segments that end at each checkpoint step.

use super::budget;
use super::checkpoint::{self, Checkpoint, DataIdentity};
use super::common::{at_least_one, positive, widths, Dataset};
use super::defaults;
use super::discrete;
use super::error::CliError;
use super::fit_report::{self, HeldOutSet, ReportContext};
use super::held_out;
use super::limits::{check_values, product};
use super::log::{format_log, read_log, LogRow};
use super::objective::{ObjectiveName, ObjectiveSettings, ProjectionArg, TraceArg};
use super::preprocess::PreprocessArgs;
use super::progress::Progress;
use super::solver::{self, SolverArg};
use super::validate::check_mlp_size;
use crate::error::Error;
use crate::io::{save_model_file, write_atomic, AnyModel, ModelFile};
use crate::model::{Activation, Boltzmann, MlpEnergy, MlpScore, QuadraticEnergy};
use crate::objective::fd_ssm_epsilon;
use crate::optim::Adam;
use crate::tensor::Tensor;
use crate::train::{resume_model, split_indices, Budget, Event, FitConfig, FitState, StopReason};
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// The model to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// An MLP energy (see --hidden, --activation).
    Mlp,
    /// A Gaussian energy ½(x-μ)ᵀP(x-μ), starting from μ = 0, P = I.
    Quadratic,
    /// A fully visible Boltzmann machine for binary data, starting at zero.
    Boltzmann,
    /// An MLP score network (see --hidden, --activation, --sigma-conditioned).
    MlpScore,
}

/// Options of `scoretape fit`.
#[derive(Args, Debug, Clone)]
pub struct FitArgs {
    /// The training data (CSV, one sample per row).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// The objective to minimise.
    #[arg(long, value_enum)]
    pub objective: ObjectiveName,
    /// The model to fit.
    #[arg(long, value_enum, default_value_t = ModelArg::Mlp)]
    pub model: ModelArg,
    /// mlp-score: condition the network on the noise level σ.
    #[arg(long)]
    pub sigma_conditioned: bool,
    /// mlp, mlp-score: hidden layer widths, comma-separated.
    #[arg(long, default_value = "64,64")]
    pub hidden: String,
    /// mlp: the activation (softplus, tanh, silu or elu).
    #[arg(long, default_value = "softplus")]
    pub activation: String,
    /// Passes over the training data (at most 2^53). Without --steps or
    /// --epochs the budget is 50 epochs but at least 2000 updates (printed).
    #[arg(long, value_name = "N", conflicts_with = "steps", value_parser = count)]
    pub epochs: Option<u64>,
    /// Updates in total, counting those before a --resume (at most 2^53).
    #[arg(long, value_name = "N", value_parser = count)]
    pub steps: Option<u64>,
    /// Samples per minibatch.
    #[arg(long, value_parser = at_least_one, default_value_t = 128)]
    pub batch_size: usize,
    /// Adam's learning rate. Default: by objective and model (printed):
    /// 0.03 for rm on a boltzmann model, 0.01 for rm on an mlp, 0.003 for
    /// dsm, 0.001 for esm, ssm and ssm-vr.
    #[arg(long, value_parser = positive)]
    pub lr: Option<f64>,
    /// The seed of the initialisation, the validation split, the minibatch
    /// order and the objective's random draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sliced objectives: random projections per sample.
    #[arg(long, value_name = "M", value_parser = at_least_one, default_value_t = 1)]
    pub projections: usize,
    /// Sliced objectives: the distribution of the projections.
    #[arg(long, value_enum, default_value_t = ProjectionArg::Gaussian)]
    pub projection_kind: ProjectionArg,
    /// esm with an energy model: the Hessian traces by d HVPs or by one
    /// forward-Laplacian sweep (the same loss to rounding). Default: the
    /// faster at the model's dimension (the Laplacian from d = 2 on).
    #[arg(long, value_enum)]
    pub trace: Option<TraceArg>,
    /// gsm: the weight function h, x2 (x²), x or min:C (min(x, C), C > 0).
    /// Default: x2.
    #[arg(long, value_name = "H", value_parser = super::objective::weight)]
    pub weight: Option<crate::objective::ScoreWeight>,
    /// fd-ssm: the finite-difference step ε > 0 (the error is O(ε²) from
    /// truncation plus about 1e-16·|E|/ε² from rounding).
    #[arg(long, value_parser = positive, default_value_t = fd_ssm_epsilon::<f64>())]
    pub epsilon: f64,
    /// dsm: the noise level σ > 0. Default (printed): Scott's rule,
    /// n^(-1/(d+4)) times the RMS column standard deviation of the model's
    /// inputs, with n the training rows (≈ 0.3 for 1000 standardised rows
    /// in 2-D, 0.76 for 96 in 13-D).
    #[arg(long, value_parser = positive)]
    pub sigma: Option<f64>,
    /// dsm with a σ-conditioned mlp-score: the noise levels, comma-separated
    /// (each sample gets one at random); replaces --sigma.
    #[arg(long, value_name = "LIST")]
    pub sigmas: Option<String>,
    /// The fraction of the data held out to report a validation loss.
    #[arg(long, default_value_t = 0.1)]
    pub validation: f64,
    /// After fitting, report the objective's loss on this data (CSV, same
    /// columns), with draws from --seed.
    #[arg(long, value_name = "FILE")]
    pub test: Option<PathBuf>,
    /// Skip the report at the end (the held-out log-likelihood, or the
    /// pseudo-log-likelihood on bits, on the validation and --test rows, and
    /// the KSD on the validation rows; one JSON line on stdout). Its cost is
    /// that of `eval --metric loglik`: for an MLP in d > 2, AIS with 256
    /// temperatures × 512 chains.
    #[arg(long)]
    pub no_report: bool,
    /// Stop when the validation loss has not improved for this many epochs.
    #[arg(long, value_name = "EPOCHS")]
    pub patience: Option<u64>,
    /// Write a checkpoint every N updates (and at the end).
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub checkpoint_every: Option<usize>,
    /// The checkpoint file (default: the --out file with .checkpoint.json added).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Continue from the checkpoint instead of starting afresh. The command
    /// line must be the same as the one that made the checkpoint (apart from
    /// --steps/--epochs, --quiet, --resume); the data too, unless
    /// --allow-other-data.
    #[arg(long)]
    pub resume: bool,
    /// --resume: continue even though the data is not the checkpoint's (it
    /// is identified by its shape and a hash of its values).
    #[arg(long)]
    pub allow_other_data: bool,
    /// Write the training log (CSV: step,epoch,loss,validation_loss) here.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// No progress display.
    #[arg(long)]
    pub quiet: bool,
    /// How the parameters are found: gradient (Adam) or closed-form
    /// (--model quadratic only).
    #[arg(long, value_enum, default_value_t = SolverArg::Gradient)]
    pub solver: SolverArg,
    /// Add uniform noise of one grid step to each discrete-valued column
    /// (at most half as many distinct values as rows), redrawn every epoch.
    #[arg(long)]
    pub dequantize: bool,
    /// --standardize / --whiten.
    #[command(flatten)]
    pub preprocess: PreprocessArgs,
    /// Where to write the fitted model (JSON).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

impl FitArgs {
    /// The checkpoint file, if the fit writes or reads one.
    pub(crate) fn checkpoint_path(&self) -> Option<PathBuf> {
        if let Some(path) = &self.checkpoint {
            return Some(path.clone());
        }
        if self.checkpoint_every.is_none() && !self.resume {
            return None;
        }
        let mut name = self.out.clone().into_os_string();
        name.push(".checkpoint.json");
        Some(PathBuf::from(name))
    }

    fn objective(&self) -> Result<ObjectiveSettings, CliError> {
        let sigmas = match &self.sigmas {
            Some(list) => parse_sigmas(list)?,
            None => vec![self.sigma.expect("fit resolves --sigma before training")],
        };
        Ok(ObjectiveSettings {
            name: self.objective,
            projections: self.projections,
            projection_kind: self.projection_kind,
            sigmas,
            trace: self.trace,
            weight: self.weight,
            epsilon: self.epsilon,
        })
    }

    /// The settings a resumed fit must share with the fit that wrote the
    /// checkpoint, for the result to be the same as an uninterrupted fit.
    fn fixed_settings(&self) -> Map<String, Value> {
        let model = self
            .model
            .to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string());
        let mut value = json!({
            "model": model,
            "objective": self.objective.name(),
            "batch_size": self.batch_size,
            "lr": self.lr,
            "seed": self.seed,
            "projections": self.projections,
            "projection_kind": format!("{:?}", self.projection_kind).to_lowercase(),
            "sigma": self.sigma,
            "sigmas": self.sigmas,
            "validation": self.validation,
            "input_map": self.preprocess.name(),
        });
        if matches!(self.model, ModelArg::Mlp | ModelArg::MlpScore) {
            let hidden = widths(&self.hidden).unwrap_or_default();
            value["hidden"] = json!(hidden);
            value["activation"] = json!(self.activation.trim());
        }
        if self.objective == ObjectiveName::FdSsm {
            value["epsilon"] = json!(self.epsilon);
        }
        if self.model == ModelArg::MlpScore {
            value["sigma_conditioned"] = json!(self.sigma_conditioned);
        }
        if let Some(weight) = self.objective().ok().and_then(|o| o.gsm_weight()) {
            value["weight"] = json!(weight.to_string());
        }
        match value {
            Value::Object(map) => map,
            _ => unreachable!("json! of an object"),
        }
    }
}

/// The most updates or epochs a fit may ask for: 2^53, the largest count
/// that a float (the progress display, the log) holds exactly. Far beyond
/// any fit that can finish; larger values are surely typing errors.
const MAX_COUNT: u64 = 1 << 53;

/// clap value parser: a count of updates or epochs, 0 to 2^53.
fn count(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(v) if v <= MAX_COUNT => Ok(v),
        _ => Err(format!(
            "must be a whole number from 0 to 2^53 = {MAX_COUNT}"
        )),
    }
}

/// Runs `scoretape fit`.
pub(crate) fn run(args: &FitArgs) -> Result<(), CliError> {
    solver::check(
        args.solver,
        args.model,
        args.resume,
        args.checkpoint_every.is_some(),
    )?;
    let mut data = Dataset::read(&args.data)?;
    check_sizes(args, &data)?;
    if args.objective == ObjectiveName::Rm {
        data.check_binary("ratio matching")?;
    }
    if args.objective == ObjectiveName::Gsm {
        data.check_nonnegative("generalized score matching (gsm)")?;
    }
    if let Some(path) = &args.test {
        // Fail before fitting, not after, on a test file that cannot be used.
        let test = Dataset::read(path)?;
        if test.dim() != data.dim() {
            return Err(CliError::data(format!(
                "{}: the test data has {} columns but {} has {}",
                path.display(),
                test.dim(),
                data.path.display(),
                data.dim()
            )));
        }
    }
    let input_map = args.preprocess.input_map(&data, args.objective)?;
    let training_rows = match args.solver {
        SolverArg::ClosedForm => data.len(),
        SolverArg::Gradient => {
            data.len() - held_out::validation_rows(args.validation, data.len()).min(data.len())
        }
    };
    let (resolved, defaults_line) = with_defaults(args, &data, input_map.as_ref(), training_rows);
    let args = &resolved;
    if args.solver == SolverArg::ClosedForm {
        if let Some(map) = &input_map {
            data.x = map.apply(&data.x);
        }
        let model = solver::fit(&data, args.objective()?.gsm_weight(), args.quiet)?;
        let objective = args.objective()?.objective_for(&model)?;
        let file = ModelFile { model, input_map };
        save_model_file(&args.out, &file)?;
        report_test(args, &objective, &file.model, file.input_map.as_ref())?;
        // Every row was fitted: only the test rows are held out.
        return report_held_out(args, &objective, &file, &data.x, None);
    }
    let (budget, budget_line) =
        budget::budget(args.steps, args.epochs, training_rows, args.batch_size);

    let config = FitConfig {
        batch_size: args.batch_size,
        budget,
        validation_fraction: args.validation,
        patience: args.patience,
        seed: args.seed,
        ..FitConfig::default()
    };
    config
        .validate()
        .map_err(|e| CliError::usage(e.to_string()))?;
    if let Budget::Epochs(epochs) = config.budget
        && total_steps(&config, data.len()).is_none_or(|t| t > MAX_COUNT)
    {
        return Err(CliError::usage(format!(
            "--epochs {epochs} is more than 2^53 updates on this data"
        )));
    }
    let settings = args.fixed_settings();
    let data_identity = DataIdentity::of(&data.x);
    let checkpoint_path = args.checkpoint_path();
    let (mut model, mut state, mut log) = if args.resume {
        let path = checkpoint_path
            .as_deref()
            .expect("--resume has a checkpoint path");
        resume_from(path, &settings, args, &data, data_identity)?
    } else {
        (new_model(args, data.dim())?, FitState::fresh(), Vec::new())
    };
    let objective = args.objective()?.objective_for(&model)?;
    data.check_dim(&model, checkpoint_path.as_deref().unwrap_or(&args.out))?;
    if objective.is_continuous() && data.x.data().iter().all(|&v| v == 0.0 || v == 1.0) {
        eprintln!(
            "warning: {}: every value is 0 or 1; score matching ({}) treats x as continuous, \
             and binary data are fitted by ratio matching (--objective rm)",
            data.path.display(),
            objective.name()
        );
    }

    // All-0/1 data get their own warning above.
    let binary = data.x.data().iter().all(|&v| v == 0.0 || v == 1.0);
    let discrete = if objective.is_continuous() && !binary {
        discrete::discrete_columns(&data.x)
    } else {
        Vec::new()
    };
    if !discrete.is_empty() && !args.dequantize && args.objective != ObjectiveName::Dsm {
        eprintln!(
            "{}",
            discrete::warning(&data.path.display().to_string(), &discrete, data.len())
        );
    }
    if args.dequantize && !objective.is_continuous() {
        return Err(CliError::usage(
            "--dequantize adds continuous noise, but ratio matching needs the binary data as they are",
        ));
    }
    let dequantizer = args
        .dequantize
        .then(|| discrete::Dequantizer::new(&data.x))
        .filter(discrete::Dequantizer::is_active);
    // The data in original units, for fresh dequantization noise each epoch.
    let raw = data.x.clone();
    // The fit works on z = A(x − m); the map is saved with the model.
    if let Some(map) = &input_map {
        data.x = map.apply(&data.x);
    }
    let mut optimizer = Adam::new(args.lr.expect("resolved above"));
    let validation_rows = held_out::validation_rows(args.validation, data.len());
    if !args.quiet {
        eprintln!("{}", held_out::split_line(args.validation, data.len()));
        if let Some(line) = &budget_line {
            eprintln!("{line}");
        }
        if let Some(line) = &defaults_line {
            eprintln!("{line}");
        }
    }
    let mut progress = Progress::new(total_steps(&config, data.len()), args.quiet)
        .with_validation_rows(validation_rows);
    loop {
        let next_checkpoint = args
            .checkpoint_every
            .map(|every| (state.step / every as u64 + 1) * every as u64);
        let callback = |event: Event<f64>| {
            progress.update(&event);
            match event {
                Event::Step(r) => log.push(LogRow {
                    step: r.step,
                    epoch: r.epoch + 1,
                    loss: r.loss,
                    validation_loss: None,
                }),
                Event::Epoch(r) => {
                    if let Some(last) = log.last_mut() {
                        last.validation_loss = r.validation_loss;
                    }
                }
            }
            let step = match event {
                Event::Step(r) => r.step,
                Event::Epoch(r) => r.step,
            };
            // With --dequantize, stop at each epoch's end for fresh noise.
            let epoch_end = dequantizer.is_some() && matches!(event, Event::Epoch(_));
            if next_checkpoint == Some(step) || epoch_end {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        // Noise drawn from the seed and the update count, so a resumed fit
        // draws the same.
        let noisy = dequantizer.as_ref().map(|dq| {
            let x = dq.apply(
                &raw,
                args.seed ^ state.step.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            match &input_map {
                Some(map) => map.apply(&x),
                None => x,
            }
        });
        let outcome = resume_model(
            &mut model,
            &objective,
            &mut optimizer,
            noisy.as_ref().unwrap_or(&data.x),
            &config,
            state,
            callback,
        );
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(Error::Diverged { update, reason }) => {
                progress.finish();
                let what = format!("diverged at update {update}: {reason}");
                return Err(stopped(args, &model, input_map.as_ref(), &log, &what));
            }
            Err(Error::Numerical(reason)) => {
                progress.finish();
                let what = format!(
                    "stopped on a numerical failure {}",
                    with_update(&reason, &log)
                );
                return Err(stopped(args, &model, input_map.as_ref(), &log, &what));
            }
            Err(e) => {
                progress.finish();
                return Err(fit_error(e, &data));
            }
        };
        state = outcome.state;
        // The log is written before the checkpoint: a kill between the two
        // leaves the log ahead, and a resume cuts it back to the
        // checkpoint's step, so every update is in it exactly once.
        if let Some(path) = &args.log {
            write_atomic(path, format_log(&log).as_bytes())?;
        }
        if let Some(path) = &checkpoint_path {
            // Non-finite optimiser moments are a numerical failure whether
            // or not a checkpoint is written; JSON could not hold them anyway.
            if !state.optimizer.buffers.iter().all(Tensor::all_finite) {
                progress.finish();
                let what = format!(
                    "stopped on a numerical failure at update {}: the optimiser state is not finite",
                    state.step
                );
                return Err(stopped(args, &model, input_map.as_ref(), &log, &what));
            }
            let saved = Checkpoint {
                settings: settings.clone(),
                data: data_identity,
                state: state.clone(),
                model: model.clone(),
            };
            checkpoint::save(path, &saved)?;
        }
        if outcome.stop != StopReason::Callback {
            break;
        }
    }
    progress.finish();
    if !args.quiet {
        let validation = log
            .iter()
            .rev()
            .find_map(|row| row.validation_loss)
            .map(|v| format!("; last validation loss {v:.6} on {validation_rows} held-out rows"))
            .unwrap_or_default();
        eprintln!("fitted: {} updates{validation}", state.step);
    }
    let file = ModelFile { model, input_map };
    save_model_file(&args.out, &file)?;
    report_test(args, &objective, &file.model, file.input_map.as_ref())?;
    let validation = (validation_rows > 0).then(|| {
        let (_, rows) = split_indices(raw.shape()[0], validation_rows, args.seed);
        Dataset {
            path: data.path.clone(),
            x: raw.gather(0, &rows),
            lines: rows.iter().map(|&r| data.lines[r]).collect(),
        }
    });
    report_held_out(args, &objective, &file, &data.x, validation)
}

/// The end-of-fit report (see [`fit_report`]) on the validation rows (the
/// split the fit held out, in original units) and the `--test` rows, unless
/// `--no-report`. `base` is the data on the model's inputs.
fn report_held_out(
    args: &FitArgs,
    objective: &crate::objective::Objective,
    file: &ModelFile,
    base: &Tensor<f64>,
    validation: Option<Dataset>,
) -> Result<(), CliError> {
    if args.no_report {
        return Ok(());
    }
    let mut sets: Vec<HeldOutSet> = validation
        .into_iter()
        .map(|data| HeldOutSet {
            name: "validation",
            data,
        })
        .collect();
    if let Some(path) = &args.test {
        sets.push(HeldOutSet {
            name: "test",
            data: Dataset::read(path)?,
        });
    }
    let context = ReportContext {
        model: &file.model,
        input_map: file.input_map.as_ref(),
        continuous: objective.is_continuous(),
        base,
        seed: args.seed,
        quiet: args.quiet,
    };
    fit_report::report(&context, &sets)
}

/// Prints the `--test` metrics (even with --quiet: they were asked for).
fn report_test(
    args: &FitArgs,
    objective: &crate::objective::Objective,
    model: &AnyModel,
    input_map: Option<&crate::model::AffineMap>,
) -> Result<(), CliError> {
    if let Some(path) = &args.test {
        let (loss, rows) = held_out::test_loss(path, objective, model, input_map, args.seed)?;
        eprintln!(
            "test: {} loss {loss:.6} on {rows} rows of {}",
            objective.name(),
            path.display()
        );
    }
    Ok(())
}

/// Reads the checkpoint (and the log written with it) to continue a fit,
/// refusing (exit 2) a command line or data that differ from the ones that
/// made it.
fn resume_from(
    path: &Path,
    settings: &Map<String, Value>,
    args: &FitArgs,
    data: &Dataset,
    data_identity: DataIdentity,
) -> Result<(AnyModel, FitState<f64>, Vec<LogRow>), CliError> {
    let saved = checkpoint::load(path)?;
    if let Some((key, old, new)) = checkpoint::first_difference(&saved.settings, settings) {
        return Err(CliError::usage(format!(
            "{}: the checkpoint was made with {key} = {old}, this run has {new}; \
             a resumed fit must use the same settings and data",
            path.display()
        )));
    }
    if saved.data != data_identity && !args.allow_other_data {
        return Err(CliError::usage(format!(
            "{}: the checkpoint was made on other data ({}) than {} ({}); \
             pass --allow-other-data to continue on it anyway",
            path.display(),
            saved.data,
            data.path.display(),
            data_identity
        )));
    }
    let log = match &args.log {
        Some(p) if p.exists() => log_until(p, saved.state.step)?,
        _ => Vec::new(),
    };
    Ok((saved.model, saved.state, log))
}

/// The log's rows up to the checkpoint's `step`. The log is written before
/// each checkpoint, so it holds updates 1, 2, …, at least up to `step`;
/// later rows were lost with the interrupted run and are dropped.
fn log_until(path: &Path, step: u64) -> Result<Vec<LogRow>, CliError> {
    let mut log = read_log(path)?;
    log.retain(|row| row.step <= step);
    let contiguous = log.iter().zip(1u64..).all(|(row, k)| row.step == k);
    if !contiguous || log.len() as u64 != step {
        return Err(CliError::data(format!(
            "{}: the log does not hold updates 1 to {step} of the checkpoint once each \
             (it is from another fit, or was edited); move it away to resume without it",
            path.display()
        )));
    }
    Ok(log)
}

/// Where a fit that stops on a numerical failure writes its last finite
/// parameters: the `--out` path with `.last-finite.json` appended. `--out`
/// itself is left as it was, so a failed fit is never mistaken for a result.
pub(crate) fn last_finite_path(out: &Path) -> PathBuf {
    let mut path = out.as_os_str().to_owned();
    path.push(".last-finite.json");
    PathBuf::from(path)
}

/// `reason` starting with the update it happened at: the library's reason
/// names it; if one does not, the update after the last one logged is the
/// one that failed.
fn with_update(reason: &str, log: &[LogRow]) -> String {
    if reason.starts_with("at update") {
        reason.to_string()
    } else {
        let failed = log.last().map_or(1, |row| row.step + 1);
        format!("at update {failed}: {reason}")
    }
}

/// A fit stopped by a numerical failure or divergence (`what` says so and
/// names the update, e.g. `diverged at update 7: …`): writes the last finite
/// parameters next to `--out` and the log of the updates made, and returns
/// the error that says where.
fn stopped(
    args: &FitArgs,
    model: &AnyModel,
    input_map: Option<&crate::model::AffineMap>,
    log: &[LogRow],
    what: &str,
) -> CliError {
    if let Some(path) = &args.log {
        let finite: Vec<LogRow> = log.iter().copied().filter(|r| r.loss.is_finite()).collect();
        // Best effort: the error below is what matters.
        let _ = write_atomic(path, format_log(&finite).as_bytes());
    }
    let path = last_finite_path(&args.out);
    let file = ModelFile {
        model: model.clone(),
        input_map: input_map.cloned(),
    };
    let written = match save_model_file(&path, &file) {
        Ok(()) => format!(
            "the last finite parameters were written to {} ({} was not written)",
            path.display(),
            args.out.display()
        ),
        Err(e) => format!("the last finite parameters could not be written: {e}"),
    };
    CliError::data(format!(
        "{}: the fit {what}; {written}",
        args.data.display()
    ))
}

/// `args` with the learning rate and dsm's σ filled in when not given (see
/// [`defaults`]), and the line that says what was chosen.
fn with_defaults(
    args: &FitArgs,
    data: &Dataset,
    input_map: Option<&crate::model::AffineMap>,
    training_rows: usize,
) -> (FitArgs, Option<String>) {
    let mut resolved = args.clone();
    let lr = args
        .lr
        .is_none()
        .then(|| defaults::learning_rate(args.objective, args.model));
    // σ matters to dsm with one noise level; otherwise it is only recorded.
    let needs_sigma =
        args.sigma.is_none() && args.objective == ObjectiveName::Dsm && args.sigmas.is_none();
    let sigma = needs_sigma.then(|| {
        let inputs = input_map.map_or_else(|| data.x.clone(), |map| map.apply(&data.x));
        (
            defaults::scott_sigma(&inputs, training_rows),
            training_rows,
            data.dim(),
        )
    });
    resolved.lr = args.lr.or(lr);
    resolved.sigma = args
        .sigma
        .or(sigma.map(|s| s.0))
        .or(Some(DEFAULT_UNUSED_SIGMA));
    let line = defaults::line(args.objective, args.model, lr, sigma);
    (resolved, line)
}

/// The σ recorded when no objective uses it (the previous default).
const DEFAULT_UNUSED_SIGMA: f64 = 0.1;

/// Refuses (exit 1) a model or a number of projections too large to hold,
/// before anything is allocated.
fn check_sizes(args: &FitArgs, data: &Dataset) -> Result<(), CliError> {
    if matches!(args.model, ModelArg::Mlp | ModelArg::MlpScore) && !args.resume {
        let hidden = widths(&args.hidden)
            .map_err(|e| CliError::usage(format!("invalid value for --hidden: {e}")))?;
        let output = if args.model == ModelArg::Mlp {
            1
        } else {
            data.dim()
        };
        let layers: Vec<usize> = std::iter::once(data.dim())
            .chain(hidden)
            .chain([output])
            .collect();
        check_mlp_size(&layers, "--hidden")?;
    }
    if args.objective.is_sliced() {
        let batch = args.batch_size.min(data.len());
        check_values(product(&[args.projections, batch, data.dim()]), || {
            format!(
                "{} projections of a batch of {batch} samples of dimension {} (--projections)",
                args.projections,
                data.dim()
            )
        })?;
    }
    Ok(())
}

/// Noise levels such as `1.0,0.3,0.1`.
fn parse_sigmas(list: &str) -> Result<Vec<f64>, CliError> {
    list.split(',')
        .map(|s| {
            positive(s.trim())
                .map_err(|e| CliError::usage(format!("invalid value {s:?} in --sigmas: {e}")))
        })
        .collect()
}

fn new_model(args: &FitArgs, dim: usize) -> Result<AnyModel, CliError> {
    let activation = || -> Result<Activation, CliError> {
        args.activation
            .parse()
            .map_err(|e: Error| CliError::usage(e.to_string()))
    };
    let hidden = || {
        widths(&args.hidden)
            .map_err(|e| CliError::usage(format!("invalid value for --hidden: {e}")))
    };
    Ok(match args.model {
        ModelArg::Mlp => {
            AnyModel::MlpEnergy(MlpEnergy::new(dim, &hidden()?, activation()?, args.seed)?)
        }
        ModelArg::MlpScore => AnyModel::MlpScore(MlpScore::new(
            dim,
            &hidden()?,
            activation()?,
            args.sigma_conditioned,
            args.seed,
        )?),
        ModelArg::Quadratic => AnyModel::Quadratic(QuadraticEnergy::new(dim)?),
        ModelArg::Boltzmann => AnyModel::Boltzmann(Boltzmann::new(dim)?),
    })
}

/// The number of updates the fit will make, for the progress bar.
fn total_steps(config: &FitConfig<f64>, n: usize) -> Option<u64> {
    match config.budget {
        Budget::Steps(s) => Some(s),
        Budget::Epochs(e) => {
            let held_out = (config.validation_fraction * n as f64).round() as usize;
            let per_epoch = n.saturating_sub(held_out).div_ceil(config.batch_size) as u64;
            e.checked_mul(per_epoch)
        }
    }
}

/// Explains a failed fit; a data-size problem names the data file.
fn fit_error(e: Error, data: &Dataset) -> CliError {
    match e {
        Error::Shape(m) => CliError::data(format!("{}: {m}", data.path.display())),
        other => other.into(),
    }
}
