//! `serde` support (feature `serde`): a tensor is `{"shape": [...], "data":
//! [...]}`, its elements in row-major order; reading one checks that the data
//! fill the shape.

use super::Tensor;
use crate::error::Error;
use crate::real::Real;
use alloc::vec::Vec;

/// The fields of a tensor as read, before the check that makes them one.
#[derive(serde::Deserialize)]
#[serde(rename = "Tensor", deny_unknown_fields)]
pub(crate) struct TensorFields<T> {
    shape: Vec<usize>,
    data: Vec<T>,
}

impl<T: Real> TryFrom<TensorFields<T>> for Tensor<T> {
    type Error = Error;
    fn try_from(fields: TensorFields<T>) -> Result<Self, Error> {
        Tensor::from_vec(&fields.shape, fields.data)
    }
}

#[cfg(all(test, feature = "io"))]
mod tests {
    use super::*;

    #[test]
    fn a_tensor_round_trips_through_json() {
        let t = Tensor::from_rows(&[alloc::vec![1.0, 2.5], alloc::vec![-3.0, 4.0]]).unwrap();
        let text = serde_json::to_string(&t).unwrap();
        assert_eq!(text, r#"{"shape":[2,2],"data":[1.0,2.5,-3.0,4.0]}"#);
        assert_eq!(serde_json::from_str::<Tensor<f64>>(&text).unwrap(), t);
    }

    #[test]
    fn data_that_do_not_fill_the_shape_are_an_error() {
        let err = serde_json::from_str::<Tensor<f64>>(r#"{"shape":[2,2],"data":[1.0]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("shape"), "{err}");
    }
}
