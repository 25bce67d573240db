use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rc_heap::{Gc, Trace, Visitor};

use crate::common::{Tracked, scaled};

/// A singly linked list cell that holds the rest of the list directly (no RefCell).
struct Cons {
    next: Option<Gc<Cons>>,
}

// SAFETY: visits `next` once.
unsafe impl Trace for Cons {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.next.trace(visitor);
    }
}

#[test]
fn dropping_a_ten_million_node_list_does_not_overflow_the_stack() {
    let n = scaled(10_000_000);
    let mut head: Option<Gc<Cons>> = None;
    for _ in 0..n {
        head = Some(Gc::new(Cons { next: head }));
    }
    let before = rc_heap::raw::young_count();
    drop(head);
    assert_eq!(rc_heap::raw::young_count(), before - n);
}

/// A value nested inside boxes and vectors between one `Gc` and the next.
#[allow(clippy::vec_box, reason = "the nesting is the point: drop glue between Gcs")]
struct Nested {
    inner: Vec<Box<Option<Gc<Nested>>>>,
}

// SAFETY: visits the one `Gc` it can hold once.
unsafe impl Trace for Nested {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.inner.trace(visitor);
    }
}

#[test]
fn dropping_a_ten_million_deep_nested_structure_does_not_overflow_the_stack() {
    let n = scaled(10_000_000);
    let mut top = Gc::new(Nested { inner: Vec::new() });
    for _ in 0..n {
        top = Gc::new(Nested { inner: vec![Box::new(Some(top))] });
    }
    drop(top);
}

#[test]
fn a_deep_chain_dies_on_a_small_stack() {
    // 64 KiB of stack: recursion of even a few thousand frames would overflow it.
    let n = scaled(1_000_000);
    std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut head: Option<Gc<Cons>> = None;
            for _ in 0..n {
                head = Some(Gc::new(Cons { next: head }));
            }
            drop(head);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn every_object_of_a_chain_is_dropped_once() {
    let drops = Rc::new(Cell::new(0));
    let head = Tracked::new(&drops);
    let mut tail = head.clone();
    for _ in 0..999 {
        let next = Tracked::new(&drops);
        *tail.next.borrow_mut() = Some(next.clone());
        tail = next;
    }
    drop(tail);
    assert_eq!(drops.get(), 0);
    drop(head);
    assert_eq!(drops.get(), 1000);
}

/// Panics in `Drop` when `fail` is set.
struct Fragile {
    fail: bool,
    counter: Rc<Cell<usize>>,
    next: Option<Gc<Fragile>>,
}

impl Drop for Fragile {
    fn drop(&mut self) {
        self.counter.set(self.counter.get() + 1);
        if self.fail {
            panic!("drop failed");
        }
    }
}

// SAFETY: visits `next` once.
unsafe impl Trace for Fragile {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.next.trace(visitor);
    }
}

#[test]
fn a_panicking_drop_in_a_chain_still_frees_the_whole_chain() {
    let counter = Rc::new(Cell::new(0));
    let mut head = None;
    for i in 0..10 {
        head = Some(Gc::new(Fragile { fail: i % 3 == 0, counter: counter.clone(), next: head }));
    }
    let before = rc_heap::raw::young_count();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(head)));
    assert_eq!(*result.unwrap_err().downcast::<&str>().unwrap(), "drop failed");
    assert_eq!(counter.get(), 10);
    assert_eq!(rc_heap::raw::young_count(), before - 10);
    // The heap is still usable.
    let fresh = Gc::new(Fragile { fail: false, counter: counter.clone(), next: None });
    drop(fresh);
    assert_eq!(counter.get(), 11);
}

#[test]
fn a_drop_may_drop_other_handles_and_allocate() {
    struct Spawner {
        spawned: Rc<RefCell<Vec<Gc<u32>>>>,
        next: Option<Gc<Spawner>>,
    }
    impl Drop for Spawner {
        fn drop(&mut self) {
            self.spawned.borrow_mut().push(Gc::new(1));
            self.next.take();
        }
    }
    // SAFETY: visits `next` once.
    unsafe impl Trace for Spawner {
        fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
            self.next.trace(visitor);
        }
    }
    let spawned = Rc::new(RefCell::new(Vec::new()));
    let mut head = None;
    for _ in 0..100 {
        head = Some(Gc::new(Spawner { spawned: spawned.clone(), next: head }));
    }
    drop(head);
    assert_eq!(spawned.borrow().len(), 100);
}

#[test]
fn objects_die_depth_first_in_the_order_their_handles_are_dropped() {
    struct Named {
        name: &'static str,
        log: Rc<RefCell<Vec<&'static str>>>,
        children: Vec<Gc<Named>>,
    }
    impl Drop for Named {
        fn drop(&mut self) {
            self.log.borrow_mut().push(self.name);
        }
    }
    // SAFETY: visits each child once.
    unsafe impl Trace for Named {
        fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
            self.children.trace(visitor);
        }
    }
    let log = Rc::new(RefCell::new(Vec::new()));
    let leaf = |name| Gc::new(Named { name, log: log.clone(), children: Vec::new() });
    let left = Gc::new(Named { name: "left", log: log.clone(), children: vec![leaf("left.0"), leaf("left.1")] });
    let right = Gc::new(Named { name: "right", log: log.clone(), children: vec![leaf("right.0")] });
    let root = Gc::new(Named { name: "root", log: log.clone(), children: vec![left, right] });
    drop(root);
    assert_eq!(*log.borrow(), ["root", "left", "left.0", "left.1", "right", "right.0"]);
}
