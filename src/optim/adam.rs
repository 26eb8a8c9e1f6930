//! Adam (Kingma & Ba 2015), with bias correction.

use super::{check_range, check_shapes, Optimizer, OptimizerState};
use crate::error::Error;
use crate::model::Params;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;

/// Adam: for each parameter θ with gradient g, at step t = 1, 2, …,
///
/// ```text
/// m ← β₁·m + (1 - β₁)·g          (m, v start at 0)
/// v ← β₂·v + (1 - β₂)·g²         (element-wise)
/// m̂ = m / (1 - β₁ᵗ),  v̂ = v / (1 - β₂ᵗ)
/// θ ← θ - lr · m̂ / (√v̂ + ε)
/// ```
///
/// The bias corrections undo the pull towards 0 of moments that start at 0,
/// so the first step moves each coordinate by about `lr`.
/// State buffers ([`OptimizerState::buffers`]): every parameter's `m`, in
/// parameter order, then every parameter's `v`.
///
/// ```
/// use scoretape::model::Params;
/// use scoretape::optim::{Adam, Optimizer};
/// use scoretape::Tensor;
/// let mut p = Params::new();
/// p.push("w", Tensor::vector(&[1.0, 1.0]));
/// let mut adam = Adam::new(0.1);
/// // The first step moves each coordinate by lr·g/(|g| + ε) ≈ lr·sign(g).
/// adam.step(&mut p, &[Tensor::vector(&[3.0, -0.01])], 0.1).unwrap();
/// assert!(p.values()[0].max_abs_diff(&Tensor::vector(&[0.9, 1.1])) < 1e-6);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Adam<T> {
    /// The base learning rate, ≥ 0.
    pub lr: T,
    /// Decay of the first-moment average, in `[0, 1)`.
    pub beta1: T,
    /// Decay of the second-moment average, in `[0, 1)`.
    pub beta2: T,
    /// Added to √v̂ so that a zero gradient does not divide by zero; > 0.
    pub eps: T,
    steps: u64,
    /// First moments then second moments, one per parameter each.
    moments: Vec<Tensor<T>>,
}

impl<T: Real> Adam<T> {
    /// Adam with the usual defaults β₁ = 0.9, β₂ = 0.999, ε = 10⁻⁸.
    ///
    /// ```
    /// let adam = scoretape::optim::Adam::new(1e-3);
    /// assert_eq!(adam.beta2, 0.999);
    /// ```
    pub fn new(lr: T) -> Self {
        Adam::with_hyperparameters(lr, T::cast(0.9), T::cast(0.999), T::cast(1e-8))
    }

    /// Adam with every hyperparameter given.
    ///
    /// ```
    /// let adam = scoretape::optim::Adam::with_hyperparameters(1e-3, 0.5, 0.9, 1e-6);
    /// assert_eq!(adam.beta1, 0.5);
    /// ```
    pub fn with_hyperparameters(lr: T, beta1: T, beta2: T, eps: T) -> Self {
        Adam {
            lr,
            beta1,
            beta2,
            eps,
            steps: 0,
            moments: Vec::new(),
        }
    }
}

impl<T: Real> Optimizer<T> for Adam<T> {
    fn learning_rate(&self) -> T {
        self.lr
    }

    fn validate(&self) -> Result<(), Error> {
        check_range("learning rate", self.lr, 0.0, f64::INFINITY, false)?;
        check_range("beta1", self.beta1, 0.0, 1.0, false)?;
        check_range("beta2", self.beta2, 0.0, 1.0, false)?;
        if !(self.eps.as_f64() > 0.0 && self.eps.is_finite()) {
            return Err(Error::InvalidData(format!(
                "eps = {} must be positive and finite",
                self.eps
            )));
        }
        Ok(())
    }

    fn step(&mut self, params: &mut Params<T>, grads: &[Tensor<T>], lr: T) -> Result<(), Error> {
        self.validate()?;
        check_range("learning rate", lr, 0.0, f64::INFINITY, false)?;
        check_shapes(params, grads, &self.moments)?;
        let n = grads.len();
        if self.moments.len() != 2 * n {
            if !self.moments.is_empty() {
                return Err(Error::Shape(format!(
                    "Adam state holds {} buffers, expected 2 × {n} parameters",
                    self.moments.len()
                )));
            }
            self.moments = grads
                .iter()
                .chain(grads)
                .map(|g| Tensor::zeros(g.shape()))
                .collect();
        }
        let t = self.steps + 1;
        let one = T::one();
        let (b1, b2) = (self.beta1, self.beta2);
        // β^t through powf: the step count may exceed i32::MAX.
        let correction1 = one - b1.powf(T::cast(t as f64));
        let correction2 = one - b2.powf(T::cast(t as f64));
        let (first, second) = self.moments.split_at_mut(n);
        for (((theta, m), v), g) in params
            .values_mut()
            .iter_mut()
            .zip(first)
            .zip(second)
            .zip(grads)
        {
            let cells = theta
                .data_mut()
                .iter_mut()
                .zip(m.data_mut().iter_mut())
                .zip(v.data_mut().iter_mut())
                .zip(g.data());
            for (((th, mi), vi), &gi) in cells {
                *mi = b1 * *mi + (one - b1) * gi;
                *vi = b2 * *vi + (one - b2) * gi * gi;
                let m_hat = *mi / correction1;
                let v_hat = *vi / correction2;
                *th -= lr * m_hat / (v_hat.sqrt() + self.eps);
            }
        }
        self.steps = t;
        Ok(())
    }

    fn state_is_finite(&self) -> bool {
        self.moments.iter().all(Tensor::all_finite)
    }

    fn state(&self) -> OptimizerState<T> {
        OptimizerState {
            steps: self.steps,
            buffers: self.moments.clone(),
        }
    }

    fn load_state(&mut self, state: OptimizerState<T>) -> Result<(), Error> {
        if !state.buffers.len().is_multiple_of(2) {
            return Err(Error::InvalidData(format!(
                "an Adam state holds an even number of buffers (m and v per parameter), not {}",
                state.buffers.len()
            )));
        }
        self.steps = state.steps;
        self.moments = state.buffers;
        Ok(())
    }
}
