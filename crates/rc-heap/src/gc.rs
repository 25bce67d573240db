//! `Gc<T>`: the strong, counted handle.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

use crate::error::AccessError;
use crate::header::{self, GcBox, Links, ObjHeader, TrackedLayout, flags};
use crate::trace::{Edge, Trace, Visitor};
use crate::type_info::TypeInfo;
use crate::{ObjectId, dealloc, heap, pool};

/// A strong, reference-counted handle to a heap object, like `Rc<T>`.
///
/// Cloning adds a reference; dropping the last one destroys the object at once (finalizer,
/// weak callbacks, `Drop`, free), as CPython's reference counting does. Objects that only
/// reference cycles keep alive are left for the cycle collector (the `gen-gc` crate).
///
/// `T` may be unsized: `Gc<dyn Trait>` (made from a `Gc<Concrete>` with [`coerce_gc!`](crate::coerce_gc)),
/// `Gc<str>` and `Gc<[T]>` (made from strings, vectors, slices and iterators with `From` and
/// `collect`). An unsized handle is a view of an object of a concrete type: the collector,
/// weak references and introspection work on the object through its concrete type, so a
/// trait needs no `Trace` supertrait to be used as `Gc<dyn Trait>`.
///
/// `Gc` is neither `Send` nor `Sync`: each thread has its own heap.
///
/// Associated functions (`Gc::ptr_eq(&a, &b)`) rather than methods keep `Gc` from hiding
/// methods of `T`, as `Rc` does.
///
/// ```
/// use rc_heap::Gc;
///
/// let a = Gc::new(String::from("hello"));
/// let b = a.clone();
/// assert!(Gc::ptr_eq(&a, &b));
/// assert_eq!(Gc::strong_count(&a), 2);
/// assert!(!Gc::is_tracked(&a)); // a String holds no Gc: a leaf, invisible to the collector
///
/// let name: Gc<str> = Gc::from("hello");
/// let numbers: Gc<[u32]> = (1..=3).collect();
/// assert_eq!((&*name, &*numbers), ("hello", &[1, 2, 3][..]));
/// ```
pub struct Gc<T: ?Sized> {
    ptr: NonNull<GcBox<T>>,
    _owns: PhantomData<T>,
}

impl<T: Trace> Gc<T> {
    /// Puts `value` on this thread's heap.
    ///
    /// A tracked value (one whose type may hold `Gc`s) is linked into the young generation;
    /// this may run the cycle collector first, as CPython's allocation does when the young
    /// count passes its threshold. A leaf value costs what `Rc::new` costs.
    #[cfg_attr(feature = "alloc-site", track_caller)]
    #[inline]
    pub fn new(value: T) -> Gc<T> {
        if T::TRACKED { Self::new_tracked(value) } else { Self::new_leaf(value) }
    }

    #[inline]
    fn new_leaf(value: T) -> Gc<T> {
        let layout = std::alloc::Layout::new::<GcBox<T>>();
        // SAFETY: the layout has non-zero size (it holds at least the header).
        let boxed = unsafe { pool::alloc(layout) }.cast::<GcBox<T>>();
        // SAFETY: the block is `size_of::<GcBox<T>>()` bytes aligned for it, and written
        // before use.
        unsafe {
            boxed.write(GcBox {
                header: ObjHeader::new(TypeInfo::of::<T>()),
                value: std::mem::ManuallyDrop::new(value),
            });
            Gc::from_box_owned(NonNull::new_unchecked(boxed))
        }
    }

    #[cfg_attr(feature = "alloc-site", track_caller)]
    #[inline]
    fn new_tracked(value: T) -> Gc<T> {
        // SAFETY: the layout has non-zero size (it holds at least the links and header).
        let base = unsafe { pool::alloc(TrackedLayout::<T>::LAYOUT) };
        // SAFETY: the allocation is `PREFIX + size_of::<GcBox<T>>()` bytes aligned for both
        // parts, so the header `PREFIX` bytes in and the links right before it are in bounds
        // and aligned; both are written before use.
        unsafe {
            let boxed = base.add(TrackedLayout::<T>::PREFIX).cast::<GcBox<T>>();
            boxed.write(GcBox {
                header: ObjHeader::new(TypeInfo::of::<T>()),
                value: std::mem::ManuallyDrop::new(value),
            });
            let header = NonNull::new_unchecked(boxed).cast::<ObjHeader>();
            let links = Links::of(header);
            links.write(Links::unlinked());
            #[cfg(feature = "alloc-site")]
            links.as_ref().site.set(Some(std::panic::Location::caller()));
            heap::link_new(links);
            Gc::from_box_owned(NonNull::new_unchecked(boxed))
        }
    }

    /// # Safety
    /// `header` is an object of type `T` and the caller gives up one count to the result.
    pub(crate) unsafe fn from_header_owned(header: NonNull<ObjHeader>) -> Gc<T> {
        Gc { ptr: header.cast(), _owns: PhantomData }
    }
}

impl<T: ?Sized> Gc<T> {
    /// Takes back a handle that [`Gc::into_raw`] gave up, as `Rc::from_raw`; for unsized
    /// values too (`Gc<str>`, `Gc<[T]>`, `Gc<dyn Trait>`: the pointer carries the metadata).
    ///
    /// ```
    /// # use rc_heap::Gc;
    /// let text: Gc<str> = Gc::from("raw");
    /// let raw = Gc::into_raw(text);
    /// // SAFETY: `raw` came from `into_raw` on this thread and is taken back once.
    /// let text = unsafe { Gc::from_raw(raw) };
    /// assert_eq!(&*text, "raw");
    /// ```
    ///
    /// # Safety
    /// `ptr` came from `Gc::<T>::into_raw` (with this `T`) on this thread, and is given to
    /// `from_raw` once for each `into_raw` that returned it: each call takes back one count.
    pub unsafe fn from_raw(ptr: *const T) -> Gc<T> {
        // `GcBox` is `repr(C)`: the value follows the header, at the value's alignment.
        // SAFETY: the caller's contract: `ptr` points at the value of an allocated `GcBox<T>`
        // (the count `into_raw` kept holds it), so its metadata (a length, a vtable) is the
        // value's and the reference lives only for this call.
        let align = std::mem::align_of_val(unsafe { &*ptr });
        let offset = size_of::<ObjHeader>().next_multiple_of(align);
        // SAFETY: as above; the pointer carries its allocation's provenance, so the box starts
        // `offset` bytes before the value. The cast keeps the metadata.
        let boxed = unsafe { ptr.byte_sub(offset) } as *const GcBox<T>;
        // SAFETY: as above; the count `into_raw` kept is the one given to the result.
        unsafe { Gc::from_box_owned(NonNull::new_unchecked(boxed.cast_mut())) }
    }

    /// Adds a count to the object behind a pointer [`Gc::into_raw`] gave, as
    /// `Rc::increment_strong_count`: one more [`Gc::from_raw`] (or
    /// [`decrement_strong_count`](Gc::decrement_strong_count)) may then take it back.
    ///
    /// ```
    /// # use rc_heap::Gc;
    /// let raw = Gc::into_raw(Gc::new(5u8));
    /// // SAFETY: `raw` came from `into_raw` on this thread and its count is still held.
    /// unsafe { Gc::increment_strong_count(raw) };
    /// // SAFETY: two counts are held, and each is taken back once.
    /// let (a, b) = unsafe { (Gc::from_raw(raw), Gc::from_raw(raw)) };
    /// assert_eq!(Gc::strong_count(&a), 2);
    /// # drop((a, b));
    /// ```
    ///
    /// # Safety
    /// `ptr` came from `Gc::<T>::into_raw` (with this `T`) on this thread, and the count it
    /// kept has not been taken back yet (the object is alive).
    pub unsafe fn increment_strong_count(ptr: *const T) {
        // SAFETY: the caller's contract is `from_raw`'s; the handle is not dropped, so the
        // count it stands for stays with the pointer.
        let held = std::mem::ManuallyDrop::new(unsafe { Gc::from_raw(ptr) });
        std::mem::forget(Gc::clone(&held));
    }

    /// Takes one count back from the object behind a pointer [`Gc::into_raw`] gave, as
    /// `Rc::decrement_strong_count`; the object dies if that was its last.
    ///
    /// # Safety
    /// As for [`Gc::from_raw`]: `ptr` came from `Gc::<T>::into_raw` on this thread, and this
    /// call takes back one count that an `into_raw` or an
    /// [`increment_strong_count`](Gc::increment_strong_count) kept.
    pub unsafe fn decrement_strong_count(ptr: *const T) {
        // SAFETY: the caller's contract.
        drop(unsafe { Gc::from_raw(ptr) });
    }

    /// # Safety
    /// `ptr` points to a live object viewed as `T`, and the caller gives up one count to the
    /// result.
    #[inline]
    pub(crate) unsafe fn from_box_owned(ptr: NonNull<GcBox<T>>) -> Gc<T> {
        Gc { ptr, _owns: PhantomData }
    }

    /// The object, viewed as `T` (with `T`'s metadata), with the allocation's provenance.
    #[inline]
    pub(crate) fn box_ptr(this: &Self) -> NonNull<GcBox<T>> {
        this.ptr
    }

    #[inline]
    pub(crate) fn header(this: &Self) -> NonNull<ObjHeader> {
        this.ptr.cast()
    }

    #[inline]
    fn header_ref(this: &Self) -> &ObjHeader {
        // SAFETY: a `Gc` keeps its object's memory allocated.
        unsafe { this.ptr.cast::<ObjHeader>().as_ref() }
    }

    /// The value, or an error if the cycle collector has already dropped it (which a `Drop`
    /// of another object in the same collected cycle can observe).
    #[inline]
    pub fn try_get(this: &Self) -> Result<&T, AccessError> {
        let header = Self::header_ref(this);
        if header.has(flags::DROPPED) {
            return Err(AccessError::dropped(header.type_info()));
        }
        // SAFETY: the memory is allocated (we hold a count) and the value not dropped.
        Ok(unsafe { Self::value_unchecked(this) })
    }

    /// # Safety
    /// The value has not been dropped.
    #[inline]
    unsafe fn value_unchecked(this: &Self) -> &T {
        // SAFETY: the memory is allocated (the handle holds a count) and the caller
        // guarantees the value is live; the reference covers the value only.
        unsafe { &(*this.ptr.as_ptr()).value }
    }

    /// A raw pointer to the value, as `Rc::as_ptr` gives. It stays valid while a strong
    /// handle exists and the collector has not dropped the value.
    #[inline]
    pub fn as_ptr(this: &Self) -> *const T {
        // SAFETY: the memory is allocated (the handle holds a count); no reference is made.
        let value = unsafe { &raw const (*this.ptr.as_ptr()).value };
        value as *const T
    }

    /// Gives up the handle and returns the pointer to the value, as `Rc::into_raw`: the
    /// object keeps the count the handle held until [`Gc::from_raw`] takes it back (until
    /// then it stays alive, as a forgotten handle would keep it).
    ///
    /// ```
    /// # use rc_heap::Gc;
    /// let a = Gc::new(7u32);
    /// let raw = Gc::into_raw(a.clone());
    /// assert_eq!(Gc::strong_count(&a), 2);
    /// // SAFETY: `raw` came from `into_raw` on this thread and is taken back once.
    /// let b = unsafe { Gc::from_raw(raw) };
    /// assert!(Gc::ptr_eq(&a, &b));
    /// ```
    pub fn into_raw(this: Self) -> *const T {
        let ptr = Gc::as_ptr(&this);
        std::mem::forget(this);
        ptr
    }

    /// Whether both handles point to the same object (metadata such as a vtable is not
    /// compared, as `Rc::ptr_eq` does not).
    #[inline]
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        std::ptr::addr_eq(this.ptr.as_ptr(), other.ptr.as_ptr())
    }

    /// The number of strong handles to the object.
    pub fn strong_count(this: &Self) -> usize {
        Self::header_ref(this).strong()
    }

    /// The number of weak-reference handles to the object.
    pub fn weak_count(this: &Self) -> usize {
        crate::weak::handle_count(Self::header(this))
    }

    /// The object's stable identity. Assigned on first request; an id of a dead object
    /// never names another one.
    pub fn id(this: &Self) -> ObjectId {
        heap::id_of(Self::header(this))
    }

    /// Whether the object is tracked by the cycle collector (its type may hold `Gc`s).
    pub fn is_tracked(this: &Self) -> bool {
        Self::header_ref(this).is_tracked()
    }

    /// Whether the object's finalizer has run.
    pub fn is_finalized(this: &Self) -> bool {
        Self::header_ref(this).has(flags::FINALIZED)
    }

    /// Whether the value has been dropped by the cycle collector (dereferencing panics).
    pub fn is_dropped(this: &Self) -> bool {
        Self::header_ref(this).has(flags::DROPPED)
    }

    /// The information of the object's type: its concrete type for a `Gc<dyn Trait>`.
    pub fn type_info(this: &Self) -> &'static TypeInfo {
        Self::header_ref(this).type_info()
    }

    /// Where the object was created, with the `alloc-site` feature (tracked objects only).
    pub fn alloc_site(this: &Self) -> Option<&'static std::panic::Location<'static>> {
        header::alloc_site_of(Self::header(this))
    }

    /// The object's address, for display (`<Node 0x55d0c3a1b2c0>`). Not an identity over
    /// time: use [`Gc::id`] for that.
    pub fn addr(this: &Self) -> usize {
        this.ptr.as_ptr().addr()
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn dropped_value_panic(header: &ObjHeader) -> ! {
    panic!("{}", AccessError::dropped(header.type_info()))
}

impl<T: ?Sized> Deref for Gc<T> {
    type Target = T;

    #[inline]
    #[track_caller]
    fn deref(&self) -> &T {
        // Only the collector drops a value that a handle can still reach; it sets the flag
        // first.
        let header = Self::header_ref(self);
        if header.has(flags::DROPPED) {
            dropped_value_panic(header);
        }
        // SAFETY: the memory is allocated (we hold a count) and the value not dropped.
        unsafe { Self::value_unchecked(self) }
    }
}

impl<T: ?Sized> Clone for Gc<T> {
    #[inline]
    fn clone(&self) -> Self {
        Self::header_ref(self).inc_strong();
        Gc { ptr: self.ptr, _owns: PhantomData }
    }
}

impl<T: ?Sized> Drop for Gc<T> {
    #[inline]
    fn drop(&mut self) {
        if Self::header_ref(self).dec_strong() {
            // SAFETY: the count just reached zero on an allocated object.
            unsafe { dealloc::on_zero_erased(Self::header(self)) };
        }
    }
}

// SAFETY: a `Gc` owns exactly one edge, to its object, and reports it once; whether the
// target is tracked is its concrete type's answer.
unsafe impl<T: ?Sized + 'static> Trace for Gc<T> {
    const TRACKED: bool = true;

    #[inline(always)]
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        visitor.visit_edge(Edge::new(Self::header(self), Self::header_ref(self).is_tracked()));
    }

    fn describe(&self) -> Option<String> {
        let header = Self::header_ref(self);
        if header.has(flags::DROPPED) {
            return None;
        }
        // SAFETY: the value is live (not dropped) and the handle keeps the memory; the entry
        // point is the object's own type's.
        unsafe { (header.type_info().describe)(Self::header(self)) }
    }
}

impl<T: Trace + Default> Default for Gc<T> {
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn default() -> Self {
        Gc::new(T::default())
    }
}

impl<T: Trace> From<T> for Gc<T> {
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn from(value: T) -> Self {
        Gc::new(value)
    }
}

impl<T: ?Sized> AsRef<T> for Gc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: ?Sized> std::borrow::Borrow<T> for Gc<T> {
    fn borrow(&self) -> &T {
        self
    }
}

/// The value's `Debug`. An object met again inside its own text (a cycle: a node whose
/// `Debug` prints its neighbours, which print it) is written `<Type ...>` there, as Python's
/// `repr` writes `[...]` for a list that holds itself, instead of recursing until the stack
/// overflows.
impl<T: ?Sized + fmt::Debug> fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(value) = Gc::try_get(self) else {
            return write!(f, "<dropped {}>", Gc::type_info(self).short_name());
        };
        let object = Gc::header(self);
        if being_written(object) {
            return write!(f, "<{} ...>", Gc::type_info(self).short_name());
        }
        writing(object, || value.fmt(f))
    }
}

/// How deep the list of objects being written is walked; past it, a set answers (a walk at
/// every level of a long chain would cost the square of its length).
const LISTED_DEPTH: usize = 32;

/// Whether `object`'s text is being written on this thread (a `Gc` to it met inside it).
pub(crate) fn being_written(object: NonNull<ObjHeader>) -> bool {
    let head = WRITING_DEBUG.with(Cell::get);
    // SAFETY: a frame on the list lives in the stack frame of a `writing` call still running
    // on this thread, which takes it off the list before it returns or unwinds.
    if !head.is_null() && unsafe { (*head).depth } >= LISTED_DEPTH {
        // The set holds every frame's object from the depth it was filled at; it is gone only
        // at thread exit, and then it was never filled either.
        if let Ok(found) = DEEP_WRITING.try_with(|set| set.borrow().contains(&object.as_ptr().addr())) {
            return found;
        }
    }
    let mut frame = head;
    while !frame.is_null() {
        // SAFETY: as above.
        let written = unsafe { &*frame };
        if std::ptr::eq(written.object, object.as_ptr()) {
            return true;
        }
        frame = written.outer;
    }
    false
}

/// Runs `write` with `object` on the list of objects whose text is being written, so that a
/// `Gc` to it met inside the text is written `<Type ...>` (`Gc`'s `Debug`, and a described
/// object's label, which formats the value itself).
pub(crate) fn writing<R>(object: NonNull<ObjHeader>, write: impl FnOnce() -> R) -> R {
    let outer = WRITING_DEBUG.with(Cell::get);
    // SAFETY: as in `being_written`.
    let depth = if outer.is_null() { 0 } else { 1 + unsafe { (*outer).depth } };
    let this = DebugFrame { object: object.as_ptr().cast_const(), outer, depth };
    WRITING_DEBUG.with(|head| head.set(&this));
    let mut off = TakeOff { outer, depth, object: this.object.addr(), listed_here: false };
    if depth >= LISTED_DEPTH {
        let _ = DEEP_WRITING.try_with(|set| {
            let mut set = set.borrow_mut();
            if depth == LISTED_DEPTH {
                // Every object on the list so far, this one included.
                let mut frame: *const DebugFrame = &this;
                while !frame.is_null() {
                    // SAFETY: as in `being_written`.
                    let written = unsafe { &*frame };
                    set.insert(written.object.addr());
                    frame = written.outer;
                }
            } else {
                // An object already in the set (written again inside its own text through a
                // path that does not ask `being_written`, as `GcAny::describe` does) stays
                // there until its outer frame ends.
                off.listed_here = set.insert(this.object.addr());
            }
        });
    }
    write()
}

thread_local! {
    /// The innermost object whose `Debug` this thread is writing: a list through the stack
    /// frames of the `fmt` calls. A plain pointer, so that it has no destructor and works
    /// at thread exit too.
    static WRITING_DEBUG: Cell<*const DebugFrame> = const { Cell::new(std::ptr::null()) };
    /// The addresses of the objects on that list once it is [`LISTED_DEPTH`] deep.
    static DEEP_WRITING: RefCell<rustc_hash::FxHashSet<usize>> = RefCell::default();
}

/// An object whose `Debug` is being written, the one around it, and how many are around it.
struct DebugFrame {
    object: *const ObjHeader,
    outer: *const DebugFrame,
    depth: usize,
}

/// Puts the list of objects being written back as it was before a `fmt` call entered its
/// own, when the call ends or unwinds; a frame deep enough for the set takes its object out
/// of it (the frame that filled the set empties it).
struct TakeOff {
    outer: *const DebugFrame,
    depth: usize,
    object: usize,
    /// Whether this frame put its object into the set (deeper than [`LISTED_DEPTH`]).
    listed_here: bool,
}

impl Drop for TakeOff {
    fn drop(&mut self) {
        WRITING_DEBUG.with(|head| head.set(self.outer));
        if self.depth >= LISTED_DEPTH {
            let _ = DEEP_WRITING.try_with(|set| {
                let mut set = set.borrow_mut();
                if self.depth == LISTED_DEPTH {
                    set.clear();
                } else if self.listed_here {
                    set.remove(&self.object);
                }
            });
        }
    }
}

/// The value's `Display`; a handle whose value the collector already dropped (one a `Drop`
/// meets while the collector frees its cycle) writes `<dropped Type>`, as `Debug` does.
impl<T: ?Sized + fmt::Display> fmt::Display for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Gc::try_get(self) {
            Ok(value) => value.fmt(f),
            Err(_) => write!(f, "<dropped {}>", Gc::type_info(self).short_name()),
        }
    }
}

/// The value's address, [`Gc::as_ptr`], as `Rc`'s `{:p}` prints.
impl<T: ?Sized> fmt::Pointer for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&Gc::as_ptr(self), f)
    }
}

// As for `Rc`: a handle moved into a `catch_unwind` closure exposes its value only as `&T`,
// so it is unwind safe when `&T` is. (The header's counts, in cells, are the heap's own and
// stay consistent through a panic.)
impl<T: ?Sized + std::panic::RefUnwindSafe> std::panic::UnwindSafe for Gc<T> {}
impl<T: ?Sized + std::panic::RefUnwindSafe> std::panic::RefUnwindSafe for Gc<T> {}

// As for `Rc`: moving a handle moves no value. (There is no `Gc::pin`: a handle to any object
// can be had again from its id or from `get_objects`, and `get_mut` would then move a
// pinned value.)
impl<T: ?Sized> Unpin for Gc<T> {}

impl<T: Trace> From<Box<T>> for Gc<T> {
    /// Moves the boxed value onto the heap, as `Rc::from(Box<T>)` does.
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn from(boxed: Box<T>) -> Self {
        Gc::new(*boxed)
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Gc<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq> Eq for Gc<T> {}

impl<T: ?Sized + PartialOrd> PartialOrd for Gc<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: ?Sized + Ord> Ord for Gc<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: ?Sized + Hash> Hash for Gc<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}
