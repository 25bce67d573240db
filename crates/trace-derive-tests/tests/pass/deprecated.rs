//! A deprecated type, and a type with a deprecated field type, derive `Trace` without a
//! warning of the derive's own: a crate that denies `deprecated` still compiles.
#![deny(deprecated, warnings)]

use std::cell::RefCell;

use rc_heap::{Gc, Trace};

#[derive(Trace)]
#[deprecated(note = "use `Node`")]
struct OldNode {
    next: RefCell<Option<Gc<OldNode>>>,
}

#[derive(Trace)]
#[deprecated]
struct Pair<T>(Option<Gc<T>>, u32);

#[derive(Trace)]
struct Node {
    id: u32,
    #[deprecated]
    parent: Option<Gc<Node>>,
}

#[allow(deprecated)]
fn main() {
    let old = Gc::new(OldNode { next: RefCell::new(None) });
    *old.next.borrow_mut() = Some(old.clone());
    let pair = Gc::new(Pair(Some(Gc::new(1u8)), 2));
    let node = Gc::new(Node { id: 1, parent: None });
    let _ = (pair.1, node.id, node.parent.is_none());
}
