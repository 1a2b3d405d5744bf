//! [`JoinHandle`]: the awaitable, abortable side of a spawned task.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::core::Join;
use super::{Id, JoinError};

/// An owned permission to await a task's output, returned by `spawn` and `spawn_blocking`.
///
/// Awaiting it yields `Ok(output)`, or a [`JoinError`] when the task panicked or was
/// cancelled. Dropping it *detaches* the task: the task keeps running and its output is dropped.
/// It is `Unpin` and works with any executor and any waker (it is an ordinary `Future`).
///
/// # Examples
///
/// ```
/// let rt = umcg::runtime::Runtime::new().unwrap();
/// let h = rt.spawn(async { 6 * 7 });
/// assert_eq!(rt.block_on(h).unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    raw: Arc<dyn Join<T>>,
    done: bool,
    _output: PhantomData<fn() -> T>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: Arc<dyn Join<T>>) -> Self {
        Self {
            raw,
            done: false,
            _output: PhantomData,
        }
    }

    /// Cancels the task. An async task is dropped at its next scheduling point (at once if it
    /// is not being polled) and the handle then yields [`JoinError::is_cancelled`]. A blocking
    /// closure can be cancelled only before it starts; once it runs, `abort` has no effect. A
    /// task that already completed keeps its output.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// h.abort();
    /// assert!(rt.block_on(h).unwrap_err().is_cancelled());
    /// ```
    pub fn abort(&self) {
        self.raw.clone().abort();
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let h = rt.spawn(async {});
    /// while !h.is_finished() { std::thread::yield_now(); }
    /// rt.block_on(h).unwrap();
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.is_finished()
    }

    /// The task's id.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let (a, b) = (rt.spawn(async {}), rt.spawn(async {}));
    /// assert_ne!(a.id(), b.id());
    /// ```
    pub fn id(&self) -> Id {
        self.raw.id()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(!self.done, "JoinHandle polled after completion");
        let out = self.raw.poll_join(cx);
        if out.is_ready() {
            self.done = true;
        }
        out
    }
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
