//! Pauses of automatic collection under a large live heap.
//!
//! A program builds an old generation of 10^6 or 10^7 live objects (a chain built backwards,
//! held by its last node, a random binary tree built from its leaves up, held by its root,
//! or a cache: a `HashMap` of entries each holding one more object), then keeps allocating: a churn of short-lived objects, one in ten of them a
//! self-cycle that only the collector frees. Automatic collection stays on throughout, and a
//! collection callback records how long each collection took. Printed per heap: the longest
//! pause, the 99th percentile, the collector's total time and the program's wall time, as
//! `xtask/bench/pauses.py` prints them for CPython (`gc.callbacks`), under each collection
//! policy (incremental, then generational, in the same run).
//!
//! Each pause is measured twice: in wall-clock time (what the program waits, as
//! `gc.callbacks` with `perf_counter` measures it) and in the thread's CPU time (Python's
//! `thread_time`), which leaves out the time the thread was not running: on a machine
//! shared with other work, the scheduler's preemptions (4 ms ticks here) otherwise land in
//! whichever collections they interrupt.
//!
//! `cargo bench -p gen-gc --bench pauses` prints a table; `-- --json` prints one JSON object
//! per line for `cargo xtask bench pauses`; `-- --sizes 1e6` runs the smaller heaps only.

#![allow(unsafe_code, reason = "reads the thread's CPU time through libc")]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use gen_gc::{CollectionPolicy, Phase};
use shapes::{backward_chain, node, random_tree};

#[path = "common/shapes.rs"]
mod shapes;

fn chain_of(n: usize) -> Box<dyn std::any::Any> {
    Box::new(backward_chain(n))
}

fn tree_of(n: usize) -> Box<dyn std::any::Any> {
    Box::new(random_tree(n))
}

/// A cache: one object whose `HashMap` holds `n / 2` entries, each holding one more object,
/// filled the way a program caches what it returns (the entry made, a clone stored, the
/// handle dropped). The map reports its entries in hash order, all over memory.
#[derive(cyclegc::Trace)]
struct Cache {
    entries: RefCell<std::collections::HashMap<u64, cyclegc::Gc<shapes::Node>>>,
}

fn cache_of(n: usize) -> Box<dyn std::any::Any> {
    let cache = cyclegc::Gc::new(Cache { entries: RefCell::new(std::collections::HashMap::new()) });
    for key in 0..(n / 2) as u64 {
        let entry = node();
        *entry.next.borrow_mut() = Some(node());
        cache.entries.borrow_mut().insert(key, entry.clone());
    }
    Box::new(cache)
}

/// Makes an old generation of about the given size and returns what holds it.
type Build = fn(usize) -> Box<dyn std::any::Any>;

/// Short-lived objects made after the old generation: one in ten is a self-cycle.
const CHURN: usize = 3_000_000;

fn churn() {
    for i in 0..CHURN {
        let object = node();
        if i % 10 == 0 {
            *object.next.borrow_mut() = Some(object.clone());
        }
    }
}

/// The thread's CPU time.
fn thread_time() -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid `timespec` to write to; the clock exists on Linux.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// The longest and the 99th percentile of `pauses`, sorted in place.
fn worst(pauses: &mut [Duration]) -> (Duration, Duration) {
    pauses.sort();
    let max = pauses.last().copied().unwrap_or_default();
    (max, pauses.get(pauses.len() * 99 / 100).copied().unwrap_or_default())
}

struct Pauses {
    max: Duration,
    p99: Duration,
    max_cpu: Duration,
    p99_cpu: Duration,
    total: Duration,
    wall: Duration,
    collections: usize,
}

fn run(build: impl FnOnce() -> Box<dyn std::any::Any>) -> Pauses {
    let pauses = Rc::new(RefCell::new(Vec::new()));
    let cpu_pauses = Rc::new(RefCell::new(Vec::new()));
    let (record, record_cpu) = (pauses.clone(), cpu_pauses.clone());
    let started = Cell::new(Duration::ZERO);
    let callback = gen_gc::add_callback(move |phase, info| match phase {
        Phase::Start => started.set(thread_time()),
        Phase::Stop => {
            record_cpu.borrow_mut().push(thread_time() - started.get());
            record.borrow_mut().push(info.duration);
        }
    });
    gen_gc::enable();
    let start = Instant::now();
    let old = build();
    churn();
    let wall = start.elapsed();
    gen_gc::disable();
    gen_gc::remove_callback(callback);
    drop(old);
    gen_gc::collect();
    let mut pauses = pauses.take();
    let collections = pauses.len();
    let (max, p99) = worst(&mut pauses);
    let (max_cpu, p99_cpu) = worst(&mut cpu_pauses.take());
    Pauses { max, p99, max_cpu, p99_cpu, total: pauses.iter().sum(), wall, collections }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json = args.iter().any(|a| a == "--json");
    let sizes: Vec<usize> = match args.iter().position(|a| a == "--sizes") {
        Some(i) => args[i + 1].split(',').map(|s| s.parse::<f64>().expect("a size such as 1e6") as usize).collect(),
        None => vec![1_000_000, 10_000_000],
    };
    gen_gc::disable();
    gen_gc::collect();
    for size in sizes {
        let exponent = (size as f64).log10().round();
        let shapes: [(&str, Build); 3] =
            [("backward_chain", chain_of), ("random_tree", tree_of), ("hashed_cache", cache_of)];
        for ((shape, build), policy) in shapes
            .into_iter()
            .flat_map(|shape| [CollectionPolicy::Incremental, CollectionPolicy::Generational].map(|p| (shape, p)))
        {
            let name = format!("{shape}_1e{exponent}");
            gen_gc::set_collection_policy(policy);
            let p = run(|| build(size));
            let incremental = u8::from(policy == CollectionPolicy::Incremental);
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            if json {
                println!(
                    "{{\"shape\": \"{name}\", \"incremental\": {incremental}, \"max_ms\": {:.3}, \"p99_ms\": {:.3}, \"max_cpu_ms\": {:.3}, \"p99_cpu_ms\": {:.3}, \"total_ms\": {:.1}, \"wall_ms\": {:.1}, \"collections\": {}}}",
                    ms(p.max),
                    ms(p.p99),
                    ms(p.max_cpu),
                    ms(p.p99_cpu),
                    ms(p.total),
                    ms(p.wall),
                    p.collections
                );
            } else {
                println!(
                    "{name:<20} {policy:<12?} max {:>9.3} ms  p99 {:>7.3} ms  (CPU time: max {:>9.3} ms  p99 {:>7.3} ms)  collector {:>8.1} ms  wall {:>8.1} ms  ({} collections)",
                    ms(p.max),
                    ms(p.p99),
                    ms(p.max_cpu),
                    ms(p.p99_cpu),
                    ms(p.total),
                    ms(p.wall),
                    p.collections
                );
            }
        }
    }
}
