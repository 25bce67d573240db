//! The heap in V8's `.heapsnapshot` format, the file Chrome DevTools' Memory panel loads and
//! memlab analyses.
//!
//! The file is one JSON object: `snapshot.meta` names the fields, `nodes` and `edges` are flat
//! arrays of integers (seven per node, three per edge), and `strings` holds every name. It is
//! written as it is produced, numbers straight into a buffered writer: only the integer arrays
//! and the distinct strings are held in memory, never the text.
//!
//! What the nodes are, in order:
//!
//! 1. the root (`""`, id 1), whose edges are an element edge to `(GC roots)` and a shortcut
//!    edge to every object held from outside the heap — the objects DevTools calls user roots
//!    and starts its distances from;
//! 2. `(GC roots)` (id 3), with element edges to the two groups of roots below;
//! 3. `(Held from outside)` (id 5): a property edge to every object held from outside, so that
//!    DevTools' Retainers view, which hides the root itself, still shows where a chain starts;
//! 4. `(Unreachable)` (id 7): element edges into the cycles no root reaches — what the next
//!    full collection would free —, one edge per group, so that no node hangs loose;
//! 5. every tracked object, in `gc.get_objects()` order, then every leaf a tracked object
//!    refers to, in the order the walk meets them. They are `object` nodes named by their
//!    short type name (the full name where two types share a short one), with their object
//!    size as self size.
//!
//! An object is held from outside when its count exceeds the references it gets from heap
//! objects (a local variable, a static, a thread-local, `gc.garbage`); an object named with
//! [`name_root`](crate::name_root) counts as a root too, as in objgraph's graphs. A root's
//! edges from the root node and from `(Held from outside)` carry its name, else
//! `gc.garbage[k]` for the legacy policy's uncollectable objects, else
//! `held from outside: N`.
//!
//! References are edges named by the derive's labels. A label that is just an index (`[3]`, an
//! element of a `Gc<Vec<_>>`) becomes an element edge with that index; any other label
//! (`items[3]`, `parent`, `Leaf.child`, `[key]`) a property edge with the label as its name;
//! a reference without a label (a hand-written `Trace`) an element edge numbered by its place
//! among the object's references. Weak references are weak edges, which neither DevTools nor
//! memlab count as retaining.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use rc_heap::{Edge, GcAny, LabelPath, ObjectId, Segment, TypeInfo, Visitor, WeakEdge};
use rustc_hash::FxHashMap;

use crate::HeapGraph;
use crate::roots::named_roots;

/// Writes this thread's heap in V8's `.heapsnapshot` format, with node ids in snapshot order
/// ([`NodeIds::InSnapshotOrder`]).
///
/// Leaves (untracked objects) that tracked objects refer to are included; leaves nothing
/// tracked refers to cannot be listed. Garbage cycles that no collection has freed yet are
/// included under `(Unreachable)`; call `gen_gc::collect()` first to leave them out, as DevTools
/// collects before it takes a snapshot.
///
/// ```
/// use std::cell::RefCell;
/// use cyclegc::{Gc, Trace};
///
/// #[derive(Trace)]
/// struct Cache {
///     items: RefCell<Vec<Gc<Item>>>,
/// }
/// #[derive(Trace)]
/// #[trace(tracked)]
/// struct Item {
///     size: usize,
/// }
///
/// let cache = Gc::new(Cache { items: RefCell::new(vec![Gc::new(Item { size: 1 })]) });
/// objgraph::name_root(&Gc::to_any(&cache), "_cache");
///
/// let mut file = Vec::new();
/// objgraph::write_heapsnapshot(&mut file).unwrap();
/// let json: serde_json::Value = serde_json::from_slice(&file).unwrap();
/// assert_eq!(json["snapshot"]["node_count"], 6); // 4 synthetic nodes, Cache, Item
/// let strings = json["strings"].as_array().unwrap();
/// for name in ["(GC roots)", "_cache", "items[0]", "Cache", "Item"] {
///     assert!(strings.contains(&name.into()), "{name}");
/// }
/// ```
pub fn write_heapsnapshot(out: impl Write) -> io::Result<()> {
    HeapGraph::snapshot().write_heapsnapshot(out, NodeIds::InSnapshotOrder)
}

/// Writes this thread's heap to a `.heapsnapshot` file at `path` (created or truncated), as
/// [`write_heapsnapshot`] does.
pub fn save_heapsnapshot(path: impl AsRef<Path>) -> io::Result<()> {
    write_heapsnapshot(File::create(path)?)
}

/// How the nodes of a `.heapsnapshot` are numbered. Ids are odd, as V8's ids of heap objects
/// are; the four synthetic nodes are 1, 3, 5 and 7.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NodeIds {
    /// Objects are numbered 9, 11, 13, ... in node order: the same heap always gets the same
    /// ids, at no cost. Ids of two snapshots say nothing about each other.
    #[default]
    InSnapshotOrder,
    /// An object keeps its id in every snapshot this thread writes, and a new object never
    /// gets the id of one that died: what DevTools' Comparison view and memlab's
    /// baseline/target/final analysis match snapshots by. The first snapshot numbers objects
    /// as [`NodeIds::InSnapshotOrder`] does; later ones number new objects after the highest
    /// id given so far. Costs an [`ObjectId`] for every object written (a side-table entry
    /// that lives as long as the object) and a table of the numbers given, in this thread.
    Persistent,
}

impl HeapGraph {
    /// Writes the objects of this snapshot in V8's `.heapsnapshot` format, numbered as `ids`
    /// says; see [`write_heapsnapshot`] for what is written.
    ///
    /// Outside references and leaves are read now, not when the snapshot was taken: write soon
    /// after [`HeapGraph::snapshot`].
    pub fn write_heapsnapshot(&self, out: impl Write, ids: NodeIds) -> io::Result<()> {
        let heap = V8Heap::read(self);
        let node_ids = match ids {
            NodeIds::InSnapshotOrder => None,
            NodeIds::Persistent => Some(persistent_ids(self.objects().iter().chain(&heap.leaves))?),
        };
        heap.write(out, node_ids.as_deref())
    }
}

const NODE_FIELDS: [&str; 7] = ["type", "name", "id", "self_size", "edge_count", "trace_node_id", "detachedness"];
const NODE_TYPES: [&str; 15] = [
    "hidden",
    "array",
    "string",
    "object",
    "code",
    "closure",
    "regexp",
    "number",
    "native",
    "synthetic",
    "concatenated string",
    "sliced string",
    "symbol",
    "bigint",
    "object shape",
];
const EDGE_TYPES: [&str; 7] = ["context", "element", "property", "internal", "hidden", "shortcut", "weak"];

/// Node types, as indices into [`NODE_TYPES`].
const OBJECT: u32 = 3;
const SYNTHETIC: u32 = 9;

/// Edge types, as indices into [`EDGE_TYPES`].
const ELEMENT: u32 = 1;
const PROPERTY: u32 = 2;
const SHORTCUT: u32 = 5;
const WEAK: u32 = 6;

/// The synthetic nodes, first in every snapshot, by node number.
const ROOT: u32 = 0;
const GC_ROOTS: u32 = 1;
const HELD_FROM_OUTSIDE: u32 = 2;
const UNREACHABLE: u32 = 3;
const SYNTHETIC_NODES: [(u32, &str); 4] =
    [(ROOT, ""), (GC_ROOTS, "(GC roots)"), (HELD_FROM_OUTSIDE, "(Held from outside)"), (UNREACHABLE, "(Unreachable)")];
/// The node number of the first heap object.
const FIRST_OBJECT: u32 = SYNTHETIC_NODES.len() as u32;

/// The id of node `node` in snapshot order: 1, 3, 5, ... as V8 numbers its heap objects.
fn id_in_order(node: u32) -> u64 {
    2 * u64::from(node) + 1
}

/// A reference from one node to another: `[type, name_or_index, to_node]`, the target by node
/// number (the file gives its offset in `nodes`).
type EdgeRow = [u32; 3];

/// The heap as V8's node and edge tables, ready to be written.
struct V8Heap {
    /// The leaves tracked objects refer to, in the order the walk met them; node
    /// `FIRST_OBJECT + objects + k` is `leaves[k]`.
    leaves: Vec<GcAny>,
    /// Every node's type slot in `types`, for the heap objects (node `FIRST_OBJECT + i`).
    node_type: Vec<u32>,
    /// Every heap node's self size: its object's own (a slice's or `str`'s depends on its
    /// length).
    node_size: Vec<u64>,
    types: Vec<&'static TypeInfo>,
    /// The heap objects' strong references, node by node: those of heap object `i` are
    /// `strong[strong_start[i]..strong_start[i + 1]]`.
    strong_start: Vec<usize>,
    strong: Vec<EdgeRow>,
    /// The heap objects' weak references, by source node in increasing order.
    weak: Vec<(u32, EdgeRow)>,
    /// Edges of the synthetic nodes, node by node.
    synthetic_edges: [Vec<EdgeRow>; 4],
    strings: Strings,
}

impl V8Heap {
    /// Reads the labelled references of every object of `graph`, the leaves they lead to, and
    /// the roots.
    fn read(graph: &HeapGraph) -> Self {
        let objects = graph.len();
        let mut strings = Strings::default();
        for (_, name) in SYNTHETIC_NODES {
            strings.intern(name);
        }
        let mut reader = References::new();
        let mut type_slots: FxHashMap<*const TypeInfo, u32> = FxHashMap::default();
        let mut types = Vec::new();
        let mut node_type = Vec::with_capacity(objects);
        let mut node_size = Vec::with_capacity(objects);
        let mut strong_start = Vec::with_capacity(objects + 1);
        let mut strong = Vec::new();
        let mut weak = Vec::new();
        let mut weak_targets = Vec::new();
        for (i, object) in graph.objects().iter().enumerate() {
            let info = object.type_info();
            node_type.push(*type_slots.entry(info).or_insert_with(|| {
                types.push(info);
                types.len() as u32 - 1
            }));
            node_size.push(object.object_size() as u64);
            strong_start.push(strong.len());
            reader.start_object();
            // A dropped value (legacy garbage after its finalizer) has no references.
            let _ = object.trace_with(&mut reader);
            let mut tracked_referents = graph.referents_of(i).iter();
            for (position, reference) in reader.references.iter().enumerate() {
                let is_weak = matches!(reference.target, Target::Weak(_));
                let (kind, name) = reference.name.to_v8(position, is_weak, &reader.labels, &mut strings);
                match reference.target {
                    Target::Tracked(address) => {
                        // Both walks report the references in trace order; the graph's is the
                        // one to trust about which objects are in the heap's lists.
                        let target = match tracked_referents.clone().next() {
                            Some(&j) if graph.objects()[j as usize].addr() == address => {
                                tracked_referents.next();
                                Some(j)
                            }
                            _ => graph.position_of_address(address).map(|j| j as u32),
                        };
                        if let Some(j) = target {
                            strong.push([kind, name, FIRST_OBJECT + j]);
                        }
                    }
                    Target::Leaf(leaf) => strong.push([kind, name, FIRST_OBJECT + objects as u32 + leaf]),
                    Target::Weak(address) => {
                        weak.push((FIRST_OBJECT + i as u32, [kind, name, 0]));
                        weak_targets.push(address);
                    }
                }
            }
        }
        strong_start.push(strong.len());
        let leaves = reader.leaves;
        for leaf in &leaves {
            let info = leaf.type_info();
            node_type.push(*type_slots.entry(info).or_insert_with(|| {
                types.push(info);
                types.len() as u32 - 1
            }));
            node_size.push(leaf.object_size() as u64);
        }
        // Weak references to objects the walk did not meet are left out.
        let leaf_numbers = &reader.leaf_numbers;
        let mut resolved = weak_targets.iter().map(|address| {
            graph
                .position_of_address(*address)
                .map(|j| FIRST_OBJECT + j as u32)
                .or_else(|| leaf_numbers.get(address).map(|&k| FIRST_OBJECT + objects as u32 + k))
        });
        weak.retain_mut(|(_, edge)| match resolved.next().flatten() {
            Some(target) => {
                edge[2] = target;
                true
            }
            None => false,
        });
        let mut heap = V8Heap {
            leaves,
            node_type,
            node_size,
            types,
            strong_start,
            strong,
            weak,
            synthetic_edges: Default::default(),
            strings,
        };
        heap.add_roots(graph);
        heap
    }

    fn node_count(&self) -> usize {
        FIRST_OBJECT as usize + self.node_type.len()
    }

    /// The strong references of heap node `FIRST_OBJECT + k` (none for a leaf).
    fn strong_edges(&self, k: usize) -> &[EdgeRow] {
        match (self.strong_start.get(k), self.strong_start.get(k + 1)) {
            (Some(&start), Some(&end)) => &self.strong[start..end],
            _ => &[],
        }
    }

    /// The edges of the synthetic nodes: to every object held from outside, and into every
    /// group of objects no such object reaches.
    fn add_roots(&mut self, graph: &HeapGraph) {
        let objects = graph.len();
        let heap_nodes = self.node_type.len();
        // The copy `garbage()` makes must be gone before counts are read.
        let garbage: FxHashMap<usize, usize> =
            gen_gc::garbage().iter().enumerate().map(|(k, object)| (object.addr(), k)).collect();
        let names = named_roots();
        // Frozen objects (`gen_gc::freeze`) are roots too: no collection frees them.
        let frozen = crate::cycles::frozen(graph);
        let mut from_heap = vec![0usize; heap_nodes];
        for edge in &self.strong {
            from_heap[(edge[2] - FIRST_OBJECT) as usize] += 1;
        }
        let [root, gc_roots, held, unreachable] = &mut self.synthetic_edges;
        gc_roots.push([ELEMENT, 1, HELD_FROM_OUTSIDE]);
        gc_roots.push([ELEMENT, 2, UNREACHABLE]);
        root.push([ELEMENT, 1, GC_ROOTS]);
        let mut reached = vec![false; heap_nodes];
        let mut stack = Vec::new();
        for k in 0..heap_nodes {
            let object = if k < objects { &graph.objects()[k] } else { &self.leaves[k - objects] };
            // One handle is this export's own: the graph's, or the leaf list's.
            let outside = object.strong_count().saturating_sub(from_heap[k] + 1);
            let name = names.get(&object.addr());
            let is_frozen = k < objects && frozen[k];
            if outside == 0 && name.is_none() && !is_frozen {
                continue;
            }
            let label = match (name, garbage.get(&object.addr())) {
                (Some(name), _) => self.strings.intern(name),
                (None, Some(k)) => self.strings.intern(&format!("gc.garbage[{k}]")),
                (None, None) if outside == 0 => self.strings.intern("frozen (gc.freeze)"),
                (None, None) => self.strings.intern(&format!("held from outside: {outside}")),
            };
            let node = FIRST_OBJECT + k as u32;
            root.push([SHORTCUT, label, node]);
            held.push([PROPERTY, label, node]);
            reached[k] = true;
            stack.push(k);
        }
        let strong_start = &self.strong_start;
        let strong = &self.strong;
        let mark_from = |stack: &mut Vec<usize>, reached: &mut Vec<bool>| {
            while let Some(k) = stack.pop() {
                if k >= objects {
                    continue; // leaves refer to nothing
                }
                for edge in &strong[strong_start[k]..strong_start[k + 1]] {
                    let target = (edge[2] - FIRST_OBJECT) as usize;
                    if !reached[target] {
                        reached[target] = true;
                        stack.push(target);
                    }
                }
            }
        };
        mark_from(&mut stack, &mut reached);
        for k in 0..heap_nodes {
            if !reached[k] {
                unreachable.push([ELEMENT, unreachable.len() as u32 + 1, FIRST_OBJECT + k as u32]);
                reached[k] = true;
                stack.push(k);
                mark_from(&mut stack, &mut reached);
            }
        }
    }

    /// Node names: short type names, full ones for types whose short names collide.
    fn type_names(&mut self) -> Vec<u32> {
        let short: Vec<String> = self.types.iter().map(|info| info.short_name()).collect();
        let mut full_names_by_short: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
        for (info, short) in self.types.iter().zip(&short) {
            let names = full_names_by_short.entry(short).or_default();
            if !names.contains(&info.name()) {
                names.push(info.name());
            }
        }
        self.types
            .iter()
            .zip(&short)
            .map(|(info, short)| {
                let ambiguous = full_names_by_short[short.as_str()].len() > 1;
                self.strings.intern(if ambiguous { info.name() } else { short })
            })
            .collect()
    }

    fn write(mut self, out: impl Write, persistent_ids: Option<&[u64]>) -> io::Result<()> {
        let type_names = self.type_names();
        let heap_nodes = self.node_type.len();
        // Weak edges by source node: `weak[weak_start[k]..weak_start[k + 1]]`.
        let mut weak_start = vec![0usize; heap_nodes + 1];
        for (from, _) in &self.weak {
            weak_start[(from - FIRST_OBJECT) as usize + 1] += 1;
        }
        for k in 0..heap_nodes {
            weak_start[k + 1] += weak_start[k];
        }
        let edge_count = self.synthetic_edges.iter().map(Vec::len).sum::<usize>() + self.strong.len() + self.weak.len();

        let mut out = JsonWriter::new(out);
        out.raw("{\"snapshot\":{\"meta\":{\"node_fields\":")?;
        out.string_array(&NODE_FIELDS)?;
        out.raw(",\"node_types\":[")?;
        out.string_array(&NODE_TYPES)?;
        out.raw(",\"string\",\"number\",\"number\",\"number\",\"number\",\"number\"],\"edge_fields\":")?;
        out.string_array(&["type", "name_or_index", "to_node"])?;
        out.raw(",\"edge_types\":[")?;
        out.string_array(&EDGE_TYPES)?;
        out.raw(",\"string_or_number\",\"node\"],\"trace_function_info_fields\":")?;
        out.string_array(&["function_id", "name", "script_name", "script_id", "line", "column"])?;
        out.raw(",\"trace_node_fields\":")?;
        out.string_array(&["id", "function_info_index", "count", "size", "children"])?;
        out.raw(",\"sample_fields\":")?;
        out.string_array(&["timestamp_us", "last_assigned_id"])?;
        out.raw(",\"location_fields\":")?;
        out.string_array(&["object_index", "script_id", "line", "column"])?;
        out.raw("},\"node_count\":")?;
        out.number(self.node_count() as u64)?;
        out.raw(",\"edge_count\":")?;
        out.number(edge_count as u64)?;
        out.raw(",\"trace_function_count\":0},\n\"nodes\":[")?;

        for (node, name) in SYNTHETIC_NODES {
            let edges = self.synthetic_edges[node as usize].len() as u64;
            out.row_start(node == ROOT)?;
            out.numbers(&[u64::from(SYNTHETIC), u64::from(node), id_in_order(node), 0, edges, 0, 0])?;
            debug_assert_eq!(self.strings.list[node as usize].as_ref(), name);
        }
        for k in 0..heap_nodes {
            let node = FIRST_OBJECT + k as u32;
            let id = persistent_ids.map_or_else(|| id_in_order(node), |ids| ids[k]);
            let edges = self.strong_edges(k).len() + weak_start[k + 1] - weak_start[k];
            let name = type_names[self.node_type[k] as usize];
            out.row_start(false)?;
            out.numbers(&[u64::from(OBJECT), u64::from(name), id, self.node_size[k], edges as u64, 0, 0])?;
        }
        out.raw("],\n\"edges\":[")?;
        let mut first = true;
        let rows = self.synthetic_edges.iter().flatten().chain((0..heap_nodes).flat_map(|k| {
            let weak = self.weak[weak_start[k]..weak_start[k + 1]].iter().map(|(_, edge)| edge);
            self.strong_edges(k).iter().chain(weak)
        }));
        for &[kind, name_or_index, to_node] in rows {
            out.row_start(first)?;
            first = false;
            let offset = u64::from(to_node) * NODE_FIELDS.len() as u64;
            out.numbers(&[u64::from(kind), u64::from(name_or_index), offset])?;
        }
        out.raw(
            "],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[],\n\"strings\":[",
        )?;
        for (k, string) in self.strings.list.iter().enumerate() {
            if k > 0 {
                out.raw(",\n")?;
            }
            out.string(string)?;
        }
        out.raw("]}\n")?;
        out.finish()
    }
}

/// The strings of a snapshot, each once, numbered in the order they were first asked for.
#[derive(Default)]
struct Strings {
    numbers: FxHashMap<Box<str>, u32>,
    list: Vec<Box<str>>,
}

impl Strings {
    fn intern(&mut self, string: &str) -> u32 {
        if let Some(&number) = self.numbers.get(string) {
            return number;
        }
        let number = self.list.len() as u32;
        self.list.push(string.into());
        self.numbers.insert(string.into(), number);
        number
    }
}

/// How a reference is labelled: `labels[label]` of its object's label text (empty without a
/// label), and the index when the label is one index (`[3]`).
#[derive(Clone)]
struct ReferenceName {
    index: Option<u32>,
    label: std::ops::Range<usize>,
}

impl ReferenceName {
    /// The edge type and `name_or_index` of the reference at `position` among its object's.
    /// Element edges are numbered; every other type is named by a string.
    fn to_v8(&self, position: usize, weak: bool, labels: &str, strings: &mut Strings) -> (u32, u32) {
        let position = u32::try_from(position).unwrap_or(u32::MAX);
        let label = &labels[self.label.clone()];
        match (weak, self.index) {
            (true, _) if label.is_empty() => (WEAK, strings.intern(&format!("[{position}]"))),
            (true, _) => (WEAK, strings.intern(label)),
            (false, Some(index)) => (ELEMENT, index),
            (false, None) if label.is_empty() => (ELEMENT, position),
            (false, None) => (PROPERTY, strings.intern(label)),
        }
    }
}

enum Target {
    /// A tracked object, by address.
    Tracked(usize),
    /// A leaf, by its number among the leaves.
    Leaf(u32),
    /// A weak reference's target, by address.
    Weak(usize),
}

struct Reference {
    target: Target,
    name: ReferenceName,
}

/// A visitor that records an object's references with their labels, and numbers the leaves
/// it meets.
struct References {
    path: LabelPath,
    /// The segments entered, `Some(i)` for an index.
    segments: Vec<Option<usize>>,
    /// This object's references; their label texts are in `labels`.
    references: Vec<Reference>,
    labels: String,
    leaves: Vec<GcAny>,
    leaf_numbers: FxHashMap<usize, u32>,
}

impl References {
    fn new() -> Self {
        References {
            path: LabelPath::default(),
            segments: Vec::new(),
            references: Vec::new(),
            labels: String::new(),
            leaves: Vec::new(),
            leaf_numbers: FxHashMap::default(),
        }
    }

    /// Forgets the references of the previous object.
    fn start_object(&mut self) {
        self.references.clear();
        self.labels.clear();
    }

    fn name(&mut self) -> ReferenceName {
        let start = self.labels.len();
        if !self.segments.is_empty() {
            self.labels.push_str(self.path.as_str());
        }
        let index = match self.segments.as_slice() {
            [Some(index)] => u32::try_from(*index).ok(),
            _ => None,
        };
        ReferenceName { index, label: start..self.labels.len() }
    }
}

impl Visitor for References {
    fn wants_stable_order(&self) -> bool {
        true
    }

    fn visit_edge(&mut self, edge: Edge<'_>) {
        let name = self.name();
        let address = edge.header().as_ptr() as usize;
        let target = if edge.is_tracked() {
            Target::Tracked(address)
        } else {
            let next = self.leaves.len() as u32;
            let number = *self.leaf_numbers.entry(address).or_insert(next);
            if number == next {
                self.leaves.push(edge.to_any());
            }
            Target::Leaf(number)
        };
        self.references.push(Reference { target, name });
    }

    fn visit_weak(&mut self, weak: WeakEdge<'_>) {
        if let Some(target) = weak.target() {
            let name = self.name();
            self.references.push(Reference { target: Target::Weak(target.as_ptr() as usize), name });
        }
    }

    fn enter(&mut self, segment: Segment<'_>) {
        self.segments.push(match segment {
            Segment::Index(index) => Some(index),
            _ => None,
        });
        self.path.enter(segment);
    }

    fn leave(&mut self) {
        self.segments.pop();
        self.path.leave();
    }
}

/// The ids [`NodeIds::Persistent`] gave on this thread.
struct PersistentIds {
    /// The living objects' ids by object, sorted by object: a merge with the sorted objects of
    /// the next export finds them without a hash table's random accesses.
    by_object: Vec<(ObjectId, u64)>,
    next: u64,
}

thread_local! {
    static PERSISTENT_IDS: RefCell<PersistentIds> =
        RefCell::new(PersistentIds { by_object: Vec::new(), next: id_in_order(FIRST_OBJECT) });
}

/// The persistent ids of `objects`, giving new ones, in order, to objects met for the first
/// time. An object that lives on but is not in this export (a leaf no tracked object refers
/// to for now) keeps its id for the next; ids of objects that are gone are forgotten (an
/// [`ObjectId`] never names another object).
fn persistent_ids<'a>(objects: impl Iterator<Item = &'a GcAny>) -> io::Result<Vec<u64>> {
    /// Not given yet: ids are odd.
    const NEW: u64 = 0;
    PERSISTENT_IDS.with(|table| {
        let PersistentIds { by_object, next } = &mut *table.borrow_mut();
        // Objects keep their list order from one export to the next, and ids were given in
        // that order, so this is close to sorted already.
        let mut sorted: Vec<(ObjectId, u32)> = objects.enumerate().map(|(k, object)| (object.id(), k as u32)).collect();
        sorted.sort_unstable();
        let mut ids = vec![NEW; sorted.len()];
        let mut known = by_object.iter().peekable();
        for &(object, k) in &sorted {
            while known.next_if(|(old, _)| *old < object).is_some() {}
            if let Some((_, id)) = known.next_if(|(old, _)| *old == object) {
                ids[k as usize] = *id;
            }
        }
        for id in ids.iter_mut().filter(|id| **id == NEW) {
            if *next > u64::from(u32::MAX) {
                return Err(io::Error::other(
                    "more than 2^31 objects were given persistent ids on this thread: V8's ids are 32-bit",
                ));
            }
            *id = *next;
            *next += 2;
        }
        let exported = sorted.iter().map(|&(object, k)| (object, ids[k as usize]));
        let mut kept = Vec::with_capacity(sorted.len());
        let mut earlier = std::mem::take(by_object).into_iter().peekable();
        for (object, id) in exported {
            while let Some(absent) = earlier.next_if(|(old, _)| *old < object) {
                keep_if_alive(&mut kept, absent);
            }
            earlier.next_if(|(old, _)| *old == object);
            kept.push((object, id));
        }
        for absent in earlier {
            keep_if_alive(&mut kept, absent);
        }
        *by_object = kept;
        Ok(ids)
    })
}

/// Keeps the id of an object missing from an export if the object still lives.
fn keep_if_alive(kept: &mut Vec<(ObjectId, u64)>, (object, id): (ObjectId, u64)) {
    if GcAny::from_id(object).is_some() {
        kept.push((object, id));
    }
}

/// JSON text straight into a buffered writer.
struct JsonWriter<W: Write> {
    out: BufWriter<W>,
    digits: itoa::Buffer,
}

impl<W: Write> JsonWriter<W> {
    fn new(out: W) -> Self {
        JsonWriter { out: BufWriter::with_capacity(1 << 16, out), digits: itoa::Buffer::new() }
    }

    fn raw(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())
    }

    fn number(&mut self, number: u64) -> io::Result<()> {
        self.out.write_all(self.digits.format(number).as_bytes())
    }

    /// Comma-separated numbers.
    fn numbers(&mut self, numbers: &[u64]) -> io::Result<()> {
        for (k, &number) in numbers.iter().enumerate() {
            if k > 0 {
                self.out.write_all(b",")?;
            }
            self.number(number)?;
        }
        Ok(())
    }

    /// Starts a row of `nodes` or `edges` on its own line, as V8 writes them.
    fn row_start(&mut self, first: bool) -> io::Result<()> {
        self.raw(if first { "" } else { "\n," })
    }

    fn string(&mut self, text: &str) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, text).map_err(io::Error::from)
    }

    fn string_array(&mut self, texts: &[&str]) -> io::Result<()> {
        self.raw("[")?;
        for (k, text) in texts.iter().enumerate() {
            if k > 0 {
                self.raw(",")?;
            }
            self.string(text)?;
        }
        self.raw("]")
    }

    fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}
