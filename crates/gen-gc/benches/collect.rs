//! Collection cost by heap shape, in nanoseconds per object (median of several runs).
//!
//! Shapes, as in `xtask/bench/collect.py` for CPython so the two can be compared side by
//! side: one million objects in 2-cycles (all garbage), one million-object ring (garbage),
//! one million live objects (nothing to free), and a young collection of 700 objects while
//! the old generation grows from 10^4 to 10^6 objects. Two live shapes are met in the order
//! real heaps often have, each object before the objects that refer to it: a one
//! million-node chain built backwards (each node refers to the one made before it) and held
//! by its last node, and a random binary tree built from its leaves up and held by its root.
//! `live_without_labels` repeats `live`
//! with a hand-written `Trace` that reports no edge labels, to show what labels cost the
//! collector (nothing: its visitor compiles them out).
//!
//! `cargo bench -p gen-gc --bench collect` prints a table; `-- --json` prints one JSON object
//! per line for `cargo xtask bench collect`.

#![allow(unsafe_code, reason = "a hand-written Trace without labels, to measure what labels cost")]

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Instant;

use cyclegc::{Gc, Trace, Visitor};
use shapes::{Node, backward_chain, node, random_tree};

#[path = "common/shapes.rs"]
mod shapes;

/// `Node` with a hand-written `Trace` that reports no labels: the derive's labels (field
/// names) against none, to show that collection does not pay for them.
struct Unlabelled {
    next: RefCell<Option<Gc<Unlabelled>>>,
}

// SAFETY: visits its one `Gc` once.
unsafe impl Trace for Unlabelled {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.next.trace(visitor);
    }
}

fn live_unlabelled() -> Box<dyn std::any::Any> {
    let nodes: Vec<Gc<Unlabelled>> = (0..N).map(|_| Gc::new(Unlabelled { next: RefCell::new(None) })).collect();
    for pair in nodes.chunks(2) {
        *pair[0].next.borrow_mut() = Some(pair[1].clone());
    }
    Box::new(nodes)
}

const N: usize = 1_000_000;
const RUNS: usize = 7;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Times `collect` after `build` made the heap, `RUNS` times; ns per object.
fn measure(objects: usize, build: impl Fn() -> Box<dyn std::any::Any>, collect: impl Fn() -> usize) -> f64 {
    let samples = (0..RUNS)
        .map(|_| {
            let keep = build();
            let start = Instant::now();
            black_box(collect());
            let elapsed = start.elapsed();
            drop(keep);
            gen_gc::collect();
            elapsed.as_nanos() as f64 / objects as f64
        })
        .collect();
    median(samples)
}

fn two_cycles() -> Box<dyn std::any::Any> {
    for _ in 0..N / 2 {
        let a = node();
        let b = node();
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a);
    }
    Box::new(())
}

fn ring() -> Box<dyn std::any::Any> {
    let first = node();
    let mut last = first.clone();
    for _ in 1..N {
        let next = node();
        *last.next.borrow_mut() = Some(next.clone());
        last = next;
    }
    *last.next.borrow_mut() = Some(first);
    Box::new(())
}

fn live() -> Box<dyn std::any::Any> {
    let nodes: Vec<Gc<Node>> = (0..N).map(|_| node()).collect();
    for pair in nodes.chunks(2) {
        *pair[0].next.borrow_mut() = Some(pair[1].clone());
    }
    Box::new(nodes)
}

const YOUNG: usize = 700;
const YOUNG_REPEATS: usize = 200;

/// A young collection of 700 objects, timed alone, summed over 200 collections per run (one
/// collection takes microseconds: too short to time on its own).
fn young_with_old(old: usize) -> f64 {
    let samples = (0..RUNS)
        .map(|_| {
            let old_objects: Vec<Gc<Node>> = (0..old).map(|_| node()).collect();
            gen_gc::collect();
            gen_gc::collect();
            let mut total = std::time::Duration::ZERO;
            for _ in 0..YOUNG_REPEATS {
                let young: Vec<Gc<Node>> = (0..YOUNG).map(|_| node()).collect();
                let start = Instant::now();
                black_box(gen_gc::collect_generation(0).unwrap());
                total += start.elapsed();
                drop(young);
            }
            drop(old_objects);
            total.as_nanos() as f64 / (YOUNG * YOUNG_REPEATS) as f64
        })
        .collect();
    median(samples)
}

fn main() {
    let json = std::env::args().any(|a| a == "--json");
    gen_gc::disable();
    let results = [
        ("garbage_2cycles", measure(N, two_cycles, gen_gc::collect)),
        ("garbage_ring", measure(N, ring, gen_gc::collect)),
        ("live", measure(N, live, gen_gc::collect)),
        ("live_without_labels", measure(N, live_unlabelled, gen_gc::collect)),
        ("live_backward_chain", measure(N, || Box::new(backward_chain(N)), gen_gc::collect)),
        ("live_random_tree", measure(N, || Box::new(random_tree(N)), gen_gc::collect)),
        ("young_700_old_1e4", young_with_old(10_000)),
        ("young_700_old_1e5", young_with_old(100_000)),
        ("young_700_old_1e6", young_with_old(1_000_000)),
    ];
    for (shape, ns) in results {
        if json {
            println!("{{\"shape\": \"{shape}\", \"ns_per_object\": {ns:.2}}}");
        } else {
            println!("{shape:<20} {ns:>8.2} ns/object");
        }
    }
}
