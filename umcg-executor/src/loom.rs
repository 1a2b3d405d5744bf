//! The one place atomics, locks, cells and threads are imported from: `std` normally, `loom`'s
//! model-checked doubles under `cfg(loom)`.
//!
//! Every lock-free structure of the crate (`sched::queue`, `sched::idle`, `task::state`,
//! `park`) imports through here, so `RUSTFLAGS="--cfg loom" cargo test --release loom` checks
//! them under every interleaving loom explores.

#[cfg(not(loom))]
pub(crate) use std::sync::{atomic, Condvar, Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::{atomic, Condvar, Mutex, MutexGuard};

/// An `UnsafeCell` with loom's closure API (`with`, `with_mut`) on both sides, so access sites
/// read the same whether loom tracks them or not.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
