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
