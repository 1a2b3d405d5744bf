//! The floor, measured in the same run as the runtimes: a futex wake + wait round trip between
//! two threads pinned to one CPU (two same-CPU switches: what a UMCG server → worker → server
//! handoff costs at best without a directed switch), and between two CPUs (what a thread pool's
//! cross-CPU wakeup costs). Criterion reports the mean; p50/p99 are printed beside it.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use umcg_benches::config::Config;
use umcg_benches::floor::{allowed_cpus, futex_round_trips};
use umcg_benches::stats::Summary;

fn futex_round_trip(c: &mut Criterion) {
    let cpus = allowed_cpus();
    let mut pairs = vec![("same_cpu", cpus[0], cpus[0])];
    if cpus.len() > 1 {
        pairs.push(("cross_cpu", cpus[0], cpus[1]));
    }
    let mut group = c.benchmark_group("futex_round_trip");
    Config::from_env().criterion_group(&mut group);
    for (name, a, b) in pairs {
        let mut all = Vec::new();
        group.bench_function(name, |bench| {
            bench.iter_custom(|iters| {
                let lat = futex_round_trips(a, b, iters as usize);
                let total = lat.iter().sum();
                all.extend(lat);
                Duration::from_nanos(total)
            })
        });
        println!("futex_round_trip/{name}: {}", Summary::of(&mut all));
    }
    group.finish();
}

criterion_group!(floor, futex_round_trip);
criterion_main!(floor);
