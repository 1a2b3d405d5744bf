//! Prints which UMCG implementation this machine offers and which one a runtime picks.
//!
//! `cargo run -p examples --example backend`

use umcg::runtime::Builder;
use umcg::Backend;

fn main() {
    match umcg_sys::detect::kernel_abi() {
        Some(abi) => println!(
            "kernel UMCG: ABI v{} (syscalls {}, {}, {})",
            abi.version, abi.nr_ctl, abi.nr_wait, abi.nr_kick
        ),
        None => println!("kernel UMCG: not available (no /sys/kernel/umcg)"),
    }
    for backend in [Backend::Auto, Backend::Kernel, Backend::Emulated] {
        match Builder::new().backend(backend).servers(1).build() {
            Ok(rt) => {
                let m = rt.handle().metrics();
                println!(
                    "{backend:?}: runs on \"{}\" ({} worker)",
                    m.backend, m.workers
                );
            }
            Err(e) => println!("{backend:?}: unavailable: {e}"),
        }
    }
}
