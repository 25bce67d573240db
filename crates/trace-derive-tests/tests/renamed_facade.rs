//! The derive as an application uses it: through the facade, renamed in the manifest
//! (`gc_facade = { package = "cyclegc", .. }`), in a crate that forbids `unsafe` code.

#![forbid(unsafe_code)]

use std::cell::RefCell;

use gc_facade::gen_gc;
use gc_facade::{Gc, Trace, Weak};

#[derive(Trace, Debug)]
#[trace(describe)]
struct Node {
    name: &'static str,
    next: RefCell<Option<Gc<Node>>>,
}

/// The facade's root named as the crate, as serde's `crate = "..."` is spelled too.
#[derive(Trace)]
#[trace(crate = gc_facade, describe)]
struct ByRoot {
    me: RefCell<Option<Gc<ByRoot>>>,
}

impl std::fmt::Debug for ByRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ByRoot")
    }
}

#[derive(Trace)]
#[trace(crate = "gc_facade::rc_heap")]
struct ByString {
    me: RefCell<Option<Gc<ByString>>>,
}

#[test]
fn a_renamed_facade_derives_traces_and_describes() {
    let a = Gc::new(Node { name: "a", next: RefCell::new(None) });
    let b = Gc::new(Node { name: "b", next: RefCell::new(Some(a.clone())) });
    *a.next.borrow_mut() = Some(b.clone());
    let labels: Vec<String> =
        Gc::to_any(&a).referents().into_iter().map(|referent| referent.label.to_string()).collect();
    assert_eq!(labels, ["next"]);
    assert!(Gc::to_any(&a).describe().is_some_and(|text| text.contains("name: \"a\"")));
    let weak: Weak<Node> = Gc::downgrade(&a);
    drop((a, b));
    assert!(weak.upgrade().is_some(), "a cycle waits for the collector");
    gen_gc::collect();
    assert!(weak.upgrade().is_none());
}

#[test]
fn the_crate_option_takes_the_facade_root_or_a_string() {
    let root = Gc::new(ByRoot { me: RefCell::new(None) });
    *root.me.borrow_mut() = Some(root.clone());
    assert_eq!(Gc::to_any(&root).describe().as_deref(), Some("ByRoot"));
    let string = Gc::new(ByString { me: RefCell::new(None) });
    *string.me.borrow_mut() = Some(string.clone());
    let weaks = (Gc::downgrade(&root), Gc::downgrade(&string));
    drop((root, string));
    gen_gc::collect();
    assert!(weaks.0.upgrade().is_none() && weaks.1.upgrade().is_none());
}

/// Borrowed constants own nothing: a struct may hold them beside its handles.
#[derive(Trace)]
struct Config {
    magic: &'static [u8],
    home: &'static std::path::Path,
    name: &'static str,
    next: RefCell<Option<Gc<Config>>>,
}

#[test]
fn static_references_are_leaves() {
    let config = Gc::new(Config {
        magic: b"\x7fELF",
        home: std::path::Path::new("/home"),
        name: "default",
        next: RefCell::new(None),
    });
    *config.next.borrow_mut() = Some(config.clone());
    let labels: Vec<String> =
        Gc::to_any(&config).referents().into_iter().map(|referent| referent.label.to_string()).collect();
    assert_eq!(labels, ["next"]);
    assert_eq!((config.magic.len(), config.home.as_os_str().len(), config.name), (4, 5, "default"));
    let weak = Gc::downgrade(&config);
    drop(config);
    gen_gc::collect();
    assert!(weak.upgrade().is_none());
}
