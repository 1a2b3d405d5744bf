//! Compile-time tests of `#[umcg::main]` and `#[umcg::test]` (trybuild).
//!
//! `tests/ui/pass/*.rs` must build and run; `tests/ui/fail/*.rs` must fail with exactly the
//! diagnostics in the matching `.stderr` file. After changing a message, regenerate the goldens
//! with `TRYBUILD=overwrite cargo test -p umcg-executor --test macros_ui` and review the diff.

#[test]
fn macros_ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
