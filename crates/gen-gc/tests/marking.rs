//! The collector's own cases, beyond the ports of CPython's tests: paths of the counting and
//! marking walks.

#![allow(unsafe_code, reason = "a hand-written Trace that panics")]

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use cyclegc::{Gc, Trace, Visitor};
use gen_gc::CollectionPolicy;

#[derive(Trace)]
struct Node {
    next: RefCell<Vec<Gc<Node>>>,
}

fn node() -> Gc<Node> {
    Gc::new(Node { next: RefCell::new(Vec::new()) })
}

/// An object the marking walk first finds at zero (only a later object refers to it) goes
/// back to the list when that object is found reachable; the walk then reaches it through
/// the link it was given, which must lead to its whole object.
#[test]
fn an_object_found_reachable_after_it_looked_unreachable_survives() {
    gen_gc::disable();
    // `first` comes before `held` in the young list, and only `held` refers to it.
    let first = node();
    let held = node();
    held.next.borrow_mut().push(first.clone());
    let watch = Gc::downgrade(&first);
    drop(first);
    assert_eq!(gen_gc::collect(), 0);
    assert!(watch.upgrade().is_some(), "reachable through `held`");
    assert_eq!(gen_gc::collect(), 0, "and the lists are whole for the next collection");
    drop(held);
    assert!(watch.upgrade().is_none());
    gen_gc::enable();
}

/// A chain of `n` nodes, each referring to the node made before it, held by its last node.
fn backward_chain(n: usize) -> (Gc<Node>, Vec<Gc<Node>>) {
    let mut nodes = vec![node()];
    for _ in 1..n {
        let next = node();
        next.next.borrow_mut().push(nodes.last().unwrap().clone());
        nodes.push(next);
    }
    (nodes.last().unwrap().clone(), nodes)
}

/// The addresses of the tracked objects, in the order the collector's lists hold them.
fn heap_order() -> Vec<usize> {
    gen_gc::get_objects(None).iter().map(|object| object.addr()).collect()
}

/// Makes the next full collection's marking walk go from the list's end: a full collection
/// of a chain built backwards, whose edges point back along the list.
fn walk_full_collections_from_the_end() {
    let (chain, nodes) = backward_chain(100);
    drop(nodes);
    assert_eq!(gen_gc::collect(), 0);
    drop(chain);
}

/// A full collection whose marking walk goes from the list's end (the counting walk reverses
/// the list, the marking walk links it back) keeps what is met referrer last (a list built
/// forwards, held by its head) and what is met referrer first (a chain built backwards, at
/// the list's end, which tells the walk to go from there), frees the garbage between them,
/// and leaves the survivors in the order they were made.
#[test]
fn a_marking_walk_from_the_end_frees_the_garbage_and_keeps_the_order() {
    gen_gc::disable();
    walk_full_collections_from_the_end();
    let head = node();
    let mut tail = head.clone();
    let mut forward_nodes = vec![head.clone()];
    for _ in 1..50 {
        let next = node();
        tail.next.borrow_mut().push(next.clone());
        forward_nodes.push(next.clone());
        tail = next;
    }
    drop(tail);
    let mut garbage = Vec::new();
    for _ in 0..10 {
        let (a, b) = (node(), node());
        a.next.borrow_mut().push(b.clone());
        b.next.borrow_mut().push(a.clone());
        garbage.push(Gc::downgrade(&a));
    }
    let (chain, chain_nodes) = backward_chain(50);
    let made: Vec<usize> = forward_nodes.iter().chain(&chain_nodes).map(|object| Gc::to_any(object).addr()).collect();
    let forward_watch: Vec<_> = forward_nodes.iter().map(Gc::downgrade).collect();
    let chain_watch: Vec<_> = chain_nodes.iter().map(Gc::downgrade).collect();
    drop((chain_nodes, forward_nodes));

    assert_eq!(gen_gc::collect(), 20, "the ten 2-cycles");
    assert!(garbage.iter().all(|weak| weak.upgrade().is_none()));
    assert!(chain_watch.iter().chain(&forward_watch).all(|weak| weak.upgrade().is_some()));
    assert_eq!(heap_order(), made, "the survivors stay in the order they were made");
    assert_eq!(gen_gc::collect(), 0, "the lists are whole for the next collection");
    assert_eq!(heap_order(), made);
    drop((chain, head));
    assert!(chain_watch.iter().chain(&forward_watch).all(|weak| weak.upgrade().is_none()));
    gen_gc::enable();
}

/// A young collection walks from the list's end after one whose edges pointed back, and
/// frees a young cycle held by nothing while keeping a young chain held from outside.
#[test]
fn a_young_collection_from_the_end_frees_a_young_cycle() {
    gen_gc::disable();
    let (learn, nodes) = backward_chain(20);
    drop(nodes);
    assert_eq!(gen_gc::collect_generation(0).unwrap(), 0);
    let (chain, nodes) = backward_chain(20);
    let (a, b) = (node(), node());
    a.next.borrow_mut().push(b.clone());
    b.next.borrow_mut().push(a.clone());
    let cycle = Gc::downgrade(&a);
    drop((a, b));
    let watch: Vec<_> = nodes.iter().map(Gc::downgrade).collect();
    drop(nodes);
    assert_eq!(gen_gc::collect_generation(0).unwrap(), 2);
    assert!(cycle.upgrade().is_none());
    assert!(watch.iter().all(|weak| weak.upgrade().is_some()));
    drop((learn, chain));
    assert!(watch.iter().all(|weak| weak.upgrade().is_none()));
    gen_gc::enable();
}

/// A `Trace` that always panics.
struct Exploding;

// SAFETY: holds no `Gc`; it panics before visiting anything.
unsafe impl Trace for Exploding {
    const TRACKED: bool = true;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {
        panic!("a Trace that panics");
    }
}

/// The report of a panicking `Trace` reaches the debug writer only once the lists are whole
/// again: a writer that unlinks and links objects cannot corrupt them.
#[test]
fn a_debug_writer_that_changes_the_heap_sees_whole_lists() {
    gen_gc::disable();
    // A debug writer that drops and creates heap objects whenever it writes.
    let mut objects: Vec<Gc<Node>> = (0..20).map(|_| node()).collect();
    let neighbours: Vec<Gc<Node>> = (0..20).map(|_| node()).collect();
    let out = common::capture_debug_output_with(move || {
        objects.pop();
        objects.push(node());
    });
    let exploding = Gc::new(Exploding);
    let more: Vec<Gc<Node>> = (0..20).map(|_| node()).collect();
    assert_eq!(gen_gc::collect(), 0);
    assert!(out.borrow().contains("a panic in <Exploding>'s Trace impl was caught"), "{}", out.borrow());
    assert_eq!(gen_gc::collect(), 0, "the lists are whole");
    gen_gc::set_debug_output(None);
    drop((exploding, more, neighbours));
    assert!(gen_gc::get_objects(None).is_empty());
    gen_gc::enable();
}

/// A `Trace` that panics while the marking walk goes from the list's end: the walk goes on
/// after the object, which is kept, and links the list back whole.
#[test]
fn a_trace_that_panics_in_a_walk_from_the_end_leaves_the_lists_whole() {
    gen_gc::disable();
    let out = common::capture_debug_output();
    walk_full_collections_from_the_end();
    let (before, before_nodes) = backward_chain(30);
    let exploding = Gc::new(Exploding);
    let (after, after_nodes) = backward_chain(30);
    let made: Vec<usize> = before_nodes
        .iter()
        .map(|object| Gc::to_any(object).addr())
        .chain([Gc::to_any(&exploding).addr()])
        .chain(after_nodes.iter().map(|object| Gc::to_any(object).addr()))
        .collect();
    drop((before_nodes, after_nodes));
    assert_eq!(gen_gc::collect(), 0);
    assert!(out.borrow().contains("a panic in <Exploding>'s Trace impl was caught"), "{}", out.borrow());
    assert_eq!(heap_order(), made);
    assert_eq!(gen_gc::collect(), 0, "the lists are whole");
    gen_gc::set_debug_output(None);
    drop((before, exploding, after));
    assert!(gen_gc::get_objects(None).is_empty());
    gen_gc::enable();
}

/// A 2-cycle of new objects, with references into and out of the young generation around it.
fn young_cycle_among_old_objects() -> (Gc<Node>, Gc<Node>, cyclegc::Weak<Node>) {
    let old = node();
    let old_target = node();
    gen_gc::collect();
    // Young, held only by an old object: it must survive a young collection.
    let held_by_old = node();
    old.next.borrow_mut().push(held_by_old.clone());
    // Young garbage that refers to an old object.
    let a = node();
    let b = node();
    a.next.borrow_mut().push(b.clone());
    b.next.borrow_mut().push(a.clone());
    a.next.borrow_mut().push(old_target.clone());
    let watch = Gc::downgrade(&held_by_old);
    drop((held_by_old, a, b));
    (old, old_target, watch)
}

/// A young collection counts references among young objects in the same walk that sets
/// their counts; references to and from older objects stay out of it.
#[test]
fn a_young_collection_frees_young_cycles_and_keeps_what_old_objects_hold() {
    gen_gc::disable();
    let (old, old_target, watch) = young_cycle_among_old_objects();
    assert_eq!(gen_gc::collect_generation(0), Ok(2));
    assert!(watch.upgrade().is_some(), "held by an old object");
    assert_eq!(Gc::strong_count(&old_target), 1, "the cycle's reference to it is gone");
    // Promoted to generation 1, or, under the incremental policy, to the old generation,
    // which also holds the two old objects.
    let (promoted_to, objects) =
        if gen_gc::get_collection_policy() == gen_gc::CollectionPolicy::Incremental { (2, 3) } else { (1, 1) };
    assert_eq!(gen_gc::get_objects(Some(promoted_to)).len(), objects, "the survivor was promoted");
    assert_eq!(gen_gc::collect_generation(0), Ok(0));
    drop((old, old_target));
    assert!(watch.upgrade().is_none());
    assert!(gen_gc::get_objects(None).is_empty());
    gen_gc::enable();
}

/// Reading the object graph numbers the objects in their links and restores them, young
/// objects as young: a young collection right after still finds a young cycle.
#[test]
fn young_objects_stay_young_through_object_graph() {
    gen_gc::disable();
    let (old, old_target, watch) = young_cycle_among_old_objects();
    let graph = gen_gc::object_graph();
    assert_eq!(graph.objects.len(), 5);
    drop(graph);
    assert_eq!(gen_gc::collect_generation(0), Ok(2));
    assert!(watch.upgrade().is_some());
    drop((old, old_target));
    gen_gc::enable();
}

/// Frozen objects are no longer young: a young collection that meets references to them
/// leaves their links alone, and they unlink cleanly later.
#[test]
fn a_young_collection_leaves_frozen_objects_alone() {
    gen_gc::disable();
    let frozen: Vec<Gc<Node>> = (0..4).map(|_| node()).collect();
    frozen[0].next.borrow_mut().push(frozen[1].clone());
    gen_gc::freeze();
    assert_eq!(gen_gc::get_freeze_count(), 4);
    let young = node();
    young.next.borrow_mut().extend(frozen.iter().cloned());
    let a = node();
    let b = node();
    a.next.borrow_mut().push(b.clone());
    b.next.borrow_mut().push(a.clone());
    a.next.borrow_mut().push(frozen[2].clone());
    drop((a, b));
    assert_eq!(gen_gc::collect_generation(0), Ok(2));
    assert_eq!(gen_gc::get_freeze_count(), 4);
    drop(young);
    drop(frozen);
    assert_eq!(gen_gc::get_freeze_count(), 0, "every frozen object unlinked from the permanent generation");
    gen_gc::unfreeze();
    assert_eq!(gen_gc::collect(), 0);
    assert!(gen_gc::get_objects(None).is_empty());
    gen_gc::enable();
}

/// A tracked object that notes when its value is dropped.
#[derive(Trace)]
struct Victim {
    _edges: RefCell<Vec<Gc<Node>>>,
    #[trace(skip)]
    dropped: Rc<Cell<bool>>,
}

impl Drop for Victim {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

/// What [`Meddler`]'s `Trace` does that Trace's rule 2 forbids.
#[derive(Clone, Copy, PartialEq)]
enum Meddling {
    /// Drops the only handle to an object and creates an object.
    DropsAndCreates,
    /// Calls a `gc` function that changes the lists.
    Freezes,
    ReadsTheGraph,
}

/// A `Trace` that changes the heap, which its rule 2 forbids.
struct Meddler {
    how: Meddling,
    victim: RefCell<Option<Gc<Victim>>>,
    made: RefCell<Vec<Gc<Node>>>,
}

// SAFETY: visits no `Gc` (the ones it holds are treated as held from outside, rule 3). It
// breaks rule 2 on purpose: the heap must stay whole all the same.
unsafe impl Trace for Meddler {
    const TRACKED: bool = true;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {
        match self.how {
            Meddling::DropsAndCreates => {
                drop(self.victim.borrow_mut().take());
                self.made.borrow_mut().push(node());
            }
            Meddling::Freezes => gen_gc::freeze(),
            Meddling::ReadsTheGraph => drop(gen_gc::object_graph()),
        }
    }
}

fn meddler(how: Meddling) -> (Gc<Meddler>, Rc<Cell<bool>>) {
    let dropped = Rc::new(Cell::new(false));
    let victim = Gc::new(Victim { _edges: RefCell::new(Vec::new()), dropped: dropped.clone() });
    let meddler = Gc::new(Meddler { how, victim: RefCell::new(Some(victim)), made: RefCell::new(Vec::new()) });
    (meddler, dropped)
}

/// A `Trace` impl that drops the last handle to an object and creates objects while the
/// collector counts: the heap stays whole, the collector says what happened, the orphan is
/// freed by a later collection and the new objects live by their counts.
#[test]
fn a_trace_that_drops_and_creates_objects_leaves_the_heap_whole() {
    gen_gc::disable();
    let out = common::capture_debug_output();
    let (meddler, dropped) = meddler(Meddling::DropsAndCreates);
    let others: Vec<Gc<Node>> = (0..10).map(|_| node()).collect();
    assert_eq!(gen_gc::collect_generation(0), Ok(0));
    let report = out.borrow().clone();
    assert!(report.contains("gc: 1 objects lost their last handle inside a Trace impl"), "{report}");
    assert!(report.contains("tracked objects were created inside a Trace impl"), "{report}");
    assert!(!dropped.get(), "the orphan waits for a collection");
    // Freed, whether counted as collected or, as here (the debug writer is user code that ran
    // while the garbage was held, so the collection recounts it), given back to reference
    // counting with no handle left, as CPython frees an object whose count reached zero.
    gen_gc::collect();
    assert!(dropped.get(), "a later collection freed the orphan");
    let made = meddler.made.borrow().len();
    assert!(made >= 2, "one object per trace, {made}");
    assert_eq!(gen_gc::get_objects(None).len(), 11, "the meddler and the others; the new ones are left out");
    drop((meddler, others));
    assert_eq!(gen_gc::collect(), 0);
    assert!(gen_gc::get_objects(None).is_empty());
    gen_gc::set_debug_output(None);
    gen_gc::enable();
}

/// `freeze` and `object_graph` called from a `Trace` impl while the collector walks the heap
/// refuse with a panic, which the collector catches and reports; the heap stays whole.
#[test]
fn a_trace_that_changes_the_lists_is_refused() {
    gen_gc::disable();
    for (how, function) in [(Meddling::Freezes, "freeze"), (Meddling::ReadsTheGraph, "object_graph")] {
        let out = common::capture_debug_output();
        let (meddler, _dropped) = meddler(how);
        let others: Vec<Gc<Node>> = (0..10).map(|_| node()).collect();
        assert_eq!(gen_gc::collect(), 0);
        let report = out.borrow().clone();
        assert!(
            report.contains(&format!("gen_gc::{function} was called while the collector walks the heap")),
            "{report}"
        );
        assert_eq!(gen_gc::get_freeze_count(), 0);
        assert_eq!(gen_gc::get_objects(None).len(), 12);
        drop((meddler, others));
        assert_eq!(gen_gc::collect(), 0);
        assert!(gen_gc::get_objects(None).is_empty());
    }
    gen_gc::set_debug_output(None);
    gen_gc::enable();
}

thread_local!(static WRITTEN: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) });

/// A debug writer that creates objects during a young collection (here, to report a panicking
/// `Trace`) runs once the survivors are promoted: what it creates is young, not promoted with
/// the young bit, so a later young collection leaves its links alone.
#[test]
fn objects_a_debug_writer_makes_during_a_young_collection_stay_young() {
    gen_gc::disable();
    let out = common::capture_debug_output_with(|| WRITTEN.with(|made| made.borrow_mut().push(node())));
    let exploding = Gc::new(Exploding);
    assert_eq!(gen_gc::collect_generation(0), Ok(0));
    assert!(out.borrow().contains("<Exploding>'s Trace impl"), "{}", out.borrow());
    gen_gc::set_debug_output(None);
    let made = WRITTEN.with(|made| made.borrow()[0].clone());
    let young = gen_gc::get_objects(Some(0));
    assert!(young.iter().any(|obj| obj.ptr_eq(&Gc::to_any(&made))), "the writer's object is young");
    drop(young);
    let referrer = node();
    referrer.next.borrow_mut().push(made.clone());
    assert_eq!(gen_gc::collect_generation(0), Ok(0));
    drop((referrer, made, exploding));
    WRITTEN.with(|made| made.borrow_mut().clear());
    assert_eq!(gen_gc::collect(), 0);
    assert!(gen_gc::get_objects(None).is_empty());
    gen_gc::enable();
}

/// A debug writer that panics cannot stop a collection: the collection frees its garbage,
/// the writer is dropped, and debug output goes to stderr from then on.
#[test]
fn a_panicking_debug_writer_does_not_stop_a_collection() {
    struct Panicking(Rc<Cell<bool>>);
    impl std::io::Write for Panicking {
        fn write(&mut self, _buf: &[u8]) -> std::io::Result<usize> {
            panic!("a debug writer that panics");
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Drop for Panicking {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    gen_gc::disable();
    let dropped = Rc::new(Cell::new(false));
    gen_gc::set_debug_output(Some(Box::new(Panicking(dropped.clone()))));
    gen_gc::set_debug(gen_gc::DebugFlags::STATS | gen_gc::DebugFlags::COLLECTABLE);
    let a = node();
    let b = node();
    a.next.borrow_mut().push(b.clone());
    b.next.borrow_mut().push(a.clone());
    let watch = Gc::downgrade(&a);
    drop((a, b));
    assert_eq!(gen_gc::collect(), 2);
    assert!(watch.upgrade().is_none());
    assert!(dropped.get(), "the writer was dropped");
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    assert!(gen_gc::get_objects(None).is_empty());
    gen_gc::enable();
}

/// A `Trace` that reports its one edge twice (a breach of rule 2).
struct TwiceVisited {
    next: RefCell<Option<Gc<TwiceVisited>>>,
}

// SAFETY: breaks rule 2 on purpose (its edge is visited twice): the collector then takes a
// live object for garbage; it must say so, and the heap must stay whole.
unsafe impl Trace for TwiceVisited {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.next.trace(visitor);
        self.next.trace(visitor);
    }
}

#[test]
fn an_object_a_bad_trace_made_look_like_garbage_is_reported() {
    gen_gc::disable();
    let out = common::capture_debug_output();
    let held = Gc::new(TwiceVisited { next: RefCell::new(None) });
    *held.next.borrow_mut() = Some(held.clone());
    // Two references (the handle and its own edge), two visits: it looks unreachable.
    assert_eq!(gen_gc::collect(), 1);
    assert!(Gc::is_dropped(&held), "its value is gone");
    assert!(
        out.borrow().contains(
            "gc: 1 deleted object(s) still referenced after their garbage was dropped, the first <TwiceVisited"
        ),
        "{}",
        out.borrow()
    );
    assert!(out.borrow().contains("a Trace impl reports a reference it does not own"));
    gen_gc::set_debug_output(None);
    drop(held);
    assert!(gen_gc::get_objects(None).is_empty());
    gen_gc::enable();
}

/// Logs its drop; when `collects`, its `Drop` runs a full collection and logs its result.
#[derive(Trace)]
struct Dying {
    #[trace(skip)]
    name: &'static str,
    #[trace(skip)]
    log: Rc<RefCell<Vec<String>>>,
    #[trace(skip)]
    collects: bool,
    next: RefCell<Vec<Gc<Dying>>>,
}

impl Drop for Dying {
    fn drop(&mut self) {
        self.log.borrow_mut().push(format!("drop {}", self.name));
        if self.collects {
            let found = gen_gc::collect();
            self.log.borrow_mut().push(format!("collected {found}"));
        }
    }
}

/// A death nested in another's drop may run a collection; the garbage it deletes dies
/// there (its deaths queued for the collection), and the nested deaths around it go on.
#[test]
fn a_collection_run_by_a_nested_death_frees_its_garbage_and_the_deaths_go_on() {
    gen_gc::disable();
    let log = Rc::new(RefCell::new(Vec::new()));
    let dying = |name, collects| Gc::new(Dying { name, log: log.clone(), collects, next: RefCell::new(Vec::new()) });
    // A cycle with a tail, all garbage once its handles go.
    let (x, y, tail) = (dying("x", false), dying("y", false), dying("x.tail", false));
    x.next.borrow_mut().extend([y.clone(), tail]);
    y.next.borrow_mut().push(x.clone());
    let watch = Gc::downgrade(&x);
    drop((x, y));
    // root -> mid (collects) -> leaf.
    let root = dying("root", false);
    let mid = dying("mid", true);
    mid.next.borrow_mut().push(dying("leaf", false));
    root.next.borrow_mut().push(mid);
    let before = gen_gc::get_count().0;
    drop(root);
    let log = log.borrow();
    assert_eq!(log[..2], ["drop root", "drop mid"]);
    assert_eq!(log.last().unwrap(), "drop leaf", "the leaf dies after the collection: {log:?}");
    assert!(log.contains(&"collected 3".to_owned()), "{log:?}");
    for name in ["x", "y", "x.tail"] {
        assert!(log.contains(&format!("drop {name}")), "{log:?}");
    }
    assert!(watch.upgrade().is_none());
    assert_eq!(log.len(), 7);
    assert!(gen_gc::get_count().0 <= before);
    assert_eq!(gen_gc::collect(), 0);
    gen_gc::enable();
}

/// Registers and removes a collection callback when it dies.
#[derive(Trace)]
struct RegistersWhenDropped {
    #[trace(skip)]
    registered: Rc<Cell<bool>>,
}

impl Drop for RegistersWhenDropped {
    fn drop(&mut self) {
        let id = gen_gc::add_callback(|_, _| {});
        self.registered.set(gen_gc::remove_callback(id));
    }
}

#[test]
fn a_callback_whose_captures_register_callbacks_as_they_die_can_be_removed() {
    let registered = Rc::new(Cell::new(false));
    let captured = Gc::new(RegistersWhenDropped { registered: registered.clone() });
    let id = gen_gc::add_callback(move |_, _| {
        let _ = &captured;
    });
    assert!(gen_gc::remove_callback(id));
    assert!(registered.get(), "the captured object died and its Drop used the callback list");
}

/// A value with many edges, counting how often it is traced.
struct Wide {
    items: Vec<Gc<Node>>,
    traced: Cell<usize>,
}

// SAFETY: visits each `Gc` it owns once, and nothing else.
unsafe impl Trace for Wide {
    const TRACKED: bool = true;
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.traced.set(self.traced.get() + 1);
        self.items.trace(visitor);
    }
}

/// The collector's list of edges starts small at each collection: a value with more edges
/// than it has room for is traced again once the room is made, and only once, however many
/// edges it has (a map of a million entries was traced some twenty times per walk while its
/// list doubled).
#[test]
fn a_value_with_many_edges_is_traced_at_most_twice_per_walk() {
    gen_gc::disable();
    let n = if cfg!(miri) { 600 } else { 200_000 };
    let wide = Gc::new(Wide { items: (0..n).map(|_| node()).collect(), traced: Cell::new(0) });
    let policy = gen_gc::get_collection_policy();
    // The look at the list's tail (where the newest object is traced, twice as the room
    // runs out), the counting and the marking walks, which find the room made; the
    // incremental policy takes the increment's closure first, with a list of its own.
    for (walks, each) in [(4, CollectionPolicy::Generational), (6, CollectionPolicy::Incremental)] {
        gen_gc::set_collection_policy(each);
        for _ in 0..2 {
            wide.traced.set(0);
            assert_eq!(gen_gc::collect(), 0);
            assert!(wide.traced.get() <= walks, "traced {} times in one collection ({each:?})", wide.traced.get());
        }
    }
    gen_gc::set_collection_policy(policy);
    assert_eq!(wide.items.len(), n);
    gen_gc::enable();
}
