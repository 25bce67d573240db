//! The pools behind objects and weak references, through the public API: objects of every
//! size class (block sizes that divide a pool and ones that leave a tail), freed in
//! patterns that refill pools from their free lists and from their blocks never handed
//! out, with weak references (so side records) on some, and pools handed back to their
//! arenas and taken again. Each object keeps its contents and its weak references their
//! state throughout; valgrind checks the memory under it.

use rc_heap::{Gc, Weak};

/// Objects per size: several pools' worth of the largest blocks (under Miri, where each object
/// is an allocation of its own, enough for every phase of the rounds below).
fn count() -> usize {
    if cfg!(miri) { 16 } else { 600 }
}

fn pattern(n: usize, at: usize) -> u8 {
    (n.wrapping_mul(31) ^ at) as u8
}

/// The bytes of an object that carry its pattern: every one natively, where a block that
/// overlapped another would share some of them; under Miri, which interprets each byte's
/// check and gives each object an allocation of its own (the pools step aside), the first
/// of every granule (16 bytes) and the last. The others hold `0xa5`.
fn patterned(len: usize) -> impl Iterator<Item = usize> {
    let step = if cfg!(miri) { 16 } else { 1 };
    (0..len).step_by(step).chain(len.checked_sub(1))
}

fn make<const N: usize>(n: usize) -> Gc<[u8; N]> {
    let mut bytes = [0xa5; N];
    for at in patterned(N) {
        bytes[at] = pattern(n, at);
    }
    Gc::new(bytes)
}

fn intact<const N: usize>(object: &Gc<[u8; N]>, n: usize) -> bool {
    patterned(N).all(|at| object[at] == pattern(n, at))
}

fn exercise<const N: usize>() {
    let count = count();
    let mut objects: Vec<Option<(usize, Gc<[u8; N]>)>> = (0..count).map(|n| Some((n, make::<N>(n)))).collect();
    // Weak references on every third object: their pools keep side records.
    let mut weaks: Vec<(usize, Weak<[u8; N]>)> =
        objects.iter().flatten().filter(|(n, _)| n % 3 == 0).map(|(n, o)| (*n, Gc::downgrade(o))).collect();
    for round in 0..4 {
        // Free every other object (a different phase each round), and the last ones, whose
        // blocks were the pools' last.
        for (i, slot) in objects.iter_mut().enumerate() {
            if (i + round) % 2 == 0 || i + 3 >= count {
                *slot = None;
            }
        }
        for (n, weak) in &weaks {
            let alive = objects.iter().flatten().any(|(m, _)| m == n);
            assert_eq!(weak.upgrade().is_some(), alive, "size {N}, object {n}, round {round}");
        }
        // Fill the holes again, more than were freed, with new objects and new weak
        // references.
        let base = count * (round + 1);
        for (i, slot) in objects.iter_mut().enumerate() {
            if slot.is_none() {
                *slot = Some((base + i, make::<N>(base + i)));
            }
        }
        for extra in 0..count / 4 {
            objects.push(Some((base + count + extra, make::<N>(base + count + extra))));
        }
        weaks.retain(|(_, weak)| !weak.is_dead());
        weaks.extend(objects.iter().flatten().filter(|(n, _)| n % 5 == 0).map(|(n, o)| (*n, Gc::downgrade(o))));
        for (n, object) in objects.iter().flatten() {
            assert!(intact(object, *n), "size {N}, object {n}, round {round}");
        }
        for (n, weak) in &weaks {
            let object = weak.upgrade().expect("a weak reference of a live object");
            assert!(intact(&object, *n), "size {N}, object {n} through its weak reference");
        }
    }
    // Everything goes (pools back to their arenas), then the same again from the kept
    // arenas.
    drop(objects);
    assert!(weaks.iter().all(|(_, weak)| weak.is_dead()));
    drop(weaks);
    let again: Vec<Gc<[u8; N]>> = (0..count).map(make::<N>).collect();
    let weaks: Vec<Weak<[u8; N]>> = again.iter().map(Gc::downgrade).collect();
    for (n, object) in again.iter().enumerate() {
        assert!(intact(object, n));
        assert!(Gc::ptr_eq(&weaks[n].upgrade().expect("alive"), object));
    }
    drop(again);
    assert!(weaks.iter().all(Weak::is_dead));
}

#[test]
fn objects_of_every_size_keep_their_contents_and_weak_references_through_refills() {
    std::thread::spawn(|| {
        exercise::<1>();
        exercise::<40>();
        exercise::<72>();
        exercise::<88>();
        exercise::<120>();
        exercise::<184>();
        exercise::<200>();
        exercise::<232>();
        exercise::<264>();
        exercise::<296>();
        exercise::<376>();
        exercise::<440>();
        exercise::<488>();
        exercise::<504>();
        // Larger than a pool's largest block: the system allocator's.
        exercise::<600>();
        // Left alive at thread exit, in a pool the teardown keeps until it dies.
        let survivor = make::<120>(7);
        std::thread_local! {
            static KEPT: std::cell::RefCell<Option<Gc<[u8; 120]>>> = const { std::cell::RefCell::new(None) };
        }
        KEPT.with(|kept| *kept.borrow_mut() = Some(survivor));
    })
    .join()
    .unwrap();
}
