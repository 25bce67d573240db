//! The reachability model the model-based tests share: random sequences of new / link /
//! unlink / drop / weak / collection operations on a heap, mirrored in a plain graph whose
//! reachability is the oracle.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use cyclegc::{Gc, Trace, Weak};
use proptest::prelude::*;

#[derive(Trace)]
pub struct Node {
    edges: RefCell<Vec<Gc<Node>>>,
}

#[derive(Debug, Clone)]
pub enum Op {
    New,
    DropRoot(usize),
    CloneRoot(usize),
    Link(usize, usize),
    Unlink(usize),
    Upgrade(usize),
    CollectYoung,
    /// `collect_generation(1)`: generation 1, or an increment under the incremental policy.
    Increment,
    Collect,
}

/// The operations, weighted; `increment` and `collect` weigh the two collections of older
/// objects.
pub fn op(increment: u32, collect: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::New),
        3 => any::<usize>().prop_map(Op::DropRoot),
        1 => any::<usize>().prop_map(Op::CloneRoot),
        5 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Link(a, b)),
        1 => any::<usize>().prop_map(Op::Unlink),
        1 => any::<usize>().prop_map(Op::Upgrade),
        1 => Just(Op::CollectYoung),
        increment => Just(Op::Increment),
        collect => Just(Op::Collect),
    ]
}

/// The heap's objects (each numbered by creation), the program's handles, and the oracle.
#[derive(Default)]
pub struct World {
    /// The handles the program holds: (object number, handle).
    pub roots: Vec<(usize, Gc<Node>)>,
    /// Each object's edges, by number.
    pub edges: Vec<Vec<usize>>,
    weak: Vec<Weak<Node>>,
    dead: Rc<RefCell<HashSet<usize>>>,
}

impl World {
    fn reachable(&self) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut stack: Vec<usize> = self.roots.iter().map(|(i, _)| *i).collect();
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                stack.extend(&self.edges[i]);
            }
        }
        seen
    }

    pub fn apply(&mut self, op: &Op) {
        let n = self.roots.len();
        match *op {
            Op::New => {
                let index = self.edges.len();
                let node = Gc::new(Node { edges: RefCell::new(Vec::new()) });
                let dead = self.dead.clone();
                self.weak.push(Gc::downgrade_with_callback(&node, move |_| {
                    assert!(dead.borrow_mut().insert(index), "death callback ran twice");
                }));
                self.edges.push(Vec::new());
                self.roots.push((index, node));
            }
            Op::DropRoot(k) if n > 0 => {
                self.roots.swap_remove(k % n);
            }
            Op::CloneRoot(k) if n > 0 => {
                let (i, node) = &self.roots[k % n];
                self.roots.push((*i, node.clone()));
            }
            Op::Link(a, b) if n > 0 => {
                let (ia, na) = &self.roots[a % n];
                let (ib, nb) = &self.roots[b % n];
                na.edges.borrow_mut().push(nb.clone());
                self.edges[*ia].push(*ib);
            }
            Op::Unlink(k) if n > 0 => {
                let (i, node) = &self.roots[k % n];
                if node.edges.borrow_mut().pop().is_some() {
                    self.edges[*i].pop();
                }
            }
            Op::Upgrade(k) if !self.weak.is_empty() => {
                let i = k % self.weak.len();
                if let Some(node) = self.weak[i].upgrade() {
                    self.roots.push((i, node));
                }
            }
            Op::CollectYoung => {
                gen_gc::collect_generation(0).unwrap();
            }
            Op::Increment => {
                gen_gc::collect_generation(1).unwrap();
            }
            Op::Collect => {
                gen_gc::collect();
            }
            _ => {}
        }
    }

    /// Nothing reachable was freed, weak handles agree with death callbacks, and, when
    /// `all_unreachable_freed`, everything unreachable was freed.
    pub fn check(&self, all_unreachable_freed: bool) {
        let reachable = self.reachable();
        let dead = self.dead.borrow();
        for (i, weak) in self.weak.iter().enumerate() {
            let is_dead = dead.contains(&i);
            assert_eq!(weak.is_dead(), is_dead, "object {i}: weak handle and death callback disagree");
            if reachable.contains(&i) {
                assert!(!is_dead, "object {i} is reachable but was freed");
            } else if all_unreachable_freed {
                assert!(is_dead, "object {i} is unreachable but survived");
            }
        }
    }
}

/// Cases to run: fewer under Miri and when `CYCLEGC_TEST_SCALE` scales tests down (valgrind).
pub fn cases(miri: u32, native: u32) -> u32 {
    if cfg!(miri) {
        return miri;
    }
    match std::env::var("CYCLEGC_TEST_SCALE").ok().and_then(|s| s.parse::<u32>().ok()) {
        Some(divisor) if divisor > 1 => (native / divisor).max(miri),
        _ => native,
    }
}

/// The proptest configuration the model tests share: few cases under Miri and valgrind, no
/// failure files.
pub fn config() -> ProptestConfig {
    ProptestConfig { cases: cases(3, 200), failure_persistence: None, ..ProptestConfig::default() }
}

/// A sequence of operations, shorter under Miri (`op`'s weights).
pub fn ops(increment: u32, collect: u32) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(increment, collect), 1..if cfg!(miri) { 30 } else { 150 })
}
