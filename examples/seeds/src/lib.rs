//! The seed systems of workstream as programs, shared by the examples, the tests and the
//! benches so that each step is written once.
//!
//! - [`sprint`]: one evaluation sprint of Flow Research's Workstream, end to end, on a
//!   SQLite file: the project's main job (`cargo run --release --example sprint`).
//! - [`ai_stream`]: the AI-worker stream (S3): the steps its example and its scenario test
//!   both take.
//! - [`state_hub`]: State Hub's workstreams (S5): the setup its example and its scenario
//!   test share.
//! - [`rng`]: the seeded generator every simulation and bench draws from.

pub mod ai_stream;
pub mod rng;
pub mod sprint;
pub mod state_hub;
