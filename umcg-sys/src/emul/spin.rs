//! A spin lock whose waiters never sleep in the kernel.
//!
//! It guards one worker's block detector. A worker takes it on its own way into the emulation;
//! a futex-based mutex could put the worker to sleep there, and that sleep would itself show up
//! as a "blocked" switch record. Waiters spin, then `sched_yield()`, which perf reports as a
//! preemption, not a block.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

/// A value behind a spin lock.
#[derive(Debug, Default)]
pub(crate) struct Spin<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&mut T` to one holder at a time (Acquire on lock pairs with
// Release on unlock), so `Spin<T>` is `Sync` when `T` can be sent between threads.
unsafe impl<T: Send> Sync for Spin<T> {}

impl<T> Spin<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock if it is free.
    pub(crate) fn try_lock(&self) -> Option<SpinGuard<'_, T>> {
        // `then`, not `then_some`: a guard built for a failed attempt would unlock the holder's
        // lock when dropped.
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            .then(|| SpinGuard { lock: self })
    }

    /// Takes the lock, spinning and yielding until it is free.
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        let mut spins = 0u32;
        loop {
            if let Some(g) = self.try_lock() {
                return g;
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Holder of a [`Spin`] lock.
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a Spin<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves exclusive ownership of the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves exclusive ownership of the lock.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::Spin;

    #[test]
    fn a_failed_try_lock_leaves_the_holder_holding() {
        let s = Spin::new(0u32);
        let held = s.lock();
        assert!(s.try_lock().is_none());
        assert!(
            s.try_lock().is_none(),
            "the failed attempt released the lock"
        );
        drop(held);
        assert!(s.try_lock().is_some());
    }

    #[test]
    fn failed_try_locks_do_not_break_exclusion() {
        let s = std::sync::Arc::new(Spin::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        drop(s.try_lock());
                        let mut g = s.lock();
                        let v = *g;
                        std::hint::spin_loop();
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*s.lock(), 80_000);
    }
}
