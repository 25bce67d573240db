//! The collector on every shape of value: trait objects, slices and strings, traced
//! closures, objects made by `new_cyclic`, and values lent by `get_mut`.

mod common;

use std::cell::{Cell, RefCell};

use cyclegc::{Callable, Closure, Finalize, Gc, Trace, Weak, coerce_gc};
use gen_gc::DebugFlags;

/// A widget whose listeners are trait objects.
#[derive(Trace)]
struct Widget {
    name: &'static str,
    clicks: Cell<u32>,
    listeners: RefCell<Vec<Gc<dyn Callable<u32>>>>,
}

impl Widget {
    fn new(name: &'static str) -> Gc<Widget> {
        Gc::new(Widget { name, clicks: Cell::new(0), listeners: RefCell::new(Vec::new()) })
    }

    fn click(&self, n: u32) {
        for listener in self.listeners.borrow().iter() {
            listener.call(n);
        }
    }
}

#[test]
fn a_listener_capturing_its_widget_is_a_cycle_the_collector_frees() {
    gen_gc::collect();
    let widget = Widget::new("button");
    let listener = Closure::new(widget.clone(), |widget: &Gc<Widget>, n: u32| {
        widget.clicks.set(widget.clicks.get() + n);
    });
    widget.listeners.borrow_mut().push(coerce_gc!(Gc::new(listener)));
    widget.click(3);
    assert_eq!(widget.clicks.get(), 3);
    let watch = Gc::downgrade(&widget);
    drop(widget);
    assert!(watch.upgrade().is_some(), "reference counting cannot free the cycle");
    assert_eq!(gen_gc::collect(), 2);
    assert!(watch.upgrade().is_none());
}

/// A listener trait of the program's own, with no `Trace` supertrait.
trait Listener {
    fn notify(&self) -> &'static str;
}

#[derive(Trace)]
struct Logger {
    owner: RefCell<Option<Gc<Panel>>>,
}

impl Listener for Logger {
    fn notify(&self) -> &'static str {
        self.owner.borrow().as_ref().map_or("orphan", |panel| panel.title)
    }
}

#[derive(Trace)]
struct Panel {
    title: &'static str,
    listeners: RefCell<Vec<Gc<dyn Listener>>>,
}

#[test]
fn a_cycle_through_a_trait_object_is_collected_and_debug_output_names_the_concrete_type() {
    gen_gc::collect();
    let output = common::capture_debug_output();
    let panel = Gc::new(Panel { title: "settings", listeners: RefCell::new(Vec::new()) });
    let logger = Gc::new(Logger { owner: RefCell::new(Some(panel.clone())) });
    panel.listeners.borrow_mut().push(coerce_gc!(logger));
    assert_eq!(panel.listeners.borrow()[0].notify(), "settings");
    drop(panel);
    gen_gc::set_debug(DebugFlags::COLLECTABLE);
    let found = gen_gc::collect();
    gen_gc::set_debug(DebugFlags::empty());
    gen_gc::set_debug_output(None);
    assert_eq!(found, 2);
    let text = output.borrow().clone();
    assert!(text.contains("gc: collectable <Logger 0x"), "{text}");
    assert!(text.contains("gc: collectable <Panel 0x"), "{text}");
}

#[derive(Trace)]
struct Cell2 {
    items: RefCell<Option<Gc<[Gc<Cell2>]>>>,
}

#[test]
fn a_cycle_through_a_slice_object_is_collected() {
    gen_gc::collect();
    let a = Gc::new(Cell2 { items: RefCell::new(None) });
    let b = Gc::new(Cell2 { items: RefCell::new(None) });
    let slice: Gc<[Gc<Cell2>]> = Gc::from(vec![a.clone(), b.clone()]);
    *a.items.borrow_mut() = Some(slice.clone());
    *b.items.borrow_mut() = Some(slice);
    let watch = Gc::downgrade(&a);
    drop((a, b));
    assert_eq!(gen_gc::collect(), 3);
    assert!(watch.upgrade().is_none());
}

#[test]
fn strings_and_leaf_slices_are_not_tracked() {
    let text: Gc<str> = Gc::from("leaf");
    let numbers: Gc<[u8]> = Gc::from(&b"leaf"[..]);
    assert!(!gen_gc::is_tracked(&Gc::to_any(&text)));
    assert!(!gen_gc::is_tracked(&Gc::to_any(&numbers)));
    let objects = gen_gc::get_objects(None);
    assert!(!objects.iter().any(|o| o.ptr_eq(&Gc::to_any(&text))));
}

#[derive(Trace)]
struct Parent {
    me: Weak<Parent>,
    children: RefCell<Vec<Gc<Child>>>,
}

#[derive(Trace)]
struct Child {
    parent: Gc<Parent>,
}

#[test]
fn an_object_made_by_new_cyclic_joins_cycles_like_any_other() {
    gen_gc::collect();
    let parent = Gc::new_cyclic(|me| Parent { me: me.clone(), children: RefCell::new(Vec::new()) });
    let child = Gc::new(Child { parent: parent.me.upgrade().unwrap() });
    parent.children.borrow_mut().push(child);
    let watch = parent.me.clone();
    drop(parent);
    assert!(watch.upgrade().is_some());
    assert_eq!(gen_gc::collect(), 2);
    assert!(watch.upgrade().is_none());
}

#[derive(Trace)]
struct Ring {
    next: RefCell<Option<Gc<Ring>>>,
}

#[test]
fn a_value_lent_by_get_mut_is_kept_by_a_collection_that_runs_meanwhile() {
    gen_gc::collect();
    let mut head = Gc::new(Ring { next: RefCell::new(None) });
    let tail = Gc::new(Ring { next: RefCell::new(Some(head.clone())) });
    let watch = Gc::downgrade(&tail);
    {
        let head_clone = head.clone();
        drop(head_clone);
    }
    // Only `head` is held now, and `tail` holds `head`: no get_mut while tail holds it.
    *tail.next.borrow_mut() = None;
    let guard = Gc::get_mut(&mut head).expect("only handle");
    *guard.next.borrow_mut() = Some(tail);
    // A collection while the value is lent: the object is out of the lists, and what it
    // holds counts as held from outside.
    assert_eq!(gen_gc::collect(), 0);
    assert!(watch.upgrade().is_some());
    drop(guard);
    // Back in the lists: the cycle head -> tail -> nothing is freed with its last handle.
    drop(head);
    assert!(watch.upgrade().is_none());
}

thread_local! {
    static GRAVEYARD: RefCell<Vec<Gc<dyn Listener>>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
#[trace(finalize)]
struct Ghost {
    me: RefCell<Option<Gc<Ghost>>>,
    finalized: Cell<u32>,
}

impl Listener for Ghost {
    fn notify(&self) -> &'static str {
        "boo"
    }
}

impl Finalize for Ghost {
    fn finalize(&self) {
        self.finalized.set(self.finalized.get() + 1);
        if let Some(me) = self.me.borrow_mut().take() {
            GRAVEYARD.with(|graveyard| graveyard.borrow_mut().push(coerce_gc!(me)));
        }
    }
}

#[test]
fn a_trait_object_resurrected_by_its_finalizer_lives_on() {
    gen_gc::collect();
    let ghost = Gc::new(Ghost { me: RefCell::new(None), finalized: Cell::new(0) });
    *ghost.me.borrow_mut() = Some(ghost.clone());
    let watch = Gc::downgrade(&ghost);
    drop(ghost);
    gen_gc::collect();
    // Weak references to garbage are cleared before finalizers run, as in CPython.
    assert!(watch.upgrade().is_none());
    let back = GRAVEYARD.with(|graveyard| graveyard.borrow_mut().pop()).expect("resurrected");
    assert_eq!(back.notify(), "boo");
    let ghost: Gc<Ghost> = Gc::into_any(back).try_downcast().expect("a Ghost");
    assert_eq!(ghost.finalized.get(), 1);
    let again = Gc::downgrade(&ghost);
    drop(ghost);
    assert!(again.upgrade().is_none());
    assert_eq!(GRAVEYARD.with(|graveyard| graveyard.borrow().len()), 0, "the finalizer ran once");
}

#[test]
fn a_plain_closure_under_skip_keeps_its_captures_alive() {
    #[derive(Trace)]
    struct Holder {
        #[trace(skip)]
        callback: RefCell<Option<Box<dyn Fn() -> usize>>>,
    }
    gen_gc::collect();
    let holder = Gc::new(Holder { callback: RefCell::new(None) });
    let captured = holder.clone();
    *holder.callback.borrow_mut() = Some(Box::new(move || Gc::strong_count(&captured)));
    let watch = Gc::downgrade(&holder);
    drop(holder);
    // The collector cannot see the closure's capture: held from outside, never freed.
    assert_eq!(gen_gc::collect(), 0);
    let holder = watch.upgrade().expect("kept alive by its untraced closure");
    assert_eq!((holder.callback.borrow().as_ref().unwrap())(), 2);
    holder.callback.borrow_mut().take();
}

/// A tree whose children know their parent through a `OnceCell`, set once when adopted.
#[derive(Trace)]
struct Adopted {
    parent: std::cell::OnceCell<Gc<Adopted>>,
    children: RefCell<Vec<Gc<Adopted>>>,
}

#[test]
fn a_parent_link_in_a_once_cell_is_a_cycle_the_collector_frees() {
    gen_gc::collect();
    let parent = Gc::new(Adopted { parent: std::cell::OnceCell::new(), children: RefCell::new(Vec::new()) });
    let child = Gc::new(Adopted { parent: std::cell::OnceCell::new(), children: RefCell::new(Vec::new()) });
    assert!(child.parent.set(parent.clone()).is_ok());
    parent.children.borrow_mut().push(child.clone());
    let (watch_parent, watch_child) = (Gc::downgrade(&parent), Gc::downgrade(&child));
    drop((parent, child));
    assert!(watch_parent.upgrade().is_some(), "the cycle keeps both alive until a collection");
    assert_eq!(gen_gc::collect(), 2);
    assert!(watch_parent.upgrade().is_none() && watch_child.upgrade().is_none());
}
