//! tokio's `spawn_blocking` bench, unchanged in its parameters, on tokio and umcg side by side:
//! N = 1, 2, 4, 8, 16, 32, 64 async spawner tasks, each running 100 batches of 16 no-op
//! `spawn_blocking` calls and awaiting each batch before the next. (tokio's own file caps N at
//! the CPU count; here every level runs.) It measures the blocking path's cost and how it
//! scales with concurrent callers: tokio's pool serializes on one queue mutex.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use umcg_benches::config::Config;
use umcg_benches::rt::{Rt, RtSpec, TokioRt, UmcgBackend};
use umcg_benches::workloads::{self as w, SPAWNERS};

fn levels<R: Rt>(group: &mut BenchmarkGroup<'_, WallTime>, label: &str) {
    let rt = R::build(&RtSpec::default_on(UmcgBackend::Auto)).expect("runtime");
    for n in SPAWNERS {
        group.bench_with_input(BenchmarkId::new(label, n), &n, |b, &n| {
            b.iter(|| w::spawn_blocking_concurrency(&rt, n))
        });
    }
}

fn spawn_blocking_concurrency(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_blocking");
    Config::from_env().criterion_group(&mut group);
    levels::<TokioRt>(&mut group, "tokio");
    #[cfg(feature = "umcg")]
    levels::<umcg_benches::rt::UmcgRt>(&mut group, "umcg");
    group.finish();
}

criterion_group!(spawn_blocking_benches, spawn_blocking_concurrency);
criterion_main!(spawn_blocking_benches);
