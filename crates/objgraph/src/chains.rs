//! Reference chains: the shortest path from an object to one that satisfies a predicate,
//! following references forward (`find_ref_chain`) or backward (`find_backref_chain`).
//!
//! Python's objgraph stops backward chains at modules. A Rust heap has none, but it can do
//! better: an object whose count is higher than the references it receives from other heap
//! objects is held from outside the heap — a local variable, a static, a thread-local — and
//! that is where a leak is held from. [`HeapGraph::outside_refs`] computes that number;
//! [`find_backref_chain_to_root`] ends chains there.

use std::collections::{HashMap, HashSet, VecDeque};

use rc_heap::{Edge, GcAny, ObjectId, Visitor};

use crate::HeapGraph;

/// Where a chain search starts: the snapshot positions of the objects one step from the start
/// and how many steps that is (0 for a tracked start, 1 for the referrers of a leaf).
struct From<'a> {
    positions: &'a [usize],
    depth: usize,
}

impl HeapGraph {
    /// The tracked objects that refer to `leaf` (an untracked object, in no snapshot), by
    /// position, and how many references they give it in all (one object may refer to it
    /// twice): one pass over the heap, as a leaf's referrers are recorded nowhere.
    fn referrers_of_leaf(&self, leaf: &GcAny) -> (Vec<usize>, usize) {
        struct Refers {
            target: usize,
            found: usize,
        }
        impl Visitor for Refers {
            fn visit_edge(&mut self, edge: Edge<'_>) {
                self.found += usize::from(edge.header().as_ptr() as usize == self.target);
            }
        }
        let mut references = 0;
        let referrers = (0..self.len())
            .filter(|&i| {
                let mut refers = Refers { target: leaf.addr(), found: 0 };
                // A dropped value (legacy garbage) refers to nothing.
                let _ = self.objects[i].trace_with(&mut refers);
                references += refers.found;
                refers.found > 0
            })
            .collect();
        (referrers, references)
    }

    /// The untracked objects (leaves) object `i` refers to: no labels, so a forward search
    /// pays one trace per object it visits, not a label per reference.
    fn leaves_of(&self, i: usize) -> Vec<GcAny> {
        struct Leaves(Vec<GcAny>);
        impl Visitor for Leaves {
            fn visit_edge(&mut self, edge: Edge<'_>) {
                if !edge.is_tracked() {
                    self.0.push(edge.to_any());
                }
            }
        }
        let mut leaves = Leaves(Vec::new());
        // A dropped value (legacy garbage) refers to nothing.
        let _ = self.objects[i].trace_with(&mut leaves);
        leaves.0
    }

    /// The shortest chain from `start`, following references backward (`backward`) or
    /// forward, to an object for which `found` holds: `[found, ..., start]` backward,
    /// `[start, ..., found]` forward. `[start]` when there is none within `max_depth` steps.
    /// An untracked `start` (a leaf) is in no snapshot: a backward chain starts from the
    /// objects that refer to it. A forward chain also ends at a leaf that satisfies `found`.
    fn chain(
        &self,
        start: &GcAny,
        backward: bool,
        max_depth: usize,
        extra_ignore: &[ObjectId],
        found: impl Fn(&GcAny) -> bool,
    ) -> Vec<GcAny> {
        let ignored: Vec<GcAny> = extra_ignore.iter().filter_map(|&id| GcAny::from_id(id)).collect();
        // Leaves are in no snapshot: an ignored one is told by its address.
        let ignored_leaves: HashSet<usize> = ignored.iter().map(GcAny::addr).collect();
        let mut lookups = vec![start.clone()];
        lookups.extend(ignored);
        let positions = self.positions_of(&lookups);
        // The lookup's handles would count as references from outside.
        drop(lookups);
        let ignore: HashSet<usize> = positions[1..].iter().flatten().copied().collect();
        if found(start) {
            return vec![start.clone()];
        }
        let leaf_referrers;
        let from = match positions[0] {
            Some(_) => From { positions: positions[0].as_slice(), depth: 0 },
            None if backward && max_depth > 0 => {
                leaf_referrers = self.referrers_of_leaf(start).0;
                From { positions: &leaf_referrers, depth: 1 }
            }
            None => return vec![start.clone()],
        };
        let found_at = |i: usize| found(&self.objects[i]);
        let leaves = |i: usize| -> Vec<GcAny> {
            if backward {
                return Vec::new();
            }
            let mut leaves = self.leaves_of(i);
            leaves.retain(|leaf| !ignored_leaves.contains(&leaf.addr()));
            leaves
        };
        let Some((path, leaf)) = self.search(&from, backward, max_depth, &ignore, found_at, leaves, &found) else {
            return vec![start.clone()];
        };
        let mut chain: Vec<GcAny> = path.into_iter().map(|i| self.objects[i].clone()).collect();
        if positions[0].is_none() {
            chain.push(start.clone());
        }
        chain.extend(leaf);
        chain
    }

    /// [`HeapGraph::chain`] by snapshot positions, passing through none of `ignore`.
    fn chain_at(
        &self,
        start: usize,
        backward: bool,
        max_depth: usize,
        ignore: &HashSet<usize>,
        found: impl Fn(usize) -> bool,
    ) -> Vec<usize> {
        let from = From { positions: std::slice::from_ref(&start), depth: 0 };
        match self.search(&from, backward, max_depth, ignore, found, |_| Vec::new(), &|_| false) {
            Some((path, _)) => path,
            None => vec![start],
        }
    }

    /// A breadth-first search from `from`: the path to the first object for which
    /// `found(index)` holds (`[found, ..., from]` backward, `[from, ..., found]` forward), or
    /// to the referrer of the first leaf (of those `leaves` gives, one step further than
    /// their referrer, after its tracked referents) for which `found_leaf` holds, the leaf
    /// given apart. The start objects are never ignored, as Python's objgraph ignores only
    /// what it meets. Nothing within `max_depth` steps: `None`.
    #[allow(clippy::too_many_arguments, reason = "the search's parts, each a closure of its caller's")]
    fn search(
        &self,
        from: &From<'_>,
        backward: bool,
        max_depth: usize,
        ignore: &HashSet<usize>,
        found: impl Fn(usize) -> bool,
        leaves: impl Fn(usize) -> Vec<GcAny>,
        found_leaf: &dyn Fn(&GcAny) -> bool,
    ) -> Option<(Vec<usize>, Option<GcAny>)> {
        /// What the queue holds: a tracked object, or a leaf with its referrer.
        enum Step {
            Object(usize),
            Leaf(GcAny, usize),
        }
        let mut parent: HashMap<usize, usize> = HashMap::new();
        let mut depth: HashMap<usize, usize> = HashMap::new();
        let mut leaves_seen: HashSet<usize> = HashSet::new();
        let mut queue = VecDeque::new();
        for &start in from.positions {
            let ignored = from.depth > 0 && ignore.contains(&start);
            if from.depth <= max_depth && !ignored && !depth.contains_key(&start) {
                depth.insert(start, from.depth);
                queue.push_back(Step::Object(start));
            }
        }
        let path_to = |parent: &HashMap<usize, usize>, mut at: usize| {
            let mut path = vec![at];
            while let Some(&previous) = parent.get(&at) {
                path.push(previous);
                at = previous;
            }
            if !backward {
                path.reverse();
            }
            path
        };
        while let Some(step) = queue.pop_front() {
            let current = match step {
                Step::Object(current) => current,
                Step::Leaf(leaf, referrer) => {
                    if found_leaf(&leaf) {
                        return Some((path_to(&parent, referrer), Some(leaf)));
                    }
                    continue;
                }
            };
            if found(current) {
                return Some((path_to(&parent, current), None));
            }
            let next_depth = depth[&current] + 1;
            if next_depth > max_depth {
                continue;
            }
            let neighbours = if backward { self.referrers_of(current) } else { self.referents_of(current) };
            for next in neighbours.iter().map(|&n| n as usize) {
                if ignore.contains(&next) || depth.contains_key(&next) {
                    continue;
                }
                depth.insert(next, next_depth);
                parent.insert(next, current);
                queue.push_back(Step::Object(next));
            }
            for leaf in leaves(current) {
                if leaves_seen.insert(leaf.addr()) {
                    queue.push_back(Step::Leaf(leaf, current));
                }
            }
        }
        None
    }

    /// The shortest chain from an object held from outside the heap down to object `start`,
    /// by positions: `[root, ..., start]`, or `[start]` when there is none within
    /// `max_depth` steps (or `start` is itself held from outside). `held(i)` is how many
    /// handles to object `i` the caller holds: they are not references from outside.
    pub(crate) fn chain_to_root_at(&self, start: usize, max_depth: usize, held: impl Fn(usize) -> usize) -> Vec<usize> {
        self.chain_at(start, true, max_depth, &HashSet::new(), |i| self.outside_refs_at(i) > held(i))
    }
}

/// The shortest chain of references from an object satisfying `predicate` down to `obj`:
/// `[root, ..., obj]`, or `[obj]` if there is none within `max_depth` steps
/// (`objgraph.find_backref_chain`). Objects whose ids are in `extra_ignore` are not passed
/// through. `obj` may be untracked (a leaf, such as a `Gc<String>`): the chain reaches it
/// through the tracked objects that refer to it. `predicate` is a closure or a function
/// (`|o| o.is::<Cache>()`, or `&is_cache`). An object that cannot be traced while this runs
/// (a `RefCell` of it mutably borrowed, a `Mutex` locked) hides its references, so no chain
/// passes through it: ask outside any `borrow_mut`.
pub fn find_backref_chain(
    obj: &GcAny,
    predicate: impl Fn(&GcAny) -> bool,
    max_depth: usize,
    extra_ignore: &[ObjectId],
) -> Vec<GcAny> {
    chain_matching(obj, true, &predicate, max_depth, extra_ignore)
}

/// The shortest chain of references from `obj` to an object satisfying `predicate`:
/// `[obj, ..., target]`, or `[obj]` (`objgraph.find_ref_chain`). The target may be untracked
/// (a leaf): the last step then goes from a tracked object to one of its leaves.
pub fn find_ref_chain(
    obj: &GcAny,
    predicate: impl Fn(&GcAny) -> bool,
    max_depth: usize,
    extra_ignore: &[ObjectId],
) -> Vec<GcAny> {
    chain_matching(obj, false, &predicate, max_depth, extra_ignore)
}

/// A chain over a fresh snapshot, taken after a full collection (as objgraph's `_find_chain`
/// collects first, so that no chain passes through garbage), ending at an object that
/// satisfies `predicate`.
fn chain_matching(
    obj: &GcAny,
    backward: bool,
    predicate: &dyn Fn(&GcAny) -> bool,
    max_depth: usize,
    extra_ignore: &[ObjectId],
) -> Vec<GcAny> {
    gen_gc::collect();
    HeapGraph::snapshot().chain(obj, backward, max_depth, extra_ignore, predicate)
}

/// The shortest chain from an object held from outside the heap down to `obj`, or `[obj]`
/// when only other heap objects hold it — the answer to "who keeps this alive?". The handle
/// `obj` itself does not count as outside; every other handle does, including those in lists
/// the caller still holds (drop what `by_type` returned but this object before asking):
/// when such a handle holds `obj` itself, `obj` is its own root and the answer is `[obj]`
/// too.
///
/// The chain holds a handle on each of its objects: while it lives, they are held from
/// outside the heap once more (a graph drawn then says `held from outside: 2` of its root,
/// a collection frees none of them). Keep what you need of it (`show_chain`'s text) and
/// drop it before drawing or collecting again.
pub fn find_backref_chain_to_root(obj: &GcAny, max_depth: usize, extra_ignore: &[ObjectId]) -> Vec<GcAny> {
    gen_gc::collect();
    let graph = HeapGraph::snapshot();
    let start = graph.positions_of(std::slice::from_ref(obj))[0];
    let leaf_references = match start {
        Some(_) => 0,
        None => graph.referrers_of_leaf(obj).1,
    };
    graph.chain(obj, true, max_depth, extra_ignore, |object| {
        if object.ptr_eq(obj) {
            // `obj` is one handle; a leaf's other references come from its referrers or
            // from outside.
            let outside = match start {
                Some(i) => graph.outside_refs_at(i),
                None => obj.strong_count().saturating_sub(leaf_references),
            };
            return outside > 1;
        }
        graph.position(object).is_some_and(|i| graph.outside_refs_at(i) > 0)
    })
}
