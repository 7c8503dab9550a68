//! What every scenario uses: a `Scenario` that makes each change through the engine and
//! checks that it wrote exactly one well-formed event (or, for a refusal, nothing at all),
//! a store shared by several engines, and SQLite files in temporary directories.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use workstream::prelude::*;
use workstream::sqlite::{Durability, Options};
use workstream::{Change, Event, SqliteStore, Verified};

pub(crate) fn h(n: i64) -> TimeDelta {
    TimeDelta::hours(n)
}

pub(crate) fn workflow(origin: &str, text: &str) -> Workflow {
    parse(origin, text).unwrap_or_else(|d| panic!("{d}"))
}

/// An engine, its clock, and the number of events the scenario has written through it.
///
/// Every write goes through a method that checks the event it appended: one more event
/// in the item's chain, by the actor, linked to the previous head, and, for a move, from
/// where the item was to where it is now. Every refusal is checked to name exactly the
/// expected reasons and to have written nothing anywhere in the store.
pub(crate) struct Scenario<S: Store> {
    pub(crate) engine: Engine<S>,
    pub(crate) clock: ManualClock,
    written: Cell<usize>,
}

impl<S: Store> Scenario<S> {
    pub(crate) fn new(engine: Engine<S>, clock: ManualClock) -> Self {
        Self::resume(engine, clock, 0)
    }

    /// A scenario that goes on, with another engine, from `written` events.
    pub(crate) fn resume(engine: Engine<S>, clock: ManualClock, written: usize) -> Self {
        Self {
            engine,
            clock,
            written: Cell::new(written),
        }
    }

    pub(crate) fn written(&self) -> usize {
        self.written.get()
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.engine.now()
    }

    pub(crate) fn item(&self, id: ItemId) -> Item {
        self.engine.item(id).unwrap()
    }

    pub(crate) fn history(&self, id: ItemId) -> Vec<Event> {
        self.engine.history(id).unwrap()
    }

    /// Creates an item, checking its one `created` event.
    pub(crate) fn create(&self, actor: &Actor, new: NewItem<'_>) -> Item {
        let item = self
            .engine
            .create(actor, new)
            .unwrap_or_else(|e| panic!("create: {e}"));
        let history = self.history(item.id());
        assert_eq!(history.len(), 1);
        let event = &history[0];
        assert!(matches!(event.change(), &Change::Created { .. }));
        assert_eq!((event.actor(), event.at()), (actor.id(), self.now()));
        assert_eq!(event.hash(), item.head());
        self.written.set(self.written.get() + 1);
        item
    }

    /// Moves an item, which must land in `to`; checks the one `transitioned` event.
    pub(crate) fn go(&self, id: ItemId, actor: &Actor, mv: Move<'_>, to: &str) -> Item {
        let before = self.item(id);
        let after = self
            .engine
            .advance(id, actor, mv)
            .unwrap_or_else(|e| panic!("moving {id} to `{to}`: {e}"));
        assert_eq!(after.workstation(), to, "{id} landed elsewhere");
        let event = self.one_more(&before, &after, actor);
        match &event.change() {
            Change::Transitioned { from, to: into, .. } => {
                assert_eq!((from.as_str(), into.as_str()), (before.workstation(), to));
            }
            other => panic!("expected a move, the ledger holds {other:?}"),
        }
        after
    }

    /// Changes an item's fields; checks the one `fields_updated` event.
    pub(crate) fn update(&self, id: ItemId, actor: &Actor, patch: Value) -> Item {
        let before = self.item(id);
        let after = self.engine.update_fields(id, actor, patch.clone()).unwrap();
        let event = self.one_more(&before, &after, actor);
        assert_eq!(event.change(), &Change::FieldsUpdated { patch });
        after
    }

    /// Puts a hold on; checks the one `held` event and its reason.
    pub(crate) fn hold(&self, id: ItemId, actor: &Actor, hold: &str, reason: &str) -> Item {
        let before = self.item(id);
        let after = self.engine.hold(id, actor, hold, reason).unwrap();
        let event = self.one_more(&before, &after, actor);
        assert_eq!(event.change(), &Change::Held { hold: hold.into() });
        assert_eq!(event.reason(), Some(reason));
        assert_eq!(after.holds()[hold].reason.as_deref(), Some(reason));
        after
    }

    /// Releases a hold; checks the one `released` event.
    pub(crate) fn release(&self, id: ItemId, actor: &Actor, hold: &str) -> Item {
        let before = self.item(id);
        let after = self.engine.release(id, actor, hold).unwrap();
        let event = self.one_more(&before, &after, actor);
        assert_eq!(event.change(), &Change::Released { hold: hold.into() });
        assert!(!after.holds().contains_key(hold));
        after
    }

    /// Makes `id` depend on `on`; checks the one `dependency_added` event.
    pub(crate) fn depend(&self, id: ItemId, on: ItemId, actor: &Actor) -> Item {
        let before = self.item(id);
        let after = self.engine.add_dependency(id, on, actor).unwrap();
        let event = self.one_more(&before, &after, actor);
        assert_eq!(event.change(), &Change::DependencyAdded { on });
        after
    }

    fn one_more(&self, before: &Item, after: &Item, actor: &Actor) -> Event {
        let history = self.history(after.id());
        assert_eq!(
            history.len() as u64,
            before.seq() + 1,
            "one event per change"
        );
        let event = history.last().unwrap().clone();
        assert_eq!(event.seq(), before.seq() + 1);
        assert_eq!(event.prev(), before.head(), "linked to the previous head");
        assert_eq!(event.hash(), after.head());
        assert_eq!((event.actor(), event.at()), (actor.id(), self.now()));
        self.written.set(self.written.get() + 1);
        event
    }

    /// A move of `id` that must be refused with exactly the reasons `ids`, in order.
    pub(crate) fn refuse(&self, id: ItemId, actor: &Actor, mv: Move<'_>, ids: &[&str]) -> Refused {
        self.refused(id, ids, || self.engine.advance(id, actor, mv))
    }

    /// A change of `id` that must be refused with exactly the reasons `ids`, writing nothing.
    pub(crate) fn refused(
        &self,
        id: ItemId,
        ids: &[&str],
        change: impl FnOnce() -> Result<Item, Error>,
    ) -> Refused {
        let before = self.item(id);
        let events = self.engine.verify_all().unwrap().events;
        let refused = match change() {
            Err(Error::Refused(r)) => *r,
            Err(other) => panic!("expected a refusal {ids:?}, got the error: {other}"),
            Ok(item) => panic!(
                "expected a refusal {ids:?}, but {id} moved to `{}`",
                item.workstation()
            ),
        };
        assert_eq!(refused.ids(), ids, "{refused}");
        assert_eq!(refused.item, before, "the item comes back unchanged");
        assert_eq!(self.item(id), before, "nothing was written to the item");
        assert_eq!(
            self.engine.verify_all().unwrap().events,
            events,
            "nothing was written anywhere"
        );
        refused
    }

    /// Every chain verifies, and the store holds exactly the events the scenario wrote.
    pub(crate) fn verified(&self) -> Verified {
        let verified = self.engine.verify_all().unwrap();
        assert_eq!(
            verified.events,
            self.written(),
            "one event per step, no more"
        );
        verified
    }
}

/// The ids of items.
pub(crate) fn ids(items: &[Item]) -> Vec<ItemId> {
    items.iter().map(Item::id).collect()
}

/// A directory of its own under the system's temporary directory, removed (with the
/// database in it) when dropped, also when the scenario fails.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "workstream-scenario-{name}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a scenario on a SQLite file in a temporary directory, then opens the file again,
/// with a new connection, and checks that every chain in it verifies and that it holds
/// the items and events the scenario verified.
///
/// The scenarios use `Durability::Normal`: with the default `Full`, SQLite syncs the disk
/// at every commit, which makes a few hundred steps slow on a busy disk and tests nothing
/// these scenarios are about (the store's own tests cover `Full`).
pub(crate) fn on_sqlite(name: &str, scenario: impl FnOnce(SqliteStore) -> Verified) {
    let dir = TempDir::new(name);
    let file = dir.0.join(format!("{name}.db"));
    let options = Options::builder().durability(Durability::Normal).build();
    let store = SqliteStore::open_with(&file, options).unwrap_or_else(|e| panic!("open: {e}"));
    let verified = scenario(store);
    assert_eq!(
        reopened(&file),
        (verified.items, verified.events),
        "the file holds what was verified"
    );
}

/// The items and events of the file reopened, every one of which checks out.
fn reopened(file: &Path) -> (usize, usize) {
    let store = SqliteStore::open(file).unwrap_or_else(|e| panic!("reopen: {e}"));
    let report = store
        .read(|tx| workstream::audit(tx))
        .unwrap_or_else(|e| panic!("the reopened file cannot be read: {e}"));
    assert!(
        report.is_clean(),
        "the reopened file does not verify: {report}"
    );
    (report.items, report.events)
}

/// Runs `scenario` on a PostgreSQL store, on a schema of its own of the test server (a
/// throwaway cluster, or the server `WORKSTREAM_POSTGRES_URL` names), then reopens the schema
/// and audits it. Without a server it says so loudly and returns; under `CI=true` it fails.
pub(crate) fn on_postgres(
    name: &str,
    scenario: impl FnOnce(workstream_store_postgres::PostgresStore) -> Verified,
) {
    use workstream_store_postgres::{Options, PostgresStore};
    let Some(server) = workstream_store_postgres::testing::server(&format!("scenario {name}"))
    else {
        return;
    };
    let schema = server.fresh_schema(name);
    let open = || {
        PostgresStore::open_with(&server.url(), Options::builder().schema(&schema).build())
            .unwrap_or_else(|e| panic!("open: {e}"))
    };
    let verified = scenario(open());
    let report = open()
        .read(|tx| workstream::audit(tx))
        .unwrap_or_else(|e| panic!("the reopened schema cannot be read: {e}"));
    assert!(
        report.is_clean(),
        "the reopened schema does not verify: {report}"
    );
    assert_eq!(
        (report.items, report.events),
        (verified.items, verified.events),
        "the schema holds what was verified"
    );
}
