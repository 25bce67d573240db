//! A widget whose click handler captures the widget, as an application writes it, and what
//! a leak check sees of each way to store that handler: a boxed closure in a skipped field
//! hides the cycle from the collector (a leak) and, unless the type is marked
//! `#[trace(tracked)]`, hides the widget from objgraph too; a `Closure` is traced, so the
//! cycle is collected and nothing leaks. Then the graph writer's errors in an xtask that
//! returns `io::Result`.

use std::cell::RefCell;
use std::io;

use cyclegc::objgraph::{self, GraphOptions, LeakCheck, RenderError};
use cyclegc::{Callable, Closure, Gc, Trace, TypeInfo, coerce_gc};

/// A handler as a plain boxed closure: its captures are invisible to the heap.
#[derive(Trace)]
struct UntrackedButton {
    label: String,
    #[trace(skip)]
    on_click: RefCell<Vec<Box<dyn Fn() -> String>>>,
}

/// The same, marked so that objgraph counts it although no traced field can hold a `Gc`.
#[derive(Trace)]
#[trace(tracked)]
struct TrackedButton {
    label: String,
    #[trace(skip)]
    on_click: RefCell<Vec<Box<dyn Fn() -> String>>>,
}

/// A handler as a `Closure`: its captures are edges the collector follows.
#[derive(Trace)]
struct ClosureButton {
    label: String,
    on_click: RefCell<Vec<Gc<dyn Callable<(), String>>>>,
}

fn untracked_button() {
    let button = Gc::new(UntrackedButton { label: "OK".into(), on_click: RefCell::new(Vec::new()) });
    let captured = button.clone();
    button.on_click.borrow_mut().push(Box::new(move || captured.label.clone()));
}

fn tracked_button() {
    let button = Gc::new(TrackedButton { label: "OK".into(), on_click: RefCell::new(Vec::new()) });
    let captured = button.clone();
    button.on_click.borrow_mut().push(Box::new(move || captured.label.clone()));
}

fn closure_button() {
    let button = Gc::new(ClosureButton { label: "OK".into(), on_click: RefCell::new(Vec::new()) });
    let handler = Closure::new(button.clone(), |button: &Gc<ClosureButton>, ()| button.label.clone());
    button.on_click.borrow_mut().push(coerce_gc!(Gc::new(handler)));
    assert_eq!(button.on_click.borrow()[0].call(()), "OK");
}

#[test]
fn a_type_whose_only_gc_holder_is_skipped_is_a_leaf_that_a_leak_check_cannot_count() {
    let probe = Gc::new(UntrackedButton { label: "probe".into(), on_click: RefCell::new(Vec::new()) });
    assert!(!Gc::is_tracked(&probe));
    let report = LeakCheck::new().run(untracked_button);
    insta::assert_snapshot!(report, @r"
    leak check: 1 warm-up run, 3 measured runs

    no type grew in every measured run: no leak
    ");
}

#[test]
fn a_tracked_type_held_by_its_own_skipped_closure_leaks_with_a_chain_of_itself() {
    let report = LeakCheck::new().sites(false).run(tracked_button);
    assert_eq!(report.groups[0].chain(), "TrackedButton");
    let bytes = 3 * TypeInfo::of::<TrackedButton>().object_size();
    assert_eq!(
        report.to_string(),
        format!(
            "\
leak check: 1 warm-up run, 3 measured runs

grew in every measured run (objects gained per run):
  TrackedButton  +1 +1 +1

leaked: 3 objects in 1 group, retaining {bytes} bytes
  3 TrackedButton, retaining {bytes} bytes
    TrackedButton
    (held from outside the heap: by a variable, a static, or an owner no Trace visits (a skipped field, a shared Rc, a borrowed RefCell))
"
        )
    );
}

#[test]
fn a_handler_that_is_a_closure_makes_a_cycle_the_collector_frees() {
    let report = LeakCheck::new().run(closure_button);
    insta::assert_snapshot!(report, @r"
    leak check: 1 warm-up run, 3 measured runs

    no type grew in every measured run: no leak
    ");
}

/// An xtask's report writer returns `io::Result`, as `Report::write_to` does; saving a graph
/// on its own goes through the same `?`.
fn write_graphs(dir: &std::path::Path, extension: &str) -> io::Result<()> {
    let button = Gc::new(ClosureButton { label: "OK".into(), on_click: RefCell::new(Vec::new()) });
    let graph = objgraph::show_refs(&[Gc::to_any(&button)], &GraphOptions::default());
    graph.save(dir.join(format!("button.{extension}")))?;
    Ok(())
}

#[test]
fn saving_a_graph_in_a_function_returning_io_result_uses_the_question_mark() {
    let dir = std::env::temp_dir().join(format!("cyclegc-callback-leaks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write_graphs(&dir, "dot").unwrap();
    assert!(std::fs::read_to_string(dir.join("button.dot")).unwrap().starts_with("digraph ObjectGraph {"));
    let missing = write_graphs(&dir.join("no such directory"), "svg").unwrap_err();
    assert_eq!(missing.kind(), io::ErrorKind::NotFound, "an I/O failure stays itself");
    std::fs::remove_dir_all(&dir).unwrap();

    let no_graphviz = io::Error::from(RenderError::GraphvizNotFound);
    assert_eq!(no_graphviz.kind(), io::ErrorKind::Other);
    assert_eq!(no_graphviz.to_string(), RenderError::GraphvizNotFound.to_string());
}
