//! Raw UMCG system calls.
//!
//! Each function is the bare syscall with the number taken from a [`KernelAbi`] obtained by
//! positive detection ([`crate::detect::kernel_abi`]); errors come back as `io::Error` carrying
//! the kernel's errno. Requires a kernel with the UMCG series (`kernel/patches`), ABI v1.

use std::io;

use crate::abi::umcg_task;
use crate::detect::KernelAbi;

fn to_result(ret: libc::c_long) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `long umcg_ctl(u32 flags, struct umcg_task *self, clockid_t which_clock)`
///
/// Registers or unregisters the calling thread. Registering a worker returns only once a server
/// has switched to it.
///
/// # Safety
///
/// On `UMCG_CTL_REGISTER` success, `task` must stay valid, 64-byte aligned and not be moved or
/// freed until the thread unregisters or exits; the kernel writes it at any time in between.
///
/// # Examples
///
/// ```
/// use umcg_sys::abi::*;
/// if let Some(abi) = umcg_sys::detect::kernel_abi() {
///     let mut t = Box::new(umcg_task::server(umcg_sys::gettid()));
///     // SAFETY: `t` outlives the registration: it is unregistered before it is dropped.
///     unsafe {
///         umcg_sys::raw::umcg_ctl(&abi, UMCG_CTL_REGISTER, &mut *t, libc::CLOCK_MONOTONIC).unwrap();
///         umcg_sys::raw::umcg_ctl(&abi, UMCG_CTL_UNREGISTER, &mut *t, 0).unwrap();
///     }
/// }
/// ```
pub unsafe fn umcg_ctl(
    abi: &KernelAbi,
    flags: u32,
    task: *mut umcg_task,
    which_clock: libc::clockid_t,
) -> io::Result<()> {
    // SAFETY: the number comes from the kernel's own advertisement; the caller upholds the
    // lifetime contract for `task`, which is the only pointer the kernel keeps.
    to_result(unsafe { libc::syscall(abi.nr_ctl, flags, task, which_clock) })
}

/// `long umcg_wait(u32 flags, s64 abs_timeout)`
///
/// Waits until the caller is made RUNNING, after switching to `next_tid` if it is set.
/// `abs_timeout` is absolute in the registered clock; 0 means none.
///
/// # Examples
///
/// ```
/// if let Some(abi) = umcg_sys::detect::kernel_abi() {
///     // Not registered: the kernel refuses.
///     assert_eq!(umcg_sys::raw::umcg_wait(&abi, 0, 0).unwrap_err().raw_os_error(), Some(libc::EINVAL));
/// }
/// ```
pub fn umcg_wait(abi: &KernelAbi, flags: u32, abs_timeout: i64) -> io::Result<()> {
    // SAFETY: umcg_wait takes no pointers; it only acts on the caller's registered task.
    to_result(unsafe { libc::syscall(abi.nr_wait, flags, abs_timeout) })
}

/// `long umcg_kick(u32 flags, pid_t tid)`
///
/// Forces the UMCG task `tid` of this process through the kernel so it acts on `UMCG_TF_PREEMPT`.
///
/// # Examples
///
/// ```
/// if let Some(abi) = umcg_sys::detect::kernel_abi() {
///     assert!(umcg_sys::raw::umcg_kick(&abi, 0, umcg_sys::gettid()).is_err());
/// }
/// ```
pub fn umcg_kick(abi: &KernelAbi, flags: u32, tid: u32) -> io::Result<()> {
    // SAFETY: umcg_kick takes no pointers; the kernel validates `tid`.
    to_result(unsafe { libc::syscall(abi.nr_kick, flags, tid as libc::pid_t) })
}
