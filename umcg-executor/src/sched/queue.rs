//! A bounded, lock-free, multi-producer multi-consumer FIFO of tasks.
//!
//! Every queue of the runtime is one of these: each server's local run queue (its driver pushes
//! and pops, idle servers steal from it), the injection queue for spawns and wakes from outside
//! the servers, and the blocking queue of `spawn_blocking` (whose bound *is* the backpressure).
//!
//! # Algorithm
//!
//! A ring of `capacity` slots (a power of two), each with a sequence number, and two counters:
//! `tail` (next position to push) and `head` (next position to pop). For position `pos`:
//!
//! - slot `pos & mask` is free for the producer of `pos` when `seq == pos`;
//! - it holds the value pushed at `pos` when `seq == pos + 1`;
//! - after the pop of `pos` it is free for position `pos + capacity`: `seq = pos + capacity`.
//!
//! A producer claims `pos` by a compare-and-swap of `tail` from `pos` to `pos + 1`, writes the
//! value, then publishes it with `seq.store(pos + 1, Release)` (A). A consumer claims `pos` by a
//! compare-and-swap of `head`, after it saw `seq == pos + 1` with an `Acquire` load that pairs
//! with (A), reads the value, then frees the slot with `seq.store(pos + capacity, Release)` (B),
//! which pairs with the producer's `Acquire` load of `seq` for the next lap.
//!
//! ```text
//!   producer (CPU0)                        consumer (CPU1)
//!   seq[p] == p        (Acquire)           seq[p] == p + 1     (Acquire, pairs with A)
//!   CAS tail p -> p+1                      CAS head p -> p+1
//!   write value                            read value
//!   seq[p] = p + 1     (Release, A)        seq[p] = p + cap    (Release, B)
//! ```
//!
//! # Limits
//!
//! The queue is *not* wait-free: between its CAS and its publishing store (A), a producer holds
//! its slot, and consumers report the queue empty at that slot until it finishes. `len` still
//! counts the claimed slot, so the scheduler retries instead of sleeping; a producer preempted in
//! that window is a runnable worker, which the server policy runs first (see `sched::policy`).
//! For the same reason a push can find its slot still held by a pop of the previous lap that
//! has not finished (B) and report the queue full although other pops completed. A full queue
//! returns the value to the caller, and every caller has a fallback: the injection queue for a
//! local queue, a mutex-protected overflow list for the injection and blocking queues.

#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use crate::loom::atomic::{AtomicUsize, Ordering::*};
use crate::loom::UnsafeCell;

/// Keeps `head` and `tail` on separate cache lines.
#[repr(align(128))]
#[derive(Debug)]
struct Padded<T>(T);

struct Slot<T> {
    seq: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The bounded MPMC queue described in the module documentation.
pub(crate) struct Queue<T> {
    slots: Box<[Slot<T>]>,
    mask: usize,
    head: Padded<AtomicUsize>,
    tail: Padded<AtomicUsize>,
}

// SAFETY: values move between threads only through the slot protocol above; a slot's value is
// accessed by exactly one thread at a time (the producer or consumer that claimed its position).
unsafe impl<T: Send> Send for Queue<T> {}
// SAFETY: as for Send: shared access only hands values across, never shares a `&T`.
unsafe impl<T: Send> Sync for Queue<T> {}

impl<T> Queue<T> {
    /// A queue holding up to `capacity` values, rounded up to a power of two (at least 2).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2).next_power_of_two();
        let slots = (0..capacity)
            .map(|i| Slot {
                seq: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Self {
            slots,
            mask: capacity - 1,
            head: Padded(AtomicUsize::new(0)),
            tail: Padded(AtomicUsize::new(0)),
        }
    }

    /// The number of slots.
    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Pushes `value` at the back, or gives it back when the queue is full.
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        let mut pos = self.tail.0.load(Relaxed);
        loop {
            let slot = &self.slots[pos & self.mask];
            let seq = slot.seq.load(Acquire);
            let diff = seq.wrapping_sub(pos) as isize;
            if diff == 0 {
                match self
                    .tail
                    .0
                    .compare_exchange_weak(pos, pos.wrapping_add(1), Relaxed, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: the CAS gave this thread position `pos`; `seq == pos` means
                        // the consumer of the previous lap has released the slot (B).
                        slot.value.with_mut(|v| unsafe { (*v).write(value) });
                        // (A): publishes the value to the consumer of `pos`.
                        slot.seq.store(pos.wrapping_add(1), Release);
                        return Ok(());
                    }
                    Err(now) => pos = now,
                }
            } else if diff < 0 {
                return Err(value);
            } else {
                pos = self.tail.0.load(Relaxed);
            }
        }
    }

    /// Pops the value at the front, `None` when the queue is (or looks) empty.
    pub(crate) fn pop(&self) -> Option<T> {
        let mut pos = self.head.0.load(Relaxed);
        loop {
            let slot = &self.slots[pos & self.mask];
            let seq = slot.seq.load(Acquire);
            let diff = seq.wrapping_sub(pos.wrapping_add(1)) as isize;
            if diff == 0 {
                match self
                    .head
                    .0
                    .compare_exchange_weak(pos, pos.wrapping_add(1), Relaxed, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: the CAS gave this thread position `pos`, and `seq == pos + 1`
                        // (Acquire, pairs with A) means its producer finished writing.
                        let value = slot.value.with(|v| unsafe { (*v).assume_init_read() });
                        // (B): frees the slot for the producer of the next lap.
                        slot.seq.store(pos.wrapping_add(self.mask + 1), Release);
                        return Some(value);
                    }
                    Err(now) => pos = now,
                }
            } else if diff < 0 {
                return None;
            } else {
                pos = self.head.0.load(Relaxed);
            }
        }
    }

    /// The number of claimed positions not yet popped (a snapshot; may include a value whose
    /// producer has not published it yet).
    pub(crate) fn len(&self) -> usize {
        let head = self.head.0.load(SeqCst);
        let tail = self.tail.0.load(SeqCst);
        tail.wrapping_sub(head).min(self.capacity())
    }

    /// Whether `len() == 0`.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}

impl<T> std::fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Queue;

    #[test]
    fn fifo_order_and_bound() {
        let q = Queue::new(4);
        for i in 0..4 {
            q.push(i).unwrap();
        }
        assert_eq!(q.push(9), Err(9));
        assert_eq!(q.len(), 4);
        for i in 0..4 {
            assert_eq!(q.pop(), Some(i));
        }
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn wraps_around_many_laps() {
        let q = Queue::new(2);
        for i in 0..1000 {
            q.push(i).unwrap();
            assert_eq!(q.pop(), Some(i));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn drop_releases_values() {
        let item = std::sync::Arc::new(());
        let q = Queue::new(8);
        q.push(item.clone()).unwrap();
        q.push(item.clone()).unwrap();
        drop(q);
        assert_eq!(std::sync::Arc::strong_count(&item), 1);
    }

    #[test]
    fn concurrent_producers_consumers_lose_nothing() {
        let q = std::sync::Arc::new(Queue::new(64));
        let sum = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut threads = Vec::new();
        for p in 0..2 {
            let q = q.clone();
            threads.push(std::thread::spawn(move || {
                for i in 0..10_000usize {
                    let mut v = p * 10_000 + i + 1;
                    while let Err(back) = q.push(v) {
                        v = back;
                        std::thread::yield_now();
                    }
                }
            }));
        }
        let popped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for _ in 0..2 {
            let (q, sum, popped) = (q.clone(), sum.clone(), popped.clone());
            threads.push(std::thread::spawn(move || {
                while popped.load(std::sync::atomic::Ordering::SeqCst) < 20_000 {
                    match q.pop() {
                        Some(v) => {
                            sum.fetch_add(v, std::sync::atomic::Ordering::SeqCst);
                            popped.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        None => std::thread::yield_now(),
                    }
                }
            }));
        }
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            sum.load(std::sync::atomic::Ordering::SeqCst),
            (1..=20_000).sum()
        );
    }
}
