//! The project's main job: one evaluation sprint of Flow Research's Workstream, end to end,
//! on an embedded SQLite file.
//!
//! ```text
//! cargo run --release --example sprint [-- --tasks 200 --seed 7 --db sprint.db --durability full]
//! ```
//!
//! The sprint is the `workstream-seeds` package (`examples/seeds/`): its simulation, checks
//! and report are a library the tests run too; this is its command line.

fn main() -> std::process::ExitCode {
    workstream_seeds::sprint::cli::main()
}
