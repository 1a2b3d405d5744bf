//! Sleeping servers, and how a thread with new work wakes one.
//!
//! A server with nothing to run sleeps in `umcg_wait(0, deadline)` with `next_tid == 0`. New
//! work (a spawn or wake from another thread, a blocking closure, an earlier timer) must not be
//! left behind by a server that is just going to sleep. The protocol is Dekker's, with the
//! server's UMCG state word as the wakeup channel:
//!
//! ```text
//!   server going idle (CPU0)                  producer (CPU1)
//!   state = RUNNABLE|COND_WAIT   (SeqCst)     push the work (queue CAS)
//!   sleeping = true; count += 1  (SeqCst)     fence(SeqCst)            (D)
//!   fence(SeqCst)                (C)          count > 0, waking <= 0 ?  no: done
//!   any work?  yes: do not wait               pick a server with sleeping.swap(false),
//!   umcg_wait(0, deadline)                      then waking += 1
//!   retract: own flag still set?              CAS its state RUNNABLE* -> RUNNING, umcg_kick
//!     yes: count -= 1; no: waking -= 1
//!   fence(SeqCst)                (W)
//!   any work? (the next turn of its loop)
//! ```
//!
//! Fences (C) and (D) pair: either the server sees the work, or the producer sees the server
//! sleeping. The producer's CAS on the state word happens while the server is RUNNABLE
//! (COND_WAIT set or not); the kernel (and the emulation) then fail the server's `umcg_wait`
//! with `EAGAIN` if it has not slept yet, or wake it through `umcg_kick` if it has. Either way
//! the server runs its loop again and finds the work. A server that finds its own `sleeping`
//! flag still set when it wakes clears it and decrements the count itself.
//!
//! # One server on its way up at a time
//!
//! `waking` counts servers that a producer claimed and that have not yet come back from their
//! wait (`retract`). While one is on its way up, producers wake no other: a burst of spawns
//! from one thread then costs one wake (two system calls on the producer's thread) instead of
//! one per spawn while any server sleeps, and servers are not woken only to find the queue
//! already drained by the first (tokio wakes a worker only when none is searching, for the
//! same reason). What keeps this from losing work: a producer that skips the wake read
//! `waking > 0` after its fence (D), so the decrement of that waking server's `retract` comes
//! after (D) in the single order of SeqCst operations, and so does that server's fence (W):
//! its next look for work, after (W), sees the push. Spreading the work out again is the
//! woken server's job: its driver wakes the next server when it takes over and leaves work
//! queued (`sched::policy::more_to_share`), as tokio's last searcher does.
//!
//! `waking` goes up only after a successful claim, so a server can come back and decrement it
//! before its claimer's increment: it then dips below zero for a moment (stored wrapped, read
//! as signed), which only lets a producer wake one server too many. A value above zero always
//! means a claimed server that has not retracted yet.

use crate::loom::atomic::{fence, AtomicBool, AtomicUsize, Ordering::SeqCst};

/// The number of sleeping servers, and of servers a producer woke that have not come back
/// from their wait yet: a producer with new work reads both after fence (D) to decide whether
/// anyone needs waking.
#[derive(Debug, Default)]
pub(crate) struct Idle {
    count: AtomicUsize,
    waking: AtomicUsize,
}

impl Idle {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The server is about to sleep: its `sleeping` flag and the count, then fence (C). The
    /// caller must look for work after this and before `umcg_wait`.
    pub(crate) fn announce(&self, sleeping: &AtomicBool) {
        sleeping.store(true, SeqCst);
        self.count.fetch_add(1, SeqCst);
        fence(SeqCst);
    }

    /// The server is awake again (woken, timed out, or found work after announcing), and
    /// looks for work after this: fence (W) orders that look after the end of its wake.
    pub(crate) fn retract(&self, sleeping: &AtomicBool) {
        if sleeping.swap(false, SeqCst) {
            self.count.fetch_sub(1, SeqCst);
        } else {
            // A producer claimed the flag (and counts us as waking) before we got here.
            self.waking.fetch_sub(1, SeqCst);
        }
        fence(SeqCst);
    }

    /// Producer side, after publishing the work: fence (D), then whether a server should be
    /// woken: one sleeps, and none is already on its way up (that one sees the work).
    pub(crate) fn should_wake(&self) -> bool {
        fence(SeqCst);
        self.count.load(SeqCst) > 0 && (self.waking.load(SeqCst) as isize) <= 0
    }

    /// Claims a sleeping server's flag; `true` means the caller must wake that server.
    pub(crate) fn claim(&self, sleeping: &AtomicBool) -> bool {
        if sleeping.load(SeqCst) && sleeping.swap(false, SeqCst) {
            self.count.fetch_sub(1, SeqCst);
            self.waking.fetch_add(1, SeqCst);
            return true;
        }
        false
    }
}
