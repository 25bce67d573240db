//! Ports of CPython's `Lib/test/test_weakref.py`: FinalizeTestCase and
//! the proxy cases (language-independent ones).

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use cyclegc::{Gc, Trace};
use weak_collections::{
    ReferenceError, WeakKeyDictionary, WeakProxy, WeakValueDictionary, finalize, getweakrefcount, proxy,
    proxy_with_callback,
};

#[derive(Trace)]
struct Object {
    arg: u32,
    cycle: RefCell<Option<Gc<Object>>>,
}

fn object(arg: u32) -> Gc<Object> {
    Gc::new(Object { arg, cycle: RefCell::new(None) })
}

fn objects(n: u32) -> Vec<Gc<Object>> {
    (0..n).map(object).collect()
}

#[test]
fn test_weak_keys_compare_by_identity() {
    let (a, b) = (object(1), object(1));
    let dict = WeakKeyDictionary::new();
    dict.insert(&a, "a");
    dict.insert(&b, "b");
    assert_eq!(dict.len(), 2, "equal values, distinct objects: two keys");
    assert_eq!(dict.get(&a), Some("a"));
}

#[test]
fn test_weak_valued_replaced_value_keeps_its_entry() {
    // A value replaced under its key must not take the new entry with it when it dies.
    let (old, new) = (object(1), object(2));
    let dict = WeakValueDictionary::new();
    dict.insert("k", &old);
    dict.insert("k", &new);
    drop(old);
    assert_eq!(dict.get(&"k").map(|o| o.arg), Some(2));
}

#[test]
fn a_weak_valued_entry_drops_its_key_when_its_value_dies() {
    // The entry goes whole: a key holding a handle lets its object go at the value's death.
    let key = Gc::new(String::from("key"));
    let key_watch = Gc::downgrade(&key);
    let (value, survivor) = (object(1), object(2));
    let dict = WeakValueDictionary::new();
    dict.insert(key, &value);
    dict.insert(Gc::new(String::from("other")), &survivor);
    assert!(key_watch.upgrade().is_some());
    drop(value);
    assert!(key_watch.upgrade().is_none(), "the dead entry's key is dropped with it");
    assert_eq!(dict.len(), 1);
}

#[test]
fn test_finalize() {
    // CPython's `add(x, y, z)` appends and returns the sum; here `call` reports whether the
    // callback ran (Python's `f()` returns its result, then `None`) and `peek` and `detach`
    // give the object (Python's also give the function and its arguments).
    let res = Rc::new(RefCell::new(Vec::new()));
    let add = |res: &Rc<RefCell<Vec<u32>>>, x: u32, y: u32, z: u32| {
        let res = res.clone();
        move || res.borrow_mut().push(x + y + z)
    };
    let a = object(1);

    let f = finalize(&a, add(&res, 67, 43, 89));
    assert!(f.alive());
    assert!(Gc::ptr_eq(&f.peek().expect("alive"), &a));
    assert!(f.call());
    assert!(!f.call());
    assert!(!f.call());
    assert!(f.peek().is_none());
    assert!(f.detach().is_none());
    assert!(!f.alive());
    assert_eq!(*res.borrow(), [199]);

    res.borrow_mut().clear();
    let f = finalize(&a, add(&res, 67, 43, 89));
    assert!(Gc::ptr_eq(&f.peek().expect("alive"), &a));
    let (object, _func) = f.detach().expect("alive");
    assert!(Gc::ptr_eq(&object, &a));
    assert!(!f.call());
    assert!(!f.call());
    assert!(f.peek().is_none());
    assert!(f.detach().is_none());
    assert!(!f.alive());
    assert!(res.borrow().is_empty());

    let f = finalize(&a, add(&res, 67, 43, 89));
    drop((a, object));
    assert!(!f.call());
    assert!(!f.call());
    assert!(f.peek().is_none());
    assert!(f.detach().is_none());
    assert!(!f.alive());
    assert_eq!(*res.borrow(), [199]);
}

#[test]
fn test_order() {
    let res = Rc::new(RefCell::new(Vec::new()));
    let append = |entry: &'static str| {
        let res = res.clone();
        move || res.borrow_mut().push(entry)
    };
    let a = object(1);
    let f1 = finalize(&a, append("f1"));
    let f2 = finalize(&a, append("f2"));
    let f3 = finalize(&a, append("f3"));
    let f4 = finalize(&a, append("f4"));
    let f5 = finalize(&a, append("f5"));

    // Make sure finalizers can keep themselves alive.
    drop((f1, f4));

    assert!(f2.alive());
    assert!(f3.alive());
    assert!(f5.alive());

    assert!(f5.detach().is_some());
    assert!(!f5.alive());

    f5.call(); // Nothing because previously unregistered.
    res.borrow_mut().push("A");
    f3.call(); // => res.append('f3')
    assert!(!f3.alive());
    res.borrow_mut().push("B");
    f3.call(); // Nothing because previously called.
    res.borrow_mut().push("C");
    drop(a);
    // => res.append('f4')
    // => res.append('f2')
    // => res.append('f1')
    assert!(!f2.alive());
    res.borrow_mut().push("D");
    f2.call(); // Nothing because previously called at the object's death.

    assert_eq!(*res.borrow(), ["A", "f3", "B", "C", "f4", "f2", "f1", "D"]);
}

#[test]
fn test_all_freed() {
    // The callback is freed once it has run, though nobody kept the finalizer's handle.
    // CPython also checks that the finalizer object is freed (a weakref to a subclass of
    // `finalize`); a `Finalizer` is not a heap object, so that part has no counterpart.
    let a = object(1);
    let res = Rc::new(RefCell::new(Vec::new()));
    let captured = Rc::new(());
    let wr_callback = Rc::downgrade(&captured);
    let seen = res.clone();
    let callback = move || {
        let _keep = &captured;
        seen.borrow_mut().push(123);
    };
    drop(finalize(&a, callback));

    assert!(wr_callback.upgrade().is_some());

    drop(a);

    assert!(wr_callback.upgrade().is_none());
    assert_eq!(*res.borrow(), [123]);
}

#[test]
fn test_finalize_call_and_detach() {
    let calls = Rc::new(Cell::new(0));
    let a = object(1);
    let seen = calls.clone();
    let f = finalize(&a, move || seen.set(seen.get() + 1));
    assert!(f.call());
    assert!(!f.call());
    drop(a);
    assert_eq!(calls.get(), 1);
    let b = object(2);
    let seen = calls.clone();
    let g = finalize(&b, move || seen.set(seen.get() + 10));
    let (object, func) = g.detach().expect("alive");
    assert!(Gc::ptr_eq(&object, &b));
    drop((object, b));
    assert_eq!(calls.get(), 1, "detached: not run at death");
    func();
    assert_eq!(calls.get(), 11);
    // A clone is the same finalizer, as a Python name bound to it twice.
    let c = self::object(3);
    let seen = calls.clone();
    let h = finalize(&c, move || seen.set(seen.get() + 100));
    let shared = h.clone();
    assert!(shared.alive() && h.alive());
    assert!(shared.call());
    assert!(!h.alive() && !h.call());
    drop(c);
    assert_eq!(calls.get(), 111);
}

#[test]
fn test_finalize_without_keeping_the_handle() {
    let calls = Rc::new(Cell::new(0));
    let a = object(1);
    let seen = calls.clone();
    drop(finalize(&a, move || seen.set(seen.get() + 1)));
    drop(a);
    assert_eq!(calls.get(), 1, "the registry keeps the finalizer alive");
}

#[test]
fn test_finalize_by_the_collector() {
    let calls = Rc::new(Cell::new(0));
    let a = object(1);
    *a.cycle.borrow_mut() = Some(a.clone());
    let seen = calls.clone();
    let _f = finalize(&a, move || seen.set(seen.get() + 1));
    drop(a);
    assert_eq!(calls.get(), 0);
    gen_gc::collect();
    assert_eq!(calls.get(), 1);
}

#[test]
fn test_atexit() {
    // CPython runs `run_in_child` in a child interpreter and reads what its finalizers print
    // at exit; here a thread's finalizers run when the thread exits. Finalizers of objects
    // still alive then run newest first, `atexit = false` ones do not, a panicking one is
    // reported (CPython prints the ZeroDivisionError) and the others still run, and one
    // registered during exit runs next.
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = out.clone();
    std::thread::spawn(move || {
        thread_local!(static CLS: RefCell<Option<Gc<Object>>> = const { RefCell::new(None) });
        // Made before the heap, so that it is torn down after it: `cls` lives till exit.
        CLS.with(|_| ());
        let cls = object(0);
        CLS.with(|keep| *keep.borrow_mut() = Some(cls.clone()));
        let print = |line: &'static str| {
            let log = log.clone();
            move || log.lock().unwrap().push(line)
        };
        let error = {
            let (log, cls, g1) = (log.clone(), Gc::downgrade(&cls), print("g1"));
            move || {
                // Create an atexit finalizer from inside a finalizer called at exit. This
                // should be the next to be run.
                let cls = cls.upgrade().expect("cls stays alive till the atexit finalizers run");
                drop(finalize(&cls, g1));
                log.lock().unwrap().push("f3 error");
                panic!("f3 error");
            }
        };
        let f1 = finalize(&cls, print("f1 foobar"));
        let f2 = finalize(&cls, print("f2 foobar"));
        let f3 = finalize(&cls, error);
        let f4 = finalize(&cls, print("f4 foobar"));

        assert!(f1.atexit());
        f2.set_atexit(false);
        assert!(f3.atexit());
        assert!(f4.atexit());
    })
    .join()
    .unwrap();
    assert_eq!(*out.lock().unwrap(), ["f4 foobar", "f3 error", "g1", "f1 foobar"]);
}

#[test]
fn a_panicking_finalizer_at_exit_does_not_stop_the_others() {
    // test_atexit without the finalizer registered during exit: a panic is reported (on
    // stderr) and the finalizers after it still run.
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = out.clone();
    std::thread::spawn(move || {
        thread_local!(static CLS: RefCell<Option<Gc<Object>>> = const { RefCell::new(None) });
        CLS.with(|_| ());
        let cls = object(0);
        CLS.with(|keep| *keep.borrow_mut() = Some(cls.clone()));
        for (line, panics) in [("f1", false), ("f2", true), ("f3", true), ("f4", false)] {
            let log = log.clone();
            drop(finalize(&cls, move || {
                log.lock().unwrap().push(line);
                assert!(!panics, "{line} error");
            }));
        }
    })
    .join()
    .unwrap();
    assert_eq!(*out.lock().unwrap(), ["f4", "f3", "f2", "f1"]);
}

#[test]
fn test_proxy_ref() {
    let o = object(7);
    let p = WeakProxy::new(&o);
    assert_eq!(p.with(|o| o.arg), Ok(7));
    assert!(p.is_alive());
    let p2 = p.clone();
    drop(o);
    assert_eq!(p.with(|o| o.arg), Err(ReferenceError));
    assert_eq!(p2.get().err(), Some(ReferenceError));
    assert_eq!(ReferenceError.to_string(), "weakly-referenced object no longer exists");
}

#[test]
fn weakref_proxy_function_makes_a_proxy() {
    let o = object(7);
    let p = proxy(&o);
    assert_eq!(p.with(|o| o.arg), Ok(7));
    drop(o);
    assert_eq!(p.with(|o| o.arg), Err(ReferenceError));
}

#[test]
fn weakref_proxy_function_with_a_callback() {
    let calls = Rc::new(Cell::new(0));
    let o = object(1);
    let seen = calls.clone();
    let p = proxy_with_callback(&o, move || seen.set(seen.get() + 1));
    drop(o);
    assert_eq!(calls.get(), 1);
    assert_eq!(p.get().err(), Some(ReferenceError));
}

#[test]
fn test_proxy_callback() {
    let calls = Rc::new(Cell::new(0));
    let o = object(1);
    let seen = calls.clone();
    let p = WeakProxy::with_callback(&o, move || seen.set(seen.get() + 1));
    drop(o);
    assert_eq!(calls.get(), 1);
    assert!(!p.is_alive());
}

#[test]
fn by_value_keys_find_equal_objects() {
    let a = Gc::new(String::from("key"));
    let b = Gc::new(String::from("key"));
    let dict = WeakKeyDictionary::by_value();
    dict.insert(&a, 1);
    assert_eq!(dict.get(&b), Some(1));
    assert_eq!(dict.insert(&b, 2), Some(1), "an equal key replaces the value");
    assert_eq!(dict.len(), 1);
    drop(a);
    assert!(dict.is_empty());
    assert_eq!(dict.get(&b), None);
}

// ReferencesTestCase: the weak references the containers are built on (rc-heap's `Weak`).

#[test]
fn test_basic_ref() {
    let o = object(1);
    let r = Gc::downgrade(&o);
    assert!(Gc::ptr_eq(&r.upgrade().unwrap(), &o));
    drop(o);
    assert!(r.upgrade().is_none());
}

#[test]
fn test_basic_callback() {
    let calls = Rc::new(Cell::new(0));
    let o = object(1);
    let seen = calls.clone();
    let r = Gc::downgrade_with_callback(&o, move |dead| {
        assert!(dead.upgrade().is_none(), "the callback gets the dead reference");
        seen.set(seen.get() + 1);
    });
    drop(o);
    assert_eq!(calls.get(), 1);
    drop(r);
    assert_eq!(calls.get(), 1);
}

#[test]
fn test_multiple_callbacks() {
    let calls = Rc::new(Cell::new(0));
    let o = object(1);
    let (a, b) = (calls.clone(), calls.clone());
    let r1 = Gc::downgrade_with_callback(&o, move |_| a.set(a.get() + 1));
    let r2 = Gc::downgrade_with_callback(&o, move |_| b.set(b.get() + 1));
    drop(o);
    assert_eq!(calls.get(), 2);
    assert!(r1.is_dead() && r2.is_dead());
}

#[test]
fn test_ref_reuse() {
    let o = object(1);
    let (r1, r2) = (Gc::downgrade(&o), Gc::downgrade(&o));
    assert!(r1.same_reference(&r2), "plain references are shared");
    let with_callback = Gc::downgrade_with_callback(&o, |_| {});
    assert!(!r1.same_reference(&with_callback));
    assert!(r1.ptr_eq(&with_callback), "equal while their object lives (Python's `==`)");
}

#[test]
fn test_getweakrefcount() {
    let o = object(1);
    let r1 = Gc::downgrade(&o);
    let r2 = Gc::downgrade_with_callback(&o, |_| {});
    assert_eq!(getweakrefcount(&o), 2, "got wrong number of weak reference objects");
    let proxy1 = proxy(&o);
    let proxy2 = proxy_with_callback(&o, || {});
    assert_eq!(getweakrefcount(&o), 4, "got wrong number of weak reference objects");
    drop((r1, r2, proxy1, proxy2));
    cyclegc::gc::collect();
    assert_eq!(getweakrefcount(&o), 0, "weak reference objects not unlinked from referent when discarded.");
    assert_eq!(getweakrefcount(&Gc::new(1_u32)), 0);
}

#[test]
fn getweakrefcount_counts_handles_where_python_counts_shared_references() {
    let o = object(1);
    let (r1, r2) = (Gc::downgrade(&o), Gc::downgrade(&o));
    assert!(r1.same_reference(&r2), "one shared reference, as CPython's");
    assert_eq!(getweakrefcount(&o), 2, "two handles to it");
    let entries = WeakValueDictionary::new();
    entries.insert("o", &o);
    assert_eq!(getweakrefcount(&o), 3, "a container's entry is one more");
}

#[test]
fn weak_value_dictionary_finds_string_keys_by_str() {
    let o = object(1);
    let dict = WeakValueDictionary::new();
    dict.insert(String::from("k"), &o);
    assert!(dict.contains_key("k"));
    assert!(Gc::ptr_eq(&dict.get("k").unwrap(), &o));
    assert!(dict.get("other").is_none());
    assert!(Gc::ptr_eq(&dict.pop("k").unwrap(), &o));
    dict.insert(String::from("k"), &o);
    assert!(dict.remove("k").is_some());
    assert!(dict.is_empty());
}

#[test]
fn weak_containers_take_objects_by_value_or_by_reference() {
    let (a, b) = (object(1), object(2));
    let values = WeakValueDictionary::new();
    values.insert(1, a.clone());
    values.insert(2, &b);
    values.update([(3, a.clone())]);
    assert!(Gc::ptr_eq(&values.setdefault(4, b.clone()), &b));
    assert_eq!(values.len(), 4);

    let keys = WeakKeyDictionary::new();
    keys.insert(a.clone(), "a");
    keys.insert(&b, "b");
    assert_eq!(keys.get(a.clone()), Some("a"));
    assert!(keys.contains_key(b.clone()));
    assert_eq!(keys.with_value(a.clone(), |v| v.len()), Some(1));
    assert_eq!(keys.pop(a.clone()), Some("a"));
    assert_eq!(keys.remove(&b), Some("b"));
    keys.update([(a.clone(), "again")]);
    assert_eq!(keys.setdefault(b.clone(), "b"), "b");
    assert_eq!(keys.len(), 2);

    drop((a, b));
    assert!(values.is_empty() && keys.is_empty());
}

#[test]
fn weak_key_dictionary_copy_has_the_same_entries() {
    let objs = objects(3);
    let dict = WeakKeyDictionary::new();
    for o in &objs {
        dict.insert(o, o.arg);
    }
    let copy = dict.copy();
    assert_eq!(copy.len(), 3);
    assert!(objs.iter().all(|o| copy.get(o) == Some(o.arg)));
    dict.clear();
    assert_eq!(copy.len(), 3, "the copy is its own map");
    drop(objs);
    assert!(copy.is_empty());
}

#[test]
fn weak_key_dictionary_extends_from_pairs() {
    let objs = objects(3);
    let mut dict = WeakKeyDictionary::new();
    dict.extend(objs.iter().map(|o| (o, o.arg)));
    assert_eq!(dict.len(), 3);
}

/// A map in a heap object whose value refers back to that object.
#[derive(Trace)]
struct Holder {
    notes: WeakKeyDictionary<Object, Gc<Back>>,
}

#[derive(Trace)]
struct Back {
    holder: RefCell<Option<Gc<Holder>>>,
}

/// holder -> notes -> value -> holder, the value under `key`.
fn cycle_through_a_map_value(key: &Gc<Object>) -> (Gc<Holder>, Gc<Back>) {
    let holder = Gc::new(Holder { notes: WeakKeyDictionary::new() });
    let back = Gc::new(Back { holder: RefCell::new(Some(holder.clone())) });
    holder.notes.insert(key, back.clone());
    (holder, back)
}

#[test]
fn a_cycle_through_a_weak_key_dictionary_value_is_collected() {
    // The values are held (and traced) by the map.
    let key = object(1);
    let (holder, back) = cycle_through_a_map_value(&key);
    let labels: Vec<String> = Gc::to_any(&holder).referents().into_iter().map(|r| r.label).collect();
    assert_eq!(labels.len(), 1, "the value is an edge of the holder: {labels:?}");
    let watch = Gc::downgrade(&holder);
    drop((holder, back));
    assert!(watch.upgrade().is_some());
    assert_eq!(gen_gc::collect(), 2);
    assert!(watch.upgrade().is_none());
    drop(key);
}

#[test]
fn a_map_being_iterated_keeps_its_values_alive() {
    // While an iteration holds the map's shared part, the map cannot be traced: it and its
    // values are kept, never freed under the iterator.
    let key = object(1);
    let (holder, back) = cycle_through_a_map_value(&key);
    let keys = holder.notes.keys();
    let watch = Gc::downgrade(&holder);
    drop((holder, back));
    assert_eq!(gen_gc::collect(), 0);
    assert_eq!(keys.count(), 1);
    assert_eq!(gen_gc::collect(), 2, "once the iteration is over, the cycle goes");
    assert!(watch.upgrade().is_none());
}

/// CPython's `II`: an object holding a class (`J`) strongly and a weak reference to it whose
/// callback is one of its own bound methods.
#[derive(Trace)]
struct Watcher {
    target: RefCell<Option<Gc<Object>>>,
    weak: RefCell<Option<cyclegc::Weak<Object>>>,
    calls: Cell<u32>,
}

fn watcher() -> Gc<Watcher> {
    Gc::new(Watcher { target: RefCell::new(None), weak: RefCell::new(None), calls: Cell::new(0) })
}

/// A weak reference to `target`, kept by `watcher`, whose traced callback holds `watcher`.
fn watch(watcher: &Gc<Watcher>, target: &Gc<Object>) {
    let callback = cyclegc::Closure::new(watcher.clone(), |watcher: &Gc<Watcher>, dead: cyclegc::Weak<Object>| {
        assert!(dead.is_dead());
        watcher.calls.set(watcher.calls.get() + 1);
    });
    *watcher.weak.borrow_mut() = Some(Gc::downgrade_with_traced_callback(target, callback));
}

#[test]
fn test_callback_in_cycle() {
    // I -> J, I -> wr -> callback -> I: all garbage once dropped; the collector frees them
    // and the callback, owned by garbage, never runs.
    let i = watcher();
    let j = object(1);
    *i.target.borrow_mut() = Some(j.clone());
    watch(&i, &j);
    let (gone_i, gone_j) = (Gc::downgrade(&i), Gc::downgrade(&j));
    drop((i, j));
    assert!(gone_i.upgrade().is_some(), "a cycle through the callback outlives its handles");
    assert_eq!(gen_gc::collect(), 2);
    assert!(gone_i.is_dead() && gone_j.is_dead());
}

#[test]
fn a_traced_callback_runs_when_its_object_dies_by_refcount() {
    let i = watcher();
    let j = object(1);
    watch(&i, &j);
    drop(j);
    assert_eq!(i.calls.get(), 1);
    let gone = Gc::downgrade(&i);
    drop(i);
    assert!(gone.is_dead(), "the callback's handle went with the callback");
}

#[test]
fn a_traced_callback_runs_when_the_collector_frees_its_object() {
    // The target is in a garbage cycle; the weak reference's owner lives.
    let i = watcher();
    let j = object(1);
    *j.cycle.borrow_mut() = Some(j.clone());
    watch(&i, &j);
    drop(j);
    assert_eq!(i.calls.get(), 0);
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(i.calls.get(), 1);
}

#[test]
fn a_cloned_traced_weak_keeps_its_captures_until_the_clone_goes() {
    // With two handles to the weak reference, its captures are held from outside (the
    // clone may be anywhere); the cycle goes once the clone does.
    let i = watcher();
    let j = object(1);
    watch(&i, &j);
    let clone = i.weak.borrow().clone().expect("a weak reference");
    let gone = Gc::downgrade(&i);
    drop(i);
    assert_eq!(gen_gc::collect(), 0);
    assert!(gone.upgrade().is_some());
    drop(clone);
    assert_eq!(gen_gc::collect(), 1);
    assert!(gone.is_dead());
    drop(j);
}

#[test]
fn a_traced_callback_is_a_labelled_edge() {
    let i = watcher();
    let j = object(1);
    watch(&i, &j);
    let labels: Vec<String> = Gc::to_any(&i).referents().into_iter().map(|r| r.label).collect();
    assert_eq!(labels, ["weak.callback.captures"]);
    *i.weak.borrow_mut() = None;
}

/// A key that counts its drops; tracked (it could hold a handle), as most objects are.
#[derive(Trace)]
struct CountedKey {
    drops: Rc<Cell<u32>>,
    next: RefCell<Option<Gc<CountedKey>>>,
}

impl Drop for CountedKey {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

/// A value whose drop panics.
#[derive(Trace)]
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("a value's drop panicked");
    }
}

/// What a map in [`MapHolder`] maps its keys to: a handle to the holder, or a bomb.
#[derive(Trace)]
enum HeldValue {
    Holder(Gc<MapHolder>),
    Bomb(Gc<Bomb>),
}

#[derive(Trace)]
struct MapHolder {
    map: WeakKeyDictionary<CountedKey, HeldValue>,
}

#[test]
fn a_panic_from_dropping_a_map_its_own_death_report_released_is_reported_after_the_death() {
    // The map's holder is owned only by the value of `first`. When `first` dies, the map
    // removes that entry, which drops the holder and with it the map; the map's last
    // handle is the one the report took, and dropping it drops the other value, whose
    // drop panics. The death of `first` still completes (its value is dropped once), and
    // the panic, which happened in the map's death report (a weak reference's callback), is
    // reported, as Python reports an exception raised by a weak reference's callback.
    let drops = Rc::new(Cell::new(0));
    let key = |drops: &Rc<Cell<u32>>| Gc::new(CountedKey { drops: drops.clone(), next: RefCell::new(None) });
    let (first, second) = (key(&drops), key(&drops));
    let holder = Gc::new(MapHolder { map: WeakKeyDictionary::new() });
    holder.map.insert(&first, HeldValue::Holder(holder.clone()));
    holder.map.insert(&second, HeldValue::Bomb(Gc::new(Bomb)));
    let watch = Gc::downgrade(&holder);
    drop(holder);
    let reports = common::unraisable_during(|| drop(first));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].1, "a value's drop panicked");
    assert!(reports[0].0.starts_with("a weak reference callback of a "), "{reports:?}");
    assert_eq!(drops.get(), 1, "the dead key's value was dropped");
    assert!(watch.upgrade().is_none(), "the holder died with its map");
    drop(second);
    assert_eq!(drops.get(), 2);
}
