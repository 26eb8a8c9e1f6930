//! `scoretape eval`: an objective's loss (and its parameter gradient) on a
//! data set, a per-sample quantity of the model (energy, score, ∇x E,
//! Hessian-vector products, Hessian traces), or a whole-data metric
//! (log-likelihood, pseudo-log-likelihood, kernel Stein discrepancy; see
//! [`super::metric`]), printed as one JSON line.
//!
//! With the projections and the noise given as CSV files the numbers depend on
//! nothing random, so another implementation can reproduce them exactly.

use super::common::{at_least_one, load_model, positive, print_json, tensor_json, Dataset};
use super::error::CliError;
use super::metric::{evaluate_metric, MetricArgs};
use super::objective::{ObjectiveName, ObjectiveSettings, ProjectionArg, TraceArg};
use crate::exec::Evaluator;
use crate::io::{layout_json, AnyModel};
use crate::model::AffineMap;
use crate::objective::fd_ssm_epsilon;
use crate::random::seeded;
use crate::tape::{batched_hessian_trace, grad, hvp, Tape};
use crate::tensor::Tensor;
use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Options of `scoretape eval`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// The model file (JSON).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The data (CSV, one sample per row).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Evaluate this objective's loss (mean over the data).
    #[arg(
        long,
        value_enum,
        required_unless_present_any = ["quantity", "metric"],
        conflicts_with_all = ["quantity", "metric"]
    )]
    pub objective: Option<ObjectiveName>,
    /// Evaluate this per-sample quantity instead of a loss.
    #[arg(long, value_enum)]
    pub quantity: Option<Quantity>,
    /// Sliced objectives: the projections as CSV with d columns, one row per
    /// sample per projection, sample-major (rows b·M .. b·M+M-1 are the M
    /// projections of sample b). Without it they are drawn from --seed.
    #[arg(long, value_name = "FILE")]
    pub projections: Option<PathBuf>,
    /// Sliced objectives without --projections: projections per sample.
    #[arg(long, value_name = "M", value_parser = at_least_one, default_value_t = 1)]
    pub num_projections: usize,
    /// Sliced objectives without --projections: their distribution.
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
    /// dsm: the standard-normal noise ε as CSV, one row per sample (x̃ = x + σε).
    /// Without it the noise is drawn from --seed.
    #[arg(long, value_name = "FILE")]
    pub noise: Option<PathBuf>,
    /// dsm: the noise level σ > 0.
    #[arg(long, value_parser = positive, default_value_t = 0.1)]
    pub sigma: f64,
    /// The seed of draws not given as files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also print the loss's gradient with respect to the parameters, in the
    /// model file's layout.
    #[arg(long, requires = "objective")]
    pub grad: bool,
    /// --quantity hvp: the vectors v, one row per sample (H(x_b) v_b).
    #[arg(long, value_name = "FILE")]
    pub vectors: Option<PathBuf>,
    /// --metric and its options.
    #[command(flatten)]
    pub metric: MetricArgs,
}

/// A per-sample quantity of an energy model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Quantity {
    /// E(x_b), one number per sample.
    Energy,
    /// The score s(x_b) = -∇x E(x_b), one row per sample.
    Score,
    /// ∇x E(x_b), one row per sample.
    Grad,
    /// H(x_b) v_b with v_b from --vectors, one row per sample.
    Hvp,
    /// tr H(x_b), one number per sample.
    Trace,
}

impl Quantity {
    fn name(self) -> &'static str {
        match self {
            Quantity::Energy => "energy",
            Quantity::Score => "score",
            Quantity::Grad => "grad",
            Quantity::Hvp => "hvp",
            Quantity::Trace => "trace",
        }
    }
}

/// Runs `scoretape eval`.
pub(crate) fn run(args: &EvalArgs) -> Result<(), CliError> {
    args.metric.check_unused()?;
    let file = load_model(&args.model)?;
    let model = &file.model;
    let mut data = Dataset::read(&args.data)?;
    data.check_dim(model, &args.model)?;
    if let Some(metric) = args.metric.metric {
        let (output, warning) = evaluate_metric(
            metric,
            &args.metric,
            args.seed,
            model,
            file.input_map.as_ref(),
            &data,
        )?;
        if let Some(warning) = warning {
            eprintln!("warning: {warning}");
        }
        return print_json(&output);
    }
    let output = match (args.objective, args.quantity) {
        (Some(objective), _) => {
            // A loss is the training objective, on the inputs the model was
            // fitted to.
            if let Some(map) = &file.input_map {
                data.x = map.apply(&data.x);
            }
            evaluate_loss(args, objective, model, &data)?
        }
        (None, Some(quantity)) => {
            evaluate_quantity(args, quantity, model, file.input_map.as_ref(), &data)?
        }
        (None, None) => return Err(CliError::usage("give --objective or --quantity")),
    };
    print_json(&output)
}

fn evaluate_loss(
    args: &EvalArgs,
    objective: ObjectiveName,
    model: &AnyModel,
    data: &Dataset,
) -> Result<Value, CliError> {
    let settings = ObjectiveSettings {
        name: objective,
        projections: args.num_projections,
        projection_kind: args.projection_kind,
        sigmas: vec![args.sigma],
        trace: args.trace,
        weight: args.weight,
        epsilon: args.epsilon,
    };
    let objective_fn = settings.objective_for(model)?;
    if objective == ObjectiveName::Rm {
        data.check_binary("ratio matching")?;
    }
    if objective == ObjectiveName::Gsm {
        data.check_nonnegative("generalized score matching (gsm)")?;
    }
    // Draws not given as files come from --seed, for the whole data set at
    // once; given ones replace them.
    let mut draws = objective_fn.draw(model, data.len(), &mut seeded(args.seed))?;
    if let Some(path) = &args.projections {
        draws.projections = Some(read_projections(path, data)?);
    }
    if let Some(path) = &args.noise {
        draws.noise = Some(read_per_sample(path, data, "noise")?);
        // Given noise comes with one level: the first.
        if draws.levels.is_some() {
            draws.levels = Some(vec![0; data.len()]);
        }
    }
    let evaluator = Evaluator::new();
    let (value, gradients) = if args.grad {
        evaluator.value_and_grad(&objective_fn, model, &data.x, &draws)?
    } else {
        let value = evaluator.value(&objective_fn, model, &data.x, &draws)?;
        (value, Vec::new())
    };
    if !value.is_finite() {
        return Err(CliError::data(format!(
            "{}: the {} loss of model {} is {value}",
            data.path.display(),
            objective.name(),
            args.model.display()
        )));
    }
    let mut out = json!({"objective": objective.name(), "loss": value});
    if args.grad {
        if gradients.iter().any(|g| !g.all_finite()) {
            return Err(CliError::data(format!(
                "{}: the gradient of the {} loss of model {} has NaN or infinite values",
                data.path.display(),
                objective.name(),
                args.model.display()
            )));
        }
        out["grad"] = layout_json(model.params().names(), &gradients);
    }
    Ok(out)
}

/// Reads sample-major projections (`[B·M, d]`) into the objectives' layout
/// `[M, B, d]`.
fn read_projections(path: &std::path::Path, data: &Dataset) -> Result<Tensor<f64>, CliError> {
    let v = Dataset::read(path)?;
    let (rows, batch, d) = (v.len(), data.len(), data.dim());
    if v.dim() != d {
        return Err(v.error_at(
            0,
            format!(
                "a projection has {} fields, but the data has dimension {d}",
                v.dim()
            ),
        ));
    }
    if rows % batch != 0 {
        return Err(CliError::data(format!(
            "{}: {rows} rows is not a multiple of the {batch} samples in {} \
             (one row per sample per projection, sample-major)",
            path.display(),
            data.path.display()
        )));
    }
    let count = rows / batch;
    // Row b·M + m of the file is v[m, b].
    let sample_major = v.x.reshape(&[batch, count, d]);
    let mut out = Vec::with_capacity(rows * d);
    for m in 0..count {
        for b in 0..batch {
            let start = (b * count + m) * d;
            out.extend_from_slice(&sample_major.data()[start..start + d]);
        }
    }
    Ok(Tensor::from_vec(&[count, batch, d], out)?)
}

/// Reads a CSV with one row per sample of `data` (noise or vectors).
fn read_per_sample(
    path: &std::path::Path,
    data: &Dataset,
    what: &str,
) -> Result<Tensor<f64>, CliError> {
    let v = Dataset::read(path)?;
    if v.dim() != data.dim() {
        return Err(v.error_at(
            0,
            format!(
                "the {what} has {} fields per row, but the data has dimension {}",
                v.dim(),
                data.dim()
            ),
        ));
    }
    if v.len() != data.len() {
        return Err(CliError::data(format!(
            "{}: {} rows of {what}, but {} has {} samples (one row per sample)",
            path.display(),
            v.len(),
            data.path.display(),
            data.len()
        )));
    }
    Ok(v.x)
}

fn evaluate_quantity(
    args: &EvalArgs,
    quantity: Quantity,
    model: &AnyModel,
    input_map: Option<&AffineMap>,
    data: &Dataset,
) -> Result<Value, CliError> {
    let energy_model = model.as_energy().ok_or_else(|| {
        CliError::data(format!(
            "quantity {} needs an energy model, but the model is {}",
            quantity.name(),
            model.kind()
        ))
    })?;
    let vectors = match (quantity, &args.vectors) {
        (Quantity::Hvp, Some(path)) => Some(read_per_sample(path, data, "vectors")?),
        (Quantity::Hvp, None) => {
            return Err(CliError::usage(
                "--quantity hvp needs --vectors FILE (one vector per sample)",
            ))
        }
        _ => None,
    };
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let x = tape.input(data.x.clone());
    // Through the input map, E(x) = E_z(A(x − m)) and every derivative with
    // respect to x chains through A, in the data's original units.
    let z = match input_map {
        Some(map) => map.apply_var(x),
        None => x,
    };
    let energy = energy_model.energy(&params, z);
    let values = match quantity {
        Quantity::Energy => energy,
        Quantity::Grad => grad(energy.sum(), &[x])?[0],
        Quantity::Score => -grad(energy.sum(), &[x])?[0],
        Quantity::Hvp => {
            let v = tape.constant(vectors.expect("read above for hvp"));
            hvp(energy.sum(), x, v)?
        }
        Quantity::Trace => batched_hessian_trace(energy.sum(), x)?,
    };
    let what = format!(
        "{} of model {} on {}",
        quantity.name(),
        args.model.display(),
        data.path.display()
    );
    let values = tensor_json(&values.value(), &what)?;
    Ok(json!({"quantity": quantity.name(), "values": values}))
}
