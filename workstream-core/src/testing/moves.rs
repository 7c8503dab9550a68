//! Checks of a chain as a whole, for stores' own tests of concurrent writers.

use std::collections::BTreeSet;

use crate::{Change, Event, ItemId, Workflow};

/// Walks a chain through its workflow, for tests of stores under concurrent writers: each
/// move starts where the item was, is a transition the workflow allows from there to where
/// it went, and moves no held item unless the transition allows that; no hold is put on
/// twice or released when it is not on. Returns the first event that breaks one of these.
pub fn moves_allowed(workflow: &Workflow, id: ItemId, events: &[Event]) -> Result<(), String> {
    let mut at = None;
    let mut holds = BTreeSet::new();
    for event in events {
        let fail = |why: String| Err(format!("item {id}, event {}: {why}", event.seq()));
        match &event.change() {
            Change::Created { workstation, .. } => {
                at = workflow.workstation_id(workstation);
            }
            Change::Transitioned {
                transition,
                from,
                to,
                ..
            } => {
                let (Some(here), Some(t)) = (at, workflow.transition_id(transition)) else {
                    return fail(format!("unknown transition `{transition}`"));
                };
                if workflow.workstation(here).name() != from {
                    return fail(format!(
                        "the move says it left `{from}` but the item was in `{}`",
                        workflow.workstation(here).name()
                    ));
                }
                let Some(target) = workflow.target(here, t) else {
                    return fail(format!("`{transition}` cannot fire from `{from}`"));
                };
                if workflow.workstation(target).name() != to {
                    return fail(format!("`{transition}` leads to the wrong workstation"));
                }
                if !holds.is_empty() && !workflow.transition(t).allows_held() {
                    return fail(format!("`{transition}` moved a held item"));
                }
                at = Some(target);
            }
            Change::Held { hold } if !holds.insert(hold.clone()) => {
                return fail(format!("hold `{hold}` was put on twice"));
            }
            Change::Released { hold } if !holds.remove(hold) => {
                return fail(format!("hold `{hold}` was released but not on"));
            }
            _ => {}
        }
    }
    Ok(())
}
