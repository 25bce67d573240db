//! Retained size: how many bytes would be freed if an object were gone, from the dominator
//! tree of the heap.
//!
//! Object `d` dominates object `o` when every path of references from the roots to `o`
//! passes through `d`: remove `d` and `o` goes with it. The retained size of `d` is the size
//! of `d` and of every object it dominates. The roots are the objects held from outside the
//! heap ([`HeapGraph::outside_refs`]) and the objects no other object refers to; a virtual
//! super-root refers to all of them, so the dominators form one tree.
//!
//! Garbage a collection has not freed yet (a cycle nothing outside holds) is not reached from
//! those roots. Each object of such a region's entry cycles — the strongly connected
//! components no other garbage refers to — counts as a root of its own, so the objects
//! hanging off a garbage cycle are retained by it, and the cycle's objects by nobody.
//!
//! The dominators are computed by Lengauer and Tarjan's algorithm (the simple version, with
//! path compression: O(m log n) for n objects and m references), with explicit stacks so that
//! ten million objects in a chain do not overflow the call stack.

use std::collections::HashMap;
use std::io::{self, Write};

use rc_heap::{Edge, GcAny, Visitor};

use crate::HeapGraph;
use crate::cycles::{NONE, reachable_from, strongly_connected};

/// The dominator tree of a [`HeapGraph`] and every object's retained size, computed once.
///
/// Sizes are [`GcAny::object_size`](rc_heap::GcAny::object_size): the heap bytes of
/// each object, header included. Memory a value owns outside the heap — a `Vec`'s buffer, a
/// `String`'s bytes, a `Box`'s contents — is not counted. Leaves (untracked objects such as a
/// `Gc<String>`) are counted with the object that dominates every object referring to them;
/// a leaf also held from outside the heap is retained by nobody.
///
/// Handles you hold count as references from outside the heap, as everywhere in objgraph:
/// an object you hold a handle to is a root and no longer part of its parent's retained size.
///
/// ```
/// use std::cell::RefCell;
/// use cyclegc::{Gc, Trace};
///
/// #[derive(Trace)]
/// struct Node {
///     children: RefCell<Vec<Gc<Node>>>,
/// }
///
/// let node = || Gc::new(Node { children: RefCell::new(Vec::new()) });
/// let parent = node();
/// parent.children.borrow_mut().extend([node(), node()]);
///
/// let graph = objgraph::HeapGraph::snapshot();
/// let dominators = objgraph::Dominators::new(&graph);
/// let one = cyclegc::TypeInfo::of::<Node>().object_size();
/// // The parent retains itself and both children: drop it and all three go.
/// assert_eq!(dominators.retained_size(&Gc::to_any(&parent)), Some(3 * one));
/// ```
pub struct Dominators<'g> {
    graph: &'g HeapGraph,
    /// Each object's immediate dominator, [`NONE`] for the super-root.
    immediate: Vec<u32>,
    retained_bytes: Vec<usize>,
    retained_objects: Vec<usize>,
}

impl std::fmt::Debug for Dominators<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dominators").field("objects", &self.immediate.len()).finish()
    }
}

/// One object and what it retains, from [`Dominators::largest_retainers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retainer {
    /// The object.
    pub object: GcAny,
    /// Bytes freed if it were gone: its own and those of every object it dominates.
    pub retained_size: usize,
    /// Objects freed if it were gone, itself included.
    pub retained_objects: usize,
}

impl<'g> Dominators<'g> {
    /// The dominator tree of `graph`, and every object's retained size.
    pub fn new(graph: &'g HeapGraph) -> Self {
        let n = graph.len();
        let is_root = roots(graph);
        let tree = DominatorTree::compute(graph, &is_root);
        let mut retained_bytes = vec![0usize; n + 1];
        let mut retained_objects = vec![0usize; n + 1];
        for (i, object) in graph.objects().iter().enumerate() {
            retained_bytes[tree.order[i] as usize] = object.object_size();
            retained_objects[tree.order[i] as usize] = 1;
        }
        tree.add_leaves(graph, &mut retained_bytes, &mut retained_objects);
        // Children come after their dominator in DFS preorder: sum from the last up.
        for k in (1..tree.vertex.len()).rev() {
            let up = tree.idom[k] as usize;
            retained_bytes[up] += retained_bytes[k];
            retained_objects[up] += retained_objects[k];
        }
        let mut immediate = vec![NONE; n];
        let mut bytes = vec![0usize; n];
        let mut objects = vec![0usize; n];
        for i in 0..n {
            let k = tree.order[i] as usize;
            let up = tree.vertex[tree.idom[k] as usize];
            immediate[i] = if up as usize == n { NONE } else { up };
            bytes[i] = retained_bytes[k];
            objects[i] = retained_objects[k];
        }
        Dominators { graph, immediate, retained_bytes: bytes, retained_objects: objects }
    }

    /// The snapshot the tree was computed from.
    pub fn graph(&self) -> &'g HeapGraph {
        self.graph
    }

    /// The object that dominates `object` most closely: the one whose loss frees it. `None`
    /// for a root (held from outside, or referred to by nothing) and for an object not in
    /// the snapshot.
    pub fn immediate_dominator(&self, object: &GcAny) -> Option<GcAny> {
        let i = self.graph.position(object)?;
        self.immediate_dominator_at(i).map(|d| self.graph.objects()[d].clone())
    }

    /// [`Dominators::immediate_dominator`] by snapshot position.
    pub fn immediate_dominator_at(&self, i: usize) -> Option<usize> {
        let up = self.immediate[i];
        (up != NONE).then_some(up as usize)
    }

    /// The bytes freed if `object` were gone; `None` if it is not in the snapshot.
    pub fn retained_size(&self, object: &GcAny) -> Option<usize> {
        self.graph.position(object).map(|i| self.retained_bytes[i])
    }

    /// The bytes freed if object `i` of the snapshot were gone.
    pub fn retained_size_at(&self, i: usize) -> usize {
        self.retained_bytes[i]
    }

    /// The number of objects freed if object `i` of the snapshot were gone, itself and
    /// leaves included.
    pub fn retained_objects_at(&self, i: usize) -> usize {
        self.retained_objects[i]
    }

    /// The objects with the largest retained sizes, largest first (ties in snapshot order),
    /// at most `limit`. A dominator comes before what it dominates, so the first rows are
    /// usually a chain of one structure's owners: the top row is where to look.
    pub fn largest_retainers(&self, limit: usize) -> Vec<Retainer> {
        let mut order: Vec<usize> = (0..self.retained_bytes.len()).collect();
        order.sort_by(|&a, &b| self.retained_bytes[b].cmp(&self.retained_bytes[a]).then(a.cmp(&b)));
        order.truncate(limit);
        order
            .into_iter()
            .map(|i| Retainer {
                object: self.graph.objects()[i].clone(),
                retained_size: self.retained_bytes[i],
                retained_objects: self.retained_objects[i],
            })
            .collect()
    }

    /// Writes [`Dominators::largest_retainers`] as a table in objgraph's style: the short
    /// type name padded to the longest, then the retained objects and bytes in 9 columns.
    pub fn show_largest_retainers(&self, limit: usize, out: &mut dyn Write) -> io::Result<()> {
        let rows = self.largest_retainers(limit);
        let names: Vec<String> = rows.iter().map(|row| row.object.short_type_name()).collect();
        let width = names.iter().map(|name| name.chars().count()).max().unwrap_or(0);
        for (name, row) in names.iter().zip(&rows) {
            writeln!(out, "{name:<width$}{:>9} {:>9}", row.retained_objects, row.retained_size)?;
        }
        Ok(())
    }
}

/// The bytes freed if `obj` were gone: `obj` and every object it dominates, over a fresh
/// snapshot of the heap (see [`Dominators`] for what is counted). A leaf retains only itself.
/// To ask about many objects, build one [`Dominators`] and ask it.
pub fn retained_size(obj: &GcAny) -> usize {
    let graph = HeapGraph::snapshot();
    match graph.position(obj) {
        Some(i) => Dominators::new(&graph).retained_size_at(i),
        None => obj.object_size(),
    }
}

/// The roots of the dominator tree: objects held from outside the heap, and the objects of
/// the strongly connected components of the rest that nothing else of the rest refers to
/// (which includes every object with no referrers).
fn roots(graph: &HeapGraph) -> Vec<bool> {
    let held: Vec<bool> = (0..graph.len()).map(|i| graph.outside_refs_at(i) > 0).collect();
    let reached = reachable_from(graph, (0..graph.len()).filter(|&i| held[i]));
    let rest: Vec<bool> = reached.iter().map(|&r| !r).collect();
    let (component, count) = strongly_connected(graph, &rest);
    let mut entered = vec![false; count];
    for u in (0..graph.len()).filter(|&u| rest[u]) {
        for &w in graph.referents_of(u) {
            if rest[w as usize] && component[w as usize] != component[u] {
                entered[component[w as usize] as usize] = true;
            }
        }
    }
    (0..graph.len()).map(|i| held[i] || (rest[i] && !entered[component[i] as usize])).collect()
}

/// Immediate dominators in DFS preorder numbers; number 0 is the super-root.
struct DominatorTree {
    /// Object position to preorder number.
    order: Vec<u32>,
    /// Preorder number to object position (`graph.len()` for the super-root).
    vertex: Vec<u32>,
    /// Preorder number to its immediate dominator's preorder number ([`NONE`] for 0).
    idom: Vec<u32>,
}

impl DominatorTree {
    fn compute(graph: &HeapGraph, is_root: &[bool]) -> Self {
        let n = graph.len();
        let super_root = n as u32;
        let root_list: Vec<u32> = (0..n).filter(|&i| is_root[i]).map(|i| i as u32).collect();
        let successors = |v: u32| if v == super_root { &root_list[..] } else { graph.referents_of(v as usize) };

        // Depth-first numbering from the super-root, with each vertex's tree parent.
        let mut order = vec![NONE; n + 1];
        let mut vertex: Vec<u32> = Vec::with_capacity(n + 1);
        let mut parent: Vec<u32> = Vec::with_capacity(n + 1);
        let mut stack: Vec<(u32, u32)> = vec![(super_root, 0)];
        order[n] = 0;
        vertex.push(super_root);
        parent.push(NONE);
        while let Some(&mut (v, ref mut edge)) = stack.last_mut() {
            let Some(&w) = successors(v).get(*edge as usize) else {
                stack.pop();
                continue;
            };
            *edge += 1;
            if order[w as usize] == NONE {
                order[w as usize] = vertex.len() as u32;
                parent.push(order[v as usize]);
                vertex.push(w);
                stack.push((w, 0));
            }
        }
        debug_assert_eq!(vertex.len(), n + 1, "every object is reached from the roots");

        let count = vertex.len();
        let mut semi: Vec<u32> = (0..count as u32).collect();
        let mut label: Vec<u32> = (0..count as u32).collect();
        let mut ancestor = vec![NONE; count];
        let mut idom = vec![NONE; count];
        let mut bucket_head = vec![NONE; count];
        let mut bucket_next = vec![NONE; count];
        let mut path: Vec<u32> = Vec::new();
        for w in (1..count).rev() {
            let node = vertex[w] as usize;
            let from_super_root = is_root[node].then_some(0u32);
            let predecessors = graph.referrers_of(node).iter().map(|&p| order[p as usize]).chain(from_super_root);
            for p in predecessors {
                let u = eval(p, &mut ancestor, &mut label, &semi, &mut path);
                semi[w] = semi[w].min(semi[u as usize]);
            }
            let s = semi[w] as usize;
            bucket_next[w] = bucket_head[s];
            bucket_head[s] = w as u32;
            let p = parent[w];
            ancestor[w] = p;
            let mut v = std::mem::replace(&mut bucket_head[p as usize], NONE);
            while v != NONE {
                let u = eval(v, &mut ancestor, &mut label, &semi, &mut path);
                idom[v as usize] = if semi[u as usize] < semi[v as usize] { u } else { p };
                v = bucket_next[v as usize];
            }
        }
        for w in 1..count {
            if idom[w] != semi[w] {
                idom[w] = idom[idom[w] as usize];
            }
        }
        DominatorTree { order, vertex, idom }
    }

    /// Each vertex's depth in the dominator tree and a jump pointer to one of its dominators,
    /// for [`common_dominator`](Self::common_dominator) in a logarithmic number of steps.
    fn jumps(&self) -> Jumps {
        let count = self.idom.len();
        let (mut depth, mut jump) = (vec![0u32; count], vec![0u32; count]);
        // A dominator has a smaller number than what it dominates, so it is done first.
        for w in 1..count {
            let p = self.idom[w] as usize;
            depth[w] = depth[p] + 1;
            // Skew-binary jumps: a vertex jumps as far as its dominator's jump and the jump
            // after that together when those two are the same length, else to its dominator.
            let (j, jj) = (jump[p] as usize, jump[jump[p] as usize] as usize);
            jump[w] = if depth[p] - depth[j] == depth[j] - depth[jj] { jj as u32 } else { p as u32 };
        }
        Jumps { depth, jump }
    }

    /// The nearest common dominator of preorder numbers `a` and `b`.
    fn common_dominator(&self, jumps: &Jumps, mut a: u32, mut b: u32) -> u32 {
        let depth = |v: u32| jumps.depth[v as usize];
        if depth(a) < depth(b) {
            std::mem::swap(&mut a, &mut b);
        }
        let target = depth(b);
        while depth(a) > target {
            let far = jumps.jump[a as usize];
            a = if depth(far) >= target { far } else { self.idom[a as usize] };
        }
        // At one depth, both jump pointers lead to one depth too.
        while a != b {
            let (far_a, far_b) = (jumps.jump[a as usize], jumps.jump[b as usize]);
            if far_a == far_b {
                a = self.idom[a as usize];
                b = self.idom[b as usize];
            } else {
                a = far_a;
                b = far_b;
            }
        }
        a
    }

    /// Adds each leaf's size to the object that dominates every object referring to it, if
    /// only heap objects hold the leaf.
    fn add_leaves(&self, graph: &HeapGraph, bytes: &mut [usize], objects: &mut [usize]) {
        struct Leaf {
            handle: GcAny,
            references: usize,
            holder: u32,
        }
        let mut leaves: HashMap<usize, Leaf> = HashMap::new();
        let mut found = Vec::new();
        // Made on the first leaf held twice: a heap of deep chains sharing one leaf would
        // otherwise walk up its chains again for every reference.
        let mut jumps = None;
        for (i, object) in graph.objects().iter().enumerate() {
            found.clear();
            let _ = object.trace_with(&mut LeafEdges(&mut found));
            for leaf in found.drain(..) {
                let here = self.order[i];
                match leaves.get_mut(&leaf.addr()) {
                    Some(entry) => {
                        entry.references += 1;
                        let jumps = jumps.get_or_insert_with(|| self.jumps());
                        entry.holder = self.common_dominator(jumps, entry.holder, here);
                    }
                    None => {
                        leaves.insert(leaf.addr(), Leaf { handle: leaf, references: 1, holder: here });
                    }
                }
            }
        }
        for leaf in leaves.values() {
            // One count is the entry's own handle.
            if leaf.handle.strong_count() == leaf.references + 1 {
                bytes[leaf.holder as usize] += leaf.handle.object_size();
                objects[leaf.holder as usize] += 1;
            }
        }
    }
}

/// Depths in the dominator tree and jump pointers, by preorder number
/// ([`DominatorTree::jumps`]).
struct Jumps {
    depth: Vec<u32>,
    jump: Vec<u32>,
}

/// Lengauer–Tarjan's `eval`: the vertex of least semidominator on the forest path above `v`,
/// compressing the path on the way (iteratively: the path can be as long as the heap).
fn eval(v: u32, ancestor: &mut [u32], label: &mut [u32], semi: &[u32], path: &mut Vec<u32>) -> u32 {
    if ancestor[v as usize] == NONE {
        return v;
    }
    path.clear();
    let mut x = v;
    while ancestor[ancestor[x as usize] as usize] != NONE {
        path.push(x);
        x = ancestor[x as usize];
    }
    for &x in path.iter().rev() {
        let a = ancestor[x as usize] as usize;
        if semi[label[a] as usize] < semi[label[x as usize] as usize] {
            label[x as usize] = label[a];
        }
        ancestor[x as usize] = ancestor[a];
    }
    label[v as usize]
}

/// Collects handles to the leaves a value refers to.
struct LeafEdges<'a>(&'a mut Vec<GcAny>);

impl Visitor for LeafEdges<'_> {
    fn visit_edge(&mut self, edge: Edge<'_>) {
        if !edge.is_tracked() {
            self.0.push(edge.to_any());
        }
    }
}
