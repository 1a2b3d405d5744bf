//! Which CPUs the calling thread may run on, and pinning it to one of them.
//!
//! Benchmarks and tests that compare two ways of switching threads pin the threads that
//! switch, so that both ways are timed on one CPU (or on two chosen ones).

use std::io;

use crate::emul::sched;

/// The CPUs the calling thread may run on, in increasing order.
///
/// # Examples
///
/// ```
/// let cpus = umcg_sys::cpu::allowed()?;
/// assert!(!cpus.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn allowed() -> io::Result<Vec<usize>> {
    let set = sched::affinity(0)?;
    Ok((0..libc::CPU_SETSIZE as usize)
        // SAFETY: CPU_ISSET reads one bit of the set; `c` is below CPU_SETSIZE.
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect())
}

/// Pins the calling thread to `cpu`; threads it creates afterwards inherit the pin.
///
/// # Errors
///
/// `EINVAL` if the thread may not run on `cpu` (see [`allowed`]).
///
/// # Examples
///
/// ```
/// let first = umcg_sys::cpu::allowed()?[0];
/// std::thread::spawn(move || {
///     umcg_sys::cpu::pin_current_thread(first)?;
///     assert_eq!(umcg_sys::cpu::allowed()?, [first]);
///     Ok::<(), std::io::Error>(())
/// })
/// .join()
/// .unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    sched::pin(0, cpu as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpu_beyond_the_set_is_an_error_not_a_panic() {
        let err = pin_current_thread(libc::CPU_SETSIZE as usize).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    }

    #[test]
    fn a_pinned_thread_may_run_on_its_cpu_only() {
        let last = *allowed().unwrap().last().unwrap();
        std::thread::spawn(move || {
            pin_current_thread(last).unwrap();
            assert_eq!(allowed().unwrap(), [last]);
            assert_eq!(sched::current_cpu(), last as i32);
        })
        .join()
        .unwrap();
    }
}
