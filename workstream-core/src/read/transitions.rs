//! Transitions: their keys, sources, target, roles and `requires`.

use super::{RawFrom, RawTransition, TRANSITION_KEYS, TreeReader, named};
use crate::diagnostic::Code;
use crate::yaml::{Key, Kind, Node};

impl TreeReader<'_, '_> {
    pub(super) fn transition(&mut self, key: &Key, node: &Node) -> RawTransition {
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
}
