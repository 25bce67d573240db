//! Ports of the peer collectors' tests that `test_peers.rs` and `test_peers_more.rs` leave
//! out: all of Manishearth's rust-gc (`gc/tests/*.rs`, `gc/src/test.rs`), bacon-rajan-cc's
//! `Rc`-derived tests in `src/lib.rs`, rust-cc's `tests/cc.rs`, `tests/auto_collect.rs`,
//! `src/tests/cc.rs` and `src/tests/weak/mod.rs` cases, and dumpster's remaining
//! `unsync/tests.rs` cases. Each test names the peer test it comes from in a comment.
//!
//! rust-gc frees nothing until a collection; here an object with no cycle dies as soon as its
//! last handle drops, so the ports check both that a collection frees nothing live and that
//! what dies is finalized and dropped exactly once.
//!
//! Not ported, and why:
//! - rust-gc's root/unroot counters (`gc_semantics.rs` flags, `gccell_rooting`): rooting is
//!   its design; what they imply (a live object is kept and traced, a value borrowed mutably
//!   during a collection is kept) is checked. `cgc_semantics.rs`: a concurrent collector.
//!   `serde.rs`, `empty_trace.rs` (`EmptyTrace`), `compile-fail/`: features we do not have.
//!   `gc_self_method.rs`, `unsized.rs` `gc_box_dyn_foo`, `from_box.rs` `test_from_box_dyn`,
//!   `finalize.rs` `X(Box<dyn Trace>)`: `Box<dyn Trace>`; our `Trace` is not object-safe
//!   (`Gc<dyn Trait>` through `coerce_gc!` is the form, ported as such). `WeakGc::new` (a weak
//!   reference made with its own object): ours are made from a handle.
//! - rust-cc's `counter_marker.rs`, `lists.rs`, `buffered_objects_count_test`,
//!   `test_buffered_threshold_auto_collect`, `macro_tests`, `make_sure_droppable_is_finalizable`:
//!   its internals (counters, buffers, lists) or compile-time checks. `rc_test`: commented out
//!   there. `finalization_try_unwrap_test`: rust-cc refuses `try_unwrap` in any finalizer;
//!   here a finalizer may take what only it owns, as a `__del__` may (checked as ours).
//! - dumpster's `new_cyclic_one`: its `new_cyclic` lends a strong handle; ours lends a `Weak`
//!   (checked with a weak self-reference). Its `sync` tests: `Gc` is `!Send`.

#![allow(unsafe_code, reason = "a hand-written Trace that counts its calls, and Gc::from_raw")]

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::rc::Rc;

use cyclegc::{Finalize, Gc, Trace, Visitor, Weak, coerce_gc};

/// What happened to a watched object: finalizations and drops.
#[derive(Default)]
struct Watch {
    finalized: Cell<usize>,
    dropped: Cell<usize>,
}

/// Records its finalization and drop in a shared [`Watch`].
#[derive(Trace)]
#[trace(finalize)]
struct Watched {
    #[trace(skip)]
    watch: Rc<Watch>,
    cycle: RefCell<Option<Gc<Watched>>>,
}

impl Finalize for Watched {
    fn finalize(&self) {
        assert_eq!(self.watch.dropped.get(), 0, "finalized after its drop");
        self.watch.finalized.set(self.watch.finalized.get() + 1);
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.watch.dropped.set(self.watch.dropped.get() + 1);
    }
}

fn watched(watch: &Rc<Watch>, cycle: Option<Gc<Watched>>) -> Gc<Watched> {
    Gc::new(Watched { watch: watch.clone(), cycle: RefCell::new(cycle) })
}

fn seen(watch: &Watch) -> (usize, usize) {
    (watch.finalized.get(), watch.dropped.get())
}

// rust-gc: gc/tests/gc_semantics.rs `basic_allocate`, gc/src/test.rs `basic_allocate`.
#[test]
fn a_held_object_survives_collections_and_dies_once_when_released() {
    let watch = Rc::new(Watch::default());
    {
        let object = watched(&watch, None);
        gen_gc::collect();
        assert_eq!(seen(&watch), (0, 0));
        assert!(object.cycle.borrow().is_none(), "still readable after a collection");
        gen_gc::collect();
        assert_eq!(seen(&watch), (0, 0));
    }
    assert_eq!(seen(&watch), (1, 1), "no cycle: dies by refcount");
    gen_gc::collect();
    assert_eq!(seen(&watch), (1, 1));
}

// rust-gc: gc/tests/gc_semantics.rs `basic_cycle_allocate`.
#[test]
fn a_cycle_is_kept_while_held_and_each_node_finalized_and_dropped_once() {
    let (watch1, watch2) = (Rc::new(Watch::default()), Rc::new(Watch::default()));
    {
        let node1 = watched(&watch1, None);
        let node2 = watched(&watch2, Some(node1.clone()));
        gen_gc::collect();
        *node1.cycle.borrow_mut() = Some(node2);
        for _ in 0..2 {
            gen_gc::collect();
            assert_eq!((seen(&watch1), seen(&watch2)), ((0, 0), (0, 0)));
        }
    }
    assert_eq!((seen(&watch1), seen(&watch2)), ((0, 0), (0, 0)), "a cycle waits for a collection");
    assert_eq!(gen_gc::collect(), 2);
    assert_eq!((seen(&watch1), seen(&watch2)), ((1, 1), (1, 1)));
    gen_gc::collect();
    assert_eq!((seen(&watch1), seen(&watch2)), ((1, 1), (1, 1)));
}

// rust-gc: gc/tests/gc_semantics.rs `gccell_rooting`: a collection while a cell of a cycle
// is borrowed mutably (its content untraceable) keeps the cycle and what the cell holds; once
// released and dropped, the cycle is collected.
#[test]
fn a_collection_during_a_mutable_borrow_keeps_the_cell_and_its_content() {
    let (watch, held) = (Rc::new(Watch::default()), Rc::new(Watch::default()));
    let node = watched(&watch, None);
    *node.cycle.borrow_mut() = Some(node.clone());
    let weak = Gc::downgrade(&node);
    {
        let mut borrowed = node.cycle.borrow_mut();
        *borrowed = Some(watched(&held, Some(node.clone())));
        gen_gc::collect();
        assert_eq!((seen(&watch), seen(&held)), ((0, 0), (0, 0)));
        assert!(Gc::ptr_eq(borrowed.as_ref().expect("set").cycle.borrow().as_ref().expect("set"), &node));
    }
    gen_gc::collect();
    assert_eq!((seen(&watch), seen(&held)), ((0, 0), (0, 0)));
    drop(node);
    assert_eq!(gen_gc::collect(), 2);
    assert!(weak.upgrade().is_none());
    assert_eq!((seen(&watch), seen(&held)), ((1, 1), (1, 1)));
}

// rust-gc: gc/tests/gc_semantics.rs `trait_gc`.
#[test]
fn a_trait_object_and_its_concrete_handle_share_the_object() {
    #[derive(Trace)]
    struct Bar;
    trait Foo {
        fn f(&self) -> i32;
    }
    impl Foo for Bar {
        fn f(&self) -> i32 {
            10
        }
    }
    fn use_foo(object: &dyn Foo) -> i32 {
        object.f()
    }
    let bar = Gc::new(Bar);
    let foo: Gc<dyn Foo> = coerce_gc!(bar.clone());
    assert_eq!(use_foo(&*foo), 10);
    assert_eq!(use_foo(&*bar), 10);
    assert_eq!(Gc::strong_count(&bar), 2);
    drop(foo);
    assert_eq!(Gc::strong_count(&bar), 1);
}

// rust-gc: gc/tests/gc_semantics.rs `ptr_eq`.
#[test]
fn ptr_eq_compares_objects_not_values() {
    #[derive(Trace)]
    struct A;
    #[derive(Trace)]
    struct B(Gc<A>);
    let a = Gc::new(A);
    let aa = a.clone();
    assert!(Gc::ptr_eq(&a, &aa));
    let b = Gc::new(B(aa));
    assert!(Gc::ptr_eq(&a, &b.0));
    let bb = Gc::new(B(a.clone()));
    assert!(Gc::ptr_eq(&b.0, &bb.0));
    let a2 = Gc::new(A);
    assert!(!Gc::ptr_eq(&a, &a2));
    let b2 = Gc::new(B(a2.clone()));
    assert!(Gc::ptr_eq(&a2, &b2.0));
    assert!(!Gc::ptr_eq(&a, &b2.0));
    assert!(!Gc::ptr_eq(&b.0, &b2.0));
    assert!(!Gc::ptr_eq(&b.0, &a2));
}

// rust-gc: gc/tests/finalize.rs `drop_triggers_finalize`: dropping an object runs its
// finalizer, and that of the object it owns, once each, without a collection.
#[test]
fn dropping_an_object_finalizes_it_and_what_it_owns() {
    thread_local!(static FLAGS: Cell<(u32, u32)> = const { Cell::new((0, 0)) });
    #[derive(Trace)]
    #[trace(finalize)]
    struct A {
        b: Gc<B>,
    }
    #[derive(Trace)]
    #[trace(finalize)]
    struct B;
    impl Finalize for A {
        fn finalize(&self) {
            FLAGS.set((FLAGS.get().0 + 1, FLAGS.get().1));
        }
    }
    impl Finalize for B {
        fn finalize(&self) {
            FLAGS.set((FLAGS.get().0, FLAGS.get().1 + 1));
        }
    }
    {
        let _a = Gc::new(A { b: Gc::new(B) });
        assert_eq!(FLAGS.get(), (0, 0));
    }
    assert_eq!(FLAGS.get(), (1, 1));
    gen_gc::collect();
    assert_eq!(FLAGS.get(), (1, 1));
}

#[derive(Trace)]
#[trace(finalize)]
struct Resurrection {
    escape: Gc<RefCell<Gc<String>>>,
    value: Gc<String>,
    cycle: RefCell<Option<Gc<Resurrection>>>,
}

impl Finalize for Resurrection {
    fn finalize(&self) {
        *self.escape.borrow_mut() = self.value.clone();
    }
}

// rust-gc: gc/tests/finalize.rs `finalizer_can_ressurect` (run under Miri there for UB): a
// finalizer stores a handle to what its object owns; that value outlives the object. (There
// the object is a `GcCell<Ressurection>`, whose finalizer forwards to its content; here the
// finalizer is the object's type's own, as Python's `__del__`.)
#[test]
fn a_finalizer_can_save_what_its_object_owns() {
    for cyclic in [false, true] {
        let escape = Gc::new(RefCell::new(Gc::new(String::new())));
        let value = Gc::new(Resurrection {
            escape: escape.clone(),
            value: Gc::new(String::from("Hello world")),
            cycle: RefCell::new(None),
        });
        if cyclic {
            *value.cycle.borrow_mut() = Some(value.clone());
        }
        let weak = Gc::downgrade(&value);
        drop(value);
        gen_gc::collect();
        assert!(weak.upgrade().is_none(), "the object itself is gone");
        assert_eq!(&**escape.borrow(), "Hello world");
        assert_eq!(Gc::strong_count(&escape.borrow()), 1);
    }
}

// rust-gc: gc/tests/resurrection.rs and resurrections.rs `resurrection_by_finalizer`: a
// collected cycle's finalizer stores a handle to its own object in a live one; the object
// lives on, readable, is never finalized again, and dies once when released.
#[test]
fn a_cycle_resurrected_by_its_finalizer_stays_whole_and_dies_once() {
    thread_local!(static FINALIZED: Cell<u32> = const { Cell::new(0) });
    thread_local!(static DROPPED: Cell<u32> = const { Cell::new(0) });
    #[derive(Trace)]
    struct Foo {
        bar: RefCell<Option<Gc<Bar>>>,
    }
    #[derive(Trace)]
    #[trace(finalize)]
    struct Bar {
        string: String,
        foo: Gc<Foo>,
        this: RefCell<Option<Gc<Bar>>>,
    }
    impl Finalize for Bar {
        fn finalize(&self) {
            FINALIZED.set(FINALIZED.get() + 1);
            *self.foo.bar.borrow_mut() = self.this.borrow().clone();
        }
    }
    impl Drop for Bar {
        fn drop(&mut self) {
            DROPPED.set(DROPPED.get() + 1);
        }
    }
    let foo = Gc::new(Foo { bar: RefCell::new(None) });
    let bar = Gc::new(Bar { string: "Hello, world!".to_string(), foo: foo.clone(), this: RefCell::new(None) });
    *bar.this.borrow_mut() = Some(bar.clone());
    drop(bar);
    assert_eq!(gen_gc::collect(), 0, "resurrected: nothing freed");
    assert_eq!(foo.bar.borrow().as_ref().expect("saved").string, "Hello, world!");
    assert_eq!((FINALIZED.get(), DROPPED.get()), (1, 0));
    gen_gc::collect();
    assert_eq!((FINALIZED.get(), DROPPED.get()), (1, 0));
    foo.bar.borrow_mut().take();
    gen_gc::collect();
    assert_eq!((FINALIZED.get(), DROPPED.get()), (1, 1), "freed without a second finalization");
}

// rust-gc: gc/tests/gymnastics_cycle.rs `test_cycle`.
#[test]
fn a_four_node_ring_is_freed_by_one_collection() {
    thread_local!(static COUNTER: Cell<u8> = const { Cell::new(0) });
    #[derive(Trace)]
    struct Cyclic {
        prev: RefCell<Option<Gc<Cyclic>>>,
        name: u8,
    }
    impl Drop for Cyclic {
        fn drop(&mut self) {
            assert!(self.name < 4);
            COUNTER.set(COUNTER.get() + 1);
        }
    }
    {
        let mut gcs = vec![Gc::new(Cyclic { prev: RefCell::new(None), name: 0 })];
        for i in 1..4 {
            let prev = gcs[i - 1].clone();
            gcs.push(Gc::new(Cyclic { prev: RefCell::new(Some(prev)), name: i as u8 }));
        }
        let last = gcs[3].clone();
        *gcs[0].prev.borrow_mut() = Some(last);
    }
    assert_eq!(COUNTER.get(), 0);
    assert_eq!(gen_gc::collect(), 4);
    assert_eq!(COUNTER.get(), 4);
}

// rust-gc: gc/tests/i128.rs `i128`, `u128`, gc/tests/phantom_data.rs `phantom_data`.
#[test]
fn wide_integers_and_phantom_data_live_on_the_heap() {
    enum Uninhabited {}
    let wide = Gc::new(i128::MIN);
    let unsigned = Gc::new(u128::MAX);
    let phantom: Gc<PhantomData<Uninhabited>> = Gc::new(PhantomData);
    let unsized_phantom: Gc<PhantomData<str>> = Gc::new(PhantomData);
    gen_gc::collect();
    assert_eq!((*wide, *unsigned), (i128::MIN, u128::MAX));
    assert!(!Gc::is_tracked(&wide) && !Gc::is_tracked(&phantom) && !Gc::is_tracked(&unsized_phantom));
    assert_eq!(Gc::as_ptr(&wide).align_offset(std::mem::align_of::<i128>()), 0);
}

// rust-gc: gc/tests/unsized.rs `gc_box_slice`, `gc_slice`, gc/tests/from_box.rs
// `test_from_box_sized`, and dumpster's `coerce_array_using_macro`.
#[test]
fn boxed_slices_arrays_and_coerced_arrays_are_objects() {
    let boxed: Gc<Box<[u32]>> = Gc::new(Box::new([0, 1, 2]));
    let slice: Gc<[u32]> = Gc::from([0, 1, 2]);
    let from_box: Gc<[i32; 3]> = Gc::from(Box::new([1, 2, 3]));
    let array: Gc<[u8; 3]> = Gc::new([0, 0, 0]);
    let coerced: Gc<[u8]> = coerce_gc!(array);
    assert_eq!((&**boxed, &*slice, *from_box, coerced.len()), (&[0, 1, 2][..], &[0, 1, 2][..], [1, 2, 3], 3));
    assert_eq!(std::mem::size_of::<Gc<[u8]>>(), 2 * std::mem::size_of::<usize>());
    assert_eq!(std::mem::size_of::<Gc<u8>>(), std::mem::size_of::<usize>());
}

// rust-gc: gc/tests/from_raw.rs `test_into_raw`.
#[test]
fn a_handle_taken_back_from_raw_can_be_stored_in_an_object() {
    let x = Gc::new(22);
    let x_ptr = Gc::into_raw(x);
    // SAFETY: `x_ptr` comes from `into_raw` just above, taken back once.
    let x = unsafe { Gc::from_raw(x_ptr) };
    let y = Gc::new(x);
    gen_gc::collect();
    assert_eq!(**y, 22);
    assert_eq!(Gc::strong_count(&*y), 1);
}

// rust-gc: gc/tests/derive_bounds.rs `test_derive_bounds`: a derived generic type whose field
// does not hold a `T` needs no `T: Trace`.
#[test]
fn a_derive_asks_no_trace_of_a_parameter_its_fields_do_not_hold() {
    #[derive(Trace)]
    struct Thunk<T: 'static>(fn() -> T);
    struct NotTrace(u8);
    let thunk: Gc<Thunk<NotTrace>> = Gc::new(Thunk(|| NotTrace(7)));
    assert_eq!((thunk.0)().0, 7);
}

// rust-gc: gc/tests/ignore_trace.rs `ignore_trace_gc`: a skipped handle keeps its object alive
// and a collection does not trip over it.
#[test]
fn a_skipped_handle_keeps_its_object_without_trouble() {
    #[derive(Trace)]
    struct S(#[trace(skip)] Gc<()>);
    let inner = Gc::new(());
    let weak = Gc::downgrade(&inner);
    let outer = Gc::new(S(inner));
    let () = *outer.0;
    gen_gc::collect();
    assert!(weak.upgrade().is_some());
    drop(outer);
    assert!(weak.upgrade().is_none(), "freed with its owner");
}

/// Counts the calls of its `trace` (rust-gc's `Foo`).
#[derive(Clone, Copy)]
struct CountsTraces;

thread_local!(static TRACES: Cell<usize> = const { Cell::new(0) });

// SAFETY: holds no `Gc`; `trace` visits nothing.
unsafe impl Trace for CountsTraces {
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {
        TRACES.set(TRACES.get() + 1);
    }
}

// rust-gc: gc/tests/trace_impl.rs `test`: a derived `Trace` traces each field once.
#[test]
fn a_derived_trace_traces_each_field_once() {
    #[derive(Trace, Clone)]
    struct Bar {
        inner: CountsTraces,
    }
    #[derive(Trace)]
    struct Baz {
        a: Bar,
        b: Bar,
    }
    let bar = Gc::new(Bar { inner: CountsTraces });
    let _ = gen_gc::get_referents(std::slice::from_ref(&bar));
    assert_eq!(TRACES.get(), 1);
    let baz = Gc::new(Baz { a: (*bar).clone(), b: (*bar).clone() });
    let _ = gen_gc::get_referents(&[baz]);
    assert_eq!(TRACES.get(), 3);
}

// rust-gc: gc/tests/weak_gc.rs `weak_gc_try_deref_some_value`, `weak_gc_from_existing`,
// `weak_gc_different_copies`.
#[test]
fn weak_copies_read_the_value_while_it_lives_and_nothing_after() {
    let gc = Gc::new(RefCell::new(1));
    let weak1 = Gc::downgrade(&gc);
    let weak2 = weak1.clone();
    assert_eq!(*weak1.upgrade().expect("alive").borrow(), 1);
    {
        let other = Gc::new(RefCell::new(2));
        let weak3 = Gc::downgrade(&other);
        drop(other);
        gen_gc::collect();
        assert!(weak3.upgrade().is_none());
    }
    assert_eq!(*weak2.upgrade().expect("alive").borrow(), 1);
    drop(gc);
    assert!(weak1.upgrade().is_none() && weak2.upgrade().is_none());
}

// rust-gc: gc/tests/gc_cell_ref.rs `test_gc_cell_ref_mut_map`: a mapped mutable borrow
// writes through, and a collection during it keeps what the cell holds.
#[test]
fn a_mapped_mutable_borrow_writes_through_and_keeps_the_cell_alive() {
    let a = Gc::new(RefCell::new((0, Gc::new(1))));
    let inner = Gc::downgrade(&a.borrow().1);
    {
        let mut n = std::cell::RefMut::map(a.borrow_mut(), |(n, _)| n);
        *n = 2;
        gen_gc::collect();
    }
    assert_eq!(a.borrow().0, 2);
    assert_eq!(*inner.upgrade().expect("kept"), 1);
}

// bacon-rajan-cc: src/lib.rs `test_clone`, `test_simple`, `test_simple_clone`,
// `test_destructor`, `test_show`, `test_map`.
#[test]
fn clones_share_one_value() {
    let x = Gc::new(RefCell::new(5));
    let y = x.clone();
    *x.borrow_mut() = 20;
    assert_eq!(*y.borrow(), 20);
    let boxed: Gc<Box<i32>> = Gc::new(Box::new(5));
    assert_eq!(**boxed, 5);
    assert_eq!(format!("{:?}", Gc::new(75)), "75");
    let map = Gc::new(std::collections::HashMap::from([("Foo".to_string(), 4)]));
    assert_eq!(map.get("Foo"), Some(&4));
    drop((x, y));
    assert_eq!(gen_gc::collect(), 0);
}

// bacon-rajan-cc: src/lib.rs `test_live`, `test_dead`, `drop` of rust-cc's
// `drop_zero_weak_counter`.
#[test]
fn a_weak_reference_upgrades_while_its_object_lives() {
    let x = Gc::new(5);
    let y = Gc::downgrade(&x);
    assert_eq!(y.upgrade().as_deref(), Some(&5));
    drop(x);
    assert!(y.upgrade().is_none());
    let z = Gc::new(5_u32);
    let _ = Gc::downgrade(&z);
    assert_eq!(Gc::weak_count(&z), 0);
    drop(z);
}

// bacon-rajan-cc: src/lib.rs `test_strong_count`, `test_weak_count`.
#[test]
fn strong_and_weak_counts_follow_handles() {
    let a = Gc::new(0_u32);
    assert_eq!((Gc::strong_count(&a), Gc::weak_count(&a)), (1, 0));
    let w = Gc::downgrade(&a);
    assert_eq!((Gc::strong_count(&a), Gc::weak_count(&a)), (1, 1));
    let b = w.upgrade().expect("upgrade of a live object");
    assert_eq!(Gc::strong_count(&b), 2);
    drop(w);
    assert_eq!(Gc::weak_count(&a), 0);
    drop(a);
    assert_eq!(Gc::strong_count(&b), 1);
    let c = b.clone();
    assert_eq!((Gc::strong_count(&b), Gc::strong_count(&c)), (2, 2));
    drop(c);
    assert_eq!((Gc::strong_count(&b), Gc::weak_count(&b)), (1, 0));
}

// bacon-rajan-cc: src/lib.rs `test_cowrc_clone_make_unique`, `test_cowrc_clone_unique2`.
#[test]
fn make_mut_copies_on_write_and_leaves_the_other_handles_sharing() {
    let mut cow0 = Gc::new(75);
    let cow1 = cow0.clone();
    let cow2 = cow1.clone();
    *Gc::make_mut(&mut cow0) += 1;
    assert_eq!((*cow0, *cow1, *cow2), (76, 75, 75));
    assert!(!Gc::ptr_eq(&cow0, &cow1));
    assert!(Gc::ptr_eq(&cow1, &cow2));
    let (mut cow1, mut cow2) = (cow1, cow2);
    *Gc::make_mut(&mut cow1) += 2;
    *Gc::make_mut(&mut cow2) += 3;
    assert_eq!((*cow0, *cow1, *cow2), (76, 77, 78));
    assert_eq!((Gc::strong_count(&cow0), Gc::strong_count(&cow1), Gc::strong_count(&cow2)), (1, 1, 1));
}

// bacon-rajan-cc: src/lib.rs `list_cycle`, `clone_drop_collect`.
#[test]
fn a_two_list_cycle_is_collected_and_a_dropped_clone_frees_nothing() {
    #[derive(Trace)]
    struct List(Vec<Gc<RefCell<List>>>);
    let a = Gc::new(RefCell::new(List(Vec::new())));
    let b = Gc::new(RefCell::new(List(Vec::new())));
    a.borrow_mut().0.push(b.clone());
    b.borrow_mut().0.push(a.clone());
    let weak = Gc::downgrade(&a);
    drop((a, b));
    assert_eq!(gen_gc::collect(), 2);
    assert!(weak.upgrade().is_none());

    #[derive(Trace)]
    struct A {
        a: Gc<i32>,
    }
    let a = Gc::new(A { a: Gc::new(1) });
    let b = Gc::clone(&a);
    drop(b);
    assert_eq!(gen_gc::collect(), 0);
    assert_eq!(*a.a, 1);
}

/// rust-cc's `Droppable<Circular>`: a two-object cycle node that records its fate.
fn ring_of_two(watch1: &Rc<Watch>, watch2: &Rc<Watch>) -> (Gc<Watched>, Gc<Watched>) {
    let cc1 = watched(watch1, None);
    let cc2 = watched(watch2, Some(cc1.clone()));
    *cc1.cycle.borrow_mut() = Some(cc2.clone());
    (cc1, cc2)
}

// rust-cc: src/tests/cc.rs `test_cc`.
#[test]
fn a_held_two_cycle_survives_clones_and_collections_then_is_finalized_and_dropped() {
    let (watch1, watch2) = (Rc::new(Watch::default()), Rc::new(Watch::default()));
    let (cc1, cc2) = ring_of_two(&watch1, &watch2);
    gen_gc::collect();
    let cloned = cc1.clone();
    drop(cloned);
    gen_gc::collect();
    assert_eq!((seen(&watch1), seen(&watch2)), ((0, 0), (0, 0)));
    drop((cc1, cc2));
    assert_eq!((seen(&watch1), seen(&watch2)), ((0, 0), (0, 0)));
    gen_gc::collect();
    assert_eq!((seen(&watch1), seen(&watch2)), ((1, 1), (1, 1)));
    assert_eq!(gen_gc::get_count().0, 0, "nothing left counted in the young generation");
}

// rust-cc: tests/cc.rs `test_finalization`: a finalizer moves its partner's handle out of
// the heap (into an `Rc`); both are resurrected, stay intact, and are never finalized again.
#[test]
fn a_finalizer_moving_a_handle_out_of_the_heap_resurrects_the_cycle_once() {
    thread_local!(static FINALIZED: Cell<(u32, u32)> = const { Cell::new((0, 0)) });
    thread_local!(static DROPPED: Cell<(u32, u32)> = const { Cell::new((0, 0)) });
    struct Outside {
        a: RefCell<Option<A>>,
    }
    #[derive(Trace)]
    #[trace(finalize)]
    struct A {
        #[trace(skip)]
        dropped: Cell<bool>,
        #[trace(skip)]
        c: std::rc::Weak<Outside>,
        b: RefCell<Option<Gc<B>>>,
    }
    #[derive(Trace)]
    #[trace(finalize)]
    struct B {
        #[trace(skip)]
        dropped: Cell<bool>,
        a: Gc<A>,
    }
    impl Finalize for A {
        fn finalize(&self) {
            FINALIZED.set((FINALIZED.get().0 + 1, FINALIZED.get().1));
            if let Some(c) = self.c.upgrade() {
                *c.a.borrow_mut() = Some(A {
                    dropped: Cell::new(false),
                    c: self.c.clone(),
                    b: RefCell::new(self.b.borrow_mut().take()),
                });
            }
        }
    }
    impl Finalize for B {
        fn finalize(&self) {
            FINALIZED.set((FINALIZED.get().0, FINALIZED.get().1 + 1));
        }
    }
    impl Drop for A {
        fn drop(&mut self) {
            assert!(!self.dropped.replace(true));
            DROPPED.set((DROPPED.get().0 + 1, DROPPED.get().1));
        }
    }
    impl Drop for B {
        fn drop(&mut self) {
            assert!(!self.dropped.replace(true));
            DROPPED.set((DROPPED.get().0, DROPPED.get().1 + 1));
        }
    }
    let c1 = Rc::new(Outside { a: RefCell::new(None) });
    let a = Gc::new(A { dropped: Cell::new(false), c: Rc::downgrade(&c1), b: RefCell::new(None) });
    *a.b.borrow_mut() = Some(Gc::new(B { dropped: Cell::new(false), a: a.clone() }));
    assert_eq!(Gc::strong_count(&a), 2);
    gen_gc::collect();
    assert_eq!((FINALIZED.get(), DROPPED.get()), ((0, 0), (0, 0)));
    drop(a);
    assert_eq!((FINALIZED.get(), DROPPED.get()), ((0, 0), (0, 0)));
    gen_gc::collect();
    assert_eq!((FINALIZED.get(), DROPPED.get()), ((1, 1), (0, 0)), "finalized and resurrected");
    {
        let outside = c1.a.borrow();
        let moved = outside.as_ref().expect("moved out");
        let b = moved.b.borrow();
        let b = b.as_ref().expect("the partner");
        assert!(!moved.dropped.get() && !b.dropped.get() && !b.a.dropped.get());
        assert!(std::rc::Weak::ptr_eq(&b.a.c, &moved.c));
        assert!(b.a.b.borrow().is_none());
    }
    drop(c1);
    gen_gc::collect();
    assert_eq!(FINALIZED.get(), (1, 1), "finalizers run once per object");
    assert_eq!(DROPPED.get(), (2, 1), "the outside A, then both objects, once each");
}

// rust-cc: tests/cc.rs `test_finalize_drop`: objects owned from outside the heap die by
// refcount with that owner, finalized then dropped.
#[test]
fn objects_owned_by_an_outside_cycle_are_finalized_and_dropped_with_it() {
    thread_local!(static FINALIZED: Cell<(u32, u32)> = const { Cell::new((0, 0)) });
    thread_local!(static DROPPED: Cell<(u32, u32)> = const { Cell::new((0, 0)) });
    struct Outside {
        _a: RefCell<Option<A>>,
    }
    #[derive(Trace)]
    #[trace(finalize)]
    struct A {
        #[trace(skip)]
        _c: std::rc::Weak<Outside>,
        b: RefCell<Option<Gc<B>>>,
    }
    #[derive(Trace)]
    #[trace(finalize)]
    struct B {
        a: Gc<A>,
    }
    impl Finalize for A {
        fn finalize(&self) {
            FINALIZED.set((FINALIZED.get().0 + 1, FINALIZED.get().1));
        }
    }
    impl Finalize for B {
        fn finalize(&self) {
            FINALIZED.set((FINALIZED.get().0, FINALIZED.get().1 + 1));
        }
    }
    impl Drop for A {
        fn drop(&mut self) {
            DROPPED.set((DROPPED.get().0 + 1, DROPPED.get().1));
        }
    }
    impl Drop for B {
        fn drop(&mut self) {
            DROPPED.set((DROPPED.get().0, DROPPED.get().1 + 1));
        }
    }
    let c = Rc::new_cyclic(|weak| Outside {
        _a: RefCell::new(Some(A {
            _c: weak.clone(),
            b: RefCell::new(Some(Gc::new(B { a: Gc::new(A { _c: weak.clone(), b: RefCell::new(None) }) }))),
        })),
    });
    assert_eq!((FINALIZED.get(), DROPPED.get()), ((0, 0), (0, 0)));
    drop(c);
    assert_eq!(FINALIZED.get(), (1, 1), "the object A finalized; the outside A is not an object");
    assert_eq!(DROPPED.get(), (2, 1));
    gen_gc::collect();
    assert_eq!((FINALIZED.get(), DROPPED.get()), ((1, 1), (2, 1)));
}

// rust-cc: tests/cc.rs `finalization_test`: a finalizer of a collected ring adds a new object
// to it; the ring is resurrected by it, and a later collection frees all three, once each.
#[test]
fn a_finalizer_growing_its_ring_delays_it_to_a_later_collection() {
    thread_local!(static DROPPED: Cell<u32> = const { Cell::new(0) });
    #[derive(Trace)]
    #[trace(finalize)]
    struct Circular {
        next: RefCell<Option<Gc<Circular>>>,
        #[trace(skip)]
        does_finalization: Cell<bool>,
    }
    impl Finalize for Circular {
        fn finalize(&self) {
            if self.does_finalization.replace(false) {
                let grown = Gc::new(Circular {
                    next: RefCell::new(self.next.borrow().clone()),
                    does_finalization: Cell::new(false),
                });
                *self.next.borrow_mut() = Some(grown);
            }
        }
    }
    impl Drop for Circular {
        fn drop(&mut self) {
            DROPPED.set(DROPPED.get() + 1);
        }
    }
    {
        let cc = Gc::new(Circular {
            next: RefCell::new(Some(Gc::new(Circular {
                next: RefCell::new(None),
                does_finalization: Cell::new(false),
            }))),
            does_finalization: Cell::new(true),
        });
        *cc.next.borrow().as_ref().expect("next").next.borrow_mut() = Some(cc.clone());
    }
    gen_gc::collect();
    assert_eq!(DROPPED.get(), 0, "resurrected by the new object");
    gen_gc::collect();
    assert_eq!(DROPPED.get(), 3);
}

// rust-cc: src/tests/cc.rs `try_unwrap_test`, `fail_try_unwrap_test`.
#[test]
fn try_unwrap_takes_the_only_handle_and_kills_weak_references() {
    let cc = Gc::new(5_u32);
    let weak = Gc::downgrade(&cc);
    assert_eq!(Gc::try_unwrap(cc).ok(), Some(5));
    assert!(weak.upgrade().is_none());

    let cc = Gc::new(5_u32);
    let copy = cc.clone();
    let weak = Gc::downgrade(&cc);
    drop(Gc::try_unwrap(cc).expect_err("shared"));
    assert!(weak.upgrade().is_some());
    assert_eq!(Gc::try_unwrap(copy).ok(), Some(5));
    assert!(weak.upgrade().is_none());
}

#[derive(Trace)]
#[trace(finalize)]
struct TakesItsValue {
    cyclic: RefCell<Option<Gc<TakesItsValue>>>,
    other: RefCell<Option<Gc<u32>>>,
    #[trace(skip)]
    unwrapped: Rc<Cell<Option<u32>>>,
}

impl Finalize for TakesItsValue {
    fn finalize(&self) {
        let other = self.other.borrow_mut().take().expect("finalized once");
        self.unwrapped.set(Gc::try_unwrap(other).ok());
    }
}

// rust-cc: src/tests/cc.rs `finalization_try_unwrap_test`, `cyclic_finalization_try_unwrap_test`
// (see the module header): a finalizer, run by refcount or by the collector, may unwrap a
// value only its object holds.
#[test]
fn a_finalizer_may_unwrap_what_only_its_object_holds() {
    for cyclic in [false, true] {
        let unwrapped = Rc::new(Cell::new(None));
        let cc = Gc::new(TakesItsValue {
            cyclic: RefCell::new(None),
            other: RefCell::new(Some(Gc::new(5_u32))),
            unwrapped: unwrapped.clone(),
        });
        if cyclic {
            *cc.cyclic.borrow_mut() = Some(cc.clone());
        }
        drop(cc);
        gen_gc::collect();
        assert_eq!(unwrapped.get(), Some(5), "cyclic: {cyclic}");
    }
}

// rust-cc: src/tests/weak/mod.rs `weak_new`, `weak_new_ptr_eq`.
#[test]
fn a_new_weak_reference_is_dead_and_equal_only_to_other_new_ones() {
    let new: Weak<u32> = Weak::new();
    let other_new: Weak<u32> = Weak::new();
    assert_eq!((new.weak_count(), new.strong_count()), (0, 0));
    assert!(new.upgrade().is_none());
    let copy = new.clone();
    assert_eq!((copy.weak_count(), copy.strong_count()), (0, 0));
    assert!(copy.upgrade().is_none());
    let cc = Gc::new(5_u32);
    let other_cc = Gc::new(6_u32);
    assert!(Weak::ptr_eq(&new, &new));
    assert!(Weak::ptr_eq(&new, &other_new));
    assert!(Weak::ptr_eq(&new, &copy));
    assert!(!Weak::ptr_eq(&new, &Gc::downgrade(&cc)));
    assert!(Weak::ptr_eq(&Gc::downgrade(&cc), &Gc::downgrade(&cc)));
    assert!(!Weak::ptr_eq(&Gc::downgrade(&cc), &Gc::downgrade(&other_cc)));
}

// rust-cc: src/tests/weak/mod.rs `cyclic_drop_zero_weak_counter`.
#[test]
fn a_cycle_whose_weak_references_all_dropped_is_collected() {
    let watch = Rc::new(Watch::default());
    let cc = watched(&watch, None);
    *cc.cycle.borrow_mut() = Some(cc.clone());
    let _ = Gc::downgrade(&cc);
    drop(cc);
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(seen(&watch), (1, 1));
}

/// A young cycle of two objects (rust-cc's `Traceable`), returned by one of its handles.
fn big_cycle() -> Gc<Watched> {
    let watch = Rc::new(Watch::default());
    let (a, _b) = ring_of_two(&watch, &watch);
    a
}

/// Collections of any generation run on this thread so far.
fn collections_so_far() -> usize {
    gen_gc::get_stats().iter().map(|generation| generation.collections).sum()
}

// rust-cc: tests/auto_collect.rs `test_auto_collect`: allocations past the threshold start
// a collection, which frees an unreachable cycle.
#[test]
fn allocations_past_the_threshold_collect_a_dropped_cycle() {
    let thresholds = gen_gc::get_threshold();
    gen_gc::set_threshold(10, 10, 10);
    gen_gc::collect();
    let collections = collections_so_far();
    let cycle = big_cycle();
    let weak = Gc::downgrade(&cycle);
    drop(cycle);
    assert_eq!(collections_so_far(), collections, "dropping starts no collection");
    let kept: Vec<_> = (0..20).map(|_| watched(&Rc::new(Watch::default()), None)).collect();
    assert!(collections_so_far() > collections, "allocations started one");
    assert!(weak.upgrade().is_none());
    drop(kept);
    gen_gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
}

// rust-cc: tests/auto_collect.rs `test_disable_auto_collect`.
#[test]
fn a_disabled_collector_starts_no_collection() {
    struct Reenable;
    impl Drop for Reenable {
        fn drop(&mut self) {
            gen_gc::enable();
        }
    }
    gen_gc::set_threshold(10, 10, 10);
    gen_gc::disable();
    let _reenable = Reenable;
    let collections = collections_so_far();
    let cycle = big_cycle();
    let weak = Gc::downgrade(&cycle);
    drop(cycle);
    let kept: Vec<_> = (0..20).map(|_| watched(&Rc::new(Watch::default()), None)).collect();
    assert_eq!(collections_so_far(), collections);
    assert!(weak.upgrade().is_some(), "the cycle waits");
    drop(kept);
    gen_gc::collect();
    assert!(weak.upgrade().is_none());
}

#[derive(Trace)]
struct DropCount(#[trace(skip)] Rc<Cell<usize>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

// dumpster: unsync/tests.rs `new_cyclic_nothing`, `new_cyclic_one` (with a weak self-handle).
#[test]
fn new_cyclic_objects_die_by_refcount() {
    let count = Rc::new(Cell::new(0));
    let gc = Gc::new_cyclic(|_| DropCount(count.clone()));
    drop(gc);
    assert_eq!(count.get(), 1);

    #[derive(Trace)]
    struct Cycle(Weak<Cycle>, DropCount);
    let cyc = Gc::new_cyclic(|weak| Cycle(weak.clone(), DropCount(count.clone())));
    assert_eq!((Gc::strong_count(&cyc), Gc::weak_count(&cyc)), (1, 1));
    assert!(Gc::ptr_eq(&cyc.0.upgrade().expect("alive"), &cyc));
    drop(cyc);
    assert_eq!(count.get(), 2);
}

// dumpster: unsync/tests.rs `dead_inside_alive`: a `Drop` run by a collection saves a handle
// to its own dead object; stored in a new object, that handle is collected safely, and it
// reads as dropped.
#[test]
fn a_saved_handle_to_a_dropped_object_is_safe_inside_a_new_object() {
    thread_local!(static ESCAPE: RefCell<Option<Gc<Cycle>>> = const { RefCell::new(None) });
    #[derive(Trace)]
    struct Cycle(RefCell<Option<Gc<Cycle>>>);
    impl Drop for Cycle {
        fn drop(&mut self) {
            ESCAPE.set(self.0.borrow_mut().take());
        }
    }
    let c1 = Gc::new(Cycle(RefCell::new(None)));
    *c1.0.borrow_mut() = Some(c1.clone());
    drop(c1);
    gen_gc::collect();
    let escaped = ESCAPE.take().expect("saved by the drop");
    assert!(Gc::is_dropped(&escaped));
    assert!(Gc::try_get(&escaped).is_err());
    assert!(format!("{:?}", Gc::to_any(&escaped)).starts_with("<dropped Cycle 0x"), "a GcAny says so too");
    let alloc = Gc::new(escaped);
    let alloc2 = alloc.clone();
    drop(alloc);
    drop(alloc2);
    gen_gc::collect();
    assert!(ESCAPE.take().is_none());
}

// dumpster: unsync/tests.rs `custom_trait_object`.
#[test]
fn a_handle_coerces_to_a_custom_trait_object() {
    trait MyTrait {
        fn value(&self) -> i32;
    }
    impl MyTrait for i32 {
        fn value(&self) -> i32 {
            *self
        }
    }
    let gc = Gc::new(5_i32);
    let object: Gc<dyn MyTrait> = coerce_gc!(gc);
    assert_eq!(object.value(), 5);
}

// dumpster: unsync/tests.rs `gc_from_iter`, `self_referential_from_iter`.
#[test]
fn slices_collected_from_iterators_hold_their_elements() {
    let numbers = (0..100).collect::<Gc<[_]>>();
    assert_eq!((numbers.len(), numbers[99]), (100, 99));

    let count = Rc::new(Cell::new(0));
    #[derive(Trace)]
    struct Ab {
        a: Weak<Ab>,
        b: Option<Gc<Ab>>,
        count: DropCount,
    }
    let mut gcs = vec![Gc::new_cyclic(|a| Ab { a: a.clone(), b: None, count: DropCount(count.clone()) })];
    for _ in 0..10 {
        let b = gcs.last().cloned();
        gcs.push(Gc::new_cyclic(|a| Ab { a: a.clone(), b, count: DropCount(count.clone()) }));
    }
    let big = gcs.into_iter().collect::<Gc<[_]>>();
    assert!(big.iter().all(|ab| Gc::ptr_eq(&ab.a.upgrade().expect("alive"), ab)));
    gen_gc::collect();
    assert_eq!(count.get(), 0);
    drop(big);
    assert_eq!(count.get(), 11);
}
