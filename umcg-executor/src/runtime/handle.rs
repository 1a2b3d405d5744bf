//! [`Handle`]: a cloneable reference to a running runtime.

use std::fmt;
use std::future::Future;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;

use super::{context, EnterGuard, RuntimeMetrics};
use crate::blocking::TrySpawnError;
use crate::sched::Shared;
use crate::task::JoinHandle;

/// A handle to a runtime: spawn onto it, block on it, or read its metrics from any thread.
///
/// # Examples
///
/// ```
/// let rt = umcg::runtime::Runtime::new().unwrap();
/// let handle = rt.handle().clone();
/// let t = std::thread::spawn(move || handle.block_on(async { 2 }));
/// assert_eq!(t.join().unwrap(), 2);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

/// The error of [`Handle::try_current`]: no runtime context on this thread.
///
/// # Examples
///
/// ```
/// assert!(umcg::runtime::Handle::try_current().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("there is no umcg runtime context on this thread")
    }
}

impl std::error::Error for TryCurrentError {}

impl Handle {
    /// The runtime of the current context (a task, `block_on`, or [`Handle::enter`]).
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
    ///     let h = umcg::runtime::Handle::current();
    ///     h.spawn(async {}).await.unwrap();
    /// });
    /// ```
    pub fn current() -> Self {
        match Self::try_current() {
            Ok(h) => h,
            Err(e) => panic!("{e}: call this from a task, a block_on, or inside Runtime::enter"),
        }
    }

    /// As [`Handle::current`], without panicking.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let _g = rt.enter();
    /// assert!(umcg::runtime::Handle::try_current().is_ok());
    /// ```
    pub fn try_current() -> Result<Self, TryCurrentError> {
        context::current().ok_or(TryCurrentError(()))
    }

    /// Spawns an async task.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let h = rt.handle().spawn(async { "hi" });
    /// assert_eq!(rt.block_on(h).unwrap(), "hi");
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(future)
    }

    /// Runs a blocking closure on a worker. When the blocking queue is full, a runtime worker
    /// calling this runs queued closures itself until there is room, and any other thread
    /// waits (see [`crate::task::try_spawn_blocking`] for the non-waiting form).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let h = rt.handle().spawn_blocking(|| std::fs::metadata("/").is_ok());
    /// assert!(rt.block_on(h).unwrap());
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let shared = &self.shared;
        let b = &shared.blocking;
        if !b.try_acquire() {
            if let Some(here) = context::server_of(shared) {
                while !b.try_acquire() && !shared.is_shutdown() {
                    match shared.pop_blocking() {
                        Some(task) => crate::sched::homing::run(shared, task, here),
                        None => std::thread::yield_now(),
                    }
                }
            } else {
                // `false`: shut down; `start` below then cancels the closure.
                b.acquire();
            }
        }
        shared.spawn_blocking_permitted(f)
    }

    /// Runs a blocking closure on a worker, unless the blocking queue is full or the runtime
    /// shut down; the closure comes back in the error.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let h = rt.handle().try_spawn_blocking(|| 3).unwrap();
    /// assert_eq!(rt.block_on(h).unwrap(), 3);
    /// ```
    pub fn try_spawn_blocking<F, R>(&self, f: F) -> Result<JoinHandle<R>, TrySpawnError<F>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        if self.shared.is_shutdown() {
            return Err(TrySpawnError::Shutdown(f));
        }
        if !self.shared.blocking.try_acquire() {
            return Err(TrySpawnError::Full(f));
        }
        Ok(self.shared.spawn_blocking_permitted(f))
    }

    /// Runs a future to completion on the calling thread, with this runtime as its context.
    /// On a runtime worker this blocks that worker only: its server keeps running other tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.handle().block_on(async { 9 }), 9);
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _g = self.enter();
        super::block_on(future)
    }

    /// Makes this runtime the current context until the guard drops (so `umcg::spawn`,
    /// `sleep`, `Handle::current` work on a plain thread).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let _g = rt.handle().enter();
    /// let h = umcg::spawn(async { 1 });
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard::new(context::replace(Some(self.clone())))
    }

    /// A snapshot of the runtime's threads and queues.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// println!("{:?}", rt.handle().metrics());
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        let s = &self.shared;
        RuntimeMetrics {
            backend: s.umcg.name(),
            servers: s.servers.len(),
            workers: s.workers.load(SeqCst),
            idle_workers: s.servers.iter().map(|v| v.idle_workers.load(SeqCst)).sum(),
            blocking_queue_depth: s.blocking_len(),
            blocking_queue_capacity: s.blocking.capacity(),
            live_tasks: s.registry.len(),
            thread_spawn_failures: s.spawn_failures.load(SeqCst),
            last_thread_spawn_error: s
                .last_spawn_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("backend", &self.shared.umcg.name())
            .field("servers", &self.shared.servers.len())
            .finish()
    }
}
