//! The held-out log-likelihood of an energy model with an honest error bar:
//! log Z by the most exact method the model allows (closed form, a 2-D grid,
//! or annealed importance sampling), and a report saying how far to trust it.
//! Also the pseudo-log-likelihood of a model on bits.

use super::ais::{log_partition_ais, AisConfig, AisEstimate};
use super::check_batch;
use super::likelihood::{
    energies_of, grid_log_terms, held_out_log_likelihood, log_sum_exp, Estimate,
};
use super::{energy_fn, energy_score_fn};
use crate::error::Error;
use crate::model::{Boltzmann, Energy, Support, MAX_ENUMERATED_DIM};
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use num_traits::Float;

/// How log Z was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogZMethod {
    /// Exactly, from the model's parameters
    /// ([`Energy::closed_form_log_partition`]).
    ClosedForm,
    /// Exactly, by summing over every state of a model on bits
    /// ([`Boltzmann::log_partition`](crate::model::Boltzmann::log_partition)).
    Enumeration,
    /// By the midpoint rule on a 2-D grid ([`log_partition_grid_auto`]).
    Grid,
    /// By annealed importance sampling ([`log_partition_ais`]).
    Ais,
}

impl LogZMethod {
    /// The name used in reports: `closed-form`, `enumeration`, `grid`, `ais`.
    ///
    /// ```
    /// assert_eq!(scoretape::sample::LogZMethod::Ais.name(), "ais");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            LogZMethod::ClosedForm => "closed-form",
            LogZMethod::Enumeration => "enumeration",
            LogZMethod::Grid => "grid",
            LogZMethod::Ais => "ais",
        }
    }
}

/// An estimate of log Z with its error and how far to trust it.
#[derive(Clone, Debug, PartialEq)]
pub struct LogPartition {
    /// log Z.
    pub value: f64,
    /// Its standard error: 0 when exact; for a grid, the change from the last
    /// refinement (a conservative bound on the discretisation error); for AIS,
    /// the spread of independent group estimates.
    pub se: f64,
    /// The effective sample size of AIS's final weights; `None` otherwise.
    pub ess: Option<f64>,
    /// How it was obtained.
    pub method: LogZMethod,
    /// False when a check failed (see the method's documentation): the value
    /// may be off by more than `se`.
    pub reliable: bool,
    /// Why it is unreliable, and what to change.
    pub warning: Option<String>,
}

impl LogPartition {
    /// An exactly known log Z: `se = 0`, reliable.
    ///
    /// ```
    /// use scoretape::sample::{LogPartition, LogZMethod};
    /// let z = LogPartition::exact(1.5, LogZMethod::ClosedForm);
    /// assert!(z.reliable && z.se == 0.0 && z.ess.is_none());
    /// ```
    pub fn exact(value: f64, method: LogZMethod) -> Self {
        LogPartition {
            value,
            se: 0.0,
            ess: None,
            method,
            reliable: true,
            warning: None,
        }
    }
}

impl From<AisEstimate> for LogPartition {
    fn from(a: AisEstimate) -> Self {
        LogPartition {
            value: a.log_z,
            se: a.se,
            ess: Some(a.ess),
            method: LogZMethod::Ais,
            reliable: a.reliable,
            warning: a.warning,
        }
    }
}

/// The held-out log-likelihood of a model and how it was obtained.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLikelihoodReport {
    /// The mean log-density (1/n) Σ_b [-E(x_b) - log Z] over the data.
    pub value: f64,
    /// Its standard error, √(Var_b(log p(x_b))/n + se(log Z)²).
    pub se: f64,
    /// log Z.
    pub log_z: f64,
    /// The standard error of log Z (see [`LogPartition::se`]).
    pub log_z_se: f64,
    /// The effective sample size of AIS's final weights; `None` for other methods.
    pub ess: Option<f64>,
    /// How log Z was obtained.
    pub method: LogZMethod,
    /// False when log Z failed a check: the value may be off by more than `se`.
    pub reliable: bool,
    /// Why it is unreliable, and what to change.
    pub warning: Option<String>,
}

/// The held-out log-likelihood report of the rows of `data` under `energy`
/// (`[n, d] → [n]`), given log Z: the mean of -E(x_b) - log Z, with the
/// standard error of [`held_out_log_likelihood`], and log Z's own error,
/// ESS, method and reliability passed through.
///
/// # Errors
///
/// As [`held_out_log_likelihood`].
///
/// ```
/// use scoretape::sample::{log_likelihood_with, LogPartition, LogZMethod};
/// use scoretape::Tensor;
/// let energy = |x: &Tensor<f64>| Ok(x.map(|v| 0.5 * v * v).sum_axis(1));
/// let data = Tensor::from_rows(&[vec![0.0], vec![2.0]]).unwrap();
/// let log_z = LogPartition::exact(0.5 * std::f64::consts::TAU.ln(), LogZMethod::ClosedForm);
/// let r = log_likelihood_with(energy, &data, &log_z).unwrap();
/// assert!((r.value - (-1.0 - log_z.value)).abs() < 1e-12);
/// assert!((r.se - 1.0).abs() < 1e-12); // sd of (0, -2) is √2, over √2 rows
/// ```
pub fn log_likelihood_with<T, E>(
    energy: E,
    data: &Tensor<T>,
    log_z: &LogPartition,
) -> Result<LogLikelihoodReport, Error>
where
    T: Real,
    E: FnMut(&Tensor<T>) -> Result<Tensor<T>, Error>,
{
    let estimate = held_out_log_likelihood(
        energy,
        data,
        Estimate {
            value: log_z.value,
            std_error: log_z.se,
        },
    )?;
    Ok(LogLikelihoodReport {
        value: estimate.value,
        se: estimate.std_error,
        log_z: log_z.value,
        log_z_se: log_z.se,
        ess: log_z.ess,
        method: log_z.method,
        reliable: log_z.reliable,
        warning: log_z.warning.clone(),
    })
}

/// log Z of an energy model by `method`, or with `None` the most exact one
/// available: for a model on bits ([`Support::Binary`]) the sum over all 2^d
/// states (d ≤ 20); on ℝ^d the closed form if the model has one, else the grid
/// when `d = 2`, else AIS with `ais`. The rows of `data` shape the grid's box or the
/// AIS base (the held-out data itself will do).
///
/// # Errors
///
/// [`Error::InvalidData`] if the method asked for does not apply (no closed
/// form; a grid when `d ≠ 2`; enumeration on ℝ^d, or anything else on bits),
/// or a model on more than 20 bits;
/// otherwise those of [`log_partition_grid_auto`] or [`log_partition_ais`].
///
/// ```
/// use scoretape::model::QuadraticEnergy;
/// use scoretape::sample::{log_partition, AisConfig, LogZMethod};
/// use scoretape::Tensor;
/// let model = QuadraticEnergy::<f64>::new(3).unwrap();
/// let data = Tensor::from_rows(&[vec![0.0, 1.0, 0.0], vec![1.0, 0.0, 2.0]]).unwrap();
/// let z = log_partition(&model, &data, None, &AisConfig::default()).unwrap();
/// assert_eq!(z.method, LogZMethod::ClosedForm);
/// assert!((z.value - 1.5 * std::f64::consts::TAU.ln()).abs() < 1e-12);
/// ```
pub fn log_partition<T, M>(
    model: &M,
    data: &Tensor<T>,
    method: Option<LogZMethod>,
    ais: &AisConfig,
) -> Result<LogPartition, Error>
where
    T: Real,
    M: Energy<T> + ?Sized,
{
    if model.support() == Support::Binary {
        return match method {
            None | Some(LogZMethod::Enumeration) => {
                log_partition_by_enumeration(energy_fn(model), model.dim())
            }
            Some(other) => Err(Error::InvalidData(format!(
                "the model is a distribution on bits: its log Z is a sum over {{0, 1}}^d, \
                 by enumeration, not by {}",
                other.name()
            ))),
        };
    }
    let closed_form = model.closed_form_log_partition();
    let method = method.unwrap_or(match (closed_form, model.dim()) {
        (Some(_), _) => LogZMethod::ClosedForm,
        (None, 2) => LogZMethod::Grid,
        (None, _) => LogZMethod::Ais,
    });
    match method {
        LogZMethod::ClosedForm => closed_form
            .map(|value| LogPartition::exact(value, method))
            .ok_or_else(|| Error::InvalidData("this model has no closed-form log Z".into())),
        LogZMethod::Enumeration => Err(Error::InvalidData(
            "log Z by enumeration is for models on bits; this model is continuous".into(),
        )),
        LogZMethod::Grid => log_partition_grid_auto(energy_fn(model), data),
        LogZMethod::Ais => Ok(log_partition_ais(energy_score_fn(model), data, ais)?.into()),
    }
}

/// The held-out log-likelihood of the rows of `data` under an energy model on
/// ℝ^d: [`log_partition`] (with `method`, or the most exact one available),
/// then [`log_likelihood_with`]. `data` both shapes the log Z estimator and is
/// scored.
///
/// # Errors
///
/// Those of [`log_partition`] and [`log_likelihood_with`]; an error of `Shape`
/// if `data` is not `[n, model.dim()]`.
///
/// ```
/// use scoretape::model::{Energy, QuadraticEnergy};
/// use scoretape::sample::{log_likelihood, AisConfig, LogZMethod};
/// use scoretape::Tensor;
/// let model = QuadraticEnergy::<f64>::new(1).unwrap(); // N(0, 1)
/// let data = Tensor::from_rows(&[vec![0.0], vec![2.0]]).unwrap();
/// let r = log_likelihood(&model as &dyn Energy<f64>, &data, None, &AisConfig::default()).unwrap();
/// assert_eq!(r.method, LogZMethod::ClosedForm);
/// assert!((r.value - (-1.0 - 0.5 * std::f64::consts::TAU.ln())).abs() < 1e-12);
/// assert!(r.reliable && r.log_z_se == 0.0);
/// ```
pub fn log_likelihood<T, M>(
    model: &M,
    data: &Tensor<T>,
    method: Option<LogZMethod>,
    ais: &AisConfig,
) -> Result<LogLikelihoodReport, Error>
where
    T: Real,
    M: Energy<T> + ?Sized,
{
    let (_, d) = check_batch(data, "the held-out data")?;
    if d != model.dim() {
        return Err(Error::Shape(format!(
            "the data has {d} columns but the model takes {}",
            model.dim()
        )));
    }
    if model.support() == Support::Binary && data.data().iter().any(|v| !is_bit(*v)) {
        return Err(Error::InvalidData(
            "the model is a distribution on bits, but the data holds values other than 0 and 1"
                .into(),
        ));
    }
    let log_z = log_partition(model, data, method, ais)?;
    log_likelihood_with(energy_fn(model), data, &log_z)
}

/// log Z = log Σ_{x ∈ {0,1}^d} exp(-E(x)) of a model on bits, exactly, over
/// every state of [`Boltzmann::all_states`](crate::model::Boltzmann::all_states)
/// in chunks.
fn log_partition_by_enumeration<T: Real, E>(mut energy: E, d: usize) -> Result<LogPartition, Error>
where
    E: FnMut(&Tensor<T>) -> Result<Tensor<T>, Error>,
{
    if d > MAX_ENUMERATED_DIM {
        return Err(Error::InvalidData(format!(
            "log Z of a model on {d} bits cannot be enumerated (at most {MAX_ENUMERATED_DIM}); \
             use the pseudo-log-likelihood"
        )));
    }
    let states = Boltzmann::<T>::all_states(d)?;
    let count = states.shape()[0];
    let mut log_terms = Vec::with_capacity(count);
    let mut start = 0;
    while start < count {
        let end = (start + 4096).min(count);
        let energies = energies_of(&mut energy, states.slice(0, start, end), end - start)?;
        log_terms.extend(energies.into_iter().map(|e| -e));
        start = end;
    }
    let value = log_sum_exp(&log_terms);
    if !value.is_finite() {
        return Err(Error::Numerical(format!("log Z by enumeration is {value}")));
    }
    Ok(LogPartition::exact(value, LogZMethod::Enumeration))
}

/// Points per axis of the first grid of [`log_partition_grid_auto`].
const COARSE_POINTS: usize = 256;
/// The finest grid [`log_partition_grid_auto`] refines to.
const FINEST_POINTS: usize = 1024;
/// A refinement that changes log Z by less than this ends the refining.
const GRID_SETTLED: f64 = 1e-3;
/// A last refinement that changes log Z by more than this marks it unreliable.
pub const GRID_MAX_CHANGE: f64 = 0.01;
/// The largest share of exp(-E) allowed on the outermost ring of grid cells.
pub const GRID_MAX_EDGE_MASS: f64 = 1e-9;
/// How many times the box may double before the grid gives up.
const MAX_DOUBLINGS: usize = 4;

/// log Z of a 2-D energy by the midpoint rule on a grid whose box and
/// resolution are chosen and checked automatically:
///
/// - the box is the data's bounding box widened by its range on every side
///   (3× the range; 1 either side of a column with no spread), doubled about
///   its centre (up to 4 times) while more than [`GRID_MAX_EDGE_MASS`] of
///   exp(-E) lies on the outermost ring of cells of a 256² grid;
/// - the grid is then refined to 512², and to 1024² unless that changed log Z
///   by less than 10⁻³; the last change is reported as the error (the midpoint
///   rule's error falls at least 4× per doubling on a smooth density, so the
///   remaining error is well below it).
///
/// It is `reliable` unless mass remains at the edge of the largest box (the
/// model may not be normalisable) or the last refinement changed log Z by more
/// than [`GRID_MAX_CHANGE`] (the density is too sharp for the grid: use AIS).
///
/// # Errors
///
/// [`Error::Shape`] unless `data` is a non-empty `[n, 2]` matrix;
/// [`Error::InvalidData`] if it is not finite or an energy is NaN or `-∞`;
/// [`Error::Numerical`] if exp(-E) is zero everywhere on the grid.
///
/// ```
/// use scoretape::sample::{log_partition_grid_auto, LogZMethod};
/// use scoretape::Tensor;
/// // N((5, -5), diag(1, 4)): Z = 2π·2, whatever box the data suggests.
/// let energy = |x: &Tensor<f64>| {
///     Ok(Tensor::from_fn(&[x.shape()[0]], |b| {
///         let r = x.row(b);
///         0.5 * (r[0] - 5.0).powi(2) + 0.125 * (r[1] + 5.0).powi(2)
///     }))
/// };
/// let data = Tensor::from_rows(&[vec![0.0, 0.0], vec![1.0, 1.0]]).unwrap();
/// let z = log_partition_grid_auto(energy, &data).unwrap();
/// assert_eq!(z.method, LogZMethod::Grid);
/// assert!(z.reliable);
/// assert!((z.value - (4.0 * std::f64::consts::PI).ln()).abs() < 1e-6);
/// ```
pub fn log_partition_grid_auto<T, E>(mut energy: E, data: &Tensor<T>) -> Result<LogPartition, Error>
where
    T: Real,
    E: FnMut(&Tensor<T>) -> Result<Tensor<T>, Error>,
{
    let (n, d) = check_batch(data, "the data shaping the grid")?;
    if d != 2 {
        return Err(Error::Shape(format!(
            "a grid integrates 2-D models, but the data has {d} columns"
        )));
    }
    let mut centre = [0.0; 2];
    let mut half_width = [0.0; 2];
    for j in 0..2 {
        let column = (0..n).map(|b| data.get(&[b, j]).as_f64());
        let (lo, hi) = column.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        centre[j] = 0.5 * (lo + hi);
        half_width[j] = if hi > lo { 1.5 * (hi - lo) } else { 1.0 };
    }
    let bounds_of = |half: [f64; 2]| [0, 1].map(|j| [centre[j] - half[j], centre[j] + half[j]]);

    let mut warnings = Vec::new();
    let mut doublings = 0;
    let coarse = loop {
        let bounds = bounds_of(half_width);
        let terms = grid_log_terms(&mut energy, bounds, COARSE_POINTS)?;
        let total = log_sum_exp(&terms);
        if total == f64::NEG_INFINITY {
            return Err(Error::Numerical(
                "exp(-E) is zero at every grid point".into(),
            ));
        }
        let edge_share = Float::exp(log_sum_exp(&edge_terms(&terms, COARSE_POINTS)) - total);
        if edge_share <= GRID_MAX_EDGE_MASS {
            break grid_value(total, bounds, COARSE_POINTS);
        }
        if doublings == MAX_DOUBLINGS {
            warnings.push(format!(
                "{edge_share:.1e} of exp(-E) lies at the edge of a box {}× the data's: \
                 the model may not be normalisable (its energy must grow in every direction)",
                1 << doublings
            ));
            break grid_value(total, bounds, COARSE_POINTS);
        }
        half_width = half_width.map(|h| 2.0 * h);
        doublings += 1;
    };
    let bounds = bounds_of(half_width);
    let (mut value, mut change, mut points) = (coarse, f64::INFINITY, COARSE_POINTS);
    while points < FINEST_POINTS && change >= GRID_SETTLED {
        points *= 2;
        let finer = log_partition_of(&mut energy, bounds, points)?;
        change = Float::abs(finer - value);
        value = finer;
    }
    if change > GRID_MAX_CHANGE {
        warnings.push(format!(
            "the {points}² grid changed log Z by {change:.3} from the last refinement: \
             the density is too sharp for a grid; use AIS"
        ));
    }
    Ok(LogPartition {
        value,
        se: change,
        ess: None,
        method: LogZMethod::Grid,
        reliable: warnings.is_empty(),
        warning: (!warnings.is_empty())
            .then(|| format!("grid log Z is unreliable: {}", warnings.join("; "))),
    })
}

/// The log-sum-exp of the terms over the cells times the cell area.
fn grid_value(log_sum: f64, bounds: [[f64; 2]; 2], points: usize) -> f64 {
    let area: f64 = bounds
        .iter()
        .map(|[lo, hi]| (hi - lo) / points as f64)
        .product();
    log_sum + Float::ln(area)
}

/// log Z on a `points²` grid over `bounds`.
fn log_partition_of<T: Real, E>(
    energy: &mut E,
    bounds: [[f64; 2]; 2],
    points: usize,
) -> Result<f64, Error>
where
    E: FnMut(&Tensor<T>) -> Result<Tensor<T>, Error>,
{
    let terms = grid_log_terms(energy, bounds, points)?;
    Ok(grid_value(log_sum_exp(&terms), bounds, points))
}

/// The terms of the outermost ring of cells of an `n × n` grid.
fn edge_terms(terms: &[f64], n: usize) -> Vec<f64> {
    terms
        .iter()
        .enumerate()
        .filter(|(p, _)| {
            let (i, j) = (p / n, p % n);
            i == 0 || j == 0 || i == n - 1 || j == n - 1
        })
        .map(|(_, &t)| t)
        .collect()
}

/// The mean pseudo-log-likelihood of the rows of `data` (bits, 0 or 1) under
/// `energy`, exact from single-bit flips, with its standard error over rows:
///
/// ```text
/// PLL(x) = Σ_j log p(x_j | x_{-j}) = Σ_j log σ(E(flip_j x) - E(x))
/// ```
///
/// since p(x_j | x_{-j}) = e^{-E(x)} / (e^{-E(x)} + e^{-E(flip_j x)}); σ is the
/// logistic function, and log σ(t) = -softplus(-t) is taken stably. It needs
/// no log Z, so it is the standard metric for Boltzmann machines. Costs d + 1
/// evaluations of the energy on the data.
///
/// # Errors
///
/// [`Error::Shape`] for a bad `data` or energies not `[n]`;
/// [`Error::InvalidData`] if an entry of `data` is not 0 or 1, or an energy is
/// not finite.
///
/// ```
/// use scoretape::sample::pseudo_log_likelihood;
/// use scoretape::Tensor;
/// // Independent bits, E(x) = -Σ b_j x_j: PLL = Σ_j log p(x_j), exactly.
/// let b = [1.0, -2.0];
/// let energy = |x: &Tensor<f64>| {
///     Ok(Tensor::from_fn(&[x.shape()[0]], |r| -(x.row(r)[0] * b[0] + x.row(r)[1] * b[1])))
/// };
/// let data = Tensor::from_rows(&[vec![1.0, 0.0]]).unwrap();
/// let pll = pseudo_log_likelihood(energy, &data).unwrap();
/// let sigmoid = |t: f64| 1.0 / (1.0 + (-t).exp());
/// assert!((pll.value - (sigmoid(1.0).ln() + sigmoid(2.0).ln())).abs() < 1e-12);
/// ```
pub fn pseudo_log_likelihood<T, E>(mut energy: E, data: &Tensor<T>) -> Result<Estimate, Error>
where
    T: Real,
    E: FnMut(&Tensor<T>) -> Result<Tensor<T>, Error>,
{
    let (n, d) = check_batch(data, "the data")?;
    if let Some(v) = data.data().iter().find(|v| !is_bit(**v)) {
        return Err(Error::InvalidData(format!(
            "the pseudo-log-likelihood needs bits (0 or 1), but the data holds {}",
            v.as_f64()
        )));
    }
    let finite_energies = |energy: &mut E, x: Tensor<T>| -> Result<Vec<f64>, Error> {
        let e = energies_of(energy, x, n)?;
        match e.iter().find(|v| !v.is_finite()) {
            Some(bad) => Err(Error::InvalidData(format!(
                "the energy is {bad} at a state; the pseudo-log-likelihood needs finite energies"
            ))),
            None => Ok(e),
        }
    };
    let e = finite_energies(&mut energy, data.clone())?;
    let mut pll = alloc::vec![0.0; n];
    for j in 0..d {
        let flipped = Tensor::from_fn(&[n, d], |k| {
            let v = data.data()[k];
            if k % d == j {
                T::one() - v
            } else {
                v
            }
        });
        let e_flip = finite_energies(&mut energy, flipped)?;
        for ((p, ef), ex) in pll.iter_mut().zip(&e_flip).zip(&e) {
            *p += log_sigmoid(ef - ex);
        }
    }
    let mean = pll.iter().sum::<f64>() / n as f64;
    let variance = if n > 1 {
        pll.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    Ok(Estimate {
        value: mean,
        std_error: Float::sqrt(variance / n as f64),
    })
}

/// log σ(t) = -softplus(-t) = -(max(-t, 0) + log(1 + e^{-|t|})), stably.
fn log_sigmoid(t: f64) -> f64 {
    -(Float::max(-t, 0.0) + Float::ln_1p(Float::exp(-Float::abs(t))))
}

/// Whether `v` is 0 or 1.
fn is_bit<T: Real>(v: T) -> bool {
    v.as_f64() == 0.0 || v.as_f64() == 1.0
}
