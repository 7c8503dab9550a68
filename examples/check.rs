//! Validates workflow files.
//!
//! ```text
//! cargo run --example check -- examples/workflows/evaluation_task.yaml [more.yaml ...]
//! ```
//!
//! For each file it prints every diagnostic (errors and warnings, with `file:line:col` and the
//! offending line) or, for a valid file, its name, version, definition hash and Mermaid
//! diagram. It exits with status 1 when any file has errors, 2 on a usage or I/O error.

use std::process::ExitCode;

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() || paths.iter().any(|p| p == "-h" || p == "--help") {
        eprintln!("usage: check WORKFLOW.yaml [WORKFLOW.yaml ...]");
        return ExitCode::from(2);
    }
    let mut failed = false;
    for path in &paths {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                eprintln!("error: cannot read {path}: {error}");
                return ExitCode::from(2);
            }
        };
        match workstream::parse_bytes(path, &bytes) {
            Ok(workflow) => {
                for warning in workflow.warnings() {
                    println!("{warning}\n");
                }
                println!(
                    "{path}: workflow `{}` version {} is valid ({} workstations, {} transitions)",
                    workflow.name(),
                    workflow.version(),
                    workflow.workstations().len(),
                    workflow.transitions().len()
                );
                println!("definition hash: {}\n", workflow.definition_hash());
                println!("```mermaid\n{}```", workflow.to_mermaid());
            }
            Err(diagnostics) => {
                println!("{diagnostics}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
