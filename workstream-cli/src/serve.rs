//! `serve` and `token`: the service over the database, and the tokens it accepts.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::ArgMatches;
use workstream::tokio::AsyncEngine;
use workstream::{Engine, Store};
use workstream_server::{Config, Tokens};

use crate::{Failure, Found};

/// `serve`: runs until interrupted (Ctrl-C, `SIGTERM`).
pub(crate) fn serve<S: Store + Send + Sync + 'static>(
    engine: Engine<S>,
    db: &str,
    args: &ArgMatches,
    out: &mut dyn Write,
) -> Result<Found, Failure> {
    let listen = *args
        .get_one::<SocketAddr>("listen")
        .expect("--listen has a default");
    let mut config = Config::new().body_limit(
        *args
            .get_one::<usize>("body-limit")
            .expect("--body-limit has a default"),
    );
    let tokens = match args.get_one::<PathBuf>("tokens") {
        Some(path) => Some(Tokens::load(path).map_err(|e| Failure::new(e.to_string()))?),
        None => None,
    };
    let writes = args.get_flag("writes");
    if writes && args.get_one::<String>("now").is_some() {
        return Err(Failure::new(
            "--now stands the clock still, so every write would carry that instant; serve \
             with writes on the system's clock (without --now)",
        ));
    }
    match tokens {
        Some(tokens) if writes => {
            if tokens.is_empty() {
                return Err(Failure::new(
                    "the tokens file holds no token, so no write could be made; add one with \
                     `workstream token`",
                ));
            }
            config = config.writes(tokens);
        }
        Some(tokens) => config = config.tokens(tokens),
        None => {}
    }
    let extra: Vec<String> = args
        .get_many::<String>("allow-host")
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Failure::new(format!("cannot listen on {listen}: {e}")))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Failure::new(format!("cannot listen on {listen}: {e}")))?;
        let public = match Config::loopback_hosts(bound) {
            Some(mut hosts) => {
                hosts.extend(extra);
                config = config.allowed_hosts(hosts);
                false
            }
            None if !extra.is_empty() => {
                config = config.allowed_hosts(extra);
                true
            }
            None => true,
        };
        let router = workstream_server::router(AsyncEngine::new(engine), config);
        writeln!(
            out,
            "serving {db} on http://{bound}/ ({})",
            if writes {
                "writes from token holders"
            } else {
                "read-only"
            }
        )?;
        if public {
            writeln!(
                out,
                "warning: {bound} is not a loopback address: anyone who can reach it can read \
                 this database"
            )?;
        }
        out.flush()?;
        workstream_server::serve(listener, router, shutdown())
            .await
            .map_err(|e| Failure::new(format!("the server stopped: {e}")))
    })?;
    Ok(Found::Clean)
}

/// Completes on Ctrl-C or, on Unix, `SIGTERM`.
async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// `token`: a new token on standard output; its line appended to `--tokens`, or shown.
pub(crate) fn token(args: &ArgMatches, out: &mut dyn Write) -> Result<Found, Failure> {
    let actor = args
        .get_one::<String>("actor")
        .expect("--actor is required");
    if actor.is_empty() || actor.chars().any(char::is_whitespace) {
        return Err(Failure::new(format!(
            "`{actor}` is not an actor id: give one without spaces"
        )));
    }
    let roles: Vec<String> = args
        .get_one::<String>("roles")
        .map(|r| {
            r.split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = roles.iter().find(|r| r.chars().any(char::is_whitespace)) {
        return Err(Failure::new(format!(
            "`{bad}` is not a role: give one without spaces"
        )));
    }
    let token = Tokens::generate();
    let line = Tokens::line(&token, actor, &roles);
    match args.get_one::<PathBuf>("tokens") {
        Some(path) => append(path, &line)?,
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "add this line to the tokens file (it keeps the token's digest only):\n{line}"
            );
        }
    }
    writeln!(out, "{token}")?;
    Ok(Found::Clean)
}

fn append(path: &std::path::Path, line: &str) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let shown = path.display();
    // The file must still read as a tokens file once the line is added.
    if let Ok(bytes) = std::fs::read(path) {
        let text = String::from_utf8(bytes).map_err(|_| {
            Failure::new(format!(
                "{shown} is not a tokens file (it is not UTF-8 text); the file was left as it is"
            ))
        })?;
        Tokens::parse(&shown.to_string(), &text)
            .map_err(|e| Failure::new(format!("{e}; the file was left as it is")))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path)
                && meta.permissions().mode() & 0o077 != 0
            {
                let _ = writeln!(
                    std::io::stderr(),
                    "warning: others can read or write {shown} (mode {:o}); `chmod 600 {shown}`",
                    meta.permissions().mode() & 0o777
                );
            }
        }
    }
    let mut file = options
        .open(path)
        .map_err(|e| Failure::new(format!("cannot write the tokens file {shown}: {e}")))?;
    let needs_newline = std::fs::read(path).is_ok_and(|b| b.last().is_some_and(|c| *c != b'\n'));
    let text = if needs_newline {
        format!("\n{line}\n")
    } else {
        format!("{line}\n")
    };
    file.write_all(text.as_bytes())
        .map_err(|e| Failure::new(format!("cannot write the tokens file {shown}: {e}")))
}
