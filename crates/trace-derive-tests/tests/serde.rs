//! `Serialize` and `Deserialize` of heap objects (the facade's `serde` feature), beside
//! `#[derive(Trace)]`, as an application derives both on its structs.

use std::cell::RefCell;

use gc_facade::{Gc, Trace, Weak};
use serde::{Deserialize, Serialize};

#[derive(Trace, Serialize, Deserialize, Debug)]
struct Document {
    title: String,
    sections: Vec<Gc<Section>>,
}

#[derive(Trace, Serialize, Deserialize, Debug)]
struct Section {
    heading: String,
    /// A back-pointer: written as the value while it lives, read back as pointing nowhere.
    #[serde(skip)]
    parent: RefCell<Weak<Document>>,
    note: Option<Weak<Section>>,
}

#[test]
fn heap_objects_round_trip_through_serde() {
    let intro = Gc::new(Section { heading: "Intro".to_owned(), parent: RefCell::default(), note: None });
    let body =
        Gc::new(Section { heading: "Body".to_owned(), parent: RefCell::default(), note: Some(Gc::downgrade(&intro)) });
    let document = Gc::new(Document { title: "Leaks".to_owned(), sections: vec![intro.clone(), body] });
    for section in &document.sections {
        *section.parent.borrow_mut() = Gc::downgrade(&document);
    }
    let text = serde_json::to_string(&document).expect("serializes");
    assert_eq!(
        text,
        r#"{"title":"Leaks","sections":[{"heading":"Intro","note":null},{"heading":"Body","note":{"heading":"Intro","note":null}}]}"#
    );
    let back: Gc<Document> = serde_json::from_str(&text).expect("deserializes");
    assert_eq!(back.title, "Leaks");
    assert_eq!(back.sections.iter().map(|section| section.heading.as_str()).collect::<Vec<_>>(), ["Intro", "Body"]);
    let note = back.sections[1].note.as_ref().expect("a note was written");
    assert!(note.upgrade().is_none(), "a weak reference read back points nowhere");
    // A dead weak reference is written as `null`.
    drop((document, intro));
    let orphan = Gc::new(Section { heading: "Orphan".to_owned(), parent: RefCell::default(), note: None });
    let weak = Gc::downgrade(&orphan);
    drop(orphan);
    assert_eq!(serde_json::to_string(&weak).unwrap(), "null");
    // Unsized values are written too.
    let text: Gc<str> = Gc::from("plain");
    assert_eq!(serde_json::to_string(&text).unwrap(), r#""plain""#);
    let back: Gc<str> = serde_json::from_str(r#""plain""#).unwrap();
    assert_eq!(&*back, "plain");
    let numbers: Gc<[u32]> = serde_json::from_str("[1, 2, 3]").unwrap();
    assert_eq!(&*numbers, [1, 2, 3]);
}

/// A cycle is a serializer error naming the type met again (where `Rc` overflows the stack),
/// and the thread can serialize again afterwards; a value reached twice without a cycle is
/// written twice, as with `Rc`.
#[test]
fn a_cycle_is_a_serializer_error() {
    #[derive(Trace, Serialize)]
    struct Node {
        name: &'static str,
        next: RefCell<Option<Gc<Node>>>,
    }
    let a = Gc::new(Node { name: "a", next: RefCell::new(None) });
    let b = Gc::new(Node { name: "b", next: RefCell::new(Some(a.clone())) });
    let shared = vec![b.clone(), b.clone()];
    assert_eq!(
        serde_json::to_string(&shared).expect("no cycle yet"),
        r#"[{"name":"b","next":{"name":"a","next":null}},{"name":"b","next":{"name":"a","next":null}}]"#
    );
    *a.next.borrow_mut() = Some(b.clone());
    let error = serde_json::to_string(&a).expect_err("a cycle");
    assert!(error.to_string().contains("a cycle: a Node reached again inside its own serialization"), "{error}");
    *a.next.borrow_mut() = None;
    assert_eq!(
        serde_json::to_string(&b).expect("the cycle is broken"),
        r#"{"name":"b","next":{"name":"a","next":null}}"#
    );
}

/// A handle whose value the collector dropped (met by a `Drop` while the collector frees its
/// cycle) is a serializer error, and writes `<dropped Type>` with `Display`, as with `Debug`.
#[test]
fn a_dropped_value_is_a_serializer_error_and_displays_as_dropped() {
    use std::fmt;
    thread_local! {
        static SEEN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }
    #[derive(Trace, Serialize)]
    struct Pair {
        other: RefCell<Option<Gc<Pair>>>,
    }
    impl fmt::Display for Pair {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a pair")
        }
    }
    impl Drop for Pair {
        fn drop(&mut self) {
            if let Some(other) = self.other.borrow().as_ref()
                && Gc::is_dropped(other)
            {
                let error = serde_json::to_string(other).expect_err("dropped");
                SEEN.with(|seen| seen.borrow_mut().extend([other.to_string(), error.to_string()]));
            }
        }
    }
    let a = Gc::new(Pair { other: RefCell::new(None) });
    let b = Gc::new(Pair { other: RefCell::new(Some(a.clone())) });
    assert_eq!(b.to_string(), "a pair");
    *a.other.borrow_mut() = Some(b);
    drop(a);
    assert_eq!(gc_facade::gc::collect(), 2);
    let seen = SEEN.with(|seen| seen.take());
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], "<dropped Pair>");
    assert!(seen[1].contains("collector"), "{}", seen[1]);
}

/// A field serialized as its object's description (`GcAny::describe` of the object being
/// serialized) in a ring deeper than the list of objects being written is walked: the ring is
/// still a cycle error, not a stack overflow.
#[test]
fn a_description_asked_while_serializing_deep_in_a_ring_is_still_a_cycle_error() {
    #[derive(Trace, Serialize, Debug)]
    #[trace(describe)]
    struct Deep {
        n: usize,
        #[serde(serialize_with = "label_of")]
        #[trace(skip)]
        me: RefCell<Weak<Deep>>,
        next: RefCell<Option<Gc<Deep>>>,
    }
    fn label_of<S: serde::Serializer>(me: &RefCell<Weak<Deep>>, serializer: S) -> Result<S::Ok, S::Error> {
        let me = me.borrow().upgrade().expect("alive");
        serializer.serialize_str(&Gc::to_any(&me).describe().unwrap_or_default())
    }
    let nodes: Vec<Gc<Deep>> =
        (0..40).map(|n| Gc::new(Deep { n, me: RefCell::new(Weak::new()), next: RefCell::new(None) })).collect();
    for (i, node) in nodes.iter().enumerate() {
        *node.me.borrow_mut() = Gc::downgrade(node);
        *node.next.borrow_mut() = Some(nodes[if i == 39 { 35 } else { i + 1 }].clone());
    }
    let error = serde_json::to_string(&nodes[0]).expect_err("a cycle");
    assert!(error.to_string().contains("a cycle: a Deep reached again"), "{error}");
    nodes[39].next.borrow_mut().take();
    let text = serde_json::to_string(&nodes[0]).expect("a chain");
    assert!(text.contains(r#""me":"<Deep ...>""#), "{text}");
    for node in &nodes {
        node.next.borrow_mut().take();
    }
}
