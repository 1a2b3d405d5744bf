//! More servers than CPUs: four servers confined to one CPU run tokio's `ping_pong` workload
//! (task pairs exchanging `futures::channel::oneshot` messages) round after round.
//!
//! On one CPU a worker is often preempted or blocked inside the allocator (all four servers'
//! workers allocate from the same arenas). A server that then allocated, freed or created a
//! thread itself waited for an arena lock its own worker held, and the runtime hung within a few
//! dozen rounds on the kernel backend (`umcg::spawner` explains the deadlock). The watchdog of
//! `support::each_backend` turns a hang into a failure.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};

use futures::channel::oneshot;
use support::each_backend;

const ROUNDS: usize = 40;
const PAIRS: usize = 1_000;

/// Confines the calling thread, and so every thread it creates from now on, to one CPU.
fn confine_to_one_cpu() {
    let first = umcg_sys::cpu::allowed().expect("the allowed CPUs")[0];
    umcg_sys::cpu::pin_current_thread(first).expect("pinning to an allowed CPU");
}

/// One round of `ping_pong`: every pair exchanges two messages; returns when all are done.
fn ping_pong(rt: &umcg::runtime::Runtime) {
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let left = Arc::new(AtomicUsize::new(PAIRS));
    rt.spawn(async move {
        for _ in 0..PAIRS {
            let (left, done_tx) = (left.clone(), done_tx.clone());
            umcg::spawn(async move {
                let (ping_tx, ping_rx) = oneshot::channel::<()>();
                let (pong_tx, pong_rx) = oneshot::channel::<()>();
                umcg::spawn(async move {
                    ping_rx.await.expect("ping");
                    pong_tx.send(()).expect("pong");
                });
                ping_tx.send(()).expect("ping");
                pong_rx.await.expect("pong");
                if left.fetch_sub(1, SeqCst) == 1 {
                    done_tx.send(()).expect("done");
                }
            });
        }
    });
    done_rx.recv().expect("every pair finished");
}

#[test]
fn four_servers_on_one_cpu_finish_every_round() {
    each_backend(|b| {
        confine_to_one_cpu();
        let rt = support::builder(b).servers(4).build().unwrap();
        for _ in 0..ROUNDS {
            ping_pong(&rt);
        }
    });
}
