//! `#[umcg::main]` and `#[umcg::test]` at run time: the generated functions run their bodies on
//! a runtime built with the requested options. (Their compile-time behaviour and error messages
//! are covered by `macros_ui.rs`.)

use std::num::ParseIntError;

#[umcg::test]
async fn the_body_runs_on_a_runtime() {
    // `spawn` needs a current runtime: it only works inside the generated `block_on`.
    let task = umcg::spawn(async { 6 * 7 });
    assert_eq!(task.await.unwrap(), 42);
}

#[umcg::test]
async fn a_test_can_return_a_result() -> Result<(), ParseIntError> {
    let n: u8 = async { "7".parse() }.await?;
    assert_eq!(n, 7);
    Ok(())
}

#[umcg::test]
#[should_panic(expected = "raised in the body")]
async fn a_panic_in_the_body_fails_the_test() {
    umcg::yield_now().await;
    panic!("raised in the body");
}

#[umcg::test(servers = 2, backend = "emulated")]
async fn options_build_a_working_runtime() {
    let tasks: Vec<_> = (0..8u32)
        .map(|i| umcg::spawn(async move { i * i }))
        .collect();
    let mut sum = 0;
    for task in tasks {
        sum += task.await.unwrap();
    }
    assert_eq!(sum, 140);
}

mod facade {
    pub use umcg as rt;
}

#[umcg::test(crate = "crate::facade::rt", servers = 1)]
async fn the_crate_option_reaches_the_runtime_through_a_reexport() {
    assert_eq!(
        umcg::spawn(async { "via facade" }).await.unwrap(),
        "via facade"
    );
}

/// `#[umcg::main]` on a function other than `main`: a blocking function returning the value.
#[umcg::main(servers = 1)]
async fn compute() -> u64 {
    umcg::spawn(async { 40 }).await.unwrap() + 2
}

#[test]
fn main_attribute_blocks_until_the_body_returns_its_value() {
    assert_eq!(compute(), 42);
    // A new runtime per call: calling it again works after the first runtime is gone.
    assert_eq!(compute(), 42);
}

#[umcg::main(backend = "kernel")]
async fn on_the_kernel_backend() -> &'static str {
    "ran"
}

#[test]
fn the_backend_option_reaches_the_builder() {
    // `backend = "kernel"` must select the kernel: it runs with UMCG in the kernel and fails to
    // build the runtime (a panic from the generated `expect`) without it.
    let result = std::panic::catch_unwind(on_the_kernel_backend);
    if umcg_sys::detect::kernel_abi().is_some() {
        assert_eq!(result.unwrap(), "ran");
    } else {
        assert!(
            std::env::var_os("UMCG_REQUIRE_KERNEL").is_none(),
            "no UMCG kernel"
        );
        let payload = result.expect_err("a kernel runtime was built without UMCG in the kernel");
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        assert!(
            message.contains("failed to build the umcg runtime"),
            "{message}"
        );
    }
}
