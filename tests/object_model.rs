//! The article's object-model scenarios that reference counting and weak references
//! answer on their own, through the `cyclegc` facade only.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use cyclegc::{Finalize, Gc, GcAny, Trace, Weak};

#[derive(Trace)]
struct Obj {
    attr: RefCell<Option<Gc<Obj>>>,
}

impl Obj {
    fn new() -> Gc<Obj> {
        Gc::new(Obj { attr: RefCell::new(None) })
    }
}

#[test]
fn refcount_rises_with_each_handle_and_falls_with_each_drop() {
    // sys.getrefcount(obj), minus the +1 of the call's own argument.
    let a = Obj::new();
    assert_eq!(Gc::strong_count(&a), 1);
    let b = Obj::new();
    *b.attr.borrow_mut() = Some(a.clone());
    assert_eq!(Gc::strong_count(&a), 2);
    drop(b);
    assert_eq!(Gc::strong_count(&a), 1);
}

#[test]
fn identity_is_ptr_eq_and_equality_is_the_value() {
    // `a1 = []; a2 = []`: equal values, distinct objects.
    let a1 = Gc::new(Vec::<u8>::new());
    let a2 = Gc::new(Vec::<u8>::new());
    assert_eq!(a1, a2);
    assert!(!Gc::ptr_eq(&a1, &a2));
    assert_ne!(Gc::id(&a1), Gc::id(&a2));
}

#[test]
fn get_referents_names_the_attribute() {
    // a.attr = b: a refers to b through "attr".
    let a = Obj::new();
    let b = Obj::new();
    *a.attr.borrow_mut() = Some(b.clone());
    let referents = Gc::to_any(&a).referents();
    assert_eq!(referents.len(), 1);
    assert_eq!(referents[0].label, "attr");
    assert!(referents[0].target.ptr_eq(&Gc::to_any(&b)));
}

#[test]
fn a_direct_self_cycle_outlives_its_last_handle() {
    // a.attr = a: refcounting alone cannot free it.
    let a = Obj::new();
    *a.attr.borrow_mut() = Some(a.clone());
    let watch = Gc::downgrade(&a);
    drop(a);
    let a = watch.upgrade().expect("the cycle keeps the object alive");
    // Breaking the cycle by hand frees it (the article's destroy()).
    a.attr.borrow_mut().take();
    drop(a);
    assert!(watch.upgrade().is_none());
}

/// The article's `Connection`: message handlers that refer back to the connection.
#[derive(Trace)]
struct Connection {
    msg_handlers: RefCell<HashMap<u32, Handler>>,
}

/// A handler bound to its connection: strongly (a cycle) or weakly (none).
#[derive(Trace)]
enum Handler {
    Strong(Gc<Connection>),
    Weak(Weak<Connection>),
}

impl Handler {
    fn connection(&self) -> Option<Gc<Connection>> {
        match self {
            Handler::Strong(conn) => Some(conn.clone()),
            Handler::Weak(conn) => conn.upgrade(),
        }
    }
}

fn connect(weak_handlers: bool) -> Gc<Connection> {
    let conn = Gc::new(Connection { msg_handlers: RefCell::new(HashMap::new()) });
    for msg_type in [1, 2] {
        let handler = match weak_handlers {
            true => Handler::Weak(Gc::downgrade(&conn)),
            false => Handler::Strong(conn.clone()),
        };
        conn.msg_handlers.borrow_mut().insert(msg_type, handler);
    }
    conn
}

#[test]
fn msg_handlers_holding_the_connection_strongly_leak_it() {
    let conn = connect(false);
    let referents = Gc::to_any(&conn).referents();
    assert_eq!(referents.len(), 2);
    assert!(referents.iter().all(|r| r.label.starts_with("msg_handlers[") && r.label.ends_with("].Strong.0")));
    drop(referents);
    let watch = Gc::downgrade(&conn);
    drop(conn);
    assert!(!watch.is_dead(), "leaked: each handler holds the connection");
    // destroy(): clear the handlers.
    watch.upgrade().unwrap().msg_handlers.borrow_mut().clear();
    assert!(watch.is_dead());
}

#[test]
fn msg_handlers_holding_the_connection_weakly_let_it_go() {
    let conn = connect(true);
    let handler_conn = conn.msg_handlers.borrow()[&1].connection().expect("alive while held");
    assert!(Gc::ptr_eq(&handler_conn, &conn));
    drop(handler_conn);
    let watch = Gc::downgrade(&conn);
    drop(conn);
    assert!(watch.is_dead(), "no cycle: freed at once");
}

#[test]
fn weakref_callback_runs_when_the_referent_is_deleted() {
    let calls = Rc::new(Cell::new(0));
    let obj = Obj::new();
    let seen = calls.clone();
    let r = Gc::downgrade_with_callback(&obj, move |dead| {
        assert!(dead.upgrade().is_none());
        seen.set(seen.get() + 1);
    });
    assert!(r.upgrade().is_some());
    drop(obj);
    // r() is None now: the article's AttributeError on `r().f`.
    assert!(r.upgrade().is_none());
    assert_eq!(calls.get(), 1);
}

thread_local!(static DELETED: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) });

#[derive(Trace)]
#[trace(finalize)]
struct WithDel {
    name: &'static str,
}

impl Finalize for WithDel {
    fn finalize(&self) {
        DELETED.with(|d| d.borrow_mut().push(self.name));
    }
}

#[test]
fn del_runs_once_when_the_last_reference_goes() {
    let a = Gc::new(WithDel { name: "a" });
    let b = a.clone();
    drop(a);
    assert!(DELETED.with(|d| d.borrow().is_empty()));
    drop(b);
    assert_eq!(DELETED.with(|d| d.borrow().clone()), ["a"]);
}

#[test]
fn an_object_found_by_id_is_the_same_object() {
    // objgraph.at(id(obj)), with ids that are never reused.
    let obj = Obj::new();
    let id = Gc::id(&obj);
    let found: GcAny = GcAny::from_id(id).expect("alive");
    assert!(found.downcast::<Obj>().is_some_and(|o| Gc::ptr_eq(&o, &obj)));
    drop((obj, found));
    assert!(GcAny::from_id(id).is_none());
}
