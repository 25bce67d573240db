//! Hostile user code at the edges of the collector's unsafe code: weak references that
//! garbage owns, reached by callbacks through the back door of a `std::rc::Weak`.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use cyclegc::{Gc, Trace, Weak};

/// Panics when dropped, once it is armed.
struct PanicOnDrop(Rc<Cell<bool>>);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if self.0.get() {
            panic!("dropping a skipped callback's captures");
        }
    }
}

/// A self-cycle that keeps a weak reference to itself behind an `Rc` it alone owns.
#[derive(Trace)]
struct Keeper {
    me: RefCell<Option<Gc<Keeper>>>,
    weak: Rc<RefCell<Option<Weak<Keeper>>>>,
}

#[test]
fn a_callback_dropping_the_last_outside_handle_of_a_garbage_owned_weak_reference() {
    // The garbage owns `owned` (its one handle), so the collector marks it: its callback
    // must not run. A callback of another weak reference to the garbage reaches `owned`
    // through a `std::rc::Weak` and drops it; the death's handle is then the last, and the
    // skipped callback (with captures whose `Drop` panics) goes with it, while the
    // collection runs callbacks. The panic is the collection's to report, not to raise
    // through it with the garbage held.
    gen_gc::collect();
    let armed = Rc::new(Cell::new(true));
    let keeper = Gc::new(Keeper { me: RefCell::new(None), weak: Rc::new(RefCell::new(None)) });
    *keeper.me.borrow_mut() = Some(keeper.clone());
    let captures = PanicOnDrop(armed.clone());
    let ran = Rc::new(Cell::new(false));
    let owned = Gc::downgrade_with_callback(&keeper, {
        let ran = ran.clone();
        move |_| {
            let _keep = &captures;
            ran.set(true);
        }
    });
    *keeper.weak.borrow_mut() = Some(owned);
    let back_door = Rc::downgrade(&keeper.weak);
    let _outside = Gc::downgrade_with_callback(&keeper, move |_| {
        if let Some(cell) = back_door.upgrade() {
            drop(cell.borrow_mut().take());
        }
    });
    drop(keeper);
    let result = catch_unwind(AssertUnwindSafe(gen_gc::collect));
    armed.set(false);
    assert!(result.is_ok(), "the collection reports the panic and completes");
    assert_eq!(result.unwrap(), 1, "the cycle is collected");
    assert!(!ran.get(), "the garbage's own weak reference's callback does not run");
    assert_eq!(gen_gc::collect(), 0);
}

thread_local! {
    static MADE_BY_FINALIZER: RefCell<Option<(cyclegc::rc_heap::Watcher, Weak<Pair>)>> = const { RefCell::new(None) };
    static UPGRADES_IN_DROP: RefCell<Vec<bool>> = const { RefCell::new(Vec::new()) };
}

/// Records the tags reported to it.
#[derive(Default)]
struct Reports(RefCell<Vec<usize>>);

impl cyclegc::rc_heap::DeathWatch for Reports {
    fn died(&self, tag: usize) {
        self.0.borrow_mut().push(tag);
    }
}

/// One of two objects in a cycle; the first's finalizer makes a watched weak reference to
/// the second, after the collector cleared the weak references to both.
#[derive(Trace)]
#[trace(finalize)]
struct Pair {
    other: RefCell<Option<Gc<Pair>>>,
    #[trace(skip)]
    watch: Option<Rc<Reports>>,
}

impl cyclegc::Finalize for Pair {
    fn finalize(&self) {
        let Some(watch) = &self.watch else { return };
        let other = self.other.borrow().clone().expect("the partner");
        let watcher = cyclegc::rc_heap::Watcher::new(Rc::downgrade(watch) as _);
        let weak = Gc::downgrade_watched(&other, &watcher, 0);
        MADE_BY_FINALIZER.with(|made| *made.borrow_mut() = Some((watcher, weak)));
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        MADE_BY_FINALIZER.with(|made| {
            if let Some((watcher, weak)) = &*made.borrow() {
                let upgraded = watcher.upgrade(0, weak);
                UPGRADES_IN_DROP.with(|seen| seen.borrow_mut().push(upgraded.is_some()));
                assert_eq!(upgraded.is_some(), !watcher.is_dead(0, weak));
            }
        });
    }
}

#[test]
fn a_watched_weak_reference_made_by_a_finalizer_to_garbage_reads_dead_once_it_is_freed() {
    // The record names the new weak reference while the garbage is deleted: the values'
    // `Drop`s upgrade through it, and the object is freed with its record cleared and its
    // report made, once.
    gen_gc::collect();
    let reports = Rc::new(Reports::default());
    let first = Gc::new(Pair { other: RefCell::new(None), watch: Some(reports.clone()) });
    let second = Gc::new(Pair { other: RefCell::new(Some(first.clone())), watch: None });
    *first.other.borrow_mut() = Some(second);
    drop(first);
    assert_eq!(gen_gc::collect(), 2);
    let (watcher, weak) = MADE_BY_FINALIZER.with(|made| made.borrow_mut().take()).expect("the finalizer ran");
    assert!(watcher.upgrade(0, &weak).is_none() && watcher.is_dead(0, &weak));
    assert_eq!(*reports.0.borrow(), [0]);
    assert_eq!(UPGRADES_IN_DROP.with(|seen| seen.borrow().len()), 2);
    assert_eq!(gen_gc::collect(), 0);
}
