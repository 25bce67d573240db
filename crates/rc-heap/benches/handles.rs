//! Handle costs of `rc_heap::Gc` next to `std::rc::Rc`.
//!
//! Every group holds a `Gc` benchmark and its `Rc` twin, measured in the same run so their
//! ratio is meaningful on whatever machine runs them. No cycle collector is installed here
//! (the `gen-gc` crate is not linked), so these are the costs of the object model alone.
//!
//! Run with `cargo bench -p rc-heap --bench handles`; `docs/performance.md` has results.

#![allow(unsafe_code, reason = "`Trace` is an unsafe trait; `Node` implements it by hand")]

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rc_heap::{Gc, Trace, Visitor};

/// Handles per batch in the batched benchmarks.
const BATCH: usize = 1_000;
/// Nodes in the `drop_chain` list.
const CHAIN: usize = 10_000;

/// A tracked node: it may hold a `Gc`, so it has links and sits in the young list.
struct Node {
    value: u64,
    next: RefCell<Option<Gc<Node>>>,
}

// SAFETY: `next` is the only field that can hold a `Gc`, and it is traced exactly once.
unsafe impl Trace for Node {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.next.trace(visitor);
    }
}

impl Node {
    fn new(value: u64, next: Option<Gc<Node>>) -> Node {
        Node { value, next: RefCell::new(next) }
    }
}

/// `Node`'s `Rc` twin, the same size and shape.
struct RcNode {
    value: u64,
    #[allow(dead_code, reason = "never read: it owns the next node, whose drop is measured")]
    next: RefCell<Option<Rc<RcNode>>>,
}

impl RcNode {
    fn new(value: u64, next: Option<Rc<RcNode>>) -> RcNode {
        RcNode { value, next: RefCell::new(next) }
    }
}

fn gc_chain(len: usize) -> Gc<Node> {
    let mut head = Gc::new(Node::new(0, None));
    for i in 1..len as u64 {
        head = Gc::new(Node::new(i, Some(head)));
    }
    head
}

fn rc_chain(len: usize) -> Rc<RcNode> {
    let mut head = Rc::new(RcNode::new(0, None));
    for i in 1..len as u64 {
        head = Rc::new(RcNode::new(i, Some(head)));
    }
    head
}

/// Clone and drop of a handle whose object stays alive (the count never reaches zero).
fn clone_drop(c: &mut Criterion) {
    let mut group = c.benchmark_group("clone_drop");

    let gc_leaf = Gc::new(7u64);
    group.bench_function("gc_leaf", |b| b.iter(|| black_box(&gc_leaf).clone()));
    let rc_leaf = Rc::new(7u64);
    group.bench_function("rc_leaf", |b| b.iter(|| black_box(&rc_leaf).clone()));

    let gc_node = Gc::new(Node::new(7, None));
    group.bench_function("gc_tracked", |b| b.iter(|| black_box(&gc_node).clone()));
    let rc_node = Rc::new(RcNode::new(7, None));
    group.bench_function("rc_tracked", |b| b.iter(|| black_box(&rc_node).clone()));

    group.finish();
}

/// Allocation of a leaf (`u64`) object: one at a time with its free, then a batch of
/// `BATCH` timed separately for allocation (kept alive in a `Vec`) and for freeing.
fn new_leaf(c: &mut Criterion) {
    let mut group = c.benchmark_group("new_leaf");

    group.bench_function("gc_new_drop", |b| b.iter(|| Gc::new(black_box(7u64))));
    group.bench_function("rc_new_drop", |b| b.iter(|| Rc::new(black_box(7u64))));

    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("gc_batch_alloc", |b| {
        b.iter_batched(
            || Vec::with_capacity(BATCH),
            |mut v| {
                for i in 0..BATCH as u64 {
                    v.push(Gc::new(black_box(i)));
                }
                v
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("rc_batch_alloc", |b| {
        b.iter_batched(
            || Vec::with_capacity(BATCH),
            |mut v| {
                for i in 0..BATCH as u64 {
                    v.push(Rc::new(black_box(i)));
                }
                v
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("gc_batch_free", |b| {
        b.iter_batched(|| (0..BATCH as u64).map(Gc::new).collect::<Vec<_>>(), drop, BatchSize::PerIteration);
    });
    group.bench_function("rc_batch_free", |b| {
        b.iter_batched(|| (0..BATCH as u64).map(Rc::new).collect::<Vec<_>>(), drop, BatchSize::PerIteration);
    });

    group.finish();
}

/// Allocation of a tracked object (`Node`, linked into the young list) against `Rc` of a
/// node of the same shape, in the same three forms as `new_leaf`.
fn new_tracked(c: &mut Criterion) {
    let mut group = c.benchmark_group("new_tracked");

    group.bench_function("gc_new_drop", |b| {
        b.iter(|| Gc::new(Node::new(black_box(7), None)));
    });
    group.bench_function("rc_new_drop", |b| {
        b.iter(|| Rc::new(RcNode::new(black_box(7), None)));
    });

    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("gc_batch_alloc", |b| {
        b.iter_batched(
            || Vec::with_capacity(BATCH),
            |mut v| {
                for i in 0..BATCH as u64 {
                    v.push(Gc::new(Node::new(black_box(i), None)));
                }
                v
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("rc_batch_alloc", |b| {
        b.iter_batched(
            || Vec::with_capacity(BATCH),
            |mut v| {
                for i in 0..BATCH as u64 {
                    v.push(Rc::new(RcNode::new(black_box(i), None)));
                }
                v
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("gc_batch_free", |b| {
        b.iter_batched(
            || (0..BATCH as u64).map(|i| Gc::new(Node::new(i, None))).collect::<Vec<_>>(),
            drop,
            BatchSize::PerIteration,
        );
    });
    group.bench_function("rc_batch_free", |b| {
        b.iter_batched(
            || (0..BATCH as u64).map(|i| Rc::new(RcNode::new(i, None))).collect::<Vec<_>>(),
            drop,
            BatchSize::PerIteration,
        );
    });

    group.finish();
}

/// Reading through `BATCH` handles (`Gc` checks one header bit per dereference).
fn deref(c: &mut Criterion) {
    let mut group = c.benchmark_group("deref");
    group.throughput(Throughput::Elements(BATCH as u64));

    let gc_leaves: Vec<Gc<u64>> = (0..BATCH as u64).map(Gc::new).collect();
    group.bench_function("gc_leaf_sum", |b| {
        b.iter(|| black_box(&gc_leaves).iter().map(|h| **h).sum::<u64>());
    });
    let rc_leaves: Vec<Rc<u64>> = (0..BATCH as u64).map(Rc::new).collect();
    group.bench_function("rc_leaf_sum", |b| {
        b.iter(|| black_box(&rc_leaves).iter().map(|h| **h).sum::<u64>());
    });

    let gc_nodes: Vec<Gc<Node>> = (0..BATCH as u64).map(|i| Gc::new(Node::new(i, None))).collect();
    group.bench_function("gc_tracked_sum", |b| {
        b.iter(|| black_box(&gc_nodes).iter().map(|h| h.value).sum::<u64>());
    });
    let rc_nodes: Vec<Rc<RcNode>> = (0..BATCH as u64).map(|i| Rc::new(RcNode::new(i, None))).collect();
    group.bench_function("rc_tracked_sum", |b| {
        b.iter(|| black_box(&rc_nodes).iter().map(|h| h.value).sum::<u64>());
    });

    group.finish();
}

/// A `CHAIN`-node singly linked list: built and dropped, then dropped alone. `Gc` frees it
/// iteratively through its deallocation queue; `Rc` recurses once per node.
fn drop_chain(c: &mut Criterion) {
    let mut group = c.benchmark_group("drop_chain");
    group.throughput(Throughput::Elements(CHAIN as u64));

    group.bench_function("gc_build_drop", |b| b.iter(|| gc_chain(black_box(CHAIN))));
    group.bench_function("rc_build_drop", |b| b.iter(|| rc_chain(black_box(CHAIN))));
    group.bench_function("gc_drop", |b| {
        b.iter_batched(|| gc_chain(CHAIN), drop, BatchSize::PerIteration);
    });
    group.bench_function("rc_drop", |b| {
        b.iter_batched(|| rc_chain(CHAIN), drop, BatchSize::PerIteration);
    });

    group.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2)).sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = clone_drop, new_leaf, new_tracked, deref, drop_chain
}
criterion_main!(benches);
