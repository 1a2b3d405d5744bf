//! `umcg_ctl`: registration and unregistration, with the kernel's checks in the kernel's order.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use super::entry::{sleep, Entry, Role, ServerPart, WorkerPart};
use super::probe::Probe;
use super::spin::Spin;
use super::task::{self, UserTask};
use super::{clock, current, hook, sched, signal, Detector, Emulated};
use crate::abi::*;

fn err(errno: i32) -> io::Error {
    io::Error::from_raw_os_error(errno)
}

pub(crate) fn ctl(
    emu: &'static Emulated,
    flags: u32,
    ptr: *mut umcg_task,
    which_clock: libc::clockid_t,
) -> io::Result<()> {
    if ptr as usize % UMCG_TASK_ALIGN != 0 {
        return Err(err(libc::EINVAL));
    }
    if flags & !(UMCG_CTL_CMD_MASK | UMCG_CTL_WORKER | UMCG_CTL_MULTI | UMCG_CTL_COOP) != 0 {
        return Err(err(libc::EINVAL));
    }
    match flags & UMCG_CTL_CMD_MASK {
        UMCG_CTL_REGISTER => register(emu, flags, ptr, which_clock),
        UMCG_CTL_UNREGISTER if flags & (UMCG_CTL_MULTI | UMCG_CTL_COOP) == 0 => {
            unregister(emu, flags, ptr)
        }
        _ => Err(err(libc::EINVAL)),
    }
}

fn register(
    emu: &'static Emulated,
    flags: u32,
    ptr: *mut umcg_task,
    clock: libc::clockid_t,
) -> io::Result<()> {
    let worker_with_server_flags =
        flags & UMCG_CTL_WORKER != 0 && flags & (UMCG_CTL_MULTI | UMCG_CTL_COOP) != 0;
    if !clock::is_valid(clock)
        || current::get(emu).is_some()
        || ptr.is_null()
        || worker_with_server_flags
    {
        return Err(err(libc::EINVAL));
    }
    let t = task::read_checked(ptr)?;
    if t.next_tid != 0 || t.__hole != [0] || t.__zero != [0; 2] {
        return Err(err(libc::EINVAL));
    }
    task::probe_writable(ptr)?;
    let me = crate::gettid();
    if flags & UMCG_CTL_WORKER == 0 {
        if t.server_tid != me {
            return Err(err(libc::ESRCH));
        }
        if t.state & 0xffff != UMCG_TASK_RUNNING {
            return Err(err(libc::EINVAL));
        }
        // SAFETY: checked non-null and aligned above; the caller keeps it valid while registered.
        let task = unsafe { UserTask::new(ptr) };
        register_server(emu, flags, task, clock)
    } else {
        if emu
            .lookup(t.server_tid)
            .is_none_or(|s| s.server().is_none())
        {
            return Err(err(libc::ESRCH));
        }
        if t.state & 0xffff != UMCG_TASK_BLOCKED {
            return Err(err(libc::EINVAL));
        }
        // SAFETY: as above.
        let task = unsafe { UserTask::new(ptr) };
        register_worker(emu, task, clock)
    }
}

fn register_server(
    emu: &'static Emulated,
    flags: u32,
    task: UserTask,
    clock: libc::clockid_t,
) -> io::Result<()> {
    // SAFETY: eventfd has no memory arguments.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let entry = Arc::new(Entry {
        emu,
        tid: crate::gettid(),
        task,
        clock,
        role: Role::Server(ServerPart {
            flags: flags & (UMCG_CTL_MULTI | UMCG_CTL_COOP),
            sleep: AtomicU8::new(sleep::AWAKE),
            // SAFETY: a fresh fd nothing else owns.
            eventfd: unsafe { OwnedFd::from_raw_fd(fd) },
            workers: Mutex::new(Vec::new()),
            spare: Mutex::new(Vec::new()),
            idle_ok: sched::idle_window_allowed(),
        }),
    });
    emu.insert(entry.clone());
    current::add(entry);
    Ok(())
}

fn register_worker(
    emu: &'static Emulated,
    task: UserTask,
    clock: libc::clockid_t,
) -> io::Result<()> {
    let tid = crate::gettid();
    let o = emu.options();
    let probe = Probe::for_self(tid, o.detector == Detector::Perf, o.ring_wakeups);
    let view = probe.ring().map(|r| r.view());
    let entry = Arc::new(Entry {
        emu,
        tid,
        task,
        clock,
        role: Role::Worker(WorkerPart {
            probe: Spin::new(probe),
            view,
            in_emul: AtomicBool::new(true),
            queued: AtomicBool::new(false),
            kicked: AtomicBool::new(false),
            gone: AtomicBool::new(false),
            cpu: AtomicI32::new(-1),
            affinity: sched::affinity(tid).ok(),
            can_demote: sched::idle_window_allowed(),
            demoted: AtomicBool::new(false),
            filed_with: AtomicI32::new(0),
        }),
    });
    if emu.options().park_signal {
        signal::install();
    }
    emu.insert(entry.clone());
    current::add(entry.clone());
    let _in_call = signal::InCall::enter();
    let registered = |s: u32| s & 0xffff == UMCG_TASK_BLOCKED;
    if entry
        .task
        .transition_if(registered, UMCG_TASK_RUNNABLE)
        .is_ok()
    {
        hook::enqueue(&entry, false);
    }
    hook::park(&entry);
    hook::exit(&entry);
    Ok(())
}

fn unregister(emu: &'static Emulated, flags: u32, ptr: *mut umcg_task) -> io::Result<()> {
    let Some(me) = current::get(emu) else {
        return Err(err(libc::EINVAL));
    };
    let is_worker = me.worker().is_some();
    if ptr.is_null() || ptr as u64 != me.task.addr() || (flags & UMCG_CTL_WORKER != 0) != is_worker
    {
        return Err(err(libc::EINVAL));
    }
    let _in_call = signal::InCall::enter();
    hook::enter(&me);
    if me
        .task
        .transition(UMCG_TASK_RUNNING, UMCG_TASK_NONE)
        .is_err()
    {
        hook::exit(&me);
        return Err(err(libc::EAGAIN));
    }
    if let Some(w) = me.worker() {
        hook::promote(&me);
        w.gone.store(true, Ordering::SeqCst);
        if let Some(set) = &w.affinity {
            let _ = sched::set_affinity(me.tid, set);
        }
    }
    emu.remove(&me);
    current::remove(emu);
    Ok(())
}
