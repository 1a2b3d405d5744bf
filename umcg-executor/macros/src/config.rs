//! The attribute's options.
//!
//! The argument list of `#[umcg::main(..)]` / `#[umcg::test(..)]` is parsed into [`AttrOption`]s
//! (`name = value`, comma separated), fed one by one into a [`Configuration`] (one setter per
//! option, each checking its value and rejecting duplicates), and frozen by
//! [`Configuration::build`] into a [`RuntimeConfig`] that the expansion reads.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Path, Token};

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Entry {
    /// `#[umcg::main]`
    Main,
    /// `#[umcg::test]`
    Test,
}

impl Entry {
    /// The attribute as users write it, for error messages.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Entry::Main => "#[umcg::main]",
            Entry::Test => "#[umcg::test]",
        }
    }
}

/// The values accepted by `backend = "..."`, mirroring `umcg::Backend`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Auto,
    Kernel,
    Emulated,
}

impl Backend {
    fn from_name(name: &str) -> Option<Backend> {
        match name {
            "auto" => Some(Backend::Auto),
            "kernel" => Some(Backend::Kernel),
            "emulated" => Some(Backend::Emulated),
            _ => None,
        }
    }

    fn variant(self) -> Ident {
        let name = match self {
            Backend::Auto => "Auto",
            Backend::Kernel => "Kernel",
            Backend::Emulated => "Emulated",
        };
        Ident::new(name, Span::call_site())
    }
}

/// One `name = value` option, as written.
pub(crate) struct AttrOption {
    name: Ident,
    value: Expr,
}

impl Parse for AttrOption {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if !input.peek(Ident::peek_any) {
            return Err(input.error(
                "expected an option: `servers = N`, `backend = \"...\"` or `crate = \"path\"`",
            ));
        }
        // `Ident::parse_any` because `crate` is a keyword.
        let name = Ident::parse_any(input)?;
        if !input.peek(Token![=]) {
            let shown = name.unraw();
            return Err(syn::Error::new(
                name.span(),
                format!("options are written `name = value`: expected `{shown} = ...`"),
            ));
        }
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(AttrOption { name, value })
    }
}

/// Parses the whole argument list of the attribute.
pub(crate) fn parse_options(args: TokenStream) -> syn::Result<Vec<AttrOption>> {
    let parser = Punctuated::<AttrOption, Token![,]>::parse_terminated;
    Ok(syn::parse::Parser::parse2(parser, args)?
        .into_iter()
        .collect())
}

/// The options collected so far; one setter per option.
pub(crate) struct Configuration {
    entry: Entry,
    /// The options given so far, valid or not, to report repetitions.
    seen: Vec<String>,
    servers: Option<usize>,
    backend: Option<Backend>,
    crate_path: Option<Path>,
}

impl Configuration {
    /// An empty configuration: every option at its default.
    pub(crate) fn new(entry: Entry) -> Self {
        Configuration {
            entry,
            seen: Vec::new(),
            servers: None,
            backend: None,
            crate_path: None,
        }
    }

    /// Applies one option, or explains why it is wrong.
    pub(crate) fn apply(&mut self, option: &AttrOption) -> syn::Result<()> {
        let name = option.name.unraw().to_string();
        let span = option.name.span();
        let known = ["servers", "backend", "crate"].contains(&name.as_str());
        if known && self.seen.contains(&name) {
            return Err(syn::Error::new(
                span,
                format!("`{name}` is given more than once"),
            ));
        }
        self.seen.push(name.clone());
        match name.as_str() {
            "servers" => self.set_servers(&option.value),
            "backend" => self.set_backend(&option.value),
            "crate" => self.set_crate(&option.value),
            _ => Err(syn::Error::new(span, unknown_option(self.entry, &name))),
        }
    }

    fn set_servers(&mut self, value: &Expr) -> syn::Result<()> {
        let servers = match literal(value) {
            Some(Lit::Int(int)) => int
                .base10_parse::<usize>()
                .map_err(|_| syn::Error::new(int.span(), "`servers` is too large for a `usize`"))?,
            Some(Lit::Str(s)) => {
                let msg = format!(
                    "`servers` takes an integer, not a string: `servers = {}`",
                    s.value()
                );
                return Err(syn::Error::new_spanned(value, msg));
            }
            _ => {
                let msg = "`servers` takes a positive integer literal, e.g. `servers = 4`";
                return Err(syn::Error::new_spanned(value, msg));
            }
        };
        if servers == 0 {
            let msg = "`servers` must be at least 1: a runtime needs a server thread to run tasks";
            return Err(syn::Error::new_spanned(value, msg));
        }
        self.servers = Some(servers);
        Ok(())
    }

    fn set_backend(&mut self, value: &Expr) -> syn::Result<()> {
        let name = string_value(value, "backend", "backend = \"kernel\"")?;
        match Backend::from_name(&name.value()) {
            Some(backend) => {
                self.backend = Some(backend);
                Ok(())
            }
            None => Err(syn::Error::new(
                name.span(),
                format!(
                    "unknown backend `{}`: expected \"auto\", \"kernel\" or \"emulated\"",
                    name.value()
                ),
            )),
        }
    }

    fn set_crate(&mut self, value: &Expr) -> syn::Result<()> {
        let path = string_value(value, "crate", "crate = \"::umcg\"")?;
        let parsed = path.parse::<Path>().map_err(|_| {
            let msg = format!(
                "`crate` takes a path such as \"::umcg\", found \"{}\"",
                path.value()
            );
            syn::Error::new(path.span(), msg)
        })?;
        self.crate_path = Some(parsed);
        Ok(())
    }

    /// Freezes the configuration; unset options take their defaults.
    pub(crate) fn build(self) -> RuntimeConfig {
        RuntimeConfig {
            servers: self.servers,
            backend: self.backend,
            crate_path: self.crate_path,
        }
    }
}

fn unknown_option(entry: Entry, name: &str) -> String {
    let hint = match name {
        "worker_threads" => "; the umcg runtime calls its threads `servers`",
        "flavor" => "; the umcg runtime has a single flavor",
        _ => "",
    };
    format!(
        "unknown option `{name}` for `{}`: expected `servers`, `backend` or `crate`{hint}",
        entry.attr()
    )
}

fn literal(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(ExprLit { lit, attrs }) if attrs.is_empty() => Some(lit),
        _ => None,
    }
}

fn string_value(value: &Expr, option: &str, example: &str) -> syn::Result<LitStr> {
    match literal(value) {
        Some(Lit::Str(s)) => Ok(s.clone()),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("`{option}` takes a string literal, e.g. `{example}`"),
        )),
    }
}

/// The checked options, ready for the expansion.
#[derive(Default)]
pub(crate) struct RuntimeConfig {
    servers: Option<usize>,
    backend: Option<Backend>,
    crate_path: Option<Path>,
}

impl RuntimeConfig {
    /// `<crate>::runtime::Builder::new()[.servers(N)][.backend(..)].build().expect(..)`.
    ///
    /// The tokens are spanned at the attribute (so lints see generated code), except the paths
    /// under a user-given crate path, which are spanned at that path so that a path that does
    /// not resolve is reported there.
    pub(crate) fn runtime(&self) -> TokenStream {
        let (krate, krate_span) = match &self.crate_path {
            Some(path) => (quote!(#path), path.span()),
            None => (quote!(::umcg), Span::call_site()),
        };
        let builder = quote_spanned!(krate_span=> #krate::runtime::Builder);
        let servers = self.servers.map(|n| {
            let n = Literal::usize_unsuffixed(n);
            quote!(.servers(#n))
        });
        let backend = self.backend.map(|b| {
            let variant = b.variant();
            let backend = quote_spanned!(krate_span=> #krate::Backend::#variant);
            quote!(.backend(#backend))
        });
        quote! {
            #builder::new()
                #servers
                #backend
                .build()
                .expect("failed to build the umcg runtime")
        }
    }
}
