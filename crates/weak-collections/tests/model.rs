//! Model-based test: random operations on two `WeakSet`s, a `WeakKeyDictionary` and a
//! `WeakValueDictionary` whose objects are created, shared, dropped and put in cycles,
//! checked after every step against a model that holds strong references: a container holds
//! exactly its entries whose objects are still alive. Objects are members of several
//! containers at once, and handles to the map's key references are kept past their
//! entries' removal, so that an object carries weak references that report to a container
//! and no longer name its entry.
//!
//! The map keyed by `u8` and the one holding `u8` values put their removals off to the next
//! operation (an entry whose drop runs no code); twins keyed by `String` and holding
//! `String` values remove each entry as its object dies. Both kinds are checked alike.
//!
//! The model follows each object through a plain weak reference, taken either when the
//! object is made or only once it entered a container: a deferred container's weak reference
//! is then the object's first, which later plain ones share.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use cyclegc::{Gc, Trace, Weak};
use proptest::prelude::*;
use weak_collections::{WeakKeyDictionary, WeakSet, WeakValueDictionary};

#[derive(Trace)]
struct Obj {
    me: RefCell<Option<Gc<Obj>>>,
}

#[derive(Debug, Clone)]
enum Op {
    New { cyclic: bool },
    Drop(usize),
    AddToSet(usize),
    RemoveFromSet(usize),
    Insert(u8, usize),
    RemoveKey(u8),
    IterateAndCollect,
    Collect,
    AddToSecondSet(usize),
    PopSet,
    KeyInsert(usize, u8),
    KeyRemove(usize),
    KeepKeyRefs,
    DropKeyRefs,
    SetRetain,
    KeyRetain,
    DictRetain(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<bool>().prop_map(|cyclic| Op::New { cyclic }),
        2 => any::<usize>().prop_map(Op::Drop),
        3 => any::<usize>().prop_map(Op::AddToSet),
        1 => any::<usize>().prop_map(Op::RemoveFromSet),
        3 => (0u8..8, any::<usize>()).prop_map(|(k, i)| Op::Insert(k, i)),
        1 => (0u8..8).prop_map(Op::RemoveKey),
        1 => Just(Op::IterateAndCollect),
        1 => Just(Op::Collect),
        2 => any::<usize>().prop_map(Op::AddToSecondSet),
        1 => Just(Op::PopSet),
        3 => (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Op::KeyInsert(i, v)),
        1 => any::<usize>().prop_map(Op::KeyRemove),
        1 => Just(Op::KeepKeyRefs),
        1 => Just(Op::DropKeyRefs),
        1 => Just(Op::SetRetain),
        1 => Just(Op::KeyRetain),
        1 => (0u8..2).prop_map(Op::DictRetain),
    ]
}

fn cases() -> u32 {
    if cfg!(miri) {
        return 3;
    }
    match std::env::var("CYCLEGC_TEST_SCALE").ok().and_then(|s| s.parse::<u32>().ok()) {
        Some(divisor) if divisor > 1 => (200 / divisor).max(3),
        _ => 200,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn containers_hold_exactly_their_live_entries(
        ops in proptest::collection::vec(op(), 1..120),
        plain_first in any::<bool>(),
    ) {
        let set = WeakSet::new();
        let second = WeakSet::new();
        let keyed = WeakKeyDictionary::new();
        let dict = WeakValueDictionary::new();
        let eager_keyed: WeakKeyDictionary<Obj, String> = WeakKeyDictionary::new();
        let eager_dict: WeakValueDictionary<String, Obj> = WeakValueDictionary::new();
        let mut second_model: HashSet<usize> = HashSet::new();
        let mut keyed_model: HashMap<usize, u8> = HashMap::new();
        let mut kept_key_refs: Vec<Weak<Obj>> = Vec::new();
        let mut roots: Vec<(usize, Gc<Obj>)> = Vec::new();
        // By object, its plain weak reference once taken (see the crate's docs above).
        let mut all: Vec<Option<Weak<Obj>>> = Vec::new();
        let mut set_model: HashSet<usize> = HashSet::new();
        let mut dict_model: HashMap<u8, usize> = HashMap::new();
        for op in ops {
            let n = roots.len();
            match op {
                Op::New { cyclic } => {
                    let obj = Gc::new(Obj { me: RefCell::new(None) });
                    if cyclic {
                        *obj.me.borrow_mut() = Some(obj.clone());
                    }
                    all.push(plain_first.then(|| Gc::downgrade(&obj)));
                    roots.push((all.len() - 1, obj));
                }
                Op::Drop(k) if n > 0 => {
                    roots.swap_remove(k % n);
                }
                Op::AddToSet(k) if n > 0 => {
                    let (i, obj) = &roots[k % n];
                    set.add(obj);
                    set_model.insert(*i);
                }
                Op::RemoveFromSet(k) if n > 0 => {
                    let (i, obj) = &roots[k % n];
                    set.remove(obj);
                    set_model.remove(i);
                }
                Op::Insert(key, k) if n > 0 => {
                    let (i, obj) = &roots[k % n];
                    dict.insert(key, obj);
                    eager_dict.insert(key.to_string(), obj);
                    dict_model.insert(key, *i);
                }
                Op::RemoveKey(key) => {
                    dict.remove(&key);
                    eager_dict.remove(&key.to_string());
                    dict_model.remove(&key);
                }
                Op::IterateAndCollect => {
                    for (seen, _) in set.iter().enumerate() {
                        if seen == 0 {
                            gen_gc::collect();
                        }
                    }
                }
                Op::Collect => {
                    gen_gc::collect();
                }
                Op::AddToSecondSet(k) if n > 0 => {
                    let (i, obj) = &roots[k % n];
                    second.add(obj);
                    second_model.insert(*i);
                }
                Op::PopSet => {
                    if let Some(popped) = set.pop() {
                        let i = all.iter().position(|weak| upgrade(weak).is_some_and(|o| Gc::ptr_eq(&o, &popped)));
                        prop_assert!(set_model.remove(&i.expect("a popped member is a live object")));
                    }
                }
                Op::KeyInsert(k, value) if n > 0 => {
                    let (i, obj) = &roots[k % n];
                    let old = keyed.insert(obj, value);
                    let eager_old = eager_keyed.insert(obj, value.to_string());
                    prop_assert_eq!(eager_old, old.map(|old| old.to_string()));
                    prop_assert_eq!(old, keyed_model.insert(*i, value).filter(|_| alive_at(&all, *i)));
                }
                Op::KeyRemove(k) if n > 0 => {
                    let (i, obj) = &roots[k % n];
                    prop_assert_eq!(eager_keyed.remove(obj), keyed_model.get(i).map(u8::to_string));
                    prop_assert_eq!(keyed.remove(obj), keyed_model.remove(i));
                }
                Op::KeepKeyRefs => {
                    kept_key_refs.extend(keyed.keyrefs());
                    kept_key_refs.extend(eager_keyed.keyrefs());
                }
                Op::DropKeyRefs => kept_key_refs.clear(),
                Op::SetRetain => {
                    // The closure reads another container.
                    set.retain(|obj| !second.contains(obj));
                    set_model.retain(|i| !(second_model.contains(i) && alive_at(&all, *i)));
                }
                Op::KeyRetain => {
                    let step = |value: &mut u8| {
                        *value = value.wrapping_add(1);
                        !value.is_multiple_of(3)
                    };
                    keyed.retain(|_, value| step(value));
                    eager_keyed.retain(|_, value| {
                        let mut number: u8 = value.parse().expect("a number");
                        let kept = step(&mut number);
                        *value = number.to_string();
                        kept
                    });
                    keyed_model.retain(|i, value| !alive_at(&all, *i) || step(value));
                }
                Op::DictRetain(odd) => {
                    dict.retain(|key, _| key % 2 == odd);
                    eager_dict.retain(|key, _| key.parse::<u8>().expect("a number") % 2 == odd);
                    dict_model.retain(|key, _| key % 2 == odd);
                }
                _ => {}
            }
            // Every object a container has seen has its plain weak reference by now.
            for (i, obj) in &roots {
                if all[*i].is_none() && in_a_container(&set, &second, &keyed, &dict, obj) {
                    all[*i] = Some(Gc::downgrade(obj));
                }
            }
            let alive = |i: &usize| alive_at(&all, *i);
            set_model.retain(alive);
            second_model.retain(alive);
            keyed_model.retain(|i, _| alive(i));
            prop_assert_eq!(set.len(), set_model.len());
            prop_assert_eq!(second.len(), second_model.len());
            prop_assert_eq!(keyed.len(), keyed_model.len());
            prop_assert_eq!(eager_keyed.len(), keyed_model.len());
            for (i, weak) in all.iter().enumerate() {
                if let Some(obj) = upgrade(weak) {
                    prop_assert_eq!(set.contains(&obj), set_model.contains(&i));
                    prop_assert_eq!(second.contains(&obj), second_model.contains(&i));
                    prop_assert_eq!(keyed.get(&obj), keyed_model.get(&i).copied());
                    prop_assert_eq!(eager_keyed.get(&obj), keyed_model.get(&i).map(u8::to_string));
                }
            }
            let live_entries: HashMap<u8, usize> =
                dict_model.iter().filter(|(_, i)| alive(i)).map(|(k, i)| (*k, *i)).collect();
            prop_assert_eq!(dict.len(), live_entries.len());
            prop_assert_eq!(eager_dict.len(), live_entries.len());
            // Iterations yield exactly the live entries (they upgrade through the
            // containers' watchers, whose records must follow every death, removal,
            // replacement and reuse of a slot).
            let index_of: HashMap<*const Obj, usize> =
                all.iter().enumerate().filter_map(|(i, weak)| Some((Gc::as_ptr(&upgrade(weak)?), i))).collect();
            let of = |obj: &Gc<Obj>| index_of[&Gc::as_ptr(obj)];
            prop_assert_eq!(set.iter().map(|obj| of(&obj)).collect::<HashSet<_>>(), set_model.clone());
            prop_assert_eq!(second.iter().map(|obj| of(&obj)).collect::<HashSet<_>>(), second_model.clone());
            prop_assert_eq!(keyed.items().iter().map(|(obj, v)| (of(obj), *v)).collect::<HashMap<_, _>>(), keyed_model.clone());
            prop_assert_eq!(dict.items().map(|(k, obj)| (k, of(&obj))).collect::<HashMap<_, _>>(), live_entries.clone());
            prop_assert_eq!(
                eager_dict.items().map(|(k, obj)| (k.parse::<u8>().unwrap(), of(&obj))).collect::<HashMap<_, _>>(),
                live_entries.clone()
            );
            prop_assert_eq!(
                eager_keyed
                    .items()
                    .iter()
                    .map(|(obj, v)| (of(obj), v.parse::<u8>().unwrap()))
                    .collect::<HashMap<_, _>>(),
                keyed_model.clone()
            );
            for key in 0u8..8 {
                let got = dict.get(&key);
                match live_entries.get(&key) {
                    Some(i) => prop_assert!(got.is_some_and(|o| Gc::ptr_eq(&o, &upgrade(&all[*i]).unwrap()))),
                    None => prop_assert!(got.is_none()),
                }
            }
        }
        drop(roots);
        gen_gc::collect();
        prop_assert_eq!(set.len(), 0);
        prop_assert_eq!(second.len(), 0);
        prop_assert_eq!(keyed.len(), 0);
        prop_assert_eq!(dict.len(), 0);
        prop_assert_eq!(eager_keyed.len(), 0);
        prop_assert_eq!(eager_dict.len(), 0);
    }
}

/// Whether object `i` lives; an object not yet in a container when it died (no plain weak
/// reference taken) reads dead, as it is in no model.
fn alive_at(all: &[Option<Weak<Obj>>], i: usize) -> bool {
    all[i].as_ref().is_some_and(|weak| !weak.is_dead())
}

fn upgrade(weak: &Option<Weak<Obj>>) -> Option<Gc<Obj>> {
    weak.as_ref()?.upgrade()
}

/// Whether `obj` is in one of the deferred containers (the eager twins hold what these do).
fn in_a_container(
    set: &WeakSet<Obj>,
    second: &WeakSet<Obj>,
    keyed: &WeakKeyDictionary<Obj, u8>,
    dict: &WeakValueDictionary<u8, Obj>,
    obj: &Gc<Obj>,
) -> bool {
    set.contains(obj) || second.contains(obj) || keyed.contains_key(obj) || dict.values().any(|v| Gc::ptr_eq(&v, obj))
}
