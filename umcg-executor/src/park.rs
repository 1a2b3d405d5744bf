//! Parking a thread that is not a runtime worker (`block_on` from outside), and the waker that
//! unparks it.
//!
//! The protocol is a three-state word plus a mutex and condvar:
//!
//! ```text
//!   parker (CPU0)                          unparker (CPU1)
//!   CAS NOTIFIED -> EMPTY: done            swap(NOTIFIED)  (SeqCst, A)
//!   lock                                   was PARKED?  lock; unlock  (B)
//!   CAS EMPTY -> PARKED   (SeqCst)                      notify_one
//!   wait on condvar while the word is
//!   not NOTIFIED; then store EMPTY
//! ```
//!
//! The unparker's lock/unlock (B) orders its `notify_one` after the parker's `wait` started
//! (the parker holds the lock from its CAS to PARKED until `wait` releases it), so the wakeup
//! cannot fall in between; a token (NOTIFIED) that arrives before `park` makes it return at once.

use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Instant;

use crate::loom::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::{Condvar, Mutex};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

/// Parks the thread that owns it until a [`Waker`] from [`Parker::waker`] fires.
#[derive(Debug, Clone)]
pub(crate) struct Parker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                lock: Mutex::new(()),
                cvar: Condvar::new(),
            }),
        }
    }

    /// A waker that unparks this parker (from any thread, any number of times).
    pub(crate) fn waker(&self) -> Waker {
        Waker::from(self.inner.clone())
    }

    /// Consumes a pending notification, or sleeps until one arrives.
    pub(crate) fn park(&self) {
        self.park_until(None);
    }

    /// As [`Parker::park`], but returns at `deadline` at the latest.
    pub(crate) fn park_until(&self, deadline: Option<Instant>) {
        let inner = &*self.inner;
        if inner
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        let mut guard = inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        if inner
            .state
            .compare_exchange(EMPTY, PARKED, SeqCst, SeqCst)
            .is_err()
        {
            inner.state.store(EMPTY, SeqCst);
            return;
        }
        loop {
            guard = match deadline {
                None => inner.cvar.wait(guard).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        // Timed out: leave PARKED, unless a notification raced in.
                        inner.state.store(EMPTY, SeqCst);
                        return;
                    }
                    wait_timeout(&inner.cvar, guard, left)
                }
            };
            if inner
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
        }
    }
}

#[cfg(not(loom))]
fn wait_timeout<'a>(
    cvar: &Condvar,
    guard: std::sync::MutexGuard<'a, ()>,
    left: std::time::Duration,
) -> std::sync::MutexGuard<'a, ()> {
    cvar.wait_timeout(guard, left)
        .unwrap_or_else(|e| e.into_inner())
        .0
}

#[cfg(loom)]
fn wait_timeout<'a>(
    cvar: &Condvar,
    guard: loom::sync::MutexGuard<'a, ()>,
    _left: std::time::Duration,
) -> loom::sync::MutexGuard<'a, ()> {
    cvar.wait(guard).unwrap()
}

impl Inner {
    fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            _ => {
                // (B): see the module documentation.
                drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
                self.cvar.notify_one();
            }
        }
    }
}

impl Wake for Inner {
    fn wake(self: Arc<Self>) {
        self.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.unpark();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Parker;

    #[test]
    fn token_before_park_returns_at_once() {
        let p = Parker::new();
        p.waker().wake();
        p.park();
    }

    #[test]
    fn wake_from_another_thread() {
        let p = Parker::new();
        let w = p.waker();
        let t = std::thread::spawn(move || w.wake());
        p.park();
        t.join().unwrap();
    }

    #[test]
    fn park_until_times_out() {
        let p = Parker::new();
        p.park_until(Some(
            std::time::Instant::now() + std::time::Duration::from_millis(5),
        ));
    }
}
