//! Attribute macros for the `umcg` runtime: `#[umcg::main]` and `#[umcg::test]`.
//!
//! Use them through the re-exports `umcg::main` and `umcg::test`; the examples live there.

use proc_macro::TokenStream;
use quote::quote;
use syn::ItemFn;

/// Runs an `async fn main` on a `umcg` runtime.
#[proc_macro_attribute]
pub fn main(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand(item, false)
}

/// Runs an `async fn` test on a fresh `umcg` runtime.
#[proc_macro_attribute]
pub fn test(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand(item, true)
}

fn expand(item: TokenStream, is_test: bool) -> TokenStream {
    let mut f: ItemFn = match syn::parse(item) {
        Ok(f) => f,
        Err(e) => return e.to_compile_error().into(),
    };
    f.sig.asyncness = None;
    let body = &f.block;
    let attrs = &f.attrs;
    let vis = &f.vis;
    let sig = &f.sig;
    let test_attr = if is_test {
        quote!(#[::core::prelude::v1::test])
    } else {
        quote!()
    };
    quote!(
        #test_attr
        #(#attrs)*
        #vis #sig {
            ::umcg::runtime::Builder::new()
                .build()
                .expect("failed to build the umcg runtime")
                .block_on(async move #body)
        }
    )
    .into()
}
