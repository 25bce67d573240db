//! The report and the built-in renderer's pictures in a real browser: headless Chromium loads
//! the page from the file system, runs its script, and the tests read the DOM it dumps.
//!
//! The tests need Chromium (`chromium`, `chromium-browser`, `google-chrome` on the `PATH`, or
//! the path in `CHROMIUM`). Without it they print a note and pass, unless
//! `CYCLEGC_REQUIRE_CHROMIUM` is set, as CI sets it: there a missing browser fails the test.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cyclegc::{Gc, GcAny, Trace};
use objgraph::{GraphOptions, HeapSnapshot, LeakCheck, Renderer, Report};

#[derive(Trace)]
struct Registry {
    sessions: RefCell<Vec<Gc<Session>>>,
}

#[derive(Trace)]
#[trace(describe = Session::describe)]
struct Session {
    id: usize,
    items: RefCell<Vec<Gc<Item>>>,
}

impl Session {
    fn describe(&self) -> String {
        format!("会话 {}", self.id)
    }
}

#[derive(Trace)]
struct Item {
    session: Gc<Session>,
}

#[derive(Trace)]
struct Connection {
    msg_handlers: RefCell<BTreeMap<&'static str, Gc<Connection>>>,
}

/// The browser to run, or `None` (with a note) when there is none and none is required.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("CHROMIUM").map(PathBuf::from).or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).find_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
                .iter()
                .map(|name| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CYCLEGC_REQUIRE_CHROMIUM").is_none(),
            "CYCLEGC_REQUIRE_CHROMIUM is set but Chromium is not installed (apt-get install chromium)"
        );
        eprintln!("note: browser test skipped: Chromium is not installed (apt-get install chromium, or set CHROMIUM)");
    }
    found
}

/// The DOM of `url` after its scripts ran, as headless Chromium serializes it.
fn dump_dom(chromium: &Path, url: &str) -> String {
    let profile =
        std::env::temp_dir().join(format!("objgraph-chromium-profile-{}-{}", std::process::id(), rand_suffix()));
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url])
        .output()
        .expect("Chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(output.status.success(), "Chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("the DOM is UTF-8")
}

/// A number unique to this call within the process, for directory names.
fn rand_suffix() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("objgraph-browser-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The rows of the table captioned `caption` in a dumped DOM: each row's first text cell
/// (numbers are skipped) and whether the row is hidden.
fn table_rows(dom: &str, caption: &str) -> Vec<(String, bool)> {
    let start = dom.find(&format!("<caption>{caption}</caption>")).unwrap_or_else(|| panic!("no table {caption}"));
    let body = &dom[start..];
    let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            let tag = &row[..row.find('>').unwrap()];
            let cell = &row[row.find("<td>").unwrap() + 4..];
            let cell = &cell[..cell.find("</td>").unwrap()];
            (cell.to_owned(), tag.contains(" hidden"))
        })
        .collect()
}

fn body_attribute<'a>(dom: &'a str, name: &str) -> Option<&'a str> {
    let body = &dom[dom.find("<body")?..];
    let tag = &body[..body.find('>')?];
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(&tag[at..at + tag[at..].find('"')?])
}

/// A registry with sessions of items, a summary, the retainers of an item, and a cycle.
fn write_sessions_report(dir: &Path) -> PathBuf {
    let registry = Gc::new(Registry { sessions: RefCell::new(Vec::new()) });
    objgraph::name_root(&Gc::to_any(&registry), "REGISTRY");
    for (id, items) in [(0, 4), (1, 2)] {
        let session = Gc::new(Session { id, items: RefCell::new(Vec::new()) });
        for _ in 0..items {
            let item = Gc::new(Item { session: session.clone() });
            session.items.borrow_mut().push(item);
        }
        registry.sessions.borrow_mut().push(session);
    }
    let connection = Gc::new(Connection { msg_handlers: RefCell::new(BTreeMap::new()) });
    connection.msg_handlers.borrow_mut().insert("login", connection.clone());
    let item: GcAny = Gc::to_any(&registry.sessions.borrow()[1].items.borrow()[0]);
    let index = Report::new("Sessions 会话")
        .renderer(Renderer::Builtin)
        .section("文章", "引用计数: 对象的引用计数为零时立即释放\n")
        .heap_summary(&HeapSnapshot::capture())
        .retainers_of(&[item])
        .graph(
            "connection",
            "Connection.msg_handlers",
            &objgraph::show_refs(&[Gc::to_any(&connection)], &GraphOptions::default()),
        )
        .write_to(dir)
        .unwrap();
    connection.msg_handlers.borrow_mut().clear();
    for session in registry.sessions.borrow_mut().drain(..) {
        session.items.borrow_mut().clear();
    }
    index
}

#[test]
fn the_page_runs_its_script_and_shows_every_row_and_picture() {
    let Some(chromium) = chromium() else { return };
    let dir = temp_dir("page");
    let index = write_sessions_report(&dir);
    let dom = dump_dom(&chromium, &file_url(&index));
    assert_eq!(body_attribute(&dom, "data-ready"), Some("true"), "the script ran");
    assert_eq!(body_attribute(&dom, "data-figures-loaded"), Some("2"), "both pictures loaded from their files");
    let rows = table_rows(&dom, "Objects by type");
    let types: Vec<&str> = rows.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(types, ["Item", "Session", "Connection", "Registry"], "most objects first, as written");
    assert!(rows.iter().all(|(_, hidden)| !hidden));
    assert!(dom.contains("引用计数: 对象的引用计数为零时立即释放"), "Chinese text reads as written");
    assert!(dom.contains("<details><summary>REGISTRY: Registry, 2 references away</summary>"), "the chain unfolds");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_address_sorts_the_tables() {
    let Some(chromium) = chromium() else { return };
    let dir = temp_dir("sort");
    let index = write_sessions_report(&dir);
    let by_name = dump_dom(&chromium, &format!("{}#sort=type", file_url(&index)));
    let types: Vec<String> = table_rows(&by_name, "Objects by type").into_iter().map(|(name, _)| name).collect();
    assert_eq!(types, ["Connection", "Item", "Registry", "Session"], "A to Z");
    assert!(by_name.contains("data-sorted=\"type:asc\""));
    assert!(by_name.contains("aria-sort=\"ascending\""));
    let by_bytes = dump_dom(&chromium, &format!("{}#sort=bytes:asc", file_url(&index)));
    let types: Vec<String> = table_rows(&by_bytes, "Objects by type").into_iter().map(|(name, _)| name).collect();
    let bytes = |name: &str| match name {
        "Item" => 6 * cyclegc::TypeInfo::of::<Item>().object_size(),
        "Session" => 2 * cyclegc::TypeInfo::of::<Session>().object_size(),
        "Connection" => cyclegc::TypeInfo::of::<Connection>().object_size(),
        _ => cyclegc::TypeInfo::of::<Registry>().object_size(),
    };
    // Fewest bytes first; equal sizes keep the order they had.
    let mut expected = vec!["Item", "Session", "Connection", "Registry"];
    expected.sort_by_key(|name| bytes(name));
    assert_eq!(types, expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_address_filters_the_tables() {
    let Some(chromium) = chromium() else { return };
    let dir = temp_dir("filter");
    let index = write_sessions_report(&dir);
    let dom = dump_dom(&chromium, &format!("{}#filter=sess", file_url(&index)));
    let rows = table_rows(&dom, "Objects by type");
    let shown: Vec<&str> = rows.iter().filter(|(_, hidden)| !hidden).map(|(name, _)| name.as_str()).collect();
    assert_eq!(shown, ["Session"], "case does not matter: {rows:?}");
    assert_eq!(rows.len(), 4, "the other rows are hidden, not removed");
    // The summary's Session row, and the retainers' row whose chain passes a Session.
    assert!(dom.contains("<output id=\"filter-count\">2 of 5 rows</output>"), "the count of rows shown");
    // A full type name matches too, though the table shows short names.
    let dom = dump_dom(&chromium, &format!("{}#filter=report_browser%3A%3AItem", file_url(&index)));
    let shown: Vec<String> =
        table_rows(&dom, "Objects by type").into_iter().filter(|(_, hidden)| !hidden).map(|(name, _)| name).collect();
    assert_eq!(shown, ["Item"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A leak check of a registry that keeps every session it opens (each with an item pointing
/// back at it), with a pool of connections filled once, in the second measured run: its
/// section in a report, written while the leaked sessions are still alive.
fn write_leak_report(dir: &Path) -> PathBuf {
    let registry = Gc::new(Registry { sessions: RefCell::new(Vec::new()) });
    objgraph::name_root(&Gc::to_any(&registry), "REGISTRY");
    let mut pool = Vec::new();
    let mut run = 0;
    let check = LeakCheck::new().run(|| {
        let session = Gc::new(Session { id: run, items: RefCell::new(Vec::new()) });
        let item = Gc::new(Item { session: session.clone() });
        session.items.borrow_mut().push(item);
        registry.sessions.borrow_mut().push(session);
        if run == 2 {
            pool.extend((0..2).map(|_| Gc::new(Connection { msg_handlers: RefCell::new(BTreeMap::new()) })));
        }
        run += 1;
    });
    let index =
        Report::new("Leak check 泄露检查").renderer(Renderer::Builtin).leak_report(&check).write_to(dir).unwrap();
    for session in registry.sessions.borrow_mut().drain(..) {
        session.items.borrow_mut().clear();
    }
    index
}

fn shown(rows: &[(String, bool)]) -> Vec<&str> {
    rows.iter().filter(|(_, hidden)| !hidden).map(|(name, _)| name.as_str()).collect()
}

#[test]
fn the_leak_check_section_shows_its_rows_and_graphs() {
    let Some(chromium) = chromium() else { return };
    let dir = temp_dir("leak");
    let index = write_leak_report(&dir);
    let dom = dump_dom(&chromium, &file_url(&index));
    assert_eq!(body_attribute(&dom, "data-ready"), Some("true"), "the script ran");
    assert_eq!(body_attribute(&dom, "data-figures-loaded"), Some("2"), "a graph of an example of each group");
    let types = table_rows(&dom, "Types that grew");
    assert_eq!(shown(&types), ["Item", "Session", "Connection"], "steady growth first");
    assert_eq!(types.len(), 3);
    // The first text cell of a group's row is its type (the count before it is a number).
    assert_eq!(shown(&table_rows(&dom, "Leaked objects by chain")), ["Session", "Item"]);
    assert!(dom.contains("<td>REGISTRY -&gt; Registry.sessions[*] -&gt; Session.items[*] -&gt; Item</td>"));
    assert!(dom.contains("<details><summary>2 steps, 3 examples</summary><pre>chain from the root named REGISTRY:"));
    assert!(dom.contains("    sessions[1] → Session (会话 1)\n    items[0] → Item"), "an example's chain unfolds");
    assert!(dom.contains("<img src=\"leak-2.svg\""));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_leak_check_tables_filter_and_sort() {
    let Some(chromium) = chromium() else { return };
    let dir = temp_dir("leak-filter");
    let index = write_leak_report(&dir);
    let dom = dump_dom(&chromium, &format!("{}#filter=ITEM", file_url(&index)));
    let types = table_rows(&dom, "Types that grew");
    assert_eq!(shown(&types), ["Item"], "{types:?}");
    assert_eq!(types.len(), 3, "the other rows are hidden, not removed");
    assert_eq!(shown(&table_rows(&dom, "Leaked objects by chain")), ["Item"]);
    assert!(dom.contains("<output id=\"filter-count\">2 of 5 rows</output>"));
    // Only the types that grew in every run: the leaks.
    let dom = dump_dom(&chromium, &format!("{}#filter=every+run", file_url(&index)));
    assert_eq!(shown(&table_rows(&dom, "Types that grew")), ["Item", "Session"]);
    assert_eq!(shown(&table_rows(&dom, "Leaked objects by chain")), Vec::<&str>::new());
    let dom = dump_dom(&chromium, &format!("{}#sort=retained-bytes:asc", file_url(&index)));
    assert_eq!(shown(&table_rows(&dom, "Leaked objects by chain")), ["Item", "Session"], "fewest bytes first");
    assert!(dom.contains("data-sorted=\"retained-bytes:asc\""));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Measures, in the page that inlines a picture, the box of everything drawn and of each
/// node's box and text, as Chromium lays them out with the fonts it has.
const MEASURE: &str = r#"
var svg = document.querySelector("svg"), out = [];
var view = svg.viewBox.baseVal, all = svg.getBBox();
out.push(["picture", view.x, view.y, view.width, view.height, all.x, all.y, all.width, all.height].join(" "));
Array.prototype.forEach.call(svg.querySelectorAll("g.node"), function (node) {
  var box = node.querySelector("rect").getBBox(), text = node.querySelector("text").getBBox();
  out.push(["node", node.getAttribute("data-node"), box.x, box.y, box.width, box.height,
            text.x, text.y, text.width, text.height].join(" "));
});
Array.prototype.forEach.call(svg.querySelectorAll("text.edge-label"), function (label) {
  var text = label.getBBox();
  out.push(["edge-label", 0, 0, 0, 0, 0, text.x, text.y, text.width, text.height].join(" "));
});
document.getElementById("measure").textContent = out.join("\n");
"#;

/// `(x, y, width, height)`.
type Box = [f64; 4];

/// Chromium's measures of a picture: the view box, the bounds of everything drawn, each
/// node's box and text, and each edge label.
struct Measures {
    view: Box,
    drawn: Box,
    nodes: Vec<(Box, Box)>,
    edge_labels: Vec<Box>,
}

fn measure(chromium: &Path, dir: &Path, name: &str, svg: &str) -> Measures {
    let svg = svg.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{svg}<pre id=\"measure\"></pre>\n\
         <script>{MEASURE}</script></body></html>\n"
    );
    let path = dir.join(format!("{name}.html"));
    std::fs::write(&path, page).unwrap();
    let dom = dump_dom(chromium, &file_url(&path));
    let start = dom.find("<pre id=\"measure\">").expect("the measures") + "<pre id=\"measure\">".len();
    let text = &dom[start..start + dom[start..].find("</pre>").unwrap()];
    let mut measures = Measures { view: [0.0; 4], drawn: [0.0; 4], nodes: Vec::new(), edge_labels: Vec::new() };
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let numbers: Vec<f64> = fields[1..].iter().map(|n| n.parse().unwrap()).collect();
        let four = |at: usize| -> Box { numbers[at..at + 4].try_into().unwrap() };
        match fields[0] {
            "picture" => (measures.view, measures.drawn) = (four(0), four(4)),
            "node" => measures.nodes.push((four(1), four(5))),
            _ => measures.edge_labels.push(four(5)),
        }
    }
    measures
}

fn inside(inner: Box, outer: Box) -> bool {
    let tolerance = 0.5;
    inner[0] >= outer[0] - tolerance
        && inner[1] >= outer[1] - tolerance
        && inner[0] + inner[2] <= outer[0] + outer[2] + tolerance
        && inner[1] + inner[3] <= outer[1] + outer[3] + tolerance
}

#[test]
fn pictures_fit_their_text_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let dir = temp_dir("pictures");
    let connection = Gc::new(Connection { msg_handlers: RefCell::new(BTreeMap::new()) });
    for msg in ["login", "logout"] {
        connection.msg_handlers.borrow_mut().insert(msg, connection.clone());
    }
    let registry = Gc::new(Registry { sessions: RefCell::new(Vec::new()) });
    for id in 0..3 {
        let session = Gc::new(Session { id, items: RefCell::new(Vec::new()) });
        let item = Gc::new(Item { session: session.clone() });
        session.items.borrow_mut().push(item);
        registry.sessions.borrow_mut().push(session);
    }
    let long = |_: &GcAny| {
        "缓存中的对象: 引用计数为零时立即释放, then a long English line that has to wrap, \
         alloc::collections::btree::map::BTreeMap<alloc::string::String, app::Node>"
            .to_owned()
    };
    let long_labels = GraphOptions { shortnames: false, extra_info: Some(&long), ..Default::default() };
    let graphs = [
        ("connection", objgraph::show_refs(&[Gc::to_any(&connection)], &GraphOptions::default())),
        ("sessions", objgraph::show_refs(&[Gc::to_any(&registry)], &GraphOptions::default())),
        ("long-labels", objgraph::show_refs(&[Gc::to_any(&registry)], &long_labels)),
    ];
    for (name, graph) in &graphs {
        let svg = graph.render_svg(Renderer::Builtin).unwrap();
        let measures = measure(&chromium, &dir, name, &svg);
        assert_eq!(measures.nodes.len(), graph.node_count(), "{name}: every node measured");
        for (i, (node_box, text)) in measures.nodes.iter().enumerate() {
            assert!(inside(*text, *node_box), "{name}: node {i}'s text {text:?} overflows its box {node_box:?}");
        }
        for label in &measures.edge_labels {
            for (i, (node_box, _)) in measures.nodes.iter().enumerate() {
                let overlap_x = label[0] < node_box[0] + node_box[2] && node_box[0] < label[0] + label[2];
                let overlap_y = label[1] < node_box[1] + node_box[3] && node_box[1] < label[1] + label[3];
                assert!(!(overlap_x && overlap_y), "{name}: an edge label {label:?} covers node {i} {node_box:?}");
            }
        }
        let (view, drawn) = (measures.view, measures.drawn);
        assert!(inside(drawn, view), "{name}: the drawing {drawn:?} is cut by the view box {view:?}");
        let gaps = [
            drawn[0] - view[0],
            drawn[1] - view[1],
            view[0] + view[2] - drawn[0] - drawn[2],
            view[1] + view[3] - drawn[1] - drawn[3],
        ];
        // The picture's margin is 4 pixels; where text reaches the edge, the width estimate
        // the renderer sizes it by (made to err on the wide side) adds a little.
        let widest_text = measures.nodes.iter().map(|(_, text)| text).chain(&measures.edge_labels).map(|text| text[2]);
        let allowed = 5.0 + 0.15 * widest_text.fold(0.0, f64::max);
        assert!(
            gaps.iter().all(|&gap| gap <= allowed),
            "{name}: blank margins {gaps:?} (allowed {allowed}) around {drawn:?}"
        );
    }
    connection.msg_handlers.borrow_mut().clear();
    for session in registry.sessions.borrow_mut().drain(..) {
        session.items.borrow_mut().clear();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
