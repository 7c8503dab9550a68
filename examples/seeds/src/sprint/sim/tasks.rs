//! A task from its draft to its evaluation: screening, publishing, claiming, the work, the submission and the checkers.

use super::*;

impl<S: Store> Sim<'_, S> {
    pub(super) fn draft(&mut self, k: u32) -> Result<(), SimError> {
        let number = k + 1;
        let topic = self.rng.pick(TOPICS);
        let fields = json!({
            "sprint": self.number,
            "number": number,
            "title": format!("Evaluate sample {number:05}: {topic}"),
            "criteria": [
                format!("the {topic} of sample {number:05} is judged against the guide"),
                "every judgement cites its evidence",
            ],
        });
        let new = NewItem::of(task::NAME)
            .parent(self.sprint_id)
            .fields(fields);
        let created = task::create_with(self.engine, &self.cast.operator, new);
        let draft = self.wrote("draft a task", created)?;
        let quality = match self.rng.below(1000) {
            0..450 => Quality::Strong,
            450..750 => Quality::Decent,
            750..900 => Quality::Weak,
            _ => Quality::Poor,
        };
        self.tasks.push(Task {
            item: Some(task::AnyItem::Draft(draft)),
            number,
            quality,
            contributor: 0,
            returned: false,
            lock_forgotten: false,
            held: false,
            hold_done: false,
            upload_tried: false,
            signature_tried: false,
            wip_waits: 0,
            reviews: 0,
            runs: 0,
            findings: 0,
            checker_findings: 0,
            partial_tried: false,
            stale_tried: false,
            self_tried: false,
            evidence_tried: false,
            limit_tried: false,
        });
        let delay = self.rng.range(30, 240);
        self.schedule(delay, Job::Task(self.tasks.len() - 1));
        Ok(())
    }

    pub(super) fn step_task(&mut self, i: usize) -> Result<(), SimError> {
        use task::AnyItem as A;
        let any = self.tasks[i]
            .item
            .take()
            .ok_or_else(|| SimError::Unexpected(format!("task {i} has no item")))?;
        let (next, delay) = match any {
            A::Draft(item) => {
                let screened = item.screen(self.engine, &self.cast.operator);
                let screening = self.moved("screen", screened)?;
                (A::Screening(screening), self.rng.range(60, 480))
            }
            A::Screening(item) => self.screening(i, item)?,
            A::Ready(item) => self.ready(i, item)?,
            A::Claimed(item) => self.claimed(i, item)?,
            A::InProgress(item) => self.in_progress(i, item)?,
            A::Submitted(item) => {
                let evaluated = item.evaluate(self.engine, &self.cast.checker);
                let pending = self.moved("evaluate", evaluated)?;
                (A::EvaluationPending(pending), self.rng.range(10, 90))
            }
            A::EvaluationPending(item) => self.evaluation(i, item)?,
            A::ReviewPending(item) => self.review(i, item)?,
            A::NeedsRevision(item) => self.revision(i, item)?,
            closed @ (A::Accepted(_) | A::Rejected(_) | A::Cancelled(_)) => {
                return Err(SimError::Unexpected(format!(
                    "task {} was scheduled while {}",
                    closed.item().id(),
                    closed.workstation()
                )));
            }
        };
        let outcome = match &next {
            A::Accepted(_) => Some("accepted"),
            A::Rejected(_) => Some("rejected"),
            A::Cancelled(_) => Some("cancelled"),
            _ => None,
        };
        match outcome {
            Some(outcome) => {
                self.closed += 1;
                *self.outcomes.entry(outcome).or_default() += 1;
                if outcome == "accepted" {
                    let delay = self.rng.range(5, 120);
                    self.schedule(delay, Job::Pay(i));
                }
            }
            None => self.schedule(delay, Job::Task(i)),
        }
        self.tasks[i].item = Some(next);
        Ok(())
    }

    pub(super) fn screening(
        &mut self,
        i: usize,
        item: task::Item<task::Screening>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        if !self.tasks[i].returned && self.rng.chance(60) {
            self.tasks[i].returned = true;
            let with = With::new().reason("the acceptance criteria are ambiguous");
            let returned = item.return_to_draft_with(self.engine, &self.cast.operator, with);
            let draft = self.moved("return_to_draft", returned)?;
            return Ok((A::Draft(draft), self.rng.range(120, 720)));
        }
        if !self.tasks[i].lock_forgotten && self.rng.chance(25) {
            self.tasks[i].lock_forgotten = true;
            let published = item.publish(self.engine, &self.cast.operator);
            let back = self.refused(
                "publish without locking the guide and policy",
                &["guide_version_locked", "policy_hash_locked"],
                published,
            )?;
            return Ok((A::Screening(back), self.rng.range(10, 60)));
        }
        let lock = {
            let guide = self
                .guides
                .active
                .as_ref()
                .ok_or_else(|| SimError::Unexpected("no active guide".into()))?;
            json!({
                "guide": guide.id().0,
                "guide_version": guide.field("version").cloned().unwrap_or(Value::Null),
                "guide_hash": guide.field("text_hash").cloned().unwrap_or(Value::Null),
                "policy_hash": guide.field("policy_hash").cloned().unwrap_or(Value::Null),
                "max_revision_rounds": MAX_REVISION_ROUNDS,
            })
        };
        let published =
            item.publish_with(self.engine, &self.cast.operator, With::new().patch(lock));
        let ready = self.moved("publish", published)?;
        self.guides.published += 1;
        if !self.guides.new_queued && self.guides.published * 2 >= self.total && self.total >= 4 {
            self.guides.new_queued = true;
            self.schedule(1, Job::NewGuide);
        }
        Ok((A::Ready(ready), self.rng.range(30, 240)))
    }

    pub(super) fn ready(
        &mut self,
        i: usize,
        item: task::Item<task::Ready>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        if self.rng.chance(15) {
            let with = With::new().reason("withdrawn: the sample was removed from the dataset");
            let cancelled = item.cancel_with(self.engine, &self.cast.operator, with);
            return Ok((A::Cancelled(self.moved("cancel", cancelled)?), 0));
        }
        let free: Vec<usize> = (0..self.cast.people.len())
            .filter(|&p| self.cast.active[p] < MAX_ACTIVE)
            .collect();
        if free.is_empty() {
            return Ok((A::Ready(item), self.rng.range(60, 240)));
        }
        let p = free[self.rng.below(free.len())];
        let person = self.person(p);
        let award = Award {
            amount: format_cents(AWARD_CENTS),
            currency: CURRENCY.to_owned(),
        };
        let patch = json!({ "contributor": person.id(), "award": award });
        let claimed = item.claim_with(self.engine, &person, With::new().patch(patch));
        let claimed = self.moved("claim", claimed)?;
        self.cast.active[p] += 1;
        self.tasks[i].contributor = p;
        Ok((A::Claimed(claimed), self.rng.range(10, 240)))
    }

    pub(super) fn claimed(
        &mut self,
        i: usize,
        item: task::Item<task::Claimed>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        let p = self.tasks[i].contributor;
        let gives_up = self.rng.chance(10);
        if gives_up || self.tasks[i].wip_waits >= MAX_WIP_WAITS {
            let reason = if gives_up {
                "the contributor released the task"
            } else {
                "the contributor has had no capacity for too long"
            };
            let cancelled =
                item.cancel_with(self.engine, &self.cast.operator, With::new().reason(reason));
            let cancelled = self.moved("cancel", cancelled)?;
            self.cast.active[p] -= 1;
            return Ok((A::Cancelled(cancelled), 0));
        }
        let person = self.person(p);
        let started = item.start(self.engine, &person);
        match self.attempt("start while at the WIP limit", &["wip"], started)? {
            Ok(started) => Ok((A::InProgress(started), self.rng.range(240, 2160))),
            Err(back) => {
                self.tasks[i].wip_waits += 1;
                Ok((A::Claimed(back), self.rng.range(120, 480)))
            }
        }
    }

    pub(super) fn in_progress(
        &mut self,
        i: usize,
        item: task::Item<task::InProgress>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        let p = self.tasks[i].contributor;
        let person = self.person(p);
        let id = item.id();
        if self.tasks[i].held {
            self.tasks[i].held = false;
            let released = self.engine.release(id, &person, "blocked");
            let released = self.wrote("release", released)?;
            return Ok((A::from_item(released)?, self.rng.range(60, 480)));
        }
        if !self.tasks[i].hold_done && self.rng.chance(30) {
            self.tasks[i].held = true;
            self.tasks[i].hold_done = true;
            let held = self.engine.hold(
                id,
                &person,
                "blocked",
                "waiting for access to the source data",
            );
            let held = self.wrote("hold", held)?;
            return Ok((A::from_item(held)?, self.rng.range(120, 1440)));
        }
        let packet = self.packet(i, 1, BTreeMap::new(), None);
        if !self.tasks[i].upload_tried && self.rng.chance(50) {
            self.tasks[i].upload_tried = true;
            let mut corrupted = packet.clone();
            if let Some(content) = corrupted
                .artifacts
                .first_mut()
                .and_then(|a| a.content.as_mut())
            {
                // The upload lost its last byte after the contributor hashed it.
                content.pop();
            }
            let patch = submission_patch(person.id(), &corrupted, false);
            let submitted = item.submit_with(self.engine, &person, With::new().patch(patch));
            let back = self.refused(
                "submit an artifact whose bytes do not match its hash",
                &["artifacts_hashed"],
                submitted,
            )?;
            return Ok((A::InProgress(back), self.rng.range(15, 90)));
        }
        if !self.tasks[i].signature_tried && self.rng.chance(50) {
            self.tasks[i].signature_tried = true;
            let patch = submission_patch(person.id(), &packet, true);
            let submitted = item.submit_with(self.engine, &person, With::new().patch(patch));
            let back = self.refused(
                "submit with an attestation signed over another packet",
                &["attestation_signed"],
                submitted,
            )?;
            return Ok((A::InProgress(back), self.rng.range(15, 90)));
        }
        let patch = submission_patch(person.id(), &packet, false);
        let submitted = item.submit_with(self.engine, &person, With::new().patch(patch));
        let submitted = self.moved("submit", submitted)?;
        self.cast.active[p] -= 1;
        Ok((A::Submitted(submitted), self.rng.range(5, 30)))
    }

    pub(super) fn evaluation(
        &mut self,
        i: usize,
        item: task::Item<task::EvaluationPending>,
    ) -> Result<(task::AnyItem, i64), SimError> {
        use task::AnyItem as A;
        let records = task_records(&item)?;
        let hashes = records.submitted_hashes();
        let stale = records
            .checker_run
            .as_ref()
            .is_some_and(|run| run.hashes != hashes);
        if stale && !self.tasks[i].stale_tried && self.rng.chance(250) {
            // The operator routes the resubmission with the previous round's run.
            self.tasks[i].stale_tried = true;
            let routed = item.route_to_review(self.engine, &self.cast.checker);
            let back = self.refused(
                "route a resubmission with the previous checker run",
                &["checker_allows_review"],
                routed,
            )?;
            return Ok((A::EvaluationPending(back), self.rng.range(5, 20)));
        }
        let rounds = records.revision_rounds.unwrap_or(0);
        let block = match self.tasks[i].quality {
            Quality::Strong => 20,
            Quality::Decent => 60,
            Quality::Weak => 150,
            Quality::Poor => 300,
        } / (1 + rounds as u32);
        let blocking = self.rng.chance(block);
        let run = self.checker_run(i, &hashes, blocking);
        let version = records.submission_version();
        if blocking {
            let mut findings = BTreeMap::new();
            for failure in run.results.iter().filter(|r| r.blocks()) {
                self.tasks[i].checker_findings += 1;
                let id = format!("C{}", self.tasks[i].checker_findings);
                let finding = Finding {
                    text: format!(
                        "checker `{}` failed with {} severity",
                        failure.checker, failure.severity
                    ),
                    by: self.cast.checker.id().to_owned(),
                    raised_in: version,
                    status: "open".to_owned(),
                };
                findings.insert(id, finding);
            }
            let patch = json!({
                "checker_run": run,
                "findings": findings,
                "revision_rounds": rounds + 1,
            });
            let with = With::new()
                .patch(patch)
                .reason("a blocking checker failure");
            let failed = item.fail_checks_with(self.engine, &self.cast.checker, with);
            let revision = self.moved("fail_checks", failed)?;
            self.new_round(i);
            return Ok((A::NeedsRevision(revision), self.rng.range(30, 240)));
        }
        let mut patch = json!({ "checker_run": run });
        let resolved: Map<String, Value> = records
            .open_findings()
            .into_iter()
            .filter(|id| id.starts_with('C'))
            .map(|id| (id, json!({ "status": "resolved" })))
            .collect();
        if !resolved.is_empty() {
            patch["findings"] = Value::Object(resolved);
        }
        let routed =
            item.route_to_review_with(self.engine, &self.cast.checker, With::new().patch(patch));
        let review = self.moved("route_to_review", routed)?;
        Ok((A::ReviewPending(review), self.rng.range(60, 2400)))
    }
}
