//! The incremental policy: an increment frees nothing that objects outside it hold, a cycle
//! spanning increments is found within the documented bound, and finalizers, resurrection,
//! weak reference callbacks, `freeze` and the `DEBUG_*` flags keep their meaning when increments
//! do the collecting, and a panicking `Trace` met while an increment is taken is reported
//! once the lists are whole. Plus a model-based test: random mutation between increments against
//! a reachability oracle.

#![allow(unsafe_code, reason = "a hand-written Trace that panics")]

mod common;
#[path = "common/model.rs"]
mod world;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use cyclegc::{Finalize, Gc, Trace};
use gen_gc::CollectionPolicy;
use proptest::prelude::*;
use world::{Op, World, config, ops};

#[derive(Trace)]
struct Node {
    edges: RefCell<Vec<Gc<Node>>>,
}

fn node() -> Gc<Node> {
    Gc::new(Node { edges: RefCell::new(Vec::new()) })
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.edges.borrow_mut().push(to.clone());
}

/// Every test runs under the incremental policy, automatic collection off, with a small
/// minimum increment (`threshold0 / threshold1` old objects).
fn set_up(minimum_increment: usize) {
    gen_gc::set_collection_policy(CollectionPolicy::Incremental);
    gen_gc::disable();
    gen_gc::set_threshold(minimum_increment, 1, 0);
    gen_gc::collect();
}

/// The documented bound on the increments that complete a pass over `old` objects with a
/// minimum increment of `minimum` objects: `3 * old / minimum + old / (2 * threshold0) + 2`.
fn pass_bound(old: usize, minimum: usize) -> usize {
    let (threshold0, _, _) = gen_gc::get_threshold();
    3 * old / minimum + old / (2 * threshold0.max(1)) + 2
}

/// Runs increments until `dead` says the object died, at most `limit`; returns how many ran.
fn increments_until(limit: usize, dead: impl Fn() -> bool) -> Option<usize> {
    (1..=limit).find(|_| {
        gen_gc::collect_generation(1).unwrap();
        dead()
    })
}

#[test]
fn an_increment_keeps_what_objects_outside_it_hold() {
    set_up(1);
    // `held` is made first, so it heads the pending space; `holder`, made after, refers to it.
    let held = node();
    let holder = node();
    link(&holder, &held);
    let watch = Gc::downgrade(&held);
    drop(held);
    gen_gc::collect();
    // One increment takes `held` alone (it refers to nothing): its count comes from outside.
    assert_eq!(gen_gc::collect_generation(1), Ok(0));
    assert!(watch.upgrade().is_some(), "held by an object outside the increment");
    for _ in 0..10 {
        assert_eq!(gen_gc::collect_generation(1), Ok(0));
    }
    assert!(watch.upgrade().is_some());
    drop(holder);
    assert!(watch.upgrade().is_none());
}

#[test]
fn a_cycle_spanning_increments_is_found_within_two_passes() {
    let minimum = 5;
    set_up(minimum);
    // A two-object cycle whose members are far apart in the old generation, so that
    // increments taken from the head of the pending space meet one long before the other.
    let before: Vec<Gc<Node>> = (0..100).map(|_| node()).collect();
    let a = node();
    let between: Vec<Gc<Node>> = (0..100).map(|_| node()).collect();
    let b = node();
    let after: Vec<Gc<Node>> = (0..100).map(|_| node()).collect();
    link(&a, &b);
    link(&b, &a);
    gen_gc::collect();
    // Half a pass in: `a` has been examined (and kept: `b` was outside its increment and
    // held it), `b` has not. Then the cycle becomes garbage.
    for _ in 0..25 {
        gen_gc::collect_generation(1).unwrap();
    }
    let watch = Gc::downgrade(&a);
    drop((a, b));
    let old = 302;
    let limit = 2 * pass_bound(old, minimum);
    let ran = increments_until(limit, || watch.upgrade().is_none());
    assert!(ran.is_some(), "the cycle survived {limit} increments");
    drop((before, between, after));
}

#[test]
fn a_cycle_made_in_the_young_generation_is_found_by_the_next_increment() {
    set_up(5);
    let a = node();
    link(&a, &a);
    let watch = Gc::downgrade(&a);
    drop(a);
    assert_eq!(gen_gc::collect_generation(1), Ok(1));
    assert!(watch.upgrade().is_none());
}

#[test]
fn a_cycle_that_outlived_a_young_collection_is_found_long_before_the_pass_ends() {
    // Garbage that was still in use at one young collection (CPython's fast cycle creation
    // case, in small) is found by a collection of the recent survivors, within
    // `threshold1 * threshold2` increments, long before the pass over the old generation
    // ends (at about 15 old objects an increment, some 200 increments here).
    gen_gc::set_collection_policy(CollectionPolicy::Incremental);
    gen_gc::disable();
    gen_gc::set_threshold(60, 4, 10);
    let old: Vec<Gc<Node>> = (0..3000).map(|_| node()).collect();
    gen_gc::collect();
    let (a, b) = (node(), node());
    link(&a, &b);
    link(&b, &a);
    gen_gc::collect_generation(1).unwrap();
    let watch = Gc::downgrade(&a);
    drop((a, b));
    let limit = 4 * 10 + 1;
    let ran = increments_until(limit, || watch.upgrade().is_none());
    assert!(ran.is_some(), "the cycle survived {limit} increments");
    drop(old);
}

#[test]
fn a_cycle_through_young_and_old_objects_is_found_within_two_passes() {
    let minimum = 5;
    set_up(minimum);
    let old_objects: Vec<Gc<Node>> = (0..100).map(|_| node()).collect();
    let old = node();
    gen_gc::collect();
    // `young` is made after the full collection: the cycle spans the young generation and
    // the pending old space when it becomes garbage.
    let young = node();
    link(&old, &young);
    link(&young, &old);
    let watch = Gc::downgrade(&old);
    let young_watch = Gc::downgrade(&young);
    drop((old, young));
    let limit = 2 * pass_bound(101, minimum);
    let ran = increments_until(limit, || watch.upgrade().is_none());
    assert!(ran.is_some(), "the cycle survived {limit} increments");
    assert!(young_watch.upgrade().is_none(), "the young member went with the old one");
    drop(old_objects);
}

#[test]
fn automatic_collection_runs_increments() {
    set_up(5);
    gen_gc::set_threshold(50, 10, 0);
    let before = gen_gc::get_stats();
    gen_gc::enable();
    let kept: Vec<Gc<Node>> = (0..500).map(|_| node()).collect();
    gen_gc::disable();
    let after = gen_gc::get_stats();
    assert!(after[1].collections > before[1].collections + 5, "{before:?} -> {after:?}");
    assert_eq!(after[0].collections, before[0].collections);
    assert_eq!(after[2].collections, before[2].collections);
    drop(kept);
}

thread_local!(static RESURRECTED: RefCell<Vec<Gc<Finalized>>> = const { RefCell::new(Vec::new()) });

#[derive(Trace)]
#[trace(finalize)]
struct Finalized {
    me: RefCell<Option<Gc<Finalized>>>,
    #[trace(skip)]
    runs: Rc<Cell<usize>>,
    #[trace(skip)]
    resurrect: bool,
}

impl Finalize for Finalized {
    fn finalize(&self) {
        self.runs.set(self.runs.get() + 1);
        if self.resurrect
            && let Some(me) = self.me.borrow().clone()
        {
            RESURRECTED.with(|r| r.borrow_mut().push(me));
        }
    }
}

fn finalized_self_cycle(runs: &Rc<Cell<usize>>, resurrect: bool) -> Gc<Finalized> {
    let object = Gc::new(Finalized { me: RefCell::new(None), runs: runs.clone(), resurrect });
    *object.me.borrow_mut() = Some(object.clone());
    object
}

#[test]
fn increments_run_finalizers_once_and_keep_what_they_resurrect() {
    set_up(1);
    let runs = Rc::new(Cell::new(0));
    let filler: Vec<Gc<Node>> = (0..20).map(|_| node()).collect();
    let object = finalized_self_cycle(&runs, true);
    let callback_ran = Rc::new(Cell::new(false));
    let seen = callback_ran.clone();
    let _with_callback = Gc::downgrade_with_callback(&object, move |_| seen.set(true));
    gen_gc::collect();
    drop(object);
    let limit = 2 * pass_bound(21, 1);
    assert!(increments_until(limit, || runs.get() == 1).is_some(), "no increment finalized the cycle");
    // As in CPython, weak references to garbage are cleared (and their callbacks run)
    // before finalizers, which may then resurrect.
    assert!(callback_ran.get());
    let resurrected = RESURRECTED.with(|r| r.borrow_mut().pop()).expect("the finalizer resurrected it");
    let watch = Gc::downgrade(&resurrected);
    drop(resurrected);
    // Found again: the finalizer does not run twice, and the cycle is freed.
    assert!(increments_until(limit, || watch.upgrade().is_none()).is_some(), "the cycle was not freed");
    assert_eq!(runs.get(), 1);
    drop(filler);
}

#[test]
fn increments_never_take_frozen_objects() {
    set_up(1);
    let a = node();
    link(&a, &a);
    let watch = Gc::downgrade(&a);
    let filler: Vec<Gc<Node>> = (0..20).map(|_| node()).collect();
    gen_gc::freeze();
    drop(a);
    for _ in 0..2 * pass_bound(21, 1) {
        assert_eq!(gen_gc::collect_generation(1), Ok(0));
    }
    assert!(watch.upgrade().is_some(), "frozen objects are not examined");
    gen_gc::unfreeze();
    assert!(increments_until(2 * pass_bound(21, 1), || watch.upgrade().is_none()).is_some());
    drop(filler);
}

#[test]
fn debug_saveall_keeps_what_an_increment_finds() {
    set_up(1);
    let out = common::capture_debug_output();
    gen_gc::set_debug(gen_gc::DEBUG_SAVEALL | gen_gc::DEBUG_STATS | gen_gc::DEBUG_COLLECTABLE);
    let a = node();
    link(&a, &a);
    let addr = Gc::addr(&a);
    drop(a);
    assert_eq!(gen_gc::collect_generation(1), Ok(1));
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    gen_gc::set_debug_output(None);
    let text = out.borrow().clone();
    assert!(text.contains("gc: collecting generation 1...\n"), "{text}");
    assert!(text.contains(&format!("gc: collectable <Node {addr:#x}>\n")), "{text}");
    assert!(text.contains("gc: done, 1 unreachable, 0 uncollectable, "), "{text}");
    let garbage = gen_gc::take_garbage();
    assert_eq!(garbage.len(), 1);
    // Still examined by later increments, and found again once `garbage` lets it go.
    for _ in 0..5 {
        assert_eq!(gen_gc::collect_generation(1), Ok(0));
    }
    drop(garbage);
    assert!(increments_until(2 * pass_bound(2, 1), || gen_gc::get_objects(None).is_empty()).is_some());
}

#[test]
fn object_graph_between_increments_keeps_the_spaces() {
    set_up(1);
    let nodes: Vec<Gc<Node>> = (0..30).map(|_| node()).collect();
    for pair in nodes.windows(2) {
        link(&pair[1], &pair[0]);
    }
    gen_gc::collect();
    for _ in 0..10 {
        gen_gc::collect_generation(1).unwrap();
    }
    let graph = gen_gc::object_graph();
    assert_eq!(graph.objects.len(), 30);
    drop(graph);
    // A cycle among the examined and the pending objects is still found.
    link(&nodes[0], &nodes[29]);
    let watch = Gc::downgrade(&nodes[0]);
    drop(nodes);
    assert!(increments_until(2 * pass_bound(30, 1), || watch.upgrade().is_none()).is_some());
    assert!(gen_gc::get_objects(None).is_empty());
}

/// A value whose `Trace` panics: it holds no `Gc`.
struct Exploding;

// SAFETY: holds no `Gc`; it panics before visiting anything.
unsafe impl Trace for Exploding {
    const TRACKED: bool = true;
    fn trace<V: cyclegc::Visitor + ?Sized>(&self, _visitor: &mut V) {
        panic!("a Trace that panics");
    }
}

/// An increment that meets a panicking `Trace` while it takes objects reports it once the
/// lists are whole, to a debug writer that changes the heap, and keeps the object.
#[test]
fn a_panicking_trace_in_an_increment_is_reported_and_the_lists_stay_whole() {
    set_up(1);
    let mut churn: Vec<Gc<Node>> = (0..5).map(|_| node()).collect();
    let out = common::capture_debug_output_with(move || {
        churn.pop();
        churn.push(node());
    });
    let exploding = Gc::new(Exploding);
    let holder = node();
    gen_gc::collect();
    for _ in 0..10 {
        assert_eq!(gen_gc::collect_generation(1), Ok(0));
    }
    assert!(out.borrow().contains("a panic in <Exploding>'s Trace impl was caught"), "{}", out.borrow());
    gen_gc::set_debug_output(None);
    assert_eq!(gen_gc::collect(), 0, "the lists are whole");
    drop((exploding, holder));
}

#[test]
fn switching_policies_keeps_every_object() {
    set_up(1);
    let nodes: Vec<Gc<Node>> = (0..10).map(|_| node()).collect();
    gen_gc::collect_generation(1).unwrap();
    gen_gc::set_collection_policy(CollectionPolicy::Generational);
    assert_eq!(gen_gc::get_objects(None).len(), 10);
    gen_gc::collect_generation(1).unwrap();
    gen_gc::set_collection_policy(CollectionPolicy::Incremental);
    assert_eq!(gen_gc::get_objects(None).len(), 10);
    let watch = Gc::downgrade(&nodes[3]);
    link(&nodes[3], &nodes[3]);
    drop(nodes);
    assert!(increments_until(2 * pass_bound(10, 1), || watch.upgrade().is_none()).is_some());
}

// The model of `model.rs`, with increments and the completeness bound.

proptest! {
    #![proptest_config(config())]

    #[test]
    fn increments_free_exactly_the_unreachable_within_two_passes(
        ops in ops(4, 1),
        threshold0 in 1_usize..20,
        minimum in 1_usize..5,
        automatic in any::<bool>(),
    ) {
        gen_gc::set_collection_policy(CollectionPolicy::Incremental);
        gen_gc::collect();
        // Low thresholds: automatic increments also happen between operations.
        gen_gc::set_threshold(if automatic { threshold0 } else { minimum }, threshold0.div_ceil(minimum).max(1), 0);
        if automatic { gen_gc::enable() } else { gen_gc::disable() }
        let mut world = World::default();
        for op in &ops {
            world.apply(op);
            world.check(matches!(op, Op::Collect));
        }
        gen_gc::disable();
        // Everything unreachable now is found by increments alone within two passes.
        let [threshold0, threshold1, _] = {
            let (a, b, c) = gen_gc::get_threshold();
            [a, b, c]
        };
        let old = world.edges.len();
        for _ in 0..2 * pass_bound(old, (threshold0 / threshold1).max(1)) {
            gen_gc::collect_generation(1).unwrap();
        }
        world.check(true);
        world.roots.clear();
        gen_gc::collect();
        world.check(true);
        gen_gc::set_threshold(700, 10, 10);
        gen_gc::enable();
    }
}

/// A closure taken through a map that holds thousands of objects meets them in the map's
/// hash order, all over memory; such an increment is put in address order before it is
/// collected (above 4096 objects, 64 under Miri). What it holds survives, the cycles its
/// objects were in once nothing holds them go, and every live object stays in exactly one
/// list.
#[test]
fn a_closure_met_in_hash_order_keeps_what_it_holds_and_frees_what_it_let_go() {
    #[derive(Trace)]
    struct Cache {
        map: RefCell<std::collections::HashMap<u32, Gc<Node>>>,
    }
    set_up(10);
    let n = if cfg!(miri) { 300 } else { 20_000 };
    let cache = Gc::new(Cache { map: RefCell::new(std::collections::HashMap::new()) });
    let mut weaks = Vec::new();
    for key in 0..n {
        let (entry, partner) = (node(), node());
        link(&entry, &partner);
        link(&partner, &entry);
        weaks.push((key, Gc::downgrade(&entry), Gc::downgrade(&partner)));
        cache.map.borrow_mut().insert(key, entry);
    }
    gen_gc::collect();
    assert_eq!(gen_gc::get_objects(None).len(), 1 + 2 * n as usize);
    // Every third entry's cycle is let go: garbage in the pending space, among what the map
    // still holds.
    for key in (0..n).step_by(3) {
        cache.map.borrow_mut().remove(&key);
    }
    let let_go = |key: u32| key.is_multiple_of(3);
    let all_gone = || {
        weaks.iter().filter(|(key, ..)| let_go(*key)).all(|(_, a, b)| a.upgrade().is_none() && b.upgrade().is_none())
    };
    let limit = 4 * pass_bound(1 + 2 * n as usize, 10);
    assert!(increments_until(limit, all_gone).is_some(), "the cycles let go were freed within {limit} increments");
    for (key, entry, partner) in &weaks {
        if !let_go(*key) {
            assert!(entry.upgrade().is_some() && partner.upgrade().is_some(), "entry {key} and its partner live");
        }
    }
    let kept = weaks.iter().filter(|(key, ..)| !let_go(*key)).count();
    let objects = gen_gc::get_objects(None);
    assert_eq!(objects.len(), 1 + 2 * kept, "each live object once");
    let mut addresses: Vec<usize> = objects.iter().map(cyclegc::GcAny::addr).collect();
    addresses.sort_unstable();
    addresses.dedup();
    assert_eq!(addresses.len(), objects.len());
    drop(objects);
    drop(cache);
    assert_eq!(gen_gc::collect(), 2 * kept, "the kept cycles; the cache went by its count");
    gen_gc::enable();
}
