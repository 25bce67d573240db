//! How weak-keyed containers compare keys: by object identity (the default) or, opted
//! into, by value, as Python's `WeakSet` and `WeakKeyDictionary` do with `__hash__` and
//! `__eq__`.

use std::hash::{BuildHasher, Hash, Hasher};

use rc_heap::{Gc, Trace, Weak};

/// A way of comparing the keys of [`WeakSet`](crate::WeakSet) and
/// [`WeakKeyDictionary`](crate::WeakKeyDictionary).
pub trait KeyMode<T: ?Sized + 'static>: 'static {
    /// What the container stores as the key (`()` for keys by identity, whose entry's weak
    /// reference is the key).
    type Key: Eq + Hash + Clone + Trace;

    /// The key of the live `item`: what the container looks it up with, and stores with
    /// its entry.
    fn probe(item: &Gc<T>) -> Self::Key;

    /// Whether the container finds an entry by hashing its key. When `false`, keys are
    /// identities: the container keeps no index and finds an object's entry from the
    /// object, through its weak references ([`Gc::find_watched`]).
    const INDEXED: bool = true;
}

/// Keys compare by identity: two distinct objects are two keys, even with equal values.
///
/// The container stores no key of its own: the entry's weak reference is the key, and the
/// container finds an object's entry from the object ([`KeyMode::INDEXED`]), so an entry
/// whose object has died and whose removal is still queued is never found for a new object
/// at the same address.
#[derive(Debug, Clone, Copy, Default, rc_heap::Trace)]
#[trace(crate = rc_heap)]
pub struct ByIdentity;

impl<T: ?Sized + 'static> KeyMode<T> for ByIdentity {
    type Key = ();

    const INDEXED: bool = false;

    fn probe(_item: &Gc<T>) {}
}

/// Keys compare by value (`T: Hash + Eq`), as in Python: an equal object finds the entry.
/// A key whose object has died equals only itself.
#[derive(Debug, Clone, Copy, Default, rc_heap::Trace)]
#[trace(crate = rc_heap)]
pub struct ByValue;

impl<T: ?Sized + 'static + Hash + Eq> KeyMode<T> for ByValue {
    type Key = ValueKey<T>;

    fn probe(item: &Gc<T>) -> ValueKey<T> {
        ValueKey { weak: Gc::downgrade(item), hash: hash_of(&**item) }
    }
}

fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    FIXED.hash_one(value)
}

/// A fixed hasher: a key's hash is computed once, when it is stored, and must stay the same.
static FIXED: std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher> =
    std::hash::BuildHasherDefault::new();

/// A by-value key: the weak reference and the hash its value had when it was stored.
#[derive(rc_heap::Trace)]
#[trace(crate = rc_heap, bound = "")]
pub struct ValueKey<T: ?Sized + 'static> {
    weak: Weak<T>,
    hash: u64,
}

impl<T: ?Sized + 'static> Clone for ValueKey<T> {
    fn clone(&self) -> Self {
        ValueKey { weak: self.weak.clone(), hash: self.hash }
    }
}

impl<T: ?Sized + 'static + Eq> PartialEq for ValueKey<T> {
    fn eq(&self, other: &Self) -> bool {
        if self.hash != other.hash {
            return false;
        }
        match (self.weak.upgrade(), other.weak.upgrade()) {
            (Some(a), Some(b)) => *a == *b,
            _ => self.weak.same_reference(&other.weak),
        }
    }
}

impl<T: ?Sized + 'static + Eq> Eq for ValueKey<T> {}

impl<T: ?Sized + 'static> Hash for ValueKey<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl<T: ?Sized + 'static> std::fmt::Debug for ValueKey<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueKey").field("hash", &self.hash).field("weak", &self.weak).finish()
    }
}
