#[umcg::main(crate = umcg)]
async fn not_a_string() {}

#[umcg::main(crate = "not a path")]
async fn not_a_path() {}

fn main() {}
