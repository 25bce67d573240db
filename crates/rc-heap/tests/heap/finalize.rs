use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rc_heap::{Gc, Trace, Visitor, Weak};

thread_local! {
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static RESURRECTED: RefCell<Vec<Gc<Phoenix>>> = const { RefCell::new(Vec::new()) };
}

fn log() -> Vec<String> {
    LOG.with(|log| log.borrow().clone())
}

/// Logs its finalizer and its drop; its finalizer reads its child.
struct Logged {
    name: &'static str,
    child: Option<Gc<String>>,
}

// SAFETY: visits its child once.
unsafe impl Trace for Logged {
    const HAS_FINALIZER: bool = true;
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.child.trace(visitor);
    }
    fn finalize(&self) {
        let child = self.child.as_deref().cloned().unwrap_or_default();
        LOG.with(|log| log.borrow_mut().push(format!("finalize {} {child}", self.name)));
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        LOG.with(|log| log.borrow_mut().push(format!("drop {}", self.name)));
    }
}

#[test]
fn finalizer_runs_before_drop_with_the_object_intact() {
    LOG.with(|log| log.borrow_mut().clear());
    let a = Gc::new(Logged { name: "a", child: Some(Gc::new("kid".to_owned())) });
    assert!(!Gc::is_finalized(&a));
    drop(a);
    assert_eq!(log(), ["finalize a kid", "drop a"]);
}

#[test]
fn finalizer_runs_before_weak_references_are_cleared() {
    let a = Gc::new(Logged { name: "b", child: None });
    let calls = Rc::new(Cell::new(0));
    let seen = calls.clone();
    let _w = Gc::downgrade_with_callback(&a, move |_| seen.set(seen.get() + 1));
    drop(a);
    assert_eq!(calls.get(), 1);
}

/// Resurrects itself from its finalizer through a weak reference to itself.
struct Phoenix {
    me: RefCell<Weak<Phoenix>>,
    finalized: Rc<Cell<usize>>,
}

// SAFETY: holds no strong edge.
unsafe impl Trace for Phoenix {
    const HAS_FINALIZER: bool = true;
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.me.trace(visitor);
    }
    fn finalize(&self) {
        self.finalized.set(self.finalized.get() + 1);
        if let Some(me) = self.me.borrow().upgrade() {
            RESURRECTED.with(|r| r.borrow_mut().push(me));
        }
    }
}

#[test]
fn a_finalizer_may_resurrect_its_object_and_never_runs_again() {
    let finalized = Rc::new(Cell::new(0));
    let p = Gc::new(Phoenix { me: RefCell::new(Weak::new()), finalized: finalized.clone() });
    let weak = Gc::downgrade(&p);
    *p.me.borrow_mut() = weak.clone();
    drop(p);
    assert_eq!(finalized.get(), 1);
    let back = RESURRECTED.with(|r| r.borrow_mut().pop()).expect("resurrected");
    assert!(Gc::is_finalized(&back));
    assert!(!weak.is_dead(), "a resurrected object's weak references still work");
    drop(back);
    assert_eq!(finalized.get(), 1);
    assert!(weak.is_dead());
}

#[test]
fn a_resurrected_tracked_object_is_linked_again() {
    struct Holder {
        me: RefCell<Weak<Holder>>,
        keep: Option<Gc<u8>>,
    }
    // SAFETY: visits `keep` once; the weak reference is no edge.
    unsafe impl Trace for Holder {
        const HAS_FINALIZER: bool = true;
        fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
            self.keep.trace(visitor);
            self.me.trace(visitor);
        }
        fn finalize(&self) {
            let me = self.me.borrow().upgrade().unwrap();
            SAVED.with(|s| s.borrow_mut().replace(me));
        }
    }
    thread_local!(static SAVED: RefCell<Option<Gc<Holder>>> = const { RefCell::new(None) });
    let h = Gc::new(Holder { me: RefCell::new(Weak::new()), keep: Some(Gc::new(9)) });
    *h.me.borrow_mut() = Gc::downgrade(&h);
    let before = rc_heap::raw::young_count();
    drop(h);
    assert_eq!(rc_heap::raw::young_count(), before, "unlinked at death, linked again on resurrection");
    let back = SAVED.with(|s| s.borrow_mut().take()).unwrap();
    assert_eq!(**back.keep.as_ref().unwrap(), 9);
    drop(back);
    assert_eq!(rc_heap::raw::young_count(), before - 1);
}

#[test]
fn a_panicking_finalizer_is_reported_after_the_object_is_destroyed() {
    struct Bad(Rc<Cell<bool>>);
    // SAFETY: holds no `Gc`.
    unsafe impl Trace for Bad {
        const TRACKED: bool = false;
        const HAS_FINALIZER: bool = true;
        fn trace<V: Visitor + ?Sized>(&self, _: &mut V) {}
        fn finalize(&self) {
            panic!("finalizer failed");
        }
    }
    impl Drop for Bad {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let dropped = Rc::new(Cell::new(false));
    let bad = Gc::new(Bad(dropped.clone()));
    // The `drop` did not run the finalizer, and may be a thread-local's destructor, where a
    // panic aborts: the panic is reported, as Python reports an exception of `__del__`.
    let reports = crate::common::unraisable_during(move || drop(bad));
    assert_eq!(reports, [("the finalizer of Bad".to_owned(), "finalizer failed".to_owned())]);
    assert!(dropped.get(), "the object died all the same");
}
