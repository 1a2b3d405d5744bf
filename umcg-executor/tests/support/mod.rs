//! Helpers shared by the integration tests: run a test body on every backend, with a watchdog
//! so a hung test fails instead of hanging the suite.

#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

use umcg::runtime::{Builder, Runtime};
use umcg::Backend;

/// How long one test body may take on one backend before it counts as hung (generous: the
/// guest runs the suite under QEMU TCG, many times slower than the host).
pub const HANG: Duration = Duration::from_secs(180);

/// The backends to test on this machine:
///
/// - `UMCG_TEST_BACKENDS=emulated,kernel` (any subset) when set;
/// - else, with `UMCG_REQUIRE_KERNEL=1` (the UMCG guest), the kernel backend and then the
///   emulated one, and a failure if the kernel does not advertise UMCG;
/// - else the emulated backend, plus the kernel backend when the kernel advertises UMCG, or a
///   loud SKIP line for it.
pub fn backends() -> Vec<Backend> {
    let kernel = umcg_sys::detect::kernel_abi().is_some();
    if let Ok(list) = std::env::var("UMCG_TEST_BACKENDS") {
        return list
            .split(',')
            .map(|b| match b.trim() {
                "emulated" => Backend::Emulated,
                "kernel" => Backend::Kernel,
                other => panic!("UMCG_TEST_BACKENDS: unknown backend {other:?}"),
            })
            .collect();
    }
    if std::env::var("UMCG_REQUIRE_KERNEL").as_deref() == Ok("1") {
        assert!(
            kernel,
            "UMCG_REQUIRE_KERNEL=1 but the kernel does not advertise UMCG"
        );
        return vec![Backend::Kernel, Backend::Emulated];
    }
    if !kernel {
        eprintln!("SKIP kernel backend: this kernel does not advertise UMCG (/sys/kernel/umcg)");
        return vec![Backend::Emulated];
    }
    vec![Backend::Emulated, Backend::Kernel]
}

/// A builder for `backend` with test-friendly defaults (two servers).
pub fn builder(backend: Backend) -> Builder {
    let mut b = Builder::new();
    b.backend(backend).servers(2);
    b
}

/// A runtime for `backend` with the defaults of [`builder`].
pub fn rt(backend: Backend) -> Runtime {
    builder(backend).build().expect("runtime")
}

/// Runs `body` once per backend, each on its own thread under the [`HANG`] watchdog.
pub fn each_backend(body: fn(Backend)) {
    for backend in backends() {
        within(HANG, move || body(backend), &format!("{backend:?} backend"));
    }
}

/// Runs `f` on a new thread and fails if it panics or does not finish within `limit`.
pub fn within(limit: Duration, f: impl FnOnce() + Send + 'static, what: &str) {
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(limit) {
        Ok(()) => t.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(p) = t.join() {
                std::panic::resume_unwind(p);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: test hung for {limit:?}"),
    }
}

/// Threads of this process, from /proc/self/task.
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}
