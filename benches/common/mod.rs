//! What the two bench files share: one criterion group per workload, one
//! bench per size, each timing `Prepared::run` from `scoretape::workloads`
//! (the same definition the `scoretape bench` runner times).

use criterion::{BenchmarkId, Criterion, SamplingMode};
use scoretape::workloads::{Size, Workload};
use std::hint::black_box;
use std::time::Duration;

/// Benches `workload` at every size (once for `rosenbrock`, which has none).
///
/// Flat sampling runs the same number of calls in every sample, so a slow
/// cell (esm at size L takes a good fraction of a second per call) costs
/// `sample_size` calls per sample instead of criterion's default linear ramp
/// of 1 + 2 + … + `sample_size` calls.
pub fn bench_workload(c: &mut Criterion, workload: Workload, sample_size: usize, seconds: u64) {
    let mut group = c.benchmark_group(workload.name());
    group
        .sample_size(sample_size)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(seconds));
    let sizes: &[Size] = if workload.is_batched() {
        &Size::ALL
    } else {
        &[Size::S]
    };
    for &size in sizes {
        let mut prepared = workload.prepare(size);
        let label = if workload.is_batched() {
            size.name().to_string()
        } else {
            format!("n{}", prepared.dims().dim)
        };
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| black_box(prepared.run().expect("a standard workload runs")))
        });
    }
    group.finish();
}
