//! Grouping leaked objects by the shape of their chain from a root, with what each group
//! retains and where its objects were created.
//!
//! One snapshot of the heap serves everything, so the cost is linear in the heap: a
//! breadth-first walk from the roots gives every object its distance to the nearest root;
//! the shortest chains of the leaked objects go back along referrers one step closer each
//! time; the dominator tree gives retained sizes. Edge labels are read only for the objects
//! on those chains.

use std::any::TypeId;
use std::collections::VecDeque;

use rc_heap::{Edge, GcAny, Segment, Visitor};
use rustc_hash::{FxHashMap, FxHashSet};

use super::report::{ChainRoot, LeakGroup};
use crate::counts::Names;
use crate::cycles::NONE;
use crate::roots::named_roots;
use crate::{Dominators, HeapGraph};

/// What the report keeps of each group.
pub(super) struct Options {
    pub(super) sites: bool,
    pub(super) examples: usize,
}

/// The groups of leaked objects, and what they retain together.
#[derive(Default)]
pub(super) struct Found {
    pub(super) groups: Vec<LeakGroup>,
    pub(super) retained_bytes: usize,
}

/// A chain's shape as two snapshots can compare it: its root, its steps, the type it leads
/// to.
type ShapeKey = (ChainRoot, Vec<String>, TypeId);

/// How many live objects each chain shape led to, for some types, at one moment of a check.
#[derive(Default)]
pub(super) struct Census(FxHashMap<ShapeKey, usize>);

/// The census of the live objects whose type is in `types`, by the shape of their chain.
pub(super) fn census(types: &FxHashSet<TypeId>) -> Census {
    if types.is_empty() {
        return Census::default();
    }
    let graph = HeapGraph::snapshot();
    let targets: Vec<usize> =
        (0..graph.len()).filter(|&i| types.contains(&graph.objects()[i].type_info().type_id())).collect();
    let mut chains = Chains::new(&graph);
    let prefixes = chains.prefixes_of(&targets);
    let mut counts: FxHashMap<ShapeKey, usize> = FxHashMap::default();
    for (&i, &prefix) in targets.iter().zip(&prefixes) {
        *counts.entry(chains.key(prefix, graph.objects()[i].type_info().type_id())).or_insert(0) += 1;
    }
    Census(counts)
}

/// Groups the leaked objects among the live objects whose type is in `leaking`.
///
/// A group (a chain shape, the shapes of one list or tree made one) leaks when it leads to
/// more objects now than it did at `before` (the census after the first measured run): a
/// structure that holds as many objects as before (a bounded cache, a slot whose object was
/// replaced) is left out, even though its objects are new. A group's leaked objects are its
/// new objects (in `new`), and when it grew by more than that (older objects moved to it: a
/// cache's evicted entries kept in a list), as many of its older objects as it grew by
/// beyond them; its growth is that since the first run, and its part of its type's growth
/// in the first run (`leaking` maps each leaking type to that growth), shared among the
/// type's growing groups in proportion. A leaking type none of whose groups grew (a chain read differently at the
/// two moments) keeps its new objects, grouped by shape.
pub(super) fn find(
    leaking: &FxHashMap<TypeId, usize>,
    new: &FxHashSet<usize>,
    before: &Census,
    options: &Options,
) -> Found {
    let graph = HeapGraph::snapshot();
    let candidates: Vec<usize> =
        (0..graph.len()).filter(|&i| leaking.contains_key(&graph.objects()[i].type_info().type_id())).collect();
    if candidates.is_empty() {
        return Found::default();
    }

    let mut chains = Chains::new(&graph);
    let prefixes = chains.prefixes_of(&candidates);
    // One group per chain shape and type, with its new objects and its older ones.
    let mut group_of_key: FxHashMap<(u32, TypeId), usize> = FxHashMap::default();
    let mut shapes: Vec<(u32, TypeId)> = Vec::new();
    let mut fresh: Vec<Vec<usize>> = Vec::new();
    let mut old: Vec<Vec<usize>> = Vec::new();
    for (&i, &prefix) in candidates.iter().zip(&prefixes) {
        let key = (prefix, graph.objects()[i].type_info().type_id());
        let group = *group_of_key.entry(key).or_insert_with(|| {
            shapes.push(key);
            fresh.push(Vec::new());
            old.push(Vec::new());
            shapes.len() - 1
        });
        if new.contains(&graph.objects()[i].addr()) { fresh[group].push(i) } else { old[group].push(i) }
    }
    let mut names = Names::new(false);
    // Which groups grew: the shapes of one list or tree made one (`Runs`), every object of
    // the leaking types counted.
    let group_prefix: Vec<u32> = shapes.iter().map(|&(prefix, _)| prefix).collect();
    let grouped = Runs::of(&chains.shapes, &group_prefix, |group| {
        let first = &graph.objects()[*fresh[group].first().unwrap_or_else(|| &old[group][0])];
        (first.type_info().type_id(), names.of(first).to_owned())
    });
    let merged_count = grouped.steps.len();
    let (mut merged_fresh, mut merged_old) = (vec![Vec::new(); merged_count], vec![Vec::new(); merged_count]);
    let mut then = vec![0usize; merged_count];
    let mut merged_type = vec![None; merged_count];
    for (group, &(prefix, type_id)) in shapes.iter().enumerate() {
        let merged = grouped.merged[group];
        merged_fresh[merged].extend(&fresh[group]);
        merged_old[merged].extend(&old[group]);
        then[merged] += before.0.get(&chains.key(prefix, type_id)).copied().unwrap_or(0);
        merged_type[merged] = Some(type_id);
    }
    // A group that leads to more objects than it did after the first run leaks: its new
    // objects, and as many older ones as it grew by beyond them, the first run's growth of
    // its type shared among the type's growing groups as they grew since.
    let growth: Vec<usize> = (0..merged_count)
        .map(|merged| (merged_fresh[merged].len() + merged_old[merged].len()).saturating_sub(then[merged]))
        .collect();
    let mut growth_of_type: FxHashMap<TypeId, usize> = FxHashMap::default();
    for merged in 0..merged_count {
        *growth_of_type.entry(merged_type[merged].expect("every group has a shape")).or_insert(0) += growth[merged];
    }
    let mut kept: Vec<Option<Vec<usize>>> = vec![None; merged_count];
    let mut covered: FxHashSet<TypeId> = FxHashSet::default();
    for merged in 0..merged_count {
        if growth[merged] == 0 {
            continue;
        }
        let type_id = merged_type[merged].expect("every group has a shape");
        let first_run = leaking.get(&type_id).copied().unwrap_or(0);
        let of_type = growth_of_type[&type_id];
        let count = growth[merged] + (first_run * growth[merged] + of_type / 2) / of_type;
        let (fresh, old) = (&merged_fresh[merged], &merged_old[merged]);
        let extra = count.saturating_sub(fresh.len()).min(old.len());
        kept[merged] = Some(fresh.iter().chain(&old[..extra]).copied().collect());
        covered.insert(type_id);
    }
    // A leaking type none of whose groups grew keeps its new objects.
    for merged in 0..merged_count {
        let type_id = merged_type[merged].expect("every group has a shape");
        if kept[merged].is_none() && !covered.contains(&type_id) && !merged_fresh[merged].is_empty() {
            kept[merged] = Some(std::mem::take(&mut merged_fresh[merged]));
        }
    }
    let leaked: FxHashSet<usize> = kept.into_iter().flatten().flatten().collect();
    if leaked.is_empty() {
        return Found::default();
    }

    // The leaked objects grouped as a report shows them: their own shapes made one.
    let mut group_prefix: Vec<u32> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (group, &(prefix, _)) in shapes.iter().enumerate() {
        let objects: Vec<usize> =
            fresh[group].iter().chain(&old[group]).copied().filter(|i| leaked.contains(i)).collect();
        if !objects.is_empty() {
            group_prefix.push(prefix);
            members.push(objects);
        }
    }
    let runs = Runs::of(&chains.shapes, &group_prefix, |group| {
        let first = &graph.objects()[members[group][0]];
        (first.type_info().type_id(), names.of(first).to_owned())
    });
    let mut merged: Vec<Vec<usize>> = vec![Vec::new(); runs.steps.len()];
    for (group, members) in members.into_iter().enumerate() {
        merged[runs.merged[group]].extend(members);
    }
    let members = merged;
    let mut group_of_object = vec![NONE; graph.len()];
    for (group, members) in members.iter().enumerate() {
        for &i in members {
            group_of_object[i] = group as u32;
        }
    }

    let held_through: Vec<Option<u32>> =
        members.iter().map(|members| chains.held_through(members[0], &group_of_object)).collect();
    let dominators = Dominators::new(&graph);
    let (group_bytes, retained_bytes) = retained_by_groups(&dominators, &group_of_object, members.len());

    let mut groups: Vec<LeakGroup> = members
        .iter()
        .zip(group_bytes)
        .zip(runs.steps)
        .zip(runs.roots)
        .map(|(((members, retained_bytes), steps), root)| {
            let first = &graph.objects()[members[0]];
            let mut sites: FxHashMap<String, usize> = FxHashMap::default();
            if options.sites {
                for &i in members {
                    if let Some(site) = graph.objects()[i].alloc_site() {
                        *sites.entry(crate::site_path::site_label(site)).or_insert(0) += 1;
                    }
                }
            }
            let mut sites: Vec<(String, usize)> = sites.into_iter().collect();
            sites.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            LeakGroup {
                root,
                steps,
                type_name: names.of(first).to_owned(),
                full_type_name: first.type_name(),
                count: members.len(),
                retained_bytes,
                sites,
                examples: members.iter().take(options.examples).map(|&i| graph.objects()[i].id()).collect(),
                held_through: None,
            }
        })
        .collect();
    let type_names: Vec<String> = groups.iter().map(|group| group.type_name.clone()).collect();
    for (group, through) in groups.iter_mut().zip(held_through) {
        group.held_through = through.map(|other| type_names[other as usize].clone());
    }
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.chain().cmp(&b.chain()))
            .then_with(|| a.full_type_name.cmp(b.full_type_name))
    });
    Found { groups, retained_bytes }
}

/// The groups of the objects of one list or tree, made one: chains that differ only in how
/// many times they take a step from an object to another of its own type (`Node.next`, once,
/// repeated, or not at all, for the list's first node) are one chain, the step written with
/// `+` (taken once or more) or `*` (also not at all).
struct Runs {
    /// The merged group of each group.
    merged: Vec<usize>,
    /// Each merged group's root and steps.
    roots: Vec<ChainRoot>,
    steps: Vec<Vec<String>>,
}

/// A chain split into the steps between objects of different types (the skeleton) and the
/// steps between objects of one type, each written after the skeleton step it follows.
#[derive(PartialEq, Eq, Hash, Clone)]
struct Skeleton {
    root: ChainRoot,
    type_id: TypeId,
    steps: Vec<String>,
}

/// A step from an object to another of its type: where it goes in the skeleton (before
/// skeleton step `after`), and its text without `+`.
#[derive(PartialEq, Eq, Hash, Clone)]
struct SelfStep {
    after: usize,
    text: String,
}

impl Runs {
    /// The merged groups of groups whose chains are `shapes[prefix[g]]`, given each group's
    /// type and short type name.
    fn of(shapes: &[Shape], prefix: &[u32], mut type_of: impl FnMut(usize) -> (TypeId, String)) -> Runs {
        let mut split: Vec<(Skeleton, Vec<SelfStep>, bool)> = Vec::with_capacity(prefix.len());
        for (group, &shape) in prefix.iter().enumerate() {
            let shape = &shapes[shape as usize];
            let (type_id, type_name) = type_of(group);
            let mut skeleton = Skeleton { root: shape.root.clone(), type_id, steps: Vec::new() };
            let mut selfs = Vec::new();
            let mut repeated = false;
            for (k, step) in shape.steps.iter().enumerate() {
                let base = step.strip_suffix('+').unwrap_or(step);
                let target = shape.steps.get(k + 1).map_or(type_name.as_str(), |next| holder_type(next));
                if holder_type(base) == target {
                    repeated |= base.len() != step.len();
                    selfs.push(SelfStep { after: skeleton.steps.len(), text: base.to_owned() });
                } else {
                    skeleton.steps.push(step.clone());
                }
            }
            split.push((skeleton, selfs, repeated));
        }
        // The distinct self steps seen with each skeleton: merged when there is one.
        let mut kinds: FxHashMap<&Skeleton, FxHashSet<&[SelfStep]>> = FxHashMap::default();
        for (skeleton, selfs, _) in &split {
            if !selfs.is_empty() {
                kinds.entry(skeleton).or_default().insert(selfs.as_slice());
            }
        }
        let mut merged_of_key: FxHashMap<(&Skeleton, &[SelfStep]), usize> = FxHashMap::default();
        let mut runs = Runs { merged: Vec::with_capacity(split.len()), roots: Vec::new(), steps: Vec::new() };
        // Per merged group: its skeleton and self steps, whether a member lacks them, and
        // whether a member repeats them.
        let mut parts: Vec<(&Skeleton, &[SelfStep], bool, bool)> = Vec::new();
        for (skeleton, selfs, repeated) in &split {
            let unique = kinds.get(skeleton).filter(|kinds| kinds.len() == 1).and_then(|kinds| kinds.iter().next());
            let key_selfs: &[SelfStep] = match unique {
                Some(&only) => only,
                None => selfs,
            };
            let merged = *merged_of_key.entry((skeleton, key_selfs)).or_insert_with(|| {
                parts.push((skeleton, key_selfs, false, false));
                parts.len() - 1
            });
            let part = &mut parts[merged];
            part.2 |= selfs.is_empty() && !key_selfs.is_empty();
            part.3 |= *repeated;
            runs.merged.push(merged);
        }
        for (skeleton, selfs, lacking, repeated) in parts {
            let mark = if lacking {
                "*"
            } else if repeated {
                "+"
            } else {
                ""
            };
            let mut steps = Vec::with_capacity(skeleton.steps.len() + selfs.len());
            let mut pending = selfs.iter().peekable();
            for k in 0..=skeleton.steps.len() {
                while let Some(step) = pending.next_if(|step| step.after == k) {
                    steps.push(format!("{}{mark}", step.text));
                }
                if let Some(step) = skeleton.steps.get(k) {
                    steps.push(step.clone());
                }
            }
            runs.roots.push(skeleton.root.clone());
            runs.steps.push(steps);
        }
        runs
    }
}

/// The type of the object a step starts from: its text up to the field or index.
fn holder_type(step: &str) -> &str {
    let end = step.find(['.', '[']).unwrap_or(step.len());
    &step[..end]
}

/// The retained bytes of each group (the objects of the group that no other object of the
/// group dominates) and of all leaked objects together, in one walk of the dominator tree
/// that keeps, for each group, how many of its objects are above the current one.
fn retained_by_groups(dominators: &Dominators<'_>, group_of_object: &[u32], groups: usize) -> (Vec<usize>, usize) {
    let n = group_of_object.len();
    let mut first_child = vec![NONE; n];
    let mut next_sibling = vec![NONE; n];
    let mut tops: Vec<u32> = Vec::new();
    for i in (0..n).rev() {
        match dominators.immediate_dominator_at(i) {
            Some(up) => {
                next_sibling[i] = first_child[up];
                first_child[up] = i as u32;
            }
            None => tops.push(i as u32),
        }
    }
    let mut bytes = vec![0usize; groups];
    let mut total = 0usize;
    let mut above = vec![0u32; groups];
    let mut above_any = 0u32;
    // (object, whether its subtree is done)
    let mut stack: Vec<(u32, bool)> = tops.into_iter().rev().map(|i| (i, false)).collect();
    while let Some((i, done)) = stack.pop() {
        let group = group_of_object[i as usize];
        if done {
            above[group as usize] -= 1;
            above_any -= 1;
            continue;
        }
        if group != NONE {
            let size = dominators.retained_size_at(i as usize);
            if above[group as usize] == 0 {
                bytes[group as usize] += size;
            }
            if above_any == 0 {
                total += size;
            }
            above[group as usize] += 1;
            above_any += 1;
            stack.push((i, true));
        }
        let mut child = first_child[i as usize];
        while child != NONE {
            stack.push((child, false));
            child = next_sibling[child as usize];
        }
    }
    (bytes, total)
}

/// A chain's beginning, shared by every object reached through it: where it starts and its
/// steps.
struct Shape {
    root: ChainRoot,
    steps: Vec<String>,
    /// Whether the last step repeats (is marked `+`).
    repeated: bool,
    /// The chain as text without the final type, for choosing between shortest chains.
    text: String,
}

impl Shape {
    /// Named roots first, then alphabetical.
    fn order_key(&self) -> (bool, &str) {
        (!matches!(self.root, ChainRoot::Named(_)), &self.text)
    }
}

/// The shortest chains from the roots over one snapshot.
struct Chains<'g> {
    graph: &'g HeapGraph,
    /// Steps from the nearest root, [`NONE`] if no root reaches the object.
    depth: Vec<u32>,
    names: Names,
    root_names: std::collections::HashMap<usize, String>,
    shapes: Vec<Shape>,
    root_shapes: FxHashMap<ChainRoot, u32>,
    extended: FxHashMap<(u32, String), u32>,
    /// The labels of the references each object on a chain holds, by target address.
    labels: FxHashMap<u32, FxHashMap<usize, String>>,
    /// The chain shape of every object on a chain to a target ([`NONE`] elsewhere).
    shape_of: Vec<u32>,
}

impl<'g> Chains<'g> {
    /// The distance of every object from the roots: objects held from outside the heap,
    /// named objects and those in `gc.garbage`.
    fn new(graph: &'g HeapGraph) -> Self {
        let mut root_names = named_roots();
        // `gc.garbage` holds the legacy policy's uncollectable objects: chains start there.
        let garbage: Vec<usize> = gen_gc::garbage().iter().map(GcAny::addr).collect();
        for address in garbage {
            root_names.entry(address).or_insert_with(|| "gc.garbage".to_owned());
        }
        let mut depth = vec![NONE; graph.len()];
        let mut queue = VecDeque::new();
        for (i, depth) in depth.iter_mut().enumerate() {
            if graph.outside_refs_at(i) > 0 || root_names.contains_key(&graph.objects()[i].addr()) {
                *depth = 0;
                queue.push_back(i);
            }
        }
        while let Some(current) = queue.pop_front() {
            for &next in graph.referents_of(current) {
                if depth[next as usize] == NONE {
                    depth[next as usize] = depth[current] + 1;
                    queue.push_back(next as usize);
                }
            }
        }
        Chains {
            graph,
            depth,
            names: Names::new(false),
            root_names,
            shapes: Vec::new(),
            root_shapes: FxHashMap::default(),
            extended: FxHashMap::default(),
            labels: FxHashMap::default(),
            shape_of: Vec::new(),
        }
    }

    /// The shape of the chain that leads to each of `targets` (without the target itself).
    fn prefixes_of(&mut self, targets: &[usize]) -> Vec<u32> {
        // Every object on a shortest chain to a target, found backward: a referrer one step
        // closer to the roots.
        let n = self.graph.len();
        let mut on_chain = vec![false; n];
        let mut pending: Vec<usize> = Vec::new();
        for &target in targets {
            if !on_chain[target] {
                on_chain[target] = true;
                pending.push(target);
            }
        }
        let mut order: Vec<usize> = Vec::new();
        while let Some(current) = pending.pop() {
            order.push(current);
            for previous in self.closer(current) {
                if !on_chain[previous] {
                    on_chain[previous] = true;
                    pending.push(previous);
                }
            }
        }
        // Closer objects first, so that each object's referrers have their shapes.
        order.sort_by_key(|&i| (self.depth[i], i));
        let mut shape_of = vec![NONE; n];
        for i in order {
            shape_of[i] = self.shape_at(i, &shape_of);
        }
        let prefixes = targets.iter().map(|&i| shape_of[i]).collect();
        self.shape_of = shape_of;
        prefixes
    }

    /// The first object of another group on the chain of object `i` (the chain its group
    /// shows: through the referrer whose own chain reads first), if any.
    fn held_through(&self, mut i: usize, group_of_object: &[u32]) -> Option<u32> {
        let own = group_of_object[i];
        loop {
            let closer = self.closer(i);
            let shape = |p: usize| self.shapes.get(self.shape_of[p] as usize).map(Shape::order_key);
            i = closer.into_iter().min_by(|&a, &b| shape(a).cmp(&shape(b)).then(a.cmp(&b)))?;
            let group = group_of_object[i];
            if group != NONE && group != own {
                return Some(group);
            }
        }
    }

    /// The referrers of object `i` one step closer to the roots.
    fn closer(&self, i: usize) -> Vec<usize> {
        let depth = self.depth[i];
        if depth == NONE || depth == 0 {
            return Vec::new();
        }
        self.graph.referrers_of(i).iter().map(|&p| p as usize).filter(|&p| self.depth[p] == depth - 1).collect()
    }

    /// The shape of the chain to object `i`, given those of the objects closer to the roots.
    fn shape_at(&mut self, i: usize, shape_of: &[u32]) -> u32 {
        let address = self.graph.objects()[i].addr();
        match self.depth[i] {
            NONE => self.root(ChainRoot::Unreachable),
            0 => match self.root_names.get(&address) {
                Some(name) => self.root(ChainRoot::Named(name.clone())),
                None => self.root(ChainRoot::HeldFromOutside),
            },
            _ => {
                let mut best: Option<u32> = None;
                for previous in self.closer(i) {
                    let step = self.step(previous, address);
                    let shape = self.extend(shape_of[previous], step);
                    let better = best.is_none_or(|best| {
                        self.shapes[shape as usize].order_key() < self.shapes[best as usize].order_key()
                    });
                    if better {
                        best = Some(shape);
                    }
                }
                best.expect("an object below a root has a referrer one step closer to it")
            }
        }
    }

    /// The step from object `holder` to the object at `target`: the holder's type and the
    /// label of the reference.
    fn step(&mut self, holder: usize, target: usize) -> String {
        let graph = self.graph;
        let labels = self.labels.entry(holder as u32).or_insert_with(|| {
            let mut visitor = NormalisedLabels::default();
            // A dropped value (legacy garbage) has no references, and so no chain through it.
            let _ = graph.objects()[holder].trace_with(&mut visitor);
            visitor.labels
        });
        let label = labels.get(&target).map_or("", String::as_str);
        let type_name = self.names.of(&graph.objects()[holder]);
        match label {
            "" => type_name.to_owned(),
            label if label.starts_with('[') => format!("{type_name}{label}"),
            label => format!("{type_name}.{label}"),
        }
    }

    /// The shape of a chain that starts at `root`.
    fn root(&mut self, root: ChainRoot) -> u32 {
        if let Some(&shape) = self.root_shapes.get(&root) {
            return shape;
        }
        let text = match &root {
            ChainRoot::Named(name) => name.clone(),
            ChainRoot::HeldFromOutside => String::new(),
            ChainRoot::Unreachable => "(unreachable)".to_owned(),
        };
        let shape = self.push(Shape { root: root.clone(), steps: Vec::new(), repeated: false, text });
        self.root_shapes.insert(root, shape);
        shape
    }

    /// The comparable form of chain `shape` leading to an object of type `type_id`.
    fn key(&self, shape: u32, type_id: TypeId) -> ShapeKey {
        let shape = &self.shapes[shape as usize];
        (shape.root.clone(), shape.steps.clone(), type_id)
    }

    /// The shape of chain `parent` followed by `step`. A step that repeats the last one
    /// marks it `+` instead (a linked list is one shape, however long).
    fn extend(&mut self, parent: u32, step: String) -> u32 {
        let key = (parent, step);
        if let Some(&shape) = self.extended.get(&key) {
            return shape;
        }
        let (parent_index, step) = (parent as usize, &key.1);
        let last = self.shapes[parent_index].steps.last().map(|last| last.strip_suffix('+').unwrap_or(last));
        let shape = if last == Some(step.as_str()) {
            if self.shapes[parent_index].repeated {
                parent
            } else {
                let parent = &self.shapes[parent_index];
                let mut steps = parent.steps.clone();
                steps.last_mut().expect("a last step").push('+');
                let text = format!("{}+", parent.text);
                self.push(Shape { root: parent.root.clone(), steps, repeated: true, text })
            }
        } else {
            let parent = &self.shapes[parent_index];
            let mut steps = parent.steps.clone();
            steps.push(step.clone());
            let text = if parent.text.is_empty() { step.clone() } else { format!("{} -> {step}", parent.text) };
            self.push(Shape { root: parent.root.clone(), steps, repeated: false, text })
        };
        self.extended.insert(key, shape);
        shape
    }

    fn push(&mut self, shape: Shape) -> u32 {
        self.shapes.push(shape);
        self.shapes.len() as u32 - 1
    }
}

/// Collects the labels of a value's references by target address, with indices and map keys
/// written `[*]`, keeping the least label of a target referred to twice.
#[derive(Default)]
struct NormalisedLabels {
    path: String,
    marks: Vec<usize>,
    labels: FxHashMap<usize, String>,
}

impl Visitor for NormalisedLabels {
    fn visit_edge(&mut self, edge: Edge<'_>) {
        let address = edge.header().as_ptr() as usize;
        match self.labels.get_mut(&address) {
            Some(known) if self.path < *known => self.path.clone_into(known),
            Some(_) => {}
            None => {
                self.labels.insert(address, self.path.clone());
            }
        }
    }

    fn enter(&mut self, segment: Segment<'_>) {
        self.marks.push(self.path.len());
        match segment {
            Segment::Field(name) | Segment::Variant(name) => {
                if !self.path.is_empty() {
                    self.path.push('.');
                }
                self.path.push_str(name);
            }
            Segment::Index(_) | Segment::Key(_) => self.path.push_str("[*]"),
        }
    }

    fn leave(&mut self) {
        if let Some(len) = self.marks.pop() {
            self.path.truncate(len);
        }
    }
}
