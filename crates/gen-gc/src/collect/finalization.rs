//! Finalization (steps 3 to 6): under the legacy policy the objects with finalizers, and
//! what they reach, are set aside as uncollectable; weak references to the garbage are
//! cleared and the callbacks of those the garbage does not hold run; finalizers run once
//! per object; and, since a finalizer may store a handle, reachability is counted again
//! inside the garbage, and what was resurrected survives.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use rc_heap::raw::{self, EdgeList, Links, ObjHeader};
use rc_heap::{Visitor, WeakEdge};

use super::counting::{COLLECTING, ONE_REF, REACHABLE, REFS_SHIFT, subtract_internal_refs};
use super::marking::{mark_from, mark_if_root};
use crate::debug::{DebugFlags, object_repr};
use crate::state::State;
use crate::walk::{for_each, link_all, links_of, report, report_unraisable, take_list, trace};

/// What the legacy policy set aside: how many objects, and what is reported of them once
/// the collectable garbage is dealt with, as CPython reports its uncollectable objects after
/// `delete_garbage` (debug lines and `garbage` then list the collectable objects first).
pub(super) struct SetAside {
    pub(super) count: usize,
    lines: Vec<String>,
    garbage: Vec<rc_heap::GcAny>,
}

impl SetAside {
    pub(super) fn none() -> SetAside {
        SetAside { count: 0, lines: Vec::new(), garbage: Vec::new() }
    }

    /// The `uncollectable` lines, and the objects `garbage` gets.
    pub(super) fn report(self, state: &State) {
        for line in &self.lines {
            state.debug_line(format_args!("gc: uncollectable {line}"));
        }
        state.garbage.borrow_mut().extend(self.garbage);
    }
}

/// Legacy policy: the objects with finalizers in `unreachable` (of `count` objects), and
/// everything they reach, are uncollectable: they leave it for `old`.
pub(super) fn set_aside_legacy_finalizers(
    state: &State,
    unreachable: &Links,
    count: usize,
    old: &Links,
    tag: usize,
    debug: DebugFlags,
    edges: &mut EdgeList,
) -> SetAside {
    let (collectable, found) = split_legacy_finalizers(state, take_list(unreachable, count), edges);
    let mut aside = SetAside { count: found.len(), lines: Vec::new(), garbage: Vec::new() };
    link_all(unreachable, &collectable);
    for header in found {
        if debug.contains(DebugFlags::UNCOLLECTABLE) {
            aside.lines.push(object_repr(header).to_string());
        }
        // As CPython: `garbage` gets the objects with finalizers (everything, with
        // SAVEALL); what they reach stays alive through them.
        // SAFETY: an unreachable object is alive (its cycle holds it), held, and in no
        // list once taken out.
        unsafe {
            old.insert_tagged(Links::of(header), tag);
            if debug.contains(DebugFlags::SAVEALL) || raw::type_info(header).has_finalizer() {
                aside.garbage.push(raw::handle(header));
            }
            raw::release(header);
        }
    }
    aside
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
///
/// A weak reference is garbage, as CPython's `handle_weakrefs` has it, when garbage holds
/// every handle of it: a clone held anywhere else keeps it, and its callback runs. The mark
/// matters only for weak references to the garbage; those to objects that outlive the
/// collection are unmarked again before any callback runs, so that their callbacks are not
/// lost should garbage holding them be resurrected or a clone outlive it.
pub(super) fn clear_weak_refs(state: &State, unreachable: &Links) -> bool {
    let marked = raw::weak_callbacks_pending() && mark_weak_refs_of_garbage(state, unreachable);
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
    if marked {
        unmark_weak_refs_to_survivors(state, unreachable);
    }
    let any_callback = cleared.as_ref().is_some_and(|cleared| !cleared.is_empty());
    if let Some(panic) = cleared.and_then(raw::ClearedWeakRefs::run) {
        report_unraisable(state, "a weak reference callback", panic);
    }
    any_callback
}

/// Marks the weak references only the garbage holds: their callbacks must not run. Returns
/// whether the garbage holds any weak reference.
fn mark_weak_refs_of_garbage(state: &State, unreachable: &Links) -> bool {
    /// Counts the visits of each weak reference with more than one handle.
    struct MarkWeak {
        held: HashMap<usize, usize>,
        any: bool,
    }
    impl Visitor for MarkWeak {
        fn visit_edge(&mut self, _edge: rc_heap::Edge<'_>) {}
        fn visit_weak(&mut self, weak: WeakEdge<'_>) {
            self.any = true;
            let handles = weak.handle_count();
            let held = if handles <= 1 {
                handles
            } else {
                let held = self.held.entry(weak.key()).or_insert(0);
                *held += 1;
                *held
            };
            if held == handles {
                weak.mark_owner_unreachable();
            }
        }
    }
    let mut visitor = MarkWeak { held: HashMap::new(), any: false };
    trace_garbage(state, unreachable, &mut visitor);
    visitor.any
}

/// Unmarks the weak references the garbage holds to objects that are not garbage.
fn unmark_weak_refs_to_survivors(state: &State, unreachable: &Links) {
    struct UnmarkWeak;
    impl Visitor for UnmarkWeak {
        fn visit_edge(&mut self, _edge: rc_heap::Edge<'_>) {}
        fn visit_weak(&mut self, weak: WeakEdge<'_>) {
            if weak.target().is_some() {
                weak.unmark_owner_unreachable();
            }
        }
    }
    trace_garbage(state, unreachable, &mut UnmarkWeak);
}

/// Traces every object of the garbage with `visitor`; a panicking `Trace` is reported.
fn trace_garbage(state: &State, unreachable: &Links, visitor: &mut impl Visitor) {
    for_each(unreachable, |header| {
        // SAFETY: held garbage is alive with its value intact.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { raw::trace(header, &mut *visitor) }));
        if let Err(panic) = result {
            report(state, &format!("{}'s Trace impl", object_repr(header)), panic);
        }
    });
}

/// Runs the pending finalizers; returns whether any ran.
pub(super) fn run_finalizers(state: &State, unreachable: &Links) -> bool {
    let mut ran = false;
    for_each(unreachable, |header| {
        // SAFETY: held garbage is alive with its value intact; finalizers may resurrect it,
        // which `resurrect` sees in the counts.
        unsafe {
            if raw::type_info(header).has_finalizer() && !raw::is_finalized(header) {
                ran = true;
                if let Some(panic) = raw::finalize(header) {
                    report_unraisable(state, &format!("the finalizer of {}", object_repr(header)), panic);
                }
            }
        }
    });
    ran
}

/// After the finalizers: objects referenced from outside the unreachable set again (a
/// finalizer stored a handle) survive, with everything they reach, into `old`; so does the
/// garbage they let go of (below), given back to reference counting, which frees it; the
/// rest stay in `unreachable` (which holds about `count` objects). Returns how many stay:
/// what the collection frees (CPython since 3.9 does not count resurrected objects as
/// collected, nor those a finalizer's return freed).
pub(super) fn resurrect(
    state: &State,
    unreachable: &Links,
    count: usize,
    old: &Links,
    tag: usize,
    edges: &mut EdgeList,
) -> usize {
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
    count_let_go(state, &objects, edges);
    let mut still_garbage = 0;
    let mut released = Vec::new();
    for header in objects {
        let links = links_of(header);
        let word = links.prev_word();
        let back_to_counts = word & REACHABLE != 0 || word >> REFS_SHIFT == 0;
        links.set_prev_word(0);
        // SAFETY: the object is alive, in no list, and held by us.
        unsafe {
            if back_to_counts {
                old.insert_tagged(Links::of(header), tag);
                released.push(header);
            } else {
                unreachable.insert_before(Links::of(header));
                still_garbage += 1;
            }
        }
    }
    // Once every object is in a list with its word reset: a release may free an object, which
    // runs its `Drop` (user code, which must find the lists whole).
    for header in released {
        // SAFETY: the object is alive, in `old`, and held by us.
        unsafe { raw::release(header) };
    }
    still_garbage
}

/// Leaves a count of zero in the word of each unreachable object that user code let go of,
/// and of what only such objects hold: no handle holds it any more (a finalizer or a callback
/// broke its cycle), or only handles that such objects own. CPython frees these by reference
/// counting as the finalizer returns, before it counts the garbage; here they go back to
/// reference counting together after the recount. The rest of the unreachable objects keep
/// a count above zero. A `Trace` that reports too many edges can only make an object go
/// back to reference counting, where it lives or dies by its count as any object does.
fn count_let_go(state: &State, objects: &[NonNull<ObjHeader>], edges: &mut EdgeList) {
    let mut let_go = Vec::new();
    for &header in objects {
        let links = links_of(header);
        if links.prev_word() & REACHABLE == 0 {
            // SAFETY: held garbage is allocated and not queued.
            let refs = unsafe { raw::strong_count(header) };
            links.set_prev_word((refs << REFS_SHIFT) | COLLECTING);
            if refs == 0 {
                let_go.push(header);
            }
        }
    }
    while let Some(header) = let_go.pop() {
        trace(state, header, edges);
        for &child in edges.edges() {
            let links = links_of(child);
            let word = links.prev_word();
            if word & COLLECTING != 0 && word & REACHABLE == 0 && word >> REFS_SHIFT > 0 {
                links.set_prev_word(word - ONE_REF);
                if word >> REFS_SHIFT == 1 {
                    let_go.push(child);
                }
            }
        }
    }
}
