//! Gradient clipping by global norm.

use crate::real::Real;
use crate::tensor::Tensor;
use num_traits::Float;

/// The global norm ‖g‖ = √(Σ over all tensors and elements of g²), accumulated
/// in `f64` so that `f32` gradients do not overflow on the way.
///
/// ```
/// use scoretape::optim::global_norm;
/// use scoretape::Tensor;
/// let g = [Tensor::vector(&[3.0]), Tensor::vector(&[4.0])];
/// assert_eq!(global_norm(&g), 5.0);
/// ```
pub fn global_norm<T: Real>(grads: &[Tensor<T>]) -> f64 {
    let squares: f64 = grads
        .iter()
        .flat_map(|g| g.data())
        .map(|&v| v.as_f64() * v.as_f64())
        .sum();
    Float::sqrt(squares)
}

/// Scales every gradient by `min(1, max_norm / ‖g‖)`, so that the global norm
/// (see [`global_norm`]) is at most `max_norm` while the direction is kept.
/// Returns the norm before clipping. A non-finite norm leaves the gradients
/// unchanged (there is no meaningful direction to keep); the caller decides
/// what to do with it.
///
/// # Panics
///
/// If `max_norm` is not positive and finite (a configuration mistake; the
/// fitting loop checks it and reports an error instead).
///
/// ```
/// use scoretape::optim::{clip_global_norm, global_norm};
/// use scoretape::Tensor;
/// let mut g = vec![Tensor::vector(&[3.0f64]), Tensor::vector(&[4.0])];
/// assert_eq!(clip_global_norm(&mut g, 1.0), 5.0);
/// assert!((global_norm(&g) - 1.0).abs() < 1e-15);
/// assert!((g[0].item() - 0.6).abs() < 1e-15);
/// ```
pub fn clip_global_norm<T: Real>(grads: &mut [Tensor<T>], max_norm: T) -> f64 {
    let max = max_norm.as_f64();
    assert!(
        max > 0.0 && max.is_finite(),
        "clip_global_norm: max_norm = {max} must be positive and finite"
    );
    let norm = global_norm(grads);
    if norm.is_finite() && norm > max {
        let scale = T::cast(max / norm);
        for g in grads.iter_mut() {
            for v in g.data_mut() {
                *v *= scale;
            }
        }
    }
    norm
}
