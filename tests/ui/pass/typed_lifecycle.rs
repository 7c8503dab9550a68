// The evaluation task's typed API: moves the file allows compile and run.
use serde_json::json;
use workstream::prelude::*;

workstream::workflow!(mod task = "examples/workflows/evaluation_task.yaml");

fn main() {
    let mut engine = Engine::builder().store(MemoryStore::new());
    engine = engine.workflow(task::workflow().unwrap());
    for check in task::workflow().unwrap().checks() {
        engine = engine.check(check.clone(), |_| Verdict::Pass);
    }
    let engine = engine.build().unwrap();
    let operator = Actor::new("ola", ["operator"]);
    let cai = Actor::new("cai", ["contributor"]);
    let ready = task::create(&engine, &operator, json!({}))
        .unwrap()
        .screen(&engine, &operator)
        .unwrap()
        .publish_with(&engine, &operator, With::new().patch(json!({"guide_version": 1, "policy_hash": "p"})))
        .unwrap();
    let working: task::Item<task::InProgress> = ready
        .claim_with(&engine, &cai, With::new().patch(json!({"contributor": "cai", "award": "10"})))
        .unwrap()
        .start(&engine, &cai)
        .unwrap();
    let cancelled: task::Item<task::Cancelled> =
        working.cancel(&engine, &Actor::new("max", ["manager"])).unwrap();
    assert_eq!(cancelled.outcome(), Some(Outcome::Cancelled));
}
