//! Stage 3: the validated workflow as a plain model of what to generate: one type per
//! workstation, one method per (transition, source workstation), and their docs (which core
//! writes, from the same definition).

use workstream_core::__private::{camel_case, module_doc, transition_doc, workstation_doc};
use workstream_core::Workflow;

/// What the module will hold beyond the workflow's own names.
pub(crate) struct Model {
    pub(crate) doc: String,
    pub(crate) workstations: Vec<WorkstationModel>,
    pub(crate) methods: Vec<MethodModel>,
    /// The file's warnings, rendered as `check` prints them.
    pub(crate) warnings: Vec<String>,
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
    let workstations = wf
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
    Model {
        doc: module_doc(wf),
        workstations,
        methods,
        warnings: wf.warnings().iter().map(ToString::to_string).collect(),
    }
}
