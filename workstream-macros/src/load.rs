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
}

/// Why the macro cannot generate the module.
pub(crate) struct Failure {
    /// The file's absolute path, when it exists (so the stub still tracks it for rebuilds).
    pub(crate) absolute: Option<String>,
    /// One compile error each.
    pub(crate) messages: Vec<String>,
}

impl Failure {
    fn one(message: String) -> Self {
        Failure {
            absolute: None,
            messages: vec![message],
        }
    }
}

pub(crate) fn load(input: &Input) -> Result<Loaded, Failure> {
    let written = input.path.value();
    if Path::new(&written).is_absolute() {
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
    let full: PathBuf = Path::new(&dir).join(&written);
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
    match parse_bytes(&written, &bytes) {
        Ok(workflow) => Ok(Loaded { workflow, absolute }),
        Err(diagnostics) => Err(Failure {
            absolute: Some(absolute),
            messages: render(&diagnostics),
        }),
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
