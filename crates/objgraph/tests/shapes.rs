//! objgraph on trait objects and slices: counted and drawn under their concrete types.

use std::cell::RefCell;

use cyclegc::{Gc, Trace, coerce_gc};

trait Listener {
    fn id(&self) -> u32;
}

#[derive(Trace)]
struct Handler {
    id: u32,
    owner: RefCell<Option<Gc<Dispatcher>>>,
}

impl Listener for Handler {
    fn id(&self) -> u32 {
        self.id
    }
}

#[derive(Trace)]
struct Dispatcher {
    listeners: RefCell<Vec<Gc<dyn Listener>>>,
    names: Gc<[Gc<str>]>,
}

#[test]
fn trait_objects_and_slices_are_counted_and_labelled_by_their_concrete_type() {
    let names: Gc<[Gc<str>]> = ["a", "b"].into_iter().map(Gc::from).collect();
    let dispatcher = Gc::new(Dispatcher { listeners: RefCell::new(Vec::new()), names });
    for id in 0..3 {
        let handler = Gc::new(Handler { id, owner: RefCell::new(Some(dispatcher.clone())) });
        dispatcher.listeners.borrow_mut().push(coerce_gc!(handler));
    }
    assert_eq!(dispatcher.listeners.borrow()[2].id(), 2);
    let query = objgraph::Query::default();
    assert_eq!(objgraph::count("Handler", &query), 3);
    assert_eq!(objgraph::count("[Gc<str>]", &query), 1);

    let first = Gc::to_any(&dispatcher.listeners.borrow()[0]);
    let graph = objgraph::show_backrefs(&[first], &objgraph::GraphOptions::default());
    assert_eq!(graph.labels()[0], "Handler");
    assert!(graph.to_dot().contains(r#"[label="listeners[0]"]"#), "{}", graph.to_dot());

    let slice = Gc::to_any(&dispatcher.names);
    let referents: Vec<String> = slice.referents().into_iter().map(|r| r.label).collect();
    assert_eq!(referents, ["[0]", "[1]"]);
    let strings: usize = dispatcher.names.iter().map(|s| Gc::to_any(s).object_size()).sum();
    assert_eq!(objgraph::retained_size(&slice), slice.object_size() + strings);

    for listener in dispatcher.listeners.borrow().iter() {
        let handler: Gc<Handler> = Gc::to_any(listener).downcast().unwrap();
        handler.owner.borrow_mut().take();
    }
}
