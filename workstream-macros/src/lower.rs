//! Stage 3: the validated workflow as a plain model of what to generate: one type per
//! workstation, one method per (transition, source workstation), and their docs.

use workstream_core::__private::camel_case;
use workstream_core::{Assertion, Workflow};

/// What the module will hold.
pub(crate) struct Model {
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) hash: String,
    pub(crate) doc: String,
    pub(crate) initial: usize,
    pub(crate) workstations: Vec<WorkstationModel>,
    pub(crate) methods: Vec<MethodModel>,
    /// The file's warnings, rendered as `check` prints them.
    pub(crate) warnings: Vec<String>,
    /// The declared roles, checks and holds, in file order.
    pub(crate) roles: Vec<String>,
    pub(crate) checks: Vec<String>,
    pub(crate) holds: Vec<String>,
}

/// One workstation type.
pub(crate) struct WorkstationModel {
    pub(crate) name: String,
    pub(crate) ty: String,
    pub(crate) doc: String,
}

/// One transition method on the item type of one workstation.
pub(crate) struct MethodModel {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) transition: u16,
    pub(crate) name: String,
    pub(crate) doc: String,
}

/// The model of a validated workflow. Every naming rule the generated code needs (types that
/// do not clash with `Item` and `AnyItem` or with each other, methods `x` and `x_with` that do
/// not clash) is one of the validator's, so any file `parse` accepts lowers.
pub(crate) fn lower(wf: &Workflow) -> Model {
    let workstations: Vec<WorkstationModel> = wf
        .workstations()
        .iter()
        .map(|w| WorkstationModel {
            name: w.name().to_owned(),
            ty: camel_case(w.name()),
            doc: workstation_doc(wf, w),
        })
        .collect();
    let mut methods = Vec::new();
    for (index, t) in wf.transitions().iter().enumerate() {
        for &from in t.from() {
            methods.push(MethodModel {
                from: from.index(),
                to: t.to().index(),
                transition: index as u16,
                name: t.name().to_owned(),
                doc: transition_doc(wf, index),
            });
        }
    }
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
    Model {
        name: wf.name().to_owned(),
        version: wf.version(),
        hash: wf.definition_hash().to_string(),
        doc,
        initial: wf.initial().index(),
        workstations,
        methods,
        warnings: wf.warnings().iter().map(ToString::to_string).collect(),
        roles: wf.roles().to_vec(),
        checks: wf.checks().to_vec(),
        holds: wf.holds().to_vec(),
    }
}

fn ids(assertions: &[Assertion]) -> String {
    assertions
        .iter()
        .map(|a| format!("`{}`", a.id()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn workstation_doc(wf: &Workflow, w: &workstream_core::Workstation) -> String {
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

fn transition_doc(wf: &Workflow, index: usize) -> String {
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
