//! The macro and `check` accept and refuse exactly the same files, with the same words: every
//! workflow file of the trybuild cases goes through `parse` here, and each error (or, for a
//! file that parses, each warning) `parse` reports must be in the compile output the case
//! expects. A rule only the macro knew would show as a case whose file `parse` accepts.

use std::path::Path;

#[test]
fn every_ui_file_gets_from_the_macro_what_parse_says() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/fail");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/ui/fail is there") {
        let path = entry.expect("a directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let stderr_path = path.with_extension("stderr");
        let stderr = std::fs::read_to_string(&stderr_path)
            .unwrap_or_else(|e| panic!("{}: {e}", stderr_path.display()));
        let origin = format!(
            "tests/ui/fail/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let bytes = std::fs::read(&path).expect("the file reads");
        let said: Vec<String> = match workstream::parse_bytes(&origin, &bytes) {
            // The macro prints each error without rustc's own `error` prefix.
            Err(diagnostics) => diagnostics
                .errors()
                .map(|d| d.to_string().trim_start_matches("error").to_owned())
                .collect(),
            Ok(workflow) => {
                // A newer version whose case lists older ones: what `check_migration` says
                // against each is what the macro must say.
                let case = std::fs::read_to_string(path.with_extension("rs")).unwrap_or_default();
                let migration: Vec<String> = previous_files(&case)
                    .iter()
                    .filter_map(|older| {
                        let text = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(older))
                            .ok()?;
                        let older = workstream::parse_bytes(older, &text).ok()?;
                        workflow.check_migration(&older).err()
                    })
                    .flat_map(|d| {
                        d.errors()
                            .map(|d| d.to_string().trim_start_matches("error").to_owned())
                            .collect::<Vec<_>>()
                    })
                    .collect();
                assert!(
                    !workflow.warnings().is_empty() || !migration.is_empty(),
                    "{origin}: `parse` accepts it, so the macro must too, and the case shows \
                     nothing of the file"
                );
                workflow
                    .warnings()
                    .iter()
                    .map(ToString::to_string)
                    .chain(migration)
                    .collect()
            }
        };
        let firsts: Vec<&str> = said
            .iter()
            .map(|m| m.lines().next().unwrap_or_default())
            .collect();
        for (message, first) in said.iter().zip(&firsts) {
            // rustc indents the lines of a note after its first.
            assert!(
                stderr.contains(first),
                "{origin}: `parse` says\n{message}\nbut the macro's output does not:\n{stderr}"
            );
        }
        // And the macro says nothing of the file that `parse` does not.
        for line in stderr.lines().filter(|l| l.starts_with("error: [W")) {
            let said_too = firsts
                .iter()
                .any(|first| line.trim_start_matches("error: ") == first.trim_start_matches(": "));
            assert!(
                said_too,
                "{origin}: the macro says `{line}`, which `parse` does not"
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 8,
        "only {checked} workflow files in tests/ui/fail"
    );
}

/// The files a case lists after `previous = [`.
fn previous_files(case: &str) -> Vec<String> {
    let Some(start) = case.find("previous = [") else {
        return Vec::new();
    };
    let rest = &case[start + "previous = [".len()..];
    let list = &rest[..rest.find(']').unwrap_or(rest.len())];
    list.split(',')
        .filter_map(|item| {
            let item = item.trim().trim_matches('"');
            (!item.is_empty()).then(|| item.to_owned())
        })
        .collect()
}
