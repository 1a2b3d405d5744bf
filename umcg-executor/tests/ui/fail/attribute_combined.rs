// A function gets one runtime attribute, and `#[umcg::test]` brings its own `#[test]`.
#[umcg::test]
#[test]
async fn test_twice() {}

#[umcg::test]
#[umcg::test]
async fn umcg_test_twice() {}

#[umcg::main]
#[umcg::main]
async fn main_twice() {}

#[umcg::main]
#[umcg::test]
async fn main_and_test() {}

fn main() {}
