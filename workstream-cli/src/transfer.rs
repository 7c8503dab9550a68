//! Moving a ledger between stores: `export` (JSON Lines) and `import` (into an empty store).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use clap::ArgMatches;
use serde::{Deserialize, Serialize};
use workstream::{Engine, Event, Leaf, LedgerDigest, Reader, Store, StoreError, StoredDefinition};

use crate::db::{self, Stores};
use crate::{Failure, Found};

/// One line of an export: a workflow text the store keeps, an event, or the end. Definitions
/// come first, in the order they were kept; then every item's chain, items in id order, each
/// chain in sequence order; then one `end` line with the counts and the ledger's digest
/// summary, so that an export cut short, or with a line changed and resealed, is refused.
/// Events carry their `prev` and `hash`, so an import checks every link as it reads.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Definition(StoredDefinition),
    Event(Event),
    End(End),
}

/// The last line of an export.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct End {
    definitions: usize,
    items: usize,
    events: usize,
    /// The digest summary of the ledger exported (`sha256:… items=… events=…`).
    digest: String,
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
    let end = End {
        definitions: definitions.len(),
        items: chains.len(),
        events: chains.iter().map(Vec::len).sum(),
        digest: digest_of(chains.iter().flatten()).summary().to_string(),
    };
    for definition in definitions {
        serde_json::to_writer(&mut text, &Line::Definition(definition))?;
        text.push(b'\n');
    }
    for event in chains.into_iter().flatten() {
        serde_json::to_writer(&mut text, &Line::Event(event))?;
        text.push(b'\n');
    }
    let (items, events) = (end.items, end.events);
    serde_json::to_writer(&mut text, &Line::End(end))?;
    text.push(b'\n');
    match args.get_one::<PathBuf>("output") {
        Some(path) => {
            db::refuse_to_overwrite(args, path)?;
            crate::audit::write_atomically(path, &text)?;
            writeln!(
                out,
                "exported {items} item(s) and {events} event(s) to {}",
                path.display()
            )?;
        }
        None => out.write_all(&text)?,
    }
    Ok(Found::Clean)
}

/// The digest of a ledger given as its events, each chain in order: every item's last
/// sequence number and hash.
fn digest_of<'a>(events: impl Iterator<Item = &'a Event>) -> LedgerDigest {
    let mut heads = std::collections::BTreeMap::new();
    for event in events {
        heads.insert(event.item(), (event.seq(), *event.hash()));
    }
    LedgerDigest::from_leaves(
        heads
            .into_iter()
            .map(|(item, (seq, head))| Leaf::new(item, seq, head))
            .collect(),
    )
}

/// `import FILE`: every line read and checked, then written in one transaction, into a
/// store that holds nothing yet. A database file the import created is removed again when
/// the import fails.
pub(crate) fn import(
    global: &ArgMatches,
    args: &ArgMatches,
    out: &mut dyn Write,
) -> Result<Found, Failure> {
    let path = args
        .get_one::<PathBuf>("file")
        .ok_or_else(|| Failure::new("no file given"))?;
    let (definitions, events) = read_export(path)?;
    let created = db::sqlite_path(global).filter(|p| !p.exists());
    let result = (|| {
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
        imported.map_err(|e| Failure::new(format!("nothing was imported: {e}")))
    })();
    let (items, events) = match result {
        Ok(counts) => counts,
        Err(failure) => {
            if let Some(path) = created {
                db::remove_sqlite(&path);
            }
            return Err(failure);
        }
    };
    writeln!(out, "imported {items} item(s) and {events} event(s)")?;
    Ok(Found::Clean)
}

fn ensure_empty(store: &impl Store) -> Result<(), Failure> {
    // One view: the items and the texts as of the same moment.
    let (items, texts) = store
        .read(|tx| Ok::<_, StoreError>((tx.item_ids()?.len(), tx.definitions()?.len())))
        .map_err(|e| Failure::new(format!("cannot read the database: {e}")))?;
    if items > 0 {
        return Err(Failure::new(format!(
            "the database already holds {items} item(s); import only into an empty one"
        )));
    }
    if texts > 0 {
        return Err(Failure::new(format!(
            "the database already keeps {texts} workflow text(s); import only into an empty one"
        )));
    }
    Ok(())
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
    let mut end = None;
    let mut last = 0;
    for (n, line) in BufReader::new(input).lines().enumerate() {
        let line = line.map_err(|e| Failure::new(format!("cannot read {shown}: {e}")))?;
        last = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let at = |what: &str| Failure::new(format!("{shown}:{}: {what}", n + 1));
        if end.is_some() {
            return Err(at("a line after the end of the export"));
        }
        let parsed: Line = serde_json::from_str(&line)
            .map_err(|e| at(&format!("not a line of a workstream export: {e}")))?;
        match parsed {
            Line::Definition(d) if events.is_empty() => {
                if let Some(problem) = d.problem() {
                    return Err(at(&format!(
                        "the text of workflow `{}` version {}: {problem}",
                        d.workflow, d.version
                    )));
                }
                definitions.push(d);
            }
            Line::Definition(_) => {
                return Err(at(
                    "a definition after the events (an export lists them first)",
                ));
            }
            Line::Event(e) => events.push(e),
            Line::End(e) => end = Some(e),
        }
    }
    let Some(end) = end else {
        return Err(Failure::new(format!(
            "{shown}:{last}: the export ends without its `end` line: it was cut short, or is \
             not an export"
        )));
    };
    let digest = digest_of(events.iter());
    let found = (definitions.len(), digest.leaves().len(), events.len());
    if found != (end.definitions, end.items, end.events)
        || digest.summary().to_string() != end.digest
    {
        return Err(Failure::new(format!(
            "{shown}: the export's lines are not the ones it was written with: its end says \
             {} definition(s), {} item(s), {} event(s) and digest {}; the lines give {}, {}, {} \
             and {}",
            end.definitions,
            end.items,
            end.events,
            end.digest,
            found.0,
            found.1,
            found.2,
            digest.summary()
        )));
    }
    Ok((definitions, events))
}
