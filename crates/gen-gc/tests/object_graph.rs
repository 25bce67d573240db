//! `gen_gc::object_graph`: every tracked object and its references, read with the objects'
//! numbers kept in their links, which must be whole again afterwards.

#![allow(unsafe_code, reason = "hand-written Trace implementations that panic or collect")]

mod common;

use std::cell::RefCell;

use cyclegc::{Gc, GcAny, Trace, Visitor};

#[derive(Trace)]
struct Node {
    name: &'static str,
    next: RefCell<Vec<Gc<Node>>>,
    leaf: Option<Gc<String>>,
}

fn node(name: &'static str) -> Gc<Node> {
    Gc::new(Node { name, next: RefCell::new(Vec::new()), leaf: Some(Gc::new(name.to_owned())) })
}

fn position(graph: &gen_gc::ObjectGraph, object: &Gc<Node>) -> usize {
    graph.objects.iter().position(|o| o.ptr_eq(&Gc::to_any(object))).expect("listed")
}

fn addresses(objects: &[GcAny]) -> Vec<usize> {
    objects.iter().map(GcAny::addr).collect()
}

#[test]
fn the_graph_lists_each_object_with_its_tracked_references() {
    let (a, b, c) = (node("a"), node("b"), node("c"));
    a.next.borrow_mut().extend([b.clone(), c.clone(), b.clone()]);
    c.next.borrow_mut().push(a.clone());
    let graph = gen_gc::object_graph();
    assert_eq!(addresses(&graph.objects), addresses(&gen_gc::get_objects(None)), "get_objects order");
    let (pa, pb, pc) = (position(&graph, &a), position(&graph, &b), position(&graph, &c));
    let referents = |i: usize| graph.referents_of(i).iter().map(|&j| j as usize).collect::<Vec<_>>();
    assert_eq!(referents(pa), [pb, pc, pb], "one entry per reference, in trace order; leaves left out");
    assert_eq!(referents(pb), [] as [usize; 0]);
    assert_eq!(referents(pc), [pa]);
    assert_eq!(graph.reference_start.len(), graph.objects.len() + 1);
    c.next.borrow_mut().clear();
}

#[test]
fn the_lists_are_whole_after_the_graph_is_read() {
    gen_gc::disable();
    let keep: Vec<Gc<Node>> = (0..50).map(|_| node("kept")).collect();
    let mut cycles = Vec::new();
    for _ in 0..20 {
        let (x, y) = (node("x"), node("y"));
        x.next.borrow_mut().push(y.clone());
        y.next.borrow_mut().push(x.clone());
        cycles.push(x);
    }
    // Spread the objects over two generations.
    gen_gc::collect_generation(0).unwrap();
    let young: Vec<Gc<Node>> = (0..10).map(|_| node("young")).collect();
    let before = addresses(&gen_gc::get_objects(None));
    drop(gen_gc::object_graph());
    assert_eq!(addresses(&gen_gc::get_objects(None)), before);
    // Lists are walked both ways by unlinking and collecting: both must still work.
    drop((keep, young, cycles));
    assert_eq!(gen_gc::collect(), 40, "the 20 cycles, and nothing else");
    assert!(gen_gc::get_objects(None).is_empty());
    gen_gc::enable();
}

/// Reports each call of `trace` and, once armed, panics.
struct Exploding {
    armed: std::cell::Cell<bool>,
    child: Gc<Node>,
}

// SAFETY: visits its one `Gc` once; the panic happens before any visit.
unsafe impl Trace for Exploding {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        assert!(!self.armed.get(), "a Trace that panics");
        self.child.trace(visitor);
    }
}

#[test]
fn a_panicking_trace_gives_no_references_and_is_reported() {
    let child = node("child");
    let exploding = Gc::new(Exploding { armed: std::cell::Cell::new(true), child: child.clone() });
    let out = common::capture_debug_output();
    let graph = gen_gc::object_graph();
    gen_gc::set_debug_output(None);
    let at = graph.objects.iter().position(|o| o.ptr_eq(&Gc::to_any(&exploding))).unwrap();
    assert!(graph.referents_of(at).is_empty());
    let report = out.borrow().clone();
    assert!(report.contains("gc: a panic in <Exploding>'s Trace impl was caught: a Trace that panics"), "{report}");
    drop(graph);
    exploding.armed.set(false);
    let graph = gen_gc::object_graph();
    let at = graph.objects.iter().position(|o| o.ptr_eq(&Gc::to_any(&exploding))).unwrap();
    assert_eq!(graph.referents_of(at), [position(&graph, &child) as u32]);
}

/// Asks for a collection from inside `trace`.
struct Collecting {
    collected: std::cell::Cell<Option<usize>>,
}

// SAFETY: holds no `Gc`.
unsafe impl Trace for Collecting {
    const TRACKED: bool = true;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {
        self.collected.set(Some(gen_gc::collect()));
    }
}

#[test]
fn a_collection_requested_while_the_graph_is_read_does_nothing() {
    gen_gc::disable();
    {
        let (x, y) = (node("x"), node("y"));
        x.next.borrow_mut().push(y.clone());
        y.next.borrow_mut().push(x);
    }
    let asker = Gc::new(Collecting { collected: std::cell::Cell::new(None) });
    drop(gen_gc::object_graph());
    assert_eq!(asker.collected.get(), Some(0), "no collection while numbers are in the links");
    assert_eq!(gen_gc::collect(), 2, "the cycle is still there, and collectable");
    assert!(!gen_gc::is_collecting());
    gen_gc::enable();
}

/// A finalizer run by a collection may read the graph while the collection still holds its
/// garbage: references to that garbage are left out, never read as numbers.
#[test]
fn a_finalizer_may_read_the_graph_while_garbage_is_held() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Reader {
        me: RefCell<Option<Gc<Reader>>>,
    }
    thread_local!(static READ: RefCell<Option<gen_gc::ObjectGraph>> = const { RefCell::new(None) });
    impl cyclegc::Finalize for Reader {
        fn finalize(&self) {
            // A live object that refers to the garbage, then the graph.
            let me = self.me.borrow().clone().expect("the cycle is whole");
            let holder = Gc::new(Holder { held: RefCell::new(Some(me)) });
            READ.with(|read| *read.borrow_mut() = Some(gen_gc::object_graph()));
            drop(holder);
        }
    }
    #[derive(Trace)]
    struct Holder {
        held: RefCell<Option<Gc<Reader>>>,
    }
    gen_gc::disable();
    let reader = Gc::new(Reader { me: RefCell::new(None) });
    *reader.me.borrow_mut() = Some(reader.clone());
    drop(reader);
    assert_eq!(gen_gc::collect(), 0, "resurrected: the graph kept in READ holds the holder, which holds it");
    let graph = READ.with(|read| read.borrow_mut().take()).expect("the finalizer ran");
    assert_eq!(graph.objects.len(), 1, "the holder; the garbage is in no generation");
    assert!(graph.references.is_empty(), "{:?}", graph.references);
    // The graph holds the holder, which holds the reader: resurrected, until the graph goes.
    drop(graph);
    assert_eq!(gen_gc::collect(), 1, "the reader's cycle, finalized already");
    assert!(gen_gc::get_objects(None).is_empty());
    gen_gc::enable();
}
