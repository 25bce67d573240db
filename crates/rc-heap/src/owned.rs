//! `std::rc` parity: `new_cyclic`, `get_mut`, `make_mut`, `try_unwrap`, `into_inner` and
//! `unwrap_or_clone`, with `Rc`'s names and semantics; the deliberate differences are listed
//! on [`GcMut`].

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use crate::header::{GcBox, Links, ObjHeader, TrackedLayout, flags};
use crate::trace::Trace;
use crate::type_info::TypeInfo;
use crate::weak::ClearedWeakRefs;
use crate::{Gc, Weak, dealloc, heap, pool};

/// The value of a [`Gc`] lent mutably by [`Gc::get_mut`] or [`Gc::make_mut`]: dereferences
/// to `&mut T`. While it lives, the collector does not look at the object; dropping it puts
/// the object back where the collector sees it (the young generation).
///
/// # Differences from `std::rc`
///
/// `Gc` has `Rc`'s `new_cyclic`, `get_mut`, `make_mut`, `try_unwrap`, `into_inner` and
/// `unwrap_or_clone`, with three deliberate differences, each because a collector may look at
/// the heap while user code runs:
///
/// - `get_mut` and `make_mut` lend the value through this guard, not a bare `&mut T`. While
///   it lives, the object is out of the collector's lists (a collection that an allocation
///   starts meanwhile does not read the value being changed; whatever the value holds counts
///   as held from outside until the guard goes) and no handle is made to it from its id.
///   Dropping the guard puts the object back into the young generation, also an object of an
///   older one (it counts toward the young count and is promoted again by the next
///   collections) and an object that `gen_gc::freeze` had moved to the permanent generation
///   (changing a frozen object in Python leaves it frozen): after a `freeze` meant to last,
///   share objects rather than lend them mutably, or freeze again. An object's list is not
///   written in it, so the guard cannot find it again at no cost. Forgetting it only
///   leaves the object out of the lists (a leak if it is in a cycle, never unsoundness).
/// - `get_mut` also says `None` while the collector holds the object (it is destroying the
///   object's cycle, and a finalizer or `Drop` reached it) or walks the heap.
/// - `try_unwrap` of an object with weak references makes them read dead and runs their
///   callbacks, as a death would; `Rc` has no callbacks. The finalizer does not run: the
///   value lives on, moved out. It fails while the collector holds or walks the object.
pub struct GcMut<'a, T: ?Sized + 'static> {
    object: NonNull<GcBox<T>>,
    _borrow: PhantomData<&'a mut Gc<T>>,
}

impl<T: ?Sized> Deref for GcMut<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard stands for the only handle, borrowed mutably, to a live object
        // whose value is not dropped; nothing else reads the value while the guard lives.
        unsafe { &(*self.object.as_ptr()).value }
    }
}

impl<T: ?Sized> DerefMut for GcMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; the guard is borrowed mutably, so this is the only access.
        unsafe { &mut (*self.object.as_ptr()).value }
    }
}

impl<T: ?Sized> Drop for GcMut<'_, T> {
    fn drop(&mut self) {
        let header = self.object.cast::<ObjHeader>();
        // SAFETY: the guard's handle keeps the object allocated.
        let h = unsafe { header.as_ref() };
        h.clear(flags::BORROWED);
        if !h.is_tracked() || heap::is_walking() {
            return;
        }
        // SAFETY: tracked objects have links in front of their header.
        let linked = unsafe { Links::of(header).as_ref() }.is_linked();
        if !linked {
            heap::relink_young(header);
        }
    }
}

impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for GcMut<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: ?Sized + std::fmt::Display> std::fmt::Display for GcMut<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: ?Sized> Gc<T> {
    /// The value, mutably, when this is the only handle to the object and no weak reference
    /// to it has a handle left (`Rc::get_mut`); `None` otherwise, or while the collector
    /// holds the object or walks the heap. The value comes through a guard: see
    /// [`GcMut`] for the differences from `Rc`.
    ///
    /// ```
    /// use rc_heap::Gc;
    ///
    /// let mut a = Gc::new(vec![1, 2]);
    /// Gc::get_mut(&mut a).unwrap().push(3);
    /// let b = a.clone();
    /// assert!(Gc::get_mut(&mut a).is_none()); // shared
    /// drop(b);
    /// assert_eq!(*a, [1, 2, 3]);
    /// ```
    pub fn get_mut(this: &mut Self) -> Option<GcMut<'_, T>> {
        let header = Gc::header(this);
        if !Self::is_unique(this) {
            return None;
        }
        // SAFETY: the handle keeps the object allocated.
        let h = unsafe { header.as_ref() };
        if h.is_tracked() {
            heap::unlink_lent(header);
        }
        h.set(flags::BORROWED);
        Some(GcMut { object: Gc::box_ptr(this), _borrow: PhantomData })
    }

    /// Whether [`Gc::get_mut`] would lend the value.
    fn is_unique(this: &Self) -> bool {
        let header = Gc::header(this);
        // SAFETY: the handle keeps the object allocated.
        let h = unsafe { header.as_ref() };
        h.strong() == 1
            && !h.has(flags::DROPPED | flags::HELD)
            && crate::weak::handle_count(header) == 0
            && !(h.is_tracked() && heap::is_walking())
    }
}

impl<T: Trace> Gc<T> {
    /// Makes an object that refers to itself (`Rc::new_cyclic`): `data_fn` gets a weak
    /// reference to the object under construction and returns its value. Inside `data_fn`
    /// the weak reference reads dead (`upgrade` gives `None`); once the object is made, it
    /// and its clones upgrade.
    ///
    /// If `data_fn` panics, the memory is freed, the panic goes on, and every weak reference
    /// made to the object stays dead.
    ///
    /// ```
    /// use rc_heap::{Gc, Trace, Weak};
    ///
    /// #[derive(Trace)]
    /// #[trace(crate = rc_heap)]
    /// struct Widget {
    ///     me: Weak<Widget>,
    /// }
    ///
    /// let widget = Gc::new_cyclic(|me| {
    ///     assert!(me.upgrade().is_none()); // under construction
    ///     Widget { me: me.clone() }
    /// });
    /// assert!(Gc::ptr_eq(&widget.me.upgrade().unwrap(), &widget));
    /// ```
    #[cfg_attr(feature = "alloc-site", track_caller)]
    pub fn new_cyclic(data_fn: impl FnOnce(&Weak<T>) -> T) -> Gc<T> {
        let unborn = Unborn::<T>::new();
        let weak = Weak::to_unborn(unborn.header(), unborn.object);
        let value = data_fn(&weak);
        unborn.finish(value)
    }

    /// The value, if this is the only strong handle (`Rc::try_unwrap`); the handle back
    /// otherwise, while the collector holds the object or walks the heap, or when the
    /// collector already dropped the value ([`Gc::is_dropped`]: a handle a `Drop` kept to
    /// another member of a freed cycle). Weak
    /// references to the object read dead afterwards and their callbacks have run; the
    /// finalizer does not run (the value lives on).
    ///
    /// ```
    /// use rc_heap::Gc;
    ///
    /// let a = Gc::new(String::from("x"));
    /// let b = a.clone();
    /// let a = Gc::try_unwrap(a).unwrap_err(); // shared
    /// drop(b);
    /// assert_eq!(Gc::try_unwrap(a).unwrap(), "x");
    /// ```
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        let (value, callbacks) = Gc::take_unique(this)?;
        Self::run_death_callbacks(callbacks);
        Ok(value)
    }

    /// Whether [`Gc::take_unique`] would move the value out.
    fn is_movable(this: &Self) -> bool {
        // SAFETY: the handle keeps the object allocated.
        let h = unsafe { Gc::header(this).as_ref() };
        h.strong() == 1 && !h.has(flags::DROPPED | flags::HELD) && !(T::TRACKED && heap::is_walking())
    }

    /// [`Gc::try_unwrap`] up to the weak callbacks: the value moved out, the object freed,
    /// its weak references read dead; their callbacks, returned, have not run. No user code
    /// runs here.
    fn take_unique(this: Self) -> Result<(T, Option<ClearedWeakRefs>), Self> {
        if !Gc::is_movable(&this) {
            return Err(this);
        }
        let header = Gc::header(&this);
        // SAFETY: the handle keeps the object allocated.
        let h = unsafe { header.as_ref() };
        std::mem::forget(this);
        if T::TRACKED {
            heap::unlink_lent(header);
        }
        // SAFETY: the value is live and owned by the only handle, given up just above; the
        // object is marked dropped and freed below, so the value is moved out exactly once.
        let value = unsafe { ManuallyDrop::take(&mut (*header.cast::<GcBox<T>>().as_ptr()).value) };
        h.set(flags::DROPPED);
        h.set_strong(0);
        let callbacks = h.has(flags::SIDE).then(|| ClearedWeakRefs::clear(header));
        // SAFETY: the value is gone, the count is zero, the object is in no list and no
        // handle is left.
        unsafe { dealloc::free(header) };
        Ok((value, callbacks))
    }

    /// Runs the weak callbacks of an object whose value was moved out, reporting a panic.
    fn run_death_callbacks(callbacks: Option<ClearedWeakRefs>) {
        if let Some(panic) = callbacks.and_then(ClearedWeakRefs::run) {
            dealloc::report_unraisable(
                &format!("a weak reference callback of a {}", TypeInfo::short_name_of::<T>()),
                panic,
            );
        }
    }

    /// The value, if this is the only strong handle (`Rc::into_inner`); otherwise the
    /// handle is dropped and the result is `None`, as it is when the collector already
    /// dropped the value (see [`Gc::try_unwrap`]).
    pub fn into_inner(this: Self) -> Option<T> {
        Gc::try_unwrap(this).ok()
    }

    /// The value, moved out if this is the only strong handle, cloned otherwise
    /// (`Rc::unwrap_or_clone`).
    pub fn unwrap_or_clone(this: Self) -> T
    where
        T: Clone,
    {
        Gc::try_unwrap(this).unwrap_or_else(|shared| (*shared).clone())
    }

    /// The value, mutably, moving or cloning it into a new object first unless this handle
    /// is the only one with no weak references (`Rc::make_mut`). When other strong handles
    /// exist, the value is cloned and they keep the old object. When only weak references
    /// do, the value is moved, not cloned, as `Rc` moves it: the weak references read dead
    /// at once and their callbacks run, as at any death (the finalizer does not run: the
    /// value lives on).
    ///
    /// ```
    /// use rc_heap::Gc;
    ///
    /// let mut a = Gc::new(5);
    /// let b = a.clone();
    /// *Gc::make_mut(&mut a) += 1; // a gets its own object
    /// assert_eq!((*a, *b), (6, 5));
    ///
    /// let weak = Gc::downgrade(&a);
    /// *Gc::make_mut(&mut a) += 1; // moved: the weak reference no longer reaches it
    /// assert_eq!((*a, weak.upgrade()), (7, None));
    /// ```
    ///
    /// # Panics
    /// When called while the collector walks the heap (from a `Trace` impl), and with
    /// [`AccessError`](crate::AccessError)'s message when the collector already dropped the
    /// value ([`Gc::is_dropped`]).
    #[cfg_attr(feature = "alloc-site", track_caller)]
    pub fn make_mut(this: &mut Self) -> GcMut<'_, T>
    where
        T: Clone,
    {
        // A weak callback run by the move may take a handle to the new object (from
        // `get_objects`, say): then it is shared, and cloned as any shared object.
        let sole_owner =
            Gc::is_unique(this) || (Gc::is_movable(this) && Gc::move_to_new_object(this) && Gc::is_unique(this));
        if !sole_owner {
            *this = Gc::new((**this).clone());
        }
        Gc::get_mut(this).expect("Gc::make_mut called while the collector walks the heap")
    }

    /// Moves the value of the only strong handle `this` into a new object, which `this`
    /// then holds; the old object dies as by [`Gc::try_unwrap`]. False, with nothing
    /// changed, if the value cannot be moved.
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn move_to_new_object(this: &mut Self) -> bool {
        // Allocated first, so that nothing between taking the old handle and storing the
        // new one can fail.
        let unborn = Unborn::<T>::new();
        // SAFETY: the handle read here is given back (forgotten) or overwritten below
        // before `this` is used or dropped again; nothing in between runs user code or
        // can panic.
        let old = unsafe { std::ptr::read(this) };
        match Gc::take_unique(old) {
            Ok((value, callbacks)) => {
                // SAFETY: `this` holds the handle `take_unique` consumed; writing over it
                // drops nothing.
                unsafe { std::ptr::write(this, unborn.finish(value)) };
                Self::run_death_callbacks(callbacks);
                true
            }
            Err(old) => {
                // `this` still holds this very handle: one count, not two.
                std::mem::forget(old);
                false
            }
        }
    }
}

/// An object under construction (`Gc::new_cyclic`): header written, count zero, value not
/// yet. Dropped without [`Unborn::finish`] (the value's maker panicked), it makes every weak
/// reference to it read dead and frees the memory.
struct Unborn<T: Trace> {
    object: NonNull<GcBox<T>>,
}

impl<T: Trace> Unborn<T> {
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn new() -> Self {
        let info = TypeInfo::of::<T>();
        // SAFETY: both layouts have non-zero size (they hold at least the header); the
        // object is `PREFIX` bytes into a tracked allocation, with its links right before;
        // the header and links are written before use, the value later.
        unsafe {
            let object = if T::TRACKED {
                let base = pool::alloc(TrackedLayout::<T>::LAYOUT);
                let object = NonNull::new_unchecked(base.add(TrackedLayout::<T>::PREFIX).cast::<GcBox<T>>());
                let links = Links::of(object.cast());
                links.write(Links::unlinked());
                #[cfg(feature = "alloc-site")]
                links.as_ref().site.set(Some(std::panic::Location::caller()));
                object
            } else {
                NonNull::new_unchecked(pool::alloc(std::alloc::Layout::new::<GcBox<T>>()).cast::<GcBox<T>>())
            };
            let header = object.cast::<ObjHeader>();
            header.write(ObjHeader::new(info));
            // A count of zero: weak references read dead until the value is in.
            header.as_ref().set_strong(0);
            Unborn { object }
        }
    }

    fn header(&self) -> NonNull<ObjHeader> {
        self.object.cast()
    }

    fn finish(self, value: T) -> Gc<T> {
        let object = self.object;
        std::mem::forget(self);
        let header = object.cast::<ObjHeader>();
        // SAFETY: the object's memory is allocated and its value field not yet written.
        unsafe {
            (&raw mut (*object.as_ptr()).value).write(ManuallyDrop::new(value));
            header.as_ref().set_strong(1);
            if T::TRACKED {
                heap::link_new(Links::of(header));
            }
            Gc::from_box_owned(object)
        }
    }
}

impl<T: Trace> Drop for Unborn<T> {
    fn drop(&mut self) {
        let header = self.header();
        if let Some(entry) = heap::take_side(header) {
            crate::weak::clear_targets(entry.weak);
        }
        // SAFETY: no value was written, the count is zero, the object is in no list and its
        // weak references read dead: nothing refers to the memory.
        unsafe { (TypeInfo::of::<T>().dealloc)(header) };
    }
}
