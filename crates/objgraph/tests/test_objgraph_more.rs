//! More of objgraph's own `tests.py` and of its documentation's examples, on this heap:
//! `get_new_ids` across calls and with full names, custom peak stats, functions that must
//! leave no reference behind, the shortest chain, the leaking objects of a self-cycle, and
//! graph options. Each test names the case it comes from.

use std::cell::RefCell;

use cyclegc::{Gc, GcAny, Trace};
use objgraph::{GraphOptions, NewIds, PeakStats, Query, SortBy};

#[derive(Trace)]
#[trace(describe = MyClass::repr)]
struct MyClass {
    name: &'static str,
    attr: RefCell<Vec<Gc<MyClass>>>,
}

impl MyClass {
    fn repr(&self) -> String {
        format!("MyClass({})", self.name)
    }
}

fn my_class(name: &'static str) -> Gc<MyClass> {
    Gc::new(MyClass { name, attr: RefCell::new(Vec::new()) })
}

fn link(from: &Gc<MyClass>, to: &Gc<MyClass>) {
    from.attr.borrow_mut().push(to.clone());
}

fn any(o: &Gc<MyClass>) -> GcAny {
    Gc::to_any(o)
}

fn names(chain: &[GcAny]) -> Vec<&'static str> {
    chain.iter().map(|o| o.downcast::<MyClass>().map_or("?", |o| o.name)).collect()
}

fn new_ids(
    state: &mut NewIds,
    query: &Query<'_>,
) -> std::collections::HashMap<String, std::collections::HashSet<cyclegc::ObjectId>> {
    let mut sink = Vec::new();
    objgraph::get_new_ids(state, Some(0), SortBy::Deltas, query, &mut sink).unwrap()
}

#[test]
fn get_new_ids_names_an_object_once() {
    // GetNewIdsTest.test_get_new_ids.
    let mut state = NewIds::default();
    let query = Query::default();
    new_ids(&mut state, &query);
    let x = my_class("x");
    let first = new_ids(&mut state, &query);
    assert!(first["MyClass"].contains(&Gc::id(&x)));
    let second = new_ids(&mut state, &query);
    assert!(!second.get("MyClass").is_some_and(|ids| ids.contains(&Gc::id(&x))));
    assert_eq!(state.new_ids(), &second, "the state keeps the last answer (Python's skip_update)");
}

#[test]
fn get_new_ids_keys_by_full_names_when_asked() {
    // GetNewIdsTest.test_get_new_ids_long_typename.
    let mut state = NewIds::default();
    let query = Query { shortnames: false, ..Query::default() };
    new_ids(&mut state, &query);
    let x = my_class("x");
    let found = new_ids(&mut state, &query);
    assert!(found[std::any::type_name::<MyClass>()].contains(&Gc::id(&x)));
    assert!(!found.contains_key("MyClass"));
}

#[test]
fn get_new_ids_table_limit_and_order() {
    // doctest_get_new_ids_prints: `limit=1` prints the biggest delta alone.
    let mut state = NewIds::default();
    let query = Query::default();
    new_ids(&mut state, &query);
    let a = [my_class("a"), my_class("b")];
    let other = Gc::new(vec![Gc::new(0_u8)]);
    let mut out = Vec::new();
    let found = objgraph::get_new_ids(&mut state, Some(1), SortBy::Deltas, &query, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    let rows: Vec<&str> = out.lines().filter(|l| !l.starts_with('=') && !l.starts_with("Type")).collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert!(rows[0].starts_with("MyClass") && rows[0].trim_end().ends_with("+2"), "{out}");
    assert_eq!(found["MyClass"].len(), 2, "limit cuts the table, not the ids");
    drop((a, other));
}

#[test]
fn get_new_ids_counts_types_that_died_out() {
    // objgraph's get_new_ids keeps a type whose objects all died, with a negative delta.
    let mut state = NewIds::default();
    let query = Query::default();
    let x = my_class("x");
    new_ids(&mut state, &query);
    drop(x);
    let mut out = Vec::new();
    let found = objgraph::get_new_ids(&mut state, None, SortBy::Deltas, &query, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.lines().any(|l| l.starts_with("MyClass") && l.trim_end().ends_with("-1")), "{out}");
    assert!(found["MyClass"].is_empty());
}

#[test]
fn show_growth_fills_custom_peak_stats() {
    // GrowthTest.test_show_growth_custom_peak_stats.
    let keep = my_class("x");
    let mut peak = PeakStats::default();
    objgraph::show_growth_with(None, &mut peak, &Query::default(), &mut Vec::new()).unwrap();
    assert_eq!(peak.0.get("MyClass"), Some(&1));
    drop(keep);
}

#[test]
fn thread_growth_and_show_growth_share_the_thread_peak() {
    // objgraph's growth() and show_growth() without peak_stats share one dictionary: what one
    // reported, the other does not report again.
    let query = Query::default();
    objgraph::show_growth(None, &query, &mut Vec::new()).unwrap();
    let x = my_class("x");
    let grown = objgraph::thread_growth(None, &query);
    assert_eq!(grown.iter().filter(|row| row.0 == "MyClass").collect::<Vec<_>>(), [&("MyClass".to_owned(), 1, 1)]);
    let (y, z) = (my_class("y"), my_class("z"));
    let mut out = Vec::new();
    objgraph::show_growth(None, &query, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    let row: Vec<&str> = out.lines().find(|line| line.starts_with("MyClass")).expect(&out).split_whitespace().collect();
    assert_eq!(row, ["MyClass", "3", "+2"]);
    assert!(objgraph::thread_growth(None, &query).iter().all(|row| row.0 != "MyClass"));
    drop((x, y, z));
}

#[test]
fn growth_reports_one_new_object() {
    // GrowthTest.test_growth.
    let mut peak = PeakStats::default();
    let query = Query::default();
    objgraph::growth(None, &mut peak, &query);
    let x = my_class("x");
    let growth = objgraph::growth(None, &mut peak, &query);
    let cared: Vec<_> = growth.iter().filter(|row| row.0 == "MyClass").collect();
    assert_eq!(cared.len(), 1);
    assert_eq!(cared[0].2, 1);
    drop(x);
}

#[test]
fn growth_limit_keeps_the_biggest_deltas() {
    // objgraph's `growth(limit=...)`: sorted by delta, biggest first.
    let mut peak = PeakStats::default();
    let query = Query::default();
    objgraph::growth(None, &mut peak, &query);
    let many: Vec<_> = (0..5).map(|_| my_class("m")).collect();
    let few = Gc::new(vec![Gc::new(0_u8)]);
    let rows = objgraph::growth(Some(1), &mut peak, &query);
    assert_eq!(rows, [("MyClass".to_owned(), 5, 5)]);
    drop((many, few));
}

#[test]
fn by_type_leaves_no_referrer_behind() {
    // ByTypeTest.test_new_garbage: by_type's own bookkeeping holds nothing.
    gen_gc::disable();
    let x = my_class("x");
    let res = objgraph::by_type("MyClass", &Query::default());
    assert_eq!(res.len(), 1);
    assert!(res[0].ptr_eq(&any(&x)));
    assert!(gen_gc::get_referrers(&res[0]).is_empty());
    assert_eq!(Gc::strong_count(&x), 2, "x and res[0]");
    drop(res);
    assert_eq!(Gc::strong_count(&x), 1);
    gen_gc::enable();
}

#[test]
fn count_and_typestats_leave_no_reference_behind() {
    // CountTest.test_no_new_reference_cycles, TypestatsTest.test_no_new_reference_cycles.
    gen_gc::disable();
    let x = my_class("x");
    let before = gen_gc::get_referrers(&x).len();
    objgraph::count("MyClass", &Query::default());
    objgraph::typestats(&Query::default());
    objgraph::most_common_types(None, &Query::default());
    assert_eq!(gen_gc::get_referrers(&x).len(), before);
    assert_eq!(Gc::strong_count(&x), 1);
    gen_gc::enable();
}

#[test]
fn typestats_filter_counts_what_it_accepts() {
    // TypestatsFilterArguTest.test_with_filter, test_without_filter.
    let x = my_class("magic");
    let y = my_class("plain");
    let magic = |o: &GcAny| o.downcast::<MyClass>().is_some_and(|m| m.name == "magic");
    let full = std::any::type_name::<MyClass>();
    let all = objgraph::typestats(&Query { shortnames: false, ..Query::default() });
    assert_eq!(all[full], 2);
    let filtered = objgraph::typestats(&Query { shortnames: false, filter: Some(&magic), ..Query::default() });
    assert_eq!(filtered[full], 1);
    drop((x, y));
}

#[test]
fn find_ref_chain_finds_the_shortest_chain() {
    // FindChainTest: `_find_chain` is a breadth-first search.
    let (a, b, c, d) = (my_class("a"), my_class("b"), my_class("c"), my_class("d"));
    link(&a, &b);
    link(&b, &c);
    link(&c, &d);
    link(&a, &c);
    let is_d = |o: &GcAny| o.ptr_eq(&any(&d));
    assert_eq!(names(&objgraph::find_ref_chain(&any(&a), is_d, 20, &[])), ["a", "c", "d"]);
    let is_a = |o: &GcAny| o.ptr_eq(&any(&a));
    assert_eq!(names(&objgraph::find_backref_chain(&any(&d), is_a, 20, &[])), ["a", "c", "d"]);
    let ignore_c = [Gc::id(&c)];
    assert_eq!(names(&objgraph::find_ref_chain(&any(&a), is_d, 20, &ignore_c)), ["a"], "every chain passes c");
    assert_eq!(names(&objgraph::find_ref_chain(&any(&a), is_d, 2, &[])), ["a", "c", "d"], "two steps");
    assert_eq!(names(&objgraph::find_ref_chain(&any(&a), is_d, 1, &[])), ["a"], "one step is not enough");
    for o in [&a, &b, &c] {
        o.attr.borrow_mut().clear();
    }
}

#[test]
fn find_chain_through_a_cycle_terminates() {
    // FindChainTest.test_no_chain, in a cycle: every object is visited once.
    let (a, b) = (my_class("a"), my_class("b"));
    link(&a, &b);
    link(&b, &a);
    let never = |_: &GcAny| false;
    assert_eq!(names(&objgraph::find_ref_chain(&any(&a), never, 100, &[])), ["a"]);
    assert_eq!(names(&objgraph::find_backref_chain(&any(&a), never, 100, &[])), ["a"]);
    let is_b = |o: &GcAny| o.ptr_eq(&any(&b));
    assert_eq!(names(&objgraph::find_backref_chain(&any(&a), is_b, 100, &[])), ["b", "a"]);
    a.attr.borrow_mut().clear();
}

#[test]
fn get_leaking_objects_leaves_out_an_object_that_refers_to_itself() {
    // objgraph's get_leaking_objects: objects no tracked object refers to; a self-cycle
    // refers to itself.
    let lonely = my_class("lonely");
    let selfish = my_class("selfish");
    link(&selfish, &selfish);
    let leaking = objgraph::get_leaking_objects(None);
    assert!(leaking.iter().any(|o| o.ptr_eq(&any(&lonely))));
    assert!(!leaking.iter().any(|o| o.ptr_eq(&any(&selfish))));
    selfish.attr.borrow_mut().clear();
}

#[test]
fn get_leaking_objects_collects_garbage_first() {
    // objgraph's get_leaking_objects calls gc.collect() before it looks.
    let kept = my_class("kept");
    {
        let (a, b) = (my_class("a"), my_class("b"));
        link(&a, &b);
        let c = my_class("c");
        link(&b, &c);
        link(&c, &b);
    }
    let leaking = objgraph::get_leaking_objects(None);
    assert_eq!(names(&leaking), ["kept"], "the garbage head `a` was collected, not reported");
    drop(kept);
}

#[test]
fn at_finds_only_live_objects() {
    // AtAddrsTest.test_at_addrs: ids of live objects find them; others are skipped.
    let a = my_class("a");
    let b = my_class("b");
    let dead_id = Gc::id(&b);
    drop(b);
    let found = objgraph::at_addrs([Gc::id(&a), dead_id]);
    assert_eq!(names(&found), ["a"]);
    let leaf = Gc::new(7_u32);
    assert!(objgraph::at(Gc::id(&leaf)).is_some_and(|o| o.downcast::<u32>().is_some_and(|v| *v == 7)));
}

#[test]
fn show_refs_stops_at_max_depth() {
    // objgraph's show_refs `max_depth`: the start object is depth 0.
    let chain: Vec<_> = ["a", "b", "c", "d", "e"].into_iter().map(my_class).collect();
    for pair in chain.windows(2) {
        link(&pair[0], &pair[1]);
    }
    for (depth, nodes) in [(1, 2), (2, 3), (4, 5), (10, 5)] {
        let graph = objgraph::show_refs(&[any(&chain[0])], &GraphOptions { max_depth: depth, ..Default::default() });
        assert_eq!(graph.node_count(), nodes, "max_depth {depth}");
    }
}

#[test]
fn show_refs_and_backrefs_of_a_cycle_draw_each_object_once() {
    // objgraph's show_refs on a cycle: nodes are not repeated, the edge back is drawn.
    let (a, b, c) = (my_class("a"), my_class("b"), my_class("c"));
    link(&a, &b);
    link(&b, &c);
    link(&c, &a);
    let options = GraphOptions { max_depth: 10, ..Default::default() };
    let refs = objgraph::show_refs(&[any(&a)], &options);
    assert_eq!((refs.node_count(), refs.edge_count()), (3, 3));
    let backrefs = objgraph::show_backrefs(&[any(&a)], &options);
    assert_eq!((backrefs.node_count(), backrefs.edge_count()), (3, 3));
    a.attr.borrow_mut().clear();
}

#[test]
fn show_refs_of_several_objects_marks_each_as_a_start() {
    // objgraph's show_refs([a, b]): both are start nodes (red labels).
    let (a, b) = (my_class("a"), my_class("b"));
    let c = my_class("c");
    link(&a, &c);
    link(&b, &c);
    let graph = objgraph::show_refs(&[any(&a), any(&b)], &GraphOptions::default());
    assert_eq!(graph.node_count(), 3);
    assert_eq!(graph.edge_count(), 2);
    assert_eq!(graph.to_dot().matches("fontcolor=red").count(), 2, "{}", graph.to_dot());
}

#[test]
fn show_refs_filter_prunes_the_walk() {
    // objgraph's show_refs `filter`: objects it rejects are not drawn, nor followed.
    let (a, b, c) = (my_class("a"), my_class("skip"), my_class("c"));
    link(&a, &b);
    link(&b, &c);
    let not_skip = |o: &GcAny| o.downcast::<MyClass>().is_none_or(|m| m.name != "skip");
    let graph =
        objgraph::show_refs(&[any(&a)], &GraphOptions { filter: Some(&not_skip), max_depth: 5, ..Default::default() });
    assert_eq!(graph.node_count(), 1);
    assert_eq!(graph.edge_count(), 0);
}

#[test]
fn show_backrefs_of_a_leaf_shows_its_referrers() {
    // objgraph's show_backrefs on an untracked object (an int in a list).
    let leaf = Gc::new(42_u64);
    let holder = Gc::new(vec![leaf.clone()]);
    let graph = objgraph::show_backrefs(&[Gc::to_any(&leaf)], &GraphOptions::default());
    assert_eq!(graph.node_count(), 2, "{}", graph.to_dot());
    assert_eq!(graph.edge_count(), 1);
    drop(holder);
}

/// `show_growth` called again from a finalizer that its own collection runs: Python's
/// `growth()` shares its dictionary and works; so does this one.
#[test]
fn show_growth_may_be_called_from_a_finalizer_it_runs() {
    use std::cell::{Cell, RefCell};
    thread_local!(static INNER: Cell<Option<bool>> = const { Cell::new(None) });
    #[derive(cyclegc::Trace)]
    #[trace(finalize)]
    struct Logger {
        other: RefCell<Option<cyclegc::Gc<Logger>>>,
    }
    impl cyclegc::Finalize for Logger {
        fn finalize(&self) {
            let mut out = Vec::new();
            let done = objgraph::show_growth(None, &objgraph::Query::default(), &mut out).is_ok();
            INNER.with(|inner| inner.set(Some(done)));
        }
    }
    cyclegc::gen_gc::disable();
    let a = cyclegc::Gc::new(Logger { other: RefCell::new(None) });
    let b = cyclegc::Gc::new(Logger { other: RefCell::new(Some(a.clone())) });
    *a.other.borrow_mut() = Some(b.clone());
    drop((a, b));
    let mut out = Vec::new();
    objgraph::show_growth(None, &objgraph::Query::default(), &mut out).expect("written");
    assert_eq!(INNER.with(Cell::get), Some(true), "the finalizer's show_growth ran");
    cyclegc::gen_gc::enable();
}

/// A cache of entries, generic over what it holds by handle.
#[derive(Trace)]
struct Shelf<T: Trace + 'static> {
    items: RefCell<Vec<T>>,
}

/// None: a full type name written with the library's public paths (`cyclegc::Gc`, the crate
/// roots) counts the same objects as the path `type_name` gives (`rc_heap::gc::Gc`); a path
/// that only starts like one of them does not.
#[test]
fn full_names_may_use_the_public_paths_of_the_librarys_types() {
    let entry = Gc::new(MyClass { name: "entry", attr: RefCell::new(Vec::new()) });
    let _shelf = Gc::new(Shelf { items: RefCell::new(vec![entry.clone()]) });
    let _weak_shelf = Gc::new(Shelf { items: RefCell::new(vec![Gc::downgrade(&entry)]) });
    let query = Query::default();
    let internal = "test_objgraph_more::Shelf<rc_heap::gc::Gc<test_objgraph_more::MyClass>>";
    assert_eq!(objgraph::count(internal, &query), 1);
    for name in [
        "test_objgraph_more::Shelf<cyclegc::Gc<test_objgraph_more::MyClass>>",
        "test_objgraph_more::Shelf<rc_heap::Gc<test_objgraph_more::MyClass>>",
    ] {
        assert_eq!(objgraph::count(name, &query), 1, "{name}");
        assert_eq!(objgraph::by_type(name, &query).len(), 1, "{name}");
    }
    assert_eq!(objgraph::count("test_objgraph_more::Shelf<cyclegc::Weak<test_objgraph_more::MyClass>>", &query), 1);
    assert_eq!(objgraph::count("test_objgraph_more::Shelf<my_cyclegc::Gc<test_objgraph_more::MyClass>>", &query), 0);
    assert_eq!(objgraph::count("test_objgraph_more::Shelf<cyclegc::GcAny>", &query), 0);
}

/// std's types by the paths a program writes (`std::cell::RefCell`,
/// `std::collections::HashMap`) count the same objects as the paths `type_name` gives them
/// (`core::cell::RefCell`, `std::collections::hash::map::HashMap`).
#[test]
fn full_names_may_use_the_public_paths_of_stds_types() {
    let entry = Gc::new(MyClass { name: "entry", attr: RefCell::new(Vec::new()) });
    let cell = Gc::new(RefCell::new(vec![entry.clone()]));
    let map = Gc::new(std::collections::HashMap::from([(1_u8, entry.clone())]));
    let query = Query::default();
    let (cell_type, map_type) = (std::any::type_name_of_val(&*cell), std::any::type_name_of_val(&*map));
    assert_eq!((objgraph::count(cell_type, &query), objgraph::count(map_type, &query)), (1, 1));
    for (name, expected) in [
        ("std::cell::RefCell", 1),
        ("std::cell::RefCell<std::vec::Vec<cyclegc::Gc<test_objgraph_more::MyClass>>>", 1),
        ("std::collections::HashMap", 1),
        ("std::collections::hash_map::HashMap<u8, cyclegc::Gc<test_objgraph_more::MyClass>>", 1),
        ("std::collections::HashMapping", 0),
        ("std::cell::RefCell<std::vec::Vec<u8>>", 0),
    ] {
        assert_eq!(objgraph::count(name, &query), expected, "{name}");
        assert_eq!(objgraph::by_type(name, &query).len(), expected, "{name}");
    }
    drop((cell, map));
}
