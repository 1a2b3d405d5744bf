//! Shutdown: completes with workers blocked in syscalls; every task resolves; late spawns are
//! cancelled.

mod support;

use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::mpsc;
use std::time::Duration;

use support::each_backend;

fn pipe() -> (std::fs::File, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) writes two fds into the array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both fds are fresh and owned by nobody else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    (r.into(), w.into())
}

#[test]
fn drop_completes_with_a_worker_blocked_in_read() {
    each_backend(|b| {
        let rt = support::rt(b);
        let (mut r, w) = pipe();
        let (started_tx, started) = mpsc::channel();
        let reader = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            let mut buf = [0u8; 1];
            std::io::Read::read(&mut r, &mut buf).unwrap()
        });
        started.recv().unwrap();
        drop(rt);
        // The worker is still in read(): the handle resolves once it returns.
        drop(w);
        assert_eq!(futures::executor::block_on(reader).unwrap(), 0);
    });
}

#[test]
fn drop_completes_with_a_task_blocked_in_read() {
    each_backend(|b| {
        let rt = support::rt(b);
        let (mut r, w) = pipe();
        let (started_tx, started) = mpsc::channel();
        let _reader = rt.spawn(async move {
            started_tx.send(()).unwrap();
            let mut buf = [0u8; 1];
            std::io::Read::read(&mut r, &mut buf).unwrap()
        });
        started.recv().unwrap();
        drop(rt);
        drop(w);
    });
}

#[test]
fn pending_tasks_are_cancelled_not_lost() {
    each_backend(|b| {
        let rt = support::rt(b);
        let pending: Vec<_> = (0..100)
            .map(|_| rt.spawn(std::future::pending::<()>()))
            .collect();
        let sleeping = rt.spawn(umcg::time::sleep(Duration::from_secs(3600)));
        drop(rt);
        for h in pending {
            assert!(futures::executor::block_on(h).unwrap_err().is_cancelled());
        }
        assert!(futures::executor::block_on(sleeping)
            .unwrap_err()
            .is_cancelled());
    });
}

#[test]
fn spawn_after_shutdown_is_cancelled() {
    each_backend(|b| {
        let rt = support::rt(b);
        let h = rt.handle().clone();
        rt.shutdown_background();
        let late = h.spawn(async { 1 });
        assert!(futures::executor::block_on(late)
            .unwrap_err()
            .is_cancelled());
        let late_blocking = h.spawn_blocking(|| 1);
        assert!(futures::executor::block_on(late_blocking)
            .unwrap_err()
            .is_cancelled());
    });
}

#[test]
fn shutdown_timeout_returns_while_a_closure_spins() {
    each_backend(|b| {
        let rt = support::builder(b).servers(1).build().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let (started_tx, started) = mpsc::channel();
        let spinner = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            while !s.load(std::sync::atomic::Ordering::SeqCst) {
                std::hint::spin_loop();
            }
        });
        started.recv().unwrap();
        rt.shutdown_timeout(Duration::from_millis(100));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        futures::executor::block_on(spinner).unwrap();
    });
}

#[test]
fn many_runtimes_come_and_go() {
    each_backend(|b| {
        for _ in 0..20 {
            let rt = support::rt(b);
            assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
            assert_eq!(rt.block_on(rt.spawn_blocking(|| 2)).unwrap(), 2);
        }
    });
}
