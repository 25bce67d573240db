//! `#[trace(describe)]` on types whose values reach themselves, or hold much: the description
//! is the value's `Debug` with an object met again inside its own text written `<Type ...>`
//! (Python's `repr` writes `[...]`), cut to a label's length.

use std::cell::RefCell;

use rc_heap::{Gc, Trace};

#[derive(Trace, Debug)]
#[trace(describe)]
struct Node {
    name: String,
    next: RefCell<Option<Gc<Node>>>,
}

fn node(name: &str) -> Gc<Node> {
    Gc::new(Node { name: name.to_owned(), next: RefCell::new(None) })
}

#[test]
fn a_cycle_of_described_objects_is_written_once_around() {
    let a = node("a");
    let b = node("b");
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    assert_eq!(
        format!("{a:?}"),
        "Node { name: \"a\", next: RefCell { value: Some(Node { name: \"b\", next: RefCell { value: \
         Some(<Node ...>) } }) } }"
    );
    let described = Gc::to_any(&a).describe().expect("a described type");
    assert!(described.starts_with("Node { name: \"a\""), "{described}");
    // A self-loop, and the same object twice side by side (not a cycle: written in full).
    let me = node("me");
    *me.next.borrow_mut() = Some(me.clone());
    assert_eq!(format!("{me:?}"), "Node { name: \"me\", next: RefCell { value: Some(<Node ...>) } }");
    // A label is the same text: the described object is itself on the list of objects
    // being written.
    assert_eq!(
        Gc::to_any(&me).describe().as_deref(),
        Some("Node { name: \"me\", next: RefCell { value: Some(<Node ...>) } }")
    );
    let leaf = node("leaf");
    assert_eq!(format!("{:?}", (&leaf, &leaf)).matches("leaf").count(), 2);
    for node in [&a, &b, &me] {
        node.next.borrow_mut().take();
    }
}

#[test]
fn a_value_that_holds_much_is_described_by_its_beginning() {
    #[derive(Trace, Debug)]
    #[trace(describe)]
    struct Big {
        items: Vec<u64>,
    }
    let big = Gc::new(Big { items: (0..if cfg!(miri) { 1_000 } else { 1_000_000 }).collect() });
    let described = Gc::to_any(&big).describe().expect("a described type");
    assert!(described.starts_with("Big { items: [0, 1, 2, 3"), "{described}");
    assert!(described.ends_with("..."), "{described}");
    assert!(described.len() <= 203, "{} bytes", described.len());
    // Text cut inside a character stays whole characters.
    #[derive(Trace, Debug)]
    #[trace(describe)]
    struct Wide(String);
    let wide = Gc::new(Wide("日本語".repeat(200)));
    let described = Gc::to_any(&wide).describe().expect("a described type");
    assert!(described.ends_with("..."));
    assert!(described.trim_end_matches("...").ends_with(['日', '本', '語']), "{described}");
}

#[test]
fn a_panicking_debug_inside_a_cycle_leaves_later_descriptions_whole() {
    #[derive(Trace)]
    struct Grumpy;
    impl std::fmt::Debug for Grumpy {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            panic!("no Debug today")
        }
    }
    let grumpy = Gc::new(Grumpy);
    let boom = std::panic::catch_unwind(|| format!("{grumpy:?}"));
    assert!(boom.is_err());
    // The object whose `Debug` panicked is not left marked as being written.
    let a = node("again");
    assert_eq!(format!("{a:?}"), "Node { name: \"again\", next: RefCell { value: None } }");
}

#[test]
fn long_rings_and_chains_are_written_once_around() {
    // Rings longer than the depth the list of objects being written is walked to: the
    // object met again is found past it as well, at any depth, in every run.
    for length in [31, 32, 33, 34, 100] {
        let nodes: Vec<Gc<Node>> = (0..length).map(|i| node(&i.to_string())).collect();
        for (i, node) in nodes.iter().enumerate() {
            *node.next.borrow_mut() = Some(nodes[(i + 1) % length].clone());
        }
        for start in [0, length / 2, length - 1] {
            let text = format!("{:?}", nodes[start]);
            assert_eq!(text.matches("Node {").count(), length, "length {length}, from {start}");
            assert!(text.contains("Some(<Node ...>)"), "length {length}, from {start}");
        }
        // A ring that closes on an object past the depth, not on the first.
        let tail: Vec<Gc<Node>> = (0..50).map(|i| node(&format!("t{i}"))).collect();
        for pair in tail.windows(2) {
            *pair[0].next.borrow_mut() = Some(pair[1].clone());
        }
        *tail[49].next.borrow_mut() = Some(tail[40].clone());
        let text = format!("{:?}", tail[0]);
        assert_eq!(text.matches("Node {").count(), 50);
        for node in nodes.iter().chain(&tail) {
            node.next.borrow_mut().take();
        }
    }
    // A chain deeper than the depth, written twice: nothing of the first is left marked.
    let mut head = node("end");
    for i in 0..if cfg!(miri) { 40 } else { 300 } {
        head = Gc::new(Node { name: i.to_string(), next: RefCell::new(Some(head)) });
    }
    let first = format!("{head:?}");
    assert!(!first.contains("..."));
    assert_eq!(first, format!("{head:?}"));
}

/// A `Debug` that describes its own object deep in a ring: the description asked from inside
/// the object's own text is `<Loud ...>`, and the ring is written once around, rather than
/// until the stack overflows.
#[test]
fn a_debug_that_describes_itself_deep_in_a_ring_still_stops() {
    #[derive(Trace)]
    #[trace(describe)]
    struct Loud {
        n: usize,
        me: RefCell<rc_heap::Weak<Loud>>,
        next: RefCell<Option<Gc<Loud>>>,
    }
    impl std::fmt::Debug for Loud {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let me = self.me.borrow().upgrade().expect("alive");
            let label = Gc::to_any(&me).describe().unwrap_or_default();
            f.debug_struct("Loud").field("n", &self.n).field("label", &label.len()).field("next", &self.next).finish()
        }
    }
    let nodes: Vec<Gc<Loud>> = (0..40)
        .map(|n| Gc::new(Loud { n, me: RefCell::new(rc_heap::Weak::new()), next: RefCell::new(None) }))
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        *node.me.borrow_mut() = Gc::downgrade(node);
        *node.next.borrow_mut() = Some(nodes[if i == 39 { 35 } else { i + 1 }].clone());
    }
    let text = format!("{:?}", nodes[0]);
    assert!(text.contains("<Loud ...>"), "{text}");
    for node in &nodes {
        node.next.borrow_mut().take();
    }
}
