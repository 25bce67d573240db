//! Which cycles: the strongly connected components of the objects a collection would free.
//!
//! `gc.collect()` says how many objects it freed; `DEBUG_SAVEALL` keeps them in `garbage`
//! for a look. What a leak hunter wants next is the shape: which objects form each cycle, so
//! that one reference in it can become weak. A strongly connected component of the reference
//! graph is exactly a set of objects that all reach each other: one cycle, or several that
//! share objects.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use rc_heap::GcAny;

use crate::HeapGraph;

/// Marks a node that is not in the subgraph, or not yet numbered.
pub(crate) const NONE: u32 = u32::MAX;

/// What the objects `from` refer to, directly or not, themselves included: `reached[i]`.
pub(crate) fn reachable_from(graph: &HeapGraph, from: impl IntoIterator<Item = usize>) -> Vec<bool> {
    let mut reached = vec![false; graph.len()];
    let mut stack: Vec<usize> = Vec::new();
    for start in from {
        if !reached[start] {
            reached[start] = true;
            stack.push(start);
        }
    }
    while let Some(current) = stack.pop() {
        for &next in graph.referents_of(current) {
            if !reached[next as usize] {
                reached[next as usize] = true;
                stack.push(next as usize);
            }
        }
    }
    reached
}

/// The strongly connected components of the subgraph of the objects with `member[i]`, by
/// Tarjan's algorithm with an explicit stack (heaps are deeper than the call stack).
///
/// Returns each object's component ([`NONE`] outside the subgraph) and the number of
/// components. Components are numbered in reverse topological order: a reference from one
/// component to another goes to a lower number.
pub(crate) fn strongly_connected(graph: &HeapGraph, member: &[bool]) -> (Vec<u32>, usize) {
    let n = graph.len();
    let mut order = vec![NONE; n];
    let mut low = vec![0u32; n];
    let mut component = vec![NONE; n];
    let mut components = 0u32;
    let mut next_order = 0u32;
    let mut open: Vec<u32> = Vec::new();
    let mut calls: Vec<(u32, u32)> = Vec::new();
    for start in 0..n {
        if !member[start] || order[start] != NONE {
            continue;
        }
        order[start] = next_order;
        low[start] = next_order;
        next_order += 1;
        open.push(start as u32);
        calls.push((start as u32, 0));
        while let Some(&mut (v, ref mut edge)) = calls.last_mut() {
            let referents = graph.referents_of(v as usize);
            if let Some(&w) = referents.get(*edge as usize) {
                *edge += 1;
                let w_index = w as usize;
                if !member[w_index] {
                    continue;
                }
                if order[w_index] == NONE {
                    order[w_index] = next_order;
                    low[w_index] = next_order;
                    next_order += 1;
                    open.push(w);
                    calls.push((w, 0));
                } else if component[w_index] == NONE {
                    // Still open: `w` is on the current path's component stack.
                    low[v as usize] = low[v as usize].min(order[w_index]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(caller, _)) = calls.last() {
                low[caller as usize] = low[caller as usize].min(low[v as usize]);
            }
            if low[v as usize] == order[v as usize] {
                while let Some(w) = open.pop() {
                    component[w as usize] = components;
                    if w == v {
                        break;
                    }
                }
                components += 1;
            }
        }
    }
    (component, components as usize)
}

/// Objects in the permanent generation (`gc.freeze()`): no collection examines them, so
/// they keep what they refer to alive.
pub(crate) fn frozen(graph: &HeapGraph) -> Vec<bool> {
    let mut frozen = vec![false; graph.len()];
    if gen_gc::get_freeze_count() == 0 {
        return frozen;
    }
    frozen.fill(true);
    for generation in 0..gen_gc::NUM_GENERATIONS {
        for object in gen_gc::get_objects(Some(generation)) {
            if let Some(i) = graph.position(&object) {
                frozen[i] = false;
            }
        }
    }
    frozen
}

impl HeapGraph {
    /// What a full collection would find unreachable: the objects that no object held from
    /// outside the heap (or frozen) reaches, as gen-gc decides it.
    pub(crate) fn unreachable(&self) -> Vec<bool> {
        let frozen = frozen(self);
        let roots = (0..self.len()).filter(|&i| frozen[i] || self.outside_refs_at(i) > 0);
        let mut unreachable = reachable_from(self, roots);
        unreachable.iter_mut().for_each(|reached| *reached = !*reached);
        unreachable
    }

    /// The cycles among the objects with `member[i]`: components of more than one object, and
    /// objects that refer to themselves, largest first.
    fn cycles_in(&self, member: &[bool]) -> Vec<Cycle> {
        let (component, count) = strongly_connected(self, member);
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); count];
        for (i, &c) in component.iter().enumerate() {
            if c != NONE {
                members[c as usize].push(i);
            }
        }
        let mut cycles: Vec<(Vec<String>, usize, Cycle)> = members
            .into_iter()
            .filter(|objects| objects.len() > 1 || self.referents_of(objects[0]).contains(&(objects[0] as u32)))
            .map(|objects| {
                let order = self.walk_order(&objects, &component);
                let summary = self.summary_loop(&order, &component);
                let cycle = Cycle { objects: order.iter().map(|&i| self.objects[i].clone()).collect(), summary };
                (cycle.type_names(), order[0], cycle)
            })
            .collect();
        cycles.sort_by(|a, b| b.2.len().cmp(&a.2.len()).then_with(|| a.0.cmp(&b.0)).then_with(|| a.1.cmp(&b.1)));
        cycles.into_iter().map(|(_, _, cycle)| cycle).collect()
    }

    /// The positions in `order` (one component in walk order) of a loop of references to
    /// show in its summary: all of `order` when the walk is itself a ring (each object refers
    /// to the next, the last to the first), otherwise the shortest loop from the first object
    /// back to it, so that every arrow of a summary is a reference.
    fn summary_loop(&self, order: &[usize], component: &[u32]) -> Vec<usize> {
        let refers = |from: usize, to: usize| self.referents_of(from).contains(&(to as u32));
        let ring = (0..order.len()).all(|k| refers(order[k], order[(k + 1) % order.len()]));
        if ring {
            return (0..order.len()).collect();
        }
        let start = order[0];
        let own = component[start];
        let mut parent: HashMap<usize, usize> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(current) = queue.pop_front() {
            for &next in self.referents_of(current) {
                let next = next as usize;
                if next == start {
                    let mut path = vec![current];
                    while let Some(&previous) = parent.get(path.last().expect("the path is not empty")) {
                        path.push(previous);
                    }
                    path.reverse();
                    let positions: HashMap<usize, usize> =
                        order.iter().enumerate().map(|(position, &object)| (object, position)).collect();
                    return path.iter().map(|i| positions[i]).collect();
                }
                if component[next] == own && next != start && !parent.contains_key(&next) {
                    parent.insert(next, current);
                    queue.push_back(next);
                }
            }
        }
        unreachable!("every object of a strongly connected component lies on a loop")
    }

    /// The objects of one component in the order references lead through them: from the one
    /// whose short type name sorts first (then the earliest in the snapshot), depth first
    /// along references, so that a ring reads round the ring.
    fn walk_order(&self, objects: &[usize], component: &[u32]) -> Vec<usize> {
        let name = |i: usize| self.objects[i].short_type_name();
        let start = objects.iter().copied().min_by_key(|&i| (name(i), i)).expect("a component is not empty");
        let own = component[start];
        let mut seen: HashSet<usize> = HashSet::new();
        let mut order = Vec::with_capacity(objects.len());
        let mut stack = vec![start];
        while let Some(current) = stack.pop() {
            if !seen.insert(current) {
                continue;
            }
            order.push(current);
            // Reversed so that the first reference is walked first.
            for &next in self.referents_of(current).iter().rev() {
                let next = next as usize;
                if component[next] == own && !seen.contains(&next) {
                    stack.push(next);
                }
            }
        }
        order
    }

    /// The cycles a full collection would free now: the strongly connected components (of
    /// more than one object, or one that refers to itself) among the objects nothing outside
    /// the heap holds. See [`garbage_cycles`].
    pub fn garbage_cycles(&self) -> Vec<Cycle> {
        self.cycles_in(&self.unreachable())
    }
}

/// The objects of one strongly connected component: each reaches every other by references.
///
/// The cycle holds a handle on each object, which counts as a reference from outside the
/// heap: drop it before collecting, or it keeps the cycle alive. Two cycles are equal when
/// they hold the same objects (by identity) in the same order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    objects: Vec<GcAny>,
    /// Positions in `objects` of the loop of references the summary shows.
    summary: Vec<usize>,
}

impl Cycle {
    /// The objects, in the order references lead through them, starting from the object
    /// whose short type name sorts first.
    pub fn objects(&self) -> &[GcAny] {
        &self.objects
    }

    /// The objects, giving up the cycle.
    pub fn into_objects(self) -> Vec<GcAny> {
        self.objects
    }

    /// The number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the cycle has no objects (never true for a cycle this crate returns).
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The short type names of the objects, in [`Cycle::objects`] order.
    pub fn type_names(&self) -> Vec<String> {
        self.objects.iter().map(GcAny::short_type_name).collect()
    }
}

/// The most type names a [`Cycle`]'s summary lists before `...`.
const SUMMARY_NAMES: usize = 8;

impl fmt::Display for Cycle {
    /// A ring reads round the ring: `3 objects: Connection -> Handler -> Logger` (the last
    /// refers back to the first); a self-reference reads `1 object: Node -> Node`. Any other
    /// component shows its shortest loop through the first object, closed, and how many
    /// objects are not on it: `5 objects: Item -> Session -> Item, and 3 more` (a session
    /// and its four items, each pointing back at it). Every arrow is a reference.
    ///
    /// The alternate form (`{:#}`) names the reference each arrow is, and closes every loop:
    /// `2 objects: Node.owner_table -> Node.children[0] -> Node`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.type_names();
        let plural = if names.len() == 1 { "" } else { "s" };
        write!(f, "{} object{plural}: ", names.len())?;
        let ring = self.summary.len() == names.len();
        if f.alternate() {
            let mut shown: Vec<String> = Vec::new();
            for (k, &from) in self.summary.iter().enumerate().take(SUMMARY_NAMES) {
                let to = &self.objects[self.summary[(k + 1) % self.summary.len()]];
                let label = self.objects[from]
                    .referents()
                    .into_iter()
                    .find(|referent| referent.target.ptr_eq(to))
                    .map(|referent| referent.label);
                shown.push(match label {
                    Some(label) if !label.is_empty() => format!("{}.{label}", names[from]),
                    _ => names[from].clone(),
                });
            }
            shown.push(if self.summary.len() > SUMMARY_NAMES { "...".to_owned() } else { names[0].clone() });
            f.write_str(&shown.join(" -> "))?;
            if !ring {
                write!(f, ", and {} more", names.len() - self.summary.len())?;
            }
            return Ok(());
        }
        let mut shown: Vec<&str> = self.summary.iter().take(SUMMARY_NAMES).map(|&i| names[i].as_str()).collect();
        if self.summary.len() > SUMMARY_NAMES {
            shown.push("...");
        } else if names.len() == 1 || !ring {
            shown.push(&names[0]);
        }
        f.write_str(&shown.join(" -> "))?;
        if !ring {
            write!(f, ", and {} more", names.len() - self.summary.len())?;
        }
        Ok(())
    }
}

/// The cycles a full collection would free now, largest first (ties by type names): the
/// strongly connected components among the objects that no object held from outside the
/// heap reaches — what `gc.collect()` would count — keeping components of more than one
/// object and objects that refer to themselves.
///
/// Garbage that is not a cycle (an object only a cycle refers to) is freed with it but is
/// in no component. Objects in `gc.garbage` are held by that list, so they are not garbage
/// here: ask [`cycles_among`] about them.
///
/// Each [`Cycle`] holds its objects: while the returned cycles live, their objects are held
/// from outside the heap and a collection frees none of them. Keep their text
/// (`cycle.to_string()`) and drop them before collecting.
pub fn garbage_cycles() -> Vec<Cycle> {
    HeapGraph::snapshot().garbage_cycles()
}

/// The cycles among `objects` (references to other objects are left out), largest first:
/// for what `gen_gc::garbage()` holds under the legacy finalizer policy or with
/// `DEBUG_SAVEALL`, or any set of objects of interest. Leaves are skipped.
pub fn cycles_among(objects: &[GcAny]) -> Vec<Cycle> {
    let mut seen = HashSet::new();
    let tracked: Vec<GcAny> = objects.iter().filter(|o| o.is_tracked() && seen.insert(o.addr())).cloned().collect();
    let graph = HeapGraph::of(tracked);
    graph.cycles_in(&vec![true; graph.len()])
}
