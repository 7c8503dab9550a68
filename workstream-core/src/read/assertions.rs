//! Assertions: `check`, `assert` with its op and value, and `all`/`any`/`not`.

use super::{ASSERTION_KEYS, RawAssertion, RawKind, TreeReader};
use crate::diagnostic::Code;
use crate::yaml::{Kind, Node};

impl TreeReader<'_, '_> {
    /// Reads a list of assertions; `place` names the list for derived ids (`submitted.exit`).
    pub(super) fn assertions(&mut self, node: Option<&Node>, place: &str) -> Vec<RawAssertion> {
        let Some(node) = node else {
            return Vec::new();
        };
        match &node.kind {
            Kind::Null => Vec::new(),
            Kind::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.assertion(item, &format!("{place}.{i}")))
                .collect(),
            _ => {
                self.wrong_kind(node, &format!("`{place}`"), "a list of assertions");
                self.gaps.uses = true;
                Vec::new()
            }
        }
    }

    /// Reads one assertion; one that does not read is [`RawKind::Invalid`], and what it
    /// would have used is unknown.
    pub(super) fn assertion(&mut self, node: &Node, place: &str) -> RawAssertion {
        let raw = self.read_assertion(node, place);
        if matches!(raw.kind, RawKind::Invalid) {
            self.gaps.uses = true;
        }
        raw
    }

    pub(super) fn read_assertion(&mut self, node: &Node, place: &str) -> RawAssertion {
        let mut raw = RawAssertion {
            id: None,
            message: None,
            span: node.span,
            kind: RawKind::Invalid,
        };
        let Some(f) = self.fields(node, &format!("assertion `{place}`"), ASSERTION_KEYS) else {
            return raw;
        };
        raw.id = f.get("id").and_then(|n| self.string(n, "`id`"));
        raw.message = f
            .get("message")
            .and_then(|n| self.string(n, "`message`"))
            .map(|n| n.value);
        const FORMS: [&str; 5] = ["check", "assert", "all", "any", "not"];
        let forms: Vec<&str> = FORMS.into_iter().filter(|k| f.get(k).is_some()).collect();
        // A misspelt form, op or value is already reported, and the assertion is unknown.
        if ["op", "value", "value_from"]
            .into_iter()
            .chain(FORMS)
            .any(|k| f.unread(k))
        {
            return raw;
        }
        if forms.len() != 1 {
            let message = if forms.is_empty() {
                "an assertion has one of `check`, `assert`, `all`, `any` or `not`".to_owned()
            } else {
                format!(
                    "an assertion has exactly one of `check`, `assert`, `all`, `any` or `not`, \
                     not {}",
                    forms
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                )
            };
            self.sink.push(Code::InvalidAssertion, node.span, message);
            return raw;
        }
        if forms[0] != "assert" {
            for key in ["op", "value", "value_from"] {
                if let Some(span) = f.key_span(key) {
                    self.sink.push(
                        Code::InvalidAssertion,
                        span,
                        format!(
                            "`{key}` belongs to an `assert` assertion, not a `{}`",
                            forms[0]
                        ),
                    );
                }
            }
        }
        raw.kind = match forms[0] {
            "check" => match f.get("check").and_then(|n| self.string(n, "`check`")) {
                Some(name) => RawKind::Check(name),
                None => RawKind::Invalid,
            },
            "assert" => {
                let path = f.get("assert").and_then(|n| self.string(n, "`assert`"));
                let op = match f.get("op") {
                    Some(n) => self.string(n, "`op`"),
                    None => {
                        self.sink.push(
                            Code::MissingKey,
                            f.key_span("assert").unwrap_or(node.span),
                            "an `assert` assertion needs an `op` (exists, eq, all_in, ...)",
                        );
                        None
                    }
                };
                let value_from = f
                    .get("value_from")
                    .and_then(|n| self.string(n, "`value_from`"));
                match (path, op) {
                    (Some(path), Some(op)) => RawKind::Compare {
                        path,
                        op,
                        value: f.get("value").cloned(),
                        value_from,
                    },
                    _ => RawKind::Invalid,
                }
            }
            "all" | "any" => {
                let key = forms[0];
                let list = f.get(key).unwrap_or(node);
                let members = match &list.kind {
                    Kind::Seq(items) if !items.is_empty() => items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| self.assertion(item, &format!("{place}.{i}")))
                        .collect(),
                    Kind::Seq(_) => {
                        self.sink.push(
                            Code::InvalidAssertion,
                            list.span,
                            format!("`{key}` needs at least one assertion"),
                        );
                        return raw;
                    }
                    _ => {
                        self.wrong_kind(list, &format!("`{key}`"), "a list of assertions");
                        return raw;
                    }
                };
                if key == "all" {
                    RawKind::All(members)
                } else {
                    RawKind::Any(members)
                }
            }
            _ => {
                let inner = f.get("not").unwrap_or(node);
                RawKind::Not(Box::new(self.assertion(inner, &format!("{place}.0"))))
            }
        };
        raw
    }
}
