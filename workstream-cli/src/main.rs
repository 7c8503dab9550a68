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
//! when the command cannot run (a usage error, a file or database that cannot be read).

mod args;
mod audit;
mod db;
mod failure;
mod files;
mod inspect;
mod render;
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

fn main() -> ExitCode {
    let matches = match args::command().try_get_matches() {
        Ok(matches) => matches,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let mut out = std::io::stdout().lock();
    let result = run(&matches, &mut out);
    let flushed = out.flush();
    match (result, flushed) {
        (Ok(Found::Clean), Ok(())) => ExitCode::SUCCESS,
        (Ok(Found::Problems), Ok(())) => ExitCode::from(1),
        // stdout closed early (`| head`): what was asked for was written as far as it was read.
        (Err(failure), _) if failure.is_closed_output() => ExitCode::SUCCESS,
        (Err(failure), _) => {
            eprintln!("error: {failure}");
            ExitCode::from(2)
        }
        // stdout closed early (`| head`): what was asked for was written as far as it was read.
        (Ok(_), Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        (Ok(_), Err(e)) => {
            eprintln!("error: cannot write the output: {e}");
            ExitCode::from(2)
        }
    }
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
        _ => match db::open(matches)? {
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
