//! Resident memory stays flat while threads come and go, each leaving garbage cycles: the
//! heap's exit collection frees them and gives the memory back. A test binary of its own, so
//! that no other test allocates while it reads the process's resident size.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use cyclegc::{Gc, Trace};

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
    #[trace(skip)]
    dropped: Arc<AtomicUsize>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

fn two_cycle(dropped: &Arc<AtomicUsize>) -> Gc<Node> {
    let a = Gc::new(Node { next: RefCell::new(None), dropped: dropped.clone() });
    let b = Gc::new(Node { next: RefCell::new(Some(a.clone())), dropped: dropped.clone() });
    *a.next.borrow_mut() = Some(b);
    a
}

/// Fewer objects under valgrind (`CYCLEGC_TEST_SCALE`).
fn scaled(n: usize) -> usize {
    match std::env::var("CYCLEGC_TEST_SCALE").ok().and_then(|s| s.parse::<usize>().ok()) {
        Some(scale) if scale > 0 => (n / scale).max(2),
        _ => n,
    }
}

/// Resident memory in bytes (Linux), for the test below.
fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn resident_memory_stays_flat_while_threads_come_and_go() {
    if cfg!(miri) || resident_bytes().is_none() {
        eprintln!("skipped: resident memory is read from /proc/self/statm");
        return;
    }
    let threads = scaled(1_000).max(50);
    let cycles = scaled(10_000);
    let dropped = Arc::new(AtomicUsize::new(0));
    let spawn_batch = |count: usize| {
        for _ in 0..count {
            let d = dropped.clone();
            let scenario = move || {
                gen_gc::disable();
                for _ in 0..cycles {
                    drop(two_cycle(&d));
                }
            };
            thread::spawn(scenario).join().expect("the thread panicked");
        }
    };
    // Warm up: the allocator's per-thread arenas and the collector's buffers reach their size.
    spawn_batch(20);
    let before = resident_bytes().unwrap();
    spawn_batch(threads);
    let after = resident_bytes().unwrap();
    let grown = after.saturating_sub(before);
    eprintln!("{threads} threads x {cycles} garbage cycles: resident {} KiB -> {} KiB", before / 1024, after / 1024);
    // Without the exit collection every thread would keep its cycles: 2 objects of about
    // 48 bytes each per cycle, for good.
    let kept_if_leaked = threads * cycles * 2 * 48;
    assert!(grown < kept_if_leaked / 20 + (8 << 20), "resident memory grew by {grown} bytes");
    assert_eq!(dropped.load(Ordering::Relaxed), 2 * cycles * (threads + 20));
}
