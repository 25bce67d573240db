//! The per-thread heap: generation lists, the young count and the collection hook, and where
//! objects keep their side entries (weak references, object ids): in their pools' arrays,
//! or in the side table. Thread exit is [`crate::exit`]'s.
//!
//! The core state lives in a `const`-initialized thread-local with no destructor, so it
//! stays usable while other thread-locals are destroyed at thread exit: a `Gc` dropped from
//! another thread-local's destructor still unlinks itself from a valid list. Everything
//! that needs a destructor (the side table, the id map, teardown hooks) lives in one boxed
//! [`Extras`] that teardown frees once nothing refers to it any more.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use rustc_hash::FxHasher;
use slotmap::SlotMap;

use crate::ObjectId;
use crate::header::{IN_YOUNG, Links, ObjHeader, flags};
use crate::object_id::IdKey;
use crate::pool::{self, BlockSide, HeapExit, SideRecords, ThreadExit};
use crate::side::SideEntry;
use crate::type_info::in_pool;

/// How many lists the heap keeps. New tracked objects go to list [`YOUNG`]; the collector
/// gives the others their meaning (CPython's generations 1 and 2, the permanent generation
/// of `freeze`, and the objects an incremental collector promoted during its current pass,
/// in two lists: those it has examined again since, and the most recent).
pub const LISTS: usize = 6;
/// The list new tracked objects are linked into.
pub const YOUNG: usize = 0;

pub(crate) struct Heap {
    lists: [Links; LISTS],
    young_count: Cell<usize>,
    /// Deaths (and lent objects) that found the young count at zero, since the collector
    /// last took them (see [`take_uncounted_deaths`]).
    uncounted_deaths: Cell<usize>,
    /// `young_count` value at which `link_new` takes its slow path. Zero until the lists
    /// are set up, so the first tracked allocation sets them up.
    trigger: Cell<usize>,
    /// What the collector asked for: call the hook when the young count reaches this.
    young_limit: Cell<usize>,
    /// Whether `young_limit` was set on this thread (else the hook's default applies).
    young_limit_set: Cell<bool>,
    ready: Cell<bool>,
    in_hook: Cell<bool>,
    pub(crate) torn_down: Cell<bool>,
    /// Set while a death loop runs: further deaths nest in it or are queued for it.
    dealloc_active: Cell<bool>,
    /// Where the stack was when the running death loop began (see [`stack_position`]);
    /// [`NO_NESTING`] while deaths may not nest (a batch's own work).
    nest_base: Cell<usize>,
    /// The first panic of user code in the running death loop, boxed once more to make it a
    /// thin pointer (null if none): the heap's core has no destructor.
    loop_panic: Cell<*mut Panic>,
    /// Whether the kept panic was caught while another one unwound (see [`keep_loop_panic`]).
    loop_panic_while_unwinding: Cell<bool>,
    /// Head of the queue of objects waiting to die, linked through their `strong` words.
    pending: Cell<*mut ObjHeader>,
    extras: Cell<*mut RefCell<Extras>>,
    /// Tracked objects this thread's exit counted as left alive (see [`crate::exit`]).
    pub(crate) left_at_exit: Cell<usize>,
    /// Weak references whose callback has not run (nor been dropped).
    pending_callbacks: Cell<usize>,
    /// Set while the collector walks the lists with counts in their links (see [`Walk`]).
    walking: Cell<bool>,
    /// Deaths put off during the current walk.
    deaths_put_off: Cell<usize>,
    /// Tracked objects created during the current walk, left out of the lists.
    left_unlinked: Cell<usize>,
    /// This heap's number in the process, which its object ids carry; 0 until the first id.
    number: Cell<u32>,
}

/// A panic of user code run while objects die, caught to be raised again later.
pub(crate) type Panic = Box<dyn std::any::Any + Send>;

thread_local! {
    static HEAP: Heap = const { Heap::new() };
}

static COLLECT_HOOK: OnceLock<CollectHook> = OnceLock::new();

#[derive(Clone, Copy)]
struct CollectHook {
    hook: fn(),
    default_young_limit: usize,
}

#[derive(Default)]
pub(crate) struct Extras {
    /// The side entries of objects that are not blocks of a pool (see [`with_side`]).
    pub(crate) side: HashMap<usize, SideEntry, BuildHasherDefault<NearbyHasher>>,
    pub(crate) ids: SlotMap<IdKey, NonNull<ObjHeader>>,
    pub(crate) teardown_hooks: Vec<Box<dyn FnOnce()>>,
}

/// The side table's hash of an object's address: objects near each other in memory get
/// buckets near each other, so that a run of deaths in allocation order (a container
/// emptied, a list dropped) walks the table in order instead of missing the cache at every
/// object, as a well-mixed hash would make it.
///
/// Each 4 KiB page of addresses gets its own well-mixed base bucket; an object's bucket is
/// its page's base plus its offset in the page in 8-byte steps. As every object takes at
/// least 16 bytes, a page's objects fill at most half of the buckets from its base on. The
/// top seven bits, which the hash table compares before keys, are mixed from the whole
/// address.
#[derive(Default)]
pub(crate) struct NearbyHasher(u64);

impl NearbyHasher {
    /// The bits below the seven the hash table compares first.
    const LOW: u64 = (1 << 57) - 1;

    fn mixed(word: usize) -> u64 {
        let mut hasher = FxHasher::default();
        hasher.write_usize(word);
        hasher.finish()
    }
}

impl Hasher for NearbyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut hasher = FxHasher::with_seed(self.0 as usize);
        hasher.write(bytes);
        self.0 = hasher.finish();
    }

    fn write_usize(&mut self, address: usize) {
        let page_base = Self::mixed(address >> 12);
        let offset = (address as u64 >> 3) & 0x1ff;
        let tag = Self::mixed(address) << 57;
        self.0 = (page_base.wrapping_add(offset) & Self::LOW) | tag;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

// A pool keeps the side entries of its blocks' objects.
impl SideRecords for BlockSide {
    type Record = SideEntry;
}

impl Extras {
    /// Removes an object's side entry. A hash table that many removals have emptied is
    /// mostly tombstones, over which every later insert probes for a long way before it
    /// proves its key absent; the table is shrunk (rebuilt without them) once it is an
    /// eighth full, which costs, amortized, a constant per removal.
    pub(crate) fn remove_side(&mut self, key: usize) -> Option<SideEntry> {
        let entry = self.side.remove(&key);
        if self.side.capacity() > 1024 && self.side.len() < self.side.capacity() / 8 {
            self.side.shrink_to(self.side.len() * 2);
        }
        entry
    }
}

impl Heap {
    const fn new() -> Self {
        Heap {
            lists: [const { Links::unlinked() }; LISTS],
            young_count: Cell::new(0),
            uncounted_deaths: Cell::new(0),
            trigger: Cell::new(0),
            young_limit: Cell::new(usize::MAX),
            young_limit_set: Cell::new(false),
            ready: Cell::new(false),
            in_hook: Cell::new(false),
            torn_down: Cell::new(false),
            dealloc_active: Cell::new(false),
            nest_base: Cell::new(NO_NESTING),
            loop_panic: Cell::new(std::ptr::null_mut()),
            loop_panic_while_unwinding: Cell::new(false),
            pending: Cell::new(std::ptr::null_mut()),
            extras: Cell::new(std::ptr::null_mut()),
            left_at_exit: Cell::new(0),
            pending_callbacks: Cell::new(0),
            walking: Cell::new(false),
            deaths_put_off: Cell::new(0),
            left_unlinked: Cell::new(0),
            number: Cell::new(0),
        }
    }

    /// The young count at which `link_new` takes its slow path, outside a walk.
    fn usual_trigger(&self) -> usize {
        if !self.ready.get() {
            0
        } else if self.torn_down.get() {
            usize::MAX
        } else {
            self.young_limit.get()
        }
    }

    #[cold]
    fn set_up(&self) {
        for list in &self.lists {
            list.init_sentinel();
        }
        self.ready.set(true);
        if let (false, Some(hook)) = (self.young_limit_set.get(), COLLECT_HOOK.get()) {
            self.young_limit.set(hook.default_young_limit);
        }
        self.trigger.set(self.young_limit.get());
        <HeapExit as ThreadExit>::register();
    }

    fn list(&self, index: usize) -> &Links {
        if !self.ready.get() {
            self.set_up();
        }
        &self.lists[index]
    }

    fn extras(&self) -> &RefCell<Extras> {
        let mut ptr = self.extras.get();
        if ptr.is_null() {
            ptr = Box::into_raw(Box::default());
            self.extras.set(ptr);
            <HeapExit as ThreadExit>::register();
        }
        // SAFETY: `ptr` came from `Box::into_raw` and is only freed by `release_extras`,
        // which nulls the pointer first and never runs while a borrow is out (borrows
        // never outlive the `with_extras` closure, which calls no user code).
        unsafe { &*ptr }
    }
}

#[inline]
pub(crate) fn with_heap<R>(f: impl FnOnce(&Heap) -> R) -> R {
    HEAP.with(f)
}

/// Runs `f` on the side table. `f` must not run user code or drop handles.
pub(crate) fn with_extras<R>(f: impl FnOnce(&mut Extras) -> R) -> R {
    with_heap(|heap| f(&mut heap.extras().borrow_mut()))
}

/// Links a new tracked object into the young list, and calls the collection hook when the
/// young count reaches the collector's limit.
#[inline]
pub(crate) fn link_new(links: NonNull<Links>) {
    with_heap(|heap| {
        let count = heap.young_count.get() + 1;
        heap.young_count.set(count);
        if count >= heap.trigger.get() && !young_full(heap, count) {
            return;
        }
        // SAFETY: `set_up` has made the sentinel a circular list (the trigger is zero until
        // then); `links` belongs to a new object that is in no list.
        unsafe { heap.lists[YOUNG].insert_tagged(links, IN_YOUNG) };
    });
}

/// `link_new`'s slow path: sets the heap up, or calls the collection hook. Returns whether
/// the new object is to be linked (not during a walk, see [`Walk`]).
#[cold]
fn young_full(heap: &Heap, count: usize) -> bool {
    if heap.walking.get() {
        heap.left_unlinked.set(heap.left_unlinked.get() + 1);
        return false;
    }
    if !heap.ready.get() {
        heap.set_up();
    }
    if count < heap.young_limit.get() || heap.in_hook.get() || heap.torn_down.get() {
        return true;
    }
    if let Some(hook) = COLLECT_HOOK.get() {
        heap.in_hook.set(true);
        let guard = HookGuard;
        (hook.hook)();
        drop(guard);
    }
    true
}

struct HookGuard;

impl Drop for HookGuard {
    fn drop(&mut self) {
        with_heap(|heap| heap.in_hook.set(false));
    }
}

/// Starts the death of an object whose count reached zero: takes a tracked object out of
/// its list and the young count, then says who runs it (see [`Death`]).
pub(crate) fn begin_death(header: NonNull<ObjHeader>) -> Death {
    // SAFETY: the caller passes a header whose count just reached zero.
    let tracked = unsafe { header.as_ref() }.is_tracked();
    with_heap(|heap| {
        if tracked && !take_out_dying(heap, header) {
            return Death::Waits;
        }
        queue_or_start(heap, header)
    })
}

/// Takes a dying tracked object out of its list and the young count; returns `false`,
/// leaving it linked, when the death must wait for a walk to end.
#[inline]
fn take_out_dying(heap: &Heap, header: NonNull<ObjHeader>) -> bool {
    if put_off(heap) {
        // The lists hold the collector's counts: the object stays linked, with its count at
        // zero, for a collection to free.
        return false;
    }
    unlink_counted(heap, header);
    true
}

/// Takes a tracked object out of its list, if it is in one, and out of the young count.
#[inline]
fn unlink_counted(heap: &Heap, header: NonNull<ObjHeader>) {
    // SAFETY: callers pass a tracked object, which has links in front of its header; a
    // linked object is in a valid list of this thread's heap.
    unsafe {
        let links = Links::of(header).as_ref();
        if links.is_linked() {
            links.unlink();
        }
    }
    count_death(heap);
}

/// Who runs a death that [`begin_death`] started.
pub(crate) enum Death {
    /// The caller: no death loop runs, and this death starts one, which the caller ends
    /// with [`end_deaths`] (or [`end_deaths_if_idle`]) once the queue is empty.
    Start,
    /// The caller, nested in the value drop of the object that held the last handle, which
    /// itself dies in the running loop.
    Nested,
    /// The running loop, which has queued it; or a collection, for which a walk put it off.
    Waits,
}

/// How much stack nested deaths may use, below where their loop began, before the next
/// death is queued instead. A tree dies depth first as `Rc`'s would, without a queue: some
/// 250 levels of a plain chain in a release build and 18 in a debug one (CPython's trashcan
/// nests 50), fewer with large `Drop` frames. A deeper structure does not grow the stack
/// further, so deaths run on a thread with a small stack as on any other.
const NEST_STACK: usize = 16 * 1024;

/// `Heap::nest_base` while deaths may not nest: as far from any stack position as can be.
const NO_NESTING: usize = usize::MAX;

/// The address of a local of the caller's frame (once inlined): how deep the stack is.
#[inline(always)]
fn stack_position() -> usize {
    let probe = 0u8;
    std::ptr::addr_of!(probe).addr()
}

/// [`begin_death`] for a tracked object (the typed fast path knows it is tracked).
#[inline]
pub(crate) fn begin_tracked_death(header: NonNull<ObjHeader>) -> Death {
    with_heap(|heap| {
        if !take_out_dying(heap, header) {
            return Death::Waits;
        }
        queue_or_start(heap, header)
    })
}

/// Lets the deaths that run from now on nest (after a batch's own work, see [`begin_batch`]).
pub(crate) fn allow_nesting() {
    let base = stack_position();
    with_heap(|heap| heap.nest_base.set(base));
}

/// Keeps a panic of user code for the end of the running death loop, and returns the one
/// to discard if a panic is kept already: the earlier one stays. A panic caught while
/// another unwinds (`while_unwinding`) came after that one, which stays first if it reaches
/// the loop too; if user code catches it instead, the later one is all there is.
pub(crate) fn keep_loop_panic(panic: Panic, while_unwinding: bool) -> Option<Panic> {
    with_heap(|heap| {
        let kept = heap.loop_panic.get();
        if kept.is_null() {
            heap.loop_panic.set(Box::into_raw(Box::new(panic)));
            heap.loop_panic_while_unwinding.set(while_unwinding);
            None
        } else if heap.loop_panic_while_unwinding.get() && !while_unwinding {
            heap.loop_panic.set(Box::into_raw(Box::new(panic)));
            heap.loop_panic_while_unwinding.set(false);
            // SAFETY: `kept` came from `Box::into_raw` in an earlier call and was replaced
            // just now: it is reclaimed once.
            Some(*unsafe { Box::from_raw(kept) })
        } else {
            Some(panic)
        }
    })
}

/// Takes the panic [`keep_loop_panic`] kept, if any.
pub(crate) fn take_loop_panic() -> Option<Panic> {
    let kept = with_heap(|heap| heap.loop_panic.replace(std::ptr::null_mut()));
    // SAFETY: a non-null pointer comes from `Box::into_raw` in `keep_loop_panic`, and the
    // replace above took it out: it is reclaimed once.
    (!kept.is_null()).then(|| *unsafe { Box::from_raw(kept) })
}

/// During a walk, counts a death that must wait and says so.
#[inline]
fn put_off(heap: &Heap) -> bool {
    if heap.walking.get() {
        heap.deaths_put_off.set(heap.deaths_put_off.get() + 1);
        true
    } else {
        false
    }
}

/// [`put_off`] for the general death path.
pub(crate) fn put_off_death_if_walking() -> bool {
    with_heap(put_off)
}

/// Starts a death loop if none runs; otherwise nests the death if the loop has room, or
/// queues it.
#[inline]
fn queue_or_start(heap: &Heap, header: NonNull<ObjHeader>) -> Death {
    let here = stack_position();
    if !heap.dealloc_active.get() {
        heap.dealloc_active.set(true);
        heap.nest_base.set(here);
        return Death::Start;
    }
    if heap.nest_base.get().abs_diff(here) < NEST_STACK {
        return Death::Nested;
    }
    queue(heap, header);
    Death::Waits
}

/// Puts a dying object on the queue of the running death loop.
#[inline]
fn queue(heap: &Heap, header: NonNull<ObjHeader>) {
    // SAFETY: the caller passes an allocated header whose count is zero.
    let h = unsafe { header.as_ref() };
    h.set(flags::PENDING);
    h.set_queue_next(heap.pending.get());
    heap.pending.set(header.as_ptr());
}

/// How [`end_deaths_if_idle`] found the death loop.
pub(crate) enum LoopEnd {
    /// Nothing was queued: the loop has ended.
    Ended,
    /// Nothing was queued and the loop has ended, keeping a panic ([`take_loop_panic`]).
    EndedWithPanic,
    /// Deaths are queued, now in drop order for [`pop_pending`]: the loop goes on.
    Busy,
}

/// Ends the death loop if nothing is queued.
#[inline]
pub(crate) fn end_deaths_if_idle() -> LoopEnd {
    let (end, torn_down) = with_heap(|heap| {
        if !heap.pending.get().is_null() {
            (LoopEnd::Busy, false)
        } else {
            heap.dealloc_active.set(false);
            let end = if heap.loop_panic.get().is_null() { LoopEnd::Ended } else { LoopEnd::EndedWithPanic };
            (end, heap.torn_down.get())
        }
    });
    if torn_down {
        release_extras_if_torn_down();
    }
    if let LoopEnd::Busy = end {
        reverse_pending_since(std::ptr::null_mut());
    }
    end
}

/// Starts a batch of deaths: until [`allow_nesting`], deaths are queued, not run nested.
/// Returns whether the caller started a death loop (and must call [`end_deaths`]), and where
/// the running loop let deaths nest from (to give back with [`set_nest_base`] if the caller
/// started none).
pub(crate) fn begin_batch() -> (bool, usize) {
    with_heap(|heap| (!heap.dealloc_active.replace(true), heap.nest_base.replace(NO_NESTING)))
}

/// Gives back where deaths nest from, taken by a [`begin_batch`] that started no loop.
pub(crate) fn set_nest_base(base: usize) {
    with_heap(|heap| heap.nest_base.set(base));
}

/// Ends the death loop started by [`begin_death`] or [`begin_batch`]; returns the first
/// panic of user code it kept.
pub(crate) fn end_deaths() -> Option<Panic> {
    let torn_down = with_heap(|heap| {
        heap.dealloc_active.set(false);
        heap.torn_down.get()
    });
    if torn_down {
        release_extras_if_torn_down();
    }
    take_loop_panic()
}

/// Takes a tracked object out of its list while its value is lent mutably (`GcMut`), so that
/// the collector does not trace it meanwhile. Returns whether it was in one.
pub(crate) fn unlink_lent(header: NonNull<ObjHeader>) -> bool {
    // SAFETY: only called for tracked objects, which have links in front of the header.
    let links = unsafe { Links::of(header).as_ref() };
    if !links.is_linked() {
        return false;
    }
    with_heap(|heap| {
        // SAFETY: a linked object is in a valid list of this thread's heap, and no walk runs
        // (the caller checks).
        unsafe { links.unlink() };
        count_death(heap);
    });
    true
}

/// Puts a resurrected tracked object back into the young list.
pub(crate) fn relink_young(header: NonNull<ObjHeader>) {
    // SAFETY: only called for tracked objects, which have links in front of the header.
    let links = unsafe { Links::of(header) };
    with_heap(|heap| {
        heap.young_count.set(heap.young_count.get() + 1);
        // SAFETY: the sentinel is a valid list (`list` sets it up) and the resurrected
        // object was unlinked when it began to die.
        unsafe { heap.list(YOUNG).insert_tagged(links, IN_YOUNG) };
    });
}

/// Takes a tracked object whose finalizer ran, relinked by [`relink_young`] for its
/// duration, back out of its list (wherever a collection meanwhile moved it) and the young
/// count, to go on dying.
pub(crate) fn unlink_finalized(header: NonNull<ObjHeader>) {
    with_heap(|heap| unlink_counted(heap, header));
}

/// The current head of the death queue, to pass to [`reverse_pending_since`].
pub(crate) fn pending_mark() -> *mut ObjHeader {
    with_heap(|heap| heap.pending.get())
}

/// Reverses the deaths queued since `mark`, so that objects die in the order their handles
/// were dropped (depth first, as recursive drops would), not in reverse.
pub(crate) fn reverse_pending_since(mark: *mut ObjHeader) {
    with_heap(|heap| {
        let mut reversed = mark;
        let mut cursor = heap.pending.get();
        while cursor != mark {
            // SAFETY: every queued header is allocated until it leaves the queue, and the
            // queue from the head down to `mark` holds only entries pushed since `mark`.
            let h = unsafe { &*cursor };
            let next = h.queue_next();
            h.set_queue_next(reversed);
            reversed = cursor;
            cursor = next;
        }
        heap.pending.set(reversed);
    });
}

pub(crate) fn pop_pending() -> Option<NonNull<ObjHeader>> {
    with_heap(|heap| {
        let header = NonNull::new(heap.pending.get())?;
        // SAFETY: queued headers stay allocated until they leave the queue.
        let h = unsafe { header.as_ref() };
        heap.pending.set(h.queue_next());
        h.set_strong(0);
        h.clear(flags::PENDING);
        Some(header)
    })
}

/// The side entry of an object of a pool, in its pool's array (made if the pool has none).
///
/// # Safety
/// `header` is an allocated object for which [`in_pool`] holds. The reference must not
/// outlive the object, nor meet another reference to the same entry.
#[inline]
unsafe fn pool_entry<'a>(header: NonNull<ObjHeader>) -> &'a mut SideEntry {
    // SAFETY: the object's header is inside its block, a block in use of a pool of this
    // thread (the caller's contract), and the header pointer has the arena's provenance.
    let mut entry = unsafe { pool::side_record_or_new(header.as_ptr().cast()) };
    // SAFETY: the entry of a block in use, one of the array's initialized records; the
    // caller keeps the reference unique.
    unsafe { entry.as_mut() }
}

/// Runs `f` on the side entry of an object, made (empty) if it has none. `f` must not run
/// user code or drop handles, and must leave the entry not empty.
///
/// An object of a pool keeps its entry in its pool's array, found from its address with no
/// hashing; any other (too large or too aligned for the pools, or every object under Miri)
/// in the side table, keyed by its address.
#[inline]
pub(crate) fn with_side<R>(header: NonNull<ObjHeader>, f: impl FnOnce(&mut SideEntry) -> R) -> R {
    // SAFETY: the caller passes a header of an allocated object.
    unsafe { header.as_ref() }.set(flags::SIDE);
    if in_pool(header) {
        // SAFETY: `in_pool` holds; the reference lives for `f`, which makes no other.
        f(unsafe { pool_entry(header) })
    } else {
        with_extras(|extras| f(extras.side.entry(header.as_ptr() as usize).or_default()))
    }
}

/// Runs `f` on the side entry of an object if it has one, and drops the entry if `f` leaves
/// it empty. `f` must not run user code or drop handles.
#[inline]
pub(crate) fn with_side_if_any<R>(header: NonNull<ObjHeader>, f: impl FnOnce(&mut SideEntry) -> R) -> Option<R> {
    with_side_if_any_placed(header, || in_pool(header), f)
}

/// [`with_side_if_any`], told whether the object is a block of a pool ([`in_pool`]'s answer,
/// a constant of a sized type that a typed caller knows) by `pooled`, asked only if the object
/// has a side entry.
#[inline(always)]
pub(crate) fn with_side_if_any_placed<R>(
    header: NonNull<ObjHeader>,
    pooled: impl FnOnce() -> bool,
    f: impl FnOnce(&mut SideEntry) -> R,
) -> Option<R> {
    // SAFETY: the caller passes a header of an allocated object.
    let h = unsafe { header.as_ref() };
    if !h.has(flags::SIDE) {
        return None;
    }
    let pooled = pooled();
    debug_assert_eq!(pooled, in_pool(header), "a caller that knows where the object is knows right");
    if pooled {
        // SAFETY: `in_pool` holds; the reference lives for this block, which makes no other.
        let entry = unsafe { pool_entry(header) };
        let result = f(entry);
        if entry.is_empty() {
            h.clear(flags::SIDE);
        }
        return Some(result);
    }
    let (result, removed) = with_extras(|extras| {
        let key = header.as_ptr() as usize;
        let entry = extras.side.get_mut(&key)?;
        let result = f(entry);
        let removed = entry.is_empty();
        if removed {
            extras.remove_side(key);
            h.clear(flags::SIDE);
        }
        Some((result, removed))
    })?;
    if removed {
        release_extras_if_torn_down();
    }
    Some(result)
}

/// Removes and returns the side entry of a dying object, freeing its id.
pub(crate) fn take_side(header: NonNull<ObjHeader>) -> Option<SideEntry> {
    // SAFETY: the caller passes a header of an allocated object.
    let h = unsafe { header.as_ref() };
    if !h.has(flags::SIDE) {
        return None;
    }
    h.clear(flags::SIDE);
    let entry = if in_pool(header) {
        // SAFETY: `in_pool` holds; the reference ends here. The emptied entry is ready for
        // the block's next object.
        std::mem::take(unsafe { pool_entry(header) })
    } else {
        with_extras(|extras| extras.remove_side(header.as_ptr() as usize))?
    };
    if let Some(id) = entry.id {
        with_extras(|extras| extras.ids.remove(id));
    }
    Some(entry)
}

/// The object an id names, if it is still alive and the id is this thread's heap's.
pub(crate) fn lookup_id(id: ObjectId) -> Option<NonNull<ObjHeader>> {
    let key = id.key_in(with_heap(|heap| heap.number.get()))?;
    with_extras(|extras| extras.ids.get(key).copied())
}

/// This thread's heap's number, unique in the process (numbered on first use, from 1), which
/// its object ids carry.
fn number() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    with_heap(|heap| {
        if heap.number.get() == 0 {
            // 0 means "not numbered yet": skipped should the count ever wrap.
            let mut number = NEXT.fetch_add(1, Ordering::Relaxed);
            if number == 0 {
                number = NEXT.fetch_add(1, Ordering::Relaxed);
            }
            heap.number.set(number);
        }
        heap.number.get()
    })
}

/// Returns the id of an object, assigning one the first time it is asked for.
pub(crate) fn id_of(header: NonNull<ObjHeader>) -> ObjectId {
    // SAFETY: the caller passes a header of an allocated object.
    unsafe { header.as_ref() }.set(flags::SIDE);
    let key = if in_pool(header) {
        // SAFETY: `in_pool` holds; the reference lives for this block, which makes no other.
        let entry = unsafe { pool_entry(header) };
        *entry.id.get_or_insert_with(|| with_extras(|extras| extras.ids.insert(header)))
    } else {
        with_extras(|extras| {
            let Extras { side, ids, .. } = extras;
            *side.entry(header.as_ptr() as usize).or_default().id.get_or_insert_with(|| ids.insert(header))
        })
    };
    ObjectId::new(number(), key)
}

/// Counts weak-reference callbacks that may still run.
#[inline]
pub(crate) fn add_pending_callbacks(delta: isize) {
    with_heap(|heap| heap.pending_callbacks.set(heap.pending_callbacks.get().wrapping_add_signed(delta)));
}

/// Whether any weak reference on this thread still has a callback that may run. When none
/// has, a collector can skip looking for weak references held by garbage.
pub fn weak_callbacks_pending() -> bool {
    with_heap(|heap| heap.pending_callbacks.get() > 0)
}

/// Registers the collector: `hook` is called on allocation of a tracked object when the
/// thread's young count reaches its limit, which is `default_young_limit` on every thread
/// until [`set_young_limit`] changes it there. Only the first registration in a process takes
/// effect; returns whether this one did. Threads whose heap was set up before the
/// registration keep their limit until it is set.
pub fn set_collect_hook(hook: fn(), default_young_limit: usize) -> bool {
    COLLECT_HOOK.set(CollectHook { hook, default_young_limit }).is_ok()
}

/// Whether a collection hook has been registered in this process.
pub fn collect_hook_installed() -> bool {
    COLLECT_HOOK.get().is_some()
}

/// Asks allocation to call the collection hook when the young count reaches `limit`
/// (`usize::MAX`: never). Thread-local.
pub fn set_young_limit(limit: usize) {
    with_heap(|heap| {
        heap.young_limit.set(limit);
        heap.young_limit_set.set(true);
        if !heap.walking.get() {
            heap.trigger.set(heap.usual_trigger());
        }
    });
}

/// The number of tracked objects allocated minus those freed since the count was last
/// reset (CPython's generation-0 count).
pub fn young_count() -> usize {
    with_heap(|heap| heap.young_count.get())
}

/// Takes a death (or an object lent to a `GcMut`) off the young count. The count stops at
/// zero, as CPython's does; a death it cannot take is counted apart, so that the collector
/// can tell how many objects outside the young list died (see [`take_uncounted_deaths`]).
#[inline]
fn count_death(heap: &Heap) {
    let count = heap.young_count.get();
    if count > 0 {
        heap.young_count.set(count - 1);
    } else {
        heap.uncounted_deaths.set(heap.uncounted_deaths.get() + 1);
    }
}

/// How many deaths (or objects lent to a `GcMut`) found the young count at zero since the
/// last call; resets the number. With it, the young count and the young list's length give
/// the deaths of objects outside the young list since the count was reset:
/// `young list length + uncounted deaths - young count`.
pub fn take_uncounted_deaths() -> usize {
    with_heap(|heap| heap.uncounted_deaths.replace(0))
}

/// Sets the young count (the collector resets it after a collection). A count too large to
/// add to is taken as `usize::MAX / 2`, so that the allocations after it still count.
pub fn set_young_count(count: usize) {
    with_heap(|heap| heap.young_count.set(count.min(usize::MAX / 2)));
}

/// The sentinel of list `index` (`0..LISTS`), set up on first use.
///
/// # Panics
/// If `index >= LISTS`.
pub fn list(index: usize) -> NonNull<Links> {
    with_heap(|heap| NonNull::from(heap.list(index)))
}

/// A walk of the collector over the heap's lists while their links hold its counts or
/// numbers instead of list links, from [`begin_walk`] until [`Walk::finish`] or the drop.
///
/// Only `Trace` impls run during a walk, and Trace's rule 2 forbids them to create or drop
/// `Gc`s; one that does anyway must not corrupt the lists or free memory the collector may
/// still look at. So, during a walk:
///
/// - a new tracked object is left out of the lists: it lives and dies by its count as any
///   object, but no collection ever examines it (a cycle through it is never collected);
///   if its count reaches zero during the walk itself, it is leaked (the walk may hold its
///   address);
/// - a tracked object whose count reaches zero stays linked with its count at zero,
///   untouched, for a collection to free;
/// - an object whose value the collector dropped earlier (it is in no list) is leaked when
///   its last handle goes.
///
/// [`Walk::finish`] says how many of these happened, for the collector to report.
#[derive(Debug)]
pub struct Walk {
    _not_send: std::marker::PhantomData<*const ()>,
}

/// Starts a walk (see [`Walk`]); `None` if one is already running on this thread.
pub fn begin_walk() -> Option<Walk> {
    with_heap(|heap| {
        if heap.walking.replace(true) {
            return None;
        }
        heap.deaths_put_off.set(0);
        heap.left_unlinked.set(0);
        heap.trigger.set(0);
        Some(Walk { _not_send: std::marker::PhantomData })
    })
}

/// Whether a walk (see [`Walk`]) is running on this thread: the lists must not be changed.
pub fn is_walking() -> bool {
    with_heap(|heap| heap.walking.get())
}

/// What happened to the heap during a [`Walk`] that Trace's rules forbid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WalkReport {
    /// Objects whose count reached zero: left for a collection to free (or, if the
    /// collector had dropped their values already, leaked).
    pub deaths_put_off: usize,
    /// Tracked objects created: left out of the lists.
    pub left_unlinked: usize,
}

impl Walk {
    /// Ends the walk and says what happened during it that Trace's rules forbid.
    pub fn finish(self) -> WalkReport {
        let report = with_heap(|heap| WalkReport {
            deaths_put_off: heap.deaths_put_off.get(),
            left_unlinked: heap.left_unlinked.get(),
        });
        drop(self);
        report
    }
}

impl Drop for Walk {
    fn drop(&mut self) {
        with_heap(|heap| {
            heap.walking.set(false);
            heap.trigger.set(heap.usual_trigger());
        });
    }
}

/// After teardown, frees the side table as soon as nothing is in it.
pub(crate) fn release_extras_if_torn_down() {
    with_heap(|heap| {
        let ptr = heap.extras.get();
        if !heap.torn_down.get() || ptr.is_null() {
            return;
        }
        {
            // SAFETY: non-null `extras` points at the live box (see `Heap::extras`).
            let cell = unsafe { &*ptr };
            let Ok(extras) = cell.try_borrow() else {
                return;
            };
            if !(extras.side.is_empty() && extras.ids.is_empty() && extras.teardown_hooks.is_empty()) {
                return;
            }
        }
        heap.extras.set(std::ptr::null_mut());
        // SAFETY: the pointer came from `Box::into_raw`, is no longer reachable from the
        // heap, and no borrow of it is out (checked above).
        drop(unsafe { Box::from_raw(ptr) });
    });
}

/// Takes the teardown hooks registered so far (see [`crate::exit::on_teardown`]).
pub(crate) fn take_teardown_hooks() -> Vec<Box<dyn FnOnce()>> {
    with_heap(|heap| {
        if heap.extras.get().is_null() {
            Vec::new()
        } else {
            std::mem::take(&mut heap.extras().borrow_mut().teardown_hooks)
        }
    })
}

/// Marks the heap torn down: from now on no allocation calls the collection hook.
pub(crate) fn mark_torn_down() {
    with_heap(|heap| {
        heap.torn_down.set(true);
        if !heap.walking.get() {
            heap.trigger.set(usize::MAX);
        }
    });
}

/// How many tracked objects the lists hold (a walk of every list).
pub(crate) fn tracked_objects() -> usize {
    with_heap(|heap| {
        if !heap.ready.get() {
            return 0;
        }
        heap.lists
            .iter()
            .map(|sentinel| {
                let mut count = 0;
                let mut cursor = sentinel.next();
                while !std::ptr::eq(cursor, sentinel) {
                    count += 1;
                    // SAFETY: list members are live objects' links; no walk runs (callers
                    // check), so the words are list links.
                    cursor = unsafe { &*cursor }.next();
                }
                count
            })
            .sum()
    })
}

/// Whether the side table (or teardown hooks) still exists.
pub(crate) fn has_extras() -> bool {
    with_heap(|heap| !heap.extras.get().is_null())
}
