//! The report's own measuring loop, used where criterion is not (the guest, and the table).

use crate::config::Config;
use crate::stats::{nanos, Summary};
use std::time::Instant;

/// Runs `f` for the warm-up time, then repeatedly for the measuring time, and summarizes the
/// time of each run. It takes at least 5 samples unless they would take more than 5 measuring
/// times (a pathologically slow runtime), and always at least 2.
pub fn iterations(cfg: &Config, mut f: impl FnMut()) -> Summary {
    let t0 = Instant::now();
    while t0.elapsed() < cfg.warm_up {
        f();
    }
    let mut samples = Vec::new();
    let t0 = Instant::now();
    loop {
        let spent = t0.elapsed();
        let enough = samples.len() >= 5 || (samples.len() >= 2 && spent > cfg.measure * 5);
        if enough && spent >= cfg.measure {
            break;
        }
        let t = Instant::now();
        f();
        samples.push(nanos(t.elapsed()));
    }
    Summary::of(&mut samples)
}
