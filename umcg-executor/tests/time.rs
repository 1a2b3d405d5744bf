//! Timers: `sleep`, `sleep_until`, `timeout`, many timers at once.

mod support;

use std::time::{Duration, Instant};

use support::each_backend;

/// No sleep ends before its deadline. (The order in which tasks then run is not the deadline
/// order in general: on UMCG a task that blocks, even in a page fault, lets the next one run;
/// the heap's firing order is a unit test of `time::driver`.)
#[test]
fn sleeps_never_end_early() {
    each_backend(|b| {
        let rt = support::rt(b);
        let hs: Vec<_> = [40u64, 10, 30, 20, 0]
            .into_iter()
            .map(|ms| {
                rt.spawn(async move {
                    let deadline = Instant::now() + Duration::from_millis(ms);
                    umcg::time::sleep_until(deadline).await;
                    Instant::now() >= deadline
                })
            })
            .collect();
        rt.block_on(async {
            for h in hs {
                assert!(h.await.unwrap(), "a sleep ended before its deadline");
            }
        });
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
