//! More of CPython's `Lib/test/test_weakref.py`, on what a Rust program relies on: the order
//! and the once-only of callbacks, weak handles that read dead before any callback runs,
//! containers touched by the callbacks and the drops their deaths run, containers that die
//! or are cleared in the middle of an iteration, and the mapping protocol's edge cases
//! (`MappingTestCase` and `mapping_tests.BasicTestMappingProtocol`). Each test names the
//! CPython case it comes from; "none" marks a case of ours written in its spirit.
//!
//! A `KeyError` is a `None` here, CPython's `gc.collect()` is `gen_gc::collect()`.

mod common;

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use cyclegc::{Gc, Trace, Weak};
use weak_collections::{
    ByValue, Finalizer, ReferenceError, WeakKeyDictionary, WeakSet, WeakValueDictionary, finalize, proxy,
    proxy_with_callback,
};

/// CPython's `Object`: equal and hashed by `arg`, and able to hold itself (`RefCycle`).
#[derive(Trace, Debug, Clone)]
struct Object {
    arg: u32,
    cycle: RefCell<Option<Gc<Object>>>,
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        self.arg == other.arg
    }
}

impl Eq for Object {}

impl std::hash::Hash for Object {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.arg.hash(state);
    }
}

fn object(arg: u32) -> Gc<Object> {
    Gc::new(Object { arg, cycle: RefCell::new(None) })
}

/// CPython's `RefCycle`: an object that holds itself, freed only by the collector.
fn ref_cycle(arg: u32) -> Gc<Object> {
    let o = object(arg);
    *o.cycle.borrow_mut() = Some(o.clone());
    o
}

/// A log the callbacks of a test write to.
type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::default()
}

fn entries(log: &Log) -> Vec<String> {
    log.borrow().clone()
}

// --- callbacks: order, once, what they see -------------------------------------------------

#[test]
fn callbacks_run_newest_first_after_every_weak_handle_reads_dead() {
    // ReferencesTestCase.test_multiple_callbacks and test_callbacks_protected: when the
    // object dies, every weak reference, proxy and container entry reads dead before the
    // first callback runs, and the callbacks run newest first.
    let o = object(1);
    let events = log();
    let plain = Gc::downgrade(&o);
    let set = Rc::new(WeakSet::new());
    set.add(&o);
    let values = Rc::new(WeakValueDictionary::new());
    values.insert("o", &o);
    let keys = Rc::new(WeakKeyDictionary::new());
    keys.insert(&o, 1);
    let p = proxy(&o);
    let later = Rc::new(RefCell::new(Vec::<Weak<Object>>::new()));
    let mut refs = Vec::new();
    for name in ["first", "second", "third"] {
        let (events, plain, set, values, keys, p, later) =
            (events.clone(), plain.clone(), set.clone(), values.clone(), keys.clone(), p.clone(), later.clone());
        refs.push(Gc::downgrade_with_callback(&o, move |dead| {
            assert!(dead.is_dead() && dead.upgrade().is_none(), "{name}: its own reference reads dead");
            assert!(plain.upgrade().is_none(), "{name}: a plain weak reference reads dead");
            assert!(later.borrow().iter().all(Weak::is_dead), "{name}: every other reference reads dead");
            assert_eq!(p.get().err(), Some(ReferenceError), "{name}: the proxy raises ReferenceError");
            assert_eq!(set.iter().count(), 0, "{name}: the set's iteration meets no dead member");
            assert_eq!(values.get(&"o"), None, "{name}: the dictionary has no live value");
            assert_eq!(values.items().count(), 0);
            assert!(keys.keys().next().is_none(), "{name}: the key dictionary has no live key");
            events.borrow_mut().push(name.to_owned());
        }));
    }
    later.borrow_mut().extend(refs.iter().cloned());
    drop(o);
    assert_eq!(entries(&events), ["third", "second", "first"]);
    assert!(set.is_empty() && values.is_empty() && keys.is_empty());
}

#[test]
fn a_callback_runs_once_however_many_clones_its_reference_has() {
    // ReferencesTestCase.test_basic_callback: one callback per weak reference, not per handle.
    let calls = Rc::new(Cell::new(0));
    let o = object(1);
    let seen = calls.clone();
    let r = Gc::downgrade_with_callback(&o, move |_| seen.set(seen.get() + 1));
    let clones = vec![r.clone(), r.clone(), r.clone()];
    drop(o);
    assert_eq!(calls.get(), 1);
    assert!(clones.iter().all(Weak::is_dead));
    drop((r, clones));
    assert_eq!(calls.get(), 1);
}

#[test]
fn a_callback_whose_reference_is_dropped_first_never_runs() {
    // ReferencesTestCase.test_callback_gcs' rule (and CPython's since weakrefs exist): the
    // callback belongs to the weak reference, and goes with it.
    let calls = Rc::new(Cell::new(0));
    let o = object(1);
    let seen = calls.clone();
    let r = Gc::downgrade_with_callback(&o, move |_| seen.set(seen.get() + 1));
    drop(r);
    drop(o);
    assert_eq!(calls.get(), 0);
}

#[test]
fn a_proxy_callback_runs_once_for_every_clone_and_not_after_the_proxies_go() {
    // ReferencesTestCase.test_proxy_ref: the callback of a proxy runs once when its object
    // dies, whatever the number of clones; a proxy dropped first takes its callback with it.
    let calls = Rc::new(Cell::new(0));
    let o = object(1);
    let seen = calls.clone();
    let p = proxy_with_callback(&o, move || seen.set(seen.get() + 1));
    let p2 = p.clone();
    drop(o);
    assert_eq!(calls.get(), 1);
    assert_eq!((p.get().err(), p2.with(|o| o.arg).err()), (Some(ReferenceError), Some(ReferenceError)));

    let o = object(2);
    let seen = calls.clone();
    let p = proxy_with_callback(&o, move || seen.set(seen.get() + 10));
    drop(p);
    drop(o);
    assert_eq!(calls.get(), 1, "the dropped proxy's callback never runs");
}

#[test]
fn a_proxy_reads_dead_once_the_collector_frees_its_object() {
    // ReferencesTestCase.test_proxy_ref, with the object in a cycle (CPython's
    // `gc_collect()` between the `del` and the use).
    let o = ref_cycle(5);
    let p = proxy(&o);
    drop(o);
    assert_eq!(p.with(|o| o.arg), Ok(5), "a cycle lives until a collection");
    gen_gc::collect();
    assert_eq!(p.with(|o| o.arg), Err(ReferenceError));
    assert!(!p.is_alive());
}

#[test]
fn a_panicking_callback_does_not_stop_the_others_nor_the_containers() {
    // ReferencesTestCase.test_callbacks_protected: "Callbacks protected from already-set
    // exceptions?" Here a callback's panic is caught and reported, as Python reports a
    // callback's exception: the other callbacks and the containers' removals still happen.
    let o = object(1);
    let events = log();
    let set = WeakSet::new();
    set.add(&o);
    let mut refs = Vec::new();
    for (name, panics) in [("a", false), ("b", true), ("c", false)] {
        let events = events.clone();
        refs.push(Gc::downgrade_with_callback(&o, move |_| {
            events.borrow_mut().push(name.to_owned());
            assert!(!panics, "callback {name} panics");
        }));
    }
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let f = finalize(&o, move || flag.set(true));
    let reports = common::unraisable_during(|| drop(o));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].1, "callback b panics");
    assert_eq!(entries(&events), ["c", "b", "a"]);
    assert!(ran.get() && !f.alive());
    assert!(set.is_empty());
    assert!(refs.iter().all(Weak::is_dead));
}

#[test]
fn callbacks_of_objects_freed_by_the_collector_see_the_whole_cycle_dead() {
    // ReferencesTestCase.test_callbacks_on_callback's setting: two objects in one cycle, each
    // with a callback; both run, and each sees both references dead.
    let (a, b) = (object(1), object(2));
    *a.cycle.borrow_mut() = Some(b.clone());
    *b.cycle.borrow_mut() = Some(a.clone());
    let (wa, wb) = (Gc::downgrade(&a), Gc::downgrade(&b));
    let events = log();
    let mut refs = Vec::new();
    for (name, target) in [("a", &a), ("b", &b)] {
        let (events, wa, wb) = (events.clone(), wa.clone(), wb.clone());
        refs.push(Gc::downgrade_with_callback(target, move |_| {
            assert!(wa.is_dead() && wb.is_dead(), "{name}: the whole cycle reads dead");
            events.borrow_mut().push(name.to_owned());
        }));
    }
    drop((a, b));
    assert!(entries(&events).is_empty());
    gen_gc::collect();
    let mut ran = entries(&events);
    ran.sort();
    assert_eq!(ran, ["a", "b"]);
}

// --- callbacks and drops that touch the containers ------------------------------------------

#[test]
fn a_callback_may_add_to_the_set_its_object_leaves() {
    // MappingTestCase's `_remove` callbacks run while user callbacks mutate the container
    // (test_weak_keyed_cascading_deletes' spirit): a callback that adds to the set, whose
    // dead member is still to be removed, leaves the set with the new member only.
    let o = object(1);
    let newcomer = object(2);
    let set = Rc::new(WeakSet::new());
    let (in_callback, joining) = (set.clone(), newcomer.clone());
    let _r = Gc::downgrade_with_callback(&o, move |_| {
        assert!(in_callback.add(&joining));
        assert!(in_callback.contains(&joining));
    });
    set.add(&o);
    drop(o);
    assert_eq!(set.len(), 1);
    assert!(set.contains(&newcomer));
    assert_eq!(set.iter().count(), 1);
}

#[test]
fn a_callback_may_clear_the_dictionary_its_object_leaves() {
    // test_weak_valued_delitem's container, emptied by a callback of the dying value.
    let (o, other) = (object(1), object(2));
    let dict = Rc::new(WeakValueDictionary::new());
    dict.insert(1, &o);
    let in_callback = dict.clone();
    let _r = Gc::downgrade_with_callback(&o, move |_| in_callback.clear());
    dict.insert(2, &other);
    drop(o);
    assert!(dict.is_empty());
    assert_eq!(dict.get(&2), None);
    let again = object(3);
    dict.insert(3, &again);
    assert_eq!(dict.len(), 1);
    drop(again);
    assert!(dict.is_empty());
}

/// A value of a weak-keyed dictionary whose drop looks at and changes the dictionary.
struct Meddler {
    dict: Rc<WeakKeyDictionary<Object, Meddler>>,
    on_drop: Option<Gc<Object>>,
    log: Log,
}

impl Drop for Meddler {
    fn drop(&mut self) {
        self.log.borrow_mut().push(format!("len {}", self.dict.len()));
        if let Some(key) = self.on_drop.take() {
            self.dict.insert(&key, Meddler { dict: self.dict.clone(), on_drop: None, log: self.log.clone() });
        }
    }
}

#[test]
fn a_value_dropped_with_its_dead_key_may_use_the_dictionary() {
    // test_weak_keyed_cascading_deletes' spirit: CPython deletes the entry from its dict, and
    // the value's `__del__` may touch the dictionary. Here the value's drop runs once the
    // entry is out, and it may read and insert.
    let events = log();
    let dict: Rc<WeakKeyDictionary<Object, Meddler>> = Rc::new(WeakKeyDictionary::new());
    let (dying, survivor, newcomer) = (object(1), object(2), object(3));
    dict.insert(&survivor, Meddler { dict: dict.clone(), on_drop: None, log: events.clone() });
    dict.insert(&dying, Meddler { dict: dict.clone(), on_drop: Some(newcomer.clone()), log: events.clone() });
    drop(dying);
    assert_eq!(entries(&events), ["len 1"], "the value's drop sees the dictionary without its entry");
    assert_eq!(dict.len(), 2);
    assert!(dict.contains_key(&newcomer) && dict.contains_key(&survivor));
    // The dictionary holds itself through its values: break that by clearing it.
    dict.clear();
    assert!(dict.is_empty());
}

#[test]
fn a_value_dropped_by_clear_may_use_the_dictionary() {
    // BasicTestMappingProtocol.test_write's clear, with values whose drop touches the
    // dictionary: clear drops the old entries once the dictionary is already empty.
    let events = log();
    let dict: Rc<WeakKeyDictionary<Object, Meddler>> = Rc::new(WeakKeyDictionary::new());
    let (a, b, c) = (object(1), object(2), object(3));
    dict.insert(&a, Meddler { dict: dict.clone(), on_drop: Some(c.clone()), log: events.clone() });
    dict.insert(&b, Meddler { dict: dict.clone(), on_drop: None, log: events.clone() });
    dict.clear();
    let mut seen = entries(&events);
    seen.sort();
    assert_eq!(seen, ["len 0", "len 1"], "the second drop sees the entry the first one added");
    assert_eq!(dict.len(), 1);
    assert!(dict.contains_key(&c));
    dict.clear();
}

#[test]
fn a_value_dropped_by_remove_or_insert_may_use_the_dictionary() {
    // BasicTestMappingProtocol.test_write: `del d[k]` and `d[k] = v` on an existing key drop
    // the old value outside the dictionary's borrow.
    let events = log();
    let dict: Rc<WeakKeyDictionary<Object, Meddler>> = Rc::new(WeakKeyDictionary::new());
    let (a, b) = (object(1), object(2));
    dict.insert(&a, Meddler { dict: dict.clone(), on_drop: Some(b.clone()), log: events.clone() });
    drop(dict.insert(&a, Meddler { dict: dict.clone(), on_drop: None, log: events.clone() }));
    assert_eq!(entries(&events), ["len 1"]);
    assert!(dict.contains_key(&b));
    drop(dict.remove(&a));
    assert_eq!(entries(&events), ["len 1", "len 1"]);
    dict.clear();
}

#[test]
fn a_set_held_by_its_own_member_dies_with_it() {
    // test_weakset's test_gc spirit: a set inside a heap object that is its own member.
    #[derive(Trace)]
    struct Owner {
        members: WeakSet<Owner>,
        cycle: RefCell<Option<Gc<Owner>>>,
    }
    let owner = Gc::new(Owner { members: WeakSet::new(), cycle: RefCell::new(None) });
    owner.members.add(&owner);
    let watch = Gc::downgrade(&owner);
    drop(owner);
    assert!(watch.is_dead());

    let owner = Gc::new(Owner { members: WeakSet::new(), cycle: RefCell::new(None) });
    owner.members.add(&owner);
    *owner.cycle.borrow_mut() = Some(owner.clone());
    let watch = Gc::downgrade(&owner);
    drop(owner);
    gen_gc::collect();
    assert!(watch.is_dead());
}

#[test]
fn a_value_dictionary_inside_its_own_value_is_collected() {
    // MappingTestCase.test_weak_valued_len_cycles' objects, holding the dictionary that
    // holds them weakly: the cycle goes, the dictionary with it.
    #[derive(Trace)]
    struct Node {
        index: WeakValueDictionary<u32, Node>,
        cycle: RefCell<Option<Gc<Node>>>,
    }
    let node = Gc::new(Node { index: WeakValueDictionary::new(), cycle: RefCell::new(None) });
    let other = Gc::new(Node { index: WeakValueDictionary::new(), cycle: RefCell::new(None) });
    node.index.insert(0, &node);
    node.index.insert(1, &other);
    other.index.insert(0, &node);
    *node.cycle.borrow_mut() = Some(node.clone());
    let watch = Gc::downgrade(&node);
    drop(node);
    assert_eq!(other.index.len(), 1);
    gen_gc::collect();
    assert!(watch.is_dead());
    assert!(other.index.is_empty(), "the entry of the collected node is gone");
}

// --- iteration guards ------------------------------------------------------------------------

#[test]
fn an_iteration_outlives_its_set() {
    // test_weakset's test_weak_destroy_while_iterating, with the set itself dropped while
    // the iteration runs: the iteration holds what it walks.
    let objects: Vec<_> = (0..5).map(object).collect();
    let set: WeakSet<Object> = objects.iter().collect();
    let mut it = set.iter();
    let first = it.next().expect("a member");
    drop(set);
    let rest: Vec<_> = it.collect();
    assert_eq!(rest.len(), 4);
    assert!(rest.iter().all(|o| !Gc::ptr_eq(o, &first)));
}

#[test]
fn an_iteration_outlives_its_dictionary_while_values_die() {
    // MappingTestCase.check_weak_destroy_while_iterating with the dictionary dropped too.
    let mut objects: Vec<_> = (0..6).map(object).collect();
    let dict = WeakValueDictionary::new();
    for o in &objects {
        dict.insert(o.arg, o);
    }
    let mut it = dict.items();
    let (_, first) = it.next().expect("an entry");
    drop(dict);
    objects.retain(|o| o.arg % 2 == 0 || Gc::ptr_eq(o, &first));
    let rest: Vec<_> = it.map(|(key, value)| (key, value.arg)).collect();
    assert!(rest.iter().all(|&(key, arg)| key == arg && arg % 2 == 0));
    assert!(rest.len() <= 3);
}

#[test]
fn clearing_a_set_during_an_iteration_ends_it() {
    // test_weakset's test_weak_destroy_and_mutate_while_iterating, with `clear` as the
    // mutation.
    let objects: Vec<_> = (0..5).map(object).collect();
    let set: WeakSet<Object> = objects.iter().collect();
    let mut it = set.iter();
    assert!(it.next().is_some());
    set.clear();
    assert!(it.next().is_none());
    assert!(set.is_empty());
}

#[test]
fn a_collection_in_the_loop_body_frees_members_the_loop_has_not_reached() {
    // test_weakset's test_weak_destroy_while_iterating with cycles, collected from the loop.
    let mut objects: Vec<_> = (0..10).map(ref_cycle).collect();
    let set: WeakSet<Object> = objects.iter().collect();
    let watches: Vec<_> = objects.iter().map(Gc::downgrade).collect();
    let mut met = 0;
    for member in &set {
        met += 1;
        if met == 1 {
            objects.retain(|o| Gc::ptr_eq(o, &member));
            gen_gc::collect();
        }
    }
    assert_eq!(met, 1, "the members collected in the loop are not met");
    assert_eq!(watches.iter().filter(|w| !w.is_dead()).count(), 1);
    assert_eq!(set.len(), 1);
    for o in &objects {
        *o.cycle.borrow_mut() = None;
    }
}

#[test]
fn len_after_deaths_counts_only_live_entries_in_every_container() {
    // MappingTestCase.test_weak_keyed_len_cycles / test_weak_valued_len_cycles, by refcount
    // and by the collector, for all three containers.
    let plain: Vec<_> = (0..6).map(object).collect();
    let cycles: Vec<_> = (10..16).map(ref_cycle).collect();
    let set = WeakSet::new();
    let values = WeakValueDictionary::new();
    let keys = WeakKeyDictionary::new();
    for o in plain.iter().chain(&cycles) {
        set.add(o);
        values.insert(o.arg, o);
        keys.insert(o, o.arg);
    }
    assert_eq!((set.len(), values.len(), keys.len()), (12, 12, 12));
    drop(plain);
    assert_eq!((set.len(), values.len(), keys.len()), (6, 6, 6));
    drop(cycles);
    assert_eq!((set.len(), values.len(), keys.len()), (6, 6, 6));
    gen_gc::collect();
    assert_eq!((set.len(), values.len(), keys.len()), (0, 0, 0));
    assert!(set.pop().is_none() && values.popitem().is_none() && keys.popitem().is_none());
}

// --- the mapping protocol --------------------------------------------------------------------

#[test]
fn test_make_weak_valued_dict_from_weak_valued_dict() {
    // MappingTestCase.test_make_weak_valued_dict_from_weak_valued_dict: a copy is another
    // dictionary with the same entries.
    let o = object(3);
    let dict = WeakValueDictionary::new();
    dict.insert(364, &o);
    let dict2 = dict.copy();
    assert!(Gc::ptr_eq(&dict2.get(&364).expect("copied"), &o));
    dict.remove(&364);
    assert!(dict2.contains_key(&364), "the copy is independent");
    drop(o);
    assert!(dict2.is_empty());
}

#[test]
fn test_make_weak_keyed_dict_from_weak_keyed_dict() {
    // MappingTestCase.test_make_weak_keyed_dict_from_weak_keyed_dict.
    let o = object(3);
    let dict = WeakKeyDictionary::new();
    dict.insert(&o, 364);
    let dict2 = dict.copy();
    assert_eq!(dict2.get(&o), Some(364));
    dict.insert(&o, 1);
    assert_eq!(dict2.get(&o), Some(364), "the copy is independent");
    drop(o);
    assert!(dict2.is_empty() && dict.is_empty());
}

#[test]
fn missing_keys_are_none_for_every_accessor() {
    // BasicTestMappingProtocol.test_getitem, test_pop, test_popitem, test_get: KeyError on an
    // empty dictionary and on a key whose value died.
    let values: WeakValueDictionary<u32, Object> = WeakValueDictionary::new();
    assert!(values.get(&1).is_none() && values.pop(&1).is_none() && values.popitem().is_none());
    let o = object(1);
    values.insert(1, &o);
    drop(o);
    assert!(values.get(&1).is_none() && !values.contains_key(&1));
    assert!(values.pop(&1).is_none() && values.popitem().is_none());

    let keys: WeakKeyDictionary<Object, u32> = WeakKeyDictionary::new();
    let k = object(1);
    assert!(keys.get(&k).is_none() && keys.pop(&k).is_none() && keys.popitem().is_none());
    assert!(keys.with_value(&k, |v| *v).is_none());
}

#[test]
fn setdefault_replaces_a_value_that_died() {
    // MappingTestCase.check_setdefault, after the first value's death: the key maps to the
    // default again.
    let dict = WeakValueDictionary::new();
    let first = object(1);
    assert!(Gc::ptr_eq(&dict.setdefault("k", &first), &first));
    let second = object(2);
    assert!(Gc::ptr_eq(&dict.setdefault("k", &second), &first), "a live value stays");
    drop(first);
    assert!(Gc::ptr_eq(&dict.setdefault("k", &second), &second), "a dead value is replaced");
    assert_eq!(dict.len(), 1);
    drop(second);
    assert!(dict.is_empty());
}

#[test]
fn insert_over_a_dead_value_returns_nothing() {
    // BasicTestMappingProtocol.test_write (`d[k] = v` over an entry), with the old value
    // dead: there is no live value to hand back.
    let dict = WeakValueDictionary::new();
    let (old, new) = (object(1), object(2));
    dict.insert("k", &old);
    assert!(Gc::ptr_eq(&dict.insert("k", &new).expect("the live value replaced"), &old));
    drop(old);
    let newest = object(3);
    drop(new);
    assert!(dict.insert("k", &newest).is_none());
    assert_eq!(dict.len(), 1);
}

#[test]
fn popitem_empties_a_dictionary_skipping_dead_entries() {
    // MappingTestCase.check_popitem, with some values dead in between.
    let objects: Vec<_> = (0..8).map(object).collect();
    let dict = WeakValueDictionary::new();
    for o in &objects {
        dict.insert(o.arg, o);
    }
    let kept: Vec<_> = objects.into_iter().filter(|o| o.arg % 3 == 0).collect();
    let mut popped = Vec::new();
    while let Some((key, value)) = dict.popitem() {
        assert_eq!(key, value.arg);
        popped.push(key);
    }
    popped.sort();
    assert_eq!(popped, [0, 3, 6]);
    assert!(dict.is_empty());
    drop(kept);
}

#[test]
fn update_of_a_weak_keyed_dict_from_its_own_items() {
    // BasicTestMappingProtocol.test_update (`d.update(d)`): nothing changes.
    let objects: Vec<_> = (0..4).map(object).collect();
    let dict = WeakKeyDictionary::new();
    for o in &objects {
        dict.insert(o, o.arg);
    }
    dict.update(dict.items());
    assert_eq!(dict.len(), 4);
    assert!(objects.iter().all(|o| dict.get(o) == Some(o.arg)));
}

#[test]
fn by_identity_and_by_value_keys_after_the_first_key_dies() {
    // MappingTestCase.test_weak_keys: by value, a new object equal to a dead key does not
    // find the dead entry, and adding it makes one new entry.
    let dict = WeakKeyDictionary::<Object, u32, ByValue>::by_value();
    let first = object(7);
    dict.insert(&first, 1);
    let equal = object(7);
    assert_eq!(dict.get(&equal), Some(1), "an equal object finds the entry");
    assert_eq!(dict.insert(&equal, 2), Some(1), "and replaces its value, keeping the first key");
    drop(first);
    assert!(dict.is_empty(), "the entry went with the key it was made with");
    assert_eq!(dict.get(&equal), None);
    dict.insert(&equal, 3);
    assert_eq!(dict.len(), 1);

    let identity = WeakKeyDictionary::new();
    let (a, b) = (object(7), object(7));
    identity.insert(&a, 1);
    assert_eq!(identity.get(&b), None);
    drop(a);
    let c = object(7);
    assert_eq!(identity.get(&c), None, "a new object, maybe at the dead key's address, is a new key");
    assert!(identity.is_empty());
}

#[test]
fn a_by_value_set_keeps_the_first_of_equal_members() {
    // test_weakset's test_add with CPython's `ustr` members, equal by value: adding an equal
    // object adds nothing, and the member is the first one, whose death empties the set.
    let set = WeakSet::<Object, ByValue>::by_value();
    let first = object(1);
    assert!(set.add(&first));
    let equal = object(1);
    assert!(!set.add(&equal));
    assert!(set.contains(&equal));
    assert!(Gc::ptr_eq(&set.iter().next().expect("a member"), &first));
    drop(first);
    assert!(!set.contains(&equal));
    assert!(set.is_empty());
}

// --- WeakSet in place on itself ----------------------------------------------------------------

#[test]
fn test_inplace_on_self() {
    // TestWeakSet.test_inplace_on_self: `t |= t`, `t &= t`, `t -= t`, `t ^= t`.
    let items: Vec<_> = (0..5).map(object).collect();
    let s: WeakSet<Object> = items.iter().collect();
    let t = s.copy();
    t.update(&t);
    assert!(t == s);
    t.intersection_update(&t);
    assert!(t == s);
    t.difference_update(&t);
    assert!(t == WeakSet::new());
    let t = s.copy();
    t.symmetric_difference_update(&t);
    assert!(t == WeakSet::new());
}

#[test]
fn test_pop() {
    // TestWeakSet.test_pop: pop every member, then KeyError (None) on the empty set.
    let items: Vec<_> = (0..4).map(object).collect();
    let s: WeakSet<Object> = items.iter().collect();
    for _ in 0..items.len() {
        let member = s.pop().expect("a member");
        assert!(items.iter().any(|o| Gc::ptr_eq(o, &member)));
        assert!(!s.contains(&member));
    }
    assert!(s.pop().is_none());
}

// --- finalize -----------------------------------------------------------------------------

#[test]
fn a_finalizer_that_panics_at_death_is_done() {
    // FinalizeTestCase.test_finalize's "f() runs at most once", when the callback panics
    // while its object dies: the panic is reported, the finalizer is not alive.
    let o = object(1);
    let f = finalize(&o, || panic!("finalizer error"));
    let reports = common::unraisable_during(|| drop(o));
    assert_eq!(reports.iter().map(|(_, message)| message.as_str()).collect::<Vec<_>>(), ["finalizer error"]);
    assert!(!f.alive());
    assert!(!f.call());
    assert!(f.peek().is_none() && f.detach().is_none());
}

#[test]
fn a_finalizer_called_by_hand_does_not_run_again_at_death() {
    // FinalizeTestCase.test_finalize: `f()` then `del a`.
    let calls = Rc::new(Cell::new(0));
    let o = object(1);
    let seen = calls.clone();
    let f = finalize(&o, move || seen.set(seen.get() + 1));
    assert!(f.call());
    assert!(!f.alive() && f.peek().is_none());
    drop(o);
    assert_eq!(calls.get(), 1);
}

#[test]
fn a_detached_finalizer_does_not_run_at_death() {
    // FinalizeTestCase.test_finalize: `f.detach()` then `del a`.
    let calls = Rc::new(Cell::new(0));
    let o = object(1);
    let seen = calls.clone();
    let f = finalize(&o, move || seen.set(seen.get() + 1));
    let (back, func) = f.detach().expect("alive");
    assert!(Gc::ptr_eq(&back, &o));
    assert!(!f.alive() && f.detach().is_none() && !f.call());
    drop((back, o));
    assert_eq!(calls.get(), 0);
    func();
    assert_eq!(calls.get(), 1);
}

#[test]
fn a_finalizer_may_touch_its_own_handle_and_others() {
    // FinalizeTestCase.test_order's callbacks, which call other finalizers: one run from
    // another's callback runs once, and a finalizer calling itself does nothing.
    let events = log();
    let (a, b) = (object(1), object(2));
    let fb: Rc<RefCell<Option<Finalizer<Object>>>> = Rc::default();
    let fa: Rc<RefCell<Option<Finalizer<Object>>>> = Rc::default();
    let (events_a, fb_in_a, fa_in_a) = (events.clone(), fb.clone(), fa.clone());
    *fa.borrow_mut() = Some(finalize(&a, move || {
        assert!(!fa_in_a.borrow().as_ref().expect("registered").call(), "a running finalizer is not alive");
        let other = fb_in_a.borrow();
        assert!(other.as_ref().expect("registered").call());
        events_a.borrow_mut().push("a".to_owned());
    }));
    let events_b = events.clone();
    *fb.borrow_mut() = Some(finalize(&b, move || events_b.borrow_mut().push("b".to_owned())));
    drop(a);
    assert_eq!(entries(&events), ["b", "a"]);
    drop(b);
    assert_eq!(entries(&events), ["b", "a"], "b's finalizer ran once");
    fa.borrow_mut().take();
}

#[test]
fn a_finalizer_may_register_another_on_an_object_dying_later() {
    // FinalizeTestCase.test_order's chain: a finalizer registers one on another object.
    let events = log();
    let (a, b) = (object(1), object(2));
    let (events_a, target) = (events.clone(), Gc::downgrade(&b));
    drop(finalize(&a, move || {
        let b = target.upgrade().expect("b lives");
        let events = events_a.clone();
        drop(finalize(&b, move || events.borrow_mut().push("b".to_owned())));
        events_a.borrow_mut().push("a".to_owned());
    }));
    drop(a);
    drop(b);
    assert_eq!(entries(&events), ["a", "b"]);
}

#[test]
fn a_finalizer_of_an_object_alive_at_thread_exit_without_atexit_does_not_run() {
    // FinalizeTestCase.test_atexit: `f2.atexit = False`, alone.
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = ran.clone();
    std::thread::spawn(move || {
        thread_local!(static KEEP: RefCell<Option<Gc<Object>>> = const { RefCell::new(None) });
        KEEP.with(|_| ());
        let o = object(1);
        KEEP.with(|keep| *keep.borrow_mut() = Some(o.clone()));
        let (off, on) = (seen.clone(), seen.clone());
        let f = finalize(&o, move || {
            off.fetch_add(100, std::sync::atomic::Ordering::SeqCst);
        });
        f.set_atexit(false);
        drop(finalize(&o, move || {
            on.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
    })
    .join()
    .unwrap();
    assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn len_inside_a_callback_of_the_dying_member() {
    // test_weakset's test_len_race, from a callback of the dying member that runs before the
    // container's own removal (callbacks run newest first). A `WeakSet` (deferred: its
    // deaths are marked as the weak references are cleared, before any callback) already
    // agrees with its iteration; a map whose removal drops a value with drop glue reports
    // at its turn, and until then `len` counts the dead entry as CPython's `__len__` does
    // until its `_remove` has run. Once the death is over, both are empty.
    let o = object(1);
    let set = Rc::new(WeakSet::new());
    set.add(&o);
    let lens = Rc::new(RefCell::new(Vec::new()));
    let (in_callback, seen) = (set.clone(), lens.clone());
    let _r = Gc::downgrade_with_callback(&o, move |_| {
        seen.borrow_mut().push((in_callback.len(), in_callback.iter().count()));
    });
    drop(o);
    assert_eq!(*lens.borrow(), [(0, 0)]);
    assert_eq!(set.len(), 0);

    let o = object(2);
    let map = Rc::new(WeakKeyDictionary::new());
    map.insert(&o, String::from("value with drop glue"));
    let lens = Rc::new(RefCell::new(Vec::new()));
    let (in_callback, seen) = (map.clone(), lens.clone());
    let _r = Gc::downgrade_with_callback(&o, move |_| {
        seen.borrow_mut().push((in_callback.len(), in_callback.keys().count()));
    });
    drop(o);
    assert_eq!(*lens.borrow(), [(1, 0)]);
    assert_eq!(map.len(), 0);
}

#[test]
fn a_callback_may_drop_the_last_handle_to_the_set_its_object_is_in() {
    // MappingTestCase's `_remove` callback holds its dictionary weakly; here the user's
    // callback holds the set's last handle and drops it while the object dies.
    let o = object(1);
    let set = Rc::new(WeakSet::new());
    set.add(&o);
    let held = RefCell::new(Some(set.clone()));
    drop(set);
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let _r = Gc::downgrade_with_callback(&o, move |_| {
        let set = held.borrow_mut().take().expect("the set");
        assert_eq!(set.iter().count(), 0);
        drop(set);
        flag.set(true);
    });
    drop(o);
    assert!(ran.get());
}

#[test]
fn a_callback_may_kill_other_members_of_the_same_dictionary() {
    // test_weak_keyed_cascading_deletes, by a callback: one value's death drops the last
    // handles to others, in the middle of the first death's callbacks.
    let objects: Vec<_> = (0..5).map(object).collect();
    let dict = Rc::new(WeakValueDictionary::new());
    for o in &objects {
        dict.insert(o.arg, o);
    }
    let mut objects = objects.into_iter();
    let first = objects.next().expect("an object");
    let others = RefCell::new(objects.collect::<Vec<_>>());
    let in_callback = dict.clone();
    let _r = Gc::downgrade_with_callback(&first, move |_| {
        let dying = std::mem::take(&mut *others.borrow_mut());
        drop(dying);
        assert!(in_callback.items().next().is_none());
    });
    drop(first);
    assert!(dict.is_empty());
}

#[test]
fn a_dead_entrys_key_may_hold_the_last_handle_to_another_value() {
    // test_weak_keyed_cascading_deletes for a weak-valued dictionary: the key dropped with a
    // dead entry is the last handle to another entry's value.
    let dict: WeakValueDictionary<Gc<Object>, Object> = WeakValueDictionary::new();
    let (v1, v2) = (object(1), object(2));
    let k1 = object(10);
    dict.insert(v2.clone(), &v1); // v2 is v1's key: dropping that entry drops a handle to v2
    dict.insert(k1.clone(), &v2);
    drop(v2);
    assert_eq!(dict.len(), 2);
    drop(v1);
    assert!(dict.is_empty(), "v1's death dropped the key v2, whose death emptied its entry");
    drop(k1);
}

#[test]
fn a_collection_inside_a_callback_frees_other_members() {
    // ReferencesTestCase.test_callbacks_on_callback's collect inside a callback, with the
    // cycles collected being members of the same set as the dying object.
    let o = object(0);
    let cycles: Vec<_> = (1..5).map(ref_cycle).collect();
    let set = Rc::new(WeakSet::new());
    set.add(&o);
    for c in &cycles {
        set.add(c);
    }
    drop(cycles);
    let in_callback = set.clone();
    let _r = Gc::downgrade_with_callback(&o, move |_| {
        gen_gc::collect();
        assert_eq!(in_callback.iter().count(), 0);
    });
    drop(o);
    assert!(set.is_empty());
}

#[test]
fn iterating_and_popping_the_same_dictionary() {
    // BasicTestMappingProtocol.test_popitem during an iteration (CPython raises
    // RuntimeError; here entries popped are skipped).
    let objects: Vec<_> = (0..6).map(object).collect();
    let dict = WeakValueDictionary::new();
    for o in &objects {
        dict.insert(o.arg, o);
    }
    let mut met = 0;
    for (key, value) in dict.items() {
        assert_eq!(key, value.arg);
        met += 1;
        dict.popitem();
    }
    assert!(met <= 6);
    assert!(dict.len() + met <= 6);
}

#[test]
fn taking_the_value_out_runs_the_weak_callbacks_and_empties_the_containers() {
    // FinalizeTestCase.test_finalize's death, by `Gc::try_unwrap`: the object is gone, its
    // weak references read dead, the containers lose it and `finalize` runs.
    let o = object(1);
    let set = WeakSet::new();
    set.add(&o);
    let dict = WeakKeyDictionary::new();
    dict.insert(&o, "v");
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let f = finalize(&o, move || flag.set(true));
    let Ok(value) = Gc::try_unwrap(o) else { panic!("the only handle") };
    assert_eq!(value.arg, 1);
    assert!(ran.get() && !f.alive());
    assert!(set.is_empty() && dict.is_empty());
}

#[test]
fn make_mut_leaves_the_containers_with_the_old_object() {
    // ReferencesTestCase.test_basic_ref's "the reference reads dead once the object is gone",
    // when `Gc::make_mut` gives the handle a new object: the old one dies and leaves the
    // containers; the new one was never in them.
    let mut o = object(1);
    assert!(Gc::get_mut(&mut o).is_some());
    let set = WeakSet::new();
    set.add(&o);
    assert!(Gc::get_mut(&mut o).is_none(), "a weakly referenced object is not mutated in place");
    Gc::make_mut(&mut o).arg = 2;
    assert!(!set.contains(&o));
    assert!(set.is_empty());
}

#[test]
fn finalize_runs_at_collection_before_the_object_resurrects_itself() {
    // FinalizeTestCase.test_finalize with CPython's collection order (handle_weakrefs, then
    // finalize_garbage): a `weakref.finalize` of an object whose `__del__` resurrects it runs
    // in that collection, its container entries go, and the object lives on.
    #[derive(Trace)]
    #[trace(finalize)]
    struct Phoenix {
        me: RefCell<Option<Gc<Phoenix>>>,
        #[trace(skip)]
        log: Log,
    }
    impl cyclegc::Finalize for Phoenix {
        fn finalize(&self) {
            self.log.borrow_mut().push("__del__".to_owned());
            let me = self.me.borrow().clone();
            SURVIVOR.with(|s| *s.borrow_mut() = me);
        }
    }
    thread_local!(static SURVIVOR: RefCell<Option<Gc<Phoenix>>> = const { RefCell::new(None) });
    let events = log();
    let o = Gc::new(Phoenix { me: RefCell::new(None), log: events.clone() });
    *o.me.borrow_mut() = Some(o.clone());
    let set = WeakSet::new();
    set.add(&o);
    let in_finalizer = events.clone();
    let f = finalize(&o, move || in_finalizer.borrow_mut().push("finalize".to_owned()));
    drop(o);
    gen_gc::collect();
    assert_eq!(entries(&events), ["finalize", "__del__"]);
    assert!(!f.alive());
    assert!(set.is_empty());
    let survivor = SURVIVOR.with(|s| s.borrow_mut().take()).expect("resurrected");
    assert!(set.add(&survivor), "the resurrected object is a new member");
    assert_eq!(set.len(), 1);
    *survivor.me.borrow_mut() = None;
    drop(survivor);
    assert!(set.is_empty());
    assert_eq!(entries(&events), ["finalize", "__del__"], "finalized once");
}

#[test]
fn a_finalizer_resurrecting_its_object_by_a_weak_reference_keeps_it_in_the_containers() {
    // ReferencesTestCase.test_callback_in_cycle_resurrection's other half, by reference
    // counting: CPython runs `__del__` before clearing the weak references, so one read in
    // `__del__` gives the object, storing it resurrects it, and the weak references, the
    // containers' entries and a `weakref.finalize` stay as they were until it dies for good.
    thread_local!(static SURVIVOR: RefCell<Option<Gc<Lazarus>>> = const { RefCell::new(None) });
    #[derive(Trace)]
    #[trace(finalize)]
    struct Lazarus {
        me: Weak<Lazarus>,
        #[trace(skip)]
        finalized: Cell<u32>,
    }
    impl cyclegc::Finalize for Lazarus {
        fn finalize(&self) {
            self.finalized.set(self.finalized.get() + 1);
            let me = self.me.upgrade().expect("a weak reference reads the object in its finalizer");
            SURVIVOR.with(|s| *s.borrow_mut() = Some(me));
        }
    }
    let o = Gc::new_cyclic(|me| Lazarus { me: me.clone(), finalized: Cell::new(0) });
    let set = WeakSet::new();
    set.add(&o);
    let dict = WeakValueDictionary::new();
    dict.insert("o", &o);
    let p = proxy(&o);
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let f = finalize(&o, move || flag.set(true));
    drop(o);
    let survivor = SURVIVOR.with(|s| s.borrow_mut().take()).expect("resurrected");
    assert_eq!(survivor.finalized.get(), 1);
    assert!(set.contains(&survivor) && set.len() == 1);
    assert!(dict.get(&"o").is_some_and(|o| Gc::ptr_eq(&o, &survivor)));
    assert!(p.is_alive() && f.alive() && !ran.get());
    drop(survivor);
    assert!(set.is_empty() && dict.is_empty() && !p.is_alive());
    assert!(ran.get() && !f.alive());
}

#[test]
fn a_kept_keyref_of_a_removed_entry_does_not_disturb_later_entries() {
    // MappingTestCase.check_iters' `keyrefs()`: a weak reference handed out by `keyrefs` and
    // kept after its entry was removed by hand names a slot another entry then takes; its
    // object's death must not remove that entry, nor hide the object's own new entry.
    let dict = WeakKeyDictionary::new();
    let (a, b) = (object(1), object(2));
    dict.insert(&a, "a1");
    let kept = dict.keyrefs();
    assert_eq!(kept.len(), 1);
    assert_eq!(dict.remove(&a), Some("a1"));
    dict.insert(&b, "b");
    dict.insert(&a, "a2");
    assert_eq!((dict.get(&a), dict.get(&b)), (Some("a2"), Some("b")));
    assert_eq!(dict.keys().count(), 2);
    drop(a);
    assert!(kept[0].is_dead());
    assert_eq!(dict.len(), 1);
    assert_eq!(dict.get(&b), Some("b"));
    assert_eq!(dict.keys().count(), 1);

    let values = WeakValueDictionary::new();
    let (c, d) = (object(3), object(4));
    values.insert(1, &c);
    let kept = values.valuerefs();
    values.remove(&1);
    values.insert(2, &d);
    drop(c);
    assert!(kept[0].is_dead());
    assert!(values.get(&2).is_some_and(|v| Gc::ptr_eq(&v, &d)));
    assert_eq!(values.items().count(), 1);
}

thread_local! {
    /// Handles a [`Payload`]'s clone drops: the last handles to some keys.
    static DROPPED_BY_CLONE: RefCell<Vec<Gc<Object>>> = const { RefCell::new(Vec::new()) };
}

/// A value whose clone drops the last handles to other keys and allocates (so that it may
/// start a collection), while the dictionary lends its entries.
#[derive(Debug, PartialEq, Eq)]
struct Payload(u32);

impl Clone for Payload {
    fn clone(&self) -> Self {
        drop(DROPPED_BY_CLONE.with(|d| std::mem::take(&mut *d.borrow_mut())));
        drop(Gc::new(Object { arg: self.0, cycle: RefCell::new(None) }));
        Payload(self.0)
    }
}

#[test]
fn keys_dying_while_their_values_are_cloned_are_removed_later() {
    // MappingTestCase.check_weak_del_and_len_while_iterating, with the deaths happening
    // while the dictionary lends a value (its removal is queued): `len`, lookups by a new
    // object and inserts all see the dictionary without them.
    let dict = WeakKeyDictionary::new();
    let objects: Vec<_> = (0..6).map(object).collect();
    for o in &objects {
        dict.insert(o, Payload(o.arg));
    }
    let mut objects = objects.into_iter();
    let kept: Vec<_> = objects.by_ref().take(2).collect();
    DROPPED_BY_CLONE.with(|d| d.borrow_mut().extend(objects));
    let items = dict.items();
    assert!(items.len() >= 2 && items.len() <= 3, "the first clone kills the other four");
    drop(items);
    assert_eq!(dict.len(), 2);
    let newcomer = object(9);
    assert!(!dict.contains_key(&newcomer));
    dict.insert(&newcomer, Payload(9));
    assert_eq!(dict.len(), 3);
    assert!(kept.iter().all(|o| dict.get(o) == Some(Payload(o.arg))));
}

/// Puts the thread's thresholds back when the test ends, also by a panic (CPython's
/// `addCleanup(gc.set_threshold, *gc.get_threshold())`).
struct RestoreThresholds((usize, usize, usize));

impl Drop for RestoreThresholds {
    fn drop(&mut self) {
        let (t0, t1, t2) = self.0;
        gen_gc::set_threshold(t0, t1, t2);
    }
}

#[test]
fn test_threaded_weak_key_dict_copy() {
    // MappingTestCase.test_threaded_weak_key_dict_copy (issue #35615), on one thread: keys
    // in cycles become garbage and collections run at every allocation the copy makes (the
    // values' clones allocate), so keys die in the middle of the copy.
    let _restore = RestoreThresholds(gen_gc::get_threshold());
    let count = if cfg!(miri) { 40 } else { 2_000 };
    let dict = WeakKeyDictionary::new();
    let mut keys: Vec<_> = (0..count).map(ref_cycle).collect();
    for k in &keys {
        dict.insert(k, Payload(k.arg));
    }
    gen_gc::set_threshold(1, 1, 1);
    for k in &keys {
        *k.cycle.borrow_mut() = None;
    }
    keys.retain(|k| k.arg % 3 == 0);
    for k in &keys {
        *k.cycle.borrow_mut() = Some(k.clone());
    }
    let copy = dict.copy();
    gen_gc::collect();
    assert_eq!(copy.len(), keys.len());
    assert_eq!(dict.len(), keys.len());
    assert!(keys.iter().all(|k| copy.get(k) == Some(Payload(k.arg))));
    for k in &keys {
        *k.cycle.borrow_mut() = None;
    }
}

/// A key of a weak-valued dictionary whose clone allocates, so that it may start a
/// collection while the dictionary is copied.
#[derive(Debug, PartialEq, Eq, Hash)]
struct AllocatingKey(u32);

impl Clone for AllocatingKey {
    fn clone(&self) -> Self {
        drop(Gc::new(Object { arg: self.0, cycle: RefCell::new(None) }));
        AllocatingKey(self.0)
    }
}

#[test]
fn test_threaded_weak_value_dict_copy() {
    // MappingTestCase.test_threaded_weak_value_dict_copy (issue #35615), on one thread:
    // values in cycles die in collections run by the copy's own allocations.
    let _restore = RestoreThresholds(gen_gc::get_threshold());
    let count = if cfg!(miri) { 40 } else { 2_000 };
    let dict = WeakValueDictionary::new();
    let mut values: Vec<_> = (0..count).map(ref_cycle).collect();
    for v in &values {
        dict.insert(AllocatingKey(v.arg), v);
    }
    gen_gc::set_threshold(1, 1, 1);
    for v in &values {
        *v.cycle.borrow_mut() = None;
    }
    values.retain(|v| v.arg % 3 == 0);
    for v in &values {
        *v.cycle.borrow_mut() = Some(v.clone());
    }
    let copy = dict.copy();
    gen_gc::collect();
    assert_eq!(copy.len(), values.len());
    assert!(values.iter().all(|v| copy.get(&AllocatingKey(v.arg)).is_some_and(|got| Gc::ptr_eq(&got, v))));
    for v in &values {
        *v.cycle.borrow_mut() = None;
    }
}

#[test]
fn getweakrefcount_follows_entries_finalizers_and_proxies() {
    // ReferencesTestCase.test_getweakrefcount, with the other weak handles: a container
    // entry and a `finalize` count one each, and stop counting once removed or detached.
    let o = object(1);
    assert_eq!(weak_collections::getweakrefcount(&o), 0);
    let set = WeakSet::new();
    set.add(&o);
    let f = finalize(&o, || {});
    let p = proxy(&o);
    assert_eq!(weak_collections::getweakrefcount(&o), 3);
    set.remove(&o);
    assert_eq!(weak_collections::getweakrefcount(&o), 2);
    drop(f.detach());
    assert_eq!(weak_collections::getweakrefcount(&o), 1);
    drop(p);
    assert_eq!(weak_collections::getweakrefcount(&o), 0);
}

#[test]
fn a_finalizer_without_atexit_runs_when_its_object_dies_with_a_thread_local() {
    // FinalizeTestCase.test_atexit's rule, from Python's shutdown: a finalizer whose object
    // dies as the thread ends runs whatever its `atexit`.
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = ran.clone();
    std::thread::spawn(move || {
        let o = object(1);
        let f = finalize(&o, move || seen.store(true, std::sync::atomic::Ordering::SeqCst));
        f.set_atexit(false);
        thread_local!(static KEEP: RefCell<Option<Gc<Object>>> = const { RefCell::new(None) });
        KEEP.with(|keep| *keep.borrow_mut() = Some(o));
    })
    .join()
    .unwrap();
    assert!(ran.load(std::sync::atomic::Ordering::SeqCst));
}

#[test]
fn a_callback_dropped_by_a_newer_callback_of_the_same_death_still_runs() {
    // None: CPython's `PyObject_ClearWeakRefs` holds every weak reference of the dying object
    // until its callback has run, so a callback that drops another reference of the same
    // death does not cancel that one's callback. By reference counting and by the collector.
    #[derive(Trace)]
    struct Node {
        cycle: RefCell<Option<Gc<Node>>>,
    }
    for in_a_cycle in [false, true] {
        let o = Gc::new(Node { cycle: RefCell::new(None) });
        if in_a_cycle {
            *o.cycle.borrow_mut() = Some(o.clone());
        }
        let events = log();
        let older_events = events.clone();
        let older = Gc::downgrade_with_callback(&o, move |_| older_events.borrow_mut().push("older".to_owned()));
        let holder = RefCell::new(Some(older));
        let newer_events = events.clone();
        let _newer = Gc::downgrade_with_callback(&o, move |_| {
            drop(holder.borrow_mut().take());
            newer_events.borrow_mut().push("newer".to_owned());
        });
        drop(o);
        gen_gc::collect();
        assert_eq!(entries(&events), ["newer", "older"], "in a cycle: {in_a_cycle}");
    }
}

/// A member of a set that looks at the set while it dies: from its finalizer (CPython's
/// `__del__`) and from its `Drop`.
#[derive(Trace)]
#[trace(finalize)]
struct Inspector {
    #[trace(skip)]
    set: Rc<WeakSet<Inspector>>,
    cycle: RefCell<Option<Gc<Inspector>>>,
    #[trace(skip)]
    log: Log,
}

impl cyclegc::Finalize for Inspector {
    fn finalize(&self) {
        let seen = format!("finalize: len {}, met {}", self.set.len(), self.set.iter().count());
        self.log.borrow_mut().push(seen);
    }
}

impl Drop for Inspector {
    fn drop(&mut self) {
        let seen = format!("drop: len {}, met {}", self.set.len(), self.set.iter().count());
        self.log.borrow_mut().push(seen);
    }
}

#[test]
fn a_dying_member_sees_itself_in_its_finalizer_and_gone_in_its_drop() {
    // ReferencesTestCase.test_ref_created_during_del's setting: by reference counting,
    // CPython's `__del__` runs before the weak references are cleared (the set still holds
    // the object, and iterating it hands the object out and back without a second death);
    // its memory goes after, when the set no longer has it. By the collector, the weak
    // references are cleared first (`handle_weakrefs` before `finalize_garbage`).
    let set = Rc::new(WeakSet::new());
    let events = log();
    let o = Gc::new(Inspector { set: set.clone(), cycle: RefCell::new(None), log: events.clone() });
    set.add(&o);
    drop(o);
    assert_eq!(entries(&events), ["finalize: len 1, met 1", "drop: len 0, met 0"]);
    assert!(set.is_empty());

    let events = log();
    let o = Gc::new(Inspector { set: set.clone(), cycle: RefCell::new(None), log: events.clone() });
    *o.cycle.borrow_mut() = Some(o.clone());
    set.add(&o);
    drop(o);
    gen_gc::collect();
    assert_eq!(entries(&events), ["finalize: len 0, met 0", "drop: len 0, met 0"]);
}

/// An object whose finalizer adds it to a set, without resurrecting it.
#[derive(Trace)]
#[trace(finalize)]
struct Joiner {
    me: Weak<Joiner>,
    cycle: RefCell<Option<Gc<Joiner>>>,
    #[trace(skip)]
    set: Rc<WeakSet<Joiner>>,
}

impl cyclegc::Finalize for Joiner {
    fn finalize(&self) {
        let me = self.me.upgrade().or_else(|| self.cycle.borrow().clone());
        if let Some(me) = me {
            self.set.add(&me);
        }
    }
}

#[test]
fn a_member_added_by_its_own_finalizer_leaves_when_it_dies() {
    // ReferencesTestCase.test_ref_created_during_del, with a set entry for the weak
    // reference: made while the object is finalized, it goes when the object dies, by
    // reference counting or by the collector.
    let set = Rc::new(WeakSet::new());
    let o = Gc::new_cyclic(|me| Joiner { me: me.clone(), cycle: RefCell::new(None), set: set.clone() });
    drop(o);
    assert!(set.is_empty());
    assert_eq!(set.iter().count(), 0);

    let o = Gc::new_cyclic(|me| Joiner { me: me.clone(), cycle: RefCell::new(None), set: set.clone() });
    *o.cycle.borrow_mut() = Some(o.clone());
    let watch = Gc::downgrade(&o);
    drop(o);
    gen_gc::collect();
    assert!(watch.is_dead());
    assert!(set.is_empty());
    assert_eq!(set.iter().count(), 0);
}

/// A member whose `Eq` and `Hash` read the set it is compared in (its length), as a
/// Python `__eq__` may.
#[derive(Trace)]
struct Nosy {
    arg: u32,
    #[trace(skip)]
    set: RefCell<Option<std::rc::Weak<WeakSet<Nosy, ByValue>>>>,
    #[trace(skip)]
    seen: Cell<usize>,
}

impl Nosy {
    fn look(&self) {
        if let Some(set) = self.set.borrow().as_ref().and_then(std::rc::Weak::upgrade) {
            self.seen.set(self.seen.get().max(set.len()));
        }
    }
}

impl PartialEq for Nosy {
    fn eq(&self, other: &Self) -> bool {
        self.look();
        self.arg == other.arg
    }
}

impl Eq for Nosy {}

impl std::hash::Hash for Nosy {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.look();
        self.arg.hash(state);
    }
}

#[test]
fn a_by_value_members_eq_and_hash_may_read_the_set() {
    // none: test_weakset's SetWithEqReadingIt spirit; CPython's __eq__ may read its set.
    let set = Rc::new(WeakSet::<Nosy, ByValue>::by_value());
    let nosy = |arg| Gc::new(Nosy { arg, set: RefCell::new(Some(Rc::downgrade(&set))), seen: Cell::new(0) });
    let (a, b, c) = (nosy(1), nosy(1), nosy(2));
    assert!(set.add(&a));
    assert!(!set.add(&b), "an equal member is there");
    assert!(set.contains(&b));
    assert!(set.add(&c));
    assert!(b.seen.get() >= 1, "b's Eq and Hash read the set while it was looked up");
    assert!(set.remove(&b), "removes a, the equal member");
    assert_eq!(set.len(), 1);
    assert!(set.contains(&c) && !set.contains(&a));
}

#[test]
fn a_by_value_keys_eq_may_read_its_weak_key_dictionary() {
    // none: the same for WeakKeyDictionary (test_weakref's KeyedDict with an __eq__ that reads).
    #[derive(Trace)]
    struct Key {
        arg: u32,
        #[trace(skip)]
        dict: RefCell<Option<std::rc::Weak<WeakKeyDictionary<Key, u32, ByValue>>>>,
    }
    impl PartialEq for Key {
        fn eq(&self, other: &Self) -> bool {
            if let Some(dict) = self.dict.borrow().as_ref().and_then(std::rc::Weak::upgrade) {
                assert!(!dict.is_empty(), "a key compared with is in the map");
            }
            self.arg == other.arg
        }
    }
    impl Eq for Key {}
    impl std::hash::Hash for Key {
        fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
            self.arg.hash(state);
        }
    }
    let dict = Rc::new(WeakKeyDictionary::<Key, u32, ByValue>::by_value());
    let key = |arg| Gc::new(Key { arg, dict: RefCell::new(Some(Rc::downgrade(&dict))) });
    let (a, b) = (key(7), key(7));
    assert_eq!(dict.insert(&a, 1), None);
    assert_eq!(dict.insert(&b, 2), Some(1), "an equal key replaces the value");
    assert_eq!(dict.get(&a), Some(2));
    assert_eq!(dict.remove(&b), Some(2));
    assert!(dict.is_empty());
}

/// The dictionary a [`Reading`] key reads, once it is set.
type ReadDict = Rc<RefCell<Option<std::rc::Weak<WeakValueDictionary<Reading, Object>>>>>;

/// A key of a weak-valued dictionary whose `Eq` reads the dictionary it is looked up in.
#[derive(Clone)]
struct Reading {
    arg: u32,
    dict: ReadDict,
}

impl PartialEq for Reading {
    fn eq(&self, other: &Self) -> bool {
        if let Some(dict) = self.dict.borrow().as_ref().and_then(std::rc::Weak::upgrade) {
            let _ = dict.len();
            let _ = dict.keys().count();
        }
        self.arg == other.arg
    }
}

impl Eq for Reading {}

impl std::hash::Hash for Reading {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.arg.hash(state);
    }
}

#[test]
fn a_keys_eq_may_read_its_weak_value_dictionary() {
    // none: a WeakValueDictionary whose key __eq__ reads the dictionary.
    let dict = Rc::new(WeakValueDictionary::new());
    let shared = Rc::new(RefCell::new(Some(Rc::downgrade(&dict))));
    let key = |arg| Reading { arg, dict: shared.clone() };
    let (x, y) = (object(1), object(2));
    assert!(dict.insert(key(1), &x).is_none());
    assert!(dict.insert(key(1), &y).is_some_and(|old| Gc::ptr_eq(&old, &x)), "the equal key's value is replaced");
    assert!(dict.get(&key(1)).is_some_and(|value| Gc::ptr_eq(&value, &y)));
    assert!(dict.remove(&key(1)).is_some_and(|value| Gc::ptr_eq(&value, &y)));
    assert!(dict.is_empty());
    shared.borrow_mut().take();
}

#[test]
fn a_by_value_members_eq_that_changes_the_set_panics_and_leaves_it_whole() {
    // none: CPython restarts a lookup its __eq__ changed; here the change is refused.
    #[derive(Trace)]
    struct Meddler {
        arg: u32,
        #[trace(skip)]
        set: RefCell<Option<std::rc::Weak<WeakSet<Meddler, ByValue>>>>,
        #[trace(skip)]
        other: RefCell<Option<Gc<Meddler>>>,
    }
    impl PartialEq for Meddler {
        fn eq(&self, other: &Self) -> bool {
            let set = self.set.borrow().as_ref().and_then(std::rc::Weak::upgrade);
            if let (Some(set), Some(extra)) = (set, self.other.borrow().as_ref()) {
                set.add(extra);
            }
            self.arg == other.arg
        }
    }
    impl Eq for Meddler {}
    impl std::hash::Hash for Meddler {
        fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
            self.arg.hash(state);
        }
    }
    let set = Rc::new(WeakSet::<Meddler, ByValue>::by_value());
    let plain = |arg| Gc::new(Meddler { arg, set: RefCell::new(None), other: RefCell::new(None) });
    let (a, extra) = (plain(1), plain(9));
    let meddler = Gc::new(Meddler {
        arg: 1,
        set: RefCell::new(Some(Rc::downgrade(&set))),
        other: RefCell::new(Some(extra.clone())),
    });
    assert!(set.add(&meddler), "no equal member: its Eq does not run");
    // Adding an equal member compares it with the meddler, whose Eq adds to the set.
    let result = catch_unwind(AssertUnwindSafe(|| set.add(&a)));
    assert!(result.is_err(), "adding from inside a lookup is refused");
    meddler.other.borrow_mut().take();
    assert_eq!(set.len(), 1);
    assert!(set.contains(&a), "a finds the meddler, its equal");
    assert!(!set.contains(&extra));
    assert!(set.add(&extra));
    assert_eq!(set.len(), 2);
}

/// How many entries the shrinking tests make: enough for the buffers to be far larger than
/// what a few survivors need.
const BURST: u32 = if cfg!(miri) { 100 } else { 10_000 };

fn plain_object(arg: u32) -> Gc<Object> {
    Gc::new(Object { arg, cycle: RefCell::new(None) })
}

#[test]
fn a_map_emptied_by_deaths_gives_its_room_back_on_shrink_to_fit_and_keeps_working() {
    let map = WeakValueDictionary::new();
    let mut objects: Vec<Gc<Object>> = (0..BURST).map(plain_object).collect();
    for object in &objects {
        map.insert(object.arg, object);
    }
    let peak = map.capacity();
    assert!(peak >= BURST as usize);
    // Survivors at both ends of the slab, and one in the middle.
    let survivors: Vec<Gc<Object>> =
        [0, BURST / 2, BURST - 1].iter().map(|&arg| objects[arg as usize].clone()).collect();
    objects.clear();
    assert_eq!(map.len(), 3);
    assert_eq!(map.capacity(), peak, "deaths keep the room, as removals from a HashMap do");
    map.shrink_to_fit();
    assert!(map.capacity() < peak);
    assert_eq!(map.len(), 3);
    for survivor in &survivors {
        assert!(Gc::ptr_eq(&map.get(&survivor.arg).unwrap(), survivor));
    }
    let mut keys: Vec<u32> = map.keys().collect();
    keys.sort();
    assert_eq!(keys, [0, BURST / 2, BURST - 1]);
    // Inserts and deaths after the shrink.
    let fresh: Vec<Gc<Object>> = (BURST..BURST + 50).map(plain_object).collect();
    for object in &fresh {
        map.insert(object.arg, object);
    }
    assert_eq!(map.len(), 53);
    drop(fresh);
    let [first, middle, last]: [Gc<Object>; 3] = survivors.try_into().unwrap();
    drop(middle);
    assert_eq!(map.len(), 2);
    map.shrink_to_fit();
    assert_eq!(map.len(), 2);
    assert!(map.contains_key(&0) && map.contains_key(&(BURST - 1)));
    drop((first, last));
    assert!(map.is_empty());
    map.shrink_to_fit();
    assert_eq!(map.capacity(), 0);
    let again = plain_object(7);
    map.insert(7, &again);
    assert!(Gc::ptr_eq(&map.get(&7).unwrap(), &again));
}

/// none: `with_capacity` and `reserve`, as `HashMap`'s: the room is there before the inserts,
/// and entries whose objects died are removed before the room is counted.
#[test]
fn reserved_room_takes_inserts_without_growing_and_dead_entries_go_first() {
    let objects: Vec<Gc<Object>> = (0..BURST).map(plain_object).collect();
    let set = WeakSet::with_capacity(BURST as usize);
    let by_value = WeakSet::by_value();
    by_value.reserve(BURST as usize);
    let keys = WeakKeyDictionary::with_capacity(BURST as usize);
    let values = WeakValueDictionary::with_capacity(BURST as usize);
    let rooms = [set.capacity(), by_value.capacity(), keys.capacity(), values.capacity()];
    assert!(rooms.iter().all(|&room| room >= BURST as usize), "{rooms:?}");
    for object in &objects {
        set.add(object);
        by_value.add(object);
        keys.insert(object, object.arg);
        values.insert(object.arg, object);
    }
    assert_eq!([set.capacity(), by_value.capacity(), keys.capacity(), values.capacity()], rooms);
    assert_eq!([set.len(), by_value.len(), keys.len(), values.len()], [BURST as usize; 4]);

    // Half the objects die: `reserve` removes their entries before it counts the room.
    let survivors: Vec<Gc<Object>> = objects.iter().step_by(2).cloned().collect();
    drop(objects);
    let more = 3 * BURST as usize;
    set.reserve(more);
    by_value.reserve(more);
    keys.reserve(more);
    values.reserve(more);
    let alive = survivors.len();
    assert_eq!([set.len(), by_value.len(), keys.len(), values.len()], [alive; 4]);
    assert!(set.capacity() >= alive + more && by_value.capacity() >= alive + more);
    assert!(keys.capacity() >= alive + more && values.capacity() >= alive + more);
    for survivor in &survivors {
        assert!(set.contains(survivor) && by_value.contains(survivor) && keys.contains_key(survivor));
        assert!(Gc::ptr_eq(&values.get(&survivor.arg).unwrap(), survivor));
    }
    // The room reserved is used: new entries, and deaths after them, as in any container.
    let fresh: Vec<Gc<Object>> = (BURST..2 * BURST).map(plain_object).collect();
    set.update(&fresh);
    values.update(fresh.iter().map(|object| (object.arg, object)));
    assert_eq!(set.len(), alive + fresh.len());
    assert_eq!(values.len(), alive + fresh.len());
    drop(fresh);
    assert_eq!(set.len(), alive);
    assert_eq!(values.len(), alive);
    assert_eq!(set.iter().count(), alive);
}

/// The slot a stale index entry points at (left by a death) is reused only after the index
/// is swept: inserts `n` entries after `reserve(n)` into a container whose index has such
/// entries, and checks that the room held.
fn fill_after_deaths_holds_the_room<C>(
    container: &C,
    reserve: impl Fn(&C, usize),
    add: impl Fn(&C, &Gc<Object>),
    capacity: impl Fn(&C) -> usize,
) {
    let objects: Vec<Gc<Object>> = (0..64).map(plain_object).collect();
    for object in &objects {
        add(container, object);
    }
    let survivors: Vec<Gc<Object>> = objects[20..].to_vec();
    drop(objects);
    reserve(container, 200);
    let room = capacity(container);
    let fresh: Vec<Gc<Object>> = (1000..1200).map(plain_object).collect();
    for (i, object) in fresh.iter().enumerate() {
        add(container, object);
        assert_eq!(capacity(container), room, "the room reserved grew at insert {i}");
    }
    drop(survivors);
}

/// none: `reserve` counts the slots that deaths left behind stale index entries as taken.
#[test]
fn reserved_room_holds_in_a_container_with_stale_index_entries() {
    let values = WeakValueDictionary::new();
    fill_after_deaths_holds_the_room(
        &values,
        |map, n| map.reserve(n),
        |map, object| {
            map.insert(object.arg, object);
        },
        WeakValueDictionary::capacity,
    );
    let by_value = WeakSet::by_value();
    fill_after_deaths_holds_the_room(
        &by_value,
        |set, n| set.reserve(n),
        |set, object| {
            set.add(object);
        },
        WeakSet::capacity,
    );
    let keys = WeakKeyDictionary::by_value();
    fill_after_deaths_holds_the_room(
        &keys,
        |map, n| map.reserve(n),
        |map, object| {
            map.insert(object, object.arg);
        },
        WeakKeyDictionary::capacity,
    );
}

/// none: keys that crowd the index make it mix every hash and rebuild; the room reserved
/// stays.
#[test]
fn reserved_room_survives_keys_that_crowd_the_index() {
    let n = if cfg!(miri) { 200 } else { 1500 };
    let map = WeakValueDictionary::with_capacity(n);
    let room = map.capacity();
    let objects: Vec<Gc<Object>> = (0..n as u32).map(plain_object).collect();
    for object in &objects {
        // Keys side by side in their stored hashes, 15 << 16 apart: they crowd the index.
        map.insert(u64::from(object.arg) * (15 << 16), object);
        assert_eq!(map.capacity(), room, "the room reserved changed at key {}", object.arg);
    }
}

/// none: an `update` with nothing to add does nothing, even where changing the map panics
/// (from a value's `Clone` while the map is iterated).
#[test]
fn an_empty_update_from_inside_an_iteration_does_nothing() {
    /// The map a value's `Clone` updates, once it is set.
    type Owner = Rc<RefCell<Option<Rc<WeakKeyDictionary<Object, Value>>>>>;
    #[derive(Default)]
    struct Value(Owner);
    impl Clone for Value {
        fn clone(&self) -> Self {
            if let Some(map) = self.0.borrow().as_ref() {
                map.update(Vec::<(Gc<Object>, Value)>::new());
            }
            Value(self.0.clone())
        }
    }
    let cell = Rc::new(RefCell::new(None));
    let map = Rc::new(WeakKeyDictionary::new());
    let key = plain_object(1);
    map.insert(&key, Value(cell.clone()));
    *cell.borrow_mut() = Some(map.clone());
    assert_eq!(map.items().len(), 1);
    *cell.borrow_mut() = None;
}

/// none: `collect` and `extend` make room for the iterator's lower bound, as `HashMap`'s do.
#[test]
fn collecting_into_a_container_reserves_for_the_items() {
    let objects: Vec<Gc<Object>> = (0..BURST).map(plain_object).collect();
    let set: WeakSet<Object> = objects.iter().collect();
    assert!(set.capacity() >= BURST as usize);
    assert_eq!(set.len(), BURST as usize);
    // An iterator that says it has more than it gives: the room is only room.
    let mut twice: WeakSet<Object> = WeakSet::new();
    twice.extend(objects.iter().take(3).chain(objects.iter().take(3)));
    assert_eq!(twice.len(), 3);
    let values: WeakValueDictionary<u32, Object> = objects.iter().map(|object| (object.arg, object)).collect();
    assert!(values.capacity() >= BURST as usize);
    assert_eq!(values.len(), BURST as usize);
}

#[test]
fn shrinking_a_set_and_a_key_dictionary_keeps_their_live_entries_and_their_deaths() {
    let set = WeakSet::new();
    let dict = WeakKeyDictionary::new();
    let mut objects: Vec<Gc<Object>> = (0..BURST).map(plain_object).collect();
    for object in &objects {
        set.add(object);
        dict.insert(object, object.arg * 2);
    }
    // A weak reference the set made, kept past its entry's removal: it still reports under
    // a tag the shrunk set no longer has.
    let kept_key_refs = dict.keyrefs();
    let low = objects[1].clone();
    let high = objects[BURST as usize - 2].clone();
    // The last entry is removed by hand while its object lives on, its weak reference kept:
    // after the shrink, that weak reference's tag is past the end of the slab.
    let removed = objects[BURST as usize - 1].clone();
    let removed_ref = kept_key_refs.iter().find(|weak| weak.upgrade().is_some_and(|key| Gc::ptr_eq(&key, &removed)));
    let removed_ref = removed_ref.expect("every key has its weak reference").clone();
    assert_eq!(dict.remove(&removed), Some(2 * (BURST - 1)));
    assert!(set.remove(&removed));
    objects.clear();
    set.shrink_to_fit();
    dict.shrink_to_fit();
    drop(removed);
    assert!(removed_ref.upgrade().is_none());
    assert!(set.capacity() < BURST as usize && dict.capacity() < BURST as usize);
    assert!(set.contains(&low) && set.contains(&high) && set.len() == 2);
    assert_eq!((dict.get(&low), dict.get(&high)), (Some(2), Some(2 * (BURST - 2))));
    let mut members: Vec<u32> = set.iter().map(|member| member.arg).collect();
    members.sort();
    assert_eq!(members, [1, BURST - 2]);
    assert_eq!(kept_key_refs.iter().filter(|weak| weak.upgrade().is_some()).count(), 2);
    assert_eq!((set.len(), dict.len()), (2, 2));
    drop(high);
    assert_eq!((set.len(), dict.len()), (1, 1));
    assert!(set.contains(&low) && dict.contains_key(&low));
    drop(kept_key_refs);
    drop(low);
    assert!(set.is_empty() && dict.is_empty());
}

#[test]
fn a_proxy_prints_its_objects_type_and_address_whatever_the_type() {
    trait Subscriber {
        fn topic(&self) -> &str;
    }
    #[derive(Trace)]
    struct Logger {
        topic: String,
    }
    impl Subscriber for Logger {
        fn topic(&self) -> &str {
            &self.topic
        }
    }
    let logger = Gc::new(Logger { topic: "all".into() });
    let subscriber: Gc<dyn Subscriber> = cyclegc::coerce_gc!(logger.clone());
    let proxy = proxy(&subscriber);
    assert_eq!(proxy.with(|s| s.topic().len()), Ok(3));
    let text = format!("{proxy:?}");
    assert_eq!(text, format!("<weakproxy to Logger at {:#x}>", Gc::addr(&logger)));
    drop((logger, subscriber));
    assert_eq!(format!("{proxy:?}"), "<weakproxy to a dead object>");
}

/// Keys of every shape the index hashes differently: integers by value (negative ones too,
/// and ones that crowd the index until it mixes their hashes), and mixed ones (strings,
/// tuples, wide integers). Every key is found, removed and found absent, whatever the
/// index does with its hash.
#[test]
fn keys_of_every_shape_are_found_and_removed() {
    fn check<K: std::hash::Hash + Eq + Clone + std::fmt::Debug + 'static>(keys: Vec<K>) {
        let objects: Vec<Gc<Object>> = (0..keys.len() as u32).map(object).collect();
        let dict = WeakValueDictionary::new();
        for (key, value) in keys.iter().zip(&objects) {
            dict.insert(key.clone(), value);
        }
        assert_eq!(dict.len(), keys.len());
        for (key, value) in keys.iter().zip(&objects) {
            assert!(Gc::ptr_eq(&dict.get(key).expect("a live entry"), value), "{key:?}");
        }
        // Every other value dies; the rest are removed by hand.
        let (dying, kept): (Vec<_>, Vec<_>) =
            keys.iter().cloned().zip(objects).enumerate().partition(|(n, _)| n % 2 == 0);
        drop(dying);
        assert_eq!(dict.len(), kept.len());
        for (n, key) in keys.iter().enumerate() {
            assert_eq!(dict.contains_key(key), n % 2 == 1, "{key:?}");
        }
        for (_, (key, value)) in &kept {
            assert!(Gc::ptr_eq(&dict.remove(key).expect("a live entry"), value), "{key:?}");
            assert!(dict.get(key).is_none(), "{key:?}");
        }
        assert!(dict.is_empty());
    }
    // Enough keys for the crowded ones to make the index mix its hashes natively.
    let n: i64 = if cfg!(miri) { 32 } else { 3_000 };
    check((-n..n).collect::<Vec<i64>>());
    check((0..n as u64).map(|k| k << 20).collect());
    // Homes all multiples of 2^20: these crowd the index.
    check((0..n as u64).map(|k| k * (15 << 16)).collect());
    check((0..n as u64).map(|k| k << 32 | 1).collect());
    check((0..n as u128).map(|k| k << 64 | k).collect());
    check((0..n).map(|k| format!("key {k}")).collect());
    check((0..n).map(|k| (k % 7, k)).collect());
}

/// `get_or_insert_with` builds the value only for a missing (or dead) entry; the builder runs
/// with the map free, and a panicking builder leaves the map as it was.
#[test]
fn get_or_insert_with_builds_only_what_is_missing() {
    let cache = WeakValueDictionary::new();
    let built = Cell::new(0);
    let make = |arg| {
        built.set(built.get() + 1);
        object(arg)
    };
    let first = cache.get_or_insert_with(1u32, || make(10));
    assert!(Gc::ptr_eq(&cache.get_or_insert_with(1, || make(11)), &first));
    assert_eq!(built.get(), 1);
    // A dead entry is missing.
    drop(first);
    assert_eq!(cache.get_or_insert_with(1, || make(12)).arg, 12);
    assert_eq!(built.get(), 2);
    // The builder may use the map; what it returns is stored.
    let other = object(20);
    let stored = cache.get_or_insert_with(2, || {
        cache.insert(2, &other);
        object(21)
    });
    assert_eq!(stored.arg, 21);
    assert!(Gc::ptr_eq(&cache.get(&2).expect("stored"), &stored));
    let panicked = catch_unwind(AssertUnwindSafe(|| cache.get_or_insert_with(3, || panic!("no value"))));
    assert!(panicked.is_err());
    assert!(!cache.contains_key(&3));

    let sizes = WeakKeyDictionary::new();
    let key = object(1);
    assert_eq!(sizes.get_or_insert_with(&key, || 5u32), 5);
    assert_eq!(sizes.get_or_insert_with(&key, || 6), 5);
    assert_eq!(sizes.len(), 1);
}

/// A key that counts its clones, to see which iterations copy keys.
#[derive(Debug)]
struct CountedKey(u32, Rc<Cell<usize>>);

impl PartialEq for CountedKey {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for CountedKey {}

impl std::hash::Hash for CountedKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl Clone for CountedKey {
    fn clone(&self) -> Self {
        self.1.set(self.1.get() + 1);
        CountedKey(self.0, Rc::clone(&self.1))
    }
}

/// none: `keys()`, `values()` and `iter()` of a `WeakValueDictionary` are named types (a
/// struct can hold one), meet only entries whose value lives, and `values()` copies no key.
#[test]
fn value_dict_keys_values_and_iter_are_named_and_skip_the_dead() {
    struct Listing {
        values: weak_collections::value_dict::Values<CountedKey, u32>,
        keys: weak_collections::value_dict::Keys<CountedKey, u32>,
    }
    let clones = Rc::new(Cell::new(0));
    let dict = WeakValueDictionary::new();
    let values: Vec<Gc<u32>> = (0..6).map(Gc::new).collect();
    for value in &values {
        dict.insert(CountedKey(**value, Rc::clone(&clones)), value);
    }
    let mut values = values;
    // The odd values die; their entries are not met.
    values.retain(|value| **value % 2 == 0);
    assert_eq!(clones.get(), 0);

    let listing = Listing { values: dict.values(), keys: dict.keys() };
    let mut live: Vec<u32> = listing.values.map(|value| *value).collect();
    live.sort_unstable();
    assert_eq!(live, [0, 2, 4]);
    assert_eq!(clones.get(), 0, "values() cloned a key");

    let mut keys: Vec<u32> = listing.keys.map(|key| key.0).collect();
    keys.sort_unstable();
    assert_eq!(keys, [0, 2, 4]);
    assert_eq!(clones.get(), 3, "keys() clones each live key once");

    let mut pairs: Vec<(u32, u32)> = dict.iter().map(|(key, value)| (key.0, *value)).collect();
    pairs.sort_unstable();
    assert_eq!(pairs, [(0, 0), (2, 2), (4, 4)]);

    // Values that die while an iteration is under way are not met after.
    let mut walk = dict.values();
    let first = walk.next().expect("three values live");
    values.clear();
    assert_eq!(walk.count(), 0, "a value that died during the walk was met");
    assert_eq!(dict.len(), 1);
    assert_eq!(dict.values().map(|value| *value).collect::<Vec<_>>(), [*first]);
    assert!(format!("{:?}", dict.values()).starts_with("weak_collections::value_dict::Values"));
}

/// none: `#[derive(Trace)]` on a generic type asks `Trace` only of what its weak containers
/// hold strongly: the objects of a `WeakSet`, a `WeakProxy`, a `WeakKeyDictionary`'s keys and
/// a `WeakValueDictionary`'s values may be trait objects, while a `WeakKeyDictionary`'s
/// values are traced (a cycle through one is collected).
#[test]
fn derive_asks_trace_only_of_what_weak_containers_hold_strongly() {
    trait Listener {
        fn id(&self) -> u32;
    }
    #[derive(Trace)]
    struct Button {
        id: u32,
    }
    impl Listener for Button {
        fn id(&self) -> u32 {
            self.id
        }
    }
    #[derive(Trace)]
    struct Panel<T: ?Sized + 'static, V: 'static> {
        listeners: WeakSet<T>,
        notes: WeakKeyDictionary<T, V>,
        by_id: WeakValueDictionary<u32, T>,
        first: Option<weak_collections::WeakProxy<T>>,
    }
    type NotedPanel = Panel<dyn Listener, Gc<Note>>;
    #[derive(Trace)]
    struct Note {
        panel: RefCell<Option<Gc<NotedPanel>>>,
    }

    let panel: Gc<NotedPanel> = Gc::new(Panel {
        listeners: WeakSet::new(),
        notes: WeakKeyDictionary::new(),
        by_id: WeakValueDictionary::new(),
        first: None,
    });
    let button: Gc<dyn Listener> = cyclegc::coerce_gc!(Gc::new(Button { id: 7 }));
    panel.listeners.add(&button);
    panel.by_id.insert(button.id(), &button);
    let panel_weak = Gc::downgrade(&panel);
    // The note, a value of the weak-keyed map, holds the panel: a cycle the collector sees
    // only through the map's values.
    let note = Gc::new(Note { panel: RefCell::new(Some(panel.clone())) });
    panel.notes.insert(&button, note);
    assert_eq!(panel.by_id.get(&7).map(|listener| listener.id()), Some(7));
    assert_eq!(panel.listeners.len(), 1);
    // Nothing outside holds the panel: with the map's values traced, the panel and its note
    // are a cycle of garbage, although the note's key lives on.
    drop(panel);
    assert!(panel_weak.upgrade().is_some(), "the note holds the panel until a collection");
    gen_gc::collect();
    assert!(panel_weak.upgrade().is_none(), "the cycle through the weak-keyed map's value was not collected");
    assert_eq!(button.id(), 7);
}

/// none: a `WeakKeyDictionary`'s `iter()` meets the entries `items()` lists, clones each
/// value only when it meets its entry, and skips keys that die while it runs.
#[test]
fn key_dict_iter_clones_values_as_it_meets_them_and_skips_the_dead() {
    let clones = Rc::new(Cell::new(0));
    let dict = WeakKeyDictionary::new();
    let keys: Vec<Gc<u32>> = (0..5).map(Gc::new).collect();
    for key in &keys {
        dict.insert(key, CountedKey(**key * 10, Rc::clone(&clones)));
    }
    let mut listed: Vec<(u32, u32)> = dict.items().into_iter().map(|(key, value)| (*key, value.0)).collect();
    listed.sort_unstable();
    assert_eq!(listed, [(0, 0), (1, 10), (2, 20), (3, 30), (4, 40)]);
    clones.set(0);

    let mut walk = dict.iter();
    let (first, value) = walk.next().expect("five keys live");
    assert_eq!((*first * 10, clones.get()), (value.0, 1), "one value cloned for one entry");
    let mut keys = keys;
    keys.retain(|key| Gc::ptr_eq(key, &first));
    let rest: Vec<(Gc<u32>, CountedKey)> = walk.collect();
    assert!(rest.is_empty(), "keys that died during the walk were met: {:?}", rest.len());
    assert_eq!(clones.get(), 1, "values of dead keys were cloned");
    assert_eq!(dict.len(), 1);
    assert!(format!("{:?}", dict.iter()).starts_with("weak_collections::key_dict::Items"));
}

/// none: a heap object may hold the `Finalizer` of another object in a field its
/// `#[derive(Trace)]` traces: a cycle of such objects is collected, and each finalizer runs
/// when the object it watches dies with them.
#[test]
fn objects_holding_finalizers_are_collected_and_the_finalizers_run() {
    #[derive(Trace)]
    struct Connection {
        port: u16,
    }
    #[derive(Trace)]
    struct Session {
        connection: Gc<Connection>,
        cleanup: Finalizer<Connection>,
        peer: RefCell<Option<Gc<Session>>>,
    }
    let closed = Rc::new(RefCell::new(Vec::new()));
    let session = |port: u16| {
        let connection = Gc::new(Connection { port });
        let log = Rc::clone(&closed);
        let cleanup = finalize(&connection, move || log.borrow_mut().push(port));
        Gc::new(Session { connection, cleanup, peer: RefCell::new(None) })
    };
    let (a, b) = (session(80), session(443));
    *a.peer.borrow_mut() = Some(b.clone());
    *b.peer.borrow_mut() = Some(a.clone());
    assert!(a.cleanup.alive() && b.cleanup.alive());
    assert_eq!(a.connection.port + b.connection.port, 523);
    let watch = Gc::downgrade(&a);
    drop((a, b));
    assert!(closed.borrow().is_empty(), "the sessions' cycle keeps the connections");
    gen_gc::collect();
    assert!(watch.upgrade().is_none(), "the cycle of sessions holding finalizers was not collected");
    let mut ports = closed.borrow().clone();
    ports.sort_unstable();
    assert_eq!(ports, [80, 443]);
}

#[test]
fn a_collected_cycle_holding_a_weak_set_leaves_its_surviving_members_whole() {
    // The collector marks the weak references garbage holds (when some callback may run, as
    // the one below makes sure); a set's entry that is also its member's shared weak
    // reference must come out of that unchanged, for the member's plain handles.
    #[derive(Trace)]
    struct Holder {
        members: WeakSet<Object>,
        me: RefCell<Option<Gc<Holder>>>,
    }
    let survivor = object(1);
    let doomed = ref_cycle(2);
    // Garbage holds every handle of this one's entry: the collector marks it, then unmarks
    // it as its object survives.
    let only_in_the_set = object(4);
    let holder = Gc::new(Holder { members: WeakSet::new(), me: RefCell::new(None) });
    *holder.me.borrow_mut() = Some(holder.clone());
    holder.members.add(&survivor);
    holder.members.add(&doomed);
    holder.members.add(&only_in_the_set);
    let plain = Gc::downgrade(&survivor);
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let _callback = Gc::downgrade_with_callback(&doomed, move |_| flag.set(true));
    let doomed_plain = Gc::downgrade(&doomed);
    drop((holder, doomed));
    gen_gc::collect();
    assert!(ran.get() && doomed_plain.upgrade().is_none());
    assert_eq!(plain.upgrade().map(|o| o.arg), Some(1));
    let later = Gc::downgrade(&only_in_the_set);
    drop(only_in_the_set);
    assert!(later.upgrade().is_none());
    drop(survivor);
    assert!(plain.upgrade().is_none());
    // The survivor, in a set again, is found and leaves it when it dies.
    let survivor = object(3);
    let set = WeakSet::new();
    set.add(&survivor);
    let again = Gc::downgrade(&survivor);
    assert!(set.contains(&survivor));
    drop(survivor);
    assert!(again.upgrade().is_none() && set.is_empty());
}

/// One of a cycle whose `Drop` puts the other into each container: when the collector frees
/// the cycle, the second `Drop` adds an object already dropped.
#[derive(Trace)]
struct Adder {
    other: RefCell<Option<Gc<Adder>>>,
    #[trace(skip)]
    into: Rc<Containers>,
}

struct Containers {
    set: WeakSet<Adder>,
    values: WeakValueDictionary<u8, Adder>,
    eager_values: WeakValueDictionary<String, Adder>,
    keys: WeakKeyDictionary<Adder, u8>,
    eager_keys: WeakKeyDictionary<Adder, String>,
}

impl Drop for Adder {
    fn drop(&mut self) {
        if let Some(other) = self.other.borrow().as_ref() {
            let into = &self.into;
            into.set.add(other);
            into.values.insert(0, other);
            into.eager_values.insert("0".to_string(), other);
            into.keys.insert(other, 0);
            into.eager_keys.insert(other, "0".to_string());
        }
    }
}

// none: a `__del__` that adds another object of its dying cycle to a weak container. The
// entry made for an object already dropped is gone as soon as the container is next used,
// as if the object had died just after: `len` agrees with iteration, in the containers that
// put removals off and in those that remove at once.
#[test]
fn an_entry_made_for_an_object_already_dropped_is_gone_at_the_next_operation() {
    let into = Rc::new(Containers {
        set: WeakSet::new(),
        values: WeakValueDictionary::new(),
        eager_values: WeakValueDictionary::new(),
        keys: WeakKeyDictionary::new(),
        eager_keys: WeakKeyDictionary::new(),
    });
    let others: Vec<Gc<Adder>> =
        (0..10).map(|_| Gc::new(Adder { other: RefCell::new(None), into: Rc::clone(&into) })).collect();
    for (n, other) in others.iter().enumerate() {
        into.set.add(other);
        into.values.insert(n as u8 + 1, other);
        into.eager_values.insert((n + 1).to_string(), other);
        into.keys.insert(other, n as u8 + 1);
        into.eager_keys.insert(other, (n + 1).to_string());
    }
    let a = Gc::new(Adder { other: RefCell::new(None), into: Rc::clone(&into) });
    let b = Gc::new(Adder { other: RefCell::new(Some(a.clone())), into: Rc::clone(&into) });
    *a.other.borrow_mut() = Some(b.clone());
    drop((a, b));
    gen_gc::collect();
    assert_eq!(into.set.len(), 10);
    assert_eq!(into.set.iter().count(), 10);
    assert_eq!(into.values.len(), 10);
    assert_eq!(into.values.iter().count(), 10);
    assert_eq!(into.eager_values.len(), 10);
    assert_eq!(into.eager_values.iter().count(), 10);
    assert_eq!(into.keys.len(), 10);
    assert_eq!(into.keys.keys().count(), 10);
    assert_eq!(into.eager_keys.len(), 10);
    assert_eq!(into.eager_keys.keys().count(), 10);
    assert!(into.values.get(&0).is_none() && into.eager_values.get("0").is_none());
    drop(others);
    assert!(into.set.is_empty() && into.values.is_empty() && into.eager_values.is_empty());
    assert!(into.keys.is_empty() && into.eager_keys.is_empty());
}

/// A cycle whose `Drop` makes a weak reference to the other object, watched by `watch`
/// under the number of weak references made before it, and keeps it.
#[derive(Trace)]
struct Watching {
    other: RefCell<Option<Gc<Watching>>>,
    #[trace(skip)]
    watch: rc_heap::Watcher,
    #[trace(skip)]
    made: Rc<RefCell<Vec<Weak<Watching>>>>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Some(other) = self.other.borrow().as_ref() {
            let tag = self.made.borrow().len();
            self.made.borrow_mut().push(Gc::downgrade_watched(other, &self.watch, tag));
        }
    }
}

/// A watcher that keeps the tags reported to it.
#[derive(Default)]
struct Reports(RefCell<Vec<usize>>);

impl rc_heap::DeathWatch for Reports {
    fn died(&self, tag: usize) {
        self.0.borrow_mut().push(tag);
    }
}

// none: the rc-heap side of the case above. A watched weak reference made to an object
// already dropped reads dead at once, and its death is told: marked in a deferred watcher's
// record, reported at once to another.
#[test]
fn a_watched_weak_reference_made_after_its_objects_death_tells_the_death() {
    let reports = Rc::new(Reports::default());
    for watch in [rc_heap::Watcher::deferred(), rc_heap::Watcher::new(Rc::downgrade(&reports) as _)] {
        let made = Rc::new(RefCell::new(Vec::new()));
        let new = || Gc::new(Watching { other: RefCell::new(None), watch: watch.clone(), made: Rc::clone(&made) });
        let (a, b) = (new(), new());
        *a.other.borrow_mut() = Some(b.clone());
        *b.other.borrow_mut() = Some(a.clone());
        drop((a, b));
        gen_gc::collect();
        // The first `Drop` watched an object still whole, which then died; the second, one
        // already dropped.
        assert_eq!(made.borrow().len(), 2);
        assert!(made.borrow().iter().all(Weak::is_dead));
        if watch.is_deferred() {
            let mut taken = Vec::new();
            watch.take_deaths(|tag| taken.push(tag));
            assert_eq!(taken, [0, 1]);
        } else {
            let mut reported = reports.0.borrow().clone();
            reported.sort_unstable();
            assert_eq!(reported, [0, 1]);
        }
    }
}

/// The containers are `Clone`, as `copy()`: a struct holding them derives `Clone`, and each
/// clone is a container of its own with the live entries of the original.
#[test]
fn containers_clone_into_independent_copies_of_their_live_entries() {
    #[derive(Clone, Default)]
    struct Registry {
        members: weak_collections::WeakSet<u32>,
        by_name: weak_collections::WeakValueDictionary<String, u32>,
        notes: weak_collections::WeakKeyDictionary<u32, String>,
    }
    let (a, b) = (cyclegc::Gc::new(1_u32), cyclegc::Gc::new(2_u32));
    let registry = Registry::default();
    for (name, object) in [("a", &a), ("b", &b)] {
        registry.members.add(object);
        registry.by_name.insert(name.to_owned(), object);
        registry.notes.insert(object, format!("note {name}"));
    }
    drop(b);
    let copy = registry.clone();
    assert_eq!((copy.members.len(), copy.by_name.len(), copy.notes.len()), (1, 1, 1), "the dead entry is not copied");
    assert_eq!(copy.notes.get(&a).as_deref(), Some("note a"));
    let c = cyclegc::Gc::new(3_u32);
    copy.members.add(&c);
    assert_eq!(registry.members.len(), 1, "the original is apart from its copy");
    drop(a);
    assert_eq!((copy.members.len(), copy.by_name.len(), copy.notes.len()), (1, 0, 0));
    assert_eq!(registry.members.len(), 0);
}

/// None (`HashMap::retain`): a member whose other handles the closure drops dies after the
/// set is no longer lent, so its `Drop` may use the set; its entry is gone then.
#[test]
fn retain_lets_a_member_die_after_the_set_is_lent() {
    #[derive(Trace)]
    struct Tell(#[trace(skip)] Rc<WeakSet<Tell>>, #[trace(skip)] Rc<Cell<Option<usize>>>);
    impl Drop for Tell {
        fn drop(&mut self) {
            self.1.set(Some(self.0.len()));
        }
    }
    let set = Rc::new(WeakSet::new());
    let seen = Rc::new(Cell::new(None));
    let mut held =
        vec![Gc::new(Tell(Rc::clone(&set), Rc::clone(&seen))), Gc::new(Tell(Rc::clone(&set), Rc::clone(&seen)))];
    for member in &held {
        set.add(member);
    }
    let first = Gc::downgrade(&held[0]);
    set.retain(|member| {
        if first.upgrade().is_some_and(|first| Gc::ptr_eq(&first, member)) {
            held.remove(0);
        }
        true
    });
    assert!(first.upgrade().is_none());
    assert_eq!(seen.get(), Some(1), "the dying member's Drop counted the set");
    assert_eq!(set.len(), 1);
}

/// None: the closure of `retain` may not use its own container, which says so and keeps what
/// it had decided.
#[test]
fn retain_from_its_own_closure_panics_and_keeps_the_removals_made() {
    let members: Vec<Gc<u32>> = (0..4).map(Gc::new).collect();
    let set: WeakSet<u32> = members.iter().collect();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        set.retain(|member| {
            if **member == 2 {
                set.add(Gc::new(9));
            }
            **member % 2 == 1
        })
    }));
    assert!(caught.is_err());
    let mut left: Vec<u32> = set.iter().map(|member| *member).collect();
    left.sort_unstable();
    assert_eq!(left, [1, 2, 3], "0 was removed before the panic");
}

/// Python's mappings compare by their items: weak maps too, over their live entries.
#[test]
fn weak_maps_compare_by_their_live_entries() {
    let (a, b) = (Gc::new(1_u32), Gc::new(2_u32));
    let keyed = WeakKeyDictionary::new();
    let other = WeakKeyDictionary::new();
    keyed.insert(&a, "a");
    other.insert(&a, "a");
    assert!(keyed == other);
    other.insert(&a, "changed");
    assert!(keyed != other);
    other.insert(&a, "a");
    keyed.insert(&b, "b");
    assert!(keyed != other);

    let values = WeakValueDictionary::new();
    let same = WeakValueDictionary::new();
    values.insert("one", &a);
    let equal_to_a = Gc::new(1_u32);
    same.insert("one", &equal_to_a);
    assert!(values == same, "equal values compare equal");
    drop(b);
    assert!(keyed == other, "the dead key's entry no longer counts");
    let c = Gc::new(3_u32);
    values.insert("three", &c);
    assert!(values != same);
    drop(c);
    assert!(values == same);
}

/// None (CPython's maps count such entries on, as their removal callbacks are garbage too):
/// a map whose values have drop glue, in a garbage cycle with its keys, saved by
/// `DEBUG_SAVEALL`, no longer counts the entries whose keys the collection cleared, and
/// drops their values at its next operation.
#[test]
fn a_saved_map_counts_no_entry_the_collection_cleared() {
    #[derive(Trace)]
    struct Node {
        name: &'static str,
        next: RefCell<Option<Gc<Node>>>,
        tags: WeakKeyDictionary<Node, String>,
        ids: WeakKeyDictionary<Node, u32>,
    }
    let node = |name| {
        Gc::new(Node { name, next: RefCell::new(None), tags: WeakKeyDictionary::new(), ids: WeakKeyDictionary::new() })
    };
    let (a, b) = (node("a"), node("b"));
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    a.tags.insert(&b, "peer".to_owned());
    a.ids.insert(&b, 2);
    drop((a, b));
    gen_gc::set_debug(gen_gc::DEBUG_SAVEALL);
    gen_gc::collect();
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    let saved = gen_gc::take_garbage();
    let a = saved.iter().find_map(|object| object.downcast::<Node>().filter(|node| node.name == "a")).expect("saved");
    assert_eq!((a.tags.len(), a.tags.keys().count(), a.tags.popitem().is_none()), (0, 0, true));
    assert!(a.tags.is_empty() && a.ids.is_empty());
    drop(a);
    drop(saved);
    gen_gc::collect();
}

/// None: a `Drop` that runs while the collector frees a cycle registers a weak callback and a
/// `finalize` on the other member, whose value is already dropped. Both run (at once, the death
/// being over) rather than never: CPython runs them when the cleared object is freed, later in
/// the same collection. The finalizer reads dead and stays in no registry.
#[test]
fn callbacks_registered_on_an_object_the_collector_dropped_run() {
    thread_local! {
        static RAN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
        static KEPT: RefCell<Vec<Finalizer<Member>>> = const { RefCell::new(Vec::new()) };
    }
    #[derive(Trace)]
    struct Member {
        name: &'static str,
        other: RefCell<Option<Gc<Member>>>,
    }
    impl Drop for Member {
        fn drop(&mut self) {
            let Some(other) = self.other.borrow().clone() else { return };
            if !Gc::is_dropped(&other) {
                return;
            }
            assert!(Gc::try_get(&other).is_err(), "the value is gone");
            let name = if self.name == "a" { "b" } else { "a" };
            let finalizer = finalize(&other, move || RAN.with(|ran| ran.borrow_mut().push(format!("finalize {name}"))));
            assert!(!finalizer.alive(), "the finalizer ran at once");
            assert!(finalizer.peek().is_none());
            KEPT.with(|kept| kept.borrow_mut().push(finalizer));
            let weak = Gc::downgrade_with_callback(&other, move |dead: Weak<Member>| {
                assert!(dead.upgrade().is_none());
                RAN.with(|ran| ran.borrow_mut().push(format!("callback {name}")));
            });
            assert!(weak.upgrade().is_none() && !weak.has_callback());
        }
    }
    std::thread::spawn(|| {
        let a = Gc::new(Member { name: "a", other: RefCell::new(None) });
        let b = Gc::new(Member { name: "b", other: RefCell::new(Some(a.clone())) });
        *a.other.borrow_mut() = Some(b);
        drop(a);
        assert_eq!(cyclegc::gc::collect(), 2);
        let ran = RAN.with(|ran| ran.take());
        assert_eq!(ran.len(), 2, "{ran:?}");
        let dropped_first = ran[0].strip_prefix("finalize ").expect("the finalizer first");
        assert_eq!(ran[1], format!("callback {dropped_first}"));
        KEPT.with(|kept| assert!(kept.borrow().iter().all(|finalizer| !finalizer.alive())));
        KEPT.with(|kept| kept.borrow_mut().clear());
    })
    .join()
    .expect("the test's thread");
}
