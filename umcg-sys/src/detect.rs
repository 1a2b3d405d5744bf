//! Positive detection of the UMCG kernel ABI.
//!
//! A kernel with the series advertises itself in sysfs:
//!
//! ```text
//! /sys/kernel/umcg/version     ABI version, decimal ("1")
//! /sys/kernel/umcg/umcg_ctl    syscall number of umcg_ctl, decimal
//! /sys/kernel/umcg/umcg_wait   syscall number of umcg_wait
//! /sys/kernel/umcg/umcg_kick   syscall number of umcg_kick
//! ```
//!
//! UMCG syscalls are only ever issued with numbers read from there. Syscall numbers past 6.12's
//! last one are taken by later mainline kernels, so calling a guessed number on an unknown kernel
//! could run an unrelated syscall; this module never does.

use std::io;
use std::path::Path;
use std::sync::OnceLock;

use crate::abi::UMCG_ABI_VERSION;

/// Where the kernel advertises UMCG.
pub const SYSFS_DIR: &str = "/sys/kernel/umcg";

/// The UMCG ABI as advertised by the running kernel.
///
/// # Examples
///
/// ```
/// match umcg_sys::detect::kernel_abi() {
///     Some(abi) => println!("UMCG v{} (umcg_ctl = {})", abi.version, abi.nr_ctl),
///     None => println!("no UMCG in this kernel"),
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelAbi {
    /// ABI version (`UMCG_ABI_VERSION` for the one this crate speaks).
    pub version: u32,
    /// Syscall number of `umcg_ctl`.
    pub nr_ctl: libc::c_long,
    /// Syscall number of `umcg_wait`.
    pub nr_wait: libc::c_long,
    /// Syscall number of `umcg_kick`.
    pub nr_kick: libc::c_long,
}

/// Why the kernel ABI is not usable.
///
/// # Examples
///
/// ```
/// use umcg_sys::detect::{probe_dir, Unavailable};
/// let err = probe_dir(std::path::Path::new("/nonexistent")).unwrap_err();
/// assert!(matches!(err, Unavailable::NotAdvertised));
/// ```
#[derive(Debug)]
pub enum Unavailable {
    /// The kernel does not advertise UMCG (no sysfs directory): a stock kernel.
    NotAdvertised,
    /// The kernel advertises a UMCG ABI version this crate does not speak.
    Version(u32),
    /// The advertisement exists but could not be read or parsed.
    Malformed(io::Error),
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAdvertised => {
                write!(f, "kernel does not advertise UMCG ({SYSFS_DIR} missing)")
            }
            Self::Version(v) => write!(
                f,
                "kernel UMCG ABI v{v}, this crate speaks v{UMCG_ABI_VERSION}"
            ),
            Self::Malformed(e) => write!(f, "malformed UMCG advertisement in {SYSFS_DIR}: {e}"),
        }
    }
}

impl std::error::Error for Unavailable {}

/// Reads and validates an advertisement directory laid out like [`SYSFS_DIR`].
///
/// # Examples
///
/// ```
/// let dir = std::env::temp_dir().join(format!("umcg-detect-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// for (f, v) in [("version", "1\n"), ("umcg_ctl", "500\n"), ("umcg_wait", "501\n"), ("umcg_kick", "502\n")] {
///     std::fs::write(dir.join(f), v).unwrap();
/// }
/// let abi = umcg_sys::detect::probe_dir(&dir).unwrap();
/// assert_eq!((abi.version, abi.nr_ctl, abi.nr_wait, abi.nr_kick), (1, 500, 501, 502));
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn probe_dir(dir: &Path) -> Result<KernelAbi, Unavailable> {
    let version = match read_number(&dir.join("version")) {
        Ok(v) => v,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Unavailable::NotAdvertised),
        Err(e) => return Err(Unavailable::Malformed(e)),
    };
    let version = u32::try_from(version).map_err(|_| malformed("version out of range"))?;
    if version != UMCG_ABI_VERSION {
        return Err(Unavailable::Version(version));
    }
    let nr = |name: &str| read_number(&dir.join(name)).map_err(Unavailable::Malformed);
    let abi = KernelAbi {
        version,
        nr_ctl: nr("umcg_ctl")?,
        nr_wait: nr("umcg_wait")?,
        nr_kick: nr("umcg_kick")?,
    };
    let nrs = [abi.nr_ctl, abi.nr_wait, abi.nr_kick];
    if nrs.iter().any(|&n| n <= 0) || nrs[0] == nrs[1] || nrs[1] == nrs[2] || nrs[0] == nrs[2] {
        return Err(malformed("syscall numbers must be distinct and positive"));
    }
    Ok(abi)
}

fn malformed(msg: &str) -> Unavailable {
    Unavailable::Malformed(io::Error::new(io::ErrorKind::InvalidData, msg))
}

fn read_number(path: &Path) -> io::Result<libc::c_long> {
    let text = std::fs::read_to_string(path)?;
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a number: {text:?}", path.display()),
        )
    })
}

/// Probes [`SYSFS_DIR`] once per process and returns the result.
///
/// # Examples
///
/// ```
/// let _ = umcg_sys::detect::probe();
/// ```
pub fn probe() -> &'static Result<KernelAbi, Unavailable> {
    static ABI: OnceLock<Result<KernelAbi, Unavailable>> = OnceLock::new();
    ABI.get_or_init(|| probe_dir(Path::new(SYSFS_DIR)))
}

/// The running kernel's UMCG ABI, if it advertises one this crate speaks.
///
/// # Examples
///
/// ```
/// if umcg_sys::detect::kernel_abi().is_none() {
///     println!("falling back to the emulation");
/// }
/// ```
pub fn kernel_abi() -> Option<KernelAbi> {
    probe().as_ref().ok().copied()
}
