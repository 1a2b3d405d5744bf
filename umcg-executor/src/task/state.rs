//! The task state word: which thread may touch the future or its output, and when.
//!
//! One `AtomicUsize` per task. Every transition is a compare-and-swap (or `fetch_or`) with
//! `AcqRel` ordering, so whatever a thread wrote to the task's stage before a transition is
//! visible to the thread that observes the new state.
//!
//! | bit | set by | cleared by | meaning |
//! |---|---|---|---|
//! | [`SCHEDULED`] | `wake`, `abort` | the runner, when it starts a poll | a reference to the task is in (or is being pushed to) exactly one run queue; a second wake is a no-op |
//! | [`RUNNING`] | the runner, or a canceller that found the task idle | the same thread when it is done | that thread, and only it, may touch the future |
//! | [`COMPLETE`] | the thread holding `RUNNING` | never | the output (or the error) is stored; only the `JoinHandle` touches it from now on |
//! | [`CANCELLED`] | `abort`, runtime shutdown | never | the future must be dropped instead of polled |
//!
//! A wake that finds `RUNNING` only sets `SCHEDULED`; the runner sees it when it releases
//! `RUNNING` and pushes the task again, so a wake during a poll is never lost and the task is
//! never in two queues.

use crate::loom::atomic::{AtomicUsize, Ordering::*};

/// In a run queue, or about to be pushed to one.
pub(crate) const SCHEDULED: usize = 1 << 0;
/// Owned by a thread that polls (or cancels) it.
pub(crate) const RUNNING: usize = 1 << 1;
/// Finished: output or error stored.
pub(crate) const COMPLETE: usize = 1 << 2;
/// Abort requested.
pub(crate) const CANCELLED: usize = 1 << 3;

/// What the caller of [`State::wake`] must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Push the task on a run queue.
    Push,
    /// Nothing: already queued, running (the runner requeues it), or finished.
    Nothing,
}

/// What the runner must do with the task it popped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// Poll the future.
    Poll,
    /// Drop the future and complete with `Cancelled`.
    Cancel,
    /// Nothing: the task completed, or is being cancelled in place, after it was queued.
    Skip,
}

/// What the runner must do after a poll returned `Pending`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Idle {
    /// Nobody woke it: wait for a waker.
    Wait,
    /// It was woken during the poll: push it again (`SCHEDULED` stays set).
    Push,
    /// It was aborted during the poll: cancel it now (`RUNNING` is still held).
    Cancel,
}

/// The atomic state word described in the module documentation.
#[derive(Debug)]
pub(crate) struct State(AtomicUsize);

impl State {
    /// A new task: scheduled, because spawning pushes it right away.
    pub(crate) fn new_scheduled() -> Self {
        Self(AtomicUsize::new(SCHEDULED))
    }

    /// A snapshot.
    pub(crate) fn load(&self) -> usize {
        self.0.load(Acquire)
    }

    fn transition<R>(&self, mut f: impl FnMut(usize) -> (Option<usize>, R)) -> R {
        let mut cur = self.0.load(Acquire);
        loop {
            let (next, result) = f(cur);
            let Some(next) = next else { return result };
            match self.0.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) => return result,
                Err(now) => cur = now,
            }
        }
    }

    /// A waker fired.
    pub(crate) fn wake(&self) -> Wake {
        self.transition(|s| {
            if s & (COMPLETE | SCHEDULED) != 0 {
                (None, Wake::Nothing)
            } else if s & RUNNING != 0 {
                (Some(s | SCHEDULED), Wake::Nothing)
            } else {
                (Some(s | SCHEDULED), Wake::Push)
            }
        })
    }

    /// The runner popped the task from a queue.
    pub(crate) fn start(&self) -> Start {
        self.transition(|s| {
            if s & (COMPLETE | RUNNING) != 0 {
                // Complete, or being cancelled in place by `cancel`'s caller: the queued
                // reference is stale.
                (Some(s & !SCHEDULED), Start::Skip)
            } else if s & CANCELLED != 0 {
                (Some((s & !SCHEDULED) | RUNNING), Start::Cancel)
            } else {
                (Some((s & !SCHEDULED) | RUNNING), Start::Poll)
            }
        })
    }

    /// The poll returned `Pending`.
    pub(crate) fn idle(&self) -> Idle {
        self.transition(|s| {
            if s & CANCELLED != 0 {
                (None, Idle::Cancel)
            } else if s & SCHEDULED != 0 {
                (Some(s & !RUNNING), Idle::Push)
            } else {
                (Some(s & !RUNNING), Idle::Wait)
            }
        })
    }

    /// Requests cancellation. Returns `true` when the caller now holds `RUNNING` and must
    /// cancel the task in place (it was idle or queued); `false` when the task is running
    /// (its runner cancels it after the poll), already cancelled, or complete.
    pub(crate) fn cancel(&self) -> bool {
        self.transition(|s| {
            if s & (COMPLETE | CANCELLED) != 0 {
                (None, false)
            } else if s & RUNNING != 0 {
                (Some(s | CANCELLED), false)
            } else {
                (Some(s | CANCELLED | RUNNING), true)
            }
        })
    }

    /// The thread holding `RUNNING` stored the output: sets `COMPLETE`, clears `RUNNING`.
    pub(crate) fn complete(&self) {
        let prev = self.0.fetch_xor(RUNNING | COMPLETE, AcqRel);
        debug_assert!(prev & RUNNING != 0 && prev & COMPLETE == 0);
    }

    /// Whether `COMPLETE` is set (Acquire: pairs with [`State::complete`]).
    pub(crate) fn is_complete(&self) -> bool {
        self.load() & COMPLETE != 0
    }
}
