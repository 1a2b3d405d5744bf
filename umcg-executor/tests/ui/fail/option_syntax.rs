// Options are `name = value`; nested lists and bare values are rejected.
#[umcg::main(servers(4))]
async fn nested() {}

#[umcg::main(servers)]
async fn bare_name() {}

#[umcg::test(4)]
async fn bare_value() {}

#[umcg::main(servers = 2 backend = "auto")]
async fn missing_comma() {}

fn main() {}
