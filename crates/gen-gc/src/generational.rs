//! CPython 3.11's generational policy: a collection of generation `g` examines it and the
//! younger ones, and its survivors move one generation up.

use rc_heap::raw::{self, Links};

use crate::collect::{Outcome, Region, collect_region};
use crate::state::{NUM_GENERATIONS, State};
use crate::walk::list;

/// CPython 3.11's generational collection of `generation` and the younger ones.
pub(crate) fn collect_generational(state: &State, generation: usize) -> (Outcome, usize) {
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
    let (outcome, candidates) = collect_region(state, &Region { examined: young, survivors: old, tag: 0 });

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
