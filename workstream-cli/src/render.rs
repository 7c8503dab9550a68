//! Tables and the words commands print.

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};
use workstream::{Change, Event, Sha256Hash};

/// A table row from cells of any kind: `cells![number(1), "text", name]`.
macro_rules! cells {
    ($($cell:expr),* $(,)?) => {
        vec![$(comfy_table::Cell::from($cell)),*]
    };
}
pub(crate) use cells;

/// A table with a header, as every command prints them: plain ASCII, no colours, so that
/// output is the same on any terminal, in a file or in a pipe.
pub(crate) fn table<const N: usize>(header: [&str; N]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::ASCII_BORDERS_ONLY_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header);
    table
}

/// Text from the store as a terminal may show it: control characters (escapes, line breaks)
/// written as escapes, so what the database holds cannot redraw or forge what is printed.
pub(crate) fn clean(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A number right-aligned in its column.
pub(crate) fn number(n: impl ToString) -> Cell {
    Cell::new(n.to_string()).set_alignment(CellAlignment::Right)
}

/// A hash as a table shows it: its first 16 hex digits (JSON output has it whole).
pub(crate) fn short(hash: &Sha256Hash) -> String {
    let text = hash.to_string();
    format!("{}…", &text[..text.len().min(7 + 16)])
}

/// What an event changed, in a few words.
pub(crate) fn change(event: &Event) -> String {
    clean(&describe(event))
}

fn describe(event: &Event) -> String {
    match event.change() {
        Change::Created {
            workflow,
            version,
            workstation,
            ..
        } => format!("created in `{workstation}` ({workflow} v{version})"),
        Change::Transitioned {
            transition,
            from,
            to,
            ..
        } => format!("{transition}: {from} → {to}"),
        Change::FieldsUpdated { patch } => {
            let keys: Vec<String> = patch
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            format!("fields updated: {}", keys.join(", "))
        }
        Change::Held { hold } => format!("held `{hold}`"),
        Change::Released { hold } => format!("released `{hold}`"),
        Change::DependencyAdded { on } => format!("depends on {on}"),
        Change::DependencyRemoved { on } => format!("no longer depends on {on}"),
        Change::ParentSet { parent: Some(p) } => format!("parent set to {p}"),
        Change::ParentSet { parent: None } => "parent removed".to_owned(),
        Change::Migrated {
            from_version,
            to_version,
            from_workstation,
            to_workstation,
            ..
        } => format!(
            "migrated v{from_version} → v{to_version}: {from_workstation} → {to_workstation}"
        ),
        other => other.kind().to_owned(),
    }
}
