//! The fallback block detector: the scheduler state letter of a thread, read from
//! `/proc/self/task/<tid>/stat` (one `pread` of an fd opened at registration, ~1 µs).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// An open `stat` file of one thread.
#[derive(Debug)]
pub(crate) struct ProcStat {
    file: File,
}

impl ProcStat {
    /// Opens the stat file of thread `tid` of this process.
    pub(crate) fn open(tid: u32) -> io::Result<Self> {
        Ok(Self {
            file: File::open(format!("/proc/self/task/{tid}/stat"))?,
        })
    }

    /// Whether the thread sleeps in the kernel now (`S` or `D`): `None` if it is gone.
    pub(crate) fn sleeping(&self) -> Option<bool> {
        let mut buf = [0u8; 512];
        let n = self.file.read_at(&mut buf, 0).ok()?;
        let text = &buf[..n];
        let close = text.iter().rposition(|&b| b == b')')?;
        let letter = *text.get(close + 2)?;
        Some(matches!(letter, b'S' | b'D'))
    }
}

#[cfg(test)]
mod tests {
    use super::ProcStat;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    #[test]
    fn running_thread_is_not_sleeping_and_a_blocked_one_is() {
        let me = ProcStat::open(crate::gettid()).unwrap();
        assert_eq!(me.sleeping(), Some(false), "the reader itself runs");
        let (tx, rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            tx.send(crate::gettid()).unwrap();
            let _ = done_rx.recv();
        });
        let other = ProcStat::open(rx.recv().unwrap()).unwrap();
        let end = Instant::now() + Duration::from_secs(5);
        while other.sleeping() != Some(true) {
            assert!(
                Instant::now() < end,
                "a thread blocked in recv() never showed S"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        done_tx.send(()).unwrap();
        t.join().unwrap();
    }
}
