//! `tracing` spans and events for the engine's writes (feature `tracing`): a span
//! `workstream.write` per write, with the operation, the item and the actor; inside it a
//! span `workstream.tx` per attempt of the store transaction (a store may run one again
//! after a lost race); and one event for how it ended: `committed` (debug), `refused` with
//! the action and every reason's id (info), or the error (warn). Without the feature this
//! is a plain store transaction.

use super::{Engine, Result};
use crate::item::{Actor, ItemId};
use crate::store::Store;

impl<S: Store> Engine<S> {
    /// Runs `f` in one store write transaction, traced.
    pub(super) fn write_traced<R>(
        &self,
        op: &'static str,
        item: Option<ItemId>,
        actor: Option<&Actor>,
        f: impl FnMut(&mut S::Tx<'_>) -> Result<R>,
    ) -> Result<R> {
        #[cfg(feature = "tracing")]
        {
            let mut f = f;
            let span = tracing::info_span!(
                "workstream.write",
                op,
                item = tracing::field::Empty,
                actor = tracing::field::Empty,
            );
            if let Some(id) = item {
                span.record("item", id.0);
            }
            if let Some(actor) = actor {
                span.record("actor", actor.id());
            }
            let _entered = span.enter();
            let mut attempt = 0u32;
            let result = self.store.write(|tx| {
                attempt += 1;
                let _tx = tracing::debug_span!("workstream.tx", attempt).entered();
                f(tx)
            });
            match &result {
                Ok(_) => tracing::debug!("committed"),
                Err(super::Error::Refused(refused)) => tracing::info!(
                    action = %refused.action,
                    reasons = ?refused.ids(),
                    "refused"
                ),
                Err(e) => tracing::warn!(error = %e, "write failed"),
            }
            result
        }
        #[cfg(not(feature = "tracing"))]
        {
            let _ = (op, item, actor);
            self.store.write(f)
        }
    }
}
