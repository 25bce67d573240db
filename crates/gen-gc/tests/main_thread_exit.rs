//! The main thread's exit frees its garbage too, also a cycle that a thread-local first used
//! before the heap releases only from its destructor (the C library calls no key destructor
//! for the main thread; the heap's `atexit` handler runs the last pass there). CPython
//! collects at shutdown, so a finalizer there runs, as does the `Drop` of the cycle's values.
//!
//! The test runs its own executable again as the child whose `main` returns: the parent
//! checks what the child printed.

use std::cell::RefCell;
use std::process::Command;

use cyclegc::{Finalize, Gc, Trace};

#[derive(Trace)]
#[trace(finalize)]
struct Node {
    name: &'static str,
    next: RefCell<Option<Gc<Node>>>,
}

impl Finalize for Node {
    fn finalize(&self) {
        println!("finalized {}", self.name);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        println!("dropped {}", self.name);
    }
}

thread_local! {
    static CACHE: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
}

/// The child: a ring held by a thread-local used before the first object, so that the
/// thread-local is destroyed after the heap's first exit pass.
fn child() {
    CACHE.with(|_| ());
    let a = Gc::new(Node { name: "a", next: RefCell::new(None) });
    let b = Gc::new(Node { name: "b", next: RefCell::new(Some(a.clone())) });
    *a.next.borrow_mut() = Some(b);
    CACHE.with(|cache| cache.borrow_mut().push(a));
    // A cycle that is garbage already when `main` returns: the first pass frees it.
    let c = Gc::new(Node { name: "c", next: RefCell::new(None) });
    *c.next.borrow_mut() = Some(c.clone());
    drop(c);
    gen_gc::disable();
    println!("main returns");
}

fn main() {
    if std::env::var_os("CYCLEGC_MAIN_THREAD_EXIT_CHILD").is_some() {
        return child();
    }
    if cfg!(miri) {
        println!("main_thread_exit: skipped (Miri runs no child process, and the last pass uses atexit)");
        return;
    }
    if !cfg!(any(target_os = "linux", target_vendor = "apple")) {
        println!("main_thread_exit: skipped (the main thread's last pass is for Linux and Apple targets)");
        return;
    }
    let output = Command::new(std::env::current_exe().expect("the test's own executable"))
        .env("CYCLEGC_MAIN_THREAD_EXIT_CHILD", "1")
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the child failed: {stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let returned = lines.iter().position(|line| *line == "main returns").expect("the child's main returned");
    for name in ["a", "b", "c"] {
        let finalized = lines.iter().position(|line| *line == format!("finalized {name}"));
        let dropped = lines.iter().position(|line| *line == format!("dropped {name}"));
        let (Some(finalized), Some(dropped)) = (finalized, dropped) else {
            panic!("{name} was not finalized and dropped at exit:\n{stdout}\n{stderr}");
        };
        assert!(finalized < dropped, "{name}'s finalizer runs before its drop:\n{stdout}");
        if name != "c" {
            assert!(returned < finalized, "the thread-local's ring is freed after main returns:\n{stdout}");
        }
    }
    assert!(stderr.is_empty(), "nothing on standard error: {stderr}");
    println!("main_thread_exit: ok");
}
