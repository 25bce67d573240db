//! Ports of CPython's `Lib/test/test_finalization.py` (PEP 442 semantics): finalizers run
//! once, before anything of the cycle is torn down, may resurrect, and do not block the
//! collection of other objects. Plus hostile user code during collection.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use cyclegc::{Finalize, Gc, Trace};

thread_local! {
    static DEL_CALLS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    static SURVIVORS: RefCell<Vec<Gc<SelfCycle>>> = const { RefCell::new(Vec::new()) };
}

fn del_calls() -> Vec<usize> {
    DEL_CALLS.with(|d| d.borrow().clone())
}

fn reset() {
    DEL_CALLS.with(|d| d.borrow_mut().clear());
    SURVIVORS.with(|s| s.borrow_mut().clear());
    gen_gc::collect();
}

/// `SelfCycleBase` with `__del__`; `resurrect` stores the object in `SURVIVORS`.
#[derive(Trace)]
#[trace(finalize)]
struct SelfCycle {
    id: usize,
    me: RefCell<Option<Gc<SelfCycle>>>,
    partner: RefCell<Option<Gc<SelfCycle>>>,
    resurrect: bool,
}

impl Finalize for SelfCycle {
    fn finalize(&self) {
        DEL_CALLS.with(|d| d.borrow_mut().push(self.id));
        if self.resurrect {
            // The object's own handle, taken from the cycle: storing it resurrects.
            let me = self
                .me
                .borrow()
                .clone()
                .or_else(|| self.partner.borrow().as_ref().and_then(|p| p.partner.borrow().clone()));
            if let Some(me) = me {
                SURVIVORS.with(|s| s.borrow_mut().push(me));
            }
        }
    }
}

fn self_cycle(id: usize, resurrect: bool) -> Gc<SelfCycle> {
    let obj = Gc::new(SelfCycle { id, me: RefCell::new(None), partner: RefCell::new(None), resurrect });
    *obj.me.borrow_mut() = Some(obj.clone());
    obj
}

#[test]
fn simple_finalizer_test_simple() {
    // No cycle: the finalizer runs at once, by reference counting.
    reset();
    let obj = Gc::new(SelfCycle { id: 1, me: RefCell::new(None), partner: RefCell::new(None), resurrect: false });
    drop(obj);
    assert_eq!(del_calls(), [1]);
    gen_gc::collect();
    assert_eq!(del_calls(), [1]);
}

#[test]
fn self_cycle_finalizer_test_cycle() {
    reset();
    let obj = self_cycle(7, false);
    let watch = Gc::downgrade(&obj);
    drop(obj);
    assert!(del_calls().is_empty());
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(del_calls(), [7]);
    assert!(watch.upgrade().is_none());
}

#[test]
fn self_cycle_finalizer_test_cycle_resurrect() {
    reset();
    let obj = self_cycle(8, true);
    let watch = Gc::downgrade(&obj);
    drop(obj);
    gen_gc::collect();
    assert_eq!(del_calls(), [8]);
    assert!(watch.upgrade().is_none(), "weak references are cleared even when resurrected");
    let survivor = SURVIVORS.with(|s| s.borrow_mut().pop()).expect("resurrected");
    assert_eq!(survivor.id, 8);
    drop(survivor);
    gen_gc::collect();
    assert_eq!(del_calls(), [8], "finalized once only");
}

#[test]
fn cycle_chain_finalization_test_simple_chain() {
    // Two objects in one cycle: both finalizers run before either is torn down.
    reset();
    let a = Gc::new(SelfCycle { id: 1, me: RefCell::new(None), partner: RefCell::new(None), resurrect: false });
    let b =
        Gc::new(SelfCycle { id: 2, me: RefCell::new(None), partner: RefCell::new(Some(a.clone())), resurrect: false });
    *a.partner.borrow_mut() = Some(b.clone());
    drop((a, b));
    assert_eq!(gen_gc::collect(), 2);
    let mut calls = del_calls();
    calls.sort_unstable();
    assert_eq!(calls, [1, 2]);
}

#[test]
fn cycle_chain_finalization_test_partial_resurrection() {
    // One member of a cycle resurrects itself: the whole cycle survives (it reaches the
    // other); nothing is freed and nobody is finalized twice.
    reset();
    let a = Gc::new(SelfCycle { id: 1, me: RefCell::new(None), partner: RefCell::new(None), resurrect: true });
    let b =
        Gc::new(SelfCycle { id: 2, me: RefCell::new(None), partner: RefCell::new(Some(a.clone())), resurrect: false });
    *a.partner.borrow_mut() = Some(b.clone());
    let watch_b = Gc::downgrade(&b);
    drop((a, b));
    gen_gc::collect();
    let survivor = SURVIVORS.with(|s| s.borrow_mut().pop()).expect("a resurrected");
    assert_eq!(survivor.id, 1);
    let b = survivor.partner.borrow().clone().expect("b survives through a");
    assert_eq!(b.id, 2);
    assert!(watch_b.upgrade().is_none());
    drop((survivor, b));
    let before = del_calls().len();
    assert_eq!(gen_gc::collect(), 2, "the same cycle, again garbage, now freed");
    assert_eq!(del_calls().len(), before, "no second finalization");
}

/// A `Drop` that looks at its partner: the partner may already be dropped.
#[derive(Trace)]
struct Peer {
    name: &'static str,
    partner: RefCell<Option<Gc<Peer>>>,
    seen: Rc<RefCell<Vec<String>>>,
    deref_in_drop: bool,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let partner = self.partner.borrow();
        let Some(partner) = partner.as_ref() else { return };
        match Gc::try_get(partner) {
            Ok(peer) => self.seen.borrow_mut().push(format!("{} saw {}", self.name, peer.name)),
            Err(_) => self.seen.borrow_mut().push(format!("{} found its partner dropped", self.name)),
        }
        if self.deref_in_drop {
            let _ = partner.name.len();
        }
    }
}

#[test]
fn a_drop_that_touches_a_collected_object_panics_clearly_and_the_collection_completes() {
    let out = common::capture_debug_output();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let a = Gc::new(Peer { name: "a", partner: RefCell::new(None), seen: seen.clone(), deref_in_drop: true });
    let b =
        Gc::new(Peer { name: "b", partner: RefCell::new(Some(a.clone())), seen: seen.clone(), deref_in_drop: true });
    *a.partner.borrow_mut() = Some(b.clone());
    drop((a, b));
    assert_eq!(gen_gc::collect(), 2);
    gen_gc::set_debug_output(None);
    let seen = seen.borrow();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].ends_with("saw b") || seen[0].ends_with("saw a"));
    assert!(seen[1].ends_with("found its partner dropped"));
    let report = out.borrow().clone();
    assert!(report.contains("gc: a panic in the Drop of <Peer 0x"), "{report}");
    assert!(report.contains("::Peer> was used after the cycle collector dropped its value"), "{report}");
    assert!(report.contains("finalizer"), "{report}");
    // The heap is consistent: more collections and allocations work.
    assert_eq!(gen_gc::collect(), 0);
    let _fresh = Gc::new(Peer { name: "c", partner: RefCell::new(None), seen: Rc::default(), deref_in_drop: false });
}

#[test]
fn panicking_finalizers_callbacks_and_drops_are_caught_and_reported() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Angry {
        me: RefCell<Option<Gc<Angry>>>,
    }
    impl Finalize for Angry {
        fn finalize(&self) {
            panic!("finalizer exploded");
        }
    }
    impl Drop for Angry {
        fn drop(&mut self) {
            panic!("drop exploded");
        }
    }
    let out = common::capture_debug_output();
    let id = gen_gc::add_callback(|_, _| panic!("callback exploded"));
    let angry = Gc::new(Angry { me: RefCell::new(None) });
    *angry.me.borrow_mut() = Some(angry.clone());
    let weak = Gc::downgrade_with_callback(&angry, |_| panic!("weak callback exploded"));
    drop(angry);
    assert_eq!(gen_gc::collect(), 1);
    gen_gc::remove_callback(id);
    gen_gc::set_debug_output(None);
    let report = out.borrow().clone();
    for expected in ["finalizer exploded", "drop exploded", "callback exploded", "weak callback exploded"] {
        assert!(report.contains(expected), "{expected} missing from {report}");
    }
    assert!(weak.upgrade().is_none());
    assert_eq!(gen_gc::collect(), 0);
}

#[test]
fn drops_during_collection_may_allocate_mutate_and_collect() {
    thread_local!(static MADE: RefCell<Vec<Gc<Vec<Gc<u8>>>>> = const { RefCell::new(Vec::new()) });
    #[derive(Trace)]
    struct Busy {
        next: RefCell<Option<Gc<Busy>>>,
    }
    impl Drop for Busy {
        fn drop(&mut self) {
            assert_eq!(gen_gc::collect(), 0, "no collection inside a collection");
            let fresh = Gc::new(vec![Gc::new(1_u8)]);
            if let Some(next) = self.next.borrow().as_ref() {
                // Mutating another garbage object: allowed while its value is intact.
                if let Ok(next) = Gc::try_get(next) {
                    next.next.borrow_mut().take();
                }
            }
            MADE.with(|m| m.borrow_mut().push(fresh));
        }
    }
    let a = Gc::new(Busy { next: RefCell::new(None) });
    let b = Gc::new(Busy { next: RefCell::new(Some(a.clone())) });
    *a.next.borrow_mut() = Some(b.clone());
    drop((a, b));
    assert_eq!(gen_gc::collect(), 2);
    assert_eq!(MADE.with(|m| m.borrow().len()), 2);
    MADE.with(|m| m.borrow_mut().clear());
}

#[test]
fn a_mutably_borrowed_object_is_kept_alive() {
    #[derive(Trace)]
    struct Cell2 {
        other: RefCell<Option<Gc<Cell2>>>,
    }
    let a = Gc::new(Cell2 { other: RefCell::new(None) });
    let b = Gc::new(Cell2 { other: RefCell::new(Some(a.clone())) });
    *a.other.borrow_mut() = Some(b.clone());
    let watch = Gc::downgrade(&a);
    let guard = b.other.borrow_mut();
    drop(a);
    assert_eq!(gen_gc::collect(), 0, "b cannot be traced now: b and all it holds stay");
    drop(guard);
    drop(b);
    assert!(watch.upgrade().is_some());
    assert_eq!(gen_gc::collect(), 2);
    assert!(watch.upgrade().is_none());
}

#[test]
fn deep_garbage_is_collected_without_recursion() {
    // A ten-million-object ring with a ten-million-deep chain hanging off it (scaled down
    // under Miri and valgrind).
    #[derive(Trace)]
    struct Link {
        next: RefCell<Option<Gc<Link>>>,
        tail: RefCell<Option<Gc<Link>>>,
    }
    let n = if cfg!(miri) {
        50
    } else {
        std::env::var("CYCLEGC_TEST_SCALE")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(10_000_000, |d: usize| 10_000_000 / d)
    };
    let new = || Gc::new(Link { next: RefCell::new(None), tail: RefCell::new(None) });
    let first = new();
    let mut last = first.clone();
    for _ in 1..n {
        let next = new();
        *last.next.borrow_mut() = Some(next.clone());
        last = next;
    }
    *last.next.borrow_mut() = Some(first.clone());
    let mut chain = new();
    *first.tail.borrow_mut() = Some(chain.clone());
    for _ in 1..n {
        let next = new();
        *chain.tail.borrow_mut() = Some(next.clone());
        chain = next;
    }
    drop((first, last, chain));
    assert_eq!(gen_gc::collect(), 2 * n);
}

/// A finalizer may make weak references to other garbage after the collection cleared that
/// garbage's weak references: they read dead once the garbage is freed, and stay dead when
/// its memory is reused.
#[test]
fn weak_references_a_finalizer_makes_to_garbage_read_dead_after_it_is_freed() {
    #[derive(Trace)]
    struct Plain {
        next: RefCell<Option<Gc<Plain>>>,
    }
    #[derive(Trace)]
    #[trace(finalize)]
    struct Maker {
        other: Gc<Plain>,
        me: RefCell<Option<Gc<Maker>>>,
    }
    thread_local!(static MADE: RefCell<Vec<cyclegc::Weak<Plain>>> = const { RefCell::new(Vec::new()) });
    impl Finalize for Maker {
        fn finalize(&self) {
            MADE.with(|made| made.borrow_mut().push(Gc::downgrade(&self.other)));
        }
    }
    let other = Gc::new(Plain { next: RefCell::new(None) });
    let maker = Gc::new(Maker { other: other.clone(), me: RefCell::new(None) });
    *maker.me.borrow_mut() = Some(maker.clone());
    drop((maker, other));
    assert_eq!(gen_gc::collect(), 2);
    let weak = MADE.with(|made| made.borrow_mut().pop()).expect("the finalizer ran");
    assert!(weak.is_dead());
    let reused: Vec<Gc<Plain>> = (0..64).map(|_| Gc::new(Plain { next: RefCell::new(None) })).collect();
    assert!(weak.upgrade().is_none());
    drop(reused);
}

/// CPython's `ChainedBase` kinds: a plain node, one whose finalizer resurrects it, one whose
/// finalizer breaks its links (`SuicidalChained`).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Simple,
    Resurrector,
    Suicidal,
}

thread_local! {
    static CHAIN_DELS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    static CHAIN_SURVIVORS: RefCell<Vec<Gc<Chained>>> = const { RefCell::new(Vec::new()) };
    static CHAIN_ERRORS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// A node of a cyclic chain: each node holds its left and right neighbours.
#[derive(Trace)]
#[trace(finalize)]
struct Chained {
    id: usize,
    #[trace(skip)]
    kind: Kind,
    suicided: std::cell::Cell<bool>,
    left: RefCell<Option<Gc<Chained>>>,
    right: RefCell<Option<Gc<Chained>>>,
}

impl Chained {
    /// `ChainedBase.check_sanity`: links are intact unless their owner broke them.
    fn check_sanity(&self) -> Result<(), String> {
        let me = |other: &Option<Gc<Chained>>| other.as_ref().map(|o| o.id);
        if self.suicided.get() {
            if self.left.borrow().is_some() || self.right.borrow().is_some() {
                return Err(format!("{} suicided but kept links", self.id));
            }
            return Ok(());
        }
        let left = self.left.borrow().clone().ok_or(format!("{} lost its left", self.id))?;
        if !left.suicided.get() && me(&left.right.borrow()) != Some(self.id) {
            return Err(format!("{}'s left does not point back", self.id));
        }
        let right = self.right.borrow().clone().ok_or(format!("{} lost its right", self.id))?;
        if !right.suicided.get() && me(&right.left.borrow()) != Some(self.id) {
            return Err(format!("{}'s right does not point back", self.id));
        }
        Ok(())
    }
}

impl Finalize for Chained {
    fn finalize(&self) {
        CHAIN_DELS.with(|d| d.borrow_mut().push(self.id));
        if let Err(e) = self.check_sanity() {
            CHAIN_ERRORS.with(|errors| errors.borrow_mut().push(e));
        }
        match self.kind {
            Kind::Simple => {}
            Kind::Resurrector => {
                // Its own handle, from its right neighbour's left link.
                let me = self.right.borrow().as_ref().and_then(|r| r.left.borrow().clone());
                if let Some(me) = me {
                    CHAIN_SURVIVORS.with(|s| s.borrow_mut().push(me));
                }
            }
            Kind::Suicidal => {
                self.suicided.set(true);
                self.left.borrow_mut().take();
                self.right.borrow_mut().take();
            }
        }
    }
}

/// `CycleChainFinalizationTest.build_chain`: node `i` is chained to node `i - 1`.
fn build_chain(kinds: &[Kind]) -> Vec<Gc<Chained>> {
    let nodes: Vec<_> = kinds
        .iter()
        .enumerate()
        .map(|(id, &kind)| {
            Gc::new(Chained {
                id: 100 + id,
                kind,
                suicided: std::cell::Cell::new(false),
                left: RefCell::new(None),
                right: RefCell::new(None),
            })
        })
        .collect();
    for i in 0..nodes.len() {
        let left = &nodes[(i + nodes.len() - 1) % nodes.len()];
        *nodes[i].left.borrow_mut() = Some(left.clone());
        *left.right.borrow_mut() = Some(nodes[i].clone());
    }
    nodes
}

fn chain_dels() -> Vec<usize> {
    let mut dels = CHAIN_DELS.with(|d| d.borrow().clone());
    dels.sort_unstable();
    dels
}

fn chain_survivors() -> Vec<usize> {
    let mut ids: Vec<_> = CHAIN_SURVIVORS.with(|s| s.borrow().iter().map(|n| n.id).collect());
    ids.sort_unstable();
    ids
}

fn chain_reset() {
    CHAIN_SURVIVORS.with(|s| s.borrow_mut().clear());
    gen_gc::collect();
    CHAIN_DELS.with(|d| d.borrow_mut().clear());
    CHAIN_ERRORS.with(|e| e.borrow_mut().clear());
}

fn assert_no_errors() {
    let errors = CHAIN_ERRORS.with(|e| e.borrow().clone());
    assert!(errors.is_empty(), "a finalizer saw a broken object: {errors:?}");
}

fn check_non_resurrecting_chain(kinds: &[Kind]) {
    chain_reset();
    gen_gc::disable();
    let nodes = build_chain(kinds);
    let ids: Vec<_> = nodes.iter().map(|n| n.id).collect();
    let wrs: Vec<_> = nodes.iter().map(Gc::downgrade).collect();
    drop(nodes);
    gen_gc::collect();
    assert_eq!(chain_dels(), ids);
    assert_eq!(chain_survivors(), Vec::<usize>::new());
    assert!(wrs.iter().all(|wr| wr.upgrade().is_none()));
    gen_gc::collect();
    assert_eq!(chain_dels(), ids);
    assert_no_errors();
    gen_gc::enable();
}

fn check_resurrecting_chain(kinds: &[Kind]) {
    chain_reset();
    gen_gc::disable();
    let nodes = build_chain(kinds);
    let ids: Vec<_> = nodes.iter().map(|n| n.id).collect();
    let survivor_ids: Vec<_> = nodes.iter().filter(|n| n.kind == Kind::Resurrector).map(|n| n.id).collect();
    let wrs: Vec<_> = nodes.iter().map(Gc::downgrade).collect();
    drop(nodes);
    gen_gc::collect();
    assert_eq!(chain_dels(), ids);
    assert_eq!(chain_survivors(), survivor_ids);
    assert!(wrs.iter().all(|wr| wr.upgrade().is_none()), "weak references are cleared even when resurrected");
    CHAIN_SURVIVORS.with(|s| s.borrow_mut().clear());
    gen_gc::collect();
    assert_eq!(chain_dels(), ids, "finalized once only");
    assert_eq!(chain_survivors(), Vec::<usize>::new());
    assert_no_errors();
    gen_gc::enable();
}

use Kind::{Resurrector, Simple, Suicidal};

#[test]
fn cycle_chain_finalization_test_homogenous() {
    check_non_resurrecting_chain(&[Simple; 3]);
}

#[test]
fn cycle_chain_finalization_test_homogenous_resurrect() {
    check_resurrecting_chain(&[Resurrector; 3]);
}

#[test]
fn cycle_chain_finalization_test_homogenous_suicidal() {
    check_non_resurrecting_chain(&[Suicidal; 3]);
}

#[test]
fn cycle_chain_finalization_test_heterogenous_suicidal_one() {
    check_non_resurrecting_chain(&[Suicidal, Simple, Suicidal, Simple]);
}

#[test]
fn cycle_chain_finalization_test_heterogenous_suicidal_two() {
    check_non_resurrecting_chain(&[Suicidal, Suicidal, Simple, Simple]);
}

#[test]
fn cycle_chain_finalization_test_heterogenous_resurrect_one() {
    check_resurrecting_chain(&[Resurrector, Simple, Resurrector, Simple]);
}

#[test]
fn cycle_chain_finalization_test_heterogenous_resurrect_two() {
    check_resurrecting_chain(&[Resurrector, Simple, Suicidal, Resurrector, Simple, Suicidal]);
}

#[test]
fn cycle_chain_finalization_test_heterogenous_resurrect_three() {
    check_resurrecting_chain(&[Resurrector, Resurrector, Simple, Simple, Suicidal, Suicidal]);
}

#[test]
fn self_cycle_finalization_test_simple_suicide() {
    // A finalizer that drops the object's last reference (its self-loop).
    #[derive(Trace)]
    #[trace(finalize)]
    struct SuicidalSelfCycle {
        me: RefCell<Option<Gc<SuicidalSelfCycle>>>,
        dels: Rc<std::cell::Cell<usize>>,
    }
    impl Finalize for SuicidalSelfCycle {
        fn finalize(&self) {
            self.dels.set(self.dels.get() + 1);
            self.me.borrow_mut().take();
        }
    }
    let dels = Rc::new(std::cell::Cell::new(0));
    let s = Gc::new(SuicidalSelfCycle { me: RefCell::new(None), dels: dels.clone() });
    *s.me.borrow_mut() = Some(s.clone());
    let wr = Gc::downgrade(&s);
    drop(s);
    gen_gc::collect();
    assert_eq!(dels.get(), 1);
    assert!(wr.upgrade().is_none());
    gen_gc::collect();
    assert_eq!(dels.get(), 1);
}

/// What a finalizer lets go of (an object that broke its own cycle, and what only such
/// objects hold) is freed by reference counting, as CPython frees it when the finalizer
/// returns: the collection does not count it as collected and `DEBUG_SAVEALL` does not keep
/// it. Garbage still in a cycle after the finalizers is counted.
#[test]
fn garbage_a_finalizer_let_go_of_is_freed_by_counts_not_counted_nor_saved() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Cutter {
        to: RefCell<Option<Gc<Held>>>,
        me: RefCell<Option<Gc<Cutter>>>,
        drops: Rc<std::cell::Cell<usize>>,
    }
    impl Finalize for Cutter {
        fn finalize(&self) {
            self.me.borrow_mut().take();
            self.to.borrow_mut().take();
        }
    }
    impl Drop for Cutter {
        fn drop(&mut self) {
            self.drops.set(self.drops.get() + 1);
        }
    }
    #[derive(Trace)]
    struct Held {
        back: RefCell<Option<Gc<Cutter>>>,
        next: RefCell<Option<Gc<Held>>>,
    }
    fn held() -> Gc<Held> {
        Gc::new(Held { back: RefCell::new(None), next: RefCell::new(None) })
    }
    let drops = Rc::new(std::cell::Cell::new(0));
    let cutter =
        |to: Option<Gc<Held>>| Gc::new(Cutter { to: RefCell::new(to), me: RefCell::new(None), drops: drops.clone() });
    gen_gc::collect();

    // CPython's test_simple_suicide shape: a self-cycle the finalizer breaks, and an object
    // only it holds. Beside it, a plain two-object cycle, which is collected.
    let suicide = cutter(Some(held()));
    *suicide.me.borrow_mut() = Some(suicide.clone());
    let (a, b) = (held(), held());
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    let watch = (Gc::downgrade(&suicide), Gc::downgrade(&a));
    drop((suicide, a, b));
    assert_eq!(gen_gc::collect(), 2, "only the plain cycle is collected");
    assert_eq!(drops.get(), 1);
    assert!(watch.0.upgrade().is_none() && watch.1.upgrade().is_none());

    // A two-object cycle whose finalizer cuts its edge: both are freed by counts.
    let target = held();
    let a = cutter(Some(target.clone()));
    *target.back.borrow_mut() = Some(a.clone());
    drop((a, target));
    assert_eq!(gen_gc::collect(), 0);
    assert_eq!(drops.get(), 2);

    // DEBUG_SAVEALL keeps the garbage, not what the finalizer let go of.
    gen_gc::set_debug(gen_gc::DEBUG_SAVEALL);
    let suicide = cutter(None);
    *suicide.me.borrow_mut() = Some(suicide.clone());
    drop(suicide);
    let (a, b) = (held(), held());
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    drop((a, b));
    let collected = gen_gc::collect();
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    let garbage = gen_gc::take_garbage();
    assert_eq!((collected, garbage.len(), drops.get()), (2, 2, 3));
    assert!(garbage.iter().all(|object| object.is::<Held>()));
    for object in &garbage {
        object.downcast::<Held>().unwrap().next.borrow_mut().take();
    }
}

#[test]
fn legacy_finalization_test_legacy_self_cycle() {
    // Self-cycles with legacy finalizers end up in `garbage`, not finalized.
    reset();
    gen_gc::set_finalizer_policy(gen_gc::FinalizerPolicy::Legacy);
    let s = self_cycle(9, false);
    let wr = Gc::downgrade(&s);
    drop(s);
    gen_gc::collect();
    assert!(del_calls().is_empty());
    let garbage = gen_gc::take_garbage();
    assert_eq!(garbage.len(), 1);
    assert!(wr.upgrade().is_some());
    // Break the cycle to allow collection.
    garbage[0].downcast::<SelfCycle>().unwrap().me.borrow_mut().take();
    drop(garbage);
    assert!(gen_gc::garbage().is_empty());
    assert!(wr.upgrade().is_none());
    gen_gc::set_finalizer_policy(gen_gc::FinalizerPolicy::Pep442);
}

/// None (CPython's `handle_resurrected_objects` runs after the weak callbacks too): a weak
/// callback that reaches a garbage object through a shared `std::rc::Rc` it holds weakly
/// (an `Rc` is traced while its count is one) and keeps it resurrects it, finalizer or not:
/// the object survives whole, is not counted as collected, and dies by its count later.
#[test]
fn a_weak_callback_that_keeps_a_garbage_object_resurrects_it() {
    #[derive(Trace)]
    struct Cell {
        name: &'static str,
        inner: Rc<RefCell<Option<Gc<Cell>>>>,
    }
    let kept: Rc<RefCell<Option<Gc<Cell>>>> = Rc::default();
    let a = Gc::new(Cell { name: "a", inner: Rc::default() });
    *a.inner.borrow_mut() = Some(a.clone());
    let through = Rc::downgrade(&a.inner);
    let keep = Rc::clone(&kept);
    let weak = Gc::downgrade_with_callback(&a, move |_| {
        let found = through.upgrade().and_then(|inner| inner.borrow().clone());
        *keep.borrow_mut() = found;
    });
    drop(a);
    assert_eq!(gen_gc::collect(), 0, "the object the callback kept is not collected");
    assert!(weak.upgrade().is_none(), "its weak references were cleared before the callback ran");
    let back = kept.borrow_mut().take().expect("the callback found the object");
    assert_eq!(Gc::try_get(&back).map(|cell| cell.name).ok(), Some("a"), "its value is whole");
    // Still a cycle through its own `Rc`: the next collection frees it, calling nothing.
    drop(back);
    assert_eq!(gen_gc::collect(), 1);
}

/// A finalizer run because the last handle went (not by a collection) runs on a tracked
/// object, as CPython re-tracks an object around `__del__`: `get_objects` lists it,
/// `get_referrers` finds it holding what it holds, and a collection it starts keeps it and
/// all it holds. Once the finalizer returns, the object dies as usual.
#[test]
fn a_finalizer_run_by_reference_counting_sees_its_object_tracked() {
    #[derive(Trace)]
    struct Child {
        _edges: RefCell<Vec<Gc<Child>>>,
    }
    #[derive(Trace)]
    #[trace(finalize)]
    struct Parent {
        child: Gc<Child>,
        seen: Rc<RefCell<Vec<(bool, usize, usize)>>>,
    }
    impl Finalize for Parent {
        fn finalize(&self) {
            let listed = gen_gc::get_objects(None).iter().any(|object| object.is::<Parent>());
            let referrers = gen_gc::get_referrers(&self.child).len();
            let collected = gen_gc::collect();
            self.seen.borrow_mut().push((listed, referrers, collected));
        }
    }
    gen_gc::collect();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let child = Gc::new(Child { _edges: RefCell::new(Vec::new()) });
    let parent = Gc::new(Parent { child: child.clone(), seen: seen.clone() });
    let weak = Gc::downgrade(&parent);
    drop(parent);
    assert_eq!(*seen.borrow(), [(true, 1, 0)], "listed, the child's referrer, nothing collected");
    assert!(weak.upgrade().is_none(), "dead once the finalizer returned");
    assert!(gen_gc::get_objects(None).iter().all(|object| !object.is::<Parent>()), "unlinked");
    assert_eq!(gen_gc::get_referrers(&child).len(), 0);
    assert_eq!(gen_gc::collect(), 0);
}
