//! `std::rc` parity: `new_cyclic`, `get_mut`, `make_mut`, `try_unwrap` and friends.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rc_heap::{Gc, GcAny, Trace, Visitor, Weak};

use crate::common::{DropCounter, Node};
use crate::raw::young_list;

/// Points at itself from birth.
struct SelfAware {
    me: Weak<SelfAware>,
    seen_alive_at_birth: bool,
}

// SAFETY: a weak reference is no edge; it is reported as one.
unsafe impl Trace for SelfAware {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.me.trace(visitor);
    }
}

#[test]
fn new_cyclic_gives_a_weak_reference_that_upgrades_once_the_object_is_made() {
    let object = Gc::new_cyclic(|me| SelfAware { me: me.clone(), seen_alive_at_birth: me.upgrade().is_some() });
    assert!(!object.seen_alive_at_birth);
    let me = object.me.upgrade().expect("alive once made");
    assert!(Gc::ptr_eq(&me, &object));
    assert_eq!(Gc::strong_count(&object), 2);
    assert!(young_list().contains(&Gc::to_any(&object).header()));
    let weak = object.me.clone();
    drop((me, object));
    assert!(weak.upgrade().is_none());
}

#[test]
fn new_cyclic_of_a_leaf_counts_strong_references_from_zero() {
    let object = Gc::new_cyclic(|me: &Weak<u64>| {
        assert_eq!(me.strong_count(), 0);
        assert!(me.is_dead());
        7
    });
    assert_eq!(*object, 7);
    assert_eq!(Gc::strong_count(&object), 1);
}

#[test]
fn new_cyclic_whose_maker_panics_frees_the_memory_and_its_weak_stays_dead() {
    let kept: RefCell<Option<Weak<SelfAware>>> = RefCell::new(None);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Gc::new_cyclic(|me: &Weak<SelfAware>| -> SelfAware {
            *kept.borrow_mut() = Some(me.clone());
            panic!("maker failed");
        })
    }));
    assert!(result.is_err());
    let weak = kept.borrow_mut().take().unwrap();
    assert!(weak.upgrade().is_none());
    assert!(weak.is_dead());
    // The heap goes on: a new object at possibly the same address is not reached.
    let fresh = Gc::new_cyclic(|me| SelfAware { me: me.clone(), seen_alive_at_birth: false });
    assert!(weak.upgrade().is_none());
    assert!(fresh.me.upgrade().is_some());
}

#[test]
fn get_mut_lends_the_value_only_to_the_only_handle() {
    let mut a = Gc::new(vec![1]);
    Gc::get_mut(&mut a).unwrap().push(2);
    let b = a.clone();
    assert!(Gc::get_mut(&mut a).is_none());
    drop(b);
    let weak = Gc::downgrade(&a);
    assert!(Gc::get_mut(&mut a).is_none(), "a weak reference could upgrade meanwhile");
    drop(weak);
    let mut guard = Gc::get_mut(&mut a).unwrap();
    guard.push(3);
    assert_eq!(*guard, [1, 2, 3]);
    drop(guard);
    assert_eq!(*a, [1, 2, 3]);
}

#[test]
fn while_lent_a_tracked_object_is_out_of_the_lists_and_out_of_reach_of_its_id() {
    let mut node = Node::new("lent");
    let id = Gc::id(&node);
    let header = Gc::to_any(&node).header();
    let guard = Gc::get_mut(&mut node).unwrap();
    assert!(!young_list().contains(&header));
    assert!(GcAny::from_id(id).is_none());
    drop(guard);
    assert!(young_list().contains(&header));
    assert!(GcAny::from_id(id).is_some());
}

#[test]
fn get_mut_works_on_trait_objects_and_slices() {
    let mut slice: Gc<[u32]> = Gc::from(vec![1, 2, 3]);
    Gc::get_mut(&mut slice).unwrap().reverse();
    assert_eq!(&*slice, &[3, 2, 1]);
    let mut text: Gc<dyn std::fmt::Write> = rc_heap::coerce_gc!(Gc::new(String::new()));
    write!(Gc::get_mut(&mut text).unwrap(), "{}", 42).unwrap();
    let text: Gc<dyn std::any::Any> = {
        let any = Gc::into_any(text);
        rc_heap::coerce_gc!(any.try_downcast::<String>().unwrap())
    };
    assert_eq!(text.downcast::<String>().unwrap().as_str(), "42");
}

#[test]
fn make_mut_changes_in_place_when_unique_and_clones_otherwise() {
    let mut a = Gc::new(5);
    let before = Gc::as_ptr(&a);
    *Gc::make_mut(&mut a) += 1;
    assert_eq!(Gc::as_ptr(&a), before);
    let b = a.clone();
    *Gc::make_mut(&mut a) += 1;
    assert_eq!((*a, *b), (7, 6));
    assert!(!Gc::ptr_eq(&a, &b));
}

#[test]
fn make_mut_with_weak_references_leaves_them_on_the_old_object() {
    let mut a = Gc::new(String::from("old"));
    let died = Rc::new(Cell::new(false));
    let flag = died.clone();
    let weak = Gc::downgrade_with_callback(&a, move |_| flag.set(true));
    Gc::make_mut(&mut a).push_str("+new");
    // The only strong handle moved to the clone: the old object died, as any death.
    assert!(died.get());
    assert!(weak.upgrade().is_none());
    assert_eq!(*a, "old+new");
}

/// Records whether its finalizer ran.
struct Finalized(Rc<Cell<bool>>);

// SAFETY: holds no `Gc`.
unsafe impl Trace for Finalized {
    const TRACKED: bool = false;
    const HAS_FINALIZER: bool = true;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
    fn finalize(&self) {
        self.0.set(true);
    }
}

#[test]
fn try_unwrap_moves_the_value_out_of_the_only_handle() {
    let drops = Rc::new(Cell::new(0));
    let a = Gc::new(DropCounter(drops.clone()));
    let b = a.clone();
    let Err(a) = Gc::try_unwrap(a) else { panic!("shared: no unwrap") };
    drop(b);
    let value = Gc::try_unwrap(a).ok().unwrap();
    assert_eq!(drops.get(), 0);
    drop(value);
    assert_eq!(drops.get(), 1);
}

#[test]
fn try_unwrap_kills_weak_references_runs_callbacks_and_skips_the_finalizer() {
    let finalized = Rc::new(Cell::new(false));
    let a = Gc::new(Finalized(finalized.clone()));
    let id = Gc::id(&a);
    let died = Rc::new(Cell::new(0));
    let count = died.clone();
    let weak = Gc::downgrade_with_callback(&a, move |dead| {
        assert!(dead.upgrade().is_none());
        count.set(count.get() + 1);
    });
    let value = Gc::try_unwrap(a).ok().unwrap();
    assert_eq!(died.get(), 1);
    assert!(weak.upgrade().is_none());
    assert!(GcAny::from_id(id).is_none());
    assert!(!finalized.get());
    drop(value);
}

#[test]
fn try_unwrap_of_a_tracked_object_takes_it_out_of_the_lists() {
    let node = Node::new("alone");
    let header = Gc::to_any(&node).header();
    let value = Gc::try_unwrap(node).ok().unwrap();
    assert!(!young_list().contains(&header));
    assert_eq!(value.name, "alone");
}

#[test]
fn into_inner_and_unwrap_or_clone() {
    let a = Gc::new(String::from("a"));
    let b = a.clone();
    assert_eq!(Gc::into_inner(a), None);
    assert_eq!(Gc::strong_count(&b), 1);
    assert_eq!(Gc::into_inner(b).as_deref(), Some("a"));
    let c = Gc::new(String::from("c"));
    let d = c.clone();
    assert_eq!(Gc::unwrap_or_clone(c), "c");
    assert_eq!(Gc::unwrap_or_clone(d), "c");
}

#[test]
fn as_ptr_points_at_the_value() {
    let a = Gc::new(3_u64);
    assert_eq!(Gc::as_ptr(&a), &*a as *const u64);
    let s: Gc<str> = Gc::from("abc");
    assert_eq!(Gc::as_ptr(&s), &*s as *const str);
}

#[test]
fn weak_new_never_upgrades() {
    let weak: Weak<Node> = Weak::new();
    assert!(weak.upgrade().is_none());
    assert_eq!(weak.strong_count(), 0);
    assert_eq!(weak.weak_count(), 0);
}

#[test]
fn weak_counts_follow_rc() {
    let a = Gc::new(1_u8);
    let first = Gc::downgrade(&a);
    let second = first.clone();
    let third = Gc::downgrade_with_callback(&a, |_| {});
    assert_eq!((first.strong_count(), first.weak_count()), (1, 3));
    drop(second);
    assert_eq!(third.weak_count(), 2);
    drop(a);
    assert_eq!((first.strong_count(), first.weak_count()), (0, 0));
}
