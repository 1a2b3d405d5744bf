//! The task cell: state word, future-or-output stage, join waker, and the scheduler it reports
//! to. A task is an `Arc<Cell<F, S>>`; run queues hold it as a [`Task`] (`Arc<dyn RawTask>`),
//! the `JoinHandle` as `Arc<dyn Join<T>>`, wakers as the `Arc` itself (`std::task::Wake`).

#![allow(unsafe_code)]

use std::any::Any;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::error::JoinError;
use super::state::{Idle, Start, State};
use super::Id;
use crate::loom::atomic::{AtomicUsize, Ordering::*};
use crate::loom::{Mutex, UnsafeCell};

/// What kind of work a task is: the scheduler keeps blocking closures in their own bounded
/// queue, and the monitor may preempt a worker that runs one for too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A future from `spawn`.
    Async,
    /// A closure from `spawn_blocking`, wrapped in a future that calls it once.
    Blocking,
}

/// Where a task goes when it is woken, and whom it tells when it finishes.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Pushes a task whose `SCHEDULED` bit the caller has just set.
    fn schedule(&self, task: Task);
    /// The task completed (or was cancelled); `key` is what [`Cell::set_key`] stored.
    fn release(&self, id: Id, key: usize);
}

/// The run-queue side of a task.
pub(crate) trait RawTask: Send + Sync + 'static {
    /// Polls the task once (the caller popped it from a run queue); the runtime's drivers use
    /// [`RawTask::run_reclaim`].
    #[cfg(all(test, loom))]
    fn run(self: Arc<Self>) {
        drop(self.run_reclaim(crate::sched::homing::NO_HOME));
    }
    /// [`RawTask::run`] by a runner at `here`, except that when the poll completed a task whose
    /// [`RawTask::home`] is elsewhere and left the caller the last reference, the output is
    /// dropped and the empty task is returned for the caller to send home (`sched::homing`).
    fn run_reclaim(self: Arc<Self>, here: usize) -> Option<Task>;
    /// What the cell was built with ([`Cell::with_home`]): for the runtime, the server whose
    /// driver spawned it.
    fn home(&self) -> usize;
    /// Requests cancellation; cancels in place when the task is not running.
    fn cancel(self: Arc<Self>);
    /// The task's id.
    fn id(&self) -> Id;
    /// Async task or blocking closure.
    fn kind(&self) -> Kind;
}

/// A scheduled task, as queues hold it.
pub(crate) type Task = Arc<dyn RawTask>;

/// The join side of a task whose output is `T`.
pub(crate) trait Join<T>: Send + Sync {
    /// Takes the output once the task completed, or registers `cx`'s waker.
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>>;
    /// Requests cancellation.
    fn abort(self: Arc<Self>);
    /// Whether the task completed.
    fn is_finished(&self) -> bool;
    /// The task's id.
    fn id(&self) -> Id;
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// One task: see the module documentation.
pub(crate) struct Cell<F: Future, S> {
    state: State,
    stage: UnsafeCell<Stage<F>>,
    join_waker: Mutex<Option<Waker>>,
    scheduler: S,
    id: Id,
    kind: Kind,
    key: AtomicUsize,
    /// See [`RawTask::home`]; 32 bits fit beside `kind` without making the cell larger.
    home: u32,
}

// SAFETY: `stage` is touched only by the thread holding RUNNING (see `state`), or by the
// JoinHandle after COMPLETE; both transitions are AcqRel, so accesses never overlap and each sees
// the previous one's writes. `F` and its output are Send, so that thread may be any thread.
unsafe impl<F: Future + Send, S: Send> Send for Cell<F, S> where F::Output: Send {}
// SAFETY: as for Send: `&Cell` gives no unsynchronized access to `F` or its output.
unsafe impl<F: Future + Send, S: Sync> Sync for Cell<F, S> where F::Output: Send {}

impl<F, S> Cell<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    /// [`Cell::with_home`] with no home (the loom models' schedulers ignore it).
    #[cfg(all(test, loom))]
    pub(crate) fn new(future: F, scheduler: S, id: Id, kind: Kind) -> Arc<Self> {
        Self::with_home(future, scheduler, id, kind, crate::sched::homing::NO_HOME)
    }

    /// A new task, already in the `SCHEDULED` state: the caller must push it. `home` is for
    /// the runner that completes it ([`RawTask::home`]).
    pub(crate) fn with_home(future: F, scheduler: S, id: Id, kind: Kind, home: usize) -> Arc<Self> {
        Arc::new(Self {
            state: State::new_scheduled(),
            stage: UnsafeCell::new(Stage::Running(future)),
            join_waker: Mutex::new(None),
            scheduler,
            id,
            kind,
            key: AtomicUsize::new(usize::MAX),
            home: u32::try_from(home).unwrap_or(u32::MAX),
        })
    }

    /// Records the scheduler's registry key, passed back in [`Schedule::release`]. Must be
    /// called before the task is first pushed.
    pub(crate) fn set_key(&self, key: usize) {
        self.key.store(key, Release);
    }

    fn poll_future(&self, cx: &mut Context<'_>) -> Option<Result<F::Output, JoinError>> {
        let polled = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the caller holds RUNNING, so this thread has exclusive access to the
            // stage.
            self.stage.with_mut(|stage| match unsafe { &mut *stage } {
                // SAFETY: the future is never moved: it stays in the Arc until it is dropped
                // in place by `finish` or `cancel_in_place`.
                Stage::Running(f) => unsafe { Pin::new_unchecked(f) }.poll(cx),
                _ => unreachable!("polled a task that is not running"),
            })
        }));
        match polled {
            Ok(Poll::Pending) => None,
            Ok(Poll::Ready(out)) => Some(Ok(out)),
            Err(payload) => Some(Err(JoinError::panic(self.id, payload))),
        }
    }

    /// Stores the result, drops the future, publishes COMPLETE, wakes the joiner. The caller
    /// holds RUNNING.
    fn finish(&self, result: Result<F::Output, JoinError>) {
        let old = self.stage.with_mut(|stage| {
            // SAFETY: the caller holds RUNNING (exclusive access to the stage).
            std::mem::replace(unsafe { &mut *stage }, Stage::Finished(result))
        });
        // The future may panic in its destructor; that must not unwind through the runner.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(old)));
        self.state.complete();
        let waker = self
            .join_waker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
        self.scheduler.release(self.id, self.key.load(Acquire));
    }

    /// After [`Cell::finish`] on the runner's thread: if the runner holds the last reference
    /// (the `JoinHandle` is gone and no waker is left), drops the output now, where it would be
    /// dropped anyway, and returns the empty cell for the runner to free
    /// (`RawTask::run_reclaim`).
    fn retire(mut self: Arc<Self>) -> Option<Task> {
        let cell = Arc::get_mut(&mut self)?;
        let output = cell.stage.with_mut(|stage| {
            // SAFETY: `get_mut` proved this is the only reference to the cell, so nothing
            // else can touch the stage.
            std::mem::replace(unsafe { &mut *stage }, Stage::Consumed)
        });
        // The output may panic in its destructor; that must not unwind through the runner.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(output)));
        Some(self)
    }

    fn cancel_in_place(&self) {
        let dropped = self.stage.with_mut(|stage| {
            // SAFETY: the caller holds RUNNING (exclusive access to the stage).
            std::mem::replace(unsafe { &mut *stage }, Stage::Consumed)
        });
        let panicked = catch_unwind(AssertUnwindSafe(move || drop(dropped))).err();
        self.finish(Err(match panicked {
            Some(payload) => JoinError::panic(self.id, payload),
            None => JoinError::cancelled(self.id),
        }));
    }
}

impl<F, S> RawTask for Cell<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    fn run_reclaim(self: Arc<Self>, here: usize) -> Option<Task> {
        match self.state.start() {
            Start::Skip => return None,
            Start::Cancel => {
                self.cancel_in_place();
                return None;
            }
            Start::Poll => {}
        }
        // SAFETY: a waker that borrows this task's reference instead of taking its own:
        // `from_raw` makes an `Arc` without incrementing the count, and `ManuallyDrop` keeps it
        // from being decremented. `self` holds a reference for the whole poll, which is the
        // only place `waker` is used; clones made by the future (`Wake`'s vtable) take
        // references of their own. Saves an increment and a decrement per poll.
        let waker = ManuallyDrop::new(Waker::from(unsafe { Arc::from_raw(Arc::as_ptr(&self)) }));
        let mut cx = Context::from_waker(&waker);
        if let Some(result) = self.poll_future(&mut cx) {
            self.finish(result);
            if self.home() == here || self.home() == crate::sched::homing::NO_HOME {
                return None;
            }
            return self.retire();
        }
        match self.state.idle() {
            Idle::Wait => {}
            Idle::Push => self.scheduler.schedule(self.clone()),
            Idle::Cancel => self.cancel_in_place(),
        }
        None
    }

    fn cancel(self: Arc<Self>) {
        if self.state.cancel() {
            self.cancel_in_place();
        }
    }

    fn id(&self) -> Id {
        self.id
    }

    fn kind(&self) -> Kind {
        self.kind
    }

    fn home(&self) -> usize {
        match self.home {
            u32::MAX => crate::sched::homing::NO_HOME,
            h => h as usize,
        }
    }
}

impl<F, S> Wake for Cell<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.state.wake() == super::state::Wake::Push {
            self.scheduler.schedule(self.clone());
        }
    }
}

impl<F, S> Join<F::Output> for Cell<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        if !self.state.is_complete() {
            {
                let mut slot = self.join_waker.lock().unwrap_or_else(|e| e.into_inner());
                match &*slot {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *slot = Some(cx.waker().clone()),
                }
            }
            // Re-check after registering: `finish` publishes COMPLETE before it takes the
            // waker under the same lock, so either it sees our waker or we see COMPLETE.
            if !self.state.is_complete() {
                return Poll::Pending;
            }
        }
        let stage = self.stage.with_mut(|stage| {
            // SAFETY: COMPLETE (Acquire) is set, so the runner is done with the stage; only the
            // one JoinHandle (which is not Clone and takes `&mut self`) reaches this point.
            std::mem::replace(unsafe { &mut *stage }, Stage::Consumed)
        });
        match stage {
            Stage::Finished(result) => Poll::Ready(result),
            _ => panic!("JoinHandle polled after it returned Ready"),
        }
    }

    fn abort(self: Arc<Self>) {
        RawTask::cancel(self);
    }

    fn is_finished(&self) -> bool {
        self.state.is_complete()
    }

    fn id(&self) -> Id {
        self.id
    }
}

/// Turns a `spawn_blocking` closure into a future that calls it on its first poll.
pub(crate) struct BlockingTask<F>(Option<F>);

impl<F> BlockingTask<F> {
    /// Wraps `f`.
    pub(crate) fn new(f: F) -> Self {
        Self(Some(f))
    }
}

// The closure is never pinned: it is moved out and called.
impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self
            .0
            .take()
            .expect("blocking task polled after completion");
        Poll::Ready(f())
    }
}

/// A panic payload's message, when it is a string.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}
