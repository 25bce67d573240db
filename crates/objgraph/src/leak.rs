//! Leak checks: run a scenario again and again, and report what grows every time, who holds
//! it, what it keeps alive and where it was created (memlab's workflow, on this heap). The
//! rules are documented on [`LeakCheck`]; this is how the check tells new objects from old.
//!
//! Not by address (addresses are reused), and without giving every object an id (an id costs
//! a side-table entry per object, kept until it dies): after the baseline's full collection
//! every survivor is in the oldest generation, so an object later found in a younger one was
//! created since. The check records the young generations whenever an object could leave
//! them without dying — at the start of every collection, through a collection callback —
//! and once after the last run. Two live objects never share an
//! address, so an object alive at the end is new exactly when its address was recorded.
//! The cost follows what the scenario creates, not the size of the heap.

mod groups;
mod report;

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::Rc;

use gen_gc::{CallbackId, NUM_GENERATIONS, Phase};
use rc_heap::TypeInfo;
use rustc_hash::{FxHashMap, FxHashSet};

pub use report::{ChainRoot, DeadWeakRefs, LeakGroup, LeakReport, TypeGrowth};

/// A leak check: runs a scenario repeatedly and reports what grew in every run.
///
/// [`LeakCheck::run`] calls the scenario `warmup` times, then `runs` more times (the measured
/// runs), with a full collection (`gen_gc::collect()`) after each call, and counts the
/// objects of each type after the warm-up (the baseline) and after every measured run: the
/// tracked objects, and the untracked ones they hold. A type that holds no `Gc` is a leaf
/// the heap does not track (unless it has `#[trace(tracked)]`); its objects are counted
/// through the tracked objects that hold them, each once, so that a leak of them is still a
/// leak ([`TypeGrowth::tracked`] is `false`), but they have no group or chain: put
/// `#[trace(tracked)]` on the type for those. A leaf held only from outside the heap (a
/// `Vec<Gc<String>>` in a static) is not seen at all.
///
/// **The rule.** A type leaks when its count grew in *every* measured run, by at least one
/// object each time. A cache that fills once, a table built on first use, a pool that
/// reaches its size: each grows in one run and then stays, so it is not a leak, whether that
/// run is a warm-up run or a measured one. With `warmup(0)` the first measured run sees the
/// one-off fill and the others see no growth, so the fill is still not reported; a warm-up
/// run keeps it out of the baseline and out of the leaked objects. One measured run cannot
/// tell a fill from a leak, so a check makes at least two. The rule has a blind side: a leak
/// on only some runs (every other request takes the leaking path: `+1 +0 +1 +0`) is listed
/// with the types that grew but not in every run, not as a leak, however many runs are
/// made; a scenario meant to catch it does every path in each run.
///
/// **Leaked objects** are found by where they are held. The objects of a leaking type are
/// grouped by their chain (below), and a group leaks when it holds more of them at the end
/// than after the first measured run: a bounded cache holding its newest entries, or a slot
/// whose object each run replaces (a "current request"), holds as many as before, so its new
/// objects are not reported. A leaking group's leaked objects are those created after the
/// baseline and alive at the end; when the group grew by more than those (an LRU cache's
/// evicted entries, created before the baseline, moved each run to a list never trimmed),
/// as many of its older objects as it grew by beyond them. Its growth in the first run is
/// its type's, shared among the type's leaking groups as they grew after it. An old object
/// that a finalizer resurrects during the runs counts as new, as if the run had created it
/// again. A leaking type none of whose groups grew (its chains read differently from one run
/// to the next) is reported by its new objects.
///
/// **Weak references to dead objects.** A `Weak` is not an object of the heap, so no type
/// grows when a list of them is never pruned (listeners long gone, each `Weak` keeping its
/// weak reference's memory). The check counts the weak handles tracked objects hold whose
/// objects died, as objgraph counts `weakref` objects; when they grow in every measured run
/// the report is not clean, and says which types hold them
/// ([`LeakReport::dead_weak`]). A weak container's entries whose objects died are not
/// counted: the container removes them at its next operation. Handles held outside the heap
/// (a local `Vec<Weak<T>>`) are not seen, as leaves held there are not.
///
/// **Groups.** Leaked objects are grouped by the shape of their shortest chain from a root:
/// the types along it and the fields that hold the next object, indices and map keys
/// written `[*]`, so that a thousand requests in one list are one group. The chain starts at
/// a root: an object held from outside the heap (a local, a static, a thread-local, or an
/// owner no `Trace` visits: a skipped field, a shared `Rc`), shown
/// by its type, or an object named with [`name_root`](crate::name_root), shown by its name
/// (`_cache -> Cache.items[*] -> Obj`). Among shortest chains, one from a named root wins,
/// then the one that reads first alphabetically, so the text does not depend on hash-map
/// order. A step from an object to another of its type (a linked list, `Node.next -> Node.next
/// -> ...`) is written once, with `+` (taken once or more) or `*` (also not at all, for the
/// list's first node): the new objects of one list or tree are one group. Each group has its count, its retained size (the bytes freed if its
/// objects were gone, from the dominator tree: see [`Dominators`](crate::Dominators)), a few
/// example objects, and with the `alloc-site` feature the places its objects were created.
///
/// **What a scenario should leave alone.** The check finds new objects through a collection
/// callback of its own: a scenario that clears the callbacks (`gen_gc::clear_callbacks`)
/// removes it, and its leaked objects then go unlisted, and one that freezes the heap
/// (`gen_gc::freeze`) makes every frozen object look new. Collections, policies and debug
/// flags are the scenario's to change.
///
/// **Panics.** A scenario that panics stops the check: the panic goes on to the caller with
/// its own payload, after a line on standard error that says which run panicked. The check
/// keeps its state in locals only, so nothing is left behind: its collection callback is
/// removed while the panic unwinds, and the heap is as the scenario left it.
///
/// **Cost.** Each run costs a full collection and a count of the tracked objects (with a
/// trace of each, to find the leaves they hold). Telling new
/// objects from old costs in proportion to what the scenario creates, not to the heap, so a
/// million unrelated live objects cost only those counts and collections until something
/// grows; a type that grows in the first measured run costs a snapshot of the heap then
/// (the chains of its objects), and a leak one more at the end for the chains and the
/// retained sizes, each in time linear in the heap.
///
/// Each thread has its own heap, so checks on different threads (tests run in parallel)
/// never see each other's objects.
///
/// ```
/// use std::cell::RefCell;
/// use cyclegc::{Gc, Trace};
///
/// #[derive(Trace)]
/// struct Cache {
///     items: RefCell<Vec<Gc<Request>>>,
/// }
/// #[derive(Trace)]
/// #[trace(tracked)]
/// struct Request {
///     id: u32,
/// }
///
/// let cache = Gc::new(Cache { items: RefCell::new(Vec::new()) });
/// objgraph::name_root(&Gc::to_any(&cache), "_cache");
/// let mut next = 0;
/// let report = objgraph::LeakCheck::new().warmup(1).runs(3).run(|| {
///     next += 1;
///     cache.items.borrow_mut().push(Gc::new(Request { id: next })); // never removed
/// });
/// assert!(!report.is_clean());
/// assert_eq!(report.groups[0].chain(), "_cache -> Cache.items[*] -> Request");
/// assert_eq!(report.groups[0].count, 3);
/// println!("{report}");
/// ```
///
/// The defaults are one warm-up run, three measured runs, allocation sites when the
/// `alloc-site` feature records them, and five example objects per group.
#[derive(Debug, Clone)]
pub struct LeakCheck {
    warmup: usize,
    runs: usize,
    sites: bool,
    examples: usize,
}

impl Default for LeakCheck {
    fn default() -> Self {
        LeakCheck { warmup: 1, runs: 3, sites: true, examples: 5 }
    }
}

/// Which call of the scenario, for the message of one that panics.
#[derive(Debug, Clone, Copy)]
enum Run {
    Warmup { run: usize, of: usize },
    Measured { run: usize, of: usize },
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Run::Warmup { run, of } => write!(f, "warm-up run {} of {of}", run + 1),
            Run::Measured { run, of } => write!(f, "measured run {} of {of}", run + 1),
        }
    }
}

impl LeakCheck {
    /// A check with the defaults: one warm-up run, three measured runs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs of the scenario before the baseline: what they create (caches filled on first
    /// use) is part of the baseline, never a leaked object.
    pub fn warmup(mut self, runs: usize) -> Self {
        self.warmup = runs;
        self
    }

    /// Measured runs, at least two: a type leaks when it grows in every one of them.
    ///
    /// # Panics
    ///
    /// When `runs` is below two: one run cannot tell a one-off fill from a leak.
    #[track_caller]
    pub fn runs(mut self, runs: usize) -> Self {
        assert!(runs >= 2, "a leak check needs at least two measured runs to tell steady growth from a one-off fill");
        self.runs = runs;
        self
    }

    /// Whether groups list where their objects were created (on by default; sites are only
    /// known with the `alloc-site` feature). Turn it off for a snapshot that should not change
    /// when code moves to other lines.
    pub fn sites(mut self, sites: bool) -> Self {
        self.sites = sites;
        self
    }

    /// How many example objects each group keeps (by id; five by default).
    pub fn examples(mut self, per_group: usize) -> Self {
        self.examples = per_group;
        self
    }

    /// Runs `scenario` the warm-up runs and the measured runs, collecting fully after each,
    /// and reports what grew in every measured run (see [`LeakCheck`] for the rule).
    ///
    /// # Panics
    ///
    /// A panic of `scenario` goes on to the caller, with a line on standard error saying which
    /// run it was; the check leaves nothing behind.
    pub fn run(&self, mut scenario: impl FnMut()) -> LeakReport {
        gen_gc::collect();
        for run in 0..self.warmup {
            call(&mut scenario, Run::Warmup { run, of: self.warmup });
            gen_gc::collect();
        }
        settle_young_generations();
        let mut counts = TypeCounts::default();
        counts.take();
        let new_objects = NewObjects::watch();
        let mut after_first = groups::Census::default();
        for run in 0..self.runs {
            call(&mut scenario, Run::Measured { run, of: self.runs });
            gen_gc::collect();
            counts.take();
            if run == 0 {
                // Only a type that grew in the first run can grow in every run.
                after_first = groups::census(&counts.grew_in_last_run());
            }
        }
        // What finalizers created during the last collection is new too.
        new_objects.record();
        let new_addresses = new_objects.into_addresses();

        let (growing, unsteady) = counts.growth();
        // Each leaking type, with its growth in the first measured run.
        let leaking: FxHashMap<TypeId, usize> =
            growing.iter().map(|growth| (growth.type_id, growth.counts[1] - growth.counts[0])).collect();
        let found = if leaking.is_empty() {
            groups::Found::default()
        } else {
            let options = groups::Options { sites: self.sites, examples: self.examples };
            groups::find(&leaking, &new_addresses, &after_first, &options)
        };
        LeakReport {
            warmup_runs: self.warmup,
            measured_runs: self.runs,
            growing,
            unsteady,
            groups: found.groups,
            retained_bytes: found.retained_bytes,
            dead_weak: counts.dead_weak_refs(),
        }
    }

    /// Runs the check and panics with the report's text if anything leaked: the one-line
    /// form for a test.
    ///
    /// # Panics
    ///
    /// When a type grew in every measured run, or when `scenario` panics.
    #[track_caller]
    pub fn assert_no_leaks(&self, scenario: impl FnMut()) {
        self.run(scenario).assert_no_leaks();
    }
}

/// Calls the scenario; a panic goes on with its payload, after saying which run it was.
fn call(scenario: &mut impl FnMut(), run: Run) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(&mut *scenario)) {
        eprintln!("LeakCheck: the scenario panicked in {run}; the check stops and the panic goes on");
        resume_unwind(panic);
    }
}

/// Moves what the baseline's collection left in the young generations (objects created by
/// finalizers while it ran) into the oldest, so that the young generations hold only objects
/// created after the baseline. A few rounds: those finalizers' objects may have finalizers.
fn settle_young_generations() {
    for _ in 0..3 {
        let young =
            (0..NUM_GENERATIONS - 1).map(|generation| gen_gc::get_objects(Some(generation)).len()).sum::<usize>();
        if young == 0 {
            return;
        }
        gen_gc::collect_generation(NUM_GENERATIONS - 2).expect("a young generation");
    }
}

/// The count of objects per type at each census (the baseline, then after each measured
/// run): every tracked object, and every untracked one a tracked object holds.
#[derive(Default)]
struct TypeCounts {
    rows: Vec<(&'static TypeInfo, Vec<usize>)>,
    row_of: FxHashMap<TypeId, usize>,
    censuses: usize,
    /// The weak handles to dead objects that tracked objects hold, at each census.
    dead_weak: Vec<usize>,
    /// Their holders' types at the last census, with how many each holds.
    dead_weak_holders: FxHashMap<TypeId, (&'static TypeInfo, usize)>,
}

/// The untracked objects tracked objects hold, each once: a type that holds no `Gc` (a
/// leaf) is not in the collector's lists, so its objects are found through their holders.
/// And the weak handles they hold whose objects died.
struct HeldLeaves<'a> {
    seen: &'a mut FxHashSet<usize>,
    found: &'a mut Vec<&'static TypeInfo>,
    dead_weak: usize,
}

impl rc_heap::Visitor for HeldLeaves<'_> {
    fn visit_edge(&mut self, edge: rc_heap::Edge<'_>) {
        if !edge.is_tracked() && self.seen.insert(edge.header().as_ptr() as usize) {
            self.found.push(edge.type_info());
        }
    }

    fn visit_weak(&mut self, weak: rc_heap::WeakEdge<'_>) {
        // A weak container's dead entries wait for its next operation, which removes them.
        if weak.target().is_none() && !weak.is_deferred_entry() {
            self.dead_weak += 1;
        }
    }
}

impl TypeCounts {
    /// Counts every tracked object by type, and the untracked objects they hold.
    fn take(&mut self) {
        for (_, counts) in &mut self.rows {
            counts.push(0);
        }
        let objects = gen_gc::get_objects(None);
        let (mut seen, mut leaves) = (FxHashSet::default(), Vec::new());
        let mut dead_weak = 0;
        self.dead_weak_holders.clear();
        for object in &objects {
            let mut held = HeldLeaves { seen: &mut seen, found: &mut leaves, dead_weak: 0 };
            // A dropped value (legacy garbage after its finalizer) holds nothing.
            let _ = object.trace_with(&mut held);
            if held.dead_weak > 0 {
                dead_weak += held.dead_weak;
                let info = object.type_info();
                self.dead_weak_holders.entry(info.type_id()).or_insert((info, 0)).1 += held.dead_weak;
            }
        }
        self.dead_weak.push(dead_weak);
        // Objects of one type often follow each other: skip the map for a run of them.
        let mut last: Option<(&'static TypeInfo, usize)> = None;
        for info in objects.iter().map(rc_heap::GcAny::type_info).chain(leaves) {
            let row = match last {
                Some((last_info, row)) if std::ptr::eq(last_info, info) => row,
                _ => {
                    let row = match self.row_of.entry(info.type_id()) {
                        Entry::Occupied(entry) => *entry.get(),
                        Entry::Vacant(entry) => {
                            self.rows.push((info, vec![0; self.censuses + 1]));
                            *entry.insert(self.rows.len() - 1)
                        }
                    };
                    last = Some((info, row));
                    row
                }
            };
            self.rows[row].1[self.censuses] += 1;
        }
        self.censuses += 1;
    }

    /// The weak handles to dead objects at each census, with their holders at the last.
    fn dead_weak_refs(&self) -> DeadWeakRefs {
        let mut holders: Vec<(String, usize)> =
            self.dead_weak_holders.values().map(|(info, count)| (info.short_name(), *count)).collect();
        holders.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        DeadWeakRefs { counts: self.dead_weak.clone(), holders }
    }

    /// The tracked types whose count grew in the last census.
    fn grew_in_last_run(&self) -> FxHashSet<TypeId> {
        self.rows
            .iter()
            .filter(|(info, counts)| {
                info.is_tracked() && counts.len() >= 2 && counts[counts.len() - 1] > counts[counts.len() - 2]
            })
            .map(|(info, _)| info.type_id())
            .collect()
    }

    /// The types that grew in every measured run, and those that grew over the measured
    /// runs but not in each, both sorted by growth (most first), then by name.
    fn growth(&self) -> (Vec<TypeGrowth>, Vec<TypeGrowth>) {
        let mut growing = Vec::new();
        let mut unsteady = Vec::new();
        for (info, counts) in &self.rows {
            let steady = counts.windows(2).all(|pair| pair[1] > pair[0]);
            let grew = counts.last() > counts.first();
            if steady || grew {
                let growth = TypeGrowth {
                    type_name: info.short_name(),
                    full_type_name: info.name(),
                    type_id: info.type_id(),
                    tracked: info.is_tracked(),
                    counts: counts.clone(),
                };
                if steady { growing.push(growth) } else { unsteady.push(growth) }
            }
        }
        // Two types of one short name (`a::Node`, `b::Node`) are told apart by their full
        // names, or their rows would read alike.
        let mut full_names: FxHashMap<String, FxHashSet<&'static str>> = FxHashMap::default();
        for growth in growing.iter().chain(&unsteady) {
            full_names.entry(growth.type_name.clone()).or_default().insert(growth.full_type_name);
        }
        for growth in growing.iter_mut().chain(&mut unsteady) {
            if full_names[&growth.type_name].len() > 1 {
                growth.type_name = growth.full_type_name.to_owned();
            }
        }
        for list in [&mut growing, &mut unsteady] {
            list.sort_by(|a, b| {
                b.growth()
                    .cmp(&a.growth())
                    .then_with(|| a.type_name.cmp(&b.type_name))
                    .then_with(|| a.full_type_name.cmp(b.full_type_name))
            });
        }
        (growing, unsteady)
    }
}

/// The addresses of the objects found in the young generations since the baseline: every
/// object created since that lived until a collection of generation 1 or 2 began (or until
/// [`NewObjects::record`]), and every object frozen since (`gen_gc::freeze` moves the young
/// generations to the permanent one without a collection).
struct NewObjects {
    addresses: Rc<RefCell<FxHashSet<usize>>>,
    callback: CallbackId,
    /// The frozen objects at the baseline.
    frozen_before: FxHashSet<usize>,
}

impl NewObjects {
    /// Starts watching: a collection callback records the young generations before any
    /// collection that could move their objects to the oldest.
    fn watch() -> Self {
        let addresses = Rc::new(RefCell::new(FxHashSet::default()));
        let recorded = addresses.clone();
        // Every collection, young ones too: under the incremental policy a young collection
        // the scenario asks for (`collect_generation(0)`) moves its survivors to the recent
        // survivors, which `get_objects` counts with the oldest generation.
        let callback = gen_gc::add_callback(move |phase, _| {
            if phase == Phase::Start {
                record_young(&recorded);
            }
        });
        NewObjects { addresses, callback, frozen_before: frozen_objects() }
    }

    /// Records the young generations now.
    fn record(&self) {
        record_young(&self.addresses);
    }

    /// Stops watching; the addresses seen.
    fn into_addresses(self) -> FxHashSet<usize> {
        let mut addresses = std::mem::take(&mut *self.addresses.borrow_mut());
        addresses.extend(frozen_objects().difference(&self.frozen_before));
        addresses
    }
}

impl Drop for NewObjects {
    fn drop(&mut self) {
        gen_gc::remove_callback(self.callback);
    }
}

/// The addresses of the frozen objects (those in no generation): empty, with no scan of
/// the heap, when nothing is frozen.
fn frozen_objects() -> FxHashSet<usize> {
    if gen_gc::get_freeze_count() == 0 {
        return FxHashSet::default();
    }
    let in_generations: FxHashSet<usize> = (0..NUM_GENERATIONS)
        .flat_map(|generation| gen_gc::get_objects(Some(generation)))
        .map(|object| object.addr())
        .collect();
    let all = gen_gc::get_objects(None);
    all.iter().map(rc_heap::GcAny::addr).filter(|address| !in_generations.contains(address)).collect()
}

/// Adds the addresses of the objects in the young generations to `addresses`.
fn record_young(addresses: &RefCell<FxHashSet<usize>>) {
    for generation in 0..NUM_GENERATIONS - 1 {
        let young = gen_gc::get_objects(Some(generation));
        addresses.borrow_mut().extend(young.iter().map(rc_heap::GcAny::addr));
    }
}
