//! Retained sizes and dominators on hand-built shapes: what would be freed if an object were
//! gone.

use std::cell::RefCell;

use cyclegc::{Gc, GcAny, Trace, TypeInfo};
use objgraph::{Dominators, HeapGraph};

#[derive(Trace)]
struct Node {
    name: &'static str,
    children: RefCell<Vec<Gc<Node>>>,
}

#[derive(Trace)]
struct Labelled {
    label: Gc<String>,
}

fn node(name: &'static str) -> Gc<Node> {
    Gc::new(Node { name, children: RefCell::new(Vec::new()) })
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.children.borrow_mut().push(to.clone());
}

fn one() -> usize {
    TypeInfo::of::<Node>().object_size()
}

/// The snapshot's handle on the `Node` called `name`.
fn named(graph: &HeapGraph, name: &str) -> GcAny {
    let found = graph.objects().iter().find(|o| o.downcast::<Node>().is_some_and(|n| n.name == name));
    found.expect("a node of that name").clone()
}

fn name_of(object: &GcAny) -> &'static str {
    object.downcast::<Node>().map_or("?", |n| n.name)
}

#[test]
fn the_head_of_a_chain_retains_the_whole_chain() {
    let a = node("a");
    let b = node("b");
    let c = node("c");
    link(&a, &b);
    link(&b, &c);
    drop((b, c));
    let graph = HeapGraph::snapshot();
    let dominators = Dominators::new(&graph);
    assert_eq!(dominators.retained_size(&Gc::to_any(&a)), Some(3 * one()));
    assert_eq!(dominators.retained_size(&named(&graph, "b")), Some(2 * one()));
    assert_eq!(dominators.retained_size(&named(&graph, "c")), Some(one()));
    let up = dominators.immediate_dominator(&named(&graph, "c")).unwrap();
    assert_eq!(name_of(&up), "b");
    assert!(dominators.immediate_dominator(&Gc::to_any(&a)).is_none(), "a is a root");
}

#[test]
fn the_top_of_a_diamond_dominates_its_bottom() {
    let a = node("a");
    let (b, c, d) = (node("b"), node("c"), node("d"));
    link(&a, &b);
    link(&a, &c);
    link(&b, &d);
    link(&c, &d);
    drop((b, c, d));
    let graph = HeapGraph::snapshot();
    let dominators = Dominators::new(&graph);
    assert_eq!(dominators.retained_size(&Gc::to_any(&a)), Some(4 * one()));
    assert_eq!(dominators.retained_size(&named(&graph, "b")), Some(one()), "d is reachable through c too");
    assert_eq!(dominators.retained_size(&named(&graph, "c")), Some(one()));
    assert_eq!(name_of(&dominators.immediate_dominator(&named(&graph, "d")).unwrap()), "a");
}

#[test]
fn a_cycle_held_from_outside_is_retained_by_the_held_object() {
    let a = node("a");
    let (b, c) = (node("b"), node("c"));
    link(&a, &b);
    link(&b, &c);
    link(&c, &a);
    drop((b, c));
    let graph = HeapGraph::snapshot();
    let dominators = Dominators::new(&graph);
    assert_eq!(dominators.retained_size(&Gc::to_any(&a)), Some(3 * one()));
    assert_eq!(
        dominators.retained_size(&named(&graph, "b")),
        Some(2 * one()),
        "b's reference back to a does not retain a"
    );
    assert_eq!(dominators.retained_size(&named(&graph, "c")), Some(one()));
    drop(dominators);
    drop(graph);
    a.children.borrow_mut().clear();
}

#[test]
fn a_child_shared_by_two_held_parents_is_retained_by_neither() {
    let (left, right) = (node("left"), node("right"));
    let shared = node("shared");
    link(&left, &shared);
    link(&right, &shared);
    drop(shared);
    let graph = HeapGraph::snapshot();
    let dominators = Dominators::new(&graph);
    assert_eq!(dominators.retained_size(&Gc::to_any(&left)), Some(one()));
    assert_eq!(dominators.retained_size(&Gc::to_any(&right)), Some(one()));
    assert!(dominators.immediate_dominator(&named(&graph, "shared")).is_none(), "only the super-root dominates it");
}

#[test]
fn a_handle_the_caller_holds_makes_a_child_a_root() {
    let parent = node("parent");
    let child = node("child");
    link(&parent, &child);
    let graph = HeapGraph::snapshot();
    let dominators = Dominators::new(&graph);
    assert_eq!(dominators.retained_size(&Gc::to_any(&parent)), Some(one()), "`child` keeps the child alive");
}

#[test]
fn a_leaf_only_one_object_holds_is_in_its_retained_size() {
    let labelled = Gc::new(Labelled { label: Gc::new(String::from("x")) });
    let expected = TypeInfo::of::<Labelled>().object_size() + TypeInfo::of::<String>().object_size();
    assert_eq!(objgraph::retained_size(&Gc::to_any(&labelled)), expected);
}

#[test]
fn a_leaf_also_held_from_outside_is_not_retained() {
    let label = Gc::new(String::from("x"));
    let labelled = Gc::new(Labelled { label: label.clone() });
    assert_eq!(objgraph::retained_size(&Gc::to_any(&labelled)), TypeInfo::of::<Labelled>().object_size());
}

#[test]
fn a_leaf_shared_by_two_children_is_retained_by_their_parent() {
    #[derive(Trace)]
    struct Parent {
        children: Vec<Gc<Labelled>>,
    }
    let label = Gc::new(String::from("shared"));
    let children = vec![Gc::new(Labelled { label: label.clone() }), Gc::new(Labelled { label })];
    let parent = Gc::new(Parent { children });
    let expected = TypeInfo::of::<Parent>().object_size()
        + 2 * TypeInfo::of::<Labelled>().object_size()
        + TypeInfo::of::<String>().object_size();
    assert_eq!(objgraph::retained_size(&Gc::to_any(&parent)), expected);
}

#[test]
fn an_untracked_object_retains_itself() {
    let leaf = Gc::new(7_u64);
    assert_eq!(objgraph::retained_size(&Gc::to_any(&leaf)), TypeInfo::of::<u64>().object_size());
}

#[test]
fn a_garbage_cycle_retains_what_hangs_off_it() {
    gen_gc::disable();
    let (a, b, tail) = (node("a"), node("b"), node("tail"));
    link(&a, &b);
    link(&b, &a);
    link(&b, &tail);
    drop((a, b, tail));
    let graph = HeapGraph::snapshot();
    let dominators = Dominators::new(&graph);
    assert_eq!(dominators.retained_size(&named(&graph, "a")), Some(one()), "each object of the cycle is a root");
    assert_eq!(dominators.retained_size(&named(&graph, "b")), Some(2 * one()));
    assert_eq!(name_of(&dominators.immediate_dominator(&named(&graph, "tail")).unwrap()), "b");
    drop(dominators);
    drop(graph);
    assert_eq!(gen_gc::collect(), 3);
    gen_gc::enable();
}

#[test]
fn largest_retainers_puts_the_owner_of_the_most_first() {
    let small = node("small");
    let big = node("big");
    for _ in 0..5 {
        link(&big, &node("item"));
    }
    let graph = HeapGraph::snapshot();
    let dominators = Dominators::new(&graph);
    let top = dominators.largest_retainers(2);
    assert_eq!(top.len(), 2);
    assert_eq!(name_of(&top[0].object), "big");
    assert_eq!((top[0].retained_objects, top[0].retained_size), (6, 6 * one()));
    assert_eq!(top[1].retained_objects, 1);
    let mut table = Vec::new();
    dominators.show_largest_retainers(1, &mut table).unwrap();
    assert_eq!(String::from_utf8(table).unwrap(), format!("Node        6 {:>9}\n", 6 * one()));
    drop(small);
}

/// Dominators are computed without recursion: a chain longer than the call stack is deep.
#[test]
fn a_long_chain_has_no_stack_overflow() {
    let length = std::env::var("CYCLEGC_TEST_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(200_000, |d: usize| 200_000 / d.max(1));
    let head = node("head");
    let mut last = head.clone();
    for _ in 1..length {
        let next = node("link");
        link(&last, &next);
        last = next;
    }
    drop(last);
    assert_eq!(objgraph::retained_size(&Gc::to_any(&head)), length * one());
}

/// Leaves shared by objects all over a tree go to the objects' nearest common dominator: a
/// tree of 3,000 objects (deep paths and wide fans, grown by a fixed pseudo-random rule), each
/// leaf held by two to four of them, against the answer found by walking parents.
#[test]
fn shared_leaves_go_to_the_nearest_common_dominator_of_their_holders() {
    #[derive(Trace)]
    struct Tree {
        kids: RefCell<Vec<Gc<Tree>>>,
        leaves: RefCell<Vec<Gc<String>>>,
    }
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |below: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % below as u64) as usize
    };
    let count = if cfg!(miri) { 60 } else { 3_000 };
    let mut parent = vec![usize::MAX];
    let nodes: Vec<Gc<Tree>> = (0..count)
        .map(|_| Gc::new(Tree { kids: RefCell::new(Vec::new()), leaves: RefCell::new(Vec::new()) }))
        .collect();
    for i in 1..count {
        // Mostly the previous object (deep paths), sometimes any earlier one (fans).
        let p = if next(4) == 0 { next(i) } else { i - 1 };
        parent.push(p);
        nodes[p].kids.borrow_mut().push(nodes[i].clone());
    }
    let depth: Vec<usize> = (0..count).fold(Vec::new(), |mut depth, i| {
        depth.push(if i == 0 { 0 } else { depth[parent[i]] + 1 });
        depth
    });
    let common = |mut a: usize, mut b: usize| {
        while a != b {
            if depth[a] >= depth[b] { a = parent[a] } else { b = parent[b] }
        }
        a
    };
    let leaf_size = TypeInfo::of::<String>().object_size();
    let mut extra = vec![0; count];
    for _ in 0..count / 3 {
        let leaf = Gc::new(String::from("shared"));
        let holders: Vec<usize> = (0..2 + next(3)).map(|_| next(count)).collect();
        for &holder in &holders {
            nodes[holder].leaves.borrow_mut().push(leaf.clone());
        }
        extra[holders.iter().copied().reduce(common).expect("holders")] += leaf_size;
    }
    let root = nodes[0].clone();
    drop(nodes);
    // What each object retains: itself, its subtree, and the leaves whose holders' common
    // dominator lies in its subtree (children have larger numbers: summed from the end).
    let mut expected: Vec<usize> = extra.iter().map(|leaves| leaves + TypeInfo::of::<Tree>().object_size()).collect();
    for i in (1..count).rev() {
        expected[parent[i]] += expected[i];
    }
    let graph = HeapGraph::snapshot();
    let dominators = Dominators::new(&graph);
    // Match objects to their numbers through `parent`: the children of `i` were pushed in
    // increasing order of their numbers.
    let mut kids_of: Vec<Vec<usize>> = vec![Vec::new(); count];
    for i in 1..count {
        kids_of[parent[i]].push(i);
    }
    let mut numbered = vec![(0usize, root.clone())];
    let mut checked = 0;
    while let Some((i, object)) = numbered.pop() {
        let retained = dominators.retained_size(&Gc::to_any(&object)).expect("in the snapshot");
        assert_eq!(retained, expected[i], "object {i} at depth {}", depth[i]);
        checked += 1;
        for (k, kid) in kids_of[i].iter().zip(object.kids.borrow().iter()) {
            numbered.push((*k, kid.clone()));
        }
    }
    assert_eq!(checked, count);
}
