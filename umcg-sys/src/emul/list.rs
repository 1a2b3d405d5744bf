//! The kernel's list push onto a server's `runnable_workers_ptr` / `blocked_workers_ptr`.
//!
//! Nodes are addresses of `umcg_task`s; a node's link is its own list field. Push order, as the
//! kernel does it: (1) write the current head into the node's link, (2) cmpxchg the head from
//! that value to the node, retry (1)–(2) on failure. The list is well formed at every instant,
//! so user space can detach all of it with one atomic swap of the head with 0 and walk it.
//!
//! The SeqCst cmpxchg is a full barrier: it publishes the link store and the state change made
//! before the push (pairs with the user's SeqCst swap of the head, `umcg-abi.md` §4.2 rule 1).
//! Model-checked with loom (`RUSTFLAGS="--cfg loom" cargo test -p umcg-sys --lib list`).

use std::sync::atomic::{AtomicU64, Ordering};

/// A 64-bit word the push works on: the std atomic on user memory, or loom's in the model.
pub(crate) trait Word {
    fn load(&self) -> u64;
    fn store(&self, v: u64);
    fn cas(&self, cur: u64, new: u64) -> Result<u64, u64>;
}

impl Word for AtomicU64 {
    fn load(&self) -> u64 {
        AtomicU64::load(self, Ordering::SeqCst)
    }
    fn store(&self, v: u64) {
        AtomicU64::store(self, v, Ordering::Relaxed)
    }
    fn cas(&self, cur: u64, new: u64) -> Result<u64, u64> {
        self.compare_exchange(cur, new, Ordering::SeqCst, Ordering::SeqCst)
    }
}

#[cfg(all(test, loom))]
impl Word for loom::sync::atomic::AtomicU64 {
    fn load(&self) -> u64 {
        loom::sync::atomic::AtomicU64::load(self, Ordering::SeqCst)
    }
    fn store(&self, v: u64) {
        loom::sync::atomic::AtomicU64::store(self, v, Ordering::Relaxed)
    }
    fn cas(&self, cur: u64, new: u64) -> Result<u64, u64> {
        self.compare_exchange(cur, new, Ordering::SeqCst, Ordering::SeqCst)
    }
}

/// Pushes `node` (whose link word is `link`) onto the list headed by `head`: the link is
/// written (Relaxed) before the SeqCst cmpxchg publishes the node.
pub(crate) fn push<W: Word>(head: &W, node: u64, link: &W) {
    let mut cur = head.load();
    loop {
        link.store(cur);
        match head.cas(cur, node) {
            Ok(_) => return,
            Err(now) => cur = now,
        }
    }
}

#[cfg(all(test, loom))]
mod loom_model {
    use super::push;
    use loom::sync::atomic::{AtomicU64, Ordering};
    use loom::sync::Arc;

    /// Two pushers race with a user-space consumer that detaches the whole list twice: every
    /// node is seen exactly once, and every walk ends (no cycle, no torn link).
    #[test]
    fn push_races_with_pop_all() {
        loom::model(|| {
            let head = Arc::new(AtomicU64::new(0));
            let links: Arc<[AtomicU64; 3]> =
                Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
            let pushers: Vec<_> = (1..=2u64)
                .map(|node| {
                    let (head, links) = (head.clone(), links.clone());
                    loom::thread::spawn(move || push(&*head, node, &links[node as usize]))
                })
                .collect();
            let mut seen = Vec::new();
            let pop_all = |seen: &mut Vec<u64>| {
                let mut n = head.swap(0, Ordering::SeqCst);
                while n != 0 {
                    assert!(!seen.contains(&n), "node {n} seen twice");
                    seen.push(n);
                    n = links[n as usize].swap(0, Ordering::SeqCst);
                }
            };
            pop_all(&mut seen);
            for p in pushers {
                p.join().unwrap();
            }
            pop_all(&mut seen);
            seen.sort();
            assert_eq!(seen, vec![1, 2]);
        });
    }
}
