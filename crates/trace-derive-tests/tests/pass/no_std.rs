//! The derive's expansion names only `core` and the heap crate, so it compiles in a
//! `#![no_std]` crate that uses `alloc` (the heap itself still links `std`).
#![no_std]

extern crate alloc;

use alloc::vec::Vec;
use core::cell::RefCell;

use rc_heap::{Gc, Trace};

#[derive(Trace)]
#[trace(describe)]
#[derive(Debug)]
struct Node {
    id: u32,
    #[trace(skip)]
    children: RefCell<Vec<u32>>,
    next: RefCell<Option<Gc<Node>>>,
}

fn main() {
    let node = Gc::new(Node { id: 1, children: RefCell::new(Vec::new()), next: RefCell::new(None) });
    *node.next.borrow_mut() = Some(node.clone());
    assert!(Gc::is_tracked(&node));
    assert!(Gc::to_any(&node).describe().is_some_and(|text| text.starts_with("Node { id: 1")));
    *node.next.borrow_mut() = None;
}
