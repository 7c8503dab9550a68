//! Evaluating assertions against an item, its actor, its related items and the clock.
//!
//! Semantics, in short (the format guide has the full table):
//! - a path that resolves to nothing, or to `null`, is *absent*; `exists` fails on it and it
//!   compares as `null` with `eq`/`ne`/`in`/`not_in`;
//! - numbers compare by value (`1` equals `1.0`); `lt`…`gte` compare two numbers or two
//!   strings (so RFC 3339 instants order correctly) and fail on anything else;
//! - over an expansion, `all_eq` and `all_in` hold when there is nothing to expand;
//! - `item.age` and `item.idle` are whole seconds.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::cmp::Ordering;

use serde_json::{Value, json};

use crate::assertion::{Assertion, AssertionKind, Op, Operand, Path};
use crate::check::{CheckContext, Checks, Verdict};
use crate::item::{Item, ItemId};
use crate::refusal::{Reason, ReasonKind};
use crate::store::StoreError;

mod paths;

/// Everything an assertion may read: what a check sees, the checks by name, and the related
/// items, read once when first needed.
pub(crate) struct Subject<'a> {
    pub(crate) cx: CheckContext<'a>,
    pub(crate) checks: &'a Checks,
    children: OnceCell<Vec<Item>>,
    deps: OnceCell<Vec<Item>>,
}

/// Why one assertion fails, or why it cannot be told whether it holds.
struct Failure {
    message: String,
    details: Value,
    items: Vec<ItemId>,
    /// Whether the assertion's outcome is unknown rather than false: it depends on a Rust
    /// check the engine has no function for (an engine built to inspect a store without the
    /// program that wrote it). Unknown combines as in three-valued logic: `all` fails when
    /// a member fails, is unknown when none fails and one is unknown; `any` holds when a
    /// member holds, is unknown when none holds and one is unknown; `not` of unknown is
    /// unknown.
    unknown: bool,
}

/// A value found at a path, with the related item it was read from (for `children.*` and
/// `deps.*`).
struct Found<'v> {
    value: Cow<'v, Value>,
    item: Option<ItemId>,
}

impl<'a> Subject<'a> {
    pub(crate) fn new(cx: CheckContext<'a>, checks: &'a Checks) -> Self {
        Self {
            cx,
            checks,
            children: OnceCell::new(),
            deps: OnceCell::new(),
        }
    }

    /// Evaluates a list of assertions (which must all hold) and pushes a reason for every
    /// one that fails. The members of a failing `all` are reported one by one.
    pub(crate) fn collect(
        &self,
        assertions: &[Assertion],
        kind: ReasonKind,
        out: &mut Vec<Reason>,
    ) -> Result<(), StoreError> {
        for assertion in assertions {
            if let AssertionKind::All(members) = &assertion.kind {
                self.collect(members, kind, out)?;
            } else if let Some(failure) = self.eval(assertion)? {
                let kind = if failure.unknown {
                    ReasonKind::Unevaluable
                } else {
                    kind
                };
                out.push(
                    Reason::new(assertion.id.clone(), kind, failure.message)
                        .with_details(failure.details)
                        .with_items(failure.items),
                );
            }
        }
        Ok(())
    }

    /// `None` when the assertion holds.
    fn eval(&self, assertion: &Assertion) -> Result<Option<Failure>, StoreError> {
        let failure = match &assertion.kind {
            AssertionKind::Check(name) => self.check(name),
            AssertionKind::Compare { path, op, operand } => self.compare(path, *op, operand)?,
            AssertionKind::All(members) => {
                let mut failed = Vec::new();
                for member in members {
                    if let Some(f) = self.eval(member)? {
                        failed.push((member, f));
                    }
                }
                // One member that surely fails decides; unknown ones are then left out.
                if failed.iter().any(|(_, f)| !f.unknown) {
                    failed.retain(|(_, f)| !f.unknown);
                }
                (!failed.is_empty()).then(|| combine("all of", failed))
            }
            AssertionKind::Any(members) => {
                let mut failed = Vec::new();
                for member in members {
                    match self.eval(member)? {
                        Some(f) => failed.push((member, f)),
                        None => return Ok(None),
                    }
                }
                // None holds: unknown if any member is, false otherwise.
                let unknown = failed.iter().any(|(_, f)| f.unknown);
                let mut failure = combine("at least one of", failed);
                failure.unknown = unknown;
                Some(failure)
            }
            AssertionKind::Not(member) => match self.eval(member)? {
                Some(f) if f.unknown => Some(Failure {
                    message: format!(
                        "`{}` must not hold, and whether it does is not known here: {}",
                        member.id, f.message
                    ),
                    details: json!({ "holds": Value::Null, "unknown": f.details }),
                    items: Vec::new(),
                    unknown: true,
                }),
                Some(_) => None,
                None => Some(Failure {
                    message: format!("`{}` must not hold, but it does", member.id),
                    details: json!({ "holds": member.id }),
                    items: Vec::new(),
                    unknown: false,
                }),
            },
        };
        Ok(failure.map(|mut f| {
            if let Some(message) = &assertion.message {
                // The file's message is what people read; the engine's own account (which
                // values, which children) stays in the details as `cause`.
                let cause = std::mem::replace(&mut f.message, message.clone());
                f.details = match f.details {
                    Value::Object(mut map) => {
                        map.insert("cause".to_owned(), Value::String(cause));
                        Value::Object(map)
                    }
                    Value::Null => json!({ "cause": cause }),
                    other => json!({ "cause": cause, "details": other }),
                };
            }
            f
        }))
    }

    fn check(&self, name: &str) -> Option<Failure> {
        let Some(check) = self.checks.get(name) else {
            // Only an engine built with `allow_missing_checks` gets here: the check is the
            // program's, and it is not here to say.
            return Some(Failure {
                message: format!("check `{name}` is not evaluable outside the program"),
                details: json!({ "check": name }),
                items: Vec::new(),
                unknown: true,
            });
        };
        match check(&self.cx) {
            Verdict::Pass => None,
            Verdict::Fail { message, details } => Some(Failure {
                message,
                details,
                items: Vec::new(),
                unknown: false,
            }),
        }
    }

    fn compare(
        &self,
        path: &Path,
        op: Op,
        operand: &Operand,
    ) -> Result<Option<Failure>, StoreError> {
        let expected: Option<Cow<'_, Value>> = match operand {
            Operand::None => None,
            Operand::Value(v) => Some(Cow::Borrowed(v)),
            Operand::From(from) => Some(self.resolve_one(from)?.unwrap_or(Cow::Owned(Value::Null))),
        };
        if !op.over_expansion() {
            let actual = self.resolve_one(path)?;
            return Ok(self.compare_one(path, op, operand, actual.as_deref(), expected.as_deref()));
        }
        let found = self.resolve(path)?;
        let expected_ref = expected.as_deref().unwrap_or(&Value::Null);
        let shown = || describe_operand(operand, expected_ref, path.is_duration());

        let count = found.len();
        let failing: Vec<&Found<'_>> = match op {
            Op::AllEq => found
                .iter()
                .filter(|f| !json_eq(&f.value, expected_ref))
                .collect(),
            Op::AllIn => found
                .iter()
                .filter(|f| !in_list(&f.value, expected_ref))
                .collect(),
            Op::NoneEq => found
                .iter()
                .filter(|f| json_eq(&f.value, expected_ref))
                .collect(),
            _ => Vec::new(),
        };
        let n = expected_ref.as_u64().unwrap_or(0) as usize;
        let ok = match op {
            Op::AllEq | Op::AllIn | Op::NoneEq => failing.is_empty(),
            Op::AnyEq => found.iter().any(|f| json_eq(&f.value, expected_ref)),
            Op::CountEq => count == n,
            Op::CountGte => count >= n,
            _ => count <= n,
        };
        if ok {
            return Ok(None);
        }
        let phrase = match op {
            Op::AllEq => format!("every value must equal {}", shown()),
            Op::AllIn => format!("every value must be one of {}", shown()),
            Op::NoneEq => format!("no value may equal {}", shown()),
            Op::AnyEq => format!("some value must equal {}", shown()),
            Op::CountEq => format!("there must be exactly {n} values"),
            Op::CountGte => format!("there must be at least {n} values"),
            _ => format!("there must be at most {n} values"),
        };
        let mut message = format!("`{path}`: {phrase}");
        if failing.is_empty() {
            message.push_str(&format!(", but there are {count}"));
        } else {
            let listed: Vec<String> = failing
                .iter()
                .take(5)
                .map(|f| match f.item {
                    Some(id) => format!("{id} ({})", describe_value(&f.value, false)),
                    None => describe_value(&f.value, false),
                })
                .collect();
            let more = failing.len().saturating_sub(listed.len());
            message.push_str(&format!(
                "; {} of {count} do not: {}{}",
                failing.len(),
                listed.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        let failing_json: Vec<Value> = failing
            .iter()
            .map(|f| match f.item {
                Some(id) => json!({ "item": id, "value": &*f.value }),
                None => json!({ "value": &*f.value }),
            })
            .collect();
        let items = failing.iter().filter_map(|f| f.item).collect();
        Ok(Some(Failure {
            message,
            details: json!({
                "path": path.as_str(),
                "op": op.name(),
                "expected": expected_ref,
                "count": count,
                "failing": failing_json,
            }),
            items,
            unknown: false,
        }))
    }

    /// A comparison of one value (not an expansion); `None` when it holds.
    fn compare_one(
        &self,
        path: &Path,
        op: Op,
        operand: &Operand,
        actual: Option<&Value>,
        expected: Option<&Value>,
    ) -> Option<Failure> {
        let expected_ref = expected.unwrap_or(&Value::Null);
        let shown = || describe_operand(operand, expected_ref, path.is_duration());
        let actual = actual.unwrap_or(&Value::Null);
        let ok = match op {
            Op::Exists => !actual.is_null(),
            Op::NotExists => actual.is_null(),
            Op::Eq => json_eq(actual, expected_ref),
            Op::Ne => !json_eq(actual, expected_ref),
            Op::Lt | Op::Lte | Op::Gt | Op::Gte => {
                json_cmp(actual, expected_ref).is_some_and(|o| match op {
                    Op::Lt => o == Ordering::Less,
                    Op::Lte => o != Ordering::Greater,
                    Op::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                })
            }
            Op::In => in_list(actual, expected_ref),
            _ => !in_list(actual, expected_ref),
        };
        if ok {
            return None;
        }
        // Messages are made only for assertions that fail.
        let phrase = match op {
            Op::Exists => "must be present".to_owned(),
            Op::NotExists => "must be absent".to_owned(),
            Op::Eq => format!("must equal {}", shown()),
            Op::Ne => format!("must not equal {}", shown()),
            Op::Lt => format!("must be less than {}", shown()),
            Op::Lte => format!("must be at most {}", shown()),
            Op::Gt => format!("must be greater than {}", shown()),
            Op::Gte => format!("must be at least {}", shown()),
            Op::In => format!("must be one of {}", shown()),
            _ => format!("must not be one of {}", shown()),
        };
        let actual_text = describe_value(actual, path.is_duration());
        Some(Failure {
            message: format!("`{path}` {phrase}, but it is {actual_text}"),
            details: json!({
                "path": path.as_str(),
                "op": op.name(),
                "expected": expected_ref,
                "actual": actual,
            }),
            items: Vec::new(),
            unknown: false,
        })
    }
}
fn combine(what: &str, failed: Vec<(&Assertion, Failure)>) -> Failure {
    let parts: Vec<String> = failed
        .iter()
        .map(|(a, f)| format!("[{}] {}", a.id, f.message))
        .collect();
    let details: Vec<Value> = failed
        .iter()
        .map(|(a, f)| json!({ "id": a.id, "message": f.message, "details": f.details }))
        .collect();
    // Unknown only when every member left is: a member that surely fails decides.
    let unknown = failed.iter().all(|(_, f)| f.unknown);
    let items = failed.into_iter().flat_map(|(_, f)| f.items).collect();
    Failure {
        message: format!("{what} these must hold: {}", parts.join("; ")),
        details: json!({ "failed": details }),
        items,
        unknown,
    }
}

/// Equality with numbers compared by value.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Order between two numbers or two strings; `None` otherwise.
fn json_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                Some(x.cmp(&y))
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                Some(x.cmp(&y))
            } else {
                x.as_f64()?.partial_cmp(&y.as_f64()?)
            }
        }
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn in_list(value: &Value, list: &Value) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|v| json_eq(value, v)))
}

fn describe_operand(operand: &Operand, value: &Value, duration: bool) -> String {
    match operand {
        Operand::From(path) => format!("`{path}` ({})", describe_value(value, duration)),
        _ => describe_value(value, duration),
    }
}

fn describe_value(value: &Value, duration: bool) -> String {
    match value {
        Value::Null => "absent".to_owned(),
        Value::Number(n) if duration => n.as_u64().map_or_else(|| n.to_string(), format_seconds),
        other => crate::canonical_json(other),
    }
}

/// `90061` → `1d1h1m1s`.
pub(crate) fn format_seconds(mut secs: u64) -> String {
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::paths::walk;
    use super::*;
    use crate::assertion::Step;

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(&json!({"a": [1]}), &json!({"a": [1.0]})));
        assert!(!json_eq(&json!(1), &json!("1")));
        assert_eq!(json_cmp(&json!(2), &json!(10.5)), Some(Ordering::Less));
        assert_eq!(json_cmp(&json!("b"), &json!("a")), Some(Ordering::Greater));
        assert_eq!(json_cmp(&json!("1"), &json!(1)), None);
        assert_eq!(json_cmp(&Value::Null, &json!(1)), None);
    }

    #[test]
    fn walks_expansions_and_indexes() {
        let v = json!({"a": [{"h": "x"}, {"h": "y"}, {"k": 1}], "b": {"c": 2}});
        let mut out = Vec::new();
        let steps = |s: &str| -> Vec<Step> {
            s.split('.')
                .map(|p| {
                    if p == "*" {
                        Step::Each
                    } else {
                        Step::Key(p.to_owned())
                    }
                })
                .collect()
        };
        walk(&v, &steps("a.*.h"), None, &mut out);
        let got: Vec<&Value> = out.iter().map(|f| &*f.value).collect();
        assert_eq!(got, [&json!("x"), &json!("y")]);
        out.clear();
        walk(&v, &steps("a.1.h"), None, &mut out);
        assert_eq!(out.len(), 1);
        out.clear();
        walk(&v, &steps("b.c.d"), None, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn formats_seconds() {
        assert_eq!(format_seconds(90_061), "1d1h1m1s");
        assert_eq!(format_seconds(7 * 86_400), "7d");
        assert_eq!(format_seconds(0), "0s");
    }
}
