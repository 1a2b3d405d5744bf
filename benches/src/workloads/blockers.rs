//! The ticker: an outside thread stamps a message every millisecond and a task records how late
//! it sees each one, while other tasks keep making blocking calls.

use super::{record_lateness, BlockIn, BlockKind};
use crate::rt::Rt;
use futures::channel::mpsc as fmpsc;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Size of the file the file-read blockers read.
const FILE_SIZE: u64 = 4 << 20;
/// Bytes per file read.
const READ_SIZE: usize = 64 << 10;
/// Period of the ticker and of the pipe feeder.
const PERIOD: Duration = Duration::from_millis(1);

/// One ticker run.
#[derive(Clone, Debug)]
pub struct TickerSetup {
    /// The blocking call.
    pub kind: BlockKind,
    /// Where the blockers make it.
    pub block_in: BlockIn,
    /// Number of blocking tasks.
    pub blockers: usize,
    /// How long the ticker runs.
    pub run: Duration,
    /// Directory for the file the file-read blockers read.
    pub tmpdir: PathBuf,
}

/// One blocker's blocking call.
enum Op {
    Sleep,
    Pipe(File),
    File(File, AtomicU64),
}

impl Op {
    fn run(&self) {
        match self {
            Op::Sleep => std::thread::sleep(PERIOD),
            Op::Pipe(f) => {
                let mut f: &File = f;
                let mut b = [0u8; 1];
                f.read_exact(&mut b).expect("pipe read");
            }
            Op::File(f, next) => {
                let off = next.fetch_add(READ_SIZE as u64, Relaxed) % FILE_SIZE;
                // SAFETY: advisory call on a valid open descriptor; no memory is passed.
                unsafe {
                    libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
                }
                let mut buf = vec![0u8; READ_SIZE];
                f.read_at(&mut buf, off).expect("file read");
            }
        }
    }
}

/// Pipe write ends fed by a thread until dropped.
struct Feeder {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Feeder {
    fn start(writers: Vec<File>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            while !flag.load(Relaxed) {
                for mut w in &writers {
                    // A pipe whose blocker already finished is closed (EPIPE): skip it.
                    let _ = w.write(b"x");
                }
                std::thread::sleep(PERIOD);
            }
        });
        Feeder {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().expect("feeder panicked");
        }
    }
}

fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just created and are owned by nobody else.
    unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
}

fn data_file(dir: &std::path::Path) -> File {
    std::fs::create_dir_all(dir).expect("tmpdir");
    let path = dir.join("ticker-read.dat");
    if std::fs::metadata(&path).map_or(true, |m| m.len() != FILE_SIZE) {
        let block = vec![0x5au8; 1 << 20];
        let mut f = File::create(&path).expect("create data file");
        for _ in 0..FILE_SIZE / (1 << 20) {
            f.write_all(&block).expect("write data file");
        }
        f.sync_all().expect("sync data file");
    }
    File::open(&path).expect("open data file")
}

/// Builds each blocker's call, and the pipe feeder when the calls read pipes.
fn ops(s: &TickerSetup) -> (Vec<Arc<Op>>, Option<Feeder>) {
    match s.kind {
        BlockKind::Sleep => ((0..s.blockers).map(|_| Arc::new(Op::Sleep)).collect(), None),
        BlockKind::PipeRead => {
            let (readers, writers): (Vec<_>, Vec<_>) = (0..s.blockers).map(|_| pipe()).unzip();
            let ops = readers.into_iter().map(|r| Arc::new(Op::Pipe(r))).collect();
            (ops, Some(Feeder::start(writers)))
        }
        BlockKind::FileRead => {
            let ops = (0..s.blockers)
                .map(|i| {
                    let f = data_file(&s.tmpdir);
                    let start = (i * READ_SIZE * 7) as u64 % FILE_SIZE;
                    Arc::new(Op::File(f, AtomicU64::new(start)))
                })
                .collect();
            (ops, None)
        }
    }
}

/// Runs the ticker beside `s.blockers` blocking tasks and returns the ticker's lateness per tick
/// in ns: the time from the outside thread's stamp to the task seeing it.
pub fn ticker_lateness<R: Rt>(rt: &R, s: &TickerSetup) -> Vec<u64> {
    let (ops, feeder) = ops(s);
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = fmpsc::unbounded::<Instant>();
    let block_in = s.block_in;
    let run = s.run;
    let lat = rt.block_on(async {
        let ticker = R::spawn(record_lateness(rx));
        let blockers: Vec<_> = ops
            .into_iter()
            .map(|op| {
                let stop = stop.clone();
                R::spawn(async move {
                    while !stop.load(Relaxed) {
                        match block_in {
                            BlockIn::Task => op.run(),
                            BlockIn::SpawnBlocking => {
                                let op = op.clone();
                                R::spawn_blocking(move || op.run()).await
                            }
                        }
                        R::yield_now().await;
                    }
                })
            })
            .collect();
        let stamper = std::thread::spawn(move || {
            let t0 = Instant::now();
            while t0.elapsed() < run {
                std::thread::sleep(PERIOD);
                if tx.unbounded_send(Instant::now()).is_err() {
                    break;
                }
            }
        });
        let lat = ticker.await;
        stop.store(true, Relaxed);
        for b in blockers {
            b.await;
        }
        stamper.join().expect("stamper panicked");
        lat
    });
    drop(feeder);
    lat
}
