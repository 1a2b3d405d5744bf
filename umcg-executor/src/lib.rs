//! A futures-compatible async runtime whose threads are UMCG workers.
//!
//! # The problem
//!
//! An async runtime must never block its threads, so blocking work (files, DNS, sleeping
//! syscalls, CPU-heavy code, libraries without async APIs) goes to a separate thread pool: a
//! queue push, a wakeup of another thread and a wakeup back for every call (17–24 µs per
//! `spawn_blocking` on the project's machines), hundreds of threads after a burst, and a task
//! that blocks by accident stalls every task behind it.
//!
//! # The model
//!
//! UMCG (User Managed Concurrency Groups) lets the kernel tell a process *at once, on the same
//! CPU*, that one of its threads blocked. This runtime is built on it:
//!
//! - a **server** per CPU is a token: at most one of its workers runs user code at a time;
//! - the **driver**, one worker per server, polls async tasks and calls `spawn_blocking`
//!   closures inline: a closure that does not block costs a function call;
//! - when the driver **blocks** in the kernel (inside a closure, or in a plain blocking call in
//!   an async task), the server hands the executor loop to another worker of its own and keeps
//!   running tasks; the blocked worker finishes its job when its syscall returns;
//! - idle workers are reused, and retired after [`runtime::Builder::thread_keep_alive`].
//!
//! It runs on a kernel with the project's UMCG series (`kernel/`) or, on any stock Linux, on the
//! userspace emulation of the same ABI (`umcg_sys::emul`); [`Backend`] chooses. The UMCG layer and
//! its ordering rules are documented in the `umcg` module's source; the scheduling policy in one
//! file, `sched/policy.rs`.
//!
//! # Coming from tokio
//!
//! The names are tokio's (`Runtime`, `Builder`, `Handle`, `spawn`, `spawn_blocking`,
//! `block_on`, `JoinHandle`, `JoinError`, `yield_now`, `time::sleep`, `time::timeout`), so code
//! and benches port by changing the path. What differs:
//!
//! - `spawn_blocking` runs the closure inline on a worker, not on another thread; its queue is
//!   bounded, with backpressure ([`task::try_spawn_blocking`]), and the number of threads is
//!   bounded by [`runtime::Builder::max_workers`], retired after
//!   [`runtime::Builder::thread_keep_alive`];
//! - a blocking call inside an async task does not stall the other tasks (the server moves on
//!   to another worker), and `block_on` may be called from inside a task for the same reason;
//! - there is no I/O driver: use blocking std I/O in tasks (see `examples/echo_server.rs`), or
//!   any runtime-independent async I/O crate;
//! - shutdown does not wait for workers blocked in the kernel (they finish in the background).
//!
//! # Limits
//!
//! - Linux x86_64 only (the UMCG ABI is 64-bit).
//! - `spawn_blocking` has a bounded queue ([`task::try_spawn_blocking`] explains the
//!   backpressure); a blocking closure cannot be aborted once it started.
//! - Only blocking closures are preempted when they hog the CPU; an async task that computes for
//!   a long time without awaiting holds its server like on any executor.
//! - On the emulated backend, a blocked worker is noticed a few microseconds late, and a plain
//!   blocking call inside an async task is only as safe as that detection (see `umcg_sys::emul`).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! #[umcg::main]
//! async fn main() {
//!     let io = umcg::spawn_blocking(|| std::fs::read_to_string("/proc/self/stat").unwrap());
//!     let tick = umcg::spawn(async {
//!         umcg::time::sleep(Duration::from_millis(1)).await;
//!         "tick"
//!     });
//!     assert!(!io.await.unwrap().is_empty());
//!     assert_eq!(tick.await.unwrap(), "tick");
//! }
//! ```

#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]

mod blocking;
mod loom;
mod park;
pub mod runtime;
mod sched;
pub mod task;
pub mod time;
mod umcg;

#[cfg(all(test, loom))]
mod loom_tests;

pub use runtime::{block_on, spawn, spawn_blocking, yield_now};
pub use umcg_macros::{main, test};

/// Which implementation of the UMCG ABI a runtime runs on.
///
/// # Examples
///
/// ```
/// use umcg::Backend;
/// let rt = umcg::runtime::Builder::new().backend(Backend::Auto).build().unwrap();
/// let name = rt.handle().metrics().backend;
/// assert!(name == "kernel" || name == "emulated");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The kernel's UMCG when the running kernel advertises it, the emulation otherwise.
    #[default]
    Auto,
    /// The kernel's UMCG syscalls; building fails with `Unsupported` on a kernel without them.
    Kernel,
    /// The userspace emulation, on any kernel.
    Emulated,
}
