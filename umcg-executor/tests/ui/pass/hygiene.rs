// The expansion introduces no bindings and uses absolute paths, so the user's items and locals
// (whatever their names) neither clash with it nor change what it refers to.
#![allow(non_upper_case_globals)]

const body: u8 = 1;
const umcg_runtime: u8 = 2;

mod runtime {
    pub const NAME: &str = "mine";
}

struct Builder;

#[umcg::main]
async fn main() {
    assert_eq!(body + umcg_runtime, 3);
    assert_eq!(runtime::NAME, "mine");
    let Builder = Builder;
    assert_eq!(locals(), 5);
}

#[umcg::main]
async fn locals() -> u8 {
    let future = 2;
    let rt = 3;
    future + rt
}
