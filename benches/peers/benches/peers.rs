//! cyclegc against the other Rust cycle collectors (dumpster, rust-cc, gcmodule,
//! bacon-rajan-cc) and `Rc`, on the same workloads.
//!
//! Every library gets the same node, `{ edges: RefCell<Vec<Ptr<Node>>> }`, and its own
//! defaults: automatic collection where the library has it (cyclegc, dumpster, rust-cc),
//! none where it has not (gcmodule, bacon-rajan-cc). Each run ends with the library's
//! explicit collection, so all of its garbage is reclaimed inside the timed part. `Rc` has no
//! collector: it leaks the cycles, and is the floor.
//! cyclegc also runs a second time with automatic collection disabled (`cyclegc (no auto
//! gc)`), collecting only where gcmodule and bacon-rajan-cc do: at the explicit collections.
//!
//! Workloads:
//! - `random_ops`: after dumpster's benchmark, 1,000,000 random operations on a set of
//!   roots: create a node (25%), link two roots (35%), unlink a root's last edge (15%), drop
//!   a root (25%);
//! - after rust-cc-benchmarks' shapes: `binary_trees` (the benchmarks game's, depth 14: no
//!   cycle), `parent_pointers` (binary trees of depth 12 whose children hold their parent:
//!   a cycle per edge), `doubly_linked_list` (100,000 nodes with `next` and `prev`),
//!   `stress` (100,000 nodes with two random edges each).
//!
//! `cargo bench -p peer-bench` (or `cargo xtask bench peers`) prints, per workload, the
//! median time of 5 rounds for each library and its ratio to cyclegc's. Each measurement
//! runs in a process of its own, and the libraries take turns within each round, so the
//! machine's drift touches them alike. `-- --json` prints one JSON object per line instead;
//! `PEERS_ONLY=<name prefix>` runs one library alone.
//!
//! By default cyclegc allocates from its own pools and every other library from the system
//! allocator (glibc's malloc here). With the `mimalloc` feature (`cargo xtask bench peers
//! --mimalloc`) mimalloc is the global allocator of the whole process: every peer and `Rc`
//! allocate from it, and cyclegc's pools take their arenas from it.

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The global allocator every library but cyclegc's pools allocates from.
const ALLOCATOR_NAME: &str = if cfg!(feature = "mimalloc") { "mimalloc" } else { "the system allocator" };

/// What a workload needs of a library.
trait Heap {
    const NAME: &'static str;
    type Ptr: Clone;
    fn node() -> Self::Ptr;
    /// Adds an edge `from -> to`.
    fn push(from: &Self::Ptr, to: &Self::Ptr);
    /// Removes `from`'s last edge.
    fn pop(from: &Self::Ptr);
    /// `from`'s edge `i`.
    fn edge(from: &Self::Ptr, i: usize) -> Option<Self::Ptr>;
    /// The library's explicit collection.
    fn collect();
}

/// A library's node type and its [`Heap`].
macro_rules! heap {
    ($lib:ident, $name:literal, $ptr:ty, $new:expr, $collect:expr) => {
        pub(crate) struct $lib;
        impl Heap for $lib {
            const NAME: &'static str = $name;
            type Ptr = $ptr;
            fn node() -> Self::Ptr {
                $new(Node { edges: RefCell::new(Vec::new()) })
            }
            fn push(from: &Self::Ptr, to: &Self::Ptr) {
                from.edges.borrow_mut().push(to.clone());
            }
            fn pop(from: &Self::Ptr) {
                let edge = from.edges.borrow_mut().pop();
                drop(edge);
            }
            fn edge(from: &Self::Ptr, i: usize) -> Option<Self::Ptr> {
                from.edges.borrow().get(i).cloned()
            }
            fn collect() {
                $collect
            }
        }
    };
}

mod ours {
    use super::*;

    #[derive(cyclegc::Trace)]
    pub(crate) struct Node {
        edges: RefCell<Vec<cyclegc::Gc<Node>>>,
    }

    heap!(Cyclegc, "cyclegc", cyclegc::Gc<Node>, cyclegc::Gc::new, {
        gen_gc::collect();
    });

    /// cyclegc with automatic collection disabled, collecting only at the explicit
    /// collections, as gcmodule and bacon-rajan-cc do.
    pub(crate) const WITHOUT_AUTOMATIC_COLLECTION: &str = "cyclegc (no auto gc)";
}

mod rc {
    use super::*;

    pub(crate) struct Node {
        edges: RefCell<Vec<std::rc::Rc<Node>>>,
    }

    heap!(Rc, "Rc (leaks cycles)", std::rc::Rc<Node>, std::rc::Rc::new, {});
}

mod dumpster_heap {
    use super::*;

    #[derive(dumpster::Trace)]
    pub(crate) struct Node {
        edges: RefCell<Vec<dumpster::unsync::Gc<Node>>>,
    }

    heap!(Dumpster, "dumpster", dumpster::unsync::Gc<Node>, dumpster::unsync::Gc::new, {
        dumpster::unsync::collect();
    });
}

mod rust_cc_heap {
    use super::*;

    #[derive(rust_cc::Trace, rust_cc::Finalize)]
    pub(crate) struct Node {
        edges: RefCell<Vec<rust_cc::Cc<Node>>>,
    }

    heap!(RustCc, "rust-cc", rust_cc::Cc<Node>, rust_cc::Cc::new, {
        rust_cc::collect_cycles();
    });
}

mod gcmodule_heap {
    use super::*;

    pub(crate) struct Node {
        edges: RefCell<Vec<gcmodule::Cc<Node>>>,
    }

    // By hand: gcmodule's derive asks the field types whether they are tracked, which
    // recurses forever on a type that holds itself.
    impl gcmodule::Trace for Node {
        fn trace(&self, tracer: &mut gcmodule::Tracer<'_>) {
            self.edges.trace(tracer);
        }
        fn is_type_tracked() -> bool {
            true
        }
    }

    heap!(Gcmodule, "gcmodule", gcmodule::Cc<Node>, gcmodule::Cc::new, {
        gcmodule::collect_thread_cycles();
    });
}

mod bacon_heap {
    use super::*;

    pub(crate) struct Node {
        edges: RefCell<Vec<bacon_rajan_cc::Cc<Node>>>,
    }

    impl bacon_rajan_cc::Trace for Node {
        fn trace(&self, tracer: &mut bacon_rajan_cc::Tracer<'_>) {
            self.edges.trace(tracer);
        }
    }

    heap!(Bacon, "bacon-rajan-cc", bacon_rajan_cc::Cc<Node>, bacon_rajan_cc::Cc::new, {
        bacon_rajan_cc::collect_cycles();
    });
}

fn random_ops<H: Heap>() {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut roots: Vec<H::Ptr> = Vec::new();
    for _ in 0..1_000_000 {
        let op = rng.u32(0..100);
        if op < 25 || roots.is_empty() {
            roots.push(H::node());
        } else if op < 60 {
            let (a, b) = (rng.usize(..roots.len()), rng.usize(..roots.len()));
            H::push(&roots[a], &roots[b]);
        } else if op < 75 {
            H::pop(&roots[rng.usize(..roots.len())]);
        } else {
            roots.swap_remove(rng.usize(..roots.len()));
        }
    }
    drop(roots);
    H::collect();
}

fn tree<H: Heap>(depth: u32) -> H::Ptr {
    let node = H::node();
    if depth > 0 {
        H::push(&node, &tree::<H>(depth - 1));
        H::push(&node, &tree::<H>(depth - 1));
    }
    node
}

fn check<H: Heap>(node: &H::Ptr) -> usize {
    1 + (0..2).filter_map(|i| H::edge(node, i)).map(|child| check::<H>(&child)).sum::<usize>()
}

fn binary_trees<H: Heap>() {
    const MIN: u32 = 4;
    const MAX: u32 = 14;
    let long_lived = tree::<H>(MAX);
    let mut nodes = 0;
    for depth in (MIN..=MAX).step_by(2) {
        for _ in 0..1 << (MAX - depth + MIN) {
            nodes += check::<H>(&tree::<H>(depth));
        }
    }
    nodes += check::<H>(&long_lived);
    black_box(nodes);
    drop(long_lived);
    H::collect();
}

/// A binary tree whose children hold their parent.
fn tree_with_parents<H: Heap>(depth: u32) -> H::Ptr {
    let node = H::node();
    if depth > 0 {
        for _ in 0..2 {
            let child = tree_with_parents::<H>(depth - 1);
            H::push(&child, &node);
            H::push(&node, &child);
        }
    }
    node
}

fn parent_pointers<H: Heap>() {
    for _ in 0..20 {
        black_box(tree_with_parents::<H>(12));
        H::collect();
    }
}

fn doubly_linked_list<H: Heap>() {
    for _ in 0..10 {
        let head = H::node();
        let mut last = head.clone();
        for _ in 1..100_000 {
            let next = H::node();
            H::push(&last, &next);
            H::push(&next, &last);
            last = next;
        }
        drop((head, last));
        H::collect();
    }
}

fn stress<H: Heap>() {
    let mut rng = fastrand::Rng::with_seed(11);
    for _ in 0..5 {
        let nodes: Vec<H::Ptr> = (0..100_000).map(|_| H::node()).collect();
        for node in &nodes {
            for _ in 0..2 {
                H::push(node, &nodes[rng.usize(..nodes.len())]);
            }
        }
        drop(nodes);
        H::collect();
    }
}

const ROUNDS: usize = 5;

type Workload = fn();

/// Every library's entry point for one workload, cyclegc's first.
type Entries = [(&'static str, Workload); 7];

/// A workload's name and how to get its [`Entries`].
type Named = (&'static str, fn() -> Entries);

/// The [`Entries`] of a workload.
macro_rules! for_every_library {
    ($workload:ident) => {
        [
            (ours::Cyclegc::NAME, $workload::<ours::Cyclegc> as Workload),
            (ours::WITHOUT_AUTOMATIC_COLLECTION, $workload::<ours::Cyclegc>),
            (dumpster_heap::Dumpster::NAME, $workload::<dumpster_heap::Dumpster>),
            (rust_cc_heap::RustCc::NAME, $workload::<rust_cc_heap::RustCc>),
            (gcmodule_heap::Gcmodule::NAME, $workload::<gcmodule_heap::Gcmodule>),
            (bacon_heap::Bacon::NAME, $workload::<bacon_heap::Bacon>),
            (rc::Rc::NAME, $workload::<rc::Rc>),
        ]
    };
}

fn workloads() -> [Named; 5] {
    [
        ("random_ops", || for_every_library!(random_ops)),
        ("binary_trees", || for_every_library!(binary_trees)),
        ("parent_pointers", || for_every_library!(parent_pointers)),
        ("doubly_linked_list", || for_every_library!(doubly_linked_list)),
        ("stress", || for_every_library!(stress)),
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|arg| arg == "--one") {
        Some(at) => measure_one(&args[at + 1], &args[at + 2]),
        None => compare(args.iter().any(|arg| arg == "--json")),
    }
}

/// Runs one workload of one library once, in this process, and prints its time in
/// nanoseconds.
fn measure_one(workload: &str, library: &str) {
    let (_, entries) = workloads().into_iter().find(|(name, _)| *name == workload).expect("a known workload");
    let (_, run) = entries().into_iter().find(|(name, _)| *name == library).expect("a known library");
    // dumpster and bacon-rajan-cc recurse once per node when they collect a long chain, and
    // overflow the main thread's 8 MiB stack on the 100,000-node list: every library runs on
    // a thread with a stack large enough for all of them.
    let automatic_collection = library != ours::WITHOUT_AUTOMATIC_COLLECTION;
    let runner = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(move || {
            if !automatic_collection {
                gen_gc::disable();
            }
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .expect("a thread for the benchmark");
    println!("{}", runner.join().expect("the benchmark ran").as_nanos());
}

/// Each measurement runs in a process of its own, so that no library inherits another's
/// heap (`Rc` leaks hundreds of megabytes over the workloads, which slows every allocator
/// that comes after it); the libraries take turns within each round.
fn compare(json: bool) {
    let exe = std::env::current_exe().expect("this benchmark's path");
    let only = std::env::var("PEERS_ONLY").ok();
    if !json {
        println!("global allocator: {ALLOCATOR_NAME}; medians of {ROUNDS} rounds, libraries alternating");
        println!("{:<20} {:<20} {:>12} {:>16}", "workload", "library", "median ms", "time / cyclegc");
    }
    for (workload, entries) in workloads() {
        let libraries: Vec<&str> = entries().iter().map(|(name, _)| *name).collect();
        let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); libraries.len()];
        for _ in 0..ROUNDS {
            for (i, library) in libraries.iter().enumerate() {
                if only.as_deref().is_some_and(|only| !library.starts_with(only)) {
                    samples[i].push(Duration::ZERO);
                    continue;
                }
                let output = std::process::Command::new(&exe)
                    .args(["--one", workload, library])
                    .output()
                    .expect("the benchmark runs itself");
                assert!(output.status.success(), "{library} on {workload} failed: {output:?}");
                let nanos: u64 = String::from_utf8_lossy(&output.stdout).trim().parse().expect("a time");
                samples[i].push(Duration::from_nanos(nanos));
            }
        }
        let medians: Vec<f64> = samples
            .iter_mut()
            .map(|times| {
                times.sort();
                times[times.len() / 2].as_secs_f64() * 1e3
            })
            .collect();
        for (library, ms) in libraries.iter().zip(&medians) {
            let ratio = ms / medians[0];
            if json {
                println!(
                    "{{\"workload\": \"{workload}\", \"library\": \"{library}\", \"allocator\": \"{ALLOCATOR_NAME}\", \"ms\": {ms:.3}, \"ratio\": {ratio:.3}}}"
                );
            } else {
                println!("{workload:<20} {library:<20} {ms:>12.2} {ratio:>16.2}");
            }
        }
    }
}
