//! The closure loop on `std::rc::Rc`: every turn's environment-closure cycle leaks.

mod common;

#[test]
fn a_million_closure_cycles_leak_a_million_environments() {
    let turns = common::turns();
    let run = common::run_closure_loop::<lisp::rc::Interp>(turns, || {});
    println!(
        "rc heap, {turns} turns: {} environments left at the end, resident memory +{}",
        run.alive_after,
        run.resident_growth.map_or("unknown".to_owned(), common::mib),
    );
    // Every turn but the last (which defines nothing) leaves its cycle behind.
    assert_eq!(run.alive_after, turns);
    assert!(run.most_alive > turns);
    if let Some(growth) = run.resident_growth {
        // An environment alone (its object and its table) takes more than 100 bytes.
        assert!(growth > turns * 100, "resident memory grew by only {}", common::mib(growth));
    }
}
