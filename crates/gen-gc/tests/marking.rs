//! The collector's own cases, beyond the ports of CPython's tests: paths of the marking walk.

use std::cell::RefCell;

use cyclegc::{Gc, Trace};

#[derive(Trace)]
struct Node {
    next: RefCell<Vec<Gc<Node>>>,
}

fn node() -> Gc<Node> {
    Gc::new(Node { next: RefCell::new(Vec::new()) })
}

/// An object the marking walk first finds at zero (only a later object refers to it) goes
/// back to the list when that object is found reachable; the walk then reaches it through
/// the link it was given, which must lead to its whole object.
#[test]
fn an_object_found_reachable_after_it_looked_unreachable_survives() {
    gen_gc::disable();
    // `first` comes before `held` in the young list, and only `held` refers to it.
    let first = node();
    let held = node();
    held.next.borrow_mut().push(first.clone());
    let watch = Gc::downgrade(&first);
    drop(first);
    assert_eq!(gen_gc::collect(), 0);
    assert!(watch.upgrade().is_some(), "reachable through `held`");
    assert_eq!(gen_gc::collect(), 0, "and the lists are whole for the next collection");
    drop(held);
    assert!(watch.upgrade().is_none());
    gen_gc::enable();
}
