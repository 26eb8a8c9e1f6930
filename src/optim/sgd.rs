//! Stochastic gradient descent, with optional heavy-ball momentum.

use super::{check_range, check_shapes, Optimizer, OptimizerState};
use crate::error::Error;
use crate::model::Params;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;

/// SGD with momentum μ: for each parameter θ with gradient g,
///
/// ```text
/// v ← μ·v + g        (v starts at 0)
/// θ ← θ - lr·v
/// ```
///
/// With μ = 0 this is plain gradient descent θ ← θ - lr·g.
/// State buffers ([`OptimizerState::buffers`]): one velocity `v` per parameter.
///
/// ```
/// use scoretape::model::Params;
/// use scoretape::optim::{Optimizer, Sgd};
/// use scoretape::Tensor;
/// let mut p = Params::new();
/// p.push("w", Tensor::scalar(1.0f64));
/// let mut sgd = Sgd::new(0.5, 0.9);
/// sgd.step(&mut p, &[Tensor::scalar(1.0)], 0.5).unwrap(); // v = 1,   w = 1 - 0.5
/// sgd.step(&mut p, &[Tensor::scalar(1.0)], 0.5).unwrap(); // v = 1.9, w = 0.5 - 0.95
/// assert!((p.values()[0].item() - (-0.45)).abs() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd<T> {
    /// The base learning rate, ≥ 0.
    pub lr: T,
    /// The momentum coefficient μ, in `[0, 1)`.
    pub momentum: T,
    steps: u64,
    velocity: Vec<Tensor<T>>,
}

impl<T: Real> Sgd<T> {
    /// SGD with base learning rate `lr` and momentum `momentum` (0 for none).
    ///
    /// ```
    /// let sgd = scoretape::optim::Sgd::new(0.01, 0.0);
    /// assert_eq!(sgd.lr, 0.01);
    /// ```
    pub fn new(lr: T, momentum: T) -> Self {
        Sgd {
            lr,
            momentum,
            steps: 0,
            velocity: Vec::new(),
        }
    }
}

impl<T: Real> Optimizer<T> for Sgd<T> {
    fn learning_rate(&self) -> T {
        self.lr
    }

    fn validate(&self) -> Result<(), Error> {
        check_range("learning rate", self.lr, 0.0, f64::INFINITY, false)?;
        check_range("momentum", self.momentum, 0.0, 1.0, false)
    }

    fn step(&mut self, params: &mut Params<T>, grads: &[Tensor<T>], lr: T) -> Result<(), Error> {
        self.validate()?;
        check_range("learning rate", lr, 0.0, f64::INFINITY, false)?;
        check_shapes(params, grads, &self.velocity)?;
        if self.velocity.len() != grads.len() {
            if !self.velocity.is_empty() {
                return Err(Error::Shape(format!(
                    "SGD state holds {} buffers, expected one per parameter ({})",
                    self.velocity.len(),
                    grads.len()
                )));
            }
            self.velocity = grads.iter().map(|g| Tensor::zeros(g.shape())).collect();
        }
        let mu = self.momentum;
        for ((theta, v), g) in params
            .values_mut()
            .iter_mut()
            .zip(&mut self.velocity)
            .zip(grads)
        {
            for ((t, vi), &gi) in theta
                .data_mut()
                .iter_mut()
                .zip(v.data_mut().iter_mut())
                .zip(g.data())
            {
                *vi = mu * *vi + gi;
                *t -= lr * *vi;
            }
        }
        self.steps += 1;
        Ok(())
    }

    fn state_is_finite(&self) -> bool {
        self.velocity.iter().all(Tensor::all_finite)
    }

    fn state(&self) -> OptimizerState<T> {
        OptimizerState {
            steps: self.steps,
            buffers: self.velocity.clone(),
        }
    }

    fn load_state(&mut self, state: OptimizerState<T>) -> Result<(), Error> {
        self.steps = state.steps;
        self.velocity = state.buffers;
        Ok(())
    }
}
