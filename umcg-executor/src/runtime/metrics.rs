//! [`RuntimeMetrics`]: a snapshot of what the runtime holds.

/// A snapshot of a runtime's threads and queues, from [`Handle::metrics`](super::Handle::metrics).
///
/// # Examples
///
/// ```
/// let rt = umcg::runtime::Builder::new().servers(1).build().unwrap();
/// let m = rt.handle().metrics();
/// assert_eq!(m.servers, 1);
/// assert!(m.workers >= 1);
/// assert_eq!(m.blocking_queue_depth, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// The UMCG implementation in use: `"kernel"` or `"emulated"`.
    pub backend: &'static str,
    /// Server threads (CPU tokens).
    pub servers: usize,
    /// Live worker threads, all servers together.
    pub workers: usize,
    /// Workers parked idle, reusable without creating a thread.
    pub idle_workers: usize,
    /// `spawn_blocking` closures queued and not started.
    pub blocking_queue_depth: usize,
    /// The bound of the blocking queue.
    pub blocking_queue_capacity: usize,
    /// Tasks spawned and not finished (async and blocking).
    pub live_tasks: usize,
    /// Worker threads that could not be created (the work waited for other workers instead).
    pub thread_spawn_failures: u64,
    /// The error of the last failed thread creation.
    pub last_thread_spawn_error: Option<String>,
}
