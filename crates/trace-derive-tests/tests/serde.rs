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
