//! The objectives as the command line names them, mapped onto the library's
//! [`Objective`]: `fit`, `eval` and `demo` then run the library's evaluator,
//! so they compute the numbers a library user (and the benchmark) computes.

use super::error::CliError;
use crate::error::Error;
use crate::io::AnyModel;
use crate::objective::ScoreWeight;
use crate::objective::{ExactTrace, Fittable, Objective, ProjectionKind, SlicedVariant};
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
    /// Finite-difference sliced score matching: ssm from E(x), E(x ± εv)
    /// only (energy models; see --epsilon).
    FdSsm,
    /// Denoising score matching: ½‖s(x + σε) + ε/σ‖².
    Dsm,
    /// Ratio matching for binary data: Σⱼ sigmoid(E(x) - E(flipⱼ x))².
    Rm,
    /// Generalized score matching for data in [0, ∞)ᵈ, weighted by h (--weight):
    /// Σⱼ ½h(∂ⱼE)² - h∂²ⱼE - h'∂ⱼE.
    Gsm,
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
            ObjectiveName::FdSsm => "fd-ssm",
            ObjectiveName::Dsm => "dsm",
            ObjectiveName::Rm => "rm",
            ObjectiveName::Gsm => "gsm",
        }
    }
}

impl ObjectiveName {
    /// Whether the objective takes random projections (ssm, ssm-vr, fd-ssm).
    ///
    /// ```
    /// use scoretape::cli::ObjectiveName;
    /// assert!(ObjectiveName::FdSsm.is_sliced());
    /// assert!(!ObjectiveName::Dsm.is_sliced());
    /// ```
    pub fn is_sliced(self) -> bool {
        matches!(
            self,
            ObjectiveName::Ssm | ObjectiveName::SsmVr | ObjectiveName::FdSsm
        )
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

/// How exact score matching takes an energy model's Hessian traces, as the
/// command line names it (see [`ExactTrace`]).
///
/// ```
/// use scoretape::cli::TraceArg;
/// use scoretape::objective::ExactTrace;
/// assert_eq!(ExactTrace::from(TraceArg::Laplacian), ExactTrace::Laplacian);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TraceArg {
    /// d Hessian-vector products.
    Hvp,
    /// One forward-Laplacian sweep.
    Laplacian,
}

impl From<TraceArg> for ExactTrace {
    fn from(t: TraceArg) -> Self {
        match t {
            TraceArg::Hvp => ExactTrace::Hvp,
            TraceArg::Laplacian => ExactTrace::Laplacian,
        }
    }
}

/// Everything that defines an objective's loss apart from its randomness, as
/// the command line gives it.
#[derive(Clone, Debug)]
pub(crate) struct ObjectiveSettings {
    pub name: ObjectiveName,
    /// Projections per sample (sliced objectives).
    pub projections: usize,
    pub projection_kind: ProjectionArg,
    /// The noise levels (denoising): one, or several for a σ-conditioned
    /// score model.
    pub sigmas: Vec<f64>,
    /// The Hessian trace of exact score matching; `None`: the faster at the
    /// model's dimension.
    pub trace: Option<TraceArg>,
    /// gsm: the weight function; `None`: [`DEFAULT_WEIGHT`].
    pub weight: Option<ScoreWeight>,
    /// The finite-difference step of fd-ssm.
    pub epsilon: f64,
}

/// gsm's weight function without --weight: Hyvärinen's `x2`, which needs no
/// scale.
pub(crate) const DEFAULT_WEIGHT: ScoreWeight = ScoreWeight::X2;

/// clap value parser: gsm's weight function, `x2`, `x` or `min:C` (C > 0).
pub(crate) fn weight(text: &str) -> Result<ScoreWeight, String> {
    text.parse().map_err(|_| {
        "must be x2, x or min:C with C a finite number > 0 (h(x) = x², x or min(x, C))".into()
    })
}

impl ObjectiveSettings {
    /// The library's objective.
    pub(crate) fn objective(&self) -> Objective {
        let sliced = |variant| Objective::Sliced {
            kind: self.projection_kind.into(),
            count: self.projections,
            variant,
        };
        match self.name {
            ObjectiveName::Esm => match self.trace {
                Some(trace) => Objective::exact_with(trace.into()),
                None => Objective::exact(),
            },
            ObjectiveName::Ssm => sliced(SlicedVariant::Standard),
            ObjectiveName::SsmVr => sliced(SlicedVariant::VarianceReduced),
            ObjectiveName::FdSsm => Objective::FiniteDifferenceSliced {
                kind: self.projection_kind.into(),
                count: self.projections,
                epsilon: self.epsilon,
            },
            ObjectiveName::Dsm => Objective::Denoising {
                sigmas: self.sigmas.clone(),
            },
            ObjectiveName::Rm => Objective::Ratio,
            ObjectiveName::Gsm => Objective::Generalized {
                weight: self.weight.unwrap_or(DEFAULT_WEIGHT),
            },
        }
    }

    /// gsm's weight function, `None` for any other objective.
    pub(crate) fn gsm_weight(&self) -> Option<ScoreWeight> {
        match self.objective() {
            Objective::Generalized { weight } => Some(weight),
            _ => None,
        }
    }

    /// The library's objective, checked against the model before any work:
    /// a model the objective does not apply to is a data error (exit 1), and
    /// several noise levels for a model not conditioned on σ a usage error
    /// (exit 2).
    pub(crate) fn objective_for(&self, model: &AnyModel) -> Result<Objective, CliError> {
        let objective = self.objective();
        let conditioned = matches!(model, AnyModel::MlpScore(m) if m.is_sigma_conditioned());
        if self.sigmas.len() > 1 && !conditioned {
            return Err(CliError::usage(
                "several noise levels (--sigmas) need a σ-conditioned mlp-score model",
            ));
        }
        objective.check(model.form()).map_err(|e| match e {
            Error::InvalidData(message) => CliError::data(message),
            other => other.into(),
        })?;
        Ok(objective)
    }
}
