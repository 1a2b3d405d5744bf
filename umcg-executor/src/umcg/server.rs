//! The server thread: one per CPU token. It runs no user code; it decides which worker of its
//! own runs, switches to it, and sleeps while it runs (see the module documentation of `umcg`
//! for the protocol and its diagrams).
//!
//! Once its first worker runs, a server takes no lock and neither allocates nor frees memory
//! (`spawner` says why): its bookkeeping lives in containers sized for `max_workers` when it
//! starts, new workers come from the spawner through `ServerSlot::born`, and the workers it is
//! done with go back to the spawner to be dropped there.

#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::Ordering::*;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use umcg_sys::abi::{
    UMCG_CTL_REGISTER, UMCG_CTL_UNREGISTER, UMCG_TASK_BLOCKED, UMCG_TASK_NONE, UMCG_TASK_RUNNABLE,
    UMCG_TASK_RUNNING, UMCG_TF_COND_WAIT, UMCG_TID_RUNNING,
};

use super::roster::Roster;
use super::spawner;
use super::worker::{self, command, intent, Worker};
use crate::sched::policy::{self, ServerChoice};
use crate::sched::{phase, ServerSlot, Shared};

/// How long a server whose worker could not be created waits before it tries again.
const SPAWN_RETRY: Duration = Duration::from_millis(5);

/// Starts server `index` and waits until it is registered and has its first worker thread.
pub(crate) fn start(shared: &Arc<Shared>, index: usize) -> io::Result<()> {
    let (tx, rx) = mpsc::channel();
    let s2 = shared.clone();
    let name = format!("{}-srv", (shared.config.thread_name)());
    std::thread::Builder::new()
        .name(name)
        .spawn(move || run(s2, index, tx))?;
    match rx.recv() {
        Ok(r) => r,
        Err(_) => Err(io::Error::other("umcg server thread died while starting")),
    }
}

fn run(shared: Arc<Shared>, index: usize, ready: mpsc::Sender<io::Result<()>>) {
    let slot = &shared.servers[index];
    let tid = umcg_sys::gettid();
    slot.tid.store(tid, SeqCst);
    slot.task.prepare(UMCG_TASK_RUNNING, tid);
    // SAFETY: the slot lives in `shared`, which this thread keeps alive until after it
    // unregisters; it is 64-byte aligned and never moves.
    let registered = unsafe {
        shared
            .umcg
            .ctl(UMCG_CTL_REGISTER, slot.task.as_ptr(), libc::CLOCK_MONOTONIC)
    };
    if let Err(e) = registered {
        shared.set_phase(slot, phase::EXITED);
        let _ = ready.send(Err(e));
        return;
    }
    let mut server = Server::new(shared.clone(), index);
    if let Err(e) = server.first_worker() {
        unregister(&shared, slot);
        let _ = ready.send(Err(e));
        return;
    }
    let _ = ready.send(Ok(()));
    server.run();
    unregister(&shared, slot);
}

fn unregister(shared: &Shared, slot: &ServerSlot) {
    slot.task.state.store(UMCG_TASK_RUNNING, SeqCst);
    // SAFETY: unregisters the block registered in `run`, on the same thread.
    if let Err(e) = unsafe { shared.umcg.ctl(UMCG_CTL_UNREGISTER, slot.task.as_ptr(), 0) } {
        worker::fatal("umcg_ctl(UNREGISTER) of a server", &e);
    }
    shared.set_phase(slot, phase::EXITED);
}

/// Where a worker the server switched to came from (to put it back if the switch fails).
#[derive(Debug, Clone, Copy)]
enum Origin {
    Unfinished,
    Preempted,
    Yielded,
    Idle,
}

/// One decision of the loop.
enum Step {
    /// The current worker still runs: keep `next_tid` naming it.
    Keep(u32),
    /// Switch to this worker.
    Switch(Arc<Worker>, Origin),
    /// Nothing to switch to: wait (0: no deadline) for a wake, a timer, or a worker.
    Sleep { deadline: u64, announced: bool },
    /// Look again without waiting.
    Again,
    /// Shut down: every worker is gone.
    Exit,
}

/// The server's private bookkeeping (only the server thread touches it).
struct Server {
    shared: Arc<Shared>,
    index: usize,
    /// Every registered (or registering) worker of this server, by `umcg_task` address: the
    /// reference that is dropped last (by the spawner, `forget`).
    workers: Roster<Worker>,
    /// Asked of the spawner, not yet taken from `born`.
    requested: usize,
    /// Spawned, not yet seen on the runnable list.
    starting: Vec<Arc<Worker>>,
    /// The runnable list as it is walked (`absorb`), kept to reuse its capacity.
    popped: Vec<Arc<Worker>>,
    unfinished: VecDeque<Arc<Worker>>,
    preempted: VecDeque<Arc<Worker>>,
    /// The driver, when it yielded to resumable workers.
    yielded: Option<Arc<Worker>>,
    /// Parked workers and when they parked.
    idle: Vec<(Arc<Worker>, Instant)>,
    cur: Option<Arc<Worker>>,
    driver: Option<Arc<Worker>>,
    driver_turn: bool,
    /// The driver blocked in the kernel and has not come back. It keeps the role (and
    /// carries on driving when it comes back) unless work arrives meanwhile.
    driver_blocked: bool,
    retry_spawn_at: Option<Instant>,
}

impl Server {
    /// A server with room for `max_workers` workers in every container: allocated here, before
    /// any worker runs, and never again.
    fn new(shared: Arc<Shared>, index: usize) -> Self {
        let max = shared.config.max_workers;
        Self {
            shared,
            index,
            workers: Roster::with_capacity(max),
            requested: 0,
            starting: Vec::with_capacity(max),
            popped: Vec::with_capacity(max),
            unfinished: VecDeque::with_capacity(max),
            preempted: VecDeque::with_capacity(max),
            yielded: None,
            idle: Vec::with_capacity(max),
            cur: None,
            driver: None,
            driver_turn: true,
            driver_blocked: false,
            retry_spawn_at: None,
        }
    }

    /// The server loop: see "The server loop" in the `umcg` module documentation.
    fn run(&mut self) {
        let shared = self.shared.clone();
        let slot = &shared.servers[self.index];
        loop {
            // (S1) Announce the wait before looking at the list: a worker pushed after the
            // swap below finds us RUNNABLE and makes us RUNNING, so our wait returns EAGAIN.
            slot.task
                .state
                .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
            // (S2) Full barrier (SeqCst RMW), pairs with the kernel's push-then-wake (K1, K2).
            let head = slot.task.runnable_workers_ptr.swap(0, SeqCst);
            self.absorb(head);
            self.review_current();
            self.reap_failed();
            self.publish(slot);
            let (next_tid, deadline, switching, announced) = match self.decide(slot) {
                Step::Exit => return,
                Step::Again => continue,
                Step::Keep(tid) => (tid | UMCG_TID_RUNNING, 0, None, false),
                Step::Switch(w, origin) => (w.tid.load(SeqCst), 0, Some((w, origin)), false),
                Step::Sleep {
                    deadline,
                    announced,
                } => (0, deadline, None, announced),
            };
            slot.task.next_tid.store(next_tid, SeqCst);
            let waited = shared.umcg.wait(0, deadline.min(i64::MAX as u64) as i64);
            if announced {
                shared.idle.retract(&slot.sleeping);
            }
            // (S3) Whatever the result, `next_tid` says whether the switch happened.
            if let Some((w, origin)) = switching {
                if slot.task.next_tid.load(SeqCst) & UMCG_TID_RUNNING != 0 {
                    self.cur = Some(w);
                } else {
                    self.put_back(w, origin);
                }
            }
            if let Err(e) = waited {
                match e.raw_os_error() {
                    Some(libc::ETIMEDOUT) | Some(libc::EINTR) => {}
                    // Woken before sleeping, or the named worker stopped running: decide again,
                    // letting a worker on its way into umcg_wait (COND_WAIT) get there first.
                    Some(libc::EAGAIN) => {
                        let entering = self
                            .cur
                            .as_ref()
                            .is_some_and(|c| c.task.state.load(SeqCst) & UMCG_TF_COND_WAIT != 0);
                        if entering {
                            std::thread::yield_now();
                        }
                    }
                    _ => worker::fatal("umcg_wait of a server", &e),
                }
            }
        }
    }

    /// Takes every worker off the runnable list and files it by its intent. New workers are
    /// taken from `born` first: after the swap of the list head, so that every worker on the
    /// list is known (`spawner`).
    fn absorb(&mut self, mut head: u64) {
        self.adopt_born();
        let mut popped = std::mem::take(&mut self.popped);
        while head != 0 {
            let Some(w) = self.workers.get(head).cloned() else {
                // No allocation for the message: this server's own worker may hold the lock.
                worker::fatal(
                    "runnable-list walk (a worker this server does not know)",
                    &io::ErrorKind::NotFound.into(),
                );
            };
            // §4.2 rule 6: reset the link before the worker can be pushed again.
            head = w.task.runnable_workers_ptr.swap(0, SeqCst);
            popped.push(w);
        }
        // The list is LIFO; file the oldest push first.
        for w in popped.drain(..).rev() {
            self.file(w);
        }
        self.popped = popped;
    }

    /// Files the workers the spawner created for us as starting.
    fn adopt_born(&mut self) {
        let slot = &self.shared.servers[self.index];
        for w in slot.born.take_all() {
            self.requested -= 1;
            self.adopt(w);
        }
    }

    fn adopt(&mut self, w: Arc<Worker>) {
        self.workers.insert(w.task.addr(), w.clone());
        self.shared.servers[self.index].workers.fetch_add(1, SeqCst);
        self.starting.push(w);
    }

    fn file(&mut self, w: Arc<Worker>) {
        if self.cur.as_ref().is_some_and(|c| Arc::ptr_eq(c, &w)) {
            self.cur = None;
        }
        self.starting.retain(|s| !Arc::ptr_eq(s, &w));
        match w.intent.load(SeqCst) {
            intent::NEW | intent::PARKED => {
                if self.is_driver(&w) {
                    self.driver_blocked = false;
                }
                self.idle.push((w, Instant::now()));
            }
            // Only the driver yields to the resumable workers. A worker whose driver role was
            // revoked while it ran on (the emulation lets a worker run on after a block until
            // it parks) may still yield from its executor loop: it is unfinished like any
            // worker stopped mid-loop, and when resumed it sees the role gone and parks. Were
            // it kept as `yielded`, the real driver's next yield would overwrite, and lose, it.
            intent::YIELD if self.is_driver(&w) => {
                self.driver_turn = false;
                if let Some(earlier) = self.yielded.replace(w) {
                    self.unfinished.push_back(earlier);
                }
            }
            _ => {
                let preempted = w.preempted.swap(false, SeqCst);
                if self.is_driver(&w) {
                    self.driver_blocked = false;
                    if preempted {
                        // The driver must not wait behind its own long closure.
                        self.revoke();
                    }
                }
                if preempted {
                    self.preempted.push_back(w);
                } else {
                    self.unfinished.push_back(w);
                }
            }
        }
    }

    /// Looks at the current worker's state: still running, blocked, gone, or on its way to
    /// the runnable list.
    fn review_current(&mut self) {
        let Some(cur) = self.cur.clone() else { return };
        let (st, raw) = cur.task.load_state();
        match st {
            UMCG_TASK_RUNNING => {}
            // It set COND_WAIT and is about to call umcg_wait: keep naming it (the kernel
            // answers EAGAIN) until it is on the list.
            UMCG_TASK_RUNNABLE if raw & UMCG_TF_COND_WAIT != 0 => {}
            UMCG_TASK_NONE => {
                self.cur = None;
                self.forget(cur);
            }
            UMCG_TASK_BLOCKED => {
                self.cur = None;
                if self.is_driver(&cur) {
                    self.driver_blocked = true;
                }
            }
            _ => self.cur = None,
        }
    }

    /// Forgets workers whose thread could not be created or register.
    fn reap_failed(&mut self) {
        while let Some(i) = self.starting.iter().position(|w| w.failed.load(SeqCst)) {
            let w = self.starting.swap_remove(i);
            self.forget(w);
            self.retry_spawn_at = Some(Instant::now() + SPAWN_RETRY);
        }
    }

    /// Drops every reference to `w` but the roster's, releases its place under the worker
    /// limit, and hands the roster's reference to the spawner: whichever reference is the last,
    /// it is not dropped on this thread (`spawner`).
    fn forget(&mut self, w: Arc<Worker>) {
        self.idle.retain(|(i, _)| !Arc::ptr_eq(i, &w));
        if self.is_driver(&w) {
            self.driver = None;
            self.driver_blocked = false;
        }
        let addr = w.task.addr();
        drop(w);
        if let Some(last) = self.workers.remove(addr) {
            self.shared.servers[self.index].workers.fetch_sub(1, SeqCst);
            self.shared.workers.fetch_sub(1, SeqCst);
            spawner::bury(&self.shared, last);
        }
    }

    fn is_driver(&self, w: &Arc<Worker>) -> bool {
        self.driver.as_ref().is_some_and(|d| Arc::ptr_eq(d, w))
    }

    /// The driver stopped mid-job: it finishes that job later, then parks.
    fn revoke(&mut self) {
        if let Some(d) = self.driver.take() {
            d.driver.store(false, SeqCst);
        }
    }

    fn publish(&self, slot: &ServerSlot) {
        slot.resumable.store(self.unfinished.len(), SeqCst);
        slot.preempted.store(self.preempted.len(), SeqCst);
        slot.idle_workers.store(self.idle.len(), SeqCst);
    }

    fn decide(&mut self, slot: &ServerSlot) -> Step {
        if let Some(cur) = &self.cur {
            return Step::Keep(cur.tid.load(SeqCst));
        }
        let work = self.yielded.is_some() || policy::has_work(&self.shared, slot);
        let choice = policy::server_choice(
            !self.unfinished.is_empty(),
            !self.preempted.is_empty(),
            work,
            self.driver_turn,
        );
        match choice {
            ServerChoice::Resume => {
                let w = self.unfinished.pop_front().expect("unfinished");
                Step::Switch(w, Origin::Unfinished)
            }
            ServerChoice::ResumePreempted => {
                self.driver_turn = true;
                let w = self.preempted.pop_front().expect("preempted");
                Step::Switch(w, Origin::Preempted)
            }
            ServerChoice::Drive => match self.drive_step() {
                // No driver can run now (at the worker limit, or a thread is starting): do
                // not leave a preempted closure waiting for one meanwhile.
                Step::Sleep { .. } if !self.preempted.is_empty() => {
                    let w = self.preempted.pop_front().expect("preempted");
                    Step::Switch(w, Origin::Preempted)
                }
                step => step,
            },
            ServerChoice::Idle => self.idle_step(slot),
        }
    }

    /// Runs the driver: the one that yielded, the parked one, a new one from the idle
    /// workers, or a new thread.
    fn drive_step(&mut self) -> Step {
        if let Some(d) = self.yielded.take() {
            return Step::Switch(d, Origin::Yielded);
        }
        if self.driver_blocked {
            // Work arrived while the driver is blocked: the role goes to another worker; the
            // blocked one finishes its job when it comes back, then parks.
            self.driver_blocked = false;
            self.revoke();
        }
        if let Some(d) = self.driver.clone() {
            if let Some(i) = self.idle.iter().position(|(w, _)| Arc::ptr_eq(w, &d)) {
                self.idle.remove(i);
                d.command.store(command::DRIVE, SeqCst);
                return Step::Switch(d, Origin::Idle);
            }
            // Neither running, idle nor yielded: its push to the runnable list is in flight,
            // and that push wakes us.
            return Step::Sleep {
                deadline: 0,
                announced: false,
            };
        }
        if let Some((w, _)) = self.idle.pop() {
            w.driver.store(true, SeqCst);
            w.command.store(command::DRIVE, SeqCst);
            self.driver = Some(w.clone());
            if self.idle.is_empty() && !self.spawning() {
                // Keep a spare: the next block hands over to it without waiting for a thread
                // to be created (at the limit, or if creation fails, there is simply none).
                let _ = self.request_worker();
            }
            return Step::Switch(w, Origin::Idle);
        }
        self.grow()
    }

    /// No idle worker for a driver: start a thread, unless one is starting, the limit is
    /// reached, or the last attempt failed recently.
    fn grow(&mut self) -> Step {
        let now = Instant::now();
        let shared = self.shared.clone();
        let retry = |at: Instant| Step::Sleep {
            deadline: shared.timers.to_ns(at),
            announced: false,
        };
        if self.spawning() {
            return Step::Sleep {
                deadline: 0,
                announced: false,
            };
        }
        if let Some(at) = self.retry_spawn_at.filter(|&at| at > now) {
            return retry(at);
        }
        match self.request_worker() {
            Ok(()) => Step::Sleep {
                deadline: 0,
                announced: false,
            },
            Err(_) => {
                // At the limit (a worker of ours comes back when its syscall returns; one of
                // another server may retire) or the thread could not be created (recorded).
                let at = now + SPAWN_RETRY;
                self.retry_spawn_at = Some(at);
                retry(at)
            }
        }
    }

    /// A worker thread is on its way: asked of the spawner, or started and not registered yet.
    fn spawning(&self) -> bool {
        self.requested > 0 || !self.starting.is_empty()
    }

    /// Asks the spawner for one more worker (`WouldBlock` at the worker limit). Its push to the
    /// runnable list (or its failure) wakes us.
    fn request_worker(&mut self) -> io::Result<()> {
        worker::reserve(&self.shared)?;
        self.requested += 1;
        spawner::request(&self.shared, &self.shared.servers[self.index]);
        Ok(())
    }

    /// The first worker, started from this thread: no worker of ours runs yet, so nothing it
    /// could wait for here is held by one.
    fn first_worker(&mut self) -> io::Result<()> {
        worker::reserve(&self.shared)?;
        let w = Arc::new(Worker::new(self.index));
        if let Err(e) = worker::start(&self.shared, &w) {
            self.shared.workers.fetch_sub(1, SeqCst);
            return Err(e);
        }
        self.adopt(w);
        Ok(())
    }

    /// Nothing to run: shut down, retire a surplus idle worker, or sleep.
    fn idle_step(&mut self, slot: &ServerSlot) -> Step {
        let shared = self.shared.clone();
        if shared.is_shutdown() {
            shared.set_phase(slot, phase::QUIESCENT);
            let away = self.workers.len() - self.idle.len() + self.requested;
            if away == 0 {
                return match self.idle.pop() {
                    Some((w, _)) => self.retire(w),
                    None => Step::Exit,
                };
            }
            // Workers blocked in the kernel (or starting): they come back through the
            // runnable list, which wakes us.
            return Step::Sleep {
                deadline: 0,
                announced: false,
            };
        }
        let now = Instant::now();
        let keep_alive = shared.config.keep_alive;
        let surplus = self.workers.len() > 1;
        if surplus {
            let expired = self
                .idle
                .iter()
                .position(|(w, t)| !self.is_driver(w) && now.duration_since(*t) >= keep_alive);
            if let Some(i) = expired {
                let (w, _) = self.idle.remove(i);
                return self.retire(w);
            }
        }
        let retire_at = self
            .idle
            .iter()
            .filter(|(w, _)| surplus && !self.is_driver(w))
            .map(|(_, t)| shared.timers.to_ns(*t + keep_alive))
            .min()
            .unwrap_or(u64::MAX);
        let deadline = shared.timers.next_deadline().min(retire_at);
        shared.idle.announce(&slot.sleeping);
        if policy::has_work(&shared, slot) {
            shared.idle.retract(&slot.sleeping);
            return Step::Again;
        }
        Step::Sleep {
            deadline: if deadline == u64::MAX {
                0
            } else {
                deadline.max(1)
            },
            announced: true,
        }
    }

    fn retire(&mut self, w: Arc<Worker>) -> Step {
        if self.is_driver(&w) {
            self.driver = None;
        }
        w.driver.store(false, SeqCst);
        w.command.store(command::EXIT, SeqCst);
        Step::Switch(w, Origin::Idle)
    }

    fn put_back(&mut self, w: Arc<Worker>, origin: Origin) {
        match origin {
            Origin::Unfinished => self.unfinished.push_front(w),
            Origin::Preempted => self.preempted.push_front(w),
            Origin::Yielded => self.yielded = Some(w),
            Origin::Idle => self.idle.push((w, Instant::now())),
        }
    }
}
