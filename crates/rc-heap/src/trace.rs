//! Tracing: how a value tells the heap which objects it holds.

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::header::ObjHeader;
use crate::side::WeakTarget;

/// A type whose values can live on the heap and be traced by the cycle collector.
///
/// `trace` reports every [`Gc`](crate::Gc) the value owns to a [`Visitor`]. The collector
/// subtracts those edges from the targets' counts to find what only cycles keep alive, so an
/// implementation that reports an edge it does not own lets the collector free a live object.
/// Use `#[derive(Trace)]` unless there is a reason not to.
///
/// The standard library's types that can own a `Gc` implement it: `Option`, `Result`,
/// `Box` (and `Pin<Box<_>>`), tuples, arrays and slices, `Vec`, `VecDeque`, `LinkedList`,
/// `BinaryHeap`, `HashMap`/`HashSet` (any hasher), `BTreeMap`/`BTreeSet`, `RefCell`, `OnceCell`,
/// `OnceLock`, `Mutex` and `RwLock` (untraceable while locked, as a `RefCell` while
/// borrowed), `Reverse`, `Wrapping`, `Saturating`, ranges (`start`, `end`), an owned
/// `Cow<'static, _>`, and `Rc`/`Arc` while their strong count is 1. So do the leaf types
/// that hold none (numbers, atomics, `String`, paths, C and OS strings, network addresses,
/// times, hashers, `PhantomPinned`), `Cell` of a `Copy` type, and `dyn Error` (with `Send`
/// and `Sync` or not), whose boxed errors are taken for plain data. A `Cell<Option<Gc<T>>>`
/// cannot be (a `Cell` does not lend its content; its impl is for `Copy` contents, which hold
/// no `Gc`): hold such a link in a `RefCell`, or in a `OnceCell` when it is set once.
///
/// # Safety
///
/// An implementation must keep these rules. Breaking rule 1 or 2 is undefined behaviour;
/// breaking rule 3 only leaks.
///
/// 1. `trace` visits only `Gc`s that are owned by this value: stored in it, or in memory it
///    owns exclusively (a `Box`, a `Vec`, a `RefCell` it contains, an `Rc` whose strong count
///    is 1). Never a `Gc` reached through shared ownership (a shared `Rc` or `Arc`, a
///    thread-local, a static, another `Gc`); the impls for `Rc` and `Arc` check the count.
/// 2. Each owned `Gc` is visited at most once per call, and two calls with no mutation in
///    between visit the same set. `trace` does not create, clone or drop `Gc`s, and does not
///    mutate the value.
/// 3. A `Gc` that is owned but not visited is treated as a reference from outside the heap:
///    whatever it points to, and everything reachable from there, is kept alive. This is
///    what `#[trace(skip)]` does on purpose.
/// 4. `TRACKED` may be `false` only for types that can hold no `Gc` and no `Weak` at all
///    (leaf types); their `trace` is never called by the collector. A wrong `false` is safe
///    but hides the type's edges (a leak) and weak references (their callbacks may run
///    when the collector frees their owner).
///
/// A value that cannot be traced right now (a `RefCell` that is mutably borrowed) calls
/// [`Visitor::untraceable`] instead; the collector then keeps the object and all it holds.
///
/// The collector defends itself against the common breaches of rule 2 all the same: while it
/// walks the heap, a `Gc` created by `trace` is left out of its lists, one dropped for the
/// last time is left for a later collection, a panic is caught, and each is reported through
/// the collector's debug output. An object whose `trace` panics is kept with all it holds;
/// one whose `trace` panics on a later call of a collection but not an earlier one makes
/// the collection free nothing. Do not rely on it: the collector's decisions are only right
/// when the rules are kept. A `Trace` that visits a reference more often than it owns it
/// makes a live object look like garbage: its value is dropped, which the collector reports
/// (`still referenced after their garbage was dropped`), and a later use through a handle
/// fails with [`AccessError`](crate::AccessError). A reference borrowed from the handle
/// before the collection (`let r: &T = &handle;`) is left dangling, and no check can stop
/// it: the collector counts edges by what `trace` reports, so a count that an over-visit
/// makes match looks exactly like a garbage cycle. That is why the trait is `unsafe` to
/// implement; `#[derive(Trace)]` and the impls above keep the rules.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Trace`, which a heap object and each of its fields need",
    label = "not `Trace`",
    note = "derive it with `#[derive(Trace)]` if it is your type",
    note = "a field the collector cannot trace (a foreign type, a handle to something outside the heap) can be marked `#[trace(skip)]`: whatever it holds is then kept alive as if held from outside",
    note = "a trait object that holds `Gc`s (`Box<dyn Plugin>`) should be a heap object itself, a `Gc<dyn Plugin>` made with `coerce_gc!(Gc::new(plugin))`, which the type it was made from traces",
    note = "a callback that captures `Gc`s should be a `Closure` (a `Gc<dyn Callable>`), whose captures the collector traces: a skipped boxed closure that captures its owner is a cycle never collected",
    note = "a type parameter (`dyn Plugin` in `Outer<dyn Plugin>`) that a derived type passes on to another generic type of yours is bounded by `Trace`: `#[trace(bound = \"P: 'static\")]` on the outer type replaces that bound"
)]
pub unsafe trait Trace: 'static {
    /// Whether values of this type may hold `Gc`s or `Weak`s and so need the cycle
    /// collector. Leaf types (`false`) are untracked: smaller header, no collector cost.
    const TRACKED: bool = true;

    // `TRACKED` asked with a budget: `__TRACKED_n` may ask at most `n` more derived types
    // nested by value, and a derived type with no budget left answers `true`. The derive
    // computes `TRACKED` from its fields' `__TRACKED_7`, and `__TRACKED_n` from their
    // `__TRACKED_{n-1}`; the std containers pass each level on to their elements. So types
    // that hold each other by value (`Stmt { body: Vec<Block> }`, `Block { stmts: Vec<Stmt> }`)
    // ask a finite chain of constants where one `TRACKED` each would ask itself (a cycle
    // rustc rejects), and a chain that runs out answers the safe `true`. A hand-written impl
    // keeps the defaults: every level is its own `TRACKED`.
    #[doc(hidden)]
    const __TRACKED_0: bool = Self::TRACKED;
    #[doc(hidden)]
    const __TRACKED_1: bool = Self::TRACKED;
    #[doc(hidden)]
    const __TRACKED_2: bool = Self::TRACKED;
    #[doc(hidden)]
    const __TRACKED_3: bool = Self::TRACKED;
    #[doc(hidden)]
    const __TRACKED_4: bool = Self::TRACKED;
    #[doc(hidden)]
    const __TRACKED_5: bool = Self::TRACKED;
    #[doc(hidden)]
    const __TRACKED_6: bool = Self::TRACKED;
    #[doc(hidden)]
    const __TRACKED_7: bool = Self::TRACKED;

    /// Whether [`Trace::finalize`] does anything. The heap calls it only when `true`.
    const HAS_FINALIZER: bool = false;

    /// Reports every owned `Gc` to `visitor`, each once, labelled with
    /// [`Visitor::enter`]/[`Visitor::leave`] where a label helps a reader of a graph.
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V);

    /// Python's `__del__`: runs at most once per object, before the object is destroyed,
    /// with the value and everything it points to still intact. It may resurrect the object
    /// by storing a handle to it (through a [`Weak`](crate::Weak), say); the object then lives
    /// on and this never runs again. Only called when [`Trace::HAS_FINALIZER`] is `true`.
    fn finalize(&self) {}

    /// A short description of the value for graph labels and map-key labels (`None`: the
    /// type name says enough).
    fn describe(&self) -> Option<String> {
        None
    }
}

/// The description `#[trace(describe)]` gives a value: its `Debug` text, cut after 200
/// bytes (with `...` at the end), so that a value that holds much (a long
/// vector, a deep chain) costs a label's worth of formatting, not all of it.
pub fn describe_debug<T: fmt::Debug + ?Sized>(value: &T) -> String {
    /// Takes text until it is full, then fails the write, which ends the `Debug` early.
    struct Capped(String);
    impl fmt::Write for Capped {
        fn write_str(&mut self, text: &str) -> fmt::Result {
            let room = DESCRIBE_MAX - self.0.len();
            if text.len() <= room {
                self.0.push_str(text);
                return Ok(());
            }
            let cut = (0..=room).rev().find(|&at| text.is_char_boundary(at)).unwrap_or(0);
            self.0.push_str(&text[..cut]);
            Err(fmt::Error)
        }
    }
    let mut text = Capped(String::new());
    if fmt::write(&mut text, format_args!("{value:?}")).is_err() {
        text.0.push_str("...");
    }
    text.0
}

/// How much of a value's `Debug` text [`describe_debug`] keeps, in bytes.
const DESCRIBE_MAX: usize = 200;

/// What a value's description is when its `describe` (a `Debug` impl) panics: objgraph's
/// label of an object whose `repr` raises.
const UNREPRESENTABLE: &str = "(unrepresentable)";

/// Runs a value's `describe`, catching a panic (reported by the panic hook as any panic is):
/// a label is no reason to fail a whole graph or report, so the description then reads
/// [`UNREPRESENTABLE`].
///
/// A description that asks for descriptions (a key's `Debug` that draws a graph of the map
/// holding it, which labels that key again) would recurse until the stack overflows; past
/// [`MAX_DESCRIBE_NESTING`] descriptions inside each other, the innermost reads
/// [`UNREPRESENTABLE`] instead, as objgraph's `_safe_repr` turns Python's `RecursionError`
/// into a label.
pub(crate) fn describe_caught(describe: impl FnOnce() -> Option<String>) -> Option<String> {
    thread_local! {
        static NESTING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    let depth = NESTING.with(std::cell::Cell::get);
    if depth >= MAX_DESCRIBE_NESTING {
        return Some(UNREPRESENTABLE.to_owned());
    }
    NESTING.with(|nesting| nesting.set(depth + 1));
    let described = std::panic::catch_unwind(std::panic::AssertUnwindSafe(describe)).unwrap_or_else(|panic| {
        forget_if_drop_panics(panic);
        Some(UNREPRESENTABLE.to_owned())
    });
    NESTING.with(|nesting| nesting.set(depth));
    described
}

/// How many descriptions may run inside each other (see [`describe_caught`]).
const MAX_DESCRIBE_NESTING: usize = 4;

/// Drops a panic payload of user code, whose own `Drop` may panic too: the payload of that
/// second panic is dropped the same way, and so on a few times; a payload whose drop still
/// panics then is leaked, since nothing can take it.
pub(crate) fn forget_if_drop_panics(payload: Box<dyn std::any::Any + Send>) {
    let mut payload = payload;
    for _ in 0..8 {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(payload))) {
            Ok(()) => return,
            Err(next) => payload = next,
        }
    }
    std::mem::forget(payload);
}

/// A type's finalizer, Python's `__del__`, for `#[derive(Trace)]` with `#[trace(finalize)]`.
///
/// `finalize` runs at most once per object, before the object dies (by refcount or by the
/// collector), with the object and everything it points to intact. Storing a handle to the
/// object somewhere resurrects it; it then lives on, and `finalize` never runs again.
pub trait Finalize {
    /// Runs once, before the object dies.
    fn finalize(&self);
}

/// Receives what [`Trace::trace`] reports.
///
/// Every method but `visit_edge` has an empty default; the collector's visitors ignore
/// labels, so labelling costs nothing when nobody asks for labels.
pub trait Visitor {
    /// A strong edge to another object.
    fn visit_edge(&mut self, edge: Edge<'_>);

    /// A weak reference held by the traced value. It is no edge: it does not keep its
    /// target alive.
    fn visit_weak(&mut self, _weak: WeakEdge<'_>) {}

    /// The value could not be traced completely right now (a `RefCell` is mutably
    /// borrowed). The collector treats the object as reachable.
    fn untraceable(&mut self) {}

    /// The edges visited until the matching [`Visitor::leave`] are under `segment`.
    fn enter(&mut self, _segment: Segment<'_>) {}

    /// Ends the innermost [`Visitor::enter`].
    fn leave(&mut self) {}

    /// Whether a hash map or set should report its entries in a stable order (by its keys'
    /// or members' descriptions, then by what they hold) rather than in its hash order, which
    /// differs from run to run. Visitors that build labels say yes, so that the same heap gives
    /// the same labels, graphs and snapshots every time; the collector's visitors keep the
    /// default, no sorting.
    fn wants_stable_order(&self) -> bool {
        false
    }
}

/// A strong edge to an object, as reported during tracing.
#[derive(Clone, Copy)]
pub struct Edge<'a> {
    header: NonNull<ObjHeader>,
    tracked: bool,
    _borrow: PhantomData<&'a ObjHeader>,
}

impl<'a> Edge<'a> {
    #[inline]
    pub(crate) fn new(header: NonNull<ObjHeader>, tracked: bool) -> Self {
        Edge { header, tracked, _borrow: PhantomData }
    }

    /// The target's header.
    #[inline]
    pub fn header(&self) -> NonNull<ObjHeader> {
        self.header
    }

    /// Whether the target is a tracked object (one the collector walks).
    #[inline]
    pub fn is_tracked(&self) -> bool {
        self.tracked
    }
}

/// A weak reference met during tracing.
#[derive(Clone, Copy)]
pub struct WeakEdge<'a> {
    /// The weak reference's target word.
    pub(crate) target: &'a WeakTarget,
    /// How many handles the weak reference has (clones of a `Weak` share one reference).
    pub(crate) handles: usize,
}

/// One step of an edge's label: how the traced value reached a `Gc`.
#[derive(Clone, Copy)]
pub enum Segment<'a> {
    /// A named field (`attr_b`) or a tuple field (`0`).
    Field(&'static str),
    /// An element of a sequence (`[3]`).
    Index(usize),
    /// A map entry, labelled by its key.
    Key(&'a dyn KeyLabel),
    /// An enum variant (`Leaf`).
    Variant(&'static str),
}

impl fmt::Debug for Segment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Field(name) => write!(f, "Field({name})"),
            Segment::Index(i) => write!(f, "Index({i})"),
            Segment::Key(key) => write!(f, "Key({:?})", key.key_label()),
            Segment::Variant(name) => write!(f, "Variant({name})"),
        }
    }
}

/// A map key that can label an edge: its [`Trace::describe`] text, when it has one.
pub trait KeyLabel {
    /// The label text, or `None` when the key has no description.
    fn key_label(&self) -> Option<String>;
}

impl<T: Trace + ?Sized> KeyLabel for T {
    fn key_label(&self) -> Option<String> {
        describe_caught(|| self.describe())
    }
}

/// How many characters of a map key's label an edge label keeps (Python's objgraph keeps 40
/// of a label's text).
const KEY_LABEL_MAX: usize = 40;

/// Builds edge labels from [`Segment`]s: `children[3]`, `Leaf.child`, `[key]` (a key's first
/// 40 characters, then `...`).
#[derive(Debug, Default)]
pub struct LabelPath {
    text: String,
    marks: Vec<usize>,
}

impl LabelPath {
    /// Starts `segment`.
    pub fn enter(&mut self, segment: Segment<'_>) {
        use fmt::Write as _;
        self.marks.push(self.text.len());
        match segment {
            Segment::Field(name) | Segment::Variant(name) => {
                if !self.text.is_empty() {
                    self.text.push('.');
                }
                self.text.push_str(name);
            }
            Segment::Index(i) => {
                let _ = write!(self.text, "[{i}]");
            }
            Segment::Key(key) => match key.key_label() {
                // A long key is cut, as Python's objgraph cuts the text of its labels.
                Some(label) => match label.char_indices().nth(KEY_LABEL_MAX) {
                    // A quoted key (a string's `Debug`) keeps its closing quote.
                    Some((cut, _)) if label.starts_with('"') => {
                        let _ = write!(self.text, "[{}...\"]", &label[..cut]);
                    }
                    Some((cut, _)) => {
                        let _ = write!(self.text, "[{}...]", &label[..cut]);
                    }
                    None => {
                        let _ = write!(self.text, "[{label}]");
                    }
                },
                None => self.text.push_str("[?]"),
            },
        }
    }

    /// Ends the innermost segment.
    pub fn leave(&mut self) {
        if let Some(len) = self.marks.pop() {
            self.text.truncate(len);
        }
    }

    /// The current label.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The collector's fast tracing target: the headers of the tracked objects a value holds.
///
/// Filled by [`raw::trace_tracked`](crate::raw::trace_tracked), which calls a monomorphic
/// trace function, so visiting an edge is a store and leaf edges cost nothing. Visiting never
/// allocates: an edge past the list's capacity is only counted as missed, and `trace_tracked`
/// makes room for exactly the edges the value reported and traces it once more. Without
/// allocation, a type's trace function calls nothing, which spares it saving registers on
/// every call; counting the missed edges bounds the traces of a value to two, however many
/// edges it has (a map of a million entries, met by a list that had room for a few).
#[derive(Debug, Default)]
pub struct EdgeList {
    edges: Vec<NonNull<ObjHeader>>,
    untraceable: bool,
    /// How many edges did not fit since the last `clear`: the list misses them.
    missed: usize,
}

impl EdgeList {
    /// An empty list.
    pub const fn new() -> Self {
        EdgeList { edges: Vec::new(), untraceable: false, missed: 0 }
    }

    /// Empties the list, keeping its memory.
    pub fn clear(&mut self) {
        self.edges.clear();
        self.untraceable = false;
        self.missed = 0;
    }

    /// The headers of the tracked objects visited since the last `clear`.
    pub fn edges(&self) -> &[NonNull<ObjHeader>] {
        &self.edges
    }

    /// Whether a traced value reported that it could not be traced completely.
    pub fn is_untraceable(&self) -> bool {
        self.untraceable
    }

    /// Records that the value could not be traced (its `Trace` panicked, say).
    pub fn mark_untraceable(&mut self) {
        self.untraceable = true;
    }

    /// Whether an edge did not fit since the last `clear` (a value traced directly into the
    /// list, not through `raw::trace_tracked`, which makes room and traces again).
    pub fn is_incomplete(&self) -> bool {
        self.missed != 0
    }

    /// Forgets the edges from `len` on and makes room for as many as were visited from
    /// there, those that fitted and those missed, so that tracing the same value again
    /// fits.
    pub(crate) fn grow_from(&mut self, len: usize) {
        let wanted = self.edges.len() - len + self.missed;
        self.edges.truncate(len);
        self.edges.reserve(wanted);
        self.missed = 0;
    }

    pub(crate) fn len(&self) -> usize {
        self.edges.len()
    }
}

impl Visitor for EdgeList {
    #[inline(always)]
    fn visit_edge(&mut self, edge: Edge<'_>) {
        if edge.tracked {
            let len = self.edges.len();
            if len < self.edges.capacity() {
                // SAFETY: `len < capacity`, so the slot is allocated and past the initialized
                // elements; writing it and counting it in keeps the vector valid.
                unsafe {
                    self.edges.as_mut_ptr().add(len).write(edge.header);
                    self.edges.set_len(len + 1);
                }
            } else {
                self.missed += 1;
            }
        }
    }

    #[inline(always)]
    fn untraceable(&mut self) {
        self.untraceable = true;
    }
}

/// The `TRACKED` constants of a type that holds values of the given types and nothing
/// else that can hold a `Gc`: tracked when any of them is, level by level (see the
/// `__TRACKED_n` constants of [`Trace`]).
macro_rules! tracked_as_any_of {
    ($($ty:ty),+ $(,)?) => {
        const TRACKED: bool = false $(|| <$ty as $crate::trace::Trace>::TRACKED)+;
        const __TRACKED_0: bool = false $(|| <$ty as $crate::trace::Trace>::__TRACKED_0)+;
        const __TRACKED_1: bool = false $(|| <$ty as $crate::trace::Trace>::__TRACKED_1)+;
        const __TRACKED_2: bool = false $(|| <$ty as $crate::trace::Trace>::__TRACKED_2)+;
        const __TRACKED_3: bool = false $(|| <$ty as $crate::trace::Trace>::__TRACKED_3)+;
        const __TRACKED_4: bool = false $(|| <$ty as $crate::trace::Trace>::__TRACKED_4)+;
        const __TRACKED_5: bool = false $(|| <$ty as $crate::trace::Trace>::__TRACKED_5)+;
        const __TRACKED_6: bool = false $(|| <$ty as $crate::trace::Trace>::__TRACKED_6)+;
        const __TRACKED_7: bool = false $(|| <$ty as $crate::trace::Trace>::__TRACKED_7)+;
    };
}

pub(crate) use tracked_as_any_of;
