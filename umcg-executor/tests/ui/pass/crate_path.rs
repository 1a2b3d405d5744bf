// `crate = "..."` names the runtime crate when it is renamed or re-exported.
mod reexport {
    pub use ::umcg as rt;
}

extern crate umcg as renamed;

#[renamed::main(crate = "renamed")]
async fn main() {
    assert_eq!(inner(), 3);
}

#[umcg::main(crate = "crate::reexport::rt", servers = 1)]
async fn inner() -> u8 {
    3
}
