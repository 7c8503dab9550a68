//! `workstream`: check and draw workflow files; inspect, audit, digest, export and import a
//! workstream database (an SQLite file, or a schema on a PostgreSQL server).
//!
//! ```text
//! workstream check examples/workflows/*.yaml
//! workstream --db sprint.db ls --signal blocked --updated 7d
//! workstream --db sprint.db show 12
//! workstream --db sprint.db verify --against digest.txt
//! ```
//!
//! Exit status: 0 when all is well, 1 when a file has errors or the ledger has problems, 2
//! when the command cannot run (a usage error, a file or database that cannot be read), 141
//! when the reader of its output went away first (as if killed by `SIGPIPE`).

mod args;
mod audit;
mod db;
mod failure;
mod files;
mod inspect;
mod render;
#[cfg(feature = "serve")]
mod serve;
mod time;
mod transfer;

use std::io::Write;
use std::process::ExitCode;

pub(crate) use failure::Failure;

/// What a command found: all well, or problems it reported (exit status 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// Nothing wrong.
    Clean,
    /// Problems were reported.
    Problems,
}

/// The exit status of a command killed by `SIGPIPE`, as shells report it: the reader of its
/// output went away before it was all written.
const CLOSED_OUTPUT: u8 = 128 + 13;

fn main() -> ExitCode {
    let matches = match args::command().try_get_matches() {
        Ok(matches) => matches,
        Err(e) if !e.use_stderr() => {
            // Help and version: to stdout, status 0.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // A usage error, in one line: clap's first, which says what is wrong.
            let rendered = e.render().to_string();
            let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or("error: bad arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            // "the following required arguments were not provided:" names them next.
            let named = match lines.next() {
                Some(next) if first.ends_with(':') => format!(" {next}"),
                _ => String::new(),
            };
            say(&format!("error: {first}{named} (see `workstream --help`)"));
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    let result = run(&matches, &mut out);
    let flushed = out.flush();
    let closed = |e: &std::io::Error| e.kind() == std::io::ErrorKind::BrokenPipe;
    match (result, flushed) {
        (Ok(Found::Clean), Ok(())) => ExitCode::SUCCESS,
        // Problems found are problems found, whether or not all of them could be written.
        (Ok(Found::Problems), _) => ExitCode::from(1),
        (Ok(Found::Clean), Err(e)) if closed(&e) => ExitCode::from(CLOSED_OUTPUT),
        (Ok(Found::Clean), Err(e)) => {
            say(&format!("error: cannot write the output: {e}"));
            ExitCode::from(2)
        }
        (Err(failure), _) if failure.is_closed_output() => ExitCode::from(CLOSED_OUTPUT),
        (Err(failure), _) => {
            say(&format!("error: {failure}"));
            ExitCode::from(2)
        }
    }
}

/// Writes a line to stderr; a closed stderr is not a reason to panic.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn run(matches: &clap::ArgMatches, out: &mut dyn Write) -> Result<Found, Failure> {
    let Some((name, sub)) = matches.subcommand() else {
        return Err(Failure::new("no command given; see `workstream --help`"));
    };
    match name {
        "check" => files::check(sub, out),
        "graph" => files::graph(sub, out),
        "schema" => files::schema(out),
        "import" => transfer::import(matches, sub, out),
        #[cfg(feature = "serve")]
        "token" => serve::token(sub, out),
        #[cfg(feature = "serve")]
        "serve" => {
            let db = db::shown(matches);
            match db::open(matches, true)? {
                db::Opened::Sqlite(engine) => serve::serve(*engine, &db, sub, out),
                #[cfg(feature = "postgres")]
                db::Opened::Postgres(engine) => serve::serve(*engine, &db, sub, out),
            }
        }
        #[cfg(not(feature = "serve"))]
        "serve" | "token" => Err(Failure::new(
            "this `workstream` was built without the service (the `serve` feature)",
        )),
        _ => match db::open(matches, matches!(name, "ls" | "show" | "metrics"))? {
            db::Opened::Sqlite(engine) => dispatch(&engine, name, sub, out),
            #[cfg(feature = "postgres")]
            db::Opened::Postgres(engine) => dispatch(&engine, name, sub, out),
        },
    }
}

/// The commands on a database, for either store.
fn dispatch<S: workstream::Store>(
    engine: &workstream::Engine<S>,
    name: &str,
    sub: &clap::ArgMatches,
    out: &mut dyn Write,
) -> Result<Found, Failure> {
    match name {
        "ls" => inspect::ls(engine, sub, out),
        "show" => inspect::show(engine, sub, out),
        "metrics" => inspect::metrics(engine, sub, out),
        "verify" => audit::verify(engine, sub, out),
        "digest" => audit::digest(engine, sub, out),
        "export" => transfer::export(engine, sub, out),
        other => Err(Failure::new(format!("unknown command `{other}`"))),
    }
}
