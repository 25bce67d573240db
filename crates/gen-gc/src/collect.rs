//! One collection: CPython 3.11's algorithm over rc-heap's lists.
//!
//! 1. Merge the younger generations into the one collected.
//! 2. `gc_refs = refcount`; subtract every reference from inside the generation; objects
//!    still positive are referenced from outside and are roots. Everything reachable from
//!    a root survives and is promoted; the rest is unreachable.
//! 3. Legacy policy only: objects with finalizers, and all they reach, are uncollectable.
//! 4. Weak references to unreachable objects are cleared; callbacks of those not held by
//!    garbage run.
//! 5. Finalizers run, once per object.
//! 6. Reachability is computed again inside the unreachable set: what a finalizer
//!    resurrected survives.
//! 7. The values of the rest are dropped (breaking the cycles) and their memory freed, or,
//!    with `DEBUG_SAVEALL`, they are kept in `garbage`.
//!
//! `gc_refs` lives in the `prev` word of each object's links while the generation is walked,
//! as CPython keeps it in `_gc_prev`: `(gc_refs << 3) | flags`. The list stays walkable
//! through `next`; the marking walk (CPython's `move_unreachable`) rebuilds `prev` as it
//! goes and moves the unreachable objects to a list of their own, holding each; they stay
//! there until they are freed or survive (steps 3 and 6 take them out into a vector to
//! recount them and link back what is still garbage).

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::time::Instant;

use rc_heap::raw::{self, EdgeList, Links, ObjHeader, Panic};
use rc_heap::{Visitor, WeakEdge};

use crate::incremental;
use crate::state::{CallbackInfo, CollectionPolicy, FinalizerPolicy, NUM_GENERATIONS, PERMANENT, Phase, State};
use crate::{DebugFlags, describe_panic, object_repr};

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
        let (collectable, found) = split_legacy_finalizers(state, take_list(&unreachable, count), &mut edges);
        uncollectable = found.len();
        link_all(&unreachable, &collectable);
        for header in found {
            if debug.contains(DebugFlags::UNCOLLECTABLE) {
                state.debug_line(format_args!("gc: uncollectable {}", object_repr(header)));
            }
            // As CPython: `garbage` gets the objects with finalizers (everything, with
            // SAVEALL); what they reach stays alive through them.
            // SAFETY: an unreachable object is alive (its cycle holds it), held, and in no
            // list once taken out.
            unsafe {
                old.insert_tagged(Links::of(header), region.tag);
                if debug.contains(DebugFlags::SAVEALL) || raw::type_info(header).has_finalizer() {
                    state.garbage.borrow_mut().push(raw::handle(header));
                }
                raw::release(header);
            }
        }
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
        for header in take_list(&unreachable, collected) {
            // SAFETY: held objects are alive and, once taken out, in no list.
            unsafe {
                state.garbage.borrow_mut().push(raw::handle(header));
                old.insert_tagged(Links::of(header), region.tag);
                raw::release(header);
            }
        }
    } else {
        delete(state, &unreachable, collected);
    }
    (Outcome { collected, uncollectable, young_survivors }, candidates)
}

/// `update_refs`, `subtract_refs` and `move_unreachable`: moves the objects of `young` that
/// nothing outside it reaches to `unreachable` (an empty list) and holds them; no user code
/// runs in between.
fn find_unreachable(state: &State, young: &Links, unreachable: &Links, edges: &mut EdgeList, tag: usize) -> Found {
    // No walk runs outside a collection or `object_graph`, which both keep collections off.
    let walk = raw::begin_walk().expect("a collection starts outside the heap's walks");
    let found = count_and_mark(state, young, unreachable, edges, tag);
    report_walk(state, walk.finish());
    found
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

/// [`find_unreachable`]'s walks.
fn count_and_mark(state: &State, young: &Links, unreachable: &Links, edges: &mut EdgeList, tag: usize) -> Found {
    // SAFETY: the permanent generation's sentinel is a valid list.
    let nothing_frozen = list(PERMANENT).next() == std::ptr::from_ref(list(PERMANENT));
    let candidates = if std::ptr::eq(young, list(raw::YOUNG)) {
        // The young generation alone: its objects carry the `IN_YOUNG` bit.
        update_and_subtract_refs::<true>(state, young, edges)
    } else if std::ptr::eq(young, list(NUM_GENERATIONS - 1)) && nothing_frozen {
        // A full collection with nothing frozen examines every object in a list.
        update_and_subtract_refs::<false>(state, young, edges)
    } else {
        let mut candidates = 0;
        for_each(young, |header| {
            candidates += 1;
            init_refs(links_of(header), header);
        });
        subtract_refs(state, young, edges);
        candidates
    };
    Found { candidates, ..move_unreachable(state, young, unreachable, edges, tag, candidates) }
}

/// `gc_refs = refcount`, and the object joins the examined set.
#[inline]
fn init_refs(links: &Links, header: NonNull<ObjHeader>) -> usize {
    // SAFETY: objects in the collector's lists are alive.
    let word = (unsafe { raw::strong_count(header) } << REFS_SHIFT) | COLLECTING;
    links.set_prev_word(word);
    word
}

/// `update_refs` and `subtract_refs` in one walk, for a collection that can tell from an
/// object's links whether it belongs to the examined set before the walk reaches it, so that
/// an edge to an object not reached yet can set that object's count up first:
///
/// - `YOUNG_ONLY`, a collection of the young generation alone: the objects with the
///   [`IN_YOUNG`](raw::IN_YOUNG) bit (an object of the generation without it is only counted
///   from its own turn on, which can keep it, never free it wrongly);
/// - otherwise, a collection that examines every object in a list: objects in a list.
///   Objects in no list (whose values a collection dropped while a handle still held them)
///   are outside the set.
///
/// Returns how many objects were examined.
fn update_and_subtract_refs<const YOUNG_ONLY: bool>(state: &State, young: &Links, edges: &mut EdgeList) -> usize {
    let mut candidates = 0;
    trace_each(
        state,
        young,
        edges,
        |links, header| {
            candidates += 1;
            if links.prev_word() & COLLECTING == 0 {
                init_refs(links, header);
            }
        },
        |header, edges| subtract_edges_of_set::<YOUNG_ONLY>(state, header, edges),
    );
    candidates
}

/// Traces every object of `list` in order: `before` sees each object first, then `count`
/// its edges. One `catch_unwind` covers the walk; a `Trace` that panics makes its object
/// untraceable (`count` gets no edges and the mark) and the walk goes on after it.
#[inline(always)]
fn trace_each(
    state: &State,
    list: &Links,
    edges: &mut EdgeList,
    mut before: impl FnMut(&Links, NonNull<ObjHeader>),
    mut count: impl FnMut(NonNull<ObjHeader>, &EdgeList),
) {
    let end: *const Links = list;
    let mut cursor = list.next();
    while cursor != end {
        let result = catch_unwind(AssertUnwindSafe(|| {
            while cursor != end {
                // SAFETY: every element of the list but the sentinel is the links of a live
                // tracked object whose value is intact; `next` links stay valid while the
                // collector keeps counts in `prev`.
                unsafe {
                    let header = Links::header(cursor);
                    before(&*cursor, header);
                    edges.clear();
                    raw::trace_tracked(header, edges);
                    count(header, edges);
                    if edges.edges().is_empty() && !edges.is_untraceable() {
                        (*cursor).set_prev_word((*cursor).prev_word() | NO_EDGES);
                    }
                    cursor = (*cursor).next();
                }
            }
        }));
        if let Err(panic) = result {
            // SAFETY: `cursor` is the element whose `Trace` panicked, as above; `before` saw
            // it already.
            let header = unsafe { Links::header(cursor) };
            trace_panicked(state, header, &panic, edges);
            count(header, edges);
            // SAFETY: as above.
            cursor = unsafe { (*cursor).next() };
        }
    }
}

/// [`subtract_edges`] for [`update_and_subtract_refs`]: a target in the set whose count is not
/// set yet gets it set first.
#[inline]
fn subtract_edges_of_set<const YOUNG_ONLY: bool>(state: &State, header: NonNull<ObjHeader>, edges: &EdgeList) {
    if edges.is_untraceable() {
        let links = links_of(header);
        links.set_prev_word(links.prev_word() + ONE_REF);
    }
    for &child in edges.edges() {
        let links = links_of(child);
        let mut word = links.prev_word();
        if word & COLLECTING == 0 {
            // Not counted yet: a link word, whose bits are the heap's.
            let member = if YOUNG_ONLY { word & raw::IN_YOUNG != 0 } else { links.is_linked() };
            if !member {
                continue;
            }
            word = init_refs(links, child);
        }
        if word >> REFS_SHIFT == 0 {
            broken_trace(state, header, child);
        } else {
            links.set_prev_word(word - ONE_REF);
        }
    }
}

/// Takes one reference off each object of the examined set for every edge to it from inside
/// the set. A value that cannot be traced now is held from where we cannot see: a root,
/// whatever its count says. One `catch_unwind` covers the walk; a `Trace` that panics makes
/// its object untraceable and the walk goes on after it.
fn subtract_refs(state: &State, young: &Links, edges: &mut EdgeList) {
    trace_each(state, young, edges, |_, _| {}, |header, edges| subtract_edges(state, header, edges));
}

/// The edges of `header` have been traced into `edges`: counts them off their targets.
#[inline]
fn subtract_edges(state: &State, header: NonNull<ObjHeader>, edges: &EdgeList) {
    if edges.is_untraceable() {
        let links = links_of(header);
        links.set_prev_word(links.prev_word() + ONE_REF);
    }
    for &child in edges.edges() {
        let links = links_of(child);
        let word = links.prev_word();
        if word & COLLECTING != 0 {
            if word >> REFS_SHIFT == 0 {
                broken_trace(state, header, child);
            } else {
                links.set_prev_word(word - ONE_REF);
            }
        }
    }
}

#[cold]
fn trace_panicked(state: &State, header: NonNull<ObjHeader>, panic: &Panic, edges: &mut EdgeList) {
    // SAFETY: only live objects are traced.
    let name = unsafe { raw::type_info(header) }.short_name();
    report(state, &format!("<{name}>'s Trace impl"), panic);
    edges.clear();
    edges.mark_untraceable();
}

/// CPython's `move_unreachable`, in place: one walk of `young` that marks what the roots
/// reach, then the objects left unmarked move to `unreachable`.
///
/// An object whose count is still positive is reachable: its edges are traced (unless the
/// counting walk found it has none), and each target in the set at zero gets a count of one
/// (it is reached), or, if the walk has passed it already, is marked reachable where it is
/// and its own edges are followed at once (breadth first, with a queue). An object at zero is
/// left where it is, marked `TENTATIVE`, and noted. The walk restores each object's `prev`
/// link as it passes it (with `tag` for a reachable object, `COLLECTING | TENTATIVE` for a
/// tentative one), so the list keeps its order: an object met before the objects that
/// refer to it (a chain built backwards, a tree built from its leaves) is not moved out and
/// back, and the survivors stay in the order they were allocated, which the incremental
/// policy's increments rely on. A tentative object is held when noted, and released if
/// found reachable; at the end, the noted objects still tentative are unlinked into
/// `unreachable` (all at once when every examined object is garbage).
///
/// `candidates` is how many objects `young` holds. Returns how many objects `unreachable`
/// holds at the end, and what they need.
fn move_unreachable(
    state: &State,
    young: &Links,
    unreachable: &Links,
    edges: &mut EdgeList,
    tag: usize,
    candidates: usize,
) -> Found {
    let end: *const Links = young;
    let mut prev: *const Links = end;
    // Room for every object up front: growing a vector of millions costs more than pages of
    // it left untouched.
    let mut tentative: Vec<*const Links> = Vec::with_capacity(candidates);
    let mut queue: VecDeque<NonNull<ObjHeader>> = VecDeque::new();
    let mut found = Found::default();
    // Tentative objects found reachable later.
    let mut revived = 0;
    // SAFETY (for the whole function): `young` is a valid list whose elements (but the
    // sentinel) are the links of live tracked objects; their `next` links are intact, and
    // each `prev` word is a count word until the walk passes the object, a link after.
    let mut cursor = young.next();
    while cursor != end {
        let result = catch_unwind(AssertUnwindSafe(|| {
            while cursor != end {
                // SAFETY: see the top of the function.
                unsafe {
                    let word = (*cursor).prev_word();
                    if word >> REFS_SHIFT > 0 {
                        if word & NO_EDGES == 0 {
                            edges.clear();
                            raw::trace_tracked(Links::header(cursor), edges);
                            revived += mark_reached(edges, &mut queue, tag);
                            revived += mark_late(state, &mut queue, edges, tag);
                        }
                        (*cursor).set_prev_tagged(prev, tag);
                    } else {
                        (*cursor).set_prev_tagged(prev, COLLECTING | TENTATIVE | (word & NO_EDGES));
                        tentative.push(cursor);
                        // Held and noted while it is at hand (an object found reachable later
                        // is released; the notes only let later steps skip work).
                        let header = Links::header(cursor);
                        found.any_weak |= raw::may_have_weak_refs(header);
                        found.any_finalizer |= raw::type_info(header).has_finalizer() && !raw::is_finalized(header);
                        raw::hold(header);
                    }
                    prev = cursor;
                    cursor = (*cursor).next();
                }
            }
        }));
        if let Err(panic) = result {
            // The `Trace` of a reachable object panicked. What it reaches was not counted
            // off by it either, unless its `Trace` behaves differently from one call to the
            // next, which `Trace`'s rules forbid.
            // SAFETY: see the top of the function.
            unsafe {
                trace_panicked(state, Links::header(cursor), &panic, edges);
                (*cursor).set_prev_tagged(prev, tag);
                prev = cursor;
                cursor = (*prev).next();
            }
        }
    }
    young.set_prev(prev);
    found.count = tentative.len() - revived;
    if revived == tentative.len() {
        // Every object was reachable (a live heap met before its referrers, such as a chain
        // built backwards): no need to read them all again.
        return found;
    }
    if revived == 0 && tentative.len() == candidates {
        // Everything is garbage, already marked and held: the whole list moves at once.
        // SAFETY: distinct valid lists; the elements keep their `prev` bits.
        unsafe { Links::splice_all(young, unreachable) };
        return found;
    }
    for links in tentative {
        // SAFETY: the noted objects are elements of `young`, whose links are all restored;
        // `unreachable` is a valid list. The pointer linked in is the one the list gave,
        // which carries the whole object's provenance.
        unsafe {
            if (*links).prev_word() & (COLLECTING | TENTATIVE) != COLLECTING | TENTATIVE {
                continue;
            }
            (*links).unlink();
            unreachable.insert_tagged(NonNull::new_unchecked(links.cast_mut()), COLLECTING | TENTATIVE);
        }
    }
    found
}

/// The targets of a reachable object's edges are reachable too: a target the walk has not
/// reached gets a count of one if it had none; a target the walk has passed (tentative) is
/// marked reachable with `tag` and, unless it has no edges, queued. Returns how many
/// tentative objects it marked.
#[inline]
fn mark_reached(edges: &EdgeList, queue: &mut VecDeque<NonNull<ObjHeader>>, tag: usize) -> usize {
    let mut revived = 0;
    for &child in edges.edges() {
        let links = links_of(child);
        let word = links.prev_word();
        if word & COLLECTING == 0 {
            // Outside the set, or already found reachable.
            continue;
        }
        if word & TENTATIVE != 0 {
            links.set_prev_tagged(links.prev(), tag);
            // SAFETY: a tentative object is alive and was held when the walk passed it.
            unsafe { raw::unhold(child) };
            revived += 1;
            if word & NO_EDGES == 0 {
                queue.push_back(child);
            }
        } else if word >> REFS_SHIFT == 0 {
            links.set_prev_word(ONE_REF | COLLECTING | (word & NO_EDGES));
        }
    }
    revived
}

/// Follows the edges of the objects in `queue`, which the walk has passed and found
/// reachable late, and of everything they reach in turn, breadth first: the objects of a
/// level are independent of each other, so the processor fetches them from memory side by
/// side (depth first, each object waits for the one before it: twice as slow on a random
/// tree of a million objects). Returns how many tentative objects it marked.
fn mark_late(state: &State, queue: &mut VecDeque<NonNull<ObjHeader>>, edges: &mut EdgeList, tag: usize) -> usize {
    let mut revived = 0;
    while let Some(header) = queue.pop_front() {
        trace(state, header, edges);
        revived += mark_reached(edges, queue, tag);
    }
    revived
}

/// Traces `header` and takes one reference off each object of the examined set it points
/// to. A value that cannot be traced now is held from where we cannot see: a root,
/// whatever its count says.
fn subtract_internal_refs(state: &State, header: NonNull<ObjHeader>, edges: &mut EdgeList) {
    trace(state, header, edges);
    subtract_edges(state, header, edges);
}

/// If `header` is still referenced from outside the examined set, marks it and everything it
/// reaches.
fn mark_if_root(state: &State, header: NonNull<ObjHeader>, stack: &mut Vec<NonNull<ObjHeader>>, edges: &mut EdgeList) {
    let links = links_of(header);
    let word = links.prev_word();
    if word >> REFS_SHIFT > 0 && word & REACHABLE == 0 {
        links.set_prev_word(word | REACHABLE);
        stack.push(header);
        mark_from(state, stack, edges);
    }
}

/// A `Trace` impl reported more edges to `child` than `child` has references: it visits a
/// `Gc` twice or one it does not own. Keep the object alive rather than free something in
/// use, and say so.
#[cold]
fn broken_trace(state: &State, parent: NonNull<ObjHeader>, child: NonNull<ObjHeader>) {
    state.debug_line(format_args!(
        "gc: the Trace impl of {} reports more references to {} than it has; it visits a Gc \
         twice or one it does not own (Trace's safety rules 1 and 2). The object is kept.",
        object_repr(parent),
        object_repr(child)
    ));
    let links = links_of(child);
    links.set_prev_word(links.prev_word() + ONE_REF);
}

/// Marks reachable everything reachable from the objects on `stack` (already marked).
fn mark_from(state: &State, stack: &mut Vec<NonNull<ObjHeader>>, edges: &mut EdgeList) {
    while let Some(header) = stack.pop() {
        trace(state, header, edges);
        for &child in edges.edges() {
            let links = links_of(child);
            let word = links.prev_word();
            if word & COLLECTING != 0 && word & REACHABLE == 0 {
                links.set_prev_word(word | REACHABLE);
                stack.push(child);
            }
        }
    }
}

/// What the walks found: how many objects they examined and how many they moved to the
/// unreachable list, and what the later steps need to know of those.
#[derive(Default)]
struct Found {
    candidates: usize,
    count: usize,
    /// Some object may have weak references.
    any_weak: bool,
    /// Some object has a finalizer that has not run.
    any_finalizer: bool,
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

/// Legacy policy: splits off the objects with finalizers and everything they reach.
fn split_legacy_finalizers(
    state: &State,
    unreachable: Vec<NonNull<ObjHeader>>,
    edges: &mut EdgeList,
) -> (Vec<NonNull<ObjHeader>>, Vec<NonNull<ObjHeader>>) {
    for &header in &unreachable {
        links_of(header).set_prev_word(COLLECTING);
    }
    let mut stack = Vec::new();
    for &header in &unreachable {
        // SAFETY: unreachable objects are alive.
        if unsafe { raw::type_info(header) }.has_finalizer() {
            let links = links_of(header);
            if links.prev_word() & REACHABLE == 0 {
                links.set_prev_word(COLLECTING | REACHABLE);
                stack.push(header);
                mark_from(state, &mut stack, edges);
            }
        }
    }
    let (uncollectable, collectable): (Vec<_>, Vec<_>) =
        unreachable.into_iter().partition(|&header| links_of(header).prev_word() & REACHABLE != 0);
    for &header in uncollectable.iter().chain(&collectable) {
        links_of(header).set_prev_word(0);
    }
    (collectable, uncollectable)
}

/// Marks the weak references held by garbage (their callbacks must not run), clears every
/// weak reference to garbage, then runs the remaining callbacks.
fn clear_weak_refs(state: &State, unreachable: &Links) {
    if raw::weak_callbacks_pending() {
        mark_weak_refs_of_garbage(state, unreachable);
    }
    let mut cleared: Option<raw::ClearedWeakRefs> = None;
    for_each(unreachable, |header| {
        // SAFETY: held garbage is allocated.
        if !unsafe { raw::may_have_weak_refs(header) } {
            return;
        }
        // SAFETY: as above.
        let refs = unsafe { raw::clear_weak_refs(header) };
        match &mut cleared {
            Some(all) => all.append(refs),
            None => cleared = Some(refs),
        }
    });
    if let Some(panic) = cleared.and_then(raw::ClearedWeakRefs::run) {
        report(state, "a weak reference callback", &panic);
    }
}

/// Marks the weak references the garbage holds: their callbacks must not run.
fn mark_weak_refs_of_garbage(state: &State, unreachable: &Links) {
    struct MarkWeak;
    impl Visitor for MarkWeak {
        fn visit_edge(&mut self, _edge: rc_heap::Edge<'_>) {}
        fn visit_weak(&mut self, weak: WeakEdge<'_>) {
            weak.mark_owner_unreachable();
        }
    }
    for_each(unreachable, |header| {
        // SAFETY: held garbage is alive with its value intact.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { raw::trace(header, &mut MarkWeak) }));
        if let Err(panic) = result {
            report(state, &format!("{}'s Trace impl", object_repr(header)), &panic);
        }
    });
}

/// Runs the pending finalizers; returns whether any ran.
fn run_finalizers(state: &State, unreachable: &Links) -> bool {
    let mut ran = false;
    for_each(unreachable, |header| {
        // SAFETY: held garbage is alive with its value intact; finalizers may resurrect it,
        // which `resurrect` sees in the counts.
        unsafe {
            if raw::type_info(header).has_finalizer() && !raw::is_finalized(header) {
                ran = true;
                if let Some(panic) = raw::finalize(header) {
                    report(state, &format!("the finalizer of {}", object_repr(header)), &panic);
                }
            }
        }
    });
    ran
}

/// After the finalizers: objects referenced from outside the unreachable set again (a
/// finalizer stored a handle) survive, with everything they reach, into `old`; the rest stay
/// in `unreachable` (which holds about `count` objects).
fn resurrect(state: &State, unreachable: &Links, count: usize, old: &Links, tag: usize, edges: &mut EdgeList) {
    let objects = take_list(unreachable, count);
    for &header in &objects {
        // SAFETY: held garbage is allocated and not queued.
        let refs = unsafe { raw::strong_count(header) };
        links_of(header).set_prev_word((refs << REFS_SHIFT) | COLLECTING);
    }
    for &header in &objects {
        subtract_internal_refs(state, header, edges);
    }
    let mut stack = Vec::new();
    for &header in &objects {
        mark_if_root(state, header, &mut stack, edges);
    }
    for header in objects {
        let links = links_of(header);
        let resurrected = links.prev_word() & REACHABLE != 0;
        links.set_prev_word(0);
        // SAFETY: the object is alive, in no list, and held by us.
        unsafe {
            if resurrected {
                old.insert_tagged(Links::of(header), tag);
                raw::release(header);
            } else {
                unreachable.insert_before(Links::of(header));
            }
        }
    }
}

/// Drops the values of the garbage in `unreachable` (which breaks its cycles) and frees each
/// object as soon as nothing holds it; what is still held when all values are dropped is
/// released to its last handle. Leaves `unreachable` (of `count` objects) empty.
fn delete(state: &State, unreachable: &Links, count: usize) {
    let end: *const Links = unreachable;
    let mut cursor = unreachable.next();
    let mut next = cursor;
    // Room for every object up front: growing a vector of millions costs more than pages of
    // it left untouched.
    let mut still_held = Vec::with_capacity(count);
    // SAFETY (for the whole function): `unreachable` is a valid list of held objects, which
    // only this function frees (user code cannot free a held object). The walk goes forward
    // through `next`, read before the current object goes, and the list is dropped as a
    // whole: each object is marked as in no list, not unlinked, before its value is dropped.
    let panic = raw::run_deaths(|| {
        while cursor != end {
            // One catch for the whole batch; after a panic, go on with the next object.
            let result = catch_unwind(AssertUnwindSafe(|| {
                while cursor != end {
                    // SAFETY: see the top of the function. Each held object's value is
                    // dropped once, here; nothing borrows it. An object whose count is zero
                    // once its value is gone is referenced by nothing, not even by garbage
                    // dropped later, so it can go now.
                    unsafe {
                        let header = take_from_list(cursor, &mut next);
                        if !raw::drop_value_and_free(header) {
                            still_held.push(header);
                        }
                        cursor = next;
                    }
                }
            }));
            if let Err(panic) = result {
                // SAFETY: see the top of the function; the value counts as dropped
                // (unwinding dropped the rest of it), the object is in no list.
                unsafe {
                    let header = Links::header(cursor);
                    report(state, &format!("the Drop of {}", object_repr(header)), &panic);
                    still_held.push(header);
                    cursor = next;
                }
            }
        }
        None
    });
    unreachable.init_sentinel();
    if let Some(panic) = panic {
        report(state, "a Drop run by the collection", &panic);
    }
    for header in still_held {
        // SAFETY: held, value dropped, in no list: freed now if nothing holds it any more,
        // otherwise released to be freed by its last handle.
        unsafe {
            if raw::strong_count(header) == 0 {
                raw::free(header);
            } else {
                raw::release(header);
            }
        }
    }
}

/// [`delete`]'s step before an object's value is dropped: notes the next element in
/// `next`, marks the object as in no list, and returns its header.
///
/// # Safety
/// `links` are the links of a held object in [`delete`]'s list.
#[inline(always)]
unsafe fn take_from_list(links: *const Links, next: &mut *const Links) -> NonNull<ObjHeader> {
    // SAFETY: the caller's contract.
    unsafe {
        *next = (*links).next();
        (*links).set_next(std::ptr::null());
        (*links).set_prev_word(0);
        Links::header(links)
    }
}
