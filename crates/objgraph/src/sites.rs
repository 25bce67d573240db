//! Counts and growth by allocation site: where the objects of a type were created, so that a
//! table of what grew points at a line of code (Python needs `tracemalloc` for this).
//!
//! Needs the `alloc-site` feature, which makes every `Gc::new` of a tracked object record its
//! caller's location. Rows are keyed `file:line:col Type`: the site, a space, the type name
//! (short, or full with [`Query::shortnames`] `false`); objects without a recorded site show
//! `<unknown>` as their site. A site's file reads the same on every machine: as Cargo names
//! the files of the workspace (from its root), and from its package's directory for a package
//! compiled from elsewhere (`extlib/src/lib.rs`, `serde-1.0.219/src/de.rs`).

use std::collections::HashMap;
use std::io::{self, Write};

use rc_heap::GcAny;

use crate::counts::{Names, Query, most_common, write_counts};
use crate::growth::{PeakStats, grow, write_growth_rows};

/// The key of `object`'s row: `file:line:col Type`.
fn site_key(names: &mut Names, object: &GcAny) -> String {
    let name = names.of(object);
    match object.alloc_site() {
        Some(site) => format!("{} {name}", crate::site_path::site_label(site)),
        None => format!("<unknown> {name}"),
    }
}

/// How many selected objects were created at each site, per type ([`typestats`](crate::typestats)
/// by allocation site).
pub fn typestats_by_site(query: &Query<'_>) -> HashMap<String, usize> {
    let mut names = Names::new(!query.shortnames);
    let mut stats = HashMap::new();
    query.for_each(|object| *stats.entry(site_key(&mut names, object)).or_insert(0) += 1);
    stats
}

/// The sites and types with the most selected objects, most first (ties by key), at most
/// `limit` ([`most_common_types`](crate::most_common_types) by allocation site).
pub fn most_common_sites(limit: Option<usize>, query: &Query<'_>) -> Vec<(String, usize)> {
    most_common(typestats_by_site(query), limit)
}

/// Writes [`most_common_sites`] as objgraph's `%-*s %i` table.
pub fn show_most_common_sites(limit: Option<usize>, query: &Query<'_>, out: &mut dyn Write) -> io::Result<()> {
    write_counts(&most_common_sites(limit, query), out)
}

/// The sites and types whose count rose above their peak since the last call with the same
/// `peak`, with their count and growth ([`growth`](crate::growth) by allocation site). Runs
/// a full collection first. Keep a `PeakStats` for sites apart from one for types.
pub fn growth_by_site(limit: Option<usize>, peak: &mut PeakStats, query: &Query<'_>) -> Vec<(String, usize, usize)> {
    gen_gc::collect();
    grow(typestats_by_site(query), limit, peak)
}

/// Writes [`growth_by_site`] as objgraph's growth table (`%-*s%9d %+9d`).
pub fn show_growth_by_site(
    limit: Option<usize>,
    peak: &mut PeakStats,
    query: &Query<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_growth_rows(&growth_by_site(limit, peak, query), out)
}
