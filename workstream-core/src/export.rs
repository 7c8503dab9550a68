//! Diagrams of a workflow: Mermaid `stateDiagram-v2` and Graphviz DOT.
//!
//! Both mark the initial workstation (an arrow from the start marker) and terminal ones (an
//! arrow to the end marker in Mermaid, a double circle in DOT), and label each edge with its
//! transition, the roles that may fire it (`by …`), its guards (`[ids]`, the assertions of
//! `requires`) and `rework` when it sends work back.

use std::fmt::Write as _;

use crate::workflow::{Transition, Workflow};

impl Workflow {
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
        let _ = writeln!(out, "    __start -> {};", self.workstation(self.initial).name);
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

fn edge_label(t: &Transition) -> String {
    let mut label = t.name.clone();
    if !t.requires.is_empty() {
        let ids: Vec<&str> = t.requires.iter().map(|a| a.id()).collect();
        let _ = write!(label, " [{}]", ids.join(", "));
    }
    if let Some(by) = &t.by {
        let _ = write!(label, " by {}", by.join("|"));
    }
    if t.rework {
        label.push_str(" (rework)");
    }
    label
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
