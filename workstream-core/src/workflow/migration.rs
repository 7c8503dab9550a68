//! Migrations: how items of an older version of a workflow enter this one, as the newer
//! file declares it, and the checks that need the older version.

use crate::diagnostic::{Code, Diagnostics, Sink, Span};
use crate::workflow::Workflow;

/// How items of an older version enter this one: the `migrations` entry of the newer file
/// for one older version. A workstation or hold it does not rename keeps its name.
#[derive(Clone, Debug, PartialEq)]
pub struct Migration {
    pub(crate) from: u32,
    pub(crate) description: Option<String>,
    pub(crate) by: Option<Vec<String>>,
    pub(crate) workstations: Vec<(String, String)>,
    pub(crate) holds: Vec<(String, String)>,
    pub(crate) reopen: bool,
    pub(crate) restart: bool,
    pub(crate) spans: Spans,
}

/// Where a migration's parts are written in the newer file, for diagnostics that need the
/// older version.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Spans {
    pub(crate) from: Span,
    pub(crate) workstations: Vec<(Span, Span)>,
    pub(crate) holds: Vec<(Span, Span)>,
}

impl Migration {
    /// The older version its items come from.
    pub fn from(&self) -> u32 {
        self.from
    }

    /// Its description, if the file gives one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The roles that may migrate an item (`None`: any actor).
    pub fn by(&self) -> Option<&[String]> {
        self.by.as_deref()
    }

    /// The workstations it renames: older name, name here.
    pub fn renamed_workstations(&self) -> &[(String, String)] {
        &self.workstations
    }

    /// The holds it renames: older name, name here.
    pub fn renamed_holds(&self) -> &[(String, String)] {
        &self.holds
    }

    /// Where an item in the older workstation `older` goes: its new name, or the same name.
    pub fn workstation<'a>(&'a self, older: &'a str) -> &'a str {
        rename(&self.workstations, older)
    }

    /// What the older hold `older` becomes: its new name, or the same name.
    pub fn hold<'a>(&'a self, older: &'a str) -> &'a str {
        rename(&self.holds, older)
    }

    /// Whether it may take an item out of a terminal workstation (`reopen: true`).
    pub fn reopens(&self) -> bool {
        self.reopen
    }

    /// Whether it may take an item into the initial workstation from another (`restart:
    /// true`).
    pub fn restarts(&self) -> bool {
        self.restart
    }
}

fn rename<'a>(renames: &'a [(String, String)], older: &'a str) -> &'a str {
    renames
        .iter()
        .find(|(from, _)| from == older)
        .map_or(older, |(_, to)| to.as_str())
}

impl Workflow {
    /// The migrations the file declares, one per older version.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    /// The migration from `version`, if the file declares one.
    pub fn migration_from(&self, version: u32) -> Option<&Migration> {
        self.migrations.iter().find(|m| m.from == version)
    }

    /// Checks this version's migration from `older` against `older` itself, and names every
    /// problem at its place in this file: an older workstation or hold that maps to nothing
    /// here, two older holds that would become one, a name mapped that `older` does not have,
    /// an item that would leave a terminal
    /// workstation without `reopen: true` or enter the initial one without `restart: true`.
    /// `Ok` when the file declares no migration from `older`'s version, or `older` is
    /// another workflow.
    pub fn check_migration(&self, older: &Workflow) -> Result<(), Diagnostics> {
        let Some(m) = self.migration_from(older.version()) else {
            return Ok(());
        };
        if older.name() != self.name() {
            return Ok(());
        }
        let mut sink = Sink::new(self.origin(), self.source());
        let (this, was) = (self.version(), older.version());
        for ((from, _), (from_span, _)) in m.workstations.iter().zip(&m.spans.workstations) {
            if older.workstation_id(from).is_none() {
                sink.push(
                    Code::InvalidMigration,
                    *from_span,
                    format!("version {was} has no workstation `{from}` to map"),
                );
            }
        }
        for ((from, _), (from_span, _)) in m.holds.iter().zip(&m.spans.holds) {
            if !older.holds().contains(from) {
                sink.push(
                    Code::InvalidMigration,
                    *from_span,
                    format!("version {was} has no hold `{from}` to map"),
                );
            }
        }
        for w in older.workstations() {
            let target = m.workstation(w.name());
            let at = m
                .workstations
                .iter()
                .position(|(from, _)| from == w.name())
                .map_or(m.spans.from, |i| m.spans.workstations[i].1);
            let Some(id) = self.workstation_id(target) else {
                sink.push_help(
                    Code::InvalidMigration,
                    at,
                    format!(
                        "items in `{}` of version {was} map to nothing: version {this} has no \
                         workstation `{target}`",
                        w.name()
                    ),
                    Some(format!(
                        "map it under `workstations:` (`{}: <a workstation of version {this}>`)",
                        w.name()
                    )),
                );
                continue;
            };
            let lands = self.workstation(id);
            if w.is_terminal() && !lands.is_terminal() && !m.reopen {
                sink.push_help(
                    Code::InvalidMigration,
                    at,
                    format!(
                        "items in `{}`, terminal in version {was}, would leave a terminal \
                         workstation: `{target}` is not terminal in version {this}",
                        w.name()
                    ),
                    Some("map it to a terminal workstation, or say `reopen: true`".to_owned()),
                );
            }
            if !w.is_initial() && lands.is_initial() && !m.restart {
                sink.push_help(
                    Code::InvalidMigration,
                    at,
                    format!(
                        "items in `{}` of version {was} would enter `{target}`, the initial \
                         workstation of version {this}",
                        w.name()
                    ),
                    Some("map it elsewhere, or say `restart: true`".to_owned()),
                );
            }
        }
        let mut onto: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
        for hold in older.holds() {
            let target = m.hold(hold);
            // An item may hold several: two older holds may not become one.
            if let Some(first) = onto.insert(target, hold) {
                let at = m
                    .holds
                    .iter()
                    .position(|(from, _)| from == hold || from == first)
                    .map_or(m.spans.from, |i| m.spans.holds[i].1);
                sink.push(
                    Code::InvalidMigration,
                    at,
                    format!(
                        "the holds `{first}` and `{hold}` of version {was} would both become \
                         `{target}`; an item may hold both, so each needs a hold of its own"
                    ),
                );
            }
            if !self.holds().iter().any(|h| h == target) {
                let at = m
                    .holds
                    .iter()
                    .position(|(from, _)| from == hold)
                    .map_or(m.spans.from, |i| m.spans.holds[i].1);
                sink.push_help(
                    Code::InvalidMigration,
                    at,
                    format!(
                        "the hold `{hold}` of version {was} maps to nothing: version {this} has \
                         no hold `{target}`"
                    ),
                    Some(format!(
                        "map it under `holds:` (`{hold}: <a hold of version {this}>`)"
                    )),
                );
            }
        }
        if sink.has_errors() {
            Err(Diagnostics::new(sink.into_items()))
        } else {
            Ok(())
        }
    }
}
