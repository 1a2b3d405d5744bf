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
//!   fence(SeqCst)                (C)          count > 0 ?  no: done
//!   any work?  yes: do not wait               pick a server with sleeping.swap(false)
//!   umcg_wait(0, deadline)                    CAS its state RUNNABLE* -> RUNNING, umcg_kick
//! ```
//!
//! Fences (C) and (D) pair: either the server sees the work, or the producer sees the server
//! sleeping. The producer's CAS on the state word happens while the server is RUNNABLE
//! (COND_WAIT set or not); the kernel (and the emulation) then fail the server's `umcg_wait`
//! with `EAGAIN` if it has not slept yet, or wake it through `umcg_kick` if it has. Either way
//! the server runs its loop again and finds the work. A server that finds its own `sleeping`
//! flag still set when it wakes clears it and decrements the count itself.

use crate::loom::atomic::{fence, AtomicBool, AtomicUsize, Ordering::SeqCst};

/// The number of sleeping servers: a producer with new work reads it after fence (D) to decide
/// whether anyone needs waking.
#[derive(Debug, Default)]
pub(crate) struct Idle {
    count: AtomicUsize,
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

    /// The server is awake again (woken, timed out, or found work after announcing).
    pub(crate) fn retract(&self, sleeping: &AtomicBool) {
        if sleeping.swap(false, SeqCst) {
            self.count.fetch_sub(1, SeqCst);
        }
    }

    /// Producer side, after publishing the work: fence (D), then whether any server sleeps.
    pub(crate) fn anyone_sleeping(&self) -> bool {
        fence(SeqCst);
        self.count.load(SeqCst) > 0
    }

    /// Claims a sleeping server's flag; `true` means the caller must wake that server.
    pub(crate) fn claim(&self, sleeping: &AtomicBool) -> bool {
        if sleeping.load(SeqCst) && sleeping.swap(false, SeqCst) {
            self.count.fetch_sub(1, SeqCst);
            return true;
        }
        false
    }
}
