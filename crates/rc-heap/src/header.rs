//! The object header and the memory layout of every heap object.
//!
//! # Layout
//!
//! A `Gc<T>` points at a [`GcBox<T>`]: an [`ObjHeader`] followed by the value.
//!
//! ```text
//! leaf (untracked) object             tracked object
//!                                     [ padding to align(GcBox<T>) ]   (only if align > 8)
//!                                     Links { next, prev [, site] }    16 bytes (24 with alloc-site)
//! ObjHeader { strong, info } 16 bytes ObjHeader { strong, info }       16 bytes
//! value: T                            value: T
//! ```
//!
//! A leaf object's header is two words, as large as `Rc`'s. A tracked object has the two
//! [`Links`] words in front of the header, so the header of either kind is at the same place
//! relative to the value, and the links of a tracked object are always exactly
//! `size_of::<Links>()` bytes before its header.
//!
//! A slice or `str` object (`Gc<[T]>`, `Gc<str>`) keeps its length in one more word, right
//! before the links (tracked) or the header (leaf), so that code that knows only the header
//! (the collector, a type-erased free) finds it:
//!
//! ```text
//! [ padding ] len: usize [ Links ] ObjHeader [ padding ] elements...
//! ```
//!
//! A trait object (`Gc<dyn Trait>`) is an object of its concrete type, laid out as above;
//! only the handle differs (it carries the vtable).
//!
//! Either kind is one block of the thread's pools (`pool.rs`), or one `std::alloc`
//! allocation when it is too large or over-aligned for them (and always under Miri); the
//! block starts at the links of a tracked object, at the header of a leaf.
//!
//! # Invariants
//!
//! `ObjHeader::strong`
//! : While the object is alive, the number of strong handles (`Gc`, `GcAny`, and the
//!   temporary handle held while a finalizer runs). While the object is queued for
//!   deallocation (`PENDING`), the next queued header (null ends the queue). The word is
//!   pointer-typed so that the queue link keeps its provenance; a count is a pointer without
//!   one. Only this thread touches it; everything is `Cell`.
//!
//! `ObjHeader::info`
//! : A pointer to the type's `'static` [`TypeInfo`] with [`flags`] in its low bits
//!   (`TypeInfo` is aligned to 128, so seven bits are free). The `TypeInfo` part never changes.
//!   - `FINALIZED`: the finalizer has run or is running; it never runs again. Set by the
//!     refcount death path or by the collector, never cleared.
//!   - `DROPPED`: the value has been dropped in place; the memory stays until the strong
//!     count reaches zero. Dereferencing panics from then on. Never cleared.
//!   - `SIDE`: the object has a side entry (weak references, id), in its pool's array or the
//!     side table (`heap.rs`). Set and cleared only together with the entry.
//!   - `PENDING`: the count reached zero and the object waits in the deallocation queue;
//!     `strong` holds the queue link. Cleared when the object leaves the queue.
//!   - `HELD`: the cycle collector owns the object's fate for the moment; a count that
//!     reaches zero does nothing, the collector frees it. Set and cleared by the collector.
//!   - `TRACKED`: the type is tracked, copied from its `TypeInfo` when the header is made,
//!     so that tracing an edge learns it from the word it reads anyway. Never changes.
//!   - `BORROWED`: the only handle lends the value mutably (`Gc::get_mut`); the object is
//!     out of the lists, and no handle is made from its id. Set and cleared by `GcMut`.
//!
//! `Links` (tracked objects only)
//! : `next` and `prev` make a circular doubly linked list through one of the heap's list
//!   sentinels, or both are null while the object is in no list (it is dying, or the
//!   collector has taken it out). The low three bits of `prev` belong to the collector,
//!   which may also keep other data in `prev` while it runs, as CPython keeps `gc_refs`
//!   there; it restores the link before user code can observe a list.
//!   - [`IN_YOUNG`]: set when the heap links an object into the young list (a new or a
//!     resurrected object). An object with the bit set is in the young list: whoever moves
//!     it elsewhere clears the bit first, or rewrites the word (a collection does, for every
//!     object it examines). The converse need not hold: an object of the young list
//!     without the bit only makes a young collection keep more than it could.
//!
//! Tagged words are pointers changed with `map_addr`, never integers cast back to pointers,
//! so every pointer keeps its provenance: Miri runs the tests with `-Zmiri-strict-provenance`.
//!
//! [`TypeInfo`]: crate::TypeInfo

use std::cell::Cell;
use std::mem::{ManuallyDrop, align_of, size_of};
use std::ptr::NonNull;

/// Bits kept in the low bits of [`ObjHeader`]'s info word.
pub(crate) mod flags {
    pub(crate) const FINALIZED: usize = 1;
    pub(crate) const DROPPED: usize = 2;
    pub(crate) const SIDE: usize = 4;
    pub(crate) const PENDING: usize = 8;
    pub(crate) const HELD: usize = 16;
    pub(crate) const BORROWED: usize = 32;
    /// Not a state: the type is tracked (a copy of `TypeInfo::is_tracked`, one load nearer).
    pub(crate) const TRACKED: usize = 64;
    /// Every bit of the word that is not the `TypeInfo`'s address.
    pub(crate) const MASK: usize = 127;
    /// The bits that say something happened to the object (all but `TRACKED`).
    pub(crate) const STATE: usize = MASK & !TRACKED;
}

/// The header every heap object begins with: two words, the strong count and the type
/// information with flag bits. Their meaning and who may change them are written once, at
/// the top of `header.rs` in this crate's source.
#[repr(C)]
pub struct ObjHeader {
    /// The strong count (a number without provenance), or, while the object is queued to
    /// die, the next queued header (a pointer that keeps its provenance).
    strong: Cell<*mut ObjHeader>,
    /// The address of the type's `'static` `TypeInfo` with the flags in its low bits: a tagged
    /// pointer, so that it keeps the `TypeInfo`'s provenance. This layer knows the address
    /// only: `TypeInfo`'s entry points take the tracing layer's visitors, so it is laid out
    /// above tracing, in `type_info.rs`, which makes headers from it and reads it back
    /// (`ObjHeader::new`, `ObjHeader::type_info`).
    info: Cell<*const ()>,
}

impl ObjHeader {
    /// A header with a strong count of 1 and no flag set but `TRACKED` when `tracked`.
    ///
    /// # Safety
    /// `info` is the address of a `'static` `TypeInfo` (`ObjHeader::type_info` reads it back
    /// as one) and `tracked` is that type's `is_tracked`.
    #[inline]
    pub(crate) unsafe fn with_type_info(info: NonNull<()>, tracked: bool) -> Self {
        let tracked = if tracked { flags::TRACKED } else { 0 };
        let info = info.as_ptr().cast_const();
        debug_assert_eq!(info.addr() & flags::MASK, 0, "TypeInfo must be aligned to 128");
        let info = info.map_addr(|addr| addr | tracked);
        ObjHeader { strong: Cell::new(std::ptr::without_provenance_mut(1)), info: Cell::new(info) }
    }

    #[inline]
    pub(crate) fn strong(&self) -> usize {
        self.strong.get().addr()
    }

    #[inline]
    pub(crate) fn set_strong(&self, count: usize) {
        self.strong.set(std::ptr::without_provenance_mut(count));
    }

    /// The next object of the death queue (null at its end), while this one is queued.
    #[inline]
    pub(crate) fn queue_next(&self) -> *mut ObjHeader {
        self.strong.get()
    }

    /// Makes the strong word the death queue's link to `next`.
    #[inline]
    pub(crate) fn set_queue_next(&self, next: *mut ObjHeader) {
        self.strong.set(next);
    }

    /// Adds one strong reference; aborts on overflow as `Rc` does.
    #[inline]
    pub(crate) fn inc_strong(&self) {
        let count = self.strong().wrapping_add(1);
        self.set_strong(count);
        if count == 0 {
            std::process::abort();
        }
    }

    /// Removes one strong reference and says whether it was the last.
    #[inline]
    pub(crate) fn dec_strong(&self) -> bool {
        let count = self.strong() - 1;
        self.set_strong(count);
        count == 0
    }

    /// The address of the type's `TypeInfo`, without the flags (`ObjHeader::type_info` reads
    /// it as a `TypeInfo`).
    #[inline]
    pub(crate) fn type_info_address(&self) -> *const () {
        self.info.get().map_addr(|addr| addr & !flags::MASK)
    }

    /// The flag bits of the info word.
    #[inline]
    pub(crate) fn flag_bits(&self) -> usize {
        self.info.get().addr() & flags::MASK
    }

    #[inline]
    pub(crate) fn has(&self, flag: usize) -> bool {
        self.info.get().addr() & flag != 0
    }

    #[inline]
    pub(crate) fn set(&self, flag: usize) {
        self.info.set(self.info.get().map_addr(|addr| addr | flag));
    }

    #[inline]
    pub(crate) fn clear(&self, flag: usize) {
        self.info.set(self.info.get().map_addr(|addr| addr & !flag));
    }

    /// Whether the object's type is tracked (one load: the header's own word).
    #[inline]
    pub(crate) fn is_tracked(&self) -> bool {
        self.has(flags::TRACKED)
    }

    /// Whether the value may be handed out: alive, not dropped, not queued to die.
    #[inline]
    pub(crate) fn is_live(&self) -> bool {
        self.strong() > 0 && !self.has(flags::DROPPED | flags::PENDING)
    }
}

/// A heap object: header, then value. `Gc<T>` points here (with `T`'s metadata when `T` is
/// unsized: a vtable or a length).
///
/// Public only so that [`coerce_gc!`](crate::coerce_gc) can name pointers to it; not
/// nameable outside the crate.
#[doc(hidden)]
#[repr(C)]
pub struct GcBox<T: ?Sized> {
    pub(crate) header: ObjHeader,
    pub(crate) value: ManuallyDrop<T>,
}

impl<T: ?Sized> std::fmt::Debug for GcBox<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcBox").field("header", &self.header).finish_non_exhaustive()
    }
}

/// The generation-list links in front of a tracked object's header.
///
/// The list is circular and threads through a sentinel `Links` owned by the heap. Who may
/// change the words is written at the top of `header.rs` in this crate's source; in short,
/// list code and the collector, which owns the low three bits of `prev`.
#[repr(C)]
pub struct Links {
    next: Cell<*const Links>,
    /// The previous element with the collector's bits in its low bits (a tagged pointer that
    /// keeps the element's provenance), or, during a collection, a count without provenance.
    prev: Cell<*const Links>,
    #[cfg(feature = "alloc-site")]
    pub(crate) site: Cell<Option<&'static std::panic::Location<'static>>>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links").field("next", &self.next.get()).field("prev", &self.prev.get()).finish()
    }
}

impl Links {
    pub(crate) const fn unlinked() -> Self {
        Links {
            next: Cell::new(std::ptr::null()),
            prev: Cell::new(std::ptr::null()),
            #[cfg(feature = "alloc-site")]
            site: Cell::new(None),
        }
    }

    /// The next element of the list this element is in (null when in none).
    #[inline]
    pub fn next(&self) -> *const Links {
        self.next.get()
    }

    /// Sets the next pointer. Only list code and the collector call this.
    #[inline]
    pub fn set_next(&self, next: *const Links) {
        self.next.set(next);
    }

    /// The raw `prev` word: the previous element's address, with the collector's bits in
    /// the low three bits (or, while a collection runs, whatever the collector keeps there).
    #[inline]
    pub fn prev_word(&self) -> usize {
        self.prev.get().addr()
    }

    /// Sets the raw `prev` word to a number (a count the collector keeps, with its bits).
    /// The word is no pointer until [`Links::set_prev_tagged`] or [`Links::set_prev`] makes
    /// it one again.
    #[inline]
    pub fn set_prev_word(&self, word: usize) {
        self.prev.set(std::ptr::without_provenance(word));
    }

    /// Sets the `prev` word to the previous element `prev` with `bits` (within the low three
    /// bits) in its low bits, keeping `prev`'s provenance.
    #[inline]
    pub fn set_prev_tagged(&self, prev: *const Links, bits: usize) {
        debug_assert_eq!(prev.addr() & PREV_BITS, 0);
        debug_assert_eq!(bits & !PREV_BITS, 0);
        self.prev.set(prev.map_addr(|addr| addr | bits));
    }

    /// The previous element (the `prev` word without the collector's bits).
    #[inline]
    pub fn prev(&self) -> *const Links {
        self.prev.get().map_addr(|addr| addr & !PREV_BITS)
    }

    /// Sets the previous element, keeping the collector's bits.
    #[inline]
    pub fn set_prev(&self, prev: *const Links) {
        self.set_prev_tagged(prev, self.prev_word() & PREV_BITS);
    }

    /// Whether this element is in a list.
    #[inline]
    pub fn is_linked(&self) -> bool {
        !self.next.get().is_null()
    }

    /// Links in no list, for a list of the collector's own: make them a sentinel in place
    /// with [`Links::init_sentinel`] (a sentinel must not move while its list is in use).
    pub const fn new_sentinel() -> Self {
        Self::unlinked()
    }

    /// Makes `self` an empty circular list (a sentinel).
    pub fn init_sentinel(&self) {
        let me: *const Links = self;
        self.next.set(me);
        self.prev.set(me);
    }

    /// Appends `node` to the list whose sentinel is `self`.
    ///
    /// `node` is a raw pointer on purpose: list pointers are turned back into header
    /// pointers, so they must carry the provenance of the whole object, not of a `&Links`.
    ///
    /// # Safety
    /// `self` is the sentinel of a valid circular list; `node` points to the links of a
    /// tracked object (derived from its allocation), is in no list, and stays allocated
    /// while linked.
    #[inline]
    pub unsafe fn insert_before(&self, node: NonNull<Links>) {
        // SAFETY: the caller's contract; `node`'s bits stay as they are.
        unsafe { self.insert_tagged(node, node.as_ref().prev_word() & PREV_BITS) }
    }

    /// [`Links::insert_before`], with `bits` (within [`PREV_BITS`]) as `node`'s low bits.
    ///
    /// # Safety
    /// As for [`Links::insert_before`].
    #[inline]
    pub unsafe fn insert_tagged(&self, node: NonNull<Links>, bits: usize) {
        let tail = self.prev();
        // SAFETY: the caller guarantees `node` points to live links.
        let links = unsafe { node.as_ref() };
        links.set_next(self);
        links.set_prev_tagged(tail, bits);
        // SAFETY: `tail` is an element of the same valid list (caller's contract), so it
        // points to a live `Links`.
        unsafe { (*tail).set_next(node.as_ptr()) };
        self.set_prev(node.as_ptr());
    }

    /// Removes `self` from its list and leaves it unlinked.
    ///
    /// # Safety
    /// `self` is in a valid circular list whose other elements are allocated.
    #[inline]
    pub unsafe fn unlink(&self) {
        let next = self.next();
        let prev = self.prev();
        debug_assert!(!next.is_null() && !prev.is_null());
        // SAFETY: both neighbours are elements of the same valid list (caller's contract).
        unsafe {
            (*prev).set_next(next);
            (*next).set_prev(prev);
        }
        self.next.set(std::ptr::null());
        self.prev.set(std::ptr::null());
    }

    /// Moves every element of the list headed by `from` to the tail of the list headed by
    /// `to`, leaving `from` empty, in constant time.
    ///
    /// # Safety
    /// Both are sentinels of valid lists, and distinct.
    pub unsafe fn splice_all(from: &Links, to: &Links) {
        let from_ptr: *const Links = from;
        if from.next() == from_ptr {
            return;
        }
        let first = from.next();
        let last = from.prev();
        let to_tail = to.prev();
        // SAFETY: `first`, `last` and `to_tail` are elements of valid lists (caller's
        // contract), so they are live `Links`.
        unsafe {
            (*to_tail).set_next(first);
            (*first).set_prev(to_tail);
            (*last).set_next(to);
        }
        to.set_prev(last);
        from.init_sentinel();
    }

    /// The header that follows these links.
    ///
    /// # Safety
    /// `links` are the links of a tracked object (not a sentinel).
    #[inline]
    pub unsafe fn header(links: *const Links) -> NonNull<ObjHeader> {
        // SAFETY: a tracked object's header is exactly `size_of::<Links>()` bytes after its
        // links (module layout), inside the same allocation.
        unsafe { NonNull::new_unchecked(links.cast::<u8>().add(size_of::<Links>()) as *mut ObjHeader) }
    }

    /// The links in front of a tracked object's header.
    ///
    /// # Safety
    /// `header` is the header of a live tracked object.
    #[inline]
    pub unsafe fn of(header: NonNull<ObjHeader>) -> NonNull<Links> {
        // SAFETY: see `header`: the links are `size_of::<Links>()` bytes before the header,
        // inside the same allocation.
        unsafe { NonNull::new_unchecked(header.as_ptr().cast::<u8>().sub(size_of::<Links>()).cast::<Links>()) }
    }
}

/// Where the object was created: its links' site, with the `alloc-site` feature (tracked
/// objects only).
#[cfg(feature = "alloc-site")]
pub(crate) fn alloc_site_of(header: NonNull<ObjHeader>) -> Option<&'static std::panic::Location<'static>> {
    // SAFETY: callers hold a count on `header`.
    if !unsafe { header.as_ref() }.is_tracked() {
        return None;
    }
    // SAFETY: tracked objects have links in front of their header.
    unsafe { Links::of(header).as_ref() }.site.get()
}

/// Where the object was created: never known without the `alloc-site` feature.
#[cfg(not(feature = "alloc-site"))]
pub(crate) fn alloc_site_of(_header: NonNull<ObjHeader>) -> Option<&'static std::panic::Location<'static>> {
    None
}

/// Low bits of `Links::prev` that the collector may use.
pub const PREV_BITS: usize = 7;

/// The bit of `Links::prev` that says, while no collection runs, that the object is in the
/// young list (see the invariants at the top of `header.rs`). A collection of the young
/// generation reads it to tell a reference into the generation from one out of it before it
/// has walked the generation.
pub const IN_YOUNG: usize = 2;

/// Where things are in a tracked allocation of `GcBox<T>`.
pub(crate) struct TrackedLayout<T>(std::marker::PhantomData<T>);

impl<T> TrackedLayout<T> {
    /// Bytes from the start of the allocation to the header.
    pub(crate) const PREFIX: usize = {
        let align = align_of::<GcBox<T>>();
        let links = size_of::<Links>();
        links.div_ceil(align) * align
    };

    pub(crate) const LAYOUT: std::alloc::Layout = {
        let align =
            if align_of::<GcBox<T>>() > align_of::<Links>() { align_of::<GcBox<T>>() } else { align_of::<Links>() };
        match std::alloc::Layout::from_size_align(Self::PREFIX + size_of::<GcBox<T>>(), align) {
            Ok(layout) => layout,
            Err(_) => panic!("object too large for the heap"),
        }
    };
}
