//! A careless user against the collector: `Trace` impls that panic or hide edges, `Drop`s
//! that bring collected objects back through ids and handles, finalizers that change the
//! collector's settings, and handles lent mutably or forgotten while collections run. Each
//! scenario ends with the heap consistent: every value dropped once, nothing freed that is
//! still reachable, and the next collection finds nothing left over.

#![allow(unsafe_code, reason = "Trace impls that break Trace's rules 3 and 4 on purpose")]

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use cyclegc::{Finalize, Gc, GcAny, ObjectId, Trace, Visitor, Weak, coerce_gc};

mod common;
#[path = "common/scale.rs"]
mod scale;

thread_local! {
    static KEPT: RefCell<Vec<GcAny>> = const { RefCell::new(Vec::new()) };
}

/// Counts the drops of one test's values.
#[derive(Default)]
struct Drops(Cell<usize>);

/// A node whose `Trace` panics, before visiting its edge, on the call `PANIC_AT` counts
/// down to.
struct Touchy {
    next: RefCell<Option<Gc<Touchy>>>,
    drops: Rc<Drops>,
}

thread_local! {
    static PANIC_AT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: visits the one `Gc` it owns, once; a panic is not a breach of rules 1 and 2.
unsafe impl Trace for Touchy {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        let countdown = PANIC_AT.with(|at| at.replace(at.get().saturating_sub(1)));
        if countdown == 1 {
            panic!("Touchy::trace exploded");
        }
        self.next.trace(visitor);
    }
}

impl Drop for Touchy {
    fn drop(&mut self) {
        self.drops.0.set(self.drops.0.get() + 1);
    }
}

#[test]
fn a_trace_that_panics_in_any_phase_never_frees_what_a_live_object_holds() {
    // A live root holds a chain only through itself; its `Trace` panics on its first,
    // second, ... call of the collection. Whatever phase that is, the chain stays whole.
    // Under Miri (where a panic takes seconds): the first call of each phase.
    let calls: &[usize] = if cfg!(miri) { &[1, 3] } else { &[1, 2, 3, 4] };
    for &panic_at in calls {
        gen_gc::collect();
        let out = common::capture_debug_output();
        let drops = Rc::new(Drops::default());
        let tail = Gc::new(Touchy { next: RefCell::new(None), drops: drops.clone() });
        let root = Gc::new(Touchy { next: RefCell::new(Some(tail)), drops: drops.clone() });
        PANIC_AT.with(|at| at.set(panic_at));
        let found = catch_unwind(AssertUnwindSafe(gen_gc::collect));
        PANIC_AT.with(|at| at.set(0));
        gen_gc::set_debug_output(None);
        assert_eq!(found.ok(), Some(0), "panic at call {panic_at}: {}", out.borrow());
        assert_eq!(drops.0.get(), 0, "panic at call {panic_at}");
        let tail = root.next.borrow().clone().expect("the chain");
        assert!(Gc::try_get(&tail).is_ok(), "panic at call {panic_at}: the tail's value lives");
        drop((tail, root));
        assert_eq!(drops.0.get(), 2);
    }
}

#[test]
fn a_trace_that_panics_mid_walk_leaves_a_garbage_cycle_collectable() {
    let calls: &[usize] = if cfg!(miri) { &[2] } else { &[1, 2, 3, 4] };
    for &panic_at in calls {
        gen_gc::collect();
        let out = common::capture_debug_output();
        let drops = Rc::new(Drops::default());
        let a = Gc::new(Touchy { next: RefCell::new(None), drops: drops.clone() });
        let b = Gc::new(Touchy { next: RefCell::new(Some(a.clone())), drops: drops.clone() });
        *a.next.borrow_mut() = Some(b.clone());
        drop((a, b));
        PANIC_AT.with(|at| at.set(panic_at));
        let found = catch_unwind(AssertUnwindSafe(gen_gc::collect)).expect("the collection completes");
        PANIC_AT.with(|at| at.set(0));
        gen_gc::set_debug_output(None);
        // Kept whole (the object could not be traced) or collected: never half of each.
        assert!(found == 0 || found == 2, "panic at call {panic_at}: {found}");
        assert_eq!(drops.0.get(), found, "panic at call {panic_at}");
        assert_eq!(gen_gc::collect(), 2 - found, "panic at call {panic_at}: {}", out.borrow());
        assert_eq!(drops.0.get(), 2);
    }
}

/// Breaks rule 3 on purpose: hides its edge from the collector.
struct Hider {
    next: RefCell<Option<Gc<Hider>>>,
    drops: Rc<Drops>,
}

// SAFETY: visits nothing, which rule 3 allows (a leak, never undefined behaviour).
unsafe impl Trace for Hider {
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
}

impl Drop for Hider {
    fn drop(&mut self) {
        self.drops.0.set(self.drops.0.get() + 1);
    }
}

#[test]
fn a_trace_that_hides_an_edge_keeps_what_it_hides_alive() {
    gen_gc::collect();
    let drops = Rc::new(Drops::default());
    let a = Gc::new(Hider { next: RefCell::new(None), drops: drops.clone() });
    let b = Gc::new(Hider { next: RefCell::new(Some(a.clone())), drops: drops.clone() });
    *a.next.borrow_mut() = Some(b.clone());
    let (wa, wb) = (Gc::downgrade(&a), Gc::downgrade(&b));
    drop((a, b));
    for _ in 0..3 {
        assert_eq!(gen_gc::collect(), 0, "hidden edges look like references from outside");
    }
    let a = wa.upgrade().expect("a is kept");
    assert!(wb.upgrade().is_some(), "b is kept");
    assert_eq!(drops.0.get(), 0);
    // Breaking the cycle by hand frees both by their counts.
    a.next.borrow_mut().take();
    drop(a);
    assert_eq!(drops.0.get(), 2);
    assert!(wa.upgrade().is_none() && wb.upgrade().is_none());
}

/// Breaks rule 4 on purpose: says it is a leaf while it holds a weak reference with a callback.
struct FalseLeaf {
    _weak: Weak<Ring>,
}

// SAFETY: `TRACKED = false` while holding a `Weak` breaks rule 4, which only hides edges
// and weak references; the collector never calls this `trace`.
unsafe impl Trace for FalseLeaf {
    const TRACKED: bool = false;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
}

#[derive(Trace)]
struct Ring {
    next: RefCell<Option<Gc<Ring>>>,
    hidden: RefCell<Option<Gc<FalseLeaf>>>,
}

#[test]
fn a_false_leaf_holding_a_weak_reference_into_its_garbage_runs_its_callback_safely() {
    // The collector cannot know that the garbage owns the weak reference, so its callback
    // runs; the garbage reads dead inside it and is freed once.
    gen_gc::collect();
    let a = Gc::new(Ring { next: RefCell::new(None), hidden: RefCell::new(None) });
    let b = Gc::new(Ring { next: RefCell::new(Some(a.clone())), hidden: RefCell::new(None) });
    *a.next.borrow_mut() = Some(b.clone());
    let witness = Gc::downgrade(&b);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let weak = Gc::downgrade_with_callback(&b, {
        let seen = seen.clone();
        move |_| seen.borrow_mut().push(witness.upgrade().is_some())
    });
    *a.hidden.borrow_mut() = Some(Gc::new(FalseLeaf { _weak: weak }));
    drop((a, b));
    assert_eq!(gen_gc::collect(), 2);
    assert_eq!(*seen.borrow(), [false], "the callback ran once and saw the garbage dead");
    assert_eq!(gen_gc::collect(), 0);
}

/// A cycle whose `Drop` brings its partner back by id and keeps it.
#[derive(Trace)]
struct Reviver {
    partner: RefCell<Option<Gc<Reviver>>>,
    #[trace(skip)]
    partner_id: Cell<Option<ObjectId>>,
    #[trace(skip)]
    drops: Rc<Drops>,
}

impl Drop for Reviver {
    fn drop(&mut self) {
        self.drops.0.set(self.drops.0.get() + 1);
        if let Some(found) = self.partner_id.get().and_then(GcAny::from_id) {
            KEPT.with(|kept| kept.borrow_mut().push(found));
        }
    }
}

#[test]
fn a_drop_that_finds_collected_garbage_by_id_gets_a_dropped_value_never_a_freed_one() {
    gen_gc::collect();
    let out = common::capture_debug_output();
    let drops = Rc::new(Drops::default());
    let new = || Gc::new(Reviver { partner: RefCell::new(None), partner_id: Cell::new(None), drops: drops.clone() });
    let (a, b) = (new(), new());
    *a.partner.borrow_mut() = Some(b.clone());
    *b.partner.borrow_mut() = Some(a.clone());
    a.partner_id.set(Some(Gc::id(&b)));
    b.partner_id.set(Some(Gc::id(&a)));
    let ids = [Gc::id(&a), Gc::id(&b)];
    drop((a, b));
    assert_eq!(gen_gc::collect(), 2);
    gen_gc::set_debug_output(None);
    assert_eq!(drops.0.get(), 2, "each value is dropped once");
    let kept = KEPT.with(|kept| std::mem::take(&mut *kept.borrow_mut()));
    assert!(kept.is_empty(), "an id of garbage names nothing while the collector deletes it");
    for handle in &kept {
        let typed = handle.downcast::<Reviver>().expect("the handle keeps its type");
        let error = Gc::try_get(&typed).err().expect("the value was dropped");
        assert!(error.to_string().contains("Reviver"), "{error}");
        let panic = catch_unwind(AssertUnwindSafe(|| typed.partner.borrow().is_some())).unwrap_err();
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("Reviver") && message.contains("finalizer"), "{message}");
    }
    drop(kept);
    assert_eq!(drops.0.get(), 2, "dropping the revived handles drops nothing twice");
    for id in ids {
        assert!(GcAny::from_id(id).is_none(), "the objects are gone");
    }
    assert_eq!(gen_gc::collect(), 0);
    let _ = out;
}

/// Keeps a handle to its partner in a thread-local from its `Drop` (a clone of a garbage
/// handle made after the collector dropped the partner's value, or before).
#[derive(Trace)]
struct Clinger {
    partner: RefCell<Option<Gc<Clinger>>>,
    #[trace(skip)]
    drops: Rc<Drops>,
}

thread_local! {
    static CLUNG: RefCell<Vec<Gc<Clinger>>> = const { RefCell::new(Vec::new()) };
}

impl Drop for Clinger {
    fn drop(&mut self) {
        self.drops.0.set(self.drops.0.get() + 1);
        if let Some(partner) = self.partner.borrow().as_ref() {
            CLUNG.with(|clung| clung.borrow_mut().push(partner.clone()));
        }
    }
}

#[test]
fn a_drop_that_keeps_a_garbage_handle_leaves_an_object_that_reads_as_dropped() {
    gen_gc::collect();
    let out = common::capture_debug_output();
    let drops = Rc::new(Drops::default());
    let ring: Vec<_> = (0..3).map(|_| Gc::new(Clinger { partner: RefCell::new(None), drops: drops.clone() })).collect();
    for (i, node) in ring.iter().enumerate() {
        *node.partner.borrow_mut() = Some(ring[(i + 1) % ring.len()].clone());
    }
    drop(ring);
    assert_eq!(gen_gc::collect(), 3);
    gen_gc::set_debug_output(None);
    assert_eq!(drops.0.get(), 3);
    let clung = CLUNG.with(|clung| std::mem::take(&mut *clung.borrow_mut()));
    assert_eq!(clung.len(), 3);
    for handle in &clung {
        assert!(Gc::try_get(handle).is_err());
    }
    assert!(out.borrow().contains("still referenced after their garbage was dropped"), "{}", out.borrow());
    // The heap's walks step over the dropped values.
    assert_eq!(gen_gc::collect(), 0);
    let listed = gen_gc::get_objects(None);
    assert!(listed.iter().all(|o| o.downcast::<Clinger>().is_none_or(|c| Gc::try_get(&c).is_err())));
    drop(listed);
    for handle in &clung {
        assert!(gen_gc::get_referents(handle).is_empty(), "a dropped value has no referents");
        assert!(gen_gc::get_referrers(handle).is_empty());
        let weak = Gc::downgrade(handle);
        assert!(weak.upgrade().is_none(), "a weak reference to a dropped value reads dead");
    }
    let mut clung = clung;
    let last = clung.pop().unwrap();
    let mut alone = last;
    assert!(Gc::get_mut(&mut alone).is_none(), "a dropped value is never lent");
    let unwrapped = Gc::try_unwrap(alone);
    assert!(unwrapped.is_err(), "nor moved out");
    clung.push(unwrapped.err().unwrap());
    drop(clung);
    assert_eq!(drops.0.get(), 3, "the last handles free the objects without dropping again");
    assert_eq!(gen_gc::collect(), 0);
}

/// A finalizer that changes the collector's settings in the middle of a collection.
#[derive(Trace)]
#[trace(finalize)]
struct Meddler {
    me: RefCell<Option<Gc<Meddler>>>,
    #[trace(skip)]
    action: fn(),
}

impl Finalize for Meddler {
    fn finalize(&self) {
        (self.action)();
    }
}

fn meddling_cycle(action: fn()) {
    let m = Gc::new(Meddler { me: RefCell::new(None), action });
    *m.me.borrow_mut() = Some(m.clone());
}

#[test]
fn finalizers_that_disable_retune_and_switch_policies_mid_collection() {
    gen_gc::collect();
    let out = common::capture_debug_output();
    let threshold = gen_gc::get_threshold();
    meddling_cycle(gen_gc::disable);
    meddling_cycle(|| gen_gc::set_threshold(1, 1, 1));
    meddling_cycle(|| gen_gc::set_finalizer_policy(gen_gc::FinalizerPolicy::Legacy));
    meddling_cycle(|| gen_gc::set_collection_policy(gen_gc::CollectionPolicy::Generational));
    meddling_cycle(|| gen_gc::set_debug(gen_gc::DEBUG_SAVEALL));
    assert_eq!(gen_gc::collect(), 5, "the collection finishes as it began");
    gen_gc::set_debug_output(None);
    assert!(
        out.borrow().contains("set_collection_policy was called during a collection"),
        "a refused change says why: {}",
        out.borrow()
    );
    assert!(!gen_gc::is_enabled());
    let saved = gen_gc::take_garbage();
    // Whatever the changed settings, the five cycles were freed or saved, never both.
    assert!(saved.len() <= 5);
    drop(saved);
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    gen_gc::set_finalizer_policy(gen_gc::FinalizerPolicy::Pep442);
    gen_gc::set_threshold(threshold.0, threshold.1, threshold.2);
    gen_gc::enable();
    assert_eq!(gen_gc::collect(), 0);
}

/// A node whose `Trace` asks for a collection: refused while the collector walks, a real
/// collection when introspection traces it.
struct Collector {
    next: RefCell<Option<Gc<Collector>>>,
    collections: Cell<usize>,
}

// SAFETY: visits the one `Gc` it owns, once; `collect` neither creates nor drops handles
// this value owns.
unsafe impl Trace for Collector {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.next.trace(visitor);
        self.collections.set(self.collections.get() + gen_gc::collect());
    }
}

#[test]
fn a_trace_that_collects_does_nothing_inside_a_collection_and_is_safe_outside_one() {
    gen_gc::collect();
    let a = Gc::new(Collector { next: RefCell::new(None), collections: Cell::new(0) });
    let b = Gc::new(Collector { next: RefCell::new(Some(a.clone())), collections: Cell::new(0) });
    *a.next.borrow_mut() = Some(b.clone());
    // Garbage for the collection inside get_referents to find.
    let g = Gc::new(Collector { next: RefCell::new(None), collections: Cell::new(0) });
    *g.next.borrow_mut() = Some(g.clone());
    drop(g);
    let referents = gen_gc::get_referents(&a);
    assert_eq!(referents.len(), 1);
    assert!(Gc::ptr_eq(&referents[0].downcast::<Collector>().unwrap(), &b));
    drop(referents);
    drop((a, b));
    assert_eq!(gen_gc::collect(), 2);
    assert_eq!(gen_gc::collect(), 0);
}

/// A plain node that counts its drops.
#[derive(Trace)]
struct Plain {
    next: RefCell<Option<Gc<Plain>>>,
    #[trace(skip)]
    drops: Rc<Drops>,
}

impl Drop for Plain {
    fn drop(&mut self) {
        self.drops.0.set(self.drops.0.get() + 1);
    }
}

/// A `Gc` lent mutably and never given back.
#[test]
fn a_forgotten_mutable_borrow_leaks_its_object_from_the_lists_but_frees_it_by_count() {
    gen_gc::collect();
    let drops = Rc::new(Drops::default());
    let mut a = Gc::new(Plain { next: RefCell::new(None), drops: drops.clone() });
    let child = Gc::new(Plain { next: RefCell::new(None), drops: drops.clone() });
    let guard = Gc::get_mut(&mut a).expect("unique");
    *guard.next.borrow_mut() = Some(child.clone());
    std::mem::forget(guard);
    drop(child);
    assert_eq!(gen_gc::collect(), 0, "the child is held by an object out of the lists");
    drop(a);
    assert_eq!(drops.0.get(), 2, "the count frees both");
    assert_eq!(gen_gc::collect(), 0);
}

#[test]
fn a_collection_while_a_value_is_lent_mutably_keeps_what_it_holds() {
    gen_gc::collect();
    let drops = Rc::new(Drops::default());
    let mut a = Gc::new(Plain { next: RefCell::new(None), drops: drops.clone() });
    let b = Gc::new(Plain { next: RefCell::new(None), drops: drops.clone() });
    let guard = Gc::get_mut(&mut a).expect("unique");
    // b points at nothing the collector can see; a's guard holds b.
    *guard.next.borrow_mut() = Some(b);
    assert_eq!(gen_gc::collect(), 0);
    assert!(guard.next.borrow().as_ref().is_some_and(|b| Gc::try_get(b).is_ok()));
    drop(guard);
    assert_eq!(gen_gc::collect(), 0);
    drop(a);
    assert_eq!(drops.0.get(), 2);
}

/// Past the pools' largest block natively, so that the objects come from `std::alloc`
/// (as every object does under Miri, where big values only cost time).
const BIG: usize = if cfg!(miri) { 256 } else { 4096 };

trait Listener {
    fn heard(&self) -> usize;
}

/// A listener in a cycle of trait objects; its `Drop` drops another listener's handles.
#[derive(Trace)]
struct Widget {
    listeners: RefCell<Vec<Gc<dyn Listener>>>,
    #[trace(skip)]
    drops: Rc<Drops>,
    #[trace(skip)]
    big: [u8; BIG],
}

impl Listener for Widget {
    fn heard(&self) -> usize {
        self.listeners.borrow().len()
    }
}

impl Drop for Widget {
    fn drop(&mut self) {
        self.drops.0.set(self.drops.0.get() + 1);
        for listener in self.listeners.borrow_mut().drain(..) {
            // A trait object of garbage: its value may be gone already.
            let _ = Gc::try_get(&listener).map(|listener| listener.heard());
        }
    }
}

#[test]
fn trait_object_cycles_whose_drops_touch_and_drop_each_other() {
    gen_gc::collect();
    let out = common::capture_debug_output();
    let drops = Rc::new(Drops::default());
    let widgets: Vec<Gc<Widget>> = (0..4)
        .map(|_| Gc::new(Widget { listeners: RefCell::new(Vec::new()), drops: drops.clone(), big: [7; BIG] }))
        .collect();
    for (i, widget) in widgets.iter().enumerate() {
        for other in &widgets[i..] {
            widget.listeners.borrow_mut().push(coerce_gc!(other.clone() => dyn Listener));
        }
        widgets[widgets.len() - 1].listeners.borrow_mut().push(coerce_gc!(widget.clone() => dyn Listener));
    }
    assert!(widgets.iter().all(|w| w.big[BIG - 1] == 7));
    drop(widgets);
    assert_eq!(gen_gc::collect(), 4);
    gen_gc::set_debug_output(None);
    assert_eq!(drops.0.get(), 4);
    assert!(
        !out.borrow().contains("gc: a panic"),
        "touching a dropped listener was caught inside Drop: {}",
        out.borrow()
    );
    assert_eq!(gen_gc::collect(), 0);
}

/// A zero-sized tracked type with a finalizer, and one that panics in it.
#[derive(Trace)]
#[trace(finalize)]
struct Nothing;

thread_local! {
    static NOTHING_FINALIZED: Cell<usize> = const { Cell::new(0) };
}

impl Finalize for Nothing {
    fn finalize(&self) {
        NOTHING_FINALIZED.with(|n| n.set(n.get() + 1));
        panic!("a zero-sized finalizer panicked");
    }
}

#[test]
fn zero_sized_values_with_panicking_finalizers_die_by_count_once() {
    let objects: Vec<Gc<Nothing>> = (0..2).map(|_| Gc::new(Nothing)).collect();
    let weak = Gc::downgrade(&objects[0]);
    let reports = unraisable_during(|| {
        for object in objects {
            drop(object);
        }
    });
    assert_eq!(reports.len(), 2, "a finalizer's panic outside a collection is reported, not raised: {reports:?}");
    assert!(reports.iter().all(|(what, _)| what == "the finalizer of Nothing"), "{reports:?}");
    assert_eq!(NOTHING_FINALIZED.with(Cell::get), 2);
    assert!(weak.upgrade().is_none());
    assert_eq!(gen_gc::collect(), 0);
}

/// What the heap reported instead of raising (`set_unraisable_hook`) while `f` ran: each
/// report's subject and message.
fn unraisable_during(f: impl FnOnce()) -> Vec<(String, String)> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let previous = cyclegc::set_unraisable_hook(Some(Box::new(move |report| {
        sink.borrow_mut().push((report.what().to_owned(), report.message()));
    })));
    f();
    drop(cyclegc::set_unraisable_hook(previous));
    seen.take()
}

/// A finalizer that stores its own object and then panics.
#[derive(Trace)]
#[trace(finalize)]
struct Phoenix {
    me: RefCell<Option<Gc<Phoenix>>>,
}

thread_local! {
    static ASHES: RefCell<Vec<Gc<Phoenix>>> = const { RefCell::new(Vec::new()) };
}

impl Finalize for Phoenix {
    fn finalize(&self) {
        let me = self.me.borrow().clone().expect("a self-cycle");
        ASHES.with(|ashes| ashes.borrow_mut().push(me));
        panic!("the phoenix burned");
    }
}

#[test]
fn a_finalizer_that_resurrects_and_then_panics_keeps_the_object_whole() {
    gen_gc::collect();
    let out = common::capture_debug_output();
    let phoenix = Gc::new(Phoenix { me: RefCell::new(None) });
    *phoenix.me.borrow_mut() = Some(phoenix.clone());
    let weak = Gc::downgrade(&phoenix);
    drop(phoenix);
    assert_eq!(gen_gc::collect(), 0, "resurrected objects are not counted");
    gen_gc::set_debug_output(None);
    assert!(out.borrow().contains("the phoenix burned"), "{}", out.borrow());
    assert!(weak.upgrade().is_none(), "weak references were cleared before the finalizer ran");
    let revived = ASHES.with(|ashes| ashes.borrow_mut().pop()).expect("the resurrected object lives");
    assert!(gen_gc::is_finalized(&revived));
    assert!(revived.me.borrow().is_some(), "its value is intact");
    let witness = Gc::downgrade(&revived);
    drop(revived);
    assert_eq!(gen_gc::collect(), 1, "the second time it is collected without its finalizer");
    assert!(witness.upgrade().is_none());
}

#[test]
fn a_phase_callback_that_panics_and_holds_garbage_by_id() {
    gen_gc::collect();
    let out = common::capture_debug_output();
    let ids: Rc<RefCell<Vec<ObjectId>>> = Rc::default();
    let grabbed: Rc<RefCell<Vec<GcAny>>> = Rc::default();
    let id = gen_gc::add_callback({
        let (ids, grabbed) = (ids.clone(), grabbed.clone());
        move |phase, _| {
            if phase == gen_gc::Phase::Stop {
                grabbed.borrow_mut().extend(ids.borrow().iter().filter_map(|id| GcAny::from_id(*id)));
                panic!("stop callback exploded");
            }
        }
    });
    let drops = Rc::new(Drops::default());
    let a = Gc::new(Hider { next: RefCell::new(None), drops: drops.clone() });
    let r = Gc::new(Reviver { partner: RefCell::new(None), partner_id: Cell::new(None), drops: drops.clone() });
    *r.partner.borrow_mut() = Some(r.clone());
    ids.borrow_mut().extend([Gc::id(&a), Gc::id(&r)]);
    drop((a, r));
    assert_eq!(gen_gc::collect(), 1);
    gen_gc::remove_callback(id);
    gen_gc::set_debug_output(None);
    assert!(out.borrow().contains("stop callback exploded"), "{}", out.borrow());
    assert!(grabbed.borrow().is_empty(), "the freed object has no id left, the leaf died by count");
    assert_eq!(drops.0.get(), 2);
    assert_eq!(gen_gc::collect(), 0);
}

/// The key of a weak-keyed dictionary at thread exit: a self-cycle, so that only the exit
/// collection frees it.
#[derive(Trace)]
struct ExitKey {
    me: RefCell<Option<Gc<ExitKey>>>,
}

/// A value whose `Drop` reads the thread-local its dictionary lives in (with `try_with`:
/// a panic in a thread-local's destructor aborts, whatever the heap does), allocates and
/// collects.
struct ExitValue(std::sync::Arc<std::sync::atomic::AtomicUsize>);

type ExitDict = cyclegc::weak_collections::WeakKeyDictionary<ExitKey, ExitValue>;

thread_local! {
    static EXIT_DICT: RefCell<Option<Rc<ExitDict>>> = const { RefCell::new(None) };
    static EXIT_KEYS: RefCell<Vec<Gc<ExitKey>>> = const { RefCell::new(Vec::new()) };
}

impl Drop for ExitValue {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _entries =
            EXIT_DICT.try_with(|dict| dict.try_borrow().ok().and_then(|dict| dict.as_ref().map(|d| d.len())));
        let fresh = Gc::new(ExitKey { me: RefCell::new(None) });
        *fresh.me.borrow_mut() = Some(fresh.clone());
        gen_gc::collect();
    }
}

#[test]
fn values_that_read_their_dictionary_allocate_and_collect_while_their_keys_die_at_thread_exit() {
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = dropped.clone();
    let joined = std::thread::spawn(move || {
        let dict = Rc::new(ExitDict::new());
        for _ in 0..3 {
            let key = Gc::new(ExitKey { me: RefCell::new(None) });
            *key.me.borrow_mut() = Some(key.clone());
            dict.insert(&key, ExitValue(counter.clone()));
            EXIT_KEYS.with(|keys| keys.borrow_mut().push(key));
        }
        EXIT_KEYS.with(|keys| keys.borrow_mut().truncate(1));
        EXIT_DICT.with(|slot| *slot.borrow_mut() = Some(dict));
    })
    .join();
    assert!(joined.is_ok(), "the thread ends normally");
    assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 3, "every value is dropped once");
}

/// One of a pair whose finalizer or `Drop` tries to take its partner's value by the only
/// handle to it.
#[derive(Trace)]
#[trace(finalize)]
struct Taker {
    partner: RefCell<Option<Gc<Taker>>>,
    #[trace(skip)]
    in_finalizer: bool,
    #[trace(skip)]
    drops: Rc<Drops>,
    #[trace(skip)]
    taken: Rc<Cell<usize>>,
}

impl Taker {
    fn take_partner(&self) {
        let Ok(mut slot) = self.partner.try_borrow_mut() else { return };
        let Some(mut partner) = slot.take() else { return };
        if let Some(mut lent) = Gc::get_mut(&mut partner) {
            lent.partner.get_mut().take();
            self.taken.set(self.taken.get() + 1);
        }
        match Gc::try_unwrap(partner) {
            Ok(value) => {
                self.taken.set(self.taken.get() + 1);
                drop(value);
            }
            Err(partner) => *slot = Some(partner),
        }
    }
}

impl Finalize for Taker {
    fn finalize(&self) {
        if self.in_finalizer {
            self.take_partner();
        }
    }
}

impl Drop for Taker {
    fn drop(&mut self) {
        self.drops.0.set(self.drops.0.get() + 1);
        if !self.in_finalizer {
            self.take_partner();
        }
    }
}

#[test]
fn finalizers_and_drops_of_garbage_cannot_take_or_borrow_their_partners_values() {
    for in_finalizer in [true, false] {
        gen_gc::collect();
        let drops = Rc::new(Drops::default());
        let taken = Rc::new(Cell::new(0));
        let new =
            || Gc::new(Taker { partner: RefCell::new(None), in_finalizer, drops: drops.clone(), taken: taken.clone() });
        let (a, b) = (new(), new());
        *a.partner.borrow_mut() = Some(b.clone());
        *b.partner.borrow_mut() = Some(a.clone());
        drop((a, b));
        let found = gen_gc::collect();
        assert_eq!(taken.get(), 0, "the collector owns its garbage (in_finalizer: {in_finalizer})");
        assert_eq!(drops.0.get(), 2, "each value dropped once (in_finalizer: {in_finalizer})");
        assert_eq!(found, 2);
        assert_eq!(gen_gc::collect(), 0);
    }
}

#[test]
fn introspection_steps_over_values_dropped_under_a_handle_a_drop_kept() {
    use cyclegc::objgraph::{self, GraphOptions, Query};
    gen_gc::collect();
    let out = common::capture_debug_output();
    let drops = Rc::new(Drops::default());
    let a = Gc::new(Clinger { partner: RefCell::new(None), drops: drops.clone() });
    let b = Gc::new(Clinger { partner: RefCell::new(Some(a.clone())), drops: drops.clone() });
    *a.partner.borrow_mut() = Some(b.clone());
    let holder = Gc::new(Plain { next: RefCell::new(None), drops: drops.clone() });
    drop((a, b));
    assert_eq!(gen_gc::collect(), 2);
    gen_gc::set_debug_output(None);
    let clung = CLUNG.with(|clung| std::mem::take(&mut *clung.borrow_mut()));
    assert_eq!(clung.len(), 2);
    let erased: Vec<GcAny> = clung.iter().map(Gc::to_any).collect();
    let query = Query::default();
    assert_eq!(objgraph::count("Clinger", &query), objgraph::by_type("Clinger", &query).len());
    let _ = objgraph::typestats(&query);
    let _ = objgraph::get_leaking_objects(None);
    let _ = objgraph::get_leaking_objects(Some(&erased));
    for object in &erased {
        assert_eq!(object.describe(), None, "a dropped value describes nothing");
        let _ = objgraph::find_backref_chain(object, |o| o.id() == Gc::id(&holder), 3, &[]);
        let _ = objgraph::retained_size(object);
    }
    let options = GraphOptions::default();
    let _ = objgraph::show_refs(&erased, &options).to_dot();
    let _ = objgraph::show_backrefs(&erased, &options).to_dot();
    let _ = objgraph::cycles_among(&erased);
    let mut snapshot = Vec::new();
    objgraph::write_heapsnapshot(&mut snapshot).expect("written to memory");
    assert!(!snapshot.is_empty());
    drop((erased, clung, holder));
    assert_eq!(drops.0.get(), 3);
    assert_eq!(gen_gc::collect(), 0);
    let _ = out;
}

/// A small deterministic random source.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn misbehaving_mix(policy: gen_gc::CollectionPolicy) {
    gen_gc::collect();
    gen_gc::set_collection_policy(policy);
    let threshold = gen_gc::get_threshold();
    gen_gc::set_threshold(7, 2, 2);
    let out = common::capture_debug_output();
    let drops = Rc::new(Drops::default());
    let taken = Rc::new(Cell::new(0));
    let mut made = 0;
    let mut live: Vec<Gc<Plain>> = Vec::new();
    let mut rng = Lcg(0x5eed);
    // The first Touchy traced panics, whatever the sizes.
    PANIC_AT.with(|at| at.set(1));
    for _ in 0..scale::scaled(50_000) {
        match rng.below(7) {
            0 => {
                let a = Gc::new(Touchy { next: RefCell::new(None), drops: drops.clone() });
                let b = Gc::new(Touchy { next: RefCell::new(Some(a.clone())), drops: drops.clone() });
                *a.next.borrow_mut() = Some(b);
                made += 2;
                if rng.below(4) == 0 {
                    PANIC_AT.with(|at| at.set(1 + rng.below(3) as usize));
                }
            }
            1 => {
                let a = Gc::new(Clinger { partner: RefCell::new(None), drops: drops.clone() });
                *a.partner.borrow_mut() = Some(a.clone());
                made += 1;
            }
            2 => {
                let (a, b) = (
                    Gc::new(Taker {
                        partner: RefCell::new(None),
                        in_finalizer: rng.below(2) == 0,
                        drops: drops.clone(),
                        taken: taken.clone(),
                    }),
                    Gc::new(Taker {
                        partner: RefCell::new(None),
                        in_finalizer: false,
                        drops: drops.clone(),
                        taken: taken.clone(),
                    }),
                );
                *a.partner.borrow_mut() = Some(b.clone());
                *b.partner.borrow_mut() = Some(a);
                made += 2;
            }
            3 => {
                let node = Gc::new(Plain { next: RefCell::new(None), drops: drops.clone() });
                if let Some(old) = live.get(rng.below(live.len() as u64 + 1) as usize) {
                    *node.next.borrow_mut() = Some(old.clone());
                    if rng.below(3) == 0 {
                        *old.next.borrow_mut() = Some(node.clone());
                    }
                }
                live.push(node);
                made += 1;
            }
            4 if !live.is_empty() => {
                let index = rng.below(live.len() as u64) as usize;
                live.swap_remove(index);
            }
            5 => CLUNG.with(|clung| clung.borrow_mut().clear()),
            _ => {
                let mut lent = Gc::new(Plain { next: RefCell::new(None), drops: drops.clone() });
                made += 1;
                if let Some(guard) = Gc::get_mut(&mut lent) {
                    *guard.next.borrow_mut() = live.last().cloned();
                    let _ = Gc::new(Plain { next: RefCell::new(None), drops: drops.clone() });
                    made += 1;
                }
                live.push(lent);
            }
        }
    }
    let touchy = Gc::new(Touchy { next: RefCell::new(None), drops: drops.clone() });
    *touchy.next.borrow_mut() = Some(touchy.clone());
    drop(touchy);
    made += 1;
    gen_gc::collect();
    PANIC_AT.with(|at| at.set(0));
    for node in &live {
        node.next.borrow_mut().take();
    }
    drop(live);
    for _ in 0..3 {
        gen_gc::collect();
        CLUNG.with(|clung| clung.borrow_mut().clear());
    }
    gen_gc::set_debug_output(None);
    gen_gc::set_threshold(threshold.0, threshold.1, threshold.2);
    assert_eq!(taken.get(), 0);
    assert_eq!(
        drops.0.get(),
        made,
        "every value dropped once: {}",
        out.borrow().lines().take(5).collect::<Vec<_>>().join("\n")
    );
    assert_eq!(gen_gc::collect(), 0);
}

#[test]
fn automatic_incremental_collections_among_misbehaving_user_code() {
    misbehaving_mix(gen_gc::CollectionPolicy::Incremental);
}

#[test]
fn automatic_generational_collections_among_misbehaving_user_code() {
    misbehaving_mix(gen_gc::CollectionPolicy::Generational);
}

/// A leaf whose finalizer panics.
#[derive(Trace)]
#[trace(finalize)]
struct ExitBomb;

impl Finalize for ExitBomb {
    fn finalize(&self) {
        panic!("a finalizer panicked while a thread-local's destructor dropped its object");
    }
}

thread_local! {
    static EXIT_BOMBS: RefCell<Vec<Gc<ExitBomb>>> = const { RefCell::new(Vec::new()) };
    static EXIT_WATCHES: RefCell<Vec<Weak<ExitBomb>>> = const { RefCell::new(Vec::new()) };
}

#[test]
fn finalizers_and_weak_callbacks_that_panic_when_a_thread_local_drops_their_object() {
    let joined = std::thread::spawn(|| {
        let bomb = Gc::new(ExitBomb);
        let watch = Gc::downgrade_with_callback(&bomb, |_| panic!("a weak callback panicked at thread exit"));
        EXIT_WATCHES.with(|watches| watches.borrow_mut().push(watch));
        EXIT_BOMBS.with(|bombs| bombs.borrow_mut().push(bomb));
    })
    .join();
    assert!(joined.is_ok(), "the panics are reported, never raised in a thread-local's destructor");
}

/// A node whose description panics.
struct Mute {
    next: RefCell<Option<Gc<Mute>>>,
}

// SAFETY: visits the one `Gc` it owns, once.
unsafe impl Trace for Mute {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.next.trace(visitor);
    }
    fn describe(&self) -> Option<String> {
        panic!("Mute::describe exploded");
    }
}

#[test]
fn a_describe_that_panics_inside_introspection_leaves_the_heap_usable() {
    use cyclegc::objgraph::{self, GraphOptions};
    gen_gc::collect();
    let a = Gc::new(Mute { next: RefCell::new(None) });
    let b = Gc::new(Mute { next: RefCell::new(Some(a.clone())) });
    *a.next.borrow_mut() = Some(b.clone());
    let start = [Gc::to_any(&a)];
    let options = GraphOptions::default();
    for draw in [objgraph::show_refs, objgraph::show_backrefs] {
        let outcome = catch_unwind(AssertUnwindSafe(|| draw(&start, &options).to_dot()));
        if let Err(panic) = outcome {
            let message = panic.downcast_ref::<&str>().copied().unwrap_or_default();
            assert_eq!(message, "Mute::describe exploded");
        }
    }
    let mut snapshot = Vec::new();
    let _ = catch_unwind(AssertUnwindSafe(|| objgraph::write_heapsnapshot(&mut snapshot)));
    // The heap is at rest: walks, loans and collections work.
    assert_eq!(gen_gc::get_referents(&a).len(), 1);
    let mut lone = Gc::new(Mute { next: RefCell::new(None) });
    assert!(Gc::get_mut(&mut lone).is_some(), "no walk is left running");
    gen_gc::freeze();
    gen_gc::unfreeze();
    drop((start, a, b, lone));
    assert_eq!(gen_gc::collect(), 2);
}

/// A cycle whose finalizer empties `garbage` and breaks the saved cycles by hand, in the
/// middle of a collection.
#[derive(Trace)]
#[trace(finalize)]
struct Janitor {
    me: RefCell<Option<Gc<Janitor>>>,
}

impl Finalize for Janitor {
    fn finalize(&self) {
        for saved in gen_gc::take_garbage() {
            if let Some(plain) = saved.downcast::<Plain>() {
                plain.next.borrow_mut().take();
            }
        }
    }
}

#[test]
fn a_finalizer_that_takes_and_breaks_the_saved_garbage_mid_collection() {
    gen_gc::collect();
    let drops = Rc::new(Drops::default());
    gen_gc::set_debug(gen_gc::DEBUG_SAVEALL);
    for _ in 0..3 {
        let a = Gc::new(Plain { next: RefCell::new(None), drops: drops.clone() });
        let b = Gc::new(Plain { next: RefCell::new(Some(a.clone())), drops: drops.clone() });
        *a.next.borrow_mut() = Some(b);
    }
    assert_eq!(gen_gc::collect(), 6);
    assert_eq!(gen_gc::garbage().len(), 6);
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    let janitor = Gc::new(Janitor { me: RefCell::new(None) });
    *janitor.me.borrow_mut() = Some(janitor.clone());
    drop(janitor);
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(drops.0.get(), 6, "the saved cycles broken by the finalizer died by their counts");
    assert!(gen_gc::garbage().is_empty());
    assert_eq!(gen_gc::collect(), 0);
}

#[test]
fn new_cyclic_whose_maker_collects_and_hides_its_weak_reference_in_garbage() {
    #[derive(Trace)]
    struct Hiding {
        me: RefCell<Option<Gc<Hiding>>>,
        target: Weak<Plain>,
    }
    gen_gc::collect();
    let drops = Rc::new(Drops::default());
    let made = Gc::new_cyclic(|me: &Weak<Plain>| {
        let garbage = Gc::new(Hiding { me: RefCell::new(None), target: me.clone() });
        *garbage.me.borrow_mut() = Some(garbage.clone());
        drop(garbage);
        assert_eq!(gen_gc::collect(), 1, "the garbage holding the unborn object's weak reference");
        Plain { next: RefCell::new(None), drops: drops.clone() }
    });
    assert_eq!(drops.0.get(), 0);
    drop(made);
    assert_eq!(drops.0.get(), 1);
    assert_eq!(gen_gc::collect(), 0);
}

#[test]
fn a_debug_writer_that_panics_collects_and_replaces_itself() {
    gen_gc::collect();
    let writes = Rc::new(Cell::new(0));
    let counter = writes.clone();
    let _out = common::capture_debug_output_with(move || {
        counter.set(counter.get() + 1);
        if counter.get() == 2 {
            gen_gc::set_debug_output(Some(Box::new(std::io::sink())));
        }
        assert_eq!(gen_gc::collect(), 0, "no collection inside the writer");
        panic!("the debug writer exploded");
    });
    gen_gc::set_debug(gen_gc::DEBUG_STATS | gen_gc::DEBUG_COLLECTABLE);
    let drops = Rc::new(Drops::default());
    for _ in 0..2 {
        let a = Gc::new(Plain { next: RefCell::new(None), drops: drops.clone() });
        *a.next.borrow_mut() = Some(a.clone());
    }
    let phoenix = Gc::new(Phoenix { me: RefCell::new(None) });
    *phoenix.me.borrow_mut() = Some(phoenix.clone());
    drop(phoenix);
    let found = catch_unwind(AssertUnwindSafe(gen_gc::collect));
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    gen_gc::set_debug_output(None);
    assert!(found.is_ok(), "the writer's panic does not escape the collection");
    assert_eq!(drops.0.get(), 2);
    assert!(writes.get() >= 1);
    ASHES.with(|ashes| ashes.borrow_mut().clear());
    assert_eq!(gen_gc::collect(), 1, "the resurrected phoenix, now without a finalizer");
    assert_eq!(gen_gc::collect(), 0);
}

#[test]
fn weak_callbacks_of_garbage_that_drop_and_upgrade_trait_object_handles_and_freeze() {
    gen_gc::collect();
    let drops = Rc::new(Drops::default());
    let widget = |drops: &Rc<Drops>| {
        Gc::new(Widget { listeners: RefCell::new(Vec::new()), drops: drops.clone(), big: [1; BIG] })
    };
    let (a, b) = (widget(&drops), widget(&drops));
    a.listeners.borrow_mut().push(coerce_gc!(b.clone() => dyn Listener));
    b.listeners.borrow_mut().push(coerce_gc!(a.clone() => dyn Listener));
    let bystander: Gc<dyn Listener> = coerce_gc!(widget(&drops) => dyn Listener);
    let seen: Rc<RefCell<Vec<bool>>> = Rc::default();
    let watched_b: cyclegc::Weak<dyn Listener> = cyclegc::coerce_weak!(Gc::downgrade(&b));
    let _watch = Gc::downgrade_with_callback(&a, {
        let seen = seen.clone();
        let mut bystander = Some(bystander);
        move |_| {
            seen.borrow_mut().push(watched_b.upgrade().is_some());
            drop(bystander.take());
            gen_gc::freeze();
            gen_gc::unfreeze();
        }
    });
    drop((a, b));
    assert_eq!(gen_gc::collect(), 2);
    assert_eq!(*seen.borrow(), [false], "the garbage reads dead through a trait-object weak reference");
    assert_eq!(drops.0.get(), 3, "the two garbage widgets and the bystander the callback let go");
    assert_eq!(gen_gc::collect(), 0);
}

thread_local! {
    static UNIQUES: RefCell<Vec<Gc<Plain>>> = const { RefCell::new(Vec::new()) };
}

/// A garbage cycle whose finalizer borrows uniquely held live objects mutably and moves
/// their children around, while the collector has them in its lists.
#[derive(Trace)]
#[trace(finalize)]
struct Lender {
    me: RefCell<Option<Gc<Lender>>>,
}

impl Finalize for Lender {
    fn finalize(&self) {
        rotate_children();
    }
}

/// Moves each unique object's child to the next one, through `Gc::get_mut`.
fn rotate_children() {
    UNIQUES.with(|uniques| {
        let mut uniques = uniques.borrow_mut();
        let mut carried = None;
        for unique in uniques.iter_mut() {
            if let Some(lent) = Gc::get_mut(unique) {
                let mut next = lent.next.borrow_mut();
                let own = next.take();
                *next = carried.take();
                carried = own;
            }
        }
        if let Some(first) = uniques.first_mut().and_then(Gc::get_mut) {
            let mut next = first.next.borrow_mut();
            if next.is_none() {
                *next = carried.take();
            }
        }
        drop(carried);
    });
}

fn lend_during_collections(policy: gen_gc::CollectionPolicy) {
    gen_gc::collect();
    gen_gc::set_collection_policy(policy);
    let threshold = gen_gc::get_threshold();
    gen_gc::set_threshold(5, 2, 2);
    let drops = Rc::new(Drops::default());
    let count = 6;
    UNIQUES.with(|uniques| {
        for _ in 0..count {
            let child = Gc::new(Plain { next: RefCell::new(None), drops: drops.clone() });
            uniques.borrow_mut().push(Gc::new(Plain { next: RefCell::new(Some(child)), drops: drops.clone() }));
        }
    });
    for round in 0..scale::scaled(20_000) {
        let lender = Gc::new(Lender { me: RefCell::new(None) });
        *lender.me.borrow_mut() = Some(lender.clone());
        drop(lender);
        if round % 7 == 0 {
            rotate_children();
        }
        if round % 13 == 0 {
            let _ = gen_gc::collect_generation(1);
        }
    }
    gen_gc::collect();
    gen_gc::set_threshold(threshold.0, threshold.1, threshold.2);
    assert_eq!(drops.0.get(), 0, "no live object was freed");
    let children = UNIQUES.with(|uniques| {
        uniques
            .borrow()
            .iter()
            .filter_map(|unique| unique.next.borrow().clone())
            .map(|child| Gc::try_get(&child).is_ok())
            .filter(|&intact| intact)
            .count()
    });
    assert_eq!(children, count, "every child is held, intact");
    UNIQUES.with(|uniques| uniques.borrow_mut().clear());
    assert_eq!(drops.0.get(), 2 * count);
    assert_eq!(gen_gc::collect(), 0);
}

#[test]
fn finalizers_that_lend_live_objects_mutably_under_incremental_collections() {
    lend_during_collections(gen_gc::CollectionPolicy::Incremental);
}

#[test]
fn finalizers_that_lend_live_objects_mutably_under_generational_collections() {
    lend_during_collections(gen_gc::CollectionPolicy::Generational);
}

/// `make_mut` with only weak references moves the value to a new object and runs their
/// callbacks; one that takes a handle to the new object (from `get_objects`) makes it
/// shared, and `make_mut` then clones it, as `Rc::make_mut` clones a shared value, instead of
/// failing.
#[test]
fn make_mut_clones_again_when_a_callback_takes_the_new_object() {
    #[derive(Trace, Clone)]
    struct Value {
        x: u32,
        kids: Vec<Gc<Value>>,
    }
    let grabbed: Rc<RefCell<Vec<GcAny>>> = Rc::default();
    let grab = Rc::clone(&grabbed);
    let mut a = Gc::new(Value { x: 1, kids: Vec::new() });
    let _weak = Gc::downgrade_with_callback(&a, move |_| grab.borrow_mut().extend(gen_gc::get_objects(None)));
    Gc::make_mut(&mut a).x = 5;
    assert_eq!(a.x, 5);
    let moved: Vec<Gc<Value>> = grabbed.borrow().iter().filter_map(|object| object.downcast::<Value>()).collect();
    assert_eq!(
        moved.iter().map(|value| value.x).collect::<Vec<_>>(),
        [1],
        "the object the callback took kept the value"
    );
    assert!(!Gc::ptr_eq(&moved[0], &a));
}

/// CPython's collection gives `__del__` and weak-callback exceptions to `sys.unraisablehook`:
/// with a hook set, the panics of a finalizer and of a weak callback that a collection runs
/// go to it, not to the debug output; without one, to the debug output.
#[test]
fn a_collections_finalizer_and_callback_panics_go_to_the_unraisable_hook() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Brittle {
        me: RefCell<Option<Gc<Brittle>>>,
    }
    impl Finalize for Brittle {
        fn finalize(&self) {
            panic!("the finalizer broke");
        }
    }
    fn brittle_cycle() -> cyclegc::Weak<Brittle> {
        let brittle = Gc::new(Brittle { me: RefCell::new(None) });
        *brittle.me.borrow_mut() = Some(brittle.clone());
        let weak = Gc::downgrade_with_callback(&brittle, |_| panic!("the callback broke"));
        drop(brittle);
        weak
    }
    gen_gc::collect();
    let out = common::capture_debug_output();
    let mut kept = None;
    let seen = unraisable_during(|| {
        kept = Some(brittle_cycle());
        assert_eq!(gen_gc::collect(), 1);
    });
    // Weak callbacks run before finalizers, as in CPython.
    let whats: Vec<&str> = seen.iter().map(|(what, _)| what.as_str()).collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!((whats[0], seen[0].1.as_str()), ("a weak reference callback", "the callback broke"));
    assert!(whats[1].starts_with("the finalizer of <Brittle"), "{whats:?}");
    assert_eq!(seen[1].1, "the finalizer broke");
    assert!(!out.borrow().contains("was caught"), "{}", out.borrow());
    drop(kept);

    // Without a hook: the debug output.
    let _weak = brittle_cycle();
    assert_eq!(gen_gc::collect(), 1);
    let text = out.borrow().clone();
    assert!(text.contains("a panic in the finalizer of <Brittle") && text.contains("the finalizer broke"), "{text}");
    assert!(text.contains("a panic in a weak reference callback was caught: the callback broke"), "{text}");
}

/// A collection whose weak callbacks panic several times reports each panic, in the order
/// the callbacks ran, to the hook or, without one, to the debug output.
#[test]
fn each_panicking_weak_callback_of_a_collection_is_reported() {
    #[derive(Trace)]
    struct Ring {
        me: RefCell<Option<Gc<Ring>>>,
    }
    fn ring_with_callbacks(callbacks: usize) -> Vec<cyclegc::Weak<Ring>> {
        let ring = Gc::new(Ring { me: RefCell::new(None) });
        *ring.me.borrow_mut() = Some(ring.clone());
        (0..callbacks).map(|n| Gc::downgrade_with_callback(&ring, move |_| panic!("callback {n}"))).collect()
    }
    gen_gc::collect();
    let out = common::capture_debug_output();
    let mut kept = Vec::new();
    let seen = unraisable_during(|| {
        kept = ring_with_callbacks(3);
        assert_eq!(gen_gc::collect(), 1);
    });
    let messages: Vec<&str> = seen.iter().map(|(_, message)| message.as_str()).collect();
    assert_eq!(messages, ["callback 2", "callback 1", "callback 0"], "{seen:?}");
    assert!(seen.iter().all(|(what, _)| what == "a weak reference callback"), "{seen:?}");
    kept.clear();

    // Without a hook: a line each on the debug output.
    kept = ring_with_callbacks(2);
    assert_eq!(gen_gc::collect(), 1);
    let text = out.borrow().clone();
    for n in 0..2 {
        assert!(text.contains(&format!("a panic in a weak reference callback was caught: callback {n}")), "{text}");
    }
    drop(kept);
    gen_gc::set_debug_output(None);
}

/// A debug writer that swaps itself out from its own `write` gets a panic that says so (the
/// collector catches it, drops the writer and goes on to standard error), not a bare
/// `RefCell` message; the collection's result is unchanged.
#[test]
fn a_debug_writer_that_replaces_itself_while_writing_gets_a_clear_panic() {
    thread_local! {
        static MESSAGES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }
    struct Swapper(Rc<Cell<bool>>);
    impl std::io::Write for Swapper {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            gen_gc::set_debug_output(None);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Drop for Swapper {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let me = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == me {
            let message = info.payload_as_str().unwrap_or_default().to_owned();
            MESSAGES.with(|messages| messages.borrow_mut().push(message));
        }
    }));
    let dropped = Rc::new(Cell::new(false));
    gen_gc::set_debug_output(Some(Box::new(Swapper(dropped.clone()))));
    gen_gc::set_debug(gen_gc::DEBUG_STATS);
    let collected = gen_gc::collect();
    gen_gc::set_debug(gen_gc::DebugFlags::default());
    let _ = std::panic::take_hook();
    std::panic::set_hook(previous);
    assert_eq!(collected, 0);
    assert!(dropped.get(), "the writer was dropped");
    let messages = MESSAGES.with(|messages| messages.take());
    assert!(
        messages.iter().any(|m| m.starts_with("gen_gc::set_debug_output was called from the debug writer")),
        "{messages:?}"
    );
}

/// The debug writer is user code that runs on the `gc: collectable` lines, while the garbage
/// is held and before its weak references are cleared: one that upgrades a weak reference
/// there brings the cycle back, as a finalizer may. The collection then finds it held from
/// outside and frees nothing of it, as for a resurrection by a finalizer: the handles stay
/// usable, the weak references read dead, and the next collection frees the cycle once the
/// handles go.
#[test]
fn a_debug_writer_that_upgrades_a_weak_reference_to_garbage_resurrects_it() {
    #[derive(Trace)]
    struct Link {
        #[trace(skip)]
        value: u32,
        next: RefCell<Option<Gc<Link>>>,
    }
    thread_local! {
        static WEAKS: RefCell<Vec<Weak<Link>>> = const { RefCell::new(Vec::new()) };
        static KEPT: RefCell<Vec<Gc<Link>>> = const { RefCell::new(Vec::new()) };
    }
    struct Upgrader;
    impl std::io::Write for Upgrader {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if String::from_utf8_lossy(buf).contains("collectable") {
                for weak in WEAKS.with(|weaks| weaks.borrow().clone()) {
                    if let Some(strong) = weak.upgrade() {
                        KEPT.with(|kept| kept.borrow_mut().push(strong));
                    }
                }
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    gen_gc::collect();
    {
        let a = Gc::new(Link { value: 1, next: RefCell::new(None) });
        let b = Gc::new(Link { value: 2, next: RefCell::new(Some(a.clone())) });
        *a.next.borrow_mut() = Some(b.clone());
        WEAKS.with(|weaks| weaks.borrow_mut().extend([Gc::downgrade(&a), Gc::downgrade(&b)]));
    }
    gen_gc::set_debug_output(Some(Box::new(Upgrader)));
    gen_gc::set_debug(gen_gc::DEBUG_COLLECTABLE);
    let collected = gen_gc::collect();
    gen_gc::set_debug(gen_gc::DebugFlags::default());
    gen_gc::set_debug_output(None);
    let kept = KEPT.with(|kept| kept.take());
    assert_eq!(collected, 0, "what the writer brought back is not collected");
    assert_eq!(kept.len(), 2 * 2, "the writer saw two collectable lines, and upgraded both each time");
    assert!(kept.iter().all(|link| Gc::try_get(link).is_ok()), "the values were not dropped");
    assert_eq!(kept.iter().map(|link| link.value).sum::<u32>(), 2 * 3);
    assert!(WEAKS.with(|weaks| weaks.borrow().iter().all(|weak| weak.upgrade().is_none())), "cleared");
    drop(kept);
    assert_eq!(gen_gc::collect(), 2);
    WEAKS.with(|weaks| weaks.borrow_mut().clear());
}
