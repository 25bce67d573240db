//! Ports of CPython's `Lib/test/test_weakref.py` `MappingTestCase`: `WeakValueDictionary`
//! and `WeakKeyDictionary`.
//!
//! CPython's `Object(arg)` compares and hashes by `arg`; here it is a `Gc<Object>` whose value
//! does the same, and the weak-keyed dictionaries that CPython fills with `Object`s are
//! `WeakKeyDictionary::by_value()`, so that a new `Object` equal to a dead key finds what
//! CPython's finds. CPython's `C()` and `RefCycle()` compare by identity. A `KeyError` is a
//! `None` here. CPython's `gc.collect()` is `gen_gc::collect()`.
//!
//! A `WeakKeyDictionary`'s `items()` and `values()` are lists here (`Vec`), its lazy iteration
//! is `keys()`; the cases that keep an iterator alive over a weak-keyed dictionary use
//! `keys()`, as a list holding every key strongly would keep them all alive.
//!
//! Not ported, and why:
//! - `test_make_weak_valued_dict_misc`: Python constructor signatures (keyword arguments,
//!   `TypeError`s); a map is made here by `new()` and `update`, or `collect()` from pairs.
//! - The `__ror__` part of the union operator cases (`dict | weak_dict`): `&map | pairs`
//!   and `map |= pairs` are ported, with a `HashMap`'s pairs on the right.
//! - `test_make_weak_valued_dict_repr`, `test_make_weak_keyed_dict_repr`: `repr` formats.
//! - `test_threaded_weak_valued_setdefault`, `test_threaded_weak_valued_pop`,
//!   `test_threaded_weak_valued_consistency`, `test_threaded_weak_key_dict_copy`,
//!   `test_threaded_weak_key_dict_deepcopy`, `test_threaded_weak_value_dict_copy`,
//!   `test_threaded_weak_value_dict_deepcopy`: collections run by another thread under the
//!   GIL. There is one heap per thread and the containers are neither `Send` nor `Sync`;
//!   `test_weak_valued_consistency` is the single-threaded form of the consistency case.
//! - `test_remove_closure`: a CPython implementation detail (`_remove.__closure__`).
//! - `WeakValueDictionaryTestCase`, `WeakKeyDictionaryTestCase`: Python's generic mapping
//!   protocol tests (`mapping_tests.BasicTestMappingProtocol`).
//! - The `TypeError` parts of `test_weak_keyed_bad_delitem` and `test_weak_keys` (a key that
//!   cannot be weakly referenced, `34 in dict`), and the argument-error parts of
//!   `test_weak_valued_dict_update`: compile errors here.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use cyclegc::{Gc, Trace, Weak};
use weak_collections::{ByValue, WeakKeyDictionary, WeakValueDictionary, getweakrefcount};

/// CPython's `MappingTestCase.COUNT`.
const COUNT: u32 = 10;

/// CPython's `Object`: equal and hashed by `arg`.
#[derive(Trace, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Object {
    arg: u32,
}

fn object(arg: u32) -> Gc<Object> {
    Gc::new(Object { arg })
}

/// CPython's `C`: compares by identity (only `Gc::ptr_eq` is used on it).
#[derive(Trace)]
struct C {
    _nothing: (),
}

fn c() -> Gc<C> {
    Gc::new(C { _nothing: () })
}

/// CPython's `RefCycle`: an object that refers to itself.
#[derive(Trace)]
struct RefCycle {
    cycle: RefCell<Option<Gc<RefCycle>>>,
}

fn ref_cycle() -> Gc<RefCycle> {
    let o = Gc::new(RefCycle { cycle: RefCell::new(None) });
    *o.cycle.borrow_mut() = Some(o.clone());
    o
}

type KeyedDict = WeakKeyDictionary<Object, u32, ByValue>;

/// CPython's `make_weak_keyed_dict`.
fn make_weak_keyed_dict() -> (KeyedDict, Vec<Gc<Object>>) {
    let dict = WeakKeyDictionary::by_value();
    let objects: Vec<Gc<Object>> = (0..COUNT).map(object).collect();
    for o in &objects {
        dict.insert(o, o.arg);
    }
    (dict, objects)
}

/// CPython's `make_weak_valued_dict`.
fn make_weak_valued_dict() -> (WeakValueDictionary<u32, Object>, Vec<Gc<Object>>) {
    let dict = WeakValueDictionary::new();
    let objects: Vec<Gc<Object>> = (0..COUNT).map(object).collect();
    for o in &objects {
        dict.insert(o.arg, o);
    }
    (dict, objects)
}

/// Puts the thread's thresholds back when a test that changes them ends, also by a panic
/// (CPython's `addCleanup(gc.set_threshold, *gc.get_threshold())`).
struct RestoreThresholds((usize, usize, usize));

impl RestoreThresholds {
    fn now() -> Self {
        RestoreThresholds(gen_gc::get_threshold())
    }
}

impl Drop for RestoreThresholds {
    fn drop(&mut self) {
        let (t0, t1, t2) = self.0;
        gen_gc::set_threshold(t0, t1, t2);
    }
}

/// The thresholds `check_len_race` loops over: CPython's 1 to 99, a few of them under Miri.
fn race_thresholds() -> Vec<usize> {
    if cfg!(miri) { vec![1, 2, 7, 50] } else { (1..100).collect() }
}

// check_len_cycles

#[test]
fn test_weak_keyed_len_cycles() {
    let n = 20;
    let items: Vec<Gc<RefCycle>> = (0..n).map(|_| ref_cycle()).collect();
    let dct: WeakKeyDictionary<RefCycle, u32> = WeakKeyDictionary::new();
    dct.update(items.iter().map(|o| (o, 1)));
    // Keep an iterator alive.
    let mut it = dct.keys();
    drop(it.next());
    drop(items);
    gen_gc::collect();
    let n1 = dct.len();
    drop(it);
    gen_gc::collect();
    let n2 = dct.len();
    // One item may be kept alive inside the iterator.
    assert!([0, 1].contains(&n1), "n1 = {n1}");
    assert_eq!(n2, 0);
}

#[test]
fn test_weak_valued_len_cycles() {
    let n = 20;
    let items: Vec<Gc<RefCycle>> = (0..n).map(|_| ref_cycle()).collect();
    let dct: WeakValueDictionary<u32, RefCycle> = WeakValueDictionary::new();
    // CPython's `cons` gives every item the key 1: one entry, its value the last item.
    dct.update(items.iter().map(|o| (1, o)));
    let mut it = dct.items();
    drop(it.next());
    drop(items);
    gen_gc::collect();
    let n1 = dct.len();
    drop(it);
    gen_gc::collect();
    let n2 = dct.len();
    assert!([0, 1].contains(&n1), "n1 = {n1}");
    assert_eq!(n2, 0);
}

// check_len_race

#[test]
fn test_weak_keyed_len_race() {
    let _restore = RestoreThresholds::now();
    for th in race_thresholds() {
        let n = 20;
        gen_gc::collect_generation(0).expect("generation 0 exists");
        gen_gc::set_threshold(th, th, th);
        let items: Vec<Gc<RefCycle>> = (0..n).map(|_| ref_cycle()).collect();
        let dct: WeakKeyDictionary<RefCycle, u32> = WeakKeyDictionary::new();
        dct.update(items.iter().map(|o| (o, 1)));
        drop(items);
        // All items will be collected at the next collection.
        let mut it = dct.keys();
        drop(it.next());
        let n1 = dct.len();
        drop(it);
        let n2 = dct.len();
        assert!(n1 <= n, "threshold {th}: n1 = {n1}");
        assert!(n2 <= n1, "threshold {th}: n2 = {n2}, n1 = {n1}");
    }
}

#[test]
fn test_weak_valued_len_race() {
    let _restore = RestoreThresholds::now();
    for th in race_thresholds() {
        let n = 20;
        gen_gc::collect_generation(0).expect("generation 0 exists");
        gen_gc::set_threshold(th, th, th);
        let items: Vec<Gc<RefCycle>> = (0..n).map(|_| ref_cycle()).collect();
        let dct: WeakValueDictionary<u32, RefCycle> = WeakValueDictionary::new();
        dct.update(items.iter().map(|o| (1, o)));
        drop(items);
        let mut it = dct.items();
        drop(it.next());
        let n1 = dct.len();
        drop(it);
        let n2 = dct.len();
        assert!(n1 <= n, "threshold {th}: n1 = {n1}");
        assert!(n2 <= n1, "threshold {th}: n2 = {n2}, n1 = {n1}");
    }
}

#[test]
fn test_weak_values() {
    // This exercises d.copy(), d.items(), d[], del d[], len(d).
    let (dict, mut objects) = make_weak_valued_dict();
    for o in &objects {
        assert_eq!(getweakrefcount(o), 1);
        assert!(Gc::ptr_eq(o, &dict.get(&o.arg).unwrap()), "wrong object returned by weak dict!");
    }
    let mut items1: Vec<(u32, Gc<Object>)> = dict.items().collect();
    let mut items2: Vec<(u32, Gc<Object>)> = dict.copy().items().collect();
    items1.sort();
    items2.sort();
    assert_eq!(items1, items2, "cloning of weak-valued dictionary did not work!");
    drop((items1, items2));
    assert_eq!(dict.len(), COUNT as usize);
    objects.remove(0);
    gen_gc::collect();
    assert_eq!(dict.len(), COUNT as usize - 1, "deleting object did not cause dictionary update");
    drop(objects);
    gen_gc::collect();
    assert_eq!(dict.len(), 0, "deleting the values did not clear the dictionary");
    // Regression on SF bug #447152.
    let dict = WeakValueDictionary::new();
    assert!(dict.get(&1).is_none());
    dict.insert(2, c());
    gen_gc::collect();
    assert!(dict.get(&2).is_none());
}

#[test]
fn test_weak_keys() {
    // This exercises d.copy(), d.items(), d[] = v, d[], del d[], len(d), k in d. The keys
    // are the objects themselves, so identity finds them as CPython's equality does (a
    // by-value dictionary counts one weak reference per entry too:
    // `getweakrefcount_counts_one_per_by_value_entry`).
    let dict = WeakKeyDictionary::new();
    let mut objects: Vec<Gc<Object>> = (0..COUNT).map(object).collect();
    for o in &objects {
        dict.insert(o, o.arg);
    }
    for o in &objects {
        assert_eq!(getweakrefcount(o), 1, "wrong number of weak references to {o:?}!");
        assert_eq!(dict.get(o), Some(o.arg), "wrong object returned by weak dict!");
    }
    let mut items1 = dict.items();
    let mut items2 = dict.copy().items();
    items1.sort();
    items2.sort();
    assert_eq!(items1, items2, "cloning of weak-keyed dictionary did not work!");
    drop((items1, items2));
    assert_eq!(dict.len(), COUNT as usize);
    objects.remove(0);
    gen_gc::collect();
    assert_eq!(dict.len(), COUNT as usize - 1, "deleting object did not cause dictionary update");
    drop(objects);
    gen_gc::collect();
    assert_eq!(dict.len(), 0, "deleting the keys did not clear the dictionary");
    let o = object(42);
    // CPython's value is the string "What is the meaning of the universe?".
    dict.insert(&o, 42);
    assert!(dict.contains_key(&o));
}

/// CPython's `check_iters`, for the parts both dictionaries have: every item, key and value
/// an iteration meets is one of a list taken before.
fn check_iters<K: PartialEq + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
    items: impl Fn() -> Vec<(K, V)>,
    keys: impl Fn() -> Vec<K>,
    values: impl Fn() -> Vec<V>,
) {
    let mut expected = items();
    for item in items() {
        let at = expected.iter().position(|e| *e == item).expect("an item seen twice");
        expected.remove(at);
    }
    assert!(expected.is_empty(), "items() did not touch all items");

    let mut expected = keys();
    for k in keys() {
        let at = expected.iter().position(|e| *e == k).expect("a key seen twice");
        expected.remove(at);
    }
    assert!(expected.is_empty(), "iterkeys() did not touch all keys");

    let mut expected = values();
    for v in values() {
        let at = expected.iter().position(|e| *e == v).expect("a value seen twice");
        expected.remove(at);
    }
    assert!(expected.is_empty(), "itervalues() did not touch all values");
}

#[test]
fn test_weak_keyed_iters() {
    let (dict, objects) = make_weak_keyed_dict();
    check_iters(|| dict.items(), || dict.keys().collect(), || dict.values());

    // Test keyrefs().
    let refs = dict.keyrefs();
    assert_eq!(refs.len(), objects.len());
    let mut objects2 = objects.clone();
    for wr in refs {
        let ob = wr.upgrade().expect("a live key");
        assert!(dict.contains_key(&ob));
        assert_eq!(Some(ob.arg), dict.get(&ob));
        let at = objects2.iter().position(|o| Gc::ptr_eq(o, &ob)).expect("a key of ours");
        objects2.remove(at);
    }
    assert!(objects2.is_empty());
}

#[test]
fn test_weak_valued_iters() {
    let (dict, objects) = make_weak_valued_dict();
    check_iters(|| dict.items().collect(), || dict.keys().collect(), || dict.values().collect());

    // Test valuerefs().
    let refs = dict.valuerefs();
    assert_eq!(refs.len(), objects.len());
    let mut objects2 = objects.clone();
    for wr in refs {
        let ob = wr.upgrade().expect("a live value");
        assert_eq!(ob, dict.get(&ob.arg).unwrap());
        assert_eq!(ob.arg, dict.get(&ob.arg).unwrap().arg);
        let at = objects2.iter().position(|o| Gc::ptr_eq(o, &ob)).expect("a value of ours");
        objects2.remove(at);
    }
    assert!(objects2.is_empty());
}

/// CPython's `check_weak_destroy_while_iterating`: `it` is one of the dictionary's
/// iterations, started before an object dies.
fn check_weak_destroy_while_iterating(
    len: impl Fn() -> usize,
    objects: &mut Vec<Gc<Object>>,
    mut it: Box<dyn Iterator<Item = ()> + '_>,
) {
    let n = len();
    it.next(); // Trigger internal iteration.
    // Destroy an object.
    objects.pop();
    gen_gc::collect();
    // We have removed either the first consumed object, or another one.
    let rest = it.by_ref().count();
    assert!([objects.len(), objects.len() - 1].contains(&rest), "{rest} left of {}", objects.len());
    drop(it);
    // The removal has been committed.
    assert_eq!(len(), n - 1);
}

/// What CPython's `testcontext` does, for a weak-keyed dictionary: an iteration is started,
/// the last object dies, and `body` gets a new key equal to it, with its value.
fn keyed_testcontext<R>(
    dict: &KeyedDict,
    objects: &mut Vec<Gc<Object>>,
    body: impl FnOnce(&mut Vec<Gc<Object>>, Gc<Object>, u32) -> R,
) -> R {
    let mut it = dict.keys();
    drop(it.next());
    // Schedule a key/value for removal and recreate it.
    let v = objects.pop().expect("an object left").arg;
    gen_gc::collect();
    let result = body(objects, object(v), v);
    drop(it); // Should commit all removals.
    gen_gc::collect();
    result
}

/// `testcontext` for a weak-valued dictionary: the key of the object that died, and a new
/// value equal to it.
fn valued_testcontext<R>(
    dict: &WeakValueDictionary<u32, Object>,
    objects: &mut Vec<Gc<Object>>,
    body: impl FnOnce(&mut Vec<Gc<Object>>, u32, Gc<Object>) -> R,
) -> R {
    let mut it = dict.items();
    drop(it.next());
    let k = objects.pop().expect("an object left").arg;
    gen_gc::collect();
    let result = body(objects, k, object(k));
    drop(it);
    gen_gc::collect();
    result
}

/// Drops `objects`' handle to an object whose entry was removed by hand, so that each of
/// the following contexts still destroys an object that has an entry, as CPython's order
/// (explicit removals take the oldest or the newest entry, `o`) makes sure.
fn forget_key(objects: &mut Vec<Gc<Object>>, removed: &Gc<Object>) {
    objects.retain(|o| !Gc::ptr_eq(o, removed));
}

fn sorted_keyed(dict: &KeyedDict) -> Vec<(Gc<Object>, u32)> {
    let mut items = dict.items();
    items.sort();
    items
}

fn sorted_valued(dict: &WeakValueDictionary<u32, Object>) -> Vec<(u32, Gc<Object>)> {
    let mut items: Vec<_> = dict.items().collect();
    items.sort();
    items
}

#[test]
fn test_weak_keys_destroy_while_iterating() {
    // Issue #7105: iterators shouldn't crash when a key is implicitly removed.
    let (dict, mut objects) = make_weak_keyed_dict();
    check_weak_destroy_while_iterating(|| dict.len(), &mut objects, Box::new(dict.keys().map(drop)));
    check_weak_destroy_while_iterating(|| dict.len(), &mut objects, Box::new(dict.items().into_iter().map(drop)));
    check_weak_destroy_while_iterating(|| dict.len(), &mut objects, Box::new(dict.values().into_iter().map(drop)));
    check_weak_destroy_while_iterating(|| dict.len(), &mut objects, Box::new(dict.keyrefs().into_iter().map(drop)));

    // check_weak_destroy_and_mutate_while_iterating: explicit mutation does not interfere
    // with the delayed removal.
    let (dict, mut objects) = make_weak_keyed_dict();
    keyed_testcontext(&dict, &mut objects, |_, k, _| assert!(!dict.contains_key(&k)));
    let k = keyed_testcontext(&dict, &mut objects, |_, k, _| {
        assert_eq!(dict.remove(&k), None);
        k
    });
    assert!(!dict.contains_key(&k));
    let k = keyed_testcontext(&dict, &mut objects, |_, k, _| {
        assert_eq!(dict.pop(&k), None);
        k
    });
    assert!(!dict.contains_key(&k));
    let (k, v) = keyed_testcontext(&dict, &mut objects, |_, k, v| {
        dict.insert(&k, v);
        (k, v)
    });
    assert_eq!(dict.get(&k), Some(v));
    let ddict = dict.copy();
    keyed_testcontext(&dict, &mut objects, |_, _, _| dict.update(ddict.items()));
    assert_eq!(sorted_keyed(&dict), sorted_keyed(&ddict));
    keyed_testcontext(&dict, &mut objects, |_, _, _| dict.clear());
    assert_eq!(dict.len(), 0);
    drop(k);

    // Issue #21173: len() fragile when keys are both implicitly and explicitly removed
    // (check_weak_del_and_len_while_iterating).
    let (dict, mut objects) = make_weak_keyed_dict();
    let o = object(123_456);
    let n = keyed_testcontext(&dict, &mut objects, |objects, _, _| {
        let n = dict.len();
        let first = dict.keys().next().expect("a key");
        dict.pop(&first);
        forget_key(objects, &first);
        assert_eq!(dict.len(), n - 1);
        dict.insert(&o, o.arg);
        assert_eq!(dict.len(), n);
        n
    });
    // The last item in objects is removed from dict in context shutdown.
    keyed_testcontext(&dict, &mut objects, |objects, _, _| {
        assert_eq!(dict.len(), n - 1);
        // Then, (o, o) is popped in CPython, whose popitem takes the newest entry; ours takes
        // some live entry (docs/python-mapping.md, "Order").
        let (key, _) = dict.popitem().expect("an entry");
        forget_key(objects, &key);
        assert_eq!(dict.len(), n - 2);
    });
    keyed_testcontext(&dict, &mut objects, |objects, _, _| {
        assert_eq!(dict.len(), n - 3);
        let first = dict.keys().next().expect("a key");
        dict.remove(&first);
        forget_key(objects, &first);
        assert_eq!(dict.len(), n - 4);
    });
    keyed_testcontext(&dict, &mut objects, |objects, _, _| {
        assert_eq!(dict.len(), n - 5);
        let (key, _) = dict.popitem().expect("an entry");
        forget_key(objects, &key);
        assert_eq!(dict.len(), n - 6);
    });
    keyed_testcontext(&dict, &mut objects, |_, _, _| {
        dict.clear();
        assert_eq!(dict.len(), 0);
    });
    assert_eq!(dict.len(), 0);
}

#[test]
fn test_weak_values_destroy_while_iterating() {
    // Issue #7105: iterators shouldn't crash when a key is implicitly removed.
    let (dict, mut objects) = make_weak_valued_dict();
    check_weak_destroy_while_iterating(|| dict.len(), &mut objects, Box::new(dict.keys().map(drop)));
    check_weak_destroy_while_iterating(|| dict.len(), &mut objects, Box::new(dict.items().map(drop)));
    check_weak_destroy_while_iterating(|| dict.len(), &mut objects, Box::new(dict.values().map(drop)));
    // CPython's `itervaluerefs` and `valuerefs` are both `valuerefs()` here.
    check_weak_destroy_while_iterating(|| dict.len(), &mut objects, Box::new(dict.valuerefs().into_iter().map(drop)));

    let (dict, mut objects) = make_weak_valued_dict();
    valued_testcontext(&dict, &mut objects, |_, k, _| assert!(!dict.contains_key(&k)));
    let k = valued_testcontext(&dict, &mut objects, |_, k, _| {
        assert!(dict.remove(&k).is_none());
        k
    });
    assert!(!dict.contains_key(&k));
    let k = valued_testcontext(&dict, &mut objects, |_, k, _| {
        assert!(dict.pop(&k).is_none());
        k
    });
    assert!(!dict.contains_key(&k));
    let (k, v) = valued_testcontext(&dict, &mut objects, |_, k, v| {
        dict.insert(k, &v);
        (k, v)
    });
    assert_eq!(dict.get(&k), Some(v.clone()));
    let ddict = dict.copy();
    valued_testcontext(&dict, &mut objects, |_, _, _| dict.update(ddict.items()));
    assert_eq!(sorted_valued(&dict), sorted_valued(&ddict));
    valued_testcontext(&dict, &mut objects, |_, _, _| dict.clear());
    assert_eq!(dict.len(), 0);
    drop(v);

    // check_weak_del_and_len_while_iterating. CPython's `dict[o] = o` puts `o` under itself;
    // the keys here are numbers, so it goes under its `arg`.
    let (dict, mut objects) = make_weak_valued_dict();
    let o = object(123_456);
    let n = valued_testcontext(&dict, &mut objects, |objects, _, _| {
        let n = dict.len();
        let first = dict.keys().next().expect("a key");
        let value = dict.pop(&first).expect("a live value");
        forget_key(objects, &value);
        assert_eq!(dict.len(), n - 1);
        dict.insert(o.arg, &o);
        assert_eq!(dict.len(), n);
        n
    });
    valued_testcontext(&dict, &mut objects, |objects, _, _| {
        assert_eq!(dict.len(), n - 1);
        // CPython's popitem takes the newest entry, `o`; ours some live entry.
        let (_, value) = dict.popitem().expect("an entry");
        forget_key(objects, &value);
        assert_eq!(dict.len(), n - 2);
    });
    valued_testcontext(&dict, &mut objects, |objects, _, _| {
        assert_eq!(dict.len(), n - 3);
        let first = dict.keys().next().expect("a key");
        let value = dict.remove(&first).expect("a live value");
        forget_key(objects, &value);
        assert_eq!(dict.len(), n - 4);
    });
    valued_testcontext(&dict, &mut objects, |objects, _, _| {
        assert_eq!(dict.len(), n - 5);
        let (_, value) = dict.popitem().expect("an entry");
        forget_key(objects, &value);
        assert_eq!(dict.len(), n - 6);
    });
    valued_testcontext(&dict, &mut objects, |_, _, _| {
        dict.clear();
        assert_eq!(dict.len(), 0);
    });
    assert_eq!(dict.len(), 0);
}

#[test]
fn test_weak_valued_dict_popitem() {
    // check_popitem(WeakValueDictionary, "key1", C(), "key2", C())
    let (value1, value2) = (c(), c());
    let weakdict = WeakValueDictionary::new();
    weakdict.insert("key1", &value1);
    weakdict.insert("key2", &value2);
    assert_eq!(weakdict.len(), 2);
    for left in [1, 0] {
        let (k, v) = weakdict.popitem().expect("an item");
        assert_eq!(weakdict.len(), left);
        if k == "key1" {
            assert!(Gc::ptr_eq(&v, &value1));
        } else {
            assert!(Gc::ptr_eq(&v, &value2));
        }
    }
}

#[test]
fn test_weak_keyed_dict_popitem() {
    // check_popitem(WeakKeyDictionary, C(), "value 1", C(), "value 2")
    let (key1, key2) = (c(), c());
    let weakdict = WeakKeyDictionary::new();
    weakdict.insert(&key1, "value 1");
    weakdict.insert(&key2, "value 2");
    assert_eq!(weakdict.len(), 2);
    for left in [1, 0] {
        let (k, v) = weakdict.popitem().expect("an item");
        assert_eq!(weakdict.len(), left);
        if Gc::ptr_eq(&k, &key1) {
            assert_eq!(v, "value 1");
        } else {
            assert_eq!(v, "value 2");
        }
    }
}

#[test]
fn test_weak_valued_dict_setdefault() {
    // check_setdefault(WeakValueDictionary, "key", C(), C())
    let (key, value1, value2) = ("key", c(), c());
    assert!(!Gc::ptr_eq(&value1, &value2), "invalid test -- value parameters must be distinct objects");
    let weakdict = WeakValueDictionary::new();
    let o = weakdict.setdefault(key, &value1);
    assert!(Gc::ptr_eq(&o, &value1));
    assert!(weakdict.contains_key(&key));
    assert!(Gc::ptr_eq(&weakdict.get(&key).unwrap(), &value1));

    let o = weakdict.setdefault(key, &value2);
    assert!(Gc::ptr_eq(&o, &value1));
    assert!(weakdict.contains_key(&key));
    assert!(Gc::ptr_eq(&weakdict.get(&key).unwrap(), &value1));
}

#[test]
fn test_weak_keyed_dict_setdefault() {
    // check_setdefault(WeakKeyDictionary, C(), "value 1", "value 2")
    let (key, value1, value2) = (c(), "value 1", "value 2");
    let weakdict = WeakKeyDictionary::new();
    let o = weakdict.setdefault(&key, value1);
    assert_eq!(o, value1);
    assert!(weakdict.contains_key(&key));
    assert_eq!(weakdict.get(&key), Some(value1));

    let o = weakdict.setdefault(&key, value2);
    assert_eq!(o, value1);
    assert!(weakdict.contains_key(&key));
    assert_eq!(weakdict.get(&key), Some(value1));
}

#[test]
fn test_weak_valued_dict_update() {
    // check_update(WeakValueDictionary, {1: C(), 'a': C(), C(): C()}): this exercises
    // d.update(), len(d), d.keys(), k in d, d.get(), d[]. The keys are strings here (CPython
    // mixes an int, a string and an object).
    let dict: HashMap<String, Gc<C>> = ["1", "a", "C()"].into_iter().map(|k| (k.to_owned(), c())).collect();
    let weakdict = WeakValueDictionary::new();
    weakdict.update(dict.iter().map(|(k, v)| (k.clone(), v)));
    assert_eq!(weakdict.len(), dict.len());
    for k in weakdict.keys() {
        let v = dict.get(&k).expect("mysterious new key appeared in weak dict");
        assert!(Gc::ptr_eq(v, &weakdict.get(&k).unwrap()));
    }
    for (k, v) in &dict {
        let found = weakdict.get(k).expect("original key disappeared in weak dict");
        assert!(Gc::ptr_eq(v, &found));
    }
}

#[test]
fn test_weak_keyed_dict_update() {
    // check_update(WeakKeyDictionary, {C(): 1, C(): 2, C(): 3})
    let dict: Vec<(Gc<C>, u32)> = (1..=3).map(|v| (c(), v)).collect();
    let weakdict = WeakKeyDictionary::new();
    weakdict.update(dict.iter().map(|(k, v)| (k, *v)));
    assert_eq!(weakdict.len(), dict.len());
    for k in weakdict.keys() {
        let (_, v) =
            dict.iter().find(|(key, _)| Gc::ptr_eq(key, &k)).expect("mysterious new key appeared in weak dict");
        assert_eq!(weakdict.get(&k), Some(*v));
    }
    for (k, v) in &dict {
        assert!(weakdict.contains_key(k), "original key disappeared in weak dict");
        assert_eq!(weakdict.get(k), Some(*v));
    }
}

#[test]
fn test_weak_keyed_delitem() {
    let d = WeakKeyDictionary::by_value();
    let (o1, o2) = (object(1), object(2));
    d.insert(&o1, "something");
    d.insert(&o2, "something");
    assert_eq!(d.len(), 2);
    assert!(d.remove(&o1).is_some());
    assert_eq!(d.len(), 1);
    assert_eq!(d.keys().collect::<Vec<_>>(), [o2]);
}

#[test]
fn test_weak_valued_delitem() {
    let d = WeakValueDictionary::new();
    let (o1, o2) = (object(1), object(2));
    d.insert("something", &o1);
    d.insert("something else", &o2);
    assert_eq!(d.len(), 2);
    assert!(d.remove("something").is_some());
    assert_eq!(d.len(), 1);
    assert_eq!(d.items().collect::<Vec<_>>(), [("something else", o2)]);
}

#[test]
fn test_weak_keyed_bad_delitem() {
    let d: KeyedDict = WeakKeyDictionary::by_value();
    let o = object(1);
    // An attempt to delete an object that isn't there gives nothing (CPython's KeyError).
    assert_eq!(d.remove(&o), None);
    assert_eq!(d.get(&o), None);
}

/// CPython's class `C` of `test_weak_keyed_cascading_deletes`: equal by value, and its
/// `__eq__` removes the last strong reference to a key while `MUTATE` is set.
#[derive(Trace, Debug)]
struct Cascading {
    value: u32,
}

thread_local! {
    static MUTATE: Cell<bool> = const { Cell::new(false) };
    static OBJS: RefCell<Vec<Gc<Cascading>>> = const { RefCell::new(Vec::new()) };
}

impl PartialEq for Cascading {
    fn eq(&self, other: &Self) -> bool {
        if MUTATE.get() {
            // Side effect that mutates the dict, by removing the last strong reference to a
            // key.
            let last = OBJS.with_borrow_mut(Vec::pop);
            drop(last);
        }
        self.value == other.value
    }
}

impl Eq for Cascading {}

impl std::hash::Hash for Cascading {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

#[test]
fn test_weak_keyed_cascading_deletes() {
    // SF bug 742860: keys vanishing from the dict during a deletion.
    let d = WeakKeyDictionary::by_value();
    let objs: Vec<Gc<Cascading>> = (0..4).map(|value| Gc::new(Cascading { value })).collect();
    for o in &objs {
        d.insert(o, o.value);
    }
    // Now the only strong references to keys are in OBJS. Find the order in which keys()
    // sees the keys, and reverse it, so that a deletion would have to keep looking to find
    // the first object we delete.
    let mut in_order: Vec<Gc<Cascading>> = d.keys().collect();
    drop(objs);
    in_order.reverse();
    OBJS.with_borrow_mut(|objs| *objs = in_order);

    // Turn on mutation in Cascading::eq. Each deletion's comparison deletes the last object
    // our own loop would have got to.
    MUTATE.set(true);
    let mut count = 0;
    let mut at = 0;
    while let Some(o) = OBJS.with_borrow(|objs| objs.get(at).cloned()) {
        count += 1;
        d.remove(&o);
        at += 1;
    }
    MUTATE.set(false);
    gen_gc::collect();
    assert_eq!(d.len(), 0);
    assert_eq!(count, 2);
    OBJS.with_borrow_mut(Vec::clear);
}

#[test]
fn test_weak_valued_consistency() {
    // A single-threaded, deterministic repro for issue #28427: old keys should not remove new
    // values from a WeakValueDictionary.
    let d = WeakValueDictionary::new();
    gen_gc::disable();
    d.insert(10, ref_cycle());
    // Keep the weak reference alive after it is replaced, so that the collector reports
    // its death.
    let wr: Vec<Weak<RefCycle>> = d.valuerefs();
    // Replace the value with something that isn't cyclic garbage.
    let o = ref_cycle();
    d.insert(10, &o);
    // The collection frees the old value, whose death is reported for its old entry.
    gen_gc::collect();
    gen_gc::enable();
    assert_eq!(d.len(), 1);
    assert!(wr[0].is_dead());
    drop(o);
}

#[test]
fn getweakrefcount_counts_one_per_by_value_entry() {
    // test_weak_keys' count with CPython's `Object`, which compares by value: one weak
    // reference per entry, as getweakrefcount's documentation says of container entries.
    let (_dict, objects) = make_weak_keyed_dict();
    for o in &objects {
        assert_eq!(getweakrefcount(o), 1, "wrong number of weak references to {o:?}!");
    }
}

#[test]
fn test_make_weak_valued_dict_from_dict() {
    let o = object(3);
    let dict: WeakValueDictionary<u32, Object> = HashMap::from([(364, o.clone())]).into_iter().collect();
    assert!(Gc::ptr_eq(&dict.get(&364).unwrap(), &o));
}

#[test]
fn test_make_weak_valued_dict_from_weak_valued_dict() {
    let o = object(3);
    let dict: WeakValueDictionary<u32, Object> = [(364, &o)].into_iter().collect();
    let dict2: WeakValueDictionary<u32, Object> = dict.items().collect();
    assert!(Gc::ptr_eq(&dict2.get(&364).unwrap(), &o));
    // A pair whose value no one else holds is gone as soon as the map is made.
    let gone: WeakValueDictionary<u32, Object> = [(1, object(1))].into_iter().collect();
    assert!(gone.is_empty());
}

#[test]
fn test_make_weak_keyed_dict_from_dict() {
    let o = object(3);
    let dict: KeyedDict = [(&o, 364)].into_iter().collect();
    assert_eq!(dict.get(&o), Some(364));
}

#[test]
fn test_make_weak_keyed_dict_from_weak_keyed_dict() {
    let o = object(3);
    let dict: KeyedDict = [(&o, 364)].into_iter().collect();
    let dict2: KeyedDict = dict.items().into_iter().collect();
    assert_eq!(dict2.get(&o), Some(364));
}

/// The live entries of a value-weak map, by key, as identities.
fn valued_entries(dict: &WeakValueDictionary<u32, C>) -> Vec<(u32, *const C)> {
    let mut entries: Vec<(u32, *const C)> = dict.into_iter().map(|(key, value)| (key, Gc::as_ptr(&value))).collect();
    entries.sort();
    entries
}

/// `dict(a) | dict(b)` as Python computes it, on entries as `valued_entries` gives them.
fn merged(a: Vec<(u32, *const C)>, b: Vec<(u32, *const C)>) -> Vec<(u32, *const C)> {
    let mut merged: std::collections::BTreeMap<u32, *const C> = a.into_iter().collect();
    merged.extend(b);
    merged.into_iter().collect()
}

#[test]
fn test_weak_valued_union_operators() {
    let (a, b, c) = (c(), c(), c());
    let mut wvd1: WeakValueDictionary<u32, C> = [(1, &a)].into_iter().collect();
    let mut wvd2: WeakValueDictionary<u32, C> = [(1, &b), (2, &a)].into_iter().collect();
    let wvd3 = wvd1.copy();
    let d1 = HashMap::from([(1, c.clone()), (3, b.clone())]);
    let pairs = [(5, c.clone()), (6, b.clone())];

    // Between two WeakValueDictionaries.
    let tmp1 = &wvd1 | &wvd2;
    assert_eq!(valued_entries(&tmp1), merged(valued_entries(&wvd1), valued_entries(&wvd2)));
    wvd1 |= &wvd2;
    assert_eq!(valued_entries(&wvd1), valued_entries(&tmp1));

    // Between a WeakValueDictionary and a map of handles.
    let d1_entries: Vec<(u32, *const C)> = d1.iter().map(|(key, value)| (*key, Gc::as_ptr(value))).collect();
    let tmp2 = &wvd2 | d1.iter().map(|(key, value)| (*key, value));
    assert_eq!(valued_entries(&tmp2), merged(valued_entries(&wvd2), d1_entries.clone()));
    wvd2 |= d1.iter().map(|(key, value)| (*key, value));
    assert_eq!(valued_entries(&wvd2), valued_entries(&tmp2));

    // Between a WeakValueDictionary and pairs.
    let mut tmp3 = wvd3.copy();
    tmp3 |= pairs.iter().map(|(key, value)| (*key, value));
    let pair_entries: Vec<(u32, *const C)> = pairs.iter().map(|(key, value)| (*key, Gc::as_ptr(value))).collect();
    assert_eq!(valued_entries(&tmp3), merged(valued_entries(&wvd3), pair_entries));

    drop(a);
    assert!(!tmp1.contains_key(&2));
    assert!(!tmp2.contains_key(&2));
    assert!(!tmp3.contains_key(&1));
}

#[test]
fn test_weak_keyed_union_operators() {
    let (o1, o2, o3) = (object(1), object(2), object(3));
    let mut wkd1: KeyedDict = [(&o1, 1), (&o2, 2)].into_iter().collect();
    let wkd2: KeyedDict = [(&o3, 3), (&o1, 4)].into_iter().collect();
    let wkd3 = wkd1.copy();
    let d1 = [(o2.clone(), 5), (o3.clone(), 6)];
    let pairs = [(o2.clone(), 7), (o3.clone(), 8)];
    let sorted = |dict: &KeyedDict| -> Vec<(u32, u32)> {
        let mut entries: Vec<(u32, u32)> = dict.items().into_iter().map(|(key, value)| (key.arg, value)).collect();
        entries.sort();
        entries
    };

    let tmp1 = &wkd1 | wkd2.items();
    assert_eq!(sorted(&tmp1), [(1, 4), (2, 2), (3, 3)]);
    wkd1 |= wkd2.items();
    assert_eq!(sorted(&wkd1), sorted(&tmp1));

    let tmp2 = &wkd2 | d1.iter().map(|(key, value)| (key, *value));
    assert_eq!(sorted(&tmp2), [(1, 4), (2, 5), (3, 6)]);

    let mut tmp3 = wkd3.copy();
    tmp3 |= pairs.iter().map(|(key, value)| (key, *value));
    assert_eq!(sorted(&tmp3), [(1, 1), (2, 7), (3, 8)]);

    drop((d1, pairs));
    drop(o1);
    assert_eq!(tmp1.len(), 2);
    assert_eq!(tmp2.len(), 2);
    assert_eq!(tmp3.len(), 2);
    assert_eq!((o2.arg, o3.arg), (2, 3));
}
