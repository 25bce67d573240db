//! A careless user on the refcount path: finalizers that bring their object back and let it
//! go again in the same call, that resurrect and panic, that watch their own second death;
//! slices whose elements' `Drop`s panic.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use rc_heap::{Gc, Trace, Visitor, Weak};

use crate::common::DropCounter;

/// What a [`Fickle`] finalizer does with the handle it gets back through its own weak
/// reference.
#[derive(Clone, Copy)]
enum Then {
    /// Drops it again at once: the object dies inside its own finalizer.
    LetGo,
    /// Keeps it in `KEPT`, then panics.
    KeepAndPanic,
    /// Keeps it in `KEPT` and watches it with a weak callback.
    KeepAndWatch,
}

struct Fickle {
    me: RefCell<Weak<Fickle>>,
    then: Then,
    finalized: Rc<Cell<usize>>,
    watched: Rc<Cell<usize>>,
    _dropped: DropCounter,
}

thread_local! {
    static KEPT: RefCell<Vec<Gc<Fickle>>> = const { RefCell::new(Vec::new()) };
    static WATCHES: RefCell<Vec<Weak<Fickle>>> = const { RefCell::new(Vec::new()) };
}

// SAFETY: holds no strong edge; the weak reference is visited once.
unsafe impl Trace for Fickle {
    const HAS_FINALIZER: bool = true;
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.me.trace(visitor);
    }
    fn finalize(&self) {
        self.finalized.set(self.finalized.get() + 1);
        let Some(me) = self.me.borrow().upgrade() else { return };
        match self.then {
            Then::LetGo => drop(me),
            Then::KeepAndPanic => {
                KEPT.with(|kept| kept.borrow_mut().push(me));
                panic!("resurrected, then panicked");
            }
            Then::KeepAndWatch => {
                let watched = self.watched.clone();
                let weak = Gc::downgrade_with_callback(&me, move |_| watched.set(watched.get() + 1));
                WATCHES.with(|w| w.borrow_mut().push(weak));
                KEPT.with(|kept| kept.borrow_mut().push(me));
            }
        }
    }
}

struct Counts {
    finalized: Rc<Cell<usize>>,
    watched: Rc<Cell<usize>>,
    dropped: Rc<Cell<usize>>,
}

fn fickle(then: Then) -> (Gc<Fickle>, Counts) {
    let counts = Counts { finalized: Rc::default(), watched: Rc::default(), dropped: Rc::default() };
    let object = Gc::new(Fickle {
        me: RefCell::new(Weak::new()),
        then,
        finalized: counts.finalized.clone(),
        watched: counts.watched.clone(),
        _dropped: DropCounter(counts.dropped.clone()),
    });
    *object.me.borrow_mut() = Gc::downgrade(&object);
    (object, counts)
}

#[test]
fn a_finalizer_that_resurrects_and_lets_go_in_the_same_call_dies_once() {
    let (object, counts) = fickle(Then::LetGo);
    let weak = Gc::downgrade(&object);
    drop(object);
    assert_eq!(counts.finalized.get(), 1, "the finalizer ran once");
    assert_eq!(counts.dropped.get(), 1, "the value was dropped once");
    assert!(weak.upgrade().is_none());
}

#[test]
fn a_finalizer_that_resurrects_and_panics_leaves_a_live_object() {
    let (object, counts) = fickle(Then::KeepAndPanic);
    let reports = crate::common::unraisable_during(|| drop(object));
    assert_eq!(reports.len(), 1, "the panic is reported: {reports:?}");
    assert_eq!(reports[0].1, "resurrected, then panicked");
    assert_eq!(counts.dropped.get(), 0, "resurrected: its value lives");
    let back = KEPT.with(|kept| kept.borrow_mut().pop()).expect("kept");
    assert!(Gc::is_finalized(&back));
    assert!(Gc::try_get(&back).is_ok());
    drop(back);
    assert_eq!(counts.finalized.get(), 1);
    assert_eq!(counts.dropped.get(), 1);
}

#[test]
fn a_finalizer_may_watch_its_resurrected_object_whose_next_death_runs_the_callback_once() {
    let (object, counts) = fickle(Then::KeepAndWatch);
    drop(object);
    assert_eq!(counts.watched.get(), 0);
    let back = KEPT.with(|kept| kept.borrow_mut().pop()).expect("kept");
    drop(back);
    assert_eq!(counts.finalized.get(), 1);
    assert_eq!(counts.watched.get(), 1, "the callback made by the finalizer ran once");
    assert_eq!(counts.dropped.get(), 1);
    let weak = WATCHES.with(|w| w.borrow_mut().pop()).expect("the watch");
    assert!(weak.upgrade().is_none());
}

/// Panics when dropped if armed.
struct Brittle {
    armed: bool,
    _dropped: DropCounter,
}

impl Drop for Brittle {
    fn drop(&mut self) {
        assert!(!self.armed, "a slice element's Drop panicked");
    }
}

// SAFETY: holds no `Gc`.
unsafe impl Trace for Brittle {
    const TRACKED: bool = false;
    fn trace<V: Visitor + ?Sized>(&self, _: &mut V) {}
}

#[test]
fn a_slice_whose_middle_element_panics_in_drop_drops_every_element_and_frees_once() {
    let dropped = Rc::new(Cell::new(0));
    let elements: Vec<Brittle> =
        (0..5).map(|i| Brittle { armed: i == 2, _dropped: DropCounter(dropped.clone()) }).collect();
    let slice: Gc<[Brittle]> = Gc::from(elements);
    let weak = Gc::downgrade(&slice);
    let result = catch_unwind(AssertUnwindSafe(|| drop(slice)));
    let message = result.expect_err("the element's panic reaches the dropper");
    assert!(message.downcast_ref::<&str>().is_some_and(|m| m.contains("slice element")));
    assert_eq!(dropped.get(), 5, "every element was dropped");
    assert!(weak.upgrade().is_none());
}
