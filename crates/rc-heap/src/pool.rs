//! The memory of heap objects: per-thread pools of fixed-size blocks, as CPython's pymalloc.
//!
//! A heap is thread-local and its objects never move to another thread, so its allocator can
//! be too: no lock, no atomic, and a free that is a few stores. Small objects (at most
//! [`MAX_BLOCK`] bytes, aligned to at most [`GRANULE`]) come from here; anything else goes to
//! `std::alloc`.
//!
//! # Structure
//!
//! - An *arena* is one `std::alloc` allocation of [`ARENA_POOLS`] pools, aligned to the pool
//!   size. Its bookkeeping is a small boxed [`Arena`].
//! - A *pool* is [`POOL_SIZE`] bytes of one arena, serving one size class (a multiple of
//!   [`GRANULE`]). It starts with a [`Pool`] header; a block finds its pool by rounding its
//!   address down to the pool size. Blocks that were freed form a singly linked list through
//!   their first word; blocks never handed out are carved from the pool's end, all together, when
//!   the free list runs out.
//! - Each size class keeps a doubly linked list of its pools that have a free block.
//! - A pool may keep a *side record* per block for the layers above (an object's weak
//!   references and id: [`SideRecords`]), in an array it allocates the first time one is
//!   asked for and frees when it goes back to its arena. A block's record is found from the
//!   block's address: the pool by rounding down, the index by a multiplication.
//!
//! # Invariants
//!
//! - A pool is in its class's list exactly when it has a free block, and then its free list
//!   is not empty (carving refills it), so allocation pops one block and checks one pointer.
//! - A pool whose last block is freed goes back to its arena, unless it is the only pool of
//!   its class with a free block (so that allocating and freeing one object in a loop does not
//!   hand a pool back and forth).
//! - An arena whose last pool comes back is kept for reuse while the thread runs, up to
//!   [`KEPT_ARENAS`] empty arenas (16 MiB); more are freed to the global allocator at once
//!   (which decides when the system gets the memory back: glibc keeps most of it). A program
//!   that builds a large structure, drops it and builds the next (a batch, a request, a
//!   round of a simulation) then reuses the same memory, where freeing it would make the
//!   system zero fresh pages for every round, as allocators keep freed pages for a while
//!   (glibc below its trim threshold, mimalloc until its purge delay, jemalloc as its dirty
//!   pages decay). When the thread's heap is torn down, empty pools and arenas are
//!   freed, and from then on every arena is freed as soon as it is empty, so a finished
//!   thread leaves no pool memory behind unless objects are still alive in it.
//! - Only the thread that owns the pools touches them: a block is freed on the thread that
//!   allocated it, because heap objects are neither `Send` nor `Sync`.
//!
//! Under Miri every object is its own `std::alloc` allocation instead, so that Miri checks
//! each object's bounds and lifetime.

use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::{self, NonNull, null_mut};

/// What memory asks of the layers above it: that the heap's exit passes run when this thread
/// ends, to give the memory back. This module names nothing above it, so the `exit` module
/// implements the trait for [`HeapExit`]: a hook chosen at compile time, which a thread that
/// only ever makes leaves (its first use of the crate is this module) still calls directly.
pub(crate) trait ThreadExit {
    /// Makes sure the exit passes run when this thread exits.
    fn register();
}

/// The heap's thread exit: its [`ThreadExit`] is in the `exit` module.
pub(crate) struct HeapExit;

/// What the layers above keep beside each block of a pool. This module names nothing above
/// it, so the heap says which type through this trait, which it implements for
/// [`BlockSide`]: a choice made at compile time, as [`ThreadExit`]'s.
pub(crate) trait SideRecords {
    /// One block's record. The default record is the empty one. A record needs no drop,
    /// and is empty again when its block is freed (the next object of the block finds it
    /// so).
    type Record: Default;
}

/// The heap's side records: its [`SideRecords`] is in the `heap` module.
pub(crate) struct BlockSide;

/// One block's side record.
pub(crate) type SideRecord = <BlockSide as SideRecords>::Record;

const _: () = assert!(!std::mem::needs_drop::<SideRecord>());

/// Block sizes are multiples of this, and blocks are aligned to it.
pub(crate) const GRANULE: usize = 16;
/// The largest block a pool serves.
pub(crate) const MAX_BLOCK: usize = 512;
/// Bytes per pool; also the alignment of pools.
const POOL_SIZE: usize = 16 * 1024;
/// Pools per arena.
const ARENA_POOLS: usize = 16;
/// Empty arenas kept for reuse while the thread runs: 16 MiB.
const KEPT_ARENAS: usize = 64;
const CLASSES: usize = MAX_BLOCK / GRANULE;

/// The header at the start of every pool.
#[repr(C, align(16))]
struct Pool {
    /// First free block; never null while the pool is in its class's list.
    free: Cell<*mut u8>,
    /// First block never handed out (the pool's end once all are carved).
    carve: Cell<*mut u8>,
    /// Blocks in use.
    used: Cell<u32>,
    /// `2^32 / block`, rounded up: a block's index is its offset times this, shifted right
    /// by 32 (exact for every offset inside a pool, see [`block_index`]).
    reciprocal: Cell<u32>,
    /// Block size in bytes.
    block: Cell<usize>,
    /// The side records of the blocks, one per block (null until the first is asked for).
    side: Cell<*mut SideRecord>,
    /// Neighbours in the class's list of pools with a free block, or, for a pool returned to
    /// its arena, `next` links the arena's free pools.
    next: Cell<*mut Pool>,
    prev: Cell<*mut Pool>,
    arena: Cell<*mut Arena>,
}

/// Blocks start this many bytes into a pool.
const POOL_HEADER: usize = size_of::<Pool>().next_multiple_of(GRANULE);

// The header fits in the space of one 64-byte block, so that a pool of them has 255.
const _: () = assert!(POOL_HEADER == 64);

/// The bookkeeping of one arena.
struct Arena {
    base: *mut u8,
    /// The arena's place in the order its thread made its arenas (see [`placement`]).
    number: u64,
    /// Pools returned to the arena, linked through `Pool::next`.
    free_pools: *mut Pool,
    /// Pools carved from `base` so far.
    carved: usize,
    /// Pools handed out and not returned.
    in_use: usize,
    /// Neighbours in the list of arenas that have a pool to give.
    next: *mut Arena,
    prev: *mut Arena,
}

impl Arena {
    fn has_pool(&self) -> bool {
        !self.free_pools.is_null() || self.carved < ARENA_POOLS
    }
}

const ARENA_LAYOUT: Layout = match Layout::from_size_align(POOL_SIZE * ARENA_POOLS, POOL_SIZE) {
    Ok(layout) => layout,
    Err(_) => panic!("bad arena layout"),
};

struct Pools {
    /// Per size class, the first pool with a free block.
    usable: [Cell<*mut Pool>; CLASSES],
    /// Arenas that have a pool to give, linked through `Arena::next`.
    arenas: Cell<*mut Arena>,
    /// Empty arenas kept for reuse (at most [`KEPT_ARENAS`]).
    empty_arenas: Cell<usize>,
    /// Arenas allocated and not freed.
    live_arenas: Cell<usize>,
    /// Arenas allocated so far, freed or not: the next one's number.
    arenas_made: Cell<u64>,
    torn_down: Cell<bool>,
}

thread_local! {
    // `const` and without a destructor, like the heap's core: objects that die while other
    // thread-locals are destroyed still free into valid pools.
    static POOLS: Pools = const {
        Pools {
            usable: [const { Cell::new(null_mut()) }; CLASSES],
            arenas: Cell::new(null_mut()),
            empty_arenas: Cell::new(0),
            live_arenas: Cell::new(0),
            arenas_made: Cell::new(0),
            torn_down: Cell::new(false),
        }
    };
}

/// The size class of a layout, if a pool serves it.
#[inline(always)]
const fn class_of(layout: Layout) -> Option<usize> {
    if cfg!(miri) || layout.size() > MAX_BLOCK || layout.align() > GRANULE || layout.size() == 0 {
        None
    } else {
        Some(layout.size().div_ceil(GRANULE) - 1)
    }
}

/// Whether a pool serves `layout` (else [`alloc`] takes it from `std::alloc`).
pub(crate) const fn serves(layout: Layout) -> bool {
    class_of(layout).is_some()
}

/// Allocates memory for `layout`; aborts through `handle_alloc_error` when there is none.
///
/// # Safety
/// `layout` has a non-zero size.
#[inline(always)]
pub(crate) unsafe fn alloc(layout: Layout) -> *mut u8 {
    debug_assert!(layout.size() > 0);
    let block = match class_of(layout) {
        Some(class) => POOLS.with(|pools| alloc_block(pools, class)),
        // SAFETY: non-zero size (caller's contract).
        None => unsafe { std::alloc::alloc(layout) },
    };
    if block.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    block
}

/// Frees memory from [`alloc`].
///
/// # Safety
/// `ptr` came from [`alloc`] with the same `layout` on this thread, and is not used again.
#[inline(always)]
pub(crate) unsafe fn dealloc(ptr: *mut u8, layout: Layout) {
    match class_of(layout) {
        Some(_) => {
            // SAFETY: a block of a pool of this thread (caller's contract).
            POOLS.with(|pools| unsafe { free_block(pools, ptr) });
        }
        // SAFETY: allocated by `std::alloc::alloc` with this layout (caller's contract).
        None => unsafe { std::alloc::dealloc(ptr, layout) },
    }
}

/// Frees many blocks of one layout, as [`dealloc`] does each, finding the thread's pools
/// once: see [`freeing`].
pub(crate) struct Freer<'a> {
    /// The thread's pools, if they serve the layout (else its blocks go to `std::alloc`).
    pools: Option<&'a Pools>,
    layout: Layout,
}

impl Freer<'_> {
    /// Frees `ptr`, as [`dealloc`] does.
    ///
    /// # Safety
    /// As for [`dealloc`], with the freer's layout.
    #[inline(always)]
    pub(crate) unsafe fn free(&self, ptr: *mut u8) {
        match self.pools {
            // SAFETY: a block of a pool of this thread (caller's contract).
            Some(pools) => unsafe { free_block(pools, ptr) },
            // SAFETY: allocated by `std::alloc::alloc` with this layout (caller's contract).
            None => unsafe { std::alloc::dealloc(ptr, self.layout) },
        }
    }
}

/// Runs `f` with a [`Freer`] of `layout`'s blocks. `f` may allocate and free otherwise too.
#[inline(always)]
pub(crate) fn freeing<R>(layout: Layout, f: impl FnOnce(&Freer<'_>) -> R) -> R {
    match class_of(layout) {
        Some(_) => POOLS.with(|pools| f(&Freer { pools: Some(pools), layout })),
        None => f(&Freer { pools: None, layout }),
    }
}

/// Where an address inside a block of this thread's pools lies: its arena's number (arenas
/// are numbered in the order the thread made them) and its offset in the arena. Unlike the
/// address, this depends only on what the thread allocated and freed before, not on where
/// the global allocator put the arenas, so a program that makes and frees its objects in the
/// same order finds its objects in the same places from run to run.
///
/// # Safety
/// `address` is inside a block of one of this thread's pools.
pub(crate) unsafe fn placement(address: *const u8) -> (u64, usize) {
    let pool = address.map_addr(|at| at & !(POOL_SIZE - 1)).cast::<Pool>();
    // SAFETY: the caller's contract: the pool's header is at the pool's start, and its arena's
    // bookkeeping lives while the pool is handed out.
    let arena = unsafe { &*(*pool).arena.get() };
    (arena.number, address.addr() - arena.base.addr())
}

#[inline(always)]
fn alloc_block(pools: &Pools, class: usize) -> *mut u8 {
    let pool = pools.usable[class].get();
    if pool.is_null() {
        return alloc_from_new_pool(pools, class);
    }
    // SAFETY: pools in a class list are live pool headers of this thread (module invariants).
    let pool = unsafe { &*pool };
    let block = pool.free.get();
    debug_assert!(!block.is_null());
    // SAFETY: the free list links free blocks of this pool through their first word.
    let next = unsafe { block.cast::<*mut u8>().read() };
    pool.free.set(next);
    pool.used.set(pool.used.get() + 1);
    if next.is_null() {
        refill_or_retire(pools, pool, class);
    }
    block
}

/// The pool's free list just ran out: carve the blocks left at its end into the free list,
/// or, if there are none, take the pool out of its class's list.
///
/// All of them at once: carved one at a time, every allocation from a pool fresh from its
/// arena (a structure built from scratch allocates from nothing else) called here, about
/// 25 instructions each; linking the rest of the pool is two stores per block, into memory
/// its allocations are about to write anyway.
#[cold]
fn refill_or_retire(pools: &Pools, pool: &Pool, class: usize) {
    let carve = pool.carve.get();
    let block = pool.block.get();
    let pool_end = ptr::from_ref(pool).cast::<u8>().wrapping_add(POOL_SIZE);
    let blocks = ((pool_end as usize) - (carve as usize)) / block;
    if blocks == 0 {
        unlink_pool(pools, pool, class);
        return;
    }
    let last = carve.wrapping_add((blocks - 1) * block);
    let mut at = carve;
    while at != last {
        let next = at.wrapping_add(block);
        // SAFETY: `at` is a never-used block inside the pool (before `last`, the last whole
        // block), at least one word long and aligned to a word.
        unsafe { at.cast::<*mut u8>().write(next) };
        at = next;
    }
    // SAFETY: as above, for the last block.
    unsafe { last.cast::<*mut u8>().write(null_mut()) };
    pool.free.set(carve);
    pool.carve.set(last.wrapping_add(block));
}

#[cold]
#[inline(never)]
fn alloc_from_new_pool(pools: &Pools, class: usize) -> *mut u8 {
    let Some(pool) = take_pool(pools) else { return null_mut() };
    let block = (class + 1) * GRANULE;
    // SAFETY: `take_pool` hands out `POOL_SIZE` bytes aligned to `POOL_SIZE`, in use by nobody,
    // part of its arena's allocation; the header fits before the first block.
    let pool = unsafe {
        let first = pool.cast::<u8>().add(POOL_HEADER);
        let arena = (*pool).arena.get();
        pool.write(Pool {
            free: Cell::new(null_mut()),
            carve: Cell::new(first.add(block)),
            used: Cell::new(1),
            reciprocal: Cell::new(u32::MAX / block as u32 + 1),
            block: Cell::new(block),
            side: Cell::new(null_mut()),
            next: Cell::new(null_mut()),
            prev: Cell::new(null_mut()),
            arena: Cell::new(arena),
        });
        &*pool
    };
    pools.usable[class].set(ptr::from_ref(pool).cast_mut());
    refill_or_retire(pools, pool, class);
    // SAFETY: as above.
    unsafe { pool_base(pool).add(POOL_HEADER) }
}

/// # Safety
/// `ptr` is a block in use of a pool of this thread.
#[inline(always)]
unsafe fn free_block(pools: &Pools, ptr: *mut u8) {
    let pool_ptr = ptr.map_addr(|addr| addr & !(POOL_SIZE - 1)).cast::<Pool>();
    // SAFETY: blocks live after their pool's header, in the same `POOL_SIZE`-aligned pool, so
    // rounding down finds the header; the pointer keeps the arena's provenance.
    let pool = unsafe { &*pool_ptr };
    debug_assert!(pool.used.get() > 0);
    #[cfg(debug_assertions)]
    // SAFETY: the block is `pool.block` bytes, no longer in use (caller's contract); filling
    // it makes a use after free read garbage in tests rather than a plausible object.
    unsafe {
        ptr.write_bytes(0xdb, pool.block.get());
    }
    let free = pool.free.get();
    // SAFETY: the block is at least a word long and unused now.
    unsafe { ptr.cast::<*mut u8>().write(free) };
    pool.free.set(ptr);
    let used = pool.used.get() - 1;
    pool.used.set(used);
    if free.is_null() || used == 0 {
        pool_changed(pools, pool, free.is_null());
    }
}

/// A free made a full pool usable again, or emptied a pool.
#[cold]
#[inline(never)]
fn pool_changed(pools: &Pools, pool: &Pool, was_full: bool) {
    let class = pool.block.get() / GRANULE - 1;
    if was_full {
        link_pool(pools, pool, class);
    }
    if pool.used.get() == 0 {
        let alone = pool.next.get().is_null() && pool.prev.get().is_null();
        if !alone || pools.torn_down.get() {
            unlink_pool(pools, pool, class);
            return_pool(pools, pool);
        }
    }
}

fn link_pool(pools: &Pools, pool: &Pool, class: usize) {
    let head = pools.usable[class].get();
    let me = ptr::from_ref(pool).cast_mut();
    pool.prev.set(null_mut());
    pool.next.set(head);
    if !head.is_null() {
        // SAFETY: list members are live pool headers.
        unsafe { (*head).prev.set(me) };
    }
    pools.usable[class].set(me);
}

fn unlink_pool(pools: &Pools, pool: &Pool, class: usize) {
    let (next, prev) = (pool.next.get(), pool.prev.get());
    // SAFETY: list members are live pool headers.
    unsafe {
        if prev.is_null() {
            debug_assert_eq!(pools.usable[class].get(), ptr::from_ref(pool).cast_mut());
            pools.usable[class].set(next);
        } else {
            (*prev).next.set(next);
        }
        if !next.is_null() {
            (*next).prev.set(prev);
        }
    }
    pool.next.set(null_mut());
    pool.prev.set(null_mut());
}

fn pool_base(pool: &Pool) -> *mut u8 {
    ptr::from_ref(pool).cast::<u8>().cast_mut()
}

/// A pool for a new size class: from an arena with one to give, or from a new arena. Its
/// `arena` field is set; the rest of the header is the caller's to write.
fn take_pool(pools: &Pools) -> Option<*mut Pool> {
    let mut arena = pools.arenas.get();
    if arena.is_null() {
        arena = new_arena(pools)?;
    }
    // SAFETY: arenas in the list are live boxes of this thread.
    let a = unsafe { &mut *arena };
    if a.in_use == 0 {
        pools.empty_arenas.set(pools.empty_arenas.get() - 1);
    }
    let pool = if a.free_pools.is_null() {
        // SAFETY: fewer than `ARENA_POOLS` were carved (the arena has a pool to give), so the
        // pool is inside the arena's allocation.
        let pool = unsafe { a.base.add(a.carved * POOL_SIZE) }.cast::<Pool>();
        a.carved += 1;
        pool
    } else {
        let pool = a.free_pools;
        // SAFETY: returned pools keep a valid header whose `next` links the arena's free pools.
        a.free_pools = unsafe { (*pool).next.get() };
        pool
    };
    a.in_use += 1;
    if !a.has_pool() {
        unlink_arena(pools, a);
    }
    // SAFETY: the pool is inside the arena and aligned for a header; `arena` is written with
    // a raw write because a carved pool's memory is uninitialized.
    unsafe { ptr::addr_of_mut!((*pool).arena).write(Cell::new(arena)) };
    Some(pool)
}

fn new_arena(pools: &Pools) -> Option<*mut Arena> {
    // SAFETY: the layout has a non-zero size.
    let base = unsafe { std::alloc::alloc(ARENA_LAYOUT) };
    if base.is_null() {
        return None;
    }
    let number = pools.arenas_made.get();
    pools.arenas_made.set(number + 1);
    let arena = Box::into_raw(Box::new(Arena {
        base,
        number,
        free_pools: null_mut(),
        carved: 0,
        in_use: 0,
        next: null_mut(),
        prev: null_mut(),
    }));
    pools.empty_arenas.set(pools.empty_arenas.get() + 1);
    pools.live_arenas.set(pools.live_arenas.get() + 1);
    // SAFETY: just made.
    link_arena(pools, unsafe { &mut *arena });
    // Make sure the heap's teardown runs on this thread, which frees what is left empty.
    <HeapExit as ThreadExit>::register();
    Some(arena)
}

/// Gives an empty pool back to its arena; frees the arena if nothing else is in use in it and
/// [`KEPT_ARENAS`] empty arenas are kept already.
fn return_pool(pools: &Pools, pool: &Pool) {
    let arena_ptr = pool.arena.get();
    free_side_records(pool);
    // SAFETY: a pool's arena outlives it (an arena is freed only when none of its pools is in
    // use, and this one still was).
    let arena = unsafe { &mut *arena_ptr };
    if !arena.has_pool() {
        link_arena(pools, arena);
    }
    pool.next.set(arena.free_pools);
    arena.free_pools = ptr::from_ref(pool).cast_mut();
    arena.in_use -= 1;
    if arena.in_use == 0 {
        if pools.torn_down.get() || pools.empty_arenas.get() >= KEPT_ARENAS {
            free_arena(pools, arena_ptr);
        } else {
            pools.empty_arenas.set(pools.empty_arenas.get() + 1);
            // Carved again from its start, in address order, as a new arena would be.
            arena.free_pools = null_mut();
            arena.carved = 0;
        }
    }
}

fn link_arena(pools: &Pools, arena: &mut Arena) {
    let head = pools.arenas.get();
    arena.prev = null_mut();
    arena.next = head;
    let me = ptr::from_mut(arena);
    if !head.is_null() {
        // SAFETY: list members are live boxes of this thread.
        unsafe { (*head).prev = me };
    }
    pools.arenas.set(me);
}

fn unlink_arena(pools: &Pools, arena: &mut Arena) {
    // SAFETY: list members are live boxes of this thread.
    unsafe {
        if arena.prev.is_null() {
            pools.arenas.set(arena.next);
        } else {
            (*arena.prev).next = arena.next;
        }
        if !arena.next.is_null() {
            (*arena.next).prev = arena.prev;
        }
    }
    arena.next = null_mut();
    arena.prev = null_mut();
}

/// Frees an arena none of whose pools is in use (it is in the arena list: it has pools to
/// give).
fn free_arena(pools: &Pools, arena: *mut Arena) {
    // SAFETY: a live box of this thread, in the list; no pool of it is in use, so nothing
    // points into its memory any more.
    unsafe {
        debug_assert_eq!((*arena).in_use, 0);
        unlink_arena(pools, &mut *arena);
        let arena = Box::from_raw(arena);
        std::alloc::dealloc(arena.base, ARENA_LAYOUT);
    }
    pools.live_arenas.set(pools.live_arenas.get() - 1);
}

/// The pool of a block, from any address inside the block.
///
/// # Safety
/// `addr` is inside a block in use of a pool of this thread, with its arena's provenance.
#[inline(always)]
unsafe fn pool_of<'a>(addr: *const u8) -> &'a Pool {
    // SAFETY: blocks live after their pool's header, in the same `POOL_SIZE`-aligned pool, so
    // rounding down finds the header (caller's contract).
    unsafe { &*addr.map_addr(|addr| addr & !(POOL_SIZE - 1)).cast::<Pool>() }
}

/// The index in its pool of the block `addr` is inside: its offset from the first block
/// divided by the block size, as a multiplication. `reciprocal` exceeds `2^32 / block` by
/// less than 1, so the product exceeds `offset / block` by less than `offset / 2^32 < 2^-18`,
/// too little to reach the next integer, since `offset / block` is at least `1 / block >=
/// 2^-9` below it.
#[inline(always)]
fn block_index(pool: &Pool, addr: *const u8) -> usize {
    let offset = addr.addr() - ptr::from_ref(pool).addr() - POOL_HEADER;
    let index = (offset as u64 * u64::from(pool.reciprocal.get())) >> 32;
    debug_assert_eq!(index as usize, offset / pool.block.get());
    index as usize
}

/// The number of blocks a pool of `block`-byte blocks holds.
fn blocks_per_pool(block: usize) -> usize {
    (POOL_SIZE - POOL_HEADER) / block
}

fn side_layout(block: usize) -> Layout {
    Layout::array::<SideRecord>(blocks_per_pool(block)).expect("a pool's side records fit in memory")
}

/// The side record of the block that `addr` is inside; the pool makes its records (all
/// empty) if it has none yet.
///
/// # Safety
/// `addr` is inside a block in use of a pool of this thread, with its arena's provenance.
#[inline(always)]
pub(crate) unsafe fn side_record_or_new(addr: *const u8) -> NonNull<SideRecord> {
    // SAFETY: the caller's contract.
    let pool = unsafe { pool_of(addr) };
    let records = match NonNull::new(pool.side.get()) {
        Some(records) => records,
        None => new_side_records(pool),
    };
    // SAFETY: the array holds one record per block of the pool, and the index is a block's.
    unsafe { records.add(block_index(pool, addr)) }
}

#[cold]
#[inline(never)]
fn new_side_records(pool: &Pool) -> NonNull<SideRecord> {
    let layout = side_layout(pool.block.get());
    // SAFETY: a pool holds at least one block, and a record is not zero-sized (it is the
    // heap's, which asks for records because it has something to keep).
    let array = unsafe { std::alloc::alloc(layout) }.cast::<SideRecord>();
    let Some(records) = NonNull::new(array) else { std::alloc::handle_alloc_error(layout) };
    for index in 0..blocks_per_pool(pool.block.get()) {
        // SAFETY: in bounds of the array just allocated for this many records.
        unsafe { records.add(index).write(SideRecord::default()) };
    }
    pool.side.set(records.as_ptr());
    records
}

/// Frees a pool's side records (its blocks are all free, so their records are empty).
fn free_side_records(pool: &Pool) {
    let records = pool.side.replace(null_mut());
    if !records.is_null() {
        // SAFETY: allocated by `new_side_records` with this layout (the block size has not
        // changed since); records need no drop.
        unsafe { std::alloc::dealloc(records.cast(), side_layout(pool.block.get())) };
    }
}

/// The thread's heap is being torn down: frees every empty pool and arena now, and every one
/// that becomes empty from now on. Pools with live objects stay until those objects die.
pub(crate) fn tear_down() {
    let _ = POOLS.try_with(|pools| {
        pools.torn_down.set(true);
        for class in 0..CLASSES {
            let mut pool = pools.usable[class].get();
            while !pool.is_null() {
                // SAFETY: list members are live pool headers.
                let p = unsafe { &*pool };
                pool = p.next.get();
                if p.used.get() == 0 {
                    unlink_pool(pools, p, class);
                    return_pool(pools, p);
                }
            }
        }
        let mut arena = pools.arenas.get();
        while !arena.is_null() {
            // SAFETY: list members are live boxes of this thread.
            let next = unsafe { (*arena).next };
            // SAFETY: as above.
            if unsafe { (*arena).in_use } == 0 {
                free_arena(pools, arena);
            }
            arena = next;
        }
        pools.empty_arenas.set(0);
    });
}

#[cfg(all(test, not(miri)))]
mod tests {
    use super::*;

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 8).unwrap()
    }

    fn take(size: usize) -> *mut u8 {
        // SAFETY: every size the tests use is non-zero.
        unsafe { alloc(layout(size)) }
    }

    /// # Safety
    /// `block` came from `take(size)` on this thread and is not used again.
    unsafe fn give(block: *mut u8, size: usize) {
        // SAFETY: the caller's contract.
        unsafe { dealloc(block, layout(size)) };
    }

    fn live_arenas() -> usize {
        POOLS.with(|pools| pools.live_arenas.get())
    }

    #[test]
    fn blocks_are_distinct_aligned_and_reused_after_free() {
        let blocks: Vec<*mut u8> = (0..5000).map(|_| take(48)).collect();
        let mut sorted = blocks.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), blocks.len());
        assert!(blocks.iter().all(|b| b.addr() % GRANULE == 0));
        for &b in &blocks {
            // SAFETY: each block is 48 writable bytes.
            unsafe { b.write_bytes(7, 48) };
        }
        let last = *blocks.last().unwrap();
        // SAFETY: from `take(48)`, not used again.
        unsafe { give(last, 48) };
        let again = take(48);
        assert_eq!(again, last);
        // SAFETY: as above, for every block.
        unsafe {
            give(again, 48);
            for &b in &blocks[..blocks.len() - 1] {
                give(b, 48);
            }
        }
    }

    #[test]
    fn every_block_has_its_own_side_record_found_from_any_address_inside_it() {
        for size in [16, 48, 64, 112, 512] {
            let blocks: Vec<*mut u8> = (0..3000).map(|_| take(size)).collect();
            let mut records = Vec::new();
            for &block in &blocks {
                // SAFETY: each address is inside a block in use of this thread's pools.
                let (first, last) =
                    unsafe { (side_record_or_new(block), side_record_or_new(block.wrapping_add(size - 1))) };
                assert_eq!(first, last, "one record per block, whatever address inside it");
                // SAFETY: a record of a live array, not referenced elsewhere.
                assert!(unsafe { first.as_ref() }.is_empty(), "a new record is empty");
                records.push(first);
            }
            records.sort();
            records.dedup();
            assert_eq!(records.len(), blocks.len(), "blocks of size {size} share no record");
            for block in blocks {
                // SAFETY: from `take(size)`, not used again.
                unsafe { give(block, size) };
            }
        }
    }

    #[test]
    fn large_and_over_aligned_layouts_use_the_system_allocator() {
        assert_eq!(class_of(layout(MAX_BLOCK + 1)), None);
        assert_eq!(class_of(Layout::from_size_align(64, 32).unwrap()), None);
        assert_eq!(class_of(layout(24)), Some(1));
        let big = take(4096);
        // SAFETY: from `take(4096)`, not used again.
        unsafe { give(big, 4096) };
    }

    #[test]
    fn empty_arenas_are_kept_up_to_a_limit_reused_and_all_freed_at_teardown() {
        std::thread::spawn(|| {
            // More blocks than the kept arenas hold: 24 MiB of 64-byte blocks.
            let count = KEPT_ARENAS * ARENA_POOLS * POOL_SIZE * 3 / 2 / 64;
            let blocks: Vec<*mut u8> = (0..count).map(|_| take(64)).collect();
            let peak = live_arenas();
            assert!(peak > KEPT_ARENAS);
            for b in blocks {
                // SAFETY: from `take(64)`, not used again.
                unsafe { give(b, 64) };
            }
            // The kept empty arenas, and the arena of the pool kept for the class.
            assert!(live_arenas() <= KEPT_ARENAS + 1, "{} arenas live", live_arenas());
            assert!(live_arenas() >= KEPT_ARENAS, "{} arenas live", live_arenas());
            // A second structure of the same size reuses them: no more arenas than the first.
            let blocks: Vec<*mut u8> = (0..count).map(|_| take(64)).collect();
            assert!(live_arenas() <= peak, "{} arenas live, {peak} at the first peak", live_arenas());
            for b in blocks {
                // SAFETY: from `take(64)`, not used again.
                unsafe { give(b, 64) };
            }
            let survivor = take(32);
            tear_down();
            assert_eq!(live_arenas(), 1, "the arena of a live block stays");
            // SAFETY: from `take(32)`, not used again.
            unsafe { give(survivor, 32) };
            assert_eq!(live_arenas(), 0, "after teardown an arena goes when its last block does");
        })
        .join()
        .unwrap();
    }
}
