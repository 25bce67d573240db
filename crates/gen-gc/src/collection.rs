//! A collection as the program sees it: the callbacks around it, the debug statistics, the
//! policy that picks what it examines, the automatic trigger, and what `freeze` and
//! `unfreeze` move.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use rc_heap::raw::{self, Links};

use crate::collect::Outcome;
use crate::debug::DebugFlags;
use crate::generational::collect_generational;
use crate::incremental;
use crate::state::{
    CallbackInfo, CollectionPolicy, NEWCOMERS, NUM_GENERATIONS, PERMANENT, Phase, RECENT, State, generation_lists,
    try_with_state,
};
use crate::walk::{for_each, links_of, list, list_len, report};

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

/// Clears the thread's collecting flag when the collection ends, even by a panic.
struct Collecting<'a>(&'a State);

impl Drop for Collecting<'_> {
    fn drop(&mut self) {
        self.0.collecting.set(false);
    }
}

/// Calls the collection callbacks; a panicking one is reported and the others still run.
/// The list is read afresh before each call, as CPython walks `gc.callbacks` by index: a
/// callback added by another during the walk is called in the same phase.
fn invoke_callbacks(state: &State, phase: Phase, info: &CallbackInfo) {
    if state.exiting.get() {
        return;
    }
    let mut index = 0;
    loop {
        // The list's borrow ends with this statement, before the call.
        let Some(callback) = state.callbacks.borrow().get(index).map(|(_, callback)| callback.clone()) else {
            break;
        };
        index += 1;
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| callback(phase, info))) {
            report(state, "a collection callback", panic);
        }
    }
}

/// Runs the collection `generation` means under the thread's policy.
fn collect(state: &State, generation: usize) -> (Outcome, usize) {
    if state.debug.get().contains(DebugFlags::STATS) {
        // By generation as `get_objects` tells them.
        let policy = state.collection_policy.get();
        let counts: Vec<String> = (0..NUM_GENERATIONS)
            .map(|g| generation_lists(g, policy).iter().map(|&index| list_len(list(index))).sum::<usize>().to_string())
            .collect();
        state.debug_line(format_args!("gc: collecting generation {generation}..."));
        state.debug_line(format_args!("gc: objects in each generation: {}", counts.join(" ")));
        state.debug_line(format_args!("gc: objects in permanent generation: {}", list_len(list(PERMANENT))));
    }
    match state.collection_policy.get() {
        CollectionPolicy::Generational => collect_generational(state, generation),
        CollectionPolicy::Incremental => incremental::collect(state, generation),
    }
}

/// The allocation hook: under the generational policy CPython 3.11's `collect_generations`,
/// picking the oldest generation whose count exceeds its threshold; under the incremental
/// one, the young generation and an increment of the old.
pub(crate) fn collect_automatically() {
    try_with_state(|state| {
        let thresholds = state.thresholds.get();
        if !state.enabled.get() || thresholds[0] == 0 || state.collecting.get() {
            return;
        }
        let counts = state.counts();
        if state.collection_policy.get() == CollectionPolicy::Incremental {
            if counts[0] > thresholds[0] {
                collect_with_callbacks(state, 1);
            }
            return;
        }
        for generation in (0..NUM_GENERATIONS).rev() {
            if counts[generation] > thresholds[generation] {
                if generation == NUM_GENERATIONS - 1
                    && state.long_lived_pending.get() < state.long_lived_total.get() / 4
                {
                    continue;
                }
                collect_with_callbacks(state, generation);
                break;
            }
        }
    });
}

/// `gc.freeze()`'s work: moves every tracked object to the permanent generation.
pub(crate) fn freeze(state: &State) {
    if state.collection_policy.get() == CollectionPolicy::Incremental {
        incremental::tag_for_freeze(state);
    } else {
        // Frozen objects are no longer young.
        for_each(list(raw::YOUNG), |header| {
            let links = links_of(header);
            links.set_prev_tagged(links.prev(), 0);
        });
    }
    for index in [0, 1, 2, NEWCOMERS, RECENT] {
        // SAFETY: distinct sentinels of this thread's heap.
        unsafe { Links::splice_all(list(index), list(PERMANENT)) };
    }
    // CPython 3.11's `gc.freeze()` zeroes the young count only, so the older generations'
    // counts of collections go on; 3.14's zeroes every count of its incremental spaces.
    if state.collection_policy.get() == CollectionPolicy::Incremental {
        state.older_counts.set([0; NUM_GENERATIONS]);
    }
    raw::set_young_count(0);
}

/// `gc.unfreeze()`'s work: moves the permanent generation back into the oldest generation
/// (under the incremental policy, into the old space the current pass has visited, as
/// CPython 3.14 does: the unfrozen objects wait for the next pass).
pub(crate) fn unfreeze(state: &State) {
    let to = match state.collection_policy.get() {
        CollectionPolicy::Incremental => incremental::unfrozen_list(state),
        CollectionPolicy::Generational => list(NUM_GENERATIONS - 1),
    };
    // SAFETY: distinct sentinels of this thread's heap.
    unsafe { Links::splice_all(list(PERMANENT), to) };
}
