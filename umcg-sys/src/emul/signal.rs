//! The park signal: how the emulation stops a worker that runs user code while it should not.
//!
//! The kernel keeps a RUNNABLE worker off the CPU on its way back to user space. A userspace
//! emulation cannot: a worker whose blocking syscall returned, or whose server asked for
//! preemption (`UMCG_TF_PREEMPT` + kick), keeps running until it enters the emulation again.
//! To shorten that window the emulation sends it `SIGURG` (default action: ignore, so a stray
//! one is harmless) with a handler that runs the return-to-user hook: a preempted worker
//! becomes RUNNABLE and parks, a worker made RUNNABLE by the wake hook parks, until a server
//! makes it RUNNING.
//!
//! The handler is installed with `SA_RESTART` only if `SIGURG` has no handler yet. A signal that
//! lands while the worker is blocked again interrupts that syscall: calls that restart under
//! `SA_RESTART` (read, write, futex waits) are unaffected, `nanosleep`, `poll` and friends
//! return `EINTR` (documented limit).

use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};

use super::entry::Entry;
use super::hook;

thread_local! {
    /// The calling thread is inside an emulation call: the handler must not run the hook.
    static IN_CALL: Cell<bool> = const { Cell::new(false) };
    /// The calling thread's worker entry (kept alive by its registration), or null.
    static CURRENT_WORKER: Cell<*const Entry> = const { Cell::new(std::ptr::null()) };
}

const NOT_INSTALLED: u8 = 0;
const INSTALLED: u8 = 1;
const REFUSED: u8 = 2;
static HANDLER: AtomicU8 = AtomicU8::new(NOT_INSTALLED);

/// Marks the calling thread as inside an emulation call until the guard drops.
pub(crate) struct InCall(bool);

impl InCall {
    pub(crate) fn enter() -> Self {
        Self(IN_CALL.with(|c| c.replace(true)))
    }
}

impl Drop for InCall {
    fn drop(&mut self) {
        IN_CALL.with(|c| c.set(self.0));
    }
}

/// Blocks every signal of the calling thread until dropped. A worker waiting to be run keeps
/// its signals pending, as in the kernel, so that its handlers run as managed time.
pub(crate) struct Masked(libc::sigset_t);

impl Masked {
    pub(crate) fn all() -> Self {
        // SAFETY: sigset_t values are initialised by sigfillset/pthread_sigmask before use.
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
            Self(old)
        }
    }
}

impl Drop for Masked {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by `all`.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
    }
}

/// Sets (or clears, with null) the calling thread's worker entry for the handler.
///
/// The pointer must stay valid until it is cleared again by the same thread.
pub(crate) fn set_current_worker(w: *const Entry) {
    CURRENT_WORKER.with(|c| c.set(w));
}

/// Installs the handler once per process, unless the program handles `SIGURG` itself. Runs
/// under a `Once`: threads registering their first workers at the same time must not see
/// each other's installation as a foreign handler.
pub(crate) fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: all-zero sigaction is valid (SIG_DFL, empty mask); we only read the old one.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a null new action only queries.
        unsafe { libc::sigaction(libc::SIGURG, std::ptr::null(), &mut old) };
        if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN {
            HANDLER.store(REFUSED, Ordering::Release);
            return;
        }
        // SAFETY: as above.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = on_signal as *const () as libc::sighandler_t;
        act.sa_flags = libc::SA_RESTART;
        // SAFETY: installs a handler that only touches atomics, thread-locals without
        // destructors and raw syscalls (futex, sched_yield), saving and restoring errno.
        let ok = unsafe { libc::sigaction(libc::SIGURG, &act, std::ptr::null_mut()) } == 0;
        HANDLER.store(if ok { INSTALLED } else { REFUSED }, Ordering::Release);
    });
}

/// Asks worker `w` to run its return-to-user hook now.
pub(crate) fn send_park(w: &Entry) {
    if !w.emu.options().park_signal || HANDLER.load(Ordering::Acquire) != INSTALLED {
        return;
    }
    // SAFETY: tgkill on a thread of our own process; a stale tid is at worst ESRCH.
    unsafe {
        libc::syscall(
            libc::SYS_tgkill,
            libc::getpid(),
            w.tid as libc::pid_t,
            libc::SIGURG,
        )
    };
}

extern "C" fn on_signal(_sig: libc::c_int) {
    if IN_CALL.with(Cell::get) {
        return;
    }
    let w = CURRENT_WORKER.with(Cell::get);
    if w.is_null() {
        return;
    }
    // SAFETY: errno is thread-local; saved here and restored below so the interrupted code
    // never sees the handler's syscalls.
    let errno = unsafe { *libc::__errno_location() };
    let guard = InCall::enter();
    // SAFETY: CURRENT_WORKER is set by this thread to an entry its registration keeps alive,
    // and cleared by this thread before that entry can be dropped.
    let w = unsafe { &*w };
    hook::enter(w);
    hook::exit(w);
    drop(guard);
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}
