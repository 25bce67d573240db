//! The mechanism the collector builds on, driven by hand.

use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

use rc_heap::raw::{self, Links, ObjHeader};
use rc_heap::{Gc, Trace, Visitor};

use crate::common::Node;

/// The headers in the young list, oldest first.
pub fn young_list() -> Vec<NonNull<ObjHeader>> {
    let sentinel = raw::list(raw::YOUNG);
    let mut out = Vec::new();
    // SAFETY: the sentinel heads a valid circular list of live tracked objects.
    unsafe {
        let mut cursor = sentinel.as_ref().next();
        while cursor != sentinel.as_ptr().cast_const() {
            out.push(Links::header(cursor));
            cursor = (*cursor).next();
        }
    }
    out
}

#[test]
fn new_tracked_objects_join_the_young_list_and_leave_it_at_death() {
    let before = young_list();
    let a = Node::new("a");
    let b = Node::new("b");
    let leaf = Gc::new(5_u32);
    let after = young_list();
    assert_eq!(after.len(), before.len() + 2);
    assert_eq!(&after[before.len()..], &[Gc::to_any(&a).header(), Gc::to_any(&b).header()]);
    assert!(!after.contains(&Gc::to_any(&leaf).header()));
    drop(a);
    assert_eq!(young_list().len(), before.len() + 1);
    drop(b);
    assert_eq!(young_list(), before);
}

#[test]
fn splicing_moves_a_whole_list() {
    let a = Node::new("a");
    let b = Node::new("b");
    let young = raw::list(raw::YOUNG);
    let other = raw::list(2);
    let before = young_list().len();
    // SAFETY: two distinct sentinels of this heap.
    unsafe { Links::splice_all(young.as_ref(), other.as_ref()) };
    assert!(young_list().is_empty());
    // SAFETY: as above.
    unsafe { Links::splice_all(other.as_ref(), young.as_ref()) };
    assert_eq!(young_list().len(), before);
    drop((a, b));
}

thread_local! {
    static HOOK_CALLS: Cell<usize> = const { Cell::new(0) };
}

fn counting_hook() {
    HOOK_CALLS.with(|c| c.set(c.get() + 1));
    // A collector resets the count; allocating from inside the hook must not re-enter it.
    raw::set_young_count(0);
    let _inside = Node::new("allocated by the hook");
}

#[test]
fn allocation_calls_the_hook_when_the_young_count_reaches_the_limit() {
    assert!(raw::set_collect_hook(counting_hook, usize::MAX));
    assert!(raw::collect_hook_installed());
    raw::set_young_count(0);
    raw::set_young_limit(5);
    let mut keep = Vec::new();
    for _ in 0..4 {
        keep.push(Node::new("x"));
    }
    assert_eq!(HOOK_CALLS.with(Cell::get), 0);
    keep.push(Node::new("fifth"));
    assert_eq!(HOOK_CALLS.with(Cell::get), 1);
    keep.push(Gc::new(Node { name: "y".into(), next: RefCell::new(None), children: RefCell::new(Vec::new()) }));
    assert_eq!(HOOK_CALLS.with(Cell::get), 1, "the hook reset the count");
    for _ in 0..20 {
        let _leaf = Gc::new(1_u64);
    }
    assert_eq!(HOOK_CALLS.with(Cell::get), 1, "leaves do not count");
    raw::set_young_limit(usize::MAX);
}

/// One half of a two-object cycle whose `Drop` looks at the other half.
struct Peer {
    name: &'static str,
    other: RefCell<Option<Gc<Peer>>>,
    seen: std::rc::Rc<RefCell<Vec<String>>>,
    deref_in_drop: bool,
}

// SAFETY: visits `other` once.
unsafe impl Trace for Peer {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.other.trace(visitor);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let other = self.other.borrow();
        let Some(other) = other.as_ref() else { return };
        let entry = match Gc::try_get(other) {
            Ok(peer) => format!("{} saw {}", self.name, peer.name),
            Err(error) => format!("{} could not see: {error}", self.name),
        };
        self.seen.borrow_mut().push(entry);
        if self.deref_in_drop {
            let _ = other.name.len();
        }
    }
}

#[test]
fn a_gc_to_a_value_the_collector_dropped_panics_with_the_type_name() {
    let seen = std::rc::Rc::new(RefCell::new(Vec::new()));
    let a = Gc::new(Peer { name: "a", other: RefCell::new(None), seen: seen.clone(), deref_in_drop: false });
    let b = Gc::new(Peer { name: "b", other: RefCell::new(Some(a.clone())), seen: seen.clone(), deref_in_drop: true });
    *a.other.borrow_mut() = Some(b.clone());
    let (ha, hb) = (Gc::to_any(&a).header(), Gc::to_any(&b).header());
    drop((a, b));

    // What a collector does with an unreachable cycle: hold, drop the values, free.
    // SAFETY: both objects are alive (the cycle keeps them) and nothing else borrows them.
    let (panic_a, panic_b) = unsafe {
        raw::hold(ha);
        raw::hold(hb);
        let panic_a = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| raw::drop_value(ha)));
        let panic_b = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| raw::drop_value(hb)));
        (panic_a, panic_b)
    };
    assert!(panic_a.is_ok());
    let message = panic_b.expect_err("b's Drop dereferenced a dropped value").downcast::<String>().unwrap();
    assert!(message.contains("Gc<") && message.contains("::Peer>"), "{message}");
    assert!(message.contains("finalizer"), "{message}");
    let seen = seen.borrow();
    assert_eq!(seen[0], "a saw b");
    assert!(seen[1].starts_with("b could not see: a Gc<"), "{}", seen[1]);

    // SAFETY: both values are dropped, each dropped its handle to the other, so both counts
    // are zero; nothing touches them again.
    unsafe {
        assert_eq!(raw::strong_count(ha), 0);
        assert_eq!(raw::strong_count(hb), 0);
        raw::free(ha);
        raw::free(hb);
    }
}

#[test]
fn a_held_object_that_a_handle_outlives_becomes_a_zombie_and_is_freed_later() {
    let drops = std::rc::Rc::new(Cell::new(0));
    let a = crate::common::Tracked::new(&drops);
    let outside = a.clone();
    let header = Gc::to_any(&a).header();
    drop(a);
    // SAFETY: `a` is alive (held by `outside`) and not borrowed.
    unsafe {
        raw::hold(header);
        raw::drop_value(header);
        raw::release(header);
    }
    assert_eq!(drops.get(), 1);
    assert!(Gc::is_dropped(&outside));
    assert!(Gc::try_get(&outside).is_err());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| outside.next.borrow().is_some()));
    assert!(result.is_err());
    drop(outside);
    assert_eq!(drops.get(), 1, "the value is not dropped twice");
}
