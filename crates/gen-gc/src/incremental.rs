//! Incremental collection of the old generation, after CPython 3.14's.
//!
//! There are two generations: the young list, and the old generation split into two
//! *spaces*. One space holds the old objects already examined in the current *pass*
//! (visited), the other those still pending. An automatic collection (generation 1)
//! collects the young generation, as a young collection does, and moves its survivors to
//! the *recent* list. From time to time it collects the oldest recent survivors (at most
//! twice `threshold0` of them) as a region of their own and moves those that survive to the
//! *newcomers* list; recent survivors and newcomers join the visited space when the pass
//! ends: the old generation stays in the order its objects were made, so that an increment
//! taken from its head is small when objects refer to older ones. It then takes an *increment* of the
//! pending space: objects from its head, each with every pending object it reaches (the
//! increment is closed under references), until a work budget is spent, and collects that
//! region as any other (trial deletion: an object referenced from outside the region counts
//! as held from outside, so collecting part of the heap never frees anything still in use),
//! moving the survivors to the visited space. When the pending space is empty the pass is
//! complete and the spaces swap roles, without touching an object.
//!
//! A garbage cycle is found by the end of the pass after the one during which it became
//! garbage: its young members survive until the pass ends (the old ones hold them) and then
//! join the old generation, so when the next pass starts all its members are pending, and
//! the first increment that takes one of them takes all of them, since each reaches the
//! others. A cycle all of whose members are recent survivors (garbage that was still in use
//! at one young collection, the common case) goes sooner, with the recent survivors: they
//! are collected every `threshold1` increments, as the generational policy collects its
//! middle generation, and at the next increment again while that finds garbage; while it
//! finds none the wait doubles, up to `threshold1 * threshold2` increments, so that
//! survivors that die young are rarely examined twice. Without this, garbage made faster
//! than a pass ends piles up for two passes (CPython 3.13's
//! `test_incremental_gc_handles_fast_cycle_creation`, ported in `tests/test_gc.rs`).
//!
//! The budget follows the generational policy's rate rather than allocation: four old
//! objects for each object by which the old generation has grown since the pass started
//! (the generational policy examines the whole old generation each time the objects that
//! reached it make a quarter of it), plus at least `threshold0 / threshold1` (70 by default)
//! per increment so that a pass ends even when the old generation does not grow, and at
//! most twice `threshold0` (1,400) before the closure, so that an increment is never much
//! larger than a young collection (CPython 3.14 allows one and a half times the young
//! objects). Growth, not promotions: objects that the young generation promotes and that
//! die soon after (the nodes of a tree that is built, read and dropped) leave the old
//! generation as large as before, and paying four old objects for each of them made
//! allocation-heavy programs spend most of their time re-examining the same old objects.
//! The size is an estimate kept between full collections: promotions added, and taken off
//! the old objects that died outside collections (counted by the heap) and those the
//! increments freed. Scanning the old generation at a rate tied to allocation (a fixed share
//! of it per young collection, whether or not anything survives) is what cost CPython
//! 3.13's first incremental collector its throughput, and why it was reverted.
//!
//! Spaces are told apart by the [`SPACE`] bit of an object's `prev` word, which the
//! collector owns outside its walks (rc-heap links new objects into the young list with
//! `IN_YOUNG` only). Space 0 is heap list 2 and space 1 is list 1, so that after a full
//! collection (which leaves everything in list 2 with no bit) every old object is pending.
//! Frozen objects carry the visited space's bit, renewed when the spaces swap, so that no
//! increment takes them.

use rc_heap::raw::{self, Links};

use crate::collect::{Outcome, Region, collect_region};
use crate::state::{NEWCOMERS, NUM_GENERATIONS, PERMANENT, RECENT, State};
use crate::walk::{for_each, links_of, list, list_len, report_walk, trace};

/// The bit of an old object's `prev` word that says which space it is in.
pub(crate) const SPACE: usize = 4;

/// The fewest increments a pass over a large old generation takes (the generational
/// policy's `threshold1 * threshold2` young collections between full ones, by default).
const MIN_INCREMENTS_PER_PASS: usize = 100;

/// Old objects owed per object the old generation grows by during a pass.
const CREDIT_PER_GROWTH: usize = 4;

/// An increment whose closure took more objects than this is put in address order before it
/// is collected (see [`sort_by_address`]); fewer under Miri, whose tests build small heaps.
const SORT_ABOVE: usize = if cfg!(miri) { 64 } else { 4096 };

/// The `prev` bits of the objects of old space `space`.
fn space_tag(space: usize) -> usize {
    if space == 1 { SPACE } else { 0 }
}

/// The heap list of old space `space`.
fn space_list(space: usize) -> &'static Links {
    list(NUM_GENERATIONS - 1 - space)
}

/// The `prev` bits every object of heap list `index` has while no collection runs, in
/// incremental collection.
pub(crate) fn list_tag(state: &State, index: usize) -> usize {
    match index {
        raw::YOUNG => raw::IN_YOUNG,
        PERMANENT | NEWCOMERS | RECENT => space_tag(state.visited_space.get()),
        index => space_tag(NUM_GENERATIONS - 1 - index),
    }
}

/// Sets the collector's bits of every object of a list (no collection runs).
fn retag(sentinel: &Links, tag: usize) {
    for_each(sentinel, |header| {
        let links = links_of(header);
        links.set_prev_tagged(links.prev(), tag);
    });
}

/// Collects `generation` under the incremental policy: 0 is the young generation alone, 1
/// the young generation and an increment of the old one (what automatic collection runs),
/// 2 everything.
pub(crate) fn collect(state: &State, generation: usize) -> (Outcome, usize) {
    let visited = state.visited_space.get();
    match generation {
        0 => collect_young(state, visited),
        1 => collect_increment(state),
        _ => {
            take_young_count();
            let all = list(NUM_GENERATIONS - 1);
            for index in [raw::YOUNG, 1, NEWCOMERS, RECENT] {
                // SAFETY: distinct sentinels of this thread's heap.
                unsafe { Links::splice_all(list(index), all) };
            }
            let (outcome, candidates) = collect_region(state, &Region { examined: all, survivors: all, tag: 0 });
            raw::take_uncounted_deaths();
            start_pass(state, candidates.saturating_sub(outcome.collected));
            // Everything is in space 0, with no bit: a new pass starts with all of it pending.
            state.visited_space.set(1);
            state.old_work_credit.set(0);
            state.older_counts.set([0; NUM_GENERATIONS]);
            retag(list(PERMANENT), space_tag(1));
            (outcome, candidates)
        }
    }
}

/// The heap's young count when a collection started, and the deaths it could not take.
struct YoungCount {
    count: usize,
    uncounted_deaths: usize,
}

impl YoungCount {
    /// Deaths of objects outside the young list since the previous collection, given how
    /// many objects the young list held: what died but did not leave the young list.
    fn older_deaths(&self, young: usize) -> usize {
        (young + self.uncounted_deaths).saturating_sub(self.count)
    }
}

/// Resets the heap's young count at a collection's start and returns what it was.
fn take_young_count() -> YoungCount {
    let count = raw::young_count();
    raw::set_young_count(0);
    YoungCount { count, uncounted_deaths: raw::take_uncounted_deaths() }
}

/// Starts a pass over an old generation of `old_size` objects.
fn start_pass(state: &State, old_size: usize) {
    state.old_size.set(old_size);
    state.pass_start_size.set(old_size);
    state.pass_growth_paid.set(0);
    state.growth_owed.set(0);
}

/// Updates the old generation's estimated size after a collection (`promoted` objects came
/// in from the young generation; `died` old objects died since the last collection and
/// `freed` were freed by this one) and owes the pass four old objects for each one it has
/// grown by beyond its largest size yet in this pass.
fn note_growth(state: &State, promoted: usize, died: usize, freed: usize) {
    let size = state.old_size.get().saturating_add(promoted).saturating_sub(died.saturating_add(freed));
    state.old_size.set(size);
    let growth = size.saturating_sub(state.pass_start_size.get());
    let paid = state.pass_growth_paid.get();
    if growth > paid {
        state.pass_growth_paid.set(growth);
        let owed = state.growth_owed.get().saturating_add((growth - paid).saturating_mul(CREDIT_PER_GROWTH));
        state.growth_owed.set(owed);
    }
}

/// Adds `work` old objects to what the next increments owe.
fn add_credit(state: &State, work: usize) {
    let work = isize::try_from(work).unwrap_or(isize::MAX);
    state.old_work_credit.set(state.old_work_credit.get().saturating_add(work));
}

/// The young generation alone: its survivors join the recent ones.
fn collect_young(state: &State, visited: usize) -> (Outcome, usize) {
    let counted = take_young_count();
    let region = Region { examined: list(raw::YOUNG), survivors: list(RECENT), tag: space_tag(visited) };
    let (outcome, candidates) = collect_region(state, &region);
    // The young count was reset: deaths during the collection are the garbage.
    raw::take_uncounted_deaths();
    let promoted = candidates.saturating_sub(outcome.collected + outcome.uncollectable);
    note_growth(state, promoted, counted.older_deaths(candidates), 0);
    (outcome, candidates)
}

/// The young generation, then an increment of the pending old space, each collected as a
/// region of its own. The young generation is counted in one walk, as a young collection
/// is (its objects carry `IN_YOUNG`), and its survivors join the newcomers; the increment
/// is then taken from the pending space with the credit the young generation's growth
/// added. A cycle through both young and pending objects is not lost: its young members
/// survive (the old ones hold them) and join the old generation when the pass ends, so the
/// whole cycle is pending in the next pass, within the bound above.
fn collect_increment(state: &State) -> (Outcome, usize) {
    let visited = state.visited_space.get();
    let [threshold0, threshold1, threshold2] = state.thresholds.get();
    let (mut young, mut young_candidates) = collect_young(state, visited);
    let due = state.recent_countdown.get().saturating_sub(1);
    if due == 0 {
        // The oldest recent survivors too, at most twice `threshold0` of them: garbage that
        // outlived one young collection goes without waiting for the pass to end. While
        // that finds garbage, the next increment takes more; once it finds none, the wait is
        // `threshold1` increments (as often as the generational policy collects its middle
        // generation), doubled each time it finds none again, up to the `threshold1 *
        // threshold2` increments between the generational policy's full collections.
        // Survivors that die young meanwhile are never examined twice, and those still
        // recent when the pass ends join the old generation with the newcomers.
        let (recent, candidates) = collect_recent(state, visited, threshold0.saturating_mul(2).max(1));
        young.collected += recent.collected;
        young.uncollectable += recent.uncollectable;
        young_candidates += candidates;
        let step = threshold1.max(1);
        let interval = if recent.collected + recent.uncollectable > 0 {
            1
        } else {
            state.recent_interval.get().saturating_mul(2).clamp(step, step.saturating_mul(threshold2.max(1)))
        };
        state.recent_interval.set(interval);
        state.recent_countdown.set(interval);
    } else {
        state.recent_countdown.set(due);
    }
    let pending = 1 - visited;
    let tag = space_tag(visited);
    let increment = Links::new_sentinel();
    increment.init_sentinel();
    let minimum = (threshold0 / threshold1.max(1)).max(1);
    // What the old generation's growth is owed comes in at most a hundredth of the old
    // generation per increment: a pass spans at least a hundred increments, as the
    // generational policy's full collections are a hundred young collections apart at the
    // least.
    let most = (state.old_size.get() / MIN_INCREMENTS_PER_PASS).saturating_sub(minimum);
    let owed = state.growth_owed.get();
    let released = owed.min(most);
    state.growth_owed.set(owed - released);
    add_credit(state, minimum + released);
    // An increment whose closure went past its budget leaves a debt, which the next ones
    // pay by taking no old object: the scan's rate holds whatever the heap's shape.
    // At most twice `threshold0` old objects (before the closure of the last one taken).
    let most = threshold0.saturating_mul(2).max(minimum);
    let budget = usize::try_from(state.old_work_credit.get()).unwrap_or(0).min(most);
    let taken = take_increment(state, &increment, pending, tag, budget);
    state.old_work_credit.set(state.old_work_credit.get().saturating_sub(isize::try_from(taken).unwrap_or(isize::MAX)));

    let survivors = space_list(visited);
    let region = Region { examined: &increment, survivors, tag };
    let (old, old_candidates) = if taken == 0 { (Outcome::default(), 0) } else { collect_region(state, &region) };
    raw::take_uncounted_deaths();
    note_growth(state, 0, 0, old.collected);

    let mut counts = state.older_counts.get();
    counts[1] += 1;
    if space_list(pending).next() == std::ptr::from_ref(space_list(pending)) {
        // The pass is complete: the visited space, then the newcomers and the recent
        // survivors, becomes the pending one.
        // SAFETY: distinct sentinels of this thread's heap.
        unsafe {
            Links::splice_all(list(NEWCOMERS), space_list(visited));
            Links::splice_all(list(RECENT), space_list(visited));
        }
        state.visited_space.set(pending);
        start_pass(state, state.old_size.get());
        retag(list(PERMANENT), space_tag(pending));
        counts[1] = 0;
        counts[2] += 1;
    }
    state.older_counts.set(counts);
    let outcome =
        Outcome { collected: young.collected + old.collected, uncollectable: young.uncollectable + old.uncollectable };
    (outcome, young_candidates + old_candidates)
}

/// The oldest `most` recent survivors of the young generation, collected as a region of
/// their own (what they hold of each other and nothing else holds is garbage; the other
/// recent survivors count as outside); the survivors join the newcomers, in their order, so
/// that each is examined this way once.
fn collect_recent(state: &State, visited: usize, most: usize) -> (Outcome, usize) {
    let tag = space_tag(visited);
    let chunk = Links::new_sentinel();
    chunk.init_sentinel();
    let recent = list(RECENT);
    let end: *const Links = recent;
    let mut taken = 0;
    while taken < most && recent.next() != end {
        // SAFETY: `recent.next()` is an element of the recent list (not its sentinel), the
        // links of a live tracked object; `chunk` is a valid list.
        unsafe { move_to(recent.next(), &chunk, tag) };
        taken += 1;
    }
    if taken == 0 {
        return (Outcome::default(), 0);
    }
    let region = Region { examined: &chunk, survivors: list(NEWCOMERS), tag };
    let (outcome, candidates) = collect_region(state, &region);
    raw::take_uncounted_deaths();
    note_growth(state, 0, 0, outcome.collected);
    (outcome, candidates)
}

/// Moves objects from the head of the pending space into `increment`, each with every
/// pending object it reaches, until `budget` objects have been taken or the space is empty.
/// Returns how many were taken.
fn take_increment(state: &State, increment: &Links, pending: usize, tag: usize, budget: usize) -> usize {
    let source = space_list(pending);
    let pending_tag = space_tag(pending);
    let end: *const Links = source;
    let mut edges = state.take_edges();
    let mut taken = 0;
    // Debug lines (the writer is user code) wait until the lists are as they will stay.
    let deferred = state.defer_debug_lines();
    // No walk runs outside a collection or `object_graph`, which both keep collections off.
    let walk = raw::begin_walk().expect("a collection starts outside the heap's walks");
    while taken < budget && source.next() != end {
        let head = source.next();
        // SAFETY: `head` is an element of the pending space's list (not its sentinel), the
        // links of a live tracked object; `increment` is a valid list.
        unsafe { move_to(head, increment, tag) };
        taken += 1;
        // The closure: trace what was taken, in order, taking every pending object reached.
        let mut cursor = head;
        while cursor != std::ptr::from_ref(increment) {
            // SAFETY: `cursor` is an element of `increment` (the links of a live object).
            let header = unsafe { Links::header(cursor) };
            trace(state, header, &mut edges);
            for &child in edges.edges() {
                let links = links_of(child);
                let word = links.prev_word();
                if links.is_linked() && word & raw::IN_YOUNG == 0 && word & SPACE == pending_tag {
                    // SAFETY: a linked old object with the pending space's bit is in the
                    // pending space's list (see the module's invariants); the pointer is made
                    // from its header, so it covers the whole object.
                    unsafe { move_to(Links::of(child).as_ptr(), increment, tag) };
                    taken += 1;
                }
            }
            // SAFETY: as above.
            cursor = unsafe { (*cursor).next() };
        }
    }
    report_walk(state, walk.finish());
    state.keep_edges(edges);
    drop(deferred);
    if taken > SORT_ABOVE {
        sort_by_address(increment, tag);
    }
    taken
}

/// Relinks the objects of `increment` in the order of their addresses. A closure takes
/// objects in the order their holders' `Trace` reports them: a `HashMap`'s holding thousands
/// of objects reports them in its hash order, all over memory, and every later walk of the
/// increment (the counting, the marking) and of the old space its survivors join would read
/// them in that order, a cache miss each. Objects allocated together lie together, so
/// address order is close to allocation order, the order the lists otherwise keep.
fn sort_by_address(increment: &Links, tag: usize) {
    let mut members: Vec<std::ptr::NonNull<Links>> = Vec::new();
    let end: *const Links = increment;
    let mut cursor = increment.next();
    let (mut last, mut descents) = (0, 0);
    while cursor != end {
        descents += usize::from(cursor.addr() < last);
        last = cursor.addr();
        // SAFETY: `cursor` is an element of `increment` (the links of a live object), made from
        // a list pointer that covers the whole object; the list is not changed during the walk.
        members.push(unsafe { std::ptr::NonNull::new_unchecked(cursor.cast_mut()) });
        // SAFETY: as above.
        cursor = unsafe { (*cursor).next() };
    }
    // A closure met in address order already (a list built forwards, a tree) stays as it is:
    // sorting a million objects costs more than walking them out of order a little.
    if descents.saturating_mul(8) < members.len() {
        return;
    }
    members.sort_unstable_by_key(|links| links.as_ptr().addr());
    increment.init_sentinel();
    for links in members {
        // SAFETY: each is the links of a live tracked object that was in `increment`, which was
        // emptied above; `insert_tagged` sets both of its words.
        unsafe { increment.insert_tagged(links, tag) };
    }
}

/// Unlinks `links` from its list and appends it to `increment` with `tag`.
///
/// # Safety
/// `links` are the links of a live tracked object in a valid list (not a sentinel);
/// `increment` is a valid list.
unsafe fn move_to(links: *const Links, increment: &Links, tag: usize) {
    // SAFETY: the caller's contract. The pointer came from a list, which leads back to the
    // object's header, so it carries the whole object's provenance.
    unsafe {
        (*links).unlink();
        increment.insert_tagged(std::ptr::NonNull::new_unchecked(links.cast_mut()), tag);
    }
}

/// Makes the lists fit the incremental policy after the generational one ran: the old
/// generations become space 0, all pending; frozen objects get the visited space's bit.
pub(crate) fn enter(state: &State) {
    for index in 1..NUM_GENERATIONS {
        retag(list(index), 0);
    }
    // SAFETY: distinct sentinels of this thread's heap.
    unsafe {
        Links::splice_all(list(1), space_list(0));
        Links::splice_all(list(NEWCOMERS), space_list(0));
        Links::splice_all(list(RECENT), space_list(0));
    }
    state.visited_space.set(1);
    state.old_work_credit.set(0);
    state.older_counts.set([0; NUM_GENERATIONS]);
    retag(list(PERMANENT), space_tag(1));
    raw::take_uncounted_deaths();
    start_pass(state, list_len(space_list(0)));
}

/// Where `unfreeze` puts frozen objects: the visited space, whose bit they carry. They
/// join the old generation's size, not the pass's growth.
pub(crate) fn unfrozen_list(state: &State) -> &'static Links {
    let unfrozen = list_len(list(PERMANENT));
    state.old_size.set(state.old_size.get() + unfrozen);
    state.pass_start_size.set(state.pass_start_size.get() + unfrozen);
    space_list(state.visited_space.get())
}

/// `freeze` under the incremental policy: every object gets the visited space's bit, and
/// the old generation is empty.
pub(crate) fn tag_for_freeze(state: &State) {
    start_pass(state, 0);
    let tag = space_tag(state.visited_space.get());
    for index in [raw::YOUNG, 1, 2, NEWCOMERS, RECENT] {
        retag(list(index), tag);
    }
}
