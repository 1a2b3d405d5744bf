//! The injection queue: tasks spawned or woken from threads that are not drivers of this
//! runtime, and the overflow of full local queues.
//!
//! A lock-free bounded [`Queue`] in front of a mutex-protected overflow list. The overflow is
//! taken only when the ring is full, so in steady state no lock is involved; it keeps `spawn`
//! infallible (an async task can always be spawned; backpressure applies to blocking work).

use std::collections::VecDeque;

use super::queue::Queue;
use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::Mutex;

/// See the module documentation.
pub(crate) struct Inject<T> {
    ring: Queue<T>,
    overflow: Mutex<VecDeque<T>>,
    overflow_len: AtomicUsize,
}

impl<T> Inject<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            ring: Queue::new(capacity),
            overflow: Mutex::new(VecDeque::new()),
            overflow_len: AtomicUsize::new(0),
        }
    }

    /// Pushes at the back; never fails.
    pub(crate) fn push(&self, value: T) {
        if let Err(value) = self.ring.push(value) {
            let mut o = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
            o.push_back(value);
            self.overflow_len.store(o.len(), SeqCst);
        }
    }

    /// Pops from the front (the ring first, then the overflow).
    pub(crate) fn pop(&self) -> Option<T> {
        if let Some(v) = self.ring.pop() {
            return Some(v);
        }
        if self.overflow_len.load(SeqCst) == 0 {
            return None;
        }
        let mut o = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
        let v = o.pop_front();
        self.overflow_len.store(o.len(), SeqCst);
        v
    }

    /// A snapshot of the number of queued values.
    pub(crate) fn len(&self) -> usize {
        self.ring.len() + self.overflow_len.load(SeqCst)
    }
}
