//! The scheduling policy: every decision about *what runs next* is in this file, so it can be
//! read in one sitting and replaced by editing it alone.
//!
//! Two deciders use it:
//!
//! - the **driver** (the worker that runs the executor loop of a server) asks
//!   [`next_task`] which task to poll next, and [`should_yield`] whether to hand the CPU to
//!   workers that are waiting to finish what they were doing when they blocked;
//! - the **server** asks [`server_choice`] what to switch to when its worker stops running.
//!
//! # The policy
//!
//! 1. *Unfinished work first.* A worker that blocked in the middle of a poll or a blocking
//!    closure, and has come back, holds a half-done job: the server runs it before it starts a
//!    driver ([`server_choice`]), and a running driver yields to it every
//!    [`YIELD_CHECK_INTERVAL`] polls.
//! 2. *Async tasks and blocking closures alternate.* When both are queued, every other pick is a
//!    blocking closure ([`BLOCKING_EVERY`]), so neither kind starves the other. A closure that
//!    runs longer than the runtime's blocking slice without blocking is preempted by the monitor;
//!    the server then gives the CPU to the driver and to preempted closures in turn
//!    ([`server_choice`]'s `driver_turn`; the driver yields to them after a slice,
//!    [`should_yield`]). When no driver can run (every worker is busy and the worker limit is
//!    reached), preempted closures are resumed rather than left waiting.
//! 3. *Local before global, global now and then.* The server's own queue is a FIFO; every
//!    [`INJECT_EVERY`] picks, and first of all when a driver takes over (a driver that took over
//!    because the previous one blocked would otherwise start on the next blocking closure and
//!    block in turn, never reaching remote wakes), the injection queue is checked first, and a
//!    visit moves a share of it ([`INJECT_BATCH`] at most) to the local queue, so remote spawns
//!    and wakes are not starved by a busy local queue.
//! 4. *Steal when idle.* A driver with nothing of its own takes one task from another server's
//!    local queue (the queues are MPMC, so a steal is a pop).
//! 5. *Timers* are fired by the driver every [`TIMER_CHECK_INTERVAL`] picks and whenever it runs
//!    out of work; an idle server sleeps until the earliest timer.
//! 6. *Wake a server only for work its driver will not take next.* A task spawned or woken by a
//!    driver into its own empty local queue, with no blocking closure queued (rule 2 could
//!    pick one first, and it may block), is the driver's next pick: waking another server
//!    for it would only move it to another CPU (a chain of spawns, a ping-pong between two
//!    tasks). A push behind other work, or from outside the drivers, wakes one sleeping server,
//!    unless one is already on its way up (`sched::idle`); a driver that takes over and leaves
//!    work queued ([`more_to_share`]) wakes the next. This is tokio's rule (no wake for its
//!    LIFO slot, one searching worker at a time), except that the task stays in a queue other
//!    servers can steal from and a new driver sees, so a driver that blocks in the kernel
//!    does not strand it. After a blocking closure, which may have blocked, the driver offers
//!    what its local queue holds to the other servers (`umcg::worker::run_task`).

use super::{ServerSlot, Shared};
use crate::task::core::Task;

/// A driver checks for resumable workers once every this many polls.
pub(crate) const YIELD_CHECK_INTERVAL: u32 = 16;
/// Every this many picks (pick 0 of each driver turn included) the injection queue goes first.
pub(crate) const INJECT_EVERY: u32 = 8;
/// When blocking closures are queued, one pick in this many is a blocking closure.
pub(crate) const BLOCKING_EVERY: u32 = 2;
/// At most this many tasks move from the injection queue to the local queue per visit.
pub(crate) const INJECT_BATCH: usize = 128;
/// A driver fires due timers once every this many picks.
pub(crate) const TIMER_CHECK_INTERVAL: u32 = 32;

/// The driver's pick: `tick` counts its picks.
pub(crate) fn next_task(shared: &Shared, me: &ServerSlot, tick: u32) -> Option<Task> {
    if tick % INJECT_EVERY == 0 {
        if let Some(t) = from_inject(shared, me) {
            return Some(t);
        }
    }
    if tick % BLOCKING_EVERY == 0 {
        if let Some(t) = shared.pop_blocking() {
            return Some(t);
        }
    }
    me.local
        .pop()
        .or_else(|| from_inject(shared, me))
        .or_else(|| shared.pop_blocking())
        .or_else(|| steal(shared, me))
}

/// One task from the injection queue, plus a fair share of the rest (at most [`INJECT_BATCH`])
/// moved to the back of the local queue: a busy local queue must not leave remote spawns to
/// trickle in one per [`INJECT_EVERY`] picks.
fn from_inject(shared: &Shared, me: &ServerSlot) -> Option<Task> {
    let first = shared.inject.pop()?;
    let share = (shared.inject.len() / shared.servers.len()).min(INJECT_BATCH);
    for _ in 0..share {
        let Some(t) = shared.inject.pop() else { break };
        if let Err(t) = me.local.push(t) {
            shared.inject.push(t);
            break;
        }
    }
    Some(first)
}

/// One task from the first other server whose local queue has any.
fn steal(shared: &Shared, me: &ServerSlot) -> Option<Task> {
    let n = shared.servers.len();
    (1..n)
        .map(|k| &shared.servers[(me.index + k) % n])
        .find_map(|victim| victim.local.pop())
}

/// Whether the driver (checking every [`YIELD_CHECK_INTERVAL`] polls) should let other
/// workers of its server run: always for workers with unfinished work, and for preempted
/// blocking closures once the driver has had a whole blocking slice (`slice_over`).
pub(crate) fn should_yield(resumable: usize, preempted: usize, slice_over: bool) -> bool {
    resumable > 0 || (preempted > 0 && slice_over)
}

/// Whether there is anything for a driver of `me` to do: work in a queue it may take from, or a
/// due timer.
pub(crate) fn has_work(shared: &Shared, me: &ServerSlot) -> bool {
    !me.local.is_empty()
        || shared.inject.len() > 0
        || shared.blocking_len() > 0
        || shared.timers.due()
        || shared.servers.iter().any(|s| !s.local.is_empty())
}

/// Whether a driver that just took over leaves work queued that another server could take:
/// it then wakes one (the producers wake only one server at a time).
pub(crate) fn more_to_share(shared: &Shared, me: &ServerSlot) -> bool {
    !me.local.is_empty() || shared.inject.len() > 0
}

/// What a server runs when its current worker stopped running.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ServerChoice {
    /// The oldest worker with unfinished work (it blocked mid-job and came back; rule 1).
    Resume,
    /// The oldest preempted blocking closure (rule 2).
    ResumePreempted,
    /// A driver for the queued work.
    Drive,
    /// Nothing to do: retire surplus idle workers or sleep.
    Idle,
}

/// See [`ServerChoice`]. `driver_turn` alternates the CPU between the driver and preempted
/// closures: it is cleared when the driver yields, set when a preempted closure is resumed.
pub(crate) fn server_choice(
    unfinished: bool,
    preempted: bool,
    work: bool,
    driver_turn: bool,
) -> ServerChoice {
    if unfinished {
        ServerChoice::Resume
    } else if preempted && (!work || !driver_turn) {
        ServerChoice::ResumePreempted
    } else if work {
        ServerChoice::Drive
    } else {
        ServerChoice::Idle
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{server_choice, should_yield, ServerChoice::*};

    #[test]
    fn unfinished_work_goes_first() {
        assert_eq!(server_choice(true, true, true, true), Resume);
        assert_eq!(server_choice(true, false, false, false), Resume);
    }

    #[test]
    fn driver_and_preempted_closures_take_turns() {
        assert_eq!(server_choice(false, true, true, true), Drive);
        assert_eq!(server_choice(false, true, true, false), ResumePreempted);
        assert_eq!(server_choice(false, true, false, true), ResumePreempted);
    }

    #[test]
    fn nothing_to_do_is_idle() {
        assert_eq!(server_choice(false, false, true, true), Drive);
        assert_eq!(server_choice(false, false, false, true), Idle);
    }

    #[test]
    fn driver_yields_to_unfinished_at_once_and_to_preempted_after_a_slice() {
        assert!(should_yield(1, 0, false));
        assert!(!should_yield(0, 1, false));
        assert!(should_yield(0, 1, true));
        assert!(!should_yield(0, 0, true));
    }
}
