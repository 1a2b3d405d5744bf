//! The primary block detector: a perf context-switch ring on one worker thread.
//!
//! `perf_event_open(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY)` with `context_switch = 1` and
//! `exclude_kernel = 1`, opened by a thread on itself, counts nothing but writes a
//! `PERF_RECORD_SWITCH` record into a 1+1 page ring every time the thread is switched in or
//! out. A switch-out record without `PERF_RECORD_MISC_SWITCH_OUT_PREEMPT` means the thread went
//! to sleep in the kernel: it blocked. This works unprivileged at `perf_event_paranoid` <= 2.
//!
//! By default the ring raises no wakeups: a spinning server reads `data_head` directly, a
//! sleeping one re-reads it on a timer. With `wakeups`, `watermark = 1, wakeup_watermark = 1`
//! makes every record wake a `poll()`er of the fd, at the price of an irq_work (an IPI) per
//! record, which costs ~13 µs per switch on the project machines (measured by the `roundtrip`
//! example: the round trip goes from ~5 to ~30 µs).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::OnceLock;

const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_COUNT_SW_DUMMY: u64 = 9;
const PERF_ATTR_SIZE_VER0: u32 = 64;
const ATTR_EXCLUDE_KERNEL: u64 = 1 << 5;
const ATTR_WATERMARK: u64 = 1 << 14;
const ATTR_CONTEXT_SWITCH: u64 = 1 << 26;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;

const PERF_RECORD_LOST: u32 = 2;
const PERF_RECORD_SWITCH: u32 = 14;
const PERF_RECORD_MISC_SWITCH_OUT: u16 = 1 << 13;
const PERF_RECORD_MISC_SWITCH_OUT_PREEMPT: u16 = 1 << 14;

/// Offsets in `struct perf_event_mmap_page`.
const DATA_HEAD: usize = 1024;
const DATA_TAIL: usize = 1032;

/// The first 64 bytes (`PERF_ATTR_SIZE_VER0`) of `struct perf_event_attr`.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_watermark: u32,
    bp_type: u32,
    config1: u64,
}

/// Opens a perf event on the calling thread from `attr`.
fn open_on_self(attr: &PerfEventAttr) -> io::Result<OwnedFd> {
    // SAFETY: `attr` is a valid VER0 perf_event_attr that outlives the call; pid 0 / cpu -1 is
    // "the calling thread on any CPU"; no group fd.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr as *const PerfEventAttr,
            0,
            -1,
            -1,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Keeps the scheduler's perf hooks on while it is open: a task-bound event that counts and
/// records nothing (no ring, no context-switch records).
///
/// The kernel turns the hooks on when the first task-bound perf event of the system is opened
/// and waits for an RCU grace period before that `perf_event_open()` returns
/// (`account_event()` in kernel/events/core.c); it turns them off one second (HZ) after the
/// last such event is closed. That wait took 10–14 ms on the project machines (`strace -T` of
/// a worker's first ring), and a worker that pays it mid-run stalls everything waiting for it
/// for as long. One anchor per process, opened when the first instance with the perf detector
/// is made (`Emulated::get()`, a runtime's build), puts the wait there, once, and never on a
/// worker's registration; the hooks then stay on until the process exits.
#[derive(Debug)]
pub(crate) struct HooksAnchor {
    _event: OwnedFd,
}

impl HooksAnchor {
    /// Opens an anchor on the calling thread. The event outlives the thread: when the thread
    /// exits the kernel takes it out of the thread's context but keeps it, and its accounting,
    /// until the fd is closed (`perf_event_exit_event()`).
    fn open() -> io::Result<Self> {
        open_on_self(&PerfEventAttr {
            type_: PERF_TYPE_SOFTWARE,
            size: PERF_ATTR_SIZE_VER0,
            config: PERF_COUNT_SW_DUMMY,
            flags: ATTR_EXCLUDE_KERNEL,
            ..Default::default()
        })
        .map(|event| Self { _event: event })
    }

    /// The process's anchor, opened by the first call (which waits for it); `None` where perf
    /// is refused (the rings will be too, and the `/proc` detector needs no hooks).
    ///
    /// A short-lived thread opens it, so that it is bound to no live thread: an event in a
    /// thread's perf context is switched out and in with that thread, which would cost the
    /// caller (a runtime's main thread, say) on every context switch.
    pub(crate) fn hold() -> Option<&'static HooksAnchor> {
        static ANCHOR: OnceLock<Option<HooksAnchor>> = OnceLock::new();
        ANCHOR
            .get_or_init(|| {
                let opener = std::thread::Builder::new().name("umcg-perf-anchor".into());
                opener.spawn(Self::open).ok()?.join().ok()?.ok()
            })
            .as_ref()
    }
}

/// What one record says about the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Switch {
    /// Switched out while runnable (preempted, yielded).
    OutPreempt,
    /// Switched out to sleep: blocked.
    OutBlock,
    /// Switched in.
    In,
    /// Records were lost (ring full): the sequence is incomplete.
    Lost,
}

/// A mapped context-switch ring of one thread.
#[derive(Debug)]
pub(crate) struct Ring {
    fd: OwnedFd,
    base: *mut u8,
    page: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value; every access goes through
// `&mut self` (records, tail) or an atomic load (head), so moving or sharing it between threads
// is sound. Callers serialise consumers (one lock per ring).
unsafe impl Send for Ring {}
// SAFETY: see above; `&self` methods only read `data_head` atomically.
unsafe impl Sync for Ring {}

impl Ring {
    /// Opens a ring recording the context switches of the calling thread; with `wakeups`,
    /// every record wakes `poll()`ers of [`Ring::fd`].
    pub(crate) fn open_self(wakeups: bool) -> io::Result<Self> {
        let fd = open_on_self(&PerfEventAttr {
            type_: PERF_TYPE_SOFTWARE,
            size: PERF_ATTR_SIZE_VER0,
            config: PERF_COUNT_SW_DUMMY,
            flags: ATTR_EXCLUDE_KERNEL
                | ATTR_CONTEXT_SWITCH
                | if wakeups { ATTR_WATERMARK } else { 0 },
            wakeup_watermark: u32::from(wakeups),
            ..Default::default()
        })?;
        // SAFETY: sysconf has no memory arguments.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        // SAFETY: maps 1 metadata page + 1 data page of the perf fd, shared and writable (so
        // that we own data_tail and the kernel never overwrites unread records).
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            fd,
            base: base.cast(),
            page,
        })
    }

    /// A lock-free read-only view of this ring, valid as long as the ring.
    pub(crate) fn view(&self) -> RingView {
        RingView {
            base: self.base as usize,
            page: self.page,
        }
    }

    /// The fd, for `poll()`.
    pub(crate) fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    fn word(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: `offset` is DATA_HEAD or DATA_TAIL, 8-byte aligned inside the metadata page,
        // which stays mapped as long as `self`; the kernel updates these words concurrently,
        // hence the atomic view.
        unsafe { &*self.base.add(offset).cast::<AtomicU64>() }
    }

    /// The kernel's write position; it changes whenever a record is written.
    pub(crate) fn head(&self) -> u64 {
        self.word(DATA_HEAD).load(Ordering::Acquire)
    }

    /// Consumes every record written so far, oldest first.
    pub(crate) fn drain(&mut self, mut f: impl FnMut(Switch)) {
        // Acquire pairs with the kernel's smp_wmb() before it publishes data_head: records
        // below head are fully written.
        let head = self.head();
        let mut tail = self.word(DATA_TAIL).load(Ordering::Relaxed);
        while tail < head {
            let (kind, misc, size) = self.header(tail);
            if size == 0 {
                break;
            }
            match (kind, misc) {
                (PERF_RECORD_SWITCH, m) if m & PERF_RECORD_MISC_SWITCH_OUT == 0 => f(Switch::In),
                (PERF_RECORD_SWITCH, m) if m & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT != 0 => {
                    f(Switch::OutPreempt)
                }
                (PERF_RECORD_SWITCH, _) => f(Switch::OutBlock),
                (PERF_RECORD_LOST, _) => f(Switch::Lost),
                _ => {}
            }
            tail += size as u64;
        }
        // The records are read; the full fence orders those reads before the tail store that
        // lets the kernel overwrite them (pairs with the kernel's read of data_tail).
        fence(Ordering::SeqCst);
        self.word(DATA_TAIL).store(tail, Ordering::Relaxed);
    }

    /// Type, misc and size of the record at ring position `pos`.
    fn header(&self, pos: u64) -> (u32, u16, u16) {
        self.view().header(pos)
    }
}

/// Read-only access to a ring without owning it: `data_head`, `data_tail`, and a peek at the
/// records between them. Used by a spinning server, which must not take the worker's
/// detector lock while the worker may want it (the server spins at `SCHED_IDLE`: a worker
/// waiting for a lock held by it would wait for a thread that gets almost no CPU).
///
/// The owner of the [`Ring`] must keep it mapped while views are used.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RingView {
    base: usize,
    page: usize,
}

impl RingView {
    fn word(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: DATA_HEAD/DATA_TAIL are aligned words of the metadata page, mapped as long as
        // the ring (type contract); the kernel and the consumer change them concurrently.
        unsafe { &*((self.base + offset) as *const AtomicU64) }
    }

    /// The kernel's write position.
    pub(crate) fn head(&self) -> u64 {
        self.word(DATA_HEAD).load(Ordering::Acquire)
    }

    /// The consumer's read position.
    pub(crate) fn tail(&self) -> u64 {
        self.word(DATA_TAIL).load(Ordering::Acquire)
    }

    /// Whether a blocking switch-out (or lost records) lies in `[from, to)`. A concurrent
    /// consumer may free those bytes meanwhile, so the answer is a hint to be confirmed under
    /// the lock, never a fact.
    pub(crate) fn peek_block(&self, from: u64, to: u64) -> bool {
        let mut pos = from;
        while pos < to {
            let (kind, misc, size) = self.header(pos);
            if size == 0 || kind == PERF_RECORD_LOST {
                return true;
            }
            if kind == PERF_RECORD_SWITCH
                && misc & PERF_RECORD_MISC_SWITCH_OUT != 0
                && misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT == 0
            {
                return true;
            }
            pos += size as u64;
        }
        false
    }

    fn header(&self, pos: u64) -> (u32, u16, u16) {
        let mut raw = [0u8; 8];
        for (i, b) in raw.iter_mut().enumerate() {
            let off = (pos as usize + i) % self.page;
            // SAFETY: the data area is the second mapped page; `off < page`; volatile because
            // the kernel writes it concurrently.
            *b = unsafe { ((self.base + self.page + off) as *const u8).read_volatile() };
        }
        let kind = u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let misc = u16::from_ne_bytes([raw[4], raw[5]]);
        let size = u16::from_ne_bytes([raw[6], raw[7]]);
        (kind, misc, size)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base` is the 2-page mapping made in `open_self`, unmapped exactly once.
        unsafe { libc::munmap(self.base.cast(), 2 * self.page) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The anchor is a perf event of its own, one per process, available wherever a ring is.
    #[test]
    fn the_hooks_anchor_is_a_perf_event() {
        if let Err(e) = Ring::open_self(false) {
            eprintln!("SKIP: perf_event_open refused here ({e}); the /proc fallback is used");
            return;
        }
        let anchor = HooksAnchor::hold().expect("a ring opens, so must the anchor");
        assert!(
            std::ptr::eq(anchor, HooksAnchor::hold().unwrap()),
            "one per process"
        );
        let link = std::fs::read_link(format!("/proc/self/fd/{}", anchor._event.as_raw_fd()))
            .expect("readlink");
        assert_eq!(link.to_str(), Some("anon_inode:[perf_event]"));
    }

    /// A thread's own ring reports its sleep as a blocking switch-out and its return as a
    /// switch-in. Skips (loudly) where the kernel refuses perf.
    #[test]
    fn sleep_is_a_blocking_switch_out() {
        let mut ring = match Ring::open_self(false) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("SKIP: perf_event_open refused here ({e}); the /proc fallback is used");
                return;
            }
        };
        // A sleep preempted between setting its sleeping state and calling schedule() is
        // switched out as a preemption, and if its timer expires before it runs again it never
        // switches out as a block (seen under QEMU TCG). That is legitimate, so the property is
        // checked over a few sleeps: a blocking switch-out, then a switch-in.
        let mut attempts = Vec::new();
        for _ in 0..5 {
            ring.drain(|_| {});
            std::thread::sleep(std::time::Duration::from_millis(2));
            let mut seen = Vec::new();
            ring.drain(|s| seen.push(s));
            let out = seen.iter().position(|&s| s == Switch::OutBlock);
            if let Some(out) = out {
                assert!(
                    seen[out..].contains(&Switch::In),
                    "no switch-in after the block: {seen:?}"
                );
                return;
            }
            attempts.push(seen);
        }
        panic!("no blocking switch-out in five sleeps: {attempts:?}");
    }
}
