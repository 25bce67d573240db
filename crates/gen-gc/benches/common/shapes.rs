//! The live heap shapes `collect.rs` and `pauses.rs` both build, as `xtask/bench/collect.py`
//! builds them for CPython: objects met before the objects that refer to them.

use std::cell::RefCell;

use cyclegc::{Gc, Trace};

/// One tracked object with one edge.
#[derive(Trace)]
pub struct Node {
    pub next: RefCell<Option<Gc<Node>>>,
}

pub fn node() -> Gc<Node> {
    Gc::new(Node { next: RefCell::new(None) })
}

/// A chain of `n` nodes whose every node refers to the node made before it, held by the
/// last one: the walk over the heap meets each node before the node that refers to it.
pub fn backward_chain(n: usize) -> Gc<Node> {
    let mut last = node();
    for _ in 1..n {
        let next = node();
        *next.next.borrow_mut() = Some(last);
        last = next;
    }
    last
}

/// A binary tree node.
#[derive(Trace)]
pub struct Tree {
    left: RefCell<Option<Gc<Tree>>>,
    right: RefCell<Option<Gc<Tree>>>,
}

/// The generator `xtask/bench/collect.py` uses too, so that both build the same tree.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) % (1 << 63);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// A random binary tree of about `n` nodes built from its leaves up: each new node takes
/// up to two of the subtrees made so far as its children, picked at random; at the end the
/// remaining subtrees (about the square root of `n`) are joined under one root. Every node
/// is made after its children.
pub fn random_tree(n: usize) -> Gc<Tree> {
    let mut rng = Lcg(42);
    let mut roots: Vec<Gc<Tree>> = Vec::new();
    let take = |roots: &mut Vec<Gc<Tree>>, rng: &mut Lcg| {
        let index = rng.below(roots.len());
        roots.swap_remove(index)
    };
    for _ in 0..n {
        let children = rng.below(3).min(roots.len());
        let left = (children >= 1).then(|| take(&mut roots, &mut rng));
        let right = (children == 2).then(|| take(&mut roots, &mut rng));
        roots.push(Gc::new(Tree { left: RefCell::new(left), right: RefCell::new(right) }));
    }
    while roots.len() > 1 {
        let left = take(&mut roots, &mut rng);
        let right = take(&mut roots, &mut rng);
        roots.push(Gc::new(Tree { left: RefCell::new(Some(left)), right: RefCell::new(Some(right)) }));
    }
    roots.pop().expect("n > 0")
}
