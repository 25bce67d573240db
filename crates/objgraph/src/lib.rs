//! # objgraph: what is on the heap, and what grew
//!
//! Python's [objgraph](https://mg.pov.lt/objgraph/) over this heap, with objgraph's output
//! formats, so that someone who knows objgraph reads ours at once:
//!
//! - [`count`], [`typestats`], [`most_common_types`], [`show_most_common_types`]: how many
//!   objects of each type the collector tracks;
//! - [`growth`], [`thread_growth`], [`show_growth`]: which types gained objects since the last call (peak-based,
//!   after a full collection, so cycles do not count as growth);
//! - [`get_new_ids`]: the ids of the objects new since the last call, per type;
//! - [`by_type`], [`at`], [`at_addrs`] (also [`at_ids`]): the objects themselves;
//! - [`get_leaking_objects`]: tracked objects that no tracked object refers to — the roots
//!   of what is alive, where leaks are held from;
//! - [`find_backref_chain`], [`find_ref_chain`]: the shortest chain of references to or from
//!   an object that satisfies a predicate, and [`find_backref_chain_to_root`], which ends at
//!   an object held from outside the heap (its count exceeds the references it gets from
//!   heap objects: a variable, a static, a thread-local), where Python's objgraph can only
//!   stop at modules;
//! - [`show_refs`], [`show_backrefs`], [`show_chain`]: objgraph's graphs, as [`Graph`]
//!   values that write DOT ([`Graph::to_dot`], [`Graph::write_dot`], [`Graph::save`]) or draw
//!   SVG ([`Graph::to_svg`]) — through Graphviz's `dot` when it is installed, through a
//!   pure-Rust layout (layout-rs) otherwise, so a bare machine still gets a picture;
//! - [`name_root`]: a name for an object the program holds (`"_cache"`), shown in graphs.
//!
//! Beyond objgraph:
//!
//! - [`retained_size`], [`Dominators`]: the bytes that would be freed if an object were gone,
//!   from the dominator tree of the heap, and the largest retainers;
//! - [`garbage_cycles`], [`cycles_among`]: which cycles a collection would free (or
//!   `gc.garbage` holds), as strongly connected components with their types;
//! - [`HeapSnapshot`]: the heap as data, to and from JSON, and [`HeapSnapshot::diff`] of two
//!   snapshots per type;
//! - `typestats_by_site`, `most_common_sites`, `growth_by_site` (feature `alloc-site`): counts
//!   and growth per allocation site and type;
//! - [`LeakCheck`]: runs a scenario of the program again and again and returns a
//!   [`LeakReport`] of the types that grew in every run, with the leaked objects grouped by
//!   their chain from a root, what they retain and where they were created, as text for a
//!   snapshot test (below);
//! - [`write_heapsnapshot`], [`save_heapsnapshot`]: the heap in V8's `.heapsnapshot` format,
//!   for Chrome DevTools' Memory panel and memlab (below);
//! - [`Report`]: all of the above written as a directory to browse offline, a leak check's
//!   findings included, for a program's own `cargo xtask` (below).
//!
//! ## Graphs
//!
//! Graphs follow objgraph's conventions: start objects have red labels, fill colours darken
//! with depth, objects with a finalizer carry a red `finalize` marker (objgraph's `__del__`),
//! references past `too_many` become one `N more references` node, and edges carry the
//! derive's labels (field names, `[i]`, `[key]`). Where objgraph marks modules, our graphs
//! mark roots: objects held from outside the heap are green and say how many outside
//! references they have (`held from outside: 1`), their name if they have one, and
//! `in gc.garbage` for the legacy policy's uncollectable objects. A walk of backreferences
//! goes on past a root to its own referrers (other heap objects may hold it too), within
//! `max_depth` and `too_many`, as objgraph's does past anything but a module. Node ids
//! (`o0`, `o1`, ...) follow the walk's order, so the same heap always gives the same DOT
//! text: a `HashMap`'s entries and a `HashSet`'s members are walked in an order of their own
//! (by description, then by what they hold), never in the hash order, which changes with
//! every run's seed.
//!
//! ```
//! use std::cell::RefCell;
//! use cyclegc::{Gc, Trace};
//!
//! #[derive(Trace)]
//! struct Cache {
//!     items: RefCell<Vec<Gc<Item>>>,
//! }
//! #[derive(Trace)]
//! struct Item {
//!     size: usize,
//! }
//!
//! let cache = Gc::new(Cache { items: RefCell::new(Vec::new()) });
//! objgraph::name_root(&Gc::to_any(&cache), "_cache");
//! cache.items.borrow_mut().push(Gc::new(Item { size: 1 }));
//!
//! let leaked = Gc::to_any(&cache.items.borrow()[0]);
//! let graph = objgraph::show_backrefs(&[leaked], &objgraph::GraphOptions::default());
//! assert_eq!(graph.labels(), ["Item", "Cache\n_cache\nheld from outside: 1"]);
//! assert!(graph.to_dot().contains(r#"o1 -> o0 [label="items[0]"];"#));
//! let svg = graph.to_svg().expect("Graphviz or the built-in renderer");
//! assert!(svg.contains("<svg"));
//! ```
//!
//! ```
//! use std::cell::RefCell;
//! use cyclegc::{Gc, Trace};
//!
//! #[derive(Trace)]
//! struct Obj {
//!     next: RefCell<Option<Gc<Obj>>>,
//! }
//!
//! let query = objgraph::Query::default();
//! let mut peak = objgraph::PeakStats::default();
//! objgraph::growth(None, &mut peak, &query); // the baseline
//!
//! let mut cache = Vec::new();
//! cache.push(Gc::new(Obj { next: RefCell::new(None) })); // a leak: nobody removes it
//! let grown = objgraph::growth(None, &mut peak, &query);
//! assert_eq!(grown, vec![("Obj".to_owned(), 1, 1)]); // (type, count, growth)
//! ```
//!
//! ## Leak checks
//!
//! `show_growth` before and after a call is the article's way to find a leak. [`LeakCheck`]
//! makes it a test: it runs a scenario (a request, a frame, a game turn) after a warm-up run,
//! three more times by default, with a full collection after each, and reports the types
//! whose count grew in *every* measured run (a cache filled once grows in one run only, and
//! is not reported). The leaked objects (objects of those types created after the warm-up)
//! are grouped by the shape of their shortest chain from a root, so that the report says who
//! holds them: `_cache -> Cache.items[*] -> Request`. [`LeakReport`]'s `Display` has no
//! addresses, ids or timings, so it can be a snapshot (`insta::assert_snapshot!(report)`),
//! and [`LeakReport::assert_no_leaks`] fails a test with that text.
//!
//! ```
//! use std::cell::RefCell;
//! use cyclegc::{Gc, Trace};
//!
//! #[derive(Trace)]
//! struct Cache {
//!     items: RefCell<Vec<Gc<Request>>>,
//! }
//! #[derive(Trace)]
//! #[trace(tracked)]
//! struct Request {
//!     id: u32,
//! }
//!
//! let cache = Gc::new(Cache { items: RefCell::new(Vec::new()) });
//! objgraph::name_root(&Gc::to_any(&cache), "_cache");
//!
//! // The article's func_to_leak: the request is cached, and an early return skips its removal.
//! let handle = |id: u32, fail: bool| {
//!     let request = Gc::new(Request { id });
//!     cache.items.borrow_mut().push(request.clone());
//!     if fail {
//!         return;
//!     }
//!     cache.items.borrow_mut().retain(|cached| !Gc::ptr_eq(cached, &request));
//! };
//!
//! objgraph::LeakCheck::new().assert_no_leaks(|| handle(1, false));
//!
//! let report = objgraph::LeakCheck::new().sites(false).run(|| handle(2, true));
//! let one = cyclegc::TypeInfo::of::<Request>().object_size();
//! assert_eq!(report.to_string(), format!("\
//! leak check: 1 warm-up run, 3 measured runs
//!
//! grew in every measured run (objects gained per run):
//!   Request  +1 +1 +1
//!
//! leaked: 3 objects in 1 group, retaining {bytes} bytes
//!   3 Request, retaining {bytes} bytes
//!     _cache -> Cache.items[*] -> Request
//! ", bytes = 3 * one));
//! ```
//!
//! ## Chrome DevTools and memlab
//!
//! [`write_heapsnapshot`] writes the heap as a `.heapsnapshot` file, V8's format: open it in
//! Chrome DevTools (Memory panel, *Load profile*) to sort types by retained size and expand
//! retainers, or hand it to memlab. Objects are `object` nodes named by their type, with their
//! object size; references are edges named by the derive's labels; objects held from outside
//! the heap are the root's children (DevTools' user roots), under their [`name_root`] name, so
//! a leaked item's retainers read `items[0] in Cache`, then `_cache`. Cycles no root reaches
//! hang under `(Unreachable)`. The file is written as it is produced; a 1,000,000-object heap
//! takes 0.2 to 0.35 s on a 2-core machine (`docs/performance.md`). Node ids follow the
//! snapshot's order unless [`NodeIds::Persistent`] keeps them across snapshots, as DevTools'
//! Comparison view and memlab's three-snapshot analysis need.
//!
//! ```
//! use std::cell::RefCell;
//! use cyclegc::{Gc, Trace};
//!
//! #[derive(Trace)]
//! struct Cache {
//!     items: RefCell<Vec<Gc<Item>>>,
//! }
//! #[derive(Trace)]
//! #[trace(tracked)]
//! struct Item {
//!     size: usize,
//! }
//!
//! let cache = Gc::new(Cache { items: RefCell::new(vec![Gc::new(Item { size: 1 })]) });
//! objgraph::name_root(&Gc::to_any(&cache), "_cache");
//!
//! let mut file = Vec::new(); // or objgraph::save_heapsnapshot("leak.heapsnapshot")
//! objgraph::write_heapsnapshot(&mut file).unwrap();
//! let text = String::from_utf8(file).unwrap();
//! assert!(text.starts_with(r#"{"snapshot":{"meta":{"node_fields":["type","name","id","#));
//! assert!(text.contains(r#""_cache""#) && text.contains(r#""items[0]""#));
//! ```
//!
//! ## Reports
//!
//! A [`Report`] collects what a leak hunt finds into one directory a reader opens in a
//! browser, with no server and no network: `index.html` (tables that sort by a click on a
//! heading and filter by a text box, chains of references that unfold under each retained
//! object, the graphs), a `.dot` and an `.svg` file per graph, `report.txt` and `data.json`.
//! Each analysis reads the heap when it is called and keeps only data, so a program builds
//! its report as its scenario runs: a snapshot before, the growth and the retainers after.
//! [`Report::leak_report`] makes a [`LeakReport`] a section: the types that grew run by run,
//! the leaked groups with their chains, creation sites and example objects unfolding under
//! each row, and a graph of an example of each group, drawn while it is still alive.
//! [`Report::section`] and [`Table`] carry the program's own findings.
//!
//! ```
//! use std::cell::RefCell;
//! use cyclegc::{Gc, Trace};
//! use objgraph::{HeapSnapshot, Report};
//!
//! #[derive(Trace)]
//! struct Cache {
//!     items: RefCell<Vec<Gc<Item>>>,
//! }
//! #[derive(Trace)]
//! #[trace(tracked)]
//! struct Item {
//!     size: usize,
//! }
//!
//! let cache = Gc::new(Cache { items: RefCell::new(Vec::new()) });
//! objgraph::name_root(&Gc::to_any(&cache), "_cache");
//! let before = HeapSnapshot::capture();
//! cache.items.borrow_mut().push(Gc::new(Item { size: 1 })); // the leak
//! let after = HeapSnapshot::capture();
//!
//! let leaked = objgraph::by_type("Item", &objgraph::Query::default());
//! let dir = std::env::temp_dir().join(format!("objgraph-crate-doc-{}", std::process::id()));
//! let index = Report::new("The _cache leak")
//!     .section("What ran", "one request, which cached an item and never removed it\n")
//!     .growth(&before, &after)
//!     .retainers_of(&leaked)
//!     .graph("backrefs", "show_backrefs of the leaked item", &objgraph::show_backrefs(&leaked, &Default::default()))
//!     .write_to(&dir)
//!     .unwrap();
//!
//! let text = std::fs::read_to_string(dir.join("report.txt")).unwrap();
//! assert!(text.contains("held by: _cache: Cache, 1 reference away"));
//! assert!(std::fs::read_to_string(&index).unwrap().contains("<img src=\"backrefs.svg\""));
//! assert!(dir.join("backrefs.dot").exists() && dir.join("backrefs.svg").exists());
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! Type names are short (`Node<String>`, objgraph's default `shortnames=True`) unless
//! [`Query::shortnames`] is `false`, which gives the full path
//! (`app::graph::Node<alloc::string::String>`); a name given to [`count`] or [`by_type`]
//! matches the full path when it contains `::`, the short name otherwise.
//!
//! Only tracked objects are counted, as `gc.get_objects()` lists only those in Python:
//! leaves (numbers, strings) are not tracked. A struct with no `Gc` field is a leaf too; mark it
//! `#[trace(tracked)]` to have objgraph count it, as Python tracks every class instance. objgraph's own handles and tables are Rust
//! values, not heap objects, so they never show up in its answers.

#![deny(missing_docs)]

mod chains;
mod counts;
mod cycles;
mod dot;
mod export;
mod graph;
mod growth;
mod leak;
mod markup;
mod report;
mod retained;
mod roots;
mod site_path;
#[cfg(feature = "alloc-site")]
mod sites;
mod snapshot;
mod svg;
mod v8;

pub use chains::{find_backref_chain, find_backref_chain_to_root, find_ref_chain};
pub use counts::{
    Query, at, at_addrs, at_ids, by_type, count, get_leaking_objects, most_common_types, show_most_common_types,
    typestats,
};
pub use cycles::{Cycle, cycles_among, garbage_cycles};
pub use export::{EdgeRecord, HeapSnapshot, ObjectRecord, SnapshotDiff, TypeDelta, TypeTotal};
pub use graph::{Graph, GraphOptions, NodeAttrs, show_backrefs, show_chain, show_refs};
pub use growth::{NewIds, PeakStats, SortBy, get_new_ids, growth, show_growth, show_growth_with, thread_growth};
pub use leak::{ChainRoot, DeadWeakRefs, LeakCheck, LeakGroup, LeakReport, TypeGrowth};
pub use report::{Cell, Report, Table};
pub use retained::{Dominators, Retainer, retained_size};
pub use roots::{forget_root_name, name_root, root_name};
#[cfg(feature = "alloc-site")]
pub use sites::{growth_by_site, most_common_sites, show_growth_by_site, show_most_common_sites, typestats_by_site};
pub use snapshot::HeapGraph;
pub use svg::{RenderError, Renderer};
pub use v8::{NodeIds, save_heapsnapshot, write_heapsnapshot};
