//! The JSON API, endpoint by endpoint and error by error, through the router itself.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use support::*;

#[tokio::test]
async fn workflows_list_every_workstation_with_its_count_and_every_transition() {
    let (router, _) = router(false);
    let a = get(&router, "/api/workflows").await;
    assert_eq!(a.status, StatusCode::OK);
    let w = &a.body["workflows"][0];
    assert_eq!(w["name"], "board");
    let counts: Vec<(String, u64)> = w["workstations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("open", 1),
        ("coding", 2),
        ("review", 1),
        ("merged", 1),
        ("closed", 1),
    ];
    assert_eq!(counts, expected.map(|(n, c)| (n.to_owned(), c)).to_vec());
    let close = w["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "close")
        .unwrap();
    assert_eq!(close["from"], json!(["open", "coding", "review"]));
    assert_eq!(close["to"], "closed");
    assert_eq!(w["workstations"][2]["sla_seconds"], 86_400);
}

#[tokio::test]
async fn items_filter_by_place_derived_state_hold_and_window() {
    let (router, _) = router(false);
    let all = get(&router, "/api/items").await;
    assert_eq!(ids(&all), [1, 2, 3, 4, 5, 6]);
    assert_eq!(all.body["count"], 6);
    let cases: &[(&str, &[u64])] = &[
        ("workflow=board&workstation=coding", &[2, 3]),
        ("state=blocked", &[1, 2, 3]),
        ("state=accepted", &[6]),
        ("state=overdue", &[5]),
        ("state=active", &[1, 2, 3, 5]),
        ("state=active&state=blocked", &[1, 2, 3]),
        ("state=active,blocked&workstation=coding", &[2, 3]),
        ("signal=blocked", &[1, 2, 3]),
        ("held=", &[1]),
        ("held=blocked", &[1]),
        ("held=paused", &[]),
        ("open=true", &[1, 2, 3, 5]),
        ("updated=24h", &[5]),
        ("updated=7d", &[1, 2, 3, 4, 5, 6]),
        ("created=1h", &[]),
        ("updated=today", &[5]),
        ("limit=2", &[1, 2]),
        ("limit=99999", &[1, 2, 3, 4, 5, 6]),
    ];
    for (query, expected) in cases {
        let a = get(&router, &format!("/api/items?{query}")).await;
        assert_eq!(a.status, StatusCode::OK, "{query}: {}", a.text);
        assert_eq!(ids(&a), *expected, "{query}");
    }
    assert_eq!(get(&router, "/api/items?limit=2").await.body["more"], true);
    assert_eq!(get(&router, "/api/items?limit=6").await.body["more"], false);
    // Only items that meet the filters count: one accepted item, so nothing is left out.
    assert_eq!(
        get(&router, "/api/items?state=accepted&limit=1").await.body["more"],
        false
    );
    assert_eq!(
        get(&router, "/api/items?state=blocked&limit=2").await.body["more"],
        true
    );
    let row = &get(&router, "/api/items?state=accepted").await.body["items"][0];
    assert_eq!(row["states"], json!(["accepted"]));
    assert_eq!(row["workstation"], "merged");
    assert!(row.get("fields").is_none());
    let with = get(&router, "/api/items?state=accepted&fields=true").await;
    assert_eq!(with.body["items"][0]["fields"]["title"], "shipped");
}

#[tokio::test]
async fn a_bad_filter_is_a_400_that_says_what_is_wrong() {
    let (router, _) = router(false);
    let cases = [
        ("workflw=board", "unknown parameter `workflw`"),
        ("workflow=nope", "no workflow `nope`"),
        (
            "workstation=nowhere",
            "no workflow has a workstation `nowhere`",
        ),
        ("state=sleepy", "`sleepy` is not a state"),
        ("signal=active", "`active` is not a signal"),
        ("held=lunch", "no workflow declares a hold `lunch`"),
        ("updated=yesterday", "`yesterday` is not a window"),
        ("updated=24h&updated=7d", "more than once"),
        ("open=maybe", "give true or false"),
        ("limit=-1", "not a whole number"),
        ("offset=9999", "not an offset"),
        ("offset=-2147483648", "not an offset"),
    ];
    for (query, says) in cases {
        let a = get(&router, &format!("/api/items?{query}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(a.code(), "bad_request", "{query}");
        assert!(a.message().contains(says), "{query}: {}", a.message());
    }
}

#[tokio::test]
async fn one_item_has_its_ways_out_with_every_reason_its_history_and_its_verification() {
    let (router, _) = router(false);
    let a = get(&router, "/api/items/2").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["item"]["workstation"], "coding");
    assert_eq!(a.body["actor"]["inspector"], true);
    assert_eq!(a.body["states"], json!(["active", "blocked"]));
    let ways = a.body["ways_out"].as_array().unwrap();
    let submit = ways.iter().find(|w| w["transition"] == "submit").unwrap();
    assert_eq!(submit["verdict"], "blocked");
    assert_eq!(submit["reasons"][0]["id"], "tests_green");
    assert_eq!(submit["reasons"][0]["message"], "the tests must be green");
    // Every way out of `coding` passes its exit assertion.
    let close = ways.iter().find(|w| w["transition"] == "close").unwrap();
    assert_eq!(close["reasons"][0]["id"], "tests_green");
    let open = get(&router, "/api/items/5").await;
    let close = &open.body["ways_out"].as_array().unwrap()[1];
    assert_eq!(
        (close["transition"].as_str(), close["verdict"].as_str()),
        (Some("close"), Some("open"))
    );
    let history = a.body["history"].as_array().unwrap();
    assert_eq!(history.len(), 3);
    assert!(history[0]["hash"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(history[2]["prev"], history[1]["hash"]);
    assert_eq!(a.body["verified"], json!({ "ok": true, "events": 3 }));

    // As rob, a reviewer, who may not submit: the reason says so.
    let request = Request::get("/api/items/2")
        .header("authorization", format!("Bearer {ROB}"))
        .body(Body::empty())
        .unwrap();
    let a = send(&router, request).await;
    assert_eq!(a.body["actor"]["id"], "rob");
    let submit = a.body["ways_out"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["transition"] == "submit")
        .unwrap()
        .clone();
    let reasons: Vec<&str> = submit["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["role", "tests_green"]);

    let missing = get(&router, "/api/items/99").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.message(), "there is no item #99");
    let bad = get(&router, "/api/items/abc").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.code(), "bad_request");
}

#[tokio::test]
async fn a_read_only_server_refuses_every_write() {
    let (router, _) = router(false);
    for (method, uri, body) in [
        ("POST", "/api/items", json!({ "workflow": "board" })),
        (
            "POST",
            "/api/items/1/advance",
            json!({ "transition": "start" }),
        ),
        (
            "POST",
            "/api/items/1/fields",
            json!({ "patch": { "a": 1 } }),
        ),
        (
            "POST",
            "/api/items/2/holds",
            json!({ "hold": "paused", "reason": "lunch" }),
        ),
        ("DELETE", "/api/items/1/holds/blocked", json!(null)),
        ("POST", "/api/items/2/deps", json!({ "on": 1 })),
        ("DELETE", "/api/items/3/deps/4", json!(null)),
    ] {
        let a = send(&router, json_request(method, uri, Some(ANN), &body)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{method} {uri}");
        assert_eq!(a.code(), "read_only", "{method} {uri}");
    }
    assert_eq!(ids(&get(&router, "/api/items").await).len(), 6);
}

#[tokio::test]
async fn writes_need_a_known_token_and_carry_its_actor() {
    let (router, engine) = router(true);
    let none = post(&router, "/api/items", None, json!({ "workflow": "board" })).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers["www-authenticate"], "Bearer");
    let wrong = post(
        &router,
        "/api/items",
        Some("wst_guess"),
        json!({ "workflow": "board" }),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let basic = send(
        &router,
        Request::post("/api/items")
            .header("authorization", "Basic YW5uOmFubg==")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"workflow":"board"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
    assert!(basic.message().contains("Bearer"), "{}", basic.message());

    // The actor is the token's; a request cannot name one.
    let spoof = post(
        &router,
        "/api/items",
        Some(ANN),
        json!({ "workflow": "board", "actor": "rob" }),
    )
    .await;
    assert_eq!(
        spoof.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        spoof.text
    );
    assert!(
        spoof.message().contains("unknown field `actor`"),
        "{}",
        spoof.message()
    );
    let made = post(
        &router,
        "/api/items",
        Some(ANN),
        json!({ "workflow": "board", "fields": { "author": "ann", "tests": "green" }, "reason": "new work" }),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let id = made.body["item"]["id"].as_u64().unwrap();
    assert_eq!(id, 7);
    let history = engine.history(workstream::ItemId(id)).await.unwrap();
    assert_eq!(history[0].actor(), "ann");
    assert_eq!(history[0].reason(), Some("new work"));
    assert_eq!(ids(&get(&router, "/api/items").await).len(), 7);
}

#[tokio::test]
async fn a_refused_move_is_a_409_with_every_reason_and_changes_nothing() {
    let (router, engine) = router(true);
    // Ann merging her own work in review: not a reviewer, and no self-merge.
    let a = post(
        &router,
        "/api/items/5/advance",
        Some(ANN),
        json!({ "transition": "merge" }),
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    assert_eq!(a.code(), "refused");
    assert_eq!(a.body["error"]["action"], "merge");
    let reasons: Vec<&str> = a.body["error"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["role", "no_self_merge"]);
    assert_eq!(a.body["error"]["reasons"][1]["kind"], "requires");
    assert_eq!(a.body["error"]["item"]["workstation"], "review");
    assert_eq!(
        engine.history(workstream::ItemId(5)).await.unwrap().len(),
        4
    );

    // Rob may; by target workstation, only from where the client saw it.
    let stale = post(
        &router,
        "/api/items/5/advance",
        Some(ROB),
        json!({ "to": "merged", "from": "coding" }),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.code(), "conflict");
    let ok = post(
        &router,
        "/api/items/5/advance",
        Some(ROB),
        json!({ "to": "merged", "from": "review", "reason": "looks good" }),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["item"]["workstation"], "merged");
    let last = engine
        .history(workstream::ItemId(5))
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.actor(), "rob");

    let both = post(
        &router,
        "/api/items/1/advance",
        Some(ANN),
        json!({ "transition": "start", "to": "coding" }),
    )
    .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    let neither = post(&router, "/api/items/1/advance", Some(ANN), json!({})).await;
    assert_eq!(neither.status, StatusCode::BAD_REQUEST);
    let unknown = post(
        &router,
        "/api/items/1/advance",
        Some(ANN),
        json!({ "transition": "fly" }),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.message().contains("no transition `fly`"),
        "{}",
        unknown.message()
    );
    let missing = post(
        &router,
        "/api/items/99/advance",
        Some(ANN),
        json!({ "transition": "start" }),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn fields_holds_and_dependencies_are_written_and_refused_as_the_engine_says() {
    let (router, engine) = router(true);
    let f = post(
        &router,
        "/api/items/2/fields",
        Some(ANN),
        json!({ "patch": { "tests": "green" } }),
    )
    .await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.text);
    assert_eq!(f.body["item"]["fields"]["tests"], "green");
    let not_object = post(
        &router,
        "/api/items/2/fields",
        Some(ANN),
        json!({ "patch": 3 }),
    )
    .await;
    assert_eq!(
        not_object.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        not_object.text
    );

    let h = post(
        &router,
        "/api/items/2/holds",
        Some(ANN),
        json!({ "hold": "paused", "reason": "lunch" }),
    )
    .await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.text);
    assert!(h.body["item"]["holds"]["paused"].is_object());
    let unknown = post(
        &router,
        "/api/items/2/holds",
        Some(ANN),
        json!({ "hold": "nap", "reason": "z" }),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = delete(&router, "/api/items/2/holds/paused", Some(ANN)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["item"]["holds"].as_object().unwrap().is_empty());
    let again = delete(&router, "/api/items/2/holds/paused", Some(ANN)).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);

    let d = post(&router, "/api/items/2/deps", Some(ANN), json!({ "on": 1 })).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    assert_eq!(d.body["item"]["deps"], json!([1]));
    let cycle = post(&router, "/api/items/1/deps", Some(ANN), json!({ "on": 2 })).await;
    assert_eq!(cycle.status, StatusCode::CONFLICT, "{}", cycle.text);
    assert_eq!(cycle.body["error"]["reasons"][0]["id"], "cycle");
    let gone = delete(&router, "/api/items/2/deps/1", Some(ANN)).await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    let bad_path = delete(&router, "/api/items/2/deps/x", Some(ANN)).await;
    assert_eq!(bad_path.status, StatusCode::BAD_REQUEST);
    assert_eq!(engine.verify_all().await.unwrap().events, 24);
}

#[tokio::test]
async fn bodies_that_are_too_large_not_json_or_not_declared_json_are_refused() {
    let (router, _) = router(true);
    let big = json!({ "workflow": "board", "fields": { "blob": "x".repeat(70 * 1024) } });
    let a = post(&router, "/api/items", Some(ANN), big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text);
    assert_eq!(a.code(), "too_large");
    let broken = send(
        &router,
        Request::post("/api/items")
            .header("authorization", format!("Bearer {ANN}"))
            .header("content-type", "application/json")
            .body(Body::from("{\"workflow\": \"board\""))
            .unwrap(),
    )
    .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.text);
    assert_eq!(broken.code(), "bad_body");
    let form = send(
        &router,
        Request::post("/api/items")
            .header("authorization", format!("Bearer {ANN}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("workflow=board"))
            .unwrap(),
    )
    .await;
    assert_eq!(
        form.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        form.text
    );
    assert_eq!(ids(&get(&router, "/api/items").await).len(), 6);
}

/// The session cookie of a sign-in answer.
fn cookie(answer: &Answer) -> String {
    let set = answer.headers["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_dashboard_session_writes_only_with_its_csrf_token_from_its_own_origin() {
    let (router, _) = router(true);
    let bad = post(
        &router,
        "/api/session",
        None,
        json!({ "token": "wst_guess" }),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let signed = post(&router, "/api/session", None, json!({ "token": ANN })).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.text);
    let set = signed.headers["set-cookie"].to_str().unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(
        !set.contains(ANN),
        "the cookie is a session id, not the token"
    );
    let csrf = signed.body["csrf"].as_str().unwrap().to_owned();
    assert_eq!(signed.body["actor"]["id"], "ann");
    let cookie = cookie(&signed);

    let write = |csrf: Option<&str>, origin: Option<&str>| {
        let mut b = Request::post("/api/items/5/advance")
            .header("content-type", "application/json")
            .header("host", "127.0.0.1:8080")
            .header("cookie", &cookie);
        if let Some(c) = csrf {
            b = b.header("x-csrf-token", c);
        }
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        b.body(Body::from(r#"{"transition":"close"}"#)).unwrap()
    };
    let a = send(&router, write(None, None)).await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "csrf"));
    let a = send(&router, write(Some("0000"), None)).await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "csrf"));
    let a = send(&router, write(Some(&csrf), Some("http://evil.example"))).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "cross_origin")
    );
    let a = send(&router, write(Some(&csrf), Some("http://127.0.0.1:8080"))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["item"]["workstation"], "closed");

    let again = send(
        &router,
        Request::get("/api/session")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(again.body["csrf"], csrf.as_str());
    assert_eq!(again.body["writes"], true);
    let out = send(
        &router,
        Request::delete("/api/session")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = send(&router, write(Some(&csrf), None)).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_feed_pages_in_order_and_refuses_positions_it_never_gave() {
    let (router, _) = router(false);
    let first = get(&router, "/api/events?limit=5").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let events = first.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 5);
    assert_eq!(events[0]["position"], "1");
    assert_eq!(first.body["next"], "5");
    let mut seen = 5;
    let mut after = "5".to_owned();
    loop {
        let page = get(&router, &format!("/api/events?after={after}&limit=7")).await;
        let events = page.body["events"].as_array().unwrap().clone();
        if events.is_empty() {
            break;
        }
        seen += events.len();
        after = page.body["next"].as_str().unwrap().to_owned();
    }
    assert_eq!(seen, 19);
    let ahead = get(&router, "/api/events?after=900").await;
    assert_eq!(
        (ahead.status, ahead.code()),
        (StatusCode::BAD_REQUEST, "feed_ahead")
    );
    let bad = get(&router, "/api/events?after=x").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.message().contains("not a feed position"),
        "{}",
        bad.message()
    );
    let unknown = get(&router, "/api/events?since=3").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn flow_reports_lead_times_throughput_and_cumulative_flow() {
    let (router, _) = router(false);
    let a = get(&router, "/api/flow?workflow=board&window=7d&period=1d").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["report"]["arrivals"], 6);
    assert_eq!(a.body["report"]["throughput"], 1);
    // One item merged, three hours after it was made.
    assert_eq!(a.body["lead_time_seconds"], json!([3 * 3600]));
    let throughput = a.body["throughput"].as_array().unwrap();
    assert_eq!(throughput.len(), 7);
    assert_eq!(
        throughput.iter().map(|v| v.as_u64().unwrap()).sum::<u64>(),
        1
    );
    let bands = a.body["cfd"].as_array().unwrap();
    let last = |name: &str| {
        bands.iter().find(|b| b["workstation"] == name).map(|b| {
            b["counts"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .as_u64()
                .unwrap()
        })
    };
    assert_eq!(last("coding"), Some(2));
    assert_eq!(last("merged"), Some(1));
    assert_eq!(bands[0]["workstation"], "open", "in the workflow's order");

    for (query, says) in [
        ("window=30d&period=1m", "at most"),
        ("period=soon", "not a duration"),
        ("window=ever", "not a window"),
        ("workflow=nope", "no workflow"),
    ] {
        let a = get(&router, &format!("/api/flow?{query}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(a.message().contains(says), "{query}: {}", a.message());
    }
}

#[tokio::test]
async fn verify_answers_for_the_whole_ledger() {
    let (router, _) = router(false);
    let a = get(&router, "/api/verify").await;
    assert_eq!(a.body, json!({ "ok": true, "items": 6, "events": 19 }));
}

#[tokio::test]
async fn the_dashboard_is_served_with_a_strict_policy_and_unknown_paths_are_404() {
    let (router, _) = router(false);
    let page = get(&router, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("<script src=\"/app.js\""));
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    let script = get(&router, "/app.js").await;
    assert!(
        script.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.text.contains("EventSource"));
    let api = get(&router, "/api/nothing").await;
    assert_eq!(
        (api.status, api.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    assert_eq!(api.headers["cache-control"], "no-store");
    let method = delete(&router, "/api/items", None).await;
    assert_eq!(
        (method.status, method.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

#[tokio::test]
async fn a_host_it_does_not_answer_for_is_refused() {
    let (engine, _) = board();
    let router = workstream_server::router(
        workstream::tokio::AsyncEngine::new(engine),
        workstream_server::Config::new().allowed_hosts(
            workstream_server::Config::loopback_hosts("127.0.0.1:8080".parse().unwrap()).unwrap(),
        ),
    );
    let with_host = |host: &'static str| {
        Request::get("/api/verify")
            .header("host", host)
            .body(Body::empty())
            .unwrap()
    };
    let ok = send(&router, with_host("localhost:8080")).await;
    assert_eq!(ok.status, StatusCode::OK);
    let rebound = send(&router, with_host("attacker.example:8080")).await;
    assert_eq!(
        (rebound.status, rebound.code()),
        (StatusCode::MISDIRECTED_REQUEST, "wrong_host")
    );
    assert_eq!(
        rebound.headers["x-frame-options"], "DENY",
        "refusals are hardened too"
    );
    let no_host = get(&router, "/api/verify").await;
    assert_eq!(no_host.status, StatusCode::MISDIRECTED_REQUEST);

    let other = workstream_server::Config::loopback_hosts("127.0.0.2:80".parse().unwrap()).unwrap();
    for host in [
        "127.0.0.2:80",
        "127.0.0.2",
        "localhost",
        "127.0.0.1:80",
        "[::1]",
    ] {
        assert!(other.iter().any(|h| h == host), "{host}: {other:?}");
    }
    let v6 = workstream_server::Config::loopback_hosts("[::1]:8080".parse().unwrap()).unwrap();
    assert_eq!(v6, ["[::1]:8080", "127.0.0.1:8080", "localhost:8080"]);
    assert!(workstream_server::Config::loopback_hosts("0.0.0.0:8080".parse().unwrap()).is_none());
}
