//! Compile-time tests of `#[umcg::main]` and `#[umcg::test]` (trybuild).
//!
//! `tests/ui/pass/*.rs` must build and run; `tests/ui/fail/*.rs` must fail with exactly the
//! diagnostics in the matching `.stderr` file. After changing a message, regenerate the goldens
//! with `TRYBUILD=overwrite cargo test -p umcg-executor --test macros_ui` and review the diff.

#[test]
fn macros_ui() {
    // trybuild builds the cases with cargo, from the source tree that cargo names in
    // CARGO_MANIFEST_DIR when it runs the test. A test binary run on its own (the QEMU guest
    // runs copies of the workspace's test binaries) has neither cargo nor the sources.
    if std::env::var_os("CARGO_MANIFEST_DIR").is_none() {
        eprintln!("SKIP: macros_ui needs cargo and the source tree; run it with `cargo test`");
        return;
    }
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
