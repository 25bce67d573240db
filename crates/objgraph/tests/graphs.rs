//! objgraph's graph tests (`ShowGraphTest`, the quoting, too_many, highlighting, refcounts
//! and extra-info pages of its documentation) on this heap, as insta snapshots of the DOT
//! text, plus the article's graphs: a cache held by a named global, a legacy uncollectable
//! cycle, and a chain.

use std::cell::RefCell;
use std::collections::BTreeMap;

use cyclegc::{Finalize, Gc, GcAny, Trace};
use objgraph::{GraphOptions, Renderer};

#[derive(Trace)]
#[trace(describe = TestObject::repr)]
struct TestObject {
    name: String,
    next: RefCell<Vec<Gc<TestObject>>>,
}

impl TestObject {
    fn repr(&self) -> String {
        format!("TestObject({})", self.name)
    }
}

fn object(name: &str) -> Gc<TestObject> {
    Gc::new(TestObject { name: name.to_owned(), next: RefCell::new(Vec::new()) })
}

fn link(from: &Gc<TestObject>, to: &Gc<TestObject>) {
    from.next.borrow_mut().push(to.clone());
}

fn any(object: &Gc<TestObject>) -> GcAny {
    Gc::to_any(object)
}

#[test]
fn test_basic_file_output() {
    let a = object("A");
    let graph = objgraph::show_refs(&[any(&a)], &GraphOptions::default());
    assert_eq!(graph.node_count(), 1);
    insta::assert_snapshot!(graph.to_dot());
}

#[test]
fn test_simple_chain() {
    let (a, b) = (object("A"), object("B"));
    link(&a, &b);
    let graph = objgraph::show_refs(&[any(&a)], &GraphOptions::default());
    assert_eq!(graph.node_count(), 2);
    insta::assert_snapshot!(graph.to_dot());
}

#[test]
fn test_with_extra_node_attrs() {
    let a = object("A");
    let attrs = |_: &GcAny| vec![("x".to_owned(), "y".to_owned()), ("my attr".to_owned(), "\"q\"".to_owned())];
    let graph = objgraph::show_refs(&[any(&a)], &GraphOptions { extra_node_attrs: Some(&attrs), ..Default::default() });
    insta::assert_snapshot!(graph.to_dot());
}

#[test]
fn backrefs_are_graded_by_depth_and_stop_at_max_depth() {
    let objects: Vec<Gc<TestObject>> = ["A", "B", "C", "D", "E"].iter().map(|n| object(n)).collect();
    for pair in objects.windows(2) {
        link(&pair[1], &pair[0]); // E -> D -> C -> B -> A
    }
    let graph = objgraph::show_backrefs(&[any(&objects[0])], &GraphOptions { max_depth: 3, ..Default::default() });
    assert_eq!(graph.labels().len(), 4, "A and three levels of referrers");
    insta::assert_snapshot!(graph.to_dot());
}

#[test]
fn test_too_many() {
    let hub = object("hub");
    let leaves: Vec<Gc<TestObject>> = (0..25).map(|i| object(&format!("leaf{i}"))).collect();
    for leaf in &leaves {
        link(&hub, leaf);
    }
    let graph = objgraph::show_refs(&[any(&hub)], &GraphOptions { too_many: 10, ..Default::default() });
    assert_eq!(graph.node_count(), 11, "the hub and ten of its 25 references");
    let dot = graph.to_dot();
    assert!(dot.contains("15 more references"), "{dot}");
    insta::assert_snapshot!(dot);
}

#[test]
fn test_highlight() {
    // objgraph's highlighting page: a ring of four nodes, the Node objects in blue.
    let nodes: Vec<Gc<TestObject>> = ["a", "b", "c", "d"].iter().map(|n| object(n)).collect();
    for i in 0..4 {
        link(&nodes[(i + 1) % 4], &nodes[i]);
    }
    let is_c = |o: &GcAny| o.downcast::<TestObject>().is_some_and(|o| o.name == "c");
    let graph = objgraph::show_backrefs(
        &[any(&nodes[0])],
        &GraphOptions { max_depth: 15, highlight: Some(&is_c), ..Default::default() },
    );
    assert_eq!(graph.node_count(), 4);
    insta::assert_snapshot!(graph.to_dot());
    drop(graph);
    for node in &nodes {
        node.next.borrow_mut().clear();
    }
}

#[test]
fn test_refcounts_and_extra_info() {
    // objgraph's extra-info page: y = [x, [x], {"x": x}]
    #[derive(Trace)]
    struct List(Vec<GcAny>);
    #[derive(Trace)]
    struct Dict(BTreeMap<&'static str, GcAny>);
    let x = Gc::to_any(&Gc::new(List(Vec::new())));
    let inner = Gc::to_any(&Gc::new(List(vec![x.clone()])));
    let dict = Gc::to_any(&Gc::new(Dict(BTreeMap::from([("x", x.clone())]))));
    let y = Gc::new(List(vec![x.clone(), inner, dict]));
    let info = |o: &GcAny| format!("{} referents", o.referents().len());
    let graph = objgraph::show_refs(
        &[Gc::to_any(&y)],
        &GraphOptions { refcounts: true, extra_info: Some(&info), ..Default::default() },
    );
    assert_eq!(graph.node_count(), 4);
    let labels = graph.labels();
    assert_eq!(
        labels[1], "List [4]\n0 referents\nheld from outside: 1",
        "x: held by y, [x], {{x: x}} and the variable x"
    );
    insta::assert_snapshot!(graph.to_dot());
}

/// The labels of a DOT text as an independent parser (layout-rs) reads them: node labels
/// by node id, and edge labels.
fn parsed_labels(dot: &str) -> (BTreeMap<String, String>, Vec<String>) {
    let mut parser = layout::gv::DotParser::new(dot);
    let ast = parser.process().unwrap_or_else(|error| panic!("DOT does not parse: {error}\n{dot}"));
    let (mut nodes, mut edges) = (BTreeMap::new(), Vec::new());
    let label = |list: &layout::gv::parser::ast::AttributeList| {
        list.list.iter().find(|(name, _)| name == "label").map(|(_, value)| value.clone())
    };
    for statement in &ast.list.list {
        match statement {
            layout::gv::parser::ast::Stmt::Node(node) => {
                if let Some(text) = label(&node.list) {
                    nodes.insert(node.id.name.clone(), text);
                }
            }
            layout::gv::parser::ast::Stmt::Edge(edge) => edges.extend(label(&edge.list)),
            _ => {}
        }
    }
    (nodes, edges)
}

#[test]
fn test_quoting_every_byte_value() {
    // objgraph's quoting page: a dict whose keys are every character from 0 to 255; here
    // also an object whose extra info holds every one of them raw.
    #[derive(Trace)]
    struct Dict(BTreeMap<String, Gc<TestObject>>);
    let every_char: String = (0u8..=255).map(char::from).collect();
    let target = object("t");
    let keys: Vec<String> = every_char.chars().map(String::from).collect();
    let dict = Gc::new(Dict(keys.iter().map(|key| (key.clone(), target.clone())).collect()));
    let is_target = |o: &GcAny| o.ptr_eq(&any(&target));
    let info = |o: &GcAny| if is_target(o) { every_char.clone() } else { "the dict".to_owned() };
    let options = GraphOptions { too_many: 600, extra_info: Some(&info), ..Default::default() };
    let graph = objgraph::show_refs(&[Gc::to_any(&dict)], &options);
    let dot = graph.to_dot();
    assert!(!dot.contains('\0'));
    let (nodes, edges) = parsed_labels(&dot);

    // One edge carries all 256 keys, as the derive labels them (`0["\0"]`: field 0, key "\0", ...): the
    // parser reads back exactly that text, `&` written as Graphviz's `&amp;` entity.
    let keys_label = keys.iter().map(|key| format!("0[{key:?}]")).collect::<Vec<_>>().join(", ");
    assert_eq!(edges, [keys_label.replace('&', "&amp;")]);

    // The extra info: printable characters read as themselves, control characters as
    // their `\xNN` escape, and the newline is a line break.
    let expected: String = every_char
        .chars()
        .map(|c| match c {
            '\n' => "\n".to_owned(),
            '&' => "&amp;".to_owned(),
            c if c.is_control() => format!("\\x{:02x}", u32::from(c)),
            c => c.to_string(),
        })
        .collect();
    assert_eq!(nodes["o1"], format!("TestObject\nTestObject(t)\n{expected}\nheld from outside: 1"));
    insta::assert_snapshot!(dot);
    let svg = graph.render_svg(Renderer::Builtin).expect("the built-in renderer draws it");
    assert!(svg.contains("&quot;"), "labels are escaped in SVG too");
    // Where Graphviz is installed, it reads every label as the text it should show.
    match graph.render_svg(Renderer::Graphviz) {
        Err(objgraph::RenderError::GraphvizNotFound) => {}
        Err(error) => panic!("Graphviz rejected the DOT: {error}"),
        Ok(svg) => {
            for shown in [r"0[&quot;\0&quot;]", r"0[&quot;\\&quot;]", "0[&quot;&amp;&quot;]", r"\x00\x01"] {
                assert!(svg.contains(shown), "Graphviz shows {shown}");
            }
        }
    }
}

#[test]
fn test_show_chain() {
    let (a, b, c, d) = (object("a"), object("b"), object("c"), object("d"));
    link(&a, &b);
    link(&b, &c);
    link(&d, &c); // another referrer of c, not in the chain
    let is_a = |o: &GcAny| o.ptr_eq(&any(&a));
    let chain = objgraph::find_backref_chain(&any(&c), is_a, 20, &[]);
    assert_eq!(chain.len(), 3);
    let graph = objgraph::show_chain(&[chain], true, &GraphOptions::default());
    assert_eq!(graph.node_count(), 3, "d is not in the chain");
    insta::assert_snapshot!(graph.to_dot());
}

#[test]
fn test_forward_chain() {
    let (a, b, c) = (object("a"), object("b"), object("c"));
    link(&a, &b);
    link(&b, &c);
    link(&a, &c);
    let is_c = |o: &GcAny| o.ptr_eq(&any(&c));
    let chain = objgraph::find_ref_chain(&any(&a), is_c, 20, &[]);
    assert_eq!(chain.len(), 2, "a refers to c directly");
    let graph = objgraph::show_chain(&[chain], false, &GraphOptions::default());
    assert_eq!(graph.node_count(), 2);
    insta::assert_snapshot!(graph.to_dot());
}

#[test]
fn filter_and_extra_ignore_leave_objects_out() {
    let (a, b, c) = (object("a"), object("b"), object("c"));
    link(&a, &b);
    link(&a, &c);
    let not_b = |o: &GcAny| !o.ptr_eq(&any(&b));
    let graph = objgraph::show_refs(&[any(&a)], &GraphOptions { filter: Some(&not_b), ..Default::default() });
    assert_eq!(graph.node_count(), 2);
    let ignore = [Gc::id(&c)];
    let graph = objgraph::show_refs(&[any(&a)], &GraphOptions { extra_ignore: &ignore, ..Default::default() });
    // Both are held by local variables: references from outside the heap.
    let outside = "\nheld from outside: 1";
    assert_eq!(
        graph.labels(),
        [format!("TestObject\nTestObject(a){outside}"), format!("TestObject\nTestObject(b){outside}")]
    );
}

/// The article's `_cache`: a named global holding leaked objects. The graph shows the cache
/// by name, green, with its one outside reference (the thread-local).
#[test]
fn a_named_cache_is_the_root_of_the_backrefs_graph() {
    #[derive(Trace)]
    struct Cache {
        items: RefCell<Vec<Gc<TestObject>>>,
    }
    thread_local!(static CACHE: Gc<Cache> = Gc::new(Cache { items: RefCell::new(Vec::new()) }));
    CACHE.with(|cache| {
        objgraph::name_root(&Gc::to_any(cache), "_cache");
        cache.items.borrow_mut().push(object("leaked"));
    });
    let leaked = CACHE.with(|cache| Gc::to_any(&cache.items.borrow()[0]));
    let graph = objgraph::show_backrefs(&[leaked], &GraphOptions::default());
    assert_eq!(graph.labels(), ["TestObject\nTestObject(leaked)", "Cache\n_cache\nheld from outside: 1"]);
    insta::assert_snapshot!(graph.to_dot());
    CACHE.with(|cache| cache.items.borrow_mut().clear());
}

/// The article's Python 2.7 case: a cycle whose objects have `__del__` cannot be collected
/// under the legacy policy and lands in `gc.garbage`; the graph marks the finalizers and
/// says where the objects are held.
#[test]
fn legacy_garbage_is_marked_with_its_finalizers() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct WithDel {
        other: RefCell<Option<Gc<WithDel>>>,
    }
    impl Finalize for WithDel {
        fn finalize(&self) {}
    }
    gen_gc::set_finalizer_policy(gen_gc::FinalizerPolicy::Legacy);
    {
        let a = Gc::new(WithDel { other: RefCell::new(None) });
        let b = Gc::new(WithDel { other: RefCell::new(Some(a.clone())) });
        *a.other.borrow_mut() = Some(b);
    }
    gen_gc::collect();
    assert_eq!(gen_gc::garbage().len(), 2);
    let start = gen_gc::garbage().swap_remove(0);
    let graph = objgraph::show_backrefs(std::slice::from_ref(&start), &GraphOptions::default());
    drop(start);
    let dot = graph.to_dot();
    assert_eq!(dot.matches("label=\"finalize\"").count(), 2, "{dot}");
    assert!(dot.contains("in gc.garbage"), "{dot}");
    insta::assert_snapshot!(dot);
    for object in gen_gc::take_garbage() {
        if let Some(object) = object.downcast::<WithDel>() {
            object.other.borrow_mut().take();
        }
    }
    gen_gc::set_finalizer_policy(gen_gc::FinalizerPolicy::Pep442);
}

#[test]
fn graphs_render_as_svg_without_graphviz() {
    let (a, b) = (object("A"), object("B"));
    link(&a, &b);
    link(&b, &a);
    let graph = objgraph::show_refs(&[any(&a)], &GraphOptions::default());
    let svg = graph.render_svg(Renderer::Builtin).unwrap();
    assert!(svg.starts_with("<svg") || svg.contains("<svg"), "{svg}");
    assert!(svg.contains("TestObject(A)") && svg.contains("TestObject(B)"));
    assert!(graph.to_svg().is_ok(), "Graphviz if installed, the built-in renderer otherwise");
    let dir = std::env::temp_dir().join(format!("objgraph-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    graph.save(dir.join("refs.dot")).unwrap();
    graph.save(dir.join("refs.svg")).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("refs.dot")).unwrap(), graph.to_dot());
    assert!(std::fs::read_to_string(dir.join("refs.svg")).unwrap().contains("<svg"));
    // A file that cannot be written is named in the error.
    let missing = dir.join("no such directory").join("refs.dot");
    let error = graph.save(&missing).unwrap_err().to_string();
    assert!(error.contains(&missing.display().to_string()), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
    a.next.borrow_mut().clear();
}

#[test]
fn write_dot_reports_io_errors() {
    struct Failing;
    impl std::io::Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let a = object("A");
    let graph = objgraph::show_refs(&[any(&a)], &GraphOptions::default());
    assert_eq!(graph.write_dot(&mut Failing).unwrap_err().to_string(), "disk full");
}

/// objgraph's own handles never show: after a graph, counts, growth and reference counts are
/// what they were, and the graph keeps nothing alive.
#[test]
fn drawing_a_graph_changes_nothing_it_reports() {
    let query = objgraph::Query::default();
    let mut peak = objgraph::PeakStats::default();
    let (a, b) = (object("a"), object("b"));
    link(&a, &b);
    link(&b, &a);
    objgraph::growth(None, &mut peak, &query);
    let before = (Gc::strong_count(&a), Gc::strong_count(&b), objgraph::count("TestObject", &query));
    let graph = objgraph::show_backrefs(&[any(&a)], &GraphOptions { refcounts: true, ..Default::default() });
    assert_eq!(graph.labels()[0], "TestObject [2]\nTestObject(a)\nheld from outside: 1", "b and the variable a");
    assert_eq!((Gc::strong_count(&a), Gc::strong_count(&b), objgraph::count("TestObject", &query)), before);
    assert!(objgraph::growth(None, &mut peak, &query).is_empty(), "no growth from drawing");
    let watch = Gc::downgrade(&a);
    a.next.borrow_mut().clear();
    drop((a, b));
    gen_gc::collect();
    assert!(watch.is_dead(), "the graph holds no handle");
    assert_eq!(graph.node_count(), 2);
}

/// A `HashMap` traces in its hash order, which differs between two maps of the same
/// entries: a graph lists its entries by key all the same, so the text is the same.
#[test]
fn a_hash_map_draws_the_same_graph_every_time() {
    #[derive(Trace)]
    struct Registry {
        by_name: std::collections::HashMap<String, Gc<TestObject>>,
    }
    let target = object("t");
    let registry = || {
        let by_name = (0..40).map(|i| (format!("user{i}"), target.clone())).collect();
        Gc::new(Registry { by_name })
    };
    let options = GraphOptions { too_many: 5, ..Default::default() };
    let dots: Vec<String> =
        (0..4).map(|_| objgraph::show_refs(&[Gc::to_any(&registry())], &options).to_dot()).collect();
    assert!(dots.windows(2).all(|pair| pair[0] == pair[1]), "{dots:#?}");
    assert!(dots[0].contains(r#"by_name[\"user0\"], by_name[\"user1\"], by_name[\"user10\"]"#), "{}", dots[0]);
    let labels: Vec<String> = Gc::to_any(&registry()).referents().into_iter().map(|r| r.label).take(3).collect();
    assert_eq!(labels, [r#"by_name["user0"]"#, r#"by_name["user1"]"#, r#"by_name["user10"]"#]);
}

/// One object referring to another a thousand times is one edge, whose label lists the first
/// `too_many` references (ten by default) and counts the rest.
#[test]
fn many_references_between_two_objects_make_one_edge_with_a_short_label() {
    #[derive(cyclegc::Trace)]
    struct Many {
        items: std::cell::RefCell<Vec<cyclegc::GcAny>>,
    }
    let target = cyclegc::Gc::new(Many { items: std::cell::RefCell::new(Vec::new()) });
    let holder = cyclegc::Gc::new(Many {
        items: std::cell::RefCell::new((0..1_000).map(|_| cyclegc::Gc::to_any(&target)).collect()),
    });
    for graph in [
        objgraph::show_refs(&[cyclegc::Gc::to_any(&holder)], &objgraph::GraphOptions::default()),
        objgraph::show_backrefs(&[cyclegc::Gc::to_any(&target)], &objgraph::GraphOptions::default()),
    ] {
        assert_eq!(graph.edge_count(), 1);
        let dot = graph.to_dot();
        assert!(dot.contains("items[0], items[1],"), "{dot}");
        assert!(dot.contains("items[9], ... (990 more)"), "{dot}");
        assert!(!dot.contains("items[10]"), "{dot}");
    }
}
