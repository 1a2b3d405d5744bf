// The plain form: `async fn main()` with no options.
#[umcg::main]
async fn main() {
    let value = async { 21 * 2 }.await;
    assert_eq!(value, 42);
}
