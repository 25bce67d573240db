//! Per-type information shared by every object of the type.

use std::any::TypeId;
use std::fmt;
use std::mem::size_of;
use std::ptr::NonNull;

use crate::header::{GcBox, ObjHeader, TrackedLayout, flags};
use crate::slice::{SliceLayout, SliceObject};
use crate::trace::{EdgeList, Trace, Visitor};

/// What the heap knows about a type: names, size, and the entry points that let code that
/// does not know the type trace, finalize, describe, drop and free its objects.
///
/// One `'static` value per type, found through any object's header.
#[repr(C, align(128))]
pub struct TypeInfo {
    type_name: fn() -> &'static str,
    type_id: fn() -> TypeId,
    size: usize,
    header_size: usize,
    is_sized: bool,
    tracked: bool,
    has_finalizer: bool,
    pub(crate) trace_dyn: unsafe fn(NonNull<ObjHeader>, &mut dyn Visitor),
    pub(crate) trace_tracked: unsafe fn(NonNull<ObjHeader>, &mut EdgeList),
    pub(crate) finalize: unsafe fn(NonNull<ObjHeader>),
    pub(crate) describe: unsafe fn(NonNull<ObjHeader>) -> Option<String>,
    pub(crate) drop_value: unsafe fn(NonNull<ObjHeader>),
    pub(crate) drop_value_and_free: unsafe fn(NonNull<ObjHeader>) -> bool,
    pub(crate) dealloc: unsafe fn(NonNull<ObjHeader>),
    /// The count of an object the collector does not hold has reached zero: the typed
    /// death path of `Gc<T>`'s drop, reached through the header by a handle to an unsized
    /// view of the object (`Gc<dyn Trait>`, `Gc<[T]>`).
    pub(crate) release: unsafe fn(NonNull<ObjHeader>),
    pub(crate) object_size: unsafe fn(NonNull<ObjHeader>) -> usize,
}

impl fmt::Debug for TypeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypeInfo")
            .field("name", &self.name())
            .field("size", &self.size)
            .field("tracked", &self.tracked)
            .field("has_finalizer", &self.has_finalizer)
            .finish()
    }
}

impl TypeInfo {
    /// The type's information.
    pub fn of<T: Trace>() -> &'static TypeInfo {
        InfoFor::<T>::INFO
    }

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

    /// The full type name, as `std::any::type_name` gives it.
    pub fn name(&self) -> &'static str {
        (self.type_name)()
    }

    /// The type name with every path shortened to its last segment, generics kept:
    /// `app::graph::Node<alloc::string::String>` becomes `Node<String>`.
    pub fn short_name(&self) -> String {
        short_type_name(self.name())
    }

    /// [`TypeInfo::short_name`] of any type, sized or not (`dyn Listener`, `[u8]`).
    pub fn short_name_of<T: ?Sized>() -> String {
        short_type_name(std::any::type_name::<T>())
    }

    /// The type's `TypeId`.
    pub fn type_id(&self) -> TypeId {
        (self.type_id)()
    }

    /// `size_of` the value (without the header); for a slice or `str` type, whose objects
    /// differ in length, the size of one element.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Bytes the heap uses for one object of the type, header included; for a slice or
    /// `str` type, for an empty one ([`GcAny::object_size`](crate::GcAny::object_size) gives
    /// any object's own size).
    pub fn object_size(&self) -> usize {
        self.header_size() + if self.is_sized { self.size } else { 0 }
    }

    /// Bytes of header in front of each value: 16 for a leaf, 32 for a tracked object (40 with
    /// the `alloc-site` feature), plus any padding the value's alignment needs; a slice or
    /// `str` object has one more word, its length.
    pub fn header_size(&self) -> usize {
        self.header_size
    }

    /// Whether the type is sized: `false` for a slice or `str`, whose objects keep their
    /// length.
    pub fn is_sized(&self) -> bool {
        self.is_sized
    }

    /// Whether objects of the type are tracked by the collector (`Trace::TRACKED`).
    pub fn is_tracked(&self) -> bool {
        self.tracked
    }

    /// Whether the type has a finalizer (`Trace::HAS_FINALIZER`).
    pub fn has_finalizer(&self) -> bool {
        self.has_finalizer
    }
}

/// Shortens every path in a type name to its last segment.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    let bytes = full.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b':' && bytes.get(i + 1) == Some(&b':') {
            // Drop the path so far: keep what was emitted before this identifier began.
            out.truncate(segment_start);
            i += 2;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || c == b'_') {
            out.push(c as char);
            segment_start = out.len();
        } else {
            out.push(c as char);
        }
        i += 1;
    }
    out
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
        trace_dyn: trace_dyn::<T>,
        trace_tracked: trace_tracked::<T>,
        finalize: finalize::<T>,
        describe: describe::<T>,
        drop_value: drop_value::<T>,
        drop_value_and_free: drop_value_and_free::<T>,
        dealloc: dealloc::<T>,
        release: crate::dealloc::on_zero_typed_unheld::<T>,
        object_size: object_size::<T>,
    };
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
        trace_dyn: slice_trace_dyn::<S>,
        trace_tracked: slice_trace_tracked::<S>,
        finalize: slice_finalize,
        describe: slice_describe::<S>,
        drop_value: slice_drop_value::<S>,
        drop_value_and_free: slice_drop_value_and_free::<S>,
        dealloc: slice_dealloc::<S>,
        release: crate::dealloc::on_zero_unheld,
        object_size: slice_object_size::<S>,
    };
}

/// The value behind a header.
///
/// # Safety
/// `header` heads a live `GcBox<T>` whose value has not been dropped.
#[inline]
pub(crate) unsafe fn value_ref<'a, T>(header: NonNull<ObjHeader>) -> &'a T {
    let boxed = header.cast::<GcBox<T>>().as_ptr();
    // SAFETY: the caller guarantees a live, undropped `GcBox<T>` at `header`.
    unsafe { &*std::ptr::addr_of!((*boxed).value).cast::<T>() }
}

unsafe fn trace_dyn<T: Trace>(header: NonNull<ObjHeader>, visitor: &mut dyn Visitor) {
    // SAFETY: `TypeInfo` entry points are only called on live objects of their type.
    unsafe { value_ref::<T>(header) }.trace(visitor);
}

unsafe fn trace_tracked<T: Trace>(header: NonNull<ObjHeader>, edges: &mut EdgeList) {
    // SAFETY: as for `trace_dyn`.
    unsafe { value_ref::<T>(header) }.trace(edges);
}

unsafe fn finalize<T: Trace>(header: NonNull<ObjHeader>) {
    // SAFETY: as for `trace_dyn`.
    unsafe { value_ref::<T>(header) }.finalize();
}

unsafe fn describe<T: Trace>(header: NonNull<ObjHeader>) -> Option<String> {
    // SAFETY: as for `trace_dyn`.
    unsafe { value_ref::<T>(header) }.describe()
}

unsafe fn drop_value<T: Trace>(header: NonNull<ObjHeader>) {
    let boxed = header.cast::<GcBox<T>>().as_ptr();
    // SAFETY: called once per object, on a live value, with the DROPPED flag already set so
    // nothing can borrow the value again; the pointer carries the allocation's provenance.
    unsafe { std::ptr::drop_in_place(std::ptr::addr_of_mut!((*boxed).value).cast::<T>()) };
}

/// `raw::drop_value_and_free` for `T`: the value is dropped and, when nothing holds the
/// object then, its memory freed, with one call through the type's entry points.
unsafe fn drop_value_and_free<T: Trace>(header: NonNull<ObjHeader>) -> bool {
    // SAFETY: the caller's contract is `raw::drop_value_and_free`'s: a held, tracked object
    // of type `T` in no list, whose value is live and not borrowed.
    unsafe {
        let h = header.as_ref();
        h.set(flags::DROPPED);
        drop_value::<T>(header);
        if h.strong() != 0 {
            return false;
        }
        if h.has(flags::SIDE) {
            crate::dealloc::free(header);
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
            crate::pool::dealloc(base, TrackedLayout::<T>::LAYOUT);
        }
    } else {
        // SAFETY: a leaf object was allocated by `pool::alloc` with `GcBox<T>`'s layout; its
        // value is dropped or moved out already.
        unsafe { crate::pool::dealloc(header.as_ptr().cast(), std::alloc::Layout::new::<GcBox<T>>()) };
    }
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
    unsafe { SliceLayout::<S>::value(header) }.describe()
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
            crate::dealloc::free(header);
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
        crate::pool::dealloc(SliceLayout::<S>::base(header), layout);
    }
}

unsafe fn slice_object_size<S: SliceObject + ?Sized>(header: NonNull<ObjHeader>) -> usize {
    // SAFETY: the caller passes an allocated object of the type.
    SliceLayout::<S>::layout(unsafe { SliceLayout::<S>::len(header) }).size()
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn short_names_keep_generics_and_drop_paths() {
        assert_eq!(short_type_name("app::graph::Node"), "Node");
        assert_eq!(short_type_name("app::Node<alloc::string::String>"), "Node<String>");
        assert_eq!(
            short_type_name("std::collections::hash::map::HashMap<u32, alloc::vec::Vec<a::B>>"),
            "HashMap<u32, Vec<B>>"
        );
        assert_eq!(short_type_name("(a::X, [b::Y; 3])"), "(X, [Y; 3])");
        assert_eq!(short_type_name("i32"), "i32");
    }
}
