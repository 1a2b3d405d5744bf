// Errors in the body point at the user's code, not at the attribute.
#[umcg::main]
async fn main() -> Result<(), std::io::Error> {
    let n: u32 = "1".parse()?;
    let _ = n;
    Ok(1)
}
