//! Marking (step 2, second half): CPython's `move_unreachable`, as a walk that marks in
//! place what the roots reach and moves the rest to the unreachable list, holding it; and
//! the plain marking of everything reachable from some objects, which the later recounts
//! (legacy finalizers, resurrection) use.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use rc_heap::raw::{self, EdgeList, Links, ObjHeader, Panic};

use super::counting::{COLLECTING, NO_EDGES, ONE_REF, REACHABLE, REFS_SHIFT, TENTATIVE};
use super::counting::{Counted, init_refs, subtract_refs, trace_panicked, update_and_subtract_refs};
use crate::state::{NUM_GENERATIONS, PERMANENT, State};
use crate::walk::{for_each, links_of, list, report_walk, trace};

/// `update_refs`, `subtract_refs` and `move_unreachable`: moves the objects of `young` that
/// nothing outside it reaches to `unreachable` (an empty list) and holds them; no user code
/// runs in between.
pub(super) fn find_unreachable(
    state: &State,
    young: &Links,
    unreachable: &Links,
    edges: &mut EdgeList,
    tag: usize,
) -> Found {
    // No walk runs outside a collection or `object_graph`, which both keep collections off;
    // only a `raw::begin_walk` whose `Walk` was never finished (forgotten) leaves one open.
    let walk = raw::begin_walk().expect(
        "a collection found a walk of the heap still open: a `rc_heap::raw::Walk` was started \
         and never finished (`Walk::finish`), so no collection can run on this thread",
    );
    let found = count_and_mark(state, young, unreachable, edges, tag);
    report_walk(state, walk.finish());
    found
}

/// [`find_unreachable`]'s walks.
fn count_and_mark(state: &State, young: &Links, unreachable: &Links, edges: &mut EdgeList, tag: usize) -> Found {
    // SAFETY: the permanent generation's sentinel is a valid list.
    let nothing_frozen = list(PERMANENT).next() == std::ptr::from_ref(list(PERMANENT));
    let mut hints = state.marking_backwards.get();
    let counted = if std::ptr::eq(young, list(raw::YOUNG)) {
        // The young generation alone: its objects carry the `IN_YOUNG` bit.
        let counted = update_and_subtract_refs::<true>(state, young, edges, hints[0]);
        hints[0] = counted.backwards_next_time().unwrap_or(hints[0]);
        counted
    } else if std::ptr::eq(young, list(NUM_GENERATIONS - 1)) && nothing_frozen {
        // A full collection with nothing frozen examines every object in a list. Full
        // collections are rare, and the previous one may have met another heap: the list's
        // last objects say which way to go when they tell.
        let backwards = tail_points_back(young, edges).unwrap_or(hints[1]);
        let counted = update_and_subtract_refs::<false>(state, young, edges, backwards);
        hints[1] = counted.backwards_next_time().unwrap_or(hints[1]);
        counted
    } else {
        let mut candidates = 0;
        for_each(young, |header| {
            candidates += 1;
            init_refs(links_of(header), header);
        });
        subtract_refs(state, young, edges);
        Counted { candidates, ..Counted::default() }
    };
    state.marking_backwards.set(hints);
    Found { candidates: counted.candidates, ..move_unreachable(state, young, &counted, unreachable, edges, tag) }
}

/// How many objects at the end of a list [`tail_points_back`] looks at.
const TAIL: usize = 16;

/// Whether the edges among the last [`TAIL`] objects of `young` point mostly back along the
/// list (`Some(true)`) or ahead (`Some(false)`); `None` when they do not tell (too few, as
/// many each way, or a `Trace` that panics, which the counting walk then reports).
fn tail_points_back(young: &Links, edges: &mut EdgeList) -> Option<bool> {
    let end: *const Links = young;
    let mut tail = [end; TAIL];
    let mut len = 0;
    let mut cursor = young.prev();
    while cursor != end && len < TAIL {
        tail[len] = cursor;
        len += 1;
        // SAFETY: a valid list whose links are intact: the counting walk has not begun.
        cursor = unsafe { (*cursor).prev() };
    }
    // From the last object back: a higher position is earlier in the list.
    let tail = &tail[..len];
    let (mut back, mut ahead) = (0, 0);
    let traced = catch_unwind(AssertUnwindSafe(|| {
        for (position, &links) in tail.iter().enumerate() {
            edges.clear();
            // SAFETY: an element of the list, a live tracked object whose value is intact.
            unsafe { raw::trace_tracked(Links::header(links), edges) };
            for &child in edges.edges() {
                // SAFETY: a tracked edge's target is a live tracked object.
                let target: *const Links = unsafe { Links::of(child) }.as_ptr();
                match tail.iter().position(|&other| other == target) {
                    Some(other) if other > position => back += 1,
                    Some(other) if other < position => ahead += 1,
                    _ => {}
                }
            }
        }
    }));
    match traced {
        Ok(()) => (back + ahead >= TAIL / 4 && back != ahead).then_some(back > ahead),
        // The walk that follows traces the object again and reports the panic.
        Err(panic) => {
            raw::drop_panic(panic);
            None
        }
    }
}

/// What the walks found: how many objects they examined and how many they moved to the
/// unreachable list, and what the later steps need to know of those.
#[derive(Default)]
pub(super) struct Found {
    pub(super) candidates: usize,
    pub(super) count: usize,
    /// Some object may have weak references.
    pub(super) any_weak: bool,
    /// Some object has a finalizer that has not run.
    pub(super) any_finalizer: bool,
    /// A `Trace` the counting walk ran without a panic panicked in the marking walk: what
    /// that object reaches was counted off but cannot be marked.
    pub(super) inconsistent: bool,
}

/// CPython's `move_unreachable`, in place: one walk of `young` that marks what the roots
/// reach, then the objects left unmarked move to `unreachable`.
///
/// An object whose count is still positive is reachable: its edges are traced (unless the
/// counting walk found it has none), and each target in the set at zero gets a count of one
/// (it is reached), or, if the walk has passed it already, is marked reachable where it is
/// and its own edges are followed at once (breadth first, with a queue). An object at zero is
/// left where it is, marked `TENTATIVE`, and noted. The walk restores each object's links as
/// it passes it (`prev` with `tag` for a reachable object, `COLLECTING | TENTATIVE` for a
/// tentative one; `next`, if the counting walk reversed the list), so the list keeps its
/// order: the survivors stay in the order they were allocated, which the incremental
/// policy's increments rely on. A tentative object is held when noted, and released if found
/// reachable; at the end, the noted objects still tentative are unlinked into `unreachable`
/// (all at once when every examined object is garbage).
///
/// The direction matters for an object that only other examined objects refer to: met after
/// its referrers, it has been reached and costs one visit; met before, it is noted, then
/// visited again when found reachable. A chain built backwards, or a tree built from its
/// leaves, is met referrers first from the list's end. The walk goes from the end when the
/// counting walk reversed the list, which it does when the last objects of a full
/// collection's list ([`tail_points_back`]), or else the previous collection of the same
/// kind, had more edges pointing back along the list than forward: a program tends to keep
/// making its objects in the same order, and a wrong guess costs what the other direction
/// costs, no more.
///
/// Returns how many objects `unreachable` holds at the end, and what they need.
fn move_unreachable(
    state: &State,
    young: &Links,
    counted: &Counted,
    unreachable: &Links,
    edges: &mut EdgeList,
    tag: usize,
) -> Found {
    let candidates = counted.candidates;
    let mut walk = MarkingWalk {
        tag,
        found: Found::default(),
        revived: 0,
        queue: VecDeque::new(),
        // Room for every object up front: growing a vector of millions costs more than pages
        // of it left untouched.
        tentative: Vec::with_capacity(candidates),
    };
    let backwards = counted.reversed;
    if backwards {
        walk.backwards(state, young, edges);
    } else {
        walk.forwards(state, young, edges);
    }
    let MarkingWalk { mut found, revived, tentative, .. } = walk;
    if found.inconsistent {
        // Whatever the object whose `Trace` failed reaches may be live: nothing is garbage
        // this time. A `Trace` that breaks its rules costs a collection, never a live object.
        for &links in &tentative {
            // SAFETY: the noted objects are elements of `young`, alive, held when noted.
            unsafe {
                let word = (*links).prev_word();
                if word & (COLLECTING | TENTATIVE) == COLLECTING | TENTATIVE {
                    (*links).set_prev_tagged((*links).prev(), tag);
                    raw::unhold(Links::header(links));
                }
            }
        }
        state.debug_line(format_args!(
            "gc: a Trace impl panicked on a later call after an earlier one of this collection \
             succeeded; nothing is collected this time"
        ));
        found.count = 0;
        return found;
    }
    found.count = tentative.len() - revived;
    if revived == tentative.len() {
        // Every object was reachable: no need to read them all again.
        return found;
    }
    if revived == 0 && tentative.len() == candidates {
        // Everything is garbage, already marked and held: the whole list moves at once.
        // SAFETY: distinct valid lists; the elements keep their `prev` bits.
        unsafe { Links::splice_all(young, unreachable) };
        return found;
    }
    let move_out = |links: *const Links| {
        // SAFETY: the noted objects are elements of `young`, whose links are all restored;
        // `unreachable` is a valid list. The pointer linked in is the one the list gave,
        // which carries the whole object's provenance.
        unsafe {
            if (*links).prev_word() & (COLLECTING | TENTATIVE) == COLLECTING | TENTATIVE {
                (*links).unlink();
                unreachable.insert_tagged(NonNull::new_unchecked(links.cast_mut()), COLLECTING | TENTATIVE);
            }
        }
    };
    // In list order.
    if backwards {
        tentative.into_iter().rev().for_each(move_out);
    } else {
        tentative.into_iter().for_each(move_out);
    }
    found
}

/// [`move_unreachable`]'s walk and what it keeps as it goes.
struct MarkingWalk {
    tag: usize,
    found: Found,
    /// Tentative objects found reachable later.
    revived: usize,
    /// Objects found reachable after the walk passed them, whose edges are still to follow.
    queue: VecDeque<NonNull<ObjHeader>>,
    /// The objects noted tentative, in the walk's order.
    tentative: Vec<*const Links>,
}

impl MarkingWalk {
    /// Visits the elements of `young` from its head.
    fn forwards(&mut self, state: &State, young: &Links, edges: &mut EdgeList) {
        let end: *const Links = young;
        let mut prev: *const Links = end;
        let mut cursor = young.next();
        while cursor != end {
            let result = catch_unwind(AssertUnwindSafe(|| {
                while cursor != end {
                    // SAFETY: `young` is a valid list whose elements (but the sentinel) are
                    // the links of live tracked objects, with intact `next` links.
                    unsafe {
                        self.visit(state, cursor, prev, edges);
                        prev = cursor;
                        cursor = (*cursor).next();
                    }
                }
            }));
            if let Err(panic) = result {
                // SAFETY: as above.
                unsafe {
                    self.trace_panicked(state, cursor, prev, panic, edges);
                    prev = cursor;
                    cursor = (*prev).next();
                }
            }
        }
        young.set_prev(prev);
    }

    /// Visits the elements of `young` from its end, the list reversed by the counting walk
    /// (see [`Counted::reversed`]), and links each back the right way as it passes it.
    fn backwards(&mut self, state: &State, young: &Links, edges: &mut EdgeList) {
        let end: *const Links = young;
        // The element visited before (the next one, in list order).
        let mut following = end;
        let mut cursor = young.prev();
        while cursor != end {
            let result = catch_unwind(AssertUnwindSafe(|| {
                while cursor != end {
                    // SAFETY: `young` is a valid list reversed up to `cursor`: each element
                    // not visited yet is the links of a live tracked object whose `next` is
                    // its predecessor (the sentinel for the head).
                    unsafe {
                        let prev = (*cursor).next();
                        self.visit(state, cursor, prev, edges);
                        (*cursor).set_next(following);
                        following = cursor;
                        cursor = prev;
                    }
                }
            }));
            if let Err(panic) = result {
                // SAFETY: as above.
                unsafe {
                    let prev = (*cursor).next();
                    self.trace_panicked(state, cursor, prev, panic, edges);
                    (*cursor).set_next(following);
                    following = cursor;
                    cursor = prev;
                }
            }
        }
    }

    /// Visits one element of the list, whose predecessor is `prev`.
    ///
    /// # Safety
    /// `cursor` is an element of the list walked, not visited yet; its `prev` word is a
    /// count word. `prev` is its predecessor (or the sentinel).
    #[inline(always)]
    unsafe fn visit(&mut self, state: &State, cursor: *const Links, prev: *const Links, edges: &mut EdgeList) {
        // SAFETY: the caller's contract.
        unsafe {
            let word = (*cursor).prev_word();
            if word >> REFS_SHIFT > 0 {
                if word & NO_EDGES == 0 {
                    edges.clear();
                    raw::trace_tracked(Links::header(cursor), edges);
                    self.revived += mark_reached(edges, &mut self.queue, self.tag);
                    if !self.queue.is_empty() {
                        self.revived +=
                            mark_late(state, &mut self.queue, edges, self.tag, &mut self.found.inconsistent);
                    }
                }
                (*cursor).set_prev_tagged(prev, self.tag);
            } else {
                (*cursor).set_prev_tagged(prev, COLLECTING | TENTATIVE | (word & NO_EDGES));
                self.tentative.push(cursor);
                // Held and noted while it is at hand (an object found reachable later is
                // released; the notes only let later steps skip work).
                let header = Links::header(cursor);
                self.found.any_weak |= raw::may_have_weak_refs(header);
                self.found.any_finalizer |= raw::type_info(header).has_finalizer() && !raw::is_finalized(header);
                raw::hold(header);
            }
        }
    }

    /// The `Trace` of a reachable object panicked while [`MarkingWalk::visit`] visited it,
    /// though it did not in the counting walk (which marks an object whose `Trace` panicked
    /// there as having no edges to follow): what it reaches was counted off and cannot be
    /// marked now, so the collection frees nothing (see [`move_unreachable`]).
    ///
    /// # Safety
    /// As for [`MarkingWalk::visit`].
    #[cold]
    unsafe fn trace_panicked(
        &mut self,
        state: &State,
        cursor: *const Links,
        prev: *const Links,
        panic: Panic,
        edges: &mut EdgeList,
    ) {
        self.found.inconsistent = true;
        // SAFETY: the caller's contract.
        unsafe {
            trace_panicked(state, Links::header(cursor), panic, edges);
            (*cursor).set_prev_tagged(prev, self.tag);
        }
    }
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
fn mark_late(
    state: &State,
    queue: &mut VecDeque<NonNull<ObjHeader>>,
    edges: &mut EdgeList,
    tag: usize,
    inconsistent: &mut bool,
) -> usize {
    let mut revived = 0;
    while let Some(header) = queue.pop_front() {
        trace(state, header, edges);
        // The counting walk traced it (it was at zero): only a `Trace` that panics now fails.
        *inconsistent |= edges.is_untraceable();
        revived += mark_reached(edges, queue, tag);
    }
    revived
}

/// If `header` is still referenced from outside the examined set, marks it and everything it
/// reaches.
pub(super) fn mark_if_root(
    state: &State,
    header: NonNull<ObjHeader>,
    stack: &mut Vec<NonNull<ObjHeader>>,
    edges: &mut EdgeList,
) {
    let links = links_of(header);
    let word = links.prev_word();
    if word >> REFS_SHIFT > 0 && word & REACHABLE == 0 {
        links.set_prev_word(word | REACHABLE);
        stack.push(header);
        mark_from(state, stack, edges);
    }
}

/// Marks reachable everything reachable from the objects on `stack` (already marked).
pub(super) fn mark_from(state: &State, stack: &mut Vec<NonNull<ObjHeader>>, edges: &mut EdgeList) {
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
