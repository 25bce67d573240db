//! Every tracked object and the references among them, in one pass over the heap.
//!
//! Introspection tools (objgraph's graphs, chains, dominators) need the whole reference
//! graph. Built from outside, that costs a hash-map lookup per reference to turn an address
//! into an object number. Here each object's number is kept in its links' `prev` word while
//! the graph is read, as a collection keeps `gc_refs` there, so a reference's target is found
//! with one load; the links are restored before this returns.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use rc_heap::GcAny;
use rc_heap::raw::{self, EdgeList, Links, ObjHeader, Panic};

use crate::install::with_installed_state;
use crate::state::{ALL_LISTS, CollectionPolicy, State};
use crate::walk::{for_each, list, list_len, report, report_walk};

/// Marks a `prev` word that holds an object's number (`number << 3 | NUMBERED`), not a link.
/// A numbered word has exactly this in its low bits: the objects a collection is deleting
/// (held in the collection's own list while finalizers run, which may read the graph) have
/// `COLLECTING | TENTATIVE` there, and linked objects no bit, `IN_YOUNG` or the incremental
/// policy's old-space bit.
const NUMBERED: usize = 1;
const NUMBER_SHIFT: u32 = 3;

/// Every tracked object (`gc.get_objects()`) and, for each, the tracked objects it refers
/// to, by position in `objects`.
///
/// `references[reference_start[i]..reference_start[i + 1]]` are the objects `objects[i]`
/// refers to, one entry per reference, in the order its `Trace` reports them. References to
/// untracked objects (leaves) are not included. The graph holds one handle on each object.
#[derive(Debug, Default)]
pub struct ObjectGraph {
    /// The objects, in `get_objects()` order.
    pub objects: Vec<GcAny>,
    /// Where each object's references start in `references`; one more entry than objects.
    pub reference_start: Vec<usize>,
    /// The positions of the objects referred to.
    pub references: Vec<u32>,
    /// The positions of the objects whose value could not be traced completely (a shared
    /// `Rc`, a mutably borrowed `RefCell`, a panicking `Trace`), in order. A collection keeps
    /// such an object and everything it refers to, as if it were held from outside.
    pub untraceable: Vec<u32>,
}

impl ObjectGraph {
    /// The positions of the objects `objects[i]` refers to.
    pub fn referents_of(&self, i: usize) -> &[u32] {
        &self.references[self.reference_start[i]..self.reference_start[i + 1]]
    }
}

/// Every tracked object of this thread's heap and the references among them, read in one
/// walk over the heap (plus one to number the objects and one to restore the lists).
///
/// A value that cannot be traced now (a shared `Rc`, mutably borrowed, or its `Trace` panics,
/// which is reported like a panic during a collection) contributes the references it did
/// report, and is listed in `untraceable`. While the graph is
/// read, a collection that user code requests (from a `Trace` implementation) does nothing,
/// as during a collection.
///
/// # Panics
/// With more than 2^32 tracked objects, and when called from a `Trace` impl while the
/// collector walks the heap (Trace's rule 2).
pub fn object_graph() -> ObjectGraph {
    with_installed_state(|state| {
        /// Lets collections run again however `read_graph` ends.
        struct Reading<'a>(&'a State, bool);
        impl Drop for Reading<'_> {
            fn drop(&mut self) {
                self.0.collecting.set(self.1);
            }
        }
        let _reading = Reading(state, state.collecting.replace(true));
        read_graph(state)
    })
}

fn read_graph(state: &State) -> ObjectGraph {
    let Some(walk) = raw::begin_walk() else {
        panic!(
            "gen_gc::object_graph was called while the collector walks the heap, from a Trace \
             impl (Trace's rule 2 forbids changing the heap there)"
        );
    };
    // Counted first: nothing may stop the walks between numbering and restoring.
    let total: usize = ALL_LISTS.iter().map(|&index| list_len(list(index))).sum();
    assert!(u32::try_from(total).is_ok(), "more than 2^32 tracked objects");
    let mut objects: Vec<GcAny> = Vec::with_capacity(total);
    for index in ALL_LISTS {
        for_each(list(index), |header| {
            let links = links_of(header);
            debug_assert_eq!(links.prev_word() & NUMBERED, 0, "links at rest hold no count");
            links.set_prev_word((objects.len() << NUMBER_SHIFT) | NUMBERED);
            // SAFETY: objects in the heap's lists are alive and not queued to die.
            objects.push(unsafe { raw::handle(header) });
        });
    }
    // The lists are only walked forward (through `next`) until `restore_links`, and no
    // user code but `Trace` implementations runs in between, which may not change the heap.
    let mut reference_start = Vec::with_capacity(objects.len() + 1);
    let mut references = Vec::new();
    let mut edges = EdgeList::new();
    // Panics are reported once the links are restored: the debug writer is user code.
    let mut panics: Vec<(NonNull<ObjHeader>, Panic)> = Vec::new();
    let mut untraceable = Vec::new();
    for (position, object) in objects.iter().enumerate() {
        reference_start.push(references.len());
        edges.clear();
        // SAFETY: listed objects are alive with their values intact.
        let traced = catch_unwind(AssertUnwindSafe(|| unsafe { raw::trace_tracked(object.header(), &mut edges) }));
        match traced {
            Ok(()) => {
                if edges.is_untraceable() {
                    untraceable.push(position as u32);
                }
                for &target in edges.edges() {
                    let word = links_of(target).prev_word();
                    if word & raw::PREV_BITS == NUMBERED {
                        references.push((word >> NUMBER_SHIFT) as u32);
                    }
                }
            }
            Err(panic) => {
                untraceable.push(position as u32);
                panics.push((object.header(), panic));
            }
        }
    }
    reference_start.push(references.len());
    let incremental = state.collection_policy.get() == CollectionPolicy::Incremental;
    for index in ALL_LISTS {
        let bits = match index {
            raw::YOUNG => raw::IN_YOUNG,
            index if incremental => crate::incremental::list_tag(state, index),
            _ => 0,
        };
        restore_links(list(index), bits);
    }
    let walked = walk.finish();
    report_walk(state, walked);
    for (header, panic) in panics {
        // SAFETY: the object is alive: `objects` holds it.
        let name = unsafe { raw::type_info(header) }.short_name();
        report(state, &format!("<{name}>'s Trace impl"), panic);
    }
    ObjectGraph { objects, reference_start, references, untraceable }
}

/// Makes each element's `prev` word the link to the element before it again, with `bits`.
fn restore_links(sentinel: &Links, bits: usize) {
    let end: *const Links = sentinel;
    let mut prev = end;
    let mut cursor = sentinel.next();
    while cursor != end {
        // SAFETY: the list is a valid circular list through `next`; its elements are the
        // links of live tracked objects.
        unsafe {
            (*cursor).set_prev_tagged(prev, bits);
            prev = cursor;
            cursor = (*cursor).next();
        }
    }
    sentinel.set_prev(prev);
}

fn links_of(header: NonNull<ObjHeader>) -> &'static Links {
    // SAFETY: only tracked objects are traced into an `EdgeList` or listed; their links are
    // in front of the header and live as long as the object, which outlives this use.
    unsafe { Links::of(header).as_ref() }
}
