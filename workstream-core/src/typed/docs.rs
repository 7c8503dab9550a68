//! The doc comments of generated code, written from the validated workflow: the macro puts
//! them on the module, the workstation types and the transition methods.

use crate::assertion::Assertion;
use crate::workflow::{Workflow, Workstation};

/// The doc comment of a generated module: the workflow's description, what the module holds,
/// and its diagram.
pub fn module_doc(wf: &Workflow) -> String {
    let mut doc = String::new();
    if let Some(description) = wf.description() {
        doc.push_str(description);
        doc.push_str("\n\n");
    }
    doc.push_str(&format!(
        "Typestate types generated from `{}`: workflow `{}`, version {}, definition `{}`.\n\n\
         Each workstation is a type; [`Item<W>`](Item) is an item in workstation `W`, and \
         has a method for each transition that may fire from `W`. A transition the file does \
         not allow from `W` is not a method of `Item<W>`, so calling it does not compile. \
         [`AnyItem`] loads an item whose workstation is known only at run time.\n\n\
         ```mermaid\n{}```",
        wf.origin(),
        wf.name(),
        wf.version(),
        wf.definition_hash(),
        wf.to_mermaid()
    ));
    doc
}

fn ids(assertions: &[Assertion]) -> String {
    assertions
        .iter()
        .map(|a| format!("`{}`", a.id()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The doc comment of the type of workstation `w`: its description and what the file says
/// about it (initial, terminal, assertions, WIP, SLA, the transitions out).
pub fn workstation_doc(wf: &Workflow, w: &Workstation) -> String {
    let mut lines = vec![match w.description() {
        Some(d) => d.to_owned(),
        None => format!("Workstation `{}`.", w.name()),
    }];
    let mut facts = Vec::new();
    if w.is_initial() {
        facts.push("Items are created here.".to_owned());
    }
    if let Some(outcome) = w.outcome() {
        facts.push(format!("Terminal: work ends here, `{outcome}`."));
    }
    if !w.entry().is_empty() {
        facts.push(format!("Entry assertions: {}.", ids(w.entry())));
    }
    if !w.exit().is_empty() {
        facts.push(format!("Exit assertions: {}.", ids(w.exit())));
    }
    if let Some(wip) = w.wip() {
        let per = wip
            .per()
            .map_or_else(String::new, |p| format!(" per `{p}`"));
        let soft = if wip.soft() { " (soft)" } else { "" };
        facts.push(format!("WIP limit: {}{per}{soft}.", wip.max()));
    }
    if let Some(sla) = w.sla() {
        facts.push(format!("SLA: {} seconds.", sla.as_secs()));
    }
    let out: Vec<&str> = wf
        .outgoing(wf.workstation_id(w.name()).unwrap_or(wf.initial()))
        .iter()
        .map(|&t| wf.transition(t).name())
        .collect();
    if !out.is_empty() {
        facts.push(format!(
            "Transitions out: {}.",
            out.iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !facts.is_empty() {
        lines.push(facts.join(" "));
    }
    lines.join("\n\n")
}

/// The doc comment of the method of transition `index`: its description, who fires it, what
/// it requires, and what it returns.
pub fn transition_doc(wf: &Workflow, index: usize) -> String {
    let t = &wf.transitions()[index];
    let to = wf.workstation(t.to()).name();
    let mut lines = Vec::new();
    if let Some(d) = t.description() {
        lines.push(d.to_owned());
    }
    let mut facts = vec![format!("Transition `{}` to `{to}`.", t.name())];
    match t.by() {
        Some(by) => facts.push(format!(
            "Fired by: {}.",
            by.iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => facts.push("Fired by any actor.".to_owned()),
    }
    if !t.requires().is_empty() {
        facts.push(format!("Requires: {}.", ids(t.requires())));
    }
    if t.is_rework() {
        facts.push("Sends work back (rework).".to_owned());
    }
    if t.allows_held() {
        facts.push("May fire while the item is held.".to_owned());
    }
    lines.push(facts.join(" "));
    lines.push(format!(
        "Returns the item in `{to}`, or a [`MoveError`](::workstream::MoveError) with the \
         item back and every reason the engine refused the move."
    ));
    lines.join("\n\n")
}
