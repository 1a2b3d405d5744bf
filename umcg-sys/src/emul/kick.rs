//! `umcg_kick`: make a task act on `UMCG_TF_PREEMPT` (or re-check its state) now.
//!
//! The kernel marks the target kicked, then wakes it if it sleeps or interrupts it if it runs
//! so that it passes through the return-to-user hook, which looks at `UMCG_TF_PREEMPT` only
//! after a kick. The emulation marks a worker kicked (`WorkerPart::kicked`), wakes a parked
//! target (futex, eventfd) and sends a running worker the park signal ([`super::signal`]);
//! without the signal a preempted worker acts at its next emulation call.

use std::io;
use std::sync::atomic::Ordering;

use super::{current, hook, signal, Emulated};
use crate::abi::{task_state, UMCG_TASK_RUNNING, UMCG_TF_PREEMPT};

pub(crate) fn kick(emu: &'static Emulated, flags: u32, tid: u32) -> io::Result<()> {
    if flags != 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let _in_call = signal::InCall::enter();
    let me = current::get(emu);
    if let Some(me) = &me {
        hook::enter(me);
    }
    let r = kick_target(emu, tid);
    if let Some(me) = &me {
        hook::exit(me);
    }
    r
}

fn kick_target(emu: &'static Emulated, tid: u32) -> io::Result<()> {
    let target = emu
        .lookup(tid)
        .ok_or(io::Error::from_raw_os_error(libc::ESRCH))?;
    let Some(part) = target.worker() else {
        target.notify_all_ways();
        return Ok(());
    };
    if let Some(mut probe) = part.probe.try_lock() {
        hook::reconcile(&target, &mut probe);
    }
    // After the caller's update of the state word, before the load of `in_emul`; pairs with
    // `hook::exit`, which clears `in_emul` before it takes the kick.
    part.kicked.store(true, Ordering::SeqCst);
    let s = target.task.state().load(Ordering::SeqCst);
    if task_state(s) == UMCG_TASK_RUNNING {
        part.queued.store(false, Ordering::SeqCst);
        hook::promote(&target);
        if s & UMCG_TF_PREEMPT != 0
            && !part.in_emul.load(Ordering::SeqCst)
            && target.tid != crate::gettid()
        {
            signal::send_park(&target);
        }
    }
    target.notify_all_ways();
    Ok(())
}
