//! The report: runs every workload on every contender, interleaved workload by workload, and
//! renders a markdown table with ratios to tokio and to the same-CPU futex floor, plus the
//! targets from the issue marked met or missed.

mod jobs;
mod render;
mod targets;

pub use jobs::Contender;
pub use render::write_section;

use crate::config::Config;
use crate::stats::Summary;
use std::path::PathBuf;

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
}

/// Runs everything the options select and returns the results.
pub fn run(opts: Options) -> Results {
    let floor = jobs::floor(&opts);
    let rows = jobs::rows(&opts);
    Results { opts, floor, rows }
}

/// Renders the results as markdown.
pub fn markdown(r: &Results) -> String {
    render::markdown(r)
}
