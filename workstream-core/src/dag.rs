//! Dependencies between items: a directed acyclic graph across workflows.
//!
//! An edge `a → b` means "a depends on b". The engine refuses an edge that would close a
//! cycle; the search for the closing path runs from both ends at once (dependencies forward
//! from `b`, dependents backward from `a`), so it explores the smaller side of the graph.
//! When the store keeps a topological rank, an edge that agrees with it needs no search, and
//! the search for one that does not stays between the two ranks.
//! Orders and paths over a set of items are computed with petgraph.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasherDefault;

use petgraph::algo::toposort;
use petgraph::graphmap::DiGraphMap;
use serde::Serialize;
use serde_json::Value;

use crate::item::{IdHasher, Item, ItemId};
use crate::store::{Reader, StoreError};

/// A path of dependencies from `from` to `to` (both included), if there is one.
///
/// When the store keeps a topological rank ([`Reader::dependency_rank`]), every step of such
/// a path goes to a lower rank: there is none when `from` ranks below `to`, and the search
/// only visits items ranked between the two.
pub(crate) fn find_path(
    reader: &dyn Reader,
    from: ItemId,
    to: ItemId,
) -> Result<Option<Vec<ItemId>>, StoreError> {
    if from == to {
        return Ok(Some(vec![from]));
    }
    let (upper, lower) = match (reader.dependency_rank(from)?, reader.dependency_rank(to)?) {
        (Some(upper), Some(lower)) if upper < lower => return Ok(None),
        (Some(upper), Some(lower)) => (Some(upper), Some(lower)),
        _ => (None, None),
    };
    // Whether `x` may lie on the path, by its rank (any item when the store keeps none).
    let within = |x: ItemId| -> Result<bool, StoreError> {
        let (Some(lower), Some(upper)) = (lower, upper) else {
            return Ok(true);
        };
        Ok(reader
            .dependency_rank(x)?
            .is_none_or(|r| lower <= r && r <= upper))
    };
    // prev[x]: the node before x on the path from `from`; next[x]: the node after x on the
    // path to `to`.
    let mut prev = IdMap::with_capacity_and_hasher(64, Default::default());
    prev.insert(from, from);
    let mut next = IdMap::with_capacity_and_hasher(64, Default::default());
    next.insert(to, to);
    let mut forward = VecDeque::from([from]);
    let mut backward = VecDeque::from([to]);
    while !forward.is_empty() && !backward.is_empty() {
        let meet = if forward.len() <= backward.len() {
            expand(&mut forward, &mut prev, &next, |x| reader.deps(x), within)?
        } else {
            expand(
                &mut backward,
                &mut next,
                &prev,
                |x| reader.dependents(x),
                within,
            )?
        };
        if let Some(meet) = meet {
            let mut path = vec![meet];
            let mut at = meet;
            while at != from {
                at = prev[&at];
                path.push(at);
            }
            path.reverse();
            let mut at = meet;
            while at != to {
                at = next[&at];
                path.push(at);
            }
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// A map keyed by item id, hashed with [`IdHasher`].
type IdMap<V> = HashMap<ItemId, V, BuildHasherDefault<IdHasher>>;

/// The cycle check of [`Engine::add_dependency`](crate::Engine::add_dependency) alone, for
/// benchmarks: a path of dependencies from `from` to `to`, if there is one. Not part of the
/// API.
#[doc(hidden)]
pub fn dependency_path(
    reader: &dyn Reader,
    from: ItemId,
    to: ItemId,
) -> Result<Option<Vec<ItemId>>, StoreError> {
    find_path(reader, from, to)
}

/// Expands one level of a breadth-first frontier, skipping nodes `within` rules out; returns
/// a node the other side has seen.
fn expand(
    frontier: &mut VecDeque<ItemId>,
    seen: &mut IdMap<ItemId>,
    other: &IdMap<ItemId>,
    neighbours: impl Fn(ItemId) -> Result<Vec<ItemId>, StoreError>,
    within: impl Fn(ItemId) -> Result<bool, StoreError>,
) -> Result<Option<ItemId>, StoreError> {
    for _ in 0..frontier.len() {
        let Some(at) = frontier.pop_front() else {
            break;
        };
        for n in neighbours(at)? {
            // A node ruled out is not marked seen: the other side must not meet it.
            if let Entry::Vacant(e) = seen.entry(n)
                && within(n)?
            {
                e.insert(at);
                if other.contains_key(&n) {
                    return Ok(Some(n));
                }
                frontier.push_back(n);
            }
        }
    }
    Ok(None)
}

/// The graph of `items` and the dependencies among them (edges from a dependency to its
/// dependent; dependencies outside `items` are left out).
fn graph(items: &[Item]) -> DiGraphMap<ItemId, ()> {
    let mut graph = DiGraphMap::with_capacity(items.len(), items.len() * 3);
    for item in items {
        graph.add_node(item.id());
    }
    for item in items {
        for &dep in item.deps() {
            if graph.contains_node(dep) {
                graph.add_edge(dep, item.id(), ());
            }
        }
    }
    graph
}

/// `items` ordered so that every item comes after the items it depends on.
pub(crate) fn topological_order(items: &[Item]) -> Result<Vec<ItemId>, StoreError> {
    toposort(&graph(items), None).map_err(|cycle| {
        StoreError::Corrupt(format!(
            "the stored dependencies form a cycle through item {}",
            cycle.node_id()
        ))
    })
}

/// The heaviest chain of dependencies.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CriticalPath {
    /// The items of the chain, each depending on the one before.
    pub items: Vec<ItemId>,
    /// The sum of their weights.
    pub total: f64,
}

/// The chain of dependencies among `items` whose weights (the number at `field` in each
/// item's fields; 0 when absent or not a number) sum highest.
pub(crate) fn critical_path(items: &[Item], field: &str) -> Result<CriticalPath, StoreError> {
    let order = topological_order(items)?;
    let by_id: HashMap<ItemId, &Item> = items.iter().map(|i| (i.id(), i)).collect();
    let weight = |id: ItemId| -> f64 {
        by_id
            .get(&id)
            .and_then(|i| i.field(field))
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    };
    let mut best: HashMap<ItemId, (f64, Option<ItemId>)> = HashMap::with_capacity(order.len());
    for &id in &order {
        let Some(item) = by_id.get(&id) else {
            continue;
        };
        let before = item
            .deps()
            .iter()
            .filter_map(|d| best.get(d).map(|(w, _)| (*w, *d)))
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        let (w, p) = match before {
            Some((w, d)) => (w + weight(id), Some(d)),
            None => (weight(id), None),
        };
        best.insert(id, (w, p));
    }
    let Some((&end, &(total, _))) = best
        .iter()
        .max_by(|a, b| a.1.0.total_cmp(&b.1.0).then(b.0.cmp(a.0)))
    else {
        return Ok(CriticalPath {
            items: Vec::new(),
            total: 0.0,
        });
    };
    let mut path = vec![end];
    let mut at = end;
    while let Some(&(_, Some(p))) = best.get(&at) {
        path.push(p);
        at = p;
    }
    path.reverse();
    Ok(CriticalPath { items: path, total })
}
