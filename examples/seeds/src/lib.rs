//! The seed systems of workstream as programs, shared by the examples, the tests and the
//! benches so that each step is written once.
//!
//! - [`sprint`]: one evaluation sprint of Flow Research's Workstream, end to end, on a
//!   SQLite file: the project's main job (`cargo run --release --example sprint`).
//! - [`rng`]: the seeded generator every simulation and bench draws from.

pub mod rng;
pub mod sprint;
