//! Annealed importance sampling (Neal 2001) for the log-partition function
//! log Z = log ∫ exp(-E(x)) dx of an energy model on ℝ^d.
//!
//! Plain importance sampling from one broad proposal fails silently once the
//! model is far from the proposal: one weight dominates, and the delta-method
//! error bar is computed from that one weight. AIS instead moves every sample
//! through a sequence of distributions from a Gaussian base q₀ to the model,
//!
//! ```text
//! f_β(x) = q₀(x)^(1-β) · exp(-E(x))^β,     0 = β₀ < β₁ < … < β_K = 1,
//! ```
//!
//! accumulating the weight as it goes, so each step only has to bridge two
//! close distributions. The chains are split into independent groups whose
//! estimates are compared; see [`log_partition_ais`] for the estimator and
//! [`AisEstimate::reliable`] for when it is trusted.

use super::check_batch;
use super::likelihood::mean_and_covariance;
use crate::error::Error;
use crate::model::linalg::{cholesky, cholesky_solve};
use crate::random::{seeded, standard_normal, Rng64};
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use num_traits::Float;
use rand::RngExt;

/// Below this fraction of the chains the effective sample size of the final
/// weights marks an AIS estimate unreliable (10%).
pub const MIN_ESS_FRACTION: f64 = 0.1;

/// The tail probability at which the groups' disagreement marks an AIS
/// estimate unreliable: the χ² statistic of the group estimates against their
/// own standard errors exceeds its `1 - 0.001` quantile.
pub const GROUP_DISAGREEMENT_P: f64 = 0.001;

/// The settings of [`log_partition_ais`]. The defaults (256 temperatures, 512
/// chains in 8 groups, one MALA step per temperature, base scale 1.5,
/// acceptance target 0.574, seed 0) cost 256 evaluations of the energy and its
/// score on 512 points.
///
/// ```
/// use scoretape::sample::AisConfig;
/// let config = AisConfig { temperatures: 64, ..AisConfig::default() };
/// assert!(config.validate().is_ok());
/// assert!(AisConfig { chains: 100, groups: 8, ..config }.validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AisConfig {
    /// K, the number of annealing steps: the distributions β₁ … β_K after the
    /// base, spaced by [`sigmoid_schedule`]. At least 1.
    pub temperatures: usize,
    /// The number of chains, all run at once as one batch. A multiple of
    /// `groups`, at least 2 per group.
    pub chains: usize,
    /// The number of independent groups the chains are split into (each with
    /// its own step-size adaptation), for the standard error and the
    /// agreement check. At least 2.
    pub groups: usize,
    /// MALA steps at each intermediate temperature. At least 1.
    pub steps_per_temperature: usize,
    /// The base is N(m, c²·S) with m, S the data's mean and covariance and
    /// c this scale: broader than the data, so the model's mass is inside it.
    pub base_scale: f64,
    /// The MALA acceptance rate each group's step size is steered to
    /// (0.574 is optimal for MALA in high dimension, Roberts & Rosenthal 1998).
    pub target_acceptance: f64,
    /// The seed of every random draw.
    pub seed: u64,
}

impl Default for AisConfig {
    fn default() -> Self {
        AisConfig {
            temperatures: 256,
            chains: 512,
            groups: 8,
            steps_per_temperature: 1,
            base_scale: 1.5,
            target_acceptance: 0.574,
            seed: 0,
        }
    }
}

impl AisConfig {
    /// Checks the settings (see each field for its range).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidData`] naming the first setting out of range.
    ///
    /// ```
    /// use scoretape::sample::AisConfig;
    /// assert!(AisConfig { temperatures: 0, ..AisConfig::default() }.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |what: String| Err(Error::InvalidData(what));
        if self.temperatures == 0 {
            return bad("AIS needs at least 1 temperature".into());
        }
        if self.groups < 2 {
            return bad(format!(
                "AIS needs at least 2 groups of chains to compare, got {}",
                self.groups
            ));
        }
        if !self.chains.is_multiple_of(self.groups) || self.chains < 2 * self.groups {
            return bad(format!(
                "the {} chains must split evenly into the {} groups, at least 2 chains each",
                self.chains, self.groups
            ));
        }
        if self.steps_per_temperature == 0 {
            return bad("AIS needs at least 1 MALA step per temperature".into());
        }
        if !(self.base_scale > 0.0 && self.base_scale.is_finite()) {
            return bad(format!(
                "the base scale {} must be positive and finite",
                self.base_scale
            ));
        }
        if !(self.target_acceptance > 0.0 && self.target_acceptance < 1.0) {
            return bad(format!(
                "the target acceptance {} must lie strictly between 0 and 1",
                self.target_acceptance
            ));
        }
        Ok(())
    }
}

/// The inverse temperatures `β₀ = 0 < β₁ < … < β_K = 1` of the sigmoidal
/// schedule (Grosse, Maddison & Salakhutdinov 2013):
///
/// ```text
/// β̃_k = σ(δ·(2k/K - 1)),   β_k = (β̃_k - β̃_0) / (β̃_K - β̃_0),   δ = 4
/// ```
///
/// Denser at both ends than a linear schedule: near β = 0, where the base
/// gives way to the model, and near β = 1, where the model sharpens.
///
/// ```
/// use scoretape::sample::sigmoid_schedule;
/// let b = sigmoid_schedule(10);
/// assert_eq!(b.len(), 11);
/// assert_eq!((b[0], b[10]), (0.0, 1.0));
/// assert!((b[5] - 0.5).abs() < 1e-12);
/// assert!(b.windows(2).all(|w| w[0] < w[1]));
/// ```
pub fn sigmoid_schedule(temperatures: usize) -> Vec<f64> {
    const DELTA: f64 = 4.0;
    let k = temperatures.max(1) as f64;
    let sigmoid = |t: f64| 1.0 / (1.0 + Float::exp(-t));
    let raw: Vec<f64> = (0..=temperatures.max(1))
        .map(|i| sigmoid(DELTA * (2.0 * i as f64 / k - 1.0)))
        .collect();
    let (first, last) = (raw[0], raw[raw.len() - 1]);
    let mut betas: Vec<f64> = raw.iter().map(|b| (b - first) / (last - first)).collect();
    // Exact ends, whatever the rounding.
    let end = betas.len() - 1;
    betas[0] = 0.0;
    betas[end] = 1.0;
    betas
}

/// The result of [`log_partition_ais`].
#[derive(Clone, Debug, PartialEq)]
pub struct AisEstimate {
    /// log Ẑ = log of the mean weight over all chains.
    pub log_z: f64,
    /// Its standard error, from the spread of the independent group estimates
    /// Ẑ_g: sd_g(Ẑ_g) / (√G · Ẑ) (the delta method on the log).
    pub se: f64,
    /// The effective sample size of the final weights, (Σw)² / Σw², between 1
    /// and the number of chains.
    pub ess: f64,
    /// The number of chains.
    pub chains: usize,
    /// Each group's log Ẑ_g.
    pub group_log_z: Vec<f64>,
    /// Each group's own standard error of log Ẑ_g, from its weights.
    pub group_se: Vec<f64>,
    /// χ² = Σ_g (log Ẑ_g - log Ẑ)² / s̄², with s̄² = mean_g se_g² the pooled
    /// within-group variance: about G - 1 when the groups agree within their
    /// errors.
    pub chi_square: f64,
    /// The fraction of MALA proposals accepted, over all chains and steps.
    pub acceptance_rate: f64,
    /// False when the ESS is below [`MIN_ESS_FRACTION`] of the chains or χ²
    /// exceeds its `1 - GROUP_DISAGREEMENT_P` quantile on G - 1 degrees of
    /// freedom: either way the weights are too uneven for the standard error
    /// to be trusted, and log Ẑ is most likely too low.
    pub reliable: bool,
    /// Why the estimate is unreliable, and what to change.
    pub warning: Option<String>,
}

/// Estimates log Z = log ∫ exp(-E(x)) dx by annealed importance sampling.
///
/// `energy_and_score(x)` returns the energies `[n]` and scores `-∇E` `[n, d]`
/// of a batch (see [`energy_score_fn`](super::energy_score_fn)); the rows of
/// `data` (at least 2, not all equal) only shape the base q₀ = N(m, c²S + εI),
/// with m, S their mean and covariance, c = `base_scale` and ε = 10⁻⁶·tr(S)/d a
/// ridge that keeps q₀ proper when S is singular. With β_k from
/// [`sigmoid_schedule`]:
///
/// ```text
/// x₀ ~ q₀;  for k = 1..K:
///   log w += -(β_k - β_{k-1}) · (E(x_{k-1}) + log q₀(x_{k-1}))
///   x_k    = MALA step(s) leaving f_{β_k} ∝ q₀^(1-β_k) e^(-β_k E) invariant
/// Ẑ = mean(w)   (E[w] = Z, since q₀ is normalised)
/// ```
///
/// The MALA moves use the tempered score (1-β)∇log q₀ + β·s, preconditioned
/// by the base's covariance Σ (MALA in the whitened coordinates L⁻¹(x - m),
/// Σ = L Lᵀ, so columns in different units or strongly correlated need no
/// care); each group's step size starts at 0.5·d^(-1/3) and after every step
/// is multiplied by exp(acceptance - target), steering it to
/// `target_acceptance`. (The steps
/// adapt to past acceptance, averaged over the group; that dependence is
/// negligible and is standard practice.) A chain whose energy is `+∞` has
/// weight zero and stays put.
///
/// # Errors
///
/// [`Error::InvalidData`] for a bad `config` (see [`AisConfig::validate`]), data
/// that is not finite or has no spread, or an energy that is NaN or `-∞` or a
/// non-finite score at a finite energy; [`Error::Shape`] for bad data or
/// results of the wrong shape; [`Error::Numerical`] if every weight is zero.
///
/// # Examples
///
/// ```
/// use scoretape::random::{normal_tensor, seeded};
/// use scoretape::sample::{log_partition_ais, AisConfig};
/// use scoretape::Tensor;
/// // E = ½‖x - 3‖² / 0.25 in 3-D: Z = (2π·0.25)^(3/2), far from the data's base.
/// let f = |x: &Tensor<f64>| Ok((x.map(|v| 2.0 * (v - 3.0) * (v - 3.0)).sum_axis(1), x.map(|v| 4.0 * (3.0 - v))));
/// let data = normal_tensor::<f64, _>(&[200, 3], &mut seeded(0)).map(|v| 2.0 * v + 3.0);
/// let config = AisConfig::default(); // 256 temperatures, 512 chains
/// let est = log_partition_ais(f, &data, &config).unwrap();
/// let exact = 1.5 * (std::f64::consts::TAU * 0.25).ln();
/// assert!(est.reliable);
/// assert!((est.log_z - exact).abs() < 4.0 * est.se, "{est:?}");
/// assert!(est.se < 0.03, "{est:?}");
/// ```
pub fn log_partition_ais<T, F>(
    mut energy_and_score: F,
    data: &Tensor<T>,
    config: &AisConfig,
) -> Result<AisEstimate, Error>
where
    T: Real,
    F: FnMut(&Tensor<T>) -> Result<(Tensor<T>, Tensor<T>), Error>,
{
    config.validate()?;
    let (_, d) = check_batch(data, "the data shaping the AIS base")?;
    let base = GaussianBase::fit(data, config.base_scale)?;
    let mut rng = seeded(config.seed);
    let (n, groups) = (config.chains, config.groups);
    let per_group = n / groups;
    let betas = sigmoid_schedule(config.temperatures);

    let mut chains = Chains::start(&base, n, d, &mut rng, &mut energy_and_score)?;
    let mut log_w = vec![0.0; n];
    // In the whitened coordinates the base is N(0, I): MALA's step for it.
    let mut steps = vec![0.5 * Float::powf(d as f64, -1.0 / 3.0); groups];
    let (mut accepted, mut proposed) = (0u64, 0u64);
    for k in 1..betas.len() {
        let step_in_beta = betas[k] - betas[k - 1];
        for (w, (e, e0)) in log_w.iter_mut().zip(chains.e.iter().zip(&chains.e0)) {
            // E(x) = +∞ gives w = 0 for good (the chain is never moved).
            *w -= step_in_beta * (e - e0);
        }
        if k + 1 == betas.len() {
            break;
        }
        for _ in 0..config.steps_per_temperature {
            let accepted_per_group = chains.mala_step(
                &base,
                betas[k],
                &steps,
                per_group,
                &mut rng,
                &mut energy_and_score,
            )?;
            for (step, &a) in steps.iter_mut().zip(&accepted_per_group) {
                let rate = a as f64 / per_group as f64;
                *step *= Float::exp(rate - config.target_acceptance);
                accepted += a;
            }
            proposed += n as u64;
        }
    }
    summarise(&log_w, config, accepted, proposed)
}

/// The Gaussian base q₀ = N(m, Σ) with Σ = L Lᵀ; its energy is -log q₀.
struct GaussianBase {
    mean: Vec<f64>,
    l: Tensor<f64>,
    /// log of q₀'s normaliser: Σ log L_jj + (d/2) log 2π.
    log_normaliser: f64,
}

impl GaussianBase {
    fn fit<T: Real>(data: &Tensor<T>, scale: f64) -> Result<Self, Error> {
        let (n, d) = (data.shape()[0], data.shape()[1]);
        if n < 2 {
            return Err(Error::Shape(
                "the AIS base's covariance needs at least 2 data rows".into(),
            ));
        }
        let (mean, covariance) = mean_and_covariance(data);
        let trace: f64 = (0..d).map(|j| covariance.get(&[j, j])).sum();
        if !(trace > 0.0 && trace.is_finite()) {
            return Err(Error::InvalidData(
                "the data has no spread to shape the AIS base (every row is the same)".into(),
            ));
        }
        let ridge = 1e-6 * trace / d as f64;
        let sigma = Tensor::from_fn(&[d, d], |k| {
            let diagonal = if k / d == k % d { ridge } else { 0.0 };
            scale * scale * covariance.data()[k] + diagonal
        });
        let l = cholesky(&sigma).map_err(|e| {
            Error::Numerical(format!(
                "the AIS base's covariance cannot be factorised: {e}"
            ))
        })?;
        let log_det_l: f64 = (0..d).map(|j| Float::ln(l.get(&[j, j]))).sum();
        Ok(GaussianBase {
            mean,
            log_normaliser: log_det_l + 0.5 * d as f64 * Float::ln(core::f64::consts::TAU),
            l,
        })
    }

    /// `n` draws `m + L ξ`, row-major `[n, d]`.
    fn sample(&self, n: usize, rng: &mut Rng64) -> Vec<f64> {
        let d = self.mean.len();
        let mut x = Vec::with_capacity(n * d);
        for _ in 0..n {
            let xi: Vec<f64> = (0..d).map(|_| standard_normal(rng)).collect();
            x.extend(self.mean.iter().zip(self.times_l(&xi)).map(|(m, v)| m + v));
        }
        x
    }

    /// `L v`.
    fn times_l(&self, v: &[f64]) -> Vec<f64> {
        (0..v.len())
            .map(|i| (0..=i).map(|j| self.l.get(&[i, j]) * v[j]).sum())
            .collect()
    }

    /// `Σ v = L (Lᵀ v)`.
    fn times_sigma(&self, v: &[f64]) -> Vec<f64> {
        let d = v.len();
        let lt_v: Vec<f64> = (0..d)
            .map(|j| (j..d).map(|i| self.l.get(&[i, j]) * v[i]).sum())
            .collect();
        self.times_l(&lt_v)
    }

    /// `‖L⁻¹ v‖²`, by forward substitution.
    fn whitened_norm_squared(&self, v: &[f64]) -> f64 {
        let mut z = Vec::with_capacity(v.len());
        for (i, vi) in v.iter().enumerate() {
            let dot: f64 = (0..i).map(|j| self.l.get(&[i, j]) * z[j]).sum();
            z.push((vi - dot) / self.l.get(&[i, i]));
        }
        z.iter().map(|x| x * x).sum()
    }

    /// The energies -log q₀(x) (`[n]`) and scores -Σ⁻¹(x - m) (`[n, d]`,
    /// row-major) of the rows of `x`.
    fn energy_and_score(&self, x: &[f64]) -> Result<(Vec<f64>, Vec<f64>), Error> {
        let d = self.mean.len();
        let n = x.len() / d;
        // Σ⁻¹ R for the centred rows R as the columns of a [d, n] right-hand side.
        let centred = Tensor::from_fn(&[d, n], |k| x[(k % n) * d + k / n] - self.mean[k / n]);
        let solved = cholesky_solve(&self.l, &centred)?;
        let mut energies = Vec::with_capacity(n);
        let mut scores = Vec::with_capacity(n * d);
        for b in 0..n {
            let quadratic: f64 = (0..d)
                .map(|j| centred.data()[j * n + b] * solved.data()[j * n + b])
                .sum();
            energies.push(0.5 * quadratic + self.log_normaliser);
            scores.extend((0..d).map(|j| -solved.data()[j * n + b]));
        }
        Ok((energies, scores))
    }
}

/// The chains' states (row-major `[n, d]`) with the model's and the base's
/// energies and scores there.
struct Chains {
    x: Vec<f64>,
    d: usize,
    e: Vec<f64>,
    s: Vec<f64>,
    e0: Vec<f64>,
    s0: Vec<f64>,
}

impl Chains {
    fn start<T: Real, F>(
        base: &GaussianBase,
        n: usize,
        d: usize,
        rng: &mut Rng64,
        f: &mut F,
    ) -> Result<Self, Error>
    where
        F: FnMut(&Tensor<T>) -> Result<(Tensor<T>, Tensor<T>), Error>,
    {
        let x = base.sample(n, rng);
        let (e, s) = evaluate(f, &x, n, d)?;
        let (e0, s0) = base.energy_and_score(&x)?;
        Ok(Chains { x, d, e, s, e0, s0 })
    }

    /// One MALA step of every chain on f_β, preconditioned by the base's
    /// covariance Σ = L Lᵀ, chain b with the step α of its group
    /// (`b / per_group`); returns the number accepted in each group.
    ///
    /// With t(x) = β·s(x) + (1-β)·∇log q₀(x) the tempered score:
    ///
    /// ```text
    /// y = x + α·Σ t(x) + √(2α)·L ξ,             ξ ~ N(0, I)
    /// log q(b | a) = -‖L⁻¹(b - a - α·Σ t(a))‖² / (4α)   (up to a constant)
    /// ```
    ///
    /// which is MALA in the base's whitened coordinates L⁻¹(x - m), where
    /// the columns of the data have comparable scales and correlations are
    /// undone: one step size then fits every direction.
    fn mala_step<T: Real, F>(
        &mut self,
        base: &GaussianBase,
        beta: f64,
        steps: &[f64],
        per_group: usize,
        rng: &mut Rng64,
        f: &mut F,
    ) -> Result<Vec<u64>, Error>
    where
        F: FnMut(&Tensor<T>) -> Result<(Tensor<T>, Tensor<T>), Error>,
    {
        let (n, d) = (self.e.len(), self.d);
        // Σ t per chain, row-major.
        let preconditioned_drift = |s: &[f64], s0: &[f64]| -> Vec<f64> {
            let t: Vec<f64> = s
                .iter()
                .zip(s0)
                .map(|(a, b)| beta * a + (1.0 - beta) * b)
                .collect();
            t.chunks(d).flat_map(|row| base.times_sigma(row)).collect()
        };
        let drift_x = preconditioned_drift(&self.s, &self.s0);
        let mut y = Vec::with_capacity(n * d);
        // log q(y | x) = -‖ξ‖²/2, since y - x - α·Σ t(x) = √(2α)·L ξ.
        let mut forward = Vec::with_capacity(n);
        for b in 0..n {
            let alpha = steps[b / per_group];
            let xi: Vec<f64> = (0..d).map(|_| standard_normal(rng)).collect();
            forward.push(-0.5 * xi.iter().map(|v| v * v).sum::<f64>());
            let noise = base.times_l(&xi);
            for (j, noise_j) in noise.iter().enumerate() {
                let k = b * d + j;
                y.push(self.x[k] + alpha * drift_x[k] + Float::sqrt(2.0 * alpha) * noise_j);
            }
        }
        let (e_y, s_y) = evaluate(f, &y, n, d)?;
        let (e0_y, s0_y) = base.energy_and_score(&y)?;
        let drift_y = preconditioned_drift(&s_y, &s0_y);
        let mut accepted = vec![0u64; steps.len()];
        for b in 0..n {
            // Drawn for every chain, so the random stream does not depend on
            // the outcomes.
            let u: f64 = rng.random();
            if self.e[b] == f64::INFINITY || e_y[b] == f64::INFINITY {
                continue;
            }
            let rows = b * d..(b + 1) * d;
            let alpha = steps[b / per_group];
            let back_residual: Vec<f64> = rows
                .clone()
                .map(|k| self.x[k] - y[k] - alpha * drift_y[k])
                .collect();
            let backward = -base.whitened_norm_squared(&back_residual) / (4.0 * alpha);
            let tempered = |e: f64, e0: f64| beta * e + (1.0 - beta) * e0;
            let log_ratio =
                tempered(self.e[b], self.e0[b]) - tempered(e_y[b], e0_y[b]) + backward - forward[b];
            if Float::ln(u) < log_ratio {
                accepted[b / per_group] += 1;
                self.x[rows.clone()].copy_from_slice(&y[rows.clone()]);
                self.s[rows.clone()].copy_from_slice(&s_y[rows.clone()]);
                self.s0[rows.clone()].copy_from_slice(&s0_y[rows]);
                self.e[b] = e_y[b];
                self.e0[b] = e0_y[b];
            }
        }
        Ok(accepted)
    }
}

/// The model's energies and scores at the rows of `x` (`[n, d]`, row-major),
/// as `f64`, checked: shapes right, no NaN or `-∞` energy, and finite scores
/// wherever the energy is finite.
fn evaluate<T: Real, F>(
    f: &mut F,
    x: &[f64],
    n: usize,
    d: usize,
) -> Result<(Vec<f64>, Vec<f64>), Error>
where
    F: FnMut(&Tensor<T>) -> Result<(Tensor<T>, Tensor<T>), Error>,
{
    let points = Tensor::from_vec(&[n, d], x.iter().map(|&v| T::cast(v)).collect())?;
    let (e, s) = f(&points)?;
    if e.shape() != [n] || s.shape() != [n, d] {
        return Err(Error::Shape(format!(
            "the energies and scores have shapes {:?} and {:?}, expected [{n}] and [{n}, {d}]",
            e.shape(),
            s.shape()
        )));
    }
    let e: Vec<f64> = e.data().iter().map(|v| v.as_f64()).collect();
    let s: Vec<f64> = s.data().iter().map(|v| v.as_f64()).collect();
    for (b, &energy) in e.iter().enumerate() {
        let score_finite = s[b * d..(b + 1) * d].iter().all(|v| v.is_finite());
        if energy.is_nan() || energy == f64::NEG_INFINITY || (energy.is_finite() && !score_finite) {
            return Err(Error::InvalidData(format!(
                "AIS: the energy is {energy} at a point (with a score that is {}finite); \
                 it must be a number or +∞, with a finite score",
                if score_finite { "" } else { "not " }
            )));
        }
    }
    Ok((e, s))
}

/// The estimate, its errors and the reliability checks from the final log
/// weights.
fn summarise(
    log_w: &[f64],
    config: &AisConfig,
    accepted: u64,
    proposed: u64,
) -> Result<AisEstimate, Error> {
    let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return Err(Error::Numerical(
            "every AIS weight is zero (infinite energies everywhere the chains went)".into(),
        ));
    }
    // Weights scaled so the largest is 1: no overflow, ratios unchanged.
    let w: Vec<f64> = log_w.iter().map(|lw| Float::exp(lw - max)).collect();
    let (sum, sum_sq) = w.iter().fold((0.0, 0.0), |(a, b), v| (a + v, b + v * v));
    let ess = sum * sum / sum_sq;
    let groups = config.groups;
    let per_group = w.len() / groups;
    let mut group_mean = Vec::with_capacity(groups);
    let mut group_log_z = Vec::with_capacity(groups);
    let mut group_se = Vec::with_capacity(groups);
    for chunk in w.chunks(per_group) {
        let (mean, sd) = mean_and_sd(chunk);
        group_mean.push(mean);
        group_log_z.push(max + Float::ln(mean));
        group_se.push(if mean > 0.0 {
            sd / (Float::sqrt(per_group as f64) * mean)
        } else {
            f64::INFINITY
        });
    }
    let (mean, sd_between) = mean_and_sd(&group_mean);
    let log_z = max + Float::ln(mean);
    let se = sd_between / (Float::sqrt(groups as f64) * mean);
    // Against the pooled within-group variance: each group's own se_g rests
    // on few chains and is itself noisy; their mean is steadier.
    let pooled_variance = group_se.iter().map(|s| s * s).sum::<f64>() / groups as f64;
    let chi_square: f64 = group_log_z
        .iter()
        .map(|g| {
            let gap = g - log_z;
            if gap == 0.0 {
                0.0
            } else {
                gap * gap / pooled_variance
            }
        })
        .sum();
    let mut problems = Vec::new();
    if ess < MIN_ESS_FRACTION * w.len() as f64 {
        problems.push(format!(
            "the effective sample size {ess:.1} of {} chains is below {:.0}%",
            w.len(),
            100.0 * MIN_ESS_FRACTION
        ));
    }
    let limit = chi_square_quantile(groups - 1, GROUP_DISAGREEMENT_P);
    if chi_square.is_nan() || chi_square > limit {
        problems.push(format!(
            "the {groups} independent groups disagree beyond their errors \
             (χ² = {chi_square:.3} on {} degrees of freedom, limit {limit:.1})",
            groups - 1
        ));
    }
    let warning = (!problems.is_empty()).then(|| {
        format!(
            "AIS log Z is unreliable: {}. One weight dominates, so log Z is most likely \
             too low and its error understated; raise the temperatures (now {}) first, \
             then the chains (now {}) or the MALA steps per temperature (now {}); \
             if that does not help, the model may put mass far from the data, \
             or not be normalisable at all",
            problems.join("; "),
            config.temperatures,
            config.chains,
            config.steps_per_temperature
        )
    });
    Ok(AisEstimate {
        log_z,
        se,
        ess,
        chains: w.len(),
        group_log_z,
        group_se,
        chi_square,
        acceptance_rate: if proposed == 0 {
            0.0
        } else {
            accepted as f64 / proposed as f64
        },
        reliable: warning.is_none(),
        warning,
    })
}

/// The mean and the sample standard deviation (n - 1) of `v` (sd 0 for one value).
fn mean_and_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (mean, 0.0);
    }
    let variance = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, Float::sqrt(variance))
}

/// The upper-`p` quantile of χ² on `k` degrees of freedom by the
/// Wilson–Hilferty cube approximation, k·(1 - 2/(9k) + z·√(2/(9k)))³, with z
/// the standard normal's upper-`p` quantile; within a few percent for k ≥ 1
/// at the tail probabilities used here.
fn chi_square_quantile(k: usize, p: f64) -> f64 {
    let z = normal_upper_quantile(p);
    let k = k as f64;
    let c = 2.0 / (9.0 * k);
    k * Float::powi(1.0 - c + z * Float::sqrt(c), 3)
}

/// The standard normal's upper-`p` quantile (0 < p < ½), by the rational
/// approximation 26.2.23 of Abramowitz & Stegun (error below 4.5·10⁻⁴).
fn normal_upper_quantile(p: f64) -> f64 {
    let t = Float::sqrt(-2.0 * Float::ln(p));
    t - (2.515517 + 0.802853 * t + 0.010328 * t * t)
        / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi_square_quantiles_match_tables() {
        // Tables: χ²_{0.999}(7) = 24.32, χ²_{0.999}(1) = 10.83, χ²_{0.999}(30) = 59.70.
        assert!((chi_square_quantile(7, 0.001) - 24.32).abs() < 0.3);
        assert!((chi_square_quantile(30, 0.001) - 59.70).abs() < 0.3);
        assert!((chi_square_quantile(1, 0.001) - 10.83).abs() < 0.6);
        assert!((normal_upper_quantile(0.001) - 3.0902).abs() < 1e-3);
    }

    #[test]
    fn the_base_energy_is_minus_the_log_density_of_its_gaussian() {
        // Data with mean (1, -1) and covariance diag(1, 4) exactly (four points).
        let data = Tensor::from_rows(&[
            vec![2.0, -1.0],
            vec![0.0, -1.0],
            vec![1.0, 1.0],
            vec![1.0, -3.0],
        ])
        .unwrap();
        let base = GaussianBase::fit(&data, 1.0).unwrap();
        // Covariance (1/n): diag(0.5, 2), plus the ridge 1e-6·1.25.
        let (v0, v1) = (0.5 + 1.25e-6, 2.0 + 1.25e-6);
        let (e, s) = base.energy_and_score(&[2.0, 1.0]).unwrap();
        let exact = 0.5 * (1.0 / v0 + 4.0 / v1) + 0.5 * (v0 * v1).ln() + std::f64::consts::TAU.ln();
        assert!((e[0] - exact).abs() < 1e-12, "{} vs {exact}", e[0]);
        assert!((s[0] + 1.0 / v0).abs() < 1e-12 && (s[1] + 2.0 / v1).abs() < 1e-12);
    }
}
