//! The command line: every command, argument and option, with its help.

use clap::{Arg, ArgAction, Command, value_parser};

/// `--format` for commands that print a table or JSON.
fn format(default: &'static str, values: &'static [&'static str]) -> Arg {
    Arg::new("format")
        .long("format")
        .value_name("FORMAT")
        .value_parser(clap::builder::PossibleValuesParser::new(values))
        .default_value(default)
        .help("How to print the result")
}

fn window(name: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name("WINDOW")
        .help(help)
        .long_help(format!(
            "{help}: 1h, 24h, 7d, 30d (any number of minutes m, hours h, days d or weeks w), \
             today, this-week or this-month (calendar windows in the --tz offset)"
        ))
}

/// The whole command line.
pub(crate) fn command() -> Command {
    Command::new("workstream")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Check workflow files; inspect, audit and move workstream databases")
        .after_help(
            "Exit status: 0 when all is well, 1 when a file has errors or the ledger has \
             problems, 2 when the command cannot run.",
        )
        .subcommand_required(true)
        .arg(
            Arg::new("db")
                .long("db")
                .global(true)
                .value_name("DB")
                .value_parser(value_parser!(std::ffi::OsString))
                .help("The database: an SQLite file's path, or a postgres:// connection string"),
        )
        .arg(
            Arg::new("schema")
                .long("schema")
                .global(true)
                .value_name("SCHEMA")
                .default_value("workstream")
                .help("The PostgreSQL schema the store lives in"),
        )
        .arg(
            Arg::new("workflows")
                .long("workflows")
                .global(true)
                .value_name("DIR")
                .value_parser(value_parser!(std::path::PathBuf))
                .help("Workflow files (*.yaml) to load beside the definitions the database keeps"),
        )
        .arg(
            Arg::new("now")
                .long("now")
                .global(true)
                .value_name("INSTANT")
                .help("Evaluate signals, windows and metrics as of this RFC 3339 instant, or `last`: the database's latest change (the clock then stands still)"),
        )
        .arg(
            Arg::new("tz")
                .long("tz")
                .global(true)
                .value_name("OFFSET")
                .allow_hyphen_values(true)
                .default_value("UTC")
                .help("The offset times are shown in and calendar windows use: UTC or ±HH:MM"),
        )
        .subcommand(
            Command::new("check")
                .about("Validate workflow files, with every diagnostic at file:line:col")
                .arg(
                    Arg::new("files")
                        .value_name("FILE")
                        .required(true)
                        .num_args(1..)
                        .value_parser(value_parser!(std::path::PathBuf)),
                )
                .arg(format("human", &["human", "json"]).help(
                    "human: as a compiler prints them; json: one object per diagnostic and line",
                )),
        )
        .subcommand(
            Command::new("graph")
                .about("Draw a workflow file's workstations and transitions")
                .arg(
                    Arg::new("file")
                        .value_name("FILE")
                        .required(true)
                        .value_parser(value_parser!(std::path::PathBuf)),
                )
                .arg(format("mermaid", &["mermaid", "dot"])),
        )
        .subcommand(
            Command::new("schema")
                .about("Print the JSON Schema of the workflow format (version 1), for editors"),
        )
        .subcommand(
            Command::new("ls")
                .about("List items, with their workstations, holds and signals")
                .arg(Arg::new("workflow").long("workflow").value_name("WORKFLOW"))
                .arg(
                    Arg::new("workstation")
                        .long("workstation")
                        .value_name("WORKSTATION"),
                )
                .arg(
                    Arg::new("signal")
                        .long("signal")
                        .value_name("SIGNAL")
                        .action(ArgAction::Append)
                        .value_parser(clap::builder::PossibleValuesParser::new([
                            "finished", "blocked", "stalled", "oldie", "overdue",
                        ]))
                        .help("Only items with this derived signal on (repeat: all of them)"),
                )
                .arg(
                    Arg::new("held")
                        .long("held")
                        .value_name("HOLD")
                        .num_args(0..=1)
                        .default_missing_value("")
                        .help("Only held items (with a HOLD: held by that kind of hold)"),
                )
                .arg(window("updated", "Only items changed within this window"))
                .arg(window("created", "Only items created within this window"))
                .arg(
                    Arg::new("open")
                        .long("open")
                        .action(ArgAction::SetTrue)
                        .help("Only items not yet in a terminal workstation"),
                )
                .arg(
                    Arg::new("limit")
                        .long("limit")
                        .value_name("N")
                        .value_parser(value_parser!(usize))
                        .help("At most N items"),
                )
                .arg(format("table", &["table", "json"])),
        )
        .subcommand(
            Command::new("show")
                .about("One item: state, holds, fields, signals, every way out, history")
                .arg(
                    Arg::new("item")
                        .value_name("ITEM")
                        .required(true)
                        .value_parser(value_parser!(u64)),
                )
                .arg(Arg::new("as").long("as").value_name("ACTOR[:ROLE,…]").help(
                    "Explain the ways out for this actor (default: an inspector \
                             holding every role of the workflow)",
                ))
                .arg(format("table", &["table", "json"])),
        )
        .subcommand(
            Command::new("metrics")
                .about("The flow report: lead time, time per workstation, efficiency, …")
                .arg(Arg::new("workflow").long("workflow").value_name("WORKFLOW"))
                .arg(window(
                    "window",
                    "The window measured (default: from the first item created until now)",
                ))
                .arg(
                    Arg::new("period")
                        .long("period")
                        .value_name("DURATION")
                        .default_value("1d")
                        .help("Rates are per this period: 1h, 1d, 1w, … (m is minutes)"),
                )
                .arg(format("table", &["table", "json"])),
        )
        .subcommand(
            Command::new("verify")
                .about(
                    "Check every chain, every state and the store's bookkeeping; name every \
                     problem",
                )
                .arg(
                    Arg::new("against")
                        .long("against")
                        .value_name("DIGEST_FILE")
                        .value_parser(value_parser!(std::path::PathBuf))
                        .help(
                            "Also prove the ledger extends this digest (written by `digest \
                             --save`): name each item rewritten, cut or removed since",
                        ),
                )
                .arg(
                    Arg::new("expect")
                        .long("expect")
                        .value_name("SUMMARY")
                        .requires("against")
                        .help(
                            "The digest's summary as kept elsewhere (`sha256:… items=… \
                             events=…`): the digest file must match it",
                        ),
                )
                .arg(format("table", &["table", "json"])),
        )
        .subcommand(
            Command::new("digest")
                .about(
                    "Print the ledger's digest: a Merkle root over every item's head, with counts",
                )
                .arg(
                    Arg::new("save")
                        .long("save")
                        .value_name("FILE")
                        .value_parser(value_parser!(std::path::PathBuf))
                        .help(
                            "Also write the whole digest (every item's leaf), for verify --against",
                        ),
                ),
        )
        .subcommand(
            Command::new("export")
                .about("Write every definition and event as JSON Lines, in chain order")
                .arg(
                    Arg::new("output")
                        .long("output")
                        .short('o')
                        .value_name("FILE")
                        .value_parser(value_parser!(std::path::PathBuf))
                        .help("Write to FILE instead of standard output"),
                ),
        )
        .subcommand(
            Command::new("import")
                .about(
                    "Read an export into an empty store, checking every hash and link as it goes",
                )
                .arg(
                    Arg::new("file")
                        .value_name("FILE")
                        .required(true)
                        .value_parser(value_parser!(std::path::PathBuf))
                        .help("The JSON Lines written by `export` (- for standard input)"),
                ),
        )

        .subcommand(serve())
        .subcommand(
            Command::new("token")
                .about("Make a new token for `serve --tokens`: the token on standard output, its digest in the file")
                .arg(
                    Arg::new("actor")
                        .long("actor")
                        .value_name("ID")
                        .required(true)
                        .help("The actor whose name the token's writes carry"),
                )
                .arg(
                    Arg::new("roles")
                        .long("roles")
                        .value_name("ROLE,…")
                        .help("The actor's roles, comma-separated"),
                )
                .arg(
                    Arg::new("tokens")
                        .long("tokens")
                        .value_name("FILE")
                        .value_parser(value_parser!(std::path::PathBuf))
                        .help("Append the token's line to this tokens file (made if missing, readable by its owner only)"),
                ),
        )
}

/// `serve`: the API, the feed and the dashboard.
fn serve() -> Command {
    Command::new("serve")
        .about("Serve the database: a JSON API, its event feed (Server-Sent Events) and a dashboard")
        .arg(
            Arg::new("listen")
                .long("listen")
                .value_name("ADDR")
                .default_value("127.0.0.1:8080")
                .value_parser(value_parser!(std::net::SocketAddr))
                .help("The address to listen on (loopback by default; port 0 picks a free one)"),
        )
        .arg(
            Arg::new("writes")
                .long("writes")
                .action(ArgAction::SetTrue)
                .requires("tokens")
                .help("Take writes (create, advance, fields, holds, dependencies) from token holders"),
        )
        .arg(
            Arg::new("tokens")
                .long("tokens")
                .value_name("FILE")
                .value_parser(value_parser!(std::path::PathBuf))
                .help("The tokens file: one `sha256:HEX ACTOR [ROLE,…]` per line (see `workstream token`)"),
        )
        .arg(
            Arg::new("allow-host")
                .long("allow-host")
                .value_name("HOST[:PORT]")
                .action(ArgAction::Append)
                .help("Answer requests for this Host header too (on loopback only the loopback names are answered)"),
        )
        .arg(
            Arg::new("body-limit")
                .long("body-limit")
                .value_name("BYTES")
                .default_value("65536")
                .value_parser(value_parser!(usize))
                .help("The largest request body accepted"),
        )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        super::command().debug_assert();
    }
}
