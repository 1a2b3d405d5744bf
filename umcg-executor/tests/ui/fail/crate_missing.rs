// `crate = "..."` is used as written: a wrong path is reported by name resolution at the path.
#[umcg::main(crate = "no_such_crate")]
async fn main() {}
