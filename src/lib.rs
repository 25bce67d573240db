//! # cyclegc
//!
//! CPython's memory toolbox for Rust programs, one crate per layer, re-exported here:
//!
//! | layer | crate | status |
//! |---|---|---|
//! | reference-counted heap, `Gc`, `Weak`, `Trace`, finalizers | [`rc_heap`] | available |
//! | `#[derive(Trace)]` | `trace-derive`, re-exported here | available |
//! | generational cycle collector, Python's `gc` API | [`gen_gc`] | available |
//! | `WeakSet`, `WeakValueDictionary`, `WeakKeyDictionary`, `finalize`, proxies | [`weak_collections`] | available |
//! | objgraph's counts, growth, new ids, leaking objects, reference chains | [`objgraph`] | available |
//! | objgraph's graphs (DOT; SVG with or without Graphviz), named roots | [`objgraph`] | available |
//! | retained size, cycles among garbage, JSON heap snapshots and diffs, counts by allocation site | [`objgraph`] | available |
//! | leak checks (`LeakCheck`): steady growth per type, leaked objects grouped by chain from a root, as snapshot text | [`objgraph`] | available |
//! | reports to browse offline (`Report`): HTML tables that sort, filter and unfold chains, DOT, SVG, text, JSON; a leak check's section | [`objgraph`] | available |
//!
//! `docs/guide.md` walks through leak hunting with all of it, from reference counts to a leak
//! check in a test.
//!
//! ```
//! use cyclegc::{Gc, Weak};
//!
//! let greeting = Gc::new(String::from("hello"));
//! let weak: Weak<String> = Gc::downgrade(&greeting);
//! assert_eq!(weak.upgrade().as_deref().map(String::as_str), Some("hello"));
//! drop(greeting);
//! assert!(weak.upgrade().is_none());
//! ```

#![deny(missing_docs)]

pub use rc_heap::__private::TraceTrait as Trace;
pub use rc_heap::{
    AccessError, Callable, Closure, Edge, Finalize, Gc, GcAny, GcMut, KeyLabel, LabelPath, ObjectId, Referent, Segment,
    TypeInfo, Visitor, Weak, WeakEdge, coerce_gc,
};
/// Derives [`Trace`](trait@Trace) for use through this facade (no direct `rc-heap`
/// dependency needed). Its attributes are those of the `trace-derive` crate.
pub use trace_derive::__TraceThroughCyclegc as Trace;

pub use gen_gc;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctest;

/// The guide's examples (`docs/guide.md`), compiled and run as doctests.
#[doc = include_str!("../docs/guide.md")]
#[cfg(doctest)]
pub struct GuideDoctest;
pub use objgraph;
pub use rc_heap;
pub use weak_collections;
