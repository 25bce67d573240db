//! Reference chains: the shortest path from an object to one that satisfies a predicate,
//! following references forward (`find_ref_chain`) or backward (`find_backref_chain`).
//!
//! Python's objgraph stops backward chains at modules. A Rust heap has none, but it can do
//! better: an object whose count is higher than the references it receives from other heap
//! objects is held from outside the heap — a local variable, a static, a thread-local — and
//! that is where a leak is held from. [`HeapGraph::outside_refs`] computes that number;
//! [`find_backref_chain_to_root`] ends chains there.

use std::collections::{HashMap, HashSet, VecDeque};

use rc_heap::{GcAny, ObjectId};

use crate::HeapGraph;

impl HeapGraph {
    /// The shortest chain from `start`, following references backward (`backward`) or
    /// forward, to an object for which `found(index)` holds: `[found, ..., start]` backward,
    /// `[start, ..., found]` forward. `[start]` when there is none within `max_depth` steps.
    fn chain(
        &self,
        start: &GcAny,
        backward: bool,
        max_depth: usize,
        extra_ignore: &[ObjectId],
        found: impl Fn(usize) -> bool,
    ) -> Vec<GcAny> {
        let ignored: Vec<GcAny> = extra_ignore.iter().filter_map(|&id| GcAny::from_id(id)).collect();
        let mut lookups = vec![start.clone()];
        lookups.extend(ignored);
        let positions = self.positions_of(&lookups);
        // The lookup's handles would count as references from outside.
        drop(lookups);
        let Some(start_index) = positions[0] else { return vec![start.clone()] };
        let ignore: HashSet<usize> = positions[1..].iter().flatten().copied().collect();
        self.chain_at(start_index, backward, max_depth, &ignore, found)
            .into_iter()
            .map(|i| self.objects[i].clone())
            .collect()
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
        let mut parent: HashMap<usize, usize> = HashMap::new();
        let mut depth: HashMap<usize, usize> = HashMap::from([(start, 0)]);
        let mut queue = VecDeque::from([start]);
        while let Some(current) = queue.pop_front() {
            if found(current) {
                let mut path = vec![current];
                let mut at = current;
                while let Some(&previous) = parent.get(&at) {
                    path.push(previous);
                    at = previous;
                }
                if !backward {
                    path.reverse();
                }
                return path;
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
                queue.push_back(next);
            }
        }
        vec![start]
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
/// through.
pub fn find_backref_chain(
    obj: &GcAny,
    predicate: &dyn Fn(&GcAny) -> bool,
    max_depth: usize,
    extra_ignore: &[ObjectId],
) -> Vec<GcAny> {
    chain_matching(obj, true, predicate, max_depth, extra_ignore)
}

/// The shortest chain of references from `obj` to an object satisfying `predicate`:
/// `[obj, ..., target]`, or `[obj]` (`objgraph.find_ref_chain`).
pub fn find_ref_chain(
    obj: &GcAny,
    predicate: &dyn Fn(&GcAny) -> bool,
    max_depth: usize,
    extra_ignore: &[ObjectId],
) -> Vec<GcAny> {
    chain_matching(obj, false, predicate, max_depth, extra_ignore)
}

/// A chain over a fresh snapshot, ending at an object that satisfies `predicate`.
fn chain_matching(
    obj: &GcAny,
    backward: bool,
    predicate: &dyn Fn(&GcAny) -> bool,
    max_depth: usize,
    extra_ignore: &[ObjectId],
) -> Vec<GcAny> {
    let graph = HeapGraph::snapshot();
    graph.chain(obj, backward, max_depth, extra_ignore, |i| predicate(&graph.objects[i]))
}

/// The shortest chain from an object held from outside the heap down to `obj`, or `[obj]`
/// when only other heap objects hold it — the answer to "who keeps this alive?". The handle
/// `obj` itself does not count as outside; every other handle does, including those in lists
/// the caller still holds (drop what `by_type` returned but this object before asking).
pub fn find_backref_chain_to_root(obj: &GcAny, max_depth: usize, extra_ignore: &[ObjectId]) -> Vec<GcAny> {
    let graph = HeapGraph::snapshot();
    let Some(start) = graph.positions_of(std::slice::from_ref(obj))[0] else { return vec![obj.clone()] };
    graph.chain(obj, true, max_depth, extra_ignore, |i| {
        let outside = graph.outside_refs_at(i);
        if i == start { outside > 1 } else { outside > 0 }
    })
}
