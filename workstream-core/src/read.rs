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

/// A string with the position it was written at.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Named {
    pub(crate) value: String,
    pub(crate) span: Span,
}

/// What the file says that could not be read: a value of the wrong kind, a missing required
/// key, or a key misspelt so that it was not recognised. Each is reported where it is found;
/// validation then treats what it would have said as unknown (never as empty or absent) and
/// skips the rules that depend on it, so one mistake gives one diagnostic.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Gaps {
    /// `roles` did not read in full: any role may be declared.
    pub(crate) roles: bool,
    /// `checks` did not read in full: any check may be declared.
    pub(crate) checks: bool,
    /// `holds` did not read in full: any hold may be declared.
    pub(crate) holds: bool,
    /// `workstations` is missing or not a map: any workstation may be declared.
    pub(crate) workstations: bool,
    /// Some workstation's `initial` is unknown.
    pub(crate) initial: bool,
    /// Some workstation's `terminal` is unknown.
    pub(crate) terminal: bool,
    /// Some transition's sources or target are unknown: the graph is not known in full.
    pub(crate) edges: bool,
    /// Some `by` or assertion is unknown: a role or check may be used where it cannot be seen.
    pub(crate) uses: bool,
}

impl Gaps {
    /// Nothing is known: the file is not a map of keys.
    const ALL: Gaps = Gaps {
        roles: true,
        checks: true,
        holds: true,
        workstations: true,
        initial: true,
        terminal: true,
        edges: true,
        uses: true,
    };

    /// Whether the graph of workstations and transitions is known in full, so that graph
    /// rules (reachability, a path to a terminal workstation) can be checked on it.
    pub(crate) fn graph_known(&self) -> bool {
        !(self.workstations || self.initial || self.terminal || self.edges)
    }
}

#[derive(Debug, Default)]
pub(crate) struct RawWorkflow {
    pub(crate) name: Option<Named>,
    pub(crate) version: Option<u32>,
    pub(crate) description: Option<String>,
    pub(crate) roles: Vec<Named>,
    pub(crate) checks: Vec<Named>,
    pub(crate) holds: Vec<Named>,
    pub(crate) workstations: Vec<RawWorkstation>,
    pub(crate) workstations_span: Span,
    pub(crate) transitions: Vec<RawTransition>,
    pub(crate) signals: RawSignals,
    pub(crate) gaps: Gaps,
}

#[derive(Debug, Default)]
pub(crate) struct RawSignals {
    pub(crate) stalled_idle_for: Option<Duration>,
    pub(crate) oldies_age: Option<Duration>,
}

#[derive(Debug)]
pub(crate) struct RawWorkstation {
    pub(crate) name: Named,
    pub(crate) description: Option<String>,
    pub(crate) initial: Option<Span>,
    /// `None` when `terminal` did not read: whether the workstation is terminal is unknown.
    pub(crate) terminal: Option<bool>,
    pub(crate) outcome: Option<Named>,
    pub(crate) entry: Vec<RawAssertion>,
    pub(crate) exit: Vec<RawAssertion>,
    pub(crate) wip: Option<RawWip>,
    pub(crate) sla: Option<Duration>,
}

#[derive(Debug)]
pub(crate) struct RawWip {
    pub(crate) max: Option<u32>,
    pub(crate) per: Option<Named>,
    pub(crate) soft: bool,
}

#[derive(Debug)]
pub(crate) struct RawTransition {
    pub(crate) name: Named,
    pub(crate) description: Option<String>,
    pub(crate) from: RawFrom,
    pub(crate) to: Option<Named>,
    pub(crate) by: Option<Vec<Named>>,
    /// Whether every entry of `by` read; when not, an empty list is not an empty `by`.
    pub(crate) by_complete: bool,
    pub(crate) by_span: Span,
    pub(crate) requires: Vec<RawAssertion>,
    pub(crate) rework: bool,
    pub(crate) outcome: Option<Named>,
    pub(crate) allow_held: bool,
}

#[derive(Debug)]
pub(crate) enum RawFrom {
    /// `"*"`: every non-terminal workstation.
    Every,
    /// Named workstations (empty when `from` was missing or unreadable).
    Names(Vec<Named>),
}

#[derive(Debug)]
pub(crate) struct RawAssertion {
    pub(crate) id: Option<Named>,
    pub(crate) message: Option<String>,
    pub(crate) span: Span,
    pub(crate) kind: RawKind,
}

#[derive(Debug)]
pub(crate) enum RawKind {
    Check(Named),
    Compare {
        path: Named,
        op: Named,
        value: Option<Node>,
        value_from: Option<Named>,
    },
    All(Vec<RawAssertion>),
    Any(Vec<RawAssertion>),
    Not(Box<RawAssertion>),
    /// Already reported; validation skips it.
    Invalid,
}

/// The entries of a YAML map whose keys have been checked against the keys its place allows.
struct Fields<'n> {
    entries: Vec<(&'n Key, &'n Node)>,
    /// Known keys whose value as written was not read: an unknown key is a likely
    /// misspelling of one, or it is repeated. What they say is unknown, not absent.
    unread: Vec<&'static str>,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| *v)
    }

    fn key_span(&self, key: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, _)| k.span)
    }

    /// Whether a value written for `key` was not read (see [`Fields::unread`]).
    fn unread(&self, key: &str) -> bool {
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
    }

    /// Reads a declared list of names (`roles`, `checks`, `holds`); the flag tells whether
    /// some of what was written there is unknown.
    fn declared(&mut self, top: &Fields<'_>, key: &str) -> (Vec<Named>, bool) {
        let (names, complete) = self.names(top.get(key), &format!("`{key}`"));
        (names, !complete || top.unread(key))
    }

    /// Reads a map of named entries (`workstations`, `transitions`) in file order; `None`
    /// (reported) when the value is not a map.
    fn entries<T>(
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

    fn workstation(&mut self, key: &Key, node: &Node) -> RawWorkstation {
        let name = named(key);
        let mut ws = RawWorkstation {
            name: name.clone(),
            description: None,
            initial: None,
            terminal: Some(false),
            outcome: None,
            entry: Vec::new(),
            exit: Vec::new(),
            wip: None,
            sla: None,
        };
        if node.kind == Kind::Null {
            return ws;
        }
        let what = format!("workstation `{}`", name.value);
        let Some(f) = self.fields(node, &what, WORKSTATION_KEYS) else {
            ws.terminal = None;
            self.gaps.initial = true;
            self.gaps.terminal = true;
            self.gaps.uses = true;
            return ws;
        };
        ws.description = f
            .get("description")
            .and_then(|n| self.string(n, "`description`"))
            .map(|n| n.value);
        let initial = self.flag(f.get("initial"), "`initial`");
        self.gaps.initial |= initial.is_none() || f.unread("initial");
        if initial == Some(true) {
            ws.initial = f.key_span("initial");
        }
        ws.terminal = self
            .flag(f.get("terminal"), "`terminal`")
            .filter(|_| !f.unread("terminal"));
        self.gaps.terminal |= ws.terminal.is_none();
        ws.outcome = f.get("outcome").and_then(|n| self.string(n, "`outcome`"));
        self.gaps.uses |= f.unread("entry") || f.unread("exit");
        ws.entry = self.assertions(f.get("entry"), &format!("{}.entry", name.value));
        ws.exit = self.assertions(f.get("exit"), &format!("{}.exit", name.value));
        ws.sla = f.get("sla").and_then(|n| self.duration(n, "`sla`"));
        if let Some(node) = f.get("wip") {
            ws.wip = self.wip(node);
        }
        ws
    }

    fn wip(&mut self, node: &Node) -> Option<RawWip> {
        let f = self.fields(node, "`wip`", WIP_KEYS)?;
        let max = match f.get("max") {
            // A misspelt `max` is already reported.
            None if f.unread("max") => None,
            None => {
                self.sink.push(
                    Code::InvalidWip,
                    node.span,
                    "`wip` needs `max`, the most items allowed in the workstation",
                );
                None
            }
            Some(n) => match n.kind {
                Kind::Int(v) if v >= 1 && v <= i64::from(u32::MAX) => Some(v as u32),
                _ => {
                    self.sink.push(
                        Code::InvalidWip,
                        n.span,
                        format!("`wip.max` is a positive integer, not {}", describe_value(n)),
                    );
                    None
                }
            },
        };
        let per = f.get("per").and_then(|n| self.string(n, "`wip.per`"));
        let soft = self.flag(f.get("soft"), "`wip.soft`").unwrap_or(false);
        Some(RawWip { max, per, soft })
    }

    fn transition(&mut self, key: &Key, node: &Node) -> RawTransition {
        let name = named(key);
        let mut tr = RawTransition {
            name: name.clone(),
            description: None,
            from: RawFrom::Names(Vec::new()),
            to: None,
            by: None,
            by_complete: true,
            by_span: name.span,
            requires: Vec::new(),
            rework: false,
            outcome: None,
            allow_held: false,
        };
        let what = format!("transition `{}`", name.value);
        let Some(f) = self.fields(node, &what, TRANSITION_KEYS) else {
            self.gaps.edges = true;
            self.gaps.uses = true;
            return tr;
        };
        for required in ["from", "to"] {
            if f.get(required).is_none() {
                self.sink.push(
                    Code::MissingKey,
                    name.span,
                    format!("{what} has no `{required}`"),
                );
            }
        }
        tr.description = f
            .get("description")
            .and_then(|n| self.string(n, "`description`"))
            .map(|n| n.value);
        // Where the transition leads from and to: without both, its edges are unknown.
        let mut from_complete = false;
        if let Some(node) = f.get("from") {
            (tr.from, from_complete) = match &node.kind {
                Kind::Str(s) if s == "*" => (RawFrom::Every, true),
                Kind::Str(_) => (
                    RawFrom::Names(self.string(node, "`from`").into_iter().collect()),
                    true,
                ),
                Kind::Seq(_) => {
                    let (names, complete) = self.names(Some(node), "`from`");
                    (RawFrom::Names(names), complete)
                }
                _ => {
                    self.wrong_kind(node, "`from`", "a workstation, a list of them, or \"*\"");
                    (RawFrom::Names(Vec::new()), false)
                }
            };
        }
        tr.to = f.get("to").and_then(|n| self.string(n, "`to`"));
        self.gaps.edges |= !from_complete || tr.to.is_none();
        if let Some(node) = f.get("by") {
            tr.by_span = node.span;
            let (by, complete) = match &node.kind {
                Kind::Str(_) => (self.string(node, "`by`").into_iter().collect(), true),
                _ => self.names(Some(node), "`by`"),
            };
            tr.by = Some(by);
            tr.by_complete = complete;
        }
        self.gaps.uses |= !tr.by_complete || f.unread("by") || f.unread("requires");
        tr.requires = self.assertions(f.get("requires"), &format!("{}.requires", name.value));
        tr.rework = self.flag(f.get("rework"), "`rework`").unwrap_or(false);
        tr.outcome = f.get("outcome").and_then(|n| self.string(n, "`outcome`"));
        tr.allow_held = self
            .flag(f.get("allow_held"), "`allow_held`")
            .unwrap_or(false);
        tr
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

    /// Reads a list of assertions; `place` names the list for derived ids (`submitted.exit`).
    fn assertions(&mut self, node: Option<&Node>, place: &str) -> Vec<RawAssertion> {
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
    fn assertion(&mut self, node: &Node, place: &str) -> RawAssertion {
        let raw = self.read_assertion(node, place);
        if matches!(raw.kind, RawKind::Invalid) {
            self.gaps.uses = true;
        }
        raw
    }

    fn read_assertion(&mut self, node: &Node, place: &str) -> RawAssertion {
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

    // ---- small readers ---------------------------------------------------------------

    /// Checks that `node` is a map and that its keys are among `known`; reports unknown and
    /// repeated keys, and notes which known keys they stand for.
    fn fields<'n>(
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

    fn string(&mut self, node: &Node, what: &str) -> Option<Named> {
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
    fn names(&mut self, node: Option<&Node>, what: &str) -> (Vec<Named>, bool) {
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
    fn flag(&mut self, node: Option<&Node>, what: &str) -> Option<bool> {
        match node.map(|n| (n, &n.kind)) {
            None => Some(false),
            Some((_, Kind::Bool(b))) => Some(*b),
            Some((n, _)) => {
                self.wrong_kind(n, what, "`true` or `false`");
                None
            }
        }
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
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

    fn wrong_kind(&mut self, node: &Node, what: &str, expected: &str) {
        self.sink.push(
            Code::InvalidType,
            node.span,
            format!("{what} is {expected}, not {}", describe_value(node)),
        );
    }
}

fn named(key: &Key) -> Named {
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
