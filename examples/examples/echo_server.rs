//! A TCP echo server written with *blocking* std sockets, one task per connection.
//!
//! Every `accept`, `read` and `write` blocks its worker thread; on UMCG the server hands the
//! executor loop to another worker each time, so one task per connection is enough, with no
//! async I/O library at all.
//!
//! ```text
//! cargo run -p examples --example echo_server                  # serve on 127.0.0.1:7878
//! cargo run -p examples --example echo_server -- --addr 127.0.0.1:9000
//! cargo run -p examples --example echo_server -- --selftest 100 # 100 clients, then exit
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Instant;

/// Messages each self-test client sends.
const ROUNDS: usize = 20;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut addr = "127.0.0.1:7878".to_string();
    let mut selftest = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--addr" => addr = it.next().expect("--addr needs a value").clone(),
            "--selftest" => {
                let n = it.next().expect("--selftest needs a count");
                selftest = Some(n.parse::<usize>().expect("--selftest needs a number"));
                addr = "127.0.0.1:0".to_string();
            }
            other => panic!("unknown argument {other:?} (use --addr A or --selftest N)"),
        }
    }
    let rt = umcg::runtime::Runtime::new().expect("runtime");
    let listener = TcpListener::bind(&addr).expect("bind");
    let local = listener.local_addr().unwrap();
    rt.spawn(serve(listener));
    match selftest {
        None => {
            println!(
                "echo server on {local} (backend {})",
                rt.handle().metrics().backend
            );
            rt.block_on(std::future::pending::<()>());
        }
        Some(n) => {
            let start = Instant::now();
            let ok = rt.block_on(clients(local, n));
            let m = rt.handle().metrics();
            println!(
                "selftest: {ok}/{n} clients x {ROUNDS} echoes in {:?} ({} workers, backend {})",
                start.elapsed(),
                m.workers,
                m.backend
            );
            assert_eq!(ok, n, "some clients failed");
        }
    }
}

/// Accepts forever, one task per connection.
async fn serve(listener: TcpListener) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                umcg::spawn(async move {
                    if let Err(e) = echo(stream) {
                        eprintln!("connection: {e}");
                    }
                });
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
}

/// Echoes lines until the peer closes.
fn echo(stream: TcpStream) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    for line in BufReader::new(stream).lines() {
        let mut line = line?;
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// `n` concurrent clients; returns how many got every echo back.
async fn clients(addr: SocketAddr, n: usize) -> usize {
    let handles: Vec<_> = (0..n)
        .map(|i| umcg::spawn(async move { client(addr, i) }))
        .collect();
    let mut ok = 0;
    for h in handles {
        match h.await {
            Ok(Ok(())) => ok += 1,
            Ok(Err(e)) => eprintln!("client: {e}"),
            Err(e) => eprintln!("client task: {e}"),
        }
    }
    ok
}

fn client(addr: SocketAddr, id: usize) -> std::io::Result<()> {
    let stream = TcpStream::connect(addr)?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream).lines();
    for round in 0..ROUNDS {
        let msg = format!("client {id} round {round}");
        writeln!(out, "{msg}")?;
        let back = lines
            .next()
            .ok_or_else(|| std::io::Error::other("connection closed early"))??;
        if back != msg {
            return Err(std::io::Error::other(format!(
                "echoed {back:?}, sent {msg:?}"
            )));
        }
    }
    Ok(())
}
