//! Migrations: what the file alone can tell of them. Each comes from an older version, once;
//! its targets are workstations and holds of this file; who may run it are declared roles.
//! What needs the older version is checked by [`Workflow::check_migration`].
//!
//! [`Workflow::check_migration`]: crate::Workflow::check_migration

use std::collections::HashMap;

use super::Validator;
use crate::diagnostic::{Code, Span};
use crate::name::did_you_mean;
use crate::read::RawMigration;
use crate::workflow::{Migration, MigrationSpans};

impl Validator<'_, '_> {
    pub(super) fn migrations(
        &mut self,
        raw: &[RawMigration],
        version: Option<u32>,
    ) -> Vec<Migration> {
        let mut seen: HashMap<u32, Span> = HashMap::new();
        let mut out = Vec::new();
        for m in raw {
            let Some((from, from_span)) = m.from else {
                continue;
            };
            if let Some(version) = version
                && from >= version
            {
                self.sink.push(
                    Code::InvalidMigration,
                    from_span,
                    format!(
                        "a migration comes from an older version: {from} is not older than \
                         this file's version {version}"
                    ),
                );
            }
            if let Some(first) = seen.insert(from, from_span) {
                self.sink.push(
                    Code::InvalidMigration,
                    from_span,
                    format!(
                        "a migration from version {from} is declared twice (first at line {}, \
                         column {})",
                        first.line, first.column
                    ),
                );
            }
            let by = m.by.as_ref().map(|by| {
                by.iter()
                    .filter(|r| self.role(r))
                    .map(|r| r.value.clone())
                    .collect::<Vec<_>>()
            });
            if let Some(roles) = &m.by
                && roles.is_empty()
            {
                self.sink.push(
                    Code::InvalidMigration,
                    from_span,
                    format!(
                        "the migration from version {from} has an empty `by`: no one could \
                         run it; list its roles, or leave `by` out to let anyone"
                    ),
                );
            }
            let mut mapped: HashMap<(&str, &str), Span> = HashMap::new();
            for (what, pairs) in [("workstation", &m.workstations), ("hold", &m.holds)] {
                for (older, _) in pairs {
                    if let Some(first) = mapped.insert((what, older.value.as_str()), older.span) {
                        self.duplicate(older, &format!("mapped {what}"), first);
                    }
                }
            }
            for (older, here) in &m.workstations {
                self.check_name(older, "workstation name");
                self.workstation(here);
            }
            for (older, here) in &m.holds {
                self.check_name(older, "hold name");
                if !self.holds.contains(&here.value) && !self.gaps.holds {
                    self.sink.push_help(
                        Code::UnknownHold,
                        here.span,
                        format!("hold `{}` is not listed under `holds`", here.value),
                        did_you_mean(&here.value, self.holds.iter().map(String::as_str)),
                    );
                }
            }
            out.push(Migration {
                from,
                description: m.description.clone(),
                by,
                workstations: renames(&m.workstations),
                holds: renames(&m.holds),
                reopen: m.reopen,
                restart: m.restart,
                spans: MigrationSpans {
                    from: from_span,
                    workstations: m
                        .workstations
                        .iter()
                        .map(|(a, b)| (a.span, b.span))
                        .collect(),
                    holds: m.holds.iter().map(|(a, b)| (a.span, b.span)).collect(),
                },
            });
        }
        out
    }
}

fn renames(pairs: &[(crate::read::Named, crate::read::Named)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.value.clone(), b.value.clone()))
        .collect()
}
