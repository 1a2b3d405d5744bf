//! The thread-local runtime context: which runtime `spawn` and `sleep` use on this thread, and
//! which server's local queue a wake from this thread goes to.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use super::Handle;
use crate::sched::Shared;

thread_local! {
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
    /// (address of the `Shared`, server index) on worker threads; (0, 0) elsewhere.
    static WORKER: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// The handle entered on this thread, if any.
pub(crate) fn current() -> Option<Handle> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Makes `handle` current; returns the previous one (restore it with [`restore`]).
pub(crate) fn replace(handle: Option<Handle>) -> Option<Handle> {
    CURRENT.with(|c| c.replace(handle))
}

/// Restores what [`replace`] returned.
pub(crate) fn restore(prev: Option<Handle>) {
    CURRENT.with(|c| *c.borrow_mut() = prev);
}

/// The server whose worker the calling thread is, if it is a worker of `shared`.
pub(crate) fn server_of(shared: &Arc<Shared>) -> Option<usize> {
    let (addr, index) = WORKER.with(Cell::get);
    (addr == Arc::as_ptr(shared) as usize).then_some(index)
}

/// Marks the calling thread as a worker of server `index` for its whole life.
pub(crate) struct WorkerContext(());

pub(crate) fn enter_worker(shared: &Arc<Shared>, index: usize) -> WorkerContext {
    WORKER.with(|w| w.set((Arc::as_ptr(shared) as usize, index)));
    replace(Some(Handle {
        shared: shared.clone(),
    }));
    WorkerContext(())
}

impl Drop for WorkerContext {
    fn drop(&mut self) {
        WORKER.with(|w| w.set((0, 0)));
        restore(None);
    }
}
