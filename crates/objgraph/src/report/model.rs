//! What a report holds, as plain data: sections of prose, preformatted text, tables and
//! figures. No handles: building a report never keeps an object alive. The same data is
//! written as `data.json`, as the HTML page and as `report.txt`.

use serde::Serialize;

use crate::Graph;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ReportData {
    pub(crate) title: String,
    pub(crate) sections: Vec<Section>,
}

/// A heading and what follows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Section {
    pub(crate) title: String,
    /// The page anchor (`objects-by-type`), unique in the report.
    pub(crate) anchor: String,
    pub(crate) blocks: Vec<Block>,
}

/// One piece of a section.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Block {
    /// Prose.
    Paragraph { text: String },
    /// Text shown as written, in a fixed-width font (tables printed by objgraph, logs).
    Preformatted { text: String },
    /// A table the reader can sort and filter.
    Table(TableData),
    /// A graph, saved as `<name>.dot` and `<name>.svg`.
    Figure(Figure),
    /// What a leak check found, as data; the page and the text show it as tables
    /// (`report/leak.rs`).
    LeakCheck(LeakCheckData),
}

/// A table: columns, rows, and an optional last column of expandable details.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TableData {
    pub(crate) caption: String,
    pub(crate) columns: Vec<Column>,
    /// The heading of the details column, when rows have details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) details_title: Option<String>,
    pub(crate) rows: Vec<Row>,
}

impl TableData {
    /// Whether each column holds numbers: every row's cell in it is a number or a change.
    pub(crate) fn numeric_columns(&self) -> Vec<bool> {
        (0..self.columns.len())
            .map(|k| !self.rows.is_empty() && self.rows.iter().all(|row| !matches!(row.cells[k], super::Cell::Text(_))))
            .collect()
    }
}

/// A column of a table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Column {
    pub(crate) title: String,
    /// The key that names the column in a page address (`#sort=bytes`): its title in lower
    /// case, other characters than letters and digits as `-`.
    pub(crate) key: String,
}

/// A row of a table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) cells: Vec<super::Cell>,
    /// More words the filter box matches besides the cells' text (a full type name).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) keywords: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) details: Option<Details>,
}

/// What a row shows when expanded.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Details {
    /// The line shown folded.
    pub(crate) summary: String,
    /// The text shown unfolded.
    pub(crate) text: String,
    /// The chain of references the text describes, for programs reading `data.json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) chain: Option<Vec<ChainStep>>,
}

/// One object of a chain of references from a root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ChainStep {
    /// The label of the reference from the previous object (`items[0]`); `None` for the first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) via: Option<String>,
    /// The object, as graphs label it: type, description, name.
    pub(crate) object: ObjectLabel,
    /// References from outside the heap (a variable, a static); more than zero at a root.
    pub(crate) held_from_outside: usize,
}

/// How an object is named in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ObjectLabel {
    /// The short type name.
    pub(crate) type_name: String,
    /// Its description (`#[trace(describe = ...)]`), at most 40 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    /// The name given with [`crate::name_root`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
}

impl ObjectLabel {
    /// `_cache: Cache`, `Session (session 3)`.
    pub(crate) fn text(&self) -> String {
        let mut text = match &self.name {
            Some(name) => format!("{name}: {}", self.type_name),
            None => self.type_name.clone(),
        };
        if let Some(description) = &self.description {
            text.push_str(&format!(" ({description})"));
        }
        text
    }
}

/// A graph of the report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Figure {
    /// The file stem: `<name>.dot`, `<name>.svg`.
    pub(crate) name: String,
    pub(crate) caption: String,
    pub(crate) objects: usize,
    pub(crate) references: usize,
    /// Which renderer drew `<name>.svg` (`graphviz`, `builtin`), once written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) drawn_by: Option<&'static str>,
    /// Why `<name>.svg` could not be drawn, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    #[serde(skip)]
    pub(crate) graph: Graph,
}

/// What a [`crate::LeakCheck`] found ([`crate::LeakReport`]), with the chains of the example
/// objects of each group that were alive when the report read them.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LeakCheckData {
    pub(crate) warmup_runs: usize,
    pub(crate) measured_runs: usize,
    /// The objects of the growing types created after the baseline and alive at the end.
    pub(crate) leaked_objects: usize,
    /// The bytes the leaked objects keep alive together.
    pub(crate) retained_bytes: usize,
    /// The types that grew in every measured run: the leaks.
    pub(crate) growing: Vec<TypeGrowthData>,
    /// The types that grew, but not in every measured run: not counted as leaks.
    pub(crate) unsteady: Vec<TypeGrowthData>,
    pub(crate) groups: Vec<LeakGroupData>,
}

/// How the count of one type changed during a leak check.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TypeGrowthData {
    pub(crate) type_name: String,
    pub(crate) full_type_name: String,
    /// Its objects at the baseline, then after each measured run.
    pub(crate) counts: Vec<usize>,
    /// The change in each measured run.
    pub(crate) deltas: Vec<i64>,
}

/// Leaked objects of one type held along chains of one shape.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LeakGroupData {
    /// `_cache -> Cache.items[*] -> Request`.
    pub(crate) chain: String,
    pub(crate) root: LeakRoot,
    /// The holders along the chain and the fields that hold the next object (`Cache.items[*]`).
    pub(crate) steps: Vec<String>,
    pub(crate) type_name: String,
    pub(crate) full_type_name: String,
    pub(crate) count: usize,
    pub(crate) retained_bytes: usize,
    /// Where the objects were created (with the `alloc-site` feature), most objects first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) sites: Vec<SiteCount>,
    /// How many example objects the check kept.
    pub(crate) examples_kept: usize,
    /// The chain from a root (root first) of each example object still alive.
    pub(crate) example_chains: Vec<Vec<ChainStep>>,
}

/// Where a leak group's chain starts ([`crate::ChainRoot`]).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LeakRoot {
    /// An object named with [`crate::name_root`].
    Named(String),
    /// An object held from outside the heap.
    HeldFromOutside,
    /// No root reaches the objects.
    Unreachable,
}

/// A place objects were created, and how many.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SiteCount {
    /// `file:line:col`.
    pub(crate) site: String,
    pub(crate) count: usize,
}
