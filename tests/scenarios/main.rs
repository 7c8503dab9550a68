//! The reference scenarios of the four seed systems, replayed step by step on the memory
//! store, on a SQLite file and on PostgreSQL: each refusal with its reasons (and nothing written), each
//! signal, each metric, and every chain verified at the end.
//!
//! - S1, an evaluation task through a revision round to payment (`evaluation_task.yaml`);
//! - S2, checker remediation, a guide version locked into a task, the revision limit;
//! - S3, a stream of AI jobs with gates, jump-backs, pauses and review (`ai_job.yaml`);
//! - S4, a task board with dependencies, WIP and preemption (`flowos_task.yaml`);
//! - S5, workstreams with exit assertions, attention signals and time windows
//!   (`state_hub_workstream.yaml`).

mod common;
mod evaluation;
mod s1_evaluation;
mod s2_remediation;
mod s3_ai_stream;
mod s4_flowos;
mod s5_state_hub;

use common::{on_postgres, on_sqlite};
use workstream::MemoryStore;

#[test]
fn s1_memory() {
    s1_evaluation::run(MemoryStore::new());
}

#[test]
fn s1_sqlite() {
    on_sqlite("s1", s1_evaluation::run);
}

#[test]
fn s1_postgres() {
    on_postgres("s1", s1_evaluation::run);
}

#[test]
fn s2_memory() {
    s2_remediation::run(MemoryStore::new());
}

#[test]
fn s2_sqlite() {
    on_sqlite("s2", s2_remediation::run);
}

#[test]
fn s2_postgres() {
    on_postgres("s2", s2_remediation::run);
}

#[test]
fn s3_memory() {
    s3_ai_stream::run(MemoryStore::new());
}

#[test]
fn s3_sqlite() {
    on_sqlite("s3", s3_ai_stream::run);
}

#[test]
fn s3_postgres() {
    on_postgres("s3", s3_ai_stream::run);
}

#[test]
fn s4_memory() {
    s4_flowos::run(MemoryStore::new());
}

#[test]
fn s4_sqlite() {
    on_sqlite("s4", s4_flowos::run);
}

#[test]
fn s4_postgres() {
    on_postgres("s4", s4_flowos::run);
}

#[test]
fn s5_memory() {
    s5_state_hub::run(MemoryStore::new());
}

#[test]
fn s5_sqlite() {
    on_sqlite("s5", s5_state_hub::run);
}

#[test]
fn s5_postgres() {
    on_postgres("s5", s5_state_hub::run);
}
