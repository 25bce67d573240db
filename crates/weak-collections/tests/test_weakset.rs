//! Ports of CPython's `Lib/test/test_weakset.py` (language-independent cases).

use std::cell::RefCell;

use cyclegc::{Gc, Trace};
use weak_collections::WeakSet;

#[derive(Trace)]
struct Foo {
    name: &'static str,
    other: RefCell<Option<Gc<Foo>>>,
}

fn foo(name: &'static str) -> Gc<Foo> {
    Gc::new(Foo { name, other: RefCell::new(None) })
}

/// CPython's `RefCycle`: an object that refers to itself.
fn ref_cycle() -> Gc<Foo> {
    let o = foo("cycle");
    *o.other.borrow_mut() = Some(o.clone());
    o
}

fn set_of(items: &[&Gc<Foo>]) -> WeakSet<Foo> {
    let set = WeakSet::new();
    set.update(items.iter().copied());
    set
}

#[test]
fn test_len() {
    let (a, b, c) = (foo("a"), foo("b"), foo("c"));
    let s = set_of(&[&a, &b, &c]);
    assert_eq!(s.len(), 3);
    drop(a);
    assert_eq!(s.len(), 2);
}

#[test]
fn test_contains() {
    let (a, b) = (foo("a"), foo("b"));
    let s = set_of(&[&a]);
    assert!(s.contains(&a));
    assert!(!s.contains(&b));
    drop(a);
    assert_eq!(s.len(), 0);
}

#[test]
fn test_union() {
    let (a, b, c) = (foo("a"), foo("b"), foo("c"));
    let u = set_of(&[&a, &b]).union(&set_of(&[&b, &c]));
    assert_eq!(u.len(), 3);
    assert!(u.contains(&a) && u.contains(&b) && u.contains(&c));
    drop(c);
    assert_eq!(u.len(), 2);
}

#[test]
fn test_intersection() {
    let (a, b, c) = (foo("a"), foo("b"), foo("c"));
    let i = set_of(&[&a, &b]).intersection(&set_of(&[&b, &c]));
    assert_eq!(i.len(), 1);
    assert!(i.contains(&b));
}

#[test]
fn test_difference_and_symmetric_difference() {
    let (a, b, c) = (foo("a"), foo("b"), foo("c"));
    let (x, y) = (set_of(&[&a, &b]), set_of(&[&b, &c]));
    let d = x.difference(&y);
    assert_eq!((d.len(), d.contains(&a)), (1, true));
    let s = x.symmetric_difference(&y);
    assert_eq!(s.len(), 2);
    assert!(s.contains(&a) && s.contains(&c) && !s.contains(&b));
}

#[test]
fn test_isdisjoint_and_subsets() {
    let (a, b, c) = (foo("a"), foo("b"), foo("c"));
    assert!(set_of(&[&a]).is_disjoint(&set_of(&[&b, &c])));
    assert!(!set_of(&[&a, &b]).is_disjoint(&set_of(&[&b])));
    assert!(set_of(&[&a]).is_subset(&set_of(&[&a, &b])));
    assert!(set_of(&[&a, &b]).is_superset(&set_of(&[&b])));
    assert!(!set_of(&[&a, &c]).is_subset(&set_of(&[&a, &b])));
    assert!(set_of(&[&a, &b]) == set_of(&[&b, &a]));
}

#[test]
fn test_add_remove_discard_pop_clear() {
    let (a, b) = (foo("a"), foo("b"));
    let s = WeakSet::new();
    assert!(s.add(&a));
    assert!(!s.add(&a), "adding twice keeps one member");
    s.add(&b);
    assert!(s.remove(&a));
    assert!(!s.remove(&a));
    s.discard(&a);
    assert_eq!(s.len(), 1);
    let popped = s.pop().unwrap();
    assert_eq!(popped.name, "b");
    assert!(s.pop().is_none());
    s.update([&a, &b]);
    s.clear();
    assert!(s.is_empty());
}

#[test]
fn test_update_operations() {
    let (a, b, c) = (foo("a"), foo("b"), foo("c"));
    let s = set_of(&[&a, &b]);
    s.difference_update(&set_of(&[&a]));
    assert!(!s.contains(&a) && s.contains(&b));
    s.symmetric_difference_update(&set_of(&[&b, &c]));
    assert!(!s.contains(&b) && s.contains(&c));
    s.update([&a]);
    s.intersection_update(&set_of(&[&a]));
    assert_eq!(s.len(), 1);
    assert!(s.contains(&a));
}

#[test]
fn test_copy() {
    let (a, b) = (foo("a"), foo("b"));
    let s = set_of(&[&a, &b]);
    let c = s.copy();
    s.remove(&a);
    assert!(c.contains(&a) && c.contains(&b));
}

#[test]
fn test_len_cycles() {
    let n = 20;
    let items: Vec<Gc<Foo>> = (0..n).map(|_| ref_cycle()).collect();
    let s = set_of(&items.iter().collect::<Vec<_>>());
    drop(items);
    let mut it = s.iter();
    drop(it.next());
    gen_gc::collect();
    let n1 = s.len();
    drop(it);
    gen_gc::collect();
    let n2 = s.len();
    // One item may be kept alive inside the iterator.
    assert!([0, 1].contains(&n1), "n1 = {n1}");
    assert_eq!(n2, 0);
}

#[test]
fn test_len_race() {
    // Extended sanity checks for len() in the face of cyclic collection.
    let thresholds = gen_gc::get_threshold();
    let race: Vec<usize> = if cfg!(miri) { vec![1, 2, 7, 50] } else { (1..100).collect() };
    for th in race {
        let n = 20;
        gen_gc::collect_generation(0).expect("generation 0 exists");
        gen_gc::set_threshold(th, th, th);
        let items: Vec<Gc<Foo>> = (0..n).map(|_| ref_cycle()).collect();
        let s = set_of(&items.iter().collect::<Vec<_>>());
        drop(items);
        // All items will be collected at the next collection.
        let mut it = s.iter();
        drop(it.next());
        let n1 = s.len();
        drop(it);
        let n2 = s.len();
        assert!(n1 <= n, "threshold {th}: n1 = {n1}");
        assert!(n2 <= n1, "threshold {th}: n2 = {n2}, n1 = {n1}");
    }
    gen_gc::set_threshold(thresholds.0, thresholds.1, thresholds.2);
}

#[test]
fn test_weak_destroy_and_mutate_while_iterating() {
    // Issue #7105: iterators shouldn't crash when a key is implicitly removed. CPython's
    // `ustr` members compare by value: a by-value set of strings.
    let mut items: Vec<Gc<String>> = ('a'..='z').chain('A'..='Z').map(|c| Gc::new(c.to_string())).collect();
    let s = WeakSet::by_value();
    s.update(&items);
    // CPython's `testcontext`: an iteration is started and dropped, then an item is
    // scheduled for removal and recreated as an equal, new object.
    let mut testcontext = |body: &mut dyn FnMut(&Gc<String>)| {
        let mut it = s.iter();
        drop(it.next());
        drop(it);
        let u = Gc::new(String::clone(&items.pop().expect("an item left")));
        gen_gc::collect();
        body(&u);
        u
    };
    testcontext(&mut |u| assert!(!s.contains(u)));
    let u = testcontext(&mut |u| assert!(!s.remove(u)));
    assert!(!s.contains(&u));
    let u = testcontext(&mut |u| {
        s.add(u);
    });
    assert!(s.contains(&u));
    let t = s.copy();
    testcontext(&mut |_| s.update(&t));
    assert_eq!(s.len(), t.len());
    testcontext(&mut |_| s.clear());
    assert_eq!(s.len(), 0);
}

#[test]
fn test_weak_destroy_while_iterating() {
    // Members dying in the middle of an iteration, even by a collection the loop body runs.
    let items: Vec<Gc<Foo>> = (0..10).map(|_| foo("i")).collect();
    for item in &items {
        *item.other.borrow_mut() = Some(item.clone());
    }
    let s = WeakSet::new();
    s.update(&items);
    drop(items);
    let mut seen = 0;
    let mut it = s.iter();
    if it.next().is_some() {
        seen += 1;
    }
    gen_gc::collect();
    for _ in it.by_ref() {
        seen += 1;
    }
    assert!(seen >= 1);
    assert_eq!(s.len(), 0, "the guard's removals apply once the iteration is over");
    drop(it);
    assert_eq!(s.len(), 0);
}

#[test]
fn test_len_during_iteration() {
    // CPython's test_len_race: len never counts entries known to be dead.
    let (a, b, c) = (foo("a"), foo("b"), foo("c"));
    let s = set_of(&[&a, &b, &c]);
    let it = s.iter();
    drop(a);
    assert_eq!(s.len(), 2, "the dead entry is pending removal and not counted");
    drop(it);
    assert_eq!(s.len(), 2);
    drop((b, c));
}

#[test]
fn a_weak_set_inside_a_heap_object_is_traced() {
    #[derive(Trace)]
    struct Registry {
        members: WeakSet<Foo>,
    }
    let member = foo("m");
    let registry = Gc::new(Registry { members: WeakSet::new() });
    registry.members.add(&member);
    let referents = Gc::to_any(&registry).referents();
    assert!(referents.is_empty(), "weak members are not edges");
    assert!(Gc::is_tracked(&registry));
}

#[test]
fn by_value_members_compare_by_value() {
    let a = Gc::new(String::from("same"));
    let b = Gc::new(String::from("same"));
    let s = WeakSet::by_value();
    assert!(s.add(&a));
    assert!(!s.add(&b), "an equal object is already a member");
    assert!(s.contains(&b));
    assert_eq!(s.len(), 1);
    drop(a);
    assert_eq!(s.len(), 0, "the entry belonged to the object that died");
    assert!(!s.contains(&b));
    assert!(s.add(&b));
}

#[test]
fn adding_members_while_iterating_ends() {
    // Python raises when a set changes size during iteration; here the iteration ends after
    // the members it started with, and the added ones are members afterwards.
    let first = foo("first");
    let s = set_of(&[&first]);
    let mut added = Vec::new();
    for _ in s.iter() {
        let member = foo("added");
        s.add(&member);
        added.push(member);
        assert!(added.len() < 10, "the iteration goes on over the members it adds");
    }
    assert_eq!(added.len(), 1);
    assert_eq!(s.len(), 2);
}

#[test]
fn members_are_taken_by_value_or_by_reference() {
    let (a, b, c) = (foo("a"), foo("b"), foo("c"));
    let mut s = WeakSet::new();
    assert!(s.add(a.clone()));
    assert!(!s.add(&a));
    assert!(s.contains(a.clone()) && s.contains(&a));
    s.update(vec![b.clone()]);
    s.extend([c.clone()]);
    assert_eq!(s.len(), 3);
    assert!(s.remove(b.clone()));
    s.discard(c.clone());
    assert_eq!(s.len(), 1);
    let from_refs: WeakSet<Foo> = [&a, &b].into_iter().collect();
    assert_eq!(from_refs.len(), 2);
    drop(a);
    assert!(s.is_empty());
}

#[test]
fn a_for_loop_over_a_set_meets_its_live_members() {
    let (a, b) = (foo("a"), foo("b"));
    let s = set_of(&[&a, &b]);
    drop(b);
    let mut names = Vec::new();
    for member in &s {
        names.push(member.name);
    }
    assert_eq!(names, ["a"]);
}

/// The names of a set's live members, sorted.
fn names(set: &WeakSet<Foo>) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = set.iter().map(|member| member.name).collect();
    names.sort();
    names
}

#[test]
fn test_or_and_sub_xor() {
    let (a, b, c) = (foo("a"), foo("b"), foo("c"));
    let (s, t) = (set_of(&[&a, &b]), set_of(&[&b, &c]));
    assert_eq!(names(&(&s | &t)), ["a", "b", "c"]);
    assert_eq!(names(&(&s & &t)), ["b"]);
    assert_eq!(names(&(&s - &t)), ["a"]);
    assert_eq!(names(&(&s ^ &t)), ["a", "c"]);
    assert!(&s | &t == s.union(&t) && &s ^ &t == s.symmetric_difference(&t));
    let union = &s | &t;
    drop(c);
    assert_eq!(names(&union), ["a", "b"], "a member of the result dies as any other");
}

#[test]
fn test_ior_iand_isub_ixor() {
    let (a, b, c) = (foo("a"), foo("b"), foo("c"));
    let t = set_of(&[&b, &c]);
    let mut s = set_of(&[&a, &b]);
    s |= &t;
    assert_eq!(names(&s), ["a", "b", "c"]);
    let mut s = set_of(&[&a, &b]);
    s &= &t;
    assert_eq!(names(&s), ["b"]);
    let mut s = set_of(&[&a, &b]);
    s -= &t;
    assert_eq!(names(&s), ["a"]);
    let mut s = set_of(&[&a, &b]);
    s ^= &t;
    assert_eq!(names(&s), ["a", "c"]);
    let mut itself = set_of(&[&a, &b]);
    let copy = itself.copy();
    itself ^= &copy;
    assert!(itself.is_empty());
}
