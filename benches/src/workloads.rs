//! The workloads, each written once over [`Rt`] so tokio and umcg run identical code.
//!
//! The first group ports tokio's own benches with tokio's parameters (`rt_multi_threaded.rs`:
//! 4 workers, 10,000 spawns, 200 tasks × 1,000 yields, 1,000 ping-pongs, a chain of 1,000;
//! `spawn_blocking.rs`: N spawners × 100 batches × 16 no-op calls). The second group is
//! blocking-specific: the sequential round trip, the lateness other tasks see while tasks
//! block, a burst of blocking calls, and a server where a share of requests block.

use crate::procfs::{self, PeakSampler};
use crate::rt::Rt;
use crate::stats::nanos;
use futures::channel::{mpsc as fmpsc, oneshot};
use futures::StreamExt;
use std::hint::black_box;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Worker threads (servers) of tokio's `rt_multi_threaded` benches.
pub const NUM_WORKERS: usize = 4;
/// Tasks spawned by the `spawn_many_*` benches.
pub const NUM_SPAWN: usize = 10_000;
/// Remote spawns per iteration of `spawn_many_remote_busy2`.
pub const NUM_SPAWN_BUSY2: usize = 1_000;
/// CPU time a busy task burns between yields.
pub const STALL: Duration = Duration::from_micros(10);
/// Spawner counts of tokio's `spawn_blocking` bench.
pub const SPAWNERS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];
/// Batches each spawner runs.
pub const NUM_BATCHES: usize = 100;
/// No-op `spawn_blocking` calls per batch.
pub const BATCH_SIZE: usize = 16;

/// Spins (yielding the thread) for [`STALL`], as tokio's busy benches do.
fn stall() {
    let t0 = Instant::now();
    while t0.elapsed() < STALL {
        std::thread::yield_now();
    }
}

/// `spawn_many_local`: 10,000 spawns from inside the runtime; the last task signals a std
/// channel that `block_on` waits on.
pub fn spawn_many_local<R: Rt>(rt: &R) {
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(NUM_SPAWN));
    rt.block_on(async {
        for _ in 0..NUM_SPAWN {
            let (tx, rem) = (tx.clone(), rem.clone());
            drop(R::spawn(async move {
                if rem.fetch_sub(1, Relaxed) == 1 {
                    tx.send(()).expect("send");
                }
            }));
        }
        rx.recv().expect("recv");
    });
}

/// `spawn_many_remote_idle`: 10,000 spawns from outside onto an idle runtime, then all are
/// awaited.
pub fn spawn_many_remote_idle<R: Rt>(rt: &R) {
    spawn_remote_and_join(rt, NUM_SPAWN);
}

fn spawn_remote_and_join<R: Rt>(rt: &R, n: usize) {
    let handles: Vec<_> = (0..n).map(|_| rt.spawn_remote(async {})).collect();
    rt.block_on(async {
        for h in handles {
            h.await;
        }
    });
}

/// Background load for the `spawn_many_remote_busy*` benches; stops when dropped.
pub struct Busy {
    flag: Arc<AtomicBool>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.flag.store(false, Relaxed);
    }
}

/// `busy1` load: 2 × workers tasks that loop `yield_now` + a 10 µs stall.
pub fn busy1<R: Rt>(rt: &R) -> Busy {
    let flag = Arc::new(AtomicBool::new(true));
    for _ in 0..2 * NUM_WORKERS {
        let flag = flag.clone();
        drop(rt.spawn_remote(async move {
            while flag.load(Relaxed) {
                R::yield_now().await;
                stall();
            }
        }));
    }
    Busy { flag }
}

/// `busy2` load: workers-many chains of tasks that each stall 10 µs and spawn the next.
pub fn busy2<R: Rt>(rt: &R) -> Busy {
    fn next<R: Rt>(flag: Arc<AtomicBool>) {
        drop(R::spawn(async move {
            if flag.load(Relaxed) {
                stall();
                next::<R>(flag);
            }
        }));
    }
    let flag = Arc::new(AtomicBool::new(true));
    for _ in 0..NUM_WORKERS {
        let flag = flag.clone();
        drop(rt.spawn_remote(async move { next::<R>(flag) }));
    }
    Busy { flag }
}

/// `spawn_many_remote_busy1`: 10,000 remote spawns while [`busy1`] runs.
pub fn spawn_many_remote_busy1<R: Rt>(rt: &R) {
    spawn_remote_and_join(rt, NUM_SPAWN);
}

/// `spawn_many_remote_busy2`: 1,000 remote spawns while [`busy2`] runs.
pub fn spawn_many_remote_busy2<R: Rt>(rt: &R) {
    spawn_remote_and_join(rt, NUM_SPAWN_BUSY2);
}

/// `yield_many`: 200 tasks × 1,000 `yield_now`, spawned from outside.
pub fn yield_many<R: Rt>(rt: &R) {
    const TASKS: usize = 200;
    const YIELDS: usize = 1_000;
    let (tx, rx) = mpsc::sync_channel(TASKS);
    for _ in 0..TASKS {
        let tx = tx.clone();
        drop(rt.spawn_remote(async move {
            for _ in 0..YIELDS {
                R::yield_now().await;
            }
            tx.send(()).expect("send");
        }));
    }
    for _ in 0..TASKS {
        rx.recv().expect("recv");
    }
}

/// `ping_pong`: 1,000 tasks, each spawning a peer and exchanging two oneshot messages with it.
pub fn ping_pong<R: Rt>(rt: &R) {
    const PINGS: usize = 1_000;
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(PINGS));
    rt.block_on(async {
        drop(R::spawn(async move {
            for _ in 0..PINGS {
                let (rem, done_tx) = (rem.clone(), done_tx.clone());
                drop(R::spawn(async move {
                    let (tx1, rx1) = oneshot::channel::<()>();
                    let (tx2, rx2) = oneshot::channel::<()>();
                    drop(R::spawn(async move {
                        rx1.await.expect("ping");
                        tx2.send(()).expect("pong");
                    }));
                    tx1.send(()).expect("ping");
                    rx2.await.expect("pong");
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        done_tx.send(()).expect("done");
                    }
                }));
            }
        }));
        done_rx.recv().expect("recv");
    });
}

/// `chained_spawn`: a chain of 1,000 tasks, each spawning the next.
pub fn chained_spawn<R: Rt>(rt: &R) {
    const CHAIN: usize = 1_000;
    fn link<R: Rt>(done: mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done.send(()).expect("done");
        } else {
            drop(R::spawn(async move { link::<R>(done, n - 1) }));
        }
    }
    let (tx, rx) = mpsc::sync_channel(1);
    rt.block_on(async {
        drop(R::spawn(async move { link::<R>(tx, CHAIN) }));
        rx.recv().expect("recv");
    });
}

/// tokio's `spawn_blocking` bench: `spawners` tasks, each running 100 batches of 16 no-op
/// `spawn_blocking` calls and awaiting every batch before the next.
pub fn spawn_blocking_concurrency<R: Rt>(rt: &R, spawners: usize) {
    rt.block_on(async {
        let tasks: Vec<_> = (0..spawners)
            .map(|_| {
                R::spawn(async {
                    for _ in 0..NUM_BATCHES {
                        let batch: Vec<_> = (0..BATCH_SIZE)
                            .map(|_| R::spawn_blocking(|| black_box(0)))
                            .collect();
                        for call in batch {
                            call.await;
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await;
        }
    });
}

/// Sequential `spawn_blocking(no-op).await` from inside a task; returns each round trip in ns.
pub fn blocking_round_trips<R: Rt>(rt: &R, iters: usize) -> Vec<u64> {
    blocking_round_trips_of(rt, iters, || {
        black_box(1u64);
    })
}

/// Sequential `spawn_blocking(call).await` from inside a task; returns each round trip in ns.
pub fn blocking_round_trips_of<R: Rt>(rt: &R, iters: usize, call: fn()) -> Vec<u64> {
    rt.block_on(async move {
        R::spawn(async move {
            let mut lat = Vec::with_capacity(iters);
            for _ in 0..iters {
                let t0 = Instant::now();
                R::spawn_blocking(call).await;
                lat.push(nanos(t0.elapsed()));
            }
            lat
        })
        .await
    })
}

/// The short blocking call of the sleeping round trip: `thread::sleep(50 µs)`.
pub fn sleep_50us() {
    std::thread::sleep(Duration::from_micros(50));
}

/// The blocking call the blockers make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// `thread::sleep(1 ms)`.
    Sleep,
    /// `read` of one byte from a pipe that a feeder thread writes every millisecond.
    PipeRead,
    /// A 64 KiB `pread` of a file whose pages were just dropped from the page cache.
    FileRead,
}

impl BlockKind {
    /// All kinds, in table order.
    pub const ALL: [BlockKind; 3] = [BlockKind::Sleep, BlockKind::PipeRead, BlockKind::FileRead];

    /// Short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            BlockKind::Sleep => "sleep 1ms",
            BlockKind::PipeRead => "pipe read",
            BlockKind::FileRead => "file read 64KiB",
        }
    }
}

/// Where the blockers make their blocking call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockIn {
    /// Directly inside the async task (the tokio#4730 scenario).
    Task,
    /// Through `spawn_blocking(..).await`.
    SpawnBlocking,
}

impl BlockIn {
    /// Short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            BlockIn::Task => "in task",
            BlockIn::SpawnBlocking => "spawn_blocking",
        }
    }
}

mod blockers;
pub use blockers::{ticker_lateness, TickerSetup};

/// What a burst of blocking calls did to the runtime's thread count.
#[derive(Clone, Copy, Debug)]
pub struct BurstResult {
    /// Time from the first call to the last completion.
    pub elapsed: Duration,
    /// The runtime's threads before the burst, idle after a small one (see [`burst`]).
    pub before: usize,
    /// Most of the runtime's threads seen during the burst.
    pub peak: usize,
    /// The runtime's threads after the idle wait.
    pub after: usize,
    /// All threads of the process after the idle wait (other runtimes' leftovers included).
    pub process_after: usize,
    /// How long the idle wait was.
    pub idle_wait: Duration,
}

/// A burst of `calls` concurrent `spawn_blocking(sleep 1 ms)` calls from one task; counts the
/// runtime's own threads (by their unique name) before, at the peak, and `idle_wait` after.
///
/// "Before" is the runtime's idle steady state: a burst of `calls / 100` first, then the idle
/// wait. Right after the build it would depend on which servers had run anything yet (a umcg
/// server starts the one worker it keeps at its first switch, so a runtime fresh from one
/// round trip could count one worker for two servers).
pub fn burst<R: Rt>(rt: &R, calls: usize, idle_wait: Duration) -> BurstResult {
    rt.block_on(sleep_burst::<R>(calls / 100));
    std::thread::sleep(idle_wait);
    let name = rt.thread_name().to_string();
    let before = procfs::threads_named(&name);
    let sampler = PeakSampler::start(&name);
    let t0 = Instant::now();
    rt.block_on(sleep_burst::<R>(calls));
    let elapsed = t0.elapsed();
    let peak = sampler.finish();
    std::thread::sleep(idle_wait);
    BurstResult {
        elapsed,
        before,
        peak,
        after: procfs::threads_named(&name),
        process_after: procfs::threads(),
        idle_wait,
    }
}

/// `calls` concurrent `spawn_blocking(sleep 1 ms)` calls from one spawned task, all awaited.
async fn sleep_burst<R: Rt>(calls: usize) {
    R::spawn(async move {
        let calls: Vec<_> = (0..calls)
            .map(|_| R::spawn_blocking(|| std::thread::sleep(Duration::from_millis(1))))
            .collect();
        for c in calls {
            c.await;
        }
    })
    .await
}

/// The mixed server: `clients` tasks each send requests one after another; a request is a
/// spawned handler task doing a little CPU work and a yield, and every `block_every`-th
/// request also makes a 200 µs blocking call. Returns each request's latency in ns.
pub fn mixed_server<R: Rt>(
    rt: &R,
    requests: usize,
    clients: usize,
    block_every: usize,
    block_in: BlockIn,
) -> Vec<u64> {
    let per_client = requests / clients;
    rt.block_on(async move {
        let clients: Vec<_> = (0..clients)
            .map(|c| {
                R::spawn(async move {
                    let mut lat = Vec::with_capacity(per_client);
                    for i in 0..per_client {
                        let blocks = (c * per_client + i) % block_every == 0;
                        let t0 = Instant::now();
                        R::spawn(handle::<R>(blocks, block_in)).await;
                        lat.push(nanos(t0.elapsed()));
                    }
                    lat
                })
            })
            .collect();
        let mut all = Vec::with_capacity(requests);
        for c in clients {
            all.extend(c.await);
        }
        all
    })
}

async fn handle<R: Rt>(blocks: bool, block_in: BlockIn) {
    let mut acc = 0u64;
    for i in 0..200u64 {
        acc = acc.wrapping_mul(31).wrapping_add(black_box(i));
    }
    black_box(acc);
    R::yield_now().await;
    if blocks {
        let call = || std::thread::sleep(Duration::from_micros(200));
        match block_in {
            BlockIn::Task => call(),
            BlockIn::SpawnBlocking => R::spawn_blocking(call).await,
        }
    }
}

/// A receiver of timestamps, for the ticker (re-exported for the blockers module).
type Stamps = fmpsc::UnboundedReceiver<Instant>;

async fn record_lateness(mut rx: Stamps) -> Vec<u64> {
    let mut lat = Vec::new();
    while let Some(sent) = rx.next().await {
        lat.push(nanos(sent.elapsed()));
    }
    lat
}
