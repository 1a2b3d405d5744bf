//! The floor: a futex wake + wait round trip between two threads, the cheapest kernel handoff a
//! thread pool can do. Pinned to one CPU it is two same-CPU context switches, the figure a UMCG
//! server → worker → server cycle is compared with; across two CPUs it adds a remote wakeup.

use crate::stats::nanos;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Whose turn it is: 0 the pinger's, 1 the ponger's.
struct Turn(AtomicU32);

impl Turn {
    fn pass(&self, to: u32) {
        self.0.store(to, Ordering::Release);
        // SAFETY: FUTEX_WAKE on a live, aligned u32 owned by `self`; the other
        // arguments are ignored by this operation.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.0.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
            );
        }
    }

    fn wait_for(&self, mine: u32) {
        loop {
            let cur = self.0.load(Ordering::Acquire);
            if cur == mine {
                return;
            }
            // SAFETY: FUTEX_WAIT on a live, aligned u32 with a null timeout; it
            // returns at once if the value is no longer `cur`.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.0.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    cur,
                    std::ptr::null::<libc::timespec>(),
                );
            }
        }
    }
}

/// The number of CPUs this process may run on.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `iters` futex round trips between a thread pinned to `cpu_a` and one pinned to
/// `cpu_b`, and returns each round trip's latency in ns (measured on the `cpu_a` side).
///
/// Both threads are fresh, so the caller's affinity is untouched.
pub fn futex_round_trips(cpu_a: usize, cpu_b: usize, iters: usize) -> Vec<u64> {
    let turn = Arc::new(Turn(AtomicU32::new(0)));
    let ponger = {
        let turn = turn.clone();
        std::thread::spawn(move || {
            umcg_sys::cpu::pin_current_thread(cpu_b).expect("sched_setaffinity");
            for _ in 0..iters {
                turn.wait_for(1);
                turn.pass(0);
            }
        })
    };
    let pinger = std::thread::spawn(move || {
        umcg_sys::cpu::pin_current_thread(cpu_a).expect("sched_setaffinity");
        let mut lat = Vec::with_capacity(iters);
        for _ in 0..iters {
            let t0 = Instant::now();
            turn.pass(1);
            turn.wait_for(0);
            lat.push(nanos(t0.elapsed()));
        }
        lat
    });
    let lat = pinger.join().expect("pinger panicked");
    ponger.join().expect("ponger panicked");
    lat
}

/// The CPUs this process may run on, in increasing order.
pub fn allowed_cpus() -> Vec<usize> {
    umcg_sys::cpu::allowed().unwrap_or_else(|_| vec![0])
}
