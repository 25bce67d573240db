//! A careless user against the weak containers: `Hash` and `Eq` that panic or reach back into
//! their container, values whose `Drop` mutates the container their key is leaving,
//! containers dropped or cleared from inside their own callbacks and iterations, and
//! `finalize` handles used from inside their own function. Each scenario ends with the
//! container's length, contents and callbacks as a careful user would expect.

mod common;

use std::cell::{Cell, RefCell};
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use cyclegc::weak_collections::{WeakKeyDictionary, WeakSet, WeakValueDictionary, finalize, proxy};
use cyclegc::{Gc, Trace};

thread_local! {
    static HASH_PANICS: Cell<bool> = const { Cell::new(false) };
    static EQ_PANICS: Cell<bool> = const { Cell::new(false) };
}

/// A value whose `Hash` and `Eq` panic on request.
#[derive(Trace)]
struct Moody(u32);

impl Hash for Moody {
    fn hash<H: Hasher>(&self, state: &mut H) {
        assert!(!HASH_PANICS.with(Cell::get), "Moody::hash exploded");
        self.0.hash(state);
    }
}

impl PartialEq for Moody {
    fn eq(&self, other: &Self) -> bool {
        assert!(!EQ_PANICS.with(Cell::get), "Moody::eq exploded");
        self.0 == other.0
    }
}

impl Eq for Moody {}

fn panics(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("a panic");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn a_by_value_set_survives_a_hash_and_an_eq_that_panic() {
    let set = WeakSet::by_value();
    let members: Vec<_> = (0..6).map(|i| Gc::new(Moody(i))).collect();
    for member in &members {
        set.add(member);
    }
    let stranger = Gc::new(Moody(3));
    HASH_PANICS.with(|p| p.set(true));
    assert!(
        panics(|| {
            set.add(Gc::new(Moody(9)));
        })
        .contains("Moody::hash exploded")
    );
    assert!(
        panics(|| {
            set.contains(&stranger);
        })
        .contains("Moody::hash exploded")
    );
    HASH_PANICS.with(|p| p.set(false));
    EQ_PANICS.with(|p| p.set(true));
    assert!(
        panics(|| {
            set.add(&stranger);
        })
        .contains("Moody::eq exploded")
    );
    assert!(panics(|| set.discard(&stranger)).contains("Moody::eq exploded"));
    EQ_PANICS.with(|p| p.set(false));
    assert_eq!(set.len(), 6, "nothing was added or removed by the failed calls");
    assert!(set.contains(&stranger), "an equal value is found");
    assert!(!set.add(&stranger));
    // Members die with Hash panicking: their removal must not need it.
    HASH_PANICS.with(|p| p.set(true));
    EQ_PANICS.with(|p| p.set(true));
    drop(members);
    gen_gc::collect();
    HASH_PANICS.with(|p| p.set(false));
    EQ_PANICS.with(|p| p.set(false));
    assert_eq!(set.len(), 0);
    assert!(set.iter().next().is_none());
    assert!(set.add(&stranger));
    assert_eq!(set.len(), 1);
}

thread_local! {
    static PEEKED: RefCell<Option<Rc<WeakSet<Nosy, cyclegc::weak_collections::ByValue>>>> = const { RefCell::new(None) };
    static PEEK_RESULTS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// A value whose `Eq` reads the set it is compared in, and may try to change it.
#[derive(Trace)]
struct Nosy(u32);

impl Hash for Nosy {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

thread_local! {
    static NOSY_MUTATES: Cell<bool> = const { Cell::new(false) };
}

impl PartialEq for Nosy {
    fn eq(&self, other: &Self) -> bool {
        PEEKED.with(|set| {
            if let Some(set) = set.borrow().as_ref() {
                PEEK_RESULTS.with(|seen| seen.borrow_mut().push(set.len()));
                if NOSY_MUTATES.with(Cell::get) {
                    set.clear();
                }
            }
        });
        self.0 == other.0
    }
}

impl Eq for Nosy {}

fn nosy_set() -> Rc<WeakSet<Nosy, cyclegc::weak_collections::ByValue>> {
    let set = Rc::new(WeakSet::by_value());
    PEEKED.with(|peeked| *peeked.borrow_mut() = Some(set.clone()));
    set
}

#[test]
fn an_eq_that_reads_its_set_sees_it_whole() {
    let set = nosy_set();
    let a = Gc::new(Nosy(1));
    let b = Gc::new(Nosy(1));
    assert!(set.add(&a));
    assert!(!set.add(&b), "equal to a");
    assert!(set.contains(&b));
    assert!(set.remove(&b), "removes a, its equal");
    assert_eq!(PEEK_RESULTS.with(|seen| seen.borrow().clone()), [1, 1, 1]);
    PEEKED.with(|peeked| peeked.borrow_mut().take());
    assert!(set.is_empty());
}

#[test]
fn an_eq_that_clears_its_set_gets_a_panic_that_names_the_misuse() {
    let set = nosy_set();
    let a = Gc::new(Nosy(1));
    let b = Gc::new(Nosy(1));
    assert!(set.add(&a));
    NOSY_MUTATES.with(|m| m.set(true));
    let message = panics(|| {
        set.contains(&b);
    });
    NOSY_MUTATES.with(|m| m.set(false));
    PEEKED.with(|peeked| peeked.borrow_mut().take());
    assert!(!message.contains("already borrowed"), "a bare RefCell message: {message}");
    assert!(message.contains("WeakSet"), "{message}");
    assert_eq!(set.len(), 1, "the set is unchanged");
    assert!(set.contains(&a));
}

thread_local! {
    static DICT: RefCell<Option<Rc<WeakKeyDictionary<Key, Meddler>>>> = const { RefCell::new(None) };
}

#[derive(Trace)]
struct Key(u32);

/// A value that, when its entry goes, changes the dictionary it was in.
struct Meddler {
    action: fn(&WeakKeyDictionary<Key, Meddler>),
    drops: Rc<Cell<usize>>,
}

impl Drop for Meddler {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
        let dict = DICT.with(|dict| dict.borrow().clone());
        if let Some(dict) = dict {
            (self.action)(&dict);
        }
    }
}

fn meddling_dict() -> Rc<WeakKeyDictionary<Key, Meddler>> {
    let dict = Rc::new(WeakKeyDictionary::new());
    DICT.with(|d| *d.borrow_mut() = Some(dict.clone()));
    dict
}

#[test]
fn a_value_dropped_with_its_dead_key_may_remove_insert_and_clear_in_its_dictionary() {
    let dict = meddling_dict();
    let drops = Rc::new(Cell::new(0));
    let keys: Vec<_> = (0..4).map(|i| Gc::new(Key(i))).collect();
    let actions: [fn(&WeakKeyDictionary<Key, Meddler>); 4] = [
        |dict| drop(dict.remove(dict.keys().find(|k| k.0 == 1).expect("key 1 lives"))),
        |_| {},
        |dict| assert!(dict.len() <= 3),
        |dict| dict.clear(),
    ];
    for (key, action) in keys.iter().zip(actions) {
        dict.insert(key, Meddler { action, drops: drops.clone() });
    }
    let mut keys = keys.into_iter();
    let first = keys.next().unwrap();
    drop(first);
    assert_eq!(drops.get(), 2, "the dead key's value and the one it removed were dropped");
    assert_eq!(dict.len(), 2);
    let rest: Vec<_> = keys.collect();
    drop(rest);
    assert_eq!(drops.get(), 4);
    assert_eq!(dict.len(), 0);
    assert_eq!(dict.keys().count(), 0);
    DICT.with(|d| d.borrow_mut().take());
}

#[test]
fn a_value_dropped_with_its_dead_key_may_insert_a_new_entry() {
    let dict = meddling_dict();
    let drops = Rc::new(Cell::new(0));
    thread_local!(static NEWCOMER: Gc<Key> = Gc::new(Key(99)));
    let key = Gc::new(Key(0));
    dict.insert(
        &key,
        Meddler {
            action: |dict| {
                let newcomer = NEWCOMER.with(Gc::clone);
                dict.insert(&newcomer, Meddler { action: |_| {}, drops: Rc::new(Cell::new(0)) });
            },
            drops: drops.clone(),
        },
    );
    drop(key);
    assert_eq!(drops.get(), 1);
    assert_eq!(dict.len(), 1, "the entry its value added is there");
    assert_eq!(dict.keys().map(|k| k.0).collect::<Vec<_>>(), [99]);
    DICT.with(|d| d.borrow_mut().take());
    dict.clear();
}

#[test]
fn a_value_whose_drop_drops_the_last_handle_to_its_dictionary() {
    let dict = meddling_dict();
    let drops = Rc::new(Cell::new(0));
    let keys: Vec<_> = (0..3).map(|i| Gc::new(Key(i))).collect();
    for key in &keys {
        dict.insert(key, Meddler { action: |_| DICT.with(|d| drop(d.borrow_mut().take())), drops: drops.clone() });
    }
    drop(dict);
    drop(keys);
    assert_eq!(drops.get(), 3, "every value is dropped once, the dictionary with them");
}

#[test]
fn a_weak_callback_that_drops_a_value_dictionary_while_its_value_dies() {
    // The newer callback runs first and drops the dictionary; the dictionary's own report then
    // finds it gone.
    let dict = Rc::new(RefCell::new(Some(WeakValueDictionary::new())));
    let value = Gc::new(Key(1));
    dict.borrow().as_ref().unwrap().insert("one", &value);
    let other = Gc::new(Key(2));
    dict.borrow().as_ref().unwrap().insert("two", &other);
    let holder = dict.clone();
    let _weak = Gc::downgrade_with_callback(&value, move |_| drop(holder.borrow_mut().take()));
    drop(value);
    assert!(dict.borrow().is_none());
    drop(other);
    gen_gc::collect();
}

#[test]
fn iterating_a_set_while_the_loop_clears_it_kills_members_and_collects() {
    let set = WeakSet::new();
    let mut members: Vec<Option<Gc<Key>>> = (0..10).map(|i| Some(Gc::new(Key(i)))).collect();
    for member in members.iter().flatten() {
        set.add(member);
    }
    let mut seen = 0;
    for (i, member) in set.iter().enumerate() {
        seen += 1;
        assert!(Gc::try_get(&member).is_ok());
        members[(i + 3) % 10] = None;
        if i == 2 {
            set.clear();
            set.add(&member);
        }
        gen_gc::collect();
    }
    assert!(seen <= 10);
    let alive = members.iter().flatten().count();
    assert!(set.len() <= alive.max(1));
    for member in set.iter() {
        assert!(Gc::try_get(&member).is_ok());
    }
}

#[test]
fn a_finalize_function_that_calls_detaches_and_drops_its_own_finalizer() {
    let object = Gc::new(Key(1));
    let calls = Rc::new(Cell::new(0));
    let slot: Rc<RefCell<Option<cyclegc::weak_collections::Finalizer<Key>>>> = Rc::default();
    let finalizer = finalize(&object, {
        let (calls, slot) = (calls.clone(), slot.clone());
        move || {
            calls.set(calls.get() + 1);
            let own = slot.borrow_mut().take().expect("the finalizer handle");
            assert!(!own.alive(), "inside its call the finalizer is dead");
            assert!(!own.call(), "a second call does nothing");
            assert!(own.detach().is_none());
            assert!(own.peek().is_none());
        }
    });
    *slot.borrow_mut() = Some(finalizer);
    drop(object);
    assert_eq!(calls.get(), 1);
    assert!(slot.borrow().is_none());
}

#[test]
fn a_finalize_function_that_panics_runs_once_and_is_reported() {
    let object = Gc::new(Key(1));
    let calls = Rc::new(Cell::new(0));
    let finalizer = finalize(&object, {
        let calls = calls.clone();
        move || {
            calls.set(calls.get() + 1);
            panic!("finalize function exploded");
        }
    });
    let reports = common::unraisable_during(|| drop(object));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].1, "finalize function exploded");
    assert!(!finalizer.alive());
    assert!(!finalizer.call());
    assert_eq!(calls.get(), 1);
}

thread_local! {
    static TARGET: RefCell<Option<Gc<Key>>> = const { RefCell::new(None) };
}

#[test]
fn a_proxy_closure_that_drops_the_last_handle_keeps_its_borrow_valid() {
    let object = Gc::new(Key(7));
    let p = proxy(&object);
    TARGET.with(|t| *t.borrow_mut() = Some(object));
    let seen = p
        .with(|value| {
            TARGET.with(|t| drop(t.borrow_mut().take()));
            gen_gc::collect();
            value.0
        })
        .expect("alive when called");
    assert_eq!(seen, 7);
    assert!(!p.is_alive());
    assert!(p.with(|value| value.0).is_err());
}

#[test]
fn key_dictionary_values_dropped_by_a_collection_that_meddle_with_the_dictionary() {
    #[derive(Trace)]
    struct Cyclic {
        me: RefCell<Option<Gc<Cyclic>>>,
    }
    let dict: Rc<WeakKeyDictionary<Cyclic, Box<dyn Fn()>>> = Rc::new(WeakKeyDictionary::new());
    let keys: Vec<_> = (0..4).map(|_| Gc::new(Cyclic { me: RefCell::new(None) })).collect();
    for key in &keys {
        *key.me.borrow_mut() = Some(key.clone());
    }
    let survivor = Gc::new(Cyclic { me: RefCell::new(None) });
    struct OnDrop(Box<dyn Fn()>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            (self.0)();
        }
    }
    for key in &keys {
        let weak_dict = Rc::downgrade(&dict);
        let survivor = survivor.clone();
        let guard = OnDrop(Box::new(move || {
            if let Some(dict) = weak_dict.upgrade() {
                let _ = dict.len();
                let _ = dict.with_value(&survivor, |_| ());
                dict.insert(&survivor, Box::new(|| {}));
            }
        }));
        dict.insert(
            key,
            Box::new(move || {
                let _ = &guard;
            }),
        );
    }
    drop(keys);
    assert_eq!(gen_gc::collect(), 4);
    assert_eq!(dict.len(), 1, "only the survivor's entry is left");
    assert!(dict.contains_key(&survivor));
}

#[test]
fn a_finalize_function_that_panics_when_a_thread_local_drops_its_object_at_thread_exit() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    thread_local!(static KEEP: RefCell<Vec<Gc<Key>>> = const { RefCell::new(Vec::new()) });
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let joined = std::thread::spawn(move || {
        let object = Gc::new(Key(0));
        drop(finalize(&object, move || {
            counter.fetch_add(1, Ordering::SeqCst);
            panic!("a finalize function panicked at thread exit");
        }));
        KEEP.with(|keep| keep.borrow_mut().push(object));
    })
    .join();
    assert!(joined.is_ok(), "the thread ends; the panic is reported, not raised in a destructor");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn finalize_functions_run_by_the_exit_collection_that_panic_and_register_more() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    #[derive(Trace)]
    struct Looped {
        me: RefCell<Option<Gc<Looped>>>,
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let joined = std::thread::spawn(move || {
        for _ in 0..2 {
            let object = Gc::new(Looped { me: RefCell::new(None) });
            *object.me.borrow_mut() = Some(object.clone());
            let counter = counter.clone();
            drop(finalize(&object, move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let late = Gc::new(Looped { me: RefCell::new(None) });
                *late.me.borrow_mut() = Some(late.clone());
                let inner = counter.clone();
                drop(finalize(&late, move || {
                    inner.fetch_add(1, Ordering::SeqCst);
                    panic!("a late finalize function panicked at thread exit");
                }));
                panic!("a finalize function panicked at thread exit");
            }));
        }
    })
    .join();
    assert!(joined.is_ok(), "the thread ends; its exit reports the panics");
    assert_eq!(calls.load(Ordering::SeqCst), 4, "each finalize function ran once");
}

#[test]
fn iterating_a_value_dictionary_while_the_loop_kills_clears_refills_and_drops_it() {
    let dict = Some(WeakValueDictionary::new());
    let mut values: Vec<Option<Gc<Key>>> = (0..8).map(|i| Some(Gc::new(Key(i)))).collect();
    for (i, value) in values.iter().enumerate() {
        dict.as_ref().unwrap().insert(i, value.as_ref().unwrap());
    }
    let mut dict = dict;
    let items = dict.as_ref().unwrap().items();
    let mut seen = Vec::new();
    for (step, (key, value)) in items.enumerate() {
        if key < 100 {
            assert_eq!(value.0 as usize, key, "an entry pairs its own key and value");
        }
        seen.push(key);
        values[(key + 1) % 8] = None;
        match step {
            0 => drop(dict.as_ref().unwrap().insert(100, &value)),
            1 => dict.as_ref().unwrap().clear(),
            2 => {
                dict.as_ref().unwrap().insert(200, &value);
                drop(dict.take());
            }
            _ => {}
        }
        gen_gc::collect();
    }
    assert!(seen.len() <= 8);
    assert_eq!(seen[..2], [0, 2], "a killed entry is not yielded");
}

#[test]
fn iterating_a_key_dictionary_whose_dying_values_clear_it() {
    let dict = meddling_dict();
    let drops = Rc::new(Cell::new(0));
    let mut keys: Vec<Option<Gc<Key>>> = (0..6).map(|i| Some(Gc::new(Key(i)))).collect();
    for key in keys.iter().flatten() {
        dict.insert(key, Meddler { action: |dict| dict.clear(), drops: drops.clone() });
    }
    let mut seen = 0;
    for key in dict.keys() {
        seen += 1;
        assert!(Gc::try_get(&key).is_ok());
        keys[key.0 as usize] = None;
        drop(key);
    }
    assert!(seen >= 1);
    drop(keys);
    assert_eq!(drops.get(), 6, "every value dropped once");
    assert!(dict.is_empty());
    DICT.with(|d| d.borrow_mut().take());
}

/// A member whose `Hash` and `Eq` follow a value that changes while it is in the set.
#[derive(Trace)]
struct Shifty(Cell<u32>);

impl Hash for Shifty {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.get().hash(state);
    }
}

impl PartialEq for Shifty {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for Shifty {}

#[test]
fn members_whose_hash_changes_in_the_set_are_lost_to_lookups_but_counted_and_removed() {
    let set = WeakSet::by_value();
    let members: Vec<_> = (0..4).map(|i| Gc::new(Shifty(Cell::new(i)))).collect();
    for member in &members {
        set.add(member);
    }
    for member in &members {
        member.0.set(member.0.get() + 10);
    }
    for member in &members {
        set.add(member);
    }
    let len = set.len();
    assert!((4..=8).contains(&len), "{len}");
    assert_eq!(set.iter().count(), len);
    let first = members[0].clone();
    drop(members);
    assert!(set.len() <= 2, "the dead members' entries went, whatever their hashes say");
    assert!(set.iter().all(|m| Gc::ptr_eq(&m, &first)));
    drop(first);
    assert!(set.is_empty());
}

/// Reading a container from the closure of an operation that changes it (`retain`,
/// `with_value_mut`) panics with a message that names the misuse, not the `RefCell` inside,
/// and leaves the container whole.
#[test]
fn reading_a_container_from_a_closure_that_changes_it_names_the_misuse() {
    #[derive(Trace)]
    struct Obj(u32);
    let a = Gc::new(Obj(1));
    let set: WeakSet<Obj> = [&a].into_iter().collect();
    let values: WeakValueDictionary<u32, Obj> = [(1, &a)].into_iter().collect();
    let keys: WeakKeyDictionary<Obj, u32> = [(&a, 1)].into_iter().collect();
    let messages = [
        panics(|| set.retain(|member| set.contains(member))),
        panics(|| set.retain(|_| !set.is_empty())),
        panics(|| values.retain(|_, _| !format!("{values:?}").is_empty())),
        panics(|| values.retain(|key, _| values.get(key).is_some())),
        panics(|| {
            keys.with_value_mut(&a, |value| *value += keys.len() as u32);
        }),
        panics(|| {
            keys.with_value_mut(&a, |value| *value += keys.get(&a).unwrap_or(0));
        }),
    ];
    for (message, kind) in messages.iter().zip(
        ["WeakSet", "WeakSet", "WeakValueDictionary", "WeakValueDictionary"]
            .into_iter()
            .chain(["WeakKeyDictionary"; 2]),
    ) {
        assert!(
            message.starts_with(&format!("a {kind} was used from code it ran while it was being changed")),
            "{message}"
        );
    }
    assert!(set.contains(&a) && values.get(&1).is_some() && keys.get(&a) == Some(1), "each container is whole");
    assert_eq!((set.len(), values.len(), keys.len()), (1, 1, 1));
}

/// A `finalize` function that panics is reported as the finalize function's, with its own
/// message, whether its object died by reference counting or in a collection; called by
/// hand, its panic is the caller's, as it was.
#[test]
fn a_panicking_finalize_function_is_reported_under_its_own_name() {
    #[derive(Trace)]
    struct Node {
        me: RefCell<Option<Gc<Node>>>,
    }
    let reports: Rc<RefCell<Vec<(String, String)>>> = Rc::default();
    let seen = reports.clone();
    let previous = cyclegc::set_unraisable_hook(Some(Box::new(move |report| {
        seen.borrow_mut().push((report.what().to_owned(), report.message()));
    })));
    let node = Gc::new(Node { me: RefCell::new(None) });
    let _finalizer = finalize(&node, || panic!("closing failed"));
    drop(node);
    let cycle = Gc::new(Node { me: RefCell::new(None) });
    *cycle.me.borrow_mut() = Some(cycle.clone());
    let _finalizer = finalize(&cycle, || panic!("closing the cycle failed"));
    drop(cycle);
    cyclegc::gc::collect();
    let by_hand = Gc::new(Node { me: RefCell::new(None) });
    let finalizer = finalize(&by_hand, || panic!("called by hand"));
    let panic = catch_unwind(AssertUnwindSafe(|| finalizer.call())).expect_err("the call panics");
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"called by hand"));
    cyclegc::set_unraisable_hook(previous);
    assert_eq!(
        *reports.borrow(),
        [
            ("the finalize function of a Node".to_owned(), "closing failed".to_owned()),
            ("the finalize function of a Node".to_owned(), "closing the cycle failed".to_owned()),
        ]
    );
}
