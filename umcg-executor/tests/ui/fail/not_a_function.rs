#[umcg::main]
struct Main;

#[umcg::test]
const NOT_A_TEST: u8 = 0;

fn main() {}
