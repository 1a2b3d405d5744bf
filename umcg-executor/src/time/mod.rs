//! Timers: [`sleep`], [`sleep_until`] and [`timeout`].
//!
//! Deadlines live in a per-runtime heap (`driver`) that the servers' `umcg_wait` timeouts
//! drive; there is no timer thread. The futures must be created inside a runtime context (a
//! task, `block_on`, or after `Runtime::enter`), and work with any waker.

pub(crate) mod driver;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::runtime::Handle;

/// Waits until `duration` has elapsed.
///
/// # Panics
///
/// When first polled outside a runtime context (creating it anywhere is fine).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// let rt = umcg::runtime::Runtime::new().unwrap();
/// let start = Instant::now();
/// rt.block_on(umcg::time::sleep(Duration::from_millis(10)));
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now() + duration)
}

/// Waits until `deadline`.
///
/// # Panics
///
/// When first polled outside a runtime context (creating it anywhere is fine).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// let rt = umcg::runtime::Runtime::new().unwrap();
/// let at = Instant::now() + Duration::from_millis(5);
/// rt.block_on(umcg::time::sleep_until(at));
/// assert!(Instant::now() >= at);
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        handle: Handle::try_current().ok(),
        entry: None,
    }
}

/// The future of [`sleep`] and [`sleep_until`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = umcg::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let mut s = umcg::time::sleep(Duration::from_secs(3600));
///     s.reset(std::time::Instant::now());
///     s.await;
/// });
/// ```
pub struct Sleep {
    deadline: Instant,
    /// The runtime whose timers drive this sleep: the context at creation, else at first poll.
    handle: Option<Handle>,
    entry: Option<Arc<driver::Entry>>,
}

impl Sleep {
    /// When this sleep completes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let _guard = rt.enter();
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(umcg::time::sleep_until(at).deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let _guard = rt.enter();
    /// assert!(umcg::time::sleep(std::time::Duration::ZERO).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Moves the deadline (earlier or later).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mut s = umcg::time::sleep(Duration::from_secs(3600));
    ///     s.reset(Instant::now() + Duration::from_millis(1));
    ///     s.await;
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        if let Some(e) = self.entry.take() {
            e.cancel();
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        match &self.entry {
            Some(e) => {
                if e.set_waker(cx.waker()) {
                    return Poll::Ready(());
                }
            }
            None => {
                let handle = match self.handle.take() {
                    Some(h) => h,
                    None => Handle::current(),
                };
                let shared = handle.shared.clone();
                self.handle = Some(handle);
                let at = shared.timers.to_ns(self.deadline);
                let (entry, earlier) = shared.timers.register(at, cx.waker());
                self.entry = Some(entry);
                if earlier {
                    shared.notify_one();
                }
            }
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(e) = self.entry.take() {
            e.cancel();
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Runs `future` for at most `duration`; [`Elapsed`] if it did not finish in time (the future
/// is then dropped).
///
/// # Panics
///
/// When first polled outside a runtime context.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let rt = umcg::runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let slow = umcg::time::timeout(Duration::from_millis(5), std::future::pending::<()>()).await;
///     assert!(slow.is_err());
///     let fast = umcg::time::timeout(Duration::from_secs(5), async { 1 }).await;
///     assert_eq!(fast.unwrap(), 1);
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// The future of [`timeout`].
///
/// # Examples
///
/// ```
/// let rt = umcg::runtime::Runtime::new().unwrap();
/// let t = rt.block_on(async { umcg::time::timeout(std::time::Duration::from_secs(1), async { 3 }).await });
/// assert_eq!(t.unwrap(), 3);
/// ```
#[pin_project::pin_project]
#[derive(Debug)]
pub struct Timeout<F> {
    #[pin]
    future: F,
    sleep: Sleep,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        Pin::new(this.sleep).poll(cx).map(|()| Err(Elapsed(())))
    }
}

/// The error of [`timeout`]: the deadline passed first.
///
/// # Examples
///
/// ```
/// let rt = umcg::runtime::Runtime::new().unwrap();
/// let e = rt.block_on(umcg::time::timeout(std::time::Duration::ZERO, std::future::pending::<()>()));
/// assert_eq!(e.unwrap_err().to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}
