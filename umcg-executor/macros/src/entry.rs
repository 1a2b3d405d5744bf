//! The expansion of `#[umcg::main]` and `#[umcg::test]`.
//!
//! The `async fn` becomes a plain `fn` with the same attributes, visibility, name and return
//! type, whose body builds a runtime and blocks on the original body as an `async move` block.
//! The body keeps its own spans, so errors inside it point at the user's code.
//!
//! On an error the output is the item (expanded without the options in error when it is
//! `async`, verbatim otherwise) followed by one `compile_error!` per problem: the errors point
//! at the offending tokens, and the item still exists so its uses and its body are still
//! checked, and an IDE can still resolve names inside it.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::{Attribute, Block, ItemFn};

use crate::config::{parse_options, Configuration, Entry, RuntimeConfig};

/// Expands `entry` applied with `args` to `item`.
pub(crate) fn expand(entry: Entry, args: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let msg = format!("`{}` can only be applied to an `async fn`", entry.attr());
            return with_errors(item, Some(syn::Error::new(Span::call_site(), msg)));
        }
    };
    let mut errors = Errors::default();
    let config = configure(entry, args, &mut errors);
    if func.sig.asyncness.is_none() {
        let msg = "the `async` keyword is missing from the function declaration";
        errors.push(syn::Error::new_spanned(func.sig.fn_token, msg));
        return with_errors(item, errors.0);
    }
    let signature_ok = check_signature(entry, &func, &mut errors);
    let expanded = rewrite(entry, func, &config, signature_ok);
    with_errors(expanded, errors.0)
}

/// Parses and applies the options. An option in error is reported and left at its default;
/// the valid ones still apply (a valid `crate` path keeps the expansion resolvable).
fn configure(entry: Entry, args: TokenStream, errors: &mut Errors) -> RuntimeConfig {
    let mut config = Configuration::new(entry);
    match parse_options(args) {
        Ok(options) => {
            for option in &options {
                if let Err(e) = config.apply(option) {
                    errors.push(e);
                }
            }
        }
        Err(e) => errors.push(e),
    }
    config.build()
}

/// Checks what the attribute requires of the function; `false` if the expansion would add
/// errors of its own (a `#[test]` with arguments, say) on top of the ones reported here.
fn check_signature(entry: Entry, func: &ItemFn, errors: &mut Errors) -> bool {
    let mut ok = true;
    if !func.sig.inputs.is_empty() {
        let msg = format!("the `{}` function cannot take arguments", entry.attr());
        errors.push(syn::Error::new_spanned(&func.sig.inputs, msg));
        ok = false;
    }
    if entry == Entry::Test && !func.sig.generics.params.is_empty() {
        let msg = "the `#[umcg::test]` function cannot be generic";
        errors.push(syn::Error::new_spanned(&func.sig.generics, msg));
        ok = false;
    }
    for attr in &func.attrs {
        if let Some(msg) = conflicting_attribute(entry, attr) {
            errors.push(syn::Error::new_spanned(attr, msg));
            ok = false;
        }
    }
    ok
}

/// Another test or runtime-entry attribute on the same function.
fn conflicting_attribute(entry: Entry, attr: &Attribute) -> Option<&'static str> {
    let path = attr.path();
    let last = path.segments.last()?.ident.to_string();
    match (entry, last.as_str()) {
        (Entry::Test, "test") => {
            Some("second test attribute: `#[umcg::test]` already marks the function as a test")
        }
        (Entry::Main, "test") => Some("`#[umcg::main]` cannot be combined with a test attribute"),
        (_, "main") if path.segments.len() > 1 => {
            Some("only one runtime attribute can be applied to a function")
        }
        _ => None,
    }
}

/// The `async fn` turned into a `fn` that runs its body on a new runtime.
fn rewrite(entry: Entry, func: ItemFn, config: &RuntimeConfig, mark_test: bool) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = func;
    sig.asyncness = None;
    // A conflicting attribute has been reported; dropping it avoids a second, confusing error.
    let attrs = attrs
        .into_iter()
        .filter(|attr| conflicting_attribute(entry, attr).is_none());
    let runtime = config.runtime();
    let test_attr =
        (entry == Entry::Test && mark_test).then(|| quote!(#[::core::prelude::v1::test]));
    // The call that runs the body is spanned at the body's last statement: when the body's value
    // does not match the return type, rustc reports the mismatch there, in the user's code,
    // rather than at the attribute. The runtime expression is parenthesised with that span too
    // (a method call whose receiver starts in the attribute's context is reported at the
    // attribute), while its own tokens stay in the attribute's context, where lints do not look.
    // No `let`: a binding would turn into a pattern if the user had a constant of its name.
    let tail = tail_span(&block);
    let run = quote_spanned!(tail=> (#runtime).block_on(async move #block));
    quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            #run
        }
    }
}

/// The first token of the last statement of `block`, or the whole block if it is empty.
fn tail_span(block: &Block) -> Span {
    let last = block.stmts.last().map(ToTokens::to_token_stream);
    last.and_then(|tokens| tokens.into_iter().next())
        .map_or_else(|| block.brace_token.span.join(), |token| token.span())
}

/// Appends the errors, if any, to `tokens`.
fn with_errors(mut tokens: TokenStream, errors: Option<syn::Error>) -> TokenStream {
    if let Some(errors) = errors {
        tokens.extend(errors.into_compile_error());
    }
    tokens
}

/// All the errors found, reported together.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }
}
