// Each backend name is accepted; the functions are not called, so no kernel is needed.
#[umcg::main(backend = "auto")]
async fn auto() {}

#[umcg::main(backend = "kernel")]
async fn kernel() {}

#[umcg::main(backend = "emulated", servers = 1)]
async fn emulated() {}

fn main() {
    let _: [fn(); 3] = [auto, kernel, emulated];
}
