//! The `sprint` example's simulation and report, run small: the same seed on a fresh
//! database writes the same ledger, every chain verifies, the totals add up, another seed
//! writes another ledger, an existing database gets a new sprint beside the old one, and a
//! bad database gives a clear error.

use workstream_seeds::sprint::{db, money, report, sim};

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use workstream::prelude::*;
use workstream::sqlite::Durability;
use workstream::{SqliteStore, StoreError};

fn sprint<S: Store>(
    store: S,
    tasks: u32,
    seed: u64,
) -> (Engine<S>, sim::SprintRun, report::Report) {
    let clock = ManualClock::new(chrono::DateTime::UNIX_EPOCH);
    let engine = sim::engine(store, clock.clone()).unwrap();
    let config = sim::Config { tasks, seed };
    let run = sim::run(&engine, &clock, &config, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let report = report::build(&engine, &run).unwrap();
    (engine, run, report)
}

fn in_memory(tasks: u32, seed: u64) -> (Engine<SqliteStore>, sim::SprintRun, report::Report) {
    sprint(SqliteStore::open_in_memory().unwrap(), tasks, seed)
}

/// A fresh directory under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("workstream-sprint-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_same_seed_writes_the_same_ledger_and_every_total_adds_up() {
    let (engine, run, report) = in_memory(30, 11);
    let (_, again, replayed) = in_memory(30, 11);
    assert_eq!(report.digest, replayed.digest, "same seed, same ledger");
    assert_eq!(run.stats.events, again.stats.events);
    assert_eq!(run.end, again.end);

    // Every chain verifies, and the database holds exactly what the run wrote.
    assert_eq!(report.verified.events, report.events);
    assert_eq!(report.verified.items, report.items);
    assert_eq!(report.events as u64, run.stats.events);

    // Every task closed, each once.
    let count = |w: &str| report.outcomes.get(w).copied().unwrap_or(0);
    let accepted = count("accepted");
    assert_eq!(report.tasks, 30);
    assert_eq!(accepted + count("rejected") + count("cancelled"), 30);
    assert_eq!(report.rounds.values().sum::<usize>(), 30);
    assert_eq!(
        report.cancelled_at_limit + report.cancelled_early,
        count("cancelled")
    );
    assert!(accepted > 0 && report.first_time > 0 && report.first_time < accepted);

    // Money, exactly: awards = accepted × 10.00, every one contributed and paid.
    let award = sim::AWARD_CENTS * accepted as i64;
    assert_eq!(report.award_cents, award);
    assert_eq!(report.contributed_cents, award);
    assert_eq!(report.payments.get("fulfilled"), Some(&(accepted, award)));
    assert_eq!(report.payments.get("pending"), None);
    assert_eq!(
        report.contributions.get("submission"),
        Some(&(accepted as u64))
    );

    // No task accepted without a review by someone other than its contributor.
    assert_eq!(report.accepted_without_review, 0);
    for task in engine
        .items(
            &Query::new()
                .workflow(sim::task::NAME)
                .workstation("accepted"),
        )
        .unwrap()
    {
        let history = engine.history(task.id()).unwrap();
        let accept = history.last().unwrap();
        assert_ne!(
            Some(accept.actor()),
            task.field("contributor").and_then(Value::as_str)
        );
        assert!(task.field("guide_version").is_some() && task.field("policy_hash").is_some());
    }

    // The flow metrics count the same tasks, and the sprint recorded the same totals.
    assert_eq!(report.flow.throughput, accepted);
    assert_eq!(report.lead.get("accepted").map(|s| s.count), Some(accepted));
    let closed = engine.item(run.sprint).unwrap();
    assert_eq!(closed.workstation(), "closed");
    assert_eq!(
        closed
            .fields()
            .pointer("/totals/accepted")
            .and_then(Value::as_u64),
        Some(accepted as u64)
    );
    // Two guide versions, each locked into some tasks.
    assert_eq!(run.guides.len(), 2);
    assert_eq!(report.guide_versions.len(), 2);
}

#[test]
fn another_seed_writes_another_ledger() {
    let (_, _, a) = in_memory(30, 11);
    let (_, _, b) = in_memory(30, 12);
    assert_ne!(a.digest, b.digest);
}

#[test]
fn the_default_sprint_meets_every_planned_mistake_and_the_readme_shows_it() {
    // The README's command: seed 7, 200 tasks. (The database is in memory here; the ledger
    // does not depend on where it is kept.)
    let (_, run, report) = in_memory(200, 7);

    // The simulation stops with an error if a planned mistake goes through or a refusal
    // has reasons it did not plan for; here every kind of mistake must have happened.
    let situations = &run.stats.situations;
    for situation in [
        "publish without locking the guide and policy",
        "start while at the WIP limit",
        "submit an artifact whose bytes do not match its hash",
        "submit with an attestation signed over another packet",
        "route a resubmission with the previous checker run",
        "review one's own work",
        "accept without citing evidence",
        "resubmit answering only some findings",
        "resubmit with no revision rounds left",
        "a receipt that conflicts with the payment",
        "a second receipt for a fulfilled payment",
    ] {
        assert!(
            situations.get(situation).is_some_and(|&n| n > 0),
            "never met: {situation} (met: {situations:?})"
        );
    }
    assert_eq!(run.stats.refused, situations.values().sum::<u64>());
    // A resubmission answering some findings names the ones it left unanswered.
    let partial = run
        .stats
        .reasons
        .values()
        .find(|r| r.check.as_deref() == Some("findings_answered"))
        .unwrap();
    assert!(
        partial.example.contains("\"unanswered\":[\"F"),
        "{}",
        partial.example
    );
    assert!(report.cancelled_at_limit > 0 && report.cancelled_early > 0);
    assert!(report.outcomes.get("rejected").is_some_and(|&n| n > 0));
    assert!(report.holds > 0);

    // The README's excerpt is this run's report, line for line (but for wall-clock times).
    let perf = report::Perf {
        db: "sprint.db".to_owned(),
        durability: "FULL",
        run: Duration::from_secs(1),
        report: Duration::from_secs(1),
        fsync: [None, None],
        cpu: None,
    };
    let rendered = report::render(&report, &run, &perf);
    let readme = include_str!("../README.md");
    let excerpt = readme
        .split("## The sprint")
        .nth(1)
        .and_then(|rest| rest.split("```text\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("a text block in the README's sprint section");
    let deterministic = excerpt.split("\nPerformance").next().unwrap_or_default();
    for line in deterministic
        .lines()
        .filter(|l| !l.trim().is_empty() && l.trim() != "…")
    {
        assert!(
            rendered.lines().any(|r| r == line),
            "README.md's sprint excerpt is out of date: `{line}` is not in the report of \
             `cargo run --release --example sprint`; replace the excerpt from:\n{rendered}"
        );
    }
}

#[test]
fn an_existing_database_gets_a_new_sprint_beside_the_old_one() {
    let dir = TempDir::new("reuse");
    let path = dir.0.join("sprint.db");
    let open = || db::open(&path, Durability::Normal, Duration::from_secs(5)).unwrap();
    let (engine, first, report) = sprint(open(), 12, 5);
    let tasks = Query::new().workflow(sim::task::NAME).parent(first.sprint);
    let heads = |engine: &Engine<SqliteStore>| -> Vec<_> {
        engine
            .items(&tasks)
            .unwrap()
            .iter()
            .map(|t| (t.id(), *t.head()))
            .collect()
    };
    let before = heads(&engine);
    drop(engine);

    let (engine, second, again) = sprint(open(), 12, 5);
    assert_eq!((first.number, second.number), (1, 2));
    assert!(
        second.start > first.end,
        "the new sprint starts after the first"
    );
    assert_eq!(again.tasks, 12, "the report reads only this sprint's tasks");
    assert_eq!(
        heads(&engine),
        before,
        "the first sprint's tasks are untouched"
    );
    assert_eq!(
        again.verified.events,
        report.events + again.events + 1,
        "both sprints verify (and the first one's guide was retired)"
    );
}

#[test]
fn a_bad_database_path_is_a_clear_error() {
    let dir = TempDir::new("bad");
    let open = |path: &std::path::Path| {
        db::open(path, Durability::Full, Duration::from_secs(1)).map(|_| ())
    };

    let missing = dir.0.join("no/such/dir/sprint.db");
    let err = open(&missing).unwrap_err();
    assert!(err.contains("does not exist"), "{err}");

    let err = open(&dir.0).unwrap_err();
    assert!(err.contains("is a directory"), "{err}");

    let text = dir.0.join("notes.db");
    std::fs::write(&text, "these are notes, not a database\n".repeat(200)).unwrap();
    let err = open(&text).unwrap_err();
    assert!(err.contains("not a SQLite database"), "{err}");
    assert!(
        std::fs::read_to_string(&text)
            .unwrap()
            .starts_with("these are notes"),
        "the file is left untouched"
    );
}

#[test]
fn a_locked_database_stops_the_sprint_with_a_clear_error() {
    let dir = TempDir::new("locked");
    let path = dir.0.join("sprint.db");
    let holder = db::open(&path, Durability::Normal, Duration::from_secs(5)).unwrap();
    let waiter = db::open(&path, Durability::Normal, Duration::from_millis(100)).unwrap();
    let clock = ManualClock::new(chrono::DateTime::UNIX_EPOCH);
    let engine = sim::engine(waiter, clock.clone()).unwrap();
    let config = sim::Config { tasks: 5, seed: 1 };
    // Another connection holds the write lock for as long as the sprint tries to write.
    let outcome = holder
        .write(|_| Ok::<_, StoreError>(sim::run(&engine, &clock, &config, &mut |_| {})))
        .unwrap();
    let err = outcome.unwrap_err().to_string();
    assert!(err.contains("locked"), "{err}");
}

#[test]
fn amounts_are_exact() {
    assert_eq!(money::parse_cents("10.00"), Some(1000));
    assert_eq!(money::parse_cents("0.07"), Some(7));
    for bad in [
        "10",
        "10.0",
        "10.000",
        "-1.00",
        "1e3",
        ".50",
        "1.5O",
        "",
        "99999999999999999.00",
    ] {
        assert_eq!(money::parse_cents(bad), None, "{bad}");
    }
    assert_eq!(money::format_cents(1000), "10.00");
    assert_eq!(money::format_cents(-5), "-0.05");
    assert_eq!(money::format_cents(123_456_789), "1234567.89");
}

#[test]
fn a_postgres_url_is_shown_without_its_password() {
    assert_eq!(
        db::redacted("postgres://app:s3cr3t@db.internal:5432/app?password=other&sslmode=disable"),
        "postgres://app@db.internal:5432/app"
    );
    assert_eq!(
        db::redacted("postgres://u:pa?ss@db.internal/app"),
        "postgres://u@db.internal:5432/app"
    );
    assert_eq!(
        db::redacted("postgresql://db.internal/app"),
        "postgres://db.internal:5432/app"
    );
    assert!(!db::redacted("postgres://[::1").contains("::1"));
}
