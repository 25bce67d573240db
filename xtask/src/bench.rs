//! `cargo xtask bench [handles|collect]`: the benchmarks, each compared with its peer in the
//! same run.
//!
//! - `handles` (default): criterion benchmarks of `Gc` against `Rc`.
//! - `collect`: gen-gc's collection of the same heap shapes as CPython's `gc.collect()`,
//!   both run here, one after the other, printed side by side with their ratio.

use std::collections::BTreeMap;
use std::process::Command;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        None | Some("handles") => cargo(&["bench", "-p", "rc-heap", "--bench", "handles"]),
        Some("collect") => collect(),
        Some(other) => Err(format!("unknown benchmark `{other}`: expected `handles` or `collect`")),
    }
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo).args(args).status().map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("cargo {} failed: {status}", args.join(" "))) }
}

/// Parses the `{"shape": ..., "ns_per_object": ...}` lines both benchmarks print.
fn parse(output: &str) -> BTreeMap<String, f64> {
    output
        .lines()
        .filter_map(|line| {
            let shape = line.split("\"shape\": \"").nth(1)?.split('"').next()?;
            let ns = line.split("\"ns_per_object\": ").nth(1)?.trim_end_matches('}').trim().parse().ok()?;
            Some((shape.to_owned(), ns))
        })
        .collect()
}

fn collect() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("running gen-gc's collection benchmark...");
    let ours = Command::new(cargo)
        .args(["bench", "-q", "-p", "gen-gc", "--bench", "collect", "--", "--json"])
        .output()
        .map_err(|e| format!("could not run cargo bench: {e}"))?;
    if !ours.status.success() {
        return Err(format!("gen-gc benchmark failed:\n{}", String::from_utf8_lossy(&ours.stderr)));
    }
    let ours = parse(&String::from_utf8_lossy(&ours.stdout));

    eprintln!("running CPython's gc.collect() on the same shapes...");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/collect.py");
    let python = Command::new("python3").arg(script).output();
    let theirs = match python {
        Ok(output) if output.status.success() => parse(&String::from_utf8_lossy(&output.stdout)),
        Ok(output) => return Err(format!("python3 failed:\n{}", String::from_utf8_lossy(&output.stderr))),
        Err(error) => return Err(format!("python3 is needed to compare with CPython: {error}")),
    };
    let version = Command::new("python3")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();

    println!("{:<20} {:>12} {:>12} {:>8}", "shape", "gen-gc ns/obj", "CPython ns/obj", "ratio");
    for (shape, ns) in &ours {
        match theirs.get(shape) {
            Some(cpython) => println!("{shape:<20} {ns:>12.2} {cpython:>12.2} {:>8.2}", ns / cpython),
            None => println!("{shape:<20} {ns:>12.2} {:>12} {:>8}", "-", "-"),
        }
    }
    println!("(CPython: {version}; ratio = gen-gc / CPython, lower is better)");
    Ok(())
}
