//! An async face for tokio programs (feature `tokio`): [`AsyncEngine`] runs each call of an
//! [`Engine`] on tokio's blocking pool and returns a future, so a handler never blocks the
//! runtime's workers on a store.
//!
//! The engine itself is unchanged and synchronous: every store transaction runs on a
//! blocking thread, with the same checks, refusals and ledger events as a direct call. The
//! methods take their arguments by value (`Move<'static>`, `NewItem<'static>`), since the
//! work outlives the caller's borrow; [`AsyncEngine::run`] runs any closure over the engine.
//!
//! ```
//! use workstream::prelude::*;
//! use workstream::tokio::AsyncEngine;
//!
//! # let rt = ::tokio::runtime::Builder::new_current_thread().build().unwrap();
//! # rt.block_on(async {
//! let workflow = parse("door.yaml", "
//! workflow: door
//! version: 1
//! workstations:
//!   closed: { initial: true }
//!   open: {}
//!   removed: { terminal: true }
//! transitions:
//!   open_it: { from: closed, to: open }
//!   close_it: { from: open, to: closed }
//!   remove: { from: closed, to: removed }
//! ")?;
//! let engine = AsyncEngine::new(
//!     Engine::builder().store(MemoryStore::new()).workflow(workflow).build()?,
//! );
//! let ann = Actor::new("ann", Vec::<String>::new());
//! let door = engine.create(ann.clone(), NewItem::of("door")).await?;
//! let door = engine.advance(door.id(), ann, Move::transition("open_it")).await?;
//! assert_eq!(door.workstation(), "open");
//! // Anything else, on the blocking pool:
//! let events = engine.run(|engine| engine.verify_all()).await?.events;
//! assert_eq!(events, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! The crate `workstream-server` builds its HTTP API on this type, and its example
//! `axum` is a small service of your own over it
//! (`cargo run -p workstream-server --example axum`).

use std::sync::Arc;

use chrono::TimeDelta;
use serde_json::Value;
use workstream_core::{
    Actor, Engine, Event, Explanation, FeedEvent, FlowReport, Item, ItemId, Move, NewItem,
    Position, Query, Result, Signals, Store, Verified, Window,
};

/// An [`Engine`] shared by tasks, whose calls run on tokio's blocking pool.
///
/// Cloning is cheap (an [`Arc`]). Every method must be awaited inside a tokio runtime.
///
/// # Panics
///
/// A panic inside the engine (a bug, or a Rust check of the program that panics) is
/// resumed in the task that awaits the call, as a direct call would panic. Awaiting a call
/// after the runtime began to shut down panics too: its blocking pool no longer runs work.
pub struct AsyncEngine<S> {
    inner: Arc<Engine<S>>,
}

impl<S> Clone for AsyncEngine<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> std::fmt::Debug for AsyncEngine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncEngine").finish_non_exhaustive()
    }
}

impl<S> From<Engine<S>> for AsyncEngine<S> {
    fn from(engine: Engine<S>) -> Self {
        Self {
            inner: Arc::new(engine),
        }
    }
}

impl<S> From<Arc<Engine<S>>> for AsyncEngine<S> {
    fn from(inner: Arc<Engine<S>>) -> Self {
        Self { inner }
    }
}

impl<S: Store + Send + Sync + 'static> AsyncEngine<S> {
    /// Wraps an engine.
    pub fn new(engine: Engine<S>) -> Self {
        engine.into()
    }

    /// The engine, for the calls that touch no store ([`Engine::workflow`],
    /// [`Engine::workflows`], [`Engine::now`]) or for code that is already on a blocking
    /// thread.
    pub fn engine(&self) -> &Arc<Engine<S>> {
        &self.inner
    }

    /// Runs `f` over the engine on the blocking pool and returns what it returns.
    pub async fn run<R, F>(&self, f: F) -> R
    where
        F: FnOnce(&Engine<S>) -> R + Send + 'static,
        R: Send + 'static,
    {
        let engine = Arc::clone(&self.inner);
        match ::tokio::task::spawn_blocking(move || f(&engine)).await {
            Ok(value) => value,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => panic!("the tokio runtime is shutting down; the engine call did not run"),
        }
    }

    /// [`Engine::item`].
    pub async fn item(&self, id: ItemId) -> Result<Item> {
        self.run(move |e| e.item(id)).await
    }

    /// [`Engine::items`].
    pub async fn items(&self, query: Query) -> Result<Vec<Item>> {
        self.run(move |e| e.items(&query)).await
    }

    /// [`Engine::history`].
    pub async fn history(&self, id: ItemId) -> Result<Vec<Event>> {
        self.run(move |e| e.history(id)).await
    }

    /// [`Engine::explain`].
    pub async fn explain(&self, id: ItemId, actor: Actor) -> Result<Explanation> {
        self.run(move |e| e.explain(id, &actor)).await
    }

    /// [`Engine::signals`].
    pub async fn signals(&self, id: ItemId) -> Result<Signals> {
        self.run(move |e| e.signals(id)).await
    }

    /// [`Engine::create`].
    pub async fn create(&self, actor: Actor, new: NewItem<'static>) -> Result<Item> {
        self.run(move |e| e.create(&actor, new)).await
    }

    /// [`Engine::advance`].
    pub async fn advance(&self, id: ItemId, actor: Actor, mv: Move<'static>) -> Result<Item> {
        self.run(move |e| e.advance(id, &actor, mv)).await
    }

    /// [`Engine::update_fields`].
    pub async fn update_fields(&self, id: ItemId, actor: Actor, patch: Value) -> Result<Item> {
        self.run(move |e| e.update_fields(id, &actor, patch)).await
    }

    /// [`Engine::hold`].
    pub async fn hold(
        &self,
        id: ItemId,
        actor: Actor,
        hold: String,
        reason: String,
    ) -> Result<Item> {
        self.run(move |e| e.hold(id, &actor, &hold, &reason)).await
    }

    /// [`Engine::release`].
    pub async fn release(&self, id: ItemId, actor: Actor, hold: String) -> Result<Item> {
        self.run(move |e| e.release(id, &actor, &hold)).await
    }

    /// [`Engine::add_dependency`].
    pub async fn add_dependency(&self, id: ItemId, on: ItemId, actor: Actor) -> Result<Item> {
        self.run(move |e| e.add_dependency(id, on, &actor)).await
    }

    /// [`Engine::remove_dependency`].
    pub async fn remove_dependency(&self, id: ItemId, on: ItemId, actor: Actor) -> Result<Item> {
        self.run(move |e| e.remove_dependency(id, on, &actor)).await
    }

    /// [`Engine::verify`]: the number of events of the item's chain, checked.
    pub async fn verify(&self, id: ItemId) -> Result<usize> {
        self.run(move |e| e.verify(id)).await
    }

    /// [`Engine::verify_all`].
    pub async fn verify_all(&self) -> Result<Verified> {
        self.run(move |e| e.verify_all()).await
    }

    /// [`Engine::events_since`]: the next page of the store's feed.
    pub async fn events_since(&self, after: Position, limit: usize) -> Result<Vec<FeedEvent>> {
        self.run(move |e| e.events_since(after, limit)).await
    }

    /// [`Engine::flow`].
    pub async fn flow(
        &self,
        query: Query,
        window: Window,
        period: TimeDelta,
    ) -> Result<FlowReport> {
        self.run(move |e| e.flow(&query, window, period)).await
    }
}
