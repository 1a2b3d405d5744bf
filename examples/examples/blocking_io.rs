//! Plain blocking I/O inside async tasks: files, sleeps and pipes, with no `spawn_blocking`.
//!
//! On UMCG, a task that blocks its thread in a syscall hands its server to another worker, so
//! the ticker task below keeps ticking on a single server while the others block.
//!
//! `cargo run -p examples --example blocking_io`

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pipe() -> std::io::Result<(std::fs::File, std::fs::File)> {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) writes two fresh fds into the array.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds are fresh and owned by nobody else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((r.into(), w.into()))
}

#[umcg::main(servers = 1)]
async fn main() {
    let start = Instant::now();
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = ticks.clone();
    let ticker = umcg::spawn(async move {
        for _ in 0..20 {
            umcg::time::sleep(Duration::from_millis(10)).await;
            t.fetch_add(1, SeqCst);
        }
    });

    // A task that sleeps the blocking way.
    let sleeper = umcg::spawn(async {
        std::thread::sleep(Duration::from_millis(150));
        "slept 150 ms in std::thread::sleep"
    });

    // A task that writes and reads a file with std::fs.
    let file = umcg::spawn(async {
        let path = std::env::temp_dir().join(format!("umcg-blocking-io-{}", std::process::id()));
        std::fs::write(&path, b"written by a task").unwrap();
        let back = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        back
    });

    // Two tasks talking through a pipe with blocking reads and writes.
    let (mut r, mut w) = pipe().expect("pipe");
    let reader = umcg::spawn(async move {
        let mut buf = String::new();
        r.read_to_string(&mut buf).unwrap();
        buf
    });
    let writer = umcg::spawn(async move {
        for i in 0..3 {
            std::thread::sleep(Duration::from_millis(20));
            writeln!(w, "line {i}").unwrap();
        }
    });

    writer.await.unwrap();
    println!("pipe: {:?}", reader.await.unwrap());
    println!("file: {}", file.await.unwrap());
    println!("sleeper: {}", sleeper.await.unwrap());
    ticker.await.unwrap();
    println!(
        "ticker: {} ticks while the others blocked ({:?} in all, 1 server)",
        ticks.load(SeqCst),
        start.elapsed()
    );
}
