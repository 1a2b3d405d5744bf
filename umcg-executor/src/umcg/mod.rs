//! The UMCG layer: servers as CPU tokens, workers as the threads that run everything.
//!
//! Written once against [`umcg_sys::backend::Umcg`], so the same code drives the kernel's
//! syscalls and the userspace emulation.
//!
//! # Roles
//!
//! - A **server** (`server`) is a UMCG server thread, one per CPU by default. It never runs user
//!   code: it picks one of *its* workers, switches to it with `next_tid`, and sleeps in
//!   `umcg_wait` while that worker runs. At most one worker of a server runs user code at a
//!   time, so CPU concurrency stays at the number of servers however many workers exist.
//! - A **worker** (`worker`) is a UMCG worker thread bound to one server. The one holding the
//!   server's *driver role* runs the executor loop: it polls async tasks and calls blocking
//!   closures inline. Other workers are either **parked** (idle, reusable) or hold a job they
//!   started while they were driver and that blocked in the kernel.
//! - The **monitor** (`monitor`) is a plain thread that preempts a worker stuck in one blocking
//!   closure for longer than the blocking slice.
//! - The **spawner** (`spawner`) is a plain thread that creates worker threads for the servers
//!   and frees the ones they are done with: a server must never wait for a lock one of its own
//!   workers may hold (the allocator's included), so once its workers run it neither
//!   allocates, frees, nor creates threads (`spawner` explains the deadlock this avoids).
//!
//! # What happens when a task blocks
//!
//! The driver calls `read()` inside a poll. The kernel marks it BLOCKED and wakes its server on
//! the same CPU. If there is other work, the server revokes the driver role from it and
//! switches to a parked worker (or starts a thread, up to `max_workers`), which becomes the
//! driver and keeps polling the server's queues. When `read()` returns, the kernel marks the
//! old driver RUNNABLE, pushes it on the server's runnable list and wakes the server; the
//! server queues it as *unfinished*. The new driver sees that count at its next check and
//! yields; the server switches to the old driver, which finishes its poll, sees it is no longer
//! driver, and parks. The driver then resumes. This is why a plain blocking call inside `spawn`
//! is safe on the kernel backend. If there was nothing else to do while it was blocked, the
//! driver keeps its role and simply carries on when it comes back (two switches saved).
//!
//! # Server and worker states
//!
//! The server's view of a worker (user-space bookkeeping, `server::Server`):
//!
//! ```text
//!              register                 DRIVE/EXIT command + next_tid
//!   (thread) ----------> idle  ------------------------------------------> current
//!                         ^  ^                                             |  |  |
//!                 PARKED  |  +---------------------- YIELD (driver) -------+  |  |
//!                         +-------------- PARKED ------------------------------+  |
//!                                                                                 |
//!   unfinished / preempted <--- ACTIVE on the list (came back from BLOCKED, ------+
//!        |                       or preempted)            BLOCKED: driver role revoked
//!        +--------------------- next_tid -------------------> current
//!   current --UNREGISTER (NONE)--> forgotten
//! ```
//!
//! The UMCG `state` word of each task changes only as `umcg-abi.md` §3.2 allows: a worker
//! writes its own RUNNING → RUNNABLE|COND_WAIT before `umcg_wait(UMCG_WAIT_ENQUEUE)`; the
//! server writes its own RUNNING → RUNNABLE|COND_WAIT before `umcg_wait`; other threads write
//! a server's RUNNABLE → RUNNING (remote wake, `sched::idle`) or a worker's RUNNING →
//! RUNNING|TF_PREEMPT (monitor), by compare-and-swap only.
//!
//! # The server loop and its ordering (`umcg-abi.md` §4.2)
//!
//! ```text
//!   server (CPU0)                                 kernel, worker W unblocking (CPU1)
//!   (S1) state = RUNNABLE|COND_WAIT   (SeqCst)    W.state: BLOCKED -> RUNNABLE    (cmpxchg)
//!   (S2) head = runnable_ptr.swap(0)  (SeqCst)    (K1) W.link = head; cmpxchg head -> &W
//!        walk list, reset each link (rule 6)      (K2) server.state: RUNNABLE -> RUNNING
//!        decide, store next_tid                        (cmpxchg), wake the server
//!   (S3) umcg_wait(0, deadline)
//!        reload next_tid: TID_RUNNING set?
//!          yes: the switch happened; no: put the worker back
//! ```
//!
//! (S1)/(S2) pair with (K1)/(K2) as rule 1 requires: either the swap sees W on the list, or
//! (K2) finds the server RUNNABLE, makes it RUNNING, and (S3) returns at once (`EAGAIN`) so the
//! loop runs again. Every return of `umcg_wait` is treated as "look again" (rule 9), and
//! `next_tid` is reloaded after every wait (rule 5). The server does not wait on a worker that is
//! still RUNNABLE|COND_WAIT on its way into `umcg_wait`: it keeps naming it with TID_RUNNING
//! (the kernel answers `EAGAIN`) and yields until the worker is on the list.
//!
//! Worker side (`worker::park`):
//!
//! ```text
//!   worker W (CPU0)                                server (CPU0, asleep in umcg_wait)
//!   intent = PARKED | YIELD      (SeqCst)
//!   (W1) state = RUNNABLE|COND_WAIT  (SeqCst)
//!   (W2) umcg_wait(UMCG_WAIT_ENQUEUE, 0)   ------> (K1) push W, (K2) wake server
//!        sleeps until RUNNING                      (S2) pops W, reads W.intent
//!        returns; reads `command` (SeqCst)  <----  stores W.command, next_tid = W, (S3)
//! ```
//!
//! `intent` is written before (W1) and read after (S2), whose swap is ordered after (K1), which
//! the kernel performs after (W2) started: the server always reads the intent of the park it
//! handles. `command` and the driver flag are written by the server before its `umcg_wait`
//! switches to the worker and read by the worker after its `umcg_wait` returns; the kernel's
//! state cmpxchg and wakeup order them.
//!
//! # Remote wakes
//!
//! Tasks spawned or woken by threads that are not this server's workers go to the injection
//! queue; a server that sleeps with nothing to run is woken by the protocol in `sched::idle`
//! (its own SeqCst fences, then cmpxchg RUNNABLE → RUNNING on the server's state + `umcg_kick`).
//!
//! # Spare workers
//!
//! When a server hands the driver role to its last idle worker it asks the spawner for one more
//! thread (up to `max_workers`), so that the next block hands over at once instead of waiting for a thread
//! to be created; surplus idle workers retire after the keep-alive, down to one per server.
//!
//! # What does not rely on "one worker at a time"
//!
//! The emulation cannot stop a worker whose syscall returned before it notices (it runs user
//! code while its state says RUNNABLE, `umcg_sys::emul`), and the kernel lets a server run
//! between a worker's unblock and its own wait. So nothing shared depends on one worker of a
//! server running at a time: every queue is MPMC (`sched::queue`), the task state word lets
//! one thread at a time poll a task whichever thread pops it (`task::state`), and the driver
//! flag is re-read at every pick, so two drivers of one server can overlap briefly without
//! harm.
//!
//! # Simplifications (and why)
//!
//! - **No `UMCG_CTL_COOP`.** With COOP, an enqueue does not wake a server whose `next_tid` is
//!   set, and a worker's own `UMCG_WAIT_ENQUEUE` is such an enqueue: the server would sleep on.
//!   Without COOP every unblock wakes the server briefly (it files the worker and waits again),
//!   which costs a wakeup but never a lost one.
//! - **Not `UMCG_CTL_MULTI`.** One running worker per server is the point.
//! - **Workers do not migrate** between servers; the worker limit is global, so a server whose
//!   workers are all blocked may wait for another server's idle workers to retire
//!   (`Builder::thread_keep_alive`) when the limit is reached.
//! - **Timers** are checked by drivers and by idle servers' wait deadlines; a server busy with
//!   one long job notices a due timer only when the job blocks, ends or is preempted.

pub(crate) mod monitor;
pub(crate) mod roster;
pub(crate) mod server;
pub(crate) mod spawner;
pub(crate) mod stack;
pub(crate) mod task;
pub(crate) mod worker;

use std::io;

use umcg_sys::backend::{Kernel, Umcg};

use crate::Backend;

/// The implementation of the UMCG ABI that `backend` selects.
pub(crate) fn resolve(backend: Backend) -> io::Result<&'static dyn Umcg> {
    static KERNEL: std::sync::OnceLock<Option<Kernel>> = std::sync::OnceLock::new();
    match backend {
        Backend::Auto => Ok(umcg_sys::backend::auto()),
        Backend::Emulated => Ok(umcg_sys::emul::Emulated::get()),
        Backend::Kernel => match KERNEL.get_or_init(Kernel::detect) {
            Some(k) => Ok(k),
            None => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the kernel does not advertise UMCG (/sys/kernel/umcg/version is missing)",
            )),
        },
    }
}
