//! Programs of the kind users write (an IR with use-def chains, a DOM with listeners, an LRU
//! cache), and what objgraph tells about them.

use std::cell::RefCell;

use cyclegc::{Gc, Trace, gen_gc};

#[derive(Trace)]
struct Session {
    items: RefCell<Vec<Gc<Item>>>,
}

#[derive(Trace)]
struct Item {
    session: RefCell<Option<Gc<Session>>>,
}

/// A session and its items, each item pointing back at the session: one strongly connected
/// component that is not a ring.
fn session_with_items(items: usize) -> Gc<Session> {
    let session = Gc::new(Session { items: RefCell::new(Vec::new()) });
    for _ in 0..items {
        let item = Gc::new(Item { session: RefCell::new(Some(session.clone())) });
        session.items.borrow_mut().push(item);
    }
    session
}

#[test]
fn a_cycle_summary_that_is_not_a_ring_shows_a_real_loop_and_how_many_more() {
    gen_gc::disable();
    drop(session_with_items(4));
    let cycles = objgraph::garbage_cycles();
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0].len(), 5);
    // Every arrow is a reference: Item -> Session -> Item, never Item -> Item.
    assert_eq!(cycles[0].to_string(), "5 objects: Item -> Session -> Item, and 3 more");
    let labelled = format!("{:#}", cycles[0]);
    assert!(labelled.starts_with("5 objects: Item.session -> Session.items["), "{labelled}");
    assert!(labelled.ends_with("] -> Item, and 3 more"), "{labelled}");
    drop(cycles);
    assert_eq!(gen_gc::collect(), 5);
    gen_gc::enable();
}

#[test]
fn a_cycle_summary_of_a_ring_reads_round_the_ring() {
    gen_gc::disable();
    drop(session_with_items(1));
    let cycles = objgraph::garbage_cycles();
    assert_eq!(cycles[0].to_string(), "2 objects: Item -> Session");
    drop(cycles);
    assert_eq!(gen_gc::collect(), 2);
    gen_gc::enable();
}

#[derive(Trace)]
#[trace(tracked)]
struct Buffer {
    bytes: Vec<u8>,
}

#[derive(Trace)]
struct Holder {
    next: RefCell<Option<Gc<Holder>>>,
    buffer: Gc<Buffer>,
}

#[test]
fn the_reports_cycles_section_counts_the_garbage_they_hold_so_it_adds_up_to_what_collect_frees() {
    gen_gc::disable();
    let buffer = Gc::new(Buffer { bytes: vec![0; 16] });
    let a = Gc::new(Holder { next: RefCell::new(None), buffer: buffer.clone() });
    let b = Gc::new(Holder { next: RefCell::new(Some(a.clone())), buffer: buffer.clone() });
    *a.next.borrow_mut() = Some(b);
    drop((a, buffer));
    let dir = std::env::temp_dir().join(format!("objgraph-user-programs-3-{}", std::process::id()));
    objgraph::Report::new("cycles").garbage_cycles().write_to(&dir).unwrap();
    let text = std::fs::read_to_string(dir.join("report.txt")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let holder = cyclegc::TypeInfo::of::<Holder>().object_size();
    let buffer = cyclegc::TypeInfo::of::<Buffer>().object_size();
    assert!(
        text.contains(&format!(
            "1 cycle, 2 objects, {} bytes, holding 1 more object in no cycle ({buffer} bytes), freed with them: \
             what a full collection would free now",
            2 * holder
        )),
        "{text}"
    );
    assert_eq!(gen_gc::collect(), 3);
    gen_gc::enable();
}

#[derive(Trace)]
struct Cache {
    items: RefCell<Vec<Gc<Buffer>>>,
}

#[test]
fn a_retainer_graph_is_captioned_with_its_roots_name() {
    let cache = Gc::new(Cache { items: RefCell::new(vec![Gc::new(Buffer { bytes: Vec::new() })]) });
    objgraph::name_root(&Gc::to_any(&cache), "_cache");
    let leaked = objgraph::by_type("Buffer", &objgraph::Query::default());
    let dir = std::env::temp_dir().join(format!("objgraph-user-programs-3-caption-{}", std::process::id()));
    objgraph::Report::new("held").retainers_of(&leaked).write_to(&dir).unwrap();
    let text = std::fs::read_to_string(dir.join("report.txt")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(text.contains("show_chain: what holds Buffer, from _cache: Cache;"), "{text}");
}
