//! The report's own measuring loop, used where criterion is not (the guest, and the table).

use crate::config::Config;
use crate::stats::{nanos, Summary};
use std::time::Instant;

/// Runs `f` for the warm-up time, then repeatedly for the measuring time (at least 5 times),
/// and summarizes the time of each run.
pub fn iterations(cfg: &Config, mut f: impl FnMut()) -> Summary {
    let t0 = Instant::now();
    while t0.elapsed() < cfg.warm_up {
        f();
    }
    let mut samples = Vec::new();
    let t0 = Instant::now();
    while samples.len() < 5 || t0.elapsed() < cfg.measure {
        let t = Instant::now();
        f();
        samples.push(nanos(t.elapsed()));
    }
    Summary::of(&mut samples)
}
