//! The runtime: [`Runtime`], [`Builder`], [`Handle`], and the free functions that use the
//! current context.
//!
//! # Shutdown
//!
//! Dropping a [`Runtime`] (or [`Runtime::shutdown_timeout`], [`Runtime::shutdown_background`]):
//!
//! 1. sets the shutdown flag: tasks spawned from now on are cancelled at once, and so are
//!    `spawn_blocking` callers waiting for room in the blocking queue;
//! 2. cancels every live task (the registry holds them all): an idle or queued task is dropped
//!    on the calling thread; a task being polled is dropped when that poll returns; a blocking
//!    closure not started yet is cancelled, a started one runs to its end. Every `JoinHandle`
//!    therefore resolves: output, panic, or `Cancelled`. Nothing is lost silently;
//! 3. wakes every server; each finishes what its workers hold (polls and closures already
//!    started), retires its idle workers, and exits once no worker is out;
//! 4. waits until every server has nothing left to run but workers **blocked in the kernel**
//!    (or the deadline passes). Those workers finish in the background: their server stays
//!    (a UMCG worker needs a live server to return from its syscall), runs them to the end of
//!    their job, then exits. So shutdown completes even when workers are stuck in `read()`.
//!
//! Dropping a runtime from inside one of its own tasks does not wait (step 4 would wait for the
//! caller itself).

mod builder;
pub(crate) mod context;
mod handle;
mod metrics;

use std::future::Future;
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use builder::Builder;
pub use handle::{Handle, TryCurrentError};
pub use metrics::RuntimeMetrics;

use crate::park::Parker;
use crate::task::JoinHandle;

/// Thread start/stop callbacks.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) on_thread_start: Option<Arc<dyn Fn() + Send + Sync>>,
    pub(crate) on_thread_stop: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// A running runtime: servers (CPU tokens), their workers, the monitor.
///
/// # Examples
///
/// ```
/// use umcg::runtime::Runtime;
///
/// let rt = Runtime::new().unwrap();
/// let sum = rt.block_on(async {
///     let a = umcg::spawn(async { 20 });
///     let b = umcg::spawn_blocking(|| 22);
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(sum, 42);
/// ```
#[derive(Debug)]
pub struct Runtime {
    handle: Handle,
    shut: bool,
}

impl Runtime {
    /// A runtime with the default [`Builder`] settings.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn new() -> std::io::Result<Self> {
        Builder::new().build()
    }

    /// Runs a future to completion on the calling thread, with this runtime as its context
    /// (tasks it spawns run on the runtime's workers).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Spawns an async task.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs a blocking closure on a worker (see [`Handle::spawn_blocking`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(rt.spawn_blocking(|| 4)).unwrap(), 4);
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// The runtime's handle.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let h = rt.handle().clone();
    /// assert_eq!(h.block_on(async { 5 }), 5);
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Makes this runtime the current context until the guard drops.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let _g = rt.enter();
    /// let h = umcg::spawn(async {});
    /// rt.block_on(h).unwrap();
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// Shuts down (see the module documentation), waiting at most `timeout` for the servers
    /// to finish what is not blocked in the kernel.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// // A worker stuck for an hour does not hold up the shutdown.
    /// rt.spawn_blocking(|| std::thread::sleep(Duration::from_secs(3600)));
    /// rt.shutdown_timeout(Duration::from_secs(5));
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(Instant::now() + timeout));
    }

    /// Shuts down without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// rt.shutdown_background();
    /// ```
    pub fn shutdown_background(mut self) {
        self.shutdown(Some(Instant::now()));
    }

    fn shutdown(&mut self, deadline: Option<Instant>) {
        if std::mem::replace(&mut self.shut, true) {
            return;
        }
        let shared = &self.handle.shared;
        shared.begin_shutdown();
        if context::server_of(shared).is_none() {
            shared.wait_quiescent(deadline);
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

/// Keeps a runtime the current context; see [`Runtime::enter`].
///
/// # Examples
///
/// ```
/// let rt = umcg::runtime::Runtime::new().unwrap();
/// let guard: umcg::runtime::EnterGuard<'_> = rt.enter();
/// drop(guard);
/// assert!(umcg::runtime::Handle::try_current().is_err());
/// ```
#[derive(Debug)]
pub struct EnterGuard<'a> {
    prev: Option<Option<Handle>>,
    _runtime: PhantomData<&'a Handle>,
}

impl EnterGuard<'_> {
    fn new(prev: Option<Handle>) -> Self {
        Self {
            prev: Some(prev),
            _runtime: PhantomData,
        }
    }
}

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            context::restore(prev);
        }
    }
}

/// Spawns an async task on the current runtime.
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
///     let h = umcg::spawn(async { 10 });
///     assert_eq!(h.await.unwrap(), 10);
/// });
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Handle::current().spawn(future)
}

/// Runs a blocking closure on a worker of the current runtime, waiting for room when the
/// blocking queue is full (see [`Handle::spawn_blocking`]).
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
///     let n = umcg::spawn_blocking(|| std::fs::read_dir("/").unwrap().count()).await.unwrap();
///     assert!(n > 0);
/// });
/// ```
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    Handle::current().spawn_blocking(f)
}

/// Runs a future to completion on the calling thread, parking it while the future waits. Needs
/// no runtime (a runtime context entered on this thread stays entered).
///
/// # Examples
///
/// ```
/// let (tx, rx) = futures::channel::oneshot::channel();
/// std::thread::spawn(move || tx.send(8).unwrap());
/// assert_eq!(umcg::block_on(rx).unwrap(), 8);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let parker = Parker::new();
    let waker = parker.waker();
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        parker.park();
    }
}

/// Lets other tasks run: returns `Pending` once (after waking itself), then `Ready`.
///
/// # Examples
///
/// ```
/// let rt = umcg::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     for _ in 0..10 {
///         umcg::yield_now().await;
///     }
/// });
/// ```
pub async fn yield_now() {
    YieldNow(false).await
}

struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
