//! `Trace` for the standard library's types.
//!
//! Leaf types trace nothing and are untracked. Containers are tracked exactly when their
//! elements are, trace each element once, and label edges: `[i]` for sequences and sets,
//! `[key]` for map values (the key's [`Trace::describe`] text), `0`, `1`, … for tuples.
//! `Rc` and `Arc` are traced through while they are the only owner of their content (strong
//! count 1); shared, they report themselves untraceable, which keeps what they hold alive.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::fmt::Write as _;
use std::rc::Rc;
use std::sync::Arc;

use crate::header::flags;
use crate::pool;
use crate::trace::{Edge, LabelPath, Segment, Trace, Visitor, tracked_as_any_of};
use crate::type_info::in_pool;

macro_rules! leaf {
    ($($ty:ty),* $(,)?) => {$(
        // SAFETY: the type holds no `Gc`.
        unsafe impl Trace for $ty {
            const TRACKED: bool = false;
            #[inline(always)]
            fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
        }
    )*};
}

macro_rules! described_leaf {
    ($($ty:ty),* $(,)?) => {$(
        // SAFETY: the type holds no `Gc`.
        unsafe impl Trace for $ty {
            const TRACKED: bool = false;
            #[inline(always)]
            fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
            fn describe(&self) -> Option<String> {
                Some(crate::trace::describe_debug(self))
            }
        }
    )*};
}

described_leaf!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    str,
    &'static str,
    &'static std::path::Path,
    &'static std::ffi::OsStr,
    &'static std::ffi::CStr,
    std::path::PathBuf,
    std::path::Path,
    std::ffi::OsString,
    std::ffi::OsStr,
    std::ffi::CString,
    std::ffi::CStr,
    std::time::Duration,
    std::net::IpAddr,
    std::net::Ipv4Addr,
    std::net::Ipv6Addr,
    std::net::SocketAddr,
    std::net::SocketAddrV4,
    std::net::SocketAddrV6,
);

// SAFETY: a shared reference owns nothing: what it points at is held elsewhere, and traced,
// if at all, by what owns it (a `&'static` slice is a constant or leaked memory).
unsafe impl<T: 'static> Trace for &'static [T] {
    const TRACKED: bool = false;
    #[inline(always)]
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
}

leaf!(
    crate::ObjectId,
    std::time::Instant,
    std::time::SystemTime,
    std::any::TypeId,
    std::cmp::Ordering,
    std::num::NonZeroU8,
    std::num::NonZeroU16,
    std::num::NonZeroU32,
    std::num::NonZeroU64,
    std::num::NonZeroUsize,
    std::num::NonZeroU128,
    std::num::NonZeroI8,
    std::num::NonZeroI16,
    std::num::NonZeroI32,
    std::num::NonZeroI64,
    std::num::NonZeroI128,
    std::num::NonZeroIsize,
    std::sync::atomic::AtomicBool,
    std::sync::atomic::AtomicU8,
    std::sync::atomic::AtomicU16,
    std::sync::atomic::AtomicU32,
    std::sync::atomic::AtomicU64,
    std::sync::atomic::AtomicUsize,
    std::sync::atomic::AtomicI8,
    std::sync::atomic::AtomicI16,
    std::sync::atomic::AtomicI32,
    std::sync::atomic::AtomicI64,
    std::sync::atomic::AtomicIsize,
    std::hash::RandomState,
    std::hash::DefaultHasher,
    std::thread::ThreadId,
    std::alloc::Layout,
    std::marker::PhantomPinned,
);

// SAFETY: an error behind `dyn Error` is treated as plain data: its concrete type is not
// known here, so a `Gc` one held would go unreported, which only keeps what it points to
// alive (rule 3), and a `Weak` one held would have its callback run when the collector
// frees its owner. Both are rule 4's safe outcomes of `false`, chosen because errors carry
// messages and codes.
#[diagnostic::do_not_recommend]
unsafe impl Trace for dyn std::error::Error {
    const TRACKED: bool = false;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
}

// SAFETY: as for `dyn Error`.
#[diagnostic::do_not_recommend]
unsafe impl Trace for dyn std::error::Error + Send {
    const TRACKED: bool = false;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
}

// SAFETY: as for `dyn Error`.
#[diagnostic::do_not_recommend]
unsafe impl Trace for dyn std::error::Error + Send + Sync {
    const TRACKED: bool = false;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
}

// SAFETY: a hasher's builder holds no value of its hasher's type, let alone a `Gc`.
unsafe impl<H: 'static> Trace for std::hash::BuildHasherDefault<H> {
    const TRACKED: bool = false;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
}

macro_rules! number_wrapper {
    ($($ty:ident),*) => {$(
        // SAFETY: the wrapper owns its number; traced transparently.
        unsafe impl<T: Trace> Trace for std::num::$ty<T> {
            tracked_as_any_of!(T);
            #[inline]
            fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
                self.0.trace(visitor);
            }
            fn describe(&self) -> Option<String> {
                self.0.describe()
            }
        }
    )*};
}

number_wrapper!(Wrapping, Saturating);

// SAFETY: a range owns its bounds and visits each once.
unsafe impl<T: Trace> Trace for std::ops::Range<T> {
    tracked_as_any_of!(T);
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        trace_fields([("start", &self.start), ("end", &self.end)], visitor);
    }
}

// SAFETY: as for `Range`.
unsafe impl<T: Trace> Trace for std::ops::RangeInclusive<T> {
    tracked_as_any_of!(T);
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        trace_fields([("start", self.start()), ("end", self.end())], visitor);
    }
}

// SAFETY: a half-open range owns its one bound.
unsafe impl<T: Trace> Trace for std::ops::RangeFrom<T> {
    tracked_as_any_of!(T);
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        trace_fields([("start", &self.start)], visitor);
    }
}

// SAFETY: a half-open range owns its one bound.
unsafe impl<T: Trace> Trace for std::ops::RangeTo<T> {
    tracked_as_any_of!(T);
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        trace_fields([("end", &self.end)], visitor);
    }
}

/// Traces named parts of a value, each under its name.
fn trace_fields<T: Trace, V: Visitor + ?Sized, const N: usize>(fields: [(&'static str, &T); N], visitor: &mut V) {
    if !T::TRACKED {
        return;
    }
    for (name, value) in fields {
        visitor.enter(Segment::Field(name));
        value.trace(visitor);
        visitor.leave();
    }
}

// SAFETY: an owned `Cow` owns its value, traced transparently; a borrowed one is a shared
// `'static` reference, whose handles belong to whoever owns the referent, so it reports none.
unsafe impl<B: ?Sized + ToOwned + 'static> Trace for std::borrow::Cow<'static, B>
where
    B::Owned: Trace,
{
    tracked_as_any_of!(B::Owned);
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        if let std::borrow::Cow::Owned(value) = self {
            value.trace(visitor);
        }
    }
    fn describe(&self) -> Option<String> {
        match self {
            std::borrow::Cow::Owned(value) => value.describe(),
            std::borrow::Cow::Borrowed(_) => None,
        }
    }
}

/// Traces what a lock lent (`try_lock`, `try_read`): a held lock (by this thread, the only
/// one that can reach a heap object) is untraceable for now, which the visitor is told, as
/// for a borrowed `RefCell`; a poisoned lock still holds its content, which is traced.
fn trace_locked<T: Trace + ?Sized, G: std::ops::Deref<Target = T>, V: Visitor + ?Sized>(
    lent: std::sync::TryLockResult<G>,
    visitor: &mut V,
) {
    match lent {
        Ok(value) => value.trace(visitor),
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.get_ref().trace(visitor),
        Err(std::sync::TryLockError::WouldBlock) => visitor.untraceable(),
    }
}

// SAFETY: a `Mutex` owns its content; see `trace_locked` for a held or poisoned lock.
unsafe impl<T: Trace + ?Sized> Trace for std::sync::Mutex<T> {
    tracked_as_any_of!(T);
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        if T::TRACKED {
            trace_locked(self.try_lock(), visitor);
        }
    }
}

// SAFETY: as for `Mutex`, with a read lock.
unsafe impl<T: Trace + ?Sized> Trace for std::sync::RwLock<T> {
    tracked_as_any_of!(T);
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        if T::TRACKED {
            trace_locked(self.try_read(), visitor);
        }
    }
}

// SAFETY: as for `OnceCell`.
unsafe impl<T: Trace> Trace for std::sync::OnceLock<T> {
    tracked_as_any_of!(T);
    #[inline]
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        if let Some(value) = self.get() {
            value.trace(visitor);
        }
    }
    fn describe(&self) -> Option<String> {
        self.get().and_then(Trace::describe)
    }
}

// SAFETY: a `std::rc`/`std::sync` weak reference owns no strong count: whatever its
// allocation holds belongs to the strong owners, which trace it if they may.
unsafe impl<T: ?Sized + 'static> Trace for std::rc::Weak<T> {
    const TRACKED: bool = false;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
}

// SAFETY: as for `std::rc::Weak`.
unsafe impl<T: ?Sized + 'static> Trace for std::sync::Weak<T> {
    const TRACKED: bool = false;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
}

macro_rules! fn_pointer {
    ($($arg:ident),*) => {
        // SAFETY: a function pointer holds no value at all.
        unsafe impl<R: 'static, $($arg: 'static),*> Trace for fn($($arg),*) -> R {
            const TRACKED: bool = false;
            fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
        }
    };
}

fn_pointer!();
fn_pointer!(A);
fn_pointer!(A, B);
fn_pointer!(A, B, C);
fn_pointer!(A, B, C, D);
fn_pointer!(A, B, C, D, E);
fn_pointer!(A, B, C, D, E, F);

// SAFETY: holds no value at all.
unsafe impl<T: ?Sized + 'static> Trace for std::marker::PhantomData<T> {
    const TRACKED: bool = false;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
}

// SAFETY: a `Copy` type cannot hold a `Gc` (a `Gc` is not `Copy`), so there is nothing to
// trace; `Cell` could not lend its content for tracing anyway.
unsafe impl<T: Copy + Trace> Trace for Cell<T> {
    const TRACKED: bool = false;
    fn trace<V: Visitor + ?Sized>(&self, _visitor: &mut V) {}
    fn describe(&self) -> Option<String> {
        self.get().describe()
    }
}

macro_rules! counted_owner {
    ($($ptr:ident),*) => {$(
        // SAFETY: an `Rc`/`Arc` whose strong count is 1 is the only owner of its content, so
        // the content's `Gc`s are owned by this value (rule 1). No user code runs while the
        // collector traces, so the count cannot change between its passes; when it has
        // changed by a later pass (a finalizer cloned the pointer), the value reports itself
        // untraceable, which keeps it and all it holds alive. A shared pointer is never
        // traced through: two owners would report the same edges twice.
        unsafe impl<T: Trace + ?Sized> Trace for $ptr<T> {
            tracked_as_any_of!(T);
            #[inline]
            fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
                if !T::TRACKED {
                    return;
                }
                if $ptr::strong_count(self) == 1 {
                    (**self).trace(visitor);
                } else {
                    visitor.untraceable();
                }
            }
            fn describe(&self) -> Option<String> {
                (**self).describe()
            }
        }
    )*};
}

counted_owner!(Rc, Arc);

macro_rules! box_owner {
    ($($owner:ty),*) => {$(
        // SAFETY: a `Box`, pinned or not, owns its content exclusively; traced transparently,
        // through a shared reference (a pinned content is not moved).
        unsafe impl<T: Trace + ?Sized> Trace for $owner {
            tracked_as_any_of!(T);
            #[inline]
            fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
                (**self).trace(visitor);
            }
            fn describe(&self) -> Option<String> {
                (**self).describe()
            }
        }
    )*};
}

box_owner!(Box<T>, std::pin::Pin<Box<T>>);

// SAFETY: an `Option` owns its content; traced transparently.
unsafe impl<T: Trace> Trace for Option<T> {
    tracked_as_any_of!(T);
    #[inline]
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        if let Some(value) = self {
            value.trace(visitor);
        }
    }
    fn describe(&self) -> Option<String> {
        self.as_ref().and_then(Trace::describe)
    }
}

// SAFETY: a `OnceCell` owns its content. Once set, the content changes only through
// `&mut` (`take`, `get_mut`), which no one holds while the collector traces; an empty cell
// (one still being initialized included) holds nothing to trace.
unsafe impl<T: Trace> Trace for std::cell::OnceCell<T> {
    tracked_as_any_of!(T);
    #[inline]
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        if let Some(value) = self.get() {
            value.trace(visitor);
        }
    }
    fn describe(&self) -> Option<String> {
        self.get().and_then(Trace::describe)
    }
}

// SAFETY: a `Reverse` owns its content; traced transparently.
unsafe impl<T: Trace> Trace for std::cmp::Reverse<T> {
    tracked_as_any_of!(T);
    #[inline]
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.0.trace(visitor);
    }
    fn describe(&self) -> Option<String> {
        self.0.describe()
    }
}

// SAFETY: a `Result` owns its content; traced transparently.
unsafe impl<T: Trace, E: Trace> Trace for Result<T, E> {
    tracked_as_any_of!(T, E);
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        match self {
            Ok(value) => value.trace(visitor),
            Err(error) => error.trace(visitor),
        }
    }
}

// SAFETY: a `RefCell` owns its content. A mutable borrow in progress makes it untraceable
// for now, which the visitor is told.
unsafe impl<T: Trace + ?Sized> Trace for RefCell<T> {
    tracked_as_any_of!(T);
    #[inline]
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        if !T::TRACKED {
            return;
        }
        match self.try_borrow() {
            Ok(value) => value.trace(visitor),
            Err(_) => visitor.untraceable(),
        }
    }
    fn describe(&self) -> Option<String> {
        self.try_borrow().ok()?.describe()
    }
}

/// Traces the elements of a sequence, labelled by position.
#[inline]
fn trace_indexed<'a, T: Trace, V: Visitor + ?Sized>(items: impl IntoIterator<Item = &'a T>, visitor: &mut V) {
    if !T::TRACKED {
        return;
    }
    for (index, item) in items.into_iter().enumerate() {
        visitor.enter(Segment::Index(index));
        item.trace(visitor);
        visitor.leave();
    }
}

macro_rules! sequence {
    ($($ty:ident),*) => {$(
        // SAFETY: the collection owns its elements and visits each once.
        unsafe impl<T: Trace> Trace for $ty<T> {
            tracked_as_any_of!(T);
            #[inline]
            fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
                trace_indexed(self, visitor);
            }
        }
    )*};
}

sequence!(Vec, VecDeque, LinkedList, BinaryHeap, BTreeSet);

// SAFETY: the slice owns its elements and visits each once.
unsafe impl<T: Trace> Trace for [T] {
    tracked_as_any_of!(T);
    #[inline]
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        trace_indexed(self, visitor);
    }
}

// SAFETY: the array owns its elements and visits each once.
unsafe impl<T: Trace, const N: usize> Trace for [T; N] {
    tracked_as_any_of!(T);
    #[inline]
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        trace_indexed(self, visitor);
    }
}

/// Where a set's member or a map's key goes when a visitor wants a stable order: by its
/// description, and, for a value without one (a struct that does not derive `describe`), by
/// what it holds, two references deep: each edge's label, its target's type and its target's
/// description. Unlike the hash order, both are the same in every run, so that graphs and
/// snapshots of the same heap are too. Members alike in both (objects told apart only by
/// fields the collector does not see) go by where the objects they hold lie in the thread's
/// pools (`pool::placement`: the arena, in the order the thread made them, and the offset):
/// the same from run to run of a program that makes and frees its objects in the same order,
/// whatever other threads do. Objects too large for the pools come after, by address.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct StableKey {
    description: Option<String>,
    holds: String,
    held: Vec<(u64, usize)>,
}

impl StableKey {
    fn of<T: Trace + ?Sized>(value: &T) -> StableKey {
        let description = crate::trace::describe_caught(|| value.describe());
        let mut holds = HoldsText { text_too: description.is_none(), ..HoldsText::default() };
        if T::TRACKED {
            value.trace(&mut holds);
        }
        StableKey { description, holds: holds.text, held: holds.held }
    }
}

/// Where a map's entry goes: by its key's [`StableKey`], then, among keys alike, by its
/// value's.
type EntryKey = (StableKey, Option<StableKey>);

/// Writes what a value holds as text, one `depth label type description` line per edge, up to
/// [`HoldsText::MAX_DEPTH`] references deep and [`HoldsText::MAX_EDGES`] edges in all (enough
/// to tell members apart, bounded for members that hold much).
#[derive(Default)]
struct HoldsText {
    path: LabelPath,
    text: String,
    depth: usize,
    edges: usize,
    /// Whether to write the text and look past the value's own edges (else only `held` is
    /// wanted).
    text_too: bool,
    /// Where each object met lies (see [`StableKey`]).
    held: Vec<(u64, usize)>,
}

impl HoldsText {
    /// A set's member is often a handle: its own edge, then its object's.
    const MAX_DEPTH: usize = 2;
    const MAX_EDGES: usize = 64;
}

impl Visitor for HoldsText {
    fn visit_edge(&mut self, edge: Edge<'_>) {
        if self.edges == Self::MAX_EDGES {
            return;
        }
        self.edges += 1;
        let place = if in_pool(edge.header()) {
            // SAFETY: the edge's handle keeps its object, a block of this thread's pools.
            unsafe { pool::placement(edge.header().as_ptr().cast()) }
        } else {
            (u64::MAX, edge.header().as_ptr().addr())
        };
        self.held.push(place);
        if !self.text_too {
            return;
        }
        // SAFETY: an edge is made from a live handle borrowed for the edge's lifetime, so its
        // header is allocated.
        let header = unsafe { edge.header().as_ref() };
        let info = header.type_info();
        let live = !header.has(flags::DROPPED);
        // SAFETY: the value is live (not dropped) and the handle keeps the memory; the entry
        // point is the object's own type's.
        let description = if live { unsafe { (info.describe)(edge.header()) } } else { None };
        let _ = writeln!(
            self.text,
            "{} {} {} {}",
            self.depth,
            self.path.as_str(),
            info.name(),
            description.unwrap_or_default()
        );
        if live && self.depth + 1 < Self::MAX_DEPTH {
            let path = std::mem::take(&mut self.path);
            self.depth += 1;
            // SAFETY: as for `describe` above; the value is traced through its own type's entry
            // point while the edge's handle keeps it.
            unsafe { (info.trace_dyn)(edge.header(), self) };
            self.depth -= 1;
            self.path = path;
        }
    }

    fn enter(&mut self, segment: Segment<'_>) {
        self.path.enter(segment);
    }

    fn leave(&mut self) {
        self.path.leave();
    }

    fn wants_stable_order(&self) -> bool {
        true
    }
}

// SAFETY: the set owns its elements and visits each once (sorted or not, every member is
// in the list once).
unsafe impl<T: Trace, S: 'static> Trace for HashSet<T, S> {
    tracked_as_any_of!(T);
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        if !visitor.wants_stable_order() || !T::TRACKED {
            return trace_indexed(self, visitor);
        }
        let mut members: Vec<(StableKey, &T)> = self.iter().map(|member| (StableKey::of(member), member)).collect();
        members.sort_by(|a, b| a.0.cmp(&b.0));
        trace_indexed(members.into_iter().map(|(_, member)| member), visitor);
    }
}

/// Traces a map: values labelled by their key, keys by their position.
fn trace_map<'a, K: Trace, T: Trace, V: Visitor + ?Sized>(
    entries: impl IntoIterator<Item = (&'a K, &'a T)>,
    visitor: &mut V,
) {
    if !K::TRACKED && !T::TRACKED {
        return;
    }
    for (index, (key, value)) in entries.into_iter().enumerate() {
        if K::TRACKED {
            visitor.enter(Segment::Index(index));
            key.trace(visitor);
            visitor.leave();
        }
        if T::TRACKED {
            visitor.enter(Segment::Key(key));
            value.trace(visitor);
            visitor.leave();
        }
    }
}

// SAFETY: the map owns its keys and values and visits each once (sorted or not, every
// entry is in the list once).
unsafe impl<K: Trace, T: Trace, S: 'static> Trace for HashMap<K, T, S> {
    tracked_as_any_of!(K, T);
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        if !visitor.wants_stable_order() || !(K::TRACKED || T::TRACKED) {
            return trace_map(self, visitor);
        }
        // Entries go by their keys; keys alike (leaves without a description, descriptions
        // cut alike, `Debug`s that print the same) by what their values hold.
        let mut entries: Vec<(EntryKey, (&K, &T))> =
            self.iter().map(|entry| ((StableKey::of(entry.0), None), entry)).collect();
        entries.sort_by(|a, b| a.0.0.cmp(&b.0.0));
        for run in entries.chunk_by_mut(|a, b| a.0.0 == b.0.0).filter(|run| run.len() > 1) {
            for (key, entry) in run.iter_mut() {
                key.1 = Some(StableKey::of(entry.1));
            }
            run.sort_by(|a, b| a.0.1.cmp(&b.0.1));
        }
        trace_map(entries.into_iter().map(|(_, entry)| entry), visitor);
    }
}

// SAFETY: the map owns its keys and values and visits each once.
unsafe impl<K: Trace, T: Trace> Trace for BTreeMap<K, T> {
    tracked_as_any_of!(K, T);
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        trace_map(self, visitor);
    }
}

macro_rules! tuple {
    ($(($($name:ident $index:tt),+))*) => {$(
        // SAFETY: the tuple owns its fields and visits each once.
        unsafe impl<$($name: Trace),+> Trace for ($($name,)+) {
            tracked_as_any_of!($($name),+);
            #[inline]
            fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
                $(
                    if $name::TRACKED {
                        visitor.enter(Segment::Field(stringify!($index)));
                        self.$index.trace(visitor);
                        visitor.leave();
                    }
                )+
            }
            /// As Python writes a tuple, `(1, "a")`, when every field has a description (a
            /// map keyed by tuples labels its edges `map[(1, "a")]`).
            fn describe(&self) -> Option<String> {
                Some(tuple_description(&[$(self.$index.describe()?),+]))
            }
        }
    )*};
}

/// A tuple's description from its fields': `(a, b)`, and `(a,)` for one field.
fn tuple_description(fields: &[String]) -> String {
    match fields {
        [one] => format!("({one},)"),
        fields => format!("({})", fields.join(", ")),
    }
}

tuple! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11)
}
