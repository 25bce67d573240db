//! Programs of the kind users write (an IR with use-def chains, a DOM with listeners, an LRU
//! cache), and what objgraph tells about them.

use std::cell::RefCell;

use cyclegc::{Gc, Trace, gen_gc};

#[derive(Trace)]
struct Session {
    items: RefCell<Vec<Gc<Item>>>,
}

#[derive(Trace)]
struct Item {
    session: RefCell<Option<Gc<Session>>>,
}

/// A session and its items, each item pointing back at the session: one strongly connected
/// component that is not a ring.
fn session_with_items(items: usize) -> Gc<Session> {
    let session = Gc::new(Session { items: RefCell::new(Vec::new()) });
    for _ in 0..items {
        let item = Gc::new(Item { session: RefCell::new(Some(session.clone())) });
        session.items.borrow_mut().push(item);
    }
    session
}

#[test]
fn a_cycle_summary_that_is_not_a_ring_shows_a_real_loop_and_how_many_more() {
    gen_gc::disable();
    drop(session_with_items(4));
    let cycles = objgraph::garbage_cycles();
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0].len(), 5);
    // Every arrow is a reference: Item -> Session -> Item, never Item -> Item.
    assert_eq!(cycles[0].to_string(), "5 objects: Item -> Session -> Item, and 3 more");
    drop(cycles);
    assert_eq!(gen_gc::collect(), 5);
    gen_gc::enable();
}

#[test]
fn a_cycle_summary_of_a_ring_reads_round_the_ring() {
    gen_gc::disable();
    drop(session_with_items(1));
    let cycles = objgraph::garbage_cycles();
    assert_eq!(cycles[0].to_string(), "2 objects: Item -> Session");
    drop(cycles);
    assert_eq!(gen_gc::collect(), 2);
    gen_gc::enable();
}
