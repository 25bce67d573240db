//! Weak containers of trait objects and strings.

use std::cell::RefCell;

use cyclegc::{Gc, Trace, coerce_gc};
use weak_collections::{WeakKeyDictionary, WeakSet, WeakValueDictionary};

trait Listener {
    fn name(&self) -> String;
}

#[derive(Trace)]
struct Named(&'static str);

impl Listener for Named {
    fn name(&self) -> String {
        self.0.to_owned()
    }
}

fn listener(name: &'static str) -> Gc<dyn Listener> {
    coerce_gc!(Gc::new(Named(name)))
}

#[test]
fn a_weak_set_of_trait_objects_forgets_each_as_it_dies() {
    let a = listener("a");
    let b = listener("b");
    let set: WeakSet<dyn Listener> = WeakSet::new();
    set.add(&a);
    set.add(&b);
    assert!(set.contains(&a));
    assert_eq!(set.len(), 2);
    drop(a);
    assert_eq!(set.len(), 1);
    let names: Vec<String> = set.iter().map(|l| l.name()).collect();
    assert_eq!(names, ["b"]);
    assert_eq!(format!("{set:?}"), "WeakSet<dyn Listener>(1 live)");
}

#[test]
fn a_weak_value_dictionary_of_strings_and_a_weak_key_dictionary_of_trait_objects() {
    let text: Gc<str> = Gc::from("value");
    let values: WeakValueDictionary<u32, str> = WeakValueDictionary::new();
    values.insert(1, &text);
    assert_eq!(values.get(&1).as_deref(), Some("value"));
    drop(text);
    assert!(values.get(&1).is_none());

    let key = listener("k");
    let keys: WeakKeyDictionary<dyn Listener, u32> = WeakKeyDictionary::new();
    keys.insert(&key, 7);
    assert_eq!(keys.get(&key), Some(7));
    drop(key);
    assert_eq!(keys.len(), 0);
}

#[test]
fn a_weak_set_of_trait_objects_can_live_on_the_heap() {
    #[derive(Trace)]
    struct Bus {
        listeners: WeakSet<dyn Listener>,
        log: RefCell<Vec<String>>,
    }
    let bus = Gc::new(Bus { listeners: WeakSet::new(), log: RefCell::new(Vec::new()) });
    let a = listener("a");
    bus.listeners.add(&a);
    for l in bus.listeners.iter() {
        bus.log.borrow_mut().push(l.name());
    }
    assert_eq!(*bus.log.borrow(), ["a"]);
}
