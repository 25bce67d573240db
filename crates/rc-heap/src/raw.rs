//! The mechanism a cycle collector needs, and nothing of its policy.
//!
//! The `gen-gc` crate builds CPython's collector on these: the lists tracked objects live
//! in, their counts, fast tracing of their tracked edges, the flags that say what has
//! happened to an object, and the steps of destroying one (clear weak references,
//! finalize, drop the value, free). Everything here works on raw headers; the functions are
//! `unsafe` where a wrong header would be undefined behaviour.
//!
//! # The collector's contract
//!
//! - An object the collector is about to destroy is first [`hold`]: from then on its count
//!   reaching zero does nothing, so dropping values in any order frees nothing under the
//!   collector's feet. The collector [`free`]s held objects whose count is zero at the end
//!   and [`release`]s the others (they became zombies: dropped value, memory kept).
//! - Deaths caused by dropping values (of objects the collector does not hold) should run
//!   inside [`run_deaths`], which queues them and runs them afterwards, iteratively.

use std::ptr::NonNull;

pub use crate::exit::{
    MAX_EXIT_ROUNDS, is_torn_down, keep_exit_passes, left_at_thread_exit, on_teardown, run_added_teardown_hooks,
    set_exit_collector,
};
pub use crate::header::{IN_YOUNG, Links, ObjHeader, PREV_BITS};
pub use crate::heap::{
    LISTS, Walk, WalkReport, YOUNG, begin_walk, collect_hook_installed, is_walking, list, set_collect_hook,
    set_young_count, set_young_limit, take_uncounted_deaths, weak_callbacks_pending, young_count,
};
pub use crate::trace::EdgeList;
pub use crate::weak::{ClearedWeakRefs, callback_panics, name_callback_panic};

use crate::header::flags;
use crate::trace::Visitor;
use crate::type_info::TypeInfo;
use crate::{GcAny, dealloc};

/// A panic payload of user code.
pub type Panic = Box<dyn std::any::Any + Send>;

/// Drops a panic payload of user code once it has been reported. A payload's own `Drop` is
/// user code too and may panic: that second panic, and what is left of the payload, are
/// leaked rather than let loose in the middle of a collection.
pub fn drop_panic(payload: Panic) {
    dealloc::forget_if_drop_panics(payload);
}

/// Gives a panic of a finalizer or weak callback that a collection ran to the thread's
/// unraisable hook ([`crate::set_unraisable_hook`]), if one is set; gives it back otherwise,
/// for the collector's own report. Called where user code may run (the hook is user code).
pub fn give_to_unraisable_hook(what: &str, panic: Panic) -> Result<(), Panic> {
    dealloc::give_to_unraisable_hook(what, panic)
}

/// The header's strong count.
///
/// # Safety
/// `header` is an allocated object that is not queued to die.
#[inline]
pub unsafe fn strong_count(header: NonNull<ObjHeader>) -> usize {
    // SAFETY: the caller guarantees an allocated header.
    unsafe { header.as_ref() }.strong()
}

/// The object's type information.
///
/// # Safety
/// `header` is an allocated object.
#[inline]
pub unsafe fn type_info(header: NonNull<ObjHeader>) -> &'static TypeInfo {
    // SAFETY: the caller guarantees an allocated header.
    unsafe { header.as_ref() }.type_info()
}

/// Pushes the headers of the tracked objects the value holds onto `edges`, all of them: when
/// they do not fit in the list's capacity, it makes room and traces the value again (`Trace`
/// reports the same edges on every call).
///
/// # Safety
/// `header` is an allocated object whose value has not been dropped.
#[inline]
pub unsafe fn trace_tracked(header: NonNull<ObjHeader>, edges: &mut EdgeList) {
    // SAFETY: the caller guarantees an allocated header.
    let trace = unsafe { header.as_ref() }.type_info().trace_tracked;
    let start = edges.len();
    loop {
        // SAFETY: the caller guarantees a live value; the entry point matches the type.
        unsafe { trace(header, edges) };
        if !edges.is_incomplete() {
            return;
        }
        edges.grow_from(start);
    }
}

/// Traces the value with any visitor (labels, weak references).
///
/// # Safety
/// `header` is an allocated object whose value has not been dropped.
pub unsafe fn trace(header: NonNull<ObjHeader>, visitor: &mut dyn Visitor) {
    // SAFETY: the caller guarantees a live value; the entry point matches the type.
    unsafe { ((*header.as_ptr()).type_info().trace_dyn)(header, visitor) }
}

/// Whether the finalizer has run (or been claimed).
///
/// # Safety
/// `header` is an allocated object.
pub unsafe fn is_finalized(header: NonNull<ObjHeader>) -> bool {
    // SAFETY: the caller guarantees an allocated header.
    unsafe { header.as_ref() }.has(flags::FINALIZED)
}

/// Whether the value has been dropped.
///
/// # Safety
/// `header` is an allocated object.
pub unsafe fn is_dropped(header: NonNull<ObjHeader>) -> bool {
    // SAFETY: the caller guarantees an allocated header.
    unsafe { header.as_ref() }.has(flags::DROPPED)
}

/// Runs the object's finalizer if it has one that has not run, marking it finalized.
/// Returns the finalizer's panic, if it panicked. The caller must hold a strong reference
/// (a [`GcAny`]) for the duration, so that a resurrection can be seen in the count.
///
/// # Safety
/// `header` is an allocated object whose value has not been dropped.
pub unsafe fn finalize(header: NonNull<ObjHeader>) -> Option<Panic> {
    // SAFETY: the caller guarantees an allocated header.
    let h = unsafe { header.as_ref() };
    let info = h.type_info();
    if !info.has_finalizer() || h.has(flags::FINALIZED) {
        return None;
    }
    h.set(flags::FINALIZED);
    // SAFETY: the value is live (caller's contract).
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { (info.finalize)(header) })).err()
}

/// Makes every weak reference to the object read dead and returns their callbacks, to be
/// run once every object of the batch is cleared. Also forgets the object's id.
///
/// # Safety
/// `header` is an allocated object.
pub unsafe fn clear_weak_refs(header: NonNull<ObjHeader>) -> ClearedWeakRefs {
    ClearedWeakRefs::clear(header)
}

/// Whether the object may have weak references (it has a side entry). Cheap: one
/// header bit; lets a collector skip [`clear_weak_refs`] for most objects.
///
/// # Safety
/// `header` is an allocated object.
#[inline]
pub unsafe fn may_have_weak_refs(header: NonNull<ObjHeader>) -> bool {
    // SAFETY: the caller guarantees an allocated header.
    unsafe { header.as_ref() }.has(flags::SIDE)
}

/// Takes the object's fate over: a count reaching zero no longer destroys it.
///
/// # Safety
/// `header` is an allocated, tracked object not queued to die. (Leaves are never held: a
/// handle to a leaf skips the dropped-value check, because only held objects are dropped
/// while a handle can still reach them.)
#[inline]
pub unsafe fn hold(header: NonNull<ObjHeader>) {
    // SAFETY: the caller guarantees an allocated header.
    let h = unsafe { header.as_ref() };
    debug_assert!(h.type_info().is_tracked(), "only tracked objects can be held by the collector");
    h.set(flags::HELD);
}

/// Undoes [`hold`] for an object the collector found referenced after all: only the flag
/// is cleared (a count of zero would make the object wait for the next collection).
///
/// # Safety
/// `header` is an allocated object.
#[inline]
pub unsafe fn unhold(header: NonNull<ObjHeader>) {
    // SAFETY: the caller guarantees an allocated header.
    unsafe { header.as_ref() }.clear(flags::HELD);
}

/// Whether the collector holds the object.
///
/// # Safety
/// `header` is an allocated object.
pub unsafe fn is_held(header: NonNull<ObjHeader>) -> bool {
    // SAFETY: the caller guarantees an allocated header.
    unsafe { header.as_ref() }.has(flags::HELD)
}

/// Gives a held object back to reference counting. If its count is zero it dies now (or,
/// if its value was dropped, is freed).
///
/// # Safety
/// `header` is an allocated, held object, in no list or in a valid one.
pub unsafe fn release(header: NonNull<ObjHeader>) {
    // SAFETY: the caller guarantees an allocated header.
    let h = unsafe { header.as_ref() };
    h.clear(flags::HELD);
    if h.strong() == 0 {
        // SAFETY: count zero, not held: exactly the state `on_zero` expects.
        unsafe { dealloc::on_zero(header) };
    }
}

/// Drops the value in place, leaving the memory. From now on dereferencing a handle to the
/// object panics with [`AccessError`](crate::AccessError)'s message. A panic of the value's
/// `Drop` propagates to the caller; the value counts as dropped all the same (unwinding
/// drops the rest of it).
///
/// # Safety
/// `header` is an allocated, held object whose value has not been dropped, and no borrow
/// of the value is in use.
pub unsafe fn drop_value(header: NonNull<ObjHeader>) {
    // SAFETY: the caller guarantees an allocated header.
    let h = unsafe { header.as_ref() };
    debug_assert!(h.has(flags::HELD) && !h.has(flags::DROPPED));
    h.set(flags::DROPPED);
    // SAFETY: the value is live and, with DROPPED set, cannot be borrowed again.
    unsafe { (h.type_info().drop_value)(header) };
}

/// [`drop_value`], then [`free`] if nothing holds the object any more, through one call of
/// the type's entry points: the collector's step for deleting an object it has taken out of
/// every list. Returns whether the object was freed. A panic of the value's `Drop`
/// propagates to the caller, the object counting as dropped and not freed.
///
/// # Safety
/// As for [`drop_value`]; and the object is tracked and in no list.
#[inline]
pub unsafe fn drop_value_and_free(header: NonNull<ObjHeader>) -> bool {
    // SAFETY: the caller guarantees an allocated header.
    let h = unsafe { header.as_ref() };
    debug_assert!(h.has(flags::HELD) && !h.has(flags::DROPPED));
    // SAFETY: the caller's contract is the entry point's.
    unsafe { (h.type_info().drop_value_and_free)(header) }
}

/// Frees a held object whose value has been dropped and whose count is zero.
///
/// # Safety
/// As described; nothing will touch the object again.
pub unsafe fn free(header: NonNull<ObjHeader>) {
    debug_assert!({
        // SAFETY: the caller guarantees an allocated header.
        let h = unsafe { header.as_ref() };
        h.has(flags::DROPPED) && h.strong() == 0
    });
    // SAFETY: the caller's contract is `dealloc::free`'s.
    unsafe { dealloc::free(header) };
}

/// Runs `f` with refcount deaths queued, then runs the queued deaths iteratively. Returns
/// the first panic of user code. Nested calls just run `f`.
pub fn run_deaths(f: impl FnOnce() -> Option<Panic>) -> Option<Panic> {
    dealloc::run_deaths(f)
}

/// A strong handle to `header`.
///
/// # Safety
/// `header` is an allocated object not queued to die.
pub unsafe fn handle(header: NonNull<ObjHeader>) -> GcAny {
    // SAFETY: the caller guarantees an allocated header.
    unsafe { GcAny::clone_from_header(header) }
}
