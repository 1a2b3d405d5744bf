#[umcg::main(backend = "io_uring")]
async fn unknown() {}

#[umcg::main(backend = "Kernel")]
async fn wrong_case() {}

#[umcg::test(backend = kernel)]
async fn not_a_string() {}

fn main() {}
