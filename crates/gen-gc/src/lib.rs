//! CPython's generational cycle collector and the `gc` module's API, over rc-heap.
//!
//! Not written yet: this crate has no API. Until it has, cycles of `Gc`s are not collected;
//! break them by hand (set a field to `None`) or hold one direction with `rc_heap::Weak`.
//! `rc_heap::raw` documents the mechanism the collector will be built on.
