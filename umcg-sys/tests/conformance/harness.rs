//! The conformance harness: servers and workers driven through `&dyn Umcg`, the canonical
//! server loop of `umcg-abi.md` §3.6, and a watchdog so that no test can hang.

use std::io;
use std::mem::offset_of;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use umcg_sys::abi::*;
use umcg_sys::backend::{Kernel, Umcg};
use umcg_sys::emul::{Detector, Emulated, Options};

/// How long any single wait of a test may take before the test fails.
pub const STEP: Duration = Duration::from_secs(5);
/// How long a whole test may take.
const WATCHDOG: Duration = Duration::from_secs(60);

pub type U = &'static dyn Umcg;

pub fn errno(r: io::Result<()>) -> Option<i32> {
    errno_of(&r)
}

pub fn errno_of(r: &io::Result<()>) -> Option<i32> {
    r.as_ref().err().and_then(|e| e.raw_os_error())
}

/// `state` of the `umcg_task` at `addr`.
pub fn state_at(addr: u64) -> &'static AtomicU32 {
    // SAFETY: tests only pass addresses of registered tasks that outlive the call.
    unsafe { &*(addr as *const AtomicU32) }
}

/// The u64 field at `offset` (an `offset_of!(umcg_task, ..)`) of the `umcg_task` at `addr`.
fn u64_at(addr: u64, offset: usize) -> &'static AtomicU64 {
    // SAFETY: as `state_at`, for an 8-byte aligned field.
    unsafe { &*((addr + offset as u64) as *const AtomicU64) }
}

/// A server's list head, and a queued worker's link, of each list.
const RUNNABLE_LINK: usize = offset_of!(umcg_task, runnable_workers_ptr);
const BLOCKED_LINK: usize = offset_of!(umcg_task, blocked_workers_ptr);

pub fn task_state_at(addr: u64) -> u32 {
    state_at(addr).load(SeqCst) & UMCG_TASK_MASK
}

pub fn blocked_ts_at(addr: u64) -> u64 {
    u64_at(addr, offset_of!(umcg_task, blocked_ts)).load(SeqCst)
}

pub fn runnable_ts_at(addr: u64) -> u64 {
    u64_at(addr, offset_of!(umcg_task, runnable_ts)).load(SeqCst)
}

/// `next_tid` of the `umcg_task` at `addr`.
pub fn next_tid_at(addr: u64) -> &'static AtomicU32 {
    // SAFETY: as `state_at`, for the aligned u32 `next_tid`.
    unsafe { &*((addr + offset_of!(umcg_task, next_tid) as u64) as *const AtomicU32) }
}

/// The `runnable_workers_ptr` link of the `umcg_task` at `addr`: non-zero only while queued
/// on a list that has more entries behind it.
pub fn runnable_link_at(addr: u64) -> &'static AtomicU64 {
    u64_at(addr, RUNNABLE_LINK)
}

pub fn now(clock: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is writable.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

pub fn deadline(after: Duration) -> i64 {
    now(libc::CLOCK_MONOTONIC) + after.as_nanos() as i64
}

/// Pins the calling thread to the first CPU it may run on, so that the tasks of a case that
/// do so share one CPU.
pub fn pin_to_first_cpu() {
    let first = umcg_sys::cpu::allowed().expect("the allowed CPUs")[0];
    umcg_sys::cpu::pin_current_thread(first).expect("pinning to an allowed CPU");
}

/// A registered server: the calling thread.
pub struct Server {
    pub u: U,
    pub task: Box<umcg_task>,
    /// Workers popped from the runnable list and not yet run.
    pub runq: Vec<u64>,
}

impl Server {
    pub fn register(u: U, flags: u32) -> Self {
        let mut task = Box::new(umcg_task::server(umcg_sys::gettid()));
        // SAFETY: `task` lives in the returned Server, which unregisters before dropping it.
        unsafe { u.ctl(UMCG_CTL_REGISTER | flags, &mut *task, libc::CLOCK_MONOTONIC) }
            .expect("server registration");
        Self {
            u,
            task,
            runq: Vec::new(),
        }
    }

    pub fn addr(&self) -> u64 {
        &*self.task as *const umcg_task as u64
    }

    pub fn state(&self) -> &AtomicU32 {
        state_at(self.addr())
    }

    pub fn next_tid(&self) -> &AtomicU32 {
        // SAFETY: the field lives as long as `self.task`.
        unsafe { &*((self.addr() + 4) as *const AtomicU32) }
    }

    /// One `umcg_wait` as the canonical loop does it: RUNNABLE|COND_WAIT, `next_tid`, wait.
    pub fn wait(&mut self, next: u32, abs: i64) -> io::Result<()> {
        self.next_tid().store(next, SeqCst);
        self.state()
            .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
        self.u.wait(0, abs)
    }

    fn pop(head: &AtomicU64, link_offset: usize) -> Vec<u64> {
        let mut out = Vec::new();
        let mut n = head.swap(0, SeqCst);
        while n != 0 {
            out.push(n);
            n = u64_at(n, link_offset).swap(0, SeqCst);
        }
        out
    }

    pub fn pop_runnable(&mut self) -> Vec<u64> {
        let got = Self::pop(u64_at(self.addr(), RUNNABLE_LINK), RUNNABLE_LINK);
        self.runq.extend(&got);
        got
    }

    pub fn pop_blocked(&self) -> Vec<u64> {
        Self::pop(u64_at(self.addr(), BLOCKED_LINK), BLOCKED_LINK)
    }

    /// Waits (idle, `next_tid` 0) until worker `addr` is on the runnable list; removes it from
    /// the run queue. Follows §4.2 rule 1: RUNNABLE|COND_WAIT first, then detach the list.
    pub fn wait_runnable(&mut self, addr: u64) {
        let end = deadline(STEP);
        loop {
            self.next_tid().store(0, SeqCst);
            self.state()
                .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
            self.pop_runnable();
            if let Some(i) = self.runq.iter().position(|&a| a == addr) {
                self.runq.remove(i);
                self.state().store(UMCG_TASK_RUNNING, SeqCst);
                return;
            }
            match errno(self.u.wait(0, end)) {
                None | Some(libc::EAGAIN) => {}
                e => panic!("waiting for worker {addr:#x} to be runnable: errno {e:?}"),
            }
        }
    }

    /// Waits for a MULTI server's blocked list to hold `addr`.
    pub fn wait_blocked(&mut self, addr: u64) {
        let end = deadline(STEP);
        let mut seen = Vec::new();
        loop {
            self.next_tid().store(0, SeqCst);
            self.state()
                .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
            seen.extend(self.pop_blocked());
            if seen.contains(&addr) {
                self.state().store(UMCG_TASK_RUNNING, SeqCst);
                return;
            }
            match errno(self.u.wait(0, end)) {
                None | Some(libc::EAGAIN) => {}
                e => panic!("waiting for worker {addr:#x} to be blocked: errno {e:?}"),
            }
        }
    }

    /// Switches to worker `w` (which must be RUNNABLE) and waits until the worker stops
    /// running (blocks, yields, is preempted, unregisters, exits), or `ETIMEDOUT` at `end`.
    /// Spurious returns are normal (`umcg-abi.md` §4.2 rule 9: a wake meant for an earlier
    /// wait can land late): while the worker still runs, wait on with `UMCG_TID_RUNNING`.
    pub fn run_until(&mut self, w: &Worker, end: i64) -> io::Result<()> {
        let mut r = self.wait(w.tid, end);
        while self.next_tid().load(SeqCst) & UMCG_TID_RUNNING == 0 {
            // Not switched: the wait returned before acting on next_tid (a wake got there
            // first, or it published blocks, umcg.rst step 2). Retry while the worker waits.
            let retry = matches!(errno_of(&r), None | Some(libc::EAGAIN));
            if !retry || w.state() != UMCG_TASK_RUNNABLE {
                return r;
            }
            r = self.wait(w.tid, end);
        }
        while r.is_ok() && w.state() == UMCG_TASK_RUNNING {
            r = self.wait(w.tid | UMCG_TID_RUNNING, end);
            if matches!(errno_of(&r), Some(libc::EAGAIN | libc::ESRCH))
                && w.state() != UMCG_TASK_RUNNING
            {
                r = Ok(());
            }
        }
        r
    }

    /// [`Self::run_until`] with the default step deadline.
    pub fn run(&mut self, w: &Worker) -> io::Result<()> {
        self.run_until(w, deadline(STEP))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state().store(UMCG_TASK_RUNNING, SeqCst);
        // SAFETY: unregisters the struct registered in `register`.
        let r = unsafe { self.u.ctl(UMCG_CTL_UNREGISTER, &mut *self.task, 0) };
        if !std::thread::panicking() {
            r.expect("server unregistration");
        }
    }
}

/// What a worker body gets.
pub struct Ctx {
    pub u: U,
    pub addr: u64,
}

impl Ctx {
    pub fn state(&self) -> &AtomicU32 {
        state_at(self.addr)
    }
}

/// How a worker body ends.
pub enum End {
    Unregister,
    /// The thread returns while still registered.
    Exit,
}

/// A worker thread.
pub struct Worker {
    pub tid: u32,
    pub addr: u64,
    join: Option<JoinHandle<()>>,
}

impl Worker {
    /// Spawns a worker of `server_tid` that registers (returning once a server ran it), runs
    /// `body`, and unregisters or exits as the body says.
    pub fn spawn(u: U, server_tid: u32, body: impl FnOnce(&Ctx) -> End + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        let join = std::thread::spawn(move || {
            // Leaked up front: the struct must outlive the registration even if the body
            // panics (an unwinding thread is still registered until it has exited).
            let task: &'static mut umcg_task = Box::leak(Box::new(umcg_task::worker(server_tid)));
            let addr = &*task as *const umcg_task as u64;
            tx.send((umcg_sys::gettid(), addr)).unwrap();
            // SAFETY: `task` is leaked: it is never freed.
            unsafe {
                u.ctl(
                    UMCG_CTL_REGISTER | UMCG_CTL_WORKER,
                    &mut *task,
                    libc::CLOCK_MONOTONIC,
                )
            }
            .expect("worker registration");
            let ctx = Ctx { u, addr };
            if let End::Unregister = body(&ctx) {
                // SAFETY: unregisters the struct registered above.
                let r = unsafe { u.ctl(UMCG_CTL_UNREGISTER | UMCG_CTL_WORKER, &mut *task, 0) };
                let state = state_at(addr).load(SeqCst);
                r.unwrap_or_else(|e| panic!("worker unregistration: {e} (state {state:#x})"));
            }
        });
        let (tid, addr) = rx.recv_timeout(STEP).expect("worker thread started");
        Self {
            tid,
            addr,
            join: Some(join),
        }
    }

    pub fn state(&self) -> u32 {
        task_state_at(self.addr)
    }

    pub fn join(mut self) {
        if let Some(j) = self.join.take() {
            j.join().expect("worker thread panicked");
        }
    }
}

/// Runs `case` on its own thread and fails if it takes longer than the watchdog.
fn watchdog(name: &str, u: U, case: fn(U)) {
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        case(u);
        let _ = tx.send(());
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(()) => t.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(p) = t.join() {
                std::panic::resume_unwind(p)
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{name}: hung for {WATCHDOG:?}"),
    }
}

pub fn run_emulated(name: &str, case: fn(U)) {
    watchdog(name, Emulated::get(), case);
}

pub fn run_emulated_proc(name: &str, case: fn(U)) {
    use std::sync::OnceLock;
    static PROC: OnceLock<&'static Emulated> = OnceLock::new();
    let e = *PROC.get_or_init(|| {
        Emulated::with_options(Options {
            detector: Detector::ProcStat,
            ..Options::default()
        })
    });
    watchdog(name, e, case);
}

pub fn run_kernel(name: &str, case: fn(U)) {
    match Kernel::detect() {
        Some(k) => watchdog(name, Box::leak(Box::new(k)), case),
        None if std::env::var("UMCG_REQUIRE_KERNEL").as_deref() == Ok("1") => {
            panic!("{name}: UMCG_REQUIRE_KERNEL=1 but the kernel does not advertise UMCG")
        }
        None => {
            // Written to the real stderr, past the test harness's capture, so that it shows.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIP: kernel::{name}: this kernel does not advertise UMCG ({} missing); \
                 only the emulation was tested",
                umcg_sys::detect::SYSFS_DIR
            );
        }
    }
}

pub fn is_emulated(u: U) -> bool {
    u.name() == "emulated"
}
