//! Python's `gc` module, as free functions on the current thread's heap.

use std::fmt;
use std::io::Write;
use std::rc::Rc;

use rc_heap::{Gc, GcAny, Handle, Referent};

use crate::collection::{self, collect_with_callbacks};
use crate::debug::DebugFlags;
use crate::incremental;
use crate::install::with_installed_state;
use crate::state::{
    ALL_LISTS, CallbackId, CallbackInfo, CollectionPolicy, FinalizerPolicy, GenerationStats, NEWCOMERS,
    NUM_GENERATIONS, PERMANENT, Phase, RECENT, generation_lists,
};
use crate::walk::{for_each, list, list_len};

/// An argument Python's `gc` would reject with `ValueError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GcError {
    /// A generation number of 3 or more (`gc.collect(3)`: "invalid generation").
    InvalidGeneration(usize),
}

impl fmt::Display for GcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcError::InvalidGeneration(generation) => {
                write!(f, "invalid generation {generation}: generations are 0, 1 and 2 (there are {NUM_GENERATIONS})")
            }
        }
    }
}

impl std::error::Error for GcError {}

fn check_generation(generation: usize) -> Result<(), GcError> {
    if generation < NUM_GENERATIONS { Ok(()) } else { Err(GcError::InvalidGeneration(generation)) }
}

/// `gc.enable()`: turns automatic collection on (it is on by default).
pub fn enable() {
    with_installed_state(|state| {
        state.enabled.set(true);
        state.update_young_limit();
    });
}

/// `gc.disable()`: turns automatic collection off. [`collect`] still works.
pub fn disable() {
    with_installed_state(|state| {
        state.enabled.set(false);
        state.update_young_limit();
    });
}

/// `gc.isenabled()`.
pub fn is_enabled() -> bool {
    with_installed_state(|state| state.enabled.get())
}

/// `gc.collect()`: a full collection. Returns the number of unreachable objects found
/// (collected plus uncollectable); 0 when called during a collection.
pub fn collect() -> usize {
    with_installed_state(|state| {
        let outcome = collect_with_callbacks(state, NUM_GENERATIONS - 1);
        outcome.collected + outcome.uncollectable
    })
}

/// `gc.collect(generation)`: collects `generation` and the younger ones. Under
/// [`CollectionPolicy::Incremental`], generation 1 is the young generation and an increment
/// of the old one (what automatic collection runs), and generation 2 a full collection.
pub fn collect_generation(generation: usize) -> Result<usize, GcError> {
    check_generation(generation)?;
    Ok(with_installed_state(|state| {
        let outcome = collect_with_callbacks(state, generation);
        outcome.collected + outcome.uncollectable
    }))
}

/// `gc.get_count()`: the current collection counts of the three generations. Under
/// [`CollectionPolicy::Incremental`]: the young count, the increments of the current pass
/// over the old generation, and the passes completed since the last full collection.
pub fn get_count() -> (usize, usize, usize) {
    with_installed_state(|state| {
        let [a, b, c] = state.counts();
        (a, b, c)
    })
}

/// `gc.set_threshold(threshold0, threshold1, threshold2)`. A `threshold0` of 0 disables
/// automatic collection. Under [`CollectionPolicy::Incremental`], `threshold1` sets the
/// slowest rate of the scan of the old generation (each increment takes at least
/// `threshold0 / threshold1` old objects: higher is slower) and `threshold2` is unused.
pub fn set_threshold(threshold0: usize, threshold1: usize, threshold2: usize) {
    with_installed_state(|state| {
        state.thresholds.set([threshold0, threshold1, threshold2]);
        state.update_young_limit();
    });
}

/// `gc.get_threshold()`.
pub fn get_threshold() -> (usize, usize, usize) {
    with_installed_state(|state| {
        let [a, b, c] = state.thresholds.get();
        (a, b, c)
    })
}

/// `gc.get_objects(generation=None)`: every object the collector tracks, or those of one
/// generation. Frozen objects are listed only when `generation` is `None`. Under
/// [`CollectionPolicy::Incremental`], as in Python 3.14, generation 1 has no objects and
/// generation 2 is the whole old generation.
///
/// ```
/// use rc_heap::{Gc, Trace};
///
/// #[derive(Trace)]
/// struct Node {
///     next: Option<Gc<Node>>,
/// }
///
/// let node = Gc::new(Node { next: None });
/// let tracked = gen_gc::get_objects(None);
/// assert!(tracked.iter().any(|object| object.downcast::<Node>().is_some_and(|n| Gc::ptr_eq(&n, &node))));
/// ```
///
/// # Panics
/// When `generation` is 3 or more, as Python raises `ValueError`; [`try_get_objects`]
/// returns the error instead.
#[track_caller]
pub fn get_objects(generation: Option<usize>) -> Vec<GcAny> {
    match try_get_objects(generation) {
        Ok(objects) => objects,
        Err(error) => panic!("gen_gc::get_objects: {error}"),
    }
}

/// [`get_objects`], with an error instead of a panic for a generation of 3 or more.
pub fn try_get_objects(generation: Option<usize>) -> Result<Vec<GcAny>, GcError> {
    let policy = with_installed_state(|state| state.collection_policy.get());
    let lists: &[usize] = match generation {
        Some(generation) => {
            check_generation(generation)?;
            generation_lists(generation, policy)
        }
        None => &ALL_LISTS,
    };
    let mut objects = Vec::new();
    for &index in lists {
        // SAFETY: objects in the heap's lists are alive and not queued to die.
        for_each(list(index), |header| objects.push(unsafe { rc_heap::raw::handle(header) }));
    }
    Ok(objects)
}

/// One object or several, as [`get_referents`] and [`get_referrers`] take them (Python's
/// `*objs`): a `Gc<T>`, a [`GcAny`] or a [`Referent`](rc_heap::Referent) (any [`Handle`]),
/// or a slice, array or `Vec` of them, or a reference to any of these.
///
/// ```
/// use rc_heap::{Gc, GcAny};
///
/// let a = Gc::new(vec![Gc::new(1_u8)]);
/// let b = Gc::new(vec![Gc::new(2_u8)]);
/// assert_eq!(gen_gc::get_referents(&a).len(), 1);
/// assert_eq!(gen_gc::get_referents(&[a.clone(), b.clone()]).len(), 2);
/// let objects: Vec<GcAny> = vec![Gc::to_any(&a), Gc::to_any(&b)];
/// assert_eq!(gen_gc::get_referents(&objects).len(), 2);
/// assert_eq!(gen_gc::get_referents(&objects[..1]).len(), 1);
/// ```
pub trait Objects {
    /// Calls `visit` with a handle to each object. An associated function, not a method, so
    /// that it never hides a method of the value a `Gc` dereferences to.
    fn for_each_object(this: &Self, visit: &mut dyn FnMut(&GcAny));
}

impl<T: ?Sized> Objects for Gc<T> {
    fn for_each_object(this: &Self, visit: &mut dyn FnMut(&GcAny)) {
        visit(&Gc::to_any(this));
    }
}

impl Objects for GcAny {
    fn for_each_object(this: &Self, visit: &mut dyn FnMut(&GcAny)) {
        visit(this);
    }
}

impl Objects for Referent {
    fn for_each_object(this: &Self, visit: &mut dyn FnMut(&GcAny)) {
        visit(&this.target);
    }
}

impl<H: Handle> Objects for [H] {
    fn for_each_object(this: &Self, visit: &mut dyn FnMut(&GcAny)) {
        for object in this {
            visit(&Handle::to_gc_any(object));
        }
    }
}

impl<H: Handle, const N: usize> Objects for [H; N] {
    fn for_each_object(this: &Self, visit: &mut dyn FnMut(&GcAny)) {
        Objects::for_each_object(this.as_slice(), visit);
    }
}

impl<H: Handle> Objects for Vec<H> {
    fn for_each_object(this: &Self, visit: &mut dyn FnMut(&GcAny)) {
        Objects::for_each_object(this.as_slice(), visit);
    }
}

impl<O: Objects + ?Sized> Objects for &O {
    fn for_each_object(this: &Self, visit: &mut dyn FnMut(&GcAny)) {
        O::for_each_object(this, visit);
    }
}

/// `gc.get_referents(*objs)`: the objects that `objects` (one or several, see [`Objects`])
/// refer to directly, in the order their `Trace` visits them (fields in order, a `Vec` from
/// its start, where CPython's lists and tuples report from their end).
/// [`GcAny::referents`] gives the edge labels too. What sits in a `RefCell` that is
/// mutably borrowed at the time cannot be read, and is left out (as the collector leaves it
/// alone while it is lent).
pub fn get_referents<O: Objects + ?Sized>(objects: &O) -> Vec<GcAny> {
    let mut referents = Vec::new();
    O::for_each_object(objects, &mut |object| {
        referents.extend(object.referents().into_iter().map(|referent| referent.target));
    });
    referents
}

/// `gc.get_referrers(*objs)`: the tracked objects that refer directly to any of `objects`
/// (one or several, see [`Objects`]). An object whose reference sits in a `RefCell` that is
/// mutably borrowed at the time is not found through it (see [`get_referents`]).
pub fn get_referrers<O: Objects + ?Sized>(objects: &O) -> Vec<GcAny> {
    let mut targets = std::collections::HashSet::new();
    O::for_each_object(objects, &mut |object| {
        targets.insert(object.addr());
    });
    let mut referrers = Vec::new();
    for index in ALL_LISTS {
        for_each(list(index), |header| {
            struct Refers<'a> {
                targets: &'a std::collections::HashSet<usize>,
                found: bool,
            }
            impl rc_heap::Visitor for Refers<'_> {
                fn visit_edge(&mut self, edge: rc_heap::Edge<'_>) {
                    self.found |= self.targets.contains(&(edge.header().as_ptr() as usize));
                }
            }
            let mut visitor = Refers { targets: &targets, found: false };
            // SAFETY: objects in the heap's lists are alive with their values intact.
            unsafe { rc_heap::raw::trace(header, &mut visitor) };
            if visitor.found {
                // SAFETY: as above.
                referrers.push(unsafe { rc_heap::raw::handle(header) });
            }
        });
    }
    referrers
}

/// `gc.is_tracked(obj)`: whether the collector tracks the object (its type may hold `Gc`s).
/// `object` is a `Gc<T>`, a [`GcAny`] or any other [`Handle`].
pub fn is_tracked(object: &impl Handle) -> bool {
    Handle::to_gc_any(object).is_tracked()
}

/// `gc.is_finalized(obj)`: whether the collector's record says the object's finalizer has
/// run. `object` is a `Gc<T>`, a [`GcAny`] or any other [`Handle`]. An object the collector
/// does not track is never finalized in this sense, as CPython's objects outside the
/// collector are not; [`Gc::is_finalized`](rc_heap::Gc::is_finalized) says whether its
/// finalizer ran (once: a resurrected untracked object does not run it again, where CPython
/// runs `__del__` at each death of an object outside its collector).
pub fn is_finalized(object: &impl Handle) -> bool {
    let object = Handle::to_gc_any(object);
    object.is_tracked() && object.is_finalized()
}

/// `gc.freeze()`: moves every tracked object to the permanent generation, which no
/// collection examines.
///
/// # Panics
/// When called from a `Trace` impl while the collector walks the heap (Trace's rule 2).
pub fn freeze() {
    refuse_during_walk("freeze");
    with_installed_state(collection::freeze);
}

/// `gc.unfreeze()`: moves the permanent generation back into the oldest generation.
///
/// # Panics
/// When called from a `Trace` impl while the collector walks the heap (Trace's rule 2).
pub fn unfreeze() {
    refuse_during_walk("unfreeze");
    with_installed_state(collection::unfreeze);
}

/// Panics if the collector is walking the heap: only a `Trace` impl runs then, and Trace's
/// rule 2 forbids it to change the heap.
fn refuse_during_walk(function: &str) {
    assert!(
        !rc_heap::raw::is_walking(),
        "gen_gc::{function} was called while the collector walks the heap, from a Trace impl \
         (Trace's rule 2 forbids changing the heap there)"
    );
}

/// `gc.get_freeze_count()`: the number of objects in the permanent generation.
pub fn get_freeze_count() -> usize {
    list_len(list(PERMANENT))
}

/// `gc.garbage`: uncollectable objects (legacy finalizer policy) and, with
/// [`DEBUG_SAVEALL`](crate::DEBUG_SAVEALL), everything a collection found unreachable.
/// Returns handles; the list keeps its own.
pub fn garbage() -> Vec<GcAny> {
    with_installed_state(|state| state.garbage.borrow().clone())
}

/// Empties `gc.garbage` (`del gc.garbage[:]`) and returns what it held. Dropping the result
/// lets reference counting and the next collection free those objects.
pub fn take_garbage() -> Vec<GcAny> {
    with_installed_state(|state| std::mem::take(&mut *state.garbage.borrow_mut()))
}

/// `gc.garbage.append(object)`: puts a handle of one's own in `gc.garbage`, which then keeps
/// the object until [`take_garbage`] empties it (a non-empty `garbage` at thread exit is
/// reported, as CPython warns at shutdown).
pub fn push_garbage(object: GcAny) {
    with_installed_state(|state| state.garbage.borrow_mut().push(object));
}

/// `gc.callbacks`, read: the registered callbacks, in the order they run (registration
/// order). `callbacks().len()` is `len(gc.callbacks)`.
pub fn callbacks() -> Vec<CallbackId> {
    with_installed_state(|state| state.callbacks.borrow().iter().map(|(id, _)| *id).collect())
}

/// `gc.callbacks.clear()`: unregisters every callback; returns how many there were.
pub fn clear_callbacks() -> usize {
    // Dropped once the list is no longer borrowed, as in `remove_callback`.
    let removed = with_installed_state(|state| std::mem::take(&mut *state.callbacks.borrow_mut()));
    removed.len()
}

/// `gc.callbacks.append(callback)`: `callback(phase, info)` runs at the start and the stop
/// of every collection. A panicking callback is caught and reported on the debug output.
pub fn add_callback(callback: impl Fn(Phase, &CallbackInfo) + 'static) -> CallbackId {
    with_installed_state(|state| state.add_callback(Rc::new(callback)))
}

/// `gc.callbacks.remove(callback)`. Returns whether it was registered.
pub fn remove_callback(id: CallbackId) -> bool {
    // The callback is dropped once the list is no longer borrowed: dropping what it
    // captured may run user code that registers or removes callbacks.
    let removed = with_installed_state(|state| {
        let mut callbacks = state.callbacks.borrow_mut();
        let at = callbacks.iter().position(|(registered, _)| *registered == id)?;
        Some(callbacks.remove(at))
    });
    removed.is_some()
}

/// The same as [`add_callback`] (registering is appending to `gc.callbacks`): `callback`
/// runs at the start and the stop of every collection.
pub fn register_callback(callback: impl Fn(Phase, &CallbackInfo) + 'static) -> CallbackId {
    add_callback(callback)
}

/// The same as [`remove_callback`] (unregistering is `gc.callbacks.remove`). Returns
/// whether it was registered.
pub fn unregister_callback(id: CallbackId) -> bool {
    remove_callback(id)
}

/// `gc.set_debug(flags)`.
pub fn set_debug(flags: DebugFlags) {
    with_installed_state(|state| state.debug.set(flags));
}

/// `gc.get_debug()`.
pub fn get_debug() -> DebugFlags {
    with_installed_state(|state| state.debug.get())
}

/// Where the `DEBUG_*` lines go: `None` for standard error (the default).
///
/// The writer runs during collections, on the `gc: collectable` lines before the garbage's
/// weak references are cleared: if it upgrades one of them (or reaches the garbage another
/// way), the collection recounts, as after a finalizer, and what the writer holds survives,
/// not counted as collected.
///
/// # Panics
/// When called from the debug writer's own `write` (the collector then reports the writer
/// as panicking and writes to standard error from then on).
pub fn set_debug_output(writer: Option<Box<dyn Write>>) {
    with_installed_state(|state| state.set_writer(writer));
}

/// `gc.get_stats()`: per generation, the collections, collected and uncollectable counts.
pub fn get_stats() -> [GenerationStats; NUM_GENERATIONS] {
    with_installed_state(|state| state.stats.get())
}

/// Chooses the finalizer semantics of later collections.
pub fn set_finalizer_policy(policy: FinalizerPolicy) {
    with_installed_state(|state| state.policy.set(policy));
}

/// Chooses how automatic collection treats the old generation on this thread:
/// [`CollectionPolicy::Incremental`] (the default, unless the `CYCLEGC_COLLECTION_POLICY`
/// environment variable says `generational`) or CPython 3.11's
/// [`CollectionPolicy::Generational`]. Switching walks the old generation once.
///
/// # Panics
/// When called from a `Trace` impl while the collector walks the heap (Trace's rule 2), or
/// during a collection (from a finalizer, a callback or a `Drop`).
pub fn set_collection_policy(policy: CollectionPolicy) {
    refuse_during_walk("set_collection_policy");
    with_installed_state(|state| {
        assert!(!state.collecting.get(), "gen_gc::set_collection_policy was called during a collection");
        if state.collection_policy.replace(policy) == policy {
            return;
        }
        match policy {
            CollectionPolicy::Incremental => incremental::enter(state),
            CollectionPolicy::Generational => {
                // SAFETY: distinct sentinels of this thread's heap.
                unsafe {
                    rc_heap::raw::Links::splice_all(list(NEWCOMERS), list(1));
                    rc_heap::raw::Links::splice_all(list(RECENT), list(1));
                }
                state.older_counts.set([0; NUM_GENERATIONS]);
                state.long_lived_pending.set(0);
                state.long_lived_total.set(list_len(list(NUM_GENERATIONS - 1)));
            }
        }
    });
}

/// The collection policy in use on this thread.
pub fn get_collection_policy() -> CollectionPolicy {
    with_installed_state(|state| state.collection_policy.get())
}

/// The finalizer semantics in use.
pub fn get_finalizer_policy() -> FinalizerPolicy {
    with_installed_state(|state| state.policy.get())
}

/// Whether a collection is running on this thread (user code called from one sees `true`).
pub fn is_collecting() -> bool {
    with_installed_state(|state| state.collecting.get())
}
