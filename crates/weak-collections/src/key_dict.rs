//! [`WeakKeyDictionary`]: a map whose keys do not stay alive for it, and its iterators over the
//! live keys ([`Keys`]) and entries ([`Items`]).

use std::fmt;
use std::iter::FusedIterator;
use std::marker::PhantomData;
use std::rc::Rc;

use rc_heap::{Gc, Trace, Weak};

use crate::key_mode::{ByIdentity, ByValue, KeyMode};

use crate::as_gc::AsGc;
use crate::shared::{Cursor, Shared, Table, WeakEntry};

/// A map from heap objects to values that does not keep the keys alive (Python's
/// `weakref.WeakKeyDictionary`): an entry goes when its key dies. Typical use: data attached
/// to objects owned elsewhere. Keys compare by identity; [`WeakKeyDictionary::by_value`]
/// makes them compare by value (`Hash + Eq`), as Python's do.
///
/// Shared inside: every method takes `&self`, and values are handed out by clone or
/// through a closure. Iteration is safe while keys die: dead entries are skipped. A map whose
/// values have no drop glue removes its dead entries at its next operation that changes or
/// counts them; one whose values have drop glue (a `String`, a `Gc`) removes an entry, and
/// drops its value, as its key dies, also during an iteration (Python waits for the
/// iteration's end): see the crate's docs. A value's `Clone` and the closure of
/// [`with_value`](Self::with_value) run while the map lends its entries: they may read the
/// map and drop handles, but changing the map from there panics (Python's dictionaries raise
/// `RuntimeError` for changes during an iteration).
///
/// ```
/// use rc_heap::Gc;
/// use weak_collections::WeakKeyDictionary;
///
/// let notes = WeakKeyDictionary::new();
/// let widget = Gc::new(7_u32);
/// notes.insert(&widget, "resized twice");
/// assert_eq!(notes.get(&widget), Some("resized twice"));
/// drop(widget);
/// assert!(notes.is_empty());
/// ```
#[derive(Trace)]
#[trace(crate = rc_heap, bound = "V: Trace, M: KeyMode<T>")]
pub struct WeakKeyDictionary<T: ?Sized + 'static, V: 'static, M: KeyMode<T> = ByIdentity> {
    #[trace(flatten)]
    shared: Rc<Shared<(), Entry<T, V>>>,
    /// How keys compare; the entries hold no key.
    #[trace(skip)]
    _mode: PhantomData<fn() -> M>,
}

/// An entry: the key's weak reference and the value.
/// An entry: the key's weak reference and the value, traced as the map's own (a value's edge
/// reads `notes[3]`, the entry's slot).
#[derive(Trace)]
#[trace(crate = rc_heap, bound = "V: Trace")]
struct Entry<T: ?Sized + 'static, V> {
    #[trace(flatten)]
    weak: Weak<T>,
    #[trace(flatten)]
    value: V,
}

impl<T: ?Sized + 'static, V> WeakEntry for Entry<T, V> {
    type Object = T;

    #[inline]
    fn is_dead(&self) -> bool {
        self.weak.is_dead()
    }

    #[inline]
    fn is_cleared(&self) -> bool {
        self.weak.is_cleared()
    }

    #[inline]
    fn into_weak(self) -> Weak<T> {
        self.weak
    }
}

impl<T: ?Sized + 'static, V: 'static> WeakKeyDictionary<T, V> {
    /// An empty map whose keys compare by identity.
    pub fn new() -> Self {
        WeakKeyDictionary::with_key_mode()
    }

    /// An empty map, keys by identity, with room for `capacity` entries: inserting as many
    /// allocates nothing for the map (`HashMap::with_capacity`).
    pub fn with_capacity(capacity: usize) -> Self {
        let map = WeakKeyDictionary::new();
        map.reserve(capacity);
        map
    }
}

impl<T: ?Sized + std::hash::Hash + Eq, V: 'static> WeakKeyDictionary<T, V, ByValue> {
    /// An empty map whose keys compare by value: an object equal to a key finds its entry.
    pub fn by_value() -> Self {
        WeakKeyDictionary::with_key_mode()
    }
}

impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>> WeakKeyDictionary<T, V, M> {
    /// An empty map comparing keys as `M` says.
    pub fn with_key_mode() -> Self {
        WeakKeyDictionary {
            shared: Shared::new(M::INDEXED, "WeakKeyDictionary", !std::mem::needs_drop::<V>()),
            _mode: PhantomData,
        }
    }

    /// Maps `key` (a `Gc<T>` or a reference to one) to `value`; returns the value it
    /// replaced.
    pub fn insert(&self, key: impl AsGc<T>, value: V) -> Option<V> {
        let key = key.as_gc();
        self.shared.settle();
        let watch = self.shared.watch();
        // A by-value key's `Hash` and `Eq` run under a shared borrow, so that they may read
        // the map.
        let found = self.find(&self.shared.table(), key);
        let mut table = self.shared.table_mut();
        match found {
            Ok(slot) => Some(std::mem::replace(&mut table.entry_mut(slot).value, value)),
            Err(hash) => {
                table.push_key(hash, |slot| Entry { weak: Gc::downgrade_watched(key, watch, slot), value });
                None
            }
        }
    }

    /// The slot of `key`'s live entry, or what to add it under ([`Table::find_key`]).
    fn find(&self, table: &Table<(), Entry<T, V>>, key: &Gc<T>) -> Result<usize, Option<u32>> {
        table.find_key::<T, M>(key, self.shared.watch(), |entry| &entry.weak)
    }

    /// The slot of `key`'s live entry.
    fn live_slot(&self, table: &Table<(), Entry<T, V>>, key: &Gc<T>) -> Option<usize> {
        self.find(table, key).ok()
    }

    /// Whether `key` is in the map.
    pub fn contains_key(&self, key: impl AsGc<T>) -> bool {
        self.live_slot(&self.shared.table(), key.as_gc()).is_some()
    }

    /// Runs `f` on the value of `key`.
    ///
    /// # Panics
    /// If `f` changes the map (reading it is fine).
    pub fn with_value<R>(&self, key: impl AsGc<T>, f: impl FnOnce(&V) -> R) -> Option<R> {
        let table = self.shared.table();
        self.live_slot(&table, key.as_gc()).map(|slot| f(&table.entry(slot).value))
    }

    /// Runs `f` on the value of `key`, mutably (`HashMap::get_mut`; Python's
    /// `d[key].append(x)` or `d[key] += 1`). The key is looked up first, so a by-value key's
    /// `Hash` and `Eq` may read the map as in any lookup; then the map lends the value.
    ///
    /// ```
    /// use rc_heap::Gc;
    /// use weak_collections::WeakKeyDictionary;
    ///
    /// let page = Gc::new("home");
    /// let hits = WeakKeyDictionary::new();
    /// hits.insert(&page, 0);
    /// hits.with_value_mut(&page, |count| *count += 1);
    /// assert_eq!(hits.get(&page), Some(1));
    /// ```
    ///
    /// # Panics
    /// If `f` uses the map (it runs while the map lends the value), also through the `Drop`
    /// of something it drops (an object whose last handle it held).
    pub fn with_value_mut<R>(&self, key: impl AsGc<T>, f: impl FnOnce(&mut V) -> R) -> Option<R> {
        let slot = self.live_slot(&self.shared.table(), key.as_gc())?;
        let mut table = self.shared.table_mut();
        Some(f(&mut table.entry_mut(slot).value))
    }

    /// Removes `key`; returns its value (Python's `pop`).
    pub fn remove(&self, key: impl AsGc<T>) -> Option<V> {
        self.shared.settle();
        let slot = self.live_slot(&self.shared.table(), key.as_gc())?;
        let (_, entry) = self.shared.table_mut().take(slot);
        Some(entry.value)
    }

    /// Python's `pop(key)`: the same as [`remove`](Self::remove).
    pub fn pop(&self, key: impl AsGc<T>) -> Option<V> {
        self.remove(key)
    }

    /// Removes and returns some entry whose key is alive.
    pub fn popitem(&self) -> Option<(Gc<T>, V)> {
        self.shared.settle();
        loop {
            let (_, Entry { weak, value }) = {
                let mut table = self.shared.table_mut();
                let slot = table.any_slot()?;
                table.take(slot)
            };
            if let Some(key) = weak.upgrade() {
                return Some((key, value));
            }
        }
    }

    /// Inserts every pair; a key is a `Gc<T>` or a reference to one.
    pub fn update<A: AsGc<T>>(&self, pairs: impl IntoIterator<Item = (A, V)>) {
        let pairs = pairs.into_iter();
        self.shared.reserve_for(&pairs);
        for (key, value) in pairs {
            self.insert(key, value);
        }
    }

    /// The number of entries (entries known to have dead keys excluded).
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

    /// How many entries the map holds without allocating more memory.
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// Keeps only the entries for which `keep`, given the key and the value to change,
    /// returns `true`, visiting each live entry once, in the order iteration meets them
    /// (`HashMap::retain`).
    ///
    /// ```
    /// use rc_heap::Gc;
    /// use weak_collections::WeakKeyDictionary;
    ///
    /// let hits = WeakKeyDictionary::new();
    /// let (home, about) = (Gc::new("home"), Gc::new("about"));
    /// hits.insert(&home, 3_u32);
    /// hits.insert(&about, 0);
    /// hits.retain(|_, count| {
    ///     *count += 1;
    ///     *count > 1
    /// });
    /// assert_eq!(hits.get(&home), Some(4));
    /// assert!(!hits.contains_key(&about));
    /// ```
    ///
    /// The keys themselves die only after `retain` returns, their `Drop`s free to use the
    /// map. Another object whose last handle `keep` drops dies there and then, while the
    /// map is lent: a `Drop` of it that uses the map panics, and the
    /// panic comes out of `retain`. Keep such handles until `retain` returns.
    ///
    /// # Panics
    /// If `keep` uses the map (it runs while the map lends its entries); the entries it
    /// already removed stay removed.
    pub fn retain(&self, mut keep: impl FnMut(&Gc<T>, &mut V) -> bool) {
        // A key whose other handles `keep` dropped dies when its handle here goes: after the
        // map is no longer lent, since its death may run code that uses the map.
        let mut last = Vec::new();
        self.shared.retain(|watch, slot, (), entry| {
            let Some(key) = watch.upgrade(slot, &entry.weak) else { return true };
            let kept = keep(&key, &mut entry.value);
            if Gc::strong_count(&key) == 1 {
                last.push(key);
            }
            kept
        });
        drop(last);
    }

    /// The live keys. Keys that die meanwhile are skipped; keys added meanwhile may or may
    /// not be met.
    pub fn keys(&self) -> Keys<T, V, M> {
        Keys { cursor: self.shared.cursor(), _mode: PhantomData }
    }

    /// Python's `keyrefs()`: the weak references to the keys.
    pub fn keyrefs(&self) -> Vec<Weak<T>> {
        self.shared.settle();
        self.shared.table().entries().map(|(_, entry)| entry.weak.clone()).collect()
    }
}

impl<T: ?Sized + 'static, V: Clone + 'static, M: KeyMode<T>> WeakKeyDictionary<T, V, M> {
    /// A clone of the value of `key`.
    pub fn get(&self, key: impl AsGc<T>) -> Option<V> {
        self.with_value(key, V::clone)
    }

    /// The value of `key`, after mapping it to `default` if it had none.
    pub fn setdefault(&self, key: impl AsGc<T>, default: V) -> V {
        let key = key.as_gc();
        if let Some(value) = self.get(key) {
            return value;
        }
        self.insert(key, default.clone());
        default
    }

    /// The value of `key`, after mapping it to the value `make` returns if it had none
    /// ([`setdefault`](Self::setdefault) that builds the value only when it is needed).
    /// `make` runs with the map free: it may read or change the map, and the value it
    /// returns is the one stored under `key`.
    ///
    /// ```
    /// use rc_heap::Gc;
    /// use weak_collections::WeakKeyDictionary;
    ///
    /// let sizes = WeakKeyDictionary::new();
    /// let widget = Gc::new("button");
    /// assert_eq!(sizes.get_or_insert_with(&widget, || 40u32), 40);
    /// assert_eq!(sizes.get_or_insert_with(&widget, || unreachable!("the size is known")), 40);
    /// ```
    pub fn get_or_insert_with(&self, key: impl AsGc<T>, make: impl FnOnce() -> V) -> V {
        let key = key.as_gc();
        if let Some(value) = self.get(key) {
            return value;
        }
        let value = make();
        self.insert(key, value.clone());
        value
    }

    /// The entries with live keys, as a list made now (what [`iter`](Self::iter) gives).
    pub fn items(&self) -> Vec<(Gc<T>, V)> {
        self.iter().collect()
    }

    /// Iterates over the entries with live keys, each value cloned as it is met; keys that
    /// die meanwhile are skipped, entries added meanwhile may or may not be met.
    ///
    /// ```
    /// use rc_heap::Gc;
    /// use weak_collections::WeakKeyDictionary;
    ///
    /// let sizes = WeakKeyDictionary::new();
    /// let (button, label) = (Gc::new("button"), Gc::new("label"));
    /// sizes.insert(&button, 40u32);
    /// sizes.insert(&label, 12);
    /// drop(label);
    /// let entries: Vec<(&str, u32)> = sizes.iter().map(|(widget, size)| (*widget, size)).collect();
    /// assert_eq!(entries, [("button", 40)]);
    /// ```
    pub fn iter(&self) -> Items<T, V, M> {
        Items { cursor: self.shared.cursor(), _mode: PhantomData }
    }

    /// The values of live keys.
    pub fn values(&self) -> Vec<V> {
        self.items().into_iter().map(|(_, value)| value).collect()
    }

    /// A new map with the same entries (the values cloned), comparing keys the same way.
    pub fn copy(&self) -> Self {
        let copy = WeakKeyDictionary::with_key_mode();
        copy.update(self.items());
        copy
    }
}

/// An iterator over a [`WeakKeyDictionary`]'s live keys.
pub struct Keys<T: ?Sized + 'static, V: 'static, M: KeyMode<T> = ByIdentity> {
    cursor: Cursor<(), Entry<T, V>>,
    _mode: PhantomData<fn() -> M>,
}

/// Ends for good: once it gives `None`, it always does.
impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>> FusedIterator for Keys<T, V, M> {}

impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>> Iterator for Keys<T, V, M> {
    type Item = Gc<T>;

    /// At most the slots left to look at: entries that die meanwhile are skipped, and ones
    /// added meanwhile past the end are not met.
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.cursor.remaining_slots()))
    }

    #[inline]
    fn next(&mut self) -> Option<Gc<T>> {
        self.cursor.find_map(|watch, slot, _, entry| watch.upgrade(slot, &entry.weak))
    }
}

impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>> fmt::Debug for Keys<T, V, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("weak_collections::key_dict::Keys")
            .field("remaining_slots", &self.cursor.remaining_slots())
            .finish()
    }
}

/// An iterator over a [`WeakKeyDictionary`]'s entries with live keys, the values cloned
/// ([`WeakKeyDictionary::iter`]).
pub struct Items<T: ?Sized + 'static, V: 'static, M: KeyMode<T> = ByIdentity> {
    cursor: Cursor<(), Entry<T, V>>,
    _mode: PhantomData<fn() -> M>,
}

/// Ends for good: once it gives `None`, it always does.
impl<T: ?Sized + 'static, V: Clone + 'static, M: KeyMode<T>> FusedIterator for Items<T, V, M> {}

impl<T: ?Sized + 'static, V: Clone + 'static, M: KeyMode<T>> Iterator for Items<T, V, M> {
    type Item = (Gc<T>, V);

    /// At most the slots left to look at: entries that die meanwhile are skipped, and ones
    /// added meanwhile past the end are not met.
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.cursor.remaining_slots()))
    }

    #[inline]
    fn next(&mut self) -> Option<(Gc<T>, V)> {
        self.cursor.find_map(|watch, slot, _, entry| Some((watch.upgrade(slot, &entry.weak)?, entry.value.clone())))
    }
}

impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>> fmt::Debug for Items<T, V, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("weak_collections::key_dict::Items")
            .field("remaining_slots", &self.cursor.remaining_slots())
            .finish()
    }
}

/// A new map with the same entries, the values cloned ([`copy`](WeakKeyDictionary::copy)):
/// the two are independent from then on.
impl<T: ?Sized + 'static, V: Clone + 'static, M: KeyMode<T>> Clone for WeakKeyDictionary<T, V, M> {
    fn clone(&self) -> Self {
        self.copy()
    }
}

/// Two maps are equal when they have the same live keys (compared as `M` says) with equal
/// values, as Python's mappings compare. An entry whose key is dying (seen from a weak
/// callback or a `Drop` that runs before the map removes it) is left out on both sides, as
/// an iteration leaves it out, though [`len`](WeakKeyDictionary::len) still counts it: a
/// map equals its own copy.
impl<T: ?Sized + 'static, V: PartialEq + 'static, M: KeyMode<T>> PartialEq for WeakKeyDictionary<T, V, M> {
    fn eq(&self, other: &Self) -> bool {
        self.shared.live_len() == other.shared.live_len()
            && self.keys().all(|key| {
                self.with_value(&key, |value| other.with_value(&key, |theirs| value == theirs)) == Some(Some(true))
            })
    }
}

impl<T: ?Sized + 'static, V: Eq + 'static, M: KeyMode<T>> Eq for WeakKeyDictionary<T, V, M> {}

impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>> Default for WeakKeyDictionary<T, V, M> {
    fn default() -> Self {
        WeakKeyDictionary::with_key_mode()
    }
}

impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>, A: AsGc<T>> Extend<(A, V)> for WeakKeyDictionary<T, V, M> {
    fn extend<I: IntoIterator<Item = (A, V)>>(&mut self, pairs: I) {
        self.update(pairs);
    }
}

impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>, A: AsGc<T>> FromIterator<(A, V)> for WeakKeyDictionary<T, V, M> {
    /// A map of the pairs, as [`update`](WeakKeyDictionary::update) makes them (Python's
    /// `WeakKeyDictionary(pairs)`).
    fn from_iter<I: IntoIterator<Item = (A, V)>>(pairs: I) -> Self {
        let map = WeakKeyDictionary::with_key_mode();
        map.update(pairs);
        map
    }
}

/// `for key in &map` (Python's `for key in d`): the live keys, as [`WeakKeyDictionary::keys`].
impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>> IntoIterator for &WeakKeyDictionary<T, V, M> {
    type Item = Gc<T>;
    type IntoIter = Keys<T, V, M>;

    fn into_iter(self) -> Keys<T, V, M> {
        self.keys()
    }
}

/// `&map | pairs` (Python's `d | other`): a new map with this one's live entries, then the
/// pairs (another map's `items()`, a list of pairs), a later key replacing an earlier one.
impl<T, V, M, A, I> std::ops::BitOr<I> for &WeakKeyDictionary<T, V, M>
where
    T: ?Sized + 'static,
    V: Clone + 'static,
    M: KeyMode<T>,
    A: AsGc<T>,
    I: IntoIterator<Item = (A, V)>,
{
    type Output = WeakKeyDictionary<T, V, M>;

    fn bitor(self, pairs: I) -> WeakKeyDictionary<T, V, M> {
        let union = self.copy();
        union.update(pairs);
        union
    }
}

/// `map |= pairs` (Python's `d |= other`): [`update`](WeakKeyDictionary::update).
impl<T, V, M, A, I> std::ops::BitOrAssign<I> for WeakKeyDictionary<T, V, M>
where
    T: ?Sized + 'static,
    V: 'static,
    M: KeyMode<T>,
    A: AsGc<T>,
    I: IntoIterator<Item = (A, V)>,
{
    fn bitor_assign(&mut self, pairs: I) {
        self.update(pairs);
    }
}

impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>> fmt::Debug for WeakKeyDictionary<T, V, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, value, len) =
            (rc_heap::TypeInfo::short_name_of::<T>(), rc_heap::TypeInfo::short_name_of::<V>(), self.len());
        write!(f, "WeakKeyDictionary<{key}, {value}>({len} {})", crate::shared::entries(len))
    }
}
