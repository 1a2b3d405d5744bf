// `main` keeps its return type, and `?` works in the body, also when it converts the error.
use std::error::Error;
use std::num::ParseIntError;

#[umcg::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let parsed: u32 = async { "42".parse() }.await?;
    assert_eq!(parsed, 42);
    assert_eq!(same_error().unwrap(), 7);
    Ok(())
}

#[umcg::main]
async fn same_error() -> Result<u8, ParseIntError> {
    let n = "7".parse::<u8>()?;
    Ok(n)
}
