//! `spawn` from every kind of thread, many tasks, and a plain blocking call inside a task.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use support::each_backend;
use umcg::Backend;

#[test]
fn spawn_from_outside_and_inside() {
    each_backend(|b| {
        let rt = support::rt(b);
        let outer = rt.spawn(async { umcg::spawn(async { 21 }).await.unwrap() * 2 });
        assert_eq!(rt.block_on(outer).unwrap(), 42);
    });
}

#[test]
fn ten_thousand_tasks_all_run() {
    each_backend(|b| {
        let rt = support::rt(b);
        let n = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..10_000)
            .map(|_| {
                let n = n.clone();
                rt.spawn(async move {
                    umcg::yield_now().await;
                    n.fetch_add(1, SeqCst);
                })
            })
            .collect();
        rt.block_on(async {
            for h in handles {
                h.await.unwrap();
            }
        });
        assert_eq!(n.load(SeqCst), 10_000);
    });
}

#[test]
fn spawn_from_foreign_thread_and_blocking_closure() {
    each_backend(|b| {
        let rt = support::rt(b);
        let h = rt.handle().clone();
        let from_thread = std::thread::spawn(move || h.spawn(async { 1 }))
            .join()
            .unwrap();
        let from_closure = rt
            .block_on(rt.spawn_blocking(|| umcg::spawn(async { 2 })))
            .unwrap();
        assert_eq!(rt.block_on(from_thread).unwrap(), 1);
        assert_eq!(rt.block_on(from_closure).unwrap(), 2);
    });
}

#[test]
fn chained_spawns_complete() {
    each_backend(|b| {
        let rt = support::rt(b);
        fn chain(n: u32) -> umcg::task::JoinHandle<u32> {
            umcg::spawn(async move {
                if n == 0 {
                    0
                } else {
                    chain(n - 1).await.unwrap() + 1
                }
            })
        }
        assert_eq!(rt.block_on(async { chain(500).await.unwrap() }), 500);
    });
}

/// The property UMCG is for: a task that blocks its thread in a syscall does not stall the
/// tasks queued behind it on the same (single) server. The first task waits (in a plain
/// blocking `recv`) for a message that only the second task sends.
#[test]
fn plain_blocking_call_inside_spawn_does_not_stall_others() {
    each_backend(|b: Backend| {
        let rt = support::builder(b).servers(1).build().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let blocked = rt.spawn(async move {
            started_tx.send(()).unwrap();
            rx.recv_timeout(Duration::from_secs(60)).is_ok()
        });
        started.recv().unwrap();
        let sender = rt.spawn(async move { tx.send(()).unwrap() });
        rt.block_on(sender).unwrap();
        assert!(rt.block_on(blocked).unwrap(), "the second task never ran");
    });
}

#[test]
fn work_spreads_over_servers() {
    each_backend(|b| {
        let rt = support::rt(b);
        // Two tasks that each wait for the other to have started: they can only both finish
        // if they run at the same time, on two servers, or one after the other yielding.
        let (a, b2) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let t1 = {
            let (a, b2) = (a.clone(), b2.clone());
            rt.spawn(async move {
                a.store(true, SeqCst);
                while !b2.load(SeqCst) {
                    umcg::yield_now().await;
                }
            })
        };
        let t2 = rt.spawn(async move {
            b2.store(true, SeqCst);
            while !a.load(SeqCst) {
                umcg::yield_now().await;
            }
        });
        rt.block_on(async {
            t1.await.unwrap();
            t2.await.unwrap();
        });
    });
}
