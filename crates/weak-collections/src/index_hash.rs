//! How a container's index hashes its keys: as CPython hashes integers, by their value.
//!
//! A key that hashes as one integer (`u64`, `usize`, `i32`, `char`, a newtype of one) is its
//! own hash, so keys that follow each other (ids, counters, indices) sit side by side in the
//! index and a run of lookups or inserts in key order reads it in order, where a mixing hash
//! sends every key to a random cache line of a table larger than the caches. Any other key
//! (strings, tuples, several fields) is mixed word by word with Fx's multiply and rotate.
//!
//! Keys side by side leave one bucket in sixteen empty ([`Spread::ByValue`]), so that a
//! lookup that misses among them stops at the first group of buckets it reads. Keys hashed
//! by value can still crowd into one stretch of the table (keys whose homes are multiples of
//! a large power of two, ranges that overlap once wrapped round the table), which CPython
//! spreads with the high bits of the hash as it probes and a `hashbrown` table, which probes
//! by the low bits alone, does not. The table watches for it: an insert that lands far from its home bucket
//! switches the index to [`Spread::Mixed`], every hash mixed, and rebuilds it
//! ([`Table`](crate::shared::Table)). A stored 32-bit hash is kept as the key gave it; the
//! mode only decides how it becomes the table's 64-bit hash ([`Spread::full`]).

use std::hash::{BuildHasher, Hash, Hasher};

use rustc_hash::FxHasher;

/// Fx's multiplier: odd, with its bits spread, so that the high half of a product depends on
/// every bit of the input.
const K: u64 = 0xf135_7aea_2e62_a9c5;

/// How far (in buckets) an insert may land from its home bucket before the index mixes its
/// hashes. A well-mixed table at its highest load (7/8) puts an entry 1,024 buckets away
/// (its eleventh probe group) about once in 10^10 inserts; a table of keys hashed by value
/// that crowd together does it at once.
pub(crate) const CROWDED: usize = 1024;

/// Hashes keys for an index: a key written as one integer is its own hash, anything else is
/// mixed.
#[derive(Default)]
pub(crate) struct IndexHasher {
    state: u64,
    /// 0 before the first write, 1 after one integer, 2 once the hash is mixed.
    writes: u8,
}

impl IndexHasher {
    #[inline]
    fn integer(&mut self, n: u64) {
        match self.writes {
            0 => {
                self.state = n;
                self.writes = 1;
            }
            1 => {
                // The lone integer kept as it was becomes what Fx makes of it (its product)
                // before the next one is mixed in: `(a << 5) ^ b` alone would make `(1, 0)`
                // and `(0, 32)` one hash.
                self.state = (self.state.wrapping_mul(K).rotate_left(5) ^ n).wrapping_mul(K);
                self.writes = 2;
            }
            _ => self.state = (self.state.rotate_left(5) ^ n).wrapping_mul(K),
        }
    }
}

impl Hasher for IndexHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut fx = FxHasher::default();
        fx.write(bytes);
        self.integer(fx.finish());
        self.writes = 2;
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.integer(n.into());
    }

    #[inline]
    fn write_u16(&mut self, n: u16) {
        self.integer(n.into());
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.integer(n.into());
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.integer(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.integer(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        match self.writes {
            1 => self.state,
            // Fx's finish: the product's best-mixed bits, its high ones, brought down.
            _ => self.state.rotate_left(26),
        }
    }
}

/// The hash of a key as the index stores it: 32 bits, a lone integer's low bits with its
/// high ones folded in, a mixed key's best-mixed bits. The high half is multiplied before it
/// is added, so that keys 2^32 apart differ and small negative numbers (all ones above)
/// land away from small positive ones, in a run of their own.
#[inline]
pub(crate) fn hash_of<Q: ?Sized + Hash>(key: &Q) -> u32 {
    let hash = std::hash::BuildHasherDefault::<IndexHasher>::default().hash_one(key);
    (hash as u32).wrapping_add(((hash >> 32) as u32).wrapping_mul(0x9e37_79b9))
}

/// How an index turns its stored 32-bit hashes into the table's: the low bits choose the
/// bucket, the top seven the tag the table compares before the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Spread {
    /// Keys side by side in the order of their stored hashes, fifteen buckets in sixteen:
    /// hash `h` goes to bucket `h + h / 15`, so no key's home is a bucket whose position is
    /// 15 modulo 16. A table probes a group of 16 buckets at a time and stops at the first
    /// group with an empty bucket; a run of keys side by side with no gap would make a
    /// lookup that misses inside it (a key removed, or one whose home falls among them)
    /// probe to the run's end, thousands of groups for a run of 10^6 keys. The gaps keep
    /// every group that starts among the run's homes with an empty bucket. The tag is mixed,
    /// so that neighbours seldom share one.
    #[default]
    ByValue,
    /// Every bit mixed: for keys that crowd the table by value.
    Mixed,
}

impl Spread {
    /// The table's hash of a stored hash.
    #[inline]
    pub(crate) fn full(self, hash: u32) -> u64 {
        self.full_for(hash, usize::BITS)
    }

    /// [`full`](Self::full) for a target whose pointers have `pointer_bits` bits. The table
    /// takes its tag from the top seven bits of the hash as a `usize` holds it: bits 57–63
    /// of a 64-bit one, bits 25–31 where `usize` has 32 bits (and its buckets from the bits
    /// below); the tag goes where it is read.
    #[inline]
    fn full_for(self, hash: u32, pointer_bits: u32) -> u64 {
        let mixed = u64::from(hash).wrapping_mul(K);
        match self {
            Spread::ByValue => {
                let home = u64::from(hash) + u64::from(hash) / 15;
                let tag = mixed >> 57;
                if pointer_bits < 64 { (home & 0x01ff_ffff) | (tag << 25) } else { (tag << 57) | home }
            }
            Spread::Mixed => (mixed & 0xffff_ffff_0000_0000) | (mixed >> 32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_integer_is_its_own_hash_and_anything_else_is_mixed() {
        assert_eq!(hash_of(&7u64), 7);
        assert_eq!(hash_of(&7usize), 7);
        assert_eq!(hash_of(&7u8), 7);
        assert_eq!(hash_of(&'a'), 97);
        // High halves fold in, so keys 2^32 apart differ.
        assert_ne!(hash_of(&(1u64 << 32)), hash_of(&0u64));
        assert!((-1_000i64..0).all(|n| hash_of(&n) > 1_000), "negative numbers do not fold onto positive ones");
        assert_eq!(hash_of(&-1i64).wrapping_sub(hash_of(&-2i64)), 1, "and keep their order");
        // Two integers, a string: mixed, so neighbours do not stay neighbours.
        let pairs: Vec<u32> = (0..4u64).map(|n| hash_of(&(n, 0u64))).collect();
        assert!(pairs.windows(2).all(|w| w[1].abs_diff(w[0]) > 1 << 16), "{pairs:?}");
        // Pairs are mixed whole: a grid of them has as many hashes as points.
        assert_ne!(hash_of(&(1u32, 0u32)), hash_of(&(0u32, 32u32)));
        let grid: std::collections::HashSet<u32> =
            (0..300u32).flat_map(|x| (0..300u32).map(move |y| hash_of(&(x, y)))).collect();
        assert!(grid.len() > 89_900, "{} hashes for 90,000 points", grid.len());
        assert_ne!(hash_of("a"), hash_of("b"));
        assert_ne!(hash_of("ab"), hash_of("ba"));
    }

    #[test]
    fn by_value_keeps_the_bucket_bits_and_mixes_the_tag() {
        let tags: std::collections::HashSet<u64> = (0..64).map(|n| Spread::ByValue.full(n) >> 57).collect();
        assert!(tags.len() > 32, "neighbours spread over the tags: {}", tags.len());
        // Fifteen homes in sixteen buckets, in order; every sixteenth bucket is no home.
        let homes: Vec<u64> = (0..32).map(|n| Spread::ByValue.full(n) & 0xffff).collect();
        assert_eq!(homes[..16], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16]);
        assert!((0..1u32 << 20).all(|n| Spread::ByValue.full(n) % 16 != 15));
        assert!(
            (0..1u32 << 20)
                .step_by(4_099)
                .all(|n| Spread::ByValue.full(n) & ((1 << 57) - 1) == u64::from(n) + u64::from(n) / 15)
        );
        assert_eq!(Spread::ByValue.full(u32::MAX) & ((1 << 57) - 1), u64::from(u32::MAX) + u64::from(u32::MAX) / 15);
        // Where `usize` has 32 bits, the tag is read from bits 25-31, so it goes there, and
        // the buckets of any table smaller than 2^25 are the same.
        let tags: std::collections::HashSet<u64> =
            (0..64).map(|n| (Spread::ByValue.full_for(n, 32) as u32 >> 25) as u64).collect();
        assert!(tags.len() > 32, "neighbours spread over the 32-bit tags: {}", tags.len());
        assert!((0..1u32 << 20).step_by(4_099).all(|n| {
            Spread::ByValue.full_for(n, 32) & 0x01ff_ffff == Spread::ByValue.full_for(n, 64) & 0x01ff_ffff
        }));
        let low: Vec<u32> = (0..4).map(|n| Spread::Mixed.full(n) as u32).collect();
        assert!(low.windows(2).all(|w| w[1].abs_diff(w[0]) > 1 << 16), "{low:?}");
    }
}
