#[umcg::main(servers = 2, servers = 3)]
async fn a() {}

#[umcg::test(backend = "auto", crate = "umcg", backend = "kernel")]
async fn b() {}

fn main() {}
