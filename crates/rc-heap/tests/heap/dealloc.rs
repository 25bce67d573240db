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

/// A node that logs its death, panics in `Drop` when told to, and may have a weak reference
/// with a callback (which sends its death down the general path).
struct Logged {
    index: usize,
    fail: bool,
    log: Rc<RefCell<Vec<String>>>,
    children: Vec<Gc<Logged>>,
}

impl Drop for Logged {
    fn drop(&mut self) {
        self.log.borrow_mut().push(format!("drop {}", self.index));
        if self.fail {
            panic!("drop {} failed", self.index);
        }
    }
}

// SAFETY: visits each child once.
unsafe impl Trace for Logged {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.children.trace(visitor);
    }
}

/// A chain of `n` `Logged` nodes, `0` at its head; every `watch_every`-th node has a weak
/// reference whose callback logs. Returns the head and the weak references.
fn logged_chain(
    n: usize,
    watch_every: usize,
    log: &Rc<RefCell<Vec<String>>>,
) -> (Gc<Logged>, Vec<rc_heap::Weak<Logged>>) {
    let mut next: Option<Gc<Logged>> = None;
    let mut weaks = Vec::new();
    for index in (0..n).rev() {
        let node = Gc::new(Logged { index, fail: false, log: log.clone(), children: next.into_iter().collect() });
        if index % watch_every == 0 {
            let log = log.clone();
            weaks.push(Gc::downgrade_with_callback(&node, move |_| log.borrow_mut().push(format!("callback {index}"))));
        }
        next = Some(node);
    }
    (next.unwrap(), weaks)
}

#[test]
fn a_chain_far_deeper_than_deaths_nest_dies_in_order_with_its_callbacks() {
    // Deaths run nested in their referrer's drop up to a depth, then queue: the order must
    // be the chain's either way, for the typed path (no weak reference) and the general one.
    let log = Rc::new(RefCell::new(Vec::new()));
    let n = scaled(1_000);
    let (head, weaks) = logged_chain(n, 7, &log);
    let before = rc_heap::raw::young_count();
    drop(head);
    assert_eq!(rc_heap::raw::young_count(), before - n);
    let expected: Vec<String> = (0..n)
        .flat_map(|i| (i % 7 == 0).then(|| format!("callback {i}")).into_iter().chain([format!("drop {i}")]))
        .collect();
    assert_eq!(*log.borrow(), expected);
    assert!(weaks.iter().all(|weak| weak.upgrade().is_none()));
}

#[test]
fn panics_of_nested_deaths_wait_for_the_loop_and_the_first_is_raised() {
    // A tree of depth 3; two of its nodes panic in `Drop`. Their subtrees and their siblings
    // still die, in depth-first order, and the first panic is the one raised.
    let log = Rc::new(RefCell::new(Vec::new()));
    let node = |index: usize, fail: bool, children: Vec<Gc<Logged>>| {
        Gc::new(Logged { index, fail, log: log.clone(), children })
    };
    let left = node(1, true, vec![node(2, false, vec![]), node(3, true, vec![])]);
    let right = node(4, false, vec![node(5, false, vec![])]);
    let root = node(0, false, vec![left, right]);
    let _weak = Gc::downgrade_with_callback(&root.children[1], |_| {});
    let before = rc_heap::raw::young_count();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(root)));
    let message = result.unwrap_err().downcast::<String>().unwrap();
    assert_eq!(*message, "drop 1 failed");
    assert_eq!(*log.borrow(), ["drop 0", "drop 1", "drop 2", "drop 3", "drop 4", "drop 5"]);
    assert_eq!(rc_heap::raw::young_count(), before - 6);
    // The heap is still usable, and a later death raises nothing.
    drop(node(6, false, vec![node(7, false, vec![])]));
    assert_eq!(log.borrow().len(), 8);
}

/// An object with a finalizer, which takes the general death path: its finalizer may drop
/// the last handle of another object.
struct Actor {
    name: &'static str,
    log: Rc<RefCell<Vec<String>>>,
    dropped_by_finalizer: RefCell<Option<Gc<Actor>>>,
    children: Vec<Gc<Actor>>,
}

// SAFETY: visits each handle it holds once.
unsafe impl Trace for Actor {
    const HAS_FINALIZER: bool = true;
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.dropped_by_finalizer.trace(visitor);
        self.children.trace(visitor);
    }
    fn finalize(&self) {
        self.log.borrow_mut().push(format!("finalize {}", self.name));
        drop(self.dropped_by_finalizer.take());
    }
}

impl Drop for Actor {
    fn drop(&mut self) {
        self.log.borrow_mut().push(format!("drop {}", self.name));
    }
}

#[test]
fn deaths_caused_by_callbacks_and_finalizers_of_nested_deaths_complete_in_order() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let actor =
        |name, children| Gc::new(Actor { name, log: log.clone(), dropped_by_finalizer: RefCell::new(None), children });
    // `b` is held only by `a`'s weak callback; `c` only by `b`'s finalizer; `c` has a
    // callback of its own.
    let c = actor("c", vec![actor("c.0", vec![])]);
    let log_c = log.clone();
    let weak_c = Gc::downgrade_with_callback(&c, move |_| log_c.borrow_mut().push("callback c".into()));
    let b = actor("b", vec![]);
    *b.dropped_by_finalizer.borrow_mut() = Some(c);
    let a = actor("a", vec![]);
    let held = RefCell::new(Some(b));
    let log_a = log.clone();
    let weak_a = Gc::downgrade_with_callback(&a, move |_| {
        log_a.borrow_mut().push("callback a".into());
        drop(held.take());
    });
    let root = actor("root", vec![a, actor("d", vec![])]);
    let before = rc_heap::raw::young_count();
    drop(root);
    // Which deaths nest and which are queued depends on the stack (and is random under
    // Miri, whose stack addresses say nothing of depth), so the order is checked by what
    // must come before what, whichever way each death ran.
    let log = log.borrow();
    let at = |entry: &str| log.iter().position(|logged| logged == entry).unwrap_or_else(|| panic!("{entry}: {log:?}"));
    assert_eq!(log.len(), 14, "{log:?}");
    assert_eq!(log[..2], ["finalize root", "drop root"]);
    for name in ["a", "b", "c", "c.0", "d"] {
        assert!(at(&format!("finalize {name}")) < at(&format!("drop {name}")), "{name}: {log:?}");
    }
    for (first, then) in [
        ("finalize a", "callback a"),
        ("callback a", "finalize b"),
        ("finalize b", "finalize c"),
        ("finalize c", "callback c"),
        ("callback c", "drop c"),
        ("drop c", "finalize c.0"),
        ("drop root", "finalize a"),
        ("drop root", "finalize d"),
    ] {
        assert!(at(first) < at(then), "{first} before {then}: {log:?}");
    }
    assert_eq!(rc_heap::raw::young_count(), before - 6);
    assert!(weak_a.upgrade().is_none() && weak_c.upgrade().is_none());
}

#[test]
fn a_deep_chain_with_weak_callbacks_and_panics_dies_on_a_small_stack() {
    // Every death takes the general path and nests as deep as deaths may: the stack they
    // need stays small whatever the chain's length.
    let n = scaled(100_000);
    std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || {
            let log = Rc::new(RefCell::new(Vec::new()));
            let (head, weaks) = logged_chain(n, 1, &log);
            drop(head);
            assert_eq!(log.borrow().len(), 2 * n);
            drop(weaks);
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Holds a handle it drops, under its own `catch_unwind`, from its `Drop`, which panics there.
struct CatchesItsOwn {
    inner: RefCell<Option<Gc<Logged>>>,
}

impl Drop for CatchesItsOwn {
    fn drop(&mut self) {
        let inner = self.inner.borrow_mut().take();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _inner = inner;
            panic!("handled inside the drop");
        }));
        assert!(caught.is_err());
    }
}

// SAFETY: visits `inner` once.
unsafe impl Trace for CatchesItsOwn {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.inner.trace(visitor);
    }
}

#[test]
fn a_nested_death_that_panics_while_a_drop_unwinds_a_panic_it_catches_is_raised() {
    // The nested death's panic happens while another panic unwinds; that one is caught by
    // the drop itself, so the nested one is the drop's only panic and is raised.
    let log = Rc::new(RefCell::new(Vec::new()));
    let inner = Gc::new(Logged { index: 1, fail: true, log: log.clone(), children: vec![] });
    let outer = Gc::new(CatchesItsOwn { inner: RefCell::new(Some(inner)) });
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(outer)));
    assert_eq!(*result.unwrap_err().downcast::<String>().unwrap(), "drop 1 failed");
    assert_eq!(*log.borrow(), ["drop 1"]);
}
