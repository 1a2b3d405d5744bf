//! Prints whether the running kernel advertises UMCG, and what.

fn main() {
    match umcg_sys::detect::probe() {
        Ok(abi) => println!(
            "UMCG kernel ABI v{}: umcg_ctl={} umcg_wait={} umcg_kick={}",
            abi.version, abi.nr_ctl, abi.nr_wait, abi.nr_kick
        ),
        Err(why) => println!("no kernel UMCG: {why}"),
    }
}
