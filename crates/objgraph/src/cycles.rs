//! Which cycles: the strongly connected components of the objects a collection would free.
//!
//! `gc.collect()` says how many objects it freed; `DEBUG_SAVEALL` keeps them in `garbage`
//! for a look. What a leak hunter wants next is the shape: which objects form each cycle, so
//! that one reference in it can become weak. A strongly connected component of the reference
//! graph is exactly a set of objects that all reach each other: one cycle, or several that
//! share objects.

use std::collections::HashSet;
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
fn frozen(graph: &HeapGraph) -> Vec<bool> {
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
                let cycle = Cycle { objects: order.iter().map(|&i| self.objects[i].clone()).collect() };
                (cycle.type_names(), order[0], cycle)
            })
            .collect();
        cycles.sort_by(|a, b| b.2.len().cmp(&a.2.len()).then_with(|| a.0.cmp(&b.0)).then_with(|| a.1.cmp(&b.1)));
        cycles.into_iter().map(|(_, _, cycle)| cycle).collect()
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
    /// `3 objects: Connection -> Vec<Handler> -> Handler`; a self-reference reads
    /// `1 object: Node -> Node`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.type_names();
        let plural = if names.len() == 1 { "" } else { "s" };
        write!(f, "{} object{plural}: ", names.len())?;
        let mut shown: Vec<&str> = names.iter().take(SUMMARY_NAMES).map(String::as_str).collect();
        if names.len() == 1 {
            shown.push(&names[0]);
        } else if names.len() > SUMMARY_NAMES {
            shown.push("...");
        }
        f.write_str(&shown.join(" -> "))
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
