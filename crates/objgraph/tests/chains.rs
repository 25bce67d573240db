//! Reference chains, and the article's questions: is this object held by a global, or only
//! by a cycle?

use std::cell::RefCell;

use cyclegc::{Gc, GcAny, Trace};

#[derive(Trace)]
struct Obj {
    name: &'static str,
    attr: RefCell<Option<Gc<Obj>>>,
}

fn obj(name: &'static str) -> Gc<Obj> {
    Gc::new(Obj { name, attr: RefCell::new(None) })
}

fn names(chain: &[GcAny]) -> Vec<&'static str> {
    chain.iter().map(|o| o.downcast::<Obj>().map_or("?", |o| o.name)).collect()
}

#[test]
fn find_ref_chain_follows_references_forward() {
    let (a, b, c) = (obj("a"), obj("b"), obj("c"));
    *a.attr.borrow_mut() = Some(b.clone());
    *b.attr.borrow_mut() = Some(c.clone());
    let is_c = |o: &GcAny| o.ptr_eq(&Gc::to_any(&c));
    assert_eq!(names(&objgraph::find_ref_chain(&Gc::to_any(&a), is_c, 20, &[])), ["a", "b", "c"]);
    assert_eq!(names(&objgraph::find_ref_chain(&Gc::to_any(&a), is_c, 1, &[])), ["a"], "too deep for max_depth 1");
}

#[test]
fn find_backref_chain_follows_references_backward() {
    let (a, b, c) = (obj("a"), obj("b"), obj("c"));
    *a.attr.borrow_mut() = Some(b.clone());
    *b.attr.borrow_mut() = Some(c.clone());
    let is_a = |o: &GcAny| o.ptr_eq(&Gc::to_any(&a));
    assert_eq!(names(&objgraph::find_backref_chain(&Gc::to_any(&c), is_a, 20, &[])), ["a", "b", "c"]);
    let ignore_b = [Gc::id(&b)];
    assert_eq!(names(&objgraph::find_backref_chain(&Gc::to_any(&c), is_a, 20, &ignore_b)), ["c"], "no chain avoids b");
}

#[test]
fn chain_predicates_are_plain_closures_as_in_python() {
    let (a, b, c) = (obj("a"), obj("b"), obj("c"));
    *a.attr.borrow_mut() = Some(b.clone());
    *b.attr.borrow_mut() = Some(c.clone());
    let (a_any, c_any) = (Gc::to_any(&a), Gc::to_any(&c));
    let backwards = objgraph::find_backref_chain(&c_any, |o| o.ptr_eq(&a_any), 20, &[]);
    assert_eq!(names(&backwards), ["a", "b", "c"]);
    let forwards = objgraph::find_ref_chain(&a_any, |o| o.ptr_eq(&c_any), 20, &[]);
    assert_eq!(names(&forwards), ["a", "b", "c"]);
    fn is_obj(o: &GcAny) -> bool {
        o.is::<Obj>()
    }
    assert_eq!(objgraph::find_ref_chain(&a_any, is_obj, 20, &[]).len(), 1, "a itself satisfies it");
}

/// The article's `_cache` leak, with the cache itself a heap object held by a global: the
/// chain from the leaked object leads to the cache, which is what holds it.
#[test]
fn a_leaked_object_leads_back_to_the_global_cache() {
    #[derive(Trace)]
    struct Cache {
        items: RefCell<Vec<Gc<Obj>>>,
    }
    thread_local!(static CACHE: Gc<Cache> = Gc::new(Cache { items: RefCell::new(Vec::new()) }));
    CACHE.with(|cache| cache.items.borrow_mut().push(obj("leaked")));
    let leaked = objgraph::by_type("Obj", &objgraph::Query::default()).pop().unwrap();
    let chain = objgraph::find_backref_chain_to_root(&leaked, 20, &[]);
    assert_eq!(chain.len(), 2);
    assert!(chain[1].ptr_eq(&leaked));
    let holder = chain[0].clone();
    drop(chain);
    assert_eq!(holder.short_type_name(), "Cache");
    let graph = objgraph::HeapGraph::snapshot();
    assert_eq!(graph.outside_refs(&holder), 1, "the thread-local's handle");
    assert_eq!(graph.outside_refs(&leaked), 0, "only the cache holds the leaked object");
    drop(graph);
    CACHE.with(|cache| cache.items.borrow_mut().clear());
}

/// The article's cycle check: objects in a cycle that nothing outside holds have no chain
/// to a root; `find_backref_chain` returns just the object (objgraph's `[obj]`).
#[test]
fn objects_only_a_cycle_holds_have_no_chain_to_a_root() {
    gen_gc::disable();
    for _ in 0..10 {
        let a = obj("a");
        let b = obj("b");
        *a.attr.borrow_mut() = Some(b.clone());
        *b.attr.borrow_mut() = Some(a);
    }
    let mut objects = objgraph::by_type("Obj", &objgraph::Query::default());
    assert_eq!(objects.len(), 20);
    // Keep one handle only: handles the caller holds count as references from outside.
    let target = objects.pop().unwrap();
    drop(objects);
    let chain = objgraph::find_backref_chain_to_root(&target, 20, &[]);
    assert_eq!(chain.len(), 1, "not held by anything outside the heap: a cycle, not a global");
    assert!(chain[0].ptr_eq(&target));
    // The search collected first, as objgraph's does: only the target's pair was left.
    drop((chain, target));
    assert_eq!(gen_gc::collect(), 2);
    gen_gc::enable();
}

/// objgraph's `FindChainTest.test_no_chain`: a predicate nothing satisfies gives `[obj]`.
#[test]
fn test_no_chain() {
    let a = obj("a");
    let never = |_: &GcAny| false;
    let chain = objgraph::find_backref_chain(&Gc::to_any(&a), never, 20, &[]);
    assert_eq!(names(&chain), ["a"]);
    let chain = objgraph::find_ref_chain(&Gc::to_any(&a), never, 20, &[]);
    assert_eq!(names(&chain), ["a"]);
}

/// A value with no `Gc` in it: untracked, in no snapshot, found through its referrers.
#[derive(Trace)]
struct Leaf {
    text: String,
}

#[derive(Trace)]
struct Shelf {
    name: &'static str,
    leaves: RefCell<Vec<Gc<Leaf>>>,
    next: RefCell<Option<Gc<Shelf>>>,
}

fn shelf(name: &'static str) -> Gc<Shelf> {
    Gc::new(Shelf { name, leaves: RefCell::new(Vec::new()), next: RefCell::new(None) })
}

fn shelf_names(chain: &[GcAny]) -> Vec<String> {
    chain
        .iter()
        .map(|o| match o.downcast::<Shelf>() {
            Some(shelf) => shelf.name.to_owned(),
            None => o.downcast::<Leaf>().map_or("?".to_owned(), |leaf| leaf.text.clone()),
        })
        .collect()
}

#[test]
fn chains_reach_untracked_objects_through_their_referrers() {
    let (top, middle) = (shelf("top"), shelf("middle"));
    *top.next.borrow_mut() = Some(middle.clone());
    let leaf = Gc::new(Leaf { text: "leaf".to_owned() });
    middle.leaves.borrow_mut().push(leaf.clone());
    let leaf_any = Gc::to_any(&leaf);
    assert!(!leaf_any.is_tracked());

    let is_top = |o: &GcAny| o.ptr_eq(&Gc::to_any(&top));
    assert_eq!(shelf_names(&objgraph::find_backref_chain(&leaf_any, is_top, 20, &[])), ["top", "middle", "leaf"]);
    assert_eq!(shelf_names(&objgraph::find_backref_chain(&leaf_any, is_top, 1, &[])), ["leaf"], "two steps away");
    let is_leaf = |o: &GcAny| o.ptr_eq(&leaf_any);
    assert_eq!(shelf_names(&objgraph::find_ref_chain(&Gc::to_any(&top), is_leaf, 20, &[])), ["top", "middle", "leaf"]);
    assert_eq!(shelf_names(&objgraph::find_ref_chain(&Gc::to_any(&top), is_leaf, 1, &[])), ["top"]);

    // Who holds it: `leaf` (besides `leaf_any`), from outside: its own root.
    assert_eq!(shelf_names(&objgraph::find_backref_chain_to_root(&leaf_any, 20, &[])), ["leaf"]);
    // Then `top`, held from outside (this test's variable), through `middle`.
    drop((leaf, middle));
    assert_eq!(shelf_names(&objgraph::find_backref_chain_to_root(&leaf_any, 20, &[])), ["top", "middle", "leaf"]);
}

/// A leaf that one object refers to twice is held by that object twice, not from outside.
#[test]
fn a_leaf_referred_to_twice_by_one_object_leads_back_to_it() {
    let middle = shelf("middle");
    {
        let leaf = Gc::new(Leaf { text: "leaf".to_owned() });
        middle.leaves.borrow_mut().extend([leaf.clone(), leaf]);
    }
    let leaf = Gc::to_any(&middle.leaves.borrow()[0]);
    assert_eq!(shelf_names(&objgraph::find_backref_chain_to_root(&leaf, 20, &[])), ["middle", "leaf"]);
}

/// A forward chain is the shortest, whether it ends at a tracked object or at a leaf:
/// Python's breadth-first search meets the tracked object one step away before a leaf two
/// steps away, even through an object it looked at first.
#[test]
fn a_forward_chain_to_a_tracked_object_or_a_leaf_is_the_shortest() {
    #[derive(Trace)]
    struct Fan {
        kids: RefCell<Vec<GcAny>>,
    }
    // start -> [first, target]; first -> leaf.
    let (first, target) = (shelf("first"), shelf("target"));
    first.leaves.borrow_mut().push(Gc::new(Leaf { text: "leaf".to_owned() }));
    let start = Gc::new(Fan { kids: RefCell::new(vec![Gc::to_any(&first), Gc::to_any(&target)]) });
    let wanted = |o: &GcAny| o.is::<Leaf>() || o.ptr_eq(&Gc::to_any(&target));
    let chain = objgraph::find_ref_chain(&Gc::to_any(&start), wanted, 20, &[]);
    assert_eq!(chain.len(), 2, "{chain:?}");
    assert!(chain[1].ptr_eq(&Gc::to_any(&target)));
    // A leaf one step from the start comes before a tracked object two steps away.
    let near = Gc::new(Leaf { text: "near".to_owned() });
    start.kids.borrow_mut().push(Gc::to_any(&near));
    let beyond = |o: &GcAny| o.ptr_eq(&Gc::to_any(&near)) || o.is::<Obj>();
    let chain = objgraph::find_ref_chain(&Gc::to_any(&start), beyond, 20, &[]);
    assert_eq!(chain.len(), 2, "{chain:?}");
    assert!(chain[1].ptr_eq(&Gc::to_any(&near)));
}

/// `extra_ignore` keeps a chain from passing through a leaf, as through any object; the start
/// itself is never ignored (Python's objgraph ignores only what its search meets).
#[test]
fn extra_ignore_covers_leaves_and_never_the_start() {
    let top = shelf("top");
    let leaf = Gc::new(Leaf { text: "leaf".to_owned() });
    top.leaves.borrow_mut().push(leaf.clone());
    let is_leaf = |o: &GcAny| o.is::<Leaf>();
    let ignore_leaf = [Gc::id(&leaf)];
    assert_eq!(shelf_names(&objgraph::find_ref_chain(&Gc::to_any(&top), is_leaf, 20, &ignore_leaf)), ["top"]);
    assert_eq!(shelf_names(&objgraph::find_ref_chain(&Gc::to_any(&top), is_leaf, 20, &[])), ["top", "leaf"]);

    let (a, b) = (obj("a"), obj("b"));
    *a.attr.borrow_mut() = Some(b.clone());
    let is_a = |o: &GcAny| o.ptr_eq(&Gc::to_any(&a));
    let is_b = |o: &GcAny| o.ptr_eq(&Gc::to_any(&b));
    let ignore_start = [Gc::id(&b)];
    assert_eq!(names(&objgraph::find_backref_chain(&Gc::to_any(&b), is_a, 20, &ignore_start)), ["a", "b"]);
    let ignore_start = [Gc::id(&a)];
    assert_eq!(names(&objgraph::find_ref_chain(&Gc::to_any(&a), is_b, 20, &ignore_start)), ["a", "b"]);
}
