//! What an object keeps beside it, as plain data: its side entry (its weak references and its
//! id) and the word through which a weak reference points at it.
//!
//! CPython keeps an object's weak references in the object (`tp_weaklist`); our header has
//! no spare word (a leaf's is as small as `Rc`'s), so they live beside the object: in an
//! array its pool keeps, one entry per block, or, for an object too large for the pools, in
//! the heap's side table (`heap.rs` chooses). The types are defined here, below the layers
//! that store and trace them; `weak.rs` gives them their behaviour.

use std::cell::Cell;
use std::ptr::NonNull;

use crate::header::ObjHeader;
use crate::object_id::IdKey;

/// The word of a weak reference that names its object: the object's header, null once the
/// object has died, with [`WeakTarget::BASIC`], [`WeakTarget::OWNER_UNREACHABLE`] and
/// [`WeakTarget::NEVER`] in its low bits (headers are aligned to 8). A tagged pointer, so
/// that it keeps the header's provenance.
///
/// The flags say which kind of slot the word starts, and stay when the word is cleared:
/// `BASIC` alone, a bare slot (`WeakSlot`); `BASIC | OWNER_UNREACHABLE`, a deferred
/// watcher's slot (`WatchedSlot`: a slot without a callback has no owner to mark, so the
/// bit is free there); no `BASIC`, a slot with a callback (`CallbackSlot`), whose
/// `OWNER_UNREACHABLE` is the collector's mark.
///
/// It is the first field of a weak reference's slot (`weak::WeakSlot`), so that a pointer
/// to the slot, cast, is a pointer to its target word and back ([`WeakList`] keeps such
/// pointers).
pub(crate) struct WeakTarget(Cell<*mut ObjHeader>);

impl WeakTarget {
    /// The weak reference was made without a callback: it is the one every plain `downgrade`
    /// of its object shares.
    pub(crate) const BASIC: usize = 1;
    /// The collector found the weak reference's owner unreachable: its callback must not run.
    pub(crate) const OWNER_UNREACHABLE: usize = 2;
    /// The weak reference never had an object (`Weak::new`): all such are equal, as
    /// `std::rc::Weak::new()`s are.
    pub(crate) const NEVER: usize = 4;
    const FLAGS: usize = 7;

    /// A target word naming `target` (or nothing), with `flags`.
    pub(crate) fn new(target: Option<NonNull<ObjHeader>>, flags: usize) -> WeakTarget {
        debug_assert_eq!(flags & !Self::FLAGS, 0);
        let word = match target {
            Some(header) => {
                debug_assert_eq!(header.as_ptr().addr() & Self::FLAGS, 0, "headers are aligned to 8");
                header.as_ptr().map_addr(|addr| addr | flags)
            }
            None => std::ptr::without_provenance_mut(flags),
        };
        WeakTarget(Cell::new(word))
    }

    /// Whether the word names no object and has exactly `flags`: one test for a slot's kind
    /// and its death together.
    #[inline]
    pub(crate) fn is_cleared_with(&self, flags: usize) -> bool {
        self.0.get().addr() == flags
    }

    /// The object, while it is alive.
    #[inline]
    pub(crate) fn get(&self) -> Option<NonNull<ObjHeader>> {
        NonNull::new(self.0.get().map_addr(|addr| addr & !Self::FLAGS))
    }

    #[inline]
    pub(crate) fn has(&self, flag: usize) -> bool {
        self.0.get().addr() & flag != 0
    }

    /// Makes the word read dead, keeping its flags.
    pub(crate) fn clear(&self) {
        self.0.set(std::ptr::without_provenance_mut(self.0.get().addr() & Self::FLAGS));
    }

    /// Marks a slot with a callback as owned by garbage; a slot without one has no callback
    /// the mark could stop (and its `OWNER_UNREACHABLE` bit says its kind), so it is left.
    pub(crate) fn mark_owner_unreachable(&self) {
        if !self.has(Self::BASIC) {
            self.0.set(self.0.get().map_addr(|addr| addr | Self::OWNER_UNREACHABLE));
        }
    }

    pub(crate) fn unmark_owner_unreachable(&self) {
        if !self.has(Self::BASIC) {
            self.0.set(self.0.get().map_addr(|addr| addr & !Self::OWNER_UNREACHABLE));
        }
    }
}

/// The weak references of one object: its shared slot without a callback, and its newest
/// slot with one (from which the older ones are linked through the slots). Each is a
/// pointer to a slot's [`WeakTarget`], null for none. The shared slot is the object's
/// first weak reference without a callback: a plain one (`Gc::downgrade`), or one
/// reporting to a deferred watcher (a weak container's entry), which later plain
/// downgrades share.
#[derive(Clone, Copy)]
pub(crate) struct WeakList {
    pub(crate) basic: *const WeakTarget,
    pub(crate) newest: *const WeakTarget,
}

impl Default for WeakList {
    fn default() -> Self {
        WeakList { basic: std::ptr::null(), newest: std::ptr::null() }
    }
}

impl WeakList {
    pub(crate) fn is_empty(&self) -> bool {
        self.basic.is_null() && self.newest.is_null()
    }
}

/// What an object keeps beside it: its id, once asked for, and its weak references. An
/// empty entry is the default one, so that an entry of a pool's array that was emptied is
/// ready for the next object of its block.
#[derive(Default)]
pub(crate) struct SideEntry {
    pub(crate) id: Option<IdKey>,
    pub(crate) weak: WeakList,
}

impl SideEntry {
    pub(crate) fn is_empty(&self) -> bool {
        self.id.is_none() && self.weak.is_empty()
    }
}
