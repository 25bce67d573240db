//! What grew: peak-based growth and new ids, with objgraph's tables.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use rc_heap::ObjectId;

use crate::counts::{Names, Query, typestats};

/// The highest count seen so far per type (objgraph's `peak_stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeakStats(pub HashMap<String, usize>);

/// The types whose count rose above their peak since the last call, with their count and
/// how far above the peak, most growth first (ties by name), at most `limit`
/// (`objgraph.growth`). Runs a full collection first, so cycles awaiting collection are not
/// mistaken for growth; updates `peak`.
pub fn growth(limit: Option<usize>, peak: &mut PeakStats, query: &Query<'_>) -> Vec<(String, usize, usize)> {
    gen_gc::collect();
    grow(typestats(query), limit, peak)
}

/// The rows of [`growth`] for `stats`, counts of any kind of key; updates `peak`.
pub(crate) fn grow(
    stats: HashMap<String, usize>,
    limit: Option<usize>,
    peak: &mut PeakStats,
) -> Vec<(String, usize, usize)> {
    let mut deltas: Vec<(String, usize, usize)> = Vec::new();
    for (name, count) in stats {
        let old = peak.0.get(&name).copied().unwrap_or(0);
        if count > old {
            deltas.push((name.clone(), count, count - old));
            peak.0.insert(name, count);
        }
    }
    deltas.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    if let Some(limit) = limit.filter(|&limit| limit > 0) {
        deltas.truncate(limit);
    }
    deltas
}

thread_local! {
    static DEFAULT_PEAK: RefCell<PeakStats> = RefCell::new(PeakStats::default());
}

/// [`growth`] against this thread's own peak statistics, the ones [`show_growth`] keeps
/// (objgraph's `growth()` and `show_growth()` without `peak_stats` share its one
/// module-wide dictionary): what grew since the last call of either on this thread.
pub fn thread_growth(limit: Option<usize>, query: &Query<'_>) -> Vec<(String, usize, usize)> {
    // The collection (finalizers) and the query's filter are user code, which may call this
    // again: the statistics are borrowed only once both have run.
    gen_gc::collect();
    let stats = typestats(query);
    DEFAULT_PEAK.with(|peak| grow(stats, limit, &mut peak.borrow_mut()))
}

/// [`thread_growth`] printed as objgraph prints it: `name`, the count in 9 columns, the
/// growth as `+N` in 9 columns (`objgraph.show_growth()`).
pub fn show_growth(limit: Option<usize>, query: &Query<'_>, out: &mut dyn Write) -> io::Result<()> {
    write_growth_rows(&thread_growth(limit, query), out)
}

/// [`show_growth`] against peak statistics of the caller's (`show_growth(peak_stats=...)`).
pub fn show_growth_with(
    limit: Option<usize>,
    peak: &mut PeakStats,
    query: &Query<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_growth_rows(&growth(limit, peak, query), out)
}

pub(crate) fn write_growth_rows(rows: &[(String, usize, usize)], out: &mut dyn Write) -> io::Result<()> {
    write_growth(rows.iter().map(|(name, count, delta)| (name.as_str(), *count, *delta as i64)), out)
}

/// Writes objgraph's growth table (`%-*s%9d %+9d`): the name padded to the longest, the
/// count in 9 columns, the change as `+N` or `-N` in 9 columns.
pub(crate) fn write_growth<'a>(
    rows: impl IntoIterator<Item = (&'a str, usize, i64)>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rows: Vec<(&str, usize, i64)> = rows.into_iter().collect();
    let width = rows.iter().map(|(name, _, _)| name.chars().count()).max().unwrap_or(0);
    for (name, count, delta) in rows {
        writeln!(out, "{name:<width$}{count:>9} {delta:>+9}")?;
    }
    Ok(())
}

/// How [`get_new_ids`] orders its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// By the number of ids before the call.
    Old,
    /// By the number of ids now.
    Current,
    /// By the number of new ids.
    New,
    /// By the change in count (the default).
    #[default]
    Deltas,
}

/// The state [`get_new_ids`] keeps between calls: the ids of each type seen last time, and
/// the ids that were new then.
#[derive(Debug, Default)]
pub struct NewIds {
    old: HashMap<String, HashSet<ObjectId>>,
    current: HashMap<String, HashSet<ObjectId>>,
    new: HashMap<String, HashSet<ObjectId>>,
}

impl NewIds {
    /// The ids found new by the last call, per type.
    pub fn new_ids(&self) -> &HashMap<String, HashSet<ObjectId>> {
        &self.new
    }
}

/// Records the ids of every tracked object per type and prints, as objgraph does, how many
/// there were, are, and are new, since the previous call with the same `state`
/// (`objgraph.get_new_ids`). Runs a full collection first. Returns the new ids per type
/// (feed a type's set to [`at_addrs`](crate::at_addrs)): a set, empty or not, for every type
/// that had objects at this call or the previous one. A type that had none at either has no
/// entry (objgraph's `defaultdict` gives an empty set), so `get` it rather than index by it
/// when it may not have been seen.
pub fn get_new_ids(
    state: &mut NewIds,
    limit: Option<usize>,
    sort_by: SortBy,
    query: &Query<'_>,
    out: &mut dyn Write,
) -> io::Result<HashMap<String, HashSet<ObjectId>>> {
    gen_gc::collect();
    let mut names = Names::new(!query.shortnames);
    let mut current: HashMap<String, HashSet<ObjectId>> = HashMap::new();
    query.for_each(|object| {
        current.entry(names.of(object).to_owned()).or_default().insert(object.id());
    });
    state.old = std::mem::replace(&mut state.current, current);
    state.new.clear();
    let mut rows: Vec<(String, usize, usize, usize, i64)> = Vec::new();
    let mut all_names: Vec<&String> = state.current.keys().chain(state.old.keys()).collect();
    all_names.sort();
    all_names.dedup();
    for name in all_names {
        let empty = HashSet::new();
        let old = state.old.get(name).unwrap_or(&empty);
        let current = state.current.get(name).unwrap_or(&empty);
        let new: HashSet<ObjectId> = current.difference(old).copied().collect();
        rows.push((name.clone(), old.len(), current.len(), new.len(), current.len() as i64 - old.len() as i64));
        state.new.insert(name.clone(), new);
    }
    rows.sort_by(|a, b| {
        let key = |row: &(String, usize, usize, usize, i64)| match sort_by {
            SortBy::Old => row.1 as i64,
            SortBy::Current => row.2 as i64,
            SortBy::New => row.3 as i64,
            SortBy::Deltas => row.4,
        };
        key(b).cmp(&key(a)).then_with(|| b.0.cmp(&a.0))
    });
    if let Some(limit) = limit {
        rows.truncate(limit);
    }
    if !rows.is_empty() {
        let width = rows.iter().map(|row| row.0.chars().count()).max().unwrap_or(0);
        let rule = "=".repeat(width + 13 * 4);
        writeln!(out, "{rule}")?;
        writeln!(
            out,
            "{:<width$}{:>13}{:>13}{:>13}{:>13}",
            "Type", "Old_ids", "Current_ids", "New_ids", "Count_Deltas"
        )?;
        writeln!(out, "{rule}")?;
        for (name, old, current, new, delta) in &rows {
            writeln!(out, "{name:<width$}{old:>13}{current:>13}{:>+13}{delta:>+13}", *new as i64)?;
        }
        writeln!(out, "{rule}")?;
    }
    Ok(state.new.clone())
}
