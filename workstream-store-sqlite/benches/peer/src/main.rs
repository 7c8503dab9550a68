//! cqrs-es + sqlite-es: `<db> <normal|full> <commands>` executes that many commands, one
//! event each, round-robin over 100 aggregates, and prints `µs per command`.

use std::str::FromStr;
use std::time::Instant;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// An item that moves between two workstations, `a` and `b`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Toggle {
    at_b: bool,
    moves: u64,
}

enum Command {
    Move,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum ToggleEvent {
    Moved {
        transition: String,
        from: String,
        to: String,
    },
}

impl DomainEvent for ToggleEvent {
    fn event_type(&self) -> String {
        "Moved".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}

impl std::error::Error for Refused {}

impl Aggregate for Toggle {
    const TYPE: &'static str = "toggle";
    type Command = Command;
    type Event = ToggleEvent;
    type Error = Refused;
    type Services = ();

    async fn handle(
        &mut self,
        command: Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Refused> {
        let Command::Move = command;
        let (transition, from, to) = if self.at_b {
            ("pong", "b", "a")
        } else {
            ("ping", "a", "b")
        };
        let event = ToggleEvent::Moved {
            transition: transition.into(),
            from: from.into(),
            to: to.into(),
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: ToggleEvent) {
        let ToggleEvent::Moved { to, .. } = event;
        self.at_b = to == "b";
        self.moves += 1;
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
  aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  sequence integer CHECK (sequence >= 0) NOT NULL,
  event_type text NOT NULL, event_version text NOT NULL,
  payload text NOT NULL, metadata text NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT;
CREATE TABLE IF NOT EXISTS snapshots (
  aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  last_sequence integer CHECK (last_sequence >= 0) NOT NULL,
  current_snapshot integer CHECK (current_snapshot >= 0) NOT NULL,
  payload text NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
) STRICT;
";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(db), Some(sync), Some(n)) = (
        args.get(1),
        args.get(2),
        args.get(3).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: <db> <normal|full> <commands>");
        std::process::exit(2);
    };
    let synchronous = if sync == "full" {
        SqliteSynchronous::Full
    } else {
        SqliteSynchronous::Normal
    };
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{db}"))
        .expect("options")
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("connect");
    sqlx::raw_sql(SCHEMA).execute(&pool).await.expect("schema");
    let cqrs = sqlite_es::sqlite_cqrs::<Toggle>(pool, vec![], ());
    let ids: Vec<String> = (0..100).map(|i| format!("item-{i}")).collect();
    let start = Instant::now();
    for k in 0..n {
        cqrs.execute(&ids[(k % 100) as usize], Command::Move)
            .await
            .expect("execute");
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{per:.1}");
}
