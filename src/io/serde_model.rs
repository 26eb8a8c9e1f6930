//! `serde` support for [`AnyModel`] (features `io` and `serde`): a model
//! serialises as exactly the JSON object of its model file
//! (docs/model-format.md), through [`model_to_json`] and [`model_from_json`],
//! so every format reads and checks it the same way a model file is read.

use super::{model_from_json, model_to_json, AnyModel};
use serde::de::Error as _;
use serde::ser::Error as _;

/// The model-file object of the model.
///
/// ```
/// use scoretape::io::AnyModel;
/// use scoretape::model::QuadraticEnergy;
/// let model = AnyModel::Quadratic(QuadraticEnergy::new(2).unwrap());
/// let text = serde_json::to_string(&model).unwrap();
/// assert!(text.contains(r#""kind":"quadratic""#));
/// assert_eq!(serde_json::from_str::<AnyModel>(&text).unwrap(), model);
/// ```
impl serde::Serialize for AnyModel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        model_to_json(self)
            .map_err(S::Error::custom)?
            .serialize(serializer)
    }
}

/// Reads a model-file object, with the model file's checks and messages.
///
/// ```
/// use scoretape::io::AnyModel;
/// let text = r#"{"format": "scoretape-model", "version": 1, "kind": "banana"}"#;
/// let err = serde_json::from_str::<AnyModel>(text).unwrap_err();
/// assert!(err.to_string().contains("banana"));
/// ```
impl<'de> serde::Deserialize<'de> for AnyModel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        model_from_json(&value).map_err(D::Error::custom)
    }
}
