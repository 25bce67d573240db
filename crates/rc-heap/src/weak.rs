//! Weak references, with optional callbacks (Python's `weakref.ref(obj, callback)`): their
//! slots, the lists an object's side entry keeps of them, and their clearing at death. The
//! handle, [`Weak<T>`](crate::Weak), is a typed view of a slot (the `weak_handle` module).
//!
//! A weak reference is a small slot outside the object, like CPython's weakref objects: the
//! object's memory is freed as soon as its strong count reaches zero, and the slot is told
//! the object is gone. An object finds its slots through its side entry ([`WeakList`], kept
//! in its pool's array or the heap's side table), which holds two pointers, as CPython's
//! object holds its `tp_weaklist`: the shared slot without a callback, and the newest slot
//! with one, from which the others with callbacks are linked newest to oldest through the
//! slots themselves. Making a weak reference costs the slot's allocation and one access to
//! the side entry (for an object of a pool, an index into its pool's array: no hashing); a
//! death, one access and a walk of the list.
//!
//! A slot is a block of the heap's pools with a count of its handles ([`SlotRef`]), as an
//! object is, so that making one costs a pool allocation rather than a `malloc`. The shared
//! slot without a callback is the smallest block there is ([`WeakSlot`], 16 bytes); a slot
//! with a callback is a [`CallbackSlot`] that starts with the same two words; a slot
//! reporting to a deferred watcher is a [`WatchedSlot`] (32 bytes), which may be the
//! object's shared slot, since it runs nothing either.
//!
//! **Invariant:** a slot is *listed* (the entry's shared slot, or in its list) exactly while
//! its target is set. A listed pointer came from a live [`SlotRef`], and a slot unlists
//! itself before its memory goes (its `Drop`, while its target is set), so a listed pointer
//! always points at a live slot. Clearing the targets unlists every slot at once.

use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::rc::Rc;

use crate::header::{ObjHeader, flags};
use crate::side::{WeakList, WeakTarget};
use crate::trace::{Edge, Segment, Visitor, WeakEdge};
use crate::{heap, pool};

/// A callback of a weak reference's own, given the weak reference's slot.
type OwnCallback = Box<dyn FnOnce(&SlotRef)>;

/// What a weak reference does when its object dies.
pub(crate) enum Callback {
    /// A callback of its own (`Gc::downgrade_with_callback`).
    Once(OwnCallback),
    /// A callback whose captures the collector sees (`Gc::downgrade_with_traced_callback`).
    Traced(Box<dyn TracedCallback>),
    /// A word to a watcher shared by many weak references (`Gc::downgrade_watched`): no
    /// allocation per weak reference, and the watcher learns which one died by its tag.
    Watched(Rc<WatchState>, usize),
}

impl Callback {
    /// Whether this is a report to a deferred watcher ([`Watcher::deferred`]): a mark made
    /// as the weak reference is cleared, no code run, and not counted among the callbacks
    /// that may still run (`heap::add_pending_callbacks`), which the collector asks about.
    #[inline]
    fn is_deferred_report(&self) -> bool {
        matches!(self, Callback::Watched(state, _) if state.deferred)
    }
}

/// A weak reference's callback whose captures are traced: while the weak reference's handle
/// is the only one to its slot, tracing the handle traces the captures, so a callback that
/// holds its weak reference's owner is a cycle the collector sees.
pub(crate) trait TracedCallback {
    /// Reports the captures' edges.
    fn trace(&self, visitor: &mut dyn Visitor);
    /// Runs the callback with the (dead) weak reference of `slot`.
    fn call(self: Box<Self>, slot: &SlotRef);
}

/// Something told of the deaths of objects it holds weak references to, one call per
/// death, with the tag the weak reference was made with ([`Gc::downgrade_watched`](crate::Gc::downgrade_watched)).
///
/// One watcher serves many weak references: a weak container is the watcher of all its
/// entries, as CPython's `WeakValueDictionary` gives every entry the same `_remove`
/// callback, and finds the entry by its tag instead of allocating a callback per entry.
/// A watcher is held weakly (by its [`Watcher`], which its weak references hold), so that
/// the container's own entries do not keep it alive; once it is gone, its weak references'
/// deaths are not reported.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use rc_heap::{DeathWatch, Gc, Watcher};
///
/// struct Deaths(RefCell<Vec<usize>>);
/// impl DeathWatch for Deaths {
///     fn died(&self, tag: usize) {
///         self.0.borrow_mut().push(tag);
///     }
/// }
///
/// let deaths = Rc::new(Deaths(RefCell::new(Vec::new())));
/// let watcher = Watcher::new(Rc::downgrade(&deaths) as _);
/// let object = Gc::new(5u32);
/// let weak = Gc::downgrade_watched(&object, &watcher, 7);
/// assert_eq!(watcher.upgrade(7, &weak).as_deref(), Some(&5));
/// drop(object);
/// assert!(watcher.upgrade(7, &weak).is_none());
/// assert_eq!(*deaths.0.borrow(), [7]);
/// ```
///
/// [`died`](DeathWatch::died) is a weak-reference callback in every other way: it runs
/// after every weak reference to the object reads dead, newest first among the object's
/// callbacks, at most once, not at all if the weak reference was dropped before or is owned
/// by garbage the collector is deleting (then [`died_unreachable`](DeathWatch::died_unreachable)
/// is called instead); it may allocate, drop handles or collect; a panic is caught and
/// raised again when the death is over.
pub trait DeathWatch {
    /// The object of the weak reference made with `tag` has died.
    fn died(&self, tag: usize);

    /// The object of the weak reference made with `tag` died in a collection that found the
    /// weak reference's owner unreachable too, so [`died`](DeathWatch::died) is not called
    /// (CPython calls no callback of a weak reference that is itself garbage). The owner
    /// usually goes with the garbage; when it does not (`DEBUG_SAVEALL` keeps it in
    /// `gc.garbage`, a finalizer resurrects it), this tells it of the death, so that it can
    /// note it for later. It runs while the collector deletes garbage: it must only note the
    /// tag, not drop handles, allocate heap objects or run code of anyone else's. By default
    /// it does nothing.
    fn died_unreachable(&self, tag: usize) {
        let _ = tag;
    }
}

/// A [`DeathWatch`] as its weak references know it, and what they tell it before any
/// callback runs: which of them still point at a live object.
///
/// A watcher is made once ([`Watcher::new`]) and passed to
/// [`Gc::downgrade_watched`](crate::Gc::downgrade_watched) for every weak reference that
/// reports to it; each such weak reference holds the watcher's state (not the
/// `DeathWatch`, which it holds weakly). Besides the reports, the watcher keeps a dense
/// record, by tag, of its live weak references: set when one is made, cleared when its
/// object dies (at the moment the weak reference reads dead, before any callback) or when
/// it is dropped first. [`Watcher::upgrade`] reads that record, one word per tag in tag
/// order, instead of the weak reference's own slot: a container that walks its entries by
/// tag reads a few bytes per entry instead of a cache line.
#[derive(Clone)]
pub struct Watcher(Rc<WatchState>);

/// What a [`Watcher`]'s weak references hold: where to report, and the record of the
/// live ones.
pub(crate) struct WatchState {
    /// The watcher told of each death.
    report: std::rc::Weak<dyn DeathWatch>,
    /// By tag, the slot of the newest weak reference made with the tag while its object
    /// lives; [`DEAD`] once it died under a deferred watcher, until the death is taken;
    /// null otherwise (and for tags too far past the others to record).
    ///
    /// **Invariant:** a slot recorded here is listed (so alive, its target set), and was
    /// made with a `Watched` callback to this state under its tag. Kept by
    /// [`WatchState::record`] (a slot just listed), [`clear_each`] and the one-callback
    /// path of [`clear_and_run`] (a slot whose target is cleared is forgotten first) and
    /// [`free_slot`] (so is a slot freed with its callback). A callback is taken for good
    /// only from a slot already forgotten (its target cleared); the walks that take one for
    /// a moment put it back before anything else runs.
    live: UnsafeCell<Vec<Cell<*const WeakSlot>>>,
    /// Whether deaths are only marked in the record ([`Watcher::deferred`]): the weak
    /// reference's word becomes [`DEAD`] and nothing is called, for the owner to take the
    /// marks with [`Watcher::take_deaths`] when it is next used.
    deferred: bool,
    /// The number of words of the record that are [`DEAD`].
    dead: Cell<usize>,
    /// The range of tags the [`DEAD`] words are in: from the lowest to one past the highest
    /// marked since the marks were last taken (empty while `dead` is zero).
    dead_from: Cell<usize>,
    dead_to: Cell<usize>,
}

/// The record's word for a tag whose weak reference died under a deferred watcher and whose
/// death its owner has not taken yet: no slot's address (slots are aligned to 16).
const DEAD: *const WeakSlot = std::ptr::without_provenance(1);

impl WatchState {
    /// The record, to read.
    #[inline]
    fn live(&self) -> &[Cell<*const WeakSlot>] {
        // SAFETY: the vector is only changed by `record` and `shrink_to`, which hold its
        // `&mut` for no longer than the call, call out to nothing and are never running while
        // this borrow lives (every borrow of the record is as short: a read, a store through a
        // `Cell`, no call out). `WatchState` is not `Sync`.
        unsafe { &*self.live.get() }
    }

    /// Records `slot`, just listed with a `Watched` callback to this state under `tag`.
    #[inline]
    fn record(&self, tag: usize, slot: *const WeakSlot) {
        // SAFETY: as in `live`: no other borrow of the record lives during this call.
        let live = unsafe { &mut *self.live.get() };
        match live.get(tag) {
            Some(recorded) => {
                // A death not taken yet, of a weak reference made with the tag before: its
                // owner, making a new one with the tag, has settled its entry already.
                if std::ptr::eq(recorded.get(), DEAD) {
                    self.dead.set(self.dead.get() - 1);
                }
                recorded.set(slot);
            }
            // A container's tags are its slots: the next one is the usual new tag.
            None if tag == live.len() => live.push(Cell::new(slot)),
            // A tag far past the others is not recorded (the record at most doubles for
            // one): its weak reference is upgraded through its slot, as it would be anyway.
            None if tag - live.len() > live.len().max(64) => {}
            None => {
                live.resize_with(tag, || Cell::new(std::ptr::null()));
                live.push(Cell::new(slot));
            }
        }
    }

    /// Forgets `slot`, whose target is being cleared or which is being freed, if it is the
    /// one recorded under `tag` (a newer weak reference made with the tag may be).
    #[inline]
    fn forget(&self, tag: usize, slot: *const WeakSlot) {
        if let Some(recorded) = self.live().get(tag)
            && std::ptr::eq(recorded.get(), slot)
        {
            recorded.set(std::ptr::null());
        }
    }

    /// The death of `slot`, whose target is being cleared: forgets it if it is the one
    /// recorded under `tag`, as [`forget`](Self::forget) does; a deferred watcher marks its
    /// word [`DEAD`] instead, for its owner to take.
    #[inline]
    fn died(&self, tag: usize, slot: *const WeakSlot) {
        if !self.deferred {
            return self.forget(tag, slot);
        }
        if let Some(recorded) = self.live().get(tag)
            && std::ptr::eq(recorded.get(), slot)
        {
            recorded.set(DEAD);
            self.count_mark(tag);
        }
    }

    /// Counts a mark just made under `tag`, widening the range the marks are in.
    #[inline]
    fn count_mark(&self, tag: usize) {
        let dead = self.dead.get();
        if dead == 0 {
            self.dead_from.set(tag);
            self.dead_to.set(tag + 1);
        } else {
            self.dead_from.set(self.dead_from.get().min(tag));
            self.dead_to.set(self.dead_to.get().max(tag + 1));
        }
        self.dead.set(dead + 1);
    }

    /// Marks `tag` dead in a deferred watcher's record for a weak reference made to an object
    /// already dropped ([`watched_after_death`]): its word becomes [`DEAD`] (forgetting the
    /// weak reference recorded there before, if any, as a newer one with the tag does), and
    /// is counted unless it was marked already. A tag far past the others is not recorded,
    /// as in [`record`](Self::record).
    fn mark_dead(&self, tag: usize) {
        debug_assert!(self.deferred);
        // `record` uncounts a mark it overwrites, so a tag marked already is counted once.
        self.record(tag, DEAD);
        if self.live().get(tag).is_some_and(|recorded| std::ptr::eq(recorded.get(), DEAD)) {
            self.count_mark(tag);
        }
    }

    /// Makes room in the record for the tags below `tags`, so that recording them allocates
    /// nothing.
    fn reserve(&self, tags: usize) {
        // SAFETY: as in `record`: no other borrow of the record lives during this call.
        let live = unsafe { &mut *self.live.get() };
        live.reserve(tags.saturating_sub(live.len()));
    }

    /// Drops the record's words for `tags` and above and, if `give_back`, gives back the
    /// memory the rest does not use. The weak references whose words go are upgraded
    /// through their slots from then on (a new one made with such a tag is recorded again);
    /// the deaths marked there are forgotten.
    fn shrink_to(&self, tags: usize, give_back: bool) {
        // SAFETY: as in `record`: no other borrow of the record lives during this call
        // (`truncate` drops plain `Cell`s, which runs no code).
        let live = unsafe { &mut *self.live.get() };
        if tags == 0 {
            self.dead.set(0);
        } else if self.dead.get() > 0 && self.dead_to.get() > tags {
            let gone =
                live.get(tags..).map_or(0, |gone| gone.iter().filter(|word| std::ptr::eq(word.get(), DEAD)).count());
            self.dead.set(self.dead.get() - gone);
            self.dead_to.set(self.dead_to.get().min(tags));
        }
        live.truncate(tags);
        if give_back {
            live.shrink_to_fit();
        }
    }

    /// Whether `slot` is the one recorded under `tag`, so listed, its object allocated.
    #[inline]
    fn is_recorded(&self, tag: usize, slot: *const WeakSlot) -> bool {
        self.live().get(tag).is_some_and(|recorded| std::ptr::eq(recorded.get(), slot))
    }
}

impl Watcher {
    /// A watcher that reports deaths to `watch`: a weak handle, so that the weak references
    /// reporting to it do not keep it alive (a container is usually built with
    /// `Rc::new_cyclic`, its watcher made from the `Weak` it is given). Once `watch` is
    /// gone, deaths are no longer reported.
    pub fn new(watch: std::rc::Weak<dyn DeathWatch>) -> Watcher {
        Watcher::with(watch, false)
    }

    /// A watcher that calls nothing when its weak references' objects die: each death
    /// marks the weak reference's word of the record, and the owner takes the marks when it
    /// is next used ([`take_deaths`](Watcher::take_deaths)), as CPython's weak containers
    /// queue removals while they are iterated, but always. A death then costs what the
    /// death of an object with a plain weak reference costs, and the owner removes its dead
    /// entries together, later. For an owner whose removal of a dead entry runs no code of
    /// anyone's (it drops nothing that has drop glue besides the weak reference), so that
    /// doing it later changes nothing that can be seen but when memory is given back.
    ///
    /// Its weak references run nothing, so they are no callbacks ([`Weak::has_callback`](crate::Weak::has_callback)
    /// is false), and the first one made to an object that has no plain weak reference yet
    /// is the object's shared slot: later [`Gc::downgrade`](crate::Gc::downgrade)s of the
    /// object share it ([`Weak::same_reference`](crate::Weak::same_reference)). While such
    /// a plain handle lives, the weak reference is not gone when the owner drops its own
    /// handle: its tag stays among the object's [`Gc::watched_tags`](crate::Gc::watched_tags)
    /// (last, whatever its age) and its death is still marked, so an owner checks that a
    /// tag it takes still names an entry of its own (a weak container checks its slot). The
    /// slot holds the watcher weakly: once the watcher is dropped, nothing is marked.
    ///
    /// ```
    /// use rc_heap::{Gc, Watcher};
    ///
    /// let watcher = Watcher::deferred();
    /// let objects: Vec<Gc<u32>> = (0..4).map(Gc::new).collect();
    /// let weak: Vec<_> =
    ///     objects.iter().enumerate().map(|(tag, object)| Gc::downgrade_watched(object, &watcher, tag)).collect();
    /// drop(objects);
    /// assert_eq!(watcher.dead_count(), 4);
    /// let mut dead = Vec::new();
    /// watcher.take_deaths(|tag| dead.push(tag));
    /// assert_eq!(dead, [0, 1, 2, 3]);
    /// assert_eq!(watcher.dead_count(), 0);
    /// assert!(weak.iter().all(|weak| weak.upgrade().is_none()));
    /// ```
    pub fn deferred() -> Watcher {
        /// The report of a deferred watcher, never made.
        struct Nobody;
        impl DeathWatch for Nobody {
            fn died(&self, _tag: usize) {}
        }
        Watcher::with(std::rc::Weak::<Nobody>::new(), true)
    }

    fn with(watch: std::rc::Weak<dyn DeathWatch>, deferred: bool) -> Watcher {
        Watcher(Rc::new(WatchState {
            report: watch,
            live: UnsafeCell::new(Vec::new()),
            deferred,
            dead: Cell::new(0),
            dead_from: Cell::new(0),
            dead_to: Cell::new(0),
        }))
    }

    /// Whether this watcher only marks deaths ([`Watcher::deferred`]).
    pub fn is_deferred(&self) -> bool {
        self.0.deferred
    }

    /// How many deaths a deferred watcher has marked that [`take_deaths`](Watcher::take_deaths)
    /// has not taken: the weak references recorded under their tags whose objects died
    /// since. Always zero for a watcher that reports its deaths.
    #[inline]
    pub fn dead_count(&self) -> usize {
        self.0.dead.get()
    }

    /// Calls `each` with the tag of every death marked since the last call, lowest tag
    /// first, and forgets the marks (the tags' words of the record read empty). `each`
    /// may do anything, this watcher's methods included: a death it causes is taken by
    /// this call too.
    pub fn take_deaths(&self, mut each: impl FnMut(usize)) {
        let state = &self.0;
        while state.dead.get() > 0 {
            // Every mark is in the range; one made by `each` during the walk widens it, and
            // is taken by this round if it is still ahead, by the next otherwise.
            let (from, to) = (state.dead_from.get(), state.dead_to.get());
            let mut taken = false;
            let mut tag = from;
            while tag < state.dead_to.get().max(to) {
                // The record is read afresh at each step: `each` may have changed it.
                let Some(word) = state.live().get(tag) else { break };
                if std::ptr::eq(word.get(), DEAD) {
                    word.set(std::ptr::null());
                    state.dead.set(state.dead.get() - 1);
                    taken = true;
                    each(tag);
                    if state.dead.get() == 0 {
                        return;
                    }
                }
                tag += 1;
            }
            if !taken && state.dead_from.get() == from {
                debug_assert!(false, "a watcher counts {} deaths its record does not mark", state.dead.get());
                state.dead.set(0);
            }
        }
    }

    /// Forgets every death marked since [`take_deaths`](Watcher::take_deaths) was last
    /// called, without naming them: for an owner that finds its dead entries by itself (a
    /// container most of whose entries died, which walks them all anyway).
    pub fn forget_deaths(&self) {
        let state = &self.0;
        if state.dead.get() == 0 {
            return;
        }
        let (from, to) = (state.dead_from.get(), state.dead_to.get());
        for word in state.live().get(from..to.min(state.live().len())).unwrap_or_default() {
            if std::ptr::eq(word.get(), DEAD) {
                word.set(std::ptr::null());
            }
        }
        state.dead.set(0);
    }

    /// Forgets every weak reference the record names and every death marked, keeping the
    /// record's memory for the tags to come: for an owner none of whose entries is left (a
    /// container whose entries all died). A weak reference made before is upgraded through
    /// its own slot from then on, and its death is not marked.
    pub fn clear_record(&self) {
        self.0.shrink_to(0, false);
    }

    /// Makes room in the record for the tags below `tags` (a word each), so that weak
    /// references made with them are recorded without the record growing: for an owner that
    /// knows how many entries it is about to hold.
    pub fn reserve_record(&self, tags: usize) {
        self.0.reserve(tags);
    }

    /// Forgets the record's words for `tags` and above and frees the memory the record
    /// does not need below: for a container whose tags (its slots) no longer reach that far.
    /// A weak reference made with such a tag still reports its death under it; it is only
    /// upgraded through its own slot.
    pub fn shrink_record(&self, tags: usize) {
        self.0.shrink_to(tags, true);
    }

    /// Drops the handles `slots`, as dropping each does, and frees together the slots of
    /// the usual ones: this watcher's weak references whose object died and whose last
    /// handle this is (a container dropping its dead entries). Those run nothing when
    /// freed, so the blocks go back to their pools in one loop that finds the pools once and
    /// asks nothing of the slot but its kind, its handle count and its watcher; any other
    /// handle is dropped as usual.
    pub(crate) fn drop_slots(&self, slots: impl Iterator<Item = SlotRef>) {
        let state = Rc::as_ptr(&self.0);
        pool::freeing(SlotRef::WATCHED, |freer| {
            for slot in slots {
                let ptr = slot.0;
                // A dead watched slot: no object, and the flags of its kind (and no others).
                let dead_watched = slot.target.is_cleared_with(WeakTarget::BASIC | WeakTarget::OWNER_UNREACHABLE);
                if slot.handles.get() != 1 || !dead_watched {
                    drop(slot);
                    continue;
                }
                // SAFETY: a watched slot was allocated as a `WatchedSlot`; the handle keeps
                // it alive.
                let watched = unsafe { ptr.cast::<WatchedSlot>().as_ref() };
                if !std::ptr::eq(watched.state, state) {
                    drop(slot);
                    continue;
                }
                // The last handle, taken apart here: what `free_watched` does, with the state
                // known to be alive (this watcher holds it) and the record not naming the
                // slot (the record names listed slots only, and a death forgets its slot
                // before it clears the target).
                std::mem::forget(slot);
                debug_assert!(!self.is_recorded(watched.tag, ptr.as_ptr()));
                // SAFETY: the slot's weak count of the state (`SlotRef::watched`), given back
                // once; this watcher's strong count keeps the allocation, so nothing is freed.
                drop(unsafe { std::rc::Weak::from_raw(state) });
                // SAFETY: allocated with `WATCHED` on this thread; no handle refers to it and
                // what is left is plain words.
                unsafe { freer.free(ptr.as_ptr().cast()) };
            }
        });
    }

    /// Whether two handles are one watcher.
    pub fn ptr_eq(&self, other: &Watcher) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// The watcher's state, as its weak references hold it.
    pub(crate) fn state(&self) -> &Rc<WatchState> {
        &self.0
    }

    /// Whether `slot` is the live weak reference this watcher recorded under `tag` (see
    /// [`Watcher`]): if so, its object is allocated.
    #[inline]
    pub(crate) fn is_recorded(&self, tag: usize, slot: *const WeakSlot) -> bool {
        self.0.is_recorded(tag, slot)
    }
}

impl fmt::Debug for Watcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let live = self.0.live().iter().filter(|slot| !slot.get().is_null() && !std::ptr::eq(slot.get(), DEAD)).count();
        f.debug_struct("Watcher").field("live", &live).field("dead", &self.0.dead.get()).finish()
    }
}

/// The part of a weak reference every kind shares: where it points and how many handles it
/// has. A weak reference without a callback is this alone, 16 bytes: the slot every plain
/// `Gc::downgrade` of an object shares, as small as a block can be, so that downgrading
/// writes as little fresh memory as it can. A weak reference with a callback is a
/// [`CallbackSlot`], which starts with this part.
///
/// `repr(C)` with the target word first: a [`WeakList`] points at slots through their
/// target words, and a pointer to a [`CallbackSlot`] is a pointer to its `WeakSlot`.
#[repr(C)]
pub(crate) struct WeakSlot {
    /// The object (null once cleared), with its flags; [`WeakTarget::BASIC`] says which kind
    /// of slot this is.
    pub(crate) target: WeakTarget,
    /// The number of [`SlotRef`]s to this slot: the handles of this weak reference, and the
    /// temporary one a death holds while the callback runs.
    pub(crate) handles: Cell<usize>,
}

/// A weak reference with a callback: the shared part, the callback and the links of its
/// object's list of such slots.
#[repr(C)]
struct CallbackSlot {
    common: WeakSlot,
    callback: Cell<Option<Callback>>,
    /// While listed: the next older slot of the list (null at its end).
    older: Cell<*const CallbackSlot>,
    /// While listed: the next newer slot (null for the newest, which the side entry points
    /// at).
    newer: Cell<*const CallbackSlot>,
}

/// A weak reference reporting to a deferred watcher ([`Watcher::deferred`]): the shared
/// part, the watcher and the tag, 32 bytes (half a cache line, where a slot with a
/// callback takes a whole one). It has no callback to run, so it can be what a slot
/// without a callback is: the object's shared slot ([`WeakList::basic`]), which later
/// plain downgrades of the object share. An object whose shared slot is taken when it
/// enters a deferred watcher's container (a plain weak reference came first, or another
/// such container) gets a [`CallbackSlot`] with a `Watched` callback instead.
///
/// The slot holds its watcher weakly (a `std::rc::Weak`): plain handles sharing the slot may
/// outlive the container, and must not keep its record (a word per entry) alive.
#[repr(C)]
struct WatchedSlot {
    common: WeakSlot,
    /// The watcher's state: one weak count of its `Rc` (`Weak::into_raw`), given back when
    /// the slot is freed, so the state's allocation outlives the slot; the state itself
    /// lives while its owner's [`Watcher`] does.
    state: *const WatchState,
    tag: usize,
}

impl WatchedSlot {
    /// The watcher's state, while anyone holds it (the owner's [`Watcher`], or a slot with a
    /// `Watched` callback). The caller uses it at once, before any code runs that could
    /// drop the state's last handle.
    #[inline]
    fn state(&self) -> Option<&WatchState> {
        // SAFETY: `state` came from `Weak::into_raw` and this slot keeps that weak count
        // until it is freed, so the allocation is there; the count stays the slot's.
        let weak = std::mem::ManuallyDrop::new(unsafe { std::rc::Weak::from_raw(self.state) });
        // SAFETY: a strong count above zero means the value is alive, and the caller uses
        // the reference before any code runs that could drop it.
        (weak.strong_count() > 0).then(|| unsafe { &*self.state })
    }
}

// One 16-byte pool block for a plain weak reference, a 32-byte one for a deferred watcher's,
// one 64-byte block (one cache line) for one with a callback: 56 bytes, which the pool rounds
// up to its 16-byte granule.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(
    std::mem::size_of::<WeakSlot>() == 16
        && std::mem::size_of::<WatchedSlot>() == 32
        && std::mem::size_of::<CallbackSlot>() == 56
);

/// Which kind of slot a [`WeakSlot`] starts, from its target word's flags (see
/// [`WeakTarget`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SlotKind {
    /// A bare [`WeakSlot`]: a plain weak reference, or a dead or never-made one.
    Basic,
    /// A [`WatchedSlot`].
    Watched,
    /// A [`CallbackSlot`].
    WithCallback,
}

impl WeakSlot {
    /// The object, while it is alive.
    pub(crate) fn target(&self) -> Option<NonNull<ObjHeader>> {
        self.target.get()
    }

    /// Which kind of slot this is the start of.
    #[inline]
    fn kind(&self) -> SlotKind {
        if !self.target.has(WeakTarget::BASIC) {
            SlotKind::WithCallback
        } else if self.target.has(WeakTarget::OWNER_UNREACHABLE) {
            SlotKind::Watched
        } else {
            SlotKind::Basic
        }
    }

    /// A weak reference to an object that died before it was made.
    pub(crate) fn dead() -> SlotRef {
        SlotRef::basic(None, 0)
    }

    /// A weak reference that never had an object (`Weak::new`).
    pub(crate) fn never() -> SlotRef {
        SlotRef::basic(None, WeakTarget::NEVER)
    }

    /// Whether this weak reference never had an object.
    pub(crate) fn is_never(&self) -> bool {
        self.target.has(WeakTarget::NEVER)
    }
}

impl CallbackSlot {
    /// The slot with a callback that `slot` is the start of.
    ///
    /// # Safety
    /// `slot` points at a live slot that is not basic, with the provenance of its whole
    /// block (a pointer a [`SlotRef`] or a [`WeakList`] holds).
    unsafe fn of<'a>(slot: *const WeakSlot) -> &'a CallbackSlot {
        // SAFETY: the caller's contract: a slot that is not basic was allocated as a
        // `CallbackSlot` (`SlotRef::with_callback`), whose first field is the `WeakSlot`.
        unsafe { &*slot.cast::<CallbackSlot>() }
    }

    /// Takes this slot out of its object's list; returns the list's new newest slot if this
    /// one was the newest (the caller then updates the side entry).
    fn unlink(&self) -> Option<*const CallbackSlot> {
        let (older, newer) = (self.older.replace(std::ptr::null()), self.newer.replace(std::ptr::null()));
        if !older.is_null() {
            // SAFETY: a listed pointer points at a live slot (module invariant).
            unsafe { (*older).newer.set(newer) };
        }
        if newer.is_null() {
            return Some(older);
        }
        // SAFETY: as above.
        unsafe { (*newer).older.set(older) };
        None
    }
}

/// A listed slot as its [`WeakList`] points at it: through its target word, the slot's
/// first field. The pointer is the slot's own, cast, so it keeps the whole slot's
/// provenance.
fn listed<S>(slot: *const S) -> *const WeakTarget {
    slot.cast()
}

/// The slot a [`WeakList`] pointer points at.
fn slot_of(listed: *const WeakTarget) -> *const WeakSlot {
    listed.cast()
}

// The weak references of one object, as its side entry keeps them (see the module
// invariant): the shared slot without a callback, and the newest slot with one.
impl WeakList {
    /// Forgets `slot`, which is listed here and being freed.
    ///
    /// # Safety
    /// `slot` points at a live slot with the provenance of its whole block.
    unsafe fn forget(&mut self, slot: *const WeakSlot) {
        // SAFETY: the caller's contract.
        if unsafe { (*slot).kind() } != SlotKind::WithCallback {
            debug_assert!(std::ptr::eq(slot_of(self.basic), slot));
            self.basic = std::ptr::null();
        // SAFETY: the caller's contract; the slot has a callback.
        } else if let Some(newest) = unsafe { CallbackSlot::of(slot) }.unlink() {
            debug_assert!(std::ptr::eq(slot_of(self.newest), slot));
            self.newest = listed(newest);
        }
    }

    /// The shared slot, if it is a deferred watcher's.
    #[inline]
    fn watched<'a>(self) -> Option<&'a WatchedSlot> {
        if self.basic.is_null() {
            return None;
        }
        // SAFETY: a listed pointer points at a live slot (module invariant); one of kind
        // `Watched` was allocated as a `WatchedSlot`. The caller uses the reference while
        // the slot is listed (or, in a death, before any code runs that could free it).
        let slot = unsafe { &*slot_of(self.basic) };
        // SAFETY: as above.
        (slot.kind() == SlotKind::Watched).then(|| unsafe { &*slot_of(self.basic).cast::<WatchedSlot>() })
    }

    /// The listed slots with callbacks, newest to oldest.
    #[inline]
    fn with_callbacks(self) -> impl Iterator<Item = *const CallbackSlot> {
        let newest = slot_of(self.newest).cast::<CallbackSlot>();
        std::iter::successors(Some(newest).filter(|slot| !slot.is_null()), |&slot| {
            // SAFETY: a listed pointer points at a live slot (module invariant).
            Some(unsafe { (*slot).older.get() }).filter(|older| !older.is_null())
        })
    }

    /// The number of handles to the listed weak references.
    pub(crate) fn handle_count(self) -> usize {
        // SAFETY: a listed pointer points at a live slot (module invariant).
        let basic = (!self.basic.is_null()).then(|| unsafe { (*slot_of(self.basic)).handles.get() });
        // SAFETY: as above.
        let with_callbacks = self.with_callbacks().map(|slot| unsafe { (*slot).common.handles.get() });
        basic.into_iter().chain(with_callbacks).sum()
    }
}

/// A counted handle to a weak reference's slot in the heap's pools, as `Rc<WeakSlot>` would
/// be, with the pool's allocation instead of the global allocator's. The pointer keeps the
/// provenance of the whole block, [`CallbackSlot`] or bare [`WeakSlot`].
pub(crate) struct SlotRef(NonNull<WeakSlot>);

impl SlotRef {
    const BASIC: std::alloc::Layout = std::alloc::Layout::new::<WeakSlot>();
    const WATCHED: std::alloc::Layout = std::alloc::Layout::new::<WatchedSlot>();
    const WITH_CALLBACK: std::alloc::Layout = std::alloc::Layout::new::<CallbackSlot>();

    /// A new slot without a callback, with one handle and `flags` besides `BASIC`.
    fn basic(target: Option<NonNull<ObjHeader>>, flags: usize) -> SlotRef {
        let slot = WeakSlot { target: WeakTarget::new(target, WeakTarget::BASIC | flags), handles: Cell::new(1) };
        // SAFETY: `WeakSlot` is not zero-sized.
        let block = unsafe { pool::alloc(Self::BASIC) }.cast::<WeakSlot>();
        // SAFETY: `pool::alloc` returns a block for `BASIC` (it aborts rather than return
        // null), so writing a `WeakSlot` there is in bounds and aligned.
        unsafe { block.write(slot) };
        // SAFETY: as above, not null.
        SlotRef(unsafe { NonNull::new_unchecked(block) })
    }

    /// A new slot reporting to the deferred watcher `state` under `tag`, with one handle,
    /// not listed yet.
    #[inline]
    fn watched(target: NonNull<ObjHeader>, state: &Rc<WatchState>, tag: usize) -> SlotRef {
        debug_assert!(state.deferred);
        let slot = WatchedSlot {
            common: WeakSlot {
                target: WeakTarget::new(Some(target), WeakTarget::BASIC | WeakTarget::OWNER_UNREACHABLE),
                handles: Cell::new(1),
            },
            state: std::rc::Weak::into_raw(Rc::downgrade(state)),
            tag,
        };
        // SAFETY: `WatchedSlot` is not zero-sized.
        let block = unsafe { pool::alloc(Self::WATCHED) }.cast::<WatchedSlot>();
        // SAFETY: `pool::alloc` returns a block for `WATCHED` (it aborts rather than return
        // null), so writing a `WatchedSlot` there is in bounds and aligned.
        unsafe { block.write(slot) };
        // SAFETY: as above, not null; the cast keeps the whole block's provenance.
        SlotRef(unsafe { NonNull::new_unchecked(block.cast::<WeakSlot>()) })
    }

    /// A new slot with the callback `make` makes, with one handle, not listed yet.
    ///
    /// The fields are written into the block one by one, the callback as `make` returns it:
    /// a slot built whole on the stack, or a callback made by the caller and passed in, was
    /// copied into the block with loads wider than the stores that had just written it,
    /// which stall.
    ///
    /// `make` does not panic (our callers move a callback in, or clone a watcher's `Weak`):
    /// a panic would leave the block taken.
    #[inline]
    fn with_callback(target: NonNull<ObjHeader>, make: impl FnOnce() -> Callback) -> SlotRef {
        // SAFETY: `CallbackSlot` is not zero-sized.
        let block = unsafe { pool::alloc(Self::WITH_CALLBACK) }.cast::<CallbackSlot>();
        // SAFETY: `pool::alloc` returns a block for `WITH_CALLBACK` (it aborts rather than
        // return null), so each field's place is in bounds and aligned; every field is
        // written once, before the slot is used.
        unsafe {
            (&raw mut (*block).common)
                .write(WeakSlot { target: WeakTarget::new(Some(target), 0), handles: Cell::new(1) });
            (&raw mut (*block).callback).write(Cell::new(Some(make())));
            (&raw mut (*block).older).write(Cell::new(std::ptr::null()));
            (&raw mut (*block).newer).write(Cell::new(std::ptr::null()));
        }
        // SAFETY: as above, not null; the cast keeps the whole block's provenance.
        SlotRef(unsafe { NonNull::new_unchecked(block.cast::<WeakSlot>()) })
    }

    /// A new handle to a listed slot.
    ///
    /// # Safety
    /// `slot` is listed (module invariant), so it points at a live slot.
    unsafe fn from_listed(slot: *const WeakSlot) -> SlotRef {
        // SAFETY: the caller's contract.
        let live = unsafe { &*slot };
        live.handles.set(live.handles.get() + 1);
        // SAFETY: a listed pointer is not null; the count taken above belongs to the result.
        SlotRef(unsafe { NonNull::new_unchecked(slot.cast_mut()) })
    }

    pub(crate) fn as_ptr(&self) -> *const WeakSlot {
        self.0.as_ptr()
    }

    /// The callback's cell, if this weak reference was made with one.
    fn callback(&self) -> Option<&Cell<Option<Callback>>> {
        // SAFETY: a handle keeps its slot alive, and its pointer has the whole block's
        // provenance; a slot that is not basic is a `CallbackSlot`.
        (self.kind() == SlotKind::WithCallback).then(|| &unsafe { CallbackSlot::of(self.as_ptr()) }.callback)
    }

    /// Traces the captures of this weak reference's callback, if it is a traced one that
    /// has not run yet. The caller has checked that its handle is the slot's only one.
    pub(crate) fn trace_callback<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        /// Puts the callback back, also when tracing it panics.
        struct PutBack<'a> {
            cell: &'a Cell<Option<Callback>>,
            callback: Option<Callback>,
        }
        impl Drop for PutBack<'_> {
            fn drop(&mut self) {
                self.cell.set(self.callback.take());
            }
        }
        let Some(cell) = self.callback() else { return };
        let slot = PutBack { cell, callback: cell.take() };
        if let Some(Callback::Traced(callback)) = &slot.callback {
            callback.trace(&mut Forward(visitor));
        }
    }

    /// Whether this weak reference has a callback that has not run yet.
    pub(crate) fn has_callback(&self) -> bool {
        self.callback().is_some_and(|cell| {
            let callback = cell.take();
            // A deferred watcher's report runs no code: it is no callback.
            let has = callback.as_ref().is_some_and(|callback| !callback.is_deferred_report());
            cell.set(callback);
            has
        })
    }
}

/// A visitor of any type as a `dyn Visitor`: what a traced callback, behind a trait object,
/// is traced with.
struct Forward<'a, V: ?Sized>(&'a mut V);

impl<V: Visitor + ?Sized> Visitor for Forward<'_, V> {
    fn visit_edge(&mut self, edge: Edge<'_>) {
        self.0.visit_edge(edge);
    }

    fn visit_weak(&mut self, weak: WeakEdge<'_>) {
        self.0.visit_weak(weak);
    }

    fn untraceable(&mut self) {
        self.0.untraceable();
    }

    fn enter(&mut self, segment: Segment<'_>) {
        self.0.enter(segment);
    }

    fn leave(&mut self) {
        self.0.leave();
    }

    fn wants_stable_order(&self) -> bool {
        self.0.wants_stable_order()
    }
}

impl std::ops::Deref for SlotRef {
    type Target = WeakSlot;

    fn deref(&self) -> &WeakSlot {
        // SAFETY: a handle keeps its slot alive (the slot is freed when the last one drops).
        unsafe { self.0.as_ref() }
    }
}

impl Clone for SlotRef {
    fn clone(&self) -> Self {
        let count = self.handles.get().wrapping_add(1);
        if count == 0 {
            std::process::abort();
        }
        self.handles.set(count);
        SlotRef(self.0)
    }
}

impl Drop for SlotRef {
    #[inline]
    fn drop(&mut self) {
        let count = self.handles.get() - 1;
        self.handles.set(count);
        if count == 0 {
            // SAFETY: this was the last handle, so nothing else refers to the slot, and the
            // pointer has its whole block's provenance.
            unsafe { free_slot(self.0) };
        }
    }
}

/// Frees a slot whose last handle is gone: unlists it if its object lives, gives its block
/// back, then drops its callback if it has one left (user code, which may panic).
///
/// The slot freed most often is dead and runs nothing (a weak container's entry removed
/// after its object died, a plain weak reference that outlived its object): it is given back
/// here, in a leaf that saves few registers; the rest goes to [`free_listed_or_with_callback`].
///
/// # Safety
/// `slot` points at a live slot no handle refers to, with its whole block's provenance,
/// allocated by `SlotRef::basic` or `SlotRef::with_callback` on this thread (`SlotRef` is
/// not `Send`).
#[inline(never)]
unsafe fn free_slot(slot: NonNull<WeakSlot>) {
    // SAFETY: the caller's contract.
    let (kind, target) = unsafe { (slot.as_ref().kind(), slot.as_ref().target()) };
    match (kind, target) {
        // SAFETY: a basic slot's block was allocated with `BASIC`; `WeakSlot` needs no drop.
        (SlotKind::Basic, None) => unsafe { pool::dealloc(slot.as_ptr().cast(), SlotRef::BASIC) },
        // SAFETY: the caller's contract; the slot is a watched one.
        (SlotKind::Watched, None) => unsafe { free_watched(slot) },
        // SAFETY: the caller's contract.
        _ => unsafe { free_listed_or_with_callback(slot) },
    }
}

/// Gives back the block of a watched slot, unlisted (its target cleared or the slot
/// unlisted by the caller), that no handle refers to.
///
/// # Safety
/// As for [`free_slot`], for an unlisted slot of the `Watched` kind.
#[inline(always)]
unsafe fn free_watched(slot: NonNull<WeakSlot>) {
    // SAFETY: a watched slot was allocated as a `WatchedSlot`; no handle refers to it.
    let watched = unsafe { slot.cast::<WatchedSlot>().as_ref() };
    // A watcher's record never names freed memory.
    if let Some(state) = watched.state() {
        state.forget(watched.tag, slot.as_ptr());
    }
    // SAFETY: the slot's weak count of its state (`SlotRef::watched`), taken back here once.
    let state = unsafe { std::rc::Weak::from_raw(watched.state) };
    // SAFETY: allocated with `WATCHED`; what is left is plain words.
    unsafe { pool::dealloc(slot.as_ptr().cast(), SlotRef::WATCHED) };
    // Dropping a weak count frees at most the state's allocation: no user code.
    drop(state);
}

/// [`free_slot`] for a slot still listed (its object lives) or with a callback.
///
/// # Safety
/// As for [`free_slot`].
#[inline(never)]
unsafe fn free_listed_or_with_callback(slot: NonNull<WeakSlot>) {
    // SAFETY: the caller's contract.
    let (kind, target) = unsafe { (slot.as_ref().kind(), slot.as_ref().target()) };
    if let Some(target) = target {
        // Unlisted first: a listed pointer always points at a live slot.
        // SAFETY: the caller's contract.
        heap::with_side_if_any(target, |entry| unsafe { entry.weak.forget(slot.as_ptr()) });
    }
    match kind {
        SlotKind::Basic => {
            // SAFETY: a basic slot's block was allocated with `BASIC`; `WeakSlot` needs no
            // drop.
            unsafe { pool::dealloc(slot.as_ptr().cast(), SlotRef::BASIC) };
            return;
        }
        // SAFETY: the caller's contract; the slot, a watched one, is unlisted now.
        SlotKind::Watched => return unsafe { free_watched(slot) },
        SlotKind::WithCallback => {}
    }
    let slot = slot.cast::<CallbackSlot>();
    // SAFETY: a slot that is not basic is a `CallbackSlot`; no handle refers to it.
    let callback = unsafe { (*slot.as_ptr()).callback.take() };
    // A watcher's record never names freed memory.
    if let Some(Callback::Watched(state, tag)) = &callback {
        state.forget(*tag, slot.as_ptr().cast());
    }
    // SAFETY: the slot was allocated with `WITH_CALLBACK`; with its callback moved out, what
    // is left of it is plain words that need no drop (asserted below).
    unsafe { pool::dealloc(slot.as_ptr().cast(), SlotRef::WITH_CALLBACK) };
    if let Some(callback) = callback {
        if !callback.is_deferred_report() {
            heap::add_pending_callbacks(-1);
        }
        // The captures' `Drop` is user code: it runs once the block is back, so that a panic
        // leaks nothing and no code it runs can find the slot.
        drop(callback);
    }
}

// What `free_slot` leaves undropped of a `CallbackSlot` once its callback is moved out.
const _: () = assert!(!std::mem::needs_drop::<WeakSlot>() && !std::mem::needs_drop::<Cell<*const CallbackSlot>>());

/// A weak reference to `header`, with `callback` if any.
pub(crate) fn register(header: NonNull<ObjHeader>, callback: Option<Callback>) -> SlotRef {
    match callback {
        None => register_plain(header),
        Some(callback) => register_with(header, move || callback),
    }
}

/// The weak reference without a callback to `header`: its shared slot, made on the first
/// request.
fn register_plain(header: NonNull<ObjHeader>) -> SlotRef {
    // SAFETY: the caller holds a `Gc` to `header`.
    let h = unsafe { header.as_ref() };
    if h.has(flags::DROPPED) {
        return WeakSlot::dead();
    }
    heap::with_side(header, |entry| {
        let list = &mut entry.weak;
        if !list.basic.is_null() {
            // SAFETY: the shared slot is listed.
            return unsafe { SlotRef::from_listed(slot_of(list.basic)) };
        }
        let slot = SlotRef::basic(Some(header), 0);
        list.basic = listed(slot.as_ptr());
        slot
    })
}

/// A new weak reference to `header` reporting to `watch` under `tag`. For a deferred
/// watcher it is a [`WatchedSlot`] that becomes the object's shared slot if the object has
/// none yet (the usual case: an object in one weak container and no plain weak reference),
/// else a slot with a `Watched` callback.
#[inline]
pub(crate) fn register_watched(header: NonNull<ObjHeader>, watch: &Watcher, tag: usize) -> SlotRef {
    let state = watch.state();
    // SAFETY: the caller holds a `Gc` to `header`.
    if unsafe { header.as_ref() }.has(flags::DROPPED) {
        return watched_after_death(state, tag);
    }
    if state.deferred {
        let made = heap::with_side(header, |entry| {
            if !entry.weak.basic.is_null() {
                return None;
            }
            let slot = SlotRef::watched(header, state, tag);
            entry.weak.basic = listed(slot.as_ptr());
            Some(slot)
        });
        if let Some(slot) = made {
            state.record(tag, slot.as_ptr());
            return slot;
        }
    }
    register_watched_with_callback(header, state, tag)
}

/// A weak reference reporting to `state` under `tag`, made to an object already dropped (a
/// `Drop` that puts the other object of a cycle the collector is freeing into a container):
/// it reads dead from the start, and its death is told as any other's, so that the owner
/// removes the entry made with it. A deferred watcher's record marks the tag; another
/// watcher is told now, during the call (a container is then making the entry under a
/// borrow, so it queues the removal). A panic of the watcher's is the caller's.
#[cold]
#[inline(never)]
fn watched_after_death(state: &Rc<WatchState>, tag: usize) -> SlotRef {
    if state.deferred {
        state.mark_dead(tag);
    } else if let Some(panic) = report_death(&state.report, tag) {
        std::panic::resume_unwind(panic);
    }
    WeakSlot::dead()
}

/// A weak reference with a callback, made to an object already dropped (a `Drop` that runs
/// while the collector frees the object's cycle registers a callback, or a `finalize`, on
/// another member): it reads dead from the start, and its callback runs now, during the call,
/// since the death it waits for has happened (CPython's object, cleared but not yet freed,
/// would run it when freed, later in the same collection). A panic of the callback's is the
/// caller's, as a watcher's is in [`watched_after_death`].
#[cold]
#[inline(never)]
fn callback_after_death(header: NonNull<ObjHeader>, make: impl FnOnce() -> Callback) -> SlotRef {
    let slot = SlotRef::with_callback(header, make);
    slot.target.clear();
    // `run_callback` takes back the count of a callback waiting to run.
    heap::add_pending_callbacks(1);
    let mut panic = None;
    run_callback(slot.clone(), &mut panic);
    if let Some(panic) = panic {
        std::panic::resume_unwind(panic);
    }
    slot
}

/// [`register_watched`] as a slot with a `Watched` callback, out of line: the object's
/// shared slot is taken, or the watcher is not deferred.
#[inline(never)]
fn register_watched_with_callback(header: NonNull<ObjHeader>, state: &Rc<WatchState>, tag: usize) -> SlotRef {
    register_with(header, || Callback::Watched(Rc::clone(state), tag))
}

/// A new weak reference to `header` with the callback `make` makes, listed as its newest.
/// An object already dropped gets a dead weak reference whose callback runs at once (see
/// [`callback_after_death`]).
pub(crate) fn register_with(header: NonNull<ObjHeader>, make: impl FnOnce() -> Callback) -> SlotRef {
    // SAFETY: the caller holds a `Gc` to `header`.
    let h = unsafe { header.as_ref() };
    if h.has(flags::DROPPED) {
        return callback_after_death(header, make);
    }
    let slot = SlotRef::with_callback(header, make);
    heap::with_side(header, |entry| {
        let list = &mut entry.weak;
        let newest = slot_of(list.newest).cast::<CallbackSlot>();
        let this = slot.as_ptr().cast::<CallbackSlot>();
        // SAFETY: the slot was just made with a callback, and its handle keeps it alive.
        unsafe { (*this).older.set(newest) };
        if !newest.is_null() {
            // SAFETY: a listed pointer points at a live slot (module invariant).
            unsafe { (*newest).newer.set(this) };
        }
        list.newest = listed(slot.as_ptr());
    });
    // SAFETY: the slot was just made with a callback, and its handle keeps it alive; no
    // code has run since that could take the callback.
    match unsafe { &*CallbackSlot::of(slot.as_ptr()).callback.as_ptr() } {
        Some(Callback::Watched(state, tag)) => {
            state.record(*tag, slot.as_ptr());
            if !state.deferred {
                heap::add_pending_callbacks(1);
            }
        }
        _ => heap::add_pending_callbacks(1),
    }
    slot
}

/// Makes the weak references in `list`, taken out of their object's side entry, read dead and
/// unlists them. Their callbacks are the caller's: [`ClearedWeakRefs`] keeps them to run; an
/// object that is never made (`Gc::new_cyclic` whose closure panicked) runs none.
pub(crate) fn clear_targets(list: WeakList) {
    clear_each(list, |_| {});
}

/// [`clear_targets`], calling `listed` with each slot with a callback, newest first, just
/// before it is unlisted (while it is still listed, so alive).
fn clear_each(list: WeakList, mut listed: impl FnMut(*const CallbackSlot)) {
    clear_shared(list);
    let mut slot = slot_of(list.newest).cast::<CallbackSlot>();
    while !slot.is_null() {
        listed(slot);
        // SAFETY: as above.
        let this = unsafe { &*slot };
        // SAFETY: nothing runs during the walk that could take or set a callback (`listed`
        // runs no user code), so the cell's content can be read in place.
        if let Some(Callback::Watched(state, tag)) = unsafe { &*this.callback.as_ptr() } {
            state.died(*tag, slot.cast());
        }
        this.common.target.clear();
        this.newer.set(std::ptr::null());
        slot = this.older.replace(std::ptr::null());
    }
}

/// Clears the shared slot in `list`, if any; if it is a deferred watcher's, the death is
/// marked in the watcher's record first.
#[inline(always)]
fn clear_shared(list: WeakList) {
    if let Some(slot) = list.watched()
        && let Some(state) = slot.state()
    {
        state.died(slot.tag, slot_of(list.basic));
    }
    if !list.basic.is_null() {
        // SAFETY: the slot was listed when the list was taken out of the side entry, and no
        // code has run since that could drop it.
        unsafe { (*slot_of(list.basic)).target.clear() };
    }
}

/// Clears every weak reference to a dying object (they read dead from now on), then runs
/// their callbacks, newest first; returns their panics (see [`callback_panics`]). An object
/// whose weak references have no callback, the usual case, costs one access to its side
/// entry.
#[inline(always)]
pub(crate) fn clear_and_run(header: NonNull<ObjHeader>) -> Option<Box<dyn std::any::Any + Send>> {
    clear_and_run_placed(header, || crate::type_info::in_pool(header))
}

/// [`clear_and_run`], told whether the object is a block of a pool (see
/// [`heap::with_side_if_any_placed`]).
#[inline(always)]
pub(crate) fn clear_and_run_placed(
    header: NonNull<ObjHeader>,
    pooled: impl FnOnce() -> bool,
) -> Option<Box<dyn std::any::Any + Send>> {
    let list =
        heap::with_side_if_any_placed(header, pooled, |entry| std::mem::take(&mut entry.weak)).unwrap_or_default();
    if list.newest.is_null() {
        // No callback: only the shared slot, plain or a weak container's entry (whose report
        // is a mark).
        clear_shared(list);
        return None;
    }
    // SAFETY: the slot was listed when the list was taken out of the side entry, and no code
    // has run since that could drop it.
    let newest = unsafe { &*slot_of(list.newest).cast::<CallbackSlot>() };
    if newest.older.get().is_null()
        // SAFETY: nothing runs during this look that could take or set the callback.
        && let Some(Callback::Watched(state, tag)) = unsafe { &*newest.callback.as_ptr() }
        && state.deferred
    {
        // One weak reference with a callback, a report to a deferred watcher (a weak
        // container's entry): the report is a mark, made here; the callback stays with the
        // slot, whose owner frees it when it takes the mark.
        state.died(*tag, listed_slot(newest));
        clear_shared(list);
        newest.common.target.clear();
        return None;
    }
    clear_and_run_callbacks(list)
}

/// The pointer a list keeps of a slot with a callback, as a slot pointer.
fn listed_slot(slot: &CallbackSlot) -> *const WeakSlot {
    std::ptr::from_ref(slot).cast()
}

/// [`clear_and_run`] for an object with weak references with callbacks, out of line so that
/// the death of one without stays small.
#[inline(never)]
fn clear_and_run_callbacks(list: WeakList) -> Option<Box<dyn std::any::Any + Send>> {
    let newest = slot_of(list.newest).cast::<CallbackSlot>();
    // SAFETY: the slot was listed when the list was taken out of the side entry, and no code
    // has run since that could drop it.
    if unsafe { (*newest).older.get() }.is_null() {
        // One weak reference with a callback (a weak container's entry, say): it needs no
        // list of callbacks to run.
        // SAFETY: as above.
        let listed = unsafe { &*newest };
        if !listed.common.target.has(WeakTarget::OWNER_UNREACHABLE) {
            match listed.callback.take() {
                Some(Callback::Watched(state, tag)) => {
                    // A report to a watcher needs nothing of the slot: whoever holds the
                    // weak reference keeps it, and the death takes no handle to it.
                    state.forget(tag, newest.cast());
                    // `clear_each` for this list, whose one slot with a callback has no
                    // links (it is the newest and the oldest) and no callback left.
                    clear_shared(list);
                    listed.common.target.clear();
                    heap::add_pending_callbacks(-1);
                    return report_death(&state.report, tag);
                }
                other => listed.callback.set(other),
            }
        }
        // SAFETY: as above: the slot is listed; the handle keeps it alive for its callback.
        let slot = unsafe { SlotRef::from_listed(newest.cast()) };
        clear_targets(list);
        let mut panics = None;
        run_callback(slot, &mut panics);
        return panics;
    }
    ClearedWeakRefs::clear_list(list).run()
}

/// The weak references of an object that has died: all of them already read dead; what is
/// left is to run their callbacks.
#[must_use = "the callbacks have not run yet"]
pub struct ClearedWeakRefs {
    /// The first weak reference with a callback, kept apart so that the usual death, with
    /// one, allocates no vector.
    first: Option<SlotRef>,
    /// The others, newest first.
    rest: Vec<SlotRef>,
}

impl fmt::Debug for ClearedWeakRefs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = usize::from(self.first.is_some()) + self.rest.len();
        f.debug_struct("ClearedWeakRefs").field("with_callbacks", &count).finish()
    }
}

impl ClearedWeakRefs {
    /// Clears every weak reference to `header` (they read dead from now on) and keeps the
    /// ones with callbacks to run. The object's id stays until its memory is freed.
    pub(crate) fn clear(header: NonNull<ObjHeader>) -> Self {
        Self::clear_list(take_list(header))
    }

    /// [`ClearedWeakRefs::clear`] for a list already taken out of its side entry: one walk
    /// newest to oldest, that makes each slot read dead, unlists it and keeps a handle to it
    /// for its callback. No user code runs during the walk, so every weak reference reads
    /// dead before the first callback runs.
    #[inline]
    pub(crate) fn clear_list(list: WeakList) -> Self {
        let mut cleared = ClearedWeakRefs { first: None, rest: Vec::new() };
        clear_each(list, |slot| {
            // SAFETY: `clear_each` passes a listed slot; the handle taken here keeps it alive
            // until its callback has run.
            cleared.push(unsafe { SlotRef::from_listed(slot.cast()) });
        });
        cleared
    }

    fn push(&mut self, slot: SlotRef) {
        match self.first {
            None => self.first = Some(slot),
            Some(_) => self.rest.push(slot),
        }
    }

    /// Whether there is no callback to run.
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Moves the callbacks of `other` after this one's.
    pub fn append(&mut self, other: ClearedWeakRefs) {
        for slot in other.first.into_iter().chain(other.rest) {
            self.push(slot);
        }
    }

    /// Runs the callbacks, newest first, skipping those whose weak reference is owned by
    /// garbage. A panicking callback does not stop the others; their panics are returned
    /// together, one payload that [`callback_panics`] splits, each to be reported.
    pub fn run(self) -> Option<Box<dyn std::any::Any + Send>> {
        let mut panics = None;
        let ClearedWeakRefs { first, rest } = self;
        if let Some(slot) = first {
            run_callback(slot, &mut panics);
        }
        if !rest.is_empty() {
            for slot in rest {
                run_callback(slot, &mut panics);
            }
        }
        panics
    }
}

/// Runs the callback of one cleared weak reference, unless its weak reference is owned by
/// garbage or the callback has run; keeps its panic with the death's others.
#[inline]
fn run_callback(slot: SlotRef, panics: &mut Option<Box<dyn std::any::Any + Send>>) {
    if slot.target.has(WeakTarget::OWNER_UNREACHABLE) {
        // A watcher owned by garbage is not told as a callback would be, only that the death
        // happened (its owner may outlive the collection: saved or resurrected).
        let watched = slot.callback().and_then(|cell| {
            // SAFETY: nothing runs during this look that could take or set the callback.
            match unsafe { &*cell.as_ptr() } {
                Some(Callback::Watched(state, tag)) => Some((state.report.clone(), *tag)),
                _ => None,
            }
        });
        if let Some((report, tag)) = watched
            && let Err(panic) =
                catch_unwind(AssertUnwindSafe(|| report.upgrade().map(|watch| watch.died_unreachable(tag))))
        {
            keep_panic(panics, panic);
        }
        // The death's handle may be the slot's last (an earlier callback dropped the
        // others): the callback, which does not run, goes with it, and its captures' `Drop`
        // is user code whose panic must not leave the death half done.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| drop(slot))) {
            keep_panic(panics, panic);
        }
        return;
    }
    let Some(callback) = slot.callback().and_then(Cell::take) else {
        return;
    };
    if callback.is_deferred_report() {
        // The mark was made as the weak reference was cleared; the callback stays with the
        // slot (see `clear_and_run`).
        slot.callback().expect("a slot with a callback").set(Some(callback));
        return;
    }
    heap::add_pending_callbacks(-1);
    let result = match callback {
        Callback::Once(callback) => catch_unwind(AssertUnwindSafe(|| callback(&slot))).err(),
        Callback::Traced(callback) => catch_unwind(AssertUnwindSafe(|| callback.call(&slot))).err(),
        Callback::Watched(state, tag) => report_death(&state.report, tag),
    };
    if let Some(panic) = result {
        keep_panic(panics, panic);
    }
}

/// Keeps `panic` with the panics of the death's callbacks so far: the first as it is (a death
/// whose callbacks panic at most once, the usual, carries one box), several as one
/// [`CallbackPanics`], in the order the callbacks ran.
fn keep_panic(panics: &mut Option<Box<dyn std::any::Any + Send>>, panic: Box<dyn std::any::Any + Send>) {
    match panics.take() {
        None => *panics = Some(panic),
        Some(mut kept) => {
            if let Some(several) = kept.downcast_mut::<CallbackPanics>() {
                several.0.push(panic);
                *panics = Some(kept);
            } else {
                *panics = Some(Box::new(CallbackPanics(vec![kept, panic])));
            }
        }
    }
}

/// The panics of several callbacks of one death (or one collection), as one payload; no
/// callback's payload is of this private type, so it names itself.
struct CallbackPanics(Vec<Box<dyn std::any::Any + Send>>);

/// The panics that a death's callbacks raised, as [`ClearedWeakRefs::run`] returns them, one
/// by one, in the order the callbacks ran: each is to be reported, as CPython reports the
/// exception of each callback.
/// A callback names what panicked, when it is not a plain weak reference's (a `finalize`
/// function), by wrapping its panic with [`name_callback_panic`].
pub fn callback_panics(panics: Box<dyn std::any::Any + Send>) -> Vec<(Option<String>, Box<dyn std::any::Any + Send>)> {
    let panics = match panics.downcast::<CallbackPanics>() {
        Ok(several) => several.0,
        Err(one) => vec![one],
    };
    panics
        .into_iter()
        .map(|panic| match panic.downcast::<NamedPanic>() {
            Ok(named) => (Some(named.what), named.payload),
            Err(panic) => (None, panic),
        })
        .collect()
}

/// A callback's panic with the name of what panicked.
struct NamedPanic {
    what: String,
    payload: Box<dyn std::any::Any + Send>,
}

/// Wraps `payload`, the panic of a weak reference's callback, so that its report names
/// `what` (`the finalize function of a Node`) instead of a weak reference callback; for a
/// callback that runs a function of the user's registered otherwise (`weakref.finalize`).
/// [`callback_panics`] unwraps it: the unraisable hook sees the payload itself.
pub fn name_callback_panic(what: String, payload: Box<dyn std::any::Any + Send>) -> Box<dyn std::any::Any + Send> {
    Box::new(NamedPanic { what, payload })
}

/// Tells a watcher, if it is still there, that the object of the weak reference made with
/// `tag` has died; returns the watcher's panic. The watcher's strong handle is dropped
/// inside the `catch_unwind` too: if the report was its last owner's doing, its drop may run
/// user code.
#[inline]
fn report_death(watch: &std::rc::Weak<dyn DeathWatch>, tag: usize) -> Option<Box<dyn std::any::Any + Send>> {
    catch_unwind(AssertUnwindSafe(|| {
        if let Some(watch) = watch.upgrade() {
            watch.died(tag);
        }
    }))
    .err()
}

/// The tags of an object's weak references that report to one watcher
/// ([`Gc::watched_tags`](crate::Gc::watched_tags)), newest first.
#[derive(Debug, Default)]
pub struct WatchedTags {
    /// The newest, kept apart so that the usual object, in one entry of a container, needs
    /// no vector.
    first: Option<usize>,
    /// The older ones, oldest first once the walk is over (taken from the end).
    rest: Vec<usize>,
}

impl WatchedTags {
    fn push(&mut self, tag: usize) {
        match self.first {
            None => self.first = Some(tag),
            Some(_) => self.rest.push(tag),
        }
    }
}

impl Iterator for WatchedTags {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        self.first.take().or_else(|| self.rest.pop())
    }
}

/// The tags of the weak references to `header` whose callback is a report to `watch` that
/// has not run, newest first.
pub(crate) fn watched_tags(header: NonNull<ObjHeader>, watch: &Watcher) -> WatchedTags {
    let mut tags = WatchedTags::default();
    walk_watched(header, watch, |tag| {
        tags.push(tag);
        true
    });
    tags.rest.reverse();
    tags
}

/// The first tag, newest first, of the weak references to `header` reporting to `watch`
/// that `accept` accepts. `accept` runs after the walk of the object's list, so it may run
/// any code.
#[inline]
pub(crate) fn find_watched(
    header: NonNull<ObjHeader>,
    watch: &Watcher,
    mut accept: impl FnMut(usize) -> bool,
) -> Option<usize> {
    let (mut first, mut several) = (None, false);
    walk_watched(header, watch, |tag| {
        if first.is_some() {
            several = true;
            return false;
        }
        first = Some(tag);
        true
    });
    if several {
        // Several weak references of the object report to the watcher: rare enough for a
        // vector.
        return watched_tags(header, watch).find(|&tag| accept(tag));
    }
    first.filter(|&tag| accept(tag))
}

/// Calls `each` with the tag of every weak reference to `header` whose callback is a report
/// to `watch` that has not run, newest first, while it returns `true`. `each` runs during
/// the walk: it must not run user code or drop handles.
#[inline]
fn walk_watched(header: NonNull<ObjHeader>, watch: &Watcher, mut each: impl FnMut(usize) -> bool) {
    heap::with_side_if_any(header, |entry| {
        for slot in entry.weak.with_callbacks() {
            // SAFETY: a listed pointer points at a live slot (module invariant). Nothing runs
            // during the walk that could take or set a callback (`each` runs no user code),
            // so the cell's content can be read in place.
            let callback = unsafe { &*(*slot).callback.as_ptr() };
            if let Some(Callback::Watched(state, tag)) = callback
                && Rc::ptr_eq(state, watch.state())
                && !each(*tag)
            {
                return;
            }
        }
        // The shared slot comes last (`watched_tags` counts it as the oldest).
        if let Some(slot) = entry.weak.watched()
            && std::ptr::eq(slot.state, Rc::as_ptr(watch.state()))
        {
            each(slot.tag);
        }
    });
}

/// The number of handles to an object's weak references (`Gc::weak_count`).
pub(crate) fn handle_count(header: NonNull<ObjHeader>) -> usize {
    heap::with_side_if_any(header, |entry| entry.weak.handle_count()).unwrap_or(0)
}

/// Takes the weak references of an object out of its side entry, keeping its id.
#[inline]
fn take_list(header: NonNull<ObjHeader>) -> WeakList {
    heap::with_side_if_any(header, |entry| std::mem::take(&mut entry.weak)).unwrap_or_default()
}

// `WeakEdge` is the tracing layer's; what it reads is the slot's target word.
impl fmt::Debug for WeakEdge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakEdge").field("alive", &self.target.get().is_some()).finish()
    }
}

impl WeakEdge<'_> {
    /// The object the weak reference points to, if it is still alive.
    pub fn target(&self) -> Option<NonNull<ObjHeader>> {
        self.target.get()
    }

    /// Marks the weak reference as owned by garbage: its callback will not run. The
    /// collector does this for weak references that only objects it is about to destroy
    /// hold (every one of [`handle_count`](Self::handle_count) handles).
    pub fn mark_owner_unreachable(&self) {
        self.target.mark_owner_unreachable();
    }

    /// Undoes [`mark_owner_unreachable`](Self::mark_owner_unreachable): the callback will run
    /// when the object dies. The collector does this for weak references whose object
    /// outlived the collection that marked them, so that only that collection skips them.
    pub fn unmark_owner_unreachable(&self) {
        self.target.unmark_owner_unreachable();
    }

    /// How many handles the weak reference has: the clones of one `Weak` are handles of one
    /// weak reference. Its callback is the garbage's only when garbage holds every handle.
    pub fn handle_count(&self) -> usize {
        self.handles
    }

    /// The weak reference's identity while it lives, shared by its handles: what tells two
    /// visits of one weak reference from visits of two.
    pub fn key(&self) -> usize {
        std::ptr::from_ref(self.target).addr()
    }

    /// Whether this is a deferred watcher's weak reference (a weak container's entry, see
    /// [`Watcher::deferred`]) with one handle, the container's: once its object dies, the
    /// container removes it at its next operation, however long that takes. (The slot is
    /// shared with later plain downgrades of its object, so a lone plain handle left after
    /// the container removed its entry reads as one too.)
    pub fn is_deferred_entry(&self) -> bool {
        self.handles == 1 && self.target.has(WeakTarget::BASIC) && self.target.has(WeakTarget::OWNER_UNREACHABLE)
    }
}
