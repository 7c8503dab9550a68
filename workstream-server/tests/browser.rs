//! The dashboard as a person uses it, in headless Chromium driven through chromedriver
//! (WebDriver): over a sprint's database, filter by a derived state and a time window,
//! read an item's reasons, see a write without a token refused, sign in, move an item and
//! see it appear live, and draw the flow charts. Screenshots are written to
//! `target/tmp/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (or `WORKSTREAM_CHROMIUM` and
//! `WORKSTREAM_CHROMEDRIVER` naming the binaries). Without them the test says so and
//! fails under `CI=true`; `.ci/run` installs them.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use support::{client, http, spawn};
use workstream::SqliteStore;
use workstream::prelude::*;
use workstream::tokio::AsyncEngine;
use workstream_seeds::sprint::sim;
use workstream_server::{Config, Tokens};

const TOKEN: &str = "wst_dana_token_for_the_browser_test";
const WAIT: Duration = Duration::from_secs(30);

/// The first of `names` on the `PATH`, or the path in `env`.
fn binary(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// chromedriver, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn driver(chromedriver: &PathBuf) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = client();
    let deadline = Instant::now() + WAIT;
    loop {
        let ready = tokio::time::timeout(
            Duration::from_secs(1),
            http.get(format!("{}/status", driver.url).parse().unwrap()),
        )
        .await;
        if matches!(ready, Ok(Ok(r)) if r.status() == StatusCode::OK) {
            return driver;
        }
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `script` until it returns `true`; fails with `what` after a while.
async fn until(c: &Client, what: &str, script: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        if c.execute(script, vec![]).await.unwrap() == Value::Bool(true) {
            return;
        }
        if Instant::now() > deadline {
            let page = c
                .execute("return document.body.innerText", vec![])
                .await
                .unwrap_or_default();
            panic!("{what}: not within {WAIT:?}; the page reads:\n{page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element `css` finds, or selects `value` in it; found again if the page
/// was drawn anew in between (a live update redraws the view).
async fn act(c: &Client, css: &str, value: Option<&str>) {
    let deadline = Instant::now() + WAIT;
    loop {
        let done = match c.find(Locator::Css(css)).await {
            Ok(el) => match value {
                Some(v) => el.select_by_value(v).await,
                None => el.click().await,
            },
            Err(e) => Err(e),
        };
        match done {
            Ok(()) => return,
            Err(e) if Instant::now() > deadline => panic!("{css}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

async fn screenshot(c: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

fn ids(list: &Value) -> Vec<u64> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_filters_explains_refuses_moves_and_updates_live() {
    let (Some(chromedriver), Some(chromium)) = (
        binary("WORKSTREAM_CHROMEDRIVER", &["chromedriver"]),
        binary(
            "WORKSTREAM_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        ),
    ) else {
        let message = "THE BROWSER TEST DID NOT RUN: no chromium and chromedriver here \
                       (apt-get install chromium chromium-driver)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("{message}");
        return;
    };

    // A sprint of 12 tasks on SQLite; the server's clock stands at its end.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let clock = ManualClock::new(chrono::DateTime::UNIX_EPOCH);
    let path = dir.join("sprint.db");
    let engine = tokio::task::spawn_blocking({
        let clock = clock.clone();
        move || {
            let engine = sim::engine(SqliteStore::open(&path).unwrap(), clock.clone()).unwrap();
            sim::run(
                &engine,
                &clock,
                &sim::Config { tasks: 12, seed: 7 },
                &mut |_| {},
            )
            .unwrap();
            engine
        }
    })
    .await
    .unwrap();
    let mut tokens = Tokens::new();
    tokens.insert(
        TOKEN,
        "dana",
        &["operator", "contributor", "checker", "reviewer"],
    );
    let router = workstream_server::router(
        AsyncEngine::new(engine),
        Config::new()
            .writes(tokens)
            .poll_interval(Duration::from_millis(100)),
    );
    let base = format!("http://{}", spawn(router).await);
    let api = client();

    let driver = driver(&chromedriver).await;
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--force-device-scale-factor=1"],
        }),
    );
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session");

    // The board: each workstation's count is the API's.
    let (_, workflows) = http(&api, "GET", &format!("{base}/api/workflows"), None, None).await;
    let task = workflows["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "evaluation_task")
        .unwrap()
        .clone();
    let accepted = task["workstations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "accepted")
        .unwrap()["count"]
        .as_u64()
        .unwrap();
    assert!(accepted > 0);
    c.goto(&format!("{base}/#/")).await.unwrap();
    until(
        &c,
        "the board's count of accepted tasks",
        &format!(
            "const el = document.querySelector('[data-workflow=\"evaluation_task\"] [data-count=\"accepted\"]');
             return el !== null && el.textContent === '{accepted}'"
        ),
    )
    .await;
    until(
        &c,
        "the feed connected",
        "return document.getElementById('live').textContent === 'live'",
    )
    .await;
    until(
        &c,
        "the ledger badge",
        "return document.getElementById('ledger').textContent.startsWith('ledger verified')",
    )
    .await;
    screenshot(&c, "board").await;

    // Two new tasks, made now; one goes to screening, where publishing it is blocked.
    let mut made_ids = Vec::new();
    for title in ["Label 200 receipts", "Transcribe 40 invoices"] {
        let (status, made) = http(
            &api,
            "POST",
            &format!("{base}/api/items"),
            Some(TOKEN),
            Some(json!({ "workflow": "evaluation_task", "fields": { "title": title } })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        made_ids.push(made["item"]["id"].as_u64().unwrap());
    }
    let id = made_ids[0];
    let (status, _) = http(
        &api,
        "POST",
        &format!("{base}/api/items/{id}/advance"),
        Some(TOKEN),
        Some(json!({ "transition": "screen" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Items: by derived state and time window, as a person clicks them. The sprint's
    // project guide is active too, but it last changed days ago.
    let (_, active) = http(
        &api,
        "GET",
        &format!("{base}/api/items?state=active"),
        None,
        None,
    )
    .await;
    assert!(ids(&active).len() > made_ids.len(), "{active}");
    c.goto(&format!("{base}/#/items")).await.unwrap();
    until(
        &c,
        "the item list",
        "return document.querySelectorAll('#items tbody tr').length > 0",
    )
    .await;
    act(&c, "input[data-state=\"active\"]", None).await;
    until(
        &c,
        "the state filter in the address",
        "return location.hash.includes('state=active')",
    )
    .await;
    act(&c, "#f-updated", Some("24h")).await;
    until(
        &c,
        "the window filter applied",
        "return location.hash.includes('updated=24h') && document.getElementById('f-updated')?.value === '24h'",
    )
    .await;
    let (_, expected) = http(
        &api,
        "GET",
        &format!("{base}/api/items?state=active&updated=24h"),
        None,
        None,
    )
    .await;
    assert_eq!(ids(&expected), made_ids);
    until(
        &c,
        "the filtered rows",
        &format!(
            "return document.getElementById('count')?.textContent === '{} item(s)'",
            made_ids.len()
        ),
    )
    .await;
    let shown = js(
        &c,
        "return [...document.querySelectorAll('#items tbody tr')].map(r => Number(r.dataset.id))",
    )
    .await;
    assert_eq!(shown, json!(made_ids));
    assert_eq!(
        js(
            &c,
            "return document.querySelector('input[data-state=\"active\"]').checked"
        )
        .await,
        Value::Bool(true)
    );
    // Accepted rows stand out.
    c.goto(&format!(
        "{base}/#/items?workflow=evaluation_task&state=accepted"
    ))
    .await
    .unwrap();
    until(&c, "the accepted tasks", "return location.hash.includes('accepted') && document.querySelectorAll('#items tbody tr.accepted').length > 0").await;
    let marked = js(&c, "return [...document.querySelectorAll('#items tbody tr')].every(r => r.classList.contains('accepted'))").await;
    assert_eq!(marked, Value::Bool(true));
    c.goto(&format!("{base}/#/items?updated=30d"))
        .await
        .unwrap();
    until(
        &c,
        "the last month's items",
        "return document.querySelectorAll('#items tbody tr').length > 10",
    )
    .await;
    screenshot(&c, "items").await;

    let (_, explained) = http(&api, "GET", &format!("{base}/api/items/{id}"), None, None).await;
    let publish: Vec<String> = explained["ways_out"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["transition"] == "publish")
        .unwrap()["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        publish.contains(&"guide_version_locked".to_owned()),
        "{publish:?}"
    );
    c.goto(&format!("{base}/#/item/{id}")).await.unwrap();
    until(
        &c,
        "the item's ways out",
        "return document.querySelector('tr[data-transition=\"publish\"]') !== null",
    )
    .await;
    let reasons = js(&c, "return [...document.querySelectorAll('tr[data-transition=\"publish\"] [data-reason]')].map(li => li.dataset.reason)").await;
    assert_eq!(reasons, json!(publish));
    let text = js(
        &c,
        "return document.querySelector('tr[data-transition=\"publish\"]').innerText",
    )
    .await;
    assert!(
        text.as_str()
            .unwrap()
            .contains("the project guide version must be locked into the task"),
        "{text}"
    );
    assert_eq!(
        js(
            &c,
            "return document.getElementById('workstation').textContent"
        )
        .await,
        "screening"
    );
    assert_eq!(
        js(
            &c,
            "return document.querySelector('#verified .badge').textContent"
        )
        .await,
        "chain verified (2 events)"
    );
    screenshot(&c, "item").await;

    // Signed out: no move buttons, and a write from the page is refused.
    assert_eq!(
        js(
            &c,
            "return document.querySelectorAll('button.advance').length"
        )
        .await,
        0
    );
    let refused = c
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
                 fetch('/api/items/{id}/advance', {{ method: 'POST', headers: {{ 'Content-Type': 'application/json' }},
                   body: JSON.stringify({{ transition: 'return_to_draft' }}) }})
                   .then(r => r.json().then(b => done([r.status, b.error.code])));"
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(refused, json!([401, "unauthorized"]));
    // A wrong token is refused at sign-in, with a message.
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys("wst_wrong")
        .await
        .unwrap();
    c.find(Locator::Id("signin-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &c,
        "the sign-in refusal",
        "return document.getElementById('banner').innerText.includes('not accepted')",
    )
    .await;

    // Signed in: move the task back to draft from its page, and see it in the feed.
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(TOKEN)
        .await
        .unwrap();
    c.find(Locator::Id("signin-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &c,
        "signed in",
        "return document.getElementById('who').textContent.startsWith('dana')",
    )
    .await;
    until(
        &c,
        "the move buttons",
        "return document.querySelector('button[data-advance=\"return_to_draft\"]') !== null",
    )
    .await;
    act(&c, "button[data-advance=\"return_to_draft\"]", None).await;
    until(
        &c,
        "the item in draft",
        "return document.getElementById('workstation')?.textContent === 'draft'",
    )
    .await;
    until(
        &c,
        "the move in the live feed",
        &format!("return [...document.querySelectorAll('#events li[data-item=\"{id}\"]')].some(li => li.innerText.includes('return_to_draft'))"),
    )
    .await;
    // A move made elsewhere appears without a reload.
    let (status, _) = http(
        &api,
        "POST",
        &format!("{base}/api/items/{id}/advance"),
        Some(TOKEN),
        Some(json!({ "transition": "screen", "reason": "ready to screen" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    until(
        &c,
        "the page follows a move made elsewhere",
        "return document.getElementById('workstation')?.textContent === 'screening'",
    )
    .await;
    until(
        &c,
        "the other move in the live feed",
        &format!("return document.querySelectorAll('#events li[data-item=\"{id}\"]').length >= 2"),
    )
    .await;
    let history = js(
        &c,
        "return document.querySelectorAll('#history tbody tr').length",
    )
    .await;
    assert_eq!(history, 4);
    let actor = js(&c, "return document.querySelector('#history tbody tr:nth-child(3) td:nth-child(3)').textContent").await;
    assert_eq!(actor, "dana", "the token's actor");
    screenshot(&c, "live").await;

    // Flow: the four charts.
    c.goto(&format!(
        "{base}/#/flow?workflow=evaluation_task&window=30d&period=1d"
    ))
    .await
    .unwrap();
    until(
        &c,
        "the cumulative flow",
        "return document.querySelectorAll('#chart-cfd polygon').length > 0",
    )
    .await;
    for chart in ["chart-lead", "chart-stations", "chart-throughput"] {
        let bars = js(
            &c,
            &format!("return document.querySelectorAll('#{chart} rect').length"),
        )
        .await;
        assert!(bars.as_u64().unwrap() > 0, "{chart} has bars");
    }
    screenshot(&c, "flow").await;
    let cfd = c.find(Locator::Id("chart-cfd")).await.unwrap();
    let png = cfd.screenshot().await.unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::write(dir.join("cfd.png"), png).unwrap();

    assert_eq!(
        js(&c, "return document.body.dataset.violations ?? null").await,
        Value::Null,
        "the page never broke its own security policy"
    );
    let (_, verified) = http(&api, "GET", &format!("{base}/api/verify"), None, None).await;
    assert_eq!(verified["ok"], true);
    c.close().await.unwrap();
}
