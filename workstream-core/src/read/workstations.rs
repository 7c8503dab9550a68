//! Workstations: their keys, flags, outcome, WIP limit and assertions.

use super::{
    RawWip, RawWorkstation, TreeReader, WIP_KEYS, WORKSTATION_KEYS, describe_value, named,
};
use crate::diagnostic::Code;
use crate::yaml::{Key, Kind, Node};

impl TreeReader<'_, '_> {
    pub(super) fn workstation(&mut self, key: &Key, node: &Node) -> RawWorkstation {
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

    pub(super) fn wip(&mut self, node: &Node) -> Option<RawWip> {
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
}
