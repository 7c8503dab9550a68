//! Random dependencies against a model of the graph.

use std::collections::BTreeSet;

use super::{engine, ok, start, worker};
use crate::{Change, Error, ItemId, NewItem, Reader, Store, StoreError, Tx};

/// Random dependencies among 24 items, added in either direction, removed, and added in
/// transactions that roll back: the engine accepts exactly the ones that close no cycle (by a
/// model of the graph) and names a real cycle when it refuses; a store that reports ranks
/// ([`Reader::dependency_rank`]) ranks every stored dependency below its dependent.
pub fn dependencies_against_a_model<S: Store>(store: S) {
    const ITEMS: usize = 24;
    let (engine, _) = engine(store);
    let w = worker();
    let ids: Vec<ItemId> = (0..ITEMS)
        .map(|_| ok(engine.create(&w, NewItem::of("conformance")), "create").id())
        .collect();
    let index = |id: ItemId| ids.iter().position(|&x| x == id).unwrap_or(usize::MAX);
    // deps[a]: what item a depends on.
    let mut deps: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); ITEMS];
    // Whether `from` depends on `to`, directly or not (or is it).
    let reaches = |deps: &[BTreeSet<usize>], from: usize, to: usize| {
        let mut stack = vec![from];
        let mut seen = BTreeSet::from([from]);
        while let Some(x) = stack.pop() {
            if x == to {
                return true;
            }
            stack.extend(deps[x].iter().filter(|&&d| seen.insert(d)));
        }
        false
    };
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for step in 0..400 {
        let (a, b) = (next(ITEMS), next(ITEMS));
        let closes = reaches(&deps, b, a);
        match next(10) {
            0 => {
                let Some(&on) = deps[a].iter().nth(next(deps[a].len().max(1))) else {
                    continue;
                };
                ok(
                    engine.remove_dependency(ids[a], ids[on], &w),
                    "remove a dependency",
                );
                deps[a].remove(&on);
            }
            1 if !closes && !deps[a].contains(&b) => {
                // Appended, then rolled back: nothing of it may stay.
                let result: Result<(), StoreError> = engine.store().write(|tx| {
                    let current = tx
                        .item(ids[a])?
                        .ok_or_else(|| StoreError::Corrupt("gone".into()))?;
                    let event = current
                        .next_event(start(), "wes", Change::DependencyAdded { on: ids[b] })
                        .seal();
                    let mut next = current.clone();
                    next.apply(&event)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    tx.append(event, next)?;
                    Err(StoreError::Corrupt("the caller gave up".into()))
                });
                assert!(result.is_err());
            }
            _ => {
                let accept = !closes && !deps[a].contains(&b);
                match engine.add_dependency(ids[a], ids[b], &w) {
                    Ok(_) => {
                        assert!(
                            accept,
                            "step {step}: {a} on {b} closes a cycle, yet accepted"
                        );
                        deps[a].insert(b);
                    }
                    Err(e) => {
                        let refused = e
                            .refused()
                            .unwrap_or_else(|| panic!("step {step}: {a} on {b}: {e}"));
                        assert!(!accept, "step {step}: {a} on {b} refused: {e}");
                        let cycle = &refused.reasons[0].items;
                        if closes && a != b {
                            // a -> b -> ... -> a, each a dependency of the one before.
                            assert_eq!(cycle.first(), Some(&ids[a]), "step {step}");
                            assert_eq!(cycle.last(), Some(&ids[a]), "step {step}");
                            for pair in cycle[1..].windows(2) {
                                assert!(
                                    deps[index(pair[0])].contains(&index(pair[1])),
                                    "step {step}: {cycle:?} is not a path of dependencies"
                                );
                            }
                        }
                    }
                }
            }
        }
        let ranks: Result<(), StoreError> = engine.store().read(|tx| {
            for (a, on) in deps.iter().enumerate() {
                for &b in on {
                    if let (Some(ra), Some(rb)) =
                        (tx.dependency_rank(ids[a])?, tx.dependency_rank(ids[b])?)
                    {
                        assert!(
                            rb < ra,
                            "step {step}: {a} (rank {ra}) depends on {b} (rank {rb})"
                        );
                    }
                }
            }
            let stored = tx.item(ids[a])?.map(|i| i.deps().len());
            assert_eq!(
                stored,
                Some(deps[a].len()),
                "step {step}: item {a}'s dependencies"
            );
            Ok(())
        });
        ok(ranks.map_err(Error::from), "read ranks");
    }
    ok(engine.verify_all(), "verify all");
}
