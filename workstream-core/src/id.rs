//! Item ids, and the hasher for maps keyed by them.

use std::fmt;
use std::hash::Hasher;

use serde::{Deserialize, Serialize};

/// The id of an item, unique in its store. Stores hand them out in increasing order.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct ItemId(pub u64);

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A fast [`Hasher`] for maps and sets keyed by [`ItemId`], for stores and the engine's own
/// graph searches: an id is one integer, and a multiply-rotate spreads integers well enough
/// for a hash table (as rustc's own hasher does), at a fraction of the cost of the default
/// SipHash. It is not resistant to chosen keys flooding one bucket on purpose; use it where
/// ids come from the store.
///
/// ```
/// use std::collections::HashMap;
/// use std::hash::BuildHasherDefault;
/// use workstream_core::ItemId;
/// use workstream_core::IdHasher;
///
/// let mut ranks: HashMap<ItemId, u64, BuildHasherDefault<IdHasher>> = HashMap::default();
/// ranks.insert(ItemId(7), 1);
/// assert_eq!(ranks.get(&ItemId(7)), Some(&1));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // The product's low bits depend only on the input's low bits, and a hash table picks
        // a bucket by its low bits: ids that share them (say, multiples of 2^16 chosen by an
        // importer) would all land in one bucket. The rotation brings the well-mixed high
        // bits down, as rustc's own hasher does.
        self.0.rotate_left(26)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::{IdHasher, ItemId};

    #[test]
    fn ids_that_share_their_low_bits_spread_over_buckets() {
        // 1,024 ids, multiples of 2^20: a table of 1,024 buckets picks by the hash's low ten
        // bits, which must not be the same for all of them.
        let hasher = BuildHasherDefault::<IdHasher>::default();
        let buckets: HashSet<u64> = (0..1024u64)
            .map(|k| hasher.hash_one(ItemId(k << 20)) & 1023)
            .collect();
        assert!(buckets.len() > 512, "{} buckets of 1024", buckets.len());
    }
}
