//! objgraph's answers on a heap of 1,000,000 tracked objects, in milliseconds (median of
//! several runs).
//!
//! The heap, as in `xtask/bench/objgraph.py` for Python's objgraph: 100,000 parents, each
//! with 9 children that point back at their parent (1,000,000 tracked objects, 100,000
//! cycles held from outside). Timed: `show_growth` after 1,000 new objects (it collects
//! first, as objgraph does), `most_common_types`, `show_backrefs` of one child to depth 3
//! (DOT text), `find_backref_chain_to_root` of one child, the heap snapshot both graph
//! functions start from, and on a snapshot: the dominator tree with the ten largest
//! retainers, the cycles among garbage, and the snapshot as JSON. Then `LeakCheck` with its
//! defaults (one warm-up run, three measured runs, a full collection after each) on the same
//! heap, around a scenario that makes 1,000 objects and frees them (a clean report) and around
//! one that keeps them (a report with two groups).
//! Then V8's `.heapsnapshot` of the whole heap (snapshot included), written to `io::sink()` so
//! that only the export is timed, and saved to a file in the temporary directory; and with
//! persistent ids (to the sink), the first time (every object gets an id) and again.
//!
//! `cargo bench -p objgraph --bench heap` prints a table; `-- --json` prints one JSON object
//! per line for `cargo xtask bench objgraph`.

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Instant;

use cyclegc::{Gc, GcAny, Trace};

#[derive(Trace)]
struct Parent {
    children: RefCell<Vec<Gc<Child>>>,
}

#[derive(Trace)]
struct Child {
    parent: Gc<Parent>,
}

const PARENTS: usize = 100_000;
const CHILDREN: usize = 9;
const RUNS: usize = 5;

fn build() -> Vec<Gc<Parent>> {
    (0..PARENTS)
        .map(|_| {
            let parent = Gc::new(Parent { children: RefCell::new(Vec::with_capacity(CHILDREN)) });
            for _ in 0..CHILDREN {
                let child = Gc::new(Child { parent: parent.clone() });
                parent.children.borrow_mut().push(child);
            }
            parent
        })
        .collect()
}

fn median_ms(mut f: impl FnMut() -> std::time::Duration) -> f64 {
    let mut samples: Vec<f64> = (0..RUNS).map(|_| f().as_secs_f64() * 1000.0).collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let as_json = std::env::args().any(|a| a == "--json");
    gen_gc::disable();
    let parents = build();
    let objects = gen_gc::get_objects(None).len();
    let query = objgraph::Query::default();
    let target: GcAny = Gc::to_any(&parents[PARENTS / 2].children.borrow()[0]);

    let mut sink = Vec::new();
    let _ = objgraph::show_growth(None, &query, &mut sink);
    let mut extra = Vec::new();
    let show_growth = median_ms(|| {
        extra.push(build_few());
        sink.clear();
        let start = Instant::now();
        objgraph::show_growth(None, &query, &mut sink).expect("writes to memory");
        start.elapsed()
    });
    let most_common_types = median_ms(|| {
        let start = Instant::now();
        black_box(objgraph::most_common_types(Some(10), &query));
        start.elapsed()
    });
    let show_backrefs = median_ms(|| {
        let start = Instant::now();
        let graph = objgraph::show_backrefs(std::slice::from_ref(&target), &objgraph::GraphOptions::default());
        black_box(graph.to_dot());
        start.elapsed()
    });
    let find_backref_chain = median_ms(|| {
        let start = Instant::now();
        black_box(objgraph::find_backref_chain_to_root(&target, 20, &[]));
        start.elapsed()
    });
    let snapshot = median_ms(|| {
        let start = Instant::now();
        black_box(objgraph::HeapGraph::snapshot());
        start.elapsed()
    });
    let dominators = median_ms(|| {
        let graph = objgraph::HeapGraph::snapshot();
        let start = Instant::now();
        black_box(objgraph::Dominators::new(&graph).largest_retainers(10));
        start.elapsed()
    });
    let cycles = median_ms(|| {
        let graph = objgraph::HeapGraph::snapshot();
        let start = Instant::now();
        black_box(graph.garbage_cycles());
        start.elapsed()
    });
    let json = median_ms(|| {
        let start = Instant::now();
        black_box(objgraph::HeapSnapshot::capture().to_json().len());
        start.elapsed()
    });
    let leak_check_clean = median_ms(|| {
        let start = Instant::now();
        black_box(objgraph::LeakCheck::new().run(|| drop(build_few())));
        start.elapsed()
    });
    let kept = RefCell::new(Vec::new());
    let leak_check_leaking = median_ms(|| {
        let start = Instant::now();
        black_box(objgraph::LeakCheck::new().run(|| kept.borrow_mut().push(build_few())));
        start.elapsed()
    });
    let v8 = median_ms(|| {
        let start = Instant::now();
        objgraph::write_heapsnapshot(std::io::sink()).expect("writes to a sink");
        start.elapsed()
    });
    let file = std::env::temp_dir().join(format!("objgraph-bench-{}.heapsnapshot", std::process::id()));
    let v8_file = median_ms(|| {
        let start = Instant::now();
        objgraph::save_heapsnapshot(&file).expect("writes the temporary file");
        start.elapsed()
    });
    std::fs::remove_file(&file).expect("removes the temporary file");
    // Last: persistent ids leave an id on every object, which later measurements would pay for.
    let write_persistent = || {
        let start = Instant::now();
        let graph = objgraph::HeapGraph::snapshot();
        graph.write_heapsnapshot(std::io::sink(), objgraph::NodeIds::Persistent).expect("writes to a sink");
        start.elapsed()
    };
    let v8_persistent_first = write_persistent().as_secs_f64() * 1000.0;
    let v8_persistent_again = median_ms(write_persistent);
    drop((extra, parents, target, kept));
    gen_gc::collect();

    let results = [
        ("show_growth", show_growth),
        ("most_common_types", most_common_types),
        ("show_backrefs_depth3", show_backrefs),
        ("find_backref_chain", find_backref_chain),
        ("heap_snapshot", snapshot),
        ("dominators_on_snapshot", dominators),
        ("garbage_cycles_on_snapshot", cycles),
        ("snapshot_to_json", json),
        ("leak_check_clean", leak_check_clean),
        ("leak_check_leaking", leak_check_leaking),
        ("v8_heapsnapshot", v8),
        ("v8_save_to_file", v8_file),
        ("v8_persistent_first", v8_persistent_first),
        ("v8_persistent_again", v8_persistent_again),
    ];
    for (operation, ms) in results {
        if as_json {
            println!("{{\"shape\": \"{operation}\", \"ms\": {ms:.2}, \"objects\": {objects}}}");
        } else {
            println!("{operation:<22} {ms:>9.2} ms  ({objects} objects)");
        }
    }
}

/// 1,000 more objects, so that `show_growth` has something to report.
fn build_few() -> Vec<Gc<Parent>> {
    (0..100)
        .map(|_| {
            let parent = Gc::new(Parent { children: RefCell::new(Vec::new()) });
            for _ in 0..CHILDREN {
                let child = Gc::new(Child { parent: parent.clone() });
                parent.children.borrow_mut().push(child);
            }
            parent
        })
        .collect()
}
