//! Checkpoints of `scoretape fit`: the model, the fit's state (step count,
//! optimiser buffers, validation bookkeeping) and the settings that must not
//! change on `--resume`, as one JSON file written atomically.
//!
//! Numbers are written in shortest round-trip form and read back exactly, so
//! a resumed fit continues from bit-identical values.
//!
//! The training data is identified by its shape and a 64-bit FNV-1a hash of
//! its values ([`DataIdentity`]), so a resume on other data is noticed.
//!
//! ```json
//! {"format": "scoretape-checkpoint", "version": 2,
//!  "settings": {"objective": "ssm", "seed": 0, "model": "mlp", "hidden": [64, 64], …},
//!  "data": {"rows": 1000, "columns": 2, "fnv1a64": "8f1c0b5e3d2a4b67"},
//!  "state": {"step": 200, "optimizer": {"steps": 200, "buffers": [{"shape": [2], "data": [..]}, …]},
//!            "last_validation": 0.5, "best_validation": 0.4, "epochs_since_best": 1,
//!            "epoch_loss_sum": 3.25},
//!  "model": {…the model file…}}
//! ```

use super::error::CliError;
use crate::io::{model_from_json, model_to_json, write_atomic, AnyModel, FileError};
use crate::optim::OptimizerState;
use crate::tensor::Tensor;
use crate::train::FitState;
use serde_json::{json, Map, Value};
use std::path::Path;

const FORMAT: &str = "scoretape-checkpoint";
/// Version 2 added the model's shape to the settings and the data identity.
const VERSION: u64 = 2;

/// Which training data a checkpoint was made on: its shape and the 64-bit
/// FNV-1a hash of its values' bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DataIdentity {
    pub rows: usize,
    pub columns: usize,
    pub hash: u64,
}

impl DataIdentity {
    pub fn of(x: &Tensor<f64>) -> Self {
        let (rows, columns) = match x.shape() {
            [r, c] => (*r, *c),
            _ => (x.len(), 1),
        };
        DataIdentity {
            rows,
            columns,
            hash: fnv1a64(x.data().iter().flat_map(|v| v.to_bits().to_le_bytes())),
        }
    }

    fn to_json(self) -> Value {
        json!({"rows": self.rows, "columns": self.columns, "fnv1a64": format!("{:016x}", self.hash)})
    }

    fn from_json(value: &Value) -> Result<Self, String> {
        let whole = |key: &str| {
            value[key]
                .as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| format!("data.{key} must be a whole number"))
        };
        let hash = value["fnv1a64"]
            .as_str()
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or("data.fnv1a64 must be 16 hexadecimal digits")?;
        Ok(DataIdentity {
            rows: whole("rows")?,
            columns: whole("columns")?,
            hash,
        })
    }
}

impl std::fmt::Display for DataIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rows × {} columns, FNV-1a hash {:016x}",
            self.rows, self.columns, self.hash
        )
    }
}

/// The 64-bit FNV-1a hash of a byte stream (Fowler, Noll, Vo): for each
/// byte, `h = (h ^ byte) · 0x100000001b3`, from `h = 0xcbf29ce484222325`.
/// Stable across versions and machines, which is all a checkpoint needs; it
/// is not a cryptographic hash.
pub(crate) fn fnv1a64(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// What a checkpoint holds.
pub(crate) struct Checkpoint {
    /// The settings that a resumed fit must share (objective, seed, …).
    pub settings: Map<String, Value>,
    /// The training data it was made on.
    pub data: DataIdentity,
    pub state: FitState<f64>,
    pub model: AnyModel,
}

pub(crate) fn save(path: &Path, checkpoint: &Checkpoint) -> Result<(), CliError> {
    let model =
        model_to_json(&checkpoint.model).map_err(|e| FileError::new(path, e.to_string()))?;
    let state = &checkpoint.state;
    // JSON has no NaN: it would be written as null and the resume would fail.
    if !state.optimizer.buffers.iter().all(Tensor::all_finite) || !state.epoch_loss_sum.is_finite()
    {
        return Err(FileError::new(path, "the optimiser state is not finite").into());
    }
    let buffers: Vec<Value> = state
        .optimizer
        .buffers
        .iter()
        .map(|t| json!({"shape": t.shape(), "data": t.data()}))
        .collect();
    let value = json!({
        "format": FORMAT,
        "version": VERSION,
        "settings": checkpoint.settings,
        "data": checkpoint.data.to_json(),
        "state": {
            "step": state.step,
            "optimizer": {"steps": state.optimizer.steps, "buffers": buffers},
            "last_validation": state.last_validation,
            "best_validation": state.best_validation,
            "epochs_since_best": state.epochs_since_best,
            "epoch_loss_sum": state.epoch_loss_sum,
            "early_losses": state.early_losses,
            "best_params": state.best_params.as_ref().map(|values| {
                values
                    .iter()
                    .map(|t| json!({"shape": t.shape(), "data": t.data()}))
                    .collect::<Vec<Value>>()
            }),
        },
        "model": model,
    });
    Ok(write_atomic(path, format!("{value}\n").as_bytes())?)
}

pub(crate) fn load(path: &Path) -> Result<Checkpoint, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        FileError::new(
            path,
            format!("cannot read the checkpoint to resume from: {e}"),
        )
    })?;
    let value: Value = serde_json::from_str(crate::io::without_bom(&text))
        .map_err(|e| FileError::at_line(path, e.line(), format!("invalid JSON: {e}")))?;
    parse(&value).map_err(|m| FileError::new(path, m).into())
}

fn parse(value: &Value) -> Result<Checkpoint, String> {
    if value["format"] != FORMAT {
        return Err(format!(
            "not a scoretape checkpoint (\"format\" is not {FORMAT:?})"
        ));
    }
    if value["version"] != VERSION {
        return Err(format!(
            "unsupported checkpoint version {} (this program reads version {VERSION})",
            value["version"]
        ));
    }
    let settings = value["settings"]
        .as_object()
        .ok_or("missing \"settings\"")?
        .clone();
    let data = DataIdentity::from_json(&value["data"])?;
    let model = model_from_json(&value["model"]).map_err(|e| format!("model: {e}"))?;
    let s = &value["state"];
    let whole = |key: &str| {
        s[key]
            .as_u64()
            .ok_or_else(|| format!("state.{key} must be a whole number"))
    };
    let optional = |key: &str| match &s[key] {
        Value::Null => Ok(None),
        v => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("state.{key} must be a number or null")),
    };
    let buffers = s["optimizer"]["buffers"]
        .as_array()
        .ok_or("state.optimizer.buffers must be an array")?
        .iter()
        .enumerate()
        .map(|(i, b)| buffer(b).map_err(|e| format!("state.optimizer.buffers[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let state = FitState {
        step: whole("step")?,
        optimizer: OptimizerState {
            steps: s["optimizer"]["steps"]
                .as_u64()
                .ok_or("state.optimizer.steps must be a whole number")?,
            buffers,
        },
        last_validation: optional("last_validation")?,
        best_validation: optional("best_validation")?,
        epochs_since_best: whole("epochs_since_best")?,
        epoch_loss_sum: s["epoch_loss_sum"]
            .as_f64()
            .ok_or("state.epoch_loss_sum must be a number")?,
        // Absent from checkpoints written before these fields existed: the
        // early scale is then rebuilt from the next updates.
        early_losses: match &s["early_losses"] {
            Value::Null => Vec::new(),
            v => v
                .as_array()
                .and_then(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>())
                .ok_or("state.early_losses must be an array of numbers")?,
        },
        best_params: match &s["best_params"] {
            Value::Null => None,
            v => Some(
                v.as_array()
                    .ok_or("state.best_params must be an array or null")?
                    .iter()
                    .enumerate()
                    .map(|(i, b)| buffer(b).map_err(|e| format!("state.best_params[{i}]: {e}")))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        },
    };
    check_buffers(&state, &model)?;
    Ok(Checkpoint {
        settings,
        data,
        state,
        model,
    })
}

/// The optimiser's buffers must be Adam's two moments per parameter tensor,
/// each of its shape (a corrupt file would otherwise fail later, in the fit,
/// with a message about shapes that blames no file).
fn check_buffers(state: &FitState<f64>, model: &AnyModel) -> Result<(), String> {
    let shapes: Vec<&[usize]> = model.params().values().iter().map(|t| t.shape()).collect();
    let buffers = &state.optimizer.buffers;
    if buffers.is_empty() {
        return Ok(());
    }
    if buffers.len() != 2 * shapes.len() {
        return Err(format!(
            "state.optimizer.buffers has {} entries, but Adam on this model's {} parameter tensors keeps {}",
            buffers.len(),
            shapes.len(),
            2 * shapes.len()
        ));
    }
    for (i, b) in buffers.iter().enumerate() {
        let expected = shapes[i % shapes.len()];
        if b.shape() != expected {
            return Err(format!(
                "state.optimizer.buffers[{i}] has shape {:?}, but its parameter has shape {expected:?}",
                b.shape()
            ));
        }
        if !b.all_finite() {
            return Err(format!("state.optimizer.buffers[{i}] is not finite"));
        }
    }
    Ok(())
}

fn buffer(value: &Value) -> Result<Tensor<f64>, String> {
    let shape: Vec<usize> = value["shape"]
        .as_array()
        .ok_or("missing shape")?
        .iter()
        .map(|v| v.as_u64().map(|n| n as usize).ok_or("bad shape"))
        .collect::<Result<_, _>>()?;
    let data: Vec<f64> = value["data"]
        .as_array()
        .ok_or("missing data")?
        .iter()
        .map(|v| v.as_f64().ok_or("data must be numbers"))
        .collect::<Result<_, _>>()?;
    Tensor::from_vec(&shape, data).map_err(|e| e.to_string())
}

/// The first setting that differs between a checkpoint and this run, if any.
pub(crate) fn first_difference(
    saved: &Map<String, Value>,
    now: &Map<String, Value>,
) -> Option<(String, Value, Value)> {
    now.iter().find_map(|(key, value)| {
        let old = saved.get(key).cloned().unwrap_or(Value::Null);
        (old != *value).then(|| (key.clone(), old, value.clone()))
    })
}
