//! Containers whose keys compare by value (`WeakSet::by_value`, `WeakKeyDictionary::by_value`):
//! an index of hashes taken when members are added, compared with the live members' values.

use std::cell::Cell;
use std::hash::{Hash, Hasher};

use cyclegc::{Gc, Trace};
use weak_collections::{WeakKeyDictionary, WeakSet, getweakrefcount};

/// A value whose key is `key`, with a hash that can be changed after it is added.
#[derive(Trace, Debug)]
struct Keyed {
    key: Cell<u32>,
}

impl PartialEq for Keyed {
    fn eq(&self, other: &Self) -> bool {
        self.key.get() == other.key.get()
    }
}

impl Eq for Keyed {}

impl Hash for Keyed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.get().hash(state);
    }
}

fn keyed(key: u32) -> Gc<Keyed> {
    Gc::new(Keyed { key: Cell::new(key) })
}

#[test]
fn an_equal_object_is_the_same_member_and_a_dead_member_equals_nothing() {
    let set = WeakSet::by_value();
    let first = keyed(1);
    let equal = keyed(1);
    assert!(set.add(&first));
    assert!(!set.add(&equal), "an equal object is already a member");
    assert!(set.contains(&equal));
    assert_eq!(getweakrefcount(&first), 1, "one weak reference per entry");
    assert_eq!(getweakrefcount(&equal), 0);
    drop(first);
    assert!(!set.contains(&equal), "the member died: nothing equals it");
    assert!(set.add(&equal));
    assert_eq!(set.len(), 1);
    assert!(set.iter().all(|member| Gc::ptr_eq(&member, &equal)));
}

#[test]
fn a_member_whose_hash_changed_stays_counted_and_leaves_when_it_dies() {
    let map = WeakKeyDictionary::by_value();
    let moved = keyed(1);
    let stays = keyed(2);
    map.insert(&moved, "moved");
    map.insert(&stays, "stays");
    moved.key.set(100);
    // As with a Python dict: the entry is under its old hash, so neither the object nor an
    // equal one finds it.
    assert_eq!(map.get(&moved), None);
    assert_eq!(map.get(keyed(100)), None);
    assert_eq!(map.get(keyed(1)), None);
    assert_eq!(map.len(), 2);
    assert_eq!(map.get(keyed(2)), Some("stays"));
    drop(moved);
    assert_eq!(map.len(), 1);
    assert_eq!(map.get(&stays), Some("stays"));
}

#[test]
fn members_added_removed_and_dying_in_turn_are_found_exactly() {
    let set = WeakSet::by_value();
    let mut alive: Vec<Gc<Keyed>> = (0..600).map(keyed).collect();
    for member in &alive {
        set.add(member);
    }
    for member in alive.iter().filter(|member| member.key.get() % 3 == 0) {
        assert!(set.remove(member));
    }
    // Every other member dies; a sweep of the index follows the next adds.
    alive.retain(|member| member.key.get() % 2 == 0);
    for key in 600..700 {
        let member = keyed(key);
        set.add(&member);
        alive.push(member);
    }
    for key in 0..700 {
        let expected = key >= 600 || (key % 2 == 0 && key % 3 != 0);
        assert_eq!(set.contains(keyed(key)), expected, "key {key}");
    }
    assert_eq!(set.len(), (0..700).filter(|key| *key >= 600 || (key % 2 == 0 && key % 3 != 0)).count());
    for member in &alive {
        set.discard(member);
    }
    assert!(set.is_empty());
}

/// Which object of two equal ones each set operation keeps, as Python's `WeakSet` does: the
/// union and the differences keep the left set's, the intersection the right set's (it is
/// `other`'s members that are in `self`).
#[test]
fn set_operations_keep_the_object_python_keeps_of_two_equal_ones() {
    let (left_one, right_one) = (keyed(1), keyed(1));
    let (left_two, right_three) = (keyed(2), keyed(3));
    let left = WeakSet::by_value();
    left.add(&left_one);
    left.add(&left_two);
    let right = WeakSet::by_value();
    right.add(&right_one);
    right.add(&right_three);
    let holds = |set: &WeakSet<Keyed, _>, object: &Gc<Keyed>| set.iter().any(|member| Gc::ptr_eq(&member, object));

    let both = left.intersection(&right);
    assert_eq!(both.len(), 1);
    assert!(holds(&both, &right_one), "the intersection keeps the right set's object");
    let union = left.union(&right);
    assert_eq!(union.len(), 3);
    assert!(holds(&union, &left_one) && !holds(&union, &right_one), "the union keeps the left set's");
    let either = left.symmetric_difference(&right);
    assert!(holds(&either, &left_two) && holds(&either, &right_three));
    assert_eq!(either.len(), 2);

    // `&=` keeps the right set's object too.
    let narrowed = left.copy();
    narrowed.intersection_update(&right);
    assert_eq!(narrowed.len(), 1);
    assert!(holds(&narrowed, &right_one), "`&=` keeps the right set's object");

    // The intersection's member lives as long as the right set's object.
    drop(right_one);
    assert_eq!(both.len(), 0);
    assert_eq!(narrowed.len(), 0);
    assert_eq!(left.len(), 2);
}
