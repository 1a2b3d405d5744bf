#[umcg::test]
async fn takes_an_argument(value: u32) {
    assert_eq!(value, 1);
}

fn main() {}
