//! tokio's `rt_multi_threaded` benches with tokio's parameters (4 workers / servers), on tokio
//! and umcg side by side: `spawn_many_local` (10,000 spawns from inside),
//! `spawn_many_remote_idle` / `_busy1` / `_busy2` (spawns from outside onto an idle runtime, one
//! busy with yielding CPU tasks, one busy re-spawning CPU tasks), `yield_many` (200 tasks × 1,000
//! yields), `ping_pong` (1,000 spawn + oneshot exchanges) and `chained_spawn` (a chain of 1,000
//! spawns). These measure the pure-async scheduler: umcg should be no slower than tokio.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use umcg_benches::side_by_side;
use umcg_benches::workloads::{self as w, NUM_WORKERS};

fn spawn_many(c: &mut Criterion) {
    let four = Some(NUM_WORKERS);
    side_by_side!(
        c,
        "spawn_many_local",
        four,
        |rt| (),
        w::spawn_many_local(&rt)
    );
    side_by_side!(
        c,
        "spawn_many_remote_idle",
        four,
        |rt| (),
        w::spawn_many_remote_idle(&rt)
    );
    side_by_side!(
        c,
        "spawn_many_remote_busy1",
        four,
        |rt| w::busy1(&rt),
        w::spawn_many_remote_busy1(&rt)
    );
    side_by_side!(
        c,
        "spawn_many_remote_busy2",
        four,
        |rt| w::busy2(&rt),
        w::spawn_many_remote_busy2(&rt)
    );
}

fn scheduler(c: &mut Criterion) {
    let four = Some(NUM_WORKERS);
    side_by_side!(c, "yield_many", four, |rt| (), w::yield_many(&rt));
    side_by_side!(c, "ping_pong", four, |rt| (), w::ping_pong(&rt));
    side_by_side!(c, "chained_spawn", four, |rt| (), w::chained_spawn(&rt));
}

criterion_group!(rt_multi_scheduler, spawn_many, scheduler);
criterion_main!(rt_multi_scheduler);
