//! The analyses a report runs on the heap, each turned into paragraphs, a table and graphs
//! at once, so that the report keeps no handle.
//!
//! Handles matter here: every handle counts as a reference from outside the heap. Each
//! analysis drops the snapshot it read (which holds a handle on every object) before it
//! draws graphs, and tells the graph walk which handles are its own or its caller's.

use std::collections::{HashMap, HashSet};

use rc_heap::GcAny;

use super::model::{self, ChainStep, Details, ObjectLabel};
use super::{CHAIN_MAX_DEPTH, Cell, Table};
use crate::graph::{show_chain_holding, show_refs_holding, visible};
use crate::roots::named_roots;
use crate::{Dominators, Graph, GraphOptions, HeapGraph, HeapSnapshot};

/// At most this many graphs per analysis: a page of a hundred graphs is read by nobody.
pub(super) const MAX_FIGURES: usize = 5;

/// A cycle of more objects than this is listed, not drawn.
const MAX_CYCLE_DRAWN: usize = 50;

/// A cycle's details list at most this many of its objects.
const MAX_MEMBERS_LISTED: usize = 50;

/// What an analysis adds to its section: blocks ready as they are, and graphs the report
/// still has to name.
pub(super) enum Block {
    Ready(model::Block),
    Figure { name: String, caption: String, graph: Graph },
}

pub(super) fn paragraph(text: String) -> Block {
    Block::Ready(model::Block::Paragraph { text })
}

fn table(caption: &str, table: Table) -> Block {
    Block::Ready(model::Block::Table(table.into_data(caption.to_owned())))
}

/// Objects and bytes per type, most objects first.
pub(super) fn heap_summary(snapshot: &HeapSnapshot) -> Vec<Block> {
    let mut totals: Vec<_> = snapshot.type_totals().into_iter().collect();
    totals.sort_by(|(a_name, a), (b_name, b)| {
        b.count
            .cmp(&a.count)
            .then(b.bytes.cmp(&a.bytes))
            .then_with(|| a.short_type_name.cmp(b.short_type_name))
            .then_with(|| a_name.cmp(b_name))
    });
    let objects: usize = totals.iter().map(|(_, total)| total.count).sum();
    let bytes: usize = totals.iter().map(|(_, total)| total.bytes).sum();
    let mut rows = Table::new(["Type", "Count", "Bytes"]);
    for (full_name, total) in &totals {
        rows.row([Cell::from(total.short_type_name), total.count.into(), total.bytes.into()]);
        rows.keywords((*full_name).to_owned());
    }
    vec![
        paragraph(format!(
            "{objects} tracked {} of {} {}, {bytes} bytes. Bytes are each object's heap bytes, header included; \
             memory a value owns outside the heap (a Vec's buffer, a String's text) is not counted.",
            plural(objects, "object", "objects"),
            totals.len(),
            plural(totals.len(), "type", "types"),
        )),
        table("Objects by type", rows),
    ]
}

/// The types that changed between two snapshots.
pub(super) fn growth(before: &HeapSnapshot, after: &HeapSnapshot) -> Vec<Block> {
    let diff = HeapSnapshot::diff(before, after);
    if diff.rows.is_empty() {
        return vec![paragraph("No type changed: the same number of objects and bytes of every type.".to_owned())];
    }
    let objects: i64 = diff.rows.iter().map(|row| row.count_delta).sum();
    let bytes: i64 = diff.rows.iter().map(|row| row.bytes_delta).sum();
    let mut rows = Table::new(["Type", "Count", "Change", "Bytes", "Bytes change"]);
    for row in &diff.rows {
        rows.row([
            Cell::from(row.type_name.as_str()),
            row.count.into(),
            Cell::Change(row.count_delta),
            row.bytes.into(),
            Cell::Change(row.bytes_delta),
        ]);
        rows.keywords(row.full_type_name.clone());
    }
    vec![
        paragraph(format!(
            "{} {} changed, {objects:+} objects and {bytes:+} bytes in all, most growth first.",
            diff.rows.len(),
            plural(diff.rows.len(), "type", "types"),
        )),
        table("Growth by type", rows),
    ]
}

/// Each object's size, retained bytes and chain from a root.
pub(super) fn retainers_of(objs: &[GcAny]) -> Vec<Block> {
    let mut caller: HashMap<usize, usize> = HashMap::new();
    for object in objs {
        *caller.entry(object.addr()).or_default() += 1;
    }
    let names = named_roots();
    let mut rows = Table::new(["Object", "Size", "Retained bytes"]);
    rows.details_title("Held by");
    let to_draw: Vec<Vec<GcAny>>;
    {
        let graph = HeapGraph::snapshot();
        let positions = graph.positions_of(objs);
        let dominators = positions.iter().any(Option::is_some).then(|| Dominators::new(&graph));
        let held = |i: usize| caller.get(&graph.objects()[i].addr()).copied().unwrap_or(0);
        let mut seen = HashSet::new();
        let mut chains: Vec<Vec<usize>> = Vec::new();
        for (object, position) in objs.iter().zip(positions) {
            if !seen.insert(object.addr()) {
                continue;
            }
            let label = object_label(object, &names).text();
            let size = object.object_size();
            let (Some(i), Some(dominators)) = (position, &dominators) else {
                let details = Details {
                    summary: "untracked: a leaf, not in the collector's graph".to_owned(),
                    text: format!("{label} can refer to no object, so the collector does not track it."),
                    chain: None,
                };
                rows.push(vec![label.into(), size.into(), size.into()], Some(details));
                continue;
            };
            let chain = graph.chain_to_root_at(i, CHAIN_MAX_DEPTH, held);
            let details = chain_details(&graph, &chain, &held, &names);
            rows.push(vec![label.into(), size.into(), dominators.retained_size_at(i).into()], Some(details));
            if chain.len() > 1 && chains.len() < MAX_FIGURES {
                chains.push(chain);
            }
        }
        // Handles taken only now: held during the walks above, they would be references
        // from outside.
        to_draw = chains.iter().map(|chain| chain.iter().map(|&j| graph.objects()[j].clone()).collect()).collect();
    }
    let mut blocks = vec![
        paragraph(format!(
            "{} {}: each with its own size, the bytes it retains (itself and what only it keeps alive), \
             and the shortest chain of references from an object held from outside the heap (a variable, \
             a static, a thread-local) down to it. Unfold a row to read its chain.",
            rows.len(),
            plural(rows.len(), "object", "objects"),
        )),
        table("Who holds them", rows),
    ];
    for (k, chain) in to_draw.iter().enumerate() {
        let held = objs.iter().chain(to_draw.iter().enumerate().filter(|&(j, _)| j != k).flat_map(|(_, other)| other));
        let graph = show_chain_holding(std::slice::from_ref(chain), true, &GraphOptions::default(), held);
        let first = object_label(chain.first().expect("a chain has objects"), &names).text();
        let last = chain.last().expect("a chain has objects").short_type_name();
        blocks.push(Block::Figure {
            name: format!("held-{}", k + 1),
            caption: format!("show_chain: what holds {last}, from {first}"),
            graph,
        });
    }
    blocks
}

/// The objects that retain the most bytes, each with its chain from a root.
pub(super) fn largest_retainers(limit: usize) -> Vec<Block> {
    let names = named_roots();
    let mut rows = Table::new(["Object", "Retained objects", "Retained bytes"]);
    rows.details_title("Held by");
    let graph = HeapGraph::snapshot();
    let dominators = Dominators::new(&graph);
    let largest: Vec<(usize, usize, usize)> = dominators
        .largest_retainers(limit)
        .into_iter()
        .filter_map(|row| Some((graph.position(&row.object)?, row.retained_objects, row.retained_size)))
        .collect();
    for (i, objects, bytes) in largest {
        let label = object_label(&graph.objects()[i], &names).text();
        let chain = graph.chain_to_root_at(i, CHAIN_MAX_DEPTH, |_| 0);
        let details = chain_details(&graph, &chain, &|_| 0, &names);
        rows.push(vec![label.into(), objects.into(), bytes.into()], Some(details));
    }
    let text = if rows.is_empty() {
        "The heap holds no tracked object.".to_owned()
    } else {
        "The objects whose loss would free the most bytes: each retains itself and every object only it keeps \
         alive (the heap's dominator tree). An owner comes before what it owns, so the first rows are often one \
         structure's chain of owners; the top row is where to look."
            .to_owned()
    };
    vec![paragraph(text), table("Largest retainers", rows)]
}

/// The cycles a collection would free, with their objects and a graph of the first few.
pub(super) fn garbage_cycles() -> Vec<Block> {
    let graph = HeapGraph::snapshot();
    let unreachable = graph.unreachable();
    let cycles = graph.garbage_cycles();
    if cycles.is_empty() {
        return vec![paragraph("No garbage cycles: a full collection would free no cycle now.".to_owned())];
    }
    let names = named_roots();
    let mut rows = Table::new(["Cycle", "Objects", "Bytes"]);
    rows.details_title("Members");
    let mut total_objects = 0;
    let mut total_bytes = 0;
    for cycle in &cycles {
        let bytes: usize = cycle.objects().iter().map(|object| object.object_size()).sum();
        total_objects += cycle.len();
        total_bytes += bytes;
        let details = Details {
            summary: format!("{} {}", cycle.len(), plural(cycle.len(), "object", "objects")),
            text: members_text(cycle.objects(), &names),
            chain: None,
        };
        rows.push(vec![cycle.to_string().into(), cycle.len().into(), bytes.into()], Some(details));
    }
    // Garbage in no cycle (an object only cycles refer to) is freed with them: say so, so that
    // the totals add up to what `gc.collect()` returns.
    let (mut hanging_objects, mut hanging_bytes) = (0, 0);
    for (object, _) in graph.objects().iter().zip(&unreachable).filter(|(_, unreachable)| **unreachable) {
        hanging_objects += 1;
        hanging_bytes += object.object_size();
    }
    hanging_objects -= total_objects;
    hanging_bytes -= total_bytes;
    drop(graph);
    let hanging = if hanging_objects == 0 {
        String::new()
    } else {
        format!(
            ", holding {hanging_objects} more {} in no cycle ({hanging_bytes} bytes), freed with them",
            plural(hanging_objects, "object", "objects")
        )
    };
    let mut blocks = vec![
        paragraph(format!(
            "{} {}, {total_objects} objects, {total_bytes} bytes{hanging}: what a full collection would free \
             now, as strongly connected components (objects that all reach each other). Make one reference of \
             each cycle weak and reference counting frees it without the collector.",
            cycles.len(),
            plural(cycles.len(), "cycle", "cycles"),
        )),
        table("Cycles among garbage", rows),
    ];
    let held: Vec<&GcAny> = cycles.iter().flat_map(|cycle| cycle.objects()).collect();
    for (k, cycle) in cycles.iter().filter(|cycle| cycle.len() <= MAX_CYCLE_DRAWN).take(MAX_FIGURES).enumerate() {
        let members: HashSet<usize> = cycle.objects().iter().map(GcAny::addr).collect();
        let in_cycle = |object: &GcAny| members.contains(&object.addr());
        let options = GraphOptions {
            max_depth: cycle.len(),
            filter: Some(&in_cycle),
            too_many: cycle.len(),
            ..Default::default()
        };
        let graph = show_refs_holding(&cycle.objects()[..1], held.iter().copied(), &options);
        blocks.push(Block::Figure {
            name: format!("cycle-{}", k + 1),
            caption: format!("show_refs of a garbage cycle: {cycle}"),
            graph,
        });
    }
    blocks
}

/// How reports name an object: type, description, name, each on one line (a program's
/// descriptions and names may hold any text, control characters included).
pub(super) fn object_label(object: &GcAny, names: &HashMap<usize, String>) -> ObjectLabel {
    ObjectLabel {
        type_name: object.short_type_name(),
        description: object.describe().map(|description| visible(&description.chars().take(40).collect::<String>())),
        name: names.get(&object.addr()).map(|name| visible(name)),
    }
}

/// The labels of the references from `from` to `to`, joined on one line: `items[0], cache`.
fn reference_label(from: &GcAny, to: &GcAny) -> String {
    let labels: Vec<String> = crate::graph::labels_to(from, to).iter().map(|label| visible(label)).collect();
    labels.join(", ")
}

/// The chain of positions `chain` (root first) in a row's details.
fn chain_details(
    graph: &HeapGraph,
    chain: &[usize],
    held: &dyn Fn(usize) -> usize,
    names: &HashMap<usize, String>,
) -> Details {
    let steps = chain_steps(graph, chain, held, names);
    Details { summary: chain_summary(&steps), text: chain_text(&steps), chain: Some(steps) }
}

/// The objects of the chain of positions `chain` (root first), each with the reference that
/// leads to it and its references from outside the heap, less the `held(i)` that are the
/// caller's handles.
pub(super) fn chain_steps(
    graph: &HeapGraph,
    chain: &[usize],
    held: &dyn Fn(usize) -> usize,
    names: &HashMap<usize, String>,
) -> Vec<ChainStep> {
    let objects = graph.objects();
    chain
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let via = (k > 0).then(|| reference_label(&objects[chain[k - 1]], &objects[i]));
            ChainStep {
                via,
                object: object_label(&objects[i], names),
                held_from_outside: graph.outside_refs_at(i).saturating_sub(held(i)),
            }
        })
        .collect()
}

/// Where a chain starts, in a line: `REGISTRY: Registry, 2 references away`.
pub(super) fn chain_summary(steps: &[ChainStep]) -> String {
    let root = &steps[0];
    if steps.len() > 1 {
        let references = steps.len() - 1;
        format!("{}, {references} {} away", root.object.text(), plural(references, "reference", "references"))
    } else if root.held_from_outside > 0 {
        "held from outside the heap".to_owned()
    } else {
        format!("no root within {CHAIN_MAX_DEPTH} references: held only by a cycle or by garbage")
    }
}

/// A chain, an object a line: the root, then each reference and the object it leads to.
pub(super) fn chain_text(steps: &[ChainStep]) -> String {
    let mut text = String::new();
    for step in steps {
        match &step.via {
            None => text.push_str(&step.object.text()),
            Some(via) => text.push_str(&format!("\n  {via} → {}", step.object.text())),
        }
        if step.held_from_outside > 0 {
            text.push_str(&format!("    [held from outside: {}]", step.held_from_outside));
        }
    }
    text
}

/// A cycle's objects, each with its references to the others.
fn members_text(objects: &[GcAny], names: &HashMap<usize, String>) -> String {
    let labels: HashMap<usize, String> =
        objects.iter().map(|object| (object.addr(), object_label(object, names).text())).collect();
    let mut text = String::new();
    for object in objects.iter().take(MAX_MEMBERS_LISTED) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&labels[&object.addr()]);
        for referent in object.referents() {
            if let Some(target) = labels.get(&referent.target.addr()) {
                text.push_str(&format!("\n  {} → {target}", visible(&referent.label)));
            }
        }
    }
    if objects.len() > MAX_MEMBERS_LISTED {
        text.push_str(&format!("\n... and {} more", objects.len() - MAX_MEMBERS_LISTED));
    }
    text
}

pub(super) fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
