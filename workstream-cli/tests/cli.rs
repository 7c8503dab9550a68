//! `workstream` run as a user runs it: each command on a small sprint's database and on a
//! board of items in every state, its output compared with a snapshot, and every way a
//! command can fail (exit status 2, one line on stderr).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};
use workstream::prelude::*;
use workstream::{Reader, SqliteStore, Store, StoreError};
use workstream_seeds::sprint::sim;

/// A directory of this test process, removed at the start of the next run.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("workstream-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The sprint's database (12 tasks, seed 7) and the instant the sprint ended.
fn sprint_db() -> &'static (PathBuf, DateTime<Utc>) {
    static DB: OnceLock<(PathBuf, DateTime<Utc>)> = OnceLock::new();
    DB.get_or_init(|| {
        let path = scratch("sprint").join("sprint.db");
        let clock = ManualClock::new(DateTime::UNIX_EPOCH);
        let engine = sim::engine(SqliteStore::open(&path).unwrap(), clock.clone()).unwrap();
        let config = sim::Config { tasks: 12, seed: 7 };
        sim::run(&engine, &clock, &config, &mut |_| {}).unwrap();
        (path, clock.now())
    })
}

const BOARD: &str = r#"
workflow: board
version: 1
roles: [author, reviewer]
checks: [tests_pass]
holds: [blocked, paused]
workstations:
  open: { initial: true }
  coding:
    exit:
      - { check: tests_pass }
  review:
    sla: 24h
  merged: { terminal: true }
  closed: { terminal: true, outcome: cancelled }
transitions:
  start: { from: open, to: coding }
  submit: { from: coding, to: review, by: [author] }
  merge: { from: review, to: merged, by: [reviewer] }
  close: { from: [open, coding, review], to: closed }
"#;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap()
}

/// `--now` for the board: two days after it began.
const BOARD_NOW: &str = "2026-12-02T09:00:00Z";

/// A board of six items: #1 open and held, #2 in coding (its exit is a Rust check), #3
/// depends on #4, which was closed, #5 in review past its SLA, #6 merged.
fn board_db() -> &'static PathBuf {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let path = scratch("board").join("board.db");
        let clock = ManualClock::new(t0());
        let engine = Engine::builder()
            .store(SqliteStore::open(&path).unwrap())
            .workflow(parse("board.yaml", BOARD).unwrap())
            .check("tests_pass", |_| Verdict::Pass)
            .clock(clock.clone())
            .build()
            .unwrap();
        let ann = Actor::new("ann", ["author"]);
        let rob = Actor::new("rob", ["reviewer"]);
        let new = |title: &str| {
            engine
                .create(&ann, NewItem::of("board").fields(json!({ "title": title })))
                .unwrap()
                .id()
        };
        let ids: Vec<ItemId> = [
            "held",
            "coding",
            "waiting",
            "dropped",
            "late review",
            "shipped",
        ]
        .into_iter()
        .map(new)
        .collect();
        clock.advance(TimeDelta::hours(1));
        engine
            .hold(ids[0], &ann, "blocked", "waiting for a design")
            .unwrap();
        for &id in &ids[1..] {
            engine.advance(id, &ann, Move::transition("start")).unwrap();
        }
        engine.add_dependency(ids[2], ids[3], &ann).unwrap();
        engine
            .advance(ids[3], &ann, Move::transition("close"))
            .unwrap();
        for &id in &ids[4..] {
            engine
                .advance(id, &ann, Move::transition("submit"))
                .unwrap();
        }
        clock.advance(TimeDelta::hours(2));
        engine
            .advance(ids[5], &rob, Move::transition("merge"))
            .unwrap();
        clock.advance(TimeDelta::hours(45));
        engine
            .update_fields(ids[1], &ann, json!({ "note": "almost there" }))
            .unwrap();
        path
    })
}

fn workstream() -> Command {
    Command::cargo_bin("workstream").unwrap()
}

/// Runs `workstream` with `args`; returns stdout, stderr and the exit status.
fn run(args: &[&str]) -> (String, String, i32) {
    let output = workstream().args(args).output().unwrap();
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        output.status.code().unwrap_or(-1),
    )
}

/// Runs on the board's database, as of `BOARD_NOW`, and expects success.
fn board(args: &[&str]) -> String {
    let db = board_db().to_str().unwrap();
    let mut all = vec!["--db", db, "--now", BOARD_NOW];
    all.extend_from_slice(args);
    let (out, err, code) = run(&all);
    assert_eq!(code, 0, "workstream {args:?}: {err}");
    out
}

fn sprint(args: &[&str]) -> (String, String, i32) {
    let (db, end) = sprint_db();
    let end = end.to_rfc3339();
    let mut all = vec!["--db", db.to_str().unwrap(), "--now", &end];
    all.extend_from_slice(args);
    run(&all)
}

/// A failure: exit status 2 and one line on stderr, which must contain `says`.
fn fails(args: &[&str], says: &str) {
    let (out, err, code) = run(args);
    assert_eq!(
        code, 2,
        "workstream {args:?} should fail with 2: {out}{err}"
    );
    assert!(err.contains(says), "workstream {args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .to_str()
        .unwrap()
        .to_owned()
}

// ---- files ----

#[test]
fn check_prints_diagnostics_as_a_compiler_does_and_exits_1_on_errors() {
    let valid = repo("tests/workflows/task.v1.yaml");
    let (out, _, code) = run(&["check", &valid]);
    assert_eq!(code, 0);
    assert!(out.ends_with(
        "workflow `task` version 1 is valid (4 workstation(s), 3 transition(s), 0 warning(s))\n"
    ));

    let invalid = repo("workstream-core/tests/invalid/several_errors_at_once.yaml");
    let (out, _, code) = run(&["check", &invalid, &valid]);
    assert_eq!(code, 1, "{out}");
    let shown = out
        .replace(&invalid, "several_errors_at_once.yaml")
        .replace(&valid, "task.v1.yaml");
    insta::assert_snapshot!("check_human", shown);

    let (out, _, code) = run(&["check", "--format", "json", &invalid]);
    assert_eq!(code, 1);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 4, "{out}");
    for line in &lines {
        for key in [
            "code",
            "name",
            "severity",
            "message",
            "file",
            "line",
            "column",
            "end_column",
            "help",
        ] {
            assert!(line.get(key).is_some(), "{key} missing: {line}");
        }
        assert_eq!(line["file"], invalid.as_str());
    }
    assert!(
        lines
            .iter()
            .any(|l| l["code"] == "W0007" && l["name"] == "unknown-key")
    );
    assert!(lines.iter().all(|l| l["severity"] == "error"));
}

#[test]
fn check_of_a_file_that_cannot_be_read_exits_2() {
    fails(
        &["check", "no/such/file.yaml"],
        "cannot read no/such/file.yaml",
    );
    let (_, err, code) = run(&["check"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn graph_draws_mermaid_and_dot() {
    let file = repo("tests/workflows/task.v1.yaml");
    let (mermaid, _, code) = run(&["graph", &file]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("graph_mermaid", mermaid);
    let (dot, _, code) = run(&["graph", &file, "--format", "dot"]);
    assert_eq!(code, 0);
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("send_back"), "{dot}");
    let (out, err, code) = run(&[
        "graph",
        &repo("workstream-core/tests/invalid/missing_to.yaml"),
    ]);
    assert_eq!(code, 1, "a file with errors: {err}");
    assert!(out.is_empty(), "no diagram: {out}");
    assert!(err.contains("error[W0008 missing-key]"), "{err}");
}

#[test]
fn schema_prints_the_json_schema_of_the_format() {
    let (out, _, code) = run(&["schema"]);
    assert_eq!(code, 0);
    let schema: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(
        out.trim_end(),
        include_str!("../schema/workflow.v1.schema.json").trim_end()
    );
}

// ---- a database: ls ----

#[test]
fn ls_lists_items_with_their_signals_and_holds() {
    insta::assert_snapshot!("ls_board", board(&["ls"]));
}

/// The ids `ls` lists on the board as of `now`.
fn ids_at(now: &str, args: &[&str]) -> Vec<u64> {
    let db = board_db().to_str().unwrap();
    let mut all = vec!["--db", db, "--now", now, "ls", "--format", "json"];
    all.extend_from_slice(args);
    let (out, err, code) = run(&all);
    assert_eq!(code, 0, "ls {args:?}: {err}");
    let out: Value = serde_json::from_str(&out).unwrap();
    out.as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_u64().unwrap())
        .collect()
}

fn ids(args: &[&str]) -> Vec<u64> {
    ids_at(BOARD_NOW, args)
}

#[test]
fn ls_filters_by_place_signal_hold_and_time_window() {
    assert_eq!(ids(&[]), [1, 2, 3, 4, 5, 6]);
    assert_eq!(ids(&["--workstation", "coding"]), [2, 3]);
    assert_eq!(ids(&["--workflow", "board", "--open"]), [1, 2, 3, 5]);
    assert_eq!(ids(&["--signal", "blocked"]), [1, 3]);
    assert_eq!(ids(&["--signal", "overdue"]), [5]);
    assert_eq!(
        ids(&["--signal", "blocked", "--signal", "overdue"]),
        Vec::<u64>::new()
    );
    assert_eq!(ids(&["--held"]), [1]);
    assert_eq!(ids(&["--held", "paused"]), Vec::<u64>::new());
    // Only #2 changed in the last hour before `--now`; all six were created before today.
    assert_eq!(ids(&["--updated", "1h"]), [2]);
    assert_eq!(ids(&["--updated", "24h"]), [2]);
    assert_eq!(ids(&["--updated", "7d"]), [1, 2, 3, 4, 5, 6]);
    assert_eq!(ids(&["--created", "today"]), Vec::<u64>::new());
    assert_eq!(ids(&["--created", "this-month"]), Vec::<u64>::new());
    assert_eq!(ids(&["--created", "this-week"]), [1, 2, 3, 4, 5, 6]);
    // Calendar windows are the days of `--tz`: at 20:00 UTC on the 30th the board was
    // created today in UTC, but at +08:00 it is already the 1st of December there.
    let evening = "2026-11-30T20:00:00Z";
    assert_eq!(ids_at(evening, &["--created", "today"]), [1, 2, 3, 4, 5, 6]);
    assert_eq!(
        ids_at(evening, &["--created", "today", "--tz", "+08:00"]),
        Vec::<u64>::new()
    );
    assert_eq!(
        ids_at(evening, &["--created", "this-month", "--tz", "-05:00"]),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(ids(&["--limit", "2", "--open"]), [1, 2]);
    // The limit counts the items that pass the filters.
    assert_eq!(ids(&["--limit", "2", "--signal", "blocked"]), [1, 3]);
    // The Rust check on coding's exit is not evaluated, and not taken to block.
    let out: Value = serde_json::from_str(&board(&[
        "ls",
        "--workstation",
        "coding",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(out[0]["signals"], json!([]));
    assert_eq!(out[0]["unevaluable"], json!(["tests_pass"]));
}

#[test]
fn ls_refuses_a_bad_filter_with_exit_2() {
    let db = board_db().to_str().unwrap();
    let cases: [(&[&str], &str); 9] = [
        (&["ls", "--updated", "3x"], "`3x` is not a window"),
        (&["ls", "--workflow", "nope"], "there is no workflow `nope`"),
        (
            &["ls", "--workstation", "nowhere"],
            "no workflow has a workstation `nowhere`",
        ),
        (&["--tz", "Mars/Olympus", "ls"], "is not an offset"),
        (&["--now", "yesterday", "ls"], "is not an RFC 3339 instant"),
        (
            &["ls", "--held", "nope"],
            "no workflow declares a hold `nope`",
        ),
        (
            &["ls", "--signal", "bogus"],
            "invalid value 'bogus' for '--signal <SIGNAL>'",
        ),
        (
            &["ls", "--limit", "x"],
            "invalid value 'x' for '--limit <N>'",
        ),
        (&["show", "-1"], "unexpected argument '-1'"),
    ];
    for (args, says) in cases {
        let mut all = vec!["--db", db];
        all.extend_from_slice(args);
        fails(&all, says);
    }
}

// ---- show ----

#[test]
fn show_gives_state_holds_fields_signals_every_way_out_and_the_history() {
    let out = board(&["show", "2"]);
    assert!(out.contains("not evaluable outside the program"), "{out}");
    insta::assert_snapshot!("show_coding", out);
    insta::assert_snapshot!("show_held", board(&["show", "1", "--as", "ann:author"]));
    let json: Value = serde_json::from_str(&board(&["show", "3", "--format", "json"])).unwrap();
    assert_eq!(json["item"]["workstation"], "coding");
    assert_eq!(json["signals"]["blocked"][0]["id"], "dependency_not_done");
    assert_eq!(json["history"].as_array().unwrap().len(), 3);
    let ways: Vec<(&str, &str)> = json["ways_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["transition"].as_str().unwrap(),
                w["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(ways, [("submit", "unknown"), ("close", "unknown")]);
    fails(
        &["--db", board_db().to_str().unwrap(), "show", "99"],
        "there is no item #99 in this database",
    );
}

// ---- the sprint's database ----

#[test]
fn every_command_works_on_the_sprint_s_database() {
    let (out, err, code) = sprint(&["ls", "--workflow", "evaluation_task"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.ends_with(" item(s)\n"), "{out}");
    let (out, err, code) = sprint(&["show", "3"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("history:"), "{out}");
    let (out, err, code) = sprint(&["metrics", "--workflow", "evaluation_task"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("metrics_sprint", out);
    let (out, err, code) = sprint(&["metrics", "--format", "json", "--window", "30d"]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(report["arrivals"].as_u64().unwrap() > 12, "{report}");
    let (out, _, code) = sprint(&["verify"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("event(s) check out\n"), "{out}");
    let (out, _, code) = sprint(&["digest"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("sha256:") && out.contains(" items=") && out.contains(" events="));
}

/// A copy of the sprint's database in a fresh directory.
fn copy_of_sprint(name: &str) -> PathBuf {
    let dir = scratch(name);
    let copy = dir.join("copy.db");
    // Through the store, so the copy holds every committed page (the original is in WAL
    // mode): an export into an empty file.
    let (db, _) = sprint_db();
    let (out, err, code) = run(&["--db", db.to_str().unwrap(), "export"]);
    assert_eq!(code, 0, "{err}");
    let export = dir.join("export.jsonl");
    std::fs::write(&export, out).unwrap();
    let (_, err, code) = run(&[
        "--db",
        copy.to_str().unwrap(),
        "import",
        export.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    copy
}

#[test]
fn export_then_import_gives_the_same_ledger_bit_for_bit() {
    let (db, _) = sprint_db();
    let (exported, _, code) = run(&["--db", db.to_str().unwrap(), "export"]);
    assert_eq!(code, 0);
    let copy = copy_of_sprint("roundtrip");
    let (again, _, code) = run(&["--db", copy.to_str().unwrap(), "export"]);
    assert_eq!(code, 0);
    assert_eq!(again, exported, "the export of the import is the export");
    let (a, _, _) = run(&["--db", db.to_str().unwrap(), "digest"]);
    let (b, _, _) = run(&["--db", copy.to_str().unwrap(), "digest"]);
    assert_eq!(a, b);
    // The export ends with the counts and the digest the source gives.
    let end: Value = serde_json::from_str(exported.lines().last().unwrap()).unwrap();
    assert_eq!(format!("{}\n", end["end"]["digest"].as_str().unwrap()), a);
    // Not over the database itself.
    fails(
        &[
            "--db",
            copy.to_str().unwrap(),
            "export",
            "-o",
            copy.to_str().unwrap(),
        ],
        "is the database itself",
    );
    fails(
        &[
            "--db",
            copy.to_str().unwrap(),
            "digest",
            "--save",
            copy.to_str().unwrap(),
        ],
        "is the database itself",
    );
    // Into a store that holds items: refused, nothing written.
    let export = copy.with_file_name("export.jsonl");
    fails(
        &[
            "--db",
            copy.to_str().unwrap(),
            "import",
            export.to_str().unwrap(),
        ],
        "already holds",
    );
    assert_eq!(run(&["--db", copy.to_str().unwrap(), "digest"]).0, a);
}

#[test]
fn import_checks_every_line_and_writes_nothing_when_one_is_wrong() {
    let dir = scratch("bad-import");
    let (db, _) = sprint_db();
    let (exported, _, _) = run(&["--db", db.to_str().unwrap(), "export"]);
    let target = dir.join("target.db");
    let target = target.to_str().unwrap();
    // One event's actor changed, its hash left: the import names it.
    let mut lines: Vec<String> = exported.lines().map(str::to_owned).collect();
    let at = lines
        .iter()
        .rposition(|l| l.contains("\"actor\":\""))
        .unwrap();
    let mut event: Value = serde_json::from_str(&lines[at]).unwrap();
    event["event"]["actor"] = json!("mallory");
    lines[at] = event.to_string();
    let forged = dir.join("forged.jsonl");
    std::fs::write(&forged, lines.join("\n")).unwrap();
    fails(
        &["--db", target, "import", forged.to_str().unwrap()],
        "its content does not match its hash",
    );
    // Nothing was written: the database the import made is removed.
    assert!(!Path::new(target).exists());
    // An empty file, an export cut short, an export with a line dropped and its end kept.
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    fails(
        &["--db", target, "import", empty.to_str().unwrap()],
        "ends without its `end` line",
    );
    let lines: Vec<&str> = exported.lines().collect();
    let cut = dir.join("cut.jsonl");
    std::fs::write(&cut, lines[..40].join("\n")).unwrap();
    fails(
        &["--db", target, "import", cut.to_str().unwrap()],
        "ends without its `end` line",
    );
    let mut shorter: Vec<&str> = lines.clone();
    shorter.remove(shorter.len() - 2);
    let shorter_file = dir.join("shorter.jsonl");
    std::fs::write(&shorter_file, shorter.join("\n")).unwrap();
    fails(
        &["--db", target, "import", shorter_file.to_str().unwrap()],
        "not the ones it was written with",
    );
    // A kept text changed: refused before anything is opened.
    let mut definition: Value = serde_json::from_str(lines[0]).unwrap();
    definition["definition"]["text"] = json!("::: not yaml [");
    let mut bad_text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    bad_text[0] = definition.to_string();
    let bad_text_file = dir.join("bad-text.jsonl");
    std::fs::write(&bad_text_file, bad_text.join("\n")).unwrap();
    fails(
        &["--db", target, "import", bad_text_file.to_str().unwrap()],
        ":1: the text of workflow",
    );
    assert!(!Path::new(target).exists(), "nothing was created");
    // A line that is not one.
    let garbled = dir.join("garbled.jsonl");
    std::fs::write(&garbled, format!("{}\n{{\"nope\": 1}}\n", lines[0])).unwrap();
    fails(
        &["--db", target, "import", garbled.to_str().unwrap()],
        "garbled.jsonl:2: not a line of a workstream export",
    );
}

// ---- verify and digests ----

#[test]
fn verify_names_every_broken_item_and_exits_1() {
    let copy = copy_of_sprint("tamper");
    let db = copy.to_str().unwrap();
    let conn = rusqlite::Connection::open(&copy).unwrap();
    // Two items' events edited in place, hashes left as they were.
    for item in [3, 5] {
        let changed = conn
            .execute(
                "UPDATE events SET body = replace(body, '\"actor\":\"', '\"actor\":\"x') \
                 WHERE item = ?1 AND seq = 2",
                [item],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
    drop(conn);
    let (out, err, code) = run(&["--db", db, "verify"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("item #3, event 2: its content does not match its hash"),
        "{out}"
    );
    assert!(out.contains("item #5, event 2: "), "{out}");
    assert!(out.contains("in 2 item(s)"), "{out}");
    let (out, _, code) = run(&["--db", db, "verify", "--format", "json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["broken_items"], json!([3, 5]));
    assert_eq!(report["problems"][0]["seq"], 2);
    // A kept workflow text that no longer parses does not stop the audit: it is one more
    // problem named.
    rusqlite::Connection::open(&copy)
        .unwrap()
        .execute(
            "UPDATE definitions SET text = '::: not yaml [' WHERE workflow = 'project_guide'",
            [],
        )
        .unwrap();
    let (out, err, code) = run(&["--db", db, "verify"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("the workflow text kept under"), "{out}");
    let (_, err, code) = run(&["--db", db, "export"]);
    assert_eq!(code, 0, "export reads the store alone: {err}");
}

#[test]
fn a_history_rewritten_with_every_hash_recomputed_is_named_by_verify_against() {
    let copy = copy_of_sprint("rewrite");
    let db = copy.to_str().unwrap();
    let dir = copy.parent().unwrap();
    let digest_file = dir.join("digest.txt");
    let (summary, _, code) = run(&[
        "--db",
        db,
        "digest",
        "--save",
        digest_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let summary = summary.trim_end().to_owned();
    let (out, _, code) = run(&[
        "--db",
        db,
        "verify",
        "--against",
        digest_file.to_str().unwrap(),
        "--expect",
        &summary,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the ledger extends the digest"), "{out}");

    // The attacker: item 4's second event gets another actor, it and every later event of
    // the item are resealed, and the item's state follows. `verify` alone sees nothing.
    let store = SqliteStore::open(&copy).unwrap();
    let (definitions, ids) = store
        .read(|tx| Ok::<_, StoreError>((tx.definitions()?, tx.item_ids()?)))
        .unwrap();
    let mut events = Vec::new();
    for id in ids {
        let mut prev = workstream::Sha256Hash::ZERO;
        for event in store.read(|tx| tx.events(id, 1)).unwrap() {
            let mut draft = event.into_draft();
            if id == ItemId(4) && draft.seq == 2 {
                draft.actor = "mallory".into();
            }
            draft.prev = prev;
            let sealed = draft.seal();
            prev = *sealed.hash();
            events.push(sealed);
        }
    }
    drop(store);
    let forged = dir.join("forged.db");
    SqliteStore::open(&forged)
        .unwrap()
        .import(definitions, events)
        .unwrap();
    let forged = forged.to_str().unwrap();
    let (out, _, code) = run(&["--db", forged, "verify"]);
    assert_eq!(code, 0, "a resealed ledger passes verify: {out}");
    let (out, _, code) = run(&[
        "--db",
        forged,
        "verify",
        "--against",
        digest_file.to_str().unwrap(),
        "--expect",
        &summary,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("item #4, event "), "{out}");
    assert!(out.contains(": its history was rewritten"), "{out}");
    assert!(out.contains("1 problem(s) in 1 item(s)"), "{out}");

    // A digest file that is not the one kept, and a summary in place of a file.
    fails(
        &[
            "--db",
            forged,
            "verify",
            "--against",
            digest_file.to_str().unwrap(),
            "--expect",
            "sha256:0000000000000000000000000000000000000000000000000000000000000000 items=1 events=1",
        ],
        "is not the one expected",
    );
    let text = std::fs::read_to_string(&digest_file).unwrap();
    let edited = dir.join("edited.txt");
    std::fs::write(&edited, text.replacen(" 2 sha256:", " 1 sha256:", 1)).unwrap();
    fails(
        &[
            "--db",
            forged,
            "verify",
            "--against",
            edited.to_str().unwrap(),
        ],
        "the digest was altered",
    );
    let only = dir.join("summary.txt");
    std::fs::write(&only, &summary).unwrap();
    fails(
        &[
            "--db",
            forged,
            "verify",
            "--against",
            only.to_str().unwrap(),
        ],
        "holds a digest's summary only",
    );
}

// ---- errors ----

#[test]
fn a_database_that_cannot_be_used_is_one_line_and_exit_2() {
    let dir = scratch("errors");
    fails(&["ls"], "this command needs a database");
    fails(
        &["--db", dir.join("missing.db").to_str().unwrap(), "ls"],
        "there is no database at",
    );
    fails(&["--db", dir.to_str().unwrap(), "ls"], "is a directory");
    // Another program's database.
    let other = dir.join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT);")
        .unwrap();
    fails(
        &["--db", other.to_str().unwrap(), "verify"],
        "not a workstream database",
    );
    // A newer schema than this build knows.
    let newer = dir.join("newer.db");
    drop(SqliteStore::open(&newer).unwrap());
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99;")
        .unwrap();
    fails(&["--db", newer.to_str().unwrap(), "ls"], "99");
    // A database another program holds locked.
    let locked = dir.join("locked.db");
    drop(SqliteStore::open(&locked).unwrap());
    let holder = rusqlite::Connection::open(&locked).unwrap();
    holder
        .execute_batch(
            "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; \
             UPDATE meta SET value = value WHERE key = 'next_item'; COMMIT;",
        )
        .unwrap();
    fails(&["--db", locked.to_str().unwrap(), "ls"], "locked");
    drop(holder);
    let (_, err, code) = run(&["--db", locked.to_str().unwrap(), "ls"]);
    assert_eq!(code, 0, "usable once the lock is gone: {err}");
    // An empty file is not made into a database by a command that reads.
    let zero = dir.join("zero.db");
    std::fs::write(&zero, "").unwrap();
    fails(&["--db", zero.to_str().unwrap(), "ls"], "is an empty file");
    assert_eq!(std::fs::metadata(&zero).unwrap().len(), 0);
    // A key=value connection string names a server, not a file.
    let conninfo = "host=127.0.0.1 port=1 dbname=nothing user=nobody connect_timeout=1";
    let (_, err, code) = run(&["--db", conninfo, "ls"]);
    assert_eq!(code, 2, "{err}");
    assert!(!Path::new(conninfo).exists());
    // A workflows directory that is not one.
    fails(
        &[
            "--db",
            board_db().to_str().unwrap(),
            "--workflows",
            dir.join("nowhere").to_str().unwrap(),
            "ls",
        ],
        "cannot read the workflows directory",
    );
}

/// Runs `workstream` with its stdout closed before anything is read.
fn with_output_closed(args: &[&str]) -> (i32, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("workstream"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn output_closed_early_exits_as_sigpipe_would_and_problems_still_exit_1() {
    let (db, _) = sprint_db();
    let (code, err) = with_output_closed(&["--db", db.to_str().unwrap(), "export"]);
    assert_eq!((code, err.as_str()), (141, ""), "quiet, and not a success");
    // A file with errors is never a success, read or not.
    let invalid = repo("workstream-core/tests/invalid/several_errors_at_once.yaml");
    let (code, _) = with_output_closed(&["check", &invalid]);
    assert!(code == 1 || code == 141, "{code}");
}

#[test]
fn what_the_database_holds_cannot_redraw_the_terminal() {
    let dir = scratch("escapes");
    let path = dir.join("escapes.db");
    let engine = Engine::builder()
        .store(SqliteStore::open(&path).unwrap())
        .workflow(parse("board.yaml", BOARD).unwrap())
        .check("tests_pass", |_| Verdict::Pass)
        .build()
        .unwrap();
    let evil = Actor::new("eve\u{1b}[31m\n| #9   forged", ["author"]);
    let item = engine.create(&evil, NewItem::of("board")).unwrap();
    engine
        .hold(item.id(), &evil, "paused", "\u{1b}[2Jgone")
        .unwrap();
    drop(engine);
    let (out, err, code) = run(&["--db", path.to_str().unwrap(), "show", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('\u{1b}'), "{out}");
    assert!(out.contains("eve\\u{1b}[31m\\n| #9   forged"), "{out}");
    assert!(!out.lines().any(|l| l.starts_with("| #9")), "{out}");
}

// ---- PostgreSQL ----

#[test]
fn the_commands_work_on_a_postgresql_schema() {
    let Some(server) = workstream_store_postgres::testing::server("the CLI on PostgreSQL") else {
        return;
    };
    let url = server.url();
    let schema = server.fresh_schema("cli");
    let (db, _) = sprint_db();
    let (export, _, code) = run(&["--db", db.to_str().unwrap(), "export"]);
    assert_eq!(code, 0);
    let file = scratch("pg").join("export.jsonl");
    std::fs::write(&file, &export).unwrap();
    let pg = ["--db", url.as_str(), "--schema", schema.as_str()];
    let with = |args: &[&str]| {
        let mut all = pg.to_vec();
        all.extend_from_slice(args);
        run(&all)
    };
    // A schema that does not exist is not created by a read.
    let (_, err, code) = with(&["ls"]);
    assert_eq!(code, 2, "{err}");
    let (out, err, code) = with(&["import", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("imported "), "{out}");
    let (out, err, code) = with(&["verify"]);
    assert_eq!(code, 0, "{err}{out}");
    let (digest, _, _) = with(&["digest"]);
    assert_eq!(digest, run(&["--db", db.to_str().unwrap(), "digest"]).0);
    let (again, _, code) = with(&["export"]);
    assert_eq!(code, 0);
    assert_eq!(again, export, "the same ledger, bit for bit");
    let (out, err, code) = with(&["ls", "--workflow", "evaluation_task", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// One HTTP/1.1 request over a fresh connection: the status and the body.
fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `workstream serve` started on a free port; its address, once it says it serves.
struct Served {
    child: std::process::Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Served {
    use std::io::BufRead;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("workstream"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("not the serving line: {line}"))
        .to_owned();
    Served { child, addr }
}

#[test]
fn serve_answers_the_api_over_the_database_and_takes_writes_only_with_a_token() {
    let (source, end) = sprint_db();
    let dir = scratch("serve");
    let db = dir.join("sprint.db");
    std::fs::copy(source, &db).unwrap();
    let db = db.to_str().unwrap();
    let now = end.to_rfc3339();

    // Read-only by default, on loopback.
    {
        // `--now last`: as of the database's latest change, so the windows are about the sprint.
        let served = serve(&[
            "--db",
            db,
            "--now",
            "last",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ]);
        assert!(served.addr.starts_with("127.0.0.1:"), "{}", served.addr);
        let (status, body) = http(&served.addr, "GET", "/api/verify", None, "");
        assert_eq!(status, 200, "{body}");
        let verified: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(verified["ok"], true);
        let (status, body) = http(
            &served.addr,
            "GET",
            "/api/items?state=accepted&workflow=evaluation_task",
            None,
            "",
        );
        assert_eq!(status, 200);
        assert!(
            serde_json::from_str::<Value>(&body).unwrap()["count"]
                .as_u64()
                .unwrap()
                > 0
        );
        let (status, body) = http(
            &served.addr,
            "POST",
            "/api/items",
            None,
            r#"{"workflow":"evaluation_task"}"#,
        );
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("read_only"), "{body}");
        let (status, _) = http(&served.addr, "GET", "/", None, "");
        assert_eq!(status, 200);
        let (_, body) = http(&served.addr, "GET", "/api/items?updated=1h", None, "");
        let recent = serde_json::from_str::<Value>(&body).unwrap();
        assert!(recent["count"].as_u64().unwrap() > 0, "{body}");
        assert_eq!(recent["now"], now.replace("+00:00", "Z"));
    }

    // A token made by `workstream token`, kept as its digest in the file.
    let tokens = dir.join("tokens");
    let (token, err, code) = run(&[
        "token",
        "--actor",
        "dana",
        "--roles",
        "operator",
        "--tokens",
        tokens.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_owned();
    let kept = std::fs::read_to_string(&tokens).unwrap();
    assert!(
        kept.starts_with("sha256:") && kept.contains(" dana operator"),
        "{kept}"
    );
    assert!(!kept.contains(&token));
    let (_, err, code) = run(&[
        "--db",
        db,
        "--now",
        &now,
        "serve",
        "--writes",
        "--tokens",
        tokens.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "a frozen clock would date every write: {err}");
    let served = serve(&[
        "--db",
        db,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--writes",
        "--tokens",
        tokens.to_str().unwrap(),
    ]);
    let body = r#"{"workflow":"evaluation_task","fields":{"title":"t"}}"#;
    let (status, _) = http(&served.addr, "POST", "/api/items", None, body);
    assert_eq!(status, 401);
    let (status, answer) = http(&served.addr, "POST", "/api/items", Some(&token), body);
    assert_eq!(status, 201, "{answer}");
    let id = serde_json::from_str::<Value>(&answer).unwrap()["item"]["id"]
        .as_u64()
        .unwrap();
    drop(served);
    let (out, _, _) = run(&["--db", db, "show", &id.to_string(), "--format", "json"]);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["history"][0]["actor"], "dana", "the token's actor");
}

#[test]
fn serve_refuses_bad_setups_with_one_line_each() {
    let (db, _) = sprint_db();
    let db = db.to_str().unwrap();
    let dir = scratch("serve-bad");
    let bad = dir.join("tokens");
    std::fs::write(&bad, "wst_plain_token ann\n").unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, "# nobody yet\n").unwrap();
    for (args, says) in [
        (vec!["serve", "--writes"], "--tokens"),
        (
            vec!["serve", "--tokens", bad.to_str().unwrap()],
            "tokens:1: a line is `sha256:HEX",
        ),
        (
            vec!["serve", "--writes", "--tokens", empty.to_str().unwrap()],
            "holds no token",
        ),
        (vec!["serve", "--listen", "nowhere"], "invalid value"),
    ] {
        let mut all = vec!["--db", db];
        all.extend(args.iter().copied());
        let (_, err, code) = run(&all);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let (_, err, code) = run(&["token", "--actor", "two words"]);
    assert_eq!(code, 2, "{err}");
    let (_, err, code) = run(&["token", "--actor", "ann", "--tokens", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("left as it is"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&bad).unwrap(),
        "wst_plain_token ann\n"
    );
}

#[test]
fn serve_stops_on_sigterm_while_a_client_follows_the_feed() {
    use std::io::{Read, Write};
    let (db, _) = sprint_db();
    let mut served = serve(&[
        "--db",
        db.to_str().unwrap(),
        "serve",
        "--listen",
        "127.0.0.1:0",
    ]);
    let mut stream = std::net::TcpStream::connect(&served.addr).unwrap();
    write!(
        stream,
        "GET /api/feed?after=0 HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        served.addr
    )
    .unwrap();
    let mut first = [0u8; 512];
    let n = stream.read(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    let pid = served.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not stop with a client connected"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}
