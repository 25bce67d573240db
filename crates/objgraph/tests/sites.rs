//! Counts and growth by allocation site (`--features alloc-site`).
#![cfg(feature = "alloc-site")]

use std::cell::RefCell;

use cyclegc::{Gc, Trace};
use objgraph::{HeapSnapshot, PeakStats, Query};

#[derive(Trace)]
struct Item {
    next: RefCell<Option<Gc<Item>>>,
}

fn item() -> Item {
    Item { next: RefCell::new(None) }
}

/// The row key of objects created on `line` of this file: `file:line:col Item`.
fn key_on_line(stats: &[(String, usize)], line: u32) -> &str {
    let prefix = format!("{}:{line}:", file!());
    let (key, _) = stats.iter().find(|(key, _)| key.starts_with(&prefix)).expect("a row for that line");
    assert!(key.ends_with(" Item"), "{key}");
    key
}

#[test]
fn objects_are_counted_per_site_and_type() {
    let (first, first_line) = ((0..3).map(|_| Gc::new(item())).collect::<Vec<_>>(), line!());
    let (second, second_line) = ((0..2).map(|_| Gc::new(item())).collect::<Vec<_>>(), line!());
    let stats = objgraph::most_common_sites(None, &Query::default());
    assert_eq!(stats.len(), 2);
    assert_eq!(stats[0], (key_on_line(&stats, first_line).to_owned(), 3));
    assert_eq!(stats[1], (key_on_line(&stats, second_line).to_owned(), 2));
    let by_site = objgraph::typestats_by_site(&Query::default());
    assert_eq!(by_site.values().sum::<usize>(), 5);
    drop((first, second));
}

#[test]
fn growth_by_site_names_the_line_that_leaks() {
    let mut peak = PeakStats::default();
    let kept = Gc::new(item());
    objgraph::growth_by_site(None, &mut peak, &Query::default());
    let (leaked, leak_line) = ((0..4).map(|_| Gc::new(item())).collect::<Vec<_>>(), line!());
    let grown = objgraph::growth_by_site(None, &mut peak, &Query::default());
    assert_eq!(grown.len(), 1, "{grown:?}");
    let (key, count, delta) = &grown[0];
    assert!(key.starts_with(&format!("{}:{leak_line}:", file!())), "{key}");
    assert_eq!((*count, *delta), (4, 4));
    assert!(objgraph::growth_by_site(None, &mut peak, &Query::default()).is_empty());
    drop((kept, leaked));
}

#[test]
fn show_most_common_sites_prints_objgraphs_table() {
    let (items, line) = ((0..2).map(|_| Gc::new(item())).collect::<Vec<_>>(), line!());
    let mut table = Vec::new();
    objgraph::show_most_common_sites(None, &Query::default(), &mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    let site = Gc::alloc_site(&items[0]).unwrap();
    assert_eq!(site.line(), line);
    assert_eq!(table, format!("{site} Item 2\n"));
    drop(items);
}

#[test]
fn a_snapshot_records_where_each_object_was_created() {
    let (one, line) = (Gc::new(item()), line!());
    let snapshot = HeapSnapshot::capture();
    let site = snapshot.objects[0].alloc_site.as_deref().expect("a site with the feature");
    assert!(site.starts_with(&format!("{}:{line}:", file!())), "{site}");
    drop(one);
}
