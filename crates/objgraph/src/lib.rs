//! objgraph's introspection over rc-heap: counts, growth, reference chains and graphs.
//!
//! Not written yet: this crate has no API. `rc_heap::GcAny::referents` and
//! `rc_heap::GcAny::from_id` are available now.
