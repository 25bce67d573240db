//! Hostile user code at the edges of the unsafe code: weak references whose callbacks are
//! skipped, dropped while their object dies; watchers and their records under re-entrancy.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rc_heap::{DeathWatch, Edge, Gc, Trace, Visitor, Watcher, Weak, WeakEdge};

use crate::common::{DropCounter, Node};

/// Panics when dropped.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("dropping the callback's captures");
    }
}

/// Marks every weak reference it visits as owned by garbage, as the collector does.
struct MarkOwned;

impl Visitor for MarkOwned {
    fn visit_edge(&mut self, _edge: Edge<'_>) {}
    fn visit_weak(&mut self, weak: WeakEdge<'_>) {
        weak.mark_owner_unreachable();
    }
}

#[test]
fn a_skipped_callback_dropped_with_its_last_handle_during_a_death_is_reported_after_the_death() {
    // The weak reference marked as owned by garbage keeps its callback; an earlier callback
    // drops its last handle but the death's, so the callback (and its panicking captures)
    // goes with the death's handle, inside the death.
    let dropped = Rc::new(Cell::new(0));
    let object = Gc::new(Node {
        name: "dying".to_owned(),
        next: RefCell::new(Some(Gc::new(Node {
            name: "child".to_owned(),
            next: RefCell::new(None),
            children: RefCell::new(Vec::new()),
        }))),
        children: RefCell::new(Vec::new()),
    });
    let child = Gc::downgrade(object.next.borrow().as_ref().unwrap());
    let counter = DropCounter(dropped.clone());
    let skipped: Rc<RefCell<Option<Weak<Node>>>> = Rc::new(RefCell::new(None));
    let captures = PanicOnDrop;
    let weak = Gc::downgrade_with_callback(&object, move |_| {
        let _keep = &captures;
        let _counter = &counter;
    });
    weak.trace(&mut MarkOwned);
    *skipped.borrow_mut() = Some(weak);
    let holder = skipped.clone();
    let _first = Gc::downgrade_with_callback(&object, move |_| drop(holder.borrow_mut().take()));
    let reports = crate::common::unraisable_during(|| drop(object));
    assert_eq!(reports.len(), 1, "the captures' panic is reported after the death: {reports:?}");
    assert_eq!(reports[0].0, "a weak reference callback of a Node");
    assert!(child.upgrade().is_none(), "the dying object's value was dropped");
    assert_eq!(dropped.get(), 1, "the callback's captures were dropped once");
}

/// Captures of a traced callback whose `Trace` breaks Trace's rule 2: it drops the last
/// handle of the callback's own object while the callback is being traced.
struct DropsTheTarget(Rc<RefCell<Option<Gc<Node>>>>);

// SAFETY: visits nothing; dropping a handle during tracing is what is under test.
unsafe impl Trace for DropsTheTarget {
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {
        drop(self.0.borrow_mut().take());
    }
}

/// Counts the edges it is shown.
struct CountEdges(usize);

impl Visitor for CountEdges {
    fn visit_edge(&mut self, _edge: Edge<'_>) {
        self.0 += 1;
    }
}

#[test]
fn a_traced_callback_whose_captures_kill_its_object_while_traced() {
    // The callback is out of its slot while its captures are traced; the death that
    // tracing causes finds no callback to run, and the callback goes back into the cleared
    // slot, to be dropped with it.
    let holder = Rc::new(RefCell::new(Some(Node::new("target"))));
    let target = holder.borrow().clone().unwrap();
    let ran = Rc::new(Cell::new(false));
    let weak = Gc::downgrade_with_traced_callback(
        &target,
        rc_heap::Closure::new((DropsTheTarget(holder.clone()), ran.clone()), |(_, ran), _| ran.set(true)),
    );
    drop(target);
    weak.trace(&mut CountEdges(0));
    assert!(weak.upgrade().is_none(), "the object died while its weak reference was traced");
    assert!(!ran.get(), "a death during tracing finds the callback out of its slot");
    drop(weak);
    assert!(!rc_heap::raw::weak_callbacks_pending(), "the callback left with its slot");
}

/// What a report does besides recording its tag.
type OnDied = Box<dyn FnMut(&Entries, usize)>;

/// A container-like watch: its entries' weak references, and what each report does.
struct Entries {
    weak: RefCell<Vec<Option<Weak<Node>>>>,
    watcher: RefCell<Option<Watcher>>,
    on_died: RefCell<Option<OnDied>>,
    reported: RefCell<Vec<usize>>,
}

impl DeathWatch for Entries {
    fn died(&self, tag: usize) {
        self.reported.borrow_mut().push(tag);
        let on_died = self.on_died.borrow_mut().take();
        if let Some(mut on_died) = on_died {
            on_died(self, tag);
            *self.on_died.borrow_mut() = Some(on_died);
        }
    }
}

fn entries() -> Rc<Entries> {
    Rc::new_cyclic(|me: &std::rc::Weak<Entries>| Entries {
        weak: RefCell::new(Vec::new()),
        watcher: RefCell::new(Some(Watcher::new(me.clone() as _))),
        on_died: RefCell::new(None),
        reported: RefCell::new(Vec::new()),
    })
}

#[test]
fn a_report_that_reuses_its_tag_and_drops_the_dead_weak_reference() {
    // The report makes a new weak reference under the dead one's tag (to another object),
    // then drops the dead one: the record names the new slot, and upgrading through it
    // reads the new object, never the freed one.
    let watch = entries();
    let watcher = watch.watcher.borrow().clone().unwrap();
    let (first, second) = (Node::new("first"), Node::new("second"));
    watch.weak.borrow_mut().push(Some(Gc::downgrade_watched(&first, &watcher, 0)));
    let replacement = RefCell::new(Some(second.clone()));
    *watch.on_died.borrow_mut() = Some(Box::new(move |entries, tag| {
        let Some(replacement) = replacement.borrow_mut().take() else { return };
        let watcher = entries.watcher.borrow().clone().unwrap();
        let new = Gc::downgrade_watched(&replacement, &watcher, tag);
        let old = entries.weak.borrow_mut()[tag].replace(new);
        drop(old);
    }));
    drop(first);
    assert_eq!(*watch.reported.borrow(), [0]);
    let weak = watch.weak.borrow()[0].clone().unwrap();
    assert_eq!(watcher.upgrade(0, &weak).map(|node| node.name.clone()).as_deref(), Some("second"));
    drop(second);
    assert!(watcher.upgrade(0, &weak).is_none());
    assert!(watcher.is_dead(0, &weak));
    assert_eq!(*watch.reported.borrow(), [0, 0]);
}

#[test]
fn a_report_that_drops_the_watch_the_watcher_and_every_weak_reference() {
    // The object has several watched weak references (the walk with a list of callbacks);
    // the first report drops the watch itself, its watcher and the other weak references,
    // whose reports then find no watch.
    let watch = entries();
    let watcher = watch.watcher.borrow().clone().unwrap();
    let object = Node::new("object");
    for tag in 0..3 {
        watch.weak.borrow_mut().push(Some(Gc::downgrade_watched(&object, &watcher, tag)));
    }
    let plain = Gc::downgrade_with_callback(&object, |_| {});
    let outside: Rc<RefCell<Option<Rc<Entries>>>> = Rc::new(RefCell::new(Some(watch.clone())));
    let keep = outside.clone();
    *watch.on_died.borrow_mut() = Some(Box::new(move |entries, _| {
        entries.weak.borrow_mut().clear();
        entries.watcher.borrow_mut().take();
        keep.borrow_mut().take();
    }));
    let reported = Rc::downgrade(&watch);
    drop(watch);
    drop(watcher);
    drop(object);
    assert!(reported.upgrade().is_none(), "the watch went with its first report");
    assert!(plain.upgrade().is_none());
    assert!(outside.borrow().is_none());
}

#[test]
fn a_watched_weak_reference_marked_as_owned_by_garbage_is_forgotten_at_its_death() {
    // The one-callback path leaves a marked report in its slot; the record is cleared all the
    // same, so the watcher never reads the freed object through it.
    let watch = entries();
    let watcher = watch.watcher.borrow().clone().unwrap();
    let object = Node::new("object");
    let weak = Gc::downgrade_watched(&object, &watcher, 0);
    weak.trace(&mut MarkOwned);
    assert!(watcher.upgrade(0, &weak).is_some());
    drop(object);
    assert!(watch.reported.borrow().is_empty(), "the marked report does not run");
    assert!(watcher.upgrade(0, &weak).is_none() && watcher.is_dead(0, &weak));
    for round in 0..4 {
        let other = Node::new("other");
        let again = Gc::downgrade_watched(&other, &watcher, 0);
        assert!(watcher.upgrade(0, &weak).is_none(), "round {round}");
        assert!(Gc::ptr_eq(&watcher.upgrade(0, &again).unwrap(), &other));
    }
    drop(weak);
    assert!(!rc_heap::raw::weak_callbacks_pending());
}
