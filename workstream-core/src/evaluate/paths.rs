//! Reading a path (`fields.…`, `item.…`, `actor.…`, `children.*.…`, `deps.*.…`) against a
//! subject: the values found, each with the related item it was read from.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Found, Subject};
use crate::assertion::{Path, Root, Step};
use crate::item::{Item, ItemId};
use crate::store::{Query, StoreError};

impl Subject<'_> {
    /// The one value at a path without `*` (for a list attribute such as `item.holds`, the
    /// list), without collecting into a vector.
    pub(super) fn resolve_one(&self, path: &Path) -> Result<Option<Cow<'_, Value>>, StoreError> {
        if path.is_expansion() {
            let all = self.resolve(path)?;
            let values: Vec<Value> = all.into_iter().map(|f| f.value.into_owned()).collect();
            return Ok(Some(Cow::Owned(Value::Array(values))));
        }
        Ok(match path.root() {
            Root::Fields => {
                let mut at = self.cx.item.fields();
                for step in path.steps() {
                    let next = match (step, at) {
                        (Step::Key(key), Value::Object(map)) => map.get(key),
                        (Step::Key(key), Value::Array(list)) => {
                            key.parse::<usize>().ok().and_then(|i| list.get(i))
                        }
                        _ => None,
                    };
                    match next {
                        Some(next) => at = next,
                        None => return Ok(None),
                    }
                }
                Some(Cow::Borrowed(at))
            }
            Root::Item => {
                let attr = path.attr().unwrap_or_default();
                Some(Cow::Owned(match attr {
                    "workstation" => Value::from(self.cx.item.workstation()),
                    _ => self.item_attr(self.cx.item, attr),
                }))
            }
            Root::Actor => Some(Cow::Owned(Value::from(self.cx.actor.id()))),
            // Paths through related items always expand.
            Root::Children | Root::Deps => None,
        })
    }

    /// Every value at `path`. A path without `*` yields at most one value.
    pub(super) fn resolve(&self, path: &Path) -> Result<Vec<Found<'_>>, StoreError> {
        let steps = path.steps();
        let mut out = Vec::new();
        match path.root() {
            Root::Fields => walk(self.cx.item.fields(), steps, None, &mut out),
            Root::Item => {
                let attr = path.attr().unwrap_or_default();
                let value = match attr {
                    "workstation" => Value::from(self.cx.item.workstation()),
                    "holds" => {
                        for hold in self.cx.item.holds().keys() {
                            out.push(owned(Value::from(hold.as_str()), None));
                        }
                        return Ok(out);
                    }
                    _ => self.item_attr(self.cx.item, attr),
                };
                out.push(owned(value, None));
            }
            Root::Actor => match path.attr() {
                Some("roles") => {
                    for role in self.cx.actor.roles() {
                        out.push(owned(Value::from(role.as_str()), None));
                    }
                }
                _ => out.push(owned(Value::from(self.cx.actor.id()), None)),
            },
            Root::Children | Root::Deps => {
                let related = if path.root() == Root::Children {
                    self.children()?
                } else {
                    self.deps()?
                };
                // steps[0] is `*`.
                let rest = steps.get(1..).unwrap_or_default();
                for item in related {
                    let id = Some(item.id());
                    match rest {
                        [Step::Key(k), more @ ..] if k == "fields" => {
                            walk(item.fields(), more, id, &mut out);
                        }
                        [Step::Key(k)] if k == "holds" => {
                            let holds: Vec<Value> = item
                                .holds()
                                .keys()
                                .map(|h| Value::from(h.as_str()))
                                .collect();
                            out.push(owned(Value::Array(holds), id));
                        }
                        [Step::Key(k)] => out.push(owned(self.item_attr(item, k), id)),
                        _ => {}
                    }
                }
            }
        }
        Ok(out)
    }

    pub(super) fn item_attr(&self, item: &Item, attr: &str) -> Value {
        match attr {
            "id" => Value::from(item.id().0),
            "workstation" => Value::from(item.workstation()),
            "outcome" => item
                .outcome()
                .map_or(Value::Null, |o| Value::from(o.name())),
            "version" => Value::from(item.version()),
            "age" => Value::from(seconds_between(item.created(), self.cx.now)),
            "idle" => Value::from(seconds_between(item.updated(), self.cx.now)),
            _ => Value::Null,
        }
    }

    pub(super) fn children(&self) -> Result<&[Item], StoreError> {
        if let Some(children) = self.children.get() {
            return Ok(children);
        }
        let children = self
            .cx
            .reader
            .items(&Query::new().parent(self.cx.item.id()))?;
        Ok(self.children.get_or_init(|| children))
    }

    pub(super) fn deps(&self) -> Result<&[Item], StoreError> {
        if let Some(deps) = self.deps.get() {
            return Ok(deps);
        }
        let mut deps = Vec::with_capacity(self.cx.item.deps().len());
        for &id in self.cx.item.deps() {
            if let Some(item) = self.cx.reader.item(id)? {
                deps.push(item);
            }
        }
        Ok(self.deps.get_or_init(|| deps))
    }
}

pub(super) fn owned(value: Value, item: Option<ItemId>) -> Found<'static> {
    Found {
        value: Cow::Owned(value),
        item,
    }
}

pub(super) fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    (to - from).num_seconds().max(0) as u64
}

/// Follows `steps` into `value`, expanding lists at `*`; pushes what it reaches.
pub(super) fn walk<'v>(
    value: &'v Value,
    steps: &[Step],
    item: Option<ItemId>,
    out: &mut Vec<Found<'v>>,
) {
    let Some((step, rest)) = steps.split_first() else {
        out.push(Found {
            value: Cow::Borrowed(value),
            item,
        });
        return;
    };
    match (step, value) {
        (Step::Key(key), Value::Object(map)) => {
            if let Some(next) = map.get(key) {
                walk(next, rest, item, out);
            }
        }
        (Step::Key(key), Value::Array(list)) => {
            if let Some(next) = key.parse::<usize>().ok().and_then(|i| list.get(i)) {
                walk(next, rest, item, out);
            }
        }
        (Step::Each, Value::Array(list)) => {
            for next in list {
                walk(next, rest, item, out);
            }
        }
        _ => {}
    }
}
