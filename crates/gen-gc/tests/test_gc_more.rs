//! More of CPython's `Lib/test/test_gc.py` and `Lib/test/test_finalization.py`: the numbers
//! a program reads back from the collector (what `collect` returns, the counts, the
//! statistics, what callbacks are told), `DEBUG_SAVEALL`, freezing, and user code that runs
//! during a collection. Each test names the case it comes from.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use cyclegc::{Finalize, Gc, GcAny, Trace, Weak};
use gen_gc::{CallbackInfo, CollectionPolicy, FinalizerPolicy, Phase};

/// A Python list.
#[derive(Trace, Default)]
struct List(RefCell<Vec<GcAny>>);

impl List {
    fn new() -> Gc<List> {
        Gc::new(List::default())
    }
    fn append(&self, item: GcAny) {
        self.0.borrow_mut().push(item);
    }
}

fn any<T: Trace>(gc: &Gc<T>) -> GcAny {
    Gc::to_any(gc)
}

/// Makes a ring of `n` lists, dropped: garbage of `n` objects.
fn garbage_ring(n: usize) {
    let first = List::new();
    let mut last = first.clone();
    for _ in 1..n {
        let next = List::new();
        last.append(any(&next));
        last = next;
    }
    last.append(any(&first));
}

/// An instance with `__del__` that counts its calls.
#[derive(Trace)]
#[trace(finalize)]
struct Del {
    items: RefCell<Vec<GcAny>>,
    #[trace(skip)]
    finalized: Rc<Cell<usize>>,
}

impl Finalize for Del {
    fn finalize(&self) {
        self.finalized.set(self.finalized.get() + 1);
    }
}

impl Del {
    fn new(finalized: &Rc<Cell<usize>>) -> Gc<Del> {
        Gc::new(Del { items: RefCell::new(Vec::new()), finalized: finalized.clone() })
    }
}

/// A `Del` that refers to itself.
fn del_self_cycle(finalized: &Rc<Cell<usize>>) -> Gc<Del> {
    let d = Del::new(finalized);
    d.items.borrow_mut().push(any(&d));
    d
}

/// What a recording callback saw: each phase with its information.
type CallbackLog = Rc<RefCell<Vec<(Phase, CallbackInfo)>>>;

/// Records every callback call.
fn record_callbacks() -> (gen_gc::CallbackId, CallbackLog) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let sink = log.clone();
    let id = gen_gc::add_callback(move |phase, info| sink.borrow_mut().push((phase, *info)));
    (id, log)
}

#[test]
fn saveall_collect_returns_the_objects_it_saved() {
    // GCTests.test_saveall: the saved objects count as found, in `collect` and `get_stats`.
    gen_gc::collect();
    let before = gen_gc::get_stats()[2];
    gen_gc::set_debug(gen_gc::DEBUG_SAVEALL);
    garbage_ring(3);
    assert_eq!(gen_gc::collect(), 3);
    let after = gen_gc::get_stats()[2];
    assert_eq!((after.collected - before.collected, after.uncollectable - before.uncollectable), (3, 0));
    assert_eq!(gen_gc::garbage().len(), 3, "every object of the cycle is saved");
    assert_eq!(gen_gc::collect(), 0, "held by garbage, the cycle is not found again");
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    let saved = gen_gc::take_garbage();
    let watches: Vec<_> = saved.iter().map(|o| Gc::downgrade(&o.downcast::<List>().unwrap())).collect();
    drop(saved);
    assert_eq!(gen_gc::collect(), 3, "let go, the cycle is garbage again and freed");
    assert!(watches.iter().all(Weak::is_dead));
}

#[test]
fn saveall_keeps_the_objects_intact_and_their_weak_references_dead() {
    // GCTests.test_saveall: saved garbage is not freed; like all garbage its weak references
    // are cleared.
    gen_gc::set_debug(gen_gc::DEBUG_SAVEALL);
    let l = List::new();
    l.append(any(&l));
    l.append(any(&Gc::new(List::default())));
    let weak = Gc::downgrade(&l);
    drop(l);
    assert_eq!(gen_gc::collect(), 2);
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    let garbage = gen_gc::take_garbage();
    assert_eq!(garbage.len(), 2);
    let saved = garbage.iter().find_map(|o| o.downcast::<List>().filter(|l| l.0.borrow().len() == 2));
    let saved = saved.expect("the cycle's list is saved with its items");
    assert!(!Gc::is_dropped(&saved));
    assert!(weak.is_dead(), "weak references to saved garbage were cleared");
    saved.0.borrow_mut().clear();
}

#[test]
fn saveall_keeps_finalized_objects_after_their_finalizer_ran() {
    // GCTests.test_saveall with test_finalization's `__del__`: under PEP 442 the finalizer
    // runs once, then the object is saved; a later collection does not finalize it again.
    let finalized = Rc::new(Cell::new(0));
    gen_gc::set_debug(gen_gc::DEBUG_SAVEALL);
    drop(del_self_cycle(&finalized));
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(finalized.get(), 1);
    let saved = gen_gc::take_garbage();
    assert_eq!(saved.len(), 1);
    assert!(saved[0].is_finalized());
    drop(saved);
    assert_eq!(gen_gc::collect(), 1, "saved again");
    assert_eq!(finalized.get(), 1, "finalized once");
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    let saved = gen_gc::take_garbage();
    saved[0].downcast::<Del>().unwrap().items.borrow_mut().clear();
}

#[test]
fn saveall_under_the_legacy_policy_saves_every_uncollectable_object() {
    // GCTests.test_legacy_finalizer with DEBUG_SAVEALL: `garbage` gets every object of the
    // uncollectable cycle, not only the one with the finalizer, and they count as
    // uncollectable.
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    gen_gc::set_debug(gen_gc::DEBUG_SAVEALL);
    let finalized = Rc::new(Cell::new(0));
    let d = Del::new(&finalized);
    let list = List::new();
    d.items.borrow_mut().push(any(&list));
    list.append(any(&d));
    list.append(any(&List::new()));
    let d_id = Gc::id(&d);
    let before = gen_gc::get_stats()[2];
    drop((d, list));
    assert_eq!(gen_gc::collect(), 3);
    let after = gen_gc::get_stats()[2];
    assert_eq!((after.collected - before.collected, after.uncollectable - before.uncollectable), (0, 3));
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    let garbage = gen_gc::take_garbage();
    assert_eq!(garbage.len(), 3);
    assert!(garbage.iter().any(|o| o.id() == d_id));
    assert_eq!(finalized.get(), 0, "legacy finalizers of uncollectable objects do not run");
    for o in &garbage {
        if let Some(l) = o.downcast::<List>() {
            l.0.borrow_mut().clear();
        }
    }
    drop(garbage);
    assert_eq!(finalized.get(), 1, "broken by hand, the cycle died by reference counting");
    gen_gc::set_finalizer_policy(FinalizerPolicy::Pep442);
}

#[test]
fn a_young_collection_finds_young_garbage_only() {
    // GCTests.test_collect_generations: `collect(0)` returns what the young generation held.
    gen_gc::set_collection_policy(CollectionPolicy::Generational);
    garbage_ring(4);
    gen_gc::collect_generation(2).unwrap(); // a full collection frees it
    garbage_ring(5);
    assert_eq!(gen_gc::collect_generation(0), Ok(5));
    let survivor_ring = List::new();
    survivor_ring.append(any(&survivor_ring));
    assert_eq!(gen_gc::collect_generation(0), Ok(0), "alive, it moves to generation 1");
    drop(survivor_ring);
    assert_eq!(gen_gc::collect_generation(0), Ok(0), "old garbage is not in the young generation");
    assert_eq!(gen_gc::collect_generation(1), Ok(1), "generation 1 holds it");
}

#[test]
fn a_collection_of_generation_one_takes_the_young_generation_along() {
    // GCTests.test_collect_generations: `collect(1)` examines generations 0 and 1.
    gen_gc::set_collection_policy(CollectionPolicy::Generational);
    let older = List::new();
    older.append(any(&older));
    gen_gc::collect_generation(0).unwrap();
    drop(older);
    garbage_ring(2);
    assert_eq!(gen_gc::collect_generation(1), Ok(3));
    garbage_ring(2);
    let oldest = List::new();
    oldest.append(any(&oldest));
    gen_gc::collect_generation(1).unwrap();
    gen_gc::collect_generation(1).unwrap();
    assert!(gen_gc::get_objects(Some(2)).contains(&any(&oldest)));
    drop(oldest);
    assert_eq!(gen_gc::collect_generation(1), Ok(0), "generation 2 is not examined");
    assert_eq!(gen_gc::collect_generation(2), Ok(1));
}

#[test]
fn get_count_counts_the_collections_of_the_younger_generation() {
    // GCTests.test_get_count and test_collect_generations, for 3.11's generation counts.
    gen_gc::set_collection_policy(CollectionPolicy::Generational);
    gen_gc::collect();
    assert_eq!(gen_gc::get_count(), (0, 0, 0));
    let keep: Vec<_> = (0..3).map(|_| List::new()).collect();
    assert_eq!(gen_gc::get_count(), (3, 0, 0));
    for n in 1..=3 {
        gen_gc::collect_generation(0).unwrap();
        assert_eq!(gen_gc::get_count(), (0, n, 0));
    }
    gen_gc::collect_generation(1).unwrap();
    assert_eq!(gen_gc::get_count(), (0, 0, 1));
    gen_gc::collect_generation(1).unwrap();
    assert_eq!(gen_gc::get_count(), (0, 0, 2));
    gen_gc::collect();
    assert_eq!(gen_gc::get_count(), (0, 0, 0));
    drop(keep);
}

#[test]
fn freeze_zeroes_the_young_count_only_under_the_generational_policy() {
    // CPython 3.11's gc_freeze_impl resets generations[0].count and nothing else.
    gen_gc::set_collection_policy(CollectionPolicy::Generational);
    gen_gc::collect();
    let keep: Vec<_> = (0..3).map(|_| List::new()).collect();
    gen_gc::collect_generation(1).unwrap();
    gen_gc::collect_generation(0).unwrap();
    let more: Vec<_> = (0..2).map(|_| List::new()).collect();
    assert_eq!(gen_gc::get_count(), (2, 1, 1));
    gen_gc::freeze();
    assert_eq!(gen_gc::get_count(), (0, 1, 1));
    gen_gc::unfreeze();
    gen_gc::collect();
    assert_eq!(gen_gc::get_count(), (0, 0, 0));
    drop((keep, more));
}

#[test]
fn get_count_goes_down_when_young_objects_die() {
    // GCTests.test_get_count: CPython 3.11 takes a dying young object off the count.
    gen_gc::collect();
    let (before, _, _) = gen_gc::get_count();
    let l = List::new();
    assert_eq!(gen_gc::get_count().0, before + 1);
    drop(l);
    assert_eq!(gen_gc::get_count().0, before);
}

#[test]
fn automatic_collections_collect_older_generations_by_their_thresholds() {
    // GCTests.test_collect_generations and GCCallbackTests: under 3.11's policy a collection
    // of generation 1 follows every `threshold1 + 1` young ones, and of generation 2 every
    // `threshold2 + 1` of generation 1 (the long-lived rule allowing: here the old generation
    // is small), taken at the next trigger.
    gen_gc::set_collection_policy(CollectionPolicy::Generational);
    gen_gc::collect();
    gen_gc::set_threshold(10, 2, 2);
    let (id, log) = record_callbacks();
    let mut keep = Vec::new();
    while log.borrow().len() < 2 * 16 {
        keep.push(List::new());
    }
    gen_gc::remove_callback(id);
    gen_gc::set_threshold(700, 10, 10);
    let generations: Vec<usize> =
        log.borrow().iter().filter(|(phase, _)| *phase == Phase::Stop).map(|(_, info)| info.generation).collect();
    assert_eq!(generations, [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 2, 0, 0, 0]);
    let stats = gen_gc::get_stats();
    assert_eq!(stats.map(|s| s.collections), [12, 3, 2], "one explicit collection of generation 2 and one automatic");
    assert_eq!(keep.len(), 16 * 11, "a young collection every threshold0 + 1 allocations");
}

#[test]
fn an_automatic_collection_runs_when_the_count_passes_threshold0() {
    // GCTests.test_get_count and GCTogglingTests: the collection runs from the allocation that
    // takes the count past threshold0, not before.
    gen_gc::collect();
    gen_gc::set_threshold(5, 10, 10);
    let (id, log) = record_callbacks();
    let mut keep = Vec::new();
    for _ in 0..5 {
        keep.push(List::new());
    }
    assert!(log.borrow().is_empty(), "count 5 does not pass threshold 5");
    keep.push(List::new());
    assert_eq!(log.borrow().len(), 2, "the sixth allocation collects");
    gen_gc::remove_callback(id);
    gen_gc::set_threshold(700, 10, 10);
}

#[test]
fn the_callback_list_can_be_read_and_cleared() {
    // GCCallbackTests' setUp and tearDown: len(gc.callbacks), gc.callbacks.clear().
    let before = gen_gc::callbacks();
    let (first, log) = record_callbacks();
    let (second, _) = record_callbacks();
    assert_eq!(gen_gc::callbacks(), [before.clone(), vec![first, second]].concat());
    gen_gc::remove_callback(first);
    assert_eq!(gen_gc::callbacks(), [before.clone(), vec![second]].concat());
    assert_eq!(gen_gc::clear_callbacks(), before.len() + 1);
    assert!(gen_gc::callbacks().is_empty());
    gen_gc::collect();
    assert!(log.borrow().is_empty(), "a removed callback is not called");
    assert!(!gen_gc::remove_callback(second), "cleared");
}

#[test]
fn objects_of_ones_own_can_be_put_in_garbage() {
    // gc.garbage.append(obj): the list keeps the object until it is emptied.
    let _ = gen_gc::take_garbage();
    let finalized = Rc::new(Cell::new(0));
    let kept = Del::new(&finalized);
    let watch = Gc::downgrade(&kept);
    gen_gc::push_garbage(any(&kept));
    drop(kept);
    gen_gc::collect();
    assert!(watch.upgrade().is_some(), "garbage keeps it");
    let taken = gen_gc::take_garbage();
    assert!(taken.len() == 1 && taken[0].is::<Del>());
    drop(taken);
    assert!(watch.upgrade().is_none());
}

#[test]
fn callbacks_are_told_what_collect_returns() {
    // GCCallbackTests.test_collect_generation: the stop phase reports the collection's
    // numbers, the start phase zeros, both the generation asked for.
    gen_gc::collect();
    let (id, log) = record_callbacks();
    garbage_ring(7);
    let found = gen_gc::collect_generation(0).unwrap();
    garbage_ring(2);
    let found_full = gen_gc::collect();
    gen_gc::remove_callback(id);
    let log = log.borrow();
    assert_eq!(log.len(), 4);
    assert_eq!(found, 7);
    assert_eq!(found_full, 2);
    let (start, stop) = (log[0].1, log[1].1);
    assert_eq!((log[0].0, log[1].0), (Phase::Start, Phase::Stop));
    assert_eq!((start.generation, start.collected, start.uncollectable, start.candidates), (0, 0, 0, 0));
    assert_eq!((stop.generation, stop.collected, stop.uncollectable), (0, 7, 0));
    assert!(stop.candidates >= 7);
    assert_eq!((log[3].1.generation, log[3].1.collected + log[3].1.uncollectable), (2, 2));
}

#[test]
fn callbacks_do_not_count_resurrected_objects_as_collected() {
    // GCTests.test_resurrection_does_not_block_cleanup_of_other_objects, seen by a callback.
    thread_local!(static KEPT: RefCell<Vec<Gc<Lazarus>>> = const { RefCell::new(Vec::new()) });
    #[derive(Trace)]
    #[trace(finalize)]
    struct Lazarus {
        me: RefCell<Option<Gc<Lazarus>>>,
    }
    impl Finalize for Lazarus {
        fn finalize(&self) {
            KEPT.with(|k| k.borrow_mut().push(self.me.borrow().clone().unwrap()));
        }
    }
    let (id, log) = record_callbacks();
    let z = Gc::new(Lazarus { me: RefCell::new(None) });
    *z.me.borrow_mut() = Some(z.clone());
    drop(z);
    garbage_ring(3);
    assert_eq!(gen_gc::collect(), 3);
    gen_gc::remove_callback(id);
    let stop = log.borrow()[1].1;
    assert_eq!((stop.collected, stop.uncollectable), (3, 0));
    KEPT.with(|k| k.borrow()[0].me.borrow_mut().take());
    KEPT.with(|k| k.borrow_mut().clear());
}

#[test]
fn callbacks_under_the_legacy_policy_report_uncollectable_objects() {
    // GCCallbackTests.test_collect_garbage: `uncollectable` counts the finalizer cycle and
    // what it reaches, `collected` the rest (here garbage that refers to the cycle).
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    let finalized = Rc::new(Cell::new(0));
    let (id, log) = record_callbacks();
    let d = del_self_cycle(&finalized);
    let reached = List::new();
    d.items.borrow_mut().push(any(&reached));
    let referrer = List::new();
    referrer.append(any(&referrer));
    referrer.append(any(&d));
    drop((d, reached, referrer));
    garbage_ring(2);
    let found = gen_gc::collect();
    gen_gc::remove_callback(id);
    let stop = log.borrow()[1].1;
    assert_eq!((stop.collected, stop.uncollectable), (3, 2));
    assert_eq!(found, 5);
    let garbage = gen_gc::take_garbage();
    assert_eq!(garbage.len(), 1);
    assert_eq!(finalized.get(), 0, "legacy finalizers in cycles never run");
    garbage[0].downcast::<Del>().unwrap().items.borrow_mut().clear();
    drop(garbage);
    assert_eq!(finalized.get(), 1, "broken by hand, it dies by reference counting and is finalized then");
    gen_gc::set_finalizer_policy(FinalizerPolicy::Pep442);
}

#[test]
fn a_callback_that_collects_does_nothing_and_gets_zero() {
    // GCCallbackTests: callbacks run inside the collection, where `collect` returns 0; the
    // garbage a stop callback makes is the next collection's.
    let results = Rc::new(RefCell::new(Vec::new()));
    let sink = results.clone();
    let id = gen_gc::add_callback(move |phase, _| {
        if phase == Phase::Stop {
            garbage_ring(2);
        }
        sink.borrow_mut().push(gen_gc::collect());
    });
    garbage_ring(3);
    assert_eq!(gen_gc::collect(), 3);
    gen_gc::remove_callback(id);
    assert_eq!(*results.borrow(), [0, 0]);
    assert_eq!(gen_gc::collect(), 2);
}

#[test]
fn a_callback_may_register_and_remove_callbacks() {
    // GCCallbackTests.setUp/tearDown: callbacks are added and removed around collections.
    let calls = Rc::new(Cell::new(0));
    let added = Rc::new(RefCell::new(None));
    let (c, a) = (calls.clone(), added.clone());
    let first = gen_gc::add_callback(move |phase, _| {
        if phase == Phase::Start && a.borrow().is_none() {
            let c = c.clone();
            *a.borrow_mut() = Some(gen_gc::add_callback(move |_, _| c.set(c.get() + 1)));
        }
    });
    gen_gc::collect();
    assert_eq!(calls.get(), 2, "a callback added during \"start\" is called for it, as CPython walks gc.callbacks");
    calls.set(0);
    gen_gc::collect();
    assert_eq!(calls.get(), 2);
    assert!(gen_gc::remove_callback(first));
    assert!(gen_gc::remove_callback(added.borrow_mut().take().unwrap()));
    gen_gc::collect();
    assert_eq!(calls.get(), 2);
}

#[test]
fn finalizers_that_make_new_garbage_leave_it_to_the_next_collection() {
    // test_finalization's `SelfCycleBase` objects made by a `__del__`: garbage made during a
    // collection is not counted by it, and the next collection finds it.
    #[derive(Trace)]
    #[trace(finalize)]
    struct Maker {
        me: RefCell<Option<Gc<Maker>>>,
    }
    impl Finalize for Maker {
        fn finalize(&self) {
            garbage_ring(4);
        }
    }
    let m = Gc::new(Maker { me: RefCell::new(None) });
    *m.me.borrow_mut() = Some(m.clone());
    drop(m);
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(gen_gc::collect(), 4);
    assert_eq!(gen_gc::collect(), 0);
}

#[test]
fn weak_callbacks_that_make_new_garbage_leave_it_to_the_next_collection() {
    // GCTests.test_bug1055820b's callbacks, making garbage of their own.
    let target = List::new();
    target.append(any(&target));
    let weak = Gc::downgrade_with_callback(&target, |_| garbage_ring(3));
    drop(target);
    assert_eq!(gen_gc::collect(), 1);
    assert!(weak.is_dead());
    assert_eq!(gen_gc::collect(), 3);
}

#[test]
fn a_weak_callback_that_collects_gets_zero() {
    // GCTests.test_bug1055820b with test_bug21435's nested collect, from a weak callback.
    let got = Rc::new(Cell::new(usize::MAX));
    let sink = got.clone();
    let target = List::new();
    target.append(any(&target));
    let _weak = Gc::downgrade_with_callback(&target, move |_| sink.set(gen_gc::collect()));
    drop(target);
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(got.get(), 0);
}

#[test]
fn a_finalizer_may_freeze_and_unfreeze_during_a_collection() {
    // GCTests.test_freeze, from a `__del__`: the garbage under collection is not frozen.
    #[derive(Trace)]
    #[trace(finalize)]
    struct Freezer {
        me: RefCell<Option<Gc<Freezer>>>,
    }
    impl Finalize for Freezer {
        fn finalize(&self) {
            gen_gc::freeze();
        }
    }
    let kept = List::new();
    kept.append(any(&kept));
    let f = Gc::new(Freezer { me: RefCell::new(None) });
    *f.me.borrow_mut() = Some(f.clone());
    let weak_f = Gc::downgrade(&f);
    drop(f);
    let count = gen_gc::collect();
    assert_eq!(count, 1);
    assert!(weak_f.is_dead());
    assert!(gen_gc::get_freeze_count() >= 1, "the live list was frozen");
    assert!(!gen_gc::get_objects(Some(2)).contains(&any(&kept)));
    let watch = Gc::downgrade(&kept);
    drop(kept);
    assert_eq!(gen_gc::collect(), 0, "frozen");
    gen_gc::unfreeze();
    assert_eq!(gen_gc::collect(), 1);
    assert!(watch.is_dead());
}

#[test]
fn freeze_moves_every_tracked_object_out_of_the_generations() {
    // GCTests.test_freeze and test_get_objects: frozen objects are in no generation, but
    // `get_objects(None)` lists them; `unfreeze` puts them in the oldest generation.
    gen_gc::collect();
    let a = List::new();
    let b = List::new();
    let tracked = gen_gc::get_objects(None).len();
    gen_gc::freeze();
    assert_eq!(gen_gc::get_freeze_count(), tracked);
    assert_eq!(gen_gc::get_count().0, 0);
    for g in 0..3 {
        let objects = gen_gc::get_objects(Some(g));
        assert!(!objects.contains(&any(&a)) && !objects.contains(&any(&b)), "frozen, not in generation {g}");
    }
    assert!(gen_gc::get_objects(None).contains(&any(&a)));
    let young = List::new();
    assert!(gen_gc::get_objects(Some(0)).contains(&any(&young)), "new objects are young, not frozen");
    assert_eq!(gen_gc::get_freeze_count(), tracked);
    gen_gc::unfreeze();
    assert_eq!(gen_gc::get_freeze_count(), 0);
    assert!(gen_gc::get_objects(Some(2)).contains(&any(&a)));
    assert!(gen_gc::get_objects(Some(2)).contains(&any(&b)));
}

#[test]
fn frozen_objects_are_found_by_get_referrers() {
    // GCTests.test_get_referrers (3.11 searches the generations only; the docs here promise
    // frozen objects too).
    let target = List::new();
    let holder = List::new();
    holder.append(any(&target));
    gen_gc::freeze();
    assert_eq!(gen_gc::get_referrers(&target), [any(&holder)]);
    gen_gc::unfreeze();
}

#[test]
fn get_referrers_lists_an_object_that_refers_to_itself() {
    // GCTests.test_get_referrers: a self-cycle is its own referrer.
    let l = List::new();
    l.append(any(&l));
    assert_eq!(gen_gc::get_referrers(&l), [any(&l)]);
    assert_eq!(gen_gc::get_referents(&l), [any(&l)]);
    l.0.borrow_mut().clear();
}

#[test]
fn get_referrers_lists_a_referrer_once_however_many_edges() {
    // GCTests.test_get_referrers: each referrer once.
    let target = List::new();
    let holder = List::new();
    holder.append(any(&target));
    holder.append(any(&target));
    assert_eq!(gen_gc::get_referrers(&target), [any(&holder)]);
    assert_eq!(gen_gc::get_referents(&holder).len(), 2, "referents, one per edge, as Python's");
}

#[test]
fn the_legacy_garbage_finalizer_runs_once_when_freed_by_hand() {
    // test_finalization's LegacyFinalizationTest.test_legacy_self_cycle, then breaking the
    // cycle as the article says: the finalizer runs then, once.
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    let finalized = Rc::new(Cell::new(0));
    drop(del_self_cycle(&finalized));
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(gen_gc::collect(), 0, "garbage holds it");
    let garbage = gen_gc::take_garbage();
    assert!(!garbage[0].is_finalized());
    gen_gc::set_finalizer_policy(FinalizerPolicy::Pep442);
    drop(garbage);
    assert_eq!(gen_gc::collect(), 1, "let go of, the cycle is garbage again; PEP 442 collects it");
    assert_eq!(finalized.get(), 1);
}

#[test]
fn finalizers_in_a_deep_garbage_chain_run_once_each() {
    // GCTests.test_trashcan with test_finalization's finalizers: a long chain of objects with
    // finalizers hanging off a cycle is collected without recursion, every finalizer once.
    let n = if cfg!(miri) { 50 } else { 100_000 };
    let finalized = Rc::new(Cell::new(0));
    let ring_a = List::new();
    let ring_b = List::new();
    ring_a.append(any(&ring_b));
    ring_b.append(any(&ring_a));
    let mut last = ring_a.clone();
    for _ in 0..n {
        let next = List::new();
        next.append(any(&Del::new(&finalized)));
        last.append(any(&next));
        last = next;
    }
    drop((ring_a, ring_b, last));
    assert_eq!(gen_gc::collect(), 2 + 2 * n);
    assert_eq!(finalized.get(), n);
    assert_eq!(gen_gc::collect(), 0);
}

#[test]
fn a_weak_reference_made_by_a_finalizer_to_garbage_reads_dead_after_the_collection() {
    // GCTests.test_function_tp_clear_leaves_consistent_state, seen from outside.
    thread_local!(static REF: RefCell<Option<Weak<List>>> = const { RefCell::new(None) });
    #[derive(Trace)]
    #[trace(finalize)]
    struct Maker {
        list: Gc<List>,
    }
    impl Finalize for Maker {
        fn finalize(&self) {
            REF.with(|r| *r.borrow_mut() = Some(Gc::downgrade(&self.list)));
        }
    }
    let list = List::new();
    let maker = Gc::new(Maker { list: list.clone() });
    list.append(any(&maker));
    drop((list, maker));
    assert_eq!(gen_gc::collect(), 2);
    let weak = REF.with(|r| r.borrow_mut().take()).unwrap();
    assert!(weak.is_dead());
    assert!(weak.upgrade().is_none());
}

#[test]
fn get_objects_during_a_collection_lists_no_garbage() {
    // GCTests.test_get_objects_during_gc, from a weak callback.
    let seen = Rc::new(Cell::new(true));
    let sink = seen.clone();
    let target = List::new();
    target.append(any(&target));
    let id = Gc::id(&target);
    let _w = Gc::downgrade_with_callback(&target, move |_| {
        sink.set(gen_gc::get_objects(None).iter().any(|o| o.id() == id));
    });
    drop(target);
    gen_gc::collect();
    assert!(!seen.get(), "a weak callback saw the garbage in get_objects");
}

#[test]
fn get_stats_counts_every_collection_by_its_generation() {
    // GCTests.test_get_stats: collections of each generation, and what they found.
    gen_gc::set_collection_policy(CollectionPolicy::Generational);
    let old = gen_gc::get_stats();
    garbage_ring(2);
    gen_gc::collect_generation(0).unwrap();
    garbage_ring(3);
    gen_gc::collect_generation(1).unwrap();
    garbage_ring(4);
    gen_gc::collect_generation(2).unwrap();
    let new = gen_gc::get_stats();
    for (g, expected) in [2, 3, 4].into_iter().enumerate() {
        assert_eq!(new[g].collections - old[g].collections, 1);
        assert_eq!(new[g].collected - old[g].collected, expected);
        assert_eq!(new[g].uncollectable - old[g].uncollectable, 0);
    }
}

#[test]
fn is_tracked_follows_the_type() {
    // GCTests.test_is_tracked: containers of objects are tracked whatever they hold.
    let empty: Gc<Vec<Gc<List>>> = Gc::new(Vec::new());
    assert!(gen_gc::is_tracked(&empty), "an empty list is tracked");
    let slice: Gc<[Gc<u8>]> = Gc::from(vec![Gc::new(1_u8)]);
    assert!(gen_gc::is_tracked(&slice));
    let leaves: Gc<[u8]> = Gc::from(vec![1_u8]);
    assert!(!gen_gc::is_tracked(&leaves));
    assert!(!gen_gc::is_tracked(&Gc::new(())));
    assert!(!gen_gc::is_tracked(&Gc::new((1_u8, String::new()))));
    assert!(gen_gc::is_tracked(&Gc::new((1_u8, None::<Gc<u8>>))));
}

#[test]
fn a_start_callback_that_freezes_leaves_nothing_to_collect() {
    // GCCallbackTests with GCTests.test_freeze: what a start callback freezes, the collection
    // that follows does not examine.
    for policy in [CollectionPolicy::Generational, CollectionPolicy::Incremental] {
        gen_gc::set_collection_policy(policy);
        garbage_ring(3);
        let id = gen_gc::add_callback(|phase, _| {
            if phase == Phase::Start {
                gen_gc::freeze();
            }
        });
        assert_eq!(gen_gc::collect(), 0, "{policy:?}");
        gen_gc::remove_callback(id);
        assert_eq!(gen_gc::collect(), 0, "{policy:?}: frozen");
        gen_gc::unfreeze();
        assert_eq!(gen_gc::collect(), 3, "{policy:?}: unfrozen");
    }
}

#[test]
fn a_start_callback_that_drops_the_last_handle_to_a_cycle_has_it_collected() {
    // GCCallbackTests: the collection starts after the start callbacks.
    let held: Rc<RefCell<Option<Gc<List>>>> = Rc::default();
    let l = List::new();
    l.append(any(&l));
    *held.borrow_mut() = Some(l);
    let h = held.clone();
    let id = gen_gc::add_callback(move |phase, _| {
        if phase == Phase::Start {
            h.borrow_mut().take();
        }
    });
    assert_eq!(gen_gc::collect(), 1);
    gen_gc::remove_callback(id);
}

#[test]
fn weak_references_to_legacy_garbage_stay_alive() {
    // GCTests.test_legacy_finalizer: CPython clears weak references only to the objects it
    // will free; uncollectable objects stay alive, and so do their weak references.
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    let finalized = Rc::new(Cell::new(0));
    let d = del_self_cycle(&finalized);
    let called = Rc::new(Cell::new(false));
    let c = called.clone();
    let weak = Gc::downgrade_with_callback(&d, move |_| c.set(true));
    drop(d);
    assert_eq!(gen_gc::collect(), 1);
    assert!(!weak.is_dead(), "uncollectable, so alive");
    assert!(!called.get());
    let garbage = gen_gc::take_garbage();
    garbage[0].downcast::<Del>().unwrap().items.borrow_mut().clear();
    drop(garbage);
    assert!(weak.is_dead());
    assert!(called.get());
    gen_gc::set_finalizer_policy(FinalizerPolicy::Pep442);
}

#[test]
fn a_legacy_finalizer_hanging_off_a_collectable_cycle_is_uncollectable_alone() {
    // GCCallbackTests.test_collect_garbage: the cycle is collected, the object with a
    // finalizer it held goes to `garbage`.
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    let finalized = Rc::new(Cell::new(0));
    let d = Del::new(&finalized);
    let a = List::new();
    let b = List::new();
    a.append(any(&b));
    b.append(any(&a));
    a.append(any(&d));
    let d_id = Gc::id(&d);
    drop((a, b, d));
    let before = gen_gc::get_stats()[2];
    assert_eq!(gen_gc::collect(), 3);
    let after = gen_gc::get_stats()[2];
    assert_eq!((after.collected - before.collected, after.uncollectable - before.uncollectable), (2, 1));
    let garbage = gen_gc::take_garbage();
    assert_eq!(garbage.len(), 1);
    assert_eq!(garbage[0].id(), d_id);
    assert!(!Gc::is_dropped(&garbage[0].downcast::<Del>().unwrap()));
    drop(garbage);
    assert_eq!(finalized.get(), 1, "let go of, it dies by reference counting, finalized then");
    gen_gc::set_finalizer_policy(FinalizerPolicy::Pep442);
}

#[test]
fn a_young_cycle_through_an_old_object_waits_for_the_old_generation() {
    // GCTests.test_collect_generations: a young collection counts references from older
    // objects as references from outside.
    for policy in [CollectionPolicy::Generational, CollectionPolicy::Incremental] {
        gen_gc::set_collection_policy(policy);
        let old = List::new();
        gen_gc::collect();
        let young = List::new();
        young.append(any(&old));
        old.append(any(&young));
        drop((old, young));
        assert_eq!(gen_gc::collect_generation(0), Ok(0), "{policy:?}");
        assert_eq!(gen_gc::collect(), 2, "{policy:?}");
    }
}

#[test]
fn increments_free_old_garbage_within_the_documented_bound() {
    // IncrementalGCTests (3.14): every cycle is found within a bounded number of increments;
    // the crate docs give `2 (3K/m + K/(2 threshold0) + 2)` collections for `K` old objects.
    gen_gc::set_collection_policy(CollectionPolicy::Incremental);
    let k = if cfg!(miri) { 200 } else { 20_000 };
    let live: Vec<_> = (0..k).map(|_| List::new()).collect();
    garbage_ring(2);
    let ring_holder = List::new();
    let watched = List::new();
    watched.append(any(&ring_holder));
    ring_holder.append(any(&watched));
    let watch = Gc::downgrade(&watched);
    gen_gc::collect_generation(0).unwrap();
    drop((ring_holder, watched));
    let (t0, t1, _) = gen_gc::get_threshold();
    let m = t0 / t1;
    let bound = 2 * (3 * (k + 4) / m + (k + 4) / (2 * t0) + 2);
    let mut increments = 0;
    while !watch.is_dead() {
        assert!(increments < bound, "not freed within {bound} increments");
        gen_gc::collect_generation(1).unwrap();
        increments += 1;
    }
    drop(live);
}

#[test]
fn get_count_under_the_incremental_policy_counts_increments_and_passes() {
    // GCTests.test_get_count as Python 3.14 reads it: the young count, the increments of the
    // current pass, the passes since the last full collection.
    gen_gc::set_collection_policy(CollectionPolicy::Incremental);
    gen_gc::collect();
    assert_eq!(gen_gc::get_count(), (0, 0, 0));
    let keep: Vec<_> = (0..(if cfg!(miri) { 100 } else { 1000 })).map(|_| List::new()).collect();
    gen_gc::collect_generation(0).unwrap();
    assert_eq!(gen_gc::get_count().0, 0);
    gen_gc::collect_generation(1).unwrap();
    let (young, increments, passes) = gen_gc::get_count();
    assert_eq!(young, 0);
    assert!(increments + passes >= 1, "an increment is counted: {increments}, {passes}");
    let mut n = 0;
    while gen_gc::get_count().2 == 0 {
        gen_gc::collect_generation(1).unwrap();
        n += 1;
        assert!(n < 1000, "a pass never ended");
    }
    gen_gc::collect();
    assert_eq!(gen_gc::get_count(), (0, 0, 0));
    drop(keep);
}

#[test]
fn switching_policies_keeps_every_object_in_a_generation() {
    // GCTests.test_get_objects_generations across `set_collection_policy`: no object is
    // lost from `get_objects` and garbage is still found.
    gen_gc::set_collection_policy(CollectionPolicy::Incremental);
    let a = List::new();
    gen_gc::collect_generation(0).unwrap();
    let b = List::new();
    gen_gc::collect_generation(1).unwrap();
    let c = List::new();
    let promoted = List::new();
    promoted.append(any(&promoted));
    gen_gc::collect_generation(0).unwrap();
    drop(promoted);
    garbage_ring(2);
    gen_gc::set_collection_policy(CollectionPolicy::Generational);
    for o in [&a, &b, &c] {
        assert!(gen_gc::get_objects(None).contains(&any(o)));
        assert_eq!((0..3).filter(|&g| gen_gc::get_objects(Some(g)).contains(&any(o))).count(), 1);
    }
    assert_eq!(gen_gc::collect(), 3);
    let promoted = List::new();
    promoted.append(any(&promoted));
    gen_gc::collect_generation(0).unwrap();
    gen_gc::collect_generation(1).unwrap();
    drop(promoted);
    garbage_ring(5);
    gen_gc::set_collection_policy(CollectionPolicy::Incremental);
    assert_eq!(gen_gc::collect(), 6);
    for o in [&a, &b, &c] {
        assert!(gen_gc::get_objects(Some(2)).contains(&any(o)));
    }
}

#[test]
fn debug_leak_reports_and_saves_the_garbage() {
    // GCTests.test_saveall with `gc.DEBUG_LEAK`: collectable lines, and the objects saved.
    let out = common::capture_debug_output();
    gen_gc::set_debug(gen_gc::DEBUG_LEAK);
    garbage_ring(2);
    assert_eq!(gen_gc::collect(), 2);
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    gen_gc::set_debug_output(None);
    assert_eq!(out.borrow().matches("gc: collectable <List 0x").count(), 2, "{}", out.borrow());
    let garbage = gen_gc::take_garbage();
    assert_eq!(garbage.len(), 2);
    for o in garbage {
        o.downcast::<List>().unwrap().0.borrow_mut().clear();
    }
}

#[test]
fn debug_uncollectable_names_the_legacy_garbage() {
    // GCTests.test_legacy_finalizer with `gc.DEBUG_UNCOLLECTABLE`, and `DEBUG_STATS`' line.
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    let out = common::capture_debug_output();
    gen_gc::set_debug(gen_gc::DEBUG_UNCOLLECTABLE | gen_gc::DEBUG_STATS);
    let finalized = Rc::new(Cell::new(0));
    drop(del_self_cycle(&finalized));
    garbage_ring(2);
    assert_eq!(gen_gc::collect(), 3);
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    gen_gc::set_debug_output(None);
    let text = out.borrow().clone();
    assert_eq!(text.matches("gc: uncollectable <Del 0x").count(), 1, "{text}");
    assert!(text.contains("gc: done, 3 unreachable, 1 uncollectable, "), "{text}");
    for o in gen_gc::take_garbage() {
        o.downcast::<Del>().unwrap().items.borrow_mut().clear();
    }
    gen_gc::set_finalizer_policy(FinalizerPolicy::Pep442);
}

#[test]
fn garbage_made_by_a_start_callback_is_collected_by_that_collection() {
    // GCCallbackTests: start callbacks run before the collection, which examines what they
    // made, as CPython's `gc.collect()` examines generation 0 after `invoke_gc_callback`.
    for policy in [CollectionPolicy::Generational, CollectionPolicy::Incremental] {
        gen_gc::set_collection_policy(policy);
        gen_gc::collect();
        let made = Rc::new(Cell::new(false));
        let m = made.clone();
        let id = gen_gc::add_callback(move |phase, _| {
            if phase == Phase::Start && !m.replace(true) {
                garbage_ring(2);
            }
        });
        garbage_ring(3);
        let found = gen_gc::collect();
        gen_gc::remove_callback(id);
        assert_eq!(found, 5, "{policy:?}");
    }
}

/// Garbage that holds a weak reference: an object in a self-cycle.
#[derive(Trace)]
struct WeakHolder {
    me: RefCell<Option<Gc<WeakHolder>>>,
    weak: Weak<List>,
}

/// Makes garbage holding `weak`; returns a weak reference to it.
fn garbage_holding(weak: Weak<List>) -> Weak<WeakHolder> {
    let holder = Gc::new(WeakHolder { me: RefCell::new(None), weak });
    *holder.me.borrow_mut() = Some(holder.clone());
    Gc::downgrade(&holder)
}

/// A weak reference to `target` whose callback counts its calls, and the count.
fn counted_weak(target: &Gc<List>) -> (Weak<List>, Rc<Cell<usize>>) {
    let called = Rc::new(Cell::new(0));
    let c = called.clone();
    (Gc::downgrade_with_callback(target, move |_| c.set(c.get() + 1)), called)
}

#[test]
fn a_weak_reference_held_by_garbage_and_from_outside_runs_its_callback() {
    // GCTests.test_bug1055820b and CPython's `handle_weakrefs`: a callback is skipped only
    // when its weak reference is itself trash. A clone held outside the garbage keeps the
    // weak reference reachable, so its callback runs.
    let target = List::new();
    target.append(any(&target));
    let (weak, called) = counted_weak(&target);
    garbage_holding(weak.clone());
    drop(target);
    assert_eq!(gen_gc::collect(), 2);
    assert!(weak.is_dead());
    assert_eq!(called.get(), 1, "the weak reference is reachable through `weak`, so its callback runs");
}

#[test]
fn a_weak_reference_shared_with_garbage_keeps_its_callback_for_later() {
    // CPython's `handle_weakrefs`: only a weak reference that is itself trash loses its
    // callback. Here garbage held a clone of a weak reference to a live object; the clone
    // kept outside still calls back when the object dies later.
    let target = List::new();
    let (weak, called) = counted_weak(&target);
    let holder = garbage_holding(weak.clone());
    assert_eq!(gen_gc::collect(), 1);
    assert!(holder.is_dead());
    drop(target);
    assert!(weak.is_dead());
    assert_eq!(called.get(), 1, "the callback was lost with the garbage's clone");
}

#[test]
fn a_weak_reference_only_garbage_holds_loses_its_callback() {
    // GCTests.test_bug1055820b and test_trash_weakref_clear: garbage holding every handle of
    // a weak reference to other garbage (two clones here) keeps its callback from running.
    let target = List::new();
    target.append(any(&target));
    let (weak, called) = counted_weak(&target);
    garbage_holding(weak.clone());
    garbage_holding(weak);
    drop(target);
    assert_eq!(gen_gc::collect(), 3);
    assert_eq!(called.get(), 0);
}

#[test]
fn a_resurrected_object_keeps_the_callback_of_its_weak_reference() {
    // GCTests.test_resurrection_is_transitive with CPython's `handle_weakrefs`: a weak
    // reference to a live object, held by garbage that a finalizer resurrects, still calls
    // back when its object dies later.
    thread_local!(static SAVED: RefCell<Option<Gc<Phoenix>>> = const { RefCell::new(None) });
    #[derive(Trace)]
    #[trace(finalize)]
    struct Phoenix {
        me: RefCell<Option<Gc<Phoenix>>>,
        weak: Weak<List>,
    }
    impl Finalize for Phoenix {
        fn finalize(&self) {
            SAVED.with(|s| *s.borrow_mut() = self.me.borrow().clone());
        }
    }
    let called = Rc::new(Cell::new(0));
    let c = called.clone();
    let target = List::new();
    let phoenix = Gc::new(Phoenix {
        me: RefCell::new(None),
        weak: Gc::downgrade_with_callback(&target, move |_| c.set(c.get() + 1)),
    });
    *phoenix.me.borrow_mut() = Some(phoenix.clone());
    let _watch = Gc::downgrade(&phoenix);
    drop(phoenix);
    assert_eq!(gen_gc::collect(), 0, "resurrected");
    drop(target);
    assert_eq!(called.get(), 1, "the resurrected object's weak reference lost its callback");
    SAVED.with(|s| s.borrow_mut().take().unwrap().me.borrow_mut().take());
}

#[test]
fn a_stop_callback_may_empty_garbage_and_break_the_cycles() {
    // GCCallbackTests.test_collect_garbage as CPython writes it: the stop callback takes
    // `gc.garbage` and breaks the uncollectable cycles, which then die by reference counting
    // inside the callback, their finalizers running once.
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    let finalized = Rc::new(Cell::new(0));
    let id = gen_gc::add_callback(|phase, info| {
        if phase == Phase::Stop && info.uncollectable > 0 {
            for o in gen_gc::take_garbage() {
                o.downcast::<Del>().unwrap().items.borrow_mut().clear();
            }
        }
    });
    for _ in 0..3 {
        drop(del_self_cycle(&finalized));
    }
    assert_eq!(gen_gc::collect(), 3);
    gen_gc::remove_callback(id);
    assert_eq!(finalized.get(), 3);
    assert!(gen_gc::garbage().is_empty());
    assert_eq!(gen_gc::collect(), 0);
    gen_gc::set_finalizer_policy(FinalizerPolicy::Pep442);
}

#[test]
fn a_panicking_finalizer_counts_as_run() {
    // test_finalization's `check_sanity` and CPython's `_PyGC_SET_FINALIZED` before
    // `tp_finalize`: a finalizer that fails is not called again.
    thread_local!(static KEPT: RefCell<Option<Gc<Bad>>> = const { RefCell::new(None) });
    #[derive(Trace)]
    #[trace(finalize)]
    struct Bad {
        me: RefCell<Option<Gc<Bad>>>,
        #[trace(skip)]
        calls: Rc<Cell<usize>>,
    }
    impl Finalize for Bad {
        fn finalize(&self) {
            self.calls.set(self.calls.get() + 1);
            KEPT.with(|k| *k.borrow_mut() = self.me.borrow().clone());
            panic!("a failing __del__");
        }
    }
    let out = common::capture_debug_output();
    let calls = Rc::new(Cell::new(0));
    let bad = Gc::new(Bad { me: RefCell::new(None), calls: calls.clone() });
    *bad.me.borrow_mut() = Some(bad.clone());
    drop(bad);
    assert_eq!(gen_gc::collect(), 0, "it resurrected itself before failing");
    let back = KEPT.with(|k| k.borrow_mut().take()).unwrap();
    assert!(gen_gc::is_finalized(&back));
    drop(back);
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(calls.get(), 1);
    gen_gc::set_debug_output(None);
    assert!(out.borrow().contains("a failing __del__"), "{}", out.borrow());
}

#[test]
fn drops_run_by_a_collection_may_use_the_gc_module() {
    // test_finalization with the `gc` functions called from a value's destructor while the
    // collector deletes garbage: none of them sees the garbage or breaks the collection.
    #[derive(Trace)]
    struct Noisy {
        me: RefCell<Option<Gc<Noisy>>>,
        #[trace(skip)]
        id: Cell<Option<cyclegc::ObjectId>>,
        #[trace(skip)]
        seen: Rc<Cell<bool>>,
    }
    impl Drop for Noisy {
        fn drop(&mut self) {
            assert_eq!(gen_gc::collect(), 0);
            let listed = gen_gc::get_objects(None).iter().any(|o| Some(o.id()) == self.id.get());
            self.seen.set(self.seen.get() | listed);
            gen_gc::freeze();
            gen_gc::unfreeze();
            garbage_ring(2);
        }
    }
    let seen = Rc::new(Cell::new(false));
    let n = Gc::new(Noisy { me: RefCell::new(None), id: Cell::new(None), seen: seen.clone() });
    n.id.set(Some(Gc::id(&n)));
    *n.me.borrow_mut() = Some(n.clone());
    drop(n);
    assert_eq!(gen_gc::collect(), 1);
    assert!(!seen.get(), "the destructor found its own object in get_objects");
    assert_eq!(gen_gc::collect(), 2, "the ring the destructor made");
}

#[test]
fn the_gc_functions_work_as_a_thread_first_calls_them() {
    // GCTests.test_freeze and test_get_count, on a fresh thread's heap: any `gc` function may
    // be the first one called.
    let answers = std::thread::spawn(|| {
        let frozen = gen_gc::get_freeze_count();
        let count = gen_gc::get_count();
        let objects = gen_gc::get_objects(None).len();
        let garbage = gen_gc::garbage().len();
        (frozen, count, objects, garbage)
    })
    .join()
    .unwrap();
    assert_eq!(answers, (0, (0, 0, 0), 0, 0));
    let collected = std::thread::spawn(|| {
        garbage_ring(2);
        gen_gc::collect()
    })
    .join()
    .unwrap();
    assert_eq!(collected, 2);
}

#[test]
fn collectable_objects_are_listed_before_their_weak_callbacks_and_the_uncollectable_after() {
    // gc_collect_main's order: the `collectable` lines, then the weak callbacks
    // (handle_weakrefs), the deletion, then the `uncollectable` lines, and `garbage` gets the
    // collectable objects (SAVEALL) before the legacy uncollectable ones.
    let out = common::capture_debug_output();
    let a = List::new();
    a.append(any(&a));
    let seen = Rc::clone(&out);
    let _weak = Gc::downgrade_with_callback(&a, move |_| seen.borrow_mut().push_str("weak callback\n"));
    gen_gc::set_debug(gen_gc::DEBUG_COLLECTABLE);
    drop(a);
    assert_eq!(gen_gc::collect(), 1);
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    let text = out.borrow().clone();
    let collectable = text.find("gc: collectable <List").expect("a collectable line");
    assert!(collectable < text.find("weak callback").expect("the callback ran"), "{text}");

    out.borrow_mut().clear();
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    gen_gc::set_debug(gen_gc::DEBUG_LEAK);
    let finalized = Rc::new(Cell::new(0));
    let d = Del::new(&finalized);
    d.items.borrow_mut().push(any(&d));
    let plain = List::new();
    plain.append(any(&plain));
    drop((d, plain));
    gen_gc::collect();
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    gen_gc::set_finalizer_policy(FinalizerPolicy::Pep442);
    let text = out.borrow().clone();
    let collectable = text.find("gc: collectable <List").expect("a collectable line");
    assert!(collectable < text.find("gc: uncollectable <Del").expect("an uncollectable line"), "{text}");
    let garbage = gen_gc::take_garbage();
    let names: Vec<String> = garbage.iter().map(|o| o.type_info().short_name()).collect();
    assert_eq!(names, ["List", "Del"]);
    for o in &garbage {
        if let Some(l) = o.downcast::<List>() {
            l.0.borrow_mut().clear();
        }
        if let Some(d) = o.downcast::<Del>() {
            d.items.borrow_mut().clear();
        }
    }
}
