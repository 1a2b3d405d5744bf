//! Futex wait and wake on a `u32` word of this process (the `state` word of a `umcg_task`).
//!
//! Every park and every hand-off of the emulation goes through these two calls: a waiter sleeps
//! on its own `state` word until it reads RUNNING; a waker changes that word with a cmpxchg
//! first and then wakes it, so a wake can never be lost between the waiter's check and its
//! sleep (the kernel compares the word with the value the waiter last saw).

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleeps while `*word == expected`, at most `timeout` (None: no limit). Returns on a wake, a
/// signal, a timeout or a changed word; the caller re-checks the word in every case. Returns
/// whether a signal interrupted the sleep.
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a live, aligned u32 for the duration of the call; FUTEX_WAIT only reads
    // it, and `ts_ptr` is null or points to `ts`, which outlives the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            ts_ptr,
        )
    };
    r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
}

/// Wakes every thread sleeping on `word`.
pub(crate) fn wake(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE does not access the word's memory; it only uses its address as a key.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::MAX,
        );
    }
}
