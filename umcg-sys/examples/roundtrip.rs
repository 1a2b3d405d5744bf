//! Round-trip costs of the UMCG backends beside the futex floor, in one table.
//!
//! ```text
//! cargo run --release -p umcg-sys --example roundtrip [-- ITERATIONS [GROUPS]]
//! ```
//!
//! `GROUPS` is a comma-separated subset of `futex`, `yield`, `emulation`, `kernel`,
//! `detection` (all by default): e.g. `roundtrip 3000 futex,kernel` times only the floor and
//! the kernel's switch, for profiling one path. Ratios are to the same-CPU futex row, shown
//! when it was measured.
//!
//! Rows: a futex ping-pong between two threads pinned to one CPU and to two CPUs; a
//! `sched_yield()` ping-pong between two threads on one CPU (two switches and no wakeups: the
//! scheduler's pick and switch without enqueue or dequeue); server → worker → server through
//! the emulation (the worker yields with `UMCG_WAIT_ENQUEUE`), the same through the kernel
//! when it advertises UMCG, the block detection of the kernel and of the emulation (worker
//! enters a blocking `read()` → its server returns from `umcg_wait`), the latter with the
//! spinning and the sleeping server, plus how long a worker whose `read()` returned keeps running user
//! code before the emulation parks it; the same for the variants (no spinning, ring wakeups,
//! the `/proc` fallback detector). Timings on a shared machine are indicative: compare
//! ratios, not absolute numbers.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use umcg_sys::abi::*;
use umcg_sys::backend::{Kernel, Umcg};
use umcg_sys::emul::{Detector, Emulated, Options};
use umcg_sys::measure::{spawn_worker, Server};

type U = &'static dyn Umcg;

fn now_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is writable.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

fn pin_self(cpu: usize) {
    umcg_sys::cpu::pin_current_thread(cpu).expect("pinning a thread to an allowed CPU");
}

/// Median and p99 of samples in ns, as µs.
fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize] / 1000.0;
    (at(0.5), at(0.99))
}

fn state(addr: u64) -> &'static AtomicU32 {
    // SAFETY: addresses of live registered tasks only; `state` is the u32 at offset 0.
    unsafe { &*(addr as *const AtomicU32) }
}

/// server → worker → server: the worker yields with ENQUEUE `n` times.
fn umcg_roundtrip(u: U, n: usize) -> Vec<f64> {
    let trips = umcg_sys::measure::switch_round_trips(u, n).expect("switch round trips");
    trips.into_iter().map(|ns| ns as f64).collect()
}

/// Worker blocks in `read()` on an empty pipe: time from just before the read to the server's
/// return from `umcg_wait`; and how long the worker runs user code after the read returned.
fn block_detection(u: U, n: usize) -> (Vec<f64>, Vec<f64>) {
    let name = format!(
        "{:?}",
        (u.name(), std::ptr::addr_of!(*u) as *const () as usize)
    );
    let srv = Server::new(u).expect("server registration");
    let mut fds = [0; 2];
    // SAFETY: room for two fds.
    unsafe { libc::pipe(fds.as_mut_ptr()) };
    let (rd, wr) = (fds[0], fds[1]);
    let before = Arc::new(AtomicI64::new(0));
    let returned = Arc::new(AtomicI64::new(0));
    let last = Arc::new(AtomicI64::new(0));
    let round = Arc::new(AtomicU64::new(0));
    let (b, r, l, go) = (
        before.clone(),
        returned.clone(),
        last.clone(),
        round.clone(),
    );
    let w = spawn_worker(u, move |_, _| {
        for i in 0..n as u64 {
            let mut c = 0u8;
            b.store(now_ns(), SeqCst);
            // SAFETY: reads one byte from our pipe.
            unsafe { libc::read(rd, (&mut c as *mut u8).cast(), 1) };
            let t = now_ns();
            r.store(t, SeqCst);
            l.store(t, SeqCst);
            // Runs user code until parked (`last`: the last moment it ran), at most 5 ms, and
            // until the server has started the next round.
            while now_ns() < t + 5_000_000 && go.load(SeqCst) == i {
                l.store(now_ns(), SeqCst);
            }
        }
    });
    srv.wait_runnable(&w).expect("the worker is alive");
    let progress = AtomicU64::new(0);
    let (mut detect, mut unmanaged) = (Vec::new(), Vec::new());
    let addr = w.addr;
    std::thread::scope(|scope| {
        scope.spawn(|| stall_monitor(&name, &srv, addr, &progress));
        for i in 0..n {
            progress.store(2 * i as u64, SeqCst);
            let r = srv.run(w.tid);
            let t1 = now_ns();
            let ws = state(w.addr).load(SeqCst);
            if r.is_err() || ws & UMCG_TASK_MASK != UMCG_TASK_BLOCKED {
                eprintln!("iteration {i}: run -> {r:?}, worker state {ws:#x}");
            }
            detect.push((t1 - before.load(SeqCst)) as f64);
            let written = now_ns();
            // SAFETY: writes one byte to our pipe.
            unsafe { libc::write(wr, b"x".as_ptr().cast(), 1) };
            progress.store(2 * i as u64 + 1, SeqCst);
            srv.wait_runnable(&w).expect("the worker is alive");
            std::thread::sleep(Duration::from_micros(200));
            // Parked before its read() even returned to user code: no window at all.
            let ret = returned.load(SeqCst);
            unmanaged.push(if ret < written {
                0.0
            } else {
                (last.load(SeqCst) - ret) as f64
            });
            round.store(i as u64 + 1, SeqCst);
        }
        let _ = srv.run(w.tid);
        w.thread.join().unwrap();
        progress.store(u64::MAX, SeqCst);
    });
    // SAFETY: closes the pipe made above.
    unsafe { (libc::close(rd), libc::close(wr)) };
    (detect, unmanaged)
}

/// Exits the process with a diagnosis when `progress` stays the same for 5 s, until it is
/// `u64::MAX`.
fn stall_monitor(name: &str, srv: &Server, worker: u64, progress: &AtomicU64) {
    let mut last = u64::MAX;
    loop {
        std::thread::sleep(Duration::from_secs(5));
        let p = progress.load(SeqCst);
        if p == u64::MAX {
            return;
        }
        if p == last {
            eprintln!(
                "stalled ({name}) at step {p}: server state {:#x} next {:#x} runnable head {:#x}; \
                 worker state {:#x}",
                srv.state().load(SeqCst),
                srv.next_tid().load(SeqCst),
                srv.runnable_head().load(SeqCst),
                state(worker).load(SeqCst)
            );
            std::process::exit(2);
        }
        last = p;
    }
}

/// Futex ping-pong between two threads on `cpus`: A→B→A round trip.
fn futex_pingpong(cpus: (usize, usize), n: usize) -> Vec<f64> {
    let word = Arc::new(AtomicU32::new(0));
    let fw = |w: &AtomicU32, v: u32| {
        while w.load(SeqCst) == v {
            // SAFETY: futex wait on a live word of this process.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    w.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    v,
                    0,
                )
            };
        }
    };
    let wake = |w: &AtomicU32, v: u32| {
        w.store(v, SeqCst);
        // SAFETY: futex wake on a live word of this process.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                w.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
            )
        };
    };
    let w2 = word.clone();
    let b = std::thread::spawn(move || {
        pin_self(cpus.1);
        for _ in 0..n {
            fw(&w2, 0);
            wake(&w2, 0);
        }
    });
    pin_self(cpus.0);
    std::thread::sleep(Duration::from_millis(10));
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        wake(&word, 1);
        fw(&word, 1);
        samples.push(t0.elapsed().as_nanos() as f64);
    }
    b.join().unwrap();
    samples
}

/// Two threads pinned to one CPU hand the turn back and forth, each calling `sched_yield()`
/// until it is its turn: two switches per round trip, and no sleep or wakeup, so no enqueue
/// or dequeue; what the scheduler's pick and switch cost without them.
fn yield_pingpong(cpu: usize, n: usize) -> Vec<f64> {
    let turn = Arc::new(AtomicU32::new(0));
    let wait_for = |t: &AtomicU32, v: u32| {
        while t.load(SeqCst) != v {
            // SAFETY: sched_yield has no arguments and no memory effects.
            unsafe { libc::sched_yield() };
        }
    };
    let t2 = turn.clone();
    let b = std::thread::spawn(move || {
        pin_self(cpu);
        for _ in 0..n {
            wait_for(&t2, 1);
            t2.store(0, SeqCst);
        }
    });
    pin_self(cpu);
    std::thread::sleep(Duration::from_millis(10));
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        turn.store(1, SeqCst);
        wait_for(&turn, 0);
        samples.push(t0.elapsed().as_nanos() as f64);
    }
    b.join().unwrap();
    samples
}

fn machine() -> (String, String) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    (cpu, kernel.trim().to_string())
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5000);
    let groups = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "futex,yield,emulation,kernel,detection".into());
    let wants = |g: &str| groups.split(',').any(|w| w == g);
    let (cpu, kernel) = machine();
    let cpus = umcg_sys::cpu::allowed().expect("the CPUs this thread may run on");
    let ncpu = cpus.len();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    println!(
        "machine: {cpu}, {ncpu} CPUs; kernel {kernel}; load average {load}; {n} iterations per row"
    );
    let mut rows: Rows = Vec::new();
    if wants("futex") {
        rows.push((
            "futex ping-pong, same CPU".into(),
            stats(futex_pingpong((cpus[0], cpus[0]), n)),
        ));
    }
    if ncpu > 1 && wants("futex") {
        rows.push((
            "futex ping-pong, cross CPU".into(),
            stats(futex_pingpong((cpus[0], cpus[1]), n)),
        ));
    }
    if wants("yield") {
        rows.push((
            "sched_yield ping-pong, same CPU".into(),
            stats(yield_pingpong(cpus[0], n)),
        ));
    }
    // The kernel rows run before the emulation's: closing the emulation's perf events leaves
    // the scheduler's perf hooks enabled for a while (the static key is released with a delay),
    // and every switch of a later row would pay for them.
    if wants("kernel") {
        kernel_roundtrip(&mut rows, n);
    }
    if wants("detection") {
        kernel_detection(&mut rows, (n / 10).max(50));
    }
    if wants("emulation") {
        emulated_roundtrips(&mut rows, n);
    }
    if wants("detection") {
        emulated_detections(&mut rows, (n / 10).max(50));
    }
    print_rows(&rows);
}

type Rows = Vec<(String, (f64, f64))>;

/// The emulation with its default options, without spinning, with ring wakeups, and with the
/// `SCHED_IDLE` spin.
fn emulations() -> (U, U, U, U) {
    let with = |options| -> U { Emulated::with_options(options) };
    (
        Emulated::get(),
        with(Options {
            spin: Duration::ZERO,
            ..Options::default()
        }),
        with(Options {
            ring_wakeups: true,
            ..Options::default()
        }),
        with(Options {
            idle_spin: true,
            ..Options::default()
        }),
    )
}

fn emulated_roundtrips(rows: &mut Rows, n: usize) {
    let (emu, emu_poll, emu_wake, emu_idle) = emulations();
    rows.push((
        "emulation: server→worker→server (yield)".into(),
        stats(umcg_roundtrip(emu, n)),
    ));
    rows.push((
        "emulation, no spin: server→worker→server".into(),
        stats(umcg_roundtrip(emu_poll, n)),
    ));
    rows.push((
        "emulation, SCHED_IDLE spin: server→worker→server".into(),
        stats(umcg_roundtrip(emu_idle, n)),
    ));
    rows.push((
        "emulation, ring wakeups: server→worker→server".into(),
        stats(umcg_roundtrip(emu_wake, n)),
    ));
}

fn kernel_roundtrip(rows: &mut Rows, n: usize) {
    if let Some(k) = Kernel::detect() {
        let k: U = Box::leak(Box::new(k));
        rows.push((
            "kernel UMCG: server→worker→server".into(),
            stats(umcg_roundtrip(k, n)),
        ));
    } else {
        println!("kernel UMCG: not advertised (/sys/kernel/umcg missing), row skipped");
    }
}

fn kernel_detection(rows: &mut Rows, m: usize) {
    if let Some(k) = Kernel::detect() {
        let k: U = Box::leak(Box::new(k));
        let (d, _) = block_detection(k, m);
        rows.push(("kernel UMCG: block → server returns".into(), stats(d)));
    }
}

fn emulated_detections(rows: &mut Rows, m: usize) {
    let (emu, emu_poll, emu_wake, emu_idle) = emulations();
    let emu_proc = Emulated::with_options(Options {
        detector: Detector::ProcStat,
        ..Options::default()
    });
    let (d, w) = block_detection(emu, m);
    rows.push(("emulation: block → server returns (spin)".into(), stats(d)));
    rows.push(("emulation: read returned → worker parked".into(), stats(w)));
    let (d, w) = block_detection(emu_idle, m);
    rows.push((
        "emulation, SCHED_IDLE spin: block → server".into(),
        stats(d),
    ));
    rows.push((
        "emulation, SCHED_IDLE spin: returned → parked".into(),
        stats(w),
    ));
    let (d, w) = block_detection(emu_poll, m);
    rows.push((
        "emulation, no spin: block → server returns".into(),
        stats(d),
    ));
    rows.push((
        "emulation, no spin: read returned → parked".into(),
        stats(w),
    ));
    let (d, w) = block_detection(emu_wake, m);
    rows.push((
        "emulation, ring wakeups: block → server ret.".into(),
        stats(d),
    ));
    rows.push((
        "emulation, ring wakeups: returned → parked".into(),
        stats(w),
    ));
    let (d, w) = block_detection(emu_proc, m);
    rows.push((
        "emulation, /proc fallback: block → server ret.".into(),
        stats(d),
    ));
    rows.push((
        "emulation, /proc fallback: returned → parked".into(),
        stats(w),
    ));
}

fn print_rows(rows: &Rows) {
    let floor = rows
        .iter()
        .find(|(name, _)| name == "futex ping-pong, same CPU")
        .map_or(f64::NAN, |(_, (med, _))| *med);
    println!(
        "{:<46} {:>10} {:>10} {:>12}",
        "what", "median µs", "p99 µs", "÷ same-CPU"
    );
    for (name, (med, p99)) in rows {
        println!("{name:<46} {med:>10.2} {p99:>10.2} {:>12.2}", med / floor);
    }
}
