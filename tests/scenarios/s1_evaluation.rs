//! S1, an evaluation task through a revision round to payment (seed 000), on
//! `examples/workflows/evaluation_task.yaml`; see `evaluation.rs` for the checks and records.
//! Times are hours after Thursday 2 April 2026, 09:00 UTC.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use workstream::prelude::*;
use workstream::{Change, Signal, Verified};

use crate::common::{Scenario, h};
use crate::evaluation::{
    artifact, cents, checker, checker_run, contributor, engine, guide, locks, operator, policy,
    policy_hash, records, reputation, submission, t0,
};

fn of_kind<'a>(records: &'a [Value], kind: &str, role: Option<&str>) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["kind"] == kind && role.is_none_or(|role| r["role"] == role))
        .collect()
}

pub(crate) fn run<S: Store>(store: S) -> Verified {
    let clock = ManualClock::new(t0());
    let sc = Scenario::new(engine(store, &clock), clock.clone());
    let at = |hour: i64| clock.set(t0() + h(hour));
    let (ola, cai, chk) = (operator(), contributor(), checker());
    let cy = Actor::new("cy", ["contributor"]);
    let rey = Actor::new("rey", ["reviewer"]);
    let ria = Actor::new("ria", ["reviewer"]);
    let tess = Actor::new("tess", ["treasurer"]);

    // 1. The operator creates guide v1 of the project, and a task that goes draft ->
    // screening -> ready; entering ready needs the guide version and policy hash locked in.
    let g1 = guide(
        &sc,
        "atlas",
        1,
        "Label every image; cite the source of each label.",
    );
    sc.go(g1, &ola, Move::transition("activate"), "active");
    let fields = json!({"project": "atlas", "title": "label 200 street images"});
    let task = sc
        .create(&ola, NewItem::of("evaluation_task").fields(fields))
        .id();
    sc.go(
        task,
        &ola,
        Move::transition("screen").reason("criteria written"),
        "screening",
    );
    sc.refuse(
        task,
        &ola,
        Move::transition("publish"),
        &["guide_version_locked", "policy_hash_locked"],
    );
    let publish = Move::transition("publish")
        .patch(locks(&sc, "atlas"))
        .reason("screened against guide v1");
    let ready = sc.go(task, &ola, publish, "ready");
    assert_eq!(ready.field("guide_version"), Some(&json!(1)));
    assert_eq!(ready.field("policy_hash"), Some(&json!(policy_hash())));

    // 2. The contributor claims it, freezing the policy's award, and starts.
    at(1);
    sc.refuse(
        task,
        &cai,
        Move::transition("claim"),
        &["contributor_named", "award_frozen"],
    );
    let claim = Move::transition("claim")
        .patch(json!({"contributor": "cai", "award": policy()["award"]}))
        .reason("claimed from the board");
    let claimed = sc.go(task, &cai, claim, "claimed");
    assert_eq!(
        claimed.field("award"),
        Some(&json!({"amount": "10.00", "currency": "USD"}))
    );
    sc.refuse(
        task,
        &cy,
        Move::transition("start").reason("taking over"),
        &["claimant_starts"],
    );
    sc.go(
        task,
        &cai,
        Move::transition("start").reason("starting"),
        "in_progress",
    );

    // 3. Submission v1: two artifacts, each bound by its hash, and a signed attestation.
    at(5);
    let v1 = [
        artifact("labels.csv", b"img-001,car\nimg-002,bicycle\n"),
        artifact("method.md", b"Labelled by hand, sources cited."),
    ];
    let unhashed = json!({"submission": {"version": 1, "artifacts": [
        v1[0], {"name": "method.md"},
    ]}});
    let r = sc.refuse(
        task,
        &cai,
        Move::transition("submit").patch(unhashed),
        &["artifacts_hashed", "attestation_signed"],
    );
    assert_eq!(r.reasons[0].details["unbound"], json!(["method.md"]));
    // The file's message replaces the check's own, which stays in the details.
    assert_eq!(
        r.reasons[0].details["cause"],
        json!("artifacts without a hash")
    );
    // Someone else's packet: not signed by the contributor, and not theirs to submit.
    let theirs = Move::transition("submit").patch(submission(1, "cy", &v1, json!({})));
    sc.refuse(
        task,
        &cy,
        theirs,
        &["attestation_signed", "claimant_submits"],
    );
    let submit = Move::transition("submit")
        .patch(submission(1, "cai", &v1, json!({})))
        .reason("v1");
    sc.go(task, &cai, submit, "submitted");
    sc.go(
        task,
        &chk,
        Move::transition("evaluate").reason("checkers started"),
        "evaluation_pending",
    );
    sc.refuse(
        task,
        &chk,
        Move::transition("route_to_review"),
        &["checker_allows_review"],
    );
    // A checker run returns allow_review for exactly these hashes.
    let passing = json!([
        {"checker": "schema", "required": true, "severity": "high", "passed": true},
        {"checker": "spelling", "required": false, "severity": "low", "passed": false},
    ]);
    let run1 = checker_run("run-1", &sc.item(task), passing.clone());
    assert_eq!(run1["checker_run"]["verdict"], "allow_review");
    let mut v1_hashes: Vec<&Value> = v1.iter().map(|a| &a["sha256"]).collect();
    v1_hashes.sort_by_key(|v| v.as_str());
    assert_eq!(run1["checker_run"]["artifacts"], json!(v1_hashes));
    sc.update(task, &chk, run1);
    sc.refuse(
        task,
        &chk,
        Move::transition("fail_checks"),
        &["checker_blocks_review"],
    );
    let route = Move::transition("route_to_review").reason("run-1 allows review");
    sc.go(task, &chk, route, "review_pending");

    // Nobody picks it up for 30 hours: past review_pending's 24h sla.
    at(35);
    let overdue = sc.engine.signals(task).unwrap().overdue.unwrap();
    assert_eq!(overdue.workstation, "review_pending");
    assert_eq!(overdue.by, Duration::from_secs(6 * 3600));

    // 4. The reviewer asks for changes with blocking findings A and B: one reviewer
    // contribution in the ledger, no acceptance.
    let findings = json!({
        "A": {"blocking": true, "status": "open", "text": "img-014 is a van, not a car"},
        "B": {"blocking": true, "status": "open", "text": "cite the source of img-020"},
    });
    let cai_reviewing = Actor::new("cai", ["contributor", "reviewer"]);
    sc.refuse(
        task,
        &cai_reviewing,
        Move::transition("request_changes").patch(json!({ "findings": findings })),
        &["no_self_revision_request"],
    );
    let request = Move::transition("request_changes")
        .patch(json!({"findings": findings, "review": {"by": "rey", "outcome": "needs_revision"}}))
        .payload(json!({"records": [
            {"kind": "contribution", "role": "reviewer", "by": "rey", "outcome": "needs_revision"},
        ]}))
        .reason("two blocking findings");
    sc.go(task, &rey, request, "needs_revision");
    let recorded = records(&sc, task);
    assert_eq!(
        of_kind(&recorded, "contribution", Some("reviewer")).len(),
        1
    );
    assert!(of_kind(&recorded, "acceptance", None).is_empty());
    // The engine refuses the impossible moves (the typed API does not even have them).
    sc.refuse(task, &ria, Move::transition("accept"), &["not_allowed"]);
    sc.refuse(task, &ria, Move::to("accepted"), &["not_allowed"]);

    // 5. v2 answering A only is refused, naming B; answering both, it is submitted and
    // supersedes v1.
    at(40);
    let v2 = [
        artifact("labels.csv", b"img-001,car\nimg-002,bicycle\nimg-014,van\n"),
        artifact(
            "method.md",
            b"Labelled by hand; img-020 from the city archive.",
        ),
    ];
    let answers_a = json!({"A": "relabelled img-014 as van"});
    let r = sc.refuse(
        task,
        &cai,
        Move::transition("resubmit").patch(submission(2, "cai", &v2, answers_a)),
        &["findings_answered"],
    );
    assert_eq!(r.reasons[0].details["unanswered"], json!(["B"]));
    let answers = json!({"A": "relabelled img-014 as van", "B": "cited the city archive"});
    let resubmit = Move::transition("resubmit")
        .patch(submission(2, "cai", &v2, answers))
        .reason("v2 answers A and B");
    let resubmitted = sc.go(task, &cai, resubmit, "submitted");
    let packet = &resubmitted.fields()["submission"];
    assert_eq!(
        (&packet["version"], &packet["supersedes"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(packet["artifacts"], json!(v2));
    sc.refuse(task, &ria, Move::transition("accept"), &["not_allowed"]);

    // 6. Run-1 checked v1's hashes, so it cannot admit v2; a new run admits it.
    sc.go(
        task,
        &chk,
        Move::transition("evaluate").reason("v2"),
        "evaluation_pending",
    );
    let r = sc.refuse(
        task,
        &chk,
        Move::transition("route_to_review"),
        &["checker_allows_review"],
    );
    assert_eq!(r.reasons[0].details["run"], "run-1");
    assert_eq!(r.reasons[0].details["checked"], json!(v1_hashes));
    let run2 = checker_run("run-2", &sc.item(task), passing);
    sc.update(task, &chk, run2);
    let route = Move::transition("route_to_review").reason("run-2 allows review");
    sc.go(task, &chk, route, "review_pending");

    // 7. A different reviewer accepts, citing evidence and resolving A and B. Self-review,
    // and an acceptance without evidence, are refused.
    at(42);
    let evidence = json!(["spot-checked 20 labels against the archive"]);
    let self_review = Move::transition("accept")
        .patch(json!({"review": {"by": "cai", "outcome": "accepted", "evidence": evidence}}));
    sc.refuse(task, &cai_reviewing, self_review, &["no_self_review"]);
    sc.refuse(task, &ria, Move::transition("accept"), &["evidence_cited"]);
    let accept = Move::transition("accept")
        .patch(json!({
            "review": {"by": "ria", "outcome": "accepted", "evidence": evidence},
            "findings": {"A": {"status": "resolved"}, "B": {"status": "resolved"}},
        }))
        .payload(json!({"records": [
            {"kind": "acceptance", "by": "ria", "evidence": evidence},
            {"kind": "contribution", "role": "submitter", "by": "cai"},
            {"kind": "contribution", "role": "reviewer", "by": "ria", "outcome": "accepted"},
            {"kind": "award", "to": "cai", "amount": "10.00", "currency": "USD"},
        ]}))
        .reason("meets the guide");
    let accepted = sc.go(task, &ria, accept, "accepted");
    assert_eq!(accepted.outcome(), Some(Outcome::Done));
    let statuses: Vec<&Value> = ["A", "B"]
        .iter()
        .map(|f| &accepted.fields()["findings"][f]["status"])
        .collect();
    assert_eq!(statuses, [&json!("resolved"), &json!("resolved")]);
    let recorded = records(&sc, task);
    assert_eq!(of_kind(&recorded, "acceptance", None).len(), 1);
    assert_eq!(
        of_kind(&recorded, "contribution", Some("submitter")).len(),
        1
    );
    let awards = of_kind(&recorded, "award", None);
    assert_eq!(awards.len(), 1);
    assert_eq!(
        awards[0]["amount"],
        accepted.field("award").unwrap()["amount"]
    );
    assert!(
        awards[0]["amount"].is_string(),
        "an exact decimal, never a float"
    );
    assert_eq!(cents(&awards[0]["amount"]), 1000);
    // The payment, recorded apart: pending.
    let payment = sc.create(
        &ola,
        NewItem::of("payment")
            .fields(json!({"task": task.0, "to": "cai", "amount": "10.00", "currency": "USD"})),
    );
    assert_eq!(payment.workstation(), "pending");
    let payment = payment.id();

    // 8. A fulfilled receipt with an external reference fulfils the payment; a later,
    // conflicting receipt is refused.
    at(50);
    sc.refuse(
        payment,
        &tess,
        Move::transition("fulfil").patch(json!({"receipt": {"status": "fulfilled"}})),
        &["receipt_referenced"],
    );
    let receipt = json!({"receipt": {"status": "fulfilled", "external_ref": "wire-2026-0412-77"}});
    let paid = sc.go(
        payment,
        &tess,
        Move::transition("fulfil").patch(receipt.clone()),
        "fulfilled",
    );
    assert_eq!(paid.outcome(), Some(Outcome::Done));
    let conflicting =
        json!({"receipt": {"status": "fulfilled", "external_ref": "wire-2026-0413-02"}});
    sc.refuse(
        payment,
        &tess,
        Move::transition("fulfil").patch(conflicting),
        &["not_allowed"],
    );
    assert_eq!(sc.item(payment).field("receipt"), Some(&receipt["receipt"]));
    // Reputation: the contributor -1 then +3; each reviewer +2.
    let expected: BTreeMap<String, i64> = [("cai", 2), ("rey", 2), ("ria", 2)]
        .map(|(who, n)| (who.to_owned(), n))
        .into();
    assert_eq!(reputation(&sc, &[task]), expected);

    // 9. Every step of the task is one event, with its actor, from, to and reason, in one
    // chain; and every chain verifies.
    let history = sc.history(task);
    let moves: Vec<(&str, &str, &str, &str)> = history
        .iter()
        .filter_map(|e| match &e.change() {
            Change::Transitioned { transition, to, .. } => Some((
                transition.as_str(),
                e.actor(),
                to.as_str(),
                e.reason().unwrap_or_default(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("screen", "ola", "screening", "criteria written"),
            ("publish", "ola", "ready", "screened against guide v1"),
            ("claim", "cai", "claimed", "claimed from the board"),
            ("start", "cai", "in_progress", "starting"),
            ("submit", "cai", "submitted", "v1"),
            ("evaluate", "chk", "evaluation_pending", "checkers started"),
            (
                "route_to_review",
                "chk",
                "review_pending",
                "run-1 allows review"
            ),
            (
                "request_changes",
                "rey",
                "needs_revision",
                "two blocking findings"
            ),
            ("resubmit", "cai", "submitted", "v2 answers A and B"),
            ("evaluate", "chk", "evaluation_pending", "v2"),
            (
                "route_to_review",
                "chk",
                "review_pending",
                "run-2 allows review"
            ),
            ("accept", "ria", "accepted", "meets the guide"),
        ]
    );
    let kinds: Vec<&str> = history.iter().map(|e| e.change().kind()).collect();
    assert_eq!(
        kinds.len(),
        15,
        "created, 12 moves, 2 checker runs: {kinds:?}"
    );
    assert!(
        history
            .iter()
            .all(|e| *e.definition() == *accepted.definition())
    );
    assert_eq!(sc.engine.verify(task).unwrap(), 15);
    assert_eq!(
        sc.engine.signals(task).unwrap().active(),
        [] as [Signal; 0],
        "closed: no signal"
    );

    let verified = sc.verified();
    assert_eq!(verified.items, 3, "the guide, the task, the payment");
    verified
}
