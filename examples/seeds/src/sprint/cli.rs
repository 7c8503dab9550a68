//! The command line of the sprint: its options, the progress bar, and the report on stdout.

use super::{db, report, sim};

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Arg, Command, value_parser};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use workstream::sqlite::Durability;
use workstream::{ManualClock, Store};

fn cli() -> Command {
    Command::new("sprint")
        .about(
            "Runs one evaluation sprint end to end on a SQLite database (or a PostgreSQL \
             schema) and reports on it",
        )
        .arg(
            Arg::new("tasks")
                .long("tasks")
                .value_name("N")
                .help("Tasks in the sprint")
                .value_parser(value_parser!(u32).range(1..=1_000_000))
                .default_value("200"),
        )
        .arg(
            Arg::new("seed")
                .long("seed")
                .value_name("SEED")
                .help("Seed of the simulation; the same seed on a fresh database gives the same ledger")
                .value_parser(value_parser!(u64))
                .default_value("7"),
        )
        .arg(
            Arg::new("db")
                .long("db")
                .value_name("PATH|URL")
                .help(
                    "The database file, or a PostgreSQL connection URL (postgres://…); an \
                     existing database is reused and the sprint added beside earlier ones",
                )
                .default_value("sprint.db"),
        )
        .arg(
            Arg::new("schema")
                .long("schema")
                .value_name("NAME")
                .help("On PostgreSQL, the schema the store keeps its tables in")
                .default_value("sprint"),
        )
        .arg(
            Arg::new("durability")
                .long("durability")
                .value_name("LEVEL")
                .help("full: every commit is synced to disk; normal: synced at checkpoints")
                .value_parser(["full", "normal"])
                .default_value("full"),
        )
}

/// Runs the sprint as `cargo run --release --example sprint` does: parses the arguments, runs,
/// prints the report, and returns the exit status (1 when the sprint could not run).
pub fn main() -> ExitCode {
    let matches = cli().get_matches();
    let (Some(&tasks), Some(&seed), Some(db), Some(level), Some(schema)) = (
        matches.get_one::<u32>("tasks"),
        matches.get_one::<u64>("seed"),
        matches.get_one::<String>("db"),
        matches.get_one::<String>("durability"),
        matches.get_one::<String>("schema"),
    ) else {
        eprintln!("error: missing arguments (they all have defaults)");
        return ExitCode::from(2);
    };
    let (durability, level) = match level.as_str() {
        "normal" => (Durability::Normal, "NORMAL"),
        _ => (Durability::Full, "FULL"),
    };
    let ran = if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        db::open_postgres(db, schema).and_then(|store| {
            let shown = format!("{} (schema {schema})", db::redacted(db));
            run(store, &shown, None, tasks, seed, "the PostgreSQL server's")
        })
    } else {
        let path = PathBuf::from(db);
        db::open(&path, durability, Duration::from_secs(5)).and_then(|store| {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let shown = path.display().to_string();
            run(store, &shown, Some(dir), tasks, seed, level)
        })
    };
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the sprint on `store` (shown in the report as `shown`); `dir` is the directory of a
/// database file, whose disk's fsync is measured.
fn run<S: Store>(
    store: S,
    shown: &str,
    dir: Option<&Path>,
    tasks: u32,
    seed: u64,
    level: &'static str,
) -> Result<(), String> {
    let clock = ManualClock::new(chrono::DateTime::UNIX_EPOCH);
    let engine = sim::engine(store, clock.clone()).map_err(|e| e.to_string())?;

    let bar = ProgressBar::with_draw_target(Some(u64::from(tasks)), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{bar:24}] {pos}/{len} tasks closed, {msg}, {elapsed}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    // The disk's speed changes on a shared machine: measure fsync before and after the run.
    let fsync_before = dir.and_then(|dir| db::fsync_cost(dir, 32).ok());
    let config = sim::Config { tasks, seed };
    let scheduled = schedstat();
    let started = Instant::now();
    let ran = sim::run(&engine, &clock, &config, &mut |p| {
        bar.set_position(u64::from(p.closed));
        bar.set_message(format!("{} events", p.events));
    });
    let elapsed = started.elapsed();
    let cpu = match (scheduled, schedstat()) {
        (Some((run0, wait0)), Some((run1, wait1))) => Some((
            Duration::from_nanos(run1.saturating_sub(run0)),
            Duration::from_nanos(wait1.saturating_sub(wait0)),
        )),
        _ => None,
    };
    bar.finish_and_clear();
    let ran = ran.map_err(|e| {
        format!(
            "the sprint on {shown} stopped: {e}\n(what it wrote before stopping is kept; \
             a new run adds a new sprint beside it)"
        )
    })?;

    let reading = Instant::now();
    let report = report::build(&engine, &ran)
        .map_err(|e| format!("the report could not be read back from the ledger: {e}"))?;
    let read = reading.elapsed();
    drop(engine);

    let fsync_after = dir.and_then(|dir| db::fsync_cost(dir, 32).ok());
    let perf = report::Perf {
        db: shown.to_owned(),
        durability: level,
        run: elapsed,
        report: read,
        fsync: [fsync_before, fsync_after],
        cpu,
    };
    print!("{}", report::render(&report, &ran, &perf));
    Ok(())
}

/// The process's time on a CPU and waiting for one, in nanoseconds, where Linux tells it
/// (`/proc/self/schedstat`; the simulation runs on one thread).
fn schedstat() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/self/schedstat").ok()?;
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    Some((fields.next()?.ok()?, fields.next()?.ok()?))
}
