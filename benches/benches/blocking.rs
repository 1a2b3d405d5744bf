//! Blocking-specific benches tokio does not have, on tokio and umcg side by side:
//!
//! - `blocking_round_trip`: one task awaiting `spawn_blocking(no-op)` again and again; criterion
//!   reports the mean, p50/p99 of the per-call latencies are printed beside it.
//! - `mixed_server`: 64 client tasks send requests one after another; each request is a spawned
//!   handler doing a little CPU work and a yield, and 1 request in 10 also sleeps 200 µs, through
//!   `spawn_blocking` or directly in the task. Criterion times a batch of requests; the request
//!   latency p50/p99 is printed.
//! - `ticker`: how late a task sees a message stamped every millisecond by an outside thread
//!   while 2 × CPUs tasks keep making blocking calls (sleep, pipe read, cold file read), in the
//!   task or through `spawn_blocking` (printed: p50/p99/max; not a criterion measurement).
//! - `burst`: 10,000 concurrent `spawn_blocking(sleep 1 ms)`: time, peak thread count, and threads
//!   left after the idle wait (`BENCH_IDLE_WAIT_MS`), both runtimes built with the idle timeout
//!   `BENCH_KEEP_ALIVE_MS` (default 1 s), counted in `/proc/self/task` (printed).

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use umcg_benches::config::Config;
use umcg_benches::rt::{Rt, RtSpec, TokioRt, UmcgBackend};
use umcg_benches::stats::Summary;
use umcg_benches::workloads::{self as w, BlockIn, BlockKind, TickerSetup};

fn spec() -> RtSpec {
    RtSpec::default_on(UmcgBackend::Auto)
}

fn round_trip_on<R: Rt>(c: &mut Criterion, label: &str) {
    let rt = R::build(&spec()).expect("runtime");
    let mut all = Vec::new();
    let mut group = c.benchmark_group("blocking_round_trip");
    Config::from_env().criterion_group(&mut group);
    group.bench_function(label, |b| {
        b.iter_custom(|iters| {
            let lat = w::blocking_round_trips(&rt, iters as usize);
            let total = lat.iter().sum();
            all.extend(lat);
            Duration::from_nanos(total)
        })
    });
    group.finish();
    println!("blocking_round_trip/{label}: {}", Summary::of(&mut all));
}

fn round_trip(c: &mut Criterion) {
    round_trip_on::<TokioRt>(c, "tokio");
    #[cfg(feature = "umcg")]
    round_trip_on::<umcg_benches::rt::UmcgRt>(c, "umcg");
}

fn mixed_on<R: Rt>(c: &mut Criterion, label: &str) {
    let cfg = Config::from_env();
    let rt = R::build(&spec()).expect("runtime");
    let mut group = c.benchmark_group("mixed_server");
    cfg.criterion_group(&mut group);
    for block_in in [BlockIn::SpawnBlocking, BlockIn::Task] {
        let id = format!("{label}/{}", block_in.name().replace(' ', "_"));
        let mut all = Vec::new();
        group.bench_function(&id, |b| {
            b.iter(|| all.extend(w::mixed_server(&rt, cfg.server_requests, 64, 10, block_in)))
        });
        println!(
            "mixed_server/{id} request latency: {}",
            Summary::of(&mut all)
        );
    }
    group.finish();
}

fn mixed(c: &mut Criterion) {
    mixed_on::<TokioRt>(c, "tokio");
    #[cfg(feature = "umcg")]
    mixed_on::<umcg_benches::rt::UmcgRt>(c, "umcg");
}

fn ticker_on<R: Rt>(label: &str) {
    let cfg = Config::from_env();
    for kind in BlockKind::ALL {
        for block_in in [BlockIn::Task, BlockIn::SpawnBlocking] {
            let rt = R::build(&spec()).expect("runtime");
            let setup = TickerSetup {
                kind,
                block_in,
                blockers: 2 * umcg_benches::floor::cpus(),
                run: cfg.ticker_run,
                tmpdir: std::env::temp_dir().join("umcg-benches"),
            };
            let s = Summary::of(&mut w::ticker_lateness(&rt, &setup));
            println!(
                "ticker/{label}, blockers: {} {}: lateness {s}",
                kind.name(),
                block_in.name()
            );
        }
    }
}

fn ticker(_: &mut Criterion) {
    ticker_on::<TokioRt>("tokio");
    #[cfg(feature = "umcg")]
    ticker_on::<umcg_benches::rt::UmcgRt>("umcg");
}

fn burst_on<R: Rt>(label: &str) {
    let cfg = Config::from_env();
    let spec = RtSpec {
        keep_alive: Some(cfg.keep_alive),
        ..spec()
    };
    let rt = R::build(&spec).expect("runtime");
    let b = w::burst(&rt, cfg.burst_calls, cfg.idle_wait);
    println!(
        "burst/{label}: {} calls in {:?}; its threads before {}, peak {}, {:?} later {} (keep-alive {:?})",
        cfg.burst_calls, b.elapsed, b.before, b.peak, b.idle_wait, b.after, cfg.keep_alive
    );
}

fn burst(_: &mut Criterion) {
    burst_on::<TokioRt>("tokio");
    #[cfg(feature = "umcg")]
    burst_on::<umcg_benches::rt::UmcgRt>("umcg");
}

criterion_group!(blocking, round_trip, mixed, ticker, burst);
criterion_main!(blocking);
