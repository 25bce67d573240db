//! Containers keyed by identity find an object's entry from the object (its weak references
//! that report to the container), with no index of keys: objects in many containers, weak
//! references that outlive their entries, and new objects at dead members' addresses.

use std::cell::RefCell;

use cyclegc::{Gc, Trace};
use weak_collections::{WeakKeyDictionary, WeakSet};

#[derive(Trace)]
struct Item {
    id: u32,
}

fn item(id: u32) -> Gc<Item> {
    Gc::new(Item { id })
}

#[test]
fn an_object_in_many_sets_is_found_in_each_and_leaves_each_on_its_own() {
    let sets: Vec<WeakSet<Item>> = (0..50).map(|_| WeakSet::new()).collect();
    let shared = item(1);
    let alone = item(2);
    for (n, set) in sets.iter().enumerate() {
        if n % 2 == 0 {
            assert!(set.add(&shared));
        }
        set.add(&alone);
    }
    for (n, set) in sets.iter().enumerate() {
        assert_eq!(set.contains(&shared), n % 2 == 0, "set {n}");
        assert!(!set.add(&alone), "set {n} had the item already");
    }
    // Removed from every fourth set: the others still have it.
    for set in sets.iter().step_by(4) {
        assert!(set.remove(&shared));
        assert!(!set.remove(&shared));
    }
    for (n, set) in sets.iter().enumerate() {
        assert_eq!(set.contains(&shared), n % 4 == 2, "set {n}");
        assert_eq!(set.len(), if n % 4 == 2 { 2 } else { 1 });
    }
    drop(shared);
    assert!(sets.iter().all(|set| set.len() == 1 && set.iter().all(|member| member.id == 2)));
}

#[test]
fn a_kept_key_reference_of_a_removed_entry_does_not_name_the_entry_that_took_its_slot() {
    let map = WeakKeyDictionary::new();
    let first = item(1);
    let second = item(2);
    map.insert(&first, "first");
    // A handle to the entry's key reference outlives the entry: it still reports to the map.
    let kept = map.keyrefs();
    assert_eq!(map.remove(&first), Some("first"));
    map.insert(&second, "second");
    assert!(!map.contains_key(&first));
    assert_eq!(map.get(&first), None);
    assert_eq!(map.insert(&first, "again"), None);
    assert_eq!(map.len(), 2);
    assert_eq!(map.get(&first), Some("again"));
    assert_eq!(map.insert(&first, "replaced"), Some("again"));
    // Both of `first`'s weak references report its death; only its own entry goes.
    drop(first);
    assert_eq!(map.len(), 1);
    assert_eq!(map.get(&second), Some("second"));
    assert!(kept.iter().all(|weak| weak.is_dead()));
}

#[test]
fn a_new_object_at_a_dead_members_address_is_not_a_member() {
    let map = WeakKeyDictionary::new();
    let stays = item(1);
    let dies = RefCell::new(Some(item(2)));
    map.insert(&stays, 1);
    map.insert(dies.borrow().as_ref().unwrap(), 2);
    // The member dies while the map lends a value: its removal waits for the next operation.
    map.with_value(&stays, |_| drop(dies.borrow_mut().take()));
    let newcomer = item(3);
    assert!(!map.contains_key(&newcomer));
    assert_eq!(map.get(&newcomer), None);
    assert_eq!(map.len(), 1);
    assert_eq!(map.insert(&newcomer, 3), None);
    assert_eq!(map.len(), 2);
    let mut ids: Vec<u32> = map.keys().map(|key| key.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 3]);
}

#[test]
fn popping_every_member_takes_each_once() {
    let items: Vec<Gc<Item>> = (0..300).map(item).collect();
    let set: WeakSet<Item> = items.iter().collect();
    for member in items.iter().step_by(3) {
        set.remove(member);
    }
    let mut popped: Vec<u32> = std::iter::from_fn(|| set.pop()).map(|member| member.id).collect();
    popped.sort_unstable();
    let expected: Vec<u32> = (0..300).filter(|id| id % 3 != 0).collect();
    assert_eq!(popped, expected);
    assert!(set.is_empty());
}
