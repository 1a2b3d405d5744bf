//! One worker's block detector: the perf ring when the kernel grants one, else `/proc` stat.
//!
//! The detector answers two questions: *is the worker asleep in the kernel right now?*
//! (`blocked_now`, level) and *has it been switched in since the last look?* (`woke`, edge).
//! A block is published on the level (a block that already ended when it is seen is treated as
//! a slow syscall); the end of a published block on the edge, so that a worker that returned
//! and blocked again before anyone looked is still reported RUNNABLE (it did run user code).
//! Records written while the worker is parked inside the emulation (its own futex waits) are
//! discarded: those sleeps are the emulation's, not blocks.

use super::perf::{Ring, Switch};
use super::procstat::ProcStat;

/// How blocks of a worker are detected.
#[derive(Debug)]
pub(crate) struct Probe {
    ring: Option<Ring>,
    /// The ring wakes `poll()`ers.
    pub(crate) wakeups: bool,
    stat: Option<ProcStat>,
    /// The worker sleeps in the kernel (last relevant record: a blocking switch-out).
    pub(crate) blocked_now: bool,
    /// The worker was switched in since the previous `observe`.
    pub(crate) woke: bool,
}

impl Probe {
    /// A detector for the calling thread `tid`: a perf ring if `want_perf` and the kernel
    /// allows it (raising poll wakeups if `wakeups`), the `/proc` watchdog otherwise.
    pub(crate) fn for_self(tid: u32, want_perf: bool, wakeups: bool) -> Self {
        let ring = want_perf
            .then(|| Ring::open_self(wakeups))
            .and_then(Result::ok);
        Self {
            wakeups: ring.is_some() && wakeups,
            ring,
            stat: ProcStat::open(tid).ok(),
            blocked_now: false,
            woke: false,
        }
    }

    pub(crate) fn ring(&self) -> Option<&Ring> {
        self.ring.as_ref()
    }

    /// Brings `blocked_now` up to date; with `discard`, consumes records without looking.
    pub(crate) fn observe(&mut self, discard: bool) {
        let mut blocked = self.blocked_now;
        let (mut lost, mut woke) = (false, false);
        match self.ring.as_mut() {
            Some(ring) => ring.drain(|s| match s {
                Switch::OutBlock => blocked = true,
                Switch::OutPreempt => blocked = false,
                Switch::In => (blocked, woke) = (false, true),
                Switch::Lost => lost = true,
            }),
            None => lost = true,
        }
        if discard {
            return;
        }
        if lost {
            blocked = self.stat.as_ref().and_then(ProcStat::sleeping) == Some(true);
            woke = !blocked;
        }
        self.blocked_now = blocked;
        self.woke = woke;
    }

    /// Forgets everything up to now: the worker is running this code.
    pub(crate) fn reset(&mut self) {
        self.observe(true);
        self.blocked_now = false;
        self.woke = false;
    }
}
