#[umcg::main(threads = 4)]
async fn a() {}

// tokio's names get a hint.
#[umcg::main(worker_threads = 4)]
async fn b() {}

#[umcg::test(flavor = "multi_thread")]
async fn c() {}

fn main() {}
