//! Heap snapshots as data: JSON export, and the difference of two snapshots by type.
//!
//! A [`HeapSnapshot`] is a plain value — no handles, nothing kept alive — so it can be saved
//! to a file, compared with one taken later or in another run, and loaded by other tools.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use crate::HeapGraph;
use crate::growth::write_growth;

/// The tracked objects of a heap at one moment and the references between them.
///
/// Objects are numbered `0..objects.len()` within the snapshot; edges name their target by
/// that number. The numbers (and the addresses behind them, which are not recorded) mean
/// nothing across snapshots: [`HeapSnapshot::diff`] matches objects by type only.
///
/// ```
/// use std::cell::RefCell;
/// use cyclegc::{Gc, Trace};
/// use objgraph::HeapSnapshot;
///
/// #[derive(Trace)]
/// struct Session {
///     next: RefCell<Option<Gc<Session>>>,
/// }
///
/// let before = HeapSnapshot::capture();
/// let sessions: Vec<_> = (0..3).map(|_| Gc::new(Session { next: RefCell::new(None) })).collect();
/// let after = HeapSnapshot::capture();
///
/// // Saved and loaded back, it is the same snapshot.
/// let json = after.to_json();
/// assert_eq!(HeapSnapshot::from_json(&json).unwrap(), after);
///
/// let diff = HeapSnapshot::diff(&before, &after);
/// assert_eq!(diff.rows[0].type_name, "Session");
/// assert_eq!(diff.rows[0].count_delta, 3);
/// assert_eq!(diff.to_string().lines().next().unwrap(), "Session        3        +3");
/// # drop(sessions);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeapSnapshot {
    /// The objects, in `gc.get_objects()` order; `objects[i].index == i`.
    pub objects: Vec<ObjectRecord>,
}

/// One object of a [`HeapSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// Its number in this snapshot.
    pub index: usize,
    /// The full type name (`app::graph::Node<alloc::string::String>`).
    pub type_name: String,
    /// The short type name (`Node<String>`).
    pub short_type_name: String,
    /// Heap bytes of the object, header included
    /// ([`GcAny::object_size`](rc_heap::GcAny::object_size)); memory the value owns
    /// outside the heap is not counted.
    pub size: usize,
    /// References from outside the heap ([`HeapGraph::outside_refs`]): a variable, a static,
    /// an untraced owner.
    pub outside_refs: usize,
    /// The references it holds to tracked objects, in trace order.
    pub edges: Vec<EdgeRecord>,
    /// Where it was created (`file:line:col`), with the `alloc-site` feature of rc-heap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alloc_site: Option<String>,
}

/// One reference in a [`HeapSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeRecord {
    /// How the object reaches the target (`attr_b`, `children[3]`); empty without a label.
    pub label: String,
    /// The target's [`ObjectRecord::index`].
    pub target: usize,
}

impl HeapSnapshot {
    /// The tracked objects of this thread's heap now.
    pub fn capture() -> Self {
        Self::of(&HeapGraph::snapshot())
    }

    /// The objects of `graph`. References to leaves (untracked objects) are left out, as
    /// leaves are not in the graph.
    pub fn of(graph: &HeapGraph) -> Self {
        // Counts first: the handles `referents()` returns would be counted as outside.
        let outside: Vec<usize> = (0..graph.len()).map(|i| graph.outside_refs_at(i)).collect();
        let objects = graph
            .objects()
            .iter()
            .enumerate()
            .map(|(index, object)| {
                let info = object.type_info();
                let edges = object
                    .referents()
                    .into_iter()
                    .filter_map(|r| Some(EdgeRecord { target: graph.position(&r.target)?, label: r.label }))
                    .collect();
                ObjectRecord {
                    index,
                    type_name: info.name().to_owned(),
                    short_type_name: info.short_name(),
                    size: object.object_size(),
                    outside_refs: outside[index],
                    edges,
                    alloc_site: object.alloc_site().map(ToString::to_string),
                }
            })
            .collect();
        HeapSnapshot { objects }
    }

    /// The snapshot as compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a snapshot has only strings and numbers")
    }

    /// The snapshot as JSON, indented for reading.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a snapshot has only strings and numbers")
    }

    /// Writes the snapshot as compact JSON.
    pub fn write_json(&self, out: impl Write) -> serde_json::Result<()> {
        serde_json::to_writer(out, self)
    }

    /// A snapshot from JSON that [`HeapSnapshot::to_json`] wrote.
    pub fn from_json(json: &str) -> serde_json::Result<Self> {
        serde_json::from_str(json)
    }

    /// A snapshot from JSON read from `input`.
    pub fn read_json(input: impl Read) -> serde_json::Result<Self> {
        serde_json::from_reader(io::BufReader::new(input))
    }

    /// The number of objects and their bytes per full type name.
    pub fn type_totals(&self) -> BTreeMap<&str, TypeTotal<'_>> {
        let mut totals: BTreeMap<&str, TypeTotal<'_>> = BTreeMap::new();
        for object in &self.objects {
            let total = totals.entry(&object.type_name).or_insert(TypeTotal {
                short_type_name: &object.short_type_name,
                count: 0,
                bytes: 0,
            });
            total.count += 1;
            total.bytes = total.bytes.saturating_add(object.size);
        }
        totals
    }

    /// What changed from `old` to `new`, per type: the types whose count or bytes differ,
    /// most growth first (by count delta, then byte delta, then name), shrinking types last.
    ///
    /// Objects are matched by type only: addresses are reused and snapshot numbers are
    /// per snapshot, so "3 more `Session`s" is what a diff can say, not which ones.
    pub fn diff(old: &HeapSnapshot, new: &HeapSnapshot) -> SnapshotDiff {
        let before = old.type_totals();
        let after = new.type_totals();
        let mut rows: Vec<TypeDelta> = Vec::new();
        let names: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
        for name in names {
            let (was, now) = (before.get(name), after.get(name));
            let short = now.or(was).expect("a name from one of them").short_type_name;
            let (old_count, old_bytes) = was.map_or((0, 0), |t| (t.count, t.bytes));
            let (count, bytes) = now.map_or((0, 0), |t| (t.count, t.bytes));
            if (old_count, old_bytes) == (count, bytes) {
                continue;
            }
            rows.push(TypeDelta {
                type_name: short.to_owned(),
                full_type_name: name.to_owned(),
                count,
                count_delta: delta(count, old_count),
                bytes,
                bytes_delta: delta(bytes, old_bytes),
            });
        }
        rows.sort_by(|a, b| {
            b.count_delta
                .cmp(&a.count_delta)
                .then(b.bytes_delta.cmp(&a.bytes_delta))
                .then_with(|| a.type_name.cmp(&b.type_name))
                .then_with(|| a.full_type_name.cmp(&b.full_type_name))
        });
        SnapshotDiff { rows }
    }
}

/// `new - old`, held within `i64` (a snapshot read from a file may carry any sizes).
fn delta(new: usize, old: usize) -> i64 {
    let delta = new as i128 - old as i128;
    i64::try_from(delta).unwrap_or(if delta < 0 { i64::MIN } else { i64::MAX })
}

/// How many objects of one type a snapshot holds, and their bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeTotal<'a> {
    /// The short type name.
    pub short_type_name: &'a str,
    /// Objects of the type.
    pub count: usize,
    /// Their bytes ([`ObjectRecord::size`] summed).
    pub bytes: usize,
}

/// The change of one type between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeDelta {
    /// The short type name.
    pub type_name: String,
    /// The full type name, which tells apart types whose short names are the same.
    pub full_type_name: String,
    /// Objects of the type in the new snapshot.
    pub count: usize,
    /// The change in count, negative when the type shrank.
    pub count_delta: i64,
    /// Bytes of the type in the new snapshot.
    pub bytes: usize,
    /// The change in bytes.
    pub bytes_delta: i64,
}

/// The per-type changes between two snapshots, from [`HeapSnapshot::diff`].
///
/// Its `Display` is objgraph's growth table (`%-*s%9d %+9d`: type, count, change), one line
/// per changed type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotDiff {
    /// The changed types, most growth first.
    pub rows: Vec<TypeDelta>,
}

impl SnapshotDiff {
    /// Writes the first `limit` rows (all of them for `None`) as objgraph's growth table.
    pub fn show(&self, limit: Option<usize>, out: &mut dyn Write) -> io::Result<()> {
        let rows = &self.rows[..limit.map_or(self.rows.len(), |limit| limit.min(self.rows.len()))];
        // Types of one short name (`a::Node`, `b::Node`) are written by their full names.
        let mut full_names: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for row in &self.rows {
            full_names.entry(&row.type_name).or_default().insert(&row.full_type_name);
        }
        let name = |row: &'_ TypeDelta| {
            if full_names[row.type_name.as_str()].len() > 1 {
                row.full_type_name.clone()
            } else {
                row.type_name.clone()
            }
        };
        let named: Vec<(String, usize, i64)> = rows.iter().map(|row| (name(row), row.count, row.count_delta)).collect();
        write_growth(named.iter().map(|(name, count, delta)| (name.as_str(), *count, *delta)), out)
    }
}

impl fmt::Display for SnapshotDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut table = Vec::new();
        self.show(None, &mut table).map_err(|_| fmt::Error)?;
        f.write_str(&String::from_utf8_lossy(&table))
    }
}
