//! The weak-reference handle, [`Weak<T>`]: a typed view of a weak reference's slot (the
//! slots, their lists and their clearing at death are the `weak` module's).

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::Gc;
use crate::header::{GcBox, ObjHeader};
use crate::trace::{Trace, Visitor, WeakEdge};
use crate::weak::{Callback, SlotRef, WatchedTags, Watcher, WeakSlot, register, register_watched};

/// A weak reference to a heap object: it does not keep the object alive.
///
/// [`upgrade`](Weak::upgrade) gives a [`Gc`] while the object lives. When the object dies,
/// by refcount or by the collector, every weak reference to it reads dead before any
/// callback runs; then the callbacks run, newest first, each at most once.
///
/// Cloning a `Weak` gives another handle to the same weak reference (it shares the
/// callback); [`Gc::downgrade`] gives a reference without a callback, shared by all plain
/// downgrades of the object, as CPython shares its callback-less `weakref.ref`.
///
/// `T` may be unsized, as for [`Gc`]: downgrading a `Gc<dyn Trait>` gives a
/// `Weak<dyn Trait>`.
pub struct Weak<T: ?Sized> {
    slot: SlotRef,
    /// The object viewed as `T` (`T`'s metadata, the allocation's provenance); dangling
    /// once the object is freed, and only used while the slot says it is alive.
    ptr: NonNull<GcBox<T>>,
    _target: PhantomData<*const T>,
}

impl<T: Trace> Weak<T> {
    /// A weak reference that points nowhere: `upgrade` always gives `None`. Unlike
    /// `std::rc::Weak::new`, it is not `const` and allocates: a weak reference is a handle
    /// to a slot (16 bytes from the thread's pools), and this one's slot reads dead.
    pub fn new() -> Self {
        Weak::from_slot(WeakSlot::never(), NonNull::dangling())
    }
}

impl<T: ?Sized> Weak<T> {
    pub(crate) fn from_slot(slot: SlotRef, ptr: NonNull<GcBox<T>>) -> Self {
        Weak { slot, ptr, _target: PhantomData }
    }

    pub(crate) fn downgrade(gc: &Gc<T>) -> Self {
        Weak::from_slot(register(Gc::header(gc), None), Gc::box_ptr(gc))
    }

    pub(crate) fn with_callback(gc: &Gc<T>, callback: impl FnOnce(Weak<T>) + 'static) -> Self
    where
        T: 'static,
    {
        let ptr = Gc::box_ptr(gc);
        let callback = Callback::Once(Box::new(move |slot| callback(Weak::from_slot(slot.clone(), ptr))));
        Weak::from_slot(register(Gc::header(gc), Some(callback)), ptr)
    }

    pub(crate) fn watched(gc: &Gc<T>, watch: &Watcher, tag: usize) -> Self {
        let slot = register_watched(Gc::header(gc), watch, tag);
        Weak::from_slot(slot, Gc::box_ptr(gc))
    }

    /// A weak reference to an object under construction (`Gc::new_cyclic`): it reads dead
    /// until the object is made.
    pub(crate) fn to_unborn(header: NonNull<ObjHeader>, ptr: NonNull<GcBox<T>>) -> Self {
        Weak::from_slot(register(header, None), ptr)
    }

    /// A strong handle to the object, or `None` once it has died (or is dying).
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let header = self.slot.target()?;
        // SAFETY: a slot's target is cleared before its object's memory is freed, so a
        // set target is allocated.
        let h = unsafe { header.as_ref() };
        if !h.is_live() {
            return None;
        }
        debug_assert!(std::ptr::addr_eq(header.as_ptr(), self.ptr.as_ptr()));
        h.inc_strong();
        // SAFETY: the object is live and `ptr` views it as `T` (the slot was made from a
        // `Gc<T>` to it); the count taken just above moves to the result.
        Some(unsafe { Gc::from_box_owned(self.ptr) })
    }

    /// Whether the weak reference has been cleared: its object's death has run. A death the
    /// death loop queued (an object dropped deep in a chain of deaths) reads dead at once
    /// ([`is_dead`](Weak::is_dead)) but clears its weak references only when it runs, and a
    /// finalizer may still resurrect the object then; a weak container removes an entry
    /// only once it is cleared.
    #[doc(hidden)]
    pub fn is_cleared(&self) -> bool {
        self.slot.target().is_none()
    }

    /// Whether the object has died (`upgrade` gives `None`).
    pub fn is_dead(&self) -> bool {
        match self.slot.target() {
            // SAFETY: as in `upgrade`.
            Some(header) => !unsafe { header.as_ref() }.is_live(),
            None => true,
        }
    }

    /// The object's strong count (0 once it is dead).
    pub fn strong_count(&self) -> usize {
        match self.slot.target() {
            // SAFETY: as in `upgrade`.
            Some(header) if !self.is_dead() => unsafe { header.as_ref() }.strong(),
            _ => 0,
        }
    }

    /// The number of weak-reference handles to the object, this one included, as
    /// `Gc::weak_count` counts them (`Rc`'s `Weak::weak_count`); 0 once the object is dead.
    pub fn weak_count(&self) -> usize {
        match self.slot.target() {
            Some(header) if !self.is_dead() => crate::weak::handle_count(header),
            _ => 0,
        }
    }

    /// The number of handles to this weak reference (clones of it).
    pub fn handle_count(&self) -> usize {
        self.slot.handles.get()
    }

    /// Whether two weak references point to the same object, as `std::rc::Weak::ptr_eq`
    /// says: while their objects live, whether those are one object (whatever their
    /// callbacks); once either is dead, whether they are one weak reference (Python's
    /// `weakref.ref` equality rule), or both were made by [`Weak::new`] and never had one.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        match (self.slot.target(), other.slot.target()) {
            (Some(this), Some(that)) => this == that,
            _ => {
                std::ptr::eq(self.slot.as_ptr(), other.slot.as_ptr()) || (self.slot.is_never() && other.slot.is_never())
            }
        }
    }

    /// Whether this weak reference's object is `object`. A weak reference reads dead
    /// before its object's memory can be reused, so one to a dead object refers to no live
    /// one.
    #[inline]
    pub fn refers_to<U: ?Sized>(&self, object: &Gc<U>) -> bool {
        self.slot.target() == Some(Gc::header(object))
    }

    /// Whether two handles are clones of one weak reference (one slot: they share the
    /// callback), also when one is a `coerce_weak!` view of the other.
    pub fn same_reference<U: ?Sized>(&self, other: &Weak<U>) -> bool {
        std::ptr::eq(self.slot.as_ptr(), other.slot.as_ptr())
    }

    /// Whether this weak reference has a callback that has not run yet.
    pub fn has_callback(&self) -> bool {
        self.slot.has_callback()
    }
}

// `Gc`'s module comes first among the handles and names no other handle: a `Gc`'s weak
// references are made here.
impl<T: ?Sized> Gc<T> {
    /// A weak reference without a callback (shared by every plain downgrade of the object).
    pub fn downgrade(this: &Self) -> Weak<T> {
        Weak::downgrade(this)
    }

    /// A new weak reference whose `callback` runs once when the object dies (by refcount or
    /// by the collector), after every weak reference to it reads dead. The callback gets
    /// the (dead) weak reference. It does not run if every handle to this weak reference was
    /// dropped before the object died, or if the collector finds that garbage holds every
    /// handle of it; once the object has died, it runs even if another callback of the same
    /// death drops the last handle first (as CPython's callbacks do).
    ///
    /// Made to an object whose value the collector already dropped (from a `Drop` that runs
    /// while the collector frees the object's cycle), the weak reference reads dead from the
    /// start and the callback runs at once, during this call (a panic of it is this call's).
    pub fn downgrade_with_callback(this: &Self, callback: impl FnOnce(Weak<T>) + 'static) -> Weak<T>
    where
        T: 'static,
    {
        Weak::with_callback(this, callback)
    }

    /// A new weak reference whose death is reported to `watch` with `tag` (see
    /// [`DeathWatch`](crate::DeathWatch) and [`Watcher`]): a weak reference with a callback
    /// that costs no allocation of its own, for containers that hold many weak references
    /// and one watcher. The watcher records it under `tag` as its live weak reference for
    /// the tag, until its object dies or it is dropped, or a newer one is made with the tag.
    /// The record is a vector indexed by tag, made for small dense tags (a container's
    /// slots); any tag works, but one far past the others is not recorded.
    ///
    /// Made to an object already dropped (from a `Drop` that runs while the collector frees
    /// the object's cycle), the weak reference reads dead from the start and its death is
    /// told at once, as any other's: marked in a deferred watcher's record, or reported to
    /// the watcher during this call (a panic of its `died` is this call's).
    pub fn downgrade_watched(this: &Self, watch: &Watcher, tag: usize) -> Weak<T> {
        Weak::watched(this, watch, tag)
    }

    /// The tags of this object's weak references that report to `watch` (made by
    /// [`downgrade_watched`](Gc::downgrade_watched) with it, and not dropped), newest first;
    /// for a [`Watcher::deferred`], the one that is the object's shared slot comes last,
    /// and stays while plain handles share it (see there).
    ///
    /// A watcher finds its entry for an object from the object, as CPython finds an
    /// object's weak references through the object: no index of its own. The walk is over
    /// the object's weak references with callbacks, a few for most objects.
    pub fn watched_tags(this: &Self, watch: &Watcher) -> WatchedTags {
        crate::weak::watched_tags(Gc::header(this), watch)
    }

    /// The first of [`watched_tags`](Gc::watched_tags) that `accept` accepts, without
    /// collecting them: what a container asks to find its entry for this object. `accept`
    /// runs once the object's weak references have been walked.
    #[inline]
    pub fn find_watched(this: &Self, watch: &Watcher, accept: impl FnMut(usize) -> bool) -> Option<usize> {
        crate::weak::find_watched(Gc::header(this), watch, accept)
    }
}

impl Watcher {
    /// What `weak.upgrade()` gives, read through this watcher's record when `weak` is the
    /// live weak reference it recorded under `tag` (made by
    /// [`Gc::downgrade_watched`] with this watcher and `tag`, the newest such): one word of
    /// the record, in tag order, instead of the weak reference's slot. Any other `weak` is
    /// upgraded as usual.
    #[inline]
    pub fn upgrade<T: ?Sized>(&self, tag: usize, weak: &Weak<T>) -> Option<Gc<T>> {
        if !self.is_recorded(tag, weak.slot.as_ptr()) {
            return weak.upgrade();
        }
        // SAFETY: a recorded slot is listed, so its target is set, and a slot's target is
        // cleared before its object's memory is freed: the object is allocated. `weak.ptr`
        // is the pointer the slot was made with (the object, viewed as `T`), whose header
        // comes first (`GcBox` is `repr(C)`).
        let h = unsafe { weak.ptr.cast::<ObjHeader>().as_ref() };
        if !h.is_live() {
            return None;
        }
        h.inc_strong();
        // SAFETY: the object is live and `ptr` views it as `T`; the count taken just above
        // moves to the result.
        Some(unsafe { Gc::from_box_owned(weak.ptr) })
    }

    /// What `weak.is_dead()` says, read through this watcher's record as
    /// [`upgrade`](Watcher::upgrade) reads it.
    #[inline]
    pub fn is_dead<T: ?Sized>(&self, tag: usize, weak: &Weak<T>) -> bool {
        if !self.is_recorded(tag, weak.slot.as_ptr()) {
            return weak.is_dead();
        }
        // SAFETY: as in `upgrade`.
        !unsafe { weak.ptr.cast::<ObjHeader>().as_ref() }.is_live()
    }

    /// Drops `weaks`, as dropping each one does, faster when they are this watcher's weak
    /// references to dead objects and each the last handle of its weak reference (a
    /// container dropping the entries whose objects died): their slots go back to the pools
    /// together.
    pub fn drop_weaks<T: ?Sized>(&self, weaks: impl IntoIterator<Item = Weak<T>>) {
        self.drop_slots(weaks.into_iter().map(|weak| weak.slot));
    }
}

/// The weak reference of a [`Weak`] taken apart by `coerce_weak!`, to be put back together
/// with the object pointer it was taken with (or an unsized view of it).
#[doc(hidden)]
pub struct WeakReferencePart(SlotRef);

impl fmt::Debug for WeakReferencePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakReferencePart").finish_non_exhaustive()
    }
}

impl<T: Trace> Weak<T> {
    /// Half of [`coerce_weak!`](crate::coerce_weak): the weak reference and the object's
    /// pointer (dangling if it never had one).
    #[doc(hidden)]
    pub fn __into_parts(this: Weak<T>) -> (WeakReferencePart, *const GcBox<T>) {
        (WeakReferencePart(this.slot), this.ptr.as_ptr())
    }
}

impl<T: ?Sized> Weak<T> {
    /// Half of [`coerce_weak!`](crate::coerce_weak): the weak reference back.
    ///
    /// # Safety
    /// `reference` and `object` were returned together by [`Weak::__into_parts`], `object`
    /// possibly unsized by a coercion.
    #[doc(hidden)]
    pub unsafe fn __from_parts(reference: WeakReferencePart, object: *const GcBox<T>) -> Weak<T> {
        // SAFETY: the pointer came from a `NonNull` (`__into_parts`), and an unsizing
        // coercion keeps the address and adds metadata; it is only used while the slot says
        // the object lives, and then views it as `T` (a view of what it was made from).
        Weak::from_slot(reference.0, unsafe { NonNull::new_unchecked(object.cast_mut()) })
    }
}

impl<T: ?Sized> Clone for Weak<T> {
    fn clone(&self) -> Self {
        Weak::from_slot(self.slot.clone(), self.ptr)
    }
}

impl<T: Trace> Default for Weak<T> {
    fn default() -> Self {
        Weak::new()
    }
}

impl<T: ?Sized> fmt::Debug for Weak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = crate::type_info::short_type_name(std::any::type_name::<T>());
        match self.is_dead() {
            true => write!(f, "(Weak<{name}>: dead)"),
            false => write!(f, "(Weak<{name}>: alive)"),
        }
    }
}

// SAFETY: a weak reference reports itself with `visit_weak`, which the collector uses only
// to skip callbacks of weak references owned by garbage. Its only strong edges are those of
// a traced callback's captures, owned by the slot: visited only while this handle is the
// slot's only one, so owned exclusively (rule 1), and once per call. It counts as tracked so
// that containers of weak references are traced and the collector sees them.
unsafe impl<T: ?Sized + 'static> Trace for Weak<T> {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        visitor.visit_weak(WeakEdge { target: &self.slot.target, handles: self.slot.handles.get() });
        // A traced callback's captures belong to the slot, which this handle owns alone only
        // while it is the slot's one handle (as `Rc`'s impl traces only at a count of 1).
        if self.slot.handles.get() == 1 {
            self.slot.trace_callback(visitor);
        }
    }
}
