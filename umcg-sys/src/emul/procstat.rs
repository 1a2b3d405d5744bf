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
