//! How deferred containers settle their dead entries, checked against a model that knows
//! which objects live from the strong references it holds (not from weak references): a
//! `WeakSet` by identity, a `WeakSet` by value, a `WeakValueDictionary` keyed by `u8` and a
//! `WeakKeyDictionary` holding `u8` values, all four deferred. Objects die one at a time,
//! in batches (most or all of a container's entries at once, which settles them in one
//! pass over the slab and, once none is left, clears the watcher's record) and by the
//! collector; meanwhile plain weak references, `keyrefs()`/`valuerefs()` handles and
//! iterations in progress are kept, entries are removed by hand and their slots reused,
//! and containers are shrunk and cleared.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use cyclegc::{Gc, Trace, Weak};
use proptest::prelude::*;
use weak_collections::{ByValue, WeakKeyDictionary, WeakSet, WeakValueDictionary};

#[derive(Trace)]
struct Obj {
    /// The object's number in the model.
    idx: usize,
    /// What the by-value set compares (several objects share one).
    key: u8,
    me: RefCell<Option<Gc<Obj>>>,
}

impl PartialEq for Obj {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Obj {}

impl Hash for Obj {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

const KEYS: u8 = 5;

#[derive(Debug, Clone)]
enum Op {
    New {
        cyclic: bool,
    },
    Drop(usize),
    /// Drops the roots whose bit is set (of the first 64).
    DropMany(u64),
    DropAll,
    /// Drops the roots of the objects numbered `from..to`.
    DropRange(usize, usize),
    Collect,
    SetAdd(usize),
    SetRemove(usize),
    SetPop,
    ValueSetAdd(usize),
    ValueSetRemove(usize),
    DictInsert(u8, usize),
    DictRemove(u8),
    DictPopItem,
    KeyedInsert(usize, u8),
    KeyedRemove(usize),
    KeyedPopItem,
    Plain(usize),
    DropPlains,
    KeepRefs,
    DropRefs,
    IterStart(u8),
    IterStep(u8, u8),
    ShrinkToFit(u8),
    Clear(u8),
    Len,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<bool>().prop_map(|cyclic| Op::New { cyclic }),
        2 => any::<usize>().prop_map(Op::Drop),
        1 => any::<u64>().prop_map(Op::DropMany),
        1 => Just(Op::DropAll),
        1 => (0usize..40, 0usize..40).prop_map(|(from, to)| Op::DropRange(from, to)),
        1 => Just(Op::Collect),
        3 => any::<usize>().prop_map(Op::SetAdd),
        1 => any::<usize>().prop_map(Op::SetRemove),
        1 => Just(Op::SetPop),
        2 => any::<usize>().prop_map(Op::ValueSetAdd),
        1 => any::<usize>().prop_map(Op::ValueSetRemove),
        3 => (0u8..8, any::<usize>()).prop_map(|(k, i)| Op::DictInsert(k, i)),
        1 => (0u8..8).prop_map(Op::DictRemove),
        1 => Just(Op::DictPopItem),
        3 => (any::<usize>(), 0u8..4).prop_map(|(i, v)| Op::KeyedInsert(i, v)),
        1 => any::<usize>().prop_map(Op::KeyedRemove),
        1 => Just(Op::KeyedPopItem),
        2 => any::<usize>().prop_map(Op::Plain),
        1 => Just(Op::DropPlains),
        1 => Just(Op::KeepRefs),
        1 => Just(Op::DropRefs),
        2 => (0u8..4).prop_map(Op::IterStart),
        3 => (0u8..4, 1u8..4).prop_map(|(c, n)| Op::IterStep(c, n)),
        1 => (0u8..4).prop_map(Op::ShrinkToFit),
        1 => (0u8..4).prop_map(Op::Clear),
        1 => Just(Op::Len),
    ]
}

/// The divisor `CYCLEGC_TEST_SCALE` asks for (valgrind runs at 100), 1 by default.
fn scale() -> u32 {
    std::env::var("CYCLEGC_TEST_SCALE").ok().and_then(|s| s.parse::<u32>().ok()).unwrap_or(1).max(1)
}

fn cases() -> u32 {
    if cfg!(miri) {
        return 2;
    }
    if scale() > 1 { (100 / scale()).max(3) } else { 100 }
}

fn max_ops() -> usize {
    if cfg!(miri) { 40 } else { 150 }
}

/// An entry as the model sees it: a number naming the key or value (0 for a set's), and
/// the object.
type Pair = (u64, usize);

/// An iteration in progress: what it yields, the entries present since it began (which it
/// must meet), and those it met.
struct Walk {
    iter: Box<dyn Iterator<Item = Pair>>,
    throughout: HashSet<Pair>,
    met: HashSet<Pair>,
}

struct World {
    set: WeakSet<Obj>,
    by_value: WeakSet<Obj, ByValue>,
    dict: WeakValueDictionary<u8, Obj>,
    keyed: WeakKeyDictionary<Obj, u8>,
    /// By object: its root while the model holds one, whether it is in a cycle, whether
    /// it lives.
    roots: Vec<Option<Gc<Obj>>>,
    cyclic: Vec<bool>,
    alive: Vec<bool>,
    set_m: HashSet<usize>,
    by_value_m: HashMap<u8, usize>,
    dict_m: HashMap<u8, usize>,
    keyed_m: HashMap<usize, u8>,
    plains: Vec<(usize, Weak<Obj>)>,
    refs: Vec<(usize, Weak<Obj>)>,
    walks: [Option<Walk>; 4],
    /// How many keys the by-value set's objects spread over.
    keys: usize,
    /// Whether `apply` checks the whole model after the step (else the caller checks).
    check_each_step: bool,
}

impl World {
    fn new() -> Self {
        World {
            set: WeakSet::new(),
            by_value: WeakSet::by_value(),
            dict: WeakValueDictionary::new(),
            keyed: WeakKeyDictionary::new(),
            roots: Vec::new(),
            cyclic: Vec::new(),
            alive: Vec::new(),
            set_m: HashSet::new(),
            by_value_m: HashMap::new(),
            dict_m: HashMap::new(),
            keyed_m: HashMap::new(),
            plains: Vec::new(),
            refs: Vec::new(),
            walks: [None, None, None, None],
            keys: usize::from(KEYS),
            check_each_step: true,
        }
    }

    /// A rooted object, chosen by `pick`.
    fn rooted(&self, pick: usize) -> Option<Gc<Obj>> {
        let rooted: Vec<&Gc<Obj>> = self.roots.iter().flatten().collect();
        (!rooted.is_empty()).then(|| rooted[pick % rooted.len()].clone())
    }

    fn unroot(&mut self, idx: usize) {
        if self.roots[idx].take().is_some() && !self.cyclic[idx] {
            self.alive[idx] = false;
        }
    }

    fn pairs(&self, container: u8) -> HashSet<Pair> {
        match container {
            0 => self.set_m.iter().map(|&i| (0, i)).collect(),
            1 => self.by_value_m.iter().map(|(&k, &i)| (u64::from(k), i)).collect(),
            2 => self.dict_m.iter().map(|(&k, &i)| (u64::from(k), i)).collect(),
            _ => self.keyed_m.iter().map(|(&i, &v)| (u64::from(v), i)).collect(),
        }
    }

    fn iterate(&self, container: u8) -> Box<dyn Iterator<Item = Pair>> {
        match container {
            0 => Box::new(self.set.iter().map(|o| (0, o.idx))),
            1 => Box::new(self.by_value.iter().map(|o| (u64::from(o.key), o.idx))),
            2 => Box::new(self.dict.items().map(|(k, o)| (u64::from(k), o.idx))),
            _ => Box::new(self.keyed.iter().map(|(o, v)| (u64::from(v), o.idx))),
        }
    }

    fn len(&self, container: u8) -> usize {
        match container {
            0 => self.set.len(),
            1 => self.by_value.len(),
            2 => self.dict.len(),
            _ => self.keyed.len(),
        }
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::New { cyclic } => {
                let idx = self.roots.len();
                let obj = Gc::new(Obj { idx, key: (idx % self.keys) as u8, me: RefCell::new(None) });
                if cyclic {
                    *obj.me.borrow_mut() = Some(obj.clone());
                }
                self.roots.push(Some(obj));
                self.cyclic.push(cyclic);
                self.alive.push(true);
            }
            Op::Drop(pick) => {
                if let Some(obj) = self.rooted(pick) {
                    let idx = obj.idx;
                    drop(obj);
                    self.unroot(idx);
                }
            }
            Op::DropMany(mask) => {
                let rooted: Vec<usize> = self.roots.iter().flatten().map(|o| o.idx).collect();
                for (bit, idx) in rooted.into_iter().enumerate() {
                    if bit < 64 && mask & (1 << bit) != 0 {
                        self.unroot(idx);
                    }
                }
            }
            Op::DropAll => {
                for idx in 0..self.roots.len() {
                    self.unroot(idx);
                }
            }
            Op::DropRange(from, to) => {
                for idx in from..to.min(self.roots.len()) {
                    self.unroot(idx);
                }
            }
            Op::Collect => {
                gen_gc::collect();
                for idx in 0..self.roots.len() {
                    if self.roots[idx].is_none() {
                        self.alive[idx] = false;
                    }
                }
            }
            Op::SetAdd(pick) => {
                if let Some(obj) = self.rooted(pick) {
                    prop_assert_eq!(self.set.add(&obj), self.set_m.insert(obj.idx));
                }
            }
            Op::SetRemove(pick) => {
                if let Some(obj) = self.rooted(pick) {
                    prop_assert_eq!(self.set.remove(&obj), self.set_m.remove(&obj.idx));
                }
            }
            Op::SetPop => match self.set.pop() {
                Some(obj) => prop_assert!(self.set_m.remove(&obj.idx), "popped {} not a member", obj.idx),
                None => prop_assert!(self.set_m.is_empty()),
            },
            Op::ValueSetAdd(pick) => {
                if let Some(obj) = self.rooted(pick) {
                    let added = self.by_value.add(&obj);
                    prop_assert_eq!(added, !self.by_value_m.contains_key(&obj.key));
                    if added {
                        self.by_value_m.insert(obj.key, obj.idx);
                    }
                }
            }
            Op::ValueSetRemove(pick) => {
                if let Some(obj) = self.rooted(pick) {
                    prop_assert_eq!(self.by_value.remove(&obj), self.by_value_m.remove(&obj.key).is_some());
                }
            }
            Op::DictInsert(key, pick) => {
                if let Some(obj) = self.rooted(pick) {
                    let old = self.dict.insert(key, &obj).map(|o| o.idx);
                    prop_assert_eq!(old, self.dict_m.insert(key, obj.idx));
                }
            }
            Op::DictRemove(key) => {
                prop_assert_eq!(self.dict.remove(&key).map(|o| o.idx), self.dict_m.remove(&key));
            }
            Op::DictPopItem => match self.dict.popitem() {
                Some((key, obj)) => prop_assert_eq!(self.dict_m.remove(&key), Some(obj.idx)),
                None => prop_assert!(self.dict_m.is_empty()),
            },
            Op::KeyedInsert(pick, value) => {
                if let Some(obj) = self.rooted(pick) {
                    prop_assert_eq!(self.keyed.insert(&obj, value), self.keyed_m.insert(obj.idx, value));
                }
            }
            Op::KeyedRemove(pick) => {
                if let Some(obj) = self.rooted(pick) {
                    prop_assert_eq!(self.keyed.remove(&obj), self.keyed_m.remove(&obj.idx));
                }
            }
            Op::KeyedPopItem => match self.keyed.popitem() {
                Some((obj, value)) => prop_assert_eq!(self.keyed_m.remove(&obj.idx), Some(value)),
                None => prop_assert!(self.keyed_m.is_empty()),
            },
            Op::Plain(pick) => {
                if let Some(obj) = self.rooted(pick) {
                    self.plains.push((obj.idx, Gc::downgrade(&obj)));
                }
            }
            Op::DropPlains => self.plains.clear(),
            Op::KeepRefs => {
                for weak in self.keyed.keyrefs() {
                    let idx = weak.upgrade().expect("a key reference of a live entry").idx;
                    prop_assert!(self.keyed_m.contains_key(&idx));
                    self.refs.push((idx, weak));
                }
                for weak in self.dict.valuerefs() {
                    let idx = weak.upgrade().expect("a value reference of a live entry").idx;
                    prop_assert!(self.dict_m.values().any(|&i| i == idx));
                    self.refs.push((idx, weak));
                }
            }
            Op::DropRefs => self.refs.clear(),
            Op::IterStart(container) => {
                let iter = self.iterate(container);
                let throughout = self.pairs(container);
                self.walks[usize::from(container)] = Some(Walk { iter, throughout, met: HashSet::new() });
            }
            Op::IterStep(container, steps) => {
                let current = self.pairs(container);
                let Some(walk) = self.walks[usize::from(container)].as_mut() else { return Ok(()) };
                for _ in 0..steps {
                    match walk.iter.next() {
                        Some(pair) => {
                            prop_assert!(current.contains(&pair), "container {} yielded {:?}", container, pair);
                            prop_assert!(self.alive[pair.1]);
                            walk.met.insert(pair);
                        }
                        None => {
                            let missed: Vec<_> = walk.throughout.difference(&walk.met).collect();
                            prop_assert!(missed.is_empty(), "container {} missed {:?}", container, missed);
                            self.walks[usize::from(container)] = None;
                            break;
                        }
                    }
                }
            }
            Op::ShrinkToFit(container) => match container {
                0 => self.set.shrink_to_fit(),
                1 => self.by_value.shrink_to_fit(),
                2 => self.dict.shrink_to_fit(),
                _ => self.keyed.shrink_to_fit(),
            },
            Op::Clear(container) => match container {
                0 => {
                    self.set.clear();
                    self.set_m.clear();
                }
                1 => {
                    self.by_value.clear();
                    self.by_value_m.clear();
                }
                2 => {
                    self.dict.clear();
                    self.dict_m.clear();
                }
                _ => {
                    self.keyed.clear();
                    self.keyed_m.clear();
                }
            },
            Op::Len => {
                for container in 0..4 {
                    prop_assert_eq!(self.len(container), self.pairs(container).len());
                }
            }
        }
        self.prune();
        if self.check_each_step { self.check() } else { Ok(()) }
    }

    /// Forgets the dead in the models, and what iterations in progress no longer must meet.
    fn prune(&mut self) {
        let alive = &self.alive;
        self.set_m.retain(|&i| alive[i]);
        self.by_value_m.retain(|_, i| alive[*i]);
        self.dict_m.retain(|_, i| alive[*i]);
        self.keyed_m.retain(|i, _| alive[*i]);
        for container in 0..4u8 {
            let current = self.pairs(container);
            if let Some(walk) = self.walks[usize::from(container)].as_mut() {
                walk.throughout.retain(|pair| current.contains(pair));
            }
        }
    }

    fn check(&self) -> Result<(), TestCaseError> {
        // Lookups first, before anything settles the containers.
        for (idx, root) in self.roots.iter().enumerate() {
            let Some(obj) = root else { continue };
            prop_assert_eq!(self.set.contains(obj), self.set_m.contains(&idx));
            prop_assert_eq!(self.by_value.contains(obj), self.by_value_m.contains_key(&obj.key));
            prop_assert_eq!(self.keyed.contains_key(obj), self.keyed_m.contains_key(&idx));
        }
        for key in 0u8..8 {
            prop_assert_eq!(self.dict.contains_key(&key), self.dict_m.contains_key(&key));
            prop_assert_eq!(self.dict.get(&key).map(|o| o.idx), self.dict_m.get(&key).copied());
        }
        for (idx, weak) in self.plains.iter().chain(&self.refs) {
            prop_assert_eq!(weak.upgrade().map(|o| o.idx), self.alive[*idx].then_some(*idx));
            prop_assert_eq!(weak.is_dead(), !self.alive[*idx]);
        }
        for container in 0..4u8 {
            let pairs = self.pairs(container);
            prop_assert_eq!(self.len(container), pairs.len(), "len of container {}", container);
            let listed: Vec<Pair> = self.iterate(container).collect();
            prop_assert_eq!(listed.len(), pairs.len(), "container {} lists {:?}", container, listed);
            prop_assert_eq!(listed.into_iter().collect::<HashSet<_>>(), pairs);
        }
        for (idx, root) in self.roots.iter().enumerate() {
            let Some(obj) = root else { continue };
            prop_assert_eq!(self.keyed.get(obj), self.keyed_m.get(&idx).copied());
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn deferred_containers_settle_to_exactly_their_live_entries(ops in proptest::collection::vec(op(), 1..max_ops())) {
        gen_gc::disable();
        let mut world = World::new();
        for op in ops {
            world.apply(op)?;
        }
        // Everything dies: every container settles empty, and works again afterwards.
        world.apply(Op::DropAll)?;
        world.apply(Op::Collect)?;
        for container in 0..4 {
            world.apply(Op::IterStep(container, 3))?;
        }
        for op in [Op::New { cyclic: false }, Op::SetAdd(0), Op::ValueSetAdd(0), Op::DictInsert(1, 0), Op::KeyedInsert(0, 2)] {
            world.apply(op)?;
        }
        prop_assert_eq!(world.set.len(), 1);
        world.apply(Op::DropAll)?;
        prop_assert!(world.set.is_empty() && world.by_value.is_empty() && world.dict.is_empty() && world.keyed.is_empty());
        gen_gc::enable();
    }
}

/// Slabs of several bitmap words: entries die at the slab's end, across words, all but
/// one, and all, with plain weak references and key and value references kept, while
/// iterations are in progress; then the freed tags are taken again.
#[test]
#[cfg_attr(miri, ignore = "checks the whole model after every step: hours under Miri at this size")]
fn large_deferred_containers_settle_across_bitmap_words() {
    gen_gc::disable();
    // Past two bitmap words, which the patterns below cross.
    let n = 140;
    let patterns: [&[(usize, usize)]; 5] =
        [&[(n - 100, n)], &[(0, n / 2), (n / 2 + 1, n)], &[(0, n)], &[(1, n - 1)], &[(0, 63), (65, 127), (129, n)]];
    // Scaled down (under valgrind), the fills, where nothing dies, are checked every 16
    // objects and at their end; the deaths and settling are checked after every step.
    let fill_check_stride = if scale() > 1 { 16 } else { 1 };
    for (round, pattern) in patterns.iter().enumerate() {
        let mut world = World::new();
        world.keys = 251;
        world.check_each_step = fill_check_stride == 1;
        for idx in 0..n {
            world.apply(Op::New { cyclic: idx % 7 == 3 }).unwrap();
            for op in [
                Op::SetAdd(idx),
                Op::ValueSetAdd(idx),
                Op::DictInsert(idx as u8, idx),
                Op::KeyedInsert(idx, (idx % 4) as u8),
            ] {
                world.apply(op).unwrap();
            }
            if idx % 3 == 0 {
                world.apply(Op::Plain(idx)).unwrap();
            }
            if idx % fill_check_stride == 0 {
                world.check().unwrap();
            }
        }
        // A few removed by hand, their tags free (or stale in the indexed ones).
        for idx in [5, 64, n - 1] {
            for op in [Op::SetRemove(idx), Op::ValueSetRemove(idx), Op::DictRemove(idx as u8), Op::KeyedRemove(idx)] {
                world.apply(op).unwrap();
            }
        }
        world.check_each_step = true;
        world.check().unwrap();
        world.apply(Op::KeepRefs).unwrap();
        for container in 0..4 {
            world.apply(Op::IterStart(container)).unwrap();
            world.apply(Op::IterStep(container, 2)).unwrap();
        }
        for &(from, to) in pattern.iter() {
            world.apply(Op::DropRange(from, to)).unwrap();
        }
        world.apply(Op::Collect).unwrap();
        for container in 0..4 {
            world.apply(Op::IterStep(container, 3)).unwrap();
        }
        // New objects take the freed tags.
        world.check_each_step = fill_check_stride == 1;
        for idx in n..n + 80 {
            world.apply(Op::New { cyclic: false }).unwrap();
            for op in [Op::SetAdd(idx), Op::ValueSetAdd(idx), Op::DictInsert(idx as u8, idx), Op::KeyedInsert(idx, 1)] {
                let rooted = world.roots.iter().flatten().count();
                let pick = world.roots.iter().flatten().position(|o| o.idx == idx).unwrap();
                assert!(pick < rooted);
                let op = match op {
                    Op::SetAdd(_) => Op::SetAdd(pick),
                    Op::ValueSetAdd(_) => Op::ValueSetAdd(pick),
                    Op::DictInsert(k, _) => Op::DictInsert(k, pick),
                    Op::KeyedInsert(_, v) => Op::KeyedInsert(pick, v),
                    other => other,
                };
                world.apply(op).unwrap_or_else(|e| panic!("round {round}: {e}"));
            }
            if idx % fill_check_stride == 0 {
                world.check().unwrap_or_else(|e| panic!("round {round}: {e}"));
            }
        }
        world.check_each_step = true;
        world.check().unwrap_or_else(|e| panic!("round {round}: {e}"));
        for container in 0..4 {
            world.apply(Op::IterStep(container, 255)).unwrap_or_else(|e| panic!("round {round}: {e}"));
            world.apply(Op::ShrinkToFit(container)).unwrap();
        }
        world.apply(Op::DropAll).unwrap();
        world.apply(Op::Len).unwrap();
    }
    gen_gc::enable();
}
