//! The registry and the servers' worker lists change without allocating or freeing while their
//! lock is held.
//!
//! A waiting server takes these locks (`lookup` on every switch, its worker list on every turn
//! of its wait), and the threads that change them are workers (registering, unregistering,
//! moving). A worker that allocates under one of these locks can block there on an allocator
//! lock held by another worker of that server, one that is stopped (blocked, or parked by the
//! park signal) in the middle of `malloc`: it runs again only when its server picks it, and the
//! server is stuck on the list lock. That hung `ping_pong` on the emulation: a new worker
//! registering grew its server's list under the lock (`realloc`), waiting for a glibc arena lock
//! held by a worker parked inside `malloc`, while the server waited for the list lock.
//!
//! So a change that needs room allocates it before taking the lock and moves the contents over
//! under it, and whatever a change removes (an entry, the old buffer) is dropped after the
//! lock is released. The server itself must not allocate at all, yet it copies its worker list
//! on every turn of its wait: the threads that add to the list also keep a large enough empty
//! buffer ready for that copy ([`provision`]), and the server trades its old buffer for it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The capacity to allocate for a container of `len` elements that is full: room for as many
/// again, at least 8.
fn grown(len: usize) -> usize {
    (len + 1).max(4) * 2
}

/// Appends `v` to the vector behind `m`.
pub(crate) fn push<T>(m: &Mutex<Vec<T>>, v: T) {
    let mut fresh: Vec<T> = Vec::new();
    loop {
        let mut g = lock(m);
        if g.len() < g.capacity() {
            g.push(v);
            return;
        }
        if fresh.capacity() > g.len() {
            // Moves the elements into room allocated outside the lock; the old buffer leaves
            // with `fresh`, freed after `g` is released (locals drop in reverse order).
            fresh.append(&mut g);
            std::mem::swap(&mut *g, &mut fresh);
            g.push(v);
            return;
        }
        let want = grown(g.len());
        drop(g);
        fresh = Vec::with_capacity(want);
    }
}

/// Appends `v` to `list` ([`push`]) and keeps `spare` ready for a copy of it ([`provision`]):
/// how a worker is filed with its server.
pub(crate) fn push_with_spare<T>(list: &Mutex<Vec<T>>, spare: &Mutex<Vec<T>>, v: T) {
    push(list, v);
    provision(list, spare);
}

/// Keeps `spare` an empty buffer with room for every element of `list`, allocated here, outside
/// both locks, for a thread that must not allocate to copy `list` into (`wait::with_workers`,
/// which leaves its old buffer in `spare`, freed here next time).
pub(crate) fn provision<T>(list: &Mutex<Vec<T>>, spare: &Mutex<Vec<T>>) {
    let need = lock(list).len();
    if lock(spare).capacity() >= need {
        return;
    }
    let fresh = Vec::with_capacity(grown(need));
    let old = std::mem::replace(&mut *lock(spare), fresh);
    drop(old);
}

/// Removes the first element of the vector behind `m` that matches `f`, and returns it for the
/// caller to drop outside the lock.
pub(crate) fn take_where<T>(m: &Mutex<Vec<T>>, f: impl Fn(&T) -> bool) -> Option<T> {
    let mut g = lock(m);
    let i = g.iter().position(f)?;
    Some(g.remove(i))
}

/// Inserts `k → v` in the map behind `m`; returns the value it replaces, for the caller to
/// drop outside the lock.
pub(crate) fn insert<K: Eq + Hash, V>(m: &Mutex<HashMap<K, V>>, k: K, v: V) -> Option<V> {
    let mut fresh: HashMap<K, V> = HashMap::new();
    loop {
        let mut g = lock(m);
        if g.len() < g.capacity() || g.contains_key(&k) {
            return g.insert(k, v);
        }
        if fresh.capacity() > g.len() {
            // As in `push`: `extend` reserves nothing more, the room is there.
            fresh.extend(g.drain());
            std::mem::swap(&mut *g, &mut fresh);
            return g.insert(k, v);
        }
        let want = grown(g.len());
        drop(g);
        fresh = HashMap::with_capacity(want);
    }
}

/// Removes `k` from the map behind `m`; returns its value for the caller to drop outside the
/// lock.
pub(crate) fn remove<K: Eq + Hash, V>(m: &Mutex<HashMap<K, V>>, k: &K) -> Option<V> {
    lock(m).remove(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_grows_and_keeps_order() {
        let m = Mutex::new(Vec::new());
        for i in 0..100 {
            push(&m, i);
        }
        assert_eq!(*m.lock().unwrap(), (0..100).collect::<Vec<_>>());
        assert_eq!(take_where(&m, |&x| x == 42), Some(42));
        assert_eq!(take_where(&m, |&x| x == 42), None);
        assert_eq!(m.lock().unwrap().len(), 99);
        let spare = Mutex::new(Vec::new());
        provision(&m, &spare);
        assert!(spare.lock().unwrap().capacity() >= 99);
        assert!(spare.lock().unwrap().is_empty());
    }

    #[test]
    fn map_insert_grows_and_replaces() {
        let m = Mutex::new(HashMap::new());
        for i in 0..100u32 {
            assert_eq!(insert(&m, i, i * 2), None);
        }
        assert_eq!(insert(&m, 7, 0), Some(14));
        assert_eq!(remove(&m, &7), Some(0));
        assert_eq!(remove(&m, &7), None);
        assert_eq!(m.lock().unwrap().len(), 99);
        assert_eq!(m.lock().unwrap().get(&99), Some(&198));
    }
}
