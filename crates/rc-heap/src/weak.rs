//! Weak references, with optional callbacks (Python's `weakref.ref(obj, callback)`): their
//! slots, the lists an object's side entry keeps of them, and their clearing at death. The
//! handle, [`Weak<T>`](crate::Weak), is a typed view of a slot (the `weak_handle` module).
//!
//! A weak reference is a small slot outside the object, like CPython's weakref objects: the
//! object's memory is freed as soon as its strong count reaches zero, and the slot is told
//! the object is gone. An object finds its slots through its side entry ([`WeakList`], kept
//! in its pool's array or the heap's side table), which holds two pointers, as CPython's
//! object holds its `tp_weaklist`: the shared slot without a callback, and the newest slot
//! with one, from which the others with callbacks are linked newest to oldest through the
//! slots themselves. Making a weak reference costs the slot's allocation and one access to
//! the side entry (for an object of a pool, an index into its pool's array: no hashing); a
//! death, one access and a walk of the list.
//!
//! A slot is a block of the heap's pools with a count of its handles ([`SlotRef`]), as an
//! object is, so that making one costs a pool allocation rather than a `malloc`.
//!
//! **Invariant:** a slot is *listed* (the entry's shared slot, or in its list) exactly while
//! its target is set. A listed pointer came from a live [`SlotRef`], and a slot unlists
//! itself before its memory goes (its `Drop`, while its target is set), so a listed pointer
//! always points at a live slot. Clearing the targets unlists every slot at once.

use std::cell::Cell;
use std::fmt;
use std::ptr::NonNull;

use crate::header::{ObjHeader, flags};
use crate::side::{WeakList, WeakTarget};
use crate::trace::WeakEdge;
use crate::{heap, pool};

/// A callback of a weak reference's own, given the weak reference's slot.
type OwnCallback = Box<dyn FnOnce(&SlotRef)>;

/// What a weak reference does when its object dies.
pub(crate) enum Callback {
    /// A callback of its own (`Gc::downgrade_with_callback`).
    Once(OwnCallback),
    /// A word to a watcher shared by many weak references (`Gc::downgrade_watched`): no
    /// allocation per weak reference, and the watcher learns which one died by its tag.
    Watched(std::rc::Weak<dyn DeathWatch>, usize),
}

/// Something told of the deaths of objects it holds weak references to, one call per
/// death, with the tag the weak reference was made with ([`Gc::downgrade_watched`](crate::Gc::downgrade_watched)).
///
/// One watcher serves many weak references: a weak container is the watcher of all its
/// entries, as CPython's `WeakValueDictionary` gives every entry the same `_remove`
/// callback, and finds the entry by its tag instead of allocating a callback per entry.
/// A watcher is held weakly, so that the container's own entries do not keep it alive;
/// once it is gone, its weak references' deaths are not reported.
///
/// [`died`](DeathWatch::died) is a weak-reference callback in every other way: it runs
/// after every weak reference to the object reads dead, newest first among the object's
/// callbacks, at most once, not at all if the weak reference was dropped before or is owned
/// by garbage the collector is deleting; it may allocate, drop handles or collect; a panic
/// is caught and raised again when the death is over.
pub trait DeathWatch {
    /// The object of the weak reference made with `tag` has died.
    fn died(&self, tag: usize);
}

/// The shared part of one weak reference: where it points and what to call at death.
///
/// `repr(C)` with the target word first: a [`WeakList`] points at slots through their
/// target words.
#[repr(C)]
pub(crate) struct WeakSlot {
    /// The object (null once cleared), with its flags: one word, so that a slot is 64
    /// bytes, one pool block.
    pub(crate) target: WeakTarget,
    /// The number of [`SlotRef`]s to this slot: the handles of this weak reference, and the
    /// temporary one a death holds while the callback runs.
    pub(crate) handles: Cell<usize>,
    pub(crate) callback: Cell<Option<Callback>>,
    /// While listed with a callback: the next older slot of the list (null at its end).
    older: Cell<*const WeakSlot>,
    /// While listed with a callback: the next newer slot (null for the newest, which the
    /// side entry points at).
    newer: Cell<*const WeakSlot>,
}

// One 64-byte pool block: a clone, a drop or an upgrade touches one cache line of it.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<WeakSlot>() == 64);

impl WeakSlot {
    /// The object, while it is alive.
    pub(crate) fn target(&self) -> Option<NonNull<ObjHeader>> {
        self.target.get()
    }

    /// Whether this is the slot without a callback, shared by every plain `downgrade` of
    /// its object.
    fn is_basic(&self) -> bool {
        self.target.has(WeakTarget::BASIC)
    }

    fn new(target: Option<NonNull<ObjHeader>>, callback: Option<Callback>) -> WeakSlot {
        let flags = if callback.is_none() { WeakTarget::BASIC } else { 0 };
        WeakSlot {
            target: WeakTarget::new(target, flags),
            handles: Cell::new(1),
            callback: Cell::new(callback),
            older: Cell::new(std::ptr::null()),
            newer: Cell::new(std::ptr::null()),
        }
    }

    pub(crate) fn dead() -> SlotRef {
        SlotRef::new(WeakSlot::new(None, None))
    }

    /// Takes this slot out of its object's list; returns the list's new newest slot if this
    /// one was the newest (the caller then updates the side entry).
    fn unlink(&self) -> Option<*const WeakSlot> {
        let (older, newer) = (self.older.replace(std::ptr::null()), self.newer.replace(std::ptr::null()));
        if !older.is_null() {
            // SAFETY: a listed pointer points at a live slot (module invariant).
            unsafe { (*older).newer.set(newer) };
        }
        if newer.is_null() {
            return Some(older);
        }
        // SAFETY: as above.
        unsafe { (*newer).older.set(older) };
        None
    }
}

/// A listed slot as its [`WeakList`] points at it: through its target word, the slot's
/// first field. The pointer is the slot's own, cast, so it keeps the whole slot's
/// provenance.
fn listed(slot: *const WeakSlot) -> *const WeakTarget {
    slot.cast()
}

/// The slot a [`WeakList`] pointer points at.
fn slot_of(listed: *const WeakTarget) -> *const WeakSlot {
    listed.cast()
}

// The weak references of one object, as its side entry keeps them (see the module
// invariant): the shared slot without a callback, and the newest slot with one.
impl WeakList {
    /// Forgets `slot`, which is listed here and being dropped.
    fn forget(&mut self, slot: &WeakSlot) {
        if slot.is_basic() {
            debug_assert!(std::ptr::eq(slot_of(self.basic), slot));
            self.basic = std::ptr::null();
        } else if let Some(newest) = slot.unlink() {
            debug_assert!(std::ptr::eq(slot_of(self.newest), slot));
            self.newest = listed(newest);
        }
    }

    /// Every listed slot, the shared one first, then newest to oldest.
    fn slots(self) -> impl Iterator<Item = *const WeakSlot> {
        let newest = slot_of(self.newest);
        let with_callbacks = std::iter::successors(Some(newest).filter(|slot| !slot.is_null()), |&slot| {
            // SAFETY: a listed pointer points at a live slot (module invariant).
            Some(unsafe { (*slot).older.get() }).filter(|older| !older.is_null())
        });
        Some(slot_of(self.basic)).filter(|slot| !slot.is_null()).into_iter().chain(with_callbacks)
    }

    /// The number of handles to the listed weak references.
    pub(crate) fn handle_count(self) -> usize {
        self.slots()
            // SAFETY: a listed pointer points at a live slot (module invariant).
            .map(|slot| unsafe { (*slot).handles.get() })
            .sum()
    }
}

impl Drop for WeakSlot {
    fn drop(&mut self) {
        if self.callback.get_mut().is_some() {
            heap::add_pending_callbacks(-1);
        }
        if let Some(target) = self.target() {
            forget_slot(target, self);
        }
    }
}

/// A counted handle to a [`WeakSlot`] in the heap's pools, as `Rc<WeakSlot>` would be, with
/// the pool's allocation instead of the global allocator's.
pub(crate) struct SlotRef(NonNull<WeakSlot>);

impl SlotRef {
    const LAYOUT: std::alloc::Layout = std::alloc::Layout::new::<WeakSlot>();

    /// Moves `slot` (whose count is 1) into a new block.
    fn new(slot: WeakSlot) -> SlotRef {
        debug_assert_eq!(slot.handles.get(), 1);
        // SAFETY: `WeakSlot` is not zero-sized.
        let block = unsafe { pool::alloc(Self::LAYOUT) }.cast::<WeakSlot>();
        // SAFETY: `pool::alloc` returns a block for `LAYOUT` (it aborts rather than return
        // null), so writing a `WeakSlot` there is in bounds and aligned.
        unsafe { block.write(slot) };
        // SAFETY: as above, not null.
        SlotRef(unsafe { NonNull::new_unchecked(block) })
    }

    /// A new handle to a listed slot.
    ///
    /// # Safety
    /// `slot` is listed (module invariant), so it points at a live slot.
    unsafe fn from_listed(slot: *const WeakSlot) -> SlotRef {
        // SAFETY: the caller's contract.
        let live = unsafe { &*slot };
        live.handles.set(live.handles.get() + 1);
        // SAFETY: a listed pointer is not null; the count taken above belongs to the result.
        SlotRef(unsafe { NonNull::new_unchecked(slot.cast_mut()) })
    }

    pub(crate) fn as_ptr(&self) -> *const WeakSlot {
        self.0.as_ptr()
    }
}

impl std::ops::Deref for SlotRef {
    type Target = WeakSlot;

    fn deref(&self) -> &WeakSlot {
        // SAFETY: a handle keeps its slot alive (the slot is freed when the last one drops).
        unsafe { self.0.as_ref() }
    }
}

impl Clone for SlotRef {
    fn clone(&self) -> Self {
        let count = self.handles.get().wrapping_add(1);
        if count == 0 {
            std::process::abort();
        }
        self.handles.set(count);
        SlotRef(self.0)
    }
}

impl Drop for SlotRef {
    fn drop(&mut self) {
        let count = self.handles.get() - 1;
        self.handles.set(count);
        if count == 0 {
            // SAFETY: this was the last handle, so nothing else refers to the slot: it is
            // dropped in place once (its `Drop` unlists it) and its block, allocated by
            // `SlotRef::new` with `LAYOUT` on this thread (`SlotRef` is not `Send`), freed.
            unsafe {
                std::ptr::drop_in_place(self.0.as_ptr());
                pool::dealloc(self.0.as_ptr().cast(), Self::LAYOUT);
            }
        }
    }
}

pub(crate) fn register(header: NonNull<ObjHeader>, callback: Option<Callback>) -> SlotRef {
    // SAFETY: the caller holds a `Gc` to `header`.
    let h = unsafe { header.as_ref() };
    if h.has(flags::DROPPED) {
        return WeakSlot::dead();
    }
    let with_callback = callback.is_some();
    let slot = heap::with_side(header, |entry| {
        let list = &mut entry.weak;
        if !with_callback && !list.basic.is_null() {
            // SAFETY: the shared slot is listed.
            return unsafe { SlotRef::from_listed(slot_of(list.basic)) };
        }
        let slot = SlotRef::new(WeakSlot::new(Some(header), callback));
        if with_callback {
            let newest = slot_of(list.newest);
            slot.older.set(newest);
            if !newest.is_null() {
                // SAFETY: a listed pointer points at a live slot (module invariant).
                unsafe { (*newest).newer.set(slot.as_ptr()) };
            }
            list.newest = listed(slot.as_ptr());
        } else {
            list.basic = listed(slot.as_ptr());
        }
        slot
    });
    if with_callback {
        heap::add_pending_callbacks(1);
    }
    slot
}

/// Makes the weak references of an object being freed read dead (their callbacks, if any,
/// never run: the object is gone). Only weak references made after the object's were
/// cleared can be left, such as those a finalizer makes to garbage the collector deletes.
pub(crate) fn clear_targets(list: WeakList) {
    /// Unlists one slot; returns the next older one.
    fn clear(slot: *const WeakSlot) -> *const WeakSlot {
        // SAFETY: the slots were listed when the list was taken out of the side entry, and
        // no code has run since that could drop them.
        let slot = unsafe { &*slot };
        slot.target.clear();
        slot.newer.set(std::ptr::null());
        slot.older.replace(std::ptr::null())
    }
    if !list.basic.is_null() {
        clear(slot_of(list.basic));
    }
    let mut slot = slot_of(list.newest);
    while !slot.is_null() {
        slot = clear(slot);
    }
}

/// The weak references of an object that has died: all of them already read dead; what is
/// left is to run their callbacks.
#[must_use = "the callbacks have not run yet"]
pub struct ClearedWeakRefs {
    /// The first weak reference with a callback, kept apart so that the usual death, with
    /// one, allocates no vector.
    first: Option<SlotRef>,
    /// The others, newest first.
    rest: Vec<SlotRef>,
}

impl fmt::Debug for ClearedWeakRefs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = usize::from(self.first.is_some()) + self.rest.len();
        f.debug_struct("ClearedWeakRefs").field("with_callbacks", &count).finish()
    }
}

impl ClearedWeakRefs {
    /// Clears every weak reference to `header` (they read dead from now on) and keeps the
    /// ones with callbacks to run. The object's id stays until its memory is freed.
    pub(crate) fn clear(header: NonNull<ObjHeader>) -> Self {
        let list = take_list(header);
        let mut cleared = ClearedWeakRefs { first: None, rest: Vec::new() };
        for slot in list.slots() {
            // SAFETY: the slot was listed when the list was taken out of the side entry,
            // and nothing has run since that could drop it.
            let slot_ref = unsafe { &*slot };
            if !slot_ref.is_basic() {
                // SAFETY: as above, the slot is listed; the handle taken here keeps it alive
                // until its callback has run.
                cleared.push(unsafe { SlotRef::from_listed(slot) });
            }
        }
        // Unlisted only now: the walk above follows the links this clears.
        clear_targets(list);
        cleared
    }

    fn push(&mut self, slot: SlotRef) {
        match self.first {
            None => self.first = Some(slot),
            Some(_) => self.rest.push(slot),
        }
    }

    /// Whether there is no callback to run.
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Moves the callbacks of `other` after this one's.
    pub fn append(&mut self, other: ClearedWeakRefs) {
        for slot in other.first.into_iter().chain(other.rest) {
            self.push(slot);
        }
    }

    /// Runs the callbacks, newest first, skipping those whose weak reference is owned by
    /// garbage. A panicking callback does not stop the others; the first panic is returned.
    pub fn run(self) -> Option<Box<dyn std::any::Any + Send>> {
        let mut first_panic = None;
        let ClearedWeakRefs { first, rest } = self;
        if let Some(slot) = first {
            run_callback(slot, &mut first_panic);
        }
        if !rest.is_empty() {
            for slot in rest {
                run_callback(slot, &mut first_panic);
            }
        }
        first_panic
    }
}

/// Runs the callback of one cleared weak reference, unless its weak reference is owned by
/// garbage or the callback has run; keeps the first panic.
#[inline]
fn run_callback(slot: SlotRef, first_panic: &mut Option<Box<dyn std::any::Any + Send>>) {
    if slot.target.has(WeakTarget::OWNER_UNREACHABLE) {
        return;
    }
    let Some(callback) = slot.callback.take() else {
        return;
    };
    heap::add_pending_callbacks(-1);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match callback {
        Callback::Once(callback) => callback(&slot),
        Callback::Watched(watch, tag) => {
            if let Some(watch) = watch.upgrade() {
                watch.died(tag);
            }
        }
    }));
    if let Err(panic) = result {
        first_panic.get_or_insert(panic);
    }
}

/// The number of handles to an object's weak references (`Gc::weak_count`).
pub(crate) fn handle_count(header: NonNull<ObjHeader>) -> usize {
    heap::with_side_if_any(header, |entry| entry.weak.handle_count()).unwrap_or(0)
}

/// Takes the weak references of an object out of its side entry, keeping its id.
fn take_list(header: NonNull<ObjHeader>) -> WeakList {
    heap::with_side_if_any(header, |entry| std::mem::take(&mut entry.weak)).unwrap_or_default()
}

/// Forgets one weak slot of a live object (the slot is being dropped).
fn forget_slot(header: NonNull<ObjHeader>, slot: &WeakSlot) {
    heap::with_side_if_any(header, |entry| entry.weak.forget(slot));
}

// `WeakEdge` is the tracing layer's; what it reads is the slot's target word.
impl fmt::Debug for WeakEdge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakEdge").field("alive", &self.target.get().is_some()).finish()
    }
}

impl WeakEdge<'_> {
    /// The object the weak reference points to, if it is still alive.
    pub fn target(&self) -> Option<NonNull<ObjHeader>> {
        self.target.get()
    }

    /// Marks the weak reference as owned by garbage: its callback will not run. The
    /// collector does this for weak references held by objects it is about to destroy.
    pub fn mark_owner_unreachable(&self) {
        self.target.mark_owner_unreachable();
    }
}
