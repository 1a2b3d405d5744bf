//! `spawn_blocking`: results, the bounded queue and its backpressure, preemption of closures
//! that hog the CPU, and clear errors when threads cannot be created.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use support::each_backend;
use umcg::task::TrySpawnError;

#[test]
fn many_blocking_closures_return_their_results() {
    each_backend(|b| {
        let rt = support::rt(b);
        let hs: Vec<_> = (0..1000u64)
            .map(|i| rt.spawn_blocking(move || i * 2))
            .collect();
        let sum: u64 = rt.block_on(async {
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, 999 * 1000);
    });
}

/// A closure blocked in the kernel does not hold its (single) server: it waits for a message
/// that only an async task spawned after it can send.
#[test]
fn blocked_closures_do_not_stall_async_tasks() {
    each_backend(|b| {
        let rt = support::builder(b).servers(1).build().unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let blocked = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            rx.recv_timeout(Duration::from_secs(60)).is_ok()
        });
        started.recv().unwrap();
        let sender = rt.spawn(async move { tx.send(()).unwrap() });
        rt.block_on(sender).unwrap();
        assert!(rt.block_on(blocked).unwrap(), "the async task never ran");
    });
}

#[test]
fn cpu_bound_closure_is_preempted_for_async_tasks() {
    each_backend(|b| {
        let rt = support::builder(b)
            .servers(1)
            .blocking_slice(Duration::from_millis(2))
            .build()
            .unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        // Spins without ever entering the kernel until an async task sets the flag: only
        // preemption lets that task run on the single server.
        let spinner = rt.spawn_blocking(move || {
            while !f.load(SeqCst) {
                std::hint::spin_loop();
            }
        });
        rt.block_on(umcg::time::sleep(Duration::from_millis(10)));
        let setter = rt.spawn(async move { flag.store(true, SeqCst) });
        rt.block_on(setter).unwrap();
        rt.block_on(spinner).unwrap();
    });
}

/// One worker, stuck in a closure: the queue (capacity 2) fills and reports Full.
#[test]
fn full_queue_reports_full_and_gives_the_closure_back() {
    each_backend(|b| {
        let rt = support::builder(b)
            .servers(1)
            .max_workers(1)
            .blocking_queue_capacity(2)
            .build()
            .unwrap();
        let (release, wait) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let first = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            wait.recv().unwrap();
        });
        started.recv().unwrap();
        let queued: Vec<_> = (0..2)
            .map(|i| rt.handle().try_spawn_blocking(move || i).unwrap())
            .collect();
        assert_eq!(rt.handle().metrics().blocking_queue_depth, 2);
        let back = match rt.handle().try_spawn_blocking(|| 99) {
            Err(TrySpawnError::Full(f)) => f,
            other => panic!("expected Full, got {:?}", other.map(|_| ())),
        };
        assert_eq!(back(), 99);
        release.send(()).unwrap();
        rt.block_on(first).unwrap();
        for (i, h) in queued.into_iter().enumerate() {
            assert_eq!(rt.block_on(h).unwrap(), i);
        }
    });
}

/// A thread outside the runtime that calls `spawn_blocking` on a full queue waits for room
/// instead of growing the queue.
#[test]
fn spawn_blocking_from_outside_waits_when_full() {
    each_backend(|b| {
        let rt = support::builder(b)
            .servers(1)
            .max_workers(1)
            .blocking_queue_capacity(1)
            .build()
            .unwrap();
        let (release, wait) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let first = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            wait.recv().unwrap();
        });
        started.recv().unwrap();
        let second = rt.spawn_blocking(|| 2);
        let h = rt.handle().clone();
        let entered = Arc::new(AtomicUsize::new(0));
        let e = entered.clone();
        let third = std::thread::spawn(move || {
            let j = h.spawn_blocking(|| 3);
            e.store(1, SeqCst);
            j
        });
        // The third caller cannot have got in: the queue holds the second closure.
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(entered.load(SeqCst), 0);
        assert_eq!(rt.handle().metrics().blocking_queue_depth, 1);
        release.send(()).unwrap();
        let third = third.join().unwrap();
        rt.block_on(first).unwrap();
        assert_eq!(rt.block_on(second).unwrap(), 2);
        assert_eq!(rt.block_on(third).unwrap(), 3);
    });
}

#[test]
fn thread_creation_failure_is_an_error_not_a_panic() {
    each_backend(|b| {
        let err = support::builder(b)
            .thread_stack_size(1 << 60)
            .build()
            .unwrap_err();
        assert!(!err.to_string().is_empty());
    });
}

#[test]
fn metrics_report_threads_and_queue() {
    each_backend(|b| {
        let rt = support::rt(b);
        rt.block_on(rt.spawn_blocking(|| ())).unwrap();
        let m = rt.handle().metrics();
        assert_eq!(m.servers, 2);
        assert!(m.workers >= 2 && m.workers <= 512);
        assert_eq!(m.blocking_queue_depth, 0);
        assert_eq!(m.thread_spawn_failures, 0);
    });
}
