//! Model-based test: random sequences of new / link / unlink / drop / collect / weak
//! operations, cycles allowed, checked against a reachability oracle:
//! - nothing reachable from a live handle is ever freed;
//! - a full collection frees everything unreachable;
//! - a weak handle reads dead exactly when its object is gone (its death callback ran).

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use cyclegc::{Gc, Trace, Weak};
use proptest::prelude::*;

#[derive(Trace)]
struct Node {
    edges: RefCell<Vec<Gc<Node>>>,
}

#[derive(Debug, Clone)]
enum Op {
    New,
    DropRoot(usize),
    CloneRoot(usize),
    Link(usize, usize),
    Unlink(usize),
    Upgrade(usize),
    CollectYoung,
    Collect,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::New),
        3 => any::<usize>().prop_map(Op::DropRoot),
        1 => any::<usize>().prop_map(Op::CloneRoot),
        5 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Link(a, b)),
        1 => any::<usize>().prop_map(Op::Unlink),
        1 => any::<usize>().prop_map(Op::Upgrade),
        1 => Just(Op::CollectYoung),
        1 => Just(Op::Collect),
    ]
}

struct World {
    roots: Vec<(usize, Gc<Node>)>,
    edges: Vec<Vec<usize>>,
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

    fn apply(&mut self, op: &Op) {
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
                let popped = node.edges.borrow_mut().pop();
                if popped.is_some() {
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
            Op::Collect => {
                gen_gc::collect();
            }
            _ => {}
        }
    }

    fn check(&self, after_full_collection: bool) {
        let reachable = self.reachable();
        let dead = self.dead.borrow();
        for (i, weak) in self.weak.iter().enumerate() {
            let is_dead = dead.contains(&i);
            assert_eq!(weak.is_dead(), is_dead, "object {i}: weak handle and death callback disagree");
            if reachable.contains(&i) {
                assert!(!is_dead, "object {i} is reachable but was freed");
            } else if after_full_collection {
                assert!(is_dead, "object {i} is unreachable but survived a full collection");
            }
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
        cases: cases(3, 200),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_collector_frees_exactly_the_unreachable(
        ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 30 } else { 150 }),
        threshold0 in 1_usize..20,
    ) {
        // Low thresholds: automatic young and older collections happen between operations.
        gen_gc::set_threshold(threshold0, 2, 2);
        let mut world = World { roots: Vec::new(), edges: Vec::new(), weak: Vec::new(), dead: Rc::default() };
        for op in &ops {
            world.apply(op);
            world.check(matches!(op, Op::Collect));
        }
        world.roots.clear();
        gen_gc::collect();
        world.check(true);
        gen_gc::set_threshold(700, 10, 10);
    }
}
