//! Object ids: stable identities that introspection hands out (`objgraph::at(id)`). The
//! thread's heap keeps the map from id to object in its side table.

slotmap::new_key_type! {
    /// A stable identity of a heap object, for introspection (`objgraph::at(id)`).
    ///
    /// Generational: once its object has died, an id never names another object, unlike
    /// Python's `id()`, which reuses addresses.
    pub struct ObjectId;
}
