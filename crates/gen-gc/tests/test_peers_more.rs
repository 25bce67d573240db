//! More ports of the peer collectors' tests (rust-cc's `src/tests/weak/mod.rs`,
//! `src/tests/panicking.rs`, `src/tests/cc.rs` and `tests/`, dumpster's `unsync/tests.rs`,
//! gcmodule's `src/tests.rs`, bacon-rajan-cc's tests in `src/lib.rs`), for what
//! `test_peers.rs` does not cover: hostile finalizers and `Drop`s, weak references into
//! collected cycles, handles cloned and dropped while a collection runs, `std::rc`-like APIs
//! on garbage, deep structures, trait objects in cycles, thread exit. Each test is named after
//! the behaviour it checks, with a comment naming the peer test it comes from.
//!
//! Deliberate differences from the peers, checked here as our behaviour:
//! - rust-cc's `try_upgrade_in_cyclic_finalize_and_drop` expects a weak reference to upgrade
//!   inside a finalizer run by the collector. As in CPython (`handle_weakrefs` before
//!   `finalize_garbage`), weak references to garbage read dead before any finalizer runs; on
//!   the refcount path the finalizer runs first, and they still upgrade there.
//! - rust-cc's `weak_test` says a dead object's `weak_count` is 1; ours, like `std::rc`, is 0.
//! - rust-cc's `test_panicking_*` expect the collection to panic; ours reports the panic of a
//!   `Trace`, finalizer or `Drop` through the debug writer and completes.
//! - A weak reference dropped by another weak reference's callback, once their object has
//!   died, keeps its callback, as in CPython (`PyObject_ClearWeakRefs` holds them all).

#![allow(unsafe_code, reason = "a hand-written Trace that panics")]

mod common;

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use cyclegc::{Finalize, Gc, Trace, Visitor, Weak, coerce_gc};

/// The length of the deep chains: a million natively, less under Miri and valgrind.
fn deep() -> usize {
    if cfg!(miri) { 200 } else { scaled(1_000_000) }
}

/// How many traces the panicking `Trace`s of a test allow before they panic (a larger
/// budget panics in a later walk): 0 to 5 natively, only 1 under Miri, where each panic is
/// slow.
fn trace_budgets() -> std::ops::Range<usize> {
    if cfg!(miri) { 1..2 } else { 0..6 }
}

#[path = "common/scale.rs"]
mod scale;
use scale::scaled;

// rust-cc: src/tests/weak/mod.rs `weak_test_common`, `weak_test`, `weak_test2`.
#[test]
fn weak_counts_follow_clones_upgrades_and_drops() {
    let gc = Gc::new(0_i32);
    let gc1 = gc.clone();
    let weak = Gc::downgrade(&gc);
    assert_eq!((Gc::strong_count(&gc), Gc::weak_count(&gc)), (2, 1));
    assert_eq!((weak.strong_count(), weak.weak_count()), (2, 1));
    drop(gc1);
    gen_gc::collect();
    assert_eq!((Gc::strong_count(&gc), weak.weak_count()), (1, 1));
    let weak2 = weak.clone();
    assert!(Weak::ptr_eq(&weak, &weak2));
    assert_eq!(weak.weak_count(), 2);
    let upgraded = weak.upgrade().expect("alive");
    assert!(Gc::ptr_eq(&gc, &upgraded));
    assert_eq!((Gc::strong_count(&gc), Gc::weak_count(&gc)), (2, 2));
    drop((weak2, upgraded));
    assert_eq!((weak.strong_count(), weak.weak_count()), (1, 1));
    drop(gc);
    assert!(weak.upgrade().is_none());
    assert_eq!((weak.strong_count(), weak.weak_count()), (0, 0), "dead, as std::rc says");
    let weak3 = weak.clone();
    assert!(Weak::ptr_eq(&weak, &weak3));
    assert!(weak3.upgrade().is_none());
}

// rust-cc: src/tests/weak/mod.rs `test_new_cyclic`.
#[test]
fn new_cyclic_weak_reads_dead_inside_and_upgrades_after() {
    #[derive(Trace)]
    struct Cyclic {
        weak: Weak<Cyclic>,
        #[trace(skip)]
        int: i32,
    }
    let cyclic = Gc::new_cyclic(|weak| {
        assert_eq!(weak.strong_count(), 0);
        assert!(weak.upgrade().is_none());
        Cyclic { weak: weak.clone(), int: 5 }
    });
    assert_eq!((Gc::strong_count(&cyclic), Gc::weak_count(&cyclic)), (1, 1));
    assert_eq!(cyclic.int, 5);
    assert!(Gc::ptr_eq(&cyclic.weak.upgrade().expect("made"), &cyclic));
}

// rust-cc: src/tests/weak/mod.rs `panicking_new_cyclic1`, `panicking_new_cyclic2`.
#[test]
fn a_panic_in_new_cyclic_frees_the_object_and_goes_on() {
    let result = catch_unwind(|| Gc::<u32>::new_cyclic(|_| panic!("no value")));
    assert!(result.is_err());
    let result = catch_unwind(|| {
        Gc::<u32>::new_cyclic(|weak| {
            let _kept = weak.clone();
            panic!("no value either")
        })
    });
    assert!(result.is_err());
    assert_eq!(gen_gc::collect(), 0);
}

// rust-cc: src/tests/weak/mod.rs `panicking_saving_new_cyclic`.
#[test]
fn a_weak_reference_saved_by_a_panicking_new_cyclic_stays_dead() {
    #[derive(Trace)]
    struct Cyclic {
        weak: Weak<Cyclic>,
    }
    thread_local!(static SAVED: RefCell<Option<Weak<Cyclic>>> = const { RefCell::new(None) });
    let result = catch_unwind(|| {
        Gc::new_cyclic(|weak| {
            SAVED.with(|saved| *saved.borrow_mut() = Some(weak.clone()));
            panic!("no value");
        })
    });
    assert!(result.is_err());
    // Allocating again may reuse the freed memory: the saved reference must not see it.
    let others: Vec<_> = (0..8).map(|_| Gc::new_cyclic(|weak| Cyclic { weak: weak.clone() })).collect();
    let weak = SAVED.with(|saved| saved.borrow_mut().take()).expect("saved");
    assert!(weak.upgrade().is_none());
    assert_eq!(weak.strong_count(), 0);
    let clone = weak.clone();
    assert!(clone.upgrade().is_none());
    assert!(others.iter().all(|other| !Weak::ptr_eq(&weak, &other.weak)));
}

thread_local! {
    static UPGRADED_IN_FINALIZER: Cell<Option<bool>> = const { Cell::new(None) };
    static UPGRADED_IN_DROP: Cell<Option<bool>> = const { Cell::new(None) };
    static RESURRECTED: RefCell<Option<Gc<SelfWatcher>>> = const { RefCell::new(None) };
}

/// Holds a weak reference to itself (and maybe a strong one), and reports what upgrading it
/// gives in its finalizer and its `Drop`.
#[derive(Trace)]
#[trace(finalize)]
struct SelfWatcher {
    weak: Weak<SelfWatcher>,
    cycle: RefCell<Option<Gc<SelfWatcher>>>,
    #[trace(skip)]
    resurrect: bool,
}

impl Finalize for SelfWatcher {
    fn finalize(&self) {
        let upgraded = self.weak.upgrade();
        UPGRADED_IN_FINALIZER.with(|u| u.set(Some(upgraded.is_some())));
        if self.resurrect {
            RESURRECTED.with(|r| *r.borrow_mut() = upgraded);
        }
    }
}

impl Drop for SelfWatcher {
    fn drop(&mut self) {
        UPGRADED_IN_DROP.with(|u| u.set(Some(self.weak.upgrade().is_some())));
    }
}

fn self_watcher(resurrect: bool) -> Gc<SelfWatcher> {
    UPGRADED_IN_FINALIZER.with(|u| u.set(None));
    UPGRADED_IN_DROP.with(|u| u.set(None));
    Gc::new_cyclic(|weak| SelfWatcher { weak: weak.clone(), cycle: RefCell::new(None), resurrect })
}

// rust-cc: src/tests/weak/mod.rs `try_upgrade_in_finalize_and_drop`.
#[test]
fn a_weak_reference_upgrades_in_a_refcount_finalizer_and_not_in_drop() {
    let watcher = self_watcher(false);
    let weak = Gc::downgrade(&watcher);
    drop(watcher);
    assert!(weak.upgrade().is_none());
    assert_eq!((weak.strong_count(), weak.weak_count()), (0, 0));
    assert_eq!(UPGRADED_IN_FINALIZER.with(Cell::get), Some(true));
    assert_eq!(UPGRADED_IN_DROP.with(Cell::get), Some(false));
}

// rust-cc: src/tests/weak/mod.rs `try_upgrade_and_resurrect_in_finalize_and_drop`.
#[test]
fn a_refcount_finalizer_may_resurrect_through_a_weak_reference() {
    let weak = Gc::downgrade(&self_watcher(true));
    assert_eq!(UPGRADED_IN_FINALIZER.with(Cell::get), Some(true));
    assert_eq!(UPGRADED_IN_DROP.with(Cell::get), None, "resurrected, not dropped");
    let survivor = RESURRECTED.with(|r| r.borrow_mut().take()).expect("resurrected");
    assert!(Gc::ptr_eq(&weak.upgrade().expect("alive"), &survivor));
    assert_eq!(Gc::strong_count(&survivor), 1);
    assert!(gen_gc::is_finalized(&survivor));
    drop(survivor);
    assert_eq!(UPGRADED_IN_DROP.with(Cell::get), Some(false), "dropped without a second finalization");
    assert!(weak.upgrade().is_none());
}

// rust-cc: src/tests/weak/mod.rs `try_upgrade_in_cyclic_finalize_and_drop` (see the module
// docs: weak references to garbage are dead before finalizers run, as in CPython).
#[test]
fn weak_references_to_garbage_read_dead_in_its_finalizers_and_drops() {
    let watcher = self_watcher(false);
    *watcher.cycle.borrow_mut() = Some(watcher.clone());
    let weak = Gc::downgrade(&watcher);
    drop(watcher);
    assert_eq!((weak.strong_count(), weak.weak_count()), (1, 2));
    assert_eq!(gen_gc::collect(), 1);
    assert!(weak.upgrade().is_none());
    assert_eq!(weak.strong_count(), 0);
    assert_eq!(UPGRADED_IN_FINALIZER.with(Cell::get), Some(false));
    assert_eq!(UPGRADED_IN_DROP.with(Cell::get), Some(false));
}

/// A node whose `Trace` panics once its budget of traces is spent.
struct Fragile {
    traces_left: Cell<usize>,
    next: RefCell<Option<Gc<Fragile>>>,
}

// SAFETY: visits exactly the `Gc` it owns, once (or panics before visiting anything).
unsafe impl Trace for Fragile {
    const TRACKED: bool = true;
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        match self.traces_left.get() {
            0 => panic!("a Trace that gave up"),
            n => self.traces_left.set(n.saturating_sub(1)),
        }
        self.next.trace(visitor);
    }
}

fn fragile(traces: usize) -> Gc<Fragile> {
    Gc::new(Fragile { traces_left: Cell::new(traces), next: RefCell::new(None) })
}

// rust-cc: src/tests/panicking.rs `test_panicking_tracing_counting`, `..._root`,
// `..._drop`: a panicking Trace at any point of a collection leaves the heap whole.
#[test]
fn a_trace_that_panics_at_any_point_of_a_collection_leaves_the_heap_whole() {
    for budget in trace_budgets() {
        let out = common::capture_debug_output();
        let root = fragile(budget);
        let other = fragile(budget);
        *root.next.borrow_mut() = Some(other.clone());
        *other.next.borrow_mut() = Some(root.clone());
        let weak = Gc::downgrade(&root);
        drop(other);
        // Once with a root left, then as garbage.
        let first = catch_unwind(gen_gc::collect);
        drop(root);
        let second = catch_unwind(gen_gc::collect);
        gen_gc::set_debug_output(None);
        assert!(first.is_ok() && second.is_ok(), "a panicking Trace is reported, not raised");
        if let Some(root) = weak.upgrade() {
            // Kept because it could not be traced: break the cycle by hand.
            let text = out.borrow().clone();
            assert!(text.contains("a Trace that gave up"), "budget {budget}: {text}");
            root.traces_left.set(usize::MAX);
            let other = root.next.borrow().clone().expect("intact");
            other.traces_left.set(usize::MAX);
            drop((root, other));
        }
        gen_gc::collect();
        assert!(weak.upgrade().is_none(), "budget {budget}: freed once its Trace works");
        assert_eq!(gen_gc::collect(), 0);
    }
}

// rust-cc: src/tests/panicking.rs `test_panicking_tracing_root`: a live object whose Trace
// works while the collector counts and panics while it marks. What it reaches was counted
// off through it and cannot be marked: the collection frees nothing rather than a live
// object, whichever call panics, in a young or a full collection.
#[test]
fn a_trace_that_panics_only_while_marking_costs_a_collection_not_a_live_object() {
    #[derive(Trace)]
    struct Root {
        fragile: Gc<Fragile>,
    }
    for young in [false, true] {
        for budget in 0..4 {
            gen_gc::collect();
            let out = common::capture_debug_output();
            // root -> fragile (gives up after `budget` traces) -> held <-> partner
            let (held, partner) = (fragile(usize::MAX), fragile(usize::MAX));
            *held.next.borrow_mut() = Some(partner.clone());
            *partner.next.borrow_mut() = Some(held.clone());
            let root = Gc::new(Root { fragile: fragile(budget) });
            *root.fragile.next.borrow_mut() = Some(held);
            drop(partner);
            let result = catch_unwind(|| {
                if young {
                    gen_gc::collect_generation(0).map(|_| ()).unwrap();
                } else {
                    gen_gc::collect();
                }
            });
            gen_gc::set_debug_output(None);
            assert!(result.is_ok());
            let held = root.fragile.next.borrow().clone().expect("intact");
            assert!(!Gc::is_dropped(&held), "young {young}, budget {budget}: {}", out.borrow());
            let partner = held.next.borrow().clone().expect("intact");
            assert!(!Gc::is_dropped(&partner), "young {young}, budget {budget}: {}", out.borrow());
            root.fragile.traces_left.set(usize::MAX);
            drop((held, partner, root));
            gen_gc::collect();
        }
    }
    assert_eq!(gen_gc::collect(), 0);
}

/// Resurrects what it holds in its finalizer (rust-cc's `Resurrecter`).
#[derive(Trace)]
#[trace(finalize)]
struct Resurrecter {
    fragile: Gc<Fragile>,
    cycle: RefCell<Option<Gc<Resurrecter>>>,
}

thread_local!(static RESURRECTED_FRAGILE: RefCell<Option<Gc<Fragile>>> = const { RefCell::new(None) });

impl Finalize for Resurrecter {
    fn finalize(&self) {
        RESURRECTED_FRAGILE.with(|r| *r.borrow_mut() = Some(self.fragile.clone()));
    }
}

// rust-cc: src/tests/panicking.rs `test_panicking_tracing_resurrecting`: the Trace of what
// a finalizer resurrected panics while the collector recounts. (A Trace that panics on one
// call and not on another breaks Trace's rules: what it holds may be dropped, and reads as
// dropped, but nothing dangles and the heap empties.)
#[test]
fn a_trace_that_panics_while_resurrection_is_recounted_leaves_the_heap_whole() {
    gen_gc::collect();
    let before = gen_gc::get_objects(None).len();
    for budget in trace_budgets() {
        let out = common::capture_debug_output();
        let first = fragile(budget);
        let second = fragile(budget);
        *first.next.borrow_mut() = Some(second.clone());
        *second.next.borrow_mut() = Some(first.clone());
        let resurrecter = Gc::new(Resurrecter { fragile: first, cycle: RefCell::new(None) });
        *resurrecter.cycle.borrow_mut() = Some(resurrecter.clone());
        drop((resurrecter, second));
        let result = catch_unwind(gen_gc::collect);
        gen_gc::set_debug_output(None);
        assert!(result.is_ok(), "budget {budget}: {}", out.borrow());
        let first = RESURRECTED_FRAGILE.with(|r| r.borrow_mut().take()).expect("resurrected");
        let first_value = Gc::try_get(&first).expect("a resurrected object keeps its value");
        first_value.traces_left.set(usize::MAX);
        let second = first_value.next.borrow().clone().expect("intact");
        if let Ok(second_value) = Gc::try_get(&second) {
            second_value.traces_left.set(usize::MAX);
            assert!(Gc::ptr_eq(second_value.next.borrow().as_ref().expect("intact"), &first));
        } else {
            assert!(out.borrow().contains("a Trace that gave up"), "budget {budget}: {}", out.borrow());
        }
        drop((first, second));
        gen_gc::collect();
        assert_eq!(gen_gc::get_objects(None).len(), before, "budget {budget}");
        assert_eq!(gen_gc::collect(), 0);
    }
}

/// A garbage cycle member whose `Drop` runs a test's hostile code on its partner.
#[derive(Trace)]
struct Hostile {
    partner: RefCell<Option<Gc<Hostile>>>,
    #[trace(skip)]
    drops: Rc<Cell<usize>>,
    #[trace(skip)]
    on_drop: fn(&mut Hostile),
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
        (self.on_drop)(self);
    }
}

impl Clone for Hostile {
    fn clone(&self) -> Self {
        Hostile { partner: RefCell::new(None), drops: self.drops.clone(), on_drop: |_| {} }
    }
}

/// A garbage 2-cycle of `Hostile`s; returns their drop counter.
fn hostile_pair(on_drop: fn(&mut Hostile)) -> Rc<Cell<usize>> {
    let drops = Rc::new(Cell::new(0));
    let a = Gc::new(Hostile { partner: RefCell::new(None), drops: drops.clone(), on_drop });
    let b = Gc::new(Hostile { partner: RefCell::new(Some(a.clone())), drops: drops.clone(), on_drop });
    *a.partner.borrow_mut() = Some(b);
    drops
}

thread_local!(static KEPT: RefCell<Vec<Gc<Hostile>>> = const { RefCell::new(Vec::new()) });

// dumpster `unsync/tests.rs` `escape_dead_pointer`: a `Drop` that keeps a handle to its
// garbage partner gets a handle whose value is gone, which fails cleanly instead of
// dangling.
#[test]
fn a_handle_a_drop_keeps_to_its_garbage_partner_reads_as_dropped() {
    let out = common::capture_debug_output();
    let drops = hostile_pair(|me| {
        if let Some(partner) = me.partner.get_mut().take() {
            KEPT.with(|kept| kept.borrow_mut().push(partner));
        }
    });
    assert_eq!(gen_gc::collect(), 2);
    gen_gc::set_debug_output(None);
    assert_eq!(drops.get(), 2);
    let kept = KEPT.with(|kept| std::mem::take(&mut *kept.borrow_mut()));
    assert_eq!(kept.len(), 2);
    for handle in &kept {
        assert!(Gc::is_dropped(handle));
        let error = Gc::try_get(handle).err().expect("value dropped");
        assert!(error.type_name().ends_with("Hostile"));
        let message = catch_unwind(AssertUnwindSafe(|| handle.drops.get())).expect_err("deref panics");
        let message = message.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("finalizer"), "{message}");
    }
    assert!(out.borrow().contains("still referenced after their garbage was dropped"), "{}", out.borrow());
    drop(kept);
    assert_eq!(gen_gc::collect(), 0);
    assert_eq!(drops.get(), 2, "no value dropped twice");
}

// dumpster `unsync/tests.rs` `escape_dead_pointer`, with the escaped handles dropped again
// at once: a `Drop` that clones and drops handles to its partner, which is garbage too,
// while the collector deletes the cycle.
#[test]
fn handles_cloned_and_dropped_by_a_drop_during_a_collection_free_nothing_early() {
    let drops = hostile_pair(|me| {
        if let Some(partner) = me.partner.get_mut().as_ref() {
            let clones: Vec<_> = (0..3).map(|_| partner.clone()).collect();
            assert!(clones.iter().all(|c| Gc::ptr_eq(c, partner)));
            drop(clones);
            let _ = Gc::try_get(partner).map(|p| p.drops.get());
        }
        // Dropping our own handle to the partner, which may be the last.
        drop(me.partner.get_mut().take());
    });
    assert_eq!(gen_gc::collect(), 2);
    assert_eq!(drops.get(), 2);
    assert_eq!(gen_gc::collect(), 0);
}

// bacon-rajan-cc `src/lib.rs` `try_unwrap` and `get_mut`, run from a `Drop` on garbage:
// the collector holds it, so it can be neither unwrapped nor borrowed mutably.
#[test]
fn a_drop_cannot_unwrap_or_borrow_mutably_its_garbage_partner() {
    let drops = hostile_pair(|me| {
        if let Some(mut partner) = me.partner.get_mut().take() {
            assert!(Gc::get_mut(&mut partner).is_none(), "held by the collector");
            match Gc::try_unwrap(partner) {
                Ok(_) => panic!("unwrapped garbage the collector holds"),
                Err(partner) => drop(partner),
            }
        }
    });
    assert_eq!(gen_gc::collect(), 2);
    assert_eq!(drops.get(), 2);
    assert_eq!(gen_gc::collect(), 0);
}

// dumpster `unsync/tests.rs` `make_mut` (gcmodule's `test_update_with`), run from a `Drop`
// on garbage: making the partner's handle unique clones the value (if it is still there)
// into a new object of its own.
#[test]
fn make_mut_on_a_garbage_partner_clones_or_fails_cleanly() {
    let out = common::capture_debug_output();
    let drops = hostile_pair(|me| {
        if let Some(mut partner) = me.partner.get_mut().take() {
            let mut copy = Gc::make_mut(&mut partner);
            copy.on_drop = |_| {};
        }
    });
    assert_eq!(gen_gc::collect(), 2);
    gen_gc::set_debug_output(None);
    // One partner was still intact and got copied (the copy dropped too); the other was
    // already dropped, and cloning it failed with the collector's message.
    assert_eq!(drops.get(), 3, "{}", out.borrow());
    assert!(out.borrow().contains("was used after the cycle collector dropped its value"), "{}", out.borrow());
    assert_eq!(gen_gc::collect(), 0);
}

/// A finalizer that tries to take ownership of its garbage partner.
#[derive(Trace)]
#[trace(finalize)]
struct Grabber {
    partner: RefCell<Option<Gc<Grabber>>>,
}

thread_local!(static GRABS: RefCell<Vec<(bool, bool)>> = const { RefCell::new(Vec::new()) });

impl Finalize for Grabber {
    fn finalize(&self) {
        let Some(mut partner) = self.partner.borrow_mut().take() else { return };
        let lent = Gc::get_mut(&mut partner).is_some();
        let partner = match Gc::try_unwrap(partner) {
            Ok(_) => {
                GRABS.with(|g| g.borrow_mut().push((lent, true)));
                return;
            }
            Err(partner) => partner,
        };
        GRABS.with(|g| g.borrow_mut().push((lent, false)));
        *self.partner.borrow_mut() = Some(partner);
    }
}

// bacon-rajan-cc `src/lib.rs` `try_unwrap` and `get_mut`, run from a finalizer on garbage
// (rust-cc's finalization cycles): it cannot take its garbage partner, even with the only
// handle.
#[test]
fn a_finalizer_cannot_unwrap_or_borrow_mutably_its_garbage_partner() {
    let a = Gc::new(Grabber { partner: RefCell::new(None) });
    let b = Gc::new(Grabber { partner: RefCell::new(Some(a.clone())) });
    *a.partner.borrow_mut() = Some(b.clone());
    let (wa, wb) = (Gc::downgrade(&a), Gc::downgrade(&b));
    drop((a, b));
    assert_eq!(gen_gc::collect(), 2);
    assert_eq!(GRABS.with(|g| g.borrow().clone()), [(false, false), (false, false)]);
    assert!(wa.upgrade().is_none() && wb.upgrade().is_none());
    assert_eq!(gen_gc::collect(), 0);
}

/// Counts the weak references it sees dead when its callback runs.
fn watch(object: &Gc<Hostile>, all: &Rc<RefCell<Vec<Weak<Hostile>>>>, seen: &Rc<RefCell<Vec<usize>>>) -> Weak<Hostile> {
    let (all, seen) = (all.clone(), seen.clone());
    Gc::downgrade_with_callback(object, move |dead| {
        assert!(dead.upgrade().is_none());
        let live = all.borrow().iter().filter(|w| w.upgrade().is_some()).count();
        seen.borrow_mut().push(live);
    })
}

// rust-cc `src/tests/weak/mod.rs` `try_upgrade_in_cyclic_finalize_and_drop`, on a 4-cycle
// with callbacks: weak references to every member read dead before the first callback
// runs; the callbacks run once.
#[test]
fn every_weak_reference_into_a_collected_cycle_reads_dead_before_any_callback() {
    let drops = Rc::new(Cell::new(0));
    let nodes: Vec<_> = (0..4)
        .map(|_| Gc::new(Hostile { partner: RefCell::new(None), drops: drops.clone(), on_drop: |_| {} }))
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        *node.partner.borrow_mut() = Some(nodes[(i + 1) % nodes.len()].clone());
    }
    let all = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let watchers: Vec<_> = nodes.iter().map(|n| watch(n, &all, &seen)).collect();
    all.borrow_mut().extend(nodes.iter().map(Gc::downgrade));
    drop(nodes);
    assert_eq!(gen_gc::collect(), 4);
    assert_eq!(*seen.borrow(), [0, 0, 0, 0]);
    assert_eq!(drops.get(), 4);
    assert!(watchers.iter().chain(all.borrow().iter()).all(|w| w.upgrade().is_none() && w.strong_count() == 0));
    assert_eq!(gen_gc::collect(), 0);
    assert_eq!(seen.borrow().len(), 4, "each callback ran once");
}

/// A listener in a cycle through trait objects.
trait Peer {
    fn name(&self) -> &'static str;
}

#[derive(Trace)]
struct Named {
    #[trace(skip)]
    name: &'static str,
    peer: RefCell<Option<Gc<dyn Peer>>>,
    #[trace(skip)]
    seen: Rc<RefCell<Vec<String>>>,
}

impl Peer for Named {
    fn name(&self) -> &'static str {
        self.name
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        if let Some(peer) = self.peer.get_mut().as_ref() {
            let seen = match Gc::try_get(peer) {
                Ok(peer) => format!("{} saw {}", self.name, peer.name()),
                Err(error) => format!("{} found {} dropped", self.name, error.type_name()),
            };
            self.seen.borrow_mut().push(seen);
        }
    }
}

// rust-cc `src/tests/cc.rs` `test_trait_object` and gcmodule's `test_simple_cycles`
// (`Box<dyn Trace>`): a cycle through `Gc<dyn Trait>` is collected, and a `Drop` that reaches a
// dropped trait object gets an error naming the concrete type.
#[test]
fn a_drop_reaching_a_dropped_trait_object_gets_an_error_naming_its_type() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let a = Gc::new(Named { name: "a", peer: RefCell::new(None), seen: seen.clone() });
    let b = Gc::new(Named { name: "b", peer: RefCell::new(Some(coerce_gc!(a.clone()))), seen: seen.clone() });
    *a.peer.borrow_mut() = Some(coerce_gc!(b));
    drop(a);
    assert_eq!(gen_gc::collect(), 2);
    let seen = seen.borrow();
    assert_eq!(seen.len(), 2);
    assert!(seen[0] == "a saw b" || seen[0] == "b saw a", "{seen:?}");
    assert!(seen[1].ends_with("test_peers_more::Named dropped"), "{seen:?}");
}

/// A link of a long chain, seen through a trait object.
#[derive(Trace)]
struct Link {
    next: Option<Gc<dyn Peer>>,
}

impl Peer for Link {
    fn name(&self) -> &'static str {
        "link"
    }
}

// rust-cc `src/tests/cc.rs` `test_trait_object`, as a chain: a million-long chain of trait
// objects drops by refcount without overflowing the stack.
#[test]
fn a_million_long_chain_of_trait_objects_drops_without_overflow() {
    let mut head: Option<Gc<dyn Peer>> = None;
    for _ in 0..deep() {
        head = Some(coerce_gc!(Gc::new(Link { next: head })));
    }
    let weak = Gc::downgrade(head.as_ref().expect("made"));
    drop(head);
    assert!(weak.upgrade().is_none());
    assert_eq!(gen_gc::collect(), 0);
}

/// A link of a long chain with a finalizer.
#[derive(Trace)]
#[trace(finalize)]
struct FinalLink {
    next: Option<Gc<FinalLink>>,
    #[trace(skip)]
    finalized: Rc<Cell<usize>>,
}

impl Finalize for FinalLink {
    fn finalize(&self) {
        self.finalized.set(self.finalized.get() + 1);
    }
}

/// A chain of `n` finalizable links (at least one); returns its head.
fn final_chain(n: usize, finalized: &Rc<Cell<usize>>) -> Gc<FinalLink> {
    let mut head = Gc::new(FinalLink { next: None, finalized: finalized.clone() });
    for _ in 1..n {
        head = Gc::new(FinalLink { next: Some(head), finalized: finalized.clone() });
    }
    head
}

/// Makes a garbage self-cycle that holds `object`.
fn garbage_cycle_holding(object: Option<cyclegc::GcAny>) {
    let cycle = Gc::new(RefCell::new(Vec::<cyclegc::GcAny>::new()));
    cycle.borrow_mut().push(Gc::to_any(&cycle));
    cycle.borrow_mut().extend(object);
}

// rust-cc `src/tests/cc.rs` `test_simple` (finalized, then dropped), as a chain: a
// million-long chain whose links have finalizers drops by refcount without overflow, each
// finalized once.
#[test]
fn a_million_long_chain_of_finalizable_links_drops_without_overflow() {
    let finalized = Rc::new(Cell::new(0));
    let n = deep();
    drop(final_chain(n, &finalized));
    assert_eq!(finalized.get(), n);
}

// dumpster `unsync/tests.rs` `self_referential`, with a million-long chain of finalized
// links hanging from the cycle: collected without overflow.
#[test]
fn a_million_long_chain_held_by_a_garbage_cycle_is_collected_without_overflow() {
    let finalized = Rc::new(Cell::new(0));
    let n = deep();
    garbage_cycle_holding(Some(Gc::into_any(final_chain(n, &finalized))));
    gen_gc::collect();
    assert_eq!(finalized.get(), n);
    assert_eq!(gen_gc::collect(), 0);
}

// bacon-rajan-cc `src/lib.rs` `test_dead`, as a chain through callbacks: a million
// objects, each kept alive only by the callback of a weak reference to the one before, die
// one after the other without overflow.
#[test]
fn a_million_long_chain_of_weak_callbacks_runs_without_overflow() {
    let n = deep();
    let ran = Rc::new(Cell::new(0));
    let mut weaks = Vec::with_capacity(n);
    let first = Gc::new(0_usize);
    let mut current = first.clone();
    for i in 1..n {
        let next = Gc::new(i);
        let (held, ran) = (next.clone(), ran.clone());
        weaks.push(Gc::downgrade_with_callback(&current, move |_| {
            ran.set(ran.get() + 1);
            drop(held);
        }));
        current = next;
    }
    drop(current);
    drop(first);
    assert_eq!(ran.get(), n - 1);
    assert!(weaks.iter().all(|w| w.upgrade().is_none()));
}

thread_local!(static COLLECTED_IN_DROP: Cell<usize> = const { Cell::new(0) });

/// A link whose `Drop` makes a garbage cycle and collects.
#[derive(Trace)]
struct CollectingLink {
    next: Option<Gc<CollectingLink>>,
}

impl Drop for CollectingLink {
    fn drop(&mut self) {
        garbage_cycle_holding(None);
        COLLECTED_IN_DROP.with(|c| c.set(c.get() + gen_gc::collect()));
    }
}

/// A chain of `n` links whose drops collect; resets the count of what they collected.
fn collecting_chain(n: usize) -> Option<Gc<CollectingLink>> {
    COLLECTED_IN_DROP.with(|c| c.set(0));
    let mut head = None;
    for _ in 0..n {
        head = Some(Gc::new(CollectingLink { next: head }));
    }
    head
}

// rust-cc `tests/triggering.rs` / `auto_collect.rs`: collections started from `Drop`, in the
// middle of a long chain's iterative death, free their garbage and leave the chain's death
// to go on.
#[test]
fn collections_started_by_drops_in_a_dying_chain_free_their_garbage() {
    let n = scaled(2_000).max(50);
    let head = collecting_chain(n);
    drop(head);
    assert_eq!(COLLECTED_IN_DROP.with(Cell::get), n);
    assert_eq!(gen_gc::collect(), 0);
}

// rust-cc `tests/triggering.rs`: a chain of garbage whose `Drop`s collect, freed by a
// collection (collections inside it do nothing).
#[test]
fn collections_started_by_drops_of_garbage_do_nothing() {
    let n = scaled(2_000).max(50);
    let head = collecting_chain(n);
    garbage_cycle_holding(head.map(Gc::into_any));
    assert_eq!(gen_gc::collect(), n + 1);
    assert_eq!(COLLECTED_IN_DROP.with(Cell::get), 0, "no collection inside a collection");
    // The cycles the drops made are the next collection's.
    assert_eq!(gen_gc::collect(), n);
}

/// A tracked element whose `clone` may panic, counting its drops.
#[derive(Trace)]
struct MayPanicOnClone {
    held: Gc<RefCell<Vec<u8>>>,
    #[trace(skip)]
    panic: bool,
    #[trace(skip)]
    drops: Rc<Cell<usize>>,
}

impl Clone for MayPanicOnClone {
    fn clone(&self) -> Self {
        assert!(!self.panic, "told you");
        // A collection in the middle of building the slice object.
        gen_gc::collect();
        MayPanicOnClone { held: self.held.clone(), panic: false, drops: self.drops.clone() }
    }
}

impl Drop for MayPanicOnClone {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

// dumpster `unsync/tests.rs` `from_slice_panic`: a slice object whose elements' `clone`
// panics part way drops the clones made so far, once each, and frees the object.
#[test]
fn a_slice_object_whose_element_clone_panics_drops_what_was_cloned() {
    let drops = Rc::new(Cell::new(0));
    let held = Gc::new(RefCell::new(Vec::new()));
    let element = |panic| MayPanicOnClone { held: held.clone(), panic, drops: drops.clone() };
    let slice = [element(false), element(false), element(true)];
    let result = catch_unwind(AssertUnwindSafe(|| Gc::<[MayPanicOnClone]>::from(&slice[..])));
    assert!(result.is_err());
    assert_eq!(drops.get(), 2, "the two clones, dropped once each");
    assert_eq!(Gc::strong_count(&held), 4, "the clones' handles are given back");
    drop(slice);
    assert_eq!(Gc::strong_count(&held), 1);
    assert_eq!(gen_gc::collect(), 0);
}

// dumpster `unsync/tests.rs` `from_slice_panic`, for `Gc::from_fn`: a maker that allocates,
// collects and then panics leaves no half-made object behind.
#[test]
fn a_slice_object_whose_maker_panics_after_collecting_leaves_nothing() {
    gen_gc::collect();
    let before = gen_gc::get_objects(None).len();
    let drops = Rc::new(Cell::new(0));
    let result = catch_unwind(AssertUnwindSafe(|| {
        Gc::<[MayPanicOnClone]>::from_fn(4, |i| {
            gen_gc::collect();
            assert!(i < 3, "the fourth element fails");
            MayPanicOnClone { held: Gc::new(RefCell::new(vec![1])), panic: false, drops: drops.clone() }
        })
    }));
    assert!(result.is_err());
    assert_eq!(drops.get(), 3);
    assert_eq!(gen_gc::collect(), 0);
    assert_eq!(gen_gc::get_objects(None).len(), before);
}

// dumpster `unsync/tests.rs` `from_box`, `from_vec`, `from_slice`: the other ways in give
// objects with a count of one that the collector handles like any other.
#[test]
fn objects_made_from_boxes_vectors_and_slices_start_with_one_handle() {
    let boxed: Gc<RefCell<Vec<Gc<u8>>>> = Gc::from(Box::new(RefCell::new(vec![Gc::new(1)])));
    assert_eq!(Gc::strong_count(&boxed), 1);
    assert!(gen_gc::is_tracked(&boxed));
    let from_vec: Gc<[String]> = Gc::from(vec![String::from("hello"), String::from("world")]);
    assert_eq!((Gc::strong_count(&from_vec), &from_vec[..]), (1, &[String::from("hello"), String::from("world")][..]));
    let from_slice: Gc<[Gc<u8>]> = Gc::from(&[Gc::new(1), Gc::new(2)][..]);
    assert_eq!(Gc::strong_count(&from_slice), 1);
    let text: Gc<str> = Gc::from("hello");
    assert_eq!((&*text, Gc::strong_count(&text)), ("hello", 1));
    assert_eq!(gen_gc::collect(), 0);
}

// dumpster `unsync/tests.rs` `make_mut`, `make_mut_2`.
#[test]
fn make_mut_gives_each_shared_handle_its_own_object() {
    let mut a = Gc::new(42);
    let mut b = a.clone();
    let mut c = b.clone();
    assert_eq!(*Gc::make_mut(&mut a), 42);
    assert_eq!(*Gc::make_mut(&mut b), 42);
    assert_eq!(*Gc::make_mut(&mut c), 42);
    *Gc::make_mut(&mut a) += 1;
    *Gc::make_mut(&mut b) += 2;
    *Gc::make_mut(&mut c) += 3;
    assert_eq!((*a, *b, *c), (43, 44, 45));
    assert!([&a, &b, &c].iter().all(|x| Gc::strong_count(x) == 1));
    let mut a = Gc::new(42);
    let b = a.clone();
    let c = b.clone();
    *Gc::make_mut(&mut a) += 1;
    assert_eq!((*a, *b, *c), (43, 42, 42));
    assert_eq!((Gc::strong_count(&a), Gc::strong_count(&b)), (1, 2));
}

// dumpster `unsync/tests.rs` `make_mut_of_object_in_dumpster`: a collection while
// `make_mut`'s guard lends the value does not read it, even once the object was a
// candidate (its count went down) and sits in an old generation.
#[test]
fn a_collection_while_make_mut_lends_an_old_object_does_not_read_it() {
    #[derive(Trace, Clone)]
    struct Foo {
        something: Gc<i32>,
        me: RefCell<Option<Gc<Foo>>>,
    }
    let mut foo = Gc::new(Foo { something: Gc::new(5), me: RefCell::new(None) });
    drop(foo.clone());
    gen_gc::collect();
    let mut foo_mut = Gc::make_mut(&mut foo);
    gen_gc::collect();
    foo_mut.something = Gc::new(6);
    gen_gc::collect();
    assert_eq!(*foo_mut.something, 6);
    drop(foo_mut);
    // The object is back among the collector's: a cycle through it is collected.
    *foo.me.borrow_mut() = Some(foo.clone());
    let weak = Gc::downgrade(&foo);
    drop(foo);
    assert_eq!(gen_gc::collect(), 1);
    assert!(weak.upgrade().is_none());
}

// bacon-rajan-cc `src/lib.rs` `test_cowrc_clone_weak`: `make_mut` with only weak references left moves
// the handle to a copy; the old object dies, its weak references read dead and their
// callbacks run.
#[test]
fn make_mut_with_weak_references_leaves_them_to_the_old_object() {
    let ran = Rc::new(Cell::new(false));
    let mut a = Gc::new(RefCell::new(vec![Gc::new(1_u8)]));
    let r = ran.clone();
    let weak = Gc::downgrade_with_callback(&a, move |_| r.set(true));
    Gc::make_mut(&mut a).get_mut().push(Gc::new(2));
    assert!(ran.get());
    assert!(weak.upgrade().is_none());
    assert_eq!(a.borrow().len(), 2);
    assert_eq!(Gc::weak_count(&a), 0);
}

// bacon-rajan-cc `src/lib.rs` `try_unwrap`, on a value holding a cycle: the value is handed
// out and keeps the cycle, which is collected once the value is dropped.
#[test]
fn try_unwrap_of_a_value_holding_a_cycle_hands_it_out_and_the_cycle_is_collected() {
    let drops = Rc::new(Cell::new(0));
    let holder = Gc::new(RefCell::new(Vec::<cyclegc::GcAny>::new()));
    let cycle_member = Gc::new(Hostile { partner: RefCell::new(None), drops: drops.clone(), on_drop: |_| {} });
    *cycle_member.partner.borrow_mut() = Some(cycle_member.clone());
    holder.borrow_mut().push(Gc::to_any(&cycle_member));
    drop(cycle_member);
    assert_eq!(gen_gc::collect(), 0, "the holder keeps the self-cycle");
    let value = Gc::try_unwrap(holder).expect("the only handle");
    assert_eq!(gen_gc::collect(), 0, "the value keeps the self-cycle");
    drop(value);
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(drops.get(), 1);
}

// rust-cc `src/tests/weak/mod.rs` `try_upgrade_in_finalize_and_drop` with bacon-rajan-cc's
// `try_unwrap` and `get_mut`: inside a refcount finalizer the object's own handle (upgraded
// from a weak reference) is not the only one, so it can be neither unwrapped nor lent
// mutably.
#[test]
fn a_refcount_finalizer_cannot_unwrap_or_borrow_its_own_object() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Selfish {
        weak: Weak<Selfish>,
        #[trace(skip)]
        outcome: Rc<Cell<Option<(bool, bool)>>>,
    }
    impl Finalize for Selfish {
        fn finalize(&self) {
            let mut me = self.weak.upgrade().expect("alive while finalized");
            let lent = Gc::get_mut(&mut me).is_some();
            let unwrapped = Gc::try_unwrap(me).is_ok();
            self.outcome.set(Some((lent, unwrapped)));
        }
    }
    let outcome = Rc::new(Cell::new(None));
    let o = outcome.clone();
    let weak = Gc::downgrade(&Gc::new_cyclic(|weak| Selfish { weak: weak.clone(), outcome: o }));
    assert_eq!(outcome.get(), Some((false, false)));
    assert!(weak.upgrade().is_none(), "the handle dropped in the finalizer did not resurrect it");
}

// bacon-rajan-cc `src/lib.rs` `try_unwrap`, `get_mut` and rust-cc's `test_new_cyclic`, run
// by drops at thread exit: user code may still use them on objects it makes; nothing leaks
// or dangles.
#[test]
fn drops_at_thread_exit_may_unwrap_borrow_and_make_cyclic_objects() {
    #[derive(Trace)]
    struct AtExit {
        me: RefCell<Option<Gc<AtExit>>>,
        #[trace(skip)]
        seen: std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>,
    }
    impl Drop for AtExit {
        fn drop(&mut self) {
            let mut fresh = Gc::new(vec![Gc::new(1_u8)]);
            if let Some(mut lent) = Gc::get_mut(&mut fresh) {
                lent.push(Gc::new(2));
            }
            let unwrapped = Gc::try_unwrap(fresh).map(|v| v.len()).unwrap_or(0);
            let ring = Gc::new_cyclic(|me: &Weak<Ring>| Ring { me: me.clone(), next: RefCell::new(None) });
            *ring.next.borrow_mut() = ring.me.upgrade();
            drop(ring);
            gen_gc::collect();
            let mut seen = self.seen.lock().expect("not poisoned");
            seen.push(if unwrapped == 2 { "unwrapped" } else { "kept" });
        }
    }
    #[derive(Trace)]
    struct Ring {
        me: Weak<Ring>,
        next: RefCell<Option<Gc<Ring>>>,
    }
    thread_local!(static HELD: RefCell<Option<Gc<AtExit>>> = const { RefCell::new(None) });
    // Global constructors do not run under Miri: install the collector as the crate docs say.
    gen_gc::install();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    std::thread::spawn(move || {
        // A garbage cycle and a thread-local object, both left to the thread's exit.
        let cycle = Gc::new(AtExit { me: RefCell::new(None), seen: s.clone() });
        *cycle.me.borrow_mut() = Some(cycle.clone());
        drop(cycle);
        HELD.with(|held| *held.borrow_mut() = Some(Gc::new(AtExit { me: RefCell::new(None), seen: s })));
    })
    .join()
    .expect("the thread ends cleanly");
    assert_eq!(*seen.lock().expect("not poisoned"), ["unwrapped", "unwrapped"]);
}

/// Two weak references to one object whose callbacks each drop the other's handle.
fn mutually_cancelling_weak_references(target: &Gc<Hostile>) -> Rc<RefCell<Vec<&'static str>>> {
    let ran = Rc::new(RefCell::new(Vec::new()));
    let first: Rc<RefCell<Option<Weak<Hostile>>>> = Rc::default();
    let second: Rc<RefCell<Option<Weak<Hostile>>>> = Rc::default();
    let (r, other) = (ran.clone(), second.clone());
    *first.borrow_mut() = Some(Gc::downgrade_with_callback(target, move |_| {
        r.borrow_mut().push("first");
        drop(other.borrow_mut().take());
    }));
    let (r, other) = (ran.clone(), first.clone());
    *second.borrow_mut() = Some(Gc::downgrade_with_callback(target, move |_| {
        r.borrow_mut().push("second");
        drop(other.borrow_mut().take());
    }));
    ran
}

// rust-cc `src/tests/weak/mod.rs` `weak_test2` (weak handles dropped), while their object
// dies: as in CPython,
// whose `PyObject_ClearWeakRefs` keeps every cleared weak reference until its callback has
// run, the callbacks are decided when the object dies; dropping another weak reference's
// last handle from a callback does not cancel that one, and nothing dangles. By refcount.
#[test]
fn a_weak_callback_that_drops_another_pending_weak_reference_leaves_it_to_run() {
    let target = Gc::new(Hostile { partner: RefCell::new(None), drops: Rc::default(), on_drop: |_| {} });
    let ran = mutually_cancelling_weak_references(&target);
    drop(target);
    assert_eq!(*ran.borrow(), ["second", "first"], "newest first, as CPython");
}

// The same, for an object the collector frees.
#[test]
fn a_weak_callback_run_by_a_collection_that_drops_another_pending_weak_reference_leaves_it_to_run() {
    let target = Gc::new(Hostile { partner: RefCell::new(None), drops: Rc::default(), on_drop: |_| {} });
    *target.partner.borrow_mut() = Some(target.clone());
    let ran = mutually_cancelling_weak_references(&target);
    drop(target);
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(*ran.borrow(), ["second", "first"], "newest first, as CPython");
}

/// Watches a target through a weak reference whose traced callback holds the watcher.
#[derive(Trace)]
struct TracedWatcher {
    watching: RefCell<Option<Weak<Hostile>>>,
    #[trace(skip)]
    seen: Rc<Cell<usize>>,
}

// rust-cc `src/tests/weak/mod.rs` `try_upgrade_in_cyclic_finalize_and_drop`, for traced weak
// callbacks: a watcher holding a weak
// reference whose callback holds the watcher is a cycle; garbage with its target, it is
// freed without the callback running.
#[test]
fn a_traced_weak_callback_in_garbage_with_its_target_does_not_run() {
    let seen = Rc::new(Cell::new(0));
    let drops = Rc::new(Cell::new(0));
    let target = Gc::new(Hostile { partner: RefCell::new(None), drops: drops.clone(), on_drop: |_| {} });
    *target.partner.borrow_mut() = Some(target.clone());
    let watcher = Gc::new(TracedWatcher { watching: RefCell::new(None), seen: seen.clone() });
    let on_death = cyclegc::Closure::new(watcher.clone(), |watcher: &Gc<TracedWatcher>, _dead: Weak<Hostile>| {
        watcher.seen.set(watcher.seen.get() + 1);
    });
    *watcher.watching.borrow_mut() = Some(Gc::downgrade_with_traced_callback(&target, on_death));
    let watched = Gc::downgrade(&watcher);
    drop((target, watcher));
    assert_eq!(gen_gc::collect(), 2, "the target and the watcher");
    assert_eq!(seen.get(), 0);
    assert_eq!(drops.get(), 1);
    assert!(watched.upgrade().is_none());
}

// The same with the target alive: the watcher's cycle (through the callback) is freed, and
// the target's later death runs no callback.
#[test]
fn a_traced_weak_callback_whose_watcher_is_garbage_is_freed_with_it() {
    let seen = Rc::new(Cell::new(0));
    let target = Gc::new(Hostile { partner: RefCell::new(None), drops: Rc::default(), on_drop: |_| {} });
    let watcher = Gc::new(TracedWatcher { watching: RefCell::new(None), seen: seen.clone() });
    let on_death = cyclegc::Closure::new(watcher.clone(), |watcher: &Gc<TracedWatcher>, _dead: Weak<Hostile>| {
        watcher.seen.set(watcher.seen.get() + 1);
    });
    *watcher.watching.borrow_mut() = Some(Gc::downgrade_with_traced_callback(&target, on_death));
    drop(watcher);
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(Gc::weak_count(&target), 0);
    drop(target);
    assert_eq!(seen.get(), 0);
}

// rust-cc `tests/weak.rs` `weak_dst`: weak references to trait objects of a collected cycle
// read dead.
#[test]
fn weak_references_to_trait_objects_of_a_collected_cycle_read_dead() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let a = Gc::new(Named { name: "a", peer: RefCell::new(None), seen: seen.clone() });
    let b: Gc<dyn Peer> =
        coerce_gc!(Gc::new(Named { name: "b", peer: RefCell::new(Some(coerce_gc!(a.clone()))), seen }));
    let weak_b: Weak<dyn Peer> = Gc::downgrade(&b);
    let weak_a: Weak<dyn Peer> = cyclegc::coerce_weak!(Gc::downgrade(&a));
    assert_eq!(weak_a.upgrade().map(|p| p.name()), Some("a"));
    *a.peer.borrow_mut() = Some(b);
    drop(a);
    assert_eq!(gen_gc::collect(), 2);
    assert!(weak_a.upgrade().is_none() && weak_b.upgrade().is_none());
    assert_eq!((weak_a.strong_count(), weak_b.weak_count()), (0, 0));
}

/// What the hostile workload's objects did, shared by all of them.
#[derive(Default)]
struct Ledger {
    made: Cell<usize>,
    dropped: Cell<usize>,
    dropped_twice: Cell<bool>,
    finalized_twice: Cell<bool>,
}

thread_local! {
    static LEDGER: Ledger = Ledger::default();
    static ROOTS: RefCell<Vec<Gc<Busy>>> = const { RefCell::new(Vec::new()) };
    static GRAVEYARD: RefCell<Vec<Gc<Busy>>> = const { RefCell::new(Vec::new()) };
}

/// A node of the hostile workload: its finalizer may resurrect it and its `Drop` allocates,
/// links, reads its neighbours and may collect.
#[derive(Trace)]
#[trace(finalize)]
struct Busy {
    edges: RefCell<Vec<Gc<Busy>>>,
    #[trace(skip)]
    seed: u32,
    #[trace(skip)]
    dropped: Cell<bool>,
    #[trace(skip)]
    finalized: Cell<bool>,
}

fn busy(seed: u32) -> Gc<Busy> {
    LEDGER.with(|l| l.made.set(l.made.get() + 1));
    Gc::new(Busy { edges: RefCell::new(Vec::new()), seed, dropped: Cell::new(false), finalized: Cell::new(false) })
}

impl Finalize for Busy {
    fn finalize(&self) {
        if self.finalized.replace(true) {
            LEDGER.with(|l| l.finalized_twice.set(true));
        }
        if self.seed.is_multiple_of(7) {
            // Resurrects a neighbour (which may be garbage too).
            if let Some(next) = self.edges.borrow().first() {
                let _ = GRAVEYARD.with(|g| g.try_borrow_mut().map(|mut g| g.push(next.clone())));
            }
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.dropped.replace(true) {
            LEDGER.with(|l| l.dropped_twice.set(true));
        }
        LEDGER.with(|l| l.dropped.set(l.dropped.get() + 1));
        for edge in self.edges.get_mut().iter() {
            if let Ok(value) = Gc::try_get(edge) {
                let _ = value.edges.try_borrow().map(|edges| edges.len());
            }
        }
        match self.seed % 5 {
            0 => {
                // A new cycle, left for a later collection.
                let a = busy(self.seed / 5);
                a.edges.borrow_mut().push(a.clone());
            }
            1 => {
                gen_gc::collect_generation(0).expect("a valid generation");
            }
            3 => {
                gen_gc::freeze();
                let _ = gen_gc::collect_generation(1);
                gen_gc::unfreeze();
            }
            2 => {
                let _ = ROOTS.with(|r| r.try_borrow_mut().map(|mut roots| roots.pop()));
            }
            _ => {}
        }
    }
}

/// Runs a deterministic random workload of hostile objects with automatic collection after
/// every few allocations, then empties the heap and checks the ledger.
fn hostile_workload(seed: u64, steps: usize) {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let thresholds = gen_gc::get_threshold();
    gen_gc::set_threshold(3, 2, 2);
    let mut weaks: Vec<Weak<Busy>> = Vec::new();
    for _ in 0..steps {
        let roll = next();
        let len = ROOTS.with(|r| r.borrow().len());
        let pick = |n: u64| (n as usize) % len.max(1);
        match roll % 12 {
            0..=2 => {
                let node = busy((roll >> 8) as u32);
                ROOTS.with(|r| r.borrow_mut().push(node));
            }
            3 if len > 0 => {
                let (a, b) = ROOTS.with(|r| {
                    let r = r.borrow();
                    (r[pick(roll >> 8)].clone(), r[pick(roll >> 24)].clone())
                });
                a.edges.borrow_mut().push(b);
            }
            4 if len > 0 => {
                let node = ROOTS.with(|r| r.borrow()[pick(roll >> 8)].clone());
                node.edges.borrow_mut().pop();
            }
            5 if len > 0 => {
                let node = ROOTS.with(|r| r.borrow_mut().swap_remove(pick(roll >> 8)));
                drop(node);
            }
            6 if len > 0 => {
                let node = ROOTS.with(|r| r.borrow()[pick(roll >> 8)].clone());
                let seed = (roll >> 32) as u32;
                weaks.push(Gc::downgrade_with_callback(&node, move |dead| {
                    assert!(dead.upgrade().is_none());
                    if seed.is_multiple_of(3) {
                        let fresh = busy(seed);
                        fresh.edges.borrow_mut().push(fresh.clone());
                    }
                }));
            }
            7 => {
                if roll % 4 == 0 {
                    gen_gc::collect();
                } else {
                    let _ = gen_gc::collect_generation((roll >> 8) as usize % 3);
                }
            }
            8 => {
                drop(GRAVEYARD.with(|g| std::mem::take(&mut *g.borrow_mut())));
            }
            9 if len > 0 => {
                // Lent mutably while collections run, then back among the roots.
                let mut node = ROOTS.with(|r| r.borrow_mut().swap_remove(pick(roll >> 8)));
                if let Some(mut lent) = Gc::get_mut(&mut node) {
                    lent.edges.get_mut().push(busy((roll >> 16) as u32));
                    gen_gc::collect();
                    drop(busy((roll >> 20) as u32));
                }
                ROOTS.with(|r| r.borrow_mut().push(node));
            }
            10 if len > 0 => {
                let node = ROOTS.with(|r| r.borrow_mut().swap_remove(pick(roll >> 8)));
                if let Ok(value) = Gc::try_unwrap(node) {
                    gen_gc::collect_generation(0).expect("a valid generation");
                    drop(value);
                }
            }
            11 => {
                gen_gc::freeze();
                if roll % 3 == 0 {
                    gen_gc::collect();
                }
                gen_gc::unfreeze();
            }
            _ => {}
        }
        weaks.retain(|w| w.upgrade().is_some());
    }
    drop(ROOTS.with(|r| std::mem::take(&mut *r.borrow_mut())));
    for _ in 0..20 {
        drop(GRAVEYARD.with(|g| std::mem::take(&mut *g.borrow_mut())));
        gen_gc::collect();
    }
    gen_gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    LEDGER.with(|l| {
        assert!(!l.dropped_twice.get(), "seed {seed}: a value dropped twice");
        assert!(!l.finalized_twice.get(), "seed {seed}: a finalizer ran twice");
        assert_eq!(l.made.get(), l.dropped.get(), "seed {seed}: everything made is dropped");
    });
}

// gcmodule's `test_quickcheck_16_vertex_graph` and rust-cc's `tests/auto_collect.rs`, with
// hostile user code: random graphs whose finalizers resurrect, whose drops allocate, collect
// and drop roots, and whose weak callbacks allocate, under frequent automatic collections of
// both policies: nothing is dropped or finalized twice, and everything is freed at the end.
#[test]
fn hostile_random_workloads_under_automatic_collection_free_everything_once() {
    let steps = scaled(10_000).max(150);
    let seeds = if scaled(8) < 8 { 1 } else { 8 };
    for policy in [gen_gc::CollectionPolicy::Incremental, gen_gc::CollectionPolicy::Generational] {
        gen_gc::set_collection_policy(policy);
        for seed in 1..=seeds {
            hostile_workload(seed, steps);
        }
    }
    gen_gc::set_collection_policy(gen_gc::CollectionPolicy::Incremental);
}

// bacon-rajan-cc `src/lib.rs` `weak_self_cyclic`: an object holding the only weak reference
// to itself dies by refcount, once, with no double free.
#[test]
fn an_object_holding_the_only_weak_reference_to_itself_dies_by_refcount() {
    #[derive(Trace)]
    struct Cycle {
        x: RefCell<Option<Weak<Cycle>>>,
    }
    let a = Gc::new(Cycle { x: RefCell::new(None) });
    *a.x.borrow_mut() = Some(Gc::downgrade(&a));
    let watch = Gc::downgrade(&a);
    drop(a);
    assert!(watch.upgrade().is_none());
    assert_eq!(gen_gc::collect(), 0);
}

// bacon-rajan-cc `src/lib.rs` `try_unwrap`, `get_mut`, `is_unique`: a weak reference keeps
// `get_mut` from lending; `try_unwrap` hands the value out with weak references left (ours
// then reads them dead, as `Rc` does).
#[test]
fn try_unwrap_and_get_mut_refuse_shared_objects_and_weak_references_die() {
    let x = Gc::new(3);
    assert_eq!(Gc::try_unwrap(x), Ok(3));
    let x = Gc::new(4);
    let y = x.clone();
    let x = Gc::try_unwrap(x).expect_err("shared");
    assert_eq!((*x, *y), (4, 4));
    let x = Gc::new(5);
    let w = Gc::downgrade(&x);
    assert_eq!(Gc::try_unwrap(x), Ok(5));
    assert!(w.upgrade().is_none());
    let mut x = Gc::new(3);
    *Gc::get_mut(&mut x).expect("unique") = 4;
    assert_eq!(*x, 4);
    let y = x.clone();
    assert!(Gc::get_mut(&mut x).is_none());
    drop(y);
    assert!(Gc::get_mut(&mut x).is_some());
    let w = Gc::downgrade(&x);
    assert!(Gc::get_mut(&mut x).is_none());
    drop(w);
    assert!(Gc::get_mut(&mut x).is_some());
}

// bacon-rajan-cc `src/lib.rs` `test_retain_weak`: a weak reference outliving its collected
// self-cycle reads dead and drops cleanly.
#[test]
fn a_weak_reference_outliving_its_collected_cycle_reads_dead() {
    #[derive(Trace, Clone)]
    struct A {
        x: Gc<RefCell<Option<A>>>,
    }
    let retained = {
        let a = A { x: Gc::new(RefCell::new(None)) };
        *a.x.borrow_mut() = Some(a.clone());
        Gc::downgrade(&a.x)
    };
    assert_eq!(gen_gc::collect(), 1);
    assert!(retained.upgrade().is_none());
    drop(retained);
}

// bacon-rajan-cc `src/lib.rs` `test_no_leak_with_double_indirection`: a handle to a handle
// dies by refcount, with nothing left for the collector.
#[test]
fn a_handle_to_a_handle_dies_by_refcount_without_a_collection() {
    let ty = Gc::new(5);
    drop(ty.clone());
    let s = Gc::new(ty);
    let inner = Gc::downgrade(&s);
    let innermost = Gc::downgrade(&*s);
    drop(s.clone());
    drop(s);
    assert_eq!(gen_gc::collect(), 0);
    assert!(inner.upgrade().is_none() && innermost.upgrade().is_none());
}

// bacon-rajan-cc `src/lib.rs` `test_double_visit_scan_black`: a cycle found reachable after
// a collection looked at it is kept whole, and freed once broken.
#[test]
fn a_cycle_found_reachable_is_kept_whole_and_freed_once_broken() {
    #[derive(Trace)]
    struct A {
        #[trace(skip)]
        count: Rc<Cell<i32>>,
        next_op: Gc<RefCell<Option<A>>>,
    }
    impl Clone for A {
        fn clone(&self) -> Self {
            self.count.set(self.count.get() + 1);
            A { count: self.count.clone(), next_op: self.next_op.clone() }
        }
    }
    impl A {
        fn new(count: &Rc<Cell<i32>>, next_op: Option<A>) -> A {
            count.set(count.get() + 1);
            A { count: count.clone(), next_op: Gc::new(RefCell::new(next_op)) }
        }
    }
    impl Drop for A {
        fn drop(&mut self) {
            self.count.set(self.count.get() - 1);
        }
    }
    let count = Rc::new(Cell::new(0));
    {
        let q;
        {
            let z = A::new(&count, None);
            let y = A::new(&count, Some(z.clone()));
            let x = A::new(&count, Some(y));
            *z.next_op.borrow_mut() = Some(x.clone());
            q = x;
        }
        gen_gc::collect();
        *q.next_op.borrow_mut() = None;
    }
    gen_gc::collect();
    assert_eq!(count.get(), 0);
}

// bacon-rajan-cc `src/lib.rs` `extra_free`: freeing a cycle must not free what a live
// object still reaches through the cycle's former members.
#[test]
fn freeing_a_cycle_keeps_what_live_objects_reach_through_it() {
    #[derive(Trace)]
    struct Env {
        closures: Vec<Gc<RefCell<Clos>>>,
        next: Option<Gc<Env>>,
    }
    #[derive(Trace)]
    struct Clos {
        env: Gc<Env>,
    }
    let live_env = {
        let base_env = Gc::new(Env { closures: vec![], next: None });
        let env_a = Gc::new(Env {
            closures: vec![Gc::new(RefCell::new(Clos { env: base_env.clone() }))],
            next: Some(base_env.clone()),
        });
        let circular_env = Gc::new(Env {
            closures: vec![Gc::new(RefCell::new(Clos { env: base_env.clone() }))],
            next: Some(env_a.clone()),
        });
        circular_env.closures[0].replace(Clos { env: circular_env.clone() });
        let live_env = Gc::new(Env { closures: vec![], next: Some(env_a.clone()) });
        drop((base_env, env_a));
        gen_gc::collect();
        drop(circular_env);
        assert_eq!(gen_gc::collect(), 2, "the circular environment and its closure");
        live_env
    };
    let env_a = live_env.next.as_ref().expect("kept");
    assert_eq!(env_a.closures.len(), 1);
    assert!(env_a.closures[0].borrow().env.next.is_none());
    drop(live_env);
    assert_eq!(gen_gc::collect(), 0);
}

// bacon-rajan-cc `src/lib.rs` `weak_cycle`: a cycle closed only by a weak reference dies by
// refcount.
#[test]
fn a_cycle_closed_by_a_weak_reference_dies_by_refcount() {
    #[derive(Trace)]
    struct Gadget {
        owner: Gc<RefCell<Option<Weak<Gadget>>>>,
    }
    let gadget_owner = Gc::new(RefCell::new(None));
    let gadget = Gc::new(Gadget { owner: gadget_owner.clone() });
    *gadget_owner.borrow_mut() = Some(Gc::downgrade(&gadget));
    let watch = Gc::downgrade(&gadget_owner);
    drop((gadget_owner, gadget));
    assert!(watch.upgrade().is_none());
    assert_eq!(gen_gc::collect(), 0);
}

/// Counts, across threads, what the objects of a thread-exit test did.
#[derive(Default)]
struct ExitCounts {
    dropped: std::sync::atomic::AtomicUsize,
    callbacks: std::sync::atomic::AtomicUsize,
    dead_weaks: std::sync::atomic::AtomicUsize,
}

/// A node of a thread-exit test, in a cycle through a trait object.
#[derive(Trace)]
struct ExitNode {
    peer: RefCell<Option<Gc<dyn Peer>>>,
    #[trace(skip)]
    counts: std::sync::Arc<ExitCounts>,
}

impl Peer for ExitNode {
    fn name(&self) -> &'static str {
        "exit node"
    }
}

impl Drop for ExitNode {
    fn drop(&mut self) {
        self.counts.dropped.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // User code at exit: allocates, and reads its peer if it is still there.
        drop(Gc::new(RefCell::new(vec![Gc::new(1_u8)])));
        if let Some(peer) = self.peer.get_mut().as_ref() {
            let _ = Gc::try_get(peer).map(|p| p.name());
        }
    }
}

/// A thread-local's value that drops its handles first, then looks at its weak references.
#[derive(Default)]
struct Outliving {
    handles: Vec<Gc<ExitNode>>,
    weaks: Vec<Weak<ExitNode>>,
    counts: Option<std::sync::Arc<ExitCounts>>,
}

impl Drop for Outliving {
    fn drop(&mut self) {
        self.handles.clear();
        let dead = self.weaks.iter().filter(|w| w.upgrade().is_none() && w.strong_count() == 0).count();
        if let Some(counts) = &self.counts {
            counts.dead_weaks.fetch_add(dead, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

thread_local! {
    static OUTLIVING: RefCell<Outliving> = RefCell::default();
    static KEPT_AT_EXIT: RefCell<Vec<Gc<ExitNode>>> = const { RefCell::new(Vec::new()) };
}

// rust-cc `src/tests/weak/mod.rs` `weak_test` and dumpster's `cyclic`, at thread exit (see
// rc-heap's `exit` module): live cycles through trait objects are dropped once, whether
// garbage at exit, held by a thread-local destroyed before the first exit pass, or released
// by one destroyed after it (the last pass frees those). Weak references kept in a
// thread-local that outlives the first pass read dead for the cycles freed by then, and
// their callbacks ran once; the cycles that thread-local itself releases are freed only
// after it is gone, weak references included, so their callbacks do not run.
#[test]
fn live_cycles_and_weak_references_in_thread_locals_die_once_at_thread_exit() {
    // Global constructors do not run under Miri: install the collector as the crate docs say.
    gen_gc::install();
    let counts = std::sync::Arc::new(ExitCounts::default());
    let c = counts.clone();
    let pairs = 4;
    std::thread::spawn(move || {
        // First used before the heap: destroyed after its exit passes.
        OUTLIVING.with(|o| o.borrow_mut().counts = Some(c.clone()));
        for i in 0..pairs {
            let a = Gc::new(ExitNode { peer: RefCell::new(None), counts: c.clone() });
            let b = Gc::new(ExitNode { peer: RefCell::new(Some(coerce_gc!(a.clone()))), counts: c.clone() });
            *a.peer.borrow_mut() = Some(coerce_gc!(b.clone()));
            let counted = c.clone();
            let weak = Gc::downgrade_with_callback(&a, move |dead| {
                assert!(dead.upgrade().is_none());
                counted.callbacks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
            OUTLIVING.with(|o| o.borrow_mut().weaks.extend([weak, Gc::downgrade(&b)]));
            match i % 3 {
                // Held by a thread-local that outlives the heap.
                0 => OUTLIVING.with(|o| o.borrow_mut().handles.push(a)),
                // Held by a thread-local destroyed before the heap.
                1 => KEPT_AT_EXIT.with(|h| h.borrow_mut().push(a)),
                // Garbage.
                _ => drop(a),
            }
        }
    })
    .join()
    .expect("the thread ends cleanly");
    assert_eq!(counts.dropped.load(std::sync::atomic::Ordering::SeqCst), 2 * pairs);
    let outliving = (0..pairs).filter(|i| i % 3 == 0).count();
    assert_eq!(counts.callbacks.load(std::sync::atomic::Ordering::SeqCst), pairs - outliving);
    assert_eq!(counts.dead_weaks.load(std::sync::atomic::Ordering::SeqCst), 2 * (pairs - outliving));
}
