//! The blocking queue: where `spawn_blocking` closures wait for a driver, and the bound that
//! gives them backpressure.
//!
//! # Bounded, with backpressure
//!
//! The queue holds at most `Builder::blocking_queue_capacity` closures that have not started.
//! A closure needs a *permit* to enter; the permit comes back when a driver takes the closure
//! out. When no permit is left:
//!
//! - [`try_spawn_blocking`] returns [`TrySpawnError::Full`] with the closure;
//! - `spawn_blocking` called on a runtime worker *helps*: it runs queued closures itself until a
//!   permit frees up (so a full queue can never deadlock the workers that would drain it);
//! - `spawn_blocking` called from any other thread parks that thread until a permit frees up.
//!
//! Memory never grows with the number of callers. The depth is reported by
//! `Handle::metrics().blocking_queue_depth`.
//!
//! # Where closures run
//!
//! A driver takes a closure like a task (see `sched::policy`) and calls it inline on its worker
//! thread: a closure that does not block costs a function call. If it blocks in the kernel, UMCG
//! wakes the server, which hands the executor loop to another worker; if it runs on the CPU for
//! longer than the blocking slice, the monitor preempts it (`umcg::monitor`).

use std::fmt;
use std::time::Duration;

use crate::loom::atomic::{fence, AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::loom::{Condvar, Mutex};
use crate::sched::inject::Inject;
use crate::task::core::Task;

/// See the module documentation.
pub(crate) struct BlockingQueue {
    /// The ring can refuse a push while a pop of the slot's previous lap is still in progress,
    /// even with a permit in hand (the ring is not wait-free): the overflow list takes it then.
    queue: Inject<Task>,
    capacity: usize,
    permits: AtomicUsize,
    waiters: AtomicUsize,
    closed: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl BlockingQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            queue: Inject::new(capacity),
            capacity,
            permits: AtomicUsize::new(capacity),
            waiters: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            lock: Mutex::new(()),
            cv: Condvar::new(),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Takes a permit if one is free.
    pub(crate) fn try_acquire(&self) -> bool {
        self.permits
            .fetch_update(SeqCst, SeqCst, |p| p.checked_sub(1))
            .is_ok()
    }

    /// Parks the calling thread until a permit is free; `false` if the runtime shut down.
    ///
    /// ```text
    ///   waiter                               release
    ///   waiters += 1                         permits += 1
    ///   fence(SeqCst)   (E)                  fence(SeqCst)   (F)
    ///   permits == 0 ? wait (under lock)     waiters > 0 ? lock, notify
    /// ```
    ///
    /// Fences (E) and (F) pair: either the waiter sees the permit, or the releaser sees the
    /// waiter and notifies it under the lock the waiter holds until it sleeps.
    pub(crate) fn acquire(&self) -> bool {
        loop {
            if self.try_acquire() {
                return true;
            }
            if self.closed.load(SeqCst) {
                return false;
            }
            let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.waiters.fetch_add(1, SeqCst);
            fence(SeqCst);
            if self.permits.load(SeqCst) == 0 && !self.closed.load(SeqCst) {
                drop(wait(&self.cv, guard));
            } else {
                drop(guard);
            }
            self.waiters.fetch_sub(1, SeqCst);
        }
    }

    fn release(&self) {
        self.permits.fetch_add(1, SeqCst);
        fence(SeqCst);
        if self.waiters.load(SeqCst) > 0 {
            drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
            self.cv.notify_one();
        }
    }

    /// Pushes a task whose caller holds a permit.
    pub(crate) fn push(&self, task: Task) {
        self.queue.push(task);
    }

    /// Takes the oldest closure out and returns its permit.
    pub(crate) fn pop(&self) -> Option<Task> {
        let task = self.queue.pop()?;
        self.release();
        Some(task)
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Shutdown: waiters stop waiting (their closures are cancelled).
    pub(crate) fn close(&self) {
        self.closed.store(true, SeqCst);
        drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
        self.cv.notify_all();
    }
}

#[cfg(not(loom))]
fn wait<'a>(cv: &Condvar, g: std::sync::MutexGuard<'a, ()>) -> std::sync::MutexGuard<'a, ()> {
    // The timeout only bounds the cost of a missed notification; correctness does not need it.
    cv.wait_timeout(g, Duration::from_millis(50))
        .unwrap_or_else(|e| e.into_inner())
        .0
}

#[cfg(loom)]
fn wait<'a>(cv: &Condvar, g: loom::sync::MutexGuard<'a, ()>) -> loom::sync::MutexGuard<'a, ()> {
    let _ = Duration::ZERO;
    cv.wait(g).unwrap()
}

/// Why [`try_spawn_blocking`] did not take the closure; the closure comes back.
///
/// # Examples
///
/// ```
/// use umcg::task::TrySpawnError;
/// let rt = umcg::runtime::Builder::new().blocking_queue_capacity(1).build().unwrap();
/// let mut results = Vec::new();
/// for _ in 0..1000 {
///     match rt.handle().try_spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(1))) {
///         Ok(h) => results.push(h),
///         Err(TrySpawnError::Full(f)) => { f(); }
///         Err(e) => panic!("{e}"),
///     }
/// }
/// for h in results { rt.block_on(h).unwrap(); }
/// ```
pub enum TrySpawnError<F> {
    /// The blocking queue is full: every permit is taken by a closure not started yet.
    Full(F),
    /// The runtime is shutting down.
    Shutdown(F),
}

impl<F> TrySpawnError<F> {
    /// The closure that was not spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let h = rt.handle().clone();
    /// rt.shutdown_background();
    /// let f = h.try_spawn_blocking(|| 5).unwrap_err().into_inner();
    /// assert_eq!(f(), 5);
    /// ```
    pub fn into_inner(self) -> F {
        match self {
            Self::Full(f) | Self::Shutdown(f) => f,
        }
    }
}

impl<F> fmt::Debug for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Shutdown(_) => f.write_str("Shutdown(..)"),
        }
    }
}

impl<F> fmt::Display for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("the blocking queue is full"),
            Self::Shutdown(_) => f.write_str("the runtime is shutting down"),
        }
    }
}

impl<F> std::error::Error for TrySpawnError<F> {}

/// Runs `f` on the current runtime's blocking queue, unless the queue is full.
///
/// See the module documentation for what "full" means.
///
/// # Panics
///
/// Outside a runtime context.
///
/// # Examples
///
/// ```
/// let rt = umcg::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let h = umcg::task::try_spawn_blocking(|| 1 + 1).unwrap();
///     assert_eq!(h.await.unwrap(), 2);
/// });
/// ```
pub fn try_spawn_blocking<F, R>(f: F) -> Result<crate::task::JoinHandle<R>, TrySpawnError<F>>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    crate::runtime::Handle::current().try_spawn_blocking(f)
}
