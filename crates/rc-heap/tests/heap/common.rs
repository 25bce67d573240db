//! Test types with hand-written `Trace` (the derive lives in its own crate).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rc_heap::{Gc, Segment, Trace, Visitor};

/// Sizes for tests that build big structures: full size natively, scaled down under Miri
/// and when `CYCLEGC_TEST_SCALE` divides them (valgrind runs use it).
pub fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        return (n / 100_000).max(10);
    }
    match std::env::var("CYCLEGC_TEST_SCALE").ok().and_then(|s| s.parse::<usize>().ok()) {
        Some(divisor) if divisor > 0 => (n / divisor).max(10),
        _ => n,
    }
}

/// What the heap reported instead of raising (`rc_heap::set_unraisable_hook`) while `f`
/// ran: each report's subject and message.
pub fn unraisable_during(f: impl FnOnce()) -> Vec<(String, String)> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let previous = rc_heap::set_unraisable_hook(Some(Box::new(move |report| {
        sink.borrow_mut().push((report.what().to_owned(), report.message()));
    })));
    f();
    drop(rc_heap::set_unraisable_hook(previous));
    seen.take()
}

/// A node of a graph: a name and mutable outgoing edges.
pub struct Node {
    pub name: String,
    pub next: RefCell<Option<Gc<Node>>>,
    pub children: RefCell<Vec<Gc<Node>>>,
}

impl Node {
    pub fn new(name: &str) -> Gc<Node> {
        Gc::new(Node { name: name.to_owned(), next: RefCell::new(None), children: RefCell::new(Vec::new()) })
    }

    pub fn link(from: &Gc<Node>, to: &Gc<Node>) {
        *from.next.borrow_mut() = Some(to.clone());
    }
}

// SAFETY: visits `next` and each child, each once.
unsafe impl Trace for Node {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        visitor.enter(Segment::Field("next"));
        self.next.trace(visitor);
        visitor.leave();
        visitor.enter(Segment::Field("children"));
        self.children.trace(visitor);
        visitor.leave();
    }

    fn describe(&self) -> Option<String> {
        Some(self.name.clone())
    }
}

/// Counts drops into a shared counter.
pub struct DropCounter(pub Rc<Cell<usize>>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

// SAFETY: holds no `Gc`.
unsafe impl Trace for DropCounter {
    const TRACKED: bool = false;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
}

/// A tracked object that records its drop.
pub struct Tracked {
    /// Dropped with the object: counts its death.
    pub _counter: DropCounter,
    pub next: RefCell<Option<Gc<Tracked>>>,
}

impl Tracked {
    pub fn new(drops: &Rc<Cell<usize>>) -> Gc<Tracked> {
        Gc::new(Tracked { _counter: DropCounter(drops.clone()), next: RefCell::new(None) })
    }
}

// SAFETY: visits `next` once.
unsafe impl Trace for Tracked {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.next.trace(visitor);
    }
}
