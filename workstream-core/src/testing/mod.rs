//! The store conformance suite (feature `testing`).
//!
//! Every [`Store`] runs the same checks, so every store behaves like the reference store:
//!
//! ```text
//! // tests/conformance.rs of a store crate
//! workstream_core::conformance_tests!(make: || MyStore::open_temporary(), race_attempts: 10_000);
//! ```
//!
//! Each check is also a public function taking a fresh store, for stores that need to set
//! one up in their own way. A check panics with a message naming what went wrong.

use chrono::{DateTime, TimeZone, Utc};

use crate::{Actor, Engine, Error, ManualClock, Store, Workflow};

mod batches;
mod chains;
mod concurrency;
mod definitions;
mod dependencies;
mod feed;
mod processes;
mod queries;
mod values;

pub use batches::batches_are_all_or_nothing;
pub use chains::{
    append_and_read, appends_that_break_the_chain_are_refused, failed_transactions_write_nothing,
    replay_equals_projection,
};
pub use concurrency::{racing_writers, reentry_is_an_error_not_a_deadlock};
pub use definitions::{
    definition_texts_are_kept_exactly, definitions_are_kept_with_their_first_event,
    events_name_kept_texts,
};
pub use dependencies::dependencies_against_a_model;
pub use feed::{
    feed_lists_every_committed_event_once_in_order, feed_misses_nothing_while_writers_commit,
};
pub use processes::{Ack, Outcome, XorShift, moves_allowed, read_lines, run_scenarios};
pub use queries::queries;
pub use values::{
    deep_values_are_refused_at_the_door, float_samples, floats_round_trip_bit_for_bit, same_json,
};

/// Generates one `#[test]` per conformance check for the store `make` returns.
///
/// `race_attempts` is how many moves each of the 8 racing threads tries. `available`, when
/// given, is asked first by every test, which does nothing when it answers `false`: for a
/// store that needs a server, whose harness says loudly that none is there (and fails under
/// `CI=true`).
#[macro_export]
macro_rules! conformance_tests {
    (make: $make:expr, race_attempts: $attempts:expr $(,)?) => {
        $crate::conformance_tests!(make: $make, race_attempts: $attempts, available: || true);
    };
    (make: $make:expr, race_attempts: $attempts:expr, available: $available:expr $(,)?) => {
        #[test]
        fn conformance_append_and_read() {
            if !($available)() {
                return;
            }
            $crate::testing::append_and_read(($make)());
        }
        #[test]
        fn conformance_appends_that_break_the_chain_are_refused() {
            if !($available)() {
                return;
            }
            $crate::testing::appends_that_break_the_chain_are_refused(($make)());
        }
        #[test]
        fn conformance_failed_transactions_write_nothing() {
            if !($available)() {
                return;
            }
            $crate::testing::failed_transactions_write_nothing(($make)());
        }
        #[test]
        fn conformance_queries() {
            if !($available)() {
                return;
            }
            $crate::testing::queries(($make)());
        }
        #[test]
        fn conformance_replay_equals_projection() {
            if !($available)() {
                return;
            }
            $crate::testing::replay_equals_projection(($make)());
        }
        #[test]
        fn conformance_dependencies_against_a_model() {
            if !($available)() {
                return;
            }
            $crate::testing::dependencies_against_a_model(($make)());
        }
        #[test]
        fn conformance_floats_round_trip_bit_for_bit() {
            if !($available)() {
                return;
            }
            $crate::testing::floats_round_trip_bit_for_bit(($make)());
        }
        #[test]
        fn conformance_deep_values_are_refused_at_the_door() {
            if !($available)() {
                return;
            }
            $crate::testing::deep_values_are_refused_at_the_door(($make)());
        }
        #[test]
        fn conformance_reentry_is_an_error_not_a_deadlock() {
            if !($available)() {
                return;
            }
            $crate::testing::reentry_is_an_error_not_a_deadlock(($make)());
        }
        #[test]
        fn conformance_definitions_are_kept_with_their_first_event() {
            if !($available)() {
                return;
            }
            $crate::testing::definitions_are_kept_with_their_first_event(($make)());
        }
        #[test]
        fn conformance_definition_texts_are_kept_exactly() {
            if !($available)() {
                return;
            }
            $crate::testing::definition_texts_are_kept_exactly(($make)());
        }
        #[test]
        fn conformance_events_name_kept_texts() {
            if !($available)() {
                return;
            }
            $crate::testing::events_name_kept_texts(($make)());
        }
        #[test]
        fn conformance_batches_are_all_or_nothing() {
            if !($available)() {
                return;
            }
            $crate::testing::batches_are_all_or_nothing(($make)());
        }
        #[test]
        fn conformance_feed_lists_every_committed_event_once_in_order() {
            if !($available)() {
                return;
            }
            $crate::testing::feed_lists_every_committed_event_once_in_order(($make)());
        }
        #[test]
        fn conformance_feed_misses_nothing_while_writers_commit() {
            if !($available)() {
                return;
            }
            $crate::testing::feed_misses_nothing_while_writers_commit(($make)(), 6, 24);
        }
        #[test]
        fn conformance_racing_writers() {
            if !($available)() {
                return;
            }
            $crate::testing::racing_writers(($make)(), 8, $attempts);
        }
    };
}

/// The workflow the checks use.
pub fn workflow() -> Workflow {
    crate::parse(
        "conformance.yaml",
        r#"
workflow: conformance
version: 1
roles: [worker, lead]
holds: [blocked, paused]
workstations:
  todo: { initial: true }
  doing:
    wip: { max: 3 }
    entry:
      - { assert: fields.owner, op: exists, id: owner_named, message: name an owner first }
  review: {}
  done: { terminal: true }
  dropped: { terminal: true, outcome: cancelled }
transitions:
  start: { from: todo, to: doing, by: [worker] }
  ping: { from: doing, to: review }
  pong: { from: review, to: doing, rework: true }
  finish:
    from: review
    to: done
    by: [lead]
    requires:
      - { assert: children.*.outcome, op: all_in, value: [done, cancelled], id: children_closed }
  drop: { from: "*", to: dropped, by: [lead], allow_held: true }
"#,
    )
    .unwrap_or_else(|d| panic!("the conformance workflow does not parse:\n{d}"))
}

/// The instant the checks' clocks start at: Monday 2026-01-05 09:00 UTC.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

pub(super) fn engine<S: Store>(store: S) -> (Engine<S>, ManualClock) {
    let clock = ManualClock::new(start());
    let engine = Engine::builder()
        .store(store)
        .workflow(workflow())
        .clock(clock.clone())
        .build()
        .unwrap_or_else(|e| panic!("the engine does not build: {e}"));
    (engine, clock)
}

pub(super) fn worker() -> Actor {
    Actor::new("wes", ["worker"])
}

pub(super) fn lead() -> Actor {
    Actor::new("lea", ["lead"])
}

pub(super) fn ok<T>(result: Result<T, Error>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}
