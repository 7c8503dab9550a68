//! The table of invalid workflow files.
//!
//! Each file in `tests/invalid/` starts with comment lines naming every diagnostic the
//! validator must report for it, as `CODE@LINE:COL` (warnings included):
//!
//! ```yaml
//! # expect: W0003@9:28 W0004@9:39
//! ```
//!
//! The test fails when a file yields a diagnostic that is not listed, misses one that is, or
//! parses successfully, or when a diagnostic's excerpt is not the line its position names
//! (lines end at `\n`, `\r\n` or a lone `\r`, as in YAML).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use workstream_core::{Code, parse_bytes};

/// The lines of `text`, each ended by `\n`, `\r\n` or a lone `\r`: the line breaks of YAML,
/// split here independently of the library.
fn lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['\r', '\n']) {
        out.push(&rest[..i]);
        let width = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[i + width..];
    }
    out.push(rest);
    out
}

fn expected(text: &str, file: &str) -> BTreeSet<(String, u32, u32)> {
    let mut out = BTreeSet::new();
    for line in lines(text).into_iter().take_while(|l| l.starts_with('#')) {
        let Some(list) = line.strip_prefix("# expect:") else {
            continue;
        };
        for item in list.split_whitespace() {
            let (code, pos) = item
                .split_once('@')
                .unwrap_or_else(|| panic!("{file}: `{item}` is not CODE@LINE:COL"));
            let (line, col) = pos
                .split_once(':')
                .unwrap_or_else(|| panic!("{file}: `{item}` is not CODE@LINE:COL"));
            let code = Code::from_id_or_name(code)
                .unwrap_or_else(|| panic!("{file}: unknown code `{code}`"));
            out.insert((
                code.id().to_owned(),
                line.parse().unwrap(),
                col.parse().unwrap(),
            ));
        }
    }
    assert!(!out.is_empty(), "{file}: no `# expect:` line");
    out
}

#[test]
fn every_invalid_file_reports_exactly_its_diagnostics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "only {} invalid files", files.len());
    let mut failures = Vec::new();
    let mut codes_seen = BTreeSet::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = fs::read(path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let want = expected(&text, &name);
        let file_lines = lines(&text);
        match parse_bytes(&name, &bytes) {
            Ok(_) => failures.push(format!("{name}: parsed without errors")),
            Err(diagnostics) => {
                let got: BTreeSet<_> = diagnostics
                    .all()
                    .iter()
                    .map(|d| (d.code.id().to_owned(), d.span.line, d.span.column))
                    .collect();
                for d in diagnostics.all() {
                    assert!(d.to_string().contains(&format!("{name}:{}:", d.span.line)));
                    codes_seen.insert(d.code);
                    // The excerpt is the line the position names, whatever ends the lines
                    // (up to the first invalid byte of a file that is not UTF-8).
                    if d.span.line > 0 && d.code != Code::InputLimit {
                        let line = file_lines.get(d.span.line as usize - 1).copied();
                        if line != Some(d.source_line.as_str()) {
                            failures.push(format!(
                                "{name}: the excerpt of {}@{}:{} is {:?}, the line is {line:?}",
                                d.code.id(),
                                d.span.line,
                                d.span.column,
                                d.source_line
                            ));
                        }
                    }
                }
                if got != want {
                    failures.push(format!(
                        "{name}:\n  expected {want:?}\n  got      {got:?}\n{diagnostics}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
    // The table exercises every error code.
    let missing: Vec<_> = Code::ALL
        .iter()
        .filter(|c| c.severity() == workstream_core::Severity::Error && !codes_seen.contains(c))
        .collect();
    assert!(missing.is_empty(), "no invalid file shows {missing:?}");
}
