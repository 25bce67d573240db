//! Ports of rust-cc's cleaner tests (`src/tests/cleaners/mod.rs`) to [`finalize`], Python's
//! `weakref.finalize`, which does the same job: a function run once when an object dies or
//! when called first. Each test names the rust-cc test it comes from in a comment.
//!
//! Deliberate difference: rust-cc's cleaner panicking on the object's drop
//! (`panic_on_clean`, `simple_panic_on_cleaner_drop`) unwinds out of the drop; here, as in
//! Python, a death callback's panic is reported as unraisable and the drop completes. A
//! panic of an explicit [`Finalizer::call`] unwinds to the caller, as in rust-cc
//! (`simple_panic_on_clean`).

mod common;

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use common::unraisable_during;
use cyclegc::{Gc, Trace};
use weak_collections::finalize;

#[derive(Trace)]
struct ToClean {
    cycle: RefCell<Option<Gc<ToClean>>>,
}

fn to_clean() -> Gc<ToClean> {
    Gc::new(ToClean { cycle: RefCell::new(None) })
}

/// A callback that records its run, and fails the test if it runs twice.
fn once(already_cleaned: &Rc<Cell<bool>>) -> impl FnOnce() + 'static {
    let already_cleaned = already_cleaned.clone();
    move || assert!(!already_cleaned.replace(true), "already cleaned")
}

// rust-cc: cleaners `clean_after_drop`.
#[test]
fn a_finalizer_runs_when_its_object_dies_and_a_later_call_does_nothing() {
    let object = to_clean();
    let already_cleaned = Rc::new(Cell::new(false));
    let finalizer = finalize(&object, once(&already_cleaned));
    assert!(!already_cleaned.get() && finalizer.alive());
    drop(object);
    assert!(already_cleaned.get() && !finalizer.alive());
    assert!(!finalizer.call(), "a no-op");
}

// rust-cc: cleaners `clean_before_drop`, and the same for an object in a collected cycle.
#[test]
fn a_finalizer_called_first_does_not_run_again_when_its_object_dies() {
    for cyclic in [false, true] {
        let object = to_clean();
        if cyclic {
            *object.cycle.borrow_mut() = Some(object.clone());
        }
        let already_cleaned = Rc::new(Cell::new(false));
        let finalizer = finalize(&object, once(&already_cleaned));
        assert!(finalizer.call());
        assert!(already_cleaned.get());
        drop(object);
        gen_gc::collect();
        assert!(already_cleaned.get());
    }
}

// rust-cc: cleaners `clean_with_cyclic_cc`: a callback holding its own object keeps it alive
// (a collection cannot free it, the registry holds the callback) until called.
#[test]
fn a_finalizer_holding_its_object_keeps_it_until_called() {
    let object = to_clean();
    let weak = Gc::downgrade(&object);
    let already_cleaned = Rc::new(Cell::new(false));
    let finalizer = {
        let held = object.clone();
        let run = once(&already_cleaned);
        finalize(&object, move || {
            let _held = held;
            run();
        })
    };
    drop(object);
    gen_gc::collect();
    assert!(!already_cleaned.get());
    assert!(weak.upgrade().is_some(), "kept by its own finalizer");
    assert!(finalizer.call());
    assert!(already_cleaned.get());
    assert!(weak.upgrade().is_none(), "freed once the callback is done");
}

// rust-cc: cleaners `clean_multiple_times`.
#[test]
fn a_finalizer_called_twice_runs_once() {
    let object = to_clean();
    let already_cleaned = Rc::new(Cell::new(false));
    let finalizer = finalize(&object, once(&already_cleaned));
    assert!(finalizer.call());
    assert!(!finalizer.call());
    assert!(already_cleaned.get());
}

// rust-cc: cleaners `simple_panic_on_clean`.
#[test]
fn a_panicking_finalizer_called_explicitly_unwinds_to_the_caller_once() {
    let object = to_clean();
    let already_cleaned = Rc::new(Cell::new(false));
    let run = once(&already_cleaned);
    let finalizer = finalize(&object, move || {
        run();
        panic!("panic inside a finalizer");
    });
    assert!(catch_unwind(AssertUnwindSafe(|| finalizer.call())).is_err());
    assert!(already_cleaned.get() && !finalizer.alive());
    drop(object);
}

// rust-cc: cleaners `panic_on_clean`, `simple_panic_on_cleaner_drop` (see the module header).
#[test]
fn a_panicking_finalizer_run_by_a_death_is_reported_and_the_drop_completes() {
    let object = to_clean();
    let weak = Gc::downgrade(&object);
    let already_cleaned = Rc::new(Cell::new(false));
    let run = once(&already_cleaned);
    let finalizer = finalize(&object, move || {
        run();
        panic!("panic inside a finalizer");
    });
    let reports = unraisable_during(|| drop(object));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].1.contains("panic inside a finalizer"), "{reports:?}");
    assert!(already_cleaned.get() && !finalizer.alive());
    assert!(weak.upgrade().is_none());
}
