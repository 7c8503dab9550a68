//! Migrations: how items of an older version enter this one.

use super::{MIGRATION_KEYS, Named, RawMigration, TreeReader, describe_value, named};
use crate::diagnostic::Code;
use crate::yaml::{Kind, Node};

impl TreeReader<'_, '_> {
    /// Reads `migrations`: a list of entries, each from one older version.
    pub(super) fn migrations(&mut self, node: &Node) -> Vec<RawMigration> {
        let items = match &node.kind {
            Kind::Null => return Vec::new(),
            Kind::Seq(items) => items,
            _ => {
                self.wrong_kind(
                    node,
                    "`migrations`",
                    "a list of migrations (`- from: 1`, …)",
                );
                return Vec::new();
            }
        };
        items.iter().filter_map(|n| self.migration(n)).collect()
    }

    fn migration(&mut self, node: &Node) -> Option<RawMigration> {
        let f = self.fields(node, "a migration", MIGRATION_KEYS)?;
        let mut m = RawMigration {
            from: None,
            description: None,
            by: None,
            workstations: Vec::new(),
            holds: Vec::new(),
            reopen: false,
            restart: false,
        };
        match f.get("from") {
            None => self.sink.push(
                Code::MissingKey,
                node.span,
                "a migration has no `from`: the older version its items come from",
            ),
            Some(n) => match n.kind {
                Kind::Int(v) if v >= 1 && v <= i64::from(u32::MAX) => {
                    m.from = Some((v as u32, n.span));
                }
                _ => self.sink.push(
                    Code::InvalidMigration,
                    n.span,
                    format!(
                        "a migration's `from` is an older version (1, 2, ...), not {}",
                        describe_value(n)
                    ),
                ),
            },
        }
        m.description = f
            .get("description")
            .and_then(|n| self.string(n, "`description`"))
            .map(|n| n.value);
        if let Some(n) = f.get("by") {
            let (by, _) = match &n.kind {
                Kind::Str(_) => (self.string(n, "`by`").into_iter().collect(), true),
                _ => self.names(Some(n), "`by`"),
            };
            m.by = Some(by);
        }
        m.workstations = self.renames(f.get("workstations"), "`workstations` of a migration");
        m.holds = self.renames(f.get("holds"), "`holds` of a migration");
        m.reopen = self.flag(f.get("reopen"), "`reopen`").unwrap_or(false);
        m.restart = self.flag(f.get("restart"), "`restart`").unwrap_or(false);
        Some(m)
    }

    /// A map from older names to names here.
    fn renames(&mut self, node: Option<&Node>, what: &str) -> Vec<(Named, Named)> {
        let Some(node) = node else {
            return Vec::new();
        };
        match &node.kind {
            Kind::Null => Vec::new(),
            Kind::Map(entries) => entries
                .iter()
                .filter_map(|(k, v)| Some((named(k), self.string(v, what)?)))
                .collect(),
            _ => {
                self.wrong_kind(node, what, "a map from older names to names here");
                Vec::new()
            }
        }
    }
}
