//! The objectives as the command line names them, and the one function that
//! records any of them for any model, so `fit` and `eval` compute the same
//! numbers.

use super::error::CliError;
use crate::error::Error;
use crate::io::AnyModel;
use crate::objective::{
    denoising_score_matching, denoising_score_matching_multilevel,
    denoising_score_matching_score_model, exact_score_matching, exact_score_matching_score_model,
    ratio_matching, sliced_score_matching, sliced_score_matching_score_model, Noise, NoiseLevels,
    ProjectionKind, Projections, SlicedVariant,
};
use crate::random::Rng64;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;
use clap::ValueEnum;

/// A score-matching objective, by its command-line name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ObjectiveName {
    /// Exact score matching: -tr H + ½‖∇E‖² (d Hessian-vector products).
    Esm,
    /// Sliced score matching: -vᵀHv + ½(vᵀ∇E)², M projections per sample.
    Ssm,
    /// Sliced score matching, variance reduced: -vᵀHv + ½‖∇E‖².
    SsmVr,
    /// Denoising score matching: ½‖s(x + σε) + ε/σ‖².
    Dsm,
    /// Ratio matching for binary data: Σⱼ sigmoid(E(x) - E(flipⱼ x))².
    Rm,
}

impl ObjectiveName {
    /// The command-line name.
    ///
    /// ```
    /// use scoretape::cli::ObjectiveName;
    /// assert_eq!(ObjectiveName::SsmVr.name(), "ssm-vr");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ObjectiveName::Esm => "esm",
            ObjectiveName::Ssm => "ssm",
            ObjectiveName::SsmVr => "ssm-vr",
            ObjectiveName::Dsm => "dsm",
            ObjectiveName::Rm => "rm",
        }
    }
}

/// The distribution of random projections for sliced score matching, as
/// the command line names it (see [`ProjectionKind`]).
///
/// ```
/// use scoretape::cli::ProjectionArg;
/// use scoretape::objective::ProjectionKind;
/// assert_eq!(ProjectionKind::from(ProjectionArg::Sphere), ProjectionKind::Sphere);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProjectionArg {
    /// Independent N(0, 1) entries.
    Gaussian,
    /// Independent ±1 entries.
    Rademacher,
    /// Uniform on the sphere of radius √d.
    Sphere,
}

impl From<ProjectionArg> for ProjectionKind {
    fn from(p: ProjectionArg) -> Self {
        match p {
            ProjectionArg::Gaussian => ProjectionKind::Gaussian,
            ProjectionArg::Rademacher => ProjectionKind::Rademacher,
            ProjectionArg::Sphere => ProjectionKind::Sphere,
        }
    }
}

/// Everything that defines an objective's loss apart from its randomness.
#[derive(Clone, Debug)]
pub(crate) struct ObjectiveSettings {
    pub name: ObjectiveName,
    /// Projections per sample (sliced objectives).
    pub projections: usize,
    pub projection_kind: ProjectionArg,
    /// The noise levels (denoising): one, or several for a σ-conditioned
    /// score model.
    pub sigmas: Vec<f64>,
}

/// Where an objective's random draws come from.
pub(crate) enum Draws<'a> {
    /// From a generator.
    Random(&'a mut Rng64),
    /// Given explicitly: projections `[M, B, d]` and noise `[B, d]`; a draw the
    /// objective needs but that is not given comes from the generator.
    Given {
        projections: Option<&'a Tensor<f64>>,
        noise: Option<&'a Tensor<f64>>,
        rng: &'a mut Rng64,
    },
}

/// Checks that the model and the objective go together, before any work.
pub(crate) fn check_model(settings: &ObjectiveSettings, model: &AnyModel) -> Result<(), CliError> {
    if settings.name == ObjectiveName::Rm && model.as_energy().is_none() {
        return Err(CliError::data(format!(
            "objective rm compares energies, but the model is {}",
            model.kind()
        )));
    }
    let conditioned = matches!(model, AnyModel::MlpScore(m) if m.is_sigma_conditioned());
    if conditioned && settings.name != ObjectiveName::Dsm {
        return Err(CliError::data(format!(
            "a σ-conditioned score model is fitted by dsm, not {}",
            settings.name.name()
        )));
    }
    if settings.sigmas.len() > 1 && !conditioned {
        return Err(CliError::usage(
            "several noise levels (--sigmas) need a σ-conditioned mlp-score model",
        ));
    }
    Ok(())
}

/// Records the objective's loss on `tape` for the model with recorded
/// parameters `params` on the batch `x`.
pub(crate) fn record_loss<'t>(
    settings: &ObjectiveSettings,
    model: &AnyModel,
    tape: &'t Tape<f64>,
    params: &[Var<'t, f64>],
    x: &Tensor<f64>,
    draws: Draws<'_>,
) -> Result<Var<'t, f64>, Error> {
    let (projections, noise, rng) = match draws {
        Draws::Random(rng) => (None, None, rng),
        Draws::Given {
            projections,
            noise,
            rng,
        } => (projections, noise, rng),
    };
    let given_projections = projections;
    let projections = |rng| sliced_draws(settings, given_projections, rng);
    let variant = if settings.name == ObjectiveName::SsmVr {
        SlicedVariant::VarianceReduced
    } else {
        SlicedVariant::Standard
    };
    let sigma = settings.sigmas[0];
    if let Some(score_model) = model.as_score() {
        let score = |x: Var<'t, f64>| score_model.score(params, x, None);
        return match settings.name {
            ObjectiveName::Esm => exact_score_matching_score_model(tape, &score, x, None),
            ObjectiveName::Ssm | ObjectiveName::SsmVr => {
                sliced_score_matching_score_model(tape, &score, x, projections(rng), variant, None)
            }
            ObjectiveName::Dsm if matches!(model, AnyModel::MlpScore(m) if m.is_sigma_conditioned()) =>
            {
                let conditioned =
                    |x: Var<'t, f64>, s: Var<'t, f64>| score_model.score(params, x, Some(s));
                let levels = match noise {
                    // Given noise comes with one level: the first.
                    Some(eps) => {
                        let first = vec![0; x.shape()[0]];
                        return denoising_score_matching_multilevel(
                            tape,
                            &conditioned,
                            x,
                            &settings.sigmas,
                            NoiseLevels::Given {
                                levels: &first,
                                noise: eps,
                            },
                            None,
                        );
                    }
                    None => NoiseLevels::Random(rng),
                };
                denoising_score_matching_multilevel(
                    tape,
                    &conditioned,
                    x,
                    &settings.sigmas,
                    levels,
                    None,
                )
            }
            ObjectiveName::Dsm => {
                let noise = noise.map_or(Noise::Random(rng), Noise::Given);
                denoising_score_matching_score_model(tape, &score, x, sigma, noise, None)
            }
            ObjectiveName::Rm => Err(Error::InvalidData(
                "ratio matching needs an energy model".into(),
            )),
        };
    }
    let energy_model = model.as_energy().ok_or_else(|| {
        Error::InvalidData(format!(
            "a {} model is neither an energy nor a score",
            model.kind()
        ))
    })?;
    let energy = |x: Var<'t, f64>| energy_model.energy(params, x);
    match settings.name {
        ObjectiveName::Esm => exact_score_matching(tape, &energy, x, None),
        ObjectiveName::Ssm | ObjectiveName::SsmVr => {
            sliced_score_matching(tape, &energy, x, projections(rng), variant, None)
        }
        ObjectiveName::Dsm => {
            let noise = noise.map_or(Noise::Random(rng), Noise::Given);
            denoising_score_matching(tape, &energy, x, sigma, noise, None)
        }
        ObjectiveName::Rm => ratio_matching(tape, &energy, x, None),
    }
}

/// The projections of a sliced objective: given, or drawn from `rng`.
fn sliced_draws<'a>(
    settings: &ObjectiveSettings,
    given: Option<&'a Tensor<f64>>,
    rng: &'a mut Rng64,
) -> Projections<'a, f64> {
    match given {
        Some(v) => Projections::Given(v),
        None => Projections::Random {
            kind: settings.projection_kind.into(),
            count: settings.projections,
            rng,
        },
    }
}
