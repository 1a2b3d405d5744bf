//! `JoinHandle::abort`: pending, running, completed tasks, and blocking closures.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};

use support::each_backend;

struct CountDrop(Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn abort_pending_task_drops_its_future() {
    each_backend(|b| {
        let rt = support::rt(b);
        let drops = Arc::new(AtomicUsize::new(0));
        let guard = CountDrop(drops.clone());
        let h = rt.spawn(async move {
            let _g = guard;
            std::future::pending::<()>().await
        });
        h.abort();
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
        assert_eq!(drops.load(SeqCst), 1);
    });
}

#[test]
fn abort_after_completion_keeps_the_output() {
    each_backend(|b| {
        let rt = support::rt(b);
        let h = rt.spawn(async { 5 });
        while !h.is_finished() {
            std::thread::yield_now();
        }
        h.abort();
        assert_eq!(rt.block_on(h).unwrap(), 5);
    });
}

#[test]
fn abort_from_inside_a_running_task() {
    each_backend(|b| {
        let rt = support::rt(b);
        let r = rt.block_on(async {
            let victim = umcg::spawn(async {
                loop {
                    umcg::yield_now().await;
                }
            });
            umcg::yield_now().await;
            victim.abort();
            victim.await
        });
        assert!(r.unwrap_err().is_cancelled());
    });
}

#[test]
fn abort_blocking_closure_before_it_starts() {
    each_backend(|b| {
        // One worker in all: while it is stuck in the first closure the second cannot start.
        let rt = support::builder(b)
            .servers(1)
            .max_workers(1)
            .build()
            .unwrap();
        let (release, wait) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let first = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            wait.recv().unwrap();
        });
        started.recv().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let second = rt.spawn_blocking(move || r.fetch_add(1, SeqCst));
        second.abort();
        release.send(()).unwrap();
        assert!(rt.block_on(second).unwrap_err().is_cancelled());
        rt.block_on(first).unwrap();
        assert_eq!(ran.load(SeqCst), 0);
    });
}
