//! `cargo xtask bench [handles|collect|pauses|objgraph|peers|weak|lisp]`: the benchmarks, each
//! compared with its peers in the same run.
//!
//! - `handles` (default): criterion benchmarks of `Gc` against `Rc`.
//! - `collect`: gen-gc's collection of the same heap shapes as CPython's `gc.collect()`,
//!   both run here, one after the other, printed side by side with their ratio.
//! - `pauses`: automatic collection's pauses while a program with 10^6 and 10^7 live old
//!   objects keeps allocating, against CPython's on the same program (`gc.callbacks`):
//!   longest pause, 99th percentile, collector time and wall time, with their ratios.
//!   `cargo xtask bench pauses 1e6` runs the smaller heaps only.
//! - `objgraph`: objgraph's answers on a 1,000,000-object heap, against Python's objgraph on
//!   the same heap (when `python3 -c "import objgraph"` works).
//! - `peers`: cyclegc against dumpster, rust-cc, gcmodule, bacon-rajan-cc and `Rc` on the
//!   same workloads, in one process (`benches/peers`).
//!   `peers --mimalloc` runs the same comparison with mimalloc as every library's global allocator
//!   (the peer crate's `mimalloc` feature), so that no library wins by its allocator alone.
//! - `weak`: weak references and weak containers (insert, lookup, iteration and the death of
//!   1,000,000 entries) against CPython's `weakref` containers and against `HashMap`/`HashSet`
//!   of strong handles, and `Gc::downgrade`/`Weak::upgrade` against `std::rc::Weak`.
//! - `lisp`: the example interpreter (`examples/lisp`) on cyclegc's heap against the same
//!   interpreter on `Rc`: criterion's medians side by side with their ratio, then live
//!   environments and resident memory after a million closure definitions on each heap.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        None | Some("handles") => cargo(&["bench", "-p", "rc-heap", "--bench", "handles"]),
        Some("collect") => side_by_side(&COLLECT),
        Some("pauses") => pauses(args.get(1).map(String::as_str)),
        Some("objgraph") => side_by_side(&OBJGRAPH),
        Some("peers") if args.get(1).is_some_and(|flag| flag == "--mimalloc") => {
            cargo(&["bench", "-p", "peer-bench", "--bench", "peers", "--features", "mimalloc"])
        }
        Some("peers") => cargo(&["bench", "-p", "peer-bench", "--bench", "peers"]),
        Some("weak") => weak(),
        Some("lisp") => lisp(),
        Some(other) => Err(format!(
            "unknown benchmark `{other}`: expected `handles`, `collect`, `pauses`, `objgraph`, `peers`, `weak` or `lisp`"
        )),
    }
}

fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo).args(args).status().map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("cargo {} failed: {status}", args.join(" "))) }
}

/// The interpreter's criterion groups, each with a `gc` and an `rc` benchmark.
const LISP_GROUPS: [(&str, &str); 2] = [("fib_25", "(fib 25)"), ("closure_loop", "10,000 closure definitions")];

fn lisp() -> Result<(), String> {
    cargo(&["bench", "-p", "lisp", "--bench", "interp"])?;
    let criterion = target_dir().join("criterion");
    println!();
    println!("{:<28} {:>12} {:>12} {:>8}", "benchmark", "Gc", "Rc", "Gc/Rc");
    for (group, what) in LISP_GROUPS {
        let gc = criterion_median_ns(&criterion.join(group).join("gc/new/estimates.json"))?;
        let rc = criterion_median_ns(&criterion.join(group).join("rc/new/estimates.json"))?;
        println!("{what:<28} {:>9.2} ms {:>9.2} ms {:>8.2}", gc / 1e6, rc / 1e6, gc / rc);
    }
    println!("(criterion's medians; ratio = Gc / Rc, lower is better)");
    println!();
    // The bench profile, so that the example reuses what `cargo bench` just built.
    cargo(&["run", "-q", "-p", "lisp", "--profile", "bench", "--example", "closures"])
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// `median.point_estimate` of a criterion `estimates.json`, in nanoseconds.
fn criterion_median_ns(path: &Path) -> Result<f64, String> {
    let json = std::fs::read_to_string(path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
    json.split("\"median\"")
        .nth(1)
        .and_then(|median| median.split("\"point_estimate\":").nth(1))
        .and_then(|value| value.split([',', '}']).next()?.trim().parse().ok())
        .ok_or_else(|| format!("no median in {}", path.display()))
}

/// A benchmark of ours and its Python twin, both printing `{"shape": ..., "<unit>": ...}` lines.
struct Comparison {
    package: &'static str,
    bench: &'static str,
    script: &'static str,
    unit: &'static str,
    peer: &'static str,
    /// Alternating rounds of both sides.
    rounds: usize,
}

const COLLECT: Comparison = Comparison {
    package: "gen-gc",
    bench: "collect",
    script: "collect.py",
    unit: "ns_per_object",
    peer: "CPython's gc.collect()",
    rounds: 3,
};

const OBJGRAPH: Comparison = Comparison {
    package: "objgraph",
    bench: "heap",
    script: "objgraph_heap.py",
    unit: "ms",
    peer: "Python's objgraph",
    rounds: 1,
};

const WEAK: Comparison = Comparison {
    package: "weak-collections",
    bench: "weak",
    script: "weak.py",
    unit: "ns_per_entry",
    peer: "CPython's weakref",
    rounds: 3,
};

/// The weak containers' operations, each measured against a strong twin.
const WEAK_CONTAINERS: [(&str, &str); 3] =
    [("value_dict", "strong_value_map"), ("key_dict", "strong_key_map"), ("weak_set", "strong_set")];
const WEAK_OPERATIONS: [&str; 5] = ["insert", "lookup", "iterate", "death", "death_then_len"];
const WEAK_HANDLE_OPERATIONS: [&str; 6] =
    ["downgrade", "upgrade", "weak_clone", "weak_drop", "death_with_weak", "death_without_weak"];

/// `bench weak`: the containers against CPython and against strong maps, the handles
/// against `std::rc::Weak`, all from the same alternating rounds.
fn weak() -> Result<(), String> {
    // Alternating rounds, as `side_by_side` runs them.
    let mut ours_rounds = Vec::new();
    let mut theirs_rounds = Vec::new();
    for round in 1..=WEAK.rounds {
        eprintln!("round {round}/{}: weak references and containers...", WEAK.rounds);
        ours_rounds.push(run_ours(&WEAK)?);
        eprintln!("round {round}/{}: {}...", WEAK.rounds, WEAK.peer);
        theirs_rounds.extend(run_theirs(&WEAK));
    }
    let (ours, theirs, rounds) = (medians(&ours_rounds), medians(&theirs_rounds), ours_rounds.len());
    let cell = |value: Option<&f64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    let ratio = |a: Option<&f64>, b: Option<&f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.3}", a / b),
        _ => "-".to_owned(),
    };
    println!(
        "{:<26} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "ns per entry", "ours", "CPython", "strong", "ours/CPython", "ours/strong"
    );
    for (container, strong) in WEAK_CONTAINERS {
        for operation in WEAK_OPERATIONS {
            let shape = format!("{container}_{operation}");
            let (mine, python) = (ours.get(&shape), theirs.get(&shape));
            let strong = ours.get(&format!("{strong}_{operation}"));
            println!(
                "{shape:<26} {:>10} {:>10} {:>10} {:>12} {:>12}",
                cell(mine),
                cell(python),
                cell(strong),
                ratio(mine, python),
                ratio(mine, strong)
            );
        }
    }
    println!();
    println!("{:<26} {:>10} {:>10} {:>10}", "ns per operation", "Gc/Weak", "Rc/Weak", "ratio");
    for operation in WEAK_HANDLE_OPERATIONS {
        let (mine, rc) = (ours.get(operation), ours.get(&format!("rc_{operation}")));
        println!("{operation:<26} {:>10} {:>10} {:>10}", cell(mine), cell(rc), ratio(mine, rc));
    }
    println!(
        "control: FxHashMap<u64, u64> lookup, the floor of a lookup in a table of this size: {} ns",
        cell(ours.get("bare_map_lookup"))
    );
    println!("(medians of {rounds} alternating rounds, each the median of its own runs; lower is better)");
    Ok(())
}

fn run_ours(comparison: &Comparison) -> Result<BTreeMap<String, f64>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let ours = Command::new(cargo)
        .args(["bench", "-q", "-p", comparison.package, "--bench", comparison.bench, "--", "--json"])
        .output()
        .map_err(|e| format!("could not run cargo bench: {e}"))?;
    if !ours.status.success() {
        return Err(format!("{} benchmark failed:\n{}", comparison.package, String::from_utf8_lossy(&ours.stderr)));
    }
    Ok(parse(&String::from_utf8_lossy(&ours.stdout), comparison.unit))
}

/// The Python side, or `None` (with the reason on stderr) when it cannot run here.
fn run_theirs(comparison: &Comparison) -> Option<BTreeMap<String, f64>> {
    let script = format!("{}/bench/{}", env!("CARGO_MANIFEST_DIR"), comparison.script);
    match Command::new("python3").arg(&script).output() {
        Ok(output) if output.status.success() => Some(parse(&String::from_utf8_lossy(&output.stdout), comparison.unit)),
        Ok(output) => {
            eprintln!(
                "{} did not run (is it installed?):\n{}",
                comparison.peer,
                String::from_utf8_lossy(&output.stderr)
            );
            None
        }
        Err(error) => {
            eprintln!("python3 is needed to compare with {}: {error}", comparison.peer);
            None
        }
    }
}

/// Per shape, the median over rounds.
fn medians(rounds: &[BTreeMap<String, f64>]) -> BTreeMap<String, f64> {
    let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for round in rounds {
        for (shape, value) in round {
            values.entry(shape.clone()).or_default().push(*value);
        }
    }
    values
        .into_iter()
        .map(|(shape, mut values)| {
            values.sort_by(f64::total_cmp);
            (shape, values[values.len() / 2])
        })
        .collect()
}

/// Parses the `{"shape": ..., "<unit>": ...}` lines both sides print.
fn parse(output: &str, unit: &str) -> BTreeMap<String, f64> {
    let field = format!("\"{unit}\": ");
    output
        .lines()
        .filter_map(|line| {
            let shape = line.split("\"shape\": \"").nth(1)?.split('"').next()?;
            let value = line.split(&field).nth(1)?.split([',', '}']).next()?.trim().parse().ok()?;
            Some((shape.to_owned(), value))
        })
        .collect()
}

fn side_by_side(comparison: &Comparison) -> Result<(), String> {
    // The machine's speed drifts; alternating the two sides and taking each one's median
    // keeps a slow spell from landing on one side only.
    let mut ours_rounds = Vec::new();
    let mut theirs_rounds = Vec::new();
    for round in 1..=comparison.rounds {
        eprintln!("round {round}/{}: {}'s `{}` benchmark...", comparison.rounds, comparison.package, comparison.bench);
        ours_rounds.push(run_ours(comparison)?);
        eprintln!("round {round}/{}: {} on the same heap...", comparison.rounds, comparison.peer);
        match run_theirs(comparison) {
            Some(theirs) => theirs_rounds.push(theirs),
            None => break,
        }
    }
    let ours = medians(&ours_rounds);
    let theirs = medians(&theirs_rounds);
    let version = Command::new("python3")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();

    let unit = comparison.unit;
    println!("{:<22} {:>14} {:>14} {:>8}", "shape", format!("ours {unit}"), format!("Python {unit}"), "ratio");
    for (shape, value) in &ours {
        match theirs.get(shape) {
            Some(python) => println!("{shape:<22} {value:>14.2} {python:>14.2} {:>8.2}", value / python),
            None => println!("{shape:<22} {value:>14.2} {:>14} {:>8}", "-", "-"),
        }
    }
    println!(
        "({}: {version}; medians of {} alternating rounds; ratio = ours / Python, lower is better)",
        comparison.peer,
        ours_rounds.len()
    );
    Ok(())
}

/// The figures `pauses` compares, as both sides print them.
const PAUSE_FIELDS: [&str; 6] = ["max_ms", "p99_ms", "max_cpu_ms", "p99_cpu_ms", "total_ms", "wall_ms"];

fn pauses(sizes: Option<&str>) -> Result<(), String> {
    let sizes = sizes.unwrap_or("1e6,1e7");
    eprintln!("gen-gc's `pauses` benchmark (heaps of {sizes})...");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let ours = Command::new(cargo)
        .args(["bench", "-q", "-p", "gen-gc", "--bench", "pauses", "--", "--json", "--sizes", sizes])
        .output()
        .map_err(|e| format!("could not run cargo bench: {e}"))?;
    if !ours.status.success() {
        return Err(format!("gen-gc's pauses benchmark failed:\n{}", String::from_utf8_lossy(&ours.stderr)));
    }
    let ours = String::from_utf8_lossy(&ours.stdout).into_owned();
    eprintln!("CPython on the same program...");
    let script = format!("{}/bench/pauses.py", env!("CARGO_MANIFEST_DIR"));
    let theirs = match Command::new("python3").args([script.as_str(), "--sizes", sizes]).output() {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout).into_owned(),
        Ok(output) => {
            eprintln!("CPython did not run:\n{}", String::from_utf8_lossy(&output.stderr));
            String::new()
        }
        Err(error) => {
            eprintln!("python3 is needed to compare with CPython: {error}");
            String::new()
        }
    };
    let ours: Vec<(String, BTreeMap<String, f64>)> = parse_records(&ours);
    let theirs: BTreeMap<String, BTreeMap<String, f64>> = parse_records(&theirs).into_iter().collect();
    println!(
        "{:<32} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "heap (side)", "max ms", "p99 ms", "max CPU", "p99 CPU", "gc ms", "wall ms"
    );
    for (shape, figures) in &ours {
        let row = |label: &str, figures: &BTreeMap<String, f64>| {
            let cells: Vec<String> = PAUSE_FIELDS.iter().map(|f| format!("{:>10.3}", figures[*f])).collect();
            println!("{label:<32} {}", cells.join(" "));
        };
        let policy = if figures.get("incremental") == Some(&1.0) { "incremental" } else { "generational" };
        row(&format!("{shape} ({policy})"), figures);
        if let Some(python) = theirs.get(shape) {
            row(&format!("{shape} (CPython)"), python);
            let cells: Vec<String> =
                PAUSE_FIELDS.iter().map(|f| format!("{:>10.3}", figures[*f] / python[*f])).collect();
            println!("{:<32} {}", "  ratio", cells.join(" "));
        }
    }
    println!(
        "(one run of each side; pauses in wall-clock time and in the thread's CPU time, which leaves \
         out preemption; gc ms = all collections' wall-clock time; ratio = ours / CPython, lower is better)"
    );
    Ok(())
}

/// Parses lines of `{"shape": ..., "<field>": <number>, ...}` into each shape's fields.
fn parse_records(output: &str) -> Vec<(String, BTreeMap<String, f64>)> {
    output
        .lines()
        .filter_map(|line| {
            let shape = line.split("\"shape\": \"").nth(1)?.split('"').next()?.to_owned();
            let fields = line
                .trim_matches(|c| c == '{' || c == '}')
                .split(", \"")
                .filter_map(|pair| {
                    let (name, value) = pair.split_once("\": ")?;
                    Some((name.trim_matches('"').to_owned(), value.trim().parse().ok()?))
                })
                .collect();
            Some((shape, fields))
        })
        .collect()
}
