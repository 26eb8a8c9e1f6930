//! `serde` support for [`Params`] (feature `serde`): `{"names": [...],
//! "values": [tensor, ...]}`, in the parameters' order; reading checks that
//! there is one value per name.

use super::Params;
use crate::error::Error;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The fields of a `Params` as read, before the check that pairs them.
#[derive(serde::Deserialize)]
#[serde(
    rename = "Params",
    deny_unknown_fields,
    bound(deserialize = "T: Real + serde::Deserialize<'de>")
)]
pub(crate) struct ParamsFields<T> {
    names: Vec<String>,
    values: Vec<Tensor<T>>,
}

impl<T: Real> TryFrom<ParamsFields<T>> for Params<T> {
    type Error = Error;
    fn try_from(fields: ParamsFields<T>) -> Result<Self, Error> {
        if fields.names.len() != fields.values.len() {
            return Err(Error::Shape(format!(
                "{} parameter names for {} values",
                fields.names.len(),
                fields.values.len()
            )));
        }
        let mut params = Params::new();
        for (name, value) in fields.names.into_iter().zip(fields.values) {
            params.push(name, value);
        }
        Ok(params)
    }
}

#[cfg(all(test, feature = "io"))]
mod tests {
    use super::*;

    #[test]
    fn params_round_trip_through_json_in_order() {
        let mut p = Params::new();
        p.push("w", Tensor::from_rows(&[alloc::vec![1.0, 2.0]]).unwrap());
        p.push("b", Tensor::scalar(0.5));
        let text = serde_json::to_string(&p).unwrap();
        assert!(text.starts_with(r#"{"names":["w","b"],"values":[{"shape":[1,2]"#));
        assert_eq!(serde_json::from_str::<Params<f64>>(&text).unwrap(), p);
    }

    #[test]
    fn unpaired_names_are_an_error() {
        let text = r#"{"names":["w","b"],"values":[{"shape":[],"data":[1.0]}]}"#;
        let err = serde_json::from_str::<Params<f64>>(text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 parameter names for 1 values"), "{err}");
    }
}
