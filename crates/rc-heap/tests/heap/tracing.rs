use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use rc_heap::raw::EdgeList;
use rc_heap::{Gc, GcAny, Trace, Visitor};

use crate::common::Node;

/// Whether the heap tracks values of `T` (asked at run time).
fn tracked<T: Trace>() -> bool {
    rc_heap::TypeInfo::of::<T>().is_tracked()
}

fn labels(object: &GcAny) -> Vec<String> {
    let mut labels: Vec<String> = object.referents().into_iter().map(|r| r.label).collect();
    labels.sort();
    labels
}

#[test]
fn leaf_std_types_are_untracked() {
    assert!(!tracked::<u8>());
    assert!(!tracked::<String>());
    assert!(!tracked::<Vec<String>>());
    assert!(!tracked::<HashMap<String, Vec<u64>>>());
    assert!(!tracked::<Option<Box<(u8, char)>>>());
    assert!(!tracked::<RefCell<[u16; 4]>>());
    assert!(!tracked::<std::rc::Rc<String>>());
}

#[test]
fn containers_of_gc_are_tracked() {
    assert!(tracked::<Gc<u8>>());
    assert!(tracked::<Vec<Gc<u8>>>());
    assert!(tracked::<HashMap<String, Gc<u8>>>());
    assert!(tracked::<BTreeMap<Gc<u8>, u8>>());
    assert!(tracked::<(u8, Option<Gc<u8>>)>());
    assert!(tracked::<RefCell<VecDeque<Gc<u8>>>>());
    assert!(tracked::<Vec<rc_heap::Weak<Node>>>(), "weak references are reported to the collector");
}

#[test]
fn sequences_label_edges_by_index() {
    let v = Gc::into_any(Gc::new(vec![Gc::new(1_u8), Gc::new(2), Gc::new(3)]));
    assert_eq!(labels(&v), ["[0]", "[1]", "[2]"]);
    let d = Gc::into_any(Gc::new(VecDeque::from([Gc::new(1_u8)])));
    assert_eq!(labels(&d), ["[0]"]);
    let a = Gc::into_any(Gc::new([Gc::new(1_u8), Gc::new(2)]));
    assert_eq!(labels(&a), ["[0]", "[1]"]);
}

#[test]
fn maps_label_values_by_key() {
    let mut map = HashMap::new();
    map.insert("alpha".to_owned(), Gc::new(1_u8));
    map.insert("beta".to_owned(), Gc::new(2_u8));
    let m = Gc::into_any(Gc::new(map));
    assert_eq!(labels(&m), ["[\"alpha\"]", "[\"beta\"]"]);
    let mut numbered = BTreeMap::new();
    numbered.insert(7_u32, Gc::new(0_u8));
    assert_eq!(labels(&Gc::into_any(Gc::new(numbered))), ["[7]"]);
    // A long key is cut to its first 40 characters, as objgraph cuts its labels' text (Miri
    // interprets each character's formatting: a shorter one there).
    let mut long = BTreeMap::new();
    long.insert("é".repeat(if cfg!(miri) { 100 } else { 10_000 }), Gc::new(0_u8));
    assert_eq!(labels(&Gc::into_any(Gc::new(long))), [format!("[\"{}...\"]", "é".repeat(39))]);
}

#[test]
fn gc_keys_are_edges_too() {
    let mut map = BTreeMap::new();
    map.insert(Gc::new(5_u32), Gc::new(6_u32));
    let m = Gc::into_any(Gc::new(map));
    assert_eq!(m.referents().len(), 2);
    assert_eq!(labels(&m), ["[0]", "[5]"]);
}

#[test]
fn sets_tuples_options_and_boxes_are_traced() {
    let set: HashSet<Gc<u8>> = [Gc::new(1), Gc::new(2)].into_iter().collect();
    assert_eq!(Gc::into_any(Gc::new(set)).referents().len(), 2);
    let tuple = Gc::into_any(Gc::new((1_u8, Gc::new(2_u8), Some(Box::new(Gc::new(3_u8))))));
    assert_eq!(labels(&tuple), ["1", "2"]);
    let none: Option<Gc<u8>> = None;
    assert!(Gc::into_any(Gc::new(none)).referents().is_empty());
}

#[test]
fn once_cells_and_reversed_values_are_traced() {
    assert!(!tracked::<std::cell::OnceCell<String>>());
    assert!(tracked::<std::cell::OnceCell<Gc<u8>>>());
    let cell = Gc::new(std::cell::OnceCell::new());
    let any = Gc::to_any(&cell);
    assert!(any.referents().is_empty(), "an empty cell holds nothing");
    assert!(cell.set(Gc::new(7_u8)).is_ok());
    let referents = any.referents();
    assert_eq!(referents.len(), 1);
    assert_eq!(referents[0].target.describe().as_deref(), Some("7"));

    let heap: std::collections::BinaryHeap<std::cmp::Reverse<(u8, Gc<u8>)>> =
        [(2, Gc::new(20_u8)), (1, Gc::new(10))].into_iter().map(std::cmp::Reverse).collect();
    assert!(tracked::<std::cmp::Reverse<Gc<u8>>>());
    assert_eq!(Gc::into_any(Gc::new(heap)).referents().len(), 2);
}

#[test]
fn addresses_atomics_paths_and_hashers_are_leaves() {
    assert!(!tracked::<std::net::SocketAddr>());
    assert!(!tracked::<(std::net::IpAddr, std::net::Ipv6Addr)>());
    assert!(!tracked::<std::sync::atomic::AtomicUsize>());
    assert!(!tracked::<std::sync::Arc<std::sync::atomic::AtomicBool>>());
    assert!(!tracked::<Box<std::path::Path>>());
    assert!(!tracked::<std::ffi::CString>());
    assert!(!tracked::<HashMap<String, u8, std::hash::BuildHasherDefault<std::hash::DefaultHasher>>>());
    assert!(!tracked::<std::borrow::Cow<'static, str>>());
    assert!(!tracked::<std::num::Wrapping<u32>>());
    let address = Gc::into_any(Gc::new(std::net::Ipv4Addr::LOCALHOST));
    assert_eq!(address.describe().as_deref(), Some("127.0.0.1"));
}

#[test]
fn ranges_label_their_bounds() {
    assert!(!tracked::<std::ops::Range<usize>>());
    assert!(tracked::<std::ops::RangeInclusive<Gc<u8>>>());
    let range = Gc::into_any(Gc::new(Gc::new(1_u8)..Gc::new(9_u8)));
    assert_eq!(labels(&range), ["end", "start"]);
    let inclusive = Gc::into_any(Gc::new(Gc::new(1_u8)..=Gc::new(9_u8)));
    assert_eq!(labels(&inclusive), ["end", "start"]);
    assert_eq!(labels(&Gc::into_any(Gc::new(Gc::new(1_u8)..))), ["start"]);
    assert_eq!(labels(&Gc::into_any(Gc::new(..Gc::new(1_u8)))), ["end"]);
}

#[test]
fn an_owned_cow_is_traced_and_a_borrowed_one_owns_nothing() {
    static SHARED: [u8; 2] = [1, 2];
    assert!(tracked::<std::borrow::Cow<'static, [Gc<u8>]>>());
    let owned: std::borrow::Cow<'static, [Gc<u8>]> = std::borrow::Cow::Owned(vec![Gc::new(1), Gc::new(2)]);
    assert_eq!(labels(&Gc::into_any(Gc::new(owned))), ["[0]", "[1]"]);
    let borrowed: std::borrow::Cow<'static, [u8]> = std::borrow::Cow::Borrowed(&SHARED);
    assert!(Gc::into_any(Gc::new(borrowed)).referents().is_empty());
}

#[test]
fn locks_are_traced_and_a_held_lock_keeps_its_content() {
    use std::sync::{Mutex, OnceLock, RwLock};

    assert!(!tracked::<Mutex<Vec<u8>>>());
    assert!(tracked::<RwLock<Option<Gc<u8>>>>());
    let locked = Gc::new(Mutex::new(vec![Gc::new(1_u8), Gc::new(2)]));
    let any = Gc::to_any(&locked);
    assert_eq!(labels(&any), ["[0]", "[1]"]);
    {
        let _guard = locked.lock().unwrap();
        assert!(any.referents().is_empty(), "a held lock lends nothing");
        let mut untraceable = 0;
        struct Count<'a>(&'a mut usize);
        impl Visitor for Count<'_> {
            fn visit_edge(&mut self, _edge: rc_heap::Edge<'_>) {}
            fn untraceable(&mut self) {
                *self.0 += 1;
            }
        }
        Trace::trace(&*locked, &mut Count(&mut untraceable));
        assert_eq!(untraceable, 1, "the collector is told, and keeps what it holds");
    }
    // A poisoned lock still holds its content.
    let poisoned = Gc::new(RwLock::new(Some(Gc::new(3_u8))));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _guard = poisoned.write().unwrap();
        panic!("poison");
    }));
    assert!(result.is_err() && poisoned.is_poisoned());
    assert_eq!(Gc::to_any(&poisoned).referents().len(), 1);
    let once = Gc::new(OnceLock::new());
    assert!(Gc::to_any(&once).referents().is_empty());
    assert!(once.set(Gc::new(4_u8)).is_ok());
    assert_eq!(Gc::to_any(&once).referents().len(), 1);
}

#[test]
fn a_hash_sets_members_are_reported_in_the_same_order_whatever_its_hasher_seeds() {
    // Two sets of the same members under differently seeded hashers: the labels (and so
    // graphs and snapshots) name the members in the order of their descriptions.
    let described = |set: HashSet<Gc<u32>>| -> Vec<(String, Option<String>)> {
        Gc::into_any(Gc::new(set)).referents().into_iter().map(|r| (r.label, r.target.describe())).collect()
    };
    let members: Vec<Gc<u32>> = (0..32).map(Gc::new).collect();
    let first = described(members.iter().cloned().collect());
    let second = described(members.iter().rev().cloned().collect());
    assert_eq!(first, second);
    let mut texts: Vec<String> = first.iter().map(|(_, text)| text.clone().unwrap()).collect();
    let unsorted = texts.clone();
    texts.sort();
    assert_eq!(texts, unsorted, "members in the order of their descriptions");
    assert_eq!(first[0].0, "[0]");
}

#[test]
fn struct_fields_label_their_edges() {
    let a = Node::new("a");
    let b = Node::new("b");
    Node::link(&a, &b);
    a.children.borrow_mut().push(b.clone());
    a.children.borrow_mut().push(Node::new("c"));
    let referents = Gc::to_any(&a).referents();
    let described: Vec<(String, Option<String>)> =
        referents.iter().map(|r| (r.label.clone(), r.target.describe())).collect();
    assert_eq!(
        described,
        [
            ("next".to_owned(), Some("b".to_owned())),
            ("children[0]".to_owned(), Some("b".to_owned())),
            ("children[1]".to_owned(), Some("c".to_owned())),
        ]
    );
}

#[test]
fn the_fast_edge_list_skips_leaves() {
    let mixed = Gc::new((Gc::new(1_u8), Node::new("tracked"), Gc::new(String::new())));
    let mut edges = EdgeList::new();
    // SAFETY: `mixed` is alive and not dropped.
    unsafe { rc_heap::raw::trace_tracked(Gc::to_any(&mixed).header(), &mut edges) };
    assert_eq!(edges.edges().len(), 1);
    assert!(!edges.is_untraceable());
}

/// The edge list never allocates while a value is traced: `trace_tracked` makes room and
/// traces again when the edges do not fit, so every edge arrives, after what the list held.
#[test]
fn trace_tracked_delivers_every_edge_past_the_list_capacity() {
    let children: Vec<Gc<Node>> = (0..100).map(|_| Node::new("child")).collect();
    let parent = Gc::new(children.clone());
    let first = Node::new("first");
    let mut edges = EdgeList::new();
    // SAFETY: both are alive and not dropped.
    unsafe {
        rc_heap::raw::trace_tracked(Gc::to_any(&first).header(), &mut edges);
        rc_heap::raw::trace_tracked(Gc::to_any(&parent).header(), &mut edges);
    }
    assert!(!edges.is_incomplete());
    let expected: Vec<_> = children.iter().map(|c| Gc::to_any(c).header()).collect();
    assert_eq!(edges.edges(), expected, "the first object has no edge; then all 100, in order");

    // Traced directly, not through `trace_tracked`, an empty list says it missed edges.
    let mut direct = EdgeList::new();
    parent.trace(&mut direct);
    assert!(direct.is_incomplete());
}

#[test]
fn a_mutably_borrowed_refcell_reports_untraceable() {
    let a = Node::new("a");
    Node::link(&a, &Node::new("b"));
    let header = Gc::to_any(&a).header();
    let mut edges = EdgeList::new();
    {
        let _guard = a.next.borrow_mut();
        // SAFETY: `a` is alive and not dropped.
        unsafe { rc_heap::raw::trace_tracked(header, &mut edges) };
    }
    assert!(edges.is_untraceable());
    assert!(edges.edges().is_empty());
    edges.clear();
    // SAFETY: as above.
    unsafe { rc_heap::raw::trace_tracked(header, &mut edges) };
    assert!(!edges.is_untraceable());
    assert_eq!(edges.edges().len(), 1);
}

#[test]
fn weak_references_are_reported_but_are_not_edges() {
    #[derive(Default)]
    struct Count {
        edges: usize,
        weak: usize,
    }
    impl Visitor for Count {
        fn visit_edge(&mut self, _edge: rc_heap::Edge<'_>) {
            self.edges += 1;
        }
        fn visit_weak(&mut self, _weak: rc_heap::WeakEdge<'_>) {
            self.weak += 1;
        }
    }
    let target = Node::new("t");
    let holder = Gc::new((Gc::downgrade(&target), Gc::new(1_u8)));
    let mut count = Count::default();
    Gc::to_any(&holder).trace_with(&mut count).unwrap();
    assert_eq!((count.edges, count.weak), (1, 1));
}

#[test]
fn an_rc_is_traced_through_while_it_is_the_only_owner() {
    let inner = std::rc::Rc::new(vec![Node::new("a"), Node::new("b")]);
    let holder = Gc::new(inner.clone());
    let header = Gc::to_any(&holder).header();
    let mut edges = EdgeList::new();
    // SAFETY: `holder` is alive and not dropped.
    unsafe { rc_heap::raw::trace_tracked(header, &mut edges) };
    assert!(edges.is_untraceable(), "shared with `inner`: not traced through");
    assert!(edges.edges().is_empty());
    drop(inner);
    edges.clear();
    // SAFETY: as above.
    unsafe { rc_heap::raw::trace_tracked(header, &mut edges) };
    assert!(!edges.is_untraceable());
    assert_eq!(edges.edges().len(), 2, "the only owner: its content's edges are the holder's");
    assert_eq!(labels(&Gc::to_any(&holder)), ["[0]", "[1]"]);
}
