//! `WeakKeyDictionary`: a map whose keys do not stay alive for it.

use std::fmt;
use std::rc::Rc;

use rc_heap::{Gc, Trace, Weak};

use crate::key_mode::{ByIdentity, ByValue, KeyMode};

use crate::shared::{IterationGuard, Shared};

/// A map from heap objects to values that does not keep the keys alive (Python's
/// `weakref.WeakKeyDictionary`): an entry goes when its key dies. Typical use: data attached
/// to objects owned elsewhere. Keys compare by identity; [`WeakKeyDictionary::by_value`]
/// makes them compare by value (`Hash + Eq`), as Python's do.
///
/// Shared inside: every method takes `&self`, and values are handed out by clone or
/// through a closure. Iteration is safe while keys die; removals wait until it ends.
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
    shared: Rc<Shared<M::Key, Entry<T, V>>>,
}

/// An entry: the key's weak reference and the value.
type Entry<T, V> = (Weak<T>, V);

fn key_is_dead<T: ?Sized + 'static, V>(entry: &(Weak<T>, V)) -> bool {
    entry.0.is_dead()
}

impl<T: ?Sized + 'static, V: 'static> WeakKeyDictionary<T, V> {
    /// An empty map whose keys compare by identity.
    pub fn new() -> Self {
        WeakKeyDictionary::with_key_mode()
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
        WeakKeyDictionary { shared: Shared::new() }
    }

    /// Maps `key` to `value`; returns the value it replaced.
    pub fn insert(&self, key: &Gc<T>, value: V) -> Option<V> {
        let mut entries = self.shared.entries.borrow_mut();
        if let Some(entry) = entries.get_mut(&M::probe(key)) {
            return Some(std::mem::replace(&mut entry.1, value));
        }
        drop(entries);
        let seed = M::seed(key);
        let callback_seed = seed.clone();
        let shared = Rc::downgrade(&self.shared);
        let weak = Gc::downgrade_with_callback(key, move |dead| {
            if let Some(shared) = shared.upgrade() {
                shared.remove_dead(M::key(&callback_seed, &dead), key_is_dead::<T, V>);
            }
        });
        let stored = M::key(&seed, &weak);
        self.shared.entries.borrow_mut().insert(stored, (weak, value));
        None
    }

    /// Whether `key` is in the map.
    pub fn contains_key(&self, key: &Gc<T>) -> bool {
        self.shared.entries.borrow().contains_key(&M::probe(key))
    }

    /// Runs `f` on the value of `key`.
    pub fn with_value<R>(&self, key: &Gc<T>, f: impl FnOnce(&V) -> R) -> Option<R> {
        let entries = self.shared.entries.borrow();
        entries.get(&M::probe(key)).map(|(_, value)| f(value))
    }

    /// Removes `key`; returns its value (Python's `pop`).
    pub fn remove(&self, key: &Gc<T>) -> Option<V> {
        let probe = M::probe(key);
        let removed = self.shared.entries.borrow_mut().remove(&probe);
        removed.map(|(_, value)| value)
    }

    /// Python's `pop(key)`: the same as [`remove`](Self::remove).
    pub fn pop(&self, key: &Gc<T>) -> Option<V> {
        self.remove(key)
    }

    /// Removes and returns some entry whose key is alive.
    pub fn popitem(&self) -> Option<(Gc<T>, V)> {
        loop {
            let id = self.shared.entries.borrow().keys().next()?.clone();
            let removed = self.shared.entries.borrow_mut().remove(&id);
            if let Some((key, value)) = removed.and_then(|(weak, value)| Some((weak.upgrade()?, value))) {
                return Some((key, value));
            }
        }
    }

    /// Inserts every pair.
    pub fn update<'a>(&self, pairs: impl IntoIterator<Item = (&'a Gc<T>, V)>) {
        for (key, value) in pairs {
            self.insert(key, value);
        }
    }

    /// The number of entries (removals deferred by a running iteration excluded).
    pub fn len(&self) -> usize {
        self.shared.live_len(key_is_dead::<T, V>)
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.shared.clear();
    }

    /// The live keys. Keys that die meanwhile are skipped; removals wait until the
    /// iterator is dropped.
    pub fn keys(&self) -> Keys<T, V, M> {
        let guard = self.shared.guard(key_is_dead::<T, V>);
        let snapshot: Vec<Weak<T>> = self.shared.entries.borrow().values().map(|(weak, _)| weak.clone()).collect();
        Keys { snapshot: snapshot.into_iter(), _guard: guard }
    }

    /// Python's `keyrefs()`: the weak references to the keys.
    pub fn keyrefs(&self) -> Vec<Weak<T>> {
        self.shared.entries.borrow().values().map(|(weak, _)| weak.clone()).collect()
    }
}

impl<T: ?Sized + 'static, V: Clone + 'static, M: KeyMode<T>> WeakKeyDictionary<T, V, M> {
    /// A clone of the value of `key`.
    pub fn get(&self, key: &Gc<T>) -> Option<V> {
        self.with_value(key, V::clone)
    }

    /// The value of `key`, after mapping it to `default` if it had none.
    pub fn setdefault(&self, key: &Gc<T>, default: V) -> V {
        if let Some(value) = self.get(key) {
            return value;
        }
        self.insert(key, default.clone());
        default
    }

    /// The entries with live keys.
    pub fn items(&self) -> Vec<(Gc<T>, V)> {
        let _guard = self.shared.guard(key_is_dead::<T, V>);
        let snapshot: Vec<(Weak<T>, V)> = self.shared.entries.borrow().values().cloned().collect();
        snapshot.into_iter().filter_map(|(weak, value)| Some((weak.upgrade()?, value))).collect()
    }

    /// The values of live keys.
    pub fn values(&self) -> Vec<V> {
        self.items().into_iter().map(|(_, value)| value).collect()
    }
}

/// An iterator over a [`WeakKeyDictionary`]'s live keys.
pub struct Keys<T: ?Sized + 'static, V: 'static, M: KeyMode<T> = ByIdentity> {
    snapshot: std::vec::IntoIter<Weak<T>>,
    _guard: IterationGuard<M::Key, (Weak<T>, V)>,
}

impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>> Iterator for Keys<T, V, M> {
    type Item = Gc<T>;

    fn next(&mut self) -> Option<Gc<T>> {
        self.snapshot.by_ref().find_map(|weak| weak.upgrade())
    }
}

impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>> fmt::Debug for Keys<T, V, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("weak_collections::key_dict::Keys").field("remaining", &self.snapshot.len()).finish()
    }
}

impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>> Default for WeakKeyDictionary<T, V, M> {
    fn default() -> Self {
        WeakKeyDictionary::with_key_mode()
    }
}

impl<'a, T: ?Sized + 'static, V: 'static, M: KeyMode<T>> Extend<(&'a Gc<T>, V)> for WeakKeyDictionary<T, V, M> {
    fn extend<I: IntoIterator<Item = (&'a Gc<T>, V)>>(&mut self, pairs: I) {
        self.update(pairs);
    }
}

impl<T: ?Sized + 'static, V: 'static, M: KeyMode<T>> fmt::Debug for WeakKeyDictionary<T, V, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeakKeyDictionary<{}>({} entries)", rc_heap::TypeInfo::short_name_of::<T>(), self.len())
    }
}
