//! Commands that check the ledger: `verify`, `digest`.

use std::io::Write;
use std::path::PathBuf;

use clap::ArgMatches;
use workstream::{DigestSummary, Engine, LedgerDigest, Store};

use crate::render::clean;
use crate::{Failure, Found};

/// `verify [--against DIGEST_FILE [--expect SUMMARY]]`: every problem of every item.
pub(crate) fn verify<S: Store>(
    engine: &Engine<S>,
    args: &ArgMatches,
    out: &mut dyn Write,
) -> Result<Found, Failure> {
    let digest = match args.get_one::<PathBuf>("against") {
        Some(path) => Some(read_digest(path, args.get_one::<String>("expect"))?),
        None => None,
    };
    let report = match &digest {
        Some(digest) => engine.audit_against(digest)?,
        None => engine.audit()?,
    };
    let found = if report.is_clean() {
        Found::Clean
    } else {
        Found::Problems
    };
    if args
        .get_one::<String>("format")
        .is_some_and(|f| f == "json")
    {
        let value = serde_json::json!({
            "items": report.items,
            "events": report.events,
            "clean": report.is_clean(),
            "broken_items": report.broken_items(),
            "problems": report.problems,
            "digest": digest.as_ref().map(|d| d.summary()),
        });
        serde_json::to_writer_pretty(&mut *out, &value)?;
        writeln!(out)?;
        return Ok(found);
    }
    if !report.is_clean() {
        // One line per problem: `item #15, event 9: …`, as grep and people read them.
        for finding in &report.problems {
            writeln!(out, "{}", clean(&finding.to_string()))?;
        }
        writeln!(
            out,
            "{} problem(s) in {} item(s), of {} item(s) and {} event(s) checked",
            report.problems.len(),
            report.broken_items().len(),
            report.items,
            report.events
        )?;
        return Ok(found);
    }
    match &digest {
        Some(d) => {
            writeln!(
                out,
                "{} item(s) and {} event(s) check out, and the ledger extends the digest {}",
                report.items,
                report.events,
                d.summary()
            )?;
            if args.get_one::<String>("expect").is_none() {
                writeln!(
                    out,
                    "note: the digest file was not checked against a summary kept elsewhere \
                     (--expect); one kept beside the database proves nothing against its writers"
                )?;
            }
        }
        None => writeln!(
            out,
            "{} item(s) and {} event(s) check out",
            report.items, report.events
        )?,
    }
    Ok(found)
}

/// Reads a digest file and checks it against the summary kept elsewhere, if given.
fn read_digest(path: &PathBuf, expect: Option<&String>) -> Result<LedgerDigest, Failure> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::new(format!("cannot read the digest {shown}: {e}")))?;
    if text.trim_start().starts_with("sha256:") {
        return Err(Failure::new(format!(
            "{shown} holds a digest's summary only; verify needs the whole digest (written by \
             `workstream digest --save FILE`), and the summary goes to --expect"
        )));
    }
    let digest = LedgerDigest::parse(&text)
        .map_err(|e| Failure::new(format!("{shown} is not a usable digest: {e}")))?;
    if let Some(expect) = expect {
        let expected: DigestSummary = expect
            .parse()
            .map_err(|e| Failure::new(format!("--expect: {e}")))?;
        if expected != digest.summary() {
            return Err(Failure::new(format!(
                "the digest {shown} is not the one expected: it is {}, the summary kept is \
                 {expect}",
                digest.summary()
            )));
        }
    }
    Ok(digest)
}

/// `digest [--save FILE]`: the summary, and the whole digest to a file.
pub(crate) fn digest<S: Store>(
    engine: &Engine<S>,
    args: &ArgMatches,
    out: &mut dyn Write,
) -> Result<Found, Failure> {
    let digest = engine.digest()?;
    if let Some(path) = args.get_one::<PathBuf>("save") {
        crate::db::refuse_to_overwrite(args, path)?;
        write_atomically(path, digest.to_string().as_bytes())?;
    }
    writeln!(out, "{}", digest.summary())?;
    Ok(Found::Clean)
}

/// Writes `bytes` to `path` through a temporary file beside it, so a crash leaves the old
/// file or the new one, never half of one.
pub(crate) fn write_atomically(path: &PathBuf, bytes: &[u8]) -> Result<(), Failure> {
    let shown = path.display();
    let name = path
        .file_name()
        .ok_or_else(|| Failure::new(format!("{shown} is not a file name")))?;
    let mut temporary = name.to_owned();
    temporary.push(".partial");
    let temporary = path.with_file_name(temporary);
    let written = std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::File::open(&temporary)?.sync_all())
        .and_then(|()| std::fs::rename(&temporary, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Failure::new(format!("cannot write {shown}: {e}"))
    })
}
