//! # gen-gc: CPython's generational cycle collector and the `gc` module
//!
//! Reference counting frees an object when its last handle goes, but not a cycle: objects
//! that hold each other keep their counts above zero forever. This crate finds them the way
//! CPython does, with the same knobs and the same answers as Python's `gc` module:
//!
//! - new tracked objects start in the young generation; automatic collection runs when
//!   allocations outnumber deallocations by more than `threshold0` (700), and survivors are
//!   promoted;
//! - by default ([`CollectionPolicy::Incremental`], CPython 3.14's idea) each automatic
//!   collection takes the young generation and an *increment* of the old one, so that no
//!   automatic collection walks the whole heap (see [Incremental collection](#incremental-collection));
//! - [`CollectionPolicy::Generational`] keeps CPython 3.11's exact policy: three
//!   generations, a generation collected when the one below it has been collected more than
//!   its threshold (10) times, and a full collection only once the objects promoted since
//!   the last one exceed 25% of the long-lived ones;
//! - a collection finds the objects that only references from inside the collected
//!   generations keep alive (`gc_refs = refcount - internal references`; what stays positive
//!   is held from outside, and so is everything it reaches); it clears their weak
//!   references, runs their finalizers once (PEP 442), keeps what a finalizer resurrected,
//!   and frees the rest by dropping their values;
//! - [`FinalizerPolicy::Legacy`] gives Python 2.7's behaviour instead, which the article
//!   describes: a cycle with a finalizer is uncollectable and lands in [`garbage`].
//! - [`object_graph`] reads every tracked object and its references in one pass, for
//!   introspection tools (the objgraph crate builds its heap snapshots on it).
//!
//! ```
//! use std::cell::RefCell;
//! use cyclegc::{Gc, Trace};
//!
//! #[derive(Trace)]
//! struct Obj {
//!     attr: RefCell<Option<Gc<Obj>>>,
//! }
//!
//! let a = Gc::new(Obj { attr: RefCell::new(None) });
//! *a.attr.borrow_mut() = Some(a.clone()); // a.attr = a: a self-cycle
//! let watch = Gc::downgrade(&a);
//! drop(a);
//! assert!(watch.upgrade().is_some()); // reference counting cannot free it
//! assert_eq!(gen_gc::collect(), 1);   // the collector can
//! assert!(watch.upgrade().is_none());
//! ```
//!
//! Automatic collection runs from the program's start: a program that links this crate
//! installs the collector before `main` (a global constructor); where the platform has no
//! global constructors, any function of this crate installs it, or call [`install`] at
//! start-up.
//!
//! The functions take objects as Python's do: [`is_tracked`] and [`is_finalized`] one object
//! (a `Gc<T>` or a `GcAny`), [`get_referents`] and [`get_referrers`] one or several (see
//! [`Objects`]), so `gen_gc::get_referrers(&node)` reads as `gc.get_referrers(node)`.
//!
//! ## Thread exit
//!
//! Every thread has its own heap, and no later collection can see a heap whose thread is gone.
//! So when a thread exits, once its own values and its thread-locals are gone, its heap runs a
//! last full collection: garbage cycles are freed, their finalizers run once, weak
//! references' callbacks run and weak containers forget their entries; `finalize` objects
//! still alive then run their `atexit` callbacks; the pools' memory goes back to the system.
//! Collection callbacks are not called then. Under [`FinalizerPolicy::Legacy`] or with
//! [`DEBUG_SAVEALL`], a non-empty [`garbage`] is freed under PEP 442 rules: nothing can break
//! those cycles by hand any more. Without `DEBUG_SAVEALL` it is first reported through the
//! debug writer (`gc: 2 uncollectable objects at thread exit; ...`, CPython's shutdown
//! warning); with it, as in CPython, it is not, since it then holds every freed cycle too.
//!
//! ```
//! use std::cell::RefCell;
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use cyclegc::{Gc, Trace};
//!
//! #[derive(Trace)]
//! struct Obj {
//!     attr: RefCell<Option<Gc<Obj>>>,
//!     #[trace(skip)]
//!     drops: Arc<AtomicUsize>,
//! }
//!
//! impl Drop for Obj {
//!     fn drop(&mut self) {
//!         self.drops.fetch_add(1, Ordering::SeqCst);
//!     }
//! }
//!
//! let drops = Arc::new(AtomicUsize::new(0));
//! let counter = drops.clone();
//! std::thread::spawn(move || {
//!     gen_gc::disable(); // nothing collects while the thread runs
//!     let a = Gc::new(Obj { attr: RefCell::new(None), drops: counter });
//!     *a.attr.borrow_mut() = Some(a.clone()); // a self-cycle, left behind
//! })
//! .join()
//! .unwrap();
//! assert_eq!(drops.load(Ordering::SeqCst), 1); // freed when its thread exited
//! ```
//!
//! This also holds for handles that other thread-locals drop in their destructors, in any
//! order (on Unix a last pass runs after every thread-local destructor). Only what a handle
//! that is never dropped holds (`std::mem::forget`, a leaked `Box`) outlives its thread;
//! [`left_at_thread_exit`] counts those objects.
//!
//! ## Incremental collection
//!
//! A full collection walks every tracked object: with ten million live objects it pauses the
//! program for a tenth of a second or more. Under the incremental policy (the default), an
//! automatic collection is the young generation plus an increment of the old generation:
//! objects taken from the head of the old objects not yet examined in the current *pass*,
//! each with every not-yet-examined object it reaches (the increment is closed under
//! references). Trial deletion on part of the heap is sound, because an object referenced
//! from outside the increment counts as held from outside, as the young generation's are in
//! a young collection; closing the increment under references is what lets every cycle be
//! found. Survivors are marked examined; when none are left to examine, the pass is
//! complete and the next one starts over all the old objects.
//!
//! **The bound.** A garbage cycle is freed by the end of the pass after the one during
//! which it became garbage. Each increment takes at least `m = threshold0 / threshold1` old
//! objects on average (70 by default), plus four for each object by which the old
//! generation has grown since the pass started (so a growing heap is examined at the
//! generational policy's rate, and objects promoted only to die soon after cost nothing);
//! an increment whose closure takes more than its share is paid back by the next ones. A pass over `K` old objects therefore ends within `3K/m + K/(2 threshold0) + 2`
//! increments, and a cycle is freed within twice that many automatic collections.
//!
//! **The pause.** An increment takes at most `2 threshold0` old objects (1,400) before the
//! closure of the last one, so its pause does not grow with the heap as long as objects are
//! met after the objects they refer to (the usual order: a structure built backwards, a tree built from its leaves, objects
//! that refer to what existed when they were made). A structure met before what it refers
//! to, such as a ten-million-node list built forwards from its head, is one closure, taken
//! whole by one increment: its pause is a full collection's, though no more often than the
//! generational policy would have one.
//!
//! **The `gc` functions, incrementally** (as in Python 3.14):
//!
//! - [`collect`] is still a full, stop-the-world collection, returning what it found;
//!   [`collect_generation`]`(0)` collects the young generation alone, `(1)` runs one
//!   increment (what automatic collection does), `(2)` is [`collect`].
//! - [`get_count`] returns the young count, the increments of the current pass, and the
//!   passes completed since the last full collection.
//! - [`set_threshold`]: `threshold0` triggers automatic collection as before; `threshold1`
//!   sets the slowest rate of the old generation's scan (at least `threshold0 / threshold1`
//!   old objects per increment: higher is slower); `threshold2` is unused.
//! - [`get_stats`]: generation 0 counts young-only collections, generation 1 increments,
//!   generation 2 full collections.
//! - Collection callbacks see automatic collections as generation 1; `candidates` is the
//!   size of the increment (young objects included).
//! - [`get_objects`]`(Some(1))` lists nothing (there is no generation 1); `Some(2)` lists
//!   the whole old generation.
//! - Finalizers, resurrection, weak reference callbacks, [`freeze`] (frozen objects are in
//!   no increment) and the `DEBUG_*` flags mean what they mean in a full collection, for
//!   what each increment finds.
//!
//! [`set_collection_policy`] switches policy on the current thread; the
//! `CYCLEGC_COLLECTION_POLICY` environment variable (`incremental` or `generational`)
//! chooses the default for every thread.
//!
//! ## Costs
//!
//! A collection walks the objects of the generations it collects, not the older ones, so a
//! young collection costs what the young generation holds, and an increment what it takes. Leaf objects (types that hold no
//! `Gc`) are never tracked and never walked. `docs/performance.md` has the measurements.
//!
//! ## Unsafe code
//!
//! The collector works on rc-heap's raw object headers (`rc_heap::raw`): it is the second
//! and last crate of the workspace that allows `unsafe`, each block with the invariant it
//! relies on.

#![allow(unsafe_code, reason = "the collector walks rc-heap's raw object headers and lists")]
#![deny(missing_docs)]

mod debug;
mod state;
mod walk;
mod collect;
mod generational;
mod incremental;
mod collection;
mod exit;
mod install;
mod graph;
mod api;

pub use api::*;
pub use debug::{DEBUG_COLLECTABLE, DEBUG_LEAK, DEBUG_SAVEALL, DEBUG_STATS, DEBUG_UNCOLLECTABLE, DebugFlags};
pub use exit::left_at_thread_exit;
pub use graph::{ObjectGraph, object_graph};
pub use install::install;
/// The most rounds (collection, then teardown hooks) one exit pass of a thread's heap runs.
pub use rc_heap::raw::MAX_EXIT_ROUNDS;
pub use state::{CallbackId, CallbackInfo, CollectionPolicy, FinalizerPolicy, GenerationStats, NUM_GENERATIONS, Phase};
