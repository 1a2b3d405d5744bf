//! `umcg_wait`: switch to `next_tid`, then sleep until RUNNING or the absolute timeout.
//!
//! A waiting server is also the observer of its workers: while it waits it reads their
//! detectors and plays the block and wake hooks for them. While exactly one of its workers is
//! RUNNING on the server's own CPU, the server spins there peeking at that worker's ring and
//! yielding the CPU at every turn (or at `SCHED_IDLE` with [`super::Options::idle_spin`]): it
//! runs as soon as the worker leaves the CPU, so a block is seen within microseconds and no
//! IPI is sent. After [`super::Options::spin`] it sleeps: in a futex wait
//! on its state word whose timeout is the watchdog period (50 µs doubling to 2 ms), after which
//! it reads the rings (or `/proc` for workers without one) again; or, with
//! [`super::Options::ring_wakeups`], in `ppoll()` on its eventfd and the rings.

use std::cell::RefCell;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::clock::{finite, Deadline};
use super::entry::{drain_eventfd, sleep, Entry, ServerPart};
use super::{current, futex, hook, sched, signal, Emulated};
use crate::abi::*;

fn err(errno: i32) -> io::Error {
    io::Error::from_raw_os_error(errno)
}

/// The shortest and longest period of the watchdog of a sleeping server.
const WATCHDOG_MIN: Duration = Duration::from_micros(50);
const WATCHDOG_MAX: Duration = Duration::from_millis(2);
/// At most this many workers' rings are polled by a sleeping server (the rest rely on the
/// watchdog).
const MAX_POLL_RINGS: usize = 63;

pub(crate) fn wait(emu: &'static Emulated, flags: u32, abs_timeout: i64) -> io::Result<()> {
    let Some(me) = current::get(emu) else {
        return Err(err(libc::EINVAL));
    };
    let _in_call = signal::InCall::enter();
    hook::enter(&me);
    let r = wait_registered(&me, flags, abs_timeout);
    if r.is_err() {
        reset_running(&me);
    }
    hook::exit(&me);
    r
}

/// Every error leaves the caller RUNNING (`umcg-abi.md` §9 point 2).
fn reset_running(me: &Entry) {
    let _ = me.task.transition(UMCG_TASK_RUNNABLE, UMCG_TASK_RUNNING);
}

fn wait_registered(me: &Arc<Entry>, flags: u32, abs_timeout: i64) -> io::Result<()> {
    let enqueue = flags & UMCG_WAIT_ENQUEUE != 0;
    if flags & !UMCG_WAIT_ENQUEUE != 0
        || abs_timeout < 0
        || (enqueue && (abs_timeout != 0 || me.server().is_some()))
    {
        return Err(err(libc::EINVAL));
    }
    if me.task.task_state() != UMCG_TASK_RUNNABLE {
        return Err(err(libc::EAGAIN));
    }
    me.task
        .state()
        .fetch_and(!UMCG_TF_COND_WAIT, Ordering::SeqCst);
    if let Some(part) = me.server() {
        // The kernel publishes the blocks of the server's workers first and returns at once
        // if there were any (without acting on next_tid).
        with_workers(part, observe_all);
        if me.task.task_state() == UMCG_TASK_RUNNING {
            return Ok(());
        }
    }
    if enqueue && me.emu.server_of(me).is_none() {
        return Err(err(libc::ESRCH));
    }
    switch_to_next(me)?;
    if enqueue {
        hook::enqueue(me, false);
    }
    let deadline = Deadline::new(me.clock, abs_timeout);
    match me.server() {
        Some(part) => server_wait(me, part, deadline),
        None => worker_wait(me, deadline),
    }
}

/// Acts on `next_tid`: a plain tid is made RUNNING and woken on this CPU, then marked
/// `UMCG_TID_RUNNING`; a tid already marked must still be RUNNING.
fn switch_to_next(me: &Entry) -> io::Result<()> {
    let next = me.task.next_tid().load(Ordering::SeqCst);
    let tid = next & UMCG_TID_MASK;
    if tid == 0 {
        return Ok(());
    }
    if tid == me.tid {
        // A caller that made itself RUNNING would not wait, and a yielding worker would be
        // queued while it runs on (and could be queued twice).
        return Err(err(libc::EINVAL));
    }
    let target = me.emu.lookup(tid).ok_or(err(libc::ESRCH))?;
    if next & UMCG_TID_RUNNING != 0 {
        if let Some(part) = target.worker() {
            if let Some(mut probe) = part.probe.try_lock() {
                hook::reconcile(&target, &mut probe);
            }
        }
        if target.task.task_state() != UMCG_TASK_RUNNING {
            return Err(err(libc::EAGAIN));
        }
        return Ok(());
    }
    target
        .task
        .transition(UMCG_TASK_RUNNABLE, UMCG_TASK_RUNNING)?;
    if let Some(part) = target.worker() {
        part.queued.store(false, Ordering::SeqCst);
        hook::promote(&target);
        let cpu = sched::current_cpu();
        if part.cpu.load(Ordering::Relaxed) != cpu && sched::pin(target.tid, cpu).is_ok() {
            part.cpu.store(cpu, Ordering::Relaxed);
        }
    }
    target.notify();
    me.task
        .next_tid()
        .fetch_or(UMCG_TID_RUNNING, Ordering::SeqCst);
    Ok(())
}

/// A worker waits on its state word. On timeout it is queued and its server woken, and it
/// keeps waiting; once run it returns `ETIMEDOUT`.
fn worker_wait(me: &Entry, deadline: Deadline) -> io::Result<()> {
    let _masked = signal::Masked::all();
    let mut timed_out = false;
    loop {
        let s = me.task.state().load(Ordering::SeqCst);
        if task_state(s) == UMCG_TASK_RUNNING {
            break;
        }
        match deadline.remaining() {
            Some(left) => {
                futex::wait(me.task.state(), s, finite(left));
            }
            None if !timed_out => {
                timed_out = true;
                hook::enqueue(me, false);
            }
            None => {
                futex::wait(me.task.state(), s, None);
            }
        }
    }
    if let Some(part) = me.worker() {
        part.queued.store(false, Ordering::SeqCst);
    }
    if timed_out {
        Err(err(libc::ETIMEDOUT))
    } else {
        Ok(())
    }
}

fn server_wait(me: &Entry, part: &ServerPart, deadline: Deadline) -> io::Result<()> {
    let spin_until = Instant::now() + me.emu.options().spin;
    let mut idle = false;
    let mut watchdog = WATCHDOG_MIN;
    let r = loop {
        let step = with_workers(part, |workers| {
            observe_all(workers);
            if me.task.task_state() == UMCG_TASK_RUNNING {
                return Some(Ok(()));
            }
            let Some(left) = deadline.remaining() else {
                return Some(time_out(me));
            };
            match spin_target(me, part, workers, spin_until) {
                Some(w) => {
                    if !idle && me.emu.options().idle_spin {
                        sched::set_idle(0, true);
                        idle = true;
                    }
                    let until = spin_until.min(Instant::now() + left.min(Duration::from_secs(1)));
                    spin(me, w, until);
                }
                None => {
                    if idle {
                        sched::set_idle(0, false);
                        idle = false;
                    }
                    if sleep_once(me, part, workers, left, &mut watchdog) {
                        return Some(Err(err(libc::EINTR)));
                    }
                }
            }
            None
        });
        if let Some(r) = step {
            break r;
        }
    };
    if idle {
        sched::set_idle(0, false);
    }
    r
}

thread_local! {
    /// The calling server's last snapshot of its workers, kept to reuse its capacity.
    static SNAPSHOT: RefCell<Vec<Arc<Entry>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a snapshot of the server's workers (the list lock is not held while `f` runs).
///
/// A waiting server must not allocate or free: one of its workers may be parked (by the park
/// signal, anywhere in its user code) while it holds an allocator lock, and it runs again only
/// when this server picks it. So the snapshot reuses one buffer per server thread; when the
/// server has more workers than it has room for, it trades that buffer for the larger one the
/// workers' registrations keep ready (`outside::provision`), and allocates only if there is
/// none. It keeps its references until the next snapshot (an entry is freed here only if its
/// worker unregistered meanwhile).
fn with_workers<R>(part: &ServerPart, f: impl FnOnce(&[Arc<Entry>]) -> R) -> R {
    SNAPSHOT.with(|cell| {
        let mut snap = cell.borrow_mut();
        snap.clear();
        let workers = part.workers.lock().unwrap_or_else(|e| e.into_inner());
        if snap.capacity() < workers.len() {
            if let Ok(mut spare) = part.spare.try_lock() {
                if spare.capacity() >= workers.len() {
                    std::mem::swap(&mut *snap, &mut *spare);
                }
            }
        }
        snap.extend(workers.iter().cloned());
        drop(workers);
        f(&snap)
    })
}

/// Runs the block and wake hooks for every worker of this server whose detector is free.
fn observe_all(workers: &[Arc<Entry>]) {
    for w in workers {
        if let Some(mut probe) = w.worker().and_then(|p| p.probe.try_lock()) {
            hook::reconcile(w, &mut probe);
        }
    }
}

/// The server's timeout: back to RUNNING and `ETIMEDOUT` (0 if it was woken meanwhile).
fn time_out(me: &Entry) -> io::Result<()> {
    match me.task.transition(UMCG_TASK_RUNNABLE, UMCG_TASK_RUNNING) {
        Ok(_) => Err(err(libc::ETIMEDOUT)),
        Err(_) => Ok(()),
    }
}

/// The one worker worth spinning on: the only managed running worker, with a ring, pinned to
/// the CPU this server runs on, within the spin budget.
fn spin_target<'a>(
    me: &Entry,
    part: &ServerPart,
    workers: &'a [Arc<Entry>],
    spin_until: Instant,
) -> Option<&'a Arc<Entry>> {
    if (me.emu.options().idle_spin && !part.idle_ok) || Instant::now() >= spin_until {
        return None;
    }
    let mut running = workers.iter().filter(|w| w.is_running());
    let w = running.next()?;
    if running.next().is_some() || w.ring().is_none() {
        return None;
    }
    let cpu = w.worker()?.cpu.load(Ordering::Relaxed);
    (cpu == sched::current_cpu() && me.task.task_state() != UMCG_TASK_RUNNING).then_some(w)
}

/// Spins until the worker's ring shows a blocking switch-out, the server is woken, the budget
/// is spent, or the server was moved off the worker's CPU. It only peeks at the ring: the
/// lock is taken by the caller once a block shows, when the worker is off the CPU.
fn spin(me: &Entry, w: &Entry, until: Instant) {
    let Some(ring) = w.ring() else { return };
    let yielding = !me.emu.options().idle_spin;
    let cpu = sched::current_cpu();
    let mut seen = ring.tail();
    let mut n = 0u32;
    loop {
        let head = ring.head();
        if head != seen {
            if ring.peek_block(seen.max(ring.tail()), head) {
                return;
            }
            seen = head;
        }
        if me.task.task_state() == UMCG_TASK_RUNNING {
            return;
        }
        n = n.wrapping_add(1);
        if n % 64 == 0 && (Instant::now() >= until || sched::current_cpu() != cpu) {
            return;
        }
        if yielding {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// One sleep: `ppoll()` on the eventfd and the rings that raise wakeups, or a futex wait; the
/// watchdog period bounds it while a worker is RUNNING or BLOCKED.
fn sleep_once(
    me: &Entry,
    part: &ServerPart,
    workers: &[Arc<Entry>],
    left: Duration,
    watchdog: &mut Duration,
) -> bool {
    // On the stack, not the heap (see `with_workers`). Rings beyond the first MAX_POLL_RINGS
    // are not polled: their wakeups are an optimisation, the watchdog below the guarantee.
    let unused = libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    };
    let mut fds = [unused; MAX_POLL_RINGS + 1];
    fds[0] = libc::pollfd {
        fd: std::os::fd::AsRawFd::as_raw_fd(&part.eventfd),
        events: libc::POLLIN,
        revents: 0,
    };
    let mut used = 1;
    let mut watched = false;
    for w in workers {
        let Some(wp) = w.worker() else { continue };
        if wp.gone.load(Ordering::SeqCst) {
            continue;
        }
        let probe = wp.probe.try_lock();
        let ring = probe.as_ref().filter(|p| p.wakeups).and_then(|p| p.ring());
        if let Some(ring) = ring.filter(|_| used < fds.len()) {
            fds[used] = libc::pollfd {
                fd: ring.fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            used += 1;
        }
        // A ring wakeup is an optimisation, the timer the guarantee: a wakeup lost in the ring
        // (for example records dropped from a full ring) costs latency, never a hang.
        watched |= matches!(w.task.task_state(), UMCG_TASK_RUNNING | UMCG_TASK_BLOCKED);
    }
    let limit = if watched {
        let w = *watchdog;
        *watchdog = (w * 2).min(WATCHDOG_MAX);
        left.min(w)
    } else {
        left
    };
    if used > 1 {
        poll_sleep(me, part, &mut fds[..used], limit)
    } else {
        futex_sleep(me, part, limit)
    }
}

/// Returns whether a signal interrupted the sleep.
fn poll_sleep(me: &Entry, part: &ServerPart, fds: &mut [libc::pollfd], limit: Duration) -> bool {
    part.sleep.store(sleep::POLL, Ordering::SeqCst);
    let mut interrupted = false;
    if me.task.task_state() != UMCG_TASK_RUNNING {
        let ts = finite(limit).map(|d| libc::timespec {
            tv_sec: d.as_secs() as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `fds` is a live, writable pollfd array of the given length; `ts_ptr` is null or
        // points to `ts`; no signal mask.
        let r = unsafe {
            libc::ppoll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                ts_ptr,
                std::ptr::null(),
            )
        };
        interrupted = r < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR);
    }
    part.sleep.store(sleep::AWAKE, Ordering::SeqCst);
    drain_eventfd(&part.eventfd);
    interrupted
}

/// Returns whether a signal interrupted the sleep.
fn futex_sleep(me: &Entry, part: &ServerPart, limit: Duration) -> bool {
    part.sleep.store(sleep::FUTEX, Ordering::SeqCst);
    let s = me.task.state().load(Ordering::SeqCst);
    let interrupted =
        task_state(s) != UMCG_TASK_RUNNING && futex::wait(me.task.state(), s, finite(limit));
    part.sleep.store(sleep::AWAKE, Ordering::SeqCst);
    interrupted
}
