//! `heap_ops`: libFuzzer decodes its bytes into up to 200 heap operations, runs them on the
//! heap and, after each one, checks the heap against a shadow model (object indices and
//! their edges), as the proptest model test `crates/gen-gc/tests/model.rs` does, over every
//! shape of object:
//!
//! - sized tracked objects (`Node`), a type with a finalizer that resurrects itself
//!   (`Phoenix`), objects made by `Gc::new_cyclic` that keep a weak reference to themselves
//!   (`Cyclic`), trait objects (`Gc<dyn Shape>` over two concrete types, made with
//!   `coerce_gc!`), traced callables (`Gc<dyn Callable>` over a `Closure`), slices
//!   (`Gc<[Handle]>`, made by every constructor), strings (`Gc<str>`) and untracked leaves
//!   (`Leaf`);
//! - links, unlinks, links made while the edge list is mutably borrowed (the collector cannot
//!   trace it then), dropped and cloned roots, weak references with callbacks, upgrades,
//!   `try_unwrap`, `get_mut` (edits through the guard, allocations and collections while it
//!   lives), `Gc<dyn Any>` and `GcAny` downcasts, young, middle and full collections, the
//!   collection policy switched (an incremental pass cut short), `freeze`/`unfreeze`, and
//!   the whole reference graph read (`object_graph`) between operations.
//!
//! `docs/reliability.md` says how to run it and what it found.
//!
//! The oracle:
//!
//! - nothing reachable is freed: every handle reachable from a root (or from the graveyard,
//!   where resurrected objects live) dereferences to the object the model expects (its id,
//!   address, text and edges), whose value was never dropped;
//! - a full collection frees everything unreachable that no frozen object reaches: the value
//!   was dropped and every weak reference to it reads dead;
//! - a weak reference reads dead exactly when its callback has run, and the callback runs at
//!   most once; it reads dead only when its object is gone, or when a collection that
//!   resurrected objects found its object unreachable (weak references to cyclic garbage are
//!   cleared before finalizers run, PEP 442);
//! - a finalizer runs at most once, and only on an object the model says is unreachable; a
//!   value is dropped at most once;
//! - `get_mut` lends the value exactly when the strong count is 1 and no weak handle is left;
//!   `try_unwrap` succeeds exactly on the only strong handle;
//! - a weak reference made inside a `new_cyclic` whose closure panicked stays dead;
//! - once the input is done and its roots dropped, no tracked object is left.

#![no_main]

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind, panic_any};
use std::rc::Rc;
use std::sync::Once;

use arbitrary::Arbitrary;
use cyclegc::gen_gc::CollectionPolicy;
use cyclegc::rc_heap::{Callable, Closure, coerce_gc};
use cyclegc::{Finalize, Gc, Trace, Weak, gen_gc};
use libfuzzer_sys::fuzz_target;

/// Operations run per input at most: keeps each run short and its failures readable.
const MAX_OPS: usize = 200;
/// Elements of a slice or captures of a callable at most.
const MAX_ELEMENTS: usize = 4;
/// Copies of a star's id: 512 bytes, the heap pools' largest block.
const STAR_RAYS: usize = 64;

fuzz_target!(|input: Input| {
    silence_deliberate_panics();
    World::run(&input);
});

// ---------------------------------------------------------------------------------------
// The input.

/// What the bytes decode to. The seed corpus is written in this encoding: changing `Op` or
/// the types in it makes the seeds decode to other operations (regenerate them then, see
/// `docs/reliability.md`).
#[derive(Arbitrary, Debug)]
struct Input {
    threshold0: u8,
    threshold1: u8,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    NewNode,
    NewPhoenix {
        resurrects: bool,
    },
    NewCyclic {
        allocate_inside: bool,
        panics: bool,
    },
    NewShape {
        star: bool,
    },
    NewCallable {
        first: u8,
        len: u8,
    },
    NewSlice {
        first: u8,
        len: u8,
        maker: SliceMaker,
        watched: bool,
    },
    NewText {
        maker: TextMaker,
        watched: bool,
    },
    NewLeaf,
    Link {
        from: u8,
        to: u8,
    },
    Unlink {
        from: u8,
    },
    /// Links a new node while the edge list is mutably borrowed: the allocation may start a
    /// collection that cannot trace the object; `collect` starts a full one there too.
    LinkFreshWhileBorrowed {
        from: u8,
        collect: bool,
    },
    DropRoot {
        root: u8,
    },
    CloneRoot {
        root: u8,
    },
    Downgrade {
        root: u8,
    },
    Upgrade {
        weak: u8,
    },
    DropWeak {
        weak: u8,
    },
    TryUnwrap {
        root: u8,
    },
    GetMut {
        root: u8,
        first: Edit,
        second: Edit,
    },
    AnyRoundTrip {
        root: u8,
    },
    ReleaseGraveyard,
    AdoptGraveyard,
    CollectYoung,
    CollectMiddle,
    Collect,
    /// Switches automatic collection between the incremental and generational policies,
    /// possibly in the middle of an incremental pass.
    SwitchPolicy,
    /// `gen_gc::freeze()`: every tracked object so far leaves collection until `Unfreeze`.
    Freeze,
    Unfreeze,
    /// Reads the whole reference graph (`object_graph`), which numbers the objects in their
    /// links and restores them.
    ReadGraph,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum SliceMaker {
    FromVec,
    FromSlice,
    Collect,
    FromFn,
    FromArray,
    CoerceArray,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum TextMaker {
    Str,
    String,
    BoxedStr,
}

/// A change made through the `GcMut` guard of `get_mut`.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Edit {
    /// Edges: push root `to`. Slices: overwrite the last element with it.
    Push(u8),
    /// Edges: push a new node (an allocation while the guard lives). Slices: overwrite the
    /// first element with one.
    PushFresh,
    /// Edges: pop the last one (a death while the guard lives).
    Pop,
    /// Edges and slices: reverse. Strings: switch the ASCII case.
    Reverse,
    /// A full collection while the guard lives.
    Collect,
}

// ---------------------------------------------------------------------------------------
// The heap's objects.

/// A handle to any object the fuzzer makes: the edges of the graph.
#[derive(Trace, Clone)]
enum Handle {
    Node(Gc<Node>),
    Phoenix(Gc<Phoenix>),
    Cyclic(Gc<Cyclic>),
    Shape(Gc<dyn Shape>),
    Callable(Gc<dyn Callable<(), Snapshot>>),
    Slice(Gc<[Handle]>),
    Text(Gc<str>),
    Leaf(Gc<Leaf>),
}

/// What a callable returns: its id and its captured handles.
type Snapshot = (usize, Vec<Handle>);

/// The captures of a callable.
type Captures = (Tag, Vec<Handle>);

/// Runs `$body` with `$gc` bound to the `Gc` inside a `Handle`, whatever its type.
macro_rules! with_gc {
    ($handle:expr, $gc:ident => $body:expr) => {
        match $handle {
            Handle::Node($gc) => $body,
            Handle::Phoenix($gc) => $body,
            Handle::Cyclic($gc) => $body,
            Handle::Shape($gc) => $body,
            Handle::Callable($gc) => $body,
            Handle::Slice($gc) => $body,
            Handle::Text($gc) => $body,
            Handle::Leaf($gc) => $body,
        }
    };
}

#[derive(Trace)]
struct Node {
    id: usize,
    edges: RefCell<Vec<Handle>>,
}

/// Resurrects itself once from its finalizer (when `resurrects`), into the graveyard.
#[derive(Trace)]
#[trace(finalize)]
struct Phoenix {
    id: usize,
    resurrects: bool,
    me: Weak<Phoenix>,
    edges: RefCell<Vec<Handle>>,
}

/// Made by `Gc::new_cyclic`: keeps a weak reference to itself.
#[derive(Trace)]
struct Cyclic {
    id: usize,
    me: Weak<Cyclic>,
    edges: RefCell<Vec<Handle>>,
}

trait Shape {
    fn id(&self) -> usize;
    fn is_star(&self) -> bool;
    fn corners(&self) -> &RefCell<Vec<Handle>>;
    fn corners_mut(&mut self) -> &mut Vec<Handle>;
}

#[derive(Trace)]
struct Polygon {
    id: usize,
    corners: RefCell<Vec<Handle>>,
}

/// A second implementation of `Shape`. Larger than the heap pools' largest block, its objects
/// come from the system allocator, where the address sanitizer sees every byte of them (it
/// cannot see inside the pools). Its id is written many times over, and read back only if
/// every copy agrees.
#[derive(Trace)]
struct Star {
    rays: [usize; STAR_RAYS],
    id: usize,
    corners: RefCell<Vec<Handle>>,
}

impl Shape for Polygon {
    fn id(&self) -> usize {
        self.id
    }

    fn is_star(&self) -> bool {
        false
    }

    fn corners(&self) -> &RefCell<Vec<Handle>> {
        &self.corners
    }

    fn corners_mut(&mut self) -> &mut Vec<Handle> {
        self.corners.get_mut()
    }
}

impl Shape for Star {
    fn id(&self) -> usize {
        if self.rays.iter().all(|ray| *ray == self.id) { self.id } else { usize::MAX }
    }

    fn is_star(&self) -> bool {
        true
    }

    fn corners(&self) -> &RefCell<Vec<Handle>> {
        &self.corners
    }

    fn corners_mut(&mut self) -> &mut Vec<Handle> {
        self.corners.get_mut()
    }
}

/// A value that can hold no handle: an untracked (leaf) object, freed by its count alone.
#[derive(Trace)]
struct Leaf {
    id: usize,
}

/// A callable's id, among its captures: its drop records the callable's death.
#[derive(Trace)]
struct Tag(usize);

impl Drop for Node {
    fn drop(&mut self) {
        journal::dropped(self.id);
    }
}

impl Drop for Phoenix {
    fn drop(&mut self) {
        journal::dropped(self.id);
    }
}

impl Drop for Cyclic {
    fn drop(&mut self) {
        journal::dropped(self.id);
    }
}

impl Drop for Polygon {
    fn drop(&mut self) {
        journal::dropped(self.id);
    }
}

impl Drop for Star {
    fn drop(&mut self) {
        journal::dropped(self.id);
    }
}

impl Drop for Leaf {
    fn drop(&mut self) {
        journal::dropped(self.id);
    }
}

impl Drop for Tag {
    fn drop(&mut self) {
        journal::dropped(self.0);
    }
}

impl Finalize for Phoenix {
    fn finalize(&self) {
        journal::finalized(self.id);
        if !self.resurrects {
            return;
        }
        // Dying by its count, the object can still be reached through its weak reference;
        // as cyclic garbage its weak references are already cleared, and the way back to
        // itself is the cycle it is on.
        let me = self.me.upgrade().or_else(|| self.find_self_on_a_cycle());
        if let Some(me) = me {
            if !std::ptr::eq(Gc::as_ptr(&me), self) {
                journal::fault(format!("phoenix {}: its way back leads to another object", self.id));
            }
            journal::bury(self.id, me);
        }
    }
}

impl Phoenix {
    fn find_self_on_a_cycle(&self) -> Option<Gc<Phoenix>> {
        let Ok(edges) = self.edges.try_borrow() else {
            journal::fault(format!("phoenix {}: edges borrowed while finalized", self.id));
            return None;
        };
        let mut stack = edges.clone();
        drop(edges);
        let mut seen = HashSet::new();
        while let Some(handle) = stack.pop() {
            // A cell the program has borrowed (it holds a root) is not on a garbage cycle.
            let borrowed = edge_cell(&handle).is_some_and(|edges| edges.try_borrow_mut().is_err());
            if !seen.insert(handle.addr()) || borrowed {
                continue;
            }
            if let Handle::Phoenix(phoenix) = &handle
                && std::ptr::eq(Gc::as_ptr(phoenix), self)
            {
                return Some(phoenix.clone());
            }
            match handle.look() {
                Ok(looked) => stack.extend(looked.edges),
                Err(error) => {
                    journal::fault(format!("phoenix {}: finalizer reached a broken object: {error}", self.id))
                }
            }
        }
        None
    }
}

/// What a handle shows when looked at: what the walk compares with the model.
struct Looked {
    kind: Kind,
    id: Option<usize>,
    text: Option<String>,
    /// Whether the object's own weak reference (`Phoenix`, `Cyclic`) upgrades.
    self_weak_alive: Option<bool>,
    edges: Vec<Handle>,
}

impl Handle {
    fn addr(&self) -> usize {
        with_gc!(self, gc => Gc::addr(gc))
    }

    fn strong_count(&self) -> usize {
        with_gc!(self, gc => Gc::strong_count(gc))
    }

    fn weak_count(&self) -> usize {
        with_gc!(self, gc => Gc::weak_count(gc))
    }

    /// Looks at the value without panicking: a dropped value or a borrowed cell is an error.
    fn look(&self) -> Result<Looked, String> {
        fn edges(cell: &RefCell<Vec<Handle>>) -> Result<Vec<Handle>, String> {
            cell.try_borrow().map(|edges| edges.clone()).map_err(|_| "edges mutably borrowed".to_owned())
        }
        fn value<T: ?Sized>(gc: &Gc<T>) -> Result<&T, String> {
            Gc::try_get(gc).map_err(|error| error.to_string())
        }
        fn self_weak<T: Trace>(me: &Weak<T>, gc: &Gc<T>) -> Result<Option<bool>, String> {
            match me.upgrade() {
                Some(me) if !Gc::ptr_eq(&me, gc) => Err("its own weak reference upgrades to another object".to_owned()),
                upgraded => Ok(Some(upgraded.is_some())),
            }
        }
        let nothing = Looked { kind: Kind::Node, id: None, text: None, self_weak_alive: None, edges: Vec::new() };
        Ok(match self {
            Handle::Node(gc) => {
                let node = value(gc)?;
                Looked { kind: Kind::Node, id: Some(node.id), edges: edges(&node.edges)?, ..nothing }
            }
            Handle::Phoenix(gc) => {
                let phoenix = value(gc)?;
                Looked {
                    kind: Kind::Phoenix,
                    id: Some(phoenix.id),
                    self_weak_alive: self_weak(&phoenix.me, gc)?,
                    edges: edges(&phoenix.edges)?,
                    ..nothing
                }
            }
            Handle::Cyclic(gc) => {
                let cyclic = value(gc)?;
                Looked {
                    kind: Kind::Cyclic,
                    id: Some(cyclic.id),
                    self_weak_alive: self_weak(&cyclic.me, gc)?,
                    edges: edges(&cyclic.edges)?,
                    ..nothing
                }
            }
            Handle::Shape(gc) => {
                let shape = value(gc)?;
                let kind = if shape.is_star() { Kind::Star } else { Kind::Polygon };
                Looked { kind, id: Some(shape.id()), edges: edges(shape.corners())?, ..nothing }
            }
            Handle::Callable(gc) => {
                let (id, edges) = value(gc)?.call(());
                Looked { kind: Kind::Callable, id: Some(id), edges, ..nothing }
            }
            Handle::Slice(gc) => Looked { kind: Kind::Slice, edges: value(gc)?.to_vec(), ..nothing },
            Handle::Text(gc) => Looked { kind: Kind::Text, text: Some(value(gc)?.to_owned()), ..nothing },
            Handle::Leaf(gc) => Looked { kind: Kind::Leaf, id: Some(value(gc)?.id), ..nothing },
        })
    }
}

/// A weak reference of any of the handle types.
enum AnyWeak {
    Node(Weak<Node>),
    Phoenix(Weak<Phoenix>),
    Cyclic(Weak<Cyclic>),
    Shape(Weak<dyn Shape>),
    Callable(Weak<dyn Callable<(), Snapshot>>),
    Slice(Weak<[Handle]>),
    Text(Weak<str>),
    Leaf(Weak<Leaf>),
}

impl AnyWeak {
    /// A weak reference to `handle`'s object whose callback counts its runs in `runs`.
    fn watch(handle: &Handle, runs: &Rc<Cell<usize>>) -> AnyWeak {
        fn watch<T: ?Sized + 'static>(gc: &Gc<T>, runs: &Rc<Cell<usize>>) -> Weak<T> {
            let runs = Rc::clone(runs);
            Gc::downgrade_with_callback(gc, move |weak| {
                runs.set(runs.get() + 1);
                if runs.get() > 1 {
                    journal::fault("a weak callback ran twice".to_owned());
                }
                if !weak.is_dead() {
                    journal::fault("a weak callback ran while its weak reference upgrades".to_owned());
                }
            })
        }
        match handle {
            Handle::Node(gc) => AnyWeak::Node(watch(gc, runs)),
            Handle::Phoenix(gc) => AnyWeak::Phoenix(watch(gc, runs)),
            Handle::Cyclic(gc) => AnyWeak::Cyclic(watch(gc, runs)),
            Handle::Shape(gc) => AnyWeak::Shape(watch(gc, runs)),
            Handle::Callable(gc) => AnyWeak::Callable(watch(gc, runs)),
            Handle::Slice(gc) => AnyWeak::Slice(watch(gc, runs)),
            Handle::Text(gc) => AnyWeak::Text(watch(gc, runs)),
            Handle::Leaf(gc) => AnyWeak::Leaf(watch(gc, runs)),
        }
    }

    fn is_dead(&self) -> bool {
        match self {
            AnyWeak::Node(weak) => weak.is_dead(),
            AnyWeak::Phoenix(weak) => weak.is_dead(),
            AnyWeak::Cyclic(weak) => weak.is_dead(),
            AnyWeak::Shape(weak) => weak.is_dead(),
            AnyWeak::Callable(weak) => weak.is_dead(),
            AnyWeak::Slice(weak) => weak.is_dead(),
            AnyWeak::Text(weak) => weak.is_dead(),
            AnyWeak::Leaf(weak) => weak.is_dead(),
        }
    }

    fn upgrade(&self) -> Option<Handle> {
        match self {
            AnyWeak::Node(weak) => weak.upgrade().map(Handle::Node),
            AnyWeak::Phoenix(weak) => weak.upgrade().map(Handle::Phoenix),
            AnyWeak::Cyclic(weak) => weak.upgrade().map(Handle::Cyclic),
            AnyWeak::Shape(weak) => weak.upgrade().map(Handle::Shape),
            AnyWeak::Callable(weak) => weak.upgrade().map(Handle::Callable),
            AnyWeak::Slice(weak) => weak.upgrade().map(Handle::Slice),
            AnyWeak::Text(weak) => weak.upgrade().map(Handle::Text),
            AnyWeak::Leaf(weak) => weak.upgrade().map(Handle::Leaf),
        }
    }
}

/// The payload of the panics the fuzzer makes on purpose (inside `new_cyclic`).
struct DeliberatePanic;

/// libFuzzer's panic hook aborts the process on any panic, even a caught one: let the
/// deliberate ones through quietly.
fn silence_deliberate_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<DeliberatePanic>() {
                fuzzer_hook(info);
            }
        }));
    });
}

/// What user code run by the heap (drops, finalizers, callbacks) observed. A panic there
/// could be caught and reported by the heap, so faults are written down and checked after
/// each operation instead.
mod journal {
    use std::cell::RefCell;
    use std::collections::HashSet;

    use cyclegc::Gc;

    use super::Phoenix;

    thread_local! {
        static DROPPED: RefCell<HashSet<usize>> = RefCell::default();
        static FINALIZED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
        static GRAVEYARD: RefCell<Vec<(usize, Gc<Phoenix>)>> = const { RefCell::new(Vec::new()) };
        static FAULTS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    pub(crate) fn dropped(id: usize) {
        if !DROPPED.with(|dropped| dropped.borrow_mut().insert(id)) {
            fault(format!("object {id} dropped twice"));
        }
    }

    pub(crate) fn is_dropped(id: usize) -> bool {
        DROPPED.with(|dropped| dropped.borrow().contains(&id))
    }

    pub(crate) fn finalized(id: usize) {
        FINALIZED.with(|finalized| {
            let mut finalized = finalized.borrow_mut();
            if finalized.contains(&id) {
                fault(format!("phoenix {id} finalized twice"));
            }
            finalized.push(id);
        });
    }

    /// The objects finalized so far, in order.
    pub(crate) fn finalized_so_far() -> Vec<usize> {
        FINALIZED.with(|finalized| finalized.borrow().clone())
    }

    pub(crate) fn bury(id: usize, phoenix: Gc<Phoenix>) {
        GRAVEYARD.with(|graveyard| graveyard.borrow_mut().push((id, phoenix)));
    }

    /// The graveyard's handles, cloned.
    pub(crate) fn graveyard() -> Vec<(usize, Gc<Phoenix>)> {
        GRAVEYARD.with(|graveyard| graveyard.borrow().clone())
    }

    /// Empties the graveyard; the caller drops what it gets, outside the borrow (a drop can
    /// run a finalizer that buries).
    pub(crate) fn take_graveyard() -> Vec<(usize, Gc<Phoenix>)> {
        GRAVEYARD.with(|graveyard| std::mem::take(&mut *graveyard.borrow_mut()))
    }

    pub(crate) fn fault(message: String) {
        FAULTS.with(|faults| faults.borrow_mut().push(message));
    }

    pub(crate) fn faults() -> Vec<String> {
        FAULTS.with(|faults| faults.borrow().clone())
    }

    /// Forgets the previous input (whose objects are all gone).
    pub(crate) fn reset() {
        DROPPED.with(|dropped| dropped.borrow_mut().clear());
        FINALIZED.with(|finalized| finalized.borrow_mut().clear());
        FAULTS.with(|faults| faults.borrow_mut().clear());
        assert!(GRAVEYARD.with(|graveyard| graveyard.borrow().is_empty()), "a graveyard left by an earlier input");
    }
}

// ---------------------------------------------------------------------------------------
// The model.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Node,
    Phoenix,
    Cyclic,
    Polygon,
    Star,
    Callable,
    Slice,
    Text,
    Leaf,
}

impl Kind {
    /// Whether the value's drop is written in the journal.
    fn journals_its_drop(self) -> bool {
        !matches!(self, Kind::Slice | Kind::Text)
    }
}

/// One object the fuzzer made, as the model sees it.
#[derive(Debug)]
struct Object {
    kind: Kind,
    addr: usize,
    edges: Vec<usize>,
    /// A string's text.
    text: String,
    /// A slice made by unsizing a `Gc<[Handle; 2]>`: its header names the array type.
    from_array: bool,
    /// Moved out by `Gc::try_unwrap`.
    unwrapped: bool,
    made_at: usize,
    /// The last operation that may have cleared the object's weak references without
    /// freeing it: a collection found it unreachable, and a finalizer resurrected it.
    cleared_at: Option<usize>,
}

struct WeakRecord {
    object: usize,
    /// `None` once dropped by `DropWeak`.
    weak: Option<AnyWeak>,
    made_at: usize,
    /// Runs of the callback; `None` for a weak reference without one.
    runs: Option<Rc<Cell<usize>>>,
    /// Runs of the callback when the weak reference was dropped (none may follow).
    runs_when_dropped: usize,
}

struct World {
    objects: Vec<Object>,
    roots: Vec<(usize, Handle)>,
    weaks: Vec<WeakRecord>,
    /// Weak references made inside a `new_cyclic` whose closure panicked.
    stillborn: Vec<Weak<Cyclic>>,
    /// The operation being run.
    now: usize,
    /// The objects made before the last `Freeze`, if no `Unfreeze` came since: a full
    /// collection does not examine them, so what they reach survives it.
    frozen: Option<usize>,
}

fn pick(index: u8, len: usize) -> Option<usize> {
    (len > 0).then(|| usize::from(index) % len)
}

impl World {
    fn run(input: &Input) {
        journal::reset();
        gen_gc::set_threshold(1 + usize::from(input.threshold0 % 24), 1 + usize::from(input.threshold1 % 4), 2);
        let mut world = World {
            objects: Vec::new(),
            roots: Vec::new(),
            weaks: Vec::new(),
            stillborn: Vec::new(),
            now: 0,
            frozen: None,
        };
        for (now, op) in input.ops.iter().take(MAX_OPS).enumerate() {
            world.now = now;
            let finalized_before = journal::finalized_so_far().len();
            let old_graveyard = match op {
                Op::ReleaseGraveyard | Op::AdoptGraveyard => 0,
                _ => journal::graveyard().len(),
            };
            world.apply(op);
            world.check(op, finalized_before, old_graveyard);
        }
        world.tear_down();
    }

    /// Registers a new object; returns its index.
    fn add(&mut self, kind: Kind, handle: &Handle, edges: Vec<usize>) -> usize {
        let text = match handle {
            Handle::Text(text) => text.to_string(),
            _ => String::new(),
        };
        self.objects.push(Object {
            kind,
            addr: handle.addr(),
            edges,
            text,
            from_array: false,
            unwrapped: false,
            made_at: self.now,
            cleared_at: None,
        });
        self.objects.len() - 1
    }

    fn add_root(&mut self, kind: Kind, handle: Handle, edges: Vec<usize>) -> usize {
        let index = self.add(kind, &handle, edges);
        self.roots.push((index, handle));
        index
    }

    /// Up to `MAX_ELEMENTS` roots from `first` on (cycling), with their object indices.
    fn some_roots(&self, first: u8, len: u8) -> (Vec<usize>, Vec<Handle>) {
        let count = usize::from(len) % (MAX_ELEMENTS + 1);
        match pick(first, self.roots.len()) {
            None => (Vec::new(), Vec::new()),
            Some(first) => (0..count).map(|i| self.roots[(first + i) % self.roots.len()].clone()).unzip(),
        }
    }

    fn new_node(&mut self) -> (usize, Handle) {
        let id = self.objects.len();
        let handle = Handle::Node(Gc::new(Node { id, edges: RefCell::default() }));
        (self.add(Kind::Node, &handle, Vec::new()), handle)
    }

    fn watch(&mut self, object: usize, handle: &Handle) {
        let runs = Rc::new(Cell::new(0));
        let weak = AnyWeak::watch(handle, &runs);
        self.weaks.push(WeakRecord {
            object,
            weak: Some(weak),
            made_at: self.now,
            runs: Some(runs),
            runs_when_dropped: 0,
        });
    }

    fn apply(&mut self, op: &Op) {
        let n = self.roots.len();
        match *op {
            Op::NewNode => {
                let (index, handle) = self.new_node();
                self.roots.push((index, handle));
            }
            Op::NewPhoenix { resurrects } => {
                let id = self.objects.len();
                let phoenix =
                    Gc::new_cyclic(|me| Phoenix { id, resurrects, me: me.clone(), edges: RefCell::default() });
                self.add_root(Kind::Phoenix, Handle::Phoenix(phoenix), Vec::new());
            }
            Op::NewCyclic { allocate_inside, panics } => self.new_cyclic(allocate_inside, panics),
            Op::NewShape { star } => {
                let id = self.objects.len();
                let (kind, shape): (Kind, Gc<dyn Shape>) = if star {
                    (Kind::Star, coerce_gc!(Gc::new(Star { rays: [id; STAR_RAYS], id, corners: RefCell::default() })))
                } else {
                    (Kind::Polygon, coerce_gc!(Gc::new(Polygon { id, corners: RefCell::default() }) => dyn Shape))
                };
                self.add_root(kind, Handle::Shape(shape), Vec::new());
            }
            Op::NewCallable { first, len } => {
                let id = self.objects.len();
                let (edges, handles) = self.some_roots(first, len);
                let closure =
                    Closure::new((Tag(id), handles), |captures: &Captures, (): ()| (captures.0.0, captures.1.clone()));
                let callable: Gc<dyn Callable<(), Snapshot>> = coerce_gc!(Gc::new(closure));
                self.add_root(Kind::Callable, Handle::Callable(callable), edges);
            }
            Op::NewSlice { first, len, maker, watched } => self.new_slice(first, len, maker, watched),
            Op::NewText { maker, watched } => {
                let text = format!("text-{}", self.objects.len());
                let text: Gc<str> = match maker {
                    TextMaker::Str => Gc::from(text.as_str()),
                    TextMaker::String => Gc::from(text),
                    TextMaker::BoxedStr => Gc::from(text.into_boxed_str()),
                };
                let handle = Handle::Text(text);
                let index = self.add_root(Kind::Text, handle.clone(), Vec::new());
                if watched {
                    self.watch(index, &handle);
                }
            }
            Op::NewLeaf => {
                let id = self.objects.len();
                self.add_root(Kind::Leaf, Handle::Leaf(Gc::new(Leaf { id })), Vec::new());
            }
            Op::Link { from, to } if n > 0 => {
                let (from, to) = (usize::from(from) % n, usize::from(to) % n);
                let (source, target) = (self.roots[from].0, self.roots[to].clone());
                if let Some(edges) = edge_cell(&self.roots[from].1) {
                    edges.borrow_mut().push(target.1);
                    self.objects[source].edges.push(target.0);
                }
            }
            Op::Unlink { from } if n > 0 => {
                let (source, handle) = self.roots[usize::from(from) % n].clone();
                if let Some(edges) = edge_cell(&handle) {
                    let popped = edges.borrow_mut().pop();
                    if popped.is_some() {
                        self.objects[source].edges.pop();
                    }
                    drop(popped);
                }
            }
            Op::LinkFreshWhileBorrowed { from, collect } if n > 0 => {
                let (source, handle) = self.roots[usize::from(from) % n].clone();
                if let Some(edges) = edge_cell(&handle) {
                    let mut edges = edges.borrow_mut();
                    let (target, node) = self.new_node();
                    edges.push(node);
                    self.objects[source].edges.push(target);
                    if collect {
                        gen_gc::collect();
                    }
                }
            }
            Op::DropRoot { root } if n > 0 => {
                let dropped = self.roots.swap_remove(usize::from(root) % n);
                drop(dropped);
            }
            Op::CloneRoot { root } if n > 0 => {
                let root = self.roots[usize::from(root) % n].clone();
                self.roots.push(root);
            }
            Op::Downgrade { root } if n > 0 => {
                let (index, handle) = self.roots[usize::from(root) % n].clone();
                self.watch(index, &handle);
            }
            Op::Upgrade { weak } if !self.weaks.is_empty() => {
                let record = &self.weaks[usize::from(weak) % self.weaks.len()];
                if let Some(weak) = &record.weak {
                    let dead = weak.is_dead();
                    let upgraded = weak.upgrade();
                    assert_eq!(upgraded.is_none(), dead, "object {}: upgrade disagrees with is_dead", record.object);
                    if let Some(handle) = upgraded {
                        assert_eq!(
                            handle.addr(),
                            self.objects[record.object].addr,
                            "object {}: upgraded to another address",
                            record.object
                        );
                        self.roots.push((record.object, handle));
                    }
                }
            }
            Op::DropWeak { weak } if !self.weaks.is_empty() => {
                let count = self.weaks.len();
                let record = &mut self.weaks[usize::from(weak) % count];
                record.runs_when_dropped = record.runs.as_ref().map_or(0, |runs| runs.get());
                drop(record.weak.take());
            }
            Op::TryUnwrap { root } if n > 0 => self.try_unwrap(usize::from(root) % n),
            Op::GetMut { root, first, second } if n > 0 => self.get_mut(usize::from(root) % n, [first, second]),
            Op::AnyRoundTrip { root } if n > 0 => self.any_round_trip(usize::from(root) % n),
            Op::ReleaseGraveyard => drop(journal::take_graveyard()),
            Op::AdoptGraveyard => {
                let adopted = journal::take_graveyard();
                self.roots.extend(adopted.into_iter().map(|(id, phoenix)| (id, Handle::Phoenix(phoenix))));
            }
            Op::CollectYoung => {
                gen_gc::collect_generation(0).unwrap();
            }
            Op::CollectMiddle => {
                gen_gc::collect_generation(1).unwrap();
            }
            Op::Collect => {
                gen_gc::collect();
            }
            Op::SwitchPolicy => gen_gc::set_collection_policy(match gen_gc::get_collection_policy() {
                CollectionPolicy::Incremental => CollectionPolicy::Generational,
                CollectionPolicy::Generational => CollectionPolicy::Incremental,
            }),
            Op::Freeze => {
                gen_gc::freeze();
                self.frozen = Some(self.objects.len());
            }
            Op::Unfreeze => {
                gen_gc::unfreeze();
                self.frozen = None;
                assert_eq!(gen_gc::get_freeze_count(), 0, "objects stay frozen after unfreeze");
            }
            Op::ReadGraph => {
                let graph = gen_gc::object_graph();
                let tracked = gen_gc::get_objects(None).len();
                assert_eq!(graph.objects.len(), tracked, "object_graph and get_objects disagree");
                assert_eq!(graph.reference_start.len(), tracked + 1);
                assert!(graph.references.iter().all(|&to| (to as usize) < tracked), "a reference out of the graph");
            }
            _ => {}
        }
    }

    fn new_cyclic(&mut self, allocate_inside: bool, panics: bool) {
        let escaped: RefCell<Option<Weak<Cyclic>>> = RefCell::default();
        let inner_and_id = Cell::new((None, 0));
        let made = catch_unwind(AssertUnwindSafe(|| {
            Gc::new_cyclic(|me| {
                assert!(me.upgrade().is_none(), "new_cyclic: the weak reference upgrades inside the closure");
                *escaped.borrow_mut() = Some(me.clone());
                // An allocation while the object is under construction: it may start a
                // collection.
                let inner = allocate_inside.then(|| self.new_node());
                let id = self.objects.len();
                inner_and_id.set((inner.as_ref().map(|(index, _)| *index), id));
                if panics {
                    panic_any(DeliberatePanic);
                }
                let edges = inner.into_iter().map(|(_, handle)| handle).collect();
                Cyclic { id, me: me.clone(), edges: RefCell::new(edges) }
            })
        }));
        let escaped = escaped.into_inner().expect("new_cyclic: the closure ran");
        let (inner, id) = inner_and_id.get();
        match made {
            Ok(cyclic) => {
                assert!(!panics, "new_cyclic returned though its closure panicked");
                let me = cyclic.me.upgrade().expect("new_cyclic: the weak reference is dead once the object is made");
                assert!(Gc::ptr_eq(&me, &cyclic), "new_cyclic: the weak reference names another object");
                drop(me);
                let index = self.add_root(Kind::Cyclic, Handle::Cyclic(cyclic), inner.into_iter().collect());
                assert_eq!(index, id, "the model numbers objects as they are made");
                self.weaks.push(WeakRecord {
                    object: index,
                    weak: Some(AnyWeak::Cyclic(escaped)),
                    made_at: self.now,
                    runs: None,
                    runs_when_dropped: 0,
                });
            }
            Err(panic) => {
                assert!(panic.is::<DeliberatePanic>(), "new_cyclic: a panic that was not the closure's");
                assert!(escaped.is_dead(), "new_cyclic: a weak reference reads alive after the closure panicked");
                assert!(
                    escaped.upgrade().is_none(),
                    "new_cyclic: a weak reference upgrades after the closure panicked"
                );
                self.stillborn.push(escaped);
            }
        }
    }

    fn new_slice(&mut self, first: u8, len: u8, maker: SliceMaker, watched: bool) {
        let (mut edges, handles) = self.some_roots(first, len);
        let mut from_array = false;
        let slice: Gc<[Handle]> = match maker {
            SliceMaker::FromVec => Gc::from(handles),
            SliceMaker::FromSlice => Gc::from(&handles[..]),
            SliceMaker::Collect => handles.into_iter().collect(),
            SliceMaker::FromFn => Gc::<[Handle]>::from_fn(handles.len(), |i| handles[i].clone()),
            SliceMaker::FromArray | SliceMaker::CoerceArray => {
                let (pair_edges, pair) = self.some_roots(first, 2);
                let [a, b]: [Handle; 2] = match pair.try_into() {
                    Ok(pair) => pair,
                    Err(_) => return,
                };
                edges = pair_edges;
                if matches!(maker, SliceMaker::FromArray) {
                    Gc::from([a, b])
                } else {
                    from_array = true;
                    coerce_gc!(Gc::new([a, b]))
                }
            }
        };
        let handle = Handle::Slice(slice);
        let index = self.add_root(Kind::Slice, handle.clone(), edges);
        self.objects[index].from_array = from_array;
        if watched {
            self.watch(index, &handle);
        }
    }

    fn try_unwrap(&mut self, root: usize) {
        let (index, handle) = self.roots.swap_remove(root);
        let unique = handle.strong_count() == 1;
        fn unwrapped<T>(result: Result<T, Gc<T>>, wrap: fn(Gc<T>) -> Handle) -> Result<T, Handle> {
            result.map_err(wrap)
        }
        let edges = match handle {
            Handle::Node(gc) => unwrapped(Gc::try_unwrap(gc), Handle::Node).map(|node| node.edges.take()),
            Handle::Phoenix(gc) => unwrapped(Gc::try_unwrap(gc), Handle::Phoenix).map(|phoenix| {
                assert!(phoenix.me.upgrade().is_none(), "try_unwrap: the object's own weak reference still upgrades");
                phoenix.edges.take()
            }),
            Handle::Cyclic(gc) => unwrapped(Gc::try_unwrap(gc), Handle::Cyclic).map(|cyclic| {
                assert!(cyclic.me.upgrade().is_none(), "try_unwrap: the object's own weak reference still upgrades");
                cyclic.edges.take()
            }),
            Handle::Leaf(gc) => unwrapped(Gc::try_unwrap(gc), Handle::Leaf).map(|_leaf| Vec::new()),
            other => Err(other),
        };
        match edges {
            Ok(edges) => {
                assert!(unique, "object {index}: try_unwrap succeeded on a shared object");
                let object = &mut self.objects[index];
                object.unwrapped = true;
                let indices = std::mem::take(&mut object.edges);
                assert_eq!(indices.len(), edges.len(), "object {index}: the value moved out has other edges");
                // The value's edges become roots (the value itself is dropped by now).
                self.roots.extend(indices.into_iter().zip(edges));
            }
            Err(handle) => {
                let kind = self.objects[index].kind;
                if matches!(kind, Kind::Node | Kind::Phoenix | Kind::Cyclic | Kind::Leaf) {
                    assert!(!unique, "object {index}: try_unwrap failed on the only handle");
                }
                self.roots.push((index, handle));
            }
        }
    }

    fn get_mut(&mut self, root: usize, edits: [Edit; 2]) {
        let (index, mut handle) = self.roots.swap_remove(root);
        let has_live_weak =
            self.weaks.iter().any(|w| w.object == index && w.weak.as_ref().is_some_and(|w| !w.is_dead()));
        let unique = handle.strong_count() == 1 && handle.weak_count() == 0;
        assert!(!(unique && has_live_weak), "object {index}: weak_count is 0 though a weak reference to it upgrades");
        let lent = match &mut handle {
            Handle::Node(gc) => Gc::get_mut(gc).map(|mut node| self.edit_edges(index, node.edges.get_mut(), edits)),
            Handle::Phoenix(gc) => {
                Gc::get_mut(gc).map(|mut phoenix| self.edit_edges(index, phoenix.edges.get_mut(), edits))
            }
            Handle::Cyclic(gc) => {
                Gc::get_mut(gc).map(|mut cyclic| self.edit_edges(index, cyclic.edges.get_mut(), edits))
            }
            Handle::Shape(gc) => Gc::get_mut(gc).map(|mut shape| self.edit_edges(index, shape.corners_mut(), edits)),
            Handle::Callable(gc) => Gc::get_mut(gc).map(|_callable| self.edit_nothing(edits)),
            Handle::Leaf(gc) => Gc::get_mut(gc).map(|_leaf| self.edit_nothing(edits)),
            Handle::Slice(gc) => Gc::get_mut(gc).map(|mut slice| self.edit_slice(index, &mut slice, edits)),
            Handle::Text(gc) => Gc::get_mut(gc).map(|mut text| {
                for edit in edits {
                    match edit {
                        Edit::Reverse if text.starts_with('t') => text.make_ascii_uppercase(),
                        Edit::Reverse => text.make_ascii_lowercase(),
                        Edit::Collect => drop(gen_gc::collect()),
                        _ => {}
                    }
                }
                self.objects[index].text = text.to_string();
            }),
        };
        assert_eq!(lent.is_some(), unique, "object {index}: get_mut disagrees with the counts");
        self.roots.push((index, handle));
    }

    fn edit_edges(&mut self, owner: usize, edges: &mut Vec<Handle>, edits: [Edit; 2]) {
        for edit in edits {
            match edit {
                Edit::Push(to) => {
                    if let Some(to) = pick(to, self.roots.len()) {
                        let (target, handle) = self.roots[to].clone();
                        edges.push(handle);
                        self.objects[owner].edges.push(target);
                    }
                }
                Edit::PushFresh => {
                    let (target, handle) = self.new_node();
                    edges.push(handle);
                    self.objects[owner].edges.push(target);
                }
                Edit::Pop => {
                    if edges.pop().is_some() {
                        self.objects[owner].edges.pop();
                    }
                }
                Edit::Reverse => {
                    edges.reverse();
                    self.objects[owner].edges.reverse();
                }
                Edit::Collect => {
                    gen_gc::collect();
                }
            }
        }
    }

    fn edit_slice(&mut self, owner: usize, slice: &mut [Handle], edits: [Edit; 2]) {
        for edit in edits {
            let last = slice.len().checked_sub(1);
            match edit {
                Edit::Push(to) => {
                    if let (Some(last), Some(to)) = (last, pick(to, self.roots.len())) {
                        let (target, handle) = self.roots[to].clone();
                        slice[last] = handle;
                        self.objects[owner].edges[last] = target;
                    }
                }
                Edit::PushFresh => {
                    if !slice.is_empty() {
                        let (target, handle) = self.new_node();
                        slice[0] = handle;
                        self.objects[owner].edges[0] = target;
                    }
                }
                Edit::Pop => {}
                Edit::Reverse => {
                    slice.reverse();
                    self.objects[owner].edges.reverse();
                }
                Edit::Collect => {
                    gen_gc::collect();
                }
            }
        }
    }

    fn edit_nothing(&mut self, edits: [Edit; 2]) {
        for edit in edits {
            if let Edit::Collect = edit {
                gen_gc::collect();
            }
        }
    }

    /// Through `Gc<dyn Any>` and `GcAny` and back: the same object, the wrong type refused.
    fn any_round_trip(&mut self, root: usize) {
        let (index, handle) = self.roots[root].clone();
        let object = &self.objects[index];
        let tracked = with_gc!(&handle, gc => Gc::is_tracked(gc));
        assert_eq!(tracked, !matches!(object.kind, Kind::Leaf | Kind::Text), "object {index}: is_tracked");
        match &handle {
            Handle::Node(gc) => {
                let any: Gc<dyn Any> = coerce_gc!(gc.clone() => dyn Any);
                let Err(any) = any.downcast::<Phoenix>() else { panic!("a node downcast to a phoenix") };
                let Ok(node) = any.downcast::<Node>() else { panic!("a node refused as a node") };
                assert!(Gc::ptr_eq(&node, gc), "object {index}: Gc<dyn Any> came back as another node");
            }
            Handle::Phoenix(gc) => {
                let Err(any) = Gc::to_any(gc).try_downcast::<Node>() else { panic!("a phoenix downcast to a node") };
                let Ok(phoenix) = any.try_downcast::<Phoenix>() else { panic!("a phoenix refused as a phoenix") };
                assert!(Gc::ptr_eq(&phoenix, gc), "object {index}: GcAny came back as another phoenix");
            }
            Handle::Cyclic(gc) => {
                let any: Gc<dyn Any> = coerce_gc!(gc.clone());
                let Ok(cyclic) = any.downcast::<Cyclic>() else { panic!("a cyclic object refused as itself") };
                assert!(Gc::ptr_eq(&cyclic, gc), "object {index}: Gc<dyn Any> came back as another object");
            }
            Handle::Shape(gc) => {
                let any = Gc::to_any(gc);
                assert_eq!(any.is::<Star>(), object.kind == Kind::Star, "object {index}: GcAny::is of a shape");
                let concrete = match any.try_downcast::<Polygon>() {
                    Ok(polygon) => Gc::addr(&polygon),
                    Err(any) => {
                        let Ok(star) = any.try_downcast::<Star>() else { panic!("a shape neither polygon nor star") };
                        Gc::addr(&star)
                    }
                };
                assert_eq!(concrete, Gc::addr(gc), "object {index}: GcAny came back as another shape");
            }
            Handle::Callable(gc) => {
                assert!(
                    Gc::to_any(gc).is::<Closure<Captures, (), Snapshot>>(),
                    "object {index}: a callable lost its type"
                );
            }
            Handle::Slice(gc) => {
                let Err(any) = Gc::to_any(gc).try_downcast_str() else { panic!("a slice downcast to a str") };
                if !object.from_array {
                    let Ok(slice) = any.try_downcast_slice::<Handle>() else { panic!("a slice refused as a slice") };
                    assert!(Gc::ptr_eq(&slice, gc), "object {index}: GcAny came back as another slice");
                }
            }
            Handle::Leaf(gc) => {
                let any: Gc<dyn Any> = coerce_gc!(gc.clone());
                let Err(any) = any.downcast::<Node>() else { panic!("a leaf downcast to a node") };
                let Ok(leaf) = any.downcast::<Leaf>() else { panic!("a leaf refused as a leaf") };
                assert!(Gc::ptr_eq(&leaf, gc), "object {index}: Gc<dyn Any> came back as another leaf");
            }
            Handle::Text(gc) => {
                let Err(any) = Gc::to_any(gc).try_downcast_slice::<Handle>() else {
                    panic!("a str downcast to a slice")
                };
                let Ok(text) = any.try_downcast_str() else { panic!("a str refused as a str") };
                assert!(Gc::ptr_eq(&text, gc), "object {index}: GcAny came back as another str");
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // The oracle.

    /// The objects reachable from `starts` in the model.
    fn reachable_from(&self, starts: impl IntoIterator<Item = usize>) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut stack: Vec<usize> = starts.into_iter().collect();
        while let Some(index) = stack.pop() {
            if seen.insert(index) {
                stack.extend(&self.objects[index].edges);
            }
        }
        seen
    }

    fn check(&mut self, op: &Op, finalized_before: usize, old_graveyard: usize) {
        let faults = journal::faults();
        assert!(faults.is_empty(), "after {op:?}: {faults:#?}");
        let graveyard = journal::graveyard();
        let roots: Vec<usize> = self.roots.iter().map(|(index, _)| *index).collect();

        // Finalizers ran only on objects nothing (but the new graveyard) reached.
        let finalized = journal::finalized_so_far();
        let newly_finalized = &finalized[finalized_before..];
        if !newly_finalized.is_empty() {
            let old = graveyard.iter().take(old_graveyard).map(|(id, _)| *id);
            let reached = self.reachable_from(roots.iter().copied().chain(old));
            for id in newly_finalized {
                assert_eq!(self.objects[*id].kind, Kind::Phoenix);
                assert!(!reached.contains(id), "after {op:?}: object {id} was finalized while reachable");
            }
            // A collection that resurrected objects had cleared the weak references of all it
            // found unreachable, and what is only reachable from the graveyard now may be
            // among them.
            let from_roots = self.reachable_from(roots.iter().copied());
            for index in self.reachable_from(graveyard.iter().map(|(id, _)| *id)) {
                if !from_roots.contains(&index) {
                    self.objects[index].cleared_at = Some(self.now);
                }
            }
        }

        let reachable = self.reachable_from(roots.iter().copied().chain(graveyard.iter().map(|(id, _)| *id)));
        // Frozen objects that were not freed yet, and what they reach, are out of a full
        // collection's reach.
        let kept_frozen = match self.frozen {
            Some(made_before) => self.reachable_from(
                (0..made_before).filter(|&index| !journal::is_dropped(index) && !self.objects[index].unwrapped),
            ),
            None => HashSet::new(),
        };
        self.walk(op, graveyard);
        for &index in &reachable {
            let object = &self.objects[index];
            assert!(!object.unwrapped, "after {op:?}: object {index} is reachable but was moved out");
            assert!(!journal::is_dropped(index), "after {op:?}: object {index} is reachable but was dropped");
        }

        for record in &self.weaks {
            let object = &self.objects[record.object];
            let index = record.object;
            let runs = record.runs.as_ref().map(|runs| runs.get());
            let Some(weak) = &record.weak else {
                assert_eq!(
                    runs.unwrap_or(0),
                    record.runs_when_dropped,
                    "object {index}: a callback ran after its weak reference was dropped"
                );
                continue;
            };
            let dead = weak.is_dead();
            if let Some(runs) = runs {
                assert!(runs <= 1, "object {index}: a weak callback ran {runs} times");
                assert_eq!(
                    dead,
                    runs == 1,
                    "after {op:?}: object {index}: is_dead is {dead} but the callback ran {runs} times"
                );
            }
            let gone = object.unwrapped || journal::is_dropped(index);
            let may_be_cleared = object.cleared_at.is_some_and(|cleared| record.made_at <= cleared);
            if gone {
                assert!(dead, "after {op:?}: object {index} is gone but a weak reference to it reads alive");
            }
            if reachable.contains(&index) && !may_be_cleared {
                assert!(!dead, "after {op:?}: object {index} is reachable but a weak reference to it reads dead");
            }
            if dead && object.kind.journals_its_drop() {
                assert!(
                    gone || may_be_cleared,
                    "after {op:?}: object {index} lives but a weak reference to it reads dead"
                );
            }
            if matches!(op, Op::Collect) && !reachable.contains(&index) && !kept_frozen.contains(&index) {
                assert!(
                    dead,
                    "after {op:?}: object {index} is unreachable but a weak reference to it survived a full collection"
                );
            }
        }
        if matches!(op, Op::Collect) {
            for (index, object) in self.objects.iter().enumerate() {
                if !reachable.contains(&index) && !kept_frozen.contains(&index) && object.kind.journals_its_drop() {
                    assert!(
                        journal::is_dropped(index),
                        "after {op:?}: object {index} ({:?}) is unreachable but survived a full collection",
                        object.kind
                    );
                }
            }
        }
        for weak in &self.stillborn {
            assert!(
                weak.is_dead() && weak.upgrade().is_none(),
                "after {op:?}: the weak reference of a new_cyclic that panicked came alive"
            );
        }
    }

    /// Dereferences everything reachable from the roots and the graveyard through the real
    /// handles and compares it with the model.
    fn walk(&self, op: &Op, graveyard: Vec<(usize, Gc<Phoenix>)>) {
        let mut stack: Vec<(usize, Handle)> = self.roots.clone();
        stack.extend(graveyard.into_iter().map(|(id, phoenix)| (id, Handle::Phoenix(phoenix))));
        let mut seen = HashSet::new();
        while let Some((index, handle)) = stack.pop() {
            let object = &self.objects[index];
            assert_eq!(handle.addr(), object.addr, "after {op:?}: a handle to object {index} points elsewhere");
            if !seen.insert(index) {
                continue;
            }
            let looked =
                handle.look().unwrap_or_else(|error| panic!("after {op:?}: object {index} is reachable but: {error}"));
            assert_eq!(looked.kind, object.kind, "after {op:?}: object {index}'s kind");
            if object.kind.journals_its_drop() {
                assert_eq!(looked.id, Some(index), "after {op:?}: object {index}'s id");
            }
            if object.kind == Kind::Text {
                assert_eq!(looked.text.as_deref(), Some(object.text.as_str()), "after {op:?}: object {index}'s text");
            }
            if looked.self_weak_alive == Some(false) {
                let may_be_cleared = object.cleared_at.is_some_and(|cleared| object.made_at <= cleared);
                assert!(may_be_cleared, "after {op:?}: object {index} lives but its own weak reference reads dead");
            }
            assert_eq!(looked.edges.len(), object.edges.len(), "after {op:?}: object {index}'s edges");
            stack.extend(object.edges.iter().copied().zip(looked.edges));
        }
    }

    /// Drops every root and the graveyard, collects, and checks that nothing is left.
    fn tear_down(mut self) {
        let mut finalized_before = journal::finalized_so_far().len();
        self.now += 1;
        self.roots.clear();
        gen_gc::unfreeze();
        self.frozen = None;
        loop {
            drop(journal::take_graveyard());
            gen_gc::collect();
            self.check(&Op::Collect, finalized_before, 0);
            if journal::graveyard().is_empty() {
                break;
            }
            // Resurrected once more (the roots held phoenixes not finalized yet): they will
            // not be again.
            finalized_before = journal::finalized_so_far().len();
            self.now += 1;
        }
        let left: Vec<String> = gen_gc::get_objects(None).iter().map(|object| object.type_name().to_owned()).collect();
        assert!(left.is_empty(), "tracked objects survive the input: {left:?}");
        gen_gc::set_threshold(700, 10, 10);
        gen_gc::set_collection_policy(CollectionPolicy::default());
    }
}

/// The edge list of an object that has one behind a `RefCell`.
fn edge_cell(handle: &Handle) -> Option<&RefCell<Vec<Handle>>> {
    match handle {
        Handle::Node(gc) => Some(&gc.edges),
        Handle::Phoenix(gc) => Some(&gc.edges),
        Handle::Cyclic(gc) => Some(&gc.edges),
        Handle::Shape(gc) => Some(gc.corners()),
        Handle::Callable(_) | Handle::Slice(_) | Handle::Text(_) | Handle::Leaf(_) => None,
    }
}
