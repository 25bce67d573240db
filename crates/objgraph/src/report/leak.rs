//! A leak check's section: the [`LeakReport`] as data, the chains of each group's example
//! objects and a graph of one of them, read from the heap while those objects are alive,
//! and the two tables the page and the text show the data as (the types that grew, the
//! leaked groups).
//!
//! The example objects come back as handles ([`LeakGroup::objects`]), and every handle counts
//! as a reference from outside the heap: the chains and the graphs are told which handles
//! are ours, so an example never shows as held from outside because the report holds it.

use std::collections::HashMap;

use rc_heap::GcAny;

use super::analysis::{Block, MAX_FIGURES, chain_steps, chain_summary, chain_text, object_label, paragraph, plural};
use super::model::{self, LeakCheckData, LeakGroupData, LeakRoot, SiteCount, TableData, TypeGrowthData};
use super::{CHAIN_MAX_DEPTH, Cell, Table};
use crate::graph::{show_backrefs_holding, show_chain_holding};
use crate::roots::named_roots;
use crate::{ChainRoot, GraphOptions, HeapGraph, LeakGroup, LeakReport, TypeGrowth};

/// How far back the graph of an example goes when no chain from a root leads to it: it is
/// held from outside itself, or no root reaches it within [`CHAIN_MAX_DEPTH`] references.
const BACKREFS_DEPTH: usize = 3;

/// At most this many referrers of one object in that graph; more become one node.
const BACKREFS_TOO_MANY: usize = 10;

/// The section's blocks: a paragraph, the data (shown as tables), and a graph of an example
/// of each of the first few groups.
pub(super) fn leak_check(report: &LeakReport) -> Vec<Block> {
    let examples: Vec<Vec<GcAny>> = report.groups.iter().map(LeakGroup::objects).collect();
    let mut caller: HashMap<usize, usize> = HashMap::new();
    for object in examples.iter().flatten() {
        *caller.entry(object.addr()).or_default() += 1;
    }
    let names = named_roots();
    let mut example_chains: Vec<Vec<Vec<model::ChainStep>>> = vec![Vec::new(); report.groups.len()];
    // For each group drawn: its index, and the chain of its first example still alive.
    let mut to_draw: Vec<(usize, Vec<GcAny>)> = Vec::new();
    if !caller.is_empty() {
        let graph = HeapGraph::snapshot();
        let held = |i: usize| caller.get(&graph.objects()[i].addr()).copied().unwrap_or(0);
        let positions = graph.positions_of(&examples.iter().flatten().cloned().collect::<Vec<_>>());
        let mut positions = positions.into_iter();
        let mut chains_drawn: Vec<(usize, Vec<usize>)> = Vec::new();
        for (k, objects) in examples.iter().enumerate() {
            for position in positions.by_ref().take(objects.len()).flatten() {
                let chain = graph.chain_to_root_at(position, CHAIN_MAX_DEPTH, held);
                example_chains[k].push(chain_steps(&graph, &chain, &held, &names));
                if chains_drawn.len() < MAX_FIGURES && chains_drawn.last().is_none_or(|&(drawn, _)| drawn != k) {
                    chains_drawn.push((k, chain));
                }
            }
        }
        // Handles taken only now: held during the walks above, they would be references
        // from outside.
        to_draw = chains_drawn
            .into_iter()
            .map(|(k, chain)| (k, chain.iter().map(|&i| graph.objects()[i].clone()).collect()))
            .collect();
    }

    let data = LeakCheckData {
        warmup_runs: report.warmup_runs,
        measured_runs: report.measured_runs,
        leaked_objects: report.leaked_objects(),
        retained_bytes: report.retained_bytes,
        growing: report.growing.iter().map(growth_data).collect(),
        unsteady: report.unsteady.iter().map(growth_data).collect(),
        groups: report.groups.iter().zip(example_chains).map(|(group, examples)| group_data(group, examples)).collect(),
    };
    let untracked = report.untracked_growing();
    let mut text = introduction(&data, report.dead_weak.grew_every_run());
    if !untracked.is_empty() {
        text.push_str(&format!(
            " {} {} no Gc, so the heap does not track {}: counted through the tracked objects that hold them, \
             they have no group here; {}.",
            untracked.join(", "),
            plural(untracked.len(), "holds", "hold"),
            plural(untracked.len(), "its objects", "their objects"),
            report.untracked_remedy().join("; "),
        ));
    }
    if report.dead_weak.grew_every_run() {
        text.push_str(&format!(" {}.", report.dead_weak.lines().join("; ")));
    }
    let mut blocks = vec![paragraph(text), Block::Ready(model::Block::LeakCheck(data))];

    for (k, chain) in &to_draw {
        let group = &report.groups[*k];
        let (graph, caption) = if chain.len() > 1 {
            let others = to_draw.iter().filter(|(other, _)| other != k).flat_map(|(_, other)| other);
            let held = examples.iter().flatten().chain(others);
            let graph = show_chain_holding(std::slice::from_ref(chain), true, &GraphOptions::default(), held);
            let root = object_label(chain.first().expect("a chain has objects"), &names).text();
            (graph, format!("show_chain: what holds a leaked {}, from {root}", group.type_name))
        } else {
            let options =
                GraphOptions { max_depth: BACKREFS_DEPTH, too_many: BACKREFS_TOO_MANY, ..GraphOptions::default() };
            let held = examples.iter().flatten().chain(to_draw.iter().flat_map(|(_, chain)| chain));
            let graph = show_backrefs_holding(chain, held, &options);
            (graph, format!("show_backrefs of a leaked {}, {BACKREFS_DEPTH} references deep", group.type_name))
        };
        blocks.push(Block::Figure { name: format!("leak-{}", k + 1), caption, graph });
    }
    blocks
}

/// What the check did and found, in a paragraph.
fn introduction(data: &LeakCheckData, dead_weak_leak: bool) -> String {
    let mut text = format!(
        "{} {}, then {} measured {}, with a full collection after each. ",
        data.warmup_runs,
        plural(data.warmup_runs, "warm-up run", "warm-up runs"),
        data.measured_runs,
        plural(data.measured_runs, "run", "runs"),
    );
    if data.growing.is_empty() && !dead_weak_leak {
        text.push_str("No type grew in every measured run: no leak.");
    } else if data.growing.is_empty() {
        text.push_str("No type grew in every measured run.");
    } else {
        let groups = data.groups.len();
        text.push_str(&format!(
            "{} {} grew in every measured run: the leaks. Their leaked objects (created after the baseline and still alive, or moved \
             there from before it), {} in all, are grouped by the shape of their chain from a root ({groups} {}) and retain {} bytes \
             together. Unfold a group to read its chain step by step, where its objects were created and the \
             chains of a few of them.",
            data.growing.len(),
            plural(data.growing.len(), "type", "types"),
            data.leaked_objects,
            plural(groups, "group", "groups"),
            data.retained_bytes,
        ));
    }
    if !data.unsteady.is_empty() {
        text.push_str(&format!(
            " {} {} grew in some runs only (a cache filling, a pool reaching its size): listed, not counted as leaks.",
            data.unsteady.len(),
            plural(data.unsteady.len(), "type", "types"),
        ));
    }
    text
}

fn growth_data(growth: &TypeGrowth) -> TypeGrowthData {
    TypeGrowthData {
        type_name: growth.type_name.clone(),
        full_type_name: growth.full_type_name.to_owned(),
        counts: growth.counts.clone(),
        deltas: growth.deltas(),
    }
}

fn group_data(group: &LeakGroup, examples: Vec<Vec<model::ChainStep>>) -> LeakGroupData {
    LeakGroupData {
        chain: group.chain(),
        root: match &group.root {
            ChainRoot::Named(name) => LeakRoot::Named(name.clone()),
            ChainRoot::HeldFromOutside => LeakRoot::HeldFromOutside,
            ChainRoot::Unreachable => LeakRoot::Unreachable,
        },
        steps: group.steps.clone(),
        type_name: group.type_name.clone(),
        full_type_name: group.full_type_name.to_owned(),
        count: group.count,
        retained_bytes: group.retained_bytes,
        sites: group.sites.iter().map(|(site, count)| SiteCount { site: site.clone(), count: *count }).collect(),
        examples_kept: group.examples.len(),
        example_chains: examples,
    }
}

/// The tables a leak check shows as: the types that grew (when any did) and the leaked
/// groups (when there are any).
pub(super) fn tables(data: &LeakCheckData) -> Vec<TableData> {
    let mut tables = Vec::new();
    if !data.growing.is_empty() || !data.unsteady.is_empty() {
        let mut columns = vec!["Type".to_owned(), "Baseline".to_owned()];
        columns.extend((1..=data.measured_runs).map(|run| format!("After run {run}")));
        columns.extend(["Per run".to_owned(), "Growth".to_owned(), "Grew in".to_owned()]);
        let mut types = Table::new(columns);
        let rows =
            data.growing.iter().map(|row| (row, "every run")).chain(data.unsteady.iter().map(|row| (row, "some runs")));
        for (row, grew_in) in rows {
            let mut cells = vec![Cell::from(row.type_name.as_str())];
            cells.extend(row.counts.iter().map(|&count| Cell::from(count)));
            let deltas: Vec<String> = row.deltas.iter().map(|delta| format!("{delta:+}")).collect();
            let growth = match (row.counts.first(), row.counts.last()) {
                (Some(&first), Some(&last)) => last as i64 - first as i64,
                _ => 0,
            };
            cells.extend([Cell::from(deltas.join(" ")), Cell::Change(growth), Cell::from(grew_in)]);
            types.push(cells, None);
            types.keywords(row.full_type_name.clone());
        }
        tables.push(types.into_data("Types that grew".to_owned()));
    }
    if !data.groups.is_empty() {
        let mut groups = Table::new(["Count", "Type", "Retained bytes", "Chain"]);
        groups.details_title("Steps and examples");
        for group in &data.groups {
            let summary = format!(
                "{} {}, {} {}",
                group.steps.len(),
                plural(group.steps.len(), "step", "steps"),
                group.example_chains.len(),
                plural(group.example_chains.len(), "example", "examples"),
            );
            groups.row_with_details(
                [
                    Cell::from(group.count),
                    Cell::from(group.type_name.as_str()),
                    Cell::from(group.retained_bytes),
                    Cell::from(group.chain.as_str()),
                ],
                summary,
                group_details(group),
            );
            groups.keywords(group.full_type_name.clone());
        }
        tables.push(groups.into_data("Leaked objects by chain".to_owned()));
    }
    tables
}

/// A group unfolded: its chain a step a line, where its objects were created, and the chain
/// of each example object that was alive.
fn group_details(group: &LeakGroupData) -> String {
    let mut text = match &group.root {
        LeakRoot::Named(name) => format!("chain from the root named {}:\n", crate::graph::visible(name)),
        LeakRoot::HeldFromOutside => {
            "chain from an object held from outside the heap (by a variable, a static, or an owner no Trace \
             visits: a skipped field, a shared Rc, a borrowed RefCell):\n"
                .to_owned()
        }
        LeakRoot::Unreachable => "no root reaches them: garbage the check's collections could not free:\n".to_owned(),
    };
    for step in &group.steps {
        text.push_str(&format!("  {step}\n"));
    }
    text.push_str(&format!("  {}: {} leaked\n", group.type_name, group.count));
    for site in &group.sites {
        text.push_str(&format!("created at {} ({})\n", site.site, site.count));
    }
    if group.examples_kept == 0 {
        text.push_str("no example objects kept (LeakCheck::examples(0))");
    } else if group.example_chains.is_empty() {
        text.push_str(&format!(
            "the {} example {} gone when the report read the heap",
            group.examples_kept,
            plural(group.examples_kept, "object was", "objects were"),
        ));
    } else {
        text.push_str(&format!(
            "{} of {} example objects alive, each from where it is held:",
            group.example_chains.len(),
            group.examples_kept
        ));
        for example in &group.example_chains {
            let mut lines = chain_text(example);
            if example.len() == 1 && example[0].held_from_outside == 0 {
                lines.push_str(&format!("    ({})", chain_summary(example)));
            }
            for (k, line) in lines.lines().enumerate() {
                let indent = if k == 0 { "  " } else { "    " };
                text.push_str(&format!("\n{indent}{}", line.trim_start()));
            }
        }
    }
    text
}
