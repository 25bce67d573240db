//! [`WeakSet`]: a set of objects that does not keep them alive (Python's `weakref.WeakSet`),
//! and its iterator ([`Iter`]).

use std::fmt;
use std::iter::FusedIterator;
use std::marker::PhantomData;
use std::rc::Rc;

use rc_heap::{Gc, Trace, Weak};

use crate::key_mode::{ByIdentity, ByValue, KeyMode};

use crate::as_gc::AsGc;
use crate::shared::{Cursor, Shared, Table};

/// A set of heap objects that does not keep them alive: an object leaves the set when it
/// dies, by reference counting or by the collector. Members compare by identity;
/// [`WeakSet::by_value`] makes them compare by value (`Hash + Eq`), as Python's do.
///
/// The set is shared inside (like a `RefCell`): every method takes `&self`, so a set can
/// live inside a heap object. Iterating is safe while members die, even when the loop body
/// triggers a collection; dead members are skipped, and removed at the set's next operation
/// that changes or counts its members.
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
    #[trace(flatten)]
    shared: Rc<Shared<(), Weak<T>>>,
    /// How keys compare; the entries hold no key.
    #[trace(skip)]
    _mode: PhantomData<fn() -> M>,
}

impl<T: ?Sized + 'static> WeakSet<T> {
    /// An empty set whose members compare by identity.
    pub fn new() -> Self {
        WeakSet::with_key_mode()
    }

    /// An empty set, by identity, with room for `capacity` members: adding as many
    /// allocates nothing for the set (`HashSet::with_capacity`).
    pub fn with_capacity(capacity: usize) -> Self {
        let set = WeakSet::new();
        set.reserve(capacity);
        set
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
        WeakSet { shared: Shared::new(M::INDEXED, "WeakSet", true), _mode: PhantomData }
    }

    /// The slot of `item`'s live entry, or what to add it under ([`Table::find_key`]).
    fn find(&self, table: &Table<(), Weak<T>>, item: &Gc<T>) -> Result<usize, Option<u32>> {
        table.find_key::<T, M>(item, self.shared.watch(), |weak| weak)
    }

    /// The slot of `item`'s live entry.
    fn live_slot(&self, table: &Table<(), Weak<T>>, item: &Gc<T>) -> Option<usize> {
        self.find(table, item).ok()
    }

    /// Adds `item` (a `Gc<T>` or a reference to one); returns whether it was not already
    /// there (`HashSet::insert`).
    #[doc(alias = "insert")]
    pub fn add(&self, item: impl AsGc<T>) -> bool {
        let item = item.as_gc();
        self.shared.settle();
        let watch = self.shared.watch();
        // A by-value member's `Hash` and `Eq` run under a shared borrow, so that they may
        // read the set.
        let Err(hash) = self.find(&self.shared.table(), item) else {
            return false;
        };
        self.shared.table_mut().push_key(hash, |slot| Gc::downgrade_watched(item, watch, slot));
        true
    }

    /// Removes `item`; returns whether it was there (Python's `remove` raises otherwise).
    pub fn remove(&self, item: impl AsGc<T>) -> bool {
        let item = item.as_gc();
        self.shared.settle();
        let Some(slot) = self.live_slot(&self.shared.table(), item) else {
            return false;
        };
        let removed = self.shared.table_mut().take(slot);
        drop(removed);
        true
    }

    /// Removes `item` if it is there.
    pub fn discard(&self, item: impl AsGc<T>) {
        self.remove(item);
    }

    /// Whether `item` is in the set.
    pub fn contains(&self, item: impl AsGc<T>) -> bool {
        self.live_slot(&self.shared.table(), item.as_gc()).is_some()
    }

    /// The number of members (members known to be dead excluded).
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every member.
    pub fn clear(&self) {
        self.shared.clear();
    }

    /// Gives back the memory the live entries do not need. A set keeps the room its
    /// entries took after they die or are removed, as a `HashMap` keeps its capacity, so
    /// that it fills again without growing; after a peak it will not see again (a cache
    /// emptied by a burst of deaths), this returns that room to the allocator.
    pub fn shrink_to_fit(&self) {
        self.shared.shrink_to_fit();
    }

    /// Makes room for at least `additional` more members than the set has, so that adding
    /// them allocates nothing for the set (`HashSet::reserve`). Members found dead are
    /// removed first, as any change does.
    ///
    /// ```
    /// use rc_heap::Gc;
    /// use weak_collections::WeakSet;
    ///
    /// let listeners: Vec<Gc<u32>> = (0..1000).map(Gc::new).collect();
    /// let set = WeakSet::new();
    /// set.reserve(listeners.len());
    /// let room = set.capacity();
    /// assert!(room >= 1000);
    /// set.update(&listeners);
    /// assert_eq!(set.capacity(), room);
    /// ```
    ///
    /// # Panics
    ///
    /// If the new capacity overflows `usize` or the allocator fails, as `HashSet::reserve`.
    pub fn reserve(&self, additional: usize) {
        self.shared.reserve(additional);
    }

    /// How many entries the set holds without allocating more memory.
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// Keeps only the members for which `keep` returns `true`, visiting each live member
    /// once, in the order iteration meets them (`HashSet::retain`).
    ///
    /// ```
    /// use rc_heap::Gc;
    /// use weak_collections::WeakSet;
    ///
    /// let sizes = [Gc::new(3), Gc::new(14), Gc::new(15)];
    /// let small: WeakSet<i32> = sizes.iter().collect();
    /// small.retain(|size| **size < 10);
    /// assert_eq!(small.iter().map(|size| *size).collect::<Vec<_>>(), [3]);
    /// ```
    ///
    /// The members themselves die only after `retain` returns, their `Drop`s free to use the
    /// set. Another object whose last handle `keep` drops dies there and then, while the
    /// set is lent: a `Drop` of it that uses the set panics, and the
    /// panic comes out of `retain`. Keep such handles until `retain` returns.
    ///
    /// # Panics
    /// If `keep` uses the set (it runs while the set lends its entries); the members it
    /// already removed stay removed.
    pub fn retain(&self, mut keep: impl FnMut(&Gc<T>) -> bool) {
        // A member whose other handles `keep` dropped dies when its handle here goes: after
        // the set is no longer lent, since its death may run code that uses the set.
        let mut last = Vec::new();
        self.shared.retain(|watch, slot, (), weak| {
            let Some(item) = watch.upgrade(slot, weak) else { return true };
            let kept = keep(&item);
            if Gc::strong_count(&item) == 1 {
                last.push(item);
            }
            kept
        });
        drop(last);
    }

    /// Removes and returns some live member.
    pub fn pop(&self) -> Option<Gc<T>> {
        self.shared.settle();
        loop {
            let removed = {
                let mut table = self.shared.table_mut();
                let slot = table.any_slot()?;
                table.take(slot)
            };
            if let Some(item) = removed.1.upgrade() {
                return Some(item);
            }
        }
    }

    /// Iterates over the live members. Members that die meanwhile are skipped; members
    /// added meanwhile may or may not be met, and a member removed and added again
    /// meanwhile may be met twice or not at all (CPython raises `RuntimeError` for a set
    /// changed during its iteration; collect the members first to change the set safely).
    pub fn iter(&self) -> Iter<T, M> {
        Iter { cursor: self.shared.cursor(), _mode: PhantomData }
    }

    /// A new set with the same members.
    pub fn copy(&self) -> Self {
        self.iter().collect()
    }

    /// Adds every item (`Gc<T>`s or references to them).
    pub fn update<I: IntoIterator<Item: AsGc<T>>>(&self, items: I) {
        let items = items.into_iter();
        self.shared.reserve_for(&items);
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

    /// Members of both sets (`a & b`). Of two members equal by value, the result holds
    /// `other`'s, as Python's `WeakSet.intersection` does.
    pub fn intersection(&self, other: &WeakSet<T, M>) -> WeakSet<T, M> {
        other.iter().filter(|item| self.contains(item)).collect()
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

    /// Keeps only the members also in `other`. Of two members equal by value, the set then
    /// holds `other`'s, as Python's `&=` does.
    pub fn intersection_update(&self, other: &WeakSet<T, M>) {
        if M::INDEXED {
            let kept: Vec<Gc<T>> = other.iter().filter(|item| self.contains(item)).collect();
            self.clear();
            self.update(&kept);
            return;
        }
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
    cursor: Cursor<(), Weak<T>>,
    _mode: PhantomData<fn() -> M>,
}

/// Ends for good: once it gives `None`, it always does.
impl<T: ?Sized + 'static, M: KeyMode<T>> FusedIterator for Iter<T, M> {}

impl<T: ?Sized + 'static, M: KeyMode<T>> Iterator for Iter<T, M> {
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

impl<T: ?Sized + 'static, M: KeyMode<T>> fmt::Debug for Iter<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("weak_collections::set::Iter").field("remaining_slots", &self.cursor.remaining_slots()).finish()
    }
}

/// `for member in &set` (Python's `for member in s`): the live members, as [`WeakSet::iter`].
impl<T: ?Sized + 'static, M: KeyMode<T>> IntoIterator for &WeakSet<T, M> {
    type Item = Gc<T>;
    type IntoIter = Iter<T, M>;

    fn into_iter(self) -> Iter<T, M> {
        self.iter()
    }
}

/// A new set with the same members ([`copy`](WeakSet::copy)), as cloning a `RefCell<HashSet>`
/// copies the set: the two are independent from then on.
impl<T: ?Sized + 'static, M: KeyMode<T>> Clone for WeakSet<T, M> {
    fn clone(&self) -> Self {
        self.copy()
    }
}

impl<T: ?Sized + 'static, M: KeyMode<T>> Default for WeakSet<T, M> {
    fn default() -> Self {
        WeakSet::with_key_mode()
    }
}

/// Two sets are equal when they have the same live members (compared as `M` says). A member
/// that is dying (seen from a weak callback or a `Drop` that runs before the set removes it)
/// is left out on both sides, as an iteration leaves it out, though
/// [`len`](WeakSet::len) still counts it: a set equals its own copy.
impl<T: ?Sized + 'static, M: KeyMode<T>> PartialEq for WeakSet<T, M> {
    fn eq(&self, other: &Self) -> bool {
        self.shared.live_len() == other.shared.live_len() && self.is_subset(other)
    }
}

/// Members compare by their key mode's [`same`](KeyMode::same): identity, or `T`'s `Eq` for
/// [`ByValue`], an equivalence either way (a key mode of one's own should be one too).
impl<T: ?Sized + 'static, M: KeyMode<T>> Eq for WeakSet<T, M> {}

impl<T: ?Sized + 'static, M: KeyMode<T>, A: AsGc<T>> FromIterator<A> for WeakSet<T, M> {
    fn from_iter<I: IntoIterator<Item = A>>(items: I) -> Self {
        let set = WeakSet::with_key_mode();
        set.update(items);
        set
    }
}

impl<T: ?Sized + 'static, M: KeyMode<T>, A: AsGc<T>> Extend<A> for WeakSet<T, M> {
    fn extend<I: IntoIterator<Item = A>>(&mut self, items: I) {
        self.update(items);
    }
}

/// `&a | &b` (Python's `a | b`): [`union`](WeakSet::union).
impl<T: ?Sized + 'static, M: KeyMode<T>> std::ops::BitOr<&WeakSet<T, M>> for &WeakSet<T, M> {
    type Output = WeakSet<T, M>;

    fn bitor(self, other: &WeakSet<T, M>) -> WeakSet<T, M> {
        self.union(other)
    }
}

/// `a |= &b` (Python's `a |= b`): adds `b`'s live members.
impl<T: ?Sized + 'static, M: KeyMode<T>> std::ops::BitOrAssign<&WeakSet<T, M>> for WeakSet<T, M> {
    fn bitor_assign(&mut self, other: &WeakSet<T, M>) {
        self.update(&other.iter().collect::<Vec<_>>());
    }
}

/// `&a & &b` (Python's `a & b`): [`intersection`](WeakSet::intersection).
impl<T: ?Sized + 'static, M: KeyMode<T>> std::ops::BitAnd<&WeakSet<T, M>> for &WeakSet<T, M> {
    type Output = WeakSet<T, M>;

    fn bitand(self, other: &WeakSet<T, M>) -> WeakSet<T, M> {
        self.intersection(other)
    }
}

/// `a &= &b` (Python's `a &= b`): [`intersection_update`](WeakSet::intersection_update).
impl<T: ?Sized + 'static, M: KeyMode<T>> std::ops::BitAndAssign<&WeakSet<T, M>> for WeakSet<T, M> {
    fn bitand_assign(&mut self, other: &WeakSet<T, M>) {
        self.intersection_update(other);
    }
}

/// `&a - &b` (Python's `a - b`): [`difference`](WeakSet::difference).
impl<T: ?Sized + 'static, M: KeyMode<T>> std::ops::Sub<&WeakSet<T, M>> for &WeakSet<T, M> {
    type Output = WeakSet<T, M>;

    fn sub(self, other: &WeakSet<T, M>) -> WeakSet<T, M> {
        self.difference(other)
    }
}

/// `a -= &b` (Python's `a -= b`): [`difference_update`](WeakSet::difference_update).
impl<T: ?Sized + 'static, M: KeyMode<T>> std::ops::SubAssign<&WeakSet<T, M>> for WeakSet<T, M> {
    fn sub_assign(&mut self, other: &WeakSet<T, M>) {
        self.difference_update(other);
    }
}

/// `&a ^ &b` (Python's `a ^ b`): [`symmetric_difference`](WeakSet::symmetric_difference).
impl<T: ?Sized + 'static, M: KeyMode<T>> std::ops::BitXor<&WeakSet<T, M>> for &WeakSet<T, M> {
    type Output = WeakSet<T, M>;

    fn bitxor(self, other: &WeakSet<T, M>) -> WeakSet<T, M> {
        self.symmetric_difference(other)
    }
}

/// `a ^= &b` (Python's `a ^= b`): [`symmetric_difference_update`](WeakSet::symmetric_difference_update).
impl<T: ?Sized + 'static, M: KeyMode<T>> std::ops::BitXorAssign<&WeakSet<T, M>> for WeakSet<T, M> {
    fn bitxor_assign(&mut self, other: &WeakSet<T, M>) {
        self.symmetric_difference_update(other);
    }
}

impl<T: ?Sized + 'static, M: KeyMode<T>> fmt::Debug for WeakSet<T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeakSet<{}>({} live)", rc_heap::TypeInfo::short_name_of::<T>(), self.len())
    }
}
