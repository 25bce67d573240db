//! The workflow of a user's own leak tests: tests that run in parallel on threads of one
//! process and compare reports with snapshots.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::{Arc, Barrier};

use cyclegc::gen_gc::{self, CollectionPolicy, DebugFlags, FinalizerPolicy};
use cyclegc::{Gc, Trace};
use objgraph::{LeakCheck, Query};

#[derive(Trace)]
struct Cache {
    items: RefCell<Vec<Gc<Request>>>,
}

#[derive(Trace)]
#[trace(tracked)]
struct Request {
    #[allow(dead_code)]
    id: u32,
}

include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/workflow/outside_package.rs"));

/// A writer the test reads back.
#[derive(Clone, Default)]
struct Lines(Rc<RefCell<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The leak check every thread runs: a named cache that keeps each request.
fn cache_leak_report() -> String {
    let cache = Gc::new(Cache { items: RefCell::new(Vec::new()) });
    objgraph::name_root(&Gc::to_any(&cache), "_cache");
    let report = LeakCheck::new().sites(false).run(|| cache.items.borrow_mut().push(Gc::new(Request { id: 0 })));
    report.to_string()
}

/// Eight threads (as `cargo test` runs tests) each change every setting of the collector and
/// of objgraph, differently, at the same time: each reads back its own settings, and each
/// leak check reports the same text as one run alone on a fresh thread.
#[test]
fn settings_changed_on_one_test_thread_are_not_seen_on_another() {
    let alone = std::thread::spawn(cache_leak_report).join().unwrap();
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let threshold = (i + 1, i + 2, i + 3);
                let debug = if i % 2 == 0 { DebugFlags::STATS } else { DebugFlags::COLLECTABLE };
                let policy = if i % 2 == 0 { FinalizerPolicy::Legacy } else { FinalizerPolicy::Pep442 };
                let collection =
                    if i % 2 == 0 { CollectionPolicy::Generational } else { CollectionPolicy::Incremental };
                let lines = Lines::default();
                gen_gc::set_threshold(threshold.0, threshold.1, threshold.2);
                gen_gc::set_debug_output(Some(Box::new(lines.clone())));
                gen_gc::set_debug(debug);
                gen_gc::set_finalizer_policy(policy);
                gen_gc::set_collection_policy(collection);
                if i % 3 == 0 {
                    gen_gc::disable();
                }
                let calls = Rc::new(RefCell::new(0));
                let counted = Rc::clone(&calls);
                gen_gc::add_callback(move |_, _| *counted.borrow_mut() += 1);
                let kept: Vec<Gc<Request>> = (0..i as u32).map(|id| Gc::new(Request { id })).collect();
                gen_gc::freeze();
                let mut growth = Vec::new();
                objgraph::show_growth(None, &Query::default(), &mut growth).unwrap();
                barrier.wait();

                let report = cache_leak_report();

                assert_eq!(gen_gc::get_threshold(), threshold);
                assert_eq!(gen_gc::get_debug(), debug);
                assert_eq!(gen_gc::get_finalizer_policy(), policy);
                assert_eq!(gen_gc::get_collection_policy(), collection);
                assert_eq!(gen_gc::is_enabled(), i % 3 != 0);
                assert_eq!(gen_gc::get_freeze_count(), kept.len());
                assert_eq!(
                    String::from_utf8(growth).unwrap(),
                    if i == 0 { String::new() } else { format!("Request{:>9} {:>+9}\n", i, i) }
                );
                assert!(*calls.borrow() > 0, "this thread's callback saw this thread's collections");
                let written = String::from_utf8(lines.0.borrow().clone()).unwrap();
                if debug == DebugFlags::STATS {
                    assert!(written.contains("gc: done"), "{written}");
                }
                report
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), alone);
    }
    let fresh = std::thread::spawn(|| {
        (gen_gc::get_threshold(), gen_gc::get_debug(), gen_gc::is_enabled(), gen_gc::get_freeze_count())
    });
    assert_eq!(
        fresh.join().unwrap(),
        ((700, 10, 10), DebugFlags::empty(), true, 0),
        "a new thread starts from the defaults"
    );
}

/// Files of the workspace's packages are written as Cargo gives them, relative to the
/// workspace root, whatever the working directory.
#[cfg(feature = "alloc-site")]
#[test]
fn sites_in_the_workspace_are_relative_to_its_root() {
    let cache = Gc::new(Cache { items: RefCell::new(Vec::new()) });
    let report = LeakCheck::new().run(|| cache.items.borrow_mut().push(Gc::new(Request { id: 0 })));
    let line = line!() - 1;
    assert_eq!(report.groups[0].sites, [(format!("crates/objgraph/tests/test_workflow.rs:{line}:72"), 3)]);
}

/// A package outside the workspace (a path dependency elsewhere, a crates.io or git
/// dependency) is compiled from an absolute path: its sites are written from the package's
/// directory, so that a snapshot does not name the home directory or Cargo's cache.
#[cfg(feature = "alloc-site")]
#[test]
fn sites_outside_the_workspace_are_written_from_their_package_directory() {
    let outside = Gc::alloc_site(&request_from_outside_the_workspace(0)).unwrap();
    assert!(std::path::Path::new(outside.file()).is_absolute(), "{outside}");
    let expected = format!("objgraph/tests/workflow/outside_package.rs:{}:{}", outside.line(), outside.column());

    let cache = Gc::new(Cache { items: RefCell::new(Vec::new()) });
    let report = LeakCheck::new().run(|| cache.items.borrow_mut().push(request_from_outside_the_workspace(0)));
    assert_eq!(report.groups[0].sites, [(expected.clone(), 3)]);
    assert!(report.to_string().contains(&format!("created at {expected} (3)")), "{report}");

    let by_site = objgraph::typestats_by_site(&Query::default());
    assert_eq!(by_site.get(&format!("{expected} Request")), Some(&4), "the warm-up run's request too: {by_site:?}");
}

/// A test thread that sends the collector's debug lines to its own writer: once the thread
/// exits, none of them reaches the process's standard error (where they would land in the
/// middle of another test's output). Checked in a child process, whose stderr is read.
#[test]
fn debug_lines_sent_to_a_writer_stay_out_of_stderr_at_thread_exit() {
    if std::env::var_os("TEST_WORKFLOW_CHILD").is_some() {
        std::thread::spawn(|| {
            gen_gc::set_debug_output(Some(Box::new(Lines::default())));
            gen_gc::set_debug(DebugFlags::STATS | DebugFlags::COLLECTABLE);
            let cache = Gc::new(Cache { items: RefCell::new(vec![Gc::new(Request { id: 1 })]) });
            gen_gc::collect();
            drop(cache);
        })
        .join()
        .unwrap();
        return;
    }
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "debug_lines_sent_to_a_writer_stay_out_of_stderr_at_thread_exit", "--nocapture", "-q"])
        .env("TEST_WORKFLOW_CHILD", "1")
        .output()
        .unwrap();
    assert!(child.status.success());
    let stderr = String::from_utf8(child.stderr).unwrap();
    assert!(!stderr.contains("gc:"), "{stderr}");
}

/// A scenario that keeps what it makes in a local of the test: the report's chain is the
/// type alone, and the line under it says where such objects are held.
#[test]
fn a_scenario_keeping_its_objects_in_a_local_is_told_where_they_are_held() {
    let mut kept = Vec::new();
    let report = LeakCheck::new().sites(false).run(|| kept.push(Gc::new(Request { id: 0 })));
    let bytes = 3 * cyclegc::TypeInfo::of::<Request>().object_size();
    assert_eq!(
        report.to_string(),
        format!(
            "\
leak check: 1 warm-up run, 3 measured runs

grew in every measured run (objects gained per run):
  Request  +1 +1 +1

leaked: 3 objects in 1 group, retaining {bytes} bytes
  3 Request, retaining {bytes} bytes
    Request
    (held from outside the heap: by a variable, a static, or an owner no Trace visits (a skipped field, a shared Rc, a borrowed RefCell))
"
        )
    );
}

/// A test that turned `DEBUG_SAVEALL` on and checks for leaks: every cycle its scenario
/// drops is kept in `gc.garbage`, and the report says why they are there.
#[test]
fn a_leak_check_under_debug_saveall_says_why_gc_garbage_keeps_its_cycles() {
    #[derive(Trace)]
    struct Pair {
        other: RefCell<Option<Gc<Pair>>>,
    }
    gen_gc::set_debug(DebugFlags::SAVEALL);
    let report = LeakCheck::new().sites(false).run(|| {
        let pair = Gc::new(Pair { other: RefCell::new(None) });
        *pair.other.borrow_mut() = Some(pair.clone());
    });
    drop(gen_gc::take_garbage());
    gen_gc::set_debug(DebugFlags::empty());
    let text = report.to_string();
    assert!(
        text.contains(
            "    gc.garbage -> Pair\n    (kept in gc.garbage: everything a collection finds under DEBUG_SAVEALL, \
             cycles with a finalizer under the legacy policy; gen_gc::take_garbage() empties it)\n"
        ),
        "{text}"
    );
}

/// A test that turns on `DEBUG_STATS` without a writer of its own: its lines go to stderr the
/// way `eprintln!` does, so the test harness captures them with the test's output (shown when
/// it fails) instead of letting them land among other tests' results. Checked in a child
/// process, run once with capture and once without.
#[test]
fn debug_lines_to_stderr_are_captured_with_their_test() {
    if std::env::var_os("TEST_WORKFLOW_CHILD").is_some() {
        gen_gc::set_debug(DebugFlags::STATS);
        gen_gc::collect();
        gen_gc::set_debug(DebugFlags::empty());
        return;
    }
    let run = |capture: bool| {
        let mut args = vec!["--exact", "debug_lines_to_stderr_are_captured_with_their_test", "-q"];
        if !capture {
            args.push("--nocapture");
        }
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(args)
            .env("TEST_WORKFLOW_CHILD", "1")
            .output()
            .unwrap();
        assert!(child.status.success());
        String::from_utf8(child.stdout).unwrap() + &String::from_utf8(child.stderr).unwrap()
    };
    let captured = run(true);
    assert!(!captured.contains("gc: done"), "{captured}");
    let shown = run(false);
    assert!(shown.contains("gc: done"), "{shown}");
}
