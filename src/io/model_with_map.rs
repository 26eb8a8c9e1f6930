//! A model file with an optional affine input map (`"input_map"`): the
//! standardising or whitening `z = A(x − m)` the model was fitted through.
//! The model's parameters are those of the model on `z`; the map says how to
//! get `z` from the data's original units.

use super::model_file::{matrix, model_from_json, model_to_json, tensor_json, to_pretty_string};
use super::{write_atomic, AnyModel, FileError};
use crate::error::Error;
use crate::model::AffineMap;
use serde_json::{Map, Value};
use std::path::Path;

/// The optional field holding the map.
pub(super) const INPUT_MAP: &str = "input_map";

/// A model and the input map it was fitted through, if any.
///
/// ```
/// use scoretape::io::{AnyModel, ModelFile};
/// use scoretape::model::{AffineMap, QuadraticEnergy};
/// let file = ModelFile {
///     model: AnyModel::Quadratic(QuadraticEnergy::new(2).unwrap()),
///     input_map: Some(AffineMap::identity(2)),
/// };
/// assert_eq!(file.model.dim(), 2);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFile {
    /// The model, on the mapped inputs `z`.
    pub model: AnyModel,
    /// `z = A(x − m)`, or `None` when the model works on the data directly.
    pub input_map: Option<AffineMap>,
}

/// The file's JSON: [`model_to_json`] plus, with a map,
/// `"input_map": {"shift": [m…], "matrix": [[A row]…]}`.
///
/// # Errors
///
/// As [`model_to_json`].
///
/// ```
/// use scoretape::io::{model_file_to_json, AnyModel, ModelFile};
/// use scoretape::model::{AffineMap, QuadraticEnergy};
/// let file = ModelFile { model: AnyModel::Quadratic(QuadraticEnergy::new(1).unwrap()), input_map: Some(AffineMap::identity(1)) };
/// let v = model_file_to_json(&file).unwrap();
/// assert_eq!(v["input_map"]["matrix"], serde_json::json!([[1.0]]));
/// ```
pub fn model_file_to_json(file: &ModelFile) -> Result<Value, Error> {
    let mut value = model_to_json(&file.model)?;
    if let (Some(map), Value::Object(object)) = (&file.input_map, &mut value) {
        let mut fields = Map::new();
        fields.insert("shift".into(), tensor_json(map.shift()));
        fields.insert("matrix".into(), tensor_json(map.matrix()));
        object.insert(INPUT_MAP.into(), Value::Object(fields));
    }
    Ok(value)
}

/// Reads a model file's JSON value, with or without an input map (files
/// without one read exactly as [`model_from_json`] reads them).
///
/// # Errors
///
/// As [`model_from_json`], and for an `input_map` that is not
/// `{"shift", "matrix"}` with shapes `[d]`, `[d, d]` (d the model's
/// dimension), has a non-finite entry, or a singular matrix.
///
/// ```
/// use scoretape::io::model_file_from_json;
/// let v = serde_json::json!({"format": "scoretape-model", "version": 1, "kind": "quadratic",
///     "mean": [0.0], "cholesky": [[0.0]],
///     "input_map": {"shift": [1.0], "matrix": [[0.5]]}});
/// let file = model_file_from_json(&v).unwrap();
/// assert_eq!(file.input_map.unwrap().matrix().data(), &[0.5]);
/// ```
pub fn model_file_from_json(value: &Value) -> Result<ModelFile, String> {
    let Some(object) = value.as_object() else {
        return Err("a model file must hold a JSON object".into());
    };
    let Some(map_value) = object.get(INPUT_MAP) else {
        return Ok(ModelFile {
            model: model_from_json(value)?,
            input_map: None,
        });
    };
    let mut rest = object.clone();
    rest.remove(INPUT_MAP);
    let model = model_from_json(&Value::Object(rest))?;
    let input_map = parse_map(map_value, model.dim())?;
    Ok(ModelFile {
        model,
        input_map: Some(input_map),
    })
}

fn parse_map(value: &Value, d: usize) -> Result<AffineMap, String> {
    let object = value
        .as_object()
        .ok_or("\"input_map\" must be an object {\"shift\", \"matrix\"}")?;
    if let Some(key) = object.keys().find(|k| *k != "shift" && *k != "matrix") {
        return Err(format!(
            "unknown field {key:?} in \"input_map\" (expected shift, matrix)"
        ));
    }
    let field = |key: &str| {
        object
            .get(key)
            .ok_or_else(|| format!("missing field \"input_map.{key}\""))
    };
    let shift = super::model_file::vector(field("shift")?, "input_map.shift")?;
    let matrix = matrix(field("matrix")?, "input_map.matrix")?;
    if shift.len() != d || matrix.shape() != [d, d] {
        return Err(format!(
            "\"input_map\" has shift [{}] and matrix {:?}, but the model takes dimension {d} \
             (needs [{d}] and [{d}, {d}])",
            shift.len(),
            matrix.shape()
        ));
    }
    AffineMap::new(shift, matrix).map_err(|e| format!("input_map: {e}"))
}

/// Writes a model file, with its input map if it has one, atomically.
///
/// # Errors
///
/// A [`FileError`] if a parameter is not finite or the file cannot be written.
///
/// ```
/// use scoretape::io::{load_model_file, save_model_file, AnyModel, ModelFile};
/// use scoretape::model::{AffineMap, QuadraticEnergy};
/// use scoretape::Tensor;
/// let x = Tensor::from_rows(&[vec![1.0, 2.0], vec![3.0, 7.0], vec![0.0, 1.0]]).unwrap();
/// let file = ModelFile {
///     model: AnyModel::Quadratic(QuadraticEnergy::new(2).unwrap()),
///     input_map: Some(AffineMap::whiten(&x).unwrap()),
/// };
/// let path = std::env::temp_dir().join("scoretape-doc-model-map.json");
/// save_model_file(&path, &file).unwrap();
/// assert_eq!(load_model_file(&path).unwrap(), file); // bit-identical
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn save_model_file(path: &Path, file: &ModelFile) -> Result<(), FileError> {
    let json = model_file_to_json(file).map_err(|e| FileError::new(path, e.to_string()))?;
    write_atomic(path, to_pretty_string(&json).as_bytes())
}

/// Reads a model file, with its input map if it has one.
///
/// # Errors
///
/// A [`FileError`] naming the file if it cannot be read, is not JSON, or
/// [`model_file_from_json`] rejects it.
///
/// ```
/// let err = scoretape::io::load_model_file("missing.json".as_ref()).unwrap_err();
/// assert!(err.to_string().starts_with("missing.json: cannot read"));
/// ```
pub fn load_model_file(path: &Path) -> Result<ModelFile, FileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileError::new(path, format!("cannot read: {e}")))?;
    let value: Value = serde_json::from_str(super::without_bom(&text))
        .map_err(|e| FileError::at_line(path, e.line(), format!("invalid JSON: {e}")))?;
    model_file_from_json(&value).map_err(|message| FileError::new(path, message))
}
