//! Criterion benches of the objective workloads of `docs/performance.md`: each of
//! `esm`, `ssm`, `ssm-vr`, `dsm`, `rm` computes its loss and the gradient of
//! the loss with respect to every model parameter, at sizes S, M, L.
//!
//! ```text
//! cargo bench --bench objectives            # all of them (a few minutes)
//! cargo bench --bench objectives -- ssm/L   # one cell
//! ```

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use scoretape::workloads::Workload;

fn objectives(c: &mut Criterion) {
    for workload in Workload::ALL.into_iter().filter(|w| w.is_objective()) {
        common::bench_workload(c, workload, 10, 3);
    }
}

criterion_group!(benches, objectives);
criterion_main!(benches);
