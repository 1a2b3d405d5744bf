//! What the report runs: the list of jobs, each run on every contender, interleaved.

use super::{Figure, Floor, Options, Progress, Row, Unit};
use crate::floor;
use crate::measure;
use crate::rt::{Rt, RtSpec, TokioRt, UmcgBackend};
use crate::stats::{ns, Summary};
use crate::workloads::{self as w, BlockIn, BlockKind, TickerSetup};
use std::sync::Mutex;
use std::time::Instant;

/// A runtime measured in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contender {
    /// tokio's multi-thread runtime (the baseline of every ratio).
    Tokio,
    /// The umcg runtime on a backend.
    Umcg(UmcgBackend),
}

impl Contender {
    /// The column label.
    pub fn label(self) -> &'static str {
        match self {
            Contender::Tokio => "tokio",
            Contender::Umcg(UmcgBackend::Auto) => "umcg",
            Contender::Umcg(UmcgBackend::Kernel) => "umcg-kernel",
            Contender::Umcg(UmcgBackend::Emulated) => "umcg-emulated",
        }
    }

    /// Parses a label.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Contender::Tokio,
            Contender::Umcg(UmcgBackend::Auto),
            Contender::Umcg(UmcgBackend::Kernel),
            Contender::Umcg(UmcgBackend::Emulated),
        ]
        .into_iter()
        .find(|c| c.label() == s)
    }

    /// Whether this build can run it (the umcg side needs the `umcg` feature).
    pub fn available(self) -> bool {
        matches!(self, Contender::Tokio) || cfg!(feature = "umcg")
    }

    /// Whether its jobs run on the userspace emulation, whose perf context-switch events
    /// turn on the scheduler's perf hooks (see [`PERF_HOOKS_OFF`]).
    fn uses_emulation(self) -> bool {
        match self {
            Contender::Tokio | Contender::Umcg(UmcgBackend::Kernel) => false,
            Contender::Umcg(UmcgBackend::Emulated) => true,
            Contender::Umcg(UmcgBackend::Auto) => umcg_sys::detect::kernel_abi().is_none(),
        }
    }

    fn backend(self) -> UmcgBackend {
        match self {
            Contender::Tokio => UmcgBackend::Auto,
            Contender::Umcg(b) => b,
        }
    }
}

/// How long to wait after a job on the emulation before the next job. The emulation's perf
/// context-switch events turn on the scheduler's perf hooks, and the kernel turns them off
/// only a second (HZ) after the last such event is closed (`perf_sched_delayed()` in
/// kernel/events/core.c): a job started sooner, whatever its runtime, would pay for them on
/// every context switch (0.15 µs per UMCG round trip in the guest).
pub const PERF_HOOKS_OFF: std::time::Duration = std::time::Duration::from_millis(1_500);

/// tokio's throughput benches.
#[derive(Clone, Copy, Debug)]
enum Tput {
    SpawnManyLocal,
    RemoteIdle,
    RemoteBusy1,
    RemoteBusy2,
    YieldMany,
    PingPong,
    ChainedSpawn,
    SpawnBlocking(usize),
}

#[derive(Clone, Debug)]
enum Job {
    Tput(Tput),
    /// The raw UMCG server → worker → server switch, without a runtime: umcg contenders only.
    Switch,
    RoundTrip,
    RoundTripSleep,
    Ticker(BlockKind, BlockIn),
    Burst,
    Mixed(BlockIn),
}

/// The name of the raw switch row (the targets find it by this name).
pub const SWITCH_ROW: &str = "UMCG server→worker→server switch, no runtime";

/// A row a job fills: name, headline, unit, criterion id (with `{rt}`), compare with floor.
type RowSpec = (String, &'static str, Unit, Option<String>, bool);

#[derive(Clone)]
struct Spec {
    section: &'static str,
    workers: Option<usize>,
    keep_alive: Option<std::time::Duration>,
    job: Job,
    rows: Vec<RowSpec>,
}

fn tput(name: &str, t: Tput, workers: Option<usize>, section: &'static str, crit: String) -> Spec {
    Spec {
        section,
        workers,
        keep_alive: None,
        job: Job::Tput(t),
        rows: vec![(name.into(), "mean/iter", Unit::Ns, Some(crit), false)],
    }
}

fn specs(opts: &Options) -> Vec<Spec> {
    let rt_multi = "rt_multi_threaded";
    let four = Some(w::NUM_WORKERS);
    let mut v = vec![
        tput(
            "spawn_many_local",
            Tput::SpawnManyLocal,
            four,
            rt_multi,
            "spawn_many_local/{rt}".into(),
        ),
        tput(
            "spawn_many_remote_idle",
            Tput::RemoteIdle,
            four,
            rt_multi,
            "spawn_many_remote_idle/{rt}".into(),
        ),
        tput(
            "spawn_many_remote_busy1",
            Tput::RemoteBusy1,
            four,
            rt_multi,
            "spawn_many_remote_busy1/{rt}".into(),
        ),
        tput(
            "spawn_many_remote_busy2",
            Tput::RemoteBusy2,
            four,
            rt_multi,
            "spawn_many_remote_busy2/{rt}".into(),
        ),
        tput(
            "yield_many",
            Tput::YieldMany,
            four,
            rt_multi,
            "yield_many/{rt}".into(),
        ),
        tput(
            "ping_pong",
            Tput::PingPong,
            four,
            rt_multi,
            "ping_pong/{rt}".into(),
        ),
        tput(
            "chained_spawn",
            Tput::ChainedSpawn,
            four,
            rt_multi,
            "chained_spawn/{rt}".into(),
        ),
    ];
    for n in w::SPAWNERS {
        v.push(tput(
            &format!("spawn_blocking/concurrency/{n}"),
            Tput::SpawnBlocking(n),
            None,
            "spawn_blocking",
            format!("spawn_blocking/{{rt}}/{n}"),
        ));
    }
    v.push(Spec {
        section: "switch",
        workers: None,
        keep_alive: None,
        job: Job::Switch,
        rows: vec![(SWITCH_ROW.into(), "p50", Unit::Ns, None, true)],
    });
    v.push(Spec {
        section: "round_trip",
        workers: None,
        keep_alive: None,
        job: Job::RoundTrip,
        rows: vec![(
            "spawn_blocking(no-op).await round trip".into(),
            "p50",
            Unit::Ns,
            Some("blocking_round_trip/{rt}".into()),
            true,
        )],
    });
    v.push(Spec {
        section: "round_trip",
        workers: None,
        keep_alive: None,
        job: Job::RoundTripSleep,
        rows: vec![(
            "spawn_blocking(sleep 50µs).await round trip".into(),
            "p50",
            Unit::Ns,
            None,
            false,
        )],
    });
    for kind in BlockKind::ALL {
        for block_in in [BlockIn::Task, BlockIn::SpawnBlocking] {
            v.push(Spec {
                section: "ticker",
                workers: None,
                keep_alive: None,
                job: Job::Ticker(kind, block_in),
                rows: vec![(
                    format!(
                        "ticker lateness, blockers: {} {}",
                        kind.name(),
                        block_in.name()
                    ),
                    "p99",
                    Unit::Ns,
                    None,
                    false,
                )],
            });
        }
    }
    v.push(Spec {
        section: "burst",
        workers: None,
        keep_alive: Some(opts.cfg.keep_alive),
        job: Job::Burst,
        rows: vec![
            (
                format!(
                    "burst of {} × spawn_blocking(sleep 1ms)",
                    opts.cfg.burst_calls
                ),
                "time",
                Unit::Ns,
                None,
                false,
            ),
            (
                format!(
                    "runtime's threads above its pre-burst count, {} ms after the burst (keep-alive {} ms)",
                    opts.cfg.idle_wait.as_millis(),
                    opts.cfg.keep_alive.as_millis()
                ),
                "threads",
                Unit::Count,
                None,
                false,
            ),
        ],
    });
    for block_in in [BlockIn::SpawnBlocking, BlockIn::Task] {
        v.push(Spec {
            section: "mixed",
            workers: None,
            keep_alive: None,
            job: Job::Mixed(block_in),
            rows: vec![(
                format!(
                    "mixed server, 1 in 10 requests sleep 200µs {}",
                    block_in.name()
                ),
                "p99",
                Unit::Ns,
                None,
                false,
            )],
        });
    }
    v.retain(|s| opts.only.is_empty() || opts.only.iter().any(|o| s.section.contains(o.as_str())));
    v
}

impl Job {
    fn run<R: Rt>(&self, rt: &R, opts: &Options) -> Vec<(f64, String)> {
        let cfg = &opts.cfg;
        match self {
            Job::Tput(t) => {
                let s = match *t {
                    Tput::SpawnManyLocal => measure::iterations(cfg, || w::spawn_many_local(rt)),
                    Tput::RemoteIdle => measure::iterations(cfg, || w::spawn_many_remote_idle(rt)),
                    Tput::RemoteBusy1 => {
                        let _load = w::busy1(rt);
                        measure::iterations(cfg, || w::spawn_many_remote_busy1(rt))
                    }
                    Tput::RemoteBusy2 => {
                        let _load = w::busy2(rt);
                        measure::iterations(cfg, || w::spawn_many_remote_busy2(rt))
                    }
                    Tput::YieldMany => measure::iterations(cfg, || w::yield_many(rt)),
                    Tput::PingPong => measure::iterations(cfg, || w::ping_pong(rt)),
                    Tput::ChainedSpawn => measure::iterations(cfg, || w::chained_spawn(rt)),
                    Tput::SpawnBlocking(n) => {
                        measure::iterations(cfg, || w::spawn_blocking_concurrency(rt, n))
                    }
                };
                vec![(s.mean, format!("p50 {}, n={}", ns(s.p50), s.n))]
            }
            Job::Switch => unreachable!("dispatch() runs the switch without a runtime"),
            Job::RoundTrip => {
                w::blocking_round_trips(rt, cfg.round_trips / 10);
                let s = Summary::of(&mut w::blocking_round_trips(rt, cfg.round_trips));
                vec![(s.p50, format!("mean {}, p99 {}", ns(s.mean), ns(s.p99)))]
            }
            Job::RoundTripSleep => {
                let iters = cfg.round_trips / 10;
                let mut plain: Vec<u64> = (0..iters.min(2_000))
                    .map(|_| {
                        let t0 = Instant::now();
                        w::sleep_50us();
                        crate::stats::nanos(t0.elapsed())
                    })
                    .collect();
                let plain = Summary::of(&mut plain);
                let s = Summary::of(&mut w::blocking_round_trips_of(rt, iters, w::sleep_50us));
                let detail = format!(
                    "mean {}, p99 {}; the sleep alone on a plain thread: p50 {}",
                    ns(s.mean),
                    ns(s.p99),
                    ns(plain.p50)
                );
                vec![(s.p50, detail)]
            }
            Job::Ticker(kind, block_in) => {
                let setup = TickerSetup {
                    kind: *kind,
                    block_in: *block_in,
                    blockers: 2 * floor::cpus(),
                    run: cfg.ticker_run,
                    tmpdir: opts.tmpdir.clone(),
                };
                let s = Summary::of(&mut w::ticker_lateness(rt, &setup));
                vec![(
                    s.p99,
                    format!("p50 {}, max {}, ticks {}", ns(s.p50), ns(s.max), s.n),
                )]
            }
            Job::Burst => {
                let b = w::burst(rt, cfg.burst_calls, cfg.idle_wait);
                vec![
                    (
                        b.elapsed.as_nanos() as f64,
                        format!("peak {} threads of its own", b.peak),
                    ),
                    (
                        b.after as f64 - b.before as f64,
                        format!(
                            "its threads: before {}, peak {}, after {}; process: {} after",
                            b.before, b.peak, b.after, b.process_after
                        ),
                    ),
                ]
            }
            Job::Mixed(block_in) => {
                let t0 = Instant::now();
                let mut lat = w::mixed_server(rt, cfg.server_requests, 64, 10, *block_in);
                let secs = t0.elapsed().as_secs_f64();
                let s = Summary::of(&mut lat);
                let rps = s.n as f64 / secs;
                vec![(s.p99, format!("p50 {}, {:.0} req/s", ns(s.p50), rps))]
            }
        }
    }
}

fn dispatch(c: Contender, spec: &Spec, opts: &Options) -> Vec<(f64, String)> {
    if let Job::Switch = spec.job {
        return switch_figures(c.backend(), opts.cfg.round_trips);
    }
    let rs = RtSpec {
        workers: spec.workers,
        backend: c.backend(),
        keep_alive: spec.keep_alive,
    };
    match c {
        Contender::Tokio => run_on::<TokioRt>(c, spec, &rs, opts),
        #[cfg(feature = "umcg")]
        Contender::Umcg(_) => run_on::<crate::rt::UmcgRt>(c, spec, &rs, opts),
        #[cfg(not(feature = "umcg"))]
        Contender::Umcg(_) => Vec::new(),
    }
}

/// Times `n` raw server → worker → server switches on `backend` (the kernel's when `Auto`
/// finds it), after `n / 10` to warm up.
fn switch_figures(backend: UmcgBackend, n: usize) -> Vec<(f64, String)> {
    use umcg_sys::backend::{Kernel, Umcg};
    let kernel = || Kernel::detect().map(|k| &*Box::leak(Box::new(k)) as &'static dyn Umcg);
    let u = match backend {
        UmcgBackend::Kernel => kernel(),
        UmcgBackend::Emulated => Some(umcg_sys::emul::Emulated::get() as &'static dyn Umcg),
        UmcgBackend::Auto => Some(umcg_sys::backend::auto()),
    };
    let Some(u) = u else {
        return vec![(f64::NAN, "kernel UMCG not advertised".into())];
    };
    let trips = umcg_sys::measure::switch_round_trips(u, n / 10)
        .and_then(|_| umcg_sys::measure::switch_round_trips(u, n));
    match trips {
        Ok(mut t) => {
            let s = Summary::of(&mut t);
            let detail = format!("{}: mean {}, p99 {}", u.name(), ns(s.mean), ns(s.p99));
            vec![(s.p50, detail)]
        }
        Err(e) => vec![(f64::NAN, format!("failed: {e}"))],
    }
}

/// Marks the lines a child process prints for each of its job's figures.
const RESULT_TAG: &str = "UMCG-BENCH-RESULT\t";
/// Marks the line with the child's thread count after its runtime was dropped.
const THREADS_TAG: &str = "UMCG-BENCH-THREADS\t";

/// Runs job `index` in a child process (this executable with `--run-job`), so that a job's
/// threads, a hang or a crash cannot touch the jobs after it. A child running longer than the
/// job timeout is killed and its figures marked timed out.
fn run_isolated(c: Contender, index: usize, spec: &Spec, opts: &Options) -> Vec<(f64, String)> {
    let fail = |why: String| {
        eprintln!("  {}: {why}", c.label());
        spec.rows
            .iter()
            .map(|_| (f64::NAN, why.clone()))
            .collect::<Vec<_>>()
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return fail(format!("cannot find this executable: {e}")),
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--run-job")
        .arg(index.to_string())
        .arg("--contenders")
        .arg(c.label())
        .arg("--tmpdir")
        .arg(&opts.tmpdir)
        .stdout(std::process::Stdio::piped());
    if !opts.only.is_empty() {
        cmd.arg("--only").arg(opts.only.join(","));
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return fail(format!("cannot start the job process: {e}")),
    };
    let t0 = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if t0.elapsed() > opts.cfg.job_timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return fail(format!(
                    "timed out after {} s (killed)",
                    opts.cfg.job_timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(e) => return fail(format!("waiting for the job process: {e}")),
        }
    };
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = std::io::Read::read_to_string(&mut out, &mut text);
    }
    let out: Vec<(f64, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix(RESULT_TAG))
        .filter_map(|l| l.split_once('\t'))
        .map(|(v, d)| (v.parse().unwrap_or(f64::NAN), d.to_string()))
        .collect();
    if let Some(n) = text.lines().find_map(|l| l.strip_prefix(THREADS_TAG)) {
        eprintln!(
            "  ({}: {n} threads left in the job process after its runtime was dropped)",
            c.label()
        );
    }
    if out.len() == spec.rows.len() {
        out
    } else {
        fail(format!(
            "the job process ended ({status}) without its figures"
        ))
    }
}

/// The child side of [`run_isolated`]: runs job `index` of the selected jobs on the one
/// contender in `opts` and prints its figures for the parent.
pub fn run_job(opts: &Options, index: usize) {
    let specs = specs(opts);
    let (Some(spec), Some(&c)) = (specs.get(index), opts.contenders.first()) else {
        eprintln!("report: no job {index}");
        std::process::exit(2);
    };
    for (v, d) in dispatch(c, spec, opts) {
        println!("{RESULT_TAG}{v}\t{}", d.replace(['\t', '\n'], " "));
    }
    println!("{THREADS_TAG}{}", crate::procfs::threads());
}

/// Builds the runtime and runs the job. A runtime that cannot be built, or a job that panics,
/// fills the job's figures with NaN and the reason, which the table shows.
fn run_on<R: Rt>(c: Contender, spec: &Spec, rs: &RtSpec, opts: &Options) -> Vec<(f64, String)> {
    let rt = match R::build(rs) {
        Ok(rt) => rt,
        Err(e) => {
            let msg = format!("runtime not built: {e}");
            eprintln!("  {}: {msg}", c.label());
            return spec.rows.iter().map(|_| (f64::NAN, msg.clone())).collect();
        }
    };
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| spec.job.run(&rt, opts)));
    match run {
        Ok(out) => out,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("panic");
            let msg = format!("failed: {}", msg.lines().next().unwrap_or(""));
            eprintln!("  {}: {msg}", c.label());
            spec.rows.iter().map(|_| (f64::NAN, msg.clone())).collect()
        }
    }
}

/// Combines repeated runs of one figure: the median headline, its spread, and the detail of the
/// run closest to the median.
fn combine(runs: &[(f64, String)], repeated: bool) -> Figure {
    if let Some((v, d)) = runs.iter().find(|(v, _)| v.is_nan()) {
        return Figure {
            value: *v,
            spread: None,
            detail: d.clone(),
        };
    }
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|&a, &b| runs[a].0.total_cmp(&runs[b].0));
    let mid = order[order.len() / 2];
    let (lo, hi) = (runs[order[0]].0, runs[order[order.len() - 1]].0);
    let med = runs[mid].0;
    Figure {
        value: med,
        spread: (repeated && med > 0.0).then(|| (hi - lo) / med),
        detail: runs[mid].1.clone(),
    }
}

/// Runs every selected job on every available contender and appends the rows to `progress`.
pub fn rows(opts: &Options, progress: &Mutex<Progress>) {
    for (index, spec) in specs(opts).into_iter().enumerate() {
        let mut runs: Vec<Vec<Vec<(f64, String)>>> = vec![Vec::new(); opts.contenders.len()];
        // The raw switch has no tokio counterpart.
        let umcg_only = matches!(spec.job, Job::Switch);
        for _ in 0..opts.repeat.max(1) {
            for (i, &c) in opts.contenders.iter().enumerate() {
                if c.available() && !(umcg_only && c == Contender::Tokio) {
                    let job = format!("`{}` on {}", spec.rows[0].0, c.label());
                    progress.lock().expect("progress").current = Some((job, Instant::now()));
                    let out = run_isolated(c, index, &spec, opts);
                    for (r, (v, d)) in spec.rows.iter().zip(&out) {
                        eprintln!(
                            "  {:<58} {:<14} {:>12}  {d}",
                            r.0,
                            c.label(),
                            fmt_value(*v, r.2)
                        );
                    }
                    runs[i].push(out);
                    if c.uses_emulation() {
                        std::thread::sleep(PERF_HOOKS_OFF);
                    }
                }
            }
        }
        for (k, (name, headline, unit, crit, vs_floor)) in spec.rows.into_iter().enumerate() {
            let figures = runs
                .iter()
                .map(|per_rep| {
                    let vals: Vec<(f64, String)> = per_rep
                        .iter()
                        .filter_map(|out| out.get(k).cloned())
                        .collect();
                    (!vals.is_empty()).then(|| combine(&vals, opts.repeat > 1))
                })
                .collect();
            progress.lock().expect("progress").rows.push(Row {
                section: spec.section,
                name,
                headline,
                unit,
                criterion: crit,
                figures,
                vs_floor,
            });
        }
    }
}

/// Formats a headline value.
pub fn fmt_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Ns => ns(v),
        Unit::Count => format!("{v:.0}"),
    }
}

/// Measures the futex floor (same CPU, and across two CPUs when there are two).
pub fn floor(opts: &Options) -> Floor {
    let cpus = floor::allowed_cpus();
    let iters = opts.cfg.floor_iters;
    let pick = |a: usize, b: usize| {
        let mut runs: Vec<Summary> = (0..opts.repeat.max(1))
            .map(|_| Summary::of(&mut floor::futex_round_trips(a, b, iters)))
            .collect();
        runs.sort_by(|x, y| x.p50.total_cmp(&y.p50));
        let spread = (runs.len() > 1)
            .then(|| (runs[runs.len() - 1].p50 - runs[0].p50) / runs[runs.len() / 2].p50);
        (runs[runs.len() / 2], spread)
    };
    let (same_cpu, same_spread) = pick(cpus[0], cpus[0]);
    eprintln!("  futex round trip, same CPU: {same_cpu}");
    let cross = (cpus.len() > 1).then(|| pick(cpus[0], cpus[1]));
    if let Some((c, _)) = &cross {
        eprintln!("  futex round trip, cross CPU: {c}");
    }
    Floor {
        same_cpu,
        same_spread,
        cross_cpu: cross.map(|c| c.0),
        cross_spread: cross.and_then(|c| c.1),
    }
}
