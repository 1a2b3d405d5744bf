//! [`Builder`]: how a [`Runtime`] is configured and started.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::{Handle, Hooks, Runtime};
use crate::sched::{phase, Config, Shared};
use crate::umcg::{monitor, server, spawner};
use crate::Backend;

type Callback = Arc<dyn Fn() + Send + Sync>;

/// Configures and starts a [`Runtime`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use umcg::runtime::Builder;
///
/// let rt = Builder::new()
///     .servers(2)
///     .max_workers(64)
///     .backend(umcg::Backend::Auto)
///     .thread_name("my-app")
///     .thread_keep_alive(Duration::from_secs(2))
///     .blocking_queue_capacity(1024)
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 }), 1);
/// ```
pub struct Builder {
    servers: Option<usize>,
    max_workers: usize,
    backend: Backend,
    thread_name: Arc<dyn Fn() -> String + Send + Sync>,
    on_thread_start: Option<Callback>,
    on_thread_stop: Option<Callback>,
    keep_alive: Duration,
    blocking_slice: Duration,
    blocking_capacity: usize,
    stack_size: Option<usize>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// The defaults: one server per available CPU, at most 512 workers, [`Backend::Auto`],
    /// threads named `umcg`, idle workers retired after 10 s, a 10 ms blocking slice, a
    /// blocking queue of 4096 closures.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Builder::new().build().unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn new() -> Self {
        Self {
            servers: None,
            max_workers: 512,
            backend: Backend::Auto,
            thread_name: Arc::new(|| "umcg".to_string()),
            on_thread_start: None,
            on_thread_stop: None,
            keep_alive: Duration::from_secs(10),
            blocking_slice: Duration::from_millis(10),
            blocking_capacity: 4096,
            stack_size: None,
        }
    }

    /// The number of servers: how many workers may run user code at once (CPU tokens).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Builder::new().servers(1).build().unwrap();
    /// assert_eq!(rt.handle().metrics().servers, 1);
    /// ```
    pub fn servers(&mut self, n: usize) -> &mut Self {
        self.servers = Some(n);
        self
    }

    /// The most worker threads the runtime keeps, blocked or not (at least one per server).
    /// When every worker of a server is blocked and the limit is reached, its queued work waits
    /// for a worker to come back.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Builder::new().max_workers(8).build().unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn max_workers(&mut self, n: usize) -> &mut Self {
        self.max_workers = n;
        self
    }

    /// Which implementation of the UMCG ABI to run on.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Builder::new().backend(umcg::Backend::Emulated).build().unwrap();
    /// assert_eq!(rt.handle().metrics().backend, "emulated");
    /// ```
    pub fn backend(&mut self, backend: Backend) -> &mut Self {
        self.backend = backend;
        self
    }

    /// The name of worker threads (servers get `-srv` appended, the monitor `-mon`, the thread
    /// that creates workers `-spawn`).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Builder::new().thread_name("io").build().unwrap();
    /// let name = rt.block_on(rt.spawn_blocking(|| std::thread::current().name().map(String::from)));
    /// assert_eq!(name.unwrap().as_deref(), Some("io"));
    /// ```
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        let name = name.into();
        self.thread_name = Arc::new(move || name.clone());
        self
    }

    /// Names threads with a function (called once per thread).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// static N: AtomicUsize = AtomicUsize::new(0);
    /// let rt = umcg::runtime::Builder::new()
    ///     .thread_name_fn(|| format!("w{}", N.fetch_add(1, Ordering::Relaxed)))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn thread_name_fn(&mut self, f: impl Fn() -> String + Send + Sync + 'static) -> &mut Self {
        self.thread_name = Arc::new(f);
        self
    }

    /// Called on each worker thread when it starts, before it runs any task.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let s = started.clone();
    /// let rt = umcg::runtime::Builder::new()
    ///     .on_thread_start(move || { s.fetch_add(1, Ordering::SeqCst); })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert!(started.load(Ordering::SeqCst) >= 1);
    /// ```
    pub fn on_thread_start(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.on_thread_start = Some(Arc::new(f));
        self
    }

    /// Called on each worker thread just before it ends (retired, or at shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Builder::new().on_thread_stop(|| {}).build().unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn on_thread_stop(&mut self, f: impl Fn() + Send + Sync + 'static) -> &mut Self {
        self.on_thread_stop = Some(Arc::new(f));
        self
    }

    /// How long a surplus worker stays parked before its thread ends (each server keeps one).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Builder::new()
    ///     .thread_keep_alive(std::time::Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn thread_keep_alive(&mut self, d: Duration) -> &mut Self {
        self.keep_alive = d;
        self
    }

    /// How long one blocking closure may run on the CPU, without blocking, before the monitor
    /// preempts it so that async tasks on its server run.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Builder::new()
    ///     .blocking_slice(std::time::Duration::from_millis(2))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn blocking_slice(&mut self, d: Duration) -> &mut Self {
        self.blocking_slice = d.max(Duration::from_micros(100));
        self
    }

    /// The bound of the blocking queue (closures spawned and not started); see
    /// [`crate::task::try_spawn_blocking`] for what happens when it is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Builder::new().blocking_queue_capacity(16).build().unwrap();
    /// assert_eq!(rt.handle().metrics().blocking_queue_capacity, 16);
    /// ```
    pub fn blocking_queue_capacity(&mut self, n: usize) -> &mut Self {
        self.blocking_capacity = n.max(1);
        self
    }

    /// The stack size of worker threads (default: the platform's thread default).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Builder::new().thread_stack_size(1 << 20).build().unwrap();
    /// rt.block_on(async {});
    /// // A stack no system can map: the runtime reports the error instead of panicking.
    /// assert!(umcg::runtime::Builder::new().thread_stack_size(1 << 60).build().is_err());
    /// ```
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Starts the runtime: registers the servers, starts one worker per server and the monitor.
    ///
    /// # Errors
    ///
    /// [`Backend::Kernel`] without a UMCG kernel (`Unsupported`), zero servers
    /// (`InvalidInput`), a registration refused by the backend, or a thread that could not be
    /// created. Nothing is left running on error.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Builder::new().servers(2).build().unwrap();
    /// assert_eq!(rt.block_on(async { 5 }), 5);
    /// assert!(umcg::runtime::Builder::new().servers(0).build().is_err());
    /// ```
    pub fn build(&mut self) -> io::Result<Runtime> {
        let umcg = crate::umcg::resolve(self.backend)?;
        let servers = match self.servers {
            Some(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a runtime needs at least one server",
                ))
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let config = Config {
            max_workers: self.max_workers.max(servers),
            keep_alive: self.keep_alive,
            blocking_slice: self.blocking_slice,
            stack_size: self.stack_size,
            thread_name: self.thread_name.clone(),
            hooks: Hooks {
                on_thread_start: self.on_thread_start.clone(),
                on_thread_stop: self.on_thread_stop.clone(),
            },
        };
        let shared = Arc::new(Shared::new(config, umcg, servers, self.blocking_capacity));
        // Before the servers: they ask it for workers from their first switch on.
        spawner::start(&shared)?;
        for i in 0..servers {
            if let Err(e) = server::start(&shared, i) {
                abandon(&shared, i);
                return Err(e);
            }
        }
        if let Err(e) = monitor::start(&shared) {
            abandon(&shared, servers);
            return Err(e);
        }
        Ok(Runtime {
            handle: Handle { shared },
            shut: false,
        })
    }
}

/// A failed build: servers from `started` on never ran; stop the ones that did.
fn abandon(shared: &Arc<Shared>, started: usize) {
    for slot in &shared.servers[started..] {
        shared.set_phase(slot, phase::EXITED);
    }
    shared.begin_shutdown();
    shared.wait_quiescent(Some(std::time::Instant::now() + Duration::from_secs(5)));
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("servers", &self.servers)
            .field("max_workers", &self.max_workers)
            .field("backend", &self.backend)
            .field("keep_alive", &self.keep_alive)
            .field("blocking_slice", &self.blocking_slice)
            .field("blocking_queue_capacity", &self.blocking_capacity)
            .finish_non_exhaustive()
    }
}
