//! One interface over the two runtimes, so every workload is written once.
//!
//! [`Rt`] holds a built runtime and names the task-side functions (`spawn`, `spawn_blocking`,
//! `yield_now`) that a workload calls from inside its tasks. Join handles are unwrapped: a
//! panicking task fails the bench.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

/// Which UMCG backend the umcg runtime uses (mirrors `umcg::Backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UmcgBackend {
    /// Kernel UMCG when detected, else the emulation.
    Auto,
    /// Kernel UMCG only.
    Kernel,
    /// The userspace emulation, even on a UMCG kernel.
    Emulated,
}

/// How a runtime is built for one workload.
#[derive(Clone, Copy, Debug)]
pub struct RtSpec {
    /// Async worker threads (tokio) or servers (umcg); `None` is the runtime's default.
    pub workers: Option<usize>,
    /// The umcg backend; tokio ignores it.
    pub backend: UmcgBackend,
    /// How long idle blocking threads (tokio) or workers (umcg) are kept; `None` is the default
    /// (10 s on both).
    pub keep_alive: Option<std::time::Duration>,
}

impl RtSpec {
    /// The runtime's default configuration on `backend`.
    pub fn default_on(backend: UmcgBackend) -> Self {
        RtSpec {
            workers: None,
            backend,
            keep_alive: None,
        }
    }
}

/// A built runtime, plus the functions tasks call from inside it.
pub trait Rt: Sized + 'static {
    /// A join handle that yields the task's output (and panics if the task panicked).
    type Join<T: Send + 'static>: Future<Output = T> + Send + Unpin + 'static;

    /// Builds the runtime (fails when, say, the kernel backend is asked for and absent).
    fn build(spec: &RtSpec) -> std::io::Result<Self>;
    /// A short label for tables: `tokio`, `umcg`, `umcg-kernel`, ...
    fn label(&self) -> String;
    /// The name every thread of this runtime carries, unique to this runtime in the process
    /// (so threads left over by runtimes built earlier are not counted as its own).
    fn thread_name(&self) -> &str;
    /// Runs `fut` to completion on the calling thread, inside the runtime's context.
    fn block_on<F: Future>(&self, fut: F) -> F::Output;
    /// Spawns from outside the runtime (tokio's `Runtime::spawn`).
    fn spawn_remote<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Spawns from inside the runtime (tokio's free `spawn`).
    fn spawn<F>(fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Runs a blocking closure (the free `spawn_blocking`).
    fn spawn_blocking<F, T>(f: F) -> Self::Join<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;
    /// Yields to the scheduler once.
    fn yield_now() -> impl Future<Output = ()> + Send;
}

/// A thread name no other runtime of this process has: `bench-rt-<n>`.
pub fn unique_thread_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("bench-rt-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// tokio's multi-thread runtime.
pub struct TokioRt(tokio::runtime::Runtime, String);

/// A tokio join handle that unwraps the task's result.
pub struct TokioJoin<T>(tokio::task::JoinHandle<T>);

impl<T> Future for TokioJoin<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.expect("tokio task failed"))
    }
}

impl Rt for TokioRt {
    type Join<T: Send + 'static> = TokioJoin<T>;

    fn build(spec: &RtSpec) -> std::io::Result<Self> {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if let Some(w) = spec.workers {
            b.worker_threads(w);
        }
        if let Some(k) = spec.keep_alive {
            b.thread_keep_alive(k);
        }
        let name = unique_thread_name();
        b.thread_name(name.clone());
        b.enable_all().build().map(|rt| TokioRt(rt, name))
    }

    fn label(&self) -> String {
        "tokio".into()
    }

    fn thread_name(&self) -> &str {
        &self.1
    }

    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.0.block_on(fut)
    }

    fn spawn_remote<F>(&self, fut: F) -> TokioJoin<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        TokioJoin(self.0.spawn(fut))
    }

    fn spawn<F>(fut: F) -> TokioJoin<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        TokioJoin(tokio::spawn(fut))
    }

    fn spawn_blocking<F, T>(f: F) -> TokioJoin<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        TokioJoin(tokio::task::spawn_blocking(f))
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

#[cfg(feature = "umcg")]
pub use self::umcg_rt::{UmcgJoin, UmcgRt};

#[cfg(feature = "umcg")]
mod umcg_rt {
    use super::{unique_thread_name, Rt, RtSpec, UmcgBackend};
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// The umcg runtime on one backend.
    pub struct UmcgRt {
        rt: umcg::runtime::Runtime,
        backend: UmcgBackend,
        name: String,
    }

    /// A umcg join handle that unwraps the task's result.
    pub struct UmcgJoin<T>(umcg::task::JoinHandle<T>);

    impl<T> Future for UmcgJoin<T> {
        type Output = T;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
            Pin::new(&mut self.0)
                .poll(cx)
                .map(|r| r.expect("umcg task failed"))
        }
    }

    fn backend(b: UmcgBackend) -> umcg::Backend {
        match b {
            UmcgBackend::Auto => umcg::Backend::Auto,
            UmcgBackend::Kernel => umcg::Backend::Kernel,
            UmcgBackend::Emulated => umcg::Backend::Emulated,
        }
    }

    impl Rt for UmcgRt {
        type Join<T: Send + 'static> = UmcgJoin<T>;

        fn build(spec: &RtSpec) -> std::io::Result<Self> {
            let mut b = umcg::runtime::Builder::new();
            b.backend(backend(spec.backend));
            if let Some(w) = spec.workers {
                b.servers(w);
            }
            if let Some(k) = spec.keep_alive {
                b.thread_keep_alive(k);
            }
            let name = unique_thread_name();
            b.thread_name(name.clone());
            let rt = b.build();
            Ok(UmcgRt {
                rt: rt?,
                backend: spec.backend,
                name,
            })
        }

        fn label(&self) -> String {
            match self.backend {
                UmcgBackend::Auto => "umcg".into(),
                UmcgBackend::Kernel => "umcg-kernel".into(),
                UmcgBackend::Emulated => "umcg-emulated".into(),
            }
        }

        fn thread_name(&self) -> &str {
            &self.name
        }

        fn block_on<F: Future>(&self, fut: F) -> F::Output {
            self.rt.block_on(fut)
        }

        fn spawn_remote<F>(&self, fut: F) -> UmcgJoin<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            UmcgJoin(self.rt.spawn(fut))
        }

        fn spawn<F>(fut: F) -> UmcgJoin<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            UmcgJoin(umcg::spawn(fut))
        }

        fn spawn_blocking<F, T>(f: F) -> UmcgJoin<T>
        where
            F: FnOnce() -> T + Send + 'static,
            T: Send + 'static,
        {
            UmcgJoin(umcg::spawn_blocking(f))
        }

        fn yield_now() -> impl Future<Output = ()> + Send {
            umcg::yield_now()
        }
    }
}
