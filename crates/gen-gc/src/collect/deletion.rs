//! Deletion (step 7): the values of the garbage are dropped, which breaks its cycles, and
//! each object is freed once nothing holds it; an object a handle still holds is released to
//! that handle. With `DEBUG_SAVEALL` the garbage is kept in `garbage` instead.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use rc_heap::raw::{self, Links, ObjHeader};

use crate::debug::object_repr;
use crate::state::State;
use crate::walk::{report, report_unraisable, take_list};

/// `DEBUG_SAVEALL`: the garbage in `unreachable` (of `count` objects) is kept in `garbage`,
/// and moves to `old`, instead of being freed.
pub(super) fn save_all(state: &State, unreachable: &Links, count: usize, old: &Links, tag: usize) {
    for header in take_list(unreachable, count) {
        // SAFETY: held objects are alive and, once taken out, in no list.
        unsafe {
            state.garbage.borrow_mut().push(raw::handle(header));
            old.insert_tagged(Links::of(header), tag);
            raw::release(header);
        }
    }
}

/// Drops the values of the garbage in `unreachable` (which breaks its cycles) and frees each
/// object as soon as nothing holds it; what is still held when all values are dropped is
/// released to its last handle. Leaves `unreachable` (of `count` objects) empty.
pub(super) fn delete(state: &State, unreachable: &Links, count: usize) {
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
                    report(state, &format!("the Drop of {}", object_repr(header)), panic);
                    still_held.push(header);
                    cursor = next;
                }
            }
        }
        None
    });
    unreachable.init_sentinel();
    if let Some(panic) = panic {
        report(state, "a Drop run by the collection", panic);
    }
    let mut kept: Option<(usize, String)> = None;
    for header in still_held {
        // SAFETY: held, value dropped, in no list: freed now if nothing holds it any more,
        // otherwise released to be freed by its last handle.
        unsafe {
            if raw::strong_count(header) == 0 {
                // Freeing runs the callbacks of weak references a finalizer made to the
                // object after its own were cleared; their panics are reported like the rest.
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| raw::free(header))) {
                    report_unraisable(state, "a weak callback run as a deleted object was freed", panic);
                }
            } else {
                let (count, _) = kept.get_or_insert_with(|| (0, object_repr(header)));
                *count += 1;
                raw::release(header);
            }
        }
    }
    if let Some((count, first)) = kept {
        // Garbage is held only by garbage, so once every value is dropped nothing should
        // hold it: something did that the collection could not see.
        state.debug_line(format_args!(
            "gc: {count} deleted object(s) still referenced after their garbage was dropped, the first {first}: \
             a Drop kept a handle to one, or a Trace impl reports a reference it does not own \
             (Trace's rules 1 and 2); their values are gone, and using them fails with AccessError"
        ));
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
