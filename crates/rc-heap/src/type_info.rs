//! Per-type information shared by every object of the type.

use std::any::TypeId;
use std::fmt;
use std::ptr::NonNull;

use crate::header::{GcBox, ObjHeader};
use crate::pool;
use crate::trace::{Edge, EdgeList, Trace, Visitor};

/// What the heap knows about a type: names, size, and the entry points that let code that
/// does not know the type trace, finalize, describe, drop and free its objects.
///
/// One `'static` value per type, found through any object's header.
#[repr(C, align(128))]
pub struct TypeInfo {
    pub(crate) type_name: fn() -> &'static str,
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) size: usize,
    pub(crate) header_size: usize,
    pub(crate) is_sized: bool,
    pub(crate) tracked: bool,
    pub(crate) has_finalizer: bool,
    /// Whether objects of the type are blocks of the thread's pools: every one of a sized
    /// type; of a slice or `str` type, those whose `object_size` is at most
    /// `pool::MAX_BLOCK`.
    pub(crate) pooled: bool,
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

// A header keeps its type's information as an address, because `header.rs` lies below the
// tracing that `TypeInfo`'s entry points name; headers are made from a `TypeInfo`, and read
// back as one, here.
impl ObjHeader {
    /// A header for a new object of the type `info` describes: strong count 1, no state flag.
    pub(crate) fn new(info: &'static TypeInfo) -> Self {
        // SAFETY: `info` is a `'static` `TypeInfo`, and `tracked` is its own.
        unsafe { ObjHeader::with_type_info(NonNull::from(info).cast(), info.is_tracked()) }
    }

    /// The information of the object's type.
    #[inline]
    pub(crate) fn type_info(&self) -> &'static TypeInfo {
        // SAFETY: the info word was made from the address of a `'static` `TypeInfo`
        // (`ObjHeader::with_type_info`'s contract) and only its low flag bits ever change.
        unsafe { &*self.type_info_address().cast::<TypeInfo>() }
    }
}

impl fmt::Debug for ObjHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjHeader")
            .field("type", &self.type_info().name())
            .field("strong", &self.strong())
            .field("flags", &self.flag_bits())
            .finish()
    }
}

// `Edge` is the tracing layer's, below this one: its target's type is read here.
impl Edge<'_> {
    /// The target's type information.
    pub fn type_info(&self) -> &'static TypeInfo {
        // SAFETY: an edge is made from a live `Gc` borrowed for its lifetime.
        unsafe { self.header().as_ref() }.type_info()
    }
}

impl fmt::Debug for Edge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Edge").field("type", &self.type_info().name()).field("tracked", &self.is_tracked()).finish()
    }
}

/// Shortens every path in a type name to its last segment.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            // Drop the path so far: keep what was emitted before this identifier began, and
            // a `{{closure}}` segment with it (a type defined inside a closure or a const).
            out.truncate(segment_start);
            while out.ends_with("}}")
                && let Some(at) = out.rfind("{{")
            {
                out.truncate(at);
            }
            segment_start = out.len();
            chars.next();
            continue;
        }
        out.push(c);
        // Identifiers may be Unicode (`Größe`); anything else ends a path.
        if !(c.is_alphanumeric() || c == '_') {
            segment_start = out.len();
        }
    }
    out
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

pub(crate) unsafe fn trace_dyn<T: Trace>(header: NonNull<ObjHeader>, visitor: &mut dyn Visitor) {
    // SAFETY: `TypeInfo` entry points are only called on live objects of their type.
    unsafe { value_ref::<T>(header) }.trace(visitor);
}

pub(crate) unsafe fn trace_tracked<T: Trace>(header: NonNull<ObjHeader>, edges: &mut EdgeList) {
    // SAFETY: as for `trace_dyn`.
    unsafe { value_ref::<T>(header) }.trace(edges);
}

pub(crate) unsafe fn finalize<T: Trace>(header: NonNull<ObjHeader>) {
    // SAFETY: as for `trace_dyn`.
    unsafe { value_ref::<T>(header) }.finalize();
}

pub(crate) unsafe fn describe<T: Trace>(header: NonNull<ObjHeader>) -> Option<String> {
    // SAFETY: as for `trace_dyn`.
    crate::trace::describe_caught(|| unsafe { value_ref::<T>(header) }.describe())
}

pub(crate) unsafe fn drop_value<T: Trace>(header: NonNull<ObjHeader>) {
    let boxed = header.cast::<GcBox<T>>().as_ptr();
    // SAFETY: called once per object, on a live value, with the DROPPED flag already set so
    // nothing can borrow the value again; the pointer carries the allocation's provenance.
    unsafe { std::ptr::drop_in_place(std::ptr::addr_of_mut!((*boxed).value).cast::<T>()) };
}

/// Whether an object is a block of one of this thread's pools, whose array then keeps its
/// side entry.
#[inline]
pub(crate) fn in_pool(header: NonNull<ObjHeader>) -> bool {
    // SAFETY: the callers pass a header of an allocated object.
    let info = unsafe { header.as_ref() }.type_info();
    // SAFETY: as above; a slice's size is read from its own length word.
    info.pooled && (info.is_sized || unsafe { (info.object_size)(header) } <= pool::MAX_BLOCK)
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
        // A type defined inside a closure or a const: its name, as Python's `__name__`.
        assert_eq!(short_type_name("app::tests::run::{{closure}}::Ring"), "Ring");
        assert_eq!(short_type_name("app::X<app::{{constant}}::Y>"), "X<Y>");
    }

    #[test]
    fn short_names_keep_unicode_identifiers_whole() {
        assert_eq!(short_type_name("app::maße::Größe"), "Größe");
        assert_eq!(short_type_name("app::Größe<app::Ünit>"), "Größe<Ünit>");
    }
}
