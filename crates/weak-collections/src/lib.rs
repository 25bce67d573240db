//! Weak containers over rc-heap's weak references: `WeakSet`, `WeakValueDictionary`,
//! `WeakKeyDictionary`, `finalize` and proxies.
//!
//! Not written yet: this crate has no API. `rc_heap::Weak` and
//! `rc_heap::Gc::downgrade_with_callback` are available now.
