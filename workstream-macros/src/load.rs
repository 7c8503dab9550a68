//! Stage 2: find the file, read it, and validate it with the one validator of workflow files.

use std::path::{Path, PathBuf};

use workstream_core::{Diagnostics, Severity, Workflow, parse_bytes};

use crate::input::Input;

/// A file that read and validated.
pub(crate) struct Loaded {
    /// The validated workflow.
    pub(crate) workflow: Workflow,
    /// The file's absolute path, for `include_str!`.
    pub(crate) absolute: String,
    /// The older versions' files, tracked so that editing one rebuilds the crate.
    pub(crate) previous: Vec<String>,
}

/// Why the macro cannot generate the module.
pub(crate) struct Failure {
    /// The files that exist (so the stub still tracks them for rebuilds).
    pub(crate) tracked: Vec<String>,
    /// One compile error each.
    pub(crate) messages: Vec<String>,
}

impl Failure {
    fn one(message: String) -> Self {
        Failure {
            tracked: Vec::new(),
            messages: vec![message],
        }
    }
}

/// Reads the file written as `written` (relative to the crate's directory) and validates it.
fn read(written: &str) -> Result<(String, Workflow), Failure> {
    if Path::new(written).is_absolute() {
        return Err(Failure::one(format!(
            "`{written}` is an absolute path; write the workflow file's path relative to the \
             crate's directory (the one with its Cargo.toml), so the crate builds on any machine"
        )));
    }
    let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return Err(Failure::one(
            "CARGO_MANIFEST_DIR is not set: `workflow!` resolves paths against the crate's \
             directory and must be built by cargo"
                .to_owned(),
        ));
    };
    let full: PathBuf = Path::new(&dir).join(written);
    let bytes = match std::fs::read(&full) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Failure::one(format!(
                "workflow file `{written}` not found: paths are relative to the crate's \
                 directory (the one with its Cargo.toml)"
            )));
        }
        Err(e) => {
            return Err(Failure::one(format!(
                "workflow file `{written}` could not be read: {e}"
            )));
        }
    };
    let absolute = full.to_string_lossy().into_owned();
    match parse_bytes(written, &bytes) {
        Ok(workflow) => Ok((absolute, workflow)),
        Err(diagnostics) => Err(Failure {
            tracked: vec![absolute],
            messages: render(&diagnostics),
        }),
    }
}

pub(crate) fn load(input: &Input) -> Result<Loaded, Failure> {
    let main = read(&input.path.value());
    let mut failure = Failure {
        tracked: Vec::new(),
        messages: Vec::new(),
    };
    let mut older = Vec::new();
    for file in &input.previous {
        match read(&file.value()) {
            Ok((absolute, workflow)) => {
                failure.tracked.push(absolute);
                older.push(workflow);
            }
            Err(f) => {
                failure.tracked.extend(f.tracked);
                failure.messages.extend(f.messages);
            }
        }
    }
    let (absolute, workflow) = match main {
        Ok(loaded) => loaded,
        Err(f) => {
            failure.tracked.extend(f.tracked);
            failure.messages.splice(0..0, f.messages);
            return Err(failure);
        }
    };
    for older in &older {
        if older.name() != workflow.name() {
            failure.messages.push(format!(
                "`{}` is workflow `{}`, not `{}`: `previous` lists older versions of this file",
                older.origin(),
                older.name(),
                workflow.name()
            ));
        } else if older.version() >= workflow.version() {
            failure.messages.push(format!(
                "`{}` is version {} of `{}`, not older than this file's version {}: \
                 `previous` lists older versions",
                older.origin(),
                older.version(),
                older.name(),
                workflow.version()
            ));
        } else if workflow.migration_from(older.version()).is_none() {
            failure.messages.push(format!(
                "`{}` is version {} of `{}`, but this file declares no migration from it; add \
                 `migrations: [{{ from: {} }}]`, or leave it out of `previous`",
                older.origin(),
                older.version(),
                older.name(),
                older.version()
            ));
        } else if let Err(diagnostics) = workflow.check_migration(older) {
            failure.messages.extend(render(&diagnostics));
        }
    }
    if failure.messages.is_empty() {
        Ok(Loaded {
            workflow,
            absolute,
            previous: failure.tracked,
        })
    } else {
        failure.tracked.push(absolute);
        Err(failure)
    }
}

/// Each error as a compile-error message: `[W0003 unknown-workstation]: …` with its
/// `file:line:col`, the offending line and any help (rustc prefixes `error: `).
fn render(diagnostics: &Diagnostics) -> Vec<String> {
    diagnostics
        .all()
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .map(|d| {
            let text = d.to_string();
            text.strip_prefix("error")
                .map_or(text.clone(), str::to_owned)
        })
        .collect()
}
