//! The kernel's hooks, played by whoever observes the worker: the block hook (RUNNING →
//! BLOCKED, blocked list, wake the server), the wake hook (BLOCKED → RUNNABLE, runnable list,
//! wake the server) and the return-to-user hook (a RUNNABLE or preempted worker does not run:
//! it parks until a server makes it RUNNING).
//!
//! The kernel runs these at the moment the worker sleeps or wakes. Here they run when the
//! detector is read: continuously while the worker's server waits, and at every emulation call
//! of the worker itself (the "missed return-to-user hook").

use std::sync::atomic::Ordering;

use super::clock::now_ns;
use super::entry::{Entry, WorkerPart};
use super::probe::Probe;
use super::{futex, list, sched, signal};
use crate::abi::{
    task_state, UMCG_TASK_BLOCKED, UMCG_TASK_RUNNABLE, UMCG_TASK_RUNNING, UMCG_TF_COND_WAIT,
    UMCG_TF_PREEMPT,
};

/// Reads `w`'s detector (lock held by the caller) and publishes what changed since.
pub(crate) fn reconcile(w: &Entry, probe: &mut Probe) {
    let Some(part) = w.worker() else { return };
    let in_emul = part.in_emul.load(Ordering::SeqCst);
    probe.observe(in_emul);
    if in_emul || part.gone.load(Ordering::SeqCst) {
        return;
    }
    let s = w.task.state().load(Ordering::SeqCst);
    let cond_wait = task_state(s) == UMCG_TASK_RUNNABLE && s & UMCG_TF_COND_WAIT != 0;
    match task_state(s) {
        UMCG_TASK_RUNNING if probe.blocked_now => publish_blocked(w),
        UMCG_TASK_RUNNABLE if cond_wait && probe.blocked_now => publish_blocked(w),
        UMCG_TASK_BLOCKED if probe.woke || !probe.blocked_now => publish_unblocked(w),
        _ => {}
    }
}

/// The block hook: RUNNING (or RUNNABLE|COND_WAIT) → BLOCKED, `blocked_ts`, push on a MULTI
/// server's blocked list, wake the server.
fn publish_blocked(w: &Entry) {
    let blockable = |s: u32| {
        task_state(s) == UMCG_TASK_RUNNING
            || (task_state(s) == UMCG_TASK_RUNNABLE && s & UMCG_TF_COND_WAIT != 0)
    };
    if w.task.transition_if(blockable, UMCG_TASK_BLOCKED).is_err() {
        return;
    }
    w.task.set_blocked_ts(now_ns(w.clock));
    demote(w);
    if let Some(server) = w.emu.server_of(w) {
        if server.is_multi() {
            list::push(
                server.task.blocked_link(),
                w.task.addr(),
                w.task.blocked_link(),
            );
        }
        wake_server(&server);
    }
}

/// The wake hook: BLOCKED → RUNNABLE, then onto the runnable list. If the observer is not the
/// worker itself, the worker is signalled so that it parks (it runs user code meanwhile).
fn publish_unblocked(w: &Entry) {
    if w.task
        .transition(UMCG_TASK_BLOCKED, UMCG_TASK_RUNNABLE)
        .is_err()
    {
        return;
    }
    enqueue(w, false);
    if w.tid != crate::gettid() {
        signal::send_park(w);
    }
}

/// `runnable_ts`, push on the server's runnable list, wake the server: always if `force`
/// (preemption), else unless it is a COOP server that is busy (`next_tid != 0`).
pub(crate) fn enqueue(w: &Entry, force: bool) {
    w.task.set_runnable_ts(now_ns(w.clock));
    let Some(server) = w.emu.server_of(w) else {
        return;
    };
    if let Some(part) = w.worker() {
        part.queued.store(true, Ordering::SeqCst);
    }
    list::push(
        server.task.runnable_link(),
        w.task.addr(),
        w.task.runnable_link(),
    );
    let busy = server.task.next_tid().load(Ordering::SeqCst) != 0;
    if force || !server.is_coop() || !busy {
        wake_server(&server);
    }
}

/// Server RUNNABLE → RUNNING, then wake it if it sleeps.
///
/// It is woken also when it was RUNNING already: a thread may have made it RUNNING by a
/// compare-and-swap in user memory (a runtime's remote wake) and not have issued its wake yet.
/// That thread may be one of the server's own workers, back from a block that nobody had
/// published: its call to wake the server (`umcg_kick`) enters the emulation, which first
/// publishes the block's end (this function, for the worker's own server) and then parks the
/// worker until the server runs it, so the kick comes only after that. Without this wake the
/// server would sleep on until its watchdog (up to 2 ms). `notify` does nothing for a server
/// that is awake.
pub(crate) fn wake_server(server: &Entry) {
    let _ = server
        .task
        .transition(UMCG_TASK_RUNNABLE, UMCG_TASK_RUNNING);
    if server.task.task_state() == UMCG_TASK_RUNNING {
        server.notify();
    }
}

/// A worker entering the emulation: publish what its detector saw, mark its sleeps as the
/// emulation's, then run the return-to-user hook it missed. Returns whether it parked.
pub(crate) fn enter(w: &Entry) -> bool {
    let Some(part) = w.worker() else { return false };
    {
        let mut probe = part.probe.lock();
        reconcile(w, &mut probe);
        part.in_emul.store(true, Ordering::SeqCst);
    }
    let kicked = take_kick(part);
    let s = w.task.state().load(Ordering::SeqCst);
    match task_state(s) {
        UMCG_TASK_RUNNING if kicked && s & UMCG_TF_PREEMPT != 0 => preempt(w),
        UMCG_TASK_RUNNING => {
            part.queued.store(false, Ordering::SeqCst);
            false
        }
        UMCG_TASK_RUNNABLE if part.queued.load(Ordering::SeqCst) => {
            park(w);
            true
        }
        _ => false,
    }
}

/// Consumes a kick, before the state word is read: the kicker sets `UMCG_TF_PREEMPT` before it
/// sets `kicked` (both SeqCst), so a kick seen here comes with its flag.
fn take_kick(part: &WorkerPart) -> bool {
    part.kicked.swap(false, Ordering::SeqCst)
}

/// A kicked RUNNING worker with `UMCG_TF_PREEMPT`: RUNNABLE, queued with its server woken, and
/// parked until a server runs it. Returns false if its state changed first.
fn preempt(w: &Entry) -> bool {
    if w.task
        .transition(UMCG_TASK_RUNNING, UMCG_TASK_RUNNABLE)
        .is_err()
    {
        return false;
    }
    enqueue(w, true);
    park(w);
    true
}

/// Moves a worker that blocked to `SCHED_IDLE`: when its syscall returns it then runs only on
/// time its server's CPU (to which it is pinned) would leave idle, until it is parked, instead
/// of sharing that CPU with the server. Undone by [`promote`] when it is made RUNNING.
fn demote(w: &Entry) {
    if let Some(part) = w.worker() {
        if part.can_demote && !part.demoted.swap(true, Ordering::SeqCst) {
            sched::set_idle(w.tid, true);
        }
    }
}

/// Back to `SCHED_OTHER` (a worker made RUNNING, or leaving the emulation).
pub(crate) fn promote(w: &Entry) {
    if let Some(part) = w.worker() {
        if part.demoted.swap(false, Ordering::SeqCst) {
            sched::set_idle(w.tid, false);
        }
    }
}

/// A worker leaving the emulation: it runs again, its sleeps are blocks again. Like the
/// kernel's return to user space it honours `UMCG_TF_PREEMPT` after a kick: a kick that found
/// the worker inside the emulation sent no signal, so it is taken here, after `in_emul` is
/// cleared (SeqCst; pairs with the kicker's store of `kicked` followed by its SeqCst load of
/// `in_emul`: either the kicker signals, or this check sees the kick).
pub(crate) fn exit(w: &Entry) {
    let Some(part) = w.worker() else { return };
    loop {
        promote(w);
        {
            let mut probe = part.probe.lock();
            probe.reset();
            part.in_emul.store(false, Ordering::SeqCst);
        }
        if !take_kick(part) {
            return;
        }
        let s = w.task.state().load(Ordering::SeqCst);
        if task_state(s) != UMCG_TASK_RUNNING || s & UMCG_TF_PREEMPT == 0 {
            return;
        }
        {
            let _probe = part.probe.lock();
            part.in_emul.store(true, Ordering::SeqCst);
        }
        preempt(w);
    }
}

/// Sleeps until the task's state is RUNNING, with its signals held pending.
pub(crate) fn park(t: &Entry) {
    let _masked = signal::Masked::all();
    loop {
        let s = t.task.state().load(Ordering::SeqCst);
        if task_state(s) == UMCG_TASK_RUNNING {
            break;
        }
        futex::wait(t.task.state(), s, None);
    }
    if let Some(part) = t.worker() {
        part.queued.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{umcg_task, UMCG_CTL_REGISTER, UMCG_CTL_UNREGISTER};
    use crate::backend::Umcg;
    use crate::emul::entry::sleep;
    use crate::emul::{Emulated, Options};
    use std::time::Duration;

    /// A server that another thread made RUNNING by compare-and-swap, and whose wake has not
    /// come yet, is woken by the next `wake_server` (a worker's enqueue) instead of sleeping
    /// on. It has no workers here, so no watchdog would ever wake it.
    #[test]
    fn wake_server_wakes_a_server_made_running_by_someone_else() {
        let emu = Emulated::with_options(Options::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut task = Box::new(umcg_task::server(crate::gettid()));
            // SAFETY: `task` outlives its registration (unregistered below).
            unsafe { emu.ctl(UMCG_CTL_REGISTER, &mut *task, libc::CLOCK_MONOTONIC) }.unwrap();
            let me = emu.lookup(crate::gettid()).unwrap();
            me.task
                .state()
                .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, Ordering::SeqCst);
            tx.send(me).unwrap();
            let r = emu.wait(0, 0);
            // SAFETY: unregisters the task registered above.
            unsafe { emu.ctl(UMCG_CTL_UNREGISTER, &mut *task, 0) }.unwrap();
            done_tx.send(r.map_err(|e| e.kind())).unwrap();
        });
        let server = rx.recv().unwrap();
        let part = server.server().unwrap();
        while part.sleep.load(Ordering::SeqCst) != sleep::FUTEX {
            std::thread::yield_now();
        }
        // The runtime's remote wake, its kick still to come.
        server
            .task
            .transition(UMCG_TASK_RUNNABLE, UMCG_TASK_RUNNING)
            .unwrap();
        wake_server(&server);
        let back = done_rx.recv_timeout(Duration::from_secs(10));
        assert_eq!(back, Ok(Ok(())), "the server was left asleep");
    }
}
