//! What the emulation knows about one registered task (the kernel's per-task UMCG state).

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use super::futex;
use super::perf::RingView;
use super::probe::Probe;
use super::spin::Spin;
use super::task::UserTask;
use super::Emulated;
use crate::abi::{UMCG_CTL_COOP, UMCG_CTL_MULTI, UMCG_TASK_RUNNING};

/// A registered server or worker.
pub(crate) struct Entry {
    pub(crate) emu: &'static Emulated,
    pub(crate) tid: u32,
    pub(crate) task: UserTask,
    pub(crate) clock: libc::clockid_t,
    pub(crate) role: Role,
}

/// Server or worker, with the part of the state only that kind has.
pub(crate) enum Role {
    Server(ServerPart),
    Worker(WorkerPart),
}

/// How a waiting server sleeps, so that a waker knows how to reach it.
pub(crate) mod sleep {
    /// Running, or spinning on its state word: a state change is enough.
    pub(crate) const AWAKE: u8 = 0;
    /// In `FUTEX_WAIT` on its state word.
    pub(crate) const FUTEX: u8 = 1;
    /// In `ppoll()` on its eventfd and its workers' perf rings.
    pub(crate) const POLL: u8 = 2;
}

/// A server's part.
pub(crate) struct ServerPart {
    /// `UMCG_CTL_MULTI` / `UMCG_CTL_COOP` from registration.
    pub(crate) flags: u32,
    pub(crate) sleep: AtomicU8,
    pub(crate) eventfd: OwnedFd,
    /// Workers registered with this server (re-filed when a worker's `server_tid` changes).
    pub(crate) workers: Mutex<Vec<Arc<Entry>>>,
    /// An empty buffer with room for all of `workers`, kept ready by the threads that add to it
    /// so that the server can copy the list without allocating (`outside::provision`).
    pub(crate) spare: Mutex<Vec<Arc<Entry>>>,
    /// May spin at `SCHED_IDLE` and come back.
    pub(crate) idle_ok: bool,
}

/// A worker's part.
pub(crate) struct WorkerPart {
    pub(crate) probe: Spin<Probe>,
    /// Lock-free view of the perf ring (None without one); the ring lives as long as the entry.
    pub(crate) view: Option<RingView>,
    /// Inside an emulation call: its sleeps are not blocks.
    pub(crate) in_emul: AtomicBool,
    /// Pushed on a runnable list by the emulation and not yet made RUNNING.
    pub(crate) queued: AtomicBool,
    /// Kicked and not yet through the return-to-user hook since: `UMCG_TF_PREEMPT` is acted on
    /// only then (the kernel's `UMCG_BIT_KICKED`).
    pub(crate) kicked: AtomicBool,
    /// Unregistered or exited: never touch its memory again.
    pub(crate) gone: AtomicBool,
    /// CPU it is pinned to (-1: not pinned).
    pub(crate) cpu: AtomicI32,
    /// Affinity at registration, restored at unregistration.
    pub(crate) affinity: Option<libc::cpu_set_t>,
    /// May be moved to `SCHED_IDLE` and back (it runs `SCHED_OTHER` with the right to return).
    pub(crate) can_demote: bool,
    /// Moved to `SCHED_IDLE` when it blocked (see `hook::demote`).
    pub(crate) demoted: AtomicBool,
    /// The server whose list holds this entry.
    pub(crate) filed_with: AtomicI32,
}

impl Entry {
    pub(crate) fn server(&self) -> Option<&ServerPart> {
        match &self.role {
            Role::Server(s) => Some(s),
            Role::Worker(_) => None,
        }
    }

    pub(crate) fn worker(&self) -> Option<&WorkerPart> {
        match &self.role {
            Role::Worker(w) => Some(w),
            Role::Server(_) => None,
        }
    }

    pub(crate) fn is_multi(&self) -> bool {
        self.server().is_some_and(|s| s.flags & UMCG_CTL_MULTI != 0)
    }

    pub(crate) fn is_coop(&self) -> bool {
        self.server().is_some_and(|s| s.flags & UMCG_CTL_COOP != 0)
    }

    /// A worker in RUNNING state (it runs, or is about to leave the emulation and run).
    pub(crate) fn is_running(&self) -> bool {
        self.worker().is_some_and(|w| {
            !w.gone.load(Ordering::SeqCst) && self.task.task_state() == UMCG_TASK_RUNNING
        })
    }

    /// The worker's ring view, if it has a ring.
    pub(crate) fn ring(&self) -> Option<RingView> {
        self.worker()?.view
    }

    /// Wakes the task after its state word changed (the kernel's `try_to_wake_up`).
    pub(crate) fn notify(&self) {
        match self.server() {
            Some(s) => match s.sleep.load(Ordering::SeqCst) {
                sleep::FUTEX => futex::wake(self.task.state()),
                sleep::POLL => write_eventfd(&s.eventfd),
                _ => {}
            },
            None => futex::wake(self.task.state()),
        }
    }

    /// Wakes the task whatever it is doing (kick).
    pub(crate) fn notify_all_ways(&self) {
        futex::wake(self.task.state());
        if let Some(s) = self.server() {
            write_eventfd(&s.eventfd);
        }
    }
}

fn write_eventfd(fd: &OwnedFd) {
    let one = 1u64;
    // SAFETY: writes 8 bytes from a live u64 to our own non-blocking eventfd.
    unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
}

/// Empties an eventfd (non-blocking).
pub(crate) fn drain_eventfd(fd: &OwnedFd) {
    let mut v = 0u64;
    // SAFETY: reads at most 8 bytes into a live u64 from our own non-blocking eventfd.
    unsafe { libc::read(fd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
}
