//! The smallest program: `#[umcg::main]`, a spawned task, a blocking closure, a timer.
//!
//! `cargo run -p examples --example hello`

use std::time::Duration;

#[umcg::main]
async fn main() {
    let greeting = umcg::spawn(async { "hello" });
    let host = umcg::spawn_blocking(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "world".to_string())
    });
    umcg::time::sleep(Duration::from_millis(1)).await;
    let (greeting, host) = (greeting.await.unwrap(), host.await.unwrap());
    let backend = umcg::runtime::Handle::current().metrics().backend;
    println!("{greeting} from {host} (UMCG backend: {backend})");
}
