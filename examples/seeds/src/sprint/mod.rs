//! The project's main job: one evaluation sprint of Flow Research's Workstream, end to end,
//! on an embedded SQLite file.
//!
//! ```text
//! cargo run --release --example sprint [-- --tasks 200 --seed 7 --db sprint.db --durability full]
//! ```
//!
//! A project guide and a payment policy (10.00 USD per accepted task, at most two revision
//! rounds) are activated; then N tasks are drafted, screened, published with the guide
//! version and policy hash locked in, claimed, worked on, submitted as packets of hashed
//! artifacts, checked by automated checkers, reviewed, revised, accepted, rejected or
//! cancelled, and every accepted task is paid. Simulated contributors, checkers and
//! reviewers act on a simulated clock, every decision drawn from one seeded generator. A
//! progress bar runs on stderr; the report goes to stdout.
//!
//! # Records
//!
//! Four workflow files under `examples/workflows/`, each driven through the typed API that
//! `workflow!` generates from it:
//!
//! - `evaluation_task.yaml`: the task (S1). Its fields hold the records of its life:
//!   `guide_version`, `guide_hash`, `policy_hash` and `max_revision_rounds` locked in at
//!   `publish`; `contributor` and the `award` (`{"amount": "10.00", "currency": "USD"}`)
//!   frozen at `claim`; every submission packet under `packets.<version>` (artifacts with
//!   their bytes and `sha256:` hashes, the answers to open findings, the hash of the packet
//!   it supersedes), `submission` pointing at the current one, and the contributor's
//!   `attestation` over its hash; the latest `checker_run` (the hashes it covers and each
//!   checker's result and severity); `findings` raised by reviewers (`F1`…) and blocking
//!   checkers (`C1`…), each `open` or `resolved`; the latest `review`; `revision_rounds`.
//!   Answers to findings are written one by one (`draft_answers`, one event each) before a
//!   resubmission. Every earlier packet, run and review stays in the ledger's patches.
//! - `payment.yaml`: one payment per accepted task (its parent), `pending` with the award,
//!   `fulfilled` by a receipt that must match it (`receipt_matches`). Payments are kept
//!   apart from acceptance, as the seed asks.
//! - `project_guide.yaml`: guide versions. Each sprint activates a new version and, half-way
//!   through, a second one with a lesson learned; tasks keep the version they locked.
//! - `evaluation_sprint.yaml`: the sprint itself, with its parameters. Its tasks are its
//!   children, and it closes only when every child is closed (an exit assertion over
//!   `children.*.workstation`). The report reads only the tasks of this sprint.
//!
//! Contributions and reputation are derived from the ledger: an acceptance event carries a
//! submission contribution (with its award) and a review contribution in its payload, a
//! revision request or a rejection a review contribution; reputation is accepted +3,
//! revision requested −1 (by a reviewer or a blocking checker), rejected −2 for the
//! contributor, and +2 for the reviewer of every decision.
//!
//! Amounts are exact: decimal strings with two decimals in the ledger, integer cents in
//! arithmetic ([`money`]); no floating point touches an amount.
//!
//! # Checks
//!
//! Every check the files name is implemented in [`checks`]: `artifacts_hashed` re-hashes
//! each artifact's bytes; `attestation_signed` verifies the contributor's signature over the
//! packet hash (a keyed sha256 stands in for a signature scheme); `checker_allows_review`
//! and `checker_blocks_review` compare the run's hashes with the submitted ones and read its
//! failures (high, or medium from a required checker, blocks); `findings_answered` wants an
//! answer in the current packet for every open finding and names the ones missing;
//! `revision_rounds_left` reads the stored round count against the locked limit;
//! `evidence_cited` wants the reviewer's own decision citing submitted hashes or the run;
//! `receipt_matches` compares a receipt with its payment.
//!
//! The simulation makes the mistakes the seed's rules exist for, and counts each refusal:
//! publishing without locking the guide, starting past the WIP limit, a corrupted upload,
//! an attestation over another packet, routing a resubmission with the previous checker
//! run, self-review, accepting without evidence, resubmitting with findings unanswered,
//! resubmitting past the revision limit, a conflicting receipt, a second receipt.
//!
//! # Determinism
//!
//! The generator is splitmix64 seeded by `--seed`; the engine's clock is a `ManualClock`
//! moved by the simulation, never wall time; jobs are ordered by simulated time, then by
//! the order they were queued; every map the simulation iterates is ordered. So the same
//! seed on a fresh database writes the same ledger, hash for hash (the report prints a
//! digest of every chain head). On an existing database a new sprint is added beside the
//! ones before it, starting the morning after their last change; nothing is overwritten.

pub mod checks;
pub mod cli;
pub mod db;
pub mod money;
pub mod records;
pub mod report;
pub mod sim;
