//! Assertions: ids, checks, paths and ops that fit them, and values that fit the ops.

use serde_json::Value;

use super::Validator;
use crate::assertion::{Assertion, AssertionKind, Op, Operand, Path, Root, Wants};
use crate::diagnostic::{Code, Span};
use crate::name::closest;
use crate::name::did_you_mean;
use crate::read::{Named, RawAssertion, RawKind};
use crate::yaml::{Kind, Node};

impl Validator<'_, '_> {
    /// An unnamed `{ check: x }` is named `x`, so no other assertion may be given the id `x`:
    /// a refusal naming `x` could not say which of the two failed.
    pub(super) fn check_ids_are_distinct(&mut self) {
        let mut clashes: Vec<(Span, String, Span)> = self
            .assertion_ids
            .iter()
            .filter(|(id, _)| !self.ids_of_checks.contains(*id))
            .filter_map(|(id, &span)| {
                let check = *self.unnamed_checks.get(id)?;
                Some((span, id.clone(), check))
            })
            .collect();
        clashes.sort_by_key(|&(span, ..)| (span.line, span.column));
        for (span, id, check) in clashes {
            self.sink.push(
                Code::DuplicateName,
                span,
                format!(
                    "assertion id `{id}` is also the id of the unnamed `check: {id}` at line {}, \
                     column {}; give one of them another id",
                    check.line, check.column
                ),
            );
        }
    }

    pub(super) fn assertions(&mut self, raw: &[RawAssertion], place: &str) -> Vec<Assertion> {
        raw.iter()
            .enumerate()
            .filter_map(|(i, a)| self.assertion(a, &format!("{place}.{i}")))
            .collect()
    }

    pub(super) fn assertion(&mut self, raw: &RawAssertion, place: &str) -> Option<Assertion> {
        let id = match &raw.id {
            Some(id) => {
                if self.check_name(id, "assertion id") {
                    if let Some(first) = self.assertion_ids.get(&id.value).copied() {
                        self.duplicate(id, "assertion id", first);
                    } else {
                        self.assertion_ids.insert(id.value.clone(), id.span);
                    }
                }
                if matches!(&raw.kind, RawKind::Check(name) if name.value == id.value) {
                    self.ids_of_checks.insert(id.value.clone());
                }
                id.value.clone()
            }
            // An unnamed check is named after the check: a refusal says `within_budget`,
            // wherever the check is asserted.
            None => match &raw.kind {
                RawKind::Check(name) => {
                    // A check that is not declared is reported as such, and only that.
                    if self.checks.contains(&name.value) {
                        self.unnamed_checks
                            .entry(name.value.clone())
                            .or_insert(name.span);
                    }
                    name.value.clone()
                }
                _ => place.to_owned(),
            },
        };
        let kind = match &raw.kind {
            RawKind::Invalid => return None,
            RawKind::Check(name) => {
                self.used_checks.insert(name.value.clone());
                if !self.checks.contains(&name.value) {
                    if self.gaps.checks {
                        return None;
                    }
                    let meant = closest(&name.value, self.checks.iter().map(String::as_str))
                        .map(str::to_owned);
                    self.sink.push_help(
                        Code::UnknownCheck,
                        name.span,
                        format!("check `{}` is not listed under `checks`", name.value),
                        meant.as_ref().map(|m| format!("did you mean `{m}`?")),
                    );
                    self.used_checks.extend(meant);
                    return None;
                }
                AssertionKind::Check(name.value.clone())
            }
            RawKind::Compare {
                path,
                op,
                value,
                value_from,
            } => {
                let compared = self.compare(raw, path, op, value.as_ref(), value_from.as_ref());
                // A comparison that failed may not have looked at its value, which can name
                // roles: which roles it uses is unknown.
                self.gaps.uses |= compared.is_none();
                compared?
            }
            RawKind::All(members) => AssertionKind::All(self.members(members, &id)?),
            RawKind::Any(members) => AssertionKind::Any(self.members(members, &id)?),
            RawKind::Not(member) => {
                AssertionKind::Not(Box::new(self.assertion(member, &format!("{id}.0"))?))
            }
        };
        let hashed_id = if raw.id.is_none() && matches!(kind, AssertionKind::Check(_)) {
            place.to_owned()
        } else {
            id.clone()
        };
        Some(Assertion {
            id,
            hashed_id,
            message: raw.message.clone(),
            kind,
            span: raw.span,
        })
    }

    fn members(&mut self, raw: &[RawAssertion], parent: &str) -> Option<Vec<Assertion>> {
        let members: Vec<Option<Assertion>> = raw
            .iter()
            .enumerate()
            .map(|(i, a)| self.assertion(a, &format!("{parent}.{i}")))
            .collect();
        members.into_iter().collect()
    }

    fn compare(
        &mut self,
        raw: &RawAssertion,
        path_text: &Named,
        op_text: &Named,
        value: Option<&Node>,
        value_from: Option<&Named>,
    ) -> Option<AssertionKind> {
        let path = match Path::parse(&path_text.value) {
            Ok(p) => Some(p),
            Err((message, help)) => {
                self.sink
                    .push_help(Code::InvalidPath, path_text.span, message, help);
                None
            }
        };
        let op = Op::from_name(&op_text.value);
        if op.is_none() {
            self.sink.push_help(
                Code::UnknownOp,
                op_text.span,
                format!("`{}` is not an op", op_text.value),
                did_you_mean(&op_text.value, Op::ALL.iter().map(|o| o.name())),
            );
        }
        let (path, op) = (path?, op?);
        if op.over_expansion() != path.is_expansion() {
            let message = if op.over_expansion() {
                format!(
                    "`{op}` works on a list of values, but `{path}` is one value (expand a list \
                     with `*`, or use eq, ne, in, ...)"
                )
            } else {
                format!(
                    "`{op}` compares one value, but `{path}` yields a list (use all_eq, any_eq, \
                     none_eq, all_in or count_*)"
                )
            };
            self.sink.push(Code::OpMismatch, op_text.span, message);
            return None;
        }
        let operand = match (op.wants(), value, value_from) {
            (Wants::Nothing, None, None) => Operand::None,
            (Wants::Nothing, _, _) => {
                self.sink.push(
                    Code::InvalidValue,
                    value.map_or_else(|| value_from.map_or(raw.span, |f| f.span), |n| n.span),
                    format!("`{op}` takes no `value` or `value_from`"),
                );
                return None;
            }
            (_, None, None) => {
                self.sink.push(
                    Code::InvalidValue,
                    op_text.span,
                    format!("`{op}` needs a `value` or a `value_from`"),
                );
                return None;
            }
            (_, Some(node), Some(_)) => {
                self.sink.push(
                    Code::InvalidValue,
                    node.span,
                    "give `value` or `value_from`, not both",
                );
                return None;
            }
            (_, None, Some(from)) => match Path::parse(&from.value) {
                Ok(p) if !p.is_expansion() => Operand::From(p),
                Ok(_) => {
                    self.sink.push(
                        Code::UnresolvableValueFrom,
                        from.span,
                        format!(
                            "`value_from: {}` yields a list; it must name a single value",
                            from.value
                        ),
                    );
                    return None;
                }
                Err((message, help)) => {
                    self.sink.push_help(
                        Code::UnresolvableValueFrom,
                        from.span,
                        format!("`value_from` cannot resolve: {message}"),
                        help,
                    );
                    return None;
                }
            },
            (wants, Some(node), None) => Operand::Value(self.value(&path, op, wants, node)?),
        };
        Some(AssertionKind::Compare { path, op, operand })
    }

    /// Checks a literal `value` against what the op and the path need.
    fn value(&mut self, path: &Path, op: Op, wants: Wants, node: &Node) -> Option<Value> {
        let bad = |v: &mut Self, what: &str| {
            v.sink.push(
                Code::InvalidValue,
                node.span,
                format!(
                    "`{op}` needs {what}, not {}",
                    crate::read::describe_value(node)
                ),
            );
        };
        match (wants, &node.kind) {
            (Wants::List, Kind::Seq(_)) => {}
            (Wants::List, _) => {
                bad(self, "a list of values");
                return None;
            }
            (Wants::Count, Kind::Int(n)) if *n >= 0 => return Some(node.to_json()),
            (Wants::Count, _) => {
                bad(self, "a count (a non-negative integer)");
                return None;
            }
            (Wants::Ordered, Kind::Int(_) | Kind::Float(_) | Kind::Str(_)) => {}
            (Wants::Ordered, _) => {
                bad(self, "a number, a string or a duration");
                return None;
            }
            (Wants::Any, Kind::Map(_)) => {
                bad(self, "a value or a list");
                return None;
            }
            _ => {}
        }
        if path.is_duration() {
            let Kind::Str(text) = &node.kind else {
                bad(self, &format!("a duration for `{path}` (e.g. `7d`)"));
                return None;
            };
            return match crate::duration::parse_duration(text) {
                Ok(d) => Some(Value::from(d.as_secs())),
                Err(message) => {
                    self.sink.push(Code::InvalidDuration, node.span, message);
                    None
                }
            };
        }
        // Values that must name something the file declares.
        let items: Vec<&Node> = match &node.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let mut ok = true;
        match (path.root(), path.attr()) {
            (Root::Item, Some("workstation")) => {
                for item in items {
                    if let Kind::Str(s) = &item.kind {
                        let named = Named {
                            value: s.clone(),
                            span: item.span,
                        };
                        ok &= self.workstation(&named).is_some();
                    }
                }
            }
            (Root::Item, Some("holds")) => {
                for item in items {
                    if let Kind::Str(s) = &item.kind
                        && !self.holds.contains(s)
                        && !self.gaps.holds
                    {
                        self.sink.push_help(
                            Code::UnknownHold,
                            item.span,
                            format!("hold `{s}` is not listed under `holds`"),
                            did_you_mean(s, self.holds.iter().map(String::as_str)),
                        );
                        ok = false;
                    }
                }
            }
            (Root::Actor, Some("roles")) => {
                for item in items {
                    if let Kind::Str(s) = &item.kind {
                        let named = Named {
                            value: s.clone(),
                            span: item.span,
                        };
                        ok &= self.role(&named);
                    }
                }
            }
            (Root::Item, Some("outcome")) => {
                for item in items {
                    if let Kind::Str(s) = &item.kind {
                        let named = Named {
                            value: s.clone(),
                            span: item.span,
                        };
                        ok &= self.outcome(&named).is_some();
                    }
                }
            }
            _ => {}
        }
        ok.then(|| node.to_json())
    }
}
