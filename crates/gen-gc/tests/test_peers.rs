//! Ports of the peer collectors' tests (dumpster's `unsync/tests.rs`, gcmodule's
//! `src/tests.rs` and `testutil.rs`, rust-cc's `tests/cc.rs` and `src/tests/cc.rs`), named
//! with the peer's name as a prefix.
//!
//! Not ported, and why:
//! - dumpster's `sync` tests and loom tests: threads sharing objects; `Gc` is `!Send`.
//! - dumpster's `complete1000`: ignored there for its slowness; `complete100` is the case.
//! - gcmodule's log-comparing cases (`test_drop_by_ref_count`, `test_self_referential`,
//!   `test_3_object_cycle`, `test_2_object_cycle_with_another_*`, `test_simple_mixed_graph`,
//!   `test_collect_multi_times`): their debug logs are gcmodule's internals; their graphs are
//!   run here through `test_small_graph`, checking what the logs imply (every value dropped,
//!   at most once, no more collected than dropped). `test_update_with`: no `update_with`.
//!   `test_trace_impl_double_visits`: covered by marking.rs's
//!   `an_object_a_bad_trace_made_look_like_garbage_is_reported`.
//! - rust-cc's `test_assume_init`, `test_init` (`MaybeUninit` helpers), `box_test`
//!   (`Box<dyn Trace>`: our `Trace` is not object-safe; `Gc<dyn Trait>` is the form),
//!   `test_trait_object` (covered by shapes.rs), `no_cyclic_finalization_ends` (rust-cc marks
//!   objects made by a finalizer as finalized; ours are finalized when they die, as in
//!   Python, so a finalizer that always makes a new finalizable object never ends).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use cyclegc::{Finalize, Gc, GcAny, Trace};

/// Counts its drops.
#[derive(Trace)]
struct MultiRef {
    refs: RefCell<Vec<Gc<MultiRef>>>,
    #[trace(skip)]
    drop_count: Rc<Cell<usize>>,
}

impl Drop for MultiRef {
    fn drop(&mut self) {
        self.drop_count.set(self.drop_count.get() + 1);
    }
}

fn multi_ref(drop_count: &Rc<Cell<usize>>, refs: Vec<Gc<MultiRef>>) -> Gc<MultiRef> {
    Gc::new(MultiRef { refs: RefCell::new(refs), drop_count: drop_count.clone() })
}

#[test]
fn dumpster_simple() {
    #[derive(Trace)]
    struct Foo(#[trace(skip)] Rc<Cell<bool>>);
    impl Drop for Foo {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let dropped = Rc::new(Cell::new(false));
    let gc1 = Gc::new(Foo(dropped.clone()));
    let gc2 = gc1.clone();
    assert!(!dropped.get());
    drop(gc1);
    assert!(!dropped.get());
    drop(gc2);
    assert!(dropped.get());
}

#[test]
fn dumpster_self_referential() {
    // dumpster frees the cycle when its last outside handle drops; here a collection does.
    let dropped = Rc::new(Cell::new(0));
    let gc = multi_ref(&dropped, Vec::new());
    gc.refs.borrow_mut().push(gc.clone());
    assert_eq!(dropped.get(), 0);
    drop(gc);
    gen_gc::collect();
    assert_eq!(dropped.get(), 1);
}

#[test]
fn dumpster_cyclic() {
    let dropped = Rc::new(Cell::new(0));
    let foo1 = multi_ref(&dropped, Vec::new());
    let foo2 = multi_ref(&dropped, vec![foo1.clone()]);
    foo1.refs.borrow_mut().push(foo2.clone());
    assert_eq!(dropped.get(), 0);
    drop(foo1);
    gen_gc::collect();
    assert_eq!(dropped.get(), 0, "foo2 holds foo1");
    drop(foo2);
    gen_gc::collect();
    assert_eq!(dropped.get(), 2);
}

/// A complete graph of `n` objects, each with its own drop counter.
fn complete(n: usize) {
    let detectors: Vec<_> = (0..n).map(|_| Rc::new(Cell::new(0))).collect();
    let mut gcs: Vec<Gc<MultiRef>> = Vec::new();
    for d in &detectors {
        let gc = multi_ref(d, Vec::new());
        for x in &gcs {
            gc.refs.borrow_mut().push(x.clone());
            x.refs.borrow_mut().push(gc.clone());
        }
        gcs.push(gc);
    }
    gcs.truncate(1);
    assert!(detectors.iter().all(|d| d.get() == 0));
    drop(gcs);
    gen_gc::collect();
    assert!(detectors.iter().all(|d| d.get() == 1));
}

#[test]
fn dumpster_complete4() {
    complete(4);
}

#[test]
fn dumpster_complete20() {
    complete(20);
}

#[test]
fn dumpster_complete100() {
    complete(if cfg!(miri) { 30 } else { 100 });
}

#[test]
fn dumpster_parallel_loop() {
    let counts: Vec<_> = (0..4).map(|_| Rc::new(Cell::new(0))).collect();
    let gc1 = multi_ref(&counts[0], Vec::new());
    let gc2 = multi_ref(&counts[1], vec![gc1.clone()]);
    let gc3 = multi_ref(&counts[2], vec![gc1.clone()]);
    let gc4 = multi_ref(&counts[3], vec![gc2.clone(), gc3.clone()]);
    gc1.refs.borrow_mut().push(gc4.clone());
    let none_dropped = || counts.iter().all(|c| c.get() == 0);
    drop(gc1);
    assert!(none_dropped());
    drop(gc2);
    assert!(none_dropped());
    drop(gc3);
    assert!(none_dropped());
    drop(gc4);
    gen_gc::collect();
    assert!(counts.iter().all(|c| c.get() == 1));
}

#[test]
fn dumpster_double_borrow() {
    let drop_count = Rc::new(Cell::new(0));
    let gc = multi_ref(&drop_count, Vec::new());
    gc.refs.borrow_mut().push(gc.clone());
    let mut my_borrow = gc.refs.borrow_mut();
    my_borrow.pop();
    drop(my_borrow);
    assert_eq!(drop_count.get(), 0);
    gen_gc::collect();
    drop(gc);
    gen_gc::collect();
    assert_eq!(drop_count.get(), 1);
}

#[test]
fn gcmodule_test_simple_untracked() {
    #[derive(Trace)]
    struct X(&'static str, #[trace(skip)] Rc<Cell<bool>>);
    impl Drop for X {
        fn drop(&mut self) {
            self.1.set(true);
        }
    }
    let dropped = Rc::new(Cell::new(false));
    let before = gen_gc::get_objects(None).len();
    {
        let v1 = Gc::new(X("abc", dropped.clone()));
        {
            let v2 = v1.clone();
            assert_eq!(v1.0, v2.0);
            assert_eq!(gen_gc::get_objects(None).len(), before);
        }
        assert!(!dropped.get());
    }
    assert!(dropped.get());
}

#[test]
fn gcmodule_test_simple_tracked() {
    #[derive(Trace)]
    struct X(&'static str, #[trace(skip)] Rc<Cell<bool>>, RefCell<Option<Gc<X>>>);
    impl Drop for X {
        fn drop(&mut self) {
            self.1.set(true);
        }
    }
    let dropped = Rc::new(Cell::new(false));
    let before = gen_gc::get_objects(None).len();
    {
        let v1 = Gc::new(X("abc", dropped.clone(), RefCell::new(None)));
        {
            let v2 = v1.clone();
            assert_eq!(v1.0, v2.0);
            assert_eq!(gen_gc::get_objects(None).len(), before + 1);
        }
        assert!(!dropped.get());
    }
    assert!(dropped.get());
}

#[test]
fn gcmodule_test_simple_cycles() {
    gen_gc::disable();
    assert_eq!(gen_gc::collect(), 0);
    let before = gen_gc::get_objects(None).len();
    {
        let a = Gc::new(RefCell::new(Vec::<GcAny>::new()));
        let b = Gc::new(RefCell::new(Vec::<GcAny>::new()));
        assert_eq!(gen_gc::collect(), 0);
        a.borrow_mut().push(Gc::to_any(&b));
        b.borrow_mut().push(Gc::to_any(&a));
        assert_eq!(gen_gc::collect(), 0);
        assert_eq!(gen_gc::get_objects(None).len(), before + 2);
    }
    assert_eq!(gen_gc::collect(), 2);
    assert_eq!(gen_gc::get_objects(None).len(), before);
    gen_gc::enable();
}

#[test]
fn gcmodule_test_simple_non_trait_cycles() {
    #[derive(Trace, Clone)]
    struct T(Gc<RefCell<Option<Box<T>>>>);
    {
        let t1 = T(Gc::new(RefCell::new(None)));
        let t2 = T(Gc::new(RefCell::new(Some(Box::new(t1.clone())))));
        *t1.0.borrow_mut() = Some(Box::new(t2.clone()));
        // The collector runs while a RefCell is borrowed: it keeps what it cannot trace.
        let _borrowed = t1.0.borrow_mut();
        assert_eq!(gen_gc::collect(), 0);
    }
    assert_eq!(gen_gc::collect(), 2);
}

/// gcmodule's `test_small_graph`: `n` values, `edges` as nibbles (`to` holds `from`), the
/// values whose bit is set in `atomic_bits` untracked (they may hold only untracked values
/// made before them), a collection after dropping each value whose bit is set in
/// `collect_bits`; at the end every value is dropped, once.
fn test_small_graph(n: usize, edges: &[u8], atomic_bits: u16, collect_bits: u16) {
    #[derive(Trace)]
    struct Tracked(RefCell<Vec<GcAny>>, #[trace(skip)] Rc<Cell<usize>>);
    #[derive(Trace)]
    struct Atomic(#[trace(skip)] RefCell<Vec<Gc<Atomic>>>, #[trace(skip)] Rc<Cell<usize>>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.1.set(self.1.get() + 1);
        }
    }
    impl Drop for Atomic {
        fn drop(&mut self) {
            self.1.set(self.1.get() + 1);
        }
    }
    enum Value {
        Tracked(Gc<Tracked>),
        Atomic(Gc<Atomic>),
    }
    let is_tracked = |i: usize| (atomic_bits >> i) & 1 == 0;
    let drop_count = Rc::new(Cell::new(0));
    {
        let values: Vec<Value> = (0..n)
            .map(|i| {
                if is_tracked(i) {
                    Value::Tracked(Gc::new(Tracked(RefCell::new(Vec::new()), drop_count.clone())))
                } else {
                    Value::Atomic(Gc::new(Atomic(RefCell::new(Vec::new()), drop_count.clone())))
                }
            })
            .collect();
        for &edge in edges {
            let from = (usize::from(edge) >> 4) % n;
            let to = (usize::from(edge) & 15) % n;
            match (&values[to], &values[from]) {
                (Value::Tracked(to), Value::Tracked(from)) => to.0.borrow_mut().push(Gc::to_any(from)),
                (Value::Tracked(to), Value::Atomic(from)) => to.0.borrow_mut().push(Gc::to_any(from)),
                (Value::Atomic(to), Value::Atomic(from)) if from_index_below(from, to, &values) => {
                    to.0.borrow_mut().push(from.clone());
                }
                _ => {}
            }
        }
        for (i, value) in values.into_iter().enumerate() {
            drop(value);
            if (collect_bits >> i) & 1 != 0 {
                gen_gc::collect();
            }
        }
    }
    let old_dropped = drop_count.get();
    let collected = gen_gc::collect();
    assert!(
        collected + old_dropped <= drop_count.get(),
        "collected {collected} + {old_dropped} > {}",
        drop_count.get()
    );
    assert_eq!(drop_count.get(), n);

    fn from_index_below(from: &Gc<Atomic>, to: &Gc<Atomic>, values: &[Value]) -> bool {
        let index = |x: &Gc<Atomic>| values.iter().position(|v| matches!(v, Value::Atomic(a) if Gc::ptr_eq(a, x)));
        index(from) < index(to)
    }
}

#[test]
fn gcmodule_test_drop_by_ref_count() {
    test_small_graph(3, &[], 0, 0);
}

#[test]
fn gcmodule_test_self_referential() {
    test_small_graph(1, &[0x00, 0x00, 0x00], 0, 0);
}

#[test]
fn gcmodule_test_3_object_cycle() {
    test_small_graph(3, &[0x01, 0x12, 0x20], 0, 0);
}

#[test]
fn gcmodule_test_2_object_cycle_with_another_incoming_reference() {
    test_small_graph(3, &[0x02, 0x20, 0x10], 0, 0);
}

#[test]
fn gcmodule_test_2_object_cycle_with_another_outgoing_reference() {
    test_small_graph(3, &[0x02, 0x20, 0x01], 0, 0);
}

#[test]
fn gcmodule_test_simple_mixed_graph() {
    test_small_graph(2, &[0, 0x00], 0b10, 0);
    test_small_graph(2, &[0, 0x10], 0b10, 0);
}

#[test]
fn gcmodule_test_collect_multi_times() {
    test_small_graph(2, &[0x01], 0, 3);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]
    #[test]
    fn gcmodule_test_quickcheck_16_vertex_graph(
        edges in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48),
        atomic_bits: u16,
        collect_bits: u16,
    ) {
        test_small_graph(16, &edges, atomic_bits, collect_bits);
    }
}

/// rust-cc's `Circular` with finalization: finalizers walk the cycle through handles.
#[derive(Trace)]
#[trace(finalize)]
struct Circular {
    cc: RefCell<Option<Gc<Circular>>>,
    #[trace(skip)]
    depth: usize,
}

impl Finalize for Circular {
    fn finalize(&self) {
        // Reaches the same objects again, several times, during finalization.
        let mut next = self.cc.borrow().clone();
        for _ in 0..self.depth {
            let now = next.expect("the cycle is intact while finalizers run");
            assert!(Gc::strong_count(&now) >= 1);
            next = now.cc.borrow().clone();
        }
    }
}

#[test]
fn rust_cc_test_cyclic_finalization_aliasing() {
    {
        let cc = Gc::new(Circular { cc: RefCell::new(None), depth: 5 });
        *cc.cc.borrow_mut() = Some(Gc::new(Circular { cc: RefCell::new(Some(cc.clone())), depth: 5 }));
    }
    assert_eq!(gen_gc::collect(), 2);
}

#[test]
fn rust_cc_test_self_loop_finalization_aliasing() {
    {
        let cc = Gc::new(Circular { cc: RefCell::new(None), depth: 4 });
        *cc.cc.borrow_mut() = Some(cc.clone());
    }
    assert_eq!(gen_gc::collect(), 1);
}

#[test]
fn rust_cc_test_less_simple() {
    let a = Gc::new(Circular { cc: RefCell::new(None), depth: 0 });
    let b = Gc::new(Circular { cc: RefCell::new(Some(a.clone())), depth: 0 });
    *a.cc.borrow_mut() = Some(b.clone());
    let (wa, wb) = (Gc::downgrade(&a), Gc::downgrade(&b));
    gen_gc::collect();
    drop(a.clone());
    gen_gc::collect();
    assert!(!gen_gc::is_finalized(&a) && !gen_gc::is_finalized(&b));
    drop((a, b));
    assert!(wa.upgrade().is_some(), "a cycle waits for the collector");
    gen_gc::collect();
    assert!(wa.upgrade().is_none() && wb.upgrade().is_none());
}

#[test]
fn rust_cc_cyclic_finalization_ends() {
    // A finalizer that makes a new cycle each time: one collection still ends. (rust-cc
    // also says the new object is already finalized; ours is finalized when it dies.)
    #[derive(Trace)]
    #[trace(finalize)]
    struct Cyclic {
        cyclic: RefCell<Option<Gc<Cyclic>>>,
    }
    fn cyclic() -> Gc<Cyclic> {
        let cc = Gc::new(Cyclic { cyclic: RefCell::new(None) });
        *cc.cyclic.borrow_mut() = Some(cc.clone());
        cc
    }
    thread_local!(static MAKE_ANOTHER: Cell<bool> = const { Cell::new(true) });
    impl Finalize for Cyclic {
        fn finalize(&self) {
            if MAKE_ANOTHER.with(Cell::get) {
                let cc = cyclic();
                assert!(!gen_gc::is_finalized(&cc));
            }
        }
    }
    drop(cyclic());
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(gen_gc::collect(), 1, "each collection frees the one made by the last");
    // Stop making new ones, so that the last one is freed rather than left at thread exit.
    MAKE_ANOTHER.with(|m| m.set(false));
    assert_eq!(gen_gc::collect(), 1);
    assert_eq!(gen_gc::collect(), 0);
}

#[test]
fn rust_cc_useless_cyclic() {
    let cc = Gc::<u32>::new_cyclic(|_| {
        gen_gc::collect();
        drop(Gc::new(42_u32));
        gen_gc::collect();
        10
    });
    gen_gc::collect();
    assert_eq!(*cc, 10);
    drop(cc);
    gen_gc::collect();
}

#[test]
fn rust_cc_test_complex() {
    #[derive(Trace)]
    struct A {
        b: Gc<B>,
    }
    #[derive(Trace)]
    struct B {
        c: RefCell<Option<Gc<C>>>,
    }
    #[derive(Trace)]
    struct C {
        a: RefCell<Option<Gc<A>>>,
        b: Gc<B>,
    }
    #[derive(Trace)]
    struct D {
        c: Gc<C>,
    }
    let b = Gc::new(B { c: RefCell::new(None) });
    let c = Gc::new(C { a: RefCell::new(None), b: b.clone() });
    *b.c.borrow_mut() = Some(c.clone());
    let a = Gc::new(A { b });
    *c.a.borrow_mut() = Some(a.clone());
    let d = Gc::new(D { c });
    drop(a);
    gen_gc::collect();
    let a = d.c.a.borrow().clone().expect("d keeps the cycle alive");
    assert!(Gc::strong_count(&a) >= 1);
    drop(a);
    let watch = Gc::downgrade(&d.c);
    drop(d);
    gen_gc::collect();
    assert!(watch.upgrade().is_none());
}

#[test]
#[allow(clippy::modulo_one, reason = "the macro checks every alignment, 1 included")]
fn rust_cc_alignment_test() {
    macro_rules! self_cycles {
        ($($align:literal),+) => {$({
            #[derive(Trace)]
            #[repr(align($align))]
            struct A {
                cc: RefCell<Option<Gc<A>>>,
                byte: u8,
            }
            let a = Gc::new(A { cc: RefCell::new(None), byte: 7 });
            assert_eq!(Gc::as_ptr(&a) as usize % $align, 0, "aligned to {}", $align);
            assert_eq!(a.byte, 7);
            *a.cc.borrow_mut() = Some(a.clone());
        })+};
    }
    self_cycles!(1, 2, 4, 8, 16, 32, 64, 128);
    assert_eq!(gen_gc::collect(), 8);
}
