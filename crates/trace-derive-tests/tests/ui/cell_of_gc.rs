use std::cell::Cell;

use rc_heap::{Gc, Trace, Weak};

#[derive(Trace)]
struct Node {
    id: u32,
    next: Cell<Option<Gc<Node>>>,
    parent: std::cell::Cell<Weak<Node>>,
    #[trace(skip)]
    skipped: Cell<Option<Gc<Node>>>,
    count: Cell<u32>,
}

fn main() {}
