//! What happens when a strong count reaches zero: CPython's refcount path, made iterative.
//!
//! A death runs the finalizer (which may resurrect), clears the weak references and runs
//! their callbacks, drops the value and frees the memory. Dropping the value drops the `Gc`s
//! it holds, which may kill more objects; those deaths are queued and run by the same loop
//! (CPython's "trashcan"), so a ten-million-node list dies without deep recursion.
//!
//! A panic from user code (finalizer, callback, `Drop`) does not stop the loop: every queued
//! death completes, the heap stays consistent, and the first panic is raised again once the
//! loop is done, as `Rc` would raise it from `drop`.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr::NonNull;

use crate::header::{ObjHeader, flags};
use crate::heap;
use crate::weak::ClearedWeakRefs;

type Panic = Box<dyn Any + Send>;

/// Called when the strong count of `header` has just reached zero.
///
/// # Safety
/// `header` is an allocated object whose count is now zero.
#[cold]
#[inline(never)]
pub(crate) unsafe fn on_zero(header: NonNull<ObjHeader>) {
    // SAFETY: the caller passes an allocated header.
    let h = unsafe { header.as_ref() };
    if h.has(flags::HELD) {
        return;
    }
    if h.has(flags::DROPPED) {
        // The collector dropped the value while something still held the object; the last
        // holder is gone now, so only the memory is left to free.
        // SAFETY: value dropped, count zero, not held: nothing can reach the memory.
        unsafe { free(header) };
        heap::release_extras_if_torn_down();
        return;
    }
    if h.type_info().is_tracked() {
        heap::unlink_dying(header);
    }
    if heap::dealloc_active() {
        heap::push_pending(header);
        return;
    }
    let panic = run_deaths(|| {
        // SAFETY: the object is dying (count zero, unlinked) and not queued.
        unsafe { die(header) }
    });
    raise(panic);
}

/// Runs `f` with deaths queued, then runs every queued death. Returns the first panic of
/// user code (`f`'s own included).
pub(crate) fn run_deaths(f: impl FnOnce() -> Option<Panic>) -> Option<Panic> {
    if heap::dealloc_active() {
        return f();
    }
    heap::set_dealloc_active(true);
    let mark = heap::pending_mark();
    let mut first_panic = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(Some);
    heap::reverse_pending_since(mark);
    while let Some(next) = heap::pop_pending() {
        let mark = heap::pending_mark();
        // SAFETY: queued objects have count zero, are unlinked and were never run.
        let panic = unsafe { die(next) };
        heap::reverse_pending_since(mark);
        if first_panic.is_none() {
            first_panic = panic;
        }
    }
    heap::set_dealloc_active(false);
    heap::release_extras_if_torn_down();
    first_panic
}

/// Raises a panic of user code again, unless the thread is already unwinding.
pub(crate) fn raise(panic: Option<Panic>) {
    if let Some(panic) = panic {
        if std::thread::panicking() {
            report_discarded_panic("user code run while an object died", &panic);
        } else {
            resume_unwind(panic);
        }
    }
}

/// The death of one object. Returns the first panic of user code.
///
/// # Safety
/// `header` is allocated, its count is zero, it is in no list and not queued.
unsafe fn die(header: NonNull<ObjHeader>) -> Option<Panic> {
    // SAFETY: the caller passes an allocated header.
    let h = unsafe { header.as_ref() };
    let info = h.type_info();
    let mut first_panic = None;

    if info.has_finalizer() && !h.has(flags::FINALIZED) {
        h.set(flags::FINALIZED);
        // The finalizer's own temporary handle: while it runs, a weak reference can
        // resurrect the object.
        h.set_strong(1);
        // SAFETY: the value is intact and the object alive for the finalizer's duration.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { (info.finalize)(header) }));
        first_panic = result.err();
        if !h.dec_strong() {
            if info.is_tracked() {
                heap::relink_young(header);
            }
            return first_panic;
        }
    }

    let callbacks = ClearedWeakRefs::clear(header);
    if let Some(panic) = callbacks.run() {
        first_panic.get_or_insert(panic);
    }

    h.set(flags::DROPPED);
    // SAFETY: the object is dead and its value intact; DROPPED keeps anything from
    // borrowing the value from now on.
    let result = catch_unwind(AssertUnwindSafe(|| unsafe { (info.drop_value)(header) }));
    if let Err(panic) = result {
        first_panic.get_or_insert(panic);
    }
    // The value's `Drop` may have revived the object through a handle it could still
    // reach (only a collector-held object can be reached that way; here none can). If a
    // handle exists, the memory stays until it is dropped.
    if h.strong() == 0 {
        // SAFETY: the value is dropped and no handle remains.
        unsafe { free(header) };
    }
    first_panic
}

/// Frees an object's memory: its id and side entry, its links, then the allocation.
///
/// # Safety
/// The value has been dropped, the count is zero and nothing else will touch the object.
pub(crate) unsafe fn free(header: NonNull<ObjHeader>) {
    // SAFETY: the caller passes an allocated header.
    let h = unsafe { header.as_ref() };
    let info = h.type_info();
    let _ = heap::take_side(header);
    if info.is_tracked() {
        // SAFETY: tracked objects have links in front of their header.
        let links = unsafe { crate::header::Links::of(header).as_ref() };
        if links.is_linked() {
            // SAFETY: a linked object is in a valid list of this heap.
            unsafe { links.unlink() };
        }
    }
    // SAFETY: the caller guarantees the value is gone and nothing refers to the memory.
    unsafe { (info.dealloc)(header) };
}

/// Reports a panic that cannot be raised (the thread is already unwinding, or it happened
/// in a teardown hook).
pub(crate) fn report_discarded_panic(context: &str, panic: &Panic) {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned());
    eprintln!("rc-heap: discarded a panic from {context}: {message}");
}
