//! objgraph's own test cases that apply to this heap (counts with short and full names,
//! filters, growth and peak stats, get_new_ids and its table, by_type, at), plus the
//! article's `_cache` leak.

use std::cell::RefCell;

use cyclegc::{Gc, GcAny, ObjectId, Trace};
use objgraph::{NewIds, PeakStats, Query, SortBy};

#[derive(Trace)]
struct MyClass {
    payload: RefCell<Option<Gc<MyClass>>>,
}

#[derive(Trace)]
struct Other {
    link: Option<Gc<MyClass>>,
}

fn my_class() -> Gc<MyClass> {
    Gc::new(MyClass { payload: RefCell::new(None) })
}

fn text(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn test_count_short_and_full_names() {
    let objects: Vec<Gc<MyClass>> = (0..3).map(|_| my_class()).collect();
    assert_eq!(objgraph::count("MyClass", &Query::default()), 3);
    let full = std::any::type_name::<MyClass>();
    assert!(full.contains("::"));
    assert_eq!(objgraph::count(full, &Query::default()), 3);
    assert_eq!(objgraph::count("test_objgraph::Nope", &Query::default()), 0);
    drop(objects);
    assert_eq!(objgraph::count("MyClass", &Query::default()), 0);
}

#[derive(Trace)]
struct Expr<T: Trace> {
    value: T,
    operands: Vec<Gc<Expr<T>>>,
}

#[test]
fn a_generic_type_counts_by_its_name_without_arguments() {
    let ints = Gc::new(Expr { value: 1_i64, operands: Vec::new() });
    let floats = Gc::new(Expr { value: 1.5_f64, operands: Vec::new() });
    let sum = Gc::new(Expr { value: 3_i64, operands: vec![ints.clone(), ints.clone()] });
    let query = Query::default();
    assert_eq!(objgraph::count("Expr", &query), 3, "every Expr<..>");
    assert_eq!(objgraph::count("Expr<i64>", &query), 2);
    assert_eq!(objgraph::count("Expr<f64>", &query), 1);
    assert_eq!(objgraph::count("Exp", &query), 0);
    assert_eq!(objgraph::by_type("Expr", &query).len(), 3);
    let full = std::any::type_name::<Expr<i64>>();
    let base = &full[..full.find('<').expect("generic")];
    assert_eq!(objgraph::count(base, &query), 3, "a full path without arguments too");
    drop((ints, floats, sum));
}

#[test]
fn test_count_of_given_objects_and_filter() {
    let a = my_class();
    let b = my_class();
    *a.payload.borrow_mut() = Some(my_class());
    let objects = [Gc::to_any(&a), Gc::to_any(&b)];
    assert_eq!(objgraph::count("MyClass", &Query { objects: Some(&objects), ..Query::default() }), 2);
    let has_payload = |o: &GcAny| !o.referents().is_empty();
    assert_eq!(objgraph::count("MyClass", &Query { filter: Some(&has_payload), ..Query::default() }), 1);
}

#[test]
fn query_names_types_short_by_default_as_objgraph_does() {
    let keep = my_class();
    assert!(Query::default().shortnames);
    assert_eq!(objgraph::typestats(&Query::default()).get("MyClass"), Some(&1));
    let full = objgraph::typestats(&Query { shortnames: false, ..Query::default() });
    assert_eq!(full.get(std::any::type_name::<MyClass>()), Some(&1));
    assert_eq!(full.get("MyClass"), None);
    drop(keep);
}

#[test]
fn test_typestats_and_most_common_types() {
    let keep: Vec<Gc<MyClass>> = (0..4).map(|_| my_class()).collect();
    let others: Vec<Gc<Other>> = (0..2).map(|_| Gc::new(Other { link: Some(keep[0].clone()) })).collect();
    let stats = objgraph::typestats(&Query::default());
    assert_eq!(stats.get("MyClass"), Some(&4));
    assert_eq!(stats.get("Other"), Some(&2));
    let full = objgraph::typestats(&Query { shortnames: false, ..Query::default() });
    assert_eq!(full.get(std::any::type_name::<Other>()), Some(&2));
    assert_eq!(
        objgraph::most_common_types(Some(2), &Query::default()),
        [("MyClass".to_owned(), 4), ("Other".to_owned(), 2)]
    );
    drop((keep, others));
}

#[test]
fn test_show_most_common_types_format() {
    let keep: Vec<Gc<MyClass>> = (0..12).map(|_| my_class()).collect();
    let other = Gc::new(Other { link: None });
    let out = text(|out| objgraph::show_most_common_types(None, &Query::default(), out));
    insta::assert_snapshot!(out, @r"
    MyClass 12
    Other   1
    ");
    drop((keep, other));
}

#[test]
fn test_growth_and_peak_stats() {
    let query = Query::default();
    let mut peak = PeakStats::default();
    objgraph::growth(None, &mut peak, &query);
    let first: Vec<Gc<MyClass>> = (0..3).map(|_| my_class()).collect();
    assert_eq!(objgraph::growth(None, &mut peak, &query), [("MyClass".to_owned(), 3, 3)]);
    assert_eq!(peak.0.get("MyClass"), Some(&3));
    drop(first);
    assert!(objgraph::growth(None, &mut peak, &query).is_empty(), "shrinking is no growth");
    let second: Vec<Gc<MyClass>> = (0..5).map(|_| my_class()).collect();
    assert_eq!(objgraph::growth(None, &mut peak, &query), [("MyClass".to_owned(), 5, 2)], "only above the peak counts");
    drop(second);
}

#[test]
fn test_growth_collects_cycles_first() {
    let query = Query::default();
    let mut peak = PeakStats::default();
    objgraph::growth(None, &mut peak, &query);
    for _ in 0..10 {
        let a = my_class();
        *a.payload.borrow_mut() = Some(a.clone());
    }
    assert!(objgraph::growth(None, &mut peak, &query).is_empty());
}

#[test]
fn test_show_growth_format() {
    let query = Query::default();
    let mut peak = PeakStats::default();
    objgraph::growth(None, &mut peak, &query);
    let keep: Vec<Gc<MyClass>> = (0..7).map(|_| my_class()).collect();
    let other = Gc::new(Other { link: None });
    let out = text(|out| objgraph::show_growth_with(None, &mut peak, &query, out));
    insta::assert_snapshot!(out, @r"
    MyClass        7        +7
    Other          1        +1
    ");
    let out = text(|out| objgraph::show_growth_with(None, &mut peak, &query, out));
    assert_eq!(out, "", "nothing new: nothing printed");
    drop((keep, other));
}

#[test]
fn test_get_new_ids_table() {
    let mut state = NewIds::default();
    let query = Query::default();
    let before = my_class();
    let _ = text(|out| objgraph::get_new_ids(&mut state, None, SortBy::Deltas, &query, out).map(drop));
    let added: Vec<Gc<MyClass>> = (0..2).map(|_| my_class()).collect();
    let mut new_ids = Default::default();
    let out = text(|out| {
        new_ids = objgraph::get_new_ids(&mut state, None, SortBy::Deltas, &query, out)?;
        Ok(())
    });
    insta::assert_snapshot!(out, @r"
    ===========================================================
    Type         Old_ids  Current_ids      New_ids Count_Deltas
    ===========================================================
    MyClass            1            3           +2           +2
    ===========================================================
    ");
    let new: Vec<GcAny> = objgraph::at_addrs(&new_ids["MyClass"]);
    assert_eq!(new.len(), 2);
    assert!(new.iter().all(|o| added.iter().any(|a| o.ptr_eq(&Gc::to_any(a)))));
    drop(before);
}

#[test]
fn test_by_type_and_at() {
    let a = my_class();
    let found = objgraph::by_type("MyClass", &Query::default());
    assert_eq!(found.len(), 1);
    assert!(found[0].ptr_eq(&Gc::to_any(&a)));
    let id = Gc::id(&a);
    assert!(objgraph::at(id).is_some_and(|o| o.ptr_eq(&Gc::to_any(&a))));
    assert_eq!(objgraph::at_ids([id]).len(), 1);
    assert_eq!(objgraph::at_ids(vec![id, id]).len(), 2, "as many as asked for, in order");
    assert_eq!(objgraph::at_addrs(vec![id, id]).len(), 1, "each object once, as from a set");
    drop((a, found));
    assert!(objgraph::at(id).is_none(), "an id of a dead object names nothing");
}

/// objgraph's `at_addrs` walks `gc.get_objects()`, so the order of the set it is given does
/// not show; a `HashSet`'s order changes from run to run, so `at_addrs` sorts by id.
#[test]
fn at_addrs_gives_the_same_order_whatever_the_order_of_the_ids() {
    let objects: Vec<Gc<MyClass>> = (0..8).map(|_| my_class()).collect();
    let ids: Vec<ObjectId> = objects.iter().map(Gc::id).collect();
    let forward = objgraph::at_addrs(&ids);
    let backward = objgraph::at_addrs(ids.iter().rev());
    let hashed = objgraph::at_addrs(ids.iter().copied().collect::<std::collections::HashSet<_>>());
    assert_eq!(forward.len(), 8);
    for other in [&backward, &hashed] {
        assert!(forward.iter().zip(other.iter()).all(|(a, b)| a.ptr_eq(b)), "one order");
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert!(forward.iter().zip(&sorted).all(|(o, &id)| o.id() == id), "in the order of their ids");
}

#[test]
fn test_get_leaking_objects() {
    let root = my_class();
    let child = my_class();
    *root.payload.borrow_mut() = Some(child.clone());
    let roots = objgraph::get_leaking_objects(None);
    assert!(roots.iter().any(|o| o.ptr_eq(&Gc::to_any(&root))));
    assert!(!roots.iter().any(|o| o.ptr_eq(&Gc::to_any(&child))), "the child is referred to by the root");

    // Given a selection, referrers are still looked for among all tracked objects, as
    // objgraph's `get_leaking_objects(by_type('MyClass'))` does.
    let selected = objgraph::by_type("MyClass", &Query::default());
    let leaking = objgraph::get_leaking_objects(Some(&selected));
    assert!(leaking.iter().any(|o| o.ptr_eq(&Gc::to_any(&root))));
    assert!(!leaking.iter().any(|o| o.ptr_eq(&Gc::to_any(&child))), "held by the root, outside the selection too");
    let only_child = [Gc::to_any(&child)];
    assert!(objgraph::get_leaking_objects(Some(&only_child)).is_empty(), "the root refers to it");
}

/// The article's leak: a function puts an object in a global cache and, returning early,
/// never takes it out. `show_growth` before and after the call shows the leaked type.
#[test]
fn article_cache_leak_shows_in_show_growth() {
    thread_local!(static CACHE: RefCell<Vec<Gc<MyClass>>> = const { RefCell::new(Vec::new()) });
    fn func_to_leak(early_return: bool) {
        let obj = my_class();
        CACHE.with(|c| c.borrow_mut().push(obj.clone()));
        if early_return {
            return;
        }
        CACHE.with(|c| c.borrow_mut().retain(|o| !Gc::ptr_eq(o, &obj)));
    }
    let query = Query::default();
    let _ = text(|out| objgraph::show_growth(None, &query, out));
    func_to_leak(false);
    assert_eq!(text(|out| objgraph::show_growth(None, &query, out)), "");
    func_to_leak(true);
    assert_eq!(text(|out| objgraph::show_growth(None, &query, out)), "MyClass        1        +1\n");
    CACHE.with(|c| c.borrow_mut().clear());
}
