//! Worker threads: register with a server, run the executor loop when they hold the driver
//! role, run blocking closures inline, park when idle, unregister when retired.
//!
//! A worker's life, as the server sees it through `intent` (written by the worker before it
//! gives up the CPU, read by the server after):
//!
//! | `intent` | written when | the server then |
//! |---|---|---|
//! | [`intent::NEW`] | before registering | files it as idle |
//! | [`intent::ACTIVE`] | on every resume | it blocked or was preempted mid-job: queues it as resumable |
//! | [`intent::YIELD`] | the driver lets resumable workers run | queues it behind them, keeps it driver |
//! | [`intent::PARKED`] | nothing to do | files it as idle (a parked driver stays driver) |
//!
//! and `command`, written by the server before it switches to an idle worker:
//! [`command::DRIVE`] (run the executor loop) or [`command::EXIT`] (unregister and end).

#![allow(unsafe_code)]

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::*};
use std::sync::Arc;
use std::time::Instant;

use umcg_sys::abi::{
    task_state, UMCG_CTL_REGISTER, UMCG_CTL_UNREGISTER, UMCG_CTL_WORKER, UMCG_TASK_BLOCKED,
    UMCG_TASK_RUNNABLE, UMCG_TASK_RUNNING, UMCG_TF_COND_WAIT, UMCG_WAIT_ENQUEUE,
};

use super::stack::Linked;
use super::task::AtomicTask;
use crate::loom::atomic::AtomicPtr;
use crate::runtime::context;
use crate::sched::{homing, policy};
use crate::sched::{ServerSlot, Shared};
use crate::task::core::{Kind, Task};

/// What a worker tells its server before it stops running.
pub(crate) mod intent {
    /// Registering: idle.
    pub(crate) const NEW: u32 = 0;
    /// Running (so: blocked or preempted when the server finds it stopped).
    pub(crate) const ACTIVE: u32 = 1;
    /// A driver yielding to resumable workers.
    pub(crate) const YIELD: u32 = 2;
    /// Idle.
    pub(crate) const PARKED: u32 = 3;
}

/// What a server asks of an idle worker it switches to.
pub(crate) mod command {
    /// Nothing new: continue.
    pub(crate) const NONE: u32 = 0;
    /// Run the executor loop (the worker holds the driver role).
    pub(crate) const DRIVE: u32 = 1;
    /// Unregister and end the thread.
    pub(crate) const EXIT: u32 = 2;
}

/// One worker thread's shared part. The `umcg_task` comes first: runnable-list links are its
/// address, which is also the address of the `Worker`.
#[repr(C, align(64))]
pub(crate) struct Worker {
    pub(crate) task: AtomicTask,
    pub(crate) tid: AtomicU32,
    pub(crate) server: usize,
    pub(crate) intent: AtomicU32,
    pub(crate) command: AtomicU32,
    /// Holds the driver role of its server (written by the server only while it does not run).
    pub(crate) driver: AtomicBool,
    /// Set by the monitor before it preempts the worker.
    pub(crate) preempted: AtomicBool,
    /// Registration failed, or the thread could not be created: it never ran.
    pub(crate) failed: AtomicBool,
    /// The `spawner` hand-off stacks' link.
    link: AtomicPtr<Worker>,
}

impl Worker {
    /// A worker of server `server` whose thread is not started yet.
    pub(crate) fn new(server: usize) -> Self {
        Self {
            task: AtomicTask::default(),
            tid: AtomicU32::new(0),
            server,
            intent: AtomicU32::new(intent::NEW),
            command: AtomicU32::new(command::NONE),
            driver: AtomicBool::new(false),
            preempted: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            link: AtomicPtr::default(),
        }
    }
}

impl Linked for Worker {
    fn link(&self) -> &AtomicPtr<Self> {
        &self.link
    }
}

/// Reserves a place for one more worker thread, unless the runtime has `max_workers` already
/// (`WouldBlock`). The place is released by the server when it forgets the worker
/// (`server::Server::forget`), or by [`start`]'s caller when the thread cannot be created.
pub(crate) fn reserve(shared: &Shared) -> io::Result<()> {
    let max = shared.config.max_workers;
    match shared
        .workers
        .fetch_update(SeqCst, SeqCst, |n| (n < max).then_some(n + 1))
    {
        Ok(_) => Ok(()),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "the runtime's worker limit is reached",
        )),
    }
}

/// Starts the thread of `w`, a worker whose place is reserved. The thread registers itself;
/// the server learns of it from its runnable list. A failure to create the thread is recorded
/// in the metrics and returned, never a panic.
///
/// Allocates and takes the allocator's and the thread library's locks: never on a server once
/// its workers run (`spawner`).
pub(crate) fn start(shared: &Arc<Shared>, w: &Arc<Worker>) -> io::Result<()> {
    let mut b = std::thread::Builder::new().name((shared.config.thread_name)());
    if let Some(size) = shared.config.stack_size {
        b = b.stack_size(size);
    }
    let (s2, w2) = (shared.clone(), w.clone());
    match b.spawn(move || main(s2, w2)) {
        Ok(_) => Ok(()),
        Err(e) => {
            shared.record_spawn_failure(&e);
            Err(e)
        }
    }
}

fn main(shared: Arc<Shared>, w: Arc<Worker>) {
    let slot = &shared.servers[w.server];
    let _ctx = context::enter_worker(&shared, w.server);
    call_hook(shared.config.hooks.on_thread_start.as_deref());
    w.tid.store(umcg_sys::gettid(), SeqCst);
    w.task.prepare(UMCG_TASK_BLOCKED, slot.tid.load(SeqCst));
    // SAFETY: `w` (and so `w.task`) is kept alive by this thread until after it unregisters;
    // the task block is 64-byte aligned and never moves (it is inside an Arc).
    let registered = unsafe {
        shared.umcg.ctl(
            UMCG_CTL_REGISTER | UMCG_CTL_WORKER,
            w.task.as_ptr(),
            libc::CLOCK_MONOTONIC,
        )
    };
    if let Err(e) = registered {
        // The server counts on this worker: tell it, so it does not wait for it forever.
        shared.record_spawn_failure(&e);
        w.failed.store(true, SeqCst);
        shared.wake_server(slot);
    } else {
        run(&shared, &w);
        // SAFETY: unregisters the block registered above (we are RUNNING).
        if let Err(e) = unsafe {
            shared
                .umcg
                .ctl(UMCG_CTL_UNREGISTER | UMCG_CTL_WORKER, w.task.as_ptr(), 0)
        } {
            fatal("umcg_ctl(UNREGISTER)", &e);
        }
    }
    call_hook(shared.config.hooks.on_thread_stop.as_deref());
}

/// Runs a user hook; a panic in it is reported and does not end the worker (an unwinding
/// worker would leave its server waiting for it).
fn call_hook(hook: Option<&(dyn Fn() + Send + Sync)>) {
    if let Some(f) = hook {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
            eprintln!("umcg runtime: a thread start/stop hook panicked");
        }
    }
}

/// The registered part of a worker's life: serve commands until told to exit.
fn run(shared: &Arc<Shared>, w: &Arc<Worker>) {
    loop {
        w.intent.store(intent::ACTIVE, SeqCst);
        if w.command.swap(command::NONE, SeqCst) == command::EXIT {
            return;
        }
        if w.driver.load(SeqCst) {
            drive(shared, w);
        }
        park(shared, w, intent::PARKED);
    }
}

/// Gives the CPU back to the server: `intent`, then RUNNABLE|COND_WAIT and
/// `umcg_wait(UMCG_WAIT_ENQUEUE)`, which puts this worker on the server's runnable list and
/// wakes the server. Returns once the server made it RUNNING again.
///
/// Nothing between the state store and `umcg_wait` may enter the kernel (`umcg-abi.md` §3.14).
pub(crate) fn park(shared: &Shared, w: &Worker, why: u32) {
    w.intent.store(why, SeqCst);
    loop {
        w.task
            .state
            .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
        match shared.umcg.wait(UMCG_WAIT_ENQUEUE, 0) {
            Ok(()) => break,
            // EAGAIN: already RUNNING again (a server switched to us first, or we blocked
            // between the store and the call and were run again). EINTR: retry.
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && is_running(&w.task) => break,
            Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR)) => {}
            Err(e) => fatal("umcg_wait(ENQUEUE)", &e),
        }
    }
    w.intent.store(intent::ACTIVE, SeqCst);
}

/// The executor loop, run while this worker holds its server's driver role.
fn drive(shared: &Arc<Shared>, w: &Arc<Worker>) {
    let slot = &shared.servers[w.server];
    // Pick 0 looks at the injection queue first (`policy::INJECT_EVERY`): a driver that takes
    // over after a block sees remote wakes at once.
    let mut tick: u32 = 0;
    let mut since = Instant::now();
    while w.driver.load(SeqCst) {
        if tick != 0 && tick % policy::YIELD_CHECK_INTERVAL == 0 && wants_yield(shared, slot, since)
        {
            park(shared, w, intent::YIELD);
            since = Instant::now();
        }
        if tick % policy::TIMER_CHECK_INTERVAL == 0 {
            shared.timers.fire_due();
        }
        if tick % homing::DRAIN_INTERVAL == 0 {
            homing::drain(slot);
        }
        let task = policy::next_task(shared, slot, tick);
        // Producers wake one server at a time (`sched::idle`): a driver that takes over and
        // leaves work queued passes the wake on.
        if tick == 0 && task.is_some() && policy::more_to_share(shared, slot) {
            shared.notify_one();
        }
        tick = tick.wrapping_add(1);
        match task {
            Some(task) => run_task(shared, slot, w, task),
            None if shared.timers.fire_due() > 0 => {}
            None if resumable(slot) > 0 => {
                park(shared, w, intent::YIELD);
                since = Instant::now();
            }
            None => {
                homing::drain(slot);
                return;
            }
        }
    }
}

fn resumable(slot: &ServerSlot) -> usize {
    slot.resumable.load(SeqCst) + slot.preempted.load(SeqCst)
}

fn wants_yield(shared: &Shared, slot: &ServerSlot, since: Instant) -> bool {
    policy::should_yield(
        slot.resumable.load(SeqCst),
        slot.preempted.load(SeqCst),
        since.elapsed() >= shared.config.blocking_slice,
    )
}

/// Runs one task on this worker; a blocking closure is announced to the monitor.
pub(crate) fn run_task(shared: &Shared, slot: &ServerSlot, w: &Arc<Worker>, task: Task) {
    if task.kind() != Kind::Blocking {
        return homing::run(shared, task, slot.index);
    }
    slot.blocking_seq.fetch_add(1, SeqCst);
    *lock(&slot.blocking_job) = Some(w.clone());
    homing::run(shared, task, slot.index);
    {
        let mut job = lock(&slot.blocking_job);
        if job.as_ref().is_some_and(|j| Arc::ptr_eq(j, w)) {
            *job = None;
        }
    }
    // What the closure spawned or woke went to the local queue without a wake (policy rule
    // 6), but a closure may have blocked: this worker may not be the one that runs next on
    // its server (it waits to be resumed), so offer that work to the other servers now.
    if !slot.local.is_empty() {
        shared.notify_one();
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A UMCG call failed in a way the protocol rules out: continuing could run two workers of
/// one server at once, so the process stops with the reason.
pub(crate) fn fatal(what: &str, e: &io::Error) -> ! {
    eprintln!("umcg runtime: {what} failed unexpectedly: {e}; aborting");
    std::process::abort()
}

/// Whether `t`'s task state is RUNNING.
pub(crate) fn is_running(t: &AtomicTask) -> bool {
    task_state(t.state.load(SeqCst)) == UMCG_TASK_RUNNING
}
