//! `WeakSet`: a set of objects that does not keep them alive (Python's `weakref.WeakSet`).

use std::fmt;
use std::rc::Rc;

use rc_heap::{Gc, Trace, Weak};

use crate::key_mode::{ByIdentity, ByValue, KeyMode};

use crate::shared::{IterationGuard, Shared};

/// A set of heap objects that does not keep them alive: an object leaves the set when it
/// dies, by reference counting or by the collector. Members compare by identity;
/// [`WeakSet::by_value`] makes them compare by value (`Hash + Eq`), as Python's do.
///
/// The set is shared inside (like a `RefCell`): every method takes `&self`, so a set can
/// live inside a heap object. Iterating is safe while members die, even when the loop body
/// triggers a collection; removals wait until the iteration ends, as in Python.
///
/// ```
/// use rc_heap::Gc;
/// use weak_collections::WeakSet;
///
/// let set = WeakSet::new();
/// let a = Gc::new(1_u32);
/// set.add(&a);
/// assert!(set.contains(&a));
/// drop(a);
/// assert_eq!(set.len(), 0);
/// ```
#[derive(Trace)]
#[trace(crate = rc_heap, bound = "M: KeyMode<T>")]
pub struct WeakSet<T: ?Sized + 'static, M: KeyMode<T> = ByIdentity> {
    shared: Rc<Shared<M::Key, Weak<T>>>,
}

impl<T: ?Sized + 'static> WeakSet<T> {
    /// An empty set whose members compare by identity.
    pub fn new() -> Self {
        WeakSet::with_key_mode()
    }
}

impl<T: ?Sized + 'static + std::hash::Hash + Eq> WeakSet<T, ByValue> {
    /// An empty set whose members compare by value: adding an object equal to a member
    /// adds nothing.
    pub fn by_value() -> Self {
        WeakSet::with_key_mode()
    }
}

impl<T: ?Sized + 'static, M: KeyMode<T>> WeakSet<T, M> {
    /// An empty set comparing members as `M` says.
    pub fn with_key_mode() -> Self {
        WeakSet { shared: Shared::new() }
    }

    /// Adds `item`; returns whether it was not already there.
    pub fn add(&self, item: &Gc<T>) -> bool {
        if self.shared.entries.borrow().contains_key(&M::probe(item)) {
            return false;
        }
        let seed = M::seed(item);
        let shared = Rc::downgrade(&self.shared);
        let callback_seed = seed.clone();
        let weak = Gc::downgrade_with_callback(item, move |dead| {
            if let Some(shared) = shared.upgrade() {
                shared.remove_dead(M::key(&callback_seed, &dead), Weak::is_dead);
            }
        });
        let key = M::key(&seed, &weak);
        let old = self.shared.entries.borrow_mut().insert(key, weak);
        drop(old);
        true
    }

    /// Removes `item`; returns whether it was there (Python's `remove` raises otherwise).
    pub fn remove(&self, item: &Gc<T>) -> bool {
        let probe = M::probe(item);
        let removed = self.shared.entries.borrow_mut().remove(&probe);
        removed.is_some()
    }

    /// Removes `item` if it is there.
    pub fn discard(&self, item: &Gc<T>) {
        self.remove(item);
    }

    /// Whether `item` is in the set.
    pub fn contains(&self, item: &Gc<T>) -> bool {
        let probe = M::probe(item);
        self.shared.entries.borrow().get(&probe).is_some_and(|weak| !weak.is_dead())
    }

    /// The number of members (removals deferred by a running iteration excluded).
    pub fn len(&self) -> usize {
        self.shared.live_len(Weak::is_dead)
    }

    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every member.
    pub fn clear(&self) {
        self.shared.clear();
    }

    /// Removes and returns some live member.
    pub fn pop(&self) -> Option<Gc<T>> {
        loop {
            let (id, weak) = {
                let entries = self.shared.entries.borrow();
                let (id, weak) = entries.iter().next()?;
                (id.clone(), weak.clone())
            };
            let removed = self.shared.entries.borrow_mut().remove(&id);
            drop(removed);
            if let Some(item) = weak.upgrade() {
                return Some(item);
            }
        }
    }

    /// Iterates over the live members. Members that die meanwhile are skipped; removals
    /// wait until the iterator is dropped.
    pub fn iter(&self) -> Iter<T, M> {
        let guard = self.shared.guard(Weak::is_dead);
        let snapshot: Vec<Weak<T>> = self.shared.entries.borrow().values().cloned().collect();
        Iter { snapshot: snapshot.into_iter(), _guard: guard }
    }

    /// A new set with the same members.
    pub fn copy(&self) -> Self {
        self.iter().collect()
    }

    /// Adds every item.
    pub fn update<'a>(&self, items: impl IntoIterator<Item = &'a Gc<T>>) {
        for item in items {
            self.add(item);
        }
    }

    /// Members of either set (`a | b`).
    pub fn union(&self, other: &WeakSet<T, M>) -> WeakSet<T, M> {
        let result = self.copy();
        result.update(&other.iter().collect::<Vec<_>>());
        result
    }

    /// Members of both sets (`a & b`).
    pub fn intersection(&self, other: &WeakSet<T, M>) -> WeakSet<T, M> {
        self.iter().filter(|item| other.contains(item)).collect()
    }

    /// Members of `self` not in `other` (`a - b`).
    pub fn difference(&self, other: &WeakSet<T, M>) -> WeakSet<T, M> {
        self.iter().filter(|item| !other.contains(item)).collect()
    }

    /// Members of exactly one of the sets (`a ^ b`).
    pub fn symmetric_difference(&self, other: &WeakSet<T, M>) -> WeakSet<T, M> {
        let result = self.difference(other);
        result.update(&other.difference(self).iter().collect::<Vec<_>>());
        result
    }

    /// Removes the members of `other`.
    pub fn difference_update(&self, other: &WeakSet<T, M>) {
        for item in other.iter() {
            self.discard(&item);
        }
    }

    /// Keeps only the members also in `other`.
    pub fn intersection_update(&self, other: &WeakSet<T, M>) {
        for item in self.iter().collect::<Vec<_>>() {
            if !other.contains(&item) {
                self.discard(&item);
            }
        }
    }

    /// Keeps the members of exactly one of the sets.
    pub fn symmetric_difference_update(&self, other: &WeakSet<T, M>) {
        for item in other.iter().collect::<Vec<_>>() {
            if !self.remove(&item) {
                self.add(&item);
            }
        }
    }

    /// Whether every member is in `other` (`a <= b`).
    pub fn is_subset(&self, other: &WeakSet<T, M>) -> bool {
        self.iter().all(|item| other.contains(&item))
    }

    /// Whether every member of `other` is in `self` (`a >= b`).
    pub fn is_superset(&self, other: &WeakSet<T, M>) -> bool {
        other.is_subset(self)
    }

    /// Whether the sets have no member in common.
    pub fn is_disjoint(&self, other: &WeakSet<T, M>) -> bool {
        !self.iter().any(|item| other.contains(&item))
    }
}

/// An iterator over a [`WeakSet`]'s live members.
pub struct Iter<T: ?Sized + 'static, M: KeyMode<T> = ByIdentity> {
    snapshot: std::vec::IntoIter<Weak<T>>,
    _guard: IterationGuard<M::Key, Weak<T>>,
}

impl<T: ?Sized + 'static, M: KeyMode<T>> Iterator for Iter<T, M> {
    type Item = Gc<T>;

    fn next(&mut self) -> Option<Gc<T>> {
        self.snapshot.by_ref().find_map(|weak| weak.upgrade())
    }
}

impl<T: ?Sized + 'static, M: KeyMode<T>> fmt::Debug for Iter<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("weak_collections::set::Iter").field("remaining", &self.snapshot.len()).finish()
    }
}

impl<T: ?Sized + 'static, M: KeyMode<T>> Default for WeakSet<T, M> {
    fn default() -> Self {
        WeakSet::with_key_mode()
    }
}

impl<T: ?Sized + 'static, M: KeyMode<T>> PartialEq for WeakSet<T, M> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.is_subset(other)
    }
}

impl<T: ?Sized + 'static, M: KeyMode<T>> FromIterator<Gc<T>> for WeakSet<T, M> {
    fn from_iter<I: IntoIterator<Item = Gc<T>>>(items: I) -> Self {
        let set = WeakSet::with_key_mode();
        for item in items {
            set.add(&item);
        }
        set
    }
}

impl<'a, T: ?Sized + 'static, M: KeyMode<T>> Extend<&'a Gc<T>> for WeakSet<T, M> {
    fn extend<I: IntoIterator<Item = &'a Gc<T>>>(&mut self, items: I) {
        self.update(items);
    }
}

impl<T: ?Sized + 'static, M: KeyMode<T>> fmt::Debug for WeakSet<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeakSet<{}>({} live)", rc_heap::TypeInfo::short_name_of::<T>(), self.len())
    }
}
