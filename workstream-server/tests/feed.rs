//! The feed over a real socket: Server-Sent Events in commit order, resumed with
//! `Last-Event-ID` without a gap or a repeat.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use support::*;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_live_and_resume_after_the_last_id_exactly_once() {
    let (router, _) = router(true);
    let addr = spawn(router).await;
    let base = format!("http://{addr}");
    let client = client();

    // From the start: the board's 19 events, in order.
    let mut all = Sse::open(&client, &format!("{base}/api/feed?after=0"), None)
        .await
        .unwrap();
    for n in 1..=19 {
        let (id, data) = all.next(WAIT).await.expect("the board's events");
        assert_eq!(id, n.to_string());
        assert_eq!(data["position"], id.as_str());
    }
    // Live only: a stream opened without a position sees what is committed after it.
    let mut live = Sse::open(&client, &format!("{base}/api/feed"), None)
        .await
        .unwrap();
    assert!(
        live.next(Duration::from_millis(300)).await.is_none(),
        "nothing new yet"
    );

    for n in 0..3 {
        let (status, _) = http(
            &client,
            "POST",
            &format!("{base}/api/items/2/fields"),
            Some(ANN),
            Some(json!({ "patch": { "n": n } })),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (id, data) = all.next(WAIT).await.expect("a write appears live");
        assert_eq!(data["event"]["item"], 2);
        assert_eq!(data["event"]["actor"], "ann");
        seen.push(id);
        let (live_id, _) = live.next(WAIT).await.expect("on every stream");
        assert_eq!(&live_id, seen.last().unwrap());
    }
    assert_eq!(seen, ["20", "21", "22"]);
    drop(all);

    // Two more while no one listens; a client resuming from 21 gets 22, 23, 24, once each.
    for n in 3..5 {
        http(
            &client,
            "POST",
            &format!("{base}/api/items/2/fields"),
            Some(ANN),
            Some(json!({ "patch": { "n": n } })),
        )
        .await;
    }
    let mut resumed = Sse::open(&client, &format!("{base}/api/feed"), Some("21"))
        .await
        .unwrap();
    let mut ids = Vec::new();
    while let Some((id, _)) = resumed.next(Duration::from_millis(700)).await {
        ids.push(id);
    }
    assert_eq!(ids, ["22", "23", "24"]);

    // Positions this store never gave are refused before the stream starts.
    for bad in ["99", "x"] {
        let refused = Sse::open(&client, &format!("{base}/api/feed"), Some(bad)).await;
        assert_eq!(refused.err(), Some(StatusCode::BAD_REQUEST), "{bad}");
    }
}
