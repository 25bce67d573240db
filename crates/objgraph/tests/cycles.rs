//! Which cycles: the strongly connected components of what a collection would free, or of
//! what `gc.garbage` holds.

use std::cell::RefCell;
use std::collections::BTreeSet;

use cyclegc::{Gc, GcAny, Trace};

#[derive(Trace)]
struct Node {
    name: &'static str,
    next: RefCell<Vec<Gc<Node>>>,
}

fn node(name: &'static str) -> Gc<Node> {
    Gc::new(Node { name, next: RefCell::new(Vec::new()) })
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.next.borrow_mut().push(to.clone());
}

fn names(objects: &[GcAny]) -> BTreeSet<&'static str> {
    objects.iter().map(|o| o.downcast::<Node>().map_or("?", |n| n.name)).collect()
}

/// A ring of nodes with these names, each referring to the next and the last to the first,
/// that nothing else holds.
fn garbage_ring(names: &[&'static str]) {
    let nodes: Vec<Gc<Node>> = names.iter().map(|&name| node(name)).collect();
    for (i, from) in nodes.iter().enumerate() {
        link(from, &nodes[(i + 1) % nodes.len()]);
    }
}

#[test]
fn two_pairs_and_a_ring_are_three_cycles_largest_first() {
    gen_gc::disable();
    garbage_ring(&["a1", "a2"]);
    garbage_ring(&["b1", "b2"]);
    garbage_ring(&["r1", "r2", "r3"]);

    let cycles = objgraph::garbage_cycles();
    let found: Vec<BTreeSet<&str>> = cycles.iter().map(|c| names(c.objects())).collect();
    assert_eq!(found.len(), 3);
    assert_eq!(found[0], BTreeSet::from(["r1", "r2", "r3"]));
    let pairs: BTreeSet<BTreeSet<&str>> = found[1..].iter().cloned().collect();
    assert_eq!(pairs, BTreeSet::from([BTreeSet::from(["a1", "a2"]), BTreeSet::from(["b1", "b2"])]));
    drop(cycles);
    assert_eq!(gen_gc::collect(), 7, "the cycles' handles are gone, so all of it is freed");
    gen_gc::enable();
}

#[test]
fn a_cycle_held_from_outside_is_not_garbage() {
    gen_gc::disable();
    let (live_a, live_b) = (node("live_a"), node("live_b"));
    link(&live_a, &live_b);
    link(&live_b, &live_a);
    drop(live_b);
    garbage_ring(&["dead_a", "dead_b"]);

    let cycles = objgraph::garbage_cycles();
    assert_eq!(cycles.len(), 1);
    assert_eq!(names(cycles[0].objects()), BTreeSet::from(["dead_a", "dead_b"]));
    drop(cycles);
    gen_gc::collect();
    live_a.next.borrow_mut().clear();
    gen_gc::enable();
}

#[test]
fn garbage_hanging_off_a_cycle_is_in_no_component() {
    gen_gc::disable();
    let (a, b, tail) = (node("a"), node("b"), node("tail"));
    link(&a, &b);
    link(&b, &a);
    link(&b, &tail);
    drop((a, b, tail));

    let cycles = objgraph::garbage_cycles();
    assert_eq!(cycles.len(), 1);
    assert_eq!(names(cycles[0].objects()), BTreeSet::from(["a", "b"]));
    drop(cycles);
    assert_eq!(gen_gc::collect(), 3);
    gen_gc::enable();
}

#[test]
fn an_object_referring_to_itself_is_a_cycle_of_one() {
    gen_gc::disable();
    garbage_ring(&["alone"]);

    let cycles = objgraph::garbage_cycles();
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0].len(), 1);
    assert_eq!(cycles[0].to_string(), "1 object: Node -> Node");
    assert_eq!(format!("{:#}", cycles[0]), "1 object: Node.next[0] -> Node");
    drop(cycles);
    assert_eq!(gen_gc::collect(), 1);
    gen_gc::enable();
}

#[test]
fn the_summary_walks_the_cycle_from_the_first_type_name() {
    #[derive(Trace)]
    struct Connection {
        msg_handlers: RefCell<Vec<Gc<Handler>>>,
    }
    #[derive(Trace)]
    struct Handler {
        owner: RefCell<Option<Gc<Connection>>>,
        log: RefCell<Option<Gc<Logger>>>,
    }
    #[derive(Trace)]
    struct Logger {
        connection: Gc<Connection>,
    }
    gen_gc::disable();
    let connection = Gc::new(Connection { msg_handlers: RefCell::new(Vec::new()) });
    let handler = Gc::new(Handler { owner: RefCell::new(None), log: RefCell::new(None) });
    connection.msg_handlers.borrow_mut().push(handler.clone());
    *handler.log.borrow_mut() = Some(Gc::new(Logger { connection: connection.clone() }));
    *handler.owner.borrow_mut() = Some(connection);
    drop(handler);

    let cycles = objgraph::garbage_cycles();
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0].type_names(), ["Connection", "Handler", "Logger"]);
    assert_eq!(cycles[0].to_string(), "3 objects: Connection -> Handler -> Logger");
    // The alternate form names each reference, and closes the ring.
    assert_eq!(
        format!("{:#}", cycles[0]),
        "3 objects: Connection.msg_handlers[0] -> Handler.log -> Logger.connection -> Connection"
    );
    drop(cycles);
    assert_eq!(gen_gc::collect(), 3);
    gen_gc::enable();
}

#[test]
fn cycles_among_the_objects_debug_saveall_kept() {
    gen_gc::disable();
    gen_gc::set_debug(gen_gc::DEBUG_SAVEALL);
    garbage_ring(&["a1", "a2"]);
    garbage_ring(&["b1", "b2"]);
    garbage_ring(&["r1", "r2", "r3"]);
    assert_eq!(gen_gc::collect(), 7);
    gen_gc::set_debug(gen_gc::DebugFlags::empty());

    let saved = gen_gc::take_garbage();
    assert!(objgraph::garbage_cycles().is_empty(), "gc.garbage holds them: not garbage any more");
    let cycles = objgraph::cycles_among(&saved);
    let sizes: Vec<usize> = cycles.iter().map(objgraph::Cycle::len).collect();
    assert_eq!(sizes, [3, 2, 2]);
    assert_eq!(names(cycles[0].objects()), BTreeSet::from(["r1", "r2", "r3"]));
    drop((cycles, saved));
    assert_eq!(gen_gc::collect(), 7);
    gen_gc::enable();
}

/// Components are found without recursion: a ring longer than the call stack is deep.
#[test]
fn a_long_ring_is_one_cycle() {
    let length = std::env::var("CYCLEGC_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(200_000, |d: usize| 200_000 / d.max(1));
    gen_gc::disable();
    let first = node("ring");
    let mut last = first.clone();
    for _ in 1..length {
        let next = node("ring");
        link(&last, &next);
        last = next;
    }
    link(&last, &first);
    drop((first, last));

    let cycles = objgraph::garbage_cycles();
    assert_eq!(cycles.iter().map(objgraph::Cycle::len).collect::<Vec<_>>(), [length]);
    assert!(cycles[0].to_string().starts_with(&format!("{length} objects: Node -> Node")));
    assert!(cycles[0].to_string().ends_with("-> ..."));
    drop(cycles);
    assert_eq!(gen_gc::collect(), length);
    gen_gc::enable();
}

/// A node that also holds a list shared with another node: a shared `Rc` the collector
/// cannot trace, so it keeps the node and all it refers to.
#[derive(Trace)]
struct Sharing {
    shared: std::rc::Rc<RefCell<Vec<Gc<Sharing>>>>,
    next: RefCell<Option<Gc<Sharing>>>,
}

#[test]
fn a_cycle_through_untraceable_objects_is_not_garbage_as_the_collector_keeps_it() {
    gen_gc::disable();
    let list = std::rc::Rc::new(RefCell::new(Vec::new()));
    let a = Gc::new(Sharing { shared: list.clone(), next: RefCell::new(None) });
    let b = Gc::new(Sharing { shared: list.clone(), next: RefCell::new(Some(a.clone())) });
    *a.next.borrow_mut() = Some(b.clone());
    drop(list);
    let a_any = Gc::to_any(&a);
    drop((a, b));

    assert!(objgraph::garbage_cycles().is_empty(), "nothing a collection would free");
    let chain = objgraph::find_backref_chain_to_root(&a_any, 20, &[]);
    assert_eq!(chain.len(), 1, "the object is its own root: held as if from outside");
    drop(chain);
    assert_eq!(objgraph::HeapGraph::snapshot().outside_refs(&a_any), 1, "the holder nobody can see");
    assert_eq!(gen_gc::collect(), 0, "and the collector agrees");

    // Broken by hand, the cycle goes by reference counting.
    let a = a_any.try_downcast::<Sharing>().expect("a Sharing");
    let gone = Gc::downgrade(&a);
    a.next.borrow_mut().take();
    drop(a);
    assert!(gone.upgrade().is_none());
    gen_gc::enable();
}
