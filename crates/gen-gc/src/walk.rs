//! The heap's lists as the collector walks them: listing, tracing, and the reports of what
//! user code did during a walk (panics, and what `Trace`'s rule 2 forbids).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use rc_heap::raw::{self, EdgeList, Links, ObjHeader, Panic};

use crate::debug::describe_panic;
use crate::state::State;

/// Reports a panic that a walk caught in user code, through the debug writer, and drops its
/// payload, whose own `Drop` may panic (see [`raw::drop_panic`]).
pub(crate) fn report(state: &State, what: &str, panic: Panic) {
    state.debug_line(format_args!("gc: a panic in {what} was caught: {}", describe_panic(&panic)));
    raw::drop_panic(panic);
}

/// Reports a panic of a finalizer or weak callback that the collection ran (where user code
/// runs anyway): to the thread's unraisable hook if one is set (Python's
/// `sys.unraisablehook`, which CPython's collection calls too), else as [`report`] does.
pub(crate) fn report_unraisable(state: &State, what: &str, panic: Panic) {
    // The panics of several weak callbacks come as one payload: each is reported.
    for (named, panic) in raw::callback_panics(panic) {
        let what = named.as_deref().unwrap_or(what);
        if let Err(panic) = raw::give_to_unraisable_hook(what, panic) {
            report(state, what, panic);
        }
    }
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
        report(state, &format!("<{name}>'s Trace impl"), panic);
        edges.clear();
        edges.mark_untraceable();
    }
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
pub(crate) fn take_list(list: &Links, capacity: usize) -> Vec<NonNull<ObjHeader>> {
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
pub(crate) fn link_all(list: &Links, objects: &[NonNull<ObjHeader>]) {
    for &header in objects {
        // SAFETY: the objects are alive, tracked and in no list; `list` is a valid list.
        unsafe { list.insert_before(Links::of(header)) };
    }
}
