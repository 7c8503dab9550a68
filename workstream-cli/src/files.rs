//! Commands on workflow files: `check`, `graph`, `schema`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use workstream::{Diagnostic, Workflow};

use crate::{Failure, Found};

/// The JSON Schema of the workflow format, version 1.
pub(crate) const SCHEMA: &str = include_str!("../schema/workflow.v1.schema.json");

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::new(format!("cannot read {}: {e}", path.display())))
}

/// `check FILE…`: every diagnostic of every file; problems when any file has errors.
pub(crate) fn check(args: &ArgMatches, out: &mut dyn Write) -> Result<Found, Failure> {
    let json = args
        .get_one::<String>("format")
        .is_some_and(|f| f == "json");
    let paths: Vec<&PathBuf> = args
        .get_many::<PathBuf>("files")
        .into_iter()
        .flatten()
        .collect();
    // Every file is read before anything is printed: one that cannot be read stops the
    // command (exit 2) rather than leaving a partial report.
    let texts = paths
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut failed = false;
    for (path, bytes) in paths.iter().zip(&texts) {
        let origin = path.display().to_string();
        let (workflow, diagnostics): (Option<Workflow>, Vec<Diagnostic>) =
            match workstream::parse_bytes(&origin, bytes) {
                Ok(workflow) => {
                    let warnings = workflow.warnings().to_vec();
                    (Some(workflow), warnings)
                }
                Err(diagnostics) => {
                    failed = true;
                    (None, diagnostics.all().to_vec())
                }
            };
        if json {
            for diagnostic in &diagnostics {
                serde_json::to_writer(&mut *out, diagnostic)?;
                writeln!(out)?;
            }
            continue;
        }
        for diagnostic in &diagnostics {
            writeln!(out, "{diagnostic}\n")?;
        }
        match workflow {
            Some(w) => writeln!(
                out,
                "{origin}: workflow `{}` version {} is valid ({} workstation(s), {} transition(s), {} warning(s))",
                w.name(),
                w.version(),
                w.workstations().len(),
                w.transitions().len(),
                diagnostics.len()
            )?,
            None => {
                let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                writeln!(
                    out,
                    "{origin}: {errors} error(s), {} warning(s)",
                    diagnostics.len() - errors
                )?;
            }
        }
    }
    Ok(if failed {
        Found::Problems
    } else {
        Found::Clean
    })
}

/// `graph FILE`: the workflow as a Mermaid or Graphviz diagram.
pub(crate) fn graph(args: &ArgMatches, out: &mut dyn Write) -> Result<Found, Failure> {
    let path = args
        .get_one::<PathBuf>("file")
        .ok_or_else(|| Failure::new("no file given"))?;
    let origin = path.display().to_string();
    let workflow = match workstream::parse_bytes(&origin, &read(path)?) {
        Ok(workflow) => workflow,
        Err(diagnostics) => {
            // A file with errors: status 1, as `check` gives; the diagnostics on stderr, so
            // that nothing on stdout passes for a diagram.
            let _ = writeln!(std::io::stderr(), "{diagnostics}");
            return Ok(Found::Problems);
        }
    };
    let text = match args.get_one::<String>("format").map(String::as_str) {
        Some("dot") => workflow.to_dot(),
        _ => workflow.to_mermaid(),
    };
    out.write_all(text.as_bytes())?;
    Ok(Found::Clean)
}

/// `schema`: the JSON Schema of the format.
pub(crate) fn schema(out: &mut dyn Write) -> Result<Found, Failure> {
    out.write_all(SCHEMA.as_bytes())?;
    if !SCHEMA.ends_with('\n') {
        writeln!(out)?;
    }
    Ok(Found::Clean)
}
