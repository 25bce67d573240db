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
