//! Criterion benches of the training workloads of `BENCHMARKS.md`: each call
//! of `train-esm`, `train-ssm`, `train-dsm`, `train-rm` is one Adam step
//! (lr 1e-3) on the next minibatch of 128 rows, through the same step
//! `scoretape fit` runs per update, at sizes S, M, L.
//!
//! ```text
//! cargo bench --bench training                  # all of them
//! cargo bench --bench training -- train-esm/M   # one cell
//! ```

mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use scoretape::workloads::Workload;

fn training(c: &mut Criterion) {
    for workload in Workload::ALL.into_iter().filter(|w| w.is_training()) {
        common::bench_workload(c, workload, 10, 3);
    }
}

criterion_group!(benches, training);
criterion_main!(benches);
