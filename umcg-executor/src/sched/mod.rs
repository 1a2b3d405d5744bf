//! The scheduler state shared by every thread of a runtime: run queues, sleeping servers, the
//! task registry, timers, and the spawn/wake entry points.
//!
//! Where a task goes when it is spawned or woken:
//!
//! | from | async task | blocking closure |
//! |---|---|---|
//! | a driver of this runtime (server *i*) | server *i*'s local queue (injection queue when full) | the blocking queue |
//! | any other thread | the injection queue | the blocking queue |
//!
//! After a push a sleeping server is woken if there is one and no other is already on its way
//! up (`idle`): it steals the task if the pusher's own driver does not get to it first (work
//! sharing between servers). A driver's push into its own empty local queue wakes nobody: the
//! driver takes that task next itself (`policy`, rule 6). Which queue a driver takes from is
//! the policy (`policy`).

pub(crate) mod homing;
pub(crate) mod idle;
pub(crate) mod inject;
pub(crate) mod policy;
pub(crate) mod queue;
pub(crate) mod registry;

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering::*};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::Thread;
use std::time::Duration;

use umcg_sys::abi::{UMCG_TASK_MASK, UMCG_TASK_RUNNABLE, UMCG_TASK_RUNNING, UMCG_TF_COND_WAIT};
use umcg_sys::backend::Umcg;

use crate::blocking::BlockingQueue;
use crate::runtime::context;
use crate::runtime::Hooks;
use crate::task::core::{BlockingTask, Cell, Kind, Schedule, Task};
use crate::task::{Id, JoinHandle};
use crate::time::driver::Timers;
use crate::umcg::stack::Stack;
use crate::umcg::task::AtomicTask;
use crate::umcg::worker::Worker;
use idle::Idle;
use inject::Inject;
use queue::Queue;
use registry::Registry;

/// Settings fixed at build time.
pub(crate) struct Config {
    pub(crate) max_workers: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) blocking_slice: Duration,
    pub(crate) stack_size: Option<usize>,
    pub(crate) thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    pub(crate) hooks: Hooks,
}

/// A server's lifecycle as the shutdown waiter sees it.
pub(crate) mod phase {
    /// Running work, or able to.
    pub(crate) const ACTIVE: u8 = 0;
    /// Shutting down, with nothing left to run but workers blocked in the kernel.
    pub(crate) const QUIESCENT: u8 = 1;
    /// The server thread is gone (or never started).
    pub(crate) const EXITED: u8 = 2;
}

/// What other threads may see and touch of one server.
#[repr(C, align(64))]
pub(crate) struct ServerSlot {
    /// The server's registered `umcg_task` (must stay in place while it is registered).
    pub(crate) task: AtomicTask,
    pub(crate) index: usize,
    pub(crate) tid: std::sync::atomic::AtomicU32,
    /// Async tasks spawned or woken by this server's drivers.
    pub(crate) local: Queue<Task>,
    /// Announced idle (see `idle`; a loom type under `cfg(loom)`, where that protocol is
    /// model-checked).
    pub(crate) sleeping: crate::loom::atomic::AtomicBool,
    /// Workers waiting for this server to resume them: with unfinished work, and preempted
    /// blocking closures (published by the server for its driver).
    pub(crate) resumable: AtomicUsize,
    pub(crate) preempted: AtomicUsize,
    /// Worker threads of this server, and how many of them are parked idle (metrics).
    pub(crate) workers: AtomicUsize,
    pub(crate) idle_workers: AtomicUsize,
    /// The worker running a blocking closure now, and a sequence number per closure started:
    /// the monitor preempts it when the sequence has not moved for a whole slice.
    pub(crate) blocking_job: Mutex<Option<Arc<Worker>>>,
    pub(crate) blocking_seq: AtomicU64,
    pub(crate) phase: AtomicU8,
    /// Workers the server asked the spawner for, not yet created (`umcg::spawner`).
    pub(crate) spawn_requests: AtomicUsize,
    /// Workers the spawner created for this server, not yet taken by it.
    pub(crate) born: Stack<Worker>,
    /// Finished tasks this server's drivers spawned, sent back by other servers' drivers to be
    /// freed here (`homing`).
    pub(crate) homecoming: Queue<Task>,
}

/// See the module documentation.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) umcg: &'static dyn Umcg,
    pub(crate) servers: Box<[ServerSlot]>,
    pub(crate) inject: Inject<Task>,
    pub(crate) blocking: BlockingQueue,
    pub(crate) registry: Registry,
    pub(crate) timers: Timers,
    pub(crate) idle: Idle,
    /// Set once, when shutdown begins (a loom type under `cfg(loom)`, where `homing`'s use of
    /// it is model-checked).
    pub(crate) shutdown: crate::loom::atomic::AtomicBool,
    /// Live worker threads (all servers).
    pub(crate) workers: AtomicUsize,
    pub(crate) spawn_failures: AtomicU64,
    pub(crate) last_spawn_error: Mutex<Option<String>>,
    /// Signalled by servers whose phase changes, for the shutdown waiter.
    pub(crate) phase_lock: Mutex<()>,
    pub(crate) phase_cv: Condvar,
    /// The thread that creates and frees workers for the servers (`umcg::spawner`).
    pub(crate) spawner: OnceLock<Thread>,
    /// Workers the servers are done with, for the spawner to drop.
    pub(crate) graveyard: Stack<Worker>,
}

const LOCAL_QUEUE_CAPACITY: usize = 256;
const INJECT_CAPACITY: usize = 4096;

impl Shared {
    pub(crate) fn new(
        config: Config,
        umcg: &'static dyn Umcg,
        servers: usize,
        blocking_capacity: usize,
    ) -> Self {
        let servers = (0..servers)
            .map(|index| ServerSlot {
                task: AtomicTask::default(),
                index,
                tid: Default::default(),
                local: Queue::new(LOCAL_QUEUE_CAPACITY),
                sleeping: crate::loom::atomic::AtomicBool::new(false),
                resumable: AtomicUsize::new(0),
                preempted: AtomicUsize::new(0),
                workers: AtomicUsize::new(0),
                idle_workers: AtomicUsize::new(0),
                blocking_job: Mutex::new(None),
                blocking_seq: AtomicU64::new(0),
                phase: AtomicU8::new(phase::ACTIVE),
                spawn_requests: AtomicUsize::new(0),
                born: Stack::new(),
                homecoming: Queue::new(homing::CAPACITY),
            })
            .collect();
        Self {
            config,
            umcg,
            servers,
            inject: Inject::new(INJECT_CAPACITY),
            blocking: BlockingQueue::new(blocking_capacity),
            registry: Registry::new(),
            timers: Timers::new(),
            idle: Idle::new(),
            shutdown: crate::loom::atomic::AtomicBool::new(false),
            workers: AtomicUsize::new(0),
            spawn_failures: AtomicU64::new(0),
            last_spawn_error: Mutex::new(None),
            phase_lock: Mutex::new(()),
            phase_cv: Condvar::new(),
            spawner: OnceLock::new(),
            graveyard: Stack::new(),
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(SeqCst)
    }

    /// Registers a new task and schedules it (or cancels it at once after shutdown).
    fn start<F>(self: &Arc<Self>, future: F, kind: Kind) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let home = match context::server_of(self) {
            Some(i) if homing::worth_it(std::mem::size_of::<Cell<F, Arc<Self>>>()) => i,
            _ => homing::NO_HOME,
        };
        let cell = Cell::with_home(future, self.clone(), Id::next(), kind, home);
        let key = self.registry.insert(cell.clone());
        cell.set_key(key);
        // Pairs with `shutdown`: it sets the flag, then drains the registry (both under the
        // registry's locks), so a task inserted after the drain sees the flag here.
        if self.is_shutdown() {
            crate::task::core::RawTask::cancel(cell.clone());
        } else {
            self.schedule(cell.clone());
        }
        JoinHandle::new(cell)
    }

    /// `spawn`.
    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.start(future, Kind::Async)
    }

    /// `spawn_blocking` after the caller acquired a blocking-queue permit.
    pub(crate) fn spawn_blocking_permitted<F, R>(self: &Arc<Self>, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.start(BlockingTask::new(f), Kind::Blocking)
    }

    /// Pops a blocking closure and returns its permit.
    pub(crate) fn pop_blocking(&self) -> Option<Task> {
        self.blocking.pop()
    }

    pub(crate) fn blocking_len(&self) -> usize {
        self.blocking.len()
    }

    /// Wakes one sleeping server, if any.
    pub(crate) fn notify_one(&self) {
        if !self.idle.should_wake() {
            return;
        }
        if let Some(slot) = self.servers.iter().find(|s| self.idle.claim(&s.sleeping)) {
            self.wake_server(slot);
        }
    }

    /// Wakes every server that sleeps (shutdown, earlier timers).
    pub(crate) fn notify_all(&self) {
        for slot in self.servers.iter() {
            self.idle.claim(&slot.sleeping);
            self.wake_server(slot);
        }
    }

    /// Makes a server that waits in `umcg_wait` RUNNING and kicks it; nothing if it runs.
    ///
    /// Only for servers with no worker switched in (idle or about to be): the caller claimed
    /// its `sleeping` flag, or the runtime is shutting down (a busy server is woken by its
    /// worker anyway). See `idle` for why this cannot lose a wakeup.
    pub(crate) fn wake_server(&self, slot: &ServerSlot) {
        let mut s = slot.task.state.load(SeqCst);
        while s & UMCG_TASK_MASK == UMCG_TASK_RUNNABLE {
            let running = (s & !(UMCG_TASK_MASK | UMCG_TF_COND_WAIT)) | UMCG_TASK_RUNNING;
            match slot.task.state.compare_exchange(s, running, SeqCst, SeqCst) {
                Ok(_) => {
                    // A failed kick means the server is not waiting (or has exited): the
                    // state change alone is then enough.
                    let _ = self.umcg.kick(0, slot.tid.load(SeqCst));
                    return;
                }
                Err(now) => s = now,
            }
        }
    }

    /// Records a failed worker thread creation (metrics; never a panic).
    pub(crate) fn record_spawn_failure(&self, e: &io::Error) {
        self.spawn_failures.fetch_add(1, Relaxed);
        *self
            .last_spawn_error
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
    }

    /// Shutdown: refuse new work, cancel every live task, wake every server.
    pub(crate) fn begin_shutdown(&self) {
        if self.shutdown.swap(true, SeqCst) {
            return;
        }
        for task in self.registry.drain() {
            task.cancel();
        }
        homing::drain_all(self);
        self.blocking.close();
        self.notify_all();
    }

    /// Called by a server whose phase changed. Takes no lock (a server must not: see
    /// `umcg::spawner`); a notification that slips between the waiter's check and its wait
    /// is covered by the waiter's polling.
    pub(crate) fn set_phase(&self, slot: &ServerSlot, phase: u8) {
        if slot.phase.swap(phase, SeqCst) != phase {
            self.phase_cv.notify_all();
        }
    }

    /// Waits until no server has anything to run but workers blocked in the kernel, or until
    /// `deadline`. Returns whether that state was reached.
    pub(crate) fn wait_quiescent(&self, deadline: Option<std::time::Instant>) -> bool {
        let mut guard = self.phase_lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self
                .servers
                .iter()
                .all(|s| s.phase.load(SeqCst) != phase::ACTIVE)
            {
                return true;
            }
            // Servers publish their phase without holding the lock; poll as a fallback so a
            // notification that slipped between the check and the wait costs at most 10 ms.
            let mut step = Duration::from_millis(10);
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return false;
                }
                step = step.min(left);
            }
            guard = self
                .phase_cv
                .wait_timeout(guard, step)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The spawner holds only a weak reference: woken now, it finds the runtime gone and ends.
        crate::umcg::spawner::notify(self.spawner.get());
    }
}

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: Task) {
        if task.kind() == Kind::Blocking {
            self.blocking.push(task);
            self.notify_one();
            return;
        }
        match context::server_of(self) {
            Some(i) => {
                let local = &self.servers[i].local;
                // Policy rule 6: only a task the driver will not take next is worth a wake
                // (with blocking closures queued, its next pick may be one of those).
                let surplus = !local.is_empty() || self.blocking_len() > 0;
                match local.push(task) {
                    Ok(()) if !surplus => {}
                    Ok(()) => self.notify_one(),
                    Err(task) => {
                        self.inject.push(task);
                        self.notify_one();
                    }
                }
            }
            None => {
                self.inject.push(task);
                self.notify_one();
            }
        }
    }

    fn release(&self, id: Id, key: usize) {
        self.registry.remove(id, key);
    }
}
