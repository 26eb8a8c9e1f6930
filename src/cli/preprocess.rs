//! `fit --standardize` and `fit --whiten`: the affine input map
//! `z = A(x − m)` estimated from the training data, fitted through, and saved
//! with the model (`"input_map"` in the model file) so that `eval`, `sample`,
//! `denoise` and `plot` work in the data's original units.

use super::common::Dataset;
use super::error::CliError;
use super::objective::ObjectiveName;
use crate::error::Error;
use crate::model::AffineMap;
use clap::Args;

/// Preprocessing options of `scoretape fit`.
#[derive(Args, Debug, Clone, Default)]
pub struct PreprocessArgs {
    /// Fit to standardised data (each column minus its mean, over its
    /// standard deviation); the map is saved with the model, so the other
    /// commands work in the original units.
    #[arg(long, conflicts_with = "whiten")]
    pub standardize: bool,
    /// Fit to PCA-whitened data (mean 0, covariance I); the map is saved with
    /// the model, so the other commands work in the original units.
    #[arg(long)]
    pub whiten: bool,
}

impl PreprocessArgs {
    /// The name recorded in a checkpoint's settings (`None` without a map).
    pub(crate) fn name(&self) -> Option<&'static str> {
        match (self.standardize, self.whiten) {
            (true, _) => Some("standardize"),
            (_, true) => Some("whiten"),
            _ => None,
        }
    }

    /// The map estimated from `data` (all of it, held-out rows included: the
    /// same data give the same map, so a resumed fit gets it back exactly),
    /// or `None` without --standardize or --whiten.
    pub(crate) fn input_map(
        &self,
        data: &Dataset,
        objective: ObjectiveName,
    ) -> Result<Option<AffineMap>, CliError> {
        let Some(name) = self.name() else {
            return Ok(None);
        };
        if objective == ObjectiveName::Rm {
            return Err(CliError::usage(format!(
                "--{name} cannot be used with ratio matching, which needs the binary (0/1) data \
                 as they are"
            )));
        }
        let map = if self.standardize {
            AffineMap::standardize(&data.x)
        } else {
            AffineMap::whiten(&data.x)
        };
        map.map_err(|e| match e {
            Error::InvalidData(m) | Error::Numerical(m) | Error::Shape(m) => {
                CliError::data(format!("{}: --{name}: {m}", data.path.display()))
            }
            other => other.into(),
        })
        .map(Some)
    }
}
