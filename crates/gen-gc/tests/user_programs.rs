//! The `gc` module's values as an application uses them: collection callbacks tallied per
//! phase in a map, logged as Python's phase names, and their infos kept in sets.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use cyclegc::{Gc, Trace};
use gen_gc::{CallbackInfo, CollectionPolicy, FinalizerPolicy, GcError, Phase};

#[derive(Trace)]
struct Entity {
    friends: RefCell<Vec<Gc<Entity>>>,
}

/// Two entities that befriend each other, then are dropped: a cycle.
fn befriended_pair() {
    let a = Gc::new(Entity { friends: RefCell::new(Vec::new()) });
    let b = Gc::new(Entity { friends: RefCell::new(vec![a.clone()]) });
    a.friends.borrow_mut().push(b);
}

#[test]
fn callbacks_are_tallied_by_phase_in_a_map() {
    let log: Rc<RefCell<Vec<(Phase, CallbackInfo)>>> = Rc::default();
    let sink = log.clone();
    let id = gen_gc::add_callback(move |phase, info| sink.borrow_mut().push((phase, *info)));
    befriended_pair();
    gen_gc::collect();
    gen_gc::remove_callback(id);

    let mut by_phase: HashMap<Phase, usize> = HashMap::new();
    for (phase, _) in log.borrow().iter() {
        *by_phase.entry(*phase).or_default() += 1;
    }
    assert_eq!(by_phase[&Phase::Start], by_phase[&Phase::Stop]);
    let collected: HashSet<CallbackInfo> = log.borrow().iter().map(|(_, info)| *info).collect();
    assert!(collected.iter().any(|info| info.collected == 2));
    assert!(
        collected.contains(&CallbackInfo { generation: 2, ..CallbackInfo::default() }),
        "the start of the full collection"
    );
}

#[test]
fn phases_display_as_python_names_them() {
    assert_eq!(format!("gc {}: {}", Phase::Start, Phase::Stop), "gc start: stop");
}

#[test]
fn settings_and_errors_are_hashable() {
    let policies: HashSet<(CollectionPolicy, FinalizerPolicy)> = [
        (CollectionPolicy::Incremental, FinalizerPolicy::Pep442),
        (CollectionPolicy::Generational, FinalizerPolicy::Legacy),
        (CollectionPolicy::default(), FinalizerPolicy::default()),
    ]
    .into_iter()
    .collect();
    assert_eq!(policies.len(), 2);
    let errors: HashSet<GcError> = [gen_gc::collect_generation(3).unwrap_err(), GcError::InvalidGeneration(3)].into();
    assert_eq!(errors.len(), 1);
}
