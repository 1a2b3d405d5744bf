//! Summaries of per-iteration latencies.

use std::fmt;
use std::time::Duration;

/// Mean and percentiles of a set of nanosecond samples.
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Arithmetic mean, ns.
    pub mean: f64,
    /// Median, ns.
    pub p50: f64,
    /// 99th percentile, ns.
    pub p99: f64,
    /// Largest sample, ns.
    pub max: f64,
}

impl Summary {
    /// Summarizes `samples` (nanoseconds); sorts them in place.
    pub fn of(samples: &mut [u64]) -> Self {
        if samples.is_empty() {
            return Summary::default();
        }
        samples.sort_unstable();
        let n = samples.len();
        let at = |q: f64| samples[((n as f64 - 1.0) * q).round() as usize] as f64;
        Summary {
            n,
            mean: samples.iter().map(|&s| s as f64).sum::<f64>() / n as f64,
            p50: at(0.50),
            p99: at(0.99),
            max: samples[n - 1] as f64,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mean {} p50 {} p99 {} max {} (n={})",
            ns(self.mean),
            ns(self.p50),
            ns(self.p99),
            ns(self.max),
            self.n
        )
    }
}

/// Formats a nanosecond figure with a unit that keeps three significant digits.
pub fn ns(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.3} s", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.3} ms", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.2} µs", v / 1e3)
    } else {
        format!("{v:.0} ns")
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX`.
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
