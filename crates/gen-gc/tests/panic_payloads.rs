//! User code that panics during a collection with a payload whose own `Drop` panics too: the
//! collector reports the first panic, drops the payload without letting the second one loose
//! (it is leaked), and finishes the collection as it does for any other panic. Nothing is left
//! linked to a list that is gone, and the garbage is freed.

#![allow(unsafe_code, reason = "a Trace impl that panics on purpose")]

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use cyclegc::{Finalize, Gc, GcAny, Trace, Visitor};

/// A panic payload that panics when it is dropped (unless a panic is already unwinding).
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("the panic payload's Drop panicked");
        }
    }
}

fn throw_bomb() -> ! {
    std::panic::panic_any(Bomb)
}

thread_local! {
    /// The `Trace` call of a `Fused` that panics: the first is 1, none while 0.
    static FUSE: Cell<usize> = const { Cell::new(0) };
}

/// A value whose `Trace` panics with a [`Bomb`] at the call the fuse counts down to.
struct Fused {
    kids: RefCell<Vec<GcAny>>,
}

// SAFETY: reports every handle it owns, each time it does not panic.
unsafe impl Trace for Fused {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        let fire = FUSE.with(|fuse| {
            let left = fuse.get();
            if left > 0 {
                fuse.set(left - 1);
            }
            left == 1
        });
        if fire {
            throw_bomb();
        }
        self.kids.trace(visitor);
    }
}

#[derive(Trace)]
struct Plain {
    kids: RefCell<Vec<GcAny>>,
}

fn plain() -> Gc<Plain> {
    Gc::new(Plain { kids: RefCell::new(Vec::new()) })
}

/// A garbage cycle of two plain objects; returns a weak reference to one of them.
fn garbage_pair() -> cyclegc::Weak<Plain> {
    let (a, b) = (plain(), plain());
    a.kids.borrow_mut().push(Gc::to_any(&b));
    b.kids.borrow_mut().push(Gc::to_any(&a));
    Gc::downgrade(&a)
}

/// Runs `f` on a thread of its own, with a heap of its own.
fn on_own_thread(f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(f).join().expect("the scenario's thread ends without a panic");
}

#[test]
fn a_trace_panicking_with_a_bomb_at_any_call_of_a_collection_leaves_the_heap_whole() {
    let calls = if cfg!(miri) { 4 } else { 10 };
    for nth in 1..=calls {
        for generation in [2, 1, 0] {
            on_own_thread(move || {
                gen_gc::disable();
                let ring: Vec<Gc<Plain>> = (0..4).map(|_| plain()).collect();
                for (i, node) in ring.iter().enumerate() {
                    node.kids.borrow_mut().push(Gc::to_any(&ring[(i + 1) % 4]));
                }
                let fused = Gc::new(Fused { kids: RefCell::new(vec![Gc::to_any(&ring[0])]) });
                gen_gc::collect();
                let garbage = garbage_pair();
                let before = gen_gc::get_objects(None).len();
                FUSE.with(|fuse| fuse.set(nth));
                let outcome = catch_unwind(AssertUnwindSafe(|| gen_gc::collect_generation(generation)));
                FUSE.with(|fuse| fuse.set(0));
                assert!(outcome.is_ok(), "call {nth}, generation {generation}: the collection returned");
                // Every live object is still listed; the garbage may or may not be gone.
                let after = gen_gc::get_objects(None).len();
                assert!(after == before || after == before - 2, "call {nth}: {before} objects, then {after}");
                gen_gc::collect();
                assert!(garbage.is_dead(), "call {nth}, generation {generation}: a later collection frees the garbage");
                assert_eq!(gen_gc::get_objects(None).len(), 5, "the ring and the fused object stay listed");
                drop(fused);
                drop(ring);
                gen_gc::collect();
                assert_eq!(gen_gc::get_objects(None).len(), 0, "call {nth}: everything is freed in the end");
            });
        }
    }
}

/// An object of a garbage pair whose finalizer, `Drop` or neither panics with a [`Bomb`].
#[derive(Trace)]
#[trace(finalize)]
struct Armed {
    next: RefCell<Option<Gc<Armed>>>,
    #[trace(skip)]
    finalizer_panics: bool,
    #[trace(skip)]
    drop_panics: bool,
    #[trace(skip)]
    drops: Rc<Cell<usize>>,
}

impl Finalize for Armed {
    fn finalize(&self) {
        if self.finalizer_panics {
            throw_bomb();
        }
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
        if self.drop_panics {
            throw_bomb();
        }
    }
}

/// A garbage pair, one of whose objects panics in its finalizer or its `Drop`; collects it and
/// checks that both objects are dropped and the heap works on.
fn armed_pair_is_collected(finalizer_panics: bool, drop_panics: bool, with_weak_callback: bool) {
    on_own_thread(move || {
        gen_gc::disable();
        let drops = Rc::new(Cell::new(0));
        let armed = |finalizer_panics, drop_panics| {
            Gc::new(Armed { next: RefCell::new(None), finalizer_panics, drop_panics, drops: drops.clone() })
        };
        let a = armed(finalizer_panics, drop_panics);
        let b = armed(false, false);
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a.clone());
        let callback_ran = Rc::new(Cell::new(false));
        let weak = with_weak_callback.then(|| {
            let ran = callback_ran.clone();
            Gc::downgrade_with_callback(&a, move |_| {
                ran.set(true);
                throw_bomb();
            })
        });
        drop((a, b));
        let outcome = catch_unwind(gen_gc::collect);
        assert!(outcome.is_ok(), "the collection returned");
        assert_eq!(drops.get(), 2, "both objects of the pair were dropped");
        assert_eq!(callback_ran.get(), with_weak_callback);
        assert!(weak.as_ref().is_none_or(|weak| weak.is_dead()));
        let later = garbage_pair();
        gen_gc::collect();
        assert!(later.is_dead(), "the next collection frees garbage as usual");
        assert_eq!(gen_gc::get_objects(None).len(), 0);
    });
}

#[test]
fn a_finalizer_panicking_with_a_bomb_is_reported_and_its_garbage_freed() {
    armed_pair_is_collected(true, false, false);
}

#[test]
fn a_drop_panicking_with_a_bomb_is_reported_and_the_rest_of_the_garbage_dropped() {
    armed_pair_is_collected(false, true, false);
}

#[test]
fn a_weak_callback_panicking_with_a_bomb_is_reported_and_its_garbage_freed() {
    armed_pair_is_collected(false, false, true);
}

#[test]
fn a_collection_callback_panicking_with_a_bomb_does_not_stop_collections() {
    on_own_thread(|| {
        gen_gc::disable();
        gen_gc::add_callback(|_, _| throw_bomb());
        for _ in 0..2 {
            let garbage = garbage_pair();
            let outcome = catch_unwind(gen_gc::collect);
            assert!(matches!(outcome, Ok(2)), "the collection ran and freed the pair");
            assert!(garbage.is_dead());
        }
    });
}
