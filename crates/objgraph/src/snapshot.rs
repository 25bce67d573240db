//! A snapshot of the tracked heap: every tracked object and the references between them,
//! in compressed adjacency arrays so that a million-object heap takes a fraction of a second.
//!
//! Only tracked objects are nodes (the objects `gc.get_objects()` lists); references to
//! leaves are left out, as references from leaves are invisible: a leaf is outside the
//! tracked heap, and what it holds counts as held from outside.

use rc_heap::{Edge, GcAny, Visitor};
use rustc_hash::FxHashMap;

/// A snapshot of the tracked objects of this thread's heap and the references between them.
///
/// Objects are numbered `0..len()` in `gc.get_objects()` order. The snapshot holds one handle
/// on each object, which [`HeapGraph::outside_refs`] counts out.
pub struct HeapGraph {
    pub(crate) objects: Vec<GcAny>,
    /// Positions by address, built on the first [`HeapGraph::position`].
    index: std::cell::OnceCell<FxHashMap<usize, u32>>,
    /// `referents[referent_start[i]..referent_start[i + 1]]`: what object `i` refers to, one
    /// entry per reference (an object referred to twice appears twice).
    referent_start: Vec<u32>,
    referents: Vec<u32>,
    referrer_start: Vec<u32>,
    referrers: Vec<u32>,
    /// Whether object `i`'s value could not be traced completely: the collector keeps such
    /// an object as if it were held from outside, and so does every analysis here.
    untraceable: Vec<bool>,
}

impl std::fmt::Debug for HeapGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeapGraph")
            .field("objects", &self.objects.len())
            .field("references", &self.referents.len())
            .finish()
    }
}

/// Collects the addresses of the objects a value refers to, without labels, and whether the
/// value could be traced completely.
struct Addresses<'a> {
    addresses: &'a mut Vec<usize>,
    untraceable: bool,
}

impl Visitor for Addresses<'_> {
    fn visit_edge(&mut self, edge: Edge<'_>) {
        self.addresses.push(edge.header().as_ptr() as usize);
    }

    fn untraceable(&mut self) {
        self.untraceable = true;
    }
}

impl HeapGraph {
    /// Every tracked object of this thread's heap and the references between them.
    pub fn snapshot() -> Self {
        let graph = gen_gc::object_graph();
        let objects = graph.objects;
        let referent_start = graph.reference_start.iter().map(|&start| start as u32).collect();
        let mut untraceable = vec![false; objects.len()];
        for &i in &graph.untraceable {
            untraceable[i as usize] = true;
        }
        Self::with_referents(objects, std::cell::OnceCell::new(), referent_start, graph.references, untraceable)
    }

    /// The snapshot of `objects` and the references among them.
    pub(crate) fn of(objects: Vec<GcAny>) -> Self {
        assert!(u32::try_from(objects.len()).is_ok(), "more than 2^32 tracked objects");
        let index = index_of(&objects);
        let mut referent_start = Vec::with_capacity(objects.len() + 1);
        let mut referents = Vec::new();
        let mut addresses = Vec::new();
        let mut untraceable = Vec::with_capacity(objects.len());
        for object in &objects {
            referent_start.push(referents.len() as u32);
            addresses.clear();
            let mut visitor = Addresses { addresses: &mut addresses, untraceable: false };
            // A dropped value (legacy garbage after a finalizer) has no references.
            let traced = object.trace_with(&mut visitor).is_ok();
            untraceable.push(traced && visitor.untraceable);
            referents.extend(addresses.iter().filter_map(|address| index.get(address).copied()));
        }
        referent_start.push(referents.len() as u32);
        Self::with_referents(objects, std::cell::OnceCell::from(index), referent_start, referents, untraceable)
    }

    /// Completes a snapshot from its forward references: the referrers, by counting sort.
    fn with_referents(
        objects: Vec<GcAny>,
        index: std::cell::OnceCell<FxHashMap<usize, u32>>,
        referent_start: Vec<u32>,
        referents: Vec<u32>,
        untraceable: Vec<bool>,
    ) -> Self {
        let mut in_degree = vec![0u32; objects.len()];
        for &j in &referents {
            in_degree[j as usize] += 1;
        }
        let mut referrer_start = Vec::with_capacity(objects.len() + 1);
        let mut total = 0u32;
        for degree in &in_degree {
            referrer_start.push(total);
            total += degree;
        }
        referrer_start.push(total);
        let mut fill = referrer_start.clone();
        let mut referrers = vec![0u32; referents.len()];
        for i in 0..objects.len() {
            for &j in &referents[referent_start[i] as usize..referent_start[i + 1] as usize] {
                referrers[fill[j as usize] as usize] = i as u32;
                fill[j as usize] += 1;
            }
        }
        HeapGraph { objects, index, referent_start, referents, referrer_start, referrers, untraceable }
    }

    /// The number of tracked objects in the snapshot.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the snapshot is empty.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The objects, in snapshot order.
    pub fn objects(&self) -> &[GcAny] {
        &self.objects
    }

    /// The position of `object` in the snapshot, `None` for a leaf or an object created
    /// after the snapshot.
    pub fn position(&self, object: &GcAny) -> Option<usize> {
        self.position_of_address(object.addr())
    }

    /// The position of the object at `address` ([`GcAny::addr`]).
    pub(crate) fn position_of_address(&self, address: usize) -> Option<usize> {
        self.index.get_or_init(|| index_of(&self.objects)).get(&address).map(|&i| i as usize)
    }

    /// The positions of a few `objects`, in one pass over the snapshot unless its address
    /// index is built already (a full index costs more than a pass for a few lookups).
    pub(crate) fn positions_of(&self, objects: &[GcAny]) -> Vec<Option<usize>> {
        if self.index.get().is_some() {
            return objects.iter().map(|object| self.position(object)).collect();
        }
        let wanted: FxHashMap<usize, usize> = objects.iter().enumerate().map(|(k, o)| (o.addr(), k)).collect();
        let mut found: FxHashMap<usize, usize> = FxHashMap::default();
        for (i, object) in self.objects.iter().enumerate() {
            if wanted.contains_key(&object.addr()) {
                found.insert(object.addr(), i);
            }
        }
        objects.iter().map(|object| found.get(&object.addr()).copied()).collect()
    }

    /// What object `i` refers to, one entry per reference.
    pub fn referents_of(&self, i: usize) -> &[u32] {
        &self.referents[self.referent_start[i] as usize..self.referent_start[i + 1] as usize]
    }

    /// The objects that refer to object `i`, one entry per reference.
    pub fn referrers_of(&self, i: usize) -> &[u32] {
        &self.referrers[self.referrer_start[i] as usize..self.referrer_start[i + 1] as usize]
    }

    /// How many references to `object` come from outside the heap: its count, less the
    /// references from other heap objects, less the handles this snapshot and the caller's
    /// `object` hold. Zero for an object only other heap objects keep alive. An object whose
    /// value could not be traced completely counts one more (see [`HeapGraph::is_untraceable`]).
    pub fn outside_refs(&self, object: &GcAny) -> usize {
        match self.position(object) {
            Some(i) => self.outside_refs_at(i).saturating_sub(1),
            None => 0,
        }
    }

    /// Outside references of object `i`, counting the snapshot's own handle out but not a
    /// caller's.
    ///
    /// An object whose value could not be traced completely (a shared `Rc` in it, a
    /// `RefCell` mutably borrowed) counts one more, for the holder nobody can see: the
    /// collector keeps it, and all it refers to, as if something outside held it.
    pub(crate) fn outside_refs_at(&self, i: usize) -> usize {
        let counted = self.objects[i].strong_count().saturating_sub(self.referrers_of(i).len() + 1);
        counted + usize::from(self.untraceable[i])
    }

    /// Whether object `i`'s value could not be traced completely when the snapshot was
    /// taken: it is kept by the collector whatever refers to it.
    pub fn is_untraceable(&self, i: usize) -> bool {
        self.untraceable[i]
    }
}

/// Positions of `objects` by address.
fn index_of(objects: &[GcAny]) -> FxHashMap<usize, u32> {
    objects.iter().enumerate().map(|(i, o)| (o.addr(), i as u32)).collect()
}
