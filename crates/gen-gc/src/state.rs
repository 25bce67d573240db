//! The collector's per-thread state: thresholds, counts, flags, statistics, `garbage`,
//! callbacks and the debug writer.
//!
//! Everything is in `Cell`s or short `RefCell` borrows, never held across user code:
//! finalizers, weak callbacks, `Drop`s and collection callbacks may call back into this
//! module (a `collect` from inside a collection returns 0).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::Write;
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::time::Duration;

use rc_heap::GcAny;
use rc_heap::raw::EdgeList;

use crate::debug::{DebugFlags, describe_panic};

/// Python's three generations.
pub const NUM_GENERATIONS: usize = 3;
/// The rc-heap list that holds frozen objects (Python's permanent generation).
pub(crate) const PERMANENT: usize = 3;
/// The rc-heap list that holds, under the incremental policy, the objects the young
/// generation promoted during the current pass over the old generation.
pub(crate) const NEWCOMERS: usize = 4;
/// The rc-heap list that holds, under the incremental policy, the young generation's
/// survivors not yet collected again: every `threshold1` increments they are, as the
/// generational policy's middle generation is, and the survivors join the newcomers.
pub(crate) const RECENT: usize = 5;
/// Every rc-heap list the collector uses, in `get_objects()` order.
pub(crate) const ALL_LISTS: [usize; 6] = [0, 1, 2, NEWCOMERS, RECENT, PERMANENT];

/// The rc-heap lists that hold Python's `generation` under `policy`: the incremental policy
/// has no middle generation, and its old one is every list but the young one's.
pub(crate) fn generation_lists(generation: usize, policy: CollectionPolicy) -> &'static [usize] {
    match (generation, policy) {
        (1, CollectionPolicy::Incremental) => &[],
        (2, CollectionPolicy::Incremental) => &[1, 2, NEWCOMERS, RECENT],
        (0, _) => &[0],
        (1, _) => &[1],
        _ => &[2],
    }
}

/// Which finalizer semantics a collection follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FinalizerPolicy {
    /// Python 3.4+ (PEP 442): finalizers run once, cycles with finalizers are collected.
    #[default]
    Pep442,
    /// Python 2.7, the article's: a cycle containing an object with a finalizer is
    /// uncollectable. It and everything it reaches stay alive in [`garbage`](crate::garbage)
    /// until the program breaks the cycle by hand.
    Legacy,
}

/// How automatic collection treats the old generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CollectionPolicy {
    /// CPython 3.14's idea, the default: each automatic collection takes the young
    /// generation and an increment of the old one, so that no automatic collection walks the
    /// whole heap. See the crate documentation for what the counts, thresholds and
    /// statistics mean then.
    #[default]
    Incremental,
    /// CPython 3.11's exact policy: three generations, a full collection when the objects
    /// promoted since the last one exceed 25% of the long-lived ones.
    Generational,
}

impl CollectionPolicy {
    /// The policy named by the `CYCLEGC_COLLECTION_POLICY` environment variable
    /// (`incremental` or `generational`, in any case), read once per process; the default
    /// otherwise. Another value is reported once on standard error, and the default applies:
    /// the variable is read where the collector is first used on a thread, which may be any
    /// allocation, no place for a panic.
    pub fn from_environment() -> CollectionPolicy {
        static POLICY: std::sync::OnceLock<CollectionPolicy> = std::sync::OnceLock::new();
        *POLICY.get_or_init(|| {
            let value = std::env::var("CYCLEGC_COLLECTION_POLICY").unwrap_or_default();
            match value.trim().to_ascii_lowercase().as_str() {
                "" => CollectionPolicy::default(),
                "incremental" => CollectionPolicy::Incremental,
                "generational" => CollectionPolicy::Generational,
                _ => {
                    eprintln!(
                        "gc: CYCLEGC_COLLECTION_POLICY={value:?} is not \"incremental\" or \"generational\"; \
                         using the default, incremental"
                    );
                    CollectionPolicy::default()
                }
            }
        })
    }
}

/// Per-generation statistics (Python's `gc.get_stats()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenerationStats {
    /// Collections of this generation.
    pub collections: usize,
    /// Objects collected by them.
    pub collected: usize,
    /// Objects found uncollectable by them.
    pub uncollectable: usize,
}

/// When a collection callback is called. Displays as Python's phase strings, `start` and
/// `stop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Before the collection.
    Start,
    /// After the collection.
    Stop,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Start => "start",
            Phase::Stop => "stop",
        })
    }
}

/// What a collection callback is told (Python's `info` dict, plus duration and candidates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CallbackInfo {
    /// The generation collected.
    pub generation: usize,
    /// Objects collected (0 at `Start`).
    pub collected: usize,
    /// Objects found uncollectable (0 at `Start`).
    pub uncollectable: usize,
    /// How long the collection took (zero at `Start`).
    pub duration: Duration,
    /// How many objects the collection examined (0 at `Start`).
    pub candidates: usize,
}

/// A registered callback's handle, for [`remove_callback`](crate::remove_callback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

pub(crate) type Callback = Rc<dyn Fn(Phase, &CallbackInfo)>;

pub(crate) struct State {
    pub(crate) enabled: Cell<bool>,
    pub(crate) thresholds: Cell<[usize; NUM_GENERATIONS]>,
    /// Counts of generations 1 and 2 (generation 0's count is rc-heap's young count). In
    /// incremental collection: the increments of the current pass, and the passes completed
    /// since the last full collection.
    pub(crate) older_counts: Cell<[usize; NUM_GENERATIONS]>,
    pub(crate) collecting: Cell<bool>,
    pub(crate) debug: Cell<DebugFlags>,
    pub(crate) policy: Cell<FinalizerPolicy>,
    pub(crate) collection_policy: Cell<CollectionPolicy>,
    /// Incremental collection: which old space (0 or 1) holds the objects already examined
    /// in the current pass; the other holds those still pending.
    pub(crate) visited_space: Cell<usize>,
    /// Incremental collection: old objects owed to the next increments, four for each object
    /// the old generation grew by during the pass; negative after an increment took more
    /// than its share.
    pub(crate) old_work_credit: Cell<isize>,
    /// Incremental collection: the old generation's size, estimated from what the young
    /// generation promoted and what died outside it (the young count and `rc_heap::raw::take_uncounted_deaths`), set
    /// exactly by full collections and policy switches.
    pub(crate) old_size: Cell<usize>,
    /// Incremental collection: `old_size` when the current pass started.
    pub(crate) pass_start_size: Cell<usize>,
    /// Incremental collection: the most the old generation has grown by since the pass
    /// started, which the credit has already paid for.
    pub(crate) pass_growth_paid: Cell<usize>,
    /// Incremental collection: old objects the pass owes for that growth, not yet given to
    /// the increments (which get at most a hundredth of the old generation each).
    pub(crate) growth_owed: Cell<usize>,
    /// Incremental collection: increments between collections of the young generation's
    /// recent survivors: `threshold1` after one that found garbage, twice as many (up to
    /// `threshold1 * threshold2`) after one that found none.
    pub(crate) recent_interval: Cell<usize>,
    /// Incremental collection: increments left until the recent survivors are collected.
    pub(crate) recent_countdown: Cell<usize>,
    /// Whether the marking walk of the next collection of the young generation alone (0), or
    /// of the next full one (1), goes from the list's end: what the edges of the previous one
    /// pointed to, objects before their referrers or after.
    pub(crate) marking_backwards: Cell<[bool; 2]>,
    pub(crate) long_lived_total: Cell<usize>,
    pub(crate) long_lived_pending: Cell<usize>,
    pub(crate) stats: Cell<[GenerationStats; NUM_GENERATIONS]>,
    pub(crate) garbage: RefCell<Vec<GcAny>>,
    pub(crate) callbacks: RefCell<Vec<(CallbackId, Callback)>>,
    /// Set once the thread's exit collections begin: no collection callback is called from
    /// then on, not even one a finalizer registers during them.
    pub(crate) exiting: Cell<bool>,
    next_callback: Cell<u64>,
    writer: RefCell<Option<Box<dyn Write>>>,
    /// Lines kept for later while the lists hold counts instead of links: the writer (and a
    /// `tracing` subscriber) is user code, which may drop or create objects.
    deferred: RefCell<Option<Vec<String>>>,
    /// Debug lines handed to user code (the writer, a `tracing` subscriber), ever: a
    /// collection that wrote some while its garbage was held recounts it, as the code may
    /// have upgraded a weak reference to it.
    user_lines: Cell<u64>,
    /// The list the walks trace values into, kept from one collection to the next with the
    /// room its largest value needed: a value with a million edges (a cache's map) is then
    /// traced once per walk, not once more in the first walk of each collection to make
    /// that room again.
    edges: Cell<EdgeList>,
}

/// CPython's default thresholds.
pub(crate) const DEFAULT_THRESHOLDS: [usize; NUM_GENERATIONS] = [700, 10, 10];

impl State {
    const fn new() -> Self {
        State {
            enabled: Cell::new(true),
            thresholds: Cell::new(DEFAULT_THRESHOLDS),
            older_counts: Cell::new([0; NUM_GENERATIONS]),
            collecting: Cell::new(false),
            debug: Cell::new(DebugFlags::empty()),
            policy: Cell::new(FinalizerPolicy::Pep442),
            // Read from the environment when the thread first uses the collector.
            collection_policy: Cell::new(CollectionPolicy::Incremental),
            // The heap starts empty: both spaces are, and space 0 (list 2) is the pending one.
            visited_space: Cell::new(1),
            old_work_credit: Cell::new(0),
            old_size: Cell::new(0),
            pass_start_size: Cell::new(0),
            pass_growth_paid: Cell::new(0),
            growth_owed: Cell::new(0),
            recent_interval: Cell::new(DEFAULT_THRESHOLDS[1]),
            recent_countdown: Cell::new(DEFAULT_THRESHOLDS[1]),
            marking_backwards: Cell::new([false; 2]),
            long_lived_total: Cell::new(0),
            long_lived_pending: Cell::new(0),
            stats: Cell::new([GenerationStats { collections: 0, collected: 0, uncollectable: 0 }; NUM_GENERATIONS]),
            garbage: RefCell::new(Vec::new()),
            callbacks: RefCell::new(Vec::new()),
            exiting: Cell::new(false),
            next_callback: Cell::new(0),
            writer: RefCell::new(None),
            deferred: RefCell::new(None),
            user_lines: Cell::new(0),
            edges: Cell::new(EdgeList::new()),
        }
    }

    /// The walks' list of edges, with the room it has, for one collection (a nested one
    /// gets an empty list).
    pub(crate) fn take_edges(&self) -> EdgeList {
        self.edges.take()
    }

    /// Keeps `edges` for the next collection; once the thread is exiting, frees it (the
    /// state has no destructor, and its memory would outlive the thread).
    pub(crate) fn keep_edges(&self, mut edges: EdgeList) {
        if self.exiting.get() {
            return;
        }
        edges.clear();
        self.edges.set(edges);
    }

    /// Generation counts, generation 0's read from the heap.
    pub(crate) fn counts(&self) -> [usize; NUM_GENERATIONS] {
        let mut counts = self.older_counts.get();
        counts[0] = rc_heap::raw::young_count();
        counts
    }

    /// Tells the heap when allocation should call the collector.
    pub(crate) fn update_young_limit(&self) {
        let threshold = self.thresholds.get()[0];
        let limit = if self.enabled.get() && threshold > 0 { threshold.saturating_add(1) } else { usize::MAX };
        rc_heap::raw::set_young_limit(limit);
    }

    pub(crate) fn add_callback(&self, callback: Callback) -> CallbackId {
        let id = CallbackId(self.next_callback.get());
        self.next_callback.set(id.0 + 1);
        // The list's memory goes back at thread exit, with the exit collection's.
        rc_heap::raw::keep_exit_passes();
        self.callbacks.borrow_mut().push((id, callback));
        id
    }

    /// Writes one debug line to the configured writer (stderr by default).
    ///
    /// The writer and a `tracing` subscriber are user code, called in the middle of a
    /// collection: one that panics is caught here, so that the collection can finish; the
    /// writer is then dropped and debug output goes to stderr.
    /// How many debug lines went to user code so far (see `user_lines`).
    pub(crate) fn user_lines(&self) -> u64 {
        self.user_lines.get()
    }

    pub(crate) fn debug_line(&self, line: std::fmt::Arguments<'_>) {
        if let Some(deferred) = self.deferred.borrow_mut().as_mut() {
            deferred.push(line.to_string());
            return;
        }
        #[cfg(feature = "tracing")]
        self.user_lines.set(self.user_lines.get() + 1);
        #[cfg(feature = "tracing")]
        if let Err(panic) = std::panic::catch_unwind(|| tracing::debug!(target: "gen_gc", "{}", line)) {
            eprintln!("gen_gc: a tracing subscriber panicked on a debug line: {line}");
            rc_heap::raw::drop_panic(panic);
        }
        let Ok(mut writer) = self.writer.try_borrow_mut() else {
            // The writer itself asked for a debug line (it ran a collection): stderr it is.
            to_stderr(line);
            return;
        };
        let Some(user) = writer.as_mut() else {
            to_stderr(line);
            return;
        };
        self.user_lines.set(self.user_lines.get() + 1);
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(writeln!(user, "{line}"))));
        if let Err(panic) = written {
            let dropped = writer.take();
            drop(writer);
            eprintln!(
                "gen_gc: the debug writer panicked ({}); debug output goes to stderr from now on: {line}",
                describe_panic(&panic)
            );
            rc_heap::raw::drop_panic(panic);
            // Dropping it is user code too.
            if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(dropped))) {
                eprintln!("gen_gc: and dropping the debug writer panicked");
                rc_heap::raw::drop_panic(panic);
            }
        }
    }

    /// Keeps debug lines until the returned guard is dropped, then writes them: for the
    /// walks during which the lists hold counts instead of links.
    pub(crate) fn defer_debug_lines(&self) -> DeferredLines<'_> {
        *self.deferred.borrow_mut() = Some(Vec::new());
        DeferredLines(self)
    }

    pub(crate) fn set_writer(&self, writer: Option<Box<dyn Write>>) {
        // The writer is dropped at thread exit, with the exit collection.
        rc_heap::raw::keep_exit_passes();
        // The old writer is dropped after the borrow ends: its drop may run user code.
        let Ok(mut current) = self.writer.try_borrow_mut() else {
            panic!(
                "gen_gc::set_debug_output was called from the debug writer while it writes a line; \
                 change the writer outside its own `write`"
            )
        };
        let old = std::mem::replace(&mut *current, writer);
        drop(current);
        drop(old);
    }

    /// Takes the debug writer out, for the thread's exit to drop.
    pub(crate) fn take_writer(&self) -> Option<Box<dyn Write>> {
        self.writer.borrow_mut().take()
    }
}

/// A debug line to standard error through `eprintln!`, which a test harness captures (the
/// line shows with its test's output, when that test fails or runs with `--nocapture`, not in
/// the middle of other tests' output), as it does not capture writes to `std::io::stderr()`.
/// `eprintln!` panics when stderr cannot be written; a lost debug line is no reason to stop a
/// collection.
fn to_stderr(line: std::fmt::Arguments<'_>) {
    if let Err(panic) = std::panic::catch_unwind(|| eprintln!("{line}")) {
        rc_heap::raw::drop_panic(panic);
    }
}

thread_local! {
    // `const` and never destroyed: the heap's exit passes run after the thread's other
    // thread-local destructors and still collect with it. What it owns (garbage, callbacks,
    // the debug writer) is released by the exit collection (`crate::exit`).
    static STATE: ManuallyDrop<State> = const { ManuallyDrop::new(State::new()) };
}

/// Runs `f` on this thread's collector state. Always `Some`: the state outlives every other
/// thread-local.
pub(crate) fn try_with_state<R>(f: impl FnOnce(&State) -> R) -> Option<R> {
    Some(with_state(f))
}

/// Runs `f` on this thread's collector state. It does not register the collector with the
/// heap: public entry points use `install::with_installed_state`.
pub(crate) fn with_state<R>(f: impl FnOnce(&State) -> R) -> R {
    STATE.with(|state| {
        ensure_thread_set_up(state);
        f(state)
    })
}

thread_local!(static SET_UP: Cell<bool> = const { Cell::new(false) });

fn ensure_thread_set_up(state: &State) {
    if !SET_UP.with(|set_up| set_up.replace(true)) {
        state.collection_policy.set(CollectionPolicy::from_environment());
        state.update_young_limit();
    }
}

/// Writes the debug lines kept by [`State::defer_debug_lines`] when dropped.
pub(crate) struct DeferredLines<'a>(&'a State);

impl Drop for DeferredLines<'_> {
    fn drop(&mut self) {
        let lines = self.0.deferred.borrow_mut().take();
        for line in lines.into_iter().flatten() {
            self.0.debug_line(format_args!("{line}"));
        }
    }
}
