//! What every weak container shares: its entries, the watcher its weak references report
//! their deaths to, and the removals put off while the entries are borrowed.
//!
//! Entries live in a slab (a vector whose free slots a bitmap finds); each entry's weak reference carries
//! its slot as the tag of a [`DeathWatch`] report, so a death finds its entry without
//! hashing the key and costs no callback allocation. A container keyed by value has a hash
//! index of its slots ([`Table`]); one keyed by identity has none: it finds an object's
//! entry from the object, through the object's weak references that report to it
//! ([`Gc::find_watched`]), as CPython finds an object's weak references through the object.
//! Slots never move, so an iteration walks them by position while entries come and go: a removal
//! empties a slot the cursor skips, and nothing else moves. No `RefCell` borrow is ever held
//! while a handle or a value is dropped, so a report almost always finds the table free and
//! removes its entry at once; when user code runs under a borrow (a `WeakKeyDictionary`
//! value's `Clone`, the closure of `with_value`) and kills an entry's object, the report is
//! queued and applied by the next operation.

use std::borrow::Borrow;
use std::cell::{Ref, RefCell, RefMut};
use std::hash::Hash;
use std::rc::Rc;

use hashbrown::HashTable;
use rc_heap::{DeathWatch, Gc, Trace, Watcher, Weak};

use crate::index_hash::{CROWDED, Spread, hash_of};
use crate::key_mode::KeyMode;

/// The entries: a slab of `(key, entry)` and, for a container keyed by value, an index of
/// its slots by their keys' hashes (a container keyed by identity finds its entries with
/// [`find_object`](Table::find_object) and adds them with [`push`](Table::push)).
///
/// The index holds no keys and no hashes, only slots (4 bytes each): a key is compared with
/// the one its slot holds, and the index grows by the hashes kept beside the slots
/// (`hashes`, read in a resize only). A lookup's one random read is into the index, and
/// the smaller the index, the more of it the caches keep while the lookup's other reads
/// (the slab, the weak reference, the object) stream through them: the index of a million
/// entries is 8 MiB, half what it is with a hash in each entry, and a quarter of a map from
/// `u64` keys to slots.
///
/// A death empties its entry's slot, reached by the tag in sequence with no hashing, and
/// leaves the index entry *stale* (pointing at an empty slot that is not reused): removing
/// it one death at a time would cost a cache miss each, as a sweep over the whole index,
/// done by the next insert once stale entries outnumber the live ones, does not (and a
/// container whose entries all die is reset without one). A stale index entry matches no
/// key, since its slot holds none.
#[derive(Trace)]
#[trace(crate = rc_heap)]
pub(crate) struct Table<K, E> {
    /// Holds no key or entry, only slots.
    #[trace(skip)]
    index: HashTable<u32>,
    #[trace(flatten)]
    slots: Vec<Option<Slot<K, E>>>,
    /// The index hash of each slot's key, for removing its index entry and for moving it
    /// when the index grows (a table with an index only).
    hashes: Vec<u32>,
    /// One bit per slot, set while a stale index entry points at it (so empty, and not to be
    /// reused until the sweep drops that entry). An empty slot without its bit is free: an
    /// insert takes the lowest, found from the two bitmaps, which a death only writes a bit
    /// of (a list of free slots grew by a word per death, reallocated as it grew, while a
    /// container emptied).
    stale: Vec<u64>,
    /// Index entries pointing at an empty slot: the bits set in `stale`.
    stale_keys: usize,
    /// No free slot is in a word of the bitmaps below this one.
    free_from: usize,
    /// Whether entries are found through `index` (else through their objects).
    indexed: bool,
    /// The number of entries.
    live: usize,
    /// No slot below this one holds an entry: where [`any_slot`](Table::any_slot) starts.
    lowest: usize,
    /// One bit per slot, set while it holds an entry: what a sweep reads for each index
    /// entry, small enough to stay in the cache where the slots would not.
    occupied: Vec<u64>,
    /// How the index spreads its keys' stored hashes over its buckets (`index_hash`): by
    /// value until keys crowd together.
    #[trace(skip)]
    spread: Spread,
}

impl<K: Eq + Hash + Clone, E> Table<K, E> {
    fn new(indexed: bool) -> Self {
        Table {
            index: HashTable::new(),
            slots: Vec::new(),
            hashes: Vec::new(),
            stale: Vec::new(),
            stale_keys: 0,
            free_from: 0,
            indexed,
            live: 0,
            lowest: 0,
            occupied: Vec::new(),
            spread: Spread::default(),
        }
    }

    /// Counts the entry just put in `slot` ([`emptied`](Table::emptied) is the reverse).
    #[inline]
    fn occupy(&mut self, slot: usize) {
        if slot / 64 >= self.occupied.len() {
            self.grow_occupied(slot / 64 + 1);
        }
        self.occupied[slot / 64] |= 1 << (slot % 64);
        self.live += 1;
        self.lowest = self.lowest.min(slot);
    }

    /// Grows the `occupied` bitmap to `words` words, out of line: once per 64 slots.
    #[cold]
    #[inline(never)]
    fn grow_occupied(&mut self, words: usize) {
        self.occupied.resize(words, 0);
    }

    /// The slot of `key`'s entry.
    #[inline]
    pub(crate) fn find<Q: ?Sized + Hash + Eq>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
    {
        self.find_hashed(hash_of(key), |held, _| held.borrow() == key)
    }

    /// The slot of the entry indexed under `hash` for which `matches` holds.
    #[inline]
    fn find_hashed(&self, hash: u32, mut matches: impl FnMut(&K, &E) -> bool) -> Option<usize> {
        debug_assert!(self.indexed);
        let slots = &self.slots;
        let found = self.index.find(self.spread.full(hash), |&indexed| {
            slots[indexed as usize].as_ref().is_some_and(|held| matches(&held.key, &held.entry))
        })?;
        Some(*found as usize)
    }

    /// The entry in `slot`.
    pub(crate) fn entry(&self, slot: usize) -> &E {
        &self.slots[slot].as_ref().expect("an indexed slot holds its entry").entry
    }

    /// The entry in `slot`, to change in place.
    pub(crate) fn entry_mut(&mut self, slot: usize) -> &mut E {
        &mut self.slots[slot].as_mut().expect("an indexed slot holds its entry").entry
    }

    /// The entry of `key`.
    /// A stale index entry's slot is empty (it is not reused while the entry points at it),
    /// so the slot itself says whether the entry is there.
    #[inline]
    pub(crate) fn get<Q: ?Sized + Hash + Eq>(&self, key: &Q) -> Option<&E>
    where
        K: Borrow<Q>,
    {
        let slot = self.find(key)?;
        self.slots[slot].as_ref().map(|held| &held.entry)
    }

    /// The slot of the live entry of `object` in a table without an index, found through
    /// the object's weak references that report to `watch`: the one whose tag is the slot
    /// of an entry (`weak_of` its weak reference) to the object. A weak reference to the
    /// object that reports to `watch` but is not its entry's (a handle to an entry removed
    /// by hand, kept by the user) names a slot that is empty or holds another object's.
    #[inline]
    pub(crate) fn find_object<T: ?Sized>(
        &self,
        object: &Gc<T>,
        watch: &Watcher,
        weak_of: impl Fn(&E) -> &Weak<T>,
    ) -> Option<usize> {
        debug_assert!(!self.indexed);
        Gc::find_watched(object, watch, |slot| {
            self.slots.get(slot).and_then(Option::as_ref).is_some_and(|held| weak_of(&held.entry).refers_to(object))
        })
    }

    /// Adds an entry under `key`, made by `make` from its slot, to a table without an index
    /// (the caller has found that the key has none); returns its slot.
    #[inline]
    pub(crate) fn push(&mut self, key: K, make: impl FnOnce(usize) -> E) -> usize {
        debug_assert!(!self.indexed);
        let slot = self.free_slot();
        self.store(slot, key, make);
        slot
    }

    /// Adds an entry under `key`, made by `make` from its slot, to a table with an index,
    /// indexed under `hash` (the caller has found that the key has none); returns its slot.
    pub(crate) fn push_indexed(&mut self, hash: u32, key: K, make: impl FnOnce(usize) -> E) -> usize {
        debug_assert!(self.indexed);
        self.sweep_if_mostly_stale();
        if let Some(slot) = self.stale_slot_of(hash) {
            self.stale[slot / 64] &= !(1 << (slot % 64));
            self.stale_keys -= 1;
            self.store(slot, key, make);
            return slot;
        }
        let slot = self.free_slot();
        let indexed = u32::try_from(slot).expect("a weak container holds fewer than 2^32 entries");
        if slot == self.hashes.len() {
            self.hashes.push(hash);
        } else {
            self.hashes[slot] = hash;
        }
        let (hashes, spread) = (&self.hashes, self.spread);
        let full = spread.full(hash);
        let at = self.index.insert_unique(full, indexed, |&entry| spread.full(hashes[entry as usize])).bucket_index();
        if spread == Spread::ByValue && at.wrapping_sub(full as usize) & (self.index.num_buckets() - 1) > CROWDED {
            self.mix();
        }
        self.store(slot, key, make);
        slot
    }

    /// A slot that a stale index entry under `hash` names, to take back with that entry: a
    /// key whose value keeps dying (a cache entry made again and again) reuses its own stale
    /// entry instead of adding another under the same hash each time, which would pile up
    /// at its home until the sweep, lengthening its probes (and, by value, crowding the
    /// index into mixing its hashes).
    #[inline]
    fn stale_slot_of(&self, hash: u32) -> Option<usize> {
        if self.stale_keys == 0 {
            return None;
        }
        let (stale, hashes) = (&self.stale, &self.hashes);
        let found = self.index.find(self.spread.full(hash), |&indexed| {
            let slot = indexed as usize;
            stale.get(slot / 64).is_some_and(|word| word & (1 << (slot % 64)) != 0) && hashes[slot] == hash
        })?;
        Some(*found as usize)
    }

    /// Rebuilds the index with every hash mixed: its keys, hashed by value, crowd into
    /// stretches of the table (an insert landed [`CROWDED`] buckets past its home).
    #[cold]
    #[inline(never)]
    fn mix(&mut self) {
        self.spread = Spread::Mixed;
        let hashes = &self.hashes;
        let full = |&entry: &u32| Spread::Mixed.full(hashes[entry as usize]);
        // The room is kept: a container given room by `reserve` keeps it across the switch.
        let mut index = HashTable::with_capacity(self.index.capacity());
        for &entry in self.index.iter() {
            index.insert_unique(full(&entry), entry, full);
        }
        self.index = index;
    }

    /// The slot a new entry takes: the lowest free one (empty, no stale index entry pointing
    /// at it), or else the slab's end.
    #[inline]
    fn free_slot(&mut self) -> usize {
        let end = self.slots.len();
        if self.live + self.stale_keys == end {
            return end;
        }
        self.lowest_free(end)
    }

    /// [`free_slot`](Self::free_slot) when the slab has a free slot: the scan starts where
    /// the last one was found or a slot was freed, so that a run of inserts walks the bitmaps
    /// once.
    fn lowest_free(&mut self, end: usize) -> usize {
        for word in self.free_from..end.div_ceil(64) {
            let taken = self.occupied.get(word).copied().unwrap_or(0) | self.stale.get(word).copied().unwrap_or(0);
            if taken == u64::MAX {
                continue;
            }
            let slot = word * 64 + taken.trailing_ones() as usize;
            if slot < end {
                self.free_from = word;
                return slot;
            }
        }
        debug_assert!(false, "a slab with fewer entries and stale slots than slots has a free one");
        end
    }

    /// Puts an entry made by `make` in `slot`, the slab's end or an empty slot. The slab
    /// grows first, so that the new entry goes straight into place: pushed after `make`, it
    /// was kept on the stack across the growth and copied with a load wider than the stores
    /// that had just written it, which stalls.
    #[inline]
    fn store(&mut self, slot: usize, key: K, make: impl FnOnce(usize) -> E) {
        if slot == self.slots.len() {
            self.slots.push(None);
        }
        let place = &mut self.slots[slot];
        debug_assert!(place.is_none());
        *place = Some(Slot { key, entry: make(slot) });
        self.occupy(slot);
    }

    /// The slot of `key`'s entry, or else the hash to add it under with
    /// [`push_indexed`](Table::push_indexed): the key is hashed once. The key's `Hash` and
    /// `Eq` run here, so a caller that goes on to change the table looks up under a shared
    /// borrow and borrows mutably only after it, for them to be able to read the container.
    pub(crate) fn find_or_hash(&self, key: &K) -> Result<usize, u32> {
        let hash = hash_of(key);
        self.find_hashed(hash, |held, _| held == key).ok_or(hash)
    }

    /// Replaces the entry in `slot` with one made by `make`; returns the old one (to be
    /// dropped once the borrow ends).
    pub(crate) fn replace(&mut self, slot: usize, make: impl FnOnce(usize) -> E) -> E {
        std::mem::replace(self.entry_mut(slot), make(slot))
    }

    /// Removes the entry in `slot`, with its index entry.
    pub(crate) fn take(&mut self, slot: usize) -> (K, E) {
        self.take_slot(slot, true).expect("a slot taken holds its entry").into_pair()
    }

    /// Removes the entry in `slot`, whose object has died, leaving its index entry stale
    /// (the key goes with the entry: the index holds none).
    fn take_dead(&mut self, slot: usize) -> Option<Slot<K, E>> {
        self.take_slot(slot, false)
    }

    /// Empties `slot`, removing its index entry if `unindex` (else leaving it stale), and
    /// returns what it held.
    fn take_slot(&mut self, slot: usize, unindex: bool) -> Option<Slot<K, E>> {
        let held = self.slots.get_mut(slot)?.take()?;
        self.emptied(slot, unindex);
        Some(held)
    }

    /// The bookkeeping of `slot`, whose entry was just taken out: removes its index entry
    /// if `unindex` (else leaves it stale), and frees the slot.
    #[inline(always)]
    fn emptied(&mut self, slot: usize, unindex: bool) {
        // An entry's slot has its bit (set when the entry was made).
        self.occupied[slot / 64] &= !(1 << (slot % 64));
        self.live -= 1;
        if self.indexed && !unindex {
            self.stale_keys += 1;
            if slot / 64 >= self.stale.len() {
                self.stale.resize(self.occupied.len(), 0);
            }
            self.stale[slot / 64] |= 1 << (slot % 64);
            self.reset_if_empty();
            return;
        }
        if self.indexed
            && let Ok(indexed) =
                self.index.find_entry(self.spread.full(self.hashes[slot]), |&indexed| indexed as usize == slot)
        {
            indexed.remove();
        }
        if !self.reset_if_empty() {
            self.free_from = self.free_from.min(slot / 64);
        }
    }

    /// Sweeps the stale index entries once they outnumber the live ones, before an insert:
    /// deaths only mark their entries, so that objects dying together (a batch of values
    /// dropped at once, the container emptying) cost no sweep at all.
    fn sweep_if_mostly_stale(&mut self) {
        if self.stale_keys > 64 && self.stale_keys * 2 > self.index.len() {
            self.sweep();
        }
    }

    /// Drops the stale index entries and makes their slots free.
    fn sweep(&mut self) {
        let occupied = &self.occupied;
        self.index.retain(|&mut indexed| {
            let slot = indexed as usize;
            occupied[slot / 64] & (1 << (slot % 64)) != 0
        });
        self.stale.fill(0);
        self.stale_keys = 0;
        self.free_from = 0;
    }

    /// Once no entry is left, drops the stale index entries and the slab; returns whether
    /// it did.
    #[inline]
    fn reset_if_empty(&mut self) -> bool {
        if self.live != 0 {
            return false;
        }
        self.reset();
        true
    }

    /// Removes the index entries one by one when they are few for the index's size, so that
    /// the reset finds the index empty: clearing it writes every bucket, which a table left
    /// with a lone entry after a peak (a cache that keeps one object, inserted and dying
    /// again and again) would pay at every death. An index entry's slot has its bit in one
    /// of the bitmaps (its entry's, or the stale bit of an emptied slot); one not found is
    /// cleared with the rest.
    fn unindex_few(&mut self) {
        let mut left = self.index.len();
        if left == 0 || left * 16 >= self.index.capacity() {
            return;
        }
        for word in 0..self.occupied.len().max(self.stale.len()) {
            let mut bits = self.occupied.get(word).copied().unwrap_or(0) | self.stale.get(word).copied().unwrap_or(0);
            while bits != 0 {
                let slot = word * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let Some(&hash) = self.hashes.get(slot) else { continue };
                if let Ok(indexed) = self.index.find_entry(self.spread.full(hash), |&indexed| indexed as usize == slot)
                {
                    indexed.remove();
                    left -= 1;
                }
            }
            if left == 0 {
                return;
            }
        }
    }

    /// Drops the stale index entries and the slab of a table with no entry left.
    #[inline(never)]
    fn reset(&mut self) {
        self.unindex_few();
        #[cfg(test)]
        if !self.index.is_empty() {
            tests::count_work(self.index.num_buckets());
        }
        self.index.clear();
        self.slots.clear();
        self.hashes.clear();
        self.stale.clear();
        self.stale_keys = 0;
        self.free_from = 0;
        self.lowest = 0;
        self.occupied.clear();
        self.spread = Spread::default();
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// How many entries the table holds without allocating.
    fn capacity(&self) -> usize {
        if self.indexed { self.slots.capacity().min(self.index.capacity()) } else { self.slots.capacity() }
    }

    /// Makes room for `additional` entries more than the table holds, so that as many inserts
    /// allocate nothing (`HashMap::reserve`); returns the slab's capacity.
    fn reserve(&mut self, additional: usize) -> usize {
        // A slot a stale index entry points at is not free until the sweep: the slab needs
        // room past the live entries and those.
        let more = (self.live + self.stale_keys).saturating_add(additional).saturating_sub(self.slots.len());
        self.slots.reserve(more);
        let words = self.slots.capacity().div_ceil(64);
        self.occupied.reserve(words.saturating_sub(self.occupied.len()));
        if self.indexed {
            self.hashes.reserve(more);
            let (spread, hashes) = (self.spread, &self.hashes);
            self.index.reserve(additional, |&entry| spread.full(hashes[entry as usize]));
        }
        self.slots.capacity()
    }

    /// Gives back the memory the live entries do not need: sweeps the stale index entries,
    /// cuts the slab after its last entry and shrinks every buffer to its length; returns
    /// the slab's new length.
    fn shrink_to_fit(&mut self) -> usize {
        if self.live == 0 {
            *self = Table::new(self.indexed);
            return 0;
        }
        if self.indexed && self.stale_keys > 0 {
            self.sweep();
        }
        let last_word = self.occupied.iter().rposition(|&word| word != 0).expect("a table with entries has a bit set");
        let end = last_word * 64 + (63 - self.occupied[last_word].leading_zeros() as usize) + 1;
        self.slots.truncate(end);
        self.hashes.truncate(end);
        self.occupied.truncate(last_word + 1);
        self.stale.truncate(last_word + 1);
        self.slots.shrink_to_fit();
        self.hashes.shrink_to_fit();
        self.occupied.shrink_to_fit();
        self.stale.shrink_to_fit();
        let (hashes, spread) = (&self.hashes, self.spread);
        self.index.shrink_to_fit(|&entry| spread.full(hashes[entry as usize]));
        end
    }

    /// The lowest occupied slot. Taking entries one by one from the lowest costs one walk
    /// of the slab in all.
    pub(crate) fn any_slot(&mut self) -> Option<usize> {
        let start = self.lowest / 64;
        let (offset, word) = self.occupied.get(start..)?.iter().enumerate().find(|(_, word)| **word != 0)?;
        self.lowest = (start + offset) * 64 + word.trailing_zeros() as usize;
        Some(self.lowest)
    }

    /// Every entry.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&K, &E)> {
        self.slots.iter().flatten().map(|slot| (&slot.key, &slot.entry))
    }
}

impl<K: Eq + Hash + Clone, E: WeakEntry> Table<K, E> {
    /// Drops every entry whose weak reference is cleared (its object's death has run: one
    /// the death loop queued reads dead before that, and may yet be resurrected by its
    /// finalizer, so its entry stays) in one pass over the slab, for a deferred
    /// container at least half of whose entries died (the pass reads each entry's weak
    /// reference, which dropping a dead one reads anyway, and no bookkeeping is done per
    /// entry). Dropping a dead entry runs no code of anyone's (see [`Shared::new`]), so it
    /// happens under the borrow.
    fn drop_dead(&mut self, watch: &Watcher) {
        #[cfg(test)]
        tests::count_work(self.slots.len());
        // Empty and dead slots at the slab's end are popped, the whole slab in a container
        // whose entries all died: emptied in place, they would be walked again by the reset.
        // If an entry lives, the slab gets its length back (empty slots), as the index and
        // the bitmaps know it. The dead entries' weak references are dropped together
        // (`Watcher::drop_weaks`), their keys and the rest of them having no drop glue.
        let len = self.slots.len();
        let slots = &mut self.slots;
        watch.drop_weaks(std::iter::from_fn(|| {
            loop {
                if slots.last()?.as_ref().is_some_and(|held| !held.entry.is_cleared()) {
                    return None;
                }
                if let Some(Some(slot)) = slots.pop() {
                    return Some(slot.entry.into_weak());
                }
            }
        }));
        if !self.slots.is_empty() {
            self.slots.resize_with(len, || None);
        }
        let mut kept = 0;
        watch.drop_weaks(self.slots.iter_mut().filter_map(|held| match held {
            Some(slot) if slot.entry.is_cleared() => held.take().map(|slot| slot.entry.into_weak()),
            Some(_) => {
                kept += 1;
                None
            }
            None => None,
        }));
        self.live = kept;
        if kept == 0 {
            self.reset();
            return;
        }
        // Some entries live: the bitmaps are made again from the slab. A slot emptied here
        // keeps its index entry, now stale, as a death's does.
        debug_assert!(self.occupied.len() * 64 >= self.slots.len(), "every slot has its bit");
        for (word, chunk) in self.slots.chunks(64).enumerate() {
            let now = chunk.iter().enumerate().fold(0u64, |bits, (bit, held)| bits | u64::from(held.is_some()) << bit);
            let emptied = self.occupied[word] & !now;
            self.occupied[word] = now;
            if self.indexed && emptied != 0 {
                if word >= self.stale.len() {
                    self.stale.resize(self.occupied.len(), 0);
                }
                self.stale[word] |= emptied;
                self.stale_keys += emptied.count_ones() as usize;
            }
        }
        self.free_from = 0;
        self.lowest = 0;
    }
}

impl<E> Table<(), E> {
    /// The slot of the live entry whose object is `item`'s key under `M` (`weak_of` an
    /// entry's weak reference), or else what to add it under: its index hash, or `None` in
    /// a table without an index. Dead members match nothing.
    #[inline]
    pub(crate) fn find_key<T: ?Sized + 'static, M: KeyMode<T>>(
        &self,
        item: &Gc<T>,
        watch: &Watcher,
        weak_of: impl Fn(&E) -> &Weak<T>,
    ) -> Result<usize, Option<u32>> {
        if !M::INDEXED {
            return self.find_object(item, watch, weak_of).ok_or(None);
        }
        let hash = hash_of(&M::hash(item));
        let same = |(): &(), entry: &E| weak_of(entry).upgrade().is_some_and(|member| M::same(&member, item));
        self.find_hashed(hash, same).ok_or(Some(hash))
    }

    /// Adds an entry, made by `make` from its slot, under what [`find_key`](Table::find_key)
    /// gave.
    #[inline]
    pub(crate) fn push_key(&mut self, hash: Option<u32>, make: impl FnOnce(usize) -> E) -> usize {
        match hash {
            Some(hash) => self.push_indexed(hash, (), make),
            None => self.push((), make),
        }
    }
}

/// What a slot of the slab holds: a key and its entry, traced as the container's own, so
/// that an edge reads `notes[3]` (the slot) rather than naming the slab's insides.
#[derive(Trace)]
#[trace(crate = rc_heap)]
pub(crate) struct Slot<K, E> {
    #[trace(flatten)]
    key: K,
    #[trace(flatten)]
    entry: E,
}

impl<K, E> Slot<K, E> {
    fn into_pair(self) -> (K, E) {
        (self.key, self.entry)
    }
}

/// Traced through the container's `Rc` while the container is its only owner (always,
/// except while an iterator or a death report briefly holds it): the keys and entries, with
/// their weak references and, in a weak-keyed map, the strongly held values.
#[derive(Trace)]
#[trace(crate = rc_heap)]
pub(crate) struct Shared<K, E> {
    #[trace(flatten)]
    pub(crate) table: RefCell<Table<K, E>>,
    /// Slots whose object died while the table was borrowed.
    pending: RefCell<Vec<usize>>,
    /// This container as the watcher of its entries' weak references, each made with its
    /// slot as the tag: the watcher's record of the live ones, by slot, is what an
    /// iteration reads to upgrade an entry (a word per slot, in slot order), rather than
    /// each weak reference's own slot (a cache line each).
    #[trace(skip)]
    watch: Watcher,
    /// The container's type, for messages.
    #[trace(skip)]
    kind: &'static str,
}

/// An entry of a container as the shared part sees it: through its weak reference.
pub(crate) trait WeakEntry {
    /// The type of the entry's object.
    type Object: ?Sized + 'static;

    /// Whether the entry's object is dead (its weak reference reads dead).
    fn is_dead(&self) -> bool;

    /// Whether the entry's weak reference has been cleared (the death happened).
    fn is_cleared(&self) -> bool;

    /// The entry's weak reference, the rest of the entry dropped.
    fn into_weak(self) -> Weak<Self::Object>;
}

impl<T: ?Sized + 'static> WeakEntry for Weak<T> {
    type Object = T;

    #[inline]
    fn is_dead(&self) -> bool {
        Weak::is_dead(self)
    }

    #[inline]
    fn is_cleared(&self) -> bool {
        Weak::is_cleared(self)
    }

    #[inline]
    fn into_weak(self) -> Weak<T> {
        self
    }
}

impl<K: Eq + Hash + Clone + 'static, E: WeakEntry + 'static> Shared<K, E> {
    /// A container whose entries are found through a hash index of their keys if
    /// `indexed`, else through their objects ([`Table::find_object`]).
    /// `kind` is the container's type, as messages name it.
    ///
    /// If `deferred`, the deaths of the entries' objects are only marked in the watcher's
    /// record ([`Watcher::deferred`]) and their entries removed together by the next
    /// operation ([`settle`](Self::settle)); else each death reports at once and its entry
    /// goes then. A container may be deferred only if dropping an entry runs no code of
    /// anyone's but the weak reference's drop (its key and the rest of its entry have no
    /// drop glue: `!needs_drop`), so that when it happens can be seen in nothing but memory.
    pub(crate) fn new(indexed: bool, kind: &'static str, deferred: bool) -> Rc<Self> {
        Rc::new_cyclic(|me: &std::rc::Weak<Self>| Shared {
            table: RefCell::new(Table::new(indexed)),
            pending: RefCell::new(Vec::new()),
            watch: if deferred { Watcher::deferred() } else { Watcher::new(me.clone()) },
            kind,
        })
    }

    /// The table, to change. User code that runs while the table is read (a key's `Hash` or
    /// `Eq` during a lookup, a value's `Clone` during an iteration) cannot change the
    /// container: that panics, naming the misuse, and leaves the container as it was (as
    /// CPython raises `RuntimeError` for a set changed during its own lookup).
    #[track_caller]
    pub(crate) fn table_mut(&self) -> RefMut<'_, Table<K, E>> {
        match self.table.try_borrow_mut() {
            Ok(table) => table,
            Err(_) if self.table.try_borrow().is_ok() => changed_while_read(self.kind),
            Err(_) => used_while_changed(self.kind),
        }
    }

    /// The table, to read. User code that runs while the table is changed (the closure given
    /// to `retain` or `with_value_mut`, the `Drop` of an object whose last handle it drops)
    /// cannot read the container: that panics, naming the misuse.
    #[track_caller]
    pub(crate) fn table(&self) -> Ref<'_, Table<K, E>> {
        match self.table.try_borrow() {
            Ok(table) => table,
            Err(_) => used_while_changed(self.kind),
        }
    }

    /// The watcher to make the entries' weak references with.
    pub(crate) fn watch(&self) -> &Watcher {
        &self.watch
    }

    /// Applies the removals queued while the table was borrowed, and those of the deaths a
    /// deferred container's watcher marked. Every operation that changes or counts the
    /// entries starts here.
    #[inline]
    pub(crate) fn settle(&self) {
        if self.watch.dead_count() > 0 || !self.pending.borrow().is_empty() {
            self.settle_pending();
        }
    }

    /// [`settle`](Self::settle) once some removal is queued or some death marked.
    #[inline(never)]
    fn settle_pending(&self) {
        let Ok(mut table) = self.table.try_borrow_mut() else { return };
        // A deferred container's dead entries are dropped as they are taken: dropping one
        // runs no code of anyone's (see `new`). Once they are half the slab or more, one
        // pass over the slab finds them (the marks are forgotten), as CPython's `WeakSet`
        // clears its pending removals in one go; fewer are taken one by one. The pass is
        // measured against the slab, which keeps its length after a peak, not against the
        // live entries: a container left with a few after a burst would walk its whole
        // slab at every death.
        let dead = self.watch.dead_count();
        if dead > 0 && dead * 2 >= table.slots.len() {
            // The marks are forgotten after the pass: a dead entry's weak reference, freed
            // in it, finds its word marked, not naming it, and leaves it. A container left
            // with no entry forgets its whole record at once, keeping its memory as the
            // slab keeps its own.
            table.drop_dead(&self.watch);
            if table.live == 0 {
                self.watch.clear_record();
            } else {
                self.watch.forget_deaths();
            }
        } else if dead > 0 {
            self.watch.take_deaths(|slot| drop(self.take_if_dead(&mut table, slot)));
        }
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        let removed: Vec<Slot<K, E>> =
            pending.into_iter().filter_map(|slot| self.take_if_dead(&mut table, slot)).collect();
        drop(table);
        drop(removed);
    }

    /// Removes the entry in `slot` if it is there and dead (a new entry may have taken the
    /// slot of one removed by hand).
    #[inline]
    fn take_if_dead(&self, table: &mut Table<K, E>, slot: usize) -> Option<Slot<K, E>> {
        let entry = &table.slots.get(slot)?.as_ref()?.entry;
        if !entry.is_cleared() {
            return None;
        }
        table.take_dead(slot)
    }

    /// Removes the live entries for which `keep` (given the watcher, the slot, the key and
    /// the entry) says `false`. `keep` runs under the table's mutable borrow, so it cannot
    /// use the container (that panics); the removed entries are dropped after the borrow.
    /// Dead entries are left to the removal of dead entries.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&Watcher, usize, &K, &mut E) -> bool) {
        self.settle();
        let mut removed = Vec::new();
        let mut table = self.table_mut();
        // A removal may reset the table (its last entry gone): the slab's length is read at
        // every step.
        let mut slot = 0;
        while let Some(held) = table.slots.get_mut(slot) {
            slot += 1;
            let Some(held) = held.as_mut() else { continue };
            if held.entry.is_dead() || keep(&self.watch, slot - 1, &held.key, &mut held.entry) {
                continue;
            }
            removed.push(table.take(slot - 1));
        }
        drop(table);
        drop(removed);
    }

    /// The number of entries, dead ones whose removal was queued excluded. Settled or not
    /// (a container that lends an entry cannot settle), the count is the same: an entry
    /// whose death has run is not counted, one whose death the death loop queued is, until
    /// the death runs (which may resurrect its object instead).
    pub(crate) fn len(&self) -> usize {
        self.settle();
        let table = self.table();
        let pending = self.pending.borrow();
        if pending.is_empty() && self.watch.dead_count() == 0 {
            return table.len();
        }
        table.entries().filter(|(_, entry)| !entry.is_cleared()).count()
    }

    /// The number of entries whose object lives: what an iteration yields, where
    /// [`len`](Self::len) still counts an entry whose object is dying (its weak reference
    /// reads dead) until the death removes it. Equality compares these.
    pub(crate) fn live_len(&self) -> usize {
        self.table().entries().filter(|(_, entry)| !entry.is_dead()).count()
    }

    /// Removes every entry. The entries are dropped after the borrow ends: dropping them
    /// may run code that looks at the container.
    pub(crate) fn clear(&self) {
        let mut table = self.table_mut();
        let indexed = table.indexed;
        let old = std::mem::replace(&mut *table, Table::new(indexed));
        drop(table);
        self.pending.borrow_mut().clear();
        drop(old);
        self.watch.shrink_record(0);
    }

    /// Makes room for `additional` more entries, in the table and the watcher's record.
    pub(crate) fn reserve(&self, additional: usize) {
        self.settle();
        let slots = self.table_mut().reserve(additional);
        self.watch.reserve_record(slots);
    }

    /// The room [`Extend`] makes for `items` (`hashbrown`'s rule): all of their lower bound
    /// in an empty container, half of it in one that has entries (some may be there already).
    pub(crate) fn reserve_for<I: Iterator>(&self, items: &I) {
        let lower = items.size_hint().0;
        if lower == 0 {
            return;
        }
        let empty = self.table.try_borrow().is_ok_and(|table| table.live == 0);
        self.reserve(if empty { lower } else { lower.div_ceil(2) });
    }

    /// How many entries the container holds without allocating.
    pub(crate) fn capacity(&self) -> usize {
        self.table().capacity()
    }

    /// Gives back the memory the live entries do not need (a container that held many more
    /// entries than it does now keeps what they took until then, as a `HashMap` does).
    pub(crate) fn shrink_to_fit(&self) {
        self.settle();
        let end = self.table_mut().shrink_to_fit();
        self.pending.borrow_mut().shrink_to_fit();
        self.watch.shrink_record(end);
    }

    /// An iteration's position in the slab. It ends at the slab's length of now, so that a
    /// loop that adds entries still ends.
    pub(crate) fn cursor(self: &Rc<Self>) -> Cursor<K, E> {
        self.settle();
        let end = self.table().slots.len();
        Cursor { shared: Rc::clone(self), next: 0, end }
    }
}

/// "entry" or "entries", for a count of `len` in a container's `Debug` text.
pub(crate) fn entries(len: usize) -> &'static str {
    if len == 1 { "entry" } else { "entries" }
}

/// The panic of a container used by user code that runs while it is changed.
#[cold]
#[track_caller]
fn used_while_changed(kind: &str) -> ! {
    panic!(
        "a {kind} was used from code it ran while it was being changed (the closure given to `retain` or \
         `with_value_mut`, or the `Drop` of an object whose last handle that closure dropped); keep what the \
         closure needs from the {kind} in locals, and drop handles after the call returns"
    )
}

/// The panic of a container changed by user code that runs while it is read.
#[cold]
#[track_caller]
fn changed_while_read(kind: &str) -> ! {
    panic!(
        "a {kind} was changed from code it ran while it was being read (a key's Hash or Eq \
         during a lookup, a value's Clone during an iteration, the closure given to `with_value`); \
         the {kind} is unchanged"
    )
}

impl<K: Eq + Hash + Clone + 'static, E: WeakEntry + 'static> DeathWatch for Shared<K, E> {
    /// An entry whose container is garbage too: queued for the container's next operation,
    /// in case the container outlives the collection (saved in `gc.garbage`, resurrected).
    fn died_unreachable(&self, slot: usize) {
        if let Ok(mut pending) = self.pending.try_borrow_mut() {
            pending.push(slot);
        }
    }

    fn died(&self, slot: usize) {
        let Ok(mut table) = self.table.try_borrow_mut() else {
            self.pending.borrow_mut().push(slot);
            return;
        };
        // The entry is moved out of the slab into this frame once, and dropped here after
        // the borrow: what it holds may run code that looks at the container.
        let held = table.slots.get_mut(slot).filter(|held| held.as_ref().is_some_and(|held| held.entry.is_cleared()));
        let removed = held.and_then(Option::take);
        if removed.is_some() {
            table.emptied(slot, false);
        }
        drop(table);
        drop(removed);
    }
}

/// An iteration over a container: the next slot to look at, and the container's shared
/// part, held so that the container is not traced (and its entries not freed) while the
/// iteration runs.
pub(crate) struct Cursor<K, E> {
    shared: Rc<Shared<K, E>>,
    next: usize,
    /// One past the last slot to look at.
    end: usize,
}

impl<K: Eq + Hash + Clone + 'static, E: WeakEntry + 'static> Cursor<K, E> {
    /// The next entry for which `f` gives something, given the container's watcher and the
    /// entry's slot (its weak reference's tag, to upgrade it with [`Watcher::upgrade`]).
    /// `f` runs under a shared borrow of the table: it may clone and upgrade, not drop
    /// handles.
    #[inline]
    pub(crate) fn find_map<R>(&mut self, mut f: impl FnMut(&Watcher, usize, &K, &E) -> Option<R>) -> Option<R> {
        let table = self.shared.table();
        let watch = &self.shared.watch;
        // The slab may have been emptied since the iteration began.
        let end = self.end.min(table.slots.len());
        while self.next < end {
            let slot = self.next;
            self.next += 1;
            if let Some(held) = &table.slots[slot]
                && let Some(found) = f(watch, slot, &held.key, &held.entry)
            {
                return Some(found);
            }
        }
        self.next = usize::MAX;
        None
    }

    /// How many slots are left to look at.
    pub(crate) fn remaining_slots(&self) -> usize {
        self.end.saturating_sub(self.next)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use rc_heap::Gc;

    use super::{Slot, Spread, Table};
    use crate::{WeakKeyDictionary, WeakSet, WeakValueDictionary};

    thread_local! {
        /// The slots walked by passes over a slab and the buckets written by clearing an
        /// index, on this thread.
        static WORK: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn count_work(amount: usize) {
        WORK.with(|work| work.set(work.get() + amount));
    }

    fn work() -> usize {
        WORK.with(Cell::get)
    }

    /// After a burst of entries dies, a container left with few (or none) does work in
    /// proportion to what it holds, not to its peak: its slab keeps the peak's length and
    /// its index the peak's buckets, and a pass over the slab at every death, or a clear of
    /// the index at every emptying, made each insert and death after the peak cost the
    /// peak.
    #[test]
    fn a_container_after_a_peak_works_in_proportion_to_what_it_holds() {
        const PEAK: u64 = if cfg!(miri) { 300 } else { 100_000 };
        const AFTER: u64 = if cfg!(miri) { 50 } else { 2_000 };
        for keep_one in [true, false] {
            let values = WeakValueDictionary::new();
            let keys = WeakKeyDictionary::by_value();
            let set = WeakSet::new();
            let kept = Gc::new(u64::MAX);
            if keep_one {
                values.insert(u64::MAX, &kept);
                keys.insert(&kept, 0);
                set.add(&kept);
            }
            let burst: Vec<Gc<u64>> = (0..PEAK).map(Gc::new).collect();
            for object in &burst {
                values.insert(**object, object);
                keys.insert(object, 1);
                set.add(object);
            }
            drop(burst);
            assert_eq!(values.len() + keys.len() + set.len(), if keep_one { 3 } else { 0 });
            let before = work();
            for n in 0..AFTER {
                let object = Gc::new(n);
                values.insert(PEAK + n, &object);
                keys.insert(&object, 2);
                set.add(&object);
                drop(object);
                assert_eq!(values.len() + keys.len() + set.len(), if keep_one { 3 } else { 0 });
            }
            let done = work() - before;
            assert!(done < 64 * AFTER as usize, "{done} slots and buckets for {AFTER} inserts and deaths");
        }
    }

    /// Adds `key` with `value` unless it has an entry; returns the slot of the one it has.
    fn find_or_push(table: &mut Table<u64, u64>, key: u64, value: u64) -> Option<usize> {
        match table.find_or_hash(&key) {
            Ok(slot) => Some(slot),
            Err(hash) => {
                table.push_indexed(hash, key, |_| value);
                None
            }
        }
    }

    fn table_of(keys: impl IntoIterator<Item = u64>) -> Table<u64, u64> {
        let mut table = Table::new(true);
        for key in keys {
            assert_eq!(find_or_push(&mut table, key, key * 10), None);
        }
        table
    }

    #[test]
    fn deaths_leave_stale_index_entries_until_an_insert_sweeps_them() {
        let mut table = table_of(0..200);
        for key in 0..150 {
            let slot = table.find(&key).expect("a live entry");
            assert_eq!(table.take_dead(slot).map(Slot::into_pair), Some((key, key * 10)));
        }
        assert_eq!(table.len(), 50);
        assert_eq!(table.index.len(), 200, "deaths only mark their index entries");
        assert!((0..150).all(|key| table.find(&key).is_none()), "a stale entry reads as absent");
        assert!((150..200).all(|key| table.get(&key) == Some(&(key * 10))));

        assert_eq!(find_or_push(&mut table, 1_000, 7), None);
        assert_eq!(table.index.len(), 51, "the insert swept the stale entries first");
        assert_eq!(table.len(), 51);
        assert!(table.slots.len() == 200, "the new entry took a slot the deaths freed");
        assert_eq!(table.get(&1_000), Some(&7));
        // A key whose entry died is new again.
        assert_eq!(find_or_push(&mut table, 3, 30), None);
        assert_eq!(table.get(&3), Some(&30));
        assert_eq!(table.len(), 52);
    }

    #[test]
    fn a_table_whose_entries_all_die_is_reset_without_a_sweep() {
        let mut table = table_of(0..100);
        for key in 0..100 {
            let slot = table.find(&key).expect("a live entry");
            table.take_dead(slot);
        }
        assert_eq!(table.len(), 0);
        assert!(table.index.is_empty() && table.slots.is_empty() && table.stale.is_empty());
        assert_eq!(find_or_push(&mut table, 5, 50), None);
        assert_eq!(table.get(&5), Some(&50));
    }

    #[test]
    fn few_stale_entries_are_not_swept() {
        let mut table = table_of(0..100);
        for key in 0..40 {
            let slot = table.find(&key).expect("a live entry");
            table.take_dead(slot);
        }
        assert_eq!(find_or_push(&mut table, 500, 1), None);
        assert_eq!(table.index.len(), 101, "40 stale entries of 100 stay until they are the most");
        assert_eq!(table.len(), 61);
    }

    #[test]
    fn keys_in_order_keep_their_order_in_the_index() {
        let table = table_of(0..3_000);
        assert_eq!(table.spread, Spread::ByValue);
        let buckets = table.index.num_buckets();
        for key in [0, 1, 2, 1_000, 2_999] {
            let hash = super::hash_of(&key);
            let at = table.index.find_bucket_index(table.spread.full(hash), |&slot| slot as usize == key as usize);
            assert_eq!(at, Some((key + key / 15) as usize % buckets), "key {key} sits in its own bucket");
        }
    }

    #[test]
    fn keys_that_crowd_the_index_switch_it_to_mixed_hashes() {
        // Multiples of 15 · 2^16 all have a multiple of 2^20 as their home: by value they
        // would all probe from one bucket.
        let keys = (0..1_500u64).map(|n| n * (15 << 16));
        let mut table = table_of(keys.clone());
        assert_eq!(table.spread, Spread::Mixed);
        assert!(keys.clone().all(|key| table.get(&key) == Some(&(key * 10))));
        assert_eq!(table.find(&(15 << 15)), None);
        // Removals find their index entries under the mixed hashes.
        for key in keys.clone().take(500) {
            let slot = table.find(&key).expect("a live entry");
            assert_eq!(table.take(slot), (key, key * 10));
        }
        assert_eq!(table.index.len(), 1_000);
        assert!(keys.clone().skip(500).all(|key| table.get(&key) == Some(&(key * 10))));
        // A table emptied starts again by value.
        for key in keys.skip(500) {
            let slot = table.find(&key).expect("a live entry");
            table.take_dead(slot);
        }
        assert_eq!(table.spread, Spread::ByValue);
        assert_eq!(find_or_push(&mut table, 4, 40), None);
        assert_eq!(table.get(&4), Some(&40));
    }

    #[test]
    fn keys_apart_by_multiples_of_two_to_the_32_do_not_crowd() {
        let table = table_of((0..3_000u64).map(|n| n << 32 | 7));
        assert_eq!(table.spread, Spread::ByValue, "the high half folds into the stored hash");
        assert!((0..3_000u64).all(|n| table.get(&(n << 32 | 7)) == Some(&((n << 32 | 7) * 10))));
    }

    #[test]
    fn every_group_of_a_run_of_keys_has_an_empty_bucket_for_misses_to_stop_at() {
        // Keys 0..3000 side by side, then some removed: a lookup that misses among them
        // must find an empty bucket in the first group it reads.
        let mut table = table_of(0..3_000);
        for key in (0..3_000).step_by(7) {
            let slot = table.find(&key).expect("a live entry");
            table.take(slot);
        }
        let buckets = table.index.num_buckets();
        for start in 0..3_000 * 16 / 15 {
            let group = (start..start + 16).map(|bucket| table.index.get_bucket(bucket % buckets));
            assert!(group.clone().any(|held| held.is_none()), "the 16 buckets from {start} are all full");
        }
        assert!((0..3_000).step_by(7).all(|key| table.find(&key).is_none()));
    }

    #[test]
    fn inserts_take_the_lowest_free_slot_past_full_words_and_stale_slots() {
        // Without an index: slots 3, 70 and 130 freed; the first word is otherwise full.
        let mut table: Table<(), u64> = Table::new(false);
        for value in 0..200 {
            assert_eq!(table.push((), |_| value), value as usize);
        }
        for slot in [130, 3, 70] {
            table.take_dead(slot);
        }
        let reused: Vec<usize> = (0..4).map(|value| table.push((), |_| value)).collect();
        assert_eq!(reused, [3, 70, 130, 200]);

        // With an index: slots emptied by deaths wait for the sweep; slots removed by hand
        // are free at once, even past a word whose other bits are all stale or taken.
        let mut table = table_of(0..200);
        for key in 0..64 {
            let slot = table.find(&key).expect("a live entry");
            if key == 10 {
                table.take(slot);
            } else {
                table.take_dead(slot);
            }
        }
        let slot = table.find(&100).expect("a live entry");
        table.take(slot);
        assert_eq!(find_or_push(&mut table, 1_000, 1), None);
        assert_eq!(table.find(&1_000), Some(10), "the slot removed by hand");
        assert_eq!(find_or_push(&mut table, 1_001, 1), None);
        assert_eq!(table.find(&1_001), Some(100), "past a word of stale slots");
        assert_eq!(find_or_push(&mut table, 1_002, 1), None);
        assert_eq!(table.find(&1_002), Some(200), "the slab's end: stale slots wait");
        assert_eq!(table.slots.len(), 201);
    }

    #[test]
    fn a_key_whose_entry_keeps_dying_takes_back_its_stale_index_entry() {
        let mut table = table_of(0..1_000);
        for round in 0..100 {
            assert_eq!(find_or_push(&mut table, 5_000_000, round), None, "the key's entry died");
            let slot = table.find(&5_000_000).expect("just added");
            assert_eq!(table.get(&5_000_000), Some(&round));
            table.take_dead(slot);
        }
        assert_eq!(table.stale_keys, 1, "one stale entry, taken back by each insert");
        assert_eq!(table.index.len(), 1_001);
        assert_eq!(table.spread, Spread::ByValue);
        assert!((0..1_000).all(|key| table.get(&key) == Some(&(key * 10))));
        // The last death's stale entry is taken back the same way.
        assert_eq!(find_or_push(&mut table, 5_000_000, 7), None);
        assert_eq!(table.stale_keys, 0);
        assert_eq!(table.get(&5_000_000), Some(&7));
    }
}
