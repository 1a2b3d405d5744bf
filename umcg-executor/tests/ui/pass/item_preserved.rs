// Attributes, doc comments, visibility and the return type survive the expansion; the
// attribute also works on functions other than `main` (they become blocking functions).
#![deny(missing_docs, warnings)]
//! A crate whose public items must be documented.

/// Documented, public, returning a value.
#[umcg::main]
#[inline(never)]
pub async fn compute() -> u64 {
    let f = async { 6 };
    f.await * 7
}

/// `return` returns from the body, as in any `async fn`.
#[umcg::main(servers = 1)]
pub(crate) async fn early() -> &'static str {
    if true {
        return "early";
    }
    "late"
}

fn main() {
    assert_eq!(compute(), 42);
    assert_eq!(early(), "early");
}
