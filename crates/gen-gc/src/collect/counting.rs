//! Counting (step 2, first half): CPython's `update_refs` and `subtract_refs`. Each examined
//! object's `gc_refs` starts at its reference count, and every edge from inside the examined
//! set takes one off its target; what stays positive is referenced from outside. The
//! counting walk also notes the objects whose `Trace` reports no edge, so that the marking
//! walk need not trace them again, may reverse the list so that the marking walk can go
//! from its end, and tells which direction suits the objects.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use rc_heap::raw::{self, EdgeList, Links, ObjHeader, Panic};

use crate::debug::object_repr;
use crate::state::State;
use crate::walk::{links_of, report, trace};

// The bits of the `prev` word while a collection walks: `(gc_refs << 3) | flags`.

/// The object is in the set being examined.
pub(super) const COLLECTING: usize = 1;
/// The object was found reachable (in the recounts after the marking walk, on objects out
/// of the lists).
pub(super) const REACHABLE: usize = 2;
/// The object's `Trace` reported no edge in the counting walk, so the marking walk need not
/// trace it again (`Trace` reports the same edges while nothing mutates the value). Shares
/// its bit with `REACHABLE`, which only the later recounts use.
pub(super) const NO_EDGES: usize = 2;
/// The object is in the list of objects found unreachable so far (`move_unreachable`).
pub(super) const TENTATIVE: usize = 4;
/// How far `gc_refs` is shifted left in the `prev` word, above the flags.
pub(super) const REFS_SHIFT: u32 = 3;
/// One reference, as counted in the `prev` word.
pub(super) const ONE_REF: usize = 1 << REFS_SHIFT;

/// `gc_refs = refcount`, and the object joins the examined set.
#[inline]
pub(super) fn init_refs(links: &Links, header: NonNull<ObjHeader>) -> usize {
    // SAFETY: objects in the collector's lists are alive.
    let word = (unsafe { raw::strong_count(header) } << REFS_SHIFT) | COLLECTING;
    links.set_prev_word(word);
    word
}

/// What the counting walk tells the marking walk.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counted {
    /// How many objects were examined.
    pub(super) candidates: usize,
    /// The walk left the list reversed: each element's `next` link is its predecessor (the
    /// head's is the sentinel), and the sentinel's links are unchanged. The marking walk
    /// then goes from the list's end and restores the links.
    pub(super) reversed: bool,
    /// Edges to an object the walk had not reached yet and no edge had reached before.
    pub(super) ahead: usize,
    /// Edges to an object already counted: mostly objects the walk had passed.
    pub(super) behind: usize,
}

impl Counted {
    /// Which way the marking walk of the next collection of this kind should go, by the
    /// edges this walk met: from the list's end when more edges point back along the list
    /// than forward, so that most referrers are met before what they refer to (a chain built
    /// backwards, a tree built from its leaves). `None` when they do not tell.
    pub(super) fn backwards_next_time(&self) -> Option<bool> {
        (self.ahead != self.behind).then_some(self.behind > self.ahead)
    }
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
///   are outside the set: `next` is null only for them, reversed or not.
///
/// When `reverse`, the walk reverses the list's `next` links as it goes (see
/// [`Counted::reversed`]): they are in the lines the walk writes anyway, so this costs next
/// to nothing, and lets the marking walk go from the end without reading the list twice.
#[inline(always)]
pub(super) fn update_and_subtract_refs<const YOUNG_ONLY: bool>(
    state: &State,
    young: &Links,
    edges: &mut EdgeList,
    reverse: bool,
) -> Counted {
    let mut candidates = 0;
    let (mut ahead, mut behind) = (0, 0);
    let before = |links: &Links, header| {
        candidates += 1;
        if links.prev_word() & COLLECTING == 0 {
            init_refs(links, header);
        }
    };
    let count =
        |header, edges: &EdgeList| subtract_edges_of_set::<YOUNG_ONLY>(state, header, edges, &mut ahead, &mut behind);
    if reverse {
        trace_each::<true>(state, young, edges, before, count);
    } else {
        trace_each::<false>(state, young, edges, before, count);
    }
    Counted { candidates, reversed: reverse, ahead, behind }
}

/// Traces every object of `list` in order: `before` sees each object first, then `count`
/// its edges; when `REVERSE`, each object's `next` link is then set to its predecessor. One
/// `catch_unwind` covers the walk; a `Trace` that panics makes its object untraceable
/// (`count` gets no edges and the mark) and the walk goes on after it.
#[inline(always)]
fn trace_each<const REVERSE: bool>(
    state: &State,
    list: &Links,
    edges: &mut EdgeList,
    mut before: impl FnMut(&Links, NonNull<ObjHeader>),
    mut count: impl FnMut(NonNull<ObjHeader>, &EdgeList),
) {
    let end: *const Links = list;
    let mut prev = end;
    let mut cursor = list.next();
    // Goes on after `cursor`, reversing its link if asked.
    let step = |cursor: *const Links, prev: &mut *const Links| {
        // SAFETY: `cursor` is an element of the list, whose `next` link the walk has not
        // changed yet.
        let next = unsafe { (*cursor).next() };
        if REVERSE {
            // SAFETY: as above.
            unsafe { (*cursor).set_next(*prev) };
            *prev = cursor;
        }
        next
    };
    while cursor != end {
        let result = catch_unwind(AssertUnwindSafe(|| {
            while cursor != end {
                // SAFETY: every element of the list but the sentinel is the links of a live
                // tracked object whose value is intact; the `next` links of the elements not
                // reached yet stay valid while the collector keeps counts in `prev`.
                unsafe {
                    let header = Links::header(cursor);
                    before(&*cursor, header);
                    edges.clear();
                    raw::trace_tracked(header, edges);
                    count(header, edges);
                    if edges.edges().is_empty() && !edges.is_untraceable() {
                        (*cursor).set_prev_word((*cursor).prev_word() | NO_EDGES);
                    }
                }
                cursor = step(cursor, &mut prev);
            }
        }));
        if let Err(panic) = result {
            // SAFETY: `cursor` is the element whose `Trace` panicked, as above; `before` saw
            // it already.
            let header = unsafe { Links::header(cursor) };
            trace_panicked(state, header, panic, edges);
            count(header, edges);
            // Counted as a root whose edges are unknown: the marking walk does not trace it
            // again (its edges were not counted off, so what it reaches stays reachable).
            let links = links_of(header);
            links.set_prev_word(links.prev_word() | NO_EDGES);
            cursor = step(cursor, &mut prev);
        }
    }
}

/// [`subtract_edges`] for [`update_and_subtract_refs`]: a target in the set whose count is not
/// set yet gets it set first (an edge ahead).
#[inline]
fn subtract_edges_of_set<const YOUNG_ONLY: bool>(
    state: &State,
    header: NonNull<ObjHeader>,
    edges: &EdgeList,
    ahead: &mut usize,
    behind: &mut usize,
) {
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
            *ahead += 1;
        } else {
            *behind += 1;
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
pub(super) fn subtract_refs(state: &State, young: &Links, edges: &mut EdgeList) {
    trace_each::<false>(state, young, edges, |_, _| {}, |header, edges| subtract_edges(state, header, edges));
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

/// Traces `header` and takes one reference off each object of the examined set it points
/// to. A value that cannot be traced now is held from where we cannot see: a root,
/// whatever its count says.
pub(super) fn subtract_internal_refs(state: &State, header: NonNull<ObjHeader>, edges: &mut EdgeList) {
    trace(state, header, edges);
    subtract_edges(state, header, edges);
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

#[cold]
pub(super) fn trace_panicked(state: &State, header: NonNull<ObjHeader>, panic: Panic, edges: &mut EdgeList) {
    // SAFETY: only live objects are traced.
    let name = unsafe { raw::type_info(header) }.short_name();
    report(state, &format!("<{name}>'s Trace impl"), panic);
    edges.clear();
    edges.mark_untraceable();
}
