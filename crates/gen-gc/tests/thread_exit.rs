//! A thread's garbage dies with it: the heap's exit passes collect what the thread left,
//! whatever order its thread-locals are destroyed in, with user code at exit (finalizers,
//! `Drop`, weak callbacks) allocating, collecting and panicking.
//!
//! Every test runs its scenario on a thread of its own and looks at shared counters after
//! joining it. Under Miri (which checks for leaks at the end) and valgrind these tests are the
//! leak check: nothing they allocate may outlive its thread.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use cyclegc::weak_collections::{WeakSet, WeakValueDictionary, finalize};
use cyclegc::{Finalize, Gc, Trace, Weak};

/// Counts drops and finalizer calls of the objects one test makes.
#[derive(Default)]
struct Counters {
    dropped: AtomicUsize,
    finalized: AtomicUsize,
}

impl Counters {
    fn new() -> Arc<Self> {
        Arc::default()
    }
    fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
    fn finalized(&self) -> usize {
        self.finalized.load(Ordering::SeqCst)
    }
}

/// A node that can point at others; counts its drop.
#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
    #[trace(skip)]
    counters: Arc<Counters>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.counters.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn node(counters: &Arc<Counters>) -> Gc<Node> {
    Gc::new(Node { next: RefCell::new(None), counters: counters.clone() })
}

/// Two nodes pointing at each other; returns one of them.
fn two_cycle(counters: &Arc<Counters>) -> Gc<Node> {
    let a = node(counters);
    let b = node(counters);
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    a
}

/// A self-cycle with a finalizer, which runs `on_finalize` once.
#[derive(Trace)]
#[trace(finalize)]
struct Finalized {
    me: RefCell<Option<Gc<Finalized>>>,
    #[trace(skip)]
    counters: Arc<Counters>,
    #[trace(skip)]
    on_finalize: fn(&Finalized),
}

impl Finalize for Finalized {
    fn finalize(&self) {
        self.counters.finalized.fetch_add(1, Ordering::SeqCst);
        (self.on_finalize)(self);
    }
}

impl Drop for Finalized {
    fn drop(&mut self) {
        self.counters.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn finalized_cycle(counters: &Arc<Counters>, on_finalize: fn(&Finalized)) -> Gc<Finalized> {
    let object = Gc::new(Finalized { me: RefCell::new(None), counters: counters.clone(), on_finalize });
    *object.me.borrow_mut() = Some(object.clone());
    object
}

fn run_on_thread(scenario: impl FnOnce() + Send + 'static) {
    thread::spawn(scenario).join().expect("the scenario's thread panicked");
}

#[path = "common/scale.rs"]
mod scale;
use scale::scaled;

/// Whether this run checks for leaks itself (Miri, or valgrind with `CYCLEGC_TEST_SCALE`),
/// so that tests which leak on purpose must not run.
fn leak_checked_run() -> bool {
    cfg!(miri) || std::env::var_os("CYCLEGC_TEST_SCALE").is_some()
}

#[test]
fn garbage_cycles_are_freed_when_their_thread_exits() {
    let counters = Counters::new();
    let cycles = scaled(10_000);
    let c = counters.clone();
    run_on_thread(move || {
        gen_gc::disable();
        for _ in 0..cycles {
            drop(two_cycle(&c));
        }
        assert_eq!(c.dropped(), 0, "reference counting alone frees no cycle");
    });
    assert_eq!(counters.dropped(), 2 * cycles);
}

#[test]
fn finalizers_and_weak_callbacks_run_once_at_exit() {
    let counters = Counters::new();
    let callbacks = Arc::new(AtomicUsize::new(0));
    let (c, calls) = (counters.clone(), callbacks.clone());
    run_on_thread(move || {
        // First used before the heap, so destroyed after its first exit pass: a weak
        // reference's callback runs only while the reference itself is alive.
        WATCH.with(|_| ());
        gen_gc::disable();
        let object = finalized_cycle(&c, |_| {});
        let calls = calls.clone();
        let watch = Gc::downgrade_with_callback(&object, move |_| {
            calls.fetch_add(1, Ordering::SeqCst);
        });
        drop(object);
        // The weak handle outlives the scenario: a thread-local keeps it.
        WATCH.with(|slot| *slot.borrow_mut() = Some(watch));
    });
    assert_eq!(counters.finalized(), 1);
    assert_eq!(counters.dropped(), 1);
    assert_eq!(callbacks.load(Ordering::SeqCst), 1);
}

thread_local! {
    static WATCH: RefCell<Option<Weak<Finalized>>> = const { RefCell::new(None) };
}

#[test]
fn weak_containers_empty_and_finalize_callbacks_run_at_exit() {
    let counters = Counters::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (c, s) = (counters.clone(), seen.clone());
    run_on_thread(move || {
        gen_gc::disable();
        let cache: Rc<WeakValueDictionary<u32, Node>> = Rc::new(WeakValueDictionary::new());
        let observers: Rc<WeakSet<Node>> = Rc::new(WeakSet::new());
        for key in 0..4 {
            let object = two_cycle(&c);
            cache.insert(key, &object);
            observers.add(&object);
        }
        let garbage = two_cycle(&c);
        let s1 = s.clone();
        let (cache2, observers2) = (cache.clone(), observers.clone());
        // Runs when `garbage` is collected at exit: by then the others are gone too, and
        // the containers have forgotten them.
        finalize(&garbage, move || {
            s1.lock().unwrap().push(format!("collected: cache {} observers {}", cache2.len(), observers2.len()))
        });
        let alive = node(&c);
        let s2 = s.clone();
        // Runs at exit as an `atexit` finalizer, its object still alive then.
        let keep = finalize(&alive, move || s2.lock().unwrap().push("atexit".to_owned()));
        drop(garbage);
        KEEP_ALIVE.with(|slot| *slot.borrow_mut() = Some((alive, keep.alive())));
    });
    let seen = seen.lock().unwrap().clone();
    assert!(seen.contains(&"atexit".to_owned()), "{seen:?}");
    assert!(seen.iter().any(|line| line.starts_with("collected")), "{seen:?}");
    assert_eq!(counters.dropped(), 4 * 2 + 2 + 1);
}

use std::rc::Rc;

thread_local! {
    static KEEP_ALIVE: RefCell<Option<(Gc<Node>, bool)>> = const { RefCell::new(None) };
}

/// A thread-local whose destructor drops a handle to a cycle: whether it runs before or
/// after the heap's first exit pass depends on when it was first used.
struct Holder(RefCell<Option<Gc<Node>>>);

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.0.borrow_mut().take());
    }
}

thread_local! {
    static HELD_EARLY: Holder = const { Holder(RefCell::new(None)) };
    static HELD_LATE: Holder = const { Holder(RefCell::new(None)) };
    static MAKES_GARBAGE: GarbageMaker = const { GarbageMaker(RefCell::new(None)) };
}

/// A thread-local whose destructor makes a new garbage cycle.
struct GarbageMaker(RefCell<Option<Arc<Counters>>>);

impl Drop for GarbageMaker {
    fn drop(&mut self) {
        if let Some(counters) = self.0.borrow_mut().take() {
            drop(two_cycle(&counters));
        }
    }
}

#[test]
fn cycles_released_by_thread_local_destructors_are_freed_in_any_order() {
    let counters = Counters::new();
    let c = counters.clone();
    run_on_thread(move || {
        gen_gc::disable();
        // First used before the heap: destroyed after the heap's first exit pass (Rust runs
        // thread-local destructors in reverse order of first use).
        HELD_EARLY.with(|_| ());
        MAKES_GARBAGE.with(|maker| *maker.0.borrow_mut() = Some(c.clone()));
        let early = two_cycle(&c);
        HELD_EARLY.with(|holder| *holder.0.borrow_mut() = Some(early));
        // First used after the heap: destroyed before its first pass.
        let late = two_cycle(&c);
        HELD_LATE.with(|holder| *holder.0.borrow_mut() = Some(late));
    });
    assert_eq!(counters.dropped(), 3 * 2);
}

thread_local! {
    static FIRST_USED_AT_EXIT: Holder = const { Holder(RefCell::new(None)) };
}

#[test]
fn a_thread_local_first_used_by_a_finalizer_at_exit_is_freed_too() {
    let counters = Counters::new();
    let c = counters.clone();
    run_on_thread(move || {
        gen_gc::disable();
        // The finalizer runs in the exit collection, during thread-local destruction: the
        // thread-local it first uses then is destroyed after that pass.
        drop(finalized_cycle(&c, |object| {
            let cycle = two_cycle(&object.counters);
            FIRST_USED_AT_EXIT.with(|holder| *holder.0.borrow_mut() = Some(cycle));
        }));
    });
    assert_eq!(counters.finalized(), 1);
    assert_eq!(counters.dropped(), 1 + 2);
}

#[test]
fn user_code_at_exit_may_allocate_collect_and_panic() {
    let counters = Counters::new();
    let c = counters.clone();
    run_on_thread(move || {
        gen_gc::disable();
        for _ in 0..3 {
            drop(finalized_cycle(&c, |object| {
                // Allocates a new cycle and collects from inside the exit collection.
                drop(two_cycle(&object.counters));
                gen_gc::collect();
            }));
        }
        drop(finalized_cycle(&c, |_| panic!("a finalizer panics at thread exit")));
        drop(two_cycle(&c));
    });
    assert_eq!(counters.finalized(), 4);
    // Four finalized objects, three cycles made by the finalizers, the last cycle.
    assert_eq!(counters.dropped(), 4 + 3 * 2 + 2);
}

thread_local! {
    static GONE_FIRST: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

#[test]
fn a_thread_that_panics_leaves_nothing_and_drops_may_touch_destroyed_thread_locals() {
    let counters = Counters::new();
    let c = counters.clone();
    let outcome = thread::spawn(move || {
        gen_gc::disable();
        drop(two_cycle(&c));
        // First used after the heap: destroyed before the exit collection, whose finalizer
        // then touches it (a panic, caught and reported).
        GONE_FIRST.with(|bytes| bytes.borrow_mut().push(1));
        drop(finalized_cycle(&c, |_| GONE_FIRST.with(|bytes| bytes.borrow_mut().push(2))));
        panic!("the scenario panics");
    })
    .join();
    assert!(outcome.is_err());
    assert_eq!(counters.finalized(), 1);
    assert_eq!(counters.dropped(), 3);
}

#[test]
fn finalizers_that_keep_making_garbage_stop_at_a_bound() {
    // Each finalizer makes a new finalized cycle, a fixed number of times in all: the exit
    // passes run round after round until the last one is freed.
    static GENERATIONS: AtomicUsize = AtomicUsize::new(0);
    const MAKE: usize = 40;
    let counters = Counters::new();
    let c = counters.clone();
    fn again(object: &Finalized) {
        if GENERATIONS.fetch_add(1, Ordering::SeqCst) < MAKE {
            drop(finalized_cycle(&object.counters, again));
        }
    }
    run_on_thread(move || {
        gen_gc::disable();
        drop(finalized_cycle(&c, again));
    });
    assert_eq!(counters.finalized(), MAKE + 1);
    assert_eq!(counters.dropped(), MAKE + 1);
}

#[test]
fn finalizers_that_make_garbage_forever_do_not_hang_the_exit() {
    if leak_checked_run() {
        eprintln!("skipped: what the last round leaves is leaked on purpose, which Miri and valgrind report");
        return;
    }
    fn forever(object: &Finalized) {
        drop(finalized_cycle(&object.counters, forever));
    }
    let counters = Counters::new();
    let c = counters.clone();
    let before = gen_gc::left_at_thread_exit();
    run_on_thread(move || {
        gen_gc::disable();
        drop(finalized_cycle(&c, forever));
    });
    // Every exit pass runs a bounded number of rounds; the object made by the last
    // finalizer is what is left.
    assert!(counters.finalized() >= gen_gc::MAX_EXIT_ROUNDS);
    assert_eq!(counters.dropped(), counters.finalized());
    assert!(gen_gc::left_at_thread_exit() > before);
}

#[test]
fn legacy_garbage_is_reported_and_freed_at_exit() {
    let counters = Counters::new();
    let output = Arc::new(Mutex::new(String::new()));
    let (c, out) = (counters.clone(), output.clone());
    run_on_thread(move || {
        gen_gc::disable();
        gen_gc::set_finalizer_policy(gen_gc::FinalizerPolicy::Legacy);
        gen_gc::set_debug_output(Some(Box::new(SharedWriter(out))));
        // Uncollectable under the legacy policy, found by a collection while the thread runs.
        drop(finalized_cycle(&c, |_| {}));
        assert_eq!(gen_gc::collect(), 1);
        assert_eq!(gen_gc::garbage().len(), 1);
        // Found by the exit collection itself.
        drop(finalized_cycle(&c, |_| {}));
    });
    let output = output.lock().unwrap().clone();
    assert!(output.contains("gc: 2 uncollectable objects at thread exit; use gen_gc::set_debug"), "{output}");
    assert_eq!(counters.finalized(), 2);
    assert_eq!(counters.dropped(), 2);
}

/// CPython's `test_garbage_at_shutdown`, `DEBUG_UNCOLLECTABLE` part: the warning lists the
/// objects.
#[test]
fn legacy_garbage_is_listed_at_exit_under_debug_uncollectable() {
    let counters = Counters::new();
    let output = Arc::new(Mutex::new(String::new()));
    let (c, out) = (counters.clone(), output.clone());
    run_on_thread(move || {
        gen_gc::disable();
        gen_gc::set_finalizer_policy(gen_gc::FinalizerPolicy::Legacy);
        gen_gc::set_debug(gen_gc::DEBUG_UNCOLLECTABLE);
        gen_gc::set_debug_output(Some(Box::new(SharedWriter(out))));
        drop(finalized_cycle(&c, |_| {}));
        assert_eq!(gen_gc::collect(), 1);
    });
    let output = output.lock().unwrap().clone();
    assert!(output.contains("gc: 1 uncollectable objects at thread exit\n      [<"), "{output}");
    assert_eq!(counters.dropped(), 1);
}

/// CPython's `test_garbage_at_shutdown`, `DEBUG_SAVEALL` part: no warning, since the saved
/// garbage holds every cycle the collector freed, as the flag asked.
#[test]
fn saved_garbage_is_freed_at_exit_without_a_warning() {
    let counters = Counters::new();
    let output = Arc::new(Mutex::new(String::new()));
    let (c, out) = (counters.clone(), output.clone());
    run_on_thread(move || {
        gen_gc::disable();
        gen_gc::set_debug(gen_gc::DEBUG_SAVEALL | gen_gc::DEBUG_UNCOLLECTABLE);
        gen_gc::set_debug_output(Some(Box::new(SharedWriter(out))));
        drop(two_cycle(&c));
        assert_eq!(gen_gc::collect(), 2);
        assert_eq!(c.dropped(), 0, "DEBUG_SAVEALL keeps what it finds");
    });
    let output = output.lock().unwrap().clone();
    assert!(!output.contains("uncollectable objects at thread exit"), "{output}");
    assert_eq!(counters.dropped(), 2);
}

#[test]
fn frozen_objects_and_callbacks_do_not_outlive_their_thread() {
    let counters = Counters::new();
    let called = Arc::new(AtomicUsize::new(0));
    let (c, calls) = (counters.clone(), called.clone());
    run_on_thread(move || {
        gen_gc::disable();
        drop(two_cycle(&c));
        gen_gc::freeze();
        assert_eq!(gen_gc::get_freeze_count(), 2);
        // A callback holding a cycle: dropped at exit, never called then.
        let held = two_cycle(&c);
        gen_gc::add_callback(move |_, _| {
            let _ = &held;
            calls.fetch_add(1, Ordering::SeqCst);
        });
    });
    assert_eq!(called.load(Ordering::SeqCst), 0);
    assert_eq!(counters.dropped(), 4);
}

#[test]
fn a_collection_callback_a_finalizer_registers_at_exit_is_never_called() {
    static CALLED: AtomicUsize = AtomicUsize::new(0);
    let counters = Counters::new();
    let c = counters.clone();
    run_on_thread(move || {
        gen_gc::disable();
        // Its finalizer, run by the exit collection, registers a callback; the loop of exit
        // collections that follows calls none.
        drop(finalized_cycle(&c, |_| {
            gen_gc::add_callback(|_, _| {
                CALLED.fetch_add(1, Ordering::SeqCst);
            });
            // More garbage, so that another exit collection runs.
            drop(two_cycle(&Counters::new()));
        }));
    });
    assert_eq!(counters.finalized(), 1);
    assert_eq!(CALLED.load(Ordering::SeqCst), 0);
}

#[test]
fn what_a_forgotten_handle_holds_is_counted_as_left() {
    if leak_checked_run() {
        eprintln!("skipped: this test leaks on purpose, which Miri and valgrind would report");
        return;
    }
    let counters = Counters::new();
    let c = counters.clone();
    let before = gen_gc::left_at_thread_exit();
    run_on_thread(move || {
        gen_gc::disable();
        std::mem::forget(two_cycle(&c));
    });
    assert_eq!(counters.dropped(), 0);
    // Other tests' threads run meanwhile, but leave nothing.
    assert!(gen_gc::left_at_thread_exit() >= before + 2);
}

/// A debug writer that keeps what it is given in a string another thread can read.
struct SharedWriter(Arc<Mutex<String>>);

impl std::io::Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().push_str(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
