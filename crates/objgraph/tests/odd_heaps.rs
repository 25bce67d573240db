//! objgraph on the heaps real programs make, not tidy ones: unsized and zero-sized objects,
//! type names and map keys full of markup characters, huge fan-out and long chains, a thousand
//! types, weak references, `gc.garbage`, frozen objects, other threads, and leak checks whose
//! scenario panics or collects. Every output format is checked for escaping and determinism.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use cyclegc::{Gc, Trace, coerce_gc, gen_gc};
use objgraph::{GraphOptions, HeapSnapshot, Query, Renderer};
use serde_json::Value;

mod common;
use common::scaled;

/// A type whose name carries a character chosen by the test: `Tagged<'"'>`, `Tagged<'<'>`.
#[derive(Trace)]
#[trace(tracked)]
struct Tagged<const C: char>;

/// A generic holder, so that type names nest `<` and `>` and carry `&`.
#[derive(Trace)]
#[trace(describe)]
struct Holder<T: 'static> {
    #[trace(skip)]
    marker: PhantomData<T>,
    text: String,
    children: RefCell<Vec<cyclegc::GcAny>>,
}

impl<T> std::fmt::Debug for Holder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn holder<T: 'static>(text: &str) -> Gc<Holder<T>> {
    Gc::new(Holder { marker: PhantomData, text: text.to_owned(), children: RefCell::new(Vec::new()) })
}

/// Keyed children: map keys become edge labels.
#[derive(Trace)]
struct Table {
    rows: RefCell<BTreeMap<String, Gc<Row>>>,
}

#[derive(Trace)]
#[trace(tracked)]
struct Row;

/// An empty table held from outside the heap, named `name` when given one.
fn named_table(name: Option<&str>) -> Gc<Table> {
    let table = Gc::new(Table { rows: RefCell::new(BTreeMap::new()) });
    if let Some(name) = name {
        objgraph::name_root(&Gc::to_any(&table), name);
    }
    table
}

/// A leak: one more row in the table, never removed.
fn add_a_row(table: &Table) {
    let key = table.rows.borrow().len().to_string();
    table.rows.borrow_mut().insert(key, Gc::new(Row));
}

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
}

fn node() -> Gc<Node> {
    Gc::new(Node { next: RefCell::new(None) })
}

/// The type name of a closure (`odd_heaps::...::{{closure}}`), with `{` and `}`.
fn closure_type<F: 'static>(_: &F) -> Gc<Holder<F>> {
    holder("a closure's type")
}

/// A heap whose type names, descriptions and edge labels contain every character DOT, SVG,
/// HTML and JSON must escape, held by one root.
fn markup_heap() -> Gc<Holder<&'static str>> {
    let root = holder::<&'static str>("<script>alert(\"x & y\")</script>\nsecond line\tand a tab");
    let table = Gc::new(Table { rows: RefCell::new(BTreeMap::new()) });
    table.rows.borrow_mut().insert("say \"hi\"\nthen <go> & {stay}".to_owned(), Gc::new(Row));
    table.rows.borrow_mut().insert("引用计数 Größe".to_owned(), Gc::new(Row));
    let children: Vec<cyclegc::GcAny> = vec![
        Gc::to_any(&Gc::new(Tagged::<'"'>)),
        Gc::to_any(&Gc::new(Tagged::<'<'>)),
        Gc::to_any(&Gc::new(Tagged::<'&'>)),
        Gc::to_any(&Gc::new(Tagged::<'\\'>)),
        Gc::to_any(&Gc::new(Tagged::<'\n'>)),
        Gc::to_any(&Gc::new(Tagged::<'é'>)),
        Gc::to_any(&closure_type(&|| ())),
        Gc::to_any(&holder::<Vec<BTreeMap<&'static str, Option<(u8, [u16; 3])>>>>("nested")),
        Gc::to_any(&table),
    ];
    *root.children.borrow_mut() = children;
    root
}

/// Splits DOT text into its double-quoted strings, panicking on an unterminated one or on a
/// raw newline inside one: what Graphviz's lexer would reject or misread.
fn dot_strings(dot: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut chars = dot.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut text = String::new();
        loop {
            match chars.next().expect("a DOT string is closed") {
                '"' => break,
                '\\' => {
                    text.push('\\');
                    text.push(chars.next().expect("an escape is complete"));
                }
                '\n' => panic!("a raw newline inside a DOT string: {text:?}"),
                c => text.push(c),
            }
        }
        strings.push(text);
    }
    strings
}

/// Checks that `markup` has no raw `<` or `&` but those of its own tags and entities: every
/// `<` opens a tag name (or `</`, `<!`, `<?`), every `&` starts an entity.
fn assert_well_escaped_markup(markup: &str) {
    for (i, _) in markup.match_indices('<') {
        let next = markup[i + 1..].chars().next().unwrap();
        assert!(next.is_ascii_alphabetic() || "/!?".contains(next), "raw `<` at {i}: {}", &markup[i..][..40]);
    }
    for (i, _) in markup.match_indices('&') {
        let entity = &markup[i..];
        let end = entity.find(';').unwrap_or_else(|| panic!("raw `&` at {i}: {}", &entity[..20]));
        let name = &entity[1..end];
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '#') && !name.is_empty() && end < 10,
            "raw `&` at {i}: {}",
            &entity[..20.min(entity.len())]
        );
    }
}

#[test]
fn markup_characters_in_type_names_descriptions_and_keys_are_escaped_in_dot() {
    let root = markup_heap();
    let graph = objgraph::show_refs(&[Gc::to_any(&root)], &GraphOptions { too_many: 20, ..Default::default() });
    let labels = graph.labels();
    assert!(labels.contains(&"Tagged<'\"'>".to_owned()), "{labels:#?}");
    assert!(labels.contains(&"Tagged<'\\n'>".to_owned()), "{labels:#?}");
    assert!(labels.iter().any(|label| label.contains("{{closure}}")), "{labels:#?}");
    let dot = graph.to_dot();
    let strings = dot_strings(&dot);
    assert!(strings.contains(&r#"Tagged<'\"'>"#.to_owned()), "{dot}");
    assert!(strings.contains(&r"Tagged<'\\\\'>".to_owned()), "{dot}");
    assert!(strings.contains(&r"Tagged<'&amp;'>".to_owned()), "{dot}");
    assert!(strings.iter().any(|s| s.starts_with(r#"Holder<&amp;str>\n<script>alert(\"x &amp; y\")"#)), "{dot}");
    assert!(strings.contains(&r#"rows[\"say \\\"hi\\\"\\nthen <go> &amp; {stay}\"]"#.to_owned()), "{dot}");
    assert!(strings.contains(&r#"rows[\"引用计数 Größe\"]"#.to_owned()), "{dot}");
}

#[test]
fn markup_characters_in_labels_are_escaped_in_builtin_svg() {
    let root = markup_heap();
    let graph = objgraph::show_refs(&[Gc::to_any(&root)], &GraphOptions { too_many: 20, ..Default::default() });
    let svg = graph.render_svg(Renderer::Builtin).expect("the built-in renderer draws any graph");
    assert_well_escaped_markup(&svg);
    assert!(svg.contains("Tagged&lt;&#39;&quot;&#39;&gt;") || svg.contains("Tagged&lt;'&quot;'&gt;"), "{svg}");
    assert!(svg.contains("引用计数 Größe"), "{svg}");
    assert!(!svg.contains("<script>"), "{svg}");
}

#[test]
fn markup_characters_are_escaped_in_the_html_report_and_its_json() {
    let root = markup_heap();
    objgraph::name_root(&Gc::to_any(&root), "<root> & \"friends\"");
    let objects: Vec<cyclegc::GcAny> = root.children.borrow().clone();
    let graph = objgraph::show_backrefs(&objects[..2], &GraphOptions::default());
    let dir = std::env::temp_dir().join(format!("objgraph-odd-heaps-markup-{}", std::process::id()));
    let snapshot = HeapSnapshot::capture();
    let mut report = objgraph::Report::new("Report of <b>markup</b> & \"quotes\"");
    report
        .renderer(Renderer::Builtin)
        .heap_summary(&snapshot)
        .retainers_of(&objects)
        .section("A <section>", "text with <tags> & \"quotes\"\n")
        .graph("refs", "a graph of <things>", &graph);
    drop(objects);
    let index = report.write_to(&dir).unwrap();
    let html = std::fs::read_to_string(&index).unwrap();
    let body = &html[html.find("<body").unwrap()..];
    let body = &body[..body.find("<script").unwrap_or(body.len())];
    assert_well_escaped_markup(body);
    assert!(body.contains("Tagged&lt;"), "{body}");
    assert!(!body.contains("<root>") && !body.contains("<b>markup"), "{body}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("data.json")).unwrap()).unwrap();
    assert!(json.to_string().contains(r#"Tagged<'\"'>"#));
    assert_well_escaped_markup(&std::fs::read_to_string(dir.join("refs.svg")).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
    objgraph::forget_root_name(&Gc::to_any(&root));
}

/// The `.heapsnapshot` as JSON, checked against the invariants of V8's format: node and edge
/// counts match the arrays, edges point at nodes, string indices are in range.
fn parse_heapsnapshot(file: &[u8]) -> (Value, Vec<String>) {
    let json: Value = serde_json::from_slice(file).expect("a .heapsnapshot is JSON");
    let meta = &json["snapshot"]["meta"];
    let node_width = meta["node_fields"].as_array().unwrap().len();
    let edge_width = meta["edge_fields"].as_array().unwrap().len();
    let nodes = json["nodes"].as_array().unwrap();
    let edges = json["edges"].as_array().unwrap();
    let strings: Vec<String> =
        json["strings"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
    assert_eq!(nodes.len(), node_width * json["snapshot"]["node_count"].as_u64().unwrap() as usize);
    assert_eq!(edges.len(), edge_width * json["snapshot"]["edge_count"].as_u64().unwrap() as usize);
    let edge_count: u64 = nodes.chunks(node_width).map(|row| row[4].as_u64().unwrap()).sum();
    assert_eq!(edge_count as usize * edge_width, edges.len());
    for row in nodes.chunks(node_width) {
        assert!((row[1].as_u64().unwrap() as usize) < strings.len());
    }
    for row in edges.chunks(edge_width) {
        let to = row[2].as_u64().unwrap() as usize;
        assert!(to.is_multiple_of(node_width) && to < nodes.len());
    }
    (json, strings)
}

#[test]
fn markup_characters_survive_the_heapsnapshot_json() {
    let root = markup_heap();
    objgraph::name_root(&Gc::to_any(&root), "\"quoted\"\n\u{0}root");
    let mut file = Vec::new();
    objgraph::write_heapsnapshot(&mut file).unwrap();
    let (_, strings) = parse_heapsnapshot(&file);
    for expected in ["Tagged<'\"'>", "Tagged<'\\\\'>", "\"quoted\"\n\u{0}root", "rows[\"引用计数 Größe\"]"] {
        assert!(strings.iter().any(|s| s == expected), "{expected:?} not among {strings:#?}");
    }
    objgraph::forget_root_name(&Gc::to_any(&root));
}

/// DOT, SVG, the leak report and the report's text of a heap built on a fresh thread (a fresh
/// heap, other addresses, other hash seeds).
fn outputs_on_a_fresh_thread() -> Vec<String> {
    std::thread::spawn(|| {
        let root = markup_heap();
        objgraph::name_root(&Gc::to_any(&root), "root");
        let chain_start = node();
        let mut last = chain_start.clone();
        for _ in 0..50 {
            let next = node();
            *last.next.borrow_mut() = Some(next.clone());
            last = next;
        }
        // A cycle for garbage_cycles.
        let (a, b) = (node(), node());
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a.clone());
        drop((a, b));
        let refs = objgraph::show_refs(&[Gc::to_any(&root)], &GraphOptions { too_many: 5, ..Default::default() });
        let children = root.children.borrow().clone();
        let backrefs = objgraph::show_backrefs(&children, &GraphOptions::default());
        drop(children);
        let cycles: Vec<String> = objgraph::garbage_cycles().iter().map(ToString::to_string).collect();
        let mut table = Vec::new();
        objgraph::show_most_common_types(None, &Query::default(), &mut table).unwrap();
        let cache = Gc::new(Table { rows: RefCell::new(BTreeMap::new()) });
        objgraph::name_root(&Gc::to_any(&cache), "cache");
        let mut n = 0;
        let leak = objgraph::LeakCheck::new().sites(false).run(|| {
            n += 1;
            cache.rows.borrow_mut().insert(format!("<{n}>"), Gc::new(Row));
        });
        let mut report = objgraph::Report::new("determinism");
        report.renderer(Renderer::Builtin).leak_report(&leak).largest_retainers(5).garbage_cycles();
        let outputs = vec![
            refs.to_dot(),
            refs.render_svg(Renderer::Builtin).unwrap(),
            backrefs.to_dot(),
            backrefs.render_svg(Renderer::Builtin).unwrap(),
            cycles.join("\n"),
            String::from_utf8(table).unwrap(),
            leak.to_string(),
            report.to_text(),
            report.to_json(),
        ];
        for object in gen_gc::get_objects(None) {
            objgraph::forget_root_name(&object);
        }
        gen_gc::collect();
        outputs
    })
    .join()
    .unwrap()
}

#[test]
fn the_same_heap_built_twice_gives_byte_identical_text() {
    let first = outputs_on_a_fresh_thread();
    let second = outputs_on_a_fresh_thread();
    for (i, (a, b)) in first.iter().zip(&second).enumerate() {
        assert_eq!(a, b, "output {i} differs between two runs");
        assert!(!a.contains("0x"), "output {i} shows an address: {a}");
    }
}

#[test]
fn zero_sized_and_unsized_objects_are_counted_and_drawn() {
    let empties: Vec<Gc<Row>> = (0..1000).map(|_| Gc::new(Row)).collect();
    let text: Gc<str> = Gc::from("<&\"引\">");
    let numbers: Gc<[Gc<Row>]> = empties[..3].iter().cloned().collect();
    let no_rows: Gc<[Gc<Row>]> = Vec::new().into_iter().collect();
    let dynamic: Gc<dyn std::any::Any> = coerce_gc!(Gc::new(Tagged::<'>'>));
    let query = Query::default();
    assert_eq!(objgraph::count("Row", &query), 1000);
    assert_eq!(objgraph::count("[Gc<Row>]", &query), 2);
    assert_eq!(objgraph::count("Tagged<'>'>", &query), 1);
    let slice = Gc::to_any(&numbers);
    let empty_slice = Gc::to_any(&no_rows);
    assert_eq!(objgraph::retained_size(&empty_slice), empty_slice.object_size());
    assert_eq!(objgraph::retained_size(&slice), slice.object_size(), "the rows are also held by `empties`");
    let graph = objgraph::show_refs(&[slice.clone(), empty_slice, Gc::to_any(&text)], &GraphOptions::default());
    assert_eq!(graph.node_count(), 3 + 3);
    assert!(graph.to_dot().contains("[0]"));
    let dynamic_any = Gc::to_any(&dynamic);
    assert_eq!(dynamic_any.short_type_name(), "Tagged<'>'>");
    let mut file = Vec::new();
    objgraph::write_heapsnapshot(&mut file).unwrap();
    let (_, strings) = parse_heapsnapshot(&file);
    assert!(strings.iter().any(|s| s == "[Gc<Row>]"));
}

#[test]
fn a_hundred_thousand_children_stay_bounded_in_graphs() {
    let parent = holder::<u8>("parent");
    let children: Vec<cyclegc::GcAny> = (0..100_000).map(|_| Gc::to_any(&Gc::new(Row))).collect();
    *parent.children.borrow_mut() = children;
    let start = Gc::to_any(&parent);
    let graph = objgraph::show_refs(std::slice::from_ref(&start), &GraphOptions::default());
    assert_eq!(graph.node_count(), 11);
    let dot = graph.to_dot();
    assert!(dot.contains("99990 more references"), "{dot}");
    assert!(dot.len() < 4096, "{} bytes of DOT", dot.len());
    let svg = graph.render_svg(Renderer::Builtin).unwrap();
    assert!(svg.len() < 64 * 1024, "{} bytes of SVG", svg.len());

    let graph = objgraph::show_refs(std::slice::from_ref(&start), &GraphOptions { max_depth: 0, ..Default::default() });
    assert_eq!((graph.node_count(), graph.edge_count()), (1, 0));

    let child = parent.children.borrow()[99_999].clone();
    let backrefs = objgraph::show_backrefs(std::slice::from_ref(&child), &GraphOptions::default());
    assert_eq!(backrefs.labels(), ["Row", "Holder<u8>\nparent\nheld from outside: 2"], "`parent` and `start`");
    assert!(backrefs.to_dot().contains(r#"label="children[99999]""#));
    let chain = objgraph::find_backref_chain_to_root(&child, 10, &[]);
    assert_eq!(chain.len(), 2);
    assert_eq!(
        objgraph::retained_size(&start),
        start.object_size() + 99_999 * child.object_size(),
        "`child` is held here"
    );
}

/// A chain of `len` nodes: the head and the tail.
fn chain(len: usize) -> (Gc<Node>, Gc<Node>) {
    let head = node();
    let mut tail = head.clone();
    for _ in 1..len {
        let next = node();
        *tail.next.borrow_mut() = Some(next.clone());
        tail = next;
    }
    (head, tail)
}

#[test]
fn a_million_long_chain_is_walked_without_overflowing_the_stack() {
    let len = scaled(1_000_000);
    let (head, tail) = chain(len);
    let (head_any, tail_any) = (Gc::to_any(&head), Gc::to_any(&tail));
    drop(tail);
    let size = head_any.object_size();
    assert_eq!(objgraph::count("Node", &Query::default()), len);

    assert_eq!(objgraph::find_backref_chain_to_root(&tail_any, usize::MAX, &[]).len(), len);
    let is_tail = |object: &cyclegc::GcAny| object.ptr_eq(&tail_any);
    assert_eq!(objgraph::find_ref_chain(&head_any, is_tail, usize::MAX, &[]).len(), len);
    let chain_to_head = objgraph::find_backref_chain(&tail_any, |o| o.ptr_eq(&head_any), usize::MAX, &[]);
    assert_eq!(chain_to_head.len(), len);
    drop(chain_to_head);

    let heap = objgraph::HeapGraph::snapshot();
    let dominators = objgraph::Dominators::new(&heap);
    // `tail` is held from outside, so the head retains all but the tail.
    assert_eq!(dominators.retained_size(&head_any), Some((len - 1) * size));
    assert_eq!(dominators.largest_retainers(1)[0].retained_objects, len - 1);
    drop(dominators);
    drop(heap);

    let refs =
        objgraph::show_refs(std::slice::from_ref(&head_any), &GraphOptions { max_depth: len, ..Default::default() });
    assert_eq!((refs.node_count(), refs.edge_count()), (len, len - 1));
    assert!(refs.to_dot().ends_with("}\n"));
    drop(refs);

    let mut file = Vec::new();
    objgraph::write_heapsnapshot(&mut file).unwrap();
    parse_heapsnapshot(&file);
    drop(file);
    assert_eq!(HeapSnapshot::capture().objects.len(), len);

    // Closed into one cycle that nothing outside holds.
    let tail = tail_any.downcast::<Node>().unwrap();
    *tail.next.borrow_mut() = Some(head.clone());
    drop((head, tail, head_any, tail_any));
    let cycles = objgraph::garbage_cycles();
    assert_eq!(cycles.iter().map(objgraph::Cycle::len).collect::<Vec<_>>(), [len]);
    assert!(cycles[0].to_string().starts_with(&format!("{len} objects: Node -> Node")));
    drop(cycles);
    assert_eq!(gen_gc::collect(), len);
}

#[test]
fn naming_a_hundred_thousand_roots_is_not_quadratic() {
    // Each name used to prune the whole table first: 100,000 names took minutes.
    let rows: Vec<Gc<Row>> = (0..scaled(100_000)).map(|_| Gc::new(Row)).collect();
    for (i, row) in rows.iter().enumerate() {
        objgraph::name_root(&Gc::to_any(row), format!("row {i}"));
    }
    assert_eq!(objgraph::root_name(&Gc::to_any(&rows[77])).as_deref(), Some("row 77"));
    let last = rows.len() - 1;
    assert_eq!(objgraph::root_name(&Gc::to_any(&rows[last])), Some(format!("row {last}")));
    // The names go with their objects, and new ones still take.
    drop(rows);
    let fresh: Vec<Gc<Row>> = (0..1000).map(|_| Gc::new(Row)).collect();
    for (i, row) in fresh.iter().enumerate() {
        objgraph::name_root(&Gc::to_any(row), format!("fresh {i}"));
    }
    assert!(
        fresh.iter().enumerate().all(|(i, row)| objgraph::root_name(&Gc::to_any(row)) == Some(format!("fresh {i}")))
    );
    let graph = objgraph::show_backrefs(&[Gc::to_any(&fresh[5])], &GraphOptions::default());
    assert_eq!(graph.labels(), ["Row\nfresh 5\nheld from outside: 1"]);
}

#[derive(Trace)]
struct Child {
    parent: cyclegc::Weak<Parent>,
}

#[derive(Trace)]
struct Parent {
    children: RefCell<Vec<Gc<Child>>>,
}

#[test]
fn an_object_referred_to_only_weakly_is_a_root_with_no_heap_referrer() {
    let parent = Gc::new(Parent { children: RefCell::new(Vec::new()) });
    let weakly_held = Gc::new(Parent { children: RefCell::new(Vec::new()) });
    let child = Gc::new(Child { parent: Gc::downgrade(&weakly_held) });
    parent.children.borrow_mut().push(child.clone());
    drop(child);
    let target = Gc::to_any(&weakly_held);
    let backrefs = objgraph::show_backrefs(std::slice::from_ref(&target), &GraphOptions::default());
    assert_eq!(backrefs.labels(), ["Parent\nheld from outside: 1"]);
    assert_eq!(objgraph::find_backref_chain_to_root(&target, 10, &[]).len(), 1);
    let child_any = Gc::to_any(&parent.children.borrow()[0]);
    assert_eq!(objgraph::retained_size(&child_any), child_any.object_size(), "a weak reference retains nothing");
    let refs = objgraph::show_refs(std::slice::from_ref(&child_any), &GraphOptions::default());
    assert_eq!(refs.node_count(), 1, "show_refs follows strong references only: {}", refs.to_dot());

    let mut file = Vec::new();
    objgraph::write_heapsnapshot(&mut file).unwrap();
    let (json, strings) = parse_heapsnapshot(&file);
    let weak_type = json["snapshot"]["meta"]["edge_types"][0].as_array().unwrap().iter().position(|t| t == "weak");
    let edges = json["edges"].as_array().unwrap();
    let weak_edges: Vec<&str> = edges
        .chunks(3)
        .filter(|row| Some(row[0].as_u64().unwrap() as usize) == weak_type)
        .map(|row| strings[row[1].as_u64().unwrap() as usize].as_str())
        .collect();
    assert_eq!(weak_edges, ["parent"]);

    drop((target, weakly_held));
    assert!(parent.children.borrow()[0].parent.upgrade().is_none());
    let refs = objgraph::show_refs(std::slice::from_ref(&child_any), &GraphOptions::default());
    assert_eq!(refs.node_count(), 1);
    let mut file = Vec::new();
    objgraph::write_heapsnapshot(&mut file).unwrap();
    parse_heapsnapshot(&file);
}

#[test]
fn garbage_kept_by_debug_saveall_is_counted_drawn_and_exported() {
    gen_gc::collect();
    let (a, b) = (node(), node());
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    drop((a, b));
    gen_gc::set_debug(gen_gc::DEBUG_SAVEALL);
    assert_eq!(gen_gc::collect(), 2);
    gen_gc::set_debug(gen_gc::DebugFlags::empty());
    let garbage = gen_gc::garbage();
    assert_eq!(garbage.len(), 2);
    assert_eq!(objgraph::count("Node", &Query::default()), 2);
    assert!(objgraph::garbage_cycles().is_empty(), "gc.garbage holds them");
    assert_eq!(objgraph::cycles_among(&garbage)[0].to_string(), "2 objects: Node -> Node");

    let first = garbage[0].clone();
    drop(garbage);
    let graph = objgraph::show_backrefs(std::slice::from_ref(&first), &GraphOptions::default());
    assert_eq!(graph.labels(), ["Node\nin gc.garbage", "Node\nin gc.garbage"], "{}", graph.to_dot());
    assert_eq!(objgraph::find_backref_chain_to_root(&first, 10, &[]).len(), 1, "gc.garbage is the root");
    drop(first);
    let garbage = gen_gc::garbage();
    let mut file = Vec::new();
    objgraph::write_heapsnapshot(&mut file).unwrap();
    parse_heapsnapshot(&file);
    let dir = std::env::temp_dir().join(format!("objgraph-odd-heaps-garbage-{}", std::process::id()));
    objgraph::Report::new("garbage")
        .renderer(Renderer::Builtin)
        .retainers_of(&garbage)
        .garbage_cycles()
        .largest_retainers(3)
        .write_to(&dir)
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    drop(graph);

    for object in &garbage {
        object.downcast::<Node>().unwrap().next.borrow_mut().take();
    }
    drop(garbage);
    drop(gen_gc::take_garbage());
    assert_eq!(objgraph::count("Node", &Query::default()), 0);
}

#[test]
fn frozen_cycles_are_counted_but_not_reported_as_garbage() {
    gen_gc::collect();
    let (a, b) = (node(), node());
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    let watch = Gc::downgrade(&a);
    drop((a, b));
    gen_gc::freeze();
    assert_eq!(objgraph::count("Node", &Query::default()), 2);
    assert!(objgraph::garbage_cycles().is_empty(), "no collection examines frozen objects");
    let objects = objgraph::by_type("Node", &Query::default());
    let graph = objgraph::show_backrefs(&objects[..1], &GraphOptions::default());
    assert_eq!(graph.node_count(), 2);
    drop((graph, objects));
    let report = objgraph::LeakCheck::new().sites(false).run(|| {
        let leaked = node();
        *leaked.next.borrow_mut() = Some(leaked.clone());
        gen_gc::freeze();
    });
    assert_eq!(report.growing.len(), 1, "{report}");
    assert_eq!(report.groups.iter().map(|group| group.count).sum::<usize>(), 3, "{report}");
    gen_gc::unfreeze();
    assert_eq!(gen_gc::collect(), 2 + 4, "the first cycle and one per run, the warm-up's included");
    assert!(watch.upgrade().is_none());
}

#[test]
fn a_thread_sees_only_its_own_objects_and_names() {
    let here = Gc::new(Row);
    objgraph::name_root(&Gc::to_any(&here), "here");
    let (count, typestats, chain) = std::thread::spawn(|| {
        let there = Gc::new(Tagged::<'t'>);
        objgraph::name_root(&Gc::to_any(&there), "there");
        let count = objgraph::count("Row", &Query::default());
        let typestats = objgraph::typestats(&Query::default());
        let graph = objgraph::show_backrefs(&[Gc::to_any(&there)], &GraphOptions::default());
        (count, typestats, graph.labels())
    })
    .join()
    .unwrap();
    assert_eq!(count, 0);
    assert!(!typestats.contains_key("Row"), "{typestats:?}");
    assert_eq!(chain, ["Tagged<'t'>\nthere\nheld from outside: 1"]);
    assert_eq!(objgraph::count("Tagged<'t'>", &Query::default()), 0);
    assert_eq!(objgraph::root_name(&Gc::to_any(&here)).as_deref(), Some("here"));
}

#[test]
fn a_panicking_leak_check_leaves_nothing_behind() {
    let cache = named_table(None);
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        objgraph::LeakCheck::new().run(|| {
            add_a_row(&cache);
            let runs = cache.rows.borrow().len();
            if runs == 3 {
                panic!("the scenario failed in run {runs}");
            }
        })
    }))
    .unwrap_err();
    assert_eq!(panic.downcast_ref::<String>().map(String::as_str), Some("the scenario failed in run 3"));
    assert!(gen_gc::is_enabled());
    // The next check is not confused by the first one's callback or counts.
    cache.rows.borrow_mut().clear();
    let report = objgraph::LeakCheck::new().sites(false).run(|| add_a_row(&cache));
    assert_eq!(report.groups.len(), 1, "{report}");
    assert_eq!(report.groups[0].count, 3, "{report}");
}

#[test]
fn a_leak_check_whose_scenario_collects_and_makes_cycles_reports_only_the_leak() {
    let cache = named_table(Some("cache"));
    let report = objgraph::LeakCheck::new().sites(false).run(|| {
        for _ in 0..100 {
            let (a, b) = (node(), node());
            *a.next.borrow_mut() = Some(b.clone());
            *b.next.borrow_mut() = Some(a);
        }
        add_a_row(&cache);
        gen_gc::collect();
        gen_gc::collect_generation(0).unwrap();
    });
    assert_eq!(
        report.to_string(),
        format!(
            "leak check: 1 warm-up run, 3 measured runs\n\ngrew in every measured run (objects gained per run):\n  Row  +1 +1 +1\n\nleaked: 3 objects in 1 group, retaining {bytes} bytes\n  3 Row, retaining {bytes} bytes\n    cache -> Table.rows[*] -> Row\n",
            bytes = 3 * cyclegc::TypeInfo::of::<Row>().object_size()
        )
    );
}

/// A type whose name is not ASCII.
#[derive(Trace)]
#[trace(tracked)]
struct Größe;

#[test]
fn text_tables_pad_non_ascii_type_names_by_characters_as_objgraph_does() {
    let rows: Vec<Gc<Row>> = (0..2).map(|_| Gc::new(Row)).collect();
    let query = Query::default();
    let mut peak = objgraph::PeakStats::default();
    objgraph::growth(None, &mut peak, &query);
    let size = Gc::new(Größe);
    let mut table = Vec::new();
    objgraph::show_most_common_types(None, &query, &mut table).unwrap();
    assert_eq!(String::from_utf8(table).unwrap(), "Row   2\nGröße 1\n");
    let mut table = Vec::new();
    objgraph::show_growth_with(None, &mut peak, &query, &mut table).unwrap();
    assert_eq!(String::from_utf8(table).unwrap(), "Größe        1        +1\n");
    let mut table = Vec::new();
    objgraph::Dominators::new(&objgraph::HeapGraph::snapshot()).show_largest_retainers(3, &mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert_eq!(table.lines().count(), 3);
    assert!(table.lines().all(|line| line.chars().count() == "Größe".len() - 2 + 9 + 1 + 9), "{table}");
    drop((rows, size));

    let kept = RefCell::new(Vec::new());
    let report = objgraph::LeakCheck::new().run(|| {
        kept.borrow_mut().push((Gc::new(Row), Gc::new(Größe)));
    });
    let text = report.to_string();
    assert!(text.contains("\n  Row    +1 +1 +1\n") && text.contains("\n  Größe  +1 +1 +1\n"), "{text}");
}

/// Digits of the thousand generic instantiations.
struct D0;
struct D1;
struct D2;
struct D3;
struct D4;
struct D5;
struct D6;
struct D7;
struct D8;
struct D9;

/// Calls `$then!` on `[$prefix.., Dk]` for each digit `k`.
macro_rules! each_digit {
    ($objects:ident, $then:ident [$($prefix:ty),*]) => {
        $then!($objects, [$($prefix,)* D0]);
        $then!($objects, [$($prefix,)* D1]);
        $then!($objects, [$($prefix,)* D2]);
        $then!($objects, [$($prefix,)* D3]);
        $then!($objects, [$($prefix,)* D4]);
        $then!($objects, [$($prefix,)* D5]);
        $then!($objects, [$($prefix,)* D6]);
        $then!($objects, [$($prefix,)* D7]);
        $then!($objects, [$($prefix,)* D8]);
        $then!($objects, [$($prefix,)* D9]);
    };
}
macro_rules! second_digit {
    ($objects:ident, [$a:ty]) => {
        each_digit!($objects, third_digit[$a])
    };
}
macro_rules! third_digit {
    ($objects:ident, [$a:ty, $b:ty]) => {
        each_digit!($objects, one_of_each [$a, $b])
    };
}
macro_rules! one_of_each {
    ($objects:ident, [$a:ty, $b:ty, $c:ty]) => {
        add_one::<($a, $b, $c)>(&mut $objects)
    };
}

fn add_one<T: 'static>(objects: &mut Vec<cyclegc::GcAny>) {
    objects.push(Gc::to_any(&holder::<T>("one of a thousand types")));
}

/// One object of each of 1,000 types, `Holder<(D0, D0, D0)>` to `Holder<(D9, D9, D9)>`.
fn one_of_each_of_a_thousand_types() -> Vec<cyclegc::GcAny> {
    let mut objects = Vec::with_capacity(1000);
    each_digit!(objects, second_digit []);
    objects
}

/// The counts, growth, leak check and snapshot diff of a heap with a thousand types.
fn thousand_type_outputs() -> Vec<String> {
    std::thread::spawn(|| {
        let query = Query::default();
        let before = HeapSnapshot::capture();
        let mut peak = objgraph::PeakStats::default();
        objgraph::growth(None, &mut peak, &query);
        let kept = one_of_each_of_a_thousand_types();
        assert_eq!(objgraph::typestats(&query).len(), 1000);
        assert_eq!(objgraph::count("Holder<(D4, D0, D4)>", &query), 1);
        let mut table = Vec::new();
        objgraph::show_most_common_types(None, &query, &mut table).unwrap();
        let mut growth = Vec::new();
        objgraph::show_growth_with(Some(20), &mut peak, &query, &mut growth).unwrap();
        let diff = HeapSnapshot::diff(&before, &HeapSnapshot::capture());
        assert_eq!(diff.rows.len(), 1000);
        let cache = RefCell::new(Vec::new());
        let report = objgraph::LeakCheck::new()
            .sites(false)
            .run(|| cache.borrow_mut().extend(one_of_each_of_a_thousand_types()));
        assert_eq!((report.growing.len(), report.groups.len()), (1000, 1000));
        let mut file = Vec::new();
        objgraph::write_heapsnapshot(&mut file).unwrap();
        parse_heapsnapshot(&file);
        drop((kept, cache));
        [table, growth]
            .map(|bytes| String::from_utf8(bytes).unwrap())
            .into_iter()
            .chain([diff.to_string(), report.to_string()])
            .collect()
    })
    .join()
    .unwrap()
}

#[test]
fn a_thousand_generic_instantiations_are_counted_apart_and_listed_in_a_stable_order() {
    let first = thousand_type_outputs();
    assert!(first[0].starts_with("Holder<(D0, D0, D0)> 1\nHolder<(D0, D0, D1)> 1\n"), "{}", &first[0][..200]);
    assert_eq!(first[1].lines().count(), 20);
    assert_eq!(first, thousand_type_outputs());
}

/// A map key described by its raw text, control characters and all.
#[derive(Trace, PartialEq, Eq, PartialOrd, Ord)]
#[trace(describe = raw_text)]
struct RawKey(String);

fn raw_text(key: &RawKey) -> String {
    key.0.clone()
}

#[derive(Trace)]
struct RawTable {
    rows: RefCell<BTreeMap<RawKey, Gc<Row>>>,
}

/// Whether `text` has a character XML 1.0 forbids (C0 controls other than tab, newline and
/// carriage return, U+FFFE and U+FFFF), or a noncharacter it discourages.
fn has_character_xml_forbids(text: &str) -> bool {
    text.chars().any(|c| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || ('\u{fdd0}'..='\u{fdef}').contains(&c) || c >= '\u{fffe}'
    })
}

#[test]
fn control_characters_in_edge_labels_stay_visible_and_valid_in_every_format() {
    let table = Gc::new(RawTable { rows: RefCell::new(BTreeMap::new()) });
    table
        .rows
        .borrow_mut()
        .insert(RawKey("bell\u{7} and\nnewline <k>\u{fffe}\u{ffff}\u{fdd0}".to_owned()), Gc::new(Row));
    let start = Gc::to_any(&table);
    let refs = objgraph::show_refs(std::slice::from_ref(&start), &GraphOptions::default());
    let dot = refs.to_dot();
    assert!(!has_character_xml_forbids(&dot), "{dot:?}");
    dot_strings(&dot);
    assert!(dot.contains(r#"label="rows[bell\\x07 and\nnewline <k>\\u{fffe}\\u{ffff}\\u{fdd0}]""#), "{dot}");
    let svg = refs.render_svg(Renderer::Builtin).unwrap();
    assert!(!has_character_xml_forbids(&svg), "the SVG is not XML: {svg:?}");
    assert!(svg.contains(r"rows[bell\x07 and"), "{svg}");
    assert_well_escaped_markup(&svg);
    let row = Gc::to_any(table.rows.borrow().values().next().unwrap());
    let backrefs = objgraph::show_backrefs(std::slice::from_ref(&row), &GraphOptions::default());
    assert!(!has_character_xml_forbids(&backrefs.render_svg(Renderer::Builtin).unwrap()));
    let dir = std::env::temp_dir().join(format!("objgraph-odd-heaps-control-{}", std::process::id()));
    let mut report = objgraph::Report::new("control characters");
    report.renderer(Renderer::Builtin).retainers_of(std::slice::from_ref(&row)).graph("refs", "refs", &refs);
    drop(row);
    let index = report.write_to(&dir).unwrap();
    let html = std::fs::read_to_string(index).unwrap();
    assert!(!has_character_xml_forbids(&html), "{html:?}");
    assert!(html.contains(r"rows[bell\x07 and\x0anewline &lt;k&gt;\u{fffe}\u{ffff}\u{fdd0}]"), "{html}");
    let text = std::fs::read_to_string(dir.join("report.txt")).unwrap();
    assert!(text.contains(r"rows[bell\x07 and\x0anewline <k>\u{fffe}\u{ffff}\u{fdd0}]"), "{text}");
    assert!(!has_character_xml_forbids(&std::fs::read_to_string(dir.join("refs.svg")).unwrap()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_hundred_thousand_referrers_stay_bounded_in_backref_graphs() {
    let shared = Gc::new(Row);
    let holders: Vec<Gc<Holder<u16>>> = (0..100_000)
        .map(|i| {
            let holder = holder::<u16>(&format!("holder {i}"));
            holder.children.borrow_mut().push(Gc::to_any(&shared));
            holder
        })
        .collect();
    let target = Gc::to_any(&shared);
    drop(shared);
    let options = GraphOptions { refcounts: true, ..Default::default() };
    let graph = objgraph::show_backrefs(std::slice::from_ref(&target), &options);
    assert_eq!(graph.node_count(), 11);
    assert_eq!(graph.labels()[0], "Row [100000]");
    let dot = graph.to_dot();
    assert!(dot.contains("99990 more backreferences"), "{dot}");
    assert!(dot.len() < 4096, "{} bytes of DOT", dot.len());
    assert_eq!(objgraph::find_backref_chain_to_root(&target, 5, &[]).len(), 2);
    assert_eq!(objgraph::retained_size(&target), target.object_size());
    drop(holders);
    assert_eq!(target.strong_count(), 1);
}

#[test]
fn a_root_name_with_a_line_break_keeps_the_leak_report_one_chain_a_line() {
    let cache = named_table(Some("cache\nof rows"));
    let report = objgraph::LeakCheck::new().sites(false).run(|| add_a_row(&cache));
    let text = report.to_string();
    assert!(text.ends_with("    cache\\x0aof rows -> Table.rows[*] -> Row\n"), "{text}");
    let mut report_page = objgraph::Report::new("a named root");
    report_page.renderer(Renderer::Builtin).leak_report(&report);
    let text = report_page.to_text();
    assert!(text.contains("chain from the root named cache\\x0aof rows:"), "{text}");
    assert!(!text.contains("cache\nof rows"), "{text}");
}

/// A described type whose `Debug` reaches itself through a cycle: graphs, reports and
/// leak checks label it (the object met again is written `<Ring ...>`), where formatting
/// it whole would recurse until the stack overflowed.
#[test]
fn described_objects_in_a_cycle_label_graphs_and_reports() {
    #[derive(Trace, Debug)]
    #[trace(describe)]
    struct Ring {
        name: &'static str,
        next: RefCell<Option<Gc<Ring>>>,
    }
    let a = Gc::new(Ring { name: "a", next: RefCell::new(None) });
    let b = Gc::new(Ring { name: "b", next: RefCell::new(Some(a.clone())) });
    *a.next.borrow_mut() = Some(b.clone());
    let dot = objgraph::show_refs(&[Gc::to_any(&a)], &GraphOptions::default()).to_dot();
    assert!(dot.contains("Ring { name: \\\"a\\\""), "{dot}");
    assert!(dot.contains("Ring { name: \\\"b\\\""), "{dot}");
    let chain = objgraph::show_backrefs(&[Gc::to_any(&b)], &GraphOptions::default()).to_dot();
    assert!(chain.contains("Ring { name: \\\"b\\\""), "{chain}");
    drop((a, b));
    gen_gc::collect();
}

/// A set of objects the collector cannot tell apart (their fields are plain data), one of them
/// also held from outside: its graph is the same text in every run, whatever order the set's
/// hasher, seeded afresh each time, keeps them in. Each run is a thread of its own, with a heap
/// of its own, as each run of a program has.
#[test]
fn a_set_of_look_alike_objects_draws_the_same_graph_in_every_run() {
    #[derive(Trace, PartialEq, Eq, Hash)]
    #[trace(tracked)]
    struct Session {
        #[trace(skip)]
        id: u32,
    }
    #[derive(Trace)]
    struct Server {
        sessions: std::collections::HashSet<Gc<Session>>,
        by_id: std::collections::HashMap<u32, Gc<Session>>,
    }
    fn draw() -> String {
        let sessions: Vec<Gc<Session>> = (0..8).map(|id| Gc::new(Session { id })).collect();
        let server = Gc::new(Server {
            sessions: sessions.iter().cloned().collect(),
            by_id: sessions.iter().map(|session| (session.id, session.clone())).collect(),
        });
        let held = sessions[3].clone();
        drop(sessions);
        let dot = objgraph::show_refs(&[Gc::to_any(&server)], &GraphOptions::default()).to_dot();
        drop((held, server));
        dot
    }
    let first = std::thread::spawn(draw).join().expect("a run");
    assert!(first.contains("held from outside"), "{first}");
    for _ in 0..4 {
        assert_eq!(std::thread::spawn(draw).join().expect("a run"), first);
    }
}

/// A map whose keys describe alike (long paths cut alike at the description's length, a key
/// type whose `Debug` prints the same for every key) and whose values differ: its graph is the
/// same text in every run, the entries ordered by what their values hold, also when
/// `too_many` leaves some of them out.
#[test]
fn a_map_whose_keys_describe_alike_draws_the_same_graph_in_every_run() {
    #[derive(Trace)]
    struct Node {
        kids: RefCell<Vec<Gc<Node>>>,
    }
    #[derive(Trace, PartialEq, Eq, Hash)]
    #[trace(describe)]
    struct Opaque(u32);
    impl std::fmt::Debug for Opaque {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Opaque")
        }
    }
    #[derive(Trace)]
    struct Index {
        by_path: RefCell<std::collections::HashMap<String, Gc<Node>>>,
        by_opaque: RefCell<std::collections::HashMap<Opaque, Gc<Node>>>,
    }
    fn node(kids: usize) -> Gc<Node> {
        let kids = (0..kids).map(|_| Gc::new(Node { kids: RefCell::new(Vec::new()) })).collect();
        Gc::new(Node { kids: RefCell::new(kids) })
    }
    fn draw() -> (String, String) {
        let index = Gc::new(Index { by_path: RefCell::default(), by_opaque: RefCell::default() });
        for i in 0..6 {
            let path = format!("{}{i}", "/very/long/path/".repeat(14));
            index.by_path.borrow_mut().insert(path, node(i % 3));
            index.by_opaque.borrow_mut().insert(Opaque(i as u32), node(i % 3));
        }
        let all = objgraph::show_refs(&[Gc::to_any(&index)], &GraphOptions { max_depth: 2, ..Default::default() });
        let cut = GraphOptions { max_depth: 2, too_many: 4, ..Default::default() };
        let cut = objgraph::show_refs(&[Gc::to_any(&index)], &cut);
        (all.to_dot(), cut.to_dot())
    }
    let first = std::thread::spawn(draw).join().expect("a run");
    assert!(first.1.contains("more references"), "{}", first.1);
    for _ in 0..6 {
        assert_eq!(std::thread::spawn(draw).join().expect("a run"), first);
    }
}

/// A set of pairs alike but for the second object they hold (the first is shared): each run
/// draws the same graph, though only the objects' places in the heap tell the pairs apart.
#[test]
fn a_set_of_pairs_sharing_their_first_object_draws_the_same_graph_in_every_run() {
    #[derive(Trace, PartialEq, Eq, Hash)]
    #[trace(tracked)]
    struct Hub {
        #[trace(skip)]
        n: u8,
    }
    #[derive(Trace, PartialEq, Eq, Hash)]
    #[trace(tracked)]
    struct Leaf {
        #[trace(skip)]
        n: u32,
    }
    #[derive(Trace)]
    struct Registry {
        links: RefCell<std::collections::HashSet<(Gc<Hub>, Gc<Leaf>)>>,
    }
    fn draw() -> String {
        let registry = Gc::new(Registry { links: RefCell::default() });
        let hub = Gc::new(Hub { n: 0 });
        let mut kept = Vec::new();
        for n in 0..6 {
            let leaf = Gc::new(Leaf { n });
            // Each leaf is held from outside a different number of times: the graph shows it.
            kept.extend(std::iter::repeat_n(leaf.clone(), n as usize));
            registry.links.borrow_mut().insert((hub.clone(), leaf));
        }
        let options = GraphOptions { max_depth: 1, too_many: 100, refcounts: true, ..Default::default() };
        let dot = objgraph::show_refs(&[Gc::to_any(&registry)], &options).to_dot();
        drop((kept, hub, registry));
        dot
    }
    let first = std::thread::spawn(draw).join().expect("a run");
    for _ in 0..8 {
        assert_eq!(std::thread::spawn(draw).join().expect("a run"), first);
    }
}

/// Objects alike in a set, spread over several of the thread's arenas, while other threads
/// allocate and free: each run draws the same graph, as their order follows where they lie in
/// their own thread's pools, not where the global allocator put the arenas.
#[test]
fn alike_objects_over_several_arenas_draw_the_same_graph_while_other_threads_allocate() {
    #[derive(Trace, PartialEq, Eq, Hash)]
    #[trace(tracked)]
    struct Alike {
        #[trace(skip)]
        n: u32,
        #[trace(skip)]
        pad: [u64; 40],
    }
    #[derive(Trace)]
    struct Registry {
        members: RefCell<std::collections::HashSet<Gc<Alike>>>,
    }
    fn draw() -> Vec<u32> {
        let registry = Gc::new(Registry { members: RefCell::default() });
        let count = scaled(3_000) as u32;
        for n in 0..count {
            registry.members.borrow_mut().insert(Gc::new(Alike { n, pad: [0; 40] }));
        }
        let order = Gc::to_any(&registry)
            .referents()
            .iter()
            .map(|referent| referent.target.downcast::<Alike>().expect("a member").n)
            .collect();
        drop(registry);
        order
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let noise: Vec<_> = (0..2)
        .map(|seed| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut kept: Vec<Vec<u8>> = Vec::new();
                let mut i = seed;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i = (i * 7 + 3) % 64;
                    kept.push(vec![0; 256 * 1024 + i * 4096]);
                    if kept.len() > 8 {
                        kept.remove(i % kept.len());
                    }
                }
            })
        })
        .collect();
    let first = std::thread::spawn(draw).join().expect("a run");
    let runs: Vec<Vec<u32>> = (0..4).map(|_| std::thread::spawn(draw).join().expect("a run")).collect();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for thread in noise {
        thread.join().expect("a noise thread");
    }
    assert_eq!(first.len(), scaled(3_000));
    for run in runs {
        assert_eq!(run, first);
    }
}

/// A `Debug` that panics (objgraph's `repr` that raises): the object's label reads
/// `(unrepresentable)`, and the graph, the map ordering that reads descriptions and the report
/// are still made.
#[test]
fn a_description_that_panics_reads_unrepresentable() {
    #[derive(Trace)]
    #[trace(describe)]
    struct Bad {
        kids: RefCell<Vec<Gc<Bad>>>,
    }
    impl std::fmt::Debug for Bad {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            panic!("repr raises")
        }
    }
    #[derive(Trace)]
    struct Holder {
        by_bad: RefCell<std::collections::HashMap<u32, Gc<Bad>>>,
        set: RefCell<std::collections::HashSet<Gc<Leafish>>>,
    }
    #[derive(Trace, PartialEq, Eq, Hash)]
    #[trace(describe)]
    struct Leafish(u32);
    impl std::fmt::Debug for Leafish {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            panic!("repr raises too")
        }
    }
    let bad = Gc::new(Bad { kids: RefCell::new(vec![Gc::new(Bad { kids: RefCell::new(Vec::new()) })]) });
    let holder = Gc::new(Holder { by_bad: RefCell::default(), set: RefCell::default() });
    holder.by_bad.borrow_mut().insert(1, bad.clone());
    holder.set.borrow_mut().extend([Gc::new(Leafish(1)), Gc::new(Leafish(2))]);
    assert_eq!(Gc::to_any(&bad).describe().as_deref(), Some("(unrepresentable)"));
    let graph = objgraph::show_refs(&[Gc::to_any(&holder)], &GraphOptions { max_depth: 3, ..Default::default() });
    assert!(graph.to_dot().contains("(unrepresentable)"), "{}", graph.to_dot());
    let graph = objgraph::show_backrefs(&[Gc::to_any(&bad)], &GraphOptions::default());
    assert!(graph.to_dot().contains("(unrepresentable)"), "{}", graph.to_dot());
    drop((bad, holder));

    // A map key and a by-value set member whose `Debug` panics: the edge label and the
    // ordering read `(unrepresentable)` too.
    #[derive(Trace, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[trace(describe)]
    struct BadKey(u32);
    impl std::fmt::Debug for BadKey {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            panic!("key repr raises")
        }
    }
    #[derive(Trace, PartialEq, Eq, Hash)]
    #[trace(describe)]
    struct BadMember {
        #[trace(skip)]
        n: u32,
        held: Gc<Leafish>,
    }
    impl std::fmt::Debug for BadMember {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            panic!("member repr raises")
        }
    }
    #[derive(Trace)]
    struct Keyed {
        ordered: RefCell<BTreeMap<BadKey, Gc<Leafish>>>,
        hashed: RefCell<std::collections::HashMap<BadKey, Gc<Leafish>>>,
        members: RefCell<std::collections::HashSet<BadMember>>,
    }
    let value = Gc::new(Leafish(3));
    let keyed = Gc::new(Keyed { ordered: RefCell::default(), hashed: RefCell::default(), members: RefCell::default() });
    keyed.ordered.borrow_mut().insert(BadKey(1), value.clone());
    keyed.hashed.borrow_mut().extend([(BadKey(1), value.clone()), (BadKey(2), value.clone())]);
    keyed
        .members
        .borrow_mut()
        .extend([BadMember { n: 1, held: value.clone() }, BadMember { n: 2, held: Gc::new(Leafish(4)) }]);
    let labels: Vec<String> = Gc::to_any(&keyed).referents().into_iter().map(|referent| referent.label).collect();
    assert!(labels.iter().any(|label| label == "ordered[(unrepresentable)]"), "{labels:?}");
    let dot = objgraph::show_refs(&[Gc::to_any(&keyed)], &GraphOptions::default()).to_dot();
    assert!(dot.contains("(unrepresentable)"), "{dot}");
    let dot = objgraph::show_backrefs(&[Gc::to_any(&value)], &GraphOptions::default()).to_dot();
    assert!(dot.contains("Keyed"), "{dot}");
    drop((keyed, value));
}

thread_local! {
    static GRAPHED: RefCell<Option<cyclegc::GcAny>> = const { RefCell::new(None) };
}

/// A map key whose description draws a graph of the map holding it.
#[derive(Trace, PartialEq, Eq, Hash)]
#[trace(describe = graphing_key)]
struct GraphingKey(u32);

fn graphing_key(key: &GraphingKey) -> String {
    match GRAPHED.with(|graphed| graphed.borrow().clone()) {
        Some(holder) => {
            let nodes = objgraph::show_refs(&[holder], &GraphOptions::default()).node_count();
            format!("key {} of a graph of {nodes}", key.0)
        }
        None => format!("key {}", key.0),
    }
}

#[derive(Trace)]
struct KeyHolder {
    map: RefCell<std::collections::HashMap<GraphingKey, Gc<KeyHolder>>>,
}

/// A description that draws a graph which describes it again recurses until the stack
/// overflows, an abort; past four descriptions inside each other the innermost reads
/// `(unrepresentable)` instead (objgraph's `_safe_repr` turns Python's `RecursionError` into a
/// label), and the graph is drawn. Naming a root with a name whose conversion asks for names
/// works too.
#[test]
fn a_key_whose_description_draws_its_holder_is_labelled_without_recursing_forever() {
    let holder = Gc::new(KeyHolder { map: RefCell::new(std::collections::HashMap::new()) });
    holder.map.borrow_mut().insert(GraphingKey(1), holder.clone());
    GRAPHED.with(|graphed| *graphed.borrow_mut() = Some(Gc::to_any(&holder)));
    let dot = objgraph::show_refs(&[Gc::to_any(&holder)], &GraphOptions::default()).to_dot();
    GRAPHED.with(|graphed| graphed.borrow_mut().take());
    assert!(dot.contains("map[key 1 of a graph of 1]"), "{dot}");

    struct Name(cyclegc::GcAny);
    impl From<Name> for String {
        fn from(name: Name) -> String {
            format!("named {:?}", objgraph::root_name(&name.0))
        }
    }
    let any = Gc::to_any(&holder);
    objgraph::name_root(&any, Name(any.clone()));
    assert_eq!(objgraph::root_name(&any).as_deref(), Some("named None"));
    holder.map.borrow_mut().clear();
}
