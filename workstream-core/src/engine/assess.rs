//! Assessing a change against the rules: which transition a move fires, and every reason it
//! may not (the transition, roles, holds, exit, requires, entry, WIP, in that order).
//! [`explain`](Engine::explain) and the writes share it, so what `explain` says is what a
//! move does.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::request::Target;
use super::{Engine, Error, Result};
use crate::assertion::Step;
use crate::check::{CheckContext, Checks};
use crate::evaluate::{Subject, json_eq};
use crate::item::{Actor, Item};
use crate::name::did_you_mean;
use crate::refusal::{Reason, ReasonKind};
use crate::store::{Query, Reader, Store};
use crate::workflow::{TransitionId, Workflow, WorkstationId};

/// What an assessment reads: the store's view (inside the change's transaction), the item's
/// workflow, the item as the change would leave its fields, who asks, and when.
#[derive(Clone, Copy)]
pub(super) struct Scene<'a> {
    pub(super) reader: &'a dyn Reader,
    pub(super) workflow: &'a Workflow,
    pub(super) item: &'a Item,
    pub(super) actor: &'a Actor,
    pub(super) now: DateTime<Utc>,
}

impl<'a> Scene<'a> {
    /// What the assertions of a move along `transition` into `target` read.
    pub(super) fn subject(
        &self,
        transition: Option<&'a str>,
        target: &'a str,
        checks: &'a Checks,
    ) -> Subject<'a> {
        let cx = CheckContext::new(
            self.item,
            self.actor,
            self.workflow,
            transition,
            target,
            self.now,
            self.reader,
        );
        Subject::new(cx, checks)
    }
}

/// What a transition would do: its reasons to refuse and its warnings.
pub(super) struct Assessment {
    pub(super) reasons: Vec<Reason>,
    pub(super) warnings: Vec<String>,
}

/// A move's target resolved: the transition it fires and its assessment, or why no
/// transition can fire (the action the refusal names, and every reason).
pub(super) enum Resolved {
    Chosen(TransitionId, Assessment),
    Refused {
        action: String,
        reasons: Vec<Reason>,
    },
}

impl<S: Store> Engine<S> {
    /// Resolves a move's target to the one transition it fires, and assesses it: a named
    /// transition, or a transition's id, must fire from `from`; for a target workstation, the
    /// first transition from `from` to it that nothing blocks is chosen.
    pub(super) fn resolve(
        &self,
        scene: &Scene<'_>,
        from: WorkstationId,
        target: &Target<'_>,
    ) -> Result<Resolved> {
        let workflow = scene.workflow;
        let t = match target {
            Target::Transition(name) => self.transition_id(workflow, name)?,
            Target::Id(t) if t.index() < workflow.transitions().len() => *t,
            Target::Id(t) => {
                return Err(Error::UnknownTransition {
                    workflow: workflow.name().to_owned(),
                    name: format!("#{}", t.index()),
                    help: None,
                });
            }
            Target::Workstation(name) => return self.resolve_target(scene, from, name),
        };
        if workflow.target(from, t).is_none() {
            return Ok(Resolved::Refused {
                action: workflow.transition(t).name().to_owned(),
                reasons: vec![not_allowed(workflow, t, from)],
            });
        }
        Ok(Resolved::Chosen(t, self.assess(scene, from, t)?))
    }

    /// The first transition from `from` into the workstation `name` that nothing blocks, or
    /// every reason each of them is blocked.
    fn resolve_target(
        &self,
        scene: &Scene<'_>,
        from: WorkstationId,
        name: &str,
    ) -> Result<Resolved> {
        let workflow = scene.workflow;
        let to = workflow
            .workstation_id(name)
            .ok_or_else(|| Error::UnknownWorkstation {
                workflow: workflow.name().to_owned(),
                name: name.to_owned(),
                help: did_you_mean(name, workflow.workstations().iter().map(|w| w.name())),
            })?;
        let action = format!("to {name}");
        let candidates: Vec<TransitionId> = workflow.transitions_between(from, to).collect();
        if candidates.is_empty() {
            let reason = Reason::new(
                "not_allowed",
                ReasonKind::NotAllowed,
                format!(
                    "no transition leads from `{}` to `{name}`",
                    scene.item.workstation()
                ),
            );
            return Ok(Resolved::Refused {
                action,
                reasons: vec![reason],
            });
        }
        let mut all = Vec::new();
        for t in candidates {
            let assessment = self.assess(scene, from, t)?;
            if assessment.reasons.is_empty() {
                return Ok(Resolved::Chosen(t, assessment));
            }
            all.extend(assessment.reasons);
        }
        Ok(Resolved::Refused {
            action,
            reasons: all,
        })
    }

    pub(super) fn transition_id(&self, workflow: &Workflow, name: &str) -> Result<TransitionId> {
        workflow
            .transition_id(name)
            .ok_or_else(|| Error::UnknownTransition {
                workflow: workflow.name().to_owned(),
                name: name.to_owned(),
                help: did_you_mean(name, workflow.transitions().iter().map(|t| t.name())),
            })
    }

    pub(super) fn current(&self, workflow: &Workflow, item: &Item) -> Result<WorkstationId> {
        workflow
            .workstation_id(item.workstation())
            .ok_or_else(|| Error::not_in_definition(item))
    }

    /// Every reason `t` may not fire in `scene`, given that it may fire from `from`.
    pub(super) fn assess(
        &self,
        scene: &Scene<'_>,
        from: WorkstationId,
        t: TransitionId,
    ) -> Result<Assessment> {
        let Scene {
            workflow,
            item,
            actor,
            ..
        } = *scene;
        let def = workflow.transition(t);
        let to = def.to();
        let target = workflow.workstation(to);
        let mut reasons = Vec::new();
        let mut warnings = Vec::new();
        if let Some(by) = def.by()
            && !by.iter().any(|role| actor.has_role(role))
        {
            reasons.push(
                Reason::new(
                    "role",
                    ReasonKind::Role,
                    format!(
                        "`{}` may be fired by {}; {} has {}",
                        def.name(),
                        list_or_nobody(by),
                        actor.id(),
                        list_or_nobody(actor.roles())
                    ),
                )
                .with_details(json!({ "allowed": by, "actor_roles": actor.roles() })),
            );
        }
        if item.is_held() && !def.allows_held() {
            let kinds: Vec<&str> = item.holds().keys().map(String::as_str).collect();
            let shown: Vec<String> = item
                .holds()
                .iter()
                .map(|(k, h)| match &h.reason {
                    Some(r) => format!("`{k}` ({r})"),
                    None => format!("`{k}`"),
                })
                .collect();
            reasons.push(
                Reason::new(
                    "held",
                    ReasonKind::Held,
                    format!("the item is held: {}", shown.join(", ")),
                )
                .with_details(json!({ "holds": kinds })),
            );
        }
        let subject = scene.subject(Some(def.name()), target.name(), &self.checks);
        let moves = from != to;
        if moves {
            subject.collect(
                workflow.workstation(from).exit(),
                ReasonKind::Exit,
                &mut reasons,
            )?;
        }
        subject.collect(def.requires(), ReasonKind::Requires, &mut reasons)?;
        if moves {
            subject.collect(target.entry(), ReasonKind::Entry, &mut reasons)?;
            self.check_wip(scene, to, &mut reasons, &mut warnings)?;
        }
        Ok(Assessment { reasons, warnings })
    }

    /// Whether the scene's item may enter `to` under its WIP limit.
    pub(super) fn check_wip(
        &self,
        scene: &Scene<'_>,
        to: WorkstationId,
        reasons: &mut Vec<Reason>,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let Scene {
            reader,
            workflow,
            item,
            ..
        } = *scene;
        let target = workflow.workstation(to);
        let Some(wip) = target.wip() else {
            return Ok(());
        };
        let (count, key) = match wip.per() {
            None => (reader.count(workflow.name(), target.name())?, None),
            Some(per) => {
                let key = field_at(item.fields(), per.steps());
                let here = reader.items(
                    &Query::new()
                        .workflow(workflow.name())
                        .workstation(target.name()),
                )?;
                let count = here
                    .iter()
                    .filter(|other| other.id() != item.id())
                    .filter(|other| json_eq(&field_at(other.fields(), per.steps()), &key))
                    .count();
                (count, Some((per.as_str(), key)))
            }
        };
        if count < wip.max() as usize {
            return Ok(());
        }
        let scope = match &key {
            Some((per, key)) => format!(" for {per} = {}", crate::canonical_json(key)),
            None => String::new(),
        };
        let message = format!(
            "`{}` is at its WIP limit of {}{scope} ({count} items)",
            target.name(),
            wip.max()
        );
        if wip.soft() {
            warnings.push(message);
        } else {
            reasons.push(
                Reason::new("wip", ReasonKind::Wip, message).with_details(json!({
                    "workstation": target.name(),
                    "max": wip.max(),
                    "count": count,
                    "per": key.as_ref().map(|(p, _)| *p),
                    "key": key.map(|(_, k)| k),
                })),
            );
        }
        Ok(())
    }
}

fn field_at(fields: &Value, steps: &[Step]) -> Value {
    let mut at = fields;
    for step in steps {
        match (step, at) {
            (Step::Key(k), Value::Object(map)) => match map.get(k) {
                Some(v) => at = v,
                None => return Value::Null,
            },
            _ => return Value::Null,
        }
    }
    at.clone()
}

fn not_allowed(workflow: &Workflow, t: TransitionId, from: WorkstationId) -> Reason {
    let def = workflow.transition(t);
    let sources: Vec<String> = def
        .from()
        .iter()
        .map(|&w| format!("`{}`", workflow.workstation(w).name()))
        .collect();
    let here = workflow.workstation(from).name();
    Reason::new(
        "not_allowed",
        ReasonKind::NotAllowed,
        format!(
            "`{}` cannot fire from `{here}`; it fires from {}",
            def.name(),
            sources.join(", ")
        ),
    )
    .with_details(json!({ "workstation": here, "from": sources }))
}

fn list_or_nobody(list: &[String]) -> String {
    if list.is_empty() {
        "no role".to_owned()
    } else {
        list.iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
