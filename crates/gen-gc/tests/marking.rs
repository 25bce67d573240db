//! The collector's own cases, beyond the ports of CPython's tests: paths of the marking walk.

#![allow(unsafe_code, reason = "a hand-written Trace that panics")]

use std::cell::RefCell;
use std::rc::Rc;

use cyclegc::{Gc, Trace, Visitor};

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

/// A `Trace` that always panics.
struct Exploding;

// SAFETY: holds no `Gc`; it panics before visiting anything.
unsafe impl Trace for Exploding {
    const TRACKED: bool = true;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {
        panic!("a Trace that panics");
    }
}

/// A debug writer that drops and creates heap objects whenever it writes.
struct Churning {
    out: Rc<RefCell<String>>,
    objects: Vec<Gc<Node>>,
}

impl std::io::Write for Churning {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.borrow_mut().push_str(&String::from_utf8_lossy(buf));
        self.objects.pop();
        self.objects.push(node());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The report of a panicking `Trace` reaches the debug writer only once the lists are whole
/// again: a writer that unlinks and links objects cannot corrupt them.
#[test]
fn a_debug_writer_that_changes_the_heap_sees_whole_lists() {
    gen_gc::disable();
    let out = Rc::new(RefCell::new(String::new()));
    let objects: Vec<Gc<Node>> = (0..20).map(|_| node()).collect();
    let neighbours: Vec<Gc<Node>> = (0..20).map(|_| node()).collect();
    gen_gc::set_debug_output(Some(Box::new(Churning { out: out.clone(), objects })));
    let exploding = Gc::new(Exploding);
    let more: Vec<Gc<Node>> = (0..20).map(|_| node()).collect();
    assert_eq!(gen_gc::collect(), 0);
    assert!(out.borrow().contains("a panic in <Exploding>'s Trace impl was caught"), "{}", out.borrow());
    assert_eq!(gen_gc::collect(), 0, "the lists are whole");
    gen_gc::set_debug_output(None);
    drop((exploding, more, neighbours));
    assert!(gen_gc::get_objects(None).unwrap().is_empty());
    gen_gc::enable();
}
