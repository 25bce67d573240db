//! [`WeakValueDictionary`]: a map whose values do not stay alive for it, and its iterators
//! ([`Items`], [`Keys`], [`Values`]), as `std::collections::hash_map` has its own.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::iter::FusedIterator;
use std::rc::Rc;

use rc_heap::{Gc, Trace, Weak};

use crate::as_gc::AsGc;
use crate::shared::{Cursor, Shared};

/// A map from keys to heap objects that does not keep the objects alive (Python's
/// `weakref.WeakValueDictionary`): an entry goes when its value dies. Typical use: a cache
/// of objects that live elsewhere.
///
/// Shared inside: every method takes `&self`. Iteration is safe while values die: dead entries
/// are skipped. A map whose keys have no drop glue removes its dead entries at its next
/// operation that changes or counts them; one whose keys have drop glue (a `String`) removes
/// an entry, and drops its key, as its value dies, also during an iteration (Python waits for
/// the iteration's end): see the crate's docs.
///
/// ```
/// use rc_heap::Gc;
/// use weak_collections::WeakValueDictionary;
///
/// let cache = WeakValueDictionary::new();
/// let page = Gc::new(String::from("<html>"));
/// cache.insert("index", &page);
/// assert_eq!(cache.get(&"index").as_deref().map(String::as_str), Some("<html>"));
/// drop(page);
/// assert!(cache.get(&"index").is_none());
/// assert!(cache.is_empty());
/// ```
#[derive(Trace)]
#[trace(crate = rc_heap, bound = "K: rc_heap::Trace")]
pub struct WeakValueDictionary<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> {
    #[trace(skip)]
    _key: std::marker::PhantomData<K>,
    #[trace(flatten)]
    shared: Rc<Shared<K, Weak<T>>>,
}

impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> WeakValueDictionary<K, T> {
    /// An empty map.
    pub fn new() -> Self {
        WeakValueDictionary {
            _key: std::marker::PhantomData,
            shared: Shared::new(true, "WeakValueDictionary", !std::mem::needs_drop::<K>()),
        }
    }

    /// An empty map with room for `capacity` entries: inserting as many allocates nothing
    /// for the map (`HashMap::with_capacity`).
    pub fn with_capacity(capacity: usize) -> Self {
        let map = WeakValueDictionary::new();
        map.reserve(capacity);
        map
    }

    /// Makes room for at least `additional` more entries than the map has, so that inserting
    /// them allocates nothing for the map (`HashMap::reserve`). Entries found dead are
    /// removed first, as any change does.
    ///
    /// # Panics
    ///
    /// If the new capacity overflows `usize` or the allocator fails, as `HashMap::reserve`.
    pub fn reserve(&self, additional: usize) {
        self.shared.reserve(additional);
    }

    /// Maps `key` to `value` (a `Gc<T>` or a reference to one); returns the live value it
    /// replaced.
    pub fn insert(&self, key: K, value: impl AsGc<T>) -> Option<Gc<T>> {
        let value = value.as_gc();
        self.shared.settle();
        let watch = self.shared.watch();
        // The key's `Hash` and `Eq` run under a shared borrow, so that they may read the map.
        let found = self.shared.table().find_or_hash(&key);
        let mut table = self.shared.table_mut();
        let old = match found {
            Ok(slot) => Some(table.replace(slot, |slot| Gc::downgrade_watched(value, watch, slot))),
            Err(hash) => {
                table.push_indexed(hash, key, |slot| Gc::downgrade_watched(value, watch, slot));
                None
            }
        };
        drop(table);
        old.and_then(|old| old.upgrade())
    }

    /// The live value of `key`. Any borrowed form of the key finds it, as with
    /// `HashMap::get` (`&str` for a `String` key).
    pub fn get<Q: ?Sized + Hash + Eq>(&self, key: &Q) -> Option<Gc<T>>
    where
        K: Borrow<Q>,
    {
        // Through the weak reference's own slot: the watcher's record pays off in an
        // iteration, which reads it in order, not in a lookup of one entry (measured slower).
        self.shared.table().get(key)?.upgrade()
    }

    /// Whether `key` (or a borrowed form of it) maps to a live value.
    pub fn contains_key<Q: ?Sized + Hash + Eq>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.shared.table().get(key).is_some_and(|weak| !weak.is_dead())
    }

    /// Removes `key` (or a borrowed form of it); returns its live value (Python's `pop`).
    pub fn remove<Q: ?Sized + Hash + Eq>(&self, key: &Q) -> Option<Gc<T>>
    where
        K: Borrow<Q>,
    {
        self.shared.settle();
        let slot = self.shared.table().find(key)?;
        let removed = self.shared.table_mut().take(slot);
        removed.1.upgrade()
    }

    /// Python's `pop(key)`: the same as [`remove`](Self::remove).
    pub fn pop<Q: ?Sized + Hash + Eq>(&self, key: &Q) -> Option<Gc<T>>
    where
        K: Borrow<Q>,
    {
        self.remove(key)
    }

    /// Removes and returns some entry with a live value.
    pub fn popitem(&self) -> Option<(K, Gc<T>)> {
        self.shared.settle();
        loop {
            let removed = {
                let mut table = self.shared.table_mut();
                let slot = table.any_slot()?;
                table.take(slot)
            };
            let (key, weak) = removed;
            if let Some(value) = weak.upgrade() {
                return Some((key, value));
            }
        }
    }

    /// The live value of `key`, after mapping it to `default` if it had none.
    pub fn setdefault(&self, key: K, default: impl AsGc<T>) -> Gc<T> {
        let default = default.as_gc();
        if let Some(value) = self.get(&key) {
            return value;
        }
        self.insert(key, default);
        default.clone()
    }

    /// The live value of `key`, after mapping it to the value `make` returns if it had none
    /// ([`setdefault`](Self::setdefault) that builds the value only when it is needed, as a
    /// cache does). `make` runs with the map free: it may read or change the map, and the
    /// value it returns is the one stored under `key`.
    ///
    /// ```
    /// use rc_heap::Gc;
    /// use weak_collections::WeakValueDictionary;
    ///
    /// let cache = WeakValueDictionary::new();
    /// let page = cache.get_or_insert_with(7u64, || Gc::new(String::from("rendered")));
    /// let again = cache.get_or_insert_with(7u64, || unreachable!("the page is cached"));
    /// assert!(Gc::ptr_eq(&page, &again));
    /// ```
    pub fn get_or_insert_with(&self, key: K, make: impl FnOnce() -> Gc<T>) -> Gc<T> {
        if let Some(value) = self.get(&key) {
            return value;
        }
        let value = make();
        self.insert(key, &value);
        value
    }

    /// Inserts every pair; a value is a `Gc<T>` or a reference to one.
    pub fn update<V: AsGc<T>>(&self, pairs: impl IntoIterator<Item = (K, V)>) {
        let pairs = pairs.into_iter();
        self.shared.reserve_for(&pairs);
        for (key, value) in pairs {
            self.insert(key, value);
        }
    }

    /// The number of entries with live values (dead ones known to be dead excluded).
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.shared.clear();
    }

    /// Gives back the memory the live entries do not need. A map keeps the room its
    /// entries took after they die or are removed, as a `HashMap` keeps its capacity, so
    /// that it fills again without growing; after a peak it will not see again (a cache
    /// emptied by a burst of deaths), this returns that room to the allocator.
    pub fn shrink_to_fit(&self) {
        self.shared.shrink_to_fit();
    }

    /// How many entries the map holds without allocating more memory.
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// Iterates over the entries with live values; values that die meanwhile are skipped,
    /// entries inserted meanwhile may or may not be met.
    pub fn items(&self) -> Items<K, T> {
        Items { cursor: self.shared.cursor() }
    }

    /// The entries with live values, as [`items`](Self::items) gives them (the name a Rust
    /// map's iteration goes by).
    pub fn iter(&self) -> Items<K, T> {
        self.items()
    }

    /// The keys of entries whose value lives, as [`items`](Self::items) meets them.
    pub fn keys(&self) -> Keys<K, T> {
        Keys { cursor: self.shared.cursor() }
    }

    /// The live values, as [`items`](Self::items) meets them; no key is cloned.
    ///
    /// ```
    /// use rc_heap::Gc;
    /// use weak_collections::{WeakValueDictionary, value_dict::Values};
    ///
    /// struct Cache {
    ///     by_name: WeakValueDictionary<String, u32>,
    /// }
    /// impl Cache {
    ///     fn all(&self) -> Values<String, u32> {
    ///         self.by_name.values()
    ///     }
    /// }
    /// let cache = Cache { by_name: WeakValueDictionary::new() };
    /// let (one, two) = (Gc::new(1), Gc::new(2));
    /// cache.by_name.insert("one".to_string(), &one);
    /// cache.by_name.insert("two".to_string(), &two);
    /// drop(two);
    /// assert_eq!(cache.all().map(|value| *value).collect::<Vec<_>>(), [1]);
    /// ```
    pub fn values(&self) -> Values<K, T> {
        Values { cursor: self.shared.cursor() }
    }

    /// Keeps only the entries for which `keep`, given the key and the value, returns
    /// `true`, visiting each live entry once, in the order iteration meets them
    /// (`HashMap::retain`).
    ///
    /// ```
    /// use rc_heap::Gc;
    /// use weak_collections::WeakValueDictionary;
    ///
    /// let cache = WeakValueDictionary::new();
    /// let (small, large) = (Gc::new(vec![0_u8; 4]), Gc::new(vec![0_u8; 4096]));
    /// cache.insert("small", &small);
    /// cache.insert("large", &large);
    /// cache.retain(|_, page| page.len() < 1024);
    /// assert_eq!(cache.keys().collect::<Vec<_>>(), ["small"]);
    /// ```
    ///
    /// The values themselves die only after `retain` returns, their `Drop`s free to use the
    /// map. Another object whose last handle `keep` drops dies there and then, while the
    /// map is lent: a `Drop` of it that uses the map panics, and the
    /// panic comes out of `retain`. Keep such handles until `retain` returns.
    ///
    /// # Panics
    /// If `keep` uses the map (it runs while the map lends its entries); the entries it
    /// already removed stay removed.
    pub fn retain(&self, mut keep: impl FnMut(&K, &Gc<T>) -> bool) {
        // A value whose other handles `keep` dropped dies when its handle here goes: after
        // the map is no longer lent, since its death may run code that uses the map.
        let mut last = Vec::new();
        self.shared.retain(|watch, slot, key, weak| {
            let Some(value) = watch.upgrade(slot, weak) else { return true };
            let kept = keep(key, &value);
            if Gc::strong_count(&value) == 1 {
                last.push(value);
            }
            kept
        });
        drop(last);
    }

    /// Python's `valuerefs()`: the weak references to the values.
    pub fn valuerefs(&self) -> Vec<Weak<T>> {
        self.shared.settle();
        self.shared.table().entries().map(|(_, weak)| weak.clone()).collect()
    }

    /// A new map with the same entries.
    pub fn copy(&self) -> Self {
        let copy = WeakValueDictionary::new();
        for (key, value) in self.items() {
            copy.insert(key, &value);
        }
        copy
    }
}

/// An iterator over a [`WeakValueDictionary`]'s live entries.
pub struct Items<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> {
    cursor: Cursor<K, Weak<T>>,
}

/// Ends for good: once it gives `None`, it always does.
impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> FusedIterator for Items<K, T> {}

impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> Iterator for Items<K, T> {
    type Item = (K, Gc<T>);

    /// At most the slots left to look at: entries that die meanwhile are skipped, and ones
    /// added meanwhile past the end are not met.
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.cursor.remaining_slots()))
    }

    #[inline]
    fn next(&mut self) -> Option<(K, Gc<T>)> {
        self.cursor.find_map(|watch, slot, key, weak| Some((key.clone(), watch.upgrade(slot, weak)?)))
    }
}

impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> fmt::Debug for Items<K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("weak_collections::value_dict::Items")
            .field("remaining_slots", &self.cursor.remaining_slots())
            .finish()
    }
}

/// An iterator over the keys of a [`WeakValueDictionary`]'s entries whose value lives
/// ([`WeakValueDictionary::keys`]).
pub struct Keys<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> {
    cursor: Cursor<K, Weak<T>>,
}

/// Ends for good: once it gives `None`, it always does.
impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> FusedIterator for Keys<K, T> {}

impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> Iterator for Keys<K, T> {
    type Item = K;

    /// At most the slots left to look at: entries that die meanwhile are skipped, and ones
    /// added meanwhile past the end are not met.
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.cursor.remaining_slots()))
    }

    #[inline]
    fn next(&mut self) -> Option<K> {
        // The key is cloned before its value is read, as `Items` does: a clone that drops the
        // value's last handle leaves its key out.
        self.cursor.find_map(|watch, slot, key, weak| {
            let key = key.clone();
            (!watch.is_dead(slot, weak)).then_some(key)
        })
    }
}

impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> fmt::Debug for Keys<K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("weak_collections::value_dict::Keys")
            .field("remaining_slots", &self.cursor.remaining_slots())
            .finish()
    }
}

/// An iterator over a [`WeakValueDictionary`]'s live values ([`WeakValueDictionary::values`]).
pub struct Values<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> {
    cursor: Cursor<K, Weak<T>>,
}

/// Ends for good: once it gives `None`, it always does.
impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> FusedIterator for Values<K, T> {}

impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> Iterator for Values<K, T> {
    type Item = Gc<T>;

    /// At most the slots left to look at: entries that die meanwhile are skipped, and ones
    /// added meanwhile past the end are not met.
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.cursor.remaining_slots()))
    }

    #[inline]
    fn next(&mut self) -> Option<Gc<T>> {
        self.cursor.find_map(|watch, slot, _, weak| watch.upgrade(slot, weak))
    }
}

impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> fmt::Debug for Values<K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("weak_collections::value_dict::Values")
            .field("remaining_slots", &self.cursor.remaining_slots())
            .finish()
    }
}

/// A new map with the same entries ([`copy`](WeakValueDictionary::copy)): the two are
/// independent from then on.
impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> Clone for WeakValueDictionary<K, T> {
    fn clone(&self) -> Self {
        self.copy()
    }
}

/// Two maps are equal when they have the same keys with live values, and each key's values
/// are one object or equal ones (`Gc`'s `PartialEq`), as Python's mappings compare. An entry
/// whose value is dying (seen from a weak callback or a `Drop` that runs before the map
/// removes it) is left out on both sides, as an iteration leaves it out, though
/// [`len`](WeakValueDictionary::len) still counts it: a map equals its own copy.
impl<K: Eq + Hash + Clone + 'static, T: ?Sized + PartialEq + 'static> PartialEq for WeakValueDictionary<K, T> {
    fn eq(&self, other: &Self) -> bool {
        self.shared.live_len() == other.shared.live_len()
            && self.items().all(|(key, value)| {
                other.get(&key).is_some_and(|theirs| Gc::ptr_eq(&value, &theirs) || *value == *theirs)
            })
    }
}

impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> Default for WeakValueDictionary<K, T> {
    fn default() -> Self {
        WeakValueDictionary::new()
    }
}

impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static, V: AsGc<T>> Extend<(K, V)> for WeakValueDictionary<K, T> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        self.update(pairs);
    }
}

impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static, V: AsGc<T>> FromIterator<(K, V)>
    for WeakValueDictionary<K, T>
{
    /// A map of the pairs, as [`update`](WeakValueDictionary::update) makes them: a later
    /// pair replaces an earlier one with the same key, and an entry whose value has no
    /// other owner is gone by the time the map is returned (Python's
    /// `WeakValueDictionary(pairs)`).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let map = WeakValueDictionary::new();
        map.update(pairs);
        map
    }
}

/// `for (key, value) in &map` (Python's `for key, value in d.items()`): the live entries,
/// as [`WeakValueDictionary::items`].
impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> IntoIterator for &WeakValueDictionary<K, T> {
    type Item = (K, Gc<T>);
    type IntoIter = Items<K, T>;

    fn into_iter(self) -> Items<K, T> {
        self.items()
    }
}

/// `&map | pairs` (Python's `d | other`): a new map with this one's live entries, then the
/// pairs (another map, a `HashMap` of handles, a list of pairs), a later key replacing an
/// earlier one.
impl<K, T, V, I> std::ops::BitOr<I> for &WeakValueDictionary<K, T>
where
    K: Eq + Hash + Clone + 'static,
    T: ?Sized + 'static,
    V: AsGc<T>,
    I: IntoIterator<Item = (K, V)>,
{
    type Output = WeakValueDictionary<K, T>;

    fn bitor(self, pairs: I) -> WeakValueDictionary<K, T> {
        let union = self.copy();
        union.update(pairs);
        union
    }
}

/// `map |= pairs` (Python's `d |= other`): [`update`](WeakValueDictionary::update).
impl<K, T, V, I> std::ops::BitOrAssign<I> for WeakValueDictionary<K, T>
where
    K: Eq + Hash + Clone + 'static,
    T: ?Sized + 'static,
    V: AsGc<T>,
    I: IntoIterator<Item = (K, V)>,
{
    fn bitor_assign(&mut self, pairs: I) {
        self.update(pairs);
    }
}

impl<K: Eq + Hash + Clone + 'static, T: ?Sized + 'static> fmt::Debug for WeakValueDictionary<K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, value, len) =
            (rc_heap::TypeInfo::short_name_of::<K>(), rc_heap::TypeInfo::short_name_of::<T>(), self.len());
        write!(f, "WeakValueDictionary<{key}, {value}>({len} {})", crate::shared::entries(len))
    }
}
