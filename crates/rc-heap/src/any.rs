//! `GcAny`: a strong handle whose type is known only at run time.

use std::fmt;
use std::ptr::NonNull;

use crate::error::AccessError;
use crate::header::{ObjHeader, alloc_site_of, flags};
use crate::trace::{Edge, LabelPath, Segment, Trace, Visitor};
use crate::type_info::TypeInfo;
use crate::{Gc, ObjectId, dealloc, heap, weak};

/// A strong handle to an object of any type: what introspection returns.
///
/// It counts as a reference like a `Gc` does. [`GcAny::downcast`] gets a typed handle back
/// ([`GcAny::try_downcast`] converts this one).
///
/// ```
/// use rc_heap::{Gc, GcAny};
///
/// let any: GcAny = Gc::into_any(Gc::new(42_u32));
/// assert_eq!(any.short_type_name(), "u32");
/// let typed: Gc<u32> = any.downcast().unwrap();
/// assert_eq!(*typed, 42);
/// ```
pub struct GcAny {
    header: NonNull<ObjHeader>,
}

/// One outgoing edge of an object, with its label (`attr_b`, `children[3]`, `[key]`).
///
/// It dereferences to its target, so a referent reads as the object it points to:
///
/// ```
/// use rc_heap::{Gc, Trace};
///
/// #[derive(Trace)]
/// struct Parent {
///     child: Gc<u32>,
/// }
///
/// let child = Gc::new(7_u32);
/// let parent = Gc::new(Parent { child: child.clone() });
/// let referents = Gc::to_any(&parent).referents();
/// assert_eq!(referents[0].label, "child");
/// assert_eq!(referents[0].short_type_name(), "u32");
/// assert!(referents[0].ptr_eq(&Gc::to_any(&child)));
/// ```
#[derive(Debug, Clone)]
pub struct Referent {
    /// How the object reaches the target; empty when the type gives no label.
    pub label: String,
    /// The target.
    pub target: GcAny,
}

impl std::ops::Deref for Referent {
    type Target = GcAny;

    fn deref(&self) -> &GcAny {
        &self.target
    }
}

/// A strong handle of any shape, as functions that ask about one object take it: `Gc<T>`
/// (any `T`, unsized ones included), [`GcAny`], a [`Referent`]'s target, or a reference to
/// any of them. `gen_gc::is_tracked(&gc)` is written so, as Python's `gc.is_tracked(obj)`.
///
/// ```
/// use rc_heap::{Gc, GcAny, Handle};
///
/// fn type_of(object: &impl Handle) -> &'static str {
///     Handle::to_gc_any(object).type_name()
/// }
/// let number = Gc::new(1_u8);
/// assert_eq!(type_of(&number), "u8");
/// assert_eq!(type_of(&Gc::to_any(&number)), "u8");
/// ```
pub trait Handle {
    /// A type-erased handle to the same object (one more count). An associated function,
    /// not a method, so that it never hides a method of the value a `Gc` dereferences to.
    fn to_gc_any(this: &Self) -> GcAny;
}

impl<T: ?Sized> Handle for Gc<T> {
    fn to_gc_any(this: &Self) -> GcAny {
        Gc::to_any(this)
    }
}

impl Handle for GcAny {
    fn to_gc_any(this: &Self) -> GcAny {
        this.clone()
    }
}

impl Handle for Referent {
    fn to_gc_any(this: &Self) -> GcAny {
        this.target.clone()
    }
}

impl<H: Handle + ?Sized> Handle for &H {
    fn to_gc_any(this: &Self) -> GcAny {
        H::to_gc_any(this)
    }
}

impl GcAny {
    /// # Safety
    /// `header` is a live object.
    pub(crate) unsafe fn clone_from_header(header: NonNull<ObjHeader>) -> GcAny {
        // SAFETY: the caller guarantees a live header.
        unsafe { header.as_ref() }.inc_strong();
        GcAny { header }
    }

    /// # Safety
    /// `header` is an object and the caller gives up one count to the result.
    pub(crate) unsafe fn from_header_owned(header: NonNull<ObjHeader>) -> GcAny {
        GcAny { header }
    }

    fn header_ref(&self) -> &ObjHeader {
        // SAFETY: a `GcAny` keeps its object's memory allocated.
        unsafe { self.header.as_ref() }
    }

    /// A handle to the object `id` names, if it is still alive. An object the collector is
    /// destroying (found unreachable, not yet freed) is not handed out.
    pub fn from_id(id: ObjectId) -> Option<GcAny> {
        let header = heap::lookup_id(id)?;
        // SAFETY: the id map holds only allocated objects (entries go when they are freed).
        let h = unsafe { header.as_ref() };
        if !h.is_live() || h.has(flags::HELD | flags::BORROWED) {
            return None;
        }
        // SAFETY: checked live just above.
        Some(unsafe { GcAny::clone_from_header(header) })
    }

    /// The object's header, for the collector and introspection.
    pub fn header(&self) -> NonNull<ObjHeader> {
        self.header
    }

    /// The type's information.
    pub fn type_info(&self) -> &'static TypeInfo {
        self.header_ref().type_info()
    }

    /// The full type name.
    pub fn type_name(&self) -> &'static str {
        self.type_info().name()
    }

    /// The type name with paths shortened (`Node<String>`).
    pub fn short_type_name(&self) -> String {
        self.type_info().short_name()
    }

    /// Whether the object is of type `T`.
    pub fn is<T: Trace>(&self) -> bool {
        self.type_info().type_id() == std::any::TypeId::of::<T>()
    }

    /// A typed handle to the object (one more count), or `None` if the object is not a `T`.
    /// [`GcAny::try_downcast`] converts the handle itself instead.
    ///
    /// ```
    /// use rc_heap::{Gc, GcAny};
    ///
    /// let objects: Vec<GcAny> = vec![Gc::to_any(&Gc::new(1_u8)), Gc::to_any(&Gc::new(2_u32))];
    /// let numbers: Vec<Gc<u32>> = objects.iter().filter_map(|o| o.downcast::<u32>()).collect();
    /// assert_eq!(*numbers[0], 2);
    /// ```
    pub fn downcast<T: Trace>(&self) -> Option<Gc<T>> {
        self.clone().try_downcast().ok()
    }

    /// Converts the handle into a typed one without touching the count, or gives `self` back
    /// if the object is not a `T` (the fallible conversion, as `Rc<dyn Any>::downcast`).
    ///
    /// ```
    /// use rc_heap::{Gc, GcAny};
    ///
    /// let any: GcAny = Gc::into_any(Gc::new(7_u32));
    /// let any = any.try_downcast::<String>().unwrap_err(); // the wrong type: the handle back
    /// let typed: Gc<u32> = any.try_downcast().unwrap();
    /// assert_eq!(Gc::strong_count(&typed), 1);
    /// ```
    pub fn try_downcast<T: Trace>(self) -> Result<Gc<T>, GcAny> {
        if !self.is::<T>() {
            return Err(self);
        }
        let header = self.header;
        std::mem::forget(self);
        // SAFETY: the type matches and the count moves from `self` to the result.
        Ok(unsafe { Gc::from_header_owned(header) })
    }

    /// The object's id (assigned on first request).
    pub fn id(&self) -> ObjectId {
        heap::id_of(self.header)
    }

    /// Bytes the heap uses for this object, header included: its type's
    /// [`TypeInfo::object_size`], or for a slice or `str` object, its own.
    pub fn object_size(&self) -> usize {
        // SAFETY: we hold a count, so the object (and a slice's length word) is allocated.
        unsafe { (self.type_info().object_size)(self.header) }
    }

    /// The number of strong handles.
    pub fn strong_count(&self) -> usize {
        self.header_ref().strong()
    }

    /// The number of weak-reference handles.
    pub fn weak_count(&self) -> usize {
        weak::handle_count(self.header)
    }

    /// Whether the object is tracked by the cycle collector.
    pub fn is_tracked(&self) -> bool {
        self.type_info().is_tracked()
    }

    /// Whether the object's finalizer has run.
    pub fn is_finalized(&self) -> bool {
        self.header_ref().has(flags::FINALIZED)
    }

    /// Whether the collector has dropped the value.
    pub fn is_dropped(&self) -> bool {
        self.header_ref().has(flags::DROPPED)
    }

    /// Whether both handles point to the same object.
    pub fn ptr_eq(&self, other: &GcAny) -> bool {
        self.header == other.header
    }

    /// The object's address, for display.
    pub fn addr(&self) -> usize {
        self.header.as_ptr() as usize
    }

    /// The value's description ([`Trace::describe`]), if it has one. A `describe` (a `Debug`
    /// impl) that panics gives `(unrepresentable)`, as objgraph labels an object whose `repr`
    /// raises: the panic is reported by the panic hook and goes no further. Asked while the
    /// object's own text is being written (from its `Debug`), it is `<Type ...>`.
    pub fn describe(&self) -> Option<String> {
        if self.is_dropped() {
            return None;
        }
        if crate::gc::being_written(self.header) {
            // Asked from inside the object's own text (its `Debug`, a serialization): written
            // as `Gc`'s `Debug` writes an object met again, not again in full, without end.
            return Some(format!("<{} ...>", self.type_info().short_name()));
        }
        // SAFETY: the value is not dropped and we hold a count.
        crate::gc::writing(self.header, || unsafe { (self.type_info().describe)(self.header) })
    }

    /// Where the object was created (`alloc-site` feature, tracked objects).
    pub fn alloc_site(&self) -> Option<&'static std::panic::Location<'static>> {
        alloc_site_of(self.header)
    }

    /// Traces the value with `visitor`.
    pub fn trace_with(&self, visitor: &mut dyn Visitor) -> Result<(), AccessError> {
        if self.is_dropped() {
            return Err(AccessError::dropped(self.type_info()));
        }
        // SAFETY: the value is not dropped and we hold a count.
        unsafe { (self.type_info().trace_dyn)(self.header, visitor) };
        Ok(())
    }

    /// The objects this one holds, with edge labels (Python's `gc.get_referents` plus the
    /// attribute names objgraph draws). Empty once the value has been dropped.
    pub fn referents(&self) -> Vec<Referent> {
        let mut collect = CollectReferents::default();
        let _ = self.trace_with(&mut collect);
        collect.out
    }
}

#[derive(Default)]
struct CollectReferents {
    path: LabelPath,
    out: Vec<Referent>,
}

impl Visitor for CollectReferents {
    fn visit_edge(&mut self, edge: Edge<'_>) {
        self.out.push(Referent { label: self.path.as_str().to_owned(), target: edge.to_any() });
    }

    fn enter(&mut self, segment: Segment<'_>) {
        self.path.enter(segment);
    }

    fn leave(&mut self) {
        self.path.leave();
    }

    fn wants_stable_order(&self) -> bool {
        true
    }
}

// `Edge` is the tracing layer's, which names no handle; its handle is made here.
impl Edge<'_> {
    /// A new strong handle to the target.
    pub fn to_any(&self) -> GcAny {
        // SAFETY: an edge is made from a live `Gc` borrowed for its lifetime, so the header
        // is live.
        unsafe { GcAny::clone_from_header(self.header()) }
    }
}

// `Gc`'s and `Weak`'s modules come before this one: a `Gc`'s type-erased handle is made here.
impl<T: ?Sized> Gc<T> {
    /// A type-erased handle to the same object.
    pub fn to_any(this: &Self) -> GcAny {
        // SAFETY: we hold a count, so the header is allocated.
        unsafe { GcAny::clone_from_header(Self::header(this)) }
    }

    /// Converts into a type-erased handle without touching the count.
    pub fn into_any(this: Self) -> GcAny {
        let header = Self::header(&this);
        std::mem::forget(this);
        // SAFETY: the count held by `this` moves into the new handle.
        unsafe { GcAny::from_header_owned(header) }
    }
}

impl Clone for GcAny {
    fn clone(&self) -> Self {
        self.header_ref().inc_strong();
        GcAny { header: self.header }
    }
}

impl Drop for GcAny {
    fn drop(&mut self) {
        if self.header_ref().dec_strong() {
            // SAFETY: the count just reached zero on an allocated object.
            unsafe { dealloc::on_zero(self.header) };
        }
    }
}

impl<T: ?Sized> From<Gc<T>> for GcAny {
    fn from(gc: Gc<T>) -> Self {
        Gc::into_any(gc)
    }
}

impl PartialEq for GcAny {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other)
    }
}

impl Eq for GcAny {}

impl std::hash::Hash for GcAny {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.header.hash(state);
    }
}

/// `<Node 0x...>`, and `<dropped Node 0x...>` once the collector has dropped the value (as
/// `Gc`'s `Debug` says `<dropped Node>`).
impl fmt::Debug for GcAny {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dropped = if self.is_dropped() { "dropped " } else { "" };
        write!(f, "<{dropped}{} {:#x}>", self.short_type_name(), self.addr())
    }
}

// SAFETY: a `GcAny` owns exactly one edge, to its object, and reports it once.
unsafe impl Trace for GcAny {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        visitor.visit_edge(Edge::new(self.header, self.is_tracked()));
    }

    fn describe(&self) -> Option<String> {
        GcAny::describe(self)
    }
}
