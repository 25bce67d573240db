//! `#[derive(Trace)]` for cyclegc's heap.
//!
//! Not written yet: until it is, implement `rc_heap::Trace` by hand (see its safety rules).
