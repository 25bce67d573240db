//! The report API on a small heap: what each analysis finds, the files written, the page's
//! offline and escaping guarantees, and the report's data as an insta snapshot.
//!
//! (`report_browser.rs` opens the page in Chromium.)

use std::cell::RefCell;
use std::path::PathBuf;

use cyclegc::{Gc, GcAny, Trace, TypeInfo, gen_gc};
use objgraph::{Cell, HeapSnapshot, LeakCheck, Renderer, Report, Table};

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
        format!("session {}", self.id)
    }
}

#[derive(Trace)]
struct Item {
    session: Gc<Session>,
}

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
}

/// A registry, named `REGISTRY`, with sessions whose items point back at them.
fn registry() -> Gc<Registry> {
    let registry = Gc::new(Registry { sessions: RefCell::new(Vec::new()) });
    objgraph::name_root(&Gc::to_any(&registry), "REGISTRY");
    registry
}

fn open_session(registry: &Gc<Registry>, id: usize, items: usize) {
    let session = Gc::new(Session { id, items: RefCell::new(Vec::new()) });
    for _ in 0..items {
        let item = Gc::new(Item { session: session.clone() });
        session.items.borrow_mut().push(item);
    }
    registry.sessions.borrow_mut().push(session);
}

/// A 2-cycle nothing holds: garbage for the collector.
fn garbage_pair() {
    let a = Gc::new(Node { next: RefCell::new(None) });
    let b = Gc::new(Node { next: RefCell::new(Some(a.clone())) });
    *a.next.borrow_mut() = Some(b);
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("objgraph-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn close(registry: &Gc<Registry>) {
    for session in registry.sessions.borrow_mut().drain(..) {
        session.items.borrow_mut().clear();
    }
}

/// A snapshot of report output that shows sizes: object sizes grow by a word with the
/// `alloc-site` feature, so that configuration has snapshots of its own.
fn assert_sized_snapshot(name: &str, text: String) {
    let mut settings = insta::Settings::clone_current();
    if cfg!(feature = "alloc-site") {
        settings.set_snapshot_suffix("alloc-site");
    }
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// The report of the sessions heap: a summary, growth, the retainers of one item, the
/// largest retainers and one garbage cycle.
fn sessions_report() -> Report {
    gen_gc::disable();
    let registry = registry();
    open_session(&registry, 0, 2);
    let before = HeapSnapshot::capture();
    open_session(&registry, 1, 3);
    garbage_pair();
    let after = HeapSnapshot::capture();
    let item = Gc::to_any(&registry.sessions.borrow()[1].items.borrow()[0]);
    let mut report = Report::new("Sessions <and> 会话");
    report
        .renderer(Renderer::Builtin)
        .section("The scenario", "opened session 0, then session 1\n")
        .paragraph("文章: objgraph.show_growth() 之前和之后")
        .heap_summary(&after)
        .growth(&before, &after)
        .retainers_of(std::slice::from_ref(&item))
        .largest_retainers(3)
        .garbage_cycles();
    drop(item);
    close(&registry);
    gen_gc::collect();
    gen_gc::enable();
    report
}

#[test]
fn the_report_data_of_a_small_heap() {
    let report = sessions_report();
    let dir = temp_dir("data");
    report.write_to(&dir).unwrap();
    let json = std::fs::read_to_string(dir.join("data.json")).unwrap();
    assert_sized_snapshot("the_report_data_of_a_small_heap", json);
    assert_sized_snapshot("the_report_text_of_a_small_heap", std::fs::read_to_string(dir.join("report.txt")).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn write_to_writes_the_page_the_text_the_data_and_each_graph() {
    let report = sessions_report();
    let dir = temp_dir("files");
    let index = report.write_to(&dir).unwrap();
    assert_eq!(index, dir.join("index.html"));
    let mut files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(
        files,
        ["cycle-1.dot", "cycle-1.svg", "data.json", "held-1.dot", "held-1.svg", "index.html", "report.txt"]
    );
    let html = std::fs::read_to_string(&index).unwrap();
    assert!(html.contains("<img src=\"held-1.svg\""), "graphs are linked relatively");
    assert!(html.contains("drawn by the built-in renderer"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn writing_a_smaller_report_over_a_larger_one_removes_only_the_larger_ones_graphs() {
    let dir = temp_dir("rewrite");
    sessions_report().write_to(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    std::fs::write(dir.join("cycle-2.svg"), "not named by the report").unwrap();
    let mut smaller = Report::new("smaller");
    smaller.paragraph("no graphs");
    smaller.write_to(&dir).unwrap();
    let mut files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files, ["cycle-2.svg", "data.json", "index.html", "notes.txt", "report.txt"]);
    // A directory whose data.json is not a report's keeps every file.
    std::fs::write(dir.join("data.json"), r#"{"sections": [{"blocks": [{"kind": "figure", "name": "../notes"}]}]}"#)
        .unwrap();
    smaller.write_to(&dir).unwrap();
    assert!(dir.join("notes.txt").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_page_works_offline_and_declares_utf8_and_cjk_fonts() {
    let dir = temp_dir("offline");
    let html = std::fs::read_to_string(sessions_report().write_to(&dir).unwrap()).unwrap();
    assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"));
    for fallback in
        ["\"Noto Sans CJK SC\"", "\"Source Han Sans SC\"", "\"PingFang SC\"", "\"Microsoft YaHei\"", "sans-serif"]
    {
        assert!(html.contains(fallback), "{fallback} in the font stack");
    }
    for external in ["http:", "https:", "src=\"//", "href=\"//", "@import", "url("] {
        assert!(!html.contains(external), "the page refers to nothing outside its directory ({external})");
    }
    assert!(html.contains("<style>") && html.contains("<script>"), "CSS and script inline");
    assert!(html.contains("文章: objgraph.show_growth() 之前和之后"), "Chinese text as written");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_text_is_escaped() {
    let mut table = Table::new(["<b>Type</b>"]);
    table.row_with_details(
        ["<img src=x onerror=alert(1)>"],
        "\"quoted\" & 'single'",
        "</pre><script>alert(2)</script>",
    );
    let mut report = Report::new("<title> & \"report\"");
    report.section("<h2>", "<pre> & </pre>").paragraph("a < b > c").table("<caption>", table);
    let dir = temp_dir("escape");
    let html = std::fs::read_to_string(report.write_to(&dir).unwrap()).unwrap();
    for raw in ["<b>", "<img src=x", "<title> &", "</pre><script>alert", "<h2><", "<caption><", "a < b"] {
        assert!(!html.contains(raw), "{raw} is escaped");
    }
    for escaped in [
        "&lt;b&gt;Type&lt;/b&gt;",
        "&lt;img src=x onerror=alert(1)&gt;",
        "&quot;quoted&quot; &amp; &#39;single&#39;",
        "&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;",
        "<title>&lt;title&gt; &amp; &quot;report&quot;</title>",
        "a &lt; b &gt; c",
    ] {
        assert!(html.contains(escaped), "{escaped}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_summary_counts_and_sizes_every_type() {
    let registry = registry();
    open_session(&registry, 0, 4);
    let mut report = Report::new("t");
    report.heap_summary(&HeapSnapshot::capture());
    let text = report.to_text();
    let item = TypeInfo::of::<Item>().object_size();
    let row: Vec<&str> = text.lines().find(|line| line.starts_with("Item ")).unwrap().split_whitespace().collect();
    assert_eq!(row, ["Item", "4", &(4 * item).to_string()], "{text}");
    assert!(text.contains("6 tracked objects of 3 types"), "{text}");
    close(&registry);
}

#[test]
fn the_chain_of_an_object_starts_at_the_named_root() {
    let registry = registry();
    open_session(&registry, 7, 1);
    let item = Gc::to_any(&registry.sessions.borrow()[0].items.borrow()[0]);
    let mut report = Report::new("t");
    report.retainers_of(&[item.clone(), item]);
    let text = report.to_text();
    assert!(text.contains("held by: REGISTRY: Registry, 2 references away"), "{text}");
    assert!(text.contains(
        "      REGISTRY: Registry    [held from outside: 1]\n        sessions[0] → Session (session 7)\n        items[0] → Item\n"
    ), "{text}");
    assert_eq!(text.matches("held by:").count(), 1, "the same object twice is one row: {text}");
    close(&registry);
}

#[test]
fn an_object_held_only_by_a_cycle_has_no_root() {
    gen_gc::disable();
    garbage_pair();
    let node = objgraph::by_type("Node", &objgraph::Query::default()).pop().unwrap();
    let mut report = Report::new("t");
    report.retainers_of(std::slice::from_ref(&node));
    assert!(report.to_text().contains("no root within 64 references: held only by a cycle or by garbage"));
    drop(node);
    gen_gc::collect();
    gen_gc::enable();
}

#[test]
fn an_object_the_caller_holds_is_held_from_outside() {
    let node = Gc::new(Node { next: RefCell::new(None) });
    let mut report = Report::new("t");
    report.retainers_of(&[Gc::to_any(&node)]);
    assert!(report.to_text().contains("held by: held from outside the heap"), "{}", report.to_text());
}

#[test]
fn analyses_that_find_nothing_say_so() {
    let snapshot = HeapSnapshot::capture();
    let mut report = Report::new("t");
    report.growth(&snapshot, &snapshot).garbage_cycles();
    let text = report.to_text();
    assert!(text.contains("No type changed"), "{text}");
    assert!(text.contains("No garbage cycles"), "{text}");
}

#[test]
fn the_report_keeps_nothing_alive() {
    gen_gc::disable();
    let registry = registry();
    open_session(&registry, 0, 2);
    garbage_pair();
    let watched: Vec<cyclegc::Weak<Session>> = registry.sessions.borrow().iter().map(Gc::downgrade).collect();
    let items: Vec<GcAny> = objgraph::by_type("Item", &objgraph::Query::default());
    let mut report = Report::new("t");
    report.heap_summary(&HeapSnapshot::capture()).retainers_of(&items).largest_retainers(10).garbage_cycles();
    drop(items);
    close(&registry);
    drop(registry);
    assert!(watched.iter().all(|session| session.upgrade().is_none()), "sessions died with their registry");
    assert_eq!(gen_gc::collect(), 2, "the garbage pair is still only garbage");
    assert!(report.to_text().contains("Cycles among garbage"));
    gen_gc::enable();
}

#[test]
fn a_generic_table_sorts_numbers_as_numbers_in_text() {
    let mut table = Table::new(["Name", "Leaked", "Change"]);
    table.row([Cell::from("b"), Cell::from(10_usize), Cell::Change(-2)]);
    table.row([Cell::from("a"), Cell::from(9_usize), Cell::Change(3)]);
    let mut report = Report::new("Leak check");
    report.section("Steady growth", "").table("Types", table);
    assert_eq!(
        report.to_text(),
        "Leak check\n==========\n\n== Steady growth ==\n-- Types --\nName  Leaked  Change\nb         10      -2\na          9      +3\n"
    );
}

/// A leak check of a registry that keeps every session it opens (each with an item that
/// points back at it), with a pool of nodes filled once, in the second measured run.
fn leaking_sessions_check() -> (Gc<Registry>, objgraph::LeakReport) {
    let registry = registry();
    let mut pool = Vec::new();
    let mut run = 0;
    let check = LeakCheck::new().sites(false).run(|| {
        open_session(&registry, run, 1);
        if run == 2 {
            pool.extend((0..2).map(|_| Gc::new(Node { next: RefCell::new(None) })));
        }
        run += 1;
    });
    (registry, check)
}

#[test]
fn the_leak_check_section_of_a_small_leak() {
    let (registry, check) = leaking_sessions_check();
    let mut report = Report::new("Sessions leak");
    report.renderer(Renderer::Builtin).leak_report(&check);
    close(&registry);
    let dir = temp_dir("leak");
    report.write_to(&dir).unwrap();
    assert_sized_snapshot("the_leak_check_text", std::fs::read_to_string(dir.join("report.txt")).unwrap());
    assert_sized_snapshot("the_leak_check_data", std::fs::read_to_string(dir.join("data.json")).unwrap());
    let mut files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(
        files,
        ["data.json", "index.html", "leak-1.dot", "leak-1.svg", "leak-2.dot", "leak-2.svg", "report.txt"],
        "a graph of one example per group"
    );
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(
        html.contains("<caption>Types that grew</caption>")
            && html.contains("<caption>Leaked objects by chain</caption>")
    );
    assert!(html.contains("<img src=\"leak-1.svg\""));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_leak_check_section_counts_each_type_per_run() {
    let (registry, check) = leaking_sessions_check();
    let mut report = Report::new("t");
    report.leak_report(&check);
    close(&registry);
    let text = report.to_text();
    let row = |name: &str| -> Vec<String> {
        let line = text.lines().find(|line| line.starts_with(&format!("{name} "))).unwrap();
        line.split("  ").map(str::trim).filter(|cell| !cell.is_empty()).map(str::to_owned).collect()
    };
    assert_eq!(
        text.lines()
            .find(|line| line.starts_with("Type "))
            .unwrap()
            .split("  ")
            .filter(|c| !c.is_empty())
            .map(str::trim)
            .collect::<Vec<_>>(),
        ["Type", "Baseline", "After run 1", "After run 2", "After run 3", "Per run", "Growth", "Grew in"]
    );
    assert_eq!(row("Session"), ["Session", "1", "2", "3", "4", "+1 +1 +1", "+3", "every run"]);
    assert_eq!(row("Node"), ["Node", "0", "0", "2", "2", "+0 +2 +0", "+2", "some runs"]);
}

#[test]
fn the_leak_check_section_shows_each_example_from_where_it_is_held() {
    let (registry, check) = leaking_sessions_check();
    let mut report = Report::new("t");
    report.leak_report(&check);
    close(&registry);
    let text = report.to_text();
    assert!(
        text.contains(
            "      chain from the root named REGISTRY:\n        Registry.sessions[*]\n        Session: 3 leaked\n      \
             3 of 3 example objects alive, each from where it is held:\n        \
             REGISTRY: Registry    [held from outside: 1]\n          sessions[1] → Session (session 1)\n"
        ),
        "{text}"
    );
    assert!(!text.contains("Session (session 0)"), "the warm-up's session is part of the baseline: {text}");
}

#[test]
fn the_leak_check_section_of_a_clean_check_says_so() {
    let registry = registry();
    let check = LeakCheck::new().run(|| {
        open_session(&registry, 0, 1);
        registry.sessions.borrow_mut().pop().unwrap().items.borrow_mut().clear();
    });
    let mut report = Report::new("t");
    report.leak_report(&check);
    assert_eq!(
        report.to_text(),
        "t\n===\n\n== Leak check ==\n1 warm-up run, then 3 measured runs, with a full collection after each. \
         No type grew in every measured run: no leak.\n"
    );
    let dir = temp_dir("clean-leak");
    let html = std::fs::read_to_string(report.write_to(&dir).unwrap()).unwrap();
    assert!(!html.contains("<table") && !html.contains("id=\"filter\""), "no tables, no filter box");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn examples_that_died_are_reported_gone_and_not_drawn() {
    let (registry, check) = leaking_sessions_check();
    close(&registry);
    registry.sessions.borrow_mut().clear();
    let mut report = Report::new("t");
    report.leak_report(&check);
    let text = report.to_text();
    assert!(text.contains("the 3 example objects were gone when the report read the heap"), "{text}");
    assert!(!text.contains("[graph"), "nothing to draw: {text}");
}

#[test]
fn an_example_held_from_outside_is_drawn_with_its_backrefs() {
    let mut held = Vec::new();
    let check = LeakCheck::new().sites(false).run(|| held.push(Gc::new(Node { next: RefCell::new(None) })));
    let mut report = Report::new("t");
    report.leak_report(&check);
    let text = report.to_text();
    assert!(text.contains("chain from an object held from outside the heap"), "{text}");
    assert!(text.contains("each from where it is held:\n        Node    [held from outside: 1]\n"), "{text}");
    assert!(
        text.contains("[graph leak-1.svg / leak-1.dot: show_backrefs of a leaked Node, 3 references deep; 1 object"),
        "{text}"
    );
}

#[test]
fn the_leak_check_section_keeps_nothing_alive() {
    let (registry, check) = leaking_sessions_check();
    let watched: Vec<cyclegc::Weak<Session>> = registry.sessions.borrow().iter().map(Gc::downgrade).collect();
    let mut report = Report::new("t");
    report.leak_report(&check);
    close(&registry);
    drop(registry);
    assert!(watched.iter().all(|session| session.upgrade().is_none()), "sessions died with their registry");
    assert!(report.to_text().contains("Leaked objects by chain"));
}

#[cfg(feature = "alloc-site")]
#[test]
fn the_leak_check_section_says_where_leaked_objects_were_created() {
    let registry = registry();
    let check = LeakCheck::new().run(|| open_session(&registry, 0, 1));
    let mut report = Report::new("t");
    report.leak_report(&check);
    close(&registry);
    let text = report.to_text();
    assert!(text.contains("created at crates/objgraph/tests/report.rs:"), "{text}");
    assert!(report.to_json().contains("\"sites\": ["), "{}", report.to_json());
}

/// Leaked objects held directly from outside the heap: the section says what can hold them
/// there, a field no `Trace` visits among it, as the check's own text does.
#[test]
fn the_leak_check_section_names_what_holds_from_outside() {
    let mut outside: Vec<Gc<Node>> = Vec::new();
    let check = LeakCheck::new().sites(false).run(|| outside.push(Gc::new(Node { next: RefCell::new(None) })));
    assert_eq!(check.groups.len(), 1);
    assert_eq!(check.groups[0].chain(), "Node");
    let mut report = Report::new("t");
    report.leak_report(&check);
    let text = report.to_text();
    assert!(
        text.contains("chain from an object held from outside the heap (by a variable, a static, or an owner no Trace visits: a skipped field"),
        "{text}"
    );
    assert!(check.to_string().contains("an owner no Trace visits (a skipped field"), "{check}");
    drop(outside);
}
