//! Unsized values: trait objects, `str` and slices, and traced closures.

use std::any::Any;
use std::cell::Cell;
use std::rc::Rc;

use rc_heap::{Callable, Closure, Gc, GcAny, Segment, Trace, TypeInfo, Visitor, coerce_gc};

use crate::common::{DropCounter, Node};

trait Shape {
    fn area(&self) -> u32;
}

struct Square {
    side: u32,
    _drops: DropCounter,
}

impl Shape for Square {
    fn area(&self) -> u32 {
        self.side * self.side
    }
}

// SAFETY: holds no `Gc`.
unsafe impl Trace for Square {
    const TRACKED: bool = false;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
}

/// A tracked shape: it holds a node.
struct Framed {
    frame: Gc<Node>,
}

impl Shape for Framed {
    fn area(&self) -> u32 {
        self.frame.name.len() as u32
    }
}

// SAFETY: visits its one `Gc` once.
unsafe impl Trace for Framed {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        visitor.enter(Segment::Field("frame"));
        self.frame.trace(visitor);
        visitor.leave();
    }
}

fn square(side: u32, drops: &Rc<Cell<usize>>) -> Gc<Square> {
    Gc::new(Square { side, _drops: DropCounter(drops.clone()) })
}

#[test]
fn a_trait_object_calls_the_concrete_type_and_dies_with_its_last_handle() {
    let drops = Rc::new(Cell::new(0));
    let shape: Gc<dyn Shape> = coerce_gc!(square(3, &drops));
    let other = shape.clone();
    assert_eq!(shape.area(), 9);
    assert_eq!(Gc::strong_count(&shape), 2);
    drop(shape);
    assert_eq!(drops.get(), 0);
    drop(other);
    assert_eq!(drops.get(), 1);
}

#[test]
fn a_trait_object_keeps_its_concrete_type_for_introspection() {
    let drops = Rc::new(Cell::new(0));
    let shape = coerce_gc!(square(2, &drops) => dyn Shape);
    assert_eq!(Gc::type_info(&shape).short_name(), "Square");
    assert!(!Gc::is_tracked(&shape));
    let any = Gc::to_any(&shape);
    assert_eq!(any.short_type_name(), "Square");
    let back: Gc<Square> = any.downcast().unwrap();
    assert_eq!(back.side, 2);

    let framed: Gc<dyn Shape> = coerce_gc!(Gc::new(Framed { frame: Node::new("abcd") }));
    assert!(Gc::is_tracked(&framed));
    assert_eq!(framed.area(), 4);
    let referents = Gc::to_any(&framed).referents();
    assert_eq!(referents.len(), 1);
    assert_eq!(referents[0].label, "frame");
    assert_eq!(referents[0].target.describe().as_deref(), Some("abcd"));
}

#[test]
fn coercion_without_a_target_keeps_the_type() {
    let drops = Rc::new(Cell::new(0));
    let same = coerce_gc!(square(4, &drops));
    assert_eq!(same.side, 4);
}

#[test]
fn weak_references_to_a_trait_object_upgrade_and_die() {
    let drops = Rc::new(Cell::new(0));
    let shape: Gc<dyn Shape> = coerce_gc!(square(5, &drops));
    let called = Rc::new(Cell::new(false));
    let flag = called.clone();
    let weak = Gc::downgrade_with_callback(&shape, move |dead| {
        assert!(dead.upgrade().is_none());
        flag.set(true);
    });
    assert_eq!(weak.upgrade().unwrap().area(), 25);
    assert_eq!(weak.strong_count(), 1);
    drop(shape);
    assert!(called.get());
    assert!(weak.upgrade().is_none());
    assert_eq!(format!("{weak:?}"), "(Weak<dyn Shape>: dead)");
}

#[test]
fn downcasting_a_dyn_any_checks_the_objects_own_type() {
    let any: Gc<dyn Any> = coerce_gc!(Gc::new(String::from("text")));
    let any = any.downcast::<u32>().unwrap_err();
    assert!(any.is::<String>());
    let text: Gc<String> = any.downcast().unwrap();
    assert_eq!(*text, "text");
    assert!(Gc::to_any(&text).downcast::<u32>().is_none());
}

#[test]
fn an_array_coerces_to_a_slice() {
    let array = Gc::new([1_u16, 2, 3]);
    let slice: Gc<[u16]> = coerce_gc!(array);
    assert_eq!(&*slice, &[1, 2, 3]);
    assert_eq!(Gc::type_info(&slice).short_name(), "[u16; 3]");
}

#[test]
fn strings_live_in_one_object() {
    let a: Gc<str> = Gc::from("héllo");
    let b: Gc<str> = Gc::from(String::from("world"));
    let empty: Gc<str> = Gc::default();
    let mut owned = String::from("mut");
    let from_mut: Gc<str> = Gc::from(owned.as_mut_str());
    assert_eq!((&*a, &*b, &*empty, &*from_mut), ("héllo", "world", "", "mut"));
    assert_eq!(a.len(), 6);
    assert!(!Gc::is_tracked(&a));
    assert_eq!(Gc::type_info(&a).short_name(), "str");
    let any = Gc::to_any(&a);
    assert_eq!(any.describe().as_deref(), Some("\"héllo\""));
    assert_eq!(any.object_size(), TypeInfo::of_str().header_size() + 8);
    assert!(any.downcast_slice::<u8>().is_none());
    let back = any.downcast_str().unwrap();
    assert!(Gc::ptr_eq(&back, &a));
    let any = any.try_downcast_slice::<u8>().unwrap_err();
    assert!(Gc::ptr_eq(&any.try_downcast_str().unwrap(), &a));
    assert_eq!(format!("{a} {b:?}"), "héllo \"world\"");
}

#[test]
fn slices_are_made_from_vectors_slices_arrays_and_iterators() {
    let from_vec: Gc<[u32]> = Gc::from(vec![1, 2, 3]);
    let from_slice: Gc<[u32]> = Gc::from(&[4_u32, 5][..]);
    let from_array: Gc<[u32]> = Gc::from([6_u32]);
    let mut source = [7_u32, 8];
    let from_mut_slice: Gc<[u32]> = Gc::from(&mut source[..]);
    assert_eq!((&*from_mut_slice, source), (&[7, 8][..], [7, 8]));
    let from_iter: Gc<[u32]> = (0..4).map(|i| i * 10).collect();
    let from_fn = Gc::<[u32]>::from_fn(3, |i| i as u32 + 100);
    let empty: Gc<[u32]> = Gc::default();
    assert_eq!(&*from_vec, &[1, 2, 3]);
    assert_eq!(&*from_slice, &[4, 5]);
    assert_eq!(&*from_array, &[6]);
    assert_eq!(&*from_iter, &[0, 10, 20, 30]);
    assert_eq!(&*from_fn, &[100, 101, 102]);
    assert!(empty.is_empty());
    assert_eq!(Gc::type_info(&from_vec).name(), "[u32]");
    assert!(!Gc::type_info(&from_vec).is_sized());
    assert_eq!(Gc::to_any(&from_iter).object_size(), TypeInfo::of_slice::<u32>().header_size() + 16);
    assert!(Gc::to_any(&from_vec).downcast_slice::<u64>().is_none());
    assert!(Gc::to_any(&from_vec).downcast_str().is_none());
    let back = Gc::to_any(&from_vec).downcast_slice::<u32>().unwrap();
    assert!(Gc::ptr_eq(&back, &from_vec));
}

#[test]
fn a_slice_drops_each_element_once() {
    let drops = Rc::new(Cell::new(0));
    let slice: Gc<[DropCounter]> = (0..5).map(|_| DropCounter(drops.clone())).collect();
    let other = slice.clone();
    drop(slice);
    assert_eq!(drops.get(), 0);
    drop(other);
    assert_eq!(drops.get(), 5);
}

/// Clones fine a few times, then panics.
struct FragileClone {
    clones_left: Rc<Cell<usize>>,
    _drops: DropCounter,
}

impl Clone for FragileClone {
    fn clone(&self) -> Self {
        let left = self.clones_left.get();
        assert!(left > 0, "clone failed");
        self.clones_left.set(left - 1);
        FragileClone { clones_left: self.clones_left.clone(), _drops: DropCounter(self._drops.0.clone()) }
    }
}

// SAFETY: holds no `Gc`.
unsafe impl Trace for FragileClone {
    const TRACKED: bool = false;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
}

#[test]
fn a_panicking_clone_frees_the_half_made_slice() {
    let drops = Rc::new(Cell::new(0));
    let clones_left = Rc::new(Cell::new(2));
    let source: Vec<FragileClone> =
        (0..4).map(|_| FragileClone { clones_left: clones_left.clone(), _drops: DropCounter(drops.clone()) }).collect();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Gc::<[FragileClone]>::from(&source[..])));
    assert!(result.is_err());
    // The two clones made before the panic were dropped with the half-made object.
    assert_eq!(drops.get(), 2);
    drop(source);
    assert_eq!(drops.get(), 6);
}

#[test]
fn a_tracked_slice_reports_its_elements_with_indices() {
    let a = Node::new("a");
    let b = Node::new("b");
    let slice: Gc<[Gc<Node>]> = Gc::from(vec![a.clone(), b.clone()]);
    assert!(Gc::is_tracked(&slice));
    assert_eq!(Gc::strong_count(&a), 2);
    let referents = Gc::to_any(&slice).referents();
    let labels: Vec<(String, Option<String>)> =
        referents.iter().map(|r| (r.label.clone(), r.target.describe())).collect();
    assert_eq!(labels, [("[0]".to_owned(), Some("a".to_owned())), ("[1]".to_owned(), Some("b".to_owned()))]);
    drop(referents);
    drop(slice);
    assert_eq!(Gc::strong_count(&a), 1);
}

#[test]
fn over_aligned_and_zero_sized_elements() {
    #[derive(Clone, Copy, PartialEq, Debug)]
    #[repr(align(64))]
    struct Wide(u8);
    // SAFETY: holds no `Gc`.
    unsafe impl Trace for Wide {
        const TRACKED: bool = false;
        fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
    }
    let wide: Gc<[Wide]> = Gc::from(vec![Wide(1), Wide(2)]);
    assert_eq!(&*wide, &[Wide(1), Wide(2)]);
    assert_eq!(Gc::as_ptr(&wide).cast::<u8>().addr() % 64, 0);
    let units: Gc<[()]> = std::iter::repeat_n((), 1000).collect();
    assert_eq!(units.len(), 1000);
}

#[test]
fn a_closure_traces_its_captures() {
    let node = Node::new("captured");
    let closure = Closure::new((node.clone(), 2_u32), |(node, times): &(Gc<Node>, u32), suffix: &str| {
        format!("{}{}", node.name.repeat(*times as usize), suffix)
    });
    let callable: Gc<dyn Callable<&'static str, String>> = coerce_gc!(Gc::new(closure));
    assert_eq!(callable.call("!"), "capturedcaptured!");
    let referents = Gc::to_any(&callable).referents();
    assert_eq!(referents.len(), 1);
    assert_eq!(referents[0].label, "captures.0");
    assert!(referents[0].target.ptr_eq(&Gc::to_any(&node)));
}

#[test]
fn gc_any_from_a_slice_and_a_trait_object() {
    let slice: Gc<[u8]> = Gc::from(&b"abc"[..]);
    let any: GcAny = slice.clone().into();
    assert_eq!(any.type_name(), "[u8]");
    assert_eq!(Gc::strong_count(&slice), 2);
}

#[cfg(feature = "nightly")]
#[test]
fn on_nightly_handles_coerce_implicitly() {
    let drops = Rc::new(Cell::new(0));
    let shape: Gc<dyn Shape> = square(6, &drops);
    let small = square(1, &drops);
    let weak: rc_heap::Weak<Square> = Gc::downgrade(&small);
    let weak: rc_heap::Weak<dyn Shape> = weak;
    assert_eq!(weak.upgrade().unwrap().area(), 1);
    drop(small);
    assert_eq!(shape.area(), 36);
    assert!(weak.upgrade().is_none());
    drop(shape);
    assert_eq!(drops.get(), 2);
}
