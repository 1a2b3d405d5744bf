//! CPU placement: which CPU a thread runs on, pinning a worker to its server's CPU, and the
//! `SCHED_IDLE` window in which a waiting server spins on its worker's CPU.

use std::io;

/// The CPU the calling thread runs on now (read through rseq/vDSO by glibc: no syscall).
pub(crate) fn current_cpu() -> i32 {
    // SAFETY: sched_getcpu has no arguments.
    unsafe { libc::sched_getcpu() }
}

/// The affinity mask of `tid` (a thread of this process).
pub(crate) fn affinity(tid: u32) -> io::Result<libc::cpu_set_t> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is writable and its size is passed.
    let r = unsafe {
        libc::sched_getaffinity(tid as libc::pid_t, std::mem::size_of_val(&set), &mut set)
    };
    if r == 0 {
        Ok(set)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets the affinity mask of `tid`.
pub(crate) fn set_affinity(tid: u32, set: &libc::cpu_set_t) -> io::Result<()> {
    // SAFETY: `set` is a valid cpu_set_t and its size is passed.
    let r = unsafe { libc::sched_setaffinity(tid as libc::pid_t, std::mem::size_of_val(set), set) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Pins `tid` to the single CPU `cpu`.
pub(crate) fn pin(tid: u32, cpu: i32) -> io::Result<()> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET bounds-checks `cpu` against the set's size.
    unsafe { libc::CPU_SET(cpu as usize, &mut set) };
    set_affinity(tid, &set)
}

/// Whether the calling thread may enter `SCHED_IDLE` and come back: it must run `SCHED_OTHER`
/// now, and leaving `SCHED_IDLE` needs `RLIMIT_NICE` room for its nice value (or root).
pub(crate) fn idle_window_allowed() -> bool {
    // SAFETY: sched_getscheduler(0) queries the calling thread.
    if unsafe { libc::sched_getscheduler(0) } != libc::SCHED_OTHER {
        return false;
    }
    // SAFETY: geteuid has no arguments.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is writable.
    if unsafe { libc::getrlimit(libc::RLIMIT_NICE, &mut lim) } != 0 {
        return false;
    }
    // SAFETY: getpriority on the calling thread (tid 0 = self) only reads.
    let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    lim.rlim_cur as i64 >= 20 - nice as i64
}

/// Switches thread `tid` (0: the caller) to `SCHED_IDLE` (`idle == true`) or back to
/// `SCHED_OTHER`.
pub(crate) fn set_idle(tid: u32, idle: bool) {
    let policy = if idle {
        libc::SCHED_IDLE
    } else {
        libc::SCHED_OTHER
    };
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `tid` is 0 or a thread of this process; `param` is valid for the call.
    unsafe { libc::sched_setscheduler(tid as libc::pid_t, policy, &param) };
}
