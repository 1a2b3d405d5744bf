//! One worker's block detector: the perf ring when the kernel grants one, else `/proc` stat.
//!
//! The detector answers one question, level-triggered: *is the worker asleep in the kernel
//! right now?* (`blocked_now`). Records are consumed in order; the answer is the last one that
//! matters. Records written while the worker is parked inside the emulation (its own futex
//! waits) are discarded: those sleeps are the emulation's, not blocks.

use super::perf::{Ring, Switch};
use super::procstat::ProcStat;

/// How blocks of a worker are detected.
#[derive(Debug)]
pub(crate) struct Probe {
    ring: Option<Ring>,
    stat: Option<ProcStat>,
    /// The worker sleeps in the kernel (last relevant record: a blocking switch-out).
    pub(crate) blocked_now: bool,
}

impl Probe {
    /// A detector for the calling thread `tid`: a perf ring if `want_perf` and the kernel
    /// allows it, the `/proc` watchdog otherwise.
    pub(crate) fn for_self(tid: u32, want_perf: bool) -> Self {
        let ring = want_perf.then(Ring::open_self).and_then(Result::ok);
        Self {
            ring,
            stat: ProcStat::open(tid).ok(),
            blocked_now: false,
        }
    }

    pub(crate) fn ring(&self) -> Option<&Ring> {
        self.ring.as_ref()
    }

    /// Brings `blocked_now` up to date; with `discard`, consumes records without looking.
    pub(crate) fn observe(&mut self, discard: bool) {
        let mut blocked = self.blocked_now;
        let mut lost = false;
        match self.ring.as_mut() {
            Some(ring) => ring.drain(|s| match s {
                Switch::OutBlock => blocked = true,
                Switch::OutPreempt | Switch::In => blocked = false,
                Switch::Lost => lost = true,
            }),
            None => lost = true,
        }
        if discard {
            return;
        }
        if lost {
            blocked = self.stat.as_ref().and_then(ProcStat::sleeping) == Some(true);
        }
        self.blocked_now = blocked;
    }

    /// Forgets everything up to now: the worker is running this code.
    pub(crate) fn reset(&mut self) {
        self.observe(true);
        self.blocked_now = false;
    }
}
