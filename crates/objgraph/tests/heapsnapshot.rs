//! The heap in V8's `.heapsnapshot` format: the file's invariants as Chrome DevTools and
//! memlab read them (checked on the parsed JSON), what the nodes and edges say about the heap,
//! node ids, and the text of a small heap as an insta snapshot.

use std::cell::RefCell;
use std::collections::HashSet;

use cyclegc::{Finalize, Gc, Trace, TypeInfo, Weak};
use objgraph::{HeapGraph, NodeIds};
use serde_json::Value;

#[derive(Trace)]
struct Cache {
    items: RefCell<Vec<Gc<Item>>>,
}

#[derive(Trace)]
#[trace(tracked)]
struct Item {
    size: usize,
}

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
}

fn node() -> Gc<Node> {
    Gc::new(Node { next: RefCell::new(None) })
}

/// One node of a parsed snapshot, with its outgoing edges.
#[derive(Debug, Clone)]
struct V8Node {
    kind: String,
    name: String,
    id: u64,
    self_size: u64,
    edges: Vec<V8Edge>,
}

#[derive(Debug, Clone, PartialEq)]
struct V8Edge {
    kind: String,
    /// The name, or the index of an element edge written as a number.
    name: String,
    /// The target's node number.
    to: usize,
}

/// Parses a `.heapsnapshot`, asserting on the way every invariant DevTools' and memlab's
/// parsers rely on.
fn parse(file: &[u8]) -> Vec<V8Node> {
    let json: Value = serde_json::from_slice(file).expect("valid JSON");
    let meta = &json["snapshot"]["meta"];
    let node_fields = meta["node_fields"].as_array().unwrap();
    assert_eq!(
        node_fields,
        &["type", "name", "id", "self_size", "edge_count", "trace_node_id", "detachedness"].map(Value::from)
    );
    assert_eq!(meta["edge_fields"], serde_json::json!(["type", "name_or_index", "to_node"]));
    let node_types: Vec<&str> = meta["node_types"][0].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    let edge_types: Vec<&str> = meta["edge_types"][0].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert_eq!(edge_types, ["context", "element", "property", "internal", "hidden", "shortcut", "weak"]);
    assert_eq!(node_types.len(), meta["node_types"].as_array().unwrap().len() + 8);
    for key in ["trace_function_infos", "trace_tree", "samples", "locations"] {
        assert_eq!(json[key], serde_json::json!([]), "{key}");
    }
    let strings: Vec<&str> = json["strings"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let numbers =
        |key: &str| -> Vec<u64> { json[key].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect() };
    let (nodes, edges) = (numbers("nodes"), numbers("edges"));
    let (node_width, edge_width) = (node_fields.len(), 3);
    assert_eq!(nodes.len() % node_width, 0);
    assert_eq!(edges.len() % edge_width, 0);
    assert_eq!(json["snapshot"]["node_count"].as_u64().unwrap() as usize, nodes.len() / node_width);
    assert_eq!(json["snapshot"]["edge_count"].as_u64().unwrap() as usize, edges.len() / edge_width);

    let mut parsed = Vec::new();
    let mut next_edge = 0;
    let mut ids = HashSet::new();
    for row in nodes.chunks(node_width) {
        let [kind, name, id, self_size, edge_count, trace_node_id, detachedness] = row.try_into().unwrap();
        assert_eq!((trace_node_id, detachedness), (0, 0));
        assert_eq!(id % 2, 1, "V8's heap object ids are odd");
        assert!(id <= u64::from(u32::MAX), "ids fit DevTools' Uint32Array");
        assert!(ids.insert(id), "id {id} given twice");
        let mut node = V8Node {
            kind: node_types[kind as usize].to_owned(),
            name: strings[name as usize].to_owned(),
            id,
            self_size,
            edges: Vec::new(),
        };
        for edge in edges[next_edge * edge_width..(next_edge + edge_count as usize) * edge_width].chunks(edge_width) {
            let [kind, name_or_index, to_node] = edge.try_into().unwrap();
            let kind = edge_types[kind as usize];
            assert_eq!(to_node as usize % node_width, 0, "to_node is an offset into `nodes`");
            assert!((to_node as usize) < nodes.len());
            let name = match kind {
                "element" | "hidden" => name_or_index.to_string(),
                _ => strings[name_or_index as usize].to_owned(),
            };
            node.edges.push(V8Edge { kind: kind.to_owned(), name, to: to_node as usize / node_width });
        }
        next_edge += edge_count as usize;
        parsed.push(node);
    }
    assert_eq!(next_edge * edge_width, edges.len(), "the nodes' edge counts add up to the edges");

    let root = &parsed[0];
    assert_eq!((root.kind.as_str(), root.name.as_str(), root.id), ("synthetic", "", 1));
    assert_eq!(root.edges[0], V8Edge { kind: "element".into(), name: "1".into(), to: 1 });
    assert_eq!(parsed[1].name, "(GC roots)");
    let names: Vec<&str> = parsed[1].edges.iter().map(|e| parsed[e.to].name.as_str()).collect();
    assert_eq!(names, ["(Held from outside)", "(Unreachable)"]);
    // The root's other edges are shortcuts to user roots, each also under (Held from outside).
    let held = &parsed[2].edges;
    assert_eq!(root.edges.len() - 1, held.len());
    for (shortcut, property) in root.edges[1..].iter().zip(held) {
        assert_eq!(shortcut.kind, "shortcut");
        assert_eq!(property.kind, "property");
        assert_eq!((&shortcut.name, shortcut.to), (&property.name, property.to));
        assert_eq!(parsed[shortcut.to].kind, "object");
    }
    parsed
}

fn snapshot() -> Vec<V8Node> {
    let mut file = Vec::new();
    objgraph::write_heapsnapshot(&mut file).unwrap();
    parse(&file)
}

fn nodes_named<'a>(nodes: &'a [V8Node], name: &str) -> Vec<&'a V8Node> {
    nodes.iter().filter(|node| node.name == name).collect()
}

/// The edges of `node` as `(type, name, target's name)`.
fn edges_of<'a>(nodes: &'a [V8Node], node: &'a V8Node) -> Vec<(&'a str, &'a str, &'a str)> {
    node.edges.iter().map(|e| (e.kind.as_str(), e.name.as_str(), nodes[e.to].name.as_str())).collect()
}

#[test]
fn an_empty_heap_has_the_four_synthetic_nodes() {
    let nodes = snapshot();
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["", "(GC roots)", "(Held from outside)", "(Unreachable)"]);
    let ids: Vec<u64> = nodes.iter().map(|n| n.id).collect();
    assert_eq!(ids, [1, 3, 5, 7]);
    assert!(nodes.iter().all(|n| n.kind == "synthetic" && n.self_size == 0));
}

#[test]
fn objects_are_object_nodes_named_by_short_type_name_with_their_object_size() {
    let cache = Gc::new(Cache { items: RefCell::new(vec![Gc::new(Item { size: 1 })]) });
    let nodes = snapshot();
    let cache_node = nodes_named(&nodes, "Cache")[0];
    let item_node = nodes_named(&nodes, "Item")[0];
    assert_eq!(cache_node.kind, "object");
    assert_eq!(cache_node.self_size, TypeInfo::of::<Cache>().object_size() as u64);
    assert_eq!(item_node.self_size, TypeInfo::of::<Item>().object_size() as u64);
    assert_eq!(nodes.len(), 4 + 2);
    drop(cache);
}

#[test]
fn objects_held_from_outside_are_user_roots_named_by_their_root_name() {
    let cache = Gc::new(Cache { items: RefCell::new(vec![Gc::new(Item { size: 1 })]) });
    objgraph::name_root(&Gc::to_any(&cache), "_cache");
    let local = node();
    let second_handle = local.clone();
    let nodes = snapshot();
    let mut roots = edges_of(&nodes, &nodes[0]);
    roots.sort();
    assert_eq!(
        roots,
        [("element", "1", "(GC roots)"), ("shortcut", "_cache", "Cache"), ("shortcut", "held from outside: 2", "Node")]
    );
    // The item is held by the cache only: no root.
    assert!(!roots.iter().any(|(_, _, target)| *target == "Item"));
    drop((cache, local, second_handle));
}

#[test]
fn labels_become_element_edges_when_they_are_one_index_and_property_edges_otherwise() {
    #[derive(Trace)]
    struct Labelled {
        items: RefCell<Vec<Gc<Item>>>,
        parent: Option<Gc<Node>>,
    }
    let items = vec![Gc::new(Item { size: 0 }), Gc::new(Item { size: 1 })];
    let labelled = Gc::new(Labelled { items: RefCell::new(items.clone()), parent: Some(node()) });
    let bare_vec = Gc::new(RefCell::new(items.clone()));
    let nodes = snapshot();
    let labelled_node = nodes_named(&nodes, "Labelled")[0];
    assert_eq!(
        edges_of(&nodes, labelled_node),
        [("property", "items[0]", "Item"), ("property", "items[1]", "Item"), ("property", "parent", "Node")]
    );
    let vec_node = nodes_named(&nodes, "RefCell<Vec<Gc<Item>>>")[0];
    assert_eq!(edges_of(&nodes, vec_node), [("element", "0", "Item"), ("element", "1", "Item")]);
    drop((labelled, bare_vec, items));
}

#[test]
fn a_reference_without_a_label_is_an_element_numbered_by_its_place() {
    // `RefCell` and `Option` add no label: the reference has none.
    let holder = Gc::new(RefCell::new(Some(node())));
    let nodes = snapshot();
    let holder_node = nodes_named(&nodes, "RefCell<Option<Gc<Node>>>")[0];
    assert_eq!(edges_of(&nodes, holder_node), [("element", "0", "Node")]);
    drop(holder);
}

#[test]
fn leaves_that_tracked_objects_refer_to_are_nodes_once_and_roots_when_held_from_outside() {
    let shared = Gc::new(String::from("shared"));
    let list = Gc::new(RefCell::new(vec![shared.clone(), shared.clone(), Gc::new(String::from("own"))]));
    let nodes = snapshot();
    let strings = nodes_named(&nodes, "String");
    assert_eq!(strings.len(), 2);
    assert!(strings.iter().all(|s| s.edges.is_empty() && s.self_size == TypeInfo::of::<String>().object_size() as u64));
    let list_node = nodes_named(&nodes, "RefCell<Vec<Gc<String>>>")[0];
    let targets: Vec<usize> = list_node.edges.iter().map(|e| e.to).collect();
    assert_eq!(targets[0], targets[1], "one node for the shared string");
    assert_ne!(targets[0], targets[2]);
    // `shared` (the variable) holds the shared string; the other is held by the list only.
    let roots: Vec<usize> = nodes[0].edges[1..].iter().map(|e| e.to).collect();
    assert!(roots.contains(&targets[0]));
    assert!(!roots.contains(&targets[2]));
    drop((list, shared));
}

#[test]
fn cycles_no_root_reaches_hang_under_unreachable_one_edge_per_group() {
    gen_gc::disable();
    for _ in 0..2 {
        let (a, b, c) = (node(), node(), node());
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(c.clone());
        *c.next.borrow_mut() = Some(a.clone());
    }
    let live = node();
    let nodes = snapshot();
    let unreachable = &nodes[3];
    assert_eq!(unreachable.edges.len(), 2, "one entry into each garbage ring");
    assert_eq!(unreachable.edges.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["1", "2"]);
    let live_roots: Vec<&V8Edge> = nodes[2].edges.iter().collect();
    assert_eq!(live_roots.len(), 1, "only `live` is held from outside");
    gen_gc::collect();
    assert!(snapshot()[3].edges.is_empty());
    gen_gc::enable();
    drop(live);
}

#[test]
fn weak_references_are_weak_edges() {
    #[derive(Trace)]
    struct Child {
        parent: Weak<Node>,
    }
    let parent = node();
    let child = Gc::new(Child { parent: Gc::downgrade(&parent) });
    let nodes = snapshot();
    let child_node = nodes_named(&nodes, "Child")[0];
    assert_eq!(edges_of(&nodes, child_node), [("weak", "parent", "Node")]);
    drop((child, parent));
}

#[test]
fn legacy_garbage_is_named_by_its_place_in_gc_garbage() {
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
    let nodes = snapshot();
    let names: Vec<&str> = nodes[2].edges.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["gc.garbage[0]", "gc.garbage[1]"]);
    for object in gen_gc::take_garbage() {
        if let Some(object) = object.downcast::<WithDel>() {
            object.other.borrow_mut().take();
        }
    }
    gen_gc::set_finalizer_policy(gen_gc::FinalizerPolicy::Pep442);
}

mod first {
    #[derive(cyclegc::Trace)]
    #[trace(tracked)]
    pub struct Twin;
}

mod second {
    #[derive(cyclegc::Trace)]
    #[trace(tracked)]
    pub struct Twin;
}

#[test]
fn types_that_share_a_short_name_are_named_in_full() {
    let twins = (Gc::new(first::Twin), Gc::new(second::Twin));
    let nodes = snapshot();
    assert_eq!(nodes_named(&nodes, std::any::type_name::<first::Twin>()).len(), 1);
    assert_eq!(nodes_named(&nodes, std::any::type_name::<second::Twin>()).len(), 1);
    assert!(nodes_named(&nodes, "Twin").is_empty());
    drop(twins);
}

#[test]
fn the_same_heap_is_written_the_same_way() {
    let cache = Gc::new(Cache { items: RefCell::new((0..3).map(|size| Gc::new(Item { size })).collect()) });
    let mut first = Vec::new();
    objgraph::write_heapsnapshot(&mut first).unwrap();
    let mut second = Vec::new();
    HeapGraph::snapshot().write_heapsnapshot(&mut second, NodeIds::InSnapshotOrder).unwrap();
    assert_eq!(first, second);
    let ids: Vec<u64> = parse(&first).iter().map(|n| n.id).collect();
    assert_eq!(ids, [1, 3, 5, 7, 9, 11, 13, 15]);
    drop(cache);
}

#[test]
fn persistent_ids_follow_objects_across_snapshots_and_are_never_reused() {
    let write = || {
        let mut file = Vec::new();
        HeapGraph::snapshot().write_heapsnapshot(&mut file, NodeIds::Persistent).unwrap();
        parse(&file)
    };
    let id_of = |nodes: &[V8Node], name: &str| nodes_named(nodes, name)[0].id;
    let kept = Gc::new(Cache { items: RefCell::new(Vec::new()) });
    let dies = node();
    let before = write();
    let ids: Vec<u64> = before.iter().map(|n| n.id).collect();
    assert_eq!(ids, [1, 3, 5, 7, 9, 11], "the first snapshot numbers objects in order");
    let (kept_id, dead_id) = (id_of(&before, "Cache"), id_of(&before, "Node"));
    drop(dies);
    let newer = Gc::new(Item { size: 7 });
    let after = write();
    assert_eq!(id_of(&after, "Cache"), kept_id);
    let new_id = id_of(&after, "Item");
    assert!(new_id > kept_id.max(dead_id), "new objects are numbered after every id given");
    assert!(nodes_named(&after, "Node").is_empty());
    drop((kept, newer));
}

/// A leaf (an untracked object) is in a snapshot only while a tracked object refers to it:
/// missing from one, it keeps its id for the next, where memlab and DevTools would otherwise
/// see a new object.
#[test]
fn an_object_missing_from_one_snapshot_keeps_its_id_in_the_next() {
    #[derive(cyclegc::Trace)]
    struct Holder {
        leaf: RefCell<Option<Gc<String>>>,
    }
    let write = || {
        let mut file = Vec::new();
        HeapGraph::snapshot().write_heapsnapshot(&mut file, NodeIds::Persistent).unwrap();
        parse(&file)
    };
    let holder = Gc::new(Holder { leaf: RefCell::new(None) });
    let leaf = Gc::new(String::from("x"));
    *holder.leaf.borrow_mut() = Some(leaf.clone());
    let first = nodes_named(&write(), "String").iter().map(|n| n.id).collect::<Vec<_>>();
    assert_eq!(first.len(), 1);
    *holder.leaf.borrow_mut() = None;
    assert!(nodes_named(&write(), "String").is_empty(), "no tracked object refers to it");
    *holder.leaf.borrow_mut() = Some(leaf.clone());
    let again = nodes_named(&write(), "String").iter().map(|n| n.id).collect::<Vec<_>>();
    assert_eq!(again, first, "the same object, the same id");
    drop((holder, leaf));
}

/// A frozen cycle (`gen_gc::freeze`) is never collected: a root under `(Held from outside)`,
/// not `(Unreachable)`.
#[test]
fn frozen_objects_are_roots_not_unreachable() {
    std::thread::spawn(|| {
        #[derive(cyclegc::Trace)]
        struct Ring {
            next: RefCell<Option<Gc<Ring>>>,
        }
        let ring = Gc::new(Ring { next: RefCell::new(None) });
        *ring.next.borrow_mut() = Some(ring.clone());
        drop(ring);
        cyclegc::gen_gc::freeze();
        let nodes = snapshot();
        let unreachable = nodes.iter().find(|n| n.name == "(Unreachable)").expect("the synthetic node");
        assert!(unreachable.edges.is_empty(), "{:?}", edges_of(&nodes, unreachable));
        let held = nodes.iter().find(|n| n.name == "(Held from outside)").expect("the synthetic node");
        assert_eq!(edges_of(&nodes, held), [("property", "frozen (gc.freeze)", "Ring")]);
        cyclegc::gen_gc::unfreeze();
        cyclegc::gen_gc::collect();
    })
    .join()
    .expect("the scenario");
}

#[test]
fn save_heapsnapshot_writes_the_file() {
    let cache = Gc::new(Cache { items: RefCell::new(vec![Gc::new(Item { size: 1 })]) });
    let path = std::env::temp_dir().join(format!("objgraph-save-{}.heapsnapshot", std::process::id()));
    objgraph::save_heapsnapshot(&path).unwrap();
    let nodes = parse(&std::fs::read(&path).unwrap());
    std::fs::remove_file(&path).unwrap();
    assert_eq!(nodes_named(&nodes, "Item").len(), 1);
    drop(cache);
}

/// The article's leak as DevTools reads it: the named cache is a user root, its items hang
/// from it by their labels. The whole file, so that a change of layout shows in review; with
/// the `alloc-site` feature objects are a word larger, so that build has its own snapshot.
#[test]
fn a_cache_leak_as_heapsnapshot_text() {
    let cache = Gc::new(Cache { items: RefCell::new(Vec::new()) });
    objgraph::name_root(&Gc::to_any(&cache), "_cache");
    for size in 0..2 {
        cache.items.borrow_mut().push(Gc::new(Item { size }));
    }
    let mut file = Vec::new();
    objgraph::write_heapsnapshot(&mut file).unwrap();
    parse(&file);
    let suffix = if cfg!(feature = "alloc-site") { "alloc-site" } else { "" };
    insta::with_settings!({ snapshot_suffix => suffix }, {
        insta::assert_snapshot!(String::from_utf8(file).unwrap());
    });
    drop(cache);
}
