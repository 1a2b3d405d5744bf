//! Tasks: what `spawn` and `spawn_blocking` create, and the handles to them.
//!
//! # Lifecycle and ownership
//!
//! A task is one reference-counted cell (`core::Cell`) holding the future, a state word
//! (`state`), the join waker, and the scheduler it belongs to. References to it:
//!
//! - the **registry** of the runtime (one, from spawn until completion), so shutdown can find
//!   and cancel every live task;
//! - at most one **queue entry** (guarded by the `SCHEDULED` bit);
//! - any number of **wakers** (each an `Arc` clone; waking pushes a queue entry if none exists);
//! - the **`JoinHandle`**, which alone takes the output.
//!
//! The future is polled by whichever runtime thread pops the queue entry; it is dropped by the
//! thread that completes or cancels it. Panics in `poll` (and in the future's destructor) are
//! caught and become [`JoinError`]s. A blocking closure is a task whose future calls the closure
//! once (`core::BlockingTask`), so joining, panics and abort-before-start work the same way.

pub(crate) mod core;
mod error;
mod join;
pub(crate) mod state;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

pub use error::JoinError;
pub use join::JoinHandle;

pub use crate::blocking::{try_spawn_blocking, TrySpawnError};
pub use crate::runtime::{spawn, spawn_blocking, yield_now};

/// A task's id, unique among the tasks of the process.
///
/// # Examples
///
/// ```
/// let rt = umcg::runtime::Runtime::new().unwrap();
/// let h = rt.spawn(async {});
/// println!("spawned task {}", h.id());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(u64);

impl Id {
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}
