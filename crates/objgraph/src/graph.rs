//! Reference graphs: `show_refs`, `show_backrefs` and `show_chain`, walked breadth-first as
//! objgraph walks them, into a [`Graph`] value that writes DOT or renders SVG.

use std::collections::{HashMap, HashSet, VecDeque};

use rc_heap::{GcAny, ObjectId};

use crate::HeapGraph;
use crate::roots::named_roots;

/// Extra DOT attributes of an object's node: `(name, value)` pairs.
pub type NodeAttrs = dyn Fn(&GcAny) -> Vec<(String, String)>;

/// objgraph's graph options (`show_refs`, `show_backrefs`, `show_chain`).
///
/// ```
/// let options = objgraph::GraphOptions { max_depth: 5, too_many: 20, ..Default::default() };
/// # let _ = options;
/// ```
#[derive(Clone, Copy)]
pub struct GraphOptions<'a> {
    /// How many references away from the start objects to go (objgraph's default 3).
    pub max_depth: usize,
    /// Objects not to draw nor pass through.
    pub extra_ignore: &'a [ObjectId],
    /// Only objects for which this returns `true` are drawn (start objects always are).
    pub filter: Option<&'a dyn Fn(&GcAny) -> bool>,
    /// At most this many references are drawn per object; the rest become one
    /// `N more references` node (objgraph's default 10).
    pub too_many: usize,
    /// Objects for which this returns `true` are drawn in blue.
    pub highlight: Option<&'a dyn Fn(&GcAny) -> bool>,
    /// A line of text added to each object's label. It is given the object as the drawing
    /// holds it: its `strong_count()` there includes the drawing's own handles (one or two,
    /// and one more for each in a list the caller holds); `refcounts` shows the count
    /// without them.
    pub extra_info: Option<&'a dyn Fn(&GcAny) -> String>,
    /// Show each object's reference count, not counting objgraph's own handles, in `[N]`.
    pub refcounts: bool,
    /// Short type names (`Node<String>`); `false` for full paths.
    pub shortnames: bool,
    /// Extra DOT attributes for each object's node (`URL`, `tooltip`, ...).
    pub extra_node_attrs: Option<&'a NodeAttrs>,
}

impl Default for GraphOptions<'_> {
    fn default() -> Self {
        GraphOptions {
            max_depth: 3,
            extra_ignore: &[],
            filter: None,
            too_many: 10,
            highlight: None,
            extra_info: None,
            refcounts: false,
            shortnames: true,
            extra_node_attrs: None,
        }
    }
}

impl std::fmt::Debug for GraphOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphOptions")
            .field("max_depth", &self.max_depth)
            .field("extra_ignore", &self.extra_ignore)
            .field("filter", &self.filter.is_some())
            .field("too_many", &self.too_many)
            .field("highlight", &self.highlight.is_some())
            .field("extra_info", &self.extra_info.is_some())
            .field("refcounts", &self.refcounts)
            .field("shortnames", &self.shortnames)
            .field("extra_node_attrs", &self.extra_node_attrs.is_some())
            .finish()
    }
}

/// A colour as objgraph writes it: hue, saturation, value, each in `0..=1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Hsv(pub f64, pub f64, pub f64);

impl Hsv {
    /// objgraph's `_gradient`: `start` at depth 0 to `end` at `max_depth`.
    fn gradient(start: Hsv, end: Hsv, depth: usize, max_depth: usize) -> Hsv {
        if max_depth == 0 {
            return start;
        }
        let f = depth as f64 / max_depth as f64;
        Hsv(start.0 * (1.0 - f) + end.0 * f, start.1 * (1.0 - f) + end.1 * f, start.2 * (1.0 - f) + end.2 * f)
    }

    /// `#rrggbb`.
    pub(crate) fn to_rgb_hex(self) -> String {
        let Hsv(h, s, v) = self;
        let sector = (h * 6.0).floor();
        let f = h * 6.0 - sector;
        let (p, q, t) = (v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s));
        let (r, g, b) = match sector as i64 % 6 {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
        let byte = |x: f64| (x * 255.0).round().clamp(0.0, 255.0) as u8;
        format!("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b))
    }
}

/// An object drawn in a graph.
#[derive(Clone, Debug)]
pub(crate) struct GraphNode {
    /// The label's lines, as they should read (control characters already made visible).
    pub(crate) label: Vec<String>,
    pub(crate) fill: Hsv,
    pub(crate) start: bool,
    pub(crate) finalizer: bool,
    pub(crate) attrs: Vec<(String, String)>,
    /// The references drawn when this node was visited, in drawing order.
    pub(crate) edges: Vec<GraphEdge>,
    /// `N more references` past `too_many`, with the overflow node's colour.
    pub(crate) overflow: Option<(usize, Hsv)>,
}

/// A reference drawn in a graph: `from` refers to `to`.
#[derive(Clone, Debug)]
pub(crate) struct GraphEdge {
    pub(crate) from: usize,
    pub(crate) to: usize,
    /// As it should read: line breaks kept, other control characters made visible.
    pub(crate) label: String,
}

/// A graph of objects and references, as objgraph draws it: write it as DOT
/// ([`Graph::to_dot`], [`Graph::write_dot`]), render it as SVG ([`Graph::to_svg`]) or save
/// either to a file ([`Graph::save`]).
///
/// The graph holds no handle on the objects it shows; node ids (`o0`, `o1`, ...) follow the
/// order in which objects were reached, so the same heap gives the same DOT text.
#[derive(Clone, Debug)]
pub struct Graph {
    pub(crate) nodes: Vec<GraphNode>,
    /// `true` for `show_backrefs` (edges point at the start objects).
    pub(crate) backrefs: bool,
}

impl Graph {
    /// The number of objects drawn.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The number of references drawn (overflow and finalizer markers aside).
    pub fn edge_count(&self) -> usize {
        self.nodes.iter().map(|node| node.edges.len()).sum()
    }

    /// The label of each object, in node id order, lines joined with `\n`.
    pub fn labels(&self) -> Vec<String> {
        self.nodes.iter().map(|node| node.label.join("\n")).collect()
    }
}

/// Which references a walk follows.
#[derive(Clone, Copy, PartialEq)]
enum Direction {
    /// What an object refers to (`show_refs`).
    Referents,
    /// What refers to an object (`show_backrefs`).
    Referrers,
}

/// A graph of what `objs` refer to, directly and indirectly, up to `max_depth` references
/// away (`objgraph.show_refs`). Start objects have red labels; deeper objects are drawn
/// darker; objects with a finalizer carry a red `finalize` marker.
///
/// Runs a full collection first, as objgraph does, so that cycles already garbage are not
/// drawn (their finalizers and weak callbacks run).
pub fn show_refs(objs: &[GcAny], options: &GraphOptions<'_>) -> Graph {
    gen_gc::collect();
    walk(objs, handle_counts(objs), Direction::Referents, options)
}

/// A graph of what refers to `objs`, directly and indirectly, up to `max_depth` references
/// away (`objgraph.show_backrefs`): the question "who keeps this alive?".
///
/// Objects held from outside the heap (a variable, a static, a thread-local, `gc.garbage`)
/// are the roots of what is drawn: they are green and say how many outside references they
/// have, and show their name if they were given one with [`crate::name_root`].
///
/// Runs a full collection first, as objgraph does: garbage that still refers to `objs`
/// would otherwise be drawn as holding them.
pub fn show_backrefs(objs: &[GcAny], options: &GraphOptions<'_>) -> Graph {
    gen_gc::collect();
    walk(objs, handle_counts(objs), Direction::Referrers, options)
}

/// A graph of one or more chains from [`crate::find_backref_chain`] or
/// [`crate::find_ref_chain`] (`objgraph.show_chain`): only the chains' objects are drawn.
/// With `backrefs` the walk starts at each chain's last object and follows referrers (for
/// backward chains); otherwise it starts at each chain's first object and follows
/// referents. `options.filter` and `options.max_depth` are set from the chains. Runs a
/// full collection first, as [`show_refs`] does.
pub fn show_chain(chains: &[Vec<GcAny>], backrefs: bool, options: &GraphOptions<'_>) -> Graph {
    gen_gc::collect();
    show_chain_holding(chains, backrefs, options, [])
}

/// [`show_chain`], counting the handles in `held` as the caller's, not as references from
/// outside the heap.
pub(crate) fn show_chain_holding<'h>(
    chains: &[Vec<GcAny>],
    backrefs: bool,
    options: &GraphOptions<'_>,
    held: impl IntoIterator<Item = &'h GcAny>,
) -> Graph {
    let chains: Vec<&Vec<GcAny>> = chains.iter().filter(|chain| !chain.is_empty()).collect();
    let members: HashSet<usize> = chains.iter().flat_map(|chain| chain.iter().map(GcAny::addr)).collect();
    let in_chains = |object: &GcAny| members.contains(&object.addr());
    let options = GraphOptions {
        max_depth: chains.iter().map(|chain| chain.len() - 1).max().unwrap_or(0),
        filter: Some(&in_chains),
        ..*options
    };
    let (starts, direction): (Vec<GcAny>, _) = if backrefs {
        (chains.iter().filter_map(|chain| chain.last().cloned()).collect(), Direction::Referrers)
    } else {
        (chains.iter().filter_map(|chain| chain.first().cloned()).collect(), Direction::Referents)
    };
    // The chains' handles and the copies in `starts` are the caller's and ours, not references
    // that keep the objects alive.
    let mut handles = handle_counts(chains.iter().flat_map(|chain| chain.iter()).chain(&starts));
    for handle in held {
        *handles.entry(handle.addr()).or_default() += 1;
    }
    walk(&starts, handles, direction, &options)
}

/// [`show_refs`] where `held` is every handle the caller holds on the objects drawn (those
/// of `objs` included): none of them counts as a reference from outside the heap.
pub(crate) fn show_refs_holding<'h>(
    objs: &[GcAny],
    held: impl IntoIterator<Item = &'h GcAny>,
    options: &GraphOptions<'_>,
) -> Graph {
    walk(objs, handle_counts(held), Direction::Referents, options)
}

/// [`show_backrefs`] where `held` is every handle the caller holds on the objects drawn
/// (those of `objs` included): none of them counts as a reference from outside the heap.
pub(crate) fn show_backrefs_holding<'h>(
    objs: &[GcAny],
    held: impl IntoIterator<Item = &'h GcAny>,
    options: &GraphOptions<'_>,
) -> Graph {
    walk(objs, handle_counts(held), Direction::Referrers, options)
}

/// How many of `handles` point at each object, by address.
fn handle_counts<'a>(handles: impl IntoIterator<Item = &'a GcAny>) -> HashMap<usize, usize> {
    let mut counts = HashMap::new();
    for handle in handles {
        *counts.entry(handle.addr()).or_default() += 1;
    }
    counts
}

/// The objects of a walk, numbered in the order they were reached.
struct Walk {
    objects: Vec<GcAny>,
    depth: Vec<usize>,
    /// Each object's position in the heap snapshot (`None` for a leaf).
    position: Vec<Option<usize>>,
    index: HashMap<usize, usize>,
}

impl Walk {
    fn add(&mut self, object: GcAny, depth: usize, position: Option<usize>) -> (usize, bool) {
        if let Some(&i) = self.index.get(&object.addr()) {
            return (i, false);
        }
        let i = self.objects.len();
        self.index.insert(object.addr(), i);
        self.objects.push(object);
        self.depth.push(depth);
        self.position.push(position);
        (i, true)
    }
}

/// Walks from `objs`. `handles` counts the handles of the caller's lists (the start list,
/// the chains) by address: they are not references from outside.
fn walk(objs: &[GcAny], handles: HashMap<usize, usize>, direction: Direction, options: &GraphOptions<'_>) -> Graph {
    let heap = HeapGraph::snapshot();
    let ignore: HashSet<usize> =
        options.extra_ignore.iter().filter_map(|&id| GcAny::from_id(id)).map(|object| object.addr()).collect();
    let mut walk = Walk { objects: Vec::new(), depth: Vec::new(), position: Vec::new(), index: HashMap::new() };
    for (object, position) in objs.iter().zip(heap.positions_of(objs)) {
        walk.add(object.clone(), 0, position);
    }
    let starts = walk.objects.len();
    let mut edges: Vec<Vec<GraphEdge>> = Vec::new();
    let mut overflow: Vec<Option<usize>> = Vec::new();
    let mut queue: VecDeque<usize> = (0..starts).collect();
    while let Some(target) = queue.pop_front() {
        // Nodes are visited in the order they were added, so `edges[target]` is next.
        debug_assert_eq!(edges.len(), target);
        let mut drawn = Vec::new();
        let mut skipped = 0;
        let depth = walk.depth[target];
        if depth < options.max_depth {
            let object = walk.objects[target].clone();
            let neighbours = neighbours(&heap, &object, walk.position[target], direction, options.too_many);
            for (neighbour, position, label) in neighbours {
                if ignore.contains(&neighbour.addr()) || !options.filter.is_none_or(|filter| filter(&neighbour)) {
                    continue;
                }
                if drawn.len() >= options.too_many {
                    skipped += 1;
                    continue;
                }
                let (source, new) = walk.add(neighbour, depth + 1, position);
                if new {
                    queue.push_back(source);
                }
                let (from, to) = match direction {
                    Direction::Referents => (target, source),
                    Direction::Referrers => (source, target),
                };
                // A map key's description may hold any text; SVG and HTML cannot carry control
                // characters.
                let label = label.split('\n').map(visible).collect::<Vec<_>>().join("\n");
                drawn.push(GraphEdge { from, to, label });
            }
        }
        edges.push(drawn);
        overflow.push((skipped > 0).then_some(skipped));
    }
    let counts = ReferenceCounts::of(&heap, &walk.objects, &walk.position, &handles);
    let nodes = walk
        .objects
        .iter()
        .zip(edges)
        .zip(overflow)
        .enumerate()
        .map(|(i, ((object, edges), overflow))| {
            let depth = walk.depth[i];
            let root = counts.root(i);
            let mut fill = Hsv::gradient(Hsv(0.0, 0.0, 1.0), Hsv(0.0, 0.0, 0.3), depth, options.max_depth);
            if root.is_some() {
                fill = Hsv(0.3, 1.0, fill.2);
            }
            if options.highlight.is_some_and(|highlight| highlight(object)) {
                fill = Hsv(0.6, 0.6, 0.5 + fill.2 * 0.5);
            }
            let overflow = overflow.map(|skipped| {
                (skipped, Hsv::gradient(Hsv(0.0, 1.0, 1.0), Hsv(0.0, 1.0, 0.3), depth + 1, options.max_depth))
            });
            GraphNode {
                label: label(object, counts.refcount(i), root, options),
                fill,
                start: i < starts,
                finalizer: object.type_info().has_finalizer(),
                attrs: options.extra_node_attrs.map(|attrs| attrs(object)).unwrap_or_default(),
                edges,
                overflow,
            }
        })
        .collect();
    Graph { nodes, backrefs: direction == Direction::Referrers }
}

/// The objects next to `object` (at `position` in the snapshot) in `direction`, each once,
/// with their snapshot positions and the labels of the references between them (`next`,
/// `[3]`, `items[0], cache`), at most `too_many` labels each.
fn neighbours(
    heap: &HeapGraph,
    object: &GcAny,
    position: Option<usize>,
    direction: Direction,
    too_many: usize,
) -> Vec<(GcAny, Option<usize>, String)> {
    match direction {
        Direction::Referents => {
            // A tracked object's tracked referents are in the snapshot; leaves are not.
            let tracked: HashMap<usize, usize> = position
                .map(|i| {
                    heap.referents_of(i).iter().map(|&j| (heap.objects()[j as usize].addr(), j as usize)).collect()
                })
                .unwrap_or_default();
            let mut order: Vec<(GcAny, Option<usize>, JoinedLabel)> = Vec::new();
            let mut seen: HashMap<usize, usize> = HashMap::new();
            for referent in object.referents() {
                match seen.get(&referent.target.addr()) {
                    Some(&k) => order[k].2.join(&referent.label),
                    None => {
                        seen.insert(referent.target.addr(), order.len());
                        let position = tracked.get(&referent.target.addr()).copied();
                        let mut label = JoinedLabel::new(too_many);
                        label.join(&referent.label);
                        order.push((referent.target, position, label));
                    }
                }
            }
            order.into_iter().map(|(target, position, label)| (target, position, label.text())).collect()
        }
        Direction::Referrers => {
            let referrers: Vec<(GcAny, Option<usize>)> = match position {
                Some(i) => {
                    let mut seen = HashSet::new();
                    heap.referrers_of(i)
                        .iter()
                        .filter(|&&j| seen.insert(j))
                        .map(|&j| (heap.objects()[j as usize].clone(), Some(j as usize)))
                        .collect()
                }
                // A leaf, or an object created since: ask the collector.
                None => gen_gc::get_referrers(std::slice::from_ref(object))
                    .into_iter()
                    .map(|referrer| {
                        let position = heap.position(&referrer);
                        (referrer, position)
                    })
                    .collect(),
            };
            referrers
                .into_iter()
                .map(|(referrer, position)| {
                    let mut label = JoinedLabel::new(too_many);
                    for text in labels_to(&referrer, object) {
                        label.join(&text);
                    }
                    (referrer, position, label.text())
                })
                .collect()
        }
    }
}

/// The labels of the references from `from` to `to`, in the order `referents` gives them.
///
/// A referrer may be a map of a million entries: labelling every one of its references, in
/// the stable order `referents` sorts them into, to keep those to one object is most of the
/// time of a chain or a graph through it. The references are looked for first without that
/// order and without labels but theirs; only when there are several, whose order then shows,
/// does it ask `referents`.
pub(crate) fn labels_to(from: &GcAny, to: &GcAny) -> Vec<String> {
    struct LabelsTo {
        path: rc_heap::LabelPath,
        target: usize,
        labels: Vec<String>,
    }
    impl rc_heap::Visitor for LabelsTo {
        fn visit_edge(&mut self, edge: rc_heap::Edge<'_>) {
            if edge.header().as_ptr() as usize == self.target {
                self.labels.push(self.path.as_str().to_owned());
            }
        }
        fn enter(&mut self, segment: rc_heap::Segment<'_>) {
            self.path.enter(segment);
        }
        fn leave(&mut self) {
            self.path.leave();
        }
    }
    let mut visitor = LabelsTo { path: rc_heap::LabelPath::default(), target: to.addr(), labels: Vec::new() };
    // A dropped value (legacy garbage after its finalizer) holds nothing.
    let _ = from.trace_with(&mut visitor);
    if visitor.labels.len() <= 1 {
        return visitor.labels;
    }
    from.referents().into_iter().filter(|referent| referent.target.ptr_eq(to)).map(|referent| referent.label).collect()
}

/// The label of an edge that stands for every reference from one object to another: theirs,
/// joined with `, `, the first `too_many` of them (as many as the graph draws edges from one
/// object) and then how many more: a vector holding one object a thousand times is one edge
/// with a label of a line, not 7 KB.
struct JoinedLabel {
    text: String,
    limit: usize,
    shown: usize,
    more: usize,
}

impl JoinedLabel {
    fn new(limit: usize) -> Self {
        JoinedLabel { text: String::new(), limit: limit.max(1), shown: 0, more: 0 }
    }

    fn join(&mut self, label: &str) {
        if label.is_empty() {
            return;
        }
        if self.shown == self.limit {
            self.more += 1;
            return;
        }
        if !self.text.is_empty() {
            self.text.push_str(", ");
        }
        self.text.push_str(label);
        self.shown += 1;
    }

    fn text(mut self) -> String {
        if self.more > 0 {
            self.text.push_str(&format!(", ... ({} more)", self.more));
        }
        self.text
    }
}

/// Why an object is a root of the graph.
struct Root<'a> {
    name: Option<&'a str>,
    outside: usize,
    in_garbage: bool,
}

/// Reference counts of a walk's objects, with objgraph's own handles counted out.
struct ReferenceCounts {
    /// References from other heap objects.
    from_heap: Vec<usize>,
    /// All references but objgraph's own handles and those of the caller's start list.
    total: Vec<usize>,
    in_garbage: Vec<bool>,
    names: Vec<Option<String>>,
}

impl ReferenceCounts {
    fn of(heap: &HeapGraph, objects: &[GcAny], positions: &[Option<usize>], caller: &HashMap<usize, usize>) -> Self {
        let garbage: HashSet<usize> = gen_gc::garbage().iter().map(GcAny::addr).collect();
        let mut from_heap: Vec<Option<usize>> =
            positions.iter().map(|position| position.map(|i| heap.referrers_of(i).len())).collect();
        // References to leaves (and objects created since the snapshot) from tracked objects.
        let missing: HashMap<usize, usize> =
            from_heap.iter().enumerate().filter(|(_, n)| n.is_none()).map(|(i, _)| (objects[i].addr(), i)).collect();
        if !missing.is_empty() {
            /// Counts the references to the objects of `targets`.
            struct CountReferences<'a> {
                targets: &'a HashMap<usize, usize>,
                counts: Vec<usize>,
            }
            impl rc_heap::Visitor for CountReferences<'_> {
                fn visit_edge(&mut self, edge: rc_heap::Edge<'_>) {
                    if let Some(&i) = self.targets.get(&(edge.header().as_ptr() as usize)) {
                        self.counts[i] += 1;
                    }
                }
            }
            let mut visitor = CountReferences { targets: &missing, counts: vec![0; objects.len()] };
            for object in heap.objects() {
                // A dropped value refers to nothing.
                let _ = object.trace_with(&mut visitor);
            }
            for &i in missing.values() {
                from_heap[i] = Some(visitor.counts[i]);
            }
        }
        let names = named_roots();
        let total = objects
            .iter()
            .enumerate()
            .map(|(k, object)| {
                // The walk's handle, the snapshot's (tracked objects) and the caller's list.
                let own = 1 + usize::from(positions[k].is_some());
                let ignored = own + caller.get(&object.addr()).copied().unwrap_or(0);
                object.strong_count().saturating_sub(ignored)
            })
            .collect();
        ReferenceCounts {
            from_heap: from_heap.into_iter().map(Option::unwrap_or_default).collect(),
            total,
            in_garbage: objects.iter().map(|object| garbage.contains(&object.addr())).collect(),
            names: objects.iter().map(|object| names.get(&object.addr()).cloned()).collect(),
        }
    }

    fn refcount(&self, i: usize) -> usize {
        self.total[i]
    }

    fn root(&self, i: usize) -> Option<Root<'_>> {
        let in_garbage = self.in_garbage[i];
        // `gc.garbage` holds one reference; the copy `gen_gc::garbage()` made is gone.
        let outside = self.total[i].saturating_sub(self.from_heap[i] + usize::from(in_garbage));
        let name = self.names[i].as_deref();
        (outside > 0 || in_garbage || name.is_some()).then_some(Root { name, outside, in_garbage })
    }
}

/// objgraph's label: type name (with `[refcount]`), a short description, extra info, and
/// for roots their name and outside references.
fn label(object: &GcAny, refcount: usize, root: Option<Root<'_>>, options: &GraphOptions<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    let mut name = if options.shortnames { object.short_type_name() } else { object.type_name().to_owned() };
    if options.refcounts {
        name.push_str(&format!(" [{refcount}]"));
    }
    lines.push(name);
    if let Some(description) = object.describe() {
        lines.push(description.chars().take(40).collect());
    }
    if let Some(extra_info) = options.extra_info {
        lines.push(extra_info(object));
    }
    if let Some(root) = root {
        if let Some(name) = root.name {
            lines.push(name.to_owned());
        }
        if root.in_garbage {
            lines.push("in gc.garbage".to_owned());
        }
        if root.outside > 0 {
            lines.push(format!("held from outside: {}", root.outside));
        }
    }
    lines.into_iter().flat_map(|line| line.split('\n').map(visible).collect::<Vec<_>>()).collect()
}

/// `line` with control characters and Unicode's noncharacters written as `\xNN`
/// (`\u{NNNN}` past `\xff`), so that labels stay one line and valid in DOT and SVG (XML
/// allows neither).
pub(crate) fn visible(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if unwritable(c) {
            let code = u32::from(c);
            if code <= 0xff {
                out.push_str(&format!("\\x{code:02x}"));
            } else {
                out.push_str(&format!("\\u{{{code:04x}}}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `c` cannot stand in a label as it is: a control character, or a noncharacter
/// (U+FDD0 to U+FDEF, and the last two code points of every plane, U+FFFE and U+FFFF among
/// them), which XML 1.0 documents may not hold.
pub(crate) fn unwritable(c: char) -> bool {
    let code = u32::from(c);
    c.is_control() || (0xfdd0..=0xfdef).contains(&code) || code & 0xfffe == 0xfffe
}
