//! The facade under the names of Python's modules: `cyclegc::gc` and `cyclegc::weakref`
//! are `gen_gc` and `weak_collections`, so code written from Python's documentation reads
//! as it would in Python.

use std::cell::RefCell;

use cyclegc::{Gc, Trace};

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
}

#[test]
fn gc_collect_frees_a_cycle() {
    let a = Gc::new(Node { next: RefCell::new(None) });
    let b = Gc::new(Node { next: RefCell::new(Some(a.clone())) });
    *a.next.borrow_mut() = Some(b.clone());
    let watch = cyclegc::weakref::WeakSet::new();
    watch.add(&a);
    drop((a, b));
    assert_eq!(cyclegc::gc::collect(), 2);
    assert!(watch.is_empty());
}

#[test]
fn gc_is_gen_gc() {
    let before = cyclegc::gc::get_threshold();
    assert_eq!(before, cyclegc::gen_gc::get_threshold());
    assert!(cyclegc::gc::is_enabled());
}

#[test]
fn weakref_value_dictionary_drops_an_entry_with_its_value() {
    let cache = cyclegc::weakref::WeakValueDictionary::new();
    let page = Gc::new(String::from("<html>"));
    cache.insert(String::from("index"), page.clone());
    assert_eq!(cache.get("index").as_deref().map(String::as_str), Some("<html>"));
    drop(page);
    assert!(cache.get("index").is_none());
}

#[test]
fn weakref_proxy_fails_once_its_object_is_dead() {
    let text = Gc::new(String::from("hello"));
    let proxy = cyclegc::weakref::proxy(&text);
    assert_eq!(cyclegc::weakref::getweakrefcount(&text), 1);
    assert_eq!(proxy.with(String::len), Ok(5));
    drop(text);
    assert_eq!(proxy.get().err(), Some(cyclegc::weakref::ReferenceError));
}
