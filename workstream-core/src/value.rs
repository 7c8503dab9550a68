//! JSON values as items carry them: the merge patch that changes fields, and the one depth
//! limit for what the engine stores.

use serde_json::{Map, Value};

/// The deepest nesting of arrays and objects the engine accepts in a JSON value it is given
/// to store: an item's fields, a patch of them, an event's payload. The value itself counts
/// as the first level, so `{"a": {"b": [1]}}` has three.
///
/// Every store reads back what it was given, so the limit is one for all of them: it leaves
/// room under the 128 levels that `serde_json` reads by default for the objects a store wraps
/// a value in (an event, an item's state), and keeps every walk over a value, including
/// hashing it, far from the end of a thread's stack. Deeper values are refused with
/// [`Error::TooDeep`](crate::Error::TooDeep) before anything is written.
pub const MAX_VALUE_DEPTH: usize = 64;

/// Whether `value` nests deeper than `limit` levels of arrays and objects (the value itself
/// is level 1). It walks with a stack of its own and stops at the first level past the
/// limit, so any value, however deep, is measured without recursion.
///
/// ```
/// use serde_json::json;
/// assert!(!workstream_core::is_deeper_than(&json!({"a": [1]}), 2));
/// assert!(workstream_core::is_deeper_than(&json!({"a": [[1]]}), 2));
/// ```
pub fn is_deeper_than(value: &Value, limit: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = vec![(value, 1)];
    while let Some((value, depth)) = stack.pop() {
        let next = depth + 1;
        match value {
            Value::Array(_) | Value::Object(_) if depth > limit => return true,
            Value::Array(items) => stack.extend(items.iter().map(|child| (child, next))),
            Value::Object(map) => stack.extend(map.values().map(|child| (child, next))),
            _ => {}
        }
    }
    false
}

/// Drops `value` without recursion. Dropping a `serde_json::Value` recurses once per level
/// and overflows a thread's stack somewhere past ten thousand levels; the engine and the
/// stores drop the too-deep values they refuse with this instead.
///
/// ```
/// let mut deep = serde_json::json!(1);
/// for _ in 0..200_000 {
///     deep = serde_json::Value::Array(vec![deep]);
/// }
/// workstream_core::dismantle_value(deep); // `drop(deep)` would overflow the stack
/// ```
pub fn dismantle_value(value: Value) {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// Applies a JSON merge patch (RFC 7386) to `target`: objects merge key by key, `null`
/// removes a key, anything else replaces.
///
/// ```
/// use serde_json::json;
/// let mut fields = json!({"a": 1, "b": {"c": 2, "d": 3}});
/// workstream_core::merge_patch(&mut fields, &json!({"a": null, "b": {"c": 5}, "e": [1]}));
/// assert_eq!(fields, json!({"b": {"c": 5, "d": 3}, "e": [1]}));
/// ```
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}
