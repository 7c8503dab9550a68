//! Moving a ledger between stores: `export` (JSON Lines) and `import` (into an empty store).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use clap::ArgMatches;
use serde::{Deserialize, Serialize};
use workstream::{Engine, Event, Reader, Store, StoreError, StoredDefinition};

use crate::db::{self, Stores};
use crate::{Failure, Found};

/// One line of an export: a workflow text the store keeps, or an event. Definitions come
/// first, in the order they were kept; then every item's chain, items in id order, each
/// chain in sequence order. Events carry their `prev` and `hash`, so an import checks
/// every link as it reads.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Definition(StoredDefinition),
    Event(Event),
}

/// `export [-o FILE]`.
pub(crate) fn export<S: Store>(
    engine: &Engine<S>,
    args: &ArgMatches,
    out: &mut dyn Write,
) -> Result<Found, Failure> {
    // One consistent view; written out after it is read (a read may be run again).
    let (definitions, chains) = engine
        .store()
        .read(|tx| {
            let definitions = tx.definitions()?;
            let mut chains = Vec::new();
            for id in tx.item_ids()? {
                chains.push(tx.events(id, 1)?);
            }
            Ok::<_, StoreError>((definitions, chains))
        })
        .map_err(|e| Failure::new(format!("cannot read the ledger: {e}")))?;
    let mut text = Vec::new();
    let events: usize = chains.iter().map(Vec::len).sum();
    for definition in definitions {
        serde_json::to_writer(&mut text, &Line::Definition(definition))?;
        text.push(b'\n');
    }
    let items = chains.len();
    for event in chains.into_iter().flatten() {
        serde_json::to_writer(&mut text, &Line::Event(event))?;
        text.push(b'\n');
    }
    match args.get_one::<PathBuf>("output") {
        Some(path) => {
            crate::audit::write_atomically(path, &text)?;
            eprintln!(
                "exported {items} item(s) and {events} event(s) to {}",
                path.display()
            );
        }
        None => out.write_all(&text)?,
    }
    Ok(Found::Clean)
}

/// `import FILE`: every line read and checked, then written in one transaction, into a
/// store that holds no items yet.
pub(crate) fn import(
    global: &ArgMatches,
    args: &ArgMatches,
    out: &mut dyn Write,
) -> Result<Found, Failure> {
    let path = args
        .get_one::<PathBuf>("file")
        .ok_or_else(|| Failure::new("no file given"))?;
    let (definitions, events) = read_export(path)?;
    let store = db::open_store(global, true)?;
    let imported = match &store {
        Stores::Sqlite(store) => {
            ensure_empty(store)?;
            store
                .import(definitions, events)
                .map(|i| (i.items, i.events))
        }
        #[cfg(feature = "postgres")]
        Stores::Postgres(store) => {
            ensure_empty(&**store)?;
            store
                .import(definitions, events)
                .map(|i| (i.items, i.events))
        }
    };
    let (items, events) =
        imported.map_err(|e| Failure::new(format!("nothing was imported: {e}")))?;
    writeln!(out, "imported {items} item(s) and {events} event(s)")?;
    Ok(Found::Clean)
}

fn ensure_empty(store: &impl Store) -> Result<(), Failure> {
    let ids = store
        .read(|tx| tx.item_ids())
        .map_err(|e: StoreError| Failure::new(format!("cannot read the database: {e}")))?;
    if ids.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "the database already holds {} item(s); import only into an empty one",
            ids.len()
        )))
    }
}

/// Reads an export (`-` for standard input), naming the first line that is not one.
fn read_export(path: &PathBuf) -> Result<(Vec<StoredDefinition>, Vec<Event>), Failure> {
    let shown = path.display().to_string();
    let input: Box<dyn Read> = if shown == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(path)
                .map_err(|e| Failure::new(format!("cannot read {shown}: {e}")))?,
        )
    };
    let (mut definitions, mut events) = (Vec::new(), Vec::new());
    for (n, line) in BufReader::new(input).lines().enumerate() {
        let line = line.map_err(|e| Failure::new(format!("cannot read {shown}: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line).map_err(|e| {
            Failure::new(format!(
                "{shown}:{}: not a line of a workstream export: {e}",
                n + 1
            ))
        })?;
        match parsed {
            Line::Definition(d) if events.is_empty() => definitions.push(d),
            Line::Definition(_) => {
                return Err(Failure::new(format!(
                    "{shown}:{}: a definition after the events (an export lists them first)",
                    n + 1
                )));
            }
            Line::Event(e) => events.push(e),
        }
    }
    Ok((definitions, events))
}
