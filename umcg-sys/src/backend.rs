//! One interface over the two implementations of the UMCG ABI: the kernel's syscalls and the
//! userspace emulation.
//!
//! Code written against [`Umcg`] runs unchanged on a UMCG kernel and on a stock kernel; the
//! conformance suite (`tests/conformance.rs`) runs the same assertions against both.

use std::io;

use crate::abi::umcg_task;
use crate::detect::KernelAbi;
use crate::raw;

/// The three UMCG operations, as the kernel defines them.
///
/// Semantics, errno values and ordering rules are those of `Documentation/userspace-api/umcg.rst`
/// in the kernel series; an implementation that differs is a bug in it.
///
/// # Examples
///
/// ```
/// use umcg_sys::backend::{Kernel, Umcg};
/// if let Some(k) = Kernel::detect() {
///     assert_eq!(k.name(), "kernel");
/// }
/// ```
pub trait Umcg: Send + Sync {
    /// A short name for reports: `"kernel"` or `"emulated"`.
    fn name(&self) -> &'static str;

    /// `umcg_ctl(flags, task, which_clock)`.
    ///
    /// # Safety
    ///
    /// As [`raw::umcg_ctl`]: a registered `task` must stay valid, aligned and in place until the
    /// thread unregisters or exits.
    unsafe fn ctl(
        &self,
        flags: u32,
        task: *mut umcg_task,
        which_clock: libc::clockid_t,
    ) -> io::Result<()>;

    /// `umcg_wait(flags, abs_timeout)`.
    fn wait(&self, flags: u32, abs_timeout: i64) -> io::Result<()>;

    /// `umcg_kick(flags, tid)`.
    fn kick(&self, flags: u32, tid: u32) -> io::Result<()>;
}

/// The kernel implementation, available only after positive detection.
///
/// # Examples
///
/// ```
/// let k = umcg_sys::backend::Kernel::detect();
/// println!("kernel UMCG: {}", k.is_some());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Kernel {
    abi: KernelAbi,
}

impl Kernel {
    /// The kernel backend if the running kernel advertises the UMCG ABI this crate speaks.
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = umcg_sys::backend::Kernel::detect();
    /// ```
    pub fn detect() -> Option<Self> {
        crate::detect::kernel_abi().map(|abi| Self { abi })
    }

    /// The advertised ABI.
    ///
    /// # Examples
    ///
    /// ```
    /// if let Some(k) = umcg_sys::backend::Kernel::detect() {
    ///     assert_eq!(k.abi().version, umcg_sys::abi::UMCG_ABI_VERSION);
    /// }
    /// ```
    pub fn abi(&self) -> &KernelAbi {
        &self.abi
    }
}

impl Umcg for Kernel {
    fn name(&self) -> &'static str {
        "kernel"
    }

    unsafe fn ctl(
        &self,
        flags: u32,
        task: *mut umcg_task,
        which_clock: libc::clockid_t,
    ) -> io::Result<()> {
        // SAFETY: forwarded from the caller, who upholds `raw::umcg_ctl`'s contract.
        unsafe { raw::umcg_ctl(&self.abi, flags, task, which_clock) }
    }

    fn wait(&self, flags: u32, abs_timeout: i64) -> io::Result<()> {
        raw::umcg_wait(&self.abi, flags, abs_timeout)
    }

    fn kick(&self, flags: u32, tid: u32) -> io::Result<()> {
        raw::umcg_kick(&self.abi, flags, tid)
    }
}

/// The kernel backend when the running kernel advertises UMCG, else the emulation
/// ([`crate::emul::Emulated::get`]).
///
/// # Examples
///
/// ```
/// let umcg = umcg_sys::backend::auto();
/// assert!(matches!(umcg.name(), "kernel" | "emulated"));
/// ```
pub fn auto() -> &'static dyn Umcg {
    static KERNEL: std::sync::OnceLock<Option<Kernel>> = std::sync::OnceLock::new();
    match KERNEL.get_or_init(Kernel::detect) {
        Some(k) => k,
        None => crate::emul::Emulated::get(),
    }
}
