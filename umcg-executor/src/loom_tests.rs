//! loom models of the lock-free parts: the run queue, the task state word (wake, run, abort,
//! join), the parker of `block_on`, the blocking-queue permits, the idle/notify protocol of
//! sleeping servers (including the one-server-waking-at-a-time rule), the server ⇄ spawner
//! hand-off stack, and the shutdown rule of the queues that send finished tasks home.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p umcg-executor --release loom`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll, Waker};

use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

use crate::park::Parker;
use crate::sched::idle::Idle;
use crate::sched::queue::Queue;
use crate::task::core::{Cell, Join, Kind, Schedule, Task};
use crate::task::Id;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

#[test]
fn loom_queue_two_producers_one_consumer() {
    model(|| {
        let q = Arc::new(Queue::new(2));
        let producers: Vec<_> = (1..=2)
            .map(|v| {
                let q = q.clone();
                thread::spawn(move || q.push(v).unwrap())
            })
            .collect();
        let mut got = Vec::new();
        if let Some(v) = q.pop() {
            got.push(v);
        }
        for p in producers {
            p.join().unwrap();
        }
        while let Some(v) = q.pop() {
            got.push(v);
        }
        got.sort();
        assert_eq!(got, vec![1, 2]);
    });
}

#[test]
fn loom_queue_wraps_with_concurrent_steal() {
    model(|| {
        let q = Arc::new(Queue::new(2));
        q.push(1).unwrap();
        q.push(2).unwrap();
        let thief = {
            let q = q.clone();
            thread::spawn(move || q.pop())
        };
        let mine = q.pop();
        // A push may find its slot still held by a pop in progress (documented: the queue
        // is not wait-free); once the thief is done, the next lap must fit.
        let early = q.push(3);
        let stolen = thief.join().unwrap();
        if let Err(v) = early {
            q.push(v).unwrap();
        }
        let mut got: Vec<i32> = mine.into_iter().chain(stolen).collect();
        while let Some(v) = q.pop() {
            got.push(v);
        }
        got.sort();
        assert_eq!(got, vec![1, 2, 3]);
    });
}

/// A scheduler for one task: a queue behind a loom mutex.
#[derive(Clone)]
struct TestSched(Arc<Mutex<VecDeque<Task>>>);

impl Schedule for TestSched {
    fn schedule(&self, task: Task) {
        self.0.lock().unwrap().push_back(task);
    }

    fn release(&self, _id: Id, _key: usize) {}
}

impl TestSched {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(VecDeque::new())))
    }

    fn run_all(&self) {
        loop {
            let t = self.0.lock().unwrap().pop_front();
            match t {
                Some(t) => t.run(),
                None => return,
            }
        }
    }
}

/// Pending until `flag` is set; stores its waker in `slot` so another thread can wake it.
struct Gate {
    flag: Arc<AtomicBool>,
    slot: Arc<Mutex<Option<Waker>>>,
    drops: Arc<AtomicUsize>,
}

impl Future for Gate {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        if self.flag.load(SeqCst) {
            Poll::Ready(7)
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

fn gate() -> (
    Gate,
    Arc<AtomicBool>,
    Arc<Mutex<Option<Waker>>>,
    Arc<AtomicUsize>,
) {
    let flag = Arc::new(AtomicBool::new(false));
    let slot = Arc::new(Mutex::new(None));
    let drops = Arc::new(AtomicUsize::new(0));
    let g = Gate {
        flag: flag.clone(),
        slot: slot.clone(),
        drops: drops.clone(),
    };
    (g, flag, slot, drops)
}

fn noop_cx_poll<T>(j: &dyn Join<T>) -> Poll<Result<T, crate::task::JoinError>> {
    let waker = futures::task::noop_waker();
    j.poll_join(&mut Context::from_waker(&waker))
}

#[test]
fn loom_task_wake_during_poll_is_not_lost() {
    model(|| {
        let sched = TestSched::new();
        let (g, flag, slot, drops) = gate();
        let cell = Cell::new(g, sched.clone(), Id::next(), Kind::Async);
        sched.schedule(cell.clone());
        let waker_thread = thread::spawn(move || {
            flag.store(true, SeqCst);
            let w = slot.lock().unwrap().take();
            if let Some(w) = w {
                w.wake();
            }
        });
        sched.run_all();
        waker_thread.join().unwrap();
        sched.run_all();
        match noop_cx_poll(&*cell) {
            Poll::Ready(Ok(v)) => assert_eq!(v, 7),
            other => panic!("task lost its wakeup: {:?}", other.map(|r| r.is_ok())),
        }
        assert_eq!(drops.load(SeqCst), 1);
    });
}

#[test]
fn loom_task_abort_races_run() {
    model(|| {
        let sched = TestSched::new();
        let (g, flag, _slot, drops) = gate();
        flag.store(true, SeqCst);
        let cell = Cell::new(g, sched.clone(), Id::next(), Kind::Async);
        sched.schedule(cell.clone());
        let aborter = {
            let cell = cell.clone();
            thread::spawn(move || Join::abort(cell))
        };
        sched.run_all();
        aborter.join().unwrap();
        sched.run_all();
        match noop_cx_poll(&*cell) {
            Poll::Ready(Ok(v)) => assert_eq!(v, 7),
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            Poll::Pending => panic!("aborted task never completed"),
        }
        assert_eq!(drops.load(SeqCst), 1, "future dropped exactly once");
    });
}

#[test]
fn loom_join_waker_sees_completion() {
    model(|| {
        let sched = TestSched::new();
        let (g, flag, _slot, _drops) = gate();
        flag.store(true, SeqCst);
        let cell = Cell::new(g, sched.clone(), Id::next(), Kind::Async);
        sched.schedule(cell.clone());
        let runner = {
            let sched = sched.clone();
            thread::spawn(move || sched.run_all())
        };
        let parker = Parker::new();
        let waker = parker.waker();
        let mut cx = Context::from_waker(&waker);
        let out = loop {
            match cell.poll_join(&mut cx) {
                Poll::Ready(r) => break r,
                Poll::Pending => parker.park(),
            }
        };
        assert_eq!(out.unwrap(), 7);
        runner.join().unwrap();
    });
}

#[test]
fn loom_parker_wake_from_other_thread() {
    model(|| {
        let p = Parker::new();
        let w = p.waker();
        let done = Arc::new(AtomicBool::new(false));
        let d2 = done.clone();
        let t = thread::spawn(move || {
            d2.store(true, SeqCst);
            w.wake();
        });
        while !done.load(SeqCst) {
            p.park();
        }
        t.join().unwrap();
    });
}

#[test]
fn loom_blocking_permits_bound_and_wake_waiter() {
    model(|| {
        let q = Arc::new(crate::blocking::BlockingQueue::new(1));
        assert!(q.try_acquire());
        assert!(!q.try_acquire());
        let sched = TestSched::new();
        let cell = Cell::new(async {}, sched, Id::next(), Kind::Blocking);
        q.push(cell);
        let waiter = {
            let q = q.clone();
            thread::spawn(move || assert!(q.acquire()))
        };
        assert!(q.pop().is_some());
        waiter.join().unwrap();
        assert!(!q.try_acquire());
    });
}

/// The server side of `sched::idle`: the UMCG wait is modelled by a condvar on the state word.
struct FakeServer {
    state: AtomicU32,
    sleeping: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

const RUNNING: u32 = 1;
const RUNNABLE: u32 = 2;

/// A producer: push, then `Shared::notify_one` (claim, CAS RUNNABLE -> RUNNING, kick).
fn produce(idle: &Idle, work: &Queue<u32>, server: &FakeServer, v: u32) {
    work.push(v).unwrap();
    if idle.should_wake() && idle.claim(&server.sleeping) {
        // Sched::wake_server: RUNNABLE -> RUNNING, then the kick.
        if server
            .state
            .compare_exchange(RUNNABLE, RUNNING, SeqCst, SeqCst)
            .is_ok()
        {
            drop(server.lock.lock().unwrap());
            server.cv.notify_one();
        }
    }
}

/// The server's idle turn: (S1) RUNNABLE, announce + (C), look for work, else wait until
/// RUNNING, then retract + (W).
fn idle_turn(idle: &Idle, work: &Queue<u32>, server: &FakeServer) {
    server.state.store(RUNNABLE, SeqCst);
    idle.announce(&server.sleeping);
    if work.is_empty() {
        let mut g = server.lock.lock().unwrap();
        while server.state.load(SeqCst) != RUNNING {
            g = server.cv.wait(g).unwrap();
        }
    }
    idle.retract(&server.sleeping);
}

fn fake_server() -> Arc<FakeServer> {
    Arc::new(FakeServer {
        state: AtomicU32::new(RUNNING),
        sleeping: AtomicBool::new(false),
        lock: Mutex::new(()),
        cv: Condvar::new(),
    })
}

#[test]
fn loom_idle_server_never_misses_work() {
    model(|| {
        let (idle, work, server) = (
            Arc::new(Idle::new()),
            Arc::new(Queue::new(2)),
            fake_server(),
        );
        let producer = {
            let (idle, work, server) = (idle.clone(), work.clone(), server.clone());
            thread::spawn(move || produce(&idle, &work, &server, 1))
        };
        idle_turn(&idle, &work, &server);
        producer.join().unwrap();
        assert_eq!(work.pop(), Some(1));
    });
}

/// Two producers race a server that keeps going idle: whichever wake one of them skips (the
/// server is already on its way up, `sched::idle`), the server still takes both values. A lost
/// wakeup leaves the server waiting forever, which loom reports as a deadlock.
#[test]
fn loom_idle_skipped_wake_is_covered_by_the_waking_server() {
    model(|| {
        let (idle, work, server) = (
            Arc::new(Idle::new()),
            Arc::new(Queue::new(2)),
            fake_server(),
        );
        let producers: Vec<_> = (1..=2)
            .map(|v| {
                let (idle, work, server) = (idle.clone(), work.clone(), server.clone());
                thread::spawn(move || produce(&idle, &work, &server, v))
            })
            .collect();
        let mut taken = 0;
        while taken < 2 {
            idle_turn(&idle, &work, &server);
            server.state.store(RUNNING, SeqCst);
            let before = taken;
            while work.pop().is_some() {
                taken += 1;
            }
            if taken == before {
                // A push claimed its slot and has not published it yet.
                thread::yield_now();
            }
        }
        for p in producers {
            p.join().unwrap();
        }
        // Every claim was matched by the server's retract.
        assert!(!idle.should_wake());
    });
}

/// A value for the hand-off stack of `umcg::stack` (server ⇄ spawner).
struct Node(u32, loom::sync::atomic::AtomicPtr<Node>);

impl crate::umcg::stack::Linked for Node {
    fn link(&self) -> &loom::sync::atomic::AtomicPtr<Self> {
        &self.1
    }
}

#[test]
fn loom_stack_hands_over_every_push_once() {
    use crate::umcg::stack::Stack;
    model(|| {
        let stack = Arc::new(Stack::new());
        let node = |v| std::sync::Arc::new(Node(v, Default::default()));
        let pushers: Vec<_> = (1..=2)
            .map(|v| {
                let stack = stack.clone();
                thread::spawn(move || stack.push(node(v)))
            })
            .collect();
        // The consumer takes while the pushes race, then after they are done.
        let mut got: Vec<u32> = stack.take_all().map(|n| n.0).collect();
        for p in pushers {
            p.join().unwrap();
        }
        got.extend(stack.take_all().map(|n| n.0));
        got.sort();
        assert_eq!(got, vec![1, 2]);
    });
}

/// `sched::homing`: a driver sends a finished task home while shutdown begins. Whichever wins,
/// nothing is left in the queue (a value left there would keep the runtime alive).
#[test]
fn loom_homing_leaves_nothing_queued_after_shutdown() {
    use crate::sched::homing::{closed, send};
    model(|| {
        let queue = Arc::new(Queue::new(2));
        let shut = Arc::new(AtomicBool::new(false));
        let driver = {
            let (queue, shut) = (queue.clone(), shut.clone());
            thread::spawn(move || send(&queue, &shut, 1u32))
        };
        shut.store(true, SeqCst);
        closed([&*queue]);
        driver.join().unwrap();
        assert_eq!(queue.pop(), None);
    });
}
