//! Programs shaped as an application's own: their graphs and reports must read the same in
//! every run, whatever the hasher's seed.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use cyclegc::{Gc, Trace};
use objgraph::GraphOptions;

/// A member with no description of its own: graphs can tell members apart only by what they
/// hold.
#[derive(Trace, PartialEq, Eq, Hash)]
struct Member {
    rank: u32,
    badges: Vec<Gc<Badge>>,
}

#[derive(Trace, PartialEq, Eq, Hash)]
#[trace(tracked)]
struct Badge {
    rank: u32,
}

#[derive(Trace)]
struct Club {
    members: RefCell<HashSet<Gc<Member>>>,
}

/// A club of eight members, the `n`-th with `n` badges, in a set with a new hasher seed.
fn club() -> Gc<Club> {
    let club = Gc::new(Club { members: RefCell::new(HashSet::new()) });
    for rank in 0..8 {
        let badges = (0..rank).map(|rank| Gc::new(Badge { rank })).collect();
        club.members.borrow_mut().insert(Gc::new(Member { rank, badges }));
    }
    club
}

fn dot_of_refs(object: &Gc<impl Trace>) -> String {
    objgraph::show_refs(&[Gc::to_any(object)], &GraphOptions { too_many: 100, ..Default::default() }).to_dot()
}

#[test]
fn a_hash_set_of_undescribed_members_draws_the_same_graph_whatever_the_seed() {
    let (first, second) = (club(), club());
    assert_eq!(dot_of_refs(&first), dot_of_refs(&second));
}

#[test]
fn a_hash_set_of_undescribed_members_has_the_same_labels_whatever_the_seed() {
    let referents = |club: &Gc<Club>| -> Vec<(String, usize)> {
        Gc::to_any(club)
            .referents()
            .into_iter()
            .map(|referent| (referent.label, referent.target.downcast::<Member>().unwrap().badges.len()))
            .collect()
    };
    let labels = referents(&club());
    assert_eq!(labels, referents(&club()));
    assert_eq!(labels.len(), 8);
}

/// A key with no description: its entry goes by what its value holds.
#[derive(Trace, PartialEq, Eq, Hash)]
struct Slot(u32);

#[derive(Trace)]
struct Board {
    slots: RefCell<HashMap<Slot, Gc<Member>>>,
}

#[test]
fn a_hash_map_with_undescribed_keys_draws_the_same_graph_whatever_the_seed() {
    let board = || {
        let board = Gc::new(Board { slots: RefCell::new(HashMap::new()) });
        for rank in 0..8 {
            let badges = (0..rank).map(|rank| Gc::new(Badge { rank })).collect();
            board.slots.borrow_mut().insert(Slot(rank), Gc::new(Member { rank, badges }));
        }
        board
    };
    assert_eq!(dot_of_refs(&board()), dot_of_refs(&board()));
}

/// A generic tree, as the guide writes it: its parameter unbounded, as with `Rc`.
#[derive(Trace)]
struct Tree<T> {
    value: T,
    children: RefCell<Vec<Gc<Tree<T>>>>,
}

#[test]
fn a_generic_type_is_counted_by_its_name_with_and_without_arguments() {
    let leaf = Gc::new(Tree { value: String::from("leaf"), children: RefCell::new(Vec::new()) });
    let root = Gc::new(Tree { value: String::from("root"), children: RefCell::new(vec![leaf]) });
    let query = objgraph::Query::default();
    assert_eq!(objgraph::count("Tree<String>", &query), 2);
    assert_eq!(objgraph::count("Tree", &query), 2);
    assert_eq!(objgraph::most_common_types(None, &query), [(String::from("Tree<String>"), 2)]);
    assert_eq!(root.children.borrow()[0].value, "leaf");
}
