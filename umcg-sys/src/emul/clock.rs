//! Absolute deadlines in a task's registered clock.

use std::time::Duration;

/// The clocks `umcg_ctl(REGISTER)` accepts.
pub(crate) fn is_valid(clock: libc::clockid_t) -> bool {
    matches!(
        clock,
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME | libc::CLOCK_TAI
    )
}

/// Now, in nanoseconds of `clock`.
pub(crate) fn now_ns(clock: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock was validated at registration.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// An absolute `umcg_wait` timeout (0 = none) in a given clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    clock: libc::clockid_t,
    abs_ns: i64,
}

impl Deadline {
    pub(crate) fn new(clock: libc::clockid_t, abs_ns: i64) -> Self {
        Self { clock, abs_ns }
    }

    /// Time left; `Some(Duration::MAX)` without a timeout, `None` once it has passed.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        if self.abs_ns == 0 {
            return Some(Duration::MAX);
        }
        let left = self.abs_ns - now_ns(self.clock);
        (left > 0).then(|| Duration::from_nanos(left as u64))
    }
}

/// `Some(d)` unless `d` is `Duration::MAX` (meaning: sleep without a limit).
pub(crate) fn finite(d: Duration) -> Option<Duration> {
    (d != Duration::MAX).then_some(d)
}
