//! Heap snapshots as JSON, and the difference of two snapshots per type.

use std::cell::RefCell;

use cyclegc::{Gc, Trace, TypeInfo};
use objgraph::{HeapSnapshot, SnapshotDiff};

#[derive(Trace)]
struct Session {
    user: RefCell<Option<Gc<User>>>,
}

#[derive(Trace)]
struct User {
    sessions: RefCell<Vec<Gc<Session>>>,
}

fn user() -> Gc<User> {
    Gc::new(User { sessions: RefCell::new(Vec::new()) })
}

fn open_session(user: &Gc<User>) {
    let session = Gc::new(Session { user: RefCell::new(Some(user.clone())) });
    user.sessions.borrow_mut().push(session);
}

#[test]
fn a_snapshot_survives_a_json_round_trip() {
    let alice = user();
    open_session(&alice);
    let snapshot = HeapSnapshot::capture();
    let back = HeapSnapshot::from_json(&snapshot.to_json()).unwrap();
    assert_eq!(back, snapshot);
    assert_eq!(HeapSnapshot::from_json(&snapshot.to_json_pretty()).unwrap(), snapshot);
    let mut written = Vec::new();
    snapshot.write_json(&mut written).unwrap();
    assert_eq!(HeapSnapshot::read_json(written.as_slice()).unwrap(), snapshot);
    alice.sessions.borrow_mut().clear();
}

#[test]
fn a_snapshot_records_types_sizes_outside_references_and_labelled_edges() {
    let alice = user();
    open_session(&alice);
    let snapshot = HeapSnapshot::capture();
    assert_eq!(snapshot.objects.len(), 2);
    let user_record = snapshot.objects.iter().find(|o| o.short_type_name == "User").unwrap();
    let session_record = snapshot.objects.iter().find(|o| o.short_type_name == "Session").unwrap();
    assert_eq!(user_record.type_name, std::any::type_name::<User>());
    assert_eq!(user_record.size, TypeInfo::of::<User>().object_size());
    assert_eq!(user_record.outside_refs, 1, "the `alice` variable; the snapshot's own handles do not count");
    assert_eq!(session_record.outside_refs, 0);
    assert_eq!(user_record.edges.len(), 1);
    assert_eq!(user_record.edges[0].label, "sessions[0]");
    assert_eq!(user_record.edges[0].target, session_record.index);
    assert_eq!(session_record.edges[0].target, user_record.index);
    for (i, object) in snapshot.objects.iter().enumerate() {
        assert_eq!(object.index, i);
    }
    alice.sessions.borrow_mut().clear();
}

#[test]
fn the_diff_after_growing_one_type_shows_that_type_only() {
    let alice = user();
    let before = HeapSnapshot::capture();
    for _ in 0..5 {
        open_session(&alice);
    }
    let after = HeapSnapshot::capture();
    let diff = HeapSnapshot::diff(&before, &after);
    assert_eq!(diff.rows.len(), 1, "User did not change: {diff:?}");
    let row = &diff.rows[0];
    assert_eq!((row.type_name.as_str(), row.count, row.count_delta), ("Session", 5, 5));
    assert_eq!(row.bytes_delta, 5 * TypeInfo::of::<Session>().object_size() as i64);
    assert_eq!(row.full_type_name, std::any::type_name::<Session>());
    assert_eq!(diff.to_string(), "Session        5        +5\n");
    alice.sessions.borrow_mut().clear();
}

#[test]
fn the_diff_lists_growth_first_and_shrinking_types_last() {
    let alice = user();
    for _ in 0..2 {
        open_session(&alice);
    }
    let before = HeapSnapshot::capture();
    alice.sessions.borrow_mut().clear();
    let users: Vec<Gc<User>> = (0..3).map(|_| user()).collect();
    let after = HeapSnapshot::capture();
    let diff = HeapSnapshot::diff(&before, &after);
    let deltas: Vec<(&str, i64)> = diff.rows.iter().map(|r| (r.type_name.as_str(), r.count_delta)).collect();
    assert_eq!(deltas, [("User", 3), ("Session", -2)]);
    let mut first = Vec::new();
    diff.show(Some(1), &mut first).unwrap();
    assert_eq!(String::from_utf8(first).unwrap(), "User        4        +3\n");
    assert_eq!(diff.to_string().lines().nth(1), Some("Session        0        -2"));
    drop(users);
}

#[test]
fn the_diff_of_a_snapshot_with_itself_is_empty() {
    let _alice = user();
    let snapshot = HeapSnapshot::capture();
    assert_eq!(HeapSnapshot::diff(&snapshot, &snapshot), SnapshotDiff::default());
}

/// Two types of one short name, from two modules, are written by their full names in a
/// snapshot diff's table.
#[test]
fn a_diff_names_two_types_of_one_short_name_in_full() {
    mod a {
        #[derive(cyclegc::Trace)]
        #[trace(tracked)]
        pub struct Node;
    }
    mod b {
        #[derive(cyclegc::Trace)]
        #[trace(tracked)]
        pub struct Node;
    }
    let before = objgraph::HeapSnapshot::capture();
    let made = (cyclegc::Gc::new(a::Node), cyclegc::Gc::new(a::Node), cyclegc::Gc::new(b::Node));
    let diff = objgraph::HeapSnapshot::diff(&before, &objgraph::HeapSnapshot::capture());
    let text = diff.to_string();
    assert!(text.contains(std::any::type_name::<a::Node>()), "{text}");
    assert!(text.contains(std::any::type_name::<b::Node>()), "{text}");
    drop(made);
}

/// A snapshot read from a file may carry any sizes: totals and differences saturate rather
/// than overflow.
#[test]
fn a_snapshot_with_huge_sizes_totals_and_diffs_without_overflowing() {
    let huge = r#"{"objects":[
      {"index":0,"type_name":"a::T","short_type_name":"T","size":18446744073709551615,"outside_refs":0,"edges":[]},
      {"index":1,"type_name":"a::T","short_type_name":"T","size":1,"outside_refs":0,"edges":[]}]}"#;
    let empty = r#"{"objects":[]}"#;
    let (huge, empty) = (HeapSnapshot::from_json(huge).unwrap(), HeapSnapshot::from_json(empty).unwrap());
    assert_eq!(huge.type_totals()["a::T"].bytes, usize::MAX);
    let grew = HeapSnapshot::diff(&empty, &huge);
    assert_eq!(grew.rows[0].bytes_delta, i64::MAX);
    let shrank = HeapSnapshot::diff(&huge, &empty);
    assert_eq!(shrank.rows[0].bytes_delta, i64::MIN);
}
