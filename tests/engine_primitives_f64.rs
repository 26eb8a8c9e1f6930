//! Every primitive of the engine, in `f64`, through every mode of
//! differentiation up to third order (`check_grads`): reverse and forward
//! mode against finite differences, the adjoint identity, both HVP modes,
//! Hessian symmetry, and the gradient of `vᵀHv` against finite differences —
//! at random shapes (with broadcasting) and random values from each
//! primitive's domain.

#[macro_use]
mod common;

primitive_suite!(f64, 256);
