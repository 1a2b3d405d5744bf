//! `block_on` from outside, from other threads, nested in blocking closures, without a runtime.

mod support;

use std::time::Duration;

use support::each_backend;

#[test]
fn block_on_from_many_threads() {
    each_backend(|b| {
        let rt = support::rt(b);
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let h = rt.handle().clone();
                std::thread::spawn(move || {
                    h.block_on(async move { umcg::spawn(async move { i }).await.unwrap() })
                })
            })
            .collect();
        let sum: i32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(sum, 6);
    });
}

#[test]
fn block_on_inside_a_blocking_closure() {
    each_backend(|b| {
        let rt = support::rt(b);
        let h = rt.handle().clone();
        let inner = rt
            .spawn_blocking(move || h.block_on(async { umcg::spawn(async { 5 }).await.unwrap() }));
        assert_eq!(rt.block_on(inner).unwrap(), 5);
    });
}

#[test]
fn block_on_waits_for_a_timer() {
    each_backend(|b| {
        let rt = support::rt(b);
        let start = std::time::Instant::now();
        rt.block_on(umcg::time::sleep(Duration::from_millis(30)));
        assert!(start.elapsed() >= Duration::from_millis(30));
    });
}

#[test]
fn free_block_on_needs_no_runtime() {
    let (tx, rx) = futures::channel::oneshot::channel();
    let t = std::thread::spawn(move || tx.send(3).unwrap());
    assert_eq!(umcg::block_on(rx).unwrap(), 3);
    t.join().unwrap();
}

#[test]
fn enter_guard_sets_and_restores_the_context() {
    each_backend(|b| {
        let rt = support::rt(b);
        assert!(umcg::runtime::Handle::try_current().is_err());
        {
            let _g = rt.enter();
            let h = umcg::spawn(async { 1 });
            assert_eq!(rt.block_on(h).unwrap(), 1);
        }
        assert!(umcg::runtime::Handle::try_current().is_err());
    });
}

/// The worker blocks in `block_on`; its server hands the queues to another worker, which runs
/// the inner task (with tokio this panics).
#[test]
fn block_on_inside_an_async_task() {
    each_backend(|b| {
        let rt = support::builder(b).servers(1).build().unwrap();
        let outer = rt.spawn(async {
            let h = umcg::runtime::Handle::current();
            h.block_on(async { umcg::spawn(async { 6 }).await.unwrap() })
        });
        assert_eq!(rt.block_on(outer).unwrap(), 6);
    });
}
