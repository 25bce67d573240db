//! Slice and `str` objects: `Gc<[T]>` and `Gc<str>`, made from vectors, slices, strings and
//! iterators, with no box in between.
//!
//! Such an object keeps its length in a word in front of its links (tracked) or header
//! (leaf), so that code that only has the header — the collector, a type-erased free — can
//! trace, drop and free it (the layout is drawn in `header.rs`).

use std::alloc::Layout;
use std::any::TypeId;
use std::marker::PhantomData;
use std::mem::{align_of, size_of};
use std::ptr::NonNull;

use crate::header::{GcBox, Links, ObjHeader, flags};
use crate::trace::{EdgeList, Trace, Visitor};
use crate::type_info::TypeInfo;
use crate::{Gc, dealloc, heap, pool};

/// An unsized type whose objects are a length and that many elements: `[T]` and `str`.
pub(crate) trait SliceObject: Trace {
    /// The element type (`u8` for `str`).
    type Elem: Trace;

    /// Views `len` elements as `Self`, keeping the pointer's address and provenance.
    fn from_elements(elements: *mut [Self::Elem]) -> *mut Self;
}

impl<T: Trace> SliceObject for [T] {
    type Elem = T;

    #[inline]
    fn from_elements(elements: *mut [T]) -> *mut [T] {
        elements
    }
}

impl SliceObject for str {
    type Elem = u8;

    #[inline]
    fn from_elements(elements: *mut [u8]) -> *mut str {
        elements as *mut str
    }
}

/// Where things are in the allocation of a slice object of type `S`.
pub(crate) struct SliceLayout<S: ?Sized>(PhantomData<S>);

impl<S: SliceObject + ?Sized> SliceLayout<S> {
    const ALIGN: usize = {
        let elem = align_of::<S::Elem>();
        if elem > align_of::<usize>() { elem } else { align_of::<usize>() }
    };
    const LINKS: usize = if S::TRACKED { size_of::<Links>() } else { 0 };
    /// Bytes from the length word to the header.
    const LEN_BACK: usize = size_of::<usize>() + Self::LINKS;
    /// Bytes from the start of the allocation to the header.
    pub(crate) const PREFIX: usize = Self::LEN_BACK.div_ceil(Self::ALIGN) * Self::ALIGN;
    /// Bytes from the header to the first element (`GcBox<[Elem]>`'s field offset).
    pub(crate) const VALUE_OFFSET: usize =
        size_of::<ObjHeader>().div_ceil(align_of::<S::Elem>()) * align_of::<S::Elem>();

    /// The allocation of an object of `len` elements.
    pub(crate) fn layout(len: usize) -> Layout {
        size_of::<S::Elem>()
            .checked_mul(len)
            .and_then(|bytes| bytes.checked_add(Self::PREFIX + Self::VALUE_OFFSET))
            .and_then(|size| Layout::from_size_align(size, Self::ALIGN).ok())
            .map(|layout| layout.pad_to_align())
            .unwrap_or_else(|| panic!("a slice of {len} elements is too large for the heap"))
    }

    /// The object's length.
    ///
    /// # Safety
    /// `header` heads an allocated object of type `S`.
    #[inline]
    pub(crate) unsafe fn len(header: NonNull<ObjHeader>) -> usize {
        // SAFETY: the length word is `LEN_BACK` bytes before the header, inside the
        // allocation, written when the object was made and never changed.
        unsafe { header.as_ptr().cast::<u8>().sub(Self::LEN_BACK).cast::<usize>().read() }
    }

    /// The start of the allocation.
    ///
    /// # Safety
    /// `header` heads an allocated object of type `S`.
    #[inline]
    pub(crate) unsafe fn base(header: NonNull<ObjHeader>) -> *mut u8 {
        // SAFETY: the header is `PREFIX` bytes into the allocation.
        unsafe { header.as_ptr().cast::<u8>().sub(Self::PREFIX) }
    }

    /// The object viewed as `GcBox<S>`: the header's address with the length as metadata.
    ///
    /// # Safety
    /// `header` heads an allocated object of type `S` (its length word is written).
    #[inline]
    pub(crate) unsafe fn gc_box(header: NonNull<ObjHeader>) -> NonNull<GcBox<S>> {
        // SAFETY: the caller's contract.
        let len = unsafe { Self::len(header) };
        let elements = std::ptr::slice_from_raw_parts_mut(header.as_ptr().cast::<S::Elem>(), len);
        // SAFETY: made from a non-null header pointer; `GcBox<S>`'s metadata is the length.
        unsafe { NonNull::new_unchecked(S::from_elements(elements) as *mut GcBox<S>) }
    }

    /// The elements, as a raw `S`.
    ///
    /// # Safety
    /// `header` heads an allocated object of type `S`.
    #[inline]
    pub(crate) unsafe fn elements(header: NonNull<ObjHeader>) -> *mut S {
        // SAFETY: the caller's contract; the place is the value field, no reference made.
        unsafe {
            let boxed = Self::gc_box(header).as_ptr();
            let value = &raw mut (*boxed).value;
            value as *mut S
        }
    }

    /// The value.
    ///
    /// # Safety
    /// `header` heads a live object of type `S` whose value has not been dropped.
    #[inline]
    pub(crate) unsafe fn value<'a>(header: NonNull<ObjHeader>) -> &'a S {
        // SAFETY: the caller's contract: the elements are initialized.
        unsafe { &*Self::elements(header) }
    }
}

/// A slice object being filled: frees it, dropping the elements written so far, unless
/// [`SliceBuilder::finish`] is reached (an element's `clone` or the iterator may panic).
struct SliceBuilder<S: SliceObject + ?Sized> {
    header: NonNull<ObjHeader>,
    len: usize,
    written: usize,
    _type: PhantomData<S>,
}

impl<S: SliceObject + ?Sized> SliceBuilder<S> {
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn new(len: usize) -> Self {
        let layout = SliceLayout::<S>::layout(len);
        // SAFETY: the layout is at least the length word and the header, never empty.
        let base = unsafe { pool::alloc(layout) };
        // SAFETY: the allocation holds `PREFIX` bytes, the header and the elements, aligned
        // for each (`layout`); the length word, links and header are written before use.
        unsafe {
            let header = NonNull::new_unchecked(base.add(SliceLayout::<S>::PREFIX).cast::<ObjHeader>());
            header.as_ptr().cast::<u8>().sub(SliceLayout::<S>::LEN_BACK).cast::<usize>().write(len);
            header.write(ObjHeader::new(TypeInfo::of_slice_object::<S>()));
            if S::TRACKED {
                let links = Links::of(header);
                links.write(Links::unlinked());
                #[cfg(feature = "alloc-site")]
                links.as_ref().site.set(Some(std::panic::Location::caller()));
            }
            SliceBuilder { header, len, written: 0, _type: PhantomData }
        }
    }

    fn first_element(&self) -> *mut S::Elem {
        // SAFETY: the elements start `VALUE_OFFSET` bytes after the header, in the allocation.
        unsafe { self.header.as_ptr().cast::<u8>().add(SliceLayout::<S>::VALUE_OFFSET).cast::<S::Elem>() }
    }

    fn push(&mut self, element: S::Elem) {
        assert!(self.written < self.len, "the iterator gave more elements than it said");
        // SAFETY: `written < len`: the slot is inside the allocation and not yet written.
        unsafe { self.first_element().add(self.written).write(element) };
        self.written += 1;
    }

    /// Moves the elements of `vec` in; the builder must be empty and as long as `vec`.
    fn move_from(&mut self, mut vec: Vec<S::Elem>) {
        assert!(self.written == 0 && vec.len() == self.len);
        // SAFETY: the allocation has room for `len` elements; the vector forgets them (its
        // length is set to zero first), so each is moved exactly once.
        unsafe {
            vec.set_len(0);
            std::ptr::copy_nonoverlapping(vec.as_ptr(), self.first_element(), self.len);
        }
        self.written = self.len;
    }

    fn finish(self) -> Gc<S> {
        assert_eq!(self.written, self.len, "the iterator gave fewer elements than it said");
        let header = self.header;
        std::mem::forget(self);
        if S::TRACKED {
            // SAFETY: a tracked slice object has links in front of its header, in no list.
            heap::link_new(unsafe { Links::of(header) });
        }
        // SAFETY: the object is whole (header, length, elements) and its count of one moves
        // into the handle.
        unsafe { Gc::from_box_owned(SliceLayout::<S>::gc_box(header)) }
    }
}

impl<S: SliceObject + ?Sized> Drop for SliceBuilder<S> {
    fn drop(&mut self) {
        // SAFETY: the first `written` elements are initialized and dropped once; the
        // allocation was made with the layout of `len` elements and nothing refers to it.
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(self.first_element(), self.written));
            pool::dealloc(SliceLayout::<S>::base(self.header), SliceLayout::<S>::layout(self.len));
        }
    }
}

impl<T: Trace> Gc<[T]> {
    /// A slice object of `len` elements made by `f(0)`, `f(1)`, … A panic in `f` frees
    /// what was made so far.
    #[cfg_attr(feature = "alloc-site", track_caller)]
    pub fn from_fn(len: usize, mut f: impl FnMut(usize) -> T) -> Gc<[T]> {
        let mut builder = SliceBuilder::<[T]>::new(len);
        for index in 0..len {
            builder.push(f(index));
        }
        builder.finish()
    }
}

impl<T: Trace> From<Vec<T>> for Gc<[T]> {
    /// Moves the elements into one new object (the vector's buffer is freed).
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn from(vec: Vec<T>) -> Self {
        let mut builder = SliceBuilder::<[T]>::new(vec.len());
        builder.move_from(vec);
        builder.finish()
    }
}

impl<T: Trace> From<Box<[T]>> for Gc<[T]> {
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn from(boxed: Box<[T]>) -> Self {
        Gc::from(boxed.into_vec())
    }
}

impl<T: Trace, const N: usize> From<[T; N]> for Gc<[T]> {
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn from(array: [T; N]) -> Self {
        let mut builder = SliceBuilder::<[T]>::new(N);
        for element in array {
            builder.push(element);
        }
        builder.finish()
    }
}

impl<T: Trace + Clone> From<&[T]> for Gc<[T]> {
    /// Clones the elements into one new object.
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn from(slice: &[T]) -> Self {
        let mut builder = SliceBuilder::<[T]>::new(slice.len());
        for element in slice {
            builder.push(element.clone());
        }
        builder.finish()
    }
}

impl<T: Trace + Clone> From<&mut [T]> for Gc<[T]> {
    /// Clones the elements into one new object.
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn from(slice: &mut [T]) -> Self {
        Gc::from(&*slice)
    }
}

impl<T: Trace> FromIterator<T> for Gc<[T]> {
    /// Collects into a vector first when the iterator's length is not exact, as
    /// `Rc<[T]>`'s `collect` does.
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Gc::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl<T: Trace> Default for Gc<[T]> {
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn default() -> Self {
        Gc::from(Vec::new())
    }
}

impl From<&str> for Gc<str> {
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn from(text: &str) -> Self {
        let mut builder = SliceBuilder::<str>::new(text.len());
        // SAFETY: `u8` has no drop and the builder is empty with room for every byte.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), builder.first_element(), text.len()) };
        builder.written = text.len();
        builder.finish()
    }
}

impl From<&mut str> for Gc<str> {
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn from(text: &mut str) -> Self {
        Gc::from(&*text)
    }
}

impl From<String> for Gc<str> {
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn from(text: String) -> Self {
        Gc::from(text.as_str())
    }
}

impl From<Box<str>> for Gc<str> {
    #[cfg_attr(feature = "alloc-site", track_caller)]
    fn from(text: Box<str>) -> Self {
        Gc::from(&*text)
    }
}

impl Default for Gc<str> {
    fn default() -> Self {
        Gc::from("")
    }
}

impl TypeInfo {
    /// The information of `[T]` (`Gc<[T]>` objects).
    pub fn of_slice<T: Trace>() -> &'static TypeInfo {
        SliceInfoFor::<[T]>::INFO
    }

    /// The information of `str` (`Gc<str>` objects).
    pub fn of_str() -> &'static TypeInfo {
        SliceInfoFor::<str>::INFO
    }

    pub(crate) fn of_slice_object<S: SliceObject + ?Sized>() -> &'static TypeInfo {
        SliceInfoFor::<S>::INFO
    }
}

/// The information of a slice or `str` type, whose objects keep their length.
struct SliceInfoFor<S: ?Sized>(std::marker::PhantomData<S>);

impl<S: SliceObject + ?Sized> SliceInfoFor<S> {
    const INFO: &'static TypeInfo = &TypeInfo {
        type_name: std::any::type_name::<S>,
        type_id: TypeId::of::<S>,
        size: size_of::<S::Elem>(),
        header_size: SliceLayout::<S>::PREFIX + SliceLayout::<S>::VALUE_OFFSET,
        is_sized: false,
        tracked: S::TRACKED,
        has_finalizer: false,
        pooled: match Layout::from_size_align(pool::GRANULE, SliceLayout::<S>::ALIGN) {
            Ok(layout) => pool::serves(layout),
            Err(_) => false,
        },
        trace_dyn: slice_trace_dyn::<S>,
        trace_tracked: slice_trace_tracked::<S>,
        finalize: slice_finalize,
        describe: slice_describe::<S>,
        drop_value: slice_drop_value::<S>,
        drop_value_and_free: slice_drop_value_and_free::<S>,
        dealloc: slice_dealloc::<S>,
        release: dealloc::on_zero_unheld,
        object_size: slice_object_size::<S>,
    };
}

unsafe fn slice_trace_dyn<S: SliceObject + ?Sized>(header: NonNull<ObjHeader>, visitor: &mut dyn Visitor) {
    // SAFETY: `TypeInfo` entry points are only called on live objects of their type.
    unsafe { SliceLayout::<S>::value(header) }.trace(visitor);
}

unsafe fn slice_trace_tracked<S: SliceObject + ?Sized>(header: NonNull<ObjHeader>, edges: &mut EdgeList) {
    // SAFETY: as for `slice_trace_dyn`.
    unsafe { SliceLayout::<S>::value(header) }.trace(edges);
}

unsafe fn slice_finalize(_header: NonNull<ObjHeader>) {}

unsafe fn slice_describe<S: SliceObject + ?Sized>(header: NonNull<ObjHeader>) -> Option<String> {
    // SAFETY: as for `slice_trace_dyn`.
    crate::trace::describe_caught(|| unsafe { SliceLayout::<S>::value(header) }.describe())
}

unsafe fn slice_drop_value<S: SliceObject + ?Sized>(header: NonNull<ObjHeader>) {
    // SAFETY: as for `drop_value`: once per object, on a live value, DROPPED already set.
    unsafe { std::ptr::drop_in_place(SliceLayout::<S>::elements(header)) };
}

unsafe fn slice_drop_value_and_free<S: SliceObject + ?Sized>(header: NonNull<ObjHeader>) -> bool {
    // SAFETY: as for `drop_value_and_free`.
    unsafe {
        let h = header.as_ref();
        h.set(flags::DROPPED);
        slice_drop_value::<S>(header);
        if h.strong() != 0 {
            return false;
        }
        if h.has(flags::SIDE) {
            dealloc::free(header);
        } else {
            slice_dealloc::<S>(header);
        }
        true
    }
}

unsafe fn slice_dealloc<S: SliceObject + ?Sized>(header: NonNull<ObjHeader>) {
    // SAFETY: a slice object was allocated by `pool::alloc` with the layout its length
    // gives, `PREFIX` bytes before its header; its elements are dropped or moved out.
    unsafe {
        let layout = SliceLayout::<S>::layout(SliceLayout::<S>::len(header));
        pool::dealloc(SliceLayout::<S>::base(header), layout);
    }
}

unsafe fn slice_object_size<S: SliceObject + ?Sized>(header: NonNull<ObjHeader>) -> usize {
    // SAFETY: the caller passes an allocated object of the type.
    SliceLayout::<S>::layout(unsafe { SliceLayout::<S>::len(header) }).size()
}
