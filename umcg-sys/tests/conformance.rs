//! The UMCG state machine, written once against `&dyn Umcg` and run against every backend:
//! the emulation (perf detector), the emulation with its `/proc` fallback forced, and the
//! kernel when it advertises UMCG (`SKIP:` otherwise; a failure with `UMCG_REQUIRE_KERNEL=1`).
//!
//! Every case runs under a watchdog and every wait has a deadline, so nothing can hang.
//! Where the emulation documents a weaker behaviour (`umcg_sys::emul`, "Limits"), the case
//! branches on the backend name and asserts that weaker behaviour explicitly.

#[path = "conformance/harness.rs"]
mod harness;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::*;
use umcg_sys::abi::*;
use umcg_sys::gettid;

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod emulated {
            $(#[test] fn $case() { super::run_emulated(stringify!($case), super::$case) })*
        }
        mod emulated_proc_fallback {
            $(#[test] fn $case() { super::run_emulated_proc(stringify!($case), super::$case) })*
        }
        mod kernel {
            $(#[test] fn $case() { super::run_kernel(stringify!($case), super::$case) })*
        }
    };
}

conformance!(
    ctl_errnos,
    wait_and_kick_errnos,
    server_wait_timeout,
    worker_registration_and_switch,
    worker_blocks_in_nanosleep,
    worker_blocks_in_pipe_read,
    worker_yield_with_enqueue,
    preemption_with_kick,
    worker_wait_timeout,
    multi_blocked_list,
    coop_enqueue_does_not_wake_a_busy_server,
    orphaned_worker_cannot_enqueue,
    worker_exit_without_unregister,
    canonical_server_loop_runs_many_workers,
    preemption_right_after_a_switch,
    preempt_flag_waits_for_kick,
);

fn ctl(u: U, flags: u32, t: *mut umcg_task, clock: libc::clockid_t) -> Option<i32> {
    // SAFETY: every successful registration below is undone before `t` is dropped.
    errno(unsafe { u.ctl(flags, t, clock) })
}

const MONO: libc::clockid_t = libc::CLOCK_MONOTONIC;

/// `umcg_ctl` errors of `umcg-abi.md` §2.4, in the kernel's order of checks.
fn ctl_errnos(u: U) {
    let me = gettid();
    let mut t = Box::new(umcg_task::server(me));
    let p: *mut umcg_task = &mut *t;
    let reg = UMCG_CTL_REGISTER;
    assert_eq!(
        ctl(u, reg, p.cast::<u8>().wrapping_add(4).cast(), MONO),
        Some(libc::EINVAL)
    );
    assert_eq!(
        ctl(u, reg | 0x100, p, MONO),
        Some(libc::EINVAL),
        "unknown flag"
    );
    assert_eq!(ctl(u, 0, p, MONO), Some(libc::EINVAL), "no command");
    assert_eq!(ctl(u, 3, p, MONO), Some(libc::EINVAL), "two commands");
    assert_eq!(ctl(u, reg, p, 12345), Some(libc::EINVAL), "bad clock");
    assert_eq!(
        ctl(u, reg, std::ptr::null_mut(), MONO),
        Some(libc::EINVAL),
        "NULL"
    );
    let mut w = Box::new(umcg_task::worker(me));
    let wflags = reg | UMCG_CTL_WORKER | UMCG_CTL_MULTI;
    assert_eq!(
        ctl(u, wflags, &mut *w, MONO),
        Some(libc::EINVAL),
        "worker with MULTI"
    );
    for poke in [
        |t: &mut umcg_task| t.next_tid = 1,
        |t: &mut umcg_task| t.__hole[0] = 1,
        |t: &mut umcg_task| t.__zero[1] = 1,
    ] {
        let mut bad = Box::new(umcg_task::server(me));
        poke(&mut bad);
        assert_eq!(
            ctl(u, reg, &mut *bad, MONO),
            Some(libc::EINVAL),
            "reserved field"
        );
    }
    let mut other = Box::new(umcg_task::server(1));
    assert_eq!(
        ctl(u, reg, &mut *other, MONO),
        Some(libc::ESRCH),
        "server_tid != self"
    );
    let mut runnable = Box::new(umcg_task::server(me));
    runnable.state = UMCG_TASK_RUNNABLE;
    assert_eq!(
        ctl(u, reg, &mut *runnable, MONO),
        Some(libc::EINVAL),
        "server not RUNNING"
    );
    let mut orphan = Box::new(umcg_task::worker(me));
    assert_eq!(
        ctl(u, reg | UMCG_CTL_WORKER, &mut *orphan, MONO),
        Some(libc::ESRCH),
        "no such server"
    );
    // SAFETY: maps one inaccessible page, unmapped below.
    let none = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_eq!(
        ctl(u, reg, none.cast(), MONO),
        Some(libc::EFAULT),
        "unreadable"
    );
    // SAFETY: the page mapped above.
    unsafe { libc::munmap(none, 4096) };
    assert_eq!(
        ctl(u, UMCG_CTL_UNREGISTER, p, 0),
        Some(libc::EINVAL),
        "not registered"
    );

    assert_eq!(ctl(u, reg, p, MONO), None);
    assert_eq!(task_state_at(p as u64), UMCG_TASK_RUNNING);
    assert_eq!(
        ctl(u, reg, p, MONO),
        Some(libc::EINVAL),
        "already registered"
    );
    let server_tid = me;
    std::thread::spawn(move || {
        let mut w = Box::new(umcg_task::worker(server_tid));
        w.state = UMCG_TASK_RUNNING;
        assert_eq!(
            ctl(u, reg | UMCG_CTL_WORKER, &mut *w, MONO),
            Some(libc::EINVAL),
            "worker not BLOCKED"
        );
    })
    .join()
    .unwrap();
    assert_eq!(
        ctl(u, UMCG_CTL_UNREGISTER, &mut *other, 0),
        Some(libc::EINVAL),
        "other struct"
    );
    assert_eq!(
        ctl(u, UMCG_CTL_UNREGISTER | UMCG_CTL_WORKER, p, 0),
        Some(libc::EINVAL),
        "kind"
    );
    let multi = UMCG_CTL_UNREGISTER | UMCG_CTL_MULTI;
    assert_eq!(
        ctl(u, multi, p, 0),
        Some(libc::EINVAL),
        "UNREGISTER with a server flag"
    );
    state_at(p as u64).store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
    assert_eq!(
        ctl(u, UMCG_CTL_UNREGISTER, p, 0),
        Some(libc::EAGAIN),
        "not RUNNING"
    );
    state_at(p as u64).store(UMCG_TASK_RUNNING | 0x1_0000, SeqCst);
    assert_eq!(ctl(u, UMCG_CTL_UNREGISTER, p, 0), None);
    assert_eq!(task_state_at(p as u64), UMCG_TASK_NONE);
    assert_eq!(
        ctl(u, UMCG_CTL_UNREGISTER, p, 0),
        Some(libc::EINVAL),
        "twice"
    );
}

/// `umcg_wait` and `umcg_kick` errors; every `umcg_wait` error leaves the caller RUNNING.
fn wait_and_kick_errnos(u: U) {
    let me = gettid();
    assert_eq!(errno(u.wait(0, 0)), Some(libc::EINVAL), "wait unregistered");
    assert_eq!(
        errno(u.kick(0, me)),
        Some(libc::ESRCH),
        "kick unregistered tid"
    );
    let mut s = Server::register(u, 0);
    let back_to_running =
        |s: &Server| assert_eq!(s.state().load(SeqCst) & 0xffff, UMCG_TASK_RUNNING);
    s.state()
        .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
    assert_eq!(
        errno(u.wait(0x10, 0)),
        Some(libc::EINVAL),
        "unknown wait flag"
    );
    back_to_running(&s);
    s.state()
        .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
    assert_eq!(
        errno(u.wait(UMCG_WAIT_ENQUEUE, 0)),
        Some(libc::EINVAL),
        "ENQUEUE by a server"
    );
    back_to_running(&s);
    s.state()
        .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
    assert_eq!(errno(u.wait(0, -1)), Some(libc::EINVAL), "negative timeout");
    back_to_running(&s);
    assert_eq!(
        errno(u.wait(0, 0)),
        Some(libc::EAGAIN),
        "wait while RUNNING"
    );
    back_to_running(&s);
    assert_eq!(
        errno(s.wait(1, 0)),
        Some(libc::ESRCH),
        "next_tid not a UMCG task"
    );
    back_to_running(&s);
    for own in [me, me | UMCG_TID_RUNNING] {
        assert_eq!(
            errno(s.wait(own, 0)),
            Some(libc::EINVAL),
            "next_tid names the caller"
        );
        back_to_running(&s);
        assert_eq!(s.next_tid().load(SeqCst), own, "next_tid consumed");
    }
    s.next_tid().store(0, SeqCst);
    assert_eq!(errno(u.kick(1, me)), Some(libc::EINVAL), "kick flags");
    assert_eq!(errno(u.kick(0, 1)), Some(libc::ESRCH), "kick a foreign tid");
    assert_eq!(errno(u.kick(0, me)), None, "kick a registered task");
    // umcg-abi.md §9 point 3: a thread that is not a UMCG task may kick.
    std::thread::spawn(move || assert_eq!(errno(u.kick(0, me)), None))
        .join()
        .unwrap();
    back_to_running(&s);
}

/// Absolute timeouts in the registered clock: a past deadline and a near one.
fn server_wait_timeout(u: U) {
    let mut s = Server::register(u, 0);
    assert_eq!(errno(s.wait(0, 1)), Some(libc::ETIMEDOUT), "past deadline");
    assert_eq!(s.state().load(SeqCst) & UMCG_TASK_MASK, UMCG_TASK_RUNNING);
    let end = deadline(Duration::from_millis(20));
    assert_eq!(errno(s.wait(0, end)), Some(libc::ETIMEDOUT));
    assert!(now(MONO) >= end, "returned before the deadline");
    assert_eq!(s.state().load(SeqCst) & UMCG_TASK_MASK, UMCG_TASK_RUNNING);
    drop(s);
    std::thread::spawn(move || {
        let mut t = Box::new(umcg_task::server(gettid()));
        assert_eq!(
            ctl(u, UMCG_CTL_REGISTER, &mut *t, libc::CLOCK_REALTIME),
            None
        );
        let end = now(libc::CLOCK_REALTIME) + 20_000_000;
        t.state = UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT;
        assert_eq!(
            errno(u.wait(0, end)),
            Some(libc::ETIMEDOUT),
            "CLOCK_REALTIME deadline"
        );
        assert!(now(libc::CLOCK_REALTIME) >= end);
        assert_eq!(ctl(u, UMCG_CTL_UNREGISTER, &mut *t, 0), None);
    })
    .join()
    .unwrap();
}

/// A worker's registration returns only once a server ran it; the switch writes back
/// `UMCG_TID_RUNNING`; a worker's unregistration wakes its server.
fn worker_registration_and_switch(u: U) {
    let mut s = Server::register(u, 0);
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let w = Worker::spawn(u, gettid(), move |_| {
        r.store(true, SeqCst);
        End::Unregister
    });
    s.wait_runnable(w.addr);
    assert_eq!(w.state(), UMCG_TASK_RUNNABLE);
    assert_ne!(runnable_ts_at(w.addr), 0);
    std::thread::sleep(Duration::from_millis(10));
    assert!(
        !ran.load(SeqCst),
        "registration returned before a server ran the worker"
    );
    assert_eq!(
        errno(s.wait(w.tid | UMCG_TID_RUNNING, deadline(STEP))),
        Some(libc::EAGAIN),
        "TID_RUNNING on a RUNNABLE task"
    );
    assert_eq!(s.state().load(SeqCst) & UMCG_TASK_MASK, UMCG_TASK_RUNNING);
    assert_eq!(
        errno(s.run(&w)),
        None,
        "woken by the worker's unregistration"
    );
    assert_eq!(s.next_tid().load(SeqCst), w.tid | UMCG_TID_RUNNING);
    assert!(ran.load(SeqCst));
    w.join();
}

/// Blocks and wakes: BLOCKED with `blocked_ts` and the server woken; back RUNNABLE on the
/// runnable list, and not running user code until a server runs it.
fn block_and_return(u: U, block: impl FnOnce() + Send + 'static, release: impl FnOnce()) {
    let mut s = Server::register(u, 0);
    let after = Arc::new(AtomicBool::new(false));
    let a = after.clone();
    let w = Worker::spawn(u, gettid(), move |_| {
        block();
        a.store(true, SeqCst);
        End::Unregister
    });
    s.wait_runnable(w.addr);
    assert_eq!(errno(s.run(&w)), None, "woken by the block");
    assert_eq!(w.state(), UMCG_TASK_BLOCKED);
    let blocked_at = blocked_ts_at(w.addr);
    assert_ne!(blocked_at, 0);
    release();
    s.wait_runnable(w.addr);
    assert_eq!(w.state(), UMCG_TASK_RUNNABLE);
    assert!(runnable_ts_at(w.addr) >= blocked_at);
    if is_emulated(u) {
        // umcg_sys::emul "Limits": a worker returning from a blocking syscall may run user code
        // until the park signal or its next emulation call stops it. What still holds: it cannot
        // get past its next UMCG call (here: unregister) while RUNNABLE.
    } else {
        assert!(!after.load(SeqCst), "worker ran user code while RUNNABLE");
    }
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(
        w.state(),
        UMCG_TASK_RUNNABLE,
        "worker left RUNNABLE without a server"
    );
    assert_eq!(errno(s.run(&w)), None);
    assert!(after.load(SeqCst));
    w.join();
}

fn worker_blocks_in_nanosleep(u: U) {
    block_and_return(u, || std::thread::sleep(Duration::from_millis(100)), || {});
}

fn worker_blocks_in_pipe_read(u: U) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two fds.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (rd, wr) = (fds[0], fds[1]);
    block_and_return(
        u,
        move || {
            let mut b = 0u8;
            // SAFETY: reads one byte into `b` from our pipe.
            assert_eq!(unsafe { libc::read(rd, (&mut b as *mut u8).cast(), 1) }, 1);
        },
        // SAFETY: writes one byte to our pipe.
        || assert_eq!(unsafe { libc::write(wr, b"x".as_ptr().cast(), 1) }, 1),
    );
    // SAFETY: closes the pipe made above.
    unsafe { (libc::close(rd), libc::close(wr)) };
}

/// A worker yields with `UMCG_WAIT_ENQUEUE`: it is queued RUNNABLE, its server woken, and its
/// wait returns 0 once the server runs it again.
fn worker_yield_with_enqueue(u: U) {
    let mut s = Server::register(u, 0);
    let w = Worker::spawn(u, gettid(), |c| {
        // A refused yield returns EINVAL and leaves the worker RUNNING.
        let yield_refused = |abs_timeout: i64, what: &str| {
            c.state()
                .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
            assert_eq!(
                errno(c.u.wait(UMCG_WAIT_ENQUEUE, abs_timeout)),
                Some(libc::EINVAL),
                "{what}"
            );
            assert_eq!(c.state().load(SeqCst) & UMCG_TASK_MASK, UMCG_TASK_RUNNING);
        };
        yield_refused(1, "ENQUEUE with a timeout");
        // A yield naming the worker itself is refused before it is queued: a push would
        // overwrite the mark in its link field (and the server would find it listed while
        // RUNNING).
        const MARK: u64 = 0x5a5a_5a5a_5a5a_5a40;
        let next_tid = next_tid_at(c.addr);
        next_tid.store(gettid(), SeqCst);
        runnable_link_at(c.addr).store(MARK, SeqCst);
        yield_refused(0, "yield naming itself");
        assert_eq!(runnable_link_at(c.addr).swap(0, SeqCst), MARK, "queued");
        next_tid.store(0, SeqCst);
        c.state()
            .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
        assert_eq!(errno(c.u.wait(UMCG_WAIT_ENQUEUE, 0)), None);
        assert_eq!(c.state().load(SeqCst) & UMCG_TASK_MASK, UMCG_TASK_RUNNING);
        End::Unregister
    });
    s.wait_runnable(w.addr);
    assert_eq!(errno(s.run(&w)), None, "woken by the yield");
    s.wait_runnable(w.addr);
    assert_eq!(w.state(), UMCG_TASK_RUNNABLE);
    assert_eq!(errno(s.run(&w)), None);
    w.join();
}

/// Sets `UMCG_TF_PREEMPT` on the RUNNING worker at `addr` with a compare-and-exchange from
/// exactly RUNNING (ordering rule 5).
fn mark_preempt(addr: u64) {
    let ws = state_at(addr);
    let cur = ws.load(SeqCst);
    assert_eq!(cur & UMCG_TASK_MASK, UMCG_TASK_RUNNING);
    assert!(ws
        .compare_exchange(cur, cur | UMCG_TF_PREEMPT, SeqCst, SeqCst)
        .is_ok());
}

/// Kicks the marked worker `w` and waits until it is queued, RUNNABLE with the flag cleared.
fn kick_until_preempted(u: U, s: &mut Server, w: &Worker) {
    assert_eq!(errno(u.kick(0, w.tid)), None);
    s.wait_runnable(w.addr);
    assert_eq!(
        state_at(w.addr).load(SeqCst) & (UMCG_TASK_MASK | UMCG_TF_PREEMPT),
        UMCG_TASK_RUNNABLE
    );
}

/// `UMCG_TF_PREEMPT` + kick: the running worker becomes RUNNABLE, is queued, the server is
/// woken, and the worker stays off the CPU until a server runs it.
fn preemption_with_kick(u: U) {
    let mut s = Server::register(u, 0);
    let stop = Arc::new(AtomicBool::new(false));
    let spins = Arc::new(AtomicU64::new(0));
    let (st, sp) = (stop.clone(), spins.clone());
    let w = Worker::spawn(u, gettid(), move |_| {
        let t0 = Instant::now();
        while !st.load(SeqCst) && t0.elapsed() < Duration::from_secs(20) {
            sp.fetch_add(1, SeqCst);
            std::hint::spin_loop();
        }
        End::Unregister
    });
    s.wait_runnable(w.addr);
    assert_eq!(
        errno(s.run_until(&w, deadline(Duration::from_millis(30)))),
        Some(libc::ETIMEDOUT)
    );
    assert_eq!(s.next_tid().load(SeqCst), w.tid | UMCG_TID_RUNNING);
    assert_eq!(w.state(), UMCG_TASK_RUNNING);
    assert_eq!(
        errno(s.wait(w.tid, deadline(STEP))),
        Some(libc::EAGAIN),
        "next_tid names a RUNNING task"
    );
    assert_eq!(s.state().load(SeqCst) & UMCG_TASK_MASK, UMCG_TASK_RUNNING);
    mark_preempt(w.addr);
    kick_until_preempted(u, &mut s, &w);
    // Both backends: a preempted worker does not run while RUNNABLE (the emulation parks it
    // with its park signal, umcg_sys::emul "Limits").
    std::thread::sleep(Duration::from_millis(5));
    let before = spins.load(SeqCst);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(spins.load(SeqCst), before, "preempted worker kept running");
    stop.store(true, SeqCst);
    assert_eq!(errno(s.run(&w)), None);
    w.join();
}

/// A worker's own timeout: queued and its server woken at expiry; `ETIMEDOUT` once run.
fn worker_wait_timeout(u: U) {
    let mut s = Server::register(u, 0);
    let w = Worker::spawn(u, gettid(), |c| {
        c.state()
            .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
        let end = deadline(Duration::from_millis(20));
        assert_eq!(errno(c.u.wait(0, end)), Some(libc::ETIMEDOUT));
        assert!(now(MONO) >= end);
        assert_eq!(c.state().load(SeqCst) & UMCG_TASK_MASK, UMCG_TASK_RUNNING);
        End::Unregister
    });
    s.wait_runnable(w.addr);
    assert_eq!(errno(s.run(&w)), None, "woken by the worker's timeout");
    s.wait_runnable(w.addr);
    assert_eq!(errno(s.run(&w)), None);
    w.join();
}

/// `UMCG_CTL_MULTI`: blocked workers are pushed on the server's blocked list.
fn multi_blocked_list(u: U) {
    let mut s = Server::register(u, UMCG_CTL_MULTI);
    let mut pipes = Vec::new();
    let mut workers = Vec::new();
    for _ in 0..2 {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for two fds.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let rd = fds[0];
        pipes.push(fds);
        workers.push(Worker::spawn(u, gettid(), move |_| {
            let mut b = 0u8;
            // SAFETY: reads one byte from our pipe.
            assert_eq!(unsafe { libc::read(rd, (&mut b as *mut u8).cast(), 1) }, 1);
            End::Unregister
        }));
    }
    for w in &workers {
        s.wait_runnable(w.addr);
    }
    for w in &workers {
        assert_eq!(errno(s.run(w)), None, "woken by the block");
        assert_eq!(w.state(), UMCG_TASK_BLOCKED);
        s.wait_blocked(w.addr);
    }
    for fds in &pipes {
        // SAFETY: writes one byte to our pipe.
        assert_eq!(unsafe { libc::write(fds[1], b"x".as_ptr().cast(), 1) }, 1);
    }
    for w in &workers {
        s.wait_runnable(w.addr);
        assert_eq!(w.state(), UMCG_TASK_RUNNABLE);
    }
    for w in workers {
        assert_eq!(errno(s.run(&w)), None);
        w.join();
    }
    for fds in pipes {
        // SAFETY: closes the pipe made above.
        unsafe { (libc::close(fds[0]), libc::close(fds[1])) };
    }
}

/// `UMCG_CTL_COOP`: a runnable enqueue (a yield) does not wake a server that is busy
/// (`next_tid != 0`); the server learns of it at its next drain of the runnable list.
fn coop_enqueue_does_not_wake_a_busy_server(u: U) {
    let mut s = Server::register(u, UMCG_CTL_MULTI | UMCG_CTL_COOP);
    let done = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let (d, st) = (done.clone(), stop.clone());
    let yielder = Worker::spawn(u, gettid(), move |c| {
        while !st.load(SeqCst) {
            std::hint::spin_loop();
        }
        c.state()
            .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
        assert_eq!(errno(c.u.wait(UMCG_WAIT_ENQUEUE, 0)), None);
        End::Unregister
    });
    let y_addr = yielder.addr;
    let runner = Worker::spawn(u, gettid(), move |_| {
        // Busy (no block) until the yield is queued, and 20 ms more.
        let t0 = Instant::now();
        while task_state_at(y_addr) != UMCG_TASK_RUNNABLE && t0.elapsed() < STEP {
            std::hint::spin_loop();
        }
        let t1 = Instant::now();
        while t1.elapsed() < Duration::from_millis(20) {
            std::hint::spin_loop();
        }
        d.store(true, SeqCst);
        End::Unregister
    });
    s.wait_runnable(yielder.addr);
    s.wait_runnable(runner.addr);
    assert_eq!(
        errno(s.run_until(&yielder, deadline(Duration::from_millis(10)))),
        Some(libc::ETIMEDOUT)
    );
    stop.store(true, SeqCst);
    assert_eq!(errno(s.run(&runner)), None);
    assert!(
        done.load(SeqCst),
        "a COOP server with next_tid != 0 was woken by an enqueue"
    );
    s.wait_runnable(yielder.addr);
    assert_eq!(errno(s.run(&yielder)), None);
    runner.join();
    yielder.join();
}

/// When its server is gone, a worker's `UMCG_WAIT_ENQUEUE` fails with `ESRCH`, RUNNING.
fn orphaned_worker_cannot_enqueue(u: U) {
    let mut s = Server::register(u, 0);
    let gone = Arc::new(AtomicBool::new(false));
    let g = gone.clone();
    let w = Worker::spawn(u, gettid(), move |c| {
        let t0 = Instant::now();
        while !g.load(SeqCst) && t0.elapsed() < STEP {
            std::hint::spin_loop();
        }
        c.state()
            .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
        assert_eq!(errno(c.u.wait(UMCG_WAIT_ENQUEUE, 0)), Some(libc::ESRCH));
        assert_eq!(c.state().load(SeqCst) & UMCG_TASK_MASK, UMCG_TASK_RUNNING);
        End::Unregister
    });
    s.wait_runnable(w.addr);
    assert_eq!(
        errno(s.run_until(&w, deadline(Duration::from_millis(10)))),
        Some(libc::ETIMEDOUT)
    );
    drop(s);
    gone.store(true, SeqCst);
    w.join();
}

/// A worker thread that exits while registered is unregistered (state NONE) and its server is
/// woken; naming it afterwards gives `ESRCH`, and the server keeps working.
fn worker_exit_without_unregister(u: U) {
    let mut s = Server::register(u, 0);
    let w = Worker::spawn(u, gettid(), |_| End::Exit);
    s.wait_runnable(w.addr);
    assert_eq!(errno(s.run(&w)), None, "woken by the worker's exit");
    let (tid, addr) = (w.tid, w.addr);
    w.join();
    assert_eq!(task_state_at(addr), UMCG_TASK_NONE);
    let end = Instant::now() + STEP;
    while errno(u.kick(0, tid)) != Some(libc::ESRCH) {
        assert!(Instant::now() < end, "exited worker still a UMCG task");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(errno(s.wait(tid, deadline(STEP))), Some(libc::ESRCH));
    assert_eq!(s.state().load(SeqCst) & UMCG_TASK_MASK, UMCG_TASK_RUNNING);
    assert_eq!(
        errno(s.wait(0, 1)),
        Some(libc::ETIMEDOUT),
        "server still works"
    );
}

/// The canonical server loop (`umcg-abi.md` §3.6) over several workers that alternately
/// block in `nanosleep` and yield, until all have unregistered: every worker runs to the end,
/// and at most one of them is RUNNING at any time the server looks.
fn canonical_server_loop_runs_many_workers(u: U) {
    const WORKERS: usize = 6;
    const ROUNDS: usize = 20;
    let mut s = Server::register(u, 0);
    let workers: Vec<Worker> = (0..WORKERS)
        .map(|_| {
            Worker::spawn(u, gettid(), |c| {
                for i in 0..ROUNDS {
                    if i % 2 == 0 {
                        std::thread::sleep(Duration::from_micros(300));
                    } else {
                        c.state()
                            .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
                        // EAGAIN: the worker was made RUNNABLE by something else before its
                        // wait (the kernel: it blocked in the COND_WAIT window, §3.14; the
                        // emulation also: it returned from the sleep above and had not been
                        // parked yet, umcg_sys::emul "Limits"); it is RUNNING again.
                        let r = errno(c.u.wait(UMCG_WAIT_ENQUEUE, 0));
                        assert!(matches!(r, None | Some(libc::EAGAIN)), "{r:?}");
                        assert_eq!(c.state().load(SeqCst) & UMCG_TASK_MASK, UMCG_TASK_RUNNING);
                    }
                }
                End::Unregister
            })
        })
        .collect();
    let tid_of = |addr: u64| workers.iter().find(|w| w.addr == addr).unwrap().tid;
    let end = Instant::now() + Duration::from_secs(30);
    let mut cur: Option<u64> = None;
    loop {
        let running = workers
            .iter()
            .filter(|w| w.state() == UMCG_TASK_RUNNING)
            .count();
        assert!(running <= 1, "{running} workers RUNNING on a !MULTI server");
        if workers.iter().all(|w| w.state() == UMCG_TASK_NONE) {
            break;
        }
        assert!(Instant::now() < end, "workers did not finish");
        s.state()
            .store(UMCG_TASK_RUNNABLE | UMCG_TF_COND_WAIT, SeqCst);
        s.pop_runnable();
        let next = match cur.filter(|&c| task_state_at(c) == UMCG_TASK_RUNNING) {
            Some(c) => tid_of(c) | UMCG_TID_RUNNING,
            None => {
                // umcg.rst, user-space rule 3: skip queued entries that are not RUNNABLE.
                s.runq.retain(|&a| task_state_at(a) == UMCG_TASK_RUNNABLE);
                cur = (!s.runq.is_empty()).then(|| s.runq.remove(0));
                cur.map_or(0, tid_of)
            }
        };
        s.next_tid().store(next, SeqCst);
        let r = errno(u.wait(0, deadline(Duration::from_millis(200))));
        // ESRCH: the worker named with UMCG_TID_RUNNING finished and unregistered meanwhile.
        let gone =
            r == Some(libc::ESRCH) && cur.is_some_and(|c| task_state_at(c) == UMCG_TASK_NONE);
        assert!(
            gone || matches!(r, None | Some(libc::EAGAIN) | Some(libc::ETIMEDOUT)),
            "{r:?}"
        );
        let consumed = s.next_tid().load(SeqCst) & UMCG_TID_RUNNING != 0;
        if let (Some(c), false) = (cur, consumed) {
            if next & UMCG_TID_RUNNING == 0 && task_state_at(c) == UMCG_TASK_RUNNABLE {
                s.runq.insert(0, c);
            }
            cur = None;
        }
    }
    for w in workers {
        w.join();
    }
}

/// A worker preempted right after a switch, before it can have returned to user space (the
/// server's deadline is already past: the switch happens, the wait returns `ETIMEDOUT`): the
/// flag is honoured on its way out, it becomes RUNNABLE and is queued.
fn preemption_right_after_a_switch(u: U) {
    let mut s = Server::register(u, 0);
    let stop = Arc::new(AtomicBool::new(false));
    let st = stop.clone();
    let w = Worker::spawn(u, gettid(), move |_| {
        let t0 = Instant::now();
        while !st.load(SeqCst) && t0.elapsed() < 2 * STEP {
            std::hint::spin_loop();
        }
        End::Unregister
    });
    s.wait_runnable(w.addr);
    assert_eq!(errno(s.wait(w.tid, 1)), Some(libc::ETIMEDOUT));
    assert_eq!(
        s.next_tid().load(SeqCst),
        w.tid | UMCG_TID_RUNNING,
        "the switch happened"
    );
    mark_preempt(w.addr);
    kick_until_preempted(u, &mut s, &w);
    stop.store(true, SeqCst);
    assert_eq!(errno(s.run(&w)), None);
    w.join();
}

/// `UMCG_TF_PREEMPT` alone does nothing: only a kick makes a worker look at it. The worker
/// keeps calling `umcg_wait` with an unknown flag (`EINVAL`; on the emulation each call passes
/// its return-to-user hook), pinned to its server's CPU so that on the kernel the server's
/// wakeups switch it out and back in (each switch runs the kernel's hook); it keeps running
/// with the flag set until the kick.
fn preempt_flag_waits_for_kick(u: U) {
    pin_to_first_cpu();
    let mut s = Server::register(u, 0);
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let (st, ca) = (stop.clone(), calls.clone());
    let w = Worker::spawn(u, gettid(), move |c| {
        pin_to_first_cpu();
        let t0 = Instant::now();
        while !st.load(SeqCst) && t0.elapsed() < Duration::from_secs(20) {
            assert_eq!(errno(c.u.wait(0x8000, 0)), Some(libc::EINVAL));
            ca.fetch_add(1, SeqCst);
            for _ in 0..1000 {
                std::hint::spin_loop();
            }
        }
        End::Unregister
    });
    s.wait_runnable(w.addr);
    assert_eq!(
        errno(s.run_until(&w, deadline(Duration::from_millis(20)))),
        Some(libc::ETIMEDOUT)
    );
    mark_preempt(w.addr);
    let before = calls.load(SeqCst);
    for _ in 0..3 {
        assert_eq!(
            errno(s.wait(
                w.tid | UMCG_TID_RUNNING,
                deadline(Duration::from_millis(20))
            )),
            Some(libc::ETIMEDOUT),
            "the worker acted on UMCG_TF_PREEMPT without a kick"
        );
    }
    assert!(calls.load(SeqCst) > before, "the worker made no call");
    assert_eq!(
        state_at(w.addr).load(SeqCst) & (UMCG_TASK_MASK | UMCG_TF_PREEMPT),
        UMCG_TASK_RUNNING | UMCG_TF_PREEMPT
    );
    kick_until_preempted(u, &mut s, &w);
    stop.store(true, SeqCst);
    assert_eq!(errno(s.run(&w)), None);
    w.join();
}
