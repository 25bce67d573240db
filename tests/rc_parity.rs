//! Programs written for `std::rc`, ported to `Gc` and `Weak`: the counts, the clones and
//! the drops each step sees are the ones `Rc` gives, and the cycles `Rc` leaks are freed.
//! Each test runs the program with both and compares what they logged.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use cyclegc::{Gc, Trace, Weak, gc};

thread_local! {
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn log(line: String) {
    LOG.with(|log| log.borrow_mut().push(line));
}

fn take_log() -> Vec<String> {
    LOG.with(|log| log.take())
}

/// Logs each clone and each drop.
#[derive(Trace, Debug, PartialEq)]
struct Counted(i32);

impl Clone for Counted {
    fn clone(&self) -> Self {
        log(format!("clone {}", self.0));
        Counted(self.0)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        log(format!("drop {}", self.0));
    }
}

#[test]
fn make_mut_with_only_weak_references_moves_the_value_as_rc_does() {
    let mut rc = Rc::new(Counted(1));
    let rc_weak = Rc::downgrade(&rc);
    Rc::make_mut(&mut rc).0 = 2;
    log(format!("weak upgrades: {}", rc_weak.upgrade().is_some()));
    drop(rc);
    let with_rc = take_log();

    let mut gc = Gc::new(Counted(1));
    let gc_weak = Gc::downgrade(&gc);
    Gc::make_mut(&mut gc).0 = 2;
    log(format!("weak upgrades: {}", gc_weak.upgrade().is_some()));
    drop(gc);
    let with_gc = take_log();

    assert_eq!(with_rc, ["weak upgrades: false", "drop 2"]);
    assert_eq!(with_gc, with_rc);
}

#[test]
fn make_mut_with_only_weak_references_runs_their_callbacks() {
    let called = Rc::new(Cell::new(0));
    let mut gc = Gc::new(Counted(1));
    let seen = Rc::clone(&called);
    let watched = Gc::downgrade_with_callback(&gc, move |_| seen.set(seen.get() + 1));
    Gc::make_mut(&mut gc).0 = 2;
    assert!(watched.is_dead());
    assert_eq!(called.get(), 1);
    assert_eq!((Gc::strong_count(&gc), Gc::weak_count(&gc), gc.0), (1, 0, 2));
    drop(gc);
    assert_eq!(called.get(), 1);
    assert_eq!(take_log(), ["drop 2"]);
}

#[test]
fn make_mut_of_a_shared_value_clones_as_rc_does() {
    let mut rc = Rc::new(Counted(1));
    let other = Rc::clone(&rc);
    let weak = Rc::downgrade(&rc);
    Rc::make_mut(&mut rc).0 = 2;
    log(format!("{} {} {}", rc.0, other.0, weak.upgrade().map_or(0, |o| o.0)));
    drop((rc, other));
    let with_rc = take_log();

    let mut gc = Gc::new(Counted(1));
    let other = Gc::clone(&gc);
    let weak = Gc::downgrade(&gc);
    Gc::make_mut(&mut gc).0 = 2;
    log(format!("{} {} {}", gc.0, other.0, weak.upgrade().map_or(0, |o| o.0)));
    drop((gc, other));
    let with_gc = take_log();

    assert_eq!(with_rc, ["clone 1", "2 1 1", "drop 2", "drop 1"]);
    assert_eq!(with_gc, with_rc);
}

/// The Rust Book's tree (chapter 15.6): a parent's weak references are counted as `Rc`
/// counts them, at each step.
#[test]
fn book_tree_counts_match_rc() {
    #[derive(Trace)]
    struct Node {
        parent: RefCell<Weak<Node>>,
        children: RefCell<Vec<Gc<Node>>>,
    }
    struct RcNode {
        parent: RefCell<std::rc::Weak<RcNode>>,
        children: RefCell<Vec<Rc<RcNode>>>,
    }

    let leaf = Gc::new(Node { parent: RefCell::new(Weak::new()), children: RefCell::new(vec![]) });
    let rc_leaf = Rc::new(RcNode { parent: RefCell::new(std::rc::Weak::new()), children: RefCell::new(vec![]) });
    let counts = |leaf: &Gc<Node>, rc_leaf: &Rc<RcNode>| {
        let gc = (Gc::strong_count(leaf), Gc::weak_count(leaf));
        let rc = (Rc::strong_count(rc_leaf), Rc::weak_count(rc_leaf));
        assert_eq!(gc, rc);
        gc
    };
    assert_eq!(counts(&leaf, &rc_leaf), (1, 0));
    {
        let branch = Gc::new(Node { parent: RefCell::new(Weak::new()), children: RefCell::new(vec![leaf.clone()]) });
        *leaf.parent.borrow_mut() = Gc::downgrade(&branch);
        let rc_branch = Rc::new(RcNode {
            parent: RefCell::new(std::rc::Weak::new()),
            children: RefCell::new(vec![rc_leaf.clone()]),
        });
        *rc_leaf.parent.borrow_mut() = Rc::downgrade(&rc_branch);
        let gc_branch = (Gc::strong_count(&branch), Gc::weak_count(&branch));
        assert_eq!(gc_branch, (Rc::strong_count(&rc_branch), Rc::weak_count(&rc_branch)));
        assert_eq!(gc_branch, (1, 1));
        let second = Gc::downgrade(&branch);
        assert_eq!(Gc::weak_count(&branch), 2);
        assert_eq!(second.weak_count(), 2);
        drop(second);
        assert_eq!(counts(&leaf, &rc_leaf), (2, 0));
        assert_eq!(branch.children.borrow().len(), rc_branch.children.borrow().len());
    }
    assert!(leaf.parent.borrow().upgrade().is_none());
    assert!(rc_leaf.parent.borrow().upgrade().is_none());
    assert_eq!(counts(&leaf, &rc_leaf), (1, 0));
}

/// A doubly linked list (`next` strong, `prev` weak): popping and dropping run the values'
/// `Drop` in the order `Rc` runs it.
#[test]
fn doubly_linked_list_drops_in_rc_order() {
    #[derive(Trace)]
    struct Node {
        value: Counted,
        next: Option<Gc<RefCell<Node>>>,
        prev: Option<Weak<RefCell<Node>>>,
    }
    struct RcNode {
        value: Counted,
        next: Option<Rc<RefCell<RcNode>>>,
        prev: Option<std::rc::Weak<RefCell<RcNode>>>,
    }

    let mut head = None::<Rc<RefCell<RcNode>>>;
    for value in (1..=4).rev() {
        let node = Rc::new(RefCell::new(RcNode { value: Counted(value), next: head.take(), prev: None }));
        if let Some(next) = &node.borrow().next {
            next.borrow_mut().prev = Some(Rc::downgrade(&node));
        }
        head = Some(node);
    }
    let first = head.take().unwrap();
    head = first.borrow_mut().next.take();
    log(format!(
        "popped {}: strong {} weak {}",
        first.borrow().value.0,
        Rc::strong_count(&first),
        Rc::weak_count(&first)
    ));
    drop(first);
    drop(head);
    let with_rc = take_log();

    let mut head = None::<Gc<RefCell<Node>>>;
    for value in (1..=4).rev() {
        let node = Gc::new(RefCell::new(Node { value: Counted(value), next: head.take(), prev: None }));
        if let Some(next) = &node.borrow().next {
            next.borrow_mut().prev = Some(Gc::downgrade(&node));
        }
        head = Some(node);
    }
    let first = head.take().unwrap();
    head = first.borrow_mut().next.take();
    log(format!(
        "popped {}: strong {} weak {}",
        first.borrow().value.0,
        Gc::strong_count(&first),
        Gc::weak_count(&first)
    ));
    drop(first);
    drop(head);
    let with_gc = take_log();

    assert_eq!(with_rc, ["popped 1: strong 1 weak 1", "drop 1", "drop 2", "drop 3", "drop 4"]);
    assert_eq!(with_gc, with_rc);
}

/// A graph with a cycle in its adjacency lists: `Rc` leaks it, the collector frees it.
#[test]
fn graph_cycle_rc_leaks_is_collected() {
    #[derive(Trace)]
    struct Vertex {
        value: Counted,
        edges: Vec<Gc<RefCell<Vertex>>>,
    }
    let vertices: Vec<Gc<RefCell<Vertex>>> =
        (0..4).map(|value| Gc::new(RefCell::new(Vertex { value: Counted(value), edges: vec![] }))).collect();
    for (from, to) in [(0, 1), (1, 2), (2, 0), (2, 3)] {
        let target = vertices[to].clone();
        vertices[from].borrow_mut().edges.push(target);
    }
    let strong: Vec<usize> = vertices.iter().map(Gc::strong_count).collect();
    assert_eq!(strong, [2, 2, 2, 2]);
    let weak: Vec<Weak<RefCell<Vertex>>> = vertices.iter().map(Gc::downgrade).collect();
    drop(vertices);
    assert!(take_log().is_empty(), "the cycle keeps every vertex alive, as with Rc");
    assert!(gc::collect() >= 4);
    assert!(weak.iter().all(Weak::is_dead));
    let mut dropped = take_log();
    dropped.sort();
    assert_eq!(dropped, ["drop 0", "drop 1", "drop 2", "drop 3"]);
}
