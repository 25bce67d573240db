//! `cargo xtask bench`: the benchmarks, each compared with its peer in the same run.

use std::process::Command;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["bench", "-p", "rc-heap", "--bench", "handles", "--"])
        .args(args)
        .status()
        .map_err(|e| format!("could not run cargo bench: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("cargo bench failed: {status}")) }
}
