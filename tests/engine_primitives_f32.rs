//! The per-primitive suite of `engine_primitives_f64.rs`, run in `f32` at the
//! `f32` tolerances of `CheckConfig::f32`. Fewer cases than in `f64`: the
//! shapes and domains are the same, and what `f32` adds is only a test of the
//! generic code paths and of the tolerances, which a few dozen cases cover.

#[macro_use]
mod common;

primitive_suite!(f32, 128);
