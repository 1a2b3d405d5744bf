//! [`Stack`]: a lock-free stack of `Arc`s linked through the values themselves, for hand-offs
//! that must neither allocate nor take a lock (a server's side of the `spawner` protocol).
//!
//! Any number of threads [`push`](Stack::push); consumers only take the whole stack at once
//! ([`take_all`](Stack::take_all)). With no single-element pop there is no ABA problem: a node
//! is linked only by the thread that owns it and read only by the thread that took it.
//!
//! ```text
//!   pusher                                   consumer
//!   node.link = head          (Relaxed)
//!   CAS head: old -> node     (Release)  --> swap head -> null   (Acquire)
//!                                            walk the links, Arc::from_raw each node
//! ```
//!
//! The Release CAS pairs with the Acquire swap: the consumer sees every link written before the
//! push that published it, and the value behind it.

#![allow(unsafe_code)]

use std::ptr;
use std::sync::Arc;

use crate::loom::atomic::{AtomicPtr, Ordering::*};

/// A value that can be on one [`Stack`] at a time through its own link field.
pub(crate) trait Linked: Sized {
    /// The link field (owned by the stack while the value is on it).
    fn link(&self) -> &AtomicPtr<Self>;
}

/// See the module documentation.
pub(crate) struct Stack<T: Linked> {
    head: AtomicPtr<T>,
}

// SAFETY: the stack only moves `Arc<T>`s between threads (it never hands out `&T` while it
// owns a node), so it is as thread-safe as sending an `Arc<T>`.
unsafe impl<T: Linked + Send + Sync> Send for Stack<T> {}
// SAFETY: as above; every shared access goes through the atomic head.
unsafe impl<T: Linked + Send + Sync> Sync for Stack<T> {}

impl<T: Linked> Stack<T> {
    pub(crate) fn new() -> Self {
        Self {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Pushes `value`. Never allocates, never blocks; lock-free.
    pub(crate) fn push(&self, value: Arc<T>) {
        let node = Arc::into_raw(value).cast_mut();
        let mut head = self.head.load(Relaxed);
        loop {
            // SAFETY: `node` came from `Arc::into_raw` above and is not published yet, so this
            // thread owns its link.
            unsafe { (*node).link().store(head, Relaxed) };
            // Release: pairs with the Acquire swap in `take_all` (module documentation).
            match self
                .head
                .compare_exchange_weak(head, node, Release, Relaxed)
            {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Takes every value pushed so far (most recent first).
    pub(crate) fn take_all(&self) -> Drain<T> {
        // Acquire: pairs with the Release CAS in `push`.
        let head = self.head.swap(ptr::null_mut(), Acquire);
        Drain { next: head }
    }

    /// Whether the stack looks empty (a snapshot).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.load(Acquire).is_null()
    }
}

impl<T: Linked> Default for Stack<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Linked> Drop for Stack<T> {
    fn drop(&mut self) {
        drop(self.take_all());
    }
}

/// The values [`Stack::take_all`] took; values not iterated are released on drop.
pub(crate) struct Drain<T: Linked> {
    next: *mut T,
}

impl<T: Linked> Iterator for Drain<T> {
    type Item = Arc<T>;

    fn next(&mut self) -> Option<Arc<T>> {
        if self.next.is_null() {
            return None;
        }
        // SAFETY: every node on a taken chain came from `Arc::into_raw` in `push`, and the swap
        // in `take_all` made this drain its only owner: each is turned back into an `Arc`
        // exactly once, after its link is read.
        let value = unsafe {
            let node = self.next;
            self.next = (*node).link().load(Relaxed);
            Arc::from_raw(node)
        };
        Some(value)
    }
}

impl<T: Linked> Drop for Drain<T> {
    fn drop(&mut self) {
        for value in self.by_ref() {
            drop(value);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{Linked, Stack};
    use crate::loom::atomic::AtomicPtr;
    use std::sync::Arc;

    struct Node(u32, AtomicPtr<Node>);

    impl Linked for Node {
        fn link(&self) -> &AtomicPtr<Self> {
            &self.1
        }
    }

    fn node(v: u32) -> Arc<Node> {
        Arc::new(Node(v, AtomicPtr::default()))
    }

    #[test]
    fn takes_everything_pushed_most_recent_first() {
        let s = Stack::new();
        for v in 1..=3 {
            s.push(node(v));
        }
        let got: Vec<u32> = s.take_all().map(|n| n.0).collect();
        assert_eq!(got, [3, 2, 1]);
        assert!(s.is_empty());
        assert_eq!(s.take_all().count(), 0);
    }

    #[test]
    fn releases_what_is_left_on_drop() {
        let kept = node(7);
        let s = Stack::new();
        s.push(kept.clone());
        s.push(node(8));
        assert_eq!(Arc::strong_count(&kept), 2);
        let mut drain = s.take_all();
        assert_eq!(drain.next().map(|n| n.0), Some(8));
        drop(drain);
        assert_eq!(Arc::strong_count(&kept), 1);
        s.push(kept.clone());
        drop(s);
        assert_eq!(Arc::strong_count(&kept), 1);
    }

    #[test]
    fn concurrent_pushes_lose_nothing() {
        let s = Arc::new(Stack::new());
        let pushers: Vec<_> = (0..4)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || (0..1000).for_each(|i| s.push(node(t * 1000 + i))))
            })
            .collect();
        let mut got = Vec::new();
        while !pushers.iter().all(|p| p.is_finished()) {
            got.extend(s.take_all().map(|n| n.0));
        }
        pushers.into_iter().for_each(|p| p.join().unwrap());
        got.extend(s.take_all().map(|n| n.0));
        got.sort_unstable();
        assert_eq!(got, (0..4000).collect::<Vec<_>>());
    }
}
