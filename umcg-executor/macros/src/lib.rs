//! Attribute macros for the `umcg` runtime: `#[umcg::main]` and `#[umcg::test]`.
//!
//! Use them through their re-exports in the runtime crate, `umcg::main` and `umcg::test`, which
//! show the documentation of each attribute; this crate is an implementation detail of `umcg`
//! and its version follows it. Both attributes turn an `async fn` into a plain function that
//! builds a runtime with `umcg::runtime::Builder`, runs the body on it with
//! `Runtime::block_on`, and returns the body's value.
//!
//! The expansion is one `Configuration` built from the options (one setter per option, each
//! checking its value), then one rewrite of the function. On misuse the function is emitted
//! anyway, next to a `compile_error!` at the offending tokens, so that errors in the body and at
//! the call sites are still reported and IDEs can still resolve names in the body.
//!
//! # Examples
//!
//! ```
//! #[umcg::main(servers = 2)]
//! async fn main() {
//!     let greeting = umcg::spawn(async { "hello from a umcg task" });
//!     println!("{}", greeting.await.unwrap());
//! }
//! ```

#![doc(test(attr(deny(warnings))))]

mod config;
mod entry;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

use config::Entry;

/// Runs an `async fn` (usually `main`) on a new `umcg` runtime.
///
/// The function becomes a synchronous function with the same attributes, doc comments,
/// visibility, name and return type. Its body builds a runtime,
///
/// ```text
/// ::umcg::runtime::Builder::new()
///     [.servers(N)]
///     [.backend(::umcg::Backend::Auto | Kernel | Emulated)]
///     .build()
///     .expect("failed to build the umcg runtime")
///     .block_on(async move { /* the original body */ })
/// ```
///
/// and returns what the original body returns. The runtime is dropped (and its threads shut
/// down) when the function returns.
///
/// # Options
///
/// Comma-separated `name = value` pairs, each at most once:
///
/// | option            | value                                | builder call                  |
/// |-------------------|--------------------------------------|-------------------------------|
/// | `servers = N`     | a positive integer literal           | `.servers(N)`                 |
/// | `backend = "..."` | `"auto"`, `"kernel"` or `"emulated"` | `.backend(umcg::Backend::..)` |
/// | `crate = "path"`  | the path of the runtime crate        | none: replaces `::umcg`       |
///
/// An option that is not given keeps the builder's default. `crate` is for code that reaches
/// the runtime under another name: a renamed dependency, or a re-export from a facade crate.
///
/// # Errors
///
/// Misuse is a compile error at the offending tokens: a function that is not `async` or that
/// takes arguments; an unknown or repeated option; a `servers` value that is not a positive
/// integer literal; an unknown backend; a `crate` value that is not a path in a string; a
/// second runtime or test attribute on the same function.
///
/// The attribute may be used on functions other than `main`: they become functions that block
/// the calling thread until the body completes, so they must not be called from inside a
/// runtime.
///
/// # Panics
///
/// The generated function panics if the runtime cannot be built, for example with
/// `backend = "kernel"` on a kernel without UMCG.
///
/// # Examples
///
/// ```
/// #[umcg::main]
/// async fn main() {
///     let task = umcg::spawn(async { 6 * 7 });
///     assert_eq!(task.await.unwrap(), 42);
/// }
/// ```
///
/// `main` can return a `Result`, and `?` works in the body:
///
/// ```
/// use std::num::ParseIntError;
///
/// #[umcg::main(servers = 2)]
/// async fn main() -> Result<(), ParseIntError> {
///     let n: u32 = "42".parse()?;
///     assert_eq!(n, 42);
///     Ok(())
/// }
/// ```
///
/// Choosing the backend: the emulation works on every kernel (`"auto"`, the default, picks the
/// kernel's UMCG when it is available and the emulation otherwise).
///
/// ```
/// #[umcg::main(backend = "emulated", servers = 1)]
/// async fn main() {
///     umcg::yield_now().await;
/// }
/// ```
///
/// Reaching the runtime through a re-export:
///
/// ```
/// mod facade {
///     pub use umcg as rt;
/// }
///
/// #[umcg::main(crate = "facade::rt")]
/// async fn main() {
///     assert_eq!(async { 1 }.await, 1);
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Entry::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on its own new `umcg` runtime.
///
/// The function becomes a `#[test]` function with the same attributes (`#[should_panic]`,
/// `#[ignore]`, doc comments, ...) and return type; its body runs on a runtime built as for
/// `#[umcg::main]`, and it takes the same options (`servers = N`, `backend = "auto" |
/// "kernel" | "emulated"`, `crate = "path"`). Every test gets a fresh runtime, so tests do not
/// share servers or tasks.
///
/// # Errors
///
/// As for `#[umcg::main]`, and also: the function must not be generic, and must not carry a
/// second `#[test]` attribute (`#[umcg::test]` adds it).
///
/// # Panics
///
/// The test panics (fails) if the runtime cannot be built, for example with
/// `backend = "kernel"` on a kernel without UMCG.
///
/// # Examples
///
/// ```
/// #[umcg::test]
/// async fn spawned_tasks_complete() {
///     let task = umcg::spawn(async { "done" });
///     assert_eq!(task.await.unwrap(), "done");
/// }
///
/// #[umcg::test(servers = 2, backend = "emulated")]
/// async fn returns_a_result() -> Result<(), std::num::ParseIntError> {
///     assert_eq!("7".parse::<u8>()?, 7);
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Entry::Test, args.into(), item.into()).into()
}
