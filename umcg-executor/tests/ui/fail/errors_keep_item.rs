// An option error does not hide the function: its callers and its body are still checked.
#[umcg::main(servers = 0)]
async fn run() -> u32 {
    let text: &str = 5;
    text.len() as u32
}

fn main() {
    let _: u32 = run();
    let _: String = run();
}
