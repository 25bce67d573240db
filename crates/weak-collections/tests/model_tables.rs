//! Model-based test of the containers' tables at the sizes and key patterns that reach their
//! inner machinery: thousands of entries, so that deaths leave enough stale index entries for
//! an insert to sweep them and `shrink_to_fit` has a slab to cut; integer keys side by side,
//! wrapping round the table, strided so that they all home at one bucket (which switches the
//! index to mixed hashes), negative, 128-bit, strings and tuples. Every operation is checked
//! against a model holding the expected entries: the length, a lookup of every key, and an
//! iteration yielding exactly the live entries. Objects die in batches, from inside a
//! borrow of the table (their removal queued) and while iterations are under way.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::hash::{Hash, Hasher};

use cyclegc::{Gc, Trace, Weak};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use weak_collections::{ByValue, WeakKeyDictionary, WeakSet, WeakValueDictionary};

/// A value of a `WeakValueDictionary`, told apart by its serial.
#[derive(Trace)]
struct Obj {
    serial: u64,
}

/// A key object of the weak-keyed containers: equal to any other with the same `key`.
#[derive(Trace)]
struct KeyObj<K: 'static> {
    #[trace(skip)]
    key: K,
    serial: u64,
}

impl<K: PartialEq> PartialEq for KeyObj<K> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<K: Eq> Eq for KeyObj<K> {}

impl<K: Hash> Hash for KeyObj<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

/// The keys of a case: the `i`th of a pool of `n`.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    /// `0..n`.
    Sequential,
    /// Two runs: from 0, and from just below 2^21 (a power-of-two table's size), which wraps
    /// onto the first in a table smaller than that.
    WrapAt2To21,
    /// A run across 2^32, where the high half starts folding into the index hash.
    Across2To32,
    /// `i · 15 · 2^16`: all home at a multiple of 2^20, crowding one stretch of the index
    /// until it mixes its hashes.
    Strided15Shl16,
    /// `i · 2^20`.
    Shl20,
    /// `i · 240`: sixteen homes apart.
    Times240,
    /// `-1, -2, ...`.
    Negative,
    /// `-n/2..n/2`.
    AroundZero,
    /// 128-bit keys, mixed by the index.
    U128,
    /// Strings, mixed by the index; looked up by `&str` too.
    Strings,
    /// Pairs, mixed by the index.
    Tuples,
}

fn pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        Just(Pattern::Sequential),
        Just(Pattern::WrapAt2To21),
        Just(Pattern::Across2To32),
        Just(Pattern::Strided15Shl16),
        Just(Pattern::Shl20),
        Just(Pattern::Times240),
        Just(Pattern::Negative),
        Just(Pattern::AroundZero),
        Just(Pattern::U128),
        Just(Pattern::Strings),
        Just(Pattern::Tuples),
    ]
}

/// Which keys of the pool an operation touches: `len` of them, `stride` apart from
/// `start`, wrapping round the pool.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u16,
    /// The share of the pool, in 255ths.
    share: u8,
    stride: u8,
}

impl Span {
    fn indices(self, n: usize) -> impl Iterator<Item = usize> {
        let len = (n * usize::from(self.share)).div_ceil(255);
        let stride = usize::from(self.stride);
        (0..len).map(move |j| (usize::from(self.start) + j * stride) % n)
    }
}

fn span() -> impl Strategy<Value = Span> {
    let share = prop_oneof![
        1 => Just(255u8),
        3 => 128u8..=255,
        3 => 1u8..128,
        1 => Just(1u8),
    ];
    (any::<u16>(), share, 1u8..4).prop_map(|(start, share, stride)| Span { start, share, stride })
}

#[derive(Debug, Clone)]
enum Op {
    /// Inserts the span's keys, with one new object each, or one object shared by all.
    Insert {
        span: Span,
        shared: bool,
    },
    /// `setdefault` with a new object for each key of the span.
    SetDefault(Span),
    Remove(Span),
    /// Drops the model's strong handles to the objects of the span's keys.
    Kill(Span),
    KillAll,
    /// Kills the span's objects from inside a borrow of a table (their removal queued).
    KillWhileBorrowed(Span),
    Pop(u16),
    Clear,
    ShrinkToFit,
    /// Makes room for this many more entries (a length taken modulo the key count plus one).
    Reserve(u16),
    /// Iterates; after `after` entries, kills the span's objects (and, for an odd `after`,
    /// shrinks the containers).
    IterateKilling {
        after: u16,
        span: Span,
    },
    /// Iterates; after `after` entries, inserts the span's absent keys.
    IterateInserting {
        after: u16,
        span: Span,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (span(), any::<bool>()).prop_map(|(span, shared)| Op::Insert { span, shared }),
        1 => span().prop_map(Op::SetDefault),
        2 => span().prop_map(Op::Remove),
        4 => span().prop_map(Op::Kill),
        1 => Just(Op::KillAll),
        1 => span().prop_map(Op::KillWhileBorrowed),
        1 => any::<u16>().prop_map(Op::Pop),
        1 => Just(Op::Clear),
        2 => Just(Op::ShrinkToFit),
        1 => any::<u16>().prop_map(Op::Reserve),
        1 => (any::<u16>(), span()).prop_map(|(after, span)| Op::IterateKilling { after, span }),
        1 => (any::<u16>(), span()).prop_map(|(after, span)| Op::IterateInserting { after, span }),
    ]
}

/// The pool's size: up to a few thousand keys, so that more than 64 stale index entries
/// outnumber the live ones and more than 1,024 crowded keys switch the index's spread.
fn pool_size() -> BoxedStrategy<usize> {
    if cfg!(miri) {
        return (2usize..24).boxed();
    }
    prop_oneof![1 => 2usize..64, 1 => 100usize..600, 2 => 1_200usize..3_000].boxed()
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let most = if cfg!(miri) { 6 } else { 32 };
    proptest::collection::vec(op(), 1..most)
}

fn config() -> ProptestConfig {
    let cases = if cfg!(miri) {
        2
    } else {
        match std::env::var("CYCLEGC_TEST_SCALE").ok().and_then(|s| s.parse::<u32>().ok()) {
            Some(divisor) if divisor > 1 => (96 / divisor).max(3),
            _ => 96,
        }
    };
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Runs `case` with the pattern's keys (a generic case per key type).
macro_rules! with_keys {
    ($pattern:expr, $n:expr, $case:ident, $ops:expr) => {{
        let n = $n;
        let half = n / 2;
        match $pattern {
            Pattern::Sequential => $case(n, $ops, |i| i as u64),
            Pattern::WrapAt2To21 => {
                $case(n, $ops, |i| if i % 2 == 0 { (i / 2) as u64 } else { (1 << 21) - 40 + (i / 2) as u64 })
            }
            Pattern::Across2To32 => $case(n, $ops, |i| (1u64 << 32) + i as u64 - half as u64),
            Pattern::Strided15Shl16 => $case(n, $ops, |i| i as u64 * (15 << 16)),
            Pattern::Shl20 => $case(n, $ops, |i| (i as u64) << 20),
            Pattern::Times240 => $case(n, $ops, |i| i as u64 * 240),
            Pattern::Negative => $case(n, $ops, |i| -(i as i64) - 1),
            Pattern::AroundZero => $case(n, $ops, |i| i as i64 - half as i64),
            Pattern::U128 => $case(n, $ops, |i| ((i as u128) << 64) | (i as u128 * 7)),
            Pattern::Strings => $case(n, $ops, |i| format!("key-{i}")),
            Pattern::Tuples => $case(n, $ops, |i| ((i % 61) as u32, (i / 61) as u16)),
        }
    }};
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_weak_value_dictionary_holds_exactly_its_live_entries(
        pattern in pattern(), n in pool_size(), ops in ops()
    ) {
        with_keys!(pattern, n, value_dictionary_case, &ops)?;
    }

    #[test]
    fn weak_keyed_containers_hold_exactly_their_live_members(
        pattern in pattern(), n in pool_size(), ops in ops()
    ) {
        with_keys!(pattern, n, keyed_case, &ops)?;
    }
}

/// A string key is also looked up by `&str`; other keys by themselves.
trait Lookup: Eq + Hash + Clone + Debug + 'static {
    fn get<T: 'static>(&self, dict: &WeakValueDictionary<Self, T>) -> Option<Gc<T>>;
}

macro_rules! lookup_by_itself {
    ($($key:ty),*) => {$(
        impl Lookup for $key {
            fn get<T: 'static>(&self, dict: &WeakValueDictionary<Self, T>) -> Option<Gc<T>> {
                dict.get(self)
            }
        }
    )*};
}

lookup_by_itself!(u64, i64, u128, (u32, u16));

impl Lookup for String {
    fn get<T: 'static>(&self, dict: &WeakValueDictionary<Self, T>) -> Option<Gc<T>> {
        let by_str = dict.get(self.as_str());
        assert_eq!(by_str.as_ref().map(|o| Gc::as_ptr(o)), dict.get(self).as_ref().map(|o| Gc::as_ptr(o)));
        by_str
    }
}

/// The objects of a case, held strongly by serial until killed.
struct Objects<T> {
    strong: HashMap<u64, Gc<T>>,
    next: u64,
}

impl<T> Objects<T> {
    fn new() -> Self {
        Objects { strong: HashMap::new(), next: 0 }
    }

    fn serial(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
}

fn value_dictionary_case<K: Lookup>(n: usize, ops: &[Op], key_of: impl Fn(usize) -> K) -> Result<(), TestCaseError> {
    let keys: Vec<K> = (0..n).map(&key_of).collect();
    let index_of: HashMap<K, usize> = keys.iter().cloned().enumerate().map(|(i, k)| (k, i)).collect();
    prop_assert_eq!(index_of.len(), n, "the pattern gives distinct keys");
    let dict: WeakValueDictionary<K, Obj> = WeakValueDictionary::new();
    // The entries the dictionary should hold: key index -> its value (pruned of the dead).
    let mut model: HashMap<usize, Weak<Obj>> = HashMap::new();
    let mut objects: Objects<Obj> = Objects::new();
    let new_object = |objects: &mut Objects<Obj>| {
        let obj = Gc::new(Obj { serial: objects.serial() });
        objects.strong.insert(obj.serial, obj.clone());
        obj
    };
    let kill = |objects: &mut Objects<Obj>, model: &HashMap<usize, Weak<Obj>>, span: Span| {
        for i in span.indices(n) {
            if let Some(obj) = model.get(&i).and_then(Weak::upgrade) {
                objects.strong.remove(&obj.serial);
            }
        }
    };
    for op in ops {
        match *op {
            Op::Insert { span, shared } => {
                let one = new_object(&mut objects);
                for i in span.indices(n) {
                    let obj = if shared { one.clone() } else { new_object(&mut objects) };
                    let old = dict.insert(keys[i].clone(), &obj);
                    let expected = model.insert(i, Gc::downgrade(&obj)).and_then(|weak| weak.upgrade());
                    prop_assert_eq!(old.map(|o| o.serial), expected.map(|o| o.serial), "insert of {:?}", keys[i]);
                }
            }
            Op::SetDefault(span) => {
                for i in span.indices(n) {
                    let fresh = new_object(&mut objects);
                    let got = dict.setdefault(keys[i].clone(), &fresh);
                    match model.get(&i).and_then(Weak::upgrade) {
                        Some(live) => {
                            prop_assert!(Gc::ptr_eq(&got, &live));
                            objects.strong.remove(&fresh.serial);
                        }
                        None => {
                            prop_assert!(Gc::ptr_eq(&got, &fresh));
                            model.insert(i, Gc::downgrade(&fresh));
                        }
                    }
                }
            }
            Op::Remove(span) => {
                for i in span.indices(n) {
                    let removed = dict.remove(&keys[i]);
                    let expected = model.remove(&i).and_then(|weak| weak.upgrade());
                    prop_assert_eq!(removed.map(|o| o.serial), expected.map(|o| o.serial), "remove of {:?}", keys[i]);
                }
            }
            Op::Kill(span) => kill(&mut objects, &model, span),
            Op::KillAll => objects.strong.clear(),
            Op::KillWhileBorrowed(span) => {
                // The only user code this dictionary runs under its borrow is its keys'
                // `Hash`, `Eq` and `Clone`, and these keys do not reach the model: the deaths
                // come between the first two steps of a `keys()` iteration instead.
                let mut keys_seen = dict.keys();
                let first = keys_seen.next();
                kill(&mut objects, &model, span);
                drop(first);
                let rest: Vec<K> = keys_seen.collect();
                for key in &rest {
                    let i = index_of[key];
                    prop_assert!(model.get(&i).is_some_and(|weak| !weak.is_dead()), "{:?} met after its death", key);
                }
            }
            Op::Pop(count) => {
                for _ in 0..usize::from(count) % (n + 1) {
                    match dict.popitem() {
                        Some((key, obj)) => {
                            let expected = model.remove(&index_of[&key]).and_then(|weak| weak.upgrade());
                            prop_assert!(expected.is_some_and(|live| Gc::ptr_eq(&live, &obj)), "popped {:?}", key);
                        }
                        None => {
                            prop_assert!(model.values().all(Weak::is_dead), "popitem found nothing");
                            break;
                        }
                    }
                }
            }
            Op::Clear => {
                dict.clear();
                model.clear();
                prop_assert_eq!(dict.capacity(), 0);
            }
            Op::ShrinkToFit => {
                dict.shrink_to_fit();
                if model.values().all(Weak::is_dead) {
                    prop_assert_eq!(dict.capacity(), 0, "an emptied dictionary gives back all it took");
                }
            }
            Op::Reserve(more) => {
                let more = usize::from(more) % (n + 1);
                dict.reserve(more);
                let room = dict.capacity();
                prop_assert!(room >= dict.len() + more, "room for {} more past {}: {}", more, dict.len(), room);
            }
            Op::IterateKilling { after, span } => {
                let mut seen = HashSet::new();
                for (step, (key, obj)) in dict.items().enumerate() {
                    let i = index_of[&key];
                    prop_assert!(seen.insert(i), "{:?} met twice", key);
                    let expected = model.get(&i).and_then(Weak::upgrade);
                    prop_assert!(
                        expected.is_some_and(|live| Gc::ptr_eq(&live, &obj)),
                        "{:?} met with another value",
                        key
                    );
                    drop(obj);
                    if step == usize::from(after) {
                        kill(&mut objects, &model, span);
                        if after % 2 == 1 {
                            dict.shrink_to_fit();
                        }
                    }
                }
                for (i, weak) in &model {
                    prop_assert!(weak.is_dead() || seen.contains(i), "{:?} alive throughout and not met", keys[*i]);
                }
            }
            Op::IterateInserting { after, span } => {
                let live_before: Vec<usize> =
                    model.iter().filter(|(_, weak)| !weak.is_dead()).map(|(i, _)| *i).collect();
                let mut seen = HashSet::new();
                let mut met = Vec::new();
                for (step, (key, obj)) in dict.items().enumerate() {
                    let i = index_of[&key];
                    prop_assert!(seen.insert(i), "{:?} met twice", key);
                    met.push((i, obj));
                    if step == usize::from(after) {
                        for i in span.indices(n) {
                            if model.get(&i).is_none_or(Weak::is_dead) {
                                let obj = new_object(&mut objects);
                                prop_assert!(dict.insert(keys[i].clone(), &obj).is_none());
                                model.insert(i, Gc::downgrade(&obj));
                            }
                        }
                    }
                }
                for (i, obj) in met {
                    let expected = model.get(&i).and_then(Weak::upgrade);
                    prop_assert!(
                        expected.is_some_and(|live| Gc::ptr_eq(&live, &obj)),
                        "{:?} met with another value",
                        keys[i]
                    );
                }
                for i in live_before {
                    prop_assert!(seen.contains(&i), "{:?} alive throughout and not met", keys[i]);
                }
            }
        }
        model.retain(|_, weak| !weak.is_dead());
        check_value_dictionary(&dict, &keys, &index_of, &model)?;
    }
    drop(objects);
    prop_assert_eq!(dict.len(), 0);
    prop_assert_eq!(dict.items().count(), 0);
    Ok(())
}

fn check_value_dictionary<K: Lookup>(
    dict: &WeakValueDictionary<K, Obj>,
    keys: &[K],
    index_of: &HashMap<K, usize>,
    model: &HashMap<usize, Weak<Obj>>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(dict.len(), model.len());
    prop_assert!(dict.capacity() >= dict.len());
    for (i, key) in keys.iter().enumerate() {
        let got = key.get(dict);
        match model.get(&i).and_then(Weak::upgrade) {
            Some(live) => prop_assert!(got.is_some_and(|o| Gc::ptr_eq(&o, &live)), "{:?} not found", key),
            None => prop_assert!(got.is_none(), "{:?} found without a live entry", key),
        }
        prop_assert_eq!(dict.contains_key(key), model.contains_key(&i));
    }
    let items: HashMap<usize, u64> = dict.items().map(|(key, obj)| (index_of[&key], obj.serial)).collect();
    let expected: HashMap<usize, u64> =
        model.iter().map(|(i, weak)| (*i, weak.upgrade().expect("pruned of the dead").serial)).collect();
    prop_assert_eq!(&items, &expected);
    prop_assert_eq!(dict.keys().count(), model.len());
    prop_assert_eq!(dict.values().map(|o| o.serial).collect::<HashSet<_>>(), expected.values().copied().collect());
    Ok(())
}

/// The weak-keyed containers of a case and their models: a set and a dictionary by value,
/// and a set by identity.
struct Keyed<K: Eq + Hash + 'static> {
    set: WeakSet<KeyObj<K>, ByValue>,
    dict: WeakKeyDictionary<KeyObj<K>, u64, ByValue>,
    identity: WeakSet<KeyObj<K>>,
    /// Key index -> the member (pruned of the dead).
    set_model: HashMap<usize, Weak<KeyObj<K>>>,
    /// Key index -> the key object and its value (pruned of the dead).
    dict_model: HashMap<usize, (Weak<KeyObj<K>>, u64)>,
    /// Serial -> the member (pruned of the dead).
    identity_model: HashMap<u64, Weak<KeyObj<K>>>,
}

fn keyed_case<K: Eq + Hash + Clone + Debug + 'static>(
    n: usize,
    ops: &[Op],
    key_of: impl Fn(usize) -> K,
) -> Result<(), TestCaseError> {
    let keys: Vec<K> = (0..n).map(&key_of).collect();
    let mut c = Keyed {
        set: WeakSet::by_value(),
        dict: WeakKeyDictionary::by_value(),
        identity: WeakSet::new(),
        set_model: HashMap::new(),
        dict_model: HashMap::new(),
        identity_model: HashMap::new(),
    };
    // The one object held for each key, if any: only these are alive between operations.
    let mut current: Vec<Option<Gc<KeyObj<K>>>> = vec![None; n];
    let mut serials = 0u64;
    let mut fresh = |i: usize| {
        serials += 1;
        Gc::new(KeyObj { key: keys[i].clone(), serial: serials })
    };
    for op in ops {
        match *op {
            Op::Insert { span, shared: renew } => {
                for i in span.indices(n) {
                    if renew || current[i].is_none() {
                        // The old object, if it was the last handle, dies here.
                        current[i] = Some(fresh(i));
                    }
                    let obj = current[i].clone().expect("just made");
                    keyed_add(&mut c, i, &obj)?;
                }
            }
            Op::SetDefault(span) => {
                for i in span.indices(n) {
                    let obj = current[i].get_or_insert_with(|| fresh(i)).clone();
                    let value = obj.serial * 3;
                    let got = c.dict.setdefault(&obj, value);
                    match c.dict_model.get(&i).filter(|(weak, _)| !weak.is_dead()) {
                        Some((_, old)) => prop_assert_eq!(got, *old),
                        None => {
                            prop_assert_eq!(got, value);
                            c.dict_model.insert(i, (Gc::downgrade(&obj), value));
                        }
                    }
                }
            }
            Op::Remove(span) => {
                for i in span.indices(n) {
                    // By value, an equal object removes the member; by identity, only it.
                    let probe = fresh(i);
                    let member = c.set_model.remove(&i).filter(|weak| !weak.is_dead());
                    prop_assert_eq!(c.set.remove(&probe), member.is_some());
                    let entry = c.dict_model.remove(&i).filter(|(weak, _)| !weak.is_dead());
                    prop_assert_eq!(c.dict.remove(&probe), entry.map(|(_, value)| value));
                    prop_assert!(!c.identity.remove(&probe));
                    if let Some(obj) = &current[i] {
                        let was = c.identity_model.remove(&obj.serial).is_some_and(|weak| !weak.is_dead());
                        prop_assert_eq!(c.identity.remove(obj), was);
                    }
                }
            }
            Op::Kill(span) => span.indices(n).for_each(|i| current[i] = None),
            Op::KillAll => current.iter_mut().for_each(|obj| *obj = None),
            Op::KillWhileBorrowed(span) => {
                // `with_value` runs its closure under a borrow of the dictionary's table:
                // the deaths there are queued and applied by the next operation.
                let Some(first) = span.indices(n).find(|&i| current[i].is_some()) else { continue };
                let key = current[first].clone().expect("found");
                let ran = c.dict.with_value(&key, |_| span.indices(n).for_each(|i| current[i] = None));
                prop_assert_eq!(ran.is_some(), c.dict_model.contains_key(&first));
                span.indices(n).for_each(|i| current[i] = None);
                drop(key);
            }
            Op::Pop(count) => {
                for _ in 0..usize::from(count) % (n + 1) {
                    let set_popped = c.set.pop();
                    let dict_popped = c.dict.popitem();
                    let identity_popped = c.identity.pop();
                    if let Some(member) = set_popped {
                        let i = c
                            .set_model
                            .iter()
                            .find(|(_, weak)| weak.upgrade().is_some_and(|m| Gc::ptr_eq(&m, &member)));
                        let i = *i.expect("a popped member is in the model").0;
                        c.set_model.remove(&i);
                    } else {
                        prop_assert!(c.set_model.values().all(Weak::is_dead));
                    }
                    if let Some((key, value)) = dict_popped {
                        let i = c
                            .dict_model
                            .iter()
                            .find(|(_, (weak, _))| weak.upgrade().is_some_and(|m| Gc::ptr_eq(&m, &key)));
                        let (i, (_, expected)) = i.expect("a popped key is in the model");
                        prop_assert_eq!(value, *expected);
                        let i = *i;
                        c.dict_model.remove(&i);
                    } else {
                        prop_assert!(c.dict_model.values().all(|(weak, _)| weak.is_dead()));
                    }
                    if let Some(member) = identity_popped {
                        let was = c.identity_model.remove(&member.serial);
                        prop_assert!(was.is_some_and(|weak| weak.upgrade().is_some_and(|m| Gc::ptr_eq(&m, &member))));
                    } else {
                        prop_assert!(c.identity_model.values().all(Weak::is_dead));
                    }
                }
            }
            Op::Clear => {
                c.set.clear();
                c.dict.clear();
                c.identity.clear();
                c.set_model.clear();
                c.dict_model.clear();
                c.identity_model.clear();
                prop_assert_eq!(c.set.capacity() + c.dict.capacity() + c.identity.capacity(), 0);
            }
            Op::ShrinkToFit => {
                c.set.shrink_to_fit();
                c.dict.shrink_to_fit();
                c.identity.shrink_to_fit();
                if current.iter().all(Option::is_none) {
                    prop_assert_eq!(c.set.capacity() + c.dict.capacity() + c.identity.capacity(), 0);
                }
            }
            Op::Reserve(more) => {
                let more = usize::from(more) % (n + 1);
                c.set.reserve(more);
                c.dict.reserve(more);
                c.identity.reserve(more);
                prop_assert!(c.set.capacity() >= c.set.len() + more);
                prop_assert!(c.dict.capacity() >= c.dict.len() + more);
                prop_assert!(c.identity.capacity() >= c.identity.len() + more);
            }
            Op::IterateKilling { after, span } => {
                // The three iterations are all under way when the objects die.
                let serials = |members: &mut dyn Iterator<Item = &Weak<KeyObj<K>>>| {
                    members.filter_map(Weak::upgrade).map(|obj| obj.serial).collect::<HashSet<_>>()
                };
                let start = [
                    serials(&mut c.set_model.values()),
                    serials(&mut c.dict_model.values().map(|(weak, _)| weak)),
                    serials(&mut c.identity_model.values()),
                ];
                let mut set_iter = c.set.iter();
                let mut dict_keys = c.dict.keys();
                let mut identity_iter = c.identity.iter();
                let mut met: [HashSet<u64>; 3] = Default::default();
                let before = usize::from(after) % (n + 1);
                for _ in 0..before {
                    note(&mut met[0], set_iter.next())?;
                    note(&mut met[1], dict_keys.next())?;
                    note(&mut met[2], identity_iter.next())?;
                }
                span.indices(n).for_each(|i| current[i] = None);
                if after % 2 == 1 {
                    c.set.shrink_to_fit();
                    c.dict.shrink_to_fit();
                    c.identity.shrink_to_fit();
                }
                set_iter.try_for_each(|member| note(&mut met[0], Some(member)))?;
                dict_keys.try_for_each(|key| note(&mut met[1], Some(key)))?;
                identity_iter.try_for_each(|member| note(&mut met[2], Some(member)))?;
                // Every member met was one before the deaths; every one alive after them
                // was met.
                let alive = |weak: &Weak<KeyObj<K>>| weak.upgrade().map(|obj| obj.serial);
                prop_assert!(met[0].is_subset(&start[0]) && met[1].is_subset(&start[1]) && met[2].is_subset(&start[2]));
                prop_assert!(c.set_model.values().filter_map(alive).all(|s| met[0].contains(&s)));
                prop_assert!(c.dict_model.values().filter_map(|(weak, _)| alive(weak)).all(|s| met[1].contains(&s)));
                prop_assert!(c.identity_model.values().filter_map(alive).all(|s| met[2].contains(&s)));
            }
            Op::IterateInserting { after, span } => {
                let mut set_iter = c.set.iter();
                let mut identity_iter = c.identity.iter();
                let mut met: [HashSet<u64>; 2] = Default::default();
                for _ in 0..usize::from(after) % (n + 1) {
                    note(&mut met[0], set_iter.next())?;
                    note(&mut met[1], identity_iter.next())?;
                }
                let before: Vec<u64> = c.set_model.values().filter_map(Weak::upgrade).map(|o| o.serial).collect();
                for i in span.indices(n) {
                    if c.set_model.get(&i).is_none_or(Weak::is_dead) {
                        let obj = current[i].get_or_insert_with(|| fresh(i)).clone();
                        keyed_add(&mut c, i, &obj)?;
                    }
                }
                set_iter.try_for_each(|member| note(&mut met[0], Some(member)))?;
                identity_iter.try_for_each(|member| note(&mut met[1], Some(member)))?;
                prop_assert!(before.iter().all(|s| met[0].contains(s)), "a member alive throughout not met");
                let members: HashSet<u64> = c.set_model.values().filter_map(Weak::upgrade).map(|o| o.serial).collect();
                prop_assert!(met[0].is_subset(&members));
                let members: HashSet<u64> = c.identity_model.keys().copied().collect();
                prop_assert!(met[1].is_subset(&members));
            }
        }
        check_keyed(&mut c, &current, &mut fresh)?;
    }
    drop(current);
    prop_assert_eq!(c.set.len() + c.dict.len() + c.identity.len(), 0);
    prop_assert_eq!(c.set.iter().count() + c.dict.keys().count() + c.identity.iter().count(), 0);
    Ok(())
}

/// Notes a member an iteration met: once only.
fn note<K>(met: &mut HashSet<u64>, member: Option<Gc<KeyObj<K>>>) -> Result<(), TestCaseError> {
    if let Some(member) = member {
        prop_assert!(met.insert(member.serial), "member {} met twice", member.serial);
    }
    Ok(())
}

/// Adds `obj`, the object of key `i`, to the three containers, checking what they answer.
fn keyed_add<K: Eq + Hash + Clone + Debug>(
    c: &mut Keyed<K>,
    i: usize,
    obj: &Gc<KeyObj<K>>,
) -> Result<(), TestCaseError> {
    let member_alive = c.set_model.get(&i).is_some_and(|weak| !weak.is_dead());
    prop_assert_eq!(c.set.add(obj), !member_alive, "add of {:?}", obj.key);
    if !member_alive {
        c.set_model.insert(i, Gc::downgrade(obj));
    }
    let value = obj.serial * 2;
    let old = match c.dict_model.get_mut(&i).filter(|(weak, _)| !weak.is_dead()) {
        Some((_, held)) => Some(std::mem::replace(held, value)),
        None => {
            c.dict_model.insert(i, (Gc::downgrade(obj), value));
            None
        }
    };
    prop_assert_eq!(c.dict.insert(obj, value), old, "insert of {:?}", obj.key);
    let had = c.identity_model.get(&obj.serial).is_some_and(|weak| !weak.is_dead());
    prop_assert_eq!(c.identity.add(obj), !had);
    c.identity_model.insert(obj.serial, Gc::downgrade(obj));
    Ok(())
}

fn check_keyed<K: Eq + Hash + Clone + Debug>(
    c: &mut Keyed<K>,
    current: &[Option<Gc<KeyObj<K>>>],
    fresh: &mut impl FnMut(usize) -> Gc<KeyObj<K>>,
) -> Result<(), TestCaseError> {
    c.set_model.retain(|_, weak| !weak.is_dead());
    c.dict_model.retain(|_, (weak, _)| !weak.is_dead());
    c.identity_model.retain(|_, weak| !weak.is_dead());
    prop_assert_eq!(c.set.len(), c.set_model.len());
    prop_assert_eq!(c.dict.len(), c.dict_model.len());
    prop_assert_eq!(c.identity.len(), c.identity_model.len());
    prop_assert!(c.set.capacity() >= c.set.len());
    prop_assert!(c.dict.capacity() >= c.dict.len());
    prop_assert!(c.identity.capacity() >= c.identity.len());
    for (i, obj) in current.iter().enumerate() {
        match obj {
            Some(obj) => {
                prop_assert_eq!(c.set.contains(obj), c.set_model.contains_key(&i), "{:?}", obj.key);
                prop_assert_eq!(c.dict.get(obj), c.dict_model.get(&i).map(|(_, value)| *value), "{:?}", obj.key);
                prop_assert_eq!(c.identity.contains(obj), c.identity_model.contains_key(&obj.serial));
            }
            None if i % 5 == 0 => {
                // No live object has this key: an equal one finds nothing.
                let probe = fresh(i);
                prop_assert!(!c.set.contains(&probe) && c.dict.get(&probe).is_none() && !c.identity.contains(&probe));
            }
            None => {}
        }
    }
    let serials = |members: &mut dyn Iterator<Item = Gc<KeyObj<K>>>| members.map(|m| m.serial).collect::<HashSet<_>>();
    let expected: HashSet<u64> = c.set_model.values().filter_map(Weak::upgrade).map(|o| o.serial).collect();
    prop_assert_eq!(serials(&mut c.set.iter()), expected);
    let items: HashMap<u64, u64> = c.dict.items().into_iter().map(|(key, value)| (key.serial, value)).collect();
    let expected: HashMap<u64, u64> = c
        .dict_model
        .values()
        .map(|(weak, value)| (weak.upgrade().expect("pruned of the dead").serial, *value))
        .collect();
    prop_assert_eq!(items, expected);
    prop_assert_eq!(serials(&mut c.identity.iter()), c.identity_model.keys().copied().collect::<HashSet<_>>());
    Ok(())
}
