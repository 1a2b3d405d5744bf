//! The calling thread's registrations (one per emulation instance), and what happens to them
//! when the thread exits without unregistering.

use std::cell::RefCell;
use std::sync::Arc;

use super::entry::Entry;
use super::Emulated;

struct Registrations {
    list: RefCell<Vec<Arc<Entry>>>,
}

impl Drop for Registrations {
    fn drop(&mut self) {
        super::signal::set_current_worker(std::ptr::null());
        for e in self.list.borrow_mut().drain(..) {
            e.emu.forget(&e);
        }
    }
}

thread_local! {
    static REGS: Registrations = const { Registrations { list: RefCell::new(Vec::new()) } };
}

/// The calling thread's entry in `emu`, if it is registered there.
pub(crate) fn get(emu: &Emulated) -> Option<Arc<Entry>> {
    REGS.try_with(|r| {
        r.list
            .borrow()
            .iter()
            .find(|e| std::ptr::eq(e.emu, emu))
            .cloned()
    })
    .ok()
    .flatten()
}

/// Records the calling thread's new registration.
pub(crate) fn add(e: Arc<Entry>) {
    if e.worker().is_some() {
        super::signal::set_current_worker(Arc::as_ptr(&e));
    }
    REGS.with(|r| r.list.borrow_mut().push(e));
}

/// Drops the calling thread's registration in `emu`.
pub(crate) fn remove(emu: &Emulated) {
    REGS.with(|r| {
        let mut list = r.list.borrow_mut();
        if let Some(i) = list.iter().position(|e| std::ptr::eq(e.emu, emu)) {
            if list[i].worker().is_some() {
                super::signal::set_current_worker(std::ptr::null());
            }
            list.remove(i);
        }
    });
}
