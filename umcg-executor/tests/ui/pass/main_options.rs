// Every option at once, in any order, with a trailing comma.
#[umcg::main(backend = "emulated", servers = 2,)]
async fn main() {
    assert_eq!(async { 1 + 1 }.await, 2);
}
