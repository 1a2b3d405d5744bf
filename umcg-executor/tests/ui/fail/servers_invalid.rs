#[umcg::main(servers = 0)]
async fn zero() {}

#[umcg::main(servers = "4")]
async fn string() {}

#[umcg::main(servers = 2.5)]
async fn float() {}

const N: usize = 4;
#[umcg::main(servers = N)]
async fn not_a_literal() {}

#[umcg::test(servers = -1)]
async fn negative() {}

#[umcg::test(servers = 99999999999999999999999)]
async fn too_big() {}

fn main() {}
