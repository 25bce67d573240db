//! Ports of the language-independent cases of CPython's `Lib/test/test_gc.py`, named after
//! the cases they port. Python lists, dicts and instances become `Gc`s of Rust types.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use cyclegc::{Finalize, Gc, GcAny, Trace, Weak};
use gen_gc::{CollectionPolicy, DebugFlags, FinalizerPolicy, GcError, Phase};

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

/// A Python dict.
#[derive(Trace, Default)]
struct Dict(RefCell<HashMap<u32, GcAny>>);

/// A Python instance with attributes.
#[derive(Trace, Default)]
struct Instance {
    attrs: RefCell<HashMap<&'static str, GcAny>>,
}

impl Instance {
    fn new() -> Gc<Instance> {
        Gc::new(Instance::default())
    }
    fn set(&self, name: &'static str, value: GcAny) {
        self.attrs.borrow_mut().insert(name, value);
    }
}

/// An instance with `__del__`.
#[derive(Trace, Default)]
#[trace(finalize)]
struct WithDel {
    attrs: RefCell<HashMap<&'static str, GcAny>>,
    log: RefCell<Option<Rc<RefCell<Vec<&'static str>>>>>,
}

impl Finalize for WithDel {
    fn finalize(&self) {
        if let Some(log) = self.log.borrow().as_ref() {
            log.borrow_mut().push("__del__");
        }
    }
}

fn any<T: Trace>(gc: &Gc<T>) -> GcAny {
    Gc::to_any(gc)
}

#[test]
fn test_list() {
    let l = List::new();
    l.append(any(&l));
    gen_gc::collect();
    drop(l);
    assert_eq!(gen_gc::collect(), 1);
}

#[test]
fn test_dict() {
    let d = Gc::new(Dict::default());
    d.0.borrow_mut().insert(1, any(&d));
    gen_gc::collect();
    drop(d);
    assert_eq!(gen_gc::collect(), 1);
}

#[test]
fn test_tuple() {
    // A tuple holding a list that holds the tuple.
    let l = List::new();
    let t = Gc::new((any(&l),));
    l.append(any(&t));
    gen_gc::collect();
    drop(t);
    drop(l);
    assert_eq!(gen_gc::collect(), 2);
}

#[test]
fn test_instance() {
    let a = Instance::new();
    a.set("a", any(&a));
    gen_gc::collect();
    drop(a);
    assert_ne!(gen_gc::collect(), 0);
}

#[test]
fn test_legacy_finalizer() {
    // A cycle with a finalizer under Python 2.7's rules: uncollectable, kept in garbage.
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    let a = Gc::new(WithDel::default());
    a.attrs.borrow_mut().insert("a", any(&a));
    let id_a = Gc::id(&a);
    let b = Instance::new();
    b.set("b", any(&b));
    gen_gc::collect();
    drop((a, b));
    assert_ne!(gen_gc::collect(), 0);
    let garbage = gen_gc::take_garbage();
    assert!(garbage.iter().any(|obj| obj.id() == id_a), "the finalizer cycle is in garbage");
    assert_eq!(garbage.len(), 1, "the cycle without a finalizer was collected");
    // Break the cycle by hand, as the article says, and it goes.
    let a = garbage.into_iter().next().unwrap().downcast::<WithDel>().unwrap();
    assert!(!Gc::is_finalized(&a));
    a.attrs.borrow_mut().clear();
    let watch = Gc::downgrade(&a);
    drop(a);
    assert!(watch.upgrade().is_none());
    gen_gc::set_finalizer_policy(FinalizerPolicy::Pep442);
}

#[test]
fn test_legacy_finalizer_keeps_what_it_reaches() {
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    let a = Gc::new(WithDel::default());
    let reached = Instance::new();
    reached.set("back", any(&a));
    a.attrs.borrow_mut().insert("to", any(&reached));
    let watch = Gc::downgrade(&reached);
    drop((a, reached));
    assert_eq!(gen_gc::collect(), 2);
    assert!(watch.upgrade().is_some());
    assert_eq!(gen_gc::garbage().len(), 1, "garbage holds the finalizer object; it holds the rest");
    assert_eq!(gen_gc::collect(), 0, "held by garbage, the cycle is no longer unreachable");
    for obj in gen_gc::take_garbage() {
        obj.downcast::<WithDel>().unwrap().attrs.borrow_mut().clear();
    }
    assert!(watch.upgrade().is_none(), "broken by hand, the cycle went");
    gen_gc::set_finalizer_policy(FinalizerPolicy::Pep442);
}

#[test]
fn test_saveall() {
    gen_gc::collect();
    assert!(gen_gc::garbage().is_empty());
    let l = List::new();
    l.append(any(&l));
    let id_l = Gc::id(&l);
    let debug = gen_gc::get_debug();
    gen_gc::set_debug(debug | gen_gc::DEBUG_SAVEALL);
    drop(l);
    gen_gc::collect();
    gen_gc::set_debug(debug);
    let mut garbage = gen_gc::take_garbage();
    assert_eq!(garbage.len(), 1);
    let obj = garbage.pop().unwrap();
    assert_eq!(obj.id(), id_l, "an id survives DEBUG_SAVEALL: the object was not freed");
    let l = obj.downcast::<List>().unwrap();
    l.0.borrow_mut().clear();
}

#[test]
fn test_del() {
    // A finalizer that turns the collector off and on during a collection.
    #[derive(Trace)]
    #[trace(finalize)]
    struct Toggler {
        me: RefCell<Option<Gc<Toggler>>>,
    }
    impl Finalize for Toggler {
        fn finalize(&self) {
            gen_gc::disable();
            assert_eq!(gen_gc::collect(), 0, "a collection during a collection does nothing");
            gen_gc::enable();
        }
    }
    let t = Gc::new(Toggler { me: RefCell::new(None) });
    *t.me.borrow_mut() = Some(t.clone());
    drop(t);
    assert_eq!(gen_gc::collect(), 1);
    assert!(gen_gc::is_enabled());
}

#[test]
fn test_get_count() {
    gen_gc::collect();
    let (a, b, c) = gen_gc::get_count();
    let _x = List::new();
    let (d, e, f) = gen_gc::get_count();
    assert_eq!((b, c), (0, 0));
    assert_eq!((e, f), (0, 0));
    assert!(a < 5);
    assert!(d > a);
}

#[test]
fn test_collect_generations() {
    gen_gc::collect();
    let _x = List::new();
    gen_gc::collect_generation(0).unwrap();
    let (a, b, c) = gen_gc::get_count();
    gen_gc::collect_generation(1).unwrap();
    let (d, e, f) = gen_gc::get_count();
    gen_gc::collect_generation(2).unwrap();
    let (g, h, i) = gen_gc::get_count();
    if incremental() {
        // Counts of increments in the pass and of passes: the increment took the whole old
        // generation (one object), which completed a pass.
        assert_eq!((b, c), (0, 0));
    } else {
        assert_eq!((b, c), (1, 0));
    }
    assert_eq!((e, f), (0, 1));
    assert_eq!((h, i), (0, 0));
    assert!(a < 5 && d < 5 && g < 5);
}

/// Whether the suite runs under the incremental policy (`CYCLEGC_COLLECTION_POLICY`).
fn incremental() -> bool {
    gen_gc::get_collection_policy() == CollectionPolicy::Incremental
}

#[test]
fn test_collect_generation_rejects_bad_generations() {
    assert_eq!(gen_gc::collect_generation(3), Err(GcError::InvalidGeneration(3)));
    assert!(gen_gc::collect_generation(3).unwrap_err().to_string().contains("invalid generation"));
}

#[test]
fn test_trashcan() {
    // Deep garbage: a long ring and a long chain hanging off it die without recursion.
    let n = if cfg!(miri) {
        100
    } else {
        std::env::var("CYCLEGC_TEST_SCALE").ok().and_then(|s| s.parse().ok()).map_or(200_000, |d: usize| 200_000 / d)
    };
    let first = List::new();
    let mut last = first.clone();
    for _ in 0..n {
        let next = List::new();
        last.append(any(&next));
        last = next;
    }
    last.append(any(&first));
    drop((first, last));
    assert_eq!(gen_gc::collect(), n + 1);
}

#[test]
fn test_get_referents() {
    let alist = Gc::new(vec![Gc::new(1_u32), Gc::new(2), Gc::new(3)]);
    let got: Vec<u32> = gen_gc::get_referents(&alist).into_iter().map(|o| *o.downcast::<u32>().unwrap()).collect();
    assert_eq!(got, [1, 2, 3]);
    let leaf = Gc::new(42_u64);
    assert!(gen_gc::get_referents(&leaf).is_empty());
    assert!(gen_gc::get_referents::<[GcAny]>(&[]).is_empty());
}

#[test]
fn get_referents_takes_one_object_or_several() {
    let a = Gc::new(vec![Gc::new(1_u32)]);
    let b = Gc::new(vec![Gc::new(2_u32), Gc::new(3)]);
    let values = |objects: Vec<GcAny>| objects.iter().map(|o| *o.downcast::<u32>().unwrap()).collect::<Vec<_>>();
    assert_eq!(values(gen_gc::get_referents(&a)), [1], "a Gc<T>");
    assert_eq!(values(gen_gc::get_referents(&any(&b))), [2, 3], "a GcAny");
    assert_eq!(values(gen_gc::get_referents(&[a.clone(), b.clone()])), [1, 2, 3], "an array of Gc<T>");
    let objects = vec![any(&a), any(&b)];
    assert_eq!(values(gen_gc::get_referents(&objects)), [1, 2, 3], "a Vec<GcAny>");
    assert_eq!(values(gen_gc::get_referents(&objects[1..])), [2, 3], "a slice");
    assert_eq!(values(gen_gc::get_referents(&[any(&b)])), [2, 3], "an array of GcAny");
    let referents = any(&b).referents();
    assert_eq!(values(gen_gc::get_referents(&referents[0])), Vec::<u32>::new(), "a Referent");
}

#[test]
fn test_get_referrers() {
    let target = Instance::new();
    let holder = Instance::new();
    holder.set("x", any(&target));
    let list = List::new();
    list.append(any(&target));
    let referrers = gen_gc::get_referrers(&target);
    assert_eq!(referrers.len(), 2);
    assert!(referrers.contains(&any(&holder)));
    assert!(referrers.contains(&any(&list)));
}

#[test]
fn get_referrers_takes_one_object_or_several() {
    let first = Instance::new();
    let second = Instance::new();
    let holder = Instance::new();
    holder.set("first", any(&first));
    let list = List::new();
    list.append(any(&second));
    assert_eq!(gen_gc::get_referrers(&first), [any(&holder)], "a Gc<T>");
    assert_eq!(gen_gc::get_referrers(&any(&second)), [any(&list)], "a GcAny");
    let objects = vec![any(&first), any(&second)];
    for referrers in [
        gen_gc::get_referrers(&objects),
        gen_gc::get_referrers(objects.as_slice()),
        gen_gc::get_referrers(&[first.clone(), second.clone()]),
    ] {
        assert_eq!(referrers.len(), 2);
        assert!(referrers.contains(&any(&holder)) && referrers.contains(&any(&list)));
    }
}

#[test]
fn test_is_tracked() {
    assert!(!gen_gc::is_tracked(&Gc::new(1_u8)));
    assert!(!gen_gc::is_tracked(&Gc::new(String::from("a"))));
    assert!(!gen_gc::is_tracked(&Gc::new(vec![1_u8, 2])));
    assert!(gen_gc::is_tracked(&List::new()));
    assert!(gen_gc::is_tracked(&Gc::new(vec![Gc::new(1_u8)])));
    assert!(gen_gc::is_tracked(&Instance::new()));
    assert!(!gen_gc::is_tracked(&any(&Gc::new(1_u8))), "a GcAny");
    assert!(gen_gc::is_tracked(&any(&Instance::new())), "a GcAny");
    let text: Gc<str> = Gc::from("text");
    assert!(!gen_gc::is_tracked(&text), "an unsized Gc");
}

#[test]
fn test_is_finalized() {
    // Objects that resurrect themselves are finalized once, and stay so.
    thread_local!(static STORAGE: RefCell<Option<Gc<Lazarus>>> = const { RefCell::new(None) });
    #[derive(Trace)]
    #[trace(finalize)]
    struct Lazarus {
        me: RefCell<Option<Gc<Lazarus>>>,
        weak_me: RefCell<Weak<Lazarus>>,
    }
    impl Finalize for Lazarus {
        fn finalize(&self) {
            assert!(self.weak_me.borrow().upgrade().is_none(), "weak references to garbage read dead");
            let me = self.me.borrow().clone();
            STORAGE.with(|s| *s.borrow_mut() = me);
        }
    }
    let lazarus = Gc::new(Lazarus { me: RefCell::new(None), weak_me: RefCell::new(Weak::new()) });
    *lazarus.me.borrow_mut() = Some(lazarus.clone());
    *lazarus.weak_me.borrow_mut() = Gc::downgrade(&lazarus);
    assert!(!gen_gc::is_finalized(&lazarus));
    drop(lazarus);
    gen_gc::collect();
    let back = STORAGE.with(|s| s.borrow_mut().take()).expect("the finalizer resurrected it");
    assert!(gen_gc::is_finalized(&back));
    assert!(gen_gc::is_finalized(&any(&back)), "a GcAny");
    back.me.borrow_mut().take();
    drop(back);
    assert_eq!(gen_gc::collect(), 0, "broken by hand, it went by reference counting");
    assert!(STORAGE.with(|s| s.borrow().is_none()), "and its finalizer did not run again");
}

#[test]
fn test_bug1055820b() {
    // Weak reference callbacks during a collection never see trash alive.
    #[derive(Trace)]
    struct C1055820 {
        i: u32,
        loop_: RefCell<Option<Gc<C1055820>>>,
    }
    let ouch = Rc::new(RefCell::new(Vec::new()));
    let c1 = Gc::new(C1055820 { i: 0, loop_: RefCell::new(None) });
    *c1.loop_.borrow_mut() = Some(c1.clone());
    let c2 = Gc::new(C1055820 { i: 1, loop_: RefCell::new(Some(c1.clone())) });
    let c0 = Gc::new(C1055820 { i: 2, loop_: RefCell::new(Some(c1.clone())) });
    *c1.loop_.borrow_mut() = Some(c2.clone());
    let seen = ouch.clone();
    let wr = Gc::downgrade_with_callback(&c0, move |w| seen.borrow_mut().push(w.upgrade().map(|c| c.i)));
    drop((c0, c1, c2));
    gen_gc::collect();
    for entry in ouch.borrow().iter() {
        assert_eq!(*entry, None, "a callback saw trash alive");
    }
    drop(wr);
}

#[test]
fn test_callbacks_of_trash_weak_references_never_run() {
    #[derive(Trace)]
    struct Holder {
        other: RefCell<Option<Gc<Holder>>>,
        weak: RefCell<Option<Weak<Holder>>>,
    }
    let calls = Rc::new(Cell::new(0));
    let a = Gc::new(Holder { other: RefCell::new(None), weak: RefCell::new(None) });
    let b = Gc::new(Holder { other: RefCell::new(Some(a.clone())), weak: RefCell::new(None) });
    *a.other.borrow_mut() = Some(b.clone());
    let seen = calls.clone();
    // `a` holds a weak reference to `b` with a callback: the weak reference is itself trash.
    *a.weak.borrow_mut() = Some(Gc::downgrade_with_callback(&b, move |_| seen.set(seen.get() + 1)));
    let outside = calls.clone();
    let kept = Gc::downgrade_with_callback(&a, move |_| outside.set(outside.get() + 10));
    drop((a, b));
    assert_eq!(gen_gc::collect(), 2);
    assert_eq!(calls.get(), 10, "only the callback of the weak reference held outside the trash ran");
    drop(kept);
}

#[test]
fn test_bug21435() {
    // A finalizer in a cycle that runs a collection itself.
    #[derive(Trace)]
    #[trace(finalize)]
    struct B {
        partner: RefCell<Option<Gc<B>>>,
    }
    impl Finalize for B {
        fn finalize(&self) {
            gen_gc::collect();
        }
    }
    let a = Gc::new(B { partner: RefCell::new(None) });
    let b = Gc::new(B { partner: RefCell::new(Some(a.clone())) });
    *a.partner.borrow_mut() = Some(b.clone());
    drop((a, b));
    assert_eq!(gen_gc::collect(), 2);
    assert_eq!(gen_gc::collect(), 0);
}

#[test]
fn test_get_stats() {
    let stats = gen_gc::get_stats();
    assert_eq!(stats.len(), 3);
    let old = gen_gc::get_stats();
    gen_gc::collect_generation(0).unwrap();
    let new = gen_gc::get_stats();
    assert_eq!(new[0].collections, old[0].collections + 1);
    assert_eq!(new[1].collections, old[1].collections);
    assert_eq!(new[2].collections, old[2].collections);
    gen_gc::collect_generation(2).unwrap();
    let newer = gen_gc::get_stats();
    assert_eq!(newer[0].collections, new[0].collections);
    assert_eq!(newer[2].collections, new[2].collections + 1);
    let l = List::new();
    l.append(any(&l));
    drop(l);
    gen_gc::collect();
    assert_eq!(gen_gc::get_stats()[2].collected, newer[2].collected + 1);
}

#[test]
fn test_freeze() {
    let kept = List::new();
    gen_gc::freeze();
    assert!(gen_gc::get_freeze_count() > 0);
    kept.append(any(&kept));
    let watch = Gc::downgrade(&kept);
    drop(kept);
    assert_eq!(gen_gc::collect(), 0, "frozen objects are not examined");
    assert!(watch.upgrade().is_some());
    gen_gc::unfreeze();
    assert_eq!(gen_gc::get_freeze_count(), 0);
    assert_eq!(gen_gc::collect(), 1);
    assert!(watch.upgrade().is_none());
}

#[test]
fn test_get_objects() {
    gen_gc::collect();
    let l = List::new();
    let in_gen = |g| gen_gc::get_objects(Some(g)).contains(&any(&l));
    assert!(in_gen(0));
    assert!(!in_gen(1) && !in_gen(2));
    gen_gc::collect_generation(0).unwrap();
    if incremental() {
        // Python 3.14: two generations, young and old; generation 1 lists nothing.
        assert!(!in_gen(0) && !in_gen(1) && in_gen(2));
    } else {
        assert!(!in_gen(0) && in_gen(1) && !in_gen(2));
    }
    gen_gc::collect_generation(1).unwrap();
    assert!(!in_gen(0) && !in_gen(1) && in_gen(2));
    gen_gc::collect_generation(2).unwrap();
    assert!(in_gen(2));
    assert!(gen_gc::get_objects(None).contains(&any(&l)));
    let leaf = Gc::new(5_u32);
    assert!(!gen_gc::get_objects(None).contains(&any(&leaf)), "leaves are untracked");
}

#[test]
fn test_get_objects_arguments() {
    assert_eq!(gen_gc::try_get_objects(Some(3)).unwrap_err(), GcError::InvalidGeneration(3));
    assert_eq!(gen_gc::try_get_objects(Some(1000)).unwrap_err(), GcError::InvalidGeneration(1000));
    let l = List::new();
    assert!(gen_gc::try_get_objects(None).unwrap().contains(&any(&l)));
}

#[test]
#[should_panic(expected = "gen_gc::get_objects: invalid generation 3")]
fn get_objects_panics_for_a_bad_generation() {
    gen_gc::get_objects(Some(3));
}

// `test_resurrection_*`: a class whose finalizer stores its instance in a global list.
thread_local!(static RESURRECTED: RefCell<Vec<GcAny>> = const { RefCell::new(Vec::new()) });

#[derive(Trace)]
#[trace(finalize)]
struct Resurrect {
    me: RefCell<Option<Gc<Resurrect>>>,
    cargo: RefCell<Option<Gc<Instance>>>,
    finalized: Rc<Cell<usize>>,
}

impl Finalize for Resurrect {
    fn finalize(&self) {
        self.finalized.set(self.finalized.get() + 1);
        if let Some(me) = self.me.borrow().as_ref() {
            RESURRECTED.with(|r| r.borrow_mut().push(Gc::to_any(me)));
        }
    }
}

fn resurrecting_cycle(finalized: &Rc<Cell<usize>>) -> Gc<Resurrect> {
    let obj = Gc::new(Resurrect {
        me: RefCell::new(None),
        cargo: RefCell::new(Some(Instance::new())),
        finalized: finalized.clone(),
    });
    *obj.me.borrow_mut() = Some(obj.clone());
    obj
}

#[test]
fn test_resurrection_only_happens_once_per_object() {
    let finalized = Rc::new(Cell::new(0));
    let a = resurrecting_cycle(&finalized);
    let watch = Gc::downgrade(&a);
    drop(a);
    gen_gc::collect();
    assert_eq!(finalized.get(), 1);
    let back = RESURRECTED.with(|r| r.borrow_mut().pop()).expect("resurrected");
    assert!(back.is_finalized());
    drop(back);
    assert!(watch.upgrade().is_none(), "weak references were cleared at the first collection");
    // The object is still a cycle: the next collection frees it without finalizing again.
    assert_eq!(gen_gc::collect(), 2);
    assert_eq!(finalized.get(), 1);
    assert!(RESURRECTED.with(|r| r.borrow().is_empty()));
}

#[test]
fn test_resurrection_is_transitive() {
    let finalized = Rc::new(Cell::new(0));
    let a = resurrecting_cycle(&finalized);
    let cargo = Gc::downgrade(a.cargo.borrow().as_ref().unwrap());
    drop(a);
    gen_gc::collect();
    let back = RESURRECTED.with(|r| r.borrow_mut().pop()).expect("resurrected");
    let back = back.try_downcast::<Resurrect>().unwrap();
    assert!(back.cargo.borrow().is_some(), "what the resurrected object holds is intact");
    assert!(cargo.upgrade().is_none(), "weak references into the trash were cleared all the same");
    back.me.borrow_mut().take();
    drop(back);
    assert_eq!(gen_gc::collect(), 0, "breaking the cycle let reference counting free it");
}

/// CPython's `A`: a simple self-loop.
#[derive(Trace)]
struct SelfLoop {
    me: RefCell<Option<Gc<SelfLoop>>>,
}

fn self_loop() {
    let a = Gc::new(SelfLoop { me: RefCell::new(None) });
    *a.me.borrow_mut() = Some(a.clone());
}

/// CPython's `Z`: a self-loop whose finalizer resurrects it into `ZS`.
#[derive(Trace)]
#[trace(finalize)]
struct Resurrector {
    me: RefCell<Option<Gc<Resurrector>>>,
}

thread_local!(static ZS: RefCell<Vec<Gc<Resurrector>>> = const { RefCell::new(Vec::new()) });

impl Finalize for Resurrector {
    fn finalize(&self) {
        let me = self.me.borrow().clone().expect("a self-loop");
        ZS.with(|zs| zs.borrow_mut().push(me));
    }
}

fn resurrector() {
    let z = Gc::new(Resurrector { me: RefCell::new(None) });
    *z.me.borrow_mut() = Some(z.clone());
}

#[test]
fn test_resurrection_does_not_block_cleanup_of_other_objects() {
    // Resurrected objects are not counted as collected, by `collect()` or in `get_stats()`.
    const N: usize = 100;
    let stats = || {
        let stats = gen_gc::get_stats();
        let last = stats[stats.len() - 1];
        (last.collected, last.uncollectable)
    };
    gen_gc::collect();
    gen_gc::disable();

    // No problems if just collecting self-loops.
    let (old_collected, old_uncollectable) = stats();
    (0..N).for_each(|_| self_loop());
    assert_eq!(gen_gc::collect(), N);
    let (collected, uncollectable) = stats();
    assert_eq!((collected - old_collected, uncollectable - old_uncollectable), (N, 0));

    // A resurrector is not actually collected: nothing is.
    let (old_collected, old_uncollectable) = (collected, uncollectable);
    resurrector();
    assert_eq!(gen_gc::collect(), 0);
    let (collected, uncollectable) = stats();
    assert_eq!((collected - old_collected, uncollectable - old_uncollectable), (0, 0));

    // It does not keep anything else from being collected.
    let (old_collected, old_uncollectable) = (collected, uncollectable);
    (0..N).for_each(|_| self_loop());
    resurrector();
    assert_eq!(gen_gc::collect(), N);
    let (collected, uncollectable) = stats();
    assert_eq!((collected - old_collected, uncollectable - old_uncollectable), (N, 0));

    // The two resurrected ones, let go, are freed (their finalizers ran already).
    let (old_collected, old_uncollectable) = (collected, uncollectable);
    assert_eq!(ZS.with(|zs| zs.borrow().len()), 2);
    ZS.with(|zs| zs.borrow_mut().clear());
    assert_eq!(gen_gc::collect(), 2);
    let (collected, uncollectable) = stats();
    assert_eq!((collected - old_collected, uncollectable - old_uncollectable), (2, 0));
    assert!(ZS.with(|zs| zs.borrow().is_empty()), "finalizers run once");
    gen_gc::enable();
}

#[test]
fn test_callbacks_start_and_stop() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let sink = log.clone();
    let id = gen_gc::add_callback(move |phase, info| sink.borrow_mut().push((phase, *info)));
    let l = List::new();
    l.append(any(&l));
    drop(l);
    gen_gc::collect();
    gen_gc::collect_generation(1).unwrap();
    assert!(gen_gc::remove_callback(id));
    assert!(!gen_gc::remove_callback(id));
    gen_gc::collect();
    let log = log.borrow();
    assert_eq!(log.len(), 4, "two collections, a start and a stop each");
    assert_eq!((log[0].0, log[1].0, log[2].0, log[3].0), (Phase::Start, Phase::Stop, Phase::Start, Phase::Stop));
    assert_eq!((log[0].1.generation, log[2].1.generation), (2, 1));
    assert_eq!(log[0].1.collected, 0);
    assert_eq!((log[1].1.collected, log[1].1.uncollectable), (1, 0));
    assert!(log[1].1.candidates >= 1);
}

#[test]
fn test_callback_collect_garbage() {
    // GCCallbackTests.test_collect_garbage: uncollectable objects are reported at stop.
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    let uncollectable = Rc::new(Cell::new(0));
    let seen = uncollectable.clone();
    let id = gen_gc::add_callback(move |phase, info| {
        if phase == Phase::Stop {
            seen.set(seen.get() + info.uncollectable);
        }
    });
    let a = Gc::new(WithDel::default());
    a.attrs.borrow_mut().insert("a", any(&a));
    drop(a);
    gen_gc::collect();
    assert_eq!(uncollectable.get(), 1);
    gen_gc::remove_callback(id);
    for obj in gen_gc::take_garbage() {
        obj.downcast::<WithDel>().unwrap().attrs.borrow_mut().clear();
    }
    gen_gc::set_finalizer_policy(FinalizerPolicy::Pep442);
}

#[test]
fn test_debug_output_in_cpython_format() {
    let out = common::capture_debug_output();
    gen_gc::set_debug(DebugFlags::STATS | DebugFlags::COLLECTABLE);
    let l = List::new();
    l.append(any(&l));
    let addr = Gc::addr(&l);
    drop(l);
    gen_gc::collect();
    gen_gc::set_debug(DebugFlags::empty());
    gen_gc::set_debug_output(None);
    let text = out.borrow().clone();
    assert!(text.contains("gc: collecting generation 2...\n"), "{text}");
    assert!(text.contains("gc: objects in each generation: "), "{text}");
    assert!(text.contains(&format!("gc: collectable <List {addr:#x}>\n")), "{text}");
    assert!(text.contains("gc: done, 1 unreachable, 0 uncollectable, "), "{text}");
    assert!(text.trim_end().ends_with("s elapsed"), "{text}");
}

#[test]
fn test_automatic_collection_follows_threshold0() {
    // Automatic collections are of generation 0 under the generational policy, increments
    // (generation 1) under the incremental one.
    let automatic = usize::from(incremental());
    gen_gc::collect();
    gen_gc::set_threshold(10, 10, 10);
    let before = gen_gc::get_stats()[automatic].collections;
    for _ in 0..25 {
        let l = List::new();
        l.append(any(&l));
    }
    let after = gen_gc::get_stats()[automatic].collections;
    assert!(after - before >= 2, "{before} -> {after}");
    gen_gc::disable();
    let disabled = gen_gc::get_stats()[automatic].collections;
    for _ in 0..25 {
        let _ = List::new();
    }
    assert_eq!(gen_gc::get_stats()[automatic].collections, disabled, "disable() stops automatic collection");
    gen_gc::enable();
    gen_gc::set_threshold(0, 10, 10);
    for _ in 0..25 {
        let _ = List::new();
    }
    assert_eq!(gen_gc::get_stats()[automatic].collections, disabled, "threshold0 = 0 also disables it");
    assert_eq!(gen_gc::get_threshold(), (0, 10, 10));
    gen_gc::set_threshold(700, 10, 10);
    gen_gc::collect();
}
