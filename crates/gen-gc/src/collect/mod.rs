//! One collection: CPython 3.11's algorithm over rc-heap's lists.
//!
//! 1. Merge the younger generations into the one collected (here).
//! 2. `gc_refs = refcount`; subtract every reference from inside the generation
//!    ([`counting`]); objects still positive are referenced from outside and are roots.
//!    Everything reachable from a root survives and is promoted; the rest is unreachable
//!    ([`marking`]).
//! 3. Legacy policy only: objects with finalizers, and all they reach, are uncollectable
//!    ([`finalization`]).
//! 4. Weak references to unreachable objects are cleared; callbacks of those not held by
//!    garbage run ([`finalization`]).
//! 5. Finalizers run, once per object ([`finalization`]).
//! 6. Reachability is computed again inside the unreachable set: what a finalizer
//!    resurrected survives ([`finalization`], with the walks of [`counting`] and [`marking`]).
//! 7. The values of the rest are dropped (breaking the cycles) and their memory freed, or,
//!    with `DEBUG_SAVEALL`, they are kept in `garbage` ([`deletion`]).
//!
//! `gc_refs` lives in the `prev` word of each object's links while the generation is walked,
//! as CPython keeps it in `_gc_prev`: `(gc_refs << 3) | flags`. The list stays walkable
//! through `next`; the marking walk (CPython's `move_unreachable`) rebuilds `prev` as it
//! goes and moves the unreachable objects to a list of their own, holding each; they stay
//! there until they are freed or survive (steps 3 and 6 take them out into a vector to
//! recount them and link back what is still garbage).
//!
//! This module holds the entry points ([`collect_with_callbacks`], [`collect_region`]), the
//! bits of the `prev` word, and what the phases share: the heap's lists, [`trace`], the
//! reports of panics. Each phase uses only the phases before it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::time::Instant;

use rc_heap::raw::{self, EdgeList, Links, ObjHeader, Panic};

use crate::incremental;
use crate::state::{CallbackInfo, CollectionPolicy, FinalizerPolicy, NUM_GENERATIONS, PERMANENT, Phase, State};
use crate::{DebugFlags, describe_panic, object_repr};

mod counting;
mod deletion;
mod finalization;
mod marking;

use deletion::{delete, save_all};
use finalization::{clear_weak_refs, resurrect, run_finalizers, set_aside_legacy_finalizers};
use marking::{Found, find_unreachable};

/// The object is in the set being examined.
const COLLECTING: usize = 1;
/// The object was found reachable (in the recounts after the marking walk, on objects out
/// of the lists).
const REACHABLE: usize = 2;
/// The object's `Trace` reported no edge in the counting walk, so the marking walk need not
/// trace it again (`Trace` reports the same edges while nothing mutates the value). Shares
/// its bit with `REACHABLE`, which only the later recounts use.
const NO_EDGES: usize = 2;
/// The object is in the list of objects found unreachable so far (`move_unreachable`).
const TENTATIVE: usize = 4;
const REFS_SHIFT: u32 = 3;
const ONE_REF: usize = 1 << REFS_SHIFT;

/// What one collection found.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Outcome {
    pub(crate) collected: usize,
    pub(crate) uncollectable: usize,
    /// How many objects of the region's `young` survived (moved to `young_survivors`).
    pub(crate) young_survivors: usize,
}

/// Collects `generation` (and the younger ones), unless a collection is already running.
pub(crate) fn collect_with_callbacks(state: &State, generation: usize) -> Outcome {
    if state.collecting.replace(true) {
        return Outcome::default();
    }
    let guard = Collecting(state);
    invoke_callbacks(
        state,
        Phase::Start,
        &CallbackInfo {
            generation,
            collected: 0,
            uncollectable: 0,
            duration: std::time::Duration::ZERO,
            candidates: 0,
        },
    );
    let start = Instant::now();
    let (outcome, candidates) = collect(state, generation);
    let duration = start.elapsed();
    if state.debug.get().contains(DebugFlags::STATS) {
        state.debug_line(format_args!(
            "gc: done, {} unreachable, {} uncollectable, {:.4}s elapsed",
            outcome.collected + outcome.uncollectable,
            outcome.uncollectable,
            duration.as_secs_f64()
        ));
    }
    let mut stats = state.stats.get();
    stats[generation].collections += 1;
    stats[generation].collected += outcome.collected;
    stats[generation].uncollectable += outcome.uncollectable;
    state.stats.set(stats);
    invoke_callbacks(
        state,
        Phase::Stop,
        &CallbackInfo {
            generation,
            collected: outcome.collected,
            uncollectable: outcome.uncollectable,
            duration,
            candidates,
        },
    );
    drop(guard);
    outcome
}

struct Collecting<'a>(&'a State);

impl Drop for Collecting<'_> {
    fn drop(&mut self) {
        self.0.collecting.set(false);
    }
}

fn invoke_callbacks(state: &State, phase: Phase, info: &CallbackInfo) {
    let callbacks: Vec<_> = state.callbacks.borrow().iter().map(|(_, cb)| cb.clone()).collect();
    for callback in callbacks {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| callback(phase, info))) {
            report(state, "a collection callback", &panic);
        }
    }
}

pub(crate) fn report(state: &State, what: &str, panic: &Panic) {
    state.debug_line(format_args!("gc: a panic in {what} was caught: {}", describe_panic(panic)));
}

/// The heap list of `generation` (or of the permanent generation).
pub(crate) fn list(index: usize) -> &'static Links {
    // SAFETY: the heap's list sentinels live as long as the thread, and this reference never
    // leaves it (`Links` is not `Send`).
    unsafe { raw::list(index).as_ref() }
}

/// The objects in a list.
pub(crate) fn list_len(sentinel: &Links) -> usize {
    let mut count = 0;
    for_each(sentinel, |_| count += 1);
    count
}

/// Calls `f` on the header of every object in a list (which `f` must not change).
pub(crate) fn for_each(sentinel: &Links, mut f: impl FnMut(NonNull<ObjHeader>)) {
    let end: *const Links = sentinel;
    let mut cursor = sentinel.next();
    while cursor != end {
        // SAFETY: the list is a valid circular list of tracked objects: every element but
        // the sentinel is the links of a live object.
        unsafe {
            let next = (*cursor).next();
            f(Links::header(cursor));
            cursor = next;
        }
    }
}

pub(crate) fn links_of(header: NonNull<ObjHeader>) -> &'static Links {
    // SAFETY: only tracked objects are in the collector's lists and sets; their links are in
    // front of the header and live as long as the object, which outlives this use.
    unsafe { Links::of(header).as_ref() }
}

/// Traces the tracked edges of `header` into `edges`. A value that cannot be traced now
/// (mutably borrowed, or its `Trace` panicked) comes back as untraceable.
pub(crate) fn trace(state: &State, header: NonNull<ObjHeader>, edges: &mut EdgeList) {
    edges.clear();
    // SAFETY: only live objects whose values are intact are traced.
    let result = catch_unwind(AssertUnwindSafe(|| unsafe { raw::trace_tracked(header, edges) }));
    if let Err(panic) = result {
        // SAFETY: as above.
        let name = unsafe { raw::type_info(header) }.short_name();
        report(state, &format!("<{name}>'s Trace impl"), &panic);
        edges.clear();
        edges.mark_untraceable();
    }
}

fn collect(state: &State, generation: usize) -> (Outcome, usize) {
    if state.debug.get().contains(DebugFlags::STATS) {
        let counts: Vec<String> = (0..NUM_GENERATIONS).map(|g| list_len(list(g)).to_string()).collect();
        state.debug_line(format_args!("gc: collecting generation {generation}..."));
        state.debug_line(format_args!("gc: objects in each generation: {}", counts.join(" ")));
        state.debug_line(format_args!("gc: objects in permanent generation: {}", list_len(list(PERMANENT))));
    }
    match state.collection_policy.get() {
        CollectionPolicy::Generational => collect_generational(state, generation),
        CollectionPolicy::Incremental => incremental::collect(state, generation),
    }
}

/// CPython 3.11's generational collection of `generation` and the younger ones.
fn collect_generational(state: &State, generation: usize) -> (Outcome, usize) {
    // Counts: the next generation gains a collection, this one and the younger start over.
    let mut counts = state.older_counts.get();
    if generation + 1 < NUM_GENERATIONS {
        counts[generation + 1] += 1;
    }
    for count in counts.iter_mut().take(generation + 1).skip(1) {
        *count = 0;
    }
    state.older_counts.set(counts);
    raw::set_young_count(0);

    let young = list(generation);
    for younger in 0..generation {
        // SAFETY: distinct sentinels of this thread's heap.
        unsafe { Links::splice_all(list(younger), young) };
    }
    let old = list((generation + 1).min(NUM_GENERATIONS - 1));
    let (outcome, candidates) =
        collect_region(state, &Region { examined: young, survivors: old, tag: 0, young: &[], young_survivors: old });

    // CPython's long-lived bookkeeping for the full-collection rule.
    let survivors = candidates - (outcome.collected + outcome.uncollectable);
    if generation + 1 < NUM_GENERATIONS {
        if generation == NUM_GENERATIONS - 2 {
            state.long_lived_pending.set(state.long_lived_pending.get() + survivors);
        }
    } else {
        state.long_lived_pending.set(0);
        state.long_lived_total.set(survivors);
    }
    (outcome, candidates)
}

/// The objects one collection examines, and where those that survive go.
pub(crate) struct Region<'a> {
    /// The examined objects: a heap list, or a list of the collector's own.
    pub(crate) examined: &'a Links,
    /// Where the survivors go (it may be `examined` itself).
    pub(crate) survivors: &'a Links,
    /// The collector's bits in the survivors' `prev` words (the old space, in incremental
    /// collection).
    pub(crate) tag: usize,
    /// Objects of `examined` whose survivors go to `young_survivors` instead.
    pub(crate) young: &'a [NonNull<Links>],
    pub(crate) young_survivors: &'a Links,
}

/// Collects the objects of `region.examined`: finds what nothing outside them reaches,
/// moves the survivors to `region.survivors`, and runs the steps after the marking walk.
/// Returns what it found and how many objects it examined.
pub(crate) fn collect_region(state: &State, region: &Region<'_>) -> (Outcome, usize) {
    let debug = state.debug.get();
    let mut edges = EdgeList::new();
    let legacy = state.policy.get() == FinalizerPolicy::Legacy;
    // The garbage is kept in this list until it is freed; the sentinel stays here, where it
    // does not move.
    let unreachable = Links::new_sentinel();
    unreachable.init_sentinel();
    // Debug lines (user code) wait until the walks are over and the survivors moved: an
    // object made or relinked into the young list before that would be moved with its
    // `IN_YOUNG` bit.
    let deferred = state.defer_debug_lines();
    let Found { count, any_weak, any_finalizer, candidates } =
        find_unreachable(state, region.examined, &unreachable, &mut edges, region.tag);
    // Every examined object that is not unreachable is still in `region.examined`; the
    // unreachable ones are held.
    let mut young_survivors = 0;
    for &links in region.young {
        // SAFETY: the objects were in `examined` and no user code has run since: each is
        // alive, in `examined` or (held) in `unreachable`.
        unsafe {
            if !raw::is_held(Links::header(links.as_ptr())) {
                links.as_ref().unlink();
                region.young_survivors.insert_tagged(links, region.tag);
                young_survivors += 1;
            }
        }
    }
    if !std::ptr::eq(region.examined, region.survivors) {
        // SAFETY: distinct sentinels of valid lists.
        unsafe { Links::splice_all(region.examined, region.survivors) };
    }
    drop(deferred);
    let old = region.survivors;

    // Legacy policy: finalizer objects and all they reach are uncollectable.
    let mut uncollectable = 0;
    if legacy {
        uncollectable = set_aside_legacy_finalizers(state, &unreachable, count, old, region.tag, debug, &mut edges);
    }
    let collected = count - uncollectable;

    // From here on user code runs: the garbage is held (`move_unreachable` held it), so that
    // no count reaching zero frees it, and only this function takes objects out of the list.
    if any_weak {
        clear_weak_refs(state, &unreachable);
    }
    if debug.contains(DebugFlags::COLLECTABLE) {
        for_each(&unreachable, |header| state.debug_line(format_args!("gc: collectable {}", object_repr(header))));
    }
    // Only a finalizer can resurrect (weak references to the garbage are dead and ids of
    // held objects are not handed out), so without one the recount is skipped.
    if any_finalizer && run_finalizers(state, &unreachable) {
        resurrect(state, &unreachable, collected, old, region.tag, &mut edges);
    }

    if debug.contains(DebugFlags::SAVEALL) {
        save_all(state, &unreachable, collected, old, region.tag);
    } else {
        delete(state, &unreachable, collected);
    }
    (Outcome { collected, uncollectable, young_survivors }, candidates)
}

/// Reports what `Trace` impls did to the heap during a walk that Trace's rule 2 forbids.
pub(crate) fn report_walk(state: &State, report: raw::WalkReport) {
    if report.deaths_put_off > 0 {
        state.debug_line(format_args!(
            "gc: {} objects lost their last handle inside a Trace impl while the collector walked \
             the heap (Trace's rule 2 forbids dropping a Gc there); a later collection frees them",
            report.deaths_put_off
        ));
    }
    if report.left_unlinked > 0 {
        state.debug_line(format_args!(
            "gc: {} tracked objects were created inside a Trace impl while the collector walked the \
             heap (Trace's rule 2 forbids creating a Gc there); no collection will examine them",
            report.left_unlinked
        ));
    }
}

/// Empties a list of the collector's own (the unreachable objects), unlinking each object,
/// and returns them in order.
fn take_list(list: &Links, capacity: usize) -> Vec<NonNull<ObjHeader>> {
    let mut objects = Vec::with_capacity(capacity);
    let end: *const Links = list;
    let mut cursor = list.next();
    while cursor != end {
        // SAFETY: the list's elements are the links of live tracked objects, and nothing
        // else refers to the list.
        unsafe {
            let next = (*cursor).next();
            (*cursor).set_next(std::ptr::null());
            (*cursor).set_prev_word(0);
            objects.push(Links::header(cursor));
            cursor = next;
        }
    }
    list.init_sentinel();
    objects
}

/// Appends objects that are in no list to a list of the collector's own.
fn link_all(list: &Links, objects: &[NonNull<ObjHeader>]) {
    for &header in objects {
        // SAFETY: the objects are alive, tracked and in no list; `list` is a valid list.
        unsafe { list.insert_before(Links::of(header)) };
    }
}
