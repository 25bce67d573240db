//! # rc-heap: CPython's object model for Rust
//!
//! A thread-local heap of reference-counted objects with CPython's semantics:
//!
//! - [`Gc<T>`]: a strong handle like `Rc<T>`. The last drop destroys the object at once:
//!   finalizer, weak-reference callbacks, `Drop`, free. A panic of the finalizer or of a
//!   callback does not unwind from the `drop`: it goes to [`set_unraisable_hook`] (Python's
//!   `sys.unraisablehook`). Long chains die iteratively, never by deep recursion (CPython's
//!   "trashcan").
//! - [`Trace`]: how a value reports the `Gc`s it owns. Types that can hold no `Gc` are
//!   *leaves*: untracked, with a header as small as `Rc`'s. Tracked objects are linked into
//!   lists that a cycle collector walks (the `gen-gc` crate installs one through
//!   [`raw::set_collect_hook`]).
//! - [`Weak<T>`] with optional callbacks (Python's `weakref.ref(obj, callback)`): at death
//!   every weak reference reads dead before any callback runs; callbacks run newest first.
//!   A container of many weak references gives them one [`DeathWatch`] through a
//!   [`Watcher`] ([`Gc::downgrade_watched`]): no callback allocated per weak reference, and
//!   a record of the live ones by tag that [`Watcher::upgrade`] reads. A
//!   [`Watcher::deferred`] calls nothing: a death marks the record, for its owner to take
//!   the marks when it is next used, and costs little more than a plain weak reference's.
//! - Finalizers ([`Trace::finalize`], Python's `__del__`): run at most once, with the object
//!   intact; they may resurrect it.
//! - Thread exit: a thread's heap dies with it. Exit passes run the collector's last
//!   collection ([`raw::set_exit_collector`]) and the teardown hooks ([`raw::on_teardown`])
//!   once the thread's values and thread-locals are gone, then give the memory back;
//!   [`raw::left_at_thread_exit`] counts what a never-dropped handle kept alive.
//! - [`ObjectId`]: a generational identity that never names a new object once its object has
//!   died, and [`GcAny`], a handle whose type is known at run time, for introspection.
//!
//! ```
//! use std::cell::RefCell;
//! use rc_heap::{Gc, Trace, Visitor, Segment};
//!
//! struct Node {
//!     name: String,
//!     next: RefCell<Option<Gc<Node>>>,
//! }
//!
//! // `#[derive(Trace)]` writes this; by hand it must visit every owned `Gc` exactly once.
//! unsafe impl Trace for Node {
//!     fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
//!         visitor.enter(Segment::Field("next"));
//!         self.next.trace(visitor);
//!         visitor.leave();
//!     }
//! }
//!
//! let a = Gc::new(Node { name: "a".into(), next: RefCell::new(None) });
//! let b = Gc::new(Node { name: "b".into(), next: RefCell::new(Some(a.clone())) });
//! let watch = Gc::downgrade(&a);
//! drop(a);
//! assert!(watch.upgrade().is_some()); // b still holds a
//! drop(b);
//! assert!(watch.upgrade().is_none()); // refcounting freed both at once
//! ```
//!
//! ## Every shape of value
//!
//! `Gc<T>` and `Weak<T>` take unsized `T`, as `Rc` does:
//!
//! - trait objects: [`coerce_gc!`](crate::coerce_gc) turns a `Gc<Concrete>` into a `Gc<dyn Trait>` on stable
//!   Rust (only an unsizing compiles), [`coerce_weak!`](crate::coerce_weak) a `Weak<Concrete>`
//!   into a `Weak<dyn Trait>`; with the `nightly` feature, on nightly Rust, the
//!   coercion is implicit, as `Rc`'s (`CoerceUnsized`). The object keeps its concrete type, through which the
//!   collector traces it, so the trait needs no `Trace` supertrait;
//! - `Gc<str>` and `Gc<[T]>`, made from strings, vectors, slices, arrays and iterators in one
//!   allocation that keeps the length;
//! - `std::rc`'s constructors and accessors: [`Gc::new_cyclic`], [`Gc::get_mut`] and
//!   [`Gc::make_mut`] (through a [`GcMut`] guard, see its module's notes on the differences
//!   from `Rc`), [`Gc::try_unwrap`], [`Gc::into_inner`], [`Gc::unwrap_or_clone`],
//!   [`Gc::as_ptr`], [`Weak::new`];
//! - callables that hold handles: [`Closure`], whose captures are traced, behind the
//!   object-safe [`Callable`]. A plain Rust closure cannot be traced: stored under
//!   `#[trace(skip)]` its captures count as held from outside (kept alive, never collected).
//!
//! ```
//! use std::any::Any;
//! use rc_heap::{Gc, coerce_gc};
//!
//! let shared: Gc<[Gc<str>]> = ["a", "b"].into_iter().map(Gc::from).collect();
//! let any: Gc<dyn Any> = coerce_gc!(Gc::new(7_u8));
//! assert_eq!(&*shared[1], "b");
//! assert_eq!(*any.downcast::<u8>().unwrap(), 7);
//! ```
//!
//! ## Costs
//!
//! `Gc::clone` and a drop that is not the last are one increment or decrement, as for `Rc`.
//! A leaf's `Gc::new` and last drop cost what `Rc`'s do, plus one call through the type's
//! entry point at the last drop (the same code for a `Gc<dyn Trait>` as for its concrete
//! type). A tracked object adds two words of links, and its `Gc::new` and last drop each add
//! one thread-local list operation. Dereferencing checks one header bit (the collector may
//! have dropped the value of an object a `Drop` can still see). Weak references live outside
//! the object, so an object's memory is freed as soon as its last strong handle goes, whatever
//! weak references remain. `docs/performance.md` has the measurements.
//!
//! ## Why not `Rc`
//!
//! `Rc` leaks every cycle and cannot tell you what it holds; `Gc` has the same cost on the
//! hot paths and lets a collector find cycles and introspection answer "who holds this?".
//!
//! ## Unsafe code
//!
//! This crate is one of the two places in the workspace with `unsafe` code (object layout,
//! counts, type erasure); every block states the invariant it relies on, and the header
//! layout with its invariants is written once, in the `header` module.

#![allow(unsafe_code, reason = "the object model: headers, counts, type-erased entry points")]
#![deny(missing_docs)]
#![cfg_attr(feature = "nightly", feature(coerce_unsized, unsize))]

// The modules in the order of their layers, memory first: a module names only modules
// listed before it, but for the weak references' slots (`weak`), which the heap's side table
// and a traced `WeakEdge` name; memory reaches the heap's thread exit through a hook
// (`pool::ThreadExit`). What each module uses is written in `docs/architecture.md`.

// Memory: per-thread pools.
mod pool;

// Identity: the ids introspection hands out.
mod object_id;

// Layout: the header (which keeps its type's information as an address), what an object
// keeps beside it (plain data), tracing, and the type's information, whose entry points
// take a header and a visitor.
mod header;
mod side;
mod trace;
mod type_info;

// `Trace` for std types.
mod impls;

// The thread's heap (lists, counts, side table) and the weak references' slots it lists.
mod heap;
mod weak;

// The death path: a count reaches zero.
mod dealloc;

// Thread exit: the heap dies with its thread.
mod exit;

// Handles: `Gc`, which names no other handle, and the error of its value's access.
mod error;
mod gc;

// `Weak`, and `Gc::downgrade`.
mod weak_handle;

// `GcAny`, and `Gc::to_any`.
mod any;

// More shapes of handles: slices, views, `std::rc`'s constructors, closures.
mod callable;
mod owned;
mod slice;
mod unsize;
#[cfg(feature = "serde")]
mod serde_impls;

// The collector's API.
pub mod raw;

pub use any::{GcAny, Handle, Referent};
pub use callable::{Callable, Closure};
pub use dealloc::{Unraisable, UnraisableHook, set_unraisable_hook};
pub use error::AccessError;
pub use gc::Gc;
pub use object_id::ObjectId;
pub use owned::GcMut;
pub use trace::{Edge, Finalize, KeyLabel, LabelPath, Segment, Trace, Visitor, WeakEdge};
/// Derives [`Trace`](trait@Trace): see the `trace-derive` crate for its attributes.
pub use trace_derive::Trace;
pub use type_info::TypeInfo;
pub use weak::{DeathWatch, WatchedTags, Watcher};
pub use weak_handle::Weak;

/// Whether this build records where tracked objects were created (the `alloc-site` feature,
/// which a workspace's other crates may turn on: Cargo unifies features). A snapshot test
/// whose text differs with it (objects are a word larger, leak reports list sites) can pick
/// its snapshot by it: `settings.set_snapshot_suffix("alloc-site")` when it is `true`.
pub const ALLOC_SITES: bool = cfg!(feature = "alloc-site");

#[doc(hidden)]
pub mod __private {
    //! The trait alone, so that the facade can pair it with the derive that names the facade,
    //! and what the derive's expansion calls.
    pub use crate::trace::Trace as TraceTrait;
    pub use crate::trace::describe_debug;
    /// `String`, named through the heap crate so that a derive in a `#![no_std]` crate (with
    /// `alloc`) finds it.
    pub use std::string::String;
}
