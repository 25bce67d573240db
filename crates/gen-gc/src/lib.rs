//! # gen-gc: CPython's generational cycle collector and the `gc` module
//!
//! Reference counting frees an object when its last handle goes, but not a cycle: objects
//! that hold each other keep their counts above zero forever. This crate finds them the way
//! CPython does, with the same knobs and the same answers as Python's `gc` module:
//!
//! - three generations; new tracked objects start in generation 0; survivors are promoted;
//! - automatic collection when allocations outnumber deallocations by more than
//!   `threshold0` (700); a generation is collected when the one below it has been collected
//!   more than its threshold (10) times; a full collection also waits until the objects
//!   promoted since the last one exceed 25% of the long-lived ones;
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
//! Automatic collection starts on a thread once the collector is installed: any function of
//! this crate installs it, or call [`install`] at start-up.
//!
//! ## Costs
//!
//! A collection walks the objects of the generations it collects, not the older ones, so a
//! young collection costs what the young generation holds. Leaf objects (types that hold no
//! `Gc`) are never tracked and never walked. `docs/performance.md` has the measurements.
//!
//! ## Unsafe code
//!
//! The collector works on rc-heap's raw object headers (`rc_heap::raw`): it is the second
//! and last crate of the workspace that allows `unsafe`, each block with the invariant it
//! relies on.

#![allow(unsafe_code, reason = "the collector walks rc-heap's raw object headers and lists")]
#![deny(missing_docs)]

mod api;
mod collect;
mod graph;
mod incremental;
mod state;

pub use api::*;
pub use graph::{ObjectGraph, object_graph};
pub use state::{CallbackId, CallbackInfo, CollectionPolicy, FinalizerPolicy, GenerationStats, NUM_GENERATIONS, Phase};

use std::ptr::NonNull;

use rc_heap::raw::{ObjHeader, Panic};

bitflags::bitflags! {
    /// Python's `gc.DEBUG_*` flags, for [`set_debug`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct DebugFlags: u32 {
        /// Print statistics for each collection (`gc: collecting generation 0...`,
        /// `gc: done, N unreachable, M uncollectable, T s elapsed`).
        const STATS = 1;
        /// Print each collectable object found (`gc: collectable <Node 0x...>`).
        const COLLECTABLE = 2;
        /// Print each uncollectable object found (`gc: uncollectable <Node 0x...>`).
        const UNCOLLECTABLE = 4;
        /// Keep what would be freed in [`garbage`] instead of freeing it.
        const SAVEALL = 32;
        /// What a leak hunt wants: `COLLECTABLE | UNCOLLECTABLE | SAVEALL`.
        const LEAK = Self::COLLECTABLE.bits() | Self::UNCOLLECTABLE.bits() | Self::SAVEALL.bits();
    }
}

/// `gc.DEBUG_STATS`.
pub const DEBUG_STATS: DebugFlags = DebugFlags::STATS;
/// `gc.DEBUG_COLLECTABLE`.
pub const DEBUG_COLLECTABLE: DebugFlags = DebugFlags::COLLECTABLE;
/// `gc.DEBUG_UNCOLLECTABLE`.
pub const DEBUG_UNCOLLECTABLE: DebugFlags = DebugFlags::UNCOLLECTABLE;
/// `gc.DEBUG_SAVEALL`.
pub const DEBUG_SAVEALL: DebugFlags = DebugFlags::SAVEALL;
/// `gc.DEBUG_LEAK`.
pub const DEBUG_LEAK: DebugFlags = DebugFlags::LEAK;

/// Registers the collector with the heap, once per process: from then on, allocation calls
/// it when a thread's young count passes `threshold0`. Every function of this crate does
/// this too; call it at start-up to have automatic collection from the first allocation.
pub fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        rc_heap::raw::set_collect_hook(api::collect_automatically, state::DEFAULT_THRESHOLDS[0] + 1);
    });
}

/// `<Node 0x55d0c3a1b2c0>`, as CPython's debug output names objects.
pub(crate) fn object_repr(header: NonNull<ObjHeader>) -> String {
    // SAFETY: callers pass headers of allocated objects.
    let name = unsafe { rc_heap::raw::type_info(header) }.short_name();
    format!("<{name} {:#x}>", header.as_ptr() as usize)
}

pub(crate) fn describe_panic(panic: &Panic) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}
