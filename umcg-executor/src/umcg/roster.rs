//! [`Roster`]: a server's workers by `umcg_task` address (what runnable-list links name), in a
//! sorted vector whose capacity is fixed when the server starts.
//!
//! A server must not allocate or free once its workers run (see `spawner`): a hash map may
//! reallocate when it rehashes even below its nominal capacity, a sorted vector within its
//! capacity never does. Lookups are a binary search; inserts and removals shift at most
//! `max_workers` pointers and happen only when a thread starts or ends.

use std::sync::Arc;

/// See the module documentation.
pub(crate) struct Roster<T> {
    by_addr: Vec<(u64, Arc<T>)>,
}

impl<T> Roster<T> {
    /// An empty roster for at most `capacity` values (allocates now, never later).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            by_addr: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by_addr.len()
    }

    /// Adds `value` under `addr`. Panics beyond the capacity (the worker limit rules it out:
    /// growing here would allocate on the server).
    pub(crate) fn insert(&mut self, addr: u64, value: Arc<T>) {
        assert!(
            self.by_addr.len() < self.by_addr.capacity(),
            "more workers than the worker limit"
        );
        match self.by_addr.binary_search_by_key(&addr, |(a, _)| *a) {
            Ok(i) => self.by_addr[i].1 = value,
            Err(i) => self.by_addr.insert(i, (addr, value)),
        }
    }

    /// The value under `addr`.
    pub(crate) fn get(&self, addr: u64) -> Option<&Arc<T>> {
        let i = self.by_addr.binary_search_by_key(&addr, |(a, _)| *a).ok()?;
        Some(&self.by_addr[i].1)
    }

    /// Removes and returns the value under `addr`.
    pub(crate) fn remove(&mut self, addr: u64) -> Option<Arc<T>> {
        let i = self.by_addr.binary_search_by_key(&addr, |(a, _)| *a).ok()?;
        Some(self.by_addr.remove(i).1)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Roster;
    use std::sync::Arc;

    #[test]
    fn finds_inserts_and_removes_by_address() {
        let mut r = Roster::with_capacity(4);
        for a in [30, 10, 20] {
            r.insert(a, Arc::new(a * 2));
        }
        assert_eq!(r.len(), 3);
        assert_eq!(r.get(20).map(|v| **v), Some(40));
        assert!(r.get(15).is_none());
        assert_eq!(r.remove(10).map(|v| *v), Some(20));
        assert!(r.remove(10).is_none());
        assert_eq!(r.get(30).map(|v| **v), Some(60));
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn never_grows_past_its_capacity() {
        let mut r = Roster::with_capacity(2);
        let ptr = r.by_addr.as_ptr();
        r.insert(2, Arc::new(()));
        r.insert(1, Arc::new(()));
        r.remove(2);
        r.insert(3, Arc::new(()));
        assert_eq!(r.by_addr.as_ptr(), ptr);
        let full = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            r.insert(4, Arc::new(()));
        }));
        assert!(full.is_err());
    }
}
