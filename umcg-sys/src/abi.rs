//! `#[repr(C)]` mirror of the series' `include/uapi/linux/umcg.h`.
//!
//! Names follow the kernel header word for word (`umcg_task`, `UMCG_*`), so code written against
//! the C header reads the same in Rust. The layout is checked at compile time below and, when a
//! kernel tree with the series applied is available, against the header itself
//! (`tests/abi_header.rs`).

#![allow(non_camel_case_types)]

/// The per-thread UMCG control block shared between a task and the kernel (64 bytes, 64-byte
/// aligned).
///
/// A thread registers one of these with [`UMCG_CTL_REGISTER`]; from then on the kernel (or the
/// emulation) and user space both read and write it. `state` and the list heads are changed with
/// atomic read-modify-write operations only; see the field docs for who writes what.
///
/// # Examples
///
/// ```
/// use umcg_sys::abi::{umcg_task, UMCG_TASK_RUNNING};
///
/// let t = umcg_task::server(42);
/// assert_eq!(t.state, UMCG_TASK_RUNNING);
/// assert_eq!(t.server_tid, 42);
/// assert_eq!(core::mem::size_of::<umcg_task>(), 64);
/// ```
#[repr(C, align(64))]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct umcg_task {
    /// Bits 0–7: task state (`UMCG_TASK_*`); bits 8–15: state flags (`UMCG_TF_*`); bits 16–31
    /// belong to user space and are preserved by every kernel transition.
    pub state: u32,
    /// The tid to switch to in `umcg_wait`, 0 for none. The kernel ORs in [`UMCG_TID_RUNNING`]
    /// once it has woken that task.
    pub next_tid: u32,
    /// The server this task belongs to; a server names itself.
    pub server_tid: u32,
    /// Reserved, must be zero at registration.
    pub __hole: [u32; 1],
    /// Time of the last transition to BLOCKED, in nanoseconds of the registered clock.
    pub blocked_ts: u64,
    /// Time of the last transition to RUNNABLE, in nanoseconds of the registered clock.
    pub runnable_ts: u64,
    /// Head (on a server) or link (on a worker) of the blocked-workers list; `UMCG_CTL_MULTI`
    /// servers only. Values are addresses of `umcg_task`s.
    pub blocked_workers_ptr: u64,
    /// Head (on a server) or link (on a worker) of the runnable-workers list. Values are
    /// addresses of `umcg_task`s.
    pub runnable_workers_ptr: u64,
    /// Reserved, must be zero at registration.
    pub __zero: [u64; 2],
}

impl umcg_task {
    /// A control block ready to register a server whose tid is `tid`: state RUNNING,
    /// `server_tid` = itself, everything else zero.
    ///
    /// # Examples
    ///
    /// ```
    /// let t = umcg_sys::abi::umcg_task::server(7);
    /// assert_eq!(t.server_tid, 7);
    /// ```
    pub const fn server(tid: u32) -> Self {
        Self::with_state(UMCG_TASK_RUNNING, tid)
    }

    /// A control block ready to register a worker of `server_tid`: state BLOCKED, everything
    /// else zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use umcg_sys::abi::{umcg_task, UMCG_TASK_BLOCKED};
    /// assert_eq!(umcg_task::worker(7).state, UMCG_TASK_BLOCKED);
    /// ```
    pub const fn worker(server_tid: u32) -> Self {
        Self::with_state(UMCG_TASK_BLOCKED, server_tid)
    }

    const fn with_state(state: u32, server_tid: u32) -> Self {
        Self {
            state,
            next_tid: 0,
            server_tid,
            __hole: [0],
            blocked_ts: 0,
            runnable_ts: 0,
            blocked_workers_ptr: 0,
            runnable_workers_ptr: 0,
            __zero: [0; 2],
        }
    }
}

/// Not registered.
pub const UMCG_TASK_NONE: u32 = 0x0000;
/// Running user code (a server between waits, or the worker a server switched to).
pub const UMCG_TASK_RUNNING: u32 = 0x0001;
/// Ready to run, waiting for a server to switch to it (or a server waiting in `umcg_wait`).
pub const UMCG_TASK_RUNNABLE: u32 = 0x0002;
/// A worker that blocked in the kernel.
pub const UMCG_TASK_BLOCKED: u32 = 0x0003;
/// Mask of the task-state byte of `state`.
pub const UMCG_TASK_MASK: u32 = 0x00ff;

/// User space asks for the RUNNING worker to be preempted (set by cmpxchg from exactly RUNNING,
/// then `umcg_kick`).
pub const UMCG_TF_PREEMPT: u32 = 0x0100;
/// Set together with RUNNABLE by a task that is about to call `umcg_wait`.
pub const UMCG_TF_COND_WAIT: u32 = 0x0200;
/// Mask of the state-flag byte of `state`.
pub const UMCG_TF_MASK: u32 = 0xff00;

/// Required alignment of a `umcg_task`.
pub const UMCG_TASK_ALIGN: usize = 64;

/// Set by the kernel in `next_tid` once it has woken that task.
pub const UMCG_TID_RUNNING: u32 = 0x8000_0000;
/// Tids are 30 bits wide.
pub const UMCG_TID_MASK: u32 = 0x3fff_ffff;

/// `umcg_ctl` command: register the calling thread.
pub const UMCG_CTL_REGISTER: u32 = 0x00001;
/// `umcg_ctl` command: unregister the calling thread.
pub const UMCG_CTL_UNREGISTER: u32 = 0x00002;
/// `umcg_ctl` flag: the caller is (or registers as) a worker.
pub const UMCG_CTL_WORKER: u32 = 0x10000;
/// `umcg_ctl` server flag: several workers may run at once; blocked workers are pushed on
/// `blocked_workers_ptr`.
pub const UMCG_CTL_MULTI: u32 = 0x20000;
/// `umcg_ctl` server flag: a runnable enqueue does not wake a busy server (`next_tid != 0`).
pub const UMCG_CTL_COOP: u32 = 0x40000;
/// Mask of the command byte of `umcg_ctl` flags.
pub const UMCG_CTL_CMD_MASK: u32 = 0xff;

/// `umcg_wait` flag (workers): put self on the server's runnable list and wake it before waiting.
pub const UMCG_WAIT_ENQUEUE: u32 = 0x0001;

/// The ABI version this crate implements, as advertised by the kernel in
/// `/sys/kernel/umcg/version`.
pub const UMCG_ABI_VERSION: u32 = 1;

/// Extracts the task state (`UMCG_TASK_*`) from a `state` word.
///
/// # Examples
///
/// ```
/// use umcg_sys::abi::*;
/// assert_eq!(task_state(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT | 0x1_0000), UMCG_TASK_RUNNABLE);
/// ```
pub const fn task_state(state: u32) -> u32 {
    state & UMCG_TASK_MASK
}

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<umcg_task>() == 64);
    assert!(align_of::<umcg_task>() == UMCG_TASK_ALIGN);
    assert!(offset_of!(umcg_task, state) == 0);
    assert!(offset_of!(umcg_task, next_tid) == 4);
    assert!(offset_of!(umcg_task, server_tid) == 8);
    assert!(offset_of!(umcg_task, __hole) == 12);
    assert!(offset_of!(umcg_task, blocked_ts) == 16);
    assert!(offset_of!(umcg_task, runnable_ts) == 24);
    assert!(offset_of!(umcg_task, blocked_workers_ptr) == 32);
    assert!(offset_of!(umcg_task, runnable_workers_ptr) == 40);
    assert!(offset_of!(umcg_task, __zero) == 48);
};
