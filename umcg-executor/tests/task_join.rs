//! Joining: outputs, detach on drop, joining from other executors and threads.

mod support;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use support::each_backend;

#[test]
fn join_returns_the_output() {
    each_backend(|b| {
        let rt = support::rt(b);
        let h = rt.spawn(async { vec![1, 2, 3] });
        assert_eq!(rt.block_on(h).unwrap(), vec![1, 2, 3]);
    });
}

#[test]
fn dropped_handle_detaches_the_task() {
    each_backend(|b| {
        let rt = support::rt(b);
        let (tx, rx) = futures::channel::oneshot::channel();
        drop(rt.spawn(async move {
            umcg::yield_now().await;
            tx.send(()).unwrap();
        }));
        rt.block_on(rx).unwrap();
    });
}

#[test]
fn join_from_a_foreign_executor_and_thread() {
    each_backend(|b| {
        let rt = support::rt(b);
        let h = rt.spawn(async { 11 });
        let v = std::thread::spawn(move || futures::executor::block_on(h))
            .join()
            .unwrap();
        assert_eq!(v.unwrap(), 11);
    });
}

#[test]
fn is_finished_after_completion() {
    each_backend(|b| {
        let rt = support::rt(b);
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let h = rt.spawn(async move { r.store(true, SeqCst) });
        while !h.is_finished() {
            std::thread::yield_now();
        }
        assert!(ran.load(SeqCst));
        rt.block_on(h).unwrap();
    });
}

#[test]
fn ids_are_unique_and_match_errors() {
    each_backend(|b| {
        let rt = support::rt(b);
        let a = rt.spawn(std::future::pending::<()>());
        let c = rt.spawn(async {});
        assert_ne!(a.id(), c.id());
        let id = a.id();
        a.abort();
        assert_eq!(rt.block_on(a).unwrap_err().id(), id);
    });
}
