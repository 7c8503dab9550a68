//! The async face: calls on the blocking pool, in parallel, with the engine's answers and
//! panics.
#![cfg(feature = "tokio")]

use workstream::prelude::*;
use workstream::tokio::AsyncEngine;

const FLOW: &str = "
workflow: flow
version: 1
workstations:
  a: { initial: true }
  b: { terminal: true }
transitions:
  go: { from: a, to: b }
";

fn engine() -> AsyncEngine<MemoryStore> {
    AsyncEngine::new(
        Engine::builder()
            .store(MemoryStore::new())
            .workflow(parse("flow.yaml", FLOW).unwrap())
            .build()
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_run_concurrently_and_answer_as_the_engine_does() {
    let engine = engine();
    let ann = Actor::new("ann", Vec::<String>::new());
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let engine = engine.clone();
            let ann = ann.clone();
            tokio::spawn(async move {
                let item = engine.create(ann.clone(), NewItem::of("flow")).await?;
                engine.advance(item.id(), ann, Move::transition("go")).await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().workstation(), "b");
    }
    assert_eq!(engine.verify_all().await.unwrap().events, 64);
    let refused = engine
        .advance(ItemId(1), ann, Move::transition("go"))
        .await
        .unwrap_err();
    assert!(refused.refused().is_some(), "{refused}");
    assert!(matches!(
        engine.item(ItemId(99)).await,
        Err(Error::NotFound(_))
    ));
}

#[tokio::test]
#[should_panic(expected = "a check that panics")]
async fn a_panic_in_the_engine_is_the_caller_s() {
    engine()
        .run(|_| -> () { panic!("a check that panics") })
        .await;
}
