//! The UMCG (User Managed Concurrency Groups) ABI for Rust.
//!
//! UMCG lets a process schedule its own threads: a *server* thread runs one *worker* thread at a
//! time; when the worker blocks in the kernel, its server gets the CPU back at once and can run
//! something else; when the blocking call completes, the worker becomes RUNNABLE and waits until a
//! server switches to it again.
//!
//! This crate holds no policy:
//!
//! - [`abi`]: `struct umcg_task` and the `UMCG_*` constants, word for word the kernel header;
//! - [`detect`]: positive detection of a UMCG kernel (never a blind syscall-number probe);
//! - [`raw`]: the three syscalls, returning `io::Result`;
//! - [`backend`]: the [`backend::Umcg`] trait over the kernel and the userspace emulation;
//! - [`emul`]: the userspace emulation of the ABI for kernels without UMCG;
//! - [`measure`]: the smallest correct server loop, timing a backend's raw switch;
//! - [`cpu`]: the CPUs the calling thread may run on, and pinning it to one.
//!
//! # Examples
//!
//! ```
//! use umcg_sys::abi::umcg_task;
//! let t = umcg_task::server(umcg_sys::gettid());
//! assert_eq!(t.server_tid, umcg_sys::gettid());
//! ```

#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod backend;
pub mod cpu;
pub mod detect;
pub mod emul;
pub mod measure;
pub mod raw;

/// The calling thread's kernel tid.
///
/// # Examples
///
/// ```
/// let tid = umcg_sys::gettid();
/// assert!(tid > 0);
/// // The main thread's tid is the process id.
/// if std::thread::current().name() == Some("main") { assert_eq!(tid as i32, std::process::id() as i32); }
/// ```
pub fn gettid() -> u32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::gettid() as u32 }
}
