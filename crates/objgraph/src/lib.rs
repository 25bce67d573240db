//! # objgraph: what is on the heap, and what grew
//!
//! Python's [objgraph](https://mg.pov.lt/objgraph/) over this heap, with objgraph's output
//! formats, so that someone who knows objgraph reads ours at once:
//!
//! - [`count`], [`typestats`], [`most_common_types`], [`show_most_common_types`]: how many
//!   objects of each type the collector tracks;
//! - [`growth`], [`show_growth`]: which types gained objects since the last call (peak-based,
//!   after a full collection, so cycles do not count as growth);
//! - [`get_new_ids`]: the ids of the objects new since the last call, per type;
//! - [`by_type`], [`at`], [`at_ids`]: the objects themselves;
//! - [`get_leaking_objects`]: tracked objects that no tracked object refers to — the roots
//!   of what is alive, where leaks are held from;
//! - [`find_backref_chain`], [`find_ref_chain`]: the shortest chain of references to or from
//!   an object that satisfies a predicate, and [`find_backref_chain_to_root`], which ends at
//!   an object held from outside the heap (its count exceeds the references it gets from
//!   heap objects: a variable, a static, a thread-local), where Python's objgraph can only
//!   stop at modules.
//!
//! ```
//! use std::cell::RefCell;
//! use cyclegc::{Gc, Trace};
//!
//! #[derive(Trace)]
//! struct Obj {
//!     next: RefCell<Option<Gc<Obj>>>,
//! }
//!
//! let query = objgraph::Query::default();
//! let mut peak = objgraph::PeakStats::default();
//! objgraph::growth(None, &mut peak, &query); // the baseline
//!
//! let mut cache = Vec::new();
//! cache.push(Gc::new(Obj { next: RefCell::new(None) })); // a leak: nobody removes it
//! let grown = objgraph::growth(None, &mut peak, &query);
//! assert_eq!(grown, vec![("Obj".to_owned(), 1, 1)]); // (type, count, growth)
//! ```
//!
//! Type names are short (`Node<String>`) unless [`Query::full_names`] asks for the full path
//! (`app::graph::Node<alloc::string::String>`); a name given to [`count`] or [`by_type`]
//! matches the full path when it contains `::`, the short name otherwise.
//!
//! Only tracked objects are counted, as `gc.get_objects()` lists only those in Python:
//! leaves (numbers, strings) are not tracked. objgraph's own handles and tables are Rust
//! values, not heap objects, so they never show up in its answers.

#![deny(missing_docs)]

mod chains;
mod counts;
mod growth;
mod snapshot;

pub use chains::{find_backref_chain, find_backref_chain_to_root, find_ref_chain};
pub use counts::{
    Query, at, at_ids, by_type, count, get_leaking_objects, most_common_types, show_most_common_types, typestats,
};
pub use growth::{NewIds, PeakStats, SortBy, get_new_ids, growth, show_growth, show_growth_with};
pub use snapshot::HeapGraph;
