//! What happens when a strong count reaches zero: CPython's refcount path, made iterative.
//!
//! A death runs the finalizer (which may resurrect), clears the weak references and runs
//! their callbacks, drops the value and frees the memory. Dropping the value drops the `Gc`s
//! it holds, which may kill more objects. Those deaths run nested, inside that drop, as
//! `Rc`'s would, while they use less than 16 KiB of stack; deeper ones are queued and run
//! by the loop that the first death started (CPython's "trashcan", which nests 50 levels),
//! so a ten-million-node list dies on a small stack, and a tree within that depth dies depth
//! first without touching a queue (deeper, a queued subtree dies after the siblings left
//! above it: not `Rc`'s order).
//!
//! The common death (no finalizer, no weak reference, no id) takes a short path: a leaf is
//! dropped and freed on the spot, as `Rc` would; a tracked object is unlinked and its value
//! dropped with a single thread-local access and no per-object `catch_unwind`.
//!
//! A panic from user code (finalizer, callback, `Drop`) does not stop the loop: every queued
//! death completes, the heap stays consistent, and the first panic is raised again once the
//! loop is done, as `Rc` would raise it from `drop`.

use std::any::{Any, TypeId};
use std::cell::Cell;
use std::mem::{ManuallyDrop, size_of};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr::NonNull;

use crate::header::{GcBox, ObjHeader, TrackedLayout, flags};
use crate::trace::Trace;
use crate::type_info::{self, TypeInfo};
use crate::weak::ClearedWeakRefs;
use crate::{heap, pool};

use crate::heap::{Death, LoopEnd, Panic};

/// The count of a `Gc` has just reached zero: the object's type takes it from here.
///
/// # Safety
/// `header` is an allocated object whose count is now zero.
#[inline(always)]
pub(crate) unsafe fn on_zero_erased(header: NonNull<ObjHeader>) {
    // SAFETY: the caller passes an allocated header.
    let h = unsafe { header.as_ref() };
    if h.has(flags::HELD) {
        // The collector owns the object (it is deleting the garbage this one belongs to);
        // checked here, where the count reaches zero, so that each edge a deleted value drops
        // costs no call.
        return;
    }
    // SAFETY: the caller's contract; `release` is the object's own type's entry point.
    unsafe { (h.type_info().release)(header) }
}

/// The death path of an object of type `T` the collector does not hold, whose count has
/// just reached zero: the entry point `TypeInfo::release` of `T`.
///
/// # Safety
/// `header` is an allocated object of type `T` whose count is zero, not held.
pub(crate) unsafe fn on_zero_typed_unheld<T: Trace>(header: NonNull<ObjHeader>) {
    // SAFETY: the caller passes an allocated header.
    let h = unsafe { header.as_ref() };
    if T::HAS_FINALIZER || h.has(flags::STATE) {
        if T::TRACKED && !T::HAS_FINALIZER && h.flag_bits() & flags::STATE == flags::SIDE {
            // Weak references or an id, and nothing else: still typed.
            // SAFETY: the caller's contract; the object is tracked and only has a side entry.
            unsafe { die_tracked_with_side::<T>(header) };
        } else {
            // SAFETY: the caller's contract is `on_zero`'s.
            unsafe { on_zero(header) };
        }
    } else if !T::TRACKED {
        // SAFETY: no flag is set: no weak reference, no id, not held by the collector, so
        // nothing can reach the object any more; a leaf's value holds no handle that could
        // start a cascade of deaths.
        unsafe { free_leaf_now::<T>(header) };
    } else {
        // SAFETY: the caller's contract; the object is tracked and no flag is set.
        unsafe { die_tracked::<T, false>(header) };
    }
}

/// [`die_tracked`] for an object with a side entry, out of line so that the usual death
/// saves no more registers than it needs.
///
/// # Safety
/// As for [`die_tracked`] with `SIDE`.
#[inline(never)]
unsafe fn die_tracked_with_side<T: Trace>(header: NonNull<ObjHeader>) {
    // SAFETY: the caller's contract.
    unsafe { die_tracked::<T, true>(header) };
}

/// The death of a tracked `T` without finalizer, typed: no flag is set but, if `SIDE`, its
/// side entry's (weak references, an id).
///
/// # Safety
/// `header` is an allocated tracked `T` whose count is zero, not held, with those flags.
#[inline(always)]
unsafe fn die_tracked<T: Trace, const SIDE: bool>(header: NonNull<ObjHeader>) {
    match heap::begin_tracked_death(header) {
        Death::Start => {
            // This death starts the loop. Its value is dropped right here, typed; the guard
            // then frees it and runs whatever deaths the drop queued, also when the drop
            // panics.
            let guard = FinishLoop::<T, SIDE> { header, _type: std::marker::PhantomData };
            // SAFETY: the object is dead (count zero, unlinked) and its value intact.
            unsafe { end_value_typed::<T, SIDE>(header) };
            drop(guard);
        }
        Death::Nested => {
            // A death inside the value drop of another: a panic of this value's `Drop` waits
            // for the end of the loop, so that the drop around it goes on.
            // SAFETY: as above.
            let result = catch_unwind(AssertUnwindSafe(|| unsafe { end_value_typed::<T, SIDE>(header) }));
            // SAFETY: the value is gone (dropped, or dropped by unwinding) and the object
            // unlinked.
            unsafe { free_dead_tracked::<T, SIDE>(header) };
            if let Err(panic) = result {
                keep_panic(panic);
            }
        }
        Death::Waits => {}
    }
}

/// Ends the value of a dead tracked `T` without finalizer: if it has a side entry, clears
/// its weak references and runs their callbacks (their panics wait for the end of the
/// loop); then drops the value.
///
/// # Safety
/// `header` is a tracked `T` whose count is zero, unlinked, with no flag but, if `SIDE`,
/// its side entry's, and whose value is intact.
#[inline(always)]
unsafe fn end_value_typed<T: Trace, const SIDE: bool>(header: NonNull<ObjHeader>) {
    if SIDE {
        // Whether the object is a block of a pool is a constant of its type.
        clear_weak_refs_of_dying(header, || InfoFor::<T>::INFO.pooled);
    }
    // SAFETY: the caller's contract; DROPPED is set if anything could still find the object.
    unsafe { drop_value_typed::<T>(header) };
}

/// The weak references of a dying object with a side entry: they read dead, their callbacks
/// run (a panic is reported, see [`report_unraisable`]), and the object is marked dropped,
/// since its id can still name it until its memory goes. `pooled` says whether the object is
/// a block of a pool (see `heap::with_side_if_any_placed`).
#[inline(always)]
fn clear_weak_refs_of_dying(header: NonNull<ObjHeader>, pooled: impl FnOnce() -> bool) {
    if let Some(panic) = crate::weak::clear_and_run_placed(header, pooled) {
        report_callback_panic(header, panic);
    }
    // SAFETY: the caller passes an allocated header.
    unsafe { header.as_ref() }.set(flags::DROPPED);
}

/// Frees a dead tracked `T` whose value is gone: at once if it had no side entry; otherwise
/// as [`die`] does, since the entry (an id) must go too and a handle may have been made to it
/// through its id while it died. Panics of late weak callbacks wait for the end of the loop.
///
/// # Safety
/// `header` is a tracked `T`, unlinked, not held, its value dropped by [`end_value_typed`]
/// with the same `SIDE`.
#[inline(always)]
unsafe fn free_dead_tracked<T: Trace, const SIDE: bool>(header: NonNull<ObjHeader>) {
    // SAFETY: the caller's contract.
    let h = unsafe { header.as_ref() };
    if SIDE && (h.has(flags::SIDE) || h.strong() != 0) {
        free_after_side_entry(header);
    } else {
        // SAFETY: no side entry is left and no handle was made: nothing can reach the object.
        unsafe { free_tracked_typed::<T>(header) };
    }
}

/// [`free_dead_tracked`] for an object that keeps its side entry (its id, or weak references
/// made while it died) or a handle.
#[cold]
#[inline(never)]
fn free_after_side_entry(header: NonNull<ObjHeader>) {
    // SAFETY: the value is dropped and the object not held (`free_dead_tracked`'s contract).
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| unsafe { free_if_unused(header) })) {
        keep_panic(panic);
    }
}

/// Drops the value of a dead tracked `T`.
///
/// # Safety
/// `header` is a tracked `T` that nothing can reach, whose value is intact.
#[inline(always)]
unsafe fn drop_value_typed<T: Trace>(header: NonNull<ObjHeader>) {
    // SAFETY: the caller's contract.
    unsafe { std::ptr::drop_in_place(std::ptr::addr_of_mut!((*header.cast::<GcBox<T>>().as_ptr()).value).cast::<T>()) };
}

/// Frees a dead tracked `T` whose value is gone.
///
/// # Safety
/// `header` is a tracked `T`, unlinked, without side entry, its value dropped, and no
/// handle to it exists.
#[inline(always)]
unsafe fn free_tracked_typed<T: Trace>(header: NonNull<ObjHeader>) {
    // SAFETY: the caller's contract; it was allocated with `T`'s tracked layout.
    unsafe {
        let base = header.as_ptr().cast::<u8>().sub(TrackedLayout::<T>::PREFIX);
        pool::dealloc(base, TrackedLayout::<T>::LAYOUT);
    }
}

/// Finishes a death loop whose first object, a tracked `T` without finalizer (with a side
/// entry if `SIDE`), has just had its value dropped (or is unwinding from that drop): frees
/// it, runs the queued deaths, ends the loop.
struct FinishLoop<T: Trace, const SIDE: bool> {
    header: NonNull<ObjHeader>,
    _type: std::marker::PhantomData<T>,
}

impl<T: Trace, const SIDE: bool> Drop for FinishLoop<T, SIDE> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: the value is gone (dropped, or dropped by unwinding) and the object
        // unlinked.
        unsafe { free_dead_tracked::<T, SIDE>(self.header) };
        finish_loop();
    }
}

/// Drops a leaf's value and frees it, like `Rc`'s last drop. A panicking `Drop` still frees
/// the memory (a guard frees it while unwinding).
///
/// # Safety
/// `header` is a leaf object of type `T` that nothing can reach any more.
#[inline]
unsafe fn free_leaf_now<T: Trace>(header: NonNull<ObjHeader>) {
    struct FreeLeaf<T>(NonNull<GcBox<T>>);
    impl<T> Drop for FreeLeaf<T> {
        #[inline]
        fn drop(&mut self) {
            // SAFETY: leaves are allocated by `pool::alloc` with `GcBox<T>`'s layout, and
            // nothing refers to this one any more; its value is gone.
            unsafe { pool::dealloc(self.0.as_ptr().cast(), std::alloc::Layout::new::<GcBox<T>>()) };
        }
    }
    let boxed = header.cast::<GcBox<T>>();
    let guard = FreeLeaf(boxed);
    // SAFETY: the value is live and dropped exactly once; the guard then frees the memory.
    unsafe { ManuallyDrop::drop(&mut (*boxed.as_ptr()).value) };
    drop(guard);
}

/// The count of any object has just reached zero (the general path).
///
/// # Safety
/// `header` is an allocated object whose count is now zero.
#[cold]
#[inline(never)]
pub(crate) unsafe fn on_zero(header: NonNull<ObjHeader>) {
    // SAFETY: the caller passes an allocated header.
    if unsafe { header.as_ref() }.has(flags::HELD) {
        return;
    }
    // SAFETY: the caller's contract, and the object is not held.
    unsafe { on_zero_unheld(header) }
}

/// [`on_zero`] for an object the collector does not hold: the `TypeInfo::release` entry
/// point of slice and `str` objects.
///
/// # Safety
/// `header` is an allocated object whose count is now zero, not held by the collector.
pub(crate) unsafe fn on_zero_unheld(header: NonNull<ObjHeader>) {
    // SAFETY: the caller passes an allocated header.
    let h = unsafe { header.as_ref() };
    if h.has(flags::DROPPED) {
        // The collector dropped the value while something still held the object; the last
        // holder is gone now, so only the memory is left to free, unless the collector is
        // walking the heap and may hold the address (the memory is then leaked, see
        // `heap::Walk`).
        if heap::put_off_death_if_walking() {
            return;
        }
        // SAFETY: value dropped, count zero, not held: nothing can reach the memory.
        unsafe { free(header) };
        heap::release_extras_if_torn_down();
        return;
    }
    match heap::begin_death(header) {
        Death::Start => {
            // SAFETY: `begin_death` took the object out of its list; it is not queued.
            unsafe { die_keeping_panics(header) };
            finish_loop();
        }
        // SAFETY: as above.
        Death::Nested => unsafe { die_keeping_panics(header) },
        Death::Waits => {}
    }
}

/// One death in the running loop: the panics of user code it runs wait for the loop's end,
/// so that a drop around a nested death goes on.
///
/// # Safety
/// As for [`die`].
unsafe fn die_keeping_panics(header: NonNull<ObjHeader>) {
    // SAFETY: the caller's contract.
    match catch_unwind(AssertUnwindSafe(|| unsafe { die(header) })) {
        Ok(()) => {}
        Err(panic) => {
            keep_panic(panic);
            // SAFETY: the value's `Drop` panicked; unwinding dropped the rest of the value.
            unsafe { free_if_unused(header) };
        }
    }
}

/// Ends the death loop whose first death is done: runs what it queued, then raises the
/// first panic it kept.
#[inline]
fn finish_loop() {
    match heap::end_deaths_if_idle() {
        LoopEnd::Ended => {}
        LoopEnd::EndedWithPanic => raise(heap::take_loop_panic()),
        LoopEnd::Busy => {
            drain();
            raise(heap::end_deaths());
        }
    }
}

/// Keeps a panic of user code for the end of the death loop; reports the one that goes if
/// the loop has kept a panic already (see [`heap::keep_loop_panic`]).
#[cold]
fn keep_panic(panic: Panic) {
    if let Some(discarded) = heap::keep_loop_panic(panic, std::thread::panicking()) {
        report_discarded_panic("user code run while an object died", &discarded);
    }
}

/// Runs `f` with deaths queued, then runs every queued death. Returns the first panic of
/// user code (`f`'s own included).
pub(crate) fn run_deaths(f: impl FnOnce() -> Option<Panic>) -> Option<Panic> {
    let (started, nest_base) = heap::begin_batch();
    if !started {
        // A death loop runs already (the collection runs inside a `Drop`): it runs what `f`
        // queues. Deaths nest again once `f` is done, also if it unwinds.
        struct NestAgain(usize);
        impl Drop for NestAgain {
            fn drop(&mut self) {
                heap::set_nest_base(self.0);
            }
        }
        let _nest_again = NestAgain(nest_base);
        return f();
    }
    let mark = heap::pending_mark();
    if let Some(panic) = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(Some) {
        keep_panic(panic);
    }
    heap::reverse_pending_since(mark);
    heap::allow_nesting();
    drain();
    heap::end_deaths()
}

/// Runs every queued death, until the queue is empty. A panic of user code is caught once
/// per panic, not once per object, and kept for the loop's end.
fn drain() {
    let current: Cell<Option<NonNull<ObjHeader>>> = Cell::new(None);
    let mark = Cell::new(std::ptr::null_mut());
    loop {
        let result = catch_unwind(AssertUnwindSafe(|| {
            while let Some(header) = heap::pop_pending() {
                current.set(Some(header));
                mark.set(heap::pending_mark());
                // SAFETY: `header` is dying: count zero, unlinked, no longer queued.
                unsafe { die(header) };
                heap::reverse_pending_since(mark.get());
                current.set(None);
            }
        }));
        match result {
            Ok(()) => return,
            Err(panic) => {
                keep_panic(panic);
                // The value's `Drop` panicked; unwinding has dropped the rest of the value.
                if let Some(header) = current.take() {
                    heap::reverse_pending_since(mark.get());
                    // SAFETY: the value is gone; the count is zero unless the collector holds
                    // it (it does not on this path) or a handle escaped, which `free_if_unused`
                    // checks.
                    unsafe { free_if_unused(header) };
                }
            }
        }
    }
}

/// Raises a panic of user code again, unless the thread is already unwinding.
#[inline]
pub(crate) fn raise(panic: Option<Panic>) {
    if let Some(panic) = panic {
        raise_now(panic);
    }
}

#[cold]
fn raise_now(panic: Panic) {
    if std::thread::panicking() {
        report_discarded_panic("user code run while an object died", &panic);
    } else {
        resume_unwind(panic);
    }
}

/// The death of one object. Panics of the finalizer and of weak callbacks are caught and
/// reported ([`report_unraisable`]); a panic of the value's `Drop` unwinds to [`drain`].
///
/// # Safety
/// `header` is allocated, its count is zero, it is in no list and not queued.
unsafe fn die(header: NonNull<ObjHeader>) {
    // SAFETY: the caller passes an allocated header.
    let h = unsafe { header.as_ref() };
    let info = h.type_info();

    if info.has_finalizer() && !h.has(flags::FINALIZED) {
        h.set(flags::FINALIZED);
        // The finalizer's own temporary handle: while it runs, a weak reference can
        // resurrect the object.
        h.set_strong(1);
        // Tracked again while the finalizer runs, as CPython re-tracks an object around its
        // `__del__`: `get_objects` and `get_referrers` asked from it see the object, and a
        // collection it starts finds the object held (by the temporary handle), so alive.
        if info.is_tracked() {
            heap::relink_young(header);
        }
        // SAFETY: the value is intact and the object alive for the finalizer's duration.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { (info.finalize)(header) }));
        if let Err(panic) = result {
            report_unraisable(&format!("the finalizer of {}", info.short_name()), panic);
        }
        if !h.dec_strong() {
            // Resurrected: it stays in the list it is in.
            return;
        }
        if info.is_tracked() {
            heap::unlink_finalized(header);
        }
    }

    if h.has(flags::SIDE)
        && let Some(panic) = crate::weak::clear_and_run(header)
    {
        report_callback_panic(header, panic);
    }

    h.set(flags::DROPPED);
    // SAFETY: the object is dead and its value intact; DROPPED keeps anything from
    // borrowing the value from now on.
    unsafe { (info.drop_value)(header) };
    // The memory goes now, and with it the callbacks of weak references made to the object
    // after its own were cleared, whose panics are reported there.
    // SAFETY: the value is dropped.
    unsafe { free_if_unused(header) };
}

/// Frees an object whose value has been dropped, unless a handle to it still exists (then
/// the last handle frees it).
///
/// # Safety
/// The object's value has been dropped and it is not held by the collector.
unsafe fn free_if_unused(header: NonNull<ObjHeader>) {
    // SAFETY: the caller passes an allocated header.
    if unsafe { header.as_ref() }.strong() == 0 {
        // SAFETY: the value is dropped and no handle remains.
        unsafe { free(header) };
    }
}

/// Frees an object's memory: its id and side entry, its links, then the allocation.
///
/// # Safety
/// The value has been dropped, the count is zero and nothing else will touch the object.
pub(crate) unsafe fn free(header: NonNull<ObjHeader>) {
    // SAFETY: the caller passes an allocated header.
    let h = unsafe { header.as_ref() };
    if h.has(flags::SIDE) {
        // SAFETY: the caller's contract.
        return unsafe { free_with_side(header) };
    }
    let info = h.type_info();
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

/// [`free`] for an object with a side entry (its id, the slots of its dead weak
/// references): drops the entry, then frees the object. Out of line, so that [`free`] of an
/// object without one saves no registers.
///
/// # Safety
/// As for [`free`].
#[cold]
#[inline(never)]
unsafe fn free_with_side(header: NonNull<ObjHeader>) {
    // Weak references made after the object's were cleared (by a finalizer, to garbage the
    // collector is deleting) read dead before the memory goes; their callbacks run once it
    // is gone, as CPython runs them when such an object is freed.
    let cleared = heap::take_side(header).map(|entry| ClearedWeakRefs::clear_list(entry.weak));
    // SAFETY: the caller's contract: the object is allocated until `free` below.
    let type_name = cleared.as_ref().map(|_| unsafe { header.as_ref() }.type_info().short_name());
    // SAFETY: the caller's contract; the side flag is clear now.
    unsafe { free(header) };
    if let Some(panic) = cleared.and_then(ClearedWeakRefs::run) {
        report_unraisable(&format!("a weak reference callback of a {}", type_name.unwrap_or_default()), panic);
    }
}

/// Reports a panic that cannot be raised (the thread is already unwinding, or it happened
/// in a teardown hook).
pub(crate) fn report_discarded_panic(context: &str, panic: &Panic) {
    eprintln!("rc-heap: discarded a panic from {context}: {}", panic_message(&**panic));
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}

/// A panic of code the heap ran on its own account when an object died (a finalizer, a weak
/// reference's callback), by reference counting or in a collection, given to the hook set
/// with [`set_unraisable_hook`]: Python's "unraisable exception". The `drop` that ended the
/// object did not run that code, and may be a thread-local's destructor at thread exit,
/// where a panic aborts the process, so the panic is reported, not raised; a panic of the
/// value's own `Drop` still unwinds from the `drop`, as with `Rc`.
pub struct Unraisable<'a> {
    what: &'a str,
    payload: &'a (dyn Any + Send),
}

impl Unraisable<'_> {
    /// What panicked: `the finalizer of Node`, `a weak reference callback of a Node` for a
    /// death by reference counting; `the finalizer of <Node 0x...>` (with the address, as
    /// the collector's debug lines write objects) and `a weak reference callback` for a
    /// collection's; `the finalize function of a Node` for a `weakref.finalize` function,
    /// either way.
    pub fn what(&self) -> &str {
        self.what
    }

    /// The panic's message (its `&str` or `String` payload).
    pub fn message(&self) -> String {
        panic_message(self.payload)
    }

    /// The panic's payload, to downcast.
    pub fn payload(&self) -> &(dyn Any + Send) {
        self.payload
    }
}

/// The default report's text: `a panic in the finalizer of Node was caught: the message`.
impl std::fmt::Display for Unraisable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a panic in {} was caught: {}", self.what, self.message())
    }
}

impl std::fmt::Debug for Unraisable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unraisable").field("what", &self.what).field("message", &self.message()).finish()
    }
}

/// A hook given each [`Unraisable`] panic of its thread.
pub type UnraisableHook = Box<dyn FnMut(&Unraisable<'_>)>;

thread_local! {
    static UNRAISABLE_HOOK: std::cell::RefCell<Option<UnraisableHook>> = const { std::cell::RefCell::new(None) };
}

/// Python's `sys.unraisablehook`, for this thread: `hook` is given the panics of finalizers
/// and weak-reference callbacks, run by a death by reference counting or by a collection
/// (see [`Unraisable`]): each finalizer's and each callback's, once the callbacks that
/// panicked have all run (as CPython reports each); `None` restores the default, a line on
/// standard error (`rc-heap: a panic in the finalizer of Node was caught: ...`), or, for a collection's,
/// on the collector's debug output (`gc: a panic in the finalizer of <Node 0x...> was
/// caught: ...`, `gen_gc::set_debug_output`). Returns the hook it replaces. A test that wants
/// such panics to fail it records them with a hook and asserts afterwards. Rust's panic hook
/// still prints each panic first, as for any panic caught.
///
/// A panic of the hook itself is reported on standard error; a report made while the hook
/// runs (it dropped an object whose finalizer panicked) goes there too.
///
/// # Panics
///
/// When called from inside the hook.
pub fn set_unraisable_hook(hook: Option<UnraisableHook>) -> Option<UnraisableHook> {
    UNRAISABLE_HOOK.with(|slot| {
        let mut slot = slot.try_borrow_mut().expect("set_unraisable_hook called from inside the unraisable hook");
        std::mem::replace(&mut *slot, hook)
    })
}

/// Reports the panic of a weak reference callback run by the death of `header`.
#[cold]
fn report_callback_panic(header: NonNull<ObjHeader>, panic: Panic) {
    // SAFETY: the callers pass the header of the object whose death ran the callback, not
    // freed yet.
    let type_name = unsafe { header.as_ref() }.type_info().short_name();
    report_unraisable(&format!("a weak reference callback of a {type_name}"), panic);
}

/// Gives a panic of a finalizer or weak callback to the thread's unraisable hook, or writes
/// it on standard error (see [`set_unraisable_hook`]); the panics of several callbacks of one
/// death, kept together, each in turn.
#[cold]
#[inline(never)]
pub(crate) fn report_unraisable(what: &str, panic: Panic) {
    for (named, panic) in crate::weak::callback_panics(panic) {
        let what = named.as_deref().unwrap_or(what);
        if let Err(panic) = give_to_unraisable_hook(what, panic) {
            eprintln!("rc-heap: {}", Unraisable { what, payload: &*panic });
            forget_if_drop_panics(panic);
        }
    }
}

/// Gives a panic of a finalizer or weak callback to the thread's unraisable hook, if one is
/// set and not running; gives it back otherwise, for the caller's own report (the collector
/// writes it to its debug output).
#[cold]
pub(crate) fn give_to_unraisable_hook(what: &str, panic: Panic) -> Result<(), Panic> {
    let report = Unraisable { what, payload: &*panic };
    let reported = UNRAISABLE_HOOK.try_with(|slot| {
        let Ok(mut slot) = slot.try_borrow_mut() else { return false };
        let Some(hook) = slot.as_mut() else { return false };
        if let Err(hook_panic) = catch_unwind(AssertUnwindSafe(|| hook(&report))) {
            eprintln!("rc-heap: the unraisable hook panicked: {}", panic_message(&*hook_panic));
            forget_if_drop_panics(hook_panic);
        }
        true
    });
    if reported == Ok(true) {
        forget_if_drop_panics(panic);
        Ok(())
    } else {
        Err(panic)
    }
}

pub(crate) use crate::trace::forget_if_drop_panics;

// The entry points of a sized type that end its objects, and its `TypeInfo`, built here
// because its release and free are this module's.

impl TypeInfo {
    /// The type's information.
    pub fn of<T: Trace>() -> &'static TypeInfo {
        InfoFor::<T>::INFO
    }
}

struct InfoFor<T>(std::marker::PhantomData<T>);

impl<T: Trace> InfoFor<T> {
    const INFO: &'static TypeInfo = &TypeInfo {
        type_name: std::any::type_name::<T>,
        type_id: TypeId::of::<T>,
        size: size_of::<T>(),
        header_size: if T::TRACKED {
            TrackedLayout::<T>::PREFIX + size_of::<ObjHeader>()
        } else {
            size_of::<ObjHeader>()
        },
        is_sized: true,
        tracked: T::TRACKED,
        has_finalizer: T::HAS_FINALIZER,
        pooled: pool::serves(if T::TRACKED {
            TrackedLayout::<T>::LAYOUT
        } else {
            std::alloc::Layout::new::<GcBox<T>>()
        }),
        trace_dyn: type_info::trace_dyn::<T>,
        trace_tracked: type_info::trace_tracked::<T>,
        finalize: type_info::finalize::<T>,
        describe: type_info::describe::<T>,
        drop_value: type_info::drop_value::<T>,
        drop_value_and_free: drop_value_and_free::<T>,
        dealloc: dealloc::<T>,
        release: on_zero_typed_unheld::<T>,
        object_size: object_size::<T>,
    };
}

/// `raw::drop_value_and_free` for `T`: the value is dropped and, when nothing holds the
/// object then, its memory freed, with one call through the type's entry points.
unsafe fn drop_value_and_free<T: Trace>(header: NonNull<ObjHeader>) -> bool {
    // SAFETY: the caller's contract is `raw::drop_value_and_free`'s: a held, tracked object
    // of type `T` in no list, whose value is live and not borrowed.
    unsafe {
        let h = header.as_ref();
        h.set(flags::DROPPED);
        type_info::drop_value::<T>(header);
        if h.strong() != 0 {
            return false;
        }
        if h.has(flags::SIDE) {
            free(header);
        } else {
            dealloc::<T>(header);
        }
        true
    }
}

unsafe fn object_size<T: Trace>(_header: NonNull<ObjHeader>) -> usize {
    TypeInfo::of::<T>().object_size()
}

unsafe fn dealloc<T: Trace>(header: NonNull<ObjHeader>) {
    if T::TRACKED {
        // SAFETY: a tracked object was allocated by `pool::alloc` with
        // `TrackedLayout::<T>::LAYOUT`, its header `PREFIX` bytes into the allocation.
        unsafe {
            let base = header.as_ptr().cast::<u8>().sub(TrackedLayout::<T>::PREFIX);
            pool::dealloc(base, TrackedLayout::<T>::LAYOUT);
        }
    } else {
        // SAFETY: a leaf object was allocated by `pool::alloc` with `GcBox<T>`'s layout; its
        // value is dropped or moved out already.
        unsafe { pool::dealloc(header.as_ptr().cast(), std::alloc::Layout::new::<GcBox<T>>()) };
    }
}
