//! Callables that hold handles: [`Closure`] and the [`Callable`] trait.
//!
//! A Rust closure's captures are invisible: no `Trace` impl can see what it captured. A
//! closure stored in a heap object (through `#[trace(skip)]`, the only way a `Trace` type can
//! hold one) is therefore treated as held from outside: the `Gc`s it captured, and all they
//! reach, stay alive as long as the closure does. That is never unsound, but a listener that
//! captures its own widget is then a cycle the collector cannot see, and so a leak.
//!
//! [`Closure`] is the traced form: its captures are a `Trace` value stored next to a plain
//! function pointer, which cannot capture anything. The collector sees the captures as the
//! closure's edges, so a listener holding its widget is an ordinary cycle, freed by a
//! collection. [`Callable`] is the object-safe trait of callables, so a program can keep
//! `Gc<dyn Callable<A, R>>` next to its own trait objects.

use std::fmt;
use std::ptr::NonNull;

use crate::header::GcBox;
use crate::trace::{Segment, Trace, Visitor};
use crate::weak::{Callback, SlotRef, TracedCallback, register};
use crate::{Gc, Weak};

/// Something that can be called with `A` (a tuple for several arguments), giving `R`.
///
/// Object-safe: `Gc<dyn Callable<A, R>>` holds any callable on the heap (made with
/// [`coerce_gc!`](crate::coerce_gc) from a `Gc<Closure<..>>` or any type of the program's
/// that implements it).
pub trait Callable<A, R = ()> {
    /// Calls it.
    fn call(&self, args: A) -> R;
}

/// A closure whose captures the collector can see: `captures` (any `Trace` value, a tuple
/// of handles say) and a function of them and the arguments.
///
/// The function is a `fn` pointer: a Rust closure coerces to one only if it captures
/// nothing, so every handle the closure uses goes through `captures` and is traced.
///
/// A plain Rust closure's captures are invisible: no `Trace` impl can see what it captured.
/// Stored in a heap object anyway (under `#[trace(skip)]`, the only way a `Trace` type can
/// hold one), it is treated as held from outside: the `Gc`s it captured, and all they reach,
/// stay alive as long as the closure does. That is never unsound, but a listener that
/// captures its own widget is then a cycle the collector cannot see: a leak. Use `Closure`.
///
/// The arguments and the result are owned types (`A: 'static`, `R: 'static`), as a heap
/// object outlives any borrow: a listener of `&Event` cannot be a `Closure`. Pass what the
/// call needs by value (a copy, an `Rc<Event>`, a `Gc<Event>`), or implement [`Callable`]
/// for a type of your own (with `#[derive(Trace)]`), which may take references.
///
/// ```
/// use std::cell::RefCell;
/// use rc_heap::{Callable, Closure, Gc, Trace, coerce_gc};
///
/// #[derive(Trace)]
/// #[trace(crate = rc_heap)]
/// struct Button {
///     clicks: RefCell<u32>,
///     on_click: RefCell<Vec<Gc<dyn Callable<u32>>>>,
/// }
///
/// let button = Gc::new(Button { clicks: RefCell::new(0), on_click: RefCell::new(Vec::new()) });
/// // The listener captures its own button: a cycle, visible to the collector.
/// let listener = Closure::new(button.clone(), |button: &Gc<Button>, n: u32| {
///     *button.clicks.borrow_mut() += n;
/// });
/// button.on_click.borrow_mut().push(coerce_gc!(Gc::new(listener)));
/// for listener in button.on_click.borrow().iter() {
///     listener.call(2);
/// }
/// assert_eq!(*button.clicks.borrow(), 2);
/// ```
pub struct Closure<C, A, R = ()> {
    captures: C,
    function: fn(&C, A) -> R,
}

impl<C: Trace, A: 'static, R: 'static> Closure<C, A, R> {
    /// A closure of `function` over `captures`.
    pub fn new(captures: C, function: fn(&C, A) -> R) -> Self {
        Closure { captures, function }
    }

    /// The captures.
    pub fn captures(&self) -> &C {
        &self.captures
    }
}

impl<C, A, R> Callable<A, R> for Closure<C, A, R> {
    #[inline]
    fn call(&self, args: A) -> R {
        (self.function)(&self.captures, args)
    }
}

impl<C, A, R> fmt::Debug for Closure<C, A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closure").field("captures", &std::any::type_name::<C>()).finish_non_exhaustive()
    }
}

impl<C: Clone, A, R> Clone for Closure<C, A, R> {
    fn clone(&self) -> Self {
        Closure { captures: self.captures.clone(), function: self.function }
    }
}

// SAFETY: a closure owns its captures and nothing else that can hold a `Gc` (a `fn` pointer
// captures nothing); it traces the captures once, under the label `captures`.
unsafe impl<C: Trace, A: 'static, R: 'static> Trace for Closure<C, A, R> {
    crate::trace::tracked_as_any_of!(C);

    #[inline]
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        visitor.enter(Segment::Field("captures"));
        self.captures.trace(visitor);
        visitor.leave();
    }
}

/// A weak reference's callback made of a [`Closure`], with the object's pointer to hand the
/// closure its weak reference.
struct WeakCallback<C, T: ?Sized + 'static> {
    closure: Closure<C, Weak<T>>,
    ptr: NonNull<GcBox<T>>,
}

impl<C: Trace, T: ?Sized + 'static> TracedCallback for WeakCallback<C, T> {
    fn trace(&self, visitor: &mut dyn Visitor) {
        visitor.enter(Segment::Field("callback"));
        self.closure.trace(visitor);
        visitor.leave();
    }

    fn call(self: Box<Self>, slot: &SlotRef) {
        self.closure.call(Weak::from_slot(slot.clone(), self.ptr));
    }
}

impl<T: ?Sized + 'static> Gc<T> {
    /// [`Gc::downgrade_with_callback`] with a [`Closure`] whose captures the collector sees:
    /// Python's `weakref.ref(obj, callback)` where the callback holds things, such as the
    /// object that keeps the weak reference.
    ///
    /// A plain Rust closure's captures are invisible, so a callback that captures the weak
    /// reference's owner makes a cycle the collector cannot free. Here the captures are
    /// traced through the returned `Weak` while it is the weak reference's only handle (not
    /// while clones of it exist: the captures then count as held from outside, kept alive).
    /// The callback runs as `downgrade_with_callback`'s does: once, after every weak
    /// reference to the object reads dead, newest first, and not at all if the weak
    /// reference has been dropped or is owned by garbage the collector frees.
    ///
    /// ```
    /// use std::cell::{Cell, RefCell};
    /// use rc_heap::{Closure, Gc, Trace, Weak};
    ///
    /// #[derive(Trace)]
    /// #[trace(crate = rc_heap)]
    /// struct Watcher {
    ///     seen: Cell<u32>,
    ///     watching: RefCell<Option<Weak<u64>>>,
    /// }
    ///
    /// let watcher = Gc::new(Watcher { seen: Cell::new(0), watching: RefCell::new(None) });
    /// let target = Gc::new(7_u64);
    /// // The callback holds the watcher, which holds the weak reference: a traced cycle.
    /// let on_death = Closure::new(watcher.clone(), |watcher: &Gc<Watcher>, _dead: Weak<u64>| {
    ///     watcher.seen.set(watcher.seen.get() + 1);
    /// });
    /// *watcher.watching.borrow_mut() = Some(Gc::downgrade_with_traced_callback(&target, on_death));
    /// drop(target);
    /// assert_eq!(watcher.seen.get(), 1);
    /// ```
    pub fn downgrade_with_traced_callback<C: Trace>(this: &Self, callback: Closure<C, Weak<T>>) -> Weak<T> {
        let ptr = Gc::box_ptr(this);
        let callback = Callback::Traced(Box::new(WeakCallback { closure: callback, ptr }));
        Weak::from_slot(register(Gc::header(this), Some(callback)), ptr)
    }
}
