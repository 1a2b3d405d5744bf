//! Run lengths, chosen from the environment: `BENCH_QUICK=1` selects short smoke runs.

use std::time::Duration;

/// How long each measurement runs and how large the blocking-specific workloads are.
#[derive(Clone, Debug)]
pub struct Config {
    /// `BENCH_QUICK=1`: short measurement times, for smoke runs.
    pub quick: bool,
    /// Warm-up time before a measured loop.
    pub warm_up: Duration,
    /// Target measuring time of one throughput workload.
    pub measure: Duration,
    /// Iterations of the sequential `spawn_blocking` round trip.
    pub round_trips: usize,
    /// Iterations of each futex floor measurement.
    pub floor_iters: usize,
    /// How long the ticker runs beside the blocking tasks.
    pub ticker_run: Duration,
    /// Number of calls in the blocking burst.
    pub burst_calls: usize,
    /// The idle timeout both runtimes are built with for the burst (`BENCH_KEEP_ALIVE_MS`,
    /// default 1 s; both default to 10 s otherwise).
    pub keep_alive: Duration,
    /// How long to wait after the burst before counting threads again (`BENCH_IDLE_WAIT_MS`,
    /// default the keep-alive + 2 s).
    pub idle_wait: Duration,
    /// Requests served by the mixed server.
    pub server_requests: usize,
    /// A job (one workload on one runtime) running longer than this is abandoned, its figures
    /// marked timed out (`BENCH_JOB_TIMEOUT_S`; 300 s, 900 s in full mode).
    pub job_timeout: Duration,
}

impl Config {
    /// Reads `BENCH_QUICK`, `BENCH_KEEP_ALIVE_MS` and `BENCH_IDLE_WAIT_MS`.
    pub fn from_env() -> Self {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let ms = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let keep_alive_ms = ms("BENCH_KEEP_ALIVE_MS", 1_000);
        let idle_ms = ms("BENCH_IDLE_WAIT_MS", keep_alive_ms + 2_000);
        let (warm_up, measure) = if quick {
            (Duration::from_millis(100), Duration::from_millis(400))
        } else {
            (Duration::from_millis(1_000), Duration::from_secs(4))
        };
        Config {
            quick,
            warm_up,
            measure,
            round_trips: if quick { 3_000 } else { 50_000 },
            floor_iters: if quick { 20_000 } else { 200_000 },
            ticker_run: Duration::from_millis(if quick { 500 } else { 3_000 }),
            burst_calls: 10_000,
            keep_alive: Duration::from_millis(keep_alive_ms),
            idle_wait: Duration::from_millis(idle_ms),
            server_requests: if quick { 2_000 } else { 20_000 },
            job_timeout: Duration::from_secs(ms(
                "BENCH_JOB_TIMEOUT_S",
                if quick { 300 } else { 900 },
            )),
        }
    }

    /// Applies the run lengths to a criterion group.
    pub fn criterion_group<M: criterion::measurement::Measurement>(
        &self,
        group: &mut criterion::BenchmarkGroup<'_, M>,
    ) {
        group.warm_up_time(self.warm_up);
        group.measurement_time(self.measure);
        group.sample_size(10);
    }
}
