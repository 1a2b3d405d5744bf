//! The report: runs every workload on every contender, interleaved workload by workload, and
//! renders a markdown table with ratios to tokio and to the same-CPU futex floor, plus the
//! targets from the issue marked met or missed.

mod jobs;
mod render;
mod targets;

pub use jobs::{run_job, Contender};
pub use render::write_section;

use crate::config::Config;
use crate::stats::Summary;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What to run and how to label it.
#[derive(Clone, Debug)]
pub struct Options {
    /// Run lengths.
    pub cfg: Config,
    /// Runtimes measured side by side; the first must be tokio for the ratios.
    pub contenders: Vec<Contender>,
    /// Where criterion saved its estimates, to print its means beside the report's.
    pub criterion_dir: Option<PathBuf>,
    /// Where the numbers come from: `host`, `guest -smp 1 -icount shift=0`, ...
    pub place: String,
    /// What was built: the commit, and whether the working tree had changes.
    pub source: String,
    /// Directory for the file-read workload's data file.
    pub tmpdir: PathBuf,
    /// Each measurement is repeated this many times; the table shows the median and the spread.
    pub repeat: usize,
    /// Only run sections whose name contains one of these words (all when empty).
    pub only: Vec<String>,
}

/// A measured figure: the headline used for ratios, plus detail for the table.
#[derive(Clone, Debug)]
pub struct Figure {
    /// The headline value: ns for times, a count for thread counts.
    pub value: f64,
    /// (max − min) / median of the headline over the repeats, when repeated.
    pub spread: Option<f64>,
    /// Extra figures (percentiles, thread counts) for the table.
    pub detail: String,
}

/// How a row's headline is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds; lower is better.
    Ns,
    /// A count; lower is better.
    Count,
}

/// One row of the results table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Section heading the row belongs to.
    pub section: &'static str,
    /// The bench's name (tokio's, where the bench is tokio's).
    pub name: String,
    /// What the headline is (`mean/iter`, `p50`, ...).
    pub headline: &'static str,
    /// Unit of the headline.
    pub unit: Unit,
    /// Criterion's id prefix (`group/function`), the contender label is appended.
    pub criterion: Option<String>,
    /// One figure per contender, in [`Options::contenders`] order.
    pub figures: Vec<Option<Figure>>,
    /// Whether the row is also compared with the same-CPU futex floor.
    pub vs_floor: bool,
}

/// The floor, measured once per report.
#[derive(Clone, Copy, Debug, Default)]
pub struct Floor {
    /// Same-CPU futex round trip.
    pub same_cpu: Summary,
    /// Spread of the same-CPU p50 over the repeats.
    pub same_spread: Option<f64>,
    /// Cross-CPU futex round trip (absent on one CPU).
    pub cross_cpu: Option<Summary>,
    /// Spread of the cross-CPU p50 over the repeats.
    pub cross_spread: Option<f64>,
}

/// Everything one report run measured.
#[derive(Clone, Debug)]
pub struct Results {
    /// The options it ran with.
    pub opts: Options,
    /// The floor.
    pub floor: Floor,
    /// The rows, in run order.
    pub rows: Vec<Row>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
}

/// Rows finished so far and the job running now, shared with the watchdog.
#[derive(Default)]
pub struct Progress {
    /// Finished rows.
    pub rows: Vec<Row>,
    /// The running job and when it started.
    pub current: Option<(String, Instant)>,
}

/// Runs everything the options select and returns the results. A job running longer than the
/// job timeout is abandoned (its figures say so); if the report itself makes no progress for
/// twice that, `on_timeout` gets the results so far and the process exits with status 3.
pub fn run(opts: Options, on_timeout: fn(&Results)) -> Results {
    let floor = jobs::floor(&opts);
    let progress = Arc::new(Mutex::new(Progress::default()));
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (opts, progress, done) = (opts.clone(), progress.clone(), done.clone());
        std::thread::spawn(move || watch(opts, floor, &progress, &done, on_timeout))
    };
    jobs::rows(&opts, &progress);
    done.store(true, Ordering::Relaxed);
    watchdog.join().expect("watchdog panicked");
    let rows = std::mem::take(&mut progress.lock().expect("progress").rows);
    Results {
        opts,
        floor,
        rows,
        stopped: None,
    }
}

fn watch(
    opts: Options,
    floor: Floor,
    p: &Mutex<Progress>,
    done: &AtomicBool,
    on_timeout: fn(&Results),
) {
    // Each job has its own timeout (a hung job is abandoned and the report goes on); this is
    // the last resort if even that does not return.
    let limit = opts.cfg.job_timeout * 2 + Duration::from_secs(60);
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        let g = p.lock().expect("progress");
        if let Some((job, t0)) = &g.current {
            if t0.elapsed() > limit {
                let results = Results {
                    stopped: Some(format!(
                        "{job} ran longer than {} s; later rows are missing",
                        limit.as_secs()
                    )),
                    opts,
                    floor,
                    rows: g.rows.clone(),
                };
                eprintln!("report: {}", results.stopped.as_deref().unwrap_or(""));
                on_timeout(&results);
                std::process::exit(3);
            }
        }
    }
}

/// Renders the results as markdown.
pub fn markdown(r: &Results) -> String {
    render::markdown(r)
}
