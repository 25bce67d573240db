//! Ports of CPython 3.11 `Lib/test/test_weakref.py`'s `ReferencesTestCase`, the cases on weak
//! references themselves (the mapping, finalize and proxy cases are in `test_weakref.rs`).
//!
//! CPython's bound-method callbacks (`I.acallback`, `c2.cb`) become traced callbacks
//! (`Gc::downgrade_with_traced_callback` with a `Closure` capturing the instance); class
//! objects, which CPython's cases rely on being in self-cycles (`__mro__`), become `Class`
//! objects in a self-cycle that the instances hold.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use cyclegc::weak_collections::{ReferenceError, WeakKeyDictionary, WeakProxy};
use cyclegc::{Closure, Finalize, Gc, Trace, Weak, gen_gc};

/// CPython's `C` and `Object(arg)`.
#[derive(Trace)]
struct Object {
    arg: u32,
    attr: RefCell<Option<Gc<Object>>>,
}

fn object(arg: u32) -> Gc<Object> {
    Gc::new(Object { arg, attr: RefCell::new(None) })
}

/// A class object: in a self-cycle, as a CPython class is through its `__mro__`.
#[derive(Trace)]
struct Class {
    name: &'static str,
    mro: RefCell<Option<Gc<Class>>>,
}

fn class(name: &'static str) -> Gc<Class> {
    let class = Gc::new(Class { name, mro: RefCell::new(None) });
    *class.mro.borrow_mut() = Some(class.clone());
    class
}

thread_local! {
    /// CPython's `alist`.
    static ALIST: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

fn alist() -> Vec<&'static str> {
    ALIST.with(|a| a.borrow().clone())
}

fn alist_push(entry: &'static str) {
    ALIST.with(|a| a.borrow_mut().push(entry));
}

fn alist_clear() {
    ALIST.with(|a| a.borrow_mut().clear());
}

#[test]
fn test_multiple_selfref_callbacks() {
    // Every reference reads dead before any callback runs: the callback of the newest
    // reference reads the first one (`self.ref()`), and so does the first one's own.
    type Slot = Rc<RefCell<Option<Weak<Object>>>>;
    let first: Slot = Rc::default();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let callback = |first: &Slot, seen: &Rc<RefCell<Vec<bool>>>| {
        let (first, seen) = (first.clone(), seen.clone());
        move |_dead: Weak<Object>| {
            let dead = first.borrow().as_ref().is_none_or(|r| r.upgrade().is_none());
            seen.borrow_mut().push(dead);
        }
    };
    let c = object(1);
    *first.borrow_mut() = Some(Gc::downgrade_with_callback(&c, callback(&first, &seen)));
    let ref1 = Gc::downgrade_with_callback(&c, callback(&first, &seen));
    drop(c);
    assert_eq!(*seen.borrow(), [true, true], "both callbacks ran and saw `self.ref` dead");
    assert!(ref1.is_dead());
    first.borrow_mut().take();
}

#[test]
fn test_shared_ref_without_callback() {
    // Rust has one way to ask for a callback-less reference (no `None` versus NULL), so the
    // four pairings of CPython's case are one; each pair is one reference.
    let o = object(1);
    for _ in 0..4 {
        let p1 = Gc::downgrade(&o);
        let p2 = Gc::downgrade(&o);
        assert!(p1.same_reference(&p2), "callback-less references are shared");
        assert_eq!(Gc::weak_count(&o), 2);
        drop((p1, p2));
        assert_eq!(Gc::weak_count(&o), 0);
    }
}

#[test]
fn test_callbacks_protected() {
    // A callback that runs while a panic unwinds (Python: with an exception set) does not
    // replace the panic: the caller catches the original payload, and the callback did its
    // work.
    #[derive(Debug)]
    struct BogusError;
    let data: Rc<RefCell<Vec<Weak<Object>>>> = Rc::default();
    let encapsulate = |data: &Rc<RefCell<Vec<Weak<Object>>>>| {
        let f = object(0);
        let d = data.clone();
        let remove = move |k: Weak<Object>| d.borrow_mut().retain(|w| !w.same_reference(&k));
        data.borrow_mut().push(Gc::downgrade_with_callback(&f, remove));
        std::panic::panic_any(BogusError);
    };
    for _ in 0..2 {
        let payload = catch_unwind(AssertUnwindSafe(|| encapsulate(&data))).expect_err("it panics");
        assert!(payload.downcast_ref::<BogusError>().is_some(), "panic not properly restored");
        assert!(data.borrow().is_empty(), "the callback ran during the unwinding");
    }
}

#[test]
fn test_sf_bug_840829() {
    // Callbacks that run a collection while objects die by reference counting.
    let calls = Rc::new(Cell::new(0));
    let collect_in_callback = |calls: &Rc<Cell<u32>>| {
        let calls = calls.clone();
        move |_: Weak<Object>| {
            calls.set(calls.get() + 1);
            gen_gc::collect();
        }
    };
    let c = object(0);
    let wr = Gc::downgrade_with_callback(&c, collect_in_callback(&calls));
    drop(c);
    drop(wr);
    assert_eq!(calls.get(), 1);

    let c1 = object(1);
    *c1.attr.borrow_mut() = Some(object(2)); // c1.i = C()
    let i = c1.attr.borrow().clone().unwrap();
    let wr = Gc::downgrade_with_callback(&i, collect_in_callback(&calls));
    drop(i);
    let c2 = object(3);
    *c2.attr.borrow_mut() = Some(c1.clone()); // c2.c1 = c1
    drop(c1); // still alive because c2 points to it
    drop(c2);
    assert_eq!(calls.get(), 2);
    assert!(wr.is_dead());
}

/// CPython's `II` instance: its class, a strong reference to `J` and a weak one whose
/// callback is one of its own bound methods.
#[derive(Trace)]
struct II {
    class: Gc<Class>,
    j: RefCell<Option<Gc<Class>>>,
    wr: RefCell<Option<Weak<Class>>>,
}

#[test]
fn test_callback_in_cycle_classes() {
    // `test_callback_in_cycle` (3.11; `test_callback_in_cycle_1` and `_2` before) with the
    // class objects: `J` and `II` in self-cycles, `I` holding `II` (its class), `J`, and a
    // weak reference to `J` whose callback (`I.acallback`) holds `I` and reads `I.J`
    // through `I`'s class. All trash: freed, the callback never runs (its weak reference is
    // trash too), and nothing is read after being cleared.
    thread_local!(static CALLS: Cell<u32> = const { Cell::new(0) });
    let ii = class("II");
    let j = class("J");
    let i = Gc::new(II { class: ii.clone(), j: RefCell::new(Some(j.clone())), wr: RefCell::new(None) });
    let acallback = Closure::new(i.clone(), |this: &Gc<II>, _ignore: Weak<Class>| {
        CALLS.with(|c| c.set(c.get() + 1));
        let class = this.class.mro.borrow().clone().expect("II's __mro__");
        assert_eq!(class.name, "II");
        let _ = this.j.borrow().as_ref().expect("self.J").name;
    });
    *i.wr.borrow_mut() = Some(Gc::downgrade_with_traced_callback(&j, acallback));
    let watch = (Gc::downgrade(&i), Gc::downgrade(&j), Gc::downgrade(&ii));
    drop((i, j, ii));
    assert!(watch.0.upgrade().is_some(), "cycles keep them until a collection");
    assert_eq!(gen_gc::collect(), 3);
    assert!(watch.0.is_dead() && watch.1.is_dead() && watch.2.is_dead());
    assert_eq!(CALLS.with(Cell::get), 0);
}

/// CPython's `C` of `test_callback_reachable_one_way`: `me`, `c1`, `wr` and its class.
#[derive(Trace)]
struct OneWay {
    class: Gc<Class>,
    me: RefCell<Option<Gc<OneWay>>>,
    c1: RefCell<Option<Gc<OneWay>>>,
    wr: RefCell<Option<Weak<OneWay>>>,
}

#[test]
fn test_callback_reachable_one_way() {
    // `test_callback_in_cycle_3` before 3.x: what the callback reaches (c2) is not reachable
    // from the dying object (c1). c2's callback holds c2 and reads `me`, `c1` and `wr`.
    thread_local!(static CALLS: Cell<u32> = const { Cell::new(0) });
    let c = class("C");
    let new =
        || Gc::new(OneWay { class: c.clone(), me: RefCell::new(None), c1: RefCell::new(None), wr: RefCell::new(None) });
    let (c1, c2) = (new(), new());
    *c2.me.borrow_mut() = Some(c2.clone());
    *c2.c1.borrow_mut() = Some(c1.clone());
    let cb = Closure::new(c2.clone(), |this: &Gc<OneWay>, _ignore: Weak<OneWay>| {
        CALLS.with(|c| c.set(c.get() + 1));
        assert!(this.me.borrow().is_some() && this.c1.borrow().is_some() && this.wr.borrow().is_some());
        assert!(this.class.mro.borrow().is_some());
    });
    *c2.wr.borrow_mut() = Some(Gc::downgrade_with_traced_callback(&c1, cb));
    let watch = (Gc::downgrade(&c1), Gc::downgrade(&c2));
    drop((c1, c2, c));
    assert_eq!(gen_gc::collect(), 3, "c1, c2 and their class");
    assert!(watch.0.is_dead() && watch.1.is_dead());
    assert_eq!(CALLS.with(Cell::get), 0, "the weak reference is trash: its callback never runs");
}

/// CPython's `D` of `test_callback_different_classes`.
#[derive(Trace)]
struct D {
    class: Gc<Class>,
}

/// CPython's `C` of `test_callback_different_classes`.
#[derive(Trace)]
struct DifferentC {
    class: Gc<Class>,
    me: RefCell<Option<Gc<DifferentC>>>,
    c1: RefCell<Option<Gc<D>>>,
    wr: RefCell<Option<Weak<D>>>,
}

#[test]
fn test_callback_different_classes() {
    // `test_callback_in_cycle_4`: as above with c1 and c2 of different classes, so c2's
    // class is not reachable from c1.
    thread_local!(static CALLS: Cell<u32> = const { Cell::new(0) });
    let (class_c, class_d) = (class("C"), class("D"));
    let c1 = Gc::new(D { class: class_d.clone() });
    let c2 = Gc::new(DifferentC {
        class: class_c.clone(),
        me: RefCell::new(None),
        c1: RefCell::new(None),
        wr: RefCell::new(None),
    });
    *c2.me.borrow_mut() = Some(c2.clone());
    *c2.c1.borrow_mut() = Some(c1.clone());
    let cb = Closure::new(c2.clone(), |this: &Gc<DifferentC>, _ignore: Weak<D>| {
        CALLS.with(|c| c.set(c.get() + 1));
        assert!(this.class.mro.borrow().is_some(), "C.__mro__ intact");
        assert!(this.me.borrow().is_some() && this.c1.borrow().is_some() && this.wr.borrow().is_some());
    });
    *c2.wr.borrow_mut() = Some(Gc::downgrade_with_traced_callback(&c1, cb));
    let watch = (Gc::downgrade(&c1), Gc::downgrade(&c2), Gc::downgrade(&class_c), Gc::downgrade(&class_d));
    drop((c1, c2, class_c, class_d));
    assert_eq!(gen_gc::collect(), 4, "c1, c2, C and D");
    assert!(watch.0.is_dead() && watch.1.is_dead() && watch.2.is_dead() && watch.3.is_dead());
    assert_eq!(CALLS.with(Cell::get), 0);
}

/// CPython's `C` of `test_callback_in_cycle_resurrection`.
#[derive(Trace)]
struct Resurrector {
    attribute: u32,
    class: Gc<Class>,
    c: RefCell<Option<Gc<Resurrector>>>,
    wr: RefCell<Option<Weak<Resurrector>>>,
}

#[test]
fn test_callback_in_cycle_resurrection() {
    // Callbacks that would resurrect trash (`alist.append(self.c)`) are trash themselves:
    // they never run. The weak reference to the class, held by a local, is not trash: its
    // callback runs when the class goes.
    thread_local!(static RESURRECTED: RefCell<Vec<Gc<Resurrector>>> = const { RefCell::new(Vec::new()) });
    alist_clear();
    let c = class("C");
    let new =
        |attribute| Gc::new(Resurrector { attribute, class: c.clone(), c: RefCell::new(None), wr: RefCell::new(None) });
    let (c1, c2) = (new(1), new(2));
    *c1.c.borrow_mut() = Some(c2.clone());
    *c2.c.borrow_mut() = Some(c1.clone());
    let acallback = |this: &Gc<Resurrector>| {
        Closure::new(this.clone(), |this: &Gc<Resurrector>, _ignore: Weak<Resurrector>| {
            alist_push("acallback");
            let c = this.c.borrow().clone().expect("self.c");
            RESURRECTED.with(|r| r.borrow_mut().push(c));
        })
    };
    *c1.wr.borrow_mut() = Some(Gc::downgrade_with_traced_callback(&c2, acallback(&c1)));
    *c2.wr.borrow_mut() = Some(Gc::downgrade_with_traced_callback(&c1, acallback(&c2)));
    let wr = Gc::downgrade_with_callback(&c, |_| alist_push("C went away"));
    assert_eq!(c1.attribute + c2.attribute, 3);
    drop((c1, c2, c));
    assert_eq!(alist(), Vec::<&str>::new(), "dropping isn't enough to reclaim anything");
    assert_eq!(gen_gc::collect(), 3);
    assert_eq!(alist(), ["C went away"]);
    assert!(wr.upgrade().is_none());
    assert!(RESURRECTED.with(|r| r.borrow().is_empty()));
    alist_clear();
    gen_gc::collect();
    assert_eq!(alist(), Vec::<&str>::new());
}

/// CPython's `c.cb`, a bound method: a callable object holding `c`.
type BoundCb = Closure<Gc<OnCallback>, Weak<OnCallback>>;

/// CPython's `C` of `test_callbacks_on_callback`.
#[derive(Trace)]
struct OnCallback {
    other: RefCell<Option<Gc<OnCallback>>>,
    wr_to_c: RefCell<Option<Weak<OnCallback>>>,
    wr_to_callback: RefCell<Option<Weak<BoundCb>>>,
}

#[test]
fn test_callbacks_on_callback() {
    // Weak reference callbacks *on* weak reference callbacks: `c.wr` (to d, callback the
    // bound method object `callback` = `c.cb`) and `d.wr` (to `callback`, callback `d.cb`)
    // are trash and never run; `external_wr` (to `callback`) is not trash, and its callback
    // runs when the bound method object is freed with the trash.
    use cyclegc::Callable;
    alist_clear();
    let new = || {
        Gc::new(OnCallback {
            other: RefCell::new(None),
            wr_to_c: RefCell::new(None),
            wr_to_callback: RefCell::new(None),
        })
    };
    let (c, d) = (new(), new());
    *c.other.borrow_mut() = Some(d.clone());
    *d.other.borrow_mut() = Some(c.clone());
    let callback: Gc<BoundCb> =
        Gc::new(Closure::new(c.clone(), |_c: &Gc<OnCallback>, _ignore: Weak<OnCallback>| alist_push("cb called")));
    // c.wr = weakref.ref(d, callback): the callback is the object `callback`.
    let call_it = Closure::new(callback.clone(), |callback: &Gc<BoundCb>, dead: Weak<OnCallback>| callback.call(dead));
    *c.wr_to_c.borrow_mut() = Some(Gc::downgrade_with_traced_callback(&d, call_it));
    // d.wr = weakref.ref(callback, d.cb)
    let d_cb = Closure::new(d.clone(), |_d: &Gc<OnCallback>, _ignore: Weak<BoundCb>| alist_push("cb called"));
    *d.wr_to_callback.borrow_mut() = Some(Gc::downgrade_with_traced_callback(&callback, d_cb));
    let external_wr = Gc::downgrade_with_callback(&callback, |_| alist_push("safe_callback called"));
    assert!(Gc::ptr_eq(&external_wr.upgrade().unwrap(), &callback));

    drop((callback, c, d));
    assert_eq!(alist(), Vec::<&str>::new(), "dropping isn't enough to clean up cycles");
    assert_eq!(gen_gc::collect(), 3, "c, d and the bound method object");
    assert_eq!(alist(), ["safe_callback called"]);
    assert!(external_wr.upgrade().is_none());
    alist_clear();
    gen_gc::collect();
    assert_eq!(alist(), Vec::<&str>::new());
}

/// CPython's `A` of `check_gc_during_creation`.
#[derive(Trace)]
struct A {
    a: RefCell<Option<Gc<A>>>,
    wr: RefCell<Option<Weak<A>>>,
    proxy: RefCell<Option<WeakProxy<A>>>,
}

fn a() -> Gc<A> {
    Gc::new(A { a: RefCell::new(None), wr: RefCell::new(None), proxy: RefCell::new(None) })
}

/// Automatic collections as often as possible while an object with a weak reference (or
/// proxy) becomes cyclic trash and another one is made. rc-heap's weak references are not
/// heap objects, so making one never starts a collection itself (CPython's did); the
/// collections run at the `Gc::new`s around it.
fn check_gc_during_creation(proxy: bool) {
    let thresholds = gen_gc::get_threshold();
    gen_gc::set_threshold(1, 1, 1);
    gen_gc::collect();
    let referenced = a();
    let mut x = a();
    *x.a.borrow_mut() = Some(x.clone());
    if proxy {
        *x.proxy.borrow_mut() = Some(WeakProxy::new(&referenced));
    } else {
        *x.wr.borrow_mut() = Some(Gc::downgrade(&referenced));
    }
    let old = Gc::downgrade(&x);
    // Now make sure the object and the ref get labeled as cyclic trash:
    x = a();
    let made = if proxy {
        let p = WeakProxy::with_callback(&referenced, || {});
        assert!(p.is_alive());
        None
    } else {
        Some(Gc::downgrade_with_callback(&referenced, |_| {}))
    };
    let _ = a(); // one more allocation, one more automatic collection
    gen_gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
    gen_gc::collect();
    assert!(old.is_dead());
    assert!(made.as_ref().is_none_or(|w| w.upgrade().is_some()));
    assert!(Gc::downgrade(&referenced).upgrade().is_some());
    drop((x, referenced));
    assert!(made.is_none_or(|w| w.is_dead()));
}

#[test]
fn test_gc_during_ref_creation() {
    check_gc_during_creation(false);
}

#[test]
fn test_gc_during_proxy_creation() {
    check_gc_during_creation(true);
}

/// CPython's `Target` of `test_ref_created_during_del`.
#[derive(Trace)]
#[trace(finalize)]
struct Target {
    /// A weak reference with a callback, so that the plain one is made in `__del__`.
    me: RefCell<Option<Weak<Target>>>,
    /// A self-cycle, for the collector's variant.
    cycle: RefCell<Option<Gc<Target>>>,
}

thread_local! {
    static REF_FROM_DEL: RefCell<Option<Weak<Target>>> = const { RefCell::new(None) };
    static CALLBACK_REF_FROM_DEL: RefCell<Option<Weak<Target>>> = const { RefCell::new(None) };
}

impl Finalize for Target {
    fn finalize(&self) {
        let me = match self.cycle.borrow().clone() {
            Some(me) => me,
            None => self.me.borrow().as_ref().and_then(Weak::upgrade).expect("alive in its finalizer"),
        };
        REF_FROM_DEL.with(|r| *r.borrow_mut() = Some(Gc::downgrade(&me)));
        let with_callback = Gc::downgrade_with_callback(&me, |dead| {
            assert!(dead.is_dead());
            alist_push("cb from del");
        });
        CALLBACK_REF_FROM_DEL.with(|r| *r.borrow_mut() = Some(with_callback));
    }
}

fn target() -> Gc<Target> {
    let t = Gc::new(Target { me: RefCell::new(None), cycle: RefCell::new(None) });
    *t.me.borrow_mut() = Some(Gc::downgrade_with_callback(&t, |_| {}));
    t
}

fn take_refs_from_del() -> (Weak<Target>, Weak<Target>) {
    let plain = REF_FROM_DEL.with(|r| r.borrow_mut().take()).expect("__del__ ran");
    let with_callback = CALLBACK_REF_FROM_DEL.with(|r| r.borrow_mut().take()).expect("__del__ ran");
    (plain, with_callback)
}

#[test]
fn test_ref_created_during_del() {
    // Bug #1377858: a weak reference made in an object's `__del__` must not point to freed
    // memory once the object is gone. CPython also clears it and runs its callback (checked
    // against CPython 3.11: ref_from_del() is None, the callback ran once).
    alist_clear();
    let w = target();
    drop(w);
    let (plain, with_callback) = take_refs_from_del();
    assert!(plain.upgrade().is_none());
    assert!(with_callback.upgrade().is_none());
    assert_eq!(alist(), ["cb from del"]);
}

/// CPython's `Object` with `__eq__` by `arg`.
impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        self.arg == other.arg
    }
}

#[test]
fn test_equality() {
    // While alive, CPython's `==` defers to the objects: here `a.upgrade() == b.upgrade()`
    // (`Gc`'s `==` is its value's). `Weak::ptr_eq`, the mapping's `==`, is identity while
    // alive (see `test_weakref_differences.rs`). Once dead, weak references compare by
    // identity: `Weak::ptr_eq`, and `a == d` is `a is d`. (`a == x` and `ALWAYS_EQ` compare
    // a weak reference with other types: a compile error in Rust.)
    let (x, y, z) = (object(1), object(1), object(2));
    let (a, b, c, d) = (Gc::downgrade(&x), Gc::downgrade(&y), Gc::downgrade(&z), Gc::downgrade(&x));
    assert!(a.upgrade() == b.upgrade());
    assert!(a.upgrade() != c.upgrade());
    assert!(a.upgrade() == d.upgrade());
    assert!(a.ptr_eq(&d) && !a.ptr_eq(&c));
    drop((x, y, z));
    gen_gc::collect();
    for r in [&a, &b, &c] {
        assert!(r.upgrade().is_none());
    }
    assert!(!a.ptr_eq(&b));
    assert!(!a.ptr_eq(&c));
    assert_eq!(a.ptr_eq(&d), a.same_reference(&d));
}

#[test]
fn test_trashcan_16602() {
    // Issue #16602: the target of a weak reference, deep in a chain of deaths, must never
    // be seen from outside once its count has dropped to zero. Each C holds a weak reference
    // to its parent whose callback reads a weak reference to the C itself.
    #[derive(Trace)]
    struct C {
        wparent: RefCell<Option<Weak<C>>>,
        alive: Cell<bool>,
    }
    impl Drop for C {
        fn drop(&mut self) {
            self.alive.set(false);
        }
    }
    let seen = Rc::new(RefCell::new(Vec::new()));
    let new = |parent: Option<&Gc<C>>| {
        let c = Gc::new(C { wparent: RefCell::new(None), alive: Cell::new(true) });
        if let Some(parent) = parent {
            let wself = Gc::downgrade(&c);
            let seen = seen.clone();
            let cb = move |_wparent: Weak<C>| {
                let o = wself.upgrade();
                if let Some(o) = &o {
                    assert!(o.alive.get(), "a dropped object seen from outside");
                }
                seen.borrow_mut().push(o.is_none());
            };
            *c.wparent.borrow_mut() = Some(Gc::downgrade_with_callback(parent, cb));
        }
        c
    };
    let d = WeakKeyDictionary::new();
    let root = new(None);
    let mut c = root.clone();
    for _ in 0..100 {
        let child = new(Some(&c));
        d.insert(&c, child.clone()); // d[c] = c = C(c)
        c = child;
    }
    drop(root);
    gen_gc::collect();
    assert_eq!(d.len(), 0);
    let seen = seen.borrow();
    // As CPython 3.11: all 100 callbacks run; 99 see their C dead, the last one's sees it
    // alive (the local `c` holds it).
    assert_eq!(seen.len(), 100);
    assert_eq!(seen.iter().filter(|dead| **dead).count(), 99);
    assert!(c.alive.get());
}

#[test]
fn test_callback_attribute() {
    let x = object(1);
    let ref1 = Gc::downgrade_with_callback(&x, |_| {});
    assert!(ref1.has_callback(), "ref1.__callback__ is callback");
    let ref2 = Gc::downgrade(&x);
    assert!(!ref2.has_callback(), "ref2.__callback__ is None");
}

#[test]
fn test_callback_attribute_after_deletion() {
    let x = object(1);
    let r = Gc::downgrade_with_callback(&x, |_| {});
    assert!(r.has_callback());
    drop(x);
    gen_gc::collect();
    assert!(!r.has_callback());
}

#[test]
fn test_callback_gcs() {
    // A callback that runs a collection, for an object with a finalizer.
    #[derive(Trace)]
    #[trace(finalize)]
    struct ObjectWithDel {
        arg: u32,
    }
    impl Finalize for ObjectWithDel {
        fn finalize(&self) {}
    }
    let calls = Rc::new(Cell::new(0));
    let x = Gc::new(ObjectWithDel { arg: 1 });
    assert_eq!(x.arg, 1);
    let seen = calls.clone();
    let ref1 = Gc::downgrade_with_callback(&x, move |_| {
        seen.set(seen.get() + 1);
        gen_gc::collect();
    });
    drop(x);
    gen_gc::collect();
    assert_eq!(calls.get(), 1);
    assert!(ref1.is_dead());
}

#[test]
fn test_repr_failure_gh99184() {
    // The weak reference's printed form names its object's type, alive or dead.
    #[derive(Trace)]
    struct MyConfig {
        offset: HashMap<String, u32>,
    }
    let obj = Gc::new(MyConfig { offset: HashMap::from([("offset".to_owned(), 5)]) });
    let obj_weakref = Gc::downgrade(&obj);
    assert_eq!(obj.offset["offset"], 5);
    assert!(format!("{obj_weakref:?}").contains("MyConfig"), "{obj_weakref:?}");
    drop(obj);
    assert!(format!("{obj_weakref:?}").contains("MyConfig"));
}

#[test]
fn test_proxy_ref_of_a_temporary() {
    // The rest of `test_proxy_ref`: a proxy of an object that died at once raises
    // ReferenceError (`bool(ref3)`).
    let ref3 = WeakProxy::new(&object(3));
    gen_gc::collect();
    assert_eq!(ref3.with(|o| o.arg).err(), Some(ReferenceError));
    assert!(!ref3.is_alive());
}

thread_local! {
    static CYCLE_ALIST: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
    static CYCLE_REF_FROM_DEL: RefCell<Option<Weak<CycleTarget>>> = const { RefCell::new(None) };
    static CYCLE_CALLBACK_REF_FROM_DEL: RefCell<Option<Weak<CycleTarget>>> = const { RefCell::new(None) };
}

/// CPython's `Target` of `test_ref_created_during_del`, in a self-cycle.
#[derive(Trace)]
#[trace(finalize)]
struct CycleTarget {
    cycle: RefCell<Option<Gc<CycleTarget>>>,
}

impl Finalize for CycleTarget {
    fn finalize(&self) {
        let me = self.cycle.borrow().clone().expect("the self-cycle is intact in __del__");
        CYCLE_REF_FROM_DEL.with(|r| *r.borrow_mut() = Some(Gc::downgrade(&me)));
        let with_callback = Gc::downgrade_with_callback(&me, |dead| {
            assert!(dead.is_dead());
            CYCLE_ALIST.with(|a| a.borrow_mut().push("cb from del"));
        });
        CYCLE_CALLBACK_REF_FROM_DEL.with(|r| *r.borrow_mut() = Some(with_callback));
    }
}

#[test]
fn test_ref_created_during_del_by_the_collector() {
    // `test_ref_created_during_del` (bug #1377858) with the object in a cycle, so that its
    // finalizer runs in a collection, after the collector cleared its weak references. The
    // finalizer makes a plain weak reference and one with a callback, both kept alive: when
    // the object is freed both read dead and the callback runs once, as in CPython.
    let w = Gc::new(CycleTarget { cycle: RefCell::new(None) });
    *w.cycle.borrow_mut() = Some(w.clone());
    drop(w);
    assert_eq!(gen_gc::collect(), 1);
    let plain = CYCLE_REF_FROM_DEL.with(|r| r.borrow_mut().take()).expect("__del__ ran");
    let with_callback = CYCLE_CALLBACK_REF_FROM_DEL.with(|r| r.borrow_mut().take()).expect("__del__ ran");
    assert!(plain.upgrade().is_none());
    assert!(with_callback.upgrade().is_none());
    assert!(!with_callback.has_callback(), "it ran");
    assert_eq!(CYCLE_ALIST.with(|a| a.borrow().clone()), ["cb from del"]);
}
