//! How weak-keyed containers compare keys: by object identity (the default) or, opted
//! into, by value, as Python's `WeakSet` and `WeakKeyDictionary` do with `__hash__` and
//! `__eq__`.

use std::hash::{BuildHasher, Hash};

/// A way of comparing the keys of [`WeakSet`](crate::WeakSet) and
/// [`WeakKeyDictionary`](crate::WeakKeyDictionary), whose keys are the objects themselves.
///
/// The container stores no key of its own: an entry's weak reference is its key. A mode
/// that is [`INDEXED`](KeyMode::INDEXED) has the container index its entries by the
/// [`hash`](KeyMode::hash) of their objects, taken once when the entry is made, and compare
/// a probed object with a live member by [`same`](KeyMode::same); one that is not finds an
/// object's entry from the object (its weak references that report to the container, as
/// CPython finds an object's weak references through the object), which only identity can
/// do.
pub trait KeyMode<T: ?Sized + 'static>: 'static {
    /// Whether the container indexes its entries by [`hash`](KeyMode::hash) (else it finds
    /// an object's entry from the object, with no index: keys by identity).
    const INDEXED: bool;

    /// The hash of `item` as a key, taken when its entry is made and kept with it.
    fn hash(item: &T) -> u64;

    /// Whether `member`, the live object of an entry, and `item` are one key.
    fn same(member: &T, item: &T) -> bool;
}

/// Keys compare by identity: two distinct objects are two keys, even with equal values.
///
/// The container keeps no index: it finds an object's entry from the object, so an entry
/// whose object has died and whose removal is still queued is never found for a new object
/// at the same address.
///
/// Finding it walks the object's weak references that have callbacks (its entries in weak
/// containers, its `downgrade_with_callback` references), a few for most objects, where
/// Python hashes. An object that is a key of many identity containers at once (one shared
/// object in hundreds of per-listener sets) makes every lookup of it, in any of them, take
/// that many steps; such containers are better keyed by value ([`ByValue`]) over a type that
/// hashes an id of the object.
#[derive(Debug, Clone, Copy, Default, rc_heap::Trace)]
#[trace(crate = rc_heap)]
pub struct ByIdentity;

impl<T: ?Sized + 'static> KeyMode<T> for ByIdentity {
    const INDEXED: bool = false;

    fn hash(item: &T) -> u64 {
        std::ptr::from_ref(item).cast::<()>().addr() as u64
    }

    fn same(member: &T, item: &T) -> bool {
        std::ptr::addr_eq(member, item)
    }
}

/// Keys compare by value (`T: Hash + Eq`), as in Python: an equal object finds the entry.
/// A member's hash is taken when it is added (changing a member's value so that its hash
/// changes leaves it where it was, as with a Python dict). A member whose object has died
/// equals nothing. `Hash` and `Eq` run while the container lends its entries: they may read
/// the container they compare in, as Python's `__eq__` may, but changing it from there
/// panics (Python restarts its lookup instead).
#[derive(Debug, Clone, Copy, Default, rc_heap::Trace)]
#[trace(crate = rc_heap)]
pub struct ByValue;

impl<T: ?Sized + 'static + Hash + Eq> KeyMode<T> for ByValue {
    const INDEXED: bool = true;

    fn hash(item: &T) -> u64 {
        FIXED.hash_one(item)
    }

    fn same(member: &T, item: &T) -> bool {
        member == item
    }
}

/// A fixed hasher: a key's hash is taken once, when it is stored, and must stay the same.
static FIXED: std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher> =
    std::hash::BuildHasherDefault::new();
