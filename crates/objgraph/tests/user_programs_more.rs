//! objgraph's values as an application's tests and xtasks hold them: options kept and varied,
//! reports of two runs compared, cycles and retainers compared.

use std::cell::RefCell;
use std::collections::BTreeMap;

use cyclegc::{Gc, Trace, Weak};
use objgraph::{GraphOptions, LeakCheck, LeakReport, Query};

/// A graph database's node: labelled edges out and in.
#[derive(Trace)]
struct Node {
    outbound: RefCell<Vec<Gc<Edge>>>,
    inbound: RefCell<Vec<Gc<Edge>>>,
}

#[derive(Trace)]
struct Edge {
    from: Weak<Node>,
    to: Gc<Node>,
}

#[derive(Trace, Default)]
struct Db {
    nodes: RefCell<BTreeMap<String, Gc<Node>>>,
}

impl Db {
    fn node(&self, key: &str) -> Gc<Node> {
        let new = || Gc::new(Node { outbound: RefCell::new(Vec::new()), inbound: RefCell::new(Vec::new()) });
        self.nodes.borrow_mut().entry(key.to_owned()).or_insert_with(new).clone()
    }

    fn link(&self, from: &str, to: &str) {
        let (from, to) = (self.node(from), self.node(to));
        let edge = Gc::new(Edge { from: Gc::downgrade(&from), to: to.clone() });
        from.outbound.borrow_mut().push(edge.clone());
        to.inbound.borrow_mut().push(edge);
    }

    /// Forgets to unlink the node's edges: its neighbours keep them.
    fn remove(&self, key: &str) {
        self.nodes.borrow_mut().remove(key);
    }
}

/// A leak check of a temporary node linked to `hub` and removed, on a fresh heap.
fn temporary_node_check() -> LeakReport {
    std::thread::spawn(|| {
        let db = Gc::new(Db::default());
        objgraph::name_root(&Gc::to_any(&db), "db");
        db.node("hub");
        let mut n = 0;
        LeakCheck::new().sites(false).run(|| {
            n += 1;
            db.link(&format!("tmp{n}"), "hub");
            db.remove(&format!("tmp{n}"));
        })
    })
    .join()
    .unwrap()
}

#[test]
fn two_runs_of_a_leak_check_give_equal_reports() {
    let (mut first, mut second) = (temporary_node_check(), temporary_node_check());
    assert_eq!(first.groups[0].chain(), "db -> Db.nodes[*] -> Node.inbound[*] -> Edge");
    // Each run's heap is its own, so their example ids differ (an id names its thread's heap),
    // though they print alike.
    assert_eq!(format!("{:?}", first.groups[0].examples), format!("{:?}", second.groups[0].examples));
    assert_ne!(first.groups[0].examples, second.groups[0].examples);
    first.groups[0].examples.clear();
    second.groups[0].examples.clear();
    assert_eq!(first, second);
    let mut fixed = second.clone();
    fixed.groups.clear();
    assert_ne!(first, fixed);
}

#[test]
fn queries_and_graph_options_are_kept_and_varied() {
    let db = Gc::new(Db::default());
    db.link("a", "b");
    let everything = Query::default();
    let full_names = Query { shortnames: false, ..everything };
    let kept = everything;
    assert_eq!(objgraph::count("Node", &kept), 2);
    assert_eq!(objgraph::count("Node", &everything), objgraph::count("Node", &full_names));

    let shallow = GraphOptions { max_depth: 1, ..GraphOptions::default() };
    let deeper = GraphOptions { max_depth: 2, ..shallow };
    let start = [Gc::to_any(&db.node("b"))];
    let (near, far) = (objgraph::show_backrefs(&start, &shallow), objgraph::show_backrefs(&start, &deeper));
    assert!(near.labels().len() < far.labels().len(), "{:?} {:?}", near.labels(), far.labels());
    assert_eq!(objgraph::show_backrefs(&start, &shallow.clone()).to_dot(), near.to_dot());
}

#[test]
fn cycles_and_retainers_compare_by_their_objects() {
    let db = Gc::new(Db::default());
    db.link("a", "b");
    db.link("b", "a");
    db.nodes.borrow_mut().clear();
    let cycles = objgraph::garbage_cycles();
    assert_eq!(cycles.len(), 1);
    // A cycle's handles hold its objects: asking again would find them held from outside.
    let copy = cycles.clone();
    assert_eq!(copy, cycles);
    let among = objgraph::cycles_among(copy[0].objects());
    assert_eq!(among.len(), 1);
    assert_eq!(among[0].objects().len(), 4);
    drop((cycles, copy, among));
    assert_eq!(cyclegc::gen_gc::collect(), 4);

    let kept = db.node("kept");
    let graph = objgraph::HeapGraph::snapshot();
    let dominators = objgraph::Dominators::new(&graph);
    let top = dominators.largest_retainers(2);
    assert_eq!(top, dominators.largest_retainers(2));
    assert_ne!(top[0], top[1]);
    drop((top, dominators));
    drop((graph, kept));
}

/// An interpreter's value: a variant that holds a closure.
#[derive(Trace)]
enum Value {
    Number(f64),
    Lambda(Gc<Lambda>),
    Native(#[trace(flatten)] Gc<Lambda>),
}

#[derive(Trace)]
#[trace(tracked)]
struct Lambda {
    arity: usize,
}

#[derive(Trace)]
struct Env {
    vars: RefCell<BTreeMap<String, Value>>,
}

#[test]
fn an_enum_field_is_labelled_by_its_variant() {
    let env = Gc::new(Env { vars: RefCell::new(BTreeMap::new()) });
    let lambda = || Gc::new(Lambda { arity: 1 });
    env.vars.borrow_mut().insert("f".into(), Value::Lambda(lambda()));
    env.vars.borrow_mut().insert("g".into(), Value::Native(lambda()));
    env.vars.borrow_mut().insert("n".into(), Value::Number(1.0));
    let labels: Vec<String> = Gc::to_any(&env).referents().into_iter().map(|referent| referent.label).collect();
    assert_eq!(labels, [r#"vars["f"].Lambda.0"#, r#"vars["g"].Native"#]);
}
