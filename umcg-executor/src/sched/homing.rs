//! Finished tasks go home: the memory of a task that completes on another server is freed by a
//! driver of the server that spawned it.
//!
//! # Why
//!
//! A task cell is allocated by the thread that spawns it and, without this module, freed by
//! the thread that drops its last reference: usually the driver that polled it to completion,
//! which is often a driver of another server (tasks are stolen and woken across servers). With
//! glibc's malloc (and any allocator with per-thread arenas) such a free cannot stay in the
//! freeing thread's cache for long: its cache for that size fills, and every further free takes
//! the lock of the *spawning* thread's arena, which that thread takes too for each allocation
//! its own cache cannot serve. Measured on `ping_pong` (1,000 tasks each spawning a peer) with
//! four servers, in perf context-switch records with call stacks: most of the times a worker
//! blocked outside the runtime's own waits (173 of about 200 over 300 rounds, on the shared
//! 2-CPU host while it built a kernel) were this free, in the last `Arc` drop of `Cell::run`,
//! waiting for an arena lock. Each such block is a block of the *driver*: on the emulated
//! backend its server sees it and hands the driver role to another worker, which costs about
//! 40 µs of round time (rounds with one such block against rounds with none), where a thread
//! pool thread would just sleep for the few microseconds the lock is held. With this module,
//! the same count over 500 rounds went from 0.31 and 0.57 arena-lock waits per round (154 and
//! 267 of them in that free) to 0 and 0.004.
//!
//! # How
//!
//! A cell records its *home*: the server whose driver spawned it (none when spawned from
//! outside the drivers). When a driver of another server polls it to completion and holds its
//! last reference, the output is dropped there and then (as before: a detached task's output is
//! dropped when the task completes), and the empty cell is pushed on its home server's
//! `homecoming` queue ([`run`]). Each driver empties its own server's queue every
//! [`DRAIN_INTERVAL`] picks and when it runs out of work ([`drain`]), so the free happens on
//! the thread that allocated the cell while a server keeps its driver, which is the common
//! case: the free then stays in that thread's allocator cache. Tasks with no home, tasks
//! completing at home, cells whose last reference is a `JoinHandle` or a waker, and pushes to
//! a full queue are freed where they are, as before.
//!
//! Costs: one pop of an empty queue every [`DRAIN_INTERVAL`] picks (at every pick it cost
//! `yield_many`, 200,000 picks of a few tens of nanoseconds, about a tenth of its time); a
//! remote completion's free waits until its home driver runs again, so a server that goes idle
//! keeps at most the queue's capacity of empty cells (their futures and outputs already
//! dropped, at most [`MAX_CELL`] bytes each) until its next turn. Cells larger than
//! [`MAX_CELL`] get no home: allocators keep only small blocks in their per-thread caches
//! (glibc's up to 1,032 bytes), and large ones held in the queue would hold much memory.
//!
//! # Shutdown
//!
//! A queued cell holds a reference to the runtime's shared state, which holds the queue: left
//! there, they would keep each other alive. So nothing is queued once shutdown has begun, and
//! shutdown empties every queue ([`drain_all`]). A push racing with the start of shutdown is
//! covered by a SeqCst fence on each side (pusher: push, fence, read the flag, and empty the
//! queue itself if it is set; shutdown: set the flag, fence, empty the queues): whichever fence
//! comes second in the total order sees the other side's write.
//!
//! Only drivers and the thread that shuts the runtime down free cells here: never a server,
//! which must not touch the heap (`umcg::spawner`).

use super::queue::Queue;
use super::{ServerSlot, Shared};
use crate::loom::atomic::{fence, AtomicBool, Ordering::SeqCst};
use crate::task::core::Task;

/// The home of a cell spawned outside the drivers, or too large to be sent home: none.
pub(crate) const NO_HOME: usize = usize::MAX;

/// Cells each server's queue holds. A driver that spawns many tasks in one poll does not drain
/// its queue until that poll ends, while other servers complete those tasks: the queue must
/// hold such a burst, or the rest are freed away from home after all (with 256, a quarter of
/// `ping_pong`'s 1,000 spawns in one poll: those frees came back in its perf records). The
/// injection queue's bound, 24 bytes a slot (96 KiB a server).
pub(crate) const CAPACITY: usize = 4096;

/// A driver empties its server's queue once every this many picks.
pub(crate) const DRAIN_INTERVAL: u32 = 16;

/// The largest cell, in bytes, that is sent home.
pub(crate) const MAX_CELL: usize = 1024;

/// Whether a cell of `size` bytes gets a home.
pub(crate) fn worth_it(size: usize) -> bool {
    size <= MAX_CELL
}

/// Runs `task` on a driver of server `here` (`RawTask::run_reclaim`); a task it completes for
/// another server, holding its last reference, goes home to be freed ([`dispose`]).
pub(crate) fn run(shared: &Shared, task: Task, here: usize) {
    if let Some(done) = task.run_reclaim(here) {
        dispose(shared, done, here);
    }
}

/// Frees `task` (the last reference to a completed task, its output already dropped, returned
/// by `RawTask::run_reclaim` to a driver of server `here`) on its home server if it has one and
/// that is another server; else here.
fn dispose(shared: &Shared, task: Task, here: usize) {
    let home = task.home();
    if home == NO_HOME || home == here || home >= shared.servers.len() {
        return;
    }
    send(&shared.servers[home].homecoming, &shared.shutdown, task);
}

/// Frees the cells that came home to `slot`. Called by its drivers every [`DRAIN_INTERVAL`]
/// picks and when they run out of work.
pub(crate) fn drain(slot: &ServerSlot) {
    empty(&slot.homecoming);
}

/// Shutdown, after the flag is set: frees every queued cell. Never called on a server.
pub(crate) fn drain_all(shared: &Shared) {
    closed(shared.servers.iter().map(|s| &s.homecoming));
}

/// The pushing side of the shutdown rule (module documentation): queues `value` unless
/// `shut` is set, and empties the queue itself if `shut` was set meanwhile. A full queue
/// gives the value back, and it is dropped here.
pub(crate) fn send<T>(queue: &Queue<T>, shut: &AtomicBool, value: T) {
    if shut.load(SeqCst) {
        return;
    }
    if let Err(value) = queue.push(value) {
        drop(value);
        return;
    }
    // Pairs with the fence in `closed`.
    fence(SeqCst);
    if shut.load(SeqCst) {
        empty(queue);
    }
}

/// The closing side: called after `shut` is set, empties `queues`.
pub(crate) fn closed<'a, T: 'a>(queues: impl IntoIterator<Item = &'a Queue<T>>) {
    // Pairs with the fence in `send`.
    fence(SeqCst);
    for q in queues {
        empty(q);
    }
}

fn empty<T>(queue: &Queue<T>) {
    while let Some(value) = queue.pop() {
        drop(value);
    }
}
