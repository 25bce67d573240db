//! Every shape of user type a program puts on the heap, derived: generics of every kind,
//! tuple and unit structs, enums of every variant shape, raw identifiers, trait objects,
//! recursive types, nested std containers, skipped foreign fields, finalizers, types declared
//! in functions and macros, and the derive next to std's and serde's. For each shape: it
//! compiles, a cycle through it is freed by a full collection, and its edges carry readable
//! labels.

use std::any::Any;
use std::cell::{Cell, OnceCell, RefCell};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, LinkedList, VecDeque};
use std::marker::PhantomData;
use std::rc::Rc;

use rc_heap::{Finalize, Gc, GcAny, Trace, TypeInfo, Weak, coerce_gc};

/// The labels of an object's references, in tracing order.
fn labels_of<T: ?Sized>(object: &Gc<T>) -> Vec<String> {
    Gc::to_any(object).referents().into_iter().map(|r| r.label).collect()
}

/// Whether the heap tracks values of `T` (its `Trace::TRACKED`, asked at run time).
fn tracked<T: Trace>() -> bool {
    TypeInfo::of::<T>().is_tracked()
}

/// `handle` is the only reference from outside to a garbage cycle of `size` objects: dropping
/// it frees nothing, and a full collection frees all of them.
fn assert_cycle_is_collected<T: ?Sized>(handle: Gc<T>, size: usize) {
    gen_gc::collect();
    let watch: Weak<T> = Gc::downgrade(&handle);
    drop(handle);
    assert!(watch.upgrade().is_some(), "reference counting alone cannot free a cycle");
    assert_eq!(gen_gc::collect(), size, "the collection finds the whole cycle");
    assert!(watch.upgrade().is_none(), "the cycle's objects are gone");
}

// ---------------------------------------------------------------------------------------
// Generics

/// Bounds, a where clause, a default type and a defaulted const parameter.
#[derive(Trace)]
struct Slots<T: Clone + 'static, E = u8, const N: usize = 2>
where
    T: PartialEq,
    E: Default,
{
    slots: RefCell<[Option<T>; N]>,
    extra: E,
}

#[test]
fn generic_struct_with_bounds_where_clause_and_defaults_collects_its_cycle() {
    let slots: Gc<Slots<GcAny>> = Gc::new(Slots { slots: RefCell::new([None, None]), extra: 0 });
    slots.slots.borrow_mut()[1] = Some(Gc::to_any(&slots));
    assert_eq!(slots.extra, 0);
    assert_eq!(labels_of(&slots), ["slots[1]"]);
    assert!(!TypeInfo::of::<Slots<u32, u8, 3>>().is_tracked());
    assert_cycle_is_collected(slots, 1);
}

/// A marker type that is not `Trace`: units, roles, capabilities.
struct Meters;

/// A type parameter used only in `PhantomData`: it needs no `Trace`.
#[derive(Trace)]
struct Tagged<Unit> {
    unit: PhantomData<Unit>,
    next: RefCell<Option<GcAny>>,
}

#[test]
fn type_parameter_used_only_in_phantom_data_needs_no_trace() {
    let tagged: Gc<Tagged<Meters>> = Gc::new(Tagged { unit: PhantomData, next: RefCell::new(None) });
    *tagged.next.borrow_mut() = Some(Gc::to_any(&tagged));
    assert_eq!(labels_of(&tagged), ["next"]);
    assert_cycle_is_collected(tagged, 1);
}

/// Not `Trace`, held in a skipped field.
struct Socket {
    port: u16,
}

/// A type parameter used only in a skipped field: it needs no `Trace`.
#[derive(Trace)]
struct Session<Io: 'static> {
    #[trace(skip)]
    io: Io,
    peer: RefCell<Option<Gc<Session<Io>>>>,
}

#[test]
fn type_parameter_used_only_in_a_skipped_field_needs_no_trace() {
    let a = Gc::new(Session { io: Socket { port: 1 }, peer: RefCell::new(None) });
    let b = Gc::new(Session { io: Socket { port: 2 }, peer: RefCell::new(Some(a.clone())) });
    *a.peer.borrow_mut() = Some(b.clone());
    assert_eq!(a.io.port + b.io.port, 3);
    assert_eq!(labels_of(&a), ["peer"]);
    drop(b);
    assert_cycle_is_collected(a, 2);
}

/// A closure type parameter with a higher-ranked bound, kept in a skipped field.
#[derive(Trace)]
struct Handler<F>
where
    F: for<'a> Fn(&'a str) -> usize + 'static,
{
    #[trace(skip)]
    callback: F,
    owner: RefCell<Option<Gc<Handler<F>>>>,
}

#[test]
fn closure_type_parameter_with_a_higher_ranked_bound_in_a_skipped_field() {
    let handler = Gc::new(Handler { callback: |text: &str| text.len(), owner: RefCell::new(None) });
    *handler.owner.borrow_mut() = Some(handler.clone());
    assert_eq!((handler.callback)("four"), 4);
    assert_eq!(labels_of(&handler), ["owner"]);
    assert_cycle_is_collected(handler, 1);
}

/// A type parameter used only behind `Gc` and `Weak`: any `'static` type, `dyn Trait`
/// included, without `#[trace(bound = ...)]`.
#[derive(Trace)]
struct Observers<T: ?Sized + 'static> {
    strong: RefCell<Vec<Gc<T>>>,
    weak: RefCell<Vec<Weak<T>>>,
}

trait Observer {
    fn notify(&self) -> u32;
}

#[derive(Trace)]
struct Watcher {
    subject: RefCell<Option<Gc<Observers<dyn Observer>>>>,
}

impl Observer for Watcher {
    fn notify(&self) -> u32 {
        7
    }
}

#[test]
fn type_parameter_used_only_behind_gc_may_be_unsized() {
    let subject: Gc<Observers<dyn Observer>> =
        Gc::new(Observers { strong: RefCell::new(Vec::new()), weak: RefCell::new(Vec::new()) });
    let watcher = Gc::new(Watcher { subject: RefCell::new(Some(subject.clone())) });
    subject.weak.borrow_mut().push(rc_heap::coerce_weak!(Gc::downgrade(&watcher)));
    subject.strong.borrow_mut().push(coerce_gc!(watcher));
    assert_eq!(subject.strong.borrow()[0].notify(), 7);
    assert_eq!(labels_of(&subject), ["strong[0]"]);
    assert_cycle_is_collected(subject, 2);
}

/// An associated type of a parameter as a field.
#[derive(Trace)]
struct Peeked<I: Iterator + 'static> {
    #[trace(skip)]
    rest: I,
    head: Option<I::Item>,
}

#[test]
fn associated_type_field_is_bounded_by_itself() {
    let items = vec![Gc::new(1_u8), Gc::new(2)];
    let mut rest = items.into_iter();
    let head = rest.next();
    let peeked = Gc::new(Peeked { rest, head });
    assert_eq!(peeked.rest.len(), 1);
    assert_eq!(labels_of(&peeked), ["head"]);
}

/// A generic enum whose type parameter appears in one variant only.
#[derive(Trace)]
enum Either<L, R> {
    Left(L),
    Right { value: R },
}

#[test]
fn generic_enums_trace_the_variant_they_hold() {
    let cell: Gc<RefCell<Either<u8, Option<GcAny>>>> = Gc::new(RefCell::new(Either::Left(0)));
    *cell.borrow_mut() = Either::Right { value: Some(Gc::to_any(&cell)) };
    assert_eq!(labels_of(&cell), ["Right.value"]);
    assert!(!TypeInfo::of::<Either<u8, String>>().is_tracked());
    assert_cycle_is_collected(cell, 1);
}

// ---------------------------------------------------------------------------------------
// Struct and enum shapes

#[derive(Trace)]
struct Ring(u32, RefCell<Option<Gc<Ring>>>, #[trace(skip)] Rc<dyn Fn() -> u32>);

#[test]
fn tuple_struct_cycle_is_collected_and_labelled_by_index() {
    let a = Gc::new(Ring(1, RefCell::new(None), Rc::new(|| 1)));
    let b = Gc::new(Ring(2, RefCell::new(Some(a.clone())), Rc::new(|| 2)));
    *a.1.borrow_mut() = Some(b.clone());
    assert_eq!((a.2)() + (b.2)() + a.0 + b.0, 6);
    assert_eq!(labels_of(&b), ["1"]);
    drop(b);
    assert_cycle_is_collected(a, 2);
}

#[derive(Trace)]
struct Unit;

#[derive(Trace)]
struct EmptyBraces {}

#[derive(Trace)]
struct EmptyParens();

#[test]
fn field_less_structs_are_untracked_leaves() {
    for object in
        [Gc::into_any(Gc::new(Unit)), Gc::into_any(Gc::new(EmptyBraces {})), Gc::into_any(Gc::new(EmptyParens()))]
    {
        assert!(!object.is_tracked());
        assert!(object.referents().is_empty());
    }
}

#[derive(Trace)]
#[repr(u8)]
enum Token {
    End = 1,
    Empty() = 2,
    NoFields {} = 3,
    Word(String, #[trace(skip)] Box<dyn Any>) = 4,
    Link(u8, RefCell<Option<Gc<Token>>>) = 5,
    Tree { left: RefCell<Option<Gc<Token>>>, r#loop: Option<Gc<Token>>, depth: u32 } = 6,
}

#[test]
fn enum_of_every_variant_shape_collects_cycles_through_each_traced_variant() {
    assert!(TypeInfo::of::<Token>().is_tracked());
    for leaf in [Token::End, Token::Empty(), Token::NoFields {}, Token::Word("w".into(), Box::new(1_u8))] {
        let leaf = Gc::new(leaf);
        assert!(labels_of(&leaf).is_empty());
        if let Token::Word(word, data) = &*leaf {
            assert_eq!((word.as_str(), data.downcast_ref::<u8>()), ("w", Some(&1)));
        }
    }

    let link = Gc::new(Token::Link(0, RefCell::new(None)));
    let tree = Gc::new(Token::Tree { left: RefCell::new(Some(link.clone())), r#loop: None, depth: 1 });
    let Token::Link(_, next) = &*link else { unreachable!() };
    *next.borrow_mut() = Some(tree.clone());
    assert_eq!(labels_of(&link), ["Link.1"]);
    assert_eq!(labels_of(&tree), ["Tree.left"]);
    drop(link);
    assert_cycle_is_collected(tree, 2);

    let looped = Gc::new_cyclic(|me: &Weak<Token>| {
        let _ = me;
        Token::Tree { left: RefCell::new(None), r#loop: None, depth: 0 }
    });
    let Token::Tree { left, depth, .. } = &*looped else { unreachable!() };
    *left.borrow_mut() = Some(looped.clone());
    assert_eq!(*depth, 0);
    assert_cycle_is_collected(looped, 1);
}

#[derive(Trace)]
#[allow(non_camel_case_types)]
enum Keyword {
    r#type(Gc<u8>),
    Field { r#match: Gc<u8> },
}

#[test]
fn raw_identifiers_in_variants_and_their_fields_label_without_the_prefix() {
    assert_eq!(labels_of(&Gc::new(Keyword::r#type(Gc::new(1)))), ["type.0"]);
    assert_eq!(labels_of(&Gc::new(Keyword::Field { r#match: Gc::new(1) })), ["Field.match"]);
}

// ---------------------------------------------------------------------------------------
// Trait objects

trait Listener {
    fn on_click(&self) -> usize;
}

#[derive(Trace)]
struct Button {
    listeners: RefCell<Vec<Gc<dyn Listener>>>,
    #[trace(skip)]
    user_data: Box<dyn Any>,
}

#[derive(Trace)]
struct CloseOnClick {
    button: Gc<Button>,
}

impl Listener for CloseOnClick {
    fn on_click(&self) -> usize {
        self.button.listeners.borrow().len()
    }
}

#[test]
fn trait_object_fields_trace_the_concrete_object() {
    let button = Gc::new(Button { listeners: RefCell::new(Vec::new()), user_data: Box::new("data") });
    let listener: Gc<dyn Listener> = coerce_gc!(Gc::new(CloseOnClick { button: button.clone() }));
    button.listeners.borrow_mut().push(listener);
    assert_eq!(button.listeners.borrow()[0].on_click(), 1);
    assert_eq!(button.user_data.downcast_ref::<&str>(), Some(&"data"));
    let referents = Gc::to_any(&button).referents();
    assert_eq!(referents.len(), 1);
    assert_eq!(referents[0].label, "listeners[0]");
    assert_eq!(referents[0].target.short_type_name(), "CloseOnClick");
    assert_eq!(labels_of(&referents[0].target.downcast::<CloseOnClick>().unwrap()), ["button"]);
    drop(referents);
    assert_cycle_is_collected(button, 2);
}

// ---------------------------------------------------------------------------------------
// Recursive types

#[derive(Trace)]
struct Tree {
    name: String,
    children: Vec<Tree>,
    first_child: Option<Box<Self>>,
    parent: RefCell<Option<Gc<Self>>>,
    siblings: RefCell<Vec<Gc<Self>>>,
}

impl Tree {
    fn leaf(name: &str) -> Tree {
        Tree {
            name: name.into(),
            children: Vec::new(),
            first_child: None,
            parent: RefCell::new(None),
            siblings: RefCell::new(Vec::new()),
        }
    }
}

#[test]
fn recursive_type_through_box_vec_and_gc_collects_its_cycles() {
    let mut root = Tree::leaf("root");
    let boxed = Tree::leaf("boxed");
    let owner = Gc::new(Tree::leaf("owner"));
    *boxed.parent.borrow_mut() = Some(owner.clone());
    root.first_child = Some(Box::new(boxed));
    root.children.push(Tree::leaf("plain"));
    root.children.push(Tree::leaf("inner"));
    *root.children[1].parent.borrow_mut() = Some(owner.clone());
    let root = Gc::new(root);
    owner.siblings.borrow_mut().push(root.clone());
    assert_eq!(labels_of(&root), ["children[1].parent", "first_child.parent"]);
    assert_eq!(labels_of(&owner), ["siblings[0]"]);
    assert_eq!(root.name.len() + root.children[0].name.len(), 9);
    drop(owner);
    assert_cycle_is_collected(root, 2);
}

/// Syntax trees whose node types hold each other by value, as a parser's do: a statement
/// holds blocks, a block holds statements, and only a block reaches the heap (its scope).
#[derive(Trace)]
enum Stmt {
    Expr(String),
    If { then: Block, otherwise: Option<Box<Block>> },
    Loop(Vec<Block>),
}

#[derive(Trace)]
struct Block {
    stmts: Vec<Stmt>,
    scope: RefCell<Option<Gc<Scope>>>,
}

#[derive(Trace)]
struct Scope {
    name: String,
    body: RefCell<Vec<Block>>,
}

/// Two types that hold each other by value and can reach no handle.
#[derive(Trace)]
struct Outline {
    sections: Vec<Section>,
}

#[derive(Trace)]
struct Section {
    title: String,
    sub: Option<Box<Outline>>,
}

#[test]
fn types_holding_each_other_by_value_compile_and_collect_their_cycles() {
    assert!(tracked::<Stmt>() && tracked::<Block>() && tracked::<Scope>());
    let scope = Gc::new(Scope { name: "fn main".into(), body: RefCell::new(Vec::new()) });
    let inner = Block { stmts: vec![Stmt::Expr("x".into())], scope: RefCell::new(Some(scope.clone())) };
    let body = Block {
        stmts: vec![Stmt::If { then: inner, otherwise: None }, Stmt::Loop(Vec::new())],
        scope: RefCell::new(None),
    };
    scope.body.borrow_mut().push(body);
    assert_eq!(labels_of(&scope), ["body[0].stmts[0].If.then.scope"]);
    assert_eq!(scope.name, "fn main");
    assert_cycle_is_collected(scope, 1);
}

#[test]
fn types_holding_each_other_by_value_without_handles_are_tracked_to_be_safe() {
    // Whether such a pair can reach a handle is a question about itself; the derive answers
    // it with the safe `true` rather than a compile-time cycle.
    assert!(tracked::<Outline>() && tracked::<Section>());
    let outline = Gc::new(Outline {
        sections: vec![Section { title: "intro".into(), sub: Some(Box::new(Outline { sections: vec![] })) }],
    });
    assert!(Gc::to_any(&outline).is_tracked());
    assert!(labels_of(&outline).is_empty());
    assert_eq!(outline.sections[0].title, "intro");
}

/// Eight derived types nested by value, the innermost holding numbers, text and a fieldless
/// type: a leaf.
#[derive(Trace)]
struct Depth1(Depth2);
#[derive(Trace)]
struct Depth2(Depth3);
#[derive(Trace)]
struct Depth3(Depth4);
#[derive(Trace)]
struct Depth4(Depth5);
#[derive(Trace)]
struct Depth5(Depth6);
#[derive(Trace)]
struct Depth6(Depth7);
#[derive(Trace)]
struct Depth7(Depth8);
#[derive(Trace)]
struct Depth8(Vec<(u32, String)>, Option<Box<[u8]>>, Marker);
/// A ninth derived type, with no field: a leaf whatever the budget left.
#[derive(Trace)]
struct Marker;
/// The same chain with a handle at the bottom.
#[derive(Trace)]
struct Deep1(Deep2);
#[derive(Trace)]
struct Deep2(Deep3);
#[derive(Trace)]
struct Deep3(Deep4);
#[derive(Trace)]
struct Deep4(Deep5);
#[derive(Trace)]
struct Deep5(Deep6);
#[derive(Trace)]
struct Deep6(Deep7);
#[derive(Trace)]
struct Deep7(Deep8);
#[derive(Trace)]
struct Deep8(Deep9);
#[derive(Trace)]
struct Deep9(Deep10);
#[derive(Trace)]
struct Deep10(RefCell<Option<Gc<Deep1>>>);

#[test]
fn leaves_nested_eight_types_deep_stay_leaves_and_deeper_handles_are_still_found() {
    assert!(!tracked::<Depth1>());
    let leaf =
        Gc::new(Depth1(Depth2(Depth3(Depth4(Depth5(Depth6(Depth7(Depth8(vec![(1, "a".into())], None, Marker)))))))));
    assert!(!Gc::to_any(&leaf).is_tracked());
    assert_eq!((leaf.0).0.0.0.0.0.0.0[0].0, 1);

    assert!(tracked::<Deep1>());
    let deep = Gc::new(Deep1(Deep2(Deep3(Deep4(Deep5(Deep6(Deep7(Deep8(Deep9(Deep10(RefCell::new(None))))))))))));
    *(deep.0).0.0.0.0.0.0.0.0.0.borrow_mut() = Some(deep.clone());
    assert_eq!(labels_of(&deep), ["0.0.0.0.0.0.0.0.0.0"]);
    assert_cycle_is_collected(deep, 1);
}

/// A generic recursive list.
#[derive(Trace)]
struct List<T> {
    head: T,
    tail: Option<Box<List<T>>>,
}

#[test]
fn generic_recursive_type_traces_every_link() {
    let end = Gc::new(RefCell::new(None::<List<GcAny>>));
    let list = List { head: Gc::to_any(&end), tail: Some(Box::new(List { head: Gc::to_any(&end), tail: None })) };
    *end.borrow_mut() = Some(list);
    assert_eq!(labels_of(&end), ["head", "tail.head"]);
    assert_cycle_is_collected(end, 1);
}

// ---------------------------------------------------------------------------------------
// Nested std containers

#[derive(Trace, PartialEq, Eq, PartialOrd, Ord)]
struct Job {
    priority: u32,
    #[trace(skip)]
    name: String,
    task: Gc<Scheduler>,
}

// Containers nested as deep as real programs nest them are the point here.
#[allow(clippy::type_complexity)]
#[derive(Trace)]
struct Scheduler {
    by_name: RefCell<HashMap<String, Vec<Option<Gc<Scheduler>>>>>,
    sorted: RefCell<BTreeMap<u32, VecDeque<(u8, Gc<Scheduler>)>>>,
    parent: OnceCell<Gc<Scheduler>>,
    queue: RefCell<BinaryHeap<Reverse<Job>>>,
    history: RefCell<LinkedList<Result<Gc<Scheduler>, String>>>,
    owned: Rc<RefCell<Option<Gc<Scheduler>>>>,
    flags: Cell<u8>,
}

impl PartialEq for Scheduler {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Scheduler {}

impl PartialOrd for Scheduler {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduler {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self as *const Self).cmp(&(other as *const Self))
    }
}

fn scheduler() -> Scheduler {
    Scheduler {
        by_name: RefCell::default(),
        sorted: RefCell::default(),
        parent: OnceCell::new(),
        queue: RefCell::default(),
        history: RefCell::default(),
        owned: Rc::default(),
        flags: Cell::new(0),
    }
}

#[test]
fn nested_std_containers_label_every_step_and_collect_their_cycles() {
    let a = Gc::new(scheduler());
    let b = Gc::new(scheduler());
    a.by_name.borrow_mut().insert("peer".into(), vec![None, Some(b.clone())]);
    b.sorted.borrow_mut().insert(3, VecDeque::from([(0, a.clone())]));
    b.parent.set(a.clone()).unwrap_or_else(|_| unreachable!());
    b.queue.borrow_mut().push(Reverse(Job { priority: 1, name: "job".into(), task: a.clone() }));
    b.history.borrow_mut().push_back(Err("failed".into()));
    b.history.borrow_mut().push_back(Ok(a.clone()));
    *b.owned.borrow_mut() = Some(a.clone());
    b.flags.set(1);
    assert_eq!(labels_of(&a), ["by_name[\"peer\"][1]"]);
    assert_eq!(labels_of(&b), ["sorted[3][0].1", "parent", "queue[0].task", "history[1]", "owned"]);
    assert!(b.queue.borrow().peek().is_some_and(|job| job.0.priority == 1 && job.0.name == "job"));
    assert_eq!(b.flags.get(), 1);
    drop(b);
    assert_cycle_is_collected(a, 2);
}

// ---------------------------------------------------------------------------------------
// Finalizers

thread_local!(static FINALIZED: Cell<usize> = const { Cell::new(0) });

#[derive(Trace)]
#[trace(finalize)]
struct Resource<T: 'static> {
    payload: T,
    peer: RefCell<Option<Gc<Resource<T>>>>,
}

impl<T> Finalize for Resource<T> {
    fn finalize(&self) {
        assert!(self.peer.borrow().is_some(), "a finalizer sees its object intact");
        FINALIZED.with(|count| count.set(count.get() + 1));
    }
}

#[test]
fn generic_type_with_a_finalizer_in_a_cycle_is_finalized_once_and_collected() {
    let a = Gc::new(Resource { payload: String::from("a"), peer: RefCell::new(None) });
    let b = Gc::new(Resource { payload: String::from("b"), peer: RefCell::new(Some(a.clone())) });
    *a.peer.borrow_mut() = Some(b.clone());
    assert_eq!(a.payload.len() + b.payload.len(), 2);
    assert!(TypeInfo::of::<Resource<String>>().has_finalizer());
    drop(b);
    let before = FINALIZED.with(Cell::get);
    assert_cycle_is_collected(a, 2);
    assert_eq!(FINALIZED.with(Cell::get), before + 2);
}

// ---------------------------------------------------------------------------------------
// Where the type is declared

#[test]
fn type_declared_inside_a_function_collects_its_cycle() {
    #[derive(Trace)]
    struct Local {
        me: RefCell<Option<Gc<Local>>>,
    }
    let local = Gc::new(Local { me: RefCell::new(None) });
    *local.me.borrow_mut() = Some(local.clone());
    assert_eq!(labels_of(&local), ["me"]);
    assert_cycle_is_collected(local, 1);
}

macro_rules! heap_type {
    ($name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        #[derive(Trace)]
        struct $name {
            $($field: $ty),*
        }
    };
}

heap_type!(FromMacro { id: u32, next: RefCell<Option<Gc<FromMacro>>>, boxed: Option<Box<FromMacro>> });

#[test]
fn type_declared_by_a_macro_collects_its_cycle() {
    let inner = FromMacro { id: 2, next: RefCell::new(None), boxed: None };
    let object = Gc::new(FromMacro { id: 1, next: RefCell::new(None), boxed: Some(Box::new(inner)) });
    *object.next.borrow_mut() = Some(object.clone());
    *object.boxed.as_ref().unwrap().next.borrow_mut() = Some(object.clone());
    assert_eq!(object.id + object.boxed.as_ref().unwrap().id, 3);
    assert_eq!(labels_of(&object), ["next", "boxed.next"]);
    assert_cycle_is_collected(object, 1);
}

// ---------------------------------------------------------------------------------------
// Next to other derives

#[derive(Trace, Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
#[trace(describe)]
struct Config {
    name: String,
    #[serde(skip)]
    shared: Option<Gc<String>>,
    #[trace(skip)]
    #[serde(rename = "retries")]
    attempts: u32,
}

#[derive(Trace, Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "kind")]
enum Event {
    Started { at: u64 },
    Stopped,
}

#[test]
fn derive_sits_next_to_std_and_serde_derives() {
    let config = Config { name: "c".into(), shared: Some(Gc::new("s".into())), attempts: 3 };
    let copy = config.clone();
    assert_eq!(config, copy);
    assert!(config <= copy);
    let mut seen = std::collections::HashSet::new();
    assert!(seen.insert(copy));
    assert_eq!(Config::default().attempts, 0);
    assert_eq!(serde_json::to_string(&config).unwrap(), r#"{"name":"c","retries":3}"#);
    let read: Config = serde_json::from_str(r#"{"name":"r","retries":1}"#).unwrap();
    assert_eq!((read.name.as_str(), read.shared, read.attempts), ("r", None, 1));
    let object = Gc::new(config);
    assert_eq!(labels_of(&object), ["shared"]);
    assert_eq!(
        Gc::to_any(&object).describe().as_deref(),
        Some("Config { name: \"c\", shared: Some(\"s\"), attempts: 3 }")
    );
    assert_eq!(format!("{:?}", Event::Started { at: 1 }), "Started { at: 1 }");
    assert!(!TypeInfo::of::<Event>().is_tracked());
    assert_eq!(serde_json::to_string(&Event::Stopped.clone()).unwrap(), r#"{"kind":"Stopped"}"#);
}

/// `#[trace(describe)]` on a generic type: described whenever its parameters are `Debug`.
#[derive(Trace, Debug)]
#[trace(describe)]
struct Labelled<T> {
    value: T,
}

#[test]
fn generic_type_described_by_debug_needs_no_hand_written_bound() {
    let labelled = Gc::new(Labelled { value: Some(Gc::new(3_u8)) });
    assert_eq!(Gc::to_any(&labelled).describe().as_deref(), Some("Labelled { value: Some(3) }"));
    assert_eq!(labels_of(&labelled), ["value"]);
}

/// A packed struct whose fields are all skipped borrows none of them.
#[derive(Trace)]
#[repr(C, packed)]
struct Header {
    #[trace(skip)]
    tag: u8,
    #[trace(skip)]
    length: u32,
}

#[test]
fn packed_struct_with_skipped_fields_is_a_leaf() {
    let header = Gc::new(Header { tag: 1, length: 2 });
    assert_eq!({ header.tag } as u32 + { header.length }, 3);
    assert!(!Gc::is_tracked(&header));
}

/// A type whose one handle-holding field is skipped (a boxed closure, which cannot be
/// traced): a leaf, since no traced field can hold a `Gc`, unless marked `tracked`.
#[derive(Trace)]
struct ClickButton {
    label: String,
    #[trace(skip)]
    on_click: Option<Box<dyn Fn() -> String>>,
}

/// The same, marked so that the collector and objgraph count its objects.
#[derive(Trace)]
#[trace(tracked)]
struct CountedButton {
    label: String,
    #[trace(skip)]
    on_click: Option<Box<dyn Fn() -> String>>,
}

#[test]
fn a_type_whose_only_handle_holder_is_skipped_is_a_leaf_unless_marked_tracked() {
    assert!(!TypeInfo::of::<ClickButton>().is_tracked(), "no traced field can hold a Gc");
    let button = Gc::new(ClickButton { label: "OK".into(), on_click: Some(Box::new(|| "clicked".into())) });
    assert!(!Gc::is_tracked(&button));
    assert_eq!(button.on_click.as_ref().map(|click| click()).as_deref(), Some("clicked"));
    assert!(TypeInfo::of::<CountedButton>().is_tracked());
    let counted = Gc::new(CountedButton { label: "OK".into(), on_click: None });
    assert!(Gc::is_tracked(&counted) && labels_of(&counted).is_empty());
    assert!(counted.on_click.is_none() && counted.label == button.label);
}

// ---------------------------------------------------------------------------------------
// Pinned boxes and errors

/// A pinned box is traced as a box: a cycle through one is collected. An error behind
/// `Box<dyn Error>` is plain data: a type holding only that and numbers is a leaf.
#[test]
fn pinned_boxes_are_traced_and_boxed_errors_are_plain_data() {
    #[derive(Trace)]
    struct Task {
        name: &'static str,
        state: std::pin::Pin<Box<RefCell<Option<Gc<Task>>>>>,
        _pinned: std::marker::PhantomPinned,
    }
    #[derive(Trace)]
    struct Outcome {
        code: u32,
        error: Option<Box<dyn std::error::Error>>,
        sent: Result<(), Box<dyn std::error::Error + Send + Sync>>,
    }
    assert!(tracked::<Task>());
    assert!(!tracked::<Outcome>(), "an error is plain data");

    let task = Gc::new(Task { name: "poll", state: Box::pin(RefCell::new(None)), _pinned: std::marker::PhantomPinned });
    *task.state.borrow_mut() = Some(task.clone());
    assert_eq!(labels_of(&task), ["state"]);
    assert_eq!(task.name, "poll");
    assert_cycle_is_collected(task, 1);

    let outcome = Gc::new(Outcome { code: 2, error: Some("refused".into()), sent: Err("closed".into()) });
    assert_eq!(outcome.error.as_ref().map(|error| error.to_string()).as_deref(), Some("refused"));
    assert!(outcome.sent.is_err() && outcome.code == 2);
}
