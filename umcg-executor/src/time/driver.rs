//! The timer heap of a runtime, driven by the servers' wait deadlines.
//!
//! There is no timer thread. A `Sleep` registers its deadline here; the earliest deadline is
//! mirrored in an atomic (`next`) that servers read without the lock: an idle server passes it
//! to `umcg_wait` as its absolute `CLOCK_MONOTONIC` timeout, and when it expires the server
//! starts a driver, which fires the due timers (`fire_due`). Registering a deadline earlier than
//! every other wakes a sleeping server so it sleeps for the shorter time.
//!
//! All idle servers sleep until the same earliest deadline (a small herd on 2–8 servers, traded
//! for not having to elect a timekeeper).

#![allow(unsafe_code)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Instant;

/// One registered deadline, shared with its `Sleep`.
#[derive(Debug, Default)]
pub(crate) struct Entry {
    fired: AtomicBool,
    cancelled: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Entry {
    pub(crate) fn fired(&self) -> bool {
        self.fired.load(Acquire)
    }

    /// Updates the waker; returns whether the timer fired meanwhile.
    pub(crate) fn set_waker(&self, w: &Waker) -> bool {
        let mut slot = self.waker.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some(old) if old.will_wake(w) => {}
            _ => *slot = Some(w.clone()),
        }
        drop(slot);
        self.fired()
    }

    /// The `Sleep` is gone: the heap drops the entry when it comes due.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Release);
        self.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

struct Due {
    at: u64,
    seq: u64,
    entry: Arc<Entry>,
}

impl PartialEq for Due {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Due {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// See the module documentation. Times are `CLOCK_MONOTONIC` nanoseconds.
pub(crate) struct Timers {
    heap: Mutex<(BinaryHeap<Reverse<Due>>, u64)>,
    next: AtomicU64,
    base_instant: Instant,
    base_ns: u64,
}

/// `CLOCK_MONOTONIC` now, in nanoseconds (the clock UMCG tasks are registered with).
pub(crate) fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into a live local.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Timers {
    pub(crate) fn new() -> Self {
        Self {
            heap: Mutex::new((BinaryHeap::new(), 0)),
            next: AtomicU64::new(u64::MAX),
            base_instant: Instant::now(),
            base_ns: now_ns(),
        }
    }

    /// Converts an `Instant` to this clock.
    pub(crate) fn to_ns(&self, t: Instant) -> u64 {
        match t.checked_duration_since(self.base_instant) {
            Some(d) => self.base_ns.saturating_add(d.as_nanos() as u64),
            None => self
                .base_ns
                .saturating_sub((self.base_instant - t).as_nanos() as u64),
        }
    }

    /// The earliest registered deadline (`u64::MAX`: none).
    pub(crate) fn next_deadline(&self) -> u64 {
        self.next.load(SeqCst)
    }

    /// Whether a timer is due now.
    pub(crate) fn due(&self) -> bool {
        let next = self.next_deadline();
        next != u64::MAX && next <= now_ns()
    }

    /// Registers `at`; returns the entry and whether it became the earliest deadline (the
    /// caller then wakes a sleeping server).
    pub(crate) fn register(&self, at: u64, waker: &Waker) -> (Arc<Entry>, bool) {
        let entry = Arc::new(Entry {
            waker: Mutex::new(Some(waker.clone())),
            ..Entry::default()
        });
        let mut heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        heap.1 += 1;
        let seq = heap.1;
        heap.0.push(Reverse(Due {
            at,
            seq,
            entry: entry.clone(),
        }));
        let earlier = at < self.next.load(SeqCst);
        if earlier {
            self.next.store(at, SeqCst);
        }
        (entry, earlier)
    }

    /// Fires every timer due at `now_ns()`; returns how many wakers it called.
    pub(crate) fn fire_due(&self) -> usize {
        if !self.due() {
            return 0;
        }
        let now = now_ns();
        let mut wakers = Vec::new();
        {
            let mut heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
            while let Some(Reverse(top)) = heap.0.peek() {
                if top.at > now {
                    break;
                }
                let Reverse(due) = heap.0.pop().expect("peeked");
                due.entry.fired.store(true, Release);
                if !due.entry.cancelled.load(Acquire) {
                    if let Some(w) = due
                        .entry
                        .waker
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .take()
                    {
                        wakers.push(w);
                    }
                }
            }
            let next = heap.0.peek().map_or(u64::MAX, |Reverse(d)| d.at);
            self.next.store(next, SeqCst);
        }
        let n = wakers.len();
        for w in wakers {
            w.wake();
        }
        n
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{now_ns, Timers};
    use std::sync::{Arc, Mutex};
    use std::task::{Wake, Waker};

    struct Record(u64, Arc<Mutex<Vec<u64>>>);

    impl Wake for Record {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    #[test]
    fn due_timers_fire_in_deadline_order_and_others_wait() {
        let timers = Timers::new();
        let fired = Arc::new(Mutex::new(Vec::new()));
        let now = now_ns();
        let mut entries = Vec::new();
        for ago in [40u64, 10, 30, 20] {
            let w = Waker::from(Arc::new(Record(ago, fired.clone())));
            entries.push(timers.register(now - ago * 1_000_000, &w).0);
        }
        let later = Waker::from(Arc::new(Record(0, fired.clone())));
        let (pending, _) = timers.register(now + 3_600_000_000_000, &later);
        assert!(timers.due());
        assert_eq!(timers.fire_due(), 4);
        assert_eq!(*fired.lock().unwrap(), vec![40, 30, 20, 10]);
        assert!(entries.iter().all(|e| e.fired()));
        assert!(!pending.fired());
        assert!(!timers.due());
        assert_eq!(timers.next_deadline(), now + 3_600_000_000_000);
    }

    #[test]
    fn a_cancelled_timer_does_not_wake() {
        let timers = Timers::new();
        let fired = Arc::new(Mutex::new(Vec::new()));
        let w = Waker::from(Arc::new(Record(1, fired.clone())));
        let (e, earliest) = timers.register(now_ns() - 1, &w);
        assert!(earliest);
        e.cancel();
        assert_eq!(timers.fire_due(), 0);
        assert!(fired.lock().unwrap().is_empty());
    }
}
