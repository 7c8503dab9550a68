//! Reviews and revisions: decisions, findings, resubmissions and the revision limit.

use super::*;

impl<S: Store> Sim<'_, S> {
    pub(super) fn review(
        &mut self,
        i: usize,
        item: task::Item<task::ReviewPending>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        let p = self.tasks[i].contributor;
        let round = self.tasks[i].reviews + 1;
        let records = task_records(&item)?;
        let evidence = evidence(&records);
        if !self.tasks[i].self_tried && self.rng.chance(40) {
            self.tasks[i].self_tried = true;
            let contributor = self.person(p);
            let review = review_of(contributor.id(), "accepted", round, &evidence);
            let with = With::new().patch(json!({ "review": review }));
            let accepted = item.accept_with(self.engine, &contributor, with);
            let back = self.refused("review one's own work", &["no_self_review"], accepted)?;
            return Ok((A::ReviewPending(back), self.rng.range(10, 60)));
        }
        let mut r = self.rng.below(self.cast.people.len() - 1);
        if r >= p {
            r += 1;
        }
        let reviewer = self.person(r);
        if self.rng.chance(20) {
            let with = With::new().reason("the checker run looks incomplete; run it again");
            let sent = item.reevaluate_with(self.engine, &reviewer, with);
            let pending = self.moved("reevaluate", sent)?;
            return Ok((A::EvaluationPending(pending), self.rng.range(10, 60)));
        }
        let contributor = self.cast.people[p].id().to_owned();
        let decision = self.decide(self.tasks[i].quality, self.tasks[i].reviews);
        self.tasks[i].reviews += 1;
        let review_contribution = Contribution {
            kind: "review".to_owned(),
            by: reviewer.id().to_owned(),
            award: None,
        };
        match decision {
            Decision::Accept => {
                if !self.tasks[i].evidence_tried && self.rng.chance(50) {
                    self.tasks[i].evidence_tried = true;
                    self.tasks[i].reviews -= 1;
                    let review = review_of(reviewer.id(), "accepted", round, &[]);
                    let with = With::new().patch(json!({ "review": review }));
                    let accepted = item.accept_with(self.engine, &reviewer, with);
                    let back = self.refused(
                        "accept without citing evidence",
                        &["evidence_cited"],
                        accepted,
                    )?;
                    return Ok((A::ReviewPending(back), self.rng.range(10, 60)));
                }
                let findings: Map<String, Value> = item
                    .field("findings")
                    .and_then(Value::as_object)
                    .map(|all| {
                        all.keys()
                            .map(|id| (id.clone(), json!({ "status": "resolved" })))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut patch = json!({
                    "review": review_of(reviewer.id(), "accepted", round, &evidence),
                });
                if !findings.is_empty() {
                    patch["findings"] = Value::Object(findings);
                }
                let submission = Contribution {
                    kind: "submission".to_owned(),
                    by: contributor,
                    award: records.award.clone(),
                };
                let payload = json!(Contributions {
                    contributions: vec![submission, review_contribution],
                });
                let with = With::new()
                    .patch(patch)
                    .payload(payload)
                    .reason("the work meets every criterion");
                let accepted = item.accept_with(self.engine, &reviewer, with);
                Ok((A::Accepted(self.moved("accept", accepted)?), 0))
            }
            Decision::Changes => {
                let version = records.submission_version();
                let mut findings = Map::new();
                let open = records.open_findings();
                let keep = if !open.is_empty() && self.rng.chance(150) {
                    // One answer does not address its finding: it stays open.
                    Some(open[self.rng.below(open.len())].clone())
                } else {
                    None
                };
                for id in open {
                    if Some(&id) != keep.as_ref() {
                        findings.insert(id, json!({ "status": "resolved" }));
                    }
                }
                let new = 1 + self.rng.below(3);
                for _ in 0..new {
                    self.tasks[i].findings += 1;
                    let id = format!("F{}", self.tasks[i].findings);
                    let text = self.rng.pick(FINDINGS);
                    let finding = Finding {
                        text: text.to_owned(),
                        by: reviewer.id().to_owned(),
                        raised_in: version,
                        status: "open".to_owned(),
                    };
                    findings.insert(id, json!(finding));
                }
                let rounds = records.revision_rounds.unwrap_or(0);
                let patch = json!({
                    "review": review_of(reviewer.id(), "needs_revision", round, &evidence[..evidence.len().min(1)]),
                    "findings": findings,
                    "revision_rounds": rounds + 1,
                });
                let with = With::new()
                    .patch(patch)
                    .payload(json!(Contributions {
                        contributions: vec![review_contribution],
                    }))
                    .reason("blocking findings");
                let requested = item.request_changes_with(self.engine, &reviewer, with);
                let revision = self.moved("request_changes", requested)?;
                self.new_round(i);
                Ok((A::NeedsRevision(revision), self.rng.range(30, 240)))
            }
            Decision::Reject => {
                let patch = json!({
                    "review": review_of(reviewer.id(), "rejected", round, &evidence[evidence.len().min(1)..]),
                });
                let with = With::new()
                    .patch(patch)
                    .payload(json!(Contributions {
                        contributions: vec![review_contribution],
                    }))
                    .reason("the work does not meet the criteria");
                let rejected = item.reject_with(self.engine, &reviewer, with);
                Ok((A::Rejected(self.moved("reject", rejected)?), 0))
            }
        }
    }

    pub(super) fn revision(
        &mut self,
        i: usize,
        item: task::Item<task::NeedsRevision>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        let p = self.tasks[i].contributor;
        let person = self.person(p);
        let records = task_records(&item)?;
        let rounds = records.revision_rounds.unwrap_or(0);
        let max = records.max_revision_rounds.unwrap_or(MAX_REVISION_ROUNDS);
        let open = records.open_findings();
        let drafted: BTreeMap<String, String> = records
            .draft_answers
            .iter()
            .filter(|(id, _)| open.contains(id))
            .map(|(id, a)| (id.clone(), a.clone()))
            .collect();
        let version = records.submission_version() + 1;
        let supersedes = records.submission.as_ref().map(|s| s.packet.clone());
        if rounds > max {
            if !self.tasks[i].limit_tried {
                self.tasks[i].limit_tried = true;
                let answers: BTreeMap<String, String> = open
                    .iter()
                    .map(|id| (id.clone(), self.rng.pick(ANSWERS).to_owned()))
                    .collect();
                let packet = self.packet(i, version, answers, supersedes);
                let patch = submission_patch(person.id(), &packet, false);
                let resubmitted =
                    item.resubmit_with(self.engine, &person, With::new().patch(patch));
                let back = self.refused(
                    "resubmit with no revision rounds left",
                    &["revision_rounds_left"],
                    resubmitted,
                )?;
                return Ok((A::NeedsRevision(back), self.rng.range(60, 240)));
            }
            let with = With::new().reason("no revision rounds are left");
            let cancelled = item.cancel_revision_with(self.engine, &self.cast.manager, with);
            return Ok((A::Cancelled(self.moved("cancel_revision", cancelled)?), 0));
        }
        let undrafted: Vec<&String> = open
            .iter()
            .filter(|id| !drafted.contains_key(*id))
            .collect();
        if let Some(&next) = undrafted.first() {
            if !drafted.is_empty() && !self.tasks[i].partial_tried && self.rng.chance(350) {
                // Resubmitting before every finding is answered.
                self.tasks[i].partial_tried = true;
                let packet = self.packet(i, version, drafted, supersedes);
                let patch = submission_patch(person.id(), &packet, false);
                let resubmitted =
                    item.resubmit_with(self.engine, &person, With::new().patch(patch));
                let back = self.refused(
                    "resubmit answering only some findings",
                    &["findings_answered"],
                    resubmitted,
                )?;
                return Ok((A::NeedsRevision(back), self.rng.range(30, 120)));
            }
            // Findings are answered one by one.
            let answer = self.rng.pick(ANSWERS);
            let patch = json!({ "draft_answers": { next.as_str(): answer } });
            let id = item.id();
            let updated = self.engine.update_fields(id, &person, patch);
            let updated = self.wrote("answer a finding", updated)?;
            return Ok((A::from_item(updated)?, self.rng.range(30, 300)));
        }
        let packet = self.packet(i, version, drafted, supersedes);
        let mut patch = submission_patch(person.id(), &packet, false);
        patch["draft_answers"] = Value::Null;
        let with = With::new()
            .patch(patch)
            .reason(format!("version {version}"));
        let resubmitted = item.resubmit_with(self.engine, &person, with);
        let submitted = self.moved("resubmit", resubmitted)?;
        Ok((A::Submitted(submitted), self.rng.range(5, 30)))
    }

    pub(super) fn new_round(&mut self, i: usize) {
        let t = &mut self.tasks[i];
        t.partial_tried = false;
        t.stale_tried = false;
        t.self_tried = false;
        t.evidence_tried = false;
    }

    pub(super) fn decide(&mut self, quality: Quality, reviews: u32) -> Decision {
        let (accept, changes) = match (quality, reviews) {
            (Quality::Strong, 0) => (900, 100),
            (Quality::Strong, _) => (970, 30),
            (Quality::Decent, 0) => (450, 530),
            (Quality::Decent, _) => (800, 180),
            (Quality::Weak, 0) => (100, 780),
            (Quality::Weak, _) => (450, 450),
            (Quality::Poor, 0) => (0, 600),
            (Quality::Poor, _) => (150, 600),
        };
        let x = self.rng.below(1000);
        if x < accept {
            Decision::Accept
        } else if x < accept + changes {
            Decision::Changes
        } else {
            Decision::Reject
        }
    }
}
