//! What every weak container shares: its entries, and the removals deferred while it is
//! being iterated (Python's `_IterationGuard` and `_pending_removals`).
//!
//! Entries are removed by weak-reference callbacks when their object dies, which can happen
//! at almost any moment: inside a `Drop`, a collection, or the body of a loop over the
//! container. No `RefCell` borrow is ever held while a handle or a value is dropped, so a
//! callback always finds the container free; while an iteration is running, removals are
//! queued and applied when the last iteration ends.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::Hash;
use std::rc::Rc;

use rc_heap::Trace;

/// Traced through the container's `Rc` while the container is its only owner (always,
/// except while an iteration or a callback briefly holds it): the keys and entries, with
/// their weak references and, in a weak-keyed map, the strongly held values.
#[derive(Trace)]
#[trace(crate = rc_heap)]
pub(crate) struct Shared<K, E> {
    pub(crate) entries: RefCell<HashMap<K, E>>,
    pending: RefCell<Vec<K>>,
    iterating: Cell<usize>,
}

impl<K: Eq + Hash + Clone, E> Shared<K, E> {
    pub(crate) fn new() -> Rc<Self> {
        Rc::new(Shared {
            entries: RefCell::new(HashMap::new()),
            pending: RefCell::new(Vec::new()),
            iterating: Cell::new(0),
        })
    }

    /// A callback's removal of `key`, if `is_dead` still says its entry is dead (a new
    /// entry may have replaced it). Deferred while iterating.
    pub(crate) fn remove_dead(&self, key: K, is_dead: impl Fn(&E) -> bool) {
        if self.iterating.get() > 0 {
            self.pending.borrow_mut().push(key);
            return;
        }
        let removed = match self.entries.try_borrow_mut() {
            Ok(mut entries) => match entries.get(&key) {
                Some(entry) if is_dead(entry) => entries.remove(&key),
                _ => None,
            },
            Err(_) => {
                self.pending.borrow_mut().push(key);
                None
            }
        };
        drop(removed);
    }

    /// Applies the deferred removals whose entries are still dead.
    pub(crate) fn commit_removals(&self, is_dead: impl Fn(&E) -> bool) {
        if self.iterating.get() > 0 {
            return;
        }
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        let mut removed = Vec::new();
        if let Ok(mut entries) = self.entries.try_borrow_mut() {
            for key in pending {
                if entries.get(&key).is_some_and(&is_dead) {
                    removed.extend(entries.remove(&key));
                }
            }
        }
        drop(removed);
    }

    /// Entries minus the removals waiting for an iteration to end (Python's `len`).
    pub(crate) fn len(&self) -> usize {
        self.entries.borrow().len().saturating_sub(self.pending.borrow().len())
    }

    /// The number of live entries: dead ones are removed first, unless an iteration runs
    /// (then they are only left out of the count).
    pub(crate) fn live_len(&self, is_dead: impl Fn(&E) -> bool) -> usize {
        self.commit_removals(is_dead);
        self.len()
    }

    /// Removes every entry. The entries are dropped after the borrow ends: dropping them
    /// may run code that looks at the container.
    pub(crate) fn clear(&self) {
        let old = std::mem::take(&mut *self.entries.borrow_mut());
        drop(old);
    }

    /// Marks an iteration as running until the guard drops.
    pub(crate) fn guard(self: &Rc<Self>, is_dead: fn(&E) -> bool) -> IterationGuard<K, E> {
        self.iterating.set(self.iterating.get() + 1);
        IterationGuard { shared: self.clone(), is_dead }
    }
}

/// Keeps removals deferred while an iterator is alive.
pub(crate) struct IterationGuard<K: Eq + Hash + Clone, E> {
    shared: Rc<Shared<K, E>>,
    is_dead: fn(&E) -> bool,
}

impl<K: Eq + Hash + Clone, E> Drop for IterationGuard<K, E> {
    fn drop(&mut self) {
        self.shared.iterating.set(self.shared.iterating.get() - 1);
        self.shared.commit_removals(self.is_dead);
    }
}
