//! Criterion benches of the objective workloads of `docs/performance.md`: each of
//! `esm`, `ssm`, `ssm-vr`, `fd-ssm`, `dsm`, `rm` computes its loss and the gradient of
//! the loss with respect to every model parameter, at sizes S, M, L
//! (`esm-laplacian` is `esm` with the trace by the forward Laplacian); and
//! `esm-trace`, the library call of exact score matching with either trace on
//! one thread, so the two are compared like for like.
//!
//! ```text
//! cargo bench --bench objectives            # all of them (a few minutes)
//! cargo bench --bench objectives -- ssm/L   # one cell
//! cargo bench --bench objectives -- esm-trace/
//! ```

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use scoretape::model::{Energy, Model};
use scoretape::objective::{exact_score_matching_value_and_grad_with_trace, ExactTrace};
use scoretape::workloads::{Size, Workload};
use scoretape::Tape;
use std::hint::black_box;
use std::time::Duration;

fn objectives(c: &mut Criterion) {
    for workload in Workload::ALL.into_iter().filter(|w| w.is_objective()) {
        common::bench_workload(c, workload, 10, 3);
    }
}

/// `esm-trace/{trace}-{size}`: the loss and θ-gradient of exact score
/// matching on the `esm` workload's model and batch, with either trace, on
/// the calling thread (the library call itself, without the bench runner's
/// row blocks over cores), so the two traces are compared like for like.
fn esm_trace(c: &mut Criterion) {
    let mut group = c.benchmark_group("esm-trace");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for size in Size::ALL {
        let prepared = Workload::Esm.prepare(size);
        let model = prepared.model().expect("esm has a model").clone();
        let x = prepared.x().clone();
        for trace in ExactTrace::ALL {
            let id = BenchmarkId::from_parameter(format!("{trace}-{}", size.name()));
            group.bench_function(id, |b| {
                let tape = Tape::new();
                let params = model.params().record(&tape);
                let energy = |x| model.energy(&params, x);
                b.iter(|| {
                    black_box(
                        exact_score_matching_value_and_grad_with_trace(
                            &tape, &energy, &x, None, &params, trace,
                        )
                        .expect("the esm workload runs"),
                    )
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, objectives, esm_trace);
criterion_main!(benches);
