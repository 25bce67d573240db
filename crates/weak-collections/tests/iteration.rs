//! Iterations upgrade each entry through its container's watcher, which records the live
//! weak references by slot: an entry whose object has died but which is still in the
//! container (its death reported while the container was borrowed, or not reported yet
//! because another callback of the object runs first) is skipped, as its weak reference
//! reads dead.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use cyclegc::{Gc, Trace};
use weak_collections::{WeakKeyDictionary, WeakSet, WeakValueDictionary};

#[derive(Trace)]
struct Item {
    id: u32,
}

fn item(id: u32) -> Gc<Item> {
    Gc::new(Item { id })
}

/// A map value whose `Clone` drops the handle it holds: the death it causes is reported
/// while `items` holds the map borrowed.
#[derive(Trace)]
struct Killer {
    victim: RefCell<Option<Gc<Item>>>,
}

impl Clone for Killer {
    fn clone(&self) -> Self {
        drop(self.victim.borrow_mut().take());
        Killer { victim: RefCell::new(None) }
    }
}

#[test]
fn a_key_killed_by_cloning_an_earlier_value_is_not_yielded_by_the_same_iteration() {
    // With its entry's weak reference as its one callback, and with another callback too
    // (the object's weak references are then cleared as a list).
    for other_callback in [false, true] {
        let map = WeakKeyDictionary::new();
        let mut keys: Vec<Gc<Item>> = (0..10).map(item).collect();
        // The first entry's value holds the last handle to the sixth key.
        let victim = keys.remove(5);
        map.insert(&keys[0], Killer { victim: RefCell::new(Some(victim.clone())) });
        map.insert(&victim, Killer { victim: RefCell::new(None) });
        for key in &keys[1..] {
            map.insert(key, Killer { victim: RefCell::new(None) });
        }
        let _callback = other_callback.then(|| Gc::downgrade_with_callback(&victim, |_| {}));
        let weak_victim = Gc::downgrade(&victim);
        drop(victim);
        assert!(!weak_victim.is_dead());
        let ids: Vec<u32> = map.items().iter().map(|(key, _)| key.id).collect();
        assert!(weak_victim.is_dead());
        assert_eq!(ids, [0, 1, 2, 3, 4, 6, 7, 8, 9], "other callback: {other_callback}");
        assert_eq!(map.len(), 9);
        assert_eq!(map.keys().count(), 9);
    }
}

#[test]
fn a_callback_that_runs_before_the_containers_report_iterates_without_the_dying_object() {
    let set: Rc<WeakSet<Item>> = Rc::new(WeakSet::new());
    let map: Rc<WeakValueDictionary<u32, Item>> = Rc::new(WeakValueDictionary::new());
    let members: Vec<Gc<Item>> = (0..8).map(item).collect();
    for member in &members {
        set.add(member);
        map.insert(member.id, member);
    }
    let mut members = members;
    let dying = members.remove(3);
    // Made after the entries, so it runs before their reports.
    let seen = Rc::new(Cell::new(None));
    let (set_seen, map_seen, seen_in_callback) = (Rc::clone(&set), Rc::clone(&map), Rc::clone(&seen));
    let _callback = Gc::downgrade_with_callback(&dying, move |_| {
        let ids: Vec<u32> = set_seen.iter().map(|member| member.id).collect();
        let keys: Vec<u32> = map_seen.items().map(|(key, _)| key).collect();
        // The map's own iterators over keys and values skip the dead entry the same way.
        let only_keys: Vec<u32> = map_seen.keys().collect();
        let values: Vec<u32> = map_seen.values().map(|value| value.id).collect();
        seen_in_callback.set(Some((ids, keys, only_keys, values)));
    });
    drop(dying);
    let (ids, keys, only_keys, values) = seen.take().expect("the callback ran");
    assert_eq!(ids, [0, 1, 2, 4, 5, 6, 7]);
    assert_eq!(keys, [0, 1, 2, 4, 5, 6, 7]);
    assert_eq!(only_keys, [0, 1, 2, 4, 5, 6, 7]);
    assert_eq!(values, [0, 1, 2, 4, 5, 6, 7]);
    assert_eq!(set.len(), 7);
    assert_eq!(map.len(), 7);
}

#[test]
fn slots_reused_by_new_entries_are_iterated_as_the_new_entries() {
    let set = WeakSet::new();
    let map = WeakValueDictionary::new();
    let mut alive: Vec<Gc<Item>> = Vec::new();
    let mut kept_refs = Vec::new();
    for round in 0..20u32 {
        for n in 0..10 {
            let member = item(round * 100 + n);
            set.add(&member);
            map.insert(n, &member);
            alive.push(member);
        }
        // Handles to the set's weak references outlive some of their entries.
        kept_refs.extend(set.iter().take(2).map(|member| Gc::downgrade(&member)));
        // Every other member dies; their slots go to the next round's members.
        let mut n = 0;
        alive.retain(|_| {
            n += 1;
            n % 2 == 0
        });
        let mut expected: Vec<u32> = alive.iter().map(|member| member.id).collect();
        let mut ids: Vec<u32> = set.iter().map(|member| member.id).collect();
        expected.sort_unstable();
        ids.sort_unstable();
        assert_eq!(ids, expected, "round {round}");
        for (key, value) in map.items() {
            assert!(alive.iter().any(|member| Gc::ptr_eq(member, &value)), "round {round}, key {key}");
        }
    }
}

/// A map key whose `Clone` drops the handle it holds (its own entry's value, here): the
/// death it causes is reported while the iteration holds the map borrowed.
struct KillerKey {
    id: u32,
    victim: RefCell<Option<Gc<Item>>>,
}

impl PartialEq for KillerKey {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for KillerKey {}

impl std::hash::Hash for KillerKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl Clone for KillerKey {
    fn clone(&self) -> Self {
        drop(self.victim.borrow_mut().take());
        KillerKey { id: self.id, victim: RefCell::new(None) }
    }
}

#[test]
fn a_key_whose_clone_kills_its_own_value_is_not_yielded_by_keys_as_by_items() {
    let [keys, items] = [false, true].map(|by_items| {
        let map = WeakValueDictionary::new();
        let kept = item(1);
        let victim = item(0);
        // The first key holds the last handle to its own value once `victim` is dropped.
        map.insert(KillerKey { id: 0, victim: RefCell::new(Some(victim.clone())) }, &victim);
        map.insert(KillerKey { id: 1, victim: RefCell::new(None) }, &kept);
        let weak_victim = Gc::downgrade(&victim);
        drop(victim);
        assert!(!weak_victim.is_dead());
        let ids: Vec<u32> = if by_items {
            map.items().map(|(key, _)| key.id).collect()
        } else {
            map.keys().map(|key| key.id).collect()
        };
        assert!(weak_victim.is_dead());
        assert_eq!(map.len(), 1);
        ids
    });
    assert_eq!(items, [1]);
    assert_eq!(keys, items, "keys() yielded a key whose value died as it was cloned");
}

/// None: every iterator tells the truth about what is left (`size_hint`'s upper bound is the
/// slots left, never below what it then yields) and stays ended once it has ended.
#[test]
fn iterators_bound_what_they_yield_and_stay_ended() {
    let objects: Vec<Gc<u32>> = (0..10).map(Gc::new).collect();
    let set: WeakSet<u32> = objects.iter().collect();
    let keyed = WeakKeyDictionary::new();
    let valued = WeakValueDictionary::new();
    for (i, object) in objects.iter().enumerate() {
        keyed.insert(object, i);
        valued.insert(i, object);
    }
    fn check<I: Iterator>(mut iter: I, expected: usize) {
        let (low, high) = iter.size_hint();
        assert_eq!(low, 0);
        assert!(high.is_some_and(|high| high >= expected), "{high:?} below {expected}");
        let mut met = 0;
        while iter.next().is_some() {
            met += 1;
            let (_, left) = iter.size_hint();
            assert!(left.is_some_and(|left| left >= expected - met));
        }
        assert_eq!(met, expected);
        assert!(iter.next().is_none() && iter.next().is_none());
        assert_eq!(iter.size_hint(), (0, Some(0)));
    }
    check(set.iter(), 10);
    check(keyed.keys(), 10);
    check(keyed.iter(), 10);
    check(valued.items(), 10);
    check(valued.keys(), 10);
    check(valued.values(), 10);
    fn fused<I: std::iter::FusedIterator>(_: &I) {}
    fused(&set.iter());
    fused(&keyed.keys());
    fused(&valued.values());
}

/// None: `with_value_mut` changes a value in place, and finds nothing for a key not in the map.
#[test]
fn with_value_mut_changes_the_value_in_place() {
    let page = Gc::new(String::from("home"));
    let other = Gc::new(String::from("about"));
    let hits: WeakKeyDictionary<String, Vec<u32>> = WeakKeyDictionary::new();
    hits.insert(&page, vec![1]);
    assert_eq!(
        hits.with_value_mut(&page, |visits| {
            visits.push(2);
            visits.len()
        }),
        Some(2)
    );
    assert_eq!(hits.get(&page), Some(vec![1, 2]));
    assert_eq!(hits.with_value_mut(&other, |visits| visits.push(3)), None);
    assert!(!hits.contains_key(&other));
}
