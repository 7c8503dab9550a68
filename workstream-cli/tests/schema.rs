//! The JSON Schema `workstream schema` prints, against the one reader: every workflow file
//! in the repository that the reader accepts, the schema accepts; every fixture the reader
//! refuses for an unknown key, a missing key, a value of the wrong kind or an unknown op,
//! the schema refuses too. So the schema an editor checks against cannot drift from the
//! format.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_path_buf()
}

fn validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(include_str!("../schema/workflow.v1.schema.json")).unwrap();
    jsonschema::draft7::new(&schema).unwrap_or_else(|e| panic!("the schema is not valid: {e}"))
}

/// The YAML as the JSON an editor's language server checks; `None` when it is not YAML the
/// reader accepts as a tree (a syntax error, a tag, a second document).
fn as_json(text: &str) -> Option<Value> {
    serde_saphyr::from_str::<Value>(text).ok()
}

/// Every `*.yaml` and `*.yml` file under `dir`, skipping build directories and `skip`.
fn yaml_files(dir: &Path, skip: &[PathBuf], found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name == "target" || name.starts_with('.') || skip.contains(&path) {
                continue;
            }
            yaml_files(&path, skip, found);
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            found.push(path);
        }
    }
}

#[test]
fn every_valid_workflow_file_in_the_repository_meets_the_schema() {
    let root = root();
    let skip = [
        root.join("workstream-core/tests/invalid"),
        root.join("tests/ui/fail"),
    ];
    let mut files = Vec::new();
    yaml_files(&root, &skip, &mut files);
    files.sort();
    let validator = validator();
    let mut checked = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let shown = path.strip_prefix(&root).unwrap().display().to_string();
        let Some(json) = as_json(&text) else {
            continue;
        };
        if json.get("workflow").is_none() {
            // Not a workflow file (a CI configuration, a fixture of something else).
            continue;
        }
        workstream::parse(&shown, &text).unwrap_or_else(|d| panic!("{shown}:\n{d}"));
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{shown} is valid but does not meet the schema:\n  {}",
            errors.join("\n  ")
        );
        checked += 1;
    }
    // The examples' ten, the tests' and benches' own: a walk that found none checks nothing.
    assert!(checked >= 14, "only {checked} workflow files found");
}

/// The codes the reader gives for what a schema can see: a key it does not know, a key
/// missing, a value of the wrong kind, an op it does not know.
const STRUCTURAL: [&str; 4] = ["W0007", "W0008", "W0009", "W0018"];

#[test]
fn fixtures_refused_for_their_shape_are_refused_by_the_schema() {
    let dir = root().join("workstream-core/tests/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let validator = validator();
    let mut refused = BTreeSet::new();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let codes = workstream::parse_bytes(&name, &bytes)
            .map(|_| Vec::new())
            .unwrap_or_else(|d| d.errors().map(|e| e.code.id().to_owned()).collect());
        assert!(
            !codes.is_empty(),
            "{name}: the fixture is accepted by the reader"
        );
        if !codes.iter().any(|c| STRUCTURAL.contains(&c.as_str())) {
            continue;
        }
        // An empty file is `null` to YAML: the schema refuses it for not being a map.
        let json = as_json(&text).unwrap_or(Value::Null);
        assert!(
            !validator.is_valid(&json),
            "{name} is refused by the reader ({}) but meets the schema",
            codes.join(" ")
        );
        refused.insert(name);
    }
    // The fixtures for unknown keys and wrong kinds are among them.
    for name in [
        "misspelt_key.yaml",
        "misspelt_top_level_key.yaml",
        "flag_not_boolean.yaml",
        "from_not_a_name.yaml",
        "missing_to.yaml",
        "misspelt_op.yaml",
    ] {
        assert!(refused.contains(name), "{name} was not checked");
    }
}

#[test]
fn a_misspelt_key_a_wrong_kind_and_an_unknown_op_each_fail_at_their_place() {
    let validator = validator();
    let base = "workflow: t\nversion: 1\nworkstations:\n  a: { initial: true }\n  b: { terminal: true }\ntransitions:\n  go: { from: a, to: b }\n";
    let accepted = as_json(base).unwrap();
    assert!(validator.is_valid(&accepted), "the base case is valid");
    for (text, place) in [
        (
            base.replace("to: b }", "to: b, rewrok: true }"),
            "/transitions/go",
        ),
        (base.replace("to: b", "to: 42"), "/transitions/go/to"),
        (
            base.replace(
                "to: b }",
                "to: b, requires: [ { assert: fields.n, op: equals, value: 1 } ] }",
            ),
            "/transitions/go/requires/0",
        ),
    ] {
        assert!(workstream::parse("t.yaml", &text).is_err(), "{text}");
        let json = as_json(&text).unwrap();
        let places: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.instance_path().to_string())
            .collect();
        assert!(
            places.iter().any(|p| p.starts_with(place)),
            "expected an error at {place}, got {places:?}"
        );
    }
}
