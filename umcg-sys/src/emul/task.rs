//! Atomic access to a registered `umcg_task` in user memory.
//!
//! The emulation plays the kernel's part on the same 64-byte struct the user registered:
//! `state` and the list heads only change by atomic read-modify-write, timestamps and the
//! `UMCG_TID_RUNNING` write-back are plain (atomic) stores, as in the kernel.

use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::abi::{umcg_task, UMCG_TASK_MASK, UMCG_TF_COND_WAIT, UMCG_TF_PREEMPT};

/// A registered task's struct. Valid from registration until unregistration or thread exit
/// (the contract of `Umcg::ctl`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserTask(*mut umcg_task);

// SAFETY: the struct is shared memory by contract; all access through this handle is atomic.
unsafe impl Send for UserTask {}
// SAFETY: as above.
unsafe impl Sync for UserTask {}

impl UserTask {
    /// Wraps a registered pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be non-null, 64-byte aligned, and stay valid as long as the handle is used.
    pub(crate) unsafe fn new(ptr: *mut umcg_task) -> Self {
        Self(ptr)
    }

    /// The struct's address, which is also its list-node value.
    pub(crate) fn addr(&self) -> u64 {
        self.0 as u64
    }

    fn u32_at(&self, offset: usize) -> &AtomicU32 {
        // SAFETY: `offset` is a 4-byte aligned field inside the 64-byte struct, which is valid
        // (constructor contract); user space shares it, hence atomics.
        unsafe { &*self.0.cast::<u8>().add(offset).cast::<AtomicU32>() }
    }

    fn u64_at(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: as `u32_at`, for an 8-byte aligned field.
        unsafe { &*self.0.cast::<u8>().add(offset).cast::<AtomicU64>() }
    }

    pub(crate) fn state(&self) -> &AtomicU32 {
        self.u32_at(0)
    }

    pub(crate) fn next_tid(&self) -> &AtomicU32 {
        self.u32_at(4)
    }

    pub(crate) fn server_tid(&self) -> u32 {
        self.u32_at(8).load(Ordering::Relaxed)
    }

    pub(crate) fn set_blocked_ts(&self, ns: i64) {
        self.u64_at(16).store(ns as u64, Ordering::Relaxed);
    }

    pub(crate) fn set_runnable_ts(&self, ns: i64) {
        self.u64_at(24).store(ns as u64, Ordering::Relaxed);
    }

    pub(crate) fn blocked_link(&self) -> &AtomicU64 {
        self.u64_at(32)
    }

    pub(crate) fn runnable_link(&self) -> &AtomicU64 {
        self.u64_at(40)
    }

    /// The task state byte now.
    pub(crate) fn task_state(&self) -> u32 {
        self.state().load(Ordering::SeqCst) & UMCG_TASK_MASK
    }

    /// The kernel's transition: cmpxchg loop that succeeds only while the task state byte is
    /// `from`, installs `to`, clears `TF_PREEMPT` and `TF_COND_WAIT`, and keeps every other bit
    /// (user bits 16–31). `EAGAIN` if the state is not `from`.
    pub(crate) fn transition(&self, from: u32, to: u32) -> io::Result<u32> {
        self.transition_if(|s| s & UMCG_TASK_MASK == from, to)
    }

    /// As [`Self::transition`], with a predicate on the whole word.
    pub(crate) fn transition_if(&self, ok: impl Fn(u32) -> bool, to: u32) -> io::Result<u32> {
        let clear = UMCG_TASK_MASK | UMCG_TF_PREEMPT | UMCG_TF_COND_WAIT;
        self.state()
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                ok(s).then_some((s & !clear) | to)
            })
            .map_err(|_| io::Error::from_raw_os_error(libc::EAGAIN))
    }
}

/// Copies the 64 bytes at `ptr` through the kernel (`process_vm_readv` on ourselves, or a pipe
/// where that is refused), so an unmapped address is `EFAULT` instead of a crash.
pub(crate) fn read_checked(ptr: *const umcg_task) -> io::Result<umcg_task> {
    let mut copy = umcg_task::default();
    let local = libc::iovec {
        iov_base: (&mut copy as *mut umcg_task).cast(),
        iov_len: 64,
    };
    let remote = libc::iovec {
        iov_base: ptr as *mut libc::c_void,
        iov_len: 64,
    };
    // SAFETY: `local` points to our own 64-byte buffer; the kernel validates `remote`.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    if n == 64 {
        return Ok(copy);
    }
    if io::Error::last_os_error().raw_os_error() != Some(libc::EFAULT) {
        pipe_copy(ptr.cast(), (&mut copy as *mut umcg_task).cast(), 64)?;
        return Ok(copy);
    }
    Err(io::Error::from_raw_os_error(libc::EFAULT))
}

/// Copies `len` bytes from `src` to `dst` through a fresh pipe: the kernel reports an
/// inaccessible side as `EFAULT` (the fallback where `process_vm_readv`/`writev` are refused,
/// e.g. by seccomp).
fn pipe_copy(src: *const u8, dst: *mut u8, len: usize) -> io::Result<()> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two fds.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel validates `src` (EFAULT); the fds are the pipe made above.
    let wrote = unsafe { libc::write(fds[1], src.cast(), len) };
    let read = if wrote == len as isize {
        // SAFETY: the kernel validates `dst` (EFAULT).
        unsafe { libc::read(fds[0], dst.cast(), len) }
    } else {
        -1
    };
    // SAFETY: closes the pipe made above.
    unsafe { (libc::close(fds[0]), libc::close(fds[1])) };
    if read == len as isize {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(libc::EFAULT))
    }
}

/// Stores 0 into `__zero[0]` through the kernel, as the kernel's pin probe does: `EFAULT` if
/// the struct is not writable.
pub(crate) fn probe_writable(ptr: *mut umcg_task) -> io::Result<()> {
    let zero = 0u64;
    let local = libc::iovec {
        iov_base: (&zero as *const u64).cast_mut().cast(),
        iov_len: 8,
    };
    let remote = libc::iovec {
        iov_base: ptr.cast::<u8>().wrapping_add(48).cast(),
        iov_len: 8,
    };
    // SAFETY: `local` is our own readable 8-byte buffer; the kernel validates `remote`.
    let n = unsafe { libc::process_vm_writev(libc::getpid(), &local, 1, &remote, 1, 0) };
    if n == 8 {
        return Ok(());
    }
    if io::Error::last_os_error().raw_os_error() != Some(libc::EFAULT) {
        let dst = ptr.cast::<u8>().wrapping_add(48);
        return pipe_copy((&zero as *const u64).cast(), dst, 8);
    }
    Err(io::Error::from_raw_os_error(libc::EFAULT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{UMCG_TASK_BLOCKED, UMCG_TASK_RUNNABLE, UMCG_TASK_RUNNING};

    #[test]
    fn transition_keeps_user_bits_and_clears_flags() {
        let mut t = Box::new(umcg_task::server(1));
        t.state = UMCG_TASK_RUNNING | UMCG_TF_PREEMPT | 0xabcd_0000;
        // SAFETY: `t` outlives the handle.
        let h = unsafe { UserTask::new(&mut *t) };
        assert_eq!(
            h.transition(UMCG_TASK_RUNNABLE, UMCG_TASK_RUNNING)
                .unwrap_err()
                .raw_os_error(),
            Some(libc::EAGAIN)
        );
        h.transition(UMCG_TASK_RUNNING, UMCG_TASK_BLOCKED).unwrap();
        assert_eq!(
            h.state().load(Ordering::SeqCst),
            UMCG_TASK_BLOCKED | 0xabcd_0000
        );
    }

    #[test]
    fn pipe_copy_reports_efault() {
        let src = [7u8; 8];
        let mut dst = [0u8; 8];
        pipe_copy(src.as_ptr(), dst.as_mut_ptr(), 8).unwrap();
        assert_eq!(dst, src);
        let bad = 8usize as *mut u8;
        assert_eq!(
            pipe_copy(bad, dst.as_mut_ptr(), 8)
                .unwrap_err()
                .raw_os_error(),
            Some(libc::EFAULT)
        );
        assert_eq!(
            pipe_copy(src.as_ptr(), bad, 8).unwrap_err().raw_os_error(),
            Some(libc::EFAULT)
        );
    }

    #[test]
    fn unmapped_memory_is_efault() {
        // SAFETY: maps one inaccessible page, unmapped below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(read_checked(p.cast()).is_ok(), "readable page");
        let err = probe_writable(p.cast()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EFAULT), "read-only page");
        // SAFETY: the mapping made above.
        unsafe { libc::mprotect(p, 4096, libc::PROT_NONE) };
        let err = read_checked(p.cast()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EFAULT));
        // SAFETY: the mapping made above.
        unsafe { libc::munmap(p, 4096) };
    }
}
