//! Panics in tasks, closures and destructors become `JoinError`s; the runtime survives them.

mod support;

use support::each_backend;

#[test]
fn task_panic_is_caught_with_its_payload() {
    each_backend(|b| {
        let rt = support::rt(b);
        let n = std::hint::black_box(1);
        let err = rt
            .block_on(rt.spawn(async move { panic!("boom {n}") }))
            .unwrap_err();
        assert!(err.is_panic() && !err.is_cancelled());
        assert!(err.to_string().contains("boom 1"));
        let payload = err.into_panic();
        assert_eq!(payload.downcast_ref::<String>().unwrap(), "boom 1");
    });
}

#[test]
fn blocking_closure_panic_is_caught() {
    each_backend(|b| {
        let rt = support::rt(b);
        let err = rt
            .block_on(rt.spawn_blocking(|| std::panic::panic_any(42u8)))
            .unwrap_err();
        assert_eq!(*err.into_panic().downcast::<u8>().unwrap(), 42);
    });
}

#[test]
fn runtime_keeps_working_after_many_panics() {
    each_backend(|b| {
        let rt = support::rt(b);
        for _ in 0..100 {
            assert!(rt.block_on(rt.spawn(async { panic!("x") })).is_err());
            assert!(rt.block_on(rt.spawn_blocking(|| panic!("y"))).is_err());
        }
        assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 2)).unwrap(), 2);
    });
}

#[test]
fn panic_in_destructor_on_abort_is_reported() {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("destructor");
        }
    }
    each_backend(|b| {
        let rt = support::rt(b);
        let (started_tx, started) = futures::channel::oneshot::channel();
        let h = rt.spawn(async move {
            let _b = Bomb;
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await
        });
        rt.block_on(started).unwrap();
        h.abort();
        assert!(rt.block_on(h).unwrap_err().is_panic());
        assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
    });
}
