#[umcg::main]
fn main() {}
