//! A model-based test: random operations on handles, links and weak references, checked
//! against a reachability oracle. Links only go from newer to older objects, so the graph
//! is acyclic and reference counting alone must free exactly what is unreachable.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use proptest::prelude::*;
use rc_heap::{Gc, Weak};

use crate::common::Node;

#[derive(Debug, Clone)]
enum Op {
    New,
    CloneRoot(usize),
    DropRoot(usize),
    Link(usize, usize),
    Unlink(usize),
    Upgrade(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::New),
        1 => any::<usize>().prop_map(Op::CloneRoot),
        2 => any::<usize>().prop_map(Op::DropRoot),
        3 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Link(a, b)),
        1 => any::<usize>().prop_map(Op::Unlink),
        1 => any::<usize>().prop_map(Op::Upgrade),
    ]
}

struct World {
    roots: Vec<(usize, Gc<Node>)>,
    edges: Vec<Vec<usize>>,
    weak: Vec<Weak<Node>>,
    deaths: Rc<RefCell<HashSet<usize>>>,
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

    fn apply(&mut self, op: Op) {
        let n = self.roots.len();
        match op {
            Op::New => {
                let index = self.edges.len();
                let node = Node::new(&index.to_string());
                let deaths = self.deaths.clone();
                self.weak.push(Gc::downgrade_with_callback(&node, move |_| {
                    assert!(deaths.borrow_mut().insert(index), "callback ran twice");
                }));
                self.edges.push(Vec::new());
                self.roots.push((index, node));
            }
            Op::CloneRoot(k) if n > 0 => {
                let (i, node) = &self.roots[k % n];
                self.roots.push((*i, node.clone()));
            }
            Op::DropRoot(k) if n > 0 => {
                self.roots.swap_remove(k % n);
            }
            Op::Link(a, b) if n > 0 => {
                let (ia, na) = &self.roots[a % n];
                let (ib, nb) = &self.roots[b % n];
                if ia > ib {
                    na.children.borrow_mut().push(nb.clone());
                    self.edges[*ia].push(*ib);
                }
            }
            Op::Unlink(k) if n > 0 => {
                let (i, node) = &self.roots[k % n];
                let popped = node.children.borrow_mut().pop();
                if popped.is_some() {
                    self.edges[*i].pop();
                }
                drop(popped);
            }
            Op::Upgrade(k) if !self.weak.is_empty() => {
                let i = k % self.weak.len();
                if let Some(node) = self.weak[i].upgrade() {
                    self.roots.push((i, node));
                }
            }
            _ => {}
        }
    }

    fn check(&self) {
        let reachable = self.reachable();
        let deaths = self.deaths.borrow();
        for (i, weak) in self.weak.iter().enumerate() {
            let alive = reachable.contains(&i);
            assert_eq!(!weak.is_dead(), alive, "object {i}: weak handle disagrees with the oracle");
            assert_eq!(!deaths.contains(&i), alive, "object {i}: death callback disagrees with the oracle");
        }
    }
}

/// Cases to run: fewer under Miri and when `CYCLEGC_TEST_SCALE` scales tests down (valgrind).
fn cases(miri: u32, native: u32) -> u32 {
    if cfg!(miri) {
        return miri;
    }
    match std::env::var("CYCLEGC_TEST_SCALE").ok().and_then(|s| s.parse::<u32>().ok()) {
        Some(divisor) if divisor > 1 => (native / divisor).max(miri),
        _ => native,
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(4, 256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn refcounting_frees_exactly_the_unreachable(ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 40 } else { 200 })) {
        let mut world = World {
            roots: Vec::new(),
            edges: Vec::new(),
            weak: Vec::new(),
            deaths: Rc::new(RefCell::new(HashSet::new())),
        };
        for op in ops {
            world.apply(op);
            world.check();
        }
        world.roots.clear();
        world.check();
    }
}
