//! The second stage: the YAML node tree to a raw definition, still written in names.
//!
//! This stage knows the shape of format v1: which keys each map may have, which are required
//! and what kind of value each takes. It reports every unknown key (with a suggestion), every
//! missing key and every value of the wrong kind, and keeps going so that one run finds them
//! all. What could not be read is recorded in [`Gaps`], so that validation can tell "unknown"
//! from "absent". Names are not resolved here; [`crate::validate`] does that.

use std::time::Duration;

use crate::diagnostic::{Code, Sink, Span};
use crate::duration::parse_duration;
use crate::name::closest;
use crate::yaml::{Key, Kind, Node};

mod assertions;
mod migrations;
mod raw;
mod transitions;
mod workstations;

pub(crate) use raw::{
    Gaps, Named, RawAssertion, RawFrom, RawKind, RawMigration, RawSignals, RawTransition, RawWip,
    RawWorkflow, RawWorkstation,
};

/// The entries of a YAML map whose keys have been checked against the keys its place allows.
pub(super) struct Fields<'n> {
    entries: Vec<(&'n Key, &'n Node)>,
    /// Known keys whose value as written was not read: an unknown key is a likely
    /// misspelling of one, or it is repeated. What they say is unknown, not absent.
    unread: Vec<&'static str>,
}

impl<'n> Fields<'n> {
    pub(super) fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| *v)
    }

    pub(super) fn key_span(&self, key: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, _)| k.span)
    }

    /// Whether a value written for `key` was not read (see [`Fields::unread`]).
    pub(super) fn unread(&self, key: &str) -> bool {
        self.unread.contains(&key)
    }
}

pub(crate) struct TreeReader<'s, 'a> {
    sink: &'s mut Sink<'a>,
    gaps: Gaps,
}

const TOP_KEYS: &[&str] = &[
    "workflow",
    "version",
    "description",
    "roles",
    "checks",
    "holds",
    "workstations",
    "transitions",
    "signals",
    "migrations",
];
const MIGRATION_KEYS: &[&str] = &[
    "from",
    "description",
    "by",
    "workstations",
    "holds",
    "reopen",
    "restart",
];
const WORKSTATION_KEYS: &[&str] = &[
    "description",
    "initial",
    "terminal",
    "outcome",
    "entry",
    "exit",
    "wip",
    "sla",
];
const TRANSITION_KEYS: &[&str] = &[
    "description",
    "from",
    "to",
    "by",
    "requires",
    "rework",
    "outcome",
    "allow_held",
];
const WIP_KEYS: &[&str] = &["max", "per", "soft"];
const SIGNAL_KEYS: &[&str] = &["stalled", "oldies"];
const ASSERTION_KEYS: &[&str] = &[
    "check",
    "assert",
    "all",
    "any",
    "not",
    "op",
    "value",
    "value_from",
    "id",
    "message",
];

impl<'s, 'a> TreeReader<'s, 'a> {
    pub(crate) fn new(sink: &'s mut Sink<'a>) -> Self {
        Self {
            sink,
            gaps: Gaps::default(),
        }
    }

    /// Reads the whole file.
    pub(crate) fn workflow(&mut self, root: &Node) -> RawWorkflow {
        let mut raw = RawWorkflow::default();
        self.top(root, &mut raw);
        raw.gaps = self.gaps;
        raw
    }

    fn top(&mut self, root: &Node, raw: &mut RawWorkflow) {
        if root.kind == Kind::Null {
            self.sink.push(
                Code::MissingKey,
                Span::new(1, 1, 1),
                "the file is empty: a workflow file is a map with `workflow`, `version`, \
                 `workstations` and `transitions`",
            );
            self.gaps = Gaps::ALL;
            return;
        }
        let Some(top) = self.fields(root, "the workflow file", TOP_KEYS) else {
            self.gaps = Gaps::ALL;
            return;
        };
        // A missing key is reported where the map of keys starts (after leading comments).
        for required in ["workflow", "version", "workstations", "transitions"] {
            if top.get(required).is_none() {
                self.sink.push(
                    Code::MissingKey,
                    root.span,
                    format!("the workflow file has no `{required}`"),
                );
            }
        }
        raw.name = top
            .get("workflow")
            .and_then(|n| self.string(n, "`workflow`"));
        if let Some(node) = top.get("version") {
            raw.version = match node.kind {
                Kind::Int(v) if v >= 1 && v <= i64::from(u32::MAX) => Some(v as u32),
                _ => {
                    self.sink.push(
                        Code::InvalidVersion,
                        node.span,
                        format!(
                            "`version` is a positive integer (1, 2, ...), not {}",
                            describe_value(node)
                        ),
                    );
                    None
                }
            };
        }
        raw.description = top
            .get("description")
            .and_then(|n| self.string(n, "`description`"))
            .map(|n| n.value);
        (raw.roles, self.gaps.roles) = self.declared(&top, "roles");
        (raw.checks, self.gaps.checks) = self.declared(&top, "checks");
        (raw.holds, self.gaps.holds) = self.declared(&top, "holds");
        if let Some(span) = top.key_span("workstations") {
            raw.workstations_span = span;
        }
        let workstations = top.get("workstations").and_then(|node| {
            self.entries(node, "`workstations`", |r, key, value| {
                r.workstation(key, value)
            })
        });
        match workstations {
            Some(workstations) => raw.workstations = workstations,
            // Their names are unknown, and so are their entry and exit assertions.
            None => {
                self.gaps.workstations = true;
                self.gaps.uses = true;
            }
        }
        let transitions = top.get("transitions").and_then(|node| {
            self.entries(node, "`transitions`", |r, key, value| {
                r.transition(key, value)
            })
        });
        match transitions {
            Some(transitions) => raw.transitions = transitions,
            None => {
                self.gaps.edges = true;
                self.gaps.uses = true;
            }
        }
        if let Some(node) = top.get("signals") {
            raw.signals = self.signals(node);
        }
        if let Some(node) = top.get("migrations") {
            raw.migrations = self.migrations(node);
        }
    }

    /// Reads a declared list of names (`roles`, `checks`, `holds`); the flag tells whether
    /// some of what was written there is unknown.
    pub(super) fn declared(&mut self, top: &Fields<'_>, key: &str) -> (Vec<Named>, bool) {
        let (names, complete) = self.names(top.get(key), &format!("`{key}`"));
        (names, !complete || top.unread(key))
    }

    /// Reads a map of named entries (`workstations`, `transitions`) in file order; `None`
    /// (reported) when the value is not a map.
    pub(super) fn entries<T>(
        &mut self,
        node: &Node,
        what: &str,
        mut read: impl FnMut(&mut Self, &Key, &Node) -> T,
    ) -> Option<Vec<T>> {
        match &node.kind {
            Kind::Map(entries) => Some(entries.iter().map(|(k, v)| read(self, k, v)).collect()),
            _ => {
                self.wrong_kind(node, what, "a map from names to definitions");
                None
            }
        }
    }

    fn signals(&mut self, node: &Node) -> RawSignals {
        let mut signals = RawSignals::default();
        let Some(f) = self.fields(node, "`signals`", SIGNAL_KEYS) else {
            return signals;
        };
        if let Some(n) = f.get("stalled")
            && let Some(g) = self.fields(n, "`signals.stalled`", &["idle_for"])
        {
            signals.stalled_idle_for = g
                .get("idle_for")
                .and_then(|d| self.duration(d, "`stalled.idle_for`"));
        }
        if let Some(n) = f.get("oldies")
            && let Some(g) = self.fields(n, "`signals.oldies`", &["age"])
        {
            signals.oldies_age = g.get("age").and_then(|d| self.duration(d, "`oldies.age`"));
        }
        signals
    }

    // ---- small readers ---------------------------------------------------------------

    /// Checks that `node` is a map and that its keys are among `known`; reports unknown and
    /// repeated keys, and notes which known keys they stand for.
    pub(super) fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        known: &[&'static str],
    ) -> Option<Fields<'n>> {
        let Kind::Map(entries) = &node.kind else {
            self.wrong_kind(node, what, "a map");
            return None;
        };
        let mut kept: Vec<(&'n Key, &'n Node)> = Vec::with_capacity(entries.len());
        let mut unread: Vec<&'static str> = Vec::new();
        for (key, value) in entries {
            let Some(&known_key) = known.iter().find(|k| **k == key.name) else {
                let meant = closest(&key.name, known.iter().copied());
                unread.extend(meant);
                self.sink.push_help(
                    Code::UnknownKey,
                    key.span,
                    format!("{what} has no key `{}`", key.name),
                    meant.map(|m| format!("did you mean `{m}`?")).or_else(|| {
                        Some(format!(
                            "the keys here are {}",
                            known
                                .iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    }),
                );
                continue;
            };
            if kept.iter().any(|(k, _)| k.name == key.name) {
                self.sink.push(
                    Code::DuplicateName,
                    key.span,
                    format!("`{}` is given twice in {what}", key.name),
                );
                unread.push(known_key);
            } else {
                kept.push((key, value));
            }
        }
        Some(Fields {
            entries: kept,
            unread,
        })
    }

    pub(super) fn string(&mut self, node: &Node, what: &str) -> Option<Named> {
        match &node.kind {
            Kind::Str(s) => Some(Named {
                value: s.clone(),
                span: node.span,
            }),
            _ => {
                self.wrong_kind(node, what, "a string");
                None
            }
        }
    }

    /// Reads a list of names (`roles`, `by`, `from`); a missing list is empty. Also tells
    /// whether the list read in full: when not, the names returned are only those that did.
    pub(super) fn names(&mut self, node: Option<&Node>, what: &str) -> (Vec<Named>, bool) {
        let Some(node) = node else {
            return (Vec::new(), true);
        };
        match &node.kind {
            Kind::Null => (Vec::new(), true),
            Kind::Seq(items) => {
                let names: Vec<Named> = items.iter().filter_map(|n| self.string(n, what)).collect();
                let complete = names.len() == items.len();
                (names, complete)
            }
            _ => {
                self.wrong_kind(node, what, "a list of names");
                (Vec::new(), false)
            }
        }
    }

    /// Reads `true` or `false`; a missing flag is `false`, and `None` (reported) means the
    /// value is not a boolean, so the flag is unknown.
    pub(super) fn flag(&mut self, node: Option<&Node>, what: &str) -> Option<bool> {
        match node.map(|n| (n, &n.kind)) {
            None => Some(false),
            Some((_, Kind::Bool(b))) => Some(*b),
            Some((n, _)) => {
                self.wrong_kind(n, what, "`true` or `false`");
                None
            }
        }
    }

    pub(super) fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let text = match &node.kind {
            Kind::Str(s) => s.clone(),
            Kind::Int(i) => i.to_string(),
            _ => {
                self.wrong_kind(node, what, "a duration such as `24h` or `7d`");
                return None;
            }
        };
        match parse_duration(&text) {
            Ok(d) => Some(d),
            Err(message) => {
                self.sink.push(
                    Code::InvalidDuration,
                    node.span,
                    format!("{what}: {message}"),
                );
                None
            }
        }
    }

    pub(super) fn wrong_kind(&mut self, node: &Node, what: &str, expected: &str) {
        self.sink.push(
            Code::InvalidType,
            node.span,
            format!("{what} is {expected}, not {}", describe_value(node)),
        );
    }
}

pub(super) fn named(key: &Key) -> Named {
    Named {
        value: key.name.clone(),
        span: key.span,
    }
}

/// Describes a value for a message: its kind, and the value itself when it is short.
pub(crate) fn describe_value(node: &Node) -> String {
    match &node.kind {
        Kind::Bool(b) => format!("the boolean `{b}`"),
        Kind::Int(i) => format!("the integer `{i}`"),
        Kind::Float(x) => format!("the number `{x}`"),
        Kind::Str(s) if s.chars().count() <= 40 => format!("the string `{s}`"),
        other => other.describe().to_owned(),
    }
}
