//! What `#[derive(Trace)]` generates, checked through the heap: referents, labels,
//! tracked-ness, finalizers and descriptions.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use rc_heap::{Finalize, Gc, GcAny, Trace, TypeInfo, Weak};

/// Whether the heap tracks values of `T` (asked at run time).
fn tracked<T: Trace>() -> bool {
    rc_heap::TypeInfo::of::<T>().is_tracked()
}

fn labels<T: Trace>(value: T) -> Vec<String> {
    Gc::into_any(Gc::new(value)).referents().into_iter().map(|r| r.label).collect()
}

#[derive(Trace)]
struct Named {
    name: String,
    attr_a: Option<Gc<u8>>,
    attr_b: RefCell<Option<Gc<u8>>>,
    children: Vec<Gc<u8>>,
    by_name: HashMap<String, Gc<u8>>,
}

#[test]
fn named_struct_fields_label_their_edges() {
    let value = Named {
        name: "n".into(),
        attr_a: Some(Gc::new(1)),
        attr_b: RefCell::new(Some(Gc::new(2))),
        children: vec![Gc::new(3), Gc::new(4)],
        by_name: HashMap::from([("k".to_owned(), Gc::new(5))]),
    };
    assert_eq!(labels(value), ["attr_a", "attr_b", "children[0]", "children[1]", "by_name[\"k\"]"]);
    assert!(tracked::<Named>());
}

#[derive(Trace)]
struct Tuple(u32, Gc<u8>, #[trace(skip)] Gc<u8>, Option<Gc<u8>>);

#[test]
fn tuple_struct_fields_are_labelled_by_index_and_skip_is_honoured() {
    let value = Tuple(0, Gc::new(1), Gc::new(2), Some(Gc::new(3)));
    assert_eq!(*value.2, 2);
    assert_eq!(labels(value), ["1", "3"]);
}

#[derive(Trace)]
struct Unit;

#[derive(Trace)]
struct Plain {
    id: u64,
    text: String,
    #[trace(skip)]
    ignored: Option<Gc<u8>>,
}

#[test]
fn types_with_nothing_to_trace_are_leaves() {
    assert!(!tracked::<Unit>());
    assert!(!tracked::<Plain>());
    let plain = Gc::new(Plain { id: 1, text: "t".into(), ignored: Some(Gc::new(1)) });
    assert!(!Gc::is_tracked(&plain));
    assert_eq!(TypeInfo::of::<Plain>().header_size(), 16);
    assert_eq!(plain.id + plain.text.len() as u64, 2);
    assert!(plain.ignored.is_some());
    assert!(labels(Unit).is_empty());
}

#[derive(Trace)]
enum Shape {
    Empty,
    Leaf(Gc<u8>),
    Pair { left: Gc<u8>, right: Option<Gc<u8>> },
    Tagged(u8, #[trace(skip)] Gc<u8>),
}

#[test]
fn enum_variants_prefix_their_field_labels() {
    assert!(labels(Shape::Empty).is_empty());
    assert_eq!(labels(Shape::Leaf(Gc::new(1))), ["Leaf.0"]);
    assert_eq!(labels(Shape::Pair { left: Gc::new(1), right: Some(Gc::new(2)) }), ["Pair.left", "Pair.right"]);
    let tagged = Shape::Tagged(1, Gc::new(2));
    if let Shape::Tagged(_, skipped) = &tagged {
        assert_eq!(**skipped, 2);
    }
    assert!(labels(tagged).is_empty());
    assert!(tracked::<Shape>());
}

#[derive(Trace)]
enum Never {}

#[derive(Trace)]
enum Flag {
    On,
    Off(u8),
}

#[test]
fn enums_without_gcs_are_leaves() {
    assert!(!tracked::<Never>());
    assert!(!tracked::<Flag>());
    assert!(labels(Flag::Off(1)).is_empty());
    assert!(labels(Flag::On).is_empty());
}

#[derive(Trace)]
struct Generic<T, const N: usize>
where
    T: Clone,
{
    items: [Option<T>; N],
}

#[test]
fn generic_types_bound_their_parameters_and_follow_them() {
    assert!(!tracked::<Generic<u8, 2>>());
    assert!(tracked::<Generic<Gc<u8>, 2>>());
    assert_eq!(labels(Generic { items: [Some(Gc::new(1_u8)), None, Some(Gc::new(2))] }), ["items[0]", "items[2]"]);
}

#[derive(Trace)]
struct Node {
    value: i32,
    next: RefCell<Option<Gc<Node>>>,
    parent: RefCell<Weak<Node>>,
}

#[test]
fn self_referencing_types_through_gc_and_weak_work() {
    let a = Gc::new(Node { value: 1, next: RefCell::new(None), parent: RefCell::new(Weak::new()) });
    let b = Gc::new(Node { value: 2, next: RefCell::new(Some(a.clone())), parent: RefCell::new(Weak::new()) });
    *a.parent.borrow_mut() = Gc::downgrade(&b);
    let referents = Gc::to_any(&b).referents();
    assert_eq!(referents.len(), 1);
    assert_eq!(referents[0].label, "next");
    assert_eq!(referents[0].downcast::<Node>().unwrap().value, 1);
    assert!(Gc::is_tracked(&a));
    drop(b);
    assert!(a.parent.borrow().upgrade().is_none());
}

#[derive(Trace)]
enum Expr {
    Num(i64),
    Add(Box<Expr>, Box<Expr>),
    Shared(Gc<Expr>),
}

#[test]
fn recursive_types_through_box_compile_and_trace() {
    let shared = Gc::new(Expr::Num(1));
    let expr = Expr::Add(Box::new(Expr::Num(2)), Box::new(Expr::Shared(shared.clone())));
    assert_eq!(labels(expr), ["Add.1.Shared.0"]);
    assert!(tracked::<Expr>());
    if let Expr::Num(n) = *shared {
        assert_eq!(n, 1);
    }
}

#[derive(Trace)]
#[trace(tracked)]
struct Forward {
    back: Option<Box<Backward>>,
}

#[derive(Trace)]
struct Backward {
    forward: Option<Box<Forward>>,
    leaf: Option<Gc<u8>>,
}

#[test]
fn mutually_recursive_types_compile_with_tracked() {
    let value = Forward { back: Some(Box::new(Backward { forward: None, leaf: Some(Gc::new(1)) })) };
    assert_eq!(labels(value), ["back.leaf"]);
}

thread_local!(static FINALIZED: Cell<usize> = const { Cell::new(0) });

#[derive(Trace)]
#[trace(finalize)]
struct Connection {
    handlers: RefCell<Vec<Gc<u8>>>,
}

impl Finalize for Connection {
    fn finalize(&self) {
        assert_eq!(self.handlers.borrow().len(), 1, "finalizers see the object intact");
        FINALIZED.with(|f| f.set(f.get() + 1));
    }
}

#[test]
fn finalize_attribute_wires_the_finalizer() {
    assert!(TypeInfo::of::<Connection>().has_finalizer());
    let before = FINALIZED.with(Cell::get);
    let conn = Gc::new(Connection { handlers: RefCell::new(vec![Gc::new(1)]) });
    drop(conn);
    assert_eq!(FINALIZED.with(Cell::get), before + 1);
}

#[derive(Trace, Debug)]
#[trace(describe)]
struct Point {
    x: i32,
    y: i32,
}

fn shout(value: &Loud) -> String {
    value.0.to_uppercase()
}

#[derive(Trace)]
#[trace(describe = shout)]
struct Loud(String);

#[test]
fn describe_uses_debug_or_a_function() {
    let point = Gc::into_any(Gc::new(Point { x: 1, y: 2 }));
    assert_eq!(point.describe().as_deref(), Some("Point { x: 1, y: 2 }"));
    assert_eq!(Gc::into_any(Gc::new(Loud("hi".into()))).describe().as_deref(), Some("HI"));
    assert_eq!(Gc::into_any(Gc::new(Unit)).describe(), None);
}

/// A key type of the user's own: labelled by its `Debug` text with `describe`, `[?]` without.
#[derive(Trace, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[trace(describe)]
struct UserId(u32);

#[derive(Trace, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Opaque(u32);

#[derive(Trace)]
struct ByUser {
    described: BTreeMap<UserId, Gc<u8>>,
    opaque: BTreeMap<Opaque, Gc<u8>>,
}

#[derive(Trace)]
struct ByPair {
    pairs: BTreeMap<(u32, String), Gc<u8>>,
    singles: BTreeMap<(UserId,), Gc<u8>>,
    half_opaque: BTreeMap<(u32, Opaque), Gc<u8>>,
}

#[test]
fn tuple_keys_are_labelled_as_python_writes_a_tuple_when_each_field_has_a_description() {
    let value = ByPair {
        pairs: BTreeMap::from([((1, "a".to_owned()), Gc::new(1))]),
        singles: BTreeMap::from([((UserId(7),), Gc::new(2))]),
        half_opaque: BTreeMap::from([((3, Opaque(7)), Gc::new(3))]),
    };
    assert_eq!(labels(value), ["pairs[(1, \"a\")]", "singles[(UserId(7),)]", "half_opaque[?]"]);
}

#[test]
fn map_keys_of_a_type_of_ones_own_are_labelled_by_its_description() {
    let value = ByUser {
        described: BTreeMap::from([(UserId(7), Gc::new(1))]),
        opaque: BTreeMap::from([(Opaque(7), Gc::new(2))]),
    };
    assert_eq!(labels(value), ["described[UserId(7)]", "opaque[?]"]);
}

#[derive(Trace)]
#[trace(crate = rc_heap)]
struct ThroughPath {
    inner: Rc<String>,
    any: Option<GcAny>,
}

#[test]
fn crate_path_override_is_used() {
    let value = ThroughPath { inner: Rc::new("x".into()), any: Some(Gc::into_any(Gc::new(1_u8))) };
    assert_eq!(value.inner.as_str(), "x");
    assert_eq!(labels(value), ["any"]);
}

mod hygiene {
    // Names a user might have in scope must not break the generated code.
    #[allow(dead_code)]
    struct Option;
    #[allow(dead_code)]
    struct Visitor;
    #[allow(dead_code)]
    trait Trace {}

    #[derive(rc_heap::Trace)]
    pub(super) struct Shadowed {
        pub(super) field: std::option::Option<rc_heap::Gc<u8>>,
        pub(super) __visitor: u8,
    }
}

#[test]
fn generated_code_is_hygienic() {
    let value = hygiene::Shadowed { field: Some(Gc::new(1)), __visitor: 0 };
    assert_eq!(value.__visitor, 0);
    assert_eq!(labels(value), ["field"]);
}

#[test]
fn raw_identifiers_label_without_the_prefix() {
    #[derive(Trace)]
    struct Keywords {
        r#type: Gc<u8>,
    }
    assert_eq!(labels(Keywords { r#type: Gc::new(1) }), ["type"]);
}

trait Plugin {
    fn name(&self) -> &'static str;
}

#[derive(Trace)]
struct Loaded;

impl Plugin for Loaded {
    fn name(&self) -> &'static str {
        "loaded"
    }
}

/// Generic over an unsized type used only behind `Gc`: the bounds are given by hand.
#[derive(Trace)]
#[trace(bound = "")]
struct Registry<T: ?Sized + 'static> {
    items: RefCell<Vec<Gc<T>>>,
}

#[test]
fn bound_replaces_the_trace_bounds_on_type_parameters() {
    let registry: Gc<Registry<dyn Plugin>> = Gc::new(Registry { items: RefCell::new(Vec::new()) });
    registry.items.borrow_mut().push(rc_heap::coerce_gc!(Gc::new(Loaded)));
    const { assert!(<Registry<dyn Plugin> as Trace>::TRACKED) };
    let referents = Gc::to_any(&registry).referents();
    assert_eq!(referents.len(), 1);
    assert_eq!(referents[0].label, "items[0]");
    assert_eq!(referents[0].target.short_type_name(), "Loaded");
    assert_eq!(registry.items.borrow()[0].name(), "loaded");
}

/// A type parameter may have any name, `__V` included.
#[derive(Trace)]
struct OddlyNamed<__V: Trace> {
    value: __V,
}

/// Fields the collector has nothing to trace in: function pointers, `std` weak references,
/// every `NonZero` integer.
#[derive(Trace)]
struct Plumbing {
    handler: fn(u32) -> u32,
    done: fn(),
    parent: std::rc::Weak<RefCell<u32>>,
    shared: std::sync::Weak<u32>,
    id: std::num::NonZeroU128,
    small: std::num::NonZeroI8,
    size: std::num::NonZeroIsize,
}

#[test]
fn leaf_fields_of_any_kind_make_a_leaf() {
    const { assert!(!<Plumbing as Trace>::TRACKED) };
    let rc = std::rc::Rc::new(RefCell::new(1));
    let arc = std::sync::Arc::new(2);
    let plumbing = Gc::new(Plumbing {
        handler: |n| n + 1,
        done: || {},
        parent: std::rc::Rc::downgrade(&rc),
        shared: std::sync::Arc::downgrade(&arc),
        id: std::num::NonZeroU128::MIN,
        small: std::num::NonZeroI8::MIN,
        size: std::num::NonZeroIsize::MAX,
    });
    assert_eq!((plumbing.handler)(1), 2);
    (plumbing.done)();
    assert!(plumbing.parent.upgrade().is_some() && plumbing.shared.upgrade().is_some());
    assert_eq!((plumbing.id.get(), plumbing.small.get(), plumbing.size.get()), (1, i8::MIN, isize::MAX));

    let named = OddlyNamed { value: Some(Gc::new(3_u8)) };
    assert_eq!(labels(named), ["value"]);
}

/// A request handler as apps store it: function pointers whose arguments are references
/// (higher-ranked, so no `Trace` impl covers them) hold nothing, and are left untraced.
#[derive(Trace)]
struct Route {
    path: String,
    handler: fn(&str) -> String,
    check: fn(&mut Vec<u8>, &[u8]) -> bool,
    next: RefCell<Option<Gc<Route>>>,
}

#[test]
fn function_pointer_fields_with_reference_arguments_are_not_traced() {
    fn upper(text: &str) -> String {
        text.to_uppercase()
    }
    fn check(out: &mut Vec<u8>, input: &[u8]) -> bool {
        out.extend_from_slice(input);
        true
    }
    let route = Gc::new(Route { path: "/a".into(), handler: upper, check, next: RefCell::new(None) });
    *route.next.borrow_mut() = Some(route.clone());
    assert!(tracked::<Route>());
    assert_eq!(Gc::to_any(&route).referents().into_iter().map(|r| r.label).collect::<Vec<_>>(), ["next"]);
    assert_eq!((route.handler)(&route.path), "/A");
    assert!((route.check)(&mut Vec::new(), b"x"));
    *route.next.borrow_mut() = None;
}
