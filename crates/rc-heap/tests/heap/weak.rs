use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rc_heap::{Gc, Weak};

use crate::common::Node;

#[test]
fn upgrade_gives_the_object_while_it_lives() {
    let a = Gc::new(3_u8);
    let w = Gc::downgrade(&a);
    assert_eq!(w.upgrade().as_deref(), Some(&3));
    assert!(!w.is_dead());
    drop(a);
    assert!(w.upgrade().is_none());
    assert!(w.is_dead());
    assert_eq!(w.strong_count(), 0);
}

#[test]
fn weak_references_do_not_keep_the_object_alive() {
    let a = Node::new("a");
    let w = Gc::downgrade(&a);
    assert_eq!(Gc::strong_count(&a), 1);
    assert_eq!(Gc::weak_count(&a), 1);
    drop(a);
    assert!(w.is_dead());
}

#[test]
fn plain_downgrades_share_one_weak_reference() {
    let a = Node::new("a");
    let w1 = Gc::downgrade(&a);
    let w2 = Gc::downgrade(&a);
    assert!(w1.same_reference(&w2));
    assert_eq!(w1.handle_count(), 2);
    let with_callback = Gc::downgrade_with_callback(&a, |_| {});
    assert!(!w1.same_reference(&with_callback));
    assert_eq!(Gc::weak_count(&a), 3);
}

#[test]
fn ptr_eq_compares_live_objects_and_dead_references() {
    // As `std::rc::Weak::ptr_eq` while the objects live, and Python's weakref equality once
    // they are dead.
    let (a, b) = (Node::new("a"), Node::new("b"));
    let plain = Gc::downgrade(&a);
    let with_callback = Gc::downgrade_with_callback(&a, |_| {});
    let other = Gc::downgrade(&b);
    assert!(plain.ptr_eq(&with_callback), "one object, whatever the callbacks");
    assert!(!plain.ptr_eq(&other));
    drop(a);
    assert!(!plain.ptr_eq(&with_callback), "dead: only the same reference");
    assert!(plain.ptr_eq(&plain.clone()));
    assert!(Weak::ptr_eq(&with_callback, &with_callback));
}

#[test]
fn a_new_weak_never_upgrades() {
    let w: Weak<Node> = Weak::new();
    assert!(w.upgrade().is_none());
    assert!(w.is_dead());
}

#[test]
fn new_weaks_are_equal_to_each_other_only() {
    // As `std::rc::Weak::ptr_eq` says of two `Weak::new()`s.
    let (a, b): (Weak<Node>, Weak<Node>) = (Weak::new(), Weak::new());
    assert!(Weak::ptr_eq(&a, &b));
    let node = Node::new("n");
    let dead = Gc::downgrade(&node);
    drop(node);
    assert!(dead.is_dead());
    assert!(!Weak::ptr_eq(&a, &dead), "a weak reference whose object died is not a new one");
}

#[test]
fn callback_runs_once_when_the_object_dies() {
    let calls = Rc::new(Cell::new(0));
    let a = Node::new("a");
    let seen = calls.clone();
    let w = Gc::downgrade_with_callback(&a, move |dead| {
        assert!(dead.is_dead());
        seen.set(seen.get() + 1);
    });
    assert!(w.has_callback());
    drop(a);
    assert_eq!(calls.get(), 1);
    assert!(!w.has_callback());
    drop(w);
    assert_eq!(calls.get(), 1);
}

#[test]
fn callbacks_run_newest_first() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let a = Gc::new(1_u32);
    let mut keep = Vec::new();
    for i in 0..4 {
        let order = order.clone();
        keep.push(Gc::downgrade_with_callback(&a, move |_| order.borrow_mut().push(i)));
    }
    drop(a);
    assert_eq!(*order.borrow(), vec![3, 2, 1, 0]);
}

#[test]
fn every_weak_reference_reads_dead_before_any_callback_runs() {
    let a = Node::new("a");
    let plain = Gc::downgrade(&a);
    let later = Rc::new(RefCell::new(None::<Weak<Node>>));
    let saw_alive = Rc::new(Cell::new(false));
    let (check_plain, check_later, flag) = (plain.clone(), later.clone(), saw_alive.clone());
    let first = Gc::downgrade_with_callback(&a, move |_| {
        let later_alive = check_later.borrow().as_ref().is_some_and(|w| !w.is_dead());
        flag.set(flag.get() || !check_plain.is_dead() || later_alive);
    });
    *later.borrow_mut() = Some(Gc::downgrade_with_callback(&a, |_| {}));
    drop(a);
    assert!(!saw_alive.get());
    drop(first);
}

#[test]
fn a_callback_does_not_run_when_its_weak_reference_is_gone() {
    let calls = Rc::new(Cell::new(0));
    let a = Gc::new(0_u8);
    let seen = calls.clone();
    let w = Gc::downgrade_with_callback(&a, move |_| seen.set(seen.get() + 1));
    drop(w);
    drop(a);
    assert_eq!(calls.get(), 0);
}

#[test]
fn callbacks_may_allocate_and_drop_objects() {
    let a = Node::new("a");
    let made = Rc::new(RefCell::new(Vec::new()));
    let sink = made.clone();
    let _w = Gc::downgrade_with_callback(&a, move |_| {
        let fresh = Node::new("fresh");
        let other = Node::new("other");
        Node::link(&fresh, &other);
        drop(other);
        sink.borrow_mut().push(fresh);
    });
    drop(a);
    let made = made.borrow();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].next.borrow().as_ref().unwrap().name, "other");
}

#[test]
fn callbacks_of_objects_dying_in_a_chain_all_run() {
    let deaths = Rc::new(RefCell::new(Vec::new()));
    let head = Node::new("0");
    let mut keep = Vec::new();
    let mut tail = head.clone();
    for i in 1..5 {
        let next = Node::new(&i.to_string());
        Node::link(&tail, &next);
        tail = next;
    }
    drop(tail);
    let mut cursor = Some(head.clone());
    while let Some(node) = cursor {
        let deaths = deaths.clone();
        let name = node.name.clone();
        keep.push(Gc::downgrade_with_callback(&node, move |_| deaths.borrow_mut().push(name)));
        cursor = node.next.borrow().clone();
    }
    drop(head);
    assert_eq!(*deaths.borrow(), ["0", "1", "2", "3", "4"]);
}

#[test]
fn a_weak_reference_to_a_leaf_works_the_same() {
    let s = Gc::new(String::from("leaf"));
    let w = Gc::downgrade(&s);
    assert_eq!(w.upgrade().unwrap().as_str(), "leaf");
    drop(s);
    assert!(w.upgrade().is_none());
}

#[test]
fn dropping_weak_references_first_leaves_no_trace() {
    let a = Node::new("a");
    for _ in 0..100 {
        let _ = Gc::downgrade_with_callback(&a, |_| unreachable!("handle dropped before death"));
    }
    assert_eq!(Gc::weak_count(&a), 0);
    drop(a);
}

/// Weak references, callbacks and ids of `object`, which dies when dropped.
fn weak_references_and_id_follow_the_object_of<T: ?Sized + 'static>(object: Gc<T>) {
    let id = Gc::id(&object);
    let ran = Rc::new(Cell::new(false));
    let plain = Gc::downgrade(&object);
    let flag = Rc::clone(&ran);
    let with_callback = Gc::downgrade_with_callback(&object, move |weak| {
        assert!(weak.is_dead());
        flag.set(true);
    });
    assert_eq!(Gc::weak_count(&object), 2);
    assert_eq!(Gc::id(&object), id, "an id is given once");
    assert!(rc_heap::GcAny::from_id(id).is_some());
    drop(object);
    assert!(ran.get());
    assert!(plain.is_dead() && with_callback.is_dead());
    assert!(rc_heap::GcAny::from_id(id).is_none());
}

#[test]
fn objects_the_pools_serve_and_those_they_do_not_keep_weak_references_alike() {
    // Under 512 bytes: a block of a pool, whose array keeps the side entry.
    weak_references_and_id_follow_the_object_of(Gc::new(5_u64));
    weak_references_and_id_follow_the_object_of(Node::new("small"));
    weak_references_and_id_follow_the_object_of(Gc::<[u64]>::from(vec![1, 2, 3]));
    // Over 512 bytes: its own allocation, whose entry is in the side table.
    weak_references_and_id_follow_the_object_of(Gc::new([7_u64; 100]));
    weak_references_and_id_follow_the_object_of(Gc::<[u64]>::from(vec![1; 100]));
}

#[test]
fn a_block_reused_after_a_death_starts_with_no_weak_references() {
    let first = Gc::new(1_u64);
    let weak = Gc::downgrade(&first);
    let address = Gc::as_ptr(&first);
    drop(first);
    assert!(weak.is_dead());
    // The next object of the size class takes the freed block (under Miri, perhaps not).
    let second = Gc::new(2_u64);
    if Gc::as_ptr(&second) == address {
        assert_eq!(Gc::weak_count(&second), 0);
    }
    let fresh = Gc::downgrade(&second);
    assert_eq!(fresh.upgrade().as_deref(), Some(&2));
    assert!(weak.upgrade().is_none());
}

trait Named {
    fn name(&self) -> String;
}

impl Named for Node {
    fn name(&self) -> String {
        self.name.clone()
    }
}

#[test]
fn weak_references_coerce_to_trait_objects_alive_dead_or_unborn() {
    let node = Node::new("n");
    let with_callback = Gc::downgrade_with_callback(&node, |_| {});
    let plain: Weak<dyn Named> = rc_heap::coerce_weak!(Gc::downgrade(&node));
    let named = rc_heap::coerce_weak!(with_callback.clone() => dyn Named);
    assert_eq!(plain.upgrade().map(|n| n.name()).as_deref(), Some("n"));
    assert!(named.same_reference(&with_callback), "the same weak reference, callback and all");
    assert_eq!(with_callback.handle_count(), 2);
    drop(node);
    assert!(plain.upgrade().is_none() && named.is_dead());
    let never: Weak<dyn Named> = rc_heap::coerce_weak!(Weak::<Node>::new());
    assert!(never.upgrade().is_none());
}

/// A watcher that keeps the tags reported to it.
#[derive(Default)]
struct Reports(RefCell<Vec<usize>>);

impl rc_heap::DeathWatch for Reports {
    fn died(&self, tag: usize) {
        self.0.borrow_mut().push(tag);
    }
}

#[test]
fn watched_tags_name_the_weak_references_reporting_to_one_watcher_newest_first() {
    let first = Rc::new(Reports::default());
    let second = Rc::new(Reports::default());
    let first_watch = rc_heap::Watcher::new(Rc::downgrade(&first) as _);
    let second_watch = rc_heap::Watcher::new(Rc::downgrade(&second) as _);
    let object = Node::new("object");
    let other = Node::new("other");
    let one = Gc::downgrade_watched(&object, &first_watch, 1);
    let _plain = Gc::downgrade(&object);
    let _with_callback = Gc::downgrade_with_callback(&object, |_| {});
    let _two = Gc::downgrade_watched(&object, &second_watch, 2);
    let three = Gc::downgrade_watched(&object, &first_watch, 3);
    let four = Gc::downgrade_watched(&object, &first_watch, 4);
    let _elsewhere = Gc::downgrade_watched(&other, &first_watch, 5);
    let tags = |watch: &rc_heap::Watcher| Gc::watched_tags(&object, watch).collect::<Vec<_>>();
    assert_eq!(tags(&first_watch), [4, 3, 1]);
    assert_eq!(tags(&second_watch), [2]);
    // A dropped weak reference is no longer the object's.
    drop(three);
    assert_eq!(tags(&first_watch), [4, 1]);
    assert!(one.refers_to(&object) && !one.refers_to(&other));
    // After the death, the tags were reported (newest first) and the weak references refer
    // to nothing.
    let object_copy = Gc::downgrade(&object);
    drop(object);
    assert!(object_copy.is_dead() && !one.refers_to(&other));
    assert_eq!(*first.0.borrow(), [4, 1]);
    assert_eq!(*second.0.borrow(), [2]);
    assert!(Gc::watched_tags(&other, &second_watch).next().is_none());
    drop(four);
}

#[test]
fn find_watched_runs_accept_after_the_walk_so_it_may_drop_the_weak_references_it_is_given() {
    let watcher = Rc::new(Reports::default());
    let watch = rc_heap::Watcher::new(Rc::downgrade(&watcher) as _);
    let object = Node::new("object");
    for several in [false, true] {
        let weaks = RefCell::new(vec![Gc::downgrade_watched(&object, &watch, 1)]);
        if several {
            weaks.borrow_mut().push(Gc::downgrade_watched(&object, &watch, 2));
        }
        let mut seen = Vec::new();
        // Each tag offered drops every weak reference still held, the offered one included.
        let found = Gc::find_watched(&object, &watch, |tag| {
            seen.push(tag);
            weaks.borrow_mut().clear();
            false
        });
        assert_eq!(found, None);
        assert_eq!(seen, if several { vec![2, 1] } else { vec![1] });
        assert!(Gc::watched_tags(&object, &watch).next().is_none(), "every weak reference was dropped");
    }
    let kept = Gc::downgrade_watched(&object, &watch, 7);
    assert_eq!(Gc::find_watched(&object, &watch, |tag| tag == 7), Some(7));
    drop(object);
    assert_eq!(*watcher.0.borrow(), [7]);
    drop(kept);
}

/// `Watcher::upgrade` and `Watcher::is_dead` answer as the weak reference itself does, for
/// the weak reference recorded under a tag and for any other handed in with it.
#[test]
fn a_watcher_upgrades_as_the_weak_reference_does_whatever_it_is_given() {
    let reports = Rc::new(Reports::default());
    let watch = rc_heap::Watcher::new(Rc::downgrade(&reports) as _);
    let same = |tag: usize, weak: &Weak<Node>| {
        let (direct, through) = (weak.upgrade(), watch.upgrade(tag, weak));
        assert_eq!(direct.is_some(), through.is_some(), "tag {tag}");
        if let (Some(direct), Some(through)) = (&direct, &through) {
            assert!(Gc::ptr_eq(direct, through));
        }
        assert_eq!(weak.is_dead(), watch.is_dead(tag, weak), "tag {tag}");
        through.is_some()
    };
    let a = Node::new("a");
    let b = Node::new("b");
    let a1 = Gc::downgrade_watched(&a, &watch, 1);
    let b2 = Gc::downgrade_watched(&b, &watch, 2);
    let plain = Gc::downgrade(&a);
    assert!(same(1, &a1) && same(2, &b2));
    // Handed in under another tag, or not watched at all: upgraded as usual.
    assert!(same(2, &a1) && same(1, &plain) && same(99, &b2));
    // A newer weak reference under tag 1 (to b) takes the record; the older one still
    // upgrades to its own object.
    let b1 = Gc::downgrade_watched(&b, &watch, 1);
    assert!(same(1, &b1) && same(1, &a1));
    assert!(Gc::ptr_eq(&watch.upgrade(1, &a1).unwrap(), &a));
    // Dropping the older one leaves the newer one recorded.
    drop(a1);
    assert!(same(1, &b1));
    // A death: every weak reference to it reads dead through the watcher, also from a
    // callback that runs before the report.
    let seen = Rc::new(RefCell::new(None));
    let seen_in_callback = Rc::clone(&seen);
    let (watch_in_callback, b2_in_callback) = (watch.clone(), b2.clone());
    let _callback = Gc::downgrade_with_callback(&b, move |_| {
        *seen_in_callback.borrow_mut() = Some(watch_in_callback.upgrade(2, &b2_in_callback).is_none());
    });
    drop(b);
    assert_eq!(*seen.borrow(), Some(true), "dead through the watcher before the reports");
    assert!(!same(1, &b1) && !same(2, &b2));
    assert_eq!(*reports.0.borrow(), [1, 2]);
    // A weak reference freed while its object lives is forgotten: a new one made in its
    // memory under the same tag, to another object, is recorded afresh.
    let c = Node::new("c");
    for round in 0..4 {
        let d = Node::new("d");
        let c3 = Gc::downgrade_watched(&c, &watch, 3);
        assert!(same(3, &c3), "round {round}");
        drop(c3);
        let d3 = Gc::downgrade_watched(&d, &watch, 3);
        assert!(Gc::ptr_eq(&watch.upgrade(3, &d3).unwrap(), &d));
        drop(d);
        assert!(!same(3, &d3));
    }
    assert!(same(1, &plain));
    drop(a);
    assert!(!same(1, &plain));
    // Any tag will do, the largest too (it is not recorded, and upgrades all the same).
    let far = Node::new("far");
    let far_weak = Gc::downgrade_watched(&far, &watch, usize::MAX);
    assert!(same(usize::MAX, &far_weak));
    drop(far);
    assert!(!same(usize::MAX, &far_weak));
    assert_eq!(reports.0.borrow().last(), Some(&usize::MAX));
    // A watched weak reference dropped while its object lives leaves nothing recorded: weak
    // references made after it, likely in its memory, are not taken for it, before their
    // objects die or after.
    for round in 0..4 {
        let e = Node::new("e");
        drop(Gc::downgrade_watched(&e, &watch, 4));
        let f = Node::new("f");
        let others: Vec<Weak<Node>> = (0..4).map(|_| Gc::downgrade_with_callback(&f, |_| {})).collect();
        assert!(others.iter().all(|other| same(4, other)), "round {round}");
        drop(f);
        assert!(others.iter().all(|other| !same(4, other)), "round {round}");
        drop(e);
    }
}

#[test]
fn a_deferred_watcher_marks_deaths_for_its_owner_to_take() {
    let watcher = rc_heap::Watcher::deferred();
    assert!(watcher.is_deferred());
    let objects: Vec<Gc<Node>> = (0..5).map(|n| Node::new(&format!("n{n}"))).collect();
    let weaks: Vec<Weak<Node>> =
        objects.iter().enumerate().map(|(tag, object)| Gc::downgrade_watched(object, &watcher, tag)).collect();
    // Its reports run no code: they are no callbacks, and none the collector must look for.
    assert!(!rc_heap::raw::weak_callbacks_pending());
    assert!(!weaks.iter().any(Weak::has_callback));
    let mut objects = objects.into_iter().map(Some).collect::<Vec<_>>();
    for tag in [3, 1, 4] {
        objects[tag] = None;
    }
    assert_eq!(watcher.dead_count(), 3);
    for (tag, weak) in weaks.iter().enumerate() {
        let alive = objects[tag].is_some();
        assert_eq!(watcher.upgrade(tag, weak).is_some(), alive, "tag {tag}");
        assert_eq!(watcher.is_dead(tag, weak), !alive);
    }
    let mut taken = Vec::new();
    watcher.take_deaths(|tag| taken.push(tag));
    assert_eq!(taken, [1, 3, 4], "lowest tag first");
    assert_eq!(watcher.dead_count(), 0);
    watcher.take_deaths(|tag| panic!("tag {tag} taken twice"));
    drop(objects);
    assert_eq!(watcher.dead_count(), 2);
    drop(weaks);
    // The marks stay until taken, also when the weak references are gone.
    assert_eq!(watcher.dead_count(), 2);
    watcher.take_deaths(|tag| taken.push(tag));
    assert_eq!(taken, [1, 3, 4, 0, 2]);
    assert!(!rc_heap::raw::weak_callbacks_pending());
}

#[test]
fn deaths_caused_while_deaths_are_taken_are_taken_by_the_same_call() {
    let watcher = rc_heap::Watcher::deferred();
    let objects: RefCell<Vec<Option<Gc<Node>>>> =
        RefCell::new((0..6).map(|n| Some(Node::new(&format!("n{n}")))).collect());
    let _weaks: Vec<Weak<Node>> = objects
        .borrow()
        .iter()
        .enumerate()
        .map(|(tag, object)| Gc::downgrade_watched(object.as_ref().unwrap(), &watcher, tag))
        .collect();
    objects.borrow_mut()[2] = None;
    objects.borrow_mut()[3] = None;
    let mut taken = Vec::new();
    watcher.take_deaths(|tag| {
        taken.push(tag);
        // Taking 2 kills 0 (behind the walk) and 5 (past the marked range); taking 3 kills
        // 4 (ahead of the walk, inside the range).
        let killed: &[usize] = match tag {
            2 => &[0, 5],
            3 => &[4],
            _ => &[],
        };
        for &other in killed {
            let dying = objects.borrow_mut()[other].take();
            drop(dying);
        }
    });
    taken.sort_unstable();
    assert_eq!(taken, [0, 2, 3, 4, 5]);
    assert_eq!(watcher.dead_count(), 0);
}

#[test]
fn a_deferred_mark_goes_when_its_tag_is_given_to_a_new_weak_reference_or_cut_from_the_record() {
    let watcher = rc_heap::Watcher::deferred();
    let first = Node::new("first");
    let _weak = Gc::downgrade_watched(&first, &watcher, 0);
    drop(first);
    assert_eq!(watcher.dead_count(), 1);
    // The owner made a new entry under the tag: the death is no longer its to take.
    let second = Node::new("second");
    let again = Gc::downgrade_watched(&second, &watcher, 0);
    assert_eq!(watcher.dead_count(), 0);
    watcher.take_deaths(|tag| panic!("tag {tag} was given to a live weak reference"));
    assert!(watcher.upgrade(0, &again).is_some());

    // A weak reference replaced under its tag is not the tag's any more: its death is not
    // marked.
    let third = Node::new("third");
    let replaced = Gc::downgrade_watched(&third, &watcher, 1);
    let fourth = Node::new("fourth");
    let _newer = Gc::downgrade_watched(&fourth, &watcher, 1);
    drop(third);
    assert!(replaced.is_dead());
    assert_eq!(watcher.dead_count(), 0);

    // Marks past the end of a shrunk record go with it.
    let far: Vec<Gc<Node>> = (0..4).map(|n| Node::new(&format!("far{n}"))).collect();
    let _far_weaks: Vec<Weak<Node>> =
        far.iter().enumerate().map(|(n, object)| Gc::downgrade_watched(object, &watcher, 2 + n)).collect();
    drop(far);
    drop(second);
    assert_eq!(watcher.dead_count(), 5);
    watcher.shrink_record(3);
    assert_eq!(watcher.dead_count(), 2);
    let mut taken = Vec::new();
    watcher.take_deaths(|tag| taken.push(tag));
    assert_eq!(taken, [0, 2]);
}

#[test]
fn a_deferred_mark_is_made_before_any_callback_of_the_dying_object_runs() {
    let watcher = rc_heap::Watcher::deferred();
    let object = Node::new("object");
    let watched = Gc::downgrade_watched(&object, &watcher, 0);
    let seen = Rc::new(Cell::new(None));
    let (in_callback, record) = (watcher.clone(), seen.clone());
    let _with_callback = Gc::downgrade_with_callback(&object, move |_| {
        record.set(Some((in_callback.dead_count(), in_callback.upgrade(0, &watched).is_none())));
    });
    drop(object);
    assert_eq!(seen.get(), Some((1, true)));
}

#[test]
fn forget_deaths_drops_every_mark_and_leaves_live_weak_references_recorded() {
    let watcher = rc_heap::Watcher::deferred();
    let objects: Vec<Gc<Node>> = (0..6).map(|n| Node::new(&format!("n{n}"))).collect();
    let weaks: Vec<Weak<Node>> =
        objects.iter().enumerate().map(|(tag, object)| Gc::downgrade_watched(object, &watcher, tag)).collect();
    let mut objects = objects.into_iter().map(Some).collect::<Vec<_>>();
    for tag in [1, 2, 4] {
        objects[tag] = None;
    }
    assert_eq!(watcher.dead_count(), 3);
    watcher.forget_deaths();
    assert_eq!(watcher.dead_count(), 0);
    watcher.take_deaths(|tag| panic!("tag {tag} was forgotten"));
    for (tag, weak) in weaks.iter().enumerate() {
        assert_eq!(watcher.upgrade(tag, weak).is_some(), objects[tag].is_some(), "tag {tag}");
    }
    // Later deaths are marked again.
    objects[5] = None;
    let mut taken = Vec::new();
    watcher.take_deaths(|tag| taken.push(tag));
    assert_eq!(taken, [5]);
}

#[test]
fn clear_record_forgets_every_mark_and_weak_reference_and_later_tags_record_again() {
    let watcher = rc_heap::Watcher::deferred();
    let objects: Vec<Gc<Node>> = (0..4).map(|n| Node::new(&format!("n{n}"))).collect();
    let mut weaks: Vec<Option<Weak<Node>>> =
        objects.iter().enumerate().map(|(tag, object)| Some(Gc::downgrade_watched(object, &watcher, tag))).collect();
    let mut objects = objects.into_iter().map(Some).collect::<Vec<_>>();
    objects[0] = None;
    objects[2] = None;
    assert_eq!(watcher.dead_count(), 2);
    // The dead entries' weak references go first, with the marks still in place; then the
    // record is cleared, the live weak references' words with it.
    weaks[0] = None;
    weaks[2] = None;
    watcher.clear_record();
    assert_eq!(watcher.dead_count(), 0);
    watcher.take_deaths(|tag| panic!("tag {tag} was forgotten"));
    // A forgotten weak reference is upgraded through its slot, and its death is not marked.
    let kept = weaks[1].as_ref().expect("kept");
    assert!(watcher.upgrade(1, kept).is_some_and(|node| Gc::ptr_eq(&node, objects[1].as_ref().unwrap())));
    objects[1] = None;
    assert!(watcher.upgrade(1, kept).is_none());
    assert_eq!(watcher.dead_count(), 0);
    // New weak references are recorded from tag 0 again, and their deaths marked.
    let fresh = Node::new("fresh");
    let weak = Gc::downgrade_watched(&fresh, &watcher, 0);
    assert!(watcher.upgrade(0, &weak).is_some_and(|node| Gc::ptr_eq(&node, &fresh)));
    drop(fresh);
    assert_eq!(watcher.dead_count(), 1);
    assert!(watcher.upgrade(0, &weak).is_none());
    let mut taken = Vec::new();
    watcher.take_deaths(|tag| taken.push(tag));
    assert_eq!(taken, [0]);
    drop(objects);
    assert_eq!(watcher.dead_count(), 0, "n3's word was forgotten too");
}

#[test]
fn a_deferred_watchers_weak_reference_is_the_objects_shared_slot_when_it_comes_first() {
    let first = rc_heap::Watcher::deferred();
    let second = rc_heap::Watcher::deferred();
    let object = Node::new("object");
    let entry = Gc::downgrade_watched(&object, &first, 0);
    // Later plain downgrades share the entry's slot: it runs no code, as a plain one.
    let plain = Gc::downgrade(&object);
    assert!(plain.same_reference(&entry));
    assert!(!plain.has_callback() && !entry.has_callback());
    // A second deferred watcher's weak reference has a slot of its own.
    let other = Gc::downgrade_watched(&object, &second, 7);
    assert!(!other.same_reference(&entry));
    assert_eq!(Gc::weak_count(&object), 3);
    assert_eq!(Gc::watched_tags(&object, &first).collect::<Vec<_>>(), [0]);
    assert_eq!(Gc::watched_tags(&object, &second).collect::<Vec<_>>(), [7]);
    // An object whose plain weak reference came first gives the watcher a slot of its own.
    let late = Node::new("late");
    let late_plain = Gc::downgrade(&late);
    let late_entry = Gc::downgrade_watched(&late, &first, 1);
    assert!(!late_plain.same_reference(&late_entry));
    assert_eq!(Gc::watched_tags(&late, &first).collect::<Vec<_>>(), [1]);

    drop(object);
    drop(late);
    assert!(entry.upgrade().is_none() && plain.upgrade().is_none() && other.upgrade().is_none());
    assert!(late_plain.upgrade().is_none() && late_entry.upgrade().is_none());
    let (mut taken_first, mut taken_second) = (Vec::new(), Vec::new());
    first.take_deaths(|tag| taken_first.push(tag));
    second.take_deaths(|tag| taken_second.push(tag));
    assert_eq!((taken_first, taken_second), (vec![0, 1], vec![7]));
}

#[test]
fn a_shared_slot_kept_by_a_plain_handle_outlives_its_entry_and_still_reads_dead_at_the_death() {
    let watcher = rc_heap::Watcher::deferred();
    let object = Node::new("object");
    let entry = Gc::downgrade_watched(&object, &watcher, 3);
    let plain = Gc::downgrade(&object);
    // The owner lets go of its entry; the plain handle keeps the slot.
    drop(entry);
    assert_eq!(plain.upgrade().map(|o| o.name.clone()), Some("object".to_owned()));
    drop(object);
    assert!(plain.upgrade().is_none());
    // The tag's word still named the slot: the death is marked, and an owner that finds no
    // entry under the tag ignores it.
    assert_eq!(watcher.dead_count(), 1);
    watcher.forget_deaths();
    drop(plain);
    assert_eq!(watcher.dead_count(), 0);
}

#[test]
fn a_shared_slot_holds_its_deferred_watcher_weakly() {
    // Plain handles that share a deferred watcher's slot may outlive the watcher: the
    // watcher's state (its record) goes with the watcher, and the death marks nothing.
    let watcher = rc_heap::Watcher::deferred();
    let object = Node::new("object");
    let entry = Gc::downgrade_watched(&object, &watcher, 0);
    let plain = Gc::downgrade(&object);
    assert!(plain.same_reference(&entry));
    drop(entry);
    drop(watcher);
    assert_eq!(Gc::weak_count(&object), 1);
    assert!(plain.upgrade().is_some());
    drop(object);
    assert!(plain.upgrade().is_none());
    drop(plain);
    // A watcher made after it is not confused with the dropped one.
    let other = rc_heap::Watcher::deferred();
    let again = Node::new("again");
    let _weak = Gc::downgrade_watched(&again, &other, 0);
    drop(again);
    assert_eq!(other.dead_count(), 1);
}

#[test]
fn drop_weaks_drops_every_kind_of_weak_reference_as_dropping_each_does() {
    let watcher = rc_heap::Watcher::deferred();
    let other = rc_heap::Watcher::deferred();
    let called = Rc::new(Cell::new(0));
    let objects: Vec<Gc<Node>> = (0..8).map(|n| Node::new(&format!("n{n}"))).collect();
    let mut weaks: Vec<Weak<Node>> =
        objects.iter().enumerate().map(|(tag, object)| Gc::downgrade_watched(object, &watcher, tag)).collect();
    // Beside this watcher's entries: a plain handle sharing the slot of entry 1, another
    // watcher's entry, a plain weak reference of its own, one with a callback, a dead one.
    let kept = weaks[1].clone();
    let late = Node::new("late");
    let _late_plain = Gc::downgrade(&late);
    weaks.push(Gc::downgrade_watched(&late, &watcher, 8));
    weaks.push(Gc::downgrade_watched(&objects[2], &other, 0));
    let plain = Node::new("plain");
    weaks.push(Gc::downgrade(&plain));
    let counter = Rc::clone(&called);
    weaks.push(Gc::downgrade_with_callback(&plain, move |_| counter.set(counter.get() + 1)));
    weaks.push(Weak::new());
    // Objects 0 to 3 die (entries 0-3, the shared slot of 1, the other watcher's entry on 2),
    // 4 to 7, `late` and `plain` live.
    let mut objects = objects.into_iter().map(Some).collect::<Vec<_>>();
    for object in &mut objects[..4] {
        *object = None;
    }
    assert_eq!(watcher.dead_count(), 4);
    watcher.forget_deaths();
    watcher.drop_weaks(weaks);
    // The shared slot lives on in its plain handle; the live objects lost their entries.
    assert!(kept.upgrade().is_none());
    assert_eq!(Gc::weak_count(objects[5].as_ref().unwrap()), 0);
    assert_eq!(Gc::weak_count(&late), 1);
    assert_eq!(Gc::weak_count(&plain), 0);
    assert_eq!(Gc::watched_tags(objects[4].as_ref().unwrap(), &watcher).count(), 0);
    // Their deaths now mark nothing, and the callback dropped with its weak reference never runs.
    drop(objects);
    drop(late);
    drop(plain);
    assert_eq!(watcher.dead_count(), 0);
    assert_eq!(other.dead_count(), 1);
    assert_eq!(called.get(), 0);
    drop(kept);
}

/// Two callbacks of one death panic with payloads whose own `Drop` panics: the first is
/// reported, the second dropped without unwinding out of the death (which would abort the
/// process, a payload being dropped while the panic unwinds).
#[test]
fn callbacks_whose_panic_payloads_panic_when_dropped_do_not_abort_the_death() {
    struct Loud;
    impl Drop for Loud {
        fn drop(&mut self) {
            panic!("the payload's drop");
        }
    }
    let reports = crate::common::unraisable_during(|| {
        let object = Gc::new(7_u32);
        let _first = Gc::downgrade_with_callback(&object, |_| std::panic::panic_any(Loud));
        let _second = Gc::downgrade_with_callback(&object, |_| std::panic::panic_any(Loud));
        drop(object);
    });
    // Each callback's panic is reported, as CPython reports each callback's exception.
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(reports.iter().all(|(what, _)| what == "a weak reference callback of a u32"), "{reports:?}");
}

/// Every panicking callback of one death is reported, newest first as they ran, and the
/// others run between them.
#[test]
fn each_panicking_callback_of_a_death_is_reported_in_the_order_they_ran() {
    let ran = Rc::new(RefCell::new(Vec::new()));
    let reports = crate::common::unraisable_during(|| {
        let object = Gc::new(7_u32);
        let weaks: Vec<Weak<u32>> = (0..4)
            .map(|n| {
                let ran = ran.clone();
                Gc::downgrade_with_callback(&object, move |_| {
                    ran.borrow_mut().push(n);
                    if n != 2 {
                        panic!("callback {n}");
                    }
                })
            })
            .collect();
        drop(object);
        drop(weaks);
    });
    assert_eq!(*ran.borrow(), [3, 2, 1, 0]);
    let messages: Vec<&str> = reports.iter().map(|(_, message)| message.as_str()).collect();
    assert_eq!(messages, ["callback 3", "callback 1", "callback 0"]);
}
