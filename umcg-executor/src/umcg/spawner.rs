//! The spawner: a plain (non-UMCG) thread that creates worker threads for the servers and frees
//! the workers they are done with, so that a server never allocates, frees, or creates a thread
//! once its workers run.
//!
//! # Why a server must not take a lock a worker may hold
//!
//! A worker that blocks stops running *while still holding whatever locks it holds*, and the
//! kernel hands its CPU to the server. If the server then waits for one of those locks, it
//! sleeps; the unlock (if any) makes the worker runnable, but a runnable worker runs only when
//! its server switches to it, and the server sleeps: a deadlock. The same happens when a worker
//! is preempted, or blocks on the very lock the server wants and the lock's hand-off picks the
//! worker. The allocator's arena locks are such locks (a worker blocked inside `malloc`, then
//! its server allocating from the same arena, hung the `ping_pong` benchmark with four servers
//! on one CPU), and so are the locks inside thread creation. So a server's steady state uses only
//! atomics and memory allocated before its first worker ran (`server`, `roster`), and everything
//! else goes through this thread:
//!
//! ```text
//!   server S                                   spawner
//!   reserve a place (shared.workers CAS)
//!   slot.spawn_requests += 1, unpark  ------>  requests = swap(0)
//!                                              w = Arc::new(Worker); slot.born.push(w)
//!                                              create the thread (its failure: w.failed, wake S)
//!   worker registers, pushes itself on S's runnable list, wakes S
//!   S takes slot.born (after (S1)), files w  (so every address on the list is known)
//!   ...
//!   S forgets w: graveyard.push(w), unpark --> graveyard.take_all(): the last drops, here
//! ```
//!
//! The born push happens before the thread is created, the thread registers before it pushes
//! itself on the runnable list, and the server takes `born` after it swapped the list head: a
//! worker the server finds on its list is always in `born` or already in its roster. `unpark`
//! and `park` carry the wakeup (an `unpark` before `park` is not lost).

use std::io;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Weak};
use std::thread::Thread;

use super::worker::{self, Worker};
use crate::sched::{ServerSlot, Shared};

/// Starts the spawner of `shared`; it ends after `shared` is dropped.
pub(crate) fn start(shared: &Arc<Shared>) -> io::Result<()> {
    let weak = Arc::downgrade(shared);
    let name = format!("{}-spawn", (shared.config.thread_name)());
    let handle = std::thread::Builder::new()
        .name(name)
        .spawn(move || run(weak))?;
    // The runtime is being built: no server runs yet, so this is the only setter.
    let _ = shared.spawner.set(handle.thread().clone());
    Ok(())
}

/// Wakes the spawner (never blocks, never allocates).
pub(crate) fn notify(spawner: Option<&Thread>) {
    if let Some(t) = spawner {
        t.unpark();
    }
}

/// Asks for one more worker for `slot`'s server; the caller reserved its place.
pub(crate) fn request(shared: &Shared, slot: &ServerSlot) {
    slot.spawn_requests.fetch_add(1, SeqCst);
    notify(shared.spawner.get());
}

/// Hands a worker the server is done with to the spawner, to be dropped there.
pub(crate) fn bury(shared: &Shared, w: Arc<Worker>) {
    shared.graveyard.push(w);
    notify(shared.spawner.get());
}

fn run(weak: Weak<Shared>) {
    loop {
        std::thread::park();
        let Some(shared) = weak.upgrade() else { return };
        serve(&shared);
    }
}

fn serve(shared: &Arc<Shared>) {
    drop(shared.graveyard.take_all());
    for slot in shared.servers.iter() {
        for _ in 0..slot.spawn_requests.swap(0, SeqCst) {
            create(shared, slot);
        }
    }
}

/// Creates one worker for `slot`'s server: announced in `born` first, then the thread.
fn create(shared: &Arc<Shared>, slot: &ServerSlot) {
    let w = Arc::new(Worker::new(slot.index));
    slot.born.push(w.clone());
    if worker::start(shared, &w).is_err() {
        // Recorded by `start`. The server releases the reserved place when it reaps `w`.
        w.failed.store(true, SeqCst);
        shared.wake_server(slot);
    }
}
