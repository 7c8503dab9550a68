//! Ledger digests: a small value that pins every chain of a store as it is now, so that a
//! later rewrite of any of them is found, even one whose author recomputed every hash.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::hash::{Sha256Hash, Sha256Hasher};
use crate::item::ItemId;
use crate::store::{Query, Reader, StoreError};

/// What a digest records of one item: how far its chain ran and the hash it ended on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct Leaf {
    /// The item.
    pub item: ItemId,
    /// The sequence number of its last event when the digest was taken.
    pub seq: u64,
    /// The hash of that event, the head of its chain.
    pub head: Sha256Hash,
}

impl Leaf {
    /// The leaf of `item`, whose chain ends at event `seq` with hash `head`.
    pub fn new(item: ItemId, seq: u64, head: Sha256Hash) -> Self {
        Self { item, seq, head }
    }

    /// The leaf's hash in the Merkle tree: sha256 over a zero byte, the item id and the
    /// sequence number (8 bytes each, big-endian) and the head's 32 bytes.
    fn hash(&self) -> [u8; 32] {
        let mut h = Sha256Hasher::new();
        h.update(&[0]);
        h.update(&self.item.0.to_be_bytes());
        h.update(&self.seq.to_be_bytes());
        h.update(self.head.as_bytes());
        *h.finish().as_bytes()
    }
}

/// The small value of a [`LedgerDigest`]: its Merkle root, and how many items and events
/// it covers. This is what to keep where the database's writers cannot reach (a file
/// elsewhere, a log, another system, a signed message).
///
/// Displayed and parsed as `sha256:<root> items=<n> events=<m>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct DigestSummary {
    /// The Merkle root over every item's leaf, in id order.
    pub root: Sha256Hash,
    /// How many items it covers.
    pub items: u64,
    /// How many events it covers (the sum of the items' sequence numbers).
    pub events: u64,
}

impl fmt::Display for DigestSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} items={} events={}",
            self.root, self.items, self.events
        )
    }
}

impl FromStr for DigestSummary {
    type Err = DigestError;

    /// Reads `sha256:<root> items=<n> events=<m>`, as [`Display`](fmt::Display) writes it.
    fn from_str(text: &str) -> Result<Self, DigestError> {
        let bad = |why: &str| DigestError::Malformed {
            line: 1,
            message: format!("{why} (a summary reads `sha256:<root> items=<n> events=<m>`)"),
        };
        let mut words = text.split_whitespace();
        let root = words
            .next()
            .ok_or_else(|| bad("the summary is empty"))?
            .parse::<Sha256Hash>()
            .map_err(|e| bad(&e.to_string()))?;
        let mut count = |name: &str| -> Result<u64, DigestError> {
            let word = words
                .next()
                .ok_or_else(|| bad(&format!("`{name}=<number>` is missing")))?;
            word.strip_prefix(name)
                .and_then(|n| n.strip_prefix('='))
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| bad(&format!("`{word}` is not `{name}=<number>`")))
        };
        let items = count("items")?;
        let events = count("events")?;
        if let Some(extra) = words.next() {
            return Err(bad(&format!("`{extra}` follows the counts")));
        }
        Ok(DigestSummary {
            root,
            items,
            events,
        })
    }
}

/// A digest of a whole ledger: for every item, the sequence number and hash its chain ended
/// on (its [`Leaf`]), and the Merkle root over those leaves in id order.
///
/// Because each event's hash covers the hash before it, an item's head pins every event of
/// its chain up to there. Keep the digest's [`summary`](Self::summary) (one short line)
/// out of the writers' reach; the leaves may be kept anywhere, even beside the database,
/// since [`parse`](Self::parse) checks them against the root and the root can be checked
/// against the summary kept safe. [`audit_against`](crate::audit_against) then proves the
/// ledger *extends* the digest: every chain the digest covers still holds the same events
/// up to the digest's sequence number, and it names each item for which that is not so.
///
/// What it does **not** prove: anything about events written after the digest was taken
/// (take digests regularly; each covers what came before it), or about a ledger whose
/// digest could be replaced along with it. A digest of a store whose states disagree with
/// their chains records what the states say; audit first.
///
/// As text ([`Display`](fmt::Display), [`parse`](Self::parse)):
///
/// ```text
/// workstream-digest 1
/// root sha256:…
/// items 2
/// events 7
/// 1 4 sha256:…
/// 2 3 sha256:…
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerDigest {
    leaves: Vec<Leaf>,
    summary: DigestSummary,
}

const HEADER: &str = "workstream-digest 1";

impl LedgerDigest {
    /// The digest of the given leaves. They are sorted by item; an item given twice keeps
    /// its last leaf.
    pub fn from_leaves(mut leaves: Vec<Leaf>) -> Self {
        leaves.sort_by_key(|l| l.item);
        leaves.dedup_by(|later, earlier| {
            let same = later.item == earlier.item;
            if same {
                *earlier = *later;
            }
            same
        });
        let summary = DigestSummary {
            root: merkle_root(&leaves),
            items: leaves.len() as u64,
            // Saturating: leaves read from a file may claim any sequence numbers (`parse`
            // refuses a sum that does not fit).
            events: leaves.iter().fold(0u64, |sum, l| sum.saturating_add(l.seq)),
        };
        Self { leaves, summary }
    }

    /// The digest of what `reader` sees: each item's sequence number and head as its
    /// current state records them.
    pub fn of(reader: &(impl Reader + ?Sized)) -> Result<Self, StoreError> {
        let leaves = reader
            .items(&Query::new())?
            .iter()
            .map(|item| Leaf::new(item.id(), item.seq(), *item.head()))
            .collect();
        Ok(Self::from_leaves(leaves))
    }

    /// The root and the counts: the small value to keep.
    pub fn summary(&self) -> DigestSummary {
        self.summary
    }

    /// The Merkle root.
    pub fn root(&self) -> Sha256Hash {
        self.summary.root
    }

    /// Every item's leaf, in id order.
    pub fn leaves(&self) -> &[Leaf] {
        &self.leaves
    }

    /// The leaf of `item`, if the digest covers it.
    pub fn leaf(&self, item: ItemId) -> Option<&Leaf> {
        self.leaves
            .binary_search_by_key(&item, |l| l.item)
            .ok()
            .map(|i| &self.leaves[i])
    }

    /// Reads a digest written by [`Display`](fmt::Display). The root it states must be the
    /// root of its leaves, and the counts theirs: a leaf changed, added or dropped is
    /// refused. It does not say the root is one you trust: compare
    /// [`summary`](Self::summary) with the one you kept.
    pub fn parse(text: &str) -> Result<Self, DigestError> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end()));
        let malformed = |line: usize, message: String| DigestError::Malformed { line, message };
        match lines.next() {
            Some((_, HEADER)) => {}
            Some((n, other)) => {
                return Err(malformed(
                    n,
                    format!(
                        "`{}` is not a workstream digest (it starts `{HEADER}`)",
                        other.chars().take(40).collect::<String>()
                    ),
                ));
            }
            None => return Err(malformed(1, "the digest is empty".into())),
        }
        let mut field = |name: &str| -> Result<String, DigestError> {
            match lines.next() {
                Some((n, line)) => line
                    .strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(' '))
                    .map(str::to_owned)
                    .ok_or_else(|| malformed(n, format!("expected `{name} …`"))),
                None => Err(malformed(0, format!("the digest ends before `{name}`"))),
            }
        };
        let root: Sha256Hash = field("root")?
            .parse()
            .map_err(|e: crate::ParseHashError| malformed(2, e.to_string()))?;
        let items: u64 = field("items")?
            .parse()
            .map_err(|_| malformed(3, "`items` is not a number".into()))?;
        let events: u64 = field("events")?
            .parse()
            .map_err(|_| malformed(4, "`events` is not a number".into()))?;
        let mut leaves = Vec::new();
        let mut total: u64 = 0;
        for (n, line) in lines {
            if line.is_empty() {
                continue;
            }
            let mut words = line.split(' ');
            let (Some(item), Some(seq), Some(head), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Err(malformed(n, "expected `<item> <seq> <head>`".into()));
            };
            let leaf = Leaf::new(
                ItemId(
                    item.parse()
                        .map_err(|_| malformed(n, format!("`{item}` is not an item id")))?,
                ),
                seq.parse()
                    .map_err(|_| malformed(n, format!("`{seq}` is not a sequence number")))?,
                head.parse()
                    .map_err(|e: crate::ParseHashError| malformed(n, e.to_string()))?,
            );
            if leaves.last().is_some_and(|l: &Leaf| l.item >= leaf.item) {
                return Err(malformed(
                    n,
                    "the leaves are not in increasing item order".into(),
                ));
            }
            total = total
                .checked_add(leaf.seq)
                .ok_or_else(|| malformed(n, "the sequence numbers add up past 2^64".into()))?;
            leaves.push(leaf);
        }
        let digest = Self::from_leaves(leaves);
        let stated = DigestSummary {
            root,
            items,
            events,
        };
        if digest.summary != stated {
            return Err(DigestError::Altered {
                stated,
                computed: digest.summary,
            });
        }
        Ok(digest)
    }
}

impl fmt::Display for LedgerDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{HEADER}")?;
        writeln!(f, "root {}", self.summary.root)?;
        writeln!(f, "items {}", self.summary.items)?;
        writeln!(f, "events {}", self.summary.events)?;
        for leaf in &self.leaves {
            writeln!(f, "{} {} {}", leaf.item.0, leaf.seq, leaf.head)?;
        }
        Ok(())
    }
}

/// Why a digest could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The text is not a digest.
    #[error("line {line} of the digest: {message}")]
    Malformed {
        /// The line (1-based; 0 at the end of the text).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The leaves do not hash to the root the digest states: it was changed.
    #[error("the digest was altered: it states {stated}, but its leaves give {computed}")]
    Altered {
        /// What its header says.
        stated: DigestSummary,
        /// What its leaves give.
        computed: DigestSummary,
    },
}

/// The Merkle root of leaves in order: pairs hashed as sha256 over a one byte, the left and
/// the right hash; an odd hash out goes up a level as it is. The root of no leaves is
/// sha256 of nothing.
fn merkle_root(leaves: &[Leaf]) -> Sha256Hash {
    if leaves.is_empty() {
        return Sha256Hash::of(b"");
    }
    let mut level: Vec<[u8; 32]> = leaves.iter().map(Leaf::hash).collect();
    while level.len() > 1 {
        let mut pairs = level.chunks_exact(2);
        let mut next: Vec<[u8; 32]> = pairs
            .by_ref()
            .map(|pair| {
                let mut h = Sha256Hasher::new();
                h.update(&[1]);
                h.update(&pair[0]);
                h.update(&pair[1]);
                *h.finish().as_bytes()
            })
            .collect();
        next.extend(pairs.remainder().first().copied());
        level = next;
    }
    Sha256Hash::from_bytes(level[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Leaf> {
        (1..=n)
            .map(|i| Leaf::new(ItemId(i * 3), i + 1, Sha256Hash::of(&i.to_be_bytes())))
            .collect()
    }

    #[test]
    fn a_digest_reads_back_and_refuses_any_change_to_its_leaves() {
        for n in [0, 1, 2, 3, 7, 64] {
            let digest = LedgerDigest::from_leaves(leaves(n));
            let text = digest.to_string();
            assert_eq!(LedgerDigest::parse(&text), Ok(digest.clone()));
            assert_eq!(digest.summary().items, n);
            let summary: DigestSummary = digest.summary().to_string().parse().unwrap();
            assert_eq!(summary, digest.summary());
        }
        let digest = LedgerDigest::from_leaves(leaves(5));
        let text = digest.to_string();
        // One hex digit of one head changed.
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let last = lines.last_mut().unwrap();
        let flipped = if last.ends_with('0') { '1' } else { '0' };
        last.pop();
        last.push(flipped);
        let err = LedgerDigest::parse(&lines.join("\n")).unwrap_err();
        assert!(matches!(err, DigestError::Altered { .. }), "{err}");
        // A leaf dropped, with the counts fixed up: the root still gives it away.
        let mut dropped: Vec<String> = text.lines().map(str::to_owned).collect();
        dropped.remove(5);
        dropped[2] = "items 4".into();
        dropped[3] = format!("events {}", digest.summary().events - 2);
        let err = LedgerDigest::parse(&dropped.join("\n")).unwrap_err();
        assert!(matches!(err, DigestError::Altered { .. }), "{err}");
        assert!(matches!(
            LedgerDigest::parse("hello"),
            Err(DigestError::Malformed { line: 1, .. })
        ));
    }

    #[test]
    fn the_root_depends_on_every_leaf_and_their_order() {
        let base = leaves(9);
        let root = LedgerDigest::from_leaves(base.clone()).root();
        for i in 0..base.len() {
            let mut changed = base.clone();
            changed[i].seq += 1;
            assert_ne!(LedgerDigest::from_leaves(changed).root(), root, "leaf {i}");
        }
        // Pairs are ordered: swapping two items' heads changes the root.
        let mut swapped = base.clone();
        let (a, b) = (swapped[0].head, swapped[1].head);
        swapped[0].head = b;
        swapped[1].head = a;
        assert_ne!(LedgerDigest::from_leaves(swapped).root(), root);
    }

    #[test]
    fn a_summary_reads_only_in_full() {
        let digest = LedgerDigest::from_leaves(leaves(4));
        let root = digest.root();
        for bad in [
            root.to_string(),
            format!("{root} items=4"),
            format!("{root} items=4 events=x"),
            format!("{root} events=14 items=4"),
            format!("{root} items=4 events=14 more"),
            "sha256:00 items=4 events=14".to_owned(),
        ] {
            assert!(bad.parse::<DigestSummary>().is_err(), "{bad}");
        }
        let read: DigestSummary = format!("{root} items=4 events=14").parse().unwrap();
        assert_eq!(read, digest.summary());
        assert_ne!(read, LedgerDigest::from_leaves(leaves(3)).summary());
    }

    #[test]
    fn leaves_whose_sequence_numbers_overflow_are_refused_not_a_panic() {
        let huge = LedgerDigest::from_leaves(vec![
            Leaf::new(ItemId(1), u64::MAX / 2 + 1, Sha256Hash::ZERO),
            Leaf::new(ItemId(2), u64::MAX / 2 + 1, Sha256Hash::ZERO),
        ]);
        assert_eq!(huge.summary().events, u64::MAX);
        let text = huge.to_string();
        assert!(matches!(
            LedgerDigest::parse(&text),
            Err(DigestError::Malformed { line: 6, .. })
        ));
        // Out of order and repeated items, and trailing words, are refused too.
        let digest = LedgerDigest::from_leaves(leaves(3));
        let mut lines: Vec<String> = digest.to_string().lines().map(str::to_owned).collect();
        lines.swap(4, 5);
        assert!(LedgerDigest::parse(&lines.join("\n")).is_err());
        let mut lines: Vec<String> = digest.to_string().lines().map(str::to_owned).collect();
        lines[4].push_str(" extra");
        assert!(LedgerDigest::parse(&lines.join("\n")).is_err());
        let mut lines: Vec<String> = digest.to_string().lines().map(str::to_owned).collect();
        lines[5] = lines[4].clone();
        assert!(LedgerDigest::parse(&lines.join("\n")).is_err());
    }
}
