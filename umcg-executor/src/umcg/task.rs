//! [`AtomicTask`]: a `struct umcg_task` that user space reads and writes with atomics.
//!
//! The kernel (or the emulation) changes `state`, `next_tid` and the list heads at any time;
//! plain loads and stores from Rust would be data races. This type has the exact layout of
//! `umcg_sys::abi::umcg_task` (checked below) with every field atomic, and hands the kernel a
//! `*mut umcg_task` to the same memory.

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};

use umcg_sys::abi::{self, umcg_task};

/// `struct umcg_task` with atomic fields (64 bytes, 64-byte aligned).
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub(crate) struct AtomicTask {
    pub(crate) state: AtomicU32,
    pub(crate) next_tid: AtomicU32,
    pub(crate) server_tid: AtomicU32,
    hole: AtomicU32,
    blocked_ts: AtomicU64,
    runnable_ts: AtomicU64,
    blocked_workers_ptr: AtomicU64,
    pub(crate) runnable_workers_ptr: AtomicU64,
    zero: [AtomicU64; 2],
}

const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<AtomicTask>() == size_of::<umcg_task>());
    assert!(align_of::<AtomicTask>() == align_of::<umcg_task>());
    assert!(offset_of!(AtomicTask, state) == offset_of!(umcg_task, state));
    assert!(offset_of!(AtomicTask, next_tid) == offset_of!(umcg_task, next_tid));
    assert!(offset_of!(AtomicTask, server_tid) == offset_of!(umcg_task, server_tid));
    assert!(offset_of!(AtomicTask, hole) == offset_of!(umcg_task, __hole));
    assert!(offset_of!(AtomicTask, blocked_ts) == offset_of!(umcg_task, blocked_ts));
    assert!(offset_of!(AtomicTask, runnable_ts) == offset_of!(umcg_task, runnable_ts));
    assert!(
        offset_of!(AtomicTask, blocked_workers_ptr) == offset_of!(umcg_task, blocked_workers_ptr)
    );
    assert!(
        offset_of!(AtomicTask, runnable_workers_ptr) == offset_of!(umcg_task, runnable_workers_ptr)
    );
    assert!(offset_of!(AtomicTask, zero) == offset_of!(umcg_task, __zero));
};

impl AtomicTask {
    /// Resets the block for a registration: `state`, `server_tid`, everything else zero.
    /// Only before registering (no one else reads it then).
    pub(crate) fn prepare(&self, state: u32, server_tid: u32) {
        self.next_tid.store(0, Relaxed);
        self.server_tid.store(server_tid, Relaxed);
        self.hole.store(0, Relaxed);
        self.blocked_ts.store(0, Relaxed);
        self.runnable_ts.store(0, Relaxed);
        self.blocked_workers_ptr.store(0, Relaxed);
        self.runnable_workers_ptr.store(0, Relaxed);
        self.zero[0].store(0, Relaxed);
        self.zero[1].store(0, Relaxed);
        self.state.store(state, SeqCst);
    }

    /// The pointer the kernel keeps after registration.
    pub(crate) fn as_ptr(&self) -> *mut umcg_task {
        (self as *const Self).cast_mut().cast()
    }

    /// This block's address, as list links name it.
    pub(crate) fn addr(&self) -> u64 {
        self as *const Self as u64
    }

    /// `state & UMCG_TASK_MASK`, and the whole word.
    pub(crate) fn load_state(&self) -> (u32, u32) {
        let s = self.state.load(SeqCst);
        (abi::task_state(s), s)
    }
}
