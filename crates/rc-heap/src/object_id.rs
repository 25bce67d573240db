//! Object ids: stable identities that introspection hands out (`objgraph::at(id)`). The
//! thread's heap keeps the map from id to object in its side table; an id also names its
//! heap, so that another thread's heap finds nothing under it.

use std::fmt;

slotmap::new_key_type! {
    /// The key of an object in its heap's id map, which its side entry keeps.
    pub(crate) struct IdKey;
}

/// A stable identity of a heap object, for introspection (`objgraph::at(id)`).
///
/// Generational: once its object has died, an id never names another object, unlike
/// Python's `id()`, which reuses addresses. Each thread has its own heap, and an id names its
/// heap too: an id is plain data that may go to another thread (in a report, say), but only
/// the thread that made it finds its object (`objgraph::at` on another thread gives `None`).
/// Ids of two threads are never equal, though their `Debug` texts may be.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    /// The heap's number, unique in the process (numbered on first use; 32 bits keep an id
    /// at 12 bytes, and a process makes fewer heaps than that, one per thread).
    heap: u32,
    key: IdKey,
}

impl ObjectId {
    pub(crate) fn new(heap: u32, key: IdKey) -> ObjectId {
        ObjectId { heap, key }
    }

    /// The key in its heap's map, if `heap` is the heap that made the id.
    pub(crate) fn key_in(self, heap: u32) -> Option<IdKey> {
        (self.heap == heap).then_some(self.key)
    }
}

/// Shows the key alone (`ObjectId(3v1)`), also in the alternate form (`{:#?}`, which insta's
/// `assert_debug_snapshot!` uses for a whole report): the heap's number depends on how many
/// threads made ids before, and a run's output should not. So two threads' ids can print
/// alike and compare unequal.
impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({:?})", self.key.0)
    }
}
