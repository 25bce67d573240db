//! The closure loop on cyclegc's heap: every turn's environment-closure cycle is garbage, and
//! automatic collection keeps the number of live environments flat, however long the loop.

mod common;

use cyclegc::objgraph::{self, Query};
use lisp::Interpreter;

#[test]
fn a_million_closure_cycles_stay_a_flat_number_of_live_objects() {
    let turns = common::turns();
    let run = common::run_closure_loop::<lisp::gc::Interp>(turns, || {
        // The interpreter's own count and objgraph's agree: every environment is on the heap.
        assert_eq!(lisp::gc::Interp::live_environments(), objgraph::count("Env", &Query::default()));
    });
    println!(
        "gc heap, {turns} turns: at most {} environments alive between batches, {} left at the end, resident memory +{}",
        run.most_alive,
        run.alive_after,
        run.resident_growth.map_or("unknown".to_owned(), common::mib),
    );
    println!("most common types: {:?}", objgraph::most_common_types(Some(6), &Query::default()));
    // Automatic collection runs every few hundred allocations: the cycles never pile up.
    assert!(run.most_alive < 5_000, "{} environments alive at once", run.most_alive);
    // What is left is a few cycles younger than the last collection, and the interpreter's
    // global environment, a cycle too (with every function defined in it) since the
    // interpreter was dropped: a full collection frees them all.
    cyclegc::gen_gc::collect();
    assert_eq!(lisp::gc::Interp::live_environments(), 0);
    if let Some(growth) = run.resident_growth {
        assert!(growth < 64 << 20, "resident memory grew by {}", common::mib(growth));
    }
}
