//! cqrs-es + postgres-es: `<url> <commands>` executes that many commands, one event each,
//! round-robin over 100 aggregates, on fresh tables, and prints `µs per command`.

use std::time::Instant;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;

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

/// The tables of postgres-es's `db/init.sql`.
const SCHEMA: &str = "
DROP TABLE IF EXISTS events;
DROP TABLE IF EXISTS snapshots;
CREATE TABLE events (
  aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  sequence bigint CHECK (sequence >= 0) NOT NULL,
  event_type text NOT NULL, event_version text NOT NULL,
  payload json NOT NULL, metadata json NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);
CREATE TABLE snapshots (
  aggregate_type text NOT NULL, aggregate_id text NOT NULL,
  last_sequence bigint CHECK (last_sequence >= 0) NOT NULL,
  current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
  payload json NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);
";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(n)) = (args.get(1), args.get(2).and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("usage: <url> <commands>");
        std::process::exit(2);
    };
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("connect");
    sqlx::raw_sql(SCHEMA).execute(&pool).await.expect("schema");
    let cqrs = postgres_es::postgres_cqrs::<Toggle>(pool, vec![], ());
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
