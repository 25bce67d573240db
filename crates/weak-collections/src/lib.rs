//! # weak-collections: Python's weak containers over rc-heap
//!
//! Containers whose members do not stay alive for them, and the helpers around weak
//! references that Python's `weakref` module offers:
//!
//! | Python | here |
//! |---|---|
//! | `weakref.ref(obj)`, `weakref.ref(obj, callback)` | rc-heap's [`Gc::downgrade`](rc_heap::Gc::downgrade), [`Gc::downgrade_with_callback`](rc_heap::Gc::downgrade_with_callback) |
//! | `weakref.WeakSet` | [`WeakSet`] |
//! | `weakref.WeakValueDictionary` | [`WeakValueDictionary`] |
//! | `weakref.WeakKeyDictionary` | [`WeakKeyDictionary`] |
//! | `weakref.finalize` | [`finalize`] / [`Finalizer`] |
//! | `weakref.proxy(obj)`, `weakref.proxy(obj, callback)` | [`proxy`], [`proxy_with_callback`] → [`WeakProxy`] (errors with [`ReferenceError`]) |
//! | `weakref.getweakrefcount(obj)` | [`getweakrefcount`] (weak handles, see there) |
//!
//! Entries vanish when their object dies, by reference counting or by the cycle collector:
//! each entry holds a weak reference whose death its container learns of (one
//! [`Watcher`](rc_heap::Watcher) per container, the entry found by its slot, no callback
//! allocated per entry). Iterating while entries die, even when the loop body triggers a
//! collection, is safe: entries sit in slots that never move, an iteration walks them by
//! position and skips the dead ones, and `len` never counts an entry known to be dead.
//! One window is CPython's too: an object dropped deep in a chain of deaths has its death
//! queued by the death loop (as CPython's trashcan delays a deallocation); it reads dead at
//! once, so iteration skips it, but its entry stays, and `len` counts it, until the death
//! runs, since a finalizer may still resurrect it then (the entry then stays in place).
//!
//! When a dead entry's memory goes depends on what the entry holds. A [`WeakSet`], a
//! [`WeakValueDictionary`] whose keys and a [`WeakKeyDictionary`] whose values have no drop
//! glue (`u64`, `&'static str`, `(u32, char)`: [`std::mem::needs_drop`] is false) only
//! mark a death ([`Watcher::deferred`](rc_heap::Watcher::deferred)), as cheap as the death
//! of an object with a plain weak reference, and drop their dead entries together at
//! their next operation that changes or counts entries (`insert`, `remove`, `len`,
//! iteration, `shrink_to_fit`...): until then the entry reads as absent everywhere and
//! keeps its memory (its weak reference's slot and its place in the slab). A map whose
//! keys or values have drop glue (a `String` key, a value holding a `Gc`) removes the
//! entry as its object dies, so that they are dropped then, as Python drops them.
//!
//! Keys of [`WeakSet`] and [`WeakKeyDictionary`] compare by object identity; opt into
//! value equality (Python's `__hash__`/`__eq__`) with [`WeakSet::by_value`] and
//! [`WeakKeyDictionary::by_value`] ([`ByValue`]).
//!
//! Objects are passed as Python passes them: a `Gc<T>` or a reference to one
//! (`set.add(&a)`, `set.add(a.clone())`, `set.contains(o)` for an `o: &&Gc<T>` in a
//! `filter`), all [`AsGc`]. A
//! [`WeakValueDictionary`]'s keys are looked up by any borrowed form, as a `HashMap`'s are
//! (`d.get("k")` for `String` keys).
//!
//! Keys are hashed for speed, as a `HashMap` with rustc-hash's Fx would hash them, not to
//! resist collisions chosen by an attacker: do not key a container by untrusted input that
//! can be made to collide. A key that hashes as one integer (`u64`, `i32`, `usize`, a newtype
//! of one) is placed by its value, as CPython places its ints, so that ids that follow each
//! other are found in order, a run of lookups reading the index as a sequence; keys that
//! would crowd one stretch of the index that way switch it to mixed hashes on their own.
//!
//! This crate depends only on rc-heap: it needs weak references and their callbacks, not
//! the collector.

#![deny(missing_docs)]

mod as_gc;
mod finalize;
mod index_hash;
pub mod key_dict;
mod key_mode;
mod proxy;
pub mod set;
mod shared;
pub mod value_dict;
mod weakref_count;

pub use as_gc::AsGc;
pub use finalize::{Finalizer, FinalizerFn, finalize};
#[doc(inline)]
pub use key_dict::{Keys, WeakKeyDictionary};
pub use key_mode::{ByIdentity, ByValue, KeyMode};
pub use proxy::{ReferenceError, WeakProxy, proxy, proxy_with_callback};
#[doc(inline)]
pub use set::{Iter, WeakSet};
#[doc(inline)]
pub use value_dict::{Items, WeakValueDictionary};
pub use weakref_count::getweakrefcount;
