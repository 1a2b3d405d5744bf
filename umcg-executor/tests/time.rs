//! Timers: `sleep`, `sleep_until`, `timeout`, many timers at once.

mod support;

use std::time::{Duration, Instant};

use support::each_backend;

#[test]
fn sleeps_end_in_deadline_order() {
    each_backend(|b| {
        // One server: timers that fire together are polled in deadline order.
        let rt = support::builder(b).servers(1).build().unwrap();
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let hs: Vec<_> = [40u64, 10, 30, 20]
            .into_iter()
            .map(|ms| {
                let order = order.clone();
                rt.spawn(async move {
                    umcg::time::sleep(Duration::from_millis(ms)).await;
                    order.lock().unwrap().push(ms);
                })
            })
            .collect();
        rt.block_on(async {
            for h in hs {
                h.await.unwrap();
            }
        });
        assert_eq!(*order.lock().unwrap(), vec![10, 20, 30, 40]);
    });
}

#[test]
fn timeout_elapses_and_passes() {
    each_backend(|b| {
        let rt = support::rt(b);
        rt.block_on(async {
            let start = Instant::now();
            let r =
                umcg::time::timeout(Duration::from_millis(20), std::future::pending::<()>()).await;
            assert!(r.is_err());
            assert!(start.elapsed() >= Duration::from_millis(20));
            let ok = umcg::time::timeout(Duration::from_secs(60), async { 1 }).await;
            assert_eq!(ok.unwrap(), 1);
        });
    });
}

#[test]
fn a_thousand_timers() {
    each_backend(|b| {
        let rt = support::rt(b);
        let hs: Vec<_> = (0..1000u64)
            .map(|i| {
                rt.spawn(async move { umcg::time::sleep(Duration::from_micros(i * 10)).await })
            })
            .collect();
        rt.block_on(async {
            for h in hs {
                h.await.unwrap();
            }
        });
    });
}

#[test]
fn sleep_until_in_the_past_is_ready() {
    each_backend(|b| {
        let rt = support::rt(b);
        rt.block_on(umcg::time::sleep_until(
            Instant::now() - Duration::from_secs(1),
        ));
    });
}
