//! A burst of 10,000 blocking calls leaves at most the configured threads once idle workers
//! retire (counted in /proc/self/task), and never more than `max_workers` at once.

mod support;

use std::time::{Duration, Instant};

use support::each_backend;

#[test]
fn burst_of_ten_thousand_blocking_calls_retires_threads() {
    each_backend(|b| {
        let before = support::thread_count();
        let rt = support::builder(b)
            .max_workers(16)
            .thread_keep_alive(Duration::from_millis(200))
            .build()
            .unwrap();
        let handles: Vec<_> = (0..10_000u32)
            .map(|i| {
                rt.spawn_blocking(move || {
                    if i % 10 == 0 {
                        // A real block: the driver hands over to another worker.
                        std::thread::sleep(Duration::from_micros(200));
                    }
                    i
                })
            })
            .collect();
        let mut peak = 0;
        let sum: u64 = rt.block_on(async {
            let mut s = 0u64;
            for h in handles {
                s += h.await.unwrap() as u64;
                peak = peak.max(umcg::runtime::Handle::current().metrics().workers);
            }
            s
        });
        assert_eq!(sum, (0..10_000u64).sum());
        assert!(peak <= 16, "{peak} workers at once, limit 16");
        // Servers (2) + one worker per server + monitor + spawner, once idle workers retired.
        let limit = before + 2 + 2 + 1 + 1;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = support::thread_count();
            if now <= limit {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{now} threads 30 s after the burst (allowed {limit})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}
