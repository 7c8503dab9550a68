//! Diagrams of a workflow: Mermaid `stateDiagram-v2` and Graphviz DOT.
//!
//! Both mark the initial workstation (an arrow from the start marker) and terminal ones (an
//! arrow to the end marker in Mermaid, a double circle in DOT), and label each edge with its
//! transition, the roles that may fire it (`by …`), its guards (`[ids]`, the assertions of
//! `requires`) and `rework` when it sends work back.
//!
//! [`Workflow::to_yaml`] writes the definition back as a workflow file in a normalized layout.

use std::fmt::Write as _;

use serde_json::Value;

use crate::assertion::{Assertion, AssertionKind, Operand};
use crate::workflow::{Transition, Workflow};

impl Workflow {
    /// The definition written back as a format v1 workflow file in a normalized layout:
    /// defaults written out, `"*"` resolved, durations in seconds, strings JSON-quoted.
    /// Parsing the result gives a workflow with the same definition hash.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        let q = |s: &str| Value::from(s).to_string();
        let list = |names: &[String]| {
            format!(
                "[{}]",
                names.iter().map(|n| q(n)).collect::<Vec<_>>().join(", ")
            )
        };
        let _ = writeln!(out, "workflow: {}", q(&self.name));
        let _ = writeln!(out, "version: {}", self.version);
        if let Some(d) = &self.description {
            let _ = writeln!(out, "description: {}", q(d));
        }
        let _ = writeln!(out, "roles: {}", list(&self.roles));
        let _ = writeln!(out, "checks: {}", list(&self.checks));
        let _ = writeln!(out, "holds: {}", list(&self.holds));
        out.push_str("workstations:\n");
        for w in &self.workstations {
            let _ = writeln!(out, "  {}:", q(&w.name));
            if let Some(d) = &w.description {
                let _ = writeln!(out, "    description: {}", q(d));
            }
            let _ = writeln!(out, "    initial: {}", w.initial);
            let _ = writeln!(out, "    terminal: {}", w.terminal);
            if let Some(o) = w.outcome {
                let _ = writeln!(out, "    outcome: {}", q(o.name()));
            }
            write_assertions(&mut out, "entry", &w.entry);
            write_assertions(&mut out, "exit", &w.exit);
            if let Some(wip) = &w.wip {
                let _ = write!(out, "    wip: {{ max: {}, soft: {}", wip.max, wip.soft);
                if let Some(per) = &wip.per {
                    let _ = write!(out, ", per: {}", q(per.as_str()));
                }
                out.push_str(" }\n");
            }
            if let Some(sla) = w.sla {
                let _ = writeln!(out, "    sla: {}s", sla.as_secs());
            }
        }
        out.push_str("transitions:\n");
        for t in &self.transitions {
            let _ = writeln!(out, "  {}:", q(&t.name));
            if let Some(d) = &t.description {
                let _ = writeln!(out, "    description: {}", q(d));
            }
            let from: Vec<String> = t
                .from
                .iter()
                .map(|&f| self.workstation(f).name.clone())
                .collect();
            let _ = writeln!(out, "    from: {}", list(&from));
            let _ = writeln!(out, "    to: {}", q(&self.workstation(t.to).name));
            if let Some(by) = &t.by {
                let _ = writeln!(out, "    by: {}", list(by));
            }
            write_assertions(&mut out, "requires", &t.requires);
            let _ = writeln!(out, "    rework: {}", t.rework);
            if let Some(o) = t.outcome {
                let _ = writeln!(out, "    outcome: {}", q(o.name()));
            }
            let _ = writeln!(out, "    allow_held: {}", t.allow_held);
        }
        let _ = writeln!(
            out,
            "signals:\n  stalled: {{ idle_for: {}s }}\n  oldies: {{ age: {}s }}",
            self.signals.stalled_idle_for.as_secs(),
            self.signals.oldies_age.as_secs()
        );
        out
    }

    /// The workflow as a Mermaid `stateDiagram-v2`.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("stateDiagram-v2\n");
        if let Some(d) = &self.description {
            let _ = writeln!(out, "    %% {}: {}", self.name, one_line(d));
        }
        let _ = writeln!(out, "    [*] --> {}", self.workstation(self.initial).name);
        for t in &self.transitions {
            let label = edge_label(t);
            for &f in &t.from {
                let _ = writeln!(
                    out,
                    "    {} --> {} : {}",
                    self.workstation(f).name,
                    self.workstation(t.to).name,
                    label.replace(':', "#58;")
                );
            }
        }
        for w in &self.workstations {
            if w.terminal {
                let _ = writeln!(out, "    {} --> [*]", w.name);
            }
        }
        out
    }

    /// The workflow as a Graphviz DOT digraph.
    pub fn to_dot(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "digraph {} {{", self.name);
        out.push_str("    rankdir=LR;\n    node [shape=box, style=rounded];\n");
        out.push_str("    __start [shape=point, label=\"\"];\n");
        for w in &self.workstations {
            let mut attrs = Vec::new();
            if w.terminal {
                attrs.push("shape=doublecircle".to_owned());
                if let Some(o) = w.outcome {
                    attrs.push(format!("xlabel={}", quote(o.name())));
                }
            }
            if let Some(d) = &w.description {
                attrs.push(format!("tooltip={}", quote(&one_line(d))));
            }
            if attrs.is_empty() {
                let _ = writeln!(out, "    {};", w.name);
            } else {
                let _ = writeln!(out, "    {} [{}];", w.name, attrs.join(", "));
            }
        }
        let _ = writeln!(
            out,
            "    __start -> {};",
            self.workstation(self.initial).name
        );
        for t in &self.transitions {
            let mut attrs = vec![format!("label={}", quote(&edge_label(t)))];
            if t.rework {
                attrs.push("style=dashed".into());
            }
            if !t.requires.is_empty() {
                attrs.push("color=darkorange".into());
            }
            for &f in &t.from {
                let _ = writeln!(
                    out,
                    "    {} -> {} [{}];",
                    self.workstation(f).name,
                    self.workstation(t.to).name,
                    attrs.join(", ")
                );
            }
        }
        out.push_str("}\n");
        out
    }
}

fn write_assertions(out: &mut String, key: &str, list: &[Assertion]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "    {key}:");
    for a in list {
        let _ = writeln!(out, "      - {}", assertion_flow(a));
    }
}

/// One assertion as a YAML flow map (JSON syntax, which YAML reads as it is).
fn assertion_flow(a: &Assertion) -> String {
    // Derived ids are derived again on reading: a place (`submitted.exit.0`) contains a
    // dot, which a given id never does, and an unnamed check is named after the check.
    let derived =
        a.id().contains('.') || matches!(a.kind(), AssertionKind::Check(name) if name == a.id());
    let mut parts = Vec::new();
    if !derived {
        parts.push(format!("\"id\": {}", Value::from(a.id())));
    }
    if let Some(m) = a.message() {
        parts.push(format!("\"message\": {}", Value::from(m)));
    }
    match a.kind() {
        AssertionKind::Check(name) => {
            parts.push(format!("\"check\": {}", Value::from(name.as_str())))
        }
        AssertionKind::Compare { path, op, operand } => {
            parts.push(format!("\"assert\": {}", Value::from(path.as_str())));
            parts.push(format!("\"op\": {}", Value::from(op.name())));
            match operand {
                Operand::None => {}
                Operand::Value(v) if path.is_duration() => {
                    parts.push(format!("\"value\": \"{v}s\""));
                }
                Operand::Value(v) => parts.push(format!("\"value\": {v}")),
                Operand::From(p) => {
                    parts.push(format!("\"value_from\": {}", Value::from(p.as_str())));
                }
            }
        }
        AssertionKind::All(members) | AssertionKind::Any(members) => {
            let key = if matches!(a.kind(), AssertionKind::All(_)) {
                "all"
            } else {
                "any"
            };
            let inner: Vec<String> = members.iter().map(assertion_flow).collect();
            parts.push(format!("\"{key}\": [{}]", inner.join(", ")));
        }
        AssertionKind::Not(member) => parts.push(format!("\"not\": {}", assertion_flow(member))),
    }
    format!("{{{}}}", parts.join(", "))
}

fn edge_label(t: &Transition) -> String {
    let mut label = t.name.clone();
    if !t.requires.is_empty() {
        let ids: Vec<&str> = t.requires.iter().map(guard_label).collect();
        let _ = write!(label, " [{}]", ids.join(", "));
    }
    if let Some(by) = &t.by {
        let _ = write!(label, " by {}", by.join(", "));
    }
    if t.rework {
        label.push_str(" (rework)");
    }
    label
}

/// A guard's name on an edge: its id (an unnamed check is named after its check).
fn guard_label(a: &Assertion) -> &str {
    a.id()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
