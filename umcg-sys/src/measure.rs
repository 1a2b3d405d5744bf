//! What a UMCG switch costs on a backend, without a runtime on top.
//!
//! The smallest correct server loop of `umcg-abi.md` §4.2, for benchmarks and diagnostics:
//! [`switch_round_trips`] times server → worker → server round trips, the figure the kernel's
//! direct handoff is judged by (against a futex round trip between two threads on one CPU).
//! [`Server`] and [`spawn_worker`] are the pieces, for measurements of other paths (a worker
//! that blocks, for instance). The runtime (`umcg-executor`) has its own, complete server
//! loop; this one knows a single worker at a time and treats every unexpected return as "look
//! again".

use std::io;
use std::mem::offset_of;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::abi::*;
use crate::backend::Umcg;

/// The `state` word of the registered task at `addr`.
fn state(addr: u64) -> &'static AtomicU32 {
    // SAFETY: callers pass addresses of registered tasks that outlive the use (a `Server`'s
    // own task, or a worker's while it is registered); `state` is the u32 at offset 0.
    unsafe { &*(addr as *const AtomicU32) }
}

/// The `next_tid` of the registered task at `addr`.
fn next_tid(addr: u64) -> &'static AtomicU32 {
    // SAFETY: as `state`; `next_tid` is a naturally aligned u32 of the task.
    unsafe { &*((addr + offset_of!(umcg_task, next_tid) as u64) as *const AtomicU32) }
}

/// The runnable-workers head of a server, or the link of a worker.
fn runnable(addr: u64) -> &'static AtomicU64 {
    // SAFETY: as `state`; `runnable_workers_ptr` is a naturally aligned u64 of the task.
    unsafe { &*((addr + offset_of!(umcg_task, runnable_workers_ptr) as u64) as *const AtomicU64) }
}

/// How long [`Server::wait_runnable`] waits before it looks again whether its worker's thread
/// has ended.
pub const LOOK_AGAIN: Duration = Duration::from_millis(10);
const LOOK_AGAIN_NS: i64 = LOOK_AGAIN.as_nanos() as i64;

/// The calling thread registered as a UMCG server until the value is dropped.
///
/// # Examples
///
/// ```
/// use umcg_sys::measure::Server;
///
/// let server = Server::new(umcg_sys::emul::Emulated::get())?;
/// // Registered: a second registration of the thread is refused.
/// assert!(Server::new(umcg_sys::emul::Emulated::get()).is_err());
/// drop(server);
/// // Unregistered: it may register again.
/// let _again = Server::new(umcg_sys::emul::Emulated::get())?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server {
    u: &'static dyn Umcg,
    /// From `Box::into_raw`; freed by Drop only once unregistered (see there).
    task: *mut umcg_task,
}

// SAFETY: other threads only reach the task through `addr()` and the atomics returned by
// `state()`, `next_tid()` and `runnable_head()`. `Server` is not `Send`: it must be dropped, and
// so unregistered, by the thread that registered it.
unsafe impl Sync for Server {}

impl Server {
    /// Registers the calling thread as a server of backend `u` (clock `CLOCK_MONOTONIC`).
    ///
    /// # Errors
    ///
    /// The errno of `sys_umcg_ctl(UMCG_CTL_REGISTER)`, e.g. `EINVAL` if the thread is already
    /// registered.
    ///
    /// # Examples
    ///
    /// See [`Server`].
    pub fn new(u: &'static dyn Umcg) -> io::Result<Self> {
        let task = Box::into_raw(Box::new(umcg_task::server(crate::gettid())));
        // SAFETY: `task` is a live, aligned umcg_task; it is only freed after unregistration.
        match unsafe { u.ctl(UMCG_CTL_REGISTER, task, libc::CLOCK_MONOTONIC) } {
            Ok(()) => Ok(Self { u, task }),
            Err(e) => {
                // SAFETY: not registered: nobody else refers to it.
                drop(unsafe { Box::from_raw(task) });
                Err(e)
            }
        }
    }

    /// The address of the server's `umcg_task`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = umcg_sys::measure::Server::new(umcg_sys::emul::Emulated::get())?;
    /// assert_eq!(server.addr() % 64, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn addr(&self) -> u64 {
        self.task as u64
    }

    /// The server's `state` word.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = umcg_sys::measure::Server::new(umcg_sys::emul::Emulated::get())?;
    /// let state = server.state().load(std::sync::atomic::Ordering::SeqCst);
    /// assert_eq!(state & umcg_sys::abi::UMCG_TASK_MASK, umcg_sys::abi::UMCG_TASK_RUNNING);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn state(&self) -> &AtomicU32 {
        state(self.addr())
    }

    /// The server's `next_tid`.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = umcg_sys::measure::Server::new(umcg_sys::emul::Emulated::get())?;
    /// assert_eq!(server.next_tid().load(std::sync::atomic::Ordering::SeqCst), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn next_tid(&self) -> &AtomicU32 {
        next_tid(self.addr())
    }

    /// The head of the server's runnable-workers list.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = umcg_sys::measure::Server::new(umcg_sys::emul::Emulated::get())?;
    /// assert_eq!(server.runnable_head().load(std::sync::atomic::Ordering::SeqCst), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn runnable_head(&self) -> &AtomicU64 {
        runnable(self.addr())
    }

    /// Waits, idle in `umcg_wait`, until `worker` is on the runnable list, and takes the whole
    /// list (resetting each link). Leaves the server RUNNING.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` if the worker's thread ended first (its body panicked, say), seen within
    /// [`LOOK_AGAIN`] of its end: the server waits in slices that long, so it never waits
    /// forever for a worker that is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use umcg_sys::measure::{spawn_worker, Server};
    ///
    /// let u = umcg_sys::emul::Emulated::get();
    /// let server = Server::new(u)?;
    /// let worker = spawn_worker(u, |_, _| {});
    /// // A new worker queues itself on its server when it registers.
    /// server.wait_runnable(&worker)?;
    /// server.run(worker.tid)?;
    /// worker.thread.join().unwrap();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_runnable(&self, worker: &Worker) -> io::Result<()> {
        loop {
            self.state()
                .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
            self.next_tid().store(0, SeqCst);
            let mut node = self.runnable_head().swap(0, SeqCst);
            let mut found = false;
            while node != 0 {
                found |= node == worker.addr;
                node = runnable(node).swap(0, SeqCst);
            }
            if found || worker.thread.is_finished() {
                self.state().store(UMCG_TASK_RUNNING, SeqCst);
                if found {
                    return Ok(());
                }
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    format!("worker {} ended before it was runnable", worker.tid),
                ));
            }
            // Any return means "look again" (rule 9). A worker that unregisters wakes the
            // server, but its thread ends a little later, and then nothing wakes it: hence the
            // slices.
            let slice = crate::emul::clock::now_ns(libc::CLOCK_MONOTONIC) + LOOK_AGAIN_NS;
            let _ = self.u.wait(0, slice);
        }
    }

    /// Switches to the RUNNABLE worker `tid` and waits until the server is RUNNING again.
    ///
    /// # Errors
    ///
    /// The errno of `sys_umcg_wait`; see [`Server::wait_runnable`] for an example.
    pub fn run(&self, tid: u32) -> io::Result<()> {
        self.next_tid().store(tid, SeqCst);
        self.state()
            .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
        self.u.wait(0, 0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state().store(UMCG_TASK_RUNNING, SeqCst);
        // SAFETY: registered by this thread in `new` (`Server` is not `Send`).
        if unsafe { self.u.ctl(UMCG_CTL_UNREGISTER, self.task, 0) }.is_ok() {
            // SAFETY: from `Box::into_raw` in `new`, and no longer registered. If unregistration
            // failed the task stays allocated: the kernel may still write to it.
            drop(unsafe { Box::from_raw(self.task) });
        }
    }
}

/// A worker thread started by [`spawn_worker`].
pub struct Worker {
    /// Its thread id.
    pub tid: u32,
    /// The address of its `umcg_task`.
    pub addr: u64,
    /// Its thread; it ends after `body` returned and the worker unregistered.
    pub thread: JoinHandle<()>,
}

/// Starts a worker of the calling thread's server that runs `body(u, its task address)`
/// between registration and unregistration.
///
/// Registration queues the worker on the server and returns once a server ran it: follow with
/// [`Server::wait_runnable`] and [`Server::run`]. The thread panics if registration fails. If
/// `body` panics, the worker unregisters before its thread goes on with the panic (so it cannot
/// be parked on its way out). Its `umcg_task` is freed once it unregistered.
///
/// # Examples
///
/// See [`Server::wait_runnable`].
pub fn spawn_worker(
    u: &'static dyn Umcg,
    body: impl FnOnce(&'static dyn Umcg, u64) + Send + 'static,
) -> Worker {
    let server = crate::gettid();
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let task = Box::into_raw(Box::new(umcg_task::worker(server)));
        tx.send((crate::gettid(), task as u64))
            .expect("spawn_worker waits for the tid");
        let (register, clock) = (UMCG_CTL_REGISTER | UMCG_CTL_WORKER, libc::CLOCK_MONOTONIC);
        // SAFETY: a live, aligned umcg_task, freed below only after unregistration.
        unsafe { u.ctl(register, task, clock) }.expect("worker registration");
        // A body that panics is unregistered before its thread goes on to exit: a worker still
        // registered would be parked by a block on its way out (the exit path may sleep) until
        // a server ran it, and a server joining its thread would wait for it forever.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(u, task as u64)));
        // SAFETY: this thread registered `task` above.
        let unregistered = unsafe { u.ctl(UMCG_CTL_UNREGISTER | UMCG_CTL_WORKER, task, 0) };
        if unregistered.is_ok() {
            // SAFETY: from `Box::into_raw` above, and no longer registered.
            drop(unsafe { Box::from_raw(task) });
        }
        if let Err(panic) = run {
            std::panic::resume_unwind(panic);
        }
        unregistered.expect("worker unregistration");
    });
    let (tid, addr) = rx.recv().expect("the worker thread sends its tid");
    Worker { tid, addr, thread }
}

/// Times `n` server → worker → server round trips on backend `u`, in nanoseconds: the calling
/// thread, registered as a server for the call, switches to a worker with `next_tid`, and the
/// worker gives the CPU back with `umcg_wait(UMCG_WAIT_ENQUEUE)`.
///
/// # Errors
///
/// The server's registration errno, or `EIO` if the worker thread panicked (its yield failed).
///
/// # Examples
///
/// ```
/// let trips = umcg_sys::measure::switch_round_trips(umcg_sys::emul::Emulated::get(), 50)?;
/// assert_eq!(trips.len(), 50);
/// assert!(trips.iter().all(|&ns| ns > 0));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn switch_round_trips(u: &'static dyn Umcg, n: usize) -> io::Result<Vec<u64>> {
    let server = Server::new(u)?;
    let worker = spawn_worker(u, move |u, addr| {
        for _ in 0..n {
            state(addr).store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
            u.wait(UMCG_WAIT_ENQUEUE, 0).expect("worker yield");
        }
    });
    let samples = time_switches(&server, &worker, n);
    // Once more, to let the worker unregister; a worker that failed may need more.
    let _ = server.run(worker.tid);
    while !worker.thread.is_finished() {
        if server.wait_runnable(&worker).is_ok() {
            let _ = server.run(worker.tid);
        }
    }
    worker
        .thread
        .join()
        .map_err(|_| io::Error::from_raw_os_error(libc::EIO))?;
    samples
}

/// The timed part of [`switch_round_trips`]: `n` switches to `worker` and back.
fn time_switches(server: &Server, worker: &Worker, n: usize) -> io::Result<Vec<u64>> {
    server.wait_runnable(worker)?;
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let _ = server.run(worker.tid);
        server.wait_runnable(worker)?;
        samples.push(t0.elapsed().as_nanos() as u64);
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker whose body panics unregisters and ends its thread; the server waiting for it to
    /// come back gets an error instead of waiting forever.
    #[test]
    fn a_worker_that_dies_is_an_error_not_a_hang() {
        let u = crate::backend::auto();
        let server = Server::new(u).unwrap();
        let worker = spawn_worker(u, |_, _| panic!("the worker's body fails"));
        server.wait_runnable(&worker).unwrap();
        // The panic may block (it prints, it reads debug info): the worker comes back runnable
        // until its thread has ended.
        let err = loop {
            server.run(worker.tid).unwrap();
            if let Err(e) = server.wait_runnable(&worker) {
                break e;
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(worker.thread.join().is_err(), "the body panicked");
        assert_eq!(
            server.state().load(SeqCst) & UMCG_TASK_MASK,
            UMCG_TASK_RUNNING
        );
    }
}
