//! Thread counts read from `/proc/self/task`, and a sampler that records their peak.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The number of threads of this process.
pub fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

/// The number of threads of this process whose name (`comm`, at most 15 bytes) is `name`.
pub fn threads_named(name: &str) -> usize {
    let name = &name.as_bytes()[..name.len().min(15)];
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter(|t| {
            std::fs::read(t.path().join("comm"))
                .is_ok_and(|c| c.strip_suffix(b"\n").unwrap_or(&c) == name)
        })
        .count()
}

/// A thread that polls [`threads_named`] every millisecond and keeps the largest value seen.
pub struct PeakSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicUsize>,
    handle: Option<JoinHandle<()>>,
}

impl PeakSampler {
    /// Starts sampling the threads named `name`.
    pub fn start(name: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicUsize::new(threads_named(name)));
        let name = name.to_string();
        let handle = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(threads_named(&name), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        };
        PeakSampler {
            stop,
            peak,
            handle: Some(handle),
        }
    }

    /// Stops sampling and returns the peak.
    pub fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().expect("thread sampler panicked");
        }
        self.peak.load(Ordering::Relaxed)
    }
}
