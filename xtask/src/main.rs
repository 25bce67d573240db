//! `cargo xtask <task>`: the project's tasks, run through the alias in `.cargo/config.toml`.
//!
//! - `report [--out DIR]`: the main job. Runs the article's walkthrough on this library and
//!   writes a browsable report (default `target/report/index.html`).
//! - `bench [handles|collect|pauses|objgraph|peers|weak|lisp]`: runs the benchmarks, each
//!   against its peers in the same run.
//! - `layers [CRATE...]`: checks that the files of `rc-heap` and `gen-gc` (or the crates
//!   named) call each other one way, in the order their modules are declared.

mod bench;
mod layers;
mod report;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("report") => report::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("layers") => layers::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <report [--out DIR] | bench [handles|collect|pauses|objgraph|peers|weak|lisp] | layers [CRATE...]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}
