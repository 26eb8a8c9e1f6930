//! `fit --solver closed-form`: models whose score-matching minimiser has a
//! closed form are fitted by it, with no iterations, no learning rate and no
//! sensitivity to the data's conditioning.

use super::common::Dataset;
use super::error::CliError;
use super::fit::ModelArg;
use crate::io::AnyModel;
use crate::model::QuadraticEnergy;
use crate::objective::ScoreWeight;
use clap::ValueEnum;

/// How `fit` finds the parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SolverArg {
    /// Adam on minibatches of the objective.
    Gradient,
    /// The closed-form minimiser (quadratic model: the Gaussian
    /// maximum-likelihood estimate, which is also exact score matching's;
    /// with gsm, generalized score matching's minimiser A⁻¹b).
    ClosedForm,
}

/// Refuses option combinations that the closed form cannot honour.
pub(crate) fn check(
    solver: SolverArg,
    model: ModelArg,
    resume: bool,
    checkpoints: bool,
) -> Result<(), CliError> {
    if solver == SolverArg::Gradient {
        return Ok(());
    }
    if model != ModelArg::Quadratic {
        return Err(CliError::usage(format!(
            "--solver closed-form needs --model quadratic (the {} model has no closed-form fit)",
            format!("{model:?}").to_lowercase()
        )));
    }
    if resume || checkpoints {
        return Err(CliError::usage(
            "--solver closed-form makes no updates, so --resume and --checkpoint-every do not apply",
        ));
    }
    Ok(())
}

/// The quadratic model fitted in closed form to every row of `data`: by
/// generalized score matching with the weight `gsm` if given, else the
/// Gaussian's maximum-likelihood estimate.
pub(crate) fn fit(
    data: &Dataset,
    gsm: Option<ScoreWeight>,
    quiet: bool,
) -> Result<AnyModel, CliError> {
    let failed = |e| CliError::data(format!("{}: {e}", data.path.display()));
    if let Some(weight) = gsm {
        let model =
            QuadraticEnergy::fit_closed_form_generalized(&data.x, weight).map_err(failed)?;
        if !quiet {
            eprintln!(
                "closed form: generalized score matching (weight {weight}) fitted to all {} \
                 rows, θ = A⁻¹b in the natural parameters (P, Pμ); no rows held out",
                data.len()
            );
        }
        return Ok(AnyModel::Quadratic(model));
    }
    let model = QuadraticEnergy::fit_closed_form(&data.x).map_err(failed)?;
    if !quiet {
        eprintln!(
            "closed form: Gaussian fitted to all {} rows (mean and inverse covariance: the \
             maximum-likelihood estimate, and the exact score-matching minimiser); no rows \
             held out",
            data.len()
        );
    }
    Ok(AnyModel::Quadratic(model))
}
