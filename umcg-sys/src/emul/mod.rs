//! A userspace emulation of the UMCG ABI for kernels without it.
//!
//! [`Emulated`] implements [`Umcg`] with the kernel's state machine on the same
//! [`umcg_task`] structs in user memory: the same states and flags, `next_tid` with the
//! `UMCG_TID_RUNNING` write-back, the runnable and (`UMCG_CTL_MULTI`) blocked lists pushed with
//! the kernel's cmpxchg-link order, `UMCG_CTL_COOP`, `UMCG_WAIT_ENQUEUE`, absolute timeouts in
//! the registered clock, `umcg_kick`, and the errno of every path of `umcg-abi.md` §2.4 that a
//! userspace library can detect. It runs unprivileged on a stock kernel.
//!
//! # How it works
//!
//! * **Registry.** Each instance keeps the registered tasks of this process (tid → entry). A tid
//!   from user space (`server_tid`, `next_tid`, kick target) is valid only if it is there, which
//!   gives the kernel's `ESRCH` rules.
//! * **Hand-offs are futexes on the `state` words.** A task waits with `FUTEX_WAIT` on its own
//!   `state` until it reads RUNNING; whoever makes it RUNNING does so by cmpxchg and then
//!   `FUTEX_WAKE`s it. So a wake is never lost and never lies.
//! * **Same CPU.** When a server switches to a worker it pins the worker to the server's current
//!   CPU (`sched_setaffinity`, only when that CPU changed), so each hand-off is a same-CPU futex
//!   wake (~1.4 µs round trip on the project machines, against ~60 µs across CPUs). The worker's
//!   affinity at registration is restored when it unregisters.
//! * **Block detection.** A worker opens a perf context-switch ring on itself at registration
//!   (`perf_event_open(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY, context_switch = 1,
//!   exclude_kernel = 1)`, 1+1 pages, allowed unprivileged at `perf_event_paranoid` <= 2). A
//!   switch-out record without `PERF_RECORD_MISC_SWITCH_OUT_PREEMPT` means it went to sleep in the
//!   kernel. Whoever reads the ring plays the kernel's hooks (module `hook`): RUNNING → BLOCKED
//!   with `blocked_ts`, push on a MULTI server's blocked list, wake the server; and once the
//!   worker has been switched in again, BLOCKED → RUNNABLE with `runnable_ts`, push on the
//!   runnable list, wake the server (COOP rule). A block is published when the worker is seen
//!   asleep (level); its end when a switch-in was seen since the last look (edge), so a worker
//!   that returned and blocked again unobserved is still reported RUNNABLE. The worker's own
//!   sleeps inside the emulation are not blocks: they happen with `in_emul` set under the
//!   detector's lock, and their records are discarded.
//! * **The perf hooks stay on.** The first task-bound perf event of the system makes the
//!   kernel switch its scheduler perf hooks on and wait for an RCU grace period inside that
//!   `perf_event_open()` (10–14 ms on the project machines); they go off again one second after
//!   the last such event closes. So an instance with the perf detector has a short-lived
//!   thread open one event that records nothing, once per process, when it is made
//!   (`Emulated::get()`, which a runtime's build calls), and keeps it: workers registering
//!   later never wait for a grace period (one that did stalled its server, and with it every
//!   task, for as long). The price: the hooks run on every context switch of the machine until
//!   the process exits.
//! * **The waiting server is the observer.** While one worker of a server is RUNNING on the
//!   server's CPU, the waiting server spins on that CPU peeking at the ring (lock-free) and
//!   calling `sched_yield()` at every turn: the worker has the CPU whenever it wants it, and the
//!   server runs the moment the worker leaves it, so a block is seen in ~2.5 µs with no IPI.
//!   (DESIGN's alternative, spinning at `SCHED_IDLE` without yielding, [`Options::idle_spin`],
//!   costs the worker nothing, but a `SCHED_IDLE` thread is starved by *any* other thread on
//!   the CPU: measured here, detection went from ~2.5 µs to ~125 µs median on a loaded machine,
//!   and to over 100 ms when the CPU was shared with a spinning thread; so it is off by default.)
//!   After [`Options::spin`] (default 1 ms), or with no running worker, it sleeps in a futex
//!   wait on its `state` word bounded by a watchdog period (50 µs doubling to 2 ms) after which
//!   it reads the rings again. Rings raise no wakeups by default: with `wakeup_watermark = 1`
//!   ([`Options::ring_wakeups`]) a sleeping server is woken by every record, but each record
//!   then costs the worker an IPI, which took the round trip from ~2 µs to ~28 µs here.
//! * **Blocked workers are demoted.** A worker published BLOCKED is moved to `SCHED_IDLE` (if
//!   it may come back: root or `RLIMIT_NICE`), and back to `SCHED_OTHER` when it is made
//!   RUNNING. When its syscall returns it therefore runs only on time its server's CPU (to which
//!   it is pinned) would leave idle, instead of taking that CPU from the server.
//! * **Fallback.** Where perf is refused (`perf_event_paranoid` 3, seccomp, the per-user
//!   mlock budget of about 1,150 rings used up) or [`Detector::ProcStat`] is chosen (also with
//!   `UMCG_EMUL_DETECTOR=proc` for [`Emulated::get`]), the watchdog reads
//!   `/proc/self/task/<tid>/stat` of the server's workers instead: `S`/`D` is a block, anything
//!   else runs. The emulation's own calls (yield, unregister, kick, timeouts) wake the server
//!   directly in both modes.
//!
//! # Limits (what a userspace emulation cannot do)
//!
//! * **A worker returning from a blocking syscall runs user code** until the emulation stops
//!   it: the kernel parks it before it returns to user space, the emulation can only react
//!   after the fact. The rule: as soon as an observer sees it switched in, it is made RUNNABLE
//!   and queued exactly as the kernel would (so the server learns promptly), and it is sent
//!   `SIGURG` (module `signal`), whose handler parks it until a server makes it RUNNING; a
//!   worker also parks at its next emulation call. In that window it runs while its state says
//!   RUNNABLE. It runs on its server's CPU only, at `SCHED_IDLE`, so CPU concurrency does not
//!   exceed the servers' CPUs, but it does use CPU time the kernel would not have given it.
//!   The window is the observer's latency plus signal delivery: measured by the `roundtrip`
//!   example ("read returned → worker parked"): ~90 µs median with the server asleep on its
//!   watchdog timer, 0 when the signal arrives before the syscall has returned to user code;
//!   unbounded when nobody observes (server busy in its own code, and the worker makes no
//!   emulation call).
//! * **Blocks shorter than the detection latency** of a RUNNING worker are not reported when
//!   nobody looked in time: such a block is indistinguishable from a slow syscall.
//! * **Preemption** (`UMCG_TF_PREEMPT` + kick; the flag alone does nothing, as in the kernel)
//!   reaches a worker running user code through the park signal, a few µs after the kick;
//!   without the handler (the program owns `SIGURG`, or [`Options::park_signal`] is off) only
//!   at its next emulation call.
//! * **The park signal can interrupt a syscall** that the worker entered again before the
//!   signal arrived: restartable calls restart (`SA_RESTART`), `nanosleep`/`poll`-like calls
//!   return `EINTR`.
//! * **Detection latency depends on the CPU.** The spinning server competes for its CPU like
//!   any thread; with [`Options::idle_spin`] it only runs when the CPU is otherwise idle.
//! * **Signals.** As in the kernel, a worker waiting to be run keeps its signals pending (they
//!   are blocked while it parks) and a server sleeping in `umcg_wait` returns `EINTR`; a server
//!   that is *spinning* does not see a signal (its handler runs and the spin goes on) until its
//!   next sleep or wake-up.
//! * **Not emulated**: `SIGSEGV` for a worker whose struct became inaccessible, `EINTR` of a
//!   worker registration killed while it waits, and cross-instance use (registrations are per
//!   instance; [`Emulated::get`] is the process-wide one).
//! * **Thread exit without unregistering** unregisters the task as the kernel does (state NONE,
//!   bits 16–31 kept; naming it gives `ESRCH`) and wakes a worker's server whatever COOP says.
//!   This runs in the thread's TLS destructors, so the `umcg_task` must stay valid until the
//!   thread has exited (the kernel's contract too).
//!
//! # Examples
//!
//! ```
//! use umcg_sys::abi::*;
//! use umcg_sys::backend::Umcg;
//! use umcg_sys::emul::Emulated;
//!
//! let umcg = Emulated::get();
//! let mut server = Box::new(umcg_task::server(umcg_sys::gettid()));
//! // SAFETY: `server` outlives its registration.
//! unsafe { umcg.ctl(UMCG_CTL_REGISTER, &mut *server, libc::CLOCK_MONOTONIC) }.unwrap();
//! // Wait with a deadline in the past: nothing to run, so ETIMEDOUT, and RUNNING again.
//! server.state = UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT;
//! let err = umcg.wait(0, 1).unwrap_err();
//! assert_eq!(err.raw_os_error(), Some(libc::ETIMEDOUT));
//! assert_eq!(server.state & UMCG_TASK_MASK, UMCG_TASK_RUNNING);
//! // SAFETY: unregisters the struct registered above.
//! unsafe { umcg.ctl(UMCG_CTL_UNREGISTER, &mut *server, 0) }.unwrap();
//! ```

pub(crate) mod clock;
mod ctl;
mod current;
mod entry;
mod futex;
mod hook;
mod kick;
mod list;
mod outside;
mod perf;
mod probe;
mod procstat;
pub(crate) mod sched;
mod signal;
mod spin;
mod task;
mod wait;

use std::collections::HashMap;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::abi::umcg_task;
use crate::backend::Umcg;
use entry::Entry;

/// How workers' blocks are detected.
///
/// # Examples
///
/// ```
/// use umcg_sys::emul::Detector;
/// assert_ne!(Detector::Perf, Detector::ProcStat);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detector {
    /// A perf context-switch ring per worker; `/proc` for workers that cannot have one.
    Perf,
    /// The `/proc/self/task/<tid>/stat` watchdog only (the fallback, forced).
    ProcStat,
}

/// Tuning of an [`Emulated`] instance.
///
/// # Examples
///
/// ```
/// let o = umcg_sys::emul::Options::default();
/// assert!(o.park_signal);
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    /// Block detector.
    pub detector: Detector,
    /// How long a waiting server spins at `SCHED_IDLE` on its running worker's CPU before it
    /// sleeps in `ppoll()`; zero: never spin.
    pub spin: Duration,
    /// Spin at `SCHED_IDLE` (the server gets the CPU only when nothing else wants it: no
    /// cost to the worker, but starved by any other thread on that CPU) instead of at normal
    /// priority yielding the CPU at every turn (never starved; costs the worker a switch to
    /// the server per scheduler tick). See the `roundtrip` example for both.
    pub idle_spin: bool,
    /// Open the perf rings with `wakeup_watermark = 1` and let a sleeping server `ppoll()`
    /// them: blocks are seen ~15–20 µs after they happen however long the server has slept,
    /// but every context switch of a worker then costs an IPI (see the `roundtrip` example).
    /// Off by default: a sleeping server re-reads the rings on a timer instead.
    pub ring_wakeups: bool,
    /// Stop workers that run while RUNNABLE or preempted with `SIGURG` (module docs, "Limits").
    pub park_signal: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            detector: Detector::Perf,
            spin: Duration::from_millis(1),
            idle_spin: false,
            ring_wakeups: false,
            park_signal: true,
        }
    }
}

/// The userspace UMCG emulation.
///
/// # Examples
///
/// ```
/// use umcg_sys::backend::Umcg;
/// assert_eq!(umcg_sys::emul::Emulated::get().name(), "emulated");
/// ```
pub struct Emulated {
    options: Options,
    registry: Mutex<HashMap<u32, Arc<Entry>>>,
}

impl std::fmt::Debug for Emulated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulated")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Emulated {
    /// The process-wide instance. `UMCG_EMUL_DETECTOR=proc` in the environment forces the
    /// `/proc` fallback detector.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = umcg_sys::emul::Emulated::get();
    /// assert!(std::ptr::eq(a, umcg_sys::emul::Emulated::get()));
    /// ```
    pub fn get() -> &'static Emulated {
        static GLOBAL: OnceLock<Emulated> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let mut options = Options::default();
            if std::env::var("UMCG_EMUL_DETECTOR").as_deref() == Ok("proc") {
                options.detector = Detector::ProcStat;
            }
            Self::new(options)
        })
    }

    /// A separate instance with its own registry (tasks registered in one are unknown to the
    /// others). It lives for the rest of the process.
    ///
    /// # Examples
    ///
    /// ```
    /// use umcg_sys::emul::{Detector, Emulated, Options};
    /// let e = Emulated::with_options(Options { detector: Detector::ProcStat, ..Options::default() });
    /// assert_eq!(e.options().detector, Detector::ProcStat);
    /// ```
    pub fn with_options(options: Options) -> &'static Emulated {
        Box::leak(Box::new(Self::new(options)))
    }

    fn new(options: Options) -> Self {
        if options.detector == Detector::Perf {
            perf::HooksAnchor::hold();
        }
        Self {
            options,
            registry: Mutex::new(HashMap::new()),
        }
    }

    /// This instance's options.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!umcg_sys::emul::Emulated::get().options().spin.is_zero());
    /// ```
    pub fn options(&self) -> &Options {
        &self.options
    }

    fn as_static(&self) -> &'static Emulated {
        // SAFETY: instances are only made by `get` (a static) and `with_options` (leaked), so
        // every `&Emulated` points to one that lives for the rest of the process.
        unsafe { &*(self as *const Emulated) }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<Entry>>> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lookup(&self, tid: u32) -> Option<Arc<Entry>> {
        self.registry().get(&tid).cloned()
    }

    /// The server a worker belongs to now (its `server_tid` is re-read every time, as the
    /// kernel does); the worker is re-filed on that server's list if it moved.
    fn server_of(&self, w: &Entry) -> Option<Arc<Entry>> {
        let tid = w.task.server_tid();
        let server = self.lookup(tid).filter(|s| s.server().is_some())?;
        let part = w.worker()?;
        let filed = part.filed_with.load(Ordering::SeqCst) as u32;
        if filed != tid {
            self.refile(w.tid, filed, &server);
            part.filed_with.store(tid as i32, Ordering::SeqCst);
        }
        Some(server)
    }

    fn refile(&self, worker: u32, from: u32, to: &Entry) {
        let Some(me) = self.lookup(worker) else {
            return;
        };
        if let Some(old) = self.lookup(from).as_deref().and_then(Entry::server) {
            drop(outside::take_where(&old.workers, |w| w.tid == worker));
        }
        if let Some(new) = to.server() {
            outside::push_with_spare(&new.workers, &new.spare, me);
        }
    }

    fn insert(&self, e: Arc<Entry>) {
        if let Some(part) = e.worker() {
            let server = e.task.server_tid();
            part.filed_with.store(server as i32, Ordering::SeqCst);
            if let Some(s) = self.lookup(server).as_deref().and_then(Entry::server) {
                outside::push_with_spare(&s.workers, &s.spare, e.clone());
            }
        }
        drop(outside::insert(&self.registry, e.tid, e));
    }

    /// Drops `e` from the registry and its server's list; a worker's server is woken.
    fn remove(&self, e: &Entry) {
        drop(outside::remove(&self.registry, &e.tid));
        let Some(part) = e.worker() else { return };
        let filed = part.filed_with.load(Ordering::SeqCst) as u32;
        if let Some(server) = self.lookup(filed) {
            if let Some(s) = server.server() {
                drop(outside::take_where(&s.workers, |w| w.tid == e.tid));
            }
            hook::wake_server(&server);
        }
    }

    /// The thread of `e` exited while registered: it is unregistered (state NONE, bits 16–31
    /// kept) and a worker's server is woken whatever COOP says.
    fn forget(&self, e: &Entry) {
        if let Some(part) = e.worker() {
            let _probe = part.probe.lock();
            part.gone.store(true, Ordering::SeqCst);
        }
        let _ = e.task.transition_if(|_| true, crate::abi::UMCG_TASK_NONE);
        self.remove(e);
    }
}

impl Umcg for Emulated {
    fn name(&self) -> &'static str {
        "emulated"
    }

    unsafe fn ctl(
        &self,
        flags: u32,
        task: *mut umcg_task,
        which_clock: libc::clockid_t,
    ) -> io::Result<()> {
        ctl::ctl(self.as_static(), flags, task, which_clock)
    }

    fn wait(&self, flags: u32, abs_timeout: i64) -> io::Result<()> {
        wait::wait(self.as_static(), flags, abs_timeout)
    }

    fn kick(&self, flags: u32, tid: u32) -> io::Result<()> {
        kick::kick(self.as_static(), flags, tid)
    }
}
