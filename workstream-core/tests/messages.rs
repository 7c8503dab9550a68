//! What users read: rendered diagnostics, "did you mean" suggestions, every error at once,
//! and warnings that do not refuse a file.

use workstream_core::{Code, parse};

const BASE: &str = "workflow: review
version: 1
roles: [author, reviewer]
checks: [tests_pass]
workstations:
  open: { initial: true }
  ready: {}
  merged: { terminal: true }
transitions:
  prepare: { from: open, to: ready, by: [author], requires: [ { check: tests_pass } ] }
  merge: { from: ready, to: merged, by: [reviewer] }
";

fn errors(text: &str) -> Vec<(Code, u32, u32, Option<String>)> {
    let diagnostics = parse("review.yaml", text).expect_err("the file was accepted");
    diagnostics
        .all()
        .iter()
        .map(|d| (d.code, d.span.line, d.span.column, d.help.clone()))
        .collect()
}

#[test]
fn the_base_file_is_valid() {
    let wf = parse("review.yaml", BASE).unwrap();
    assert!(wf.warnings().is_empty(), "{:?}", wf.warnings());
}

#[test]
fn misspelt_names_get_a_suggestion() {
    let cases: &[(&str, &str, Code, &str)] = &[
        (
            "to: merged",
            "to: mreged",
            Code::UnknownWorkstation,
            "merged",
        ),
        (
            "by: [reviewer]",
            "by: [reviwer]",
            Code::UnknownRole,
            "reviewer",
        ),
        (
            "check: tests_pass",
            "check: test_pass",
            Code::UnknownCheck,
            "tests_pass",
        ),
        (
            "transitions:",
            "transtions:",
            Code::UnknownKey,
            "transitions",
        ),
        ("initial: true", "intial: true", Code::UnknownKey, "initial"),
        (
            "{ check: tests_pass }",
            "{ assert: feilds.x, op: exists }",
            Code::InvalidPath,
            "fields",
        ),
        (
            "{ check: tests_pass }",
            "{ assert: fields.x, op: exsts }",
            Code::UnknownOp,
            "exists",
        ),
        (
            "{ check: tests_pass }",
            "{ assert: item.workstation, op: eq, value: opne }",
            Code::UnknownWorkstation,
            "open",
        ),
    ];
    for (from, to, code, suggestion) in cases {
        let text = BASE.replacen(from, to, 1);
        let found = errors(&text);
        let want = format!("did you mean `{suggestion}`?");
        assert!(
            found
                .iter()
                .any(|(c, _, _, help)| c == code && help.as_deref() == Some(&want)),
            "replacing `{from}` with `{to}`: expected {code} with {want:?}, got {found:?}"
        );
    }
}

#[test]
fn every_error_is_reported_at_once_in_file_order() {
    let text = BASE
        .replacen("to: merged", "to: mreged", 1)
        .replacen("by: [reviewer]", "by: [nobody]", 1)
        .replacen("version: 1", "version: 0", 1)
        .replacen("  ready: {}", "  ready: { sla: 24 }", 1);
    let found: Vec<(Code, u32, u32)> = errors(&text)
        .into_iter()
        .map(|(c, l, col, _)| (c, l, col))
        .collect();
    assert_eq!(
        found,
        [
            (Code::InvalidVersion, 2, 10),
            (Code::InvalidDuration, 7, 17),
            (Code::UnknownWorkstation, 11, 29),
            (Code::UnknownRole, 11, 42),
            // `reviewer` is no longer used by any transition: a warning, listed after errors.
            (Code::Unused, 3, 17),
        ]
    );
}

#[test]
fn a_diagnostic_renders_with_position_line_and_help() {
    let text = BASE.replacen("to: merged", "to: mreged", 1);
    let diagnostics = parse("review.yaml", &text).unwrap_err();
    let rendered = diagnostics.to_string();
    let expected = "\
error[W0003 unknown-workstation]: there is no workstation `mreged`
  --> review.yaml:11:29
   |
11 |   merge: { from: ready, to: mreged, by: [reviewer] }
   |                             ^^^^^^
   = help: did you mean `merged`?
";
    assert!(rendered.starts_with(expected), "{rendered}");
    assert!(
        rendered.ends_with("review.yaml: 1 error, 0 warnings"),
        "{rendered}"
    );
}

#[test]
fn every_kind_of_line_break_gives_the_same_positions_and_excerpts() {
    // Old Mac files end lines with a lone `\r`; YAML counts it as a line break, and so must
    // the excerpt.
    let text = BASE.replacen("to: merged", "to: mreged", 1);
    let expected = "\
error[W0003 unknown-workstation]: there is no workstation `mreged`
  --> review.yaml:11:29
   |
11 |   merge: { from: ready, to: mreged, by: [reviewer] }
   |                             ^^^^^^
   = help: did you mean `merged`?
";
    for (name, text) in [
        ("\\n", text.clone()),
        ("\\r\\n", text.replace('\n', "\r\n")),
        ("\\r", text.replace('\n', "\r")),
    ] {
        let rendered = parse("review.yaml", &text).unwrap_err().to_string();
        assert!(rendered.starts_with(expected), "{name}:\n{rendered}");
    }
    // A YAML syntax error in a file of lone `\r`s: the parser's line, and its text.
    let text = "workflow: x\rversion: 1\rroles: [a\r";
    let diagnostics = parse("cr.yaml", text).unwrap_err();
    let d = &diagnostics.all()[0];
    assert_eq!(
        (d.code, d.span.line, d.span.column),
        (Code::YamlSyntax, 3, 8)
    );
    assert_eq!(d.source_line, "roles: [a");
    // `\r\r\n` is two line breaks, `\n\r` too, as YAML counts them.
    let text = "workflow: x\r\r\nversion: 1\n\rroles: [a\n";
    let d = &parse("mixed.yaml", text).unwrap_err().all()[0].clone();
    assert_eq!((d.span.line, d.source_line.as_str()), (5, "roles: [a"));
}

#[test]
fn yaml_the_format_cannot_express_is_explained_to_the_author() {
    /// The replacement in BASE, the construct's position, words the message must use.
    type Case = (
        &'static str,
        &'static str,
        (u32, u32),
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        (
            "  ready: {}",
            "  ~: {}",
            (7, 3),
            &["`~`", "null", "plain strings"],
        ),
        (
            "  ready: {}",
            "  null: {}",
            (7, 3),
            &["`null`", "null", "plain strings"],
        ),
        (
            "  ready: {}",
            "  [ready]: {}",
            (7, 3),
            &["a list", "plain strings"],
        ),
        (
            "  ready: {}",
            "  {a: 1}: {}",
            (7, 3),
            &["a map", "plain strings"],
        ),
        (
            "roles: [author, reviewer]",
            "roles: !!set { author, reviewer }",
            (3, 8),
            &["`!!set`", "tag", "as a list"],
        ),
        (
            "workflow: review",
            "workflow: !!binary cmV2aWV3",
            (1, 11),
            &["`!!binary`", "tag", "base64"],
        ),
        (
            "workflow: review",
            "workflow: !!binary /w==",
            (1, 11),
            &["`!!binary`", "tag", "base64"],
        ),
        (
            "  ready: {}",
            "  ready: !gate {}",
            (7, 10),
            &["`!gate`", "tag"],
        ),
    ];
    for (from, to, at, words) in cases {
        let text = BASE.replacen(from, to, 1);
        let diagnostics = parse("review.yaml", &text).expect_err(to);
        let [d] = diagnostics.all() else {
            panic!("{to}: {diagnostics}");
        };
        assert_eq!(d.code, Code::UnsupportedYaml, "{to}: {d}");
        assert_eq!((d.span.line, d.span.column), *at, "{to}: {d}");
        assert_eq!(d.code.to_string(), "W0029 unsupported-yaml");
        let said = format!("{} {}", d.message, d.help.as_deref().unwrap_or_default());
        assert!(said.contains("format v1"), "{to}: {said}");
        for word in *words {
            assert!(said.contains(word), "{to}: `{word}` not in {said}");
        }
        // Written for the file's author, not for the Rust programmer behind the parser.
        for word in ["Option<", "Options", "serde", "deserializ", "ignore_binary"] {
            assert!(!said.contains(word), "{to}: `{word}` in {said}");
        }
    }
}

#[test]
fn warnings_do_not_refuse_a_file() {
    let text = BASE
        .replacen("roles: [author, reviewer]", "roles: [author, reviewer, admin]", 1)
        .replacen(
            "requires: [ { check: tests_pass } ]",
            "requires: [ { check: tests_pass }, { assert: item.workstation, op: eq, value: ready } ]",
            1,
        );
    let wf = parse("review.yaml", &text).unwrap();
    let warnings: Vec<(Code, u32, u32)> = wf
        .warnings()
        .iter()
        .map(|d| (d.code, d.span.line, d.span.column))
        .collect();
    assert!(warnings.contains(&(Code::Unused, 3, 27)), "{warnings:?}");
    assert!(
        warnings.contains(&(Code::NeverFires, 10, 3)),
        "{warnings:?}"
    );
    let never = wf
        .warnings()
        .iter()
        .find(|d| d.code == Code::NeverFires)
        .unwrap();
    assert!(
        never.message.contains("while the item is in `open`"),
        "{}",
        never.message
    );
}

#[test]
fn one_mistake_gives_one_diagnostic() {
    // Each mistake is reported once; what it leaves unknown (a flag, a list, a name) does not
    // turn into further errors or warnings.
    let cases: &[(&[(&str, &str)], Code)] = &[
        (&[("initial: true", "intial: true")], Code::UnknownKey),
        (&[("terminal: true", "termnal: true")], Code::UnknownKey),
        (
            &[("terminal: true", "terminal: \"true\"")],
            Code::InvalidType,
        ),
        (&[("open: { initial: true }", "open: 3")], Code::InvalidType),
        (&[("roles:", "roels:")], Code::UnknownKey),
        (&[("[author, reviewer]", "author")], Code::InvalidType),
        (
            &[("checks: [tests_pass]", "checks: tests_pass")],
            Code::InvalidType,
        ),
        (
            &[("{ check: tests_pass }", "{ chek: tests_pass }")],
            Code::UnknownKey,
        ),
        (&[("requires:", "requries:")], Code::UnknownKey),
        (&[("by: [author]", "by: [3]")], Code::InvalidType),
        (&[("from: ready", "from: [ready, 3]")], Code::InvalidType),
        (&[("to: ready", "to: [ready]")], Code::InvalidType),
        (
            &[
                ("[author, reviewer]", "[Author, reviewer]"),
                ("by: [author]", "by: [Author]"),
            ],
            Code::InvalidName,
        ),
        (
            &[("  ready: {}", "  Ready: {}"), ("ready", "Ready")],
            Code::InvalidName,
        ),
        (
            &[("  prepare:", "  - prepare:"), ("  merge:", "  - merge:")],
            Code::InvalidType,
        ),
    ];
    for (edits, code) in cases {
        let text = edits
            .iter()
            .fold(BASE.to_owned(), |text, (from, to)| text.replace(from, to));
        assert_ne!(text, BASE, "{edits:?} changed nothing");
        let found: Vec<Code> = match parse("review.yaml", &text) {
            Ok(_) => Vec::new(),
            Err(diagnostics) => diagnostics.all().iter().map(|d| d.code).collect(),
        };
        assert_eq!(found, [*code], "{edits:?}:\n{text}");
    }
}
