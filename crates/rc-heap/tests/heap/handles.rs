use std::cell::Cell;
use std::mem::size_of;
use std::rc::Rc;

use rc_heap::{Gc, GcAny, ObjectId, TypeInfo};

use crate::common::{DropCounter, Node, Tracked};

#[test]
fn clone_and_drop_count_strong_references() {
    let a = Gc::new(7_u32);
    assert_eq!(Gc::strong_count(&a), 1);
    let b = a.clone();
    assert_eq!(Gc::strong_count(&a), 2);
    assert!(Gc::ptr_eq(&a, &b));
    drop(b);
    assert_eq!(Gc::strong_count(&a), 1);
    assert_eq!(*a, 7);
}

#[test]
fn last_drop_frees_the_value_at_once() {
    let drops = Rc::new(Cell::new(0));
    let a = Gc::new(DropCounter(drops.clone()));
    let b = a.clone();
    drop(a);
    assert_eq!(drops.get(), 0);
    drop(b);
    assert_eq!(drops.get(), 1);
}

#[test]
fn distinct_objects_are_not_ptr_eq_even_when_equal() {
    let a = Gc::new(String::from("x"));
    let b = Gc::new(String::from("x"));
    assert_eq!(a, b);
    assert!(!Gc::ptr_eq(&a, &b));
}

#[test]
fn leaf_types_are_untracked_and_have_an_rc_sized_header() {
    let leaf = Gc::new(1_u64);
    assert!(!Gc::is_tracked(&leaf));
    assert_eq!(TypeInfo::of::<u64>().header_size(), 16);
    assert_eq!(TypeInfo::of::<String>().header_size(), 16);
    assert_eq!(TypeInfo::of::<Vec<u8>>().header_size(), 16);
    assert_eq!(size_of::<Gc<u64>>(), size_of::<usize>());
    assert_eq!(size_of::<Option<Gc<u64>>>(), size_of::<usize>());
}

#[test]
fn types_that_can_hold_a_gc_are_tracked_with_a_header_of_at_most_32_bytes() {
    let node = Node::new("n");
    assert!(Gc::is_tracked(&node));
    assert!(TypeInfo::of::<Node>().is_tracked());
    let expected = if cfg!(feature = "alloc-site") { 40 } else { 32 };
    assert_eq!(TypeInfo::of::<Node>().header_size(), expected);
}

#[test]
fn over_aligned_tracked_values_keep_their_alignment() {
    #[repr(align(64))]
    struct Wide(Option<Gc<u8>>);
    // SAFETY: visits its one field.
    unsafe impl rc_heap::Trace for Wide {
        fn trace<V: rc_heap::Visitor + ?Sized>(&self, visitor: &mut V) {
            self.0.trace(visitor);
        }
    }
    let objects: Vec<Gc<Wide>> = (0..8).map(|_| Gc::new(Wide(Some(Gc::new(1))))).collect();
    for object in &objects {
        assert_eq!(std::ptr::from_ref::<Wide>(object) as usize % 64, 0);
        assert_eq!(**object.0.as_ref().unwrap(), 1);
    }
}

#[test]
fn type_info_names_the_type_in_full_and_short() {
    let info = TypeInfo::of::<Node>();
    assert!(info.name().ends_with("common::Node"), "{}", info.name());
    assert_eq!(info.short_name(), "Node");
    assert_eq!(TypeInfo::of::<Vec<Gc<Node>>>().short_name(), "Vec<Gc<Node>>");
    assert_eq!(info.size(), size_of::<Node>());
    assert!(!info.has_finalizer());
}

#[test]
fn ids_are_stable_and_assigned_on_first_request() {
    let a = Node::new("a");
    let id = Gc::id(&a);
    assert_eq!(Gc::id(&a), id);
    assert_eq!(Gc::to_any(&a).id(), id);
    assert_ne!(Gc::id(&Node::new("b")), id);
}

#[test]
fn an_id_finds_its_object_while_it_lives() {
    let a = Node::new("a");
    let id = Gc::id(&a);
    let found = GcAny::from_id(id).expect("alive");
    assert!(found.ptr_eq(&Gc::to_any(&a)));
    assert_eq!(Gc::strong_count(&a), 2);
}

#[test]
fn an_id_of_a_dead_object_never_names_a_new_one() {
    let mut ids: Vec<ObjectId> = Vec::new();
    for _ in 0..64 {
        let a = Gc::new(5_u64);
        ids.push(Gc::id(&a));
    }
    // Addresses are reused by the allocator; ids are not.
    let survivor = Gc::new(5_u64);
    let survivor_id = Gc::id(&survivor);
    for id in ids {
        assert!(GcAny::from_id(id).is_none());
        assert_ne!(id, survivor_id);
    }
}

/// Each thread has its own heap: an id sent to another thread names nothing there, even
/// where that thread's heap has an object in the same place of its own id map.
#[test]
fn an_id_names_nothing_on_another_thread() {
    let a = Gc::new(String::from("this thread's"));
    let id = Gc::id(&a);
    let (theirs, found) = std::thread::spawn(move || {
        let b = Gc::new(String::from("the other thread's"));
        let theirs = Gc::id(&b);
        (theirs, GcAny::from_id(id).is_some())
    })
    .join()
    .expect("the other thread");
    assert!(!found, "another thread's heap found an object under this thread's id");
    assert_ne!(theirs, id);
    assert!(GcAny::from_id(theirs).is_none());
    assert!(GcAny::from_id(id).expect("alive here").ptr_eq(&Gc::to_any(&a)));
    // The heap's number costs four bytes: an id is the slotmap's key and a `u32`.
    assert_eq!(size_of::<ObjectId>(), 12);
}

#[test]
fn gc_any_downcasts_to_its_own_type_only() {
    let any = Gc::into_any(Node::new("a"));
    assert!(any.is::<rc_heap_tests_node::NodeAlias>());
    assert_eq!(any.short_type_name(), "Node");
    assert!(any.downcast::<u32>().is_none());
    let node: Gc<Node> = any.downcast().unwrap();
    assert_eq!(node.name, "a");
    assert_eq!(Gc::strong_count(&node), 2, "downcast gives a new handle; the GcAny keeps its own");
}

#[test]
fn gc_any_try_downcast_converts_the_handle_or_gives_it_back() {
    let any = Gc::into_any(Node::new("a"));
    let any = any.try_downcast::<u32>().unwrap_err();
    let node: Gc<Node> = any.try_downcast().unwrap();
    assert_eq!(node.name, "a");
    assert_eq!(Gc::strong_count(&node), 1, "the count moved from the GcAny");
}

#[test]
fn gc_any_downcasts_through_a_reference() {
    let a = Node::new("a");
    let objects = [Gc::to_any(&Gc::new(1_u32)), Gc::to_any(&a)];
    let mut names = Vec::new();
    for object in &objects {
        if let Some(node) = object.downcast::<Node>() {
            names.push(node.name.clone());
        }
    }
    assert_eq!(names, ["a"]);
}

#[test]
fn a_referent_reads_as_its_target() {
    let a = Node::new("a");
    let b = Node::new("b");
    *a.next.borrow_mut() = Some(b.clone());
    let referents = Gc::to_any(&a).referents();
    let referent = &referents[0];
    assert_eq!(referent.label, "next");
    assert_eq!(referent.short_type_name(), "Node");
    assert_eq!(referent.id(), Gc::id(&b));
    assert!(referent.ptr_eq(&Gc::to_any(&b)));
    assert_eq!(referent.downcast::<Node>().unwrap().name, "b");
}

mod rc_heap_tests_node {
    pub type NodeAlias = crate::common::Node;
}

#[test]
fn gc_any_keeps_its_object_alive() {
    let drops = Rc::new(Cell::new(0));
    let a = Tracked::new(&drops);
    let any = Gc::to_any(&a);
    drop(a);
    assert_eq!(drops.get(), 0);
    assert_eq!(any.strong_count(), 1);
    drop(any);
    assert_eq!(drops.get(), 1);
}

#[test]
fn describe_is_available_through_the_erased_handle() {
    let any = Gc::into_any(Node::new("root"));
    assert_eq!(any.describe().as_deref(), Some("root"));
    assert_eq!(Gc::into_any(Gc::new(42_i32)).describe().as_deref(), Some("42"));
    assert_eq!(Gc::into_any(Gc::new(String::from("s"))).describe().as_deref(), Some("\"s\""));
}

#[cfg(feature = "alloc-site")]
#[test]
fn alloc_site_records_the_line_of_gc_new() {
    let line = line!() + 1;
    let node = Gc::new(Node { name: "a".into(), next: Default::default(), children: Default::default() });
    let site = Gc::alloc_site(&node).expect("recorded");
    assert_eq!(site.line(), line);
    assert!(site.file().ends_with("handles.rs"));
    assert_eq!(Gc::to_any(&node).alloc_site().map(|s| s.line()), Some(line));
}

#[cfg(not(feature = "alloc-site"))]
#[test]
fn alloc_site_is_none_without_the_feature() {
    assert!(Gc::alloc_site(&Node::new("a")).is_none());
}

#[test]
fn debug_shows_the_value() {
    assert_eq!(format!("{:?}", Gc::new(vec![1, 2])), "[1, 2]");
    let any = Gc::into_any(Gc::new(1_u8));
    assert!(format!("{any:?}").starts_with("<u8 0x"));
}

#[test]
fn handles_format_convert_and_cross_catch_unwind_as_rc_does() {
    let g = Gc::new(7_u64);
    assert_eq!(format!("{g:p}"), format!("{:p}", Gc::as_ptr(&g)), "{{:p}} is the value's address");
    let from_box: Gc<u64> = Gc::from(Box::new(8_u64));
    assert_eq!(*from_box, 8);
    // `Gc<u64>` is unwind safe, as `Rc<u64>` is: it moves into `catch_unwind` as it is.
    let result = std::panic::catch_unwind(move || *g + 1);
    assert_eq!(result.ok(), Some(8));
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<Gc<u64>>();
}

#[test]
fn into_raw_keeps_the_count_and_from_raw_gives_it_back() {
    let drops = Rc::new(Cell::new(0));
    let node = Tracked::new(&drops);
    let weak = Gc::downgrade(&node);
    let raw = Gc::into_raw(node.clone());
    assert_eq!(Gc::strong_count(&node), 2);
    drop(node);
    // Only the raw pointer holds it now.
    assert_eq!(drops.get(), 0);
    assert!(weak.upgrade().is_some());
    // SAFETY: `raw` came from `into_raw` on this thread and is taken back once.
    let back = unsafe { Gc::from_raw(raw) };
    assert_eq!(Gc::strong_count(&back), 1);
    assert!(Gc::ptr_eq(&back, &weak.upgrade().unwrap()));
    drop(back);
    assert_eq!(drops.get(), 1);
    assert!(weak.upgrade().is_none());

    // An over-aligned value, whose value does not start right after the header.
    #[repr(align(64))]
    struct Wide(u8);
    // SAFETY: no handles inside.
    unsafe impl rc_heap::Trace for Wide {
        fn trace<V: rc_heap::Visitor + ?Sized>(&self, _: &mut V) {}
    }
    let wide = Gc::new(Wide(9));
    let raw = Gc::into_raw(wide);
    assert_eq!(raw.addr() % 64, 0);
    // SAFETY: as above.
    let wide = unsafe { Gc::from_raw(raw) };
    assert_eq!(wide.0, 9);
}

#[test]
fn strong_counts_change_through_raw_pointers() {
    let drops = Rc::new(Cell::new(0));
    let raw = Gc::into_raw(Tracked::new(&drops));
    // SAFETY: `raw` came from `into_raw` on this thread; its count is held until the last
    // decrement below.
    unsafe { Gc::increment_strong_count(raw) };
    // SAFETY: as above.
    let seen = unsafe { Gc::from_raw(raw) };
    assert_eq!(Gc::strong_count(&seen), 2);
    drop(seen);
    // SAFETY: as above: the count `into_raw` kept is taken back, the last.
    unsafe { Gc::decrement_strong_count(raw) };
    assert_eq!(drops.get(), 1);

    let text: Gc<str> = Gc::from("shared");
    let raw = Gc::into_raw(text.clone());
    // SAFETY: as above, for an unsized value.
    unsafe { Gc::increment_strong_count(raw) };
    assert_eq!(Gc::strong_count(&text), 3);
    // SAFETY: both counts the pointer kept are taken back once.
    unsafe {
        Gc::decrement_strong_count(raw);
        Gc::decrement_strong_count(raw);
    }
    assert_eq!(Gc::strong_count(&text), 1);
}

#[test]
fn from_raw_takes_back_unsized_values_with_their_metadata() {
    let text: Gc<str> = Gc::from("raw text");
    let raw = Gc::into_raw(text.clone());
    // SAFETY: `raw` came from `into_raw` on this thread and is taken back once.
    let back = unsafe { Gc::from_raw(raw) };
    assert!(Gc::ptr_eq(&back, &text));
    assert_eq!(&*back, "raw text");
    assert_eq!(Gc::strong_count(&text), 2);
    drop(back);

    // Elements aligned to 64: the value starts past the header's end.
    #[derive(Clone, Copy, PartialEq, Debug)]
    #[repr(align(64))]
    struct Wide(u8);
    // SAFETY: no handles inside.
    unsafe impl rc_heap::Trace for Wide {
        fn trace<V: rc_heap::Visitor + ?Sized>(&self, _: &mut V) {}
    }
    let slice: Gc<[Wide]> = Gc::from(&[Wide(1), Wide(2), Wide(3)][..]);
    let raw = Gc::into_raw(slice);
    // SAFETY: as above.
    let slice = unsafe { Gc::from_raw(raw) };
    assert_eq!(&*slice, &[Wide(1), Wide(2), Wide(3)]);

    let drops = Rc::new(Cell::new(0));
    let shape: Gc<dyn std::any::Any> = rc_heap::coerce_gc!(Tracked::new(&drops));
    let raw = Gc::into_raw(shape);
    // SAFETY: as above.
    let shape = unsafe { Gc::from_raw(raw) };
    assert!(shape.is::<Tracked>());
    drop(shape);
    assert_eq!(drops.get(), 1);
}

/// An unraisable report displays as the default report's line, and a lent value displays as
/// the value.
#[test]
fn an_unraisable_report_and_a_lent_value_display_as_their_text() {
    let lines = Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = Rc::clone(&lines);
    let previous =
        rc_heap::set_unraisable_hook(Some(Box::new(move |report| sink.borrow_mut().push(report.to_string()))));
    let object = Gc::new(5_u32);
    let _weak = Gc::downgrade_with_callback(&object, |_| panic!("the callback broke"));
    drop(object);
    drop(rc_heap::set_unraisable_hook(previous));
    assert_eq!(*lines.borrow(), ["a panic in a weak reference callback of a u32 was caught: the callback broke"]);

    let mut text = Gc::new(String::from("lent"));
    let lent = Gc::get_mut(&mut text).expect("unique");
    assert_eq!(format!("{lent} {lent:?}"), "lent \"lent\"");
}
