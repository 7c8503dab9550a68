//! What callers ask the engine for: a new item, a move, and what a move records.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::item::ItemId;
use crate::workflow::TransitionId;

/// A request to create an item.
#[derive(Clone, Debug)]
pub struct NewItem<'a> {
    pub(crate) workflow: Cow<'a, str>,
    pub(crate) version: Option<u32>,
    pub(crate) fields: Value,
    pub(crate) parent: Option<ItemId>,
    pub(crate) reason: Option<String>,
    pub(crate) payload: Value,
}

impl<'a> NewItem<'a> {
    /// An item of the newest loaded version of `workflow`, with no fields.
    pub fn of(workflow: impl Into<Cow<'a, str>>) -> Self {
        Self {
            workflow: workflow.into(),
            version: None,
            fields: Value::Object(Map::new()),
            parent: None,
            reason: None,
            payload: Value::Null,
        }
    }
    /// Uses this version of the workflow instead of the newest.
    pub fn version(mut self, version: u32) -> Self {
        self.version = Some(version);
        self
    }
    /// Its first data (a JSON object).
    pub fn fields(mut self, fields: Value) -> Self {
        self.fields = fields;
        self
    }
    /// The item it belongs to.
    pub fn parent(mut self, parent: ItemId) -> Self {
        self.parent = Some(parent);
        self
    }
    /// Why it is created, recorded on the event.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
    /// Data recorded on the event.
    pub fn payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }
}

/// What a move records besides the move itself: a field patch, a reason, a payload. The
/// typed API's `…_with` methods take one.
///
/// ```
/// use serde_json::json;
/// let with = workstream_core::With::new().patch(json!({"award": "10.00"})).reason("claimed");
/// # let _ = with;
/// ```
#[derive(Clone, Debug, Default)]
pub struct With {
    pub(crate) patch: Option<Value>,
    pub(crate) reason: Option<String>,
    pub(crate) payload: Value,
}

impl With {
    /// Nothing besides the move.
    pub fn new() -> Self {
        Self::default()
    }
    /// A merge patch (RFC 7386) applied to the item's fields in the same event.
    pub fn patch(mut self, patch: Value) -> Self {
        self.patch = Some(patch);
        self
    }
    /// Why, recorded on the event.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
    /// Data recorded on the event.
    pub fn payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Target<'a> {
    Transition(Cow<'a, str>),
    Id(TransitionId),
    Workstation(Cow<'a, str>),
}

/// A request to move an item: along a named transition or to a workstation, optionally with
/// a field patch applied in the same event, a reason and a payload.
///
/// ```
/// use serde_json::json;
/// use workstream_core::Move;
/// let m = Move::transition("claim")
///     .only_from("ready")                        // refuse if someone moved it meanwhile
///     .patch(json!({"award": "10.00 USD"})) // frozen onto the item with the move
///     .reason("claimed from the board");
/// # let _ = m;
/// ```
#[derive(Clone, Debug)]
pub struct Move<'a> {
    pub(crate) target: Target<'a>,
    pub(crate) expect: Option<Cow<'a, str>>,
    pub(crate) patch: Option<Value>,
    pub(crate) reason: Option<String>,
    pub(crate) payload: Value,
}

impl<'a> Move<'a> {
    fn new(target: Target<'a>) -> Self {
        Self {
            target,
            expect: None,
            patch: None,
            reason: None,
            payload: Value::Null,
        }
    }
    /// Move along the transition of this name.
    pub fn transition(name: impl Into<Cow<'a, str>>) -> Self {
        Self::new(Target::Transition(name.into()))
    }
    /// Move along the transition with this id (as generated code does).
    pub fn transition_id(id: TransitionId) -> Self {
        Self::new(Target::Id(id))
    }
    /// Move to this workstation, along the first transition (in file order) from the item's
    /// workstation to it that is allowed.
    pub fn to(workstation: impl Into<Cow<'a, str>>) -> Self {
        Self::new(Target::Workstation(workstation.into()))
    }
    /// Only move if the item is still in `workstation`; otherwise fail with
    /// [`Error::Conflict`](crate::Error::Conflict).
    pub fn only_from(mut self, workstation: impl Into<Cow<'a, str>>) -> Self {
        self.expect = Some(workstation.into());
        self
    }
    /// A merge patch (RFC 7386) applied to the item's fields in the same event. Assertions
    /// are evaluated against the patched fields.
    pub fn patch(mut self, patch: Value) -> Self {
        self.patch = Some(patch);
        self
    }
    /// Why, recorded on the event.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
    /// Data recorded on the event.
    pub fn payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }
    /// Records what `with` holds (its patch, reason and payload replace any set before).
    pub fn with(mut self, with: With) -> Self {
        self.patch = with.patch;
        self.reason = with.reason;
        self.payload = with.payload;
        self
    }
}
