//! Model files: a model's kind, its settings and its parameters as JSON.
//!
//! The format (documented for users in `docs/model-format.md`):
//!
//! ```json
//! {
//!   "format": "scoretape-model",
//!   "version": 1,
//!   "kind": "mlp-energy",
//!   "activation": "softplus",
//!   "layers": [
//!     {"weight": [[0.1, -0.2], [0.3, 0.4]], "bias": [0.0, 0.0]},
//!     {"weight": [[1.0, -1.0]], "bias": [0.5]}
//!   ]
//! }
//! ```
//!
//! Parameters are stored exactly as the model holds them (the numbers the
//! optimiser changes), so a gradient printed in the same layout
//! ([`layout_json`]) lines up entry by entry with the file. Parameters named
//! `layers.{i}.weight` / `layers.{i}.bias` become the `layers` array; any
//! other parameter is a top-level key of its own name.

use super::{write_atomic, FileError};
use crate::error::Error;
use crate::model::{
    Activation, Boltzmann, Energy, MlpEnergy, MlpScore, Model, Params, QuadraticEnergy, Score,
};
use crate::tensor::Tensor;
use serde_json::{Map, Value};
use std::fmt::{self, Write as _};
use std::path::Path;
use std::str::FromStr;

const FORMAT: &str = "scoretape-model";
const VERSION: u64 = 1;

/// The kinds of model a file can hold.
///
/// ```
/// use scoretape::io::ModelKind;
/// assert_eq!("quadratic".parse::<ModelKind>().unwrap(), ModelKind::Quadratic);
/// assert_eq!(ModelKind::MlpEnergy.to_string(), "mlp-energy");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// [`MlpEnergy`].
    MlpEnergy,
    /// [`QuadraticEnergy`].
    Quadratic,
    /// [`Boltzmann`].
    Boltzmann,
    /// [`MlpScore`].
    MlpScore,
}

impl ModelKind {
    /// Every kind, in the order of the docs.
    pub const ALL: [ModelKind; 4] = [
        ModelKind::MlpEnergy,
        ModelKind::Quadratic,
        ModelKind::Boltzmann,
        ModelKind::MlpScore,
    ];

    /// The name in the file's `"kind"` field.
    ///
    /// ```
    /// assert_eq!(scoretape::io::ModelKind::Quadratic.name(), "quadratic");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::MlpEnergy => "mlp-energy",
            ModelKind::Quadratic => "quadratic",
            ModelKind::Boltzmann => "boltzmann",
            ModelKind::MlpScore => "mlp-score",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                Error::InvalidData(format!("unknown model kind {s:?} ({})", known_kinds()))
            })
    }
}

fn known_kinds() -> String {
    let names: Vec<_> = ModelKind::ALL.iter().map(|k| k.name()).collect();
    format!("expected one of {}", names.join(", "))
}

/// A model of any kind a file can hold, in `f64`.
///
/// ```
/// use scoretape::io::{AnyModel, ModelKind};
/// use scoretape::model::QuadraticEnergy;
/// let m = AnyModel::Quadratic(QuadraticEnergy::new(3).unwrap());
/// assert_eq!(m.kind(), ModelKind::Quadratic);
/// assert_eq!(m.dim(), 3);
/// assert!(m.as_energy().is_some());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum AnyModel {
    /// An MLP energy.
    MlpEnergy(MlpEnergy<f64>),
    /// A quadratic (Gaussian) energy.
    Quadratic(QuadraticEnergy<f64>),
    /// A fully visible Boltzmann machine on bits.
    Boltzmann(Boltzmann<f64>),
    /// An MLP score network, possibly conditioned on σ.
    MlpScore(MlpScore<f64>),
}

impl AnyModel {
    /// The model's kind.
    ///
    /// ```
    /// use scoretape::{io::{AnyModel, ModelKind}, model::QuadraticEnergy};
    /// assert_eq!(AnyModel::Quadratic(QuadraticEnergy::new(1).unwrap()).kind(), ModelKind::Quadratic);
    /// ```
    pub fn kind(&self) -> ModelKind {
        match self {
            AnyModel::MlpEnergy(_) => ModelKind::MlpEnergy,
            AnyModel::Quadratic(_) => ModelKind::Quadratic,
            AnyModel::Boltzmann(_) => ModelKind::Boltzmann,
            AnyModel::MlpScore(_) => ModelKind::MlpScore,
        }
    }

    fn model(&self) -> &dyn Model<f64> {
        match self {
            AnyModel::MlpEnergy(m) => m,
            AnyModel::Quadratic(m) => m,
            AnyModel::Boltzmann(m) => m,
            AnyModel::MlpScore(m) => m,
        }
    }

    /// The input dimension `d`.
    ///
    /// ```
    /// use scoretape::{io::AnyModel, model::QuadraticEnergy};
    /// assert_eq!(AnyModel::Quadratic(QuadraticEnergy::new(4).unwrap()).dim(), 4);
    /// ```
    pub fn dim(&self) -> usize {
        self.model().dim()
    }

    /// The parameters.
    ///
    /// ```
    /// use scoretape::{io::AnyModel, model::QuadraticEnergy};
    /// let m = AnyModel::Quadratic(QuadraticEnergy::new(2).unwrap());
    /// assert_eq!(m.params().names(), &["mean", "cholesky"]);
    /// ```
    pub fn params(&self) -> &Params<f64> {
        self.model().params()
    }

    /// The parameters, mutably.
    ///
    /// ```
    /// use scoretape::{io::AnyModel, model::QuadraticEnergy, Tensor};
    /// let mut m = AnyModel::Quadratic(QuadraticEnergy::new(1).unwrap());
    /// m.params_mut().values_mut()[0] = Tensor::vector(&[2.0]);
    /// assert_eq!(m.params().values()[0].data(), &[2.0]);
    /// ```
    pub fn params_mut(&mut self) -> &mut Params<f64> {
        match self {
            AnyModel::MlpEnergy(m) => m.params_mut(),
            AnyModel::Quadratic(m) => m.params_mut(),
            AnyModel::Boltzmann(m) => m.params_mut(),
            AnyModel::MlpScore(m) => m.params_mut(),
        }
    }

    /// The model as an energy, if it is one (every kind but `mlp-score`).
    ///
    /// ```
    /// use scoretape::{io::AnyModel, model::QuadraticEnergy};
    /// assert!(AnyModel::Quadratic(QuadraticEnergy::new(1).unwrap()).as_energy().is_some());
    /// ```
    pub fn as_energy(&self) -> Option<&dyn Energy<f64>> {
        match self {
            AnyModel::MlpEnergy(m) => Some(m),
            AnyModel::Quadratic(m) => Some(m),
            AnyModel::Boltzmann(m) => Some(m),
            AnyModel::MlpScore(_) => None,
        }
    }

    /// The model as a score network, if it is one (`mlp-score`).
    ///
    /// ```
    /// use scoretape::{io::AnyModel, model::{Activation, MlpScore}};
    /// let m = AnyModel::MlpScore(MlpScore::new(2, &[4], Activation::Tanh, true, 0).unwrap());
    /// assert!(m.as_score().is_some() && m.as_energy().is_none());
    /// ```
    pub fn as_score(&self) -> Option<&dyn Score<f64>> {
        match self {
            AnyModel::MlpScore(m) => Some(m),
            _ => None,
        }
    }
}

/// The parameters `values` (aligned with `names`, e.g. a model's parameters
/// or their gradients) in the model file's layout: `layers.{i}.weight|bias`
/// as a `"layers"` array of `{"weight", "bias"}` objects, anything else as a
/// key of its own name; matrices as arrays of rows.
///
/// # Panics
///
/// If `names` and `values` differ in length.
///
/// ```
/// use scoretape::io::layout_json;
/// use scoretape::Tensor;
/// let names = ["layers.0.weight".to_string(), "layers.0.bias".to_string()];
/// let values = [Tensor::from_rows(&[vec![1.0, 2.0]]).unwrap(), Tensor::vector(&[3.0])];
/// let json = layout_json(&names, &values);
/// assert_eq!(json.to_string(), r#"{"layers":[{"weight":[[1.0,2.0]],"bias":[3.0]}]}"#);
/// ```
pub fn layout_json(names: &[String], values: &[Tensor<f64>]) -> Value {
    assert_eq!(
        names.len(),
        values.len(),
        "layout_json: {} names for {} values",
        names.len(),
        values.len()
    );
    let mut out = Map::new();
    let mut layers: Vec<Map<String, Value>> = Vec::new();
    for (name, value) in names.iter().zip(values) {
        match layer_part(name) {
            Some((i, part)) => {
                if layers.len() <= i {
                    layers.resize(i + 1, Map::new());
                }
                layers[i].insert(part.to_string(), tensor_json(value));
            }
            None => {
                out.insert(name.clone(), tensor_json(value));
            }
        }
    }
    if !layers.is_empty() {
        out.insert(
            "layers".to_string(),
            Value::Array(layers.into_iter().map(Value::Object).collect()),
        );
    }
    Value::Object(out)
}

/// `layers.3.weight` → `(3, "weight")`.
fn layer_part(name: &str) -> Option<(usize, &str)> {
    let rest = name.strip_prefix("layers.")?;
    let (index, part) = rest.split_once('.')?;
    Some((index.parse().ok()?, part))
}

pub(super) fn tensor_json(t: &Tensor<f64>) -> Value {
    match t.shape() {
        [_, columns] => Value::Array(
            t.data()
                .chunks((*columns).max(1))
                .map(|row| row.iter().map(|&v| Value::from(v)).collect())
                .collect(),
        ),
        [] => Value::from(t.item()),
        _ => t.data().iter().map(|&v| Value::from(v)).collect(),
    }
}

/// The model as a JSON value in the file format.
///
/// # Errors
///
/// [`Error::InvalidData`] if a parameter is NaN or infinite (JSON cannot
/// hold it, and such a model is broken anyway).
///
/// ```
/// use scoretape::{io::{model_to_json, AnyModel}, model::QuadraticEnergy};
/// let v = model_to_json(&AnyModel::Quadratic(QuadraticEnergy::new(1).unwrap())).unwrap();
/// assert_eq!(v["kind"], "quadratic");
/// assert_eq!(v["mean"], serde_json::json!([0.0]));
/// ```
pub fn model_to_json(model: &AnyModel) -> Result<Value, Error> {
    let params = model.params();
    for (name, value) in params.names().iter().zip(params.values()) {
        if !value.all_finite() {
            return Err(Error::InvalidData(format!(
                "parameter {name} has a NaN or infinite entry"
            )));
        }
    }
    let mut out = Map::new();
    out.insert("format".into(), FORMAT.into());
    out.insert("version".into(), VERSION.into());
    out.insert("kind".into(), model.kind().name().into());
    match model {
        AnyModel::MlpEnergy(m) => {
            out.insert("activation".into(), m.activation().name().into());
        }
        AnyModel::MlpScore(m) => {
            out.insert("activation".into(), m.activation().name().into());
            out.insert("sigma_conditioned".into(), m.is_sigma_conditioned().into());
        }
        _ => {}
    }
    let Value::Object(body) = layout_json(params.names(), params.values()) else {
        unreachable!("layout_json returns an object");
    };
    out.extend(body);
    Ok(Value::Object(out))
}

/// Formats JSON with objects spread over lines and each innermost array of
/// numbers on one line, so a weight matrix reads as rows.
fn pretty(value: &Value, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent + 1);
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push_str("{\n");
            for (i, (key, v)) in map.iter().enumerate() {
                let comma = if i + 1 < map.len() { "," } else { "" };
                write!(out, "{pad}{}: ", Value::from(key.as_str())).expect("String write");
                pretty(v, indent + 1, out);
                out.push_str(comma);
                out.push('\n');
            }
            out.push_str(&"  ".repeat(indent));
            out.push('}');
        }
        Value::Array(items) if items.iter().any(|v| v.is_array() || v.is_object()) => {
            out.push_str("[\n");
            for (i, v) in items.iter().enumerate() {
                out.push_str(&pad);
                pretty(v, indent + 1, out);
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&"  ".repeat(indent));
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Writes `model` to `path` in the file format, atomically.
///
/// # Errors
///
/// A [`FileError`] if a parameter is not finite or the file cannot be written.
///
/// ```
/// use scoretape::io::{load_model, save_model, AnyModel};
/// use scoretape::model::{Activation, MlpEnergy};
/// let model = AnyModel::MlpEnergy(MlpEnergy::new(2, &[3], Activation::Tanh, 1).unwrap());
/// let path = std::env::temp_dir().join("scoretape-doc-model.json");
/// save_model(&path, &model).unwrap();
/// assert_eq!(load_model(&path).unwrap(), model); // bit-identical parameters
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn save_model(path: &Path, model: &AnyModel) -> Result<(), FileError> {
    let json = model_to_json(model).map_err(|e| FileError::new(path, e.to_string()))?;
    write_atomic(path, to_pretty_string(&json).as_bytes())
}

/// `value` as text, formatted like model files (weight matrices one row per
/// line), with a final newline.
pub(crate) fn to_pretty_string(value: &Value) -> String {
    let mut text = String::new();
    pretty(value, 0, &mut text);
    text.push('\n');
    text
}

/// Reads a model file.
///
/// # Errors
///
/// A [`FileError`] naming the file if it cannot be read or [`parse_model`]
/// rejects it.
///
/// ```
/// let err = scoretape::io::load_model("missing.json".as_ref()).unwrap_err();
/// assert!(err.to_string().starts_with("missing.json: cannot read"));
/// ```
pub fn load_model(path: &Path) -> Result<AnyModel, FileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileError::new(path, format!("cannot read: {e}")))?;
    parse_model(&text, path)
}

/// Parses a model file's text; `source` names it in errors.
///
/// # Errors
///
/// A [`FileError`] for invalid JSON (with its line), a wrong `format`, an
/// unsupported `version`, an unknown `kind` or `activation`, a missing or
/// unknown field, a non-numeric entry, or parameters whose shapes do not fit
/// together (ragged matrices, layers that do not chain, a last energy layer
/// with more than one output, …).
///
/// ```
/// use scoretape::io::parse_model;
/// let text = r#"{"format": "scoretape-model", "version": 1, "kind": "mlp-energy",
///   "activation": "relu", "layers": [{"weight": [[1.0]], "bias": [0.0]}]}"#;
/// let err = parse_model(text, "m.json".as_ref()).unwrap_err();
/// assert!(err.to_string().contains("unknown activation \"relu\""));
/// ```
pub fn parse_model(text: &str, source: &Path) -> Result<AnyModel, FileError> {
    let value: Value = serde_json::from_str(super::without_bom(text))
        .map_err(|e| FileError::at_line(source, e.line(), format!("invalid JSON: {e}")))?;
    model_from_json(&value).map_err(|message| FileError::new(source, message))
}

/// Builds a model from a JSON value in the file format (as produced by
/// [`model_to_json`]).
///
/// # Errors
///
/// A description of the first problem found, as listed on [`parse_model`].
///
/// ```
/// use scoretape::io::{model_from_json, model_to_json, AnyModel};
/// use scoretape::model::QuadraticEnergy;
/// let m = AnyModel::Quadratic(QuadraticEnergy::new(2).unwrap());
/// assert_eq!(model_from_json(&model_to_json(&m).unwrap()).unwrap(), m);
/// ```
pub fn model_from_json(value: &Value) -> Result<AnyModel, String> {
    let object = value
        .as_object()
        .ok_or("a model file must hold a JSON object")?;
    if object.contains_key(super::model_with_map::INPUT_MAP) {
        return Err(
            "the file has an \"input_map\" (the model works on mapped inputs): \
                    read it with load_model_file"
                .into(),
        );
    }
    let mut fields = Fields {
        object,
        used: vec![],
    };
    let format = fields.string("format")?;
    if format != FORMAT {
        return Err(format!("\"format\" is {format:?}, expected {FORMAT:?}"));
    }
    let version = fields.take("version")?;
    if version.as_u64() != Some(VERSION) {
        return Err(format!(
            "unsupported version {version} (this program reads version {VERSION})"
        ));
    }
    let kind_name = fields.string("kind")?;
    let kind: ModelKind = kind_name
        .parse()
        .map_err(|_| format!("unknown kind {kind_name:?} ({})", known_kinds()))?;
    let model = match kind {
        ModelKind::MlpEnergy => {
            let activation = parse_activation(fields.string("activation")?)?;
            let layers = parse_layers(fields.take("layers")?)?;
            AnyModel::MlpEnergy(MlpEnergy::from_layers(layers, activation).map_err(plain)?)
        }
        ModelKind::MlpScore => {
            let activation = parse_activation(fields.string("activation")?)?;
            let conditioned = fields
                .take("sigma_conditioned")?
                .as_bool()
                .ok_or("field \"sigma_conditioned\" must be true or false")?;
            let layers = parse_layers(fields.take("layers")?)?;
            AnyModel::MlpScore(
                MlpScore::from_layers(layers, activation, conditioned).map_err(plain)?,
            )
        }
        ModelKind::Quadratic => {
            let mean = vector(fields.take("mean")?, "mean")?;
            let d = mean.len();
            let cholesky = matrix(fields.take("cholesky")?, "cholesky")?;
            if cholesky.shape() != [d, d] {
                return Err(format!(
                    "\"cholesky\" has shape {:?}, but a mean of dimension {d} needs [{d}, {d}]",
                    cholesky.shape()
                ));
            }
            let mut model = QuadraticEnergy::new(d).map_err(plain)?;
            model
                .params_mut()
                .set_values(vec![mean, cholesky])
                .map_err(plain)?;
            AnyModel::Quadratic(model)
        }
        ModelKind::Boltzmann => {
            let weight = matrix(fields.take("weight")?, "weight")?;
            let d = weight.shape()[0];
            if weight.shape() != [d, d] {
                return Err(format!(
                    "\"weight\" has shape {:?}, but a Boltzmann machine needs a square matrix",
                    weight.shape()
                ));
            }
            let bias = vector(fields.take("bias")?, "bias")?;
            if bias.len() != d {
                return Err(format!(
                    "\"bias\" has {} entries, but \"weight\" is [{d}, {d}]",
                    bias.len()
                ));
            }
            let mut model = Boltzmann::new(d).map_err(plain)?;
            model
                .params_mut()
                .set_values(vec![weight, bias])
                .map_err(plain)?;
            AnyModel::Boltzmann(model)
        }
    };
    fields.reject_unknown()?;
    Ok(model)
}

/// The error's message without its category prefix: the file error already
/// says what is being read.
fn plain(e: Error) -> String {
    match e {
        Error::Shape(m) | Error::InvalidData(m) | Error::Numerical(m) => m,
        other => other.to_string(),
    }
}

fn parse_activation(name: &str) -> Result<Activation, String> {
    name.parse::<Activation>()
        .map_err(|_| format!("unknown activation {name:?} (expected softplus, tanh, silu or elu)"))
}

/// The fields of a JSON object, remembering which were read so that unknown
/// (misspelt) ones can be reported.
struct Fields<'a> {
    object: &'a Map<String, Value>,
    used: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    fn take(&mut self, key: &'static str) -> Result<&'a Value, String> {
        self.used.push(key);
        self.object
            .get(key)
            .ok_or_else(|| format!("missing field \"{key}\""))
    }

    fn string(&mut self, key: &'static str) -> Result<&'a str, String> {
        self.take(key)?
            .as_str()
            .ok_or_else(|| format!("field \"{key}\" must be a string"))
    }

    fn reject_unknown(&self) -> Result<(), String> {
        match self
            .object
            .keys()
            .find(|k| !self.used.contains(&k.as_str()))
        {
            Some(key) => Err(format!("unknown field {key:?}")),
            None => Ok(()),
        }
    }
}

fn numbers(value: &Value, what: &str) -> Result<Vec<f64>, String> {
    let items = value
        .as_array()
        .ok_or_else(|| format!("{what} must be an array of numbers"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_f64()
                .ok_or_else(|| format!("{what}[{i}] is {v}, not a number"))
        })
        .collect()
}

pub(super) fn vector(value: &Value, what: &str) -> Result<Tensor<f64>, String> {
    let v = numbers(value, what)?;
    if v.is_empty() {
        return Err(format!("{what} is empty"));
    }
    Ok(Tensor::vector(&v))
}

pub(super) fn matrix(value: &Value, what: &str) -> Result<Tensor<f64>, String> {
    let rows = value
        .as_array()
        .ok_or_else(|| format!("{what} must be an array of rows"))?;
    let rows: Vec<Vec<f64>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| numbers(r, &format!("{what}[{i}]")))
        .collect::<Result<_, _>>()?;
    let columns = rows.first().map_or(0, Vec::len);
    if rows.is_empty() || columns == 0 {
        return Err(format!("{what} is empty"));
    }
    if let Some((i, row)) = rows.iter().enumerate().find(|(_, r)| r.len() != columns) {
        return Err(format!(
            "{what}[{i}] has {} entries but {what}[0] has {columns}",
            row.len()
        ));
    }
    Tensor::from_rows(&rows).map_err(plain)
}

/// An MLP's `(weight, bias)` pairs, first layer first.
type Layers = Vec<(Tensor<f64>, Tensor<f64>)>;

fn parse_layers(value: &Value) -> Result<Layers, String> {
    let layers = value
        .as_array()
        .ok_or("\"layers\" must be an array of {\"weight\", \"bias\"} objects")?;
    layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let object = layer
                .as_object()
                .ok_or_else(|| format!("layers[{i}] must be an object"))?;
            let mut fields = Fields {
                object,
                used: vec![],
            };
            let weight = matrix(fields.take("weight")?, &format!("layers[{i}].weight"))?;
            let bias = vector(fields.take("bias")?, &format!("layers[{i}].bias"))?;
            fields
                .reject_unknown()
                .map_err(|e| format!("layers[{i}]: {e}"))?;
            Ok((weight, bias))
        })
        .collect()
}
