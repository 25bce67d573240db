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
//!    resurrected survives, and is not counted as collected, as in CPython since 3.9; what
//!    user code let go of (an object that broke its own cycle, and what only such objects
//!    hold) goes back to reference counting, which frees it, as CPython frees it when the
//!    finalizer returns, and is not counted either ([`finalization`], with the walks of
//!    [`counting`] and [`marking`]).
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
//! This module runs the steps over one region of the heap ([`collect_region`]); which region
//! a collection examines is the policies' choice (`crate::generational`,
//! `crate::incremental`), and what surrounds it (callbacks, statistics) is
//! `crate::collection`'s. The bits of the `prev` word are defined with the first phase that
//! writes them ([`counting`]); the heap's lists, tracing and the reports of panics are
//! `crate::walk`'s. Each phase uses only the phases before it, and none uses this module.

use rc_heap::raw::Links;

use crate::debug::{DebugFlags, object_repr};
use crate::state::{FinalizerPolicy, State};
use crate::walk::for_each;

mod counting;
mod marking;
mod finalization;
mod deletion;

use deletion::{delete, save_all};
use finalization::{SetAside, clear_weak_refs, resurrect, run_finalizers, set_aside_legacy_finalizers};
use marking::{Found, find_unreachable};

/// What one collection found.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Outcome {
    pub(crate) collected: usize,
    pub(crate) uncollectable: usize,
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
}

/// Collects the objects of `region.examined`: finds what nothing outside them reaches,
/// moves the survivors to `region.survivors`, and runs the steps after the marking walk.
/// Returns what it found and how many objects it examined.
pub(crate) fn collect_region(state: &State, region: &Region<'_>) -> (Outcome, usize) {
    let debug = state.debug.get();
    let mut edges = state.take_edges();
    let legacy = state.policy.get() == FinalizerPolicy::Legacy;
    // The garbage is kept in this list until it is freed; the sentinel stays here, where it
    // does not move.
    let unreachable = Links::new_sentinel();
    unreachable.init_sentinel();
    // Debug lines (user code) wait until the walks are over and the survivors moved: an
    // object made or relinked into the young list before that would be moved with its
    // `IN_YOUNG` bit.
    let deferred = state.defer_debug_lines();
    // Lines written from here on reach user code while the garbage is held.
    let user_lines = state.user_lines();
    let Found { count, any_weak, any_finalizer, candidates, .. } =
        find_unreachable(state, region.examined, &unreachable, &mut edges, region.tag);
    // Every examined object that is not unreachable is still in `region.examined`; the
    // unreachable ones are held.
    if !std::ptr::eq(region.examined, region.survivors) {
        // SAFETY: distinct sentinels of valid lists.
        unsafe { Links::splice_all(region.examined, region.survivors) };
    }
    drop(deferred);
    let old = region.survivors;

    // Legacy policy: finalizer objects and all they reach are uncollectable.
    let aside = if legacy {
        set_aside_legacy_finalizers(state, &unreachable, count, old, region.tag, debug, &mut edges)
    } else {
        SetAside::none()
    };
    let uncollectable = aside.count;
    let mut collected = count - uncollectable;

    // From here on user code runs: the garbage is held (`move_unreachable` held it), so that
    // no count reaching zero frees it, and only this function takes objects out of the list.
    // As CPython: the collectable objects are listed before their weak callbacks run.
    if debug.contains(DebugFlags::COLLECTABLE) {
        for_each(&unreachable, |header| state.debug_line(format_args!("gc: collectable {}", object_repr(header))));
    }
    let callbacks_ran = any_weak && clear_weak_refs(state, &unreachable);
    // Only user code run here can resurrect: a finalizer, a weak callback that reaches the
    // garbage through something it is held in without the collector's knowing (a shared
    // `std::rc::Rc`, traced while its count is one), or the debug writer (or a `tracing`
    // subscriber), which ran before the weak references were cleared and may have upgraded
    // one. Weak references to the garbage are dead and ids of held objects are not handed
    // out, so with none of them the recount is skipped, as CPython's
    // `handle_resurrected_objects` finds nothing then.
    let finalized = any_finalizer && run_finalizers(state, &unreachable);
    let wrote = state.user_lines() != user_lines;
    if finalized || callbacks_ran || wrote {
        collected = resurrect(state, &unreachable, collected, old, region.tag, &mut edges);
    }

    if debug.contains(DebugFlags::SAVEALL) {
        save_all(state, &unreachable, collected, old, region.tag);
    } else {
        delete(state, &unreachable, collected);
    }
    aside.report(state);
    state.keep_edges(edges);
    (Outcome { collected, uncollectable }, candidates)
}
