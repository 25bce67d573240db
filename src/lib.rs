//! # cyclegc
//!
//! CPython's memory toolbox for Rust programs: a reference-counted heap whose objects die
//! the moment their last handle goes, a generational cycle collector for what reference
//! counting cannot free, weak references with callbacks, and objgraph's introspection.
//!
//! ## Start here
//!
//! Depend on this crate alone. It re-exports every layer: rc-heap's types at the top level
//! ([`Gc`], [`Weak`], [`GcAny`], ...), the others as modules ([`gen_gc`], [`objgraph`],
//! [`weak_collections`]), so no layer crate needs a dependency of its own. The two that
//! mirror a Python module also go by its name: [`gc`] is [`gen_gc`] (`cyclegc::gc::collect()`,
//! `cyclegc::gc::get_objects(None)`), [`weakref`] is [`weak_collections`]
//! (`cyclegc::weakref::WeakSet`, `cyclegc::weakref::proxy`).
//!
//! Your types join the heap with [`#[derive(Trace)]`](derive.Trace.html): the derive reports the
//! `Gc`s a value owns, so that the collector can find cycles and introspection can name each
//! reference by its field. `#[trace(skip)]` leaves a field out, `#[trace(finalize)]` gives the
//! type a finalizer (Python's `__del__`, through [`Finalize`]), `#[trace(describe)]` labels
//! graph nodes with its `Debug` text.
//!
//! Then the three questions of a leak hunt, and where each is answered (the walkthrough is
//! `docs/guide.md` in the repository, section by section):
//!
//! - **What leaked?** [`objgraph::show_growth`]: the types that grew since the last call.
//!   [`objgraph::LeakCheck`]: a scenario run again and again, and what grew in every run, as
//!   a test. [`objgraph::get_new_ids`]: the objects themselves. With the feature
//!   `alloc-site`, where they were created (`objgraph::show_growth_by_site`). Guide sections
//!   5 and 9.
//! - **Who holds it?** [`objgraph::find_backref_chain_to_root`] and [`objgraph::show_chain`]:
//!   the shortest chain from what the program holds to the object.
//!   [`objgraph::show_backrefs`], [`gen_gc::get_referrers`], [`objgraph::retained_size`]
//!   (what it keeps alive), and [`objgraph::Report`], all of it as a page to browse. Guide
//!   sections 5 and 9.
//! - **Why wasn't it freed?** A chain that ends at a root marked `held from outside: N` is a
//!   live reference (a static, a thread-local, a variable). Otherwise it is a cycle:
//!   [`gen_gc::collect`] frees it; [`gen_gc::DEBUG_SAVEALL`] with [`gen_gc::garbage`], and
//!   [`objgraph::garbage_cycles`], show which cycles; under
//!   [`FinalizerPolicy::Legacy`](gen_gc::FinalizerPolicy::Legacy) a cycle with a finalizer is
//!   uncollectable and stays in [`gen_gc::garbage`]. Guide sections 3, 4, 6 and 7.
//!
//! ## The layers
//!
//! One crate per layer, re-exported here:
//!
//! | layer | crate | status |
//! |---|---|---|
//! | reference-counted heap, `Gc`, `Weak`, `Trace`, finalizers | [`rc_heap`] | available |
//! | `#[derive(Trace)]` | `trace-derive`, re-exported here | available |
//! | generational cycle collector, Python's `gc` API | [`gen_gc`] | available |
//! | `WeakSet`, `WeakValueDictionary`, `WeakKeyDictionary`, `finalize`, proxies | [`weak_collections`] | available |
//! | objgraph's counts, growth, new ids, leaking objects, reference chains | [`objgraph`] | available |
//! | objgraph's graphs (DOT; SVG with or without Graphviz), named roots | [`objgraph`] | available |
//! | retained size, cycles among garbage, JSON heap snapshots and diffs, counts by allocation site | [`objgraph`] | available |
//! | leak checks (`LeakCheck`): steady growth per type, leaked objects grouped by chain from a root, as snapshot text | [`objgraph`] | available |
//! | reports to browse offline (`Report`): HTML tables that sort, filter and unfold chains, DOT, SVG, text, JSON; a leak check's section | [`objgraph`] | available |
//!
//! `docs/guide.md` walks through leak hunting with all of it, from reference counts to a leak
//! check in a test.
//!
//! ```
//! use cyclegc::{Gc, Weak};
//!
//! let greeting = Gc::new(String::from("hello"));
//! let weak: Weak<String> = Gc::downgrade(&greeting);
//! assert_eq!(weak.upgrade().as_deref().map(String::as_str), Some("hello"));
//! drop(greeting);
//! assert!(weak.upgrade().is_none());
//! ```

#![deny(missing_docs)]

/// What the derive's expansion names, so that `#[trace(crate = cyclegc)]` (or a renamed
/// dependency's name) reaches it through this facade.
#[doc(hidden)]
pub use rc_heap::__private;
pub use rc_heap::__private::TraceTrait as Trace;
pub use rc_heap::{
    ALLOC_SITES, AccessError, Callable, Closure, Edge, Finalize, Gc, GcAny, GcMut, Handle, KeyLabel, LabelPath,
    ObjectId, Referent, Segment, TypeInfo, Unraisable, UnraisableHook, Visitor, Weak, WeakEdge, coerce_gc, coerce_weak,
    set_unraisable_hook,
};
/// Derives [`Trace`](trait@Trace): the value reports every `Gc` and `Weak` its fields own,
/// each edge labelled by its field's name (tuple index, enum variant), so that the collector
/// finds cycles through it and introspection names each reference. A type none of whose
/// traced fields can hold a `Gc` or a `Weak` is declared a leaf (not tracked).
///
/// ```
/// use std::cell::RefCell;
/// use cyclegc::{Gc, Trace, Weak};
///
/// #[derive(Trace)]
/// struct Node {
///     name: String,                         // a leaf: nothing to trace
///     children: RefCell<Vec<Gc<Node>>>,     // traced: `children[0]`, `children[1]`, ...
///     parent: RefCell<Option<Weak<Node>>>,  // weak: no cycle of strong handles
///     #[trace(skip)]
///     cache: Option<Gc<String>>,            // not traced: held as if from outside
/// }
///
/// fn node(name: &str) -> Gc<Node> {
///     Gc::new(Node { name: name.into(), children: Default::default(), parent: Default::default(), cache: None })
/// }
///
/// let (root, leaf) = (node("root"), node("leaf"));
/// *leaf.parent.borrow_mut() = Some(Gc::downgrade(&root));
/// root.children.borrow_mut().push(leaf);
/// assert_eq!(Gc::into_any(root).referents()[0].label, "children[0]");
/// ```
///
/// | attribute | on | effect |
/// |---|---|---|
/// | `#[trace(skip)]` | field | not traced: what it holds is kept alive as if held from outside (at worst a leak) |
/// | `#[trace(flatten)]` | field | traced, its edges labelled without the field's name (`list[3]`, not `list.inner[3]`) |
/// | `#[trace(finalize)]` | type | the type implements [`Finalize`], run once before the object dies (Python's `__del__`) |
/// | `#[trace(describe)]` | type | graph labels and map-key labels show the value's `Debug` text |
/// | `#[trace(describe = path)]` | type | labels show `path(&value)`, a `fn(&Self) -> String` |
/// | `#[trace(tracked)]` | type | always tracked, without inspecting the field types |
/// | `#[trace(bound = "T: 'static")]` | type | the impl's bounds, replacing the ones the derive infers |
/// | `#[trace(crate = path)]` | type | where the heap is: `cyclegc` under the name your manifest gives it by default; `mylib::cyclegc` when you reach it through another crate's re-export |
///
/// A type parameter a traced field holds by value is bounded by `Trace`; one used only
/// behind `Gc`, `Weak`, `PhantomData` or the weak containers just by `'static`, so
/// `Registry<dyn Plugin>` needs no `Trace` of `dyn Plugin`. A parameter passed on to
/// another generic type of yours (`inner: Registry<P>`) is bounded by `Trace` too, as the
/// derive cannot see inside that type: write `#[trace(bound = "P: 'static")]` on the outer
/// type when the parameter is a trait object. A map key is labelled by its `describe`
/// text (`map["login"]`, `map[7]`); a key type of your own shows as `map[?]` unless it
/// has `#[trace(describe)]`.
///
/// The full reference is the `trace-derive` crate's documentation; `docs/guide.md`
/// (section 2) shows the derive on a whole program.
#[doc(inline)]
pub use trace_derive::__TraceThroughCyclegc as Trace;

pub use gen_gc;
/// Python's `gc` module: [`gen_gc`] under the name Python code uses
/// (`cyclegc::gc::collect()`).
pub use gen_gc as gc;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctest;

/// The guide's examples (`docs/guide.md`), compiled and run as doctests.
#[doc = include_str!("../docs/guide.md")]
#[cfg(doctest)]
pub struct GuideDoctest;
pub use objgraph;
pub use rc_heap;
pub use weak_collections;
/// Python's `weakref` module: [`weak_collections`] under the name Python code uses
/// (`cyclegc::weakref::WeakValueDictionary`, `cyclegc::weakref::proxy`).
pub use weak_collections as weakref;
