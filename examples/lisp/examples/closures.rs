//! A million closures, each a cycle with the environment it was defined in, on both heaps.
//!
//! Each heap runs in a process of its own, so that resident memory is its own:
//!
//! ```text
//! cargo run -p lisp --release --example closures        # both heaps, one table
//! cargo run -p lisp --release --example closures -- gc  # one heap
//! ```
//!
//! On cyclegc's heap, automatic collection frees the cycles as the loop makes them: the live
//! environments stay a few dozen and resident memory stays flat. On `Rc` every one of them is
//! still there at the end.

use std::process::{Command, ExitCode};
use std::time::Instant;

use cyclegc::objgraph::{self, Query};
use lisp::Interpreter;

const TURNS: usize = 1_000_000;

const CLOSURE_LOOP: &str = "
    (define (loop n)
      (if (= n 0)
          'done
          (begin
            (define (f) n)   ; a closure over this call's environment, bound in it
            (loop (- n 1)))))";

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None => {
            println!("{} closure definitions, each heap in its own process", TURNS);
            println!("{:<4} {:>9} {:>20} {:>12} {:>12}", "heap", "time", "environments alive", "VmRSS", "VmHWM");
            for heap in ["gc", "rc"] {
                let exe = std::env::current_exe().expect("the example's own path");
                let status = Command::new(exe).arg(heap).status().expect("could not run the example again");
                if !status.success() {
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Some("gc") => {
            measure::<lisp::gc::Interp>("gc");
            let types = objgraph::most_common_types(Some(5), &Query::default());
            let total = cyclegc::gen_gc::get_objects(None).len();
            println!("     gc: {total} tracked objects alive; most common: {types:?}");
            ExitCode::SUCCESS
        }
        Some("rc") => {
            measure::<lisp::rc::Interp>("rc");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown heap `{other}`: expected `gc` or `rc`");
            ExitCode::from(2)
        }
    }
}

/// Runs the loop once on heap `I` and prints one row of the table.
fn measure<I: Interpreter>(heap: &str) {
    let mut interp = I::default();
    interp.eval_to_string(CLOSURE_LOOP).expect("the loop is a valid program");
    let start = Instant::now();
    let result = interp.eval_to_string(&format!("(loop {TURNS})"));
    let elapsed = start.elapsed();
    assert_eq!(result.as_deref(), Ok("done"));
    println!(
        "{heap:<4} {:>7.0} ms {:>20} {:>12} {:>12}",
        elapsed.as_secs_f64() * 1e3,
        I::live_environments(),
        memory("VmRSS:"),
        memory("VmHWM:"),
    );
}

/// A line of `/proc/self/status` (`VmRSS:` resident memory now, `VmHWM:` its peak), in MiB.
fn memory(field: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok());
    kib.map_or_else(|| "unknown".to_owned(), |kib| format!("{:.1} MiB", kib / 1024.0))
}
