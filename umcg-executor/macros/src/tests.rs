//! The expansion compared token by token with what the contract says it should be.

use proc_macro2::TokenStream;

use crate::config::Entry;
use crate::entry::expand;

fn expanded(entry: Entry, args: &str, item: &str) -> String {
    let args: TokenStream = args.parse().expect("args tokenize");
    let item: TokenStream = item.parse().expect("item tokenizes");
    expand(entry, args, item).to_string()
}

fn tokens(text: &str) -> String {
    text.parse::<TokenStream>()
        .expect("expected output tokenizes")
        .to_string()
}

fn compile_errors(output: &str) -> usize {
    output.matches("compile_error").count()
}

#[test]
fn main_without_options_uses_the_builder_defaults() {
    let out = expanded(Entry::Main, "", "async fn main() { work().await }");
    let expected = tokens(
        r#"fn main() {
            (::umcg::runtime::Builder::new()
                .build()
                .expect("failed to build the umcg runtime"))
            .block_on(async move { work().await })
        }"#,
    );
    assert_eq!(out, expected);
}

#[test]
fn every_option_becomes_a_builder_call() {
    let args = r#"servers = 3, backend = "kernel", crate = "my::rt""#;
    let out = expanded(Entry::Main, args, "async fn main() {}");
    let expected = tokens(
        r#"fn main() {
            (my::rt::runtime::Builder::new()
                .servers(3)
                .backend(my::rt::Backend::Kernel)
                .build()
                .expect("failed to build the umcg runtime"))
            .block_on(async move {})
        }"#,
    );
    assert_eq!(out, expected);
}

#[test]
fn backend_names_map_to_variants() {
    for (name, variant) in [
        ("auto", "Auto"),
        ("kernel", "Kernel"),
        ("emulated", "Emulated"),
    ] {
        let args = format!("backend = {name:?}");
        let out = expanded(Entry::Main, &args, "async fn f() {}");
        assert!(out.contains(&tokens(&format!(".backend(::umcg::Backend::{variant})"))));
    }
}

#[test]
fn attributes_visibility_and_return_type_are_kept() {
    let item = "/// Docs.\n#[inline] pub(crate) async fn run() -> Result<u8, E> { Ok(1) }";
    let out = expanded(Entry::Main, "", item);
    let head = tokens(r#"#[doc = " Docs."] #[inline] pub(crate) fn run() -> Result<u8, E>"#);
    assert!(out.starts_with(&head), "{out}");
    assert!(out.contains(&tokens(".block_on(async move { Ok(1) })")));
}

#[test]
fn test_comes_first_and_keeps_the_other_attributes() {
    let out = expanded(Entry::Test, "", "#[should_panic] async fn t() {}");
    let head = tokens("#[::core::prelude::v1::test] #[should_panic] fn t()");
    assert!(out.starts_with(&head), "{out}");
}

#[test]
fn a_function_that_is_not_async_is_emitted_verbatim_with_an_error() {
    let item = "fn main() { body() }";
    let out = expanded(Entry::Main, "", item);
    assert!(out.starts_with(&tokens(item)), "{out}");
    assert_eq!(compile_errors(&out), 1);
}

#[test]
fn option_errors_keep_the_default_expansion() {
    let out = expanded(Entry::Main, "servers = 0", "async fn main() {}");
    assert!(out.contains(&tokens("::umcg::runtime::Builder::new().build()")));
    assert_eq!(compile_errors(&out), 1);
}

#[test]
fn valid_options_still_apply_next_to_a_bad_one() {
    let out = expanded(
        Entry::Main,
        r#"crate = "rt", servers = 0"#,
        "async fn main() {}",
    );
    let builder = tokens("rt::runtime::Builder::new().build()");
    assert!(out.contains(&builder), "{out}");
    assert_eq!(compile_errors(&out), 1);
}

#[test]
fn every_bad_option_is_reported() {
    let args = r#"servers = 0, backend = "fast", color = 1, servers = 2"#;
    let out = expanded(Entry::Test, args, "async fn t() {}");
    assert_eq!(compile_errors(&out), 4);
}

#[test]
fn a_test_with_arguments_gets_no_test_attribute() {
    let out = expanded(Entry::Test, "", "async fn t(x: u8) {}");
    assert!(
        !out.contains(&tokens("#[::core::prelude::v1::test]")),
        "{out}"
    );
    assert_eq!(compile_errors(&out), 1);
}

#[test]
fn a_conflicting_attribute_is_reported_and_dropped() {
    let out = expanded(Entry::Test, "", "#[test] async fn t() {}");
    assert!(!out.contains(&tokens("#[test]")), "{out}");
    assert!(
        !out.contains(&tokens("#[::core::prelude::v1::test]")),
        "{out}"
    );
    assert_eq!(compile_errors(&out), 1);
}

#[test]
fn a_main_with_generics_is_allowed() {
    let out = expanded(
        Entry::Main,
        "",
        "async fn make<T: Default>() -> T { T::default() }",
    );
    assert!(
        out.starts_with(&tokens("fn make<T: Default>() -> T")),
        "{out}"
    );
    assert_eq!(compile_errors(&out), 0);
}
