//! `LeakCheck`: steady growth, leaked objects grouped by their chain from a root, retained
//! sizes, and the cases a check must survive (a panicking scenario, a one-off fill, a big
//! unrelated heap, a leak through a weak container).

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

use cyclegc::weak_collections::WeakKeyDictionary;
use cyclegc::{Gc, Trace, TypeInfo};
use objgraph::{ChainRoot, LeakCheck, LeakReport};

mod common;
use common::scaled;

#[derive(Trace)]
#[trace(tracked)]
struct Request {
    id: u32,
}

#[derive(Trace)]
struct Cache {
    items: RefCell<Vec<Gc<Request>>>,
}

fn named_cache(name: &str) -> Gc<Cache> {
    let cache = Gc::new(Cache { items: RefCell::new(Vec::new()) });
    objgraph::name_root(&Gc::to_any(&cache), name);
    cache
}

fn size_of<T: Trace>() -> usize {
    TypeInfo::of::<T>().object_size()
}

/// A snapshot of a report that shows sizes: object sizes grow by a word with the
/// `alloc-site` feature, so that configuration has snapshots of its own.
fn assert_report_snapshot(name: &str, report: &LeakReport) {
    let mut settings = insta::Settings::clone_current();
    if cfg!(feature = "alloc-site") {
        settings.set_snapshot_suffix("alloc-site");
    }
    settings.bind(|| insta::assert_snapshot!(name, report.to_string()));
}

#[test]
fn a_cache_that_keeps_every_request_leaks_one_request_per_run() {
    let cache = named_cache("_cache");
    let mut next = 0;
    let report = LeakCheck::new().sites(false).run(|| {
        next += 1;
        cache.items.borrow_mut().push(Gc::new(Request { id: next }));
    });
    assert!(!report.is_clean());
    assert_eq!(report.growing.len(), 1);
    assert_eq!(report.growing[0].type_name, "Request");
    assert_eq!(report.growing[0].deltas(), [1, 1, 1]);
    assert_eq!(report.groups.len(), 1);
    let group = &report.groups[0];
    assert_eq!(group.root, ChainRoot::Named("_cache".to_owned()));
    assert_eq!(group.steps, ["Cache.items[*]"]);
    assert_eq!(group.chain(), "_cache -> Cache.items[*] -> Request");
    assert_eq!(group.count, 3, "the warm-up's request is part of the baseline");
    assert_eq!(group.retained_bytes, 3 * size_of::<Request>());
    assert_eq!(report.retained_bytes, 3 * size_of::<Request>());
    assert_report_snapshot("cache_leak", &report);
}

#[test]
fn a_scenario_that_frees_what_it_creates_is_clean() {
    let cache = named_cache("_cache");
    let report = LeakCheck::new().run(|| {
        let request = Gc::new(Request { id: 1 });
        cache.items.borrow_mut().push(request.clone());
        cache.items.borrow_mut().retain(|cached| !Gc::ptr_eq(cached, &request));
    });
    assert!(report.is_clean());
    assert!(report.groups.is_empty() && report.unsteady.is_empty());
    insta::assert_snapshot!(report.to_string(), @r"
    leak check: 1 warm-up run, 3 measured runs

    no type grew in every measured run: no leak
    ");
    LeakCheck::new().assert_no_leaks(|| drop(Gc::new(Request { id: 2 })));
}

#[test]
fn assert_no_leaks_panics_with_the_report() {
    let cache = named_cache("_cache");
    let panic = catch_unwind(AssertUnwindSafe(|| {
        LeakCheck::new().sites(false).assert_no_leaks(|| cache.items.borrow_mut().push(Gc::new(Request { id: 0 })));
    }))
    .expect_err("the check panics");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(message.starts_with("objects leaked:\nleak check: 1 warm-up run, 3 measured runs\n"), "{message}");
    assert!(message.contains("    _cache -> Cache.items[*] -> Request\n"), "{message}");
}

/// A type that holds no `Gc` and lacks `#[trace(tracked)]` is a leaf the heap does not
/// track: its leaked objects are still counted, through the tracked objects that hold them,
/// and the report says how to get their chain. A leaf held twice is counted once, and the
/// leaves a scenario lets go are not counted.
#[test]
fn a_leak_of_untracked_objects_held_by_tracked_ones_is_reported() {
    #[derive(Trace)]
    struct Session {
        user: String,
    }
    #[derive(Trace)]
    struct Registry {
        sessions: RefCell<Vec<Gc<Session>>>,
        recent: RefCell<Option<Gc<Session>>>,
    }
    let registry = Gc::new(Registry { sessions: RefCell::new(Vec::new()), recent: RefCell::new(None) });
    assert!(!TypeInfo::of::<Session>().is_tracked());
    objgraph::name_root(&Gc::to_any(&registry), "registry");
    let report = LeakCheck::new().sites(false).run(|| {
        let session = Gc::new(Session { user: "ada".to_owned() });
        registry.sessions.borrow_mut().push(session.clone());
        *registry.recent.borrow_mut() = Some(session);
        drop(Gc::new(Session { user: "temporary".to_owned() }));
    });
    assert!(!report.is_clean());
    assert_eq!(report.growing.len(), 1);
    let growth = &report.growing[0];
    assert_eq!((growth.type_name.as_str(), growth.tracked), ("Session", false));
    assert_eq!(growth.counts, [1, 2, 3, 4], "one per run, the one held twice counted once");
    assert!(report.groups.is_empty(), "no chain for objects the heap does not track");
    insta::assert_snapshot!(report.to_string(), @r"
    leak check: 1 warm-up run, 3 measured runs

    grew in every measured run (objects gained per run):
      Session  +1 +1 +1

    Session holds no Gc, so the heap does not track its objects:
    counted through the tracked objects that hold them, they have no chain here;
    `#[trace(tracked)]` on the type gives them one
    ");
    assert!(registry.sessions.borrow().iter().all(|session| session.user == "ada"));

    let clean = LeakCheck::new().run(|| {
        registry.sessions.borrow_mut().push(Gc::new(Session { user: "bob".to_owned() }));
        registry.sessions.borrow_mut().pop();
    });
    assert!(clean.is_clean(), "{clean}");
}

/// A leak of leaves of the standard library (`Gc<str>` labels) and of a type of the
/// program's: the report does not tell the user to annotate `str`, which cannot take the
/// attribute, but to hold it in a type of their own.
#[test]
fn a_leak_of_standard_leaves_says_how_to_give_them_a_chain() {
    #[derive(Trace)]
    struct Note {
        text: String,
    }
    #[derive(Trace)]
    struct Board {
        labels: RefCell<Vec<Gc<str>>>,
        notes: RefCell<Vec<Gc<Note>>>,
    }
    let board = Gc::new(Board { labels: RefCell::new(Vec::new()), notes: RefCell::new(Vec::new()) });
    let report = LeakCheck::new().sites(false).run(|| {
        board.labels.borrow_mut().push(Gc::from("label"));
        board.notes.borrow_mut().push(Gc::new(Note { text: "note".to_owned() }));
    });
    let growing: Vec<(&str, bool)> = report.growing.iter().map(|row| (row.type_name.as_str(), row.tracked)).collect();
    assert_eq!(growing, [("Note", false), ("str", false)]);
    insta::assert_snapshot!(report.to_string(), @r"
    leak check: 1 warm-up run, 3 measured runs

    grew in every measured run (objects gained per run):
      Note  +1 +1 +1
      str   +1 +1 +1

    Note, str hold no Gc, so the heap does not track theirs:
    counted through the tracked objects that hold them, they have no chain here;
    `#[trace(tracked)]` on Note gives its objects one
    str cannot take the attribute: a type of yours that has it and holds the value (`Gc<Label>` for a `Gc<str>`) gives its objects one
    ");
    assert!(board.notes.borrow().iter().all(|note| note.text == "note"));
}

/// A scenario that runs a young collection itself (under the incremental policy its
/// survivors go straight to the recent survivors, outside the young generations) still has
/// its leaked objects found: the check records the young generations at every collection.
#[test]
fn a_scenario_that_collects_the_young_generation_itself_has_its_leaks_found() {
    let cache = named_cache("_cache");
    for id in 1000..1005 {
        cache.items.borrow_mut().push(Gc::new(Request { id }));
    }
    let report = LeakCheck::new().sites(false).run(|| {
        cache.items.borrow_mut().push(Gc::new(Request { id: 1 }));
        cyclegc::gen_gc::collect_generation(0).unwrap();
    });
    assert_eq!(report.growing.len(), 1);
    assert_eq!(report.leaked_objects(), 3, "the measured runs' requests, not the old ones: {report}");
}

/// A cache filled on the first call only: the warm-up run fills it, the baseline includes it.
#[test]
fn a_one_off_fill_during_the_warmup_is_not_a_leak() {
    let cache = named_cache("_cache");
    let report = LeakCheck::new().warmup(1).run(|| {
        if cache.items.borrow().is_empty() {
            cache.items.borrow_mut().extend((0..10).map(|id| Gc::new(Request { id })));
        }
    });
    assert!(report.is_clean());
    assert!(report.unsteady.is_empty(), "the fill happened before the baseline");
}

/// Without a warm-up, the first measured run fills the cache and the others add nothing:
/// growth in one run is not steady growth.
#[test]
fn a_one_off_fill_without_warmup_is_not_a_leak() {
    let cache = named_cache("_cache");
    let report = LeakCheck::new().warmup(0).run(|| {
        if cache.items.borrow().is_empty() {
            cache.items.borrow_mut().extend((0..10).map(|id| Gc::new(Request { id })));
        }
    });
    assert!(report.is_clean());
    assert_eq!(report.unsteady.len(), 1);
    assert_eq!(report.unsteady[0].deltas(), [10, 0, 0]);
    insta::assert_snapshot!(report.to_string(), @r"
    leak check: 0 warm-up runs, 3 measured runs

    no type grew in every measured run: no leak

    grew, but not in every measured run (not counted as a leak):
      Request  +10 +0 +0
    ");
}

#[test]
#[should_panic(expected = "at least two measured runs")]
fn one_measured_run_cannot_tell_a_fill_from_a_leak() {
    let _ = LeakCheck::new().runs(1);
}

/// A scenario that panics in a measured run: the panic reaches the caller with its own
/// payload, and the heap and the next check on the thread are unaffected.
#[test]
fn a_panicking_scenario_propagates_its_panic_and_leaves_the_heap_consistent() {
    let cache = named_cache("_cache");
    let calls = Cell::new(0);
    let panic = catch_unwind(AssertUnwindSafe(|| {
        LeakCheck::new().run(|| {
            calls.set(calls.get() + 1);
            let request = Gc::new(Request { id: calls.get() });
            if calls.get() == 3 {
                panic!("request {} failed", request.id);
            }
        })
    }))
    .expect_err("the scenario's panic goes on");
    assert_eq!(panic.downcast_ref::<String>().map(String::as_str), Some("request 3 failed"));
    assert_eq!(calls.get(), 3, "the check stopped at the panic");

    assert_eq!(objgraph::count("Request", &objgraph::Query::default()), 0, "the unwinding freed the request");
    assert_eq!(cyclegc::gen_gc::collect(), 0);
    assert!(!cyclegc::gen_gc::is_collecting());
    let mut next = 0;
    let report = LeakCheck::new().sites(false).run(|| {
        next += 1;
        cache.items.borrow_mut().push(Gc::new(Request { id: next }));
    });
    assert_eq!(report.groups.len(), 1);
    assert_eq!(report.groups[0].count, 3, "the next check counts from its own baseline");
}

#[test]
fn a_panic_in_a_warmup_run_propagates_too() {
    let panic = catch_unwind(|| LeakCheck::new().warmup(2).run(|| panic!("not ready")))
        .expect_err("the scenario's panic goes on");
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"not ready"));
    assert!(LeakCheck::new().run(|| drop(Gc::new(Request { id: 0 }))).is_clean());
}

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
}

fn node() -> Gc<Node> {
    Gc::new(Node { next: RefCell::new(None) })
}

#[derive(Trace)]
struct Nodes {
    nodes: RefCell<Vec<Gc<Node>>>,
}

/// A million live objects that the scenario never touches, of the leaking type: the report
/// names only what the scenario leaked.
#[test]
fn a_million_unrelated_objects_are_not_reported() {
    let unrelated = scaled(1_000_000);
    let forest = Gc::new(Nodes { nodes: RefCell::new((0..unrelated).map(|_| node()).collect()) });
    let leaks = Gc::new(Nodes { nodes: RefCell::new(Vec::new()) });
    objgraph::name_root(&Gc::to_any(&leaks), "_leaks");
    let report = LeakCheck::new().sites(false).run(|| {
        leaks.nodes.borrow_mut().push(node());
        drop(node());
    });
    assert_eq!(report.growing.len(), 1);
    assert_eq!(report.growing[0].deltas(), [1, 1, 1]);
    assert_eq!(report.groups.len(), 1);
    assert_eq!(report.groups[0].count, 3, "only the nodes the runs kept, none of the forest's");
    assert_eq!(report.groups[0].chain(), "_leaks -> Nodes.nodes[*] -> Node");
    assert_eq!(objgraph::count("Node", &objgraph::Query::default()), unrelated + 4);
    drop(forest);
}

/// The classic `WeakKeyDictionary` leak: a value that refers to its own key keeps the key
/// alive, and the dictionary holds the value strongly. The chain shows the way through the
/// dictionary's entries to the value, and from the value to the key.
#[test]
fn a_leak_through_a_weak_key_dictionarys_strong_value() {
    #[derive(Trace)]
    #[trace(tracked)]
    struct Widget {
        id: u32,
    }
    #[derive(Trace)]
    struct Handler {
        widget: Gc<Widget>,
    }
    #[derive(Trace)]
    struct Registry {
        handlers: WeakKeyDictionary<Widget, Gc<Handler>>,
    }

    let registry = Gc::new(Registry { handlers: WeakKeyDictionary::new() });
    objgraph::name_root(&Gc::to_any(&registry), "_registry");
    let mut next = 0;
    let report = LeakCheck::new().sites(false).run(|| {
        next += 1;
        let widget = Gc::new(Widget { id: next });
        registry.handlers.insert(&widget, Gc::new(Handler { widget: widget.clone() }));
    });
    assert_eq!(report.groups.len(), 2);
    let chains: Vec<String> = report.groups.iter().map(|group| group.chain()).collect();
    assert_eq!(
        chains,
        [
            "_registry -> Registry.handlers[*] -> Handler",
            "_registry -> Registry.handlers[*] -> Handler.widget -> Widget",
        ]
    );
    assert_eq!(report.groups[0].retained_bytes, 3 * (size_of::<Handler>() + size_of::<Widget>()));
    assert_eq!(report.groups[1].retained_bytes, 3 * size_of::<Widget>());
    assert_eq!(report.retained_bytes, 3 * (size_of::<Handler>() + size_of::<Widget>()), "each byte once");
    assert_report_snapshot("weak_key_dictionary_leak", &report);

    // The fix: a value that does not hold its key lets the entry go with the key.
    let registry = Gc::new(Registry { handlers: WeakKeyDictionary::new() });
    let report = LeakCheck::new().run(|| {
        let widget = Gc::new(Widget { id: 0 });
        let handler = Gc::new(Handler { widget: Gc::new(Widget { id: 1 }) });
        registry.handlers.insert(&widget, handler);
    });
    assert!(report.is_clean(), "{report}");
}

/// Objects of one type held in two places are two groups, the larger first.
#[test]
fn groups_follow_the_shape_of_the_chain() {
    let cache = named_cache("_cache");
    let archive = named_cache("_archive");
    let report = LeakCheck::new().sites(false).run(|| {
        cache.items.borrow_mut().push(Gc::new(Request { id: 0 }));
        archive.items.borrow_mut().extend([Gc::new(Request { id: 1 }), Gc::new(Request { id: 2 })]);
    });
    let groups: Vec<(String, usize)> = report.groups.iter().map(|group| (group.chain(), group.count)).collect();
    assert_eq!(
        groups,
        [
            ("_archive -> Cache.items[*] -> Request".to_owned(), 6),
            ("_cache -> Cache.items[*] -> Request".to_owned(), 3)
        ]
    );
    assert_eq!(report.growing[0].deltas(), [3, 3, 3]);
}

/// A leak that grows a linked list: the repeated step is written once, with `+`, so the
/// list's new nodes are one group however long it grows (whether one `Node.next` or more
/// leads to them); the first new node retains all the others.
#[test]
fn a_linked_list_is_one_step_with_a_plus() {
    #[derive(Trace)]
    struct List {
        head: RefCell<Option<Gc<Node>>>,
    }
    let list = Gc::new(List { head: RefCell::new(None) });
    objgraph::name_root(&Gc::to_any(&list), "_list");
    let report = LeakCheck::new().sites(false).runs(4).run(|| {
        let mut last = list.head.borrow().clone();
        while let Some(next) = last.as_ref().and_then(|node| node.next.borrow().clone()) {
            last = Some(next);
        }
        match last {
            Some(last) => *last.next.borrow_mut() = Some(node()),
            None => *list.head.borrow_mut() = Some(node()),
        }
    });
    let groups: Vec<(String, usize, usize)> =
        report.groups.iter().map(|group| (group.chain(), group.count, group.retained_bytes)).collect();
    let one = size_of::<Node>();
    assert_eq!(
        groups,
        [("_list -> List.head -> Node.next+ -> Node".to_owned(), 4, 4 * one)],
        "one group, the first new node retaining the others"
    );
    assert_eq!(report.retained_bytes, 4 * one);
    assert_report_snapshot("linked_list_leak", &report);
}

/// A leak that pushes onto the front of a list: the new nodes are the head (no `Node.next`)
/// and those behind it (one or more), one group with `*`.
#[test]
fn a_list_grown_at_its_head_is_one_group_with_a_star() {
    #[derive(Trace)]
    struct List {
        head: RefCell<Option<Gc<Node>>>,
    }
    let list = Gc::new(List { head: RefCell::new(None) });
    objgraph::name_root(&Gc::to_any(&list), "history");
    let report = LeakCheck::new().sites(false).runs(6).run(|| {
        let new = node();
        *new.next.borrow_mut() = list.head.borrow_mut().take();
        *list.head.borrow_mut() = Some(new);
    });
    let groups: Vec<(String, usize)> = report.groups.iter().map(|group| (group.chain(), group.count)).collect();
    assert_eq!(groups, [("history -> List.head -> Node.next* -> Node".to_owned(), 6)]);
    // The newest head retains the whole list, the warm-up run's node included.
    assert_eq!(report.retained_bytes, 7 * size_of::<Node>());
}

/// The report keeps ids, not handles: its examples die when the program lets them go.
#[test]
fn the_report_does_not_keep_its_objects_alive() {
    let cache = named_cache("_cache");
    let report = LeakCheck::new().examples(2).run(|| cache.items.borrow_mut().push(Gc::new(Request { id: 7 })));
    let group = &report.groups[0];
    assert_eq!(group.count, 3);
    assert_eq!(group.examples.len(), 2);
    let examples = group.objects();
    assert_eq!(examples.len(), 2);
    assert!(examples.iter().all(|object| object.short_type_name() == "Request"));
    drop(examples);
    cache.items.borrow_mut().clear();
    assert!(group.objects().is_empty());
}

/// Objects held by a plain Rust value are held from outside the heap: the chain is the type
/// alone.
#[test]
fn an_object_held_from_outside_the_heap_is_its_own_root() {
    thread_local!(static KEPT: RefCell<Vec<Gc<Request>>> = const { RefCell::new(Vec::new()) });
    let report = LeakCheck::new().run(|| KEPT.with(|kept| kept.borrow_mut().push(Gc::new(Request { id: 0 }))));
    assert_eq!(report.groups[0].chain(), "Request");
    assert_eq!(report.groups[0].root, ChainRoot::HeldFromOutside);
    KEPT.with(|kept| kept.borrow_mut().clear());
}

/// Garbage that no collection may free (frozen) has no chain from a root.
#[test]
fn frozen_garbage_is_unreachable() {
    #[derive(Trace)]
    struct Pair {
        other: RefCell<Option<Gc<Pair>>>,
    }
    let pair = || {
        let a = Gc::new(Pair { other: RefCell::new(None) });
        *a.other.borrow_mut() = Some(a.clone());
        a
    };
    let held = RefCell::new(Vec::new());
    let runs = Cell::new(0);
    let report = LeakCheck::new().warmup(0).run(|| {
        held.borrow_mut().push(pair());
        runs.set(runs.get() + 1);
        if runs.get() == 3 {
            cyclegc::gen_gc::freeze();
            held.borrow_mut().clear();
        }
    });
    cyclegc::gen_gc::unfreeze();
    assert_eq!(report.groups.len(), 1);
    assert_eq!(report.groups[0].root, ChainRoot::Unreachable);
    assert_eq!(report.groups[0].chain(), "(unreachable) -> Pair");
    assert_eq!(cyclegc::gen_gc::collect(), 3);
}

/// Automatic collections during a run move the run's objects to older generations: the
/// leaked objects are still told from the old ones.
#[test]
fn objects_promoted_by_automatic_collections_during_a_run_are_still_new() {
    let cache = named_cache("_cache");
    let before = cyclegc::gen_gc::get_stats();
    let report = LeakCheck::new().sites(false).run(|| {
        cache.items.borrow_mut().push(Gc::new(Request { id: 0 }));
        let busy: Vec<Gc<Node>> = (0..10_000).map(|_| node()).collect();
        drop(busy);
    });
    let after = cyclegc::gen_gc::get_stats();
    assert!(after[1].collections > before[1].collections, "generation 1 was collected during the runs");
    assert_eq!(report.groups.len(), 1);
    assert_eq!(report.groups[0].count, 3);
    assert_eq!(report.groups[0].chain(), "_cache -> Cache.items[*] -> Request");
}

/// Finalizers run by the check's own collections may create objects: those created while the
/// baseline's collection ran belong to the baseline, those created after each measured run
/// (the last one included) are new.
#[test]
fn objects_made_by_finalizers_during_the_checks_collections_count_by_run() {
    use cyclegc::Finalize;

    #[derive(Trace)]
    #[trace(tracked)]
    struct Note {
        id: u32,
    }
    #[derive(Trace)]
    #[trace(finalize)]
    struct Temp {
        me: RefCell<Option<Gc<Temp>>>,
    }
    thread_local!(static NOTES: RefCell<Vec<Gc<Note>>> = const { RefCell::new(Vec::new()) });
    impl Finalize for Temp {
        fn finalize(&self) {
            NOTES.with(|notes| notes.borrow_mut().push(Gc::new(Note { id: 0 })));
        }
    }

    let report = LeakCheck::new().run(|| {
        let temp = Gc::new(Temp { me: RefCell::new(None) });
        *temp.me.borrow_mut() = Some(temp.clone()); // garbage for the collection after the run
    });
    assert_eq!(report.growing.len(), 1);
    assert_eq!(report.growing[0].type_name, "Note");
    assert_eq!(report.groups[0].count, 3, "the warm-up's note belongs to the baseline");
    assert_eq!(report.groups[0].chain(), "Note");
    NOTES.with(|notes| assert_eq!(notes.borrow().len(), 4));
    NOTES.with(|notes| notes.borrow_mut().clear());
}

/// Each thread has its own heap: checks on two threads do not see each other's objects.
#[test]
fn checks_on_two_threads_are_independent() {
    let leaky = std::thread::spawn(|| {
        let cache = named_cache("_cache");
        let report = LeakCheck::new().run(|| cache.items.borrow_mut().push(Gc::new(Request { id: 0 })));
        (report.is_clean(), report.leaked_objects())
    });
    let clean = std::thread::spawn(|| LeakCheck::new().run(|| drop(Gc::new(Request { id: 0 }))).is_clean());
    assert_eq!(leaky.join().unwrap(), (false, 3));
    assert!(clean.join().unwrap());
}

/// With the `alloc-site` feature, each group says where its objects were created.
#[cfg(feature = "alloc-site")]
#[test]
fn groups_name_the_line_that_created_their_objects() {
    let cache = named_cache("_cache");
    let line = Cell::new(0);
    let report = LeakCheck::new().run(|| {
        let (request, at) = (Gc::new(Request { id: 0 }), line!());
        line.set(at);
        cache.items.borrow_mut().push(request);
    });
    let site = format!("{}:{}:", file!(), line.get());
    let sites = &report.groups[0].sites;
    assert_eq!(sites.len(), 1);
    assert!(sites[0].0.starts_with(&site), "{sites:?}");
    assert_eq!(sites[0].1, 3);
    assert!(report.to_string().contains(&format!("    created at {}", sites[0].0)));
    assert!(
        LeakCheck::new().sites(false).run(|| cache.items.borrow_mut().push(Gc::new(Request { id: 0 }))).groups[0]
            .sites
            .is_empty()
    );
}

/// Under the legacy finalizer policy, a cycle with finalizers goes to `gc.garbage`: its
/// chain starts there, not at an anonymous holder outside the heap.
#[test]
fn objects_in_gc_garbage_are_held_by_gc_garbage() {
    #[derive(Trace)]
    #[trace(finalize)]
    struct Conn {
        peer: RefCell<Option<Gc<Conn>>>,
    }
    impl cyclegc::Finalize for Conn {
        fn finalize(&self) {}
    }
    cyclegc::gen_gc::set_finalizer_policy(cyclegc::gen_gc::FinalizerPolicy::Legacy);
    let report = LeakCheck::new().sites(false).runs(3).run(|| {
        let a = Gc::new(Conn { peer: RefCell::new(None) });
        let b = Gc::new(Conn { peer: RefCell::new(Some(a.clone())) });
        *a.peer.borrow_mut() = Some(b);
    });
    let chains: Vec<(String, usize)> = report.groups.iter().map(|group| (group.chain(), group.count)).collect();
    assert_eq!(chains, [("gc.garbage -> Conn".to_owned(), 6)], "{report}");
    cyclegc::gen_gc::set_finalizer_policy(cyclegc::gen_gc::FinalizerPolicy::Pep442);
    drop(cyclegc::gen_gc::take_garbage());
    assert_eq!(cyclegc::gen_gc::collect(), 8, "the warm-up run's pair too");
}

/// A scenario that freezes what it made (`gen_gc::freeze` moves the young generations to the
/// permanent one without a collection): its leaked objects are still found.
#[test]
fn objects_frozen_by_the_scenario_are_new_too() {
    #[derive(Trace)]
    #[trace(tracked)]
    struct Session {
        id: u32,
    }
    #[derive(Trace)]
    struct Sessions {
        all: RefCell<Vec<Gc<Session>>>,
    }
    let sessions = Gc::new(Sessions { all: RefCell::new(Vec::new()) });
    objgraph::name_root(&Gc::to_any(&sessions), "sessions");
    let next = Cell::new(0);
    let report = LeakCheck::new().sites(false).runs(3).run(|| {
        next.set(next.get() + 1);
        sessions.all.borrow_mut().push(Gc::new(Session { id: next.get() }));
        cyclegc::gen_gc::freeze();
    });
    cyclegc::gen_gc::unfreeze();
    assert_eq!(report.growing.len(), 1, "{report}");
    let groups: Vec<(String, usize)> = report.groups.iter().map(|group| (group.chain(), group.count)).collect();
    assert_eq!(groups, [("sessions -> Sessions.all[*] -> Session".to_owned(), 3)], "{report}");
    assert_eq!(sessions.all.borrow().iter().map(|session| session.id).sum::<u32>(), 1 + 2 + 3 + 4);
}

/// Two leaking types of one short name, from two modules, are told apart by their full
/// names in the report's table.
#[test]
fn two_leaking_types_of_one_short_name_are_told_apart() {
    mod a {
        #[derive(cyclegc::Trace)]
        #[trace(tracked)]
        pub struct Node;
    }
    mod b {
        #[derive(cyclegc::Trace)]
        #[trace(tracked)]
        pub struct Node;
    }
    thread_local!(static KEPT: RefCell<Vec<(Gc<a::Node>, Gc<b::Node>)>> = const { RefCell::new(Vec::new()) });
    let report =
        LeakCheck::new().run(|| KEPT.with(|kept| kept.borrow_mut().push((Gc::new(a::Node), Gc::new(b::Node)))));
    let names: Vec<&str> = report.growing.iter().map(|growth| growth.type_name.as_str()).collect();
    assert_eq!(names.len(), 2, "{report}");
    assert!(names.iter().all(|name| name.ends_with("::Node") && name.contains("two_leaking_types")), "{names:?}");
    assert_ne!(names[0], names[1]);
    KEPT.with(|kept| kept.borrow_mut().clear());
}

/// An LRU cache: a bounded map of the newest entries, and the leak, a list of every entry
/// it evicted, never trimmed.
#[derive(Trace)]
struct Lru {
    map: RefCell<std::collections::BTreeMap<u32, Gc<Request>>>,
    evicted: RefCell<Vec<Gc<Request>>>,
}

impl Lru {
    fn insert(&self, key: u32, capacity: u32) {
        self.map.borrow_mut().insert(key, Gc::new(Request { id: key }));
        while self.map.borrow().len() > capacity as usize {
            let (_, oldest) = self.map.borrow_mut().pop_first().expect("a full map");
            self.evicted.borrow_mut().push(oldest);
        }
    }
}

/// The entries a bounded cache holds are new, but the cache holds as many as before: the
/// leak is the list its evicted entries go to, older entries each run. Counting the new
/// objects alone named the cache and missed the list.
#[test]
fn a_bounded_cache_is_not_the_leak_the_list_of_its_evicted_entries_is() {
    let lru = Gc::new(Lru { map: RefCell::new(Default::default()), evicted: RefCell::new(Vec::new()) });
    objgraph::name_root(&Gc::to_any(&lru), "lru");
    let mut next = 0;
    let report = LeakCheck::new().sites(false).warmup(5).run(|| {
        next += 1;
        lru.insert(next, 4);
    });
    assert_eq!(report.growing.len(), 1);
    assert_eq!(report.growing[0].deltas(), [1, 1, 1]);
    let groups: Vec<(String, usize)> = report.groups.iter().map(|group| (group.chain(), group.count)).collect();
    assert_eq!(groups, [("lru -> Lru.evicted[*] -> Request".to_owned(), 3)]);
    // The evicted entries are the warm-up's: none of them was created in a measured run.
    let ids: Vec<u32> =
        report.groups[0].objects().iter().map(|object| object.downcast::<Request>().unwrap().id).collect();
    assert!(ids.iter().all(|&id| id <= 5), "{ids:?}");
}

/// A slot whose object each run replaces holds one object however many runs there are: its
/// new object is not a leak, the list beside it is.
#[test]
fn a_replaced_slot_is_not_a_leak() {
    #[derive(Trace)]
    struct Hub {
        slot: RefCell<Option<Gc<Request>>>,
        history: RefCell<Vec<Gc<Request>>>,
    }
    let hub = Gc::new(Hub { slot: RefCell::new(None), history: RefCell::new(Vec::new()) });
    objgraph::name_root(&Gc::to_any(&hub), "hub");
    let report = LeakCheck::new().sites(false).run(|| {
        *hub.slot.borrow_mut() = Some(Gc::new(Request { id: 1 }));
        hub.history.borrow_mut().push(Gc::new(Request { id: 2 }));
    });
    let groups: Vec<(String, usize)> = report.groups.iter().map(|group| (group.chain(), group.count)).collect();
    assert_eq!(groups, [("hub -> Hub.history[*] -> Request".to_owned(), 3)]);
    assert_eq!(report.leaked_objects(), 3);
}

/// A listener list that keeps the `Weak`s of listeners long gone: no type grows (the
/// listeners die), but the weak references to them pile up, each keeping its memory; the
/// check counts them, as objgraph counts `weakref` objects, and names their holder. A list
/// pruned of its dead references, and a `WeakSet`, are clean.
#[test]
fn weak_references_to_dead_objects_that_pile_up_are_a_leak() {
    #[derive(Trace)]
    #[trace(tracked)]
    struct Listener {
        id: u32,
    }
    #[derive(Trace)]
    struct Bus {
        listeners: RefCell<Vec<cyclegc::Weak<Listener>>>,
        set: cyclegc::weak_collections::WeakSet<Listener>,
    }
    let bus = Gc::new(Bus { listeners: RefCell::new(Vec::new()), set: Default::default() });
    let report = LeakCheck::new().sites(false).run(|| {
        let listener = Gc::new(Listener { id: 1 });
        bus.listeners.borrow_mut().push(Gc::downgrade(&listener));
        assert_eq!(listener.id, 1);
    });
    assert!(!report.is_clean());
    assert!(report.growing.is_empty());
    assert_eq!(report.dead_weak.counts, [1, 2, 3, 4]);
    assert_eq!(report.dead_weak.holders, [("Bus".to_owned(), 4)]);
    insta::assert_snapshot!(report.to_string(), @r"
    leak check: 1 warm-up run, 3 measured runs

    no type grew in every measured run

    weak references to dead objects grew in every measured run: +1 +1 +1
    held by: Bus (4)
    a list of weak references that is never pruned: drop each `Weak` once `upgrade()` gives `None`, or keep them in a `WeakSet`, which drops its dead entries
    ");

    let pruned = LeakCheck::new().run(|| {
        let listener = Gc::new(Listener { id: 2 });
        bus.listeners.borrow_mut().push(Gc::downgrade(&listener));
        drop(listener);
        bus.listeners.borrow_mut().retain(|weak| weak.upgrade().is_some());
    });
    assert!(pruned.is_clean(), "{pruned}");
    let in_a_set = LeakCheck::new().run(|| {
        let listener = Gc::new(Listener { id: 3 });
        bus.set.add(&listener);
    });
    assert!(in_a_set.is_clean(), "{in_a_set}");
    // Members that die while the set is left alone wait for its next operation, which
    // removes them: not a leak, however many runs pass without one.
    let members: RefCell<Vec<Gc<Listener>>> = RefCell::new((0..8).map(|id| Gc::new(Listener { id })).collect());
    for member in members.borrow().iter() {
        bus.set.add(member);
    }
    let untouched = LeakCheck::new().run(|| drop(members.borrow_mut().pop()));
    assert!(untouched.is_clean(), "{untouched}");
    assert_eq!(bus.set.len(), 4);
}
