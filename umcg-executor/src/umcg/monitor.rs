//! The monitor: a plain (non-UMCG) thread that preempts workers running one blocking closure
//! for longer than the blocking slice while other work waits on their server.
//!
//! Every slice it looks at each server's running blocking closure (`ServerSlot::blocking_job`
//! and its sequence number). If the same closure is still running and the server has something
//! else to do, it preempts the worker the way the ABI prescribes (`umcg-abi.md` §3.9, §4.2
//! rule 3): `state` cmpxchg from exactly RUNNING to RUNNING|TF_PREEMPT (a failure means the
//! worker blocked or stopped: nothing to do), mark it `preempted` for the server, then
//! `umcg_kick`. A mark still pending at the next round is kicked again. The kernel (or the emulation) turns it RUNNABLE, queues it and wakes its server,
//! which runs the driver before resuming the closure (`sched::policy`, rule 2). Kicking from a
//! thread that is not a UMCG task is allowed (`umcg-abi.md` §9 point 3).

use std::sync::atomic::Ordering::*;
use std::sync::{Arc, Weak};

use umcg_sys::abi::{UMCG_TASK_RUNNING, UMCG_TF_PREEMPT};

use super::worker::Worker;
use crate::sched::{policy, Shared};

/// Starts the monitor; it ends when the runtime shuts down or is dropped.
pub(crate) fn start(shared: &Arc<Shared>) -> std::io::Result<()> {
    let weak = Arc::downgrade(shared);
    let slice = shared.config.blocking_slice;
    let name = format!("{}-mon", (shared.config.thread_name)());
    std::thread::Builder::new()
        .name(name)
        .spawn(move || run(weak, slice))?;
    Ok(())
}

fn run(weak: Weak<Shared>, slice: std::time::Duration) {
    let mut seen: Vec<u64> = Vec::new();
    loop {
        std::thread::sleep(slice);
        let Some(shared) = weak.upgrade() else { return };
        if shared.is_shutdown() {
            return;
        }
        seen.resize(shared.servers.len(), u64::MAX);
        for (slot, last) in shared.servers.iter().zip(seen.iter_mut()) {
            let seq = slot.blocking_seq.load(SeqCst);
            let job = slot
                .blocking_job
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some(w) = job {
                let waiting = policy::has_work(&shared, slot)
                    || slot.resumable.load(SeqCst) > 0
                    || slot.preempted.load(SeqCst) > 0;
                if *last == seq && waiting {
                    preempt(&shared, &w);
                }
            }
            *last = seq;
        }
    }
}

fn preempt(shared: &Shared, w: &Worker) {
    let pending = UMCG_TASK_RUNNING | UMCG_TF_PREEMPT;
    let marked = w
        .task
        .state
        .compare_exchange(UMCG_TASK_RUNNING, pending, SeqCst, SeqCst)
        .is_ok();
    // Not marked now and no earlier mark pending: blocked, queued or gone, nothing to preempt.
    // A pending mark is kicked again (a kick can arrive while the emulation cannot deliver it).
    if !marked && w.task.state.load(SeqCst) != pending {
        return;
    }
    // The server reads this when it files the worker. If the kernel acts on the mark before
    // this store, the worker is filed as unfinished instead: it only loses its place behind
    // the driver, once.
    w.preempted.store(true, SeqCst);
    // A kick that fails (the worker just exited) needs no follow-up.
    let _ = shared.umcg.kick(0, w.tid.load(SeqCst));
}
