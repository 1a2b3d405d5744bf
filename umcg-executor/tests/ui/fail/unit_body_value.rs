// A value left in a body whose function returns `()`.
#[umcg::main]
async fn main() {
    42
}
