//! Weak references and weak containers, in nanoseconds per entry (median of several runs):
//! the shapes of `xtask/bench/weak.py` for CPython's `weakref`, so the two can be compared
//! side by side, and their strong twins for the ratios against Rust's own containers.
//!
//! - `value_dict_*`: a `WeakValueDictionary<u64, Node>` of 1,000,000 entries: insert every
//!   entry, one by one, into a new map (the strong twins too), look every key up, iterate the values, and the death of the
//!   values (the map empties itself as they die); `strong_value_map_*`: a
//!   `HashMap<u64, Gc<Node>>` doing the same. `value_dict_death_then_len` is the death and
//!   the map's next operation, `len()`, together: a container that only marks its deaths
//!   removes the dead entries there (CPython removes each during the death).
//! - `key_dict_*`: a `WeakKeyDictionary<Node, u64>` (keys by identity), the same four;
//!   `strong_key_map_*`: a `HashMap` from the object's address to `(Gc<Node>, u64)`.
//! - `weak_set_*`: a `WeakSet<Node>`, the same four; `strong_set_*`: a `HashSet` of
//!   `Gc<Node>` compared by address.
//! - `downgrade`, `upgrade`, `weak_clone`, `weak_drop`: `Gc` and `Weak` against `Rc` and
//!   `std::rc::Weak` (`rc_*`), one operation on each of 1,000,000 objects;
//!   `death_with_weak`: the last strong drop of 1,000,000 objects each with a plain weak
//!   reference that outlives it; `death_without_weak`: the last drop of 1,000,000 objects
//!   never weakly referenced.
//! - `bare_map_lookup`: a control, the floor of a lookup: an `FxHashMap<u64, u64>` of
//!   1,000,000 entries looked up by the keys `value_dict_lookup` uses, with nothing behind
//!   the values (the random access into a table larger than the caches is all it does).
//!
//! `cargo bench -p weak-collections --bench weak` prints a table; `-- --json` prints one JSON
//! object per line for `cargo xtask bench weak`.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::hint::black_box;
use std::rc::Rc;
use std::time::Instant;

use rc_heap::{Gc, Trace};
use rustc_hash::FxHashMap;
use weak_collections::{WeakKeyDictionary, WeakSet, WeakValueDictionary};

const N: usize = 1_000_000;
const RUNS: usize = 5;

/// A tracked object, as a Python object of a class with `__slots__` is.
#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
    value: u64,
}

fn new_nodes() -> Vec<Gc<Node>> {
    (0..N as u64).map(|value| Gc::new(Node { next: RefCell::new(None), value })).collect()
}

/// A strong handle compared by identity, as a weak container compares its keys.
struct ByAddress(Gc<Node>);

impl PartialEq for ByAddress {
    fn eq(&self, other: &Self) -> bool {
        Gc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ByAddress {}

impl Hash for ByAddress {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Gc::as_ptr(&self.0).hash(state);
    }
}

/// Times `f`, in nanoseconds per entry.
fn time<R>(f: impl FnOnce() -> R) -> (R, f64) {
    let start = Instant::now();
    let result = black_box(f());
    (result, start.elapsed().as_nanos() as f64 / N as f64)
}

type Round = Vec<(&'static str, f64)>;

fn value_dict(round: &mut Round) {
    let nodes = new_nodes();
    let (dict, insert) = time(|| {
        let dict = WeakValueDictionary::new();
        for (key, node) in nodes.iter().enumerate() {
            dict.insert(key as u64, node);
        }
        dict
    });
    let (_, lookup) = time(|| (0..N as u64).map(|key| dict.get(&key).map_or(0, |node| node.value)).sum::<u64>());
    let (_, iterate) = time(|| dict.values().map(|node| node.value).sum::<u64>());
    let (_, death) = time(|| drop(nodes));
    let (left, then_len) = time(|| dict.len());
    assert_eq!(left, 0);
    round.extend([
        ("value_dict_insert", insert),
        ("value_dict_lookup", lookup),
        ("value_dict_iterate", iterate),
        ("value_dict_death", death),
        ("value_dict_death_then_len", death + then_len),
    ]);

    let nodes = new_nodes();
    let (map, insert) =
        time(|| nodes.iter().enumerate().map(|(key, node)| (key as u64, node.clone())).collect::<HashMap<_, _>>());
    let (_, lookup) = time(|| (0..N as u64).map(|key| map.get(&key).map_or(0, |node| node.value)).sum::<u64>());
    let (_, iterate) = time(|| map.values().map(|node| node.value).sum::<u64>());
    drop(map);
    drop(nodes);
    round.extend([
        ("strong_value_map_insert", insert),
        ("strong_value_map_lookup", lookup),
        ("strong_value_map_iterate", iterate),
    ]);
}

fn key_dict(round: &mut Round) {
    let nodes = new_nodes();
    let (dict, insert) = time(|| {
        let dict = WeakKeyDictionary::new();
        for node in &nodes {
            dict.insert(node, node.value);
        }
        dict
    });
    let (_, lookup) = time(|| nodes.iter().map(|node| dict.get(node).unwrap_or(0)).sum::<u64>());
    let (_, iterate) = time(|| dict.keys().map(|node| node.value).sum::<u64>());
    let (_, death) = time(|| drop(nodes));
    let (left, then_len) = time(|| dict.len());
    assert_eq!(left, 0);
    round.extend([
        ("key_dict_insert", insert),
        ("key_dict_lookup", lookup),
        ("key_dict_iterate", iterate),
        ("key_dict_death", death),
        ("key_dict_death_then_len", death + then_len),
    ]);

    let nodes = new_nodes();
    let (map, insert) = time(|| {
        let mut map = HashMap::new();
        for node in &nodes {
            map.insert(Gc::as_ptr(node) as usize, (node.clone(), node.value));
        }
        map
    });
    let (_, lookup) = time(|| {
        nodes.iter().map(|node| map.get(&(Gc::as_ptr(node) as usize)).map_or(0, |(_, value)| *value)).sum::<u64>()
    });
    let (_, iterate) = time(|| map.values().map(|(node, _)| node.value).sum::<u64>());
    drop(map);
    drop(nodes);
    round.extend([
        ("strong_key_map_insert", insert),
        ("strong_key_map_lookup", lookup),
        ("strong_key_map_iterate", iterate),
    ]);
}

fn weak_set(round: &mut Round) {
    let nodes = new_nodes();
    let (set, insert) = time(|| {
        let set = WeakSet::new();
        for node in &nodes {
            set.add(node);
        }
        set
    });
    let (_, lookup) = time(|| nodes.iter().filter(|node| set.contains(node)).count());
    let (_, iterate) = time(|| set.iter().map(|node| node.value).sum::<u64>());
    let (_, death) = time(|| drop(nodes));
    let (left, then_len) = time(|| set.len());
    assert_eq!(left, 0);
    round.extend([
        ("weak_set_insert", insert),
        ("weak_set_lookup", lookup),
        ("weak_set_iterate", iterate),
        ("weak_set_death", death),
        ("weak_set_death_then_len", death + then_len),
    ]);

    let nodes = new_nodes();
    let (set, insert) = time(|| {
        let mut set = HashSet::new();
        for node in &nodes {
            set.insert(ByAddress(node.clone()));
        }
        set
    });
    let (_, lookup) = time(|| nodes.iter().filter(|node| set.contains(&ByAddress((*node).clone()))).count());
    let (_, iterate) = time(|| set.iter().map(|node| node.0.value).sum::<u64>());
    drop(set);
    drop(nodes);
    round.extend([("strong_set_insert", insert), ("strong_set_lookup", lookup), ("strong_set_iterate", iterate)]);
}

/// The floor of a lookup in a table of `N` entries: a bare map of numbers.
fn controls(round: &mut Round) {
    let map: FxHashMap<u64, u64> = (0..N as u64).map(|key| (key, key)).collect();
    let (_, lookup) = time(|| (0..N as u64).map(|key| map.get(&key).copied().unwrap_or(0)).sum::<u64>());
    round.push(("bare_map_lookup", lookup));
}

/// `std::rc`'s twin of [`Node`].
struct RcNode {
    _next: RefCell<Option<Rc<RcNode>>>,
    value: u64,
}

/// Times cloning every weak handle and dropping the clones, into a vector whose memory was
/// written once before, so that neither side is timed faulting fresh pages in.
fn clone_and_drop<W: Clone>(weaks: &[W]) -> (f64, f64) {
    let mut clones = Vec::with_capacity(weaks.len());
    clones.extend_from_slice(weaks);
    clones.clear();
    let ((), clone) = time(|| clones.extend_from_slice(weaks));
    let ((), weak_drop) = time(|| clones.clear());
    (clone, weak_drop)
}

fn handles(round: &mut Round) {
    let nodes = new_nodes();
    let (weaks, downgrade) = time(|| nodes.iter().map(Gc::downgrade).collect::<Vec<_>>());
    let (_, upgrade) = time(|| weaks.iter().map(|weak| weak.upgrade().map_or(0, |node| node.value)).sum::<u64>());
    let (clone, weak_drop) = clone_and_drop(&weaks);
    let (_, death_with_weak) = time(|| drop(nodes));
    drop(weaks);
    let never_referenced = new_nodes();
    let (_, death) = time(|| drop(never_referenced));
    round.extend([
        ("downgrade", downgrade),
        ("upgrade", upgrade),
        ("weak_clone", clone),
        ("weak_drop", weak_drop),
        ("death_with_weak", death_with_weak),
        ("death_without_weak", death),
    ]);

    let nodes: Vec<Rc<RcNode>> =
        (0..N as u64).map(|value| Rc::new(RcNode { _next: RefCell::new(None), value })).collect();
    let (weaks, downgrade) = time(|| nodes.iter().map(Rc::downgrade).collect::<Vec<_>>());
    let (_, upgrade) = time(|| weaks.iter().map(|weak| weak.upgrade().map_or(0, |node| node.value)).sum::<u64>());
    let (clone, weak_drop) = clone_and_drop(&weaks);
    let (_, death_with_weak) = time(|| drop(nodes));
    drop(weaks);
    let never_referenced: Vec<Rc<RcNode>> =
        (0..N as u64).map(|value| Rc::new(RcNode { _next: RefCell::new(None), value })).collect();
    let (_, death) = time(|| drop(never_referenced));
    round.extend([
        ("rc_downgrade", downgrade),
        ("rc_upgrade", upgrade),
        ("rc_weak_clone", clone),
        ("rc_weak_drop", weak_drop),
        ("rc_death_with_weak", death_with_weak),
        ("rc_death_without_weak", death),
    ]);
}

fn main() {
    let json = std::env::args().any(|a| a == "--json");
    let mut samples: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut order = Vec::new();
    for _ in 0..RUNS {
        let mut round = Round::new();
        value_dict(&mut round);
        key_dict(&mut round);
        weak_set(&mut round);
        handles(&mut round);
        controls(&mut round);
        for (shape, ns) in round {
            if !samples.contains_key(shape) {
                order.push(shape);
            }
            samples.entry(shape).or_default().push(ns);
        }
    }
    for shape in order {
        let values = samples.get_mut(shape).expect("every shape has samples");
        values.sort_by(f64::total_cmp);
        let ns = values[values.len() / 2];
        if json {
            println!("{{\"shape\": \"{shape}\", \"ns_per_entry\": {ns:.2}}}");
        } else {
            println!("{shape:<28} {ns:>8.2} ns/entry");
        }
    }
}
