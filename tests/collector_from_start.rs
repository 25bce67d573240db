//! A program that names only `Gc` and the derive, and never calls `gen_gc`, has the cycle
//! collector from its start, as a Python program has: its garbage cycles are freed by
//! automatic collection, and its threads' by their exit collection.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use cyclegc::{Gc, Trace};

/// Nodes dropped, on every thread.
static DROPPED: AtomicUsize = AtomicUsize::new(0);

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Makes `cycles` garbage 2-cycles and returns how many of their nodes were dropped.
fn make_garbage_cycles(cycles: usize) -> usize {
    let before = DROPPED.load(Ordering::Relaxed);
    for _ in 0..cycles {
        let a = Gc::new(Node { next: RefCell::new(None) });
        let b = Gc::new(Node { next: RefCell::new(Some(a.clone())) });
        *a.next.borrow_mut() = Some(b);
    }
    DROPPED.load(Ordering::Relaxed) - before
}

const CYCLES: usize = if cfg!(miri) { 2_000 } else { 100_000 };

#[test]
fn garbage_cycles_are_freed_with_no_gen_gc_call() {
    assert!(
        cyclegc::rc_heap::raw::collect_hook_installed(),
        "the collector is not registered with the heap before the program's first gen_gc call"
    );
    let dropped = make_garbage_cycles(CYCLES);
    // Automatic collection runs every 700 allocations; what the last ones made may wait.
    assert!(dropped >= 2 * CYCLES - 2_000, "only {dropped} of {} nodes were freed", 2 * CYCLES);
    // A thread that makes too few objects for an automatic collection has its cycles freed
    // at its exit.
    let before = DROPPED.load(Ordering::Relaxed);
    let freed_while_running = std::thread::spawn(|| make_garbage_cycles(100)).join().unwrap();
    assert_eq!(freed_while_running, 0, "200 allocations started an automatic collection");
    assert_eq!(DROPPED.load(Ordering::Relaxed) - before, 200, "the thread's exit left its cycles");
}
