//! One value that names an objective and its settings ([`Objective`]), the
//! random draws it needs for a batch ([`Draws`]), and the one place that maps
//! an objective and a kind of model onto the functions of this module.
//!
//! The draws are separated from the recording on purpose: they are drawn for
//! the **whole** batch from one generator, in the order the objective
//! functions themselves draw, and each block of rows then gets its slice. So
//! a loss split over threads uses the same projections and noise per sample
//! as on one thread, and the numbers differ only by the order of the sums.

use super::fd_sliced::{check_epsilon, finite_difference_sliced_score_matching};
use super::{
    check_sigma, denoising_score_matching, denoising_score_matching_multilevel,
    denoising_score_matching_score_model, draw_projections, exact_score_matching_score_model,
    exact_score_matching_value_and_grad_with_trace, exact_score_matching_with_trace,
    ratio_matching, sliced_score_matching, sliced_score_matching_score_model, ExactTrace, Noise,
    NoiseLevels, ProjectionKind, Projections, SlicedVariant,
};
use super::{generalized_score_matching, ScoreWeight};
use crate::error::Error;
use crate::model::{Boltzmann, Energy, MlpEnergy, MlpScore, Model, QuadraticEnergy, Score};
use crate::random::{normal_tensor, Rng64};
use crate::real::Real;
use crate::tape::{grad, Tape, Var};
use crate::tensor::Tensor;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use rand::RngExt;

/// A score-matching objective with its settings: which loss, and how its
/// randomness is shaped (the draws themselves are a [`Draws`]).
///
/// | variant | loss per sample | command-line name |
/// |---------|-----------------|-------------------|
/// | [`Objective::Exact`] | `-tr H + ½‖∇E‖²` (energy), `tr ∇s + ½‖s‖²` (score) | `esm` |
/// | [`Objective::Sliced`] | `-vᵀHv + ½(vᵀ∇E)²`, mean over `count` projections `v` | `ssm` |
/// | the same, [`SlicedVariant::VarianceReduced`] | `-vᵀHv + ½‖∇E‖²` | `ssm-vr` |
/// | [`Objective::FiniteDifferenceSliced`] | `-(E₊ + E₋ - 2E)/ε² + ½((E₊ - E₋)/2ε)²`, `E± = E(x ± εv)` | `fd-ssm` |
/// | [`Objective::Denoising`] | `½‖s(x + σε) + ε/σ‖²`; with several `σ`, `½‖σ s(x̃, σ) + ε‖²` | `dsm` |
/// | [`Objective::Ratio`] | `Σⱼ sigmoid(E(x) - E(flipⱼ x))²` on bits | `rm` |
/// | [`Objective::Generalized`] | `Σⱼ [½h(∂ⱼE)² - h∂²ⱼE - h'∂ⱼE]` on `[0, ∞)ᵈ` | `gsm` |
///
/// The batch loss is the mean over samples. This is the only place that maps
/// an objective onto code: the [evaluator](crate::exec::Evaluator), `fit`, the
/// command line and the benchmarks all go through it.
///
/// ```
/// use scoretape::objective::{Objective, ProjectionKind, SlicedVariant};
/// let ssm = Objective::Sliced { kind: ProjectionKind::Gaussian, count: 1, variant: SlicedVariant::Standard };
/// assert_eq!(ssm.name(), "ssm");
/// let fd = Objective::FiniteDifferenceSliced { kind: ProjectionKind::Gaussian, count: 1, epsilon: 1e-3 };
/// assert_eq!(fd.name(), "fd-ssm");
/// assert_eq!(Objective::exact().name(), "esm");
/// assert_eq!(Objective::denoising(0.1).name(), "dsm");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Objective {
    /// Exact score matching (Hyvärinen 2005): for an energy model the
    /// Hessian trace by `d` Hessian-vector products or by the forward
    /// Laplacian, as `trace` says; for a score model the divergence by `d`
    /// Jacobian-vector products. Build it with [`Objective::exact`] or
    /// [`Objective::exact_with`].
    #[non_exhaustive]
    Exact {
        /// How an energy model's Hessian traces are computed; `None` takes
        /// the faster at the model's dimension ([`ExactTrace::fastest_for`]).
        /// Both give the same loss to rounding.
        trace: Option<ExactTrace>,
    },
    /// Sliced score matching (Song et al. 2019).
    Sliced {
        /// The distribution of the projections, `E[vvᵀ] = I`.
        kind: ProjectionKind,
        /// Projections per sample, `M ≥ 1`.
        count: usize,
        /// Standard (`½(vᵀs)²`) or variance reduced (`½‖s‖²`).
        variant: SlicedVariant,
    },
    /// Finite-difference sliced score matching (Pang et al. 2020), for energy
    /// models: the standard sliced loss with `vᵀHv` and `vᵀ∇E` replaced by
    /// differences of `E(x)`, `E(x ± εv)` (see
    /// [`finite_difference_sliced_score_matching`]).
    FiniteDifferenceSliced {
        /// The distribution of the projections, `E[vvᵀ] = I`.
        kind: ProjectionKind,
        /// Projections per sample, `M ≥ 1`.
        count: usize,
        /// The step `ε`, finite and `> 0` ([`fd_ssm_epsilon`](super::fd_ssm_epsilon)
        /// is the default).
        epsilon: f64,
    },
    /// Denoising score matching (Vincent 2011) at the noise levels `sigmas`:
    /// one level for an energy or a plain score model; one or more for a
    /// σ-conditioned score model (each sample draws its level uniformly, and
    /// the NCSN weighting `λ(σ) = σ²` applies).
    Denoising {
        /// The noise levels σ > 0.
        sigmas: Vec<f64>,
    },
    /// Ratio matching for binary data (Hyvärinen 2007).
    Ratio,
    /// Generalized score matching for data on `[0, ∞)ᵈ` (Hyvärinen 2007; Yu,
    /// Drton and Shojaie 2019), energy models only
    /// ([`generalized_score_matching`]).
    Generalized {
        /// The weight function `h`.
        weight: ScoreWeight,
    },
}

/// What an objective needs to know about a model: whether it is an energy or
/// a score network, and for which data it is meant.
///
/// ```
/// use scoretape::model::{Boltzmann, QuadraticEnergy};
/// use scoretape::objective::{Fittable, ModelForm};
/// assert!(matches!(QuadraticEnergy::<f64>::new(2).unwrap().form(), ModelForm::Energy(_)));
/// assert!(matches!(Boltzmann::<f64>::new(2).unwrap().form(), ModelForm::BinaryEnergy(_)));
/// ```
#[derive(Clone, Copy)]
pub enum ModelForm<'m, T: Real> {
    /// An energy on `ℝᵈ`; the score is `-∇ₓE`.
    Energy(&'m dyn Energy<T>),
    /// An energy on `{0, 1}ᵈ` (a Boltzmann machine): it has no normalisable
    /// density on `ℝᵈ`, so only ratio matching applies.
    BinaryEnergy(&'m dyn Energy<T>),
    /// A score network `s(x)`.
    Score(&'m dyn Score<T>),
    /// A score network conditioned on the noise level, `s(x, σ)`.
    ConditionedScore(&'m dyn Score<T>),
}

impl<T: Real> ModelForm<'_, T> {
    /// A short description for messages.
    fn describe(&self) -> &'static str {
        match self {
            ModelForm::Energy(_) => "an energy model",
            ModelForm::BinaryEnergy(_) => "a binary energy model (Boltzmann machine)",
            ModelForm::Score(_) => "a score model",
            ModelForm::ConditionedScore(_) => "a σ-conditioned score model",
        }
    }
}

/// A model an [`Objective`] can fit: the crate's models, and
/// `io::AnyModel` with the `io` feature. Models are plain
/// tensors, so they can be shared with worker threads (`Sync`).
///
/// A model of your own implements [`Model`], [`Energy`] (or [`Score`]) and
/// this trait in one line:
///
/// ```
/// use scoretape::model::{Energy, Model, Params};
/// use scoretape::objective::{Fittable, ModelForm};
/// use scoretape::{Real, Var};
/// struct Isotropic { params: Params<f64> } // E(x) = ½ a ‖x‖², d = 2
/// impl Model<f64> for Isotropic {
///     fn dim(&self) -> usize { 2 }
///     fn params(&self) -> &Params<f64> { &self.params }
///     fn params_mut(&mut self) -> &mut Params<f64> { &mut self.params }
/// }
/// impl Energy<f64> for Isotropic {
///     fn energy<'t>(&self, p: &[Var<'t, f64>], x: Var<'t, f64>) -> Var<'t, f64> {
///         x.square().sum_axis(1) * p[0] * 0.5
///     }
/// }
/// impl Fittable<f64> for Isotropic {
///     fn form(&self) -> ModelForm<'_, f64> { ModelForm::Energy(self) }
/// }
/// let mut params = Params::new();
/// params.push("a", scoretape::Tensor::scalar(1.0));
/// assert!(matches!(Isotropic { params }.form(), ModelForm::Energy(_)));
/// ```
pub trait Fittable<T: Real>: Model<T> + Sync {
    /// The model as an objective sees it.
    fn form(&self) -> ModelForm<'_, T>;
}

impl<T: Real> Fittable<T> for MlpEnergy<T> {
    fn form(&self) -> ModelForm<'_, T> {
        ModelForm::Energy(self)
    }
}

impl<T: Real> Fittable<T> for QuadraticEnergy<T> {
    fn form(&self) -> ModelForm<'_, T> {
        ModelForm::Energy(self)
    }
}

impl<T: Real> Fittable<T> for Boltzmann<T> {
    fn form(&self) -> ModelForm<'_, T> {
        ModelForm::BinaryEnergy(self)
    }
}

impl<T: Real> Fittable<T> for MlpScore<T> {
    fn form(&self) -> ModelForm<'_, T> {
        if self.is_sigma_conditioned() {
            ModelForm::ConditionedScore(self)
        } else {
            ModelForm::Score(self)
        }
    }
}

/// A model file's model is a [`Model`] of whichever kind it holds.
#[cfg(feature = "io")]
impl Model<f64> for crate::io::AnyModel {
    fn dim(&self) -> usize {
        crate::io::AnyModel::dim(self)
    }
    fn params(&self) -> &crate::model::Params<f64> {
        crate::io::AnyModel::params(self)
    }
    fn params_mut(&mut self) -> &mut crate::model::Params<f64> {
        crate::io::AnyModel::params_mut(self)
    }
}

#[cfg(feature = "io")]
impl Fittable<f64> for crate::io::AnyModel {
    fn form(&self) -> ModelForm<'_, f64> {
        use crate::io::AnyModel;
        match self {
            AnyModel::MlpEnergy(m) => m.form(),
            AnyModel::Quadratic(m) => m.form(),
            AnyModel::Boltzmann(m) => m.form(),
            AnyModel::MlpScore(m) => m.form(),
        }
    }
}

/// The random draws of an objective for one batch of `B` samples in
/// dimension `d`: the projections `[M, B, d]` of a sliced objective, the
/// noise `ε` `[B, d]` of a denoising one, and the level index of each sample
/// for a σ-conditioned score model. Fields an objective does not use are
/// `None`. A block of rows takes its rows of each ([`Draws::rows`]).
///
/// ```
/// use scoretape::objective::{Draws, Objective};
/// use scoretape::model::QuadraticEnergy;
/// use scoretape::random::seeded;
/// let model = QuadraticEnergy::<f64>::new(3).unwrap();
/// let draws = Objective::denoising(0.1).draw(&model, 5, &mut seeded(0)).unwrap();
/// assert_eq!(draws.noise.as_ref().unwrap().shape(), &[5, 3]);
/// assert!(draws.projections.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Draws<T> {
    /// Sliced objectives: `v[m, b]` is projection `m` of sample `b`, `[M, B, d]`.
    pub projections: Option<Tensor<T>>,
    /// Denoising: the standard-normal noise `ε`, `[B, d]`.
    pub noise: Option<Tensor<T>>,
    /// Denoising with a σ-conditioned score model: sample `b` uses `σ[levels[b]]`.
    pub levels: Option<Vec<usize>>,
}

impl<T: Real> Draws<T> {
    /// No draws (what exact score matching and ratio matching need).
    ///
    /// ```
    /// assert!(scoretape::objective::Draws::<f64>::none().noise.is_none());
    /// ```
    pub fn none() -> Self {
        Draws {
            projections: None,
            noise: None,
            levels: None,
        }
    }

    /// The draws of the samples `rows` of the batch.
    ///
    /// # Panics
    ///
    /// If `rows` reaches past the batch the draws were made for.
    ///
    /// ```
    /// use scoretape::objective::Draws;
    /// use scoretape::Tensor;
    /// let draws = Draws { noise: Some(Tensor::from_fn(&[4, 1], |i| i as f64)), ..Draws::none() };
    /// assert_eq!(draws.rows(1..3).noise.unwrap().data(), &[1.0, 2.0]);
    /// ```
    pub fn rows(&self, rows: core::ops::Range<usize>) -> Draws<T> {
        Draws {
            projections: self
                .projections
                .as_ref()
                .map(|v| v.slice(1, rows.start, rows.end)),
            noise: self
                .noise
                .as_ref()
                .map(|e| e.slice(0, rows.start, rows.end)),
            levels: self.levels.as_ref().map(|l| l[rows].to_vec()),
        }
    }
}

impl Objective {
    /// Exact score matching.
    ///
    /// ```
    /// assert!(matches!(scoretape::objective::Objective::exact(), scoretape::objective::Objective::Exact { .. }));
    /// ```
    pub fn exact() -> Self {
        Objective::Exact { trace: None }
    }

    /// Exact score matching with the Hessian traces of an energy model
    /// computed as `trace` says.
    ///
    /// ```
    /// use scoretape::objective::{ExactTrace, Objective};
    /// let esm = Objective::exact_with(ExactTrace::Hvp);
    /// assert!(matches!(esm, Objective::Exact { trace: Some(ExactTrace::Hvp), .. }));
    /// assert_eq!(esm.name(), "esm");
    /// ```
    pub fn exact_with(trace: ExactTrace) -> Self {
        Objective::Exact { trace: Some(trace) }
    }

    /// The trace an exact objective uses for an energy model of dimension
    /// `dim`, `None` for any other objective.
    fn exact_trace(&self, dim: usize) -> Option<ExactTrace> {
        match self {
            Objective::Exact { trace } => Some(trace.unwrap_or(ExactTrace::fastest_for(dim))),
            _ => None,
        }
    }

    /// Denoising score matching at one noise level `σ`.
    ///
    /// ```
    /// use scoretape::objective::Objective;
    /// assert_eq!(Objective::denoising(0.5), Objective::Denoising { sigmas: vec![0.5] });
    /// ```
    pub fn denoising(sigma: f64) -> Self {
        Objective::Denoising {
            sigmas: vec![sigma],
        }
    }

    /// The command-line name: `esm`, `ssm`, `ssm-vr`, `fd-ssm`, `dsm`, `rm` or `gsm`.
    ///
    /// ```
    /// assert_eq!(scoretape::objective::Objective::Ratio.name(), "rm");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Objective::Exact { .. } => "esm",
            Objective::Sliced {
                variant: SlicedVariant::Standard,
                ..
            } => "ssm",
            Objective::Sliced {
                variant: SlicedVariant::VarianceReduced,
                ..
            } => "ssm-vr",
            Objective::FiniteDifferenceSliced { .. } => "fd-ssm",
            Objective::Denoising { .. } => "dsm",
            Objective::Ratio => "rm",
            Objective::Generalized { .. } => "gsm",
        }
    }

    /// Whether the objective treats `x` as continuous, that is, every
    /// objective but ratio matching.
    ///
    /// ```
    /// use scoretape::objective::Objective;
    /// assert!(Objective::exact().is_continuous());
    /// assert!(!Objective::Ratio.is_continuous());
    /// ```
    pub fn is_continuous(&self) -> bool {
        !matches!(self, Objective::Ratio)
    }

    /// Checks that the objective's settings are valid and that it applies to
    /// a model of this form, before any work.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] for zero projections, a noise level or a
    /// finite-difference step that is not positive and finite, no noise
    /// level, several noise levels for a model not conditioned on σ, a
    /// continuous objective for a binary model (a Boltzmann machine has no
    /// normalisable density on `ℝᵈ`: fit it by ratio matching), ratio
    /// matching or fd-ssm for a score model, or any objective but denoising
    /// for a σ-conditioned score model; generalized score matching for a
    /// score model, or with a bad `min:C` weight.
    ///
    /// ```
    /// use scoretape::model::Boltzmann;
    /// use scoretape::objective::{Fittable, Objective};
    /// let bm = Boltzmann::<f64>::new(4).unwrap();
    /// assert!(Objective::exact().check(bm.form()).is_err());
    /// assert!(Objective::Ratio.check(bm.form()).is_ok());
    /// ```
    pub fn check<T: Real>(&self, model: ModelForm<'_, T>) -> Result<(), Error> {
        let refuse = |why: String| Err(Error::InvalidData(why));
        match (self, model) {
            (Objective::Ratio, ModelForm::Energy(_) | ModelForm::BinaryEnergy(_)) => return Ok(()),
            (Objective::Ratio, form) => {
                return refuse(format!(
                    "objective rm compares energies, but the model is {}",
                    form.describe()
                ))
            }
            (objective, ModelForm::BinaryEnergy(_)) => {
                return refuse(format!(
                    "objective {} treats x as continuous, but a Boltzmann machine is a model of \
                     binary data with no normalisable density on ℝᵈ; fit it by ratio matching (rm)",
                    objective.name()
                ))
            }
            (Objective::FiniteDifferenceSliced { .. }, ModelForm::Score(_)) => {
                return refuse(
                    "objective fd-ssm differences energies, but the model is a score model; \
                     fit it by ssm"
                        .into(),
                )
            }
            (Objective::Denoising { .. }, _) => {}
            (Objective::Generalized { .. }, ModelForm::Score(_)) => {
                return refuse(
                    "objective gsm needs the energy's second derivatives, but the model is a score model"
                        .into(),
                )
            }
            (objective, ModelForm::ConditionedScore(_)) => {
                return refuse(format!(
                    "a σ-conditioned score model is fitted by dsm, not {}",
                    objective.name()
                ))
            }
            _ => {}
        }
        match self {
            Objective::Sliced { count: 0, .. }
            | Objective::FiniteDifferenceSliced { count: 0, .. } => {
                refuse("sliced score matching needs at least one projection per sample".into())
            }
            Objective::FiniteDifferenceSliced { epsilon, .. } => check_epsilon(*epsilon),
            Objective::Denoising { sigmas } => {
                if sigmas.is_empty() {
                    return refuse("denoising needs a noise level σ".into());
                }
                for &sigma in sigmas {
                    check_sigma(sigma)?;
                }
                if sigmas.len() > 1 && !matches!(model, ModelForm::ConditionedScore(_)) {
                    return refuse(format!(
                        "several noise levels need a σ-conditioned score model, but the model is {}",
                        model.describe()
                    ));
                }
                Ok(())
            }
            Objective::Generalized { weight } => weight.check(),
            _ => Ok(()),
        }
    }

    /// Draws the objective's randomness for a batch of `batch` samples of
    /// `model`'s dimension from `rng`, in the order the objective functions
    /// draw it themselves (projections by [`draw_projections`]; for a
    /// σ-conditioned model a level per sample, then the noise; else the
    /// noise by `normal_tensor`). Recording with these draws gives the same
    /// numbers as handing the objective function `rng` itself.
    ///
    /// # Errors
    ///
    /// Those of [`Objective::check`], and [`Error::Shape`] for an empty batch.
    ///
    /// ```
    /// use scoretape::model::QuadraticEnergy;
    /// use scoretape::objective::{Objective, ProjectionKind, SlicedVariant};
    /// use scoretape::random::seeded;
    /// let ssm = Objective::Sliced { kind: ProjectionKind::Rademacher, count: 2, variant: SlicedVariant::Standard };
    /// let draws = ssm.draw(&QuadraticEnergy::<f64>::new(3).unwrap(), 4, &mut seeded(1)).unwrap();
    /// assert_eq!(draws.projections.unwrap().shape(), &[2, 4, 3]);
    /// ```
    pub fn draw<T: Real, M: Fittable<T> + ?Sized>(
        &self,
        model: &M,
        batch: usize,
        rng: &mut Rng64,
    ) -> Result<Draws<T>, Error> {
        let form = model.form();
        self.check(form)?;
        let dim = model.dim();
        if batch == 0 || dim == 0 {
            return Err(Error::Shape(format!(
                "draws need a non-empty batch and dimension, got batch {batch}, dim {dim}"
            )));
        }
        let mut draws = Draws::none();
        match self {
            Objective::Sliced { kind, count, .. }
            | Objective::FiniteDifferenceSliced { kind, count, .. } => {
                draws.projections = Some(draw_projections(*kind, *count, batch, dim, rng)?);
            }
            Objective::Denoising { sigmas } => {
                if let ModelForm::ConditionedScore(_) = form {
                    draws.levels = Some(
                        (0..batch)
                            .map(|_| rng.random_range(0..sigmas.len()))
                            .collect(),
                    );
                }
                draws.noise = Some(normal_tensor(&[batch, dim], rng));
            }
            Objective::Exact { .. } | Objective::Ratio | Objective::Generalized { .. } => {}
        }
        Ok(draws)
    }

    /// Records the loss (the mean over the rows of `x`) on `tape` for `model`
    /// with its parameters recorded as `params`, with the given draws (those
    /// of `x`'s rows), by calling the objective function of this module that
    /// fits the model's form.
    ///
    /// # Errors
    ///
    /// Those of [`Objective::check`]; [`Error::InvalidData`] if a draw the
    /// objective needs is missing; and those of the objective function.
    ///
    /// ```
    /// use scoretape::model::{Model, QuadraticEnergy};
    /// use scoretape::objective::{Draws, Objective};
    /// use scoretape::{Tape, Tensor};
    /// let model = QuadraticEnergy::<f64>::new(2).unwrap(); // E = ½‖x‖²: ℓ = -2 + ½‖x‖²
    /// let tape = Tape::new();
    /// let params = model.params().record(&tape);
    /// let x = Tensor::from_rows(&[vec![1.0, 1.0]]).unwrap();
    /// let loss = Objective::exact().record(&tape, &model, &params, &x, &Draws::none()).unwrap();
    /// assert!((loss.item() - (-1.0)).abs() < 1e-14);
    /// ```
    pub fn record<'t, T: Real, M: Fittable<T> + ?Sized>(
        &self,
        tape: &'t Tape<T>,
        model: &M,
        params: &[Var<'t, T>],
        x: &Tensor<T>,
        draws: &Draws<T>,
    ) -> Result<Var<'t, T>, Error> {
        let form = model.form();
        self.check(form)?;
        let missing =
            |what: &str| Error::InvalidData(format!("objective {} needs {what}", self.name()));
        let projections = || {
            draws
                .projections
                .as_ref()
                .map(Projections::Given)
                .ok_or_else(|| missing("projections"))
        };
        let noise = || draws.noise.as_ref().ok_or_else(|| missing("noise ε"));
        let variant = match self {
            Objective::Sliced { variant, .. } => *variant,
            _ => SlicedVariant::Standard,
        };
        match form {
            ModelForm::Energy(m) | ModelForm::BinaryEnergy(m) => {
                let energy = |x: Var<'t, T>| m.energy(params, x);
                match self {
                    Objective::Exact { .. } => {
                        let trace = self
                            .exact_trace(m.dim())
                            .expect("an exact objective has a trace");
                        exact_score_matching_with_trace(tape, &energy, x, None, trace)
                    }
                    Objective::Sliced { .. } => {
                        sliced_score_matching(tape, &energy, x, projections()?, variant, None)
                    }
                    Objective::FiniteDifferenceSliced { epsilon, .. } => {
                        finite_difference_sliced_score_matching(
                            tape,
                            &energy,
                            x,
                            None,
                            projections()?,
                            T::cast(*epsilon),
                        )
                    }
                    Objective::Denoising { sigmas } => denoising_score_matching(
                        tape,
                        &energy,
                        x,
                        T::cast(sigmas[0]),
                        Noise::Given(noise()?),
                        None,
                    ),
                    Objective::Ratio => ratio_matching(tape, &energy, x, None),
                    Objective::Generalized { weight } => {
                        generalized_score_matching(tape, &energy, x, None, *weight)
                    }
                }
            }
            ModelForm::Score(m) => {
                let score = |x: Var<'t, T>| m.score(params, x, None);
                match self {
                    Objective::Exact { .. } => {
                        exact_score_matching_score_model(tape, &score, x, None)
                    }
                    Objective::Sliced { .. } => sliced_score_matching_score_model(
                        tape,
                        &score,
                        x,
                        projections()?,
                        variant,
                        None,
                    ),
                    Objective::Denoising { sigmas } => denoising_score_matching_score_model(
                        tape,
                        &score,
                        x,
                        T::cast(sigmas[0]),
                        Noise::Given(noise()?),
                        None,
                    ),
                    Objective::Ratio
                    | Objective::Generalized { .. }
                    | Objective::FiniteDifferenceSliced { .. } => {
                        unreachable!("refused by check")
                    }
                }
            }
            ModelForm::ConditionedScore(m) => {
                let Objective::Denoising { sigmas } = self else {
                    unreachable!("refused by check")
                };
                let score = |x: Var<'t, T>, s: Var<'t, T>| m.score(params, x, Some(s));
                let sigmas: Vec<T> = sigmas.iter().map(|&s| T::cast(s)).collect();
                let levels = draws
                    .levels
                    .as_deref()
                    .ok_or_else(|| missing("a noise level per sample"))?;
                denoising_score_matching_multilevel(
                    tape,
                    &score,
                    x,
                    &sigmas,
                    NoiseLevels::Given {
                        levels,
                        noise: noise()?,
                    },
                    None,
                )
            }
        }
    }

    /// The loss on the rows `x` and its gradient with respect to `params`
    /// (the model's parameters recorded on `tape`, in order), leaving the tape
    /// as it was. Exact score matching of an energy model takes the
    /// memory-lean first-order path
    /// ([`exact_score_matching_value_and_grad_with_trace`], with the
    /// objective's trace); every other case records
    /// the loss with [`Objective::record`] and sweeps back once.
    pub(crate) fn value_and_grad_on<'t, T: Real, M: Fittable<T> + ?Sized>(
        &self,
        tape: &'t Tape<T>,
        model: &M,
        params: &[Var<'t, T>],
        x: &Tensor<T>,
        draws: &Draws<T>,
    ) -> Result<(T, Vec<Tensor<T>>), Error> {
        let mark = tape.mark();
        let result = match (self, model.form()) {
            (Objective::Exact { .. }, ModelForm::Energy(m)) => {
                let energy = |x: Var<'t, T>| m.energy(params, x);
                let trace = self
                    .exact_trace(m.dim())
                    .expect("an exact objective has a trace");
                exact_score_matching_value_and_grad_with_trace(
                    tape, &energy, x, None, params, trace,
                )
            }
            _ => self.record(tape, model, params, x, draws).and_then(|loss| {
                let grads = grad(loss, params)?;
                Ok((
                    loss.item(),
                    grads.iter().map(|g| (*g.value()).clone()).collect(),
                ))
            }),
        };
        tape.rewind(mark);
        result
    }
}
