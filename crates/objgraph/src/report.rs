//! Reports: what is on the heap, what grew and who holds it, written as a directory a
//! reader browses offline.
//!
//! A [`Report`] is built section by section — from the analyses objgraph runs on the heap
//! ([`Report::heap_summary`], [`Report::growth`], [`Report::retainers_of`],
//! [`Report::largest_retainers`], [`Report::garbage_cycles`]), from what a leak check found
//! ([`Report::leak_report`]) and from the program's own text, tables and graphs
//! ([`Report::section`], [`Report::table`], [`Report::graph`]) — and [`Report::write_to`]
//! writes it:
//!
//! - `index.html`: one page, no server and no network needed, CSS and script inline. Tables
//!   sort by a click on a column heading and filter by the text box at the top (or by the
//!   page address: `index.html#filter=Session`, `#sort=bytes`); each retainer's chain of
//!   references unfolds under its row. Graphs are the SVG files beside it.
//! - `<name>.dot` and `<name>.svg` for each graph: SVG from Graphviz's `dot` when it is
//!   installed, from the built-in renderer otherwise.
//! - `report.txt`: the same report as text, for a terminal or a diff.
//! - `data.json`: the same report as data, for other programs.
//!
//! Each analysis reads the heap when it is called and keeps plain data only, so the report
//! holds no handle and keeps nothing alive; call them at the moments that matter (a
//! snapshot before a scenario, the retainers after it).

mod analysis;
mod html;
mod leak;
mod model;
mod text;

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use rc_heap::GcAny;
use serde::Serialize;

use crate::{Graph, HeapSnapshot, LeakReport, Renderer};
use model::{Block, Column, Details, Figure, ReportData, Row, Section, TableData};

/// A report of the heap, built section by section and written as a browsable directory.
///
/// Methods that add to the report take `&mut self` and return it, so calls chain. Text,
/// tables and graphs go into the last section (a section without a title when there is
/// none yet); each analysis starts a section of its own.
///
/// ```
/// use std::cell::RefCell;
/// use cyclegc::{Gc, Trace};
/// use objgraph::{Cell, HeapSnapshot, Report, Table};
///
/// #[derive(Trace)]
/// struct Session {
///     items: RefCell<Vec<Gc<Session>>>,
/// }
///
/// let before = HeapSnapshot::capture();
/// let sessions: Vec<_> = (0..3).map(|_| Gc::new(Session { items: RefCell::new(Vec::new()) })).collect();
/// let after = HeapSnapshot::capture();
///
/// let mut checks = Table::new(["Check", "Objects"]);
/// checks.row([Cell::from("sessions opened"), Cell::from(3_usize)]);
///
/// let dir = std::env::temp_dir().join(format!("objgraph-report-doc-{}", std::process::id()));
/// let index = Report::new("Sessions")
///     .section("What the program did", "opened 3 sessions\n")
///     .table("Checks", checks)
///     .heap_summary(&after)
///     .growth(&before, &after)
///     .retainers_of(&[Gc::to_any(&sessions[0])])
///     .largest_retainers(5)
///     .garbage_cycles()
///     .write_to(&dir)
///     .expect("the directory is writable");
///
/// let html = std::fs::read_to_string(&index).unwrap();
/// assert!(html.contains("<meta charset=\"utf-8\">"));
/// assert!(html.contains("Objects by type") && html.contains("Session"));
/// assert!(dir.join("report.txt").exists() && dir.join("data.json").exists());
/// std::fs::remove_dir_all(&dir).unwrap();
/// # drop(sessions);
/// ```
#[derive(Debug, Clone)]
pub struct Report {
    data: ReportData,
    renderer: Renderer,
    figure_names: HashSet<String>,
}

/// A table for a report: columns, rows of [`Cell`]s, and, for rows that have them, details
/// the reader unfolds.
///
/// ```
/// use objgraph::{Cell, Table};
///
/// let mut table = Table::new(["Type", "Leaked", "Change"]);
/// table.row([Cell::from("Session"), Cell::from(3_usize), Cell::Change(3)]);
/// table.details_title("Held by");
/// table.row_with_details([Cell::from("Item"), Cell::from(12_usize), Cell::Change(-2)], "_cache", "_cache: Cache\n  items[0] → Item");
/// assert_eq!(table.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<String>,
    details_title: Option<String>,
    rows: Vec<Row>,
}

/// One cell of a [`Table`]: text, or a number that sorts as a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    /// Text, sorted alphabetically.
    Text(String),
    /// A number, sorted numerically.
    Number(i64),
    /// A change, shown with its sign (`+3`, `-2`, `0`) and sorted numerically.
    Change(i64),
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::Text(text.to_owned())
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell::Text(text)
    }
}

impl From<i64> for Cell {
    fn from(number: i64) -> Self {
        Cell::Number(number)
    }
}

impl From<i32> for Cell {
    fn from(number: i32) -> Self {
        Cell::Number(number.into())
    }
}

impl From<usize> for Cell {
    fn from(number: usize) -> Self {
        Cell::Number(i64::try_from(number).unwrap_or(i64::MAX))
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Text(text) => f.write_str(text),
            Cell::Number(number) => write!(f, "{number}"),
            Cell::Change(change) => write!(f, "{change:+}"),
        }
    }
}

impl Table {
    /// A table with these column headings and no rows.
    pub fn new<I, S>(columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Table { columns: columns.into_iter().map(Into::into).collect(), details_title: None, rows: Vec::new() }
    }

    /// Adds a row. Missing cells are left empty; cells past the last column are dropped.
    pub fn row<I, C>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = C>,
        C: Into<Cell>,
    {
        self.push(cells.into_iter().map(Into::into).collect(), None)
    }

    /// Adds a row with details: `summary` shows in the details column, and `text` (shown as
    /// written, in a fixed-width font) unfolds under it.
    pub fn row_with_details<I, C>(&mut self, cells: I, summary: impl Into<String>, text: impl Into<String>) -> &mut Self
    where
        I: IntoIterator<Item = C>,
        C: Into<Cell>,
    {
        let details = Details { summary: summary.into(), text: text.into(), chain: None };
        self.push(cells.into_iter().map(Into::into).collect(), Some(details))
    }

    /// The heading of the details column ("Details" unless set).
    pub fn details_title(&mut self, title: impl Into<String>) -> &mut Self {
        self.details_title = Some(title.into());
        self
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub(crate) fn push(&mut self, mut cells: Vec<Cell>, details: Option<Details>) -> &mut Self {
        cells.resize(self.columns.len(), Cell::Text(String::new()));
        self.rows.push(Row { cells, keywords: String::new(), details });
        self
    }

    /// Words the filter box matches in the last row besides its cells' text.
    pub(crate) fn keywords(&mut self, keywords: String) {
        if let Some(row) = self.rows.last_mut() {
            row.keywords = keywords;
        }
    }

    fn into_data(self, caption: String) -> TableData {
        let has_details = self.rows.iter().any(|row| row.details.is_some());
        TableData {
            caption,
            columns: self.columns.into_iter().map(|title| Column { key: key_of(&title), title }).collect(),
            details_title: has_details.then(|| self.details_title.unwrap_or_else(|| "Details".to_owned())),
            rows: self.rows,
        }
    }
}

/// A column's key: its title in lower case, runs of other characters than letters and
/// digits as one `-`.
fn key_of(title: &str) -> String {
    let mut key = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            key.push(c);
        } else if !key.is_empty() && !key.ends_with('-') {
            key.push('-');
        }
    }
    key.trim_end_matches('-').to_owned()
}

/// The longest chain of references a report follows from an object back to a root.
const CHAIN_MAX_DEPTH: usize = 64;

impl Report {
    /// An empty report with this title.
    pub fn new(title: impl Into<String>) -> Self {
        Report {
            data: ReportData { title: title.into(), sections: Vec::new() },
            renderer: Renderer::Auto,
            figure_names: HashSet::new(),
        }
    }

    /// Which renderer draws the graphs' SVG files ([`Renderer::Auto`] unless set: Graphviz
    /// when installed, the built-in renderer otherwise).
    pub fn renderer(&mut self, renderer: Renderer) -> &mut Self {
        self.renderer = renderer;
        self
    }

    /// Starts a section: a heading, then `text` shown as written in a fixed-width font
    /// (nothing when `text` is empty). This is the place for a program's own findings, such
    /// as a leak check's deterministic text.
    pub fn section(&mut self, title: impl Into<String>, text: impl Into<String>) -> &mut Self {
        let title = title.into();
        let anchor = self.unique_anchor(&title);
        self.data.sections.push(Section { title, anchor, blocks: Vec::new() });
        let text = text.into();
        if !text.is_empty() {
            self.preformatted(text);
        }
        self
    }

    /// Adds prose to the last section.
    pub fn paragraph(&mut self, text: impl Into<String>) -> &mut Self {
        self.push(Block::Paragraph { text: text.into() })
    }

    /// Adds text shown as written, in a fixed-width font, to the last section.
    pub fn preformatted(&mut self, text: impl Into<String>) -> &mut Self {
        self.push(Block::Preformatted { text: text.into() })
    }

    /// Adds a table the reader can sort and filter to the last section.
    pub fn table(&mut self, caption: impl Into<String>, table: Table) -> &mut Self {
        self.push(Block::Table(table.into_data(caption.into())))
    }

    /// Adds a graph to the last section, saved as `<name>.dot` and `<name>.svg`. Characters
    /// of `name` other than ASCII letters, digits, `-` and `_` become `-`, and a name used
    /// before gets a number (`chain-2`).
    pub fn graph(&mut self, name: &str, caption: impl Into<String>, graph: &Graph) -> &mut Self {
        let figure = self.figure(name, caption.into(), graph.clone());
        self.push(Block::Figure(figure))
    }

    /// A section "Objects by type": how many objects of each type `snapshot` holds and their
    /// bytes, most objects first.
    pub fn heap_summary(&mut self, snapshot: &HeapSnapshot) -> &mut Self {
        let blocks = analysis::heap_summary(snapshot);
        self.analysis("Objects by type", blocks)
    }

    /// A section "Growth": the types whose count or bytes changed from `before` to `after`
    /// ([`HeapSnapshot::diff`]), most growth first.
    pub fn growth(&mut self, before: &HeapSnapshot, after: &HeapSnapshot) -> &mut Self {
        let blocks = analysis::growth(before, after);
        self.analysis("Growth", blocks)
    }

    /// A section "Who holds them": for each of `objs`, its size, the bytes it retains, and the
    /// shortest chain of references from an object held from outside the heap down to it,
    /// which the reader unfolds under its row, with a graph of the chain
    /// ([`crate::show_chain`]) for the first few. The handles in `objs` are the caller's:
    /// they do not count as references from outside.
    pub fn retainers_of(&mut self, objs: &[GcAny]) -> &mut Self {
        let blocks = analysis::retainers_of(objs);
        self.analysis("Who holds them", blocks)
    }

    /// A section "Largest retainers": the `limit` objects that would free the most bytes if
    /// they were gone ([`crate::Dominators::largest_retainers`]), each with the chain of
    /// references that holds it.
    pub fn largest_retainers(&mut self, limit: usize) -> &mut Self {
        let blocks = analysis::largest_retainers(limit);
        self.analysis("Largest retainers", blocks)
    }

    /// A section "Cycles among garbage": the cycles a full collection would free now
    /// ([`crate::garbage_cycles`]), their objects and bytes, with a graph of each of the
    /// first few.
    pub fn garbage_cycles(&mut self) -> &mut Self {
        let blocks = analysis::garbage_cycles();
        self.analysis("Cycles among garbage", blocks)
    }

    /// A section "Leak check": what a [`LeakCheck`](crate::LeakCheck) found. A table of the
    /// types that grew (their count at the baseline and after each measured run, the change
    /// in each run, and whether they grew in every run), a table of the leaked groups (count,
    /// type, retained bytes, chain) whose rows unfold to the chain a step a line, the places
    /// the objects were created and the chain of each example object, and a graph of one
    /// example of each of the first few groups ([`crate::show_chain`] from its root, or a
    /// [`crate::show_backrefs`] three references deep when no root reaches it). In
    /// `data.json` the section holds the report as data (`"kind": "leak_check"`).
    ///
    /// The example objects' chains and graphs are read now, from those still alive
    /// ([`LeakGroup::objects`](crate::LeakGroup::objects)): call this while the program
    /// still holds what leaked. Like the other sections, it keeps no handle.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use cyclegc::{Gc, Trace};
    /// use objgraph::{LeakCheck, Report};
    ///
    /// #[derive(Trace)]
    /// struct Cache {
    ///     items: RefCell<Vec<Gc<Request>>>,
    /// }
    /// #[derive(Trace)]
    /// #[trace(tracked)]
    /// struct Request {
    ///     id: u32,
    /// }
    ///
    /// let cache = Gc::new(Cache { items: RefCell::new(Vec::new()) });
    /// objgraph::name_root(&Gc::to_any(&cache), "_cache");
    /// let check = LeakCheck::new().run(|| cache.items.borrow_mut().push(Gc::new(Request { id: 7 })));
    ///
    /// let mut report = Report::new("Requests");
    /// report.leak_report(&check);
    /// let text = report.to_text();
    /// assert!(text.contains("Request         1            2            3            4  +1 +1 +1      +3  every run"));
    /// assert!(text.contains("_cache -> Cache.items[*] -> Request"));
    /// assert!(text.contains("_cache: Cache    [held from outside: 1]\n          items[1] → Request"));
    /// assert!(report.to_json().contains(r#""kind": "leak_check""#));
    /// ```
    pub fn leak_report(&mut self, report: &LeakReport) -> &mut Self {
        let blocks = leak::leak_check(report);
        self.analysis("Leak check", blocks)
    }

    /// The report as text: what `report.txt` holds.
    pub fn to_text(&self) -> String {
        text::render(&self.data)
    }

    /// The report as JSON: what `data.json` holds, less which renderer drew each graph
    /// (known once written).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.data).expect("a report is strings and numbers")
    }

    /// Writes the report into `dir` (created if needed): `index.html`, `report.txt`,
    /// `data.json`, and `<name>.dot` and `<name>.svg` for each graph. Returns the path of
    /// `index.html`.
    ///
    /// A report written there before is replaced whole: the graph files it named in its
    /// `data.json` that this one does not write are removed (a larger run's `leak-3.svg`
    /// does not outlive it); no other file in `dir` is touched.
    ///
    /// A graph that cannot be drawn (the renderer asked for is missing or fails) keeps its
    /// `.dot` file, and the page says why its picture is missing; only failing to write a
    /// file is an error.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> io::Result<PathBuf> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)?;
        let written_before = figures_written_to(dir);
        let mut data = self.data.clone();
        for figure in data.sections.iter_mut().flat_map(|section| &mut section.blocks).filter_map(|block| match block {
            Block::Figure(figure) => Some(figure),
            _ => None,
        }) {
            std::fs::write(dir.join(format!("{}.dot", figure.name)), figure.graph.to_dot())?;
            match self.draw(&figure.graph) {
                Ok((svg, renderer)) => {
                    std::fs::write(dir.join(format!("{}.svg", figure.name)), svg)?;
                    figure.drawn_by = Some(renderer);
                }
                Err(error) => figure.error = Some(error.to_string()),
            }
        }
        let json = serde_json::to_string_pretty(&data).expect("a report is strings and numbers");
        std::fs::write(dir.join("data.json"), json + "\n")?;
        std::fs::write(dir.join("report.txt"), text::render(&data))?;
        let index = dir.join("index.html");
        std::fs::write(&index, html::render(&data))?;
        let written_now: Vec<&str> = (data.sections.iter().flat_map(|section| &section.blocks))
            .filter_map(|block| match block {
                Block::Figure(figure) => Some(figure.name.as_str()),
                _ => None,
            })
            .collect();
        for stale in written_before.iter().filter(|name| !written_now.contains(&name.as_str())) {
            for extension in ["dot", "svg"] {
                match std::fs::remove_file(dir.join(format!("{stale}.{extension}"))) {
                    Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                    _ => {}
                }
            }
        }
        Ok(index)
    }

    /// The graph as SVG and the name of the renderer that drew it.
    fn draw(&self, graph: &Graph) -> Result<(String, &'static str), crate::RenderError> {
        match self.renderer {
            Renderer::Builtin => graph.render_svg(Renderer::Builtin).map(|svg| (svg, "builtin")),
            Renderer::Graphviz => graph.render_svg(Renderer::Graphviz).map(|svg| (svg, "graphviz")),
            Renderer::Auto => match graph.render_svg(Renderer::Graphviz) {
                Ok(svg) => Ok((svg, "graphviz")),
                Err(_) => graph.render_svg(Renderer::Builtin).map(|svg| (svg, "builtin")),
            },
        }
    }

    /// Adds `block` to the last section, starting an untitled one if there is none.
    fn push(&mut self, block: Block) -> &mut Self {
        if self.data.sections.is_empty() {
            let anchor = self.unique_anchor("");
            self.data.sections.push(Section { title: String::new(), anchor, blocks: Vec::new() });
        }
        self.data.sections.last_mut().expect("a section").blocks.push(block);
        self
    }

    /// Starts a section with an analysis' blocks, naming its figures uniquely.
    fn analysis(&mut self, title: &str, blocks: Vec<analysis::Block>) -> &mut Self {
        self.section(title, "");
        for block in blocks {
            let block = match block {
                analysis::Block::Ready(block) => block,
                analysis::Block::Figure { name, caption, graph } => Block::Figure(self.figure(&name, caption, graph)),
            };
            self.push(block);
        }
        self
    }

    fn figure(&mut self, name: &str, caption: String, graph: Graph) -> Figure {
        let mut stem: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
        if stem.is_empty() {
            stem.push_str("graph");
        }
        let mut unique = stem.clone();
        let mut n = 1;
        while !self.figure_names.insert(unique.clone()) {
            n += 1;
            unique = format!("{stem}-{n}");
        }
        Figure {
            name: unique,
            caption,
            objects: graph.node_count(),
            references: graph.edge_count(),
            drawn_by: None,
            error: None,
            graph,
        }
    }

    fn unique_anchor(&self, title: &str) -> String {
        let base = match key_of(title) {
            key if key.is_empty() => "section".to_owned(),
            key => key,
        };
        let taken: HashSet<&str> = self.data.sections.iter().map(|section| section.anchor.as_str()).collect();
        let mut anchor = base.clone();
        let mut n = 1;
        while taken.contains(anchor.as_str()) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        anchor
    }
}

/// The graphs a report written to `dir` before named in its `data.json`: the stems of its
/// `.dot` and `.svg` files. Names that are not plain file stems (a `data.json` that is not
/// a report's) are left out, and so is everything when there is no such file.
fn figures_written_to(dir: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dir.join("data.json")) else { return Vec::new() };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else { return Vec::new() };
    let sections = json.get("sections").and_then(serde_json::Value::as_array);
    let blocks = sections.into_iter().flatten().filter_map(|section| section.get("blocks")?.as_array()).flatten();
    blocks
        .filter(|block| block.get("kind").and_then(serde_json::Value::as_str) == Some("figure"))
        .filter_map(|block| block.get("name")?.as_str())
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_lower_case_words_joined_by_dashes() {
        assert_eq!(key_of("Retained bytes"), "retained-bytes");
        assert_eq!(key_of("Type"), "type");
        assert_eq!(key_of("  (Count)  "), "count");
        assert_eq!(key_of("引用 计数"), "引用-计数");
    }

    #[test]
    fn figure_names_are_file_stems_and_unique() {
        let graph = Graph { nodes: Vec::new(), backrefs: false };
        let mut report = Report::new("t");
        report.graph("chain", "", &graph).graph("chain", "", &graph).graph("../x y", "", &graph).graph("", "", &graph);
        let names: Vec<&str> = report.data.sections[0]
            .blocks
            .iter()
            .map(|block| match block {
                Block::Figure(figure) => figure.name.as_str(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(names, ["chain", "chain-2", "---x-y", "graph"]);
    }

    #[test]
    fn section_anchors_are_unique() {
        let mut report = Report::new("t");
        report.section("Growth", "").section("Growth", "").paragraph("no title");
        let anchors: Vec<&str> = report.data.sections.iter().map(|s| s.anchor.as_str()).collect();
        assert_eq!(anchors, ["growth", "growth-2"]);
    }
}
