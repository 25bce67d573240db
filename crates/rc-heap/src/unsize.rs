//! `Gc<dyn Trait>` on stable Rust: [`coerce_gc!`](crate::coerce_gc) and `downcast`.
//!
//! `Rc<T>` turns into `Rc<dyn Trait>` through the unstable `CoerceUnsized`. The macro gets
//! there on stable: it turns the handle into a raw pointer to its object, lets the compiler
//! coerce that pointer (an implicit coercion, which can only be an unsizing: a concrete type
//! to a trait it implements, an array to a slice), and makes a handle of the result. The
//! object is unchanged: its header still names the concrete type, which is how the
//! collector, weak references and introspection keep seeing it.

use std::any::Any;
use std::ptr::NonNull;

use crate::header::GcBox;
use crate::trace::Trace;
use crate::{Gc, GcAny};

/// Turns a `Gc<Concrete>` into a `Gc<dyn Trait>` (or a `Gc<[T; N]>` into a `Gc<[T]>`), on
/// stable Rust, keeping the count: `Rc`'s unsizing coercion.
///
/// `coerce_gc!(gc)` takes the target type from the context; `coerce_gc!(gc => dyn Trait)`
/// names it. Only an unsizing is accepted: naming a trait the type does not implement, or a
/// type that is not an unsized view of it, is a compile-time error. Without a target in the
/// context, the handle comes back unchanged.
///
/// The object keeps its concrete type: a `Gc<[u32]>` coerced from a `Gc<[u32; 3]>` is an
/// array object (`GcAny::type_name` says `[u32; 3]`, and `GcAny::downcast_slice::<u32>`
/// does not find it), where `Gc::from([1, 2, 3])` makes a slice object.
///
/// ```
/// use std::cell::Cell;
/// use rc_heap::{Gc, Trace, coerce_gc};
///
/// trait Listener {
///     fn notify(&self, event: &str) -> usize;
/// }
///
/// #[derive(Trace)]
/// #[trace(crate = rc_heap)]
/// struct Counter {
///     seen: Cell<usize>,
/// }
///
/// impl Listener for Counter {
///     fn notify(&self, _event: &str) -> usize {
///         self.seen.set(self.seen.get() + 1);
///         self.seen.get()
///     }
/// }
///
/// let listeners: Vec<Gc<dyn Listener>> = vec![
///     coerce_gc!(Gc::new(Counter { seen: Cell::new(0) })),
///     coerce_gc!(Gc::new(Counter { seen: Cell::new(10) }) => dyn Listener),
/// ];
/// let seen: Vec<usize> = listeners.iter().map(|l| l.notify("click")).collect();
/// assert_eq!(seen, [1, 11]);
/// // The object still knows its concrete type.
/// assert_eq!(Gc::type_info(&listeners[0]).short_name(), "Counter");
/// ```
#[macro_export]
macro_rules! coerce_gc {
    ($gc:expr) => {{
        let object = $crate::Gc::__into_object($gc);
        // SAFETY: `object` comes from `Gc::__into_object`, which gave up its count; the
        // implicit coercion of the argument can only keep the pointer or unsize it.
        unsafe { $crate::Gc::__from_object(object) }
    }};
    ($gc:expr => $target:ty) => {{
        let object = $crate::Gc::__into_object($gc);
        // SAFETY: as above; the coercion is to `GcBox<$target>`.
        unsafe { $crate::Gc::<$target>::__from_object(object) }
    }};
}

/// Turns a `Weak<Concrete>` into a `Weak<dyn Trait>` (or a `Weak<[T; N]>` into a
/// `Weak<[T]>`), on stable Rust: [`coerce_gc!`] for weak references, `rc::Weak`'s unsizing
/// coercion. It works whether the object lives, has died or is not made yet (the weak
/// reference `Gc::new_cyclic` hands out), and keeps the weak reference itself (its callback,
/// its clones).
///
/// ```
/// use rc_heap::{Gc, Trace, Weak, coerce_weak};
///
/// trait Shape {
///     fn area(&self) -> f64;
/// }
///
/// #[derive(Trace)]
/// #[trace(crate = rc_heap)]
/// struct Square {
///     side: f64,
///     // The object's own weak reference, as a trait object, made before it exists.
///     me: Weak<dyn Shape>,
/// }
///
/// impl Shape for Square {
///     fn area(&self) -> f64 {
///         self.side * self.side
///     }
/// }
///
/// let square = Gc::new_cyclic(|me: &Weak<Square>| Square { side: 2.0, me: coerce_weak!(me.clone()) });
/// assert_eq!(square.me.upgrade().map(|shape| shape.area()), Some(4.0));
/// ```
#[macro_export]
macro_rules! coerce_weak {
    ($weak:expr) => {{
        let (reference, object) = $crate::Weak::__into_parts($weak);
        // SAFETY: both parts come from `Weak::__into_parts`; the implicit coercion of the
        // argument can only keep the pointer or unsize it.
        unsafe { $crate::Weak::__from_parts(reference, object) }
    }};
    ($weak:expr => $target:ty) => {{
        let (reference, object) = $crate::Weak::__into_parts($weak);
        // SAFETY: as above; the coercion is to `GcBox<$target>`.
        unsafe { $crate::Weak::<$target>::__from_parts(reference, object) }
    }};
}

/// With the `nightly` feature, `Gc<T>` coerces implicitly, as `Rc<T>` does:
/// `let listener: Gc<dyn Listener> = Gc::new(button);`.
#[cfg(feature = "nightly")]
impl<T: ?Sized + std::marker::Unsize<U>, U: ?Sized> std::ops::CoerceUnsized<Gc<U>> for Gc<T> {}

/// With the `nightly` feature, `Weak<T>` coerces implicitly, as `rc::Weak<T>` does.
#[cfg(feature = "nightly")]
impl<T: ?Sized + std::marker::Unsize<U>, U: ?Sized> std::ops::CoerceUnsized<crate::Weak<U>> for crate::Weak<T> {}

impl<T: Trace> Gc<T> {
    /// Half of [`coerce_gc!`]: the object, with the count this handle held.
    #[doc(hidden)]
    pub fn __into_object(this: Gc<T>) -> *const GcBox<T> {
        let object = Gc::box_ptr(&this).as_ptr();
        std::mem::forget(this);
        object
    }
}

impl<T: ?Sized> Gc<T> {
    /// Half of [`coerce_gc!`]: a handle to the object.
    ///
    /// # Safety
    /// `object` was returned by [`Gc::__into_object`], possibly unsized by a coercion, and is
    /// used once.
    #[doc(hidden)]
    pub unsafe fn __from_object(object: *const GcBox<T>) -> Gc<T> {
        // SAFETY: the caller's contract: a live object, whose count moves to the result; an
        // unsizing coercion keeps the address and provenance and adds valid metadata.
        unsafe { Gc::from_box_owned(NonNull::new_unchecked(object.cast_mut())) }
    }
}

impl Gc<dyn Any> {
    /// The typed handle, or the same handle back if the object is not a `T`: `Rc<dyn
    /// Any>::downcast`. The object's own type decides, as its header records it.
    ///
    /// ```
    /// use std::any::Any;
    /// use rc_heap::{Gc, coerce_gc};
    ///
    /// let any: Gc<dyn Any> = coerce_gc!(Gc::new(7_u32));
    /// let any = any.downcast::<String>().unwrap_err(); // the wrong type: the handle back
    /// assert_eq!(*any.downcast::<u32>().unwrap(), 7);
    /// ```
    pub fn downcast<T: Trace>(self) -> Result<Gc<T>, Gc<dyn Any>> {
        if Gc::type_info(&self).type_id() != std::any::TypeId::of::<T>() {
            return Err(self);
        }
        let header = Gc::header(&self);
        std::mem::forget(self);
        // SAFETY: the object's type is `T` and the count moves to the result.
        Ok(unsafe { Gc::from_header_owned(header) })
    }
}

impl GcAny {
    /// A handle to the object as `Gc<[T]>` (one more count), or `None` if it is not a `[T]`.
    pub fn downcast_slice<T: Trace>(&self) -> Option<Gc<[T]>> {
        self.clone().try_downcast_slice().ok()
    }

    /// A handle to the object as `Gc<str>` (one more count), or `None` if it is not a `str`.
    pub fn downcast_str(&self) -> Option<Gc<str>> {
        self.clone().try_downcast_str().ok()
    }

    /// Converts the handle into `Gc<[T]>`, or gives `self` back if the object is not a `[T]`.
    pub fn try_downcast_slice<T: Trace>(self) -> Result<Gc<[T]>, GcAny> {
        self.downcast_slice_object::<[T]>()
    }

    /// Converts the handle into `Gc<str>`, or gives `self` back if the object is not a `str`.
    pub fn try_downcast_str(self) -> Result<Gc<str>, GcAny> {
        self.downcast_slice_object::<str>()
    }

    fn downcast_slice_object<S: crate::slice::SliceObject + ?Sized>(self) -> Result<Gc<S>, GcAny> {
        if self.type_info().type_id() != std::any::TypeId::of::<S>() {
            return Err(self);
        }
        let header = self.header();
        std::mem::forget(self);
        // SAFETY: the object is an `S` (its type says so), so its length word is written;
        // the count moves to the result.
        Ok(unsafe { Gc::from_box_owned(crate::slice::SliceLayout::<S>::gc_box(header)) })
    }
}
