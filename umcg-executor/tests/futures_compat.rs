//! Any future and waker from the futures ecosystem works, and the runtime's futures work under
//! other executors and tokio-test's mock tasks.

mod support;

use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use support::each_backend;

#[test]
fn channels_between_tasks() {
    each_backend(|b| {
        let rt = support::rt(b);
        let (mut tx, rx) = mpsc::channel::<u32>(4);
        let producer = rt.spawn(async move {
            for i in 0..100 {
                tx.send(i).await.unwrap();
            }
        });
        let consumer = rt.spawn(async move { rx.fold(0u32, |a, v| async move { a + v }).await });
        rt.block_on(producer).unwrap();
        assert_eq!(rt.block_on(consumer).unwrap(), 4950);
    });
}

#[test]
fn join_and_select_combinators() {
    each_backend(|b| {
        let rt = support::rt(b);
        rt.block_on(async {
            let (a, c) = futures::join!(umcg::spawn(async { 1 }), umcg::spawn_blocking(|| 2));
            assert_eq!(a.unwrap() + c.unwrap(), 3);
            let (tx, rx) = oneshot::channel::<()>();
            let slow = umcg::time::sleep(Duration::from_secs(3600));
            futures::pin_mut!(slow);
            let quick = async move {
                tx.send(()).unwrap();
                rx.await.unwrap();
                "quick"
            };
            futures::pin_mut!(quick);
            match futures::future::select(slow, quick).await {
                futures::future::Either::Right((v, _)) => assert_eq!(v, "quick"),
                futures::future::Either::Left(_) => panic!("the hour-long sleep won"),
            }
        });
    });
}

#[test]
fn futures_unordered_of_join_handles() {
    each_backend(|b| {
        let rt = support::rt(b);
        let total = rt.block_on(async {
            let set: futures::stream::FuturesUnordered<_> =
                (0..50u32).map(|i| umcg::spawn(async move { i })).collect();
            set.map(|r| r.unwrap())
                .fold(0, |a, v| async move { a + v })
                .await
        });
        assert_eq!(total, 1225);
    });
}

#[test]
fn join_handle_under_tokio_test_mock_task() {
    each_backend(|b| {
        let rt = support::rt(b);
        let (tx, rx) = oneshot::channel::<u8>();
        let h = rt.spawn(async move { rx.await.unwrap() });
        let mut task = tokio_test::task::spawn(h);
        tokio_test::assert_pending!(task.poll());
        tx.send(9).unwrap();
        while !task.is_woken() {
            std::thread::yield_now();
        }
        assert_eq!(tokio_test::assert_ready!(task.poll()).unwrap(), 9);
    });
}

#[test]
fn runtime_futures_under_the_futures_thread_pool() {
    each_backend(|b| {
        let rt = support::rt(b);
        let pool = futures::executor::ThreadPool::new().unwrap();
        let h = rt.spawn(async { 4 });
        let (tx, rx) = std::sync::mpsc::channel();
        pool.spawn_ok(async move { tx.send(h.await.unwrap()).unwrap() });
        assert_eq!(rx.recv().unwrap(), 4);
    });
}
