//! Backend selection: Auto follows detection, Emulated works everywhere, Kernel fails cleanly
//! without a UMCG kernel (and must work with one).

mod support;

use umcg::runtime::Builder;
use umcg::Backend;

#[test]
fn emulated_backend_works_anywhere() {
    let rt = Builder::new().backend(Backend::Emulated).build().unwrap();
    assert_eq!(rt.handle().metrics().backend, "emulated");
    assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
}

#[test]
fn auto_follows_detection() {
    let rt = Builder::new().backend(Backend::Auto).build().unwrap();
    let expect = if umcg_sys::detect::kernel_abi().is_some() {
        "kernel"
    } else {
        "emulated"
    };
    assert_eq!(rt.handle().metrics().backend, expect);
}

#[test]
fn kernel_backend_works_or_is_cleanly_unsupported() {
    match Builder::new().backend(Backend::Kernel).build() {
        Ok(rt) => {
            assert_eq!(rt.handle().metrics().backend, "kernel");
            assert_eq!(rt.block_on(rt.spawn_blocking(|| 7)).unwrap(), 7);
        }
        Err(e) => {
            assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
            // Loud skip, or a failure inside the UMCG guest.
            assert!(support::backends().len() == 1);
        }
    }
}
