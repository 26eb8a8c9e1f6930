//! Criterion benches of the engine workloads of `docs/performance.md`: `grad` and
//! `hvp` at sizes S, M, L, and the scalar `rosenbrock` (gradient + one HVP).
//!
//! ```text
//! cargo bench --bench engine            # all of them
//! cargo bench --bench engine -- hvp/M   # one cell
//! ```

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use scoretape::workloads::Workload;

fn engine(c: &mut Criterion) {
    for workload in [Workload::Grad, Workload::Hvp, Workload::Rosenbrock] {
        common::bench_workload(c, workload, 30, 2);
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);
