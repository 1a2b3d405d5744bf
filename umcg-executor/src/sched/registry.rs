//! The registry of live tasks, so that shutdown can cancel every task, including those that
//! wait for a waker nobody will ever fire.
//!
//! Sixteen independently locked slabs, chosen by task id: spawn and completion take one
//! uncontended lock each (a global mutex here would be the hot-path lock tokio's blocking pool
//! is criticised for).

use slab::Slab;

use crate::loom::Mutex;
use crate::task::core::Task;
use crate::task::Id;

const SHARDS: usize = 16;

/// One shard on cache lines of its own: a spawn on one CPU and a completion on another, in
/// neighbouring shards, must not bounce one line between them.
#[repr(align(128))]
struct Shard(Mutex<Slab<Task>>);

/// See the module documentation.
pub(crate) struct Registry {
    shards: Box<[Shard]>,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| Shard(Mutex::new(Slab::new())))
                .collect(),
        }
    }

    fn shard(&self, id: Id) -> &Mutex<Slab<Task>> {
        &self.shards[id.as_u64() as usize % SHARDS].0
    }

    /// Adds a task; the key goes back to [`Registry::remove`].
    pub(crate) fn insert(&self, task: Task) -> usize {
        let id = task.id();
        lock(self.shard(id)).insert(task)
    }

    /// Removes a completed task.
    pub(crate) fn remove(&self, id: Id, key: usize) {
        let removed = lock(self.shard(id)).try_remove(key);
        // Dropped outside the lock: it may be the task's last reference.
        drop(removed);
    }

    /// Takes every live task out (shutdown).
    pub(crate) fn drain(&self) -> Vec<Task> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            all.extend(lock(&shard.0).drain());
        }
        all
    }

    /// The number of live tasks.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.0).len()).sum()
    }
}

fn lock<T>(m: &Mutex<T>) -> crate::loom::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
