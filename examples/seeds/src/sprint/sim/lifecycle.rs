//! The sprint's own life: opening it, the guide versions it activates, and closing it.

use super::*;

impl<S: Store> Sim<'_, S> {
    pub(super) fn open(&mut self, config: &Config) -> Result<(), SimError> {
        let fields = json!({
            "number": self.number,
            "seed": config.seed.to_string(),
            "tasks": config.tasks,
            "people": self.cast.people.len(),
            "policy": policy(),
            "policy_hash": policy_hash().to_string(),
        });
        let new = NewItem::of(sprint::NAME)
            .fields(fields)
            .reason("sprint opened");
        let created = sprint::create_with(self.engine, &self.cast.operator, new);
        let open = self.wrote("open the sprint", created)?;
        self.sprint_id = open.id();
        self.sprint = Some(open);
        // Guide versions go on across sprints: the new sprint starts from a new version.
        let guides = self.engine.items(&Query::new().workflow(guide::NAME))?;
        self.guides.version = guides
            .iter()
            .filter_map(|g| g.field("version").and_then(Value::as_u64))
            .max()
            .unwrap_or(0);
        self.activate_guide(false)?;
        for old in guides.into_iter().filter(|g| g.workstation() == "active") {
            if let guide::AnyItem::Active(item) = guide::AnyItem::from_item(old)? {
                let retired = item.retire_with(
                    self.engine,
                    &self.cast.operator,
                    With::new().reason("a new sprint starts from a new guide version"),
                );
                self.moved("retire", retired)?;
            }
        }
        let people = self.cast.people.len() as i64;
        for k in 0..self.total {
            // The operator drafts about one task per person and day.
            let at = i64::from(k) * 1440 / people + self.rng.range(0, 30);
            self.time.seq += 1;
            self.time
                .queue
                .push(Reverse((at, self.time.seq, Job::Draft(k))));
        }
        Ok(())
    }

    /// Activates the next guide version and retires the one before it. The mid-sprint
    /// version adds a lesson learned; tasks published before it keep the version they
    /// locked.
    pub(super) fn activate_guide(&mut self, lesson: bool) -> Result<(), SimError> {
        self.guides.version += 1;
        let version = self.guides.version;
        let mut text = format!(
            "Project guide, version {version} (evaluation sprint {}).\n\
             1. Each task names its acceptance criteria; a submission answers every one.\n\
             2. A submission packet lists its artifacts, each bound by its sha256, and is \
             signed by its contributor.\n\
             3. Automated checkers run before review. A high-severity failure, or a medium \
             one of a required checker, sends the work back.\n\
             4. Reviewers cite evidence. A revision answers every open finding.\n",
            self.number
        );
        if lesson {
            text.push_str("5. Lesson learned: cite the source of every figure in evidence.json.\n");
        }
        let text_hash = artifact_hash(text.as_bytes()).to_string();
        let new = NewItem::of(guide::NAME).fields(json!({
            "sprint": self.number,
            "version": version,
            "text": text,
            "policy": policy(),
        }));
        let created = guide::create_with(self.engine, &self.cast.operator, new);
        let draft = self.wrote("write the guide", created)?;
        self.guides.ids.push(draft.id());
        let patch = json!({ "text_hash": text_hash, "policy_hash": policy_hash().to_string() });
        let activated =
            draft.activate_with(self.engine, &self.cast.operator, With::new().patch(patch));
        let active = self.moved("activate", activated)?;
        if let Some(old) = self.guides.active.replace(active) {
            let retired = old.retire_with(
                self.engine,
                &self.cast.operator,
                With::new().reason(format!("replaced by guide version {version}")),
            );
            self.moved("retire", retired)?;
        }
        Ok(())
    }

    pub(super) fn close(&mut self) -> Result<(), SimError> {
        self.time.now += 60;
        self.clock.set(self.instant());
        let open = self
            .sprint
            .take()
            .ok_or_else(|| SimError::Unexpected("the sprint is not open".into()))?;
        let totals = json!({ "totals": self.outcomes });
        let closed = open.close_with(
            self.engine,
            &self.cast.operator,
            With::new().patch(totals).reason("every task is closed"),
        );
        self.moved("close the sprint", closed)?;
        Ok(())
    }

    // -- Tasks ----------------------------------------------------------------------------
}
